// The window: conversations on the left; Chat, Audit (auditor role) and Admin
// (admin role) pages on the right; connection state in the status bar; idle
// lock. The window title names the appliance's site, never any content.
#ifndef GUI_MAIN_WINDOW_H_
#define GUI_MAIN_WINDOW_H_

#include <QMainWindow>

#include "common/secret.h"
#include "gui/connection_settings.h"

class QLabel;
class QSettings;
class QStackedWidget;
class QTabWidget;

namespace gui {

class AdminController;
class AdminWorkspace;
class AuditController;
class AuditWorkspace;
class ChatController;
class ChatView;
class ConnectionController;
class ConversationsController;
class ConversationsPanel;
class IdleLock;

class MainWindow : public QMainWindow {
  Q_OBJECT
 public:
  explicit MainWindow(QSettings& settings, QWidget* parent = nullptr);
  ~MainWindow() override;

  void connectWith(const ConnectionSettings& settings, common::SecretBytes token = {});
  // First run or "Connection settings…": returns false when cancelled.
  bool openConnectionSettings();
  void setTheme(const QString& name);

  ConnectionController* connection() const { return m_connection; }
  ChatController* chat() const { return m_chat; }
  ConversationsController* conversations() const { return m_conversations; }
  AuditController* audit() const { return m_audit; }
  AdminController* admin() const { return m_admin; }
  ChatView* chatView() const { return m_chatView; }
  ConversationsPanel* conversationsPanel() const { return m_panel; }
  AuditWorkspace* auditWorkspace() const { return m_auditView; }
  AdminWorkspace* adminWorkspace() const { return m_adminView; }
  QTabWidget* pages() const { return m_pages; }
  IdleLock* idleLock() const { return m_lock; }

 private:
  void buildMenus();
  void updateRoles();
  void updateTitle();
  void setLocked(bool locked);

  QSettings& m_settings;
  ConnectionSettings m_current;
  ConnectionController* m_connection;
  ChatController* m_chat;
  ConversationsController* m_conversations;
  AuditController* m_audit;
  AdminController* m_admin;
  QStackedWidget* m_stack;
  QTabWidget* m_pages;
  ChatView* m_chatView;
  ConversationsPanel* m_panel;
  AuditWorkspace* m_auditView;
  AdminWorkspace* m_adminView;
  QLabel* m_status;
  IdleLock* m_lock;
};

}  // namespace gui

#endif  // GUI_MAIN_WINDOW_H_
