/* test_cf_model.c: what every CF model shares: popularity (and the empty
 * history falling back to it), history merging (events override stored
 * ratings), filters (exclude ids, genres, years, seen items), candidate
 * scoring against full scoring, bad indices, model files (round trip of
 * every kind with ids and catalog attributes, corrupt / truncated / foreign
 * files refused with a message), references, options. */
#include "testutil.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/data/catalog.h"
#include "common/base/config.h"
#include "common/data/idmap.h"
#include "common/wire/modelfile.h"
#include "services/cf/cf_model.h"

/* 6 users x 8 items, ratings 1..5. */
static const uint32_t tu[] = {0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 3, 3, 4, 4, 4, 5, 5, 5, 5, 5};
static const uint32_t ti[] = {0, 1, 2, 5, 0, 1, 3, 1, 2, 3, 6, 0, 4, 2, 5, 7, 0, 1, 2, 3, 4};
static const float tv[] = {5, 4, 3, 1, 4, 4, 2, 5, 3, 3, 4, 2, 5, 4, 1, 3, 5, 5, 4, 2, 1};
#define NT (sizeof tu / sizeof tu[0])

static void data(cf_data_t *d)
{
    err_t err;
    assert_int_equal(cf_data_from_triplets(d, 6, 8, tu, ti, tv, NT, &err), 0);
}

static catalog_t *small_catalog(void)
{
    catalog_t *c = catalog_new();
    err_t err;
    static const char *genres[] = {"Action", "Comedy", "Drama", "Action", "Comedy", "Drama", "Action", "Comedy"};
    for (int i = 0; i < 8; i++) {
        char id[8];
        uint32_t idx;
        snprintf(id, sizeof id, "m%d", 10 + i);
        assert_int_equal(catalog_add_item(c, id, strlen(id), &idx, &err), 0);
        assert_int_equal(catalog_add_genre(c, idx, genres[i], strlen(genres[i])), 0);
        catalog_set_year(c, idx, 1990 + i);
    }
    assert_int_equal(catalog_finish(c, &err), 0);
    return c;
}

static void test_popularity(void **state)
{
    cf_data_t d;
    data(&d);
    cf_model_t *m;
    err_t err;
    assert_int_equal(cf_train_pop(&d, &m, &err), 0);
    /* Counts: item0 4, item1 4, item2 4, item3 3, item4 2, item5 2, item6 1, item7 1. */
    cf_scratch_t *s = cf_scratch_new();
    topk_item_t top[8];
    cf_who_t nobody = {CF_NO_USER, NULL, 0};
    assert_int_equal(cf_recommend(m, s, &nobody, NULL, 8, top, NULL, &err), 8);
    uint32_t want[] = {0, 1, 2, 3, 4, 5, 6, 7};
    for (int k = 0; k < 8; k++)
        assert_int_equal(top[k].index, want[k]);
    assert_true(top[0].score == 4.0f && top[3].score == 3.0f);
    /* User 0 (0, 1, 2, 5 seen): 3, 4, 6, 7. */
    cf_who_t u0 = {0, NULL, 0};
    assert_int_equal(cf_recommend(m, s, &u0, NULL, 8, top, NULL, &err), 4);
    assert_int_equal(top[0].index, 3);
    assert_int_equal(top[1].index, 4);
    /* Co-occurrence similarity: 1 is with 0 in users 0, 1, 5. */
    assert_true(cf_similar(m, s, 0, NULL, 3, top, &err) == 3);
    assert_int_equal(top[0].index, 1);
    assert_true(fabsf(top[0].score - 3.0f / 4.0f) < 1e-6f);
    cf_scratch_free(s);
    cf_model_release(m);
    /* An empty history on an ALS model answers with popularity too. */
    cf_params_t p;
    cf_params_default(&p);
    p.als.factors = 4;
    p.als.iterations = 3;
    assert_int_equal(cf_train_als(&d, &p.als, &m, &err), 0);
    s = cf_scratch_new();
    size_t used = 99;
    assert_int_equal(cf_recommend(m, s, &nobody, NULL, 3, top, &used, &err), 3);
    assert_int_equal(used, 0);
    assert_int_equal(top[0].index, 0);
    assert_int_equal(top[2].index, 2);
    cf_scratch_free(s);
    cf_model_release(m);
    cf_data_free(&d);
}

