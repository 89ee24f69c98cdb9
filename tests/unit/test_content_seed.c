/* test_content_seed.c: the seed pipeline (EVALUATION.md R4): tags from a
 * catalog, stemming + tokens + stop words, the 5000-term cut and its tie
 * rule, exact cosine ties, the TSV, and the facts on the shared data. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/data/catalog.h"
#include "common/data/dataset.h"
#include "services/content/content_model.h"
#include "services/content/content_seed.h"

static content_seed_result_t *run(const char **tags, size_t n, uint32_t max_features, uint32_t k)
{
    static const char *ids[] = {"10", "11", "12", "13", "14", "15"};
    content_seed_input_t in = {.n = n, .ids = ids, .titles = ids, .tags = tags};
    content_seed_params_t p = {.max_features = max_features, .k = k, .threads = 2};
    content_seed_result_t *r;
    err_t err;
    if (content_seed_run(&in, &p, &r, &err))
        fail_msg("%s", err.msg);
    return r;
}

/* Stems: running -> run, dogs -> dog, runs -> run, cats -> cat; "the" is a
 * stop word; "x" is one character (no token); "civilization." stems to
 * itself (the rules see the '.'), then tokenises to "civilization".
 * Counts over (cat, civilization, dog, run):
 *   0 "running dogs"              (0, 0, 1, 1)
 *   1 "dog runs x"                (0, 0, 1, 1)
 *   2 "the cats"                  (1, 0, 0, 0)
 *   3 "cat civilization. cats"    (2, 1, 0, 0)
 * Corpus counts: cat 3, dog 2, run 2, civilization 1. */
static void test_pipeline_small(void **state)
{
    const char *tags[] = {"running dogs", "dog runs x", "the cats", "cat civilization. cats"};
    content_seed_result_t *r = run(tags, 4, 5000, 3);
    assert_int_equal(r->vocab_before, 4);
    assert_int_equal(r->vocab_after, 4);
    assert_string_equal(r->terms[0], "cat");
    assert_string_equal(r->terms[1], "civilization");
    assert_string_equal(r->terms[2], "dog");
    assert_string_equal(r->terms[3], "run");
    assert_int_equal(r->nnz, 7);
    assert_int_equal(r->min_row_terms, 1);
    /* Row 0: row 1 identical (cos 1); rows 2 and 3 share nothing: filled in
     * row order with 0. Row 2: row 3 (cos 2/sqrt5 = 0.894427). */
    assert_int_equal(r->nb[0], 1);
    assert_true(fabs(r->score[0] - 1.0) < 1e-12);
    assert_int_equal(r->nb[1], 2);
    assert_int_equal(r->nb[2], 3);
    assert_true(r->score[1] == 0 && r->score[2] == 0);
    assert_int_equal(r->nb[2 * 3], 3);
    assert_true(fabs(r->score[2 * 3] - 2 / sqrt(5)) < 1e-12);
    assert_int_equal(r->nb[2 * 3 + 1], 0);
    content_seed_result_free(r);

    /* Cut to 2 terms: cat (3) is in; dog and run tie at 2 and the code-point
     * smaller "dog" wins; civilization (1) is out. */
    r = run(tags, 4, 2, 1);
    assert_int_equal(r->vocab_before, 4);
    assert_int_equal(r->vocab_after, 2);
    assert_string_equal(r->terms[0], "cat");
    assert_string_equal(r->terms[1], "dog");
    assert_int_equal(r->cut_count, 2);
    assert_int_equal(r->nnz, 4);
    content_seed_result_free(r);
}

/* Ties go to the earlier row. Over (aa, bb, cc, ww, xx, yy):
 *   0 "aa bb cc" (1,1,1,0,0,0)   1 "bb yy" (0,1,0,0,0,1)
 *   2 "aa xx"    (1,0,0,0,1,0)   3 "cc ww ww" (0,0,1,2,0,0)
 * cos(0,1) = cos(0,2) = 1/(sqrt3 sqrt2) = 1/sqrt6 = 0.408248 (compared as
 * 1^2 * |v2|^2 = 1^2 * |v1|^2: a true tie, row 1 first, although row 2
 * shares the lower term); cos(0,3) = 1/(sqrt3 sqrt5) = 1/sqrt15 = 0.258199. */
