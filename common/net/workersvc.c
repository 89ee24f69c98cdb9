/*
 * workersvc.c: the shared body of the model workers (see workersvc.h).
 *
 * The process side (options parsing, log, admin port, signals, drain, the
 * loop) is common/net/daemon.c; this file is the worker's daemon_service_t:
 * start = rpc server + first model load, stop = rpc drain, reload = SIGHUP's
 * background load, ready = a model is loaded.
 *
 * Threads: the main thread runs the daemon's libuv loop for the admin
 * server, signals and model loads (uv_queue_work); nng's threads and the rpc
 * server's worker pool run on_request concurrently. The only state they
 * share is the current model, held in a reference-counted model_ref_t
 * behind a mutex: a request
 * takes a reference for its whole duration, a reload publishes a new ref and
 * drops the old one, and the last holder frees the old model. That is what
 * makes SIGHUP lose no request: nothing a request uses is freed under it.
 */
#include "common/base/clock.h"
#include "common/net/workersvc.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "common/base/log.h"
#include "common/net/daemon.h"
#include "common/net/metrics.h"
#include "common/net/rpc.h"

const cfg_option_t workersvc_options[] = {
    {"access-log", CFG_BOOL, "false",
     "Log one JSON line per request served (method, code, duration, the gateway's trace id).", 0, 0},
    {"admin-host", CFG_STRING, "127.0.0.1",
     "Address the admin HTTP server (/healthz, /readyz, /metrics) listens on; 0.0.0.0 in containers.", 0, 0},
    CFG_END,
};

typedef struct model_ref {
    void *model;
    atomic_int refs;
    int64_t loaded_at_ms;
    const workersvc_ops_t *ops;
} model_ref_t;

enum { M_SCORE, M_SIMILAR, M_PREDICT, M_INFO, M_ITEMS, M_INVALID, M_N };
static const char *const method_names[M_N] = {"score", "similar", "predict", "info", "items", "invalid"};
#define N_CODES 6
static const char *const code_names[N_CODES] = {"ok", "invalid_argument", "not_found",
                                                "unavailable", "internal", "resource_exhausted"};

typedef struct svc {
    const workersvc_ops_t *ops;
    const cfg_t *cfg;
    daemon_t *d;
    rpc_server_t *rpc;
    bool access_log; /* access-log: one line per request */

    pthread_mutex_t mu;
    model_ref_t *cur; /* guarded by mu */

    /* Model loading, loop thread only. */
    uv_work_t work;
    bool loading, reload_pending, stopping, first_load_done;
    model_ref_t *loaded;
    err_t load_err;
    double load_seconds;

    metrics_counter_t *req[M_N][N_CODES];
    metrics_histogram_t *lat[M_N];
    metrics_counter_t *reload_ok, *reload_fail;
    metrics_gauge_t *model_bytes, *model_loaded, *model_load_seconds;
    metrics_family_t *info_family;
    metrics_gauge_t *info_cur;
} svc_t;

/* ------------------------------------------------------------ model refs */

static model_ref_t *ref_acquire(svc_t *s)
{
    pthread_mutex_lock(&s->mu);
    model_ref_t *r = s->cur;
    if (r != NULL)
        atomic_fetch_add(&r->refs, 1);
    pthread_mutex_unlock(&s->mu);
    return r;
}

static void ref_release(model_ref_t *r)
{
    if (r != NULL && atomic_fetch_sub(&r->refs, 1) == 1) {
        r->ops->free(r->model);
        free(r);
    }
}

/* Publishes r (which carries the one reference the service holds). */
static void ref_publish(svc_t *s, model_ref_t *r)
{
    pthread_mutex_lock(&s->mu);
    model_ref_t *old = s->cur;
    s->cur = r;
    pthread_mutex_unlock(&s->mu);
    ref_release(old);
}

/* ------------------------------------------------------------ requests */

