/*
 * cf_screen.c: exact top-k of factor scores through the int8 screen.
 *
 * For ALS and MF on big catalogs, scoring every item in float reads the
 * whole item matrix per request (16 MB at 62k x 64). The model keeps an int8
 * copy (common/math/vecq8.h, a quarter of the bytes); a request scores every item
 * approximately with a hard error bound b_i, takes the best k eligible items
 * by approximate score, and sets T = min over them of (approx - b). Those k
 * items all score at least T exactly, so the k-th best exact score is at
 * least T, and any item with approx + b < T cannot be in the top k. Only the
 * others are scored exactly (the same float kernel as the full pass, one row
 * at a time, so their scores are bit-identical); the rest get -INFINITY.
 * A top-k over the result under the same filter is therefore exactly the
 * top-k of the full float scores, ties included.
 */
#include <math.h>
#include <stdlib.h>

#include "common/math/vec.h"
#include "services/cf/cf_internal.h"

/* Below this many items the float pass is cheap enough. */
#define CF_SCREEN_MIN_ITEMS 4096

void cf_model_screen_init(cf_model_t *m)
{
    if ((m->kind != CF_KIND_ALS && m->kind != CF_KIND_MF) || m->n_items < CF_SCREEN_MIN_ITEMS || m->dim < 8 ||
        m->dim > 1024 || !m->item_f || m->screen.q)
        return;
    /* Any failure (memory, a non-finite factor) just leaves the float path. */
    (void)vecq8_rows_init(&m->screen, m->item_f, m->n_items, m->dim);
}

int cf_screen_scores(const cf_model_t *m, const float *u, const float *bias, const topk_filter_t *tf, size_t k,
                     float *scores)
{
    const vecq8_rows_t *r = &m->screen;
    size_t n = m->n_items, d = m->dim;
    if (!r->q || k == 0 || k > n / 4)
        return 1;
    uint8_t qstore[1024];
    vecq8_query_t qu;
    if (vecq8_query_init(&qu, u, d, qstore) < 0)
        return 1;
    topk_item_t *top = malloc(k * sizeof *top);
    if (!top)
        return 1;
    vecq8_gemv(r, &qu, scores);
    float bias_slack = 0.0f;
    if (bias) {
        float mx = 0.0f;
        for (size_t i = 0; i < n; i++) {
            scores[i] += bias[i];
            mx = fmaxf(mx, fabsf(bias[i]) + fabsf(scores[i]));
        }
        /* The addition rounds once more: 2^-23 of the magnitudes. */
        bias_slack = 2.4e-7f * mx;
    }
#define CF_BOUND(i) (vecq8_bound(r, &qu, (i)) + bias_slack)
    size_t got = topk_dense(scores, n, k, tf, top);
    float t = -INFINITY;
    if (got == k) {
        t = INFINITY;
        for (size_t j = 0; j < got; j++) {
            float lo = top[j].score - CF_BOUND(top[j].index);
            t = lo < t ? lo : t;
        }
    }
    free(top);
    /* Blocks of 16 are screened with the largest bound first (a vectorised
     * compare); only blocks with a possible candidate look at each item. */
    float quick = t - (vecq8_bound_max(r, &qu) + bias_slack);
    for (size_t i0 = 0; i0 < n; i0 += 16) {
        size_t e = i0 + 16 < n ? i0 + 16 : n;
        int any = 0;
        for (size_t i = i0; i < e; i++)
            any |= scores[i] >= quick;
        if (!any) {
            for (size_t i = i0; i < e; i++)
                scores[i] = -INFINITY;
            continue;
        }
        for (size_t i = i0; i < e; i++) {
            if (scores[i] + CF_BOUND(i) >= t) {
                float v;
                vec_gemv_rows(m->item_f + i * d, 1, d, u, &v);
                scores[i] = bias ? bias[i] + v : v;
            } else {
                scores[i] = -INFINITY;
            }
        }
    }
#undef CF_BOUND
    return 0;
}
