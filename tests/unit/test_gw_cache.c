/* test_gw_cache.c: the answer cache against a real redis-server: miss then
 * hit (binary values, TTL, key layout), single flight, per-user
 * invalidation, Redis down and back, uncacheable/too large/failed answers,
 * TTL 0, freeing with a flight running. */
#include "testutil.h"
#include "testredis.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base/log.h"
#include "common/net/metrics.h"
#include "common/net/redisuv.h"
#include "services/gateway/gw_cache.h"

typedef struct fx {
    uv_loop_t loop;
    uv_timer_t tick;
    testredis_t srv;
    redisuv_t *r;
    metrics_registry_t *reg;
    gw_cache_t *cache;
} fx_t;

static bool is_connected(void *arg)
{
    return redisuv_connected(arg);
}

/* The loop helpers of testutil, on this fixture's loop. */
static bool run_until(fx_t *f, testutil_pred_fn p, void *arg, int timeout_ms)
{
    return testutil_uv_run_until(&f->loop, p, arg, timeout_ms);
}

static void run_for(fx_t *f, int ms)
{
    testutil_uv_run_for(&f->loop, ms);
}

static void make_cache(fx_t *f, int64_t ttl_ms, size_t max_value)
{
    err_t err;
    if (f->cache)
        gw_cache_free(f->cache);
    gw_cache_opts_t o = {ttl_ms, max_value, "recsys"};
    assert_int_equal(gw_cache_new(f->r, &o, f->reg, &f->cache, &err), 0);
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

static void start_all(fx_t *f, const char *name)
{
    testredis_start(&f->srv, name, NULL);
    redisuv_opts_t o = {.host = "127.0.0.1", .port = f->srv.port, .command_timeout_ms = 500,
                        .reconnect_min_ms = 20, .reconnect_max_ms = 100};
    err_t err;
    assert_int_equal(redisuv_new(&f->loop, &o, &f->r, &err), 0);
    assert_true(run_until(f, is_connected, f->r, 5000));
    make_cache(f, 60000, 1 << 20);
}

static int teardown(void **state)
{
    fx_t *f = *state;
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

/* ---- a computation that answers now or after delay_ms */

typedef struct comp {
    fx_t *f;
    int calls;
    int delay_ms;
    const char *value;
    size_t len;
    bool cacheable;
    const char *error;
    uv_timer_t timer;
    bool timer_used, timer_closed;
    gw_cache_flight_t *flight;
} comp_t;

static void comp_closed(uv_handle_t *h)
{
    ((comp_t *)h->data)->timer_closed = true;
}

static void comp_fire(uv_timer_t *t)
{
    comp_t *c = t->data;
    uv_close((uv_handle_t *)t, comp_closed);
    gw_cache_computed(c->flight, c->value, c->len, c->cacheable, c->error);
}

static void compute(gw_cache_flight_t *flight, void *arg)
{
    comp_t *c = arg;
    c->calls++;
    c->flight = flight;
    if (c->delay_ms > 0) {
        assert_false(c->timer_used);
        c->timer_used = true;
        uv_timer_init(&c->f->loop, &c->timer);
        c->timer.data = c;
        uv_timer_start(&c->timer, comp_fire, (uint64_t)c->delay_ms, 0);
    } else {
        gw_cache_computed(flight, c->value, c->len, c->cacheable, c->error);
    }
}

typedef struct out {
    int calls;
    gw_cache_outcome_t outcome;
    char value[256];
    size_t len;
    char error[256];
} out_t;

static void on_done(void *arg, gw_cache_outcome_t o, const void *value, size_t len, const char *error)
{
    out_t *x = arg;
    x->calls++;
    x->outcome = o;
    x->len = len;
    if (value)
        memcpy(x->value, value, len < sizeof x->value ? len : sizeof x->value);
    if (error)
        snprintf(x->error, sizeof x->error, "%s", error);
}

static bool out_done(void *arg)
{
    return ((out_t *)arg)->calls > 0;
}

typedef struct outs {
    out_t *v;
    int n;
} outs_t;

static bool outs_done(void *arg)
{
    outs_t *o = arg;
    for (int i = 0; i < o->n; i++)
        if (o->v[i].calls == 0)
            return false;
    return true;
}

static bool stores_reach(void *arg)
{
    void **a = arg;
    gw_cache_stats_t st;
    gw_cache_stats(a[0], &st);
    return st.stores >= *(uint64_t *)a[1];
}

static void wait_stores(fx_t *f, uint64_t n)
{
    void *a[2] = {f->cache, &n};
    assert_true(run_until(f, stores_reach, a, 2000));
}

static out_t get(fx_t *f, const gw_cache_key_t *k, comp_t *c)
{
    out_t o = {0};
    assert_int_equal(gw_cache_get_or_compute(f->cache, k, compute, c, on_done, &o), 0);
    assert_true(run_until(f, out_done, &o, 3000));
    assert_int_equal(o.calls, 1);
    return o;
}

static const char VAL[] = {'\x0a', '\x03', 'a', '\0', 'b', '\xff', '\x12', '\0'};

static void test_miss_then_hit(void **state)
{
    fx_t *f = *state;
    start_all(f, "gwcache-hit");
    comp_t c = {.f = f, .value = VAL, .len = sizeof VAL, .cacheable = true};
    gw_cache_key_t k = {"c-v1", "cf-v7", "u1", "params-1", 8};

    out_t o = get(f, &k, &c);
    assert_int_equal(o.outcome, GW_CACHE_COMPUTED);
    assert_int_equal(c.calls, 1);
    wait_stores(f, 1);

    o = get(f, &k, &c);
    assert_int_equal(o.outcome, GW_CACHE_HIT);
    assert_int_equal(c.calls, 1);
    assert_int_equal(o.len, sizeof VAL);
    assert_memory_equal(o.value, VAL, sizeof VAL);

    /* each part of the key matters */
    gw_cache_key_t k2 = {"c-v1", "cf-v7", "u1", "params-2", 8};
    gw_cache_key_t k3 = {"c-v2", "cf-v7", "u1", "params-1", 8};
    gw_cache_key_t k4 = {"c-v1", "cf-v8", "u1", "params-1", 8};
    gw_cache_key_t k5 = {"c-v1", "cf-v7", "u2", "params-1", 8};
    assert_int_equal(get(f, &k2, &c).outcome, GW_CACHE_COMPUTED);
    assert_int_equal(get(f, &k3, &c).outcome, GW_CACHE_COMPUTED);
    assert_int_equal(get(f, &k4, &c).outcome, GW_CACHE_COMPUTED);
    assert_int_equal(get(f, &k5, &c).outcome, GW_CACHE_COMPUTED);
    assert_int_equal(c.calls, 5);
    wait_stores(f, 5);

    /* the key layout and TTL, seen from another client */
    redisContext *rc = testredis_connect(&f->srv);
    redisReply *rep = testredis_cmd(rc, "KEYS recsys:cache:u1:0:c-v1:cf-v7:*");
    assert_int_equal(rep->elements, 2);
    size_t klen = strlen("recsys:cache:u1:0:c-v1:cf-v7:") + 32;
    assert_int_equal(rep->element[0]->len, klen);
    redisReply *ttl = testredis_cmd(rc, "PTTL %s", rep->element[0]->str);
    assert_true(ttl->integer > 55000 && ttl->integer <= 60000);
    freeReplyObject(ttl);
    freeReplyObject(rep);
    redisFree(rc);

    gw_cache_stats_t st;
    gw_cache_stats(f->cache, &st);
    assert_int_equal(st.hits, 1);
    assert_int_equal(st.misses, 5);
    assert_int_equal(st.errors, 0);
    assert_int_equal(st.flights, 0);
    char *text = metrics_expose(f->reg, NULL);
    assert_non_null(strstr(text, "recsys_cache_hits_total 1\n"));
    assert_non_null(strstr(text, "recsys_cache_misses_total 5\n"));
    free(text);
}

static void test_single_flight(void **state)
{
    fx_t *f = *state;
    start_all(f, "gwcache-flight");
    comp_t c = {.f = f, .value = "answer", .len = 6, .cacheable = true, .delay_ms = 30};
    gw_cache_key_t k = {"c1", "f1", "u9", "same", 4};
    enum { N = 10 };
    out_t o[N];
    memset(o, 0, sizeof o);
    for (int i = 0; i < N; i++)
        assert_int_equal(gw_cache_get_or_compute(f->cache, &k, compute, &c, on_done, &o[i]), 0);
    outs_t all = {o, N};
    assert_true(run_until(f, outs_done, &all, 3000));
    assert_int_equal(c.calls, 1);
    assert_int_equal(o[0].outcome, GW_CACHE_COMPUTED);
    for (int i = 1; i < N; i++) {
        assert_int_equal(o[i].calls, 1);
        assert_int_equal(o[i].outcome, GW_CACHE_SHARED);
        assert_int_equal(o[i].len, 6);
        assert_memory_equal(o[i].value, "answer", 6);
    }
    run_for(f, 10); /* the timer's close */
    assert_true(c.timer_closed);
    wait_stores(f, 1);

    /* The next 10 identical lookups share one Redis round trip and hit. */
    memset(o, 0, sizeof o);
    comp_t never = {.f = f, .value = "other", .len = 5, .cacheable = true};
    for (int i = 0; i < N; i++)
        assert_int_equal(gw_cache_get_or_compute(f->cache, &k, compute, &never, on_done, &o[i]), 0);
    assert_true(run_until(f, outs_done, &all, 3000));
    assert_int_equal(never.calls, 0);
    for (int i = 0; i < N; i++) {
        assert_int_equal(o[i].outcome, GW_CACHE_HIT);
        assert_memory_equal(o[i].value, "answer", 6);
    }
    gw_cache_stats_t st;
    gw_cache_stats(f->cache, &st);
    assert_int_equal(st.misses, 1);
    assert_int_equal(st.coalesced, 9);
    assert_int_equal(st.hits, 10);
    redisuv_stats_t rs;
    redisuv_stats(f->r, &rs);
    assert_int_equal(rs.commands, 3); /* lookup, store, lookup */
}

static bool invalidated(void *arg)
{
    return *(int *)arg > 0;
}

static void on_inval(redisuv_t *r, redisReply *reply, const char *error, void *arg)
{
    (void)r;
    (void)error;
    assert_non_null(reply);
    assert_int_equal(reply->type, REDIS_REPLY_INTEGER);
    (*(int *)arg)++;
}

static void test_invalidate_one_user(void **state)
{
    fx_t *f = *state;
    start_all(f, "gwcache-inval");
    comp_t c = {.f = f, .value = "v", .len = 1, .cacheable = true};
    gw_cache_key_t a = {"c", "f", "alice", "p", 1};
    gw_cache_key_t a2 = {"c", "f", "alice", "q", 1};
    gw_cache_key_t b = {"c", "f", "bob", "p", 1};
    get(f, &a, &c);
    get(f, &a2, &c);
    get(f, &b, &c);
    wait_stores(f, 3);
    assert_int_equal(get(f, &a, &c).outcome, GW_CACHE_HIT);

    int done = 0;
    assert_int_equal(gw_cache_invalidate_user(f->cache, "alice", on_inval, &done), 0);
    assert_true(run_until(f, invalidated, &done, 2000));
    assert_int_equal(get(f, &a, &c).outcome, GW_CACHE_COMPUTED);
    assert_int_equal(get(f, &a2, &c).outcome, GW_CACHE_COMPUTED);
    assert_int_equal(get(f, &b, &c).outcome, GW_CACHE_HIT);
    wait_stores(f, 5);
    assert_int_equal(get(f, &a, &c).outcome, GW_CACHE_HIT); /* under the new generation */

    redisContext *rc = testredis_connect(&f->srv);
    redisReply *g = testredis_cmd(rc, "GET recsys:gen:alice");
    assert_string_equal(g->str, "1");
    freeReplyObject(g);
    g = testredis_cmd(rc, "PTTL recsys:gen:alice");
    assert_true(g->integer > 170000 && g->integer <= 180000); /* 2 x 60 s + 60 s */
    freeReplyObject(g);
    redisFree(rc);
    gw_cache_stats_t st;
    gw_cache_stats(f->cache, &st);
    assert_int_equal(st.invalidations, 1);
}

static void test_forget_user_during_flight(void **state)
{
    fx_t *f = *state;
    start_all(f, "gwcache-forget");
    comp_t c1 = {.f = f, .value = "old", .len = 3, .cacheable = true, .delay_ms = 30};
    comp_t c2 = {.f = f, .value = "new", .len = 3, .cacheable = true, .delay_ms = 30};
    gw_cache_key_t k = {"c", "f", "carol", "p", 1};
    out_t o1 = {0}, o2 = {0};
    assert_int_equal(gw_cache_get_or_compute(f->cache, &k, compute, &c1, on_done, &o1), 0);
    run_for(f, 10);
    assert_int_equal(c1.calls, 1);
    gw_cache_forget_user(f->cache, "carol");
    assert_int_equal(gw_cache_get_or_compute(f->cache, &k, compute, &c2, on_done, &o2), 0);
    assert_true(run_until(f, out_done, &o2, 3000));
    assert_true(run_until(f, out_done, &o1, 3000));
    assert_int_equal(c2.calls, 1); /* a fresh flight, not the stale one */
    assert_memory_equal(o1.value, "old", 3);
    assert_memory_equal(o2.value, "new", 3);
    wait_stores(f, 1); /* only the fresh flight stores */
    run_for(f, 20);
    gw_cache_stats_t st;
    gw_cache_stats(f->cache, &st);
    assert_int_equal(st.stores, 1);
    comp_t c3 = {.f = f, .value = "x", .len = 1, .cacheable = true};
    out_t o3 = get(f, &k, &c3);
    assert_int_equal(o3.outcome, GW_CACHE_HIT);
    assert_memory_equal(o3.value, "new", 3);
}

static void test_redis_down_and_back(void **state)
{
    fx_t *f = *state;
    start_all(f, "gwcache-down");
    comp_t c = {.f = f, .value = "v", .len = 1, .cacheable = true};
    gw_cache_key_t k = {"c", "f", "dave", "p", 1};
    get(f, &k, &c);
    wait_stores(f, 1);
    testredis_kill(&f->srv);
    /* the client notices at its next command or at once on the socket's EOF */
    run_for(f, 50);
    assert_false(redisuv_connected(f->r));

    uv_update_time(&f->loop);
    uint64_t t0 = uv_now(&f->loop);
    for (int i = 0; i < 3; i++) {
        out_t o = get(f, &k, &c);
        assert_int_equal(o.outcome, GW_CACHE_COMPUTED); /* served, uncached */
    }
    assert_true(uv_now(&f->loop) - t0 < 100); /* no waiting on Redis */
    assert_int_equal(c.calls, 4);

    testredis_restart(&f->srv); /* empty: no persistence */
    assert_true(run_until(f, is_connected, f->r, 3000));
    assert_int_equal(get(f, &k, &c).outcome, GW_CACHE_COMPUTED);
    wait_stores(f, 2);
    assert_int_equal(get(f, &k, &c).outcome, GW_CACHE_HIT);
}

static void test_lookup_timeout_counts_error(void **state)
{
    fx_t *f = *state;
    testredis_start(&f->srv, "gwcache-stop", NULL);
    redisuv_opts_t ro = {.host = "127.0.0.1", .port = f->srv.port, .command_timeout_ms = 40,
                         .reconnect_min_ms = 20, .reconnect_max_ms = 100};
    err_t err;
    assert_int_equal(redisuv_new(&f->loop, &ro, &f->r, &err), 0);
    assert_true(run_until(f, is_connected, f->r, 5000));
    make_cache(f, 60000, 1 << 20);
    testredis_pause(&f->srv);
    comp_t c = {.f = f, .value = "v", .len = 1, .cacheable = true};
    gw_cache_key_t k = {"c", "f", "erin", "p", 1};
    out_t o = get(f, &k, &c);
    assert_int_equal(o.outcome, GW_CACHE_COMPUTED);
    testredis_resume(&f->srv);
    gw_cache_stats_t st;
    gw_cache_stats(f->cache, &st);
    assert_int_equal(st.errors, 1);
    assert_int_equal(st.stores, 0); /* generation unknown: nothing stored */
}

static void test_uncacheable_large_failed(void **state)
{
    fx_t *f = *state;
    start_all(f, "gwcache-no");
    make_cache(f, 60000, 4);
    gw_cache_key_t k = {"c", "f", "u", "p", 1};

    comp_t degraded = {.f = f, .value = "v", .len = 1, .cacheable = false};
    assert_int_equal(get(f, &k, &degraded).outcome, GW_CACHE_COMPUTED);
    assert_int_equal(get(f, &k, &degraded).outcome, GW_CACHE_COMPUTED);
    assert_int_equal(degraded.calls, 2);

    comp_t big = {.f = f, .value = "12345", .len = 5, .cacheable = true};
    assert_int_equal(get(f, &k, &big).outcome, GW_CACHE_COMPUTED);
    assert_int_equal(get(f, &k, &big).outcome, GW_CACHE_COMPUTED);

    comp_t bad = {.f = f, .error = "both workers down", .cacheable = true, .delay_ms = 20};
    enum { N = 3 };
    out_t o[N];
    memset(o, 0, sizeof o);
    for (int i = 0; i < N; i++)
        assert_int_equal(gw_cache_get_or_compute(f->cache, &k, compute, &bad, on_done, &o[i]), 0);
    outs_t all = {o, N};
    assert_true(run_until(f, outs_done, &all, 3000));
    assert_int_equal(bad.calls, 1);
    for (int i = 0; i < N; i++) {
        assert_int_equal(o[i].outcome, GW_CACHE_FAILED);
        assert_string_equal(o[i].error, "both workers down");
        assert_int_equal(o[i].len, 0);
    }
    run_for(f, 20);
    gw_cache_stats_t st;
    gw_cache_stats(f->cache, &st);
    assert_int_equal(st.stores, 0);
    assert_int_equal(st.too_large, 2);
}

static void test_ttl_zero_disables(void **state)
{
    fx_t *f = *state;
    start_all(f, "gwcache-off");
    make_cache(f, 0, 1 << 20);
    comp_t c = {.f = f, .value = "v", .len = 1, .cacheable = true};
    gw_cache_key_t k = {"c", "f", "u", "p", 1};
    assert_int_equal(get(f, &k, &c).outcome, GW_CACHE_COMPUTED);
    assert_int_equal(get(f, &k, &c).outcome, GW_CACHE_COMPUTED);
    redisuv_stats_t rs;
    redisuv_stats(f->r, &rs);
    assert_int_equal(rs.commands, 0);
}

static void test_free_with_flight_running(void **state)
{
    fx_t *f = *state;
    start_all(f, "gwcache-free");
    comp_t c = {.f = f, .value = "v", .len = 1, .cacheable = true, .delay_ms = 30};
    gw_cache_key_t k = {"c", "f", "u", "p", 1};
    out_t o = {0};
    assert_int_equal(gw_cache_get_or_compute(f->cache, &k, compute, &c, on_done, &o), 0);
    gw_cache_free(f->cache); /* lives on until the flight ends */
    f->cache = NULL;
    assert_true(run_until(f, out_done, &o, 3000));
    assert_int_equal(o.outcome, GW_CACHE_COMPUTED);
    run_for(f, 20);
}

static void test_encode_id(void **state)
{
    (void)state;
    char buf[64];
    assert_int_equal(gw_cache_encode_id("user_42.x@y-z", buf, sizeof buf), 13);
    assert_string_equal(buf, "user_42.x@y-z");
    assert_int_equal(gw_cache_encode_id("a:b", buf, sizeof buf), 7);
    assert_string_equal(buf, "~613a62");
    assert_int_equal(gw_cache_encode_id("", buf, sizeof buf), 1);
    assert_string_equal(buf, "-");
    assert_int_equal(gw_cache_encode_id("~", buf, sizeof buf), 3);
    assert_string_equal(buf, "~7e");
    assert_int_equal(gw_cache_encode_id("abcdef", buf, 6), -1);
    assert_int_equal(gw_cache_encode_id("a b", buf, 6), -1);

    /* ids too long for a key: computed, never cached, never shared */
    char longid[GW_CACHE_ID_MAX + 2];
    memset(longid, 'x', sizeof longid - 1);
    longid[sizeof longid - 1] = '\0';
    gw_cache_t *c;
    err_t err;
    assert_int_equal(gw_cache_new(NULL, NULL, NULL, &c, &err), 0);
    assert_int_equal(gw_cache_gen_key(c, longid, buf, sizeof buf), -1);
    assert_int_equal(gw_cache_gen_key(c, "u1", buf, sizeof buf), 0);
    assert_string_equal(buf, "recsys:gen:u1");
    gw_cache_free(c);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_id),
        cmocka_unit_test_setup_teardown(test_miss_then_hit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_single_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalidate_one_user, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forget_user_during_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redis_down_and_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lookup_timeout_counts_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uncacheable_large_failed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ttl_zero_disables, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_with_flight_running, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
