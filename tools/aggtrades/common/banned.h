/*
 * common/banned.h - lets the tool include src/common/common_int.h (the UTC
 * calendar and time parsing) although src/ is not on its include path:
 * common_int.h includes "common/banned.h", which resolves here and forwards
 * to the library's list of banned functions, so the tool obeys it too.
 */
#include "../../../src/common/banned.h"
