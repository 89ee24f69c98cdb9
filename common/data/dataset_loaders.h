/*
 * dataset_loaders.h: the per-layout loaders (dataset_<layout>.c) and the
 * layout detection, called by dataset.c only.
 */
#ifndef RECSYS_DATA_DATASET_LOADERS_H
#define RECSYS_DATA_DATASET_LOADERS_H

#include "common/data/dataset_read.h"

/* Per-layout loaders: fill ds->catalog (not finished) and ds->ratings. */
int ds_load_ml100k(dataset_t *ds, const ds_src_t *src, const dataset_opts_t *opts, err_t *err);
int ds_load_mldat(dataset_t *ds, const ds_src_t *src, const dataset_opts_t *opts, err_t *err);
int ds_load_mlcsv(dataset_t *ds, const ds_src_t *src, const dataset_opts_t *opts, err_t *err);
int ds_load_tmdb(dataset_t *ds, const ds_src_t *src, const dataset_opts_t *opts, err_t *err);
int ds_load_plain(dataset_t *ds, const ds_src_t *src, const char *ratings_name,
                  const dataset_opts_t *opts, err_t *err);
/* The --tmdb join (dataset_tmdbjoin.c): reads the TMDB files of tsrc
 * (named `what` in errors) and joins them onto ds's unfinished ml-csv
 * catalog through its tmdb ids, filling ds->tmdb (but its rating
 * coverage) and setting matched[i] for each joined item. */
int ds_join_tmdb(dataset_t *ds, const ds_src_t *tsrc, const char *what,
                 const dataset_opts_t *opts, unsigned char *matched, err_t *err);
/* Cast and director names read off a seed-tags row (dataset_tmdbtags.c):
 * the tokens after TMDB record j's overview, genre and keyword tokens;
 * names point into the tags string. */
#define DS_SEED_CREDITS_MAX 4
typedef struct ds_seed_credits {
    size_t n;                              /* names, 0..DS_SEED_CREDITS_MAX */
    const char *name[DS_SEED_CREDITS_MAX];
    size_t len[DS_SEED_CREDITS_MAX];
    bool director;                         /* the last name is the director */
} ds_seed_credits_t;
/* 0 with out filled; -1 when the row does not begin with record j's
 * tokens or has more than DS_SEED_CREDITS_MAX after them; -2 out of
 * memory. tc must be finished. */
int ds_tmdb_seed_credits(const catalog_t *tc, uint32_t j, const char *tags, ds_seed_credits_t *out);
/* Layout of the files of a directory source. */
int ds_detect_src(const ds_src_t *src, const char *what, dataset_layout_t *out, err_t *err);

#endif
