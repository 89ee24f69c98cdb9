/*
 * cf_service.c: the CF worker's operations for workersvc (see cf_service.h
 * for what each request answers).
 *
 * A request is answered in three steps: validate and translate the
 * protobuf message into dense indices (ids through the model's idmaps,
 * unknown ones collected for the reply), call the library (cf_recommend,
 * cf_score_items, cf_similar, cf_predict, cf_explain) with a scratch from
 * the model's pool, and turn the indices back into ids. Everything a
 * request allocates comes from its arena, so nothing is freed by hand and
 * an error path leaks nothing. The models are read-only; the only shared
 * mutable thing is the scratch pool behind its mutex.
 */
#define _POSIX_C_SOURCE 200809L
#include "services/cf/cf_service.h"
#include "common/base/clock.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "common/data/feedback.h"
#include "common/data/histmerge.h"
#include "common/base/log.h"
#include "common/math/topk.h"
#include "services/cf/cf_features.h"

#define E_NONE RECSYS__V1__WORKER_ERROR_CODE__WORKER_ERROR_CODE_NONE
#define E_INVALID RECSYS__V1__WORKER_ERROR_CODE__WORKER_ERROR_CODE_INVALID_ARGUMENT
#define E_NOT_FOUND RECSYS__V1__WORKER_ERROR_CODE__WORKER_ERROR_CODE_NOT_FOUND
#define E_INTERNAL RECSYS__V1__WORKER_ERROR_CODE__WORKER_ERROR_CODE_INTERNAL
typedef Recsys__V1__WorkerErrorCode code_t;

#define POOL_MAX 64

const cfg_option_t cf_service_options[] = {
    {"listen", CFG_STRING, "tcp://127.0.0.1:7102", "nng URL the worker answers on (tcp://host:port or ipc://path).",
     0, 0},
    {"admin-port", CFG_INT, "9102", "Admin HTTP port (/healthz, /readyz, /metrics); 0 picks a free one.", 0, 65535},
    {"model", CFG_STRING, "",
     "CF model file to map (or a directory holding " CF_SERVICE_MODEL_FILE "); empty: train from --data at start-up "
     "and on every SIGHUP.",
     0, 0},
    {"cf-predict-model", CFG_STRING, "auto",
     "Rating-prediction model: auto (the served model when it is mf, else an mf model trained alongside when "
     "training from --data), none, or an mf model file.",
     0, 0},
    {"cf-implicit-rating", CFG_DOUBLE, "4", "Rating given to a history event without one (view, click, like).",
     1e-6, 1e6},
    {"cf-cold-items", CFG_BOOL, "true",
     "Score items with too few ratings through the item-feature map (services/cf/cf_features.h) when the model "
     "holds genres.",
     0, 0},
    {"max-k", CFG_INT, "1000", "Largest k a request may ask for.", 1, 1000000},
    {"max-history", CFG_INT, "10000", "Most history events in one request.", 1, 10000000},
    {"max-candidates", CFG_INT, "10000", "Most candidates, predicted items or excluded ids in one request.", 1,
     10000000},
    CFG_END,
};

/* ------------------------------------------------------------ the served model */

typedef struct scratch_pool {
    pthread_mutex_t mu;
    size_t n;
    cf_scratch_t *free[POOL_MAX];
} scratch_pool_t;

struct cf_service {
    cf_model_t *m;  /* ranking */
    cf_model_t *mf; /* prediction, may be NULL or == m */
    cf_featmap_t *fm; /* cold items of m, may be NULL */
    uint32_t n_genres;
    char *genre_names[CF_SERVICE_MAX_GENRES];
    cf_service_limits_t lim;
    char source[512];
    scratch_pool_t *pool;
};

static cf_scratch_t *pool_get(scratch_pool_t *p)
{
    cf_scratch_t *s = NULL;
    pthread_mutex_lock(&p->mu);
    if (p->n > 0)
        s = p->free[--p->n];
    pthread_mutex_unlock(&p->mu);
    return s ? s : cf_scratch_new();
}

static void pool_put(scratch_pool_t *p, cf_scratch_t *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&p->mu);
    if (p->n < POOL_MAX) {
        p->free[p->n++] = s;
        s = NULL;
    }
    pthread_mutex_unlock(&p->mu);
    cf_scratch_free(s);
}

void cf_service_free(cf_service_t *s)
{
    if (!s)
        return;
    if (s->pool) {
        for (size_t i = 0; i < s->pool->n; i++)
            cf_scratch_free(s->pool->free[i]);
        pthread_mutex_destroy(&s->pool->mu);
        free(s->pool);
    }
    for (uint32_t g = 0; g < s->n_genres; g++)
        free(s->genre_names[g]);
    cf_featmap_free(s->fm);
    cf_model_release(s->mf);
    cf_model_release(s->m);
    free(s);
}

