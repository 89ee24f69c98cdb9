/*
 * content_service.c: the content model as a worker (see content_service.h
 * for what each request means).
 *
 * Each handler validates the whole request first (limits, lengths, ids),
 * turns external ids into item indices, calls the model library, and
 * builds the reply in the request's arena; strings in the reply point into
 * the model, which outlives the reply because the skeleton packs it before
 * releasing the model. A content_service_t is the model plus what serving
 * needs beside it: limits, lower-cased titles for search and the scratch
 * pool; it is immutable except for the pool, which has its own mutex.
 */
#include "services/content/content_service.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "common/data/dataset.h"
#include "common/data/feedback.h"
#include "common/data/histmerge.h"
#include "common/text/text.h"

#define C_OK RECSYS__V1__WORKER_ERROR_CODE__WORKER_ERROR_CODE_NONE
#define C_INVALID RECSYS__V1__WORKER_ERROR_CODE__WORKER_ERROR_CODE_INVALID_ARGUMENT
#define C_NOT_FOUND RECSYS__V1__WORKER_ERROR_CODE__WORKER_ERROR_CODE_NOT_FOUND
#define C_INTERNAL RECSYS__V1__WORKER_ERROR_CODE__WORKER_ERROR_CODE_INTERNAL

typedef Recsys__V1__WorkerErrorCode code_t;

const cfg_option_t content_service_options[] = {
    {"listen", CFG_STRING, "tcp://127.0.0.1:7101", "nng URL the worker listens on (tcp://host:port, ipc:///path).",
     0, 0},
    {"admin-port", CFG_INT, "9101", "Admin HTTP port (/healthz, /readyz, /metrics); 0 picks a free port.", 0,
     65535},
    {"model", CFG_STRING, NULL,
     "Model file to map, or a directory holding " CONTENT_SERVICE_MODEL_FILE
     "; empty: build the model from --data at start-up (and on SIGHUP).",
     0, 0},
    {"max-k", CFG_INT, "1000", "Largest k a request may ask for.", 1, 1000000},
    {"max-history", CFG_INT, "5000", "Most history events a score request may carry.", 1, 10000000},
    {"max-candidates", CFG_INT, "10000",
     "Most candidates, look-up ids or excluded ids a request may carry.", 1, 10000000},
    CFG_END,
};

#define POOL_MAX 64

struct content_service {
    content_model_t *model;
    content_service_limits_t lim;
    char *source;
    char *ltitles;      /* lower-cased titles, NUL-terminated, back to back */
    uint64_t *ltoff;    /* n_items offsets into ltitles */
    size_t ltitles_bytes;
    pthread_mutex_t mu; /* guards the pool */
    content_scratch_t *pool[POOL_MAX];
    size_t npool;
};

/* ------------------------------------------------------------ life cycle */

static int lower_titles(content_service_t *s, err_t *err)
{
    uint32_t n = content_model_size(s->model);
    size_t total = 0;
    for (uint32_t i = 0; i < n; i++)
        total += TEXT_LOWER_MAX(strlen(content_model_title(s->model, i))) + 1;
    s->ltitles = malloc(total ? total : 1);
    s->ltoff = malloc((n ? n : 1) * sizeof *s->ltoff);
    if (!s->ltitles || !s->ltoff)
        return err_set(err, "out of memory (titles of %u items)", n);
    size_t at = 0;
    for (uint32_t i = 0; i < n; i++) {
        const char *t = content_model_title(s->model, i);
        size_t len = strlen(t);
        s->ltoff[i] = at;
        at += text_lower(t, len, s->ltitles + at, TEXT_LOWER_MAX(len) + 1) + 1;
    }
    s->ltitles_bytes = total;
    return 0;
}

content_service_t *content_service_new(content_model_t *m, const content_service_limits_t *lim, const char *source,
                                       err_t *err)
{
    content_service_t *s = calloc(1, sizeof *s);
    if (!s) {
        content_model_release(m);
        err_set(err, "out of memory");
        return NULL;
    }
    s->model = m;
    s->lim = *lim;
    pthread_mutex_init(&s->mu, NULL);
    s->source = strdup(source ? source : "");
    if (!s->source) {
        content_service_free(s);
        err_set(err, "out of memory");
        return NULL;
    }
    if (lower_titles(s, err)) {
        content_service_free(s);
        return NULL;
    }
    return s;
}

