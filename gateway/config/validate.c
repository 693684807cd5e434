/* What only the whole configuration file can tell (parser.h). */
#include "config/parser.h"
#include "rpc/proxy_identity.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Runs after [gateway] is known complete: the adapter defaults to, and must equal, the
 * EIP-712 verifying contract (attestations signed for one adapter only verify there). */
static void cfg_validate_evm(cfg_parser *p)
{
    gw_evm_config *e = &p->cfg->evm;
    snprintf(p->section, sizeof p->section, "evm");
    if (!p->has_rpc_url) {
        gw_cfg_fail(p, p->evm_line, "rpc_url", "required (the Ethereum node's JSON-RPC URL)");
        return;
    }
    bool hsm = e->relayer_pkcs11_module[0] != '\0' || e->relayer_pkcs11_token[0] != '\0' ||
               e->relayer_pkcs11_key[0] != '\0' || e->relayer_pkcs11_pin_file[0] != '\0';
    if (p->has_relayer_key && hsm) {
        gw_cfg_fail(p, p->relayer_pkcs11_line, "relayer_pkcs11_module",
                    "give relayer_key or the relayer_pkcs11_* keys of a token, not both");
        return;
    }
    if (!p->has_relayer_key && !hsm) {
        gw_cfg_fail(p, p->evm_line, "relayer_key",
                    "required (key file of the account paying gas), or relayer_pkcs11_module, "
                    "relayer_pkcs11_token and relayer_pkcs11_key for a key in a token");
        return;
    }
    static const char *const hsm_keys[] = {"relayer_pkcs11_module", "relayer_pkcs11_token",
                                           "relayer_pkcs11_key"};
    const char *hsm_values[] = {e->relayer_pkcs11_module, e->relayer_pkcs11_token,
                                e->relayer_pkcs11_key};
    for (size_t i = 0; hsm && i < sizeof hsm_keys / sizeof hsm_keys[0]; i++) {
        if (hsm_values[i][0] == '\0') {
            gw_cfg_fail(p, p->relayer_pkcs11_line, hsm_keys[i],
                        "required for a relayer key in a PKCS#11 token (with "
                        "relayer_pkcs11_module, relayer_pkcs11_token and relayer_pkcs11_key)");
            return;
        }
    }
    if (!p->has_adapter) {
        memcpy(e->adapter, p->cfg->domain.verifying_contract, CUSTOS_ADDRESS_LEN);
    } else if (memcmp(e->adapter, p->cfg->domain.verifying_contract, CUSTOS_ADDRESS_LEN) != 0) {
        gw_cfg_fail(p, p->evm_adapter_line, "adapter",
                    "differs from [gateway] verifying_contract: attestations signed for one "
                    "adapter are refused by any other");
        return;
    }
    if (p->has_state && p->cfg->store_backend == GW_STORE_POSTGRESQL) {
        gw_cfg_fail(p, p->evm_line, "state",
                    "not used with a PostgreSQL store: the publisher keeps its state in the same "
                    "database, shared by the replicas; remove the key (see README, Upgrading)");
    } else if (!p->has_state && p->cfg->store_backend == GW_STORE_SQLITE) {
        int n = snprintf(e->state_path, sizeof e->state_path, "%s%s", p->cfg->store_path,
                         CFG_EVM_STATE_SUFFIX);
        if (n < 0 || (size_t)n >= sizeof e->state_path)
            gw_cfg_fail(p, p->evm_line, "state",
                        "default path (store + \"%s\") is too long; set it",
                        CFG_EVM_STATE_SUFFIX);
    }
}

/* Contradictions only: whether the gateway may start without TLS is decided at start
 * (gw_tls_server_credentials), where the files are read too. */
