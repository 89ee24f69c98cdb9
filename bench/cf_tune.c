/*
 * cf_tune.c: choosing the CF hyper-parameters without looking at the test
 * set, and the final check on it.
 *
 *   cf_tune DIR grid-ease|grid-als|grid-mf   grid search on a validation split
 *   cf_tune DIR test [--cf-... options]      the chosen model on ua.test
 *
 * DIR is ml-100k. The validation split is carved from ua.base the way ua
 * itself was made: 10 ratings of every user who has at least 20 are held out
 * (rng seed 1), the rest is the training part. Ranking is measured as in
 * EVALUATION.md R1 (relevant: held-out rating >= 4; candidates: all items
 * minus the user's training items; top-10, ties to the lower index) and
 * rating prediction as RMSE over the held-out pairs.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/data/dataset.h"
#include "common/base/rng.h"
#include "services/cf/cf_linalg.h"
#include "services/cf/cf_model.h"

typedef struct split {
    cf_data_t train;
    /* held-out pairs */
    uint32_t *u, *i;
    float *r;
    size_t n;
} split_t;

static void die(const err_t *err)
{
    fprintf(stderr, "cf_tune: %s\n", err->msg);
    exit(1);
}

typedef struct metrics {
    double ndcg, prec, rmse;
    size_t users;
} metrics_t;

static metrics_t rank_metrics(const cf_model_t *m, const split_t *s)
{
    metrics_t out = {0, 0, 0, 0};
    uint32_t nu = m->n_users, ni = m->n_items;
    uint8_t *rel = calloc(ni, 1);
    uint32_t *nrel = calloc(nu, sizeof *nrel);
    for (size_t k = 0; k < s->n; k++)
        if (s->r[k] >= 4.0f)
            nrel[s->u[k]]++;
    cf_scratch_t *sc = cf_scratch_new();
    err_t err;
    topk_item_t top[10];
    for (uint32_t u = 0; u < nu; u++) {
        if (!nrel[u])
            continue;
        for (size_t k = 0; k < s->n; k++)
            if (s->u[k] == u && s->r[k] >= 4.0f)
                rel[s->i[k]] = 1;
        cf_who_t who = {u, NULL, 0};
        long n = cf_recommend(m, sc, &who, NULL, 10, top, NULL, &err);
        if (n < 0)
            die(&err);
        double dcg = 0, idcg = 0;
        int hits = 0;
        for (long r = 0; r < n; r++)
            if (rel[top[r].index]) {
                dcg += 1.0 / log2((double)r + 2.0);
                hits++;
            }
        for (uint32_t r = 0; r < nrel[u] && r < 10; r++)
            idcg += 1.0 / log2((double)r + 2.0);
        out.ndcg += dcg / idcg;
        out.prec += hits / 10.0;
        out.users++;
        for (size_t k = 0; k < s->n; k++)
            if (s->u[k] == u)
                rel[s->i[k]] = 0;
    }
    out.ndcg /= (double)out.users;
    out.prec /= (double)out.users;
    cf_scratch_free(sc);
    free(rel);
    free(nrel);
    return out;
}

static double rmse(const cf_model_t *m, const split_t *s)
{
    cf_scratch_t *sc = cf_scratch_new();
    err_t err;
    double se = 0;
    for (size_t k = 0; k < s->n; k++) {
        cf_who_t who = {s->u[k], NULL, 0};
        float p;
        if (cf_predict(m, sc, &who, &s->i[k], 1, &p, &err) < 0)
            die(&err);
        se += (p - s->r[k]) * (p - s->r[k]);
    }
    cf_scratch_free(sc);
    return sqrt(se / (double)s->n);
}

