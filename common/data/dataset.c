/*
 * dataset.c: dataset_load() and the options table: picks the layout's
 * loader (dataset_<layout>.c, declared in dataset_loaders.h), then finishes
 * the catalog and attaches rating statistics, so every layout ends in the
 * same state. What the loaders share is in dataset_read.c; calls go one
 * way: dataset.c -> loaders -> dataset_read.c.
 */
#include "common/data/dataset.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/base/log.h"
#include "common/data/dataset_loaders.h"
#include "common/text/utf8.h"

const cfg_option_t dataset_options[] = {
    {"data", CFG_STRING, NULL,
     "Dataset directory (MovieLens 100K/1M/10M/latest/20M/25M, TMDB 5000 or plain) or a plain ratings CSV file.",
     0, 0},
    {"ratings-file", CFG_STRING, NULL,
     "Ratings file read instead of the layout's own, same format (e.g. ua.base for ml-100k).", 0,
     0},
    {"allow-missing-ratings", CFG_BOOL, "false",
     "Load the catalog alone when the dataset's ratings file is absent.", 0, 0},
    {"max-cast", CFG_INT, "0", "Keep at most this many cast names per item (0: all).", 0,
     1000000},
    {"extra-ratings", CFG_STRING, NULL,
     "CSV user_id,item_id,rating[,timestamp] merged into the dataset's ratings (e.g. from "
     "`recsys-data export-feedback`): a known (user, item) pair is replaced, last row wins; new "
     "users are added; an unknown item is an error.",
     0, 0},
    {"tmdb", CFG_STRING, NULL,
     "TMDB 5000 directory (tmdb_5000_movies.csv, optional tmdb_5000_credits.csv) joined onto a "
     "MovieLens CSV dataset through links.csv tmdbId: matched items gain overview, keywords, votes "
     "and, with the credits file, cast and directors; MovieLens titles and genres stay; items "
     "without a match keep their MovieLens data; a TMDB id linked by several items joins each; "
     "a layout without links.csv is an error.",
     0, 0},
    {"tmdb-tags", CFG_STRING, NULL,
     "The TMDB notebook's processed_movies.csv (movie_id,title,tags, e.g. "
     "../shared/data/tmdb-5000-seed-tags/processed_movies.csv): when the --tmdb directory has no "
     "tmdb_5000_credits.csv, each joined record's cast (3) and director are read off its tags (the "
     "tokens after its overview, genre and keyword tokens). Needs --tmdb.",
     0, 0},
    CFG_END,
};

void dataset_opts_from_cfg(const cfg_t *cfg, dataset_opts_t *opts)
{
    memset(opts, 0, sizeof *opts);
    const char *rf = cfg_str(cfg, "ratings-file");
    opts->ratings_file = (rf && rf[0]) ? rf : NULL;
    opts->allow_missing_ratings = cfg_bool(cfg, "allow-missing-ratings");
    opts->max_cast = (uint32_t)cfg_int(cfg, "max-cast");
    const char *xr = cfg_str(cfg, "extra-ratings");
    opts->extra_ratings = (xr && xr[0]) ? xr : NULL;
    const char *tm = cfg_str(cfg, "tmdb");
    opts->tmdb = (tm && tm[0]) ? tm : NULL;
    const char *tt = cfg_str(cfg, "tmdb-tags");
    opts->tmdb_tags = (tt && tt[0]) ? tt : NULL;
}

/* ---- load ---- */

void dataset_free(dataset_t *ds)
{
    if (ds == NULL)
        return;
    ratings_free(ds->ratings);
    idmap_free(ds->users);
    catalog_free(ds->catalog);
    free(ds->path);
    free(ds);
}

/* The join's rating coverage (from the final rating statistics) and its
 * log line. */
