#include "gui/audit_workspace.h"

#include <QComboBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QSplitter>
#include <QTableView>
#include <QVBoxLayout>

#include "gui/audit_controller.h"

namespace gui {

AuditWorkspace::AuditWorkspace(AuditController* controller, QWidget* parent)
    : QWidget(parent), m_controller(controller) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(12, 12, 12, 12);

  auto* filters = new QHBoxLayout;
  m_subject = new QLineEdit(this);
  m_subject->setPlaceholderText(QStringLiteral("user id"));
  m_subject->setAccessibleName(QStringLiteral("Filter by subject"));
  m_event = new QComboBox(this);
  m_event->addItems({QStringLiteral("any"), "chat_request", "chat_outcome", "denial", "conversation_shred",
                     "policy_change", "export", "purge", "auth_failure"});
  m_event->setAccessibleName(QStringLiteral("Filter by event type"));
  m_decision = new QComboBox(this);
  m_decision->addItems({QStringLiteral("any"), "allow", "deny"});
  m_decision->setAccessibleName(QStringLiteral("Filter by decision"));
  m_classification = new QLineEdit(this);
  m_classification->setPlaceholderText(QStringLiteral("classification"));
  m_classification->setAccessibleName(QStringLiteral("Filter by classification"));
  m_limit = new QSpinBox(this);
  m_limit->setRange(0, 1000000);
  m_limit->setValue(1000);
  m_limit->setSpecialValueText(QStringLiteral("no limit"));
  m_limit->setAccessibleName(QStringLiteral("Maximum records"));
  auto* query = new QPushButton(QStringLiteral("&Query"), this);
  query->setDefault(true);
  auto addLabeled = [this, filters](const QString& text, QWidget* w) {
    auto* l = new QLabel(text, this);
    l->setBuddy(w);
    filters->addWidget(l);
    filters->addWidget(w);
  };
  addLabeled(QStringLiteral("S&ubject:"), m_subject);
  addLabeled(QStringLiteral("&Event:"), m_event);
  addLabeled(QStringLiteral("D&ecision:"), m_decision);
  addLabeled(QStringLiteral("C&lass:"), m_classification);
  addLabeled(QStringLiteral("L&imit:"), m_limit);
  filters->addWidget(query);
  layout->addLayout(filters);

  auto* split = new QSplitter(Qt::Vertical, this);
  m_table = new QTableView(split);
  m_table->setModel(m_controller->records());
  m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
  m_table->setSelectionMode(QAbstractItemView::SingleSelection);
  m_table->setAlternatingRowColors(true);
  m_table->verticalHeader()->hide();
  m_table->verticalHeader()->setDefaultSectionSize(m_table->fontMetrics().height() + 8);
  m_table->horizontalHeader()->setStretchLastSection(true);
  m_table->setAccessibleName(QStringLiteral("Audit records"));
  m_details = new QPlainTextEdit(split);
  m_details->setReadOnly(true);
  m_details->setPlaceholderText(QStringLiteral("Select a record to see every field."));
  m_details->setAccessibleName(QStringLiteral("Record details"));
  split->addWidget(m_table);
  split->addWidget(m_details);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 2);
  layout->addWidget(split, 1);

  auto* actions = new QHBoxLayout;
  m_verify = new QPushButton(QStringLiteral("&Verify ledger"), this);
  m_verify->setToolTip(QStringLiteral("Check every record's hash chain and the signed checkpoints"));
  m_progress = new QProgressBar(this);
  m_progress->setAccessibleName(QStringLiteral("Verification progress"));
  m_progress->setRange(0, 1);
  m_progress->setValue(0);
  m_verdict = new QLabel(this);
  m_verdict->setWordWrap(true);
  m_verdict->setAccessibleName(QStringLiteral("Verification verdict"));
  m_export = new QPushButton(QStringLiteral("E&xport evidence…"), this);
  m_export->setToolTip(QStringLiteral("Write the matching records, checkpoints, key and manifest to a folder"));
  actions->addWidget(m_verify);
  actions->addWidget(m_progress);
  actions->addWidget(m_verdict, 1);
  actions->addWidget(m_export);
  layout->addLayout(actions);
  m_status = new QLabel(this);
  m_status->setEnabled(false);
  layout->addWidget(m_status);

  connect(query, &QPushButton::clicked, this, &AuditWorkspace::runQuery);
  connect(m_subject, &QLineEdit::returnPressed, this, &AuditWorkspace::runQuery);
  connect(m_classification, &QLineEdit::returnPressed, this, &AuditWorkspace::runQuery);
  connect(m_table->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
          [this](const QModelIndex& i) {
            if (i.isValid()) m_details->setPlainText(AuditRecordModel::details(m_controller->records()->at(i.row())));
          });
  connect(m_verify, &QPushButton::clicked, this, [this] {
    m_verdict->setText(QStringLiteral("Verifying…"));
    m_verify->setEnabled(false);
    m_controller->verify();
  });
  connect(m_controller, &AuditController::verifyProgress, this, [this](quint64 checked, quint64 total) {
    m_progress->setRange(0, static_cast<int>(qMin<quint64>(total, INT_MAX)));
    m_progress->setValue(static_cast<int>(qMin<quint64>(checked, INT_MAX)));
  });
  connect(m_controller, &AuditController::verified, this, [this](bool ok, const QString& verdict) {
    m_verify->setEnabled(true);
    m_verdict->setText((ok ? QStringLiteral("✔ ") : QStringLiteral("✘ ")) + verdict);
    m_verdict->setStyleSheet(ok ? QStringLiteral("color: #2e7d32; font-weight: 600;")
                                : QStringLiteral("color: #c62828; font-weight: 600;"));
  });
  connect(m_export, &QPushButton::clicked, this, [this] {
    const QString folder = QFileDialog::getExistingDirectory(this, QStringLiteral("Export evidence to"));
    if (!folder.isEmpty()) exportTo(folder);
  });
  connect(m_controller, &AuditController::exportProgress, this, [this](qint64 bytes) {
    m_status->setText(QStringLiteral("Exporting… %1 KiB").arg(bytes / 1024.0, 0, 'f', 1));
  });
  connect(m_controller, &AuditController::exported, this, [this](const QString& folder, const QStringList& files) {
    m_export->setEnabled(true);
    m_status->setText(QStringLiteral("Exported %1 files to %2").arg(files.size()).arg(folder));
  });
  connect(m_controller, &AuditController::queried, this, [this](int n) {
    m_status->setText(QStringLiteral("%1 record(s)").arg(n));
    m_table->resizeColumnsToContents();
  });
  connect(m_controller, &AuditController::failed, this, [this](const RpcError& e) {
    m_verify->setEnabled(true);
    m_export->setEnabled(true);
    m_status->setText(e.headline());
  });
}

void AuditWorkspace::runQuery() {
  assistant::v1::AuditFilter f;
  f.set_subject(m_subject->text().trimmed().toStdString());
  if (m_event->currentIndex() > 0) f.add_event_types(m_event->currentText().toStdString());
  if (m_decision->currentIndex() > 0) f.set_decision(m_decision->currentText().toStdString());
  f.set_classification(m_classification->text().trimmed().toStdString());
  f.set_limit(static_cast<uint64_t>(m_limit->value()));
  m_controller->query(f);
}

void AuditWorkspace::exportTo(const QString& folder) {
  assistant::v1::AuditFilter f;
  f.set_subject(m_subject->text().trimmed().toStdString());
  if (m_decision->currentIndex() > 0) f.set_decision(m_decision->currentText().toStdString());
  m_export->setEnabled(false);
  m_controller->exportTo(f, folder);
}

}  // namespace gui
