/* attest --batch: values every account of the holdings, gives them one asOf and validUntil
 * (the oldest price of the book), takes each account's next sequence and the feed's next
 * batch sequence, signs the batch digest once and exports the batch file and one file per
 * account (docs/attestation.md §16, rules.md rule 20). */
#ifndef AT_BATCHSIGN_H
#define AT_BATCHSIGN_H

#include <stdbool.h>

#include "clopt.h"
#include "signopts.h"

/* prices (a file) or sources (HTTPS price sources, price_ca their CA or NULL) price the
 * book; registry (may be NULL) is checked for every account as by attest. Writes
 * o->export_path/batch.json and o->export_path/0x<account id>.json. Reports as text, or
 * with json as one JSON object (report.h). Returns the exit status (cmd.h). */
int at_attest_batch(const at_sign_opts *o, const char *prices, const clopt_list *sources,
                    const char *price_ca, const char *registry, bool json);

#endif
