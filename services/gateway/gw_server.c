/*
 * gw_server.c: the gateway object, its routes, and the methods that need
 * no worker (GetItem, SearchItems, AddFeedback). See gw_server.h.
 *
 * A Twirp route checks the Content-Type (else bad_route, as Twirp does),
 * decodes the body in that encoding (else malformed), and hands the message
 * to the method; the REST routes build the same message from the path and
 * query and answer JSON. Methods answer errors with gw_respond_error, so
 * every route speaks Twirp's error format.
 */
#include "services/gateway/gw_server.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/base/arena.h"
#include "common/base/log.h"
#include "common/data/dataset.h"
#include "common/math/blend.h"
#include "common/net/httpsrv.h"
#include "common/net/metrics.h"
#include "common/net/redisuv.h"
#include "common/net/rpc.h"
#include "common/wire/pbjson.h"
#include "services/gateway/gw_cache.h"
#include "services/gateway/gw_catalog.h"
#include "services/gateway/gw_feedback.h"
#include "services/gateway/gw_grpc.h"
#include "services/gateway/gw_grpc_svc.h"
#include "services/gateway/gw_rank.h"
#include "services/gateway/gw_request.h"
#include "services/gateway/gw_static.h"
#include "services/gateway/gw_twirp.h"
#include "services/gateway/gw_workers.h"

/* The gateway's state (gw_t of gw_server.h). The ranked methods get what
 * they need through rank (gw_rank.h), so gw_rank.c never sees this struct
 * nor calls back into this file except through rank.request_id. */
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
    metrics_counter_t *fallback[GW_NMETHODS][GW_FALLBACK_NREASONS]; /* answered from popularity alone */
    metrics_histogram_t *latency[GW_NMETHODS];

    redisuv_t *redis; /* cache and feedback store; NULL only when it could not be set up */
    /* The ranked methods' context (gw_rank.h): catalog, workers, limits,
     * blend, and the cache (Recommend and SimilarItems answers) and feedback
     * store (AddFeedback, recent events for fold-in), both NULL without Redis. */
    gw_rank_t rank;
    gw_grpc_svc_t grpc_svc; /* health and reflection */
};

static const char *const gw_method_names[GW_NMETHODS] = {"Recommend", "SimilarItems", "Score",
                                                  "AddFeedback", "GetItem", "SearchItems"};

static const ProtobufCMessageDescriptor *const method_input[GW_NMETHODS] = {
    &recsys__v1__recommend_request__descriptor,    &recsys__v1__similar_items_request__descriptor,
    &recsys__v1__score_request__descriptor,        &recsys__v1__add_feedback_request__descriptor,
    &recsys__v1__get_item_request__descriptor,     &recsys__v1__search_items_request__descriptor,
};


/* ------------------------------------------------------------ helpers */

static bool token_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
            return false;
    return true;
}

/* Request id for an answer: the client's X-Request-Id when it is a short
 * token, else "<pid>-<counter>", into buf; also set as a response header.
 * The ranked methods call it through gw_rank_t.request_id. */
static void request_id(gw_t *gw, httpsrv_req_t *r, char *buf, size_t size)
{
    const char *given = httpreq_header(httpsrv_req_http(r), "X-Request-Id");
    if (given != NULL && token_ok(given))
        snprintf(buf, size, "%s", given);
    else
        snprintf(buf, size, "%x-%llu", gw->pid, (unsigned long long)++gw->next_request);
    httpsrv_req_add_header(r, "X-Request-Id", buf);
}

static void rank_request_id(void *ud, httpsrv_req_t *r, char *buf, size_t size)
{
    request_id(ud, r, buf, size);
}

/* Constant-time comparison of the bearer token with the key. */
static bool authorized(const gw_t *gw, httpsrv_req_t *r)
{
    if (gw->api_key[0] == '\0')
        return true;
    const char *h = httpreq_header(httpsrv_req_http(r), "Authorization");
    if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
        return false;
    const char *tok = h + 7;
    size_t a = strlen(tok), b = strlen(gw->api_key);
    unsigned diff = (unsigned)(a ^ b);
    for (size_t i = 0; i < a && i < b; i++)
        diff |= (unsigned)(tok[i] ^ gw->api_key[i]);
    return diff == 0;
}

