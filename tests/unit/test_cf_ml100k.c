/* test_cf_ml100k.c: the CF models on MovieLens 100K ua (EVALUATION.md R1
 * and R2) with the library defaults, which were chosen on a validation
 * split of ua.base: EASE and ALS NDCG@10 >= 0.30 (R1 protocol, computed
 * here by a small local function), MF RMSE <= 0.93, popularity equal to
 * the shared fixture's figures. Skips when ../shared is absent. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/data/dataset.h"
#include "services/cf/cf_model.h"

typedef struct fixture {
    dataset_t *ds;
    ratings_t *test;
    cf_data_t train;
} fixture_t;

static int setup(void **state)
{
    char *dir = testutil_shared_path("data/ml-100k");
    if (!dir) {
        *state = NULL;
        return 0;
    }
    fixture_t *f = calloc(1, sizeof *f);
    err_t err;
    dataset_opts_t o = {0};
    o.ratings_file = "ua.base";
    if (dataset_load(dir, &f->ds, &o, &err) < 0 || dataset_load_ratings_file(f->ds, "ua.test", &f->test, &err) < 0 ||
        cf_data_from_ratings(&f->train, f->ds->ratings, idmap_size(f->ds->users), catalog_size(f->ds->catalog),
                             NULL, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        free(dir);
        return -1;
    }
    free(dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    if (f) {
        cf_data_free(&f->train);
        ratings_free(f->test);
        dataset_free(f->ds);
        free(f);
    }
    return 0;
}

/* R1: mean NDCG@10 (and P@10) over users with a test rating >= 4. */
static double ndcg_at_10(const cf_model_t *m, const ratings_t *test, double *prec)
{
    uint32_t nu = m->n_users;
    uint32_t *nrel = calloc(nu, sizeof *nrel);
    uint8_t *rel = calloc(m->n_items, 1);
    for (size_t k = 0; k < test->n; k++)
        if (test->value[k] >= 4.0f)
            nrel[test->user[k]]++;
    cf_scratch_t *s = cf_scratch_new();
    err_t err;
    double sum = 0, psum = 0;
    size_t users = 0;
    for (uint32_t u = 0; u < nu; u++) {
        if (!nrel[u])
            continue;
        for (size_t k = 0; k < test->n; k++)
            if (test->user[k] == u)
                rel[test->item[k]] = test->value[k] >= 4.0f;
        topk_item_t top[10];
        cf_who_t who = {u, NULL, 0};
        long n = cf_recommend(m, s, &who, NULL, 10, top, NULL, &err);
        assert_true(n == 10);
        double dcg = 0, idcg = 0;
        int hits = 0;
        for (long r = 0; r < n; r++)
            if (rel[top[r].index]) {
                dcg += 1.0 / log2(r + 2.0);
                hits++;
            }
        for (uint32_t r = 0; r < nrel[u] && r < 10; r++)
            idcg += 1.0 / log2(r + 2.0);
        sum += dcg / idcg;
        psum += hits / 10.0;
        users++;
        for (size_t k = 0; k < test->n; k++)
            if (test->user[k] == u)
                rel[test->item[k]] = 0;
    }
    assert_int_equal(users, 934);
    cf_scratch_free(s);
    free(rel);
    free(nrel);
    *prec = psum / users;
    return sum / users;
}

static cf_model_t *train(const fixture_t *f, cf_kind_t kind)
{
    cf_params_t p;
    cf_params_default(&p);
    p.kind = kind;
    cf_model_t *m;
    err_t err;
    if (cf_train(&f->train, &p, &m, &err) < 0)
        fail_msg("%s", err.msg);
    return m;
}

static void test_ranking(void **state)
{
    fixture_t *f = *state;
    if (!f) {
        skip();
        return;
    }
    struct {
        cf_kind_t kind;
        double min_ndcg;
    } cases[] = {{CF_KIND_POP, 0}, {CF_KIND_AUTO, 0.30}, {CF_KIND_ALS, 0.30}};
    for (size_t c = 0; c < 3; c++) {
        cf_model_t *m = train(f, cases[c].kind);
        double prec, ndcg = ndcg_at_10(m, f->test, &prec);
        printf("  %-5s NDCG@10 %.4f  P@10 %.4f  fit %.3f s\n", cf_kind_name(m->kind), ndcg, prec, m->fit_seconds);
        if (cases[c].kind == CF_KIND_POP) {
            /* ../shared/fixtures/ml100k_ua_popularity_top10_metrics.json */
            assert_true(fabs(ndcg - 0.1333) < 5e-5 && fabs(prec - 0.0836) < 5e-5);
        } else {
            assert_true(ndcg >= cases[c].min_ndcg);
        }
        if (cases[c].kind == CF_KIND_AUTO)
            assert_int_equal(m->kind, CF_KIND_EASE); /* 1682 items */
        cf_model_release(m);
    }
}

static void test_rating_prediction(void **state)
{
    fixture_t *f = *state;
    if (!f) {
        skip();
        return;
    }
    cf_model_t *m = train(f, CF_KIND_MF);
    cf_scratch_t *s = cf_scratch_new();
    err_t err;
    double se = 0, ae = 0;
    const ratings_t *t = f->test;
    for (size_t k = 0; k < t->n; k++) {
        cf_who_t who = {t->user[k], NULL, 0};
        float p;
        assert_int_equal(cf_predict(m, s, &who, &t->item[k], 1, &p, &err), 0);
        assert_true(p >= 1.0f && p <= 5.0f);
        se += (p - t->value[k]) * (p - t->value[k]);
        ae += fabs(p - t->value[k]);
    }
    double rmse = sqrt(se / t->n);
    printf("  mf    RMSE %.4f  MAE %.4f  fit %.3f s\n", rmse, ae / t->n, m->fit_seconds);
    assert_true(rmse <= 0.93);
    cf_scratch_free(s);
    cf_model_release(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ranking),
        cmocka_unit_test(test_rating_prediction),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
