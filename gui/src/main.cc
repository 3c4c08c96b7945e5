// assistant-desktop: the Qt 6 client of the private assistant appliance.
#include <QApplication>
#include <QSettings>

#include "gui/connection_settings.h"
#include "gui/main_window.h"
#include "gui/theme.h"

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  QApplication::setOrganizationName(QStringLiteral("assistant"));
  QApplication::setApplicationName(QStringLiteral("assistant-desktop"));
  QApplication::setApplicationDisplayName(QStringLiteral("Assistant"));

  QSettings settings;  // holds the connection settings only (see SettingsStore)
  gui::SettingsStore store(settings);
  const gui::ConnectionSettings saved = store.load();
  gui::applyTheme(app, gui::themeFromName(saved.theme));

  gui::MainWindow window(settings);
  window.show();
  if (!store.hasSettings() || !saved.incompleteReason().isEmpty() ||
      saved.auth == gui::ConnectionSettings::Auth::Token) {
    // First run, or a token (never saved) is needed.
    if (!window.openConnectionSettings()) return 0;
  } else {
    window.connectWith(saved);
  }
  return app.exec();
}
