/* Reloads and admin changes of the signer allow-list (admin.h). */
#include "admin.h"
#include "admin_list.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "custos/hex.h"
#include "custos/sig.h"

#include "audit.h"
#include "audit_anchor.h"
#include "log.h"
#include "metrics.h"
#include "monotonic.h"
#include "registry.h"
#include "store/store.h"

/* Audit entries read per step when composing the list in force. */
#define ADMIN_PAGE 256

struct gw_admin {
    const gw_config *cfg;   /* as started: the settings a reload cannot change */
    gw_engine *engine;
    gw_store store;         /* its own session: the committer owns the engine's */
    pthread_mutex_t lock;   /* one change at a time; guards the file's lists below */
    gw_feed *feeds;         /* the config file's, as last loaded */
    size_t n_feeds;
    custos_calendar calendar; /* a copy of that file's calendar, which feeds point to */
    gw_signer *signers;
    size_t n_signers;
    gw_account *accounts;   /* the file's registrations, sorted (rule 9) */
    size_t n_accounts;
    uint64_t seen_seq;      /* the last audit entry the list in force was composed from */
    uint64_t anchored_seq;  /* the last head written to [gateway] audit_anchor */
    /* With a shared (PostgreSQL) store, a thread installs the admin changes other
     * replicas record: every replica_poll_ms it looks for audit entries after seen_seq. */
    bool follow_ready;      /* follow_lock and follow_wake exist */
    pthread_mutex_t follow_lock;
    pthread_cond_t follow_wake;
    bool follow_stop;
    bool following;
    pthread_t follower;
    bool follow_failing;    /* the follower's own: logs a failure once, not every poll */
};

/* What composing checks of the audit log before applying it (rule 13): every entry
 * follows from the one before (seq, prev_hash, hash), and the head kept in the anchor
 * file, if any, is still in the log. */
typedef struct chain_walk {
    uint64_t seq;                     /* the last entry checked */
    uint8_t hash[CUSTOS_AUDIT_HASH_LEN];
    bool anchored;                    /* the anchor file holds a head */
    uint64_t anchor_seq;
    uint8_t anchor_hash[CUSTOS_AUDIT_HASH_LEN];
} chain_walk;

static custos_rc walk_start(const gw_admin *a, chain_walk *w, custos_error *err)
{
    memset(w, 0, sizeof *w);
    if (a->cfg->audit_anchor[0] == '\0')
        return CUSTOS_OK;
    return gw_anchor_read(a->cfg->audit_anchor, &w->anchored, &w->anchor_seq, w->anchor_hash,
                          err);
}

/* Checks page (n entries, after those already walked). */
static custos_rc walk_page(const gw_admin *a, chain_walk *w, const custos_audit_entry *page,
                           size_t n, custos_error *err)
{
    size_t good = custos_audit_verify(w->seq, w->hash, page, n);
    for (size_t i = 0; i < good; i++) {
        if (w->anchored && page[i].seq == w->anchor_seq &&
            memcmp(page[i].hash, w->anchor_hash, CUSTOS_AUDIT_HASH_LEN) != 0)
            return custos_error_set(err, CUSTOS_ERR_INTERNAL,
                                    "the audit log does not match the anchor file %s at entry "
                                    "%" PRIu64 ": entries up to it were replaced; refusing to "
                                    "apply it (restore the store from a backup)",
                                    a->cfg->audit_anchor, page[i].seq);
    }
    if (good > 0) {
        w->seq = page[good - 1].seq;
        memcpy(w->hash, page[good - 1].hash, CUSTOS_AUDIT_HASH_LEN);
    }
    if (good < n)
        return custos_error_set(err, CUSTOS_ERR_INTERNAL,
                                "the audit log's hash chain is broken at entry %" PRIu64
                                " (after entry %" PRIu64 "): an entry was inserted, changed or "
                                "removed; refusing to apply it (restore the store from a "
                                "backup)", page[good].seq, w->seq);
    return CUSTOS_OK;
}

static custos_rc walk_end(const gw_admin *a, const chain_walk *w, custos_error *err)
{
    if (w->anchored && w->seq < w->anchor_seq)
        return custos_error_set(err, CUSTOS_ERR_INTERNAL,
                                "the audit log ends at entry %" PRIu64 " but the anchor file "
                                "%s records entry %" PRIu64 ": the newest entries were removed; "
                                "refusing to apply it (restore the store from a backup)",
                                w->seq, a->cfg->audit_anchor, w->anchor_seq);
    return CUSTOS_OK;
}

/* Appends the head to the anchor file when it moved since the last one written. */
static custos_rc admin_anchor(gw_admin *a, uint64_t seq, const uint8_t *hash,
                              custos_error *err)
{
    if (a->cfg->audit_anchor[0] == '\0' || seq == 0 || seq <= a->anchored_seq)
        return CUSTOS_OK;
    custos_rc rc = gw_anchor_append(a->cfg->audit_anchor, seq, hash, err);
    if (rc == CUSTOS_OK)
        a->anchored_seq = seq;
    return rc;
}

