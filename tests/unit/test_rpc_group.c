/* test_rpc_group.c: a worker's replicas found by resolving its URLs (see
 * rpc_group.h), over real sockets on loopback. Names come from the
 * machine's resolver ("localhost", from /etc/hosts); the integration test
 * gateway_discovery.sh changes the addresses behind a name while requests
 * flow. */
#include "testutil.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base/log.h"
#include "common/net/rpc_group.h"

typedef struct {
    atomic_int calls;
    int busy; /* answers "busy" instead of the echo (a worker still loading) */
} srv_t;

static int echo(const void *req, size_t len, void **reply, size_t *reply_len, void *arg)
{
    srv_t *s = arg;
    atomic_fetch_add(&s->calls, 1);
    if (s->busy) {
        req = "busy";
        len = 4;
    }
    *reply = malloc(len + 1);
    if (*reply == NULL)
        return -1;
    memcpy(*reply, req, len);
    *reply_len = len;
    return 0;
}

static rpc_server_t *serve(const char *url, srv_t *s)
{
    rpc_server_opts_t o;
    rpc_server_opts_default(&o);
    o.url = url;
    o.threads = 0;
    rpc_server_t *srv = NULL;
    err_t err;
    if (rpc_server_new(&o, echo, s, &srv, &err) != 0)
        fail_msg("rpc_server_new %s: %s", url, err.msg);
    return srv;
}

/* The port of a tcp://host:port URL. */
static int port_of(const char *url)
{
    const char *c = strrchr(url, ':');
    return c != NULL ? atoi(c + 1) : 0;
}

static int group_new(uv_loop_t *loop, const char *urls, int resolve_ms, rpc_group_t **g, err_t *err)
{
    rpc_group_opts_t o = {.resolve_ms = resolve_ms, .name = "test"};
    rpc_client_opts_default(&o.client);
    o.client.urls = urls;
    o.client.reconnect_min_ms = 20;
    o.client.reconnect_max_ms = 100;
    return rpc_group_new(&o, loop, g, err);
}

static void closed_cb(void *arg)
{
    (*(int *)arg)++;
}

static void close_group(uv_loop_t *loop, rpc_group_t *g)
{
    int closed = 0;
    rpc_group_close(g, closed_cb, &closed);
    uv_run(loop, UV_RUN_DEFAULT);
    assert_int_equal(closed, 1);
}

static bool connected(void *arg)
{
    return rpc_group_connections(arg) > 0;
}

typedef struct {
    int done, ok;
} tally_t;

static void tally_cb(const rpc_result_t *r, void *arg)
{
    tally_t *t = arg;
    t->done++;
    t->ok += r->status == RPC_OK && r->len == 4 && memcmp(r->reply, "ping", 4) == 0;
}

static bool all_done(void *arg)
{
    tally_t *t = arg;
    return t->done >= 40;
}

