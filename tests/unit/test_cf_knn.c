/* test_cf_knn.c: item- and user-based neighbourhood CF on a 4 x 4 matrix
 * computed by hand (cosine with shrinkage, top-k neighbours, scores of a
 * history, user-kNN fold-in of a new user and a known user left out of his
 * own neighbours), the same against a brute-force reference with ratings,
 * similar items = the neighbour list, model file round trip, damaged knn
 * sections (and a nonzero dim) refused with the section named, and EASE's
 * auto budget. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "services/cf/cf_model.h"

/* X: u0 = {i0, i1}, u1 = {i0, i1, i2}, u2 = {i1, i2}, u3 = {i2, i3}. */
static const uint32_t tu[] = {0, 0, 1, 1, 1, 2, 2, 3, 3};
static const uint32_t ti[] = {0, 1, 0, 1, 2, 1, 2, 2, 3};
static const float tv[] = {5, 3, 4, 2, 1, 4, 5, 3, 2};
#define NT 9

static void data(cf_data_t *d)
{
    err_t err;
    assert_int_equal(cf_data_from_triplets(d, 4, 4, tu, ti, tv, NT, &err), 0);
}

static cf_model_t *train(cf_kind_t kind, uint32_t k, float shrink, int binary)
{
    cf_data_t d;
    data(&d);
    cf_knn_params_t p = {k, shrink, binary, 2};
    cf_model_t *m;
    err_t err;
    int rc = kind == CF_KIND_ITEMKNN ? cf_train_itemknn(&d, &p, &m, &err) : cf_train_userknn(&d, &p, &m, &err);
    if (rc != 0)
        fail_msg("%s", err.msg);
    cf_data_free(&d);
    return m;
}

static float sim_of(const cf_model_t *m, uint32_t a, uint32_t b)
{
    sparse_view_t r = sparse_csr_row(&m->knn, a);
    for (size_t e = 0; e < r.nnz; e++)
        if (r.idx[e] == b)
            return r.val[e];
    return 0.0f;
}

static void near(double got, double want)
{
    if (fabs(got - want) > 1e-5)
        fail_msg("got %.7f, want %.7f", got, want);
}

static void test_item_sims_by_hand(void **state)
{
    /* Binary, shrink 1: |i0| = sqrt 2, |i1| = |i2| = sqrt 3, |i3| = 1;
     * i0.i1 = 2, i0.i2 = 1, i1.i2 = 2, i2.i3 = 1, the rest 0. */
    double s01 = 2 / (sqrt(6) + 1), s02 = 1 / (sqrt(6) + 1), s12 = 2 / (3.0 + 1), s23 = 1 / (sqrt(3) + 1);
    cf_model_t *m = train(CF_KIND_ITEMKNN, 3, 1.0f, 1);
    assert_int_equal(m->kind, CF_KIND_ITEMKNN);
    near(sim_of(m, 0, 1), s01);
    near(sim_of(m, 1, 0), s01);
    near(sim_of(m, 0, 2), s02);
    near(sim_of(m, 1, 2), s12);
    near(sim_of(m, 2, 3), s23);
    assert_true(sim_of(m, 0, 3) == 0.0f && sim_of(m, 0, 0) == 0.0f); /* no common user, no self */
    /* Row lengths: i0 {1, 2}, i1 {0, 2}, i2 {0, 1, 3}, i3 {2}. */
    assert_int_equal(m->knn.nnz, 8);
    cf_model_release(m);

    /* k = 1: the single best neighbour each. */
    m = train(CF_KIND_ITEMKNN, 1, 1.0f, 1);
    assert_int_equal(m->knn.nnz, 4);
    assert_true(sim_of(m, 0, 1) > 0 && sim_of(m, 1, 0) > 0 && sim_of(m, 2, 1) > 0 && sim_of(m, 3, 2) > 0);
    cf_model_release(m);

    /* k = 2, history {i0, i3}: scores = S[0] + S[3]. */
    m = train(CF_KIND_ITEMKNN, 2, 1.0f, 1);
    assert_true(sim_of(m, 2, 1) > 0 && sim_of(m, 2, 3) > 0 && sim_of(m, 2, 0) == 0.0f); /* i0 dropped */
    cf_event_t ev[] = {{3, 4.0f}, {0, 3.0f}};
    cf_who_t who = {CF_NO_USER, ev, 2};
    cf_scratch_t *s = cf_scratch_new();
    err_t err;
    const float *sc = cf_score_all(m, s, &who, NULL, &err);
    assert_non_null(sc);
    near(sc[0], 0);
    near(sc[1], s01);
    near(sc[2], s02 + s23);
    near(sc[3], 0);
    topk_item_t top[4];
    /* The history is left out: i2 (0.656) before i1 (0.580). */
    assert_int_equal(cf_recommend(m, s, &who, NULL, 4, top, NULL, &err), 2);
    assert_int_equal(top[0].index, 2);
    assert_int_equal(top[1].index, 1);
    cf_scratch_free(s);
    cf_model_release(m);
}