/* The list in force: the file's entries (base), then every admin change in the audit log,
 * once the log's chain is checked. */
static custos_rc admin_compose_from(gw_admin *a, const admin_base *base, admin_list *l,
                                    custos_error *err)
{
    chain_walk w;
    custos_rc rc = walk_start(a, &w, err);
    if (rc != CUSTOS_OK)
        return rc;
    rc = admin_list_from(l, base, err);
    if (rc != CUSTOS_OK)
        return rc;
    custos_audit_entry *page = calloc(ADMIN_PAGE, sizeof *page);
    if (page == NULL) {
        admin_list_clear(l);
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "admin: out of memory");
    }
    uint64_t after = 0;
    for (;;) {
        size_t n = 0;
        rc = gw_store_read_audit(&a->store, after, page, ADMIN_PAGE, &n, err);
        if (rc == CUSTOS_OK)
            rc = walk_page(a, &w, page, n, err);
        for (size_t i = 0; i < n; i++) {
            if (rc == CUSTOS_OK)
                rc = admin_list_apply(l, &page[i], err);
            after = page[i].seq;
            custos_audit_entry_clear(&page[i]);
        }
        if (rc != CUSTOS_OK || n < ADMIN_PAGE)
            break;
    }
    free(page);
    if (rc == CUSTOS_OK)
        rc = walk_end(a, &w, err);
    /* The file already holds its last head: not written again. */
    if (rc == CUSTOS_OK && w.anchored && w.anchor_seq > a->anchored_seq)
        a->anchored_seq = w.anchor_seq;
    if (rc == CUSTOS_OK)
        rc = admin_anchor(a, w.seq, w.hash, err);
    if (rc == CUSTOS_OK)
        rc = admin_list_finish(l, err);
    if (rc != CUSTOS_OK)
        admin_list_clear(l);
    else
        a->seen_seq = after;
    return rc;
}

static custos_rc admin_compose(gw_admin *a, admin_list *l, custos_error *err)
{
    admin_base base = {a->feeds, a->n_feeds, a->signers, a->n_signers, a->accounts,
                       a->n_accounts};
    return admin_compose_from(a, &base, l, err);
}

/* Puts l in force. The registry's snapshot takes l's registrations rather than a copy of
 * them (l->accounts is NULL afterwards): at millions of accounts each copy is hundreds of
 * MiB. */
static custos_rc admin_install(gw_admin *a, admin_list *l, custos_error *err)
{
    gw_config view;
    memset(&view, 0, sizeof view);
    view.feeds = l->feeds;
    view.n_feeds = l->n_feeds;
    view.signers = l->signers;
    view.n_signers = l->n_signers;
    /* Without the room left for registrations (up to as many again after one was added):
     * the snapshot keeps the array. Should shrinking fail, the larger one serves. */
    if (l->accounts_cap > l->n_accounts && l->n_accounts > 0) {
        gw_account *fitted = realloc(l->accounts, l->n_accounts * sizeof *fitted);
        if (fitted != NULL) {
            l->accounts = fitted;
            l->accounts_cap = l->n_accounts;
        }
    }
    view.accounts = l->accounts;
    view.n_accounts = l->n_accounts;
    custos_rc rc =
        gw_registry_replace_taking(gw_engine_registry(a->engine), &view, &l->accounts, err);
    if (rc == CUSTOS_OK)
        gw_metrics_set_feed_limits(l->feeds, l->n_feeds);
    return rc;
}

/* Composes the list in force and installs it: at start, after a reload, and when other
 * replicas recorded changes. */
static custos_rc admin_refresh(gw_admin *a, custos_error *err)
{
    admin_list l;
    custos_rc rc = admin_compose(a, &l, err);
    if (rc == CUSTOS_OK) {
        rc = admin_install(a, &l, err);
        admin_list_clear(&l);
    }
    return rc;
}

/* Takes the lock and composes the list in force, as every change starts; on failure
 * releases the lock and says why in detail. */
static bool admin_lock_compose(gw_admin *a, admin_list *l, char *detail, size_t cap)
{
    custos_error err;
    pthread_mutex_lock(&a->lock);
    if (admin_compose(a, l, &err) == CUSTOS_OK)
        return true;
    pthread_mutex_unlock(&a->lock);
    snprintf(detail, cap, "nothing changed: %s", err.message);
    return false;
}

