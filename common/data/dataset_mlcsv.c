/*
 * dataset_mlcsv.c: MovieLens latest / latest-small / 20M / 25M CSV files.
 *
 * movies.csv (movieId,title,genres), ratings.csv
 * (userId,movieId,rating,timestamp), tags.csv (userId,movieId,tag,timestamp)
 * and links.csv (movieId,imdbId,tmdbId), each with exactly that header.
 * imdbId is zero-padded ("0114709") and read as a number; an empty tmdbId
 * (8 rows in latest-small) is 0 and counted. Other files of the larger
 * releases (genome-*.csv) are not read.
 */
#include <stdio.h>

#include "common/data/dataset_loaders.h"

static const char *const movies_hdr[] = {"movieId", "title", "genres"};
static const char *const tags_hdr[] = {"userId", "movieId", "tag", "timestamp"};
static const char *const links_hdr[] = {"movieId", "imdbId", "tmdbId"};

static int read_movies(dataset_t *ds, const ds_src_t *src, err_t *err)
{
    return ds_read_ml_movies(ds, src, "movies.csv", NULL, movies_hdr, err);
}

static int read_links(dataset_t *ds, const ds_src_t *src, err_t *err)
{
    csv_reader_t *r = ds_src_open(src, "links.csv", NULL, err);
    if (r == NULL)
        return -1;
    int rc;
    if (ds_expect_header(r, links_hdr, 3, err) != 0)
        goto fail;
    while ((rc = csv_next(r, err)) == 1) {
        if (csv_expect(r, 3, err) != 0)
            goto fail;
        csv_field_t id = csv_field(r, 0), fi = csv_field(r, 1), ft = csv_field(r, 2);
        uint32_t item = catalog_find(ds->catalog, id.ptr, id.len);
        if (item == IDMAP_NONE) {
            csv_error(r, err, "unknown item id '%.*s' (not in movies.csv)",
                      (int)(id.len > 80 ? 80 : id.len), id.ptr);
            goto fail;
        }
        int64_t imdb = 0, tmdb = 0;
        if (fi.len > 0 && (ds_parse_i64(fi, &imdb) != 0 || imdb < 0)) {
            csv_error(r, err, "bad imdbId '%.*s'", (int)(fi.len > 40 ? 40 : fi.len), fi.ptr);
            goto fail;
        }
        if (ft.len > 0 && (ds_parse_i64(ft, &tmdb) != 0 || tmdb < 0)) {
            csv_error(r, err, "bad tmdbId '%.*s'", (int)(ft.len > 40 ? 40 : ft.len), ft.ptr);
            goto fail;
        }
        if (ft.len == 0)
            ds->links_without_tmdb++;
        ds->link_rows++;
        catalog_set_links(ds->catalog, item, imdb, tmdb);
    }
    if (rc < 0)
        goto fail;
    csv_close(r);
    return 0;
fail:
    csv_close(r);
    return -1;
}

int ds_load_mlcsv(dataset_t *ds, const ds_src_t *src, const dataset_opts_t *opts, err_t *err)
{
    snprintf(ds->items_name, sizeof ds->items_name, "movies.csv");
    if (read_movies(ds, src, err) != 0)
        return -1;
    if (ds_load_layout_ratings(ds, src, opts, "ratings.csv", false, err) != 0)
        return -1;
    if (ds_src_exists(src, "tags.csv")) {
        csv_reader_t *r = ds_src_open(src, "tags.csv", NULL, err);
        if (r == NULL)
            return -1;
        int rc = ds_expect_header(r, tags_hdr, 4, err);
        if (rc == 0)
            rc = ds_read_tags(r, 1, 2, 4, ds->catalog, "movies.csv", &ds->tag_rows, err);
        csv_close(r);
        if (rc != 0)
            return -1;
    }
    if (ds_src_exists(src, "links.csv") && read_links(ds, src, err) != 0)
        return -1;
    return 0;
}
