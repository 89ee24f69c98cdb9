/*
 * rpc.h: request/reply RPC over nng (req0/rep0) for the gateway and workers.
 *
 * Bytes in, bytes out: the caller encodes and decodes its own messages
 * (protobuf-c WorkerRequest / WorkerReply); this module moves them with a
 * deadline and reports one status per call.
 *
 * Client (gateway side, libuv): one req0 socket dialling one or more URLs
 * ("tcp://10.0.0.5:7001,tcp://10.0.0.6:7001": replicas behind one logical
 * address; nng spreads requests over the connected pipes), non-blocking, so
 * the client may start before its servers and reconnects on its own.
 * Resend is disabled (a resent request is duplicate work on the worker, and
 * with resend off a worker dying mid-request fails the call at once). Each
 * call gets a context from a fixed pool (a new send on a busy context would
 * cancel its pending request); when none is free the call waits in a bounded
 * FIFO queue (rpc-queue-max) and is refused with RPC_OVERLOADED when that is
 * full; the deadline covers the time spent queued. nng completes calls on its
 * own threads; they are queued under a mutex and handed to the loop by one
 * uv_async_t, so every callback runs on the loop thread.
 *
 * Server (worker side, no libuv): a rep0 socket listening on one URL, N
 * contexts each looping recv -> handler -> send -> recv; the handler runs on
 * the nng task thread that completed the receive (rpc-server-threads 0, the
 * default: no hand-off, which on a 2-vCPU VM saves ~15 us of CPU per call)
 * or on a pool of M threads (rpc-server-threads M, for handlers slow enough
 * to starve nng's few task threads). rpc_server_stop drains: no new receives, in-flight handlers
 * finish and their replies go out (bounded wait), then the socket closes.
 *
 * Batches: calls a client starts in one turn of its loop travel as one nng
 * message on one context (two messages when there are two calls or more, so
 * a worker can serve them on two threads at once; up to rpc-batch-max calls
 * each, within the size limit), and the server answers each with one message: at saturation this divides nng's
 * per-message thread hand-offs and wake-ups by the batch size. A batch is a
 * frame (magic, a count, the lengths, the payloads; rpc_batch_* in
 * rpc_internal.h);
 * a single call goes unframed, so payloads must never begin with the magic
 * (protobuf cannot: 0xFF there is a tag of wire type 7, which does not
 * exist). Each call keeps its own deadline, callback and cancel; a batch's
 * context waits until the earliest member deadline.
 *
 * Size limits: both ends set NNG_OPT_RECVMAXSZ to the message limit plus
 * RPC_HEADER_SLACK bytes (nng's request-id header counts against it). An
 * over-limit message makes the receiver drop the connection silently, so the
 * client refuses an over-limit request before sending it (RPC_TOO_LARGE) and
 * the server never sends an over-limit reply (see rpc_oversize_fn).
 */
#ifndef RECSYS_COMMON_RPC_H
#define RECSYS_COMMON_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "common/base/config.h"
#include "common/base/err.h"
#include "common/wire/rpc_batch.h"

/* Bytes allowed on top of the payload limit for nng's own header (4 bytes of
 * request id per hop; generous for devices in between). */
#define RPC_HEADER_SLACK 64
#define RPC_DEFAULT_MAX_MSG_BYTES (4u << 20)

typedef enum rpc_status {
    RPC_OK = 0,
    RPC_TIMEOUT,     /* the deadline passed (no server reachable, or too slow) */
    RPC_CLOSED,      /* the connection was reset or closed with the request pending */
    RPC_TOO_LARGE,   /* request over the size limit: refused before sending */
    RPC_OVERLOADED,  /* no free context and the wait queue is full */
    RPC_SHUTDOWN,    /* the client is closing */
    RPC_ERROR,       /* anything else nng reported (detail says what) */
} rpc_status_t;

/* "ok", "timeout", "connection closed", "message too large", "overloaded",
 * "shutting down", "error". */
