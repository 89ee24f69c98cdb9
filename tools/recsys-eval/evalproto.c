/*
 * evalproto.c: splits (universe, per-user CSR, candidates) and the per-user
 * evaluation loops; the rules are in evalproto.h.
 *
 * The universe is built once per split from the dataset's ratings and the
 * split's own rows; ratings are grouped by user with a counting sort and each
 * user's items sorted, which also finds (user, item) pairs given twice.
 */
#include "tools/recsys-eval/evalproto.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/data/csv.h"
#include "common/data/idmap.h"
#include "common/base/rng.h"
#include "common/math/topk.h"

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Raw-id order: canonical integers by value first, then other ids by bytes. */
typedef struct rawkey {
    uint32_t cat;
    int numeric;
    uint64_t v;
    const char *s;
} rawkey_t;

static int cmp_rawkey(const void *a, const void *b)
{
    const rawkey_t *x = a, *y = b;
    if (x->numeric != y->numeric)
        return x->numeric ? -1 : 1;
    if (x->numeric)
        return (x->v > y->v) - (x->v < y->v);
    int c = strcmp(x->s, y->s);
    return c ? c : (x->cat > y->cat) - (x->cat < y->cat);
}

static void csr_free(evalproto_csr_t *c)
{
    free(c->off);
    free(c->item);
    free(c->value);
    memset(c, 0, sizeof *c);
}

typedef struct uv {
    uint32_t item;
    float value;
} uv_t;

static int cmp_uv(const void *a, const void *b)
{
    const uv_t *x = a, *y = b;
    return (x->item > y->item) - (x->item < y->item);
}

/* Groups r by user (universe item indices, ascending); -1 on a repeated pair. */
static int csr_build(const evalproto_split_t *s, const ratings_t *r, const char *what,
                     evalproto_csr_t *c, err_t *err)
{
    memset(c, 0, sizeof *c);
    c->off = calloc((size_t)s->nusers + 2, sizeof(size_t));
    c->item = malloc((r->n + 1) * sizeof(uint32_t));
    c->value = malloc((r->n + 1) * sizeof(float));
    uv_t *tmp = malloc((r->n + 1) * sizeof(uv_t));
    if (!c->off || !c->item || !c->value || !tmp) {
        free(tmp);
        csr_free(c);
        return err_set(err, "%s: out of memory grouping %zu ratings", s->name, r->n);
    }
    for (size_t k = 0; k < r->n; k++) {
        if (r->user[k] >= s->nusers || r->item[k] >= s->ncat ||
            s->cat_item[r->item[k]] == EVALPROTO_NONE) {
            free(tmp);
            csr_free(c);
            return err_set(err, "%s: %s rating %zu outside the user or item space", s->name,
                           what, k);
        }
        c->off[r->user[k] + 1]++;
    }
    for (uint32_t u = 0; u < s->nusers; u++)
        c->off[u + 1] += c->off[u];
    size_t *pos = calloc((size_t)s->nusers + 1, sizeof(size_t));
    if (!pos) {
        free(tmp);
        csr_free(c);
        return err_set(err, "%s: out of memory", s->name);
    }
    memcpy(pos, c->off, (size_t)s->nusers * sizeof(size_t));
    for (size_t k = 0; k < r->n; k++) {
        size_t p = pos[r->user[k]]++;
        tmp[p].item = s->cat_item[r->item[k]];
        tmp[p].value = r->value[k];
    }
    free(pos);
    for (uint32_t u = 0; u < s->nusers; u++) {
        size_t a = c->off[u], b = c->off[u + 1];
        if (b - a > 1)
            qsort(tmp + a, b - a, sizeof *tmp, cmp_uv);
        for (size_t p = a; p < b; p++) {
            if (p > a && tmp[p].item == tmp[p - 1].item) {
                const char *uid = idmap_key(s->ds->users, u, NULL);
                const char *iid = catalog_id(s->ds->catalog, s->item_cat[tmp[p].item]);
                err_set(err, "%s: user '%s' rated item '%s' twice in the %s set", s->name,
                        uid ? uid : "?", iid, what);
                free(tmp);
                csr_free(c);
                return -1;
            }
            c->item[p] = tmp[p].item;
            c->value[p] = tmp[p].value;
        }
    }
    free(tmp);
    return 0;
}

