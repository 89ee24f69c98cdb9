/*
 * vec.c: dense float32 kernels as loops the vectoriser understands.
 *
 * Compiled with the kernel flags (see common/CMakeLists.txt): without
 * -fassociative-math a float reduction must be summed in source order and
 * stays scalar (~820 us for 60k x 64 scores); with it the same loop runs in
 * AVX2 lanes. No intrinsics, so the code stays portable and the compiler
 * picks the widest vectors that -march allows. Keep the inner loops simple
 * (unit stride, restrict pointers, no calls) so they keep vectorising; check
 * with -fopt-info-vec-optimized after editing.
 */
#include "common/math/vec.h"

#include <math.h>
#include <stdlib.h>

float vec_dot(const float *restrict a, const float *restrict b, size_t n)
{
    float s = 0.0f;
    for (size_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

void vec_axpy(float *restrict y, float a, const float *restrict x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] += a * x[i];
}

void vec_scale(float *x, float a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] *= a;
}

float vec_norm2(const float *x, size_t n)
{
    float s = 0.0f;
    for (size_t i = 0; i < n; i++)
        s += x[i] * x[i];
    return sqrtf(s);
}

float vec_normalize(float *x, size_t n)
{
    float norm = vec_norm2(x, n);
    if (norm > 0.0f)
        vec_scale(x, 1.0f / norm, n);
    return norm;
}

void vec_gemv_rows(const float *restrict M, size_t n_rows, size_t dim, const float *restrict x,
                   float *restrict out)
{
    for (size_t r = 0; r < n_rows; r++) {
        const float *restrict row = M + r * dim;
        float s = 0.0f;
        for (size_t d = 0; d < dim; d++)
            s += row[d] * x[d];
        out[r] = s;
    }
}

void vec_gemv_t(const float *restrict M, size_t n_rows, size_t dim, const float *restrict y, float *restrict out)
{
    for (size_t d = 0; d < dim; d++)
        out[d] = 0.0f;
    for (size_t r = 0; r < n_rows; r++) {
        const float *restrict row = M + r * dim;
        float w = y[r];
        for (size_t d = 0; d < dim; d++)
            out[d] += w * row[d];
    }
}

void vec_syrk_add(float *restrict G, const float *restrict x, size_t dim, float w)
{
    for (size_t i = 0; i < dim; i++) {
        float wi = w * x[i];
        float *restrict g = G + i * dim;
        for (size_t j = 0; j < dim; j++)
            g[j] += wi * x[j];
    }
}

/* Rows per float block before folding into the double accumulator. */
#define VEC_GRAM_BLOCK 256

void vec_gram(const float *restrict M, size_t n_rows, size_t dim, float *restrict G)
{
    size_t dd = dim * dim;
    double *acc = calloc(dd ? dd : 1, sizeof *acc);
    float *blk = calloc(dd ? dd : 1, sizeof *blk);
    if (!acc || !blk) {
        /* No memory for the accurate path: accumulate in G directly. */
        free(acc);
        free(blk);
        for (size_t i = 0; i < dd; i++)
            G[i] = 0.0f;
        for (size_t r = 0; r < n_rows; r++)
            vec_syrk_add(G, M + r * dim, dim, 1.0f);
        return;
    }
    for (size_t r0 = 0; r0 < n_rows; r0 += VEC_GRAM_BLOCK) {
        size_t r1 = r0 + VEC_GRAM_BLOCK < n_rows ? r0 + VEC_GRAM_BLOCK : n_rows;
        for (size_t i = 0; i < dd; i++)
            blk[i] = 0.0f;
        for (size_t r = r0; r < r1; r++)
            vec_syrk_add(blk, M + r * dim, dim, 1.0f);
        for (size_t i = 0; i < dd; i++)
            acc[i] += blk[i];
    }
    for (size_t i = 0; i < dd; i++)
        G[i] = (float)acc[i];
    free(acc);
    free(blk);
}
