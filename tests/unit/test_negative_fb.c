/* test_negative_fb.c: negative feedback (R7, common/data/feedback.h) in
 * both workers' scoring, on a tiny catalog with a trilogy:
 *   0 fotr   The Fellowship of the Ring   hobbit ring frodo fellowship quest
 *   1 tt     The Two Towers               hobbit ring gollum battle towers
 *   2 rotk   The Return of the King       hobbit ring gollum battle king
 *   3 hobbit The Hobbit                   hobbit dragon quest fellowship
 *   4..7     two sci-fi, a crime film, a romance (nothing in common with the
 *            trilogy)
 * The user liked fotr (5) and rated tt 1 (or disliked it). rotk is the item
 * most similar to tt, in content and in co-ratings. The negative tt must
 * lower rotk's score relative to the same history without tt, and no
 * explanation may cite tt. */
#include "testutil.h"

#include <math.h>
#include <string.h>

#include "common/data/catalog.h"
#include "common/data/feedback.h"
#include "services/cf/cf_model.h"
#include "services/content/content_model.h"

enum { FOTR, TT, ROTK, HOBBIT, ALIEN, ALIENS, HEAT, AMELIE, NITEMS };

static const struct {
    const char *id, *overview, *g[2];
} items[NITEMS] = {
    {"fotr", "hobbit ring frodo fellowship quest", {"Adventure", "Fantasy"}},
    {"tt", "hobbit ring gollum battle towers", {"Adventure", "Fantasy"}},
    {"rotk", "hobbit ring gollum battle king", {"Adventure", "Fantasy"}},
    {"hobbit", "hobbit dragon quest fellowship", {"Adventure", "Fantasy"}},
    {"alien", "space alien crew", {"Horror", "SciFi"}},
    {"aliens", "space alien marines", {"Action", "SciFi"}},
    {"heat", "heist crew detective", {"Crime", NULL}},
    {"amelie", "paris romance cafe", {"Comedy", "Romance"}},
};

/* ------------------------------------------------------------ content */

static content_model_t *trilogy_content(void)
{
    err_t err;
    catalog_t *c = catalog_new();
    for (uint32_t i = 0; i < NITEMS; i++) {
        uint32_t idx;
        assert_int_equal(catalog_add_item(c, items[i].id, strlen(items[i].id), &idx, &err), 0);
        assert_int_equal(catalog_set_title(c, idx, items[i].id, strlen(items[i].id)), 0);
        assert_int_equal(catalog_set_overview(c, idx, items[i].overview, strlen(items[i].overview)), 0);
        for (int g = 0; g < 2; g++)
            if (items[i].g[g])
                assert_int_equal(catalog_add_genre(c, idx, items[i].g[g], strlen(items[i].g[g])), 0);
    }
    assert_int_equal(catalog_finish(c, &err), 0);
    content_params_t p;
    content_params_default(&p);
    p.threads = 1;
    content_model_t *m;
    if (content_model_build(c, &p, &m, &err) != 0)
        fail_msg("%s", err.msg);
    catalog_free(c);
    return m;
}

/* Score of item in a top-k over every item (NAN when absent); checks that
 * no hit is explained by the history position `never`. */
static float content_score_of(const content_model_t *m, const content_event_t *h, size_t n, uint32_t item,
                              size_t never, int *rank)
{
    content_scratch_t *s = content_scratch_new();
    content_hit_t out[NITEMS];
    content_query_t q = {.k = NITEMS};
    err_t err;
    long got = content_score_history(m, h, n, &q, s, out, &err);
    assert_true(got > 0);
    float sc = NAN;
    for (long i = 0; i < got; i++) {
        if (out[i].item == item) {
            sc = out[i].score;
            *rank = (int)i;
        }
        if (never != SIZE_MAX && out[i].because == never)
            fail_msg("item %u explained by the disliked history item", out[i].item);
    }
    content_scratch_free(s);
    return sc;
}

