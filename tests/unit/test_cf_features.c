/* test_cf_features.c: the feature-to-CF map for cold items
 * (services/cf/cf_features.h) on hand-checkable cases: year buckets from a
 * catalog, an item's features, exact interpolation (with a tiny ridge
 * penalty and independent warm features, a cold item whose features equal a
 * warm item's gets that item's model score, for EASE and ALS), the
 * popularity map of an empty history (log(1 + count)), the history merge
 * (events override stored ratings), the optional popularity prior, and
 * errors (no catalog in the model, bad indices, non-finite events, a map
 * used with another model). */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/data/catalog.h"
#include "services/cf/cf_features.h"
#include "services/cf/cf_model.h"

/* 6 users x 8 items; items 6 and 7 have no ratings (cold). */
static const uint32_t tu[] = {0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 3, 3, 4, 4, 4, 5, 5, 5, 5, 5};
static const uint32_t ti[] = {0, 1, 2, 5, 0, 1, 3, 1, 2, 3, 4, 0, 4, 2, 5, 3, 0, 1, 2, 3, 4};
static const float tv[] = {5, 4, 3, 1, 4, 4, 2, 5, 3, 3, 4, 2, 5, 4, 1, 3, 5, 5, 4, 2, 1};
#define NT (sizeof tu / sizeof tu[0])

/* Items 0..5: genre G<i>; item 6: G0 (the features of item 0); item 7: G1
 * and G2. Years: years[] (0 = unknown). */
static catalog_t *catalog(const int years[8])
{
    catalog_t *c = catalog_new();
    err_t err;
    for (int i = 0; i < 8; i++) {
        char id[8], g[8];
        uint32_t idx;
        snprintf(id, sizeof id, "m%d", i);
        assert_int_equal(catalog_add_item(c, id, strlen(id), &idx, &err), 0);
        snprintf(g, sizeof g, "G%d", i < 6 ? i : i == 6 ? 0 : 1);
        assert_int_equal(catalog_add_genre(c, idx, g, strlen(g)), 0);
        if (i == 7)
            assert_int_equal(catalog_add_genre(c, idx, "G2", 2), 0);
        catalog_set_year(c, idx, years[i]);
    }
    assert_int_equal(catalog_finish(c, &err), 0);
    return c;
}

static const int same_years[8] = {1995, 1995, 1995, 1995, 1995, 1995, 1995, 1995};

static cf_model_t *model(cf_kind_t kind, const int years[8])
{
    cf_data_t d;
    err_t err;
    assert_int_equal(cf_data_from_triplets(&d, 6, 8, tu, ti, tv, NT, &err), 0);
    cf_params_t p;
    cf_params_default(&p);
    cf_model_t *m = NULL;
    if (kind == CF_KIND_EASE) {
        p.ease.lambda = 2.0f;
        p.ease.binary = 0;
        assert_int_equal(cf_train_ease(&d, &p.ease, &m, &err), 0);
    } else if (kind == CF_KIND_ALS) {
        p.als.factors = 3;
        p.als.iterations = 10;
        p.als.reg = 0.1f;
        p.als.threads = 1;
        assert_int_equal(cf_train_als(&d, &p.als, &m, &err), 0);
    } else {
        assert_int_equal(cf_train_pop(&d, &m, &err), 0);
    }
    cf_data_free(&d);
    catalog_t *c = catalog(years);
    assert_int_equal(cf_model_set_catalog(m, NULL, c, &err), 0);
    catalog_free(c);
    return m;
}

static cf_featmap_params_t exact_params(void)
{
    cf_featmap_params_t p;
    cf_featmap_params_default(&p);
    p.mu = 1e-7f;      /* ridge penalty ~0: interpolation of the warm items */
    p.year_items = 0;  /* bias + 6 genres: the six warm rows are independent */
    p.min_ratings = 1;
    return p;
}

