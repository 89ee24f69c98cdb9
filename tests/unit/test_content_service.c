/*
 * test_content_service.c: the content worker's ops (services/content/
 * content_service.h) called directly, without sockets, on a tiny catalog
 * whose scores are checked by hand: similar items with each filter, history
 * scoring (centring, single rating, implicit and disliked events, unknown
 * items, candidates, include_seen, explanations), catalog look-up and title
 * search, model info, every validation error, the load paths (--data,
 * --model FILE, --model DIR, a truncated model file refused naming the
 * file) and concurrent requests sharing the scratch pool.
 */
#include "testutil.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/data/catalog.h"
#include "services/content/content_model.h"
#include "services/content/content_service.h"

#define TOL 1e-5
#define OK RECSYS__V1__WORKER_ERROR_CODE__WORKER_ERROR_CODE_NONE
#define INVALID RECSYS__V1__WORKER_ERROR_CODE__WORKER_ERROR_CODE_INVALID_ARGUMENT
#define NOT_FOUND RECSYS__V1__WORKER_ERROR_CODE__WORKER_ERROR_CODE_NOT_FOUND

/* The catalog (genres only; titles only matter to search):
 *   0 "a" "Alpha"            Action, Comedy  1990
 *   1 "b" "Beta"             Action          2000
 *   2 "c" "Alphabet City"    Comedy, Drama   2010
 *   3 "d" "Delta"            Drama           2020
 *   4 "e" "The Alpha Ending" Action          (unknown year)
 * idf(action) = ln(6/4) + 1 = 1.4054651, idf(comedy) = idf(drama) = ln(6/3) + 1 = 1.6931472.
 * Unit vectors over (action, comedy, drama):
 *   v0 = (0.6387106, 0.7694471, 0), v1 = v4 = (1, 0, 0),
 *   v2 = (0, 1/sqrt2, 1/sqrt2), v3 = (0, 0, 1).
 * Cosines: s01 = s04 = 0.6387106, s02 = 0.5440812, s14 = 1, s23 = 0.7071068, others 0. */
#define S01 0.6387106f
#define S02 0.5440812f
#define S23 0.7071068f

static const struct {
    const char *id, *title, *g[2];
    int year;
} items[] = {
    {"a", "Alpha", {"Action", "Comedy"}, 1990}, {"b", "Beta", {"Action", NULL}, 2000},
    {"c", "Alphabet City", {"Comedy", "Drama"}, 2010}, {"d", "Delta", {"Drama", NULL}, 2020},
    {"e", "The Alpha Ending", {"Action", NULL}, 0},
};

static content_model_t *build_model(void)
{
    err_t err;
    catalog_t *c = catalog_new();
    for (size_t i = 0; i < 5; i++) {
        uint32_t idx;
        assert_int_equal(catalog_add_item(c, items[i].id, 1, &idx, &err), 0);
        assert_int_equal(catalog_set_title(c, idx, items[i].title, strlen(items[i].title)), 0);
        catalog_set_year(c, idx, items[i].year);
        for (int g = 0; g < 2; g++)
            if (items[i].g[g])
                assert_int_equal(catalog_add_genre(c, idx, items[i].g[g], strlen(items[i].g[g])), 0);
    }
    assert_int_equal(catalog_finish(c, &err), 0);
    content_params_t p;
    content_params_default(&p);
    for (int f = 0; f < CONTENT_NFIELDS; f++)
        p.weight[f] = 0;
    p.weight[CONTENT_F_GENRE] = 1;
    p.neighbours = 2; /* short lists, so larger k takes the on-the-fly path */
    p.threads = 1;
    content_model_t *m;
    if (content_model_build(c, &p, &m, &err))
        fail_msg("%s", err.msg);
    catalog_free(c);
    return m;
}

static content_service_t *service(uint32_t max_history)
{
    err_t err;
    content_service_limits_t lim = {.max_k = 100, .max_history = max_history, .max_candidates = 10};
    content_service_t *s = content_service_new(build_model(), &lim, "tiny", &err);
    if (!s)
        fail_msg("%s", err.msg);
    return s;
}

/* One call of handle() with its own arena; the reply and its arena live in
 * the fixture until the next call. */
