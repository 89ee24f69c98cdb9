/*
 * gen.h: the rating generator behind `recsys-gen` (demo data and synthetic
 * MovieLens-format data of any size), and the parser of the demo catalog.
 *
 * The taste model (also in tools/demo-data/README.md). Every item has genres,
 * a director, a year, a latent quality q_i ~ N(0, 0.5^2), a popularity p_i
 * (Zipf over a rank that leans towards good items) and 8 latent factors y_i,
 * made of the directions of its genres, its director and its decade plus its
 * own noise, so films that share a director or genres are alike. Every user u
 * has a preference pref_u[g] in [-1, 1] for each genre (1-3 favourites at
 * 0.6..1, often one disliked genre, the rest near 0), 0-3 favourite
 * directors, a favourite era, a bias b_u, a strictness s_u and 8 factors x_u.
 * A user picks items without replacement with probability
 *     p_i * mean_{g in genres(i)} exp(LAMBDA pref_u[g]) * exp(clip(x_u . y_i))
 * and rates each one
 *     round_half(clip(MU + b_u + s_u * (q_i - qbar + t_ui - mean_u t) + noise))
 * where t_ui = 1.5 mean_g pref_u[g] + director + era + 0.45 x_u . y_i is the
 * user's taste for the item and mean_u t its mean over the user's items.
 * Whole stars for users who never use halves, and for the ml-100k / ml-1m
 * layouts. Counts per user are log-normal above a minimum and sum exactly to
 * the requested total; timestamps increase per user and never precede an
 * item's release year.
 *
 * Memory is O(items + users + max ratings per user): ratings stream to disk
 * user by user and are never held together. The same options give the same
 * bytes (for one build; gcc and clang builds agree too, see gen.c).
 */
#ifndef RECSYS_COMMON_GEN_H
#define RECSYS_COMMON_GEN_H

#include <stddef.h>
#include <stdint.h>

#include "common/base/err.h"

#define GEN_NGENRES 19
/* MovieLens's genre names (ml-latest spelling), in MovieLens order. */
extern const char *const gen_genre_names[GEN_NGENRES];
/* Index of a genre name of len bytes, or -1. */
int gen_genre_index(const char *name, size_t len);

/* One row of a catalog (tools/demo-data/items.csv); multi-valued fields keep
 * their '|' separators. */
typedef struct gen_film {
    const char *id, *title, *genres, *directors, *cast, *keywords, *overview;
    int year;
    uint32_t genre_mask; /* bit g set when the film has gen_genre_names[g] */
} gen_film_t;

typedef struct gen_catalog {
    gen_film_t *films;
    size_t n;
    char *text;  /* the file's bytes, for a byte-exact copy */
    size_t len;
    char *arena; /* decoded fields */
} gen_catalog_t;

#define GEN_CATALOG_HEADER "item_id,title,year,genres,directors,cast,keywords,overview"

/* Parses RFC 4180 CSV with exactly the header above; checks every row (8
 * fields, non-empty unique id and title, year 1870..2100, known genres).
 * name is used in messages ("items.csv:12: ..."). */
int gen_catalog_parse(gen_catalog_t *cat, const char *text, size_t len, const char *name, err_t *err);
int gen_catalog_load(gen_catalog_t *cat, const char *path, err_t *err);
void gen_catalog_free(gen_catalog_t *cat);

typedef enum { GEN_PLAIN = 0, GEN_ML_LATEST, GEN_ML_100K, GEN_ML_1M } gen_layout_t;
/* "plain", "ml-latest", "ml-100k", "ml-1m". */
int gen_layout_parse(const char *s, gen_layout_t *out, err_t *err);

typedef struct gen_params {
    uint64_t seed;
    uint32_t users;
    uint32_t items;        /* synth only: item ids 1..items */
    uint64_t ratings;      /* exact total */
    uint32_t min_ratings;  /* per user (lowered to ratings/users if needed) */
    uint32_t max_ratings;  /* per user; 0 = items */
    double zipf;           /* popularity of rank r (from 0): (r + 1 + zipf_head * items)^-zipf */
    double zipf_head;      /* flattens the head, as real catalogs are (0 = pure Zipf) */
    gen_layout_t layout;   /* synth only; demo is always plain */
} gen_params_t;

typedef struct gen_stats {
    uint64_t ratings;
    uint32_t users, items;
    uint32_t min_per_user, max_per_user;
    double mean_rating;
} gen_stats_t;

/* Writes out_dir/items.csv (a byte copy of the catalog) and out_dir/ratings.csv
 * (user_id,item_id,rating,timestamp). Creates out_dir if needed. */
int gen_demo(const char *out_dir, const gen_catalog_t *cat, const gen_params_t *p, gen_stats_t *st,
             err_t *err);
/* Writes a synthetic data set in p->layout into out_dir. */
int gen_synth(const char *out_dir, const gen_params_t *p, gen_stats_t *st, err_t *err);

/* The hidden genre preferences of the demo users that gen_demo() would make
 * with the same catalog and params: pref[u * GEN_NGENRES + g] for user id u+1,
 * in [-1, 1]. For checking that the data carries the taste it was made with. */
int gen_demo_prefs(const gen_catalog_t *cat, const gen_params_t *p, float *pref, err_t *err);

#endif
