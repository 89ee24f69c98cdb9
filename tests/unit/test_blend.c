/* test_blend.c: the hybrid blend on hand-checked lists: weights and
 * overrides, missing items, min-max / z-score / RRF normalisation, the
 * history-length policy, the popularity fallback, determinism and ties. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/math/blend.h"

#define EPS 1e-6

typedef struct run {
    blend_item_t out[64];
    blend_weights_t used;
    long n;
    err_t err;
} run_t;

static blend_list_t L(const uint32_t *k, const float *s, size_t n)
{
    blend_list_t l = {k, s, n};
    return l;
}

static void merge_user(const blend_params_t *p, const blend_weights_t *ov, size_t hist, bool known,
                       blend_list_t c, blend_list_t f, blend_list_t pop, size_t k, run_t *r)
{
    blend_list_t lists[3] = {c, f, pop};
    size_t need = blend_workspace_bytes(c.n + f.n + pop.n, k);
    void *ws = malloc(need);
    memset(r, 0, sizeof *r);
    r->n = blend_merge(p, ov, hist, known, lists, k, ws, need, r->out, &r->used, &r->err);
    free(ws);
}

/* A new user's merge (the policy's known = false). */
static void merge(const blend_params_t *p, const blend_weights_t *ov, size_t hist,
                  blend_list_t c, blend_list_t f, blend_list_t pop, size_t k, run_t *r)
{
    merge_user(p, ov, hist, false, c, f, pop, k, r);
}

static blend_params_t params(blend_method_t m, float n0, float pop, float rrfk)
{
    blend_params_t p = {.method = m, .n0 = n0, .popularity = pop, .rrf_k = rrfk, .depth = 200};
    return p;
}

static const blend_list_t none = {NULL, NULL, 0};

static void test_weights_respected(void **state)
{
    uint32_t k[2] = {1, 2};
    float c[2] = {1.0f, 0.0f}, f[2] = {0.0f, 1.0f};
    blend_params_t p = params(BLEND_MINMAX, 10, 0, 60);
    blend_weights_t w = {0.7f, 0.3f, 0};
    run_t r;
    merge(&p, &w, 5, L(k, c, 2), L(k, f, 2), none, 10, &r);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.out[0].key, 1);
    assert_true(fabs(r.out[0].score - 0.7) < EPS);
    assert_true(fabs(r.out[1].score - 0.3) < EPS);
    assert_true(fabs(r.used.content - 0.7) < EPS && fabs(r.used.cf - 0.3) < EPS);
    assert_true(r.out[0].source[BLEND_CONTENT] == 1.0f && r.out[0].source[BLEND_CF] == 0.0f);
    assert_int_equal(r.out[0].present, 3);

    /* weights are scaled to sum 1; swapping them swaps the order */
    blend_weights_t w2 = {1, 3, 0};
    merge(&p, &w2, 5, L(k, c, 2), L(k, f, 2), none, 10, &r);
    assert_int_equal(r.out[0].key, 2);
    assert_true(fabs(r.out[0].score - 0.75) < EPS);
    assert_true(fabs(r.used.content - 0.25) < EPS && fabs(r.used.cf - 0.75) < EPS);
}

static void test_missing_items(void **state)
{
    uint32_t kc[3] = {1, 2, 3}, kf[2] = {3, 4};
    float c[3] = {5, 3, 1}, f[2] = {10, 0};
    blend_params_t p = params(BLEND_MINMAX, 10, 0, 60);
    blend_weights_t w = {1, 1, 0};
    run_t r;
    merge(&p, &w, 0, L(kc, c, 3), L(kf, f, 2), none, 10, &r);
    /* content norm 1, .5, 0; cf norm (3) 1, (4) 0; a missing item scores 0 */
    assert_int_equal(r.n, 4);
    uint32_t want[4] = {1, 3, 2, 4};
    float ws[4] = {0.5f, 0.5f, 0.25f, 0.0f};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(r.out[i].key, want[i]);
        assert_true(fabs(r.out[i].score - ws[i]) < EPS);
    }
    assert_int_equal(r.out[0].present, 1 << BLEND_CONTENT);
    assert_true(r.out[0].source[BLEND_CF] == 0.0f);
    assert_int_equal(r.out[3].present, 1 << BLEND_CF);
    assert_int_equal(r.out[1].present, 3);

    /* z-score: missing gets the list's lowest z */
    p.method = BLEND_ZSCORE;
    uint32_t k3[3] = {1, 2, 3}, k1[1] = {9};
    float z[3] = {1, 2, 3}, one[1] = {7};
    blend_weights_t wc = {1, 0, 0};
    merge(&p, &wc, 0, L(k3, z, 3), L(k1, one, 1), none, 10, &r);
    assert_int_equal(r.n, 3); /* item 9 is only in a list of weight 0 */
    double zz = sqrt(1.5);    /* (3 - 2) / sqrt(2/3) */
    assert_int_equal(r.out[0].key, 3);
    assert_true(fabs(r.out[0].score - zz) < EPS);
    assert_true(fabs(r.out[2].score + zz) < EPS);
    blend_weights_t wcf = {1, 1, 0};
    merge(&p, &wcf, 0, L(k3, z, 3), L(k1, one, 1), none, 10, &r);
    assert_int_equal(r.n, 4);
    /* 9: content floor -zz, cf z = 0 (one entry) -> -zz/2; 1: -zz + 0 floor... */
    for (long i = 0; i < r.n; i++)
        if (r.out[i].key == 9)
            assert_true(fabs(r.out[i].score - (-zz / 2)) < EPS);
}

