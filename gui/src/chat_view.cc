#include "gui/chat_view.h"

#include <QCheckBox>
#include <QComboBox>
#include <QEvent>
#include <QHBoxLayout>
#include <QKeyEvent>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QScrollArea>
#include <QScrollBar>
#include <QVBoxLayout>

#include "gui/chat_controller.h"
#include "gui/message_widget.h"
#include "gui/model_list_model.h"

namespace gui {

ChatView::ChatView(ChatController* chat, QWidget* parent) : QWidget(parent), m_chat(chat) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(12, 12, 12, 12);
  layout->setSpacing(8);

  // Pickers.
  auto* pickers = new QHBoxLayout;
  auto* classLabel = new QLabel(QStringLiteral("&Classification:"), this);
  m_classification = new QComboBox(this);
  m_classification->setAccessibleName(QStringLiteral("Data classification"));
  m_classification->setToolTip(QStringLiteral("How sensitive is what you are about to write?"));
  m_classification->setSizeAdjustPolicy(QComboBox::AdjustToContents);
  classLabel->setBuddy(m_classification);
  auto* modelLabel = new QLabel(QStringLiteral("&Model:"), this);
  m_model = new QComboBox(this);
  m_model->setModel(m_chat->models());
  m_model->setMinimumContentsLength(18);
  m_model->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
  m_model->setAccessibleName(QStringLiteral("Model"));
  modelLabel->setBuddy(m_model);
  m_incognito = new QCheckBox(QStringLiteral("&Incognito"), this);
  m_incognito->setToolTip(QStringLiteral("Nothing of this conversation is stored on the appliance"));
  m_incognito->setAccessibleName(QStringLiteral("Incognito conversation"));
  pickers->addWidget(classLabel);
  pickers->addWidget(m_classification);
  pickers->addSpacing(12);
  pickers->addWidget(modelLabel);
  pickers->addWidget(m_model);
  pickers->addStretch(1);
  pickers->addSpacing(12);
  pickers->addWidget(m_incognito);
  layout->addLayout(pickers);
  m_provenance = new QLabel(this);
  m_provenance->setEnabled(false);
  m_provenance->setAccessibleName(QStringLiteral("Model provenance"));
  m_provenance->setTextInteractionFlags(Qt::TextSelectableByMouse);
  m_provenance->setWordWrap(true);
  m_provenance->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
  layout->addWidget(m_provenance);

  // Banner: what applies to this conversation.
  m_banner = new QFrame(this);
  m_banner->setObjectName(QStringLiteral("policyBanner"));
  auto* bannerLayout = new QHBoxLayout(m_banner);
  bannerLayout->setContentsMargins(10, 6, 10, 6);
  m_bannerText = new QLabel(m_banner);
  m_bannerText->setObjectName(QStringLiteral("policyBannerText"));
  m_bannerText->setWordWrap(true);
  m_bannerText->setAccessibleName(QStringLiteral("What the policy applies to this conversation"));
  bannerLayout->addWidget(m_bannerText);
  layout->addWidget(m_banner);

  // Messages.
  m_scroll = new QScrollArea(this);
  m_scroll->setWidgetResizable(true);
  m_scroll->setFrameShape(QFrame::NoFrame);
  m_list = new QWidget(m_scroll);
  m_listLayout = new QVBoxLayout(m_list);
  m_listLayout->setSpacing(10);
  m_empty = new QLabel(QStringLiteral("Ask anything. Your words stay on this organisation's appliance."),
                       m_list);
  m_empty->setAlignment(Qt::AlignCenter);
  m_empty->setEnabled(false);
  m_listLayout->addWidget(m_empty);
  m_listLayout->addStretch();
  m_scroll->setWidget(m_list);
  m_scroll->setAccessibleName(QStringLiteral("Conversation"));
  layout->addWidget(m_scroll, 1);

  // Redaction notice and denial panel.
  m_notice = new QFrame(this);
  m_notice->setObjectName(QStringLiteral("noticeBar"));
  auto* noticeLayout = new QHBoxLayout(m_notice);
  noticeLayout->setContentsMargins(10, 6, 10, 6);
  m_noticeText = new QLabel(m_notice);
  m_noticeText->setWordWrap(true);
  m_noticeText->setAccessibleName(QStringLiteral("Redaction notice"));
  noticeLayout->addWidget(m_noticeText);
  m_notice->hide();
  layout->addWidget(m_notice);

