#include "gui/main_window.h"

#include <QAction>
#include <QActionGroup>
#include <QApplication>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QMenuBar>
#include <QPushButton>
#include <QSettings>
#include <QSplitter>
#include <QStackedWidget>
#include <QStatusBar>
#include <QTabWidget>
#include <QVBoxLayout>

#include "gui/admin_controller.h"
#include "gui/admin_workspace.h"
#include "gui/audit_controller.h"
#include "gui/audit_workspace.h"
#include "gui/chat_controller.h"
#include "gui/chat_view.h"
#include "gui/connection_controller.h"
#include "gui/connection_dialog.h"
#include "gui/conversations_controller.h"
#include "gui/conversations_panel.h"
#include "gui/idle_lock.h"
#include "gui/theme.h"

namespace gui {

MainWindow::MainWindow(QSettings& settings, QWidget* parent)
    : QMainWindow(parent), m_settings(settings) {
  m_connection = new ConnectionController(this);
  m_chat = new ChatController(m_connection, this);
  m_conversations = new ConversationsController(m_connection, this);
  m_audit = new AuditController(m_connection, this);
  m_admin = new AdminController(m_connection, this);
  m_lock = new IdleLock(this);

  m_stack = new QStackedWidget(this);
  auto* split = new QSplitter(Qt::Horizontal, m_stack);
  m_panel = new ConversationsPanel(m_conversations, split);
  m_pages = new QTabWidget(split);
  m_pages->setDocumentMode(true);
  m_chatView = new ChatView(m_chat, m_pages);
  m_auditView = new AuditWorkspace(m_audit, m_pages);
  m_adminView = new AdminWorkspace(m_admin, m_pages);
  m_pages->addTab(m_chatView, QStringLiteral("&Chat"));
  split->addWidget(m_panel);
  split->addWidget(m_pages);
  split->setStretchFactor(1, 1);
  split->setCollapsible(0, false);
  m_panel->setMinimumWidth(220);
  split->setSizes({250, 850});
  m_stack->addWidget(split);

  auto* lockPage = new QWidget(m_stack);
  auto* ll = new QVBoxLayout(lockPage);
  ll->addStretch();
  auto* lockTitle = new QLabel(QStringLiteral("Locked"), lockPage);
  lockTitle->setObjectName(QStringLiteral("lockTitle"));
  lockTitle->setAlignment(Qt::AlignCenter);
  auto* lockText = new QLabel(QStringLiteral("The assistant was locked after a period of inactivity."), lockPage);
  lockText->setAlignment(Qt::AlignCenter);
  auto* unlock = new QPushButton(QStringLiteral("&Unlock"), lockPage);
  unlock->setAccessibleName(QStringLiteral("Unlock the assistant"));
  ll->addWidget(lockTitle);
  ll->addWidget(lockText);
  ll->addWidget(unlock, 0, Qt::AlignCenter);
  ll->addStretch();
  m_stack->addWidget(lockPage);
  setCentralWidget(m_stack);

  m_status = new QLabel(QStringLiteral("Not connected"), this);
  m_status->setAccessibleName(QStringLiteral("Connection status"));
  statusBar()->addWidget(m_status, 1);

  buildMenus();
  connect(m_connection, &ConnectionController::stateChanged, this, [this] {
    m_status->setText(m_connection->statusText());
    updateTitle();
  });
  connect(m_connection, &ConnectionController::policyChanged, this, &MainWindow::updateRoles);
  connect(m_chat, &ChatController::conversationStarted, this, [this] { m_conversations->refresh(m_conversations->filter()); });
  connect(m_panel, &ConversationsPanel::openRequested, m_chat, &ChatController::openConversation);
  connect(m_panel, &ConversationsPanel::newChatRequested, this, [this] {
    m_chat->newConversation();
    m_pages->setCurrentWidget(m_chatView);
    m_chatView->composer()->setFocus();
  });
  connect(m_conversations, &ConversationsController::erased, this, [this](const QString& id, quint64 seq) {
    if (m_chat->conversationId() == id) m_chat->newConversation();
    statusBar()->showMessage(QStringLiteral("Conversation erased (audit record %1).").arg(seq), 8000);
  });
  connect(m_conversations, &ConversationsController::failed, this, [this](const RpcError& e) {
    statusBar()->showMessage(e.headline() + QStringLiteral(" ") + e.remedy(), 8000);
  });
  connect(m_lock, &IdleLock::lockedChanged, this, &MainWindow::setLocked);
  connect(unlock, &QPushButton::clicked, m_lock, &IdleLock::unlock);

  m_current = SettingsStore(m_settings).load();
  m_lock->setTimeout(m_current.idleLockMinutes * 60 * 1000);
  updateTitle();
  resize(1180, 760);
}

MainWindow::~MainWindow() = default;

void MainWindow::buildMenus() {
  QMenu* file = menuBar()->addMenu(QStringLiteral("&File"));
  QAction* settings = file->addAction(QStringLiteral("&Connection settings…"));
  connect(settings, &QAction::triggered, this, &MainWindow::openConnectionSettings);
  QAction* reconnect = file->addAction(QStringLiteral("&Reconnect"));
  reconnect->setShortcut(QKeySequence::Refresh);
  connect(reconnect, &QAction::triggered, this, [this] { connectWith(m_current); });
  QAction* lock = file->addAction(QStringLiteral("&Lock now"));
  lock->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_L));
  connect(lock, &QAction::triggered, m_lock, &IdleLock::lockNow);
  file->addSeparator();
  QAction* quit = file->addAction(QStringLiteral("&Quit"));
  quit->setShortcut(QKeySequence::Quit);
  connect(quit, &QAction::triggered, this, &QWidget::close);

  QMenu* chat = menuBar()->addMenu(QStringLiteral("C&hat"));
  QAction* newChat = chat->addAction(QStringLiteral("&New chat"));
  newChat->setShortcut(QKeySequence::New);
  connect(newChat, &QAction::triggered, m_panel, &ConversationsPanel::newChatRequested);
  QAction* stop = chat->addAction(QStringLiteral("&Stop"));
  stop->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Period));
  connect(stop, &QAction::triggered, m_chat, &ChatController::stop);
  QAction* regenerate = chat->addAction(QStringLiteral("&Regenerate"));
  regenerate->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_R));
  connect(regenerate, &QAction::triggered, m_chat, &ChatController::regenerate);
  QAction* search = chat->addAction(QStringLiteral("&Find conversation"));
  search->setShortcut(QKeySequence::Find);
  connect(search, &QAction::triggered, this, [this] { m_panel->search()->setFocus(); });

  QMenu* view = menuBar()->addMenu(QStringLiteral("&View"));
  auto* group = new QActionGroup(this);
  for (const auto& [name, label] : {std::pair{"", "Follow the &system"}, std::pair{"light", "&Light"},
                                    std::pair{"dark", "&Dark"}}) {
    QAction* a = view->addAction(QString::fromLatin1(label));
    a->setCheckable(true);
    a->setChecked(m_current.theme == QLatin1String(name));
    group->addAction(a);
    const QString themeName = QString::fromLatin1(name);
    connect(a, &QAction::triggered, this, [this, themeName] { setTheme(themeName); });
  }
}

