/*
 * gw_rank.c: Recommend, SimilarItems and Score: fan-out to both workers,
 * blend, filters, titles, explanations.
 *
 * One job per request. It asks each worker it needs at once (gw_workers.h,
 * each with its own deadline) and finishes when the last reply, error or
 * timeout is in. Each worker's list is mapped to catalog indices, filtered
 * again by the gateway (the workers filter too; the gateway's check makes
 * the answer right whatever a worker did) and fused with common/math/blend.h,
 * the evaluator's own blend, next to a popularity list computed here. A
 * worker that failed contributes an empty list and a reason in
 * degraded_reasons; when none answered, the blend falls back to popularity
 * by itself (blend.h step 1), flagged too.
 *
 * Worker requests are built from fresh structs, never by re-packing pieces
 * of the client's message: unknown fields in it would be re-emitted, and
 * protobuf-c 1.4.1 re-packs a field-0 unknown field in a form it then
 * refuses (tests/unit/test_proto.c, test_field_zero_quirk).
 *
 * The user's history (stored ratings, request events, recent feedback) is
 * assembled once per request in a gw_history_t (gw_history.h) that the CF
 * request, the content request and the blend all read; the cache's key and
 * stored answers are gw_cache_codec.h's.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "services/gateway/gw_rank.h"

#include "common/base/arena.h"
#include "common/base/log.h"
#include "services/gateway/gw_cache_codec.h"
#include "services/gateway/gw_grpc.h"
#include "services/gateway/gw_history.h"

typedef struct worker_res {
    bool asked, ok;
    uint32_t *keys;
    float *scores;
    uint32_t *because; /* catalog index of the explaining item, UINT32_MAX when none */
    size_t n;
    int history_used;
    char version[128];
    uint64_t call_id; /* the call in flight, 0 when none */
} worker_res_t;

typedef struct rank_job {
    gw_rank_t *rk;
    httpsrv_req_t *req;
    gw_encoding_t enc;
    gw_rank_kind_t kind;
    ProtobufCMessage *in;
    arena_t arena;
    filter_t filter;
    int k;
    bool explain;
    uint32_t query_item;   /* SimilarItems */
    uint32_t *cand;        /* Score: known candidates */
    size_t ncand;
    uint8_t *cand_mark;    /* Score: [catalog size] 1 for a candidate */
    char **unknown;        /* Score: unknown candidate ids */
    size_t nunknown;
    gw_history_t hist;     /* the user's history: worker requests and the blend's length */
    blend_weights_t override;
    bool has_override;
    int pending;
    worker_res_t res[GW_NWORKERS];
    char *reasons[8];
    size_t nreasons;
    char request_id[72];
    uint64_t t0;
    uint8_t *negative;         /* [catalog size] negative feedback items (gw_history_negatives); NULL: none known */
    size_t nnegative;          /* distinct negative items of the history (left out of the blend's length) */
    gw_cache_flight_t *flight; /* set while this job computes a cache flight */
    bool computes;             /* this job ran a flight's computation */
} rank_job_t;

/* How many entries each source contributes to the fusion: the blend's depth
 * (the value the evaluator measures with), or k when k is larger, so an
 * answer's top items do not depend on how many were asked for. */
static size_t fuse_depth(const rank_job_t *j)
{
    size_t d = j->rk->blend->depth, k = (size_t)j->k;
    return k > d ? k : d;
}

static void job_reason(rank_job_t *j, const char *text)
{
    if (j->nreasons < sizeof j->reasons / sizeof j->reasons[0])
        j->reasons[j->nreasons++] = arena_strdup(&j->arena, text);
}

static void job_free(rank_job_t *j)
{
    if (j->in != NULL)
        protobuf_c_message_free_unpacked(j->in, NULL);
    arena_free(&j->arena);
    free(j);
}

static rank_job_t *job_new(gw_rank_t *rk, httpsrv_req_t *r, gw_encoding_t enc, gw_rank_kind_t kind, ProtobufCMessage *in)
{
    rank_job_t *j = calloc(1, sizeof *j);
    if (j == NULL) {
        protobuf_c_message_free_unpacked(in, NULL);
        gw_respond_error(r, GW_RESOURCE_EXHAUSTED, "out of memory", NULL);
        return NULL;
    }
    j->rk = rk;
    j->req = r;
    j->enc = enc;
    j->kind = kind;
    j->in = in;
    j->query_item = UINT32_MAX;
    j->t0 = uv_hrtime();
    arena_init(&j->arena);
    rk->request_id(rk->request_id_ud, r, j->request_id, sizeof j->request_id);
    return j;
}

static void job_fail(rank_job_t *j, gw_code_t code, const char *msg)
{
    if (j->flight != NULL) {
        /* Every request waiting on this flight (this one first) gets the error. */
        gw_cache_flight_t *f = j->flight;
        j->flight = NULL;
        gw_cache_computed(f, NULL, 0, false, msg);
    } else {
        gw_respond_error(j->req, code, msg, NULL);
    }
    job_free(j);
}

