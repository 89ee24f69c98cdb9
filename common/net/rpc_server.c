/*
 * rpc_server.c: the workers' RPC server: nng rep0 contexts feeding a thread
 * pool (see rpc.h for the contract).
 *
 * Each context is a small state machine driven by its aio callback:
 * RECV (waiting for a request) -> WORK (queued for, or running on, a worker
 * thread) -> SEND (reply handed to nng) -> RECV again. A rep0 context keeps
 * the request's routing itself, so the reply is a fresh message. The state
 * lives under the server mutex, and a receive is (re)started only with the
 * mutex held, so once rpc_server_stop has set "stopping" no new receive is
 * started: a context that finishes a reply goes IDLE instead.
 *
 * Stop: wait (bounded) until no context holds a request; a request that
 * arrives meanwhile on a context still receiving is served too. Then close
 * the listener and wait until no pipe is left, and only then stop the aios
 * and close the socket: in nng 1.5.2, aborting a pending receive while a
 * message is arriving can hang nng_close (see rpc_internal.h).
 */
#include "common/net/rpc_internal.h"
#include "common/base/clock.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nng/protocol/reqrep0/rep.h>
#include <nng/supplemental/util/platform.h>

#include "common/base/log.h"

enum { SC_IDLE = 0, SC_RECV, SC_WORK, SC_SEND };

typedef struct srv_ctx srv_ctx_t;
struct srv_ctx {
    rpc_server_t *s;
    nng_ctx ctx;
    nng_aio *aio;
    bool ctx_open;
    int state;     /* under s->mu */
    nng_msg *req;  /* while SC_WORK */
    srv_ctx_t *next;
};

struct rpc_server {
    nng_socket sock;
    bool sock_open;
    nng_listener listener;
    bool listener_open;
    atomic_int pipes;
    char url[512];
    rpc_handler_fn handler;
    void *harg;
    rpc_oversize_fn oversize;
    size_t max_msg;
    int drain_ms;
    srv_ctx_t *ctxs;
    int nctx;
    pthread_t *threads;
    int nthreads;
    bool inline_handler; /* threads == 0: handlers run in nng's callbacks */
    pthread_mutex_t mu;
    pthread_cond_t work_cv, idle_cv;
    srv_ctx_t *wq_head, *wq_tail;
    bool stopping, quit, stopped;
    int abandoned;
    rpc_server_stats_t stats;
};

/* Starts a receive; s->mu held. */
static void start_recv(srv_ctx_t *sc)
{
    sc->state = SC_RECV;
    nng_ctx_recv(sc->ctx, sc->aio);
}

/* After a reply (or none): next request, or IDLE when stopping; s->mu held. */
static void finish_request(srv_ctx_t *sc)
{
    rpc_server_t *s = sc->s;
    s->stats.in_flight--;
    if (s->stopping) {
        sc->state = SC_IDLE;
        pthread_cond_broadcast(&s->idle_cv);
    } else {
        start_recv(sc);
    }
}

/* What serving one message did (calls handled, failed, over the limit). */
typedef struct served_counts {
    int handled, failed, big;
} served_counts_t;
static nng_msg *serve(rpc_server_t *s, srv_ctx_t *sc, served_counts_t *cnt);

/* After the handler: counts, then the reply is sent (or the request is
 * abandoned: the caller times out); s->mu held. */
static void served(rpc_server_t *s, srv_ctx_t *sc, nng_msg *reply, const served_counts_t *cnt)
{
    s->stats.handled += (uint64_t)cnt->handled;
    s->stats.handler_errors += (uint64_t)cnt->failed;
    s->stats.oversize += (uint64_t)cnt->big;
    if (reply == NULL) {
        finish_request(sc);
        return;
    }
    sc->state = SC_SEND;
    nng_aio_set_msg(sc->aio, reply);
    nng_ctx_send(sc->ctx, sc->aio);
}

