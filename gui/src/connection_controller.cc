#include "gui/connection_controller.h"

#include <QPointer>

namespace gui {

ConnectionController::~ConnectionController() = default;

bool ConnectionController::hasRole(const QString& role) const {
  for (const auto& r : m_policy.roles()) {
    if (QString::fromStdString(r) == role) return true;
  }
  return false;
}

void ConnectionController::setState(State state, const QString& text) {
  m_state = state;
  m_statusText = text;
  emit stateChanged(state);
}

void ConnectionController::disconnectFromAppliance() {
  ++m_generation;
  m_client.reset();
  m_policy.Clear();
  setState(State::Disconnected, QStringLiteral("Not connected"));
}

void ConnectionController::connectTo(const ConnectionSettings& settings,
                                     common::SecretBytes token) {
  ++m_generation;
  m_client.reset();
  m_policy.Clear();
  m_lastError = {};
  auto created = ApplianceClient::create(settings, std::move(token));
  if (!created.ok()) {
    m_lastError = RpcError::local(grpc::StatusCode::INVALID_ARGUMENT,
                                  QString::fromStdString(created.status().message()));
    setState(State::Failed, QStringLiteral("Cannot connect: %1").arg(m_lastError.message));
    return;
  }
  m_client = std::move(created).value();
  setState(State::Connecting, QStringLiteral("Connecting to %1…").arg(settings.address));
  const int generation = m_generation;
  QPointer<ConnectionController> self(this);
  m_client->health([self, generation](const RpcResult<v1::HealthCheckResponse>& h) {
    if (!self || generation != self->m_generation) return;
    if (!h.ok()) {
      self->reportCallError(h.error);
      return;
    }
    self->m_health = h.value;
    self->m_client->myPolicy([self, generation](const RpcResult<v1::MyPolicy>& p) {
      if (!self || generation != self->m_generation) return;
      if (!p.ok()) {
        self->reportCallError(p.error);
        return;
      }
      self->m_policy = p.value;
      self->setState(State::Connected,
                     QStringLiteral("Connected to site %1 as %2")
                         .arg(QString::fromStdString(p.value.site()),
                              QString::fromStdString(p.value.user_id())));
      emit self->connected();
      emit self->policyChanged();
    });
  });
}

void ConnectionController::refreshPolicy() {
  if (!m_client) return;
  QPointer<ConnectionController> self(this);
  const int generation = m_generation;
  m_client->myPolicy([self, generation](const RpcResult<v1::MyPolicy>& p) {
    if (!self || generation != self->m_generation) return;
    if (!p.ok()) {
      self->reportCallError(p.error);
      return;
    }
    self->m_policy = p.value;
    emit self->policyChanged();
  });
}

void ConnectionController::reportCallError(const RpcError& error) {
  switch (error.kind()) {
    case RpcError::Kind::Offline:
      m_lastError = error;
      setState(State::Offline, QStringLiteral("Offline: the appliance cannot be reached"));
      break;
    case RpcError::Kind::Credentials:
      m_lastError = error;
      setState(State::CredentialsRejected,
               QStringLiteral("Credentials rejected or expired: open Connection settings"));
      break;
    default:
      if (m_state == State::Connecting) {
        m_lastError = error;
        setState(State::Failed, QStringLiteral("Cannot connect: %1").arg(error.headline()));
      }
      break;
  }
}

}  // namespace gui