static void test_history_and_filters(void **state)
{
    cf_data_t d;
    data(&d);
    cf_params_t p;
    cf_params_default(&p);
    p.ease.lambda = 2.0f;
    cf_model_t *m;
    err_t err;
    assert_int_equal(cf_train_ease(&d, &p.ease, &m, &err), 0);
    catalog_t *cat = small_catalog();
    cf_scratch_t *s = cf_scratch_new();
    topk_item_t top[8];
    size_t used;
    /* Known user 3 (items 0, 4) plus events: 4 again (overrides) and 6. */
    cf_event_t ev[] = {{6, 5.0f}, {4, 1.0f}, {6, 2.0f}};
    cf_who_t who = {3, ev, 3};
    long n = cf_recommend(m, s, &who, NULL, 8, top, &used, &err);
    assert_int_equal(used, 3); /* 0, 4, 6 */
    assert_int_equal(n, 5);
    for (long k = 0; k < n; k++)
        assert_true(top[k].index != 0 && top[k].index != 4 && top[k].index != 6);
    /* The same as an anonymous history with the merged values (binary X). */
    cf_event_t merged[] = {{0, 2.0f}, {4, 1.0f}, {6, 2.0f}};
    cf_who_t anon = {CF_NO_USER, merged, 3};
    topk_item_t top2[8];
    assert_int_equal(cf_recommend(m, s, &anon, NULL, 8, top2, NULL, &err), 5);
    for (int k = 0; k < 5; k++) {
        assert_int_equal(top[k].index, top2[k].index);
        assert_true(top[k].score == top2[k].score);
    }
    /* Filters need the catalog; then genres, years and exclusions apply. */
    filter_t f = {0};
    f.genre_mask = 1; /* genre 0 = Action: items 0, 3, 6 */
    assert_int_equal(cf_recommend(m, s, &who, &f, 8, top, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "catalog"));
    assert_int_equal(cf_model_set_catalog(m, NULL, cat, &err), 0);
    n = cf_recommend(m, s, &who, &f, 8, top, NULL, &err);
    assert_int_equal(n, 1);
    assert_int_equal(top[0].index, 3);
    f.genre_mask = 0;
    f.year_min = 1993;
    f.year_max = 1996; /* items 3..6 */
    uint32_t excl[] = {5, 77};
    f.excluded = excl;
    f.nexcluded = 2;
    n = cf_recommend(m, s, &who, &f, 8, top, NULL, &err);
    assert_int_equal(n, 1);
    assert_int_equal(top[0].index, 3);
    f.include_seen = 1;
    n = cf_recommend(m, s, &who, &f, 8, top, NULL, &err);
    assert_int_equal(n, 3); /* 3, 4, 6 */
    /* Candidate scores equal the full scores. */
    const float *all = cf_score_all(m, s, &who, NULL, &err);
    float full[8];
    memcpy(full, all, sizeof full);
    uint32_t cands[] = {7, 1, 1, 3};
    float sc[4];
    assert_int_equal(cf_score_items(m, s, &who, cands, 4, sc, &err), 0);
    for (int k = 0; k < 4; k++)
        assert_true(sc[k] == full[cands[k]]);
    /* Bad indices are errors, not crashes. */
    uint32_t bad = 8;
    assert_int_equal(cf_score_items(m, s, &who, &bad, 1, sc, &err), -1);
    assert_non_null(strstr(err.msg, "out of range"));
    cf_who_t ghost = {6, NULL, 0};
    assert_int_equal(cf_recommend(m, s, &ghost, NULL, 3, top, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "user index 6"));
    cf_event_t badev[] = {{9, 1.0f}};
    cf_who_t badwho = {CF_NO_USER, badev, 1};
    assert_int_equal(cf_recommend(m, s, &badwho, NULL, 3, top, NULL, &err), -1);
    cf_event_t nanev[] = {{1, NAN}};
    cf_who_t nanwho = {CF_NO_USER, nanev, 1};
    assert_int_equal(cf_recommend(m, s, &nanwho, NULL, 3, top, NULL, &err), -1);
    assert_int_equal(cf_similar(m, s, 8, NULL, 3, top, &err), -1);
    cf_scratch_free(s);
    catalog_free(cat);
    cf_model_release(m);
    cf_data_free(&d);
}

static cf_model_t *train_kind(const cf_data_t *d, cf_kind_t kind)
{
    cf_params_t p;
    cf_params_default(&p);
    p.kind = kind;
    p.als.factors = 4;
    p.als.iterations = 4;
    p.mf.factors = 3;
    p.mf.iterations = 4;
    p.ease.lambda = 3.0f;
    p.ease.binary = 0;
    cf_model_t *m;
    err_t err;
    assert_int_equal(cf_train(d, &p, &m, &err), 0);
    assert_int_equal(m->kind, kind);
    return m;
}

