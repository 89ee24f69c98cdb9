/*
 * recsys-eval: the evaluation protocols of EVALUATION.md over the project's
 * own models, with the same library code the services serve with.
 *
 *   recsys-eval --data DIR --protocol R1|R2|R3 [--split FILE] [--json FILE]
 *               [--models popularity,content,cf,hybrid] [--validation] [--tune]
 *
 * R1 ranks top-k for every evaluated user of the split (ml-100k ua by
 * default, or --split FILE: TSV or .tsv.gz with header
 * "user item rating timestamp is_test"), R2 predicts every test rating
 * (--base all: ua and the five folds u1..u5), R3 ranks the cold items of
 * --cold-items. Rules, universe and candidates: tools/recsys-eval/evalproto.h; metrics:
 * tools/recsys-eval/evalmetrics.h; the hybrid is common/math/blend.h over the content
 * library (services/content), the CF library (services/cf) and popularity
 * (common/data/popularity.h). A model whose library is not in this build is
 * reported as "not available in this build", never replaced by another.
 *
 * --validation evaluates on a split carved from the TRAINING data (R1/R2: a
 * seeded 10% of each user's train ratings; R3: a seeded 20% of the train
 * items made cold); --tune grid-searches the blend there. The test set is
 * never looked at when choosing parameters.
 *
 *   recsys-eval --data DIR --protocol R5|R6|R7 [--seed N | --seeds 1,2,3]
 *               [--models ...] [--validation] [--max-users N] [--json FILE]
 *               [--queries] [--lists FILE] [--write-train DIR]
 *
 * R5-R7 hold out a seeded share of the USERS (tools/recsys-eval/evalusers.h):
 * R5 ranks for each held-out user from their first n ratings (new users,
 * folded in as a request history, as the gateway serves them), R6 scores
 * SimilarItems per mode from their first item rated >= 4.5, R7 is R5 with
 * and without the low ratings in the history. Models: popularity, ease and
 * als fold-in, itemknn, genre, mix (itemknn + popularity), content, cf,
 * hybrid (blend_merge as the gateway); R6: the three served modes and the
 * popularity, co-occurrence, itemknn and genre anchors. --validation
 * evaluates users carved from the train users (the test users left out),
 * where the mix's weight is grid-searched. --write-train writes the train
 * users' ratings for starting the services (recsys-wireval runs the same
 * split over the wire).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <zlib.h>

#include "common/data/feedback.h"
#include "common/math/blend.h"
#include "common/base/clock.h"
#include "common/base/config.h"
#include "common/data/dataset.h"
#include "tools/recsys-eval/evalmetrics.h"
#include "tools/recsys-eval/evalproto.h"
#include "tools/recsys-eval/evalusers.h"
#include "common/base/log.h"
#include "common/data/popularity.h"
#include "common/math/topk.h"
#include "common/net/daemon.h"

#ifdef RECSYS_EVAL_HAVE_CF
#include "services/cf/cf_features.h"
#include "services/cf/cf_model.h"
#endif
#ifdef RECSYS_EVAL_HAVE_CONTENT
#include "services/content/content_model.h"
#endif

static const cfg_option_t eval_options[] = {
    {"protocol", CFG_STRING, "R1",
     "R1 (top-k ranking), R2 (rating prediction), R3 (cold items), R5 (new users), R6 (similar "
     "items) or R7 (new users' low ratings).",
     0, 0},
    {"user-frac", CFG_DOUBLE, "0.25", "R5-R7: share of the users held out (seeded draw).", 0.001,
     0.999},
    {"seed", CFG_INT, "1", "R5-R7: seed of the held-out users.", 0, 1e18},
    {"seeds", CFG_STRING, NULL,
     "R5-R7: comma-separated seeds (e.g. 1,2,3): every seed is run, the table gives mean and "
     "standard deviation.",
     0, 0},
    {"ns", CFG_STRING, "1,3,5,10,20", "R5/R7: history lengths (first n ratings by time).", 0, 0},
    {"max-users", CFG_INT, "0",
     "R5-R7: evaluate only the first N held-out users (ascending user index; 0: all), as "
     "recsys-wireval does.",
     0, 1e9},
    {"val-user-frac", CFG_DOUBLE, "0.25",
     "R5-R7 with --validation: share of the train users evaluated instead of the test users.",
     0.001, 0.999},
    {"mix-w", CFG_DOUBLE, "1",
     "R5/R7: weight of normalised popularity next to the normalised item-kNN score in the mix "
     "anchor (chosen on validation users, bench/eval_r5_r6_r7.md).",
     0, 1000},
    {"low-max", CFG_DOUBLE, "2", "R7: ratings <= this are the low ones.", 0, 10},
    {"query-min", CFG_DOUBLE, "4.5", "R6: the query is the first item rated >= this.", 0, 10},
    {"queries", CFG_BOOL, "false",
     "R6: also print the top-5 of every mode for ten well-known movies (first seed).", 0, 0},
    {"lists", CFG_STRING, NULL,
     "R5-R7: write every answer to this file, one line each (protocol, model, n, user, items; "
     "R6: mode, query, items), to diff against recsys-wireval --lists.",
     0, 0},
    {"write-train", CFG_STRING, NULL,
     "R5-R7: write the train users' ratings (first seed) as a dataset directory the services can "
     "be started on (the other dataset files are linked), then exit.",
     0, 0},
    {"split", CFG_STRING, NULL,
     "Split file (TSV or .tsv.gz, header: user item rating timestamp is_test) instead of the "
     "dataset's own split; R1 and R2.",
     0, 0},
    {"base", CFG_STRING, "ua",
     "ml-100k split without --split: ua, ub, u1..u5; for R2 also 'all' (ua and the five folds).",
     0, 0},
    {"json", CFG_STRING, NULL, "Write the results to this file as a JSON array.", 0, 0},
    {"models", CFG_STRING, "popularity,content,cf,hybrid",
     "Comma-separated models to evaluate: popularity, content, cf, hybrid.", 0, 0},
    {"cold-items", CFG_STRING, NULL,
     "R3: cold item ids, one per line (default: fixtures/ml100k_cold_items_seed7.txt under "
     "RECSYS_SHARED, or two levels above --data).",
     0, 0},
    {"k", CFG_INT, "10", "List length of the ranking metrics.", 1, 1000},
    {"validation", CFG_BOOL, "false",
     "Evaluate on a validation split carved from the training data instead of the test set.", 0,
     0},
    {"val-frac", CFG_DOUBLE, "0.1", "Validation: share of each user's train ratings held out (R1, R2).",
     0.001, 0.999},
    {"val-cold-frac", CFG_DOUBLE, "0.2", "Validation: share of train items made cold (R3).", 0.001,
     0.999},
    {"val-seed", CFG_INT, "42", "Validation: seed of the held-out draw.", 0, 1e18},
    {"cf-features", CFG_BOOL, "true",
     "CF scores items it has no training ratings for (cold items) through the feature map of "
     "services/cf/cf_features.h (genres, year buckets -> the model's item columns/factors).",
     0, 0},
    {"tune", CFG_BOOL, "false",
     "Grid-search the blend on validation data and print the settings and the best: R1/R3 over "
     "method, n0 and popularity on the validation split; R5 over method, popularity, its decay with "
     "the history length and n0, on validation users carved from the training users (every --seeds).",
     0, 0},
    CFG_END,
};

/* ---- rows of the result table ---- */

typedef struct row {
    char protocol[16], split[96], model[16], note[160];
    int available, rating;
    evalmetrics_ranking_t rank;
    evalmetrics_rating_t rat;
    double fit_seconds;
} row_t;

typedef struct rows {
    row_t *v;
    size_t n, cap;
} rows_t;

static row_t *rows_add(rows_t *r)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 16;
        row_t *v = realloc(r->v, cap * sizeof *v);
        if (!v)
            return NULL;
        r->v = v;
        r->cap = cap;
    }
    row_t *x = &r->v[r->n++];
    memset(x, 0, sizeof *x);
    return x;
}

/* ---- models ---- */

typedef struct models {
    const evalproto_split_t *s;
    const cfg_t *cfg;
    int protocol; /* 1, 2, 3 */
    bool known_users; /* the evaluated users are in the training data (R1-R3; not R5-R7's) */
    size_t k;
    popularity_t *pop;
    float *pop_scores; /* [ncat] overall (R1) or genre (R3) popularity */
    double pop_fit;
    blend_params_t blend;
    size_t depth; /* hybrid: top entries kept per source (blend-depth) */
    topk_item_t *sel, *sel2;
    /* hybrid buffers */
    uint32_t *keys[BLEND_NSOURCES];
    float *vals[BLEND_NSOURCES];
    float *tmp;
    blend_item_t *merged;
    void *ws;
    size_t ws_bytes;
    /* per-user score cache for --tune (content, cf), NULL otherwise */
    float *cache[2];
    uint8_t *cached;
#ifdef RECSYS_EVAL_HAVE_CF
    cf_model_t *cf;
    cf_scratch_t *cfs;
    cf_featmap_t *fm; /* NULL: cold items are left to the model (cf-features false, R2) */
    float *cf_all;
    double cf_fit;
    int foldin;          /* R5-R7: CF scores the query's history as events (a new user) */
    cf_event_t *events;  /* [events_cap] */
    size_t events_cap;
#endif
#ifdef RECSYS_EVAL_HAVE_CONTENT
    content_model_t *cm;
    content_scratch_t *cs;
    content_event_t *ev;
    bool scale_negatives; /* the training ratings' scale has negative ratings (feedback.h) */
    content_hit_t *hits;
    double cm_fit;
#endif
} models_t;

static int have_content(void)
{
#ifdef RECSYS_EVAL_HAVE_CONTENT
    return 1;
#else
    return 0;
#endif
}

static int have_cf(void)
{
#ifdef RECSYS_EVAL_HAVE_CF
    return 1;
#else
    return 0;
#endif
}

static int score_pop(void *ctx, const evalproto_query_t *q, float *scores, err_t *err)
{
    const models_t *m = ctx;
    for (size_t j = 0; j < q->ncand; j++)
        scores[q->cand[j]] = m->pop_scores[q->cand[j]];
    return 0;
}

static int predict_pop(void *ctx, uint32_t user, const uint32_t *items, size_t n, float *pred,
                       err_t *err)
{
    const models_t *m = ctx;
    for (size_t j = 0; j < n; j++)
        pred[j] = popularity_predict(m->pop, items[j]);
    return 0;
}

