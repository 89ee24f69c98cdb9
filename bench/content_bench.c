/*
 * content_bench: the content model at MovieLens-25M catalog scale.
 *
 *   build-x/bin/content_bench [items=62423] [threads=2] [neighbours=50] [reps=3]
 *
 * Makes a synthetic catalog shaped like ml-25m's (62,423 items; genres drawn
 * with ml-25m's genre frequencies, 1-3 per item; user tags drawn Zipf-like
 * (s = 1.05) from 65,000 distinct tags, a heavy-tailed number per item (mean
 * ~16, many items with none); a year in every title), builds the model
 * (vectors + all neighbour lists) `reps` times and prints the median build
 * time and the process's peak RSS, then times model save/load and queries
 * (similar items, a 50-item history scored against all items). Never run by
 * ctest; see bench/README.md.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "common/data/catalog.h"
#include "common/base/clock.h"
#include "services/content/content_model.h"

static double peak_mib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static double urand(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

/* Index drawn from a cumulative table by bisection. */
static size_t draw(const double *cdf, size_t n)
{
    double u = urand() * cdf[n - 1];
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cdf[mid] < u)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    uint32_t n = argc > 1 ? (uint32_t)atol(argv[1]) : 62423;
    uint32_t threads = argc > 2 ? (uint32_t)atol(argv[2]) : 2;
    uint32_t nb = argc > 3 ? (uint32_t)atol(argv[3]) : 50;
    int reps = argc > 4 ? atoi(argv[4]) : 3;
    if (reps < 1 || reps > 99)
        reps = 3;
    err_t err;

    /* ml-25m genre counts (items per genre). */
    static const char *gname[] = {"Drama", "Comedy", "Thriller", "Romance", "Action", "Horror", "Documentary",
                                  "Crime", "Adventure", "Sci-Fi", "Children", "Animation", "Mystery", "Fantasy",
                                  "War", "Western", "Musical", "Film-Noir", "IMAX"};
    static const double gcount[] = {25606, 16870, 8654, 7719, 7348, 5989, 5605, 5319, 4145, 3595,
                                    2935,  2929,  2925, 2731, 1874, 1399, 1054, 353,  195};
    enum { NG = 19, NTAGS = 65000 };
    double gcdf[NG], acc = 0;
    for (int g = 0; g < NG; g++)
        gcdf[g] = acc += gcount[g];
    double *tcdf = malloc(NTAGS * sizeof *tcdf);
    acc = 0;
    for (int t = 0; t < NTAGS; t++)
        tcdf[t] = acc += pow(t + 1, -1.05);

    double t0 = (1e3 * clock_mono_sec());
    catalog_t *cat = catalog_new();
    uint64_t tag_apps = 0;
    for (uint32_t i = 0; i < n; i++) {
        char id[16], title[64], tag[32];
        snprintf(id, sizeof id, "%u", i + 1);
        uint32_t idx;
        if (catalog_add_item(cat, id, strlen(id), &idx, &err)) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        int year = 1920 + (int)(urand() * 100);
        snprintf(title, sizeof title, "Item%u (%d)", i + 1, year);
        catalog_set_title(cat, idx, title, strlen(title));
        catalog_set_year(cat, idx, year);
        int ng = 1 + (urand() < 0.45) + (urand() < 0.2);
        for (int g = 0; g < ng; g++) {
            const char *gn = gname[draw(gcdf, NG)];
            catalog_add_genre(cat, idx, gn, strlen(gn));
        }
        /* Heavy-tailed tag count: 40% none, else ~ 1 / u^0.8 capped at 400. */
        uint32_t nt = urand() < 0.4 ? 0 : (uint32_t)fmin(400, floor(3.0 / pow(urand() + 1e-9, 0.8)));
        for (uint32_t k = 0; k < nt; k++) {
            snprintf(tag, sizeof tag, "tag%zu", draw(tcdf, NTAGS));
            catalog_add_tag(cat, idx, tag, strlen(tag));
            tag_apps++;
        }
    }
    if (catalog_finish(cat, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    double t_cat = (1e3 * clock_mono_sec()) - t0;
    double rss_cat = peak_mib();
    printf("catalog: %u items, %llu tag applications, made in %.0f ms, peak RSS %.1f MiB\n", n,
           (unsigned long long)tag_apps, t_cat, rss_cat);

    content_params_t p;
    content_params_default(&p);
    p.threads = threads;
    p.neighbours = nb;
    double times[99];
    content_model_t *m = NULL;
    for (int r = 0; r < reps; r++) {
        content_model_release(m);
        double a = (1e3 * clock_mono_sec());
        if (content_model_build(cat, &p, &m, &err)) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        times[r] = (1e3 * clock_mono_sec()) - a;
        printf("build %d: %.0f ms\n", r + 1, times[r]);
    }
    qsort(times, (size_t)reps, sizeof *times, cmp_double);
    double ops = 0;
    for (uint32_t t = 0; t < content_model_nterms(m); t++)
        ops += (double)content_model_term_df(m, t) * content_model_term_df(m, t);
    printf("sum over terms of df^2 (accumulation steps): %.3g\n", ops);
    printf("model: %u terms, %llu bytes, version %s\n", content_model_nterms(m),
           (unsigned long long)content_model_bytes(m), content_model_version(m));
    printf("build (vectors + %u neighbours of every item, %u threads): median %.0f ms of %d; peak RSS %.1f MiB "
           "(catalog alone %.1f MiB)\n",
           nb, threads, times[reps / 2], reps, peak_mib(), rss_cat);

    /* Save and load (mmap + validation). */
    char path[] = "/tmp/content_bench_XXXXXX";
    int fd = mkstemp(path);
    if (fd >= 0)
        close(fd);
    double a = (1e3 * clock_mono_sec());
    if (content_model_save(m, path, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    double t_save = (1e3 * clock_mono_sec()) - a;
    a = (1e3 * clock_mono_sec());
    content_model_t *l;
    if (content_model_load(path, &l, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    printf("save %.1f ms, load (mmap + checks) %.1f ms\n", t_save, (1e3 * clock_mono_sec()) - a);
    unlink(path);

    /* Queries on the loaded model. */
    content_scratch_t *s = content_scratch_new();
    content_hit_t out[100];
    enum { Q = 2000 };
    double *lat = malloc(Q * sizeof *lat);
    for (int q = 0; q < Q; q++) {
        uint32_t item = (uint32_t)(urand() * n);
        double b = (1e3 * clock_mono_sec());
        content_similar(l, item, 10, NULL, s, out, &err);
        lat[q] = ((1e3 * clock_mono_sec()) - b) * 1000;
    }
    qsort(lat, Q, sizeof *lat, cmp_double);
    printf("similar k=10 (stored lists): p50 %.2f us, p99 %.2f us\n", lat[Q / 2], lat[Q * 99 / 100]);
    filter_t f = {.genre_mask = 1ull << 17}; /* a rare genre: forces the on-the-fly path often */
    for (int q = 0; q < Q / 10; q++) {
        uint32_t item = (uint32_t)(urand() * n);
        double b = (1e3 * clock_mono_sec());
        content_similar(l, item, 10, &f, s, out, &err);
        lat[q] = ((1e3 * clock_mono_sec()) - b) * 1000;
    }
    qsort(lat, Q / 10, sizeof *lat, cmp_double);
    printf("similar k=10, rare-genre filter: p50 %.1f us, p99 %.1f us\n", lat[Q / 20], lat[Q / 10 * 99 / 100]);
    content_event_t hist[50];
    content_query_t qq = {.k = 10};
    for (int q = 0; q < Q / 10; q++) {
        for (int h = 0; h < 50; h++) {
            hist[h].item = (uint32_t)(urand() * n);
            hist[h].rating = (float)(1 + (int)(urand() * 5));
        }
        double b = (1e3 * clock_mono_sec());
        content_score_history(l, hist, 50, &qq, s, out, &err);
        lat[q] = ((1e3 * clock_mono_sec()) - b) * 1000;
    }
    qsort(lat, Q / 10, sizeof *lat, cmp_double);
    printf("score 50-event history against all items, k=10: p50 %.1f us, p99 %.1f us\n", lat[Q / 20],
           lat[Q / 10 * 99 / 100]);
    content_scratch_free(s);
    content_model_release(l);
    content_model_release(m);
    catalog_free(cat);
    free(lat);
    free(tcdf);
    return 0;
}
