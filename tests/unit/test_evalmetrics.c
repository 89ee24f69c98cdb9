/* test_evalmetrics.c: ranking and rating metrics on hand-computed cases, and
 * the popularity fixture of EVALUATION.md R1 reproduced to 1e-12 both from
 * the fixture's lists and from the project's own popularity model. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/data/csv.h"
#include "common/data/dataset.h"
#include "tools/recsys-eval/evalmetrics.h"
#include "tools/recsys-eval/evalproto.h"
#include "common/data/popularity.h"

static void test_user_hand(void **state)
{
    /* hits at ranks 2 and 4 of 10; |rel| = 3 (item 4 never ranked). */
    uint32_t ranked[10] = {5, 1, 9, 3, 7, 8, 10, 11, 12, 13};
    uint32_t rel[3] = {1, 3, 4};
    evalmetrics_ranking_t m;
    evalmetrics_user(ranked, 10, 10, rel, 3, &m);
    assert_true(fabs(m.precision - 0.2) < 1e-15);
    assert_true(fabs(m.recall - 2.0 / 3.0) < 1e-15);
    double dcg = 1 / log2(3.0) + 1 / log2(5.0), idcg = 1 + 1 / log2(3.0) + 0.5;
    assert_true(fabs(m.ndcg - dcg / idcg) < 1e-15);
    assert_true(fabs(m.map - (0.5 + 0.5) / 3.0) < 1e-15);
    assert_true(m.hit_rate == 1.0);

    /* more relevant items than k: all 10 hits -> NDCG 1, MAP 1, R 10/12 */
    uint32_t rel12[12], r10[10];
    for (uint32_t i = 0; i < 12; i++)
        rel12[i] = i;
    for (uint32_t i = 0; i < 10; i++)
        r10[i] = 11 - i;
    evalmetrics_user(r10, 10, 10, rel12, 12, &m);
    assert_true(m.precision == 1.0);
    assert_true(fabs(m.recall - 10.0 / 12.0) < 1e-15);
    assert_true(fabs(m.ndcg - 1.0) < 1e-15);
    assert_true(fabs(m.map - 1.0) < 1e-15);

    /* fewer candidates than k: P still divides by k */
    uint32_t r3[3] = {4, 0, 2};
    uint32_t rel1[1] = {4};
    evalmetrics_user(r3, 3, 10, rel1, 1, &m);
    assert_true(fabs(m.precision - 0.1) < 1e-15);
    assert_true(m.recall == 1.0 && m.ndcg == 1.0 && m.map == 1.0);

    /* no hit */
    evalmetrics_user(r3 + 1, 2, 10, rel1, 1, &m);
    assert_true(m.precision == 0 && m.recall == 0 && m.ndcg == 0 && m.map == 0 &&
                m.hit_rate == 0);

    /* only the first k of a longer list count */
    uint32_t r12[12] = {20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 4, 5};
    evalmetrics_user(r12, 12, 10, rel1, 1, &m);
    assert_true(m.hit_rate == 0);
    /* k = 3 counts the third rank */
    evalmetrics_user(r3, 3, 3, rel1, 1, &m);
    assert_true(fabs(m.precision - 1.0 / 3.0) < 1e-15);
}

static void test_acc(void **state)
{
    err_t err;
    evalmetrics_acc_t acc;
    assert_int_equal(evalmetrics_acc_init(&acc, 2, 10, &err), 0);
    uint32_t a[2] = {1, 2}, b[2] = {2, 3}, ra[1] = {1}, rb[2] = {7, 8};
    assert_int_equal(evalmetrics_acc_add(&acc, a, 2, ra, 1, &err), 0);
    assert_int_equal(evalmetrics_acc_add(&acc, b, 2, rb, 2, &err), 0);
    uint32_t bad[1] = {10};
    assert_int_equal(evalmetrics_acc_add(&acc, bad, 1, ra, 1, &err), -1);
    assert_non_null(strstr(err.msg, "outside the universe"));
    evalmetrics_ranking_t m;
    evalmetrics_acc_result(&acc, &m);
    assert_int_equal(m.users, 2);
    assert_true(fabs(m.precision - 0.25) < 1e-15); /* (1/2 + 0) / 2 */
    assert_true(fabs(m.recall - 0.5) < 1e-15);
    assert_true(fabs(m.ndcg - 0.5) < 1e-15);
    assert_true(fabs(m.hit_rate - 0.5) < 1e-15);
    assert_true(fabs(m.coverage - 0.3) < 1e-15); /* {1,2,3} of 10 */
    evalmetrics_acc_free(&acc);

    assert_int_equal(evalmetrics_acc_init(&acc, 10, 5, &err), 0);
    evalmetrics_acc_result(&acc, &m);
    assert_true(m.users == 0 && m.precision == 0 && m.coverage == 0);
    evalmetrics_acc_free(&acc);
}

