/* The gateway's front proxy for integration tests (see frontproxy.h). */
#include "frontproxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "pki.h"

#define FPX_START_TRIES 3
#define FPX_START_MS 10000

/* Replaces the one occurrence of from in *text with to; fails the test when from is not
 * there, so a change of the shipped config cannot leave a site value unreplaced. */
static void replace_once(char **text, const char *from, const char *to)
{
    char *at = strstr(*text, from);
    if (at == NULL)
        fail_msg("deploy/nginx/custos-gateway.conf no longer contains '%s'", from);
    size_t head = (size_t)(at - *text), from_len = strlen(from), to_len = strlen(to);
    size_t tail = strlen(at + from_len);
    char *out = malloc(head + to_len + tail + 1);
    assert_non_null(out);
    memcpy(out, *text, head);
    memcpy(out + head, to, to_len);
    memcpy(out + head + to_len, at + from_len, tail + 1);
    free(*text);
    *text = out;
}

char *fpx_site_config(const char *pki_dir, const char *gateway_socket, int port)
{
    char *text = tu_read_file(CUSTOS_SOURCE_DIR "/deploy/nginx/custos-gateway.conf");
    assert_non_null(text);
    char v[1300];
    snprintf(v, sizeof v, "listen 127.0.0.1:%d ssl http2;", port);
    replace_once(&text, "listen 443 ssl http2;", v);
    snprintf(v, sizeof v, "%s/server.pem;", pki_dir);
    replace_once(&text, "/etc/custos/tls/gateway.crt;", v);
    snprintf(v, sizeof v, "%s/server.key;", pki_dir);
    replace_once(&text, "/etc/custos/tls/gateway.key;", v);
    snprintf(v, sizeof v, "%s/ca.pem;", pki_dir);
    replace_once(&text, "/etc/custos/tls/client-ca.crt;", v);
    snprintf(v, sizeof v, "unix:%s;", gateway_socket);
    replace_once(&text, "unix:/run/custos/gateway.sock;", v);
    return text;
}

/* The main config: the foreground, a worker per core as deploy/nginx/nginx.conf, every
 * path under dir. As root, the worker
 * keeps root's user so that it can open the test's private directory. */
static void write_main_config(const fpx *p)
{
    char user[200] = "";
    if (geteuid() == 0) {
        struct passwd *pw = getpwuid(geteuid());
        struct group *gr = getgrgid(getegid());
        assert_non_null(pw);
        assert_non_null(gr);
        snprintf(user, sizeof user, "user %s %s;\n", pw->pw_name, gr->gr_name);
    }
    char text[8192], path[1200];
    int n = snprintf(text, sizeof text,
                     "daemon off;\nmaster_process on;\nworker_processes auto;\n%s"
                     "pid %s/nginx.pid;\nerror_log %s/error.log warn;\n"
                     "events {\n    worker_connections 1024;\n}\n"
                     "http {\n    access_log off;\n"
                     "    client_body_temp_path %s/tmp/body;\n"
                     "    proxy_temp_path %s/tmp/proxy;\n"
                     "    fastcgi_temp_path %s/tmp/fastcgi;\n"
                     "    uwsgi_temp_path %s/tmp/uwsgi;\n"
                     "    scgi_temp_path %s/tmp/scgi;\n"
                     "    include %s/custos-gateway.conf;\n}\n",
                     user, p->dir, p->dir, p->dir, p->dir, p->dir, p->dir, p->dir, p->dir);
    assert_true(n > 0 && (size_t)n < sizeof text);
    snprintf(path, sizeof path, "%s/nginx.conf", p->dir);
    tu_write_file(path, text);
}

