/*
 * cf_model.c: the model object (allocation, ownership, references) and its
 * catalog attributes. Trainers (cf_als.c, cf_ease.c, cf_mf.c, cf_train.c)
 * fill models through these functions; cf_train.c picks the trainer.
 *
 * A trained model owns its arrays (up to 16 calloc'ed blocks); a loaded one
 * points into its mapped file. Either way the arrays are reached through
 * const pointers, so the scoring code never cares which.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/math/vec.h"
#include "services/cf/cf_internal.h"
#include "services/cf/cf_linalg.h"

cf_model_t *cf_model_alloc(cf_kind_t kind, uint32_t n_users, uint32_t n_items, uint32_t dim)
{
    cf_model_t *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->kind = kind;
    m->n_users = n_users;
    m->n_items = n_items;
    m->dim = dim;
    atomic_init(&m->refs, 1);
    return m;
}

void *cf_model_calloc(cf_model_t *m, size_t n, size_t size)
{
    for (size_t i = 0; i < sizeof m->owned / sizeof m->owned[0]; i++) {
        if (!m->owned[i]) {
            m->owned[i] = calloc(n ? n : 1, size);
            return m->owned[i];
        }
    }
    return NULL;
}

int cf_model_take_data(cf_model_t *m, const cf_data_t *d, err_t *err)
{
    const sparse_csr_t *src = &d->by_user;
    sparse_csr_t *h = &m->hist;
    h->n_rows = src->n_rows;
    h->n_cols = src->n_cols;
    h->nnz = src->nnz;
    h->owned = 1;
    h->row_ptr = malloc(((size_t)src->n_rows + 1) * sizeof *h->row_ptr);
    h->col = malloc(src->nnz ? src->nnz * sizeof *h->col : 1);
    h->val = malloc(src->nnz ? src->nnz * sizeof *h->val : 1);
    float *pop = cf_model_calloc(m, d->n_items, sizeof *pop);
    if (!h->row_ptr || !h->col || !h->val || !pop)
        return err_set(err, "cf model: out of memory copying %llu interactions", (unsigned long long)src->nnz);
    memcpy(h->row_ptr, src->row_ptr, ((size_t)src->n_rows + 1) * sizeof *h->row_ptr);
    if (src->nnz) {
        memcpy(h->col, src->col, src->nnz * sizeof *h->col);
        memcpy(h->val, src->val, src->nnz * sizeof *h->val);
    }
    for (uint32_t i = 0; i < d->n_items; i++)
        pop[i] = (float)(d->by_item.row_ptr[i + 1] - d->by_item.row_ptr[i]);
    m->pop = pop;
    m->rmin = d->rmin;
    m->rmax = d->rmax;
    return 0;
}

int cf_model_item_norms(cf_model_t *m, err_t *err)
{
    float *inv = cf_model_calloc(m, m->n_items, sizeof *inv);
    if (!inv)
        return err_set(err, "cf model: out of memory");
    for (uint32_t i = 0; i < m->n_items; i++) {
        float n = vec_norm2(m->item_f + (size_t)i * m->dim, m->dim);
        inv[i] = n > 0.0f ? 1.0f / n : 0.0f;
    }
    m->item_inv_norm = inv;
    return 0;
}

cf_model_t *cf_model_retain(cf_model_t *m)
{
    if (m)
        atomic_fetch_add(&m->refs, 1);
    return m;
}

void cf_model_release(cf_model_t *m)
{
    if (!m || atomic_fetch_sub(&m->refs, 1) != 1)
        return;
    for (size_t i = 0; i < sizeof m->owned / sizeof m->owned[0]; i++)
        free(m->owned[i]);
    sparse_csr_free(&m->hist);
    sparse_csr_free(&m->knn);
    vecq8_rows_free(&m->screen);
    idmap_free(m->user_ids);
    idmap_free(m->item_ids);
    if (m->file)
        modelfile_close(m->file);
    free(m);
}

/* A copy of the first n ids of src, same indices. */
static idmap_t *copy_ids(const idmap_t *src, uint32_t n, err_t *err)
{
    idmap_t *m = idmap_new();
    if (!m) {
        err_set(err, "cf model: out of memory for ids");
        return NULL;
    }
    for (uint32_t i = 0; i < n; i++) {
        size_t len;
        const char *k = idmap_key(src, i, &len);
        uint32_t idx;
        if (!k || idmap_intern(m, k, len, &idx) != 1 || idx != i) {
            idmap_free(m);
            err_set(err, "cf model: cannot copy id %u", i);
            return NULL;
        }
    }
    return m;
}

int cf_model_set_catalog(cf_model_t *m, const idmap_t *users, const catalog_t *cat, err_t *err)
{
    if (users) {
        if (idmap_size(users) < m->n_users)
            return err_set(err, "cf model: %u user ids for %u users", idmap_size(users), m->n_users);
        idmap_t *u = copy_ids(users, m->n_users, err);
        if (!u)
            return -1;
        idmap_free(m->user_ids);
        m->user_ids = u;
    }
    if (cat) {
        if (catalog_size(cat) < m->n_items)
            return err_set(err, "cf model: catalog of %u items for %u items", catalog_size(cat), m->n_items);
        idmap_t *it = copy_ids(catalog_ids(cat), m->n_items, err);
        uint64_t *gm = cf_model_calloc(m, m->n_items, sizeof *gm);
        int32_t *yr = cf_model_calloc(m, m->n_items, sizeof *yr);
        if (!it)
            return -1;
        if (!gm || !yr) {
            idmap_free(it);
            return err_set(err, "cf model: out of memory");
        }
        for (uint32_t i = 0; i < m->n_items; i++) {
            gm[i] = catalog_genre_mask(cat, i);
            yr[i] = catalog_year(cat, i);
        }
        idmap_free(m->item_ids);
        m->item_ids = it;
        m->genre_mask = gm;
        m->year = yr;
    }
    return 0;
}
