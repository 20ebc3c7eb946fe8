// ncursesw with wide characters: cchar_t and mvadd_wch need NCURSES_WIDECHAR, which SwiftPM
// would drop from pkg-config's flags, so it is defined here.
#define NCURSES_WIDECHAR 1
#define _XOPEN_SOURCE_EXTENDED 1
#include <locale.h>
#include <ncursesw/curses.h>
