/*
 * sparse.c: sparse vectors and CSR matrices (see sparse.h).
 *
 * Building a CSR from triplets is two stable counting sorts, by column and
 * then by row, so every row comes out sorted by column in O(nnz + rows +
 * cols) without comparison sorting; duplicates are then adjacent and are
 * summed in place. The transpose is one counting sort. Memory peaks at about
 * twice the final matrix during a build.
 */
#include "common/math/sparse.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- vectors */

void sparse_vec_init(sparse_vec_t *v)
{
    memset(v, 0, sizeof *v);
}

void sparse_vec_free(sparse_vec_t *v)
{
    free(v->idx);
    free(v->val);
    sparse_vec_init(v);
}

void sparse_vec_clear(sparse_vec_t *v)
{
    v->nnz = 0;
}

int sparse_vec_push(sparse_vec_t *v, uint32_t idx, float val, err_t *err)
{
    if (v->nnz == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 16;
        uint32_t *ni = realloc(v->idx, cap * sizeof *ni);
        if (ni)
            v->idx = ni;
        float *nv = ni ? realloc(v->val, cap * sizeof *nv) : NULL;
        if (!nv)
            return err_set(err, "sparse vector: out of memory");
        v->val = nv;
        v->cap = cap;
    }
    v->idx[v->nnz] = idx;
    v->val[v->nnz] = val;
    v->nnz++;
    return 0;
}

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int sparse_vec_finish(sparse_vec_t *v, err_t *err)
{
    size_t n = v->nnz;
    if (n < 2)
        return 0;
    /* Sort (index, value bits) as one key: index order, and a fixed order of
     * duplicates so their float sum does not depend on push order. */
    uint64_t *keys = malloc(n * sizeof *keys);
    if (!keys)
        return err_set(err, "sparse vector: out of memory");
    for (size_t i = 0; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, &v->val[i], 4);
        keys[i] = ((uint64_t)v->idx[i] << 32) | bits;
    }
    qsort(keys, n, sizeof *keys, u64_cmp);
    size_t out = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t idx = (uint32_t)(keys[i] >> 32), bits = (uint32_t)keys[i];
        float val;
        memcpy(&val, &bits, 4);
        if (out > 0 && v->idx[out - 1] == idx) {
            v->val[out - 1] += val;
        } else {
            v->idx[out] = idx;
            v->val[out] = val;
            out++;
        }
    }
    v->nnz = out;
    free(keys);
    return 0;
}

sparse_view_t sparse_vec_view(const sparse_vec_t *v)
{
    return (sparse_view_t){v->idx, v->val, v->nnz};
}

float sparse_norm2(sparse_view_t a)
{
    float s = 0.0f;
    for (size_t i = 0; i < a.nnz; i++)
        s += a.val[i] * a.val[i];
    return sqrtf(s);
}

size_t sparse_find(sparse_view_t a, uint32_t idx)
{
    size_t lo = 0, hi = a.nnz;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a.idx[mid] < idx)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < a.nnz && a.idx[lo] == idx ? lo : a.nnz;
}

static float normalize_vals(float *val, size_t n)
{
    float s = 0.0f;
    for (size_t i = 0; i < n; i++)
        s += val[i] * val[i];
    float norm = sqrtf(s);
    if (norm > 0.0f) {
        float inv = 1.0f / norm;
        for (size_t i = 0; i < n; i++)
            val[i] *= inv;
    }
    return norm;
}

float sparse_vec_normalize(sparse_vec_t *v)
{
    return normalize_vals(v->val, v->nnz);
}

float sparse_dot(sparse_view_t a, sparse_view_t b)
{
    float s = 0.0f;
    size_t i = 0, j = 0;
    while (i < a.nnz && j < b.nnz) {
        uint32_t x = a.idx[i], y = b.idx[j];
        if (x == y)
            s += a.val[i++] * b.val[j++];
        else if (x < y)
            i++;
        else
            j++;
    }
    return s;
}

float sparse_dot_dense(sparse_view_t a, const float *x)
{
    float s = 0.0f;
    for (size_t i = 0; i < a.nnz; i++)
        s += a.val[i] * x[a.idx[i]];
    return s;
}

void sparse_axpy_dense(float *y, float alpha, sparse_view_t x)
{
    for (size_t i = 0; i < x.nnz; i++)
        y[x.idx[i]] += alpha * x.val[i];
}

/* ---------------------------------------------------------------- CSR */

