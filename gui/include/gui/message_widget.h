// One chat message: Markdown prose, code blocks with a Copy button, and
// collapsible reasoning (<think>) sections. Content is only ever held in
// widgets and the clipboard (on the user's request), never on disk.
#ifndef GUI_MESSAGE_WIDGET_H_
#define GUI_MESSAGE_WIDGET_H_

#include <QFrame>

#include "gui/chat_message_model.h"

class QLabel;
class QToolButton;
class QVBoxLayout;

namespace gui {

class MessageWidget : public QFrame {
  Q_OBJECT
 public:
  MessageWidget(ChatMessageModel::Sender sender, int row, QWidget* parent = nullptr);

  void setContent(const QString& text, bool streaming, bool stopped);
  void setActionsVisible(bool regenerate);
  int row() const { return m_row; }

 signals:
  void editRequested(int row);
  void regenerateRequested();

 private:
  void rebuild();

  const ChatMessageModel::Sender m_sender;
  const int m_row;
  QString m_text;
  bool m_streaming = false;
  bool m_stopped = false;
  QLabel* m_senderLabel;
  QLabel* m_stateLabel;
  QWidget* m_body;
  QVBoxLayout* m_bodyLayout;
  QToolButton* m_edit = nullptr;
  QToolButton* m_regenerate = nullptr;
  QToolButton* m_copy = nullptr;
  QVector<bool> m_thinkOpen;  // user's choice per reasoning section survives re-renders
};

}  // namespace gui

#endif  // GUI_MESSAGE_WIDGET_H_
