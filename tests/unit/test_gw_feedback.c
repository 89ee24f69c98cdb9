/* test_gw_feedback.c: feedback against a real redis-server: the stream
 * entries and their fields, the capped recent list read back, the user's
 * cache invalidated (and only that user's), Redis down or paused, a batch
 * refused whole, validation, the recent-entry parser. */
#include "testutil.h"
#include "testredis.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/base/clock.h"
#include "common/base/log.h"
#include "common/net/metrics.h"
#include "common/net/redisuv.h"
#include "services/gateway/gw_cache.h"
#include "services/gateway/gw_feedback.h"

typedef struct fx {
    uv_loop_t loop;
    uv_timer_t tick;
    testredis_t srv;
    redisuv_t *r;
    metrics_registry_t *reg;
    gw_cache_t *cache;
    gw_feedback_t *fb;
} fx_t;

/* The loop helpers of testutil, on this fixture's loop. */
static bool run_until(fx_t *f, testutil_pred_fn p, void *arg, int timeout_ms)
{
    return testutil_uv_run_until(&f->loop, p, arg, timeout_ms);
}

static void run_for(fx_t *f, int ms)
{
    testutil_uv_run_for(&f->loop, ms);
}

static bool is_connected(void *arg)
{
    return redisuv_connected(arg);
}

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    testutil_uv_loop_init(&f->loop, &f->tick);
    f->reg = metrics_registry_new();
    *state = f;
    return 0;
}

static void start_all(fx_t *f, const char *name, int recent_max, int cmd_timeout_ms)
{
    testredis_start(&f->srv, name, NULL);
    redisuv_opts_t o = {.host = "127.0.0.1", .port = f->srv.port, .command_timeout_ms = cmd_timeout_ms,
                        .reconnect_min_ms = 20, .reconnect_max_ms = 100};
    err_t err;
    assert_int_equal(redisuv_new(&f->loop, &o, &f->r, &err), 0);
    assert_true(run_until(f, is_connected, f->r, 5000));
    assert_int_equal(gw_cache_new(f->r, NULL, f->reg, &f->cache, &err), 0);
    gw_feedback_opts_t fo = {"recsys", 1000, recent_max};
    assert_int_equal(gw_feedback_new(f->r, f->cache, &fo, f->reg, &f->fb, &err), 0);
}

static int teardown(void **state)
{
    fx_t *f = *state;
    gw_feedback_free(f->fb);
    gw_cache_free(f->cache);
    if (f->r)
        redisuv_close(f->r, NULL, NULL);
    uv_close((uv_handle_t *)&f->tick, NULL);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    int rc = uv_loop_close(&f->loop);
    metrics_registry_free(f->reg);
    testredis_stop(&f->srv);
    free(f);
    return rc == 0 ? 0 : -1;
}

/* ---- add results */

typedef struct added {
    int calls;
    size_t n;
    char ids[16][64];
    char error[300];
} added_t;

static void on_added(void *arg, const char *const *ids, size_t n, const char *error)
{
    added_t *a = arg;
    a->calls++;
    a->n = n;
    for (size_t i = 0; i < n && i < 16; i++)
        snprintf(a->ids[i], sizeof a->ids[i], "%s", ids[i]);
    if (error) {
        assert_null(ids);
        snprintf(a->error, sizeof a->error, "%s", error);
    }
}

static bool added_done(void *arg)
{
    return ((added_t *)arg)->calls > 0;
}

static added_t add(fx_t *f, const gw_feedback_event_t *ev, size_t n)
{
    added_t a = {0};
    err_t err;
    assert_int_equal(gw_feedback_add(f->fb, ev, n, on_added, &a, &err), 0);
    assert_int_equal(a.calls, 0); /* never inside the call */
    assert_true(run_until(f, added_done, &a, 3000));
    assert_int_equal(a.calls, 1);
    return a;
}

static const char *field(redisReply *fields, const char *name)
{
    for (size_t i = 0; i + 1 < fields->elements; i += 2)
        if (strcmp(fields->element[i]->str, name) == 0)
            return fields->element[i + 1]->str;
    return NULL;
}

