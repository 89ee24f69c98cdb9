/* test_tmdb_join.c: the --tmdb join (dataset.h, "Joining TMDB 5000") over
 * small fixtures, in a temp dir and in memory: matched and unmatched items,
 * a TMDB id linked by two items, credits present and absent, a missing file,
 * malformed JSON lists, layouts without links, the option table, and the
 * join statistics. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base/config.h"
#include "common/data/catalog.h"
#include "common/data/dataset.h"

static void put(const char *dir, const char *name, const char *data)
{
    char *p = testutil_join(dir, name);
    testutil_write_file(p, data, strlen(data));
    free(p);
}

static void rm(const char *dir, const char *name)
{
    char *p = testutil_join(dir, name);
    remove(p);
    free(p);
}

static uint32_t find(const dataset_t *ds, const char *id)
{
    uint32_t i = catalog_find(ds->catalog, id, strlen(id));
    assert_int_not_equal(i, IDMAP_NONE);
    return i;
}

/* MovieLens side: 1 and 5 link to TMDB 862 / 4912, 6 links to 4912 too
 * (duplicate), 7 links to a TMDB id absent from the TMDB file, 8 has no
 * tmdbId, 9 has no year in its title. */
static const char ml_movies[] = "movieId,title,genres\r\n"
                                "1,Toy Story (1995),Adventure|Animation|Children\r\n"
                                "5,Confessions of a Dangerous Mind (2002),Comedy|Crime\r\n"
                                "6,Confessions of a Dangerous Mind (2002),Comedy|Romance\r\n"
                                "7,Unknown to TMDB (1990),Drama\r\n"
                                "8,No Link (1999),Horror\r\n"
                                "9,Yearless,Drama\r\n";
static const char ml_ratings[] = "userId,movieId,rating,timestamp\r\n"
                                 "1,1,4.0,1\r\n2,1,5.0,2\r\n3,1,3.0,3\r\n"
                                 "1,5,4.0,4\r\n1,7,2.0,5\r\n2,8,1.0,6\r\n1,9,3.5,7\r\n";
static const char ml_links[] = "movieId,imdbId,tmdbId\r\n"
                               "1,0114709,862\r\n5,0270288,4912\r\n6,0270288,4912\r\n"
                               "7,0000001,999999\r\n8,0000002,\r\n9,0000003,77\r\n";
static const char ml_tags[] = "userId,movieId,tag,timestamp\r\n1,1,pixar,1\r\n";

/* TMDB side: 862, 4912, 77 (for the yearless item) and 500 that no item links. */
static const char tm_movies[] =
    "budget,genres,id,keywords,overview,release_date,title,vote_average,vote_count,popularity\n"
    "30000000,\"[{\"\"id\"\": 16, \"\"name\"\": \"\"Animation\"\"}]\",862,"
    "\"[{\"\"id\"\": 931, \"\"name\"\": \"\"jealousy\"\"}, {\"\"id\"\": 4290, \"\"name\"\": \"\"toy\"\"}]\","
    "\"Led by Woody, Andy's toys live happily.\",1995-10-30,Toy Story,7.7,5269,73.6\n"
    "0,[],4912,\"[{\"\"id\"\": 4688, \"\"name\"\": \"\"microfilm\"\"}]\",\"CIA assassin by night.\","
    "2002-12-30,Confessions of a Dangerous Mind,6.6,281,13.6\n"
    "0,[],77,[],Memento overview.,2000-10-11,Memento,8.1,4560,9.5\n"
    "0,[],500,\"[{\"\"id\"\": 1, \"\"name\"\": \"\"heist\"\"}]\",Unlinked.,1992-09-02,Reservoir "
    "Dogs,7.9,3697,8.1\n";

static const char tm_credits[] =
    "movie_id,title,cast,crew\n"
    "862,Toy Story,\"[{\"\"name\"\": \"\"Tim Allen\"\", \"\"order\"\": 1}, "
    "{\"\"name\"\": \"\"Tom Hanks\"\", \"\"order\"\": 0}, {\"\"name\"\": \"\"Don Rickles\"\", \"\"order\"\": "
    "2}]\","
    "\"[{\"\"job\"\": \"\"Director\"\", \"\"name\"\": \"\"John Lasseter\"\"}]\"\n"
    "4912,Confessions,\"[{\"\"name\"\": \"\"Sam Rockwell\"\", \"\"order\"\": 0}]\","
    "\"[{\"\"job\"\": \"\"Director\"\", \"\"name\"\": \"\"George Clooney\"\"}]\"\n";

