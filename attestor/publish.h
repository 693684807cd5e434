/* The last step of attest and cosign: write the typed-data export and/or submit to the
 * gateway, and report the gateway's answer. */
#ifndef AT_PUBLISH_H
#define AT_PUBLISH_H

#include <stdio.h>

#include "custos/attestation.h"
#include "custos/client.h"

#include "gwconn.h"
#include "report.h"

/* export_path and gw->target may each be NULL (not both). The export is written first, so it
 * exists even when the gateway cannot be reached. What happened goes into the report.
 * Returns the exit status (cmd.h). */
int at_publish(const custos_submission *s, const char *export_path, const at_gateway *gw,
               at_report *r);
/* The same; *res gets the gateway's answer (zeroed when nothing was submitted). */
int at_publish_answer(const custos_submission *s, const char *export_path,
                      const at_gateway *gw, at_report *r, custos_submit_result *res);

#endif
