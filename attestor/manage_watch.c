/* When the collateral manager passes again (manage_watch.h). */
#include "manage_watch.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t watch_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Whether a pledge's account has a latest record other than the one its last pass read. */
static bool watch_new_valuation(at_manager *const *ms, size_t n, at_watch *w)
{
    uint64_t cursor = 0;
    uint8_t hash[CUSTOS_HASH_LEN];
    custos_error herr;
    if (n > 0 && custos_client_get_chain_head(ms[0]->client, &cursor, hash, &herr) == CUSTOS_OK) {
        if (cursor == w->gw_cursor)
            return false;
        w->gw_cursor = cursor;
    }
    bool changed = false;
    for (size_t i = 0; i < n && !changed; i++) {
        if (ms[i]->released)
            continue;
        custos_record rec;
        memset(&rec, 0, sizeof rec);
        custos_error err;
        if (custos_client_get_latest(ms[i]->client, ms[i]->account, &rec, &err) == CUSTOS_OK)
            changed = rec.cursor != ms[i]->cursor;
        custos_record_clear(&rec);
    }
    return changed;
}

at_watch_cause at_manage_wait(at_manager *const *ms, size_t n, at_chain *chain, at_watch *w,
                              uint64_t interval_ms, uint64_t poll_ms,
                              volatile sig_atomic_t *stop)
{
    uint64_t start = watch_now_ms();
    if (poll_ms == 0)
        poll_ms = 1;
    for (;;) {
        uint64_t next_poll = watch_now_ms() + poll_ms;
        while (!*stop && watch_now_ms() < next_poll && watch_now_ms() - start < interval_ms)
            usleep(10 * 1000);
        if (*stop)
            return AT_WATCH_STOP;
        if (watch_now_ms() - start >= interval_ms)
            return AT_WATCH_INTERVAL;
        uint64_t block = 0;
        custos_error err;
        if (chain != NULL && at_chain_head(chain, &block, &err) == CUSTOS_OK &&
            block != w->block) {
            w->block = block;
            return AT_WATCH_BLOCK;
        }
        if (watch_new_valuation(ms, n, w))
            return AT_WATCH_VALUATION;
    }
}