/* ------------------------------------------------------------ copies for the workers */

static Recsys__V1__Filters *copy_filters(rank_job_t *j, const Recsys__V1__Filters *f)
{
    if (f == NULL)
        return NULL;
    Recsys__V1__Filters *c = arena_alloc(&j->arena, sizeof *c);
    if (c == NULL)
        return NULL;
    recsys__v1__filters__init(c);
    c->n_genres = f->n_genres;
    c->genres = f->genres;
    c->year_min = f->year_min;
    c->year_max = f->year_max;
    c->n_exclude_item_ids = f->n_exclude_item_ids;
    c->exclude_item_ids = f->exclude_item_ids;
    c->include_seen = f->include_seen;
    return c;
}

/* ------------------------------------------------------------ worker replies */

static void finish(rank_job_t *j);

static void take_list(rank_job_t *j, worker_res_t *res, const Recsys__V1__WorkerScoredList *l)
{
    const gw_catalog_t *cat = j->rk->cat;
    size_t n = l != NULL ? l->n_items : 0;
    res->history_used = l != NULL ? l->history_used : 0;
    if (n == 0)
        return;
    res->keys = arena_alloc(&j->arena, n * sizeof(uint32_t));
    res->scores = arena_alloc(&j->arena, n * sizeof(float));
    res->because = arena_alloc(&j->arena, n * sizeof(uint32_t));
    /* Seen marks keep a key once per list (blend refuses duplicates). */
    uint8_t *seen = arena_alloc(&j->arena, gw_catalog_size(cat) ? gw_catalog_size(cat) : 1);
    if (res->keys == NULL || res->scores == NULL || res->because == NULL || seen == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        const Recsys__V1__WorkerScored *s = l->items[i];
        uint32_t it = gw_catalog_find(cat, s->item_id);
        if (it == UINT32_MAX || seen[it] || !isfinite(s->score))
            continue;
        if (j->kind != GW_RANK_SCORE && !gw_filter_pass(cat, &j->filter, it))
            continue;
        if (j->kind == GW_RANK_SCORE && !j->cand_mark[it])
            continue;
        if (j->kind == GW_RANK_SIMILAR && it == j->query_item)
            continue;
        seen[it] = 1;
        res->keys[res->n] = it;
        res->scores[res->n] = s->score;
        res->because[res->n] = gw_catalog_find(cat, s->because_item_id);
        res->n++;
    }
}

static void on_worker(gw_worker_t *w, const Recsys__V1__WorkerReply *reply, const char *reason, void *arg)
{
    rank_job_t *j = arg;
    worker_res_t *res = &j->res[w == &j->rk->workers->w[GW_CONTENT] ? GW_CONTENT : GW_CF];
    res->call_id = 0;
    if (reply == NULL) {
        job_reason(j, reason);
    } else if (reply->error != NULL &&
               reply->error->code != RECSYS__V1__WORKER_ERROR_CODE__WORKER_ERROR_CODE_NONE) {
        if (reply->error->code == RECSYS__V1__WORKER_ERROR_CODE__WORKER_ERROR_CODE_NOT_FOUND) {
            /* The model does not know the item/user: an empty answer, not a failure
             * (CF knows only rated items). */
            res->ok = true;
            snprintf(res->version, sizeof res->version, "%s", reply->model_version ? reply->model_version : "");
        } else {
            char buf[300];
            snprintf(buf, sizeof buf, "%s: %s: %s", w->name,
                     gw_code_name(gw_code_from_worker(reply->error->code)),
                     reply->error->message ? reply->error->message : "");
            job_reason(j, buf);
        }
    } else if (reply->body_case != RECSYS__V1__WORKER_REPLY__BODY_SCORED) {
        char buf[160];
        snprintf(buf, sizeof buf, "%s: unexpected reply body %d", w->name, (int)reply->body_case);
        job_reason(j, buf);
    } else {
        res->ok = true;
        snprintf(res->version, sizeof res->version, "%s", reply->model_version ? reply->model_version : "");
        take_list(j, res, reply->scored);
    }
    if (--j->pending == 0)
        finish(j);
}

static void ask(rank_job_t *j, gw_worker_id_t id, Recsys__V1__WorkerRequest *req)
{
    char reason[256];
    j->res[id].asked = true;
    j->pending++;
    /* A request deadline (gRPC's grpc-timeout) caps the worker's: the call
     * gets 90% of what is left, so a late worker still leaves time for a
     * degraded answer from the others before the caller gives up. */
    int cap_ms = 0;
    uint64_t deadline = httpsrv_req_deadline(j->req), now = uv_hrtime();
    if (deadline != 0) {
        uint64_t left_ms = deadline > now ? (deadline - now) / 1000000 * 9 / 10 : 0;
        cap_ms = left_ms > 3600000 ? 0 : left_ms > 0 ? (int)left_ms : 1;
    }
    if (j->req != NULL)
        req->trace_id = (char *)httpsrv_req_trace_id(j->req);
    j->res[id].call_id = gw_worker_call(j->rk->workers, id, req, cap_ms, on_worker, j, reason, sizeof reason);
    if (j->res[id].call_id == 0) {
        j->pending--;
        job_reason(j, reason);
    }
}

