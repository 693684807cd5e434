/* A loopback HTTP/1.1 responder playing a JSON-RPC node (see httpstub.h). */
#include "httpstub.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

struct httpstub {
    int listen_fd;
    int wake[2]; /* a byte written to wake[1] ends the responder's thread */
    pthread_t thread;
    bool running;
    char url[64];
    httpstub_answer_fn answer;
    void *ctx;
    pthread_mutex_t mu; /* guards the canned answer and the counts */
    int canned_status;
    char *canned_body;
    size_t canned_len;
    bool canned_with_length;
    size_t requests, answered;
};

typedef enum hs_read { HS_READ_WHOLE, HS_READ_TOO_LARGE, HS_READ_GONE } hs_read;

/* Reads one request into buf (cap + 1 bytes: room for a NUL after the body); read whole,
 * its body starts at body_at and is body_len bytes. */

static hs_read hs_read_request(int fd, char *buf, size_t cap, size_t *body_at, size_t *body_len)
{
    size_t have = 0;
    const char *end = NULL;
    while (end == NULL) {
        if (have == cap)
            return HS_READ_TOO_LARGE;
        ssize_t n = read(fd, buf + have, cap - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return HS_READ_GONE; /* the client hung up, or HTTPSTUB_IO_TIMEOUT_MS passed */
        have += (size_t)n;
        end = memmem(buf, have, "\r\n\r\n", 4);
    }
    size_t head_len = (size_t)(end - buf) + 4;
    /* Content-Length among the headers only: a body may mention it too. */
    char saved = buf[head_len];
    buf[head_len] = '\0';
    const char *cl = strcasestr(buf, "\r\nContent-Length:");
    buf[head_len] = saved;
    unsigned long long want = 0;
    if (cl != NULL) {
        char *after;
        errno = 0;
        want = strtoull(cl + 17, &after, 10);
        if (errno != 0 || after == cl + 17)
            return HS_READ_TOO_LARGE;
    }
    if (want > cap - head_len)
        return HS_READ_TOO_LARGE;
    while (have < head_len + want) {
        ssize_t n = read(fd, buf + have, cap - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return HS_READ_GONE;
        have += (size_t)n;
    }
    buf[head_len + want] = '\0';
    *body_at = head_len;
    *body_len = (size_t)want;
    return HS_READ_WHOLE;
}

/* false when the client went away before all of it was sent (MSG_NOSIGNAL: no SIGPIPE). */
static bool hs_send_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

static bool hs_send_reply(int fd, const httpstub_reply *r)
{
    char head[256], length[64] = "";
    if (r->with_length)
        snprintf(length, sizeof length, "Content-Length: %zu\r\n", r->body_len);
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d Stub\r\nContent-Type: application/json\r\n%s"
                     "Connection: close\r\n\r\n",
                     r->status, length);
    return n > 0 && (size_t)n < sizeof head && hs_send_all(fd, head, (size_t)n) &&
           hs_send_all(fd, r->body, r->body_len);
}

/* A reply of the responder's own (413, 500): text saying what was wrong. */
static void hs_own_reply(httpstub_reply *r, int status, const char *text)
{
    free(r->body);
    r->status = status;
    r->body = strdup(text);
    r->body_len = r->body != NULL ? strlen(r->body) : 0;
    r->with_length = true;
}

/* The canned answer as it is now, copied: set_canned may replace it while this one is
 * being written. */
static void hs_canned_reply(httpstub *s, httpstub_reply *r)
{
    pthread_mutex_lock(&s->mu);
    r->status = s->canned_status;
    r->with_length = s->canned_with_length;
    r->body = malloc(s->canned_len + 1);
    if (r->body != NULL && s->canned_len > 0)
        memcpy(r->body, s->canned_body, s->canned_len);
    r->body_len = r->body != NULL ? s->canned_len : 0;
    pthread_mutex_unlock(&s->mu);
    if (r->body == NULL)
        hs_own_reply(r, 500, "the responder is out of memory");
}

static void hs_serve(httpstub *s, int fd)
{
    struct timeval tv = {HTTPSTUB_IO_TIMEOUT_MS / 1000, (HTTPSTUB_IO_TIMEOUT_MS % 1000) * 1000};
    httpstub_reply r = {0};
    char *req = malloc(HTTPSTUB_MAX_REQUEST + 1);
    size_t body_at = 0, body_len = 0;
    if (req == NULL || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0)
        goto done;
    hs_read read = hs_read_request(fd, req, HTTPSTUB_MAX_REQUEST, &body_at, &body_len);
    if (read == HS_READ_GONE)
        goto done;
    if (read == HS_READ_TOO_LARGE) {
        char text[96];
        snprintf(text, sizeof text, "request over %d bytes, or a bad Content-Length",
                 HTTPSTUB_MAX_REQUEST);
        hs_own_reply(&r, 413, text);
    } else {
        pthread_mutex_lock(&s->mu);
        s->requests++;
        pthread_mutex_unlock(&s->mu);
        if (s->answer == NULL)
            hs_canned_reply(s, &r);
        else if (s->answer(s->ctx, req + body_at, body_len, &r) != 0)
            hs_own_reply(&r, 500, "the test's answer function failed");
    }
    if (hs_send_reply(fd, &r)) {
        pthread_mutex_lock(&s->mu);
        s->answered++;
        pthread_mutex_unlock(&s->mu);
    }
done:
    free(r.body);
    free(req);
}

static void *hs_main(void *arg)
{
    httpstub *s = arg;
    for (;;) {
        struct pollfd p[2] = {{s->listen_fd, POLLIN, 0}, {s->wake[0], POLLIN, 0}};
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            return NULL;
        }
        if (p[1].revents != 0 || (p[0].revents & (POLLERR | POLLHUP | POLLNVAL)) != 0)
            return NULL;
        int fd = accept(s->listen_fd, NULL, NULL);
        if (fd < 0)
            continue; /* the client gave up while queued: take the next */
        hs_serve(s, fd);
        close(fd);
    }
}