/* ------------------------------------------------------------ simple methods */

static void do_get_item(gw_t *gw, httpsrv_req_t *r, gw_encoding_t enc, Recsys__V1__GetItemRequest *m)
{
    err_t err;
    char rid[72];
    request_id(gw, r, rid, sizeof rid);
    if (gw_check_get_item(m, &gw->limits, &err) != 0) {
        gw_respond_error(r, GW_INVALID_ARGUMENT, err.msg, NULL);
    } else {
        uint32_t i = gw_catalog_find(gw->cat, m->item_id);
        if (i == UINT32_MAX) {
            char msg[200];
            snprintf(msg, sizeof msg, "item '%.80s' not found", m->item_id);
            const char *meta[] = {"item_id", m->item_id, NULL};
            gw_respond_error(r, GW_NOT_FOUND, msg, meta);
        } else {
            arena_t a;
            arena_init(&a);
            Recsys__V1__Item it;
            Recsys__V1__GetItemResponse resp = RECSYS__V1__GET_ITEM_RESPONSE__INIT;
            if (gw_catalog_item(gw->cat, i, &it, &a) != 0) {
                gw_respond_error(r, GW_RESOURCE_EXHAUSTED, "out of memory", NULL);
            } else {
                resp.item = &it;
                gw_respond_message(r, &resp.base, enc);
            }
            arena_free(&a);
        }
    }
    protobuf_c_message_free_unpacked(&m->base, NULL);
}

static void do_search(gw_t *gw, httpsrv_req_t *r, gw_encoding_t enc, Recsys__V1__SearchItemsRequest *m)
{
    err_t err;
    char rid[72];
    request_id(gw, r, rid, sizeof rid);
    if (gw_check_search(m, &gw->limits, &err) != 0) {
        gw_respond_error(r, GW_INVALID_ARGUMENT, err.msg, NULL);
        protobuf_c_message_free_unpacked(&m->base, NULL);
        return;
    }
    size_t k = (size_t)gw_effective_k(m->k, &gw->limits);
    arena_t a;
    arena_init(&a);
    /* Title prefixes first, then other substring matches, each in catalog order. */
    uint32_t *pre = arena_alloc(&a, k * sizeof(uint32_t));
    uint32_t *sub = arena_alloc(&a, 2 * k * sizeof(uint32_t));
    Recsys__V1__Item *items = arena_alloc(&a, k * sizeof *items);
    Recsys__V1__Item **ptrs = arena_alloc(&a, k * sizeof *ptrs);
    if (pre == NULL || sub == NULL || items == NULL || ptrs == NULL) {
        gw_respond_error(r, GW_RESOURCE_EXHAUSTED, "out of memory", NULL);
    } else {
        size_t np = catalog_search(gw->cat->cat, m->query, CATALOG_MATCH_PREFIX, pre, k);
        if (np > k)
            np = k;
        size_t ns = catalog_search(gw->cat->cat, m->query, CATALOG_MATCH_SUBSTRING, sub, 2 * k);
        if (ns > 2 * k)
            ns = 2 * k;
        size_t n = 0;
        for (size_t i = 0; i < np; i++)
            if (gw_catalog_item(gw->cat, pre[i], &items[n], &a) == 0)
                ptrs[n] = &items[n], n++;
        for (size_t i = 0; i < ns && n < k; i++) {
            bool dup = false;
            for (size_t p = 0; p < np && !dup; p++)
                dup = pre[p] == sub[i];
            if (!dup && gw_catalog_item(gw->cat, sub[i], &items[n], &a) == 0)
                ptrs[n] = &items[n], n++;
        }
        Recsys__V1__SearchItemsResponse resp = RECSYS__V1__SEARCH_ITEMS_RESPONSE__INIT;
        resp.n_items = n;
        resp.items = ptrs;
        gw_respond_message(r, &resp.base, enc);
    }
    arena_free(&a);
    protobuf_c_message_free_unpacked(&m->base, NULL);
}

typedef struct fb_call {
    httpsrv_req_t *req;
    gw_encoding_t enc;
    Recsys__V1__AddFeedbackRequest *msg;
} fb_call_t;

/* Acknowledged only once Redis accepted the whole batch (gw_feedback.h);
 * anything else is 503 so the caller retries: feedback is never dropped. */
