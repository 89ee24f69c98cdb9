/* test_sparse.c: sparse vectors and CSR matrices against dense references:
 * duplicates summed, rows sorted, transpose, dot products, sparse x dense,
 * the inverted-index accumulation, normalisation and structure checks. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/math/sparse.h"

static uint64_t st = 0x2545F4914F6CDD1Dull;

static uint32_t rnd(uint32_t n)
{
    st ^= st << 13;
    st ^= st >> 7;
    st ^= st << 17;
    return (uint32_t)(st % n);
}

static void near(double got, double want, const char *what)
{
    if (fabs(got - want) > 1e-4 * (fabs(want) + 1.0))
        fail_msg("%s: got %.9g, want %.9g", what, got, want);
}

static void test_vec_build_and_dot(void **state)
{
    err_t err;
    sparse_vec_t a, b;
    sparse_vec_init(&a);
    sparse_vec_init(&b);
    double da[50] = {0}, db[50] = {0};
    for (int i = 0; i < 200; i++) {
        uint32_t ia = rnd(50), ib = rnd(50);
        float va = (float)rnd(7) - 3.0f, vb = (float)rnd(5) * 0.5f;
        assert_int_equal(sparse_vec_push(&a, ia, va, &err), 0);
        assert_int_equal(sparse_vec_push(&b, ib, vb, &err), 0);
        da[ia] += va;
        db[ib] += vb;
    }
    assert_int_equal(sparse_vec_finish(&a, &err), 0);
    assert_int_equal(sparse_vec_finish(&b, &err), 0);
    for (size_t i = 1; i < a.nnz; i++)
        assert_true(a.idx[i - 1] < a.idx[i]);
    double dot = 0, na = 0;
    for (int i = 0; i < 50; i++) {
        dot += da[i] * db[i];
        na += da[i] * da[i];
    }
    for (size_t i = 0; i < a.nnz; i++)
        near(a.val[i], da[a.idx[i]], "summed duplicate");
    near(sparse_dot(sparse_vec_view(&a), sparse_vec_view(&b)), dot, "sparse dot");
    near(sparse_dot(sparse_vec_view(&b), sparse_vec_view(&a)), dot, "sparse dot swapped");
    float dense_b[50];
    for (int i = 0; i < 50; i++)
        dense_b[i] = (float)db[i];
    near(sparse_dot_dense(sparse_vec_view(&a), dense_b), dot, "sparse . dense");
    near(sparse_norm2(sparse_vec_view(&a)), sqrt(na), "norm");
    float y[50] = {0};
    sparse_axpy_dense(y, 2.0f, sparse_vec_view(&a));
    for (int i = 0; i < 50; i++)
        near(y[i], 2.0 * da[i], "axpy");
    near(sparse_vec_normalize(&a), sqrt(na), "normalize return");
    near(sparse_norm2(sparse_vec_view(&a)), na > 0 ? 1.0 : 0.0, "unit norm");
    /* Push order does not change the result, bit for bit. */
    sparse_vec_t c;
    sparse_vec_init(&c);
    float vals[] = {0.1f, 0.7f, 1e-8f, 3.3f};
    for (int i = 3; i >= 0; i--)
        assert_int_equal(sparse_vec_push(&c, 9, vals[i], &err), 0);
    assert_int_equal(sparse_vec_finish(&c, &err), 0);
    float s1 = c.val[0];
    sparse_vec_clear(&c);
    for (int i = 0; i < 4; i++)
        assert_int_equal(sparse_vec_push(&c, 9, vals[i], &err), 0);
    assert_int_equal(sparse_vec_finish(&c, &err), 0);
    assert_int_equal(c.nnz, 1);
    assert_memory_equal(&s1, &c.val[0], 4);
    sparse_vec_free(&a);
    sparse_vec_free(&b);
    sparse_vec_free(&c);
    sparse_view_t empty = {NULL, NULL, 0};
    assert_true(sparse_dot(empty, empty) == 0.0f);
}

static void test_find(void **state)
{
    (void)state;
    uint32_t idx[4] = {2, 5, 9, 40};
    float val[4] = {1, 2, 3, 4};
    sparse_view_t v = {idx, val, 4};
    assert_int_equal(sparse_find(v, 2), 0);
    assert_int_equal(sparse_find(v, 9), 2);
    assert_int_equal(sparse_find(v, 40), 3);
    assert_int_equal(sparse_find(v, 0), 4);
    assert_int_equal(sparse_find(v, 6), 4);
    assert_int_equal(sparse_find(v, 41), 4);
    sparse_view_t empty = {NULL, NULL, 0};
    assert_int_equal(sparse_find(empty, 1), 0);
}