/* Keeps copies of cfg's feeds and signers as the file's lists. */
static custos_rc admin_set_base(gw_admin *a, const gw_config *cfg, custos_error *err)
{
    gw_feed *feeds = calloc(cfg->n_feeds > 0 ? cfg->n_feeds : 1, sizeof *feeds);
    gw_signer *signers = calloc(cfg->n_signers > 0 ? cfg->n_signers : 1, sizeof *signers);
    gw_account *accounts = calloc(cfg->n_accounts > 0 ? cfg->n_accounts : 1, sizeof *accounts);
    if (feeds == NULL || signers == NULL || accounts == NULL) {
        free(feeds);
        free(signers);
        free(accounts);
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "admin: out of memory");
    }
    if (cfg->n_accounts > 0)
        memcpy(accounts, cfg->accounts, cfg->n_accounts * sizeof *accounts);
    if (cfg->n_feeds > 0)
        memcpy(feeds, cfg->feeds, cfg->n_feeds * sizeof *feeds);
    if (cfg->n_signers > 0)
        memcpy(signers, cfg->signers, cfg->n_signers * sizeof *signers);
    /* cfg may be a reloaded file's, freed once installed: keep its calendar. */
    custos_rc rc = gw_feeds_own_calendar(feeds, cfg->n_feeds, &a->calendar, err);
    if (rc != CUSTOS_OK) {
        free(feeds);
        free(signers);
        free(accounts);
        return rc;
    }
    free(a->feeds);
    free(a->signers);
    free(a->accounts);
    a->feeds = feeds;
    a->n_feeds = cfg->n_feeds;
    a->signers = signers;
    a->n_signers = cfg->n_signers;
    a->accounts = accounts;
    a->n_accounts = cfg->n_accounts;
    return CUSTOS_OK;
}

/* Installs what other replicas recorded since the list in force was composed: a
 * signer revoked through one replica is refused by all of them within replica_poll_ms. */
static void admin_follow_once(gw_admin *a)
{
    custos_error err;
    custos_error_clear(&err);
    custos_audit_entry next;
    size_t n = 0;
    bool installed = false;
    pthread_mutex_lock(&a->lock);
    uint64_t from = a->seen_seq;
    custos_rc rc = gw_store_read_audit(&a->store, from, &next, 1, &n, &err);
    if (rc == CUSTOS_OK && n == 1) {
        custos_audit_entry_clear(&next);
        rc = admin_refresh(a, &err);
        installed = rc == CUSTOS_OK;
    }
    uint64_t seen = a->seen_seq;
    pthread_mutex_unlock(&a->lock);
    if (rc != CUSTOS_OK) {
        if (!a->follow_failing)
            gw_log(GW_LOG_ERROR, "admin",
                   "cannot follow the audit log for other replicas' changes (%s); still "
                   "serving with the signers and feeds in force, retrying",
                   err.message);
        a->follow_failing = true;
        return;
    }
    if (a->follow_failing)
        gw_log(GW_LOG_INFO, "admin", "following the audit log again");
    a->follow_failing = false;
    if (installed && seen > from) {
        gw_policy *p = gw_registry_acquire(gw_engine_registry(a->engine));
        gw_log(GW_LOG_INFO, "admin",
               "audit entries %" PRIu64 " to %" PRIu64 " are in force: %zu feeds, %zu "
               "signers, %zu registered accounts (generation %" PRIu64 ")",
               from + 1, seen, p->n_feeds, p->n_signers, p->n_accounts, p->generation);
        gw_policy_release(p);
    }
}

static void *admin_follow_main(void *arg)
{
    gw_admin *a = arg;
    (void)pthread_setname_np(pthread_self(), "custos-admin");
    pthread_mutex_lock(&a->follow_lock);
    while (!a->follow_stop) {
        struct timespec until;
        gw_mono_deadline(&until, (uint64_t)a->cfg->replica_poll_ms * 1000000u);
        (void)pthread_cond_timedwait(&a->follow_wake, &a->follow_lock, &until);
        if (a->follow_stop)
            break;
        pthread_mutex_unlock(&a->follow_lock);
        admin_follow_once(a);
        pthread_mutex_lock(&a->follow_lock);
    }
    pthread_mutex_unlock(&a->follow_lock);
    return NULL;
}

static custos_rc admin_follow_start(gw_admin *a, custos_error *err)
{
    if (gw_cond_init_monotonic(&a->follow_wake) != 0)
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "admin: cannot create a condition");
    if (pthread_mutex_init(&a->follow_lock, NULL) != 0) {
        pthread_cond_destroy(&a->follow_wake);
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "admin: cannot create a lock");
    }
    a->follow_ready = true;
    if (pthread_create(&a->follower, NULL, admin_follow_main, a) != 0)
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "admin: cannot start a thread");
    a->following = true;
    return CUSTOS_OK;
}

