/*
 * cf_als.c: implicit-feedback ALS with a conjugate-gradient row solver.
 *
 * Each half-iteration fixes one side's factors Y and updates every row x of
 * the other side towards the solution of
 *     (Y^T Y + reg I + sum_i (c_i - 1) y_i y_i^T) x = sum_i c_i y_i
 * (i over the row's interactions, c_i its confidence), the Hu/Koren/Volinsky
 * normal equations, with cg_steps conjugate-gradient steps started from the
 * current x (Takacs et al.; implicit's "cg"). Y^T Y is shared by all rows,
 * so one CG step costs dim^2 + 2 dim per interaction instead of the
 * dim^2 per interaction of forming the matrix.
 *
 * Determinism: rows are initialised from rng streams keyed by (seed, row),
 * each row's update reads only the fixed side, and Y^T Y is summed over a
 * fixed number of row blocks in a fixed order; threads only decide who
 * computes which rows, so the factors are identical bit for bit for any
 * thread count (and for a given seed).
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/base/rng.h"
#include "common/base/parallel.h"
#include "common/base/clock.h"
#include "common/math/vec.h"
#include "services/cf/cf_internal.h"
#include "services/cf/cf_linalg.h"

#define ALS_GRAM_BLOCKS 16u

typedef struct gram_job {
    const float *F;
    uint32_t n_rows, dim, threads;
    float *partial; /* ALS_GRAM_BLOCKS x dim x dim */
} gram_job_t;

static void gram_part(void *ctx, unsigned t)
{
    gram_job_t *j = ctx;
    size_t dd = (size_t)j->dim * j->dim;
    for (uint32_t b = t; b < ALS_GRAM_BLOCKS; b += j->threads) {
        size_t r0 = (size_t)j->n_rows * b / ALS_GRAM_BLOCKS;
        size_t r1 = (size_t)j->n_rows * (b + 1) / ALS_GRAM_BLOCKS;
        vec_gram(j->F + r0 * j->dim, r1 - r0, j->dim, j->partial + b * dd);
    }
}

/* G = F^T F, the same for any thread count. */
static int gram_parallel(const float *F, uint32_t n_rows, uint32_t dim, uint32_t threads, float *G)
{
    size_t dd = (size_t)dim * dim;
    float *partial = malloc(ALS_GRAM_BLOCKS * dd * sizeof *partial);
    double *acc = calloc(dd, sizeof *acc);
    if (!partial || !acc) {
        free(partial);
        free(acc);
        return -1;
    }
    gram_job_t j = {F, n_rows, dim, threads > ALS_GRAM_BLOCKS ? ALS_GRAM_BLOCKS : threads, partial};
    parallel_run(j.threads, gram_part, &j);
    for (uint32_t b = 0; b < ALS_GRAM_BLOCKS; b++)
        for (size_t i = 0; i < dd; i++)
            acc[i] += partial[b * dd + i];
    for (size_t i = 0; i < dd; i++)
        G[i] = (float)acc[i];
    free(partial);
    free(acc);
    return 0;
}

typedef struct solve_job {
    const sparse_csr_t *R; /* rows to update x rows of Y */
    const float *Y;        /* fixed side */
    float *X;              /* updated side */
    const float *A0;       /* Y^T Y + reg I */
    const cf_als_params_t *p;
    uint32_t dim;
    const uint32_t *bounds;
    atomic_int oom;
} solve_job_t;

/* cg_steps conjugate-gradient steps on one row, from x. */
static void cg_row(const solve_job_t *j, sparse_view_t row, float *x, float *r, float *p, float *ap)
{
    uint32_t d = j->dim;
    vec_gemv_rows(j->A0, d, d, x, r);
    vec_scale(r, -1.0f, d);
    for (size_t k = 0; k < row.nnz; k++) {
        const float *y = j->Y + (size_t)row.idx[k] * d;
        float c = cf_als_conf(j->p, row.val[k]);
        vec_axpy(r, c - (c - 1.0f) * vec_dot(y, x, d), y, d);
    }
    memcpy(p, r, d * sizeof *p);
    float rsold = vec_dot(r, r, d);
    if (rsold < 1e-20f)
        return;
    for (uint32_t it = 0; it < j->p->cg_steps; it++) {
        vec_gemv_rows(j->A0, d, d, p, ap);
        for (size_t k = 0; k < row.nnz; k++) {
            const float *y = j->Y + (size_t)row.idx[k] * d;
            float c = cf_als_conf(j->p, row.val[k]);
            vec_axpy(ap, (c - 1.0f) * vec_dot(y, p, d), y, d);
        }
        float pap = vec_dot(p, ap, d);
        if (!(pap > 0.0f))
            break;
        float alpha = rsold / pap;
        vec_axpy(x, alpha, p, d);
        vec_axpy(r, -alpha, ap, d);
        float rsnew = vec_dot(r, r, d);
        if (rsnew < 1e-20f)
            break;
        float beta = rsnew / rsold;
        for (uint32_t i = 0; i < d; i++)
            p[i] = r[i] + beta * p[i];
        rsold = rsnew;
    }
}

static void solve_part(void *ctx, unsigned t)
{
    solve_job_t *j = ctx;
    uint32_t d = j->dim;
    float *buf = malloc(3 * (size_t)d * sizeof *buf);
    if (!buf) {
        atomic_store(&j->oom, 1);
        return;
    }
    for (uint32_t u = j->bounds[t]; u < j->bounds[t + 1]; u++)
        cg_row(j, sparse_csr_row(j->R, u), j->X + (size_t)u * d, buf, buf + d, buf + 2 * d);
    free(buf);
}