/* max: s / max|s| keeps the gaps between one model's scores (score-level
 * fusion), a missing item gets the list's lowest normalised score, and a
 * list of negative scores stays in [-1, 0]. */
static void test_max(void **state)
{
    (void)state;
    uint32_t kc[3] = {1, 2, 3}, kf[2] = {3, 4};
    float c[3] = {8, 4, 2}, f[2] = {-1, -4};
    blend_params_t p = params(BLEND_MAX, 10, 0, 0);
    blend_weights_t w = {1, 1, 0};
    run_t r;
    merge(&p, &w, 0, L(kc, c, 3), L(kf, f, 2), none, 10, &r);
    assert_int_equal(r.n, 4);
    /* 1: 1 + cf floor -1 = 0; 2: 0.5 - 1; 3: 0.25 - 0.25 = 0; 4: content floor 0.25 - 1 */
    for (long i = 0; i < r.n; i++) {
        double want = r.out[i].key == 1 ? 0.0 : r.out[i].key == 2 ? -0.5 : r.out[i].key == 3 ? 0.0 : -0.75;
        assert_true(fabs(r.out[i].score - want / 2) < EPS);
    }
    /* ties (items 1 and 3, both 0) go to the lower key */
    assert_int_equal(r.out[0].key, 1);
    assert_int_equal(r.out[1].key, 3);
    assert_true(fabs(r.out[0].source[BLEND_CONTENT] - 1.0) < EPS);
    assert_true(fabs(r.out[1].source[BLEND_CF] + 0.25) < EPS);
    /* an absent item reports the list's floor, so score = sum of w * source */
    for (long i = 0; i < r.n; i++) {
        if (r.out[i].key == 4)
            assert_true(fabs(r.out[i].source[BLEND_CONTENT] - 0.25) < EPS && !(r.out[i].present & 1));
        if (r.out[i].key == 1)
            assert_true(fabs(r.out[i].source[BLEND_CF] + 1.0) < EPS);
        assert_true(fabs(r.out[i].score - 0.5 * (r.out[i].source[BLEND_CONTENT] + r.out[i].source[BLEND_CF])) < EPS);
    }
    /* all zeros: every normalised score is 0, no division by zero */
    float zeros[2] = {0, 0};
    blend_weights_t wf = {0, 1, 0};
    merge(&p, &wf, 0, none, L(kf, zeros, 2), none, 10, &r);
    assert_int_equal(r.n, 2);
    assert_true(r.out[0].score == 0.0f && r.out[1].score == 0.0f);
    blend_method_t m;
    assert_int_equal(blend_method_parse("max", &m), 0);
    assert_int_equal(m, BLEND_MAX);
    assert_string_equal(blend_method_name(BLEND_MAX), "max");
    assert_int_equal(blend_method_parse("maximum", &m), -1);
}