custos_rc gw_admin_new(const gw_config *cfg, gw_engine *engine, gw_admin **out,
                       custos_error *err)
{
    *out = NULL;
    gw_admin *a = calloc(1, sizeof *a);
    if (a == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "admin: out of memory");
    a->cfg = cfg;
    a->engine = engine;
    if (pthread_mutex_init(&a->lock, NULL) != 0) {
        free(a);
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "admin: cannot create a lock");
    }
    custos_rc rc = gw_store_open(cfg, &a->store, err);
    chain_walk kept;
    if (rc == CUSTOS_OK)
        rc = walk_start(a, &kept, err);
    if (rc == CUSTOS_OK)
        rc = admin_set_base(a, cfg, err);
    if (rc == CUSTOS_OK)
        rc = admin_refresh(a, err);
    /* Entries after the anchored head chain on correctly but were never anchored: written
     * by another replica, by an operator release just before a stop, or by someone
     * writing the store directly. They are applied; say so, for an auditor to look. */
    if (rc == CUSTOS_OK && kept.anchored && a->seen_seq > kept.anchor_seq)
        gw_log(GW_LOG_WARN, "audit",
               "audit entries %" PRIu64 " to %" PRIu64 " were written after the head last "
               "anchored in %s and are applied; check them (custos audit list --after %" PRIu64
               ")", kept.anchor_seq + 1, a->seen_seq, cfg->audit_anchor, kept.anchor_seq);
    if (rc == CUSTOS_OK && gw_store_shared(&a->store) && cfg->replica_poll_ms > 0)
        rc = admin_follow_start(a, err);
    if (rc != CUSTOS_OK) {
        gw_admin_free(a);
        return rc;
    }
    *out = a;
    return CUSTOS_OK;
}

void gw_admin_free(gw_admin *a)
{
    if (a == NULL)
        return;
    if (a->following) {
        pthread_mutex_lock(&a->follow_lock);
        a->follow_stop = true;
        pthread_cond_signal(&a->follow_wake);
        pthread_mutex_unlock(&a->follow_lock);
        pthread_join(a->follower, NULL);
    }
    if (a->follow_ready) {
        pthread_cond_destroy(&a->follow_wake);
        pthread_mutex_destroy(&a->follow_lock);
    }
    gw_store_close(&a->store);
    pthread_mutex_destroy(&a->lock);
    free(a->feeds);
    free(a->signers);
    free(a->accounts);
    custos_calendar_free(&a->calendar);
    free(a);
}

static uint64_t admin_now(void)
{
    time_t now = time(NULL);
    return now > 0 ? (uint64_t)now : 0;
}

/* Anchors the head after an entry this gateway wrote, on the chain composing checked
 * just before under the lock. The entry is committed whatever happens here: a failure is
 * logged, and the next composition anchors the head again. */
static void admin_anchor_written(gw_admin *a)
{
    if (a->cfg->audit_anchor[0] == '\0')
        return;
    custos_error err;
    custos_error_clear(&err);
    uint64_t seq = 0;
    uint8_t hash[CUSTOS_AUDIT_HASH_LEN];
    custos_rc rc = gw_store_audit_head(&a->store, &seq, hash, &err);
    if (rc == CUSTOS_OK)
        rc = admin_anchor(a, seq, hash, &err);
    if (rc != CUSTOS_OK)
        gw_log(GW_LOG_ERROR, "admin", "the audit log's head was not anchored: %s",
               err.message);
}

/* Writes one audit entry in its own transaction. */
static custos_rc admin_record(gw_admin *a, const char *actor, const char *action,
                              const char *payload, size_t len, uint64_t *seq,
                              custos_error *err)
{
    custos_rc rc = gw_store_begin(&a->store, err);
    if (rc == CUSTOS_OK)
        rc = gw_audit_append(&a->store, actor, action, (const uint8_t *)payload, len,
                             admin_now(), seq, err);
    if (rc == CUSTOS_OK)
        rc = gw_store_commit(&a->store, err);
    else
        gw_store_rollback(&a->store);
    if (rc == CUSTOS_OK)
        admin_anchor_written(a);
    return rc;
}

/* The settings a reload cannot change in a running gateway, by name, or NULL when the
 * two files agree on all of them. */
static const char *restart_only_change(const gw_config *a, const gw_config *b)
{
    if (strcmp(a->listen, b->listen) != 0)
        return "[gateway] listen";
    if (strcmp(a->store_path, b->store_path) != 0)
        return "[gateway] store";
    if (a->domain.chain_id != b->domain.chain_id ||
        memcmp(a->domain.verifying_contract, b->domain.verifying_contract,
               CUSTOS_ADDRESS_LEN) != 0)
        return "the EIP-712 domain";
    if (a->max_message_bytes != b->max_message_bytes || a->workers != b->workers ||
        a->commit_batch_max != b->commit_batch_max || a->commit_delay_us != b->commit_delay_us ||
        a->max_rotation_overlap != b->max_rotation_overlap)
        return "[gateway] limits, workers, commit grouping or max_rotation_overlap";
    if (strcmp(a->audit_anchor, b->audit_anchor) != 0)
        return "[gateway] audit_anchor";
    if (memcmp(&a->evm, &b->evm, sizeof a->evm) != 0)
        return "[evm]";
    if (memcmp(&a->metrics, &b->metrics, sizeof a->metrics) != 0)
        return "[metrics]";
    if (memcmp(&a->tls, &b->tls, sizeof a->tls) != 0)
        return "[tls]";
    if (a->n_clients != b->n_clients ||
        (a->n_clients > 0 && memcmp(a->clients, b->clients, a->n_clients * sizeof *a->clients) != 0))
        return "[client] entries";
    return NULL;
}

