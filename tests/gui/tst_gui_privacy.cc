// Privacy on the desktop: after a scripted session through the real window
// (chats, a stop, a redaction, a denial, incognito, open, delete, theme
// change, lock), no file under $HOME, $TMPDIR or $XDG_RUNTIME_DIR contains any
// prompt or answer text (searched as UTF-8 and UTF-16), the settings file
// holds only connection settings, and the window title never showed content.
// main() points HOME, TMPDIR and XDG_RUNTIME_DIR at a fresh directory before
// Qt starts, so everything Qt, gRPC or the client writes lands there.
#include <QApplication>
#include <QDirIterator>
#include <QFile>
#include <QPlainTextEdit>
#include <QSettings>
#include <QSignalSpy>
#include <QtTest>

#include <cstdlib>

#include "gui/chat_controller.h"
#include "gui/chat_view.h"
#include "gui/connection_controller.h"
#include "gui/conversations_controller.h"
#include "gui/conversations_panel.h"
#include "gui/idle_lock.h"
#include "gui/main_window.h"
#include "test_appliance.h"

using namespace gui;
using gui_test::TestAppliance;

namespace {

constexpr int kWait = 20000;

QStringList roots() {
  return {qEnvironmentVariable("HOME"), qEnvironmentVariable("TMPDIR"),
          qEnvironmentVariable("XDG_RUNTIME_DIR")};
}

// Every (file, needle) pair where the file contains the needle.
QStringList findNeedles(const QStringList& needles, int* filesScanned) {
  QStringList hits;
  *filesScanned = 0;
  for (const QString& root : roots()) {
    QDirIterator it(root, QDir::Files | QDir::Hidden | QDir::System | QDir::NoSymLinks,
                    QDirIterator::Subdirectories);
    while (it.hasNext()) {
      const QString path = it.next();
      QFile f(path);
      if (!f.open(QIODevice::ReadOnly)) continue;
      const QByteArray data = f.readAll();
      ++*filesScanned;
      for (const QString& needle : needles) {
        const QByteArray utf8 = needle.toUtf8();
        const QByteArray utf16(reinterpret_cast<const char*>(needle.utf16()), needle.size() * 2);
        if (data.contains(utf8) || data.contains(utf16)) hits << path + QStringLiteral(": ") + needle;
      }
    }
  }
  return hits;
}

}  // namespace

class GuiPrivacyTest : public QObject {
  Q_OBJECT
 private:
  std::unique_ptr<TestAppliance> m_appliance;
  std::unique_ptr<QSettings> m_settings;
  std::unique_ptr<MainWindow> m_window;
  QStringList m_titles;

