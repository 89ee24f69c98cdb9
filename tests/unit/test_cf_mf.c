/* test_cf_mf.c: biased MF: a bias-only model recovers additive biases of an
 * exactly additive matrix, predictions are clipped to the rating range,
 * factors fit a rank-1 interaction, fold-in equals the trained user's own
 * step, and only mf models predict ratings. */
#include "testutil.h"

#include <math.h>
#include <string.h>

#include "services/cf/cf_model.h"

enum { U = 6, I = 5 };
static const float ub[U] = {0.5f, -0.5f, 0.25f, 0.0f, -0.25f, 0.75f};
static const float ib[I] = {0.4f, -0.4f, 0.2f, -0.2f, 0.0f};

static void additive(cf_data_t *d, float rank1)
{
    uint32_t u[U * I], it[U * I];
    float v[U * I];
    size_t n = 0;
    for (uint32_t a = 0; a < U; a++)
        for (uint32_t i = 0; i < I; i++) {
            u[n] = a;
            it[n] = i;
            v[n++] = 3.0f + ub[a] + ib[i] + rank1 * (a % 2 ? 1.0f : -1.0f) * (i % 2 ? 1.0f : -1.0f);
        }
    err_t err;
    assert_int_equal(cf_data_from_triplets(d, U, I, u, it, v, n, &err), 0);
}

static void test_bias_only(void **state)
{
    cf_data_t d;
    additive(&d, 0.0f);
    cf_params_t p;
    cf_params_default(&p);
    p.mf.factors = 0;
    p.mf.iterations = 60;
    p.mf.reg = 1e-6f;
    p.mf.bias_reg = 1e-6f;
    cf_model_t *m;
    err_t err;
    assert_int_equal(cf_train_mf(&d, &p.mf, &m, &err), 0);
    /* mu is the mean; the fitted biases are the true ones up to a shift. */
    assert_true(fabsf(m->mu - (3.0f + 0.125f + 0.0f)) < 1e-4f);
    for (int a = 0; a < U; a++)
        for (int i = 0; i < I; i++) {
            float want = 3.0f + ub[a] + ib[i];
            float got = m->mu + m->user_bias[a] + m->item_bias[i];
            assert_true(fabsf(got - want) < 1e-3f);
        }
    /* Item biases centred as in the data (sum 0), user biases likewise. */
    for (int i = 0; i < I; i++)
        assert_true(fabsf(m->item_bias[i] - ib[i]) < 1e-3f);
    cf_scratch_t *s = cf_scratch_new();
    float pr[I];
    uint32_t items[I] = {0, 1, 2, 3, 4};
    cf_who_t who = {0, NULL, 0};
    assert_int_equal(cf_predict(m, s, &who, items, I, pr, &err), 0);
    for (int i = 0; i < I; i++)
        assert_true(fabsf(pr[i] - (3.0f + ub[0] + ib[i])) < 1e-3f);
    /* Unknown user, no history: mu + b_i. */
    cf_who_t nobody = {CF_NO_USER, NULL, 0};
    assert_int_equal(cf_predict(m, s, &nobody, items, 1, pr, &err), 0);
    assert_true(fabsf(pr[0] - (m->mu + m->item_bias[0])) < 1e-6f);
    /* A new user who loves everything is clipped at the top of the range. */
    cf_event_t ev[] = {{0, 1e3f}, {1, 1e3f}};
    cf_who_t fan = {CF_NO_USER, ev, 2};
    assert_int_equal(cf_predict(m, s, &fan, items, I, pr, &err), 0);
    for (int i = 0; i < I; i++)
        assert_true(pr[i] == m->rmax);
    cf_scratch_free(s);
    cf_model_release(m);
    cf_data_free(&d);
}

static void test_factors_fit_interaction(void **state)
{
    cf_data_t d;
    additive(&d, 0.8f);
    cf_params_t p;
    cf_params_default(&p);
    p.mf.factors = 2;
    p.mf.iterations = 200;
    p.mf.reg = 1e-4f;
    p.mf.bias_reg = 1e-4f;
    cf_model_t *m, *b;
    err_t err;
    assert_int_equal(cf_train_mf(&d, &p.mf, &m, &err), 0);
    p.mf.factors = 0;
    assert_int_equal(cf_train_mf(&d, &p.mf, &b, &err), 0);
    cf_scratch_t *s = cf_scratch_new();
    double se_f = 0, se_b = 0;
    for (uint32_t a = 0; a < U; a++) {
        cf_who_t who = {a, NULL, 0};
        sparse_view_t row = sparse_csr_row(&d.by_user, a);
        float pf[I], pb[I];
        assert_int_equal(cf_predict(m, s, &who, row.idx, row.nnz, pf, &err), 0);
        assert_int_equal(cf_predict(b, s, &who, row.idx, row.nnz, pb, &err), 0);
        for (size_t k = 0; k < row.nnz; k++) {
            se_f += (pf[k] - row.val[k]) * (pf[k] - row.val[k]);
            se_b += (pb[k] - row.val[k]) * (pb[k] - row.val[k]);
        }
        /* Fold-in of the user's own ratings = the training step for them. */
        cf_event_t ev[I];
        for (size_t k = 0; k < row.nnz; k++)
            ev[k] = (cf_event_t){row.idx[k], row.val[k]};
        cf_who_t anon = {CF_NO_USER, ev, row.nnz};
        float x[3];
        assert_int_equal(cf_user_vector(m, s, &anon, x, &err), 0);
        assert_true(fabsf(x[0] - m->user_bias[a]) < 1e-3f);
        assert_true(fabsf(x[1] - m->user_f[a * 2]) < 1e-3f);
        assert_true(fabsf(x[2] - m->user_f[a * 2 + 1]) < 1e-3f);
    }
    assert_true(sqrt(se_f / (U * I)) < 0.01);
    assert_true(sqrt(se_b / (U * I)) > 0.5);
    cf_scratch_free(s);
    cf_model_release(m);
    cf_model_release(b);
    cf_data_free(&d);
}

static void test_predict_needs_mf(void **state)
{
    cf_data_t d;
    additive(&d, 0.0f);
    cf_model_t *m;
    err_t err;
    assert_int_equal(cf_train_pop(&d, &m, &err), 0);
    cf_scratch_t *s = cf_scratch_new();
    cf_who_t who = {0, NULL, 0};
    uint32_t item = 0;
    float r;
    assert_int_equal(cf_predict(m, s, &who, &item, 1, &r, &err), -1);
    assert_non_null(strstr(err.msg, "mf model"));
    cf_scratch_free(s);
    cf_model_release(m);
    cf_params_t p;
    cf_params_default(&p);
    p.mf.reg = 0.0f;
    assert_int_equal(cf_train_mf(&d, &p.mf, &m, &err), -1);
    cf_data_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bias_only),
        cmocka_unit_test(test_factors_fit_interaction),
        cmocka_unit_test(test_predict_needs_mf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
