/*
 * cf_mf.c: explicit biased matrix factorisation for rating prediction.
 *
 *   r_ui ~ mu + b_u + b_i + p_u . q_i
 *
 * fitted by alternating least squares with weighted-lambda regularisation
 * (Zhou et al. 2008, "ALS-WR"): with the item side fixed, each user's
 * (b_u, p_u) is the exact solution of the ridge regression of
 * r_ui - mu - b_i on (1, q_i) over the user's ratings, the penalty on the
 * bias and on the factors scaled by the user's rating count; then the same
 * for items. Each solve is a (dim + 1) x (dim + 1) Cholesky; rows are
 * independent, so threads share them statically and the result does not
 * depend on the thread count. ALS rather than SGD: no learning rate, no
 * shuffling order to make deterministic, and fold-in of a new history is
 * literally one training step.
 */
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/base/rng.h"
#include "common/base/parallel.h"
#include "common/base/clock.h"
#include "common/math/vec.h"
#include "services/cf/cf_internal.h"
#include "services/cf/cf_linalg.h"

typedef struct mf_job {
    const sparse_csr_t *R;
    const float *other_f, *other_b; /* fixed side */
    float *self_f, *self_b;         /* updated side */
    float mu, reg, bias_reg, reg_exp;
    uint32_t k;
    const uint32_t *bounds;
    atomic_int fail;
} mf_job_t;

/* The ridge solve of one row into (b, f). work: (k+1)^2 + (k+1) doubles,
 * fw: (k+1)^2 + (k+1) floats. */
static int mf_solve_row(const float *other_f, const float *other_b, float mu, float reg, float bias_reg, float reg_exp, uint32_t k,
                        const uint32_t *idx, const float *val, size_t nnz, float *b_out, float *f_out,
                        double *work, float *fw)
{
    size_t n = (size_t)k + 1;
    float *A = fw, *z = fw + n * n;
    memset(A, 0, n * n * sizeof *A);
    double *Ad = work, *rhs = work + n * n;
    for (size_t i = 0; i < n; i++)
        rhs[i] = 0.0;
    for (size_t e = 0; e < nnz; e++) {
        z[0] = 1.0f;
        if (k)
            memcpy(z + 1, other_f + (size_t)idx[e] * k, k * sizeof *z);
        vec_syrk_add(A, z, n, 1.0f);
        double t = (double)val[e] - mu - other_b[idx[e]];
        for (size_t i = 0; i < n; i++)
            rhs[i] += t * z[i];
    }
    double cnt = nnz ? pow((double)nnz, reg_exp) : 1.0;
    for (size_t i = 0; i < n * n; i++)
        Ad[i] = A[i];
    Ad[0] += bias_reg * cnt;
    for (size_t i = 1; i < n; i++)
        Ad[i * n + i] += reg * cnt;
    if (cf_chol_solve(Ad, rhs, n) < 0)
        return -1;
    *b_out = (float)rhs[0];
    for (size_t i = 0; i < k; i++)
        f_out[i] = (float)rhs[i + 1];
    return 0;
}

static void mf_part(void *ctx, unsigned t)
{
    mf_job_t *j = ctx;
    size_t n = (size_t)j->k + 1;
    double *work = malloc((n * n + n) * sizeof *work);
    float *fw = malloc((n * n + n) * sizeof *fw);
    if (!work || !fw) {
        atomic_store(&j->fail, 1);
    } else {
        for (uint32_t r = j->bounds[t]; r < j->bounds[t + 1]; r++) {
            sparse_view_t row = sparse_csr_row(j->R, r);
            if (mf_solve_row(j->other_f, j->other_b, j->mu, j->reg, j->bias_reg, j->reg_exp, j->k, row.idx, row.val, row.nnz,
                             &j->self_b[r], j->self_f + (size_t)r * j->k, work, fw) < 0)
                atomic_store(&j->fail, 1);
        }
    }
    free(work);
    free(fw);
}