static char *ml_dir(const char *name)
{
    char *dir = testutil_tmpdir(name);
    put(dir, "movies.csv", ml_movies);
    put(dir, "ratings.csv", ml_ratings);
    put(dir, "links.csv", ml_links);
    put(dir, "tags.csv", ml_tags);
    return dir;
}

static dataset_t *load_ok(const char *path, const dataset_opts_t *opts)
{
    dataset_t *ds = NULL;
    err_t err;
    if (dataset_load(path, &ds, opts, &err) != 0)
        fail_msg("dataset_load(%s): %s", path, err.msg);
    return ds;
}

static void load_err(const char *path, const dataset_opts_t *opts, const char *want)
{
    dataset_t *ds = NULL;
    err_t err;
    assert_int_equal(dataset_load(path, &ds, opts, &err), -1);
    assert_null(ds);
    assert_string_equal(err.msg, want);
}

static void test_join_without_credits(void **state)
{
    (void)state;
    char *ml = ml_dir("tj-ml"), *tm = testutil_tmpdir("tj-tmdb");
    put(tm, "tmdb_5000_movies.csv", tm_movies);
    dataset_opts_t o = {.tmdb = tm};
    dataset_t *ds = load_ok(ml, &o);
    const catalog_t *c = ds->catalog;
    assert_int_equal(catalog_size(c), 6); /* TMDB 500 is not added */
    assert_int_equal(catalog_find(c, "500", 3), IDMAP_NONE);

    /* matched: overview, keywords, votes; MovieLens title, genres, tags stay */
    uint32_t toy = find(ds, "1");
    assert_string_equal(catalog_title(c, toy), "Toy Story (1995)");
    assert_string_equal(catalog_overview(c, toy), "Led by Woody, Andy's toys live happily.");
    assert_int_equal(catalog_list_len(c, toy, CATALOG_KEYWORDS), 2);
    assert_string_equal(catalog_list_at(c, toy, CATALOG_KEYWORDS, 0), "jealousy");
    assert_string_equal(catalog_list_at(c, toy, CATALOG_KEYWORDS, 1), "toy");
    assert_int_equal(catalog_item_ngenres(c, toy), 3);
    assert_string_equal(catalog_genre_name(c, catalog_item_genre(c, toy, 0)), "Adventure");
    assert_int_equal(catalog_genre_find(c, "Animation", 9) != IDMAP_NONE, 1);
    assert_int_equal(catalog_ngenres(c), 8); /* MovieLens genres only */
    assert_int_equal(catalog_ntags(c, toy), 1);
    assert_true(catalog_vote_average(c, toy) == 7.7f);
    assert_int_equal(catalog_vote_count(c, toy), 5269);
    assert_int_equal(catalog_year(c, toy), 1995);
    /* no credits file: no cast, no directors */
    assert_int_equal(catalog_list_len(c, toy, CATALOG_CAST), 0);
    assert_int_equal(catalog_list_len(c, toy, CATALOG_DIRECTORS), 0);

    /* one TMDB id, two items: both joined, each keeps its own genres */
    uint32_t a = find(ds, "5"), b = find(ds, "6");
    assert_string_equal(catalog_overview(c, a), "CIA assassin by night.");
    assert_string_equal(catalog_overview(c, b), "CIA assassin by night.");
    assert_string_equal(catalog_list_at(c, b, CATALOG_KEYWORDS, 0), "microfilm");
    assert_string_equal(catalog_genre_name(c, catalog_item_genre(c, b, 1)), "Romance");

    /* unmatched and unlinked items keep their MovieLens data */
    for (const char *const *id = (const char *const[]){"7", "8", NULL}; *id; id++) {
        uint32_t i = find(ds, *id);
        assert_string_equal(catalog_overview(c, i), "");
        assert_int_equal(catalog_list_len(c, i, CATALOG_KEYWORDS), 0);
        assert_int_equal(catalog_vote_count(c, i), 0);
        assert_int_equal(catalog_item_ngenres(c, i), 1);
    }
    /* a title without a year takes TMDB's release year */
    assert_int_equal(catalog_year(c, find(ds, "9")), 2000);

    const dataset_tmdb_join_t *t = &ds->tmdb;
    assert_true(t->joined);
    assert_false(t->credits);
    assert_int_equal(t->records, 4);
    assert_int_equal(t->linked, 5); /* 8 has no tmdbId */
    assert_int_equal(t->matched, 4);
    assert_int_equal(t->records_used, 3);
    assert_int_equal(t->shared, 2);
    assert_int_equal(t->with_overview, 4);
    assert_int_equal(t->with_keywords, 3);
    assert_int_equal(t->with_cast, 0);
    assert_int_equal(t->with_directors, 0);
    assert_int_equal(t->rated_items, 5); /* 1 5 7 8 9 */
    assert_int_equal(t->rated_matched, 3);
    assert_int_equal(t->ratings, 7);
    assert_int_equal(t->ratings_covered, 5);
    dataset_free(ds);

    /* without --tmdb nothing changes and no statistics */
    ds = load_ok(ml, NULL);
    assert_false(ds->tmdb.joined);
    assert_string_equal(catalog_overview(ds->catalog, find(ds, "1")), "");
    assert_int_equal(catalog_year(ds->catalog, find(ds, "9")), 0);
    dataset_free(ds);
    free(ml);
    free(tm);
}