#ifdef RECSYS_EVAL_HAVE_CF
static int score_cf(void *ctx, const evalproto_query_t *q, float *scores, err_t *err)
{
    models_t *m = ctx;
    cf_who_t who = {q->user, NULL, 0};
    if (q->user >= m->cf->n_users)
        who.user = CF_NO_USER;
    if (m->foldin) {
        /* A user the model never saw, known by the events of the request,
         * as the CF worker scores a Recommend history. */
        if (q->nhist > m->events_cap)
            return err_set(err, "history of %zu events: more than %zu", q->nhist, m->events_cap);
        for (size_t i = 0; i < q->nhist; i++)
            m->events[i] = (cf_event_t){q->hist[i], q->hist_value[i]};
        who = (cf_who_t){CF_NO_USER, m->events, q->nhist};
    }
    const float *all;
    if (m->fm) {
        if (cf_featmap_score_all(m->fm, m->cf, m->cfs, &who, m->cf_all, err) != 0)
            return -1;
        all = m->cf_all;
    } else if (!(all = cf_score_all(m->cf, m->cfs, &who, NULL, err)))
        return -1;
    for (size_t j = 0; j < q->ncand; j++)
        if (q->cand[j] < m->cf->n_items)
            scores[q->cand[j]] = all[q->cand[j]];
    return 0;
}

static int predict_cf(void *ctx, uint32_t user, const uint32_t *items, size_t n, float *pred,
                      err_t *err)
{
    models_t *m = ctx;
    cf_who_t who = {user < m->cf->n_users ? user : CF_NO_USER, NULL, 0};
    return cf_predict(m->cf, m->cfs, &who, items, n, pred, err);
}
#endif

#ifdef RECSYS_EVAL_HAVE_CONTENT
static int score_content(void *ctx, const evalproto_query_t *q, float *scores, err_t *err)
{
    models_t *m = ctx;
    if (q->nhist == 0 || q->ncand == 0)
        return 0; /* nothing to build a profile from: every candidate stays -inf */
    for (size_t i = 0; i < q->nhist; i++) {
        m->ev[i].item = q->hist[i];
        m->ev[i].rating = m->scale_negatives ? q->hist_value[i] : NAN;
    }
    content_query_t cq;
    memset(&cq, 0, sizeof cq);
    cq.k = q->ncand;
    cq.candidates = q->cand;
    cq.n_candidates = q->ncand;
    cq.no_explain = true; /* metrics need scores only */
    long n = content_score_history(m->cm, m->ev, q->nhist, &cq, m->cs, m->hits, err);
    if (n < 0)
        return -1;
    for (long j = 0; j < n; j++)
        scores[m->hits[j].item] = m->hits[j].score;
    return 0;
}
#endif

/* Content (source 0) or CF (source 1) scores of q's candidates into
 * m->tmp (others untouched), through the --tune cache when there is one. */
static int source_scores(models_t *m, int src, const evalproto_query_t *q, err_t *err)
{
    uint32_t nc = m->s->ncat;
    if (m->cache[src] && (m->cached[q->user] >> src) & 1u) {
        const float *c = m->cache[src] + (size_t)q->user * nc;
        for (size_t j = 0; j < q->ncand; j++)
            m->tmp[q->cand[j]] = c[q->cand[j]];
        return 0;
    }
    for (size_t j = 0; j < q->ncand; j++)
        m->tmp[q->cand[j]] = -INFINITY;
    int rc = 0;
#ifdef RECSYS_EVAL_HAVE_CONTENT
    if (src == 0)
        rc = score_content(m, q, m->tmp, err);
#endif
#ifdef RECSYS_EVAL_HAVE_CF
    if (src == 1)
        rc = score_cf(m, q, m->tmp, err);
#endif
    if (rc == 0 && m->cache[src]) {
        float *c = m->cache[src] + (size_t)q->user * nc;
        for (size_t j = 0; j < q->ncand; j++)
            c[q->cand[j]] = m->tmp[q->cand[j]];
        m->cached[q->user] |= (uint8_t)(1u << src);
    }
    return rc;
}

/* Keeps the best m->depth entries of a source list (ties to the lower index). */
static size_t truncate_list(models_t *m, int src, size_t n)
{
    if (!m->depth || n <= m->depth)
        return n;
    for (size_t j = 0; j < n; j++) {
        m->sel[j].index = m->keys[src][j];
        m->sel[j].score = m->vals[src][j];
    }
    size_t got = topk_pairs(m->sel, n, m->depth, NULL, m->sel2);
    for (size_t j = 0; j < got; j++) {
        m->keys[src][j] = m->sel2[j].index;
        m->vals[src][j] = m->sel2[j].score;
    }
    return got;
}

/* 1 when the CF list holds scores for items without training ratings. */
static int cf_scores_cold(const models_t *m)
{
#ifdef RECSYS_EVAL_HAVE_CF
    return m->fm != NULL;
#else
    (void)m;
    return 0;
#endif
}

/* The hybrid: content and CF lists over the candidates (CF only for items
 * it has train data for; content only for items it could score), the
 * popularity list, fused by blend_merge with the history-length policy. */
/* The three lists the gateway fuses for q (content and CF scores of the
 * candidates, each cut to the blend depth, and popularity), into lists
 * (arrays owned by m, valid until the next call). */
static int hybrid_lists(models_t *m, const evalproto_query_t *q, blend_list_t lists[BLEND_NSOURCES], err_t *err)
{
    memset(lists, 0, BLEND_NSOURCES * sizeof *lists);
    for (int src = 0; src < 2; src++) {
        if (source_scores(m, src, q, err) != 0)
            return -1;
        size_t n = 0;
        for (size_t j = 0; j < q->ncand; j++) {
            uint32_t c = q->cand[j];
            float v = m->tmp[c];
            if (!isfinite(v))
                continue;
            if (src == 1 && m->pop->count[c] == 0 && !cf_scores_cold(m))
                continue; /* an item CF never saw and cannot score: not in its list */
            m->keys[src][n] = c;
            m->vals[src][n] = v;
            n++;
        }
        lists[src].keys = m->keys[src];
        lists[src].scores = m->vals[src];
        lists[src].n = truncate_list(m, src, n);
    }
    for (size_t j = 0; j < q->ncand; j++) {
        m->keys[2][j] = q->cand[j];
        m->vals[2][j] = m->pop_scores[q->cand[j]];
    }
    lists[2].keys = m->keys[2];
    lists[2].scores = m->vals[2];
    lists[2].n = truncate_list(m, 2, q->ncand);
    return 0;
}

/* The blend's history length: the events that are not negative
 * (common/math/blend.h; the gateway's gw_rank.c counts the same). */
static size_t blend_history_len(const models_t *m, const float *values, size_t n)
{
    size_t pos = 0;
    for (size_t i = 0; i < n; i++)
        pos += !(m->scale_negatives && values != NULL && feedback_rating_negative(values[i]));
    return pos;
}

static int score_hybrid(void *ctx, const evalproto_query_t *q, float *scores, err_t *err)
{
    models_t *m = ctx;
    blend_list_t lists[BLEND_NSOURCES];
    if (hybrid_lists(m, q, lists, err) != 0)
        return -1;
    long n = blend_merge(&m->blend, NULL, blend_history_len(m, q->hist_value, q->nhist), m->known_users, lists,
                         q->ncand, m->ws, m->ws_bytes, m->merged, NULL, err);
    if (n < 0)
        return -1;
    for (long j = 0; j < n; j++)
        scores[m->merged[j].key] = m->merged[j].score;
    return 0;
}

static int models_init(models_t *m, const evalproto_split_t *s, const cfg_t *cfg, int protocol,
                       err_t *err)
{
    memset(m, 0, sizeof *m);
    m->s = s;
    m->cfg = cfg;
    m->protocol = protocol;
    m->known_users = true; /* R5-R7 (nuctx_init) say otherwise */
    m->k = (size_t)cfg_int(cfg, "k");
    if (blend_params_from_cfg(cfg, &m->blend, err) != 0)
        return -1;
    /* The same depth the gateway asks the workers for (blend-depth). */
    m->depth = m->blend.depth;
    double t0 = clock_mono_sec();
    if (popularity_fit(s->train, s->ds->catalog, NULL, &m->pop, err) != 0)
        return -1;
    m->pop_scores = malloc(((size_t)s->ncat + 1) * sizeof(float));
    if (!m->pop_scores)
        return err_set(err, "out of memory");
    popularity_scores(m->pop, protocol == 3 ? POPULARITY_GENRE : POPULARITY_OVERALL, m->pop_scores);
    m->pop_fit = clock_mono_sec() - t0;
    /* As the gateway (gw_catalog.scale_negatives): on a scale without
     * negative ratings (implicit data) a value is an interaction. */
    m->scale_negatives = s->train != NULL && feedback_values_have_negatives(s->train->value, s->train->n);
    size_t n = (size_t)s->ncat + 1;
    for (int src = 0; src < BLEND_NSOURCES; src++) {
        m->keys[src] = malloc(n * sizeof(uint32_t));
        m->vals[src] = malloc(n * sizeof(float));
        if (!m->keys[src] || !m->vals[src])
            return err_set(err, "out of memory");
    }
    m->tmp = malloc(n * sizeof(float));
    m->sel = malloc(n * sizeof(topk_item_t));
    m->sel2 = malloc(n * sizeof(topk_item_t));
    if (!m->sel || !m->sel2)
        return err_set(err, "out of memory");
    m->merged = malloc(n * sizeof(blend_item_t));
    m->ws_bytes = blend_workspace_bytes(3 * n, n);
    m->ws = malloc(m->ws_bytes);
    if (!m->tmp || !m->merged || !m->ws)
        return err_set(err, "out of memory");
    return 0;
}

/* Fits CF (R2: the rating model mf) on the split's train set. */
static int fit_cf(models_t *m, err_t *err)
{
#ifdef RECSYS_EVAL_HAVE_CF
    if (m->cf)
        return 0;
    cf_params_t p;
    if (cf_params_from_cfg(m->cfg, &p, err) != 0)
        return -1;
    if (m->protocol == 2)
        p.kind = CF_KIND_MF;
    double t0 = clock_mono_sec();
    cf_data_t d;
    if (cf_data_from_ratings(&d, m->s->train, m->s->nusers, m->s->ncat, NULL, err) != 0)
        return -1;
    int rc = cf_train(&d, &p, &m->cf, err);
    cf_data_free(&d);
    if (rc != 0)
        return -1;
    m->cfs = cf_scratch_new();
    if (!m->cfs)
        return err_set(err, "out of memory");
    if (m->protocol != 2 && cfg_bool(m->cfg, "cf-features")) {
        cf_featmap_params_t fp;
        if (cf_featmap_params_from_cfg(m->cfg, &fp, err) != 0 ||
            cf_model_set_catalog(m->cf, NULL, m->s->ds->catalog, err) != 0 ||
            cf_featmap_build(m->cf, &fp, &m->fm, err) != 0)
            return -1;
        m->cf_all = malloc(((size_t)m->cf->n_items + 1) * sizeof(float));
        if (!m->cf_all)
            return err_set(err, "out of memory");
    }
    m->cf_fit = clock_mono_sec() - t0;
    return 0;
#else
    return err_set(err, "model cf not available in this build");
#endif
}

