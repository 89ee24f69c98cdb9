/*
 * vecq8.h: int8 screening of dense scores (exact top-k at a quarter of the
 * memory traffic).
 *
 * Scoring every item of a big catalog for one user is one pass over an
 * n x dim float matrix: 16 MB for 62k items x 64 factors, read per request,
 * memory-bound once other processes share the cache. Here each row is also
 * kept as int8 with one scale per row (max |x| / 127), the user vector is
 * quantised per request to uint8 with an offset of 128, and the integer dot
 * products are exact (int32), so every approximate score comes with a hard
 * bound on its error (vecq8_bound). A caller then keeps only the items whose
 * approximate score plus bound reaches the k-th best approximate score
 * minus its bound, and scores those exactly: the exact top-k is always
 * among them, so the answer is the same as scoring every item in float.
 *
 * With AVX-512 VNNI (checked at run time) the dot products use vpdpbusd;
 * otherwise a plain loop. Both give bit-identical results (integer sums).
 */
#ifndef RECSYS_COMMON_VECQ8_H
#define RECSYS_COMMON_VECQ8_H

#include <stddef.h>
#include <stdint.h>

/* An int8 copy of an n x dim float matrix. */
typedef struct vecq8_rows {
    size_t n, dim;
    int8_t *q;       /* n x dim: round(x / scale), in [-127, 127] */
    float *scale;    /* n: max |x| / 127 of the row (0 for a zero row) */
    float *l1;       /* n: scale * sum |q| (the L1 norm of the rounded row) */
    int32_t *qsum;   /* n: sum q (undoes the query's offset) */
    float scale_max, l1_max; /* over the rows: vecq8_bound_max */
} vecq8_rows_t;

/* A quantised query: u ~ scale * (q - 128). */
typedef struct vecq8_query {
    uint8_t *q;      /* dim (caller's storage) */
    float scale;
    float l1_rounded; /* sum |scale * (q - 128)| */
    float l1;         /* sum |u| */
    size_t dim;
} vecq8_query_t;

/* Builds the copy (allocates; vecq8_rows_free releases). Returns -1 when out
 * of memory or when M holds a NaN or an infinity (no screening then). */
int vecq8_rows_init(vecq8_rows_t *r, const float *M, size_t n, size_t dim);
void vecq8_rows_free(vecq8_rows_t *r);
/* Bytes held by a copy of n x dim. */
size_t vecq8_rows_bytes(size_t n, size_t dim);

/* Quantises u (dim floats) into qstore (dim bytes). Returns -1 when u holds
 * a NaN or an infinity. */
int vecq8_query_init(vecq8_query_t *qu, const float *u, size_t dim, uint8_t *qstore);

/* out[i] = approximate dot(M[i], u) for every row. */
void vecq8_gemv(const vecq8_rows_t *r, const vecq8_query_t *qu, float *out);
/* The same without SIMD (for tests; bit-identical to vecq8_gemv). */
void vecq8_gemv_portable(const vecq8_rows_t *r, const vecq8_query_t *qu, float *out);
/* 1 when vecq8_gemv uses VNNI on this machine. */
int vecq8_have_vnni(void);

/* An upper bound of |dot(M[i], u) - out[i]| that also covers the float
 * rounding of both the approximate and an exact float dot product of dim
 * terms: |exact - approx| <= bound. */
static inline float vecq8_bound(const vecq8_rows_t *r, const vecq8_query_t *qu, size_t i)
{
    float s = r->scale[i];
    float b = s * (0.5f * qu->l1_rounded + 0.25f * (float)r->dim * qu->scale) + 0.5f * qu->scale * r->l1[i] +
              1e-5f * qu->l1 * 127.0f * s;
    return b * 1.001f + 1e-30f;
}

/* At least vecq8_bound of every row (for a quick screen of blocks). */
static inline float vecq8_bound_max(const vecq8_rows_t *r, const vecq8_query_t *qu)
{
    float s = r->scale_max;
    float b = s * (0.5f * qu->l1_rounded + 0.25f * (float)r->dim * qu->scale) + 0.5f * qu->scale * r->l1_max +
              1e-5f * qu->l1 * 127.0f * s;
    return b * 1.002f + 1e-30f;
}

#endif