static void test_bad_urls(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    const char *bad[][2] = {
        {"content:7101", "rpc: URL 'content:7101' is not scheme://host:port"},
        {"tcp://content", "rpc: URL 'tcp://content' is not scheme://host:port"},
        {"tcp://content:71x", "rpc: URL 'tcp://content:71x' is not scheme://host:port"},
        {"tcp://[::1:7101", "rpc: URL 'tcp://[::1:7101' is not scheme://host:port"},
        {" , ", "rpc: no URL in ' , '"},
        {"", "rpc: no URL given"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rpc_group_t *g = NULL;
        err_t err = {{0}};
        assert_int_equal(group_new(&loop, bad[i][0], 100, &g, &err), -1);
        assert_string_equal(err.msg, bad[i][1]);
        assert_null(g);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* A name is resolved and its address dialled; with discovery off the URL is
 * one replica at once (nng resolves it). */
static void test_name_resolved(void **state)
{
    (void)state;
    srv_t s = {0};
    rpc_server_t *srv = serve("tcp://127.0.0.1:0", &s);
    char url[64];
    snprintf(url, sizeof url, "tcp://localhost:%d", port_of(rpc_server_url(srv)));
    for (int resolve_ms = 100; resolve_ms >= 0; resolve_ms -= 100) {
        uv_loop_t loop;
        uv_loop_init(&loop);
        rpc_group_t *g = NULL;
        err_t err;
        if (group_new(&loop, url, resolve_ms, &g, &err) != 0)
            fail_msg("%s: %s", url, err.msg);
        if (resolve_ms == 0)
            assert_int_equal(rpc_group_replicas(g), 1);
        else
            assert_int_equal(rpc_group_replicas(g), 0); /* not resolved yet */
        assert_true(testutil_uv_run_until(&loop, connected, g, 5000));
        assert_true(rpc_group_replicas(g) >= 1); /* 127.0.0.1, maybe ::1 too */
        tally_t t = {0};
        for (int i = 0; i < 40; i++)
            assert_true(rpc_group_call(g, "ping", 4, 2000, tally_cb, &t) > 0);
        assert_true(testutil_uv_run_until(&loop, all_done, &t, 5000));
        assert_int_equal(t.ok, 40);
        close_group(&loop, g);
        assert_int_equal(uv_loop_close(&loop), 0);
    }
    assert_int_equal(atomic_load(&s.calls), 80);
    rpc_server_free(srv);
}

static bool two_connected(void *arg)
{
    return rpc_group_connections(arg) == 2;
}

/* A group over the two servers' URLs (", " between them), both connected. */
static rpc_group_t *group_of_two(uv_loop_t *loop, rpc_server_t *sa, rpc_server_t *sb)
{
    char urls[128];
    snprintf(urls, sizeof urls, "%s, %s", rpc_server_url(sa), rpc_server_url(sb));
    rpc_group_t *g = NULL;
    err_t err;
    if (group_new(loop, urls, 100, &g, &err) != 0)
        fail_msg("%s: %s", urls, err.msg);
    assert_int_equal(rpc_group_replicas(g), 2);
    assert_true(testutil_uv_run_until(loop, two_connected, g, 5000));
    return g;
}

/* Two replicas: concurrent calls go to both; a cancelled call's callback
 * never runs; closing completes what is in flight. */
static void test_spread_cancel_close(void **state)
{
    (void)state;
    srv_t a = {0}, b = {0};
    rpc_server_t *sa = serve("tcp://127.0.0.1:0", &a), *sb = serve("tcp://127.0.0.1:0", &b);
    uv_loop_t loop;
    uv_loop_init(&loop);
    rpc_group_t *g = group_of_two(&loop, sa, sb);
    tally_t t = {0};
    for (int i = 0; i < 40; i++)
        assert_true(rpc_group_call(g, "ping", 4, 2000, tally_cb, &t) > 0);
    assert_true(testutil_uv_run_until(&loop, all_done, &t, 5000));
    assert_int_equal(t.ok, 40);
    int na = atomic_load(&a.calls), nb = atomic_load(&b.calls);
    print_message("replicas: %d / %d of 40 calls\n", na, nb);
    assert_int_equal(na + nb, 40);
    assert_true(na >= 10 && nb >= 10);

    tally_t c = {0};
    uint64_t id = rpc_group_call(g, "ping", 4, 2000, tally_cb, &c);
    assert_true(id > 0);
    assert_int_equal(rpc_group_cancel(g, id), 0);
    assert_int_equal(rpc_group_cancel(g, id), -1);
    tally_t last = {0};
    for (int i = 0; i < 5; i++)
        assert_true(rpc_group_call(g, "ping", 4, 2000, tally_cb, &last) > 0);
    close_group(&loop, g); /* the five complete (ok or shutting down) */
    assert_int_equal(last.done, 5);
    assert_int_equal(c.done, 0);
    assert_int_equal(uv_loop_close(&loop), 0);
    rpc_server_free(sa);
    rpc_server_free(sb);
}

typedef struct {
    rpc_group_t *g;
    int hold_ms;
    int done, busy;
} hold_t;

static void hold_cb(const rpc_result_t *r, void *arg)
{
    hold_t *h = arg;
    h->done++;
    if (r->status == RPC_OK && r->len == 4 && memcmp(r->reply, "busy", 4) == 0) {
        h->busy++;
        rpc_group_hold_current(h->g, h->hold_ms);
    }
}

static bool one_done(void *arg)
{
    return ((hold_t *)arg)->done > 0;
}

/* n calls one after the other; returns how many came back "busy". */
static int calls_in_turn(uv_loop_t *loop, rpc_group_t *g, int hold_ms, int n)
{
    int busy = 0;
    for (int i = 0; i < n; i++) {
        hold_t h = {.g = g, .hold_ms = hold_ms};
        assert_true(rpc_group_call(g, "ping", 4, 2000, hold_cb, &h) > 0);
        assert_true(testutil_uv_run_until(loop, one_done, &h, 5000));
        busy += h.busy;
    }
    return busy;
}

/* A replica put on hold from its call's callback gets no call while the
 * other is ready, and calls again once the hold is over. */
static void test_hold(void **state)
{
    (void)state;
    srv_t a = {.busy = 1}, b = {0};
    rpc_server_t *sa = serve("tcp://127.0.0.1:0", &a), *sb = serve("tcp://127.0.0.1:0", &b);
    uv_loop_t loop;
    uv_loop_init(&loop);
    rpc_group_t *g = group_of_two(&loop, sa, sb);
    assert_int_equal(rpc_group_ready(g), 2);
    int busy = calls_in_turn(&loop, g, 60000, 30);
    assert_int_equal(busy, 1); /* the first call a got; then it is on hold */
    assert_int_equal(atomic_load(&a.calls), 1);
    assert_int_equal(atomic_load(&b.calls), 29);
    assert_int_equal(rpc_group_ready(g), 1);
    assert_int_equal(rpc_group_connections(g), 2);

    close_group(&loop, g);

    /* A short hold: a is asked again once it is over. */
    g = group_of_two(&loop, sa, sb);
    busy = calls_in_turn(&loop, g, 100, 2); /* a (busy, held 100 ms), b */
    testutil_uv_run_for(&loop, 150);
    busy += calls_in_turn(&loop, g, 100, 2); /* a again (busy), b */
    assert_int_equal(busy, 2);
    close_group(&loop, g);
    assert_int_equal(uv_loop_close(&loop), 0);
    rpc_server_free(sa);
    rpc_server_free(sb);
}

/* A name that does not exist: no replica, calls refused at once (0). */
static void test_unknown_name(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    rpc_group_t *g = NULL;
    err_t err;
    if (group_new(&loop, "tcp://no-such-host.invalid:7101", 50, &g, &err) != 0)
        fail_msg("%s", err.msg);
    testutil_uv_run_for(&loop, 300);
    assert_int_equal(rpc_group_replicas(g), 0);
    assert_int_equal(rpc_group_connections(g), 0);
    tally_t t = {0};
    assert_int_equal(rpc_group_call(g, "ping", 4, 100, tally_cb, &t), 0);
    close_group(&loop, g);
    assert_int_equal(t.done, 0);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    log_setup("test_rpc_group", LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_urls),
        cmocka_unit_test(test_name_resolved),
        cmocka_unit_test(test_spread_cancel_close),
        cmocka_unit_test(test_hold),
        cmocka_unit_test(test_unknown_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
