#include "gui/format.h"

#include <QDateTime>
#include <QStringList>

#include <map>

namespace gui {

QString durationText(const google::protobuf::Duration& d) {
  const qint64 s = d.seconds();
  auto unit = [](qint64 n, const char* one, const char* many) {
    return QStringLiteral("%1 %2").arg(n).arg(QLatin1String(n == 1 ? one : many));
  };
  if (s >= 86400 && s % 86400 == 0) return unit(s / 86400, "day", "days");
  if (s >= 3600 && s % 3600 == 0) return unit(s / 3600, "hour", "hours");
  if (s >= 60 && s % 60 == 0) return unit(s / 60, "minute", "minutes");
  if (s >= 86400) return unit(s / 86400, "day", "days");
  return unit(s, "second", "seconds");
}

QString retentionText(const assistant::v1::Retention& r) {
  QString text;
  if (r.not_stored() || (r.content_retention().seconds() == 0 && r.content_retention().nanos() == 0)) {
    text = QStringLiteral("not stored");
  } else {
    text = QStringLiteral("kept %1").arg(durationText(r.content_retention()));
  }
  if (r.legal_hold()) text += QStringLiteral(" · legal hold");
  return text;
}

QString timestampText(const google::protobuf::Timestamp& t) {
  if (t.seconds() == 0 && t.nanos() == 0) return {};
  return QDateTime::fromSecsSinceEpoch(t.seconds()).toLocalTime().toString(
      QStringLiteral("yyyy-MM-dd HH:mm"));
}

QString countText(quint64 n) {
  if (n >= 1000000000ULL) return QStringLiteral("%1 B").arg(double(n) / 1e9, 0, 'f', 1);
  if (n >= 1000000ULL) return QStringLiteral("%1 M").arg(double(n) / 1e6, 0, 'f', 1);
  if (n >= 1000ULL) return QStringLiteral("%1 K").arg(double(n) / 1e3, 0, 'f', 0);
  return QString::number(n);
}

QString provenanceText(const assistant::v1::Model& m) {
  QStringList parts;
  std::map<std::string, std::string> labels(m.labels().begin(), m.labels().end());
  QStringList labelText;
  for (const auto& [k, v] : labels) {
    labelText << QStringLiteral("%1=%2").arg(QString::fromStdString(k), QString::fromStdString(v));
  }
  if (!labelText.isEmpty()) parts << labelText.join(QStringLiteral(", "));
  if (m.parameters() > 0) parts << countText(m.parameters()) + QStringLiteral(" parameters");
  if (!m.quantization().empty()) parts << QString::fromStdString(m.quantization());
  if (!m.sha256().empty()) {
    parts << QStringLiteral("sha256 %1…").arg(QString::fromStdString(m.sha256()).left(12));
  }
  if (!m.backend().empty()) parts << QString::fromStdString(m.backend());
  return parts.join(QStringLiteral(" · "));
}

}  // namespace gui
