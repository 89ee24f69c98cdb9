/*
 * cf_knn.c: neighbourhood CF, item-based and user-based.
 *
 * X is the user x item training matrix with w = 1 per interaction (binary)
 * or the rating. Both kinds use the cosine with shrinkage
 *
 *   sim(a, b) = a . b / (|a| |b| + shrink)
 *
 * (shrink damps similarities resting on few common users or items).
 *
 * itemknn  sim over the columns of X. Training computes, for every item i
 *          (parallel_for over items, one dense accumulator per thread), the
 *          dot products with every item sharing a user (users of i, then
 *          their items), keeps the k most similar items with sim > 0 (ties
 *          to the lower index) and stores them as one sparse row sorted by
 *          column: m->knn, n_items x n_items, at most k per row. Scores of a
 *          history = sum over its items h of w_h * S[h] (any history, so a
 *          new user needs no fold-in); similar items = the item's row.
 * userknn  sim over the rows of X. The model keeps X^T with the weights
 *          (m->knn, n_items x n_users: the users of each item) and the row
 *          norms |X_u| (m->knn_norm). Scoring a history (a known user's row
 *          merged with events, or a new user's events: the fold-in) takes
 *          the dot with every training user through X^T, the k users of
 *          highest sim > 0 (the known user excluded), and scores = sum over
 *          them of sim_u * X_u.
 * Every loop runs in a fixed order, so results do not depend on threads.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/base/clock.h"
#include "common/base/parallel.h"
#include "services/cf/cf_internal.h"

static inline float knn_w(int binary, float r)
{
    return binary ? 1.0f : r;
}

typedef struct iknn_ctx {
    const cf_data_t *d;
    const cf_knn_params_t *p;
    const float *norm;   /* n_items */
    float *acc;          /* threads x n_items, zero between items */
    uint32_t *touched;   /* threads x n_items: items reached from i */
    uint32_t *stamp;     /* threads x n_items: the last i that reached j */
    topk_item_t *heap;   /* threads x k */
    uint32_t k;
    uint32_t *nb_col;    /* n_items x k */
    float *nb_val;       /* n_items x k */
    uint32_t *nb_n;      /* n_items */
} iknn_ctx_t;

static int cmp_item_index(const void *a, const void *b)
{
    uint32_t x = ((const topk_item_t *)a)->index, y = ((const topk_item_t *)b)->index;
    return x < y ? -1 : x > y;
}

static int iknn_item(uint32_t i, unsigned t, void *vctx)
{
    iknn_ctx_t *c = vctx;
    const cf_data_t *d = c->d;
    size_t n = d->n_items;
    float *acc = c->acc + (size_t)t * n;
    uint32_t *touched = c->touched + (size_t)t * n;
    uint32_t *stamp = c->stamp + (size_t)t * n;
    size_t nt = 0;
    int bin = c->p->binary;
    sparse_view_t users = sparse_csr_row(&d->by_item, i);
    for (size_t a = 0; a < users.nnz; a++) {
        float wi = knn_w(bin, users.val[a]);
        sparse_view_t items = sparse_csr_row(&d->by_user, users.idx[a]);
        for (size_t b = 0; b < items.nnz; b++) {
            uint32_t j = items.idx[b];
            if (stamp[j] != i) {
                stamp[j] = i;
                touched[nt++] = j;
            }
            acc[j] += wi * knn_w(bin, items.val[b]);
        }
    }
    topk_heap_t h;
    topk_heap_init(&h, c->heap + (size_t)t * c->k, c->k);
    for (size_t e = 0; e < nt; e++) {
        uint32_t j = touched[e];
        float dot = acc[j];
        acc[j] = 0.0f;
        if (j == i)
            continue;
        float den = c->norm[i] * c->norm[j] + c->p->shrink;
        float sim = den > 0.0f ? dot / den : 0.0f;
        if (sim > 0.0f && isfinite(sim))
            topk_heap_push(&h, j, sim);
    }
    size_t kept = topk_heap_finish(&h);
    qsort(h.items, kept, sizeof *h.items, cmp_item_index);
    for (size_t e = 0; e < kept; e++) {
        c->nb_col[(size_t)i * c->k + e] = h.items[e].index;
        c->nb_val[(size_t)i * c->k + e] = h.items[e].score;
    }
    c->nb_n[i] = (uint32_t)kept;
    return 0;
}

static int check_params(const char *what, const cf_knn_params_t *p, err_t *err)
{
    if (p->k == 0)
        return err_set(err, "%s: k must be at least 1", what);
    if (!(p->shrink >= 0.0f) || !isfinite(p->shrink))
        return err_set(err, "%s: shrink must be a finite number >= 0", what);
    return 0;
}