void content_service_free(content_service_t *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->npool; i++)
        content_scratch_free(s->pool[i]);
    pthread_mutex_destroy(&s->mu);
    content_model_release(s->model);
    free(s->source);
    free(s->ltitles);
    free(s->ltoff);
    free(s);
}

const content_model_t *content_service_model(const content_service_t *s)
{
    return s->model;
}

static content_scratch_t *scratch_get(content_service_t *s)
{
    content_scratch_t *sc = NULL;
    pthread_mutex_lock(&s->mu);
    if (s->npool)
        sc = s->pool[--s->npool];
    pthread_mutex_unlock(&s->mu);
    return sc ? sc : content_scratch_new();
}

static void scratch_put(content_service_t *s, content_scratch_t *sc)
{
    pthread_mutex_lock(&s->mu);
    if (s->npool < POOL_MAX) {
        s->pool[s->npool++] = sc;
        sc = NULL;
    }
    pthread_mutex_unlock(&s->mu);
    content_scratch_free(sc);
}

int content_service_add_options(cfg_t *cfg, err_t *err)
{
    if (workersvc_add_options(cfg, &content_service_ops, err) || cfg_add(cfg, "data", dataset_options, err) ||
        cfg_add(cfg, "content model", content_options, err))
        return -1;
    return 0;
}

static void *svc_load(const cfg_t *cfg, err_t *err)
{
    content_service_limits_t lim = {(uint32_t)cfg_int(cfg, "max-k"), (uint32_t)cfg_int(cfg, "max-history"),
                                    (uint32_t)cfg_int(cfg, "max-candidates")};
    const char *model = cfg_str(cfg, "model"), *data = cfg_str(cfg, "data");
    content_model_t *m = NULL;
    char source[4096];
    if (model && *model) {
        struct stat st;
        if (stat(model, &st) == 0 && S_ISDIR(st.st_mode))
            snprintf(source, sizeof source, "%s/%s", model, CONTENT_SERVICE_MODEL_FILE);
        else
            snprintf(source, sizeof source, "%s", model);
        /* The loader's messages start with the path. */
        if (content_model_load(source, &m, err))
            return NULL;
    } else if (data && *data) {
        dataset_opts_t opts;
        dataset_opts_from_cfg(cfg, &opts);
        opts.skip_ratings = true;
        dataset_t *ds = NULL;
        if (dataset_load(data, &ds, &opts, err)) {
            err_prefix(err, "%s", data);
            return NULL;
        }
        content_params_t p;
        content_params_from_cfg(cfg, &p);
        int rc = content_model_build(ds->catalog, &p, &m, err);
        dataset_free(ds);
        if (rc) {
            err_prefix(err, "building from %s", data);
            return NULL;
        }
        snprintf(source, sizeof source, "%s", data);
    } else {
        err_set(err, "no model: give --model FILE|DIR or --data DIR");
        return NULL;
    }
    return content_service_new(m, &lim, source, err);
}

static void svc_free(void *model)
{
    content_service_free(model);
}

static const char *svc_name(const void *model)
{
    (void)model;
    return "tfidf";
}

static const char *svc_version(const void *model)
{
    return content_model_version(((const content_service_t *)model)->model);
}

static void svc_info(const void *model, Recsys__V1__WorkerModelInfo *info, arena_t *arena)
{
    (void)arena;
    const content_service_t *s = model;
    info->n_items = content_model_size(s->model);
    info->n_features = content_model_nterms(s->model);
    info->n_users = 0;
    info->data_source = s->source;
}

static uint64_t svc_memory(const void *model)
{
    const content_service_t *s = model;
    return content_model_bytes(s->model) + s->ltitles_bytes +
           (uint64_t)content_model_size(s->model) * sizeof *s->ltoff;
}

/* ------------------------------------------------------------ validation */

/* A string field: at most CONTENT_SERVICE_MAX_STR bytes, and not empty when
 * required. field names it in the message ("history[3].item_id"). */
