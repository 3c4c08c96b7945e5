// The caller's server-side conversations (titles only; never message text).
#ifndef GUI_CONVERSATION_LIST_MODEL_H_
#define GUI_CONVERSATION_LIST_MODEL_H_

#include <QAbstractListModel>
#include <vector>

#include "assistant/v1/conversations.pb.h"

namespace gui {

class ConversationListModel : public QAbstractListModel {
  Q_OBJECT
 public:
  enum Role {
    IdRole = Qt::UserRole + 1,
    TitleRole,
    ClassificationRole,
    UpdatedRole,    // text
    RetentionRole,  // "kept 30 days" / "not stored"
    ExpiresRole,    // text, "" when not set
  };
  using QAbstractListModel::QAbstractListModel;

  int rowCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role) const override;
  QHash<int, QByteArray> roleNames() const override;

  void reset(std::vector<assistant::v1::ConversationSummary> items);
  bool removeId(const QString& id);
  int rowOf(const QString& id) const;
  const assistant::v1::ConversationSummary& at(int row) const { return m_items.at(row); }

 private:
  std::vector<assistant::v1::ConversationSummary> m_items;
};

}  // namespace gui

#endif  // GUI_CONVERSATION_LIST_MODEL_H_