static void on_feedback_added(void *arg, const char *const *ids, size_t n, const char *error)
{
    fb_call_t *c = arg;
    if (error != NULL || ids == NULL) {
        char msg[300];
        snprintf(msg, sizeof msg, "feedback not recorded: %s; retry later", error != NULL ? error : "no ids");
        gw_respond_error(c->req, GW_UNAVAILABLE, msg, NULL);
    } else {
        Recsys__V1__AddFeedbackResponse resp = RECSYS__V1__ADD_FEEDBACK_RESPONSE__INIT;
        resp.accepted = (int32_t)n;
        resp.n_stream_ids = n;
        resp.stream_ids = (char **)ids;
        gw_respond_message(c->req, &resp.base, c->enc);
    }
    protobuf_c_message_free_unpacked(&c->msg->base, NULL);
    free(c);
}

/* Takes ownership of m. */
static void add_feedback(gw_t *gw, httpsrv_req_t *r, gw_encoding_t enc, Recsys__V1__AddFeedbackRequest *m)
{
    err_t err;
    if (gw->rank.feedback == NULL) {
        gw_respond_error(r, GW_UNAVAILABLE, "feedback store (Redis) not available: retry later", NULL);
        protobuf_c_message_free_unpacked(&m->base, NULL);
        return;
    }
    fb_call_t *c = calloc(1, sizeof *c);
    gw_feedback_event_t *ev = calloc(m->n_events, sizeof *ev);
    if (c == NULL || ev == NULL) {
        free(c);
        free(ev);
        gw_respond_error(r, GW_RESOURCE_EXHAUSTED, "out of memory", NULL);
        protobuf_c_message_free_unpacked(&m->base, NULL);
        return;
    }
    for (size_t i = 0; i < m->n_events; i++) {
        const Recsys__V1__FeedbackEvent *e = m->events[i];
        ev[i] = (gw_feedback_event_t){e->user_id, e->item_id, e->rating, (int)e->type, e->timestamp_ms};
    }
    *c = (fb_call_t){r, enc, m};
    int rc = gw_feedback_add(gw->rank.feedback, ev, m->n_events, on_feedback_added, c, &err);
    free(ev);
    if (rc != 0) {
        gw_respond_error(r, GW_INVALID_ARGUMENT, err.msg, NULL);
        protobuf_c_message_free_unpacked(&m->base, NULL);
        free(c);
    }
}

static void do_feedback(gw_t *gw, httpsrv_req_t *r, gw_encoding_t enc, Recsys__V1__AddFeedbackRequest *m)
{
    err_t err;
    char rid[72];
    request_id(gw, r, rid, sizeof rid);
    (void)enc;
    if (!authorized(gw, r)) {
        httpsrv_req_add_header(r, "WWW-Authenticate", "Bearer");
        gw_respond_error(r, GW_UNAUTHENTICATED, "writes need 'Authorization: Bearer <api key>'", NULL);
    } else if (gw_check_feedback(m, &gw->limits, &err) != 0) {
        gw_respond_error(r, GW_INVALID_ARGUMENT, err.msg, NULL);
    } else {
        size_t bad = SIZE_MAX;
        for (size_t i = 0; i < m->n_events && bad == SIZE_MAX; i++)
            if (gw_catalog_find(gw->cat, m->events[i]->item_id) == UINT32_MAX)
                bad = i;
        if (bad != SIZE_MAX) {
            char msg[200];
            snprintf(msg, sizeof msg, "events[%zu].item_id: unknown item '%.80s'", bad, m->events[bad]->item_id);
            gw_respond_error(r, GW_INVALID_ARGUMENT, msg, NULL);
        } else {
            add_feedback(gw, r, enc, m);
            return;
        }
    }
    protobuf_c_message_free_unpacked(&m->base, NULL);
}

