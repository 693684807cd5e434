/* The publisher state's one entry point (pubstate.h): checks what every back end would
 * check alike, then calls the back end's function (pubstate_backend.h). */
#include "store/pubstate_backend.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct gw_pubstate {
    const gw_pubstate_ops *ops;
    void *impl;
};

static const char *const fate_names[] = {"skipped", "sent", "confirmed", "failed"};

const char *gw_pub_fate_name(gw_pub_fate f)
{
    if ((unsigned)f > GW_PUB_FAILED)
        return "unknown";
    return fate_names[f];
}

void gw_pub_row_clear(gw_pub_row *row)
{
    if (row == NULL)
        return;
    free(row->tx.raw);
    memset(row, 0, sizeof *row);
}

static custos_rc pubstate_open(const gw_pubstate_ops *ops, const char *where, gw_pubstate **out,
                               custos_error *err)
{
    *out = NULL;
    gw_pubstate *s = calloc(1, sizeof *s);
    if (s == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "publisher state: out of memory");
    custos_rc rc = ops->open(where, &s->impl, err);
    if (rc != CUSTOS_OK) {
        free(s);
        return rc;
    }
    s->ops = ops;
    *out = s;
    return CUSTOS_OK;
}

custos_rc gw_pubstate_open_sqlite(const char *path, gw_pubstate **out, custos_error *err)
{
    return pubstate_open(&gw_pubstate_sqlite_ops, path, out, err);
}

custos_rc gw_pubstate_open_pg(const char *conninfo, gw_pubstate **out, custos_error *err)
{
    return pubstate_open(&gw_pubstate_pg_ops, conninfo, out, err);
}

void gw_pubstate_close(gw_pubstate *s)
{
    if (s == NULL)
        return;
    s->ops->close(s->impl);
    free(s);
}

custos_rc gw_pubstate_cursor(gw_pubstate *s, uint64_t *cursor, custos_error *err)
{
    return s->ops->cursor(s->impl, cursor, err);
}

custos_rc gw_pubstate_advance(gw_pubstate *s, uint64_t cursor, custos_error *err)
{
    return s->ops->advance(s->impl, cursor, err);
}

static custos_rc check_tx(const gw_pub_tx *tx, custos_error *err)
{
    if (tx->raw == NULL || tx->raw_len == 0 || tx->raw_len > (size_t)INT32_MAX)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "publisher state: no raw transaction");
    return CUSTOS_OK;
}

/* A row as put stores it: a sent fate with its transaction, or, as a member of a batch
 * call (call set, batched), without one. */
static custos_rc check_row(const gw_pub_row *row, custos_error *err)
{
    if ((unsigned)row->fate > GW_PUB_FAILED)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "publisher state: no such fate");
    if (row->call != 0 && (!row->batched || row->has_tx || row->fate != GW_PUB_SENT))
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "publisher state: a member of a batch call is a sent batched "
                                "record without a transaction of its own");
    if (row->fate == GW_PUB_SENT && !row->has_tx && row->call == 0)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "publisher state: a sent fate needs its transaction");
    return row->has_tx ? check_tx(&row->tx, err) : CUSTOS_OK;
}

custos_rc gw_pubstate_put(gw_pubstate *s, const gw_pub_row *row, custos_error *err)
{
    custos_rc rc = check_row(row, err);
    return rc == CUSTOS_OK ? s->ops->put(s->impl, row, 1, 1, err) : rc;
}

custos_rc gw_pubstate_put_call(gw_pubstate *s, const gw_pub_row *rows, size_t n,
                               size_t first_promoted, custos_error *err)
{
    if (n == 0 || rows[0].fate != GW_PUB_SENT || !rows[0].has_tx || !rows[0].batched ||
        rows[0].call != 0)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "publisher state: a batch call starts with its sent "
                                "transaction");
    for (size_t i = 0; i < n; i++) {
        custos_rc rc = check_row(&rows[i], err);
        if (rc != CUSTOS_OK)
            return rc;
        bool member = rows[i].fate == GW_PUB_SENT && rows[i].call == rows[0].cursor;
        bool skipped = rows[i].fate == GW_PUB_SKIPPED && i < first_promoted;
        if (i > 0 && !member && !skipped)
            return custos_error_set(err, CUSTOS_ERR_INVALID,
                                    "publisher state: record %llu is not a member of the "
                                    "call of record %llu",
                                    (unsigned long long)rows[i].cursor,
                                    (unsigned long long)rows[0].cursor);
    }
    return s->ops->put(s->impl, rows, n, first_promoted, err);
}

