/*
 * gw_workers.c: worker clients, health polling and metrics (see gw_workers.h).
 */
#include "services/gateway/gw_workers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base/log.h"

const cfg_option_t gw_workers_options[] = {
    {"content-url", CFG_STRING, "tcp://127.0.0.1:7101",
     "nng URL(s) of the content worker; several comma-separated URLs, and every address a host name resolves to "
     "(worker-resolve-ms), are replicas sharing the load.",
     0, 0},
    {"cf-url", CFG_STRING, "tcp://127.0.0.1:7102",
     "nng URL(s) of the CF worker; several comma-separated URLs, and every address a host name resolves to "
     "(worker-resolve-ms), are replicas sharing the load.",
     0, 0},
    {"content-deadline-ms", CFG_INT, "250", "Deadline of one call to the content worker, in ms.", 1, 600000},
    {"cf-deadline-ms", CFG_INT, "250", "Deadline of one call to the CF worker, in ms.", 1, 600000},
    {"worker-poll-ms", CFG_INT, "500",
     "Interval of the model-info poll of each worker (readiness, model versions, down detection), in ms.", 10,
     600000},
    {"worker-resolve-ms", CFG_INT, "5000",
     "Interval of the re-resolution of the worker URLs' host names, in ms: each address found (e.g. every pod "
     "behind a Kubernetes headless Service) is dialled as a replica; addresses that appear or go are picked up "
     "within this time. 0: no discovery, each URL dialled as given (one connection).",
     0, 3600000},
    {"worker-down-after-timeouts", CFG_INT, "3",
     "Calls in a row that time out before a worker is marked down (skipped, probed until it answers); 0: never.",
     0, 1000000},
    CFG_END,
};

typedef struct gw_call call_t;
struct gw_call {
    gw_workers_t *ws;
    gw_worker_t *w;
    gw_worker_cb cb;
    void *arg;
    bool is_poll;
    uint64_t id;          /* rpc id once sent */
    call_t *prev, *next;  /* in w->calls (requests only) */
    int cap_ms;           /* > 0: the caller's deadline is nearer than the worker's */
};

static void unlink_call(call_t *c)
{
    if (c->prev != NULL)
        c->prev->next = c->next;
    else if (c->w->calls == c)
        c->w->calls = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
}

static void set_up(gw_worker_t *w, bool up, const char *why)
{
    if (w->up != up)
        log_kv(up ? LOG_INFO : LOG_WARN, up ? "worker up" : "worker down", "worker", w->name, "version", w->version,
               "reason", why != NULL ? why : "", NULL);
    w->up = up;
    metrics_gauge_set(w->up_gauge, up ? 1 : 0);
}

static void poll_one(gw_workers_t *ws, gw_worker_t *w);

/* A request showed the worker gone: skip it from now on and probe it. */
static void mark_down(gw_workers_t *ws, gw_worker_t *w, const char *why)
{
    if (!w->up)
        return;
    snprintf(w->last_error, sizeof w->last_error, "%s", why);
    set_up(w, false, why);
    w->timeouts_in_a_row = 0;
    poll_one(ws, w);
    /* Answer the requests still waiting on it now; their rpc calls keep
     * their contexts until a reply or the deadline, unseen. */
    call_t *list = w->calls;
    w->calls = NULL;
    char reason[220];
    snprintf(reason, sizeof reason, "%s: down (%s)", w->name, why);
    while (list != NULL) {
        call_t *c = list;
        list = c->next;
        c->prev = c->next = NULL; /* off the list, whatever happens next */
        if (rpc_group_cancel(w->rpc, c->id) != 0)
            continue; /* completing right now: on_done will answer it */
        metrics_counter_inc(w->errors);
        c->cb(w, NULL, reason, c->arg);
        free(c);
    }
}