typedef struct call {
    arena_t arena;
    Recsys__V1__WorkerReply reply;
    err_t err;
    int code;
} call_t;

static void call(content_service_t *s, call_t *c, Recsys__V1__WorkerRequest *req)
{
    arena_init(&c->arena);
    recsys__v1__worker_reply__init(&c->reply);
    err_clear(&c->err);
    c->code = (int)content_service_ops.handle(s, req, &c->reply, &c->arena, &c->err);
}

static void done(call_t *c)
{
    arena_free(&c->arena);
}

static void similar(content_service_t *s, call_t *c, const char *id, int k, Recsys__V1__Filters *f)
{
    Recsys__V1__WorkerRequest req = RECSYS__V1__WORKER_REQUEST__INIT;
    Recsys__V1__WorkerSimilarRequest sr = RECSYS__V1__WORKER_SIMILAR_REQUEST__INIT;
    sr.item_id = (char *)id;
    sr.k = k;
    sr.filters = f;
    req.body_case = RECSYS__V1__WORKER_REQUEST__BODY_SIMILAR;
    req.similar = &sr;
    call(s, c, &req);
}

/* Checks a scored list against "id:score:because" expectations. */
static void expect_list(const call_t *c, size_t n, const char *const *ids, const float *scores,
                        const char *const *because)
{
    assert_int_equal(c->code, OK);
    assert_int_equal(c->reply.body_case, RECSYS__V1__WORKER_REPLY__BODY_SCORED);
    const Recsys__V1__WorkerScoredList *l = c->reply.scored;
    assert_int_equal(l->n_items, n);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(l->items[i]->item_id, ids[i]);
        assert_float_equal(l->items[i]->score, scores[i], TOL);
        if (because)
            assert_string_equal(l->items[i]->because_item_id, because[i]);
    }
}

static void expect_error(const call_t *c, int code, const char *needle)
{
    assert_int_equal(c->code, code);
    if (!strstr(c->err.msg, needle))
        fail_msg("error '%s' does not contain '%s'", c->err.msg, needle);
}

/* ------------------------------------------------------------ similar */

static void test_similar(void **state)
{
    content_service_t *s = service(100);
    call_t c;
    /* Stored lists hold 2; k = 4 is computed on the fly: 3 positive items,
     * the b/e tie to the lower index. */
    similar(s, &c, "a", 4, NULL);
    expect_list(&c, 3, (const char *[]){"b", "e", "c"}, (const float[]){S01, S01, S02}, NULL);
    assert_int_equal(c.reply.scored->n_unknown_item_ids, 0);
    done(&c);
    similar(s, &c, "a", 1, NULL);
    expect_list(&c, 1, (const char *[]){"b"}, (const float[]){S01}, NULL);
    done(&c);
    similar(s, &c, "d", 5, NULL);
    expect_list(&c, 1, (const char *[]){"c"}, (const float[]){S23}, NULL);
    done(&c);

    Recsys__V1__Filters f = RECSYS__V1__FILTERS__INIT;
    char *genres[] = {"COMEDY"}; /* case-insensitive */
    f.n_genres = 1;
    f.genres = genres;
    similar(s, &c, "a", 4, &f);
    expect_list(&c, 1, (const char *[]){"c"}, (const float[]){S02}, NULL);
    done(&c);

    char *unknown_genre[] = {"Western"};
    f.genres = unknown_genre;
    similar(s, &c, "a", 4, &f);
    expect_list(&c, 0, NULL, NULL, NULL);
    done(&c);
    char *mixed[] = {"Western", "drama"};
    f.n_genres = 2;
    f.genres = mixed;
    similar(s, &c, "a", 4, &f);
    expect_list(&c, 1, (const char *[]){"c"}, (const float[]){S02}, NULL);
    done(&c);

    recsys__v1__filters__init(&f);
    f.year_min = 1995; /* e has no year: a bound excludes it */
    similar(s, &c, "a", 4, &f);
    expect_list(&c, 2, (const char *[]){"b", "c"}, (const float[]){S01, S02}, NULL);
    done(&c);
    f.year_min = 0;
    f.year_max = 2005;
    similar(s, &c, "a", 4, &f);
    expect_list(&c, 1, (const char *[]){"b"}, (const float[]){S01}, NULL);
    done(&c);

    recsys__v1__filters__init(&f);
    char *ex[] = {"b", "no-such-item"};
    f.n_exclude_item_ids = 2;
    f.exclude_item_ids = ex;
    similar(s, &c, "a", 4, &f);
    expect_list(&c, 2, (const char *[]){"e", "c"}, (const float[]){S01, S02}, NULL);
    done(&c);
    content_service_free(s);
}

