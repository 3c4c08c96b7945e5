// The chat page: policy banner, classification and model pickers, the
// messages, redaction notice, denial panel, and the composer.
#ifndef GUI_CHAT_VIEW_H_
#define GUI_CHAT_VIEW_H_

#include <QTimer>
#include <QWidget>

class QCheckBox;
class QComboBox;
class QFrame;
class QLabel;
class QPlainTextEdit;
class QPushButton;
class QScrollArea;
class QVBoxLayout;

namespace gui {

class ChatController;
class MessageWidget;

class ChatView : public QWidget {
  Q_OBJECT
 public:
  explicit ChatView(ChatController* chat, QWidget* parent = nullptr);

  QPlainTextEdit* composer() const { return m_input; }
  // Sends what is in the composer (Ctrl+Enter).
  void submit();

 protected:
  bool eventFilter(QObject* watched, QEvent* event) override;

 private:
  void syncMessages();
  void updateBanner();
  void updateModels();
  void updateProblem();
  void updateBusy(bool busy);
  void scrollToEnd();

  ChatController* m_chat;
  QFrame* m_banner;
  QLabel* m_bannerText;
  QComboBox* m_classification;
  QComboBox* m_model;
  QLabel* m_provenance;
  QCheckBox* m_incognito;
  QScrollArea* m_scroll;
  QWidget* m_list;
  QVBoxLayout* m_listLayout;
  QVector<MessageWidget*> m_widgets;
  QLabel* m_empty;
  QFrame* m_notice;
  QLabel* m_noticeText;
  QFrame* m_problem;
  QLabel* m_problemText;
  QPlainTextEdit* m_input;
  QPushButton* m_send;
  QPushButton* m_stop;
  QLabel* m_usage;
  QTimer m_renderTimer;  // coalesces streaming updates (at most ~30 renders/s)
  int m_editingRow = -1;
};

}  // namespace gui

#endif  // GUI_CHAT_VIEW_H_