static void test_buckets_and_features(void **state)
{
    (void)state;
    /* Known years 1980, 1990 x2, 1991, 1995 x3; item 6 unknown. */
    static const int years[8] = {1990, 1990, 1991, 1995, 1995, 1995, 0, 1980};
    cf_model_t *m = model(CF_KIND_POP, years);
    cf_featmap_params_t p;
    cf_featmap_params_default(&p);
    p.year_items = 2;
    cf_featmap_t *f;
    err_t err;
    assert_int_equal(cf_featmap_build(m, &p, &f, &err), 0);
    /* Latest first: 1995 (3 items) closes a bucket; 1991 (1) + 1990 (2)
     * close the next at 1990; 1980 alone is too small and joins it. */
    assert_int_equal(cf_featmap_nfeatures(f), 1 + 6 + 2);
    assert_int_equal(cf_featmap_year_bucket(f, 1980), 0);
    assert_int_equal(cf_featmap_year_bucket(f, 1970), 0);
    assert_int_equal(cf_featmap_year_bucket(f, 1991), 0);
    assert_int_equal(cf_featmap_year_bucket(f, 1994), 0);
    assert_int_equal(cf_featmap_year_bucket(f, 1995), 1);
    assert_int_equal(cf_featmap_year_bucket(f, 2020), 1);
    assert_int_equal(cf_featmap_year_bucket(f, 0), -1);
    uint32_t idx[16];
    /* Item 3: bias, G3 (feature 4), bucket 1 (feature 1 + 6 + 1). */
    assert_int_equal(cf_featmap_item_features(f, 3, idx), 3);
    assert_int_equal(idx[0], 0);
    assert_int_equal(idx[1], 4);
    assert_int_equal(idx[2], 8);
    /* Item 7: bias, G1, G2, bucket 0; item 6: no year. */
    assert_int_equal(cf_featmap_item_features(f, 7, idx), 4);
    assert_int_equal(idx[1], 2);
    assert_int_equal(idx[2], 3);
    assert_int_equal(idx[3], 7);
    assert_int_equal(cf_featmap_item_features(f, 6, idx), 2);
    assert_int_equal(cf_featmap_item_features(f, 99, idx), 0);
    assert_true(cf_featmap_is_warm(f, 0));
    assert_true(cf_featmap_is_warm(f, 5));
    assert_false(cf_featmap_is_warm(f, 6));
    assert_false(cf_featmap_is_warm(f, 7));
    assert_false(cf_featmap_is_warm(f, 8));
    /* score = sum of z over the item's features. */
    float z[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    assert_float_equal(cf_featmap_score(f, z, 7), 1 + 3 + 4 + 8, 1e-6);
    assert_float_equal(cf_featmap_score(f, z, 6), 1 + 2, 1e-6);
    cf_featmap_free(f);

    /* No year features at all. */
    p.year_items = 0;
    assert_int_equal(cf_featmap_build(m, &p, &f, &err), 0);
    assert_int_equal(cf_featmap_nfeatures(f), 7);
    assert_int_equal(cf_featmap_year_bucket(f, 1995), -1);
    cf_featmap_free(f);
    cf_model_release(m);
}

/* A cold item with the features of warm item 0 scores as item 0 does. */
static void check_interpolation(cf_kind_t kind)
{
    cf_model_t *m = model(kind, same_years);
    cf_featmap_params_t p = exact_params();
    cf_featmap_t *f;
    err_t err;
    assert_int_equal(cf_featmap_build(m, &p, &f, &err), 0);
    cf_scratch_t *s = cf_scratch_new();
    float all[8], feat[8];
    uint32_t items[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    for (uint32_t u = 0; u < 6; u++) {
        cf_who_t who = {u, NULL, 0};
        const float *sc = cf_score_all(m, s, &who, NULL, &err);
        assert_non_null(sc);
        float model0 = sc[0];
        double scale = 0;
        for (int j = 0; j < 6; j++)
            scale = fmax(scale, fabs(sc[j]));
        assert_int_equal(cf_featmap_score_items(f, m, s, &who, items, 8, feat, &err), 0);
        for (int j = 0; j < 6; j++) /* warm items are interpolated */
            assert_float_equal(feat[j], sc[j], 1e-3 * scale + 1e-5);
        assert_float_equal(feat[6], model0, 1e-3 * scale + 1e-5);
        /* score_all: the model's scores for warm items, the map's for cold. */
        assert_int_equal(cf_featmap_score_all(f, m, s, &who, all, &err), 0);
        sc = cf_score_all(m, s, &who, NULL, &err);
        for (int j = 0; j < 6; j++)
            assert_float_equal(all[j], sc[j], 0);
        assert_float_equal(all[6], feat[6], 1e-6);
        assert_float_equal(all[7], feat[7], 1e-6);
    }
    cf_scratch_free(s);
    cf_featmap_free(f);
    cf_model_release(m);
}

static void test_interpolation_ease(void **state)
{
    (void)state;
    check_interpolation(CF_KIND_EASE);
}

static void test_interpolation_als(void **state)
{
    (void)state;
    check_interpolation(CF_KIND_ALS);
}

/* Without a history: the popularity map, log(1 + count) for warm items. */
static void test_empty_history(void **state)
{
    (void)state;
    cf_model_t *m = model(CF_KIND_EASE, same_years);
    cf_featmap_params_t p = exact_params();
    cf_featmap_t *f;
    err_t err;
    assert_int_equal(cf_featmap_build(m, &p, &f, &err), 0);
    cf_scratch_t *s = cf_scratch_new();
    cf_who_t nobody = {CF_NO_USER, NULL, 0};
    float z[7], all[8];
    assert_int_equal(cf_featmap_profile(f, m, s, &nobody, z, &err), 0);
    /* Counts: item 0: 4 (users 0, 1, 3, 5), item 4: 3, item 5: 2. */
    assert_float_equal(cf_featmap_score(f, z, 0), log(5.0), 1e-4);
    assert_float_equal(cf_featmap_score(f, z, 4), log(4.0), 1e-4);
    assert_float_equal(cf_featmap_score(f, z, 5), log(3.0), 1e-4);
    assert_float_equal(cf_featmap_score(f, z, 6), log(5.0), 1e-4); /* as item 0 */
    /* score_all puts warm items on the same scale. */
    assert_int_equal(cf_featmap_score_all(f, m, s, &nobody, all, &err), 0);
    assert_float_equal(all[0], log(5.0), 1e-6);
    assert_float_equal(all[6], log(5.0), 1e-4);
    cf_scratch_free(s);
    cf_featmap_free(f);
    cf_model_release(m);
}

/* Events: a history sent as events equals the stored one; an event
 * overrides the stored rating of its item (the last event of an item wins). */
static void test_history_merge(void **state)
{
    (void)state;
    cf_model_t *m = model(CF_KIND_EASE, same_years);
    cf_featmap_params_t p;
    cf_featmap_params_default(&p);
    cf_featmap_t *f;
    err_t err;
    assert_int_equal(cf_featmap_build(m, &p, &f, &err), 0);
    uint32_t nf = cf_featmap_nfeatures(f);
    float *a = calloc(nf, sizeof *a), *b = calloc(nf, sizeof *b);
    cf_scratch_t *s = cf_scratch_new();
    /* User 0's stored row: 0:5, 1:4, 2:3, 5:1. */
    cf_who_t known = {0, NULL, 0};
    assert_int_equal(cf_featmap_profile(f, m, s, &known, a, &err), 0);
    cf_event_t ev[4] = {{5, 1}, {0, 5}, {2, 3}, {1, 4}};
    cf_who_t anon = {CF_NO_USER, ev, 4};
    assert_int_equal(cf_featmap_profile(f, m, s, &anon, b, &err), 0);
    for (uint32_t k = 0; k < nf; k++)
        assert_float_equal(a[k], b[k], 1e-5);
    /* Known user plus events 0:1 then 0:2 (the last wins) and 3:4, against
     * the same history sent whole. */
    cf_event_t extra[3] = {{0, 1}, {3, 4}, {0, 2}};
    cf_who_t plus = {0, extra, 3};
    assert_int_equal(cf_featmap_profile(f, m, s, &plus, a, &err), 0);
    cf_event_t whole[5] = {{0, 2}, {1, 4}, {2, 3}, {3, 4}, {5, 1}};
    cf_who_t w2 = {CF_NO_USER, whole, 5};
    assert_int_equal(cf_featmap_profile(f, m, s, &w2, b, &err), 0);
    for (uint32_t k = 0; k < nf; k++)
        assert_float_equal(a[k], b[k], 1e-5);
    free(a);
    free(b);
    cf_scratch_free(s);
    cf_featmap_free(f);
    cf_model_release(m);
}

/* The popularity prior moves a user's profile towards the popularity map. */
static void test_popularity_prior(void **state)
{
    (void)state;
    cf_model_t *m = model(CF_KIND_EASE, same_years);
    cf_featmap_params_t p = exact_params();
    cf_featmap_t *f0, *f1;
    err_t err;
    assert_int_equal(cf_featmap_build(m, &p, &f0, &err), 0);
    p.pop = 1e6f; /* popularity dominates: the ranking is the popularity map's */
    assert_int_equal(cf_featmap_build(m, &p, &f1, &err), 0);
    cf_scratch_t *s = cf_scratch_new();
    cf_who_t who = {3, NULL, 0}, nobody = {CF_NO_USER, NULL, 0};
    float z0[7], z1[7], zp[7];
    assert_int_equal(cf_featmap_profile(f0, m, s, &who, z0, &err), 0);
    assert_int_equal(cf_featmap_profile(f1, m, s, &who, z1, &err), 0);
    assert_int_equal(cf_featmap_profile(f1, m, s, &nobody, zp, &err), 0);
    /* Item 0 (count 4) above item 5 (count 2) once popularity dominates. */
    assert_true(cf_featmap_score(f1, z1, 0) > cf_featmap_score(f1, z1, 5));
    double d01 = cf_featmap_score(f1, z1, 0) - cf_featmap_score(f1, z1, 5);
    double dp = cf_featmap_score(f1, zp, 0) - cf_featmap_score(f1, zp, 5);
    assert_true(d01 > 0 && dp > 0);
    (void)z0;
    cf_scratch_free(s);
    cf_featmap_free(f0);
    cf_featmap_free(f1);
    cf_model_release(m);
}

static void test_errors(void **state)
{
    (void)state;
    err_t err;
    cf_data_t d;
    assert_int_equal(cf_data_from_triplets(&d, 6, 8, tu, ti, tv, NT, &err), 0);
    cf_model_t *bare;
    assert_int_equal(cf_train_pop(&d, &bare, &err), 0);
    cf_data_free(&d);
    cf_featmap_params_t p;
    cf_featmap_params_default(&p);
    cf_featmap_t *f = NULL;
    assert_int_equal(cf_featmap_build(bare, &p, &f, &err), -1);
    assert_null(f);
    assert_non_null(strstr(err.msg, "no genres"));

    cf_model_t *m = model(CF_KIND_EASE, same_years);
    p.mu = 0;
    assert_int_equal(cf_featmap_build(m, &p, &f, &err), -1);
    cf_featmap_params_default(&p);
    p.min_ratings = 100; /* no item is warm */
    assert_int_equal(cf_featmap_build(m, &p, &f, &err), -1);
    assert_non_null(strstr(err.msg, "no item"));
    cf_featmap_params_default(&p);
    assert_int_equal(cf_featmap_build(m, &p, &f, &err), 0);
    cf_scratch_t *s = cf_scratch_new();
    float out[8];
    uint32_t bad_item = 99;
    cf_who_t who = {0, NULL, 0};
    assert_int_equal(cf_featmap_score_items(f, m, s, &who, &bad_item, 1, out, &err), -1);
    assert_non_null(strstr(err.msg, "out of range"));
    cf_who_t bad_user = {77, NULL, 0};
    assert_int_equal(cf_featmap_score_all(f, m, s, &bad_user, out, &err), -1);
    cf_event_t nan_ev = {1, NAN};
    cf_who_t bad_ev = {CF_NO_USER, &nan_ev, 1};
    assert_int_equal(cf_featmap_score_all(f, m, s, &bad_ev, out, &err), -1);
    assert_non_null(strstr(err.msg, "finite"));
    cf_event_t far_ev = {1000, 1};
    cf_who_t bad_ev2 = {CF_NO_USER, &far_ev, 1};
    assert_int_equal(cf_featmap_score_all(f, m, s, &bad_ev2, out, &err), -1);
    /* A map used with a model of another kind. */
    cf_model_t *other = model(CF_KIND_POP, same_years);
    assert_int_equal(cf_featmap_score_all(f, other, s, &who, out, &err), -1);
    assert_non_null(strstr(err.msg, "another model"));
    cf_model_release(other);
    cf_scratch_free(s);
    cf_featmap_free(f);
    cf_featmap_free(NULL);
    cf_model_release(m);
    cf_model_release(bare);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buckets_and_features),
        cmocka_unit_test(test_interpolation_ease),
        cmocka_unit_test(test_interpolation_als),
        cmocka_unit_test(test_empty_history),
        cmocka_unit_test(test_history_merge),
        cmocka_unit_test(test_popularity_prior),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