static void tmdb_coverage(dataset_t *ds, const unsigned char *matched, const char *what)
{
    dataset_tmdb_join_t *st = &ds->tmdb;
    const catalog_t *c = ds->catalog;
    for (uint32_t i = 0; i < catalog_size(c); i++) {
        uint32_t n = catalog_rating_count(c, i);
        st->ratings += n;
        st->rated_items += n > 0;
        if (matched[i]) {
            st->ratings_covered += n;
            st->rated_matched += n > 0;
        }
    }
    char b[8][32];
    snprintf(b[0], 32, "%u", st->records);
    snprintf(b[1], 32, "%u", st->linked);
    snprintf(b[2], 32, "%u", st->matched);
    if (ds->ratings) {
        snprintf(b[3], 32, "%u/%u", st->rated_matched, st->rated_items);
        snprintf(b[4], 32, "%.1f%%",
                 st->ratings ? 100.0 * (double)st->ratings_covered / (double)st->ratings : 0.0);
    } else {
        snprintf(b[3], 32, "n/a (no ratings)");
        snprintf(b[4], 32, "n/a (no ratings)");
    }
    snprintf(b[5], 32, "%u", st->shared);
    snprintf(b[6], 32, "%u", st->with_cast);
    snprintf(b[7], 32, "%u", st->tags_mismatched);
    log_kv(LOG_INFO, "tmdb join", "tmdb", what, "records", b[0], "linked_items", b[1],
           "matched_items", b[2], "rated_items_matched", b[3], "ratings_covered", b[4],
           "items_sharing_a_record", b[5], "credits", st->credits ? "yes" : st->tags ? "seed tags" : "no",
           "items_with_cast", b[6], "seed_tags_mismatched", b[7], NULL);
}

static int load_src(const ds_src_t *src, const char *path, dataset_layout_t layout,
                    const char *plain_ratings, dataset_t **out, const dataset_opts_t *opts,
                    err_t *err)
{
    dataset_opts_t defaults;
    if (opts == NULL) {
        memset(&defaults, 0, sizeof defaults);
        opts = &defaults;
    }
    dataset_t *ds = calloc(1, sizeof *ds);
    if (ds == NULL)
        return err_set(err, "out of memory");
    ds->layout = layout;
    ds->path = strdup(path ? path : "(memory)");
    ds->catalog = catalog_new();
    ds->users = idmap_new();
    if (ds->path == NULL || ds->catalog == NULL || ds->users == NULL) {
        dataset_free(ds);
        return err_set(err, "out of memory");
    }
    int rc;
    switch (layout) {
    case DATASET_ML100K:
        rc = ds_load_ml100k(ds, src, opts, err);
        break;
    case DATASET_MLDAT:
        rc = ds_load_mldat(ds, src, opts, err);
        break;
    case DATASET_MLCSV:
        rc = ds_load_mlcsv(ds, src, opts, err);
        break;
    case DATASET_TMDB:
        rc = ds_load_tmdb(ds, src, opts, err);
        break;
    case DATASET_PLAIN:
        rc = ds_load_plain(ds, src, plain_ratings, opts, err);
        break;
    default:
        rc = err_set(err, "unknown layout");
    }
    /* The TMDB join, before the catalog is finished (it appends lists). */
    ds_src_t tsrc = {opts->tmdb, opts->tmdb_files, opts->tmdb_nfiles};
    bool tmdb = opts->tmdb_nfiles > 0 || (opts->tmdb && opts->tmdb[0]);
    unsigned char *matched = NULL;
    if (rc == 0 && !tmdb && opts->tmdb_tags && opts->tmdb_tags[0])
        rc = err_set(err, "tmdb-tags %s: given without --tmdb (the tags only add credits to a TMDB join)",
                     opts->tmdb_tags);
    if (rc == 0 && tmdb) {
        if (opts->tmdb_nfiles > 0)
            tsrc.dir = NULL;
        matched = calloc(catalog_size(ds->catalog) ? catalog_size(ds->catalog) : 1, 1);
        if (matched == NULL)
            rc = err_set(err, "out of memory");
        else
            rc = ds_join_tmdb(ds, &tsrc, tsrc.dir ? tsrc.dir : "(memory)", opts, matched, err);
    }
    if (rc == 0)
        rc = catalog_finish(ds->catalog, err);
    /* The one place extra ratings join, whatever the layout; the merge
     * recomputes the rating statistics itself. */
    bool extra = opts->extra_ratings && opts->extra_ratings[0] && !opts->skip_ratings;
    if (rc == 0 && extra)
        rc = dataset_merge_ratings_file(ds, opts->extra_ratings, NULL, err);
    if (rc == 0 && !extra && ds->ratings &&
        catalog_set_rating_stats(ds->catalog, ds->ratings->item, ds->ratings->value,
                                 ds->ratings->n) != 0)
        rc = err_set(err, "out of memory");
    if (rc == 0 && tmdb)
        tmdb_coverage(ds, matched, tsrc.dir ? tsrc.dir : "(memory)");
    free(matched);
    if (rc != 0) {
        dataset_free(ds);
        return -1;
    }
    *out = ds;
    return 0;
}

