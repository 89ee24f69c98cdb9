/*
 * gw_feedback.h: feedback events recorded in Redis, and read back.
 *
 * gw_feedback_add() writes a batch with ONE Lua script (EVAL), so Redis
 * applies it as a unit and nothing else can interleave on the shared
 * connection (a MULTI/EXEC pipeline on a connection that cache lookups also
 * use could swallow them into the transaction if it were cut halfway):
 *   - each event appended to the stream <prefix>:feedback with
 *     XADD ... MAXLEN ~ <feedback-stream-maxlen> * user U item I rating R
 *     type T ts MS   (T: unspecified|rating|view|click|like|dislike);
 *   - each event pushed on the user's capped list <prefix>:recent:<user>
 *     (LPUSH, then LTRIM to feedback-recent-max), newest first;
 *   - each user's cache generation incremented (gw_cache.h), so the user's
 *     cached answers are gone when the batch is acknowledged.
 * The script checks the types of every key it will touch before writing
 * anything, so a wrongly typed key refuses the whole batch instead of
 * leaving half of it written.
 *
 * Acknowledgement: the callback gets one stream id per event only after
 * Redis answered the script; on any failure (Redis down, timeout, error
 * reply) it gets an error and the gateway answers 503 "unavailable" so the
 * caller retries. An event is never dropped silently. (A retry after a
 * timeout may record an event twice: at-least-once.) "Acknowledged" means
 * "accepted by Redis": it survives a Redis crash only when Redis persists
 * with AOF (appendonly yes; appendfsync everysec loses at most ~1 s,
 * appendfsync always loses nothing). The tests' Redis runs without
 * persistence; the production compose file enables AOF.
 *
 * Reading back: gw_feedback_recent() returns a user's recent events (parsed,
 * oldest first) so the gateway can add them to the history it sends the
 * workers (fold-in): the next Recommend reflects the feedback before any
 * retraining. The workers let one event per item count: the latest explicit
 * rating, over any implicit event (common/data/histmerge.h).
 *
 * Training path: the stream is the durable log. Read it in pages with
 *   XRANGE recsys:feedback - + COUNT 10000
 * then XRANGE recsys:feedback (<last id> + COUNT 10000 until empty; each
 * entry's fields are user, item, rating, type, ts (ms since the epoch). The
 * stream is trimmed approximately to feedback-stream-maxlen entries.
 *
 * Keys use the same id encoding as the cache (gw_cache_encode_id). The
 * script builds no key names itself: every key arrives as an argument.
 * Everything runs on the loop thread.
 */
#ifndef RECSYS_GATEWAY_GW_FEEDBACK_H
#define RECSYS_GATEWAY_GW_FEEDBACK_H

#include <stddef.h>
#include <stdint.h>

#include "common/base/config.h"
#include "common/base/err.h"
#include "common/net/metrics.h"
#include "common/net/redisuv.h"
#include "services/gateway/gw_cache.h"

#define GW_FEEDBACK_ID_MAX GW_CACHE_ID_MAX
#define GW_FEEDBACK_BATCH_MAX 1000

typedef struct gw_feedback gw_feedback_t;

/* feedback-key-prefix ("recsys"), feedback-stream-maxlen (10000000),
 * feedback-recent-max (200). */
extern const cfg_option_t gw_feedback_options[];

typedef struct gw_feedback_opts {
    const char *prefix;       /* keys <prefix>:feedback and <prefix>:recent:<user> */
    long long stream_maxlen;  /* approximate cap of the stream */
    int recent_max;           /* events kept per user */
} gw_feedback_opts_t;

int gw_feedback_opts_from_cfg(const cfg_t *cfg, gw_feedback_opts_t *opts, err_t *err);

/* cache may be NULL (no invalidation); opts NULL = defaults; reg may be NULL.
 * redis, cache and reg must outlive the feedback store. */
int gw_feedback_new(redisuv_t *redis, gw_cache_t *cache, const gw_feedback_opts_t *opts, metrics_registry_t *reg,
                    gw_feedback_t **out, err_t *err);
/* Frees now or after the writes and reads on their way have called back. */
void gw_feedback_free(gw_feedback_t *fb);

/* Event types: the values of recsys.v1.EventType. */
typedef struct gw_feedback_event {
    const char *user;  /* required, at most GW_FEEDBACK_ID_MAX bytes */
    const char *item;  /* required, same limit */
    float rating;      /* 0 = none */
    int type;          /* 0..5 (unspecified, rating, view, click, like, dislike) */
    int64_t ts_ms;     /* 0 = now (server time) */
} gw_feedback_event_t;

/* "rating" for 1 ...; NULL for a value out of range. */
const char *gw_feedback_type_name(int type);

/* ids: one stream id per event, in order ("1700000000000-0"), valid during
 * the call; n the number of events. On failure ids is NULL, n 0, error set. */
typedef void (*gw_feedback_add_cb)(void *arg, const char *const *ids, size_t n, const char *error);

/* Validates the batch (returns -1 with err and never calls cb when an event
 * is invalid or there are none or more than GW_FEEDBACK_BATCH_MAX), then
 * writes it; cb runs exactly once, never inside this call. */
int gw_feedback_add(gw_feedback_t *fb, const gw_feedback_event_t *events, size_t n, gw_feedback_add_cb cb,
                    void *arg, err_t *err);

typedef struct gw_feedback_recent_event {
    const char *item;
    float rating;
    int type;
    int64_t ts_ms;
} gw_feedback_recent_event_t;

/* events oldest first (the order they happened; the list keeps the newest
 * max), valid during the call; on failure events NULL, n 0, error set (the
 * gateway then recommends without them). */
typedef void (*gw_feedback_recent_cb)(void *arg, const gw_feedback_recent_event_t *events, size_t n,
                                      const char *error);

/* The user's recent events, at most max (<= 0: all kept). cb runs exactly
 * once, never inside this call; -1 (cb never runs) for an invalid user id
 * or out of memory. */
int gw_feedback_recent(gw_feedback_t *fb, const char *user, int max, gw_feedback_recent_cb cb, void *arg);

/* Parses one entry of a recent list ("<ts> <type> <rating> <item>"); item
 * points into s. Returns -1 for a malformed entry. */
int gw_feedback_parse_recent(const char *s, size_t len, gw_feedback_recent_event_t *out, const char **item,
                             size_t *item_len);

typedef struct gw_feedback_stats {
    uint64_t batches, events, failed_batches, recent_reads, recent_errors;
} gw_feedback_stats_t;

void gw_feedback_stats(const gw_feedback_t *fb, gw_feedback_stats_t *out);

#endif
