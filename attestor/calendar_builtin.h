/* The bond-market calendar built into custos-attestor: deploy/calendar/us-bond-market.txt as
 * it was at build time, used when the policy names no calendar file of its own. */
#ifndef AT_CALENDAR_BUILTIN_H
#define AT_CALENDAR_BUILTIN_H

#include <stddef.h>

#define AT_CALENDAR_BUILTIN_NAME "built-in us-bond-market.txt"

extern const unsigned char at_calendar_builtin[];
extern const size_t at_calendar_builtin_len;

#endif
