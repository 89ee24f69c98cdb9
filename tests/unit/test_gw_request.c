/* test_gw_request.c: the gateway's wire conventions and request checks:
 * Twirp codes and statuses, error bodies, Content-Type, decoding of good
 * and bad JSON/protobuf bodies, every request check and limit, REST
 * parameter parsing, and the gateway catalog's filters and popularity on a
 * small plain dataset written by the test. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/net/httpreq.h"
#include "services/gateway/gw_catalog.h"
#include "services/gateway/gw_request.h"
#include "services/gateway/gw_twirp.h"

static void test_codes(void **state)
{
    (void)state;
    /* Twirp's table (twitchtv/twirp docs/errors.md). */
    static const struct {
        const char *name;
        int status;
    } want[] = {{"canceled", 408},         {"unknown", 500},           {"invalid_argument", 400},
                {"malformed", 400},        {"deadline_exceeded", 408}, {"not_found", 404},
                {"bad_route", 404},        {"already_exists", 409},    {"permission_denied", 403},
                {"unauthenticated", 401},  {"resource_exhausted", 429}, {"failed_precondition", 412},
                {"aborted", 409},          {"out_of_range", 400},      {"unimplemented", 501},
                {"internal", 500},         {"unavailable", 503},       {"dataloss", 500}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        int c = gw_code_parse(want[i].name);
        assert_true(c > 0);
        assert_string_equal(gw_code_name((gw_code_t)c), want[i].name);
        assert_int_equal(gw_code_status((gw_code_t)c), want[i].status);
    }
    assert_int_equal(gw_code_parse("nope"), -1);
    assert_int_equal(gw_code_status((gw_code_t)999), 500);
    assert_int_equal(gw_code_from_worker(RECSYS__V1__WORKER_ERROR_CODE__WORKER_ERROR_CODE_UNAVAILABLE), GW_UNAVAILABLE);
    assert_int_equal(gw_code_from_worker(RECSYS__V1__WORKER_ERROR_CODE__WORKER_ERROR_CODE_NOT_FOUND), GW_NOT_FOUND);
    assert_int_equal(gw_code_from_worker((Recsys__V1__WorkerErrorCode)77), GW_INTERNAL);
}

static void test_error_json(void **state)
{
    (void)state;
    size_t len;
    const char *meta[] = {"item_id", "a\"b", NULL};
    char *s = gw_error_json(GW_NOT_FOUND, "item \"a\\\"b\" not found\n", meta, &len);
    assert_non_null(s);
    assert_int_equal(strlen(s), len);
    cJSON *o = cJSON_Parse(s);
    assert_non_null(o);
    assert_string_equal(cJSON_GetObjectItem(o, "code")->valuestring, "not_found");
    assert_string_equal(cJSON_GetObjectItem(o, "msg")->valuestring, "item \"a\\\"b\" not found\n");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "meta"), "item_id")->valuestring, "a\"b");
    cJSON_Delete(o);
    free(s);
    s = gw_error_json(GW_INTERNAL, "\xff\xfe bad", NULL, NULL);
    assert_string_equal(s, "{\"code\":\"internal\",\"msg\":\"error\",\"meta\":{}}");
    free(s);
}

static void test_content_type(void **state)
{
    (void)state;
    gw_encoding_t e;
    assert_int_equal(gw_content_type("application/json", &e), 0);
    assert_int_equal(e, GW_ENC_JSON);
    assert_int_equal(gw_content_type("Application/JSON; charset=utf-8", &e), 0);
    assert_int_equal(e, GW_ENC_JSON);
    assert_int_equal(gw_content_type("application/protobuf", &e), 0);
    assert_int_equal(e, GW_ENC_PROTO);
    assert_int_equal(gw_content_type(NULL, &e), -1);
    assert_int_equal(gw_content_type("", &e), -1);
    assert_int_equal(gw_content_type("application/jsonx", &e), -1);
    assert_int_equal(gw_content_type("text/plain", &e), -1);
    assert_int_equal(gw_content_type("application/x-protobuf", &e), -1);
}