static int method_of(Recsys__V1__WorkerRequest__BodyCase c)
{
    switch (c) {
    case RECSYS__V1__WORKER_REQUEST__BODY_SCORE: return M_SCORE;
    case RECSYS__V1__WORKER_REQUEST__BODY_SIMILAR: return M_SIMILAR;
    case RECSYS__V1__WORKER_REQUEST__BODY_PREDICT: return M_PREDICT;
    case RECSYS__V1__WORKER_REQUEST__BODY_INFO: return M_INFO;
    case RECSYS__V1__WORKER_REQUEST__BODY_ITEMS: return M_ITEMS;
    default: return M_INVALID;
    }
}

static void fill_info(svc_t *s, model_ref_t *ref, Recsys__V1__WorkerReply *reply, arena_t *arena)
{
    Recsys__V1__WorkerModelInfo *info = arena_alloc(arena, sizeof *info);
    if (info == NULL)
        return;
    recsys__v1__worker_model_info__init(info);
    if (s->ops->info != NULL)
        s->ops->info(ref->model, info, arena);
    info->model_name = (char *)s->ops->name(ref->model);
    info->model_version = (char *)s->ops->version(ref->model);
    info->loaded_at_ms = ref->loaded_at_ms;
    reply->body_case = RECSYS__V1__WORKER_REPLY__BODY_INFO;
    reply->info = info;
}

static int on_request(const void *buf, size_t len, void **out, size_t *out_len, void *arg)
{
    svc_t *s = arg;
    uint64_t t0 = uv_hrtime();
    Recsys__V1__WorkerReply reply = RECSYS__V1__WORKER_REPLY__INIT;
    Recsys__V1__WorkerError error = RECSYS__V1__WORKER_ERROR__INIT;
    Recsys__V1__WorkerErrorCode code = RECSYS__V1__WORKER_ERROR_CODE__WORKER_ERROR_CODE_NONE;
    arena_t arena;
    arena_init(&arena);
    err_t err;
    err_clear(&err);
    int method = M_INVALID;
    model_ref_t *ref = NULL;

    Recsys__V1__WorkerRequest *req = recsys__v1__worker_request__unpack(NULL, len, buf);
    char trace_id[40] = "";
    if (req != NULL && req->trace_id != NULL && strlen(req->trace_id) < sizeof trace_id)
        strcpy(trace_id, req->trace_id);
    if (req == NULL) {
        code = RECSYS__V1__WORKER_ERROR_CODE__WORKER_ERROR_CODE_INVALID_ARGUMENT;
        err_set(&err, "malformed request: %zu bytes are not a recsys.v1.WorkerRequest", len);
    } else {
        reply.request_id = req->request_id;
        method = method_of(req->body_case);
        if (method == M_INVALID) {
            code = RECSYS__V1__WORKER_ERROR_CODE__WORKER_ERROR_CODE_INVALID_ARGUMENT;
            err_set(&err, "empty request: no body (score, similar, predict, info or items)");
        } else if ((ref = ref_acquire(s)) == NULL) {
            code = RECSYS__V1__WORKER_ERROR_CODE__WORKER_ERROR_CODE_UNAVAILABLE;
            err_set(&err, "model not loaded yet");
        } else {
            reply.model_name = (char *)s->ops->name(ref->model);
            reply.model_version = (char *)s->ops->version(ref->model);
            if (method == M_INFO)
                fill_info(s, ref, &reply, &arena);
            else
                code = s->ops->handle(ref->model, req, &reply, &arena, &err);
        }
    }
    if (code != RECSYS__V1__WORKER_ERROR_CODE__WORKER_ERROR_CODE_NONE) {
        error.code = code;
        error.message = err.msg[0] ? err.msg : "error";
        reply.error = &error;
        reply.body_case = RECSYS__V1__WORKER_REPLY__BODY__NOT_SET;
    }
    size_t n = recsys__v1__worker_reply__get_packed_size(&reply);
    uint8_t *p = malloc(n ? n : 1);
    if (p != NULL)
        recsys__v1__worker_reply__pack(&reply, p);
    /* The reply may point into the model (name, version, ids): pack first. */
    ref_release(ref);
    if (req != NULL)
        recsys__v1__worker_request__free_unpacked(req, NULL);
    arena_free(&arena);

    int ci = (int)code >= 0 && (int)code < N_CODES ? (int)code : 4;
    metrics_counter_inc(s->req[method][ci]);
    metrics_histogram_observe(s->lat[method], (double)(uv_hrtime() - t0) / 1e9);
    if (code != RECSYS__V1__WORKER_ERROR_CODE__WORKER_ERROR_CODE_NONE && code != RECSYS__V1__WORKER_ERROR_CODE__WORKER_ERROR_CODE_NOT_FOUND &&
        code != RECSYS__V1__WORKER_ERROR_CODE__WORKER_ERROR_CODE_INVALID_ARGUMENT)
        log_kv(LOG_WARN, "request failed", "method", method_names[method], "code", code_names[ci], "error",
               err.msg, "trace_id", trace_id, NULL);
    else if (s->access_log && method != M_INFO) {
        char ms[32];
        snprintf(ms, sizeof ms, "%.3f", (double)(uv_hrtime() - t0) / 1e6);
        log_kv(LOG_INFO, "request", "method", method_names[method], "code", code_names[ci], "duration_ms", ms,
               "trace_id", trace_id, NULL);
    }
    if (p == NULL)
        return -1;
    *out = p;
    *out_len = n;
    return 0;
}

