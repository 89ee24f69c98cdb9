/* test_content_model.c: the content model on tiny hand-checked catalogs:
 * tokens and TF-IDF weights, neighbours (ties, on-the-fly fallback),
 * profile scoring (centring, fallback, implicit events, candidates,
 * filters, explanations), model files (round trip, corruption refused). */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/data/catalog.h"
#include "common/wire/modelfile.h"
#include "services/content/content_model.h"

#define TOL 1e-5

/* Catalog A, genres only (N = 5), years for the year filter:
 *   0 "a" Action, Comedy   1990
 *   1 "b" Action           2000
 *   2 "c" Comedy, Drama    2010
 *   3 "d" Drama            2020
 *   4 "e" Action           (unknown year)
 * df: action 3, comedy 2, drama 2; smooth idf = ln((1+N)/(1+df)) + 1:
 *   idf(action) = ln(6/4) + 1 = 1.4054651, idf(comedy) = idf(drama) = ln(6/3) + 1 = 1.6931472.
 * Unit vectors over (g:action, g:comedy, g:drama):
 *   v0 = (1.4054651, 1.6931472, 0) / 2.2004733 = (0.6387106, 0.7694471, 0)
 *   v1 = v4 = (1, 0, 0); v2 = (0, 1/sqrt2, 1/sqrt2); v3 = (0, 0, 1)
 * Cosines: s01 = s04 = 0.6387106, s02 = 0.7694471/sqrt2 = 0.5440812, s14 = 1,
 *          s23 = 0.7071068, every other pair 0. */
static catalog_t *catalog_a(void)
{
    err_t err;
    catalog_t *c = catalog_new();
    static const struct { const char *id; const char *g[2]; int year; } it[] = {
        {"a", {"Action", "Comedy"}, 1990}, {"b", {"Action", NULL}, 2000}, {"c", {"Comedy", "Drama"}, 2010},
        {"d", {"Drama", NULL}, 2020},      {"e", {"Action", NULL}, 0},
    };
    for (size_t i = 0; i < 5; i++) {
        uint32_t idx;
        assert_int_equal(catalog_add_item(c, it[i].id, 1, &idx, &err), 0);
        assert_int_equal(catalog_set_title(c, idx, it[i].id, 1), 0);
        catalog_set_year(c, idx, it[i].year);
        for (int g = 0; g < 2; g++)
            if (it[i].g[g])
                assert_int_equal(catalog_add_genre(c, idx, it[i].g[g], strlen(it[i].g[g])), 0);
    }
    assert_int_equal(catalog_finish(c, &err), 0);
    return c;
}

static content_params_t genres_only(uint32_t neighbours)
{
    content_params_t p;
    content_params_default(&p);
    for (int f = 0; f < CONTENT_NFIELDS; f++)
        p.weight[f] = 0;
    p.weight[CONTENT_F_GENRE] = 1;
    p.neighbours = neighbours;
    p.threads = 2;
    return p;
}

static content_model_t *model_a(uint32_t neighbours)
{
    catalog_t *c = catalog_a();
    content_params_t p = genres_only(neighbours);
    content_model_t *m;
    err_t err;
    int rc = content_model_build(c, &p, &m, &err);
    if (rc)
        fail_msg("%s", err.msg);
    catalog_free(c);
    return m;
}

static float weight_of(const content_model_t *m, uint32_t item, const char *term)
{
    uint32_t t = content_model_term_find(m, term);
    if (t == CONTENT_NONE)
        return -1;
    sparse_view_t v = content_model_vector(m, item);
    for (size_t a = 0; a < v.nnz; a++)
        if (v.idx[a] == t)
            return v.val[a];
    return 0;
}

