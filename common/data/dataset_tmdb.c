/*
 * dataset_tmdb.c: Kaggle "TMDB 5000" (tmdb_5000_movies.csv, tmdb_5000_credits.csv).
 *
 * Columns are found by header name, so the 20-column movies file and any
 * reordering of it load alike. JSON arrays sit inside quoted CSV fields
 * (the csv reader undoes the "" doubling) and are parsed with cJSON:
 * genres and keywords are [{"id":..,"name":..}], credits' cast carries
 * "order" (billing; sorted on it, stable) and crew carries "job" (directors
 * are the "Director" entries in file order). An empty field reads as [].
 * Three overviews hold a bare CR inside quotes; it is kept as data.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/data/dataset_loaders.h"

typedef struct cols {
    int id, title, genres, keywords, overview, release_date, vote_average, vote_count,
        popularity;
} cols_t;

static int find_col(csv_reader_t *r, const char *name)
{
    for (size_t i = 0; i < csv_nfields(r); i++) {
        csv_field_t f = csv_field(r, i);
        if (i == 0)
            f = ds_strip_bom(f);
        if (csv_field_is(f, name))
            return (int)i;
    }
    return -1;
}

/* Parses field text as a JSON array; NULL with an error for anything else. */
static cJSON *parse_array(csv_reader_t *r, ds_text_t *tx, csv_field_t f, const char *col,
                          err_t *err)
{
    size_t len;
    const char *s = ds_text(tx, f, &len);
    if (s == NULL) {
        csv_error(r, err, "out of memory");
        return NULL;
    }
    if (len == 0)
        s = "[]", len = 2;
    cJSON *j = cJSON_ParseWithLength(s, len);
    if (j == NULL || !cJSON_IsArray(j)) {
        cJSON_Delete(j);
        csv_error(r, err, "%s: not a JSON array", col);
        return NULL;
    }
    return j;
}

typedef int (*name_fn)(catalog_t *c, uint32_t item, const char *s, size_t len);

static int add_genre(catalog_t *c, uint32_t item, const char *s, size_t len)
{
    return catalog_add_genre(c, item, s, len);
}

static int add_keyword(catalog_t *c, uint32_t item, const char *s, size_t len)
{
    return catalog_list_append(c, item, CATALOG_KEYWORDS, s, len);
}

/* Adds the "name" of every object of a JSON array column. */
static int add_names(csv_reader_t *r, ds_text_t *tx, int col, const char *colname, catalog_t *c,
                     uint32_t item, name_fn fn, err_t *err)
{
    if (col < 0)
        return 0;
    cJSON *j = parse_array(r, tx, csv_field(r, (size_t)col), colname, err);
    if (j == NULL)
        return -1;
    const cJSON *e;
    cJSON_ArrayForEach(e, j)
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "name");
        if (!cJSON_IsString(name)) {
            cJSON_Delete(j);
            return csv_error(r, err, "%s: an element has no string \"name\"", colname);
        }
        size_t len = strlen(name->valuestring);
        if (len > 0 && fn(c, item, name->valuestring, len) != 0) {
            cJSON_Delete(j);
            return csv_error(r, err, "out of memory");
        }
    }
    cJSON_Delete(j);
    return 0;
}

static int parse_num(csv_reader_t *r, int col, const char *name, float *v, err_t *err)
{
    *v = 0;
    if (col < 0)
        return 0;
    csv_field_t f = csv_field(r, (size_t)col);
    if (f.len > 0 && ds_parse_float(f, v) != 0)
        return csv_error(r, err, "bad %s '%.*s'", name, (int)(f.len > 40 ? 40 : f.len), f.ptr);
    return 0;
}

