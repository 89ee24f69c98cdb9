/* test_extra_ratings.c: merging an extra ratings CSV (exported feedback)
 * into a loaded dataset: replacement, last row wins, implicit rows never
 * beating a rating, new users, errors
 * naming file:line, and the extra-ratings option through dataset_load for
 * more than one layout. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "common/data/dataset.h"

static const char items_csv[] = "item_id,title,year,genres\n"
                                "m1,Heat,1995,Action\n"
                                "m2,Up,2009,Animation\n"
                                "m3,Alien,1979,Horror\n";
static const char ratings_csv[] = "user_id,item_id,rating,timestamp\n"
                                  "u1,m1,4,100\n"
                                  "u1,m2,2,200\n"
                                  "u2,m1,5,300\n";

static dataset_t *load_plain(void)
{
    dataset_file_t files[] = {
        {"items.csv", items_csv, sizeof items_csv - 1},
        {"ratings.csv", ratings_csv, sizeof ratings_csv - 1},
    };
    dataset_t *ds = NULL;
    err_t err;
    assert_int_equal(dataset_load_files(files, 2, &ds, NULL, &err), 0);
    assert_int_equal(ds->ratings->n, 3);
    return ds;
}

/* Index of the rating of (user, item), or -1. */
static long find_rating(const dataset_t *ds, const char *user, const char *item)
{
    uint32_t u = idmap_find(ds->users, user, strlen(user));
    uint32_t i = catalog_find(ds->catalog, item, strlen(item));
    const ratings_t *r = ds->ratings;
    long at = -1;
    for (size_t k = 0; k < r->n; k++)
        if (r->user[k] == u && r->item[k] == i) {
            assert_int_equal(at, -1); /* never twice */
            at = (long)k;
        }
    return at;
}

static void test_merge_rules(void **state)
{
    (void)state;
    dataset_t *ds = load_plain();
    static const char extra[] = "user_id,item_id,rating,timestamp\n"
                                "u1,m2,3,1000\n"  /* replaces u1,m2 = 2 */
                                "u9,m3,1,1100\n"  /* new user */
                                "u9,m3,4.5,1200\n" /* same pair again: last wins */
                                "u2,m2,5,1300\n"; /* new pair of a known user */
    dataset_merge_stats_t st;
    err_t err;
    assert_int_equal(dataset_merge_ratings_buffer(ds, "fb.csv", extra, sizeof extra - 1, &st, &err), 0);
    assert_int_equal(st.rows, 4);
    assert_int_equal(st.replaced, 1);
    assert_int_equal(st.added, 2);
    assert_int_equal(st.collapsed, 1);
    assert_int_equal(st.new_users, 1);
    const ratings_t *r = ds->ratings;
    assert_int_equal(r->n, 5);
    assert_int_equal(idmap_size(ds->users), 3);
    long k = find_rating(ds, "u1", "m2");
    assert_true(k >= 0);
    assert_true(r->value[k] == 3.0f);
    assert_int_equal(ratings_ts(r, (size_t)k), 1000);
    k = find_rating(ds, "u9", "m3");
    assert_true(k >= 0);
    assert_true(r->value[k] == 4.5f);
    assert_int_equal(ratings_ts(r, (size_t)k), 1200);
    k = find_rating(ds, "u2", "m2");
    assert_true(k >= 0 && r->value[k] == 5.0f);
    /* untouched ratings keep value and order */
    assert_int_equal(find_rating(ds, "u1", "m1"), 0);
    assert_int_equal(find_rating(ds, "u2", "m1"), 1);
    assert_true(r->value[0] == 4.0f && r->value[1] == 5.0f);
    /* catalog statistics follow the merged ratings: m2 has 3 and 5 */
    uint32_t m2 = catalog_find(ds->catalog, "m2", 2);
    assert_int_equal(catalog_rating_count(ds->catalog, m2), 2);
    assert_float_equal(catalog_rating_mean(ds->catalog, m2), 4.0, 1e-6);
    assert_true(r->min == 3.0f && r->max == 5.0f);
    dataset_free(ds);
}

static void test_columns_any_order_no_ts(void **state)
{
    (void)state;
    dataset_t *ds = load_plain();
    /* aliases, other order, no timestamp column, quoted id with a comma */
    static const char extra[] = "rating,item,user\n"
                                "2.5,m1,\"x,y\"\n"
                                "1,m1,u1\n";
    dataset_merge_stats_t st;
    err_t err;
    assert_int_equal(dataset_merge_ratings_buffer(ds, "fb.csv", extra, sizeof extra - 1, &st, &err), 0);
    assert_int_equal(st.added, 1);
    assert_int_equal(st.replaced, 1);
    long k = find_rating(ds, "x,y", "m1");
    assert_true(k >= 0 && ds->ratings->value[k] == 2.5f);
    assert_int_equal(ratings_ts(ds->ratings, (size_t)k), 0);
    k = find_rating(ds, "u1", "m1");
    assert_true(k >= 0 && ds->ratings->value[k] == 1.0f);
    dataset_free(ds);
}