/* Rule 9: a reloaded file composes with the audit log (no account registered to two
 * feeds), and keeps every registered account that has accepted attestations: those are
 * published and may be pledged, and an account that loses its feed could never be
 * updated, frozen or released again. Called with the lock held. */
static custos_rc admin_check_reload(gw_admin *a, const gw_config *fresh, custos_error *err)
{
    admin_base base = {fresh->feeds, fresh->n_feeds, fresh->signers, fresh->n_signers,
                       fresh->accounts, fresh->n_accounts};
    admin_list next;
    custos_rc rc = admin_compose_from(a, &base, &next, err);
    if (rc != CUSTOS_OK)
        return rc;
    gw_policy *p = gw_registry_acquire(gw_engine_registry(a->engine));
    for (size_t i = 0; rc == CUSTOS_OK && i < p->n_accounts; i++) {
        const gw_account *was = &p->accounts[i];
        const gw_account *now = gw_accounts_find(next.accounts, next.n_accounts, was->account);
        if (now != NULL && strcmp(now->feed, was->feed) == 0)
            continue;
        custos_record latest;
        memset(&latest, 0, sizeof latest);
        custos_rc found = gw_store_get_latest(&a->store, was->account, &latest, err);
        if (found == CUSTOS_OK)
            custos_record_clear(&latest);
        if (found == CUSTOS_ERR_NOT_FOUND) {
            custos_error_clear(err);
            continue;
        }
        char hex[CUSTOS_HEX_LEN(CUSTOS_HASH_LEN)];
        if (custos_hex_encode(was->account, CUSTOS_HASH_LEN, hex, sizeof hex) != CUSTOS_OK)
            hex[0] = '\0';
        rc = found != CUSTOS_OK
                 ? found
                 : custos_error_set(err, CUSTOS_ERR_INVALID,
                                    "account %s of feed '%s' has accepted attestations: it "
                                    "stays registered to its feed (rule 9); keep it in the "
                                    "file", hex, was->feed);
    }
    gw_policy_release(p);
    admin_list_clear(&next);
    return rc;
}

void gw_admin_reload(gw_admin *a, const char *path)
{
    gw_config fresh;
    memset(&fresh, 0, sizeof fresh);
    custos_error err;
    custos_error_clear(&err);
    if (gw_config_load(path, &fresh, &err) != CUSTOS_OK) {
        gw_log(GW_LOG_ERROR, "reload",
               "%s; still serving with the signers and feeds loaded before", err.message);
        return;
    }
    char *text = NULL;
    size_t len = 0;
    pthread_mutex_lock(&a->lock);
    custos_rc rc = admin_check_reload(a, &fresh, &err);
    if (rc != CUSTOS_OK) {
        pthread_mutex_unlock(&a->lock);
        gw_log(GW_LOG_ERROR, "reload",
               "refused: %s; still serving with the signers, accounts and feeds loaded before",
               err.message);
        gw_config_clear(&fresh);
        return;
    }
    rc = gw_audit_policy_text(&fresh, &text, &len, &err);
    if (rc == CUSTOS_OK)
        rc = admin_record(a, "SIGHUP", "reload", text, len, NULL, &err);
    free(text);
    if (rc != CUSTOS_OK) {
        pthread_mutex_unlock(&a->lock);
        gw_log(GW_LOG_ERROR, "reload",
               "refused: its audit entry could not be written (%s); still serving with the "
               "signers and feeds loaded before", err.message);
        gw_config_clear(&fresh);
        return;
    }
    rc = admin_set_base(a, &fresh, &err);
    if (rc == CUSTOS_OK)
        rc = admin_refresh(a, &err);
    pthread_mutex_unlock(&a->lock);
    if (rc != CUSTOS_OK) {
        gw_log(GW_LOG_ERROR, "reload",
               "%s; still serving with the signers and feeds loaded before", err.message);
    } else {
        gw_policy *p = gw_registry_acquire(gw_engine_registry(a->engine));
        gw_log(GW_LOG_INFO, "reload",
               "%s: %zu feeds, %zu signers, %zu registered accounts now in force (generation "
               "%" PRIu64 ")", path, p->n_feeds, p->n_signers, p->n_accounts, p->generation);
        gw_policy_release(p);
        const char *changed = restart_only_change(a->cfg, &fresh);
        if (changed != NULL)
            gw_log(GW_LOG_WARN, "reload",
                   "%s changed in %s: it takes effect only after a restart", changed, path);
    }
    gw_config_clear(&fresh);
}

/* Records the change (action, payload) and puts next, the list with the change applied,
 * in force. Called with the lock held. */
