/*
 * dataset_mldat.c: MovieLens 1M / 10M (movies.dat, ratings.dat, tags.dat).
 *
 * Fields are separated by "::" with no quoting, so a '"' in a title is
 * data. ml-1m's movies.dat is Latin-1 ("Alien\xb3") and ml-10m's is UTF-8:
 * the per-file check in ds_text_init decides. users.dat (demographics) is
 * not read.
 */
#include <stdio.h>

#include "common/data/dataset_loaders.h"

static int read_movies(dataset_t *ds, const ds_src_t *src, err_t *err)
{
    csv_opts_t o = {"::", true};
    return ds_read_ml_movies(ds, src, "movies.dat", &o, NULL, err);
}

int ds_load_mldat(dataset_t *ds, const ds_src_t *src, const dataset_opts_t *opts, err_t *err)
{
    snprintf(ds->items_name, sizeof ds->items_name, "movies.dat");
    if (read_movies(ds, src, err) != 0)
        return -1;
    if (ds_load_layout_ratings(ds, src, opts, "ratings.dat", false, err) != 0)
        return -1;
    if (ds_src_exists(src, "tags.dat")) {
        csv_opts_t o = {"::", true};
        csv_reader_t *r = ds_src_open(src, "tags.dat", &o, err);
        if (r == NULL)
            return -1;
        int rc = ds_read_tags(r, 1, 2, 4, ds->catalog, "movies.dat", &ds->tag_rows, err);
        csv_close(r);
        if (rc != 0)
            return -1;
    }
    return 0;
}