/* The implicit column (export-feedback: 1 = an event without a rating,
 * given --implicit-rating or --dislike-rating): per pair the latest explicit
 * row wins over implicit rows before or after it, a dataset rating beats
 * every implicit row, and an implicit row counts only for a pair without
 * any rating (the latest implicit row). */
static void test_implicit_rows(void **state)
{
    (void)state;
    dataset_t *ds = load_plain();
    static const char extra[] = "user_id,item_id,rating,timestamp,implicit\n"
                                "u1,m1,4,1000,1\n"  /* dataset u1,m1 = 4 (ts 100) stands */
                                "u1,m2,4,1001,1\n"  /* dataset u1,m2 = 2 stands */
                                "u2,m2,5,1002,0\n"  /* new explicit */
                                "u2,m2,4,1003,1\n"  /* a later implicit: 5 stands */
                                "u2,m3,1,1004,1\n"  /* implicit, */
                                "u2,m3,2.5,1005,0\n" /* then explicit: 2.5 */
                                "u2,m3,4,1006,1\n"  /* 2.5 stands */
                                "u9,m3,4,1007,1\n"  /* implicit only: */
                                "u9,m3,1,1008,1\n"  /* the latest implicit, 1 */
                                "u9,m2,3,1009,0\n"
                                "u9,m2,5,1010,0\n"; /* latest explicit: 5 */
    dataset_merge_stats_t st;
    err_t err;
    if (dataset_merge_ratings_buffer(ds, "fb.csv", extra, sizeof extra - 1, &st, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(st.rows, 11);
    assert_int_equal(st.replaced, 0);
    assert_int_equal(st.added, 4);
    assert_int_equal(st.collapsed, 5);
    assert_int_equal(st.implicit_ignored, 2);
    const ratings_t *r = ds->ratings;
    assert_int_equal(r->n, 7);
    static const struct {
        const char *user, *item;
        float value;
        int64_t ts;
    } want[] = {{"u1", "m1", 4, 100},     {"u1", "m2", 2, 200},     {"u2", "m1", 5, 300}, {"u2", "m2", 5, 1002},
                {"u2", "m3", 2.5f, 1005}, {"u9", "m3", 1, 1008}, {"u9", "m2", 5, 1010}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        long k = find_rating(ds, want[i].user, want[i].item);
        if (k < 0 || r->value[k] != want[i].value || ratings_ts(r, (size_t)k) != want[i].ts)
            fail_msg("%s,%s: want %g at %lld, got %s %g at %lld", want[i].user, want[i].item,
                     (double)want[i].value, (long long)want[i].ts, k < 0 ? "none" : "",
                     k < 0 ? 0.0 : (double)r->value[k], k < 0 ? 0LL : (long long)ratings_ts(r, (size_t)k));
    }
    /* dataset ratings the implicit rows did not touch keep their place */
    assert_int_equal(find_rating(ds, "u1", "m1"), 0);
    assert_int_equal(find_rating(ds, "u1", "m2"), 1);
    dataset_free(ds);
}

static void expect_error(const char *extra, const char *msg)
{
    dataset_t *ds = load_plain();
    err_t err;
    err.msg[0] = '\0';
    uint32_t users = idmap_size(ds->users);
    assert_int_equal(dataset_merge_ratings_buffer(ds, "fb.csv", extra, strlen(extra), NULL, &err), -1);
    if (strstr(err.msg, msg) == NULL)
        fail_msg("expected '%s' in '%s'", msg, err.msg);
    /* the ratings are untouched */
    assert_int_equal(ds->ratings->n, 3);
    assert_true(ds->ratings->value[1] == 2.0f);
    assert_true(idmap_size(ds->users) >= users);
    dataset_free(ds);
}

static void test_errors(void **state)
{
    (void)state;
    expect_error("user_id,item_id,rating\nu1,m2,1\nu1,zz,4\n",
                 "fb.csv:3: unknown item id 'zz' (not in the catalog)");
    expect_error("user_id,item_id,rating\nu1,m2,1\n\nu1,m1,four\n", "fb.csv:4: bad rating 'four'");
    expect_error("user_id,item_id,rating,timestamp\nu1,m2,1,soon\n", "fb.csv:2: bad timestamp 'soon'");
    expect_error("user_id,item_id,rating\nu1,m2\n", "fb.csv:2: expected 3 fields, found 2");
    expect_error("user_id,item_id,rating\n,m2,1\n", "fb.csv:2: empty user id");
    expect_error("user_id,item_id,rating\nu1,,1\n", "fb.csv:2: empty item id");
    expect_error("user_id,item_id,score\nu1,m2,1\n", "fb.csv:1: unknown column 'score' (expected user_id, item_id, rating, timestamp, implicit)");
    expect_error("user_id,item_id\nu1,m2\n", "fb.csv:1: header needs user_id, item_id and rating");
    expect_error("user_id,item_id,rating,user\n", "fb.csv:1: column 'user' given twice");
    expect_error("user_id,item_id,rating,implicit\nu1,m2,1,0\nu1,m1,4,yes\n",
                 "fb.csv:3: bad implicit flag 'yes' (0 or 1)");
    expect_error("", "fb.csv: empty file");
    expect_error("user_id,item_id,rating\nu1,\"m2\n", "fb.csv:2: unterminated quoted field");
}

static void test_header_only_is_no_op(void **state)
{
    (void)state;
    dataset_t *ds = load_plain();
    dataset_merge_stats_t st;
    err_t err;
    static const char extra[] = "user_id,item_id,rating,timestamp\n";
    assert_int_equal(dataset_merge_ratings_buffer(ds, "fb.csv", extra, sizeof extra - 1, &st, &err), 0);
    assert_int_equal(st.rows, 0);
    assert_int_equal(ds->ratings->n, 3);
    dataset_free(ds);
}

/* Through dataset_load and the extra-ratings option: the plain layout from a
 * directory, and the ml-csv layout from memory. */
static void test_dataset_load_option(void **state)
{
    (void)state;
    char *dir = testutil_tmpdir("extra_ratings");
    char *items = testutil_join(dir, "items.csv"), *ratings = testutil_join(dir, "ratings.csv");
    char *extra = testutil_join(dir, "feedback.csv"), *bad = testutil_join(dir, "bad.csv");
    testutil_write_file(items, items_csv, sizeof items_csv - 1);
    testutil_write_file(ratings, ratings_csv, sizeof ratings_csv - 1);
    static const char fb[] = "user_id,item_id,rating,timestamp\nnew-user,m3,5,1700000000\nu2,m1,1,1700000001\n";
    testutil_write_file(extra, fb, sizeof fb - 1);
    static const char fb_bad[] = "user_id,item_id,rating,timestamp\nnew-user,m3,5,1\nu2,m404,1,2\n";
    testutil_write_file(bad, fb_bad, sizeof fb_bad - 1);

    dataset_opts_t opts = {0};
    opts.extra_ratings = extra;
    dataset_t *ds = NULL;
    err_t err;
    assert_int_equal(dataset_load(dir, &ds, &opts, &err), 0);
    assert_int_equal(ds->ratings->n, 4);
    assert_int_not_equal(idmap_find(ds->users, "new-user", 8), IDMAP_NONE);
    long k = find_rating(ds, "u2", "m1");
    assert_true(k >= 0 && ds->ratings->value[k] == 1.0f);
    uint32_t m1 = catalog_find(ds->catalog, "m1", 2);
    assert_float_equal(catalog_rating_mean(ds->catalog, m1), 2.5, 1e-6);
    dataset_free(ds);

    opts.extra_ratings = bad;
    ds = NULL;
    assert_int_equal(dataset_load(dir, &ds, &opts, &err), -1);
    assert_null(ds);
    assert_non_null(strstr(err.msg, "bad.csv:3: unknown item id 'm404'"));

    /* skip_ratings: the extra file is not read at all */
    opts.skip_ratings = true;
    assert_int_equal(dataset_load(dir, &ds, &opts, &err), 0);
    assert_null(ds->ratings);
    dataset_free(ds);

    /* ml-csv layout (MovieLens ids) from memory */
    static const char movies[] = "movieId,title,genres\n1,Toy Story (1995),Animation\n2,Jumanji (1995),Adventure\n";
    static const char mlr[] = "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n";
    static const char fb2[] = "user_id,item_id,rating,timestamp\n1,2,3.5,1700000000\n611,1,5,1700000001\n";
    testutil_write_file(extra, fb2, sizeof fb2 - 1);
    dataset_file_t files[] = {{"movies.csv", movies, sizeof movies - 1}, {"ratings.csv", mlr, sizeof mlr - 1}};
    opts = (dataset_opts_t){0};
    opts.extra_ratings = extra;
    assert_int_equal(dataset_load_files(files, 2, &ds, &opts, &err), 0);
    assert_int_equal(ds->layout, DATASET_MLCSV);
    assert_int_equal(ds->ratings->n, 3);
    assert_int_equal(idmap_size(ds->users), 2);
    assert_int_not_equal(idmap_find(ds->users, "611", 3), IDMAP_NONE);
    dataset_free(ds);

    /* a catalog without ratings gets the extra ones alone */
    dataset_file_t cat_only[] = {{"movies.csv", movies, sizeof movies - 1}};
    opts.allow_missing_ratings = true;
    assert_int_equal(dataset_load_files(cat_only, 1, &ds, &opts, &err), 0);
    assert_non_null(ds->ratings);
    assert_int_equal(ds->ratings->n, 2);
    dataset_free(ds);

    free(items);
    free(ratings);
    free(extra);
    free(bad);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge_rules),
        cmocka_unit_test(test_columns_any_order_no_ts),
        cmocka_unit_test(test_implicit_rows),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_header_only_is_no_op),
        cmocka_unit_test(test_dataset_load_option),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
