/* The US bond-market calendar and New York dates.
 *
 * Treasuries are priced on bond-market business days: Monday to Friday in New York, except
 * the SIFMA full-day closes listed in a calendar file (deploy/calendar/us-bond-market.txt).
 * Bond-market dates are New York dates. The New York date of a unix time is computed from
 * the US daylight-saving rules in force since 2007 (EDT, UTC-4, from the second Sunday of
 * March at 02:00 EST to the first Sunday of November at 02:00 EDT; EST, UTC-5, otherwise),
 * so no time-zone database is needed; times before 2007 are refused.
 *
 * Calendar file: UTF-8 text, '\n' lines of at most 200 bytes. Blank lines and lines
 * starting with '#' are ignored. Exactly one "covers FIRST LAST" line (years) comes before
 * the dates; then one close per line, "YYYY-MM-DD  # holiday name", strictly ascending, a
 * weekday, within the covered years. Anything else is refused as "file:line: message".
 * Business-day questions about a date outside the covered years are refused, so an outdated
 * calendar stops attestations instead of silently treating holidays as open days. */
#ifndef CUSTOS_CALENDAR_H
#define CUSTOS_CALENDAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "custos/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A civil date as days since 1970-01-01. */
typedef int32_t custos_day;

#define CUSTOS_CALENDAR_MAX_BYTES (1024u * 1024u)
#define CUSTOS_CALENDAR_SOURCE_MAX 127
/* "YYYY-MM-DD" and its NUL. */
#define CUSTOS_ISO_DATE_LEN 11

typedef struct custos_calendar {
    char source[CUSTOS_CALENDAR_SOURCE_MAX + 1]; /* file name, for messages */
    int first_year, last_year;                   /* covered years, inclusive */
    custos_day *closes;                          /* full-day closes, ascending */
    size_t n_closes;
} custos_calendar;

/* Strict "YYYY-MM-DD" (exactly len bytes), years 1970..9999. */
CUSTOS_MUST_USE
custos_rc custos_day_parse(const char *s, size_t len, custos_day *out, custos_error *err);
/* Refuses an impossible date such as 2026-02-29. */
CUSTOS_MUST_USE
custos_rc custos_day_from_civil(int year, int month, int mday, custos_day *out,
                                custos_error *err);
void custos_day_to_civil(custos_day d, int *year, int *month, int *mday);
void custos_day_format(custos_day d, char out[CUSTOS_ISO_DATE_LEN]);
/* 0 Sunday .. 6 Saturday. */
int custos_day_weekday(custos_day d);

/* The New York date of a unix time; refused before 2007-01-01 and after 9999. */
CUSTOS_MUST_USE
custos_rc custos_ny_day(uint64_t unix_seconds, custos_day *out, custos_error *err);
/* The unix time of 23:59:59 New York time on d (EDT or EST, whichever is in force then). */
CUSTOS_MUST_USE
custos_rc custos_ny_end_of_day(custos_day d, uint64_t *out, custos_error *err);

/* file labels the messages. On failure *out is left empty. */
CUSTOS_MUST_USE
custos_rc custos_calendar_parse(const char *file, const char *text, size_t len,
                                custos_calendar *out, custos_error *err);
CUSTOS_MUST_USE
custos_rc custos_calendar_load(const char *path, custos_calendar *out, custos_error *err);
/* The copy of deploy/calendar/us-bond-market.txt compiled into the library, parsed; its
 * messages name it CUSTOS_CALENDAR_BUILTIN_NAME. */
#define CUSTOS_CALENDAR_BUILTIN_NAME "built-in us-bond-market.txt"
CUSTOS_MUST_USE
custos_rc custos_calendar_load_builtin(custos_calendar *out, custos_error *err);
void custos_calendar_free(custos_calendar *c);

/* A weekday that is not a listed close. */
CUSTOS_MUST_USE
custos_rc custos_calendar_is_business_day(const custos_calendar *c, custos_day d, bool *out,
                                          custos_error *err);
/* The n-th business day strictly after d (n >= 1). */
CUSTOS_MUST_USE
custos_rc custos_calendar_add_business_days(const custos_calendar *c, custos_day d, uint32_t n,
                                            custos_day *out, custos_error *err);
/* How many business days lie in (from, to]: 0 when to <= from. A Tuesday price seen on
 * Thursday is 2 business days old; a Friday price seen on Monday is 1. */
CUSTOS_MUST_USE
custos_rc custos_calendar_business_days_between(const custos_calendar *c, custos_day from,
                                                custos_day to, uint32_t *out,
                                                custos_error *err);

#ifdef __cplusplus
}
#endif
#endif
