/* test_dataset.c: idmap, catalog, ratings and every dataset layout over small
 * fixture files (written to a temp dir), with each error's exact message. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/data/catalog.h"
#include "common/data/dataset.h"
#include "common/data/idmap.h"
#include "common/data/ratings.h"

static void put(const char *dir, const char *name, const char *data)
{
    char *p = testutil_join(dir, name);
    testutil_write_file(p, data, strlen(data));
    free(p);
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

static uint32_t find(const dataset_t *ds, const char *id)
{
    uint32_t i = catalog_find(ds->catalog, id, strlen(id));
    assert_int_not_equal(i, IDMAP_NONE);
    return i;
}

/* ---- idmap / catalog / ratings ---- */

static void test_idmap(void **state)
{
    idmap_t *m = idmap_new();
    uint32_t a, b, c, d;
    assert_int_equal(idmap_intern(m, "42", 2, &a), 1);
    assert_int_equal(idmap_intern(m, "u_7", 3, &b), 1);
    assert_int_equal(idmap_intern(m, "042", 3, &c), 1); /* not the same key as 42 */
    assert_int_equal(idmap_intern(m, "42", 2, &d), 0);
    assert_int_equal(a, 0);
    assert_int_equal(b, 1);
    assert_int_equal(c, 2);
    assert_int_equal(d, 0);
    assert_int_equal(idmap_find_int(m, 42), 0);
    assert_int_equal(idmap_intern_int(m, 5000000000ull, &d), 1); /* beyond the direct range */
    assert_int_equal(idmap_find(m, "5000000000", 10), 3);
    assert_int_equal(idmap_find(m, "43", 2), IDMAP_NONE);
    assert_int_equal(idmap_find(m, "", 0), IDMAP_NONE);
    size_t len;
    assert_string_equal(idmap_key(m, 2, &len), "042");
    assert_int_equal(len, 3);
    assert_null(idmap_key(m, 4, NULL));
    /* many keys of both kinds: indices stay dense and stable across growth */
    char buf[32];
    for (int i = 0; i < 20000; i++) {
        int n = snprintf(buf, sizeof buf, i % 2 ? "k%d" : "%d", 100000 + i * 7);
        uint32_t x;
        assert_int_equal(idmap_intern(m, buf, (size_t)n, &x), 1);
        assert_int_equal(x, 4 + i);
    }
    for (int i = 0; i < 20000; i++) {
        int n = snprintf(buf, sizeof buf, i % 2 ? "k%d" : "%d", 100000 + i * 7);
        assert_int_equal(idmap_find(m, buf, (size_t)n), 4 + i);
        assert_string_equal(idmap_key(m, 4 + i, NULL), buf);
    }
    assert_int_equal(idmap_size(m), 20004);
    idmap_free(m);
}