static int fit_content(models_t *m, err_t *err)
{
#ifdef RECSYS_EVAL_HAVE_CONTENT
    if (m->cm)
        return 0;
    content_params_t p;
    content_params_from_cfg(m->cfg, &p);
    double t0 = clock_mono_sec();
    if (content_model_build(m->s->ds->catalog, &p, &m->cm, err) != 0)
        return -1;
    if (content_model_size(m->cm) != m->s->ncat)
        return err_set(err, "content model has %u items, the catalog %u",
                       content_model_size(m->cm), m->s->ncat);
    m->cs = content_scratch_new();
    size_t maxh = 1;
    for (uint32_t u = 0; u < m->s->nusers; u++) {
        size_t h = m->s->train_by_user.off[u + 1] - m->s->train_by_user.off[u];
        if (h > maxh)
            maxh = h;
    }
    m->ev = malloc(maxh * sizeof *m->ev);
    m->hits = malloc(((size_t)m->s->ncat + 1) * sizeof *m->hits);
    if (!m->cs || !m->ev || !m->hits)
        return err_set(err, "out of memory");
    m->cm_fit = clock_mono_sec() - t0;
    return 0;
#else
    return err_set(err, "model content not available in this build");
#endif
}

static void models_free(models_t *m)
{
    popularity_free(m->pop);
    free(m->pop_scores);
    for (int src = 0; src < BLEND_NSOURCES; src++) {
        free(m->keys[src]);
        free(m->vals[src]);
    }
    free(m->tmp);
    free(m->sel);
    free(m->sel2);
    free(m->merged);
    free(m->ws);
    free(m->cache[0]);
    free(m->cache[1]);
    free(m->cached);
#ifdef RECSYS_EVAL_HAVE_CF
    if (m->cf)
        cf_model_release(m->cf);
    cf_scratch_free(m->cfs);
    cf_featmap_free(m->fm);
    free(m->cf_all);
    free(m->events);
#endif
#ifdef RECSYS_EVAL_HAVE_CONTENT
    if (m->cm)
        content_model_release(m->cm);
    content_scratch_free(m->cs);
    free(m->ev);
    free(m->hits);
#endif
}

/* ---- one protocol run over one split ---- */

static int model_available(const char *name, char *why, size_t len)
{
    if (strcmp(name, "popularity") == 0)
        return 1;
    int c = have_content(), f = have_cf();
    if (strcmp(name, "content") == 0 && !c)
        snprintf(why, len, "model content not available in this build");
    else if (strcmp(name, "cf") == 0 && !f)
        snprintf(why, len, "model cf not available in this build");
    else if (strcmp(name, "hybrid") == 0 && (!c || !f))
        snprintf(why, len, "model hybrid not available in this build (needs %s)",
                 !c && !f ? "content and cf" : !c ? "content" : "cf");
    else
        return 1;
    return 0;
}

static int run_split(const evalproto_split_t *s, const cfg_t *cfg, int protocol,
                     const char *plabel, char **models, size_t nmodels, rows_t *rows, err_t *err)
{
    models_t m;
    int rc = -1;
    if (models_init(&m, s, cfg, protocol, err) != 0)
        goto done;
    for (size_t i = 0; i < nmodels; i++) {
        const char *name = models[i];
        row_t *r = rows_add(rows);
        if (!r) {
            err_set(err, "out of memory");
            goto done;
        }
        snprintf(r->protocol, sizeof r->protocol, "%s", plabel);
        snprintf(r->split, sizeof r->split, "%s", s->name);
        snprintf(r->model, sizeof r->model, "%s", name);
        r->rating = protocol == 2;
        if (!model_available(name, r->note, sizeof r->note)) {
            fprintf(stderr, "recsys-eval: %s\n", r->note);
            continue;
        }
        if (protocol == 2 && (strcmp(name, "content") == 0 || strcmp(name, "hybrid") == 0)) {
            snprintf(r->note, sizeof r->note, "model %s does not predict ratings", name);
            continue;
        }
        evalproto_rank_fn score = NULL;
        evalproto_predict_fn predict = NULL;
        double fit = 0;
        if (strcmp(name, "popularity") == 0) {
            score = score_pop;
            predict = predict_pop;
            fit = m.pop_fit;
        }
#ifdef RECSYS_EVAL_HAVE_CF
        else if (strcmp(name, "cf") == 0) {
            if (fit_cf(&m, err) != 0)
                goto done;
            score = score_cf;
            predict = predict_cf;
            fit = m.cf_fit;
        }
#endif
#ifdef RECSYS_EVAL_HAVE_CONTENT
        else if (strcmp(name, "content") == 0) {
            if (fit_content(&m, err) != 0)
                goto done;
            score = score_content;
            fit = m.cm_fit;
        }
#endif
#if defined(RECSYS_EVAL_HAVE_CF) && defined(RECSYS_EVAL_HAVE_CONTENT)
        else if (strcmp(name, "hybrid") == 0) {
            if (fit_content(&m, err) != 0 || fit_cf(&m, err) != 0)
                goto done;
            score = score_hybrid;
            fit = m.cm_fit + m.cf_fit + m.pop_fit;
        }
#endif
        r->available = 1;
        r->fit_seconds = fit;
        double t0 = clock_mono_sec();
        if (protocol == 2) {
            if (evalproto_run_rating(s, predict, &m, 1.0, 5.0, &r->rat, err) != 0)
                goto done;
        } else {
            evalproto_rank_opts_t o = {m.k, score, &m, NULL, NULL};
            if (evalproto_run_ranking(s, &o, &r->rank, err) != 0)
                goto done;
        }
        log_kv(LOG_INFO, "evaluated", "split", s->name, "model", name, NULL);
        (void)t0;
    }
    rc = 0;
done:
    models_free(&m);
    return rc;
}

/* ---- --tune: the blend grid on the validation split ---- */

static int run_tune(const evalproto_split_t *s, const cfg_t *cfg, int protocol, err_t *err)
{
#if defined(RECSYS_EVAL_HAVE_CF) && defined(RECSYS_EVAL_HAVE_CONTENT)
    models_t m;
    int rc = -1;
    if (models_init(&m, s, cfg, protocol, err) != 0 || fit_content(&m, err) != 0 ||
        fit_cf(&m, err) != 0)
        goto done;
    size_t cells = (size_t)s->nusers * s->ncat;
    m.cache[0] = malloc(cells * sizeof(float));
    m.cache[1] = malloc(cells * sizeof(float));
    m.cached = calloc((size_t)s->nusers + 1, 1);
    if (!m.cache[0] || !m.cache[1] || !m.cached) {
        err_set(err, "out of memory for the score cache");
        goto done;
    }
    static const blend_method_t methods[3] = {BLEND_MINMAX, BLEND_ZSCORE, BLEND_RRF};
    static const float n0s[] = {0.01f, 0.1f, 0.5f, 2, 5, 10, 25, 50, 100, 1000};
    static const float pops[] = {0, 0.02f, 0.05f, 0.1f, 0.2f, 0.5f};
    static const float rrfk[] = {10, 60};
    blend_params_t best = m.blend;
    double best_ndcg = -1;
    printf("| method | n0 | popularity | rrf-k | P@%zu | NDCG@%zu |\n| --- | --- | --- | --- | --- | --- |\n",
           m.k, m.k);
    for (int mi = 0; mi < 3; mi++)
        for (size_t ni = 0; ni < sizeof n0s / sizeof n0s[0]; ni++)
            for (size_t pi = 0; pi < sizeof pops / sizeof pops[0]; pi++)
                for (size_t ki = 0; ki < (methods[mi] == BLEND_RRF ? 2u : 1u); ki++) {
                    m.blend.method = methods[mi];
                    m.blend.n0 = n0s[ni];
                    m.blend.popularity = pops[pi];
                    m.blend.rrf_k = methods[mi] == BLEND_RRF ? rrfk[ki] : 60.0f;
                    evalmetrics_ranking_t r;
                    evalproto_rank_opts_t o = {m.k, score_hybrid, &m, NULL, NULL};
                    if (evalproto_run_ranking(s, &o, &r, err) != 0)
                        goto done;
                    printf("| %s | %g | %g | %g | %.4f | %.4f |\n", blend_method_name(m.blend.method),
                           (double)m.blend.n0, (double)m.blend.popularity, (double)m.blend.rrf_k,
                           r.precision, r.ndcg);
                    fflush(stdout);
                    if (r.ndcg > best_ndcg) {
                        best_ndcg = r.ndcg;
                        best = m.blend;
                    }
                }
    printf("best on %s: --blend-method=%s --blend-n0=%g --blend-popularity=%g --blend-rrf-k=%g "
           "(NDCG@%zu %.4f)\n",
           s->name, blend_method_name(best.method), (double)best.n0, (double)best.popularity,
           (double)best.rrf_k, m.k, best_ndcg);
    rc = 0;
done:
    models_free(&m);
    return rc;
#else
    return err_set(err, "--tune needs the content and cf models, not available in this build");
#endif
}

/* ---- input files ---- */

/* A whole file, gzip or plain (zlib reads both). */
static char *read_maybe_gz(const char *path, size_t *len, err_t *err)
{
    gzFile f = gzopen(path, "rb");
    if (!f) {
        err_errno(err, "%s", path);
        return NULL;
    }
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf) {
            gzclose(f);
            err_set(err, "%s: out of memory", path);
            return NULL;
        }
        if (cap - n < (1 << 16)) {
            char *b = realloc(buf, cap * 2);
            if (!b) {
                free(buf);
                buf = NULL;
                continue;
            }
            buf = b;
            cap *= 2;
        }
        int got = gzread(f, buf + n, (unsigned)(cap - n - 1));
        if (got < 0) {
            int e;
            err_set(err, "%s: %s", path, gzerror(f, &e));
            free(buf);
            gzclose(f);
            return NULL;
        }
        if (got == 0)
            break;
        n += (size_t)got;
    }
    gzclose(f);
    buf[n] = 0;
    *len = n;
    return buf;
}

static char *cold_items_path(const cfg_t *cfg)
{
    const char *given = cfg_str(cfg, "cold-items");
    if (given[0])
        return strdup(given);
    const char *rel = "fixtures/ml100k_cold_items_seed7.txt";
    char buf[4096];
    const char *shared = getenv("RECSYS_SHARED");
    if (shared && shared[0]) {
        snprintf(buf, sizeof buf, "%s/%s", shared, rel);
        FILE *f = fopen(buf, "r");
        if (f) {
            fclose(f);
            return strdup(buf);
        }
    }
    snprintf(buf, sizeof buf, "%s/../../%s", cfg_str(cfg, "data"), rel);
    return strdup(buf);
}

/* ---- output ---- */