static int read_movies(dataset_t *ds, const ds_src_t *src, err_t *err)
{
    csv_reader_t *r = ds_src_open(src, "tmdb_5000_movies.csv", NULL, err);
    if (r == NULL)
        return -1;
    ds_text_t tx;
    ds_text_init(&tx, r);
    ds->converted_latin1 = tx.latin1;
    catalog_t *c = ds->catalog;
    int rc = csv_next(r, err);
    if (rc <= 0) {
        if (rc == 0)
            err_set(err, "tmdb_5000_movies.csv: empty file, expected a header");
        goto fail;
    }
    size_t nf = csv_nfields(r);
    cols_t k = {find_col(r, "id"), find_col(r, "title"), find_col(r, "genres"),
                find_col(r, "keywords"), find_col(r, "overview"), find_col(r, "release_date"),
                find_col(r, "vote_average"), find_col(r, "vote_count"), find_col(r, "popularity")};
    if (k.id < 0 || k.title < 0) {
        csv_error(r, err, "header lacks the id or title column");
        goto fail;
    }
    while ((rc = csv_next(r, err)) == 1) {
        if (csv_expect(r, nf, err) != 0)
            goto fail;
        csv_field_t id = csv_field(r, (size_t)k.id);
        uint32_t item;
        err_t e2;
        if (catalog_add_item(c, id.ptr, id.len, &item, &e2) != 0) {
            csv_error(r, err, "%s", e2.msg);
            goto fail;
        }
        size_t len;
        const char *s = ds_text(&tx, csv_field(r, (size_t)k.title), &len);
        if (s == NULL || catalog_set_title(c, item, s, len) != 0) {
            csv_error(r, err, "out of memory");
            goto fail;
        }
        if (k.overview >= 0) {
            s = ds_text(&tx, csv_field(r, (size_t)k.overview), &len);
            if (s == NULL || catalog_set_overview(c, item, s, len) != 0) {
                csv_error(r, err, "out of memory");
                goto fail;
            }
        }
        if (k.release_date >= 0) {
            csv_field_t d = csv_field(r, (size_t)k.release_date);
            int64_t y;
            csv_field_t yf = {d.ptr, 4};
            if (d.len >= 4 && ds_parse_i64(yf, &y) == 0 && y > 0)
                catalog_set_year(c, item, (int)y);
        }
        if (add_names(r, &tx, k.genres, "genres", c, item, add_genre, err) != 0 ||
            add_names(r, &tx, k.keywords, "keywords", c, item, add_keyword, err) != 0)
            goto fail;
        float avg, cnt, pop;
        if (parse_num(r, k.vote_average, "vote_average", &avg, err) != 0 ||
            parse_num(r, k.vote_count, "vote_count", &cnt, err) != 0 ||
            parse_num(r, k.popularity, "popularity", &pop, err) != 0)
            goto fail;
        catalog_set_votes(c, item, avg, cnt > 0 && cnt < 4e9f ? (uint32_t)cnt : 0, pop);
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

typedef struct cast_ent {
    double order;
    size_t pos;
    const char *name;
} cast_ent_t;

static int cmp_cast(const void *a, const void *b)
{
    const cast_ent_t *x = a, *y = b;
    if (x->order != y->order)
        return x->order < y->order ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static int add_cast(csv_reader_t *r, ds_text_t *tx, csv_field_t f, catalog_t *c, uint32_t item,
                    uint32_t max_cast, err_t *err)
{
    cJSON *j = parse_array(r, tx, f, "cast", err);
    if (j == NULL)
        return -1;
    size_t n = (size_t)cJSON_GetArraySize(j), k = 0;
    cast_ent_t *v = calloc(n ? n : 1, sizeof *v);
    if (v == NULL) {
        cJSON_Delete(j);
        return csv_error(r, err, "out of memory");
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, j)
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "name");
        const cJSON *order = cJSON_GetObjectItemCaseSensitive(e, "order");
        if (!cJSON_IsString(name) || !cJSON_IsNumber(order) || k >= n) {
            free(v);
            cJSON_Delete(j);
            return csv_error(r, err, "cast: an element lacks a string \"name\" or a number \"order\"");
        }
        v[k].order = order->valuedouble;
        v[k].pos = k;
        v[k].name = name->valuestring;
        k++;
    }
    qsort(v, k, sizeof *v, cmp_cast);
    int rc = 0;
    for (size_t i = 0; i < k && (max_cast == 0 || i < max_cast); i++) {
        size_t len = strlen(v[i].name);
        if (len > 0 && catalog_list_append(c, item, CATALOG_CAST, v[i].name, len) != 0) {
            rc = csv_error(r, err, "out of memory");
            break;
        }
    }
    free(v);
    cJSON_Delete(j);
    return rc;
}

static int add_directors(csv_reader_t *r, ds_text_t *tx, csv_field_t f, catalog_t *c,
                         uint32_t item, err_t *err)
{
    cJSON *j = parse_array(r, tx, f, "crew", err);
    if (j == NULL)
        return -1;
    const cJSON *e;
    cJSON_ArrayForEach(e, j)
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "name");
        const cJSON *job = cJSON_GetObjectItemCaseSensitive(e, "job");
        if (!cJSON_IsString(job) || strcmp(job->valuestring, "Director") != 0)
            continue;
        if (!cJSON_IsString(name)) {
            cJSON_Delete(j);
            return csv_error(r, err, "crew: a Director has no string \"name\"");
        }
        size_t len = strlen(name->valuestring);
        if (len > 0 && catalog_list_append(c, item, CATALOG_DIRECTORS, name->valuestring, len)) {
            cJSON_Delete(j);
            return csv_error(r, err, "out of memory");
        }
    }
    cJSON_Delete(j);
    return 0;
}