static void test_exact_ties(void **state)
{
    const char *tags[] = {"aa bb cc", "bb yy", "aa xx", "cc ww ww"};
    content_seed_result_t *r = run(tags, 4, 5000, 3);
    /* cos(0,1) = cos(0,2) = 1/sqrt6 = 0.408248; cos(0,3) = 1/(sqrt3 sqrt5) = 0.258199 */
    assert_int_equal(r->nb[0], 1);
    assert_int_equal(r->nb[1], 2);
    assert_int_equal(r->nb[2], 3);
    assert_true(fabs(r->score[0] - 1 / sqrt(6)) < 1e-12);
    assert_true(r->score[0] == r->score[1]);
    assert_true(fabs(r->score[2] - 1 / sqrt(15)) < 1e-12);
    content_seed_result_free(r);
}

/* R4 steps 1-3 from a catalog: overview words, genre and keyword names with
 * U+0020 removed, first 3 cast, directors, lower-cased; no overview, no row. */
static void test_input_from_catalog(void **state)
{
    err_t err;
    catalog_t *c = catalog_new();
    uint32_t i;
    assert_int_equal(catalog_add_item(c, "1", 1, &i, &err), 0);
    catalog_set_title(c, i, "First", 5);
    const char *ov = "A  Hero\tsaves\nthe  World.";
    catalog_set_overview(c, i, ov, strlen(ov));
    catalog_add_genre(c, i, "Science Fiction", 15);
    catalog_list_append(c, i, CATALOG_KEYWORDS, "time travel", 11);
    const char *cast[] = {"Sam Worthington", "Zoe Saldana", "Sigourney Weaver", "Stephen Lang"};
    for (int k = 0; k < 4; k++)
        catalog_list_append(c, i, CATALOG_CAST, cast[k], strlen(cast[k]));
    catalog_list_append(c, i, CATALOG_DIRECTORS, "James Cameron", 13);
    assert_int_equal(catalog_add_item(c, "2", 1, &i, &err), 0);
    catalog_set_title(c, i, "No overview", 11);
    catalog_add_genre(c, i, "Drama", 5);
    assert_int_equal(catalog_finish(c, &err), 0);
    content_seed_input_t in;
    assert_int_equal(content_seed_input_from_catalog(c, &in, &err), 0);
    assert_int_equal(in.n, 1);
    assert_string_equal(in.ids[0], "1");
    assert_string_equal(in.tags[0], "a hero saves the world. sciencefiction timetravel samworthington zoesaldana "
                                    "sigourneyweaver jamescameron");

    /* The TSV: header, ids, 6 decimals. */
    content_seed_params_t p = {.max_features = 5000, .k = 2, .threads = 1};
    content_seed_result_t *r;
    assert_int_equal(content_seed_run(&in, &p, &r, &err), 0);
    char *dir = testutil_tmpdir("content_seed");
    char *path = testutil_join(dir, "out.tsv");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(content_seed_write_tsv(&in, r, f, &err), 0);
    fclose(f);
    char *txt = testutil_read_file(path, NULL);
    /* One row and no other movie: the neighbour cells stay empty. */
    assert_string_equal(txt, "movie_id\ttitle\tnb1\tnb2\tscore1\tscore2\n1\tFirst\t\t\t\t\n");
    free(txt);
    content_seed_result_free(r);
    content_seed_input_free(&in);
    catalog_free(c);

    const char *tags[] = {"alpha beta", "beta gamma", "alpha\tbeta"};
    static const char *ids[] = {"7", "8", "9"};
    static const char *titles[] = {"T\t7", "T8", "T9"};
    content_seed_input_t in2 = {.n = 3, .ids = ids, .titles = titles, .tags = tags};
    p.k = 2;
    assert_int_equal(content_seed_run(&in2, &p, &r, &err), 0);
    f = fopen(path, "w");
    assert_int_equal(content_seed_write_tsv(&in2, r, f, &err), 0);
    fclose(f);
    txt = testutil_read_file(path, NULL);
    /* alpha/beta/gamma: row 0 = row 2 = (1,1,0), row 1 = (0,1,1): cos 0.5. */
    assert_string_equal(txt, "movie_id\ttitle\tnb1\tnb2\tscore1\tscore2\n"
                             "7\tT 7\t9\t8\t1.000000\t0.500000\n"
                             "8\tT8\t7\t9\t0.500000\t0.500000\n"
                             "9\tT9\t7\t8\t1.000000\t0.500000\n");
    free(txt);
    content_seed_result_free(r);
    free(path);
    free(dir);
}

