/* test_cf_ease.c: EASE against its formula on a 3 x 3 case computed here in
 * double precision (cofactor inverse), diag(B) = 0, rating-weighted X, the
 * obvious item first, similar items from B, and bad lambda refused. */
#include "testutil.h"

#include <math.h>
#include <string.h>

#include "services/cf/cf_model.h"

/* X (users x items) = [[1 1 0] [0 1 1] [1 1 1] [1 0 0]] with ratings. */
static const uint32_t tu[] = {0, 0, 1, 1, 2, 2, 2, 3};
static const uint32_t ti[] = {0, 1, 1, 2, 0, 1, 2, 0};
static const float tv[] = {5, 3, 4, 2, 1, 4, 5, 3};

/* B by the formula, in double: P = (X^T X + l I)^-1, B = -P / diag(P). */
static void ease_formula(int binary, double lambda, double B[3][3])
{
    double G[3][3] = {{0}};
    for (int u = 0; u < 4; u++)
        for (size_t a = 0; a < 8; a++)
            for (size_t b = 0; b < 8; b++)
                if (tu[a] == (uint32_t)u && tu[b] == (uint32_t)u)
                    G[ti[a]][ti[b]] += binary ? 1.0 : (double)tv[a] * tv[b];
    for (int i = 0; i < 3; i++)
        G[i][i] += lambda;
    double c[3][3];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            int i1 = (i + 1) % 3, i2 = (i + 2) % 3, j1 = (j + 1) % 3, j2 = (j + 2) % 3;
            c[i][j] = G[i1][j1] * G[i2][j2] - G[i1][j2] * G[i2][j1];
        }
    double det = G[0][0] * c[0][0] + G[0][1] * c[0][1] + G[0][2] * c[0][2];
    double P[3][3];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            P[i][j] = c[j][i] / det;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            B[i][j] = i == j ? 0.0 : -P[i][j] / P[j][j];
}

static void check_formula(int binary, float lambda)
{
    cf_data_t d;
    err_t err;
    assert_int_equal(cf_data_from_triplets(&d, 4, 3, tu, ti, tv, 8, &err), 0);
    cf_ease_params_t p = {lambda, binary};
    cf_model_t *m;
    assert_int_equal(cf_train_ease(&d, &p, &m, &err), 0);
    double want[3][3];
    ease_formula(binary, lambda, want);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            double got = m->ease_b[i * 3 + j];
            if (fabs(got - want[i][j]) > 1e-5 + 1e-4 * fabs(want[i][j]))
                fail_msg("binary %d lambda %g: B[%d][%d] = %.8f, formula %.8f", binary, (double)lambda, i, j, got,
                         want[i][j]);
        }
    /* Scores of user 3 (item 0 only) = x B = (rating) * B[0]. */
    cf_scratch_t *s = cf_scratch_new();
    cf_who_t who = {3, NULL, 0};
    const float *sc = cf_score_all(m, s, &who, NULL, &err);
    assert_non_null(sc);
    double x0 = binary ? 1.0 : 3.0;
    for (int j = 0; j < 3; j++)
        assert_true(fabs(sc[j] - x0 * want[0][j]) < 1e-4);
    cf_scratch_free(s);
    cf_model_release(m);
    cf_data_free(&d);
}

static void test_formula_3x3(void **state)
{
    check_formula(1, 0.5f);
    check_formula(1, 10.0f);
    check_formula(0, 2.0f);
}

static void test_obvious_item(void **state)
{
    /* u0 {0,1,2}, u1 {0,1,2,4}, u2 {3,4}, u3 {0,1}. */
    static const uint32_t u[] = {0, 0, 0, 1, 1, 1, 1, 2, 2, 3, 3};
    static const uint32_t i[] = {0, 1, 2, 0, 1, 2, 4, 3, 4, 0, 1};
    cf_data_t d;
    err_t err;
    assert_int_equal(cf_data_from_triplets(&d, 4, 5, u, i, NULL, 11, &err), 0);
    cf_params_t p;
    cf_params_default(&p);
    p.ease.lambda = 1.0f;
    p.kind = CF_KIND_AUTO; /* 5 items: auto picks EASE */
    cf_model_t *m;
    assert_int_equal(cf_train(&d, &p, &m, &err), 0);
    assert_int_equal(m->kind, CF_KIND_EASE);
    cf_scratch_t *s = cf_scratch_new();
    topk_item_t top[5];
    cf_who_t who = {3, NULL, 0};
    assert_int_equal(cf_recommend(m, s, &who, NULL, 5, top, NULL, &err), 3);
    assert_int_equal(top[0].index, 2);
    /* include_seen lets the history back in. */
    filter_t f = {0};
    f.include_seen = 1;
    assert_int_equal(cf_recommend(m, s, &who, &f, 5, top, NULL, &err), 5);
    /* Similar to item 0: item 1 (always together), never 0 itself. */
    long n = cf_similar(m, s, 0, NULL, 4, top, &err);
    assert_int_equal(n, 4);
    assert_int_equal(top[0].index, 1);
    for (long k = 0; k < n; k++)
        assert_int_not_equal(top[k].index, 0);
    /* Explanation: for user 3 and item 2, item 0 or 1 (its history). */
    uint32_t because = cf_explain(m, s, &who, 2);
    assert_true(because == 0 || because == 1);
    cf_scratch_free(s);
    cf_model_release(m);
    cf_data_free(&d);
}

static void test_bad_lambda(void **state)
{
    cf_data_t d;
    err_t err;
    assert_int_equal(cf_data_from_triplets(&d, 4, 3, tu, ti, tv, 8, &err), 0);
    cf_ease_params_t p = {0.0f, 1};
    cf_model_t *m;
    assert_int_equal(cf_train_ease(&d, &p, &m, &err), -1);
    assert_null(m);
    assert_non_null(strstr(err.msg, "lambda"));
    cf_data_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_formula_3x3),
        cmocka_unit_test(test_obvious_item),
        cmocka_unit_test(test_bad_lambda),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