/* Universe = items of ds->ratings, train and test, sorted by raw id. */
static int build_universe(evalproto_split_t *s, err_t *err)
{
    const catalog_t *cat = s->ds->catalog;
    s->ncat = catalog_size(cat);
    s->cat_item = malloc(((size_t)s->ncat + 1) * sizeof(uint32_t));
    uint8_t *used = calloc((size_t)s->ncat + 1, 1);
    if (!s->cat_item || !used) {
        free(used);
        return err_set(err, "%s: out of memory", s->name);
    }
    const ratings_t *src[3] = {s->ds->ratings, s->train, s->test};
    for (int k = 0; k < 3; k++) {
        if (!src[k])
            continue;
        for (size_t i = 0; i < src[k]->n; i++) {
            if (src[k]->item[i] >= s->ncat) {
                free(used);
                return err_set(err, "%s: item index %u outside the catalog", s->name,
                               src[k]->item[i]);
            }
            used[src[k]->item[i]] = 1;
        }
    }
    uint32_t n = 0;
    for (uint32_t i = 0; i < s->ncat; i++)
        n += used[i];
    rawkey_t *keys = malloc(((size_t)n + 1) * sizeof *keys);
    s->item_cat = malloc(((size_t)n + 1) * sizeof(uint32_t));
    if (!keys || !s->item_cat) {
        free(keys);
        free(used);
        return err_set(err, "%s: out of memory", s->name);
    }
    uint32_t j = 0;
    for (uint32_t i = 0; i < s->ncat; i++) {
        s->cat_item[i] = EVALPROTO_NONE;
        if (!used[i])
            continue;
        size_t len;
        const char *id = catalog_id(cat, i);
        len = strlen(id);
        keys[j].cat = i;
        keys[j].s = id;
        keys[j].numeric = idmap_parse_canonical(id, len, &keys[j].v) == 0;
        j++;
    }
    qsort(keys, n, sizeof *keys, cmp_rawkey);
    for (uint32_t k = 0; k < n; k++) {
        s->item_cat[k] = keys[k].cat;
        s->cat_item[keys[k].cat] = k;
    }
    s->nitems = n;
    s->ncandidates = n;
    free(keys);
    free(used);
    return 0;
}

void evalproto_split_free(evalproto_split_t *s)
{
    if (!s)
        return;
    free(s->item_cat);
    free(s->cat_item);
    ratings_free(s->train);
    ratings_free(s->test);
    csr_free(&s->train_by_user);
    csr_free(&s->test_by_user);
    free(s->candidates);
    free(s);
}

int evalproto_split_new(dataset_t *ds, const char *name, ratings_t *train, ratings_t *test,
                        evalproto_split_t **out, err_t *err)
{
    *out = NULL;
    evalproto_split_t *s = calloc(1, sizeof *s);
    if (!s) {
        ratings_free(train);
        ratings_free(test);
        return err_set(err, "%s: out of memory", name);
    }
    snprintf(s->name, sizeof s->name, "%s", name);
    s->ds = ds;
    s->train = train;
    s->test = test;
    s->relevant_min = 4.0f;
    s->nusers = idmap_size(ds->users);
    if (!train || !test) {
        evalproto_split_free(s);
        return err_set(err, "%s: missing train or test ratings", name);
    }
    if (build_universe(s, err) != 0 || csr_build(s, train, "train", &s->train_by_user, err) != 0 ||
        csr_build(s, test, "test", &s->test_by_user, err) != 0) {
        evalproto_split_free(s);
        return -1;
    }
    *out = s;
    return 0;
}

int evalproto_split_ml100k(dataset_t *ds, const char *base, evalproto_split_t **out, err_t *err)
{
    char name[96];
    ratings_t *train = NULL, *test = NULL;
    *out = NULL;
    snprintf(name, sizeof name, "%s.base", base);
    if (dataset_load_ratings_file(ds, name, &train, err) != 0)
        return -1;
    snprintf(name, sizeof name, "%s.test", base);
    if (dataset_load_ratings_file(ds, name, &test, err) != 0) {
        ratings_free(train);
        return -1;
    }
    return evalproto_split_new(ds, base, train, test, out, err);
}

