/* test_gw_history.c: a user's history as assembled for the ranked methods
 * (services/gateway/gw_history.h): stored ratings, request events and
 * recent feedback in one struct; the blend's history length; the excluded
 * items; the content worker's cut of the stored ratings. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "common/base/arena.h"
#include "services/gateway/gw_catalog.h"
#include "services/gateway/gw_history.h"

static gw_catalog_t *load_ratings(const char *ra)
{
    char *dir = testutil_tmpdir("gw_history");
    char *items = testutil_join(dir, "items.csv"), *ratings = testutil_join(dir, "ratings.csv");
    const char *it = "item_id,title,year,genres\n"
                     "m1,One,1991,Drama\nm2,Two,1992,Comedy\nm3,Three,1993,Drama\nm4,Four,1994,Comedy\n";
    testutil_write_file(items, it, strlen(it));
    testutil_write_file(ratings, ra, strlen(ra));
    err_t err;
    gw_catalog_t *c;
    assert_int_equal(gw_catalog_load(dir, NULL, &c, &err), 0);
    free(items);
    free(ratings);
    free(dir);
    return c;
}

static gw_catalog_t *load(void)
{
    return load_ratings("user_id,item_id,rating\nu1,m1,5\nu1,m2,2\nu2,m3,4\n");
}

static Recsys__V1__HistoryEvent ev(const char *item, float rating)
{
    Recsys__V1__HistoryEvent e = RECSYS__V1__HISTORY_EVENT__INIT;
    e.item_id = (char *)item;
    e.rating = rating;
    return e;
}

/* Stored (m1, m2) + request (m3) + recent (m4 new, m1 rated, m4 again,
 * an unknown item): the length counts stored and request events and the
 * recent events on items new to the user. */
static void test_build(void **state)
{
    (void)state;
    gw_catalog_t *c = load();
    arena_t a;
    arena_init(&a);
    err_t err;
    Recsys__V1__HistoryEvent r0 = ev("m3", 4), *req[] = {&r0};
    gw_feedback_recent_event_t rec[] = {
        {"m4", 0, 2, 10}, {"m1", 1, 1, 11}, {"m4", 4, 1, 12}, {"zz", 5, 1, 13}};
    gw_history_t h;
    assert_int_equal(gw_history_build(&h, c, "u1", req, 1, rec, 4, &a, &err), 0);
    assert_int_equal(h.nrated, 2);
    assert_int_equal(h.nrequest, 1);
    assert_int_equal(h.nfresh, 4);
    assert_string_equal(h.fresh[0]->item_id, "m3");
    assert_string_equal(h.fresh[1]->item_id, "m4");
    assert_string_equal(h.fresh[2]->item_id, "m1");
    assert_string_equal(h.fresh[3]->item_id, "m4");
    assert_int_equal(h.fresh[3]->timestamp_ms, 12);
    assert_true(h.fresh[0] != req[0]); /* copies, never the client's message */
    assert_int_equal(h.nitems, 6);
    assert_int_equal(h.nrecent_items, 3);
    assert_int_equal(h.length, 2 + 1 + 1);

    /* Anonymous, no recent: the request alone. */
    assert_int_equal(gw_history_build(&h, c, "", req, 1, NULL, 0, &a, &err), 0);
    assert_int_equal(h.nrated, 0);
    assert_int_equal(h.length, 1);
    assert_int_equal(h.nitems, 1);

    /* An unknown request item is the caller's error, named by index. */
    Recsys__V1__HistoryEvent bad = ev("nope", 3), *breq[] = {&r0, &bad};
    assert_int_equal(gw_history_build(&h, c, "u1", breq, 2, NULL, 0, &a, &err), -1);
    assert_string_equal(err.msg, "history[1].item_id: unknown item 'nope'");
    arena_free(&a);
    gw_catalog_free(c);
}

/* The content worker's history: stored ratings (cut to max, those furthest
 * from the user's mean first; ties by position) then the fresh events; an
 * implicit event on a rated item left out of the cut is dropped. */