static void test_catalog(void **state)
{
    catalog_t *c = catalog_new();
    err_t err;
    uint32_t a, b;
    assert_int_equal(catalog_add_item(c, "10", 2, &a, &err), 0);
    assert_int_equal(catalog_add_item(c, "20", 2, &b, &err), 0);
    assert_int_equal(catalog_add_item(c, "10", 2, &a, &err), -1);
    assert_string_equal(err.msg, "duplicate item id '10'");
    catalog_set_title(c, 0, "Heat (1995)", 11);
    catalog_set_title(c, 1, "ÉTÉ meurtrier, L' (1983)", strlen("ÉTÉ meurtrier, L' (1983)"));
    assert_int_equal(catalog_add_genre(c, 1, "Drama", 5), 0);
    assert_int_equal(catalog_add_genre(c, 0, "Action", 6), 0);
    assert_int_equal(catalog_add_genre(c, 0, "Drama", 5), 0);
    assert_int_equal(catalog_add_genre(c, 0, "Action", 6), 0); /* not repeated */
    /* list entries in mixed item order keep their per-item order */
    catalog_list_append(c, 1, CATALOG_CAST, "X", 1);
    catalog_list_append(c, 0, CATALOG_CAST, "Al Pacino", 9);
    catalog_list_append(c, 1, CATALOG_CAST, "Y", 1);
    catalog_list_append(c, 0, CATALOG_CAST, "Robert De Niro", 14);
    catalog_add_tag(c, 0, "heist", 5);
    catalog_add_tag(c, 0, "LA", 2);
    catalog_add_tag(c, 1, "heist", 5);
    catalog_add_tag(c, 0, "heist", 5);
    assert_int_equal(catalog_finish(c, &err), 0);
    assert_int_equal(catalog_list_append(c, 0, CATALOG_CAST, "late", 4), -1);
    assert_int_equal(catalog_ngenres(c), 2);
    assert_string_equal(catalog_genre_name(c, 0), "Drama");
    assert_int_equal(catalog_genre_mask(c, 0), 3);
    assert_int_equal(catalog_item_ngenres(c, 0), 2);
    assert_int_equal(catalog_item_genre(c, 0, 0), 1);
    assert_int_equal(catalog_item_genre(c, 0, 1), 0);
    assert_int_equal(catalog_list_len(c, 0, CATALOG_CAST), 2);
    assert_string_equal(catalog_list_at(c, 0, CATALOG_CAST, 1), "Robert De Niro");
    assert_string_equal(catalog_list_at(c, 1, CATALOG_CAST, 0), "X");
    assert_string_equal(catalog_list_at(c, 1, CATALOG_DIRECTORS, 0), "");
    uint32_t n;
    assert_int_equal(catalog_ntags(c, 0), 2);
    assert_string_equal(catalog_tag(c, 0, 0, &n), "heist");
    assert_int_equal(n, 2);
    assert_string_equal(catalog_tag(c, 0, 1, &n), "LA");
    assert_int_equal(n, 1);
    assert_int_equal(catalog_ntags(c, 1), 1);
    assert_int_equal(catalog_tag_applications(c), 4);
    assert_string_equal(catalog_overview(c, 0), "");
    /* search: case-insensitive with Unicode lower-casing */
    uint32_t hits[4];
    assert_int_equal(catalog_search(c, "été", CATALOG_MATCH_PREFIX, hits, 4), 1);
    assert_int_equal(hits[0], 1);
    assert_int_equal(catalog_search(c, "HEAT", CATALOG_MATCH_PREFIX, hits, 4), 1);
    assert_int_equal(catalog_search(c, "eat", CATALOG_MATCH_PREFIX, hits, 4), 0);
    assert_int_equal(catalog_search(c, "(19", CATALOG_MATCH_SUBSTRING, hits, 1), 2);
    /* rating stats */
    uint32_t items[] = {0, 0, 1};
    float vals[] = {4, 5, 2};
    assert_int_equal(catalog_set_rating_stats(c, items, vals, 3), 0);
    assert_int_equal(catalog_rating_count(c, 0), 2);
    assert_true(catalog_rating_mean(c, 0) == 4.5f);
    catalog_free(c);

    assert_int_equal(catalog_title_year("Heat (1995)", 11), 1995);
    assert_int_equal(catalog_title_year("Heat (1995) ", 12), 1995);
    assert_int_equal(catalog_title_year("Babylon 5", 9), 0);
    assert_int_equal(catalog_title_year("Death Note (2006\xe2\x80\x93" "2007)", 24), 2006);
    assert_int_equal(catalog_title_year("Show (2010-)", 12), 2010);
    assert_int_equal(catalog_title_year("(1995)", 6), 1995);
    assert_int_equal(catalog_title_year("Heat (1995", 10), 0);
    assert_int_equal(catalog_title_year("Heat 1995)", 10), 0);
    assert_int_equal(catalog_title_year("X (19a5)", 8), 0);
}

static void test_ratings_store(void **state)
{
    ratings_t *r = ratings_new(NULL, true);
    assert_int_equal(ratings_add(r, 0, 5, 4.0f, 100), 0);
    assert_int_equal(ratings_add(r, 1, 5, 2.0f, 200), 0);
    assert_int_equal(ratings_add(r, 0, 6, 3.5f, 300), 0);
    size_t a, b;
    assert_int_equal(ratings_find_duplicate(r, &a, &b), 0);
    assert_null(r->ts64);
    /* a timestamp outside uint32 widens storage, keeping earlier values */
    assert_int_equal(ratings_add(r, 1, 7, 1.0f, -5), 0);
    assert_non_null(r->ts64);
    assert_int_equal(ratings_ts(r, 1), 200);
    assert_int_equal(ratings_ts(r, 3), -5);
    assert_int_equal(ratings_add(r, 0, 5, 1.0f, 400), 0);
    assert_int_equal(ratings_add(r, 1, 7, 1.0f, 500), 0);
    assert_int_equal(ratings_find_duplicate(r, &a, &b), 1);
    assert_int_equal(a, 0); /* (0,5) first at 0, again at 4; (1,7) at 3 and 5 */
    assert_int_equal(b, 4);
    assert_true(r->min == 1.0f && r->max == 4.0f);
    assert_int_equal(ratings_count_users(r), 2);
    assert_int_equal(ratings_count_items(r), 3);
    ratings_shrink(r);
    assert_int_equal(r->cap, 6);
    ratings_free(r);
}

/* ---- ml-100k ---- */

