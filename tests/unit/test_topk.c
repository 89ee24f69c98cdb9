/* test_topk.c: top-k selection against a brute-force full sort, on random
 * arrays with many ties (a small value set with NaN, +-0 and +-inf), with
 * exclusion bitmaps, allow masks and filter callbacks, k = 0 and k > n, for
 * dense arrays, candidate pairs and the streaming heap (shard merging). */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/math/topk.h"

static uint64_t rng_state = 88172645463325252ull;

static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return n ? (uint32_t)(rng_state % n) : 0;
}

/* Percent of extra -inf values (screened score arrays are mostly -inf). */
static uint32_t minus_inf_pct;

static float value_set(void)
{
    static const float vals[] = {0.0f, -0.0f, 1.0f, 1.0f, 2.5f, -3.0f, 0.25f, 1e30f, -1e30f};
    if (minus_inf_pct && rnd(100) < minus_inf_pct)
        return -INFINITY;
    uint32_t r = rnd(12);
    if (r < 9)
        return vals[r];
    if (r == 9)
        return NAN;
    if (r == 10)
        return INFINITY;
    return -INFINITY;
}

/* Reference order written with plain float compares. */
static int ref_cmp(const void *pa, const void *pb)
{
    const topk_item_t *a = pa, *b = pb;
    int na = isnan(a->score), nb = isnan(b->score);
    if (na != nb)
        return na ? 1 : -1;
    if (!na && a->score != b->score)
        return a->score > b->score ? -1 : 1;
    return a->index < b->index ? -1 : a->index > b->index;
}

typedef struct fctx {
    uint32_t mod;
    size_t calls;
} fctx_t;

static int keep_not_mod(uint32_t index, void *ctx)
{
    fctx_t *f = ctx;
    f->calls++;
    return index % f->mod != 0;
}

static int ref_eligible(const topk_filter_t *f, uint32_t i)
{
    if (!f)
        return 1;
    if (f->exclude && i < f->nbits && topk_bitmap_test(f->exclude, i))
        return 0;
    if (f->allow && (i >= f->nbits || !topk_bitmap_test(f->allow, i)))
        return 0;
    if (f->keep) {
        const fctx_t *c = f->ctx;
        if (i % c->mod == 0)
            return 0;
    }
    return 1;
}

static size_t reference(const topk_item_t *cands, size_t n, size_t k, const topk_filter_t *f, topk_item_t *out)
{
    topk_item_t *all = malloc((n ? n : 1) * sizeof *all);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (ref_eligible(f, cands[i].index))
            all[m++] = cands[i];
    qsort(all, m, sizeof *all, ref_cmp);
    size_t r = m < k ? m : k;
    memcpy(out, all, r * sizeof *out);
    free(all);
    return r;
}

static void same(const topk_item_t *got, size_t ng, const topk_item_t *want, size_t nw)
{
    assert_int_equal(ng, nw);
    for (size_t i = 0; i < ng; i++) {
        if (got[i].index != want[i].index || memcmp(&got[i].score, &want[i].score, 4) != 0)
            fail_msg("rank %zu: got (%u, %g), want (%u, %g)", i, got[i].index, (double)got[i].score,
                     want[i].index, (double)want[i].score);
    }
}

/* Pairs return -0 as +0 and NaN as the default NaN. */
static void same_canon(const topk_item_t *got, size_t ng, const topk_item_t *want, size_t nw)
{
    assert_int_equal(ng, nw);
    for (size_t i = 0; i < ng; i++) {
        float w = want[i].score;
        if (w == 0.0f)
            w = 0.0f;
        int ok = got[i].index == want[i].index &&
                 (isnan(w) ? isnan(got[i].score) : memcmp(&got[i].score, &w, 4) == 0);
        if (!ok)
            fail_msg("rank %zu: got (%u, %g), want (%u, %g)", i, got[i].index, (double)got[i].score,
                     want[i].index, (double)want[i].score);
    }
}

