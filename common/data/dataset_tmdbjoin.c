/*
 * dataset_tmdbjoin.c: the --tmdb join (dataset.h, "Joining TMDB 5000").
 *
 * The TMDB directory is read by the tmdb-5000 loader (dataset_tmdb.c) into
 * a catalog of its own, finished so its lists can be read; each MovieLens
 * item whose links.csv tmdbId names one of its records then gets that
 * record's overview, keywords, cast, directors, votes (and year when it has
 * none). The MovieLens catalog is not finished yet, so the lists append as
 * from any other file of the dataset.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/data/dataset_loaders.h"

/* Copies list l of TMDB record j onto item i; 1 when anything was copied. */
static int copy_list(catalog_t *c, uint32_t i, const catalog_t *tc, uint32_t j, catalog_list_t l, err_t *err)
{
    uint32_t n = catalog_list_len(tc, j, l);
    for (uint32_t k = 0; k < n; k++) {
        const char *s = catalog_list_at(tc, j, l, k);
        if (catalog_list_append(c, i, l, s, strlen(s)) != 0)
            return err_set(err, "out of memory");
    }
    return n > 0;
}

/* The seed-tags rows by movie id (opts.tmdb_tags). */
typedef struct seed {
    dataset_seed_tags_t *tags;
    idmap_t *ids;    /* movie_id -> slot */
    uint32_t *row;   /* slot -> its first row */
    uint32_t max_cast;
} seed_t;

static void seed_free(seed_t *sd)
{
    idmap_free(sd->ids);
    free(sd->row);
    dataset_seed_tags_free(sd->tags);
}

/* The seed tags from path, or from mem (an in-memory TMDB directory's
 * processed_movies.csv: tests, fuzzing) when path is NULL. */
static int seed_read(seed_t *sd, const char *path, const dataset_file_t *mem, uint32_t max_cast, err_t *err)
{
    memset(sd, 0, sizeof *sd);
    sd->max_cast = max_cast;
    int rc = path ? dataset_seed_tags_read(path, &sd->tags, err)
                  : dataset_seed_tags_parse(mem->name, mem->data, mem->len, &sd->tags, err);
    if (rc != 0) {
        err_prefix(err, "tmdb-tags");
        return -1;
    }
    sd->ids = idmap_new();
    sd->row = malloc((sd->tags->n ? sd->tags->n : 1) * sizeof *sd->row);
    if (sd->ids == NULL || sd->row == NULL)
        return err_set(err, "out of memory");
    for (size_t r = 0; r < sd->tags->n; r++) {
        const char *id = sd->tags->rows[r].movie_id;
        uint32_t slot;
        /* the notebook's title join repeated a few movies: the first row counts */
        int added = idmap_intern(sd->ids, id, strlen(id), &slot);
        if (added < 0)
            return err_set(err, "out of memory");
        if (added)
            sd->row[slot] = (uint32_t)r;
    }
    return 0;
}

/* Appends the cast and director a seed-tags row gives record j onto item
 * i; 0, or -1 out of memory. */
static int copy_seed_credits(dataset_t *ds, uint32_t i, const catalog_t *tc, uint32_t j,
                             const seed_t *sd, err_t *err)
{
    dataset_tmdb_join_t *st = &ds->tmdb;
    const char *id = catalog_id(tc, j);
    uint32_t slot = idmap_find(sd->ids, id, strlen(id));
    if (slot == IDMAP_NONE)
        return 0;
    st->tags_used++;
    ds_seed_credits_t cr;
    uint32_t max_cast = sd->max_cast;
    int rc = ds_tmdb_seed_credits(tc, j, sd->tags->rows[sd->row[slot]].tags, &cr);
    if (rc == -2)
        return err_set(err, "out of memory");
    if (rc != 0) {
        st->tags_mismatched++;
        return 0;
    }
    size_t ncast = cr.director ? cr.n - 1 : cr.n;
    for (size_t k = 0; k < cr.n; k++) {
        bool dir = cr.director && k == cr.n - 1;
        if (!dir && max_cast && k >= max_cast)
            continue;
        if (catalog_list_append(ds->catalog, i, dir ? CATALOG_DIRECTORS : CATALOG_CAST, cr.name[k],
                                cr.len[k]) != 0)
            return err_set(err, "out of memory");
    }
    st->with_cast += ncast > 0;
    st->with_directors += cr.director;
    return 0;
}