static void test_rrf(void **state)
{
    uint32_t kc[3] = {10, 20, 30}, kf[3] = {30, 20, 10};
    float c[3] = {0.9f, 0.5f, 0.1f}, f[3] = {100, 50, 1};
    blend_params_t p = params(BLEND_RRF, 10, 0, 0);
    blend_weights_t w = {1, 1, 0};
    run_t r;
    merge(&p, &w, 0, L(kc, c, 3), L(kf, f, 3), none, 10, &r);
    /* k0 = 0: 10 -> (1 + 1/3)/2, 20 -> (1/2 + 1/2)/2, 30 -> (1/3 + 1)/2 */
    assert_int_equal(r.n, 3);
    assert_int_equal(r.out[0].key, 10); /* tie with 30: lower key */
    assert_int_equal(r.out[1].key, 30);
    assert_int_equal(r.out[2].key, 20);
    assert_true(fabs(r.out[0].score - 2.0 / 3.0) < EPS);
    assert_true(fabs(r.out[2].score - 0.5) < EPS);
    assert_true(fabs(r.out[0].source[BLEND_CONTENT] - 1.0) < EPS);
    assert_true(fabs(r.out[0].source[BLEND_CF] - 1.0 / 3.0) < EPS);

    /* k0 = 60: the top item gets 1, rank 2 gets 61/62; equal scores rank by key */
    p.rrf_k = 60;
    uint32_t ke[3] = {7, 5, 6};
    float e[3] = {1, 1, 2};
    blend_weights_t wc = {1, 0, 0};
    merge(&p, &wc, 0, L(ke, e, 3), none, none, 10, &r);
    assert_int_equal(r.out[0].key, 6);
    assert_int_equal(r.out[1].key, 5);
    assert_int_equal(r.out[2].key, 7);
    assert_true(fabs(r.out[1].source[BLEND_CONTENT] - 61.0 / 62.0) < EPS);
    assert_true(fabs(r.out[2].source[BLEND_CONTENT] - 61.0 / 63.0) < EPS);
}

static void test_history_policy(void **state)
{
    blend_params_t p = params(BLEND_MINMAX, 10, 0.1f, 60);
    blend_weights_t w;
    blend_policy_weights(&p, 0, false, &w);
    assert_true(w.content == 1.0f && w.cf == 0.0f && fabs(w.popularity - 0.1) < EPS);
    blend_policy_weights(&p, 10, false, &w);
    assert_true(fabs(w.content - 0.5) < EPS && fabs(w.cf - 0.5) < EPS);
    blend_policy_weights(&p, 90, false, &w);
    assert_true(fabs(w.content - 0.1) < EPS && fabs(w.cf - 0.9) < EPS);
    /* No decay: popularity's weight is the same at every length. */
    assert_true(fabs(w.popularity - 0.1) < EPS);

    /* A new user's popularity weight fades as exp(-n / d); a known user
     * gets CF alone (CF was trained on them), whatever the length. */
    blend_params_t d = params(BLEND_RRF, 0.1f, 4, 60);
    d.pop_decay = 10;
    blend_policy_weights(&d, 0, false, &w);
    assert_true(fabs(w.popularity - 4.0) < EPS);
    blend_policy_weights(&d, 10, false, &w);
    assert_true(fabs(w.popularity - 4.0 * exp(-1.0)) < EPS);
    blend_policy_weights(&d, 30, false, &w);
    assert_true(fabs(w.popularity - 4.0 * exp(-3.0)) < EPS);
    blend_policy_weights(&d, 0, true, &w);
    assert_true(w.popularity == 0.0f && w.content == 0.0f && w.cf == 1.0f);
    blend_policy_weights(&d, 10, true, &w);
    assert_true(w.popularity == 0.0f && w.content == 0.0f && w.cf == 1.0f);
    /* ... and content when CF has no list for them (CF down, cold items). */
    {
        uint32_t kc[2] = {1, 2}, kp[2] = {1, 2};
        float cs[2] = {1, 0}, pop[2] = {0, 1};
        run_t r;
        merge_user(&d, NULL, 5, true, L(kc, cs, 2), none, L(kp, pop, 2), 2, &r);
        assert_int_equal(r.n, 2);
        assert_int_equal(r.out[0].key, 1);
        assert_true(fabs(r.used.content - 1.0) < EPS && r.used.popularity == 0.0f);
        /* A known user with no model list still gets popularity (the fallback). */
        merge_user(&d, NULL, 5, true, none, none, L(kp, pop, 2), 2, &r);
        assert_int_equal(r.n, 2);
        assert_int_equal(r.out[0].key, 2);
        assert_true(fabs(r.used.popularity - 1.0) < EPS);
    }
    /* SimilarItems: one mode's list alone, or the blend's weights. */
    d.similar_content = 0.3f;
    d.similar_popularity = 0.2f;
    blend_weights_t sw = blend_similar_weights(&d, true, false);
    assert_true(sw.content == 1.0f && sw.cf == 0.0f && sw.popularity == 0.0f);
    sw = blend_similar_weights(&d, false, true);
    assert_true(sw.content == 0.0f && sw.cf == 1.0f && sw.popularity == 0.0f);
    sw = blend_similar_weights(&d, true, true);
    assert_true(sw.content == 0.3f && sw.cf == 1.0f && sw.popularity == 0.2f);
    /* Checked: a negative decay is refused. */
    d.pop_decay = -1;
    err_t err;
    assert_int_equal(blend_params_check(&d, &err), -1);
    d.pop_decay = 10;
    d.similar_content = -0.5f;
    assert_int_equal(blend_params_check(&d, &err), -1);
    assert_non_null(strstr(err.msg, "similar-items weights"));

    /* content prefers 1, cf prefers 2: a short history follows content, a
     * long one CF */
    uint32_t k[2] = {1, 2};
    float c[2] = {1, 0}, f[2] = {0, 1};
    p.popularity = 0;
    run_t r;
    merge(&p, NULL, 2, L(k, c, 2), L(k, f, 2), none, 10, &r);
    assert_int_equal(r.out[0].key, 1);
    assert_true(fabs(r.used.content - 10.0 / 12.0) < EPS);
    merge(&p, NULL, 200, L(k, c, 2), L(k, f, 2), none, 10, &r);
    assert_int_equal(r.out[0].key, 2);
    assert_true(fabs(r.used.cf - 200.0 / 210.0) < EPS);

    /* popularity's share is scaled with the rest */
    p.popularity = 1;
    uint32_t kp[2] = {1, 2};
    float pop[2] = {0, 1};
    merge(&p, NULL, 10, L(k, c, 2), L(k, f, 2), L(kp, pop, 2), 10, &r);
    assert_true(fabs(r.used.content - 0.25) < EPS && fabs(r.used.cf - 0.25) < EPS &&
                fabs(r.used.popularity - 0.5) < EPS);
    assert_int_equal(r.out[0].key, 2);

    /* one model with nothing (cold items for CF): the other takes the whole
     * personal share, whatever the history length */
    p.popularity = 0.5f;
    for (size_t n = 0; n <= 1000; n += 250) {
        merge(&p, NULL, n, L(k, c, 2), none, L(kp, pop, 2), 10, &r);
        assert_true(fabs(r.used.content - 2.0 / 3.0) < EPS);
        assert_true(fabs(r.used.popularity - 1.0 / 3.0) < EPS && r.used.cf == 0.0f);
        assert_int_equal(r.out[0].key, 1);
        merge(&p, NULL, n, none, L(k, f, 2), L(kp, pop, 2), 10, &r);
        assert_true(fabs(r.used.cf - 2.0 / 3.0) < EPS && r.used.content == 0.0f);
    }
}

