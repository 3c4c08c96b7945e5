// A small read-only table of text rows with a key per row: policy errors,
// legal holds, workers.
#ifndef GUI_ROW_TABLE_MODEL_H_
#define GUI_ROW_TABLE_MODEL_H_

#include <QAbstractTableModel>
#include <QStringList>
#include <QVector>

namespace gui {

class RowTableModel : public QAbstractTableModel {
  Q_OBJECT
 public:
  static constexpr int KeyRole = Qt::UserRole + 1;
  explicit RowTableModel(QStringList headers, QObject* parent = nullptr);

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role) const override;
  QVariant headerData(int section, Qt::Orientation o, int role) const override;

  struct Row {
    QString key;
    QStringList cells;
  };
  void reset(QVector<Row> rows);
  const Row& at(int row) const { return m_rows.at(row); }

 private:
  const QStringList m_headers;
  QVector<Row> m_rows;
};

}  // namespace gui

#endif  // GUI_ROW_TABLE_MODEL_H_
