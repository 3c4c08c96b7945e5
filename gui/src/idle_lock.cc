#include "gui/idle_lock.h"

#include <QCoreApplication>
#include <QEvent>

namespace gui {

IdleLock::IdleLock(QObject* parent) : QObject(parent) {
  m_timer.setSingleShot(true);
  connect(&m_timer, &QTimer::timeout, this, &IdleLock::lockNow);
  QCoreApplication::instance()->installEventFilter(this);
}

void IdleLock::setTimeout(int milliseconds) {
  m_timeoutMs = milliseconds;
  if (m_timeoutMs > 0 && !m_locked) {
    m_timer.start(m_timeoutMs);
  } else {
    m_timer.stop();
  }
}

void IdleLock::lockNow() {
  m_timer.stop();
  if (m_locked) return;
  m_locked = true;
  emit lockedChanged(true);
}

void IdleLock::unlock() {
  if (!m_locked) return;
  m_locked = false;
  if (m_timeoutMs > 0) m_timer.start(m_timeoutMs);
  emit lockedChanged(false);
}

bool IdleLock::eventFilter(QObject* watched, QEvent* event) {
  switch (event->type()) {
    case QEvent::KeyPress:
    case QEvent::MouseButtonPress:
    case QEvent::MouseMove:
    case QEvent::Wheel:
      if (!m_locked && m_timeoutMs > 0) m_timer.start(m_timeoutMs);
      break;
    default:
      break;
  }
  return QObject::eventFilter(watched, event);
}

}  // namespace gui