  m_problem = new QFrame(this);
  m_problem->setObjectName(QStringLiteral("problemPanel"));
  auto* problemLayout = new QHBoxLayout(m_problem);
  problemLayout->setContentsMargins(10, 8, 10, 8);
  m_problemText = new QLabel(m_problem);
  m_problemText->setWordWrap(true);
  m_problemText->setTextFormat(Qt::RichText);
  m_problemText->setTextInteractionFlags(Qt::TextSelectableByMouse | Qt::TextSelectableByKeyboard);
  m_problemText->setAccessibleName(QStringLiteral("Why the request was refused"));
  problemLayout->addWidget(m_problemText);
  m_problem->hide();
  layout->addWidget(m_problem);

  // Composer.
  auto* composer = new QHBoxLayout;
  m_input = new QPlainTextEdit(this);
  m_input->setPlaceholderText(QStringLiteral("Message (Ctrl+Enter to send)"));
  m_input->setAccessibleName(QStringLiteral("Message"));
  m_input->setTabChangesFocus(true);
  m_input->setFixedHeight(m_input->fontMetrics().lineSpacing() * 4 + 16);
  m_input->installEventFilter(this);
  m_send = new QPushButton(QStringLiteral("&Send"), this);
  m_send->setDefault(true);
  m_send->setAccessibleName(QStringLiteral("Send message"));
  m_stop = new QPushButton(QStringLiteral("S&top"), this);
  m_stop->setAccessibleName(QStringLiteral("Stop generating"));
  m_stop->hide();
  auto* buttons = new QVBoxLayout;
  buttons->addWidget(m_send);
  buttons->addWidget(m_stop);
  buttons->addStretch();
  composer->addWidget(m_input, 1);
  composer->addLayout(buttons);
  layout->addLayout(composer);
  m_usage = new QLabel(this);
  m_usage->setEnabled(false);
  layout->addWidget(m_usage);

  m_renderTimer.setSingleShot(true);
  m_renderTimer.setInterval(33);
  connect(&m_renderTimer, &QTimer::timeout, this, &ChatView::syncMessages);

  connect(m_send, &QPushButton::clicked, this, &ChatView::submit);
  connect(m_stop, &QPushButton::clicked, m_chat, &ChatController::stop);
  connect(m_classification, &QComboBox::activated, this, [this](int) {
    m_chat->setClassification(m_classification->currentText());
  });
  connect(m_model, &QComboBox::activated, this, [this](int i) {
    m_chat->setModel(m_chat->models()->data(m_chat->models()->index(i), ModelListModel::NameRole).toString());
    updateModels();
  });
  connect(m_incognito, &QCheckBox::toggled, m_chat, &ChatController::setIncognito);
  connect(m_chat, &ChatController::bannerChanged, this, &ChatView::updateBanner);
  connect(m_chat, &ChatController::modelsChanged, this, &ChatView::updateModels);
  connect(m_chat, &ChatController::problemChanged, this, &ChatView::updateProblem);
  connect(m_chat, &ChatController::busyChanged, this, &ChatView::updateBusy);
  connect(m_chat, &ChatController::redactionNoticeChanged, this, [this](const QString& notice) {
    m_noticeText->setText(notice);
    m_notice->setVisible(!notice.isEmpty());
  });
  auto* messages = m_chat->messages();
  auto schedule = [this] {
    if (!m_renderTimer.isActive()) m_renderTimer.start();
  };
  connect(messages, &QAbstractItemModel::rowsInserted, this, &ChatView::syncMessages);
  connect(messages, &QAbstractItemModel::rowsRemoved, this, &ChatView::syncMessages);
  connect(messages, &QAbstractItemModel::modelReset, this, &ChatView::syncMessages);
  connect(messages, &QAbstractItemModel::dataChanged, this, schedule);
  updateBanner();
  updateModels();
}

bool ChatView::eventFilter(QObject* watched, QEvent* event) {
  if (watched == m_input && event->type() == QEvent::KeyPress) {
    auto* key = static_cast<QKeyEvent*>(event);
    if ((key->key() == Qt::Key_Return || key->key() == Qt::Key_Enter) &&
        (key->modifiers() & Qt::ControlModifier)) {
      submit();
      return true;
    }
    if (key->key() == Qt::Key_Escape && m_chat->busy()) {
      m_chat->stop();
      return true;
    }
  }
  return QWidget::eventFilter(watched, event);
}

void ChatView::submit() {
  const QString text = m_input->toPlainText();
  bool ok;
  if (m_editingRow >= 0) {
    ok = m_chat->editAndResend(m_editingRow, text);
  } else {
    ok = m_chat->send(text);
  }
  if (ok) {
    m_editingRow = -1;
    m_input->clear();
    m_send->setText(QStringLiteral("&Send"));
  }
}

