/*
 * gw_rank.h: the ranked methods (Recommend, SimilarItems, Score): fan-out
 * to both workers, blend, filters, titles, explanations (gw_rank.c).
 *
 * The ranker depends on nothing of the server (gw_server.c): the server
 * owns a gw_rank_t, fills it with what ranking needs (catalog, worker
 * clients, limits, blend parameters, cache and feedback store, metrics)
 * and hands it each decoded request. The one thing the ranker needs back
 * from the server, a request id for each answer, comes through the
 * request_id callback. So gw_server -> gw_rank, never the other way.
 */
#ifndef RECSYS_GATEWAY_GW_RANK_H
#define RECSYS_GATEWAY_GW_RANK_H

#include <stddef.h>

#include "common/math/blend.h"
#include "common/net/httpsrv.h"
#include "common/net/metrics.h"
#include "recsys/v1/recommender.pb-c.h"
#include "services/gateway/gw_cache.h"
#include "services/gateway/gw_catalog.h"
#include "services/gateway/gw_feedback.h"
#include "services/gateway/gw_request.h"
#include "services/gateway/gw_twirp.h"
#include "services/gateway/gw_workers.h"

typedef enum { GW_RANK_RECOMMEND = 0, GW_RANK_SIMILAR, GW_RANK_SCORE, GW_RANK_NKINDS } gw_rank_kind_t;

/* Writes the request id of an answer into buf[size] (and sets it on r as
 * the server does for every answer). */
typedef void (*gw_rank_request_id_fn)(void *ud, httpsrv_req_t *r, char *buf, size_t size);

/* Why an answer came from popularity alone (the `reason` label of
 * recsys_gateway_popularity_fallback_total): nothing to personalise (a
 * cold start; the answer is not degraded), or the models asked failed
 * (degraded). */
typedef enum gw_fallback_reason {
    GW_FALLBACK_COLD_START,
    GW_FALLBACK_NO_MODEL,
    GW_FALLBACK_NREASONS
} gw_fallback_reason_t;

typedef struct gw_rank {
    const gw_catalog_t *cat;
    gw_workers_t *workers;
    const gw_limits_t *limits;
    const blend_params_t *blend;
    gw_cache_t *cache;          /* Recommend and SimilarItems answers; NULL: uncached */
    gw_feedback_t *feedback;    /* recent events read back for fold-in; NULL: none */
    int recent_max;             /* recent events added to a known user's history */
    size_t content_history_max; /* known ratings sent to the content worker */
    /* Per kind; any may be NULL (no metrics). */
    metrics_counter_t *degraded[GW_RANK_NKINDS];
    metrics_counter_t *fallback[GW_RANK_NKINDS][GW_FALLBACK_NREASONS]; /* answered from popularity alone */
    metrics_histogram_t *latency[GW_RANK_NKINDS];
    gw_rank_request_id_fn request_id;
    void *request_id_ud;
} gw_rank_t;

/* Each takes ownership of msg and answers r (in enc), now or later on the
 * loop thread. */
void gw_rank_recommend(gw_rank_t *rk, httpsrv_req_t *r, gw_encoding_t enc, Recsys__V1__RecommendRequest *msg);
void gw_rank_similar(gw_rank_t *rk, httpsrv_req_t *r, gw_encoding_t enc,
                     Recsys__V1__SimilarItemsRequest *msg);
void gw_rank_score(gw_rank_t *rk, httpsrv_req_t *r, gw_encoding_t enc, Recsys__V1__ScoreRequest *msg);

#endif
