#include "gui/chat_controller.h"

#include <QPointer>
#include <QUuid>

#include <map>

#include "gui/connection_controller.h"
#include "gui/format.h"

namespace gui {

QString PolicyBanner::text() const {
  QStringList parts;
  if (!classification.isEmpty()) parts << classification;
  parts << (incognito ? QStringLiteral("incognito: not stored") : retention);
  if (!site.isEmpty()) parts << QStringLiteral("processed at site %1").arg(site);
  if (!redactions.isEmpty()) parts << redactions;
  return parts.join(QStringLiteral(" · "));
}

ChatController::ChatController(ConnectionController* connection, QObject* parent)
    : QObject(parent), m_connection(connection) {
  connect(m_connection, &ConnectionController::policyChanged, this,
          &ChatController::onPolicyChanged);
}

ChatController::~ChatController() {
  if (m_call) m_call->cancel();
}

const v1::ClassificationInfo* ChatController::classInfo() const {
  for (const auto& c : m_connection->policy().classifications()) {
    if (QString::fromStdString(c.name()) == m_classification) return &c;
  }
  return nullptr;
}

QStringList ChatController::classifications() const {
  QStringList out;
  for (const auto& c : m_connection->policy().classifications()) {
    out << QString::fromStdString(c.name());
  }
  return out;
}

void ChatController::onPolicyChanged() {
  const QStringList allowed = classifications();
  if (!allowed.contains(m_classification)) {
    m_classification = QString::fromStdString(m_connection->policy().default_classification());
    if (!allowed.contains(m_classification) && !allowed.isEmpty()) m_classification = allowed.first();
  }
  if (!incognitoAllowed()) m_incognito = false;
  emit bannerChanged();
  refreshModels();
}

void ChatController::setClassification(const QString& classification) {
  if (classification == m_classification) return;
  m_classification = classification;
  if (!incognitoAllowed()) m_incognito = false;
  emit bannerChanged();
  refreshModels();
}

void ChatController::setModel(const QString& model) {
  m_model = model;
  emit bannerChanged();
}

bool ChatController::incognitoAllowed() const {
  const auto* info = classInfo();
  return info && info->incognito_allowed();
}

void ChatController::setIncognito(bool on) {
  m_incognito = on && incognitoAllowed();
  emit bannerChanged();
}

PolicyBanner ChatController::banner() const {
  PolicyBanner b;
  b.classification = m_classification;
  b.site = QString::fromStdString(m_connection->policy().site());
  b.incognito = m_incognito;
  const auto* info = classInfo();
  if (m_haveStart) {
    b.retention = retentionText(m_start.retention());
    if (!m_start.site().empty()) b.site = QString::fromStdString(m_start.site());
  } else if (info) {
    b.retention = retentionText(info->retention());
  }
  if (info && !info->detectors().empty()) {
    std::map<std::string, std::string> sorted(info->detectors().begin(), info->detectors().end());
    QStringList types;
    for (const auto& [type, action] : sorted) types << QString::fromStdString(type);
    b.redactions = QStringLiteral("sensitive data checked: %1").arg(types.join(QStringLiteral(", ")));
  }
  return b;
}

void ChatController::refreshModels() {
  ApplianceClient* client = m_connection->client();
  if (!client) return;
  QPointer<ChatController> self(this);
  const QString requested = m_classification;
  client->listModels(m_classification, [self, requested](const RpcResult<v1::ListModelsResponse>& r) {
    if (!self || requested != self->m_classification) return;
    if (!r.ok()) {
      self->m_connection->reportCallError(r.error);
      self->m_models.reset({});
      emit self->modelsChanged();
      return;
    }
    std::vector<v1::Model> models(r.value.models().begin(), r.value.models().end());
    self->m_models.reset(std::move(models));
    if (self->m_models.rowOf(self->m_model) < 0) {
      self->m_model = self->m_models.rowCount() > 0
                          ? self->m_models.data(self->m_models.index(0), ModelListModel::NameRole).toString()
                          : QString();
    }
    emit self->modelsChanged();
  });
}

void ChatController::setBusy(std::shared_ptr<CallHandle> call) {
  const bool was = busy();
  m_call = std::move(call);
  if (was != busy()) emit busyChanged(busy());
}

void ChatController::clearProblem() {
  if (m_problem.headline.isEmpty()) return;
  m_problem = {};
  emit problemChanged();
}

void ChatController::setProblem(const RpcError& error) {
  m_problem = {};
  m_problem.reason = error.reason();
  m_problem.headline = error.headline();
  m_problem.rules = error.deniedBy();
  m_problem.remedy = error.remedy();
  m_problem.auditSequence = error.hasDetail ? error.detail.audit_sequence() : 0;
  m_problem.denial = error.kind() == RpcError::Kind::Denied;
  m_connection->reportCallError(error);
  emit problemChanged();
}

bool ChatController::send(const QString& text) {
  if (busy() || text.trimmed().isEmpty() || !m_connection->client()) return false;
  m_messages.append(ChatMessageModel::Sender::User, text);
  return startTurn(false);
}

bool ChatController::startTurn(bool fork) {
  ApplianceClient* client = m_connection->client();
  if (!client) return false;
  clearProblem();
  if (!m_redactionNotice.isEmpty()) {
    m_redactionNotice.clear();
    emit redactionNoticeChanged(m_redactionNotice);
  }
  v1::ChatRequest req;
  const bool sendHistory = fork || !m_contentStored || m_incognito || m_conversationId.isEmpty();
  if (fork) m_conversationId.clear();
  req.set_conversation_id(m_conversationId.toStdString());
  const auto& all = m_messages.messages();
  const int first = sendHistory ? 0 : static_cast<int>(all.size()) - 1;
  for (int i = first; i < all.size(); ++i) {
    if (all[i].sender == ChatMessageModel::Sender::System) continue;
    auto* m = req.add_messages();
    m->set_role(all[i].sender == ChatMessageModel::Sender::User ? v1::ChatMessage::ROLE_USER
                                                               : v1::ChatMessage::ROLE_ASSISTANT);
    m->set_content(all[i].text.toStdString());
  }
  req.set_model(m_model.toStdString());
  req.set_classification(m_classification.toStdString());
  req.set_incognito(m_incognito);
  req.set_client_request_id(QUuid::createUuid().toString(QUuid::WithoutBraces).toStdString());

  m_answerRow = m_messages.append(ChatMessageModel::Sender::Assistant, QString(), true);
  const int turn = ++m_turn;
  QPointer<ChatController> self(this);
  auto live = [self, turn] { return self && self->m_turn == turn; };

  ApplianceClient::ChatCallbacks cb;
  cb.onStart = [self, live](const v1::ChatStart& start) {
    if (!live()) return;
    self->m_start = start;
    self->m_haveStart = true;
    self->m_contentStored = !start.retention().not_stored();
    const bool isNew = self->m_conversationId.isEmpty();
    self->m_conversationId = QString::fromStdString(start.conversation_id());
    if (!start.title().empty()) self->m_title = QString::fromStdString(start.title());
    if (start.redactions_size() > 0) {
      QStringList items;
      for (const auto& r : start.redactions()) {
        items << QStringLiteral("%1 → %2").arg(QString::fromStdString(r.type()),
                                               QString::fromStdString(r.placeholder()));
      }
      self->m_redactionNotice =
          QStringLiteral("%1 item(s) in your message were redacted by policy: %2")
              .arg(start.redactions_size())
              .arg(items.join(QStringLiteral(", ")));
      emit self->redactionNoticeChanged(self->m_redactionNotice);
    }
    emit self->bannerChanged();
    if (isNew) emit self->conversationStarted(self->m_conversationId);
  };
  cb.onDelta = [self, live](const QString& text, quint32) {
    if (!live()) return;
    self->m_messages.appendText(self->m_answerRow, text);
  };
  cb.onEnd = [self, live](const v1::ChatEnd& end) {
    if (!live()) return;
    const bool stopped = end.finish_reason() == v1::ChatEnd::FINISH_REASON_CANCELLED;
    self->m_messages.finish(self->m_answerRow, stopped);
    self->m_usageText = QStringLiteral("%1 tokens · %2 tok/s")
                            .arg(end.usage().completion_tokens())
                            .arg(end.timings().decode_tokens_per_second(), 0, 'f', 1);
    if (end.finish_reason() == v1::ChatEnd::FINISH_REASON_ERROR && end.has_error()) {
      RpcError e = RpcError::local(grpc::StatusCode::INTERNAL, QString());
      e.hasDetail = true;
      e.detail = end.error();
      self->setProblem(e);
    }
    self->setBusy(nullptr);
    emit self->turnFinished(end.finish_reason());
  };
  cb.onError = [self, live](const RpcError& error) {
    if (!live()) return;
    const int row = self->m_answerRow;
    if (error.kind() == RpcError::Kind::Cancelled) {
      // Stopped by the user: keep what arrived.
      self->m_messages.finish(row, true);
    } else {
      // Nothing useful arrived: drop the empty answer bubble.
      if (row >= 0 && self->m_messages.at(row).text.isEmpty()) {
        self->m_messages.truncate(row);
      } else {
        self->m_messages.finish(row, true);
      }
      self->setProblem(error);
    }
    const bool wasBusy = self->busy();
    self->setBusy(nullptr);
    if (wasBusy) emit self->turnFinished(v1::ChatEnd::FINISH_REASON_CANCELLED);
  };
  setBusy(client->chat(req, std::move(cb)));
  return true;
}

void ChatController::stop() {
  if (m_call) m_call->cancel();
}

bool ChatController::regenerate() {
  if (busy()) return false;
  const auto& all = m_messages.messages();
  int lastUser = -1;
  for (int i = static_cast<int>(all.size()) - 1; i >= 0; --i) {
    if (all[i].sender == ChatMessageModel::Sender::User) {
      lastUser = i;
      break;
    }
  }
  if (lastUser < 0) return false;
  m_messages.truncate(lastUser + 1);
  return startTurn(m_contentStored && !m_incognito);
}

bool ChatController::editAndResend(int row, const QString& text) {
  if (busy() || row < 0 || row >= m_messages.rowCount() || text.trimmed().isEmpty()) return false;
  if (m_messages.at(row).sender != ChatMessageModel::Sender::User) return false;
  m_messages.truncate(row);
  m_messages.append(ChatMessageModel::Sender::User, text);
  return startTurn(m_contentStored && !m_incognito);
}

void ChatController::newConversation() {
  stop();
  setBusy(nullptr);
  ++m_turn;
  m_messages.clear();
  m_conversationId.clear();
  m_title.clear();
  m_haveStart = false;
  m_contentStored = true;
  m_usageText.clear();
  m_redactionNotice.clear();
  emit redactionNoticeChanged(m_redactionNotice);
  clearProblem();
  emit bannerChanged();
}

void ChatController::openConversation(const QString& id) {
  ApplianceClient* client = m_connection->client();
  if (!client) return;
  newConversation();
  QPointer<ChatController> self(this);
  const int turn = m_turn;
  client->getConversation(id, [self, turn](const RpcResult<v1::Conversation>& r) {
    if (!self || self->m_turn != turn) return;
    if (!r.ok()) {
      self->setProblem(r.error);
      return;
    }
    const auto& c = r.value;
    self->m_conversationId = QString::fromStdString(c.summary().id());
    self->m_title = QString::fromStdString(c.summary().title());
    self->m_contentStored = !c.content_not_stored();
    if (!c.summary().classification().empty()) {
      self->m_classification = QString::fromStdString(c.summary().classification());
    }
    if (!c.summary().model().empty()) self->m_model = QString::fromStdString(c.summary().model());
    self->m_start.Clear();
    *self->m_start.mutable_retention() = c.summary().retention();
    self->m_haveStart = true;
    for (const auto& m : c.messages()) {
      const auto sender = m.role() == v1::ChatMessage::ROLE_USER ? ChatMessageModel::Sender::User
                          : m.role() == v1::ChatMessage::ROLE_ASSISTANT
                              ? ChatMessageModel::Sender::Assistant
                              : ChatMessageModel::Sender::System;
      self->m_messages.append(sender, QString::fromStdString(m.content()));
    }
    if (c.content_not_stored()) {
      self->m_messages.append(ChatMessageModel::Sender::System,
                              QStringLiteral("The content of this conversation was not stored."));
    }
    emit self->bannerChanged();
    self->refreshModels();
    emit self->conversationLoaded(self->m_conversationId);
  });
}

}  // namespace gui