static void test_stream_entries(void **state)
{
    fx_t *f = *state;
    start_all(f, "gwfb-stream", 200, 500);
    gw_feedback_event_t ev[] = {
        {"u1", "m1", 4.5f, 1, 1700000000123LL},
        {"u1", "The Item: 2", 0.0f, 2, 0},
    };
    long long now = (long long)clock_wall_ms();
    added_t a = add(f, ev, 2);
    assert_string_equal(a.error, "");
    assert_int_equal(a.n, 2);

    redisContext *c = testredis_connect(&f->srv);
    redisReply *x = testredis_cmd(c, "XRANGE recsys:feedback - +");
    assert_int_equal(x->elements, 2);
    for (size_t i = 0; i < 2; i++)
        assert_string_equal(x->element[i]->element[0]->str, a.ids[i]);
    redisReply *f0 = x->element[0]->element[1], *f1 = x->element[1]->element[1];
    assert_string_equal(field(f0, "user"), "u1");
    assert_string_equal(field(f0, "item"), "m1");
    assert_string_equal(field(f0, "rating"), "4.5");
    assert_string_equal(field(f0, "type"), "rating");
    assert_string_equal(field(f0, "ts"), "1700000000123");
    assert_string_equal(field(f1, "item"), "The Item: 2");
    assert_string_equal(field(f1, "rating"), "0");
    assert_string_equal(field(f1, "type"), "view");
    long long t1 = atoll(field(f1, "ts"));
    assert_true(t1 >= now - 5000 && t1 <= now + 5000); /* 0 = server time */
    freeReplyObject(x);
    redisFree(c);

    gw_feedback_stats_t st;
    gw_feedback_stats(f->fb, &st);
    assert_int_equal(st.events, 2);
    assert_int_equal(st.batches, 1);
    char *text = metrics_expose(f->reg, NULL);
    assert_non_null(strstr(text, "recsys_feedback_events_total 2\n"));
    free(text);
}

/* ---- recent */

typedef struct recent {
    int calls;
    size_t n;
    char items[32][64];
    float ratings[32];
    int types[32];
    long long ts[32];
    char error[300];
} recent_t;

static void on_recent(void *arg, const gw_feedback_recent_event_t *ev, size_t n, const char *error)
{
    recent_t *r = arg;
    r->calls++;
    r->n = n;
    for (size_t i = 0; i < n && i < 32; i++) {
        snprintf(r->items[i], sizeof r->items[i], "%s", ev[i].item);
        r->ratings[i] = ev[i].rating;
        r->types[i] = ev[i].type;
        r->ts[i] = ev[i].ts_ms;
    }
    if (error)
        snprintf(r->error, sizeof r->error, "%s", error);
}

static bool recent_done(void *arg)
{
    return ((recent_t *)arg)->calls > 0;
}

static recent_t recent(fx_t *f, const char *user, int max)
{
    recent_t r;
    memset(&r, 0, sizeof r);
    assert_int_equal(gw_feedback_recent(f->fb, user, max, on_recent, &r), 0);
    assert_int_equal(r.calls, 0);
    assert_true(run_until(f, recent_done, &r, 3000));
    return r;
}

static void test_recent_capped_and_parsed(void **state)
{
    fx_t *f = *state;
    start_all(f, "gwfb-recent", 5, 500);
    const char *user = "user with spaces:and colons";
    char items[8][32];
    gw_feedback_event_t ev[8];
    for (int i = 0; i < 8; i++) {
        snprintf(items[i], sizeof items[i], "item %d", i);
        ev[i] = (gw_feedback_event_t){user, items[i], (float)i * 0.5f, 1 + i % 5, 1000 + i};
    }
    add(f, ev, 3);
    add(f, ev + 3, 4);
    add(f, ev + 7, 1);

    recent_t r = recent(f, user, 0);
    assert_string_equal(r.error, "");
    assert_int_equal(r.n, 5); /* capped */
    for (int i = 0; i < 5; i++) { /* the 5 newest, oldest first (the order they happened) */
        int j = 3 + i;
        assert_string_equal(r.items[i], items[j]);
        assert_true(r.ratings[i] == (float)j * 0.5f);
        assert_int_equal(r.types[i], 1 + j % 5);
        assert_int_equal(r.ts[i], 1000 + j);
    }
    r = recent(f, user, 2);
    assert_int_equal(r.n, 2);
    assert_string_equal(r.items[0], "item 6");
    assert_string_equal(r.items[1], "item 7");
    r = recent(f, "nobody", 10);
    assert_int_equal(r.n, 0);
    assert_string_equal(r.error, "");

    redisContext *c = testredis_connect(&f->srv);
    redisReply *x = testredis_cmd(c, "LLEN recsys:recent:%s", "~757365722077697468207370616365733a616e6420636f6c6f6e73");
    assert_int_equal(x->integer, 5);
    freeReplyObject(x);
    x = testredis_cmd(c, "XLEN recsys:feedback");
    assert_int_equal(x->integer, 8); /* the stream keeps everything */
    freeReplyObject(x);
    redisFree(c);
    assert_int_equal(gw_feedback_recent(f->fb, "", 10, on_recent, &r), -1);
}

