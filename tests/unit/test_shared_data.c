/* test_shared_data.c: loads every dataset of ../shared/data and checks each
 * count that shared/data/README.md states (skips when the data is absent). */
#include "testutil.h"
#include "common/base/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/data/dataset.h"

/* Load time of every dataset in this run, reported at the end. */
typedef struct timing {
    double total;
} timing_t;

static dataset_t *load(const char *rel, const dataset_opts_t *opts, double *secs)
{
    char *path = testutil_shared_or_skip(rel);
    dataset_t *ds = NULL;
    err_t err;
    double t0 = clock_mono_sec();
    if (dataset_load(path, &ds, opts, &err) != 0)
        fail_msg("%s: %s", path, err.msg);
    *secs = clock_mono_sec() - t0;
    fprintf(stderr, "loaded %s in %.3f s\n", rel, *secs);
    free(path);
    return ds;
}

static uint32_t find(const dataset_t *ds, const char *id)
{
    uint32_t i = catalog_find(ds->catalog, id, strlen(id));
    assert_int_not_equal(i, IDMAP_NONE);
    return i;
}

static uint32_t count_title(const catalog_t *c, const char *title)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < catalog_size(c); i++)
        n += strcmp(catalog_title(c, i), title) == 0;
    return n;
}

static void test_ml_latest_small(void **state)
{
    timing_t *t = *state;
    double s;
    dataset_t *ds = load("data/ml-latest-small", NULL, &s);
    t->total += s;
    const catalog_t *c = ds->catalog;
    assert_int_equal(ds->layout, DATASET_MLCSV);
    assert_int_equal(ds->ratings->n, 100836);
    assert_int_equal(ratings_count_users(ds->ratings), 610);
    assert_int_equal(idmap_size(ds->users), 610);
    assert_int_equal(ratings_count_items(ds->ratings), 9724);
    assert_int_equal(catalog_size(c), 9742);
    assert_true(ds->ratings->min == 0.5f && ds->ratings->max == 5.0f);
    /* 20 labels in movies.csv: 19 genres plus "(no genres listed)", which
     * means none (dataset.h) */
    assert_int_equal(catalog_ngenres(c), 19);
    assert_int_equal(catalog_genre_find(c, "(no genres listed)", 18), IDMAP_NONE);
    assert_int_not_equal(catalog_genre_find(c, "IMAX", 4), IDMAP_NONE);
    uint32_t none = 0, rated = 0;
    for (uint32_t i = 0; i < catalog_size(c); i++) {
        none += catalog_item_ngenres(c, i) == 0;
        rated += catalog_rating_count(c, i) > 0;
    }
    assert_int_equal(none, 34);
    assert_int_equal(rated, 9724);
    assert_int_equal(ds->tag_rows, 3683);
    assert_int_equal(catalog_tag_applications(c), 3683);
    assert_int_equal(ds->link_rows, 9742);
    assert_int_equal(ds->links_without_tmdb, 8);
    uint32_t toy = find(ds, "1");
    assert_string_equal(catalog_title(c, toy), "Toy Story (1995)");
    assert_int_equal(catalog_year(c, toy), 1995);
    assert_int_equal(catalog_imdb_id(c, toy), 114709);
    assert_int_equal(catalog_tmdb_id(c, toy), 862);
    assert_string_equal(catalog_title(c, find(ds, "11")), "American President, The (1995)");
    assert_int_equal(catalog_year(c, find(ds, "171749")), 2006); /* "(2006–2007)" */
    dataset_free(ds);
}

/* ml-latest-small --tmdb tmdb-5000 (no credits file): the join numbers
 * bench/tmdb_join.md and data/README state, and Toy Story's metadata. */
