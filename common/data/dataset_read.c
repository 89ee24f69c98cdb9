/*
 * dataset_read.c: what every layout loader shares: layout names, file
 * sources (directory or memory), per-file text decoding, number parsing,
 * the ratings headers of the MovieLens CSV and plain layouts, and reading
 * ratings, tags and MovieLens movies rows. Calls nothing above it in the
 * dataset code.
 */
#include "common/data/dataset_read.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/text/utf8.h"

/* ---- layouts ---- */

const char *dataset_layout_name(dataset_layout_t layout)
{
    switch (layout) {
    case DATASET_ML100K:
        return "ml-100k";
    case DATASET_MLDAT:
        return "ml-dat";
    case DATASET_MLCSV:
        return "ml-csv";
    case DATASET_TMDB:
        return "tmdb-5000";
    case DATASET_PLAIN:
        return "plain";
    default:
        return "none";
    }
}

/* ---- sources ---- */

static const dataset_file_t *mem_find(const ds_src_t *src, const char *name)
{
    for (size_t i = 0; i < src->nfiles; i++)
        if (strcmp(src->files[i].name, name) == 0)
            return &src->files[i];
    return NULL;
}

static char *src_path(const ds_src_t *src, const char *name)
{
    if (strchr(name, '/') || src->dir == NULL)
        return strdup(name);
    size_t n = strlen(src->dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", src->dir, name);
    return p;
}

bool ds_src_exists(const ds_src_t *src, const char *name)
{
    if (src->dir == NULL && !strchr(name, '/'))
        return mem_find(src, name) != NULL;
    char *p = src_path(src, name);
    struct stat st;
    bool ok = p && stat(p, &st) == 0 && S_ISREG(st.st_mode);
    free(p);
    return ok;
}

csv_reader_t *ds_src_open(const ds_src_t *src, const char *name, const csv_opts_t *opts,
                          err_t *err)
{
    if (src->dir == NULL && !strchr(name, '/')) {
        const dataset_file_t *f = mem_find(src, name);
        if (f == NULL) {
            err_set(err, "%s: missing", name);
            return NULL;
        }
        return csv_open_buffer(name, f->data, f->len, opts, err);
    }
    char *p = src_path(src, name);
    if (p == NULL) {
        err_set(err, "%s: out of memory", name);
        return NULL;
    }
    csv_reader_t *r = csv_open_file(p, name, opts, err);
    free(p);
    return r;
}

/* ---- text and numbers ---- */

void ds_text_init(ds_text_t *t, const csv_reader_t *r)
{
    size_t len;
    const char *d = csv_data(r, &len);
    t->latin1 = !utf8_valid(d, len);
    t->buf = NULL;
    t->cap = 0;
}

const char *ds_text(ds_text_t *t, csv_field_t f, size_t *len)
{
    if (!t->latin1) {
        *len = f.len;
        return f.ptr;
    }
    size_t need = 2 * f.len + 1;
    if (need > t->cap) {
        char *b = realloc(t->buf, need);
        if (b == NULL)
            return NULL;
        t->buf = b;
        t->cap = need;
    }
    *len = utf8_from_latin1(f.ptr, f.len, t->buf, t->cap);
    return t->buf;
}

void ds_text_free(ds_text_t *t)
{
    free(t->buf);
    t->buf = NULL;
    t->cap = 0;
}

int ds_parse_i64(csv_field_t f, int64_t *v)
{
    const char *p = f.ptr, *e = f.ptr + f.len;
    bool neg = false;
    if (p < e && (*p == '-' || *p == '+'))
        neg = *p++ == '-';
    if (p == e)
        return -1;
    uint64_t x = 0;
    for (; p < e; p++) {
        unsigned d = (unsigned)(unsigned char)*p - '0';
        if (d > 9 || x > (UINT64_C(9223372036854775807) - d) / 10)
            return -1;
        x = x * 10 + d;
    }
    *v = neg ? -(int64_t)x : (int64_t)x;
    return 0;
}

int ds_parse_float(csv_field_t f, float *v)
{
    static const double pow10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};
    const char *p = f.ptr, *e = f.ptr + f.len;
    bool neg = false;
    if (p < e && (*p == '-' || *p == '+'))
        neg = *p++ == '-';
    uint64_t ip = 0, fp = 0;
    int ndig = 0, nfrac = 0;
    while (p < e && *p >= '0' && *p <= '9' && ndig < 15) {
        ip = ip * 10 + (uint64_t)(*p++ - '0');
        ndig++;
    }
    if (p < e && *p == '.') {
        p++;
        while (p < e && *p >= '0' && *p <= '9' && nfrac < 9) {
            fp = fp * 10 + (uint64_t)(*p++ - '0');
            nfrac++;
        }
    }
    if (p == e && ndig + nfrac > 0) {
        double d = (double)ip + (double)fp / pow10[nfrac];
        *v = (float)(neg ? -d : d);
        return 0;
    }
    /* Anything unusual (exponent, many digits): strtod on a copy. */
    char buf[64];
    if (f.len == 0 || f.len >= sizeof buf)
        return -1;
    memcpy(buf, f.ptr, f.len);
    buf[f.len] = '\0';
    if (buf[0] == ' ' || buf[0] == '\t')
        return -1;
    char *end;
    double d = strtod(buf, &end);
    if (*end != '\0' || !isfinite(d) || fabs(d) > 3.0e38)
        return -1;
    *v = (float)d;
    return 0;
}

