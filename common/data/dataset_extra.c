/*
 * dataset_extra.c: merging a CSV of extra ratings (e.g. exported feedback
 * events) into a loaded dataset; the rules are in dataset.h.
 *
 * The extra file is small next to the dataset, so memory follows it: its
 * rows are read into arrays and collapsed by (user, item) through an
 * open-addressing table (last row wins), then ONE pass over the dataset's
 * ratings finds the pairs that exist. Rows flagged implicit (an event
 * without a rating, which export-feedback gave a value) follow
 * common/data/histmerge.h: per pair the latest explicit row wins over implicit
 * rows before or after it, a dataset rating is never replaced by an
 * implicit row, and an implicit row counts only for a pair without any
 * rating. Without existing pairs, the new rows are
 * appended in place; otherwise a new store is built (kept ratings, then the
 * merged rows), because ratings_t has no removal and an overwritten
 * timestamp could need the 64-bit widening only ratings_add() knows.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/data/csv.h"
#include "common/data/dataset.h"
#include "common/data/dataset_read.h"
#include "common/data/histmerge.h"

typedef struct extra_row {
    uint32_t user, item;
    float value;
    int64_t ts;
    uint32_t hits; /* existing ratings of the pair replaced (0 or 1 in a valid dataset) */
    bool implicit; /* an event without a rating: never replaces a rating */
    bool ignored;  /* implicit, and the dataset rates the pair: not applied */
} extra_row_t;

typedef struct extra_set {
    extra_row_t *rows;
    size_t n, cap;
    uint32_t *slot; /* index + 1 into rows; 0 = empty */
    size_t mask;    /* slot count - 1 (power of two) */
} extra_set_t;

static uint64_t pair_hash(uint32_t user, uint32_t item)
{
    uint64_t h = ((uint64_t)user << 32 | item) * 0x9E3779B97F4A7C15ull;
    return h ^ (h >> 29);
}

/* Slot of the pair: the one holding it, or the empty one where it goes. */
static size_t set_find(const extra_set_t *s, uint32_t user, uint32_t item)
{
    size_t i = (size_t)pair_hash(user, item) & s->mask;
    while (s->slot[i] != 0) {
        const extra_row_t *r = &s->rows[s->slot[i] - 1];
        if (r->user == user && r->item == item)
            return i;
        i = (i + 1) & s->mask;
    }
    return i;
}

static int set_grow(extra_set_t *s)
{
    size_t nslots = (s->mask + 1) * 2;
    uint32_t *slot = calloc(nslots, sizeof *slot);
    extra_row_t *rows = realloc(s->rows, nslots / 2 * sizeof *rows);
    if (slot == NULL || rows == NULL) {
        free(slot);
        if (rows)
            s->rows = rows;
        return -1;
    }
    free(s->slot);
    s->rows = rows;
    s->cap = nslots / 2;
    s->slot = slot;
    s->mask = nslots - 1;
    for (size_t k = 0; k < s->n; k++)
        s->slot[set_find(s, s->rows[k].user, s->rows[k].item)] = (uint32_t)k + 1;
    return 0;
}

/* Adds the pair, or settles it with the row already there (the later
 * row wins unless it is implicit and the earlier one explicit); 1 when the
 * pair was there (one of the two rows no longer counts), 0 when added, -1
 * OOM. */
static int set_put(extra_set_t *s, const extra_row_t *row)
{
    if (s->n + 1 > s->cap && set_grow(s) != 0)
        return -1;
    size_t i = set_find(s, row->user, row->item);
    if (s->slot[i] != 0) {
        extra_row_t *old = &s->rows[s->slot[i] - 1];
        if (histmerge_replaces(!old->implicit, !row->implicit))
            *old = *row;
        return 1;
    }
    s->rows[s->n] = *row;
    s->slot[i] = (uint32_t)++s->n;
    return 0;
}

static int clip_len(size_t len)
{
    return len > 64 ? 64 : (int)len;
}