static void test_similar_errors(void **state)
{
    content_service_t *s = service(100);
    call_t c;
    similar(s, &c, "zz", 5, NULL);
    expect_error(&c, NOT_FOUND, "unknown item id 'zz'");
    done(&c);
    similar(s, &c, "a", 0, NULL);
    expect_error(&c, INVALID, "k=0 out of range [1, 100]");
    done(&c);
    similar(s, &c, "a", 101, NULL);
    expect_error(&c, INVALID, "k=101 out of range");
    done(&c);
    similar(s, &c, "a", -3, NULL);
    expect_error(&c, INVALID, "k=-3");
    done(&c);
    similar(s, &c, "", 5, NULL);
    expect_error(&c, INVALID, "item_id: empty");
    done(&c);
    char longid[CONTENT_SERVICE_MAX_STR + 2];
    memset(longid, 'x', sizeof longid - 1);
    longid[sizeof longid - 1] = '\0';
    similar(s, &c, longid, 5, NULL);
    expect_error(&c, INVALID, "item_id: longer than 512 bytes");
    done(&c);

    Recsys__V1__Filters f = RECSYS__V1__FILTERS__INIT;
    f.year_min = 2010;
    f.year_max = 2000;
    similar(s, &c, "a", 5, &f);
    expect_error(&c, INVALID, "year_min 2010 is after year_max 2000");
    done(&c);
    recsys__v1__filters__init(&f);
    char *many[11];
    for (int i = 0; i < 11; i++)
        many[i] = "a";
    f.n_exclude_item_ids = 11;
    f.exclude_item_ids = many;
    similar(s, &c, "a", 5, &f);
    expect_error(&c, INVALID, "filters.exclude_item_ids: 11 entries, at most 10 allowed");
    done(&c);
    recsys__v1__filters__init(&f);
    char *genres[65];
    for (int i = 0; i < 65; i++)
        genres[i] = "Drama";
    f.n_genres = 65;
    f.genres = genres;
    similar(s, &c, "a", 5, &f);
    expect_error(&c, INVALID, "filters.genres: 65 entries, at most 64");
    done(&c);
    content_service_free(s);
}

/* ------------------------------------------------------------ score */

typedef struct ev {
    const char *id;
    float rating;
    Recsys__V1__EventType type;
} ev_t;

static void score(content_service_t *s, call_t *c, const ev_t *ev, size_t n, int k, const char *const *cand,
                  size_t nc, Recsys__V1__Filters *f, int explain)
{
    Recsys__V1__WorkerRequest req = RECSYS__V1__WORKER_REQUEST__INIT;
    Recsys__V1__WorkerScoreRequest sr = RECSYS__V1__WORKER_SCORE_REQUEST__INIT;
    Recsys__V1__HistoryEvent events[16], *ptrs[16];
    assert_true(n <= 16);
    for (size_t i = 0; i < n; i++) {
        recsys__v1__history_event__init(&events[i]);
        events[i].item_id = (char *)ev[i].id;
        events[i].rating = ev[i].rating;
        events[i].type = ev[i].type;
        ptrs[i] = &events[i];
    }
    sr.n_history = n;
    sr.history = ptrs;
    sr.k = k;
    sr.n_candidate_item_ids = nc;
    sr.candidate_item_ids = (char **)cand;
    sr.filters = f;
    sr.explain = explain;
    req.body_case = RECSYS__V1__WORKER_REQUEST__BODY_SCORE;
    req.score = &sr;
    call(s, c, &req);
}