void ChatView::syncMessages() {
  auto* model = m_chat->messages();
  const int rows = model->rowCount();
  while (m_widgets.size() > rows) delete m_widgets.takeLast();
  // Rows whose sender changed (after truncate + append) are rebuilt.
  for (int i = 0; i < m_widgets.size(); ++i) {
    if (m_widgets[i]->row() != i ||
        m_widgets[i]->objectName() !=
            (model->at(i).sender == ChatMessageModel::Sender::User        ? QStringLiteral("userBubble")
             : model->at(i).sender == ChatMessageModel::Sender::Assistant ? QStringLiteral("assistantBubble")
                                                                          : QStringLiteral("systemBubble"))) {
      while (m_widgets.size() > i) delete m_widgets.takeLast();
      break;
    }
  }
  for (int i = static_cast<int>(m_widgets.size()); i < rows; ++i) {
    auto* w = new MessageWidget(model->at(i).sender, i, m_list);
    connect(w, &MessageWidget::editRequested, this, [this](int row) {
      m_editingRow = row;
      m_input->setPlainText(m_chat->messages()->at(row).text);
      m_input->setFocus();
      m_send->setText(QStringLiteral("Re&send"));
    });
    connect(w, &MessageWidget::regenerateRequested, m_chat, &ChatController::regenerate);
    m_listLayout->insertWidget(m_listLayout->count() - 1, w);
    m_widgets.push_back(w);
  }
  int lastAssistant = -1;
  for (int i = 0; i < rows; ++i) {
    const auto& m = model->at(i);
    m_widgets[i]->setContent(m.text, m.streaming, m.stopped);
    if (m.sender == ChatMessageModel::Sender::Assistant) lastAssistant = i;
  }
  for (int i = 0; i < rows; ++i) {
    m_widgets[i]->setActionsVisible(i == lastAssistant && !m_chat->busy());
  }
  m_empty->setVisible(rows == 0);
  scrollToEnd();
}

void ChatView::scrollToEnd() {
  QScrollBar* bar = m_scroll->verticalScrollBar();
  QTimer::singleShot(0, bar, [bar] { bar->setValue(bar->maximum()); });
}

void ChatView::updateBanner() {
  const QStringList classes = m_chat->classifications();
  QStringList current;
  for (int i = 0; i < m_classification->count(); ++i) current << m_classification->itemText(i);
  if (current != classes) {
    m_classification->clear();
    m_classification->addItems(classes);
  }
  m_classification->setCurrentText(m_chat->classification());
  m_incognito->setEnabled(m_chat->incognitoAllowed());
  m_incognito->setChecked(m_chat->incognito());
  m_incognito->setToolTip(m_chat->incognitoAllowed()
                              ? QStringLiteral("Nothing of this conversation is stored on the appliance")
                              : QStringLiteral("The policy does not allow incognito for this classification"));
  const PolicyBanner b = m_chat->banner();
  m_bannerText->setText(b.text());
  m_banner->setVisible(!b.classification.isEmpty());
  m_usage->setText(m_chat->usageText());
}

void ChatView::updateModels() {
  const int row = m_chat->models()->rowOf(m_chat->model());
  if (row >= 0) m_model->setCurrentIndex(row);
  m_provenance->setText(row >= 0 ? m_chat->models()->data(m_chat->models()->index(row),
                                                          ModelListModel::ProvenanceRole).toString()
                                 : QString());
  m_model->setEnabled(m_chat->models()->rowCount() > 0);
  if (m_chat->models()->rowCount() == 0) {
    m_model->setPlaceholderText(QStringLiteral("No model allowed for this classification"));
  }
}

void ChatView::updateProblem() {
  const ChatProblem& p = m_chat->problem();
  if (p.headline.isEmpty()) {
    m_problem->hide();
    return;
  }
  QString html = QStringLiteral("<b>%1</b>").arg(p.headline.toHtmlEscaped());
  if (!p.rules.isEmpty()) {
    html += QStringLiteral("<br>Rule: ") + p.rules.join(QStringLiteral("; ")).toHtmlEscaped();
  }
  if (!p.remedy.isEmpty()) html += QStringLiteral("<br>What you can do: ") + p.remedy.toHtmlEscaped();
  if (p.auditSequence) {
    html += QStringLiteral("<br><small>Recorded in the audit log as record %1 (reason %2).</small>")
                .arg(p.auditSequence)
                .arg(p.reason.toHtmlEscaped());
  }
  m_problemText->setText(html);
  m_problem->show();
}

void ChatView::updateBusy(bool busy) {
  m_send->setVisible(!busy);
  m_stop->setVisible(busy);
  m_classification->setEnabled(!busy);
  m_model->setEnabled(!busy && m_chat->models()->rowCount() > 0);
  m_usage->setText(m_chat->usageText());
  syncMessages();
}

}  // namespace gui