static void run_method(gw_t *gw, gw_method_t method, httpsrv_req_t *r, gw_encoding_t enc, ProtobufCMessage *m)
{
    switch (method) {
    case GW_M_RECOMMEND: gw_rank_recommend(&gw->rank, r, enc, (Recsys__V1__RecommendRequest *)m); break;
    case GW_M_SIMILAR: gw_rank_similar(&gw->rank, r, enc, (Recsys__V1__SimilarItemsRequest *)m); break;
    case GW_M_SCORE: gw_rank_score(&gw->rank, r, enc, (Recsys__V1__ScoreRequest *)m); break;
    case GW_M_FEEDBACK: do_feedback(gw, r, enc, (Recsys__V1__AddFeedbackRequest *)m); break;
    case GW_M_GET_ITEM: do_get_item(gw, r, enc, (Recsys__V1__GetItemRequest *)m); break;
    case GW_M_SEARCH: do_search(gw, r, enc, (Recsys__V1__SearchItemsRequest *)m); break;
    default: protobuf_c_message_free_unpacked(m, NULL); gw_respond_error(r, GW_INTERNAL, "no such method", NULL);
    }
}

/* ------------------------------------------------------------ routes */

typedef struct route_ud {
    gw_t *gw;
    gw_method_t method;
} route_ud_t;


static void on_twirp(httpsrv_req_t *r, void *ud)
{
    route_ud_t *ru = ud;
    gw_t *gw = ru->gw;
    const httpreq_t *h = httpsrv_req_http(r);
    gw_encoding_t enc;
    const char *ct = httpreq_header(h, "Content-Type");
    if (gw_content_type(ct, &enc) != 0) {
        char msg[200];
        snprintf(msg, sizeof msg, "unexpected Content-Type: \"%.60s\" (use application/json or application/protobuf)",
                 ct != NULL ? ct : "");
        const char *meta[] = {"twirp_invalid_route", "POST", NULL};
        gw_respond_error(r, GW_BAD_ROUTE, msg, meta);
        return;
    }
    err_t err;
    ProtobufCMessage *m = gw_decode(method_input[ru->method], enc, h->body, h->body_len, &gw->json_lim, &err);
    if (m == NULL) {
        gw_respond_error(r, GW_MALFORMED, err.msg, NULL);
        return;
    }
    run_method(gw, ru->method, r, enc, m);
}

/* /recsys.v1.Recommender/<Method>: the same methods as Twirp protobuf; the
 * message is only unwrapped from gRPC's frame first (gw_grpc.h), and the
 * answer wrapped again by gw_respond_* seeing a gRPC request. */
static void on_grpc(httpsrv_req_t *r, void *ud)
{
    route_ud_t *ru = ud;
    gw_t *gw = ru->gw;
    const char *body;
    size_t len;
    if (gw_grpc_unwrap(r, &body, &len) != 0)
        return;
    err_t err;
    ProtobufCMessage *m = gw_decode(method_input[ru->method], GW_ENC_PROTO, body, len, &gw->json_lim, &err);
    if (m == NULL) {
        gw_respond_error(r, GW_MALFORMED, err.msg, NULL);
        return;
    }
    run_method(gw, ru->method, r, GW_ENC_PROTO, m);
}

static void on_rest_recommend(httpsrv_req_t *r, void *ud)
{
    err_t err;
    Recsys__V1__RecommendRequest *m = gw_rest_recommend(httpsrv_req_param(r, "id"), httpsrv_req_http(r), &err);
    if (m == NULL)
        gw_respond_error(r, GW_INVALID_ARGUMENT, err.msg, NULL);
    else
        gw_rank_recommend(&((gw_t *)ud)->rank, r, GW_ENC_JSON, m);
}

static void on_rest_similar(httpsrv_req_t *r, void *ud)
{
    err_t err;
    Recsys__V1__SimilarItemsRequest *m = gw_rest_similar(httpsrv_req_param(r, "id"), httpsrv_req_http(r), &err);
    if (m == NULL)
        gw_respond_error(r, GW_INVALID_ARGUMENT, err.msg, NULL);
    else
        gw_rank_similar(&((gw_t *)ud)->rank, r, GW_ENC_JSON, m);
}

static void on_rest_item(httpsrv_req_t *r, void *ud)
{
    Recsys__V1__GetItemRequest tmp = RECSYS__V1__GET_ITEM_REQUEST__INIT;
    tmp.item_id = (char *)httpsrv_req_param(r, "id");
    size_t n = recsys__v1__get_item_request__get_packed_size(&tmp);
    uint8_t *buf = malloc(n ? n : 1);
    Recsys__V1__GetItemRequest *m = NULL;
    if (buf != NULL) {
        recsys__v1__get_item_request__pack(&tmp, buf);
        m = recsys__v1__get_item_request__unpack(NULL, n, buf);
        free(buf);
    }
    if (m == NULL)
        gw_respond_error(r, GW_RESOURCE_EXHAUSTED, "out of memory", NULL);
    else
        do_get_item(ud, r, GW_ENC_JSON, m);
}

