/*
 * rpc_common.c: what the RPC client, the blocking helper and the server share:
 * status names, option tables, nng error mapping, socket setup and dialling.
 */
#include "common/net/rpc_internal.h"
#include "common/base/clock.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/util/platform.h>

const cfg_option_t rpc_client_options[] = {
    {"rpc-contexts", CFG_INT, "64", "RPC calls in flight at once per worker client (nng contexts).", 1, 4096},
    {"rpc-queue-max", CFG_INT, "1024",
     "RPC calls allowed to wait for a free context; beyond that a call fails at once as overloaded (0: never wait).",
     0, 1000000},
    {"rpc-max-msg-bytes", CFG_INT, "4194304", "Largest RPC request or reply payload, in bytes.", 1024, 1073741824},
    {"rpc-reconnect-min-ms", CFG_INT, "100", "First delay before redialling a worker that is down, in ms.", 1,
     600000},
    {"rpc-reconnect-max-ms", CFG_INT, "2000", "Longest delay between redials of a worker that is down, in ms.", 1,
     600000},
    {"rpc-batch-max", CFG_INT, "16",
     "Calls to one worker started in the same loop turn that may share one message (1: every call alone).", 1,
     RPC_BATCH_MAX},
    CFG_END,
};

const cfg_option_t rpc_server_options[] = {
    {"rpc-server-contexts", CFG_INT, "16", "RPC requests received at once (nng contexts).", 1, 4096},
    {"rpc-server-threads", CFG_INT, "0",
     "Threads running RPC handlers; 0: each handler runs on the nng task thread that received the request (no hand-off; fastest when handlers take well under a millisecond).",
     0, 256},
    {"rpc-server-max-msg-bytes", CFG_INT, "4194304", "Largest RPC request or reply payload, in bytes.", 1024,
     1073741824},
    {"rpc-server-drain-ms", CFG_INT, "5000", "On shutdown, how long in-flight RPC requests may take to finish, in ms.",
     0, 600000},
    CFG_END,
};

const char *rpc_status_str(rpc_status_t st)
{
    switch (st) {
    case RPC_OK: return "ok";
    case RPC_TIMEOUT: return "timeout";
    case RPC_CLOSED: return "connection closed";
    case RPC_TOO_LARGE: return "message too large";
    case RPC_OVERLOADED: return "overloaded";
    case RPC_SHUTDOWN: return "shutting down";
    case RPC_ERROR: return "error";
    }
    return "unknown";
}

void rpc_client_opts_default(rpc_client_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->contexts = 64;
    o->queue_max = 1024;
    o->max_msg_bytes = RPC_DEFAULT_MAX_MSG_BYTES;
    o->reconnect_min_ms = 100;
    o->reconnect_max_ms = 2000;
    o->batch_max = 16;
}

int rpc_client_opts_from_cfg(const cfg_t *cfg, rpc_client_opts_t *o, err_t *err)
{
    o->contexts = (int)cfg_int(cfg, "rpc-contexts");
    o->queue_max = (int)cfg_int(cfg, "rpc-queue-max");
    o->max_msg_bytes = (size_t)cfg_int(cfg, "rpc-max-msg-bytes");
    o->reconnect_min_ms = (int)cfg_int(cfg, "rpc-reconnect-min-ms");
    o->reconnect_max_ms = (int)cfg_int(cfg, "rpc-reconnect-max-ms");
    o->batch_max = (int)cfg_int(cfg, "rpc-batch-max");
    if (o->reconnect_max_ms < o->reconnect_min_ms)
        return err_set(err, "--rpc-reconnect-max-ms=%d is below --rpc-reconnect-min-ms=%d", o->reconnect_max_ms,
                       o->reconnect_min_ms);
    return 0;
}

void rpc_server_opts_default(rpc_server_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->contexts = 16;
    o->threads = 0;
    o->max_msg_bytes = RPC_DEFAULT_MAX_MSG_BYTES;
    o->drain_ms = 5000;
}

int rpc_server_opts_from_cfg(const cfg_t *cfg, rpc_server_opts_t *o, err_t *err)
{
    (void)err;
    o->contexts = (int)cfg_int(cfg, "rpc-server-contexts");
    o->threads = (int)cfg_int(cfg, "rpc-server-threads");
    o->max_msg_bytes = (size_t)cfg_int(cfg, "rpc-server-max-msg-bytes");
    o->drain_ms = (int)cfg_int(cfg, "rpc-server-drain-ms");
    return 0;
}

rpc_status_t rpc_status_from_nng(int rv)
{
    switch (rv) {
    case 0: return RPC_OK;
    case NNG_ETIMEDOUT: return RPC_TIMEOUT;
    case NNG_ECONNRESET:
    case NNG_ECONNREFUSED:
    case NNG_ECONNSHUT:
    case NNG_ECONNABORTED:
    case NNG_ECLOSED: return RPC_CLOSED;
    case NNG_EMSGSIZE: return RPC_TOO_LARGE;
    default: return RPC_ERROR;
    }
}

char *rpc_url_next(char *s, char **save)
{
    for (char *tok = strtok_r(s, ",", save); tok != NULL; tok = strtok_r(NULL, ",", save)) {
        while (*tok == ' ' || *tok == '\t')
            tok++;
        size_t l = strlen(tok);
        while (l > 0 && (tok[l - 1] == ' ' || tok[l - 1] == '\t'))
            tok[--l] = '\0';
        if (l > 0)
            return tok;
    }
    return NULL;
}

