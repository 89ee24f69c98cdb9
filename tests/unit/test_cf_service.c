/*
 * test_cf_service.c: the CF worker's operations (services/cf/cf_service.h)
 * called directly on a tiny dataset (7 items, 5 users): score for a known
 * user, an anonymous history and candidates, popularity for nobody,
 * explanations, filters, cold items through the feature map, similar,
 * predict, items, every validation error,
 * loading through the ops from --data, from model files and from a corrupt
 * file, info and memory, and concurrent requests sharing the scratch pool.
 * Answers are compared with the library's own calls on the same model and
 * with hand-checked facts of the data (seen items, genres, years).
 */
#include "testutil.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/data/dataset.h"
#include "common/data/feedback.h"
#include "services/cf/cf_service.h"

static const char items_csv[] = "item_id,title,year,genres\n"
                                "a,Alpha,1990,Action|Drama\n"
                                "b,Beta,1995,Comedy\n"
                                "c,Gamma,2000,Action\n"
                                "d,Delta,2005,Drama\n"
                                "e,Epsilon,2010,Comedy|Drama\n"
                                "f,Phi,2015,Horror\n"
                                "g,Gee,2020,Action\n";
static const char ratings_csv[] = "user_id,item_id,rating\n"
                                  "u1,a,5\nu1,b,3\nu1,c,4\n"
                                  "u2,a,4\nu2,c,5\nu2,d,2\n"
                                  "u3,b,5\nu3,e,4\nu3,f,1\n"
                                  "u4,c,4\nu4,d,4\nu4,e,5\n"
                                  "u5,a,3\nu5,b,4\nu5,d,5\nu5,f,2\n";

#define C_NONE RECSYS__V1__WORKER_ERROR_CODE__WORKER_ERROR_CODE_NONE
#define C_INVALID RECSYS__V1__WORKER_ERROR_CODE__WORKER_ERROR_CODE_INVALID_ARGUMENT
#define C_NOT_FOUND RECSYS__V1__WORKER_ERROR_CODE__WORKER_ERROR_CODE_NOT_FOUND

static const cf_service_limits_t lim = {.max_k = 50, .max_history = 8, .max_candidates = 8, .implicit_rating = 4};

static dataset_t *tiny_dataset(void)
{
    dataset_file_t files[] = {{"items.csv", items_csv, sizeof items_csv - 1},
                              {"ratings.csv", ratings_csv, sizeof ratings_csv - 1}};
    dataset_t *ds = NULL;
    err_t err;
    assert_int_equal(dataset_load_files(files, 2, &ds, NULL, &err), 0);
    return ds;
}

static void tiny_params(cf_params_t *p, cf_kind_t kind)
{
    cf_params_default(p);
    p->kind = kind;
    p->als.factors = 3;
    p->als.reg = 0.1f;
    p->ease.lambda = 1.0f;
    p->mf.factors = 2;
}

/* A service over the tiny data; with_predict: an mf model alongside. */
static cf_service_t *make(cf_kind_t kind, int with_predict)
{
    dataset_t *ds = tiny_dataset();
    cf_params_t p;
    tiny_params(&p, kind);
    cf_model_t *m, *mf;
    err_t err;
    assert_int_equal(cf_service_train(ds, &p, with_predict, &m, &mf, &err), 0);
    if (with_predict && kind == CF_KIND_MF)
        mf = cf_model_retain(m);
    cf_service_t *s = cf_service_new(m, mf, ds->catalog, &lim, "tiny", &err);
    assert_non_null(s);
    dataset_free(ds);
    return s;
}

/* ---- building requests ---- */

typedef struct call {
    Recsys__V1__WorkerRequest req;
    Recsys__V1__WorkerScoreRequest score;
    Recsys__V1__WorkerSimilarRequest similar;
    Recsys__V1__WorkerPredictRequest predict;
    Recsys__V1__WorkerItemsRequest items;
    Recsys__V1__Filters filters;
    Recsys__V1__HistoryEvent ev[16];
    Recsys__V1__HistoryEvent *evp[16];
    Recsys__V1__WorkerReply reply;
    arena_t arena;
    err_t err;
    Recsys__V1__WorkerErrorCode code;
} call_t;

static void call_init(call_t *c, Recsys__V1__WorkerRequest__BodyCase body)
{
    memset(c, 0, sizeof *c);
    recsys__v1__worker_request__init(&c->req);
    recsys__v1__worker_score_request__init(&c->score);
    recsys__v1__worker_similar_request__init(&c->similar);
    recsys__v1__worker_predict_request__init(&c->predict);
    recsys__v1__worker_items_request__init(&c->items);
    recsys__v1__filters__init(&c->filters);
    for (int i = 0; i < 16; i++) {
        recsys__v1__history_event__init(&c->ev[i]);
        c->evp[i] = &c->ev[i];
    }
    c->req.body_case = body;
    c->req.score = &c->score; /* a union: set per body below */
    if (body == RECSYS__V1__WORKER_REQUEST__BODY_SIMILAR)
        c->req.similar = &c->similar;
    else if (body == RECSYS__V1__WORKER_REQUEST__BODY_PREDICT)
        c->req.predict = &c->predict;
    else if (body == RECSYS__V1__WORKER_REQUEST__BODY_ITEMS)
        c->req.items = &c->items;
    arena_init(&c->arena);
}

static void add_event(call_t *c, size_t *n, const char *item, float rating, Recsys__V1__EventType type)
{
    c->ev[*n].item_id = (char *)item;
    c->ev[*n].rating = rating;
    c->ev[*n].type = type;
    (*n)++;
}

