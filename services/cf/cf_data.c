/*
 * cf_data.c: builds the user x item matrix and its transpose (see cf_data.h).
 *
 * Goes through sparse_csr_from_triplets, whose counting sorts give the same
 * matrix whatever the order of the input rows.
 */
#include "services/cf/cf_data.h"

#include <stdlib.h>
#include <string.h>

static void range_of(cf_data_t *d)
{
    const sparse_csr_t *m = &d->by_user;
    d->rmin = d->rmax = 0.0f;
    for (uint64_t i = 0; i < m->nnz; i++) {
        float v = m->val[i];
        if (i == 0 || v < d->rmin)
            d->rmin = v;
        if (i == 0 || v > d->rmax)
            d->rmax = v;
    }
}

int cf_data_from_triplets(cf_data_t *d, uint32_t n_users, uint32_t n_items, const uint32_t *users,
                          const uint32_t *items, const float *values, size_t n, err_t *err)
{
    memset(d, 0, sizeof *d);
    d->n_users = n_users;
    d->n_items = n_items;
    if (sparse_csr_from_triplets(&d->by_user, n_users, n_items, users, items, values, n, err) < 0)
        return err_prefix(err, "interactions");
    if (sparse_csr_transpose(&d->by_user, &d->by_item, err) < 0) {
        sparse_csr_free(&d->by_user);
        return err_prefix(err, "interactions");
    }
    range_of(d);
    return 0;
}

int cf_data_from_ratings(cf_data_t *d, const ratings_t *r, uint32_t n_users, uint32_t n_items,
                         const uint8_t *keep, err_t *err)
{
    memset(d, 0, sizeof *d);
    if (n_users == 0 && r->users)
        n_users = idmap_size(r->users);
    if (n_users == 0 || n_items == 0) {
        int auto_users = n_users == 0, auto_items = n_items == 0;
        for (size_t i = 0; i < r->n; i++) {
            if (auto_users && r->user[i] >= n_users)
                n_users = r->user[i] + 1;
            if (auto_items && r->item[i] >= n_items)
                n_items = r->item[i] + 1;
        }
    }
    if (!keep)
        return cf_data_from_triplets(d, n_users, n_items, r->user, r->item, r->value, r->n, err);
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++)
        n += keep[i] != 0;
    uint32_t *u = malloc(n ? n * sizeof *u : 1);
    uint32_t *it = malloc(n ? n * sizeof *it : 1);
    float *v = malloc(n ? n * sizeof *v : 1);
    if (!u || !it || !v) {
        free(u);
        free(it);
        free(v);
        return err_set(err, "interactions: out of memory for %zu ratings", n);
    }
    size_t j = 0;
    for (size_t i = 0; i < r->n; i++) {
        if (!keep[i])
            continue;
        u[j] = r->user[i];
        it[j] = r->item[i];
        v[j] = r->value[i];
        j++;
    }
    int rc = cf_data_from_triplets(d, n_users, n_items, u, it, v, n, err);
    free(u);
    free(it);
    free(v);
    return rc;
}

void cf_data_free(cf_data_t *d)
{
    sparse_csr_free(&d->by_user);
    sparse_csr_free(&d->by_item);
    memset(d, 0, sizeof *d);
}