static const char u_genre[] = "unknown|0\nAction|1\nComedy|2\n\n";
static const char u_item[] =
    "1|Toy Story (1995)|01-Jan-1995||http://x|0|0|1\n"
    "2|Mis\xe9rables, Les (1995)|01-Jan-1995||http://x|0|1|0\n"
    "3|Chasing Amy (1997)|01-Jan-1997||http://x|0|0|1\n"
    "4|unknown|||http://x|1|0|0\n"
    "5|Chasing Amy (1997)|01-Jan-1997||http://x|0|0|1\n"
    "6|No Year Here|05-Mar-1994||http://x|0|1|1\n";
static const char u_data[] = "1\t1\t5\t881250949\n1\t2\t3\t881250950\n2\t1\t4\t881250951\n"
                             "3\t5\t1\t881250952\n";

static void test_ml100k(void **state)
{
    char *dir = testutil_tmpdir("ds-ml100k");
    put(dir, "u.genre", u_genre);
    put(dir, "u.item", u_item);
    put(dir, "u.data", u_data);
    put(dir, "ua.base", "1\t1\t5\t881250949\n2\t1\t4\t881250951\n3\t5\t1\t881250952\n");
    put(dir, "ua.test", "1\t2\t3\t881250950\n4\t3\t2\t881250953\n");
    dataset_t *ds = load_ok(dir, NULL);
    const catalog_t *c = ds->catalog;
    assert_int_equal(ds->layout, DATASET_ML100K);
    assert_string_equal(dataset_layout_name(ds->layout), "ml-100k");
    assert_true(ds->converted_latin1);
    assert_int_equal(catalog_size(c), 6);
    assert_int_equal(catalog_ngenres(c), 3);
    assert_string_equal(catalog_genre_name(c, 0), "unknown");
    assert_string_equal(catalog_title(c, find(ds, "2")), "Mis\xc3\xa9rables, Les (1995)");
    assert_int_equal(catalog_year(c, find(ds, "4")), 0);
    assert_int_equal(catalog_year(c, find(ds, "6")), 1994); /* from the release date */
    assert_int_equal(catalog_genre_mask(c, find(ds, "6")), 6);
    assert_int_equal(catalog_genre_mask(c, find(ds, "4")), 1);
    /* the duplicated title stays two items */
    uint32_t hits[8];
    assert_int_equal(catalog_search(c, "chasing amy", CATALOG_MATCH_PREFIX, hits, 8), 2);
    assert_int_equal(ds->ratings->n, 4);
    assert_int_equal(idmap_size(ds->users), 3);
    assert_int_equal(ds->ratings->user[2], 1);
    assert_true(ds->ratings->value[0] == 5.0f);
    assert_int_equal(ratings_ts(ds->ratings, 3), 881250952);
    assert_int_equal(catalog_rating_count(c, find(ds, "1")), 2);
    assert_true(catalog_rating_mean(c, find(ds, "1")) == 4.5f);

    /* split files against the same catalog and user map */
    ratings_t *base = NULL, *test = NULL;
    err_t err;
    assert_int_equal(dataset_load_ratings_file(ds, "ua.base", &base, &err), 0);
    assert_int_equal(dataset_load_ratings_file(ds, "ua.test", &test, &err), 0);
    assert_int_equal(base->n, 3);
    assert_int_equal(test->n, 2);
    assert_int_equal(test->user[0], ds->ratings->user[0]); /* user "1" keeps index 0 */
    assert_int_equal(test->user[1], 3);                    /* new user "4" appended */
    assert_int_equal(idmap_size(ds->users), 4);
    assert_int_equal(test->item[1], find(ds, "3"));
    ratings_free(base);
    ratings_free(test);
    put(dir, "ub.test", "1\t9\t3\t881250950\n");
    assert_int_equal(dataset_load_ratings_file(ds, "ub.test", &test, &err), -1);
    assert_string_equal(err.msg, "ub.test:1: unknown item id '9' (not in u.item)");
    assert_int_equal(dataset_load_ratings_file(ds, "nope.base", &test, &err), -1);
    assert_string_equal(err.msg, "nope.base: No such file or directory");
    dataset_free(ds);

    /* a ratings file chosen by option */
    dataset_opts_t o = {.ratings_file = "ua.base"};
    ds = load_ok(dir, &o);
    assert_int_equal(ds->ratings->n, 3);
    assert_string_equal(ds->ratings_name, "ua.base");
    dataset_free(ds);

    /* errors */
    put(dir, "u.data", "1\t1\t5\t881250949\n1\t2\t3\n");
    load_err(dir, NULL, "u.data:2: expected 4 fields, found 3");
    put(dir, "u.data", "1\t1\t5\t881250949\n\n1\t7\t3\t1\n");
    load_err(dir, NULL, "u.data:3: unknown item id '7' (not in u.item)");
    put(dir, "u.data", "1\t1\t5\t881250949\n1\t2\tfive\t1\n");
    load_err(dir, NULL, "u.data:2: bad rating 'five'");
    put(dir, "u.data", "1\t1\t5\t88125x\n");
    load_err(dir, NULL, "u.data:1: bad timestamp '88125x'");
    put(dir, "u.data", "1\t1\t5\t1\n2\t1\t5\t2\n1\t2\t5\t3\n1\t1\t4\t4\n");
    load_err(dir, NULL, "u.data:4: duplicate rating of item '1' by user '1' (first at line 1)");
    put(dir, "u.data", u_data);
    put(dir, "u.item", "1|Toy Story (1995)|01-Jan-1995||http://x|0|0|1\n2|X|||u|0|0\n");
    load_err(dir, NULL, "u.item:2: expected 8 fields, found 7");
    put(dir, "u.item", "1|Toy Story (1995)|01-Jan-1995||http://x|0|0|2\n");
    load_err(dir, NULL, "u.item:1: genre flag 2 is '2', not 0 or 1");
    put(dir, "u.item", "1|A|||u|0|0|1\n1|B|||u|0|0|1\n");
    load_err(dir, NULL, "u.item:2: duplicate item id '1'");
    put(dir, "u.genre", "unknown|0\nAction|2\n");
    load_err(dir, NULL, "u.genre:2: genre id '2' should be 1");
    free(dir);
}

