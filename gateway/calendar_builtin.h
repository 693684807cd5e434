/* The bond-market calendar built into custos-gateway: deploy/calendar/us-bond-market.txt as
 * it was at build time, used for max_age_business_days when [gateway] names no calendar. */
#ifndef GATEWAY_CALENDAR_BUILTIN_H
#define GATEWAY_CALENDAR_BUILTIN_H

#include <stddef.h>

#define GW_CALENDAR_BUILTIN_NAME "built-in us-bond-market.txt"

extern const unsigned char gw_calendar_builtin[];
extern const size_t gw_calendar_builtin_len;

#endif