static void check_dense(size_t n, size_t k, int mode)
{
    float *s = malloc((n ? n : 1) * sizeof *s);
    topk_item_t *pairs = malloc((n ? n : 1) * sizeof *pairs);
    for (size_t i = 0; i < n; i++) {
        s[i] = value_set();
        pairs[i] = (topk_item_t){(uint32_t)i, s[i]};
    }
    size_t words = topk_bitmap_words(n + 1);
    uint64_t *ex = calloc(words, 8), *al = calloc(words, 8);
    for (size_t i = 0; i < n; i++) {
        if (rnd(3) == 0)
            topk_bitmap_set(ex, i);
        if (rnd(4) != 0)
            topk_bitmap_set(al, i);
    }
    fctx_t fc = {3, 0};
    topk_filter_t f = {0};
    f.nbits = n;
    if (mode & 1)
        f.exclude = ex;
    if (mode & 2)
        f.allow = al;
    if (mode & 4) {
        f.keep = keep_not_mod;
        f.ctx = &fc;
    }
    const topk_filter_t *fp = mode ? &f : NULL;
    topk_item_t *got = malloc((k ? k : 1) * sizeof *got), *want = malloc((k ? k : 1) * sizeof *want);
    size_t nw = reference(pairs, n, k, fp, want);
    same(got, topk_dense(s, n, k, fp, got), want, nw);
    /* Pairs in shuffled order give the same answer. */
    for (size_t i = n; i > 1; i--) {
        size_t j = rnd((uint32_t)i);
        topk_item_t t = pairs[i - 1];
        pairs[i - 1] = pairs[j];
        pairs[j] = t;
    }
    same_canon(got, topk_pairs(pairs, n, k, fp, got), want, nw);
    /* Streaming: three "shards" each give their own top-k, then a merge. */
    if (!fp) {
        topk_item_t *merged = malloc((k ? k : 1) * sizeof *merged);
        topk_heap_t h;
        topk_heap_init(&h, merged, k);
        for (size_t sh = 0; sh < 3; sh++) {
            size_t lo = n * sh / 3, hi = n * (sh + 1) / 3;
            size_t ns = topk_pairs(pairs + lo, hi - lo, k, NULL, got);
            for (size_t i = 0; i < ns; i++)
                topk_heap_push(&h, got[i].index, got[i].score);
        }
        same_canon(merged, topk_heap_finish(&h), want, nw);
        free(merged);
    }
    free(got);
    free(want);
    free(ex);
    free(al);
    free(pairs);
    free(s);
}

static void test_random_against_sort(void **state)
{
    for (int round = 0; round < 300; round++) {
        size_t n = rnd(200);
        size_t ks[] = {0, 1, 2, 10, n ? n - 1 : 0, n, n + 5, rnd(300)};
        for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++)
            for (int mode = 0; mode < 8; mode++)
                check_dense(n, ks[ki], mode);
    }
}

/* Arrays of mostly -inf with NaNs and ties (the CF screen's output): the
 * block screen must not drop a winner nor keep a loser. */
static void test_mostly_minus_inf(void **state)
{
    (void)state;
    uint32_t pcts[] = {90, 99, 100};
    for (size_t p = 0; p < 3; p++) {
        minus_inf_pct = pcts[p];
        for (int round = 0; round < 40; round++) {
            size_t n = 100 + rnd(2000);
            size_t ks[] = {1, 10, 50, n / 2};
            for (size_t ki = 0; ki < 4; ki++)
                for (int mode = 0; mode < 8; mode++)
                    check_dense(n, ks[ki], mode);
        }
    }
    minus_inf_pct = 0;
}

static void test_large(void **state)
{
    check_dense(60000, 10, 0);
    check_dense(60000, 10, 1);
    check_dense(60000, 1000, 7);
    check_dense(200000, 100, 3);
}

