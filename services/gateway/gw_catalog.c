/*
 * gw_catalog.c: the gateway's own view of the dataset (see gw_catalog.h).
 *
 * Built once at start-up: popularity counts and their order, and a CSR of
 * each user's rated items (sorted, so "has the user rated i" and the
 * excluded-set merge are binary searches and merges).
 */
#include "services/gateway/gw_catalog.h"

#include "common/data/feedback.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Sorting the popularity order needs the scores: a small context-free
 * trick is to sort (score, index) pairs. */
typedef struct {
    float score;
    uint32_t item;
} pop_pair_t;

static int cmp_pop(const void *a, const void *b)
{
    const pop_pair_t *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return x->item < y->item ? -1 : x->item > y->item;
}

static int cmp_item(const void *a, const void *b)
{
    const pop_pair_t *x = a, *y = b;
    return x->item < y->item ? -1 : x->item > y->item;
}

void gw_catalog_free(gw_catalog_t *c)
{
    if (c == NULL)
        return;
    popularity_free(c->pop);
    free(c->pop_order);
    free(c->pop_score);
    free(c->user_off);
    free(c->user_items);
    free(c->user_values);
    dataset_free(c->ds);
    free(c);
}

static int build_users(gw_catalog_t *c, err_t *err)
{
    const ratings_t *r = c->ds->ratings;
    c->nusers = c->ds->users != NULL ? idmap_size(c->ds->users) : 0;
    c->user_off = calloc((size_t)c->nusers + 1, sizeof *c->user_off);
    size_t n = r != NULL ? r->n : 0;
    c->user_items = malloc((n ? n : 1) * sizeof *c->user_items);
    c->user_values = malloc((n ? n : 1) * sizeof *c->user_values);
    pop_pair_t *tmp = malloc((n ? n : 1) * sizeof *tmp);
    if (c->user_off == NULL || c->user_items == NULL || c->user_values == NULL || tmp == NULL) {
        free(tmp);
        return err_set(err, "out of memory for %zu ratings", n);
    }
    for (size_t i = 0; i < n; i++)
        c->user_off[r->user[i] + 1]++;
    for (uint32_t u = 0; u < c->nusers; u++)
        c->user_off[u + 1] += c->user_off[u];
    size_t *pos = malloc(((size_t)c->nusers + 1) * sizeof *pos);
    if (pos == NULL) {
        free(tmp);
        return err_set(err, "out of memory");
    }
    memcpy(pos, c->user_off, ((size_t)c->nusers + 1) * sizeof *pos);
    for (size_t i = 0; i < n; i++)
        tmp[pos[r->user[i]]++] = (pop_pair_t){r->value[i], r->item[i]};
    free(pos);
    for (uint32_t u = 0; u < c->nusers; u++)
        qsort(tmp + c->user_off[u], c->user_off[u + 1] - c->user_off[u], sizeof *tmp, cmp_item);
    for (size_t i = 0; i < n; i++) {
        c->user_items[i] = tmp[i].item;
        c->user_values[i] = tmp[i].score;
    }
    c->scale_negatives = feedback_values_have_negatives(c->user_values, n);
    free(tmp);
    return 0;
}

static int build_popularity(gw_catalog_t *c, err_t *err)
{
    uint32_t n = catalog_size(c->cat);
    c->pop_score = calloc(n ? n : 1, sizeof *c->pop_score);
    c->pop_order = malloc((n ? n : 1) * sizeof *c->pop_order);
    pop_pair_t *pairs = malloc((n ? n : 1) * sizeof *pairs);
    if (c->pop_score == NULL || c->pop_order == NULL || pairs == NULL) {
        free(pairs);
        return err_set(err, "out of memory");
    }
    size_t nratings = 0;
    if (c->ds->ratings != NULL) {
        if (popularity_fit(c->ds->ratings, c->cat, NULL, &c->pop, err) != 0) {
            free(pairs);
            return err_prefix(err, "popularity");
        }
        popularity_scores(c->pop, POPULARITY_OVERALL, c->pop_score);
        nratings = c->ds->ratings->n;
    }
    uint32_t h = 2166136261u; /* FNV-1a over the counts: the version changes with the data */
    for (uint32_t i = 0; i < n; i++) {
        pairs[i].score = c->pop_score[i];
        pairs[i].item = i;
        uint32_t v = (uint32_t)c->pop_score[i];
        for (int b = 0; b < 4; b++) {
            h ^= (v >> (8 * b)) & 0xff;
            h *= 16777619u;
        }
    }
    qsort(pairs, n, sizeof *pairs, cmp_pop);
    for (uint32_t i = 0; i < n; i++)
        c->pop_order[i] = pairs[i].item;
    free(pairs);
    snprintf(c->pop_version, sizeof c->pop_version, "count-%zu-%08x", nratings, h);
    return 0;
}

