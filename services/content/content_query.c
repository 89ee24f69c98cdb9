/*
 * content_query.c: answering with a model: similar items and history
 * scoring (see content_model.h for the rules).
 *
 * Both are read-only on the model and keep all their working memory in the
 * caller's scratch, so threads can share a model. Filters reach topk.h as an
 * exclusion bitmap (history, excluded ids) and a keep() callback (genre,
 * year) that is only asked about items good enough to enter the top-k.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/data/feedback.h"
#include "services/content/content_internal.h"


/* Sets up tf from f: the exclusion bitmap (when there is something to
 * exclude) and the keep callback (when there is a genre or year filter). */
static void filter_setup(const content_model_t *m, const filter_t *f, content_scratch_t *s,
                         const content_event_t *hist, size_t n_hist, filter_keep_t *kc, topk_filter_t *tf)
{
    memset(tf, 0, sizeof *tf);
    size_t n = m->n_items;
    size_t nx = (f ? f->nexcluded : 0) + n_hist;
    if (nx) {
        memset(s->bits, 0, topk_bitmap_words(n) * sizeof *s->bits);
        if (f)
            filter_exclude_bits(f, s->bits, n);
        for (size_t i = 0; i < n_hist; i++)
            topk_bitmap_set(s->bits, hist[i].item);
        tf->exclude = s->bits;
        tf->nbits = n;
    }
    if (f && filter_has_attrs(f)) {
        *kc = (filter_keep_t){f, m->genre_masks, m->years};
        tf->keep = filter_keep;
        tf->ctx = kc;
    }
}

static int passes(const topk_filter_t *tf, uint32_t i)
{
    if (tf->exclude && i < tf->nbits && topk_bitmap_test(tf->exclude, i))
        return 0;
    return !tf->keep || tf->keep(i, tf->ctx);
}

long content_similar(const content_model_t *m, uint32_t item, size_t k, const filter_t *f,
                     content_scratch_t *s, content_hit_t *out, err_t *err)
{
    if (item >= m->n_items)
        return err_set(err, "item %u out of range (%u items)", item, m->n_items);
    if (k == 0)
        return 0;
    if (k > m->n_items)
        k = m->n_items;
    if (cm_scratch_reserve(s, m->n_items, m->n_terms, k, err))
        return -1;
    filter_keep_t kc;
    topk_filter_t tf;
    filter_setup(m, f, s, NULL, 0, &kc, &tf);

    if (k <= m->nb_k) {
        const uint32_t *idx = m->nb_idx + (size_t)item * m->nb_k;
        const float *sc = m->nb_score + (size_t)item * m->nb_k;
        uint32_t len = m->nb_len[item];
        size_t got = 0;
        for (uint32_t r = 0; r < len && got < k; r++) {
            if (!passes(&tf, idx[r]))
                continue;
            out[got].item = idx[r];
            out[got].score = sc[r];
            out[got].because = CONTENT_NONE;
            got++;
        }
        /* A list shorter than N already holds every item with a positive
         * similarity: nothing more can be found on the fly. */
        if (got == k || len < m->nb_k)
            return (long)got;
    }
    size_t got = cm_item_topk(&m->vec, &m->inv, item, k, &tf, s->acc, s->cand, s->top, NULL);
    for (size_t r = 0; r < got; r++) {
        out[r].item = s->top[r].index;
        out[r].score = s->top[r].score;
        out[r].because = CONTENT_NONE;
    }
    return (long)got;
}

/* History weights into s->w (see content_score_history); returns sum |w|.
 * Negative events (common/data/feedback.h: a rating <= 2, a DISLIKE, which
 * arrives as FEEDBACK_DISLIKE_RATING) are set aside: the other events are
 * weighted exactly as they would be without them (centred on their own
 * mean; uncentred when that leaves nothing), then each negative one weighs
 * -feedback_negative_strength * FEEDBACK_NEGATIVE_SCALE times the mean |w|
 * of the others (1 when there are none): evidence against, never for, even
 * alone; the same history without the low ratings keeps its profile, minus
 * a term for each of them. */
static double history_weights(const content_event_t *hist, size_t n, float implicit_weight, float *w)
{
    double sum = 0;
    size_t rated = 0, pos = 0;
    for (size_t h = 0; h < n; h++)
        if (!isnan(hist[h].rating) && !feedback_rating_negative(hist[h].rating)) {
            sum += hist[h].rating;
            rated++;
        }
    double mean = rated ? sum / (double)rated : 0;
    double abs_sum = 0;
    for (size_t h = 0; h < n; h++) {
        if (!isnan(hist[h].rating) && feedback_rating_negative(hist[h].rating))
            continue;
        w[h] = isnan(hist[h].rating) ? implicit_weight : (float)(hist[h].rating - mean);
        abs_sum += fabs(w[h]);
        pos++;
    }
    if (abs_sum == 0) {
        /* Nothing to centre on (one rating, equal ratings): uncentred weights. */
        for (size_t h = 0; h < n; h++) {
            float r = hist[h].rating;
            if (!isnan(r) && feedback_rating_negative(r))
                continue;
            w[h] = (!isnan(r) && r > 0) ? r : 1.0f;
            abs_sum += fabs(w[h]);
        }
    }
    double unit = pos && abs_sum > 0 ? abs_sum / (double)pos : 1.0;
    for (size_t h = 0; h < n; h++) {
        float r = hist[h].rating;
        if (!isnan(r) && feedback_rating_negative(r)) {
            w[h] = (float)(-feedback_negative_strength(r) * FEEDBACK_NEGATIVE_SCALE * unit);
            abs_sum += fabs(w[h]);
        }
    }
    return abs_sum;
}

