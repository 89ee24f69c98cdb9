/*
 * cf_score.c: scoring with a read-only model and a per-thread scratch.
 *
 * Every request first becomes one history: the known user's training row
 * merged with the request's events (sorted by item; an event overrides the
 * stored rating of its item, a later event an earlier one). Then:
 *   als   x = the trained user vector when the request adds nothing, else
 *         the fold-in of the history; scores = item_f x (vec_gemv_rows).
 *   mf    the same with the bias: scores = b_i + q_i . p_u.
 *   ease  scores = sum over the history of w_h * B[h] (one axpy per item).
 * Negative feedback (common/data/feedback.h, cf_value_negative): EASE
 * weighs a negative item -feedback_negative_strength (cf_ease_weight), ALS
 * folds it in with preference 0 (cf_als_fold_in; a known user whose row
 * holds one is folded in rather than served the trained vector), MF folds
 * the low rating in as what it is. cf_explain never names one.
 *   pop   scores = training counts; also every model's answer to an empty
 *         history.
 *   itemknn, userknn  cf_knn_scores (cf_knn.c) over the history.
 * For ALS and MF on big catalogs a caller that selects the top k lets the
 * int8 screen (cf_screen.c) score most items approximately: only items that
 * could be in the top k are scored exactly, the rest get -inf; the top k is
 * unchanged, bit for bit.
 * Top-k then runs over the dense scores with the history and excluded ids
 * in a bitmap (topk.h screens blocks, so the bitmap and the genre/year
 * callback are consulted only for items good enough to enter the heap).
 * The scratch grows to the largest model it has served; nothing else is
 * written, so threads never share mutable state.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/math/vec.h"
#include "services/cf/cf_internal.h"

struct cf_scratch {
    float *scores;
    size_t scores_cap;
    uint64_t *bits;
    size_t bits_cap;
    float *uvec, *fwork;
    size_t uvec_cap, fwork_cap;
    double *work;
    size_t work_cap;
    uint32_t *h_items;
    float *h_vals;
    size_t h_items_cap, h_vals_cap;
    size_t h_n;
    uint64_t *ev_keys;
    size_t ev_cap;
    float *knn_work; /* userknn: cf_knn_work_floats */
    size_t knn_cap;
    size_t h_neg; /* negative entries of the history (cf_value_negative) */
};

cf_scratch_t *cf_scratch_new(void)
{
    return calloc(1, sizeof(cf_scratch_t));
}

void cf_scratch_free(cf_scratch_t *s)
{
    if (!s)
        return;
    free(s->scores);
    free(s->bits);
    free(s->uvec);
    free(s->fwork);
    free(s->work);
    free(s->h_items);
    free(s->h_vals);
    free(s->ev_keys);
    free(s->knn_work);
    free(s);
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 64;
    while (n < need)
        n *= 2;
    void *q = realloc(*p, n * elem);
    if (!q)
        return -1;
    *p = q;
    *cap = n;
    return 0;
}