/* Sends the requests; finishes at once when no worker could be asked. */
/* The client went away (connection closed, gRPC call cancelled): withdraw
 * the worker calls still out; their callbacks run now with a reason and the
 * job finishes, its answer dropped. A job computing a cache flight keeps
 * going: other requests wait on its answer. */
static void job_abandoned(void *arg)
{
    rank_job_t *j = arg;
    if (j->flight != NULL && gw_cache_flight_waiters(j->flight) > 1)
        return;
    j->pending++; /* the job must outlive the loop */
    for (int i = 0; i < GW_NWORKERS; i++)
        if (j->res[i].call_id != 0)
            gw_worker_cancel(j->rk->workers, (gw_worker_id_t)i, j->res[i].call_id, "request cancelled by the client");
    if (--j->pending == 0)
        finish(j);
}

static void dispatch(rank_job_t *j, Recsys__V1__WorkerRequest *req[GW_NWORKERS])
{
    if (j->req != NULL)
        httpsrv_req_on_abandon(j->req, job_abandoned, j);
    j->pending = 1; /* held until every call is out, so a completion cannot finish early */
    for (int i = 0; i < GW_NWORKERS; i++)
        if (req[i] != NULL)
            ask(j, (gw_worker_id_t)i, req[i]);
    if (--j->pending == 0)
        finish(j);
}

/* ------------------------------------------------------------ the answer */

static const char *model_of(const blend_item_t *it, const blend_weights_t *w)
{
    bool c = (it->present & (1u << BLEND_CONTENT)) && w->content > 0;
    bool f = (it->present & (1u << BLEND_CF)) && w->cf > 0;
    if (c && f)
        return "hybrid";
    if (c)
        return "content";
    if (f)
        return "cf";
    return "popularity";
}

static uint32_t because_of(const rank_job_t *j, const blend_item_t *it, const blend_weights_t *w)
{
    /* The explaining item of the source that contributed most, among those
     * that are not negative feedback of the user's. */
    double best = -1;
    uint32_t out = UINT32_MAX;
    const float wt[2] = {w->content, w->cf};
    for (int s = 0; s < GW_NWORKERS; s++) {
        const worker_res_t *r = &j->res[s];
        if (!(it->present & (1u << s)))
            continue;
        for (size_t i = 0; i < r->n; i++)
            if (r->keys[i] == it->key) {
                double contrib = (double)wt[s] * it->source[s];
                /* Never an item the user rated low or disliked, whatever a
                 * worker said (common/data/feedback.h). */
                bool neg = r->because[i] != UINT32_MAX && j->negative != NULL && j->negative[r->because[i]];
                if (r->because[i] != UINT32_MAX && !neg && contrib > best) {
                    best = contrib;
                    out = r->because[i];
                }
                break;
            }
    }
    return out;
}

static Recsys__V1__Explanation *explain(rank_job_t *j, const blend_item_t *it, const blend_weights_t *w)
{
    const catalog_t *cat = j->rk->cat->cat;
    Recsys__V1__Explanation *e = arena_alloc(&j->arena, sizeof *e);
    if (e == NULL)
        return NULL;
    recsys__v1__explanation__init(e);
    e->model = (char *)model_of(it, w);
    uint32_t b = j->kind == GW_RANK_SIMILAR ? j->query_item : because_of(j, it, w);
    if (strcmp(e->model, "popularity") == 0 && j->kind != GW_RANK_SIMILAR) {
        e->text = "popular with other viewers";
        return e;
    }
    if (b == UINT32_MAX) {
        e->text = strcmp(e->model, "popularity") == 0 ? "popular with other viewers" : "matches your tastes";
        return e;
    }
    e->because_item_id = (char *)catalog_id(cat, b);
    e->because_title = (char *)catalog_title(cat, b);
    const char *title = catalog_title(cat, b);
    int year = catalog_year(cat, b);
    /* MovieLens titles carry their year already: "Alien (1979)". */
    bool has_year = year == 0 || catalog_title_year(title, strlen(title)) != 0;
    const char *lead = j->kind == GW_RANK_SIMILAR ? "similar to" : "because you liked";
    e->text = has_year ? arena_printf(&j->arena, "%s %s", lead, title)
                       : arena_printf(&j->arena, "%s %s (%d)", lead, title, year);
    return e;
}