static void on_rest_search(httpsrv_req_t *r, void *ud)
{
    err_t err;
    Recsys__V1__SearchItemsRequest *m = gw_rest_search(httpsrv_req_http(r), &err);
    if (m == NULL)
        gw_respond_error(r, GW_INVALID_ARGUMENT, err.msg, NULL);
    else
        do_search(ud, r, GW_ENC_JSON, m);
}

static void on_rest_feedback(httpsrv_req_t *r, void *ud)
{
    gw_t *gw = ud;
    const httpreq_t *h = httpsrv_req_http(r);
    gw_encoding_t enc;
    if (gw_content_type(httpreq_header(h, "Content-Type"), &enc) != 0 || enc != GW_ENC_JSON) {
        gw_respond_error(r, GW_INVALID_ARGUMENT, "POST /v1/feedback takes Content-Type: application/json", NULL);
        return;
    }
    err_t err;
    ProtobufCMessage *m = gw_decode(&recsys__v1__add_feedback_request__descriptor, GW_ENC_JSON, h->body,
                                    h->body_len, &gw->json_lim, &err);
    if (m == NULL) {
        gw_respond_error(r, GW_MALFORMED, err.msg, NULL);
        return;
    }
    do_feedback(gw, r, GW_ENC_JSON, (Recsys__V1__AddFeedbackRequest *)m);
}

static void on_fallback(httpsrv_req_t *r, void *ud)
{
    (void)ud;
    const httpreq_t *h = httpsrv_req_http(r);
    const char *allow = httpsrv_req_allow(r);
    char msg[300];
    if (allow != NULL) {
        httpsrv_req_add_header(r, "Allow", allow);
        snprintf(msg, sizeof msg, "unsupported method %s for %.120s (allowed: %s)", h->method, h->path, allow);
    } else {
        snprintf(msg, sizeof msg, "no route for %s %.200s", h->method, h->path);
    }
    const char *meta[] = {"twirp_invalid_route", h->method, NULL};
    gw_respond_error(r, GW_BAD_ROUTE, msg, meta);
}

/* ------------------------------------------------------------ life cycle */

static int setup_metrics(gw_t *gw, err_t *err)
{
    if (gw->reg == NULL)
        return 0;
    const char *ml[] = {"method", NULL};
    metrics_family_t *deg = metrics_counter_family(gw->reg, "recsys_gateway_degraded_total",
                                                   "Answers flagged degraded (a model was missing), by method.", ml, err);
    const char *fl[] = {"method", "reason", NULL};
    metrics_family_t *fb = metrics_counter_family(
        gw->reg, "recsys_gateway_popularity_fallback_total",
        "Answers from popularity alone, by method and reason: cold_start (nothing to personalise, not degraded) "
        "or no_model (the models asked failed, degraded).",
        fl, err);
    metrics_family_t *lat = metrics_histogram_family(gw->reg, "recsys_gateway_rank_seconds",
                                                     "Time from request to ranked answer (fan-out + blend), by method.",
                                                     ml, NULL, 0, err);
    if (deg == NULL || fb == NULL || lat == NULL)
        return -1;
    for (int m = 0; m < GW_NMETHODS; m++) {
        const char *l[] = {gw_method_names[m]};
        gw->degraded[m] = metrics_counter_get(deg, l);
        static const char *const reasons[GW_FALLBACK_NREASONS] = {"cold_start", "no_model"};
        for (int x = 0; x < GW_FALLBACK_NREASONS; x++) {
            const char *lr[] = {gw_method_names[m], reasons[x]};
            gw->fallback[m][x] = metrics_counter_get(fb, lr);
        }
        gw->latency[m] = metrics_histogram_get(lat, l);
    }
    static const gw_method_t ranked[GW_RANK_NKINDS] = {GW_M_RECOMMEND, GW_M_SIMILAR, GW_M_SCORE};
    for (int k = 0; k < GW_RANK_NKINDS; k++) {
        gw->rank.degraded[k] = gw->degraded[ranked[k]];
        for (int x = 0; x < GW_FALLBACK_NREASONS; x++)
            gw->rank.fallback[k][x] = gw->fallback[ranked[k]][x];
        gw->rank.latency[k] = gw->latency[ranked[k]];
    }
    return 0;
}

