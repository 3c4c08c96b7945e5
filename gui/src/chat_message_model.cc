#include "gui/chat_message_model.h"

namespace gui {
namespace {

void wipe(QString& s) {
  s.fill(QChar(' '));
  s.clear();
}

}  // namespace

ChatMessageModel::~ChatMessageModel() {
  for (auto& m : m_messages) wipe(m.text);
}

int ChatMessageModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(m_messages.size());
}

QVariant ChatMessageModel::data(const QModelIndex& index, int role) const {
  if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) {
    return {};
  }
  const Message& m = m_messages.at(index.row());
  switch (role) {
    case Qt::DisplayRole:
    case TextRole:
      return m.text;
    case Qt::AccessibleTextRole:
      return m.sender == Sender::User ? QStringLiteral("You") : QStringLiteral("Assistant");
    case SenderRole:
      return static_cast<int>(m.sender);
    case StreamingRole:
      return m.streaming;
    case StoppedRole:
      return m.stopped;
    default:
      return {};
  }
}

QHash<int, QByteArray> ChatMessageModel::roleNames() const {
  return {{SenderRole, "sender"}, {TextRole, "text"}, {StreamingRole, "streaming"},
          {StoppedRole, "stopped"}};
}

int ChatMessageModel::append(Sender sender, const QString& text, bool streaming) {
  const int row = static_cast<int>(m_messages.size());
  beginInsertRows({}, row, row);
  m_messages.push_back({sender, text, streaming, false});
  endInsertRows();
  return row;
}

void ChatMessageModel::appendText(int row, const QString& text) {
  if (row < 0 || row >= m_messages.size()) return;
  m_messages[row].text += text;
  const QModelIndex i = index(row);
  emit dataChanged(i, i, {Qt::DisplayRole, TextRole});
}

void ChatMessageModel::finish(int row, bool stopped) {
  if (row < 0 || row >= m_messages.size()) return;
  m_messages[row].streaming = false;
  m_messages[row].stopped = stopped;
  const QModelIndex i = index(row);
  emit dataChanged(i, i, {StreamingRole, StoppedRole});
}

void ChatMessageModel::truncate(int rows) {
  if (rows < 0 || rows >= m_messages.size()) return;
  beginRemoveRows({}, rows, static_cast<int>(m_messages.size()) - 1);
  for (int i = rows; i < m_messages.size(); ++i) wipe(m_messages[i].text);
  m_messages.resize(rows);
  endRemoveRows();
}

void ChatMessageModel::clear() {
  if (m_messages.isEmpty()) return;
  beginResetModel();
  for (auto& m : m_messages) wipe(m.text);
  m_messages.clear();
  endResetModel();
}

}  // namespace gui
