#include "signopts.h"

#include <stddef.h>

bool at_sign_take_option(at_sign_opts *o, int opt, const char *arg)
{
    switch (opt) {
    case AT_OPT_HOLDINGS: o->holdings = arg; return true;
    case AT_OPT_ACCOUNT: o->account = arg; return true;
    case AT_OPT_FEED: o->feed = arg; return true;
    case AT_OPT_CHAIN_ID: o->chain_id = arg; return true;
    case AT_OPT_CONTRACT: o->contract = arg; return true;
    case AT_OPT_STATE: o->state = arg; return true;
    case AT_OPT_POLICY: o->policy = arg; return true;
    case AT_OPT_NOW: o->now = arg; return true;
    case AT_OPT_GATEWAY: o->gw.target = arg; return true;
    case AT_OPT_EXPORT: o->export_path = arg; return true;
    default:
        return at_key_take_option(&o->key, opt, arg) || at_gateway_take_option(&o->gw, opt, arg);
    }
}

const char *at_sign_missing(const at_sign_opts *o)
{
    const struct {
        const char *value, *flag;
    } required[] = {{o->holdings, "--holdings"}, {o->account, "--account"},
                    {o->feed, "--feed"},         {o->chain_id, "--chain-id"},
                    {o->contract, "--contract"}, {o->state, "--state"}};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        if (required[i].value == NULL)
            return required[i].flag;
    return at_key_given(&o->key) ? NULL : "--key";
}