static void test_ml_latest_small_tmdb(void **state)
{
    timing_t *t = *state;
    char *tmdb = testutil_shared_or_skip("data/tmdb-5000");
    dataset_opts_t o = {.tmdb = tmdb};
    double s;
    dataset_t *ds = load("data/ml-latest-small", &o, &s);
    t->total += s;
    const catalog_t *c = ds->catalog;
    const dataset_tmdb_join_t *j = &ds->tmdb;
    assert_true(j->joined);
    assert_false(j->credits);
    assert_int_equal(j->records, 4803);
    assert_int_equal(j->linked, 9734);      /* 9742 links, 8 without tmdbId */
    assert_int_equal(j->matched, 3537);     /* catalog items joined */
    assert_int_equal(j->records_used, 3536);
    assert_int_equal(j->shared, 2);         /* 6003 and 144606 are both TMDB 4912 */
    assert_int_equal(j->rated_items, 9724);
    assert_int_equal(j->rated_matched, 3536);
    assert_int_equal(j->ratings, 100836);
    assert_int_equal(j->ratings_covered, 70194);
    assert_int_equal(j->with_overview, 3537);
    assert_int_equal(j->with_cast + j->with_directors, 0);
    uint32_t toy = find(ds, "1");
    assert_string_equal(catalog_title(c, toy), "Toy Story (1995)");
    assert_int_equal(catalog_item_ngenres(c, toy), 5); /* MovieLens genres kept */
    assert_true(strncmp(catalog_overview(c, toy), "Led by Woody, Andy's toys live happily", 38) == 0);
    assert_true(catalog_list_len(c, toy, CATALOG_KEYWORDS) >= 3);
    assert_string_equal(catalog_list_at(c, toy, CATALOG_KEYWORDS, 0), "jealousy");
    assert_string_equal(catalog_list_at(c, toy, CATALOG_KEYWORDS, 1), "toy");
    assert_int_equal(catalog_vote_count(c, toy) > 0, 1);
    const char *ov = catalog_overview(c, find(ds, "6003"));
    assert_true(ov[0] != '\0');
    assert_string_equal(catalog_overview(c, find(ds, "144606")), ov);
    assert_int_equal(catalog_ngenres(c), 19);
    free(tmdb);
    dataset_free(ds);
}

static void test_ml100k(void **state)
{
    timing_t *t = *state;
    double s;
    dataset_t *ds = load("data/ml-100k", NULL, &s);
    t->total += s;
    const catalog_t *c = ds->catalog;
    assert_int_equal(ds->layout, DATASET_ML100K);
    assert_true(ds->converted_latin1);
    assert_int_equal(ds->ratings->n, 100000);
    assert_int_equal(ratings_count_users(ds->ratings), 943);
    assert_int_equal(catalog_size(c), 1682);
    assert_int_equal(ratings_count_items(ds->ratings), 1682);
    assert_int_equal(catalog_ngenres(c), 19);
    assert_true(ds->ratings->min == 1.0f && ds->ratings->max == 5.0f);
    assert_string_equal(catalog_title(c, find(ds, "543")), "Mis\xc3\xa9rables, Les (1995)");
    uint32_t unk = find(ds, "267");
    assert_string_equal(catalog_title(c, unk), "unknown");
    assert_int_equal(catalog_year(c, unk), 0);
    /* 18 titles listed twice stay 36 distinct items */
    assert_int_equal(count_title(c, "Chasing Amy (1997)"), 2);
    uint32_t twice = 0;
    for (uint32_t i = 0; i < catalog_size(c); i++)
        twice += count_title(c, catalog_title(c, i)) == 2;
    assert_int_equal(twice, 36);

    static const struct {
        const char *name;
        size_t rows;
    } splits[] = {{"ua.base", 90570}, {"ua.test", 9430}, {"ub.base", 90570}, {"ub.test", 9430},
                  {"u1.base", 80000}, {"u1.test", 20000}, {"u5.test", 20000}};
    for (size_t k = 0; k < sizeof splits / sizeof splits[0]; k++) {
        ratings_t *r;
        err_t err;
        if (dataset_load_ratings_file(ds, splits[k].name, &r, &err) != 0)
            fail_msg("%s", err.msg);
        assert_int_equal(r->n, splits[k].rows);
        ratings_free(r);
    }
    assert_int_equal(idmap_size(ds->users), 943); /* splits add no user */
    dataset_free(ds);
}

static void test_ml1m(void **state)
{
    timing_t *t = *state;
    char *path = testutil_shared_or_skip("data/ml-1m");
    dataset_t *ds;
    err_t err;
    assert_int_equal(dataset_load(path, &ds, NULL, &err), -1);
    assert_string_equal(err.msg, "ratings.dat: missing: layout ml-dat has no ratings without it "
                                 "(allow-missing-ratings loads the catalog alone)");
    free(path);
    dataset_opts_t o = {.allow_missing_ratings = true};
    double s;
    ds = load("data/ml-1m", &o, &s);
    t->total += s;
    const catalog_t *c = ds->catalog;
    assert_int_equal(ds->layout, DATASET_MLDAT);
    assert_null(ds->ratings);
    assert_string_equal(ds->ratings_note, "no ratings: ratings.dat is missing (catalog only)");
    assert_true(ds->converted_latin1);
    assert_int_equal(catalog_size(c), 3883);
    uint64_t max = 0;
    for (uint32_t i = 0; i < catalog_size(c); i++) {
        uint64_t v = strtoull(catalog_id(c, i), NULL, 10);
        max = v > max ? v : max;
    }
    assert_int_equal(max, 3952);
    assert_int_equal(catalog_ngenres(c), 18);
    assert_string_equal(catalog_title(c, find(ds, "1320")), "Alien\xc2\xb3 (1992)");
    dataset_free(ds);
}