  void chat(const QString& text) {
    QSignalSpy finished(m_window->chat(), &ChatController::turnFinished);
    m_window->chatView()->composer()->setPlainText(text);
    m_window->chatView()->submit();
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kWait);
  }

  static QStringList needles() {
    return {
        // prompts, and distinctive words from them
        QStringLiteral("Zanzibar quarterly merger memo for Ophelia Brandt"), QStringLiteral("Zanzibar"),
        QStringLiteral("Show me a C++ loop for the Kestrel ledger"), QStringLiteral("Kestrel"),
        QStringLiteral("Tell an endless tale of the Marigold vault"), QStringLiteral("Marigold"),
        QStringLiteral("ophelia.brandt@example.org"), QStringLiteral("Quillfeather"),
        QStringLiteral("321-54-9876"), QStringLiteral("Tamarind"), QStringLiteral("Ophelia"),
        QStringLiteral("Gooseberry"),
        // answers
        QStringLiteral("little fox named Pip"), QStringLiteral("shiny blue stone"),
        QStringLiteral("laughed together until the sun went down"), QStringLiteral("std::cout << i"),
        QStringLiteral("A for loop from 1 to 3"), QStringLiteral("Once upon a time"),
    };
  }

 private slots:
  void initTestCase() {
    m_appliance = TestAppliance::start(qEnvironmentVariable("TMPDIR"));
    QVERIFY(m_appliance);
  }

  void scannerFindsPlantedText() {
    // The search itself must be able to fail.
    const QString canary = qEnvironmentVariable("TMPDIR") + QStringLiteral("/canary.bin");
    QFile f(canary);
    QVERIFY(f.open(QIODevice::WriteOnly));
    const QString text = QStringLiteral("xx Marigold yy");
    f.write(reinterpret_cast<const char*>(text.utf16()), text.size() * 2);  // UTF-16
    f.close();
    int scanned = 0;
    QCOMPARE(findNeedles({QStringLiteral("Marigold")}, &scanned).size(), 1);
    QVERIFY(scanned >= 1);
    QVERIFY(QFile::remove(canary));
  }

  void scriptedSessionLeavesNoContentOnDisk() {
    m_settings = std::make_unique<QSettings>();  // the real default location under $HOME
    SettingsStore(*m_settings).save(m_appliance->settings());
    m_window = std::make_unique<MainWindow>(*m_settings);
    connect(m_window.get(), &QWidget::windowTitleChanged, this, [this](const QString& t) { m_titles << t; });
    m_window->show();
    m_window->connectWith(SettingsStore(*m_settings).load());
    QTRY_COMPARE_WITH_TIMEOUT(m_window->connection()->state(), ConnectionController::State::Connected, kWait);
    QTRY_VERIFY_WITH_TIMEOUT(m_window->chat()->models()->rowCount() > 0, kWait);

    chat(QStringLiteral("Zanzibar quarterly merger memo for Ophelia Brandt"));
    chat(QStringLiteral("Show me a C++ loop for the Kestrel ledger"));
    m_window->chat()->newConversation();

    // A stopped stream.
    QSignalSpy finished(m_window->chat(), &ChatController::turnFinished);
    m_window->chatView()->composer()->setPlainText(QStringLiteral("Tell an endless tale of the Marigold vault"));
    m_window->chatView()->submit();
    QTRY_VERIFY_WITH_TIMEOUT(m_window->chat()->messages()->rowCount() == 2 &&
                                 !m_window->chat()->messages()->at(1).text.isEmpty(), kWait);
    m_window->chat()->stop();
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kWait);

    // A redaction and a denial.
    m_window->chat()->newConversation();
    chat(QStringLiteral("Contact ophelia.brandt@example.org about Quillfeather"));
    QVERIFY(!m_window->chat()->redactionNotice().isEmpty());
    m_window->chatView()->composer()->setPlainText(QStringLiteral("Ophelia SSN 321-54-9876 payroll"));
    m_window->chatView()->submit();
    QTRY_VERIFY_WITH_TIMEOUT(m_window->chat()->problem().denial, kWait);
    QTRY_VERIFY_WITH_TIMEOUT(!m_window->chat()->busy(), kWait);

    // Incognito.
    m_window->chat()->newConversation();
    m_window->chat()->setIncognito(true);
    QVERIFY(m_window->chat()->incognito());
    chat(QStringLiteral("Incognito note about the Tamarind project"));
    m_window->chat()->setIncognito(false);

    // The list, open one, delete one.
    QTRY_VERIFY_WITH_TIMEOUT(m_window->conversations()->model()->rowCount() >= 3, kWait);
    QSignalSpy loaded(m_window->chat(), &ChatController::conversationLoaded);
    m_window->chat()->openConversation(
        m_window->conversations()->model()->data(m_window->conversations()->model()->index(0),
                                                 ConversationListModel::IdRole).toString());
    QTRY_COMPARE_WITH_TIMEOUT(loaded.count(), 1, kWait);
    chat(QStringLiteral("One more question about Gooseberry"));
    QSignalSpy erased(m_window->conversations(), &ConversationsController::erased);
    QString asked;
    m_window->conversationsPanel()->setConfirmation([&asked](const QString& text) {
      asked = text;
      return true;
    });
    QVERIFY(m_window->conversationsPanel()->confirmAndDelete(m_window->conversations()->model()->index(0)));
    QTRY_COMPARE_WITH_TIMEOUT(erased.count(), 1, kWait);
    QVERIFY(asked.contains(QStringLiteral("cannot be recovered")));

    // Theme and lock (both touch settings or the window).
    m_window->setTheme(QStringLiteral("dark"));
    m_window->idleLock()->lockNow();
    m_window->idleLock()->unlock();

    for (const QString& t : m_titles) {
      for (const QString& n : needles()) QVERIFY2(!t.contains(n), qPrintable(t));
    }
    QVERIFY(!m_titles.isEmpty());

    m_window.reset();
    m_settings->sync();
    m_settings.reset();
    QCoreApplication::processEvents();

    int scanned = 0;
    const QStringList hits = findNeedles(needles(), &scanned);
    QVERIFY2(hits.isEmpty(), qPrintable(hits.join('\n')));
    QVERIFY2(scanned >= 5, "the certificates and the settings file at least were scanned");
    qInfo("scanned %d files under HOME, TMPDIR and XDG_RUNTIME_DIR", scanned);
  }

  void settingsFileHoldsOnlyConnectionSettings() {
    QSettings settings;
    QVERIFY(QFile::exists(settings.fileName()));
    QVERIFY(settings.fileName().startsWith(qEnvironmentVariable("HOME")));
    QVERIFY(!settings.allKeys().isEmpty());
    for (const QString& key : settings.allKeys()) {
      QVERIFY2(SettingsStore::allowedKeys().contains(key), qPrintable(key));
    }
    QCOMPARE(settings.value("ui/theme").toString(), QStringLiteral("dark"));
  }

  void cleanupTestCase() { m_appliance.reset(); }
};

int main(int argc, char** argv) {
  // A fresh HOME, TMPDIR and XDG_RUNTIME_DIR for everything this process writes.
  QByteArray base = QByteArray(P_tmpdir) + "/gui-privacy-XXXXXX";
  if (!mkdtemp(base.data())) return 2;
  for (const char* sub : {"/home", "/tmp", "/run"}) {
    if (!QDir().mkpath(QString::fromUtf8(base + sub))) return 2;
  }
  QFile::setPermissions(QString::fromUtf8(base + "/run"), QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner);
  setenv("HOME", (base + "/home").constData(), 1);
  setenv("TMPDIR", (base + "/tmp").constData(), 1);
  setenv("XDG_RUNTIME_DIR", (base + "/run").constData(), 1);
  for (const char* var : {"XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"}) unsetenv(var);

  QApplication app(argc, argv);
  QApplication::setOrganizationName(QStringLiteral("assistant"));
  QApplication::setApplicationName(QStringLiteral("assistant-desktop"));
  GuiPrivacyTest test;
  const int rc = QTest::qExec(&test, argc, argv);
  QDir(QString::fromUtf8(base)).removeRecursively();
  return rc;
}

#include "tst_gui_privacy.moc"
