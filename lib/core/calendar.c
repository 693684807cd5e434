#include "custos/calendar.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_SECONDS 86400
#define YEAR_MIN 1970
#define YEAR_MAX 9999
/* The current US daylight-saving rules start in 2007. */
#define NY_YEAR_MIN 2007
#define LINE_MAX_BYTES 200

static bool is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Days from 1970-01-01 to January 1st of y (y >= 1970): 365 a year plus the leap days
 * of the years before y. */
static int32_t days_before_year(int y)
{
    int p = y - 1;
    int leaps = (p / 4 - p / 100 + p / 400) - (1969 / 4 - 1969 / 100 + 1969 / 400);
    return (int32_t)(365 * (y - YEAR_MIN) + leaps);
}

static int32_t civil_days(int y, int m, int d)
{
    int32_t n = days_before_year(y);
    for (int i = 1; i < m; i++)
        n += month_days(y, i);
    return n + d - 1;
}

custos_rc custos_day_from_civil(int year, int month, int mday, custos_day *out,
                                custos_error *err)
{
    if (year < YEAR_MIN || year > YEAR_MAX || month < 1 || month > 12 || mday < 1 ||
        mday > month_days(year, month))
        return custos_error_set(err, CUSTOS_ERR_INVALID, "%04d-%02d-%02d is not a date in %d..%d",
                                year, month, mday, YEAR_MIN, YEAR_MAX);
    *out = civil_days(year, month, mday);
    return CUSTOS_OK;
}

void custos_day_to_civil(custos_day d, int *year, int *month, int *mday)
{
    int y = YEAR_MIN + d / 366;
    while (days_before_year(y + 1) <= d)
        y++;
    int32_t rest = d - days_before_year(y);
    int m = 1;
    while (rest >= month_days(y, m)) {
        rest -= month_days(y, m);
        m++;
    }
    *year = y;
    *month = m;
    *mday = (int)rest + 1;
}

void custos_day_format(custos_day d, char out[CUSTOS_ISO_DATE_LEN])
{
    int y, m, md;
    custos_day_to_civil(d, &y, &m, &md);
    /* Written digit by digit: y <= 9999, m <= 12 and md <= 31 by construction. */
    const int parts[3][2] = {{y, 4}, {m, 2}, {md, 2}};
    size_t k = 0;
    for (int p = 0; p < 3; p++) {
        if (p > 0)
            out[k++] = '-';
        for (int i = parts[p][1] - 1, v = parts[p][0]; i >= 0; i--, v /= 10)
            out[k + (size_t)i] = (char)('0' + v % 10);
        k += (size_t)parts[p][1];
    }
    out[k] = '\0';
}

int custos_day_weekday(custos_day d)
{
    return (int)((d + 4) % 7); /* 1970-01-01 was a Thursday */
}

static bool digits(const char *s, size_t n, int *v)
{
    *v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        *v = *v * 10 + (s[i] - '0');
    }
    return true;
}

custos_rc custos_day_parse(const char *s, size_t len, custos_day *out, custos_error *err)
{
    int y, m, d;
    if (len != 10 || s[4] != '-' || s[7] != '-' || !digits(s, 4, &y) ||
        !digits(s + 5, 2, &m) || !digits(s + 8, 2, &d))
        return custos_error_set(err, CUSTOS_ERR_INVALID, "'%.*s' is not a YYYY-MM-DD date",
                                (int)(len > 40 ? 40 : len), s);
    return custos_day_from_civil(y, m, d, out, err);
}

/* First Sunday on or after d. */
static custos_day sunday_from(custos_day d)
{
    return d + (7 - custos_day_weekday(d)) % 7;
}

/* The New York dates on which daylight time starts and ends in year y. */
static void dst_days(int y, custos_day *start, custos_day *end)
{
    *start = sunday_from(civil_days(y, 3, 1)) + 7;
    *end = sunday_from(civil_days(y, 11, 1));
}