static void ctx_cb(void *arg)
{
    srv_ctx_t *sc = arg;
    rpc_server_t *s = sc->s;
    int rv = nng_aio_result(sc->aio);
    pthread_mutex_lock(&s->mu);
    if (sc->state == SC_RECV) {
        if (rv != 0) {
            if (s->stopping || rv == NNG_ECLOSED || rv == NNG_ECANCELED) {
                sc->state = SC_IDLE;
                pthread_cond_broadcast(&s->idle_cv);
            } else {
                start_recv(sc);
            }
        } else {
            /* Received, even if stop began a moment ago: serve it. */
            sc->req = nng_aio_get_msg(sc->aio);
            nng_aio_set_msg(sc->aio, NULL);
            sc->state = SC_WORK;
            s->stats.in_flight++;
            if (s->inline_handler) {
                /* No pool: the handler runs here, on nng's task thread,
                 * which saves a cross-thread wake-up each way. */
                pthread_mutex_unlock(&s->mu);
                served_counts_t cnt = {0, 0, 0};
                nng_msg *reply = serve(s, sc, &cnt);
                pthread_mutex_lock(&s->mu);
                served(s, sc, reply, &cnt);
            } else {
                sc->next = NULL;
                if (s->wq_tail != NULL)
                    s->wq_tail->next = sc;
                else
                    s->wq_head = sc;
                s->wq_tail = sc;
                pthread_cond_signal(&s->work_cv);
            }
        }
    } else if (sc->state == SC_SEND) {
        if (rv != 0) {
            nng_msg *m = nng_aio_get_msg(sc->aio); /* a failed send leaves it with us */
            nng_aio_set_msg(sc->aio, NULL);
            if (m != NULL)
                nng_msg_free(m);
            s->stats.send_errors++;
        } else {
            s->stats.replied++;
        }
        finish_request(sc);
    }
    pthread_mutex_unlock(&s->mu);
}

/* Runs the handler for one payload: 0 with *out (malloc'd, *out_len bytes),
 * or -1 for no reply. Counts into *n. */

static int serve_one(rpc_server_t *s, const void *req, size_t len, void **out, size_t *out_len, served_counts_t *n)
{
    *out = NULL;
    *out_len = 0;
    n->handled++;
    int rc = s->handler(req, len, out, out_len, s->harg);
    if (rc != 0) {
        free(*out);
        *out = NULL;
        n->failed++;
        log_warn("rpc server %s: handler failed; no reply sent", s->url);
        return -1;
    }
    if (*out_len > s->max_msg) {
        n->big++;
        size_t was = *out_len;
        free(*out);
        *out = NULL;
        *out_len = 0;
        if (s->oversize == NULL || s->oversize(was, s->max_msg, out, out_len, s->harg) != 0 ||
            *out_len > s->max_msg) {
            free(*out);
            *out = NULL;
            log_warn("rpc server %s: reply of %zu bytes exceeds the limit of %zu bytes "
                     "(rpc-server-max-msg-bytes); dropped",
                     s->url, was, s->max_msg);
            return -1;
        }
    }
    return 0;
}

static nng_msg *new_msg(rpc_server_t *s, size_t len)
{
    nng_msg *m = NULL;
    if (nng_msg_alloc(&m, len) != 0) {
        log_error("rpc server %s: out of memory for a reply of %zu bytes", s->url, len);
        return NULL;
    }
    return m;
}

