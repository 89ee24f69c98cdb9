/*
 * cf_model.h: the collaborative-filtering models of recsys-cf, as a library.
 *
 * One model type, cf_model_t, holds any of the four kinds:
 *   als   implicit-feedback ALS (Hu, Koren, Volinsky 2008), confidence
 *         1 + alpha * r (or 1 + alpha * log(1 + r / eps)), solved per row by
 *         a few warm-started conjugate-gradient steps (Takacs et al. 2011,
 *         as implicit's "cg" solver); scores are user . item factors.
 *   ease  EASE (Steck 2019): B = -P / diag(P), P = (X^T X + lambda I)^-1,
 *         diag(B) = 0, scores = x_u B. Dense items x items (4 n^2 bytes,
 *         ~n^3 flops), so auto picks it only within cf-ease-max-bytes and
 *         cf-ease-max-seconds (cf_auto_kind).
 *   mf    explicit biased matrix factorisation r = mu + b_u + b_i + p_u . q_i
 *         (ALS with weighted-lambda regularisation) for rating prediction,
 *         predictions clipped to the training range; it can also rank.
 *   pop   popularity: training ratings per item (the fallback).
 *   itemknn  item-based neighbourhood CF (cf_knn.c): a sparse top-k
 *         item-item cosine matrix S with shrinkage; scores = sum over the
 *         history of w_h * S[h].
 *   userknn  user-based neighbourhood CF: the k training users nearest to
 *         the history (cosine with shrinkage), scores = sum of their rows
 *         weighted by similarity.
 * Every kind also keeps the training matrix (users' histories: seen items,
 * EASE's input, fold-in of known users) and the popularity counts, and
 * optionally the user and item external ids and the items' genres and years
 * for filters.
 *
 * Threads: a trained or loaded model is read-only. Scoring functions take a
 * per-thread cf_scratch_t, so any number of threads may score one model at
 * once. A service swapping models on reload keeps a counted reference:
 * cf_model_retain() by each request, cf_model_release() when done; the last
 * release frees (and unmaps a loaded file).
 *
 * Fold-in: a history (unknown user, or a known user plus new events, a new
 * event overriding the stored rating of its item) becomes a user vector by
 * one small regularised least-squares solve against the fixed item factors
 * (ALS: the confidence-weighted normal equations; MF: bias and factors);
 * EASE needs none (scores = x B).
 */
#ifndef RECSYS_CF_MODEL_H
#define RECSYS_CF_MODEL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "common/wire/filter.h"
#include "common/data/catalog.h"
#include "common/base/config.h"
#include "common/base/err.h"
#include "common/data/idmap.h"
#include "common/wire/modelfile.h"
#include "common/math/sparse.h"
#include "common/math/topk.h"
#include "common/math/vecq8.h"
#include "services/cf/cf_data.h"

#define CF_NO_USER UINT32_MAX
#define CF_MODEL_FORMAT "cf-1"

typedef enum {
    CF_KIND_AUTO = 0,
    CF_KIND_POP,
    CF_KIND_ALS,
    CF_KIND_EASE,
    CF_KIND_MF,
    CF_KIND_ITEMKNN,
    CF_KIND_USERKNN
} cf_kind_t;
typedef enum { CF_CONF_LINEAR = 0, CF_CONF_LOG } cf_conf_t;

typedef struct cf_als_params {
    uint32_t factors, iterations, cg_steps, threads;
    float reg, alpha, eps; /* eps: scale of the log confidence */
    cf_conf_t conf;
    int binary;            /* r = 1 for every interaction */
    uint64_t seed;
} cf_als_params_t;

typedef struct cf_ease_params {
    float lambda;
    int binary; /* X = 1 per interaction (else the rating) */
} cf_ease_params_t;

typedef struct cf_mf_params {
    uint32_t factors, iterations, threads;
    float reg, bias_reg; /* times n^reg_exp, n the row's rating count */
    float reg_exp;       /* 1: weighted lambda (ALS-WR), 0: plain ridge */
    uint64_t seed;
} cf_mf_params_t;

/* Neighbourhood CF (cf_knn.c): cosine with shrinkage,
 * sim(a, b) = a . b / (|a| |b| + shrink), over the columns (itemknn) or rows
 * (userknn) of X, X = 1 per interaction (binary) or the rating. */
typedef struct cf_knn_params {
    uint32_t k;      /* itemknn: neighbours kept per item; userknn: per request */
    float shrink;
    int binary;
    uint32_t threads; /* training threads (the result does not depend on it) */
} cf_knn_params_t;

