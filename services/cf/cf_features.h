/*
 * cf_features.h: scores for items CF has no behaviour for (cold items), by
 * letting behaviour inform the item features, as LightFM's hybrid does.
 *
 * Item features are binary: a bias, one per genre, and one release-year
 * bucket (buckets are made from the catalog's years, latest first: a year
 * closes a bucket once it holds at least year_items items, so busy recent
 * years get one bucket each and sparse old years share one). Items with at
 * least min_ratings training ratings are warm. On the warm items a ridge
 * regression maps features to what the CF model knows of an item:
 *     W = (F^T F + mu I)^-1 F^T T        (closed form, LAPACK dposv)
 * with T the item's column of EASE's B (what each history item adds to its
 * score), its ALS factors, its MF bias and factors, or log(1 + count) for
 * popularity. A cold item j then gets the CF score the model would give an
 * item whose column / factors are W^T f_j. Since f_j is binary, a user's
 * scores come from one profile over the features:
 *     ease  z = sum over the history of w_h W[h, :]   (w_h as in scoring)
 *     als   z = W p_u,  mf  z = W (1, p_u)             (p_u: the user vector)
 *     empty history or pop: z = the popularity map (same for everyone)
 * plus, with pop > 0, pop * (sd of z's item scores / sd of the popularity
 * map's) * the popularity map: a feature-predicted popularity prior whose
 * weight does not depend on the scale of the user's scores.
 * and score(u, j) = sum of z over j's features. The map is read-only once
 * built; profiles use the caller's cf_scratch_t, so threads may share it.
 */
#ifndef RECSYS_CF_FEATURES_H
#define RECSYS_CF_FEATURES_H

#include <stddef.h>
#include <stdint.h>

#include "common/base/config.h"
#include "common/base/err.h"
#include "services/cf/cf_model.h"

typedef struct cf_featmap_params {
    float mu;                /* ridge penalty of the regression (> 0) */
    uint32_t year_items;     /* items that close a year bucket (0: no year features) */
    uint32_t min_ratings;    /* training ratings that make an item warm (>= 1) */
    float pop;               /* weight of the popularity map in a personal profile (>= 0) */
} cf_featmap_params_t;

/* Options: cf-feat-mu, cf-feat-year-items, cf-feat-pop, cf-feat-min-ratings. */
extern const cfg_option_t cf_featmap_options[];
/* Defaults chosen on a cold-item validation split (bench/README.md). */
void cf_featmap_params_default(cf_featmap_params_t *p);
int cf_featmap_params_from_cfg(const cfg_t *cfg, cf_featmap_params_t *p, err_t *err);

typedef struct cf_featmap cf_featmap_t;

/* Fits the map of model m (which must hold the catalog's genres and years:
 * cf_model_set_catalog) on its warm items. The map borrows nothing from m
 * after the call except what scoring passes in again. -1 when m has no
 * genres, no item is warm, or out of memory. */
int cf_featmap_build(const cf_model_t *m, const cf_featmap_params_t *p, cf_featmap_t **out,
                     err_t *err);
void cf_featmap_free(cf_featmap_t *f);

uint32_t cf_featmap_nfeatures(const cf_featmap_t *f);
uint32_t cf_featmap_nitems(const cf_featmap_t *f);
/* 1 when the item had at least min_ratings training ratings. */
int cf_featmap_is_warm(const cf_featmap_t *f, uint32_t item);
/* The item's active features (indices < nfeatures, ascending) into idx
 * (room for nfeatures); returns how many. Feature 0 is the bias, 1..G the
 * genres, then the year buckets. */
size_t cf_featmap_item_features(const cf_featmap_t *f, uint32_t item, uint32_t *idx);
/* Year bucket of a year (0-based), or -1 for an unknown year / no buckets. */
int cf_featmap_year_bucket(const cf_featmap_t *f, int year);

/* The feature profile z (nfeatures floats) of who against model m (the
 * model the map was built from). */
int cf_featmap_profile(const cf_featmap_t *f, const cf_model_t *m, cf_scratch_t *s,
                       const cf_who_t *who, float *z, err_t *err);
/* score(item) = sum of z over the item's features. */
float cf_featmap_score(const cf_featmap_t *f, const float *z, uint32_t item);
/* Profile + score of n items (any item, warm or cold) into scores. */
int cf_featmap_score_items(const cf_featmap_t *f, const cf_model_t *m, cf_scratch_t *s,
                           const cf_who_t *who, const uint32_t *items, size_t n, float *scores,
                           err_t *err);
/* Every item's score for who into out (n_items floats): the model's own
 * score (cf_score_all) for warm items, the feature map's for cold ones. */
int cf_featmap_score_all(const cf_featmap_t *f, const cf_model_t *m, cf_scratch_t *s,
                         const cf_who_t *who, float *out, err_t *err);
/* The same for a caller that selects the best k (k > 0) under filter:
 * warm items that cannot be among them may get -INFINITY (cf_score_all_top). */
int cf_featmap_score_top(const cf_featmap_t *f, const cf_model_t *m, cf_scratch_t *s, const cf_who_t *who,
                         const filter_t *filter, size_t k, float *out, err_t *err);

#endif