static void test_vectors_tfidf(void **state)
{
    content_model_t *m = model_a(50);
    assert_int_equal(content_model_size(m), 5);
    assert_int_equal(content_model_nterms(m), 3);
    /* Terms in code-point order, field-prefixed, lower-cased. */
    assert_string_equal(content_model_term(m, 0), "g:action");
    assert_string_equal(content_model_term(m, 1), "g:comedy");
    assert_string_equal(content_model_term(m, 2), "g:drama");
    assert_int_equal(content_model_term_df(m, 0), 3);
    assert_float_equal(content_model_term_idf(m, 0), 1.4054651, TOL);
    assert_float_equal(content_model_term_idf(m, 1), 1.6931472, TOL);
    assert_float_equal(weight_of(m, 0, "g:action"), 0.6387106, TOL);
    assert_float_equal(weight_of(m, 0, "g:comedy"), 0.7694471, TOL);
    assert_float_equal(weight_of(m, 2, "g:drama"), 0.7071068, TOL);
    assert_float_equal(weight_of(m, 1, "g:action"), 1.0, TOL);
    assert_int_equal(content_model_find(m, "c", 1), 2);
    assert_int_equal(content_model_find(m, "zz", 2), CONTENT_NONE);
    assert_int_equal(content_model_find(m, "", 0), CONTENT_NONE);
    assert_string_equal(content_model_id(m, 3), "d");
    assert_int_equal(content_model_year(m, 2), 2010);
    assert_int_equal(content_model_ngenres(m), 3);
    assert_int_equal(content_model_genre_find(m, "Drama"), 2);
    assert_int_equal(strncmp(content_model_version(m), "tfidf-", 6), 0);
    content_model_release(m);
}

/* Catalog B: overview words and genres (title off), N = 3.
 *   0 Drama   "Dogs and dogs run"    -> g:drama, o:dog x2, o:run ("and" a stop word)
 *   1 Comedy  "A drama about a dog"  -> g:comedy, o:dog, o:drama ("a", "about" stop words)
 *   2 Drama   "Cats"                 -> g:drama, o:cat
 * idf(df 2) = ln(4/3) + 1 = 1.2876821, idf(df 1) = ln 2 + 1 = 1.6931472.
 * Item 0 raw: g:drama 1.2876821, o:dog (1 + ln 2) * 1.2876821 = 2.1802294,
 *   o:run 1.6931472; norm 3.0460299 -> (0.4227411, 0.7157629, 0.5558538).
 * Item 1: (g:comedy 1.6931472, o:dog 1.2876821, o:drama 1.6931472) / 2.7187 ->
 *   o:dog 0.4736296.  s01 = 0.7157629 * 0.4736296 = 0.3390065.
 * Item 2: (g:drama 1.2876821, o:cat 1.6931472) / 2.1271 -> s02 = 0.4227411 * 0.6053 = 0.2559057. */
static void test_text_fields(void **state)
{
    err_t err;
    catalog_t *c = catalog_new();
    static const char *ov[] = {"Dogs and dogs run", "A drama about a dog", "Cats"};
    static const char *gen[] = {"Drama", "Comedy", "Drama"};
    for (uint32_t i = 0; i < 3; i++) {
        char id[8];
        snprintf(id, sizeof id, "m%u", i);
        uint32_t idx;
        assert_int_equal(catalog_add_item(c, id, strlen(id), &idx, &err), 0);
        assert_int_equal(catalog_set_title(c, idx, "Heat Running", 12), 0);
        assert_int_equal(catalog_set_overview(c, idx, ov[i], strlen(ov[i])), 0);
        assert_int_equal(catalog_add_genre(c, idx, gen[i], strlen(gen[i])), 0);
    }
    assert_int_equal(catalog_finish(c, &err), 0);
    content_params_t p = genres_only(50);
    p.weight[CONTENT_F_OVERVIEW] = 1;
    content_model_t *m;
    assert_int_equal(content_model_build(c, &p, &m, &err), 0);
    assert_int_equal(content_model_nterms(m), 6);
    assert_int_not_equal(content_model_term_find(m, "g:drama"), CONTENT_NONE);
    assert_int_not_equal(content_model_term_find(m, "o:drama"), CONTENT_NONE);
    assert_int_equal(content_model_term_find(m, "o:and"), CONTENT_NONE);
    assert_int_equal(content_model_term_find(m, "o:dogs"), CONTENT_NONE);
    assert_int_equal(content_model_term_find(m, "t:same"), CONTENT_NONE); /* title weight 0 */
    assert_float_equal(weight_of(m, 0, "g:drama"), 0.4227411, TOL);
    assert_float_equal(weight_of(m, 0, "o:dog"), 0.7157629, TOL);
    assert_float_equal(weight_of(m, 0, "o:run"), 0.5558538, TOL);
    assert_float_equal(weight_of(m, 1, "o:dog"), 0.4736296, TOL);
    const uint32_t *idx;
    const float *sc;
    uint32_t n;
    content_model_neighbours(m, 0, &idx, &sc, &n);
    assert_int_equal(n, 2);
    assert_int_equal(idx[0], 1);
    assert_float_equal(sc[0], 0.3390065, TOL);
    assert_int_equal(idx[1], 2);
    assert_float_equal(sc[1], 0.2559057, TOL);
    content_model_release(m);

    /* Title words are a field of their own: all three share "t:heat". */
    p.weight[CONTENT_F_TITLE] = 1;
    assert_int_equal(content_model_build(c, &p, &m, &err), 0);
    assert_int_equal(content_model_term_df(m, content_model_term_find(m, "t:heat")), 3);
    assert_int_not_equal(content_model_term_find(m, "t:run"), CONTENT_NONE); /* Porter: running -> run */
    content_model_release(m);
    catalog_free(c);
}