static void test_for_content(void **state)
{
    (void)state;
    gw_catalog_t *c = load();
    arena_t a;
    arena_init(&a);
    err_t err;
    gw_feedback_recent_event_t rec[] = {{"m2", 0, 2, 10}, {"m3", 0, 2, 11}};
    gw_history_t h;
    assert_int_equal(gw_history_build(&h, c, "u1", NULL, 0, rec, 2, &a, &err), 0);
    size_t n;
    Recsys__V1__HistoryEvent **v = gw_history_for_content(&h, c, 10, &a, &n);
    assert_int_equal(n, 4);
    assert_string_equal(v[0]->item_id, "m1");
    assert_float_equal(v[0]->rating, 5, 0);
    assert_string_equal(v[1]->item_id, "m2");
    assert_string_equal(v[2]->item_id, "m2");
    assert_string_equal(v[3]->item_id, "m3");
    v = gw_history_for_content(&h, c, 1, &a, &n);
    assert_int_equal(n, 2);
    assert_string_equal(v[0]->item_id, "m1"); /* |5-3.5| = |2-3.5|: the first */
    assert_string_equal(v[1]->item_id, "m3"); /* the implicit m2 event went with m2's rating */
    assert_int_equal(gw_history_build(&h, c, "", NULL, 0, NULL, 0, &a, &err), 0);
    assert_null(gw_history_for_content(&h, c, 10, &a, &n));
    assert_int_equal(n, 0);
    arena_free(&a);
    gw_catalog_free(c);
}

/* Implicit data (every stored value 1, a scale without negative ratings,
 * common/data/feedback.h): a stored 1 is an interaction, not a dislike. It
 * is not negative, and the content worker gets it as a VIEW without a
 * rating; a DISLIKE event still is negative. On a star scale the stored 2
 * is negative. */
static void test_implicit_scale(void **state)
{
    (void)state;
    gw_catalog_t *c = load_ratings("user_id,item_id,rating\nu1,m1,1\nu1,m2,1\nu2,m3,1\n");
    assert_false(c->scale_negatives);
    arena_t a;
    arena_init(&a);
    err_t err;
    Recsys__V1__HistoryEvent d = ev("m3", 0), *req[] = {&d};
    d.type = RECSYS__V1__EVENT_TYPE__EVENT_TYPE_DISLIKE;
    gw_history_t h;
    assert_int_equal(gw_history_build(&h, c, "u1", req, 1, NULL, 0, &a, &err), 0);
    size_t nneg = 99;
    uint8_t *neg = gw_history_negatives(&h, c, &a, &nneg);
    assert_non_null(neg);
    assert_int_equal(nneg, 1); /* the DISLIKE */
    assert_int_equal(neg[gw_catalog_find(c, "m1")], 0);
    assert_int_equal(neg[gw_catalog_find(c, "m2")], 0);
    assert_int_equal(neg[gw_catalog_find(c, "m3")], 1);
    size_t n;
    Recsys__V1__HistoryEvent **v = gw_history_for_content(&h, c, 10, &a, &n);
    assert_int_equal(n, 3);
    assert_float_equal(v[0]->rating, 0, 0);
    assert_int_equal(v[0]->type, RECSYS__V1__EVENT_TYPE__EVENT_TYPE_VIEW);
    arena_free(&a);
    gw_catalog_free(c);

    c = load();
    assert_true(c->scale_negatives);
    arena_init(&a);
    assert_int_equal(gw_history_build(&h, c, "u1", NULL, 0, NULL, 0, &a, &err), 0);
    Recsys__V1__HistoryEvent again = ev("m2", 1), low = ev("m4", 1.5), *req2[] = {&again, &low};
    assert_int_equal(gw_history_build(&h, c, "u1", req2, 2, NULL, 0, &a, &err), 0);
    neg = gw_history_negatives(&h, c, &a, &nneg);
    assert_int_equal(nneg, 2); /* m2 (stored 2 and again 1: counted once) and m4 */
    neg = gw_history_negatives(&h, c, &a, NULL);
    assert_int_equal(neg[gw_catalog_find(c, "m2")], 1);
    assert_int_equal(neg[gw_catalog_find(c, "m1")], 0);
    v = gw_history_for_content(&h, c, 10, &a, &n);
    assert_float_equal(v[1]->rating, 2, 0);
    assert_int_equal(v[1]->type, RECSYS__V1__EVENT_TYPE__EVENT_TYPE_RATING);
    arena_free(&a);
    gw_catalog_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build),
        cmocka_unit_test(test_for_content),
        cmocka_unit_test(test_implicit_scale),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
