/* test_cf_als.c: implicit ALS on hand-checkable matrices: the obvious item
 * ranks first, factors are identical bit for bit for any thread count and
 * a given seed, fold-in of a trained user's history gives back (nearly)
 * their trained vector, and bad parameters are refused. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/base/rng.h"
#include "common/math/vec.h"
#include "services/cf/cf_model.h"

/* u0 {0,1,2}, u1 {0,1,2,4}, u2 {3,4}, u3 {0,1}: item 2 goes with 0 and 1. */
static const uint32_t tu[] = {0, 0, 0, 1, 1, 1, 1, 2, 2, 3, 3};
static const uint32_t ti[] = {0, 1, 2, 0, 1, 2, 4, 3, 4, 0, 1};

static void tiny(cf_data_t *d)
{
    err_t err;
    assert_int_equal(cf_data_from_triplets(d, 4, 5, tu, ti, NULL, sizeof tu / sizeof tu[0], &err), 0);
}

static cf_als_params_t small_params(void)
{
    cf_params_t p;
    cf_params_default(&p);
    p.als.factors = 3;
    p.als.iterations = 30;
    p.als.reg = 0.1f;
    p.als.alpha = 10.0f;
    p.als.cg_steps = 3;
    p.als.threads = 1;
    return p.als;
}

static void test_obvious_item(void **state)
{
    cf_data_t d;
    tiny(&d);
    cf_als_params_t p = small_params();
    cf_model_t *m;
    err_t err;
    assert_int_equal(cf_train_als(&d, &p, &m, &err), 0);
    assert_int_equal(m->kind, CF_KIND_ALS);
    assert_int_equal(m->dim, 3);
    cf_scratch_t *s = cf_scratch_new();
    topk_item_t top[5];
    size_t used = 0;
    cf_who_t who = {3, NULL, 0};
    long n = cf_recommend(m, s, &who, NULL, 5, top, &used, &err);
    assert_int_equal(n, 3); /* 0 and 1 are seen */
    assert_int_equal(used, 2);
    assert_int_equal(top[0].index, 2);
    /* Anonymous history {0, 1}: fold-in, same answer. */
    cf_event_t ev[] = {{0, 1.0f}, {1, 1.0f}};
    cf_who_t anon = {CF_NO_USER, ev, 2};
    n = cf_recommend(m, s, &anon, NULL, 5, top, &used, &err);
    assert_int_equal(n, 3);
    assert_int_equal(top[0].index, 2);
    /* A user of 3 and 4 is steered away from 2. */
    cf_who_t u2 = {2, NULL, 0};
    n = cf_recommend(m, s, &u2, NULL, 1, top, NULL, &err);
    assert_int_equal(n, 1);
    assert_true(top[0].index != 2 || top[0].score < 0.5f);
    /* Trained scores reproduce the observations: high on rated items. */
    float sc[5];
    uint32_t all[] = {0, 1, 2, 3, 4};
    assert_int_equal(cf_score_items(m, s, &who, all, 5, sc, &err), 0);
    assert_true(sc[0] > 0.5f && sc[1] > 0.5f);
    assert_true(sc[2] > sc[3] && sc[2] > sc[4]);
    cf_scratch_free(s);
    cf_model_release(m);
    cf_data_free(&d);
}

/* A random 150 x 80 matrix with 12 items per user. */
/* Ratings lo..5 (lo >= 1). */
static void random_data_from(cf_data_t *d, uint64_t seed, uint32_t lo)
{
    enum { U = 150, I = 80, PER = 12 };
    uint32_t *u = malloc(U * PER * sizeof *u), *it = malloc(U * PER * sizeof *it);
    float *v = malloc(U * PER * sizeof *v);
    rng_t g;
    rng_seed(&g, seed);
    size_t n = 0;
    for (uint32_t a = 0; a < U; a++) {
        uint8_t used[I] = {0};
        for (int k = 0; k < PER; k++) {
            uint32_t i;
            do
                i = (uint32_t)((rng_below(&g, I) * rng_below(&g, I)) / I); /* skewed */
            while (used[i]);
            used[i] = 1;
            u[n] = a;
            it[n] = i;
            v[n++] = (float)(lo + rng_below(&g, 6 - lo));
        }
    }
    err_t err;
    assert_int_equal(cf_data_from_triplets(d, U, I, u, it, v, n, &err), 0);
    free(u);
    free(it);
    free(v);
}

static void random_data(cf_data_t *d, uint64_t seed)
{
    random_data_from(d, seed, 1);
}

