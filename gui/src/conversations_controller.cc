#include "gui/conversations_controller.h"

#include <QPointer>

#include "gui/connection_controller.h"

namespace gui {

ConversationsController::ConversationsController(ConnectionController* connection, QObject* parent)
    : QObject(parent), m_connection(connection) {
  connect(m_connection, &ConnectionController::connected, this, [this] { refresh(m_filter); });
}

QString ConversationsController::confirmationText(const QString& title) {
  return QStringLiteral(
             "Delete \"%1\"?\n\nIts content will be erased on the appliance and cannot be "
             "recovered, also not from backups. The deletion is recorded in the audit log.")
      .arg(title);
}

void ConversationsController::refresh(const QString& titleContains) {
  ApplianceClient* client = m_connection->client();
  if (!client) return;
  m_filter = titleContains;
  const int generation = ++m_generation;
  QPointer<ConversationsController> self(this);
  client->listConversations(titleContains, [self, generation](
                                               const RpcResult<v1::ListConversationsResponse>& r) {
    if (!self || generation != self->m_generation) return;
    if (!r.ok()) {
      self->m_connection->reportCallError(r.error);
      emit self->failed(r.error);
      return;
    }
    self->m_model.reset({r.value.conversations().begin(), r.value.conversations().end()});
    emit self->refreshed();
  });
}

void ConversationsController::remove(const QString& id) {
  ApplianceClient* client = m_connection->client();
  if (!client) return;
  QPointer<ConversationsController> self(this);
  client->deleteConversation(id, [self, id](const RpcResult<v1::DeleteConversationResponse>& r) {
    if (!self) return;
    if (!r.ok()) {
      self->m_connection->reportCallError(r.error);
      emit self->failed(r.error);
      return;
    }
    self->m_model.removeId(id);
    emit self->erased(id, r.value.audit_sequence());
  });
}

}  // namespace gui
