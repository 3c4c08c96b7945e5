// Ledger records returned by AuditService.QueryRecords, one row each.
#ifndef GUI_AUDIT_RECORD_MODEL_H_
#define GUI_AUDIT_RECORD_MODEL_H_

#include <QAbstractTableModel>
#include <vector>

#include "assistant/v1/audit.pb.h"

namespace gui {

class AuditRecordModel : public QAbstractTableModel {
  Q_OBJECT
 public:
  enum Column { Sequence, Time, Event, Subject, Decision, Classification, Model, Tokens, kColumns };
  using QAbstractTableModel::QAbstractTableModel;

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role) const override;
  QVariant headerData(int section, Qt::Orientation o, int role) const override;

  void reset(std::vector<assistant::v1::AuditRecord> records);
  const assistant::v1::AuditRecord& at(int row) const {
    return m_records.at(static_cast<size_t>(row));
  }
  // Every field of one record as "name: value" lines, for the details pane.
  static QString details(const assistant::v1::AuditRecord& r);

 private:
  std::vector<assistant::v1::AuditRecord> m_records;
};

}  // namespace gui

#endif  // GUI_AUDIT_RECORD_MODEL_H_