static gw_admin_result admin_commit(gw_admin *a, const char *actor, const char *action,
                                    const char *payload, admin_list *next,
                                    uint64_t *seq, char *detail, size_t cap)
{
    custos_error err;
    custos_error_clear(&err);
    if (admin_record(a, actor, action, payload, strlen(payload), seq, &err) != CUSTOS_OK) {
        snprintf(detail, cap, "the audit entry could not be written, nothing changed: %s",
                 err.message);
        return GW_ADMIN_UNAVAILABLE;
    }
    if (admin_install(a, next, &err) != CUSTOS_OK) {
        snprintf(detail, cap, "recorded as audit entry %" PRIu64 " but not yet in force (%s): "
                 "it applies at the next reload or restart", *seq, err.message);
        return GW_ADMIN_UNAVAILABLE;
    }
    gw_log(GW_LOG_INFO, "admin", "%s by %s (audit entry %" PRIu64 "): %.*s", action, actor,
           *seq, (int)strcspn(payload, "\n"), payload);
    return GW_ADMIN_DONE;
}

gw_admin_result gw_admin_add_signer(gw_admin *a, const char *actor,
                                    const uint8_t address[CUSTOS_ADDRESS_LEN],
                                    const char *feed, const char *role, uint64_t *seq,
                                    char *detail, size_t cap)
{
    gw_role r;
    if (!admin_role_parse(role, &r)) {
        snprintf(detail, cap, "role '%.40s' must be custodian, valuation_agent, "
                 "fund_administrator or auditor", role);
        return GW_ADMIN_INVALID;
    }
    if (strlen(feed) > CUSTOS_FEED_MAX) {
        snprintf(detail, cap, "feed name longer than %d bytes", CUSTOS_FEED_MAX);
        return GW_ADMIN_INVALID;
    }
    char payload[256];
    admin_change_text(payload, sizeof payload, address, feed, role);
    admin_list l;
    if (!admin_lock_compose(a, &l, detail, cap))
        return GW_ADMIN_UNAVAILABLE;
    gw_admin_result out;
    const gw_signer *s = admin_list_find(&l, address, feed);
    /* A key is added once, as the adapter's addSigner allows: revocation is final (a
     * revoked key, perhaps compromised, never comes back), and a key's role and rotation
     * are not rewritten (rule 10). */
    if (admin_list_feed(&l, feed) == NULL) {
        snprintf(detail, cap, "feed '%s' is not configured on this gateway", feed);
        out = GW_ADMIN_NOT_FOUND;
    } else if (s != NULL && s->active && s->role == r && s->not_after == 0) {
        snprintf(detail, cap, "the signer is already active for feed '%s' as %s", feed, role);
        out = GW_ADMIN_EXISTS;
    } else if (s != NULL && !s->active) {
        snprintf(detail, cap, "the signer was revoked for feed '%s': revocation is final, a "
                 "revoked key never comes back; allow-list a new key", feed);
        out = GW_ADMIN_EXISTS;
    } else if (s != NULL) {
        snprintf(detail, cap, "the signer is already listed for feed '%s' as %s%s: a key is "
                 "added once", feed, gw_role_name(s->role),
                 s->not_after != 0 ? ", being rotated out" : "");
        out = GW_ADMIN_EXISTS;
    } else if (!admin_list_add(&l, address, feed, r)) {
        snprintf(detail, cap, "out of memory; nothing changed");
        out = GW_ADMIN_UNAVAILABLE;
    } else {
        out = admin_commit(a, actor, ACTION_ADD, payload, &l, seq, detail, cap);
    }
    admin_list_clear(&l);
    pthread_mutex_unlock(&a->lock);
    return out;
}

gw_admin_result gw_admin_rotate_signer(gw_admin *a, const char *actor,
                                       const uint8_t old_address[CUSTOS_ADDRESS_LEN],
                                       const uint8_t new_address[CUSTOS_ADDRESS_LEN],
                                       const char *feed, uint64_t overlap, uint64_t *seq,
                                       char *detail, size_t cap)
{
    detail[0] = '\0';
    if (strlen(feed) > CUSTOS_FEED_MAX) {
        snprintf(detail, cap, "feed name longer than %d bytes", CUSTOS_FEED_MAX);
        return GW_ADMIN_INVALID;
    }
    if (overlap == 0 || overlap > a->cfg->max_rotation_overlap) {
        snprintf(detail, cap, "overlap %" PRIu64 " s: must be from 1 to %" PRIu64
                 " s ([gateway] max_rotation_overlap)", overlap, a->cfg->max_rotation_overlap);
        return GW_ADMIN_INVALID;
    }
    if (memcmp(old_address, new_address, CUSTOS_ADDRESS_LEN) == 0) {
        snprintf(detail, cap, "the new key is the old one");
        return GW_ADMIN_INVALID;
    }
    admin_list l;
    if (!admin_lock_compose(a, &l, detail, cap))
        return GW_ADMIN_UNAVAILABLE;
    gw_admin_result out;
    const gw_signer *old = admin_list_find(&l, old_address, feed);
    const gw_signer *fresh = admin_list_find(&l, new_address, feed);
    uint64_t not_after = admin_now() + overlap;
    if (old == NULL || !old->active || old->not_after != 0) {
        snprintf(detail, cap, "no active signer with the old address for feed '%s' (or it "
                 "is already being rotated out)", feed);
        out = GW_ADMIN_NOT_FOUND;
    } else if (fresh != NULL) {
        /* As the adapter's rotateSigner: the new key is one never listed for the feed. */
        snprintf(detail, cap, "the new address is already listed for feed '%s' (%s): a "
                 "rotation hands the party to a key never listed before", feed,
                 fresh->active ? "active" : "revoked, and revocation is final");
        out = GW_ADMIN_EXISTS;
    } else {
        gw_role role = old->role;
        char payload[320];
        admin_rotate_text(payload, sizeof payload, old_address, new_address, feed,
                          gw_role_name(role), not_after);
        out = admin_list_rotate(&l, old_address, new_address, feed, role, not_after)
                  ? admin_commit(a, actor, ACTION_ROTATE, payload, &l, seq, detail, cap)
                  : GW_ADMIN_UNAVAILABLE;
        if (out == GW_ADMIN_UNAVAILABLE && detail[0] == '\0')
            snprintf(detail, cap, "out of memory; nothing changed");
    }
    admin_list_clear(&l);
    pthread_mutex_unlock(&a->lock);
    return out;
}