/* ---- ml-1m / ml-10m ---- */

static void test_mldat(void **state)
{
    char *dir = testutil_tmpdir("ds-mldat");
    put(dir, "movies.dat",
        "1::Toy Story (1995)::Animation|Children's|Comedy\n"
        "1320::Alien\xb3 (1992)::Action|Horror|Sci-Fi|Thriller\n"
        "7::\"Great\" Escape (1963)::(no genres listed)\n");
    put(dir, "users.dat", "1::F::1::10::48067\n");
    load_err(dir, NULL,
             "ratings.dat: missing: layout ml-dat has no ratings without it "
             "(allow-missing-ratings loads the catalog alone)");
    dataset_opts_t o = {.allow_missing_ratings = true};
    dataset_t *ds = load_ok(dir, &o);
    assert_int_equal(ds->layout, DATASET_MLDAT);
    assert_null(ds->ratings);
    assert_string_equal(ds->ratings_note, "no ratings: ratings.dat is missing (catalog only)");
    assert_int_equal(catalog_size(ds->catalog), 3);
    assert_string_equal(catalog_title(ds->catalog, 1), "Alien\xc2\xb3 (1992)");
    assert_string_equal(catalog_title(ds->catalog, 2), "\"Great\" Escape (1963)");
    assert_int_equal(catalog_item_ngenres(ds->catalog, 2), 0);
    assert_int_equal(catalog_ngenres(ds->catalog), 7);
    assert_int_equal(catalog_year(ds->catalog, 1), 1992);
    dataset_free(ds);

    /* ml-10m style: UTF-8 movies.dat is kept as is; ratings and tags */
    put(dir, "movies.dat", "1::Am\xc3\xa9lie (2001)::Comedy|Romance\n2::Heat (1995)::Action\n");
    put(dir, "ratings.dat", "1::1::5::838985046\n1::2::3.5::838983525\n2::2::4::838983392\n");
    put(dir, "tags.dat", "15::1::quirky::1215184630\n20::1::quirky::1188263867\n"
                         "20::2::Al Pacino::1188263880\n");
    ds = load_ok(dir, NULL);
    assert_false(ds->converted_latin1);
    assert_string_equal(catalog_title(ds->catalog, 0), "Am\xc3\xa9lie (2001)");
    assert_int_equal(ds->ratings->n, 3);
    assert_true(ds->ratings->value[1] == 3.5f);
    assert_int_equal(idmap_size(ds->users), 2); /* taggers 15 and 20 are not users */
    assert_int_equal(ds->tag_rows, 3);
    uint32_t cnt;
    assert_string_equal(catalog_tag(ds->catalog, 0, 0, &cnt), "quirky");
    assert_int_equal(cnt, 2);
    dataset_free(ds);

    put(dir, "ratings.dat", "1::1::5::838985046\n1::2::3.5\n");
    load_err(dir, NULL, "ratings.dat:2: expected 4 fields, found 3");
    put(dir, "ratings.dat", "1::1::5::838985046\n");
    put(dir, "tags.dat", "15::3::quirky::1215184630\n");
    load_err(dir, NULL, "tags.dat:1: unknown item id '3' (not in movies.dat)");
    free(dir);
}

