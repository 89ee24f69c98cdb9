/*
 * popularity.c: counts per item and per genre in one pass over the ratings.
 *
 * Counts are kept in double while summing and stored as float (exact up to
 * 2^24 ratings per item, beyond which only the ties change).
 */
#include "common/data/popularity.h"

#include <stdlib.h>
#include <string.h>

void popularity_default_opts(popularity_opts_t *o)
{
    o->positive = 4.0f;
    o->damping = 10.0f;
}

void popularity_free(popularity_t *p)
{
    if (!p)
        return;
    free(p->count);
    free(p->genre_score);
    free(p->predicted);
    free(p);
}

int popularity_fit_arrays(const uint32_t *items, const float *values, size_t n,
                          const catalog_t *cat, const popularity_opts_t *opts,
                          popularity_t **out, err_t *err)
{
    popularity_opts_t def;
    if (!opts) {
        popularity_default_opts(&def);
        opts = &def;
    }
    *out = NULL;
    uint32_t ni = catalog_size(cat), ng = catalog_ngenres(cat);
    popularity_t *p = calloc(1, sizeof *p);
    double *sum = calloc((size_t)ni + 1, sizeof *sum);
    double *gpos = calloc((size_t)ng + 1, sizeof *gpos);
    double *ipos = calloc((size_t)ni + 1, sizeof *ipos);
    if (p) {
        p->nitems = ni;
        p->count = calloc((size_t)ni + 1, sizeof(float));
        p->genre_score = calloc((size_t)ni + 1, sizeof(float));
        p->predicted = calloc((size_t)ni + 1, sizeof(float));
    }
    if (!p || !sum || !gpos || !ipos || !p->count || !p->genre_score || !p->predicted) {
        free(sum);
        free(gpos);
        free(ipos);
        popularity_free(p);
        return err_set(err, "popularity: out of memory for %u items", ni);
    }
    double total = 0.0;
    for (size_t k = 0; k < n; k++) {
        if (items[k] >= ni) {
            free(sum);
            free(gpos);
            free(ipos);
            popularity_free(p);
            return err_set(err, "popularity: rating %zu names item %u of a catalog of %u", k,
                           items[k], ni);
        }
        p->count[items[k]] += 1.0f;
        sum[items[k]] += values[k];
        total += values[k];
        if (values[k] >= opts->positive)
            ipos[items[k]] += 1.0;
    }
    p->nratings = n;
    p->mean = n ? total / (double)n : 0.0;
    for (uint32_t i = 0; i < ni; i++) {
        uint32_t g = catalog_item_ngenres(cat, i);
        for (uint32_t k = 0; k < g; k++)
            gpos[catalog_item_genre(cat, i, k)] += ipos[i];
    }
    for (uint32_t i = 0; i < ni; i++) {
        uint32_t g = catalog_item_ngenres(cat, i);
        double s = 0.0;
        for (uint32_t k = 0; k < g; k++)
            s += gpos[catalog_item_genre(cat, i, k)];
        p->genre_score[i] = g ? (float)(s / g) : 0.0f;
        double c = p->count[i];
        double den = c + opts->damping;
        p->predicted[i] = den > 0 ? (float)(p->mean + (sum[i] - c * p->mean) / den) : (float)p->mean;
    }
    free(sum);
    free(gpos);
    free(ipos);
    *out = p;
    return 0;
}

int popularity_fit(const ratings_t *r, const catalog_t *cat, const popularity_opts_t *opts,
                   popularity_t **out, err_t *err)
{
    return popularity_fit_arrays(r->item, r->value, r->n, cat, opts, out, err);
}

void popularity_scores(const popularity_t *p, popularity_kind_t kind, float *scores)
{
    const float *src = kind == POPULARITY_GENRE ? p->genre_score : p->count;
    memcpy(scores, src, (size_t)p->nitems * sizeof(float));
}

float popularity_predict(const popularity_t *p, uint32_t item)
{
    if (item >= p->nitems)
        return (float)p->mean;
    return p->predicted[item];
}
