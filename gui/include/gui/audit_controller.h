// The auditor's workspace: query the ledger, verify it, export a bundle.
#ifndef GUI_AUDIT_CONTROLLER_H_
#define GUI_AUDIT_CONTROLLER_H_

#include <QObject>
#include <memory>

#include "gui/appliance_client.h"
#include "gui/audit_record_model.h"

namespace gui {

class ConnectionController;

class AuditController : public QObject {
  Q_OBJECT
 public:
  explicit AuditController(ConnectionController* connection, QObject* parent = nullptr);
  ~AuditController() override;

  AuditRecordModel* records() { return &m_records; }

  void query(const v1::AuditFilter& filter);
  void verify(const QString& trustedCheckpoint = QString());
  void cancelVerify();
  void exportTo(const v1::AuditFilter& filter, const QString& folder);
  bool verifying() const { return m_verify != nullptr; }
  bool exporting() const { return m_export != nullptr; }

 signals:
  void queried(int count);
  void verifyProgress(quint64 checked, quint64 total);
  // `ok` with the plain-language summary, or the problem found.
  void verified(bool ok, const QString& verdict);
  void exportProgress(qint64 bytes);
  void exported(const QString& folder, const QStringList& files);
  void failed(const gui::RpcError& error);

 private:
  ConnectionController* m_connection;
  AuditRecordModel m_records;
  std::shared_ptr<CallHandle> m_verify;
  std::shared_ptr<CallHandle> m_export;
  int m_queryGeneration = 0;
};

// "Ledger intact: 12 records, root 1a2b…" or "Ledger damaged at record 7: …".
QString verdictText(const v1::VerifyVerdict& v);

}  // namespace gui

#endif  // GUI_AUDIT_CONTROLLER_H_