int rpc_dial_urls(nng_socket s, const char *urls, nng_dialer *dialers, int max, int *n_out, err_t *err)
{
    if (n_out != NULL)
        *n_out = 0;
    if (urls == NULL || urls[0] == '\0')
        return err_set(err, "rpc: no URL to dial");
    char *copy = strdup(urls);
    if (copy == NULL)
        return err_set(err, "rpc: out of memory");
    int n = 0, rc = 0;
    char *save = NULL;
    for (char *tok = rpc_url_next(copy, &save); tok != NULL; tok = rpc_url_next(NULL, &save)) {
        /* NONBLOCK: a refused first attempt is retried in the background
         * instead of failing here, so clients may start before servers. */
        if (dialers != NULL && n >= max) {
            rc = err_set(err, "rpc: more than %d URLs in '%s'", max, urls);
            break;
        }
        nng_dialer d;
        int rv = nng_dial(s, tok, &d, NNG_FLAG_NONBLOCK);
        if (rv != 0) {
            rc = err_set(err, "rpc: dial %s: %s", tok, nng_strerror(rv));
            break;
        }
        if (dialers != NULL)
            dialers[n] = d;
        n++;
        if (n_out != NULL)
            *n_out = n;
    }
    if (rc == 0 && n == 0)
        rc = err_set(err, "rpc: no URL in '%s'", urls);
    free(copy);
    return rc;
}

int rpc_req_socket_setup(nng_socket s, size_t max_msg_bytes, int reconnect_min_ms, int reconnect_max_ms,
                         err_t *err)
{
    int rv;
    /* 0 disables resend in nng 1.5 (the retry timer is armed only for a
     * positive time, and a pipe closing under a request then fails it with
     * NNG_ECONNRESET instead of resending it elsewhere). */
    if ((rv = nng_socket_set_ms(s, NNG_OPT_REQ_RESENDTIME, 0)) != 0)
        return err_set(err, "rpc: set %s: %s", NNG_OPT_REQ_RESENDTIME, nng_strerror(rv));
    if ((rv = nng_socket_set_size(s, NNG_OPT_RECVMAXSZ, max_msg_bytes + RPC_HEADER_SLACK)) != 0)
        return err_set(err, "rpc: set %s: %s", NNG_OPT_RECVMAXSZ, nng_strerror(rv));
    if ((rv = nng_socket_set_ms(s, NNG_OPT_RECONNMINT, reconnect_min_ms)) != 0)
        return err_set(err, "rpc: set %s: %s", NNG_OPT_RECONNMINT, nng_strerror(rv));
    if ((rv = nng_socket_set_ms(s, NNG_OPT_RECONNMAXT, reconnect_max_ms)) != 0)
        return err_set(err, "rpc: set %s: %s", NNG_OPT_RECONNMAXT, nng_strerror(rv));
    return 0;
}

static void pipe_event(nng_pipe p, nng_pipe_ev ev, void *arg)
{
    atomic_int *count = arg;
    (void)p;
    /* ADD_PRE, not ADD_POST: nng reports REM_POST for every pipe that saw
     * ADD_PRE, including one rejected before ADD_POST. */
    if (ev == NNG_PIPE_EV_ADD_PRE)
        atomic_fetch_add(count, 1);
    else if (ev == NNG_PIPE_EV_REM_POST)
        atomic_fetch_sub(count, 1);
}

int rpc_count_pipes(nng_socket s, atomic_int *count, err_t *err)
{
    int rv;
    atomic_store(count, 0);
    if ((rv = nng_pipe_notify(s, NNG_PIPE_EV_ADD_PRE, pipe_event, count)) != 0 ||
        (rv = nng_pipe_notify(s, NNG_PIPE_EV_REM_POST, pipe_event, count)) != 0)
        return err_set(err, "rpc: pipe notify: %s", nng_strerror(rv));
    return 0;
}

typedef struct closer {
    nng_socket sock;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    int refs; /* the caller and the thread */
} closer_t;

static void closer_unref(closer_t *c)
{
    pthread_mutex_lock(&c->mu);
    bool last = --c->refs == 0;
    pthread_mutex_unlock(&c->mu);
    if (last) {
        pthread_cond_destroy(&c->cv);
        pthread_mutex_destroy(&c->mu);
        free(c);
    }
}

static void *closer_main(void *arg)
{
    closer_t *c = arg;
    nng_close(c->sock);
    pthread_mutex_lock(&c->mu);
    c->done = true;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
    closer_unref(c);
    return NULL;
}

int rpc_close_bounded(nng_socket s, int max_ms)
{
    closer_t *c = calloc(1, sizeof *c);
    pthread_t t;
    pthread_attr_t attr;
    if (c == NULL || pthread_attr_init(&attr) != 0) {
        free(c);
        nng_close(s); /* no memory for a thread: close in place */
        return 0;
    }
    c->sock = s;
    c->refs = 2;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&t, &attr, closer_main, c);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        c->refs = 1;
        closer_unref(c);
        nng_close(s);
        return 0;
    }
    struct timespec until = clock_wall_after(max_ms);
    pthread_mutex_lock(&c->mu);
    while (!c->done)
        if (pthread_cond_timedwait(&c->cv, &c->mu, &until) == ETIMEDOUT)
            break;
    bool done = c->done;
    pthread_mutex_unlock(&c->mu);
    closer_unref(c);
    return done ? 0 : -1;
}

int rpc_wait_no_pipes(atomic_int *count, int max_ms)
{
    for (int waited = 0; atomic_load(count) > 0; waited++) {
        if (waited >= max_ms)
            return -1;
        nng_msleep(1);
    }
    return 0;
}