static void cfg_validate_tls(cfg_parser *p)
{
    const gw_config *c = p->cfg;
    const gw_tls_config *t = &c->tls;
    snprintf(p->section, sizeof p->section, "tls");
    bool has_cert = t->cert[0] != '\0', has_key = t->key[0] != '\0';
    if (has_cert != has_key) {
        gw_cfg_fail(p, p->tls_line, has_cert ? "key" : "cert",
                    "required with %s (the server's PEM certificate chain and its private key)",
                    has_cert ? "cert" : "key");
        return;
    }
    if (t->insecure && (has_cert || t->client_ca[0] != '\0')) {
        gw_cfg_fail(p, p->tls_insecure_line, "insecure",
                    "true contradicts cert/key/client_ca: remove insecure to serve TLS");
        return;
    }
    if (t->client_ca[0] != '\0' && !has_cert) {
        gw_cfg_fail(p, p->tls_line, "client_ca", "needs cert and key (client certificates "
                    "only exist over TLS)");
        return;
    }
    char why[300];
    const char *bad = gw_proxy_identity_check(c, why, sizeof why);
    if (bad != NULL) {
        gw_cfg_fail(p, strcmp(bad, "client_identity") == 0 ? p->tls_identity_line
                                                           : p->tls_header_line,
                    bad, "%s", why);
        return;
    }
    for (size_t i = 0; i < c->n_clients && !p->failed; i++) {
        const gw_client *cl = &c->clients[i];
        const cfg_client_lines *ll = &p->client_lines[i];
        snprintf(p->section, sizeof p->section, "client %s", cl->name);
        if (!gw_identity_known(c)) {
            gw_cfg_fail(p, ll->header, NULL, "[client] entries need [tls] client_ca (or "
                        "client_identity = proxy-header behind the front proxy): without "
                        "client certificates no caller can be identified");
        } else if (!ll->has_role) {
            gw_cfg_fail(p, ll->header, "role", "required (attestor, admin or reader)");
        } else if (cl->role == GW_CLIENT_ATTESTOR && cl->n_feeds == 0) {
            gw_cfg_fail(p, ll->header, "feeds", "required for an attestor (the feeds it may "
                        "submit for)");
        } else if (cl->role == GW_CLIENT_ADMIN && cl->n_feeds > 0) {
            gw_cfg_fail(p, ll->feeds, "feeds", "an admin reads every feed: remove feeds");
        }
        for (size_t j = 0; j < cl->n_feeds && !p->failed; j++)
            if (gw_config_find_feed(c, cl->feeds[j]) == NULL)
                gw_cfg_fail(p, ll->feeds, "feeds", "no [feed %s] section defines this feed",
                            cl->feeds[j]);
    }
}

static void cfg_validate_sections(cfg_parser *p)
{
    gw_config *c = p->cfg;
    if (!p->have_gateway) {
        custos_error_set(p->err, CUSTOS_ERR_INVALID, "%s: the [gateway] section is missing",
                         p->path);
        p->failed = true;
        return;
    }
    snprintf(p->section, sizeof p->section, "gateway");
    if (!p->has_store)
        gw_cfg_fail(p, p->gateway_line, "store",
                    "required (path of the SQLite database, or a postgresql:// URI)");
    if (!p->has_chain_id)
        gw_cfg_fail(p, p->gateway_line, "chain_id", "required");
    if (!p->has_contract)
        gw_cfg_fail(p, p->gateway_line, "verifying_contract", "required (the adapter's address)");

    if (p->have_evm && !p->failed)
        cfg_validate_evm(p);
    if (p->have_evm && c->release_unchecked && !p->failed) {
        snprintf(p->section, sizeof p->section, "gateway");
        gw_cfg_fail(p, p->release_unchecked_line, "release_without_exposure_check",
                    "not allowed with [evm]: a gateway that reads the chain always checks a "
                    "release's exposure (rule 11); remove the key");
    }
    if (p->have_metrics && !p->has_metrics_listen && !p->failed) {
        snprintf(p->section, sizeof p->section, "metrics");
        gw_cfg_fail(p, p->metrics_line, "listen", "required (e.g. 127.0.0.1:9464)");
    }

    if (!p->failed)
        cfg_validate_tls(p);

    for (size_t i = 0; i < c->n_signers && !p->failed; i++) {
        gw_signer *s = &c->signers[i];
        cfg_signer_lines *sl = &p->signer_lines[i];
        snprintf(p->section, sizeof p->section, "%s", sl->section);
        if (!sl->has_address) {
            gw_cfg_fail(p, sl->header, "address", "required");
            break;
        }
        if (!sl->has_feed) {
            gw_cfg_fail(p, sl->header, "feed", "required");
            break;
        }
        if (gw_config_find_feed(c, s->feed) == NULL) {
            gw_cfg_fail(p, sl->feed, "feed", "no [feed %s] section defines this feed", s->feed);
            break;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(c->signers[j].feed, s->feed) == 0 &&
                memcmp(c->signers[j].address, s->address, CUSTOS_ADDRESS_LEN) == 0) {
                gw_cfg_fail(p, sl->address, "address",
                            "already listed for feed '%s' in [%s] at line %d", s->feed,
                            p->signer_lines[j].section, p->signer_lines[j].header);
                break;
            }
        }
    }

    for (size_t i = 0; i < c->n_feeds && !p->failed; i++) {
        const gw_feed *f = &c->feeds[i];
        bool roles[GW_ROLE_COUNT] = {false};
        uint32_t signers = 0, distinct = 0;
        for (size_t j = 0; j < c->n_signers; j++) {
            const gw_signer *s = &c->signers[j];
            if (!s->active || strcmp(s->feed, f->name) != 0)
                continue;
            signers++;
            if (!roles[s->role]) {
                roles[s->role] = true;
                distinct++;
            }
        }
        uint32_t reachable = f->distinct_roles ? distinct : signers;
        if (reachable < f->threshold) {
            snprintf(p->section, sizeof p->section, "feed %s", f->name);
            int line = p->feed_lines[i].threshold ? p->feed_lines[i].threshold
                                                  : p->feed_lines[i].header;
            gw_cfg_fail(p, line, "threshold",
                        "%" PRIu32 " can never be reached: the feed has %" PRIu32
                        " active signer%s%s", f->threshold, reachable, reachable == 1 ? "" : "s",
                        f->distinct_roles ? " with distinct roles" : "");
        }
    }
}