static void test_neighbours(void **state)
{
    content_model_t *m = model_a(50);
    const uint32_t *idx;
    const float *sc;
    uint32_t n;
    /* Item 0: 1 and 4 tie at 0.6387106 (lower index first), then 2. */
    content_model_neighbours(m, 0, &idx, &sc, &n);
    assert_int_equal(n, 3);
    assert_int_equal(idx[0], 1);
    assert_int_equal(idx[1], 4);
    assert_int_equal(idx[2], 2);
    assert_float_equal(sc[0], 0.6387106, TOL);
    assert_true(sc[0] == sc[1]);
    assert_float_equal(sc[2], 0.5440812, TOL);
    content_model_neighbours(m, 1, &idx, &sc, &n);
    assert_int_equal(n, 2);
    assert_int_equal(idx[0], 4);
    assert_float_equal(sc[0], 1.0, TOL);
    assert_int_equal(idx[1], 0);
    content_model_neighbours(m, 3, &idx, &sc, &n);
    assert_int_equal(n, 1); /* zero similarities are never listed */
    assert_int_equal(idx[0], 2);
    assert_float_equal(sc[0], 0.7071068, TOL);
    content_model_release(m);
}

static void test_similar(void **state)
{
    err_t err;
    content_scratch_t *s = content_scratch_new();
    content_hit_t out[8];
    content_model_t *m = model_a(50);
    uint32_t comedy = content_model_genre_find(m, "Comedy");
    filter_t f = {.genre_mask = 1ull << comedy};
    /* Stored list [1, 4, 2] filtered to Comedy: [2] (the list is complete). */
    assert_int_equal(content_similar(m, 0, 2, &f, s, out, &err), 1);
    assert_int_equal(out[0].item, 2);
    assert_int_equal(out[0].because, CONTENT_NONE);
    uint32_t ex[] = {1};
    filter_t fx = {.excluded = ex, .nexcluded = 1};
    assert_int_equal(content_similar(m, 0, 5, &fx, s, out, &err), 2);
    assert_int_equal(out[0].item, 4);
    assert_int_equal(out[1].item, 2);
    filter_t fy = {.year_min = 2005};
    assert_int_equal(content_similar(m, 0, 5, &fy, s, out, &err), 1); /* 4's year is unknown */
    assert_int_equal(out[0].item, 2);
    assert_int_equal(content_similar(m, 9, 5, NULL, s, out, &err), -1);
    assert_non_null(strstr(err.msg, "out of range"));
    content_model_release(m);

    /* One stored neighbour: k = 2 and filtered lists are computed on the fly. */
    m = model_a(1);
    assert_int_equal(content_similar(m, 0, 2, NULL, s, out, &err), 2);
    assert_int_equal(out[0].item, 1);
    assert_int_equal(out[1].item, 4);
    assert_int_equal(content_similar(m, 0, 1, &f, s, out, &err), 1);
    assert_int_equal(out[0].item, 2);
    assert_float_equal(out[0].score, 0.5440812, TOL);
    content_model_release(m);
    content_scratch_free(s);
}

/* History: b (1) rated 5, d (3) rated 1 (negative feedback,
 * common/data/feedback.h): b alone is uncentred, w 5; d weighs
 * -strength(1) * scale * unit = -1 * 0.1 * 5 = -0.5; sum |w| = 5.5.
 * profile = 5 v1 - 0.5 v3 = (5, 0, -0.5); score(j) = profile . v_j / 5.5:
 *   e (4): 5 / 5.5 = 0.9090909;  a (0): 5 * 0.6387106 / 5.5 = 0.5806460;
 *   c (2): -0.5 * 0.7071068 / 5.5 = -0.0642824.
 * because: e and a from b (position 0); c has no positive contribution. */