static void test_rating(void **state)
{
    evalmetrics_rating_acc_t acc;
    evalmetrics_rating_init(&acc, 1, 5);
    evalmetrics_rating_add(&acc, 6.0, 5.0);  /* clipped to 5: error 0 */
    evalmetrics_rating_add(&acc, 0.0, 1.0);  /* clipped to 1: error 0 */
    evalmetrics_rating_add(&acc, 3.5, 4.0);  /* 0.5 */
    evalmetrics_rating_add(&acc, NAN, 2.0);  /* middle 3: 1 */
    evalmetrics_rating_t r;
    evalmetrics_rating_result(&acc, &r);
    assert_int_equal(r.pairs, 4);
    assert_true(fabs(r.rmse - sqrt(1.25 / 4)) < 1e-15);
    assert_true(fabs(r.mae - 1.5 / 4) < 1e-15);
}

/* ---- the fixture ---- */

typedef struct fixture {
    dataset_t *ds;
    evalproto_split_t *split;
    uint32_t *lists; /* [nusers][10] universe indices, UINT32_MAX when unset */
    double want[6];
    long want_users;
} fixture_t;

static const char *const names[6] = {"P@10", "R@10", "NDCG@10", "MAP@10", "HR@10", "Coverage@10"};

static int load_fixture(fixture_t *f)
{
    memset(f, 0, sizeof *f);
    char *dir = testutil_shared_or_skip("data/ml-100k");
    char *tsv = testutil_shared_or_skip("fixtures/ml100k_ua_popularity_top10.tsv");
    char *js = testutil_shared_or_skip("fixtures/ml100k_ua_popularity_top10_metrics.json");
    if (!dir || !tsv || !js) {
        free(dir);
        free(tsv);
        free(js);
        return -1;
    }
    err_t err;
    if (dataset_load(dir, &f->ds, NULL, &err) != 0)
        fail_msg("%s", err.msg);
    if (evalproto_split_ml100k(f->ds, "ua", &f->split, &err) != 0)
        fail_msg("%s", err.msg);
    size_t jl;
    char *jtext = testutil_read_file(js, &jl);
    cJSON *root = cJSON_Parse(jtext);
    assert_non_null(root);
    cJSON *ml = cJSON_GetObjectItem(root, "ml100k");
    cJSON *met = cJSON_GetObjectItem(ml, "metrics");
    for (int i = 0; i < 6; i++) {
        cJSON *v = cJSON_GetObjectItem(met, names[i]);
        assert_true(cJSON_IsNumber(v));
        f->want[i] = v->valuedouble;
    }
    f->want_users = (long)cJSON_GetObjectItem(ml, "n_eval_users")->valuedouble;
    cJSON_Delete(root);
    free(jtext);

    uint32_t nu = f->split->nusers;
    f->lists = malloc((size_t)nu * 10 * sizeof(uint32_t));
    memset(f->lists, 0xff, (size_t)nu * 10 * sizeof(uint32_t));
    csv_opts_t co = {"\t", true};
    csv_reader_t *r = csv_open_file(tsv, NULL, &co, &err);
    assert_non_null(r);
    assert_int_equal(csv_next(r, &err), 1); /* header */
    assert_true(csv_field_is(csv_field(r, 0), "user"));
    assert_true(csv_field_is(csv_field(r, 2), "item"));
    int rc;
    while ((rc = csv_next(r, &err)) == 1) {
        csv_field_t fu = csv_field(r, 0), fr = csv_field(r, 1), fi = csv_field(r, 2);
        uint32_t u = idmap_find(f->ds->users, fu.ptr, fu.len);
        uint32_t c = catalog_find(f->ds->catalog, fi.ptr, fi.len);
        int rank = atoi(fr.ptr);
        assert_true(u < nu && c != IDMAP_NONE && rank >= 1 && rank <= 10);
        f->lists[(size_t)u * 10 + (size_t)(rank - 1)] = f->split->cat_item[c];
    }
    assert_int_equal(rc, 0);
    csv_close(r);
    free(dir);
    free(tsv);
    free(js);
    return 0;
}