static void run(call_t *c, const cf_service_t *s)
{
    recsys__v1__worker_reply__init(&c->reply);
    err_clear(&c->err);
    c->code = cf_service_ops.handle(s, &c->req, &c->reply, &c->arena, &c->err);
}

static void call_done(call_t *c) { arena_free(&c->arena); }

static const Recsys__V1__WorkerScoredList *scored(call_t *c)
{
    if (c->code != C_NONE)
        fail_msg("unexpected error %d: %s", c->code, c->err.msg);
    assert_int_equal(c->reply.body_case, RECSYS__V1__WORKER_REPLY__BODY_SCORED);
    return c->reply.scored;
}

static void expect_error(call_t *c, const cf_service_t *s, Recsys__V1__WorkerErrorCode code, const char *needle)
{
    run(c, s);
    if (c->code != code || !strstr(c->err.msg, needle))
        fail_msg("want code %d with '%s', got %d: '%s'", code, needle, c->code, c->err.msg);
}

static uint32_t idx_of(const cf_service_t *s, const char *id)
{
    const cf_model_t *m = cf_service_model(s);
    return idmap_find(m->item_ids, id, strlen(id));
}

static int in_list(const char *id, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(id, *list) == 0)
            return 1;
    return 0;
}

/* ---- score ---- */

static void test_score_known_user(void **state)
{
    (void)state;
    for (cf_kind_t kind = CF_KIND_POP; kind <= CF_KIND_MF; kind++) {
        cf_service_t *s = make(kind, 0);
        const cf_model_t *m = cf_service_model(s);
        call_t c;
        call_init(&c, RECSYS__V1__WORKER_REQUEST__BODY_SCORE);
        c.score.user_id = "u1";
        c.score.k = 10;
        c.score.explain = 1;
        run(&c, s);
        const Recsys__V1__WorkerScoredList *l = scored(&c);
        /* u1 saw a, b, c: the other 4 items come back, best first. */
        assert_int_equal(l->n_items, 4);
        assert_int_equal(l->history_used, 3);
        assert_int_equal(l->n_unknown_item_ids, 0);
        static const char *const seen[] = {"a", "b", "c", NULL};
        /* The library's own answer on the same model. */
        cf_scratch_t *sc = cf_scratch_new();
        topk_item_t top[10];
        err_t err;
        cf_who_t who = {idmap_find(m->user_ids, "u1", 2), NULL, 0};
        long n = cf_recommend(m, sc, &who, NULL, 10, top, NULL, &err);
        assert_int_equal(n, 4);
        for (size_t i = 0; i < l->n_items; i++) {
            assert_false(in_list(l->items[i]->item_id, seen));
            assert_string_equal(l->items[i]->item_id, idmap_key(m->item_ids, top[i].index, NULL));
            assert_float_equal(l->items[i]->score, top[i].score, 1e-6);
            if (i > 0)
                assert_true(l->items[i]->score <= l->items[i - 1]->score);
            /* Explanations come from the history (none for popularity). */
            if (kind == CF_KIND_POP)
                assert_true(l->items[i]->because_item_id == NULL || !*l->items[i]->because_item_id);
            else if (l->items[i]->because_item_id && *l->items[i]->because_item_id)
                assert_true(in_list(l->items[i]->because_item_id, seen));
        }
        if (kind == CF_KIND_EASE || kind == CF_KIND_ALS)
            assert_non_null(l->items[0]->because_item_id);
        cf_scratch_free(sc);
        call_done(&c);
        cf_service_free(s);
    }
}

static void test_score_history(void **state)
{
    (void)state;
    cf_service_t *s = make(CF_KIND_ALS, 0);
    const cf_model_t *m = cf_service_model(s);
    call_t c;
    call_init(&c, RECSYS__V1__WORKER_REQUEST__BODY_SCORE);
    size_t n = 0;
    add_event(&c, &n, "a", 5, RECSYS__V1__EVENT_TYPE__EVENT_TYPE_RATING);
    add_event(&c, &n, "nope", 4, RECSYS__V1__EVENT_TYPE__EVENT_TYPE_RATING);
    add_event(&c, &n, "c", 0, RECSYS__V1__EVENT_TYPE__EVENT_TYPE_VIEW);
    add_event(&c, &n, "f", 0, RECSYS__V1__EVENT_TYPE__EVENT_TYPE_DISLIKE);
    c.score.history = c.evp;
    c.score.n_history = n;
    c.score.user_id = "stranger"; /* unknown user: just the history */
    c.score.k = 10;
    run(&c, s);
    const Recsys__V1__WorkerScoredList *l = scored(&c);
    /* a and c are used, f (disliked) too, as negative feedback, and it is
     * seen; "nope" unknown. */
    assert_int_equal(l->history_used, 3);
    assert_int_equal(l->n_unknown_item_ids, 1);
    assert_string_equal(l->unknown_item_ids[0], "nope");
    assert_int_equal(l->n_items, 4); /* b d e g */
    static const char *const seen[] = {"a", "c", "f", NULL};
    for (size_t i = 0; i < l->n_items; i++)
        assert_false(in_list(l->items[i]->item_id, seen));
    /* Same as the library's fold-in of (a 5, c 4, f the dislike rating). */
    cf_scratch_t *sc = cf_scratch_new();
    cf_event_t ev[] = {{idx_of(s, "a"), 5}, {idx_of(s, "c"), 4}, {idx_of(s, "f"), FEEDBACK_DISLIKE_RATING}};
    cf_who_t who = {CF_NO_USER, ev, 3};
    float want[1];
    uint32_t b = idx_of(s, l->items[0]->item_id);
    err_t err;
    assert_int_equal(cf_score_items(m, sc, &who, &b, 1, want, &err), 0);
    assert_float_equal(l->items[0]->score, want[0], 1e-5);
    call_done(&c);

    /* include_seen lets the disliked and rated items back. */
    call_init(&c, RECSYS__V1__WORKER_REQUEST__BODY_SCORE);
    n = 0;
    add_event(&c, &n, "a", 5, RECSYS__V1__EVENT_TYPE__EVENT_TYPE_RATING);
    add_event(&c, &n, "f", 0, RECSYS__V1__EVENT_TYPE__EVENT_TYPE_DISLIKE);
    c.score.history = c.evp;
    c.score.n_history = n;
    c.score.k = 7;
    c.filters.include_seen = 1;
    c.score.filters = &c.filters;
    run(&c, s);
    assert_int_equal(scored(&c)->n_items, 7);
    call_done(&c);
    cf_scratch_free(sc);
    cf_service_free(s);
}

