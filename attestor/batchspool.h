/* The daemon's spool of batches (its batch mode, runconf.h "batch"): every signed batch
 * not yet acknowledged by the gateway, one directory per batch,
 * "<spool>/batches/<batch sequence, 20 digits>/", holding the batch file and one file per
 * account in the export form of attest --batch (batchbook.h). A batch is written into a
 * temporary directory, each file fsynced, then renamed into place, so a crash leaves it
 * whole or not at all. Names sort by batch sequence. An acknowledged batch is removed; a
 * refused one moves to "<spool>/refused/batch-<sequence>/" next to a ".reason" file. */
#ifndef AT_BATCHSPOOL_H
#define AT_BATCHSPOOL_H

#include <stddef.h>

#include "batchbook.h"
#include "custos/error.h"

/* A spooled batch read back: what SubmitBatch takes, each account with its attestation and
 * its positions. */
typedef struct at_batch_spooled {
    char feed[CUSTOS_FEED_MAX + 1];
    custos_domain domain;
    custos_batch batch;
    custos_signature sigs[CUSTOS_MAX_SIGNATURES];
    size_t n_sigs;
    custos_batch_member *accounts;
    size_t n;
} at_batch_spooled;

void at_batch_spooled_free(at_batch_spooled *b);

/* Directory name of a spooled batch, without the path. */
#define AT_BATCH_SPOOL_NAME_LEN (20 + 1)

/* Creates spool/batches (and spool/refused) when missing. */
CUSTOS_MUST_USE
custos_rc at_batch_spool_open(const char *spool, custos_error *err);
/* Spools a signed batch (ctx: its feed and domain). */
CUSTOS_MUST_USE
custos_rc at_batch_spool_put(const char *spool, const at_batch_book *b,
                             const custos_submission *ctx, custos_error *err);
/* The spooled batches, by sequence; *names is malloc'd. */
CUSTOS_MUST_USE
custos_rc at_batch_spool_list(const char *spool, char (**names)[AT_BATCH_SPOOL_NAME_LEN],
                              size_t *n, custos_error *err);
/* The directory of a spooled batch. */
CUSTOS_MUST_USE
custos_rc at_batch_spool_path(const char *spool, const char *name, char *out, size_t cap,
                              custos_error *err);
/* Reads a spooled batch back: its batch file and exactly batch.count account files, each
 * checked against the batch (custos_batch_account_import). */
CUSTOS_MUST_USE
custos_rc at_batch_spool_get(const char *spool, const char *name, at_batch_spooled *out,
                             custos_error *err);
CUSTOS_MUST_USE
custos_rc at_batch_spool_remove(const char *spool, const char *name, custos_error *err);
/* Moves the batch to refused/ with reason (one line) beside it. */
CUSTOS_MUST_USE
custos_rc at_batch_spool_refuse(const char *spool, const char *name, const char *reason,
                                custos_error *err);

#endif