typedef struct cf_params {
    cf_kind_t kind;          /* AUTO: EASE when it fits the budget below, else ALS */
    uint64_t ease_max_bytes; /* auto: EASE's peak training memory at most this */
    double ease_max_seconds; /* auto: EASE's estimated training time at most this */
    cf_als_params_t als;
    cf_ease_params_t ease;
    cf_mf_params_t mf;
    cf_knn_params_t itemknn, userknn;
} cf_params_t;

typedef struct cf_model {
    cf_kind_t kind;
    uint32_t n_users, n_items, dim;
    /* als, mf */
    const float *user_f;   /* n_users x dim */
    const float *item_f;   /* n_items x dim */
    const float *item_inv_norm; /* n_items: 1 / |item_f row| (0 for a zero row) */
    const float *gram;     /* als: dim x dim item_f^T item_f, for fold-in */
    /* mf */
    float mu;
    const float *user_bias, *item_bias;
    /* ease */
    const float *ease_b;   /* n_items x n_items, row j: what item j adds to each score */
    /* itemknn: n_items x n_items, row i = i's k neighbours (sim > 0) by
     * column; userknn: n_items x n_users, X^T with the knn weights */
    sparse_csr_t knn;
    const float *knn_norm; /* userknn: n_users, |row u of X| */
    /* every kind */
    sparse_csr_t hist;     /* n_users x n_items training ratings */
    const float *pop;      /* n_items: training ratings per item */
    float rmin, rmax;      /* range of the training ratings */
    const uint64_t *genre_mask; /* n_items, NULL unless cf_model_set_catalog() */
    const int32_t *year;        /* n_items, 0 = unknown; NULL likewise */
    idmap_t *user_ids, *item_ids; /* NULL unless set */
    cf_params_t params;
    double fit_seconds;
    char version[MODELFILE_VERSION_MAX + 1];
    /* private */
    vecq8_rows_t screen;   /* int8 copy of item_f (cf_screen.c); q NULL: none */
    modelfile_t *file;
    void *owned[16];
    atomic_int refs;
} cf_model_t;

/* ---- parameters and options */

/* Defaults: chosen on a validation split carved from ml-100k ua.base
 * (bench/README.md, section recsys-cf). */
void cf_params_default(cf_params_t *p);
/* Options: cf-model, cf-factors, cf-iterations, cf-reg, cf-alpha, ... */
extern const cfg_option_t cf_options[];
int cf_params_from_cfg(const cfg_t *cfg, cf_params_t *p, err_t *err);
const char *cf_kind_name(cf_kind_t kind); /* "auto", "pop", "als", "ease", "mf", "itemknn", "userknn" */
int cf_kind_parse(const char *s, cf_kind_t *out, err_t *err);
/* EASE's cost model for the auto choice (deterministic: a function of the
 * sizes only). Peak training bytes: the items x items float matrix, the
 * copy of the history and the popularity. Estimated seconds: the Cholesky
 * factorisation and inverse, n^3 flops at CF_EASE_FLOPS (measured on the
 * 2-core reference machine, bench/cf_knn.md), plus the Gram accumulation. */
#define CF_EASE_FLOPS 1.0e11
uint64_t cf_ease_peak_bytes(uint32_t n_items, uint32_t n_users, uint64_t nnz);
double cf_ease_est_seconds(uint32_t n_items, uint64_t pair_count);
/* The kind cf_train trains for p->kind == AUTO on d: EASE when both its
 * peak bytes and estimated seconds fit p's budget, else ALS. */
cf_kind_t cf_auto_kind(const cf_params_t *p, const cf_data_t *d);

/* ---- training (the result has one reference) */

/* The kind of p (AUTO resolved by the catalog size). */
int cf_train(const cf_data_t *d, const cf_params_t *p, cf_model_t **out, err_t *err);
int cf_train_als(const cf_data_t *d, const cf_als_params_t *p, cf_model_t **out, err_t *err);
int cf_train_ease(const cf_data_t *d, const cf_ease_params_t *p, cf_model_t **out, err_t *err);
int cf_train_mf(const cf_data_t *d, const cf_mf_params_t *p, cf_model_t **out, err_t *err);
int cf_train_pop(const cf_data_t *d, cf_model_t **out, err_t *err);
int cf_train_itemknn(const cf_data_t *d, const cf_knn_params_t *p, cf_model_t **out, err_t *err);
int cf_train_userknn(const cf_data_t *d, const cf_knn_params_t *p, cf_model_t **out, err_t *err);

