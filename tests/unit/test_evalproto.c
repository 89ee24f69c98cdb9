/* test_evalproto.c: evaluation splits and loops: the universe's raw-id
 * order, candidates and relevant sets on a tiny split file, split-file
 * errors, validation carve-outs, R2's loop, and the R1/R3 counts of
 * EVALUATION.md on ml-100k (skipped without ../shared). */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/data/dataset.h"
#include "tools/recsys-eval/evalproto.h"
#include "common/math/topk.h"

static const char ratings_csv[] =
    "user_id,item_id,rating\n"
    "u1,10,5\nu1,9,3\nu1,b,4\nu2,a,2\nu2,10,1\nu3,2,4\n";

static dataset_t *tiny(void)
{
    dataset_file_t f[1] = {{"ratings.csv", ratings_csv, sizeof ratings_csv - 1}};
    dataset_t *ds = NULL;
    err_t err;
    if (dataset_load_files(f, 1, &ds, NULL, &err) != 0)
        fail_msg("%s", err.msg);
    return ds;
}

/* The split: u1 trains on 10, tests 9 (3) and b (4); u2 trains on a,
 * tests 10 (5) and 2 (4); u3 trains on 2 only. */
static const char split_tsv[] = "user\titem\trating\ttimestamp\tis_test\n"
                                "u1\t10\t5\t100\t0\n"
                                "u1\t9\t3\t\t1\n"
                                "u1\tb\t4\t7\t1\n"
                                "u2\ta\t2\t1\t0\n"
                                "u2\t10\t5\t1\t1\n"
                                "u2\t2\t4\t1\t1\n"
                                "u3\t2\t4\t1\t0\n";

typedef struct lists {
    uint32_t user[8];
    uint32_t top[8][8];
    size_t n[8], count;
} lists_t;

static void keep_list(void *ctx, uint32_t user, const uint32_t *top, size_t n)
{
    lists_t *l = ctx;
    l->user[l->count] = user;
    memcpy(l->top[l->count], top, n * sizeof *top);
    l->n[l->count++] = n;
}

static int score_zero(void *ctx, const evalproto_query_t *q, float *scores, err_t *err)
{
    for (size_t j = 0; j < q->ncand; j++)
        scores[q->cand[j]] = 0.0f;
    return 0;
}

static int predict_three(void *ctx, uint32_t user, const uint32_t *items, size_t n, float *pred,
                         err_t *err)
{
    for (size_t j = 0; j < n; j++)
        pred[j] = 3.0f;
    return 0;
}

static const char *uid(const evalproto_split_t *s, uint32_t item)
{
    return catalog_id(s->ds->catalog, s->item_cat[item]);
}

static void test_tiny_split(void **state)
{
    dataset_t *ds = tiny();
    evalproto_split_t *s;
    err_t err;
    if (evalproto_split_parse(ds, "split.tsv", split_tsv, sizeof split_tsv - 1, &s, &err) != 0)
        fail_msg("%s", err.msg);
    /* universe: numeric ids by value, then the others by bytes */
    assert_int_equal(s->nitems, 5);
    const char *order[5] = {"2", "9", "10", "a", "b"};
    for (uint32_t i = 0; i < 5; i++)
        assert_string_equal(uid(s, i), order[i]);
    evalproto_stats_t st;
    evalproto_split_stats(s, &st);
    assert_int_equal(st.ntrain, 3);
    assert_int_equal(st.ntest, 4);
    assert_int_equal(st.eval_users, 2);  /* u1 (b), u2 (10, 2) */
    assert_int_equal(st.relevant, 3);
    assert_int_equal(st.relevant_unseen, 1); /* b: nobody trained on it */

    /* equal scores: ties to the lower raw id, train items never listed */
    lists_t l = {0};
    evalproto_rank_opts_t o = {3, score_zero, NULL, keep_list, &l};
    evalmetrics_ranking_t m;
    assert_int_equal(evalproto_run_ranking(s, &o, &m, &err), 0);
    assert_int_equal(l.count, 2);
    assert_int_equal(m.users, 2);
    /* u1 (train 10): 2, 9, a; u2 (train a): 2, 9, 10 */
    assert_string_equal(uid(s, l.top[0][0]), "2");
    assert_string_equal(uid(s, l.top[0][1]), "9");
    assert_string_equal(uid(s, l.top[0][2]), "a");
    assert_string_equal(uid(s, l.top[1][2]), "10");
    /* u1: no hit (b not in top 3); u2: hits 2 (rank 1) and 10 (rank 3) */
    assert_true(fabs(m.precision - (0 + 2.0 / 3) / 2) < 1e-12);
    assert_true(fabs(m.recall - 0.5) < 1e-12);
    assert_true(fabs(m.hit_rate - 0.5) < 1e-12);
    assert_true(fabs(m.coverage - 4.0 / 5) < 1e-12);

    /* R2: a constant 3 against 3, 4, 5, 4 */
    evalmetrics_rating_t r;
    assert_int_equal(evalproto_run_rating(s, predict_three, NULL, 1, 5, &r, &err), 0);
    assert_int_equal(r.pairs, 4);
    assert_true(fabs(r.rmse - sqrt(6.0 / 4)) < 1e-12);
    assert_true(fabs(r.mae - 1.0) < 1e-12);
    evalproto_split_free(s);
    dataset_free(ds);
}

