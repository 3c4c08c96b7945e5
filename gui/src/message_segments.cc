#include "gui/message_segments.h"

#include <QTextDocument>

namespace gui {
namespace {

void appendMarkdown(QVector<Segment>& out, const QString& text) {
  if (text.trimmed().isEmpty()) return;
  out.push_back({Segment::Kind::Markdown, text, {}, true});
}

// Splits prose (outside <think>) into Markdown and fenced code blocks. A fence
// is a line starting with ``` (up to three spaces of indentation).
void splitCode(QVector<Segment>& out, const QString& text) {
  const QStringList lines = text.split('\n');
  QString prose;
  QString code;
  QString language;
  bool inCode = false;
  for (int i = 0; i < lines.size(); ++i) {
    const QString& line = lines[i];
    const QString trimmed = line.trimmed();
    const bool isFence = trimmed.startsWith(QLatin1String("```")) &&
                         (line.size() - line.trimmed().size() <= 3 || inCode);
    if (!inCode && isFence) {
      appendMarkdown(out, prose);
      prose.clear();
      inCode = true;
      language = trimmed.mid(3).trimmed();
      code.clear();
      continue;
    }
    if (inCode && isFence && trimmed == QLatin1String("```")) {
      out.push_back({Segment::Kind::Code, code, language, true});
      inCode = false;
      continue;
    }
    QString& target = inCode ? code : prose;
    if (!target.isEmpty()) target += '\n';
    target += line;
  }
  if (inCode) {
    out.push_back({Segment::Kind::Code, code, language, false});
  } else {
    appendMarkdown(out, prose);
  }
}

}  // namespace

QVector<Segment> splitMessage(const QString& text) {
  static const QString kOpen = QStringLiteral("<think>");
  static const QString kClose = QStringLiteral("</think>");
  QVector<Segment> out;
  qsizetype pos = 0;
  while (pos < text.size()) {
    const qsizetype open = text.indexOf(kOpen, pos);
    if (open < 0) {
      splitCode(out, text.mid(pos));
      break;
    }
    splitCode(out, text.mid(pos, open - pos));
    const qsizetype bodyStart = open + kOpen.size();
    const qsizetype close = text.indexOf(kClose, bodyStart);
    if (close < 0) {
      out.push_back({Segment::Kind::Think, text.mid(bodyStart).trimmed(), {}, false});
      break;
    }
    out.push_back({Segment::Kind::Think, text.mid(bodyStart, close - bodyStart).trimmed(), {},
                   true});
    pos = close + kClose.size();
  }
  return out;
}

QString markdownToHtml(const QString& markdown) {
  QTextDocument doc;
  // Plain CommonMark + GitHub tables/strikethrough; HTML in the model's output
  // is not interpreted.
  doc.setMarkdown(markdown, QTextDocument::MarkdownFeatures(
                                QTextDocument::MarkdownNoHTML |
                                QTextDocument::MarkdownDialectGitHub));
  return doc.toHtml();
}

}  // namespace gui