static float *column_norms(const cf_data_t *d, int binary, err_t *err)
{
    float *norm = malloc((d->n_items ? d->n_items : 1) * sizeof *norm);
    if (!norm) {
        err_set(err, "itemknn: out of memory");
        return NULL;
    }
    for (uint32_t i = 0; i < d->n_items; i++) {
        sparse_view_t r = sparse_csr_row(&d->by_item, i);
        double s = 0;
        for (size_t e = 0; e < r.nnz; e++) {
            double w = knn_w(binary, r.val[e]);
            s += w * w;
        }
        norm[i] = (float)sqrt(s);
    }
    return norm;
}

int cf_train_itemknn(const cf_data_t *d, const cf_knn_params_t *p, cf_model_t **out, err_t *err)
{
    *out = NULL;
    if (check_params("itemknn", p, err) < 0)
        return -1;
    double t0 = clock_mono_sec();
    size_t n = d->n_items;
    uint32_t k = p->k < d->n_items ? p->k : (d->n_items ? d->n_items : 1);
    unsigned threads = p->threads ? p->threads : 1;
    if (threads > PARALLEL_MAX_THREADS)
        threads = PARALLEL_MAX_THREADS;
    cf_model_t *m = cf_model_alloc(CF_KIND_ITEMKNN, d->n_users, d->n_items, 0);
    if (!m)
        return err_set(err, "itemknn: out of memory");
    m->params.kind = CF_KIND_ITEMKNN;
    m->params.itemknn = *p;
    iknn_ctx_t c = {.d = d, .p = p, .k = k};
    c.norm = column_norms(d, p->binary, err);
    c.acc = calloc((size_t)threads * (n ? n : 1), sizeof *c.acc);
    c.touched = malloc((size_t)threads * (n ? n : 1) * sizeof *c.touched);
    c.stamp = malloc((size_t)threads * (n ? n : 1) * sizeof *c.stamp);
    c.heap = malloc((size_t)threads * k * sizeof *c.heap);
    c.nb_col = malloc((n ? n : 1) * k * sizeof *c.nb_col);
    c.nb_val = malloc((n ? n : 1) * k * sizeof *c.nb_val);
    c.nb_n = calloc(n ? n : 1, sizeof *c.nb_n);
    int rc = -1;
    if (!c.norm || !c.acc || !c.touched || !c.stamp || !c.heap || !c.nb_col || !c.nb_val || !c.nb_n) {
        err_set(err, "itemknn: out of memory for %zu items x %u neighbours", n, k);
        goto done;
    }
    memset(c.stamp, 0xff, (size_t)threads * (n ? n : 1) * sizeof *c.stamp);
    if (cf_model_take_data(m, d, err) < 0)
        goto done;
    if (parallel_for(d->n_items, threads, iknn_item, &c, err) < 0)
        goto done;
    sparse_csr_t *S = &m->knn;
    uint64_t nnz = 0;
    for (size_t i = 0; i < n; i++)
        nnz += c.nb_n[i];
    S->n_rows = S->n_cols = d->n_items;
    S->nnz = nnz;
    S->owned = 1;
    S->row_ptr = malloc((n + 1) * sizeof *S->row_ptr);
    S->col = malloc((nnz ? nnz : 1) * sizeof *S->col);
    S->val = malloc((nnz ? nnz : 1) * sizeof *S->val);
    if (!S->row_ptr || !S->col || !S->val) {
        err_set(err, "itemknn: out of memory for %llu neighbours", (unsigned long long)nnz);
        goto done;
    }
    S->row_ptr[0] = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t o = S->row_ptr[i];
        memcpy(S->col + o, c.nb_col + i * k, c.nb_n[i] * sizeof *S->col);
        memcpy(S->val + o, c.nb_val + i * k, c.nb_n[i] * sizeof *S->val);
        S->row_ptr[i + 1] = o + c.nb_n[i];
    }
    m->fit_seconds = clock_mono_sec() - t0;
    rc = 0;
done:
    free((void *)c.norm);
    free(c.acc);
    free(c.touched);
    free(c.stamp);
    free(c.heap);
    free(c.nb_col);
    free(c.nb_val);
    free(c.nb_n);
    if (rc < 0) {
        cf_model_release(m);
        return -1;
    }
    *out = m;
    return 0;
}

