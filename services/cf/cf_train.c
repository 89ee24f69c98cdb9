/*
 * cf_train.c: training by kind: the popularity model, and cf_train, which
 * picks the trainer (auto: EASE when it fits the time and memory budget of
 * cf-ease-max-seconds / cf-ease-max-bytes, else ALS: cf_auto_kind) and
 * keeps every parameter in the model so its file records them all. The
 * trainers only call down into cf_model.c; nothing calls back up here.
 */
#include "common/base/clock.h"
#include "services/cf/cf_internal.h"

int cf_train_pop(const cf_data_t *d, cf_model_t **out, err_t *err)
{
    double t0 = clock_mono_sec();
    *out = NULL;
    cf_model_t *m = cf_model_alloc(CF_KIND_POP, d->n_users, d->n_items, 0);
    if (!m)
        return err_set(err, "pop: out of memory");
    m->params.kind = CF_KIND_POP;
    if (cf_model_take_data(m, d, err) < 0) {
        cf_model_release(m);
        return -1;
    }
    m->fit_seconds = clock_mono_sec() - t0;
    *out = m;
    return 0;
}

uint64_t cf_ease_peak_bytes(uint32_t n_items, uint32_t n_users, uint64_t nnz)
{
    /* B (n^2 floats), the diagonal, the history copy (row offsets, 8 bytes
     * per rating) and the popularity. */
    uint64_t n = n_items;
    return n * n * 4 + n * 8 + ((uint64_t)n_users + 1) * 8 + nnz * 8;
}

double cf_ease_est_seconds(uint32_t n_items, uint64_t pair_count)
{
    /* spotrf (n^3 / 3) + spotri (2 n^3 / 3) at CF_EASE_FLOPS, plus the Gram
     * accumulation (one multiply-add per item pair of each user, ~1e9/s). */
    double n = n_items;
    return n * n * n / CF_EASE_FLOPS + (double)pair_count / 1e9;
}

cf_kind_t cf_auto_kind(const cf_params_t *p, const cf_data_t *d)
{
    uint64_t pairs = 0;
    for (uint32_t u = 0; u < d->by_user.n_rows; u++) {
        uint64_t r = d->by_user.row_ptr[u + 1] - d->by_user.row_ptr[u];
        pairs += r * (r + 1) / 2;
    }
    if (d->n_items == 0 || cf_ease_peak_bytes(d->n_items, d->n_users, d->by_user.nnz) > p->ease_max_bytes ||
        cf_ease_est_seconds(d->n_items, pairs) > p->ease_max_seconds)
        return CF_KIND_ALS;
    return CF_KIND_EASE;
}

int cf_train(const cf_data_t *d, const cf_params_t *p, cf_model_t **out, err_t *err)
{
    cf_kind_t kind = p->kind;
    if (kind == CF_KIND_AUTO)
        kind = cf_auto_kind(p, d);
    int rc;
    switch (kind) {
    case CF_KIND_ALS: rc = cf_train_als(d, &p->als, out, err); break;
    case CF_KIND_EASE: rc = cf_train_ease(d, &p->ease, out, err); break;
    case CF_KIND_MF: rc = cf_train_mf(d, &p->mf, out, err); break;
    case CF_KIND_POP: rc = cf_train_pop(d, out, err); break;
    case CF_KIND_ITEMKNN: rc = cf_train_itemknn(d, &p->itemknn, out, err); break;
    case CF_KIND_USERKNN: rc = cf_train_userknn(d, &p->userknn, out, err); break;
    default: return err_set(err, "cf: unknown model kind %d", (int)kind);
    }
    if (rc == 0) {
        /* Keep every parameter so that the file records them all. */
        cf_kind_t k = (*out)->params.kind;
        (*out)->params = *p;
        (*out)->params.kind = k;
        cf_model_screen_init(*out);
    }
    return rc;
}
