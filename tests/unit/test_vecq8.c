/* test_vecq8.c: the int8 screen (common/math/vecq8.h): every approximate score
 * within its stated bound of the float and the double dot product, on
 * random rows of mixed magnitudes (zero rows, one huge entry, tiny rows),
 * dims that take the VNNI path and dims that do not; VNNI and the plain
 * loop bit-identical; non-finite rows and queries refused. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/base/rng.h"
#include "common/math/vec.h"
#include "common/math/vecq8.h"

static float uniform(rng_t *g)
{
    return (float)((double)rng_below(g, 2000001) / 1000000.0 - 1.0);
}

static void fill(rng_t *g, float *M, size_t n, size_t d)
{
    for (size_t i = 0; i < n; i++) {
        float mag = i % 7 == 0 ? 1e-3f : i % 11 == 0 ? 50.0f : 1.0f;
        for (size_t j = 0; j < d; j++)
            M[i * d + j] = i % 13 == 0 ? 0.0f : mag * uniform(g);
        if (i % 17 == 0)
            M[i * d + (i % d)] = 300.0f; /* one large entry */
    }
}

static void check_dim(size_t d)
{
    enum { N = 517 };
    rng_t g;
    rng_seed(&g, 7 + d);
    float *M = malloc(N * d * sizeof *M), *out = malloc(N * sizeof *out), *ref = malloc(N * sizeof *ref);
    float *u = malloc(d * sizeof *u), *ex = malloc(N * sizeof *ex);
    uint8_t *qs = malloc(d);
    fill(&g, M, N, d);
    vecq8_rows_t r;
    assert_int_equal(vecq8_rows_init(&r, M, N, d), 0);
    assert_true(r.scale_max > 0.0f && r.l1_max > 0.0f);
    for (int t = 0; t < 20; t++) {
        for (size_t j = 0; j < d; j++)
            u[j] = t == 0 ? 0.0f : (t % 3 == 0 ? 10.0f : 0.5f) * uniform(&g);
        if (t == 5)
            u[0] = 40.0f;
        vecq8_query_t q;
        assert_int_equal(vecq8_query_init(&q, u, d, qs), 0);
        vecq8_gemv(&r, &q, out);
        vecq8_gemv_portable(&r, &q, ref);
        assert_memory_equal(out, ref, N * sizeof *out);
        vec_gemv_rows(M, N, d, u, ex);
        float bmax = vecq8_bound_max(&r, &q);
        for (size_t i = 0; i < N; i++) {
            double exact = 0.0;
            for (size_t j = 0; j < d; j++)
                exact += (double)M[i * d + j] * u[j];
            float b = vecq8_bound(&r, &q, i);
            assert_true(b <= bmax);
            if (fabs(exact - out[i]) > b || fabsf(ex[i] - out[i]) > b)
                fail_msg("d %zu query %d row %zu: exact %.9g float %.9g approx %.9g bound %.9g", d, t, i, exact,
                         ex[i], out[i], b);
            if (t == 0)
                assert_true(out[i] == 0.0f);
        }
    }
    vecq8_rows_free(&r);
    vecq8_rows_free(&r); /* twice is harmless */
    free(M), free(out), free(ref), free(u), free(ex), free(qs);
}

static void test_bound_and_paths(void **state)
{
    (void)state;
    size_t dims[] = {64, 32, 128, 40, 7, 1};
    for (size_t k = 0; k < sizeof dims / sizeof dims[0]; k++)
        check_dim(dims[k]);
}

/* The bound is not vacuous: on ordinary rows it is a small part of |u||x|. */
static void test_bound_is_tight_enough(void **state)
{
    (void)state;
    enum { N = 256, D = 64 };
    rng_t g;
    rng_seed(&g, 3);
    float M[N * D], u[D], out[N];
    uint8_t qs[D];
    for (size_t i = 0; i < N * D; i++)
        M[i] = uniform(&g);
    for (size_t j = 0; j < D; j++)
        u[j] = uniform(&g);
    vecq8_rows_t r;
    vecq8_query_t q;
    assert_int_equal(vecq8_rows_init(&r, M, N, D), 0);
    assert_int_equal(vecq8_query_init(&q, u, D, qs), 0);
    vecq8_gemv(&r, &q, out);
    for (size_t i = 0; i < N; i++) {
        float nn = vec_norm2(M + i * D, D) * vec_norm2(u, D);
        assert_true(vecq8_bound(&r, &q, i) < 0.1f * nn);
    }
    vecq8_rows_free(&r);
}

static void test_non_finite(void **state)
{
    (void)state;
    float M[4 * 8] = {0}, u[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    uint8_t qs[8];
    vecq8_rows_t r;
    vecq8_query_t q;
    M[13] = NAN;
    assert_int_equal(vecq8_rows_init(&r, M, 4, 8), -1);
    assert_null(r.q);
    M[13] = INFINITY;
    assert_int_equal(vecq8_rows_init(&r, M, 4, 8), -1);
    M[13] = 1.0f;
    assert_int_equal(vecq8_rows_init(&r, M, 4, 8), 0);
    vecq8_rows_free(&r);
    u[3] = -INFINITY;
    assert_int_equal(vecq8_query_init(&q, u, 8, qs), -1);
    u[3] = NAN;
    assert_int_equal(vecq8_query_init(&q, u, 8, qs), -1);
    assert_true(vecq8_rows_bytes(10, 64) >= 640);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bound_and_paths),
        cmocka_unit_test(test_bound_is_tight_enough),
        cmocka_unit_test(test_non_finite),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
