// Locks the window after a period without keyboard or mouse input. While
// locked the conversation is hidden; the window title never shows content.
#ifndef GUI_IDLE_LOCK_H_
#define GUI_IDLE_LOCK_H_

#include <QObject>
#include <QTimer>

namespace gui {

class IdleLock : public QObject {
  Q_OBJECT
 public:
  explicit IdleLock(QObject* parent = nullptr);

  // 0 disables the lock.
  void setTimeout(int milliseconds);
  int timeout() const { return m_timeoutMs; }
  bool locked() const { return m_locked; }
  void lockNow();
  void unlock();

 signals:
  void lockedChanged(bool locked);

 protected:
  bool eventFilter(QObject* watched, QEvent* event) override;

 private:
  QTimer m_timer;
  int m_timeoutMs = 0;
  bool m_locked = false;
};

}  // namespace gui

#endif  // GUI_IDLE_LOCK_H_