/* ---- ml-latest CSV ---- */

static void test_mlcsv(void **state)
{
    char *dir = testutil_tmpdir("ds-mlcsv");
    put(dir, "movies.csv",
        "movieId,title,genres\r\n"
        "1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy\r\n"
        "11,\"American President, The (1995)\",Comedy|Drama|Romance\r\n"
        "171749,Death Note: Desu n\xc3\xb4to (2006\xe2\x80\x93" "2007),(no genres listed)\r\n"
        "99,\"\"\"Great Performances\"\" Cats (1998)\",Musical\r\n");
    put(dir, "ratings.csv", "userId,movieId,rating,timestamp\r\n1,1,4.0,964982703\r\n"
                            "1,11,0.5,964981247\r\n2,1,5.0,964982224\r\n");
    put(dir, "tags.csv", "userId,movieId,tag,timestamp\r\n2,11,\"funny, sharp\",1445714994\r\n"
                         "7,11,funny,1445714996\r\n2,1,pixar,1445714996\r\n");
    put(dir, "links.csv", "movieId,imdbId,tmdbId\r\n1,0114709,862\r\n11,0112346,\r\n");
    dataset_t *ds = load_ok(dir, NULL);
    const catalog_t *c = ds->catalog;
    assert_int_equal(ds->layout, DATASET_MLCSV);
    assert_int_equal(catalog_size(c), 4);
    assert_string_equal(catalog_title(c, find(ds, "11")), "American President, The (1995)");
    assert_string_equal(catalog_title(c, find(ds, "99")), "\"Great Performances\" Cats (1998)");
    assert_int_equal(catalog_year(c, find(ds, "171749")), 2006);
    assert_int_equal(catalog_item_ngenres(c, find(ds, "171749")), 0);
    assert_int_equal(catalog_genre_find(c, "(no genres listed)", 18), IDMAP_NONE);
    assert_int_equal(catalog_ngenres(c), 8);
    assert_int_equal(ds->ratings->n, 3);
    assert_true(ds->ratings->min == 0.5f && ds->ratings->max == 5.0f);
    assert_int_equal(ds->tag_rows, 3);
    assert_int_equal(catalog_ntags(c, find(ds, "11")), 2);
    assert_string_equal(catalog_tag(c, find(ds, "11"), 0, NULL), "funny, sharp");
    assert_int_equal(ds->link_rows, 2);
    assert_int_equal(ds->links_without_tmdb, 1);
    assert_int_equal(catalog_imdb_id(c, find(ds, "1")), 114709);
    assert_int_equal(catalog_tmdb_id(c, find(ds, "1")), 862);
    assert_int_equal(catalog_tmdb_id(c, find(ds, "11")), 0);
    dataset_free(ds);

    put(dir, "ratings.csv", "userId,movieId,rating,timestamp\r\n1,1,4.0,964982703\r\n"
                            "1,12,4.0,964982703\r\n");
    load_err(dir, NULL, "ratings.csv:3: unknown item id '12' (not in movies.csv)");
    put(dir, "ratings.csv", "userId,movieId,rating,timestamp\r\n1,1,4.0,964982703\r\n"
                            "2,1,3.0,964982703\r\n1,11,4.0,964982703\r\n1,1,2.0,964982709\r\n");
    load_err(dir, NULL,
             "ratings.csv:5: duplicate rating of item '1' by user '1' (first at line 2)");
    put(dir, "ratings.csv", "userId,movieId,rating,timestamp\r\n1,1,,964982703\r\n");
    load_err(dir, NULL, "ratings.csv:2: bad rating ''");
    put(dir, "ratings.csv", "user,movie,rating,timestamp\r\n");
    load_err(dir, NULL, "ratings.csv:1: expected the header userId,movieId,rating,timestamp");
    put(dir, "ratings.csv", "userId,movieId,rating,timestamp\r\n1,\"1,4.0,964982703\r\n");
    load_err(dir, NULL, "ratings.csv:2: unterminated quoted field (opened here)");
    char *p = testutil_join(dir, "ratings.csv");
    remove(p);
    free(p);
    load_err(dir, NULL,
             "ratings.csv: missing: layout ml-csv has no ratings without it "
             "(allow-missing-ratings loads the catalog alone)");
    dataset_opts_t o = {.allow_missing_ratings = true};
    ds = load_ok(dir, &o);
    assert_null(ds->ratings);
    dataset_free(ds);
    put(dir, "links.csv", "movieId,imdbId,tmdbId\r\n5,0114709,862\r\n");
    load_err(dir, &o, "links.csv:2: unknown item id '5' (not in movies.csv)");
    free(dir);
}

/* ---- TMDB 5000 ---- */

