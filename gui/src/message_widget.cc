#include "gui/message_widget.h"

#include <QApplication>
#include <QClipboard>
#include <QFontDatabase>
#include <QHBoxLayout>
#include <QLabel>
#include <QPlainTextEdit>
#include <QToolButton>
#include <QVBoxLayout>

#include "gui/message_segments.h"

namespace gui {
namespace {

QLabel* proseLabel(const QString& markdown, QWidget* parent) {
  auto* label = new QLabel(parent);
  label->setTextFormat(Qt::RichText);
  label->setText(markdownToHtml(markdown));
  label->setWordWrap(true);
  label->setTextInteractionFlags(Qt::TextSelectableByMouse | Qt::TextSelectableByKeyboard |
                                 Qt::LinksAccessibleByKeyboard);
  label->setOpenExternalLinks(false);  // the appliance never phones home; nor does the client
  label->setFocusPolicy(Qt::StrongFocus);
  label->setAccessibleName(QStringLiteral("Message text"));
  return label;
}

QWidget* codeBlock(const Segment& seg, QWidget* parent) {
  auto* frame = new QFrame(parent);
  frame->setObjectName(QStringLiteral("codeBlock"));
  auto* layout = new QVBoxLayout(frame);
  layout->setContentsMargins(8, 4, 8, 8);
  auto* header = new QHBoxLayout;
  auto* lang = new QLabel(seg.language.isEmpty() ? QStringLiteral("code") : seg.language, frame);
  lang->setEnabled(false);
  auto* copy = new QToolButton(frame);
  copy->setText(QStringLiteral("Copy"));
  copy->setAccessibleName(QStringLiteral("Copy code"));
  copy->setToolTip(QStringLiteral("Copy this code block to the clipboard"));
  const QString code = seg.text;
  QObject::connect(copy, &QToolButton::clicked, copy, [code, copy] {
    QGuiApplication::clipboard()->setText(code);
    copy->setText(QStringLiteral("Copied"));
  });
  header->addWidget(lang);
  header->addStretch();
  header->addWidget(copy);
  layout->addLayout(header);
  auto* text = new QPlainTextEdit(frame);
  text->setObjectName(QStringLiteral("codeText"));
  text->setReadOnly(true);
  text->setPlainText(seg.text);
  text->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
  text->setLineWrapMode(QPlainTextEdit::NoWrap);
  text->setAccessibleName(QStringLiteral("Code block"));
  const int lines = static_cast<int>(seg.text.count('\n')) + 1;
  text->setFixedHeight(text->fontMetrics().lineSpacing() * qMin(lines, 20) + 16);
  text->setTabChangesFocus(true);
  layout->addWidget(text);
  return frame;
}

}  // namespace

MessageWidget::MessageWidget(ChatMessageModel::Sender sender, int row, QWidget* parent)
    : QFrame(parent), m_sender(sender), m_row(row) {
  setObjectName(sender == ChatMessageModel::Sender::User        ? QStringLiteral("userBubble")
                : sender == ChatMessageModel::Sender::Assistant ? QStringLiteral("assistantBubble")
                                                                : QStringLiteral("systemBubble"));
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(12, 8, 12, 8);
  auto* header = new QHBoxLayout;
  m_senderLabel = new QLabel(sender == ChatMessageModel::Sender::User        ? QStringLiteral("You")
                             : sender == ChatMessageModel::Sender::Assistant ? QStringLiteral("Assistant")
                                                                             : QStringLiteral("Note"),
                             this);
  m_senderLabel->setObjectName(QStringLiteral("senderLabel"));
  m_stateLabel = new QLabel(this);
  m_stateLabel->setEnabled(false);
  header->addWidget(m_senderLabel);
  header->addWidget(m_stateLabel);
  header->addStretch();
  if (sender == ChatMessageModel::Sender::User) {
    m_edit = new QToolButton(this);
    m_edit->setText(QStringLiteral("Edit"));
    m_edit->setAccessibleName(QStringLiteral("Edit and resend this message"));
    connect(m_edit, &QToolButton::clicked, this, [this] { emit editRequested(m_row); });
    header->addWidget(m_edit);
  } else if (sender == ChatMessageModel::Sender::Assistant) {
    m_copy = new QToolButton(this);
    m_copy->setText(QStringLiteral("Copy"));
    m_copy->setAccessibleName(QStringLiteral("Copy the answer"));
    connect(m_copy, &QToolButton::clicked, this, [this] {
      QGuiApplication::clipboard()->setText(m_text);
    });
    m_regenerate = new QToolButton(this);
    m_regenerate->setText(QStringLiteral("Regenerate"));
    m_regenerate->setAccessibleName(QStringLiteral("Regenerate the answer"));
    m_regenerate->setVisible(false);
    connect(m_regenerate, &QToolButton::clicked, this, &MessageWidget::regenerateRequested);
    header->addWidget(m_copy);
    header->addWidget(m_regenerate);
  }
  layout->addLayout(header);
  m_body = new QWidget(this);
  m_bodyLayout = new QVBoxLayout(m_body);
  m_bodyLayout->setContentsMargins(0, 0, 0, 0);
  layout->addWidget(m_body);
  setAccessibleName(m_senderLabel->text() + QStringLiteral(" message"));
}

void MessageWidget::setActionsVisible(bool regenerate) {
  if (m_regenerate) m_regenerate->setVisible(regenerate);
}

void MessageWidget::setContent(const QString& text, bool streaming, bool stopped) {
  if (text == m_text && streaming == m_streaming && stopped == m_stopped) return;
  m_text = text;
  m_streaming = streaming;
  m_stopped = stopped;
  m_stateLabel->setText(streaming ? QStringLiteral("writing…")
                        : stopped ? QStringLiteral("stopped")
                                  : QString());
  if (m_edit) m_edit->setEnabled(!streaming);
  rebuild();
}

void MessageWidget::rebuild() {
  while (QLayoutItem* item = m_bodyLayout->takeAt(0)) {
    delete item->widget();
    delete item;
  }
  if (m_sender != ChatMessageModel::Sender::Assistant) {
    m_bodyLayout->addWidget(proseLabel(m_text, m_body));
    return;
  }
  int think = 0;
  for (const Segment& seg : splitMessage(m_text)) {
    switch (seg.kind) {
      case Segment::Kind::Markdown:
        m_bodyLayout->addWidget(proseLabel(seg.text, m_body));
        break;
      case Segment::Kind::Code:
        m_bodyLayout->addWidget(codeBlock(seg, m_body));
        break;
      case Segment::Kind::Think: {
        if (m_thinkOpen.size() <= think) m_thinkOpen.push_back(false);
        auto* toggle = new QToolButton(m_body);
        toggle->setCheckable(true);
        toggle->setChecked(m_thinkOpen[think]);
        toggle->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
        toggle->setArrowType(m_thinkOpen[think] ? Qt::DownArrow : Qt::RightArrow);
        toggle->setText(seg.closed ? QStringLiteral("Reasoning") : QStringLiteral("Reasoning…"));
        toggle->setAutoRaise(true);
        toggle->setAccessibleName(QStringLiteral("Show or hide the model's reasoning"));
        auto* body = proseLabel(seg.text, m_body);
        body->setEnabled(false);  // dimmed: it is not the answer
        body->setVisible(m_thinkOpen[think]);
        const int index = think;
        connect(toggle, &QToolButton::toggled, this, [this, toggle, body, index](bool open) {
          m_thinkOpen[index] = open;
          body->setVisible(open);
          toggle->setArrowType(open ? Qt::DownArrow : Qt::RightArrow);
        });
        m_bodyLayout->addWidget(toggle);
        m_bodyLayout->addWidget(body);
        ++think;
        break;
      }
    }
  }
  if (m_text.isEmpty() && m_streaming) {
    auto* waiting = new QLabel(QStringLiteral("…"), m_body);
    m_bodyLayout->addWidget(waiting);
  }
}

}  // namespace gui
