// Splits an assistant message into what the chat view renders differently:
// Markdown prose, fenced code blocks (each with a copy button) and reasoning
// sections between <think> and </think> (collapsible). Works on partial text
// while a message is still streaming: an unclosed fence or <think> yields an
// open segment.
#ifndef GUI_MESSAGE_SEGMENTS_H_
#define GUI_MESSAGE_SEGMENTS_H_

#include <QString>
#include <QVector>

namespace gui {

struct Segment {
  enum class Kind { Markdown, Code, Think };
  Kind kind = Kind::Markdown;
  QString text;       // Markdown source, code, or the reasoning (itself Markdown)
  QString language;   // Code only: the fence's info string, e.g. "cpp"
  bool closed = true; // false while the closing fence or </think> has not arrived

  bool operator==(const Segment&) const = default;
};

QVector<Segment> splitMessage(const QString& text);

// Markdown rendered to HTML through QTextDocument::setMarkdown (no raw HTML
// from the model is interpreted: it is shown as text).
QString markdownToHtml(const QString& markdown);

}  // namespace gui

#endif  // GUI_MESSAGE_SEGMENTS_H_