static void print_table(const rows_t *rows, size_t k)
{
    int rating = -1;
    for (size_t i = 0; i < rows->n; i++) {
        const row_t *r = &rows->v[i];
        if (r->rating != rating) {
            rating = r->rating;
            if (rating)
                printf("\n| protocol | split | model | RMSE | MAE | fit s |\n| --- | --- | --- | --- | --- | --- |\n");
            else
                printf("\n| protocol | split | model | P@%zu | R@%zu | NDCG@%zu | MAP@%zu | HR@%zu | Cov@%zu | fit s |\n"
                       "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n",
                       k, k, k, k, k, k);
        }
        printf("| %s | %s | %s |", r->protocol, r->split, r->model);
        if (!r->available) {
            printf(" %s |\n", r->note);
            continue;
        }
        if (rating)
            printf(" %.4f | %.4f | %.4f |\n", r->rat.rmse, r->rat.mae, r->fit_seconds);
        else
            printf(" %.4f | %.4f | %.4f | %.4f | %.4f | %.4f | %.4f |\n", r->rank.precision,
                   r->rank.recall, r->rank.ndcg, r->rank.map, r->rank.hit_rate, r->rank.coverage,
                   r->fit_seconds);
    }
}

/* Writes arr (deleted here) to path as pretty JSON; cJSON prints doubles
 * with 17 significant digits when needed. */
static int json_save(const char *path, cJSON *arr, err_t *err)
{
    char *text = cJSON_Print(arr);
    cJSON_Delete(arr);
    if (!text)
        return err_set(err, "%s: out of memory", path);
    FILE *f = fopen(path, "w");
    if (!f) {
        free(text);
        return err_errno(err, "%s", path);
    }
    int bad = fputs(text, f) < 0 || fputc('\n', f) < 0;
    bad |= fclose(f) != 0;
    free(text);
    return bad ? err_errno(err, "%s: write", path) : 0;
}

static int write_json(const char *path, const rows_t *rows, size_t k, err_t *err)
{
    cJSON *arr = cJSON_CreateArray();
    char key[32];
    for (size_t i = 0; i < rows->n; i++) {
        const row_t *r = &rows->v[i];
        if (!r->available)
            continue; /* never a fake row */
        cJSON *o = cJSON_CreateObject(), *met = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "protocol", r->protocol);
        cJSON_AddStringToObject(o, "split", r->split);
        cJSON_AddStringToObject(o, "model", r->model);
        if (r->rating) {
            cJSON_AddNumberToObject(met, "RMSE", r->rat.rmse);
            cJSON_AddNumberToObject(met, "MAE", r->rat.mae);
        } else {
            const char *names[6] = {"P", "R", "NDCG", "MAP", "HR", "Coverage"};
            double v[6] = {r->rank.precision, r->rank.recall, r->rank.ndcg,
                           r->rank.map, r->rank.hit_rate, r->rank.coverage};
            for (int j = 0; j < 6; j++) {
                snprintf(key, sizeof key, "%s@%zu", names[j], k);
                cJSON_AddNumberToObject(met, key, v[j]);
            }
        }
        cJSON_AddItemToObject(o, "metrics", met);
        cJSON_AddNumberToObject(o, "fit_seconds", r->fit_seconds);
        cJSON_AddItemToArray(arr, o);
    }
    return json_save(path, arr, err);
}

/* ---- R5, R6, R7: new users (user hold-out, tools/recsys-eval/evalusers.h) ---- */

#if defined(RECSYS_EVAL_HAVE_CF) && defined(RECSYS_EVAL_HAVE_CONTENT)

#define NU_MAXSEEDS 16
#define NU_NMET 5 /* NDCG, P, HR, Coverage, popularity percentile (R6) */

typedef struct nurow {
    char proto[24], model[32];
    int n;
    double m[NU_MAXSEEDS][NU_NMET];
    size_t users[NU_MAXSEEDS];
    double secs[NU_MAXSEEDS];
} nurow_t;

typedef struct nutab {
    nurow_t *v;
    size_t n, cap, cur;
    int seed_i, nseeds;
    uint64_t seeds[NU_MAXSEEDS];
} nutab_t;

/* The row for (proto, model, n) of the current seed: appended on the first
 * seed, the same position on the next ones (rows come in the same order). */
static nurow_t *nutab_row(nutab_t *t, const char *proto, const char *model, int n, err_t *err)
{
    if (t->seed_i > 0) {
        if (t->cur >= t->n || strcmp(t->v[t->cur].model, model) || t->v[t->cur].n != n) {
            err_set(err, "internal: rows differ between seeds");
            return NULL;
        }
        return &t->v[t->cur++];
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 32;
        nurow_t *v = realloc(t->v, cap * sizeof *v);
        if (!v) {
            err_set(err, "out of memory");
            return NULL;
        }
        t->v = v;
        t->cap = cap;
    }
    nurow_t *r = &t->v[t->n++];
    memset(r, 0, sizeof *r);
    snprintf(r->proto, sizeof r->proto, "%s", proto);
    snprintf(r->model, sizeof r->model, "%s", model);
    r->n = n;
    return r;
}

enum { NU_POP, NU_EASE, NU_ALS, NU_KNN, NU_GENRE, NU_MIX, NU_CONTENT, NU_CF, NU_HYBRID, NU_NMODELS };
static const char *const nu_model_names[NU_NMODELS] = {
    "popularity", "ease", "als", "itemknn", "genre", "mix", "content", "cf", "hybrid"};
enum { NS_CONTENT, NS_BEHAVIOUR, NS_BLEND, NS_POP, NS_COOC, NS_KNN, NS_GENRE, NS_NMODES };
static const char *const nu_mode_names[NS_NMODES] = {
    "content", "behaviour", "blend", "popularity", "cooccurrence", "itemknn", "genre"};

typedef struct nuctx {
    models_t m; /* served: popularity, content, cf (fold-in), the hybrid */
    evalusers_split_t *us;
    evalproto_split_t *s;
    uint32_t ncat;
    size_t k;
    cf_model_t *ease, *als;
    cf_scratch_t *xs;
    cf_event_t *ev;
    evalknn_t *knn;
    float *buf, *buf2, *gprof, *pct;
    uint32_t *cand;
    topk_item_t *sel, *top;
    uint32_t *list;
    float mix_w;
    FILE *lists; /* --lists: every answer, one line each */
} nuctx_t;

static void nuctx_free(nuctx_t *c)
{
    models_free(&c->m);
    if (c->ease)
        cf_model_release(c->ease);
    if (c->als)
        cf_model_release(c->als);
    cf_scratch_free(c->xs);
    free(c->ev);
    evalknn_free(c->knn);
    free(c->buf);
    free(c->buf2);
    free(c->gprof);
    free(c->pct);
    free(c->cand);
    free(c->sel);
    free(c->top);
    free(c->list);
    evalproto_split_free(c->s);
    evalusers_split_free(c->us);
}

static int nu_train_cf(nuctx_t *c, cf_kind_t kind, cf_model_t **out, err_t *err)
{
    cf_params_t p;
    if (cf_params_from_cfg(c->m.cfg, &p, err) != 0)
        return -1;
    p.kind = kind;
    cf_data_t d;
    if (cf_data_from_ratings(&d, c->s->train, c->s->nusers, c->s->ncat, NULL, err) != 0)
        return -1;
    int rc = cf_train(&d, &p, out, err);
    cf_data_free(&d);
    return rc;
}

static int nu_uses(const uint8_t *want, int i) { return want[i]; }

/* Builds the split of one seed and every model asked for. */
static int nuctx_init(nuctx_t *c, dataset_t *ds, const cfg_t *cfg, uint64_t seed, int protocol,
                      const uint8_t *want, err_t *err)
{
    memset(c, 0, sizeof *c);
    int validation = cfg_bool(cfg, "validation");
    if (evalusers_split_make(ds, cfg_double(cfg, "user-frac"), seed, validation,
                             cfg_double(cfg, "val-user-frac"), &c->us, err) != 0)
        return -1;
    ratings_t *train = evalusers_train(c->us, 1), *test = evalusers_test(c->us);
    if (!train || !test) {
        ratings_free(train);
        ratings_free(test);
        return err_set(err, "out of memory");
    }
    char name[96];
    snprintf(name, sizeof name, "users-seed%llu%s", (unsigned long long)seed,
             validation ? "-val" : "");
    if (evalproto_split_new(ds, name, train, test, &c->s, err) != 0)
        return -1;
    c->ncat = c->s->ncat;
    c->k = (size_t)cfg_int(cfg, "k");
    c->mix_w = (float)cfg_double(cfg, "mix-w");
    if (models_init(&c->m, c->s, cfg, 1, err) != 0)
        return -1;
    c->m.known_users = false; /* held-out users: new to every model */
    size_t n1 = (size_t)c->ncat + 1;
    c->buf = malloc(n1 * sizeof(float));
    c->buf2 = malloc(n1 * sizeof(float));
    c->gprof = malloc(((size_t)catalog_ngenres(ds->catalog) + 1) * sizeof(float));
    c->pct = malloc(n1 * sizeof(float));
    c->cand = malloc(n1 * sizeof(uint32_t));
    c->sel = malloc(n1 * sizeof(topk_item_t));
    c->top = malloc(n1 * sizeof(topk_item_t));
    c->list = malloc(n1 * sizeof(uint32_t));
    size_t maxr = evalusers_max_ratings(c->us);
    c->ev = malloc((maxr + 1) * sizeof *c->ev);
    c->xs = cf_scratch_new();
    if (!c->buf || !c->buf2 || !c->gprof || !c->pct || !c->cand || !c->sel || !c->top ||
        !c->list || !c->ev || !c->xs)
        return err_set(err, "out of memory");
    /* Popularity percentile of each item: share of items with fewer train ratings. */
    for (uint32_t i = 0; i < c->ncat; i++) {
        c->sel[i].index = i;
        c->sel[i].score = c->m.pop->count[i];
    }
    size_t got = topk_pairs(c->sel, c->ncat, c->ncat, NULL, c->top);
    for (size_t r = 0; r < got; r++) {
        size_t j = r + 1; /* best first: the items after the run of equal counts have fewer */
        while (j < got && c->top[j].score == c->top[r].score)
            j++;
        size_t below = got - j;
        c->pct[c->top[r].index] = (float)(100.0 * (double)below / (double)c->ncat);
    }
    double t0 = clock_mono_sec();
    int served = want[NU_CONTENT] || want[NU_CF] || want[NU_HYBRID] || protocol == 6;
    if (served) {
        if (fit_content(&c->m, err) != 0 || fit_cf(&c->m, err) != 0)
            return -1;
        c->m.foldin = 1;
        c->m.events_cap = maxr + 1;
        c->m.events = malloc(c->m.events_cap * sizeof *c->m.events);
        free(c->m.ev);
        c->m.ev = malloc((maxr + 1) * sizeof *c->m.ev);
        if (!c->m.events || !c->m.ev)
            return err_set(err, "out of memory");
    }
    if (protocol != 6 && nu_uses(want, NU_EASE) && nu_train_cf(c, CF_KIND_EASE, &c->ease, err) != 0)
        return -1;
    if (protocol != 6 && nu_uses(want, NU_ALS) && nu_train_cf(c, CF_KIND_ALS, &c->als, err) != 0)
        return -1;
    if (evalknn_build(c->s->train, c->s->nusers, c->ncat, &c->knn, err) != 0)
        return -1;
    fprintf(stderr,
            "recsys-eval: %s: %zu train users (%zu ratings), %zu evaluated users; models fitted in "
            "%.1f s\n",
            name, c->us->ntrain_users, c->s->train->n, c->us->nevaluated, clock_mono_sec() - t0);
    return 0;
}

