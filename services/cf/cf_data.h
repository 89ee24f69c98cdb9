/*
 * cf_data.h: the interaction matrix every CF model trains on.
 *
 * Rows are users (dense indices of a user idmap), columns are items (dense
 * indices of the catalog), values are the raw ratings; each model turns them
 * into what it needs (ALS: confidence, EASE: 1 or the rating, MF: residuals).
 * Both orientations are kept because ALS alternates between them. A subset
 * of a ratings store (the evaluator's train part, a validation carve-out)
 * is chosen with a keep mask, so no copy of the store is needed.
 */
#ifndef RECSYS_CF_DATA_H
#define RECSYS_CF_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "common/base/err.h"
#include "common/data/ratings.h"
#include "common/math/sparse.h"

typedef struct cf_data {
    uint32_t n_users, n_items;
    sparse_csr_t by_user; /* n_users x n_items */
    sparse_csr_t by_item; /* the transpose */
    float rmin, rmax;     /* range of the values (0, 0 when empty) */
} cf_data_t;

/* From a ratings store over n_users x n_items (0: take the store's user map
 * size / the largest item index + 1). keep (one byte per rating, NULL: all)
 * selects the ratings to use. A (user, item) pair given twice is summed. */
int cf_data_from_ratings(cf_data_t *d, const ratings_t *r, uint32_t n_users, uint32_t n_items,
                         const uint8_t *keep, err_t *err);
/* From n parallel (user, item, value) arrays. */
int cf_data_from_triplets(cf_data_t *d, uint32_t n_users, uint32_t n_items, const uint32_t *users,
                          const uint32_t *items, const float *values, size_t n, err_t *err);
void cf_data_free(cf_data_t *d);

#endif