static void test_order_details(void **state)
{
    float s[] = {1.0f, NAN, 2.0f, -INFINITY, 2.0f, -0.0f, 0.0f, NAN, INFINITY};
    topk_item_t out[20];
    size_t n = topk_dense(s, 9, 20, NULL, out);
    assert_int_equal(n, 9);
    uint32_t want[] = {8, 2, 4, 0, 5, 6, 3, 1, 7};
    for (size_t i = 0; i < 9; i++)
        assert_int_equal(out[i].index, want[i]);
    assert_true(isnan(out[8].score));
    /* Scores are returned untouched (-0 stays -0). */
    assert_true(signbit(out[4].score));
    assert_int_equal(topk_dense(s, 9, 0, NULL, out), 0);
    assert_int_equal(topk_dense(s, 0, 5, NULL, out), 0);
    assert_true(topk_before((topk_item_t){3, 1.0f}, (topk_item_t){4, 1.0f}));
    assert_false(topk_before((topk_item_t){4, 1.0f}, (topk_item_t){3, 1.0f}));
    assert_true(topk_before((topk_item_t){9, -INFINITY}, (topk_item_t){1, NAN}));
    /* Bitmap bits past nbits: not excluded, not allowed. */
    uint64_t bm[1] = {~0ull};
    topk_filter_t f = {.exclude = bm, .nbits = 4};
    n = topk_dense(s, 9, 2, &f, out);
    assert_int_equal(n, 2);
    assert_int_equal(out[0].index, 8);
    assert_int_equal(out[1].index, 4);
    topk_filter_t g = {.allow = bm, .nbits = 4};
    n = topk_dense(s, 9, 9, &g, out);
    assert_int_equal(n, 4);
    assert_int_equal(out[0].index, 2);
}

static void test_filter_called_lazily(void **state)
{
    /* Increasing scores are the worst case (every item enters); decreasing
     * scores the best: the filter then only sees the first k items. */
    size_t n = 10000;
    float *s = malloc(n * sizeof *s);
    for (size_t i = 0; i < n; i++)
        s[i] = (float)(n - i);
    fctx_t fc = {1000000, 0};
    topk_filter_t f = {.keep = keep_not_mod, .ctx = &fc};
    topk_item_t out[10];
    assert_int_equal(topk_dense(s, n, 10, &f, out), 10);
    assert_int_equal(out[0].index, 1);
    assert_int_equal(out[9].index, 10);
    assert_true(fc.calls <= 11);
    free(s);
}

static void test_heap_api(void **state)
{
    topk_item_t st[3];
    topk_heap_t h;
    topk_heap_init(&h, st, 3);
    assert_true(topk_heap_would_enter(&h, 5, -100.0f));
    assert_int_equal(topk_heap_push(&h, 5, 1.0f), 1);
    assert_int_equal(topk_heap_push(&h, 6, 3.0f), 1);
    assert_int_equal(topk_heap_push(&h, 7, 2.0f), 1);
    assert_false(topk_heap_would_enter(&h, 8, 1.0f)); /* tie, higher index */
    assert_true(topk_heap_would_enter(&h, 4, 1.0f));  /* tie, lower index */
    assert_int_equal(topk_heap_push(&h, 8, 0.5f), 0);
    assert_int_equal(topk_heap_push(&h, 4, 1.0f), 1);
    assert_int_equal(topk_heap_finish(&h), 3);
    assert_int_equal(st[0].index, 6);
    assert_int_equal(st[1].index, 7);
    assert_int_equal(st[2].index, 4);
    topk_heap_init(&h, st, 0);
    assert_int_equal(topk_heap_push(&h, 1, 1.0f), 0);
    assert_false(topk_heap_would_enter(&h, 1, 1.0f));
    assert_int_equal(topk_heap_finish(&h), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_details),
        cmocka_unit_test(test_random_against_sort),
        cmocka_unit_test(test_large),
        cmocka_unit_test(test_mostly_minus_inf),
        cmocka_unit_test(test_filter_called_lazily),
        cmocka_unit_test(test_heap_api),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
