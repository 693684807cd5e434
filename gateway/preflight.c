#include "preflight.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "custos/sig.h"

#include "evm/relayer.h"
#include "metrics_http.h"
#include "store/store.h"
#include "tls.h"

static custos_rc pf_tls(const gw_config *cfg, custos_error *err)
{
    gw_tls_files files;
    custos_rc rc = gw_tls_files_read(cfg, &files, err);
    if (rc == CUSTOS_OK)
        gw_tls_files_free(&files);
    return rc;
}

static custos_rc pf_relayer(const gw_config *cfg, custos_error *err)
{
    if (!cfg->evm.enabled)
        return CUSTOS_OK;
    custos_secp *secp = custos_secp_new();
    if (secp == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "relayer key: out of memory");
    gw_relayer *r = NULL;
    custos_rc rc = gw_relayer_open(&cfg->evm, secp, &r, err);
    gw_relayer_free(r);
    custos_secp_free(secp);
    return rc;
}

/* Whether this process, by its effective ids as start would open the file, may. */
static bool pf_may(const char *path, int mode)
{
    return faccessat(AT_FDCWD, path, mode, AT_EACCESS) == 0;
}

/* A SQLite file start would open or create: an existing one readable and writable, else
 * a directory this user may create it in. what names the config key. */
static custos_rc pf_sqlite_path(const char *path, const char *what, custos_error *err)
{
    if (pf_may(path, F_OK)) {
        if (!pf_may(path, R_OK | W_OK))
            return custos_error_set(err, CUSTOS_ERR_IO,
                                    "%s %s: cannot read and write it: %s", what, path,
                                    strerror(errno));
        return CUSTOS_OK;
    }
    char dir[sizeof ((gw_config *)0)->store_path];
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    if (!pf_may(dir, W_OK | X_OK))
        return custos_error_set(err, CUSTOS_ERR_IO,
                                "%s %s: cannot create it in %s: %s", what, path, dir,
                                strerror(errno));
    return CUSTOS_OK;
}

static custos_rc pf_store(const gw_config *cfg, custos_error *err)
{
    if (gw_store_config_shared(cfg))
        return CUSTOS_OK;
    custos_rc rc = pf_sqlite_path(cfg->store_path, "[gateway] store", err);
    if (rc == CUSTOS_OK && cfg->evm.enabled)
        rc = pf_sqlite_path(cfg->evm.state_path, "[evm] state", err);
    return rc;
}

static custos_rc pf_metrics(const gw_config *cfg, custos_error *err)
{
    if (!cfg->metrics.enabled)
        return CUSTOS_OK;
    return gw_metrics_http_check_listen(cfg->metrics.listen, err);
}

/* In the order start meets them. */
static custos_rc (*const preflight_checks[])(const gw_config *, custos_error *) = {
    pf_store,
    pf_tls,
    pf_relayer,
    pf_metrics,
};

custos_rc gw_preflight(const gw_config *cfg, custos_error *err)
{
    for (size_t i = 0; i < sizeof preflight_checks / sizeof preflight_checks[0]; i++) {
        custos_rc rc = preflight_checks[i](cfg, err);
        if (rc != CUSTOS_OK)
            return rc;
    }
    return CUSTOS_OK;
}