static void test_score_history(void **state)
{
    err_t err;
    content_scratch_t *s = content_scratch_new();
    content_hit_t out[8];
    content_model_t *m = model_a(50);
    content_event_t h[] = {{1, 5.0f}, {3, 1.0f}};
    content_query_t q = {.k = 5};
    assert_int_equal(content_score_history(m, h, 2, &q, s, out, &err), 3);
    assert_int_equal(out[0].item, 4);
    assert_float_equal(out[0].score, 0.9090909, TOL);
    assert_int_equal(out[0].because, 0);
    assert_int_equal(out[1].item, 0);
    assert_float_equal(out[1].score, 0.5806460, TOL);
    assert_int_equal(out[1].because, 0);
    assert_int_equal(out[2].item, 2);
    assert_float_equal(out[2].score, -0.0642824, TOL);
    assert_int_equal(out[2].because, CONTENT_NONE);

    /* no_explain: the same ranking and scores, no `because`. */
    q.no_explain = true;
    assert_int_equal(content_score_history(m, h, 2, &q, s, out, &err), 3);
    assert_int_equal(out[0].item, 4);
    assert_float_equal(out[0].score, 0.9090909, TOL);
    assert_int_equal(out[0].because, CONTENT_NONE);
    assert_int_equal(out[1].item, 0);
    assert_int_equal(out[1].because, CONTENT_NONE);
    q.no_explain = false;

    /* History included: b itself scores 5 * 1 / 5.5 and ties with e (b first). */
    q.include_history = true;
    assert_int_equal(content_score_history(m, h, 2, &q, s, out, &err), 5);
    assert_int_equal(out[0].item, 1);
    assert_int_equal(out[1].item, 4);
    assert_int_equal(out[4].item, 3); /* d: -0.5 * 1 / 5.5 */
    assert_float_equal(out[4].score, -0.0909091, TOL);
    q.include_history = false;

    /* Filters. Drama: c only (d is history). */
    q.filter.genre_mask = 1ull << content_model_genre_find(m, "Drama");
    assert_int_equal(content_score_history(m, h, 2, &q, s, out, &err), 1);
    assert_int_equal(out[0].item, 2);
    q.filter.genre_mask = 0;
    q.filter.year_min = 2000; /* a (1990) and e (unknown) fail */
    assert_int_equal(content_score_history(m, h, 2, &q, s, out, &err), 1);
    assert_int_equal(out[0].item, 2);
    q.filter.year_min = 0;
    q.filter.year_max = 1995;
    assert_int_equal(content_score_history(m, h, 2, &q, s, out, &err), 1);
    assert_int_equal(out[0].item, 0);
    q.filter.year_max = 0;
    uint32_t ex[] = {4};
    q.filter.excluded = ex;
    q.filter.nexcluded = 1;
    assert_int_equal(content_score_history(m, h, 2, &q, s, out, &err), 2);
    assert_int_equal(out[0].item, 0);
    q.filter.excluded = NULL;
    q.filter.nexcluded = 0;

    /* Candidate list (a repeat counts once), k = 1. */
    uint32_t cand[] = {2, 0, 0};
    q.candidates = cand;
    q.n_candidates = 3;
    q.k = 1;
    assert_int_equal(content_score_history(m, h, 2, &q, s, out, &err), 1);
    assert_int_equal(out[0].item, 0);
    assert_float_equal(out[0].score, 0.5806460, TOL);
    q.k = 5;
    assert_int_equal(content_score_history(m, h, 2, &q, s, out, &err), 2);
    assert_int_equal(out[1].item, 2);
    uint32_t bad[] = {7};
    q.candidates = bad;
    q.n_candidates = 1;
    assert_int_equal(content_score_history(m, h, 2, &q, s, out, &err), -1);
    assert_non_null(strstr(err.msg, "candidates[0]"));
    q.candidates = NULL;
    q.n_candidates = 0;

    /* One rating: centring gives w = 0, so the uncentred weight (4) is used:
     * scores = v1 . v_j: e 1, a 0.6387106, then c and d at 0 (index order). */
    content_event_t one[] = {{1, 4.0f}};
    assert_int_equal(content_score_history(m, one, 1, &q, s, out, &err), 4);
    assert_int_equal(out[0].item, 4);
    assert_float_equal(out[0].score, 1.0, TOL);
    assert_int_equal(out[1].item, 0);
    assert_int_equal(out[2].item, 2);
    assert_int_equal(out[3].item, 3);
    assert_float_equal(out[3].score, 0.0, TOL);

    /* An implicit event weighs implicit_weight (default 1): d alone -> c at 0.7071068. */
    content_event_t imp[] = {{3, NAN}};
    q.k = 1;
    assert_int_equal(content_score_history(m, imp, 1, &q, s, out, &err), 1);
    assert_int_equal(out[0].item, 2);
    assert_float_equal(out[0].score, 0.7071068, TOL);
    assert_int_equal(out[0].because, 0);

    /* Mixed: a rated 4, b rated 2 (negative feedback) and an implicit d.
     * Without b: a centred on itself, w 0, d w 1 (mean |w| 0.5); b weighs
     * -strength(2) * 0.1 * 0.5 = -0.5 * 0.05 = -0.025; sum |w| = 1.025;
     * profile = -0.025 v1 + v3 = (-0.025, 0, 1).
     *   c: 0.7071068 / 1.025 = 0.6898603, because d
     *   e: -0.025 / 1.025 = -0.0243902, no positive contributor */
    content_event_t mix[] = {{0, 4.0f}, {1, 2.0f}, {3, NAN}};
    q.k = 5;
    assert_int_equal(content_score_history(m, mix, 3, &q, s, out, &err), 2);
    assert_int_equal(out[0].item, 2);
    assert_float_equal(out[0].score, 0.6898603, TOL);
    assert_int_equal(out[0].because, 2);
    assert_int_equal(out[1].item, 4);
    assert_float_equal(out[1].score, -0.0243902, TOL);
    assert_int_equal(out[1].because, CONTENT_NONE); /* a weighs 0, b is negative */

    assert_int_equal(content_score_history(m, NULL, 0, &q, s, out, &err), -1);
    assert_string_equal(err.msg, "empty history");
    content_event_t badh[] = {{5, 3.0f}};
    assert_int_equal(content_score_history(m, badh, 1, &q, s, out, &err), -1);
    assert_non_null(strstr(err.msg, "history[0]"));
    content_model_release(m);
    content_scratch_free(s);
}