/* Fills scores[] of q's candidates for model id (R5/R7). */
static int nu_score(nuctx_t *c, int id, const evalproto_query_t *q, float *scores, err_t *err)
{
    switch (id) {
    case NU_POP:
        return score_pop(&c->m, q, scores, err);
    case NU_EASE:
    case NU_ALS: {
        cf_model_t *cm = id == NU_EASE ? c->ease : c->als;
        for (size_t i = 0; i < q->nhist; i++)
            c->ev[i] = (cf_event_t){q->hist[i], q->hist_value[i]};
        cf_who_t who = {CF_NO_USER, c->ev, q->nhist};
        const float *all = cf_score_all(cm, c->xs, &who, NULL, err);
        if (!all)
            return -1;
        for (size_t j = 0; j < q->ncand; j++)
            if (q->cand[j] < cm->n_items)
                scores[q->cand[j]] = all[q->cand[j]];
        return 0;
    }
    case NU_KNN:
    case NU_MIX: {
        evalknn_score(c->knn, q->hist, q->nhist, c->buf);
        if (id == NU_KNN) {
            for (size_t j = 0; j < q->ncand; j++)
                scores[q->cand[j]] = c->buf[q->cand[j]];
            return 0;
        }
        float mk = 0, mp = 0;
        for (size_t j = 0; j < q->ncand; j++) {
            uint32_t i = q->cand[j];
            if (c->buf[i] > mk)
                mk = c->buf[i];
            if (c->m.pop_scores[i] > mp)
                mp = c->m.pop_scores[i];
        }
        for (size_t j = 0; j < q->ncand; j++) {
            uint32_t i = q->cand[j];
            scores[i] = (mk > 0 ? c->buf[i] / mk : 0) + c->mix_w * (mp > 0 ? c->m.pop_scores[i] / mp : 0);
        }
        return 0;
    }
    case NU_GENRE:
        evalgenre_score(c->s->ds->catalog, q->hist, q->nhist, c->gprof, c->buf);
        for (size_t j = 0; j < q->ncand; j++)
            scores[q->cand[j]] = c->buf[q->cand[j]];
        return 0;
    case NU_CONTENT:
        return score_content(&c->m, q, scores, err);
    case NU_CF:
        return score_cf(&c->m, q, scores, err);
    case NU_HYBRID:
        return score_hybrid(&c->m, q, scores, err);
    }
    return err_set(err, "unknown model");
}

/* Top-k of the finite scores among cand (ties to the lower index) into c->list. */
static size_t nu_topk(nuctx_t *c, const uint32_t *cand, size_t ncand, const float *scores)
{
    size_t n = 0;
    for (size_t j = 0; j < ncand; j++)
        if (isfinite(scores[cand[j]])) {
            c->sel[n].index = cand[j];
            c->sel[n].score = scores[cand[j]];
            n++;
        }
    size_t got = topk_pairs(c->sel, n, c->k, NULL, c->top);
    for (size_t i = 0; i < got; i++)
        c->list[i] = c->top[i].index;
    return got;
}

static void nu_put(nurow_t *r, int si, const evalmetrics_ranking_t *res, double pct, double secs)
{
    r->m[si][0] = res->ndcg;
    r->m[si][1] = res->precision;
    r->m[si][2] = res->hit_rate;
    r->m[si][3] = res->coverage;
    r->m[si][4] = pct;
    r->users[si] = res->users;
    r->secs[si] = secs;
}

static size_t nu_max_users(const cfg_t *cfg, const evalusers_split_t *us)
{
    size_t m = (size_t)cfg_int(cfg, "max-users");
    return m && m < us->nevaluated ? m : us->nevaluated;
}

/* R5 (drop_low 0) or R7's second run (drop_low 1) of one model at one n. */
/* Every item but the sorted excluded ones (nx) into c->cand; the count. */
static size_t nu_candidates(nuctx_t *c, const uint32_t *excl, size_t nx)
{
    size_t nc = 0, e = 0;
    for (uint32_t i = 0; i < c->ncat; i++) {
        while (e < nx && excl[e] < i)
            e++;
        if (e < nx && excl[e] == i)
            continue;
        c->cand[nc++] = i;
    }
    return nc;
}

static int nu_run_r5(nuctx_t *c, const cfg_t *cfg, int id, size_t n, int drop_low,
                     evalmetrics_ranking_t *res, err_t *err)
{
    const evalusers_split_t *us = c->us;
    size_t maxr = evalusers_max_ratings(us);
    uint32_t *hist = malloc((n + 1) * sizeof *hist), *excl = malloc((n + 1) * sizeof *excl);
    float *hv = malloc((n + 1) * sizeof *hv);
    uint32_t *rel = malloc(maxr * sizeof *rel);
    float *scores = malloc(((size_t)c->ncat + 1) * sizeof *scores);
    evalmetrics_acc_t acc;
    int rc = -1;
    if (!hist || !excl || !hv || !rel || !scores ||
        evalmetrics_acc_init(&acc, c->k, c->ncat, err) != 0) {
        free(hist), free(excl), free(hv), free(rel), free(scores);
        return err_set(err, "out of memory");
    }
    float low_max = (float)cfg_double(cfg, "low-max");
    size_t nu = nu_max_users(cfg, us);
    for (size_t ui = 0; ui < nu; ui++) {
        uint32_t u = us->users[ui];
        size_t nh, nx;
        size_t nrel = evalusers_r5_case(us, u, n, drop_low, low_max, 4.0f, hist, hv, &nh, excl, &nx, rel);
        if (nrel == 0)
            continue;
        size_t nc = nu_candidates(c, excl, nx);
        for (size_t j = 0; j < nc; j++)
            scores[c->cand[j]] = -INFINITY;
        evalproto_query_t q = {u, hist, hv, nh, c->cand, nc};
        if (nu_score(c, id, &q, scores, err) != 0)
            goto done;
        size_t got = nu_topk(c, c->cand, nc, scores);
        if (c->lists) {
            size_t ulen;
            const char *uid = idmap_key(c->s->ds->users, u, &ulen);
            fprintf(c->lists, "R5%s %s %zu %.*s", drop_low ? "-without-low" : "", nu_model_names[id], n,
                    (int)ulen, uid);
            for (size_t i = 0; i < got; i++)
                fprintf(c->lists, " %s", catalog_id(c->s->ds->catalog, c->list[i]));
            fputc('\n', c->lists);
        }
        if (evalmetrics_acc_add(&acc, c->list, got, rel, nrel, err) != 0)
            goto done;
    }
    evalmetrics_acc_result(&acc, res);
    rc = 0;
done:
    evalmetrics_acc_free(&acc);
    free(hist), free(excl), free(hv), free(rel), free(scores);
    return rc;
}

/* ---- R5 --tune: the hybrid policy fitted on validation users ---- */

/* The grid of the history-length policy (common/math/blend.h): method,
 * popularity's weight at n = 0 and its decay, and n0 (content vs CF). */
static const blend_method_t tune_methods[] = {BLEND_RRF, BLEND_MINMAX, BLEND_MAX};
static const float tune_pops[] = {0, 0.5f, 1, 2, 4, 8, 16, 32};
static const float tune_decays[] = {0, 2, 3, 5, 10, 20, 40};
static const float tune_n0s[] = {0.1f, 1, 5};
#define TUNE_NM (sizeof tune_methods / sizeof tune_methods[0])
#define TUNE_NP (sizeof tune_pops / sizeof tune_pops[0])
#define TUNE_ND (sizeof tune_decays / sizeof tune_decays[0])
#define TUNE_N0 (sizeof tune_n0s / sizeof tune_n0s[0])
#define TUNE_NCOMBOS (TUNE_NM * TUNE_NP * TUNE_ND * TUNE_N0)

static void tune_params(const blend_params_t *base, size_t ci, blend_params_t *p)
{
    *p = *base;
    p->method = tune_methods[ci % TUNE_NM];
    ci /= TUNE_NM;
    p->popularity = tune_pops[ci % TUNE_NP];
    ci /= TUNE_NP;
    p->pop_decay = tune_decays[ci % TUNE_ND];
    ci /= TUNE_ND;
    p->n0 = tune_n0s[ci];
}

/* Adds, for every grid point, the NDCG@k sum and user count of history
 * length n on c's (validation) users into ndcg[ci] / users[ci]: the source
 * lists are computed once per user and fused once per grid point. */
static int nu_tune_r5(nuctx_t *c, const cfg_t *cfg, size_t n, double *ndcg, size_t *users, err_t *err)
{
    const evalusers_split_t *us = c->us;
    size_t maxr = evalusers_max_ratings(us);
    uint32_t *hist = malloc((n + 1) * sizeof *hist), *excl = malloc((n + 1) * sizeof *excl);
    float *hv = malloc((n + 1) * sizeof *hv);
    uint32_t *rel = malloc(maxr * sizeof *rel), *list = malloc(c->k * sizeof *list);
    evalmetrics_acc_t *acc = calloc(TUNE_NCOMBOS, sizeof *acc);
    int rc = -1;
    size_t ninit = 0;
    if (!hist || !excl || !hv || !rel || !list || !acc) {
        err_set(err, "out of memory");
        goto done;
    }
    for (; ninit < TUNE_NCOMBOS; ninit++)
        if (evalmetrics_acc_init(&acc[ninit], c->k, c->ncat, err) != 0)
            goto done;
    float low_max = (float)cfg_double(cfg, "low-max");
    size_t nu = nu_max_users(cfg, us);
    for (size_t ui = 0; ui < nu; ui++) {
        uint32_t u = us->users[ui];
        size_t nh, nx;
        size_t nrel = evalusers_r5_case(us, u, n, 0, low_max, 4.0f, hist, hv, &nh, excl, &nx, rel);
        if (nrel == 0)
            continue;
        size_t nc = nu_candidates(c, excl, nx);
        evalproto_query_t q = {u, hist, hv, nh, c->cand, nc};
        blend_list_t lists[BLEND_NSOURCES];
        if (hybrid_lists(&c->m, &q, lists, err) != 0)
            goto done;
        for (size_t ci = 0; ci < TUNE_NCOMBOS; ci++) {
            blend_params_t p;
            tune_params(&c->m.blend, ci, &p);
            long got = blend_merge(&p, NULL, blend_history_len(&c->m, hv, nh), false, lists, c->k, c->m.ws,
                                   c->m.ws_bytes, c->m.merged, NULL, err);
            if (got < 0)
                goto done;
            for (long j = 0; j < got; j++)
                list[j] = c->m.merged[j].key;
            if (evalmetrics_acc_add(&acc[ci], list, (size_t)got, rel, nrel, err) != 0)
                goto done;
        }
    }
    for (size_t ci = 0; ci < TUNE_NCOMBOS; ci++) {
        evalmetrics_ranking_t res;
        evalmetrics_acc_result(&acc[ci], &res);
        ndcg[ci] += res.ndcg;
        users[ci] += res.users;
    }
    rc = 0;
done:
    for (size_t i = 0; i < ninit; i++)
        evalmetrics_acc_free(&acc[i]);
    free(acc), free(hist), free(excl), free(hv), free(rel), free(list);
    return rc;
}