/* Scores of every item for the request c (k = 0, every item a candidate)
 * must equal the library's for who: the worker folded in exactly who. */
static void expect_scores_of(call_t *c, const cf_service_t *s, const cf_who_t *who, int history_used)
{
    static char *all[] = {"a", "b", "c", "d", "e", "f", "g"};
    c->score.candidate_item_ids = all;
    c->score.n_candidate_item_ids = 7;
    c->score.k = 0;
    c->filters.include_seen = 1;
    c->score.filters = &c->filters;
    run(c, s);
    const Recsys__V1__WorkerScoredList *l = scored(c);
    assert_int_equal(l->n_items, 7);
    assert_int_equal(l->history_used, history_used);
    const cf_model_t *m = cf_service_model(s);
    cf_scratch_t *sc = cf_scratch_new();
    for (size_t i = 0; i < l->n_items; i++) {
        uint32_t it = idx_of(s, l->items[i]->item_id);
        float want;
        err_t err;
        assert_int_equal(cf_score_items(m, sc, who, &it, 1, &want, &err), 0);
        if (fabsf(l->items[i]->score - want) > 1e-5f)
            fail_msg("%s: score %g, want %g", l->items[i]->item_id, (double)l->items[i]->score, (double)want);
    }
    cf_scratch_free(sc);
}

/* One event per item counts: the latest explicit rating, whether implicit
 * events of the item come before or after it; a stored rating of the known
 * user beats any implicit event; an implicit event counts only for an item
 * without any rating (the latest implicit one). */
static void test_score_explicit_wins(void **state)
{
    (void)state;
    const Recsys__V1__EventType R = RECSYS__V1__EVENT_TYPE__EVENT_TYPE_RATING,
                                V = RECSYS__V1__EVENT_TYPE__EVENT_TYPE_VIEW,
                                C = RECSYS__V1__EVENT_TYPE__EVENT_TYPE_CLICK,
                                L = RECSYS__V1__EVENT_TYPE__EVENT_TYPE_LIKE,
                                D = RECSYS__V1__EVENT_TYPE__EVENT_TYPE_DISLIKE;
    for (cf_kind_t kind = CF_KIND_ALS; kind <= CF_KIND_MF; kind++) {
        cf_service_t *s = make(kind, 0);
        const cf_model_t *m = cf_service_model(s);
        uint32_t u1 = idmap_find(m->user_ids, "u1", 2);
        call_t c;
        size_t n;

        /* u1 rated b 3 (stored): a later view of b changes nothing. */
        call_init(&c, RECSYS__V1__WORKER_REQUEST__BODY_SCORE);
        n = 0;
        add_event(&c, &n, "b", 0, V);
        c.score.history = c.evp;
        c.score.n_history = n;
        c.score.user_id = "u1";
        expect_scores_of(&c, s, &(cf_who_t){u1, NULL, 0}, 3);
        call_done(&c);

        /* A new explicit rating of b replaces the stored one; the implicit
         * events around it do not. */
        call_init(&c, RECSYS__V1__WORKER_REQUEST__BODY_SCORE);
        n = 0;
        add_event(&c, &n, "b", 0, C);
        add_event(&c, &n, "b", 1, R);
        add_event(&c, &n, "b", 0, V);
        add_event(&c, &n, "b", 0, L);
        c.score.history = c.evp;
        c.score.n_history = n;
        c.score.user_id = "u1";
        cf_event_t b1[] = {{idx_of(s, "b"), 1}};
        expect_scores_of(&c, s, &(cf_who_t){u1, b1, 1}, 3);
        call_done(&c);

        /* Anonymous: among ratings the latest wins, implicit events of the
         * item never do; an item without a rating takes its latest
         * implicit event (d: the view, 4). */
        call_init(&c, RECSYS__V1__WORKER_REQUEST__BODY_SCORE);
        n = 0;
        add_event(&c, &n, "e", 0, V);
        add_event(&c, &n, "e", 5, R);
        add_event(&c, &n, "d", 0, C);
        add_event(&c, &n, "e", 2, 0);
        add_event(&c, &n, "e", 0, L);
        add_event(&c, &n, "d", 0, V);
        c.score.history = c.evp;
        c.score.n_history = n;
        cf_event_t e2[] = {{idx_of(s, "e"), 2}, {idx_of(s, "d"), 4}};
        expect_scores_of(&c, s, &(cf_who_t){CF_NO_USER, e2, 2}, 2);
        call_done(&c);

        /* The latest implicit event of an unrated item wins: viewed, then
         * disliked: the dislike folds in as FEEDBACK_DISLIKE_RATING
         * (common/data/feedback.h; once: the view counted, then the dislike
         * was only seen). */
        call_init(&c, RECSYS__V1__WORKER_REQUEST__BODY_SCORE);
        n = 0;
        add_event(&c, &n, "a", 4, R);
        add_event(&c, &n, "f", 0, V);
        add_event(&c, &n, "f", 0, D);
        c.score.history = c.evp;
        c.score.n_history = n;
        cf_event_t a4[] = {{idx_of(s, "a"), 4}, {idx_of(s, "f"), FEEDBACK_DISLIKE_RATING}};
        expect_scores_of(&c, s, &(cf_who_t){CF_NO_USER, a4, 2}, 2);
        call_done(&c);
        cf_service_free(s);
    }

    /* Predict: u3's stored f 1 stands against a later implicit event. */
    cf_service_t *s = make(CF_KIND_MF, 1);
    const cf_model_t *mf = cf_service_predict_model(s);
    call_t c;
    call_init(&c, RECSYS__V1__WORKER_REQUEST__BODY_PREDICT);
    size_t n = 0;
    add_event(&c, &n, "f", 0, V);
    c.predict.history = c.evp;
    c.predict.n_history = n;
    c.predict.user_id = "u3";
    char *items[] = {"a", "c", "g"};
    c.predict.item_ids = items;
    c.predict.n_item_ids = 3;
    run(&c, s);
    assert_int_equal(c.code, C_NONE);
    cf_scratch_t *sc = cf_scratch_new();
    cf_who_t who = {idmap_find(mf->user_ids, "u3", 2), NULL, 0};
    uint32_t it[] = {idx_of(s, "a"), idx_of(s, "c"), idx_of(s, "g")};
    float want[3];
    err_t err;
    assert_int_equal(cf_predict(mf, sc, &who, it, 3, want, &err), 0);
    for (int i = 0; i < 3; i++)
        assert_float_equal(c.reply.predictions->ratings[i], want[i], 1e-6);
    cf_scratch_free(sc);
    call_done(&c);
    cf_service_free(s);
}

