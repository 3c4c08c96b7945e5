// The conversation list: refresh with a title filter, delete (crypto-shred).
#ifndef GUI_CONVERSATIONS_CONTROLLER_H_
#define GUI_CONVERSATIONS_CONTROLLER_H_

#include <QObject>

#include "gui/conversation_list_model.h"
#include "gui/rpc_error.h"

namespace gui {

class ConnectionController;

class ConversationsController : public QObject {
  Q_OBJECT
 public:
  explicit ConversationsController(ConnectionController* connection, QObject* parent = nullptr);

  ConversationListModel* model() { return &m_model; }
  QString filter() const { return m_filter; }

  void refresh(const QString& titleContains = QString());
  // Deletion cannot be undone; the view asks first (see confirmationText()).
  void remove(const QString& id);
  static QString confirmationText(const QString& title);

 signals:
  void refreshed();
  void erased(const QString& id, quint64 auditSequence);
  void failed(const gui::RpcError& error);

 private:
  ConnectionController* m_connection;
  ConversationListModel m_model;
  QString m_filter;
  int m_generation = 0;
};

}  // namespace gui

#endif  // GUI_CONVERSATIONS_CONTROLLER_H_