static void test_overrides(void **state)
{
    uint32_t k[2] = {1, 2};
    float c[2] = {1, 0}, f[2] = {0, 1};
    blend_params_t p = params(BLEND_MINMAX, 10, 0, 60);
    run_t r;
    blend_weights_t neg = {-1, 1, 0};
    merge(&p, &neg, 3, L(k, c, 2), L(k, f, 2), none, 10, &r);
    assert_int_equal(r.n, -1);
    assert_non_null(strstr(r.err.msg, "content weight"));
    blend_weights_t nan = {1, NAN, 0};
    merge(&p, &nan, 3, L(k, c, 2), L(k, f, 2), none, 10, &r);
    assert_int_equal(r.n, -1);
    assert_non_null(strstr(r.err.msg, "cf weight"));
    /* all zero: the policy (n = 30, n0 = 10: cf 0.75) */
    blend_weights_t zero = {0, 0, 0};
    merge(&p, &zero, 30, L(k, c, 2), L(k, f, 2), none, 10, &r);
    assert_int_equal(r.n, 2);
    assert_true(fabs(r.used.cf - 0.75) < EPS);
    assert_int_equal(r.out[0].key, 2);
    /* an override wins over the policy even for a long history */
    blend_weights_t oc = {1, 0, 0};
    merge(&p, &oc, 1000, L(k, c, 2), L(k, f, 2), none, 10, &r);
    assert_int_equal(r.out[0].key, 1);
    assert_true(r.used.cf == 0.0f && r.used.content == 1.0f);
    /* an override naming only an empty list falls back to the policy */
    merge(&p, &oc, 1000, none, L(k, f, 2), none, 10, &r);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.out[0].key, 2);
    assert_true(r.used.cf == 1.0f);
}