static void expect_unknown(const call_t *c, size_t n, const char *const *ids, int history_used)
{
    const Recsys__V1__WorkerScoredList *l = c->reply.scored;
    assert_int_equal(l->history_used, history_used);
    assert_int_equal(l->n_unknown_item_ids, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(l->unknown_item_ids[i], ids[i]);
}

static void test_score(void **state)
{
    content_service_t *s = service(100);
    call_t c;
    /* One rating: uncentred weight 5, norm 5: score(j) = s_bj; b itself is
     * excluded; c scores 0 and comes by index; it has no contributor. */
    score(s, &c, (const ev_t[]){{"b", 5, 0}}, 1, 3, NULL, 0, NULL, 1);
    expect_list(&c, 3, (const char *[]){"e", "a", "c"}, (const float[]){1, S01, 0},
                (const char *[]){"b", "b", ""});
    expect_unknown(&c, 0, NULL, 1);
    done(&c);
    /* Without explain, no because_item_id. */
    score(s, &c, (const ev_t[]){{"b", 5, 0}}, 1, 1, NULL, 0, NULL, 0);
    expect_list(&c, 1, (const char *[]){"e"}, (const float[]){1}, (const char *[]){""});
    done(&c);

    /* a = 5 and d = 1, negative feedback (common/data/feedback.h): a alone
     * is uncentred (w 5), d weighs -0.1 * 1 * 5 = -0.5 (strength 1, scale
     * 0.1, unit 5); norm 5.5.
     *   b, e: 5 s01 / 5.5; c: (5 s02 - 0.5 s23) / 5.5, its largest positive
     *   contributor is a. */
    score(s, &c, (const ev_t[]){{"a", 5, 0}, {"d", 1, 0}}, 2, 3, NULL, 0, NULL, 1);
    expect_list(&c, 3, (const char *[]){"b", "e", "c"},
                (const float[]){5 * S01 / 5.5f, 5 * S01 / 5.5f, (5 * S02 - 0.5f * S23) / 5.5f}, (const char *[]){"a", "a", "a"});
    done(&c);

    /* Unknown history items are skipped and reported; a disliked item
     * without a rating is negative feedback (common/data/feedback.h) and
     * seen (excluded): b viewed (w 1), e disliked (w -0.1; e's vector is
     * b's): a, close to both, scores 0.9 s01 / 1.1, lowered by e; its
     * explanation is the viewed b, never the disliked e. */
    score(s, &c,
          (const ev_t[]){{"zz", 4, 0}, {"b", 0, RECSYS__V1__EVENT_TYPE__EVENT_TYPE_VIEW},
                         {"e", 0, RECSYS__V1__EVENT_TYPE__EVENT_TYPE_DISLIKE}},
          3, 2, NULL, 0, NULL, 1);
    expect_list(&c, 2, (const char *[]){"a", "c"}, (const float[]){0.9f * S01 / 1.1f, 0}, (const char *[]){"b", ""});
    expect_unknown(&c, 1, (const char *[]){"zz"}, 2);
    done(&c);

    /* Nothing known: an empty answer with the unknown ids, not an error. */
    score(s, &c, (const ev_t[]){{"x1", 4, 0}, {"x2", 0, 0}}, 2, 3, NULL, 0, NULL, 0);
    expect_list(&c, 0, NULL, NULL, NULL);
    expect_unknown(&c, 2, (const char *[]){"x1", "x2"}, 0);
    done(&c);

    /* include_seen: b (1.0, index 1) then e (1.0, index 4). */
    Recsys__V1__Filters f = RECSYS__V1__FILTERS__INIT;
    f.include_seen = 1;
    score(s, &c, (const ev_t[]){{"b", 5, 0}}, 1, 2, NULL, 0, &f, 0);
    expect_list(&c, 2, (const char *[]){"b", "e"}, (const float[]){1, 1}, NULL);
    done(&c);
    /* Filters apply to history scoring too. */
    recsys__v1__filters__init(&f);
    char *genres[] = {"comedy"};
    f.n_genres = 1;
    f.genres = genres;
    score(s, &c, (const ev_t[]){{"b", 5, 0}}, 1, 3, NULL, 0, &f, 0);
    expect_list(&c, 2, (const char *[]){"a", "c"}, (const float[]){S01, 0}, NULL);
    done(&c);
    content_service_free(s);
}

/* One event per item counts: the latest explicit rating, whether implicit
 * events of the item come before or after it; an implicit event counts only
 * for an item without any rating (its latest implicit event). */
static void test_score_explicit_wins(void **state)
{
    const Recsys__V1__EventType V = RECSYS__V1__EVENT_TYPE__EVENT_TYPE_VIEW,
                                C = RECSYS__V1__EVENT_TYPE__EVENT_TYPE_CLICK,
                                D = RECSYS__V1__EVENT_TYPE__EVENT_TYPE_DISLIKE;
    content_service_t *s = service(100);
    call_t c;
    /* The centred case of test_score (a = 5, d = 1), with implicit events
     * of a and d before and after their ratings and an older rating of d:
     * the same answer, from two events. */
    score(s, &c,
          (const ev_t[]){{"a", 0, V}, {"d", 3, 0}, {"a", 5, 0}, {"d", 0, C}, {"d", 1, 0}, {"d", 0, V}, {"a", 0, C}},
          7, 3, NULL, 0, NULL, 1);
    expect_list(&c, 3, (const char *[]){"b", "e", "c"},
                (const float[]){5 * S01 / 5.5f, 5 * S01 / 5.5f, (5 * S02 - 0.5f * S23) / 5.5f}, (const char *[]){"a", "a", "a"});
    expect_unknown(&c, 0, NULL, 2);
    done(&c);
    /* An unrated item takes its latest implicit event: b viewed, then
     * disliked: negative feedback (w -0.1), seen; e clicked twice counts
     * once (w 1). b and e share their vector: a scores 0.9 s01 / 1.1 and is
     * explained by the clicked e, never by the disliked b. */
    score(s, &c, (const ev_t[]){{"b", 0, V}, {"e", 0, C}, {"b", 0, D}, {"e", 0, C}}, 4, 2, NULL, 0, NULL, 1);
    expect_list(&c, 2, (const char *[]){"a", "c"}, (const float[]){0.9f * S01 / 1.1f, 0}, (const char *[]){"e", ""});
    expect_unknown(&c, 0, NULL, 2);
    done(&c);
    content_service_free(s);
}

static void test_score_candidates(void **state)
{
    content_service_t *s = service(100);
    call_t c;
    /* k = 0 with candidates: all known candidates ranked; unknown ones
     * listed after the unknown history ids. */
    score(s, &c, (const ev_t[]){{"b", 5, 0}, {"hist?", 3, 0}}, 2, 0, (const char *[]){"d", "a", "cand?", "e"}, 4,
          NULL, 1);
    expect_list(&c, 3, (const char *[]){"e", "a", "d"}, (const float[]){1, S01, 0}, (const char *[]){"b", "b", ""});
    expect_unknown(&c, 2, (const char *[]){"hist?", "cand?"}, 1);
    done(&c);
    score(s, &c, (const ev_t[]){{"b", 5, 0}}, 1, 1, (const char *[]){"d", "a"}, 2, NULL, 0);
    expect_list(&c, 1, (const char *[]){"a"}, (const float[]){S01}, NULL);
    done(&c);
    /* The history is excluded from candidates too, unless include_seen. */
    score(s, &c, (const ev_t[]){{"b", 5, 0}}, 1, 0, (const char *[]){"b", "d"}, 2, NULL, 0);
    expect_list(&c, 1, (const char *[]){"d"}, (const float[]){0}, NULL);
    done(&c);
    /* No known candidate: empty. */
    score(s, &c, (const ev_t[]){{"b", 5, 0}}, 1, 0, (const char *[]){"q"}, 1, NULL, 0);
    expect_list(&c, 0, NULL, NULL, NULL);
    expect_unknown(&c, 1, (const char *[]){"q"}, 1);
    done(&c);
    content_service_free(s);
}

static void test_score_errors(void **state)
{
    content_service_t *s = service(3);
    call_t c;
    score(s, &c, NULL, 0, 5, NULL, 0, NULL, 0);
    expect_error(&c, INVALID, "empty history");
    done(&c);
    score(s, &c, (const ev_t[]){{"a", 4, 0}, {"b", 4, 0}, {"c", 4, 0}, {"d", 4, 0}}, 4, 5, NULL, 0, NULL, 0);
    expect_error(&c, INVALID, "history: 4 entries, at most 3 allowed");
    done(&c);
    score(s, &c, (const ev_t[]){{"a", 4, 0}}, 1, 0, NULL, 0, NULL, 0);
    expect_error(&c, INVALID, "k=0 out of range [1, 100]");
    done(&c);
    score(s, &c, (const ev_t[]){{"a", 4, 0}}, 1, 101, (const char *[]){"b"}, 1, NULL, 0);
    expect_error(&c, INVALID, "k=101 out of range [0, 100]");
    done(&c);
    score(s, &c, (const ev_t[]){{"a", -1, 0}}, 1, 5, NULL, 0, NULL, 0);
    expect_error(&c, INVALID, "history[0].rating: -1 is not a rating");
    done(&c);
    score(s, &c, (const ev_t[]){{"a", 4, 0}, {"b", NAN, 0}}, 2, 5, NULL, 0, NULL, 0);
    expect_error(&c, INVALID, "history[1].rating: nan");
    done(&c);
    score(s, &c, (const ev_t[]){{"a", 4, 0}, {"", 3, 0}}, 2, 5, NULL, 0, NULL, 0);
    expect_error(&c, INVALID, "history[1].item_id: empty");
    done(&c);
    const char *cand[11];
    for (int i = 0; i < 11; i++)
        cand[i] = "a";
    score(s, &c, (const ev_t[]){{"a", 4, 0}}, 1, 0, cand, 11, NULL, 0);
    expect_error(&c, INVALID, "candidate_item_ids: 11 entries, at most 10");
    done(&c);

    Recsys__V1__WorkerRequest req = RECSYS__V1__WORKER_REQUEST__INIT;
    Recsys__V1__WorkerPredictRequest pr = RECSYS__V1__WORKER_PREDICT_REQUEST__INIT;
    req.body_case = RECSYS__V1__WORKER_REQUEST__BODY_PREDICT;
    req.predict = &pr;
    call(s, &c, &req);
    expect_error(&c, INVALID, "content model does not predict ratings");
    done(&c);
    content_service_free(s);
}

/* ------------------------------------------------------------ items */

static void items_req(content_service_t *s, call_t *c, const char *const *ids, size_t n, const char *query, int k)
{
    Recsys__V1__WorkerRequest req = RECSYS__V1__WORKER_REQUEST__INIT;
    Recsys__V1__WorkerItemsRequest ir = RECSYS__V1__WORKER_ITEMS_REQUEST__INIT;
    ir.n_item_ids = n;
    ir.item_ids = (char **)ids;
    if (query)
        ir.query = (char *)query;
    ir.k = k;
    req.body_case = RECSYS__V1__WORKER_REQUEST__BODY_ITEMS;
    req.items = &ir;
    call(s, c, &req);
}

static void expect_items(const call_t *c, size_t n, const char *const *ids)
{
    assert_int_equal(c->code, OK);
    assert_int_equal(c->reply.body_case, RECSYS__V1__WORKER_REPLY__BODY_ITEMS);
    assert_int_equal(c->reply.items->n_items, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(c->reply.items->items[i]->item_id, ids[i]);
}

static void test_items(void **state)
{
    content_service_t *s = service(100);
    call_t c;
    items_req(s, &c, (const char *[]){"c", "zz", "a"}, 3, NULL, 0);
    expect_items(&c, 2, (const char *[]){"c", "a"});
    const Recsys__V1__Item *it = c.reply.items->items[0];
    assert_string_equal(it->title, "Alphabet City");
    assert_int_equal(it->year, 2010);
    assert_int_equal(it->n_genres, 2);
    assert_string_equal(it->genres[0], "Comedy");
    assert_string_equal(it->genres[1], "Drama");
    assert_int_equal(c.reply.items->n_unknown_item_ids, 1);
    assert_string_equal(c.reply.items->unknown_item_ids[0], "zz");
    done(&c);
    /* Search: prefix matches (a, c) before substring matches (e). */
    items_req(s, &c, NULL, 0, "ALPHA", 10);
    expect_items(&c, 3, (const char *[]){"a", "c", "e"});
    done(&c);
    items_req(s, &c, NULL, 0, "alpha", 2);
    expect_items(&c, 2, (const char *[]){"a", "c"});
    done(&c);
    items_req(s, &c, NULL, 0, "ta", 10); /* "Beta", "Delta" */
    expect_items(&c, 2, (const char *[]){"b", "d"});
    done(&c);
    items_req(s, &c, NULL, 0, "no such title", 10);
    expect_items(&c, 0, NULL);
    done(&c);

    items_req(s, &c, (const char *[]){"a"}, 1, "alpha", 10);
    expect_error(&c, INVALID, "not both");
    done(&c);
    items_req(s, &c, NULL, 0, NULL, 10);
    expect_error(&c, INVALID, "give item_ids");
    done(&c);
    items_req(s, &c, NULL, 0, "alpha", 0);
    expect_error(&c, INVALID, "k=0 out of range");
    done(&c);
    items_req(s, &c, (const char *[]){"a", ""}, 2, NULL, 0);
    expect_error(&c, INVALID, "item_ids[1]: empty");
    done(&c);
    content_service_free(s);
}

static void test_info(void **state)
{
    content_service_t *s = service(100);
    Recsys__V1__WorkerModelInfo info = RECSYS__V1__WORKER_MODEL_INFO__INIT;
    arena_t a;
    arena_init(&a);
    content_service_ops.info(s, &info, &a);
    assert_int_equal(info.n_items, 5);
    assert_int_equal(info.n_features, 3);
    assert_int_equal(info.n_users, 0);
    assert_string_equal(info.data_source, "tiny");
    arena_free(&a);
    assert_string_equal(content_service_ops.name(s), "tfidf");
    assert_string_equal(content_service_ops.version(s), content_model_version(content_service_model(s)));
    assert_true(content_service_ops.memory(s) >= content_model_bytes(content_service_model(s)));
    content_service_free(s);
}

/* ------------------------------------------------------------ loading */

static cfg_t *serve_cfg(const char *model, const char *data)
{
    err_t err;
    cfg_t *cfg = cfg_new("test", NULL, NULL);
    assert_int_equal(content_service_add_options(cfg, &err), 0);
    char *argv[] = {"test", NULL};
    assert_int_equal(cfg_parse(cfg, 1, argv, &err), 0);
    if (model)
        assert_int_equal(cfg_set(cfg, "model", model, &err), 0);
    if (data)
        assert_int_equal(cfg_set(cfg, "data", data, &err), 0);
    assert_int_equal(cfg_set(cfg, "content-w-title", "0", &err), 0);
    assert_int_equal(cfg_set(cfg, "max-k", "7", &err), 0);
    return cfg;
}

static void test_load_paths(void **state)
{
    char *dir = testutil_tmpdir("content_service_load");
    char *data = testutil_join(dir, "data");
    mkdir(data, 0755);
    char *items_csv = testutil_join(data, "items.csv"), *ratings_csv = testutil_join(data, "ratings.csv");
    const char *it = "item_id,title,year,genres\n"
                     "a,Alpha,1990,Action|Comedy\nb,Beta,2000,Action\nc,Alphabet City,2010,Comedy|Drama\n"
                     "d,Delta,2020,Drama\ne,The Alpha Ending,,Action\n";
    const char *ra = "user_id,item_id,rating\nu1,a,4\n";
    testutil_write_file(items_csv, it, strlen(it));
    testutil_write_file(ratings_csv, ra, strlen(ra));
    err_t err;

    /* --data: built at load, same vectors as the hand-checked catalog. */
    cfg_t *cfg = serve_cfg(NULL, data);
    content_service_t *s = content_service_ops.load(cfg, &err);
    if (!s)
        fail_msg("%s", err.msg);
    call_t c;
    similar(s, &c, "a", 4, NULL);
    expect_list(&c, 3, (const char *[]){"b", "e", "c"}, (const float[]){S01, S01, S02}, NULL);
    done(&c);
    similar(s, &c, "a", 8, NULL); /* max-k from the options */
    expect_error(&c, INVALID, "k=8 out of range [1, 7]");
    done(&c);
    char version[128];
    snprintf(version, sizeof version, "%s", content_service_ops.version(s));

    /* --model FILE and --model DIR (DIR/content.model). */
    char *mdir = testutil_join(dir, "models");
    mkdir(mdir, 0755);
    char *mfile = testutil_join(mdir, CONTENT_SERVICE_MODEL_FILE);
    assert_int_equal(content_model_save(content_service_model(s), mfile, &err), 0);
    content_service_ops.free(s);
    cfg_free(cfg);
    const char *paths[] = {mfile, mdir};
    for (int i = 0; i < 2; i++) {
        cfg = serve_cfg(paths[i], data); /* --model wins over --data */
        s = content_service_ops.load(cfg, &err);
        if (!s)
            fail_msg("%s", err.msg);
        assert_string_equal(content_service_ops.version(s), version);
        similar(s, &c, "a", 2, NULL);
        expect_list(&c, 2, (const char *[]){"b", "e"}, (const float[]){S01, S01}, NULL);
        done(&c);
        Recsys__V1__WorkerModelInfo info = RECSYS__V1__WORKER_MODEL_INFO__INIT;
        content_service_ops.info(s, &info, NULL);
        assert_string_equal(info.data_source, mfile);
        content_service_ops.free(s);
        cfg_free(cfg);
    }

    /* A truncated model file is refused, naming the file. */
    size_t len;
    char *bytes = testutil_read_file(mfile, &len);
    assert_non_null(bytes);
    char *bad = testutil_join(dir, "truncated.model");
    testutil_write_file(bad, bytes, len / 2);
    free(bytes);
    cfg = serve_cfg(bad, NULL);
    err_clear(&err);
    assert_null(content_service_ops.load(cfg, &err));
    if (!strstr(err.msg, bad))
        fail_msg("'%s' does not name %s", err.msg, bad);
    cfg_free(cfg);

    /* A bad dataset is refused with the file and line. */
    const char *bad_items = "item_id,title,year,genres\na,Alpha,1990\n";
    testutil_write_file(items_csv, bad_items, strlen(bad_items));
    cfg = serve_cfg(NULL, data);
    assert_null(content_service_ops.load(cfg, &err));
    if (!strstr(err.msg, "items.csv:2"))
        fail_msg("'%s' does not name items.csv:2", err.msg);
    cfg_free(cfg);

    cfg = serve_cfg(NULL, NULL);
    assert_null(content_service_ops.load(cfg, &err));
    assert_non_null(strstr(err.msg, "no model"));
    cfg_free(cfg);

    free(bad);
    free(mfile);
    free(mdir);
    free(items_csv);
    free(ratings_csv);
    free(data);
    free(dir);
}

/* ------------------------------------------------------------ threads */

typedef struct {
    content_service_t *s;
    int bad;
} worker_arg_t;

static void *worker(void *p)
{
    worker_arg_t *w = p;
    for (int i = 0; i < 300; i++) {
        call_t c;
        if (i % 2) {
            similar(w->s, &c, "a", 4, NULL);
            if (c.code != OK || c.reply.scored->n_items != 3 || strcmp(c.reply.scored->items[2]->item_id, "c"))
                w->bad++;
        } else {
            score(w->s, &c, (const ev_t[]){{"a", 5, 0}, {"d", 1, 0}}, 2, 3, NULL, 0, NULL, 1);
            if (c.code != OK || c.reply.scored->n_items != 3 ||
                fabsf(c.reply.scored->items[0]->score - 5 * S01 / 5.5f) > TOL)
                w->bad++;
        }
        done(&c);
    }
    return NULL;
}

static void test_concurrent(void **state)
{
    content_service_t *s = service(100);
    pthread_t th[4];
    worker_arg_t args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (worker_arg_t){s, 0};
        assert_int_equal(pthread_create(&th[i], NULL, worker, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].bad, 0);
    }
    content_service_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_similar),          cmocka_unit_test(test_similar_errors),
        cmocka_unit_test(test_score),            cmocka_unit_test(test_score_candidates),
        cmocka_unit_test(test_score_explicit_wins),
        cmocka_unit_test(test_score_errors),     cmocka_unit_test(test_items),
        cmocka_unit_test(test_info),             cmocka_unit_test(test_load_paths),
        cmocka_unit_test(test_concurrent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
