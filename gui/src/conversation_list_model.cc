#include "gui/conversation_list_model.h"

#include "gui/format.h"

namespace gui {

int ConversationListModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(m_items.size());
}

QVariant ConversationListModel::data(const QModelIndex& index, int role) const {
  if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) {
    return {};
  }
  const auto& c = m_items.at(static_cast<size_t>(index.row()));
  const QString title = c.title().empty() ? QStringLiteral("Untitled conversation")
                                          : QString::fromStdString(c.title());
  switch (role) {
    case Qt::DisplayRole:
    case TitleRole:
      return title;
    case Qt::ToolTipRole:
      return QStringLiteral("%1 · %2 · %3").arg(QString::fromStdString(c.classification()),
                                                 retentionText(c.retention()),
                                                 timestampText(c.updated()));
    case Qt::AccessibleDescriptionRole:
      return QStringLiteral("Conversation, %1, %2").arg(QString::fromStdString(c.classification()),
                                                       retentionText(c.retention()));
    case IdRole: return QString::fromStdString(c.id());
    case ClassificationRole: return QString::fromStdString(c.classification());
    case UpdatedRole: return timestampText(c.updated());
    case RetentionRole: return retentionText(c.retention());
    case ExpiresRole: return timestampText(c.expires());
    default: return {};
  }
}

QHash<int, QByteArray> ConversationListModel::roleNames() const {
  return {{IdRole, "id"},         {TitleRole, "title"},         {ClassificationRole, "classification"},
          {UpdatedRole, "updated"}, {RetentionRole, "retention"}, {ExpiresRole, "expires"}};
}

void ConversationListModel::reset(std::vector<assistant::v1::ConversationSummary> items) {
  beginResetModel();
  m_items = std::move(items);
  endResetModel();
}

int ConversationListModel::rowOf(const QString& id) const {
  const std::string key = id.toStdString();
  for (size_t i = 0; i < m_items.size(); ++i) {
    if (m_items[i].id() == key) return static_cast<int>(i);
  }
  return -1;
}

bool ConversationListModel::removeId(const QString& id) {
  const int row = rowOf(id);
  if (row < 0) return false;
  beginRemoveRows({}, row, row);
  m_items.erase(m_items.begin() + row);
  endRemoveRows();
  return true;
}

}  // namespace gui