/* Prints the grid points by mean NDCG (over history lengths and seeds),
 * best first, and the options of the best. */
static void nu_tune_print(const double *ndcg, size_t cells, size_t k)
{
    size_t order[TUNE_NCOMBOS];
    for (size_t i = 0; i < TUNE_NCOMBOS; i++)
        order[i] = i;
    for (size_t i = 1; i < TUNE_NCOMBOS; i++)
        for (size_t j = i; j > 0 && ndcg[order[j]] > ndcg[order[j - 1]]; j--) {
            size_t t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    printf("| method | popularity | decay | n0 | mean NDCG@%zu |\n| --- | --- | --- | --- | --- |\n", k);
    blend_params_t base, p;
    blend_params_default(&base);
    for (size_t r = 0; r < 20 && r < TUNE_NCOMBOS; r++) {
        tune_params(&base, order[r], &p);
        printf("| %s | %g | %g | %g | %.4f |\n", blend_method_name(p.method), (double)p.popularity,
               (double)p.pop_decay, (double)p.n0, ndcg[order[r]] / (double)cells);
    }
    tune_params(&base, order[0], &p);
    printf("\nbest on the validation users: --blend-method=%s --blend-popularity=%g "
           "--blend-popularity-decay=%g --blend-n0=%g (mean NDCG@%zu %.4f over %zu history lengths x seeds)\n",
           blend_method_name(p.method), (double)p.popularity, (double)p.pop_decay, (double)p.n0, k,
           ndcg[order[0]] / (double)cells, cells);
}

/* SimilarItems as the gateway answers it (gw_rank.c): the content worker's
 * content_similar and the CF worker's cf_similar, blend-depth entries each
 * (k when larger), the popularity list (query left out), fused by
 * blend_merge with the mode's weights as an override (content 1 / cf 1,
 * popularity 0). Result into c->list. */
static long nu_similar_served(nuctx_t *c, int mode, uint32_t qi, err_t *err)
{
    models_t *m = &c->m;
    size_t depth = m->blend.depth > c->k ? m->blend.depth : c->k;
    filter_t f;
    memset(&f, 0, sizeof f);
    f.excluded = &qi;
    f.nexcluded = 1;
    blend_list_t lists[BLEND_NSOURCES];
    memset(lists, 0, sizeof lists);
    int use_content = mode != NS_BEHAVIOUR, use_cf = mode != NS_CONTENT;
    if (use_content) {
        long n = content_similar(m->cm, qi, depth, &f, m->cs, m->hits, err);
        if (n < 0)
            return -1;
        for (long i = 0; i < n; i++) {
            m->keys[0][i] = m->hits[i].item;
            m->vals[0][i] = m->hits[i].score;
        }
        lists[0] = (blend_list_t){m->keys[0], m->vals[0], (size_t)n};
    }
    if (use_cf && qi < m->cf->n_items) {
        long n = cf_similar(m->cf, m->cfs, qi, &f, depth, m->sel, err);
        if (n < 0)
            return -1;
        for (long i = 0; i < n; i++) {
            m->keys[1][i] = m->sel[i].index;
            m->vals[1][i] = m->sel[i].score;
        }
        lists[1] = (blend_list_t){m->keys[1], m->vals[1], (size_t)n};
    }
    size_t np = 0;
    for (uint32_t i = 0; i < c->ncat; i++)
        if (i != qi) {
            c->sel[np].index = i;
            c->sel[np].score = m->pop_scores[i];
            np++;
        }
    np = topk_pairs(c->sel, np, depth, NULL, c->top);
    for (size_t i = 0; i < np; i++) {
        m->keys[2][i] = c->top[i].index;
        m->vals[2][i] = c->top[i].score;
    }
    lists[2] = (blend_list_t){m->keys[2], m->vals[2], np};
    blend_weights_t w = blend_similar_weights(&m->blend, use_content, use_cf);
    long n = blend_merge(&m->blend, &w, 0, false, lists, c->k, m->ws, m->ws_bytes, m->merged, NULL, err);
    if (n < 0)
        return -1;
    for (long i = 0; i < n; i++)
        c->list[i] = m->merged[i].key;
    return n;
}

/* One R6 answer of mode for query qi into c->list. */
static long nu_similar(nuctx_t *c, int mode, uint32_t qi, err_t *err)
{
    if (mode <= NS_BLEND)
        return nu_similar_served(c, mode, qi, err);
    switch (mode) {
    case NS_POP:
        memcpy(c->buf, c->m.pop_scores, c->ncat * sizeof(float));
        break;
    case NS_COOC:
        evalknn_cooc(c->knn, qi, c->buf);
        break;
    case NS_KNN:
        evalknn_cosine(c->knn, qi, c->buf);
        break;
    case NS_GENRE:
        evalgenre_score(c->s->ds->catalog, &qi, 1, c->gprof, c->buf);
        break;
    }
    size_t nc = 0;
    for (uint32_t i = 0; i < c->ncat; i++)
        if (i != qi)
            c->cand[nc++] = i;
    return (long)nu_topk(c, c->cand, nc, c->buf);
}

static int nu_run_r6(nuctx_t *c, const cfg_t *cfg, int mode, evalmetrics_ranking_t *res,
                     double *pct, err_t *err)
{
    const evalusers_split_t *us = c->us;
    uint32_t *rel = malloc(evalusers_max_ratings(us) * sizeof *rel);
    evalmetrics_acc_t acc;
    if (!rel || evalmetrics_acc_init(&acc, c->k, c->ncat, err) != 0) {
        free(rel);
        return err_set(err, "out of memory");
    }
    int rc = -1;
    double psum = 0;
    size_t pn = 0;
    size_t nu = nu_max_users(cfg, us);
    float qmin = (float)cfg_double(cfg, "query-min");
    for (size_t ui = 0; ui < nu; ui++) {
        uint32_t qi;
        size_t nrel = evalusers_r6_case(us, us->users[ui], qmin, 4.0f, &qi, rel);
        if (nrel == 0)
            continue;
        long got = nu_similar(c, mode, qi, err);
        if (got < 0)
            goto done;
        if (c->lists) {
            fprintf(c->lists, "R6 %s %s", nu_mode_names[mode], catalog_id(c->s->ds->catalog, qi));
            for (long i = 0; i < got; i++)
                fprintf(c->lists, " %s", catalog_id(c->s->ds->catalog, c->list[i]));
            fputc('\n', c->lists);
        }
        for (long i = 0; i < got; i++) {
            psum += c->pct[c->list[i]];
            pn++;
        }
        if (evalmetrics_acc_add(&acc, c->list, (size_t)got, rel, nrel, err) != 0)
            goto done;
    }
    evalmetrics_acc_result(&acc, res);
    *pct = pn ? psum / (double)pn : 0;
    rc = 0;
done:
    evalmetrics_acc_free(&acc);
    free(rel);
    return rc;
}

static int parse_list_u64(const char *s, uint64_t *out, int max, const char *what, err_t *err)
{
    int n = 0;
    const char *p = s;
    while (*p) {
        char *end;
        unsigned long long v = strtoull(p, &end, 10);
        if (end == p)
            return err_set(err, "--%s: '%s' is not a comma-separated list of integers", what, s);
        if (n == max)
            return err_set(err, "--%s: at most %d values", what, max);
        out[n++] = v;
        p = end;
        if (*p == ',')
            p++;
    }
    if (!n)
        return err_set(err, "--%s: empty", what);
    return n;
}

/* --write-train DIR: the train users' ratings in the dataset's own layout,
 * the other files of the dataset linked, so the services can be started on
 * exactly what the evaluator trains on. */
static int nu_write_train(const dataset_t *ds, const evalusers_split_t *us, const char *data,
                          const char *dir, err_t *err)
{
    char path[4096];
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return err_errno(err, "%s", dir);
    const char *links[8];
    size_t nl = 0;
    const char *rname;
    int ml100k = ds->layout == DATASET_ML100K;
    if (ds->layout == DATASET_MLCSV) {
        rname = "ratings.csv";
        links[nl++] = "movies.csv";
        links[nl++] = "links.csv";
        links[nl++] = "tags.csv";
    } else if (ml100k) {
        rname = "u.data";
        links[nl++] = "u.item";
        links[nl++] = "u.genre";
    } else
        return err_set(err, "--write-train: %s: only MovieLens csv (ml-latest*) and ml-100k layouts",
                       data);
    char src[4096];
    for (size_t i = 0; i < nl; i++) {
        snprintf(src, sizeof src, "%s/%s", data, links[i]);
        if (access(src, R_OK) != 0)
            continue;
        char *abs = realpath(src, NULL);
        snprintf(path, sizeof path, "%s/%s", dir, links[i]);
        unlink(path);
        int bad = !abs || symlink(abs, path) != 0;
        free(abs);
        if (bad)
            return err_errno(err, "%s", path);
    }
    snprintf(path, sizeof path, "%s/%s", dir, rname);
    FILE *f = fopen(path, "w");
    if (!f)
        return err_errno(err, "%s", path);
    const ratings_t *r = ds->ratings;
    if (!ml100k)
        fputs("userId,movieId,rating,timestamp\n", f);
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++) {
        if (us->role[r->user[i]] != EVALUSERS_TRAIN)
            continue;
        size_t ulen;
        const char *uid = idmap_key(ds->users, r->user[i], &ulen);
        const char *iid = catalog_id(ds->catalog, r->item[i]);
        fprintf(f, ml100k ? "%.*s\t%s\t%g\t%lld\n" : "%.*s,%s,%g,%lld\n", (int)ulen, uid, iid,
                (double)r->value[i],
                (long long)ratings_ts(r, i));
        n++;
    }
    if (fclose(f) != 0)
        return err_errno(err, "%s", path);
    fprintf(stderr, "recsys-eval: wrote %zu ratings of %zu train users to %s\n", n,
            us->ntrain_users, path);
    return 0;
}