static int parse_float(csv_field_t f, double *v)
{
    char buf[64];
    if (f.len == 0 || f.len >= sizeof buf)
        return -1;
    memcpy(buf, f.ptr, f.len);
    buf[f.len] = 0;
    char *end;
    *v = strtod(buf, &end);
    return (*end || !isfinite(*v)) ? -1 : 0;
}

static int parse_int(csv_field_t f, int64_t *v)
{
    char buf[32];
    if (f.len == 0) {
        *v = 0;
        return 0;
    }
    if (f.len >= sizeof buf)
        return -1;
    memcpy(buf, f.ptr, f.len);
    buf[f.len] = 0;
    char *end;
    long long x = strtoll(buf, &end, 10);
    if (*end)
        return -1;
    *v = x;
    return 0;
}

int evalproto_split_parse(dataset_t *ds, const char *name, const char *buf, size_t len,
                          evalproto_split_t **out, err_t *err)
{
    static const char *const header[5] = {"user", "item", "rating", "timestamp", "is_test"};
    csv_opts_t co = {"\t", true};
    *out = NULL;
    csv_reader_t *r = csv_open_buffer(name, buf, len, &co, err);
    if (!r)
        return -1;
    ratings_t *part[2] = {ratings_new(ds->users, true), ratings_new(ds->users, true)};
    int rc;
    if (!part[0] || !part[1]) {
        err_set(err, "%s: out of memory", name);
        goto fail;
    }
    rc = csv_next(r, err);
    if (rc <= 0) {
        if (rc == 0)
            err_set(err, "%s: empty file (expected the header user item rating timestamp is_test)",
                    name);
        goto fail;
    }
    if (csv_expect(r, 5, err) != 0)
        goto fail;
    for (int k = 0; k < 5; k++)
        if (!csv_field_is(csv_field(r, (size_t)k), header[k])) {
            csv_error(r, err, "header must be: user item rating timestamp is_test (tab-separated)");
            goto fail;
        }
    while ((rc = csv_next(r, err)) == 1) {
        if (csv_expect(r, 5, err) != 0)
            goto fail;
        csv_field_t fu = csv_field(r, 0), fi = csv_field(r, 1), ft = csv_field(r, 4);
        double v;
        int64_t ts;
        if (fu.len == 0) {
            csv_error(r, err, "empty user id");
            goto fail;
        }
        uint32_t item = catalog_find(ds->catalog, fi.ptr, fi.len);
        if (item == IDMAP_NONE) {
            csv_error(r, err, "unknown item id '%.*s'", (int)(fi.len > 64 ? 64 : fi.len), fi.ptr);
            goto fail;
        }
        if (parse_float(csv_field(r, 2), &v) != 0) {
            csv_error(r, err, "rating is not a number");
            goto fail;
        }
        if (parse_int(csv_field(r, 3), &ts) != 0) {
            csv_error(r, err, "timestamp is not an integer");
            goto fail;
        }
        int is_test;
        if (csv_field_is(ft, "1") || csv_field_is(ft, "true") || csv_field_is(ft, "True"))
            is_test = 1;
        else if (csv_field_is(ft, "0") || csv_field_is(ft, "false") || csv_field_is(ft, "False"))
            is_test = 0;
        else {
            csv_error(r, err, "is_test must be 0 or 1");
            goto fail;
        }
        uint32_t user;
        if (idmap_intern(ds->users, fu.ptr, fu.len, &user) < 0 ||
            ratings_add(part[is_test], user, item, (float)v, ts) != 0) {
            err_set(err, "%s: out of memory", name);
            goto fail;
        }
    }
    if (rc < 0)
        goto fail;
    csv_close(r);
    if (part[1]->n == 0) {
        ratings_free(part[0]);
        ratings_free(part[1]);
        return err_set(err, "%s: no test rows (is_test = 1)", name);
    }
    return evalproto_split_new(ds, name, part[0], part[1], out, err);
fail:
    csv_close(r);
    ratings_free(part[0]);
    ratings_free(part[1]);
    return -1;
}

