/*
 * banned.h - functions that must not be used in aggtrades (after git's
 * banned.h): unbounded string copies and time functions that depend on the
 * local time zone. Using one is a compile error.
 */
#ifndef AGT_BANNED_H
#define AGT_BANNED_H

#define AGT_BANNED(func) sorry_##func##_is_banned_in_aggtrades

#undef strcpy
#define strcpy(x, y) AGT_BANNED(strcpy)
#undef strcat
#define strcat(x, y) AGT_BANNED(strcat)
#undef sprintf
#define sprintf(...) AGT_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) AGT_BANNED(vsprintf)
#undef gets
#define gets(x) AGT_BANNED(gets)
#undef localtime
#define localtime(x) AGT_BANNED(localtime)
#undef localtime_r
#define localtime_r(x, y) AGT_BANNED(localtime_r)
#undef mktime
#define mktime(x) AGT_BANNED(mktime)

#endif