static int check_str(const char *field, const char *v, int required, err_t *err)
{
    size_t len = strnlen(v, CONTENT_SERVICE_MAX_STR + 1);
    if (len > CONTENT_SERVICE_MAX_STR)
        return err_set(err, "%s: longer than %d bytes", field, CONTENT_SERVICE_MAX_STR);
    if (required && len == 0)
        return err_set(err, "%s: empty", field);
    return 0;
}

static int check_list(const char *field, size_t n, size_t max, err_t *err)
{
    if (n > max)
        return err_set(err, "%s: %zu entries, at most %zu allowed", field, n, max);
    return 0;
}

static int check_k(const char *field, int32_t k, uint32_t max_k, int allow_zero, err_t *err)
{
    if ((k == 0 && allow_zero) || (k >= 1 && (uint32_t)k <= max_k))
        return 0;
    return err_set(err, "%s=%d out of range [%d, %u]", field, (int)k, allow_zero ? 0 : 1, max_k);
}

static uint32_t find_id(const content_model_t *m, const char *id)
{
    return content_model_find(m, id, strlen(id));
}

static int genre_find(const void *ctx, const char *name)
{
    const content_model_t *m = ctx;
    uint32_t ng = content_model_ngenres(m);
    for (uint32_t g = 0; g < ng; g++)
        if (strcasecmp(content_model_genre_name(m, g), name) == 0)
            return (int)g;
    return -1;
}

static uint32_t item_find(const void *ctx, const char *id)
{
    uint32_t j = find_id(ctx, id);
    return j == CONTENT_NONE ? FILTER_NO_ITEM : j;
}

/* Request filters -> filter_t (common/wire/filter.h; unknown genre names
 * match nothing). *none is set when the genre filter can match nothing
 * (every genre name unknown). extra (n_extra) are item indices to exclude
 * besides the request's own. */
static code_t parse_filters(const content_service_t *s, const Recsys__V1__Filters *f, const uint32_t *extra,
                            size_t n_extra, filter_t *out, int *none, arena_t *a, err_t *err)
{
    filter_src_t src = {
        .genre_find = genre_find,
        .item_find = item_find,
        .ctx = s->model,
        .strict_genres = false,
        .max_genres = CONTENT_SERVICE_MAX_GENRES,
        .max_exclude = s->lim.max_candidates,
        .max_str = CONTENT_SERVICE_MAX_STR,
    };
    *none = 0;
    if (filter_compile(f, &src, extra, n_extra, out, a, err) != 0)
        return strcmp(err->msg, "out of memory") == 0 ? C_INTERNAL : C_INVALID;
    *none = out->nothing;
    return C_OK;
}

/* ------------------------------------------------------------ replies */

static Recsys__V1__WorkerScoredList *scored_list(arena_t *a, size_t n)
{
    Recsys__V1__WorkerScoredList *l = arena_alloc(a, sizeof *l);
    if (!l)
        return NULL;
    recsys__v1__worker_scored_list__init(l);
    if (n) {
        l->items = arena_alloc(a, n * sizeof *l->items);
        Recsys__V1__WorkerScored *cells = arena_alloc(a, n * sizeof *cells);
        if (!l->items || !cells)
            return NULL;
        for (size_t i = 0; i < n; i++) {
            recsys__v1__worker_scored__init(&cells[i]);
            l->items[i] = &cells[i];
        }
    }
    return l;
}

static code_t reply_scored(Recsys__V1__WorkerReply *reply, Recsys__V1__WorkerScoredList *l, err_t *err)
{
    if (!l)
        return err_set(err, "out of memory"), C_INTERNAL;
    reply->body_case = RECSYS__V1__WORKER_REPLY__BODY_SCORED;
    reply->scored = l;
    return C_OK;
}

/* ------------------------------------------------------------ similar */