int evalproto_parse_item_list(const dataset_t *ds, const char *name, const char *buf, size_t len,
                              uint32_t **out, size_t *n, err_t *err)
{
    csv_opts_t co = {"\t", true};
    *out = NULL;
    *n = 0;
    csv_reader_t *r = csv_open_buffer(name, buf, len, &co, err);
    if (!r)
        return -1;
    size_t cap = 64, m = 0;
    uint32_t *a = malloc(cap * sizeof *a);
    int rc;
    if (!a) {
        csv_close(r);
        return err_set(err, "%s: out of memory", name);
    }
    while ((rc = csv_next(r, err)) == 1) {
        if (csv_expect(r, 1, err) != 0) {
            rc = -1;
            break;
        }
        csv_field_t f = csv_field(r, 0);
        while (f.len && (f.ptr[f.len - 1] == ' ' || f.ptr[f.len - 1] == '\r'))
            f.len--;
        uint32_t it = catalog_find(ds->catalog, f.ptr, f.len);
        if (it == IDMAP_NONE) {
            csv_error(r, err, "unknown item id '%.*s'", (int)(f.len > 64 ? 64 : f.len), f.ptr);
            rc = -1;
            break;
        }
        if (m == cap) {
            uint32_t *b = realloc(a, 2 * cap * sizeof *a);
            if (!b) {
                err_set(err, "%s: out of memory", name);
                rc = -1;
                break;
            }
            a = b;
            cap *= 2;
        }
        a[m++] = it;
    }
    csv_close(r);
    if (rc < 0) {
        free(a);
        return -1;
    }
    qsort(a, m, sizeof *a, cmp_u32);
    size_t w = 0;
    for (size_t i = 0; i < m; i++)
        if (w == 0 || a[i] != a[w - 1])
            a[w++] = a[i];
    *out = a;
    *n = w;
    return 0;
}

/* Copies the rows of r for which keep[item] == want into a new store. */
static ratings_t *filter_rows(const ratings_t *r, const uint8_t *keep, uint8_t want)
{
    ratings_t *o = ratings_new(r->users, r->has_ts);
    if (!o)
        return NULL;
    for (size_t k = 0; k < r->n; k++)
        if (keep[r->item[k]] == want &&
            ratings_add(o, r->user[k], r->item[k], r->value[k], ratings_ts(r, k)) != 0) {
            ratings_free(o);
            return NULL;
        }
    return o;
}

/* Gives a split over the same universe as base the candidate set marked in
 * cold (catalog-indexed flags). */
static int set_candidates(evalproto_split_t *s, const uint8_t *cold, err_t *err)
{
    s->candidates = calloc(topk_bitmap_words(s->nitems) + 1, sizeof(uint64_t));
    if (!s->candidates)
        return err_set(err, "%s: out of memory", s->name);
    s->ncandidates = 0;
    for (uint32_t u = 0; u < s->nitems; u++)
        if (cold[s->item_cat[u]]) {
            topk_bitmap_set(s->candidates, u);
            s->ncandidates++;
        }
    return 0;
}

int evalproto_split_cold(const evalproto_split_t *base, const uint32_t *cold, size_t ncold,
                         evalproto_split_t **out, err_t *err)
{
    *out = NULL;
    dataset_t *ds = base->ds;
    if (!ds->ratings)
        return err_set(err, "%s: the dataset has no ratings file for the cold-item test set",
                       base->name);
    uint8_t *flag = calloc((size_t)base->ncat + 1, 1);
    if (!flag)
        return err_set(err, "out of memory");
    for (size_t k = 0; k < ncold; k++) {
        if (cold[k] >= base->ncat) {
            free(flag);
            return err_set(err, "cold item index %u outside the catalog", cold[k]);
        }
        flag[cold[k]] = 1;
    }
    ratings_t *train = filter_rows(base->train, flag, 0);
    ratings_t *test = filter_rows(ds->ratings, flag, 1);
    char name[96];
    snprintf(name, sizeof name, "%s/cold", base->name);
    if (!train || !test) {
        ratings_free(train);
        ratings_free(test);
        free(flag);
        return err_set(err, "%s: out of memory", name);
    }
    evalproto_split_t *s;
    if (evalproto_split_new(ds, name, train, test, &s, err) != 0 ||
        set_candidates(s, flag, err) != 0) {
        if (s)
            evalproto_split_free(s);
        free(flag);
        return -1;
    }
    free(flag);
    *out = s;
    return 0;
}