/* ---- cache invalidation */

typedef struct comp {
    int calls;
} comp_t;

static void compute_now(gw_cache_flight_t *fl, void *arg)
{
    ((comp_t *)arg)->calls++;
    gw_cache_computed(fl, "answer", 6, true, NULL);
}

typedef struct got {
    int calls;
    gw_cache_outcome_t o;
} got_t;

static void on_got(void *arg, gw_cache_outcome_t o, const void *v, size_t len, const char *error)
{
    got_t *g = arg;
    g->calls++;
    g->o = o;
}

static bool got_done(void *arg)
{
    return ((got_t *)arg)->calls > 0;
}

static gw_cache_outcome_t lookup(fx_t *f, const char *user, comp_t *c)
{
    gw_cache_key_t k = {"cv", "fv", user, "req", 3};
    got_t g = {0};
    assert_int_equal(gw_cache_get_or_compute(f->cache, &k, compute_now, c, on_got, &g), 0);
    assert_true(run_until(f, got_done, &g, 3000));
    return g.o;
}

static bool stored(void *arg)
{
    void **a = arg;
    gw_cache_stats_t st;
    gw_cache_stats(a[0], &st);
    return st.stores >= (uint64_t)(uintptr_t)a[1];
}

static void test_feedback_invalidates_that_user_only(void **state)
{
    fx_t *f = *state;
    start_all(f, "gwfb-inval", 200, 500);
    comp_t c = {0};
    lookup(f, "u1", &c);
    lookup(f, "u2", &c);
    void *a[2] = {f->cache, (void *)(uintptr_t)2};
    assert_true(run_until(f, stored, a, 2000));
    assert_int_equal(lookup(f, "u1", &c), GW_CACHE_HIT);
    assert_int_equal(lookup(f, "u2", &c), GW_CACHE_HIT);

    gw_feedback_event_t ev = {"u1", "m9", 5.0f, 1, 0};
    added_t r = add(f, &ev, 1);
    assert_string_equal(r.error, "");
    assert_int_equal(lookup(f, "u1", &c), GW_CACHE_COMPUTED); /* the next answer is fresh */
    assert_int_equal(lookup(f, "u2", &c), GW_CACHE_HIT);
    assert_int_equal(c.calls, 3);

    redisContext *rc = testredis_connect(&f->srv);
    redisReply *x = testredis_cmd(rc, "GET recsys:gen:u1");
    assert_string_equal(x->str, "1");
    freeReplyObject(x);
    x = testredis_cmd(rc, "PTTL recsys:gen:u1");
    assert_true(x->integer > 0);
    freeReplyObject(x);
    x = testredis_cmd(rc, "EXISTS recsys:gen:u2");
    assert_int_equal(x->integer, 0);
    freeReplyObject(x);
    redisFree(rc);
}

static void test_redis_down_refuses(void **state)
{
    fx_t *f = *state;
    start_all(f, "gwfb-down", 200, 500);
    testredis_kill(&f->srv);
    run_for(f, 50);
    gw_feedback_event_t ev = {"u1", "m1", 3.0f, 1, 0};
    added_t a = add(f, &ev, 1);
    assert_int_equal(a.n, 0);
    assert_non_null(strstr(a.error, "feedback store: redis unavailable"));
    recent_t r = recent(f, "u1", 10);
    assert_non_null(strstr(r.error, "redis unavailable"));
    gw_feedback_stats_t st;
    gw_feedback_stats(f->fb, &st);
    assert_int_equal(st.failed_batches, 1);
    assert_int_equal(st.events, 0);

    /* back: accepted again, by itself */
    testredis_restart(&f->srv);
    assert_true(run_until(f, is_connected, f->r, 3000));
    a = add(f, &ev, 1);
    assert_string_equal(a.error, "");
    assert_int_equal(a.n, 1);
}

static void test_paused_redis_times_out(void **state)
{
    fx_t *f = *state;
    start_all(f, "gwfb-pause", 200, 50);
    testredis_pause(&f->srv);
    gw_feedback_event_t ev = {"u1", "m1", 3.0f, 1, 0};
    added_t a = add(f, &ev, 1);
    testredis_resume(&f->srv);
    assert_non_null(strstr(a.error, "timed out"));
    assert_int_equal(a.n, 0);
}

