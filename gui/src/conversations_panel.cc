#include "gui/conversations_panel.h"

#include <QAction>
#include <QLabel>
#include <QLineEdit>
#include <QListView>
#include <QMessageBox>
#include <QPushButton>
#include <QVBoxLayout>

#include "gui/conversation_delegate.h"
#include "gui/conversations_controller.h"

namespace gui {

ConversationsPanel::ConversationsPanel(ConversationsController* controller, QWidget* parent)
    : QWidget(parent), m_controller(controller) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(8, 12, 8, 8);
  auto* newChat = new QPushButton(QStringLiteral("&New chat"), this);
  newChat->setAccessibleName(QStringLiteral("Start a new chat"));
  layout->addWidget(newChat);
  m_search = new QLineEdit(this);
  m_search->setPlaceholderText(QStringLiteral("Search titles"));
  m_search->setClearButtonEnabled(true);
  m_search->setAccessibleName(QStringLiteral("Search conversations by title"));
  layout->addWidget(m_search);
  m_list = new QListView(this);
  m_list->setModel(m_controller->model());
  m_list->setAccessibleName(QStringLiteral("Conversations"));
  m_list->setUniformItemSizes(true);
  m_list->setItemDelegate(new ConversationDelegate(m_list));
  m_list->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Expanding);
  layout->addWidget(m_list, 1);
  m_delete = new QPushButton(QStringLiteral("&Delete…"), this);
  m_delete->setAccessibleName(QStringLiteral("Delete the selected conversation"));
  m_delete->setEnabled(false);
  layout->addWidget(m_delete);

  m_searchDelay.setSingleShot(true);
  m_searchDelay.setInterval(250);
  connect(m_search, &QLineEdit::textChanged, this, [this] { m_searchDelay.start(); });
  connect(&m_searchDelay, &QTimer::timeout, this, [this] { m_controller->refresh(m_search->text()); });
  connect(newChat, &QPushButton::clicked, this, &ConversationsPanel::newChatRequested);
  connect(m_list, &QListView::activated, this, [this](const QModelIndex& i) {
    emit openRequested(i.data(ConversationListModel::IdRole).toString());
  });
  connect(m_list, &QListView::clicked, this, [this](const QModelIndex& i) {
    emit openRequested(i.data(ConversationListModel::IdRole).toString());
  });
  auto updateDelete = [this] { m_delete->setEnabled(m_list->currentIndex().isValid()); };
  connect(m_list->selectionModel(), &QItemSelectionModel::currentChanged, this, updateDelete);
  connect(m_controller->model(), &QAbstractItemModel::modelReset, this, updateDelete);
  connect(m_delete, &QPushButton::clicked, this, [this] { confirmAndDelete(m_list->currentIndex()); });
  auto* del = new QAction(QStringLiteral("Delete conversation"), m_list);
  del->setShortcut(QKeySequence::Delete);
  del->setShortcutContext(Qt::WidgetShortcut);
  connect(del, &QAction::triggered, this, [this] { confirmAndDelete(m_list->currentIndex()); });
  m_list->addAction(del);
}

bool ConversationsPanel::confirmAndDelete(const QModelIndex& index) {
  if (!index.isValid()) return false;
  const QString text =
      ConversationsController::confirmationText(index.data(ConversationListModel::TitleRole).toString());
  bool yes;
  if (m_confirm) {
    yes = m_confirm(text);
  } else {
    QMessageBox box(QMessageBox::Warning, QStringLiteral("Delete conversation"), text,
                    QMessageBox::Cancel, this);
    QAbstractButton* erase = box.addButton(QStringLiteral("Erase permanently"), QMessageBox::DestructiveRole);
    box.setDefaultButton(QMessageBox::Cancel);
    box.exec();
    yes = box.clickedButton() == erase;
  }
  if (yes) m_controller->remove(index.data(ConversationListModel::IdRole).toString());
  return yes;
}

}  // namespace gui