int evalproto_split_validation(const evalproto_split_t *s, double frac, uint64_t seed,
                               evalproto_split_t **out, err_t *err)
{
    *out = NULL;
    if (!(frac > 0 && frac < 1))
        return err_set(err, "validation fraction %g not in (0, 1)", frac);
    const ratings_t *tr = s->train;
    ratings_t *a = ratings_new(tr->users, tr->has_ts), *b = ratings_new(tr->users, tr->has_ts);
    /* Rows of each user, in the order of the train file, so the draw does not
     * depend on the universe's order. */
    size_t *off = calloc((size_t)s->nusers + 2, sizeof(size_t));
    size_t *rows = malloc((tr->n + 1) * sizeof(size_t));
    uint8_t *held = calloc(tr->n + 1, 1);
    int rc = -1;
    if (!a || !b || !off || !rows || !held) {
        err_set(err, "out of memory");
        goto done;
    }
    for (size_t k = 0; k < tr->n; k++)
        off[tr->user[k] + 1]++;
    for (uint32_t u = 0; u < s->nusers; u++)
        off[u + 1] += off[u];
    {
        size_t *pos = calloc((size_t)s->nusers + 1, sizeof(size_t));
        if (!pos) {
            err_set(err, "out of memory");
            goto done;
        }
        memcpy(pos, off, (size_t)s->nusers * sizeof(size_t));
        for (size_t k = 0; k < tr->n; k++)
            rows[pos[tr->user[k]]++] = k;
        free(pos);
    }
    for (uint32_t u = 0; u < s->nusers; u++) {
        size_t n = off[u + 1] - off[u];
        if (n < 2)
            continue;
        size_t h = (size_t)floor(frac * (double)n + 0.5);
        if (h < 1)
            h = 1;
        if (h > n - 1)
            h = n - 1;
        rng_t g;
        rng_seed2(&g, seed, u);
        size_t *r = rows + off[u];
        for (size_t i = 0; i < h; i++) { /* partial Fisher-Yates */
            size_t j = i + (size_t)rng_below(&g, n - i);
            size_t t = r[i];
            r[i] = r[j];
            r[j] = t;
            held[r[i]] = 1;
        }
    }
    for (size_t k = 0; k < tr->n; k++)
        if (ratings_add(held[k] ? b : a, tr->user[k], tr->item[k], tr->value[k],
                        ratings_ts(tr, k)) != 0) {
            err_set(err, "out of memory");
            goto done;
        }
    {
        char name[96];
        snprintf(name, sizeof name, "%s/val", s->name);
        rc = evalproto_split_new(s->ds, name, a, b, out, err);
        a = b = NULL;
        if (rc == 0 && s->candidates) {
            (*out)->candidates = calloc(topk_bitmap_words(s->nitems) + 1, sizeof(uint64_t));
            if (!(*out)->candidates) {
                evalproto_split_free(*out);
                *out = NULL;
                rc = err_set(err, "out of memory");
            } else {
                memcpy((*out)->candidates, s->candidates,
                       topk_bitmap_words(s->nitems) * sizeof(uint64_t));
                (*out)->ncandidates = s->ncandidates;
            }
        }
    }
done:
    ratings_free(a);
    ratings_free(b);
    free(off);
    free(rows);
    free(held);
    return rc;
}

