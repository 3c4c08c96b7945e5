#include "gui/audit_record_model.h"

#include <QColor>
#include <QStringList>

#include "gui/format.h"

namespace gui {

int AuditRecordModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(m_records.size());
}

int AuditRecordModel::columnCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : kColumns;
}

QVariant AuditRecordModel::data(const QModelIndex& index, int role) const {
  if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) {
    return {};
  }
  const auto& r = m_records.at(static_cast<size_t>(index.row()));
  if (role == Qt::ForegroundRole && index.column() == Decision && r.decision() == "deny") {
    return QColor(0xc6, 0x28, 0x28);
  }
  if (role == Qt::TextAlignmentRole && (index.column() == Sequence || index.column() == Tokens)) {
    return int(Qt::AlignRight | Qt::AlignVCenter);
  }
  if (role != Qt::DisplayRole && role != Qt::AccessibleTextRole) return {};
  switch (index.column()) {
    case Sequence: return QString::number(r.sequence());
    case Time: return timestampText(r.time());
    case Event: return QString::fromStdString(r.event_type());
    case Subject: return QString::fromStdString(r.subject());
    case Decision: return QString::fromStdString(r.decision());
    case Classification: return QString::fromStdString(r.classification());
    case Model: return QString::fromStdString(r.model());
    case Tokens:
      if (r.prompt_tokens() == 0 && r.completion_tokens() == 0) return QString();
      return QStringLiteral("%1 / %2").arg(r.prompt_tokens()).arg(r.completion_tokens());
    default: return {};
  }
}

QVariant AuditRecordModel::headerData(int section, Qt::Orientation o, int role) const {
  if (o != Qt::Horizontal || role != Qt::DisplayRole) return {};
  static const char* kNames[kColumns] = {"Seq", "Time", "Event", "Subject",
                                         "Decision", "Class", "Model", "Tokens in/out"};
  if (section < 0 || section >= kColumns) return {};
  return QString::fromLatin1(kNames[section]);
}

void AuditRecordModel::reset(std::vector<assistant::v1::AuditRecord> records) {
  beginResetModel();
  m_records = std::move(records);
  endResetModel();
}

QString AuditRecordModel::details(const assistant::v1::AuditRecord& r) {
  QStringList lines;
  auto add = [&lines](const char* name, const std::string& value) {
    if (!value.empty()) lines << QStringLiteral("%1: %2").arg(QLatin1String(name), QString::fromStdString(value));
  };
  lines << QStringLiteral("sequence: %1").arg(r.sequence());
  lines << QStringLiteral("time: %1").arg(timestampText(r.time()));
  add("event", r.event_type());
  add("subject", r.subject());
  add("certificate", r.certificate_fingerprint());
  add("source", r.source_address());
  add("decision", r.decision());
  for (const auto& reason : r.reasons()) {
    lines << QStringLiteral("  %1 %2: %3")
                 .arg(reason.denies() ? QStringLiteral("denies") : QStringLiteral("note"),
                      QString::fromStdString(reason.rule_id()),
                      QString::fromStdString(reason.message()));
  }
  add("classification", r.classification());
  add("model", r.model());
  add("model sha256", r.model_sha256());
  add("chat template sha256", r.chat_template_sha256());
  add("policy hash", r.policy_hash());
  if (r.prompt_tokens() || r.completion_tokens()) {
    lines << QStringLiteral("tokens: %1 prompt, %2 completion").arg(r.prompt_tokens()).arg(r.completion_tokens());
  }
  if (r.has_latency()) {
    lines << QStringLiteral("latency: %1 ms").arg(r.latency().seconds() * 1000 + r.latency().nanos() / 1000000);
  }
  add("conversation", r.conversation_id());
  add("request", r.request_id());
  add("content sha256", r.content_sha256());
  for (const auto& red : r.redactions()) {
    lines << QStringLiteral("redaction: %1 %2 → %3").arg(QString::fromStdString(red.type()),
                                                         QString::fromStdString(red.action()),
                                                         QString::fromStdString(red.placeholder()));
  }
  add("finish", r.finish_reason());
  add("details", r.details_json());
  add("leaf hash", r.leaf_hash());
  return lines.join('\n');
}

}  // namespace gui
