/* secp256k1 secret keys on disk: one line "0x" + 64 hex digits, written with mode 0600. */
#ifndef CUSTOS_KEYFILE_H
#define CUSTOS_KEYFILE_H

#include <stdint.h>

#include "custos/error.h"
#include "custos/sig.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Creates path (refuses to overwrite) with mode 0600, fsyncs it. */
CUSTOS_MUST_USE
custos_rc custos_keyfile_write(const char *path, const uint8_t seckey[CUSTOS_SECKEY_LEN],
                               custos_error *err);
/* Refuses files whose mode custos_secret_mode_check refuses (custos/secretmode.h: open to
 * others, group-writable, or group-readable and owned by a third user), and anything but
 * one key. Error messages never contain key material. */
CUSTOS_MUST_USE
custos_rc custos_keyfile_read(const char *path, uint8_t seckey[CUSTOS_SECKEY_LEN],
                              custos_error *err);

#ifdef __cplusplus
}
#endif
#endif