static void test_deterministic(void **state)
{
    cf_data_t d;
    random_data(&d, 5);
    cf_params_t p;
    cf_params_default(&p);
    p.als.factors = 16;
    p.als.iterations = 5;
    cf_model_t *m[4];
    err_t err;
    uint32_t threads[] = {1, 2, 3, 1};
    for (int k = 0; k < 4; k++) {
        p.als.threads = threads[k];
        p.als.seed = k == 3 ? 43 : 42;
        assert_int_equal(cf_train_als(&d, &p.als, &m[k], &err), 0);
    }
    size_t nu = (size_t)d.n_users * 16 * sizeof(float), ni = (size_t)d.n_items * 16 * sizeof(float);
    for (int k = 1; k < 3; k++) {
        assert_memory_equal(m[0]->user_f, m[k]->user_f, nu);
        assert_memory_equal(m[0]->item_f, m[k]->item_f, ni);
    }
    assert_memory_not_equal(m[0]->item_f, m[3]->item_f, ni);
    /* Same seed and threads again: identical. */
    cf_model_t *again;
    p.als.threads = 2;
    p.als.seed = 42;
    assert_int_equal(cf_train_als(&d, &p.als, &again, &err), 0);
    assert_memory_equal(m[0]->user_f, again->user_f, nu);
    cf_model_release(again);
    for (int k = 0; k < 4; k++)
        cf_model_release(m[k]);
    cf_data_free(&d);
}

static void test_fold_in_matches_training(void **state)
{
    /* Ratings 3..5: no negative feedback (common/data/feedback.h), which the
     * fold-in weighs against and training does not. */
    cf_data_t d;
    random_data_from(&d, 9, 3);
    cf_params_t p;
    cf_params_default(&p);
    p.als.factors = 8;
    p.als.iterations = 60; /* converged on these ratings (25 left 5% on them) */
    p.als.cg_steps = 8; /* CG converges: the user step is the exact solve */
    p.als.reg = 0.5f;
    p.als.alpha = 2.0f;
    cf_model_t *m;
    err_t err;
    assert_int_equal(cf_train_als(&d, &p.als, &m, &err), 0);
    cf_scratch_t *s = cf_scratch_new();
    float x[8];
    double worst = 0;
    for (uint32_t u = 0; u < d.n_users; u += 7) {
        sparse_view_t row = sparse_csr_row(&d.by_user, u);
        cf_event_t ev[64];
        for (size_t k = 0; k < row.nnz; k++)
            ev[k] = (cf_event_t){row.idx[k], row.val[k]};
        cf_who_t anon = {CF_NO_USER, ev, row.nnz};
        assert_int_equal(cf_user_vector(m, s, &anon, x, &err), 0);
        const float *t = m->user_f + (size_t)u * 8;
        float diff[8];
        for (int k = 0; k < 8; k++)
            diff[k] = x[k] - t[k];
        double rel = vec_norm2(diff, 8) / (vec_norm2(t, 8) + 1e-12);
        if (rel > worst)
            worst = rel;
        /* Known user + the same events again: the same history. */
        cf_who_t same = {u, ev, row.nnz};
        float y[8];
        assert_int_equal(cf_user_vector(m, s, &same, y, &err), 0);
        assert_memory_equal(x, y, sizeof x);
    }
    if (worst >= 0.02)
        fail_msg("worst %g", worst);
    /* The trained vector itself for a known user without events. */
    cf_who_t known = {4, NULL, 0};
    assert_int_equal(cf_user_vector(m, s, &known, x, &err), 0);
    assert_memory_equal(x, m->user_f + 4 * 8, sizeof x);
    cf_scratch_free(s);
    cf_model_release(m);
    cf_data_free(&d);
}

static void test_bad_params(void **state)
{
    cf_data_t d;
    tiny(&d);
    cf_als_params_t p = small_params();
    cf_model_t *m;
    err_t err;
    p.factors = 0;
    assert_int_equal(cf_train_als(&d, &p, &m, &err), -1);
    assert_null(m);
    assert_non_null(strstr(err.msg, "factors"));
    p = small_params();
    p.threads = 0;
    assert_int_equal(cf_train_als(&d, &p, &m, &err), -1);
    assert_non_null(strstr(err.msg, "threads"));
    p = small_params();
    p.reg = -1.0f;
    assert_int_equal(cf_train_als(&d, &p, &m, &err), -1);
    cf_data_free(&d);
    /* Out-of-range triplets are refused by the matrix builder. */
    uint32_t uu[] = {0, 9}, ii[] = {0, 0};
    assert_int_equal(cf_data_from_triplets(&d, 4, 5, uu, ii, NULL, 2, &err), -1);
    assert_non_null(strstr(err.msg, "triplet 1"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_obvious_item),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_fold_in_matches_training),
        cmocka_unit_test(test_bad_params),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