static double nu_mean(const nurow_t *r, int nseeds, int j, double *sd)
{
    double s = 0, q = 0;
    for (int i = 0; i < nseeds; i++)
        s += r->m[i][j];
    double mean = s / nseeds;
    for (int i = 0; i < nseeds; i++)
        q += (r->m[i][j] - mean) * (r->m[i][j] - mean);
    *sd = nseeds > 1 ? sqrt(q / (nseeds - 1)) : 0;
    return mean;
}

static void nu_print(const nutab_t *t, size_t k)
{
    const char *last = "";
    for (size_t i = 0; i < t->n; i++) {
        const nurow_t *r = &t->v[i];
        int r6 = strcmp(r->proto, "R6") == 0 || strcmp(r->proto, "R6-val") == 0;
        char cov[32];
        snprintf(cov, sizeof cov, "Cov@%zu", k);
        if (strcmp(last, r->proto) != 0) {
            last = r->proto;
            printf("\n| protocol | model | n | NDCG@%zu | P@%zu | HR@%zu | %s | users | s |\n"
                   "| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n",
                   k, k, k, r6 ? "pop. pct" : cov);
        }
        if (r6)
            printf("| %s | %s | - |", r->proto, r->model);
        else
            printf("| %s | %s | %d |", r->proto, r->model, r->n);
        int cols[4] = {0, 1, 2, r6 ? 4 : 3};
        for (int j = 0; j < 4; j++) {
            double sd, mean = nu_mean(r, t->nseeds, cols[j], &sd);
            if (t->nseeds > 1)
                printf(cols[j] == 4 ? " %.1f ± %.1f |" : " %.4f ± %.4f |", mean, sd);
            else
                printf(cols[j] == 4 ? " %.1f |" : " %.4f |", mean);
        }
        double secs = 0;
        for (int s = 0; s < t->nseeds; s++)
            secs += r->secs[s];
        printf(" %zu | %.1f |\n", r->users[0], secs / t->nseeds);
    }
}

static int nu_json(const char *path, const nutab_t *t, size_t k, err_t *err)
{
    cJSON *arr = cJSON_CreateArray();
    static const char *const mn[NU_NMET] = {"NDCG", "P", "HR", "Coverage", "popularity_percentile"};
    char key[48];
    for (size_t i = 0; i < t->n; i++) {
        const nurow_t *r = &t->v[i];
        cJSON *o = cJSON_CreateObject(), *met = cJSON_CreateObject(), *sp = cJSON_CreateObject(),
              *per = cJSON_CreateObject(), *seeds = cJSON_CreateArray(), *users = cJSON_CreateArray();
        cJSON_AddStringToObject(o, "protocol", r->proto);
        cJSON_AddStringToObject(o, "model", r->model);
        cJSON_AddNumberToObject(o, "n", r->n);
        for (int s = 0; s < t->nseeds; s++) {
            cJSON_AddItemToArray(seeds, cJSON_CreateNumber((double)t->seeds[s]));
            cJSON_AddItemToArray(users, cJSON_CreateNumber((double)r->users[s]));
        }
        for (int j = 0; j < NU_NMET; j++) {
            if (j == 4 && r->n)
                continue;
            if (j < 4)
                snprintf(key, sizeof key, "%s@%zu", mn[j], k);
            else
                snprintf(key, sizeof key, "%s", mn[j]);
            double sd, mean = nu_mean(r, t->nseeds, j, &sd);
            cJSON_AddNumberToObject(met, key, mean);
            cJSON_AddNumberToObject(sp, key, sd);
            cJSON *v = cJSON_CreateArray();
            for (int s = 0; s < t->nseeds; s++)
                cJSON_AddItemToArray(v, cJSON_CreateNumber(r->m[s][j]));
            cJSON_AddItemToObject(per, key, v);
        }
        cJSON_AddItemToObject(o, "seeds", seeds);
        cJSON_AddItemToObject(o, "users", users);
        cJSON_AddItemToObject(o, "metrics", met);
        cJSON_AddItemToObject(o, "spread_sd", sp);
        cJSON_AddItemToObject(o, "per_seed", per);
        cJSON_AddItemToArray(arr, o);
    }
    return json_save(path, arr, err);
}

/* --queries FILE-less: the fixed table of well-known queries (R6, by title). */
static void nu_print_queries(nuctx_t *c, err_t *err)
{
    static const char *const titles[] = {
        "Toy Story (1995)", "Matrix, The (1999)",
        "Lord of the Rings: The Fellowship of the Ring, The (2001)",
        "Star Wars: Episode IV - A New Hope (1977)", "Pulp Fiction (1994)", "Godfather, The (1972)",
        "Finding Nemo (2003)", "Titanic (1997)", "Alien (1979)", "Forrest Gump (1994)"};
    const catalog_t *cat = c->s->ds->catalog;
    size_t k = c->k;
    c->k = 5;
    printf("\n| query | mode | top 5 |\n| --- | --- | --- |\n");
    for (size_t t = 0; t < sizeof titles / sizeof titles[0]; t++) {
        uint32_t qi = EVALUSERS_NONE;
        for (uint32_t i = 0; i < c->ncat; i++)
            if (strcmp(catalog_title(cat, i), titles[t]) == 0) {
                qi = i;
                break;
            }
        if (qi == EVALUSERS_NONE) {
            printf("| %s | - | not in this catalog |\n", titles[t]);
            continue;
        }
        for (int mode = 0; mode < NS_NMODES; mode++) {
            long got = nu_similar(c, mode, qi, err);
            printf("| %s | %s | ", mode == 0 ? titles[t] : "", nu_mode_names[mode]);
            for (long i = 0; i < got; i++)
                printf("%s%s", i ? "; " : "", catalog_title(cat, c->list[i]));
            printf(" |\n");
        }
    }
    c->k = k;
}

static int run_newusers(const cfg_t *cfg, int protocol, err_t *err)
{
    const char *data = cfg_str(cfg, "data");
    if (!data[0])
        return err_set(err, "--data DIR is required");
    uint8_t want[NU_NMODELS] = {0};
    const char *ml = cfg_str(cfg, "models");
    if (protocol == 6)
        ml = "popularity,content,cf,hybrid";
    if (strcmp(ml, "popularity,content,cf,hybrid") == 0) /* the R1 default: every R5 model */
        memset(want, 1, sizeof want);
    else {
        char buf[256];
        snprintf(buf, sizeof buf, "%s", ml);
        for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
            int found = 0;
            for (int i = 0; i < NU_NMODELS; i++)
                if (strcmp(tok, nu_model_names[i]) == 0)
                    want[i] = 1, found = 1;
            if (!found)
                return err_set(err, "--models: unknown model '%s' for R5/R7 (popularity, ease, als, "
                                    "itemknn, genre, mix, content, cf, hybrid)",
                               tok);
        }
    }
    nutab_t t;
    memset(&t, 0, sizeof t);
    const char *seeds = cfg_str(cfg, "seeds");
    if (seeds[0]) {
        int n = parse_list_u64(seeds, t.seeds, NU_MAXSEEDS, "seeds", err);
        if (n < 0)
            return -1;
        t.nseeds = n;
    } else {
        t.seeds[0] = (uint64_t)cfg_int(cfg, "seed");
        t.nseeds = 1;
    }
    uint64_t nsv[16];
    int nns = parse_list_u64(cfg_str(cfg, "ns"), nsv, 16, "ns", err);
    if (nns < 0)
        return -1;
    if (cfg_bool(cfg, "tune") && protocol != 5)
        return err_set(err, "--tune with R5-R7 fits the hybrid policy on R5 (use --protocol R5)");
    dataset_opts_t dopts;
    dataset_opts_from_cfg(cfg, &dopts);
    dataset_t *ds = NULL;
    if (dataset_load(data, &ds, &dopts, err) != 0)
        return -1;
    int rc = -1;
    int tune = cfg_bool(cfg, "tune");
    if (tune)
        memset(want, 0, sizeof want), want[NU_HYBRID] = 1;
    int validation = cfg_bool(cfg, "validation") || tune;
    double *tune_ndcg = tune ? calloc(TUNE_NCOMBOS, sizeof *tune_ndcg) : NULL;
    size_t *tune_users = tune ? calloc(TUNE_NCOMBOS, sizeof *tune_users) : NULL;
    size_t tune_cells = 0;
    if (tune && (!tune_ndcg || !tune_users)) {
        free(tune_ndcg), free(tune_users);
        dataset_free(ds);
        return err_set(err, "out of memory");
    }
    const char *wt = cfg_str(cfg, "write-train");
    if (wt[0]) {
        evalusers_split_t *us = NULL;
        if (evalusers_split_make(ds, cfg_double(cfg, "user-frac"), t.seeds[0], validation,
                                 cfg_double(cfg, "val-user-frac"), &us, err) == 0)
            rc = nu_write_train(ds, us, data, wt, err);
        evalusers_split_free(us);
        dataset_free(ds);
        return rc;
    }
    FILE *lists = NULL;
    if (cfg_str(cfg, "lists")[0] && !(lists = fopen(cfg_str(cfg, "lists"), "w"))) {
        err_errno(err, "%s", cfg_str(cfg, "lists"));
        dataset_free(ds);
        return -1;
    }
    static const float mix_grid[] = {0, 0.05f, 0.1f, 0.2f, 0.3f, 0.5f, 0.7f, 1, 1.5f, 2, 3};
    for (int si = 0; si < t.nseeds; si++) {
        t.seed_i = si;
        t.cur = 0;
        nuctx_t c;
        if (nuctx_init(&c, ds, cfg, t.seeds[si], protocol, want, err) != 0) {
            nuctx_free(&c);
            goto done;
        }
        c.lists = lists;
        if (tune) {
            for (int ni = 0; ni < nns; ni++, tune_cells++)
                if (nu_tune_r5(&c, cfg, (size_t)nsv[ni], tune_ndcg, tune_users, err) != 0) {
                    nuctx_free(&c);
                    goto done;
                }
        } else if (protocol == 6) {
            for (int mode = 0; mode < NS_NMODES; mode++) {
                double t0 = clock_mono_sec(), pct = 0;
                evalmetrics_ranking_t res;
                nurow_t *r = nutab_row(&t, validation ? "R6-val" : "R6", nu_mode_names[mode], 0, err);
                if (!r || nu_run_r6(&c, cfg, mode, &res, &pct, err) != 0) {
                    nuctx_free(&c);
                    goto done;
                }
                nu_put(r, si, &res, pct, clock_mono_sec() - t0);
            }
            if (si == 0 && cfg_bool(cfg, "queries"))
                nu_print_queries(&c, err);
        } else {
            for (int id = 0; id < NU_NMODELS; id++) {
                if (!want[id])
                    continue;
                size_t ngrid = id == NU_MIX && validation ? sizeof mix_grid / sizeof mix_grid[0] : 1;
                for (size_t g = 0; g < ngrid; g++) {
                    char mname[32];
                    if (ngrid > 1) {
                        c.mix_w = mix_grid[g];
                        snprintf(mname, sizeof mname, "mix w=%g", (double)mix_grid[g]);
                    } else if (id == NU_MIX)
                        snprintf(mname, sizeof mname, "mix w=%g", (double)c.mix_w);
                    else
                        snprintf(mname, sizeof mname, "%s", nu_model_names[id]);
                    for (int v = 0; v < (protocol == 7 ? 2 : 1); v++)
                        for (int ni = 0; ni < nns; ni++) {
                            char pl[24];
                            snprintf(pl, sizeof pl, "%s%s%s", protocol == 7 ? "R7" : "R5",
                                     protocol == 7 ? (v ? "-without-low" : "-with-low") : "",
                                     validation ? "-val" : "");
                            double t0 = clock_mono_sec();
                            evalmetrics_ranking_t res;
                            nurow_t *r = nutab_row(&t, pl, mname, (int)nsv[ni], err);
                            if (!r || nu_run_r5(&c, cfg, id, (size_t)nsv[ni], v, &res, err) != 0) {
                                nuctx_free(&c);
                                goto done;
                            }
                            nu_put(r, si, &res, 0, clock_mono_sec() - t0);
                            log_kv(LOG_INFO, "evaluated", "model", mname, "protocol", pl, NULL);
                        }
                }
                c.mix_w = (float)cfg_double(cfg, "mix-w");
            }
        }
        nuctx_free(&c);
    }
    if (tune) {
        nu_tune_print(tune_ndcg, tune_cells, (size_t)cfg_int(cfg, "k"));
        rc = 0;
        goto done;
    }
    nu_print(&t, (size_t)cfg_int(cfg, "k"));
    if (validation && protocol != 6 && want[NU_MIX]) {
        /* The mix weight with the best NDCG averaged over n and seeds. */
        double best = -1;
        const char *bw = "";
        for (size_t i = 0; i < t.n; i++) {
            if (strncmp(t.v[i].model, "mix w=", 6) != 0 || (i > 0 && strcmp(t.v[i - 1].model, t.v[i].model) == 0))
                continue;
            double sum = 0;
            size_t cnt = 0;
            for (size_t j = i; j < t.n && strcmp(t.v[j].model, t.v[i].model) == 0; j++)
                for (int si = 0; si < t.nseeds; si++, cnt++)
                    sum += t.v[j].m[si][0];
            if (cnt && sum / (double)cnt > best) {
                best = sum / (double)cnt;
                bw = t.v[i].model + 6;
            }
        }
        printf("\nbest on the validation users: --mix-w=%s (NDCG@%zu %.4f averaged over n and seeds)\n", bw,
               (size_t)cfg_int(cfg, "k"), best);
    }
    const char *json = cfg_str(cfg, "json");
    if (json[0] && nu_json(json, &t, (size_t)cfg_int(cfg, "k"), err) != 0)
        goto done;
    rc = 0;