static void test_decode(void **state)
{
    (void)state;
    err_t err;
    const ProtobufCMessageDescriptor *d = &recsys__v1__recommend_request__descriptor;
    const char *js = "{\"user_id\":\"42\",\"k\":5,\"history\":[{\"item_id\":\"m1\",\"rating\":4.5}],"
                     "\"filters\":{\"genres\":[\"Drama\"]},\"unknown_field\":1}";
    Recsys__V1__RecommendRequest *m =
        (Recsys__V1__RecommendRequest *)gw_decode(d, GW_ENC_JSON, js, strlen(js), NULL, &err);
    assert_non_null(m);
    assert_string_equal(m->user_id, "42");
    assert_int_equal(m->k, 5);
    assert_int_equal(m->n_history, 1);
    assert_true(m->history[0]->rating == 4.5f);
    /* Round trip through protobuf. */
    char *buf;
    size_t len;
    assert_int_equal(gw_encode(&m->base, GW_ENC_PROTO, &buf, &len, &err), 0);
    Recsys__V1__RecommendRequest *p = (Recsys__V1__RecommendRequest *)gw_decode(d, GW_ENC_PROTO, buf, len, NULL, &err);
    assert_non_null(p);
    assert_string_equal(p->filters->genres[0], "Drama");
    protobuf_c_message_free_unpacked(&p->base, NULL);
    /* Truncated protobuf. */
    assert_null(gw_decode(d, GW_ENC_PROTO, buf, len - 1, NULL, &err));
    assert_non_null(strstr(err.msg, "invalid protobuf"));
    free(buf);
    protobuf_c_message_free_unpacked(&m->base, NULL);

    static const char *bad[] = {"{", "[]", "{\"k\":\"x\"}", "{\"k\":1.5}", "{\"user_id\":1}",
                                "{\"history\":[{\"rating\":\"high\"}]}", "{\"k\":1,\"k\":2}", "nul", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err_clear(&err);
        assert_null(gw_decode(d, GW_ENC_JSON, bad[i], strlen(bad[i]), NULL, &err));
        assert_true(strncmp(err.msg, "invalid JSON recsys.v1.RecommendRequest", 39) == 0);
    }
    assert_null(gw_decode(d, GW_ENC_JSON, "{\"k\":\"x\"}", 9, NULL, &err));
    assert_non_null(strstr(err.msg, "k: expected integer"));

    /* A protobuf string that is not UTF-8 is refused with the field path. */
    Recsys__V1__RecommendRequest r = RECSYS__V1__RECOMMEND_REQUEST__INIT;
    Recsys__V1__HistoryEvent ev = RECSYS__V1__HISTORY_EVENT__INIT, *evp = &ev;
    ev.item_id = "ok\xc3";
    r.user_id = "u";
    r.n_history = 1;
    r.history = &evp;
    assert_int_equal(gw_encode(&r.base, GW_ENC_PROTO, &buf, &len, &err), 0);
    assert_null(gw_decode(d, GW_ENC_PROTO, buf, len, NULL, &err));
    assert_non_null(strstr(err.msg, "history[0].item_id"));
    free(buf);
    /* Garbage bytes. */
    assert_null(gw_decode(d, GW_ENC_PROTO, "\xff\xff\xff", 3, NULL, &err));
}