/* Validation: hold out 10 ratings of each user with >= 20 (seed 1). */
static void carve(const ratings_t *r, uint32_t n_users, uint32_t n_items, split_t *s)
{
    uint32_t *cnt = calloc(n_users, sizeof *cnt);
    for (size_t k = 0; k < r->n; k++)
        cnt[r->user[k]]++;
    uint8_t *keep = malloc(r->n);
    memset(keep, 1, r->n);
    /* Per user: the ratings in file order, 10 drawn without replacement. */
    size_t *idx = malloc(r->n * sizeof *idx);
    uint64_t *start = calloc((size_t)n_users + 1, sizeof *start);
    for (size_t k = 0; k < r->n; k++)
        start[r->user[k] + 1]++;
    for (uint32_t u = 0; u < n_users; u++)
        start[u + 1] += start[u];
    uint64_t *fill = malloc(((size_t)n_users + 1) * sizeof *fill);
    memcpy(fill, start, ((size_t)n_users + 1) * sizeof *fill);
    for (size_t k = 0; k < r->n; k++)
        idx[fill[r->user[k]]++] = k;
    s->u = malloc(r->n * sizeof *s->u);
    s->i = malloc(r->n * sizeof *s->i);
    s->r = malloc(r->n * sizeof *s->r);
    s->n = 0;
    for (uint32_t u = 0; u < n_users; u++) {
        size_t n = cnt[u];
        if (n < 20)
            continue;
        rng_t g;
        rng_seed2(&g, 1, u);
        size_t *row = idx + start[u];
        for (size_t j = 0; j < 10; j++) {
            size_t pick = j + rng_below(&g, n - j);
            size_t t = row[j];
            row[j] = row[pick];
            row[pick] = t;
            keep[row[j]] = 0;
        }
    }
    for (size_t k = 0; k < r->n; k++) {
        if (keep[k])
            continue;
        s->u[s->n] = r->user[k];
        s->i[s->n] = r->item[k];
        s->r[s->n++] = r->value[k];
    }
    err_t err;
    if (cf_data_from_ratings(&s->train, r, n_users, n_items, keep, &err) < 0)
        die(&err);
    free(cnt);
    free(keep);
    free(idx);
    free(start);
    free(fill);
}

static void from_test(const ratings_t *base, const ratings_t *test, uint32_t n_users, uint32_t n_items, split_t *s)
{
    err_t err;
    if (cf_data_from_ratings(&s->train, base, n_users, n_items, NULL, &err) < 0)
        die(&err);
    s->n = test->n;
    s->u = malloc(s->n * sizeof *s->u);
    s->i = malloc(s->n * sizeof *s->i);
    s->r = malloc(s->n * sizeof *s->r);
    memcpy(s->u, test->user, s->n * sizeof *s->u);
    memcpy(s->i, test->item, s->n * sizeof *s->i);
    memcpy(s->r, test->value, s->n * sizeof *s->r);
}

