/*
 * content_model.h: the content-based model (TF-IDF item vectors, item
 * neighbours, profile scoring), as a library the service, the evaluator and
 * the CLI share.
 *
 * Life cycle: content_model_build() from a catalog, or content_model_load()
 * from a model file (memory-mapped, validated); content_model_save() writes
 * one. A model is immutable once made, so any number of threads may query it
 * at once, each with its own content_scratch_t (per-call working memory that
 * grows to the largest model it has served and survives model swaps). A
 * service swaps models with a reference count: readers take
 * content_model_retain() on the current model for the length of a request
 * and content_model_release() after it; the swapper publishes the new model
 * and releases its own reference on the old one, which is freed when the
 * last request using it ends.
 *
 * Item vectors. Each item's tokens, per field, prefixed with the field so
 * that "drama" the genre and "drama" the word are different terms:
 *   g:<genre>     genre names (whole name, lower-cased)
 *   k:<keyword>   TMDB keywords (whole name, lower-cased)
 *   u:<tag>       MovieLens user tags (whole tag, lower-cased; tf = times applied)
 *   c:<name>      the first max_cast cast names, in billing order
 *   d:<name>      directors
 *   o:<stem>      overview words: lower-cased, CountVectorizer tokens
 *                 (two or more word characters), English stop words dropped,
 *                 Porter-stemmed (NLTK mode)
 *   t:<stem>      title words, the same way (the "(1995)" year included,
 *                 since it is a token of the title; a cheap era signal)
 * Weight of term t in item i: w_field * (1 + ln tf) * idf(t), with
 * idf(t) = ln((1 + N) / (1 + df(t))) + 1 (scikit-learn's smooth idf), then
 * the row is scaled to unit L2 norm. Terms seen in fewer than min_df items
 * are dropped before weighting. Terms are numbered in code-point order.
 *
 * Neighbours: the top `neighbours` items by cosine (= dot of unit vectors)
 * of every item, ties to the lower item index, items with similarity 0
 * never listed. Computed through the inverted index (terms x items): for
 * item i, acc[j] += v_it * v_jt over i's terms t and the items j holding t,
 * then a top-k over acc; threads split the items. Cost is sum over terms of
 * df(t)^2, never an N x N matrix.
 *
 * Profiles and scoring: see content_score_history().
 */
#ifndef RECSYS_SERVICES_CONTENT_MODEL_H
#define RECSYS_SERVICES_CONTENT_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/data/catalog.h"
#include "common/base/config.h"
#include "common/base/err.h"
#include "common/math/sparse.h"
#include "common/wire/filter.h"

#define CONTENT_MODEL_KIND "content-tfidf"
#define CONTENT_NONE UINT32_MAX

typedef enum {
    CONTENT_F_GENRE = 0,
    CONTENT_F_KEYWORD,
    CONTENT_F_TAG,
    CONTENT_F_CAST,
    CONTENT_F_DIRECTOR,
    CONTENT_F_OVERVIEW,
    CONTENT_F_TITLE,
    CONTENT_NFIELDS
} content_field_t;

typedef struct content_params {
    float weight[CONTENT_NFIELDS]; /* per-field multiplier; 0 drops the field */
    uint32_t max_cast;             /* cast names per item (billing order) */
    uint32_t min_df;               /* drop terms in fewer items than this */
    uint32_t neighbours;           /* top-N neighbours kept per item (0: none) */
    uint32_t threads;              /* neighbour build threads (>= 1) */
} content_params_t;

/* Options of this module (content-w-genre ... content-threads). */
extern const cfg_option_t content_options[];
void content_params_default(content_params_t *p);
/* Fills p from a parsed configuration holding content_options. */
void content_params_from_cfg(const cfg_t *cfg, content_params_t *p);
/* "g", "k", "u", "c", "d", "o", "t": the term prefix of a field. */
const char *content_field_prefix(content_field_t f);

typedef struct content_model content_model_t;

/* ---- making, saving, loading */

/* Builds vectors and neighbours from a finished catalog. */
int content_model_build(const catalog_t *cat, const content_params_t *p, content_model_t **out,
                        err_t *err);
/* Writes the model to path (path.tmp, fsync, rename). */
int content_model_save(const content_model_t *m, const char *path, err_t *err);
/* Maps a model file and validates it; a corrupt or foreign file is refused
 * with a message starting with the path. */
int content_model_load(const char *path, content_model_t **out, err_t *err);
/* The same over a buffer (tests, fuzzing); the buffer is copied. */
int content_model_load_mem(const void *buf, size_t len, const char *name, content_model_t **out,
                           err_t *err);

/* A new model starts with one reference; release frees at zero. Both are
 * thread-safe. */
content_model_t *content_model_retain(content_model_t *m);
void content_model_release(content_model_t *m);

/* ---- what the model holds */