static void on_done(const rpc_result_t *res, void *arg)
{
    call_t *c = arg;
    gw_worker_t *w = c->w;
    char reason[200];
    unlink_call(c);
    Recsys__V1__WorkerReply *reply = NULL;
    if (res->status == RPC_OK) {
        reply = recsys__v1__worker_reply__unpack(NULL, res->len, res->reply);
        if (reply == NULL)
            snprintf(reason, sizeof reason, "%s: malformed reply (%zu bytes)", w->name, res->len);
    } else if (res->status == RPC_TIMEOUT) {
        snprintf(reason, sizeof reason, "%s: timeout after %d ms", w->name, w->deadline_ms);
    } else {
        snprintf(reason, sizeof reason, "%s: %s (%s)", w->name, rpc_status_str(res->status), res->detail);
    }
    if (!c->is_poll) {
        metrics_histogram_observe(w->latency, (double)res->elapsed_us / 1e6);
        if (reply != NULL)
            metrics_counter_inc(w->ok);
        else if (res->status == RPC_TIMEOUT)
            metrics_counter_inc(w->timeouts);
        else
            metrics_counter_inc(w->errors);
    }
    if (reply != NULL && reply->model_version != NULL && reply->model_version[0] != '\0' &&
        (reply->error == NULL || reply->error->code == RECSYS__V1__WORKER_ERROR_CODE__WORKER_ERROR_CODE_NONE))
        snprintf(w->version, sizeof w->version, "%s", reply->model_version);
    /* A replica still loading its model: calls go to the others meanwhile. */
    bool loading = reply != NULL && reply->error != NULL &&
                   reply->error->code == RECSYS__V1__WORKER_ERROR_CODE__WORKER_ERROR_CODE_UNAVAILABLE;
    if (loading)
        rpc_group_hold_current(w->rpc, c->ws->hold_ms);
    if (c->is_poll) {
        w->polling = false;
        if (reply != NULL && (reply->error == NULL ||
                              reply->error->code == RECSYS__V1__WORKER_ERROR_CODE__WORKER_ERROR_CODE_NONE)) {
            snprintf(w->model_name, sizeof w->model_name, "%s", reply->model_name ? reply->model_name : "");
            set_up(w, true, NULL);
            w->last_error[0] = '\0';
        } else if (loading && rpc_group_ready(w->rpc) > 0) {
            poll_one(c->ws, w); /* another replica, not on hold, answers for the worker */
        } else {
            if (reply != NULL)
                snprintf(reason, sizeof reason, "%s: %s", w->name,
                         reply->error->message && reply->error->message[0] ? reply->error->message : "error");
            snprintf(w->last_error, sizeof w->last_error, "%s", reason);
            set_up(w, false, reason);
        }
    } else {
        if (res->status == RPC_TIMEOUT) {
            if (c->ws->down_after_timeouts > 0 && ++w->timeouts_in_a_row >= c->ws->down_after_timeouts)
                mark_down(c->ws, w, reason);
        } else if (res->status == RPC_CLOSED) {
            /* One replica dying closes its calls; the worker is down only
             * when no other replica is connected (a single URL: at once,
             * before nng's pipe count may have caught up). */
            if (rpc_group_replicas(w->rpc) <= 1 || rpc_group_connections(w->rpc) == 0)
                mark_down(c->ws, w, reason);
        } else if (res->status == RPC_OK) {
            w->timeouts_in_a_row = 0;
        }
        c->cb(w, reply, reply != NULL ? NULL : reason, c->arg);
    }
    if (reply != NULL)
        recsys__v1__worker_reply__free_unpacked(reply, NULL);
    free(c);
}

static uint64_t send_call(gw_workers_t *ws, gw_worker_t *w, Recsys__V1__WorkerRequest *req, call_t *c, char *reason,
                          size_t size)
{
    req->request_id = ++w->next_id;
    int deadline_ms = c->cap_ms > 0 && c->cap_ms < w->deadline_ms ? c->cap_ms : w->deadline_ms;
    req->deadline_ms = deadline_ms;
    size_t n = recsys__v1__worker_request__get_packed_size(req);
    uint8_t stackbuf[4096];
    uint8_t *buf = n <= sizeof stackbuf ? stackbuf : malloc(n);
    if (buf == NULL) {
        snprintf(reason, size, "%s: out of memory", w->name);
        free(c);
        return 0;
    }
    recsys__v1__worker_request__pack(req, buf);
    uint64_t id = rpc_group_call(w->rpc, buf, n, deadline_ms, on_done, c);
    if (buf != stackbuf)
        free(buf);
    if (id == 0) {
        snprintf(reason, size, "%s: no replica to call (%s)", w->name,
                 rpc_group_replicas(w->rpc) == 0 ? "no address known yet" : "closing");
        free(c);
    } else if (!c->is_poll) {
        c->id = id;
        c->next = w->calls;
        if (w->calls != NULL)
            w->calls->prev = c;
        w->calls = c;
    }
    (void)ws;
    return id;
}

