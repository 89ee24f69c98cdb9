/*
 * dataset_ml100k.c: MovieLens 100K (u.genre, u.item, u.data).
 *
 * u.genre names the genres in flag order ("Action|1"), and ends with a
 * blank line that the csv reader skips. u.item carries 5 fields and one 0/1
 * flag per genre; it is Latin-1, so titles are converted to UTF-8. The year
 * comes from the title's "(1995)", else from the release date
 * "01-Jan-1995" (item 267 has neither: year 0).
 */
#include <stdio.h>
#include <string.h>

#include "common/data/dataset_loaders.h"

static int read_genres(dataset_t *ds, const ds_src_t *src, uint32_t *ngenres, err_t *err)
{
    csv_opts_t o = {"|", true};
    csv_reader_t *r = ds_src_open(src, "u.genre", &o, err);
    if (r == NULL)
        return -1;
    int rc;
    uint32_t n = 0;
    while ((rc = csv_next(r, err)) == 1) {
        if (csv_expect(r, 2, err) != 0)
            goto fail;
        csv_field_t name = csv_field(r, 0), id = csv_field(r, 1);
        int64_t v;
        if (ds_parse_i64(id, &v) != 0 || v != (int64_t)n) {
            csv_error(r, err, "genre id '%.*s' should be %u", (int)(id.len > 20 ? 20 : id.len),
                      id.ptr, n);
            goto fail;
        }
        uint32_t g;
        if (name.len == 0 || catalog_intern_genre(ds->catalog, name.ptr, name.len, &g) != 0 ||
            g != n) {
            csv_error(r, err, "empty or repeated genre name");
            goto fail;
        }
        n++;
    }
    if (rc < 0)
        goto fail;
    csv_close(r);
    *ngenres = n;
    return 0;
fail:
    csv_close(r);
    return -1;
}

static int year_from_date(csv_field_t d)
{
    if (d.len < 4)
        return 0;
    const char *p = d.ptr + d.len - 4;
    for (int i = 0; i < 4; i++)
        if (p[i] < '0' || p[i] > '9')
            return 0;
    return (p[0] - '0') * 1000 + (p[1] - '0') * 100 + (p[2] - '0') * 10 + (p[3] - '0');
}

static int read_items(dataset_t *ds, const ds_src_t *src, uint32_t ngenres, err_t *err)
{
    csv_opts_t o = {"|", true};
    csv_reader_t *r = ds_src_open(src, "u.item", &o, err);
    if (r == NULL)
        return -1;
    ds_text_t tx;
    ds_text_init(&tx, r);
    ds->converted_latin1 = tx.latin1;
    catalog_t *c = ds->catalog;
    int rc;
    while ((rc = csv_next(r, err)) == 1) {
        if (csv_expect(r, 5 + (size_t)ngenres, err) != 0)
            goto fail;
        csv_field_t id = csv_field(r, 0);
        uint32_t item;
        err_t e2;
        if (catalog_add_item(c, id.ptr, id.len, &item, &e2) != 0) {
            csv_error(r, err, "%s", e2.msg);
            goto fail;
        }
        size_t tlen;
        const char *title = ds_text(&tx, csv_field(r, 1), &tlen);
        if (title == NULL || catalog_set_title(c, item, title, tlen) != 0) {
            csv_error(r, err, "out of memory");
            goto fail;
        }
        int year = catalog_title_year(title, tlen);
        catalog_set_year(c, item, year ? year : year_from_date(csv_field(r, 2)));
        for (uint32_t g = 0; g < ngenres; g++) {
            csv_field_t f = csv_field(r, 5 + g);
            if (f.len != 1 || (f.ptr[0] != '0' && f.ptr[0] != '1')) {
                csv_error(r, err, "genre flag %u is '%.*s', not 0 or 1", g,
                          (int)(f.len > 20 ? 20 : f.len), f.ptr);
                goto fail;
            }
            if (f.ptr[0] == '1' && catalog_add_genre_id(c, item, g) != 0) {
                csv_error(r, err, "out of memory");
                goto fail;
            }
        }
    }
    if (rc < 0)
        goto fail;
    ds_text_free(&tx);
    csv_close(r);
    return 0;
fail:
    ds_text_free(&tx);
    csv_close(r);
    return -1;
}

int ds_load_ml100k(dataset_t *ds, const ds_src_t *src, const dataset_opts_t *opts, err_t *err)
{
    snprintf(ds->items_name, sizeof ds->items_name, "u.item");
    uint32_t ngenres;
    if (read_genres(ds, src, &ngenres, err) != 0)
        return -1;
    if (read_items(ds, src, ngenres, err) != 0)
        return -1;
    return ds_load_layout_ratings(ds, src, opts, "u.data", false, err);
}
