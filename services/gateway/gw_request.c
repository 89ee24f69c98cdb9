/*
 * gw_request.c: request checks and REST parameter parsing (see gw_request.h).
 */
#include "services/gateway/gw_request.h"

#include <errno.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/base/arena.h"

const cfg_option_t gw_limits_options[] = {
    {"k-default", CFG_INT, "10", "Items answered when a request's k is 0.", 1, 10000},
    {"k-max", CFG_INT, "200", "Largest k a request may ask for (larger: invalid_argument).", 1, 100000},
    {"max-history", CFG_INT, "1000", "Most history events in one request.", 1, 1000000},
    {"max-candidates", CFG_INT, "1000", "Most candidate items in one Score request.", 1, 1000000},
    {"max-feedback-events", CFG_INT, "500", "Most events in one AddFeedback request.", 1, 1000000},
    {"max-filter-values", CFG_INT, "1000", "Most genres plus excluded ids in one request's filters.", 1, 1000000},
    {"max-id-bytes", CFG_INT, "256", "Longest user or item id, in bytes.", 1, 65536},
    {"max-query-bytes", CFG_INT, "256", "Longest SearchItems query, in bytes.", 1, 65536},
    CFG_END,
};

void gw_limits_default(gw_limits_t *l)
{
    *l = (gw_limits_t){10, 200, 1000, 1000, 500, 1000, 256, 256};
}

int gw_limits_from_cfg(const cfg_t *cfg, gw_limits_t *l, err_t *err)
{
    l->k_default = (int)cfg_int(cfg, "k-default");
    l->k_max = (int)cfg_int(cfg, "k-max");
    l->max_history = (int)cfg_int(cfg, "max-history");
    l->max_candidates = (int)cfg_int(cfg, "max-candidates");
    l->max_events = (int)cfg_int(cfg, "max-feedback-events");
    l->max_filter_values = (int)cfg_int(cfg, "max-filter-values");
    l->max_id_bytes = (int)cfg_int(cfg, "max-id-bytes");
    l->max_query_bytes = (int)cfg_int(cfg, "max-query-bytes");
    if (l->k_default > l->k_max)
        return err_set(err, "k-default %d is larger than k-max %d", l->k_default, l->k_max);
    return 0;
}

int gw_effective_k(int k, const gw_limits_t *l)
{
    return k == 0 ? l->k_default : k;
}

static int check_k(int k, const gw_limits_t *l, err_t *err)
{
    if (k < 0)
        return err_set(err, "k: must not be negative (got %d)", k);
    if (k > l->k_max)
        return err_set(err, "k: %d exceeds the maximum of %d", k, l->k_max);
    return 0;
}

static int check_id(const char *name, const char *id, bool required, const gw_limits_t *l, err_t *err)
{
    size_t n = id != NULL ? strlen(id) : 0;
    if (n == 0 && required)
        return err_set(err, "%s: required", name);
    if (n > (size_t)l->max_id_bytes)
        return err_set(err, "%s: %zu bytes exceed the maximum of %d", name, n, l->max_id_bytes);
    return 0;
}

static int check_rating(const char *name, float r, int type, err_t *err)
{
    if (!isfinite(r) || r < 0 || r > 10)
        return err_set(err, "%s.rating: must be a finite number in [0, 10]", name);
    if (type < 0 || type > RECSYS__V1__EVENT_TYPE__EVENT_TYPE_DISLIKE)
        return err_set(err, "%s.type: unknown event type %d", name, type);
    return 0;
}

#define NAMEF(buf, ...) (snprintf(buf, sizeof buf, __VA_ARGS__), buf)

