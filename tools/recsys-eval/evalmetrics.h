/*
 * evalmetrics.h: the ranking and rating metrics of EVALUATION.md.
 *
 * Ranking (per evaluated user, then averaged over users in double):
 *   P@k     = hits / k (k, not the list length, even when fewer than k
 *             candidates exist)
 *   R@k     = hits / |rel|
 *   NDCG@k  = DCG / IDCG, binary gains, DCG = sum over hit ranks r (1-based)
 *             of 1/log2(r+1), IDCG over min(|rel|, k) leading hits
 *   MAP@k   = (sum over hit ranks r of P@r) / min(|rel|, k)
 *   HR@k    = 1 when there is at least one hit
 *   Cov@k   = distinct items recommended to any user / universe size
 * Relevant items the model can never rank (e.g. unseen in train) stay in
 * |rel|. Users with no relevant item must not be added (the protocol skips
 * them); adding one is counted but contributes zeros.
 *
 * Rating: RMSE and MAE over every (prediction, truth) pair, predictions
 * clipped to [lo, hi] first.
 *
 * Sums are kept in user order in double, so the averages match a plain mean
 * of the per-user values to ~1e-16 relative.
 */
#ifndef RECSYS_COMMON_EVALMETRICS_H
#define RECSYS_COMMON_EVALMETRICS_H

#include <stddef.h>
#include <stdint.h>

#include "common/base/err.h"

/* Metric values of one user or their averages. */
typedef struct evalmetrics_ranking {
    double precision, recall, ndcg, map, hit_rate, coverage; /* coverage: averages only */
    size_t users;                                            /* users averaged */
} evalmetrics_ranking_t;

typedef struct evalmetrics_rating {
    double rmse, mae;
    size_t pairs;
} evalmetrics_rating_t;

/* Metrics of one ranked list (best first, nranked items, only the first k
 * count) against the relevant set rel[0..nrel) sorted ascending without
 * repeats. coverage and users of the result are 0 / 1. */
void evalmetrics_user(const uint32_t *ranked, size_t nranked, size_t k, const uint32_t *rel,
                      size_t nrel, evalmetrics_ranking_t *out);

/* Ideal DCG of min(nrel, k) hits at the top. */
double evalmetrics_idcg(size_t nrel, size_t k);

/* Accumulates users' ranking metrics and the set of recommended items. */
typedef struct evalmetrics_acc {
    size_t k;
    uint32_t nitems;   /* universe size (coverage denominator) */
    uint64_t *seen;    /* bitmap of recommended items */
    uint32_t distinct; /* bits set in seen */
    evalmetrics_ranking_t sum;
} evalmetrics_acc_t;

int evalmetrics_acc_init(evalmetrics_acc_t *acc, size_t k, uint32_t nitems, err_t *err);
void evalmetrics_acc_free(evalmetrics_acc_t *acc);
/* Adds one user's list; -1 when an item index is outside the universe. */
int evalmetrics_acc_add(evalmetrics_acc_t *acc, const uint32_t *ranked, size_t nranked,
                        const uint32_t *rel, size_t nrel, err_t *err);
/* Averages so far (all zero when no user was added). */
void evalmetrics_acc_result(const evalmetrics_acc_t *acc, evalmetrics_ranking_t *out);

/* Rating error accumulator. */
typedef struct evalmetrics_rating_acc {
    double lo, hi; /* clip range of predictions */
    double sum_sq, sum_abs;
    size_t n;
} evalmetrics_rating_acc_t;

void evalmetrics_rating_init(evalmetrics_rating_acc_t *acc, double lo, double hi);
/* Adds one pair; a NaN prediction counts as the middle of [lo, hi]. */
void evalmetrics_rating_add(evalmetrics_rating_acc_t *acc, double predicted, double truth);
void evalmetrics_rating_result(const evalmetrics_rating_acc_t *acc, evalmetrics_rating_t *out);

#endif