/* Brute force: sims over the columns with ratings, shrink 2, top-k per item. */
static void test_item_sims_reference(void **state)
{
    for (int binary = 0; binary <= 1; binary++) {
        double X[4][4] = {{0}};
        for (int e = 0; e < NT; e++)
            X[tu[e]][ti[e]] = binary ? 1.0 : tv[e];
        double S[4][4], nrm[4] = {0};
        for (int i = 0; i < 4; i++) {
            for (int u = 0; u < 4; u++)
                nrm[i] += X[u][i] * X[u][i];
            nrm[i] = sqrt(nrm[i]);
        }
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++) {
                double dot = 0;
                for (int u = 0; u < 4; u++)
                    dot += X[u][i] * X[u][j];
                S[i][j] = i == j ? 0 : dot / (nrm[i] * nrm[j] + 2.0);
            }
        cf_model_t *m = train(CF_KIND_ITEMKNN, 2, 2.0f, binary);
        for (int i = 0; i < 4; i++) {
            /* The two largest positive S[i][j], ties to the lower j. */
            int b1 = -1, b2 = -1;
            for (int j = 0; j < 4; j++) {
                if (!(S[i][j] > 0))
                    continue;
                if (b1 < 0 || S[i][j] > S[i][b1]) {
                    b2 = b1;
                    b1 = j;
                } else if (b2 < 0 || S[i][j] > S[i][b2]) {
                    b2 = j;
                }
            }
            for (int j = 0; j < 4; j++)
                near(sim_of(m, (uint32_t)i, (uint32_t)j), j == b1 || j == b2 ? S[i][j] : 0.0);
        }
        cf_model_release(m);
    }
}

static void test_similar_is_neighbour_list(void **state)
{
    cf_model_t *m = train(CF_KIND_ITEMKNN, 2, 1.0f, 1);
    cf_scratch_t *s = cf_scratch_new();
    err_t err;
    topk_item_t top[4];
    /* i2's neighbours: i1 (0.5) and i3 (0.366); nothing else comes back. */
    assert_int_equal(cf_similar(m, s, 2, NULL, 4, top, &err), 2);
    assert_int_equal(top[0].index, 1);
    assert_int_equal(top[1].index, 3);
    near(top[0].score, 0.5);
    assert_int_equal(cf_similar(m, s, 3, NULL, 4, top, &err), 1);
    assert_int_equal(top[0].index, 2);
    /* Explanations: the history item with the largest w * S[h][item]. */
    cf_event_t ev[] = {{0, 4.0f}, {3, 4.0f}};
    cf_who_t who = {CF_NO_USER, ev, 2};
    assert_int_equal(cf_explain(m, s, &who, 2), 3);
    assert_int_equal(cf_explain(m, s, &who, 1), 0);
    cf_scratch_free(s);
    cf_model_release(m);
}

static void test_userknn_fold_in(void **state)
{
    /* Binary, shrink 1, k 2. A new user {i0, i1}: |h| = sqrt 2; dots with
     * u0..u3 = 2, 2, 1, 0; norms sqrt 2, sqrt 3, sqrt 2, sqrt 2. */
    double su0 = 2 / (2.0 + 1), su1 = 2 / (sqrt(6) + 1), su2 = 1 / (2.0 + 1);
    cf_model_t *m = train(CF_KIND_USERKNN, 2, 1.0f, 1);
    cf_scratch_t *s = cf_scratch_new();
    err_t err;
    cf_event_t ev[] = {{0, 5.0f}, {1, 3.0f}}; /* positive ratings (<= 2 would weigh against) */
    cf_who_t who = {CF_NO_USER, ev, 2};
    const float *sc = cf_score_all(m, s, &who, NULL, &err);
    assert_non_null(sc);
    near(sc[0], su0 + su1); /* neighbours u0 and u1 */
    near(sc[1], su0 + su1);
    near(sc[2], su1);
    near(sc[3], 0);
    /* Known user u0 (the same history): he is not his own neighbour, so
     * u1 and u2 are. */
    cf_who_t known = {0, NULL, 0};
    sc = cf_score_all(m, s, &known, NULL, &err);
    assert_non_null(sc);
    near(sc[2], su1 + su2);
    near(sc[0], su1);
    near(sc[3], 0);
    topk_item_t top[2];
    assert_int_equal(cf_recommend(m, s, &known, NULL, 1, top, NULL, &err), 1);
    assert_int_equal(top[0].index, 2);
    /* Ratings as weights: only the scale of the dots changes here. */
    cf_model_release(m);
    m = train(CF_KIND_USERKNN, 1, 0.0f, 0);
    sc = cf_score_all(m, s, &who, NULL, &err);
    assert_non_null(sc);
    /* h = (5, 3, 0, 0); u0 = (5, 3): 34 / (sqrt 34 sqrt 34) = 1; u1 = (4, 2, 1):
     * 26 / (sqrt 34 sqrt 21): u0 wins, scores = sim * u0's ratings. */
    double s0 = 34 / (sqrt(34) * sqrt(34));
    near(sc[0], s0 * 5);
    near(sc[1], s0 * 3);
    near(sc[2], 0);
    cf_scratch_free(s);
    cf_model_release(m);
}