const cf_model_t *cf_service_model(const cf_service_t *s) { return s->m; }
const cf_model_t *cf_service_predict_model(const cf_service_t *s) { return s->mf; }
const cf_featmap_t *cf_service_featmap(const cf_service_t *s) { return s->fm; }

int cf_service_set_featmap(cf_service_t *s, const cf_featmap_params_t *p, err_t *err)
{
    cf_featmap_free(s->fm);
    s->fm = NULL;
    return cf_featmap_build(s->m, p, &s->fm, err);
}

/* cat must list m's items in m's order: the genre bits are its genre ids. */
static int take_genres(cf_service_t *s, const catalog_t *cat, err_t *err)
{
    const cf_model_t *m = s->m;
    if (catalog_size(cat) != m->n_items)
        return err_set(err, "the catalog has %u items, the model %u", catalog_size(cat), m->n_items);
    for (uint32_t i = 0; i < m->n_items; i++) {
        const char *a = catalog_id(cat, i), *b = idmap_key(m->item_ids, i, NULL);
        if (!a || !b || strcmp(a, b) != 0)
            return err_set(err, "item %u is '%s' in the catalog but '%s' in the model", i, a ? a : "",
                           b ? b : "");
    }
    uint32_t n = catalog_ngenres(cat);
    if (n > CF_SERVICE_MAX_GENRES)
        n = CF_SERVICE_MAX_GENRES; /* the masks hold the first 64 */
    for (uint32_t g = 0; g < n; g++) {
        s->genre_names[g] = strdup(catalog_genre_name(cat, g));
        if (!s->genre_names[g])
            return err_set(err, "out of memory");
        s->n_genres = g + 1;
    }
    return 0;
}

cf_service_t *cf_service_new(cf_model_t *main, cf_model_t *predict, const catalog_t *cat,
                             const cf_service_limits_t *lim, const char *source, err_t *err)
{
    cf_service_t *s = calloc(1, sizeof *s);
    if (!s) {
        cf_model_release(main);
        cf_model_release(predict);
        err_set(err, "out of memory");
        return NULL;
    }
    s->m = main;
    s->mf = predict;
    s->lim = *lim;
    snprintf(s->source, sizeof s->source, "%s", source ? source : "");
    if (!main) {
        err_set(err, "no model");
        goto fail;
    }
    if (!main->item_ids) {
        err_set(err, "the model has no item ids (train it with cf_model_set_catalog)");
        goto fail;
    }
    if (predict && (predict->kind != CF_KIND_MF || !predict->item_ids)) {
        err_set(err, "the prediction model must be an mf model with item ids, not %s", cf_kind_name(predict->kind));
        goto fail;
    }
    if (cat && take_genres(s, cat, err) < 0) {
        err_prefix(err, "genre names");
        goto fail;
    }
    s->pool = calloc(1, sizeof *s->pool);
    if (!s->pool) {
        err_set(err, "out of memory");
        goto fail;
    }
    pthread_mutex_init(&s->pool->mu, NULL);
    if (!main->version[0]) {
        /* A trained model: the time to the millisecond tells reloads apart. */
        snprintf(main->version, sizeof main->version, "cf-%s-trained-%lld", cf_kind_name(main->kind),
                 (long long)clock_wall_ms());
    }
    return s;
fail:
    cf_service_free(s);
    return NULL;
}

/* ------------------------------------------------------------ request helpers */

typedef struct req {
    const cf_service_t *s;
    const cf_model_t *m; /* the model ids are looked up in */
    arena_t *arena;
    err_t *err;
    uint32_t user;
    cf_event_t *events;
    size_t n_events;
    uint32_t *dislikes; /* skipped, but seen */
    size_t n_dislikes;
    char **unknown;
    size_t n_unknown, cap_unknown;
} req_t;

static code_t invalid(err_t *err, const char *fmt, ...) ERR_PRINTF(2, 3);
static code_t invalid(err_t *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char buf[sizeof err->msg];
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    err_set(err, "%s", buf);
    return E_INVALID;
}

static code_t oom(err_t *err)
{
    err_set(err, "out of memory");
    return E_INTERNAL;
}

static code_t check_str(err_t *err, const char *field, size_t i, const char *s)
{
    size_t n = strlen(s);
    if (n > CF_SERVICE_MAX_STR)
        return invalid(err, "%s[%zu]: %zu bytes, the limit is %d", field, i, n, CF_SERVICE_MAX_STR);
    return E_NONE;
}

static uint32_t find_id(const idmap_t *ids, const char *s)
{
    return ids && *s ? idmap_find(ids, s, strlen(s)) : IDMAP_NONE;
}

