/* test_cf_screen.c: the int8 screen of ALS and MF scores (cf_screen.c)
 * never changes an answer. Models of 6000 items (above the screen's
 * threshold) trained on random skewed data; for known users, anonymous
 * histories and fold-ins, with every filter (seen items, exclusions,
 * genres, years, include_seen) and k of 1, 10, 50: cf_recommend with the
 * screen returns exactly (index and score bits) what the float pass over
 * every item returns, the screen is really on and prunes most items, and the
 * cold-item path (cf_featmap_score_top) selects the same top k as
 * cf_featmap_score_all. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/data/catalog.h"
#include "common/base/rng.h"
#include "services/cf/cf_features.h"
#include "services/cf/cf_model.h"

enum { U = 400, I = 6000, PER = 40 };

static void data(cf_data_t *d)
{
    uint32_t *u = malloc(U * PER * sizeof *u), *it = malloc(U * PER * sizeof *it);
    float *v = malloc(U * PER * sizeof *v);
    uint8_t *used = calloc(I, 1);
    rng_t g;
    rng_seed(&g, 11);
    size_t n = 0;
    for (uint32_t a = 0; a < U; a++) {
        memset(used, 0, I);
        for (int k = 0; k < PER; k++) {
            uint32_t i;
            do /* skewed, and items >= 5000 never rated (cold) */
                i = (uint32_t)((rng_below(&g, 5000) * rng_below(&g, 5000)) / 5000);
            while (used[i]);
            used[i] = 1;
            u[n] = a;
            it[n] = i;
            v[n++] = (float)(1 + rng_below(&g, 5));
        }
    }
    err_t err;
    assert_int_equal(cf_data_from_triplets(d, U, I, u, it, v, n, &err), 0);
    free(u), free(it), free(v), free(used);
}

static catalog_t *catalog(void)
{
    catalog_t *c = catalog_new();
    err_t err;
    for (int i = 0; i < I; i++) {
        char id[16], g[8];
        uint32_t idx;
        snprintf(id, sizeof id, "m%d", i);
        assert_int_equal(catalog_add_item(c, id, strlen(id), &idx, &err), 0);
        snprintf(g, sizeof g, "G%d", i % 7);
        assert_int_equal(catalog_add_genre(c, idx, g, strlen(g)), 0);
        catalog_set_year(c, idx, 1950 + i % 60);
    }
    assert_int_equal(catalog_finish(c, &err), 0);
    return c;
}

static cf_model_t *train(cf_kind_t kind)
{
    cf_data_t d;
    data(&d);
    cf_params_t p;
    cf_params_default(&p);
    p.kind = kind;
    p.als.factors = 32;
    p.als.iterations = 4;
    p.mf.factors = 32;
    p.mf.iterations = 5;
    cf_model_t *m = NULL;
    err_t err;
    assert_int_equal(cf_train(&d, &p, &m, &err), 0);
    cf_data_free(&d);
    catalog_t *c = catalog();
    assert_int_equal(cf_model_set_catalog(m, NULL, c, &err), 0);
    catalog_free(c);
    assert_non_null(m->screen.q); /* the screen is on for this size */
    return m;
}

/* cf_recommend with the screen and without it (the same model with its
 * screen hidden): identical lists. */
static void same_answer(cf_model_t *m, cf_scratch_t *s, const cf_who_t *who, const filter_t *f, size_t k)
{
    topk_item_t a[64], b[64];
    err_t err;
    long na = cf_recommend(m, s, who, f, k, a, NULL, &err);
    vecq8_rows_t keep = m->screen;
    memset(&m->screen, 0, sizeof m->screen);
    long nb = cf_recommend(m, s, who, f, k, b, NULL, &err);
    m->screen = keep;
    assert_true(na >= 0);
    assert_int_equal(na, nb);
    for (long i = 0; i < na; i++)
        if (a[i].index != b[i].index || memcmp(&a[i].score, &b[i].score, sizeof(float)) != 0)
            fail_msg("user %u k %zu rank %ld: screened %u %.9g, full %u %.9g", who->user, k, i, a[i].index,
                     a[i].score, b[i].index, b[i].score);
}