static int clip(size_t len)
{
    return (int)(len > 80 ? 80 : len);
}

/* ---- ratings ---- */

static const char *const mlcsv_ratings_hdr[] = {"userId", "movieId", "rating", "timestamp"};

int ds_mlcsv_ratings_header(csv_reader_t *r, ds_rcols_t *cols, err_t *err)
{
    (void)cols; /* the default columns 0..3 */
    return ds_expect_header(r, mlcsv_ratings_hdr, 4, err);
}

int ds_plain_ratings_header(csv_reader_t *r, ds_rcols_t *cols, err_t *err)
{
    int rc = csv_next(r, err);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return err_set(err, "%s: empty file, expected a header naming user_id, item_id, rating",
                       csv_name(r));
    cols->user = cols->item = cols->rating = cols->ts = -1;
    cols->nfields = csv_nfields(r);
    for (size_t i = 0; i < csv_nfields(r); i++) {
        csv_field_t f = csv_field(r, i);
        if (i == 0)
            f = ds_strip_bom(f);
        int *slot;
        if (csv_field_is(f, "user_id") || csv_field_is(f, "user"))
            slot = &cols->user;
        else if (csv_field_is(f, "item_id") || csv_field_is(f, "item"))
            slot = &cols->item;
        else if (csv_field_is(f, "rating"))
            slot = &cols->rating;
        else if (csv_field_is(f, "timestamp"))
            slot = &cols->ts;
        else
            return csv_error(r, err,
                             "unknown column '%.*s' (expected user_id, item_id, rating[, timestamp])",
                             clip(f.len), f.ptr);
        if (*slot >= 0)
            return csv_error(r, err, "column '%.*s' given twice", clip(f.len), f.ptr);
        *slot = (int)i;
    }
    if (cols->user < 0)
        return csv_error(r, err, "missing column user_id");
    if (cols->item < 0)
        return csv_error(r, err, "missing column item_id");
    if (cols->rating < 0)
        return csv_error(r, err, "missing column rating");
    return 0;
}