static void test_split_errors(void **state)
{
    struct {
        const char *text, *want;
    } cases[] = {
        {"", "empty file"},
        {"user\titem\trating\tts\tis_test\n", "split.tsv:1: header must be"},
        {"user\titem\trating\ttimestamp\tis_test\nu1\t10\t4\t1\n", "split.tsv:2: expected 5 fields, found 4"},
        {"user\titem\trating\ttimestamp\tis_test\nu1\t77\t4\t1\t1\n", "split.tsv:2: unknown item id '77'"},
        {"user\titem\trating\ttimestamp\tis_test\nu1\t10\tx\t1\t1\n", "split.tsv:2: rating is not a number"},
        {"user\titem\trating\ttimestamp\tis_test\nu1\t10\tnan\t1\t1\n", "split.tsv:2: rating is not a number"},
        {"user\titem\trating\ttimestamp\tis_test\nu1\t10\t4\t1.5\t1\n", "split.tsv:2: timestamp is not an integer"},
        {"user\titem\trating\ttimestamp\tis_test\nu1\t10\t4\t1\t2\n", "split.tsv:2: is_test must be 0 or 1"},
        {"user\titem\trating\ttimestamp\tis_test\n\t10\t4\t1\t1\n", "split.tsv:2: empty user id"},
        {"user\titem\trating\ttimestamp\tis_test\nu1\t10\t4\t1\t0\n", "split.tsv: no test rows"},
        {"user\titem\trating\ttimestamp\tis_test\nu1\t10\t4\t1\t1\nu1\t10\t3\t1\t1\n",
         "split.tsv: user 'u1' rated item '10' twice in the test set"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dataset_t *ds = tiny();
        evalproto_split_t *s = (evalproto_split_t *)1;
        err_t err;
        assert_int_equal(evalproto_split_parse(ds, "split.tsv", cases[i].text, strlen(cases[i].text),
                                               &s, &err),
                         -1);
        assert_null(s);
        if (!strstr(err.msg, cases[i].want))
            fail_msg("case %zu: got '%s', want '%s'", i, err.msg, cases[i].want);
        dataset_free(ds);
    }
    dataset_t *ds = tiny();
    uint32_t *items;
    size_t n;
    err_t err;
    const char list[] = "10\n9\n10\n";
    assert_int_equal(evalproto_parse_item_list(ds, "cold.txt", list, sizeof list - 1, &items, &n, &err), 0);
    assert_int_equal(n, 2);
    free(items);
    const char bad[] = "10\nzz\n";
    assert_int_equal(evalproto_parse_item_list(ds, "cold.txt", bad, sizeof bad - 1, &items, &n, &err), -1);
    assert_string_equal(err.msg, "cold.txt:2: unknown item id 'zz'");
    dataset_free(ds);
}

/* ---- ml-100k ---- */

static dataset_t *ml100k(void)
{
    char *dir = testutil_shared_or_skip("data/ml-100k");
    if (!dir)
        return NULL;
    dataset_t *ds = NULL;
    err_t err;
    if (dataset_load(dir, &ds, NULL, &err) != 0)
        fail_msg("%s", err.msg);
    free(dir);
    return ds;
}

static void test_r3_counts(void **state)
{
    dataset_t *ds = ml100k();
    if (!ds)
        skip();
    char *cp = testutil_shared_or_skip("fixtures/ml100k_cold_items_seed7.txt");
    if (!cp) {
        dataset_free(ds);
        skip();
    }
    err_t err;
    evalproto_split_t *ua, *cold;
    assert_int_equal(evalproto_split_ml100k(ds, "ua", &ua, &err), 0);
    size_t len;
    char *text = testutil_read_file(cp, &len);
    uint32_t *items;
    size_t n;
    assert_int_equal(evalproto_parse_item_list(ds, cp, text, len, &items, &n, &err), 0);
    assert_int_equal(n, 336);
    if (evalproto_split_cold(ua, items, n, &cold, &err) != 0)
        fail_msg("%s", err.msg);
    evalproto_stats_t st;
    evalproto_split_stats(cold, &st);
    assert_int_equal(st.ntrain, 69585);
    assert_int_equal(st.ntest, 23341);
    assert_int_equal(st.eval_users, 938);
    assert_int_equal(st.ncandidates, 336);
    assert_int_equal(st.nitems, 1682);
    /* no candidate is a train item */
    for (size_t k = 0; k < cold->train->n; k++)
        assert_false(topk_bitmap_test(cold->candidates, cold->cat_item[cold->train->item[k]]));

    evalproto_split_free(cold);
    free(items);
    free(text);
    free(cp);

    /* validation from ua's train: a partition of it, deterministic */
    evalproto_split_t *v1, *v2, *v3;
    assert_int_equal(evalproto_split_validation(ua, 0.1, 42, &v1, &err), 0);
    assert_int_equal(evalproto_split_validation(ua, 0.1, 42, &v2, &err), 0);
    assert_int_equal(evalproto_split_validation(ua, 0.1, 43, &v3, &err), 0);
    assert_int_equal(v1->train->n + v1->test->n, ua->train->n);
    assert_int_equal(v1->test->n, v2->test->n);
    assert_memory_equal(v1->test_by_user.item, v2->test_by_user.item, v1->test->n * sizeof(uint32_t));
    int differs = v1->test->n != v3->test->n ||
                  memcmp(v1->test_by_user.item, v3->test_by_user.item, v1->test->n * sizeof(uint32_t));
    assert_true(differs);
    for (uint32_t u = 0; u < ua->nusers; u++) {
        size_t nt = ua->train_by_user.off[u + 1] - ua->train_by_user.off[u];
        size_t h = v1->test_by_user.off[u + 1] - v1->test_by_user.off[u];
        size_t want = (size_t)floor(0.1 * (double)nt + 0.5);
        if (want < 1)
            want = 1;
        assert_int_equal(h, nt < 2 ? 0 : want);
        /* held-out items are train items of ua, not test items */
        for (size_t p = v1->test_by_user.off[u]; p < v1->test_by_user.off[u + 1]; p++) {
            uint32_t it = v1->test_by_user.item[p];
            int found = 0;
            for (size_t q = ua->train_by_user.off[u]; q < ua->train_by_user.off[u + 1]; q++)
                found |= ua->train_by_user.item[q] == it;
            assert_true(found);
        }
    }
    evalproto_split_free(v1);
    evalproto_split_free(v2);
    evalproto_split_free(v3);

    evalproto_split_t *vc;
    assert_int_equal(evalproto_split_validation_cold(ua, 0.2, 7, &vc, &err), 0);
    assert_int_equal(vc->train->n + vc->test->n, ua->train->n);
    uint32_t trained = 0;
    {
        uint8_t *seen = calloc(ua->ncat, 1);
        for (size_t k = 0; k < ua->train->n; k++)
            seen[ua->train->item[k]] = 1;
        for (uint32_t i = 0; i < ua->ncat; i++)
            trained += seen[i];
        free(seen);
    }
    assert_int_equal(vc->ncandidates, (uint32_t)floor(0.2 * trained + 0.5));
    for (size_t k = 0; k < vc->train->n; k++)
        assert_false(topk_bitmap_test(vc->candidates, vc->cat_item[vc->train->item[k]]));
    for (size_t k = 0; k < vc->test->n; k++)
        assert_true(topk_bitmap_test(vc->candidates, vc->cat_item[vc->test->item[k]]));
    evalproto_split_free(vc);
    evalproto_split_free(ua);
    dataset_free(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tiny_split),
        cmocka_unit_test(test_split_errors),
        cmocka_unit_test(test_r3_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
