// What the client remembers between runs: how to reach the appliance and which
// credential files to use. Nothing else is ever written by SettingsStore: no
// conversation content, no titles, no tokens (a bearer token is kept in memory
// for the session only).
#ifndef GUI_CONNECTION_SETTINGS_H_
#define GUI_CONNECTION_SETTINGS_H_

#include <QByteArray>
#include <QString>
#include <QStringList>

class QSettings;

namespace gui {

struct ConnectionSettings {
  enum class Auth { ClientCertificate, Token };

  QString address;    // host:port of assistantd
  QString caPath;     // PEM CA bundle that signed the appliance's certificate
  Auth auth = Auth::ClientCertificate;
  QString certPath;   // PEM client certificate (Auth::ClientCertificate)
  QString keyPath;    // PEM private key of the client certificate
  QString theme;      // "light", "dark" or "" (follow the system)
  int idleLockMinutes = 0;  // 0 = no idle lock

  bool operator==(const ConnectionSettings&) const = default;
  // Empty when complete, else what is missing ("Enter the appliance address").
  QString incompleteReason() const;
};

// Persists ConnectionSettings in QSettings under the group "connection".
class SettingsStore {
 public:
  explicit SettingsStore(QSettings& settings) : m_settings(settings) {}

  ConnectionSettings load() const;
  void save(const ConnectionSettings& s);
  bool hasSettings() const;
  // Every key this store may write; a test asserts nothing else is on disk.
  static QStringList allowedKeys();

 private:
  QSettings& m_settings;
};

}  // namespace gui

#endif  // GUI_CONNECTION_SETTINGS_H_
