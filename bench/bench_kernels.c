/*
 * bench_kernels.c: timings of the numeric kernels in common/math/ (not a test).
 *
 *   bench_kernels [reps]     (default 21 repetitions; medians are printed)
 *
 * Scoring 60,000 items x 64 factors with vec_gemv_rows (compiled with the
 * kernel flags) against the same loop here in this file (release flags only,
 * so the float sum stays scalar) and OpenBLAS cblas_sgemv when linked; top-k
 * of 60k scores against one plain pass over them; CRC-32C throughput;
 * opening (mapping + validating) a 15 MB model file. Everything is timed in
 * one process, interleaved, and the median of the repetitions is reported,
 * because the machine is shared and absolute times drift (STACK_NOTES.md).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/base/crc32c.h"
#include "common/base/clock.h"
#include "common/wire/modelfile.h"
#include "common/math/topk.h"
#include "common/math/vec.h"

#ifdef RECSYS_BENCH_OPENBLAS
#include <cblas.h>
#endif

#define N_ITEMS 60000
#define DIM 64
#define MAX_REPS 201

static int dcmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, dcmp);
    return v[n / 2];
}

/* The loop a first version would write, without the kernel flags. */
__attribute__((noinline)) static void naive_gemv(const float *M, size_t rows, size_t dim, const float *x, float *out)
{
    for (size_t r = 0; r < rows; r++) {
        float s = 0.0f;
        for (size_t d = 0; d < dim; d++)
            s += M[r * dim + d] * x[d];
        out[r] = s;
    }
}

/* Plain passes over the scores: the floor for any top-k. */
__attribute__((noinline)) static uint32_t count_positive(const float *s, size_t n)
{
    uint32_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += s[i] > 0.0f;
    return c;
}

__attribute__((noinline)) static uint32_t argmax(const float *s, size_t n)
{
    uint32_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (s[i] > s[best])
            best = (uint32_t)i;
    return best;
}

static uint64_t rng = 0x853c49e6748fea9bull;

static float frand(void)
{
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((double)(rng >> 40) / (double)(1ull << 24) - 0.5);
}

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 21;
    if (reps < 1 || reps > MAX_REPS)
        reps = 21;
    float *M = aligned_alloc(64, (size_t)N_ITEMS * DIM * sizeof(float));
    float *x = aligned_alloc(64, DIM * sizeof(float));
    float *out = aligned_alloc(64, N_ITEMS * sizeof(float));
    float *ref = aligned_alloc(64, N_ITEMS * sizeof(float));
    for (size_t i = 0; i < (size_t)N_ITEMS * DIM; i++)
        M[i] = frand();
    for (int d = 0; d < DIM; d++)
        x[d] = frand();

    /* ---- gemv */
    double t_vec[MAX_REPS], t_naive[MAX_REPS], t_blas[MAX_REPS];
    naive_gemv(M, N_ITEMS, DIM, x, ref);
    for (int r = 0; r < reps; r++) {
        double t0 = (1e6 * clock_mono_sec());
        vec_gemv_rows(M, N_ITEMS, DIM, x, out);
        double t1 = (1e6 * clock_mono_sec());
        naive_gemv(M, N_ITEMS, DIM, x, ref);
        double t2 = (1e6 * clock_mono_sec());
        t_vec[r] = t1 - t0;
        t_naive[r] = t2 - t1;
#ifdef RECSYS_BENCH_OPENBLAS
        double t3 = (1e6 * clock_mono_sec());
        cblas_sgemv(CblasRowMajor, CblasNoTrans, N_ITEMS, DIM, 1.0f, M, DIM, x, 1, 0.0f, out, 1);
        t_blas[r] = (1e6 * clock_mono_sec()) - t3;
#else
        t_blas[r] = 0;
#endif
    }
    double maxdiff = 0;
    vec_gemv_rows(M, N_ITEMS, DIM, x, out);
    for (size_t i = 0; i < N_ITEMS; i++) {
        double d = out[i] - ref[i];
        if (d < 0)
            d = -d;
        if (d > maxdiff)
            maxdiff = d;
    }
    printf("gemv %d x %d (median of %d):\n", N_ITEMS, DIM, reps);
    printf("  vec_gemv_rows (kernel flags)    %8.1f us\n", median(t_vec, reps));
    printf("  naive loop (release flags only) %8.1f us\n", median(t_naive, reps));
