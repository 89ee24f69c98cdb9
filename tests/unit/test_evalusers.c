/* test_evalusers.c: R5/R6/R7 user hold-out rules (tools/recsys-eval/evalusers.h)
 * on a tiny hand-written dataset: time order with ties by file order, the
 * first-n history, relevant = later ratings >= 4 minus the history, R7's
 * low-ratings variant, R6's query; the seeded user draw and its validation
 * carve-out; and the item-kNN / co-occurrence / genre cosine anchors on
 * hand-computable examples. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/data/dataset.h"
#include "tools/recsys-eval/evalusers.h"

static const char items_csv[] = "item_id,title,genres\n"
                                "a,A,Action\nb,B,Action|Comedy\nc,C,Comedy\nd,D,Drama\ne,E,Drama\n";
/* u1 in time order: a (100, row 1), b (100, row 2: the tie goes to file
 * order), d (200), c (300), e (400). */
static const char ratings_csv[] = "user_id,item_id,rating,timestamp\n"
                                  "u1,c,5,300\n"
                                  "u1,a,2,100\n"
                                  "u1,b,4,100\n"
                                  "u1,d,4.5,200\n"
                                  "u1,e,3,400\n"
                                  "u2,a,5,10\n"
                                  "u2,b,4,20\n"
                                  "u3,a,1,5\n"
                                  "u3,c,4,6\n"
                                  "u3,d,5,7\n";

static dataset_t *tiny(void)
{
    dataset_file_t f[2] = {{"ratings.csv", ratings_csv, sizeof ratings_csv - 1},
                           {"items.csv", items_csv, sizeof items_csv - 1}};
    dataset_t *ds = NULL;
    err_t err;
    if (dataset_load_files(f, 2, &ds, NULL, &err) != 0)
        fail_msg("%s", err.msg);
    return ds;
}

static uint32_t item(const dataset_t *ds, const char *id)
{
    uint32_t i = catalog_find(ds->catalog, id, strlen(id));
    assert_int_not_equal(i, UINT32_MAX);
    return i;
}

static uint32_t user(const dataset_t *ds, const char *id)
{
    uint32_t u = idmap_find(ds->users, id, strlen(id));
    assert_int_not_equal(u, UINT32_MAX);
    return u;
}

