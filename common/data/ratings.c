/*
 * ratings.c: the rating store (see ratings.h).
 *
 * Arrays grow by doubling (realloc of large blocks is an mremap on Linux,
 * so growing 25M entries copies nothing) and ratings_shrink() trims them.
 * The duplicate check groups rating indices by user with a counting sort
 * and then walks each user's items with a per-item marker, so it costs
 * O(n + users + items) time and 4 bytes per rating of scratch.
 */
#include "common/data/ratings.h"

#include <stdlib.h>
#include <string.h>

ratings_t *ratings_new(idmap_t *users, bool with_ts)
{
    ratings_t *r = calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    r->has_ts = with_ts;
    if (users == NULL) {
        r->users = idmap_new();
        r->owns_users = true;
        if (r->users == NULL) {
            free(r);
            return NULL;
        }
    } else {
        r->users = users;
    }
    return r;
}

void ratings_free(ratings_t *r)
{
    if (r == NULL)
        return;
    free(r->user);
    free(r->item);
    free(r->value);
    free(r->ts32);
    free(r->ts64);
    if (r->owns_users)
        idmap_free(r->users);
    free(r);
}

static int resize(ratings_t *r, size_t cap)
{
    void *p;
    if ((p = realloc(r->user, cap * sizeof *r->user)) == NULL)
        return -1;
    r->user = p;
    if ((p = realloc(r->item, cap * sizeof *r->item)) == NULL)
        return -1;
    r->item = p;
    if ((p = realloc(r->value, cap * sizeof *r->value)) == NULL)
        return -1;
    r->value = p;
    if (r->has_ts && r->ts64 == NULL) {
        if ((p = realloc(r->ts32, cap * sizeof *r->ts32)) == NULL)
            return -1;
        r->ts32 = p;
    } else if (r->has_ts) {
        if ((p = realloc(r->ts64, cap * sizeof *r->ts64)) == NULL)
            return -1;
        r->ts64 = p;
    }
    r->cap = cap;
    return 0;
}

int ratings_reserve(ratings_t *r, size_t cap)
{
    if (cap <= r->cap)
        return 0;
    if (cap >= UINT32_MAX)
        return -1;
    return resize(r, cap);
}

static int widen_ts(ratings_t *r)
{
    int64_t *w = malloc((r->cap ? r->cap : 1) * sizeof *w);
    if (w == NULL)
        return -1;
    for (size_t i = 0; i < r->n; i++)
        w[i] = r->ts32[i];
    free(r->ts32);
    r->ts32 = NULL;
    r->ts64 = w;
    return 0;
}

int ratings_add(ratings_t *r, uint32_t user, uint32_t item, float value, int64_t ts)
{
    if (r->n == r->cap) {
        if (r->n >= UINT32_MAX - 1)
            return -1;
        if (resize(r, r->cap ? r->cap * 2 : 1024) != 0)
            return -1;
    }
    if (r->has_ts && r->ts64 == NULL && (ts < 0 || ts > (int64_t)UINT32_MAX)) {
        if (widen_ts(r) != 0)
            return -1;
    }
    size_t i = r->n;
    r->user[i] = user;
    r->item[i] = item;
    r->value[i] = value;
    if (r->ts64)
        r->ts64[i] = ts;
    else if (r->has_ts)
        r->ts32[i] = (uint32_t)ts;
    if (r->n == 0 || value < r->min)
        r->min = value;
    if (r->n == 0 || value > r->max)
        r->max = value;
    r->n++;
    return 0;
}

int64_t ratings_ts(const ratings_t *r, size_t i)
{
    if (i >= r->n)
        return 0;
    if (r->ts64)
        return r->ts64[i];
    return r->ts32 ? (int64_t)r->ts32[i] : 0;
}

void ratings_shrink(ratings_t *r)
{
    if (r->n > 0 && r->n < r->cap) {
        /* Even a half-done shrink leaves every array at least n long. */
        if (resize(r, r->n) != 0)
            r->cap = r->n;
    }
}

static uint32_t max_plus_one(const uint32_t *a, size_t n)
{
    uint32_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (a[i] + 1 > m)
            m = a[i] + 1;
    return m;
}

int ratings_find_duplicate(const ratings_t *r, size_t *first, size_t *second)
{
    if (r->n < 2)
        return 0;
    uint32_t nu = max_plus_one(r->user, r->n), ni = max_plus_one(r->item, r->n);
    size_t *start = calloc((size_t)nu + 1, sizeof *start);
    uint32_t *order = malloc(r->n * sizeof *order);
    uint32_t *mark = calloc(ni, sizeof *mark);  /* user + 1 who last rated the item */
    uint32_t *where = malloc(ni * sizeof *where); /* that rating's index */
    int rc = -1;
    if (start == NULL || order == NULL || mark == NULL || where == NULL)
        goto out;
    for (size_t i = 0; i < r->n; i++)
        start[r->user[i] + 1]++;
    for (uint32_t u = 0; u < nu; u++)
        start[u + 1] += start[u];
    for (size_t i = 0; i < r->n; i++)
        order[start[r->user[i]]++] = (uint32_t)i;
    /* start[u] is now the end of user u's run; runs are in index order. */
    rc = 0;
    size_t best1 = 0, best2 = SIZE_MAX, at = 0;
    for (uint32_t u = 0; u < nu; u++) {
        for (; at < start[u]; at++) {
            uint32_t i = order[at], it = r->item[i];
            if (mark[it] == u + 1) {
                if (i < best2) {
                    best2 = i;
                    best1 = where[it];
                }
                continue;
            }
            mark[it] = u + 1;
            where[it] = i;
        }
    }
    if (best2 != SIZE_MAX) {
        *first = best1;
        *second = best2;
        rc = 1;
    }
out:
    free(start);
    free(order);
    free(mark);
    free(where);
    return rc;
}

static uint32_t count_distinct(const uint32_t *a, size_t n)
{
    uint32_t m = max_plus_one(a, n), count = 0;
    unsigned char *seen = calloc(m ? m : 1, 1);
    if (seen == NULL)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!seen[a[i]]) {
            seen[a[i]] = 1;
            count++;
        }
    free(seen);
    return count;
}

uint32_t ratings_count_users(const ratings_t *r)
{
    return count_distinct(r->user, r->n);
}

uint32_t ratings_count_items(const ratings_t *r)
{
    return count_distinct(r->item, r->n);
}

size_t ratings_memory(const ratings_t *r)
{
    size_t per = sizeof(uint32_t) * 2 + sizeof(float) +
                 (r->ts64 ? sizeof(int64_t) : r->has_ts ? sizeof(uint32_t) : 0);
    return sizeof *r + r->cap * per + (r->owns_users ? idmap_memory(r->users) : 0);
}
