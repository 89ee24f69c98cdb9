/*
 * gw_request.h: the gateway's checks of public requests, and the REST
 * routes' query parameters turned into the same proto requests.
 *
 * Decoding (gw_twirp.h) only proves a body is a well-formed message; these
 * checks refuse what the service will not do, each with a message naming
 * the field: k beyond k-max, histories, candidate lists or feedback batches
 * beyond their limits, ids and queries too long or empty where required,
 * ratings and weights that are not finite or out of range, enum values the
 * proto does not define. The caller answers invalid_argument. Whether ids
 * exist in the catalog is the handler's business (not_found / invalid).
 *
 * The REST routes build their request by packing a message made from the
 * query parameters and unpacking it, so every request the handlers see has
 * protobuf-c's memory layout and is freed the same way.
 */
#ifndef RECSYS_GATEWAY_GW_REQUEST_H
#define RECSYS_GATEWAY_GW_REQUEST_H

#include "common/base/config.h"
#include "common/base/err.h"
#include "common/net/httpreq.h"
#include "recsys/v1/recommender.pb-c.h"

typedef struct gw_limits {
    int k_default;         /* k when a request says 0 */
    int k_max;             /* larger k: invalid_argument */
    int max_history;       /* events in a request's history */
    int max_candidates;    /* Score candidates */
    int max_events;        /* AddFeedback events per request */
    int max_filter_values; /* genres and exclude ids per request */
    int max_id_bytes;      /* user and item ids */
    int max_query_bytes;   /* SearchItems query */
} gw_limits_t;

/* k-default, k-max, max-history, max-candidates, max-feedback-events,
 * max-filter-values, max-id-bytes, max-query-bytes. */
extern const cfg_option_t gw_limits_options[];
void gw_limits_default(gw_limits_t *l);
int gw_limits_from_cfg(const cfg_t *cfg, gw_limits_t *l, err_t *err);

/* k of a request after the default (0 -> k_default). */
int gw_effective_k(int k, const gw_limits_t *l);

int gw_check_recommend(const Recsys__V1__RecommendRequest *r, const gw_limits_t *l, err_t *err);
int gw_check_similar(const Recsys__V1__SimilarItemsRequest *r, const gw_limits_t *l, err_t *err);
int gw_check_score(const Recsys__V1__ScoreRequest *r, const gw_limits_t *l, err_t *err);
int gw_check_feedback(const Recsys__V1__AddFeedbackRequest *r, const gw_limits_t *l, err_t *err);
int gw_check_get_item(const Recsys__V1__GetItemRequest *r, const gw_limits_t *l, err_t *err);
int gw_check_search(const Recsys__V1__SearchItemsRequest *r, const gw_limits_t *l, err_t *err);

/* GET /v1/users/{id}/recommendations?k=&genre=&exclude=&explain=&year_min=
 * &year_max=&include_seen= (genre and exclude: comma-separated, may repeat). */
Recsys__V1__RecommendRequest *gw_rest_recommend(const char *user_id, const httpreq_t *h, err_t *err);
/* GET /v1/items/{id}/similar?k=&mode=content|behaviour|blend&genre=&exclude=&explain= */
Recsys__V1__SimilarItemsRequest *gw_rest_similar(const char *item_id, const httpreq_t *h, err_t *err);
/* GET /v1/items?q=&k= */
Recsys__V1__SearchItemsRequest *gw_rest_search(const httpreq_t *h, err_t *err);

#endif
