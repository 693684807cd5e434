/* The last step of attest and cosign: write the typed-data export and/or submit to the
 * gateway, and report the gateway's answer. */
#ifndef AT_PUBLISH_H
#define AT_PUBLISH_H

#include <stdio.h>

#include "custos/attestation.h"
#include "custos/client.h"

#include "gwconn.h"

/* export_path and gw->target may each be NULL (not both). The export is written first, so it
 * exists even when the gateway cannot be reached. Returns the exit status (cmd.h). */
int at_publish(const custos_submission *s, const char *export_path, const at_gateway *gw,
               FILE *out);
/* The same; *res gets the gateway's answer (zeroed when nothing was submitted). */
int at_publish_answer(const custos_submission *s, const char *export_path,
                      const at_gateway *gw, FILE *out, custos_submit_result *res);

#endif