static void eval_print(const char *label, const cf_model_t *m, const split_t *s)
{
    if (m->kind == CF_KIND_MF) {
        printf("%-60s RMSE %.4f  fit %.2fs\n", label, rmse(m, s), m->fit_seconds);
    } else {
        metrics_t x = rank_metrics(m, s);
        printf("%-60s NDCG@10 %.4f  P@10 %.4f  users %zu  fit %.2fs\n", label, x.ndcg, x.prec, x.users,
               m->fit_seconds);
    }
    fflush(stdout);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: cf_tune ML100K_DIR grid-ease|grid-als|grid-mf|test [--cf-... options]\n");
        return 2;
    }
    err_t err;
    dataset_t *ds;
    dataset_opts_t o = {0};
    o.ratings_file = "ua.base";
    if (dataset_load(argv[1], &ds, &o, &err) < 0)
        die(&err);
    ratings_t *test = NULL;
    if (dataset_load_ratings_file(ds, "ua.test", &test, &err) < 0)
        die(&err);
    uint32_t nu = idmap_size(ds->users), ni = catalog_size(ds->catalog);
    const char *mode = argv[2];
    split_t s;
    if (strcmp(mode, "test") == 0)
        from_test(ds->ratings, test, nu, ni, &s);
    else
        carve(ds->ratings, nu, ni, &s);
    cfg_t *cfg = cfg_new("cf_tune", "DIR MODE [options]", "CF hyper-parameter search.");
    if (cfg_add(cfg, "cf", cf_options, &err) < 0 || cfg_parse(cfg, argc - 2, argv + 2, &err) < 0)
        die(&err);
    cf_params_t p;
    if (cf_params_from_cfg(cfg, &p, &err) < 0)
        die(&err);
    char label[160];
    cf_model_t *m;
    if (strcmp(mode, "grid-ease") == 0) {
        static const float lambdas[] = {50, 100, 200, 300, 400, 500, 700, 1000, 1500};
        for (int bin = 1; bin >= 0; bin--)
            for (size_t l = 0; l < sizeof lambdas / sizeof lambdas[0]; l++) {
                cf_ease_params_t e = {bin ? lambdas[l] : lambdas[l] * 10, bin};
                if (cf_train_ease(&s.train, &e, &m, &err) < 0)
                    die(&err);
                snprintf(label, sizeof label, "ease lambda %g binary %d", (double)e.lambda, bin);
                eval_print(label, m, &s);
                cf_model_release(m);
            }
    } else if (strcmp(mode, "grid-als") == 0) {
        static const float alphas[] = {0.5f, 1, 2, 4, 8, 16};
        static const float regs[] = {10, 20, 50, 100, 200};
        for (int conf = 0; conf < 2; conf++)
            for (size_t a = 0; a < sizeof alphas / sizeof alphas[0]; a++)
                for (size_t r = 0; r < sizeof regs / sizeof regs[0]; r++) {
                    cf_als_params_t ap = p.als;
                    ap.alpha = alphas[a];
                    ap.reg = regs[r];
                    ap.conf = conf ? CF_CONF_LOG : CF_CONF_LINEAR;
                    if (cf_train_als(&s.train, &ap, &m, &err) < 0)
                        die(&err);
                    snprintf(label, sizeof label, "als f%u it%u cg%u %s alpha %g reg %g binary %d", ap.factors,
                             ap.iterations, ap.cg_steps, conf ? "log" : "lin", (double)ap.alpha, (double)ap.reg,
                             ap.binary);
                    eval_print(label, m, &s);
                    cf_model_release(m);
                }
    } else if (strcmp(mode, "grid-mf") == 0) {
        /* The penalty is reg * n^reg_exp: grids per exponent. */
        static const uint32_t factors[] = {16, 64};
        static const float exps[] = {0.0f, 0.5f, 1.0f};
        static const float regs[3][4] = {{2, 5, 10, 20}, {0.3f, 0.6f, 1.2f, 2.4f}, {0.1f, 0.12f, 0.15f, 0.2f}};
        static const float bregs[3][3] = {{1, 3, 10}, {0.2f, 0.5f, 1}, {0.02f, 0.05f, 0.1f}};
        for (size_t e = 0; e < 3; e++)
        for (size_t f = 0; f < sizeof factors / sizeof factors[0]; f++)
            for (size_t r = 0; r < 4; r++)
                for (size_t b = 0; b < 3; b++) {
                    cf_mf_params_t mp = p.mf;
                    mp.factors = factors[f];
                    mp.reg = regs[e][r];
                    mp.bias_reg = bregs[e][b];
                    mp.reg_exp = exps[e];
                    if (cf_train_mf(&s.train, &mp, &m, &err) < 0)
                        die(&err);
                    snprintf(label, sizeof label, "mf f%u it%u reg %g bias-reg %g exp %g", mp.factors, mp.iterations,
                             (double)mp.reg, (double)mp.bias_reg, (double)mp.reg_exp);
                    eval_print(label, m, &s);
                    cf_model_release(m);
                }
    } else if (strcmp(mode, "test") == 0 || strcmp(mode, "valid") == 0) {
        cf_kind_t kinds[] = {CF_KIND_POP, CF_KIND_EASE, CF_KIND_ALS, CF_KIND_MF};
        for (size_t k = 0; k < 4; k++) {
            cf_params_t q = p;
            q.kind = kinds[k];
            if (cf_train(&s.train, &q, &m, &err) < 0)
                die(&err);
            snprintf(label, sizeof label, "%s %s (defaults + flags)", mode, cf_kind_name(kinds[k]));
            eval_print(label, m, &s);
            cf_model_release(m);
        }
    } else {
        fprintf(stderr, "cf_tune: unknown mode '%s'\n", mode);
        return 2;
    }
    cfg_free(cfg);
    cf_data_free(&s.train);
    free(s.u);
    free(s.i);
    free(s.r);
    ratings_free(test);
    dataset_free(ds);
    return 0;
}