csv_reader_t *ds_open_ratings(dataset_layout_t layout, const ds_src_t *src, const char *name,
                              ds_rcols_t *cols, err_t *err)
{
    memset(cols, 0, sizeof *cols);
    cols->user = 0;
    cols->item = 1;
    cols->rating = 2;
    cols->ts = 3;
    cols->nfields = 4;
    switch (layout) {
    case DATASET_ML100K:
        cols->copts.sep = "\t";
        cols->copts.no_quotes = true;
        break;
    case DATASET_MLDAT:
        cols->copts.sep = "::";
        cols->copts.no_quotes = true;
        break;
    case DATASET_MLCSV:
    case DATASET_PLAIN:
        cols->copts.sep = ",";
        cols->header = true;
        break;
    default:
        err_set(err, "%s: layout %s has no ratings", name, dataset_layout_name(layout));
        return NULL;
    }
    csv_reader_t *r = ds_src_open(src, name, &cols->copts, err);
    if (r == NULL)
        return NULL;
    int rc = 0;
    if (layout == DATASET_MLCSV)
        rc = ds_mlcsv_ratings_header(r, cols, err);
    else if (layout == DATASET_PLAIN)
        rc = ds_plain_ratings_header(r, cols, err);
    if (rc != 0) {
        csv_close(r);
        return NULL;
    }
    return r;
}

/* Lines of data rows a and b (0-based, after any header) of a file. */
static void find_lines(const ds_src_t *src, const char *name, const ds_rcols_t *cols, size_t a,
                       size_t b, uint64_t *la, uint64_t *lb)
{
    err_t e;
    *la = *lb = 0;
    csv_reader_t *r = ds_src_open(src, name, &cols->copts, &e);
    if (r == NULL)
        return;
    if (cols->header && csv_next(r, &e) != 1) {
        csv_close(r);
        return;
    }
    for (size_t k = 0; k <= b && csv_next(r, &e) == 1; k++) {
        if (k == a)
            *la = csv_line(r);
        if (k == b)
            *lb = csv_line(r);
    }
    csv_close(r);
}

int ds_read_ratings(const ds_src_t *src, const char *name, csv_reader_t *r,
                    const ds_rcols_t *cols, catalog_t *cat, idmap_t *users, ratings_t **out,
                    err_t *err)
{
    ratings_t *rt = ratings_new(users, cols->ts >= 0);
    if (rt == NULL)
        return err_set(err, "%s: out of memory", name);
    int rc;
    bool sorted = true;
    while ((rc = csv_next(r, err)) == 1) {
        if (csv_expect(r, cols->nfields, err) != 0)
            goto fail;
        const csv_field_t *f = csv_fields(r);
        csv_field_t fu = f[cols->user], fi = f[cols->item], fr = f[cols->rating];
        if (fu.len == 0) {
            csv_error(r, err, "empty user id");
            goto fail;
        }
        if (fi.len == 0) {
            csv_error(r, err, "empty item id");
            goto fail;
        }
        uint32_t item = catalog_find(cat, fi.ptr, fi.len);
        if (item == IDMAP_NONE) {
            if (!cols->create_items) {
                csv_error(r, err, "unknown item id '%.*s' (not in %s)", clip(fi.len), fi.ptr,
                          cols->items_file ? cols->items_file : "the catalog");
                goto fail;
            }
            err_t e2;
            if (catalog_add_item(cat, fi.ptr, fi.len, &item, &e2) != 0 ||
                catalog_set_title(cat, item, fi.ptr, fi.len) != 0) {
                csv_error(r, err, "%s", e2.msg);
                goto fail;
            }
        }
        float v;
        if (ds_parse_float(fr, &v) != 0) {
            csv_error(r, err, "bad rating '%.*s'", clip(fr.len), fr.ptr);
            goto fail;
        }
        int64_t ts = 0;
        if (cols->ts >= 0 && ds_parse_i64(f[cols->ts], &ts) != 0) {
            csv_error(r, err, "bad timestamp '%.*s'", clip(f[cols->ts].len), f[cols->ts].ptr);
            goto fail;
        }
        if (rt->n == 4096) {
            /* Files are uniform enough that the first rows predict the
             * total: reserve it (+10%) instead of doubling past it. */
            size_t total, used = csv_offset(r);
            (void)csv_data(r, &total);
            double est = (double)total / (double)(used ? used : 1) * 4096.0 * 1.1;
            if (est > 8192.0 && est < 4e9)
                (void)ratings_reserve(rt, (size_t)est);
        }
        uint32_t user;
        if (idmap_intern(users, fu.ptr, fu.len, &user) < 0 ||
            ratings_add(rt, user, item, v, ts) != 0) {
            csv_error(r, err, "out of memory");
            goto fail;
        }
        /* Rows ordered by (user, item) cannot repeat a pair; MovieLens CSV
         * files are, which spares the duplicate check and its scratch. */
        if (sorted && rt->n > 1) {
            size_t p = rt->n - 2;
            sorted = user > rt->user[p] || (user == rt->user[p] && item > rt->item[p]);
        }
    }
    if (rc < 0)
        goto fail;
    ratings_shrink(rt);
    size_t a, b;
    rc = sorted ? 0 : ratings_find_duplicate(rt, &a, &b);
    if (rc < 0) {
        err_set(err, "%s: out of memory", name);
        goto fail;
    }
    if (rc == 1) {
        uint64_t la, lb;
        find_lines(src, name, cols, a, b, &la, &lb);
        err_set(err, "%s:%llu: duplicate rating of item '%s' by user '%s' (first at line %llu)",
                name, (unsigned long long)lb, catalog_id(cat, rt->item[b]),
                idmap_key(users, rt->user[b], NULL), (unsigned long long)la);
        goto fail;
    }
    *out = rt;
    return 0;
fail:
    ratings_free(rt);
    return -1;
}

