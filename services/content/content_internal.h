/*
 * content_internal.h: what the content model's files share and nobody else
 * sees: the model struct (views into one model file, mapped or in memory),
 * the section names of that file, and scratch memory.
 *
 * A built model is written into an in-memory model file and opened exactly
 * as a loaded one is, so there is one representation and one validator.
 */
#ifndef RECSYS_SERVICES_CONTENT_INTERNAL_H
#define RECSYS_SERVICES_CONTENT_INTERNAL_H

#include <stdatomic.h>

#include "common/data/idmap.h"
#include "common/wire/modelfile.h"
#include "common/math/topk.h"
#include "services/content/content_model.h"

/* Section names (u64 offsets index byte sections of NUL-terminated strings). */
#define CM_ITEM_IDS "item_ids"         /* bytes */
#define CM_ITEM_ID_OFF "item_id_off"   /* u64, n+1 */
#define CM_ITEM_ID_ORDER "item_id_order" /* u32, n: items in id byte order */
#define CM_TITLES "titles"             /* bytes */
#define CM_TITLE_OFF "title_off"       /* u64, n+1 */
#define CM_YEARS "years"               /* i32, n */
#define CM_GENRE_MASKS "genre_masks"   /* u64, n */
#define CM_GENRES "genres"             /* bytes */
#define CM_GENRE_OFF "genre_off"       /* u64, g+1 */
#define CM_TERMS "terms"               /* bytes, code-point order */
#define CM_TERM_OFF "term_off"         /* u64, t+1 */
#define CM_TERM_DF "term_df"           /* u32, t */
#define CM_TERM_IDF "term_idf"         /* f32, t */
#define CM_VEC_PTR "vec_ptr"           /* u64, n+1: items x terms, unit rows */
#define CM_VEC_COL "vec_col"           /* u32 */
#define CM_VEC_VAL "vec_val"           /* f32 */
#define CM_INV_PTR "inv_ptr"           /* u64, t+1: terms x items */
#define CM_INV_COL "inv_col"           /* u32 */
#define CM_INV_VAL "inv_val"           /* f32 */
#define CM_NB_LEN "nb_len"             /* u32, n */
#define CM_NB_IDX "nb_idx"             /* u32, n * N */
#define CM_NB_SCORE "nb_score"         /* f32, n * N */

/* A table of NUL-terminated strings: bytes + count+1 offsets. */
typedef struct cm_strings {
    const char *bytes;
    const uint64_t *off;
    uint32_t n;
} cm_strings_t;

struct content_model {
    atomic_int refs;
    modelfile_t *mf;
    void *buf; /* an in-memory file the model owns (built models), or NULL */
    char version[MODELFILE_VERSION_MAX + 1];
    content_params_t params;
    uint32_t n_items, n_terms, nb_k;
    cm_strings_t ids, titles, genres, terms;
    const uint32_t *id_order;
    idmap_t *id_index;     /* id -> item (built at load: a hash, not the bisection) */
    const int32_t *years;
    const uint64_t *genre_masks;
    const uint32_t *df;
    const float *idf;
    sparse_csr_t vec, inv; /* views */
    const uint32_t *nb_len, *nb_idx;
    const float *nb_score;
};

static inline const char *cm_str(const cm_strings_t *s, uint32_t i)
{
    return s->bytes + s->off[i];
}

/* Per-thread working memory, grown on demand. acc and profile are all zero
 * between calls (each user puts back the zeros it touched). */
struct content_scratch {
    float *acc;        /* n_items */
    size_t acc_cap;
    topk_item_t *cand; /* n_items: touched items, then their scores */
    size_t cand_cap;
    float *profile;    /* n_terms, dense */
    size_t profile_cap;
    uint64_t *bits;    /* exclusion bitmap, n_items bits */
    size_t bits_cap;
    uint64_t *seen;    /* candidate dedup bitmap, n_items bits */
    size_t seen_cap;
    uint64_t *tbits;   /* the profile's terms, n_terms bits; all clear between calls */
    size_t tbits_cap;
    uint32_t *pterms;  /* the profile's terms */
    size_t pterms_cap;
    float *w;          /* history weights */
    size_t w_cap;
    topk_item_t *top;  /* k */
    size_t top_cap;
};

/* Grows a scratch to serve a model of n items / t terms and k results. */
int cm_scratch_reserve(content_scratch_t *s, size_t n_items, size_t n_terms, size_t k, err_t *err);

/* Top-k neighbours of one item through the inverted index: acc (n_items
 * floats, zero on entry and on return) collects the dot products of the
 * items sharing a term, listed in cand (n_items slots). Items with a score
 * <= 0 and the item itself are skipped; filter may be NULL. *touched (may
 * be NULL) gets how many items shared a term. */
size_t cm_item_topk(const sparse_csr_t *vec, const sparse_csr_t *inv, uint32_t item, size_t k,
                    const topk_filter_t *filter, float *acc, topk_item_t *cand, topk_item_t *out,
                    size_t *touched);

/* Neighbour lists of every item into nb_len (n), nb_idx and nb_score (n*k). */
int cm_neighbours_build(const sparse_csr_t *vec, const sparse_csr_t *inv, uint32_t k, unsigned threads,
                        uint32_t *nb_len, uint32_t *nb_idx, float *nb_score, err_t *err);

/* Wraps a finished in-memory model file (copied into an aligned buffer). */
int cm_model_from_buffer(const void *buf, size_t len, const char *name, content_model_t **out, err_t *err);

#endif
