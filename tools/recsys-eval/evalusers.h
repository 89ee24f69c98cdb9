/*
 * evalusers.h: the user hold-out protocols of EVALUATION.md R5, R6 and R7
 * (new users known only by a few events), and the evaluator's private
 * anchors for them (item-kNN cosine, co-occurrence, genre cosine).
 *
 * Split (evalusers_split_make):
 *  - users are the dataset's user indices; a seeded permutation (rng_seed
 *    with the seed, Fisher-Yates over 0..nusers-1) puts the first
 *    round(frac * nusers) users in the held-out (test) set;
 *  - with validation, round(val_frac * ntrain) of the remaining train users,
 *    drawn by a second permutation seeded with seed ^ EVALUSERS_VAL_SALT,
 *    become the evaluated users, and the test users are left out entirely
 *    (neither trained on nor evaluated): settings are chosen without them;
 *  - each user's ratings are ordered by time, ties by file order (the row
 *    of ds->ratings).
 * The same call gives the same users in recsys-eval and recsys-wireval.
 *
 * R5 case of a held-out user and a history length n:
 *  history = the first n ratings in that order (with their values);
 *  with drop_low (R7's comparison run) the ones rated <= low_max are left
 *  out of the history that is sent, but still excluded from the candidates;
 *  relevant = the user's later ratings (positions >= n) >= rel_min, minus
 *  the history items; candidates = every catalog item minus the first n.
 * R6 case: query = the first item (time order) rated >= query_min (4.5);
 *  relevant = the user's other items rated >= rel_min (4).
 */
#ifndef RECSYS_TOOLS_EVALUSERS_H
#define RECSYS_TOOLS_EVALUSERS_H

#include <stddef.h>
#include <stdint.h>

#include "common/base/err.h"
#include "common/data/catalog.h"
#include "common/data/dataset.h"
#include "common/data/ratings.h"

#define EVALUSERS_VAL_SALT 0x76616c7573657273ULL

enum { EVALUSERS_TRAIN = 0, EVALUSERS_TEST = 1, EVALUSERS_OUT = 2 };

typedef struct evalusers_split {
    const dataset_t *ds; /* borrowed */
    uint32_t nusers, ncat;
    uint8_t *role;   /* [nusers] EVALUSERS_TRAIN / TEST (evaluated) / OUT */
    uint32_t *users; /* evaluated users, ascending index */
    size_t nevaluated;
    size_t ntrain_users;
    size_t *off;     /* [nusers + 1] per user, ratings in time order: */
    uint32_t *item;  /*   catalog index */
    float *value;    /*   rating */
    size_t *row;     /*   row in ds->ratings */
} evalusers_split_t;

int evalusers_split_make(const dataset_t *ds, double frac, uint64_t seed, int validation,
                         double val_frac, evalusers_split_t **out, err_t *err);
void evalusers_split_free(evalusers_split_t *s);

/* The train users' ratings in file order (ds user indices; borrows
 * ds->users); with_ts keeps timestamps. */
ratings_t *evalusers_train(const evalusers_split_t *s, int with_ts);
/* The evaluated users' ratings in file order. */
ratings_t *evalusers_test(const evalusers_split_t *s);

/* One R5/R7 case. Buffers: hist/hist_value room for n, excl room for n,
 * rel room for the user's rating count. Returns the number of relevant
 * items (the user is skipped when 0). *nhist: history sent; *nexcl: the
 * first n items (sorted ascending), excluded from the candidates. */
size_t evalusers_r5_case(const evalusers_split_t *s, uint32_t user, size_t n, int drop_low,
                         float low_max, float rel_min, uint32_t *hist, float *hist_value,
                         size_t *nhist, uint32_t *excl, size_t *nexcl, uint32_t *rel);
/* One R6 case: *query (EVALUSERS_NONE when the user has none) and the
 * relevant items (sorted); returns their count. */
#define EVALUSERS_NONE UINT32_MAX
size_t evalusers_r6_case(const evalusers_split_t *s, uint32_t user, float query_min, float rel_min,
                         uint32_t *query, uint32_t *rel);
/* Most ratings of any user (buffer sizes). */
size_t evalusers_max_ratings(const evalusers_split_t *s);

/* ---- item-kNN over the binary train item-user matrix ---- */
typedef struct evalknn {
    uint32_t nitems, nusers;
    size_t *iu_off; /* [nitems + 1] item -> users */
    uint32_t *iu;
    size_t *ui_off; /* [nusers + 1] user -> items */
    uint32_t *ui;
    float *count;   /* [nitems] users per item */
    float *co;      /* [nitems] scratch */
} evalknn_t;

/* From ratings (any value counts as an interaction; a pair counted once). */
int evalknn_build(const ratings_t *r, uint32_t nusers, uint32_t nitems, evalknn_t **out, err_t *err);
void evalknn_free(evalknn_t *k);
/* Co-occurrence counts of item with every item into co[nitems] (co[item]
 * = its own count). */
void evalknn_cooc(evalknn_t *k, uint32_t item, float *co);
/* cos(i, j) = co(i, j) / sqrt(count_i * count_j) for every j into sim
 * (0 where a count is 0; sim[item] is set to 0). */
void evalknn_cosine(evalknn_t *k, uint32_t item, float *sim);
/* Item-kNN score: sum over history items of cos(h, j), into scores[nitems]
 * (overwritten). */
void evalknn_score(evalknn_t *k, const uint32_t *hist, size_t n, float *scores);

/* ---- genre cosine ---- */
/* User genre profile (genre counts of the history items) vs each item's
 * binary genre vector: cosine into scores[catalog_size] (0 without genres). */
void evalgenre_score(const catalog_t *c, const uint32_t *hist, size_t n, float *profile_buf,
                     float *scores);

#endif