static void test_checks(void **state)
{
    (void)state;
    err_t err;
    gw_limits_t l;
    gw_limits_default(&l);
    assert_int_equal(gw_effective_k(0, &l), 10);
    assert_int_equal(gw_effective_k(7, &l), 7);

    Recsys__V1__RecommendRequest r = RECSYS__V1__RECOMMEND_REQUEST__INIT;
    assert_int_equal(gw_check_recommend(&r, &l, &err), -1);
    assert_string_equal(err.msg, "user_id or history: one is required");
    r.user_id = "u1";
    assert_int_equal(gw_check_recommend(&r, &l, &err), 0);
    r.k = 201;
    assert_int_equal(gw_check_recommend(&r, &l, &err), -1);
    assert_string_equal(err.msg, "k: 201 exceeds the maximum of 200");
    r.k = -1;
    assert_int_equal(gw_check_recommend(&r, &l, &err), -1);
    r.k = 200;
    assert_int_equal(gw_check_recommend(&r, &l, &err), 0);
    char longid[300];
    memset(longid, 'x', sizeof longid - 1);
    longid[sizeof longid - 1] = '\0';
    r.user_id = longid;
    assert_int_equal(gw_check_recommend(&r, &l, &err), -1);
    assert_string_equal(err.msg, "user_id: 299 bytes exceed the maximum of 256");
    r.user_id = "u1";
    Recsys__V1__HistoryEvent ev[3], *evp[3];
    for (int i = 0; i < 3; i++) {
        recsys__v1__history_event__init(&ev[i]);
        ev[i].item_id = "m";
        evp[i] = &ev[i];
    }
    r.history = evp;
    r.n_history = 3;
    assert_int_equal(gw_check_recommend(&r, &l, &err), 0);
    ev[1].rating = NAN;
    assert_int_equal(gw_check_recommend(&r, &l, &err), -1);
    assert_string_equal(err.msg, "history[1].rating: must be a finite number in [0, 10]");
    ev[1].rating = 11;
    assert_int_equal(gw_check_recommend(&r, &l, &err), -1);
    ev[1].rating = 4;
    ev[2].type = (Recsys__V1__EventType)9;
    assert_int_equal(gw_check_recommend(&r, &l, &err), -1);
    assert_string_equal(err.msg, "history[2].type: unknown event type 9");
    ev[2].type = RECSYS__V1__EVENT_TYPE__EVENT_TYPE_LIKE;
    ev[0].item_id = "";
    assert_int_equal(gw_check_recommend(&r, &l, &err), -1);
    assert_string_equal(err.msg, "history[0].item_id: required");
    ev[0].item_id = "m";
    l.max_history = 2;
    assert_int_equal(gw_check_recommend(&r, &l, &err), -1);
    assert_string_equal(err.msg, "history: 3 events exceed the maximum of 2");
    gw_limits_default(&l);
    Recsys__V1__BlendWeights w = RECSYS__V1__BLEND_WEIGHTS__INIT;
    w.cf = -1;
    r.weights = &w;
    assert_int_equal(gw_check_recommend(&r, &l, &err), -1);
    w.cf = INFINITY;
    assert_int_equal(gw_check_recommend(&r, &l, &err), -1);
    w.cf = 0.5f;
    assert_int_equal(gw_check_recommend(&r, &l, &err), 0);

    Recsys__V1__SimilarItemsRequest s = RECSYS__V1__SIMILAR_ITEMS_REQUEST__INIT;
    assert_int_equal(gw_check_similar(&s, &l, &err), -1);
    assert_string_equal(err.msg, "item_id: required");
    s.item_id = "m1";
    s.mode = (Recsys__V1__SimilarityMode)4;
    assert_int_equal(gw_check_similar(&s, &l, &err), -1);
    s.mode = RECSYS__V1__SIMILARITY_MODE__SIMILARITY_MODE_CONTENT;
    assert_int_equal(gw_check_similar(&s, &l, &err), 0);

    Recsys__V1__ScoreRequest sc = RECSYS__V1__SCORE_REQUEST__INIT;
    assert_int_equal(gw_check_score(&sc, &l, &err), -1);
    assert_string_equal(err.msg, "candidate_item_ids: required");
    char *cands[2] = {"a", ""};
    sc.candidate_item_ids = cands;
    sc.n_candidate_item_ids = 2;
    assert_int_equal(gw_check_score(&sc, &l, &err), -1);
    assert_string_equal(err.msg, "candidate_item_ids[1]: required");
    cands[1] = "b";
    assert_int_equal(gw_check_score(&sc, &l, &err), 0);

    Recsys__V1__AddFeedbackRequest f = RECSYS__V1__ADD_FEEDBACK_REQUEST__INIT;
    assert_int_equal(gw_check_feedback(&f, &l, &err), -1);
    Recsys__V1__FeedbackEvent fe = RECSYS__V1__FEEDBACK_EVENT__INIT, *fep = &fe;
    f.events = &fep;
    f.n_events = 1;
    assert_int_equal(gw_check_feedback(&f, &l, &err), -1);
    assert_string_equal(err.msg, "events[0].user_id: required");
    fe.user_id = "u";
    fe.item_id = "m";
    fe.rating = 4.5f;
    assert_int_equal(gw_check_feedback(&f, &l, &err), 0);
    fe.timestamp_ms = -5;
    assert_int_equal(gw_check_feedback(&f, &l, &err), -1);

    Recsys__V1__SearchItemsRequest q = RECSYS__V1__SEARCH_ITEMS_REQUEST__INIT;
    assert_int_equal(gw_check_search(&q, &l, &err), -1);
    q.query = "star";
    assert_int_equal(gw_check_search(&q, &l, &err), 0);
    q.k = 100000;
    assert_int_equal(gw_check_search(&q, &l, &err), -1);
}

