/*
 * evalproto.h: the evaluation protocols of EVALUATION.md as data + loops.
 *
 * A split is a train and a test set of ratings over one dataset, plus the
 * protocol's rules:
 *  - item universe: every item of the dataset's ratings file (ml-100k u.data,
 *    1682) and of the split, indexed by ASCENDING RAW ID (numeric ids by
 *    value, before non-numeric ones, which sort by bytes), so "ties to the
 *    lower item index" means ties to the lower raw id;
 *  - relevant: test ratings >= relevant_min (4); evaluated users: those with
 *    at least one relevant item; relevant items unseen in train still count;
 *  - candidates of a user: the universe (or the protocol's candidate set,
 *    R3's cold items) minus the user's train items.
 * Models see catalog indices (the dataset's own item indices) and the
 * dataset's user indices; the loops map to the universe themselves.
 *
 * Splits: ml-100k's own (ua, ub, u1..u5), a split file (TSV with header
 * "user item rating timestamp is_test", ids as in the dataset; the caller
 * inflates .gz), R3's cold items (train = base train rows of non-cold items,
 * test = every dataset rating of a cold item, candidates = the cold items),
 * and validation splits carved from a split's TRAIN set (for choosing
 * hyper-parameters without looking at the test set).
 */
#ifndef RECSYS_COMMON_EVALPROTO_H
#define RECSYS_COMMON_EVALPROTO_H

#include <stddef.h>
#include <stdint.h>

#include "common/data/dataset.h"
#include "common/base/err.h"
#include "tools/recsys-eval/evalmetrics.h"
#include "common/data/ratings.h"

#define EVALPROTO_NONE UINT32_MAX

/* Ratings grouped by user: items (universe indices) ascending per user. */
typedef struct evalproto_csr {
    size_t *off; /* [nusers + 1] */
    uint32_t *item;
    float *value;
} evalproto_csr_t;

typedef struct evalproto_split {
    char name[96];
    dataset_t *ds;      /* borrowed: catalog and user ids */
    uint32_t nusers;    /* user index space (ds->users when the split was made) */
    uint32_t nitems;    /* universe size */
    uint32_t ncat;      /* catalog size */
    uint32_t *item_cat; /* [nitems] universe index -> catalog index */
    uint32_t *cat_item; /* [ncat] catalog index -> universe index or EVALPROTO_NONE */
    ratings_t *train;   /* catalog item indices, ds user indices (for fitting) */
    ratings_t *test;
    evalproto_csr_t train_by_user, test_by_user;
    uint64_t *candidates; /* bitmap over the universe; NULL: every item */
    uint32_t ncandidates; /* items in the candidate set (nitems when NULL) */
    float relevant_min;   /* 4 */
} evalproto_split_t;

typedef struct evalproto_stats {
    size_t ntrain, ntest;
    uint32_t nusers_train, nusers_test;
    uint32_t eval_users;      /* users with >= 1 relevant test item */
    size_t relevant;          /* relevant test ratings of evaluated users */
    size_t relevant_unseen;   /* relevant test items with no train rating */
    uint32_t nitems, ncandidates;
} evalproto_stats_t;

/* Takes ownership of train and test (catalog item indices, users from
 * ds->users) whatever the outcome. */
int evalproto_split_new(dataset_t *ds, const char *name, ratings_t *train, ratings_t *test,
                        evalproto_split_t **out, err_t *err);
/* ml-100k's own split <base>.base / <base>.test ("ua", "u1", ...). */
int evalproto_split_ml100k(dataset_t *ds, const char *base, evalproto_split_t **out, err_t *err);
/* A split file already in memory (name for messages). Users unknown to the
 * dataset are added to ds->users; unknown items are an error. */
int evalproto_split_parse(dataset_t *ds, const char *name, const char *buf, size_t len,
                          evalproto_split_t **out, err_t *err);
/* Raw item ids, one per line (the cold-items fixture) -> catalog indices,
 * repeats removed; *out is malloc'd. */
int evalproto_parse_item_list(const dataset_t *ds, const char *name, const char *buf, size_t len,
                              uint32_t **out, size_t *n, err_t *err);
/* R3: train = base's train rows whose item is not cold, test = every rating
 * of ds->ratings whose item is cold, candidates = the cold items. */
int evalproto_split_cold(const evalproto_split_t *base, const uint32_t *cold, size_t ncold,
                         evalproto_split_t **out, err_t *err);
/* Validation split from s's TRAIN ratings: each user with >= 2 train ratings
 * holds out round(frac * n) of them (at least 1, at most n - 1), drawn with
 * a stream seeded by (seed, user). Same universe and candidate rule. */
int evalproto_split_validation(const evalproto_split_t *s, double frac, uint64_t seed,
                               evalproto_split_t **out, err_t *err);
/* Cold-item validation from s's TRAIN ratings (R3-shaped): round(frac * m)
 * of the m items with train ratings, drawn with seed, become the cold items. */
int evalproto_split_validation_cold(const evalproto_split_t *s, double frac, uint64_t seed,
                                    evalproto_split_t **out, err_t *err);
void evalproto_split_free(evalproto_split_t *s);

void evalproto_split_stats(const evalproto_split_t *s, evalproto_stats_t *st);

/* One user's request to a ranking model: history and candidates are catalog
 * indices; candidates come in universe order (ascending raw id). */
typedef struct evalproto_query {
    uint32_t user;
    const uint32_t *hist;
    const float *hist_value;
    size_t nhist;
    const uint32_t *cand;
    size_t ncand;
} evalproto_query_t;

/* Fills scores[c] for every candidate c (an array of ncat floats, set to
 * -inf before the call; higher is better). 0 or -1 with err. */
typedef int (*evalproto_rank_fn)(void *ctx, const evalproto_query_t *q, float *scores,
                                 err_t *err);
/* Predicts n ratings of one user (catalog item indices) into pred. */
typedef int (*evalproto_predict_fn)(void *ctx, uint32_t user, const uint32_t *items, size_t n,
                                    float *pred, err_t *err);
/* Called with each evaluated user's top list (universe indices, best first). */
typedef void (*evalproto_list_fn)(void *ctx, uint32_t user, const uint32_t *top, size_t n);

typedef struct evalproto_rank_opts {
    size_t k;                /* 10 */
    evalproto_rank_fn score;
    void *score_ctx;
    evalproto_list_fn on_list; /* optional */
    void *list_ctx;
} evalproto_rank_opts_t;

/* The per-user loop of R1/R3: top-k of every evaluated user, metrics
 * averaged over them (coverage over the universe). */
int evalproto_run_ranking(const evalproto_split_t *s, const evalproto_rank_opts_t *o,
                          evalmetrics_ranking_t *out, err_t *err);
/* R2: every test pair predicted, clipped to [lo, hi]. */
int evalproto_run_rating(const evalproto_split_t *s, evalproto_predict_fn predict, void *ctx,
                         double lo, double hi, evalmetrics_rating_t *out, err_t *err);

#endif