static code_t handle_similar(content_service_t *s, const Recsys__V1__WorkerSimilarRequest *r,
                             Recsys__V1__WorkerReply *reply, arena_t *a, err_t *err)
{
    const content_model_t *m = s->model;
    if (check_str("item_id", r->item_id, 1, err) || check_k("k", r->k, s->lim.max_k, 0, err))
        return C_INVALID;
    filter_t f;
    int none;
    code_t c = parse_filters(s, r->filters, NULL, 0, &f, &none, a, err);
    if (c != C_OK)
        return c;
    uint32_t item = find_id(m, r->item_id);
    if (item == CONTENT_NONE)
        return err_set(err, "unknown item id '%s'", r->item_id), C_NOT_FOUND;
    if (none)
        return reply_scored(reply, scored_list(a, 0), err);
    size_t k = (size_t)r->k;
    content_hit_t *hits = arena_alloc(a, k * sizeof *hits);
    content_scratch_t *sc = scratch_get(s);
    if (!hits || !sc) {
        if (sc)
            scratch_put(s, sc);
        return err_set(err, "out of memory"), C_INTERNAL;
    }
    long got = content_similar(m, item, k, &f, sc, hits, err);
    scratch_put(s, sc);
    if (got < 0)
        return C_INTERNAL;
    Recsys__V1__WorkerScoredList *l = scored_list(a, (size_t)got);
    if (!l)
        return reply_scored(reply, NULL, err);
    l->n_items = (size_t)got;
    for (long i = 0; i < got; i++) {
        l->items[i]->item_id = (char *)content_model_id(m, hits[i].item);
        l->items[i]->score = hits[i].score;
    }
    return reply_scored(reply, l, err);
}

/* ------------------------------------------------------------ score */

static code_t handle_score(content_service_t *s, const Recsys__V1__WorkerScoreRequest *r,
                           Recsys__V1__WorkerReply *reply, arena_t *a, err_t *err)
{
    const content_model_t *m = s->model;
    size_t nh = r->n_history, nc = r->n_candidate_item_ids;
    if (check_str("user_id", r->user_id, 0, err))
        return C_INVALID;
    if (nh == 0)
        return err_set(err, "empty history: the content model knows no users, send the history%s",
                       r->user_id[0] ? " with the user_id" : ""),
               C_INVALID;
    if (check_list("history", nh, s->lim.max_history, err) ||
        check_list("candidate_item_ids", nc, s->lim.max_candidates, err) ||
        check_k("k", r->k, s->lim.max_k, nc > 0, err))
        return C_INVALID;

    content_event_t *ev = arena_alloc(a, nh * sizeof *ev);
    const char **unknown = arena_alloc(a, (nh + nc) * sizeof *unknown);
    uint32_t *cand = nc ? arena_alloc(a, nc * sizeof *cand) : NULL;
    /* known history events: item, explicit?, position; then the pick */
    uint32_t *hit = arena_alloc(a, nh * sizeof *hit), *hpos = arena_alloc(a, nh * sizeof *hpos);
    bool *hexpl = arena_alloc(a, nh * sizeof *hexpl);
    uint64_t *scratch = arena_alloc(a, nh * sizeof *scratch);
    uint8_t *keep = arena_alloc(a, nh);
    if (!ev || !unknown || (nc && !cand) || !hit || !hpos || !hexpl || !scratch || !keep)
        return err_set(err, "out of memory"), C_INTERNAL;
    size_t nev = 0, nunk = 0, ncand = 0, nknown = 0;
    for (size_t h = 0; h < nh; h++) {
        const Recsys__V1__HistoryEvent *e = r->history[h];
        char field[48];
        snprintf(field, sizeof field, "history[%zu].item_id", h);
        if (check_str(field, e->item_id, 1, err))
            return C_INVALID;
        if (!isfinite(e->rating) || e->rating < 0)
            return err_set(err, "history[%zu].rating: %g is not a rating (>= 0; 0 = implicit)", h,
                           (double)e->rating),
                   C_INVALID;
        uint32_t j = find_id(m, e->item_id);
        if (j == CONTENT_NONE) {
            unknown[nunk++] = e->item_id;
            continue;
        }
        hit[nknown] = j;
        hexpl[nknown] = histmerge_is_explicit(e->rating);
        hpos[nknown++] = (uint32_t)h;
    }
    /* One event per item counts (common/data/histmerge.h): the history is the
     * user's stored ratings followed by the new events, in order. */
    histmerge_pick(hit, hexpl, nknown, NULL, NULL, scratch, keep);
    for (size_t k = 0; k < nknown; k++) {
        if (!keep[k])
            continue;
        const Recsys__V1__HistoryEvent *e = r->history[hpos[k]];
        uint32_t j = hit[k];
        /* A DISLIKE without a rating is negative feedback
         * (common/data/feedback.h): the rating FEEDBACK_DISLIKE_RATING,
         * evidence against its neighbours in the profile; seen too. */
        bool dislike = e->type == RECSYS__V1__EVENT_TYPE__EVENT_TYPE_DISLIKE;
        float rating = feedback_event_rating(e->rating, dislike);
        ev[nev].item = j;
        ev[nev].rating = rating > 0 ? rating : NAN;
        nev++;
    }
    for (size_t i = 0; i < nc; i++) {
        char field[48];
        snprintf(field, sizeof field, "candidate_item_ids[%zu]", i);
        if (check_str(field, r->candidate_item_ids[i], 1, err))
            return C_INVALID;
        uint32_t j = find_id(m, r->candidate_item_ids[i]);
        if (j == CONTENT_NONE)
            unknown[nunk++] = r->candidate_item_ids[i];
        else
            cand[ncand++] = j;
    }
    int include_seen = r->filters && r->filters->include_seen;
    filter_t f;
    int none;
    code_t c = parse_filters(s, r->filters, NULL, 0, &f, &none, a, err);
    if (c != C_OK)
        return c;

    size_t k = nc ? (r->k ? (size_t)r->k : ncand) : (size_t)r->k;
    if (nc && k > ncand)
        k = ncand;
    if (k > content_model_size(m))
        k = content_model_size(m);
    long got = 0;
    content_hit_t *hits = NULL;
    if (nev && !none && k && (!nc || ncand)) {
        hits = arena_alloc(a, k * sizeof *hits);
        content_scratch_t *sc = scratch_get(s);
        if (!hits || !sc) {
            if (sc)
                scratch_put(s, sc);
            return err_set(err, "out of memory"), C_INTERNAL;
        }
        content_query_t q = {.k = k, .filter = f, .include_history = include_seen, .implicit_weight = 1.0f,
                             .candidates = nc ? cand : NULL, .n_candidates = ncand, .no_explain = !r->explain};
        got = content_score_history(m, ev, nev, &q, sc, hits, err);
        scratch_put(s, sc);
        if (got < 0)
            return C_INTERNAL;
    }
    Recsys__V1__WorkerScoredList *l = scored_list(a, (size_t)got);
    if (!l)
        return reply_scored(reply, NULL, err);
    l->n_items = (size_t)got;
    l->history_used = (int32_t)nev;
    l->unknown_item_ids = (char **)unknown;
    l->n_unknown_item_ids = nunk;
    for (long i = 0; i < got; i++) {
        l->items[i]->item_id = (char *)content_model_id(m, hits[i].item);
        l->items[i]->score = hits[i].score;
        if (r->explain && hits[i].because != CONTENT_NONE)
            l->items[i]->because_item_id = (char *)content_model_id(m, ev[hits[i].because].item);
    }
    return reply_scored(reply, l, err);
}