/*
 * The facts of EVALUATION.md R4 on tmdb-5000 (no credits file).
 *
 * 141,014 non-zero counts, not the 141,003 R4 states. R4's own tie rule
 * (ties at the cut to the code-point smaller term) gives 141,014 here and
 * 145,405 on the seed tags (which matches R4). 4406 terms have a corpus
 * count above 6 and 643 tie at 6 for the last 594 places. Checked with
 * scikit-learn 1.2.1 / numpy 1.24.2 (Debian 12): CountVectorizer(
 * max_features=5000) picks the tied terms with numpy's unstable introsort
 * and gives 141,003 on tmdb-5000 but 145,403 on the seed tags; a stable
 * sort (= the code-point rule, the vocabulary being alphabetical) gives
 * 141,014 / 145,405; heapsort 141,006 / 145,414; other deterministic rules
 * (reverse code point, document frequency first, first occurrence) match
 * neither pair. No single rule found gives both stated figures, so this
 * project implements the stated rule and asserts what it gives.
 * The neighbour lists were checked row by row against an exact-arithmetic
 * Python reference of the same rule (identical TSV, scores included).
 */
static void test_tmdb5000_facts(void **state)
{
    char *dir = testutil_shared_or_skip("data/tmdb-5000");
    if (!dir)
        return;
    err_t err;
    dataset_t *ds;
    dataset_opts_t opts = {.skip_ratings = true};
    if (dataset_load(dir, &ds, &opts, &err))
        fail_msg("%s", err.msg);
    content_seed_input_t in;
    assert_int_equal(content_seed_input_from_catalog(ds->catalog, &in, &err), 0);
    assert_int_equal(in.n, 4800);
    content_seed_params_t p = {.max_features = 5000, .k = 5, .threads = 2};
    content_seed_result_t *r;
    assert_int_equal(content_seed_run(&in, &p, &r, &err), 0);
    assert_int_equal(r->vocab_before, 25071);
    assert_int_equal(r->vocab_after, 5000);
    assert_int_equal(r->nnz, 141014); /* R4 says 141,003: see above */
    assert_int_equal(r->cut_count, 6);
    assert_true(r->min_row_terms >= 1);
    /* Avatar (first row): its five under this rule, without cast and
     * director: Aliens vs Predator: Requiem, Titan A.E., Falcon Rising,
     * Independence Day, Jupiter Ascending. */
    assert_string_equal(in.ids[0], "19995");
    static const char *want[] = {"440", "7450", "270938", "602", "76757"};
    static const double want_score[] = {0.281025, 0.265742, 0.264010, 0.263625, 0.251124};
    assert_int_equal(r->nb_len[0], 5);
    for (int c = 0; c < 5; c++) {
        assert_string_equal(in.ids[r->nb[c]], want[c]);
        assert_true(fabs(r->score[c] - want_score[c]) < 5e-7);
    }
    content_seed_result_free(r);
    content_seed_input_free(&in);
    dataset_free(ds);
    free(dir);
}

static void test_seed_tags_facts(void **state)
{
    char *path = testutil_shared_or_skip("data/tmdb-5000-seed-tags/processed_movies.csv");
    if (!path)
        return;
    err_t err;
    dataset_seed_tags_t *t;
    if (dataset_seed_tags_read(path, &t, &err))
        fail_msg("%s", err.msg);
    content_seed_input_t in;
    assert_int_equal(content_seed_input_from_tags(t, &in, &err), 0);
    assert_int_equal(in.n, 4806);
    content_seed_params_t p = {.max_features = 5000, .k = 5, .threads = 2};
    content_seed_result_t *r;
    assert_int_equal(content_seed_run(&in, &p, &r, &err), 0);
    assert_int_equal(r->vocab_before, 32942);
    assert_int_equal(r->vocab_after, 5000);
    assert_int_equal(r->nnz, 145405);
    assert_true(r->min_row_terms >= 1);
    size_t avatar = SIZE_MAX;
    for (size_t i = 0; i < in.n && avatar == SIZE_MAX; i++)
        if (strcmp(in.titles[i], "Avatar") == 0)
            avatar = i;
    assert_true(avatar != SIZE_MAX);
    static const char *want[] = {"Aliens vs Predator: Requiem", "Aliens", "Falcon Rising", "Independence Day",
                                 "Titan A.E."};
    static const double want_score[] = {0.286770, 0.269014, 0.260513, 0.255609, 0.250387};
    for (int c = 0; c < 5; c++) {
        assert_string_equal(in.titles[r->nb[avatar * 5 + c]], want[c]);
        assert_true(fabs(r->score[avatar * 5 + c] - want_score[c]) < 5e-7);
    }
    content_seed_result_free(r);
    content_seed_input_free(&in);
    dataset_seed_tags_free(t);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pipeline_small), cmocka_unit_test(test_exact_ties),
        cmocka_unit_test(test_input_from_catalog), cmocka_unit_test(test_tmdb5000_facts),
        cmocka_unit_test(test_seed_tags_facts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
