// Paints a conversation as two lines: the title, and its classification,
// retention and last update in a quieter colour.
#ifndef GUI_CONVERSATION_DELEGATE_H_
#define GUI_CONVERSATION_DELEGATE_H_

#include <QStyledItemDelegate>

namespace gui {

class ConversationDelegate : public QStyledItemDelegate {
  Q_OBJECT
 public:
  using QStyledItemDelegate::QStyledItemDelegate;
  void paint(QPainter* painter, const QStyleOptionViewItem& option, const QModelIndex& index) const override;
  QSize sizeHint(const QStyleOptionViewItem& option, const QModelIndex& index) const override;
};

}  // namespace gui

#endif  // GUI_CONVERSATION_DELEGATE_H_