custos_rc httpstub_new(httpstub_answer_fn answer, void *ctx, httpstub **out, custos_error *err)
{
    *out = NULL;
    httpstub *s = calloc(1, sizeof *s);
    if (s == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "loopback responder: out of memory");
    s->listen_fd = -1;
    s->wake[0] = s->wake[1] = -1;
    s->answer = answer;
    s->ctx = ctx;
    s->canned_status = 200;
    s->canned_with_length = true;
    custos_rc rc = CUSTOS_OK;
    const char *failed = NULL;
    int pe = pthread_mutex_init(&s->mu, NULL);
    if (pe != 0) {
        free(s);
        return custos_error_set(err, CUSTOS_ERR_IO, "loopback responder: mutex: %s",
                                strerror(pe));
    }
    /* From here httpstub_free undoes whatever was made. */
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    s->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s->listen_fd < 0)
        failed = "socket";
    else if (bind(s->listen_fd, (struct sockaddr *)&a, sizeof a) != 0)
        failed = "bind to 127.0.0.1";
    else if (listen(s->listen_fd, 16) != 0)
        failed = "listen";
    else if (getsockname(s->listen_fd, (struct sockaddr *)&a, &alen) != 0)
        failed = "getsockname";
    else if (pipe2(s->wake, O_CLOEXEC) != 0)
        failed = "pipe";
    int why = errno;
    if (failed == NULL && (why = pthread_create(&s->thread, NULL, hs_main, s)) != 0)
        failed = "thread";
    if (failed != NULL) {
        rc = custos_error_set(err, CUSTOS_ERR_IO, "loopback responder: %s: %s", failed,
                              strerror(why));
        httpstub_free(s);
        return rc;
    }
    s->running = true;
    snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d/", ntohs(a.sin_port));
    *out = s;
    return rc;
}

const char *httpstub_url(const httpstub *s)
{
    return s->url;
}

custos_rc httpstub_set_canned(httpstub *s, int status, const void *body, size_t len,
                              bool with_length, custos_error *err)
{
    if (status < 100 || status > 999)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "canned answer: HTTP status %d is not three digits", status);
    if (body == NULL && len > 0)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "canned answer: %zu bytes of no body",
                                len);
    char *copy = malloc(len + 1);
    if (copy == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "canned answer: %zu bytes: out of memory",
                                len);
    if (len > 0)
        memcpy(copy, body, len);
    pthread_mutex_lock(&s->mu);
    free(s->canned_body);
    s->canned_body = copy;
    s->canned_len = len;
    s->canned_status = status;
    s->canned_with_length = with_length;
    pthread_mutex_unlock(&s->mu);
    return CUSTOS_OK;
}

void httpstub_stop(httpstub *s)
{
    if (s == NULL || !s->running)
        return;
    /* One byte into an empty pipe: it cannot block or fill. */
    ssize_t w;
    do
        w = write(s->wake[1], "x", 1);
    while (w < 0 && errno == EINTR);
    /* The thread is ours and joinable: pthread_join cannot fail here. */
    (void)pthread_join(s->thread, NULL);
    s->running = false;
}

static size_t hs_count(httpstub *s, const size_t *count)
{
    pthread_mutex_lock(&s->mu);
    size_t n = *count;
    pthread_mutex_unlock(&s->mu);
    return n;
}

size_t httpstub_requests(httpstub *s)
{
    return hs_count(s, &s->requests);
}

size_t httpstub_answered(httpstub *s)
{
    return hs_count(s, &s->answered);
}

void httpstub_free(httpstub *s)
{
    if (s == NULL)
        return;
    httpstub_stop(s);
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    for (int i = 0; i < 2; i++)
        if (s->wake[i] >= 0)
            close(s->wake[i]);
    pthread_mutex_destroy(&s->mu);
    free(s->canned_body);
    free(s);
}