static int half_step(const sparse_csr_t *R, const float *Y, uint32_t n_y, float *X, const cf_als_params_t *p,
                     uint32_t dim, float *A0, uint32_t *bounds)
{
    if (gram_parallel(Y, n_y, dim, p->threads, A0) < 0)
        return -1;
    for (uint32_t i = 0; i < dim; i++)
        A0[(size_t)i * dim + i] += p->reg;
    cf_partition(R->row_ptr, R->n_rows, p->threads, 4 + dim / 4, bounds);
    solve_job_t j = {R, Y, X, A0, p, dim, bounds, 0};
    parallel_run(p->threads, solve_part, &j);
    return atomic_load(&j.oom) ? -1 : 0;
}

static void init_rows(float *F, uint32_t n, uint32_t dim, uint64_t seed, uint64_t side)
{
    for (uint32_t r = 0; r < n; r++) {
        rng_t g;
        rng_seed2(&g, seed ^ side, r);
        for (uint32_t k = 0; k < dim; k++)
            F[(size_t)r * dim + k] = (float)(rng_uniform(&g) * 0.01);
    }
}

int cf_train_als(const cf_data_t *d, const cf_als_params_t *p, cf_model_t **out, err_t *err)
{
    *out = NULL;
    if (p->factors == 0 || p->factors > 1024)
        return err_set(err, "als: factors must be 1..1024, not %u", p->factors);
    if (p->threads == 0 || p->threads > 256)
        return err_set(err, "als: threads must be 1..256, not %u", p->threads);
    if (!(p->reg >= 0.0f) || !(p->alpha >= 0.0f) || (p->conf == CF_CONF_LOG && !(p->eps > 0.0f)))
        return err_set(err, "als: reg and alpha must be >= 0 and eps > 0");
    double t0 = clock_mono_sec();
    uint32_t dim = p->factors;
    cf_model_t *m = cf_model_alloc(CF_KIND_ALS, d->n_users, d->n_items, dim);
    if (!m)
        return err_set(err, "als: out of memory");
    m->params.kind = CF_KIND_ALS;
    m->params.als = *p;
    float *X = cf_model_calloc(m, (size_t)d->n_users * dim + 1, sizeof *X);
    float *Y = cf_model_calloc(m, (size_t)d->n_items * dim + 1, sizeof *Y);
    float *G = cf_model_calloc(m, (size_t)dim * dim, sizeof *G);
    uint32_t *bounds = calloc(p->threads + 1, sizeof *bounds);
    if (!X || !Y || !G || !bounds) {
        free(bounds);
        cf_model_release(m);
        return err_set(err, "als: out of memory for %u x %u factors", d->n_users + d->n_items, dim);
    }
    if (cf_model_take_data(m, d, err) < 0) {
        free(bounds);
        cf_model_release(m);
        return -1;
    }
    init_rows(X, d->n_users, dim, p->seed, 0x75736572u);
    init_rows(Y, d->n_items, dim, p->seed, 0x6974656du);
    for (uint32_t it = 0; it < p->iterations; it++) {
        if (half_step(&d->by_user, Y, d->n_items, X, p, dim, G, bounds) < 0 ||
            half_step(&d->by_item, X, d->n_users, Y, p, dim, G, bounds) < 0) {
            free(bounds);
            cf_model_release(m);
            return err_set(err, "als: out of memory in iteration %u", it + 1);
        }
    }
    free(bounds);
    m->user_f = X;
    m->item_f = Y;
    if (gram_parallel(Y, d->n_items, dim, p->threads, G) < 0 || cf_model_item_norms(m, err) < 0) {
        cf_model_release(m);
        return err_set(err, "als: out of memory");
    }
    m->gram = G;
    m->fit_seconds = clock_mono_sec() - t0;
    *out = m;
    return 0;
}

int cf_als_fold_in(const cf_model_t *m, const uint32_t *items, const float *values, size_t n, float *x,
                   double *work, float *fwork)
{
    const cf_als_params_t *p = &m->params.als;
    uint32_t d = m->dim;
    memcpy(fwork, m->gram, (size_t)d * d * sizeof *fwork);
    for (uint32_t i = 0; i < d; i++)
        fwork[(size_t)i * d + i] += p->reg;
    double *A = work, *b = work + (size_t)d * d;
    for (uint32_t i = 0; i < d; i++)
        b[i] = 0.0;
    for (size_t k = 0; k < n; k++) {
        const float *y = m->item_f + (size_t)items[k] * d;
        /* A negative item (common/data/feedback.h) is observed with
         * preference 0: its confidence (by how strongly it is disliked)
         * enters the matrix, nothing enters b, so the user vector moves away
         * from it and from the items close to it. */
        bool neg = cf_value_negative(m, values[k]);
        float c = cf_als_conf(p, neg ? feedback_negative_strength(values[k]) * m->rmax : values[k]);
        vec_syrk_add(fwork, y, d, c - 1.0f);
        if (neg)
            continue;
        for (uint32_t i = 0; i < d; i++)
            b[i] += (double)c * y[i];
    }
    for (size_t i = 0; i < (size_t)d * d; i++)
        A[i] = fwork[i];
    if (cf_chol_solve(A, b, d) < 0)
        return -1;
    for (uint32_t i = 0; i < d; i++)
        x[i] = (float)b[i];
    return 0;
}