int evalproto_split_validation_cold(const evalproto_split_t *s, double frac, uint64_t seed,
                                    evalproto_split_t **out, err_t *err)
{
    *out = NULL;
    if (!(frac > 0 && frac < 1))
        return err_set(err, "validation fraction %g not in (0, 1)", frac);
    uint8_t *flag = calloc((size_t)s->ncat + 1, 1);
    uint32_t *items = malloc(((size_t)s->nitems + 1) * sizeof(uint32_t));
    if (!flag || !items) {
        free(flag);
        free(items);
        return err_set(err, "out of memory");
    }
    for (size_t k = 0; k < s->train->n; k++)
        flag[s->train->item[k]] = 1;
    /* Items with train ratings, in universe order, then a seeded shuffle. */
    size_t m = 0;
    for (uint32_t u = 0; u < s->nitems; u++)
        if (flag[s->item_cat[u]])
            items[m++] = s->item_cat[u];
    memset(flag, 0, (size_t)s->ncat + 1);
    size_t h = (size_t)floor(frac * (double)m + 0.5);
    rng_t g;
    rng_seed(&g, seed);
    for (size_t i = 0; i < h && i < m; i++) {
        size_t j = i + (size_t)rng_below(&g, m - i);
        uint32_t t = items[i];
        items[i] = items[j];
        items[j] = t;
        flag[items[i]] = 1;
    }
    free(items);
    ratings_t *train = filter_rows(s->train, flag, 0), *test = filter_rows(s->train, flag, 1);
    char name[96];
    snprintf(name, sizeof name, "%s/val-cold", s->name);
    if (!train || !test) {
        ratings_free(train);
        ratings_free(test);
        free(flag);
        return err_set(err, "out of memory");
    }
    evalproto_split_t *v;
    if (evalproto_split_new(s->ds, name, train, test, &v, err) != 0 ||
        set_candidates(v, flag, err) != 0) {
        if (v)
            evalproto_split_free(v);
        free(flag);
        return -1;
    }
    free(flag);
    *out = v;
    return 0;
}

void evalproto_split_stats(const evalproto_split_t *s, evalproto_stats_t *st)
{
    memset(st, 0, sizeof *st);
    st->ntrain = s->train->n;
    st->ntest = s->test->n;
    st->nitems = s->nitems;
    st->ncandidates = s->ncandidates;
    uint8_t *seen = calloc((size_t)s->nitems + 1, 1);
    const evalproto_csr_t *tr = &s->train_by_user, *te = &s->test_by_user;
    if (seen)
        for (size_t k = 0; k < s->train->n; k++)
            seen[tr->item[k]] = 1;
    for (uint32_t u = 0; u < s->nusers; u++) {
        st->nusers_train += tr->off[u + 1] > tr->off[u];
        st->nusers_test += te->off[u + 1] > te->off[u];
        size_t rel = 0, unseen = 0;
        for (size_t p = te->off[u]; p < te->off[u + 1]; p++)
            if (te->value[p] >= s->relevant_min) {
                rel++;
                unseen += seen && !seen[te->item[p]];
            }
        if (rel) {
            st->eval_users++;
            st->relevant += rel;
            st->relevant_unseen += unseen;
        }
    }
    free(seen);
}

