#include "seqstate.h"

#include <stdbool.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "custos/hex.h"

#include "fileio.h"

#define AT_STATE_MAX_BYTES (64u * 1024u * 1024u)
/* The state is never reset: a fresh file could reuse sequence numbers. */
#define AT_STATE_ADVICE "restore it from a backup"

static custos_rc state_load(const char *path, json_t **state, custos_error *err)
{
    char *text;
    size_t len;
    custos_rc rc = at_file_read(path, AT_STATE_MAX_BYTES, &text, &len, err);
    if (rc == CUSTOS_ERR_NOT_FOUND) {
        *state = json_object();
        return *state != NULL ? CUSTOS_OK
                              : custos_error_set(err, CUSTOS_ERR_NOMEM, "%s: out of memory", path);
    }
    if (rc != CUSTOS_OK)
        return rc;
    json_error_t jerr;
    *state = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    free(text);
    if (*state == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "%s: line %d: corrupt sequence state (%.60s); " AT_STATE_ADVICE,
                                path, jerr.line, jerr.text);
    if (!json_is_object(*state)) {
        json_decref(*state);
        *state = NULL;
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "%s: corrupt sequence state (not a JSON object); "
                                AT_STATE_ADVICE, path);
    }
    const char *key;
    json_t *v;
    json_object_foreach(*state, key, v) {
        /* Keys must be in the exact form written here, or a lookup would miss them and
         * restart the account at sequence 1. */
        uint8_t id[CUSTOS_HASH_LEN];
        char canonical[2 + 2 * CUSTOS_HASH_LEN + 1];
        custos_error herr;
        bool ok = custos_hex_decode(key, id, sizeof id, &herr) == CUSTOS_OK &&
                  custos_hex_encode(id, sizeof id, canonical, sizeof canonical) == CUSTOS_OK &&
                  strcmp(key, canonical) == 0 && json_is_integer(v) &&
                  json_integer_value(v) >= 1;
        if (!ok) {
            custos_error_set(err, CUSTOS_ERR_INVALID,
                             "%s: %.70s: corrupt sequence state (want \"0x<64 lowercase hex>\": "
                             "integer >= 1); " AT_STATE_ADVICE, path, key);
            json_decref(*state);
            *state = NULL;
            return CUSTOS_ERR_INVALID;
        }
    }
    return CUSTOS_OK;
}

/* The n keys' next numbers into got[] and the new state as text into *line. */
static custos_rc state_advance(const char *path, json_t *state,
                               const uint8_t (*keys)[CUSTOS_HASH_LEN], size_t n, uint64_t *got,
                               char **line, custos_error *err)
{
    for (size_t i = 0; i < n; i++) {
        char key[2 + 2 * CUSTOS_HASH_LEN + 1];
        custos_rc rc = custos_hex_encode(keys[i], CUSTOS_HASH_LEN, key, sizeof key);
        if (rc != CUSTOS_OK)
            return custos_error_set(err, rc, "%s: cannot encode the account id", path);
        json_t *last = json_object_get(state, key);
        json_int_t seq = last != NULL ? json_integer_value(last) : 0;
        /* json_int_t is signed 64-bit: the state never goes past INT64_MAX. */
        if (seq == LLONG_MAX)
            return custos_error_set(err, CUSTOS_ERR_OVERFLOW, "%s: %s: sequence exhausted", path,
                                    key);
        if (json_object_set_new(state, key, json_integer(seq + 1)) != 0)
            return custos_error_set(err, CUSTOS_ERR_NOMEM, "%s: out of memory", path);
        got[i] = (uint64_t)seq + 1;
    }
    char *text = json_dumps(state, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (text == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "%s: out of memory", path);
    size_t len = strlen(text);
    *line = realloc(text, len + 2);
    if (*line == NULL) {
        free(text);
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "%s: out of memory", path);
    }
    (*line)[len] = '\n';
    (*line)[len + 1] = '\0';
    return CUSTOS_OK;
}

/* next[] is written only once the new state is on disk. */
static custos_rc state_reserve(const char *path, const uint8_t (*keys)[CUSTOS_HASH_LEN],
                               size_t n, uint64_t *next, custos_error *err)
{
    json_t *state = NULL;
    char *line = NULL;
    uint64_t *got = calloc(n > 0 ? n : 1, sizeof *got);
    custos_rc rc = got != NULL ? state_load(path, &state, err)
                               : custos_error_set(err, CUSTOS_ERR_NOMEM, "%s: out of memory",
                                                  path);
    if (rc == CUSTOS_OK)
        rc = state_advance(path, state, keys, n, got, &line, err);
    if (rc == CUSTOS_OK)
        rc = at_file_write_atomic(path, line, strlen(line), 0600, err);
    if (rc == CUSTOS_OK)
        memcpy(next, got, n * sizeof *got);
    json_decref(state);
    free(line);
    free(got);
    return rc;
}

custos_rc at_seqstate_next(const char *path, const uint8_t account[CUSTOS_HASH_LEN],
                           uint64_t *next, custos_error *err)
{
    return at_seqstate_next_many(path, (const uint8_t(*)[CUSTOS_HASH_LEN])account, 1, next, err);
}

custos_rc at_seqstate_next_many(const char *path, const uint8_t (*keys)[CUSTOS_HASH_LEN],
                                size_t n, uint64_t *next, custos_error *err)
{
    int fd;
    custos_rc rc = at_file_lock(path, &fd, err);
    if (rc != CUSTOS_OK)
        return rc;
    rc = state_reserve(path, keys, n, next, err);
    at_file_unlock(fd);
    return rc;
}
