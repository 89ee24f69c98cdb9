/*
 * popularity.h: the non-personal fallback model (overall and by genre).
 *
 * Fitted from a ratings store whose items are catalog indices:
 *   overall  score(i) = number of train ratings of item i (any value);
 *   genre    score(i) = mean over item i's genres of the number of positive
 *            train ratings (value >= positive) of items of that genre,
 *            0 for an item without genre. This is what ranks items nobody
 *            has rated yet (cold items), as in EVALUATION.md R3.
 *   rating   predict(i) = mu + sum(r - mu) / (n_i + damping): the item mean
 *            shrunk towards the global mean, for rating prediction.
 * Ties are left to the caller's top-k (lower index first), which gives the
 * fixture's "ties to the lower item id" on ml-100k.
 */
#ifndef RECSYS_COMMON_POPULARITY_H
#define RECSYS_COMMON_POPULARITY_H

#include <stddef.h>
#include <stdint.h>

#include "common/data/catalog.h"
#include "common/base/err.h"
#include "common/data/ratings.h"

typedef enum { POPULARITY_OVERALL = 0, POPULARITY_GENRE = 1 } popularity_kind_t;

typedef struct popularity_opts {
    float positive; /* a rating >= this is positive (genre counts); 4 */
    float damping;  /* shrinkage of item means (rating prediction); 10 */
} popularity_opts_t;

typedef struct popularity {
    uint32_t nitems;
    float *count;       /* [nitems] train ratings per item */
    float *genre_score; /* [nitems] genre popularity of each item */
    float *predicted;   /* [nitems] shrunk item mean */
    double mean;        /* global mean rating (0 without ratings) */
    size_t nratings;
} popularity_t;

/* Default options (positive 4, damping 10). */
void popularity_default_opts(popularity_opts_t *o);

/* Fits on r (items must be < catalog_size(cat)); opts NULL: defaults. */
int popularity_fit(const ratings_t *r, const catalog_t *cat, const popularity_opts_t *opts,
                   popularity_t **out, err_t *err);
/* The same from parallel arrays (item, value) of n ratings. */
int popularity_fit_arrays(const uint32_t *items, const float *values, size_t n,
                          const catalog_t *cat, const popularity_opts_t *opts,
                          popularity_t **out, err_t *err);
void popularity_free(popularity_t *p);

/* The scores of every item (nitems floats) of one kind. */
void popularity_scores(const popularity_t *p, popularity_kind_t kind, float *scores);
/* Rating prediction for an item (the global mean for an unknown index). */
float popularity_predict(const popularity_t *p, uint32_t item);

#endif
