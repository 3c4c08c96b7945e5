// Light and dark palettes (Fusion style) plus the few style rules the chat
// view needs. "" follows the desktop's colour scheme where Qt reports it.
#ifndef GUI_THEME_H_
#define GUI_THEME_H_

#include <QString>

class QApplication;

namespace gui {

enum class Theme { Light, Dark };

Theme themeFromName(const QString& name);  // "dark" → Dark, else Light
void applyTheme(QApplication& app, Theme theme);
Theme currentTheme();

}  // namespace gui

#endif  // GUI_THEME_H_