static int join(dataset_t *ds, const catalog_t *tc, const seed_t *sd, unsigned char *matched, err_t *err)
{
    catalog_t *c = ds->catalog;
    dataset_tmdb_join_t *st = &ds->tmdb;
    uint32_t nt = catalog_size(tc);
    uint32_t *uses = calloc(nt ? nt : 1, sizeof *uses);
    uint32_t *rec = malloc((catalog_size(c) ? catalog_size(c) : 1) * sizeof *rec);
    if (uses == NULL || rec == NULL) {
        free(uses);
        free(rec);
        return err_set(err, "out of memory");
    }
    int rc = 0;
    for (uint32_t i = 0; i < catalog_size(c) && rc == 0; i++) {
        rec[i] = IDMAP_NONE;
        int64_t id = catalog_tmdb_id(c, i);
        if (id <= 0)
            continue;
        st->linked++;
        char key[24];
        int len = snprintf(key, sizeof key, "%" PRId64, id);
        uint32_t j = catalog_find(tc, key, (size_t)len);
        if (j == IDMAP_NONE)
            continue;
        rec[i] = j;
        uses[j]++;
        matched[i] = 1;
        st->matched++;
        const char *ov = catalog_overview(tc, j);
        if (ov[0] != '\0') {
            if (catalog_set_overview(c, i, ov, strlen(ov)) != 0) {
                rc = err_set(err, "out of memory");
                break;
            }
            st->with_overview++;
        }
        int k = copy_list(c, i, tc, j, CATALOG_KEYWORDS, err);
        int a = k < 0 ? k : copy_list(c, i, tc, j, CATALOG_CAST, err);
        int d = a < 0 ? a : copy_list(c, i, tc, j, CATALOG_DIRECTORS, err);
        if (k < 0 || a < 0 || d < 0) {
            rc = -1;
            break;
        }
        st->with_keywords += (uint32_t)k;
        st->with_cast += (uint32_t)a;
        st->with_directors += (uint32_t)d;
        if (sd && copy_seed_credits(ds, i, tc, j, sd, err) != 0) {
            rc = -1;
            break;
        }
        catalog_set_votes(c, i, catalog_vote_average(tc, j), catalog_vote_count(tc, j),
                          catalog_popularity(tc, j));
        if (catalog_year(c, i) == 0 && catalog_year(tc, j) != 0)
            catalog_set_year(c, i, catalog_year(tc, j));
    }
    if (rc == 0) {
        for (uint32_t j = 0; j < nt; j++)
            st->records_used += uses[j] > 0;
        for (uint32_t i = 0; i < catalog_size(c); i++)
            st->shared += rec[i] != IDMAP_NONE && uses[rec[i]] > 1;
    }
    free(uses);
    free(rec);
    return rc;
}

int ds_join_tmdb(dataset_t *ds, const ds_src_t *tsrc, const char *what, const dataset_opts_t *opts,
                 unsigned char *matched, err_t *err)
{
    if (ds->layout != DATASET_MLCSV)
        return err_set(err,
                       "tmdb %s: layout %s has no links to TMDB ids; the join needs a MovieLens "
                       "CSV dataset with links.csv (movieId,imdbId,tmdbId)",
                       what, dataset_layout_name(ds->layout));
    if (ds->link_rows == 0)
        return err_set(err,
                       "tmdb %s: the dataset has no links.csv rows (movieId,imdbId,tmdbId) to "
                       "join on",
                       what);
    dataset_t t;
    memset(&t, 0, sizeof t);
    t.layout = DATASET_TMDB;
    t.catalog = catalog_new();
    if (t.catalog == NULL)
        return err_set(err, "out of memory");
    dataset_opts_t to;
    memset(&to, 0, sizeof to);
    to.max_cast = opts->max_cast;
    to.skip_ratings = true;
    int rc = ds_load_tmdb(&t, tsrc, &to, err);
    if (rc == 0)
        rc = catalog_finish(t.catalog, err);
    if (rc != 0) {
        err_prefix(err, "tmdb %s", what);
    } else {
        ds->tmdb.joined = true;
        ds->tmdb.credits = t.has_credits;
        ds->tmdb.records = catalog_size(t.catalog);
    }
    /* Credits from the seed tags, only when the directory has none. */
    const char *path = opts->tmdb_tags && opts->tmdb_tags[0] ? opts->tmdb_tags : NULL;
    const dataset_file_t *mem = NULL;
    for (size_t f = 0; tsrc->dir == NULL && f < tsrc->nfiles; f++)
        if (strcmp(tsrc->files[f].name, "processed_movies.csv") == 0)
            mem = &tsrc->files[f];
    bool use_tags = rc == 0 && !t.has_credits && (path || mem);
    seed_t sd;
    memset(&sd, 0, sizeof sd);
    if (use_tags)
        rc = seed_read(&sd, path, mem, opts->max_cast, err);
    ds->tmdb.tags = use_tags && rc == 0;
    if (rc == 0)
        rc = join(ds, t.catalog, use_tags ? &sd : NULL, matched, err);
    seed_free(&sd);
    catalog_free(t.catalog);
    return rc;
}