static double redis_up(void *ud)
{
    const gw_t *gw = ud;
    return gw->redis != NULL && redisuv_connected(gw->redis) ? 1 : 0;
}

gw_t *gw_new(uv_loop_t *loop, const cfg_t *cfg, gw_catalog_t *cat, metrics_registry_t *reg, err_t *err)
{
    gw_t *gw = calloc(1, sizeof *gw);
    if (gw == NULL) {
        gw_catalog_free(cat);
        err_set(err, "out of memory");
        return NULL;
    }
    gw->loop = loop;
    gw->cfg = cfg;
    gw->cat = cat;
    gw->reg = reg;
    gw->pid = (unsigned)getpid();
    gw->api_key = cfg_str(cfg, "api-key");
    gw->grpc_svc = (gw_grpc_svc_t){.ready = gw_ready, .ud = gw, .loop = loop, .watch_ms = 1000};
    gw->rank = (gw_rank_t){.cat = cat, .workers = &gw->workers, .limits = &gw->limits, .blend = &gw->blend,
                           .request_id = rank_request_id, .request_id_ud = gw};
    pbjson_opts_t jo;
    pbjson_setup_cfg(cfg, &jo, &gw->json_lim);
    httpsrv_config_t hc;
    if (gw_limits_from_cfg(cfg, &gw->limits, err) != 0 || blend_params_from_cfg(cfg, &gw->blend, err) != 0 ||
        httpsrv_config_from_cfg(&hc, cfg, err) != 0 || setup_metrics(gw, err) != 0) {
        gw_free(gw);
        return NULL;
    }
    hc.metrics = reg;
    gw->http = httpsrv_new(loop, &hc, err);
    if (gw->http == NULL) {
        gw_free(gw);
        return NULL;
    }
    static const char *const paths[GW_NMETHODS] = {
        "/twirp/recsys.v1.Recommender/Recommend", "/twirp/recsys.v1.Recommender/SimilarItems",
        "/twirp/recsys.v1.Recommender/Score",     "/twirp/recsys.v1.Recommender/AddFeedback",
        "/twirp/recsys.v1.Recommender/GetItem",   "/twirp/recsys.v1.Recommender/SearchItems",
    };
    route_ud_t *uds = calloc(GW_NMETHODS, sizeof *uds);
    char gpath[80];
    if (uds == NULL) {
        gw_free(gw);
        err_set(err, "out of memory");
        return NULL;
    }
    gw->route_uds = uds;
    int rc = 0;
    for (int m = 0; m < GW_NMETHODS && rc == 0; m++) {
        uds[m] = (route_ud_t){gw, (gw_method_t)m};
        rc = httpsrv_route(gw->http, "POST", paths[m], on_twirp, &uds[m], err);
        snprintf(gpath, sizeof gpath, "/recsys.v1.Recommender/%s", gw_method_names[m]);
        if (rc == 0)
            rc = httpsrv_route(gw->http, "POST", gpath, on_grpc, &uds[m], err);
    }
    if (rc != 0 || httpsrv_route(gw->http, "GET", "/v1/users/{id}/recommendations", on_rest_recommend, gw, err) != 0 ||
        httpsrv_route(gw->http, "GET", "/v1/items/{id}/similar", on_rest_similar, gw, err) != 0 ||
        httpsrv_route(gw->http, "GET", "/v1/items/{id}", on_rest_item, gw, err) != 0 ||
        httpsrv_route(gw->http, "GET", "/v1/items", on_rest_search, gw, err) != 0 ||
        httpsrv_route(gw->http, "POST", "/v1/feedback", on_rest_feedback, gw, err) != 0 ||
        gw_static_routes(gw->http, cfg, err) != 0 ||
        gw_grpc_svc_register(gw->http, &gw->grpc_svc, err) != 0) {
        gw_free(gw);
        return NULL;
    }
    httpsrv_set_fallback(gw->http, on_fallback, gw);
    if (gw_workers_start(&gw->workers, loop, cfg, reg, err) != 0) {
        gw_free(gw);
        return NULL;
    }
    gw->workers_started = true;
    /* Redis connects in the background and retries forever: a gateway
     * without Redis answers uncached and refuses feedback (503). */
    redisuv_opts_t ro;
    if (redisuv_opts_from_cfg(cfg, &ro, err) != 0 || redisuv_new(loop, &ro, &gw->redis, err) != 0) {
        /* Bad Redis options (e.g. a host that does not resolve) leave the
         * gateway serving uncached, as with Redis down, and say so. */
        log_kv(LOG_ERROR, "redis not set up: answering uncached, refusing feedback", "error", err->msg, NULL);
        gw->redis = NULL;
    }
    if (reg != NULL) {
        metrics_family_t *up = metrics_gauge_family(reg, "recsys_gateway_redis_up",
                                                    "1 while the Redis connection is ready.", NULL, err);
        if (up == NULL || metrics_func(up, NULL, redis_up, gw, err) != 0)
            log_kv(LOG_WARN, "redis metric not registered", "error", err->msg, NULL);
    }
    gw_cache_opts_t co;
    if (gw->redis != NULL &&
        (gw_cache_opts_from_cfg(cfg, &co, err) != 0 || gw_cache_new(gw->redis, &co, reg, &gw->rank.cache, err) != 0)) {
        log_kv(LOG_ERROR, "cache not set up: answering uncached", "error", err->msg, NULL);
        gw->rank.cache = NULL;
    }
    gw_feedback_opts_t fo;
    gw->rank.recent_max = (int)cfg_int(cfg, "feedback-fold-in");
    gw->rank.content_history_max = (size_t)cfg_int(cfg, "content-history-max");
    if (gw->redis != NULL && (gw_feedback_opts_from_cfg(cfg, &fo, err) != 0 ||
                              gw_feedback_new(gw->redis, gw->rank.cache, &fo, reg, &gw->rank.feedback, err) != 0)) {
        log_kv(LOG_ERROR, "feedback store not set up: refusing feedback", "error", err->msg, NULL);
        gw->rank.feedback = NULL;
    }
    return gw;
}