static void test_popularity_fallback(void **state)
{
    blend_params_t p = params(BLEND_MINMAX, 10, 0, 60);
    uint32_t kp[3] = {5, 6, 7};
    float pop[3] = {100, 200, 150};
    run_t r;
    merge(&p, NULL, 0, none, none, L(kp, pop, 3), 2, &r);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.out[0].key, 6);
    assert_int_equal(r.out[1].key, 7);
    assert_true(r.used.popularity == 1.0f && r.used.content == 0 && r.used.cf == 0);
    assert_true(fabs(r.out[1].source[BLEND_POPULARITY] - 0.5) < EPS);
    /* a known user whose lists are empty: still popularity */
    merge(&p, NULL, 40, none, none, L(kp, pop, 3), 10, &r);
    assert_int_equal(r.n, 3);
    /* nothing at all */
    merge(&p, NULL, 40, none, none, none, 10, &r);
    assert_int_equal(r.n, 0);
    /* pop weight 0 and a policy pointing at the empty list: the other list */
    uint32_t k[2] = {1, 2};
    float f[2] = {0, 1};
    merge(&p, NULL, 0, none, L(k, f, 2), none, 10, &r);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.out[0].key, 2);
}

static void test_determinism_and_errors(void **state)
{
    /* the same items in two orders give the same answer; all-equal scores
     * rank by key */
    uint32_t k1[5] = {9, 3, 7, 1, 5}, k2[5] = {1, 3, 5, 7, 9};
    float s1[5] = {2, 2, 2, 2, 2}, s2[5] = {2, 2, 2, 2, 2};
    for (int m = 0; m < 3; m++) {
        blend_params_t p = params((blend_method_t)m, 10, 0.1f, 60);
        run_t a, b;
        merge(&p, NULL, 5, L(k1, s1, 5), none, L(k1, s1, 5), 5, &a);
        merge(&p, NULL, 5, L(k2, s2, 5), none, L(k2, s2, 5), 5, &b);
        assert_int_equal(a.n, 5);
        for (int i = 0; i < 5; i++) {
            assert_int_equal(a.out[i].key, b.out[i].key);
            assert_true(a.out[i].score == b.out[i].score);
            assert_int_equal(a.out[i].present, b.out[i].present);
            for (int s = 0; s < BLEND_NSOURCES; s++)
                assert_true(a.out[i].source[s] == b.out[i].source[s]);
        }
        for (int i = 0; i < 5; i++)
            assert_int_equal(a.out[i].key, (uint32_t)(2 * i + 1));
    }
    blend_params_t p = params(BLEND_MINMAX, 10, 0, 60);
    uint32_t kd[2] = {4, 4};
    float sd[2] = {1, 2};
    run_t r;
    merge(&p, NULL, 5, L(kd, sd, 2), none, none, 5, &r);
    assert_int_equal(r.n, -1);
    assert_non_null(strstr(r.err.msg, "key 4 twice in the content list"));
    uint32_t ki[2] = {1, 2};
    float si[2] = {1, INFINITY};
    merge(&p, NULL, 5, none, L(ki, si, 2), none, 5, &r);
    assert_int_equal(r.n, -1);
    assert_non_null(strstr(r.err.msg, "non-finite"));
    blend_params_t bad = params(BLEND_MINMAX, 0, 0, 60);
    merge(&bad, NULL, 5, L(ki, sd, 2), none, none, 5, &r);
    assert_int_equal(r.n, -1);
    assert_non_null(strstr(r.err.msg, "n0"));

    blend_list_t lists[3] = {L(ki, sd, 2), none, none};
    char small[8];
    blend_item_t out[2];
    err_t err;
    assert_int_equal(blend_merge(&p, NULL, 1, false, lists, 2, small, sizeof small, out, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "workspace"));

    blend_method_t bm;
    assert_int_equal(blend_method_parse("rrf", &bm), 0);
    assert_int_equal(bm, BLEND_RRF);
    assert_int_equal(blend_method_parse("zz", &bm), -1);
    /* min-max of a constant list: every item 1 */
    float cst[2] = {3, 3};
    merge(&p, NULL, 0, L(ki, cst, 2), none, none, 5, &r);
    assert_true(r.out[0].source[BLEND_CONTENT] == 1.0f && r.out[1].source[BLEND_CONTENT] == 1.0f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_weights_respected),
        cmocka_unit_test(test_missing_items),
        cmocka_unit_test(test_max),
        cmocka_unit_test(test_rrf),
        cmocka_unit_test(test_history_policy),
        cmocka_unit_test(test_overrides),
        cmocka_unit_test(test_popularity_fallback),
        cmocka_unit_test(test_determinism_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