const char *rpc_status_str(rpc_status_t st);

/* ---------------------------------------------------------------- client */

typedef struct rpc_client rpc_client_t;

typedef struct rpc_client_opts {
    const char *urls;       /* one URL or several separated by commas */
    int contexts;           /* calls in flight at once */
    int queue_max;          /* calls waiting for a context; 0 = refuse at once */
    size_t max_msg_bytes;   /* request and reply payload limit */
    int reconnect_min_ms;   /* first redial delay after a failure */
    int reconnect_max_ms;   /* redial back-off cap */
    int batch_max;          /* calls per message at most (1: no batches) */
} rpc_client_opts_t;

/* Options of the client (rpc-contexts, rpc-queue-max, rpc-max-msg-bytes,
 * rpc-reconnect-min-ms, rpc-reconnect-max-ms, rpc-batch-max). The URL option is declared by
 * each service (e.g. content-url). */
extern const cfg_option_t rpc_client_options[];

/* Defaults of the table above; urls = NULL. */
void rpc_client_opts_default(rpc_client_opts_t *o);
/* Reads the table above from a parsed cfg (urls left untouched). */
int rpc_client_opts_from_cfg(const cfg_t *cfg, rpc_client_opts_t *o, err_t *err);

typedef struct rpc_result {
    rpc_status_t status;
    const void *reply;    /* RPC_OK only: borrowed, valid until the callback returns */
    size_t len;
    const char *detail;   /* one line saying what happened, never NULL */
    uint64_t elapsed_us;  /* from rpc_client_call to completion */
} rpc_result_t;

/* Runs exactly once per accepted call, on the loop thread, never from inside
 * rpc_client_call. Copy the reply if it must outlive the callback. The
 * callback may call rpc_client_call, rpc_client_cancel and rpc_client_close. */
typedef void (*rpc_done_cb)(const rpc_result_t *res, void *arg);

typedef struct rpc_client_stats {
    uint64_t calls;        /* accepted */
    uint64_t ok, timeouts, closed, too_large, overloaded, shutdown, errors;
    uint64_t cancelled;    /* cancelled by the caller (no callback ran) */
    uint32_t in_flight;    /* on a context now */
    uint32_t queued;       /* waiting for a context now */
} rpc_client_stats_t;

/* Opens the socket, dials every URL (non-blocking) and opens the context
 * pool. The client belongs to loop: call every rpc_client_* function on the
 * loop's thread. The client keeps the loop alive only while calls are
 * pending, so uv_run(UV_RUN_DEFAULT) returns once all are answered. */
int rpc_client_new(const rpc_client_opts_t *opts, uv_loop_t *loop, rpc_client_t **out, err_t *err);

/* Starts a call with a deadline of timeout_ms from now. Returns its id (> 0);
 * cb then runs exactly once. Refusals (too large, overloaded, shutting down)
 * are also reported through cb, on the next loop iteration, so callers have
 * one path. Returns 0 only when the client has finished closing (a
 * programming error): cb never runs. */
uint64_t rpc_client_call(rpc_client_t *c, const void *req, size_t len, int timeout_ms, rpc_done_cb cb,
                         void *arg);

/* Withdraws a call (e.g. the HTTP request was aborted): its callback will not
 * run. A queued call is dropped at once; one already sent keeps its context
 * until its reply or its deadline (aborting an nng operation under way can
 * wedge nng 1.5.2, see rpc_client.c). Returns 0, or -1 when id is unknown
 * (already completed or never issued). */
int rpc_client_cancel(rpc_client_t *c, uint64_t id);

void rpc_client_stats(const rpc_client_t *c, rpc_client_stats_t *out);
/* Connections to servers open right now (all URLs together). 0 means a call
 * would only wait for its deadline (resend is off, nothing to send it on):
 * the gateway uses it to skip a dead worker at once. */
int rpc_client_connections(rpc_client_t *c);

typedef void (*rpc_client_closed_cb)(void *arg);