static void test_save_load(void **state)
{
    err_t err;
    char *dir = testutil_tmpdir("content_model");
    char *path = testutil_join(dir, "content.model");
    content_model_t *m = model_a(2), *l;
    assert_int_equal(content_model_save(m, path, &err), 0);
    if (content_model_load(path, &l, &err))
        fail_msg("%s", err.msg);
    assert_string_equal(content_model_version(l), content_model_version(m));
    assert_int_equal(content_model_size(l), 5);
    assert_int_equal(content_model_nterms(l), 3);
    assert_int_equal(content_model_params(l)->neighbours, 2);
    assert_true(content_model_params(l)->weight[CONTENT_F_TITLE] == 0);
    for (uint32_t i = 0; i < 5; i++) {
        sparse_view_t a = content_model_vector(m, i), b = content_model_vector(l, i);
        assert_int_equal(a.nnz, b.nnz);
        assert_memory_equal(a.idx, b.idx, a.nnz * sizeof *a.idx);
        assert_memory_equal(a.val, b.val, a.nnz * sizeof *a.val);
        const uint32_t *ia, *ib;
        const float *sa, *sb;
        uint32_t na, nb;
        content_model_neighbours(m, i, &ia, &sa, &na);
        content_model_neighbours(l, i, &ib, &sb, &nb);
        assert_int_equal(na, nb);
        assert_memory_equal(ia, ib, na * sizeof *ia);
        assert_string_equal(content_model_id(l, i), content_model_id(m, i));
    }
    assert_int_equal(content_model_find(l, "e", 1), 4);
    /* A model outlives its release by others while retained (swap). */
    content_model_retain(l);
    content_model_release(l);
    assert_int_equal(content_model_size(l), 5);
    content_model_release(l);

    /* Corruption: one flipped byte anywhere fails the checksums. */
    size_t len;
    char *buf = testutil_read_file(path, &len);
    assert_non_null(buf);
    char *bad = malloc(len);
    memcpy(bad, buf, len);
    bad[len / 2] ^= 0x40;
    char *badpath = testutil_join(dir, "bad.model");
    testutil_write_file(badpath, bad, len);
    assert_int_equal(content_model_load(badpath, &l, &err), -1);
    assert_null(l);
    assert_non_null(strstr(err.msg, "bad.model"));
    /* Truncated. */
    testutil_write_file(badpath, buf, len - 100);
    assert_int_equal(content_model_load(badpath, &l, &err), -1);
    assert_non_null(strstr(err.msg, "bad.model"));

    /* Valid checksums but a neighbour index out of range: the model's own
     * checks refuse it. */
    modelfile_t *mf;
    assert_int_equal(modelfile_open_mem(buf, len, "x", &mf, &err), 0);
    uint64_t off = 0;
    for (size_t i = 0; i < modelfile_nsections(mf); i++) {
        modelfile_section_info_t info;
        modelfile_section_at(mf, i, &info);
        if (strcmp(info.name, "nb_idx") == 0)
            off = info.offset;
    }
    modelfile_close(mf);
    assert_true(off > 0);
    memcpy(bad, buf, len);
    uint32_t big = 999;
    memcpy(bad + off, &big, 4);
    modelfile_fix_checksums(bad, len);
    assert_int_equal(content_model_load_mem(bad, len, "crafted", &l, &err), -1);
    assert_non_null(strstr(err.msg, "crafted: item 0: neighbour 999 out of range"));

    /* Another kind of model file. */
    modelfile_writer_t *w;
    assert_int_equal(modelfile_writer_new(&w, NULL, "cf-als", "v1", &err), 0);
    assert_int_equal(modelfile_writer_finish(w, &err), 0);
    const void *data = modelfile_writer_data(w, &len);
    assert_int_equal(content_model_load_mem(data, len, "other", &l, &err), -1);
    assert_non_null(strstr(err.msg, "not a content model"));
    modelfile_writer_free(w);
    /* Missing file. */
    assert_int_equal(content_model_load("/nonexistent/x.model", &l, &err), -1);
    assert_non_null(strstr(err.msg, "/nonexistent/x.model"));

    content_model_release(m);
    free(bad);
    free(buf);
    free(badpath);
    free(path);
    free(dir);
}