/* Copies the user ids (users may be NULL), the item ids, genres and years of
 * the catalog (cat may be NULL) into the model: before saving, so that a
 * service can map external ids and filter without the dataset. Sizes must
 * not exceed the model's. */
int cf_model_set_catalog(cf_model_t *m, const idmap_t *users, const catalog_t *cat, err_t *err);

/* Bytes of an itemknn / userknn model's neighbour arrays (0 for other kinds). */
uint64_t cf_knn_bytes(const cf_model_t *m);

cf_model_t *cf_model_retain(cf_model_t *m);
void cf_model_release(cf_model_t *m);

/* ---- files */

/* Writes the model (kind "cf-als", "cf-ease", "cf-mf", "cf-pop"; version
 * m->version, or one made from the time when empty). */
int cf_model_save(const cf_model_t *m, const char *path, err_t *err);
/* Maps and validates a model file; arrays point into the mapping. */
int cf_model_load(const char *path, cf_model_t **out, err_t *err);

/* ---- scoring: the model is read-only, the scratch is per thread */

typedef struct cf_scratch cf_scratch_t;
cf_scratch_t *cf_scratch_new(void);
void cf_scratch_free(cf_scratch_t *s);

/* One event of a history sent with a request. */
typedef struct cf_event {
    uint32_t item;
    float value; /* the rating (1 for a click or a view) */
} cf_event_t;

/* Who to score: a known user (or CF_NO_USER) and/or extra events. */
typedef struct cf_who {
    uint32_t user;
    const cf_event_t *events;
    size_t n_events;
} cf_who_t;

/* Filters are common/wire/filter.h's filter_t (genres, years, excluded
 * items, include_seen: items of the history allowed). This is its keep
 * callback over the model's genre masks and years, for every CF scoring
 * path (common/math/topk.h). */
static inline filter_keep_t cf_filter_keep_ctx(const cf_model_t *m, const filter_t *f)
{
    return (filter_keep_t){f, m->genre_mask, m->year};
}

/* Top-k items for who (filter may be NULL) into out (room for k), best
 * first, ties to the lower index. Without any history a model answers with
 * popularity. Returns the count, or -1 (bad user or item index, no memory).
 * *history_used (optional) gets the events and known ratings used. */
long cf_recommend(const cf_model_t *m, cf_scratch_t *s, const cf_who_t *who, const filter_t *filter,
                  size_t k, topk_item_t *out, size_t *history_used, err_t *err);
/* Scores of the given items (any order, repeats allowed) for who. */
int cf_score_items(const cf_model_t *m, cf_scratch_t *s, const cf_who_t *who, const uint32_t *items, size_t n,
                   float *scores, err_t *err);
/* Scores of every item for who into s's buffer (n_items floats, valid until
 * the next call with s): the evaluator's hook. */
const float *cf_score_all(const cf_model_t *m, cf_scratch_t *s, const cf_who_t *who, size_t *history_used,
                          err_t *err);
/* The same for a caller that selects the best k under filter f, among the
 * items set in allow (NULL: all): items that cannot be among them may get
 * -INFINITY instead of their score (the int8 screen, cf_screen.c), which
 * never changes that top k. */
const float *cf_score_all_top(const cf_model_t *m, cf_scratch_t *s, const cf_who_t *who, const filter_t *f,
                              const uint64_t *allow, size_t k, size_t *history_used, err_t *err);
/* Items most similar to item by behaviour (cosine of the factors for
 * als/mf, B's row for ease, the neighbour list for itemknn (at most its k
 * neighbours), co-occurrence cosine for pop and userknn), item excluded. */
long cf_similar(const cf_model_t *m, cf_scratch_t *s, uint32_t item, const filter_t *filter, size_t k,
                topk_item_t *out, err_t *err);
/* Predicted ratings of items for who (mf only), clipped to [rmin, rmax]. */
int cf_predict(const cf_model_t *m, cf_scratch_t *s, const cf_who_t *who, const uint32_t *items, size_t n,
               float *out, err_t *err);
/* The user vector of who (als, mf: dim floats, mf with the bias first, so
 * dim + 1) by fold-in, or the trained one for a known user without events. */
int cf_user_vector(const cf_model_t *m, cf_scratch_t *s, const cf_who_t *who, float *out, err_t *err);
/* The history item that contributed most to item's score for who
 * (explanations), or CF_NO_USER when there is none. */
uint32_t cf_explain(const cf_model_t *m, cf_scratch_t *s, const cf_who_t *who, uint32_t item);

#endif