static bool list_quorum_reachable(const admin_list *l, const gw_feed *f);

gw_admin_result gw_admin_set_feed_policy(gw_admin *a, const char *actor, const gw_feed *policy,
                                         uint64_t *seq, char *detail, size_t cap)
{
    if (policy->max_age == 0 || policy->max_age > ADMIN_MAX_SECONDS ||
        policy->max_skew > ADMIN_MAX_SECONDS || policy->max_ttl == 0 ||
        policy->max_ttl > ADMIN_MAX_SECONDS || policy->threshold == 0 ||
        policy->threshold > CUSTOS_MAX_SIGNATURES) {
        snprintf(detail, cap, "max_age and max_ttl must be 1 to %u s, max_skew 0 to %u s, "
                 "threshold 1 to %d (as in a [feed] section)", ADMIN_MAX_SECONDS,
                 ADMIN_MAX_SECONDS, CUSTOS_MAX_SIGNATURES);
        return GW_ADMIN_INVALID;
    }
    char payload[320];
    admin_feed_text(payload, sizeof payload, policy);
    admin_list l;
    if (!admin_lock_compose(a, &l, detail, cap))
        return GW_ADMIN_UNAVAILABLE;
    gw_admin_result out;
    gw_feed *f = NULL;
    for (size_t i = 0; i < l.n_feeds && f == NULL; i++)
        if (strcmp(l.feeds[i].name, policy->name) == 0)
            f = &l.feeds[i];
    if (f == NULL) {
        snprintf(detail, cap, "feed '%s' is not configured on this gateway", policy->name);
        out = GW_ADMIN_NOT_FOUND;
    } else {
        /* The call sets the fields it carries; the feed keeps the rest (a business-day
         * max age with its calendar, the circuit breaker of rule 6), as admin_list_apply_feed
         * does when the log is replayed at start. */
        f->max_age = policy->max_age;
        f->max_skew = policy->max_skew;
        f->max_ttl = policy->max_ttl;
        f->threshold = policy->threshold;
        f->distinct_roles = policy->distinct_roles;
        if (f->breaker_rise_bps != 0 && f->threshold >= f->breaker_release_threshold) {
            snprintf(detail, cap, "feed '%s' publishes a held rise at %" PRIu32 " signers "
                     "(breaker_release_threshold): the threshold must stay below it",
                     policy->name, f->breaker_release_threshold);
            out = GW_ADMIN_PRECONDITION;
        } else if (f->breaker_rise_bps != 0 && f->distinct_roles &&
                   f->breaker_release_threshold > GW_ROLE_COUNT) {
            snprintf(detail, cap, "feed '%s' publishes a held rise at %" PRIu32 " signers "
                     "(breaker_release_threshold), more than the %d roles a distinct-roles "
                     "feed can count", policy->name, f->breaker_release_threshold,
                     GW_ROLE_COUNT);
            out = GW_ADMIN_PRECONDITION;
        } else if (!list_quorum_reachable(&l, f)) {
            snprintf(detail, cap, "feed '%s' has too few active signers%s for a threshold of "
                     "%" PRIu32 ": add signers first", policy->name,
                     policy->distinct_roles ? " with distinct roles" : "", policy->threshold);
            out = GW_ADMIN_PRECONDITION;
        } else {
            out = admin_commit(a, actor, ACTION_FEED, payload, &l, seq, detail, cap);
        }
    }
    admin_list_clear(&l);
    pthread_mutex_unlock(&a->lock);
    return out;
}

/* Whether feed's threshold stays reachable by l's active signers; a key being rotated
 * out does not count, its window ends. */