/* Shuts the client down: every pending call completes with RPC_SHUTDOWN (or
 * its real result if it had already completed) exactly once, inside this
 * function or on the next loop iteration. The nng side is released (aio_stop
 * -> ctx close, aio free -> nng_close) once no nng operation is under way,
 * i.e. after the in-flight requests' replies or deadlines at worst; then the
 * libuv handles are closed and done (may be NULL) runs on the loop, the
 * client's memory gone. Calls made meanwhile complete with RPC_SHUTDOWN. */
void rpc_client_close(rpc_client_t *c, rpc_client_closed_cb done, void *arg);

/* One blocking call for tools and tests (no libuv): dials urls, sends req,
 * waits for the reply, closes. *reply is malloc'd (free it); a payload limit
 * of RPC_DEFAULT_MAX_MSG_BYTES applies both ways. */
int rpc_call_sync(const char *urls, const void *req, size_t len, int timeout_ms, void **reply, size_t *reply_len,
                  err_t *err);

/* ---------------------------------------------------------------- server */

typedef struct rpc_server rpc_server_t;

/* Handles one request; called concurrently from the worker threads. Returns 0
 * with *reply malloc'd (the server frees it; *reply_len may be 0), or -1 to
 * send no reply (logged; the caller times out): prefer an error reply in the
 * service's own envelope. */
typedef int (*rpc_handler_fn)(const void *req, size_t len, void **reply, size_t *reply_len, void *arg);

/* Builds the reply that replaces one over the limit (e.g. a WorkerReply with
 * RESOURCE_EXHAUSTED), as malloc'd bytes within the limit; returns 0, or -1 to
 * send nothing. Without one, an over-limit reply is dropped with a log line
 * and the caller times out. */
typedef int (*rpc_oversize_fn)(size_t reply_len, size_t max, void **reply, size_t *out_len, void *arg);

typedef struct rpc_server_opts {
    const char *url;          /* tcp://host:port (port 0: any free port), ipc:///path */
    int contexts;             /* requests received at once */
    int threads;              /* worker threads running the handler; 0: in nng's callback */
    size_t max_msg_bytes;     /* request and reply payload limit */
    int drain_ms;             /* rpc_server_stop's wait for in-flight requests */
    rpc_oversize_fn oversize; /* may be NULL */
} rpc_server_opts_t;

/* Options of the server (rpc-server-contexts, rpc-server-threads,
 * rpc-server-max-msg-bytes, rpc-server-drain-ms). The listening URL option is
 * declared by each service. */
extern const cfg_option_t rpc_server_options[];

void rpc_server_opts_default(rpc_server_opts_t *o);
int rpc_server_opts_from_cfg(const cfg_t *cfg, rpc_server_opts_t *o, err_t *err);

typedef struct rpc_server_stats {
    uint64_t handled;         /* handler returned */
    uint64_t replied;         /* replies handed to nng */
    uint64_t handler_errors;  /* handler returned -1 */
    uint64_t oversize;        /* replies over the limit */
    uint64_t send_errors;     /* replies nng could not send (caller gone) */
    uint32_t in_flight;       /* received, not yet replied */
} rpc_server_stats_t;

/* Listens and starts receiving; handler(arg) serves each request. */
int rpc_server_new(const rpc_server_opts_t *opts, rpc_handler_fn handler, void *handler_arg, rpc_server_t **out,
                   err_t *err);

/* The URL actually bound: for tcp with port 0, the chosen port filled in. */
const char *rpc_server_url(const rpc_server_t *s);

void rpc_server_stats(rpc_server_t *s, rpc_server_stats_t *out);

/* Drains and closes: stops receiving, waits up to drain_ms for in-flight
 * requests to be handled and replied, then closes the socket. Returns the
 * number of requests abandoned (0 after a clean drain). Safe to call twice. */
int rpc_server_stop(rpc_server_t *s);

/* Stops (if not yet) and frees. */
void rpc_server_free(rpc_server_t *s);

#endif