static int prepare(const cf_model_t *m, cf_scratch_t *s, err_t *err)
{
    size_t d = (size_t)m->dim + 1;
    if (grow((void **)&s->scores, &s->scores_cap, m->n_items + 1, sizeof(float)) < 0 ||
        grow((void **)&s->bits, &s->bits_cap, topk_bitmap_words(m->n_items) + 1, sizeof(uint64_t)) < 0 ||
        grow((void **)&s->uvec, &s->uvec_cap, d, sizeof(float)) < 0 ||
        grow((void **)&s->fwork, &s->fwork_cap, d * d + d, sizeof(float)) < 0 ||
        grow((void **)&s->work, &s->work_cap, d * d + d, sizeof(double)) < 0)
        return err_set(err, "cf: out of memory for scoring scratch");
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The merged history of who into s->h_items / s->h_vals (sorted), and the
 * count of its negative entries into s->h_neg. */
static int build_history(const cf_model_t *m, cf_scratch_t *s, const cf_who_t *who, err_t *err)
{
    s->h_n = 0;
    sparse_view_t row = {NULL, NULL, 0};
    if (who->user != CF_NO_USER) {
        if (who->user >= m->n_users)
            return err_set(err, "cf: user index %u out of range (%u users)", who->user, m->n_users);
        row = sparse_csr_row(&m->hist, who->user);
    }
    size_t ne = who->n_events;
    for (size_t e = 0; e < ne; e++) {
        if (who->events[e].item >= m->n_items)
            return err_set(err, "cf: event %zu: item index %u out of range (%u items)", e, who->events[e].item,
                           m->n_items);
        if (!isfinite(who->events[e].value))
            return err_set(err, "cf: event %zu: rating is not a finite number", e);
    }
    if (grow((void **)&s->h_items, &s->h_items_cap, row.nnz + ne + 1, sizeof(uint32_t)) < 0 ||
        grow((void **)&s->h_vals, &s->h_vals_cap, row.nnz + ne + 1, sizeof(float)) < 0 ||
        grow((void **)&s->ev_keys, &s->ev_cap, ne + 1, sizeof(uint64_t)) < 0)
        return err_set(err, "cf: out of memory for a history of %zu", row.nnz + ne);
    /* Events sorted by (item, position): the last of each item wins. */
    for (size_t e = 0; e < ne; e++)
        s->ev_keys[e] = (uint64_t)who->events[e].item << 32 | (uint64_t)e;
    if (ne > 1)
        qsort(s->ev_keys, ne, sizeof *s->ev_keys, cmp_u64);
    size_t a = 0, b = 0, n = 0;
    while (a < row.nnz || b < ne) {
        uint32_t ib = b < ne ? (uint32_t)(s->ev_keys[b] >> 32) : UINT32_MAX;
        if (b < ne && b + 1 < ne && (uint32_t)(s->ev_keys[b + 1] >> 32) == ib) {
            b++; /* a later event of the same item follows */
            continue;
        }
        if (a < row.nnz && (b >= ne || row.idx[a] < ib)) {
            s->h_items[n] = row.idx[a];
            s->h_vals[n++] = row.val[a++];
        } else {
            if (a < row.nnz && row.idx[a] == ib)
                a++;
            s->h_items[n] = ib;
            s->h_vals[n++] = who->events[(uint32_t)s->ev_keys[b]].value;
            b++;
        }
    }
    s->h_n = n;
    s->h_neg = 0;
    for (size_t h = 0; h < n; h++)
        s->h_neg += cf_value_negative(m, s->h_vals[h]);
    return 0;
}

/* The user vector of the current history into s->uvec; 1 when there is
 * none (empty history), 0 when set, -1 on error. */
static int user_vec(const cf_model_t *m, cf_scratch_t *s, const cf_who_t *who, err_t *err)
{
    size_t d = m->dim;
    if (s->h_n == 0)
        return 1;
    /* The trained vector learned every stored rating as a positive
     * interaction: a history holding a negative one is folded in instead. */
    int known = who->user != CF_NO_USER && who->n_events == 0 && (s->h_neg == 0 || m->kind == CF_KIND_MF);
    if (m->kind == CF_KIND_ALS) {
        if (known)
            memcpy(s->uvec, m->user_f + who->user * d, d * sizeof(float));
        else if (cf_als_fold_in(m, s->h_items, s->h_vals, s->h_n, s->uvec, s->work, s->fwork) < 0)
            return err_set(err, "als: fold-in failed (system not positive definite)");
        return 0;
    }
    if (m->kind == CF_KIND_MF) {
        if (known) {
            s->uvec[0] = m->user_bias[who->user];
            if (d)
                memcpy(s->uvec + 1, m->user_f + who->user * d, d * sizeof(float));
        } else if (cf_mf_fold_in(m, s->h_items, s->h_vals, s->h_n, s->uvec, s->work) < 0) {
            return err_set(err, "mf: fold-in failed");
        }
        return 0;
    }
    return err_set(err, "cf: a %s model has no user vectors", cf_kind_name(m->kind));
}

/* What the caller selects from the scores: lets score_all screen (cf_screen.c). */
typedef struct screen_req {
    const filter_t *f;
    uint32_t self;
    size_t k;
    const uint64_t *allow; /* items the scores stand for (NULL: all) */
} screen_req_t;

static const filter_t no_filter;

/* The exclusion bitmap of f (history unless include_seen, excluded ids,
 * self) into s->bits, and the top-k filter over it. */
static void make_filter(const cf_model_t *m, cf_scratch_t *s, const filter_t *f, uint32_t self,
                        filter_keep_t *kc, topk_filter_t *tf)
{
    size_t words = topk_bitmap_words(m->n_items);
    memset(s->bits, 0, words * sizeof *s->bits);
    if (!f->include_seen)
        for (size_t h = 0; h < s->h_n; h++)
            topk_bitmap_set(s->bits, s->h_items[h]);
    filter_exclude_bits(f, s->bits, m->n_items);
    if (self < m->n_items)
        topk_bitmap_set(s->bits, self);
    *kc = cf_filter_keep_ctx(m, f);
    *tf = (topk_filter_t){s->bits, NULL, m->n_items, filter_has_attrs(f) ? filter_keep : NULL, kc};
}

/* Factor scores through the screen when it applies; 1: not applied. */
static int screened(const cf_model_t *m, cf_scratch_t *s, const screen_req_t *q, const float *u, const float *bias)
{
    if (!q || !m->screen.q)
        return 1;
    filter_keep_t kc;
    topk_filter_t tf;
    make_filter(m, s, q->f, q->self, &kc, &tf);
    tf.allow = q->allow;
    return cf_screen_scores(m, u, bias, &tf, q->k, s->scores);
}

static int score_all(const cf_model_t *m, cf_scratch_t *s, const cf_who_t *who, size_t *used,
                     const screen_req_t *q, err_t *err)
{
    if (prepare(m, s, err) < 0 || build_history(m, s, who, err) < 0)
        return -1;
    if (used)
        *used = s->h_n;
    float *sc = s->scores;
    size_t n = m->n_items, d = m->dim;
    if (m->kind == CF_KIND_POP || s->h_n == 0) {
        memcpy(sc, m->pop, n * sizeof *sc);
        return 0;
    }
    if (m->kind == CF_KIND_EASE) {
        memset(sc, 0, n * sizeof *sc);
        for (size_t h = 0; h < s->h_n; h++)
            vec_axpy(sc, cf_ease_weight(m, s->h_vals[h]), m->ease_b + (size_t)s->h_items[h] * n, n);
        return 0;
    }
    if (m->kind == CF_KIND_ITEMKNN || m->kind == CF_KIND_USERKNN) {
        if (grow((void **)&s->knn_work, &s->knn_cap, cf_knn_work_floats(m), sizeof(float)) < 0)
            return err_set(err, "cf: out of memory for scoring scratch");
        return cf_knn_scores(m, s->h_items, s->h_vals, s->h_n, who->user, s->knn_work, sc);
    }
    if (user_vec(m, s, who, err) < 0)
        return -1;
    if (m->kind == CF_KIND_ALS) {
        if (screened(m, s, q, s->uvec, NULL) != 0)
            vec_gemv_rows(m->item_f, n, d, s->uvec, sc);
    } else if (d && screened(m, s, q, s->uvec + 1, m->item_bias) == 0) {
        /* scores include the biases */
    } else {
        if (d)
            vec_gemv_rows(m->item_f, n, d, s->uvec + 1, sc);
        else
            memset(sc, 0, n * sizeof *sc);
        vec_axpy(sc, 1.0f, m->item_bias, n);
    }
    return 0;
}

const float *cf_score_all(const cf_model_t *m, cf_scratch_t *s, const cf_who_t *who, size_t *history_used,
                          err_t *err)
{
    return score_all(m, s, who, history_used, NULL, err) < 0 ? NULL : s->scores;
}

const float *cf_score_all_top(const cf_model_t *m, cf_scratch_t *s, const cf_who_t *who, const filter_t *f,
                              const uint64_t *allow, size_t k, size_t *history_used, err_t *err)
{
    screen_req_t q = {f ? f : &no_filter, UINT32_MAX, k, allow};
    return score_all(m, s, who, history_used, &q, err) < 0 ? NULL : s->scores;
}

/* Top-k over s->scores with the filter; the history is in s. */
static long select_top(const cf_model_t *m, cf_scratch_t *s, const filter_t *f, uint32_t self, size_t k,
                       topk_item_t *out, err_t *err)
{
    if (!f)
        f = &no_filter;
    if ((f->genre_mask && !m->genre_mask) || ((f->year_min || f->year_max) && !m->year))
        return err_set(err, "cf: genre and year filters need the catalog in the model");
    filter_keep_t kc;
    topk_filter_t tf;
    make_filter(m, s, f, self, &kc, &tf);
    return (long)topk_dense(s->scores, m->n_items, k, &tf, out);
}

long cf_recommend(const cf_model_t *m, cf_scratch_t *s, const cf_who_t *who, const filter_t *filter,
                  size_t k, topk_item_t *out, size_t *history_used, err_t *err)
{
    const filter_t *f = filter ? filter : &no_filter;
    if ((f->genre_mask && !m->genre_mask) || ((f->year_min || f->year_max) && !m->year))
        return err_set(err, "cf: genre and year filters need the catalog in the model");
    screen_req_t q = {f, UINT32_MAX, k, NULL};
    if (score_all(m, s, who, history_used, &q, err) < 0)
        return -1;
    return select_top(m, s, filter, UINT32_MAX, k, out, err);
}

int cf_score_items(const cf_model_t *m, cf_scratch_t *s, const cf_who_t *who, const uint32_t *items, size_t n,
                   float *scores, err_t *err)
{
    for (size_t i = 0; i < n; i++)
        if (items[i] >= m->n_items)
            return err_set(err, "cf: candidate %zu: item index %u out of range (%u items)", i, items[i], m->n_items);
    if ((m->kind == CF_KIND_ALS || m->kind == CF_KIND_MF) && n < m->n_items / 8) {
        /* Few candidates: one dot product each instead of all items. */
        if (prepare(m, s, err) < 0 || build_history(m, s, who, err) < 0)
            return -1;
        int rc = user_vec(m, s, who, err);
        if (rc < 0)
            return -1;
        for (size_t i = 0; i < n; i++) {
            size_t it = items[i], d = m->dim;
            if (rc == 1)
                scores[i] = m->pop[it];
            else if (m->kind == CF_KIND_ALS)
                scores[i] = vec_dot(m->item_f + it * d, s->uvec, d);
            else
                scores[i] = m->item_bias[it] + (d ? vec_dot(m->item_f + it * d, s->uvec + 1, d) : 0.0f);
        }
        return 0;
    }
    if (score_all(m, s, who, NULL, NULL, err) < 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        scores[i] = s->scores[items[i]];
    return 0;
}

long cf_similar(const cf_model_t *m, cf_scratch_t *s, uint32_t item, const filter_t *filter, size_t k,
                topk_item_t *out, err_t *err)
{
    if (item >= m->n_items)
        return err_set(err, "cf: item index %u out of range (%u items)", item, m->n_items);
    if (prepare(m, s, err) < 0)
        return -1;
    s->h_n = 0;
    float *sc = s->scores;
    size_t n = m->n_items, d = m->dim;
    if ((m->kind == CF_KIND_ALS || m->kind == CF_KIND_MF) && d > 0) {
        vec_gemv_rows(m->item_f, n, d, m->item_f + (size_t)item * d, sc);
        float self = m->item_inv_norm[item];
        for (size_t j = 0; j < n; j++)
            sc[j] *= self * m->item_inv_norm[j];
    } else if (m->kind == CF_KIND_EASE) {
        memcpy(sc, m->ease_b + (size_t)item * n, n * sizeof *sc);
    } else if (m->kind == CF_KIND_ITEMKNN) {
        /* The neighbour list only: the other items get -inf and are cut. */
        for (size_t j = 0; j < n; j++)
            sc[j] = -INFINITY;
        sparse_view_t r = sparse_csr_row(&m->knn, item);
        for (size_t e = 0; e < r.nnz; e++)
            sc[r.idx[e]] = r.val[e];
        long got = select_top(m, s, filter, item, k, out, err);
        while (got > 0 && !(out[got - 1].score > -INFINITY))
            got--;
        return got;
    } else {
        /* Co-occurrence cosine: users who have the item, their other items. */
        memset(sc, 0, n * sizeof *sc);
        for (uint32_t u = 0; u < m->n_users; u++) {
            sparse_view_t r = sparse_csr_row(&m->hist, u);
            if (sparse_find(r, item) < r.nnz)
                for (size_t e = 0; e < r.nnz; e++)
                    sc[r.idx[e]] += 1.0f;
        }
        for (size_t j = 0; j < n; j++)
            sc[j] = m->pop[j] > 0.0f && m->pop[item] > 0.0f ? sc[j] / sqrtf(m->pop[j] * m->pop[item]) : 0.0f;
    }
    return select_top(m, s, filter, item, k, out, err);
}

int cf_predict(const cf_model_t *m, cf_scratch_t *s, const cf_who_t *who, const uint32_t *items, size_t n,
               float *out, err_t *err)
{
    if (m->kind != CF_KIND_MF)
        return err_set(err, "cf: rating prediction needs an mf model, not %s", cf_kind_name(m->kind));
    for (size_t i = 0; i < n; i++)
        if (items[i] >= m->n_items)
            return err_set(err, "cf: item %zu: index %u out of range (%u items)", i, items[i], m->n_items);
    if (prepare(m, s, err) < 0 || build_history(m, s, who, err) < 0)
        return -1;
    int rc = user_vec(m, s, who, err);
    if (rc < 0)
        return -1;
    size_t d = m->dim;
    for (size_t i = 0; i < n; i++) {
        size_t it = items[i];
        float r = m->mu + m->item_bias[it];
        if (rc == 0)
            r += s->uvec[0] + (d ? vec_dot(m->item_f + it * d, s->uvec + 1, d) : 0.0f);
        out[i] = r < m->rmin ? m->rmin : r > m->rmax ? m->rmax : r;
    }
    return 0;
}

int cf_user_vector(const cf_model_t *m, cf_scratch_t *s, const cf_who_t *who, float *out, err_t *err)
{
    if (m->kind != CF_KIND_ALS && m->kind != CF_KIND_MF)
        return err_set(err, "cf: a %s model has no user vectors", cf_kind_name(m->kind));
    if (prepare(m, s, err) < 0 || build_history(m, s, who, err) < 0)
        return -1;
    int rc = user_vec(m, s, who, err);
    if (rc < 0)
        return -1;
    size_t len = m->dim + (m->kind == CF_KIND_MF);
    if (rc == 1)
        memset(out, 0, len * sizeof *out);
    else
        memcpy(out, s->uvec, len * sizeof *out);
    return 0;
}

uint32_t cf_explain(const cf_model_t *m, cf_scratch_t *s, const cf_who_t *who, uint32_t item)
{
    err_t err;
    if (item >= m->n_items || m->kind == CF_KIND_POP || prepare(m, s, &err) < 0 ||
        build_history(m, s, who, &err) < 0)
        return CF_NO_USER;
    uint32_t best = CF_NO_USER;
    float best_v = -INFINITY;
    size_t d = m->dim;
    for (size_t h = 0; h < s->h_n; h++) {
        uint32_t j = s->h_items[h];
        if (j == item || cf_value_negative(m, s->h_vals[h]))
            continue; /* never explained by an item the user disliked */
        float v;
        if (m->kind == CF_KIND_EASE)
            v = cf_ease_weight(m, s->h_vals[h]) * m->ease_b[(size_t)j * m->n_items + item];
        else if (m->kind == CF_KIND_ITEMKNN)
            v = cf_history_weight(m, m->params.itemknn.binary, s->h_vals[h]) * cf_knn_item_sim(m, j, item);
        else if (d)
            v = vec_dot(m->item_f + (size_t)j * d, m->item_f + (size_t)item * d, d) * m->item_inv_norm[j];
        else
            return CF_NO_USER;
        if (v > best_v) {
            best_v = v;
            best = j;
        }
    }
    return best;
}
