/* Reading the files custos verifies offline: bounded in size, parsed as JSON, and the
 * members the checks need. Each reader says what is wrong (naming the file and the member)
 * and returns false. */
#ifndef CLI_JSONIN_H
#define CLI_JSONIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "custos/u256.h"

/* The whole file, NUL-terminated, at most CUSTOS_TYPEDDATA_MAX_BYTES; free *text. */
bool ji_read_file(const char *path, char **text, size_t *len) __attribute__((warn_unused_result));
/* The file parsed as JSON; json_decref *out. */
bool ji_load(const char *path, json_t **out) __attribute__((warn_unused_result));

/* A 32-byte hex hash member key of o. */
bool ji_hash(const char *path, json_t *o, const char *key, uint8_t out[32])
    __attribute__((warn_unused_result));
/* A non-negative integer member key of o. */
bool ji_u64(const char *path, json_t *o, const char *key, uint64_t *out)
    __attribute__((warn_unused_result));
/* A decimal-string member key of o. */
bool ji_dec(const char *path, json_t *o, const char *key, custos_u256 *out)
    __attribute__((warn_unused_result));

#endif
