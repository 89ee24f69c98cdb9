/* fuzz_dataset.c: every dataset loader over arbitrary in-memory files never
 * crashes, leaks or reads out of bounds, and a loaded catalog is walkable.
 *
 * Input: one selector byte, then the files' contents separated by NUL bytes.
 * The selector's low bits pick the layout (its file names, in order below),
 * bit 3 sets allow_missing_ratings and bit 4 caps the cast at 2. Layout 5
 * is the --tmdb join: movies.csv and links.csv are the dataset (catalog
 * only), the two TMDB files its in-memory TMDB directory; layout 6 the same
 * join with the notebook's processed_movies.csv instead of the credits
 * (cast and director read off the tags). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/base/log.h"
#include "common/data/dataset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const layouts[][4] = {
    {"u.genre", "u.item", "u.data", NULL},
    {"movies.dat", "ratings.dat", "tags.dat", NULL},
    {"movies.csv", "ratings.csv", "tags.csv", "links.csv"},
    {"tmdb_5000_movies.csv", "tmdb_5000_credits.csv", NULL, NULL},
    {"ratings.csv", "items.csv", NULL, NULL},
    {"movies.csv", "links.csv", "tmdb_5000_movies.csv", "tmdb_5000_credits.csv"},
    {"movies.csv", "links.csv", "tmdb_5000_movies.csv", "processed_movies.csv"},
};
#define TMDB_JOIN 5
#define TMDB_TAGS_JOIN 6

static void walk(const dataset_t *ds)
{
    const catalog_t *c = ds->catalog;
    size_t sum = 0;
    for (uint32_t i = 0; i < catalog_size(c); i++) {
        sum += strlen(catalog_id(c, i)) + strlen(catalog_title(c, i)) +
               strlen(catalog_overview(c, i));
        for (uint32_t k = 0; k < catalog_item_ngenres(c, i); k++)
            sum += strlen(catalog_genre_name(c, catalog_item_genre(c, i, k)));
        for (int l = 0; l < CATALOG_NLISTS; l++)
            for (uint32_t k = 0; k < catalog_list_len(c, i, (catalog_list_t)l); k++)
                sum += strlen(catalog_list_at(c, i, (catalog_list_t)l, k));
        for (uint32_t k = 0; k < catalog_ntags(c, i); k++)
            sum += strlen(catalog_tag(c, i, k, NULL));
        if (catalog_find(c, catalog_id(c, i), strlen(catalog_id(c, i))) != i)
            abort();
    }
    uint32_t hits[4];
    (void)catalog_search(c, "a", CATALOG_MATCH_SUBSTRING, hits, 4);
    if (ds->ratings) {
        const ratings_t *r = ds->ratings;
        for (size_t i = 0; i < r->n; i++)
            if (r->item[i] >= catalog_size(c) || r->user[i] >= idmap_size(ds->users))
                abort();
    }
    (void)sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 1 << 16)
        return 0;
    if (log_level() != LOG_OFF) /* the join's log line, once per input */
        log_setup("fuzz", LOG_OFF);
    unsigned sel = data[0];
    size_t nl = sizeof layouts / sizeof layouts[0], pick = sel & 7;
    bool seed_tags = pick == 7, tmdb_join = pick == TMDB_JOIN || pick == TMDB_TAGS_JOIN;
    const char *const *names = layouts[pick % nl];
    /* Split the rest on NUL into at most 4 files, each in its own buffer. */
    dataset_file_t files[4];
    char *bufs[4] = {NULL, NULL, NULL, NULL};
    size_t nf = 0, start = 1;
    for (size_t i = 1; i <= size && nf < 4; i++) {
        if (i < size && data[i] != 0)
            continue;
        if (names[nf] == NULL)
            break;
        size_t len = i - start;
        bufs[nf] = malloc(len ? len : 1);
        memcpy(bufs[nf], data + start, len);
        files[nf].name = names[nf];
        files[nf].data = bufs[nf];
        files[nf].len = len;
        nf++;
        start = i + 1;
    }
    err_t err;
    if (seed_tags) {
        dataset_seed_tags_t *t;
        if (nf > 0 && dataset_seed_tags_parse("p.csv", files[0].data, files[0].len, &t, &err) == 0)
            dataset_seed_tags_free(t);
    } else {
        dataset_opts_t o = {.allow_missing_ratings = (sel & 8) != 0, .max_cast = (sel & 16) ? 2 : 0};
        size_t nd = nf;
        if (tmdb_join) {
            o.allow_missing_ratings = true;
            nd = nf < 2 ? nf : 2;
            o.tmdb_files = files + nd;
            o.tmdb_nfiles = nf - nd;
            if (o.tmdb_nfiles == 0) /* an empty TMDB directory: its error path */
                o.tmdb = "(none)";
        }
        dataset_t *ds;
        if (dataset_load_files(files, nd, &ds, &o, &err) == 0) {
            if (tmdb_join && ds->tmdb.matched > ds->tmdb.linked)
                abort();
            walk(ds);
            dataset_free(ds);
        }
    }
    for (size_t i = 0; i < nf; i++)
        free(bufs[i]);
    return 0;
}