static Recsys__V1__ScoredItem *scored_item(rank_job_t *j, uint32_t item, float score, const float src[3],
                                           int rank)
{
    const catalog_t *cat = j->rk->cat->cat;
    Recsys__V1__ScoredItem *s = arena_alloc(&j->arena, sizeof *s);
    if (s == NULL)
        return NULL;
    recsys__v1__scored_item__init(s);
    s->item_id = (char *)catalog_id(cat, item);
    s->title = (char *)catalog_title(cat, item);
    s->year = catalog_year(cat, item);
    s->score = score;
    if (src != NULL) {
        s->content_score = src[BLEND_CONTENT];
        s->cf_score = src[BLEND_CF];
        s->popularity_score = src[BLEND_POPULARITY];
    }
    s->rank = rank;
    uint32_t ng = catalog_item_ngenres(cat, item);
    if (ng > 0 && (s->genres = arena_alloc(&j->arena, ng * sizeof(char *))) != NULL) {
        for (uint32_t g = 0; g < ng; g++)
            s->genres[g] = (char *)catalog_genre_name(cat, catalog_item_genre(cat, item, g));
        s->n_genres = ng;
    }
    return s;
}

/* ------------------------------------------------------------ answering */

/* Answers r from a stored value (gw_cache_codec.h) with this request's
 * cached flag and id; -1 when the value is not a stored answer. */
static int stored_respond(httpsrv_req_t *r, gw_encoding_t enc, const void *v, size_t len, bool cached,
                          const char *request_id)
{
    char *body;
    size_t n;
    bool grpc = gw_grpc_is(r); /* the message prefix goes in front: no copy to frame it */
    if (gw_cache_answer_body(v, len, enc, cached, request_id, grpc ? GW_GRPC_PREFIX : 0, &body, &n) != 0)
        return -1;
    httpsrv_req_note(r, "cache", cached ? "hit" : "miss");
    if (grpc) {
        gw_grpc_prefix(body, n);
        gw_grpc_respond_framed(r, body, GW_GRPC_PREFIX + n);
    } else {
        gw_respond_body(r, enc, body, n);
    }
    return 0;
}

/* Answers the request, or ends the cache flight with the stored form of the
 * answer (the flight's done callbacks answer every request waiting on it,
 * this one first); degraded answers are not stored. resp's cached and
 * request_id fields are cleared for the stored form (gw_cache_codec.h). */
static void answer(rank_job_t *j, ProtobufCMessage *resp, protobuf_c_boolean *cached, char **request_id,
                   bool degraded)
{
    if (j->flight == NULL) {
        gw_respond_message(j->req, resp, j->enc);
        return;
    }
    gw_cache_flight_t *f = j->flight;
    j->flight = NULL;
    err_t err;
    size_t n = 0;
    void *buf = gw_cache_answer_encode(resp, cached, request_id, &n, &err);
    if (buf == NULL) {
        gw_cache_computed(f, NULL, 0, false, err.msg);
        return;
    }
    gw_cache_computed(f, buf, n, !degraded, NULL);
    free(buf);
}

