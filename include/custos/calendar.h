/* The US bond-market calendar and New York dates.
 *
 * Treasuries are priced on bond-market business days: Monday to Friday in New York, except
 * the SIFMA full-day closes listed in a calendar file (deploy/calendar/us-bond-market.txt).
 * SIFMA's early closes are listed too, with their time: they are business days (a price
 * struck at an early close counts like any other), and an early close SIFMA recommends not
 * be treated as a good settlement day is marked so. Bond-market dates are New York dates.
 * The New York date of a unix time is computed from the US daylight-saving rules in force
 * since 2007 (EDT, UTC-4, from the second Sunday of March at 02:00 EST to the first Sunday
 * of November at 02:00 EDT; EST, UTC-5, otherwise), so no time-zone database is needed;
 * times before 2007 are refused.
 *
 * Calendar file: UTF-8 text, '\n' lines of at most 200 bytes. Blank lines and lines
 * starting with '#' are ignored. Exactly one "covers FIRST LAST" line (years) comes before
 * the dates; then one date per line, strictly ascending, a weekday, within the covered
 * years, in one of three forms (blanks between the parts):
 *   YYYY-MM-DD  # holiday name                             full-day close
 *   YYYY-MM-DD  early HH:MM  # holiday name                early close, New York time
 *                                                          (08:00 to 16:59): a business day
 *   YYYY-MM-DD  early HH:MM  no-settlement  # holiday name  ... that is not a settlement day
 * Anything else is refused as "file:line: message". Business-day questions about a date
 * outside the covered years are refused, so an outdated calendar stops attestations
 * instead of silently treating holidays as open days. */
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

/* One listed date of the calendar. */
typedef struct custos_market_close {
    custos_day day;
    uint16_t early_close; /* 0: closed all day; else the close in minutes after midnight */
    bool no_settlement;   /* an early close that is not a settlement day */
} custos_market_close;

typedef struct custos_calendar {
    char source[CUSTOS_CALENDAR_SOURCE_MAX + 1]; /* file name, for messages */
    int first_year, last_year;                   /* covered years, inclusive */
    custos_market_close *closes;                 /* full-day and early closes, ascending */
    size_t n_closes;
} custos_calendar;

/* What the bond market does on one date. */
typedef enum custos_session_kind {
    CUSTOS_SESSION_OPEN,        /* a full trading day */
    CUSTOS_SESSION_EARLY_CLOSE, /* a business day that closes early */
    CUSTOS_SESSION_CLOSED,      /* a listed full-day close */
    CUSTOS_SESSION_WEEKEND
} custos_session_kind;

typedef struct custos_session {
    custos_session_kind kind;
    uint16_t close_minute; /* early closes: minutes after New York midnight (720 = 12:00) */
    bool business_day;     /* open or early close */
    bool settlement_day;   /* a business day not marked no-settlement */
} custos_session;

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
/* A deep copy that owns its own dates; free it with custos_calendar_free. */
CUSTOS_MUST_USE
custos_rc custos_calendar_copy(const custos_calendar *from, custos_calendar *to,
                               custos_error *err);
/* The unix time at which the calendar stops answering: 00:00 New York time on 1 January
 * after its last covered year. Business-day questions reaching that day are refused. */
CUSTOS_MUST_USE
custos_rc custos_calendar_covered_until(const custos_calendar *c, uint64_t *out,
                                        custos_error *err);

/* The session of d: open, early close (with its time), closed or a weekend. */
CUSTOS_MUST_USE
custos_rc custos_calendar_session(const custos_calendar *c, custos_day d, custos_session *out,
                                  custos_error *err);

/* A weekday that is not a full-day close (early closes are business days). */
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

/* The settlement date of a trade on d at T+1 on the bond-market calendar: the first
 * settlement day after d. A trade on a business day that is not a settlement day (SIFMA's
 * early close on a jobs-report Good Friday) settles on the second settlement day after it,
 * as SIFMA recommends (T+2). */
CUSTOS_MUST_USE
custos_rc custos_calendar_settlement_date(const custos_calendar *c, custos_day trade,
                                          custos_day *out, custos_error *err);

#ifdef __cplusplus
}
#endif
#endif