/* ------------------------------------------------------------ items */

static Recsys__V1__Item *make_item(const content_model_t *m, uint32_t i, Recsys__V1__Item *it, arena_t *a)
{
    recsys__v1__item__init(it);
    it->item_id = (char *)content_model_id(m, i);
    it->title = (char *)content_model_title(m, i);
    it->year = content_model_year(m, i);
    uint64_t mask = content_model_genre_mask(m, i);
    size_t ng = (size_t)__builtin_popcountll(mask);
    if (ng) {
        it->genres = arena_alloc(a, ng * sizeof *it->genres);
        if (!it->genres)
            return NULL;
        for (uint32_t g = 0; g < 64; g++)
            if (mask & ((uint64_t)1 << g))
                it->genres[it->n_genres++] = (char *)content_model_genre_name(m, g);
    }
    return it;
}

static code_t handle_items(content_service_t *s, const Recsys__V1__WorkerItemsRequest *r,
                           Recsys__V1__WorkerReply *reply, arena_t *a, err_t *err)
{
    const content_model_t *m = s->model;
    size_t nid = r->n_item_ids;
    int has_query = r->query[0] != '\0';
    if (nid && has_query)
        return err_set(err, "items: give item_ids or query, not both"), C_INVALID;
    if (!nid && !has_query)
        return err_set(err, "items: give item_ids (look-up) or query (title search)"), C_INVALID;
    Recsys__V1__WorkerItems *out = arena_alloc(a, sizeof *out);
    if (!out)
        return err_set(err, "out of memory"), C_INTERNAL;
    recsys__v1__worker_items__init(out);
    uint32_t *found;
    size_t nfound = 0;
    if (nid) {
        if (check_list("item_ids", nid, s->lim.max_candidates, err))
            return C_INVALID;
        found = arena_alloc(a, nid * sizeof *found);
        out->unknown_item_ids = arena_alloc(a, nid * sizeof *out->unknown_item_ids);
        if (!found || !out->unknown_item_ids)
            return err_set(err, "out of memory"), C_INTERNAL;
        for (size_t i = 0; i < nid; i++) {
            char field[48];
            snprintf(field, sizeof field, "item_ids[%zu]", i);
            if (check_str(field, r->item_ids[i], 1, err))
                return C_INVALID;
            uint32_t j = find_id(m, r->item_ids[i]);
            if (j == CONTENT_NONE)
                out->unknown_item_ids[out->n_unknown_item_ids++] = r->item_ids[i];
            else
                found[nfound++] = j;
        }
    } else {
        if (check_str("query", r->query, 1, err) || check_k("k", r->k, s->lim.max_k, 0, err))
            return C_INVALID;
        size_t qlen = strlen(r->query), k = (size_t)r->k;
        char *lq = arena_alloc(a, TEXT_LOWER_MAX(qlen) + 1);
        found = arena_alloc(a, k * sizeof *found);
        if (!lq || !found)
            return err_set(err, "out of memory"), C_INTERNAL;
        size_t lqlen = text_lower(r->query, qlen, lq, TEXT_LOWER_MAX(qlen) + 1);
        uint32_t n = content_model_size(m);
        /* Pass 0: titles starting with the query; pass 1: containing it. */
        for (int pass = 0; pass < 2 && nfound < k; pass++)
            for (uint32_t i = 0; i < n && nfound < k; i++) {
                const char *t = s->ltitles + s->ltoff[i];
                int prefix = strncmp(t, lq, lqlen) == 0;
                if (pass == 0 ? prefix : (!prefix && strstr(t, lq) != NULL))
                    found[nfound++] = i;
            }
    }
    if (nfound) {
        out->items = arena_alloc(a, nfound * sizeof *out->items);
        Recsys__V1__Item *cells = arena_alloc(a, nfound * sizeof *cells);
        if (!out->items || !cells)
            return err_set(err, "out of memory"), C_INTERNAL;
        for (size_t i = 0; i < nfound; i++)
            if (!(out->items[i] = make_item(m, found[i], &cells[i], a)))
                return err_set(err, "out of memory"), C_INTERNAL;
        out->n_items = nfound;
    }
    reply->body_case = RECSYS__V1__WORKER_REPLY__BODY_ITEMS;
    reply->items = out;
    return C_OK;
}