static void same_answers(const cf_model_t *a, const cf_model_t *b)
{
    cf_scratch_t *s = cf_scratch_new();
    err_t err;
    cf_event_t ev[] = {{2, 5.0f}};
    for (uint32_t u = 0; u <= 4; u++) {
        cf_who_t who = {u == 4 ? CF_NO_USER : u, u % 2 || u == 4 ? ev : NULL, u % 2 || u == 4 ? 1 : 0};
        topk_item_t ta[4], tb[4];
        long na = cf_recommend(a, s, &who, NULL, 4, ta, NULL, &err);
        long nb = cf_recommend(b, s, &who, NULL, 4, tb, NULL, &err);
        assert_true(na >= 0);
        assert_int_equal(na, nb);
        for (long k = 0; k < na; k++)
            assert_true(ta[k].index == tb[k].index && ta[k].score == tb[k].score);
        na = cf_similar(a, s, u % 4, NULL, 4, ta, &err);
        nb = cf_similar(b, s, u % 4, NULL, 4, tb, &err);
        assert_int_equal(na, nb);
        for (long k = 0; k < na; k++)
            assert_true(ta[k].index == tb[k].index && ta[k].score == tb[k].score);
    }
    cf_scratch_free(s);
}

static void test_round_trip(void **state)
{
    char *dir = testutil_tmpdir("cf_knn");
    char *path = testutil_join(dir, "knn.model");
    cf_kind_t kinds[] = {CF_KIND_ITEMKNN, CF_KIND_USERKNN};
    err_t err;
    for (int k = 0; k < 2; k++) {
        cf_model_t *m = train(kinds[k], 2, 1.5f, k);
        assert_int_equal(cf_model_save(m, path, &err), 0);
        cf_model_t *l;
        if (cf_model_load(path, &l, &err) != 0)
            fail_msg("%s", err.msg);
        assert_int_equal(l->kind, kinds[k]);
        const cf_knn_params_t *pm = k ? &m->params.userknn : &m->params.itemknn;
        const cf_knn_params_t *pl = k ? &l->params.userknn : &l->params.itemknn;
        assert_true(pl->k == pm->k && pl->shrink == pm->shrink && pl->binary == pm->binary);
        assert_int_equal(l->knn.nnz, m->knn.nnz);
        assert_non_null(l->file);
        same_answers(m, l);
        cf_model_release(l);
        cf_model_release(m);
    }
    free(path);
    free(dir);
}

/* A file saved from a damaged model must be refused, naming the section. */
static void expect_refused(cf_model_t *m, const char *path, const char *what)
{
    err_t err;
    assert_int_equal(cf_model_save(m, path, &err), 0);
    cf_model_t *l = NULL;
    assert_int_equal(cf_model_load(path, &l, &err), -1);
    assert_null(l);
    if (!strstr(err.msg, what))
        fail_msg("error '%s' does not name %s", err.msg, what);
}