static int read_credits(dataset_t *ds, const ds_src_t *src, const dataset_opts_t *opts,
                        err_t *err)
{
    csv_reader_t *r = ds_src_open(src, "tmdb_5000_credits.csv", NULL, err);
    if (r == NULL)
        return -1;
    ds_text_t tx;
    ds_text_init(&tx, r);
    catalog_t *c = ds->catalog;
    unsigned char *seen = calloc(catalog_size(c) ? catalog_size(c) : 1, 1);
    int rc = csv_next(r, err);
    if (seen == NULL || rc <= 0) {
        if (rc == 0)
            err_set(err, "tmdb_5000_credits.csv: empty file, expected a header");
        else if (seen == NULL)
            err_set(err, "out of memory");
        goto fail;
    }
    size_t nf = csv_nfields(r);
    int cid = find_col(r, "movie_id"), ccast = find_col(r, "cast"), ccrew = find_col(r, "crew");
    if (cid < 0 || ccast < 0 || ccrew < 0) {
        csv_error(r, err, "header lacks movie_id, cast or crew");
        goto fail;
    }
    while ((rc = csv_next(r, err)) == 1) {
        if (csv_expect(r, nf, err) != 0)
            goto fail;
        csv_field_t id = csv_field(r, (size_t)cid);
        uint32_t item = catalog_find(c, id.ptr, id.len);
        if (item == IDMAP_NONE) {
            csv_error(r, err, "unknown item id '%.*s' (not in tmdb_5000_movies.csv)",
                      (int)(id.len > 80 ? 80 : id.len), id.ptr);
            goto fail;
        }
        if (seen[item]) {
            csv_error(r, err, "second credits row for movie_id '%.*s'",
                      (int)(id.len > 80 ? 80 : id.len), id.ptr);
            goto fail;
        }
        seen[item] = 1;
        if (add_cast(r, &tx, csv_field(r, (size_t)ccast), c, item, opts->max_cast, err) != 0 ||
            add_directors(r, &tx, csv_field(r, (size_t)ccrew), c, item, err) != 0)
            goto fail;
    }
    if (rc < 0)
        goto fail;
    free(seen);
    ds_text_free(&tx);
    csv_close(r);
    return 0;
fail:
    free(seen);
    ds_text_free(&tx);
    csv_close(r);
    return -1;
}

int ds_load_tmdb(dataset_t *ds, const ds_src_t *src, const dataset_opts_t *opts, err_t *err)
{
    snprintf(ds->items_name, sizeof ds->items_name, "tmdb_5000_movies.csv");
    if (read_movies(ds, src, err) != 0)
        return -1;
    if (ds_src_exists(src, "tmdb_5000_credits.csv")) {
        if (read_credits(ds, src, opts, err) != 0)
            return -1;
        ds->has_credits = true;
    }
    snprintf(ds->ratings_note, sizeof ds->ratings_note, "no ratings: layout tmdb-5000 has none");
    return 0;
}