/* ------------------------------------------------------------ dispatch */

static code_t svc_handle(const void *model, const Recsys__V1__WorkerRequest *req, Recsys__V1__WorkerReply *reply,
                         arena_t *arena, err_t *err)
{
    /* The pool is the one mutable part (behind its mutex). */
    content_service_t *s = (content_service_t *)model;
    switch (req->body_case) {
    case RECSYS__V1__WORKER_REQUEST__BODY_SIMILAR:
        return handle_similar(s, req->similar, reply, arena, err);
    case RECSYS__V1__WORKER_REQUEST__BODY_SCORE:
        return handle_score(s, req->score, reply, arena, err);
    case RECSYS__V1__WORKER_REQUEST__BODY_ITEMS:
        return handle_items(s, req->items, reply, arena, err);
    case RECSYS__V1__WORKER_REQUEST__BODY_PREDICT:
        err_set(err, "content model does not predict ratings (ask the cf worker)");
        return C_INVALID;
    default:
        err_set(err, "content worker cannot answer request body %d", (int)req->body_case);
        return C_INVALID;
    }
}

const workersvc_ops_t content_service_ops = {
    .service = "content",
    .options = content_service_options,
    .load = svc_load,
    .free = svc_free,
    .name = svc_name,
    .version = svc_version,
    .handle = svc_handle,
    .info = svc_info,
    .memory = svc_memory,
};
