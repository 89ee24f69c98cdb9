/* test_redisuv.c: the libuv Redis client against a real redis-server:
 * binary values, pipelining, Redis down at start, killed, paused, restarted,
 * AUTH, SELECT, unix socket, close with commands pending. */
#include "testutil.h"
#include "testredis.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base/config.h"
#include "common/base/log.h"
#include "common/net/redisuv.h"

typedef struct fx {
    uv_loop_t loop;
    uv_timer_t tick; /* makes UV_RUN_ONCE return regularly */
    testredis_t srv;
    redisuv_t *r;
    bool closed;
} fx_t;

/* One command's outcome. */
typedef struct res {
    int calls;
    bool ok;
    int type;
    long long integer;
    char str[256];
    size_t len;
    char error[256];
    int order;
    int *counter; /* shared completion counter, for ordering checks */
} res_t;

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    testutil_uv_loop_init(&f->loop, &f->tick);
    *state = f;
    return 0;
}

static void closed_cb(void *arg)
{
    ((fx_t *)arg)->closed = true;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    if (f->r) {
        redisuv_close(f->r, closed_cb, f);
        f->r = NULL;
    }
    uv_close((uv_handle_t *)&f->tick, NULL);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    int rc = uv_loop_close(&f->loop);
    testredis_stop(&f->srv);
    free(f);
    return rc == 0 ? 0 : -1;
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

static bool is_connected(void *arg)
{
    return redisuv_connected(arg);
}

static bool is_done(void *arg)
{
    return ((res_t *)arg)->calls > 0;
}

typedef struct many {
    res_t *v;
    int n;
} many_t;

static bool all_done(void *arg)
{
    many_t *m = arg;
    for (int i = 0; i < m->n; i++)
        if (m->v[i].calls == 0)
            return false;
    return true;
}

static void on_res(redisuv_t *r, redisReply *reply, const char *error, void *arg)
{
    res_t *x = arg;
    x->calls++;
    if (x->counter)
        x->order = (*x->counter)++;
    if (reply) {
        x->ok = true;
        x->type = reply->type;
        x->integer = reply->integer;
        if (reply->str) {
            x->len = reply->len;
            memcpy(x->str, reply->str, reply->len < sizeof x->str ? reply->len : sizeof x->str);
        }
    } else {
        assert_non_null(error);
        snprintf(x->error, sizeof x->error, "%s", error);
    }
}

static redisuv_opts_t base_opts(const testredis_t *srv)
{
    redisuv_opts_t o;
    memset(&o, 0, sizeof o);
    o.host = "localhost"; /* resolved once by redisuv_new */
    o.port = srv->port;
    o.password = srv->password[0] ? srv->password : NULL;
    o.connect_timeout_ms = 1000;
    o.command_timeout_ms = 500;
    o.reconnect_min_ms = 20;
    o.reconnect_max_ms = 100;
    return o;
}

static void start_client(fx_t *f, const redisuv_opts_t *o)
{
    err_t err;
    assert_int_equal(redisuv_new(&f->loop, o, &f->r, &err), 0);
    assert_true(run_until(f, is_connected, f->r, 5000));
}

static void test_set_get_binary(void **state)
{
    fx_t *f = *state;
    testredis_start(&f->srv, "redisuv-bin", NULL);
    redisuv_opts_t o = base_opts(&f->srv);
    start_client(f, &o);

    static const char val[] = {'a', '\0', 'b', '\r', '\n', (char)0xff, '$', '*', 'z'};
    res_t set = {0}, get = {0}, miss = {0}, bad = {0};
    assert_int_equal(redisuv_command(f->r, on_res, &set, "SET %b %b", "k\0ey", (size_t)4, val, sizeof val), 0);
    assert_int_equal(redisuv_command(f->r, on_res, &get, "GET %b", "k\0ey", (size_t)4), 0);
    assert_int_equal(redisuv_command(f->r, on_res, &miss, "GET %s", "absent"), 0);
    assert_int_equal(redisuv_command(f->r, on_res, &bad, "NOSUCHCOMMAND"), 0);
    assert_int_equal(set.calls + get.calls, 0); /* never inside the call */
    assert_true(run_until(f, is_done, &bad, 2000));
    assert_int_equal(set.calls, 1);
    assert_int_equal(set.type, REDIS_REPLY_STATUS);
    assert_int_equal(get.type, REDIS_REPLY_STRING);
    assert_int_equal(get.len, sizeof val);
    assert_memory_equal(get.str, val, sizeof val);
    assert_int_equal(miss.type, REDIS_REPLY_NIL);
    assert_true(bad.ok); /* an error reply is a reply */
    assert_int_equal(bad.type, REDIS_REPLY_ERROR);

    /* argv form, then the value seen by another client */
    const char *argv[] = {"SET", "argv-key", "x\0y"};
    size_t lens[] = {3, 8, 3};
    res_t a = {0};
    assert_int_equal(redisuv_commandargv(f->r, on_res, &a, 3, argv, lens), 0);
    assert_true(run_until(f, is_done, &a, 2000));
    redisContext *c = testredis_connect(&f->srv);
    redisReply *rep = testredis_cmd(c, "GET argv-key");
    assert_int_equal(rep->len, 3);
    assert_memory_equal(rep->str, "x\0y", 3);
    freeReplyObject(rep);
    redisFree(c);

    redisuv_stats_t st;
    redisuv_stats(f->r, &st);
    assert_int_equal(st.commands, 5);
    assert_int_equal(st.replies, 5);
    assert_int_equal(st.errors, 0);
    assert_int_equal(st.pending, 0);
    assert_int_equal(st.state, REDISUV_READY);
}

static void test_unix_socket_and_select(void **state)
{
    fx_t *f = *state;
    testredis_start(&f->srv, "redisuv-unix", NULL);
    redisuv_opts_t o = base_opts(&f->srv);
    o.unix_path = f->srv.sock;
    o.db = 3;
    start_client(f, &o);
    res_t set = {0};
    assert_int_equal(redisuv_command(f->r, on_res, &set, "SET %s %s", "in-db3", "yes"), 0);
    assert_true(run_until(f, is_done, &set, 2000));
    assert_true(set.ok);
    redisContext *c = testredis_connect(&f->srv);
    redisReply *rep = testredis_cmd(c, "GET in-db3");
    assert_int_equal(rep->type, REDIS_REPLY_NIL); /* db 0 */
    freeReplyObject(rep);
    freeReplyObject(testredis_cmd(c, "SELECT 3"));
    rep = testredis_cmd(c, "GET in-db3");
    assert_string_equal(rep->str, "yes");
    freeReplyObject(rep);
    redisFree(c);
}

static void test_pipeline_1000(void **state)
{
    fx_t *f = *state;
    testredis_start(&f->srv, "redisuv-pipe", NULL);
    redisuv_opts_t o = base_opts(&f->srv);
    o.command_timeout_ms = 5000;
    start_client(f, &o);
    enum { N = 1000 };
    res_t *v = calloc(N, sizeof *v);
    int counter = 0;
    for (int i = 0; i < N; i++) {
        v[i].counter = &counter;
        assert_int_equal(redisuv_command(f->r, on_res, &v[i], "INCR %s", "ctr"), 0);
    }
    many_t m = {v, N};
    assert_true(run_until(f, all_done, &m, 10000));
    for (int i = 0; i < N; i++) {
        assert_int_equal(v[i].calls, 1);
        assert_true(v[i].ok);
        assert_int_equal(v[i].integer, i + 1); /* in order */
        assert_int_equal(v[i].order, i);
    }
    free(v);
}

static void test_down_at_start_then_up(void **state)
{
    fx_t *f = *state;
    testredis_prepare(&f->srv, "redisuv-late", NULL);
    redisuv_opts_t o = base_opts(&f->srv);
    err_t err;
    assert_int_equal(redisuv_new(&f->loop, &o, &f->r, &err), 0);
    assert_false(redisuv_connected(f->r));
    run_for(f, 30); /* let the first attempt fail */
    res_t x = {0};
    assert_int_equal(redisuv_command(f->r, on_res, &x, "PING"), 0);
    assert_int_equal(x.calls, 0);
    uv_update_time(&f->loop);
    uint64_t t0 = uv_now(&f->loop);
    uv_run(&f->loop, UV_RUN_NOWAIT); /* next iteration */
    assert_int_equal(x.calls, 1);
    assert_true(uv_now(&f->loop) - t0 < 50);
    assert_false(x.ok);
    assert_string_equal(x.error, "redis unavailable: connection refused");

    testredis_restart(&f->srv);
    assert_true(run_until(f, is_connected, f->r, 3000));
    res_t y = {0};
    assert_int_equal(redisuv_command(f->r, on_res, &y, "PING"), 0);
    assert_true(run_until(f, is_done, &y, 2000));
    assert_true(y.ok);
    assert_string_equal(y.str, "PONG");
    redisuv_stats_t st;
    redisuv_stats(f->r, &st);
    assert_int_equal(st.errors, 1);
    assert_int_equal(st.replies, 1);
    assert_int_equal(st.reconnects, 0); /* first connection */
}

/* Traffic that keeps itself going: each reply sends the next command. */
typedef struct chain {
    redisuv_t *r;
    int sent, callbacks, ok, lost, unavailable, other;
    bool stop;
    char other_msg[256];
} chain_t;

static void chain_cb(redisuv_t *r, redisReply *reply, const char *error, void *arg)
{
    chain_t *c = arg;
    c->callbacks++;
    if (reply)
        c->ok++;
    else if (strncmp(error, "redis connection lost", 21) == 0)
        c->lost++;
    else if (strncmp(error, "redis unavailable", 17) == 0)
        c->unavailable++;
    else {
        c->other++;
        snprintf(c->other_msg, sizeof c->other_msg, "%s", error);
    }
    if (!c->stop && reply) {
        if (redisuv_command(r, chain_cb, c, "INCR %s", "chain") == 0)
            c->sent++;
    }
}

static bool chain_settled(void *arg)
{
    chain_t *c = arg;
    return c->callbacks == c->sent;
}

static void test_killed_mid_traffic_then_restarted(void **state)
{
    fx_t *f = *state;
    testredis_start(&f->srv, "redisuv-kill", NULL);
    redisuv_opts_t o = base_opts(&f->srv);
    start_client(f, &o);
    chain_t c = {.r = f->r};
    for (int i = 0; i < 16; i++) /* 16 in flight at any time */
        if (redisuv_command(f->r, chain_cb, &c, "INCR %s", "chain") == 0)
            c.sent++;
    run_for(f, 100);
    assert_true(c.ok > 16);
    testredis_kill(&f->srv);
    uv_update_time(&f->loop);
    uint64_t t0 = uv_now(&f->loop);
    assert_true(run_until(f, chain_settled, &c, 2000));
    /* every command answered once, quickly: errors, not hangs */
    assert_true(uv_now(&f->loop) - t0 < 400);
    assert_int_equal(c.callbacks, c.sent);
    assert_true(c.lost >= 1);
    assert_int_equal(c.other, 0);
    assert_false(redisuv_connected(f->r));
    c.stop = true;

    res_t down = {0};
    assert_int_equal(redisuv_command(f->r, on_res, &down, "PING"), 0);
    assert_true(run_until(f, is_done, &down, 1000));
    assert_false(down.ok);
    assert_non_null(strstr(down.error, "redis unavailable"));

    testredis_restart(&f->srv);
    assert_true(run_until(f, is_connected, f->r, 3000));
    res_t up = {0};
    assert_int_equal(redisuv_command(f->r, on_res, &up, "PING"), 0);
    assert_true(run_until(f, is_done, &up, 2000));
    assert_true(up.ok);
    redisuv_stats_t st;
    redisuv_stats(f->r, &st);
    assert_int_equal(st.reconnects, 1);
    assert_int_equal(st.pending, 0);
}

static void test_timeout_when_paused(void **state)
{
    fx_t *f = *state;
    testredis_start(&f->srv, "redisuv-stop", NULL);
    redisuv_opts_t o = base_opts(&f->srv);
    o.command_timeout_ms = 50;
    start_client(f, &o);

    testredis_pause(&f->srv);
    res_t a = {0}, b = {0};
    uv_update_time(&f->loop);
    uint64_t t0 = uv_now(&f->loop);
    assert_int_equal(redisuv_command(f->r, on_res, &a, "SET %s %s", "late", "1"), 0);
    assert_int_equal(redisuv_command(f->r, on_res, &b, "GET %s", "late"), 0);
    assert_true(run_until(f, is_done, &b, 2000));
    uint64_t dt = uv_now(&f->loop) - t0;
    assert_true(dt >= 50);
    assert_true(dt < 400);
    assert_string_equal(a.error, "redis command timed out after 50 ms");
    assert_string_equal(b.error, "redis command timed out after 50 ms");
    /* two timeouts: still the same connection */
    assert_true(redisuv_connected(f->r));

    /* Redis resumes: the late replies are dropped, the connection serves on. */
    testredis_resume(&f->srv);
    run_for(f, 50);
    assert_int_equal(a.calls, 1);
    assert_int_equal(b.calls, 1);
    res_t c = {0};
    assert_int_equal(redisuv_command(f->r, on_res, &c, "GET %s", "late"), 0);
    assert_true(run_until(f, is_done, &c, 2000));
    assert_true(c.ok);
    assert_string_equal(c.str, "1");

    /* Paused for longer: after REDISUV_SUSPECT_TIMEOUTS the connection is
     * dropped and the client waits for a working server. */
    testredis_pause(&f->srv);
    enum { N = 6 };
    res_t v[N];
    memset(v, 0, sizeof v);
    for (int i = 0; i < N; i++)
        assert_int_equal(redisuv_command(f->r, on_res, &v[i], "PING"), 0);
    many_t m = {v, N};
    assert_true(run_until(f, all_done, &m, 2000));
    int timeouts = 0;
    for (int i = 0; i < N; i++) {
        assert_int_equal(v[i].calls, 1);
        if (strstr(v[i].error, "timed out"))
            timeouts++;
    }
    assert_true(timeouts >= REDISUV_SUSPECT_TIMEOUTS);
    run_for(f, 20);
    assert_false(redisuv_connected(f->r));
    testredis_resume(&f->srv);
    assert_true(run_until(f, is_connected, f->r, 3000));
    redisuv_stats_t st;
    redisuv_stats(f->r, &st);
    assert_int_equal(st.reconnects, 1);
    assert_true(st.timeouts >= 2 + REDISUV_SUSPECT_TIMEOUTS);
    assert_int_equal(st.pending, 0);
}

typedef struct closer {
    fx_t *f;
    int calls;
    int shutting;
} closer_t;

static void count_shutdown(redisuv_t *r, redisReply *reply, const char *error, void *arg)
{
    closer_t *c = arg;
    c->calls++;
    if (reply == NULL && strcmp(error, "shutting down") == 0)
        c->shutting++;
    /* Submitting during shutdown is refused, never queued. */
    assert_int_equal(redisuv_command(r, count_shutdown, arg, "PING"), reply ? 0 : -1);
}

static void test_close_with_pending(void **state)
{
    fx_t *f = *state;
    testredis_start(&f->srv, "redisuv-close", NULL);
    redisuv_opts_t o = base_opts(&f->srv);
    start_client(f, &o);
    closer_t c = {f, 0, 0};
    for (int i = 0; i < 100; i++)
        assert_int_equal(redisuv_command(f->r, count_shutdown, &c, "PING"), 0);
    redisuv_close(f->r, closed_cb, f);
    assert_int_equal(c.calls, 100);
    assert_int_equal(c.shutting, 100);
    assert_int_equal(redisuv_command(f->r, count_shutdown, &c, "PING"), -1);
    f->r = NULL;
    run_for(f, 20);
    assert_true(f->closed);
    assert_int_equal(c.calls, 100);
}

static void test_close_while_down(void **state)
{
    fx_t *f = *state;
    testredis_prepare(&f->srv, "redisuv-closedown", NULL);
    redisuv_opts_t o = base_opts(&f->srv);
    err_t err;
    assert_int_equal(redisuv_new(&f->loop, &o, &f->r, &err), 0);
    closer_t c = {f, 0, 0};
    for (int i = 0; i < 10; i++)
        assert_int_equal(redisuv_command(f->r, count_shutdown, &c, "PING"), 0);
    redisuv_close(f->r, closed_cb, f);
    f->r = NULL;
    assert_int_equal(c.shutting, 10);
    run_for(f, 20);
    assert_true(f->closed);
}

static void close_in_cb(redisuv_t *r, redisReply *reply, const char *error, void *arg)
{
    closer_t *c = arg;
    c->calls++;
    if (c->calls == 1) {
        assert_non_null(reply);
        redisuv_close(r, closed_cb, c->f);
        c->f->r = NULL;
    } else {
        assert_null(reply);
        assert_string_equal(error, "shutting down");
        c->shutting++;
    }
}

static void test_close_inside_callback(void **state)
{
    fx_t *f = *state;
    testredis_start(&f->srv, "redisuv-closecb", NULL);
    redisuv_opts_t o = base_opts(&f->srv);
    start_client(f, &o);
    closer_t c = {f, 0, 0};
    for (int i = 0; i < 20; i++)
        assert_int_equal(redisuv_command(f->r, close_in_cb, &c, "PING"), 0);
    run_for(f, 100);
    assert_true(f->closed);
    assert_int_equal(c.calls, 20);
    assert_int_equal(c.shutting, 19);
}

static void test_auth(void **state)
{
    fx_t *f = *state;
    testredis_start(&f->srv, "redisuv-auth", "s3cret pass");
    redisuv_opts_t o = base_opts(&f->srv);
    start_client(f, &o);
    res_t x = {0};
    assert_int_equal(redisuv_command(f->r, on_res, &x, "SET %s %s", "authed", "1"), 0);
    assert_true(run_until(f, is_done, &x, 2000));
    assert_true(x.ok);
    assert_int_equal(x.type, REDIS_REPLY_STATUS);
    redisuv_close(f->r, NULL, NULL);
    f->r = NULL;

    /* A wrong password never reaches "connected"; commands fail fast. */
    o.password = "wrong";
    err_t err;
    assert_int_equal(redisuv_new(&f->loop, &o, &f->r, &err), 0);
    run_for(f, 100);
    assert_false(redisuv_connected(f->r));
    assert_non_null(strstr(redisuv_last_error(f->r), "handshake refused"));
    res_t y = {0};
    assert_int_equal(redisuv_command(f->r, on_res, &y, "GET %s", "authed"), 0);
    assert_true(run_until(f, is_done, &y, 1000));
    assert_false(y.ok);
    assert_non_null(strstr(y.error, "redis unavailable: handshake refused"));
}

static void test_options(void **state)
{
    (void)state;
    err_t err;
    cfg_t *c = cfg_new("prog", "[options]", "Test.");
    assert_int_equal(cfg_add(c, "redis", redisuv_options, &err), 0);
    char *argv[] = {"prog", "--redis-port=7000", "--redis-command-timeout-ms", "25", NULL};
    assert_int_equal(cfg_parse(c, 4, argv, &err), 0);
    redisuv_opts_t o;
    assert_int_equal(redisuv_opts_from_cfg(c, &o, &err), 0);
    assert_string_equal(o.host, "127.0.0.1");
    assert_int_equal(o.port, 7000);
    assert_int_equal(o.command_timeout_ms, 25);
    assert_int_equal(o.connect_timeout_ms, 1000);
    assert_int_equal(o.reconnect_min_ms, 100);
    assert_int_equal(o.reconnect_max_ms, 5000);
    assert_true(o.password == NULL || o.password[0] == '\0');

    char *bad[] = {"prog", "--redis-reconnect-min-ms=500", "--redis-reconnect-max-ms=100", NULL};
    assert_int_equal(cfg_parse(c, 3, bad, &err), 0);
    assert_int_equal(redisuv_opts_from_cfg(c, &o, &err), -1);
    assert_non_null(strstr(err.msg, "redis-reconnect-max-ms"));
    cfg_free(c);

    /* A host that does not resolve is a start-up error, said plainly. */
    uv_loop_t loop;
    uv_loop_init(&loop);
    redisuv_opts_t bo = {.host = "no-such-host.invalid", .port = 6379};
    redisuv_t *r = NULL;
    assert_int_equal(redisuv_new(&loop, &bo, &r, &err), -1);
    assert_null(r);
    assert_non_null(strstr(err.msg, "redis-host 'no-such-host.invalid'"));
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_options),
        cmocka_unit_test_setup_teardown(test_set_get_binary, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unix_socket_and_select, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipeline_1000, setup, teardown),
        cmocka_unit_test_setup_teardown(test_down_at_start_then_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_killed_mid_traffic_then_restarted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_when_paused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_with_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_while_down, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_inside_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auth, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