static const char tmdb_movies[] =
    "budget,genres,id,keywords,overview,release_date,title,vote_average,vote_count,popularity\n"
    "1,\"[{\"\"id\"\": 28, \"\"name\"\": \"\"Action\"\"}, {\"\"id\"\": 12, \"\"name\"\": "
    "\"\"Adventure\"\"}]\",19995,\"[{\"\"id\"\": 1463, \"\"name\"\": \"\"culture clash\"\"}, "
    "{\"\"id\"\": 9, \"\"name\"\": \"\"Espa\\u00f1ol\"\"}]\",\"A marine, on Pandora.\",2009-12-10,"
    "Avatar,7.2,11800,150.437577\n"
    "0,[],11891,[],\"Kung Pow\rline two\",2002-01-25,Kung Pow: Enter the Fist,5.5,200,10.5\n"
    "0,\"[{\"\"id\"\": 18, \"\"name\"\": \"\"Drama\"\"}]\",1,[],,,The Host,0,0,0\n"
    "0,[],2,[],,2013-03-22,The Host,6,10,1\n";

static const char tmdb_credits[] =
    "movie_id,title,cast,crew\n"
    "19995,Avatar,\"[{\"\"cast_id\"\": 3, \"\"name\"\": \"\"Zoe Saldana\"\", \"\"order\"\": 1}, "
    "{\"\"cast_id\"\": 2, \"\"name\"\": \"\"Sam Worthington\"\", \"\"order\"\": 0}, "
    "{\"\"cast_id\"\": 4, \"\"name\"\": \"\"Sigourney Weaver\"\", \"\"order\"\": 2}]\","
    "\"[{\"\"job\"\": \"\"Producer\"\", \"\"name\"\": \"\"Jon Landau\"\"}, "
    "{\"\"job\"\": \"\"Director\"\", \"\"name\"\": \"\"James Cameron\"\"}, "
    "{\"\"job\"\": \"\"Director\"\", \"\"name\"\": \"\"Second D\\u00e9\"\"}]\"\n"
    "11891,Kung Pow,[],[]\n";

static void test_tmdb(void **state)
{
    char *dir = testutil_tmpdir("ds-tmdb");
    put(dir, "tmdb_5000_movies.csv", tmdb_movies);
    dataset_t *ds = load_ok(dir, NULL);
    const catalog_t *c = ds->catalog;
    assert_int_equal(ds->layout, DATASET_TMDB);
    assert_null(ds->ratings);
    assert_false(ds->has_credits);
    assert_int_equal(catalog_size(c), 4);
    uint32_t av = find(ds, "19995");
    assert_int_equal(catalog_year(c, av), 2009);
    assert_int_equal(catalog_item_ngenres(c, av), 2);
    assert_string_equal(catalog_genre_name(c, catalog_item_genre(c, av, 1)), "Adventure");
    assert_int_equal(catalog_list_len(c, av, CATALOG_KEYWORDS), 2);
    assert_string_equal(catalog_list_at(c, av, CATALOG_KEYWORDS, 1), "Espa\xc3\xb1ol");
    assert_string_equal(catalog_overview(c, av), "A marine, on Pandora.");
    assert_string_equal(catalog_overview(c, find(ds, "11891")), "Kung Pow\rline two");
    assert_string_equal(catalog_overview(c, find(ds, "1")), "");
    assert_int_equal(catalog_year(c, find(ds, "1")), 0);
    assert_int_equal(catalog_list_len(c, find(ds, "11891"), CATALOG_KEYWORDS), 0);
    assert_true(catalog_vote_average(c, av) == 7.2f);
    assert_int_equal(catalog_vote_count(c, av), 11800);
    uint32_t hits[4];
    assert_int_equal(catalog_search(c, "the host", CATALOG_MATCH_PREFIX, hits, 4), 2);
    dataset_free(ds);

    put(dir, "tmdb_5000_credits.csv", tmdb_credits);
    ds = load_ok(dir, NULL);
    c = ds->catalog;
    av = find(ds, "19995");
    assert_true(ds->has_credits);
    assert_int_equal(catalog_list_len(c, av, CATALOG_CAST), 3);
    assert_string_equal(catalog_list_at(c, av, CATALOG_CAST, 0), "Sam Worthington");
    assert_string_equal(catalog_list_at(c, av, CATALOG_CAST, 1), "Zoe Saldana");
    assert_string_equal(catalog_list_at(c, av, CATALOG_CAST, 2), "Sigourney Weaver");
    assert_int_equal(catalog_list_len(c, av, CATALOG_DIRECTORS), 2);
    assert_string_equal(catalog_list_at(c, av, CATALOG_DIRECTORS, 0), "James Cameron");
    assert_string_equal(catalog_list_at(c, av, CATALOG_DIRECTORS, 1), "Second D\xc3\xa9");
    assert_int_equal(catalog_list_len(c, find(ds, "11891"), CATALOG_CAST), 0);
    dataset_free(ds);
    dataset_opts_t o = {.max_cast = 2};
    ds = load_ok(dir, &o);
    assert_int_equal(catalog_list_len(ds->catalog, find(ds, "19995"), CATALOG_CAST), 2);
    dataset_free(ds);

    put(dir, "tmdb_5000_credits.csv", "movie_id,title,cast,crew\n77,X,[],[]\n");
    load_err(dir, NULL, "tmdb_5000_credits.csv:2: unknown item id '77' (not in tmdb_5000_movies.csv)");
    put(dir, "tmdb_5000_credits.csv", "movie_id,title,cast,crew\n19995,X,\"[{\"\"name\"\": 1}]\",[]\n");
    load_err(dir, NULL,
             "tmdb_5000_credits.csv:2: cast: an element lacks a string \"name\" or a number \"order\"");
    put(dir, "tmdb_5000_movies.csv", "id,title,genres\n1,A,[]\n2,B,\"[{\"\"name\"\": \"\"x\"\"\"\n");
    load_err(dir, NULL, "tmdb_5000_movies.csv:3: genres: not a JSON array");
    put(dir, "tmdb_5000_movies.csv", "id,title,genres\n1,A,[]\n2,B\n");
    load_err(dir, NULL, "tmdb_5000_movies.csv:3: expected 3 fields, found 2");
    put(dir, "tmdb_5000_movies.csv", "id,title,vote_average\n1,A,high\n");
    load_err(dir, NULL, "tmdb_5000_movies.csv:2: bad vote_average 'high'");
    put(dir, "tmdb_5000_movies.csv", "name,genres\n");
    load_err(dir, NULL, "tmdb_5000_movies.csv:1: header lacks the id or title column");
    free(dir);
}