static void test_batch_refused_whole(void **state)
{
    fx_t *f = *state;
    start_all(f, "gwfb-whole", 200, 500);
    redisContext *c = testredis_connect(&f->srv);
    freeReplyObject(testredis_cmd(c, "SET recsys:recent:u3 not-a-list"));
    gw_feedback_event_t ev[] = {
        {"u1", "m1", 4.0f, 1, 0},
        {"u3", "m2", 4.0f, 1, 0},
    };
    added_t a = add(f, ev, 2);
    assert_non_null(strstr(a.error, "WRONGTYPE"));
    assert_int_equal(a.n, 0);
    redisReply *x = testredis_cmd(c, "EXISTS recsys:feedback recsys:recent:u1 recsys:gen:u1");
    assert_int_equal(x->integer, 0); /* nothing half-written */
    freeReplyObject(x);
    redisFree(c);
}

static void test_validation(void **state)
{
    fx_t *f = *state;
    start_all(f, "gwfb-valid", 200, 500);
    err_t err;
    added_t a = {0};
    gw_feedback_event_t ok = {"u", "i", 1.0f, 1, 0};
    assert_int_equal(gw_feedback_add(f->fb, &ok, 0, on_added, &a, &err), -1);
    assert_string_equal(err.msg, "no feedback events");
    gw_feedback_event_t ev[2] = {ok, {"", "i", 1.0f, 1, 0}};
    assert_int_equal(gw_feedback_add(f->fb, ev, 2, on_added, &a, &err), -1);
    assert_string_equal(err.msg, "event 1: user_id is empty");
    ev[1] = (gw_feedback_event_t){"u", "i", 1.0f, 9, 0};
    assert_int_equal(gw_feedback_add(f->fb, ev, 2, on_added, &a, &err), -1);
    assert_string_equal(err.msg, "event 1: unknown event type 9");
    char longid[GW_FEEDBACK_ID_MAX + 2];
    memset(longid, 'x', sizeof longid - 1);
    longid[sizeof longid - 1] = '\0';
    ev[1] = (gw_feedback_event_t){"u", longid, 1.0f, 1, 0};
    assert_int_equal(gw_feedback_add(f->fb, ev, 2, on_added, &a, &err), -1);
    assert_non_null(strstr(err.msg, "item_id longer than"));
    run_for(f, 10);
    assert_int_equal(a.calls, 0);

    /* hex-encoded ids of the longest size still fit every buffer */
    char maxid[GW_FEEDBACK_ID_MAX + 1];
    memset(maxid, ':', sizeof maxid - 1);
    maxid[sizeof maxid - 1] = '\0';
    gw_feedback_event_t big = {maxid, maxid, 1.0f, 1, 0};
    added_t b = add(f, &big, 1);
    assert_string_equal(b.error, "");
    recent_t r = recent(f, maxid, 1);
    assert_int_equal(r.n, 1);
}

static void test_parse_recent(void **state)
{
    (void)state;
    gw_feedback_recent_event_t e;
    const char *item;
    size_t il;
    const char *s = "1700000000000 4 4.5 some item";
    assert_int_equal(gw_feedback_parse_recent(s, strlen(s), &e, &item, &il), 0);
    assert_int_equal(e.ts_ms, 1700000000000LL);
    assert_int_equal(e.type, 4);
    assert_true(e.rating == 4.5f);
    assert_int_equal(il, 9);
    assert_memory_equal(item, "some item", 9);
    const char *bad[] = {"", "x 1 1 a", "1 1 1", "1 1 1 ", "1 9 1 a", "-5 1 1 a", "1 1 nan a", "1  1 1 a",
                         "1 4294967297 1 a" /* type 1 after a cast to int */};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(gw_feedback_parse_recent(bad[i], strlen(bad[i]), &e, &item, &il), -1);
    assert_string_equal(gw_feedback_type_name(5), "dislike");
    assert_null(gw_feedback_type_name(6));
    assert_null(gw_feedback_type_name(-1));
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_recent),
        cmocka_unit_test_setup_teardown(test_stream_entries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recent_capped_and_parsed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_feedback_invalidates_that_user_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redis_down_refuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_paused_redis_times_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_refused_whole, setup, teardown),
        cmocka_unit_test_setup_teardown(test_validation, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