static int add_unknown(req_t *r, const char *id)
{
    if (r->n_unknown == r->cap_unknown) {
        size_t cap = r->cap_unknown ? r->cap_unknown * 2 : 8;
        char **p = arena_alloc(r->arena, cap * sizeof *p);
        if (!p)
            return -1;
        if (r->n_unknown)
            memcpy(p, r->unknown, r->n_unknown * sizeof *p);
        r->unknown = p;
        r->cap_unknown = cap;
    }
    r->unknown[r->n_unknown++] = (char *)id;
    return 0;
}

/* Whether the known user's training row rates item (sorted indices). */
static bool row_has(const void *ctx, uint32_t item)
{
    const sparse_view_t *row = ctx;
    size_t lo = 0, hi = row->nnz;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (row->idx[mid] < item)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < row->nnz && row->idx[lo] == item;
}

/* user_id and history into r (ids of r->m). dislike_value: what a DISLIKE
 * without a rating becomes (NAN: skipped, but seen). Of the events of one
 * item only the one common/data/histmerge.h picks counts (the latest rating, or
 * without one and without a stored rating the latest implicit event), so
 * the library's "an event overrides the stored rating" sees at most one. */
static code_t read_history(req_t *r, const char *user_id, Recsys__V1__HistoryEvent **hist, size_t n,
                           float dislike_value)
{
    err_t *err = r->err;
    if (n > r->s->lim.max_history)
        return invalid(err, "history: %zu events, the limit is %u (max-history)", n, r->s->lim.max_history);
    r->user = CF_NO_USER;
    if (user_id && *user_id) {
        if (check_str(err, "user_id", 0, user_id) != E_NONE)
            return E_INVALID;
        r->user = find_id(r->m->user_ids, user_id);
    }
    size_t m1 = n ? n : 1;
    r->events = arena_alloc(r->arena, m1 * sizeof *r->events);
    r->dislikes = arena_alloc(r->arena, m1 * sizeof *r->dislikes);
    uint32_t *items = arena_alloc(r->arena, m1 * sizeof *items), *from = arena_alloc(r->arena, m1 * sizeof *from);
    bool *expl = arena_alloc(r->arena, m1 * sizeof *expl);
    uint64_t *scratch = arena_alloc(r->arena, m1 * sizeof *scratch);
    uint8_t *keep = arena_alloc(r->arena, m1);
    if (!r->events || !r->dislikes || !items || !from || !expl || !scratch || !keep)
        return oom(err);
    size_t known = 0;
    for (size_t i = 0; i < n; i++) {
        const Recsys__V1__HistoryEvent *e = hist[i];
        if (check_str(err, "history", i, e->item_id) != E_NONE)
            return E_INVALID;
        if (!*e->item_id)
            return invalid(err, "history[%zu]: empty item_id", i);
        if (!isfinite(e->rating) || e->rating < 0.0f)
            return invalid(err, "history[%zu]: rating %g is not a finite number >= 0", i, (double)e->rating);
        uint32_t it = find_id(r->m->item_ids, e->item_id);
        if (it == IDMAP_NONE) {
            if (add_unknown(r, e->item_id) < 0)
                return oom(err);
            continue;
        }
        items[known] = it;
        expl[known] = histmerge_is_explicit(e->rating);
        from[known++] = (uint32_t)i;
    }
    sparse_view_t row = {NULL, NULL, 0};
    if (r->user != CF_NO_USER)
        row = sparse_csr_row(&r->m->hist, r->user);
    histmerge_pick(items, expl, known, row.nnz ? row_has : NULL, &row, scratch, keep);
    for (size_t k = 0; k < known; k++) {
        if (!keep[k])
            continue;
        const Recsys__V1__HistoryEvent *e = hist[from[k]];
        uint32_t it = items[k];
        float v = e->rating > 0.0f ? e->rating : r->s->lim.implicit_rating;
        if (e->rating == 0.0f && e->type == RECSYS__V1__EVENT_TYPE__EVENT_TYPE_DISLIKE) {
            if (isnan(dislike_value)) {
                r->dislikes[r->n_dislikes++] = it;
                continue;
            }
            v = dislike_value;
        }
        r->events[r->n_events++] = (cf_event_t){it, v};
    }
    return E_NONE;
}

static int genre_find(const void *ctx, const char *name)
{
    const cf_service_t *s = ((const req_t *)ctx)->s;
    for (uint32_t g = 0; g < s->n_genres; g++)
        if (strcasecmp(name, s->genre_names[g]) == 0)
            return (int)g;
    return -1;
}

static uint32_t item_find(const void *ctx, const char *id)
{
    uint32_t it = find_id(((const req_t *)ctx)->m->item_ids, id);
    return it == IDMAP_NONE ? FILTER_NO_ITEM : it;
}

/* Filters into f (common/wire/filter.h; unknown genre names match nothing).
 * *nothing: genre names were given and none is known. The request's
 * dislikes are excluded too, unless include_seen. */
