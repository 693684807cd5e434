#include "context.h"

#include <string.h>
#include <time.h>

#include "cmd.h"
#include "custos/sig.h"

custos_rc at_context_clock(uint64_t *now, custos_error *err)
{
    time_t t = time(NULL);
    if (t < 0)
        return custos_error_set(err, CUSTOS_ERR_IO, "the system clock is unusable");
    *now = (uint64_t)t;
    return CUSTOS_OK;
}

custos_rc at_context_parse(const char *feed, const char *chain_id, const char *contract,
                           const char *now_text, custos_submission *s, uint64_t *now,
                           custos_error *err)
{
    size_t feed_len = strlen(feed);
    if (feed_len == 0 || feed_len > CUSTOS_FEED_MAX)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "--feed: 1 to %d bytes",
                                CUSTOS_FEED_MAX);
    memcpy(s->feed, feed, feed_len + 1);
    custos_rc rc = at_cmd_parse_u64("--chain-id", chain_id, &s->domain.chain_id, err);
    if (rc != CUSTOS_OK)
        return rc;
    if (s->domain.chain_id == 0)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "--chain-id: must not be 0");
    custos_error aerr;
    if (custos_address_from_hex(contract, s->domain.verifying_contract, &aerr) != CUSTOS_OK)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "--contract: '%.60s': %s", contract,
                                aerr.message);
    if (now_text != NULL)
        return at_cmd_parse_u64("--now", now_text, now, err);
    return at_context_clock(now, err);
}