int ds_read_tags(csv_reader_t *r, int item_col, int tag_col, size_t nfields, catalog_t *cat,
                 const char *items_file, uint64_t *rows, err_t *err)
{
    ds_text_t tx;
    ds_text_init(&tx, r);
    int rc;
    while ((rc = csv_next(r, err)) == 1) {
        if (csv_expect(r, nfields, err) != 0)
            goto fail;
        csv_field_t fi = csv_field(r, (size_t)item_col);
        uint32_t item = catalog_find(cat, fi.ptr, fi.len);
        if (item == IDMAP_NONE) {
            csv_error(r, err, "unknown item id '%.*s' (not in %s)", clip(fi.len), fi.ptr,
                      items_file);
            goto fail;
        }
        size_t len;
        const char *s = ds_text(&tx, csv_field(r, (size_t)tag_col), &len);
        if (s == NULL) {
            csv_error(r, err, "out of memory");
            goto fail;
        }
        (*rows)++;
        if (len > 0 && catalog_add_tag(cat, item, s, len) != 0) {
            csv_error(r, err, "out of memory");
            goto fail;
        }
    }
    if (rc < 0)
        goto fail;
    ds_text_free(&tx);
    return 0;
fail:
    ds_text_free(&tx);
    return -1;
}

csv_field_t ds_strip_bom(csv_field_t f)
{
    if (f.len >= 3 && memcmp(f.ptr, "\xef\xbb\xbf", 3) == 0) {
        f.ptr += 3;
        f.len -= 3;
    }
    return f;
}

int ds_expect_header(csv_reader_t *r, const char *const names[], size_t n, err_t *err)
{
    int rc = csv_next(r, err);
    if (rc < 0)
        return -1;
    bool ok = rc == 1 && csv_nfields(r) == n;
    for (size_t i = 0; ok && i < n; i++) {
        csv_field_t f = csv_field(r, i);
        if (i == 0)
            f = ds_strip_bom(f);
        ok = csv_field_is(f, names[i]);
    }
    if (ok)
        return 0;
    char want[256] = "";
    size_t at = 0;
    for (size_t i = 0; i < n && at < sizeof want; i++)
        at += (size_t)snprintf(want + at, sizeof want - at, "%s%s", i ? "," : "", names[i]);
    if (rc == 0)
        return err_set(err, "%s: empty file, expected the header %s", csv_name(r), want);
    return csv_error(r, err, "expected the header %s", want);
}

int ds_split_pipe(const char *s, size_t len, ds_part_fn fn, catalog_t *c, uint32_t item,
                  void *ud)
{
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] != '|')
            continue;
        if (i > start && fn(c, item, s + start, i - start, ud) != 0)
            return -1;
        start = i + 1;
    }
    return 0;
}

