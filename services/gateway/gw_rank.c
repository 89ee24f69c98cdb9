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
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base/arena.h"
#include "common/data/histmerge.h"
#include "common/base/log.h"
#include "services/gateway/gw_cache.h"
#include "services/gateway/gw_internal.h"

typedef enum { RANK_RECOMMEND, RANK_SIMILAR, RANK_SCORE } rank_kind_t;

typedef struct worker_res {
    bool asked, ok;
    uint32_t *keys;
    float *scores;
    uint32_t *because; /* catalog index of the explaining item, UINT32_MAX when none */
    size_t n;
    int history_used;
    char version[128];
} worker_res_t;

typedef struct rank_job {
    gw_t *gw;
    httpsrv_req_t *req;
    gw_encoding_t enc;
    rank_kind_t kind;
    gw_method_t method;
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
    size_t base_history;   /* request history + the user's known ratings */
    blend_weights_t override;
    bool has_override;
    int pending;
    worker_res_t res[GW_NWORKERS];
    char *reasons[8];
    size_t nreasons;
    char request_id[72];
    uint64_t t0;
    gw_cache_flight_t *flight; /* set while this job computes a cache flight */
    bool computes;             /* this job ran a flight's computation */
} rank_job_t;

/* How many entries each source contributes to the fusion: the blend's depth
 * (the value the evaluator measures with), or k when k is larger, so an
 * answer's top items do not depend on how many were asked for. */