int cf_train_userknn(const cf_data_t *d, const cf_knn_params_t *p, cf_model_t **out, err_t *err)
{
    *out = NULL;
    if (check_params("userknn", p, err) < 0)
        return -1;
    double t0 = clock_mono_sec();
    cf_model_t *m = cf_model_alloc(CF_KIND_USERKNN, d->n_users, d->n_items, 0);
    if (!m)
        return err_set(err, "userknn: out of memory");
    m->params.kind = CF_KIND_USERKNN;
    m->params.userknn = *p;
    float *norm = cf_model_calloc(m, d->n_users, sizeof *norm);
    const sparse_csr_t *src = &d->by_item;
    sparse_csr_t *T = &m->knn;
    T->n_rows = src->n_rows;
    T->n_cols = src->n_cols;
    T->nnz = src->nnz;
    T->owned = 1;
    T->row_ptr = malloc(((size_t)src->n_rows + 1) * sizeof *T->row_ptr);
    T->col = malloc(src->nnz ? src->nnz * sizeof *T->col : 1);
    T->val = malloc(src->nnz ? src->nnz * sizeof *T->val : 1);
    if (!norm || !T->row_ptr || !T->col || !T->val) {
        cf_model_release(m);
        return err_set(err, "userknn: out of memory");
    }
    if (cf_model_take_data(m, d, err) < 0) {
        cf_model_release(m);
        return -1;
    }
    memcpy(T->row_ptr, src->row_ptr, ((size_t)src->n_rows + 1) * sizeof *T->row_ptr);
    if (src->nnz)
        memcpy(T->col, src->col, src->nnz * sizeof *T->col);
    for (uint64_t e = 0; e < src->nnz; e++)
        T->val[e] = knn_w(p->binary, src->val[e]);
    for (uint32_t u = 0; u < d->n_users; u++) {
        sparse_view_t r = sparse_csr_row(&d->by_user, u);
        double s = 0;
        for (size_t e = 0; e < r.nnz; e++) {
            double w = knn_w(p->binary, r.val[e]);
            s += w * w;
        }
        norm[u] = (float)sqrt(s);
    }
    m->knn_norm = norm;
    m->fit_seconds = clock_mono_sec() - t0;
    *out = m;
    return 0;
}

size_t cf_knn_work_floats(const cf_model_t *m)
{
    if (m->kind != CF_KIND_USERKNN)
        return 1;
    size_t k = m->params.userknn.k < m->n_users ? m->params.userknn.k : m->n_users;
    return (size_t)m->n_users + 2 * k + 2; /* sims, then k topk_item_t */
}

int cf_knn_scores(const cf_model_t *m, const uint32_t *items, const float *vals, size_t n, uint32_t self,
                  float *work, float *sc)
{
    memset(sc, 0, (size_t)m->n_items * sizeof *sc);
    if (m->kind == CF_KIND_ITEMKNN) {
        int bin = m->params.itemknn.binary;
        for (size_t h = 0; h < n; h++)
            sparse_axpy_dense(sc, cf_history_weight(m, bin, vals[h]), sparse_csr_row(&m->knn, items[h]));
        return 0;
    }
    if (m->kind != CF_KIND_USERKNN)
        return -1;
    const cf_knn_params_t *p = &m->params.userknn;
    size_t nu = m->n_users;
    float *dot = work;
    memset(dot, 0, nu * sizeof *dot);
    double hn = 0;
    for (size_t h = 0; h < n; h++) {
        float w = cf_history_weight(m, p->binary, vals[h]);
        hn += (double)w * w;
        sparse_axpy_dense(dot, w, sparse_csr_row(&m->knn, items[h]));
    }
    float hnorm = (float)sqrt(hn);
    size_t k = p->k < nu ? p->k : nu;
    /* The heap lives after the sims, 8-byte aligned. */
    topk_item_t *store = (topk_item_t *)(void *)(((uintptr_t)(work + nu) + 7) & ~(uintptr_t)7);
    topk_heap_t heap;
    topk_heap_init(&heap, store, k);
    for (size_t u = 0; u < nu; u++) {
        if (dot[u] == 0.0f || u == self)
            continue;
        float den = hnorm * m->knn_norm[u] + p->shrink;
        float sim = den > 0.0f ? dot[u] / den : 0.0f;
        if (sim > 0.0f && isfinite(sim))
            topk_heap_push(&heap, (uint32_t)u, sim);
    }
    size_t kept = topk_heap_finish(&heap);
    for (size_t e = 0; e < kept; e++) {
        sparse_view_t r = sparse_csr_row(&m->hist, store[e].index);
        float sim = store[e].score;
        for (size_t x = 0; x < r.nnz; x++)
            sc[r.idx[x]] += sim * knn_w(p->binary, r.val[x]);
    }
    return 0;
}

float cf_knn_item_sim(const cf_model_t *m, uint32_t a, uint32_t b)
{
    if (m->kind != CF_KIND_ITEMKNN || a >= m->knn.n_rows)
        return 0.0f;
    sparse_view_t r = sparse_csr_row(&m->knn, a);
    size_t at = sparse_find(r, b);
    return at < r.nnz ? r.val[at] : 0.0f;
}

uint64_t cf_knn_bytes(const cf_model_t *m)
{
    if (m->kind != CF_KIND_ITEMKNN && m->kind != CF_KIND_USERKNN)
        return 0;
    return m->knn.nnz * 8 + ((uint64_t)m->knn.n_rows + 1) * 8 + (m->knn_norm ? (uint64_t)m->n_users * 4 : 0);
}
