/*
 * gw_cache.h: the gateway's Redis cache of blended answers, with single flight.
 *
 * An entry's key names everything its answer depends on:
 *   <prefix>:cache:<user>:<gen>:<content version>:<cf version>:<hash of params>
 * where params are the caller's canonical request bytes (e.g. the packed
 * request with volatile fields such as request_id cleared), hashed to 128
 * bits, and ids are written as they are when made of [A-Za-z0-9._@-] and as
 * "~<hex>" otherwise (so no id can imitate another key's separators).
 *
 * Invalidation by generation: <gen> is the value of <prefix>:gen:<user>
 * (absent = 0). Feedback from a user does one INCR of that counter, so all of
 * the user's entries become unreachable at once, in one command that can sit
 * in the same Redis script as the feedback itself; the orphaned entries
 * expire by their TTL. The generation key's own TTL (2 x TTL + 60 s,
 * renewed by every INCR) outlives every entry written under an older value,
 * so its expiry can never resurrect one. A lookup reads the generation and
 * the entry in one round trip (a small Lua script); the answer is stored
 * under the generation the lookup saw, so an answer computed while feedback
 * arrived is stored where nobody will look. A per-user SET of keys was the
 * alternative; it needs two round trips to invalidate and a late write can
 * re-insert a stale answer.
 *
 * Single flight: concurrent lookups of one key in this process share one
 * Redis lookup and, on a miss, one computation: the first caller's compute
 * function runs, the others wait for its result. (Several gateway replicas
 * may each compute once; that is fine.) After feedback the gateway calls
 * gw_cache_forget_user() so new requests of that user stop joining flights
 * that started before it.
 *
 * Redis down (redisuv not connected): no lookup at all, straight to the
 * computation; nothing is stored; it resumes by itself when redisuv
 * reconnects. A lookup that fails (timeout, error reply) counts as an error
 * and as a miss. Degraded answers should be passed with cacheable = false.
 *
 * Metrics (registry may be NULL): recsys_cache_hits_total,
 * recsys_cache_misses_total (computed, including while Redis is down),
 * recsys_cache_coalesced_total (waited for another request's flight),
 * recsys_cache_errors_total (Redis lookups or stores that failed),
 * recsys_cache_stores_total, recsys_cache_invalidations_total.
 * Everything runs on the loop thread.
 */
#ifndef RECSYS_GATEWAY_GW_CACHE_H
#define RECSYS_GATEWAY_GW_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/base/config.h"
#include "common/base/err.h"
#include "common/net/metrics.h"
#include "common/net/redisuv.h"

/* Longest user id or model version the cache keys accept (longer: bypass). */
#define GW_CACHE_ID_MAX 256

typedef struct gw_cache gw_cache_t;
typedef struct gw_cache_flight gw_cache_flight_t;

/* cache-ttl-ms (60000; 0 disables caching), cache-max-value-bytes (1 MiB),
 * cache-key-prefix ("recsys"). */
extern const cfg_option_t gw_cache_options[];

typedef struct gw_cache_opts {
    int64_t ttl_ms;          /* 0 = no caching (single flight still applies) */
    size_t max_value_bytes;  /* larger answers are served, not stored */
    const char *prefix;      /* key prefix, e.g. "recsys" */
} gw_cache_opts_t;

int gw_cache_opts_from_cfg(const cfg_t *cfg, gw_cache_opts_t *opts, err_t *err);

/* redis may be NULL (no caching at all). opts NULL = defaults. The cache
 * keeps redis and reg; both must outlive it. */
int gw_cache_new(redisuv_t *redis, const gw_cache_opts_t *opts, metrics_registry_t *reg, gw_cache_t **out,
                 err_t *err);
/* Frees now, or when the flights still running have ended (their callbacks
 * still run). Call before closing redis. */
void gw_cache_free(gw_cache_t *c);

typedef struct gw_cache_key {
    const char *content_version; /* NULL = "" */
    const char *cf_version;      /* NULL = "" */
    const char *user;            /* NULL or "" = anonymous */
    const void *params;          /* canonical request bytes */
    size_t params_len;
} gw_cache_key_t;

typedef enum {
    GW_CACHE_HIT = 1,   /* from Redis */
    GW_CACHE_COMPUTED,  /* this caller's compute function ran */
    GW_CACHE_SHARED,    /* another caller's computation (single flight) */
    GW_CACHE_FAILED,    /* the computation failed: error says why */
} gw_cache_outcome_t;

const char *gw_cache_outcome_name(gw_cache_outcome_t o);

/* Starts the computation of a flight. It must end, now or later on the loop
 * thread, with exactly one gw_cache_computed(flight, ...). */
typedef void (*gw_cache_compute_fn)(gw_cache_flight_t *flight, void *compute_arg);
/* Runs exactly once per gw_cache_get_or_compute() that returned 0. value is
 * valid only during the call (NULL with len 0 on failure). */
typedef void (*gw_cache_done_fn)(void *done_arg, gw_cache_outcome_t outcome, const void *value, size_t len,
                                 const char *error);

/* Looks the key up and calls done; on a miss, compute(flight, compute_arg)
 * runs first unless an identical flight is already running (then this
 * caller just waits for it and compute_arg is not used). done may run
 * inside this call (e.g. compute answered at once), so the caller must be
 * ready for it. Returns -1 (done never runs) only when memory ran out. */
int gw_cache_get_or_compute(gw_cache_t *c, const gw_cache_key_t *key, gw_cache_compute_fn compute,
                            void *compute_arg, gw_cache_done_fn done, void *done_arg);

/* Requests waiting for the flight's answer (its computer's own included). */
size_t gw_cache_flight_waiters(const gw_cache_flight_t *f);
/* Ends a flight's computation: value/len on success (error NULL), or error.
 * cacheable = false keeps the answer out of Redis (degraded answers). Every
 * waiter's done runs inside this call, the computing caller's first. */
void gw_cache_computed(gw_cache_flight_t *flight, const void *value, size_t len, bool cacheable,
                       const char *error);

/* Invalidates the user's entries (INCR of the generation, PEXPIRE) and
 * forgets their running flights; cb (may be NULL) gets the redisuv result. */
int gw_cache_invalidate_user(gw_cache_t *c, const char *user, redisuv_cb cb, void *arg);
/* Only the local part: flights of this user started so far are no longer
 * joined by new requests nor stored. gw_feedback calls it after a write
 * that invalidated the user inside its own script. */
void gw_cache_forget_user(gw_cache_t *c, const char *user);

/* The generation key of a user into buf; -1 when it does not fit or the
 * user id is too long. And the TTL the generation key gets. */
int gw_cache_gen_key(const gw_cache_t *c, const char *user, char *buf, size_t cap);
int64_t gw_cache_gen_ttl_ms(const gw_cache_t *c);

/* An id written for a key: itself when made of [A-Za-z0-9._@-] (and not
 * empty), else "~" + hex; "-" for an empty id. Returns the length, or -1
 * when it (with its NUL) does not fit in cap. */
int gw_cache_encode_id(const char *id, char *out, size_t cap);

typedef struct gw_cache_stats {
    uint64_t hits, misses, coalesced, errors, stores, invalidations;
    uint64_t too_large; /* answers not stored because of their size */
    uint64_t flights;   /* running now */
} gw_cache_stats_t;

void gw_cache_stats(const gw_cache_t *c, gw_cache_stats_t *out);

#endif
