/*
 * cf_train.c: training by kind: the popularity model, and cf_train, which
 * picks the trainer (auto: EASE up to cf-ease-max-items items, else ALS) and
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

int cf_train(const cf_data_t *d, const cf_params_t *p, cf_model_t **out, err_t *err)
{
    cf_kind_t kind = p->kind;
    if (kind == CF_KIND_AUTO)
        kind = d->n_items <= p->ease_max_items ? CF_KIND_EASE : CF_KIND_ALS;
    int rc;
    switch (kind) {
    case CF_KIND_ALS: rc = cf_train_als(d, &p->als, out, err); break;
    case CF_KIND_EASE: rc = cf_train_ease(d, &p->ease, out, err); break;
    case CF_KIND_MF: rc = cf_train_mf(d, &p->mf, out, err); break;
    case CF_KIND_POP: rc = cf_train_pop(d, out, err); break;
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