static code_t read_filter(req_t *r, const Recsys__V1__Filters *pf, filter_t *f, int *nothing)
{
    err_t *err = r->err;
    const cf_model_t *m = r->m;
    *nothing = 0;
    if (pf && pf->n_genres && (r->s->n_genres == 0 || !m->genre_mask))
        return invalid(err, "filters.genres: this worker has no genre names (serve --model together with "
                            "--data DIR, or train from --data)");
    if (pf && (pf->year_min || pf->year_max) && !m->year && pf->year_min >= 0 && pf->year_max >= 0)
        return invalid(err, "filters: the model has no years (it was trained without its catalog)");
    filter_src_t src = {
        .genre_find = genre_find,
        .item_find = item_find,
        .ctx = r,
        .strict_genres = false,
        .max_genres = CF_SERVICE_MAX_GENRES,
        .max_exclude = r->s->lim.max_candidates,
        .max_str = CF_SERVICE_MAX_STR,
    };
    size_t n_dis = pf && pf->include_seen ? 0 : r->n_dislikes;
    if (filter_compile(pf, &src, r->dislikes, n_dis, f, r->arena, err) != 0)
        return E_INVALID;
    *nothing = f->nothing;
    return E_NONE;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Distinct items of the known user's row and the events: what the model
 * uses (the same count cf_recommend reports). */
static size_t history_used(const req_t *r)
{
    const cf_model_t *m = r->m;
    sparse_view_t row = {NULL, NULL, 0};
    if (r->user != CF_NO_USER)
        row = sparse_csr_row(&m->hist, r->user);
    if (r->n_events == 0)
        return row.nnz;
    uint32_t *it = arena_alloc(r->arena, r->n_events * sizeof *it);
    if (!it)
        return row.nnz;
    for (size_t i = 0; i < r->n_events; i++)
        it[i] = r->events[i].item;
    qsort(it, r->n_events, sizeof *it, cmp_u32);
    size_t used = row.nnz;
    for (size_t i = 0; i < r->n_events; i++) {
        if (i > 0 && it[i] == it[i - 1])
            continue;
        size_t lo = 0, hi = row.nnz;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (row.idx[mid] < it[i])
                lo = mid + 1;
            else
                hi = mid;
        }
        used += !(lo < row.nnz && row.idx[lo] == it[i]);
    }
    return used;
}

static const char *item_id(const cf_model_t *m, uint32_t i)
{
    const char *s = idmap_key(m->item_ids, i, NULL);
    return s ? s : "";
}

static Recsys__V1__WorkerScoredList *new_list(req_t *r, size_t n)
{
    Recsys__V1__WorkerScoredList *l = arena_alloc(r->arena, sizeof *l);
    if (!l)
        return NULL;
    recsys__v1__worker_scored_list__init(l);
    l->items = arena_alloc(r->arena, (n ? n : 1) * sizeof *l->items);
    if (!l->items)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        l->items[i] = arena_alloc(r->arena, sizeof **l->items);
        if (!l->items[i])
            return NULL;
        recsys__v1__worker_scored__init(l->items[i]);
    }
    l->n_items = n;
    l->n_unknown_item_ids = r->n_unknown;
    l->unknown_item_ids = r->unknown;
    return l;
}

/* ------------------------------------------------------------ cold items */


/* Top k of every item's score with cold items scored by the feature map:
 * the same seen / exclusion / genre / year rules as cf_recommend. */
static long recommend_featmap(const req_t *r, cf_scratch_t *sc, const cf_who_t *who, const filter_t *f,
                              size_t k, topk_item_t *out)
{
    const cf_model_t *m = r->m;
    size_t n = m->n_items, words = topk_bitmap_words(n);
    float *all = arena_alloc(r->arena, (n ? n : 1) * sizeof *all);
    uint64_t *bits = arena_alloc(r->arena, (words ? words : 1) * sizeof *bits);
    if (!all || !bits)
        return err_set(r->err, "out of memory");
    if (cf_featmap_score_top(r->s->fm, m, sc, who, f, k, all, r->err) < 0)
        return -1;
    memset(bits, 0, words * sizeof *bits);
    if (!f->include_seen) {
        if (who->user != CF_NO_USER) {
            sparse_view_t row = sparse_csr_row(&m->hist, who->user);
            for (size_t i = 0; i < row.nnz; i++)
                topk_bitmap_set(bits, row.idx[i]);
        }
        for (size_t i = 0; i < who->n_events; i++)
            topk_bitmap_set(bits, who->events[i].item);
    }
    filter_exclude_bits(f, bits, n);
    filter_keep_t kc = cf_filter_keep_ctx(m, f);
    topk_filter_t tf = {bits, NULL, n, filter_has_attrs(f) ? filter_keep : NULL, &kc};
    return (long)topk_dense(all, n, k, &tf, out);
}