static void finish(rank_job_t *j)
{
    if (j->req != NULL)
        httpsrv_req_on_abandon(j->req, NULL, NULL);
    gw_rank_t *rk = j->rk;
    const gw_catalog_t *cat = rk->cat;
    err_t err;
    blend_list_t lists[BLEND_NSOURCES];
    memset(lists, 0, sizeof lists);
    bool any_ok = false, any_failed = false;
    size_t hist = j->hist.length;
    for (int s = 0; s < GW_NWORKERS; s++) {
        worker_res_t *r = &j->res[s];
        if (!r->asked)
            continue;
        if (r->ok) {
            any_ok = true;
            if ((size_t)r->history_used > hist)
                hist = (size_t)r->history_used;
        } else {
            any_failed = true;
        }
        lists[s] = (blend_list_t){r->keys, r->scores, r->n};
    }
    /* Popularity: the candidates (Score) or the most popular items passing the filters. */
    size_t npop_max = j->kind == GW_RANK_SCORE ? j->ncand : fuse_depth(j);
    uint32_t *pk = arena_alloc(&j->arena, (npop_max ? npop_max : 1) * sizeof(uint32_t));
    float *ps = arena_alloc(&j->arena, (npop_max ? npop_max : 1) * sizeof(float));
    size_t k = j->kind == GW_RANK_SCORE ? j->ncand : (size_t)j->k;
    size_t total = lists[0].n + lists[1].n + npop_max;
    blend_item_t *out = arena_alloc(&j->arena, (k ? k : 1) * sizeof *out);
    size_t ws_bytes = blend_workspace_bytes(total, k);
    void *ws = arena_alloc(&j->arena, ws_bytes ? ws_bytes : 1);
    if (pk == NULL || ps == NULL || out == NULL || ws == NULL) {
        job_fail(j, GW_RESOURCE_EXHAUSTED, "out of memory");
        return;
    }
    size_t npop;
    if (j->kind == GW_RANK_SCORE) {
        memcpy(pk, j->cand, j->ncand * sizeof *pk);
        npop = j->ncand;
    } else {
        npop = gw_catalog_popular(cat, &j->filter, pk, npop_max + 1);
        size_t w = 0;
        for (size_t i = 0; i < npop && w < npop_max; i++)
            if (pk[i] != j->query_item)
                pk[w++] = pk[i];
        npop = w;
    }
    for (size_t i = 0; i < npop; i++)
        ps[i] = cat->pop_score[pk[i]];
    lists[BLEND_POPULARITY] = (blend_list_t){pk, ps, npop};

    blend_weights_t used = {0, 0, 0};
    /* The blend's history length counts what the user did not dislike
     * (common/math/blend.h). */
    hist = hist > j->nnegative ? hist - j->nnegative : 0;
    long n = blend_merge(rk->blend, j->has_override ? &j->override : NULL, hist, j->hist.nrated > 0, lists, k, ws, ws_bytes, out,
                         &used, &err);
    if (n < 0) {
        log_kv(LOG_ERROR, "blend failed", "error", err.msg, "trace_id",
               j->req != NULL ? httpsrv_req_trace_id(j->req) : "", NULL);
        job_fail(j, GW_INTERNAL, err.msg);
        return;
    }
    /* degraded: a model was asked and was unavailable, nothing else.
     * fallback: no model contributed an item, so the answer is popularity's;
     * either a cold start (no model could answer: not asked, or answered
     * nothing) or every model asked failed (then degraded too). */
    bool contributed = false;
    for (int s = 0; s < GW_NWORKERS; s++)
        contributed = contributed || (j->res[s].ok && j->res[s].n > 0);
    bool fallback = !contributed;
    gw_fallback_reason_t fb_reason = any_failed ? GW_FALLBACK_NO_MODEL : GW_FALLBACK_COLD_START;
    if (fallback && any_failed && !any_ok)
        job_reason(j, "answered from popularity: no model answered");
    bool degraded = any_failed;
    if (j->req != NULL && degraded)
        httpsrv_req_note(j->req, "degraded", "true");

    /* Score answers every known candidate: those no weighted list held come
     * last, by popularity, with score 0. */
    size_t nitems = (size_t)n;
    size_t cap = j->kind == GW_RANK_SCORE ? j->ncand : nitems;
    Recsys__V1__ScoredItem **items = arena_alloc(&j->arena, (cap ? cap : 1) * sizeof *items);
    if (items == NULL) {
        job_fail(j, GW_RESOURCE_EXHAUSTED, "out of memory");
        return;
    }
    for (size_t i = 0; i < nitems; i++) {
        items[i] = scored_item(j, out[i].key, out[i].score, out[i].source, (int)i + 1);
        if (items[i] != NULL && j->explain)
            items[i]->explanation = explain(j, &out[i], &used);
    }
    if (j->kind == GW_RANK_SCORE && nitems < j->ncand) {
        uint8_t *in = arena_alloc(&j->arena, gw_catalog_size(cat));
        if (in != NULL) {
            for (size_t i = 0; i < nitems; i++)
                in[out[i].key] = 1;
            for (uint32_t p = 0; p < gw_catalog_size(cat) && nitems < cap; p++) {
                uint32_t it = cat->pop_order[p];
                if (j->cand_mark[it] && !in[it]) {
                    in[it] = 1;
                    items[nitems] = scored_item(j, it, 0, NULL, (int)nitems + 1);
                    nitems++;
                }
            }
        }
    }
    for (size_t i = 0; i < nitems; i++)
        if (items[i] == NULL) {
            job_fail(j, GW_RESOURCE_EXHAUSTED, "out of memory");
            return;
        }

    Recsys__V1__ModelVersions mv = RECSYS__V1__MODEL_VERSIONS__INIT;
    mv.content = j->res[GW_CONTENT].ok ? j->res[GW_CONTENT].version : "";
    mv.cf = j->res[GW_CF].ok ? j->res[GW_CF].version : "";
    mv.popularity = (char *)cat->pop_version;
    if (degraded)
        metrics_counter_inc(rk->degraded[j->kind]);
    if (fallback)
        metrics_counter_inc(rk->fallback[j->kind][fb_reason]);
    char *fallback_name = fallback ? "popularity" : "";
    Recsys__V1__BlendWeights wpb = RECSYS__V1__BLEND_WEIGHTS__INIT;
    wpb.content = used.content;
    wpb.cf = used.cf;
    wpb.popularity = used.popularity;
    metrics_histogram_observe(rk->latency[j->kind], (double)(uv_hrtime() - j->t0) / 1e9);

    if (j->kind == GW_RANK_RECOMMEND) {
        Recsys__V1__RecommendResponse resp = RECSYS__V1__RECOMMEND_RESPONSE__INIT;
        resp.n_items = nitems;
        resp.items = items;
        resp.model_versions = &mv;
        resp.degraded = degraded;
        resp.n_degraded_reasons = j->nreasons;
        resp.degraded_reasons = j->reasons;
        resp.request_id = j->request_id;
        resp.fallback = fallback_name;
        resp.weights = &wpb;
        answer(j, &resp.base, &resp.cached, &resp.request_id, degraded);
    } else if (j->kind == GW_RANK_SIMILAR) {
        Recsys__V1__SimilarItemsResponse resp = RECSYS__V1__SIMILAR_ITEMS_RESPONSE__INIT;
        resp.n_items = nitems;
        resp.items = items;
        resp.model_versions = &mv;
        resp.degraded = degraded;
        resp.n_degraded_reasons = j->nreasons;
        resp.degraded_reasons = j->reasons;
        resp.request_id = j->request_id;
        resp.query_item = scored_item(j, j->query_item, 0, NULL, 0);
        resp.fallback = fallback_name;
        resp.weights = &wpb;
        answer(j, &resp.base, &resp.cached, &resp.request_id, degraded);
    } else {
        Recsys__V1__ScoreResponse resp = RECSYS__V1__SCORE_RESPONSE__INIT;
        resp.n_items = nitems;
        resp.items = items;
        resp.model_versions = &mv;
        resp.degraded = degraded;
        resp.n_degraded_reasons = j->nreasons;
        resp.degraded_reasons = j->reasons;
        resp.request_id = j->request_id;
        resp.n_unknown_item_ids = j->nunknown;
        resp.unknown_item_ids = j->unknown;
        resp.fallback = fallback_name;
        resp.weights = &wpb;
        answer(j, &resp.base, NULL, NULL, degraded);
    }
    job_free(j);
}