/* Splits a file path into a directory source and its base name. */
static int split_file(const char *path, char **dir, const char **base)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL) {
        *dir = strdup(".");
        *base = path;
    } else {
        *dir = strndup(path, (size_t)(slash - path) + (slash == path));
        *base = slash + 1;
    }
    return *dir ? 0 : -1;
}

int dataset_detect(const char *path, dataset_layout_t *out, err_t *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return err_errno(err, "%s", path);
    if (S_ISREG(st.st_mode)) {
        *out = DATASET_PLAIN;
        return 0;
    }
    if (!S_ISDIR(st.st_mode))
        return err_set(err, "%s: neither a directory nor a file", path);
    ds_src_t src = {path, NULL, 0};
    return ds_detect_src(&src, path, out, err);
}

int dataset_load(const char *path, dataset_t **out, const dataset_opts_t *opts, err_t *err)
{
    dataset_layout_t layout;
    if (dataset_detect(path, &layout, err) != 0)
        return -1;
    struct stat st;
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
        char *dir;
        const char *base;
        if (split_file(path, &dir, &base) != 0)
            return err_set(err, "out of memory");
        ds_src_t src = {dir, NULL, 0};
        int rc = load_src(&src, path, DATASET_PLAIN, base, out, opts, err);
        free(dir);
        return rc;
    }
    ds_src_t src = {path, NULL, 0};
    return load_src(&src, path, layout, NULL, out, opts, err);
}

int dataset_load_files(const dataset_file_t *files, size_t n, dataset_t **out,
                       const dataset_opts_t *opts, err_t *err)
{
    ds_src_t src = {NULL, files, n};
    dataset_layout_t layout;
    if (ds_detect_src(&src, "(memory)", &layout, err) != 0)
        return -1;
    return load_src(&src, NULL, layout, NULL, out, opts, err);
}

int dataset_load_ratings_file(dataset_t *ds, const char *name, ratings_t **out, err_t *err)
{
    char *dir = NULL;
    struct stat st;
    if (stat(ds->path, &st) == 0 && S_ISREG(st.st_mode)) {
        const char *base;
        if (split_file(ds->path, &dir, &base) != 0)
            return err_set(err, "out of memory");
    } else {
        dir = strdup(ds->path);
        if (dir == NULL)
            return err_set(err, "out of memory");
    }
    ds_src_t src = {dir, NULL, 0};
    ds_rcols_t cols;
    csv_reader_t *r = ds_open_ratings(ds->layout, &src, name, &cols, err);
    if (r == NULL) {
        free(dir);
        return -1;
    }
    cols.items_file = ds->items_name;
    int rc = ds_read_ratings(&src, name, r, &cols, ds->catalog, ds->users, out, err);
    csv_close(r);
    free(dir);
    return rc;
}
