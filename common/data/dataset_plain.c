/*
 * dataset_plain.c: the project's own format, ratings.csv [+ items.csv]
 * (specified in dataset.h).
 *
 * Both files name their columns in a header, in any order; an unknown
 * column is an error so that a typo ("titel") is caught rather than
 * silently dropped. Without items.csv the catalog is made from the rated
 * ids, titled by their id.
 */
#include <stdio.h>
#include <string.h>

#include "common/data/dataset_loaders.h"

static int clip(size_t n)
{
    return (int)(n > 60 ? 60 : n);
}

enum { C_ID, C_TITLE, C_YEAR, C_OVERVIEW, C_GENRES, C_DIRECTORS, C_CAST, C_KEYWORDS, C_TAGS, C_N };
static const char *const item_cols[C_N] = {"item_id",   "title", "year",     "overview", "genres",
                                           "directors", "cast",  "keywords", "tags"};

static int part_genre(catalog_t *c, uint32_t item, const char *s, size_t len, void *ud)
{
    (void)ud;
    return catalog_add_genre(c, item, s, len);
}

static int part_list(catalog_t *c, uint32_t item, const char *s, size_t len, void *ud)
{
    return catalog_list_append(c, item, *(const catalog_list_t *)ud, s, len);
}

static int part_tag(catalog_t *c, uint32_t item, const char *s, size_t len, void *ud)
{
    (void)ud;
    return catalog_add_tag(c, item, s, len);
}

static int read_items(dataset_t *ds, const ds_src_t *src, err_t *err)
{
    csv_reader_t *r = ds_src_open(src, "items.csv", NULL, err);
    if (r == NULL)
        return -1;
    ds_text_t tx;
    ds_text_init(&tx, r);
    ds->converted_latin1 = tx.latin1;
    catalog_t *c = ds->catalog;
    int col[C_N];
    for (int k = 0; k < C_N; k++)
        col[k] = -1;
    int rc = csv_next(r, err);
    if (rc <= 0) {
        if (rc == 0)
            err_set(err, "items.csv: empty file, expected a header naming item_id, title");
        goto fail;
    }
    size_t nf = csv_nfields(r);
    for (size_t i = 0; i < nf; i++) {
        csv_field_t f = csv_field(r, i);
        if (i == 0)
            f = ds_strip_bom(f);
        int k = 0;
        while (k < C_N && !csv_field_is(f, item_cols[k]))
            k++;
        if (k == C_N) {
            csv_error(r, err,
                      "unknown column '%.*s' (expected item_id, title, year, overview, genres, "
                      "directors, cast, keywords, tags)",
                      clip(f.len), f.ptr);
            goto fail;
        }
        if (col[k] >= 0) {
            csv_error(r, err, "column '%s' given twice", item_cols[k]);
            goto fail;
        }
        col[k] = (int)i;
    }
    if (col[C_ID] < 0 || col[C_TITLE] < 0) {
        csv_error(r, err, "missing column %s", col[C_ID] < 0 ? "item_id" : "title");
        goto fail;
    }
    while ((rc = csv_next(r, err)) == 1) {
        if (csv_expect(r, nf, err) != 0)
            goto fail;
        csv_field_t id = csv_field(r, (size_t)col[C_ID]);
        uint32_t item;
        err_t e2;
        if (catalog_add_item(c, id.ptr, id.len, &item, &e2) != 0) {
            csv_error(r, err, "%s", e2.msg);
            goto fail;
        }
        size_t len;
        const char *s = ds_text(&tx, csv_field(r, (size_t)col[C_TITLE]), &len);
        if (s == NULL || catalog_set_title(c, item, s, len) != 0)
            goto oom;
        int year = catalog_title_year(s, len);
        if (col[C_YEAR] >= 0 && csv_field(r, (size_t)col[C_YEAR]).len > 0) {
            csv_field_t y = csv_field(r, (size_t)col[C_YEAR]);
            int64_t v;
            if (ds_parse_i64(y, &v) != 0 || v < -9999 || v > 9999) {
                csv_error(r, err, "bad year '%.*s'", clip(y.len), y.ptr);
                goto fail;
            }
            year = (int)v;
        }
        catalog_set_year(c, item, year);
        if (col[C_OVERVIEW] >= 0) {
            s = ds_text(&tx, csv_field(r, (size_t)col[C_OVERVIEW]), &len);
            if (s == NULL || catalog_set_overview(c, item, s, len) != 0)
                goto oom;
        }
        static const catalog_list_t lists[] = {CATALOG_DIRECTORS, CATALOG_CAST, CATALOG_KEYWORDS};
        for (int k = C_GENRES; k <= C_TAGS; k++) {
            if (col[k] < 0)
                continue;
            s = ds_text(&tx, csv_field(r, (size_t)col[k]), &len);
            if (s == NULL)
                goto oom;
            int x;
            if (k == C_GENRES)
                x = ds_split_pipe(s, len, part_genre, c, item, NULL);
            else if (k == C_TAGS)
                x = ds_split_pipe(s, len, part_tag, c, item, NULL);
            else
                x = ds_split_pipe(s, len, part_list, c, item, (void *)&lists[k - C_DIRECTORS]);
            if (x != 0)
                goto oom;
        }
    }
    if (rc < 0)
        goto fail;
    ds_text_free(&tx);
    csv_close(r);
    return 0;
oom:
    csv_error(r, err, "out of memory");
fail:
    ds_text_free(&tx);
    csv_close(r);
    return -1;
}

int ds_load_plain(dataset_t *ds, const ds_src_t *src, const char *ratings_name,
                  const dataset_opts_t *opts, err_t *err)
{
    /* ratings_name NULL: a directory (ratings.csv, items.csv when present);
     * otherwise the one file given. */
    bool with_items = ratings_name == NULL && ds_src_exists(src, "items.csv");
    const char *rname = ratings_name ? ratings_name : "ratings.csv";
    if (with_items) {
        snprintf(ds->items_name, sizeof ds->items_name, "items.csv");
        if (read_items(ds, src, err) != 0)
            return -1;
    } else {
        snprintf(ds->items_name, sizeof ds->items_name, "%s", rname);
    }
    return ds_load_layout_ratings(ds, src, opts, rname, !with_items, err);
}