static void test_content_negative(void **state)
{
    (void)state;
    content_model_t *m = trilogy_content();
    int r_rotk1, r_hob1, r_rotk2, r_hob2, r;
    content_event_t liked[] = {{FOTR, 5.0f}};
    content_event_t low[] = {{FOTR, 5.0f}, {TT, 1.0f}};
    content_event_t dis[] = {{FOTR, 5.0f}, {TT, FEEDBACK_DISLIKE_RATING}};
    float rotk1 = content_score_of(m, liked, 1, ROTK, SIZE_MAX, &r_rotk1);
    float hob1 = content_score_of(m, liked, 1, HOBBIT, SIZE_MAX, &r_hob1);
    float rotk2 = content_score_of(m, low, 2, ROTK, 1, &r_rotk2);
    float hob2 = content_score_of(m, low, 2, HOBBIT, 1, &r_hob2);
    /* Without tt, rotk (a close neighbour of fotr too) scores > 0. */
    assert_true(rotk1 > 0);
    /* With tt rated 1: rotk, tt's closest item, drops, in score and
     * against hobbit (close to fotr, far from tt). */
    assert_true(rotk2 < rotk1);
    assert_true(rotk2 / hob2 < rotk1 / hob1 || (rotk2 <= 0 && hob2 > 0));
    assert_true(r_hob2 < r_rotk2);
    /* tt alone rated 1 is evidence against: rotk scores below 0. */
    content_event_t alone[] = {{TT, 1.0f}};
    assert_true(content_score_of(m, alone, 1, ROTK, 0, &r) < 0);
    /* A DISLIKE is the same evidence. */
    assert_float_equal(content_score_of(m, dis, 2, ROTK, 1, &r), rotk2, 1e-6);
    content_model_release(m);
}

/* ------------------------------------------------------------ CF */

/* 70 users: 20 read the trilogy (fotr 5, tt 5, rotk 4; every other one
 * the hobbit too), 15 only the battles (tt, rotk), 10 fotr and the hobbit,
 * 10 fotr and rotk, 15 the rest in pairs; ratings 4-5, so no stored rating
 * is negative. */
static void trilogy_data(cf_data_t *d)
{
    uint32_t u[400], it[400];
    float v[400];
    size_t n = 0;
#define ADD(U, I, V) (u[n] = (U), it[n] = (I), v[n] = (V), n++)
    uint32_t user = 0;
    for (int k = 0; k < 20; k++, user++) {
        ADD(user, FOTR, 5);
        ADD(user, TT, 5);
        ADD(user, ROTK, 4);
        if (k % 2)
            ADD(user, HOBBIT, 4);
    }
    for (int k = 0; k < 15; k++, user++) {
        ADD(user, TT, 4);
        ADD(user, ROTK, 5);
    }
    for (int k = 0; k < 10; k++, user++) {
        ADD(user, FOTR, 4);
        ADD(user, HOBBIT, 5);
    }
    for (int k = 0; k < 10; k++, user++) {
        ADD(user, FOTR, 5);
        ADD(user, ROTK, 4);
    }
    for (int k = 0; k < 15; k++, user++) {
        uint32_t a = ALIEN + (uint32_t)(k % 4), b = ALIEN + (uint32_t)((k + 1) % 4);
        ADD(user, a, 5);
        ADD(user, b, 4);
    }
#undef ADD
    err_t err;
    assert_int_equal(cf_data_from_triplets(d, user, NITEMS, u, it, v, n, &err), 0);
}

static float cf_score_of(const cf_model_t *m, const cf_event_t *ev, size_t n, uint32_t item)
{
    cf_scratch_t *s = cf_scratch_new();
    cf_who_t who = {CF_NO_USER, ev, n};
    float sc;
    err_t err;
    assert_int_equal(cf_score_items(m, s, &who, &item, 1, &sc, &err), 0);
    cf_scratch_free(s);
    return sc;
}