/* --tmdb-tags: without a credits file, the seed-tags row of each record
 * gives its cast (and director when four names follow its overview, genre
 * and keyword tokens); the first row of a repeated movie_id counts; a row
 * that does not fit its record is skipped and counted. */
static void test_join_seed_tags(void **state)
{
    (void)state;
    char *ml = ml_dir("tj-st-ml"), *tm = testutil_tmpdir("tj-st-tmdb");
    put(tm, "tmdb_5000_movies.csv", tm_movies);
    put(tm, "processed_movies.csv",
        "movie_id,title,tags\n"
        "862,Toy Story,\"led by woody, andy's toys live happily. animation jealousy toy tomhanks "
        "timallen donrickles johnlasseter\"\n"
        "4912,Confessions,cia assassin by night.\u00a0microfilm samrockwell\n"
        "4912,Confessions,cia assassin by night. microfilm someoneelse otherperson\n"
        "77,Memento,memento overview. a b c d e\n");
    char *tags = testutil_join(tm, "processed_movies.csv");
    dataset_opts_t o = {.tmdb = tm, .tmdb_tags = tags};
    dataset_t *ds = load_ok(ml, &o);
    const catalog_t *c = ds->catalog;
    uint32_t toy = find(ds, "1");
    assert_int_equal(catalog_list_len(c, toy, CATALOG_CAST), 3);
    assert_string_equal(catalog_list_at(c, toy, CATALOG_CAST, 0), "tomhanks");
    assert_string_equal(catalog_list_at(c, toy, CATALOG_CAST, 2), "donrickles");
    assert_int_equal(catalog_list_len(c, toy, CATALOG_DIRECTORS), 1);
    assert_string_equal(catalog_list_at(c, toy, CATALOG_DIRECTORS, 0), "johnlasseter");
    /* one name after the tokens: cast, no director; the repeated row ignored;
     * U+00A0 separates tokens as Python's str.split() does */
    for (const char *const *id = (const char *const[]){"5", "6", NULL}; *id; id++) {
        uint32_t i = find(ds, *id);
        assert_int_equal(catalog_list_len(c, i, CATALOG_CAST), 1);
        assert_string_equal(catalog_list_at(c, i, CATALOG_CAST, 0), "samrockwell");
        assert_int_equal(catalog_list_len(c, i, CATALOG_DIRECTORS), 0);
    }
    /* five tokens after Memento's: not this record's credits */
    assert_int_equal(catalog_list_len(c, find(ds, "9"), CATALOG_CAST), 0);
    const dataset_tmdb_join_t *t = &ds->tmdb;
    assert_true(t->tags);
    assert_false(t->credits);
    assert_int_equal(t->tags_used, 4); /* 1, 5, 6, 9 */
    assert_int_equal(t->tags_mismatched, 1);
    assert_int_equal(t->with_cast, 3);
    assert_int_equal(t->with_directors, 1);
    dataset_free(ds);

    /* max_cast applies; the director is kept */
    o.max_cast = 1;
    ds = load_ok(ml, &o);
    assert_int_equal(catalog_list_len(ds->catalog, find(ds, "1"), CATALOG_CAST), 1);
    assert_int_equal(catalog_list_len(ds->catalog, find(ds, "1"), CATALOG_DIRECTORS), 1);
    dataset_free(ds);
    o.max_cast = 0;

    /* the token after the overview is not the record's first genre */
    put(tm, "processed_movies.csv",
        "movie_id,title,tags\n862,Toy Story,\"led by woody, andy's toys live happily. comedy jealousy toy a\"\n");
    ds = load_ok(ml, &o);
    assert_int_equal(catalog_list_len(ds->catalog, find(ds, "1"), CATALOG_CAST), 0);
    assert_int_equal(ds->tmdb.tags_mismatched, 1);
    dataset_free(ds);

    /* a credits file wins: the tags are not read */
    put(tm, "tmdb_5000_credits.csv", tm_credits);
    ds = load_ok(ml, &o);
    assert_true(ds->tmdb.credits);
    assert_false(ds->tmdb.tags);
    assert_string_equal(catalog_list_at(ds->catalog, find(ds, "1"), CATALOG_CAST, 0), "Tom Hanks");
    dataset_free(ds);
    rm(tm, "tmdb_5000_credits.csv");

    /* errors: the tags without --tmdb; a missing tags file */
    dataset_opts_t only = {.tmdb_tags = tags};
    char want[1024];
    snprintf(want, sizeof want,
             "tmdb-tags %s: given without --tmdb (the tags only add credits to a TMDB join)", tags);
    load_err(ml, &only, want);
    rm(tm, "processed_movies.csv");
    dataset_t *none = NULL;
    err_t err;
    assert_int_equal(dataset_load(ml, &none, &o, &err), -1);
    assert_non_null(strstr(err.msg, "tmdb-tags"));
    assert_non_null(strstr(err.msg, "processed_movies.csv"));
    free(tags);
    free(ml);
    free(tm);
}