void sparse_csr_free(sparse_csr_t *m)
{
    if (m->owned) {
        free(m->row_ptr);
        free(m->col);
        free(m->val);
    }
    memset(m, 0, sizeof *m);
}

void sparse_csr_view(sparse_csr_t *m, uint32_t n_rows, uint32_t n_cols, uint64_t nnz, const uint64_t *row_ptr,
                     const uint32_t *col, const float *val)
{
    /* The pointers stay const in spirit: only owned matrices are written. */
    *m = (sparse_csr_t){n_rows, n_cols, nnz, (uint64_t *)row_ptr, (uint32_t *)col, (float *)val, 0};
}

static int csr_alloc(sparse_csr_t *m, uint32_t n_rows, uint32_t n_cols, uint64_t nnz, err_t *err)
{
    memset(m, 0, sizeof *m);
    m->n_rows = n_rows;
    m->n_cols = n_cols;
    m->nnz = nnz;
    m->owned = 1;
    if (nnz > SIZE_MAX / sizeof(float))
        return err_set(err, "sparse matrix: %llu non-zeros is too many", (unsigned long long)nnz);
    m->row_ptr = calloc((size_t)n_rows + 1, sizeof *m->row_ptr);
    m->col = malloc(nnz ? (size_t)nnz * sizeof *m->col : 1);
    m->val = malloc(nnz ? (size_t)nnz * sizeof *m->val : 1);
    if (!m->row_ptr || !m->col || !m->val) {
        sparse_csr_free(m);
        return err_set(err, "sparse matrix: out of memory");
    }
    return 0;
}

int sparse_csr_from_triplets(sparse_csr_t *m, uint32_t n_rows, uint32_t n_cols, const uint32_t *rows,
                             const uint32_t *cols, const float *vals, size_t n, err_t *err)
{
    memset(m, 0, sizeof *m);
    for (size_t i = 0; i < n; i++) {
        if (rows[i] >= n_rows)
            return err_set(err, "triplet %zu: row %u out of range (%u rows)", i, rows[i], n_rows);
        if (cols[i] >= n_cols)
            return err_set(err, "triplet %zu: column %u out of range (%u columns)", i, cols[i], n_cols);
    }
    /* Pass 1: bucket by column, keeping (row, value). */
    uint64_t *cptr = calloc((size_t)n_cols + 1, sizeof *cptr);
    uint32_t *trow = malloc(n ? n * sizeof *trow : 1);
    float *tval = malloc(n ? n * sizeof *tval : 1);
    if (!cptr || !trow || !tval) {
        free(cptr);
        free(trow);
        free(tval);
        return err_set(err, "sparse matrix: out of memory");
    }
    for (size_t i = 0; i < n; i++)
        cptr[cols[i] + 1]++;
    for (uint32_t c = 0; c < n_cols; c++)
        cptr[c + 1] += cptr[c];
    for (size_t i = 0; i < n; i++) {
        uint64_t p = cptr[cols[i]]++;
        trow[p] = rows[i];
        tval[p] = vals ? vals[i] : 1.0f;
    }
    /* cptr[c] is now the end of column c, i.e. the start of c + 1. */
    if (csr_alloc(m, n_rows, n_cols, n, err) < 0) {
        free(cptr);
        free(trow);
        free(tval);
        return -1;
    }
    /* Pass 2: bucket by row, visiting columns in order (stable). */
    for (size_t i = 0; i < n; i++)
        m->row_ptr[rows[i] + 1]++;
    for (uint32_t r = 0; r < n_rows; r++)
        m->row_ptr[r + 1] += m->row_ptr[r];
    uint64_t *next = malloc(((size_t)n_rows + 1) * sizeof *next);
    if (!next) {
        free(cptr);
        free(trow);
        free(tval);
        sparse_csr_free(m);
        return err_set(err, "sparse matrix: out of memory");
    }
    memcpy(next, m->row_ptr, ((size_t)n_rows + 1) * sizeof *next);
    uint64_t p = 0;
    for (uint32_t c = 0; c < n_cols; c++) {
        for (; p < cptr[c]; p++) {
            uint64_t q = next[trow[p]]++;
            m->col[q] = c;
            m->val[q] = tval[p];
        }
    }
    free(cptr);
    free(trow);
    free(tval);
    free(next);
    /* Sum adjacent duplicates and compact. */
    uint64_t out = 0, start = 0;
    for (uint32_t r = 0; r < n_rows; r++) {
        uint64_t end = m->row_ptr[r + 1];
        uint64_t row_start = out;
        for (uint64_t i = start; i < end; i++) {
            if (out > row_start && m->col[out - 1] == m->col[i]) {
                m->val[out - 1] += m->val[i];
            } else {
                m->col[out] = m->col[i];
                m->val[out] = m->val[i];
                out++;
            }
        }
        start = end;
        m->row_ptr[r + 1] = out;
    }
    m->nnz = out;
    if (out < n && out > 0) {
        uint32_t *c2 = realloc(m->col, (size_t)out * sizeof *c2);
        if (c2)
            m->col = c2;
        float *v2 = realloc(m->val, (size_t)out * sizeof *v2);
        if (v2)
            m->val = v2;
    }
    return 0;
}

