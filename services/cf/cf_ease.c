/*
 * cf_ease.c: EASE (Steck 2019), the closed-form item-item model.
 *
 *   G = X^T X + lambda I,  P = G^-1,  B[i][j] = -P[i][j] / P[j][j],  B[j][j] = 0
 *
 * X is the user x item matrix, binary or with the ratings as values
 * (params.binary). G is accumulated from each user's item pairs (sparse:
 * sum over users of |history|^2, far less than a dense syrk over users x
 * items); the inverse is LAPACK's Cholesky (spotrf + spotri from OpenBLAS)
 * in float32, which is ample for a diagonal boosted by lambda in the
 * hundreds. B is built in place of P, so the peak is one items x items
 * matrix (4 n^2 bytes: 11 MB for 1682 items, 400 MB for 10k).
 */
#include <lapacke.h>
#include <stdlib.h>
#include <string.h>

#include "services/cf/cf_internal.h"
#include "common/base/clock.h"
#include "services/cf/cf_linalg.h"

int cf_train_ease(const cf_data_t *d, const cf_ease_params_t *p, cf_model_t **out, err_t *err)
{
    *out = NULL;
    if (!(p->lambda > 0.0f))
        return err_set(err, "ease: lambda must be > 0");
    if (d->n_items == 0 || d->n_items > 46000)
        return err_set(err, "ease: %u items is out of range (1..46000: items x items floats)", d->n_items);
    double t0 = clock_mono_sec();
    size_t n = d->n_items;
    cf_model_t *m = cf_model_alloc(CF_KIND_EASE, d->n_users, d->n_items, 0);
    if (!m)
        return err_set(err, "ease: out of memory");
    m->params.kind = CF_KIND_EASE;
    m->params.ease = *p;
    float *B = cf_model_calloc(m, n * n, sizeof *B);
    float *dg = malloc(n * sizeof *dg);
    if (!B || !dg) {
        free(dg);
        cf_model_release(m);
        return err_set(err, "ease: out of memory for a %zu x %zu matrix", n, n);
    }
    if (cf_model_take_data(m, d, err) < 0) {
        free(dg);
        cf_model_release(m);
        return -1;
    }
    /* Lower triangle of X^T X, from each user's pairs (columns sorted). */
    const sparse_csr_t *X = &d->by_user;
    for (uint32_t u = 0; u < X->n_rows; u++) {
        sparse_view_t r = sparse_csr_row(X, u);
        for (size_t a = 0; a < r.nnz; a++) {
            float xa = p->binary ? 1.0f : r.val[a];
            float *row = B + (size_t)r.idx[a] * n;
            for (size_t b = 0; b <= a; b++)
                row[r.idx[b]] += xa * (p->binary ? 1.0f : r.val[b]);
        }
    }
    for (size_t i = 0; i < n; i++)
        B[i * n + i] += p->lambda;
    lapack_int info = LAPACKE_spotrf(LAPACK_ROW_MAJOR, 'L', (lapack_int)n, B, (lapack_int)n);
    if (info == 0)
        info = LAPACKE_spotri(LAPACK_ROW_MAJOR, 'L', (lapack_int)n, B, (lapack_int)n);
    if (info != 0) {
        free(dg);
        cf_model_release(m);
        return err_set(err, "ease: inverse of X^T X + %g I failed (LAPACK info %d)", (double)p->lambda, (int)info);
    }
    /* P's lower triangle -> full, then B = -P / diag(P) column-wise. */
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++)
            B[j * n + i] = B[i * n + j];
    for (size_t j = 0; j < n; j++)
        dg[j] = B[j * n + j];
    for (size_t i = 0; i < n; i++) {
        float *row = B + i * n;
        for (size_t j = 0; j < n; j++)
            row[j] = -row[j] / dg[j];
        row[i] = 0.0f;
    }
    free(dg);
    m->ease_b = B;
    m->fit_seconds = clock_mono_sec() - t0;
    *out = m;
    return 0;
}