/* A breaker needs its larger quorum, and a larger quorum means nothing without a breaker. */
static void cfg_validate_breaker(cfg_parser *p)
{
    gw_config *c = p->cfg;
    for (size_t i = 0; i < c->n_feeds && !p->failed; i++) {
        const gw_feed *f = &c->feeds[i];
        const cfg_feed_lines *fl = &p->feed_lines[i];
        snprintf(p->section, sizeof p->section, "feed %s", f->name);
        if (f->breaker_rise_bps == 0 && fl->breaker_release_threshold != 0)
            gw_cfg_fail(p, fl->breaker_release_threshold, "breaker_release_threshold",
                        "has no effect without breaker_rise_bps above 0");
        else if (f->breaker_rise_bps != 0 && fl->breaker_release_threshold == 0)
            gw_cfg_fail(p, fl->breaker_rise_bps, "breaker_rise_bps",
                        "needs breaker_release_threshold (the signers that publish a held rise)");
        else if (f->breaker_rise_bps != 0 && f->breaker_release_threshold <= f->threshold)
            gw_cfg_fail(p, fl->breaker_release_threshold, "breaker_release_threshold",
                        "must exceed threshold (%" PRIu32 "), got %" PRIu32, f->threshold,
                        f->breaker_release_threshold);
        else if (f->breaker_rise_bps != 0 && f->distinct_roles &&
                 f->breaker_release_threshold > GW_ROLE_COUNT)
            gw_cfg_fail(p, fl->breaker_release_threshold, "breaker_release_threshold",
                        "counts distinct roles on this feed (distinct_roles = true): at most "
                        "%d, got %" PRIu32, GW_ROLE_COUNT, f->breaker_release_threshold);
    }
}

/* Index of the [signer] of feed with address, or n when none. */
static size_t cfg_signer_index(const gw_config *c, const char *feed,
                               const uint8_t address[CUSTOS_ADDRESS_LEN])
{
    for (size_t j = 0; j < c->n_signers; j++)
        if (strcmp(c->signers[j].feed, feed) == 0 &&
            memcmp(c->signers[j].address, address, CUSTOS_ADDRESS_LEN) == 0)
            return j;
    return c->n_signers;
}

/* Rule 2: a rotated-out key (not_after) names the key that replaced it (replaced_by), of
 * the same feed and role, as the adapter's rotateSigner hands the new key the old one's
 * slot: the two are one signing party. Each key replaces at most one, and no chain of
 * replacements comes back to where it started. */
