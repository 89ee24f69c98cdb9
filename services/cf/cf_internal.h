/*
 * cf_internal.h: what the files of the CF library share but the service
 * need not see: model allocation and ownership, the confidence function,
 * the fold-in solves.
 */
#ifndef RECSYS_CF_INTERNAL_H
#define RECSYS_CF_INTERNAL_H

#include <math.h>
#include <stdbool.h>

#include "common/data/feedback.h"

#include "services/cf/cf_model.h"

/* A model of kind with one reference and nothing set. */
cf_model_t *cf_model_alloc(cf_kind_t kind, uint32_t n_users, uint32_t n_items, uint32_t dim);
/* calloc'ed memory owned (freed) by the model; NULL when out of memory or
 * out of ownership slots. */
void *cf_model_calloc(cf_model_t *m, size_t n, size_t size);
/* Copies d's user x item matrix, popularity and rating range into m. */
int cf_model_take_data(cf_model_t *m, const cf_data_t *d, err_t *err);
/* 1 / |row| for every row of item_f into item_inv_norm (allocated). */
int cf_model_item_norms(cf_model_t *m, err_t *err);
/* The int8 copy of item_f for screening (cf_screen.c), when it pays: ALS
 * and MF with many items. Silently skipped when it cannot be built. */
void cf_model_screen_init(cf_model_t *m);
/* scores (n_items) for the user vector u (the factor part; bias: MF's item
 * biases or NULL): the exact float score of every item that could be among
 * the best k under tf, -INFINITY for the others. Returns 1, with scores
 * unspecified, when the model has no screen or k is too large for it to
 * pay; the caller then scores every item. */
int cf_screen_scores(const cf_model_t *m, const float *u, const float *bias, const topk_filter_t *tf, size_t k,
                     float *scores);

/* Neighbourhood scoring (cf_knn.c). Work floats cf_knn_scores needs. */
size_t cf_knn_work_floats(const cf_model_t *m);
/* scores (n_items) of the history (items, vals: n) for an itemknn or
 * userknn model; self: the known user left out of userknn's neighbours
 * (CF_NO_USER: none). Returns -1 for another kind. */
int cf_knn_scores(const cf_model_t *m, const uint32_t *items, const float *vals, size_t n, uint32_t self,
                  float *work, float *sc);
/* S[a][b] of an itemknn model (0 when b is not among a's neighbours). */
float cf_knn_item_sim(const cf_model_t *m, uint32_t a, uint32_t b);
/* Negative feedback (common/data/feedback.h): whether a history value of m
 * (a rating; a DISLIKE arrives as FEEDBACK_DISLIKE_RATING) is evidence
 * against its item. Only on a rating scale (an implicit model's values of 1
 * are views, not one-star ratings). */
static inline bool cf_value_negative(const cf_model_t *m, float v)
{
    return feedback_scale_has_negatives(m->rmax) && feedback_rating_negative(v);
}

/* The weight of a history value in an additive model's sum over the
 * history (EASE and item-kNN scoring, user-kNN's history vector, the
 * cold-item profile): 1 (binary) or the rating for a positive item; for a
 * negative one minus feedback_negative_strength times
 * FEEDBACK_NEGATIVE_SCALE times what a top rating weighs (1 or rmax), so
 * the items tied to a disliked item move down (a 1-star: -0.5 next to a
 * 5-star's +5; common/data/feedback.h says why a tenth). */
static inline float cf_history_weight(const cf_model_t *m, int binary, float v)
{
    if (cf_value_negative(m, v))
        return -feedback_negative_strength(v) * FEEDBACK_NEGATIVE_SCALE * (binary ? 1.0f : m->rmax);
    return binary ? 1.0f : v;
}

static inline float cf_ease_weight(const cf_model_t *m, float v)
{
    return cf_history_weight(m, m->params.ease.binary, v);
}

static inline float cf_als_conf(const cf_als_params_t *p, float r)
{
    if (p->binary)
        r = 1.0f;
    if (p->conf == CF_CONF_LOG)
        return 1.0f + p->alpha * log1pf(r / p->eps);
    return 1.0f + p->alpha * r;
}

/* ALS fold-in: the exact solution of the user's normal equations
 * (gram + reg I + sum (c - 1) y y^T) x = sum c p y over the n items, p = 1
 * for a positive item, 0 for a negative one (cf_value_negative; its
 * confidence that of the rating feedback_negative_strength * rmax: a 1-star
 * as certain as a 5-star).
 * work: (dim * dim + dim) doubles + dim * dim floats. */
int cf_als_fold_in(const cf_model_t *m, const uint32_t *items, const float *values, size_t n, float *x,
                   double *work, float *fwork);
/* MF fold-in of (b_u, p_u) into out (dim + 1 floats): the same regularised
 * solve as one training step. work: (dim + 1)^2 + (dim + 1) doubles. */
int cf_mf_fold_in(const cf_model_t *m, const uint32_t *items, const float *values, size_t n, float *out,
                  double *work);

#endif