static int check_history(Recsys__V1__HistoryEvent *const *h, size_t n, const gw_limits_t *l, err_t *err)
{
    if (n > (size_t)l->max_history)
        return err_set(err, "history: %zu events exceed the maximum of %d", n, l->max_history);
    for (size_t i = 0; i < n; i++) {
        char nm[64], ev[64];
        if (check_id(NAMEF(nm, "history[%zu].item_id", i), h[i]->item_id, true, l, err) != 0)
            return -1;
        if (check_rating(NAMEF(ev, "history[%zu]", i), h[i]->rating, (int)h[i]->type, err) != 0)
            return -1;
    }
    return 0;
}

static int check_filters(const Recsys__V1__Filters *f, const gw_limits_t *l, err_t *err)
{
    if (f == NULL)
        return 0;
    size_t n = f->n_genres + f->n_exclude_item_ids;
    if (n > (size_t)l->max_filter_values)
        return err_set(err, "filters: %zu genres and excluded ids exceed the maximum of %d", n,
                       l->max_filter_values);
    char nm[64];
    for (size_t i = 0; i < f->n_genres; i++)
        if (check_id(NAMEF(nm, "filters.genres[%zu]", i), f->genres[i], true, l, err) != 0)
            return -1;
    for (size_t i = 0; i < f->n_exclude_item_ids; i++)
        if (check_id(NAMEF(nm, "filters.exclude_item_ids[%zu]", i), f->exclude_item_ids[i], true, l, err) != 0)
            return -1;
    if (f->year_min < 0 || f->year_max < 0)
        return err_set(err, "filters: years must not be negative");
    return 0;
}

static int check_weights(const Recsys__V1__BlendWeights *w, err_t *err)
{
    if (w == NULL)
        return 0;
    float v[3] = {w->content, w->cf, w->popularity};
    for (int i = 0; i < 3; i++)
        if (!isfinite(v[i]) || v[i] < 0)
            return err_set(err, "weights: must be finite and non-negative");
    return 0;
}

int gw_check_recommend(const Recsys__V1__RecommendRequest *r, const gw_limits_t *l, err_t *err)
{
    if (check_id("user_id", r->user_id, false, l, err) != 0 || check_k(r->k, l, err) != 0 ||
        check_history(r->history, r->n_history, l, err) != 0 || check_filters(r->filters, l, err) != 0 ||
        check_weights(r->weights, err) != 0)
        return -1;
    if ((r->user_id == NULL || r->user_id[0] == '\0') && r->n_history == 0)
        return err_set(err, "user_id or history: one is required");
    return 0;
}

int gw_check_similar(const Recsys__V1__SimilarItemsRequest *r, const gw_limits_t *l, err_t *err)
{
    if (check_id("item_id", r->item_id, true, l, err) != 0 || check_k(r->k, l, err) != 0 ||
        check_filters(r->filters, l, err) != 0)
        return -1;
    if ((int)r->mode < 0 || r->mode > RECSYS__V1__SIMILARITY_MODE__SIMILARITY_MODE_BLEND)
        return err_set(err, "mode: unknown similarity mode %d", (int)r->mode);
    return 0;
}

int gw_check_score(const Recsys__V1__ScoreRequest *r, const gw_limits_t *l, err_t *err)
{
    if (check_id("user_id", r->user_id, false, l, err) != 0 ||
        check_history(r->history, r->n_history, l, err) != 0 || check_weights(r->weights, err) != 0)
        return -1;
    if (r->n_candidate_item_ids == 0)
        return err_set(err, "candidate_item_ids: required");
    if (r->n_candidate_item_ids > (size_t)l->max_candidates)
        return err_set(err, "candidate_item_ids: %zu candidates exceed the maximum of %d", r->n_candidate_item_ids,
                       l->max_candidates);
    char nm[64];
    for (size_t i = 0; i < r->n_candidate_item_ids; i++)
        if (check_id(NAMEF(nm, "candidate_item_ids[%zu]", i), r->candidate_item_ids[i], true, l, err) != 0)
            return -1;
    return 0;
}

