/* Whether a file holding a secret (key file, TLS private key, PKCS#11 PIN) is closed enough
 * to be read, judged from its mode and owner. */
#ifndef CUSTOS_SECRETMODE_H
#define CUSTOS_SECRETMODE_H

#include <sys/types.h>

#include "custos/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The rule: others have no access at all; the group has no write or execute bit; the
 * group's read bit is accepted only when the file belongs to root or to euid (the reading
 * process's user), i.e. the owner is someone who can already read the file anyway.
 * Owner-only files (0600, 0400) always pass. Group-readable ones (0640, 0440) exist because
 * Kubernetes mounts Secrets root-owned 0440 under fsGroup, and systemd presents a credential
 * it shares through an ACL as root-owned 0440 (the ACL mask shows in the group bits).
 * what ("key file", "private key", "PIN file") and path name the file in the error, which
 * says what is wrong and how to fix it; returns CUSTOS_ERR_INVALID when refused. */
CUSTOS_MUST_USE
custos_rc custos_secret_mode_check(const char *what, const char *path, mode_t mode,
                                   uid_t owner, uid_t euid, custos_error *err);

#ifdef __cplusplus
}
#endif
#endif