/* Candidate scores: cold candidates get the feature map's score. */
static int rescore_cold(const req_t *r, cf_scratch_t *sc, const cf_who_t *who, const uint32_t *idx, size_t n,
                        float *scores)
{
    const cf_featmap_t *fm = r->s->fm;
    size_t cold = 0;
    for (size_t i = 0; i < n; i++)
        cold += !cf_featmap_is_warm(fm, idx[i]);
    if (!cold)
        return 0;
    float *z = arena_alloc(r->arena, ((size_t)cf_featmap_nfeatures(fm) + 1) * sizeof *z);
    if (!z)
        return err_set(r->err, "out of memory");
    if (cf_featmap_profile(fm, r->m, sc, who, z, r->err) < 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!cf_featmap_is_warm(fm, idx[i]))
            scores[i] = cf_featmap_score(fm, z, idx[i]);
    return 0;
}

/* ------------------------------------------------------------ requests */

static code_t do_score(const cf_service_t *s, cf_scratch_t *sc, const Recsys__V1__WorkerScoreRequest *q,
                       Recsys__V1__WorkerReply *reply, arena_t *arena, err_t *err)
{
    req_t r = {.s = s, .m = s->m, .arena = arena, .err = err};
    const cf_model_t *m = s->m;
    /* A DISLIKE is negative feedback (common/data/feedback.h): it folds in
     * as FEEDBACK_DISLIKE_RATING, evidence against its item and its
     * neighbours. A model without a rating scale (implicit data) cannot
     * weigh it: there it is only seen. */
    float dislike = feedback_scale_has_negatives(m->rmax) ? FEEDBACK_DISLIKE_RATING : NAN;
    code_t c = read_history(&r, q->user_id, q->history, q->n_history, dislike);
    if (c != E_NONE)
        return c;
    cf_who_t who = {r.user, r.events, r.n_events};
    size_t nc = q->n_candidate_item_ids;
    topk_item_t *top;
    long n;
    size_t used;
    if (nc > 0) {
        if (nc > s->lim.max_candidates)
            return invalid(err, "candidate_item_ids: %zu ids, the limit is %u (max-candidates)", nc,
                           s->lim.max_candidates);
        if (q->k < 0 || (uint32_t)q->k > s->lim.max_k)
            return invalid(err, "k=%d out of range [0, %u] with candidates (max-k)", q->k, s->lim.max_k);
        uint32_t *idx = arena_alloc(arena, nc * sizeof *idx);
        float *scores = arena_alloc(arena, nc * sizeof *scores);
        topk_item_t *pairs = arena_alloc(arena, nc * sizeof *pairs);
        top = arena_alloc(arena, nc * sizeof *top);
        if (!idx || !scores || !pairs || !top)
            return oom(err);
        size_t nk = 0;
        for (size_t i = 0; i < nc; i++) {
            if (check_str(err, "candidate_item_ids", i, q->candidate_item_ids[i]) != E_NONE)
                return E_INVALID;
            uint32_t it = find_id(m->item_ids, q->candidate_item_ids[i]);
            if (it == IDMAP_NONE) {
                if (add_unknown(&r, q->candidate_item_ids[i]) < 0)
                    return oom(err);
            } else {
                idx[nk++] = it;
            }
        }
        used = history_used(&r);
        if (nk && cf_score_items(m, sc, &who, idx, nk, scores, err) < 0)
            return E_INTERNAL;
        if (nk && s->fm && used > 0 && rescore_cold(&r, sc, &who, idx, nk, scores) < 0)
            return E_INTERNAL;
        for (size_t i = 0; i < nk; i++)
            pairs[i] = (topk_item_t){(uint32_t)i, scores[i]};
        size_t want = q->k > 0 && (size_t)q->k < nk ? (size_t)q->k : nk;
        n = want ? (long)topk_pairs(pairs, nk, want, NULL, top) : 0;
        for (long i = 0; i < n; i++)
            top[i].index = idx[top[i].index];
    } else {
        if (q->k < 1 || (uint32_t)q->k > s->lim.max_k)
            return invalid(err, "k=%d out of range [1, %u] (max-k)", q->k, s->lim.max_k);
        filter_t f;
        int nothing;
        if ((c = read_filter(&r, q->filters, &f, &nothing)) != E_NONE)
            return c;
        top = arena_alloc(arena, (size_t)q->k * sizeof *top);
        if (!top)
            return oom(err);
        used = history_used(&r);
        if (nothing)
            n = 0;
        else if (s->fm && used > 0) /* nobody: plain popularity, cold items have none */
            n = recommend_featmap(&r, sc, &who, &f, (size_t)q->k, top);
        else
            n = cf_recommend(m, sc, &who, &f, (size_t)q->k, top, &used, err);
        if (n < 0)
            return E_INTERNAL;
    }
    Recsys__V1__WorkerScoredList *l = new_list(&r, (size_t)n);
    if (!l)
        return oom(err);
    l->history_used = (int32_t)used;
    for (long i = 0; i < n; i++) {
        l->items[i]->item_id = (char *)item_id(m, top[i].index);
        l->items[i]->score = top[i].score;
    }
    if (q->explain && used > 0) {
        for (long i = 0; i < n; i++) {
            uint32_t b = cf_explain(m, sc, &who, top[i].index);
            if (b != CF_NO_USER)
                l->items[i]->because_item_id = (char *)item_id(m, b);
        }
    }
    reply->body_case = RECSYS__V1__WORKER_REPLY__BODY_SCORED;
    reply->scored = l;
    return E_NONE;
}