static int field_is(csv_field_t f, const char *name)
{
    return f.len == strlen(name) && memcmp(f.ptr, name, f.len) == 0;
}

typedef struct extra_cols {
    int user, item, rating, ts, implicit;
    size_t nfields;
} extra_cols_t;

static int read_header(csv_reader_t *r, extra_cols_t *c, err_t *err)
{
    int rc = csv_next(r, err);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return err_set(err, "%s: empty file (expected a header user_id,item_id,rating[,timestamp][,implicit])",
                       csv_name(r));
    c->user = c->item = c->rating = c->ts = c->implicit = -1;
    c->nfields = csv_nfields(r);
    for (size_t i = 0; i < c->nfields; i++) {
        csv_field_t f = csv_field(r, i);
        int *col = field_is(f, "user_id") || field_is(f, "user")   ? &c->user
                   : field_is(f, "item_id") || field_is(f, "item") ? &c->item
                   : field_is(f, "rating")                         ? &c->rating
                   : field_is(f, "timestamp")                      ? &c->ts
                   : field_is(f, "implicit")                       ? &c->implicit
                                                                   : NULL;
        if (col == NULL)
            return csv_error(r, err,
                             "unknown column '%.*s' (expected user_id, item_id, rating, timestamp, implicit)",
                             clip_len(f.len), f.ptr);
        if (*col >= 0)
            return csv_error(r, err, "column '%.*s' given twice", clip_len(f.len), f.ptr);
        *col = (int)i;
    }
    if (c->user < 0 || c->item < 0 || c->rating < 0)
        return csv_error(r, err, "header needs user_id, item_id and rating");
    return 0;
}

/* Reads every row into set (collapsed by pair); new users go into users. */
static int read_rows(csv_reader_t *r, const catalog_t *cat, idmap_t *users, extra_set_t *set,
                     dataset_merge_stats_t *st, err_t *err)
{
    extra_cols_t c;
    if (read_header(r, &c, err) != 0)
        return -1;
    int rc;
    while ((rc = csv_next(r, err)) == 1) {
        if (csv_expect(r, c.nfields, err) != 0)
            return -1;
        const csv_field_t *f = csv_fields(r);
        csv_field_t fu = f[c.user], fi = f[c.item], fr = f[c.rating];
        if (fu.len == 0)
            return csv_error(r, err, "empty user id");
        if (fi.len == 0)
            return csv_error(r, err, "empty item id");
        extra_row_t row = {0};
        row.item = catalog_find(cat, fi.ptr, fi.len);
        if (row.item == IDMAP_NONE)
            return csv_error(r, err, "unknown item id '%.*s' (not in the catalog)", clip_len(fi.len),
                             fi.ptr);
        if (ds_parse_float(fr, &row.value) != 0 || !(row.value == row.value))
            return csv_error(r, err, "bad rating '%.*s'", clip_len(fr.len), fr.ptr);
        if (c.ts >= 0 && ds_parse_i64(f[c.ts], &row.ts) != 0)
            return csv_error(r, err, "bad timestamp '%.*s'", clip_len(f[c.ts].len), f[c.ts].ptr);
        if (c.implicit >= 0) {
            csv_field_t fl = f[c.implicit];
            if (fl.len != 1 || (fl.ptr[0] != '0' && fl.ptr[0] != '1'))
                return csv_error(r, err, "bad implicit flag '%.*s' (0 or 1)", clip_len(fl.len), fl.ptr);
            row.implicit = fl.ptr[0] == '1';
        }
        int added = idmap_intern(users, fu.ptr, fu.len, &row.user);
        int put = added < 0 ? -1 : set_put(set, &row);
        if (put < 0)
            return csv_error(r, err, "out of memory");
        st->rows++;
        st->new_users += added == 1;
        st->collapsed += put == 1;
    }
    return rc < 0 ? -1 : 0;
}