uint64_t gw_worker_call(gw_workers_t *ws, gw_worker_id_t id, Recsys__V1__WorkerRequest *req, int cap_ms,
                        gw_worker_cb cb, void *arg, char *reason, size_t size)
{
    gw_worker_t *w = &ws->w[id];
    if (ws->closing) {
        snprintf(reason, size, "%s: gateway shutting down", w->name);
        return 0;
    }
    if (w->up && rpc_group_connections(w->rpc) == 0) {
        char why[120];
        snprintf(why, sizeof why, "%s: no connection open", w->name);
        mark_down(ws, w, why);
    }
    if (!w->up) {
        metrics_counter_inc(w->skipped);
        snprintf(reason, size, "%s: down (%s)", w->name, w->last_error[0] ? w->last_error : "not answered yet");
        return 0;
    }
    call_t *c = calloc(1, sizeof *c);
    if (c == NULL) {
        snprintf(reason, size, "%s: out of memory", w->name);
        return 0;
    }
    *c = (call_t){.ws = ws, .w = w, .cb = cb, .arg = arg, .is_poll = false, .cap_ms = cap_ms};
    return send_call(ws, w, req, c, reason, size);
}

int gw_worker_cancel(gw_workers_t *ws, gw_worker_id_t id, uint64_t call_id, const char *why)
{
    gw_worker_t *w = &ws->w[id];
    call_t *c = w->calls;
    while (c != NULL && c->id != call_id)
        c = c->next;
    if (c == NULL || rpc_group_cancel(w->rpc, c->id) != 0)
        return -1; /* completed, or completing now: its callback answers */
    unlink_call(c);
    char reason[200];
    snprintf(reason, sizeof reason, "%s: %s", w->name, why);
    metrics_counter_inc(w->cancelled);
    c->cb(w, NULL, reason, c->arg);
    free(c);
    return 0;
}

static void poll_one(gw_workers_t *ws, gw_worker_t *w)
{
    if (w->polling || ws->closing)
        return;
    call_t *c = calloc(1, sizeof *c);
    if (c == NULL)
        return;
    *c = (call_t){.ws = ws, .w = w, .is_poll = true};
    Recsys__V1__WorkerRequest req = RECSYS__V1__WORKER_REQUEST__INIT;
    Recsys__V1__WorkerInfoRequest info = RECSYS__V1__WORKER_INFO_REQUEST__INIT;
    req.body_case = RECSYS__V1__WORKER_REQUEST__BODY_INFO;
    req.info = &info;
    char reason[160];
    w->polling = true;
    if (send_call(ws, w, &req, c, reason, sizeof reason) == 0)
        w->polling = false;
}

static void on_poll(uv_timer_t *t)
{
    gw_workers_t *ws = t->data;
    for (int i = 0; i < GW_NWORKERS; i++) {
        gw_worker_t *w = &ws->w[i];
        if (w->up && rpc_group_connections(w->rpc) == 0) {
            char why[120];
            snprintf(why, sizeof why, "%s: no connection open", w->name);
            mark_down(ws, w, why);
        }
        metrics_gauge_set(w->replicas_gauge, rpc_group_replicas(w->rpc));
        poll_one(ws, w);
    }
}

static int setup_metrics(gw_workers_t *ws, metrics_registry_t *reg, err_t *err)
{
    if (reg == NULL)
        return 0;
    const char *wl[] = {"worker", NULL};
    const char *wr[] = {"worker", "result", NULL};
    metrics_family_t *lat = metrics_histogram_family(reg, "recsys_gateway_worker_latency_seconds",
                                                     "Latency of calls to each worker (send to reply).", wl, NULL, 0,
                                                     err);
    metrics_family_t *res = metrics_counter_family(reg, "recsys_gateway_worker_calls_total",
                                                   "Calls to each worker by result (ok, timeout, error, skipped_down, cancelled).",
                                                   wr, err);
    metrics_family_t *up = metrics_gauge_family(reg, "recsys_gateway_worker_up",
                                                "1 when the worker answered its last model-info poll.", wl, err);
    metrics_family_t *reps = metrics_gauge_family(
        reg, "recsys_gateway_worker_replicas",
        "Addresses of the worker dialled now (URLs and the addresses their host names resolve to).", wl, err);
    if (lat == NULL || res == NULL || up == NULL || reps == NULL)
        return -1;
    for (int i = 0; i < GW_NWORKERS; i++) {
        gw_worker_t *w = &ws->w[i];
        const char *l1[] = {w->name};
        w->latency = metrics_histogram_get(lat, l1);
        w->up_gauge = metrics_gauge_get(up, l1);
        w->replicas_gauge = metrics_gauge_get(reps, l1);
        w->ok = metrics_counter_get(res, (const char *[]){w->name, "ok"});
        w->timeouts = metrics_counter_get(res, (const char *[]){w->name, "timeout"});
        w->errors = metrics_counter_get(res, (const char *[]){w->name, "error"});
        w->skipped = metrics_counter_get(res, (const char *[]){w->name, "skipped_down"});
        w->cancelled = metrics_counter_get(res, (const char *[]){w->name, "cancelled"});
    }
    return 0;
}