done:
    if (lists)
        fclose(lists);
    free(tune_ndcg), free(tune_users);
    free(t.v);
    dataset_free(ds);
    return rc;
}
#else
static int run_newusers(const cfg_t *cfg, int protocol, err_t *err)
{
    (void)cfg, (void)protocol;
    return err_set(err, "R5-R7 need the content and cf models, not available in this build");
}
#endif


/* ---- main ---- */

static int split_models(char *list, char **out, size_t max, err_t *err)
{
    size_t n = 0;
    for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
        if (strcmp(tok, "popularity") && strcmp(tok, "content") && strcmp(tok, "cf") &&
            strcmp(tok, "hybrid"))
            return err_set(err, "--models: unknown model '%s' (popularity, content, cf, hybrid)",
                           tok);
        if (n == max)
            return err_set(err, "--models: too many");
        out[n++] = tok;
    }
    if (!n)
        return err_set(err, "--models: empty");
    return (int)n;
}

static int run(const cfg_t *cfg, err_t *err)
{
    const char *proto = cfg_str(cfg, "protocol");
    int protocol = strcmp(proto, "R1") == 0 ? 1 : strcmp(proto, "R2") == 0 ? 2
                                              : strcmp(proto, "R3") == 0 ? 3 : 0;
    if (strcmp(proto, "R5") == 0 || strcmp(proto, "R6") == 0 || strcmp(proto, "R7") == 0)
        return run_newusers(cfg, proto[1] - '0', err);
    if (!protocol)
        return err_set(err, "--protocol=%s: expected R1, R2, R3, R5, R6 or R7", proto);
    const char *data = cfg_str(cfg, "data");
    if (!data[0])
        return err_set(err, "--data DIR is required");
    const char *split_file = cfg_str(cfg, "split");
    if (split_file[0] && protocol == 3)
        return err_set(err, "--split applies to R1 and R2 (R3 uses ml-100k ua and --cold-items)");
    char mbuf[256];
    snprintf(mbuf, sizeof mbuf, "%s", cfg_str(cfg, "models"));
    char *models[8];
    int nm = split_models(mbuf, models, 8, err);
    if (nm < 0)
        return -1;
    blend_params_t bp;
    if (blend_params_from_cfg(cfg, &bp, err) != 0)
        return -1;

    dataset_opts_t dopts;
    dataset_opts_from_cfg(cfg, &dopts);
    dataset_t *ds = NULL;
    if (dataset_load(data, &ds, &dopts, err) != 0)
        return -1;
    int rc = -1;
    rows_t rows = {0};
    const char *bases[6];
    size_t nb = 0;
    if (split_file[0])
        bases[nb++] = split_file;
    else if (strcmp(cfg_str(cfg, "base"), "all") == 0) {
        if (protocol != 2) {
            err_set(err, "--base=all is for R2 (ua and the five folds)");
            goto done;
        }
        static const char *const all[6] = {"ua", "u1", "u2", "u3", "u4", "u5"};
        for (int i = 0; i < 6; i++)
            bases[nb++] = all[i];
    } else
        bases[nb++] = cfg_str(cfg, "base");
    if (!split_file[0] && ds->layout != DATASET_ML100K) {
        err_set(err, "%s: not ml-100k; give the split with --split FILE", data);
        goto done;
    }
    int validation = cfg_bool(cfg, "validation") || cfg_bool(cfg, "tune");
    char plabel[16];
    snprintf(plabel, sizeof plabel, "%s%s", proto, validation ? "-val" : "");
    for (size_t b = 0; b < nb; b++) {
        evalproto_split_t *s = NULL, *t = NULL;
        if (split_file[0]) {
            size_t len;
            char *buf = read_maybe_gz(split_file, &len, err);
            if (!buf)
                goto done;
            const char *slash = strrchr(split_file, '/');
            int prc = evalproto_split_parse(ds, slash ? slash + 1 : split_file, buf, len, &s, err);
            free(buf);
            if (prc != 0)
                goto done;
        } else if (evalproto_split_ml100k(ds, bases[b], &s, err) != 0)
            goto done;
        if (protocol == 3) {
            char *cp = cold_items_path(cfg);
            size_t len;
            char *buf = cp ? read_maybe_gz(cp, &len, err) : NULL;
            uint32_t *cold = NULL;
            size_t ncold = 0;
            int crc = buf ? evalproto_parse_item_list(ds, cp, buf, len, &cold, &ncold, err) : -1;
            free(buf);
            free(cp);
            if (crc == 0)
                crc = evalproto_split_cold(s, cold, ncold, &t, err);
            free(cold);
            evalproto_split_free(s);
            s = t;
            if (crc != 0)
                goto done;
        }
        if (validation) {
            uint64_t seed = (uint64_t)cfg_int(cfg, "val-seed");
            int vrc = protocol == 3
                          ? evalproto_split_validation_cold(s, cfg_double(cfg, "val-cold-frac"), seed,
                                                            &t, err)
                          : evalproto_split_validation(s, cfg_double(cfg, "val-frac"), seed, &t, err);
            evalproto_split_free(s);
            s = t;
            if (vrc != 0)
                goto done;
        }
        evalproto_stats_t st;
        evalproto_split_stats(s, &st);
        fprintf(stderr,
                "recsys-eval: %s: %zu train, %zu test ratings; %u items, %u candidates; %u users "
                "evaluated, %zu relevant\n",
                s->name, st.ntrain, st.ntest, st.nitems, st.ncandidates, st.eval_users,
                st.relevant);
        int r;
        if (cfg_bool(cfg, "tune"))
            r = run_tune(s, cfg, protocol, err);
        else
            r = run_split(s, cfg, protocol, plabel, models, (size_t)nm, &rows, err);
        evalproto_split_free(s);
        if (r != 0)
            goto done;
    }
    if (!cfg_bool(cfg, "tune")) {
        print_table(&rows, (size_t)cfg_int(cfg, "k"));
        const char *json = cfg_str(cfg, "json");
        if (json[0] && write_json(json, &rows, (size_t)cfg_int(cfg, "k"), err) != 0)
            goto done;
    }
    rc = 0;
done:
    free(rows.v);
    dataset_free(ds);
    return rc;
}

static int eval_run(const cfg_t *cfg)
{
    err_t err = {0};
    int rc = run(cfg, &err);
    if (rc != 0)
        fprintf(stderr, "recsys-eval: %s\n", err.msg);
    return rc ? 1 : 0;
}

static const daemon_section_t eval_sections[] = {
    {"eval", eval_options},
    {"dataset", dataset_options},
    {"blend", blend_options},
#ifdef RECSYS_EVAL_HAVE_CF
    {"cf", cf_options},
    {"cf-features", cf_featmap_options},
#endif
#ifdef RECSYS_EVAL_HAVE_CONTENT
    {"content", content_options},
#endif
    DAEMON_SECTIONS_END,
};

static const daemon_command_t commands[] = {
    {
        .name = NULL, /* the only command */
        .usage = "--data DIR --protocol R1|R2|R3|R5|R6|R7 [options]",
        .summary = "Runs an evaluation protocol of EVALUATION.md (R1 top-k ranking, R2 rating "
                   "prediction, R3 cold items, R5 new users, R6 similar items, R7 low ratings) "
                   "for popularity, content, cf, hybrid (and R5-R7's anchors), prints the "
                   "table and optionally writes it as JSON.",
        .sections = eval_sections,
        .run = eval_run,
    },
};

static const daemon_program_t program = {
    .name = "recsys-eval",
    .service = "recsys-eval",
    .commands = commands,
    .ncommands = sizeof commands / sizeof commands[0],
};

int main(int argc, char **argv) { return daemon_main(&program, argc, argv); }