int gw_catalog_load(const char *path, const dataset_opts_t *opts, gw_catalog_t **out, err_t *err)
{
    *out = NULL;
    gw_catalog_t *c = calloc(1, sizeof *c);
    if (c == NULL)
        return err_set(err, "out of memory");
    if (dataset_load(path, &c->ds, opts, err) != 0) {
        free(c);
        return -1;
    }
    c->cat = c->ds->catalog;
    if (build_popularity(c, err) != 0 || build_users(c, err) != 0) {
        gw_catalog_free(c);
        return -1;
    }
    *out = c;
    return 0;
}

uint32_t gw_catalog_size(const gw_catalog_t *c)
{
    return catalog_size(c->cat);
}

uint32_t gw_catalog_find(const gw_catalog_t *c, const char *id)
{
    if (id == NULL || id[0] == '\0')
        return UINT32_MAX;
    uint32_t i = catalog_find(c->cat, id, strlen(id));
    return i == IDMAP_NONE ? UINT32_MAX : i;
}

size_t gw_catalog_user_items(const gw_catalog_t *c, const char *user_id, const uint32_t **items)
{
    const float *v;
    return gw_catalog_user_ratings(c, user_id, items, &v);
}

size_t gw_catalog_user_ratings(const gw_catalog_t *c, const char *user_id, const uint32_t **items,
                               const float **values)
{
    *items = NULL;
    *values = NULL;
    if (c->ds->users == NULL || user_id == NULL || user_id[0] == '\0')
        return 0;
    uint32_t u = idmap_find(c->ds->users, user_id, strlen(user_id));
    if (u == IDMAP_NONE || u >= c->nusers)
        return 0;
    *items = c->user_items + c->user_off[u];
    *values = c->user_values + c->user_off[u];
    return c->user_off[u + 1] - c->user_off[u];
}

static char **list_strings(const gw_catalog_t *c, uint32_t i, catalog_list_t l, size_t *n, arena_t *a)
{
    uint32_t k = catalog_list_len(c->cat, i, l);
    *n = 0;
    if (k == 0)
        return NULL;
    char **v = arena_alloc(a, k * sizeof *v);
    if (v == NULL)
        return NULL;
    for (uint32_t j = 0; j < k; j++)
        v[j] = (char *)catalog_list_at(c->cat, i, l, j);
    *n = k;
    return v;
}

int gw_catalog_item(const gw_catalog_t *c, uint32_t i, Recsys__V1__Item *it, arena_t *a)
{
    recsys__v1__item__init(it);
    it->item_id = (char *)catalog_id(c->cat, i);
    it->title = (char *)catalog_title(c->cat, i);
    it->year = catalog_year(c->cat, i);
    it->overview = (char *)catalog_overview(c->cat, i);
    uint32_t ng = catalog_item_ngenres(c->cat, i);
    if (ng > 0) {
        it->genres = arena_alloc(a, ng * sizeof(char *));
        if (it->genres == NULL)
            return -1;
        for (uint32_t g = 0; g < ng; g++)
            it->genres[g] = (char *)catalog_genre_name(c->cat, catalog_item_genre(c->cat, i, g));
        it->n_genres = ng;
    }
    it->directors = list_strings(c, i, CATALOG_DIRECTORS, &it->n_directors, a);
    it->cast = list_strings(c, i, CATALOG_CAST, &it->n_cast, a);
    it->keywords = list_strings(c, i, CATALOG_KEYWORDS, &it->n_keywords, a);
    it->rating_count = catalog_rating_count(c->cat, i);
    it->mean_rating = catalog_rating_mean(c->cat, i);
    return 0;
}

static int genre_find(const void *ctx, const char *name)
{
    const gw_catalog_t *c = ctx;
    uint32_t g = catalog_genre_find(c->cat, name, strlen(name));
    return g == IDMAP_NONE ? -1 : (int)g;
}

static uint32_t item_find(const void *ctx, const char *id)
{
    uint32_t i = gw_catalog_find(ctx, id);
    return i == UINT32_MAX ? FILTER_NO_ITEM : i;
}

int gw_filter_compile(const gw_catalog_t *c, const Recsys__V1__Filters *f, const uint32_t *extra,
                      size_t nextra, filter_t *out, arena_t *a, err_t *err)
{
    /* The public API: an unknown genre is the caller's mistake. */
    filter_src_t src = {.genre_find = genre_find, .item_find = item_find, .ctx = c, .strict_genres = true};
    return filter_compile(f, &src, extra, nextra, out, a, err);
}

bool gw_filter_pass(const gw_catalog_t *c, const filter_t *f, uint32_t item)
{
    return filter_pass(f, item, catalog_genre_mask(c->cat, item), catalog_year(c->cat, item));
}

size_t gw_catalog_popular(const gw_catalog_t *c, const filter_t *f, uint32_t *out, size_t max)
{
    size_t n = 0;
    uint32_t total = catalog_size(c->cat);
    for (uint32_t i = 0; i < total && n < max; i++) {
        uint32_t it = c->pop_order[i];
        if (f == NULL || gw_filter_pass(c, f, it))
            out[n++] = it;
    }
    return n;
}