static void test_score_nobody_is_popularity(void **state)
{
    (void)state;
    cf_service_t *s = make(CF_KIND_EASE, 0);
    call_t c;
    call_init(&c, RECSYS__V1__WORKER_REQUEST__BODY_SCORE);
    c.score.user_id = "nobody";
    c.score.k = 3;
    c.score.explain = 1;
    run(&c, s);
    const Recsys__V1__WorkerScoredList *l = scored(&c);
    assert_int_equal(l->history_used, 0);
    /* Rating counts: a 3, b 3, c 3, d 3, e 2, f 2, g 0; ties to the lower index. */
    assert_int_equal(l->n_items, 3);
    assert_string_equal(l->items[0]->item_id, "a");
    assert_string_equal(l->items[1]->item_id, "b");
    assert_string_equal(l->items[2]->item_id, "c");
    assert_float_equal(l->items[0]->score, 3.0, 1e-6);
    assert_true(l->items[0]->because_item_id == NULL || !*l->items[0]->because_item_id);
    call_done(&c);

    /* Popularity by genre: Drama only (a d e). */
    call_init(&c, RECSYS__V1__WORKER_REQUEST__BODY_SCORE);
    c.score.k = 10;
    char *genres[] = {"drama"};
    c.filters.genres = genres;
    c.filters.n_genres = 1;
    c.score.filters = &c.filters;
    run(&c, s);
    l = scored(&c);
    assert_int_equal(l->n_items, 3);
    assert_string_equal(l->items[0]->item_id, "a");
    assert_string_equal(l->items[1]->item_id, "d");
    assert_string_equal(l->items[2]->item_id, "e");
    call_done(&c);
    cf_service_free(s);
}

static void test_score_candidates(void **state)
{
    (void)state;
    cf_service_t *s = make(CF_KIND_EASE, 0);
    const cf_model_t *m = cf_service_model(s);
    call_t c;
    call_init(&c, RECSYS__V1__WORKER_REQUEST__BODY_SCORE);
    size_t n = 0;
    add_event(&c, &n, "zz", 5, RECSYS__V1__EVENT_TYPE__EVENT_TYPE_RATING);
    c.score.history = c.evp;
    c.score.n_history = n;
    c.score.user_id = "u2";
    char *cands[] = {"b", "x1", "e", "a", "g"};
    c.score.candidate_item_ids = cands;
    c.score.n_candidate_item_ids = 5;
    c.score.k = 0; /* all of them */
    run(&c, s);
    const Recsys__V1__WorkerScoredList *l = scored(&c);
    assert_int_equal(l->n_items, 4); /* a is seen but a candidate: scored anyway */
    assert_int_equal(l->n_unknown_item_ids, 2);
    assert_string_equal(l->unknown_item_ids[0], "zz"); /* history first */
    assert_string_equal(l->unknown_item_ids[1], "x1");
    assert_int_equal(l->history_used, 3);
    cf_scratch_t *sc = cf_scratch_new();
    cf_who_t who = {idmap_find(m->user_ids, "u2", 2), NULL, 0};
    err_t err;
    for (size_t i = 0; i < l->n_items; i++) {
        uint32_t it = idx_of(s, l->items[i]->item_id);
        float want;
        assert_int_equal(cf_score_items(m, sc, &who, &it, 1, &want, &err), 0);
        assert_float_equal(l->items[i]->score, want, 1e-6);
        if (i > 0)
            assert_true(l->items[i]->score <= l->items[i - 1]->score);
    }
    char best[8];
    snprintf(best, sizeof best, "%s", l->items[0]->item_id);
    call_done(&c);

    call_init(&c, RECSYS__V1__WORKER_REQUEST__BODY_SCORE);
    c.score.user_id = "u2";
    c.score.candidate_item_ids = cands;
    c.score.n_candidate_item_ids = 5;
    c.score.k = 1;
    run(&c, s);
    l = scored(&c);
    assert_int_equal(l->n_items, 1);
    assert_string_equal(l->items[0]->item_id, best);
    call_done(&c);
    cf_scratch_free(sc);
    cf_service_free(s);
}