static void test_join_with_credits(void **state)
{
    (void)state;
    char *ml = ml_dir("tj-ml2"), *tm = testutil_tmpdir("tj-tmdb2");
    put(tm, "tmdb_5000_movies.csv", tm_movies);
    put(tm, "tmdb_5000_credits.csv", tm_credits);
    dataset_opts_t o = {.tmdb = tm};
    dataset_t *ds = load_ok(ml, &o);
    const catalog_t *c = ds->catalog;
    uint32_t toy = find(ds, "1");
    assert_int_equal(catalog_list_len(c, toy, CATALOG_CAST), 3);
    assert_string_equal(catalog_list_at(c, toy, CATALOG_CAST, 0), "Tom Hanks");
    assert_string_equal(catalog_list_at(c, toy, CATALOG_CAST, 1), "Tim Allen");
    assert_string_equal(catalog_list_at(c, toy, CATALOG_DIRECTORS, 0), "John Lasseter");
    for (const char *const *id = (const char *const[]){"5", "6", NULL}; *id; id++) {
        uint32_t i = find(ds, *id);
        assert_string_equal(catalog_list_at(c, i, CATALOG_CAST, 0), "Sam Rockwell");
        assert_string_equal(catalog_list_at(c, i, CATALOG_DIRECTORS, 0), "George Clooney");
    }
    assert_int_equal(catalog_list_len(c, find(ds, "9"), CATALOG_CAST), 0); /* no credits row */
    assert_int_equal(catalog_list_len(c, find(ds, "7"), CATALOG_CAST), 0);
    assert_true(ds->tmdb.credits);
    assert_int_equal(ds->tmdb.with_cast, 3);
    assert_int_equal(ds->tmdb.with_directors, 3);
    dataset_free(ds);

    /* max_cast applies to the joined cast */
    o.max_cast = 2;
    ds = load_ok(ml, &o);
    assert_int_equal(catalog_list_len(ds->catalog, find(ds, "1"), CATALOG_CAST), 2);
    dataset_free(ds);

    /* catalog only (skip_ratings): joined, coverage zero */
    dataset_opts_t s = {.tmdb = tm, .skip_ratings = true};
    ds = load_ok(ml, &s);
    assert_null(ds->ratings);
    assert_int_equal(ds->tmdb.matched, 4);
    assert_int_equal(ds->tmdb.ratings, 0);
    dataset_free(ds);
    free(ml);
    free(tm);
}

