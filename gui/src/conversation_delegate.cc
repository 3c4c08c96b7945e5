#include "gui/conversation_delegate.h"

#include <QApplication>
#include <QPainter>

#include "gui/conversation_list_model.h"

namespace gui {

QSize ConversationDelegate::sizeHint(const QStyleOptionViewItem& option, const QModelIndex&) const {
  return {option.rect.width(), option.fontMetrics.height() * 2 + 14};
}

void ConversationDelegate::paint(QPainter* painter, const QStyleOptionViewItem& option,
                                 const QModelIndex& index) const {
  QStyleOptionViewItem opt(option);
  initStyleOption(&opt, index);
  const QString title = opt.text;
  opt.text.clear();
  QStyle* style = opt.widget ? opt.widget->style() : QApplication::style();
  style->drawControl(QStyle::CE_ItemViewItem, &opt, painter, opt.widget);

  const bool selected = opt.state & QStyle::State_Selected;
  const QPalette::ColorRole textRole = selected ? QPalette::HighlightedText : QPalette::Text;
  const QRect r = opt.rect.adjusted(8, 5, -8, -5);
  const int lineHeight = opt.fontMetrics.height();
  painter->save();
  QFont bold = opt.font;
  bold.setWeight(QFont::DemiBold);
  painter->setFont(bold);
  painter->setPen(opt.palette.color(textRole));
  painter->drawText(QRect(r.left(), r.top(), r.width(), lineHeight), Qt::AlignLeft | Qt::AlignVCenter,
                    QFontMetrics(bold).elidedText(title, Qt::ElideRight, r.width()));
  const QString meta = QStringLiteral("%1 · %2 · %3")
                           .arg(index.data(ConversationListModel::ClassificationRole).toString(),
                                index.data(ConversationListModel::RetentionRole).toString(),
                                index.data(ConversationListModel::UpdatedRole).toString());
  QFont small = opt.font;
  small.setPointSizeF(opt.font.pointSizeF() * 0.88);
  painter->setFont(small);
  QColor dim = opt.palette.color(textRole);
  dim.setAlphaF(0.65f);
  painter->setPen(dim);
  painter->drawText(QRect(r.left(), r.top() + lineHeight + 2, r.width(), lineHeight),
                    Qt::AlignLeft | Qt::AlignVCenter,
                    QFontMetrics(small).elidedText(meta, Qt::ElideRight, r.width()));
  painter->restore();
}

}  // namespace gui