custos_rc custos_ny_day(uint64_t unix_seconds, custos_day *out, custos_error *err)
{
    uint64_t lo = (uint64_t)civil_days(NY_YEAR_MIN, 1, 1) * DAY_SECONDS;
    uint64_t hi = (uint64_t)(civil_days(YEAR_MAX, 12, 31) + 1) * DAY_SECONDS;
    if (unix_seconds < lo || unix_seconds >= hi)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "unix time %llu is outside %d..%d, where New York dates are "
                                "computed", (unsigned long long)unix_seconds, NY_YEAR_MIN,
                                YEAR_MAX);
    int y, m, md;
    custos_day_to_civil((custos_day)(unix_seconds / DAY_SECONDS), &y, &m, &md);
    custos_day start, end;
    dst_days(y, &start, &end);
    /* Switches happen at 02:00 local: 07:00 UTC in March (EST), 06:00 UTC in November (EDT). */
    uint64_t dst_on = (uint64_t)start * DAY_SECONDS + 7 * 3600;
    uint64_t dst_off = (uint64_t)end * DAY_SECONDS + 6 * 3600;
    uint64_t offset = unix_seconds >= dst_on && unix_seconds < dst_off ? 4 * 3600 : 5 * 3600;
    *out = (custos_day)((unix_seconds - offset) / DAY_SECONDS);
    return CUSTOS_OK;
}

custos_rc custos_ny_end_of_day(custos_day d, uint64_t *out, custos_error *err)
{
    custos_day lo = civil_days(NY_YEAR_MIN, 1, 1), hi = civil_days(YEAR_MAX, 12, 31);
    if (d < lo || d > hi)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "day %ld is outside %d..%d, where New York times are computed",
                                (long)d, NY_YEAR_MIN, YEAR_MAX);
    int y, m, md;
    custos_day_to_civil(d, &y, &m, &md);
    custos_day start, end;
    dst_days(y, &start, &end);
    /* At 23:59:59 the switch of that day (at 02:00) has already happened. */
    uint64_t offset = d >= start && d < end ? 4 * 3600 : 5 * 3600;
    *out = ((uint64_t)d + 1) * DAY_SECONDS - 1 + offset;
    return CUSTOS_OK;
}

static custos_rc line_fail(custos_error *err, const char *file, size_t line, const char *fmt,
                           ...) __attribute__((format(printf, 4, 5)));