int gw_listen(gw_t *gw, const char *host, int port, err_t *err)
{
    return httpsrv_listen(gw->http, host, port, err);
}

int gw_port(const gw_t *gw)
{
    return httpsrv_port(gw->http);
}

bool gw_ready(void *ud, char *reason, size_t size)
{
    gw_t *gw = ud;
    if (gw->stopping) {
        snprintf(reason, size, "shutting down");
        return false;
    }
    return gw_workers_ready(&gw->workers, reason, size);
}

static void redis_closed(void *ud)
{
    gw_t *gw = ud;
    gw->redis = NULL;
    if (gw->stopped != NULL)
        gw->stopped(gw->stopped_ud);
}

/* Redis goes last (STACK_NOTES.md's shutdown order): requests in flight
 * may still write to it until the worker replies are in. */
static void workers_closed(void *ud)
{
    gw_t *gw = ud;
    gw_feedback_free(gw->rank.feedback);
    gw->rank.feedback = NULL;
    gw_cache_free(gw->rank.cache);
    gw->rank.cache = NULL;
    if (gw->redis != NULL)
        redisuv_close(gw->redis, redis_closed, gw);
    else
        redis_closed(gw);
}

static void http_stopped(httpsrv_t *srv, void *ud)
{
    (void)srv;
    gw_t *gw = ud;
    if (gw->workers_started)
        gw_workers_close(&gw->workers, workers_closed, gw);
    else
        workers_closed(gw);
}

void gw_stop(gw_t *gw, void (*done)(void *ud), void *ud)
{
    if (gw->stopping)
        return;
    gw->stopping = true;
    gw->stopped = done;
    gw->stopped_ud = ud;
    gw_grpc_svc_stop(&gw->grpc_svc);
    httpsrv_stop(gw->http, http_stopped, gw);
}

void gw_free(gw_t *gw)
{
    if (gw == NULL)
        return;
    httpsrv_free(gw->http);
    free(gw->route_uds);
    gw_catalog_free(gw->cat);
    free(gw);
}