static size_t fuse_depth(const rank_job_t *j)
{
    size_t d = j->gw->blend.depth, k = (size_t)j->k;
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

static rank_job_t *job_new(gw_t *gw, httpsrv_req_t *r, gw_encoding_t enc, rank_kind_t kind, ProtobufCMessage *in)
{
    rank_job_t *j = calloc(1, sizeof *j);
    if (j == NULL) {
        protobuf_c_message_free_unpacked(in, NULL);
        gw_respond_error(r, GW_RESOURCE_EXHAUSTED, "out of memory", NULL);
        return NULL;
    }
    j->gw = gw;
    j->req = r;
    j->enc = enc;
    j->kind = kind;
    j->method = kind == RANK_RECOMMEND ? GW_M_RECOMMEND : kind == RANK_SIMILAR ? GW_M_SIMILAR : GW_M_SCORE;
    j->in = in;
    j->query_item = UINT32_MAX;
    j->t0 = uv_hrtime();
    arena_init(&j->arena);
    gw_request_id(gw, r, j->request_id, sizeof j->request_id);
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

static Recsys__V1__HistoryEvent **copy_history(rank_job_t *j, Recsys__V1__HistoryEvent *const *h, size_t n)
{
    if (n == 0)
        return NULL;
    Recsys__V1__HistoryEvent **v = arena_alloc(&j->arena, n * sizeof *v);
    Recsys__V1__HistoryEvent *e = arena_alloc(&j->arena, n * sizeof *e);
    if (v == NULL || e == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        recsys__v1__history_event__init(&e[i]);
        e[i].item_id = h[i]->item_id;
        e[i].rating = h[i]->rating;
        e[i].type = h[i]->type;
        e[i].timestamp_ms = h[i]->timestamp_ms;
        v[i] = &e[i];
    }
    return v;
}

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

/* The content model knows no users: it gets the user's known ratings (from
 * the gateway's dataset) followed by the new events. The CF model knows its
 * users and gets only the new events to fold in. A long history is cut to
 * content-history-max ratings, keeping those furthest from the user's mean:
 * the content profile weighs each rating by its distance from that mean, so
 * these carry most of it, and the worker's cost grows with the history
 * (scoring, and the "because" item of every hit). The blend still counts the
 * whole history (base_history). */
typedef struct weighted_ix {
    float w;
    uint32_t i;
} weighted_ix_t;

static int cmp_weight_desc(const void *a, const void *b)
{
    const weighted_ix_t *x = a, *y = b;
    if (x->w != y->w)
        return x->w > y->w ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* Moves the k first of p[0..n) in cmp_weight_desc order to the front, in
 * order: a quickselect (the order is total, ties broken by index) and a
 * sort of the k kept, so the result equals a full sort's first k. */
static void select_top(weighted_ix_t *p, size_t n, size_t k)
{
    size_t lo = 0, hi = n;
    while (hi - lo > 1 && k > lo && k < hi) {
        weighted_ix_t pivot = p[lo + (hi - lo - 1) / 2]; /* lower middle: [lo, b] never empty nor all */
        size_t a = lo, b = hi - 1;
        for (;;) {
            while (cmp_weight_desc(&p[a], &pivot) < 0)
                a++;
            while (cmp_weight_desc(&p[b], &pivot) > 0)
                b--;
            if (a >= b)
                break;
            weighted_ix_t t = p[a];
            p[a] = p[b];
            p[b] = t;
            a++;
            b--;
        }
        /* Hoare: [lo, b] <= pivot <= [b + 1, hi). */
        if (k <= b + 1)
            hi = b + 1;
        else
            lo = b + 1;
    }
    qsort(p, k, sizeof *p, cmp_weight_desc);
}

/* Position of item in the user's rated items (sorted), or n. */
static size_t rated_at(const uint32_t *items, size_t n, uint32_t item)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (items[mid] < item)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && items[lo] == item ? lo : n;
}

static Recsys__V1__HistoryEvent **content_history(rank_job_t *j, const char *user_id,
                                                  Recsys__V1__HistoryEvent **fresh, size_t nfresh, size_t *n)
{
    const uint32_t *items;
    const float *vals;
    size_t nk = gw_catalog_user_ratings(j->gw->cat, user_id, &items, &vals);
    size_t cap = j->gw->content_history_max, nrated = nk;
    weighted_ix_t *pick = NULL;
    uint8_t *picked = NULL;
    if (nk > cap) {
        pick = arena_alloc(&j->arena, nk * sizeof *pick);
        if (pick == NULL)
            return NULL;
        double mean = 0;
        for (size_t i = 0; i < nk; i++)
            mean += vals[i];
        mean /= (double)nk;
        for (size_t i = 0; i < nk; i++)
            pick[i] = (weighted_ix_t){(float)fabs((double)vals[i] - mean), (uint32_t)i};
        select_top(pick, nk, cap);
        nk = cap;
        if ((picked = arena_alloc(&j->arena, nrated)) == NULL)
            return NULL;
        memset(picked, 0, nrated);
        for (size_t i = 0; i < nk; i++)
            picked[pick[i].i] = 1;
    }
    *n = 0;
    if (nk + nfresh == 0)
        return NULL;
    Recsys__V1__HistoryEvent **v = arena_alloc(&j->arena, (nk + nfresh) * sizeof *v);
    Recsys__V1__HistoryEvent *e = nk ? arena_alloc(&j->arena, nk * sizeof *e) : NULL;
    if (v == NULL || (nk > 0 && e == NULL))
        return NULL;
    for (size_t i = 0; i < nk; i++) {
        size_t src = pick != NULL ? pick[i].i : i;
        recsys__v1__history_event__init(&e[i]);
        e[i].item_id = (char *)catalog_id(j->gw->cat->cat, items[src]);
        e[i].rating = vals[src];
        e[i].type = RECSYS__V1__EVENT_TYPE__EVENT_TYPE_RATING;
        v[i] = &e[i];
    }
    size_t nv = nk;
    for (size_t i = 0; i < nfresh && fresh != NULL; i++) {
        /* An implicit event on an item the user rated counts for nothing
         * (common/data/histmerge.h): the worker sees that when the rating is
         * sent, but not for a rating left out above, so drop it here. */
        if (picked != NULL && !histmerge_is_explicit(fresh[i]->rating)) {
            size_t at = rated_at(items, nrated, gw_catalog_find(j->gw->cat, fresh[i]->item_id));
            if (at < nrated && !picked[at])
                continue;
        }
        v[nv++] = fresh[i];
    }
    *n = nv;
    return v;
}

/* ------------------------------------------------------------ worker replies */

static void finish(rank_job_t *j);

static void take_list(rank_job_t *j, worker_res_t *res, const Recsys__V1__WorkerScoredList *l)
{
    gw_t *gw = j->gw;
    size_t n = l != NULL ? l->n_items : 0;
    res->history_used = l != NULL ? l->history_used : 0;
    if (n == 0)
        return;
    res->keys = arena_alloc(&j->arena, n * sizeof(uint32_t));
    res->scores = arena_alloc(&j->arena, n * sizeof(float));
    res->because = arena_alloc(&j->arena, n * sizeof(uint32_t));
    /* Seen marks keep a key once per list (blend refuses duplicates). */
    uint8_t *seen = arena_alloc(&j->arena, gw_catalog_size(gw->cat) ? gw_catalog_size(gw->cat) : 1);
    if (res->keys == NULL || res->scores == NULL || res->because == NULL || seen == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        const Recsys__V1__WorkerScored *s = l->items[i];
        uint32_t it = gw_catalog_find(gw->cat, s->item_id);
        if (it == UINT32_MAX || seen[it] || !isfinite(s->score))
            continue;
        if (j->kind != RANK_SCORE && !gw_filter_pass(gw->cat, &j->filter, it))
            continue;
        if (j->kind == RANK_SCORE && !j->cand_mark[it])
            continue;
        if (j->kind == RANK_SIMILAR && it == j->query_item)
            continue;
        seen[it] = 1;
        res->keys[res->n] = it;
        res->scores[res->n] = s->score;
        res->because[res->n] = gw_catalog_find(gw->cat, s->because_item_id);
        res->n++;
    }
}

static void on_worker(gw_worker_t *w, const Recsys__V1__WorkerReply *reply, const char *reason, void *arg)
{
    rank_job_t *j = arg;
    worker_res_t *res = &j->res[w == &j->gw->workers.w[GW_CONTENT] ? GW_CONTENT : GW_CF];
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
    if (gw_worker_call(&j->gw->workers, id, req, on_worker, j, reason, sizeof reason) == 0) {
        j->pending--;
        job_reason(j, reason);
    }
}

/* Sends the requests; finishes at once when no worker could be asked. */
static void dispatch(rank_job_t *j, Recsys__V1__WorkerRequest *req[GW_NWORKERS])
{
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
    /* The explaining item of the source that contributed most. */
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
                if (r->because[i] != UINT32_MAX && contrib > best) {
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
    const catalog_t *cat = j->gw->cat->cat;
    Recsys__V1__Explanation *e = arena_alloc(&j->arena, sizeof *e);
    if (e == NULL)
        return NULL;
    recsys__v1__explanation__init(e);
    e->model = (char *)model_of(it, w);
    uint32_t b = j->kind == RANK_SIMILAR ? j->query_item : because_of(j, it, w);
    if (strcmp(e->model, "popularity") == 0 && j->kind != RANK_SIMILAR) {
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
    const char *lead = j->kind == RANK_SIMILAR ? "similar to" : "because you liked";
    e->text = has_year ? arena_printf(&j->arena, "%s %s", lead, title)
                       : arena_printf(&j->arena, "%s %s (%d)", lead, title, year);
    return e;
}

static Recsys__V1__ScoredItem *scored_item(rank_job_t *j, uint32_t item, float score, const float src[3],
                                           int rank)
{
    const catalog_t *cat = j->gw->cat->cat;
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

/* ------------------------------------------------------------ stored answers
 *
 * A cache entry holds the answer ready to send in both encodings, so a hit
 * costs no unpacking nor JSON encoding (profiled: re-encoding the floats was
 * most of a hit's user time). Only two fields are per request, cached and
 * request_id; the stored forms have them at their defaults and they are
 * spliced in on the way out:
 *   "GWA1" | u32 proto_len | u32 json_len | u32 json_splice | proto | json
 * - protobuf: the packed answer without fields 5 and 6 (defaults are not
 *   packed); the request's own values are appended (a later field wins, in
 *   both Recommend and SimilarItems responses: cached = 5, request_id = 6);
 * - JSON: the encoding holds `"cached":false,"request_id":""` exactly once
 *   at json_splice (inside a string value a quote is always escaped, so
 *   those bytes cannot come from an id or title); it is replaced.
 * Little-endian lengths; a value that does not parse is answered as an
 * internal error, never trusted beyond its lengths. */

#define STORED_MAGIC "GWA1"
#define STORED_HDR 16
static const char SPLICE_JSON[] = "\"cached\":false,\"request_id\":\"\"";

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* First occurrence of needle in hay[0..n) (memmem is a GNU extension). */
static const char *find_bytes(const char *hay, size_t n, const char *needle, size_t m)
{
    for (const char *p = hay; m <= n && p <= hay + (n - m); p++) {
        p = memchr(p, needle[0], (size_t)(hay + (n - m) - p) + 1);
        if (p == NULL)
            return NULL;
        if (memcmp(p, needle, m) == 0)
            return p;
    }
    return NULL;
}

/* The stored form of resp (malloc'd, length in *len), or NULL. */
static uint8_t *stored_encode(const ProtobufCMessage *resp, size_t *len, err_t *err)
{
    size_t pn = protobuf_c_message_get_packed_size(resp);
    size_t jn = 0;
    char *json = pbjson_encode(resp, NULL, &jn, err);
    if (json == NULL)
        return NULL;
    const char *at = find_bytes(json, jn, SPLICE_JSON, sizeof SPLICE_JSON - 1);
    if (at == NULL || pn > UINT32_MAX || jn > UINT32_MAX) {
        free(json);
        err_set(err, "answer cannot be stored: no splice point in its JSON");
        return NULL;
    }
    uint8_t *v = malloc(STORED_HDR + pn + jn);
    if (v == NULL) {
        free(json);
        err_set(err, "out of memory");
        return NULL;
    }
    memcpy(v, STORED_MAGIC, 4);
    put_u32(v + 4, (uint32_t)pn);
    put_u32(v + 8, (uint32_t)jn);
    put_u32(v + 12, (uint32_t)(at - json));
    protobuf_c_message_pack(resp, v + STORED_HDR);
    memcpy(v + STORED_HDR + pn, json, jn);
    free(json);
    *len = STORED_HDR + pn + jn;
    return v;
}

/* Answers r from a stored value in its encoding, with this request's
 * cached flag and id (a token: no JSON escaping needed, < 128 bytes).
 * -1 when the value is not a stored answer. */
static int stored_respond(httpsrv_req_t *r, gw_encoding_t enc, const uint8_t *v, size_t len, bool cached,
                          const char *request_id)
{
    if (len < STORED_HDR || memcmp(v, STORED_MAGIC, 4) != 0)
        return -1;
    size_t pn = get_u32(v + 4), jn = get_u32(v + 8), at = get_u32(v + 12);
    size_t idn = strlen(request_id);
    if (pn + jn != len - STORED_HDR || at + sizeof SPLICE_JSON - 1 > jn || idn > 127)
        return -1;
    const uint8_t *proto = v + STORED_HDR, *json = proto + pn;
    char *body;
    size_t n;
    if (enc == GW_ENC_PROTO) {
        body = malloc(pn + 4 + idn);
        if (body == NULL)
            return -1;
        memcpy(body, proto, pn);
        n = pn;
        if (cached) {
            body[n++] = 0x28; /* field 5, varint */
            body[n++] = 0x01;
        }
        if (idn > 0) {
            body[n++] = 0x32; /* field 6, length-delimited */
            body[n++] = (char)idn;
            memcpy(body + n, request_id, idn);
            n += idn;
        }
    } else {
        char mid[200];
        int mn = snprintf(mid, sizeof mid, "\"cached\":%s,\"request_id\":\"%s\"", cached ? "true" : "false",
                          request_id);
        if (mn < 0 || (size_t)mn >= sizeof mid)
            return -1;
        size_t rest = jn - at - (sizeof SPLICE_JSON - 1);
        n = at + (size_t)mn + rest;
        body = malloc(n + 1);
        if (body == NULL)
            return -1;
        memcpy(body, json, at);
        memcpy(body + at, mid, (size_t)mn);
        memcpy(body + at + mn, json + at + (sizeof SPLICE_JSON - 1), rest);
        body[n] = '\0';
    }
    httpsrv_respond_owned(r, 200, enc == GW_ENC_JSON ? GW_CT_JSON : GW_CT_PROTO, body, n);
    return 0;
}

/* Answers the request, or ends the cache flight with the stored form of the
 * answer (the flight's done callbacks answer every request waiting on it,
 * this one first); degraded answers are not stored. resp's cached and
 * request_id fields are cleared for the stored form (see above). */
static void answer(rank_job_t *j, ProtobufCMessage *resp, protobuf_c_boolean *cached, char **request_id,
                   bool degraded)
{
    if (j->flight == NULL) {
        gw_respond_message(j->req, resp, j->enc);
        return;
    }
    gw_cache_flight_t *f = j->flight;
    j->flight = NULL;
    *cached = 0;
    *request_id = "";
    err_t err;
    size_t n = 0;
    uint8_t *buf = stored_encode(resp, &n, &err);
    if (buf == NULL) {
        gw_cache_computed(f, NULL, 0, false, err.msg);
        return;
    }
    gw_cache_computed(f, buf, n, !degraded, NULL);
    free(buf);
}

static void finish(rank_job_t *j)
{
    gw_t *gw = j->gw;
    const gw_catalog_t *cat = gw->cat;
    err_t err;
    blend_list_t lists[BLEND_NSOURCES];
    memset(lists, 0, sizeof lists);
    bool any_ok = false, any_failed = false;
    size_t hist = j->base_history;
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
    size_t npop_max = j->kind == RANK_SCORE ? j->ncand : fuse_depth(j);
    uint32_t *pk = arena_alloc(&j->arena, (npop_max ? npop_max : 1) * sizeof(uint32_t));
    float *ps = arena_alloc(&j->arena, (npop_max ? npop_max : 1) * sizeof(float));
    size_t k = j->kind == RANK_SCORE ? j->ncand : (size_t)j->k;
    size_t total = lists[0].n + lists[1].n + npop_max;
    blend_item_t *out = arena_alloc(&j->arena, (k ? k : 1) * sizeof *out);
    size_t ws_bytes = blend_workspace_bytes(total, k);
    void *ws = arena_alloc(&j->arena, ws_bytes ? ws_bytes : 1);
    if (pk == NULL || ps == NULL || out == NULL || ws == NULL) {
        job_fail(j, GW_RESOURCE_EXHAUSTED, "out of memory");
        return;
    }
    size_t npop;
    if (j->kind == RANK_SCORE) {
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
    long n = blend_merge(&gw->blend, j->has_override ? &j->override : NULL, hist, lists, k, ws, ws_bytes, out,
                         &used, &err);
    if (n < 0) {
        log_kv(LOG_ERROR, "blend failed", "error", err.msg, NULL);
        job_fail(j, GW_INTERNAL, err.msg);
        return;
    }
    bool fallback = !any_ok;
    if (fallback)
        job_reason(j, "answered from popularity: no model answered");
    bool degraded = any_failed || fallback;

    /* Score answers every known candidate: those no weighted list held come
     * last, by popularity, with score 0. */
    size_t nitems = (size_t)n;
    size_t cap = j->kind == RANK_SCORE ? j->ncand : nitems;
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
    if (j->kind == RANK_SCORE && nitems < j->ncand) {
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
    mv.popularity = gw->cat->pop_version;
    if (degraded)
        metrics_counter_inc(gw->degraded[j->method]);
    if (fallback)
        metrics_counter_inc(gw->fallback[j->method]);
    metrics_histogram_observe(gw->latency[j->method], (double)(uv_hrtime() - j->t0) / 1e9);

    if (j->kind == RANK_RECOMMEND) {
        Recsys__V1__RecommendResponse resp = RECSYS__V1__RECOMMEND_RESPONSE__INIT;
        resp.n_items = nitems;
        resp.items = items;
        resp.model_versions = &mv;
        resp.degraded = degraded;
        resp.n_degraded_reasons = j->nreasons;
        resp.degraded_reasons = j->reasons;
        resp.request_id = j->request_id;
        answer(j, &resp.base, &resp.cached, &resp.request_id, degraded);
    } else if (j->kind == RANK_SIMILAR) {
        Recsys__V1__SimilarItemsResponse resp = RECSYS__V1__SIMILAR_ITEMS_RESPONSE__INIT;
        resp.n_items = nitems;
        resp.items = items;
        resp.model_versions = &mv;
        resp.degraded = degraded;
        resp.n_degraded_reasons = j->nreasons;
        resp.degraded_reasons = j->reasons;
        resp.request_id = j->request_id;
        resp.query_item = scored_item(j, j->query_item, 0, NULL, 0);
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
        answer(j, &resp.base, NULL, NULL, degraded);
    }
    job_free(j);
}

/* ------------------------------------------------------------ the cache */

static void start_recommend(rank_job_t *j);
static void start_similar(rank_job_t *j);
static void send_recommend(rank_job_t *j, Recsys__V1__HistoryEvent **history, size_t nhistory);

static void start(rank_job_t *j)
{
    if (j->kind == RANK_RECOMMEND)
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
        metrics_histogram_observe(j->gw->latency[j->method], (double)(uv_hrtime() - j->t0) / 1e9);
    }
    if (!computing)
        job_free(j);
}

/* Recommend and SimilarItems go through the cache when there is one: the
 * key holds the model versions last seen by the health poll, the user and
 * the packed request (every parameter). */
static void through_cache(rank_job_t *j, const char *user)
{
    gw_t *gw = j->gw;
    if (gw->cache == NULL) {
        start(j);
        return;
    }
    size_t n = protobuf_c_message_get_packed_size(j->in);
    uint8_t *params = arena_alloc(&j->arena, n ? n : 1);
    if (params == NULL) {
        job_fail(j, GW_RESOURCE_EXHAUSTED, "out of memory");
        return;
    }
    protobuf_c_message_pack(j->in, params);
    gw_cache_key_t key = {gw->workers.w[GW_CONTENT].version, gw->workers.w[GW_CF].version, user, params, n};
    if (gw_cache_get_or_compute(gw->cache, &key, cache_compute, j, cache_done, j) != 0)
        start(j); /* out of memory in the cache: compute uncached */
}

/* ------------------------------------------------------------ entry points */

/* Items of the user's known history and the request's history, to exclude
 * (unless include_seen) and to count. -1 with err on an unknown history
 * item. */
static int history_items(rank_job_t *j, const char *user_id, Recsys__V1__HistoryEvent *const *h, size_t nh,
                         uint32_t **out, size_t *nout, err_t *err)
{
    const uint32_t *known = NULL;
    size_t nk = gw_catalog_user_items(j->gw->cat, user_id, &known);
    uint32_t *v = arena_alloc(&j->arena, (nk + nh + 1) * sizeof *v);
    if (v == NULL)
        return err_set(err, "out of memory");
    if (nk > 0)
        memcpy(v, known, nk * sizeof *v);
    for (size_t i = 0; i < nh; i++) {
        uint32_t it = gw_catalog_find(j->gw->cat, h[i]->item_id);
        if (it == UINT32_MAX)
            return err_set(err, "history[%zu].item_id: unknown item '%.80s'", i, h[i]->item_id);
        v[nk + i] = it;
    }
    *out = v;
    *nout = nk + nh;
    return 0;
}

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
static rank_job_t *job_start(gw_t *gw, httpsrv_req_t *r, gw_encoding_t enc, rank_kind_t kind, ProtobufCMessage *in,
                             int check, const err_t *err)
{
    if (check != 0) {
        gw_respond_error(r, GW_INVALID_ARGUMENT, err->msg, NULL);
        protobuf_c_message_free_unpacked(in, NULL);
        return NULL;
    }
    return job_new(gw, r, enc, kind, in);
}

void gw_rank_recommend(gw_t *gw, httpsrv_req_t *r, gw_encoding_t enc, Recsys__V1__RecommendRequest *m)
{
    err_t err;
    rank_job_t *j = job_start(gw, r, enc, RANK_RECOMMEND, &m->base, gw_check_recommend(m, &gw->limits, &err), &err);
    if (j == NULL)
        return;
    j->k = gw_effective_k(m->k, &gw->limits);
    j->explain = m->explain;
    set_override(j, m->weights);
    uint32_t *hist;
    size_t nhist;
    if (history_items(j, m->user_id, m->history, m->n_history, &hist, &nhist, &err) != 0) {
        job_fail(j, GW_INVALID_ARGUMENT, err.msg);
        return;
    }
    j->base_history = nhist;
    bool include_seen = m->filters != NULL && m->filters->include_seen;
    if (gw_filter_compile(gw->cat, m->filters, hist, include_seen ? 0 : nhist, &j->filter, &j->arena, &err) != 0) {
        job_fail(j, GW_INVALID_ARGUMENT, err.msg);
        return;
    }
    through_cache(j, m->user_id);
}

/* The user's recent feedback (Redis) joins the history sent to the workers,
 * so the next answer reflects it before any retraining; those items are
 * excluded like the rest of the history. Unknown items are skipped. */
static void on_recent(void *arg, const gw_feedback_recent_event_t *ev, size_t n, const char *error)
{
    rank_job_t *j = arg;
    Recsys__V1__RecommendRequest *m = (Recsys__V1__RecommendRequest *)j->in;
    if (error != NULL)
        log_kv(LOG_DEBUG, "recent feedback not read; recommending without it", "error", error, NULL);
    size_t cap = m->n_history + n;
    Recsys__V1__HistoryEvent **h = cap ? arena_alloc(&j->arena, cap * sizeof *h) : NULL;
    Recsys__V1__HistoryEvent *e = n ? arena_alloc(&j->arena, n * sizeof *e) : NULL;
    uint32_t *extra = n ? arena_alloc(&j->arena, n * sizeof *extra) : NULL;
    size_t nh = 0, nextra = 0, nnew = 0;
    const uint32_t *rated = NULL;
    size_t nrated = gw_catalog_user_items(j->gw->cat, m->user_id, &rated);
    if (cap > 0 && h == NULL) {
        job_fail(j, GW_RESOURCE_EXHAUSTED, "out of memory");
        return;
    }
    Recsys__V1__HistoryEvent **given = copy_history(j, m->history, m->n_history);
    for (size_t i = 0; i < m->n_history && given != NULL; i++)
        h[nh++] = given[i];
    for (size_t i = 0; i < n && e != NULL && extra != NULL; i++) {
        uint32_t it = gw_catalog_find(j->gw->cat, ev[i].item);
        if (it == UINT32_MAX)
            continue;
        recsys__v1__history_event__init(&e[i]);
        e[i].item_id = arena_strdup(&j->arena, ev[i].item);
        e[i].rating = ev[i].rating;
        e[i].type = (Recsys__V1__EventType)ev[i].type;
        e[i].timestamp_ms = ev[i].ts_ms;
        if (e[i].item_id == NULL)
            continue;
        h[nh++] = &e[i];
        /* The history grows only by items neither rated nor seen before
         * (the blend's history length; common/data/histmerge.h). */
        bool known = rated_at(rated, nrated, it) < nrated;
        for (size_t x = 0; x < nextra && !known; x++)
            known = extra[x] == it;
        nnew += !known;
        extra[nextra++] = it;
    }
    if (nextra > 0 && !(m->filters != NULL && m->filters->include_seen)) {
        /* Recompile the filter with the new items excluded too. */
        uint32_t *all = arena_alloc(&j->arena, (j->filter.nexcluded + nextra) * sizeof *all);
        if (all != NULL) {
            memcpy(all, j->filter.excluded, j->filter.nexcluded * sizeof *all);
            memcpy(all + j->filter.nexcluded, extra, nextra * sizeof *all);
            err_t err;
            gw_filter_compile(j->gw->cat, m->filters, all, j->filter.nexcluded + nextra, &j->filter, &j->arena, &err);
        }
    }
    j->base_history += nnew;
    send_recommend(j, h, nh);
}

static void start_recommend(rank_job_t *j)
{
    Recsys__V1__RecommendRequest *m = (Recsys__V1__RecommendRequest *)j->in;
    gw_t *gw = j->gw;
    if (gw->feedback != NULL && gw->recent_max > 0 && m->user_id[0] != '\0' &&
        gw_feedback_recent(gw->feedback, m->user_id, gw->recent_max, on_recent, j) == 0)
        return;
    send_recommend(j, copy_history(j, m->history, m->n_history), m->n_history);
}

static void send_recommend(rank_job_t *j, Recsys__V1__HistoryEvent **history, size_t nhistory)
{
    Recsys__V1__RecommendRequest *m = (Recsys__V1__RecommendRequest *)j->in;
    Recsys__V1__WorkerScoreRequest sc = RECSYS__V1__WORKER_SCORE_REQUEST__INIT;
    sc.user_id = m->user_id;
    sc.n_history = history != NULL ? nhistory : 0;
    sc.history = history;
    sc.k = (int32_t)fuse_depth(j); /* the fused top-k draws on both lists */
    sc.filters = copy_filters(j, m->filters);
    sc.explain = m->explain;
    Recsys__V1__WorkerScoreRequest csc = sc;
    csc.user_id = "";
    csc.history = content_history(j, m->user_id, history, sc.n_history, &csc.n_history);
    Recsys__V1__WorkerRequest wr = RECSYS__V1__WORKER_REQUEST__INIT, cwr;
    wr.body_case = RECSYS__V1__WORKER_REQUEST__BODY_SCORE;
    wr.score = &sc;
    cwr = wr;
    cwr.score = &csc;
    Recsys__V1__WorkerRequest *reqs[GW_NWORKERS] = {&cwr, &wr};
    dispatch(j, reqs);
}

void gw_rank_similar(gw_t *gw, httpsrv_req_t *r, gw_encoding_t enc, Recsys__V1__SimilarItemsRequest *m)
{
    err_t err;
    rank_job_t *j = job_start(gw, r, enc, RANK_SIMILAR, &m->base, gw_check_similar(m, &gw->limits, &err), &err);
    if (j == NULL)
        return;
    j->k = gw_effective_k(m->k, &gw->limits);
    j->explain = m->explain;
    j->query_item = gw_catalog_find(gw->cat, m->item_id);
    if (j->query_item == UINT32_MAX) {
        char msg[200];
        snprintf(msg, sizeof msg, "item '%.80s' not found", m->item_id);
        const char *meta[] = {"item_id", m->item_id, NULL};
        gw_respond_error(r, GW_NOT_FOUND, msg, meta);
        job_free(j);
        return;
    }
    if (gw_filter_compile(gw->cat, m->filters, &j->query_item, 1, &j->filter, &j->arena, &err) != 0) {
        job_fail(j, GW_INVALID_ARGUMENT, err.msg);
        return;
    }
    bool content = m->mode != RECSYS__V1__SIMILARITY_MODE__SIMILARITY_MODE_BEHAVIOUR;
    bool cf = m->mode != RECSYS__V1__SIMILARITY_MODE__SIMILARITY_MODE_CONTENT;
    j->override = (blend_weights_t){content ? 1.0f : 0.0f, cf ? 1.0f : 0.0f, 0};
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

void gw_rank_score(gw_t *gw, httpsrv_req_t *r, gw_encoding_t enc, Recsys__V1__ScoreRequest *m)
{
    err_t err;
    rank_job_t *j = job_start(gw, r, enc, RANK_SCORE, &m->base, gw_check_score(m, &gw->limits, &err), &err);
    if (j == NULL)
        return;
    j->explain = m->explain;
    set_override(j, m->weights);
    uint32_t *hist;
    size_t nhist;
    if (history_items(j, m->user_id, m->history, m->n_history, &hist, &nhist, &err) != 0) {
        job_fail(j, GW_INVALID_ARGUMENT, err.msg);
        return;
    }
    j->base_history = nhist;
    size_t nc = m->n_candidate_item_ids;
    j->cand = arena_alloc(&j->arena, nc * sizeof(uint32_t));
    j->unknown = arena_alloc(&j->arena, nc * sizeof(char *));
    char **known_ids = arena_alloc(&j->arena, nc * sizeof(char *));
    uint8_t *dup = arena_alloc(&j->arena, gw_catalog_size(gw->cat) ? gw_catalog_size(gw->cat) : 1);
    if (j->cand == NULL || j->unknown == NULL || known_ids == NULL || dup == NULL) {
        job_fail(j, GW_RESOURCE_EXHAUSTED, "out of memory");
        return;
    }
    for (size_t i = 0; i < nc; i++) {
        uint32_t it = gw_catalog_find(gw->cat, m->candidate_item_ids[i]);
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
    gw_filter_compile(gw->cat, NULL, NULL, 0, &j->filter, &j->arena, &err);
    Recsys__V1__WorkerScoreRequest sc = RECSYS__V1__WORKER_SCORE_REQUEST__INIT;
    sc.user_id = m->user_id;
    sc.n_history = m->n_history;
    sc.history = copy_history(j, m->history, m->n_history);
    sc.k = (int32_t)j->ncand;
    sc.n_candidate_item_ids = j->ncand;
    sc.candidate_item_ids = known_ids;
    Recsys__V1__Filters all = RECSYS__V1__FILTERS__INIT;
    all.include_seen = 1;
    sc.filters = &all;
    sc.explain = m->explain;
    Recsys__V1__WorkerScoreRequest csc = sc;
    csc.user_id = "";
    csc.history = content_history(j, m->user_id, sc.history, sc.n_history, &csc.n_history);
    Recsys__V1__WorkerRequest wr = RECSYS__V1__WORKER_REQUEST__INIT, cwr;
    wr.body_case = RECSYS__V1__WORKER_REQUEST__BODY_SCORE;
    wr.score = &sc;
    cwr = wr;
    cwr.score = &csc;
    Recsys__V1__WorkerRequest *reqs[GW_NWORKERS] = {&cwr, &wr};
    dispatch(j, reqs);
}
