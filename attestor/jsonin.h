/* Strict reading of the attestor's JSON input files. Every error names the file and the
 * JSON path of the offending value, e.g. "holdings.json: accounts[0].positions[2].quantity". */
#ifndef AT_JSONIN_H
#define AT_JSONIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "custos/error.h"
#include "custos/u256.h"

/* Largest input document accepted (holdings of thousands of positions fit easily). */
#define AT_INPUT_MAX_BYTES (16u * 1024u * 1024u)
/* Largest holdings file: a reserves attestation covers up to 100,000 accounts (rule 18),
 * about 115 bytes of JSON an account and 110 a position more, so a book of that size with
 * a few positions each needs more than AT_INPUT_MAX_BYTES. */
#define AT_HOLDINGS_MAX_BYTES (128u * 1024u * 1024u)
/* Longest JSON path rendered in a message. */
#define AT_JPATH_MAX 192

/* Fills err with "file: path: message"; returns CUSTOS_ERR_INVALID. */
custos_rc at_json_fail(custos_error *err, const char *file, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Parses text (duplicate keys refused); file labels the messages. */
custos_rc at_json_parse(const char *file, const char *text, size_t len, json_t **root,
                        custos_error *err);

/* "parent.key" (or "key" at the top); "parent[i]". Long paths are cut short, never overrun. */
void at_jpath_key(char out[AT_JPATH_MAX], const char *parent, const char *key);
void at_jpath_index(char out[AT_JPATH_MAX], const char *parent, size_t i);

/* Refuses members of obj not in allowed (NULL-terminated). "_comment" is always allowed at
 * the top level of a document, where path is "". */
custos_rc at_json_only_keys(const char *file, const char *path, const json_t *obj,
                            const char *const *allowed, custos_error *err);

/* Required member of obj; err names "path.key" when it is missing. */
custos_rc at_json_member(const char *file, const char *path, const json_t *obj, const char *key,
                         json_t **out, custos_error *err);

/* Type checks; messages name the JSON type found. */
custos_rc at_json_expect_object(const char *file, const char *path, const json_t *v,
                                custos_error *err);
custos_rc at_json_expect_array(const char *file, const char *path, const json_t *v,
                               custos_error *err);

/* A string of 1..max bytes of printable ASCII without leading or trailing blanks;
 * no blanks at all when allow_inner_space is false. */
custos_rc at_json_text(const char *file, const char *path, const json_t *v, size_t max,
                       bool allow_inner_space, const char **out, custos_error *err);

/* A JSON string holding an unsigned decimal such as "1234.5" (at most 18 decimals):
 * JSON numbers are refused because they lose precision in most JSON tools. */
custos_rc at_json_decimal(const char *file, const char *path, const json_t *v, custos_u256 *out,
                          custos_error *err);

/* A JSON integer in [min, max]. */
custos_rc at_json_uint(const char *file, const char *path, const json_t *v, uint64_t min,
                       uint64_t max, uint64_t *out, custos_error *err);

#endif
