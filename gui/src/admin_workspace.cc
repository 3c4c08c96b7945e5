#include "gui/admin_workspace.h"

#include <QFile>
#include <QFileDialog>
#include <QFontDatabase>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSplitter>
#include <QTabWidget>
#include <QTableView>
#include <QTextBlock>
#include <QVBoxLayout>

#include "gui/admin_controller.h"
#include "gui/line_number_editor.h"

namespace gui {
namespace {

QTableView* table(QAbstractItemModel* model, const QString& name, QWidget* parent) {
  auto* t = new QTableView(parent);
  t->setModel(model);
  t->setSelectionBehavior(QAbstractItemView::SelectRows);
  t->setSelectionMode(QAbstractItemView::SingleSelection);
  t->verticalHeader()->hide();
  t->verticalHeader()->setDefaultSectionSize(t->fontMetrics().height() + 8);
  t->horizontalHeader()->setStretchLastSection(true);
  t->setAlternatingRowColors(true);
  t->setAccessibleName(name);
  return t;
}

}  // namespace

AdminWorkspace::AdminWorkspace(AdminController* controller, QWidget* parent)
    : QWidget(parent), m_controller(controller) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(12, 12, 12, 12);
  m_tabs = new QTabWidget(this);
  layout->addWidget(m_tabs);