static bool port_accepts(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return false;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

/* Waits until nginx listens; false when it exited first (e.g. the port was taken). */
static bool wait_ready(fpx *p)
{
    for (int waited = 0; waited < FPX_START_MS; waited += 20) {
        int status;
        if (waitpid(p->proc.pid, &status, WNOHANG) == p->proc.pid) {
            p->proc.pid = 0;
            return false;
        }
        if (port_accepts(p->port))
            return true;
        tu_sleep_ms(20);
    }
    fpx_dump_log(p);
    fail_msg("nginx did not listen on 127.0.0.1:%d within %d ms", p->port, FPX_START_MS);
    return false;
}

void fpx_start(fpx *p, const char *dir, const char *pki_dir, const char *gateway_socket)
{
    memset(p, 0, sizeof *p);
    snprintf(p->dir, sizeof p->dir, "%s", dir);
    char path[1200];
    snprintf(path, sizeof path, "%s/tmp", p->dir);
    assert_true(mkdir(path, 0700) == 0 || errno == EEXIST);
    write_main_config(p);
    for (int attempt = 0; attempt < FPX_START_TRIES; attempt++) {
        p->port = tu_free_port();
        assert_true(p->port > 0);
        char *site = fpx_site_config(pki_dir, gateway_socket, p->port);
        snprintf(path, sizeof path, "%s/custos-gateway.conf", p->dir);
        tu_write_file(path, site);
        free(site);
        char prefix[1200], conf[1200], log[1200], log_path[1200];
        snprintf(prefix, sizeof prefix, "%s/", p->dir);
        snprintf(conf, sizeof conf, "%s/nginx.conf", p->dir);
        snprintf(log, sizeof log, "%s/error.log", p->dir);
        snprintf(log_path, sizeof log_path, "%s/nginx.out", p->dir);
        const char *argv[] = {CUSTOS_NGINX, "-p", prefix, "-c", conf, "-e", log, NULL};
        tu_spawn(&p->proc, argv, log_path);
        if (wait_ready(p))
            return;
    }
    fpx_dump_log(p);
    fail_msg("nginx did not start in %d attempts", FPX_START_TRIES);
}

void fpx_stop(fpx *p)
{
    if (p->proc.pid > 0)
        tu_stop(&p->proc, SIGQUIT, 5000);
}

void fpx_dump_log(const fpx *p)
{
    const char *names[] = {"error.log", "nginx.out"};
    for (size_t i = 0; i < 2; i++) {
        char path[1200];
        snprintf(path, sizeof path, "%s/%s", p->dir, names[i]);
        char *log = tu_read_file(path);
        fprintf(stderr, "--- nginx %s ---\n%s\n", names[i], log != NULL ? log : "(none)");
        free(log);
    }
}

static void stack_pki(fpx_stack *s, const char *const certs[])
{
    memset(s, 0, sizeof *s);
    gwf_init(&s->f);
    snprintf(s->pki, sizeof s->pki, "%s/pki", s->f.dir);
    assert_int_equal(mkdir(s->pki, 0700), 0);
    pki_make_ca(s->pki, "ca", "Custos Test CA");
    pki_make_cert(s->pki, "server", "localhost", "ca", PKI_SERVER_EXT);
    for (size_t i = 0; certs[i] != NULL; i++)
        pki_make_cert(s->pki, certs[i], certs[i], "ca", PKI_CLIENT_EXT);
}

/* gwf_write_config's gateway with listen and [tls] replaced, and clients_ini added. */
static void stack_config(fpx_stack *s, const char *listen, const char *tls,
                         const char *clients_ini)
{
    gwf_write_config(&s->f);
    char *text = tu_read_file(s->f.config_path);
    assert_non_null(text);
    replace_once(&text, "listen = 127.0.0.1:0\n", listen);
    replace_once(&text, GWF_TLS_SECTION, tls);
    size_t len = strlen(text) + strlen(clients_ini) + 2;
    char *full = malloc(len);
    assert_non_null(full);
    snprintf(full, len, "%s\n%s", text, clients_ini);
    tu_write_file(s->f.config_path, full);
    free(full);
    free(text);
}

void fpx_stack_start(fpx_stack *s, const char *clients_ini, const char *const certs[])
{
    stack_pki(s, certs);
    snprintf(s->socket, sizeof s->socket, "%s/gateway.sock", s->f.dir);
    char listen[1300];
    snprintf(listen, sizeof listen, "listen = unix:%s\n", s->socket);
    stack_config(s, listen, "[tls]\ninsecure = true\nclient_identity = proxy-header\n\n",
                 clients_ini);
    tu_gateway_start(&s->f.proc, s->f.config_path, s->f.dir);

    char dir[1200];
    snprintf(dir, sizeof dir, "%s/nginx", s->f.dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    fpx_start(&s->proxy, dir, s->pki, s->socket);
    snprintf(s->target, sizeof s->target, "127.0.0.1:%d", s->proxy.port);
}

void fpx_stack_start_bare(fpx_stack *s, const char *clients_ini, const char *const certs[],
                          const char *gateway_bin)
{
    stack_pki(s, certs);
    char tls[4000];
    snprintf(tls, sizeof tls,
             "[tls]\ncert = %s/server.pem\nkey = %s/server.key\nclient_ca = %s/ca.pem\n\n",
             s->pki, s->pki, s->pki);
    stack_config(s, "listen = 127.0.0.1:0\n", tls, clients_ini);
    char port_file[1200], log_path[1200];
    snprintf(port_file, sizeof port_file, "%s/port", s->f.dir);
    snprintf(log_path, sizeof log_path, "%s/gateway.log", s->f.dir);
    const char *argv[] = {gateway_bin != NULL ? gateway_bin : CUSTOS_GATEWAY_BIN, "--config",
                          s->f.config_path, "--port-file", port_file, NULL};
    tu_spawn(&s->f.proc, argv, log_path);
    if (tu_wait_file(port_file, 15000) != 0) {
        gwf_dump_log(&s->f);
        fail_msg("custos-gateway did not report a port within 15 s");
    }
    char *text = tu_read_file(port_file);
    assert_non_null(text);
    s->f.port = atoi(text);
    free(text);
    snprintf(s->target, sizeof s->target, "127.0.0.1:%d", s->f.port);
}

void fpx_stack_cleanup(fpx_stack *s)
{
    fpx_stop(&s->proxy);
    gwf_cleanup(&s->f);
}

custos_client *fpx_stack_client(fpx_stack *s, const char *cert, int timeout_ms)
{
    char ca[1200], cert_path[1200], key_path[1200];
    snprintf(ca, sizeof ca, "%s/ca.pem", s->pki);
    custos_client_options o = {.target = s->target, .timeout_ms = timeout_ms, .ca_file = ca};
    if (cert != NULL) {
        snprintf(cert_path, sizeof cert_path, "%s/%s.pem", s->pki, cert);
        snprintf(key_path, sizeof key_path, "%s/%s.key", s->pki, cert);
        o.cert_file = cert_path;
        o.key_file = key_path;
    }
    custos_client *c = NULL;
    custos_error err;
    if (custos_client_open(&o, &c, &err) != CUSTOS_OK)
        fail_msg("custos_client_open: %s", err.message);
    return c;
}
