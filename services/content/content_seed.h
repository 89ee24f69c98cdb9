/*
 * content_seed.h: the classic notebook's "5 similar movies", reproduced
 * exactly as ../shared/EVALUATION.md R4 specifies.
 *
 *  1-3  tags per movie: overview words (str.split()) + genre names + keyword
 *       names [+ the first 3 cast names + directors], names with every
 *       U+0020 removed, joined by single spaces, lower-cased; movies with an
 *       empty overview are dropped (content_seed_input_from_catalog). Or the
 *       notebook's own table after step 3 (content_seed_input_from_tags).
 *  4    every whitespace token replaced by its Porter stem (NLTK mode);
 *  5    CountVectorizer tokens of the stems (two or more word characters),
 *       scikit-learn's English stop words dropped;
 *  6    the max_features terms with the highest corpus counts (total
 *       occurrences), ties at the cut to the code-point smaller term;
 *  7    raw counts; cosine; the k most similar other movies, ties to the
 *       earlier row.
 *
 * Step 7 never forms the N x N matrix: for movie i the integer dot products
 * with every movie sharing a term are accumulated through the inverted index
 * (terms x movies), and candidates are compared exactly,
 *   dot_j / |v_j| > dot_l / |v_l|  <=>  dot_j^2 |v_l|^2 > dot_l^2 |v_j|^2
 * in 128-bit integers, so a tie is a true tie and goes to the earlier row.
 * When fewer than k movies share a term with i, the rest of the list is the
 * earliest other rows with similarity 0 (what a stable sort of the full row
 * gives). Movies are split over threads.
 */
#ifndef RECSYS_SERVICES_CONTENT_SEED_H
#define RECSYS_SERVICES_CONTENT_SEED_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/data/catalog.h"
#include "common/data/dataset.h"
#include "common/base/err.h"

/* The rows the pipeline runs on: (id, title, tags) in file order. */
typedef struct content_seed_input {
    size_t n;
    const char **ids, **titles, **tags;
    char *arena; /* tags built from a catalog */
} content_seed_input_t;

/* Steps 1-3 from a TMDB catalog (any catalog: items without an overview are
 * dropped; cast and directors are empty without the credits file). */
int content_seed_input_from_catalog(const catalog_t *cat, content_seed_input_t *in, err_t *err);
/* The notebook's table as it is (borrowing t's strings). */
int content_seed_input_from_tags(const dataset_seed_tags_t *t, content_seed_input_t *in, err_t *err);
void content_seed_input_free(content_seed_input_t *in);

typedef struct content_seed_params {
    uint32_t max_features; /* 5000 */
    uint32_t k;            /* 5 */
    uint32_t threads;      /* >= 1 */
} content_seed_params_t;

typedef struct content_seed_result {
    size_t n;
    uint32_t k;
    uint32_t *nb;          /* n * k row indices, best first (CONTENT_NONE past nb_len) */
    double *score;         /* n * k cosines */
    uint32_t *nb_len;      /* n: min(k, n - 1) */
    size_t vocab_before;   /* distinct terms after stop words */
    size_t vocab_after;    /* terms kept */
    uint64_t nnz;          /* non-zero counts over the kept terms */
    uint32_t min_row_terms, max_row_terms; /* distinct kept terms per row */
    uint32_t cut_count;    /* corpus count of the last kept term */
    char **terms;          /* the kept terms, code-point order */
    double ms_tokens, ms_vectors, ms_neighbours;
} content_seed_result_t;

int content_seed_run(const content_seed_input_t *in, const content_seed_params_t *p,
                     content_seed_result_t **out, err_t *err);
void content_seed_result_free(content_seed_result_t *r);

/* movie_id<TAB>title<TAB>nb1..nbk<TAB>score1..scorek, one row per input row,
 * neighbours as movie ids, scores with 6 decimals; tabs and line ends in a
 * title become spaces. */
int content_seed_write_tsv(const content_seed_input_t *in, const content_seed_result_t *r, FILE *f,
                           err_t *err);

#endif