static void test_filters(void **state)
{
    (void)state;
    cf_service_t *s = make(CF_KIND_ALS, 0);
    call_t c;
    /* Action between 1995 and 2020 without c: g only (u1 saw a, c). */
    call_init(&c, RECSYS__V1__WORKER_REQUEST__BODY_SCORE);
    c.score.user_id = "u1";
    c.score.k = 10;
    char *genres[] = {"ACTION", "no-such-genre"};
    char *ex[] = {"c", "unknown-id"};
    c.filters.genres = genres;
    c.filters.n_genres = 2;
    c.filters.year_min = 1995;
    c.filters.year_max = 2020;
    c.filters.exclude_item_ids = ex;
    c.filters.n_exclude_item_ids = 2;
    c.filters.include_seen = 1;
    c.score.filters = &c.filters;
    run(&c, s);
    const Recsys__V1__WorkerScoredList *l = scored(&c);
    assert_int_equal(l->n_items, 1);
    assert_string_equal(l->items[0]->item_id, "g");
    call_done(&c);

    /* Only unknown genre names: nothing can match. */
    call_init(&c, RECSYS__V1__WORKER_REQUEST__BODY_SCORE);
    c.score.user_id = "u1";
    c.score.k = 10;
    c.filters.genres = genres + 1;
    c.filters.n_genres = 1;
    c.score.filters = &c.filters;
    run(&c, s);
    l = scored(&c);
    assert_int_equal(l->n_items, 0);
    assert_int_equal(l->history_used, 3);
    call_done(&c);

    /* Years 2005..2010: d e. */
    call_init(&c, RECSYS__V1__WORKER_REQUEST__BODY_SIMILAR);
    c.similar.item_id = "a";
    c.similar.k = 10;
    c.filters.year_min = 2005;
    c.filters.year_max = 2010;
    c.similar.filters = &c.filters;
    run(&c, s);
    l = scored(&c);
    assert_int_equal(l->n_items, 2);
    for (size_t i = 0; i < 2; i++)
        assert_true(strcmp(l->items[i]->item_id, "d") == 0 || strcmp(l->items[i]->item_id, "e") == 0);
    call_done(&c);
    cf_service_free(s);
}

/* ---- similar ---- */

static void test_similar(void **state)
{
    (void)state;
    for (cf_kind_t kind = CF_KIND_POP; kind <= CF_KIND_MF; kind++) {
        cf_service_t *s = make(kind, 0);
        const cf_model_t *m = cf_service_model(s);
        call_t c;
        call_init(&c, RECSYS__V1__WORKER_REQUEST__BODY_SIMILAR);
        c.similar.item_id = "c";
        c.similar.k = 3;
        run(&c, s);
        const Recsys__V1__WorkerScoredList *l = scored(&c);
        assert_int_equal(l->n_items, 3);
        cf_scratch_t *sc = cf_scratch_new();
        topk_item_t top[3];
        err_t err;
        assert_int_equal(cf_similar(m, sc, idx_of(s, "c"), NULL, 3, top, &err), 3);
        for (size_t i = 0; i < 3; i++) {
            assert_string_not_equal(l->items[i]->item_id, "c");
            assert_string_equal(l->items[i]->item_id, idmap_key(m->item_ids, top[i].index, NULL));
            assert_float_equal(l->items[i]->score, top[i].score, 1e-6);
            assert_string_equal(l->items[i]->because_item_id, "c");
        }
        cf_scratch_free(sc);
        call_done(&c);

        call_init(&c, RECSYS__V1__WORKER_REQUEST__BODY_SIMILAR);
        c.similar.item_id = "missing-item";
        c.similar.k = 3;
        expect_error(&c, s, C_NOT_FOUND, "'missing-item'");
        call_done(&c);
        cf_service_free(s);
    }
}

/* ---- predict ---- */

