// The messages of the open conversation, in memory only: the model is the one
// place conversation text lives on the desktop, and it is never serialised.
#ifndef GUI_CHAT_MESSAGE_MODEL_H_
#define GUI_CHAT_MESSAGE_MODEL_H_

#include <QAbstractListModel>
#include <QString>
#include <QVector>

namespace gui {

class ChatMessageModel : public QAbstractListModel {
  Q_OBJECT
 public:
  enum class Sender { User, Assistant, System };
  enum Role {
    SenderRole = Qt::UserRole + 1,  // Sender as int
    TextRole,                       // raw Markdown text
    StreamingRole,                  // bool: the answer is still arriving
    StoppedRole,                    // bool: the user stopped it
  };
  struct Message {
    Sender sender = Sender::User;
    QString text;
    bool streaming = false;
    bool stopped = false;
  };

  using QAbstractListModel::QAbstractListModel;

  int rowCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role) const override;
  QHash<int, QByteArray> roleNames() const override;

  const QVector<Message>& messages() const { return m_messages; }
  const Message& at(int row) const { return m_messages.at(row); }
  int append(Sender sender, const QString& text, bool streaming = false);
  void appendText(int row, const QString& text);
  void finish(int row, bool stopped);
  void truncate(int rows);  // keeps the first `rows` messages
  void clear();
  // Every message's text is overwritten before it is released.
  ~ChatMessageModel() override;

 private:
  QVector<Message> m_messages;
};

}  // namespace gui

#endif  // GUI_CHAT_MESSAGE_MODEL_H_