/* ------------------------------------------------------------ the cache */

static void start_recommend(rank_job_t *j);
static void start_similar(rank_job_t *j);

static void start(rank_job_t *j)
{
    if (j->kind == GW_RANK_RECOMMEND)
        start_recommend(j);
    else
        start_similar(j);
}

static void cache_compute(gw_cache_flight_t *f, void *arg)
{
    rank_job_t *j = arg;
    j->flight = f;
    j->computes = true;
    start(j);
}

/* Answers one request from a flight's result (cached, or computed by this
 * or another request). A job that did not compute is done here; one that
 * did is freed by finish()/job_fail() once gw_cache_computed returns. */
static void cache_done(void *arg, gw_cache_outcome_t outcome, const void *value, size_t len, const char *error)
{
    rank_job_t *j = arg;
    bool computing = j->computes;
    bool hit = outcome == GW_CACHE_HIT;
    if (value == NULL) {
        gw_respond_error(j->req, GW_INTERNAL, error != NULL ? error : "no answer", NULL);
    } else if (stored_respond(j->req, j->enc, value, len, hit, j->request_id) != 0) {
        gw_respond_error(j->req, GW_INTERNAL, "cached answer unreadable", NULL);
    } else if (hit) {
        metrics_histogram_observe(j->rk->latency[j->kind], (double)(uv_hrtime() - j->t0) / 1e9);
    }
    if (!computing)
        job_free(j);
}

/* Recommend and SimilarItems go through the cache when there is one (key:
 * gw_cache_request_key). */
static void through_cache(rank_job_t *j, const char *user)
{
    gw_rank_t *rk = j->rk;
    if (rk->cache == NULL) {
        start(j);
        return;
    }
    gw_cache_key_t key;
    if (gw_cache_request_key(&key, j->in, user, rk->workers->w[GW_CONTENT].version, rk->workers->w[GW_CF].version,
                             &j->arena) != 0) {
        job_fail(j, GW_RESOURCE_EXHAUSTED, "out of memory");
        return;
    }
    if (gw_cache_get_or_compute(rk->cache, &key, cache_compute, j, cache_done, j) != 0)
        start(j); /* out of memory in the cache: compute uncached */
}

/* ------------------------------------------------------------ entry points */

static void set_override(rank_job_t *j, const Recsys__V1__BlendWeights *w)
{
    if (w == NULL || (w->content == 0 && w->cf == 0 && w->popularity == 0))
        return;
    j->override = (blend_weights_t){w->content, w->cf, w->popularity};
    j->has_override = true;
}

/* Starts the job of a request whose gw_check_* returned check: 0 creates it
 * (NULL if that failed and was answered), anything else answers
 * invalid_argument with err's message. The message is owned either way. */
static rank_job_t *job_start(gw_rank_t *rk, httpsrv_req_t *r, gw_encoding_t enc, gw_rank_kind_t kind,
                             ProtobufCMessage *in, int check, const err_t *err)
{
    if (check != 0) {
        gw_respond_error(r, GW_INVALID_ARGUMENT, err->msg, NULL);
        protobuf_c_message_free_unpacked(in, NULL);
        return NULL;
    }
    return job_new(rk, r, enc, kind, in);
}

/* The worker score requests of Recommend and Score, from the job's history:
 * CF gets the fresh events (it knows the user), content the stored ratings
 * and the fresh events (gw_history_for_content). base holds every other
 * field; the two requests are dispatched. */