void MainWindow::setTheme(const QString& name) {
  m_current.theme = name;
  SettingsStore(m_settings).save(m_current);
  if (auto* app = qobject_cast<QApplication*>(QCoreApplication::instance())) {
    applyTheme(*app, themeFromName(name));
  }
}

void MainWindow::connectWith(const ConnectionSettings& settings, common::SecretBytes token) {
  m_current = settings;
  m_connection->connectTo(settings, std::move(token));
}

bool MainWindow::openConnectionSettings() {
  ConnectionDialog dialog(m_current, this);
  if (dialog.exec() != QDialog::Accepted) return false;
  ConnectionSettings s = dialog.settings();
  SettingsStore(m_settings).save(s);
  connectWith(s, dialog.token());
  return true;
}

void MainWindow::updateRoles() {
  const bool auditor = m_connection->hasRole(QStringLiteral("auditor"));
  const bool admin = m_connection->hasRole(QStringLiteral("admin"));
  const int auditIndex = m_pages->indexOf(m_auditView);
  if (auditor && auditIndex < 0) m_pages->addTab(m_auditView, QStringLiteral("A&udit"));
  if (!auditor && auditIndex >= 0) m_pages->removeTab(auditIndex);
  const int adminIndex = m_pages->indexOf(m_adminView);
  if (admin && adminIndex < 0) m_pages->addTab(m_adminView, QStringLiteral("Ad&min"));
  if (!admin && adminIndex >= 0) m_pages->removeTab(adminIndex);
  m_auditView->setVisible(auditor && m_pages->currentWidget() == m_auditView);
  m_adminView->setVisible(admin && m_pages->currentWidget() == m_adminView);
  updateTitle();
}

void MainWindow::updateTitle() {
  // Never the conversation's title or any content: only the product and site.
  const std::string& site = m_connection->policy().site();
  setWindowTitle(site.empty() ? QStringLiteral("Assistant")
                              : QStringLiteral("Assistant — %1").arg(QString::fromStdString(site)));
}

void MainWindow::setLocked(bool locked) {
  m_stack->setCurrentIndex(locked ? 1 : 0);
  menuBar()->setEnabled(!locked);
  if (!locked) m_chatView->composer()->setFocus();
}

}  // namespace gui