static void cfg_validate_rotations(cfg_parser *p)
{
    const gw_config *c = p->cfg;
    for (size_t i = 0; i < c->n_signers && !p->failed; i++) {
        const gw_signer *s = &c->signers[i];
        const cfg_signer_lines *sl = &p->signer_lines[i];
        snprintf(p->section, sizeof p->section, "%s", sl->section);
        if (s->not_after != 0 && !s->rotated) {
            gw_cfg_fail(p, sl->not_after, "not_after",
                        "marks a rotated-out key: name the key that replaced it with "
                        "replaced_by (the two keys of one party count as one signer)");
            return;
        }
        if (!s->rotated)
            continue;
        if (s->not_after == 0) {
            gw_cfg_fail(p, sl->replaced_by, "replaced_by",
                        "needs not_after (the end of this key's overlap window)");
            return;
        }
        size_t j = cfg_signer_index(c, s->feed, s->replaced_by);
        if (j == i) {
            gw_cfg_fail(p, sl->replaced_by, "replaced_by", "names this key itself");
            return;
        }
        if (j == c->n_signers) {
            gw_cfg_fail(p, sl->replaced_by, "replaced_by",
                        "no [signer] section lists this address for feed '%s'", s->feed);
            return;
        }
        if (c->signers[j].role != s->role) {
            gw_cfg_fail(p, sl->replaced_by, "replaced_by",
                        "[%s] is %s and this key %s: a rotation keeps the role",
                        p->signer_lines[j].section, gw_role_name(c->signers[j].role),
                        gw_role_name(s->role));
            return;
        }
        for (size_t k = 0; k < i; k++) {
            if (c->signers[k].rotated && strcmp(c->signers[k].feed, s->feed) == 0 &&
                memcmp(c->signers[k].replaced_by, s->replaced_by, CUSTOS_ADDRESS_LEN) == 0) {
                gw_cfg_fail(p, sl->replaced_by, "replaced_by",
                            "that key already replaces [%s]: a key takes one key's place",
                            p->signer_lines[k].section);
                return;
            }
        }
        /* Each key replaces at most one, so a chain longer than the list is a cycle. */
        size_t at = j, steps = 0;
        while (c->signers[at].rotated && steps <= c->n_signers) {
            at = cfg_signer_index(c, s->feed, c->signers[at].replaced_by);
            if (at == c->n_signers || at == i)
                break;
            steps++;
        }
        if (at == i || steps > c->n_signers) {
            gw_cfg_fail(p, sl->replaced_by, "replaced_by",
                        "the replacements come back to this key: a cycle");
            return;
        }
    }
}

/* max_age or max_age_business_days, not both; the calendar is loaded (and its errors
 * reported) only when a feed counts business days, so a feed in seconds needs none. */
static void cfg_validate_age(cfg_parser *p)
{
    gw_config *c = p->cfg;
    bool in_days = false;
    for (size_t i = 0; i < c->n_feeds && !p->failed; i++) {
        const cfg_feed_lines *fl = &p->feed_lines[i];
        if (fl->max_age_business_days == 0)
            continue;
        in_days = true;
        if (fl->max_age != 0) {
            snprintf(p->section, sizeof p->section, "feed %s", c->feeds[i].name);
            gw_cfg_fail(p, fl->max_age_business_days, "max_age_business_days",
                        "give max_age (line %d) or max_age_business_days, not both", fl->max_age);
        }
    }
    if (p->failed || !in_days) {
        if (!p->failed && p->calendar_line != 0) {
            snprintf(p->section, sizeof p->section, "gateway");
            gw_cfg_fail(p, p->calendar_line, "calendar",
                        "no feed sets max_age_business_days, so no calendar is used");
        }
        return;
    }
    c->calendar = calloc(1, sizeof *c->calendar);
    if (c->calendar == NULL) {
        custos_error_set(p->err, CUSTOS_ERR_NOMEM, "%s: out of memory", p->path);
        p->failed = true;
        return;
    }
    custos_error e;
    custos_error_clear(&e);
    custos_rc rc = c->calendar_path[0] != '\0'
                       ? custos_calendar_load(c->calendar_path, c->calendar, &e)
                       : custos_calendar_load_builtin(c->calendar, &e);
    if (rc != CUSTOS_OK) {
        snprintf(p->section, sizeof p->section, "gateway");
        if (p->calendar_line != 0)
            gw_cfg_fail(p, p->calendar_line, "calendar", "%s", e.message);
        else
            custos_error_set(p->err, rc, "%s: the built-in calendar: %s", p->path, e.message);
        p->failed = true;
        return;
    }
    for (size_t i = 0; i < c->n_feeds; i++)
        if (c->feeds[i].max_age_business_days != 0)
            c->feeds[i].calendar = c->calendar;
}

void gw_cfg_validate(cfg_parser *p)
{
    cfg_validate_sections(p);
    if (!p->failed)
        cfg_validate_age(p);
    if (!p->failed)
        cfg_validate_breaker(p);
    if (!p->failed)
        cfg_validate_rotations(p);
    if (!p->failed)
        gw_cfg_validate_accounts(p);
}