/* ---- plain ---- */

static void test_plain(void **state)
{
    char *dir = testutil_tmpdir("ds-plain");
    put(dir, "ratings.csv", "user_id,item_id,rating,timestamp\nalice,m1,4.5,1700000000\n"
                            "bob,m2,3,1700000001\nalice,m2,2.25,1700000002\n");
    dataset_t *ds = load_ok(dir, NULL);
    const catalog_t *c = ds->catalog;
    assert_int_equal(ds->layout, DATASET_PLAIN);
    assert_int_equal(catalog_size(c), 2);
    assert_string_equal(catalog_title(c, 0), "m1"); /* no items.csv: titled by id */
    assert_int_equal(ds->ratings->n, 3);
    assert_true(ds->ratings->value[2] == 2.25f);
    assert_string_equal(idmap_key(ds->users, ds->ratings->user[1], NULL), "bob");
    dataset_free(ds);

    put(dir, "items.csv",
        "item_id,title,year,genres,directors,cast,keywords,overview,tags\n"
        "m1,Heat,1995,Action|Crime,Michael Mann,Al Pacino|Robert De Niro,heist|,\"A thief, a "
        "cop.\",classic|LA\n"
        "m2,Alien (1979),,Horror||Sci-Fi,Ridley Scott,,,,\n"
        "m3,Unrated,,,,,,,\n");
    ds = load_ok(dir, NULL);
    c = ds->catalog;
    assert_int_equal(catalog_size(c), 3);
    uint32_t m1 = find(ds, "m1"), m2 = find(ds, "m2");
    assert_string_equal(catalog_title(c, m1), "Heat");
    assert_int_equal(catalog_year(c, m1), 1995);
    assert_int_equal(catalog_year(c, m2), 1979); /* from the title */
    assert_int_equal(catalog_item_ngenres(c, m2), 2);
    assert_string_equal(catalog_list_at(c, m1, CATALOG_CAST, 1), "Robert De Niro");
    assert_int_equal(catalog_list_len(c, m1, CATALOG_KEYWORDS), 1);
    assert_string_equal(catalog_list_at(c, m1, CATALOG_DIRECTORS, 0), "Michael Mann");
    assert_string_equal(catalog_overview(c, m1), "A thief, a cop.");
    assert_int_equal(catalog_ntags(c, m1), 2);
    assert_int_equal(catalog_rating_count(c, find(ds, "m3")), 0);
    dataset_free(ds);

    /* a single CSV file, header aliases, no timestamp */
    char *one = testutil_join(dir, "other.csv");
    testutil_write_file(one, "item,rating,user\nx,1,u\ny,0,u\n", 28);
    ds = load_ok(one, NULL);
    assert_int_equal(ds->layout, DATASET_PLAIN);
    assert_int_equal(catalog_size(ds->catalog), 2);
    assert_false(ds->ratings->has_ts);
    assert_int_equal(ratings_ts(ds->ratings, 0), 0);
    dataset_free(ds);

    testutil_write_file(one, "user,item,score\n", 16);
    load_err(one, NULL, "other.csv:1: unknown column 'score' (expected user_id, item_id, rating[, timestamp])");
    testutil_write_file(one, "user,item\n", 10);
    load_err(one, NULL, "other.csv:1: missing column rating");
    testutil_write_file(one, "user,item,rating\nu,,3\n", 22);
    load_err(one, NULL, "other.csv:2: empty item id");
    free(one);
    put(dir, "ratings.csv", "user_id,item_id,rating\nalice,m9,4\n");
    load_err(dir, NULL, "ratings.csv:2: unknown item id 'm9' (not in items.csv)");
    put(dir, "ratings.csv", "user_id,item_id,rating\nalice,m1,4\nalice,m1,5\n");
    load_err(dir, NULL, "ratings.csv:3: duplicate rating of item 'm1' by user 'alice' (first at line 2)");
    put(dir, "ratings.csv", "user_id,item_id,rating\nalice,m1,4\n");
    put(dir, "items.csv", "item_id,titel\nm1,Heat\n");
    load_err(dir, NULL,
             "items.csv:1: unknown column 'titel' (expected item_id, title, year, overview, "
             "genres, directors, cast, keywords, tags)");
    put(dir, "items.csv", "item_id,title,year\nm1,Heat,19x5\n");
    load_err(dir, NULL, "items.csv:2: bad year '19x5'");
    free(dir);
}

