#include "gui/admin_controller.h"

#include <QPointer>

#include "gui/connection_controller.h"
#include "gui/format.h"

namespace gui {
namespace {

QString workerState(v1::WorkerStatus::State s) {
  switch (s) {
    case v1::WorkerStatus::STATE_STARTING: return QStringLiteral("starting");
    case v1::WorkerStatus::STATE_READY: return QStringLiteral("ready");
    case v1::WorkerStatus::STATE_UNAVAILABLE: return QStringLiteral("unavailable");
    case v1::WorkerStatus::STATE_RESTARTING: return QStringLiteral("restarting");
    default: return QStringLiteral("unknown");
  }
}

}  // namespace

AdminController::AdminController(ConnectionController* connection, QObject* parent)
    : QObject(parent),
      m_connection(connection),
      m_errors({QStringLiteral("Line"), QStringLiteral("Column"), QStringLiteral("Problem")}),
      m_holds({QStringLiteral("Scope"), QStringLiteral("Reason"), QStringLiteral("Placed"),
               QStringLiteral("By")}),
      m_workers({QStringLiteral("Worker"), QStringLiteral("State"), QStringLiteral("Backend"),
                 QStringLiteral("Streams"), QStringLiteral("Models"), QStringLiteral("Restarts")}) {}

void AdminController::loadCurrentPolicy() {
  ApplianceClient* client = m_connection->client();
  if (!client) return;
  QPointer<AdminController> self(this);
  client->getPolicy([self](const RpcResult<v1::PolicyDocument>& r) {
    if (!self) return;
    if (!r.ok()) {
      emit self->failed(r.error);
      return;
    }
    self->m_currentHash = QString::fromStdString(r.value.hash());
    emit self->policyLoaded(QString::fromStdString(r.value.yaml()), self->m_currentHash);
  });
}

void AdminController::showErrors(const v1::ValidatePolicyResponse& r) {
  QVector<RowTableModel::Row> rows;
  for (const auto& e : r.errors()) {
    rows.push_back({QString::number(e.line()),
                    {QString::number(e.line()), QString::number(e.column()),
                     QString::fromStdString(e.message())}});
  }
  m_errors.reset(std::move(rows));
}

void AdminController::validate(const QString& yaml) {
  ApplianceClient* client = m_connection->client();
  if (!client) return;
  QPointer<AdminController> self(this);
  client->validatePolicy(yaml, [self](const RpcResult<v1::ValidatePolicyResponse>& r) {
    if (!self) return;
    if (!r.ok()) {
      emit self->failed(r.error);
      return;
    }
    self->showErrors(r.value);
    emit self->validated(r.value.valid(), r.value.valid()
                                              ? QString::fromStdString(r.value.summary())
                                              : QStringLiteral("%1 problem(s) found").arg(r.value.errors_size()));
  });
}

void AdminController::apply(const QString& yaml) {
  ApplianceClient* client = m_connection->client();
  if (!client) return;
  QPointer<AdminController> self(this);
  client->applyPolicy(yaml, m_currentHash, [self, yaml](const RpcResult<v1::ApplyPolicyResponse>& r) {
    if (!self) return;
    if (!r.ok()) {
      if (r.error.code == grpc::StatusCode::INVALID_ARGUMENT) {
        self->validate(yaml);  // the refused policy's errors, line by line
      } else {
        emit self->failed(r.error);
      }
      return;
    }
    self->m_errors.reset({});
    self->m_currentHash = QString::fromStdString(r.value.hash());
    emit self->applied(self->m_currentHash);
    self->m_connection->refreshPolicy();
  });
}

void AdminController::refreshHolds() {
  ApplianceClient* client = m_connection->client();
  if (!client) return;
  QPointer<AdminController> self(this);
  client->listLegalHolds([self](const RpcResult<v1::ListLegalHoldsResponse>& r) {
    if (!self) return;
    if (!r.ok()) {
      emit self->failed(r.error);
      return;
    }
    QVector<RowTableModel::Row> rows;
    for (const auto& h : r.value.holds()) {
      const QString scope = h.has_user_id() ? QStringLiteral("user %1").arg(QString::fromStdString(h.user_id()))
                                            : QStringLiteral("conversation %1").arg(QString::fromStdString(h.conversation_id()));
      rows.push_back({QString::fromStdString(h.id()),
                      {scope, QString::fromStdString(h.reason()), timestampText(h.placed()),
                       QString::fromStdString(h.placed_by())}});
    }
    self->m_holds.reset(std::move(rows));
    emit self->holdsChanged();
  });
}

void AdminController::placeHold(const QString& userId, const QString& conversationId,
                                const QString& reason) {
  ApplianceClient* client = m_connection->client();
  if (!client) return;
  v1::PlaceLegalHoldRequest req;
  if (!userId.isEmpty()) {
    req.set_user_id(userId.toStdString());
  } else {
    req.set_conversation_id(conversationId.toStdString());
  }
  req.set_reason(reason.toStdString());
  QPointer<AdminController> self(this);
  client->placeLegalHold(req, [self](const RpcResult<v1::LegalHold>& r) {
    if (!self) return;
    if (!r.ok()) {
      emit self->failed(r.error);
      return;
    }
    self->refreshHolds();
  });
}

void AdminController::releaseHold(const QString& id) {
  ApplianceClient* client = m_connection->client();
  if (!client) return;
  QPointer<AdminController> self(this);
  client->releaseLegalHold(id, [self](const RpcResult<v1::ReleaseLegalHoldResponse>& r) {
    if (!self) return;
    if (!r.ok()) {
      emit self->failed(r.error);
      return;
    }
    self->refreshHolds();
  });
}

void AdminController::refreshWorkers() {
  ApplianceClient* client = m_connection->client();
  if (!client) return;
  QPointer<AdminController> self(this);
  client->workerStatus([self](const RpcResult<v1::WorkerStatusResponse>& r) {
    if (!self) return;
    if (!r.ok()) {
      emit self->failed(r.error);
      return;
    }
    QVector<RowTableModel::Row> rows;
    for (const auto& w : r.value.workers()) {
      QStringList models;
      for (const auto& m : w.models()) models << QString::fromStdString(m);
      rows.push_back({QString::fromStdString(w.id()),
                      {QStringLiteral("%1 (%2)").arg(QString::fromStdString(w.id()),
                                                     QString::fromStdString(w.address())),
                       workerState(w.state()) +
                           (w.last_error().empty() ? QString()
                                                   : QStringLiteral(": ") + QString::fromStdString(w.last_error())),
                       QString::fromStdString(w.backend()),
                       QStringLiteral("%1 / %2").arg(w.active_streams()).arg(w.capacity()),
                       models.join(QStringLiteral(", ")), QString::number(w.restarts())}});
    }
    self->m_workers.reset(std::move(rows));
    emit self->workersChanged();
  });
}

}  // namespace gui
