// A plain-text editor with a line-number gutter and marked lines, for the
// policy YAML: errors name lines, so the editor shows them.
#ifndef GUI_LINE_NUMBER_EDITOR_H_
#define GUI_LINE_NUMBER_EDITOR_H_

#include <QPlainTextEdit>
#include <QSet>

namespace gui {

class LineNumberEditor : public QPlainTextEdit {
  Q_OBJECT
 public:
  explicit LineNumberEditor(QWidget* parent = nullptr);

  // 1-based line numbers to mark as wrong; empty clears.
  void setMarkedLines(const QSet<int>& lines);
  int gutterWidth() const;
  void paintGutter(QPaintEvent* event);

 protected:
  void resizeEvent(QResizeEvent* event) override;

 private:
  void updateGutter(const QRect& rect, int dy);
  void updateMarks();

  QWidget* m_gutter;
  QSet<int> m_marked;
};

}  // namespace gui

#endif  // GUI_LINE_NUMBER_EDITOR_H_