int gw_check_feedback(const Recsys__V1__AddFeedbackRequest *r, const gw_limits_t *l, err_t *err)
{
    if (r->n_events == 0)
        return err_set(err, "events: at least one event is required");
    if (r->n_events > (size_t)l->max_events)
        return err_set(err, "events: %zu events exceed the maximum of %d", r->n_events, l->max_events);
    for (size_t i = 0; i < r->n_events; i++) {
        const Recsys__V1__FeedbackEvent *e = r->events[i];
        char nu[64], ni[64], ne[64];
        if (check_id(NAMEF(nu, "events[%zu].user_id", i), e->user_id, true, l, err) != 0 ||
            check_id(NAMEF(ni, "events[%zu].item_id", i), e->item_id, true, l, err) != 0 ||
            check_rating(NAMEF(ne, "events[%zu]", i), e->rating, (int)e->type, err) != 0)
            return -1;
        if (e->timestamp_ms < 0)
            return err_set(err, "events[%zu].timestamp_ms: must not be negative", i);
    }
    return 0;
}

int gw_check_get_item(const Recsys__V1__GetItemRequest *r, const gw_limits_t *l, err_t *err)
{
    return check_id("item_id", r->item_id, true, l, err);
}

int gw_check_search(const Recsys__V1__SearchItemsRequest *r, const gw_limits_t *l, err_t *err)
{
    size_t n = r->query != NULL ? strlen(r->query) : 0;
    if (n == 0)
        return err_set(err, "query: required");
    if (n > (size_t)l->max_query_bytes)
        return err_set(err, "query: %zu bytes exceed the maximum of %d", n, l->max_query_bytes);
    return check_k(r->k, l, err);
}

/* ------------------------------------------------------------ REST */

static int parse_int(const httpreq_t *h, const char *name, int *out, err_t *err)
{
    const char *v = httpreq_param(h, name);
    if (v == NULL)
        return 0;
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (v[0] == '\0' || *end != '\0' || errno != 0 || x < -2147483647L || x > 2147483647L)
        return err_set(err, "%s: expected an integer, got '%.40s'", name, v);
    *out = (int)x;
    return 0;
}

static int parse_bool(const httpreq_t *h, const char *name, protobuf_c_boolean *out, err_t *err)
{
    const char *v = httpreq_param(h, name);
    if (v == NULL)
        return 0;
    if (v[0] == '\0' || !strcasecmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes")) {
        *out = 1;
        return 0;
    }
    if (!strcasecmp(v, "0") || !strcasecmp(v, "false") || !strcasecmp(v, "no")) {
        *out = 0;
        return 0;
    }
    return err_set(err, "%s: expected true or false, got '%.40s'", name, v);
}

/* Every comma-separated value of every parameter `name`, in the arena. */
static char **parse_list(const httpreq_t *h, const char *name, size_t *n, arena_t *a)
{
    size_t cap = 0;
    for (size_t i = 0; i < h->nparams; i++)
        if (strcmp(h->params[i].name, name) == 0) {
            cap++;
            for (const char *p = h->params[i].value; *p; p++)
                cap += *p == ',';
        }
    *n = 0;
    if (cap == 0)
        return NULL;
    char **v = arena_alloc(a, cap * sizeof *v);
    if (v == NULL)
        return NULL;
    for (size_t i = 0; i < h->nparams; i++) {
        if (strcmp(h->params[i].name, name) != 0)
            continue;
        const char *p = h->params[i].value;
        for (;;) {
            const char *c = strchr(p, ',');
            size_t len = c != NULL ? (size_t)(c - p) : strlen(p);
            if (len > 0)
                v[(*n)++] = arena_strndup(a, p, len);
            if (c == NULL)
                break;
            p = c + 1;
        }
    }
    return v;
}