static code_t do_similar(const cf_service_t *s, cf_scratch_t *sc, const Recsys__V1__WorkerSimilarRequest *q,
                         Recsys__V1__WorkerReply *reply, arena_t *arena, err_t *err)
{
    req_t r = {.s = s, .m = s->m, .arena = arena, .err = err};
    if (check_str(err, "item_id", 0, q->item_id) != E_NONE)
        return E_INVALID;
    if (!*q->item_id)
        return invalid(err, "similar: empty item_id");
    if (q->k < 1 || (uint32_t)q->k > s->lim.max_k)
        return invalid(err, "k=%d out of range [1, %u] (max-k)", q->k, s->lim.max_k);
    uint32_t it = find_id(s->m->item_ids, q->item_id);
    if (it == IDMAP_NONE) {
        err_set(err, "item '%s' is not known to the cf model", q->item_id);
        return E_NOT_FOUND;
    }
    filter_t f;
    int nothing;
    code_t c = read_filter(&r, q->filters, &f, &nothing);
    if (c != E_NONE)
        return c;
    topk_item_t *top = arena_alloc(arena, (size_t)q->k * sizeof *top);
    if (!top)
        return oom(err);
    long n = nothing ? 0 : cf_similar(s->m, sc, it, &f, (size_t)q->k, top, err);
    if (n < 0)
        return E_INTERNAL;
    Recsys__V1__WorkerScoredList *l = new_list(&r, (size_t)n);
    if (!l)
        return oom(err);
    for (long i = 0; i < n; i++) {
        l->items[i]->item_id = (char *)item_id(s->m, top[i].index);
        l->items[i]->score = top[i].score;
        l->items[i]->because_item_id = (char *)item_id(s->m, it);
    }
    reply->body_case = RECSYS__V1__WORKER_REPLY__BODY_SCORED;
    reply->scored = l;
    return E_NONE;
}

static code_t do_predict(const cf_service_t *s, cf_scratch_t *sc, const Recsys__V1__WorkerPredictRequest *q,
                         Recsys__V1__WorkerReply *reply, arena_t *arena, err_t *err)
{
    const cf_model_t *m = s->mf;
    if (!m)
        return invalid(err, "rating prediction needs an mf model, and this worker serves %s alone: train from "
                            "--data with cf-predict-model auto, or give cf-predict-model an mf model file",
                       cf_kind_name(s->m->kind));
    size_t n = q->n_item_ids;
    if (n == 0)
        return invalid(err, "predict: item_ids is empty");
    if (n > s->lim.max_candidates)
        return invalid(err, "predict: %zu item_ids, the limit is %u (max-candidates)", n, s->lim.max_candidates);
    req_t r = {.s = s, .m = m, .arena = arena, .err = err};
    /* A dislike is information for a rating model: the lowest rating. */
    code_t c = read_history(&r, q->user_id, q->history, q->n_history, m->rmin);
    if (c != E_NONE)
        return c;
    uint32_t *idx = arena_alloc(arena, n * sizeof *idx);
    size_t *pos = arena_alloc(arena, n * sizeof *pos);
    float *got = arena_alloc(arena, n * sizeof *got);
    float *out = arena_alloc(arena, n * sizeof *out);
    if (!idx || !pos || !got || !out)
        return oom(err);
    float mean = m->mu < m->rmin ? m->rmin : m->mu > m->rmax ? m->rmax : m->mu;
    size_t nk = 0;
    for (size_t i = 0; i < n; i++) {
        if (check_str(err, "item_ids", i, q->item_ids[i]) != E_NONE)
            return E_INVALID;
        uint32_t it = find_id(m->item_ids, q->item_ids[i]);
        out[i] = mean;
        if (it == IDMAP_NONE) {
            if (add_unknown(&r, q->item_ids[i]) < 0)
                return oom(err);
            continue;
        }
        idx[nk] = it;
        pos[nk++] = i;
    }
    cf_who_t who = {r.user, r.events, r.n_events};
    if (nk && cf_predict(m, sc, &who, idx, nk, got, err) < 0)
        return E_INTERNAL;
    for (size_t j = 0; j < nk; j++)
        out[pos[j]] = got[j];
    Recsys__V1__WorkerPredictions *p = arena_alloc(arena, sizeof *p);
    if (!p)
        return oom(err);
    recsys__v1__worker_predictions__init(p);
    p->n_ratings = n;
    p->ratings = out;
    /* Unknown history ids first, then unknown items, as in score. */
    p->n_unknown_item_ids = r.n_unknown;
    p->unknown_item_ids = r.unknown;
    reply->body_case = RECSYS__V1__WORKER_REPLY__BODY_PREDICTIONS;
    reply->predictions = p;
    return E_NONE;
}

