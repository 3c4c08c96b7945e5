// The administrator's workspace: validate and apply a policy file (errors
// with line and column), legal holds, worker status.
#ifndef GUI_ADMIN_CONTROLLER_H_
#define GUI_ADMIN_CONTROLLER_H_

#include <QObject>

#include "gui/appliance_client.h"
#include "gui/row_table_model.h"

namespace gui {

class ConnectionController;

class AdminController : public QObject {
  Q_OBJECT
 public:
  explicit AdminController(ConnectionController* connection, QObject* parent = nullptr);

  RowTableModel* policyErrors() { return &m_errors; }  // Line, Column, Problem
  RowTableModel* legalHolds() { return &m_holds; }     // Scope, Reason, Placed, By
  RowTableModel* workers() { return &m_workers; }      // Worker, State, Backend, Streams, Models
  QString currentPolicyHash() const { return m_currentHash; }

  void loadCurrentPolicy();
  void validate(const QString& yaml);
  // Refused policies fill policyErrors() like validate() does.
  void apply(const QString& yaml);
  void refreshHolds();
  void placeHold(const QString& userId, const QString& conversationId, const QString& reason);
  void releaseHold(const QString& id);
  void refreshWorkers();

 signals:
  void policyLoaded(const QString& yaml, const QString& hash);
  void validated(bool valid, const QString& summary);
  void applied(const QString& hash);
  void holdsChanged();
  void workersChanged();
  void failed(const gui::RpcError& error);

 private:
  void showErrors(const v1::ValidatePolicyResponse& r);

  ConnectionController* m_connection;
  RowTableModel m_errors;
  RowTableModel m_holds;
  RowTableModel m_workers;
  QString m_currentHash;
};

}  // namespace gui

#endif  // GUI_ADMIN_CONTROLLER_H_