static custos_rc line_fail(custos_error *err, const char *file, size_t line, const char *fmt,
                           ...)
{
    char msg[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return custos_error_set(err, CUSTOS_ERR_INVALID, "%s:%zu: %s", file, line, msg);
}

static custos_rc parse_covers(const char *file, size_t lineno, const char *s, size_t len,
                              custos_calendar *c, custos_error *err)
{
    int first, last;
    /* "covers YYYY YYYY" exactly. */
    if (len != 16 || memcmp(s, "covers ", 7) != 0 || s[11] != ' ' || !digits(s + 7, 4, &first) ||
        !digits(s + 12, 4, &last))
        return line_fail(err, file, lineno, "%s", "expected 'covers FIRST LAST' (two years)");
    if (first < NY_YEAR_MIN || last < first)
        return line_fail(err, file, lineno, "%s",
                         "covered years must satisfy 2007 <= FIRST <= LAST");
    c->first_year = first;
    c->last_year = last;
    return CUSTOS_OK;
}

/* Skips blanks from s[*i]; false when there were none. */
static bool skip_blanks(const char *s, size_t len, size_t *i)
{
    size_t from = *i;
    while (*i < len && (s[*i] == ' ' || s[*i] == '\t'))
        (*i)++;
    return *i > from;
}

/* The word at s[*i] up to the next blank (or the end), which *i then points at. */
static size_t word_len(const char *s, size_t len, size_t i)
{
    size_t n = 0;
    while (i + n < len && s[i + n] != ' ' && s[i + n] != '\t')
        n++;
    return n;
}

static bool word_is(const char *s, size_t len, size_t i, const char *word)
{
    size_t n = strlen(word);
    return word_len(s, len, i) == n && memcmp(s + i, word, n) == 0;
}

/* "early HH:MM [no-settlement]" after a date; *i is past it on success. Early closes lie
 * between 08:00 and 16:59: "02:00" is a typing error for 14:00, not a close. */
static custos_rc parse_early(const char *file, size_t lineno, const char *s, size_t len,
                             size_t *i, custos_market_close *out, custos_error *err)
{
    *i += 5; /* "early" */
    int hh, mm;
    if (!skip_blanks(s, len, i) || word_len(s, len, *i) != 5 || s[*i + 2] != ':' ||
        !digits(s + *i, 2, &hh) || !digits(s + *i + 3, 2, &mm) || mm > 59)
        return line_fail(err, file, lineno, "%s", "expected 'early HH:MM' (New York time)");
    if (hh < 8 || hh > 16)
        return line_fail(err, file, lineno, "early close %.5s is not between 08:00 and 16:59",
                         s + *i);
    out->early_close = (uint16_t)(hh * 60 + mm);
    *i += 5;
    size_t after = *i;
    if (skip_blanks(s, len, i) && word_is(s, len, *i, "no-settlement")) {
        out->no_settlement = true;
        *i += strlen("no-settlement");
    } else {
        *i = after;
    }
    return CUSTOS_OK;
}

static custos_rc parse_close(const char *file, size_t lineno, const char *s, size_t len,
                             custos_calendar *c, size_t cap, custos_error *err)
{
    if (c->first_year == 0)
        return line_fail(err, file, lineno, "%s", "a date before the 'covers' line");
    size_t date_len = word_len(s, len, 0);
    custos_market_close close;
    memset(&close, 0, sizeof close);
    custos_error derr;
    if (custos_day_parse(s, date_len, &close.day, &derr) != CUSTOS_OK)
        return line_fail(err, file, lineno, "%s", derr.message);
    size_t i = date_len;
    bool blank = skip_blanks(s, len, &i);
    if (blank && word_is(s, len, i, "early")) {
        custos_rc rc = parse_early(file, lineno, s, len, &i, &close, err);
        if (rc != CUSTOS_OK)
            return rc;
        blank = skip_blanks(s, len, &i);
    }
    /* Every date names its holiday, so a reviewer can check it against SIFMA's list. */
    if (!blank || i >= len || s[i] != '#' || i + 1 >= len)
        return line_fail(err, file, lineno, "%s",
                         close.early_close != 0
                             ? "expected '# holiday name' after the early close"
                             : "expected '# holiday name' or 'early HH:MM' after the date");
    char iso[CUSTOS_ISO_DATE_LEN];
    custos_day_format(close.day, iso);
    int y, m, md;
    custos_day_to_civil(close.day, &y, &m, &md);
    if (y < c->first_year || y > c->last_year)
        return line_fail(err, file, lineno, "%s is outside the covered years", iso);
    int wd = custos_day_weekday(close.day);
    if (wd == 0 || wd == 6)
        return line_fail(err, file, lineno, "%s is a weekend day: list the observed weekday",
                         iso);
    if (c->n_closes > 0 && close.day <= c->closes[c->n_closes - 1].day)
        return line_fail(err, file, lineno, "%s is not after the previous date", iso);
    if (c->n_closes == cap)
        return line_fail(err, file, lineno, "%s", "too many dates");
    c->closes[c->n_closes++] = close;
    return CUSTOS_OK;
}

custos_rc custos_calendar_parse(const char *file, const char *text, size_t len,
                                custos_calendar *out, custos_error *err)
{
    memset(out, 0, sizeof *out);
    snprintf(out->source, sizeof out->source, "%s", file);
    if (len > CUSTOS_CALENDAR_MAX_BYTES)
        return custos_error_set(err, CUSTOS_ERR_TOO_LARGE, "%s: over %u bytes", file,
                                CUSTOS_CALENDAR_MAX_BYTES);
    /* A date line has at least 11 bytes with its newline: a bound on the number of dates. */
    size_t cap = len / 11 + 1;
    out->closes = calloc(cap, sizeof *out->closes);
    if (out->closes == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "%s: out of memory", file);
    custos_rc rc = CUSTOS_OK;
    size_t lineno = 0, pos = 0;
    while (pos < len && rc == CUSTOS_OK) {
        lineno++;
        const char *s = text + pos;
        const char *nl = memchr(s, '\n', len - pos);
        size_t n = nl != NULL ? (size_t)(nl - s) : len - pos;
        pos += n + (nl != NULL);
        if (n > LINE_MAX_BYTES) {
            rc = line_fail(err, file, lineno, "%s", "line longer than 200 bytes");
            break;
        }
        for (size_t i = 0; i < n && rc == CUSTOS_OK; i++)
            if ((unsigned char)s[i] < ' ' && s[i] != '\t')
                rc = line_fail(err, file, lineno, "%s", "control character in the line");
        if (rc != CUSTOS_OK)
            break;
        while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
            n--;
        if (n == 0 || s[0] == '#')
            continue;
        if (s[0] == ' ' || s[0] == '\t') {
            rc = line_fail(err, file, lineno, "%s", "leading blank");
            break;
        }
        if (n >= 6 && memcmp(s, "covers", 6) == 0) {
            if (out->first_year != 0)
                rc = line_fail(err, file, lineno, "%s", "a second 'covers' line");
            else if (out->n_closes > 0)
                rc = line_fail(err, file, lineno, "%s", "'covers' must come before the dates");
            else
                rc = parse_covers(file, lineno, s, n, out, err);
        } else {
            rc = parse_close(file, lineno, s, n, out, cap, err);
        }
    }
    if (rc == CUSTOS_OK && out->first_year == 0)
        rc = custos_error_set(err, CUSTOS_ERR_INVALID, "%s: no 'covers FIRST LAST' line", file);
    if (rc != CUSTOS_OK)
        custos_calendar_free(out);
    return rc;
}

custos_rc custos_calendar_load(const char *path, custos_calendar *out, custos_error *err)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return custos_error_set(err, errno == ENOENT ? CUSTOS_ERR_NOT_FOUND : CUSTOS_ERR_IO,
                                "%s: cannot open: %s", path, strerror(errno));
    char *text = malloc(CUSTOS_CALENDAR_MAX_BYTES + 1);
    if (text == NULL) {
        fclose(f);
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "%s: out of memory", path);
    }
    size_t len = fread(text, 1, CUSTOS_CALENDAR_MAX_BYTES + 1, f);
    bool failed = ferror(f) != 0;
    fclose(f);
    custos_rc rc;
    if (failed)
        rc = custos_error_set(err, CUSTOS_ERR_IO, "%s: read error", path);
    else if (len > CUSTOS_CALENDAR_MAX_BYTES)
        rc = custos_error_set(err, CUSTOS_ERR_TOO_LARGE, "%s: over %u bytes", path,
                              CUSTOS_CALENDAR_MAX_BYTES);
    else
        rc = custos_calendar_parse(path, text, len, out, err);
    free(text);
    return rc;
}