custos_rc gw_pubstate_get(gw_pubstate *s, uint64_t cursor, gw_pub_row *out, custos_error *err)
{
    return s->ops->get(s->impl, cursor, out, err);
}

custos_rc gw_pubstate_replace_tx(gw_pubstate *s, uint64_t cursor, const gw_pub_tx *tx,
                                 custos_error *err)
{
    custos_rc rc = check_tx(tx, err);
    return rc == CUSTOS_OK ? s->ops->replace_tx(s->impl, cursor, tx, false, err) : rc;
}

custos_rc gw_pubstate_requeue_tx(gw_pubstate *s, uint64_t cursor, const gw_pub_tx *tx,
                                 custos_error *err)
{
    custos_rc rc = check_tx(tx, err);
    return rc == CUSTOS_OK ? s->ops->replace_tx(s->impl, cursor, tx, true, err) : rc;
}

custos_rc gw_pubstate_promote(gw_pubstate *s, const gw_pub_row *row, custos_error *err)
{
    if (row->fate == GW_PUB_SKIPPED || (unsigned)row->fate > GW_PUB_FAILED ||
        (row->fate == GW_PUB_SENT) != row->has_tx)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "publisher state: a promoted record is sent with its "
                                "transaction, or confirmed or failed without one");
    custos_rc rc = check_row(row, err);
    return rc == CUSTOS_OK ? s->ops->put(s->impl, row, 1, 0, err) : rc;
}

custos_rc gw_pubstate_finish(gw_pubstate *s, uint64_t cursor, gw_pub_fate fate,
                             const char *detail, custos_error *err)
{
    if (fate != GW_PUB_CONFIRMED && fate != GW_PUB_FAILED)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "publisher state: a sent record ends confirmed or failed");
    return s->ops->finish(s->impl, cursor, fate, detail != NULL ? detail : "", err);
}

custos_rc gw_pubstate_last_published(gw_pubstate *s, const uint8_t account[CUSTOS_HASH_LEN],
                                     gw_pub_row *out, custos_error *err)
{
    return s->ops->last_published(s->impl, account, out, err);
}

custos_rc gw_pubstate_list_sent(gw_pubstate *s, gw_pub_row **rows, size_t *n,
                                custos_error *err)
{
    return s->ops->list_sent(s->impl, rows, n, err);
}

custos_rc gw_pubstate_attempts(gw_pubstate *s, uint64_t cursor,
                               uint8_t hashes[][CUSTOS_HASH_LEN], size_t max, size_t *n,
                               custos_error *err)
{
    return s->ops->attempts(s->impl, cursor, hashes, max, n, err);
}

static uint64_t sql_time(uint64_t t)
{
    return t > GW_PUB_SQL_TIME_MAX ? GW_PUB_SQL_TIME_MAX : t;
}

custos_rc gw_pubstate_expiring(gw_pubstate *s, const char *feed, uint64_t valid_until_by,
                               uint64_t as_of_by, uint64_t next_valid_after,
                               gw_pub_expiring *out, size_t max, size_t *n,
                               custos_error *err)
{
    *n = 0;
    if (max == 0)
        return CUSTOS_OK;
    return s->ops->expiring(s->impl, feed, sql_time(valid_until_by), sql_time(as_of_by),
                            sql_time(next_valid_after), out, max, n, err);
}

custos_rc gw_pubstate_chain_summary(gw_pubstate *s, const char *feed, uint64_t valid_until_by,
                                    uint64_t as_of_by, gw_pub_chain_summary *out,
                                    custos_error *err)
{
    memset(out, 0, sizeof *out);
    return s->ops->chain_summary(s->impl, feed, sql_time(valid_until_by), sql_time(as_of_by),
                                 out, err);
}

custos_rc gw_pubstate_chain_feeds(gw_pubstate *s, char (*feeds)[CUSTOS_FEED_MAX + 1],
                                  size_t max, size_t *n, custos_error *err)
{
    *n = 0;
    return s->ops->chain_feeds(s->impl, feeds, max, n, err);
}

custos_rc gw_pubstate_unlabelled(gw_pubstate *s, uint64_t *cursors, size_t max, size_t *n,
                                 custos_error *err)
{
    *n = 0;
    return s->ops->unlabelled(s->impl, cursors, max, n, err);
}

custos_rc gw_pubstate_label(gw_pubstate *s, uint64_t cursor, const char *feed,
                            uint64_t valid_until, custos_error *err)
{
    if (feed[0] == '\0' || strlen(feed) > CUSTOS_FEED_MAX)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "publisher state: a feed name is 1 to %d bytes", CUSTOS_FEED_MAX);
    return s->ops->label(s->impl, cursor, feed, valid_until, err);
}