static int add_genre_part(catalog_t *c, uint32_t item, const char *s, size_t len, void *ud)
{
    (void)ud;
    return catalog_add_genre(c, item, s, len);
}

int ds_ml_genres(catalog_t *c, uint32_t item, const char *s, size_t len)
{
    static const char none[] = "(no genres listed)";
    if (len == sizeof none - 1 && memcmp(s, none, len) == 0)
        return 0;
    return ds_split_pipe(s, len, add_genre_part, c, item, NULL);
}

int ds_read_ml_movies(dataset_t *ds, const ds_src_t *src, const char *name, const csv_opts_t *o,
                      const char *const *header, err_t *err)
{
    csv_reader_t *r = ds_src_open(src, name, o, err);
    if (r == NULL)
        return -1;
    ds_text_t tx;
    ds_text_init(&tx, r);
    ds->converted_latin1 = tx.latin1;
    catalog_t *c = ds->catalog;
    int rc = -1;
    if (header != NULL && ds_expect_header(r, header, 3, err) != 0)
        goto out;
    while ((rc = csv_next(r, err)) == 1) {
        rc = -1;
        if (csv_expect(r, 3, err) != 0)
            goto out;
        csv_field_t id = csv_field(r, 0);
        uint32_t item;
        err_t e2;
        if (catalog_add_item(c, id.ptr, id.len, &item, &e2) != 0) {
            csv_error(r, err, "%s", e2.msg);
            goto out;
        }
        size_t len;
        const char *title = ds_text(&tx, csv_field(r, 1), &len);
        if (title == NULL || catalog_set_title(c, item, title, len) != 0) {
            csv_error(r, err, "out of memory");
            goto out;
        }
        catalog_set_year(c, item, catalog_title_year(title, len));
        const char *g = ds_text(&tx, csv_field(r, 2), &len);
        if (g == NULL || ds_ml_genres(c, item, g, len) != 0) {
            csv_error(r, err, "out of memory");
            goto out;
        }
    }
out:
    ds_text_free(&tx);
    csv_close(r);
    return rc < 0 ? -1 : 0;
}

const char *ds_ratings_name(const dataset_opts_t *opts, const char *def)
{
    return (opts && opts->ratings_file && opts->ratings_file[0]) ? opts->ratings_file : def;
}

int ds_missing_ratings(dataset_t *ds, const char *name, const dataset_opts_t *opts, err_t *err)
{
    if (opts && opts->allow_missing_ratings) {
        snprintf(ds->ratings_note, sizeof ds->ratings_note,
                 "no ratings: %s is missing (catalog only)", name);
        return 0;
    }
    return err_set(err, "%s: missing: layout %s has no ratings without it "
                        "(allow-missing-ratings loads the catalog alone)",
                   name, dataset_layout_name(ds->layout));
}

int ds_load_layout_ratings(dataset_t *ds, const ds_src_t *src, const dataset_opts_t *opts,
                           const char *def, bool create_items, err_t *err)
{
    if (opts && opts->skip_ratings) {
        snprintf(ds->ratings_note, sizeof ds->ratings_note, "no ratings: not read (skip_ratings)");
        return 0;
    }
    const char *name = ds_ratings_name(opts, def);
    if (!ds_src_exists(src, name)) {
        if (opts && opts->ratings_file && opts->ratings_file[0])
            return err_set(err, "%s: missing", name);
        return ds_missing_ratings(ds, name, opts, err);
    }
    ds_rcols_t cols;
    csv_reader_t *r = ds_open_ratings(ds->layout, src, name, &cols, err);
    if (r == NULL)
        return -1;
    cols.create_items = create_items;
    cols.items_file = ds->items_name;
    int rc = ds_read_ratings(src, name, r, &cols, ds->catalog, ds->users, &ds->ratings, err);
    csv_close(r);
    if (rc == 0)
        snprintf(ds->ratings_name, sizeof ds->ratings_name, "%s", name);
    return rc;
}
