#include "gui/line_number_editor.h"

#include <QPainter>
#include <QTextBlock>

namespace gui {
namespace {

class Gutter : public QWidget {
 public:
  explicit Gutter(LineNumberEditor* editor) : QWidget(editor), m_editor(editor) {}
  QSize sizeHint() const override { return {m_editor->gutterWidth(), 0}; }

 protected:
  void paintEvent(QPaintEvent* event) override { m_editor->paintGutter(event); }

 private:
  LineNumberEditor* m_editor;
};

}  // namespace

LineNumberEditor::LineNumberEditor(QWidget* parent) : QPlainTextEdit(parent), m_gutter(new Gutter(this)) {
  connect(this, &QPlainTextEdit::blockCountChanged, this, [this] { setViewportMargins(gutterWidth(), 0, 0, 0); });
  connect(this, &QPlainTextEdit::updateRequest, this, &LineNumberEditor::updateGutter);
  connect(this, &QPlainTextEdit::textChanged, this, [this] {
    if (!m_marked.isEmpty()) setMarkedLines({});
  });
  setViewportMargins(gutterWidth(), 0, 0, 0);
}

int LineNumberEditor::gutterWidth() const {
  int digits = 1;
  for (int n = qMax(1, blockCount()); n >= 10; n /= 10) ++digits;
  return 12 + fontMetrics().horizontalAdvance(QLatin1Char('9')) * qMax(3, digits);
}

void LineNumberEditor::resizeEvent(QResizeEvent* event) {
  QPlainTextEdit::resizeEvent(event);
  const QRect cr = contentsRect();
  m_gutter->setGeometry(QRect(cr.left(), cr.top(), gutterWidth(), cr.height()));
}

void LineNumberEditor::updateGutter(const QRect& rect, int dy) {
  if (dy) {
    m_gutter->scroll(0, dy);
  } else {
    m_gutter->update(0, rect.y(), m_gutter->width(), rect.height());
  }
}

void LineNumberEditor::setMarkedLines(const QSet<int>& lines) {
  m_marked = lines;
  updateMarks();
  m_gutter->update();
}

void LineNumberEditor::updateMarks() {
  QList<QTextEdit::ExtraSelection> selections;
  for (int line : m_marked) {
    QTextBlock block = document()->findBlockByNumber(line - 1);
    if (!block.isValid()) continue;
    QTextEdit::ExtraSelection sel;
    sel.format.setBackground(QColor(0xc6, 0x28, 0x28, 60));
    sel.format.setProperty(QTextFormat::FullWidthSelection, true);
    sel.cursor = QTextCursor(block);
    selections << sel;
  }
  setExtraSelections(selections);
}

void LineNumberEditor::paintGutter(QPaintEvent* event) {
  QPainter painter(m_gutter);
  const QPalette pal = palette();
  painter.fillRect(event->rect(), pal.color(QPalette::AlternateBase));
  QTextBlock block = firstVisibleBlock();
  int number = block.blockNumber() + 1;
  int top = qRound(blockBoundingGeometry(block).translated(contentOffset()).top());
  int bottom = top + qRound(blockBoundingRect(block).height());
  while (block.isValid() && top <= event->rect().bottom()) {
    if (block.isVisible() && bottom >= event->rect().top()) {
      const bool marked = m_marked.contains(number);
      painter.setPen(marked ? QColor(0xc6, 0x28, 0x28) : pal.color(QPalette::PlaceholderText));
      QFont f = font();
      f.setBold(marked);
      painter.setFont(f);
      painter.drawText(0, top, m_gutter->width() - 6, fontMetrics().height(), Qt::AlignRight,
                       QString::number(number));
    }
    block = block.next();
    top = bottom;
    bottom = top + qRound(blockBoundingRect(block).height());
    ++number;
  }
}

}  // namespace gui
