/*
 * vec.h: dense float32 kernels (scoring and ALS algebra).
 *
 * Plain loops that the compiler vectorises: vec.c is built with -O3 and
 * -fassociative-math (common/CMakeLists.txt), which lets sums be split into
 * SIMD lanes. So results differ from a strict left-to-right sum in the last
 * bits; callers compare with tolerances and break ties by index (topk.h).
 * Matrices are row-major; sizes are in elements.
 */
#ifndef RECSYS_COMMON_VEC_H
#define RECSYS_COMMON_VEC_H

#include <stddef.h>

/* sum a[i] * b[i] */
float vec_dot(const float *a, const float *b, size_t n);
/* y += a * x */
void vec_axpy(float *y, float a, const float *x, size_t n);
/* x *= a */
void vec_scale(float *x, float a, size_t n);
/* sqrt(sum x[i]^2) */
float vec_norm2(const float *x, size_t n);
/* Scales x to unit L2 norm and returns the norm it had; a zero vector is
 * left as it is (returns 0). */
float vec_normalize(float *x, size_t n);
/* out[r] = dot(M[r], x) for every row of the n_rows x dim matrix M: the
 * scores of all items for one user. */
void vec_gemv_rows(const float *M, size_t n_rows, size_t dim, const float *x, float *out);
/* out[d] = sum_r y[r] * M[r][d]: M^T y (dim outputs). */
void vec_gemv_t(const float *M, size_t n_rows, size_t dim, const float *y, float *out);
/* G += w * x x^T on the full dim x dim matrix G (ALS: per-item confidence
 * terms of a user's normal equations). */
void vec_syrk_add(float *G, const float *x, size_t dim, float w);
/* G = M^T M (dim x dim, full) for the n_rows x dim matrix M (ALS: Y^T Y).
 * Accumulates in double per block so big n stays accurate. */
void vec_gram(const float *M, size_t n_rows, size_t dim, float *G);

#endif