static void free_fixture(fixture_t *f)
{
    evalproto_split_free(f->split);
    dataset_free(f->ds);
    free(f->lists);
}

static void check_metrics(const fixture_t *f, const evalmetrics_ranking_t *m)
{
    double got[6] = {m->precision, m->recall, m->ndcg, m->map, m->hit_rate, m->coverage};
    assert_int_equal((long)m->users, f->want_users);
    for (int i = 0; i < 6; i++)
        if (fabs(got[i] - f->want[i]) > 1e-12)
            fail_msg("%s: got %.17g, fixture %.17g", names[i], got[i], f->want[i]);
}

static void test_fixture_lists(void **state)
{
    fixture_t f;
    if (load_fixture(&f) != 0)
        skip();
    err_t err;
    evalproto_stats_t st;
    evalproto_split_stats(f.split, &st);
    assert_int_equal(st.ntrain, 90570);
    assert_int_equal(st.ntest, 9430);
    assert_int_equal(st.nitems, 1682);
    assert_int_equal(st.eval_users, 934);
    assert_int_equal(st.relevant, 5469);
    assert_int_equal(st.relevant_unseen, 1);

    evalmetrics_acc_t acc;
    assert_int_equal(evalmetrics_acc_init(&acc, 10, f.split->nitems, &err), 0);
    const evalproto_csr_t *te = &f.split->test_by_user;
    uint32_t rel[1000];
    for (uint32_t u = 0; u < f.split->nusers; u++) {
        size_t nrel = 0;
        for (size_t p = te->off[u]; p < te->off[u + 1]; p++)
            if (te->value[p] >= 4)
                rel[nrel++] = te->item[p];
        if (!nrel)
            continue;
        const uint32_t *l = f.lists + (size_t)u * 10;
        for (int j = 0; j < 10; j++)
            assert_int_not_equal(l[j], UINT32_MAX);
        assert_int_equal(evalmetrics_acc_add(&acc, l, 10, rel, nrel, &err), 0);
    }
    evalmetrics_ranking_t m;
    evalmetrics_acc_result(&acc, &m);
    evalmetrics_acc_free(&acc);
    check_metrics(&f, &m);
    free_fixture(&f);
}

typedef struct pop_ctx {
    const float *scores;
    const fixture_t *f;
    size_t compared;
} pop_ctx_t;

static int pop_score(void *ctx, const evalproto_query_t *q, float *scores, err_t *err)
{
    const pop_ctx_t *c = ctx;
    for (size_t j = 0; j < q->ncand; j++)
        scores[q->cand[j]] = c->scores[q->cand[j]];
    return 0;
}

static void pop_list(void *ctx, uint32_t user, const uint32_t *top, size_t n)
{
    pop_ctx_t *c = ctx;
    assert_int_equal(n, 10);
    assert_memory_equal(top, c->f->lists + (size_t)user * 10, 10 * sizeof(uint32_t));
    c->compared++;
}

static void test_fixture_model(void **state)
{
    fixture_t f;
    if (load_fixture(&f) != 0)
        skip();
    err_t err;
    popularity_t *pop;
    assert_int_equal(popularity_fit(f.split->train, f.ds->catalog, NULL, &pop, &err), 0);
    float *sc = malloc(pop->nitems * sizeof(float));
    popularity_scores(pop, POPULARITY_OVERALL, sc);
    pop_ctx_t ctx = {sc, &f, 0};
    evalproto_rank_opts_t o = {10, pop_score, &ctx, pop_list, &ctx};
    evalmetrics_ranking_t m;
    if (evalproto_run_ranking(f.split, &o, &m, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(ctx.compared, 934);
    check_metrics(&f, &m);
    free(sc);
    popularity_free(pop);
    free_fixture(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_user_hand),
        cmocka_unit_test(test_acc),
        cmocka_unit_test(test_rating),
        cmocka_unit_test(test_fixture_lists),
        cmocka_unit_test(test_fixture_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
