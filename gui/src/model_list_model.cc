#include "gui/model_list_model.h"

#include "gui/format.h"

namespace gui {

int ModelListModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(m_models.size());
}

QVariant ModelListModel::data(const QModelIndex& index, int role) const {
  if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) {
    return {};
  }
  const auto& m = m_models.at(static_cast<size_t>(index.row()));
  const QString name = QString::fromStdString(m.name());
  const bool ready = m.state() == assistant::v1::Model::STATE_READY ||
                     m.state() == assistant::v1::Model::STATE_UNSPECIFIED;
  switch (role) {
    case Qt::DisplayRole:
      if (m.state() == assistant::v1::Model::STATE_LOADING) {
        return QStringLiteral("%1 (loading %2%)").arg(name).arg(int(m.load_progress() * 100));
      }
      if (m.state() == assistant::v1::Model::STATE_FAILED) return name + QStringLiteral(" (failed)");
      return name;
    case NameRole: return name;
    case Qt::ToolTipRole:
    case ProvenanceRole: return provenanceText(m);
    case ReadyRole: return ready;
    default: return {};
  }
}

QHash<int, QByteArray> ModelListModel::roleNames() const {
  return {{NameRole, "name"}, {ProvenanceRole, "provenance"}, {ReadyRole, "ready"}};
}

void ModelListModel::reset(std::vector<assistant::v1::Model> models) {
  beginResetModel();
  m_models = std::move(models);
  endResetModel();
}

int ModelListModel::rowOf(const QString& name) const {
  const std::string key = name.toStdString();
  for (size_t i = 0; i < m_models.size(); ++i) {
    if (m_models[i].name() == key) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace gui
