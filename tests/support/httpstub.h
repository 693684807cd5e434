/* A loopback HTTP/1.1 responder for the tests and fuzz targets that play an Ethereum
 * node's JSON-RPC endpoint: it listens on 127.0.0.1 on a port the kernel picks, takes one
 * connection at a time on a thread of its own, reads the whole request (headers and a
 * Content-Length body, at most HTTPSTUB_MAX_REQUEST bytes), writes one answer and closes
 * the connection (Connection: close). The answer is canned (httpstub_set_canned: the same
 * for every request until changed) or made from the request's body by an answer function.
 * No cmocka: a fuzz target links it too. */
#ifndef CUSTOS_HTTPSTUB_H
#define CUSTOS_HTTPSTUB_H

#include <stdbool.h>
#include <stddef.h>

#include "custos/common.h"
#include "custos/error.h"

/* The largest request read (headers and body); a larger one is answered 413. */
#define HTTPSTUB_MAX_REQUEST 65536
/* A connection whose request has not arrived after this long is closed unanswered, so
 * that httpstub_stop never waits on a client longer. */
#define HTTPSTUB_IO_TIMEOUT_MS 5000

typedef struct httpstub httpstub;

/* One answer: the HTTP status, body_len bytes of body (malloc'd; the responder frees it),
 * and whether a Content-Length header frames it (false: the end of the connection does). */
typedef struct httpstub_reply {
    int status;
    char *body;
    size_t body_len;
    bool with_length;
} httpstub_reply;

/* Makes the answer to a request whose body is body[0..len) (NUL-terminated as well), on
 * the responder's thread: fills reply and returns 0, or returns -1 when it cannot (the
 * client is then answered 500). */
typedef int (*httpstub_answer_fn)(void *ctx, const char *body, size_t len,
                                  httpstub_reply *reply);

/* Starts a responder; answer NULL: the canned answer (200, an empty body with its
 * Content-Length until httpstub_set_canned). */
CUSTOS_MUST_USE custos_rc httpstub_new(httpstub_answer_fn answer, void *ctx, httpstub **out,
                                       custos_error *err);
/* Stops the responder (if running) and frees it; NULL is fine. */
void httpstub_free(httpstub *s);

/* The URL clients call: "http://127.0.0.1:<port>/". */
const char *httpstub_url(const httpstub *s);

/* The canned answer from now on: status, a copy of body[0..len), framed by Content-Length
 * or by the end of the connection. An answer being written keeps the one it started with. */
CUSTOS_MUST_USE custos_rc httpstub_set_canned(httpstub *s, int status, const void *body,
                                              size_t len, bool with_length, custos_error *err);

/* Waits for the connection being served to end, then stops taking connections: after it
 * the counts below are final. Safe to call twice. */
void httpstub_stop(httpstub *s);
/* Requests read whole so far. */
size_t httpstub_requests(httpstub *s);
/* Answers written whole so far (a client that hangs up early leaves its answer out). */
size_t httpstub_answered(httpstub *s);

#endif