/* Generated by cmake/CustosEmbed.cmake (lib/core/CMakeLists.txt). */
extern const unsigned char custos_calendar_builtin_text[];
extern const size_t custos_calendar_builtin_text_len;

custos_rc custos_calendar_load_builtin(custos_calendar *out, custos_error *err)
{
    return custos_calendar_parse(CUSTOS_CALENDAR_BUILTIN_NAME,
                                 (const char *)custos_calendar_builtin_text,
                                 custos_calendar_builtin_text_len, out, err);
}

void custos_calendar_free(custos_calendar *c)
{
    free(c->closes);
    memset(c, 0, sizeof *c);
}

custos_rc custos_calendar_copy(const custos_calendar *from, custos_calendar *to,
                               custos_error *err)
{
    *to = *from;
    to->closes = NULL;
    if (from->n_closes == 0)
        return CUSTOS_OK;
    to->closes = calloc(from->n_closes, sizeof *to->closes);
    if (to->closes == NULL) {
        memset(to, 0, sizeof *to);
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "%s: out of memory", from->source);
    }
    memcpy(to->closes, from->closes, from->n_closes * sizeof *to->closes);
    return CUSTOS_OK;
}

custos_rc custos_calendar_covered_until(const custos_calendar *c, uint64_t *out,
                                        custos_error *err)
{
    if (c->first_year == 0)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "no bond-market calendar loaded");
    uint64_t eve;
    custos_rc rc = custos_ny_end_of_day(civil_days(c->last_year, 12, 31), &eve, err);
    if (rc == CUSTOS_OK)
        *out = eve + 1;
    return rc;
}