static code_t svc_handle(const void *model, const Recsys__V1__WorkerRequest *req, Recsys__V1__WorkerReply *reply,
                         arena_t *arena, err_t *err)
{
    const cf_service_t *s = model;
    if (req->body_case == RECSYS__V1__WORKER_REQUEST__BODY_ITEMS)
        return invalid(err, "items: the cf worker holds no catalog (titles, genres); ask the content worker or "
                            "the gateway");
    cf_scratch_t *sc = pool_get(s->pool);
    if (!sc)
        return oom(err);
    code_t c;
    switch (req->body_case) {
    case RECSYS__V1__WORKER_REQUEST__BODY_SCORE: c = do_score(s, sc, req->score, reply, arena, err); break;
    case RECSYS__V1__WORKER_REQUEST__BODY_SIMILAR: c = do_similar(s, sc, req->similar, reply, arena, err); break;
    case RECSYS__V1__WORKER_REQUEST__BODY_PREDICT: c = do_predict(s, sc, req->predict, reply, arena, err); break;
    default: c = invalid(err, "unsupported request body %d", (int)req->body_case); break;
    }
    pool_put(s->pool, sc);
    return c;
}

/* ------------------------------------------------------------ describing */

static const char *svc_name(const void *model)
{
    const cf_service_t *s = model;
    return s->m->kind == CF_KIND_POP ? "popularity" : cf_kind_name(s->m->kind);
}

static const char *svc_version(const void *model)
{
    return ((const cf_service_t *)model)->m->version;
}

static void svc_info(const void *model, Recsys__V1__WorkerModelInfo *info, arena_t *arena)
{
    (void)arena;
    const cf_service_t *s = model;
    info->n_items = s->m->n_items;
    info->n_users = s->m->n_users;
    info->n_features = s->m->kind == CF_KIND_EASE ? s->m->n_items : s->m->dim;
    info->data_source = (char *)s->source;
}

static uint64_t model_bytes(const cf_model_t *m)
{
    uint64_t ni = m->n_items, nu = m->n_users, d = m->dim;
    uint64_t b = m->hist.nnz * 8 + (nu + 1) * 8 + ni * 4;
    if (m->kind == CF_KIND_ALS || m->kind == CF_KIND_MF)
        b += (nu + ni) * d * 4 + ni * 4 + d * d * 4;
    if (m->kind == CF_KIND_MF)
        b += (nu + ni) * 4;
    if (m->kind == CF_KIND_EASE)
        b += ni * ni * 4;
    b += cf_knn_bytes(m);
    if (m->genre_mask)
        b += ni * 12;
    if (m->user_ids)
        b += idmap_memory(m->user_ids);
    if (m->item_ids)
        b += idmap_memory(m->item_ids);
    return b;
}

static uint64_t svc_memory(const void *model)
{
    const cf_service_t *s = model;
    return model_bytes(s->m) + (s->mf && s->mf != s->m ? model_bytes(s->mf) : 0);
}

/* ------------------------------------------------------------ loading */

int cf_service_train(const dataset_t *ds, const cf_params_t *p, int want_predict, cf_model_t **main,
                     cf_model_t **predict, err_t *err)
{
    *main = *predict = NULL;
    if (!ds->ratings)
        return err_set(err, "no ratings to train on%s%s", ds->ratings_note[0] ? ": " : "", ds->ratings_note);
    cf_data_t d;
    if (cf_data_from_ratings(&d, ds->ratings, idmap_size(ds->users), catalog_size(ds->catalog), NULL, err) < 0)
        return -1;
    int rc = -1;
    if (cf_train(&d, p, main, err) < 0 || cf_model_set_catalog(*main, ds->users, ds->catalog, err) < 0)
        goto out;
    if (want_predict && (*main)->kind != CF_KIND_MF &&
        (cf_train_mf(&d, &p->mf, predict, err) < 0 || cf_model_set_catalog(*predict, ds->users, ds->catalog, err) < 0))
        goto out;
    rc = 0;
out:
    cf_data_free(&d);
    if (rc < 0) {
        cf_model_release(*main);
        cf_model_release(*predict);
        *main = *predict = NULL;
    }
    return rc;
}