static void same_answers(const cf_model_t *a, const cf_model_t *b)
{
    cf_scratch_t *s = cf_scratch_new();
    err_t err;
    topk_item_t ta[8], tb[8];
    cf_event_t ev[] = {{2, 5.0f}, {7, 3.0f}};
    for (uint32_t u = 0; u <= 6; u++) {
        cf_who_t who = {u == 6 ? CF_NO_USER : u, u % 2 ? ev : NULL, u % 2 ? 2 : 0};
        long na = cf_recommend(a, s, &who, NULL, 8, ta, NULL, &err);
        long nb = cf_recommend(b, s, &who, NULL, 8, tb, NULL, &err);
        assert_int_equal(na, nb);
        for (long k = 0; k < na; k++) {
            assert_int_equal(ta[k].index, tb[k].index);
            assert_true(ta[k].score == tb[k].score);
        }
        if (a->kind == CF_KIND_MF) {
            uint32_t items[] = {0, 5, 7};
            float pa[3], pb[3];
            assert_int_equal(cf_predict(a, s, &who, items, 3, pa, &err), 0);
            assert_int_equal(cf_predict(b, s, &who, items, 3, pb, &err), 0);
            assert_memory_equal(pa, pb, sizeof pa);
        }
    }
    cf_scratch_free(s);
}

static void test_save_load(void **state)
{
    cf_data_t d;
    data(&d);
    char *dir = testutil_tmpdir("cf_model");
    char *path = testutil_join(dir, "cf.model");
    catalog_t *cat = small_catalog();
    idmap_t *users = idmap_new();
    for (int u = 0; u < 6; u++) {
        char id[8];
        uint32_t idx;
        snprintf(id, sizeof id, "u%d", u);
        assert_int_equal(idmap_intern(users, id, strlen(id), &idx), 1);
    }
    cf_kind_t kinds[] = {CF_KIND_ALS, CF_KIND_EASE, CF_KIND_MF, CF_KIND_POP};
    err_t err;
    for (int k = 0; k < 4; k++) {
        cf_model_t *m = train_kind(&d, kinds[k]);
        assert_int_equal(cf_model_set_catalog(m, users, cat, &err), 0);
        snprintf(m->version, sizeof m->version, "test-%d", k);
        assert_int_equal(cf_model_save(m, path, &err), 0);
        cf_model_t *l;
        if (cf_model_load(path, &l, &err) != 0)
            fail_msg("%s", err.msg);
        assert_int_equal(l->kind, m->kind);
        assert_int_equal(l->n_users, 6);
        assert_int_equal(l->n_items, 8);
        assert_int_equal(l->dim, m->dim);
        assert_string_equal(l->version, m->version);
        assert_true(l->params.als.reg == m->params.als.reg && l->params.mf.reg == m->params.mf.reg &&
                    l->params.ease.binary == m->params.ease.binary && l->mu == m->mu);
        assert_non_null(l->file);
        assert_int_equal(idmap_find(l->user_ids, "u3", 2), 3);
        assert_int_equal(idmap_find(l->item_ids, "m17", 3), 7);
        assert_true(l->genre_mask[4] == m->genre_mask[4] && l->year[4] == 1994);
        same_answers(m, l);
        /* A second reference outlives the first release. */
        cf_model_t *r = cf_model_retain(l);
        cf_model_release(l);
        same_answers(m, r);
        cf_model_release(r);
        cf_model_release(m);
    }
    /* Corruption: one flipped byte in a section, a truncated file, a model
     * file of another kind. */
    size_t len;
    char *buf = testutil_read_file(path, &len);
    assert_non_null(buf);
    cf_model_t *l = NULL;
    buf[300] ^= 0x40;
    testutil_write_file(path, buf, len);
    assert_int_equal(cf_model_load(path, &l, &err), -1);
    assert_null(l);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, "checksum"));
    buf[300] ^= 0x40;
    testutil_write_file(path, buf, len / 2);
    assert_int_equal(cf_model_load(path, &l, &err), -1);
    assert_non_null(strstr(err.msg, path));
    free(buf);
    modelfile_writer_t *w;
    assert_int_equal(modelfile_writer_new(&w, path, "content-tfidf", "v1", &err), 0);
    assert_int_equal(modelfile_writer_finish(w, &err), 0);
    modelfile_writer_free(w);
    assert_int_equal(cf_model_load(path, &l, &err), -1);
    assert_non_null(strstr(err.msg, "not a CF model"));
    /* A CF kind with a missing section. */
    assert_int_equal(modelfile_writer_new(&w, path, "cf-als", "v1", &err), 0);
    assert_int_equal(modelfile_writer_meta(w, "format", CF_MODEL_FORMAT, &err), 0);
    assert_int_equal(modelfile_writer_finish(w, &err), 0);
    modelfile_writer_free(w);
    assert_int_equal(cf_model_load(path, &l, &err), -1);
    assert_non_null(strstr(err.msg, "missing"));
    assert_int_equal(cf_model_load("/nonexistent/cf.model", &l, &err), -1);
    unlink(path);
    idmap_free(users);
    catalog_free(cat);
    free(path);
    free(dir);
    cf_data_free(&d);
}