static void check_model(cf_kind_t kind)
{
    cf_model_t *m = train(kind);
    cf_scratch_t *s = cf_scratch_new();
    uint32_t excl[] = {0, 1, 2, 3, 5, 8, 13, 21, 34, 55};
    filter_t filters[] = {
        {0},
        {.excluded = excl, .nexcluded = 10},
        {.genre_mask = 1u << 3 | 1u << 5},
        {.year_min = 1990, .year_max = 1999},
        {.include_seen = true},
    };
    size_t ks[] = {1, 10, 50};
    cf_event_t ev[6] = {{7, 5}, {70, 4}, {700, 1}, {5500, 5}, {7, 2}, {123, 3}};
    for (uint32_t user = 0; user < U; user += 7)
        for (size_t fi = 0; fi < sizeof filters / sizeof filters[0]; fi++)
            for (size_t ki = 0; ki < 3; ki++) {
                cf_who_t who = {user, NULL, 0};
                same_answer(m, s, &who, &filters[fi], ks[ki]);
                cf_who_t fold = {user, ev, 1 + user % 6}; /* events: a fold-in */
                same_answer(m, s, &fold, &filters[fi], ks[ki]);
            }
    cf_who_t anon = {CF_NO_USER, ev, 6};
    same_answer(m, s, &anon, NULL, 10);
    /* The screen prunes: most items come back as -inf for k = 10. */
    cf_who_t who = {3, NULL, 0};
    err_t err;
    const float *sc = cf_score_all_top(m, s, &who, NULL, NULL, 10, NULL, &err);
    assert_non_null(sc);
    size_t pruned = 0;
    for (size_t i = 0; i < I; i++)
        pruned += isinf(sc[i]) && sc[i] < 0;
    assert_true(pruned > I / 2);
    /* The cold-item path: same top 10 with and without the screen. */
    cf_featmap_params_t fp;
    cf_featmap_params_default(&fp);
    cf_featmap_t *fm = NULL;
    assert_int_equal(cf_featmap_build(m, &fp, &fm, &err), 0);
    float *x = malloc(I * sizeof *x), *y = malloc(I * sizeof *y);
    for (uint32_t user = 0; user < U; user += 37) {
        cf_who_t w = {user, NULL, 0};
        filter_t none = {.include_seen = true};
        assert_int_equal(cf_featmap_score_top(fm, m, s, &w, &none, 10, x, &err), 0);
        assert_int_equal(cf_featmap_score_all(fm, m, s, &w, y, &err), 0);
        topk_item_t a[10], b[10];
        assert_int_equal(topk_dense(x, I, 10, NULL, a), 10);
        assert_int_equal(topk_dense(y, I, 10, NULL, b), 10);
        assert_memory_equal(a, b, sizeof a);
    }
    free(x), free(y);
    cf_featmap_free(fm);
    cf_scratch_free(s);
    cf_model_release(m);
}

static void test_als(void **state)
{
    (void)state;
    check_model(CF_KIND_ALS);
}

static void test_mf(void **state)
{
    (void)state;
    check_model(CF_KIND_MF);
}

/* Small catalogs and other kinds have no screen. */
static void test_no_screen_when_small(void **state)
{
    (void)state;
    uint32_t tu[] = {0, 1, 2}, ti[] = {0, 1, 2};
    cf_data_t d;
    err_t err;
    assert_int_equal(cf_data_from_triplets(&d, 3, 3, tu, ti, NULL, 3, &err), 0);
    cf_params_t p;
    cf_params_default(&p);
    p.kind = CF_KIND_ALS;
    p.als.factors = 8;
    cf_model_t *m = NULL;
    assert_int_equal(cf_train(&d, &p, &m, &err), 0);
    assert_null(m->screen.q);
    cf_model_release(m);
    cf_data_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_als),
        cmocka_unit_test(test_mf),
        cmocka_unit_test(test_no_screen_when_small),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