static void test_predict(void **state)
{
    (void)state;
    cf_service_t *s = make(CF_KIND_EASE, 1);
    const cf_model_t *mf = cf_service_predict_model(s);
    assert_non_null(mf);
    assert_int_equal(mf->kind, CF_KIND_MF);
    call_t c;
    call_init(&c, RECSYS__V1__WORKER_REQUEST__BODY_PREDICT);
    c.predict.user_id = "u3";
    char *items[] = {"a", "what", "c", "f"};
    c.predict.item_ids = items;
    c.predict.n_item_ids = 4;
    run(&c, s);
    assert_int_equal(c.code, C_NONE);
    assert_int_equal(c.reply.body_case, RECSYS__V1__WORKER_REPLY__BODY_PREDICTIONS);
    const Recsys__V1__WorkerPredictions *p = c.reply.predictions;
    assert_int_equal(p->n_ratings, 4);
    assert_int_equal(p->n_unknown_item_ids, 1);
    assert_string_equal(p->unknown_item_ids[0], "what");
    float mean = mf->mu < mf->rmin ? mf->rmin : mf->mu > mf->rmax ? mf->rmax : mf->mu;
    assert_float_equal(p->ratings[1], mean, 1e-6);
    cf_scratch_t *sc = cf_scratch_new();
    cf_who_t who = {idmap_find(mf->user_ids, "u3", 2), NULL, 0};
    uint32_t it[] = {idx_of(s, "a"), idx_of(s, "c"), idx_of(s, "f")};
    float want[3];
    err_t err;
    assert_int_equal(cf_predict(mf, sc, &who, it, 3, want, &err), 0);
    assert_float_equal(p->ratings[0], want[0], 1e-6);
    assert_float_equal(p->ratings[2], want[1], 1e-6);
    assert_float_equal(p->ratings[3], want[2], 1e-6);
    for (size_t i = 0; i < 4; i++)
        assert_true(p->ratings[i] >= 1.0f && p->ratings[i] <= 5.0f);
    call_done(&c);

    /* A history folds in: a disliked item counts as the lowest rating. */
    call_init(&c, RECSYS__V1__WORKER_REQUEST__BODY_PREDICT);
    size_t n = 0;
    add_event(&c, &n, "b", 0, RECSYS__V1__EVENT_TYPE__EVENT_TYPE_DISLIKE);
    add_event(&c, &n, "e", 5, RECSYS__V1__EVENT_TYPE__EVENT_TYPE_RATING);
    c.predict.history = c.evp;
    c.predict.n_history = n;
    c.predict.item_ids = items;
    c.predict.n_item_ids = 1;
    run(&c, s);
    assert_int_equal(c.code, C_NONE);
    cf_event_t ev[] = {{idx_of(s, "b"), 1.0f}, {idx_of(s, "e"), 5.0f}};
    cf_who_t anon = {CF_NO_USER, ev, 2};
    assert_int_equal(cf_predict(mf, sc, &anon, it, 1, want, &err), 0);
    assert_float_equal(c.reply.predictions->ratings[0], want[0], 1e-6);
    call_done(&c);
    cf_scratch_free(sc);
    cf_service_free(s);

    /* Without an mf model: INVALID_ARGUMENT saying so. */
    s = make(CF_KIND_EASE, 0);
    call_init(&c, RECSYS__V1__WORKER_REQUEST__BODY_PREDICT);
    c.predict.user_id = "u3";
    c.predict.item_ids = items;
    c.predict.n_item_ids = 1;
    expect_error(&c, s, C_INVALID, "needs an mf model");
    call_done(&c);
    cf_service_free(s);

    /* An mf main model predicts itself. */
    s = make(CF_KIND_MF, 1);
    assert_ptr_equal(cf_service_predict_model(s), cf_service_model(s));
    call_init(&c, RECSYS__V1__WORKER_REQUEST__BODY_PREDICT);
    c.predict.user_id = "u3";
    c.predict.item_ids = items;
    c.predict.n_item_ids = 1;
    run(&c, s);
    assert_int_equal(c.code, C_NONE);
    call_done(&c);
    cf_service_free(s);
}

/* ---- errors ---- */

static void test_validation(void **state)
{
    (void)state;
    cf_service_t *s = make(CF_KIND_EASE, 1);
    call_t c;
    call_init(&c, RECSYS__V1__WORKER_REQUEST__BODY_SCORE);
    c.score.k = 0;
    expect_error(&c, s, C_INVALID, "k=0 out of range [1, 50]");
    c.score.k = 51;
    expect_error(&c, s, C_INVALID, "k=51 out of range");
    c.score.k = -1;
    char *cands[9] = {"a", "b", "c", "d", "e", "f", "g", "a", "b"};
    c.score.candidate_item_ids = cands;
    c.score.n_candidate_item_ids = 2;
    expect_error(&c, s, C_INVALID, "k=-1 out of range [0, 50] with candidates");
    c.score.k = 1;
    c.score.n_candidate_item_ids = 9;
    expect_error(&c, s, C_INVALID, "candidate_item_ids: 9 ids, the limit is 8");
    c.score.n_candidate_item_ids = 0;
    c.score.history = c.evp;
    c.score.n_history = 9;
    for (int i = 0; i < 9; i++)
        c.ev[i].item_id = "a";
    expect_error(&c, s, C_INVALID, "history: 9 events, the limit is 8");
    c.score.n_history = 2;
    c.ev[1].rating = NAN;
    expect_error(&c, s, C_INVALID, "history[1]: rating nan");
    c.ev[1].rating = -2;
    expect_error(&c, s, C_INVALID, "history[1]: rating -2");
    c.ev[1].rating = 3;
    c.ev[1].item_id = "";
    expect_error(&c, s, C_INVALID, "history[1]: empty item_id");
    char big[CF_SERVICE_MAX_STR + 2];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    c.ev[1].item_id = big;
    expect_error(&c, s, C_INVALID, "history[1]: 513 bytes, the limit is 512");
    c.score.n_history = 0;
    c.score.filters = &c.filters;
    c.filters.year_min = 2000;
    c.filters.year_max = 1990;
    expect_error(&c, s, C_INVALID, "year_min 2000 is after year_max 1990");
    c.filters.year_min = -5;
    expect_error(&c, s, C_INVALID, "negative year");
    c.filters.year_min = 0;
    c.filters.year_max = 0;
    c.filters.n_exclude_item_ids = 9;
    c.filters.exclude_item_ids = cands;
    expect_error(&c, s, C_INVALID, "exclude_item_ids: 9 entries, at most 8 allowed");
    call_done(&c);

    call_init(&c, RECSYS__V1__WORKER_REQUEST__BODY_SIMILAR);
    c.similar.item_id = "";
    c.similar.k = 3;
    expect_error(&c, s, C_INVALID, "empty item_id");
    c.similar.item_id = "a";
    c.similar.k = 0;
    expect_error(&c, s, C_INVALID, "k=0 out of range");
    call_done(&c);

    call_init(&c, RECSYS__V1__WORKER_REQUEST__BODY_PREDICT);
    expect_error(&c, s, C_INVALID, "item_ids is empty");
    c.predict.item_ids = cands;
    c.predict.n_item_ids = 9;
    expect_error(&c, s, C_INVALID, "9 item_ids, the limit is 8");
    call_done(&c);

    call_init(&c, RECSYS__V1__WORKER_REQUEST__BODY_ITEMS);
    expect_error(&c, s, C_INVALID, "no catalog");
    call_done(&c);
    cf_service_free(s);

    /* No genre names (no catalog given): a genre filter is refused. */
    dataset_t *ds = tiny_dataset();
    cf_params_t p;
    tiny_params(&p, CF_KIND_EASE);
    cf_model_t *m, *mf;
    err_t err;
    assert_int_equal(cf_service_train(ds, &p, 0, &m, &mf, &err), 0);
    assert_null(mf);
    s = cf_service_new(m, NULL, NULL, &lim, "x", &err);
    assert_non_null(s);
    call_init(&c, RECSYS__V1__WORKER_REQUEST__BODY_SCORE);
    c.score.k = 2;
    char *g[] = {"Drama"};
    c.filters.genres = g;
    c.filters.n_genres = 1;
    c.score.filters = &c.filters;
    expect_error(&c, s, C_INVALID, "no genre names");
    call_done(&c);
    cf_service_free(s);
    dataset_free(ds);
}

