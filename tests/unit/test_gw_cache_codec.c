/* test_gw_cache_codec.c: what the answer cache stores (gw_cache_codec.h):
 * a stored answer re-sent in protobuf and JSON with each request's cached
 * flag and id spliced in, values that are not stored answers refused, and
 * the key of a ranked request (its packed bytes). */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "common/base/arena.h"
#include "recsys/v1/recommender.pb-c.h"
#include "services/gateway/gw_cache_codec.h"

static void *stored(size_t *len)
{
    Recsys__V1__ScoredItem it = RECSYS__V1__SCORED_ITEM__INIT, *items[] = {&it};
    it.item_id = "m\"1"; /* a quote in a string cannot fake the splice point */
    it.title = "\"cached\":false,\"request_id\":\"\"";
    it.score = 0.5f;
    Recsys__V1__RecommendResponse r = RECSYS__V1__RECOMMEND_RESPONSE__INIT;
    r.n_items = 1;
    r.items = items;
    r.cached = 1;
    r.request_id = "computed-by-another";
    r.fallback = "popularity"; /* after cached and request_id: carried too */
    err_t err;
    void *v = gw_cache_answer_encode(&r.base, &r.cached, &r.request_id, len, &err);
    assert_non_null(v);
    assert_false(r.cached); /* reset for the stored form */
    assert_string_equal(r.request_id, "");
    return v;
}

static void test_answer_roundtrip(void **state)
{
    (void)state;
    size_t len;
    void *v = stored(&len);
    char *body;
    size_t n;
    assert_int_equal(gw_cache_answer_body(v, len, GW_ENC_PROTO, true, "req-7", 0, &body, &n), 0);
    Recsys__V1__RecommendResponse *r = recsys__v1__recommend_response__unpack(NULL, n, (uint8_t *)body);
    assert_non_null(r);
    assert_true(r->cached);
    assert_string_equal(r->request_id, "req-7");
    assert_int_equal(r->n_items, 1);
    assert_string_equal(r->items[0]->item_id, "m\"1");
    assert_string_equal(r->fallback, "popularity");
    recsys__v1__recommend_response__free_unpacked(r, NULL);
    free(body);

    /* headroom: the same body after 5 bytes left to the caller */
    char *plain;
    size_t pn;
    assert_int_equal(gw_cache_answer_body(v, len, GW_ENC_PROTO, true, "req-7", 0, &plain, &pn), 0);
    assert_int_equal(gw_cache_answer_body(v, len, GW_ENC_PROTO, true, "req-7", 5, &body, &n), 0);
    assert_int_equal(n, pn);
    assert_memory_equal(body + 5, plain, n);
    free(plain);
    free(body);

    assert_int_equal(gw_cache_answer_body(v, len, GW_ENC_JSON, false, "req-8", 0, &body, &n), 0);
    assert_int_equal(strlen(body), n);
    assert_non_null(strstr(body, "\"cached\":false,\"request_id\":\"req-8\""));
    assert_non_null(strstr(body, "\\\"cached\\\":false")); /* the title, still escaped */
    assert_non_null(strstr(body, "\"fallback\":\"popularity\""));
    free(body);
    free(v);
}

static void test_not_stored(void **state)
{
    (void)state;
    size_t len;
    uint8_t *v = stored(&len);
    char *body;
    size_t n;
    assert_int_equal(gw_cache_answer_body(v, 10, GW_ENC_JSON, false, "x", 0, &body, &n), -1);
    assert_int_equal(gw_cache_answer_body(v, len - 1, GW_ENC_PROTO, false, "x", 0, &body, &n), -1);
    v[0] = 'X';
    assert_int_equal(gw_cache_answer_body(v, len, GW_ENC_PROTO, false, "x", 0, &body, &n), -1);
    free(v);
    assert_int_equal(gw_cache_answer_body("", 0, GW_ENC_PROTO, false, "x", 0, &body, &n), -1);
}

static void test_request_key(void **state)
{
    (void)state;
    arena_t a;
    arena_init(&a);
    Recsys__V1__RecommendRequest m = RECSYS__V1__RECOMMEND_REQUEST__INIT;
    m.user_id = "u1";
    m.k = 7;
    gw_cache_key_t k;
    assert_int_equal(gw_cache_request_key(&k, &m.base, "u1", "c1", "f1", &a), 0);
    assert_string_equal(k.user, "u1");
    assert_string_equal(k.content_version, "c1");
    assert_string_equal(k.cf_version, "f1");
    uint8_t want[64];
    size_t wn = recsys__v1__recommend_request__pack(&m, want);
    assert_int_equal(k.params_len, wn);
    assert_memory_equal(k.params, want, wn);
    arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_answer_roundtrip),
        cmocka_unit_test(test_not_stored),
        cmocka_unit_test(test_request_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