/* Applies set to ds->ratings (see the file comment). */
static int apply(dataset_t *ds, extra_set_t *set, dataset_merge_stats_t *st, err_t *err)
{
    ratings_t *old = ds->ratings;
    bool fresh = old == NULL; /* the dataset had no ratings (catalog only) */
    if (fresh && (old = ratings_new(ds->users, true)) == NULL)
        return err_set(err, "out of memory");
    size_t n0 = old->n;
    uint8_t *drop = NULL;
    ratings_t *dst = old;
    for (size_t i = 0; i < old->n && set->n > 0; i++) {
        size_t k = set_find(set, old->user[i], old->item[i]);
        if (set->slot[k] == 0)
            continue;
        extra_row_t *row = &set->rows[set->slot[k] - 1];
        if (row->implicit) { /* the dataset's rating stands */
            st->implicit_ignored += !row->ignored;
            row->ignored = true;
            continue;
        }
        if (drop == NULL && (drop = calloc(old->n, 1)) == NULL)
            goto oom;
        drop[i] = 1;
        row->hits++;
        st->replaced++;
    }
    if (drop) {
        dst = ratings_new(ds->users, old->has_ts);
        if (dst == NULL || ratings_reserve(dst, old->n + set->n) != 0) {
            ratings_free(dst);
            dst = old;
            goto oom;
        }
        for (size_t i = 0; i < old->n; i++)
            if (!drop[i] && ratings_add(dst, old->user[i], old->item[i], old->value[i],
                                        ratings_ts(old, i)) != 0)
                goto oom;
    } else if (ratings_reserve(dst, old->n + set->n) != 0) {
        goto oom;
    }
    for (size_t k = 0; k < set->n; k++) {
        const extra_row_t *row = &set->rows[k];
        if (row->ignored)
            continue;
        if (ratings_add(dst, row->user, row->item, row->value, row->ts) != 0)
            goto oom;
        st->added += row->hits == 0;
    }
    free(drop);
    if (dst != old)
        ratings_free(old);
    ds->ratings = dst;
    if (fresh)
        snprintf(ds->ratings_name, sizeof ds->ratings_name, "%s", "(extra ratings only)");
    ratings_shrink(dst);
    if (catalog_set_rating_stats(ds->catalog, dst->item, dst->value, dst->n) != 0)
        return err_set(err, "out of memory");
    return 0;
oom:
    free(drop);
    if (dst != old)
        ratings_free(dst);
    old->n = n0; /* rows appended in place are dropped again */
    if (fresh)
        ratings_free(old);
    return err_set(err, "out of memory");
}

static int merge(dataset_t *ds, csv_reader_t *r, dataset_merge_stats_t *stats, err_t *err)
{
    dataset_merge_stats_t st = {0};
    extra_set_t set = {0};
    set.mask = 63;
    set.cap = 32;
    set.slot = calloc(set.mask + 1, sizeof *set.slot);
    set.rows = malloc(set.cap * sizeof *set.rows);
    int rc = -1;
    if (set.slot == NULL || set.rows == NULL)
        err_set(err, "out of memory");
    else if (read_rows(r, ds->catalog, ds->users, &set, &st, err) == 0)
        rc = apply(ds, &set, &st, err);
    free(set.slot);
    free(set.rows);
    if (rc == 0 && stats)
        *stats = st;
    return rc;
}

int dataset_merge_ratings_file(dataset_t *ds, const char *path, dataset_merge_stats_t *stats,
                               err_t *err)
{
    csv_reader_t *r = csv_open_file(path, NULL, NULL, err);
    if (r == NULL)
        return -1;
    int rc = merge(ds, r, stats, err);
    csv_close(r);
    return rc;
}

int dataset_merge_ratings_buffer(dataset_t *ds, const char *name, const char *data, size_t len,
                                 dataset_merge_stats_t *stats, err_t *err)
{
    csv_reader_t *r = csv_open_buffer(name, data, len, NULL, err);
    if (r == NULL)
        return -1;
    int rc = merge(ds, r, stats, err);
    csv_close(r);
    return rc;
}
