/*
 * gw_history.h: a user's history as the ranked methods see it, assembled
 * once per request from its three sources and read by every consumer.
 *
 * Sources, in this order:
 *   - stored: the user's ratings in the gateway's own dataset (gw_catalog.h);
 *   - request: the history sent in the request (every item must be known);
 *   - recent: the user's recent feedback read back from Redis
 *     (gw_feedback_recent; unknown items are skipped).
 * Consumers:
 *   - the CF worker gets the fresh events (request, then recent): it knows
 *     its users and folds in only what is new;
 *   - the content worker knows no users: gw_history_for_content() gives the
 *     stored ratings (cut to content-history-max, see gw_history.c) followed
 *     by the fresh events;
 *   - the blend and the filters: `length` is the history length the blend
 *     policy weighs by, `items` the items excluded from the answer (unless
 *     include_seen).
 */
#ifndef RECSYS_GATEWAY_GW_HISTORY_H
#define RECSYS_GATEWAY_GW_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include "common/base/arena.h"
#include "common/base/err.h"
#include "recsys/v1/worker.pb-c.h"
#include "services/gateway/gw_catalog.h"
#include "services/gateway/gw_feedback.h"

typedef struct gw_history {
    const char *user_id;       /* "" = anonymous */
    const uint32_t *rated;     /* stored ratings: items (sorted) */
    const float *rated_values; /*   and their ratings, parallel */
    size_t nrated;
    Recsys__V1__HistoryEvent **fresh; /* request events, then recent events (fresh copies) */
    size_t nfresh;
    size_t nrequest; /* of which the first nrequest come from the request */
    uint32_t *items; /* stored + request items (+ recent items): excluded unless include_seen */
    size_t nitems;
    size_t nrecent_items; /* recent events that added an entry to items */
    size_t length;        /* history length for the blend: stored + request events + recent
                           * events on items neither rated nor seen earlier in the recent list */
} gw_history_t;

/* Assembles h for user_id (NULL or "" = anonymous) from the stored ratings,
 * the request's events req[0..nreq) and the recent events recent[0..nrecent)
 * (may be NULL). Everything is allocated from a. -1 with err on an unknown
 * request item ("history[i].item_id: unknown item '...'") or out of memory. */
int gw_history_build(gw_history_t *h, const gw_catalog_t *cat, const char *user_id,
                     Recsys__V1__HistoryEvent *const *req, size_t nreq,
                     const gw_feedback_recent_event_t *recent, size_t nrecent, arena_t *a, err_t *err);

/* Which items of h are negative feedback (common/data/feedback.h: the
 * event that counts for the item, by common/data/histmerge.h's rule over
 * the stored rating and the fresh events, is a rating <= 2 or a DISLIKE
 * without a rating): a [catalog size] array from a, 1 for a negative item;
 * NULL when memory ran out. The gateway never cites such an item in an
 * explanation (gw_rank.c). *nnegative (optional) gets the number of
 * distinct history items that are negative: the blend's history length
 * leaves them out (common/math/blend.h). */
uint8_t *gw_history_negatives(const gw_history_t *h, const gw_catalog_t *cat, arena_t *a, size_t *nnegative);

/* The history sent to the content worker: the stored ratings, at most max
 * of them, then the fresh events; count in *n. NULL with *n = 0 when there
 * is none (or memory ran out). */
Recsys__V1__HistoryEvent **gw_history_for_content(const gw_history_t *h, const gw_catalog_t *cat, size_t max,
                                                  arena_t *a, size_t *n);

#endif
