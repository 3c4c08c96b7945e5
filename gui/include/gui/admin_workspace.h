// The administrator's workspace: policy editor with Validate/Apply and the
// errors by line (activating one moves the cursor there), legal holds,
// worker status.
#ifndef GUI_ADMIN_WORKSPACE_H_
#define GUI_ADMIN_WORKSPACE_H_

#include <QWidget>

class QLabel;
class QLineEdit;
class QTabWidget;
class QTableView;

namespace gui {

class AdminController;
class LineNumberEditor;

class AdminWorkspace : public QWidget {
  Q_OBJECT
 public:
  explicit AdminWorkspace(AdminController* controller, QWidget* parent = nullptr);

  LineNumberEditor* editor() const { return m_editor; }
  QTabWidget* tabs() const { return m_tabs; }
  void goToLine(int line, int column);

 private:
  AdminController* m_controller;
  QTabWidget* m_tabs;
  LineNumberEditor* m_editor;
  QTableView* m_errors;
  QLabel* m_policyStatus;
  QTableView* m_holds;
  QLineEdit* m_holdUser;
  QLineEdit* m_holdConversation;
  QLineEdit* m_holdReason;
  QTableView* m_workers;
};

}  // namespace gui

#endif  // GUI_ADMIN_WORKSPACE_H_
