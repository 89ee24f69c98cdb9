/*
 * gw_internal.h: the gateway's state shared by its own files (gw_server.c
 * routes and simple methods, gw_rank.c fan-out and blend). Not for other
 * modules: they use gw_server.h.
 */
#ifndef RECSYS_GATEWAY_GW_INTERNAL_H
#define RECSYS_GATEWAY_GW_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "common/math/blend.h"
#include "common/net/httpsrv.h"
#include "common/net/metrics.h"
#include "common/wire/pbjson.h"
#include "common/net/redisuv.h"
#include "services/gateway/gw_cache.h"
#include "services/gateway/gw_catalog.h"
#include "services/gateway/gw_feedback.h"
#include "services/gateway/gw_request.h"
#include "services/gateway/gw_server.h"
#include "services/gateway/gw_twirp.h"
#include "services/gateway/gw_workers.h"

typedef enum { GW_M_RECOMMEND = 0, GW_M_SIMILAR, GW_M_SCORE, GW_M_FEEDBACK, GW_M_GET_ITEM, GW_M_SEARCH, GW_NMETHODS } gw_method_t;

struct gw {
    uv_loop_t *loop;
    const cfg_t *cfg;
    gw_catalog_t *cat;
    gw_workers_t workers;
    bool workers_started;
    gw_limits_t limits;
    blend_params_t blend;
    pbjson_limits_t json_lim;
    httpsrv_t *http;
    metrics_registry_t *reg;
    const char *api_key; /* "" = writes are open */
    uint64_t next_request;
    unsigned pid;
    bool stopping;
    void *route_uds; /* per-route (gw, method) pairs for the Twirp routes */
    void (*stopped)(void *ud);
    void *stopped_ud;

    metrics_counter_t *degraded[GW_NMETHODS];
    metrics_counter_t *fallback[GW_NMETHODS]; /* answered from popularity alone */
    metrics_histogram_t *latency[GW_NMETHODS];

    redisuv_t *redis; /* cache and feedback store; NULL only when it could not be set up */
    gw_cache_t *cache; /* Recommend and SimilarItems answers (gw_rank.c); NULL without Redis */

    gw_feedback_t *feedback; /* AddFeedback, and recent events read back for fold-in; NULL without Redis */
    int recent_max;          /* recent events added to a known user's history */
    size_t content_history_max; /* known ratings sent to the content worker */
};

extern const char *const gw_method_names[GW_NMETHODS];

/* Request id for an answer: the client's X-Request-Id when it is a short
 * token, else "<pid>-<counter>", into buf; also set as a response header. */
void gw_request_id(gw_t *gw, httpsrv_req_t *r, char *buf, size_t size);

/* The ranked methods (gw_rank.c). Each takes ownership of msg and answers r. */
void gw_rank_recommend(gw_t *gw, httpsrv_req_t *r, gw_encoding_t enc, Recsys__V1__RecommendRequest *msg);
void gw_rank_similar(gw_t *gw, httpsrv_req_t *r, gw_encoding_t enc, Recsys__V1__SimilarItemsRequest *msg);
void gw_rank_score(gw_t *gw, httpsrv_req_t *r, gw_encoding_t enc, Recsys__V1__ScoreRequest *msg);

#endif
