/*
 * filter.c: compiling a request's filters, and exclusion (see filter.h).
 */
#include "common/wire/filter.h"

#include <stdlib.h>
#include <string.h>

#include "common/math/topk.h"

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static size_t sort_unique(uint32_t *v, size_t n)
{
    if (n < 2)
        return n;
    qsort(v, n, sizeof *v, cmp_u32);
    size_t w = 1;
    for (size_t i = 1; i < n; i++)
        if (v[i] != v[w - 1])
            v[w++] = v[i];
    return w;
}

static int check_str(const filter_src_t *src, const char *field, size_t i, const char *s, err_t *err)
{
    size_t len = src->max_str ? strnlen(s, src->max_str + 1) : strlen(s);
    if (src->max_str && len > src->max_str)
        return err_set(err, "%s[%zu]: longer than %zu bytes", field, i, src->max_str);
    return 0;
}

static int compile_genres(const Recsys__V1__Filters *pf, const filter_src_t *src, filter_t *out, err_t *err)
{
    size_t max = src->max_genres ? src->max_genres : FILTER_MAX_GENRE_IDS;
    if (pf->n_genres > max)
        return err_set(err, "filters.genres: %zu entries, at most %zu allowed", pf->n_genres, max);
    for (size_t i = 0; i < pf->n_genres; i++) {
        const char *name = pf->genres[i];
        if (check_str(src, "filters.genres", i, name, err) != 0)
            return -1;
        if (name[0] == '\0')
            return err_set(err, "filters.genres[%zu]: empty", i);
        int g = src->genre_find ? src->genre_find(src->ctx, name) : -1;
        if (g < 0) {
            if (src->strict_genres)
                return err_set(err, "filters.genres[%zu]: unknown genre '%.80s'", i, name);
            continue;
        }
        if (g >= FILTER_MAX_GENRE_IDS)
            return err_set(err, "filters.genres[%zu]: genre '%.80s' is past the first %d genres, which filters can name",
                           i, name, FILTER_MAX_GENRE_IDS);
        out->genre_mask |= (uint64_t)1 << g;
    }
    out->nothing = pf->n_genres > 0 && out->genre_mask == 0;
    return 0;
}

int filter_compile(const Recsys__V1__Filters *pf, const filter_src_t *src, const uint32_t *extra, size_t nextra,
                   filter_t *out, arena_t *a, err_t *err)
{
    memset(out, 0, sizeof *out);
    size_t nex = pf != NULL ? pf->n_exclude_item_ids : 0;
    if (pf != NULL) {
        if (src->max_exclude && nex > src->max_exclude)
            return err_set(err, "filters.exclude_item_ids: %zu entries, at most %zu allowed", nex, src->max_exclude);
        if (pf->year_min < 0 || pf->year_max < 0)
            return err_set(err, "filters: negative year (year_min=%d, year_max=%d)", (int)pf->year_min,
                           (int)pf->year_max);
        if (pf->year_min != 0 && pf->year_max != 0 && pf->year_min > pf->year_max)
            return err_set(err, "filters: year_min %d is after year_max %d", (int)pf->year_min, (int)pf->year_max);
        if (compile_genres(pf, src, out, err) != 0)
            return -1;
        out->year_min = pf->year_min;
        out->year_max = pf->year_max;
        out->include_seen = pf->include_seen;
    }
    if (nex + nextra == 0)
        return 0;
    out->excluded = arena_alloc(a, (nex + nextra) * sizeof *out->excluded);
    if (out->excluded == NULL)
        return err_set(err, "out of memory");
    size_t w = 0;
    for (size_t i = 0; i < nextra; i++)
        out->excluded[w++] = extra[i];
    for (size_t i = 0; i < nex; i++) {
        const char *id = pf->exclude_item_ids[i];
        if (check_str(src, "filters.exclude_item_ids", i, id, err) != 0)
            return -1;
        uint32_t it = id[0] != '\0' && src->item_find ? src->item_find(src->ctx, id) : FILTER_NO_ITEM;
        if (it != FILTER_NO_ITEM)
            out->excluded[w++] = it;
    }
    out->nexcluded = sort_unique(out->excluded, w);
    return 0;
}

bool filter_excludes(const filter_t *f, uint32_t item)
{
    return f->nexcluded > 0 && bsearch(&item, f->excluded, f->nexcluded, sizeof item, cmp_u32) != NULL;
}

void filter_exclude_bits(const filter_t *f, uint64_t *bits, size_t n)
{
    for (size_t i = 0; i < f->nexcluded; i++)
        if (f->excluded[i] < n)
            topk_bitmap_set(bits, f->excluded[i]);
}

int filter_keep(uint32_t item, void *ctx)
{
    const filter_keep_t *k = ctx;
    return filter_attrs_pass(k->f, k->genre_mask ? k->genre_mask[item] : 0, k->year ? k->year[item] : 0);
}