static void test_tmdb(void **state)
{
    timing_t *t = *state;
    double s;
    dataset_t *ds = load("data/tmdb-5000", NULL, &s);
    t->total += s;
    const catalog_t *c = ds->catalog;
    assert_int_equal(ds->layout, DATASET_TMDB);
    assert_false(ds->has_credits);
    assert_null(ds->ratings);
    assert_int_equal(catalog_size(c), 4803);
    assert_int_equal(catalog_ngenres(c), 20);
    uint32_t empty_ov = 0, cr = 0, empty_kw = 0, year = 0;
    uint64_t kw = 0;
    for (uint32_t i = 0; i < catalog_size(c); i++) {
        const char *ov = catalog_overview(c, i);
        empty_ov += ov[0] == '\0';
        cr += strchr(ov, '\r') != NULL;
        empty_kw += catalog_list_len(c, i, CATALOG_KEYWORDS) == 0;
        kw += catalog_list_len(c, i, CATALOG_KEYWORDS);
        year += catalog_year(c, i) != 0;
    }
    assert_int_equal(empty_ov, 3);
    assert_int_equal(cr, 3);
    assert_non_null(strchr(catalog_overview(c, find(ds, "11891")), '\r'));
    assert_non_null(strchr(catalog_overview(c, find(ds, "11342")), '\r'));
    assert_non_null(strchr(catalog_overview(c, find(ds, "25248")), '\r'));
    assert_int_equal(empty_kw, 412);
    assert_int_equal(kw, 36194);
    assert_int_equal(year, 4802); /* one empty release_date */
    assert_int_equal(count_title(c, "The Host"), 2);
    assert_int_equal(count_title(c, "Batman"), 2);
    assert_int_equal(count_title(c, "Out of the Blue"), 2);
    uint32_t av = find(ds, "19995");
    assert_string_equal(catalog_title(c, av), "Avatar");
    assert_int_equal(catalog_year(c, av), 2009);
    assert_string_equal(catalog_genre_name(c, catalog_item_genre(c, av, 3)), "Science Fiction");
    dataset_free(ds);
}

static void test_seed_tags(void **state)
{
    timing_t *t = *state;
    char *path = testutil_shared_or_skip("data/tmdb-5000-seed-tags/processed_movies.csv");
    dataset_seed_tags_t *st;
    err_t err;
    double t0 = clock_mono_sec();
    if (dataset_seed_tags_read(path, &st, &err) != 0)
        fail_msg("%s", err.msg);
    t->total += clock_mono_sec() - t0;
    assert_int_equal(st->n, 4806);
    assert_string_equal(st->rows[0].movie_id, "19995");
    assert_string_equal(st->rows[0].title, "Avatar");
    assert_true(strncmp(st->rows[0].tags, "in the 22nd century, a paraplegic marine", 40) == 0);
    assert_string_equal(st->rows[4805].movie_id, "25975");
    uint32_t dups = 0;
    for (size_t i = 0; i < st->n; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(st->rows[i].movie_id, st->rows[j].movie_id) == 0) {
                dups++;
                break;
            }
    assert_int_equal(dups, 6);
    dataset_seed_tags_free(st);
    free(path);

    /* the directory alone is not a dataset: the message says what it is */
    char *dir = testutil_shared_or_skip("data/tmdb-5000-seed-tags");
    dataset_t *ds;
    assert_int_equal(dataset_load(dir, &ds, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "seed-tags table"));
    free(dir);
}

static int setup(void **state)
{
    *state = calloc(1, sizeof(timing_t));
    return 0;
}

static int teardown(void **state)
{
    timing_t *t = *state;
    fprintf(stderr, "all shared datasets loaded in %.3f s\n", t->total);
    /* generous bound: a release build takes well under a second */
    assert_true(t->total < 30.0);
    free(t);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ml_latest_small), cmocka_unit_test(test_ml100k),
        cmocka_unit_test(test_ml1m),            cmocka_unit_test(test_tmdb),
        cmocka_unit_test(test_seed_tags),       cmocka_unit_test(test_ml_latest_small_tmdb),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
