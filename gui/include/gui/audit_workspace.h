// The auditor's workspace: filters, the records table, a record's details,
// Verify with progress and a plain verdict, Export to a folder.
#ifndef GUI_AUDIT_WORKSPACE_H_
#define GUI_AUDIT_WORKSPACE_H_

#include <QWidget>

class QComboBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QTableView;

namespace gui {

class AuditController;

class AuditWorkspace : public QWidget {
  Q_OBJECT
 public:
  explicit AuditWorkspace(AuditController* controller, QWidget* parent = nullptr);

  void runQuery();
  void exportTo(const QString& folder);
  QTableView* table() const { return m_table; }
  QLabel* verdict() const { return m_verdict; }

 private:
  AuditController* m_controller;
  QLineEdit* m_subject;
  QComboBox* m_event;
  QComboBox* m_decision;
  QLineEdit* m_classification;
  QSpinBox* m_limit;
  QTableView* m_table;
  QPlainTextEdit* m_details;
  QProgressBar* m_progress;
  QLabel* m_verdict;
  QLabel* m_status;
  QPushButton* m_verify;
  QPushButton* m_export;
};

}  // namespace gui

#endif  // GUI_AUDIT_WORKSPACE_H_