static void send_scores(rank_job_t *j, const Recsys__V1__WorkerScoreRequest *base)
{
    const gw_catalog_t *cat = j->rk->cat;
    j->negative = gw_history_negatives(&j->hist, cat, &j->arena, &j->nnegative);
    Recsys__V1__WorkerScoreRequest sc = *base;
    sc.n_history = j->hist.nfresh;
    sc.history = j->hist.fresh;
    Recsys__V1__WorkerScoreRequest csc = sc;
    csc.user_id = "";
    csc.history = gw_history_for_content(&j->hist, cat, j->rk->content_history_max, &j->arena, &csc.n_history);
    Recsys__V1__WorkerRequest wr = RECSYS__V1__WORKER_REQUEST__INIT, cwr;
    wr.body_case = RECSYS__V1__WORKER_REQUEST__BODY_SCORE;
    wr.score = &sc;
    cwr = wr;
    cwr.score = &csc;
    /* A worker that cannot answer is not asked (a cold start is no failure):
     * content knows no users, so it needs a history; CF needs events or a
     * user it may know: one the gateway's dataset rates, or any user id
     * when the gateway loaded no ratings and cannot tell. */
    bool content = csc.n_history > 0;
    bool cf = j->hist.nfresh > 0 ||
              (j->hist.user_id[0] != '\0' && (j->hist.nrated > 0 || cat->pop == NULL));
    Recsys__V1__WorkerRequest *reqs[GW_NWORKERS] = {content ? &cwr : NULL, cf ? &wr : NULL};
    dispatch(j, reqs);
}

/* Builds the job's history (without recent events, known only later) and
 * compiles the filter with its items excluded unless include_seen. */
static int recommend_history(rank_job_t *j, const Recsys__V1__RecommendRequest *m,
                             const gw_feedback_recent_event_t *recent, size_t nrecent, err_t *err)
{
    if (gw_history_build(&j->hist, j->rk->cat, m->user_id, m->history, m->n_history, recent, nrecent, &j->arena,
                         err) != 0)
        return -1;
    bool include_seen = m->filters != NULL && m->filters->include_seen;
    return gw_filter_compile(j->rk->cat, m->filters, j->hist.items, include_seen ? 0 : j->hist.nitems, &j->filter,
                             &j->arena, err);
}

void gw_rank_recommend(gw_rank_t *rk, httpsrv_req_t *r, gw_encoding_t enc, Recsys__V1__RecommendRequest *m)
{
    err_t err;
    rank_job_t *j =
        job_start(rk, r, enc, GW_RANK_RECOMMEND, &m->base, gw_check_recommend(m, rk->limits, &err), &err);
    if (j == NULL)
        return;
    j->k = gw_effective_k(m->k, rk->limits);
    j->explain = m->explain;
    set_override(j, m->weights);
    if (recommend_history(j, m, NULL, 0, &err) != 0) {
        job_fail(j, GW_INVALID_ARGUMENT, err.msg);
        return;
    }
    through_cache(j, m->user_id);
}

static void send_recommend(rank_job_t *j)
{
    Recsys__V1__RecommendRequest *m = (Recsys__V1__RecommendRequest *)j->in;
    Recsys__V1__WorkerScoreRequest sc = RECSYS__V1__WORKER_SCORE_REQUEST__INIT;
    sc.user_id = m->user_id;
    sc.k = (int32_t)fuse_depth(j); /* the fused top-k draws on both lists */
    sc.filters = copy_filters(j, m->filters);
    sc.explain = m->explain;
    send_scores(j, &sc);
}

/* The user's recent feedback (Redis) joins the history sent to the workers,
 * so the next answer reflects it before any retraining; those items are
 * excluded like the rest of the history. The history is assembled again
 * with them (gw_history_build). */
static void on_recent(void *arg, const gw_feedback_recent_event_t *ev, size_t n, const char *error)
{
    rank_job_t *j = arg;
    Recsys__V1__RecommendRequest *m = (Recsys__V1__RecommendRequest *)j->in;
    if (error != NULL)
        log_kv(LOG_DEBUG, "recent feedback not read; recommending without it", "error", error, "trace_id",
               httpsrv_req_trace_id(j->req), NULL);
    if (n > 0 && ev != NULL) {
        err_t err;
        if (recommend_history(j, m, ev, n, &err) != 0) {
            /* Only memory can fail here: the same request passed without them. */
            job_fail(j, GW_RESOURCE_EXHAUSTED, err.msg);
            return;
        }
    }
    send_recommend(j);
}

static void start_recommend(rank_job_t *j)
{
    Recsys__V1__RecommendRequest *m = (Recsys__V1__RecommendRequest *)j->in;
    gw_rank_t *rk = j->rk;
    if (rk->feedback != NULL && rk->recent_max > 0 && m->user_id[0] != '\0' &&
        gw_feedback_recent(rk->feedback, m->user_id, rk->recent_max, on_recent, j) == 0)
        return;
    send_recommend(j);
}

