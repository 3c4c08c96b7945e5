// Owns the connection to the appliance: builds the ApplianceClient from the
// settings, tests it (Health.Check, then GetMyPolicy), and publishes the
// state the window shows (connected, offline, credentials rejected).
#ifndef GUI_CONNECTION_CONTROLLER_H_
#define GUI_CONNECTION_CONTROLLER_H_

#include <QObject>
#include <memory>

#include "gui/appliance_client.h"

namespace gui {

class ConnectionController : public QObject {
  Q_OBJECT
 public:
  enum class State { Disconnected, Connecting, Connected, Offline, CredentialsRejected, Failed };
  Q_ENUM(State)

  using QObject::QObject;
  ~ConnectionController() override;

  State state() const { return m_state; }
  // Plain sentence for the status bar: "Connected to site berlin-1 as alice".
  QString statusText() const { return m_statusText; }
  ApplianceClient* client() const { return m_client.get(); }
  const v1::MyPolicy& policy() const { return m_policy; }
  const v1::HealthCheckResponse& health() const { return m_health; }
  bool hasRole(const QString& role) const;
  const RpcError& lastError() const { return m_lastError; }

  // Replaces the client and tests it; emits stateChanged along the way and
  // connected() on success. `token` is used only with Auth::Token.
  void connectTo(const ConnectionSettings& settings, common::SecretBytes token = {});
  void disconnectFromAppliance();
  // Re-reads GetMyPolicy (after an admin applied a new policy).
  void refreshPolicy();
  // Classifies a failed call elsewhere: offline or rejected credentials
  // change the connection state.
  void reportCallError(const RpcError& error);

 signals:
  void stateChanged(gui::ConnectionController::State state);
  void connected();
  void policyChanged();

 private:
  void setState(State state, const QString& text);

  std::unique_ptr<ApplianceClient> m_client;
  State m_state = State::Disconnected;
  QString m_statusText = QStringLiteral("Not connected");
  v1::MyPolicy m_policy;
  v1::HealthCheckResponse m_health;
  RpcError m_lastError;
  int m_generation = 0;  // ignores answers from a replaced client
};

}  // namespace gui

#endif  // GUI_CONNECTION_CONTROLLER_H_