static void test_options(void **state)
{
    cfg_t *cfg = cfg_new("t", "[options]", "test");
    err_t err;
    assert_int_equal(cfg_add(cfg, "cf", cf_options, &err), 0);
    char *argv[] = {"t", "--cf-model=als", "--cf-factors=8", "--cf-confidence=log", "--cf-mf-reg=0.5", NULL};
    assert_int_equal(cfg_parse(cfg, 5, argv, &err), 0);
    cf_params_t p;
    assert_int_equal(cf_params_from_cfg(cfg, &p, &err), 0);
    assert_int_equal(p.kind, CF_KIND_ALS);
    assert_int_equal(p.als.factors, 8);
    assert_int_equal(p.als.conf, CF_CONF_LOG);
    assert_true(p.mf.reg == 0.5f);
    assert_int_equal(cfg_set(cfg, "cf-model", "nope", &err), 0);
    assert_int_equal(cf_params_from_cfg(cfg, &p, &err), -1);
    assert_non_null(strstr(err.msg, "'nope'"));
    cfg_free(cfg);
    /* Defaults agree with the option table. */
    cf_params_t def;
    cf_params_default(&def);
    cfg = cfg_new("t", "[options]", "test");
    assert_int_equal(cfg_add(cfg, "cf", cf_options, &err), 0);
    char *none[] = {"t", NULL};
    assert_int_equal(cfg_parse(cfg, 1, none, &err), 0);
    assert_int_equal(cf_params_from_cfg(cfg, &p, &err), 0);
    assert_memory_equal(&p, &def, sizeof p);
    cfg_free(cfg);
}

/* Several threads score one read-only model at once, each with its own
 * scratch, and get exactly the single-threaded answers. */
typedef struct conc_arg {
    const cf_model_t *m;
    topk_item_t out[6][8];
    long n[6];
} conc_arg_t;

static void *conc_main(void *p)
{
    conc_arg_t *a = p;
    cf_scratch_t *s = cf_scratch_new();
    err_t err;
    cf_event_t ev[] = {{7, 4.0f}};
    for (int rep = 0; rep < 200; rep++)
        for (uint32_t u = 0; u < 6; u++) {
            cf_who_t who = {u, u % 2 ? ev : NULL, u % 2};
            a->n[u] = cf_recommend(a->m, s, &who, NULL, 8, a->out[u], NULL, &err);
        }
    cf_scratch_free(s);
    return NULL;
}

static void test_concurrent_scoring(void **state)
{
    cf_data_t d;
    data(&d);
    cf_model_t *m = train_kind(&d, CF_KIND_ALS);
    conc_arg_t ref = {m, {{{0, 0}}}, {0}};
    conc_main(&ref);
    conc_arg_t args[4];
    pthread_t tid[4];
    for (int t = 0; t < 4; t++) {
        memset(&args[t], 0, sizeof args[t]);
        args[t].m = cf_model_retain(m);
        assert_int_equal(pthread_create(&tid[t], NULL, conc_main, &args[t]), 0);
    }
    cf_model_release(m); /* the threads' references keep it alive */
    for (int t = 0; t < 4; t++) {
        pthread_join(tid[t], NULL);
        for (int u = 0; u < 6; u++) {
            assert_int_equal(args[t].n[u], ref.n[u]);
            assert_memory_equal(args[t].out[u], ref.out[u], (size_t)ref.n[u] * sizeof(topk_item_t));
        }
        cf_model_release((cf_model_t *)args[t].m);
    }
    cf_data_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_popularity),
        cmocka_unit_test(test_history_and_filters),
        cmocka_unit_test(test_save_load),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_concurrent_scoring),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