void gw_rank_similar(gw_rank_t *rk, httpsrv_req_t *r, gw_encoding_t enc, Recsys__V1__SimilarItemsRequest *m)
{
    err_t err;
    rank_job_t *j = job_start(rk, r, enc, GW_RANK_SIMILAR, &m->base, gw_check_similar(m, rk->limits, &err), &err);
    if (j == NULL)
        return;
    j->k = gw_effective_k(m->k, rk->limits);
    j->explain = m->explain;
    j->query_item = gw_catalog_find(rk->cat, m->item_id);
    if (j->query_item == UINT32_MAX) {
        char msg[200];
        snprintf(msg, sizeof msg, "item '%.80s' not found", m->item_id);
        const char *meta[] = {"item_id", m->item_id, NULL};
        gw_respond_error(r, GW_NOT_FOUND, msg, meta);
        job_free(j);
        return;
    }
    if (gw_filter_compile(rk->cat, m->filters, &j->query_item, 1, &j->filter, &j->arena, &err) != 0) {
        job_fail(j, GW_INVALID_ARGUMENT, err.msg);
        return;
    }
    bool content = m->mode != RECSYS__V1__SIMILARITY_MODE__SIMILARITY_MODE_BEHAVIOUR;
    bool cf = m->mode != RECSYS__V1__SIMILARITY_MODE__SIMILARITY_MODE_CONTENT;
    j->override = blend_similar_weights(rk->blend, content, cf);
    j->has_override = true;
    through_cache(j, "");
}

static void start_similar(rank_job_t *j)
{
    Recsys__V1__SimilarItemsRequest *m = (Recsys__V1__SimilarItemsRequest *)j->in;
    bool content = m->mode != RECSYS__V1__SIMILARITY_MODE__SIMILARITY_MODE_BEHAVIOUR;
    bool cf = m->mode != RECSYS__V1__SIMILARITY_MODE__SIMILARITY_MODE_CONTENT;
    Recsys__V1__WorkerSimilarRequest sr = RECSYS__V1__WORKER_SIMILAR_REQUEST__INIT;
    sr.item_id = m->item_id;
    sr.k = (int32_t)fuse_depth(j);
    sr.filters = copy_filters(j, m->filters);
    Recsys__V1__WorkerRequest wr = RECSYS__V1__WORKER_REQUEST__INIT;
    wr.body_case = RECSYS__V1__WORKER_REQUEST__BODY_SIMILAR;
    wr.similar = &sr;
    Recsys__V1__WorkerRequest *reqs[GW_NWORKERS] = {content ? &wr : NULL, cf ? &wr : NULL};
    dispatch(j, reqs);
}

void gw_rank_score(gw_rank_t *rk, httpsrv_req_t *r, gw_encoding_t enc, Recsys__V1__ScoreRequest *m)
{
    err_t err;
    rank_job_t *j = job_start(rk, r, enc, GW_RANK_SCORE, &m->base, gw_check_score(m, rk->limits, &err), &err);
    if (j == NULL)
        return;
    j->explain = m->explain;
    set_override(j, m->weights);
    if (gw_history_build(&j->hist, rk->cat, m->user_id, m->history, m->n_history, NULL, 0, &j->arena, &err) != 0) {
        job_fail(j, GW_INVALID_ARGUMENT, err.msg);
        return;
    }
    size_t nc = m->n_candidate_item_ids;
    j->cand = arena_alloc(&j->arena, nc * sizeof(uint32_t));
    j->unknown = arena_alloc(&j->arena, nc * sizeof(char *));
    char **known_ids = arena_alloc(&j->arena, nc * sizeof(char *));
    uint8_t *dup = arena_alloc(&j->arena, gw_catalog_size(rk->cat) ? gw_catalog_size(rk->cat) : 1);
    if (j->cand == NULL || j->unknown == NULL || known_ids == NULL || dup == NULL) {
        job_fail(j, GW_RESOURCE_EXHAUSTED, "out of memory");
        return;
    }
    for (size_t i = 0; i < nc; i++) {
        uint32_t it = gw_catalog_find(rk->cat, m->candidate_item_ids[i]);
        if (it == UINT32_MAX) {
            j->unknown[j->nunknown++] = m->candidate_item_ids[i];
        } else if (!dup[it]) {
            dup[it] = 1;
            known_ids[j->ncand] = m->candidate_item_ids[i];
            j->cand[j->ncand++] = it;
        }
    }
    j->cand_mark = dup;
    if (j->ncand == 0) {
        job_fail(j, GW_INVALID_ARGUMENT, "candidate_item_ids: no candidate is a known item");
        return;
    }
    /* No filters in Score: the caller's candidates are answered, ranked. */
    gw_filter_compile(rk->cat, NULL, NULL, 0, &j->filter, &j->arena, &err);
    Recsys__V1__WorkerScoreRequest sc = RECSYS__V1__WORKER_SCORE_REQUEST__INIT;
    sc.user_id = m->user_id;
    sc.k = (int32_t)j->ncand;
    sc.n_candidate_item_ids = j->ncand;
    sc.candidate_item_ids = known_ids;
    Recsys__V1__Filters all = RECSYS__V1__FILTERS__INIT;
    all.include_seen = 1;
    sc.filters = &all;
    sc.explain = m->explain;
    send_scores(j, &sc);
}