static void test_time_order_and_cases(void **state)
{
    (void)state;
    dataset_t *ds = tiny();
    evalusers_split_t *s = NULL;
    err_t err;
    assert_int_equal(evalusers_split_make(ds, 0.34, 1, 0, 0.25, &s, &err), 0);
    uint32_t u1 = user(ds, "u1");
    const char *order[5] = {"a", "b", "d", "c", "e"};
    assert_int_equal(s->off[u1 + 1] - s->off[u1], 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(s->item[s->off[u1] + i], item(ds, order[i]));

    uint32_t hist[8], excl[8], rel[8];
    float hv[8];
    size_t nh, nx;
    /* n = 2: history a (2), b (4); relevant: later >= 4 = d, c. */
    size_t nr = evalusers_r5_case(s, u1, 2, 0, 2.0f, 4.0f, hist, hv, &nh, excl, &nx, rel);
    assert_int_equal(nh, 2);
    assert_int_equal(hist[0], item(ds, "a"));
    assert_int_equal(hist[1], item(ds, "b"));
    assert_true(hv[0] == 2.0f && hv[1] == 4.0f);
    assert_int_equal(nx, 2);
    assert_int_equal(nr, 2);
    uint32_t c = item(ds, "c"), d = item(ds, "d");
    assert_int_equal(rel[0], c < d ? c : d);
    assert_int_equal(rel[1], c < d ? d : c);
    /* R7's second run: the low rating (a, 2) leaves the history sent but is
     * still excluded from the candidates; relevant unchanged. */
    nr = evalusers_r5_case(s, u1, 2, 1, 2.0f, 4.0f, hist, hv, &nh, excl, &nx, rel);
    assert_int_equal(nh, 1);
    assert_int_equal(hist[0], item(ds, "b"));
    assert_int_equal(nx, 2);
    assert_int_equal(nr, 2);
    /* n = 3: history a, b, d; relevant: c only (e is 3). */
    nr = evalusers_r5_case(s, u1, 3, 0, 2.0f, 4.0f, hist, hv, &nh, excl, &nx, rel);
    assert_int_equal(nh, 3);
    assert_int_equal(nr, 1);
    assert_int_equal(rel[0], c);
    /* n = 5: nothing later, nothing relevant (the user is skipped). */
    assert_int_equal(evalusers_r5_case(s, u1, 5, 0, 2.0f, 4.0f, hist, hv, &nh, excl, &nx, rel), 0);
    /* n larger than the ratings: every rating is history. */
    assert_int_equal(evalusers_r5_case(s, u1, 20, 0, 2.0f, 4.0f, hist, hv, &nh, excl, &nx, rel), 0);
    assert_int_equal(nh, 5);

    /* R6: the first item rated >= 4.5 is d (b is 4); relevant = b, c. */
    uint32_t q;
    nr = evalusers_r6_case(s, u1, 4.5f, 4.0f, &q, rel);
    assert_int_equal(q, d);
    assert_int_equal(nr, 2);
    assert_int_equal(rel[0], item(ds, "b"));
    assert_int_equal(rel[1], c);
    /* u2: a (5) is the query, b (4) the relevant item. */
    nr = evalusers_r6_case(s, user(ds, "u2"), 4.5f, 4.0f, &q, rel);
    assert_int_equal(q, item(ds, "a"));
    assert_int_equal(nr, 1);
    assert_int_equal(rel[0], item(ds, "b"));
    evalusers_split_free(s);
    dataset_free(ds);
}

static void test_user_draw(void **state)
{
    (void)state;
    dataset_t *ds = tiny();
    evalusers_split_t *s = NULL, *t = NULL, *v = NULL;
    err_t err;
    assert_int_equal(evalusers_split_make(ds, 0.34, 7, 0, 0.5, &s, &err), 0);
    assert_int_equal(s->nevaluated, 1); /* round(0.34 * 3) */
    assert_int_equal(s->ntrain_users, 2);
    assert_int_equal(s->role[s->users[0]], EVALUSERS_TEST);
    ratings_t *tr = evalusers_train(s, 1), *te = evalusers_test(s);
    assert_int_equal(tr->n + te->n, ds->ratings->n);
    for (size_t i = 0; i < tr->n; i++)
        assert_int_equal(s->role[tr->user[i]], EVALUSERS_TRAIN);
    for (size_t i = 0; i < te->n; i++)
        assert_int_equal(te->user[i], s->users[0]);
    ratings_free(tr);
    ratings_free(te);
    /* Same seed, same users; the validation split leaves the test user out
     * and evaluates round(0.5 * 2) = 1 train user. */
    assert_int_equal(evalusers_split_make(ds, 0.34, 7, 0, 0.5, &t, &err), 0);
    assert_memory_equal(s->role, t->role, s->nusers);
    assert_int_equal(evalusers_split_make(ds, 0.34, 7, 1, 0.5, &v, &err), 0);
    assert_int_equal(v->role[s->users[0]], EVALUSERS_OUT);
    assert_int_equal(v->nevaluated, 1);
    assert_int_equal(v->ntrain_users, 1);
    assert_int_not_equal(v->users[0], s->users[0]);
    /* Errors. */
    evalusers_split_t *bad = NULL;
    assert_int_equal(evalusers_split_make(ds, 0, 7, 0, 0.5, &bad, &err), -1);
    assert_int_equal(evalusers_split_make(ds, 1, 7, 0, 0.5, &bad, &err), -1);
    evalusers_split_free(s);
    evalusers_split_free(t);
    evalusers_split_free(v);
    dataset_free(ds);
}

/* u0: a b; u1: a b c; u2: b c (a = 0, b = 1, c = 2; a repeat counts once).
 * counts a 2, b 3, c 2; co(a,b) 2, co(a,c) 1, co(b,c) 2. */
static void test_knn(void **state)
{
    (void)state;
    ratings_t *r = ratings_new(NULL, false);
    static const uint32_t pairs[][2] = {{0, 0}, {0, 1}, {1, 0}, {1, 1}, {1, 2}, {2, 1}, {2, 2}, {2, 2}};
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++)
        assert_int_equal(ratings_add(r, pairs[i][0], pairs[i][1], 4, 0), 0);
    evalknn_t *k = NULL;
    err_t err;
    assert_int_equal(evalknn_build(r, 3, 4, &k, &err), 0);
    float v[4];
    evalknn_cooc(k, 0, v);
    assert_true(v[0] == 2 && v[1] == 2 && v[2] == 1 && v[3] == 0);
    evalknn_cosine(k, 0, v);
    assert_float_equal(v[0], 0, 0);
    assert_float_equal(v[1], 2 / sqrt(6), 1e-6);
    assert_float_equal(v[2], 0.5, 1e-6);
    assert_float_equal(v[3], 0, 0);
    /* Score = sum of cosines to the history items a and c. */
    uint32_t h[2] = {0, 2};
    evalknn_score(k, h, 2, v);
    assert_float_equal(v[0], 0.5, 1e-6);
    assert_float_equal(v[1], 4 / sqrt(6), 1e-6);
    assert_float_equal(v[2], 0.5, 1e-6);
    assert_float_equal(v[3], 0, 0);
    /* An item nobody rated contributes nothing. */
    uint32_t h3 = 3;
    evalknn_score(k, &h3, 1, v);
    assert_true(v[0] == 0 && v[1] == 0 && v[2] == 0);
    evalknn_free(k);
    ratings_free(r);
}

static void test_genre_cosine(void **state)
{
    (void)state;
    dataset_t *ds = tiny();
    uint32_t h[2] = {item(ds, "a"), item(ds, "b")}; /* profile: Action 2, Comedy 1 */
    float prof[8], sc[8];
    evalgenre_score(ds->catalog, h, 2, prof, sc);
    assert_float_equal(sc[item(ds, "a")], 2 / sqrt(5), 1e-6);
    assert_float_equal(sc[item(ds, "b")], 3 / (sqrt(5) * sqrt(2)), 1e-6);
    assert_float_equal(sc[item(ds, "c")], 1 / sqrt(5), 1e-6);
    assert_float_equal(sc[item(ds, "d")], 0, 0);
    dataset_free(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time_order_and_cases),
        cmocka_unit_test(test_user_draw),
        cmocka_unit_test(test_knn),
        cmocka_unit_test(test_genre_cosine),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
