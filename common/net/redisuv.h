/*
 * redisuv.h: a robust asynchronous Redis client on a libuv loop.
 *
 * hiredis 0.14 (Debian 12) does the protocol; this module does the rest:
 * its own hiredis<->libuv adapter (a uv_poll_t on the context's fd that
 * passes poll errors through, so a refused or reset connection reaches every
 * callback; Debian's adapter loses them), a deadline on every command, and a
 * connection that repairs itself.
 *
 * Contract for callers:
 *  - redisuv_new() never fails because Redis is down: it connects in the
 *    background and retries forever with exponential back-off between
 *    reconnect_min_ms and reconnect_max_ms. State changes are logged once,
 *    not per attempt. On connect it sends AUTH (password) and SELECT (db) when
 *    configured, then PING; the client is "connected" only after the answers.
 *  - Every command submitted with redisuv_command*() that returns 0 gets its
 *    callback exactly once, on the loop thread, never inside the submitting
 *    call: reply != NULL on success (a Redis error reply, REDIS_REPLY_ERROR,
 *    is a reply: the caller decides), or reply == NULL and error a one-line
 *    reason: "redis unavailable: connection refused", "redis command timed
 *    out after 50 ms", "redis connection lost: ...", "redis overloaded: ...",
 *    "shutting down". The reply and the error string are valid only during
 *    the callback (hiredis frees the reply afterwards).
 *  - Fail fast: while not connected, a command is not queued; its callback
 *    runs with "redis unavailable: <why>" on the next loop iteration.
 *  - A command not answered within command_timeout_ms gets the timeout error;
 *    its late reply, if any, is dropped. REDISUV_SUSPECT_TIMEOUTS timeouts in
 *    a row with no reply in between mark the connection as dead: it is
 *    dropped (pending commands get "redis connection lost") and re-made.
 *  - A return of -1 means the callback will never run: the client is
 *    closing, memory ran out, or hiredis rejected the format string.
 *
 * hiredis writes with write(2): the process must ignore SIGPIPE (servers do),
 * or a write to a dead Redis kills it.
 *
 * Everything runs on the loop thread. The host name is resolved in
 * redisuv_new() (a name that does not resolve is a clear start-up error),
 * and again before each reconnect with uv_getaddrinfo (libuv's thread pool:
 * hiredis would call a blocking getaddrinfo on the loop), so a Redis whose
 * address changed (a recreated Kubernetes pod or Service) is found again; a
 * look-up that fails then keeps the last address. hiredis is always given
 * the numeric address. A unix socket path, when given, wins over host and
 * port.
 */
#ifndef RECSYS_COMMON_REDISUV_H
#define RECSYS_COMMON_REDISUV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>
#include <hiredis/hiredis.h>

#include "common/base/config.h"
#include "common/base/err.h"

/* Consecutive command timeouts after which the connection is re-made. */
#define REDISUV_SUSPECT_TIMEOUTS 3

typedef struct redisuv redisuv_t;

typedef struct redisuv_opts {
    const char *host;       /* name or address; resolved at start and before each reconnect */
    int port;
    const char *unix_path;  /* non-NULL and non-empty: use this socket instead */
    const char *password;   /* non-NULL and non-empty: AUTH on every connect */
    int db;                 /* SELECT on every connect when not 0 */
    int connect_timeout_ms; /* connect + handshake; 0 = 1000 */
    int command_timeout_ms; /* per command; 0 = 100 */
    int reconnect_min_ms;   /* first back-off; 0 = 100 */
    int reconnect_max_ms;   /* back-off ceiling; 0 = 5000 */
    int max_pending;        /* commands inside hiredis at once; 0 = 10000 */
} redisuv_opts_t;

typedef enum {
    REDISUV_DOWN = 0,   /* waiting for the next attempt */
    REDISUV_CONNECTING, /* TCP connect or handshake in progress */
    REDISUV_READY,      /* commands are sent */
    REDISUV_CLOSING,
} redisuv_state_t;

typedef struct redisuv_stats {
    uint64_t commands;   /* accepted by redisuv_command*() */
    uint64_t replies;    /* callbacks with a reply (Redis error replies included) */
    uint64_t errors;     /* callbacks with an error (timeouts included) */
    uint64_t timeouts;   /* commands that missed their deadline */
    uint64_t reconnects; /* connections made after the first one */
    uint64_t pending;    /* callbacks still to run */
    redisuv_state_t state;
} redisuv_stats_t;

/* reply non-NULL: success (maybe a Redis error reply); reply NULL: error says why. */
typedef void (*redisuv_cb)(redisuv_t *r, redisReply *reply, const char *error, void *arg);

/* redis-host, redis-port, redis-unix, redis-password, redis-db,
 * redis-connect-timeout-ms, redis-command-timeout-ms, redis-reconnect-min-ms,
 * redis-reconnect-max-ms, redis-max-pending. */
extern const cfg_option_t redisuv_options[];

/* Fills opts from a parsed configuration holding redisuv_options. The strings
 * point into cfg: keep cfg alive until redisuv_new() has copied them. */
int redisuv_opts_from_cfg(const cfg_t *cfg, redisuv_opts_t *opts, err_t *err);

/* Starts connecting in the background. Fails only on bad options, a host
 * name that does not resolve, or out of memory. */
int redisuv_new(uv_loop_t *loop, const redisuv_opts_t *opts, redisuv_t **out, err_t *err);

/* printf-like format as hiredis's (%s C string, %b pointer + size_t length). */
int redisuv_command(redisuv_t *r, redisuv_cb cb, void *arg, const char *fmt, ...);
int redisuv_commandargv(redisuv_t *r, redisuv_cb cb, void *arg, int argc, const char **argv,
                        const size_t *argvlen);

bool redisuv_connected(const redisuv_t *r);
void redisuv_stats(const redisuv_t *r, redisuv_stats_t *out);
const char *redisuv_state_name(redisuv_state_t s);
/* The reason of the last failure ("connection refused"), "" when none. */
const char *redisuv_last_error(const redisuv_t *r);

/* Every pending callback runs with "shutting down" (some inside this call);
 * then all handles are closed and, on a later loop iteration, r is freed and
 * done(arg) runs (done may be NULL). Commands submitted after this return -1. */
void redisuv_close(redisuv_t *r, void (*done)(void *arg), void *arg);

#endif