/* Same model whatever the thread count; an empty catalog builds. */
static void test_threads_and_empty(void **state)
{
    err_t err;
    catalog_t *c = catalog_new();
    for (uint32_t i = 0; i < 300; i++) {
        char id[16], g[16];
        snprintf(id, sizeof id, "%u", i);
        uint32_t idx;
        assert_int_equal(catalog_add_item(c, id, strlen(id), &idx, &err), 0);
        snprintf(g, sizeof g, "G%u", i % 7);
        catalog_add_genre(c, idx, g, strlen(g));
        snprintf(g, sizeof g, "k%u", (i * 31) % 23);
        catalog_list_append(c, idx, CATALOG_KEYWORDS, g, strlen(g));
    }
    assert_int_equal(catalog_finish(c, &err), 0);
    content_params_t p;
    content_params_default(&p);
    p.neighbours = 10;
    p.threads = 1;
    content_model_t *a, *b;
    assert_int_equal(content_model_build(c, &p, &a, &err), 0);
    p.threads = 4;
    assert_int_equal(content_model_build(c, &p, &b, &err), 0);
    assert_string_equal(content_model_version(a), content_model_version(b));
    for (uint32_t i = 0; i < 300; i++) {
        const uint32_t *ia, *ib;
        const float *sa, *sb;
        uint32_t na, nb;
        content_model_neighbours(a, i, &ia, &sa, &na);
        content_model_neighbours(b, i, &ib, &sb, &nb);
        assert_int_equal(na, 10);
        assert_int_equal(na, nb);
        assert_memory_equal(ia, ib, na * sizeof *ia);
        assert_memory_equal(sa, sb, na * sizeof *sa);
    }
    content_model_release(a);
    content_model_release(b);
    catalog_free(c);

    c = catalog_new();
    assert_int_equal(catalog_finish(c, &err), 0);
    if (content_model_build(c, &p, &a, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(content_model_size(a), 0);
    content_scratch_t *s = content_scratch_new();
    content_hit_t out[1];
    assert_int_equal(content_similar(a, 0, 1, NULL, s, out, &err), -1);
    content_scratch_free(s);
    content_model_release(a);
    catalog_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors_tfidf), cmocka_unit_test(test_text_fields),
        cmocka_unit_test(test_neighbours),    cmocka_unit_test(test_similar),
        cmocka_unit_test(test_score_history), cmocka_unit_test(test_save_load),
        cmocka_unit_test(test_threads_and_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