static void test_corrupt_sections(void **state)
{
    char *dir = testutil_tmpdir("cf_knn_bad");
    char *path = testutil_join(dir, "bad.model");
    /* itemknn: a row with more neighbours than itemknn.k. */
    cf_model_t *m = train(CF_KIND_ITEMKNN, 3, 1.0f, 1);
    m->params.itemknn.k = 2;
    expect_refused(m, path, "section 'knn'");
    m->params.itemknn.k = 3;
    /* Columns out of order within a row. */
    uint32_t c0 = m->knn.col[0];
    m->knn.col[0] = m->knn.col[1];
    m->knn.col[1] = c0;
    expect_refused(m, path, "section 'knn'");
    m->knn.col[1] = m->knn.col[0];
    m->knn.col[0] = c0;
    /* A similarity that is not a number. */
    m->knn.val[0] = NAN;
    expect_refused(m, path, "knn.val");
    m->knn.val[0] = 0.5f;
    /* Factors claimed by a kind that has none (explanations would read them). */
    m->dim = 3;
    expect_refused(m, path, "has no factors");
    cf_model_release(m);
    /* userknn: a NaN norm, a column past the users. */
    m = train(CF_KIND_USERKNN, 2, 1.0f, 1);
    ((float *)m->knn_norm)[1] = NAN;
    expect_refused(m, path, "knn.norm");
    ((float *)m->knn_norm)[1] = 1.0f;
    m->knn.col[m->knn.nnz - 1] = 9;
    expect_refused(m, path, "section 'knn'");
    cf_model_release(m);
    free(path);
    free(dir);
}

static void test_bad_params(void **state)
{
    cf_data_t d;
    data(&d);
    cf_model_t *m;
    err_t err;
    cf_knn_params_t p = {0, 1.0f, 1, 1};
    assert_int_equal(cf_train_itemknn(&d, &p, &m, &err), -1);
    assert_non_null(strstr(err.msg, "k must"));
    p = (cf_knn_params_t){5, -1.0f, 1, 1};
    assert_int_equal(cf_train_userknn(&d, &p, &m, &err), -1);
    assert_non_null(strstr(err.msg, "shrink"));
    cf_data_free(&d);
}

static void test_cf_train_and_options(void **state)
{
    cf_params_t p;
    cf_params_default(&p);
    cf_kind_t k;
    err_t err;
    assert_int_equal(cf_kind_parse("itemknn", &k, &err), 0);
    assert_int_equal(k, CF_KIND_ITEMKNN);
    assert_int_equal(cf_kind_parse("userknn", &k, &err), 0);
    assert_int_equal(k, CF_KIND_USERKNN);
    assert_string_equal(cf_kind_name(CF_KIND_USERKNN), "userknn");
    cf_data_t d;
    data(&d);
    p.kind = CF_KIND_USERKNN;
    cf_model_t *m;
    assert_int_equal(cf_train(&d, &p, &m, &err), 0);
    assert_int_equal(m->kind, CF_KIND_USERKNN);
    assert_int_equal(m->params.userknn.k, p.userknn.k);
    assert_true(cf_knn_bytes(m) > 0);
    cf_model_release(m);
    cf_data_free(&d);
}

/* EASE's budget: a pure function of the sizes, so the choice is fixed. */
static void test_ease_budget(void **state)
{
    cf_params_t p;
    cf_params_default(&p);
    cf_data_t d;
    data(&d);
    assert_int_equal(cf_auto_kind(&p, &d), CF_KIND_EASE);
    p.ease_max_bytes = 10; /* less than 4 x 4 floats */
    assert_int_equal(cf_auto_kind(&p, &d), CF_KIND_ALS);
    cf_params_default(&p);
    p.ease_max_seconds = 0;
    assert_int_equal(cf_auto_kind(&p, &d), CF_KIND_ALS);
    cf_data_free(&d);
    err_t err;
    /* ml-latest-small's 9742 items fit the defaults (380 MB, ~6 s);
     * 20000 items do not (1.6 GB). */
    cf_params_default(&p);
    uint32_t u[] = {0}, it[] = {9741};
    float v[] = {1};
    assert_int_equal(cf_data_from_triplets(&d, 1, 9742, u, it, v, 1, &err), 0);
    assert_int_equal(cf_auto_kind(&p, &d), CF_KIND_EASE);
    cf_data_free(&d);
    it[0] = 19999;
    assert_int_equal(cf_data_from_triplets(&d, 1, 20000, u, it, v, 1, &err), 0);
    assert_int_equal(cf_auto_kind(&p, &d), CF_KIND_ALS);
    cf_data_free(&d);
    assert_true(cf_ease_peak_bytes(1682, 943, 90570) < 16u << 20);
    assert_true(cf_ease_est_seconds(1682, 0) < 1.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_item_sims_by_hand),
        cmocka_unit_test(test_item_sims_reference),
        cmocka_unit_test(test_similar_is_neighbour_list),
        cmocka_unit_test(test_userknn_fold_in),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_corrupt_sections),
        cmocka_unit_test(test_bad_params),
        cmocka_unit_test(test_cf_train_and_options),
        cmocka_unit_test(test_ease_budget),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