/* Serves a batch frame: every call in order, the replies in one frame. */
static nng_msg *serve_batch(rpc_server_t *s, const rpc_batch_part_t *in, size_t n, served_counts_t *cnt)
{
    rpc_batch_part_t out[RPC_BATCH_MAX];
    void *bufs[RPC_BATCH_MAX];
    for (size_t i = 0; i < n; i++) {
        size_t len = 0;
        bufs[i] = NULL;
        out[i].data = NULL;
        out[i].len = 0;
        if (in[i].data == NULL)
            continue; /* a request part cannot be "no reply": nothing to serve */
        if (serve_one(s, in[i].data, in[i].len, &bufs[i], &len, cnt) == 0) {
            out[i].data = bufs[i] != NULL ? bufs[i] : (const void *)"";
            out[i].len = len;
        }
    }
    size_t total = rpc_batch_size(out, n);
    if (total > s->max_msg) {
        /* Each reply fits but not all together: none is sent, and every
         * caller hears so at once instead of at its deadline. */
        log_warn("rpc server %s: the %zu replies of a batch take %zu bytes, over the limit of %zu bytes "
                 "(rpc-server-max-msg-bytes); none sent",
                 s->url, n, total, s->max_msg);
        for (size_t i = 0; i < n; i++)
            out[i].data = NULL;
        total = rpc_batch_size(out, n);
    }
    nng_msg *m = new_msg(s, total);
    if (m != NULL)
        rpc_batch_write(nng_msg_body(m), out, n);
    for (size_t i = 0; i < n; i++)
        free(bufs[i]);
    return m;
}

/* Runs the handler for one context (once, or per call of a batch); returns
 * the reply message or NULL. */
static nng_msg *serve(rpc_server_t *s, srv_ctx_t *sc, served_counts_t *cnt)
{
    rpc_batch_part_t in[RPC_BATCH_MAX];
    size_t n = 0;
    const void *body = nng_msg_body(sc->req);
    size_t len = nng_msg_len(sc->req);
    nng_msg *m = NULL;
    if (rpc_batch_parse(body, len, in, &n) == 0) {
        m = serve_batch(s, in, n, cnt);
    } else {
        /* One call (a broken frame too: the handler refuses it in its own
         * envelope). */
        void *out = NULL;
        size_t out_len = 0;
        if (serve_one(s, body, len, &out, &out_len, cnt) == 0 && (m = new_msg(s, out_len)) != NULL && out_len > 0)
            memcpy(nng_msg_body(m), out, out_len);
        free(out);
    }
    nng_msg_free(sc->req);
    sc->req = NULL;
    return m;
}

