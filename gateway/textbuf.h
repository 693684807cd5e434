/* A growable text buffer for what the gateway renders (the metrics exposition, audit
 * payloads): printf-style appends into one NUL-terminated block. The first failure (out of
 * memory, or growing past max) sticks and later appends do nothing, so a caller checks
 * `failed` once at the end. */
#ifndef GATEWAY_TEXTBUF_H
#define GATEWAY_TEXTBUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct gw_textbuf {
    char *data; /* malloc'd; the caller takes or frees it */
    size_t len, cap, max;
    bool failed;
} gw_textbuf;

/* An empty buffer of cap bytes that may grow up to max; false when out of memory. */
bool gw_textbuf_init(gw_textbuf *b, size_t cap, size_t max);
void gw_textbuf_add(gw_textbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