#ifdef RECSYS_BENCH_OPENBLAS
    printf("  OpenBLAS cblas_sgemv            %8.1f us\n", median(t_blas, reps));
#else
    printf("  OpenBLAS cblas_sgemv            (not linked)\n");
#endif
    printf("  max |vec - naive| = %.2g\n", maxdiff);

    /* ---- top-k over the scores */
    static const size_t ks[] = {10, 100, 1000};
    topk_item_t *items = malloc(1000 * sizeof *items);
    double t_pass[MAX_REPS], t_count[MAX_REPS], t_k[3][MAX_REPS];
    volatile uint32_t sink = 0;
    for (int r = 0; r < reps; r++) {
        double t0 = (1e6 * clock_mono_sec());
        sink += argmax(out, N_ITEMS);
        t_pass[r] = (1e6 * clock_mono_sec()) - t0;
        t0 = (1e6 * clock_mono_sec());
        sink += count_positive(out, N_ITEMS);
        t_count[r] = (1e6 * clock_mono_sec()) - t0;
        for (int ki = 0; ki < 3; ki++) {
            t0 = (1e6 * clock_mono_sec());
            sink += (uint32_t)topk_dense(out, N_ITEMS, ks[ki], NULL, items);
            t_k[ki][r] = (1e6 * clock_mono_sec()) - t0;
        }
    }
    printf("top-k of %d scores (median of %d):\n", N_ITEMS, reps);
    printf("  one pass: count s > 0           %8.1f us\n", median(t_count, reps));
    printf("  one pass: argmax                %8.1f us\n", median(t_pass, reps));
    for (int ki = 0; ki < 3; ki++)
        printf("  topk_dense k=%-4zu               %8.1f us\n", ks[ki], median(t_k[ki], reps));

    /* ---- CRC-32C */
    size_t clen = (size_t)N_ITEMS * DIM * sizeof(float);
    double t_hw[MAX_REPS], t_sw[MAX_REPS];
    for (int r = 0; r < reps; r++) {
        double t0 = (1e6 * clock_mono_sec());
        sink += crc32c(0, M, clen);
        double t1 = (1e6 * clock_mono_sec());
        sink += crc32c_sw(0, M, clen);
        t_hw[r] = t1 - t0;
        t_sw[r] = (1e6 * clock_mono_sec()) - t1;
    }
    printf("crc32c over %.1f MB (median of %d): %s %.2f GB/s, table %.2f GB/s\n", clen / 1e6, reps,
           crc32c_hw_available() ? "sse4.2" : "(no sse4.2, table)", clen / median(t_hw, reps) / 1e3,
           clen / median(t_sw, reps) / 1e3);

    /* ---- model file: write once, then open (map + validate) */
    char path[] = "/tmp/bench_kernels_model_XXXXXX";
    int fd = mkstemp(path);
    if (fd >= 0) {
        close(fd);
        err_t err;
        modelfile_writer_t *w;
        double t0 = (1e6 * clock_mono_sec());
        if (modelfile_writer_new(&w, path, "cf-als", "bench", &err) == 0 &&
            modelfile_writer_add(w, "item_factors", MODELFILE_F32, M, (uint64_t)N_ITEMS * DIM, &err) == 0 &&
            modelfile_writer_finish(w, &err) == 0) {
            double t_write = (1e6 * clock_mono_sec()) - t0;
            double t_open[MAX_REPS];
            for (int r = 0; r < reps; r++) {
                modelfile_t *mf;
                t0 = (1e6 * clock_mono_sec());
                if (modelfile_open(path, &mf, &err) != 0) {
                    fprintf(stderr, "%s\n", err.msg);
                    break;
                }
                t_open[r] = (1e6 * clock_mono_sec()) - t0;
                modelfile_close(mf);
            }
            printf("model file %.1f MB: write+fsync+rename %.1f ms, open+validate (median of %d) %.2f ms\n",
                   clen / 1e6, t_write / 1e3, reps, median(t_open, reps) / 1e3);
        } else {
            fprintf(stderr, "%s\n", err.msg);
        }
        modelfile_writer_free(w);
        unlink(path);
    }
    free(items);
    free(M);
    free(x);
    free(out);
    free(ref);
    return sink == 12345 ? 1 : 0;
}