static void check_cf(const cf_model_t *m)
{
    cf_event_t liked[] = {{FOTR, 5.0f}};
    cf_event_t low[] = {{FOTR, 5.0f}, {TT, 1.0f}};
    cf_event_t dis[] = {{FOTR, 5.0f}, {TT, FEEDBACK_DISLIKE_RATING}};
    float rotk1 = cf_score_of(m, liked, 1, ROTK), rotk2 = cf_score_of(m, low, 2, ROTK);
    float hob1 = cf_score_of(m, liked, 1, HOBBIT), hob2 = cf_score_of(m, low, 2, HOBBIT);
    /* rotk is lifted by fotr alone; tt rated 1 lowers it, by more than it
     * lowers the hobbit (far from tt). */
    if (!(rotk1 > 0))
        fail_msg("%s: rotk %g hobbit %g from fotr alone", cf_kind_name(m->kind), (double)rotk1, (double)hob1);
    if (!(rotk2 < rotk1))
        fail_msg("%s: rotk %g with tt rated 1, %g without", cf_kind_name(m->kind), (double)rotk2, (double)rotk1);
    assert_true(rotk1 - rotk2 > hob1 - hob2);
    /* The DISLIKE is the same evidence (the service folds it in as
     * FEEDBACK_DISLIKE_RATING). */
    assert_float_equal(cf_score_of(m, dis, 2, ROTK), rotk2, 1e-6);
    /* The top answer is never explained by tt. */
    cf_scratch_t *s = cf_scratch_new();
    cf_who_t who = {CF_NO_USER, low, 2};
    topk_item_t top[NITEMS];
    err_t err;
    long got = cf_recommend(m, s, &who, NULL, NITEMS, top, NULL, &err);
    assert_true(got > 0);
    for (long i = 0; i < got; i++) {
        assert_true(top[i].index != FOTR && top[i].index != TT); /* seen */
        assert_int_not_equal(cf_explain(m, s, &who, top[i].index), TT);
    }
    assert_int_equal(cf_explain(m, s, &who, ROTK), FOTR);
    cf_scratch_free(s);
}

static void test_cf_ease_negative(void **state)
{
    (void)state;
    cf_data_t d;
    trilogy_data(&d);
    for (int bin = 0; bin < 2; bin++) {
        cf_params_t p;
        cf_params_default(&p);
        p.ease.lambda = 20.0f;
        p.ease.binary = bin;
        cf_model_t *m;
        err_t err;
        assert_int_equal(cf_train_ease(&d, &p.ease, &m, &err), 0);
        check_cf(m);
        cf_model_release(m);
    }
    cf_data_free(&d);
}

static void test_cf_als_negative(void **state)
{
    (void)state;
    cf_data_t d;
    trilogy_data(&d);
    cf_params_t p;
    cf_params_default(&p);
    p.als.factors = 4;
    p.als.iterations = 15;
    p.als.threads = 1;
    cf_model_t *m;
    err_t err;
    assert_int_equal(cf_train_als(&d, &p.als, &m, &err), 0);
    check_cf(m);
    cf_model_release(m);
    cf_data_free(&d);
}

/* The rule itself: one place, used everywhere. */
static void test_rule(void **state)
{
    (void)state;
    assert_true(feedback_rating_negative(0.5f));
    assert_true(feedback_rating_negative(2.0f));
    assert_false(feedback_rating_negative(2.5f));
    assert_false(feedback_rating_negative(0.0f)); /* no rating: implicit */
    assert_true(feedback_event_negative(0.0f, true));
    assert_false(feedback_event_negative(4.0f, true)); /* a rating wins */
    assert_false(feedback_event_negative(0.0f, false));
    assert_float_equal(feedback_event_rating(0.0f, true), FEEDBACK_DISLIKE_RATING, 0);
    assert_float_equal(feedback_negative_strength(1.0f), 1.0f, 1e-6);
    assert_false(feedback_scale_has_negatives(1.0f)); /* implicit data */
    assert_true(feedback_scale_has_negatives(5.0f));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rule),
        cmocka_unit_test(test_content_negative),
        cmocka_unit_test(test_cf_ease_negative),
        cmocka_unit_test(test_cf_als_negative),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