long content_score_history(const content_model_t *m, const content_event_t *hist, size_t n_hist,
                           const content_query_t *q, content_scratch_t *s, content_hit_t *out, err_t *err)
{
    uint32_t n = m->n_items;
    if (n_hist == 0)
        return err_set(err, "empty history");
    for (size_t h = 0; h < n_hist; h++)
        if (hist[h].item >= n)
            return err_set(err, "history[%zu]: item %u out of range (%u items)", h, hist[h].item, n);
    for (size_t c = 0; q->candidates && c < q->n_candidates; c++)
        if (q->candidates[c] >= n)
            return err_set(err, "candidates[%zu]: item %u out of range (%u items)", c, q->candidates[c], n);
    size_t k = q->k;
    if (k == 0)
        return 0;
    if (k > n)
        k = n;
    if (cm_scratch_reserve(s, n, m->n_terms, k, err))
        return -1;
    if (n_hist > s->w_cap) {
        float *w = realloc(s->w, n_hist * sizeof *w);
        if (!w)
            return err_set(err, "out of memory");
        s->w = w;
        s->w_cap = n_hist;
    }
    float *w = s->w;
    float implicit = q->implicit_weight > 0 ? q->implicit_weight : 1.0f;
    double norm = history_weights(hist, n_hist, implicit, w);

    /* The profile's terms: every term of every history item, unique, in
     * increasing order (the accumulation below runs in that order). They are
     * marked in a term bitmap and read back by scanning its words, which
     * costs n_terms / 64 word tests instead of sorting every occurrence. */
    size_t nterm = 0;
    for (size_t h = 0; h < n_hist; h++)
        nterm += sparse_csr_row(&m->vec, hist[h].item).nnz;
    if (nterm > m->n_terms)
        nterm = m->n_terms;
    if (nterm > s->pterms_cap) {
        uint32_t *p = realloc(s->pterms, nterm * sizeof *p);
        if (!p)
            return err_set(err, "out of memory");
        s->pterms = p;
        s->pterms_cap = nterm;
    }
    uint64_t *tb = s->tbits;
    for (size_t h = 0; h < n_hist; h++) {
        sparse_view_t v = sparse_csr_row(&m->vec, hist[h].item);
        for (size_t a = 0; a < v.nnz; a++) {
            topk_bitmap_set(tb, v.idx[a]);
            s->profile[v.idx[a]] += w[h] * v.val[a];
        }
    }
    size_t np = 0;
    size_t tw = topk_bitmap_words(m->n_terms);
    for (size_t wi = 0; wi < tw; wi++) {
        uint64_t b = tb[wi];
        if (!b)
            continue;
        tb[wi] = 0;
        while (b) {
            s->pterms[np++] = (uint32_t)(wi * 64 + (size_t)__builtin_ctzll(b));
            b &= b - 1;
        }
    }

    filter_keep_t kc;
    topk_filter_t tf;
    filter_setup(m, &q->filter, s, hist, q->include_history ? 0 : n_hist, &kc, &tf);
    size_t got;
    if (!q->candidates) {
        float *acc = s->acc;
        for (size_t a = 0; a < np; a++) {
            float p = s->profile[s->pterms[a]];
            if (p != 0.0f)
                sparse_axpy_dense(acc, p, sparse_csr_row(&m->inv, s->pterms[a]));
        }
        got = topk_dense(acc, n, k, &tf, s->top);
        memset(acc, 0, (size_t)n * sizeof *acc);
    } else {
        memset(s->seen, 0, topk_bitmap_words(n) * sizeof *s->seen);
        size_t nc = 0;
        for (size_t c = 0; c < q->n_candidates; c++) {
            uint32_t j = q->candidates[c];
            if (topk_bitmap_test(s->seen, j))
                continue; /* a repeated candidate counts once */
            topk_bitmap_set(s->seen, j);
            s->cand[nc].index = j;
            s->cand[nc].score = sparse_dot_dense(sparse_csr_row(&m->vec, j), s->profile);
            nc++;
        }
        got = topk_pairs(s->cand, nc, k, &tf, s->top);
    }
    for (size_t a = 0; a < np; a++)
        s->profile[s->pterms[a]] = 0.0f;

    for (size_t r = 0; r < got; r++) {
        uint32_t j = s->top[r].index;
        out[r].item = j;
        out[r].score = (float)(s->top[r].score / norm);
        out[r].because = CONTENT_NONE;
        if (q->no_explain)
            continue;
        float best = 0.0f;
        sparse_view_t vj = sparse_csr_row(&m->vec, j);
        for (size_t h = 0; h < n_hist; h++) {
            float c = w[h] * sparse_dot(sparse_csr_row(&m->vec, hist[h].item), vj);
            if (c > best) {
                best = c;
                out[r].because = (uint32_t)h;
            }
        }
    }
    return (long)got;
}