static void test_detect_and_memory(void **state)
{
    char *dir = testutil_tmpdir("ds-none");
    char want[1024];
    snprintf(want, sizeof want,
             "%s: no dataset found (looked for u.item, u.data, movies.dat, movies.csv, "
             "tmdb_5000_movies.csv, ratings.csv)",
             dir);
    load_err(dir, NULL, want);
    char *nope = testutil_join(dir, "nope");
    snprintf(want, sizeof want, "%s: No such file or directory", nope);
    load_err(nope, NULL, want);
    free(nope);
    free(dir);

    /* in-memory files: the same loaders without a filesystem */
    dataset_file_t files[] = {
        {"movies.csv", "movieId,title,genres\n1,A (2000),Drama\n", 37},
        {"ratings.csv", "userId,movieId,rating,timestamp\n1,1,4,5\n", 40},
    };
    dataset_t *ds;
    err_t err;
    assert_int_equal(dataset_load_files(files, 2, &ds, NULL, &err), 0);
    assert_int_equal(ds->layout, DATASET_MLCSV);
    assert_int_equal(ds->ratings->n, 1);
    assert_int_equal(catalog_year(ds->catalog, 0), 2000);
    dataset_free(ds);
    /* without movies.csv it is the plain layout, whose header differs */
    assert_int_equal(dataset_load_files(files + 1, 1, &ds, NULL, &err), -1);
    assert_string_equal(err.msg, "ratings.csv:1: unknown column 'userId' (expected user_id, "
                                 "item_id, rating[, timestamp])");
    dataset_file_t plain = {"ratings.csv", "user,item,rating\n1,1,4\n", 23};
    assert_int_equal(dataset_load_files(&plain, 1, &ds, NULL, &err), 0);
    assert_int_equal(ds->layout, DATASET_PLAIN);
    dataset_free(ds);

    /* seed-tags table */
    const char seed[] = "movie_id,title,tags\n19995,Avatar,\"in the 22nd century, a marine\"\n"
                        "19995,Avatar,again\n";
    dataset_seed_tags_t *t;
    assert_int_equal(dataset_seed_tags_parse("p.csv", seed, sizeof seed - 1, &t, &err), 0);
    assert_int_equal(t->n, 2);
    assert_string_equal(t->rows[0].tags, "in the 22nd century, a marine");
    assert_string_equal(t->rows[1].movie_id, "19995");
    dataset_seed_tags_free(t);
    assert_int_equal(dataset_seed_tags_parse("p.csv", "id,title\n", 9, &t, &err), -1);
    assert_string_equal(err.msg, "p.csv:1: expected the header movie_id,title,tags");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idmap),  cmocka_unit_test(test_catalog),
        cmocka_unit_test(test_ratings_store), cmocka_unit_test(test_ml100k),
        cmocka_unit_test(test_mldat),  cmocka_unit_test(test_mlcsv),
        cmocka_unit_test(test_tmdb),   cmocka_unit_test(test_plain),
        cmocka_unit_test(test_detect_and_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
