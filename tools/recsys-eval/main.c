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
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <zlib.h>

#include "common/math/blend.h"
#include "common/base/clock.h"
#include "common/base/config.h"
#include "common/data/dataset.h"
#include "tools/recsys-eval/evalmetrics.h"
#include "tools/recsys-eval/evalproto.h"
#include "common/base/log.h"
#include "common/data/popularity.h"
#include "common/math/topk.h"

#ifdef RECSYS_EVAL_HAVE_CF
#include "services/cf/cf_features.h"
#include "services/cf/cf_model.h"
#endif
#ifdef RECSYS_EVAL_HAVE_CONTENT
#include "services/content/content_model.h"
#endif

static const cfg_option_t eval_options[] = {
    {"protocol", CFG_STRING, "R1", "R1 (top-k ranking), R2 (rating prediction) or R3 (cold items).",
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
     "Grid-search the blend (method, n0, popularity) on the validation split; prints every "
     "setting and the best.",
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
#endif
#ifdef RECSYS_EVAL_HAVE_CONTENT
    content_model_t *cm;
    content_scratch_t *cs;
    content_event_t *ev;
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
        m->ev[i].rating = q->hist_value[i];
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
static int score_hybrid(void *ctx, const evalproto_query_t *q, float *scores, err_t *err)
{
    models_t *m = ctx;
    blend_list_t lists[BLEND_NSOURCES];
    memset(lists, 0, sizeof lists);
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
    long n = blend_merge(&m->blend, NULL, q->nhist, lists, q->ncand, m->ws, m->ws_bytes, m->merged,
                         NULL, err);
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
    /* cJSON prints doubles with 17 significant digits when needed. */
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
    if (bad)
        return err_errno(err, "%s: write", path);
    return 0;
}

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
    if (!protocol)
        return err_set(err, "--protocol=%s: expected R1, R2 or R3", proto);
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

int main(int argc, char **argv)
{
    err_t err;
    cfg_t *cfg = cfg_new("recsys-eval", "--data DIR --protocol R1|R2|R3 [options]",
                         "Runs an evaluation protocol of EVALUATION.md (R1 top-k ranking, R2 rating "
                         "prediction, R3 cold items) for popularity, content, cf and hybrid, prints "
                         "the table and optionally writes it as JSON.");
    if (!cfg || cfg_add(cfg, "eval", eval_options, &err) != 0 ||
        cfg_add(cfg, "dataset", dataset_options, &err) != 0 ||
        cfg_add(cfg, "blend", blend_options, &err) != 0 ||
#ifdef RECSYS_EVAL_HAVE_CF
        cfg_add(cfg, "cf", cf_options, &err) != 0 ||
        cfg_add(cfg, "cf-features", cf_featmap_options, &err) != 0 ||
#endif
#ifdef RECSYS_EVAL_HAVE_CONTENT
        cfg_add(cfg, "content", content_options, &err) != 0 ||
#endif
        cfg_add(cfg, "log", log_options, &err) != 0) {
        fprintf(stderr, "recsys-eval: %s\n", cfg ? err.msg : "out of memory");
        cfg_free(cfg);
        return 2;
    }
    int prc = cfg_parse(cfg, argc, argv, &err);
    if (prc != 0) {
        if (prc < 0)
            fprintf(stderr, "recsys-eval: %s\n", err.msg);
        cfg_free(cfg);
        return prc < 0 ? 2 : 0;
    }
    if (log_setup_cfg("recsys-eval", cfg, &err) != 0) {
        fprintf(stderr, "recsys-eval: %s\n", err.msg);
        cfg_free(cfg);
        return 2;
    }
    int rc = run(cfg, &err);
    if (rc != 0)
        fprintf(stderr, "recsys-eval: %s\n", err.msg);
    cfg_free(cfg);
    return rc ? 1 : 0;
}
