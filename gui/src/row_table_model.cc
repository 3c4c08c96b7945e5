#include "gui/row_table_model.h"

namespace gui {

RowTableModel::RowTableModel(QStringList headers, QObject* parent)
    : QAbstractTableModel(parent), m_headers(std::move(headers)) {}

int RowTableModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(m_rows.size());
}

int RowTableModel::columnCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(m_headers.size());
}

QVariant RowTableModel::data(const QModelIndex& index, int role) const {
  if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) {
    return {};
  }
  const Row& r = m_rows.at(index.row());
  if (role == KeyRole) return r.key;
  if (role != Qt::DisplayRole && role != Qt::ToolTipRole && role != Qt::AccessibleTextRole) {
    return {};
  }
  return index.column() < r.cells.size() ? r.cells.at(index.column()) : QString();
}

QVariant RowTableModel::headerData(int section, Qt::Orientation o, int role) const {
  if (o != Qt::Horizontal || role != Qt::DisplayRole || section < 0 ||
      section >= m_headers.size()) {
    return {};
  }
  return m_headers.at(section);
}

void RowTableModel::reset(QVector<Row> rows) {
  beginResetModel();
  m_rows = std::move(rows);
  endResetModel();
}

}  // namespace gui
