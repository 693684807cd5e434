#include "anvil.h"

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "evm/evm_rpc.h"

#define ANVIL_START_MS 30000
#define ANVIL_ATTEMPTS 3
#define ANVIL_LISTENING "Listening on 127.0.0.1:"

/* True once the node answers eth_chainId; false when the child exited (p->pid cleared) or
 * the time ran out. */
static int anvil_wait(tu_proc *p, const char *url)
{
    evm_rpc_options opt = {.url = url, .connect_timeout_ms = 2000, .timeout_ms = 2000};
    evm_rpc *rpc = NULL;
    custos_error err;
    if (evm_rpc_new(&opt, &rpc, &err) != CUSTOS_OK) {
        fprintf(stderr, "anvil: %s\n", err.message);
        return 0;
    }
    int up = 0;
    for (int64_t deadline = tu_now_ms() + ANVIL_START_MS; !up && tu_now_ms() < deadline;) {
        uint64_t chain_id;
        if (evm_rpc_chain_id(rpc, &chain_id, &err) == CUSTOS_OK) {
            up = 1;
            break;
        }
        int status;
        if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
            p->pid = 0;
            break;
        }
        tu_sleep_ms(100);
    }
    evm_rpc_free(rpc);
    return up;
}

/* The port anvil printed ("Listening on 127.0.0.1:PORT") in its log past offset from, or 0
 * while it has not printed it yet. */
static int anvil_port(const char *log_path, size_t from)
{
    char *log = tu_read_file(log_path);
    int port = 0;
    if (log != NULL && strlen(log) > from) {
        const char *at = strstr(log + from, ANVIL_LISTENING);
        if (at != NULL)
            port = atoi(at + strlen(ANVIL_LISTENING));
    }
    free(log);
    return port;
}

/* Port 0 lets the kernel choose while anvil binds, so no other process can take the port
 * between a probe and the bind, and no other node can answer in this test's place. */
int tu_anvil_start(tu_proc *p, const char *dir, char *url, size_t cap)
{
    char log_path[4200];
    snprintf(log_path, sizeof log_path, "%s/anvil.log", dir);
    for (int attempt = 0; attempt < ANVIL_ATTEMPTS; attempt++) {
        char *before = tu_read_file(log_path);
        size_t from = before != NULL ? strlen(before) : 0;
        free(before);
        const char *argv[] = {TU_ANVIL_BIN, "--host", "127.0.0.1", "--port", "0", NULL};
        tu_spawn(p, argv, log_path);
        int port = 0;
        for (int64_t deadline = tu_now_ms() + ANVIL_START_MS;
             port == 0 && p->pid > 0 && tu_now_ms() < deadline;) {
            port = anvil_port(log_path, from);
            int status;
            if (port == 0 && waitpid(p->pid, &status, WNOHANG) == p->pid)
                p->pid = 0;
            else if (port == 0)
                tu_sleep_ms(50);
        }
        if (port > 0) {
            snprintf(url, cap, "http://127.0.0.1:%d", port);
            if (anvil_wait(p, url))
                return 0;
        }
        if (p->pid > 0)
            tu_stop(p, SIGKILL, 2000);
    }
    char *log = tu_read_file(log_path);
    fprintf(stderr, "anvil did not start; its log:\n%s\n", log != NULL ? log : "(none)");
    free(log);
    return -1;
}
