/*
 * cf_bench.c: S2 and S3 of ../shared/BENCHMARKS.md for the CF library:
 * ALS fit time and peak memory, and one-user top-10 latency.
 *
 *   cf_bench ml100k DIR [runs]            ALS and EASE on ml-100k ua.base
 *   cf_bench synth USERS ITEMS NNZ [runs] ALS on a synthetic matrix
 *
 * ALS runs at 64 factors, 15 iterations, 3 CG steps, 2 threads (implicit's
 * reference settings; CF_BENCH_THREADS=N overrides the thread count); fits are repeated `runs` times (default 3) and the
 * median is printed. The synthetic matrix is made here, in memory, straight
 * into CSR (no ratings file, no ratings store): per-user counts log-normal
 * around NNZ / USERS (at least 5, at most ITEMS / 4), items drawn without
 * replacement with Zipf-like popularity (rank r weight (r + 1 + 0.002 *
 * ITEMS)^-0.9), ratings 1..5 uniform. Latency: cf_recommend (seen items
 * excluded, k = 10) for 2000 random known users after a warm-up, median
 * and p99. Peak RSS is the process's ru_maxrss at the end.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "common/data/dataset.h"
#include "common/base/clock.h"
#include "common/base/rng.h"
#include "services/cf/cf_linalg.h"
#include "services/cf/cf_model.h"

static void die(const err_t *err)
{
    fprintf(stderr, "cf_bench: %s\n", err->msg);
    exit(1);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static double peak_rss_mib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0;
}

static void latency(const cf_model_t *m, const char *label)
{
    enum { N = 2000 };
    static double t[N];
    cf_scratch_t *s = cf_scratch_new();
    err_t err;
    topk_item_t top[10];
    rng_t g;
    rng_seed(&g, 7);
    for (int w = 0; w < 200; w++) {
        cf_who_t who = {(uint32_t)rng_below(&g, m->n_users), NULL, 0};
        if (cf_recommend(m, s, &who, NULL, 10, top, NULL, &err) < 0)
            die(&err);
    }
    for (int i = 0; i < N; i++) {
        cf_who_t who = {(uint32_t)rng_below(&g, m->n_users), NULL, 0};
        double t0 = clock_mono_sec();
        if (cf_recommend(m, s, &who, NULL, 10, top, NULL, &err) < 0)
            die(&err);
        t[i] = (clock_mono_sec() - t0) * 1e6;
    }
    qsort(t, N, sizeof t[0], cmp_double);
    printf("%-34s one-user top-10: median %.1f us, p99 %.1f us (%u items x %u)\n", label, t[N / 2],
           t[N * 99 / 100], m->n_items, m->dim);
    cf_scratch_free(s);
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

static cf_model_t *fit_median(const cf_data_t *d, const cf_params_t *p, int runs, const char *label)
{
    double t[16], c[16];
    cf_model_t *m = NULL;
    err_t err;
    if (runs > 16)
        runs = 16;
    for (int r = 0; r < runs; r++) {
        cf_model_release(m);
        double t0 = clock_mono_sec(), c0 = cpu_seconds();
        if (cf_train(d, p, &m, &err) < 0)
            die(&err);
        t[r] = clock_mono_sec() - t0;
        c[r] = cpu_seconds() - c0;
    }
    qsort(t, (size_t)runs, sizeof t[0], cmp_double);
    qsort(c, (size_t)runs, sizeof c[0], cmp_double);
    printf("%-34s fit: median %.3f s of %d (min %.3f, max %.3f), cpu %.3f s\n", label, t[runs / 2], runs, t[0],
           t[runs - 1], c[runs / 2]);
    fflush(stdout);
    return m;
}

static void synth(cf_data_t *d, uint32_t nu, uint32_t ni, uint64_t nnz)
{
    rng_t g;
    rng_seed(&g, 2024);
    /* Per-user counts: log-normal, then scaled to sum to nnz exactly. */
    uint32_t *cnt = malloc(nu * sizeof *cnt);
    double sigma = 1.0, sum = 0;
    uint32_t cap = ni / 4 > 5 ? ni / 4 : 5;
    double *raw = malloc(nu * sizeof *raw);
    for (uint32_t u = 0; u < nu; u++) {
        raw[u] = exp(rng_normal(&g) * sigma);
        sum += raw[u];
    }
    uint64_t total = 0;
    for (uint32_t u = 0; u < nu; u++) {
        double c = raw[u] / sum * (double)nnz;
        cnt[u] = c < 5 ? 5 : c > cap ? cap : (uint32_t)c;
        total += cnt[u];
    }
    for (uint32_t u = 0; total != nnz; u = (u + 1) % nu) {
        if (total < nnz && cnt[u] < cap) {
            cnt[u]++;
            total++;
        } else if (total > nnz && cnt[u] > 5) {
            cnt[u]--;
            total--;
        }
    }
    free(raw);
    double *cdf = malloc(ni * sizeof *cdf);
    double acc = 0;
    for (uint32_t i = 0; i < ni; i++) {
        acc += pow(i + 1.0 + 0.002 * ni, -0.9);
        cdf[i] = acc;
    }
    memset(d, 0, sizeof *d);
    d->n_users = nu;
    d->n_items = ni;
    sparse_csr_t *m = &d->by_user;
    m->n_rows = nu;
    m->n_cols = ni;
    m->nnz = nnz;
    m->owned = 1;
    m->row_ptr = malloc(((size_t)nu + 1) * sizeof *m->row_ptr);
    m->col = malloc(nnz * sizeof *m->col);
    m->val = malloc(nnz * sizeof *m->val);
    uint8_t *seen = calloc(ni, 1);
    if (!cnt || !cdf || !m->row_ptr || !m->col || !m->val || !seen) {
        fprintf(stderr, "cf_bench: out of memory\n");
        exit(1);
    }
    uint64_t p = 0;
    for (uint32_t u = 0; u < nu; u++) {
        m->row_ptr[u] = p;
        uint64_t start = p;
        for (uint32_t k = 0; k < cnt[u]; k++) {
            uint32_t item;
            do {
                double x = rng_uniform(&g) * acc;
                uint32_t lo = 0, hi = ni - 1;
                while (lo < hi) {
                    uint32_t mid = lo + (hi - lo) / 2;
                    if (cdf[mid] < x)
                        lo = mid + 1;
                    else
                        hi = mid;
                }
                item = lo;
            } while (seen[item]);
            seen[item] = 1;
            m->col[p++] = item;
        }
        qsort(m->col + start, p - start, sizeof *m->col, cmp_u32);
        for (uint64_t q = start; q < p; q++) {
            seen[m->col[q]] = 0;
            m->val[q] = (float)(1 + rng_below(&g, 5));
        }
    }
    m->row_ptr[nu] = p;
    free(seen);
    free(cdf);
    free(cnt);
    err_t err;
    if (sparse_csr_transpose(&d->by_user, &d->by_item, &err) < 0)
        die(&err);
    d->rmin = 1.0f;
    d->rmax = 5.0f;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: cf_bench ml100k DIR [runs] | cf_bench synth USERS ITEMS NNZ [runs]\n");
        return 2;
    }
    err_t err;
    cf_params_t p;
    cf_params_default(&p);
    p.kind = CF_KIND_ALS;
    p.als.factors = 64;
    p.als.iterations = 15;
    p.als.cg_steps = 3;
    p.als.threads = 2;
    if (getenv("CF_BENCH_THREADS"))
        p.als.threads = (uint32_t)atoi(getenv("CF_BENCH_THREADS"));
    cf_data_t d;
    int runs = 3;
    char label[96];
    if (strcmp(argv[1], "ml100k") == 0) {
        dataset_t *ds;
        dataset_opts_t o = {0};
        o.ratings_file = "ua.base";
        if (dataset_load(argv[2], &ds, &o, &err) < 0)
            die(&err);
        if (cf_data_from_ratings(&d, ds->ratings, idmap_size(ds->users), catalog_size(ds->catalog), NULL, &err) < 0)
            die(&err);
        dataset_free(ds);
        if (argc > 3)
            runs = atoi(argv[3]);
        snprintf(label, sizeof label, "ml-100k ua.base ALS");
    } else if (strcmp(argv[1], "synth") == 0 && argc >= 5) {
        uint32_t nu = (uint32_t)strtoul(argv[2], NULL, 10), ni = (uint32_t)strtoul(argv[3], NULL, 10);
        uint64_t nnz = strtoull(argv[4], NULL, 10);
        if (nu == 0 || ni < 20 || nnz < (uint64_t)nu * 5 || nnz > (uint64_t)nu * (ni / 4)) {
            fprintf(stderr, "cf_bench: need users >= 1, items >= 20, 5 * users <= nnz <= users * items / 4\n");
            return 2;
        }
        double t0 = clock_mono_sec();
        synth(&d, nu, ni, nnz);
        printf("synthetic %u x %u, %llu interactions: made in %.2f s\n", nu, ni, (unsigned long long)nnz,
               clock_mono_sec() - t0);
        if (argc > 5)
            runs = atoi(argv[5]);
        snprintf(label, sizeof label, "synth %ux%u ALS", nu, ni);
    } else {
        fprintf(stderr, "cf_bench: unknown mode '%s'\n", argv[1]);
        return 2;
    }
    if (runs < 1)
        runs = 1;
    cf_model_t *m = fit_median(&d, &p, runs, label);
    latency(m, label);
    cf_model_release(m);
    if (d.n_items <= 5000) {
        p.kind = CF_KIND_EASE;
        snprintf(label + strlen(label) - 3, sizeof label - strlen(label) + 3, "EASE");
        m = fit_median(&d, &p, runs, label);
        latency(m, label);
        cf_model_release(m);
    }
    cf_data_free(&d);
    printf("peak RSS %.0f MiB\n", peak_rss_mib());
    return 0;
}