static void test_join_errors(void **state)
{
    (void)state;
    char *ml = ml_dir("tj-ml3"), *tm = testutil_tmpdir("tj-tmdb3");
    dataset_opts_t o = {.tmdb = tm};
    char want[1024];

    /* missing movies file (an empty or wrong directory) */
    snprintf(want, sizeof want, "tmdb %s: tmdb_5000_movies.csv: No such file or directory", tm);
    load_err(ml, &o, want);

    /* malformed JSON list in the movies file, then in the credits file */
    put(tm, "tmdb_5000_movies.csv",
        "id,title,keywords\n862,Toy Story,[]\n4912,X,\"[{\"\"name\"\": \"\"x\"\"\"\n");
    snprintf(want, sizeof want, "tmdb %s: tmdb_5000_movies.csv:3: keywords: not a JSON array", tm);
    load_err(ml, &o, want);
    put(tm, "tmdb_5000_movies.csv", "id,title,keywords\n862,Toy Story,\"[{\"\"id\"\": 1}]\"\n");
    snprintf(want, sizeof want,
             "tmdb %s: tmdb_5000_movies.csv:2: keywords: an element has no string \"name\"", tm);
    load_err(ml, &o, want);
    put(tm, "tmdb_5000_movies.csv", tm_movies);
    put(tm, "tmdb_5000_credits.csv", "movie_id,title,cast,crew\n862,T,\"{\"\"a\"\": 1}\",[]\n");
    snprintf(want, sizeof want, "tmdb %s: tmdb_5000_credits.csv:2: cast: not a JSON array", tm);
    load_err(ml, &o, want);
    put(tm, "tmdb_5000_credits.csv", "movie_id,title,cast,crew\n862,T,[],[]\n862,T,[],[]\n");
    snprintf(want, sizeof want, "tmdb %s: tmdb_5000_credits.csv:3: second credits row for movie_id '862'",
             tm);
    load_err(ml, &o, want);
    put(tm, "tmdb_5000_movies.csv", "id,title\n862,Toy Story\n862,Again\n");
    rm(tm, "tmdb_5000_credits.csv");
    snprintf(want, sizeof want, "tmdb %s: tmdb_5000_movies.csv:3: duplicate item id '862'", tm);
    load_err(ml, &o, want);
    put(tm, "tmdb_5000_movies.csv", tm_movies);

    /* no links.csv to join on */
    rm(ml, "links.csv");
    snprintf(want, sizeof want,
             "tmdb %s: the dataset has no links.csv rows (movieId,imdbId,tmdbId) to join on", tm);
    load_err(ml, &o, want);

    /* layouts without links: ml-100k, plain, tmdb-5000 itself */
    char *pl = testutil_tmpdir("tj-plain");
    put(pl, "ratings.csv", "user_id,item_id,rating\nu1,m1,4\n");
    snprintf(want, sizeof want,
             "tmdb %s: layout plain has no links to TMDB ids; the join needs a MovieLens CSV "
             "dataset with links.csv (movieId,imdbId,tmdbId)",
             tm);
    load_err(pl, &o, want);
    snprintf(want, sizeof want,
             "tmdb %s: layout tmdb-5000 has no links to TMDB ids; the join needs a MovieLens "
             "CSV dataset with links.csv (movieId,imdbId,tmdbId)",
             tm);
    load_err(tm, &o, want);
    char *hk = testutil_tmpdir("tj-100k");
    put(hk, "u.item", "1|Toy Story (1995)|01-Jan-1995||http://x|0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0\n");
    put(hk, "u.genre",
        "unknown|0\nAction|1\nAdventure|2\nAnimation|3\nChildren's|4\nComedy|5\n"
        "Crime|6\nDocumentary|7\nDrama|8\nFantasy|9\nFilm-Noir|10\nHorror|11\n"
        "Musical|12\nMystery|13\nRomance|14\nSci-Fi|15\nThriller|16\nWar|17\n"
        "Western|18\n");
    put(hk, "u.data", "1\t1\t5\t874965758\n");
    snprintf(want, sizeof want,
             "tmdb %s: layout ml-100k has no links to TMDB ids; the join needs a MovieLens CSV "
             "dataset with links.csv (movieId,imdbId,tmdbId)",
             tm);
    load_err(hk, &o, want);
    /* the same without --tmdb loads */
    dataset_t *ds = load_ok(hk, NULL);
    dataset_free(ds);
    free(hk);
    free(pl);
    free(ml);
    free(tm);
}