int sparse_csr_transpose(const sparse_csr_t *m, sparse_csr_t *t, err_t *err)
{
    if (csr_alloc(t, m->n_cols, m->n_rows, m->nnz, err) < 0)
        return -1;
    for (uint64_t i = 0; i < m->nnz; i++)
        t->row_ptr[m->col[i] + 1]++;
    for (uint32_t c = 0; c < m->n_cols; c++)
        t->row_ptr[c + 1] += t->row_ptr[c];
    uint64_t *next = malloc(((size_t)m->n_cols + 1) * sizeof *next);
    if (!next) {
        sparse_csr_free(t);
        return err_set(err, "sparse matrix: out of memory");
    }
    memcpy(next, t->row_ptr, ((size_t)m->n_cols + 1) * sizeof *next);
    for (uint32_t r = 0; r < m->n_rows; r++) {
        for (uint64_t i = m->row_ptr[r]; i < m->row_ptr[r + 1]; i++) {
            uint64_t q = next[m->col[i]]++;
            t->col[q] = r;
            t->val[q] = m->val[i];
        }
    }
    free(next);
    return 0;
}

int sparse_csr_check(const sparse_csr_t *m, err_t *err)
{
    if (!m->row_ptr)
        return err_set(err, "sparse matrix: no row offsets");
    if (m->row_ptr[0] != 0)
        return err_set(err, "sparse matrix: first row offset is %llu, not 0", (unsigned long long)m->row_ptr[0]);
    if (m->row_ptr[m->n_rows] != m->nnz)
        return err_set(err, "sparse matrix: last row offset %llu != %llu non-zeros",
                       (unsigned long long)m->row_ptr[m->n_rows], (unsigned long long)m->nnz);
    for (uint32_t r = 0; r < m->n_rows; r++) {
        uint64_t a = m->row_ptr[r], b = m->row_ptr[r + 1];
        if (a > b || b > m->nnz)
            return err_set(err, "sparse matrix: row %u: offsets %llu..%llu out of order or range", r,
                           (unsigned long long)a, (unsigned long long)b);
        for (uint64_t i = a; i < b; i++) {
            if (m->col[i] >= m->n_cols)
                return err_set(err, "sparse matrix: row %u: column %u out of range (%u columns)", r, m->col[i],
                               m->n_cols);
            if (i > a && m->col[i] <= m->col[i - 1])
                return err_set(err, "sparse matrix: row %u: columns not strictly increasing", r);
        }
    }
    return 0;
}

sparse_view_t sparse_csr_row(const sparse_csr_t *m, uint32_t r)
{
    uint64_t a = m->row_ptr[r];
    return (sparse_view_t){m->col + a, m->val + a, (size_t)(m->row_ptr[r + 1] - a)};
}

void sparse_csr_mul_dense(const sparse_csr_t *m, const float *x, float *out)
{
    for (uint32_t r = 0; r < m->n_rows; r++)
        out[r] = sparse_dot_dense(sparse_csr_row(m, r), x);
}

void sparse_csr_tmul_sparse(const sparse_csr_t *m, sparse_view_t x, float *out)
{
    for (size_t i = 0; i < x.nnz; i++)
        sparse_axpy_dense(out, x.val[i], sparse_csr_row(m, x.idx[i]));
}

void sparse_csr_normalize_rows(sparse_csr_t *m)
{
    if (!m->owned)
        return;
    for (uint32_t r = 0; r < m->n_rows; r++)
        normalize_vals(m->val + m->row_ptr[r], (size_t)(m->row_ptr[r + 1] - m->row_ptr[r]));
}
