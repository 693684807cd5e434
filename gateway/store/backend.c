/* The one place that chooses a database from the configuration's [gateway] store: for
 * the store itself (engine, admin) and for the publisher's state. */
#include "store/pubstate.h"
#include "store/store.h"

bool gw_store_config_shared(const gw_config *cfg)
{
    return cfg->store_backend == GW_STORE_POSTGRESQL;
}

custos_rc gw_store_open(const gw_config *cfg, gw_store *out, custos_error *err)
{
    if (cfg->store_backend == GW_STORE_POSTGRESQL)
        return gw_store_open_pg(cfg->store_path, out, err);
    return gw_store_open_sqlite(cfg->store_path, out, err);
}

custos_rc gw_pubstate_open(const gw_config *cfg, gw_pubstate **out, custos_error *err)
{
    /* Replicas share the PostgreSQL store, and so the state: whichever publishes goes on
     * where the last one stopped. */
    if (cfg->store_backend == GW_STORE_POSTGRESQL)
        return gw_pubstate_open_pg(cfg->store_path, out, err);
    return gw_pubstate_open_sqlite(cfg->evm.state_path, out, err);
}
