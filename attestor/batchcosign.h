/* cosign of a batch (docs/attestation.md §16): the directory attest --batch exported. */
#ifndef AT_BATCHCOSIGN_H
#define AT_BATCHCOSIGN_H

#include "signer.h"

/* Reads in_dir/batch.json, checks that its signatures recover to distinct signers other
 * than this key, adds this key's signature over the batch digest, and writes the batch
 * file and every account file of in_dir (0x<account id>.json, each of this batch: its
 * batch digest must match) with the new signature list into out_dir (created if missing;
 * may be in_dir). Returns the exit status (cmd.h). */
int at_cosign_batch(const char *in_dir, const char *out_dir, const at_key_spec *key);

/* Whether name is an account file of a batch directory: 0x<64 lowercase hex>.json. */
bool at_batch_is_account_file(const char *name);

#endif