int gw_workers_start(gw_workers_t *ws, uv_loop_t *loop, const cfg_t *cfg, metrics_registry_t *reg, err_t *err)
{
    memset(ws, 0, sizeof *ws);
    ws->loop = loop;
    ws->poll_ms = (int)cfg_int(cfg, "worker-poll-ms");
    ws->hold_ms = 2 * ws->poll_ms < 1000 ? 1000 : 2 * ws->poll_ms;
    ws->down_after_timeouts = (int)cfg_int(cfg, "worker-down-after-timeouts");
    ws->w[GW_CONTENT].name = "content";
    ws->w[GW_CF].name = "cf";
    ws->w[GW_CONTENT].deadline_ms = (int)cfg_int(cfg, "content-deadline-ms");
    ws->w[GW_CF].deadline_ms = (int)cfg_int(cfg, "cf-deadline-ms");
    if (setup_metrics(ws, reg, err) != 0)
        return -1;
    rpc_group_opts_t o = {.resolve_ms = (int)cfg_int(cfg, "worker-resolve-ms")};
    rpc_client_opts_default(&o.client);
    if (rpc_client_opts_from_cfg(cfg, &o.client, err) != 0)
        return -1;
    const char *urls[GW_NWORKERS] = {cfg_str(cfg, "content-url"), cfg_str(cfg, "cf-url")};
    for (int i = 0; i < GW_NWORKERS; i++) {
        o.client.urls = urls[i];
        o.name = ws->w[i].name;
        if (rpc_group_new(&o, loop, &ws->w[i].rpc, err) != 0) {
            err_prefix(err, "%s worker (%s)", ws->w[i].name, urls[i]);
            for (int j = 0; j < i; j++)
                rpc_group_close(ws->w[j].rpc, NULL, NULL);
            return -1;
        }
    }
    uv_timer_init(loop, &ws->poll_timer);
    ws->poll_timer.data = ws;
    uv_timer_start(&ws->poll_timer, on_poll, 0, (uint64_t)ws->poll_ms);
    return 0;
}

bool gw_workers_ready(const gw_workers_t *ws, char *reason, size_t size)
{
    size_t off = 0;
    bool ready = true;
    for (int i = 0; i < GW_NWORKERS; i++) {
        const gw_worker_t *w = &ws->w[i];
        if (!w->up) {
            ready = false;
            int n = snprintf(reason + off, size - off, "%s%s worker not ready%s%s", off ? "; " : "", w->name,
                             w->last_error[0] ? ": " : "", w->last_error);
            if (n > 0)
                off = (size_t)n + off < size ? off + (size_t)n : size - 1;
        }
    }
    if (ws->closing) {
        snprintf(reason, size, "shutting down");
        ready = false;
    }
    return ready;
}

static void one_closed(void *ud)
{
    gw_workers_t *ws = ud;
    if (--ws->closing_pending == 0 && ws->closed != NULL)
        ws->closed(ws->closed_ud);
}

static void timer_closed(uv_handle_t *h)
{
    one_closed(h->data);
}

void gw_workers_close(gw_workers_t *ws, void (*closed)(void *ud), void *ud)
{
    if (ws->closing)
        return;
    ws->closing = true;
    ws->closed = closed;
    ws->closed_ud = ud;
    ws->closing_pending = 1 + GW_NWORKERS;
    uv_timer_stop(&ws->poll_timer);
    uv_close((uv_handle_t *)&ws->poll_timer, timer_closed);
    for (int i = 0; i < GW_NWORKERS; i++)
        rpc_group_close(ws->w[i].rpc, one_closed, ws);
}