uint32_t content_model_size(const content_model_t *m);  /* items */
uint32_t content_model_nterms(const content_model_t *m);
const char *content_model_version(const content_model_t *m);
const content_params_t *content_model_params(const content_model_t *m);
/* Bytes of the model file (mapped or in memory). */
uint64_t content_model_bytes(const content_model_t *m);
/* Item index of an external id, or CONTENT_NONE (binary search). */
uint32_t content_model_find(const content_model_t *m, const char *id, size_t len);
const char *content_model_id(const content_model_t *m, uint32_t item);
const char *content_model_title(const content_model_t *m, uint32_t item);
int content_model_year(const content_model_t *m, uint32_t item);
uint64_t content_model_genre_mask(const content_model_t *m, uint32_t item);
uint32_t content_model_ngenres(const content_model_t *m);
const char *content_model_genre_name(const content_model_t *m, uint32_t genre);
/* Genre id of a name (exact, case-sensitive), or CONTENT_NONE. */
uint32_t content_model_genre_find(const content_model_t *m, const char *name);
/* The term string of term id t ("g:drama"), its document frequency and idf. */
const char *content_model_term(const content_model_t *m, uint32_t t);
uint32_t content_model_term_df(const content_model_t *m, uint32_t t);
float content_model_term_idf(const content_model_t *m, uint32_t t);
/* Term id of a string, or CONTENT_NONE (binary search). */
uint32_t content_model_term_find(const content_model_t *m, const char *term);
/* The item's unit vector (term ids, weights). */
sparse_view_t content_model_vector(const content_model_t *m, uint32_t item);
/* The stored neighbour list of item: *n entries, best first. */
void content_model_neighbours(const content_model_t *m, uint32_t item, const uint32_t **idx,
                              const float **score, uint32_t *n);

/* ---- queries */

typedef struct content_scratch content_scratch_t;
content_scratch_t *content_scratch_new(void);
void content_scratch_free(content_scratch_t *s);

/* What a caller may ask to leave out is a filter_t (common/wire/filter.h:
 * genres, years, excluded items; all zero = no filter), the same predicate
 * the gateway and the CF worker apply. include_seen is the caller's
 * business here: histories are always left out of history scoring. */

typedef struct content_hit {
    uint32_t item;
    float score;
    uint32_t because; /* history position that contributed most (largest
                       * w_h * similarity), or CONTENT_NONE when none
                       * contributed positively (and for similar items) */
} content_hit_t;

/* Items most similar to `item`, best first, at most k, never item itself.
 * From the stored neighbour list when it can answer: k <= its length and,
 * after filters, k items remain (or the list held every item with a
 * non-zero similarity). Otherwise computed on the fly against all items
 * through the inverted index (same scores, same order). Only items with a
 * positive similarity are returned. Returns the count, or -1 (item out of
 * range, out of memory). */
long content_similar(const content_model_t *m, uint32_t item, size_t k, const filter_t *f,
                     content_scratch_t *s, content_hit_t *out, err_t *err);

/* One history event. rating: the user's rating; NAN for an implicit event
 * (a view, a click), which has no rating. */
typedef struct content_event {
    uint32_t item;
    float rating;
} content_event_t;

typedef struct content_query {
    size_t k;
    filter_t filter;
    bool include_history;   /* false (default): history items never returned */
    float implicit_weight;  /* weight of an implicit event (0 -> 1.0) */
    const uint32_t *candidates; /* score only these (NULL: all items) */
    size_t n_candidates;
    bool no_explain;        /* true: leave `because` CONTENT_NONE and skip its
                             * hits x history sparse dots (most of the cost of
                             * a long history when nobody asked why) */
} content_query_t;

/*
 * Scores a history. Profile = sum over events h of w_h * v_h, where
 *   w_h = rating_h - mean(ratings of the history's rated events)  (rated)
 *   w_h = implicit_weight                                          (implicit)
 * When every w_h is 0 (a single rating, or all ratings equal and no implicit
 * event), the uncentred weights are used instead: w_h = rating_h when it is
 * positive, else 1; so one rating still gives a profile. A repeated item
 * counts once per event. Negative events (common/data/feedback.h: rating
 * <= 2) are left out of the above (the others are weighted as without
 * them) and weigh
 *   w_h = -feedback_negative_strength(rating_h) * FEEDBACK_NEGATIVE_SCALE
 *         * mean |w| of the others (1 when there are none):
 * evidence against, never for, even alone, so items close to a disliked one
 * move down; a negative event is never a `because`.
 * score(j) = profile . v_j / sum_h |w_h|, in [-1, 1].
 * Candidates: all items (through the inverted index: only items sharing a
 * term with the profile can score non-zero; the others score 0 and rank by
 * index after them) or the given list (unknown indices are an error).
 * Top-k by score, ties to the lower index, with the filter and (unless
 * include_history) the history excluded. For each hit, `because` is the
 * history position h with the largest w_h * (v_h . v_j).
 * Returns the count, or -1 (empty history, bad index, out of memory).
 */
long content_score_history(const content_model_t *m, const content_event_t *hist, size_t n_hist,
                           const content_query_t *q, content_scratch_t *s, content_hit_t *out,
                           err_t *err);

#endif
