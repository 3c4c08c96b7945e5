#include "gui/connection_settings.h"

#include <QSettings>

namespace gui {

QString ConnectionSettings::incompleteReason() const {
  if (address.trimmed().isEmpty()) return QStringLiteral("Enter the appliance address (host:port).");
  if (caPath.isEmpty()) return QStringLiteral("Choose the appliance's CA certificate.");
  if (auth == Auth::ClientCertificate && (certPath.isEmpty() || keyPath.isEmpty())) {
    return QStringLiteral("Choose your client certificate and its key.");
  }
  return {};
}

ConnectionSettings SettingsStore::load() const {
  ConnectionSettings s;
  s.address = m_settings.value("connection/address").toString();
  s.caPath = m_settings.value("connection/ca").toString();
  s.auth = m_settings.value("connection/auth").toString() == QLatin1String("token")
               ? ConnectionSettings::Auth::Token
               : ConnectionSettings::Auth::ClientCertificate;
  s.certPath = m_settings.value("connection/cert").toString();
  s.keyPath = m_settings.value("connection/key").toString();
  s.theme = m_settings.value("ui/theme").toString();
  s.idleLockMinutes = m_settings.value("ui/idleLockMinutes", 0).toInt();
  return s;
}

void SettingsStore::save(const ConnectionSettings& s) {
  m_settings.setValue("connection/address", s.address.trimmed());
  m_settings.setValue("connection/ca", s.caPath);
  m_settings.setValue("connection/auth", s.auth == ConnectionSettings::Auth::Token
                                             ? QStringLiteral("token")
                                             : QStringLiteral("certificate"));
  m_settings.setValue("connection/cert", s.certPath);
  m_settings.setValue("connection/key", s.keyPath);
  m_settings.setValue("ui/theme", s.theme);
  m_settings.setValue("ui/idleLockMinutes", s.idleLockMinutes);
  m_settings.sync();
}

bool SettingsStore::hasSettings() const { return m_settings.contains("connection/address"); }

QStringList SettingsStore::allowedKeys() {
  return {"connection/address", "connection/ca",    "connection/auth",
          "connection/cert",    "connection/key",   "ui/theme",
          "ui/idleLockMinutes"};
}

}  // namespace gui