/* An over-limit reply is replaced by RESOURCE_EXHAUSTED, so the caller learns
 * why instead of waiting for its deadline. */
static int on_oversize(size_t reply_len, size_t max, void **reply, size_t *out_len, void *arg)
{
    (void)arg;
    char msg[160];
    snprintf(msg, sizeof msg, "reply of %zu bytes exceeds the %zu-byte message limit: ask for a smaller k",
             reply_len, max);
    Recsys__V1__WorkerReply r = RECSYS__V1__WORKER_REPLY__INIT;
    Recsys__V1__WorkerError e = RECSYS__V1__WORKER_ERROR__INIT;
    e.code = RECSYS__V1__WORKER_ERROR_CODE__WORKER_ERROR_CODE_RESOURCE_EXHAUSTED;
    e.message = msg;
    r.error = &e;
    size_t n = recsys__v1__worker_reply__get_packed_size(&r);
    uint8_t *p = malloc(n);
    if (p == NULL)
        return -1;
    recsys__v1__worker_reply__pack(&r, p);
    *reply = p;
    *out_len = n;
    return 0;
}

/* ------------------------------------------------------------ loading */

static void load_work(uv_work_t *w)
{
    svc_t *s = w->data;
    uint64_t t0 = uv_hrtime();
    err_clear(&s->load_err);
    s->loaded = NULL;
    void *m = s->ops->load(s->cfg, &s->load_err);
    s->load_seconds = (double)(uv_hrtime() - t0) / 1e9;
    if (m == NULL) {
        if (s->load_err.msg[0] == '\0')
            err_set(&s->load_err, "model load failed (no reason given)");
        return;
    }
    model_ref_t *r = calloc(1, sizeof *r);
    if (r == NULL) {
        s->ops->free(m);
        err_set(&s->load_err, "out of memory");
        return;
    }
    r->model = m;
    atomic_init(&r->refs, 1);
    r->loaded_at_ms = clock_wall_ms();
    r->ops = s->ops;
    s->loaded = r;
}

static void start_load(svc_t *s);

