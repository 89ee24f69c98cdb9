/*
 * sparse.h: sparse float vectors and CSR matrices.
 *
 * A sparse vector is sorted unique u32 indices with f32 values; a CSR matrix
 * stores its rows that way back to back (u64 row offsets, u32 columns, f32
 * values: 8 bytes per non-zero). They carry TF-IDF item vectors, the
 * inverted index (terms x items, the transpose) for item neighbours, and the
 * user x item matrices of ALS. A CSR can also be a read-only view over
 * arrays in a mapped model file: sparse_csr_check() validates one before use.
 */
#ifndef RECSYS_COMMON_SPARSE_H
#define RECSYS_COMMON_SPARSE_H

#include <stddef.h>
#include <stdint.h>

#include "common/base/err.h"

/* Read-only view of a sparse vector (indices strictly increasing). */
typedef struct sparse_view {
    const uint32_t *idx;
    const float *val;
    size_t nnz;
} sparse_view_t;

/* An owned, growable sparse vector. Build with push (any order, duplicates
 * allowed), then finish (sort, sum duplicates). */
typedef struct sparse_vec {
    uint32_t *idx;
    float *val;
    size_t nnz, cap;
} sparse_vec_t;

void sparse_vec_init(sparse_vec_t *v);
void sparse_vec_free(sparse_vec_t *v);
void sparse_vec_clear(sparse_vec_t *v);
int sparse_vec_push(sparse_vec_t *v, uint32_t idx, float val, err_t *err);
/* Sorts by index and sums duplicates; the result is the same whatever the
 * push order (duplicates are summed in value order). */
int sparse_vec_finish(sparse_vec_t *v, err_t *err);
sparse_view_t sparse_vec_view(const sparse_vec_t *v);
/* Scales to unit L2 norm; returns the old norm (0: left unchanged). */
float sparse_vec_normalize(sparse_vec_t *v);

/* sum over common indices a[i] * b[i] (a merge of the two index lists). */
float sparse_dot(sparse_view_t a, sparse_view_t b);
/* sum a[i] * x[i] over a's indices (x is dense, long enough). */
float sparse_dot_dense(sparse_view_t a, const float *x);
/* y[i] += alpha * x[i] over x's indices. */
void sparse_axpy_dense(float *y, float alpha, sparse_view_t x);
float sparse_norm2(sparse_view_t a);
/* Position of index idx in a (indices ascending), or a.nnz when absent. */
size_t sparse_find(sparse_view_t a, uint32_t idx);

typedef struct sparse_csr {
    uint32_t n_rows, n_cols;
    uint64_t nnz;
    uint64_t *row_ptr; /* n_rows + 1 offsets into col/val */
    uint32_t *col;     /* strictly increasing within a row */
    float *val;
    int owned;         /* 0 for a view: free() releases nothing */
} sparse_csr_t;

/* Builds from n (row, col, value) triplets in any order; duplicates are
 * summed. vals NULL means every value is 1. An index out of range fails with
 * "triplet 17: column 90000 out of range (92 columns)". */
int sparse_csr_from_triplets(sparse_csr_t *m, uint32_t n_rows, uint32_t n_cols, const uint32_t *rows,
                             const uint32_t *cols, const float *vals, size_t n, err_t *err);
/* t = m^T (rows of t sorted by column index): the inverted index. */
int sparse_csr_transpose(const sparse_csr_t *m, sparse_csr_t *t, err_t *err);
/* A view over existing arrays (e.g. sections of a mapped model file). */
void sparse_csr_view(sparse_csr_t *m, uint32_t n_rows, uint32_t n_cols, uint64_t nnz, const uint64_t *row_ptr,
                     const uint32_t *col, const float *val);
/* Validates structure (offsets monotone and in range, columns in range and
 * strictly increasing per row); for matrices read from files. */
int sparse_csr_check(const sparse_csr_t *m, err_t *err);
void sparse_csr_free(sparse_csr_t *m);

sparse_view_t sparse_csr_row(const sparse_csr_t *m, uint32_t r);
/* out[r] = row r . x for all rows (x has n_cols entries). */
void sparse_csr_mul_dense(const sparse_csr_t *m, const float *x, float *out);
/* out[c] += sum_r x[r] * m[r][c] for the rows r in sparse x: with m the
 * inverted index (terms x items) and x an item's term vector, out collects
 * the item's dot product with every item. */
void sparse_csr_tmul_sparse(const sparse_csr_t *m, sparse_view_t x, float *out);
/* Scales every row to unit L2 norm (rows of zeros stay zero). Owned only. */
void sparse_csr_normalize_rows(sparse_csr_t *m);

#endif
