// The sidebar: new chat, search by title, the list, delete with confirmation.
#ifndef GUI_CONVERSATIONS_PANEL_H_
#define GUI_CONVERSATIONS_PANEL_H_

#include <QTimer>
#include <QWidget>

#include <functional>

class QLineEdit;
class QListView;
class QPushButton;

namespace gui {

class ConversationsController;

class ConversationsPanel : public QWidget {
  Q_OBJECT
 public:
  explicit ConversationsPanel(ConversationsController* controller, QWidget* parent = nullptr);

  QListView* list() const { return m_list; }
  QLineEdit* search() const { return m_search; }
  // Asks "erased, cannot be recovered" first; true when the user confirmed.
  bool confirmAndDelete(const QModelIndex& index);
  // For tests and screenshots: answer the confirmation without a dialog.
  void setConfirmation(std::function<bool(const QString& text)> confirm) { m_confirm = std::move(confirm); }

 signals:
  void openRequested(const QString& id);
  void newChatRequested();

 private:
  ConversationsController* m_controller;
  QLineEdit* m_search;
  QListView* m_list;
  QPushButton* m_delete;
  QTimer m_searchDelay;
  std::function<bool(const QString&)> m_confirm;
};

}  // namespace gui

#endif  // GUI_CONVERSATIONS_PANEL_H_