static void set_model_metrics(svc_t *s, model_ref_t *r)
{
    if (s->info_cur != NULL)
        metrics_gauge_set(s->info_cur, 0);
    const char *labels[] = {s->ops->name(r->model), s->ops->version(r->model), NULL};
    s->info_cur = metrics_gauge_get(s->info_family, labels);
    metrics_gauge_set(s->info_cur, 1);
    metrics_gauge_set(s->model_loaded, 1);
    metrics_gauge_set(s->model_load_seconds, s->load_seconds);
    if (s->ops->memory != NULL)
        metrics_gauge_set(s->model_bytes, (double)s->ops->memory(r->model));
}

static void after_load(uv_work_t *w, int status)
{
    svc_t *s = w->data;
    s->loading = false;
    bool first = !s->first_load_done;
    char secs[32];
    snprintf(secs, sizeof secs, "%.3f", s->load_seconds);
    if (status != 0 || s->loaded == NULL) {
        if (first) {
            log_kv(LOG_ERROR, "model load failed", "error", s->load_err.msg, "seconds", secs, NULL);
            daemon_shutdown(s->d, 1);
            return;
        }
        metrics_counter_inc(s->reload_fail);
        log_kv(LOG_ERROR, "model reload failed; keeping the current model", "error", s->load_err.msg, NULL);
    } else {
        model_ref_t *r = s->loaded;
        s->loaded = NULL;
        if (s->stopping) {
            ref_release(r);
            return;
        }
        set_model_metrics(s, r);
        log_kv(LOG_INFO, first ? "model loaded" : "model reloaded", "name", s->ops->name(r->model), "version",
               s->ops->version(r->model), "seconds", secs, NULL);
        ref_publish(s, r);
        if (!first)
            metrics_counter_inc(s->reload_ok);
        s->first_load_done = true;
    }
    if (s->reload_pending && !s->stopping) {
        s->reload_pending = false;
        start_load(s);
    }
}

static void start_load(svc_t *s)
{
    if (s->loading) {
        s->reload_pending = true;
        return;
    }
    s->loading = true;
    s->work.data = s;
    uv_queue_work(daemon_loop(s->d), &s->work, load_work, after_load);
}

/* ------------------------------------------------------------ the daemon's hooks */

/* SIGTERM/SIGINT (or a failed first load): the rpc server answers what is
 * in flight and closes; a load still running finishes and is dropped. */
static void worker_stop(daemon_t *d, void *ud, daemon_stopped_fn stopped)
{
    svc_t *s = ud;
    s->stopping = true;
    if (s->rpc != NULL) {
        int abandoned = rpc_server_stop(s->rpc);
        char n[16];
        snprintf(n, sizeof n, "%d", abandoned);
        log_kv(abandoned ? LOG_WARN : LOG_INFO, "rpc server drained", "abandoned", n, NULL);
    }
    stopped(d);
}

static void worker_reload(daemon_t *d, void *ud)
{
    (void)d;
    log_kv(LOG_INFO, "SIGHUP: reloading the model", NULL);
    start_load(ud);
}

static bool worker_ready(daemon_t *d, void *ud, char *reason, size_t size)
{
    (void)d;
    svc_t *s = ud;
    if (s->stopping) {
        snprintf(reason, size, "draining: shutting down");
        return false;
    }
    model_ref_t *r = ref_acquire(s);
    if (r == NULL) {
        snprintf(reason, size, "model loading");
        return false;
    }
    ref_release(r);
    return true;
}

/* ------------------------------------------------------------ set-up */

int workersvc_add_options(cfg_t *cfg, const workersvc_ops_t *ops, err_t *err)
{
    if (cfg_add(cfg, ops->service, ops->options, err) != 0 || cfg_add(cfg, "admin", workersvc_options, err) != 0 ||
        cfg_add(cfg, "rpc server", rpc_server_options, err) != 0 || cfg_add(cfg, "log", log_options, err) != 0)
        return -1;
    return 0;
}