int cf_train_mf(const cf_data_t *d, const cf_mf_params_t *p, cf_model_t **out, err_t *err)
{
    *out = NULL;
    if (p->factors > 1024)
        return err_set(err, "mf: factors must be 0..1024, not %u", p->factors);
    if (p->threads == 0 || p->threads > 256)
        return err_set(err, "mf: threads must be 1..256, not %u", p->threads);
    if (!(p->reg > 0.0f) || !(p->bias_reg > 0.0f) || !(p->reg_exp >= 0.0f && p->reg_exp <= 2.0f))
        return err_set(err, "mf: reg and bias-reg must be > 0, reg-exp in 0..2");
    double t0 = clock_mono_sec();
    uint32_t k = p->factors;
    cf_model_t *m = cf_model_alloc(CF_KIND_MF, d->n_users, d->n_items, k);
    if (!m)
        return err_set(err, "mf: out of memory");
    m->params.kind = CF_KIND_MF;
    m->params.mf = *p;
    float *uf = cf_model_calloc(m, (size_t)d->n_users * k + 1, sizeof *uf);
    float *itf = cf_model_calloc(m, (size_t)d->n_items * k + 1, sizeof *itf);
    float *ub = cf_model_calloc(m, (size_t)d->n_users + 1, sizeof *ub);
    float *ib = cf_model_calloc(m, (size_t)d->n_items + 1, sizeof *ib);
    uint32_t *bounds = calloc(p->threads + 1, sizeof *bounds);
    if (!uf || !itf || !ub || !ib || !bounds) {
        free(bounds);
        cf_model_release(m);
        return err_set(err, "mf: out of memory");
    }
    if (cf_model_take_data(m, d, err) < 0) {
        free(bounds);
        cf_model_release(m);
        return -1;
    }
    double sum = 0.0;
    for (uint64_t i = 0; i < d->by_user.nnz; i++)
        sum += d->by_user.val[i];
    m->mu = d->by_user.nnz ? (float)(sum / (double)d->by_user.nnz) : 0.0f;
    for (uint32_t i = 0; i < d->n_items; i++) {
        rng_t g;
        rng_seed2(&g, p->seed, i);
        for (uint32_t f = 0; f < k; f++)
            itf[(size_t)i * k + f] = (float)(rng_normal(&g) * 0.1);
    }
    /* Ends with a user step, so that a user's stored (b_u, p_u) is exactly
     * the fold-in of their ratings against the final item side. */
    for (uint32_t it = 0; it < p->iterations; it++) {
        for (int step = 0; step < 2 + (it + 1 == p->iterations); step++) {
            int side = step % 2;
            const sparse_csr_t *R = side == 0 ? &d->by_user : &d->by_item;
            cf_partition(R->row_ptr, R->n_rows, p->threads, 8, bounds);
            mf_job_t j = {R,
                          side == 0 ? itf : uf,
                          side == 0 ? ib : ub,
                          side == 0 ? uf : itf,
                          side == 0 ? ub : ib,
                          m->mu,
                          p->reg,
                          p->bias_reg,
                          p->reg_exp,
                          k,
                          bounds,
                          0};
            parallel_run(p->threads, mf_part, &j);
            if (atomic_load(&j.fail)) {
                free(bounds);
                cf_model_release(m);
                return err_set(err, "mf: solve failed in iteration %u (out of memory or not positive definite)",
                               it + 1);
            }
        }
    }
    free(bounds);
    m->user_f = uf;
    m->item_f = itf;
    m->user_bias = ub;
    m->item_bias = ib;
    if (k && cf_model_item_norms(m, err) < 0) {
        cf_model_release(m);
        return -1;
    }
    m->fit_seconds = clock_mono_sec() - t0;
    *out = m;
    return 0;
}

int cf_mf_fold_in(const cf_model_t *m, const uint32_t *items, const float *values, size_t n, float *out,
                  double *work)
{
    size_t kk = (size_t)m->dim + 1;
    float *fw = malloc((kk * kk + kk) * sizeof *fw);
    if (!fw)
        return -1;
    int rc = mf_solve_row(m->item_f, m->item_bias, m->mu, m->params.mf.reg, m->params.mf.bias_reg,
                          m->params.mf.reg_exp, m->dim, items,
                          values, n, &out[0], out + 1, work, fw);
    free(fw);
    return rc;
}
