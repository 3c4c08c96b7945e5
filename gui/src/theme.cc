#include "gui/theme.h"

#include <QApplication>
#include <QPalette>
#include <QStyle>
#include <QStyleFactory>

namespace gui {
namespace {

Theme g_current = Theme::Light;

QString styleSheet(Theme t) {
  const bool dark = t == Theme::Dark;
  const QString userBubble = dark ? "#1e3a5f" : "#e3efff";
  const QString botBubble = dark ? "#2a2d33" : "#ffffff";
  const QString border = dark ? "#3d424b" : "#d9dde3";
  const QString banner = dark ? "#1f3326" : "#e8f5ec";
  const QString bannerText = dark ? "#b7e4c7" : "#1b5e20";
  const QString notice = dark ? "#3d3420" : "#fff4d6";
  const QString problem = dark ? "#4a2226" : "#fdecea";
  const QString code = dark ? "#1b1d21" : "#f5f7fa";
  return QStringLiteral(
             "QFrame#userBubble { background: %1; border: 1px solid %3; border-radius: 10px; }"
             "QFrame#assistantBubble { background: %2; border: 1px solid %3; border-radius: 10px; }"
             "QFrame#systemBubble { border: 1px dashed %3; border-radius: 10px; }"
             "QFrame#policyBanner { background: %4; border-radius: 6px; }"
             "QLabel#policyBannerText { color: %5; font-weight: 600; }"
             "QFrame#noticeBar { background: %6; border-radius: 6px; }"
             "QFrame#problemPanel { background: %7; border-radius: 6px; }"
             "QFrame#codeBlock { background: %8; border: 1px solid %3; border-radius: 6px; }"
             "QPlainTextEdit#codeText { background: %8; border: none; }"
             "QLabel#senderLabel { font-weight: 600; }"
             "QLabel#lockTitle { font-size: 18pt; font-weight: 600; }")
      .arg(userBubble, botBubble, border, banner, bannerText, notice, problem, code);
}

}  // namespace

Theme themeFromName(const QString& name) {
  if (name == QLatin1String("dark")) return Theme::Dark;
  if (name == QLatin1String("light")) return Theme::Light;
  // Qt 6.4 has no colour-scheme hint: a dark system palette means dark.
  return QGuiApplication::palette().color(QPalette::Window).lightness() < 128 ? Theme::Dark
                                                                              : Theme::Light;
}

Theme currentTheme() { return g_current; }

void applyTheme(QApplication& app, Theme theme) {
  g_current = theme;
  app.setStyle(QStyleFactory::create(QStringLiteral("Fusion")));
  QPalette p;
  if (theme == Theme::Dark) {
    p.setColor(QPalette::Window, QColor(0x23, 0x25, 0x29));
    p.setColor(QPalette::WindowText, QColor(0xe6, 0xe6, 0xe6));
    p.setColor(QPalette::Base, QColor(0x1b, 0x1d, 0x21));
    p.setColor(QPalette::AlternateBase, QColor(0x2a, 0x2d, 0x33));
    p.setColor(QPalette::ToolTipBase, QColor(0x2a, 0x2d, 0x33));
    p.setColor(QPalette::ToolTipText, QColor(0xe6, 0xe6, 0xe6));
    p.setColor(QPalette::Text, QColor(0xe6, 0xe6, 0xe6));
    p.setColor(QPalette::Button, QColor(0x2f, 0x33, 0x3a));
    p.setColor(QPalette::ButtonText, QColor(0xe6, 0xe6, 0xe6));
    p.setColor(QPalette::Highlight, QColor(0x3d, 0x7e, 0xd6));
    p.setColor(QPalette::HighlightedText, Qt::white);
    p.setColor(QPalette::Link, QColor(0x7a, 0xb4, 0xff));
    p.setColor(QPalette::PlaceholderText, QColor(0x8a, 0x8f, 0x98));
    p.setColor(QPalette::Disabled, QPalette::Text, QColor(0x70, 0x74, 0x7a));
    p.setColor(QPalette::Disabled, QPalette::ButtonText, QColor(0x70, 0x74, 0x7a));
  } else {
    p = app.style()->standardPalette();
    p.setColor(QPalette::Window, QColor(0xf4, 0xf5, 0xf7));
    p.setColor(QPalette::Highlight, QColor(0x25, 0x63, 0xc9));
  }
  app.setPalette(p);
  app.setStyleSheet(styleSheet(theme));
}

}  // namespace gui
