/* test_vec.c: dense kernels against double-precision references, at sizes
 * that exercise vectorisation tails (1, 3, 7, 8, 63, 64, 65, 129). */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/math/vec.h"

static const size_t sizes[] = {1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 63, 64, 65, 129, 1000};
#define NSIZES (sizeof sizes / sizeof sizes[0])

static uint64_t st = 0x9E3779B97F4A7C15ull;

static float frand(void)
{
    st = st * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((double)(st >> 40) / (double)(1ull << 24) * 2.0 - 1.0);
}

static float *rvec(size_t n)
{
    float *v = malloc((n ? n : 1) * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = frand();
    return v;
}

/* |got - want| <= tol * (scale + 1), where scale bounds the sum's terms. */
static void near(double got, double want, double scale, const char *what, size_t n)
{
    double tol = 1e-5 * (scale + 1.0);
    if (fabs(got - want) > tol)
        fail_msg("%s (n=%zu): got %.9g, want %.9g", what, n, got, want);
}

static void test_dot_norm(void **state)
{
    for (size_t si = 0; si < NSIZES; si++) {
        size_t n = sizes[si];
        float *a = rvec(n), *b = rvec(n);
        double d = 0, sa = 0, nn = 0;
        for (size_t i = 0; i < n; i++) {
            d += (double)a[i] * b[i];
            sa += fabs((double)a[i] * b[i]);
            nn += (double)a[i] * a[i];
        }
        near(vec_dot(a, b, n), d, sa, "dot", n);
        near(vec_norm2(a, n), sqrt(nn), sqrt(nn), "norm2", n);
        float old = vec_normalize(a, n);
        near(old, sqrt(nn), sqrt(nn), "normalize return", n);
        near(vec_norm2(a, n), 1.0, 1.0, "normalized norm", n);
        free(a);
        free(b);
    }
    float z[5] = {0};
    assert_true(vec_normalize(z, 5) == 0.0f);
    for (int i = 0; i < 5; i++)
        assert_true(z[i] == 0.0f);
    assert_true(vec_dot(z, z, 0) == 0.0f);
}

static void test_axpy_scale(void **state)
{
    for (size_t si = 0; si < NSIZES; si++) {
        size_t n = sizes[si];
        float *x = rvec(n), *y = rvec(n), *y0 = malloc(n * sizeof *y0);
        memcpy(y0, y, n * sizeof *y);
        vec_axpy(y, 0.75f, x, n);
        for (size_t i = 0; i < n; i++)
            near(y[i], (double)y0[i] + 0.75 * x[i], 2, "axpy", n);
        memcpy(y, y0, n * sizeof *y);
        vec_scale(y, -3.0f, n);
        for (size_t i = 0; i < n; i++)
            near(y[i], -3.0 * y0[i], 3, "scale", n);
        free(x);
        free(y);
        free(y0);
    }
}

static void test_gemv(void **state)
{
    size_t rows_list[] = {0, 1, 5, 100};
    for (size_t si = 0; si < NSIZES; si++) {
        size_t dim = sizes[si];
        for (size_t ri = 0; ri < 4; ri++) {
            size_t rows = rows_list[ri];
            float *M = rvec(rows * dim), *x = rvec(dim), *y = rvec(rows);
            float *out = malloc((rows + 1) * sizeof *out);
            out[rows] = 12345.0f; /* must not be written */
            vec_gemv_rows(M, rows, dim, x, out);
            for (size_t r = 0; r < rows; r++) {
                double d = 0, s = 0;
                for (size_t k = 0; k < dim; k++) {
                    d += (double)M[r * dim + k] * x[k];
                    s += fabs((double)M[r * dim + k] * x[k]);
                }
                near(out[r], d, s, "gemv_rows", dim);
            }
            assert_true(out[rows] == 12345.0f);
            float *t = malloc(dim * sizeof *t);
            vec_gemv_t(M, rows, dim, y, t);
            for (size_t k = 0; k < dim; k++) {
                double d = 0, s = 0;
                for (size_t r = 0; r < rows; r++) {
                    d += (double)M[r * dim + k] * y[r];
                    s += fabs((double)M[r * dim + k] * y[r]);
                }
                near(t[k], d, s, "gemv_t", dim);
            }
            free(t);
            free(M);
            free(x);
            free(y);
            free(out);
        }
    }
}

static void test_syrk_gram(void **state)
{
    size_t dims[] = {1, 3, 8, 17, 63, 65};
    for (size_t di = 0; di < 6; di++) {
        size_t dim = dims[di], rows = 600;
        float *M = rvec(rows * dim);
        float *G = calloc(dim * dim, sizeof *G), *H = malloc(dim * dim * sizeof *H);
        for (size_t r = 0; r < 3; r++)
            vec_syrk_add(G, M + r * dim, dim, 0.5f * (float)(r + 1));
        for (size_t i = 0; i < dim; i++)
            for (size_t j = 0; j < dim; j++) {
                double want = 0;
                for (size_t r = 0; r < 3; r++)
                    want += 0.5 * (double)(r + 1) * M[r * dim + i] * M[r * dim + j];
                near(G[i * dim + j], want, 3, "syrk_add", dim);
            }
        vec_gram(M, rows, dim, H);
        for (size_t i = 0; i < dim; i++)
            for (size_t j = 0; j < dim; j++) {
                double want = 0;
                for (size_t r = 0; r < rows; r++)
                    want += (double)M[r * dim + i] * M[r * dim + j];
                near(H[i * dim + j], want, (double)rows, "gram", dim);
                near(H[i * dim + j], H[j * dim + i], (double)rows, "gram symmetry", dim);
            }
        free(M);
        free(G);
        free(H);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dot_norm),
        cmocka_unit_test(test_axpy_scale),
        cmocka_unit_test(test_gemv),
        cmocka_unit_test(test_syrk_gram),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