  // Policy.
  auto* policy = new QWidget(m_tabs);
  auto* pl = new QVBoxLayout(policy);
  auto* bar = new QHBoxLayout;
  auto* open = new QPushButton(QStringLiteral("&Open file…"), policy);
  auto* load = new QPushButton(QStringLiteral("&Load running policy"), policy);
  auto* validate = new QPushButton(QStringLiteral("&Validate"), policy);
  auto* apply = new QPushButton(QStringLiteral("&Apply"), policy);
  apply->setToolTip(QStringLiteral("Validate and apply atomically; an invalid policy is refused"));
  m_policyStatus = new QLabel(policy);
  m_policyStatus->setAccessibleName(QStringLiteral("Policy status"));
  bar->addWidget(open);
  bar->addWidget(load);
  bar->addWidget(validate);
  bar->addWidget(apply);
  bar->addWidget(m_policyStatus, 1);
  pl->addLayout(bar);
  auto* split = new QSplitter(Qt::Vertical, policy);
  m_editor = new LineNumberEditor(split);
  m_editor->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
  m_editor->setLineWrapMode(QPlainTextEdit::NoWrap);
  m_editor->setAccessibleName(QStringLiteral("Policy YAML"));
  m_editor->setTabChangesFocus(true);
  m_errors = table(m_controller->policyErrors(), QStringLiteral("Policy errors"), split);
  split->addWidget(m_editor);
  split->addWidget(m_errors);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 1);
  pl->addWidget(split, 1);
  m_tabs->addTab(policy, QStringLiteral("&Policy"));

  // Legal holds.
  auto* holds = new QWidget(m_tabs);
  auto* hl = new QVBoxLayout(holds);
  m_holds = table(m_controller->legalHolds(), QStringLiteral("Legal holds"), holds);
  hl->addWidget(m_holds, 1);
  auto* form = new QFormLayout;
  m_holdUser = new QLineEdit(holds);
  m_holdUser->setAccessibleName(QStringLiteral("Hold all conversations of user"));
  m_holdConversation = new QLineEdit(holds);
  m_holdConversation->setAccessibleName(QStringLiteral("Hold one conversation"));
  m_holdReason = new QLineEdit(holds);
  m_holdReason->setPlaceholderText(QStringLiteral("e.g. case number"));
  m_holdReason->setAccessibleName(QStringLiteral("Reason for the hold"));
  form->addRow(QStringLiteral("User id:"), m_holdUser);
  form->addRow(QStringLiteral("or conversation id:"), m_holdConversation);
  form->addRow(QStringLiteral("Reason:"), m_holdReason);
  hl->addLayout(form);
  auto* hb = new QHBoxLayout;
  auto* place = new QPushButton(QStringLiteral("Place &hold"), holds);
  auto* release = new QPushButton(QStringLiteral("&Release selected"), holds);
  auto* refreshHolds = new QPushButton(QStringLiteral("Refresh"), holds);
  hb->addWidget(place);
  hb->addWidget(release);
  hb->addStretch();
  hb->addWidget(refreshHolds);
  hl->addLayout(hb);
  m_tabs->addTab(holds, QStringLiteral("Legal &holds"));

  // Workers.
  auto* workers = new QWidget(m_tabs);
  auto* wl = new QVBoxLayout(workers);
  m_workers = table(m_controller->workers(), QStringLiteral("Workers"), workers);
  wl->addWidget(m_workers, 1);
  auto* refreshWorkers = new QPushButton(QStringLiteral("Refresh"), workers);
  wl->addWidget(refreshWorkers, 0, Qt::AlignRight);
  m_tabs->addTab(workers, QStringLiteral("&Workers"));

  connect(open, &QPushButton::clicked, this, [this] {
    const QString path = QFileDialog::getOpenFileName(this, QStringLiteral("Open policy"), QString(),
                                                      QStringLiteral("YAML (*.yaml *.yml);;All files (*)"));
    QFile f(path);
    if (!path.isEmpty() && f.open(QIODevice::ReadOnly)) m_editor->setPlainText(QString::fromUtf8(f.readAll()));
  });
  connect(load, &QPushButton::clicked, m_controller, &AdminController::loadCurrentPolicy);
  connect(validate, &QPushButton::clicked, this, [this] { m_controller->validate(m_editor->toPlainText()); });
  connect(apply, &QPushButton::clicked, this, [this] { m_controller->apply(m_editor->toPlainText()); });
  connect(m_controller, &AdminController::policyLoaded, this, [this](const QString& yaml, const QString& hash) {
    m_editor->setPlainText(yaml);
    m_policyStatus->setText(QStringLiteral("Running policy %1").arg(hash.left(12)));
  });
  connect(m_controller, &AdminController::validated, this, [this](bool valid, const QString& summary) {
    m_policyStatus->setText((valid ? QStringLiteral("✔ ") : QStringLiteral("✘ ")) + summary);
    m_policyStatus->setStyleSheet(valid ? QStringLiteral("color: #2e7d32;") : QStringLiteral("color: #c62828;"));
    QSet<int> lines;
    for (int r = 0; r < m_controller->policyErrors()->rowCount(); ++r) {
      lines.insert(m_controller->policyErrors()->at(r).cells.value(0).toInt());
    }
    m_editor->setMarkedLines(lines);
    if (!valid && m_controller->policyErrors()->rowCount() > 0) {
      const auto& row = m_controller->policyErrors()->at(0);
      goToLine(row.cells.value(0).toInt(), row.cells.value(1).toInt());
    }
  });
  connect(m_controller, &AdminController::applied, this, [this](const QString& hash) {
    m_policyStatus->setText(QStringLiteral("✔ Applied; running policy %1").arg(hash.left(12)));
    m_policyStatus->setStyleSheet(QStringLiteral("color: #2e7d32;"));
  });
  connect(m_controller, &AdminController::failed, this, [this](const RpcError& e) {
    m_policyStatus->setText(e.headline());
    m_policyStatus->setStyleSheet(QStringLiteral("color: #c62828;"));
  });
  connect(m_errors, &QTableView::activated, this, [this](const QModelIndex& i) {
    const auto& row = m_controller->policyErrors()->at(i.row());
    goToLine(row.cells.value(0).toInt(), row.cells.value(1).toInt());
  });
  connect(place, &QPushButton::clicked, this, [this] {
    m_controller->placeHold(m_holdUser->text().trimmed(), m_holdConversation->text().trimmed(),
                            m_holdReason->text().trimmed());
  });
  connect(release, &QPushButton::clicked, this, [this] {
    const QModelIndex i = m_holds->currentIndex();
    if (i.isValid()) m_controller->releaseHold(m_controller->legalHolds()->at(i.row()).key);
  });
  connect(refreshHolds, &QPushButton::clicked, m_controller, &AdminController::refreshHolds);
  connect(refreshWorkers, &QPushButton::clicked, m_controller, &AdminController::refreshWorkers);
  connect(m_controller, &AdminController::workersChanged, m_workers, &QTableView::resizeColumnsToContents);
  connect(m_controller, &AdminController::holdsChanged, m_holds, &QTableView::resizeColumnsToContents);
}

void AdminWorkspace::goToLine(int line, int column) {
  QTextBlock block = m_editor->document()->findBlockByNumber(qMax(0, line - 1));
  if (!block.isValid()) return;
  QTextCursor c(block);
  c.movePosition(QTextCursor::Right, QTextCursor::MoveAnchor, qMax(0, column - 1));
  m_editor->setTextCursor(c);
  m_editor->centerCursor();
}

}  // namespace gui
