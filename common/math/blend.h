/*
 * blend.h: the hybrid blend: fuses the content model's, the CF model's and
 * the popularity model's answers for one request into one ranked list. The
 * gateway and the evaluator (tools/recsys-eval) call exactly this code.
 *
 * Inputs: up to three lists (content, cf, popularity) of (key, score); keys
 * are item identities (dense item indices, or any uint32 the caller maps its
 * string ids to), unique within a list; scores are finite, higher is better,
 * in each model's own scale; lists may come in any order and be of any
 * length (a top-N, or every candidate). An empty list means "this model has
 * nothing" (no history, model down, cold items for CF).
 *
 * 1. Weights (w_content, w_cf, w_pop):
 *    - a per-request override (proto BlendWeights) is used as given when
 *      present and not all zero (negative or non-finite: an error);
 *    - otherwise the policy. For a new user (known to no model: an
 *      anonymous history, or a user id the training data does not have),
 *      by the history length n (callers count the events that are not
 *      negative feedback, common/data/feedback.h: a dislike says little
 *      about what the user likes, so it does not shorten popularity's
 *      share):
 *        w_cf = n / (n + n0),  w_content = n0 / (n + n0),
 *        w_pop = popularity * exp(-n / d)   (d = pop_decay; d = 0: popularity)
 *      so short histories lean on content and popularity, long ones on CF.
 *      For a known user, whom CF was trained on: CF alone {0, 1, 0} (any
 *      content or popularity weight measured below CF on R1 validation).
 *    Under the policy, when one of content and CF has an empty list the other
 *    takes the whole personal share (w_content + w_cf = 1), so popularity
 *    keeps its weight relative to "personal". Otherwise (overrides) a source
 *    whose list is empty gets weight 0. When no source with a list
 *    has weight left, popularity alone is used (weight 1) when its list is
 *    non-empty: popularity when both models have nothing. Weights are then
 *    scaled to sum to 1 (ranking is unchanged by the scale).
 * 2. Each list is normalised on its own entries:
 *      BLEND_MINMAX  (s - min) / (max - min) in [0, 1]; 1 when max == min
 *      BLEND_ZSCORE  (s - mean) / stddev; 0 when stddev == 0
 *      BLEND_RRF     reciprocal rank (k0 + 1) / (k0 + rank), rank 1-based in
 *                    the list (score descending, ties to the lower key), so
 *                    the top item gets 1 (plain RRF scaled by k0 + 1)
 *      BLEND_MAX     s / max|s| in [-1, 1] (score-level: keeps the gaps
 *                    between a model's scores); 0 when every score is 0
 * 3. An item missing from a list gets that list's floor: the worst
 *    normalised value of the list (0 for MINMAX and RRF, the minimum
 *    normalised value for ZSCORE and MAX): "not in the list" ranks as
 *    "at most as good as its last item". Its reported per-source score is
 *    that floor (0 for an empty list) and its presence bit is clear, so an
 *    item's score is always sum over s of w_s * source[s].
 *    Items present only in lists of weight 0 are not returned.
 * 4. score = sum over sources of w_s * normalised_s; top-k by score
 *    descending, ties to the lower key. Deterministic: the same input gives
 *    the same output whatever the list orders.
 *
 * Memory: no allocation; the caller gives a workspace of
 * blend_workspace_bytes(total list entries, k) bytes (reusable across calls,
 * one per thread).
 */
#ifndef RECSYS_COMMON_BLEND_H
#define RECSYS_COMMON_BLEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/base/config.h"
#include "common/base/err.h"

typedef enum { BLEND_CONTENT = 0, BLEND_CF = 1, BLEND_POPULARITY = 2, BLEND_NSOURCES = 3 } blend_source_t;

typedef enum { BLEND_MINMAX = 0, BLEND_ZSCORE = 1, BLEND_RRF = 2, BLEND_MAX = 3 } blend_method_t;

/* Mirrors proto recsys.v1.BlendWeights. */
typedef struct blend_weights {
    float content, cf, popularity;
} blend_weights_t;

typedef struct blend_params {
    blend_method_t method;
    float n0;         /* history length at which content and CF weigh the same (> 0) */
    float popularity; /* popularity's weight next to content + cf = 1 (>= 0),
                       * for an empty history */
    float pop_decay;  /* d: popularity's weight is popularity * exp(-n / d)
                       * for a history of n (0: constant) */
    float similar_content;    /* SimilarItems blend mode: content's weight next to CF's 1 */
    float similar_popularity; /* ... and popularity's */
    float rrf_k;      /* RRF constant k0 (>= 0) */
    size_t depth;     /* entries of each source's list fused (callers ask the
                       * models for max(depth, k)); the evaluator and the
                       * gateway use the same value */
} blend_params_t;

typedef struct blend_list {
    const uint32_t *keys;
    const float *scores;
    size_t n;
} blend_list_t;

typedef struct blend_item {
    uint32_t key;
    float score;                  /* blended */
    float source[BLEND_NSOURCES]; /* normalised per-source score; the list's floor when absent */
    uint8_t present;              /* bit s: the item was in source s's list */
} blend_item_t;

/* Options of this module: blend-method, blend-n0, blend-popularity,
 * blend-popularity-decay, blend-rrf-k, blend-depth. */
extern const cfg_option_t blend_options[];
/* The defaults (chosen on a validation split, bench/README.md "recsys-eval"). */
void blend_params_default(blend_params_t *p);
/* From a parsed configuration holding blend_options. */
int blend_params_from_cfg(const cfg_t *cfg, blend_params_t *p, err_t *err);
/* "minmax", "zscore", "rrf", "max"; parse returns -1 on an unknown name. */
const char *blend_method_name(blend_method_t m);
int blend_method_parse(const char *s, blend_method_t *out);
/* -1 with a message when a field is out of range. */
int blend_params_check(const blend_params_t *p, err_t *err);

/* The weights the policy gives to a history of n items (before empty lists
 * are taken into account; not scaled). known: the user was in the models'
 * training data, so CF alone (content takes over when CF has no list,
 * popularity when neither has one). */
void blend_policy_weights(const blend_params_t *p, size_t history_len, bool known, blend_weights_t *out);

/* The weights of SimilarItems by mode (an override for blend_merge):
 * content mode {1, 0, 0}, behaviour {0, 1, 0}, blend (both true)
 * {similar_content, 1, similar_popularity}. The gateway and the evaluator
 * both take them from here. */
blend_weights_t blend_similar_weights(const blend_params_t *p, bool content, bool cf);

/* Bytes of workspace for lists totalling `entries` entries and a top-k. */
size_t blend_workspace_bytes(size_t entries, size_t k);

/* Fuses lists[BLEND_NSOURCES] (a list with n == 0 may have NULL arrays) into
 * out (room for k), best first. override: NULL for the policy. used
 * (optional) gets the final, scaled weights. Returns the number of items
 * written, or -1 (bad weights or parameters, a non-finite score, a key twice
 * in one list, workspace too small) with err set. */
long blend_merge(const blend_params_t *p, const blend_weights_t *override, size_t history_len, bool known,
                 const blend_list_t lists[BLEND_NSOURCES], size_t k, void *ws, size_t ws_bytes,
                 blend_item_t *out, blend_weights_t *used, err_t *err);

#endif