static void *worker_main(void *arg)
{
    rpc_server_t *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (s->wq_head == NULL && !s->quit)
            pthread_cond_wait(&s->work_cv, &s->mu);
        srv_ctx_t *sc = s->wq_head;
        if (sc == NULL)
            break; /* quit and nothing left */
        s->wq_head = sc->next;
        if (s->wq_head == NULL)
            s->wq_tail = NULL;
        if (s->quit) {
            /* Abandoned at shutdown: the socket is closing anyway. */
            nng_msg_free(sc->req);
            sc->req = NULL;
            sc->state = SC_IDLE;
            s->stats.in_flight--;
            continue;
        }
        pthread_mutex_unlock(&s->mu);
        served_counts_t cnt = {0, 0, 0};
        nng_msg *reply = serve(s, sc, &cnt);
        pthread_mutex_lock(&s->mu);
        served(s, sc, reply, &cnt);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* For tcp://host:0, the URL with the port the kernel chose. */
static void bound_url(rpc_server_t *s, nng_listener l, const char *url)
{
    snprintf(s->url, sizeof s->url, "%s", url);
    int port = 0;
    if (strncmp(url, "tcp", 3) != 0 || nng_listener_get_int(l, NNG_OPT_TCP_BOUND_PORT, &port) != 0 || port <= 0)
        return;
    const char *colon = strrchr(url, ':');
    if (colon == NULL || colon < url + 6)
        return;
    snprintf(s->url, sizeof s->url, "%.*s:%d", (int)(colon - url), url, port);
}

const char *rpc_server_url(const rpc_server_t *s)
{
    return s->url;
}

void rpc_server_stats(rpc_server_t *s, rpc_server_stats_t *out)
{
    pthread_mutex_lock(&s->mu);
    *out = s->stats;
    pthread_mutex_unlock(&s->mu);
}

/* Counts the contexts holding a request (receiving ones do not). */
static int holding(const rpc_server_t *s)
{
    int n = 0;
    for (int i = 0; i < s->nctx; i++)
        n += s->ctxs[i].state == SC_WORK || s->ctxs[i].state == SC_SEND;
    return n;
}

static void release(rpc_server_t *s)
{
    /* Wake and join the workers; a handler still running is waited for
     * (it owns a context until it returns). */
    pthread_mutex_lock(&s->mu);
    s->quit = true;
    pthread_cond_broadcast(&s->work_cv);
    pthread_mutex_unlock(&s->mu);
    /* Closing the listener closes its pipes: callers of abandoned requests
     * see the connection close now instead of timing out, and once no pipe
     * is left no message can arrive while the aios are stopped. */
    if (s->listener_open)
        nng_listener_close(s->listener);
    s->listener_open = false;
    if (s->sock_open && rpc_wait_no_pipes(&s->pipes, 2000) != 0)
        log_warn("rpc server %s: connections still open 2 s after closing the listener", s->url);
    for (int i = 0; i < s->nctx; i++)
        if (s->ctxs[i].aio != NULL)
            nng_aio_stop(s->ctxs[i].aio);
    for (int i = 0; i < s->nthreads; i++)
        pthread_join(s->threads[i], NULL);
    s->nthreads = 0;
    for (int i = 0; i < s->nctx; i++) {
        srv_ctx_t *sc = &s->ctxs[i];
        if (sc->ctx_open)
            nng_ctx_close(sc->ctx);
        sc->ctx_open = false;
        if (sc->aio != NULL) {
            nng_aio_stop(sc->aio);
            nng_msg *m = nng_aio_get_msg(sc->aio);
            if (m != NULL)
                nng_msg_free(m);
            nng_aio_free(sc->aio);
            sc->aio = NULL;
        }
        if (sc->req != NULL)
            nng_msg_free(sc->req);
        sc->req = NULL;
    }
    if (s->sock_open && rpc_close_bounded(s->sock, 3000) != 0)
        log_warn("rpc server %s: the socket did not close within 3 s (nng 1.5.2 close hang); leaving it to "
                 "the process exit", s->url);
    s->sock_open = false;
}

int rpc_server_stop(rpc_server_t *s)
{
    pthread_mutex_lock(&s->mu);
    if (s->stopped) {
        pthread_mutex_unlock(&s->mu);
        return s->abandoned;
    }
    s->stopped = true;
    s->stopping = true;
    uint64_t replied_before = s->stats.replied;
    struct timespec until = clock_wall_after(s->drain_ms);
    int busy;
    while ((busy = holding(s)) > 0)
        if (pthread_cond_timedwait(&s->idle_cv, &s->mu, &until) == ETIMEDOUT) {
            busy = holding(s);
            break;
        }
    s->abandoned = busy;
    bool sent = s->stats.replied != replied_before;
    pthread_mutex_unlock(&s->mu);
    /* A reply counts as sent once nng has taken it, before the kernel has
     * it; nng 1.5.2 has no linger, so give the last replies a moment. */
    if (sent)
        nng_msleep(20);
    if (busy > 0)
        log_warn("rpc server %s: %d requests still in flight after %d ms; abandoning them", s->url, busy,
                 s->drain_ms);
    release(s);
    return busy;
}

void rpc_server_free(rpc_server_t *s)
{
    if (s == NULL)
        return;
    rpc_server_stop(s);
    pthread_cond_destroy(&s->work_cv);
    pthread_cond_destroy(&s->idle_cv);
    pthread_mutex_destroy(&s->mu);
    free(s->threads);
    free(s->ctxs);
    free(s);
}

int rpc_server_new(const rpc_server_opts_t *o, rpc_handler_fn handler, void *handler_arg, rpc_server_t **out,
                   err_t *err)
{
    *out = NULL;
    if (o->url == NULL || o->url[0] == '\0')
        return err_set(err, "rpc server: no URL to listen on");
    if (handler == NULL || o->contexts < 1 || o->threads < 0 || o->max_msg_bytes == 0 || o->drain_ms < 0)
        return err_set(err, "rpc server %s: bad options (contexts %d, threads %d, max message %zu bytes)", o->url,
                       o->contexts, o->threads, o->max_msg_bytes);
    rpc_server_t *s = calloc(1, sizeof *s);
    if (s == NULL)
        return err_set(err, "rpc server: out of memory");
    snprintf(s->url, sizeof s->url, "%s", o->url);
    s->handler = handler;
    s->harg = handler_arg;
    s->oversize = o->oversize;
    s->max_msg = o->max_msg_bytes;
    s->drain_ms = o->drain_ms;
    s->nctx = o->contexts;
    s->inline_handler = o->threads == 0;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->work_cv, NULL);
    pthread_cond_init(&s->idle_cv, NULL);
    s->ctxs = calloc((size_t)s->nctx, sizeof *s->ctxs);
    s->threads = calloc(o->threads > 0 ? (size_t)o->threads : 1, sizeof *s->threads);
    /* Until the contexts run, stop has nothing to drain. */
    s->stopping = true;
    if (s->ctxs == NULL || s->threads == NULL) {
        err_set(err, "rpc server: out of memory");
        goto fail;
    }
    int rv;
    if ((rv = nng_rep0_open(&s->sock)) != 0) {
        err_set(err, "rpc server: open rep socket: %s", nng_strerror(rv));
        goto fail;
    }
    s->sock_open = true;
    /* Over-size requests make nng drop the connection before the handler
     * could see them; the header slack keeps a request of exactly the limit
     * acceptable. */
    if ((rv = nng_socket_set_size(s->sock, NNG_OPT_RECVMAXSZ, s->max_msg + RPC_HEADER_SLACK)) != 0) {
        err_set(err, "rpc server: set %s: %s", NNG_OPT_RECVMAXSZ, nng_strerror(rv));
        goto fail;
    }
    for (int i = 0; i < s->nctx; i++) {
        srv_ctx_t *sc = &s->ctxs[i];
        sc->s = s;
        if ((rv = nng_aio_alloc(&sc->aio, ctx_cb, sc)) != 0 || (rv = nng_ctx_open(&sc->ctx, s->sock)) != 0) {
            err_set(err, "rpc server: context %d: %s", i, nng_strerror(rv));
            goto fail;
        }
        sc->ctx_open = true;
    }
    if (rpc_count_pipes(s->sock, &s->pipes, err) != 0)
        goto fail;
    if ((rv = nng_listen(s->sock, o->url, &s->listener, 0)) != 0) {
        err_set(err, "rpc server: listen on %s: %s", o->url, nng_strerror(rv));
        goto fail;
    }
    s->listener_open = true;
    bound_url(s, s->listener, o->url);
    for (int i = 0; i < o->threads; i++) {
        if ((rv = pthread_create(&s->threads[i], NULL, worker_main, s)) != 0) {
            err_set(err, "rpc server: start worker thread: %s", strerror(rv));
            goto fail;
        }
        s->nthreads++;
    }
    pthread_mutex_lock(&s->mu);
    s->stopping = false;
    for (int i = 0; i < s->nctx; i++)
        start_recv(&s->ctxs[i]);
    pthread_mutex_unlock(&s->mu);
    *out = s;
    return 0;
fail:
    s->stopped = true;
    release(s);
    pthread_cond_destroy(&s->work_cv);
    pthread_cond_destroy(&s->idle_cv);
    pthread_mutex_destroy(&s->mu);
    free(s->threads);
    free(s->ctxs);
    free(s);
    return -1;
}