int evalproto_run_ranking(const evalproto_split_t *s, const evalproto_rank_opts_t *o,
                          evalmetrics_ranking_t *out, err_t *err)
{
    memset(out, 0, sizeof *out);
    size_t k = o->k ? o->k : 10;
    evalmetrics_acc_t acc;
    if (evalmetrics_acc_init(&acc, k, s->nitems, err) != 0)
        return -1;
    size_t maxh = 0;
    for (uint32_t u = 0; u < s->nusers; u++) {
        size_t h = s->train_by_user.off[u + 1] - s->train_by_user.off[u];
        size_t t = s->test_by_user.off[u + 1] - s->test_by_user.off[u];
        if (h > maxh)
            maxh = h;
        if (t > maxh)
            maxh = t;
    }
    float *scores = malloc(((size_t)s->ncat + 1) * sizeof(float));
    uint32_t *cand = malloc(((size_t)s->nitems + 1) * sizeof(uint32_t));
    topk_item_t *pairs = malloc(((size_t)s->nitems + 1) * sizeof(topk_item_t));
    topk_item_t *top = malloc((k + 1) * sizeof(topk_item_t));
    uint32_t *topi = malloc((k + 1) * sizeof(uint32_t));
    uint32_t *hist = malloc((maxh + 1) * sizeof(uint32_t));
    uint32_t *rel = malloc((maxh + 1) * sizeof(uint32_t));
    int rc = -1;
    if (!scores || !cand || !pairs || !top || !topi || !hist || !rel) {
        err_set(err, "%s: out of memory", s->name);
        goto done;
    }
    for (uint32_t u = 0; u < s->nusers; u++) {
        const evalproto_csr_t *te = &s->test_by_user, *tr = &s->train_by_user;
        size_t nrel = 0;
        for (size_t p = te->off[u]; p < te->off[u + 1]; p++)
            if (te->value[p] >= s->relevant_min)
                rel[nrel++] = te->item[p];
        if (!nrel)
            continue;
        size_t h0 = tr->off[u], nh = tr->off[u + 1] - h0;
        for (size_t p = 0; p < nh; p++)
            hist[p] = s->item_cat[tr->item[h0 + p]];
        /* Candidates: the candidate set minus train items (both ascending). */
        size_t nc = 0, q = 0;
        for (uint32_t it = 0; it < s->nitems; it++) {
            while (q < nh && tr->item[h0 + q] < it)
                q++;
            if (q < nh && tr->item[h0 + q] == it)
                continue;
            if (s->candidates && !topk_bitmap_test(s->candidates, it))
                continue;
            cand[nc++] = s->item_cat[it];
        }
        for (size_t i = 0; i < s->ncat; i++)
            scores[i] = -INFINITY;
        evalproto_query_t qu = {u, hist, tr->value + h0, nh, cand, nc};
        if (o->score(o->score_ctx, &qu, scores, err) != 0) {
            err_prefix(err, "%s: user '%s'", s->name, idmap_key(s->ds->users, u, NULL));
            goto done;
        }
        for (size_t j = 0; j < nc; j++) {
            pairs[j].index = s->cat_item[cand[j]];
            pairs[j].score = scores[cand[j]];
        }
        size_t nt = topk_pairs(pairs, nc, k, NULL, top);
        for (size_t j = 0; j < nt; j++)
            topi[j] = top[j].index;
        if (o->on_list)
            o->on_list(o->list_ctx, u, topi, nt);
        if (evalmetrics_acc_add(&acc, topi, nt, rel, nrel, err) != 0)
            goto done;
    }
    evalmetrics_acc_result(&acc, out);
    rc = 0;
done:
    evalmetrics_acc_free(&acc);
    free(scores);
    free(cand);
    free(pairs);
    free(top);
    free(topi);
    free(hist);
    free(rel);
    return rc;
}

int evalproto_run_rating(const evalproto_split_t *s, evalproto_predict_fn predict, void *ctx,
                         double lo, double hi, evalmetrics_rating_t *out, err_t *err)
{
    memset(out, 0, sizeof *out);
    evalmetrics_rating_acc_t acc;
    evalmetrics_rating_init(&acc, lo, hi);
    const evalproto_csr_t *te = &s->test_by_user;
    size_t maxn = 0;
    for (uint32_t u = 0; u < s->nusers; u++)
        if (te->off[u + 1] - te->off[u] > maxn)
            maxn = te->off[u + 1] - te->off[u];
    uint32_t *items = malloc((maxn + 1) * sizeof(uint32_t));
    float *pred = malloc((maxn + 1) * sizeof(float));
    if (!items || !pred) {
        free(items);
        free(pred);
        return err_set(err, "%s: out of memory", s->name);
    }
    for (uint32_t u = 0; u < s->nusers; u++) {
        size_t a = te->off[u], n = te->off[u + 1] - a;
        if (!n)
            continue;
        for (size_t p = 0; p < n; p++)
            items[p] = s->item_cat[te->item[a + p]];
        if (predict(ctx, u, items, n, pred, err) != 0) {
            err_prefix(err, "%s: user '%s'", s->name, idmap_key(s->ds->users, u, NULL));
            free(items);
            free(pred);
            return -1;
        }
        for (size_t p = 0; p < n; p++)
            evalmetrics_rating_add(&acc, pred[p], te->value[a + p]);
    }
    free(items);
    free(pred);
    evalmetrics_rating_result(&acc, out);
    return 0;
}
