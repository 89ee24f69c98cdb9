/*
 * dataset_detect.c: which layout a directory holds, from the file names in it.
 *
 * The item file decides (a copy may lack its ratings file, like the shared
 * ml-1m); the checks go from the most specific names to the plain layout,
 * whose ratings.csv is also present in ml-latest directories.
 */
#include <stdio.h>

#include "common/data/dataset_loaders.h"

int ds_detect_src(const ds_src_t *src, const char *what, dataset_layout_t *out, err_t *err)
{
    if (ds_src_exists(src, "u.item") || ds_src_exists(src, "u.data"))
        *out = DATASET_ML100K;
    else if (ds_src_exists(src, "movies.dat"))
        *out = DATASET_MLDAT;
    else if (ds_src_exists(src, "movies.csv"))
        *out = DATASET_MLCSV;
    else if (ds_src_exists(src, "tmdb_5000_movies.csv"))
        *out = DATASET_TMDB;
    else if (ds_src_exists(src, "ratings.csv"))
        *out = DATASET_PLAIN;
    else if (ds_src_exists(src, "processed_movies.csv"))
        return err_set(err,
                       "%s: processed_movies.csv is the TMDB notebook's seed-tags table, not a "
                       "dataset (read it with dataset_seed_tags_read)",
                       what);
    else if (ds_src_exists(src, "ratings.dat"))
        return err_set(err, "%s: ratings.dat without movies.dat", what);
    else
        return err_set(err,
                       "%s: no dataset found (looked for u.item, u.data, movies.dat, movies.csv, "
                       "tmdb_5000_movies.csv, ratings.csv)",
                       what);
    return 0;
}
