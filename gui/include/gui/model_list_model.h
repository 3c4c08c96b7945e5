// The models the policy allows for the chosen classification, with provenance.
#ifndef GUI_MODEL_LIST_MODEL_H_
#define GUI_MODEL_LIST_MODEL_H_

#include <QAbstractListModel>
#include <vector>

#include "assistant/v1/models.pb.h"

namespace gui {

class ModelListModel : public QAbstractListModel {
  Q_OBJECT
 public:
  enum Role { NameRole = Qt::UserRole + 1, ProvenanceRole, ReadyRole };
  using QAbstractListModel::QAbstractListModel;

  int rowCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role) const override;
  QHash<int, QByteArray> roleNames() const override;

  void reset(std::vector<assistant::v1::Model> models);
  int rowOf(const QString& name) const;
  const assistant::v1::Model& at(int row) const { return m_models.at(static_cast<size_t>(row)); }

 private:
  std::vector<assistant::v1::Model> m_models;
};

}  // namespace gui

#endif  // GUI_MODEL_LIST_MODEL_H_