static int setup_metrics(svc_t *s, metrics_registry_t *reg, err_t *err)
{
    const char *req_labels[] = {"method", "code", NULL};
    const char *lat_labels[] = {"method", NULL};
    metrics_family_t *fr = metrics_counter_family(reg, "recsys_worker_requests_total",
                                                  "Worker requests answered, by method and result code.",
                                                  req_labels, err);
    metrics_family_t *fl = metrics_histogram_family(reg, "recsys_worker_request_duration_seconds",
                                                    "Time to answer a worker request, by method.", lat_labels,
                                                    NULL, 0, err);
    if (fr == NULL || fl == NULL)
        return -1;
    for (int m = 0; m < M_N; m++) {
        for (int c = 0; c < N_CODES; c++) {
            const char *v[] = {method_names[m], code_names[c], NULL};
            s->req[m][c] = metrics_counter_get(fr, v);
        }
        const char *v[] = {method_names[m], NULL};
        s->lat[m] = metrics_histogram_get(fl, v);
    }
    const char *res_labels[] = {"result", NULL};
    metrics_family_t *frl = metrics_counter_family(reg, "recsys_model_reloads_total",
                                                   "Model reloads after SIGHUP, by result.", res_labels, err);
    if (frl == NULL)
        return -1;
    s->reload_ok = metrics_counter_get(frl, (const char *[]){"ok", NULL});
    s->reload_fail = metrics_counter_get(frl, (const char *[]){"error", NULL});
    s->model_bytes = metrics_gauge_new(reg, "recsys_model_bytes", "Approximate memory held by the model.", err);
    s->model_loaded = metrics_gauge_new(reg, "recsys_model_loaded", "1 once a model is loaded.", err);
    s->model_load_seconds = metrics_gauge_new(reg, "recsys_model_load_seconds",
                                              "Seconds the last model load or build took.", err);
    const char *info_labels[] = {"name", "version", NULL};
    s->info_family = metrics_gauge_family(reg, "recsys_model_info",
                                          "The model being served (1) and earlier ones (0).", info_labels, err);
    if (s->model_bytes == NULL || s->model_loaded == NULL || s->model_load_seconds == NULL ||
        s->info_family == NULL)
        return -1;
    return 0;
}

static int worker_start(daemon_t *d, void *ud, err_t *err)
{
    svc_t *s = ud;
    s->d = d;
    rpc_server_opts_t ro;
    rpc_server_opts_default(&ro);
    if (setup_metrics(s, daemon_metrics(d), err) != 0 || rpc_server_opts_from_cfg(s->cfg, &ro, err) != 0)
        return -1;
    ro.url = cfg_str(s->cfg, "listen");
    ro.oversize = on_oversize;
    if (rpc_server_new(&ro, on_request, s, &s->rpc, err) != 0) {
        err_prefix(err, "rpc server on %s", ro.url);
        return -1;
    }
    char port[16];
    snprintf(port, sizeof port, "%d", daemon_admin_port(d));
    log_kv(LOG_INFO, "listening", "rpc", rpc_server_url(s->rpc), "admin_port", port, NULL);
    start_load(s);
    return 0;
}

static void worker_cleanup(daemon_t *d, void *ud)
{
    (void)d;
    svc_t *s = ud;
    if (s->rpc != NULL)
        rpc_server_free(s->rpc);
    s->rpc = NULL;
}

int workersvc_serve(const workersvc_ops_t *ops, const cfg_t *cfg)
{
    const daemon_service_t service = {
        .name = ops->service,
        .start = worker_start,
        .stop = worker_stop,
        .ready = worker_ready,
        .reload = worker_reload,
        .cleanup = worker_cleanup,
    };
    svc_t *s = calloc(1, sizeof *s);
    if (s == NULL)
        return 1;
    s->ops = ops;
    s->cfg = cfg;
    s->access_log = cfg_bool(cfg, "access-log");
    pthread_mutex_init(&s->mu, NULL);
    int rc = daemon_serve(&service, cfg, s);
    ref_publish(s, NULL);
    pthread_mutex_destroy(&s->mu);
    free(s);
    return rc;
}
