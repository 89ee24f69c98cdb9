/*
 * bench_redisuv.c: round trips of the libuv Redis client (common/net/redisuv.h)
 * against a running redis-server, with 1 and 16 commands in flight: GET of a
 * 1 KiB value, and the cache's lookup script (generation + entry in one EVAL).
 *
 *   redis-server --port 6399 --save '' --appendonly no --daemonize yes
 *   build/bin/bench_redisuv 6399 [count]
 *   redis-benchmark -p 6399 -t get -d 1024 -n 100000 -P 1 -c 1   (to compare)
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base/log.h"
#include "common/net/redisuv.h"

typedef struct run {
    redisuv_t *r;
    int total, sent, done, errors;
    bool eval;
    uv_loop_t *loop;
} run_t;

static const char LOOKUP_LUA[] = "local g = redis.call('GET', KEYS[1]) "
                                 "if not g then g = '0' end "
                                 "return {g, redis.call('GET', ARGV[1] .. g .. ARGV[2])}";

static void send_one(run_t *x);

static void on_reply(redisuv_t *r, redisReply *reply, const char *error, void *arg)
{
    run_t *x = arg;
    x->done++;
    if (reply == NULL || reply->type == REDIS_REPLY_ERROR)
        x->errors++;
    if (x->sent < x->total)
        send_one(x);
    else if (x->done == x->total)
        uv_stop(x->loop);
}

static void send_one(run_t *x)
{
    x->sent++;
    if (x->eval)
        redisuv_command(x->r, on_reply, x, "EVAL %s 1 %s %s %s", LOOKUP_LUA, "bench:gen:u1", "bench:cache:u1:",
                        ":c1:f1:0123456789abcdef0123456789abcdef");
    else
        redisuv_command(x->r, on_reply, x, "GET %s", "bench:value");
}

static void on_connected_poll(uv_timer_t *t)
{
    if (redisuv_connected(t->data))
        uv_stop(t->loop);
}

static void measure(uv_loop_t *loop, redisuv_t *r, int n, int inflight, bool eval)
{
    run_t x = {r, n, 0, 0, 0, eval, loop};
    uint64_t t0 = uv_hrtime();
    for (int i = 0; i < inflight && x.sent < n; i++)
        send_one(&x);
    uv_run(loop, UV_RUN_DEFAULT);
    double s = (double)(uv_hrtime() - t0) / 1e9;
    printf("%-6s in flight %2d: %d commands in %.3f s: %.1f us each, %.0f/s, %d errors\n", eval ? "EVAL" : "GET",
           inflight, n, s, s * 1e6 / n, n / s, x.errors);
}

static void on_set(redisuv_t *r, redisReply *reply, const char *error, void *arg)
{
    uv_stop(arg);
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    if (argc < 2) {
        fprintf(stderr, "usage: bench_redisuv PORT [COUNT]\n");
        return 2;
    }
    log_setup("bench", LOG_WARN);
    int n = argc > 2 ? atoi(argv[2]) : 50000;
    uv_loop_t *loop = uv_default_loop();
    redisuv_opts_t o = {.host = "127.0.0.1", .port = atoi(argv[1]), .command_timeout_ms = 1000};
    redisuv_t *r;
    err_t err;
    if (redisuv_new(loop, &o, &r, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    uv_timer_t t;
    uv_timer_init(loop, &t);
    t.data = r;
    uv_timer_start(&t, on_connected_poll, 1, 1);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_timer_stop(&t);
    char value[1024];
    memset(value, 'v', sizeof value);
    redisuv_command(r, on_set, loop, "SET %s %b", "bench:value", value, sizeof value);
    uv_run(loop, UV_RUN_DEFAULT);
    redisuv_command(r, on_set, loop, "SET %s %b", "bench:cache:u1:0:c1:f1:0123456789abcdef0123456789abcdef", value,
                    sizeof value);
    uv_run(loop, UV_RUN_DEFAULT);
    for (int rep = 0; rep < 2; rep++) {
        measure(loop, r, n, 1, false);
        measure(loop, r, n, 16, false);
        measure(loop, r, n, 1, true);
        measure(loop, r, n, 16, true);
    }
    uv_close((uv_handle_t *)&t, NULL);
    redisuv_close(r, NULL, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    return uv_loop_close(loop) == 0 ? 0 : 1;
}