/* ---- loading through the ops ---- */

static cfg_t *load_cfg(const char *const *kv)
{
    err_t err;
    cfg_t *cfg = cfg_new("recsys-cf serve", NULL, NULL);
    assert_int_equal(cf_service_add_options(cfg, &err), 0);
    char *argv[] = {"recsys-cf", NULL};
    assert_int_equal(cfg_parse(cfg, 1, argv, &err), 0);
    for (; kv[0]; kv += 2)
        if (cfg_set(cfg, kv[0], kv[1], &err) != 0)
            fail_msg("%s", err.msg);
    return cfg;
}

static void test_load(void **state)
{
    (void)state;
    char *dir = testutil_tmpdir("cf_service_load");
    char *data = testutil_join(dir, "data");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", data);
    assert_int_equal(system(cmd), 0);
    char *ip = testutil_join(data, "items.csv"), *rp = testutil_join(data, "ratings.csv");
    testutil_write_file(ip, items_csv, sizeof items_csv - 1);
    testutil_write_file(rp, ratings_csv, sizeof ratings_csv - 1);
    err_t err;

    /* Training from --data: ease (auto) with an mf model alongside. */
    cfg_t *cfg = load_cfg((const char *[]){"data", data, "cf-ease-lambda", "1", NULL});
    cf_service_t *s = cf_service_ops.load(cfg, &err);
    if (!s)
        fail_msg("%s", err.msg);
    assert_int_equal(cf_service_model(s)->kind, CF_KIND_EASE);
    assert_non_null(cf_service_predict_model(s));
    assert_string_equal(cf_service_ops.name(s), "ease");
    assert_true(strlen(cf_service_ops.version(s)) > 0);
    assert_true(cf_service_ops.memory(s) > 7 * 7 * 4);
    Recsys__V1__WorkerModelInfo info = RECSYS__V1__WORKER_MODEL_INFO__INIT;
    cf_service_ops.info(s, &info, NULL);
    assert_int_equal(info.n_items, 7);
    assert_int_equal(info.n_users, 5);
    assert_string_equal(info.data_source, data);
    /* Save it and serve the file (with --data for the genre names). */
    char *mp = testutil_join(dir, "cf.model");
    assert_int_equal(cf_model_save(cf_service_model(s), mp, &err), 0);
    cf_service_ops.free(s);
    cfg_free(cfg);

    cfg = load_cfg((const char *[]){"model", dir, "data", data, NULL}); /* a directory: DIR/cf.model */
    s = cf_service_ops.load(cfg, &err);
    if (!s)
        fail_msg("%s", err.msg);
    assert_null(cf_service_predict_model(s)); /* ease file, no mf file */
    call_t c;
    call_init(&c, RECSYS__V1__WORKER_REQUEST__BODY_SCORE);
    c.score.user_id = "u1";
    c.score.k = 2;
    char *g[] = {"Drama"};
    c.filters.genres = g;
    c.filters.n_genres = 1;
    c.score.filters = &c.filters;
    run(&c, s);
    const Recsys__V1__WorkerScoredList *l = scored(&c);
    assert_int_equal(l->n_items, 2); /* d, e: the Drama items u1 has not seen */
    call_done(&c);
    cf_service_ops.free(s);
    cfg_free(cfg);

    /* cf-model must match the file's kind. */
    cfg = load_cfg((const char *[]){"model", mp, "cf-model", "als", NULL});
    assert_null(cf_service_ops.load(cfg, &err));
    assert_non_null(strstr(err.msg, "holds a ease model, but cf-model is als"));
    cfg_free(cfg);

    /* A predict model that is not mf. */
    cfg = load_cfg((const char *[]){"model", mp, "cf-predict-model", mp, NULL});
    assert_null(cf_service_ops.load(cfg, &err));
    assert_non_null(strstr(err.msg, "needs an mf model"));
    cfg_free(cfg);

    /* A corrupt file: the error names it. */
    size_t len;
    char *bytes = testutil_read_file(mp, &len);
    assert_non_null(bytes);
    bytes[len / 2] ^= 0x5a;
    char *bad = testutil_join(dir, "bad.model");
    testutil_write_file(bad, bytes, len);
    free(bytes);
    cfg = load_cfg((const char *[]){"model", bad, NULL});
    assert_null(cf_service_ops.load(cfg, &err));
    assert_non_null(strstr(err.msg, bad));
    cfg_free(cfg);

    /* Nothing to serve. */
    cfg = load_cfg((const char *[]){NULL});
    assert_null(cf_service_ops.load(cfg, &err));
    assert_non_null(strstr(err.msg, "no model"));
    cfg_free(cfg);

    /* A catalog that does not match the model. */
    static const char other_items[] = "item_id,title\nz,Zed\n";
    testutil_write_file(ip, other_items, sizeof other_items - 1);
    cfg = load_cfg((const char *[]){"model", mp, "data", data, NULL});
    assert_null(cf_service_ops.load(cfg, &err));
    assert_non_null(strstr(err.msg, "genre names: the catalog has 1 items, the model 7"));
    cfg_free(cfg);

    free(bad);
    free(mp);
    free(ip);
    free(rp);
    free(data);
    free(dir);
}