static void test_join_in_memory(void **state)
{
    (void)state;
    dataset_file_t files[] = {{"movies.csv", ml_movies, sizeof ml_movies - 1},
                              {"links.csv", ml_links, sizeof ml_links - 1}};
    dataset_file_t tfiles[] = {{"tmdb_5000_movies.csv", tm_movies, sizeof tm_movies - 1},
                               {"tmdb_5000_credits.csv", tm_credits, sizeof tm_credits - 1}};
    dataset_opts_t o = {.allow_missing_ratings = true, .tmdb_files = tfiles, .tmdb_nfiles = 2};
    dataset_t *ds;
    err_t err;
    if (dataset_load_files(files, 2, &ds, &o, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(ds->tmdb.matched, 4);
    assert_true(ds->tmdb.credits);
    assert_string_equal(catalog_list_at(ds->catalog, find(ds, "6"), CATALOG_CAST, 0), "Sam Rockwell");
    dataset_free(ds);
    o.tmdb_nfiles = 0; /* neither files nor a directory: no join */
    if (dataset_load_files(files, 2, &ds, &o, &err) != 0)
        fail_msg("%s", err.msg);
    assert_false(ds->tmdb.joined);
    dataset_free(ds);
    o.tmdb_files = tfiles + 1; /* credits without movies */
    o.tmdb_nfiles = 1;
    assert_int_equal(dataset_load_files(files, 2, &ds, &o, &err), -1);
    assert_string_equal(err.msg, "tmdb (memory): tmdb_5000_movies.csv: missing");
    /* processed_movies.csv in the in-memory directory stands for --tmdb-tags */
    static const char tags[] = "movie_id,title,tags\n4912,C,cia assassin by night. microfilm samrockwell\n";
    dataset_file_t tagged[] = {{"tmdb_5000_movies.csv", tm_movies, sizeof tm_movies - 1},
                               {"processed_movies.csv", tags, sizeof tags - 1}};
    o.tmdb_files = tagged;
    o.tmdb_nfiles = 2;
    if (dataset_load_files(files, 2, &ds, &o, &err) != 0)
        fail_msg("%s", err.msg);
    assert_true(ds->tmdb.tags);
    assert_string_equal(catalog_list_at(ds->catalog, find(ds, "6"), CATALOG_CAST, 0), "samrockwell");
    dataset_free(ds);
}

static void test_option(void **state)
{
    (void)state;
    cfg_t *cfg = cfg_new("t", "", "");
    err_t err;
    assert_int_equal(cfg_add(cfg, "data", dataset_options, &err), 0);
    char *argv[] = {"t", "--tmdb", "/some/tmdb-5000", NULL};
    assert_int_equal(cfg_parse(cfg, 3, argv, &err), 0);
    dataset_opts_t o;
    dataset_opts_from_cfg(cfg, &o);
    assert_string_equal(o.tmdb, "/some/tmdb-5000");
    cfg_free(cfg);
    cfg = cfg_new("t", "", "");
    assert_int_equal(cfg_add(cfg, "data", dataset_options, &err), 0);
    char *argv2[] = {"t", NULL};
    assert_int_equal(cfg_parse(cfg, 1, argv2, &err), 0);
    dataset_opts_from_cfg(cfg, &o);
    assert_null(o.tmdb);
    cfg_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_join_without_credits),
        cmocka_unit_test(test_join_seed_tags),
        cmocka_unit_test(test_join_with_credits),
        cmocka_unit_test(test_join_errors),
        cmocka_unit_test(test_join_in_memory),
        cmocka_unit_test(test_option),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