static httpreq_t *parse(const char *target)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", target);
    httpreq_parser_t *p = httpreq_parser_new(NULL);
    size_t used;
    assert_int_equal(httpreq_parser_feed(p, buf, strlen(buf), &used), HTTPREQ_DONE);
    httpreq_t *r = httpreq_parser_take(p);
    httpreq_parser_free(p);
    return r;
}

static void test_rest(void **state)
{
    (void)state;
    err_t err;
    httpreq_t *h = parse("/v1/users/7/recommendations?k=5&genre=Drama,Comedy&genre=Film-Noir&exclude=a,,b&explain");
    Recsys__V1__RecommendRequest *r = gw_rest_recommend("7", h, &err);
    assert_non_null(r);
    assert_string_equal(r->user_id, "7");
    assert_int_equal(r->k, 5);
    assert_true(r->explain);
    assert_int_equal(r->filters->n_genres, 3);
    assert_string_equal(r->filters->genres[2], "Film-Noir");
    assert_int_equal(r->filters->n_exclude_item_ids, 2);
    assert_string_equal(r->filters->exclude_item_ids[1], "b");
    protobuf_c_message_free_unpacked(&r->base, NULL);
    httpreq_free(h);

    static const char *bad[] = {"/x?k=abc", "/x?k=", "/x?k=99999999999", "/x?explain=maybe", "/x?year_min=19x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        h = parse(bad[i]);
        assert_null(gw_rest_recommend("u", h, &err));
        httpreq_free(h);
    }
    h = parse("/x?k=abc");
    assert_null(gw_rest_recommend("u", h, &err));
    assert_string_equal(err.msg, "k: expected an integer, got 'abc'");
    httpreq_free(h);

    h = parse("/v1/items/m1/similar?mode=behaviour&k=3");
    Recsys__V1__SimilarItemsRequest *s = gw_rest_similar("m1", h, &err);
    assert_non_null(s);
    assert_int_equal(s->mode, RECSYS__V1__SIMILARITY_MODE__SIMILARITY_MODE_BEHAVIOUR);
    assert_int_equal(s->k, 3);
    protobuf_c_message_free_unpacked(&s->base, NULL);
    httpreq_free(h);
    h = parse("/v1/items/m1/similar?mode=telepathy");
    assert_null(gw_rest_similar("m1", h, &err));
    assert_string_equal(err.msg, "mode: expected content, behaviour or blend, got 'telepathy'");
    httpreq_free(h);

    h = parse("/v1/items?q=the+kid&k=4");
    Recsys__V1__SearchItemsRequest *q = gw_rest_search(h, &err);
    assert_non_null(q);
    assert_string_equal(q->query, "the kid");
    assert_int_equal(q->k, 4);
    protobuf_c_message_free_unpacked(&q->base, NULL);
    httpreq_free(h);
}

