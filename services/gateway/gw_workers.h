/*
 * gw_workers.h: the gateway's two model workers (content, cf) as seen over
 * nng: one rpc_group_t per worker (its URLs may list replicas, and each
 * host name is re-resolved every worker-resolve-ms, every address a replica:
 * see rpc_group.h), a deadline per worker, health polling and per-worker
 * metrics.
 *
 * Each worker is polled with a WorkerInfoRequest every poll interval (a
 * uv_timer on the gateway loop). A worker is "up" from the first answered
 * poll until a poll fails, or until a request shows it gone: no connection
 * open to it (checked before each call: with resend off a request would
 * only wait for its deadline), a call ended by a closed or reset
 * connection, or worker-down-after-timeouts calls in a row timed out. A
 * worker marked down by a request is probed (an info poll) at once, so a
 * replica still alive behind the same URL brings it back within a round
 * trip. The poll also gives the model name and version (for cache keys and
 * answers). /readyz is 200 once both are up. Requests are not sent to a
 * worker that is down (the answer degrades at once instead of waiting for
 * the deadline); the poll brings it back when it answers again, and the rpc
 * client redials by itself. When a worker is marked down, its requests
 * still waiting are answered at once ("down") and their rpc calls
 * cancelled: a request on a connection that died may otherwise wait for
 * its whole deadline (nng does not always fail it).
 *
 * gw_worker_call packs a WorkerRequest, sends it with the worker's deadline
 * and hands the callback the unpacked WorkerReply, or NULL with a reason
 * ("timeout after 200 ms", "unavailable: model not loaded yet", "down").
 * A reply carrying a worker error is given as is (reply->error set): the
 * caller decides (NOT_FOUND is an empty answer, others degrade).
 *
 * Replicas: a replica that answers UNAVAILABLE (model not loaded yet, e.g.
 * a container just started behind a name that lists it before it is
 * ready) is put on hold for max(1 s, 2 poll intervals): calls and polls go
 * to the other replicas meanwhile, and a poll it answered is asked again
 * of another ready replica instead of marking the worker down.
 */
#ifndef RECSYS_GATEWAY_GW_WORKERS_H
#define RECSYS_GATEWAY_GW_WORKERS_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "common/base/config.h"
#include "common/base/err.h"
#include "common/net/metrics.h"
#include "common/net/rpc_group.h"
#include "recsys/v1/worker.pb-c.h"

typedef enum { GW_CONTENT = 0, GW_CF = 1, GW_NWORKERS = 2 } gw_worker_id_t;

struct gw_call;

typedef struct gw_worker {
    const char *name; /* "content", "cf" */
    rpc_group_t *rpc;    /* its replicas: URLs and the addresses their names resolve to */
    int deadline_ms;
    bool up;
    bool polling;        /* an info call is in flight */
    char model_name[64];
    char version[128];   /* last known model version ("" before the first poll) */
    char last_error[160];
    uint64_t next_id;
    int timeouts_in_a_row;
    struct gw_call *calls; /* requests sent and not completed (not polls) */
    metrics_histogram_t *latency;
    metrics_counter_t *ok, *timeouts, *errors, *skipped, *cancelled;
    metrics_gauge_t *up_gauge, *replicas_gauge;
} gw_worker_t;

typedef struct gw_workers {
    uv_loop_t *loop;
    gw_worker_t w[GW_NWORKERS];
    uv_timer_t poll_timer;
    int poll_ms;
    int hold_ms; /* a replica answering "model not loaded" is skipped this long */
    int down_after_timeouts; /* 0: timeouts never mark a worker down */
    bool closing;
    int closing_pending;
    void (*closed)(void *ud);
    void *closed_ud;
} gw_workers_t;

/* content-url, cf-url, content-deadline-ms, cf-deadline-ms, worker-poll-ms,
 * worker-resolve-ms, worker-down-after-timeouts. */
extern const cfg_option_t gw_workers_options[];

/* Opens both clients (they dial in the background) and starts polling.
 * reg may be NULL. */
int gw_workers_start(gw_workers_t *ws, uv_loop_t *loop, const cfg_t *cfg, metrics_registry_t *reg, err_t *err);
/* Both workers up; otherwise a reason in reason[size]. */
bool gw_workers_ready(const gw_workers_t *ws, char *reason, size_t size);
/* Closes the clients (pending calls complete with a shutdown reason) and
 * the timer; closed(ud) runs when all is released. */
void gw_workers_close(gw_workers_t *ws, void (*closed)(void *ud), void *ud);

/* reply: NULL on failure, with reason; valid only during the callback. */
typedef void (*gw_worker_cb)(gw_worker_t *w, const Recsys__V1__WorkerReply *reply, const char *reason, void *arg);

/* Starts a call with the worker's deadline, or cap_ms when that is nearer
 * (> 0: the request's own deadline, e.g. gRPC's grpc-timeout); cb runs exactly once on the loop, later (never inside this
 * function). Returns the rpc id, or 0 when nothing was sent (worker down,
 * gateway closing, out of memory): then cb never runs and the reason is in
 * reason[size]. */
uint64_t gw_worker_call(gw_workers_t *ws, gw_worker_id_t id, Recsys__V1__WorkerRequest *req, int cap_ms,
                        gw_worker_cb cb, void *arg, char *reason, size_t size);
/* Withdraws a call in flight (its client went away): its callback runs now,
 * with "<worker>: why" as the reason. -1 when the call has completed. */
int gw_worker_cancel(gw_workers_t *ws, gw_worker_id_t id, uint64_t call_id, const char *why);

#endif