static custos_rc covered(const custos_calendar *c, custos_day d, custos_error *err)
{
    if (c->first_year == 0)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "no bond-market calendar loaded");
    if (d >= civil_days(c->first_year, 1, 1) && d <= civil_days(c->last_year, 12, 31))
        return CUSTOS_OK;
    char iso[CUSTOS_ISO_DATE_LEN];
    custos_day_format(d, iso);
    return custos_error_set(err, CUSTOS_ERR_INVALID,
                            "%s: %s is outside the calendar's covered years %d-%d: extend the "
                            "calendar with SIFMA's published closes",
                            c->source, iso, c->first_year, c->last_year);
}

/* The session of a covered date. */
static custos_session session_of(const custos_calendar *c, custos_day d)
{
    custos_session s = {CUSTOS_SESSION_OPEN, 0, true, true};
    int wd = custos_day_weekday(d);
    if (wd == 0 || wd == 6) {
        s.kind = CUSTOS_SESSION_WEEKEND;
        s.business_day = s.settlement_day = false;
        return s;
    }
    size_t lo = 0, hi = c->n_closes;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const custos_market_close *m = &c->closes[mid];
        if (m->day == d) {
            if (m->early_close == 0) {
                s.kind = CUSTOS_SESSION_CLOSED;
                s.business_day = s.settlement_day = false;
            } else {
                s.kind = CUSTOS_SESSION_EARLY_CLOSE;
                s.close_minute = m->early_close;
                s.settlement_day = !m->no_settlement;
            }
            return s;
        }
        if (m->day < d)
            lo = mid + 1;
        else
            hi = mid;
    }
    return s;
}

static bool open_day(const custos_calendar *c, custos_day d)
{
    return session_of(c, d).business_day;
}

custos_rc custos_calendar_session(const custos_calendar *c, custos_day d, custos_session *out,
                                  custos_error *err)
{
    custos_rc rc = covered(c, d, err);
    if (rc == CUSTOS_OK)
        *out = session_of(c, d);
    return rc;
}

custos_rc custos_calendar_is_business_day(const custos_calendar *c, custos_day d, bool *out,
                                          custos_error *err)
{
    custos_rc rc = covered(c, d, err);
    if (rc == CUSTOS_OK)
        *out = open_day(c, d);
    return rc;
}

custos_rc custos_calendar_add_business_days(const custos_calendar *c, custos_day d, uint32_t n,
                                            custos_day *out, custos_error *err)
{
    if (n == 0)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "business days to add must be >= 1");
    custos_rc rc = covered(c, d, err);
    while (rc == CUSTOS_OK && n > 0) {
        d++;
        rc = covered(c, d, err);
        if (rc == CUSTOS_OK && open_day(c, d))
            n--;
    }
    if (rc == CUSTOS_OK)
        *out = d;
    return rc;
}

custos_rc custos_calendar_business_days_between(const custos_calendar *c, custos_day from,
                                                custos_day to, uint32_t *out,
                                                custos_error *err)
{
    *out = 0;
    if (to <= from)
        return CUSTOS_OK;
    custos_rc rc = covered(c, from, err);
    if (rc == CUSTOS_OK)
        rc = covered(c, to, err);
    if (rc != CUSTOS_OK)
        return rc;
    uint32_t n = 0;
    for (custos_day d = from + 1; d <= to; d++)
        n += open_day(c, d);
    *out = n;
    return CUSTOS_OK;
}

custos_rc custos_calendar_settlement_date(const custos_calendar *c, custos_day trade,
                                          custos_day *out, custos_error *err)
{
    custos_rc rc = covered(c, trade, err);
    if (rc != CUSTOS_OK)
        return rc;
    custos_session t = session_of(c, trade);
    /* SIFMA: trades on a business day that is no settlement day settle T+2. */
    unsigned n = t.business_day && !t.settlement_day ? 2 : 1;
    custos_day d = trade;
    while (rc == CUSTOS_OK && n > 0) {
        d++;
        rc = covered(c, d, err);
        if (rc == CUSTOS_OK && session_of(c, d).settlement_day)
            n--;
    }
    if (rc == CUSTOS_OK)
        *out = d;
    return rc;
}
