#include "gui/audit_controller.h"

#include <QPointer>

#include "gui/connection_controller.h"

namespace gui {

QString verdictText(const v1::VerifyVerdict& v) {
  if (!v.summary().empty()) return QString::fromStdString(v.summary());
  if (v.ok()) {
    return QStringLiteral("Ledger intact: %1 records, root %2")
        .arg(v.tree_size())
        .arg(QString::fromStdString(v.root_hash()).left(16));
  }
  return QStringLiteral("Ledger NOT intact: record %1: %2")
      .arg(v.first_bad_sequence())
      .arg(QString::fromStdString(v.problem()));
}

AuditController::AuditController(ConnectionController* connection, QObject* parent)
    : QObject(parent), m_connection(connection) {}

AuditController::~AuditController() {
  if (m_verify) m_verify->cancel();
  if (m_export) m_export->cancel();
}

void AuditController::query(const v1::AuditFilter& filter) {
  ApplianceClient* client = m_connection->client();
  if (!client) return;
  const int generation = ++m_queryGeneration;
  QPointer<AuditController> self(this);
  client->queryRecords(filter, [self, generation](
                                   const RpcResult<std::vector<v1::AuditRecord>>& r) {
    if (!self || generation != self->m_queryGeneration) return;
    if (!r.ok()) {
      self->m_connection->reportCallError(r.error);
      emit self->failed(r.error);
      return;
    }
    self->m_records.reset(r.value);
    emit self->queried(self->m_records.rowCount());
  });
}

void AuditController::verify(const QString& trustedCheckpoint) {
  ApplianceClient* client = m_connection->client();
  if (!client || m_verify) return;
  QPointer<AuditController> self(this);
  m_verify = client->verify(
      trustedCheckpoint,
      [self](quint64 checked, quint64 total) {
        if (self) emit self->verifyProgress(checked, total);
      },
      [self](const RpcResult<v1::VerifyVerdict>& r) {
        if (!self) return;
        self->m_verify.reset();
        if (!r.ok()) {
          self->m_connection->reportCallError(r.error);
          emit self->failed(r.error);
          return;
        }
        emit self->verified(r.value.ok(), verdictText(r.value));
      });
}

void AuditController::cancelVerify() {
  if (m_verify) m_verify->cancel();
}

void AuditController::exportTo(const v1::AuditFilter& filter, const QString& folder) {
  ApplianceClient* client = m_connection->client();
  if (!client || m_export) return;
  QPointer<AuditController> self(this);
  m_export = client->exportBundle(
      filter, folder,
      [self](qint64 bytes) {
        if (self) emit self->exportProgress(bytes);
      },
      [self, folder](const RpcResult<QStringList>& r) {
        if (!self) return;
        self->m_export.reset();
        if (!r.ok()) {
          self->m_connection->reportCallError(r.error);
          emit self->failed(r.error);
          return;
        }
        emit self->exported(folder, r.value);
      });
}

}  // namespace gui