static void test_catalog(void **state)
{
    (void)state;
    char *dir = testutil_tmpdir("gw_request");
    char *items = testutil_join(dir, "items.csv");
    char *ratings = testutil_join(dir, "ratings.csv");
    const char *it = "item_id,title,year,genres\n"
                     "a,Alpha,1990,Drama\n"
                     "b,Beta,2000,Comedy|Drama\n"
                     "c,Gamma,2010,Horror\n"
                     "d,Delta,0,Comedy\n";
    const char *ra = "user_id,item_id,rating\n"
                     "u1,b,4\nu1,a,3\n"
                     "u2,b,5\nu2,c,2\n"
                     "u3,b,1\nu3,c,4\nu3,d,4\n";
    testutil_write_file(items, it, strlen(it));
    testutil_write_file(ratings, ra, strlen(ra));
    err_t err;
    gw_catalog_t *c;
    assert_int_equal(gw_catalog_load(dir, NULL, &c, &err), 0);
    assert_int_equal(gw_catalog_size(c), 4);
    /* Popularity: b (3), c (2), then a and d (1 each, lower index first). */
    uint32_t out[4];
    assert_int_equal(gw_catalog_popular(c, NULL, out, 4), 4);
    assert_string_equal(catalog_id(c->cat, out[0]), "b");
    assert_string_equal(catalog_id(c->cat, out[1]), "c");
    assert_string_equal(catalog_id(c->cat, out[2]), "a");
    assert_string_equal(catalog_id(c->cat, out[3]), "d");
    const uint32_t *ui;
    assert_int_equal(gw_catalog_user_items(c, "u1", &ui), 2);
    assert_true(ui[0] < ui[1]);
    assert_int_equal(gw_catalog_user_items(c, "nobody", &ui), 0);
    assert_int_equal(gw_catalog_find(c, "zz"), UINT32_MAX);

    arena_t a;
    arena_init(&a);
    filter_t f;
    Recsys__V1__Filters pf = RECSYS__V1__FILTERS__INIT;
    char *genres[] = {"Comedy"};
    char *ex[] = {"d", "unknown"};
    pf.genres = genres;
    pf.n_genres = 1;
    pf.exclude_item_ids = ex;
    pf.n_exclude_item_ids = 2;
    assert_int_equal(gw_filter_compile(c, &pf, NULL, 0, &f, &a, &err), 0);
    assert_int_equal(gw_catalog_popular(c, &f, out, 4), 1);
    assert_string_equal(catalog_id(c->cat, out[0]), "b");
    pf.n_exclude_item_ids = 0;
    pf.year_min = 1995;
    assert_int_equal(gw_filter_compile(c, &pf, NULL, 0, &f, &a, &err), 0);
    /* d has no year: a year bound leaves it out. */
    assert_int_equal(gw_catalog_popular(c, &f, out, 4), 1);
    pf.year_max = 1990;
    assert_int_equal(gw_filter_compile(c, &pf, NULL, 0, &f, &a, &err), -1);
    pf.year_max = 0;
    char *nog[] = {"Western"};
    pf.genres = nog;
    assert_int_equal(gw_filter_compile(c, &pf, NULL, 0, &f, &a, &err), -1);
    assert_string_equal(err.msg, "filters.genres[0]: unknown genre 'Western'");
    /* Extra exclusions (a history). */
    uint32_t extra[2] = {gw_catalog_find(c, "c"), gw_catalog_find(c, "b")};
    assert_int_equal(gw_filter_compile(c, NULL, extra, 2, &f, &a, &err), 0);
    assert_int_equal(gw_catalog_popular(c, &f, out, 4), 2);
    assert_string_equal(catalog_id(c->cat, out[0]), "a");

    Recsys__V1__Item item;
    assert_int_equal(gw_catalog_item(c, gw_catalog_find(c, "b"), &item, &a), 0);
    assert_string_equal(item.title, "Beta");
    assert_int_equal(item.n_genres, 2);
    assert_int_equal(item.rating_count, 3);
    arena_free(&a);
    gw_catalog_free(c);
    free(items);
    free(ratings);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codes),   cmocka_unit_test(test_error_json), cmocka_unit_test(test_content_type),
        cmocka_unit_test(test_decode),  cmocka_unit_test(test_checks),     cmocka_unit_test(test_rest),
        cmocka_unit_test(test_catalog),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