/* ---- cold items through the feature map ---- */

static void test_cold_items(void **state)
{
    (void)state;
    cf_service_t *s = make(CF_KIND_EASE, 0);
    const cf_model_t *m = cf_service_model(s);
    cf_featmap_params_t fp;
    cf_featmap_params_default(&fp);
    err_t err;
    if (cf_service_set_featmap(s, &fp, &err) < 0)
        fail_msg("%s", err.msg);
    const cf_featmap_t *fm = cf_service_featmap(s);
    uint32_t g = idx_of(s, "g");
    assert_false(cf_featmap_is_warm(fm, g)); /* nobody rated g */
    /* The library's answer for u1: warm items by EASE, g by the map. */
    cf_scratch_t *sc = cf_scratch_new();
    float all[7];
    cf_who_t who = {idmap_find(m->user_ids, "u1", 2), NULL, 0};
    assert_int_equal(cf_featmap_score_all(fm, m, sc, &who, all, &err), 0);
    assert_true(all[g] != 0.0f);

    call_t c;
    call_init(&c, RECSYS__V1__WORKER_REQUEST__BODY_SCORE);
    c.score.user_id = "u1";
    c.score.k = 10;
    run(&c, s);
    const Recsys__V1__WorkerScoredList *l = scored(&c);
    assert_int_equal(l->n_items, 4); /* d e f g */
    int found = 0;
    for (size_t i = 0; i < l->n_items; i++) {
        uint32_t it = idx_of(s, l->items[i]->item_id);
        assert_float_equal(l->items[i]->score, all[it], 1e-5);
        found += it == g;
    }
    assert_int_equal(found, 1);
    call_done(&c);

    /* Candidates: g gets the same score. */
    call_init(&c, RECSYS__V1__WORKER_REQUEST__BODY_SCORE);
    c.score.user_id = "u1";
    char *cands[] = {"g", "d"};
    c.score.candidate_item_ids = cands;
    c.score.n_candidate_item_ids = 2;
    run(&c, s);
    l = scored(&c);
    assert_int_equal(l->n_items, 2);
    for (size_t i = 0; i < 2; i++)
        assert_float_equal(l->items[i]->score, all[idx_of(s, l->items[i]->item_id)], 1e-5);
    call_done(&c);

    /* Nobody: still plain popularity (counts), g last. */
    call_init(&c, RECSYS__V1__WORKER_REQUEST__BODY_SCORE);
    c.score.k = 7;
    run(&c, s);
    l = scored(&c);
    assert_int_equal(l->history_used, 0);
    assert_float_equal(l->items[0]->score, 3.0, 1e-6);
    assert_string_equal(l->items[6]->item_id, "g");
    call_done(&c);
    cf_scratch_free(sc);
    cf_service_free(s);
}

/* ---- threads ---- */

typedef struct worker_arg {
    const cf_service_t *s;
    int bad;
    float want[3];
} worker_arg_t;

static void *worker(void *p)
{
    worker_arg_t *a = p;
    const char *users[] = {"u1", "u2", "u3"};
    for (int r = 0; r < 300; r++) {
        call_t c;
        call_init(&c, RECSYS__V1__WORKER_REQUEST__BODY_SCORE);
        c.score.user_id = (char *)users[r % 3];
        c.score.k = 3;
        run(&c, a->s);
        if (c.code != C_NONE || c.reply.scored->n_items == 0 ||
            fabsf(c.reply.scored->items[0]->score - a->want[r % 3]) > 1e-6f)
            a->bad++;
        call_done(&c);
    }
    return NULL;
}

static void test_concurrent(void **state)
{
    (void)state;
    cf_service_t *s = make(CF_KIND_ALS, 0);
    worker_arg_t args[4];
    float want[3];
    const char *users[] = {"u1", "u2", "u3"};
    for (int u = 0; u < 3; u++) {
        call_t c;
        call_init(&c, RECSYS__V1__WORKER_REQUEST__BODY_SCORE);
        c.score.user_id = (char *)users[u];
        c.score.k = 3;
        run(&c, s);
        want[u] = scored(&c)->items[0]->score;
        call_done(&c);
    }
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (worker_arg_t){s, 0, {want[0], want[1], want[2]}};
        assert_int_equal(pthread_create(&th[i], NULL, worker, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].bad, 0);
    }
    cf_service_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_score_known_user), cmocka_unit_test(test_score_history),
        cmocka_unit_test(test_score_explicit_wins),
        cmocka_unit_test(test_score_nobody_is_popularity), cmocka_unit_test(test_score_candidates),
        cmocka_unit_test(test_filters), cmocka_unit_test(test_similar), cmocka_unit_test(test_predict),
        cmocka_unit_test(test_validation), cmocka_unit_test(test_load), cmocka_unit_test(test_cold_items), cmocka_unit_test(test_concurrent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