static void test_csr_triplets_transpose(void **state)
{
    enum { R = 37, C = 23, N = 400 };
    uint32_t rows[N], cols[N];
    float vals[N];
    double dense[R][C];
    memset(dense, 0, sizeof dense);
    for (int i = 0; i < N; i++) {
        rows[i] = rnd(R);
        cols[i] = rnd(C / 2) * 2; /* even columns only: many duplicates, empty columns */
        vals[i] = (float)rnd(9) - 4.0f;
        dense[rows[i]][cols[i]] += vals[i];
    }
    err_t err;
    sparse_csr_t m, t;
    assert_int_equal(sparse_csr_from_triplets(&m, R, C, rows, cols, vals, N, &err), 0);
    assert_int_equal(sparse_csr_check(&m, &err), 0);
    uint64_t nz = 0;
    for (int r = 0; r < R; r++) {
        sparse_view_t v = sparse_csr_row(&m, (uint32_t)r);
        double rowsum = 0;
        for (size_t i = 0; i < v.nnz; i++) {
            near(v.val[i], dense[r][v.idx[i]], "csr value");
            rowsum += v.val[i];
        }
        double want = 0;
        for (int c = 0; c < C; c++) {
            want += dense[r][c];
            /* every touched cell is stored once (even if it sums to 0) */
        }
        near(rowsum, want, "row sum");
        nz += v.nnz;
    }
    assert_int_equal(nz, m.nnz);
    assert_true(m.nnz < N);
    assert_int_equal(sparse_csr_transpose(&m, &t, &err), 0);
    assert_int_equal(t.n_rows, C);
    assert_int_equal(t.n_cols, R);
    assert_int_equal(t.nnz, m.nnz);
    assert_int_equal(sparse_csr_check(&t, &err), 0);
    for (int c = 0; c < C; c++) {
        sparse_view_t v = sparse_csr_row(&t, (uint32_t)c);
        if (c % 2)
            assert_int_equal(v.nnz, 0);
        for (size_t i = 0; i < v.nnz; i++)
            near(v.val[i], dense[v.idx[i]][c], "transpose value");
    }
    /* M x against dense. */
    float x[C], out[R];
    for (int c = 0; c < C; c++)
        x[c] = (float)c * 0.25f - 2.0f;
    sparse_csr_mul_dense(&m, x, out);
    for (int r = 0; r < R; r++) {
        double want = 0;
        for (int c = 0; c < C; c++)
            want += dense[r][c] * x[c];
        near(out[r], want, "mul_dense");
    }
    /* Inverted-index accumulation: row 5 of m against all rows of m, via t. */
    float acc[R];
    memset(acc, 0, sizeof acc);
    sparse_csr_tmul_sparse(&t, sparse_csr_row(&m, 5), acc);
    for (int r = 0; r < R; r++) {
        double want = 0;
        for (int c = 0; c < C; c++)
            want += dense[5][c] * dense[r][c];
        near(acc[r], want, "tmul_sparse");
        near(acc[r], sparse_dot(sparse_csr_row(&m, 5), sparse_csr_row(&m, (uint32_t)r)), "vs sparse_dot");
    }
    sparse_csr_normalize_rows(&m);
    for (int r = 0; r < R; r++) {
        double n2 = sparse_norm2(sparse_csr_row(&m, (uint32_t)r));
        assert_true(fabs(n2 - 1.0) < 1e-5 || n2 == 0.0);
    }
    sparse_csr_free(&m);
    sparse_csr_free(&t);
}

static void test_csr_edges_and_errors(void **state)
{
    err_t err;
    sparse_csr_t m;
    uint32_t r[] = {0, 1, 1}, c[] = {2, 0, 0};
    assert_int_equal(sparse_csr_from_triplets(&m, 2, 3, r, c, NULL, 3, &err), 0);
    assert_int_equal(m.nnz, 2);
    assert_true(m.val[1] == 2.0f); /* (1,0) twice, values default to 1 */
    sparse_csr_free(&m);
    assert_int_equal(sparse_csr_from_triplets(&m, 0, 0, NULL, NULL, NULL, 0, &err), 0);
    assert_int_equal(m.nnz, 0);
    sparse_csr_free(&m);
    uint32_t bad_c[] = {2, 0, 3};
    assert_int_equal(sparse_csr_from_triplets(&m, 2, 3, r, bad_c, NULL, 3, &err), -1);
    assert_string_equal(err.msg, "triplet 2: column 3 out of range (3 columns)");
    uint32_t bad_r[] = {0, 5, 1};
    assert_int_equal(sparse_csr_from_triplets(&m, 2, 3, bad_r, c, NULL, 3, &err), -1);
    assert_string_equal(err.msg, "triplet 1: row 5 out of range (2 rows)");
    /* Views over (file) arrays are validated before use. */
    uint64_t rp[] = {0, 2, 3};
    uint32_t cols[] = {0, 2, 1};
    float vals[] = {1, 2, 3};
    sparse_csr_view(&m, 2, 3, 3, rp, cols, vals);
    assert_int_equal(sparse_csr_check(&m, &err), 0);
    assert_true(sparse_dot_dense(sparse_csr_row(&m, 0), (float[]){1, 1, 10}) == 21.0f);
    uint32_t unsorted[] = {2, 0, 1};
    sparse_csr_view(&m, 2, 3, 3, rp, unsorted, vals);
    assert_int_equal(sparse_csr_check(&m, &err), -1);
    assert_string_equal(err.msg, "sparse matrix: row 0: columns not strictly increasing");
    uint32_t wide[] = {0, 2, 7};
    sparse_csr_view(&m, 2, 3, 3, rp, wide, vals);
    assert_int_equal(sparse_csr_check(&m, &err), -1);
    assert_string_equal(err.msg, "sparse matrix: row 1: column 7 out of range (3 columns)");
    uint64_t rp_bad[] = {0, 4, 3};
    sparse_csr_view(&m, 2, 3, 3, rp_bad, cols, vals);
    assert_int_equal(sparse_csr_check(&m, &err), -1);
    uint64_t rp_end[] = {0, 2, 2};
    sparse_csr_view(&m, 2, 3, 3, rp_end, cols, vals);
    assert_int_equal(sparse_csr_check(&m, &err), -1);
    sparse_csr_free(&m); /* a view: frees nothing */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vec_build_and_dot),
        cmocka_unit_test(test_find),
        cmocka_unit_test(test_csr_triplets_transpose),
        cmocka_unit_test(test_csr_edges_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