static bool list_quorum_reachable(const admin_list *l, const gw_feed *f)
{
    bool roles[GW_ROLE_COUNT] = {false};
    uint32_t signers = 0, distinct = 0;
    for (size_t i = 0; i < l->n_signers; i++) {
        const gw_signer *s = &l->signers[i];
        if (!s->active || s->not_after != 0 || strcmp(s->feed, f->name) != 0)
            continue;
        signers++;
        if (!roles[s->role]) {
            roles[s->role] = true;
            distinct++;
        }
    }
    return (f->distinct_roles ? distinct : signers) >= f->threshold;
}

gw_admin_result gw_admin_revoke_signer(gw_admin *a, const char *actor,
                                       const uint8_t address[CUSTOS_ADDRESS_LEN],
                                       const char *feed, uint64_t *seq, char *detail,
                                       size_t cap)
{
    if (strlen(feed) > CUSTOS_FEED_MAX) {
        snprintf(detail, cap, "feed name longer than %d bytes", CUSTOS_FEED_MAX);
        return GW_ADMIN_INVALID;
    }
    char payload[256];
    admin_change_text(payload, sizeof payload, address, feed, NULL);
    admin_list l;
    if (!admin_lock_compose(a, &l, detail, cap))
        return GW_ADMIN_UNAVAILABLE;
    gw_admin_result out;
    gw_signer *s = admin_list_find(&l, address, feed);
    const gw_feed *f = admin_list_feed(&l, feed);
    if (s == NULL || !s->active || f == NULL) {
        snprintf(detail, cap, "no active signer with this address for feed '%s'", feed);
        out = GW_ADMIN_NOT_FOUND;
    } else {
        s->active = false;
        if (!list_quorum_reachable(&l, f)) {
            snprintf(detail, cap, "revoking it would leave feed '%s' unable to reach its "
                     "threshold of %" PRIu32 "%s: add a signer first", feed, f->threshold,
                     f->distinct_roles ? " distinct roles" : " signers");
            out = GW_ADMIN_PRECONDITION;
        } else {
            out = admin_commit(a, actor, ACTION_REVOKE, payload, &l, seq, detail, cap);
        }
    }
    admin_list_clear(&l);
    pthread_mutex_unlock(&a->lock);
    return out;
}

gw_admin_result gw_admin_register_account(gw_admin *a, const char *actor,
                                          const uint8_t account[CUSTOS_HASH_LEN],
                                          const char *feed, uint64_t *seq, char *detail,
                                          size_t cap)
{
    detail[0] = '\0';
    if (feed[0] == '\0' || strlen(feed) > CUSTOS_FEED_MAX) {
        snprintf(detail, cap, "feed name empty or longer than %d bytes", CUSTOS_FEED_MAX);
        return GW_ADMIN_INVALID;
    }
    char payload[CUSTOS_HEX_LEN(CUSTOS_HASH_LEN) + CUSTOS_FEED_MAX + 16];
    if (admin_register_text(payload, sizeof payload, account, feed) < 0) {
        snprintf(detail, cap, "the account id cannot be written");
        return GW_ADMIN_INVALID;
    }
    admin_list l;
    if (!admin_lock_compose(a, &l, detail, cap))
        return GW_ADMIN_UNAVAILABLE;
    gw_admin_result out;
    const gw_account *had = gw_accounts_find(l.accounts, l.n_accounts, account);
    if (admin_list_feed(&l, feed) == NULL) {
        snprintf(detail, cap, "feed '%s' is not configured on this gateway", feed);
        out = GW_ADMIN_NOT_FOUND;
    } else if (had != NULL && strcmp(had->feed, feed) == 0) {
        snprintf(detail, cap, "the account is already registered to feed '%s'", feed);
        out = GW_ADMIN_EXISTS;
    } else if (had != NULL) {
        /* As the adapter's registerAccount: an account's feed is set once, for good. */
        snprintf(detail, cap, "the account is registered to feed '%s': an account belongs "
                 "to one feed for good (rule 9)", had->feed);
        out = GW_ADMIN_PRECONDITION;
    } else if (!admin_list_register(&l, account, feed)) {
        snprintf(detail, cap, "out of memory; nothing changed");
        out = GW_ADMIN_UNAVAILABLE;
    } else {
        gw_accounts_sort(l.accounts, l.n_accounts);
        out = admin_commit(a, actor, ACTION_REGISTER, payload, &l, seq, detail, cap);
    }
    admin_list_clear(&l);
    pthread_mutex_unlock(&a->lock);
    return out;
}

size_t gw_admin_list_accounts(gw_admin *a, const char *feed, size_t offset, gw_account *out,
                              size_t max, size_t *total)
{
    gw_policy *p = gw_registry_acquire(gw_engine_registry(a->engine));
    size_t seen = 0, n = 0;
    for (size_t i = 0; i < p->n_accounts; i++) {
        if (feed != NULL && feed[0] != '\0' && strcmp(p->accounts[i].feed, feed) != 0)
            continue;
        if (seen >= offset && n < max)
            out[n++] = p->accounts[i];
        seen++;
    }
    *total = seen;
    gw_policy_release(p);
    return n;
}