/* A loaded model file; errors name the file. */
static cf_model_t *load_file(const char *path, err_t *err)
{
    cf_model_t *m = NULL;
    if (cf_model_load(path, &m, err) < 0) {
        if (!strstr(err->msg, path))
            err_prefix(err, "%s", path);
        return NULL;
    }
    return m;
}

static void *svc_load(const cfg_t *cfg, err_t *err)
{
    cf_params_t p;
    if (cf_params_from_cfg(cfg, &p, err) < 0)
        return NULL;
    cf_service_limits_t lim = {(uint32_t)cfg_int(cfg, "max-k"), (uint32_t)cfg_int(cfg, "max-history"),
                               (uint32_t)cfg_int(cfg, "max-candidates"),
                               (float)cfg_double(cfg, "cf-implicit-rating")};
    const char *model = cfg_str(cfg, "model"), *data = cfg_str(cfg, "data");
    const char *pred = cfg_str(cfg, "cf-predict-model");
    int pred_auto = !pred || !*pred || strcmp(pred, "auto") == 0;
    int pred_none = pred && strcmp(pred, "none") == 0;
    dataset_opts_t dopts;
    dataset_opts_from_cfg(cfg, &dopts);
    dataset_t *ds = NULL;
    cf_model_t *m = NULL, *mf = NULL;
    char source[512];
    if (model && *model) {
        char path[4096];
        struct stat st;
        if (stat(model, &st) == 0 && S_ISDIR(st.st_mode))
            snprintf(path, sizeof path, "%s/%s", model, CF_SERVICE_MODEL_FILE);
        else
            snprintf(path, sizeof path, "%s", model);
        snprintf(source, sizeof source, "%s", path);
        if (!(m = load_file(path, err)))
            goto fail;
        if (p.kind != CF_KIND_AUTO && p.kind != m->kind) {
            err_set(err, "%s holds a %s model, but cf-model is %s", path, cf_kind_name(m->kind), cf_kind_name(p.kind));
            goto fail;
        }
        if (data && *data) {
            dopts.skip_ratings = true;
            if (dataset_load(data, &ds, &dopts, err) < 0) {
                err_prefix(err, "%s", data);
                goto fail;
            }
        }
    } else if (data && *data) {
        snprintf(source, sizeof source, "%s", data);
        if (dataset_load(data, &ds, &dopts, err) < 0 ||
            cf_service_train(ds, &p, pred_auto, &m, &mf, err) < 0) {
            err_prefix(err, "%s", data);
            goto fail;
        }
    } else {
        err_set(err, "no model: give --model FILE (or a directory holding %s) or --data DIR to train from",
                CF_SERVICE_MODEL_FILE);
        goto fail;
    }
    if (pred_none) {
        cf_model_release(mf);
        mf = NULL;
    } else if (pred_auto) {
        if (m->kind == CF_KIND_MF)
            mf = cf_model_retain(m);
    } else if (!(mf = load_file(pred, err))) {
        goto fail;
    } else if (mf->kind != CF_KIND_MF) {
        err_set(err, "%s: cf-predict-model needs an mf model, the file holds %s", pred, cf_kind_name(mf->kind));
        goto fail;
    }
    cf_service_t *s = cf_service_new(m, mf, ds ? ds->catalog : NULL, &lim, source, err);
    m = mf = NULL;
    if (!s && data && *data)
        err_prefix(err, "%s and %s", source, data);
    if (s && cfg_bool(cfg, "cf-cold-items") && s->m->genre_mask) {
        /* Without the map the worker still answers (cold items rank last). */
        cf_featmap_params_t fp;
        err_t ferr;
        if (cf_featmap_params_from_cfg(cfg, &fp, &ferr) < 0 || cf_service_set_featmap(s, &fp, &ferr) < 0)
            log_kv(LOG_WARN, "cold-item feature map not built", "error", ferr.msg, NULL);
    }
    dataset_free(ds);
    return s;
fail:
    cf_model_release(m);
    cf_model_release(mf);
    dataset_free(ds);
    return NULL;
}

static void svc_free(void *model)
{
    cf_service_free(model);
}

const workersvc_ops_t cf_service_ops = {
    .service = "cf",
    .options = cf_service_options,
    .load = svc_load,
    .free = svc_free,
    .name = svc_name,
    .version = svc_version,
    .handle = svc_handle,
    .info = svc_info,
    .memory = svc_memory,
};

int cf_service_add_options(cfg_t *cfg, err_t *err)
{
    if (workersvc_add_options(cfg, &cf_service_ops, err) < 0 || cfg_add(cfg, "data", dataset_options, err) < 0 ||
        cfg_add(cfg, "cf", cf_options, err) < 0 || cfg_add(cfg, "cf cold items", cf_featmap_options, err) < 0)
        return -1;
    return 0;
}
