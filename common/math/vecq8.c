/*
 * vecq8.c: int8 screening kernels (see vecq8.h for the error bound).
 */
#include "common/math/vecq8.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define VECQ8_X86 1
#endif

size_t vecq8_rows_bytes(size_t n, size_t dim)
{
    return n * dim + n * (2 * sizeof(float) + sizeof(int32_t));
}

void vecq8_rows_free(vecq8_rows_t *r)
{
    free(r->q);
    free(r->scale);
    free(r->l1);
    free(r->qsum);
    memset(r, 0, sizeof *r);
}

int vecq8_rows_init(vecq8_rows_t *r, const float *M, size_t n, size_t dim)
{
    memset(r, 0, sizeof *r);
    r->n = n;
    r->dim = dim;
    r->q = malloc(n * dim > 0 ? n * dim : 1);
    r->scale = malloc((n ? n : 1) * sizeof *r->scale);
    r->l1 = malloc((n ? n : 1) * sizeof *r->l1);
    r->qsum = malloc((n ? n : 1) * sizeof *r->qsum);
    if (!r->q || !r->scale || !r->l1 || !r->qsum)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        const float *x = M + i * dim;
        int8_t *q = r->q + i * dim;
        float mx = 0.0f;
        for (size_t j = 0; j < dim; j++) {
            if (!isfinite(x[j]))
                goto fail;
            mx = fmaxf(mx, fabsf(x[j]));
        }
        float s = mx / 127.0f;
        int32_t sum = 0, asum = 0;
        for (size_t j = 0; j < dim; j++) {
            long v = s > 0.0f ? lrintf(x[j] / s) : 0;
            v = v > 127 ? 127 : v < -127 ? -127 : v;
            q[j] = (int8_t)v;
            sum += (int32_t)v;
            asum += (int32_t)labs(v);
        }
        r->scale[i] = s;
        r->l1[i] = s * (float)asum;
        r->qsum[i] = sum;
        r->scale_max = fmaxf(r->scale_max, s);
        r->l1_max = fmaxf(r->l1_max, r->l1[i]);
    }
    return 0;
fail:
    vecq8_rows_free(r);
    return -1;
}

int vecq8_query_init(vecq8_query_t *qu, const float *u, size_t dim, uint8_t *qstore)
{
    float mx = 0.0f, l1 = 0.0f;
    for (size_t j = 0; j < dim; j++) {
        if (!isfinite(u[j]))
            return -1;
        mx = fmaxf(mx, fabsf(u[j]));
        l1 += fabsf(u[j]);
    }
    float s = mx / 127.0f;
    int32_t asum = 0;
    for (size_t j = 0; j < dim; j++) {
        long v = s > 0.0f ? lrintf(u[j] / s) : 0;
        v = v > 127 ? 127 : v < -127 ? -127 : v;
        qstore[j] = (uint8_t)(v + 128);
        asum += (int32_t)labs(v);
    }
    qu->q = qstore;
    qu->scale = s;
    qu->l1_rounded = s * (float)asum;
    qu->l1 = l1;
    qu->dim = dim;
    return 0;
}

/* The row's integer dot product with the query, offset undone. */
static inline int32_t row_dot(const int8_t *q, const uint8_t *x, size_t dim, int32_t qsum)
{
    int32_t acc = 0;
    for (size_t j = 0; j < dim; j++)
        acc += (int32_t)x[j] * (int32_t)q[j];
    return acc - 128 * qsum;
}

static inline float finish(const vecq8_rows_t *r, const vecq8_query_t *qu, size_t i, int32_t dot)
{
    float f = qu->scale * r->scale[i];
    return (float)dot * f;
}

void vecq8_gemv_portable(const vecq8_rows_t *r, const vecq8_query_t *qu, float *out)
{
    size_t d = r->dim;
    for (size_t i = 0; i < r->n; i++)
        out[i] = finish(r, qu, i, row_dot(r->q + i * d, qu->q, d, r->qsum[i]));
}

#ifdef VECQ8_X86
/* 8 rows at a time, 32 bytes per vpdpbusd; dim a multiple of 32. */
__attribute__((target("avx512f,avx512vl,avx512bw,avx512vnni"))) static void gemv_vnni(const vecq8_rows_t *r,
                                                                                     const vecq8_query_t *qu,
                                                                                     float *out)
{
    size_t d = r->dim, n = r->n, chunks = d / 32, i = 0;
    __m256i qx[32]; /* dim <= 1024 */
    for (size_t c = 0; c < chunks; c++)
        qx[c] = _mm256_loadu_si256((const __m256i *)(qu->q + c * 32));
    for (; i + 8 <= n; i += 8) {
        __m256i a[8];
        for (int k = 0; k < 8; k++) {
            const int8_t *row = r->q + (i + (size_t)k) * d;
            __m256i acc = _mm256_setzero_si256();
            for (size_t c = 0; c < chunks; c++)
                acc = _mm256_dpbusd_epi32(acc, qx[c], _mm256_loadu_si256((const __m256i *)(row + c * 32)));
            a[k] = acc;
        }
        __m256i h01 = _mm256_hadd_epi32(a[0], a[1]), h23 = _mm256_hadd_epi32(a[2], a[3]);
        __m256i h45 = _mm256_hadd_epi32(a[4], a[5]), h67 = _mm256_hadd_epi32(a[6], a[7]);
        __m256i h0123 = _mm256_hadd_epi32(h01, h23), h4567 = _mm256_hadd_epi32(h45, h67);
        __m256i sum = _mm256_add_epi32(_mm256_permute2x128_si256(h0123, h4567, 0x20),
                                       _mm256_permute2x128_si256(h0123, h4567, 0x31));
        __m256i qs = _mm256_slli_epi32(_mm256_loadu_si256((const __m256i *)(r->qsum + i)), 7);
        __m256 dot = _mm256_cvtepi32_ps(_mm256_sub_epi32(sum, qs));
        __m256 f = _mm256_mul_ps(_mm256_set1_ps(qu->scale), _mm256_loadu_ps(r->scale + i));
        _mm256_storeu_ps(out + i, _mm256_mul_ps(dot, f));
    }
    for (; i < n; i++)
        out[i] = finish(r, qu, i, row_dot(r->q + i * d, qu->q, d, r->qsum[i]));
}

int vecq8_have_vnni(void)
{
    static int have = -1;
    if (have < 0) {
        __builtin_cpu_init();
        have = __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vl") &&
               __builtin_cpu_supports("avx512bw");
    }
    return have;
}
#else
int vecq8_have_vnni(void)
{
    return 0;
}
#endif

void vecq8_gemv(const vecq8_rows_t *r, const vecq8_query_t *qu, float *out)
{
#ifdef VECQ8_X86
    if (r->dim % 32 == 0 && r->dim <= 1024 && vecq8_have_vnni()) {
        gemv_vnni(r, qu, out);
        return;
    }
#endif
    vecq8_gemv_portable(r, qu, out);
}