static int parse_filters(const httpreq_t *h, Recsys__V1__Filters *f, arena_t *a, err_t *err)
{
    f->genres = parse_list(h, "genre", &f->n_genres, a);
    f->exclude_item_ids = parse_list(h, "exclude", &f->n_exclude_item_ids, a);
    if (parse_int(h, "year_min", &f->year_min, err) != 0 || parse_int(h, "year_max", &f->year_max, err) != 0 ||
        parse_bool(h, "include_seen", &f->include_seen, err) != 0)
        return -1;
    return 0;
}

/* Packs m and unpacks it, so the caller owns a protobuf-c allocated copy. */
static ProtobufCMessage *repack(const ProtobufCMessage *m, err_t *err)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(n ? n : 1);
    if (buf == NULL) {
        err_set(err, "out of memory");
        return NULL;
    }
    protobuf_c_message_pack(m, buf);
    ProtobufCMessage *out = protobuf_c_message_unpack(m->descriptor, NULL, n, buf);
    free(buf);
    if (out == NULL)
        err_set(err, "out of memory");
    return out;
}

Recsys__V1__RecommendRequest *gw_rest_recommend(const char *user_id, const httpreq_t *h, err_t *err)
{
    arena_t a;
    arena_init(&a);
    Recsys__V1__RecommendRequest r = RECSYS__V1__RECOMMEND_REQUEST__INIT;
    Recsys__V1__Filters f = RECSYS__V1__FILTERS__INIT;
    r.user_id = (char *)user_id;
    r.filters = &f;
    ProtobufCMessage *out = NULL;
    if (parse_int(h, "k", &r.k, err) == 0 && parse_bool(h, "explain", &r.explain, err) == 0 &&
        parse_filters(h, &f, &a, err) == 0)
        out = repack(&r.base, err);
    arena_free(&a);
    return (Recsys__V1__RecommendRequest *)out;
}

Recsys__V1__SimilarItemsRequest *gw_rest_similar(const char *item_id, const httpreq_t *h, err_t *err)
{
    arena_t a;
    arena_init(&a);
    Recsys__V1__SimilarItemsRequest r = RECSYS__V1__SIMILAR_ITEMS_REQUEST__INIT;
    Recsys__V1__Filters f = RECSYS__V1__FILTERS__INIT;
    r.item_id = (char *)item_id;
    r.filters = &f;
    ProtobufCMessage *out = NULL;
    const char *mode = httpreq_param(h, "mode");
    if (mode == NULL || mode[0] == '\0' || !strcasecmp(mode, "blend") || !strcasecmp(mode, "hybrid"))
        r.mode = RECSYS__V1__SIMILARITY_MODE__SIMILARITY_MODE_BLEND;
    else if (!strcasecmp(mode, "content"))
        r.mode = RECSYS__V1__SIMILARITY_MODE__SIMILARITY_MODE_CONTENT;
    else if (!strcasecmp(mode, "behaviour") || !strcasecmp(mode, "behavior") || !strcasecmp(mode, "cf"))
        r.mode = RECSYS__V1__SIMILARITY_MODE__SIMILARITY_MODE_BEHAVIOUR;
    else {
        err_set(err, "mode: expected content, behaviour or blend, got '%.40s'", mode);
        arena_free(&a);
        return NULL;
    }
    if (parse_int(h, "k", &r.k, err) == 0 && parse_bool(h, "explain", &r.explain, err) == 0 &&
        parse_filters(h, &f, &a, err) == 0)
        out = repack(&r.base, err);
    arena_free(&a);
    return (Recsys__V1__SimilarItemsRequest *)out;
}

Recsys__V1__SearchItemsRequest *gw_rest_search(const httpreq_t *h, err_t *err)
{
    Recsys__V1__SearchItemsRequest r = RECSYS__V1__SEARCH_ITEMS_REQUEST__INIT;
    const char *q = httpreq_param(h, "q");
    r.query = (char *)(q != NULL ? q : "");
    if (parse_int(h, "k", &r.k, err) != 0)
        return NULL;
    return (Recsys__V1__SearchItemsRequest *)repack(&r.base, err);
}
