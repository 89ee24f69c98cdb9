/* test_rpc.c: the nng RPC client (on libuv) and server over real sockets on
 * loopback (tcp://127.0.0.1 with kernel-chosen ports, and ipc:// in a temp
 * dir where a fixed address is needed). The "killed server" test re-runs this
 * binary as a child process serving slowly (--serve-slow URL) and SIGKILLs it
 * mid-request. */
#include "testutil.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/util/platform.h>

#include "common/base/log.h"
#include "common/net/rpc.h"
#include "common/net/rpc_internal.h"

/* ------------------------------------------------------------ server side */

typedef struct echo_srv {
    atomic_int calls;    /* handler entries */
    atomic_int running;  /* handlers running now */
    int delay_ms;        /* sleep before answering */
    size_t reply_extra;  /* bytes appended to the echo (over-size replies) */
} echo_srv_t;

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static int echo_handler(const void *req, size_t len, void **reply, size_t *reply_len, void *arg)
{
    echo_srv_t *e = arg;
    atomic_fetch_add(&e->calls, 1);
    if (len >= 4 && memcmp(req, "fail", 4) == 0)
        return -1; /* no reply */
    atomic_fetch_add(&e->running, 1);
    if (e->delay_ms > 0)
        sleep_ms(e->delay_ms);
    size_t n = len + e->reply_extra;
    char *out = malloc(n + 1);
    if (out == NULL)
        return -1;
    if (len > 0)
        memcpy(out, req, len);
    memset(out + len, 'x', e->reply_extra);
    *reply = out;
    *reply_len = n;
    atomic_fetch_sub(&e->running, 1);
    return 0;
}

/* Second pass of the suite: every server runs its handlers inline, on
 * nng's own task threads (rpc-server-threads 0). */
static int inline_handlers;

static rpc_server_t *start_server(const char *url, echo_srv_t *e, int contexts, int threads)
{
    rpc_server_opts_t o;
    rpc_server_opts_default(&o);
    o.url = url;
    o.contexts = contexts;
    o.threads = inline_handlers ? 0 : threads;
    o.drain_ms = 3000;
    rpc_server_t *s = NULL;
    err_t err;
    if (rpc_server_new(&o, echo_handler, e, &s, &err) != 0)
        fail_msg("rpc_server_new: %s", err.msg);
    return s;
}

/* ------------------------------------------------------------ client side */

typedef struct rec {
    int done;                 /* callback runs */
    rpc_status_t st;
    char reply[64];
    size_t len;
    char detail[256];
    uint64_t elapsed_us;
} rec_t;

static void rec_cb(const rpc_result_t *r, void *arg)
{
    rec_t *x = arg;
    x->done++;
    x->st = r->status;
    x->len = r->len;
    if (r->len > 0 && r->len < sizeof x->reply)
        memcpy(x->reply, r->reply, r->len);
    snprintf(x->detail, sizeof x->detail, "%s", r->detail);
    x->elapsed_us = r->elapsed_us;
}

/* rpc-batch-max of the clients: 1 in the first pass of the suite, the
 * default (16) in the second. */
static int client_batch = 1;

static rpc_client_t *new_client(uv_loop_t *loop, const char *urls, int contexts, int queue_max)
{
    rpc_client_opts_t o;
    rpc_client_opts_default(&o);
    o.batch_max = client_batch;
    o.urls = urls;
    o.contexts = contexts;
    o.queue_max = queue_max;
    o.reconnect_min_ms = 20;
    o.reconnect_max_ms = 100;
    rpc_client_t *c = NULL;
    err_t err;
    if (rpc_client_new(&o, loop, &c, &err) != 0)
        fail_msg("rpc_client_new: %s", err.msg);
    return c;
}

/* A client with one call per message: for the tests of the context queue. */
static rpc_client_t *new_client_unbatched(uv_loop_t *loop, const char *urls, int contexts, int queue_max)
{
    int batch = client_batch;
    client_batch = 1;
    rpc_client_t *c = new_client(loop, urls, contexts, queue_max);
    client_batch = batch;
    return c;
}

static void closed_cb(void *arg)
{
    (*(int *)arg)++;
}

/* Closes the client and runs the loop until its memory is gone. */
static void close_client(uv_loop_t *loop, rpc_client_t *c)
{
    int closed = 0;
    rpc_client_close(c, closed_cb, &closed);
    uv_run(loop, UV_RUN_DEFAULT);
    assert_int_equal(closed, 1);
}

static void call(rpc_client_t *c, const char *msg, int timeout_ms, rec_t *r)
{
    assert_true(rpc_client_call(c, msg, strlen(msg), timeout_ms, rec_cb, r) > 0);
}

/* ------------------------------------------------------------ tests */

static void test_echo_round_trip(void **state)
{
    echo_srv_t e = {0};
    rpc_server_t *s = start_server("tcp://127.0.0.1:0", &e, 4, 2);
    assert_non_null(strstr(rpc_server_url(s), "tcp://127.0.0.1:"));
    assert_null(strstr(rpc_server_url(s), ":0"));
    uv_loop_t loop;
    uv_loop_init(&loop);
    rpc_client_t *c = new_client(&loop, rpc_server_url(s), 4, 16);
    rec_t r = {0};
    call(c, "hello", 2000, &r);
    /* The client holds the loop only while calls are pending. */
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(r.done, 1);
    assert_int_equal(r.st, RPC_OK);
    assert_int_equal(r.len, 5);
    assert_memory_equal(r.reply, "hello", 5);
    assert_string_equal(r.detail, "ok");
    /* An empty request is a valid request. */
    rec_t r0 = {0};
    assert_true(rpc_client_call(c, NULL, 0, 2000, rec_cb, &r0) > 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(r0.done, 1);
    assert_int_equal(r0.st, RPC_OK);
    assert_int_equal(r0.len, 0);
    rpc_client_stats_t st;
    rpc_client_stats(c, &st);
    assert_int_equal(st.calls, 2);
    assert_int_equal(st.ok, 2);
    assert_int_equal(st.in_flight, 0);
    close_client(&loop, c);
    assert_int_equal(uv_loop_close(&loop), 0);
    /* The server counts a reply when nng reports the send done, which may
     * come after the client has it: read the counters once stopped. */
    assert_int_equal(rpc_server_stop(s), 0);
    rpc_server_stats_t ss;
    rpc_server_stats(s, &ss);
    assert_int_equal(ss.handled, 2);
    assert_int_equal(ss.replied, 2);
    assert_int_equal(ss.in_flight, 0);
    rpc_server_free(s);
}

static void test_200_concurrent(void **state)
{
    echo_srv_t e = {.delay_ms = 1};
    rpc_server_t *s = start_server("tcp://127.0.0.1:0", &e, 8, 4);
    uv_loop_t loop;
    uv_loop_init(&loop);
    /* 16 contexts for 200 calls: most wait in the queue. */
    rpc_client_t *c = new_client_unbatched(&loop, rpc_server_url(s), 16, 256);
    enum { N = 200 };
    rec_t *r = calloc(N, sizeof *r);
    char msg[N][32];
    for (int i = 0; i < N; i++) {
        snprintf(msg[i], sizeof msg[i], "call-%d-%d", i, i * 7919);
        call(c, msg[i], 10000, &r[i]);
    }
    rpc_client_stats_t st;
    rpc_client_stats(c, &st);
    assert_int_equal(st.in_flight, 16);
    assert_int_equal(st.queued, N - 16);
    uv_run(&loop, UV_RUN_DEFAULT);
    for (int i = 0; i < N; i++) {
        assert_int_equal(r[i].done, 1);
        if (r[i].st != RPC_OK)
            fail_msg("call %d: %s", i, r[i].detail);
        assert_int_equal(r[i].len, strlen(msg[i]));
        assert_memory_equal(r[i].reply, msg[i], r[i].len);
    }
    assert_int_equal(atomic_load(&e.calls), N);
    rpc_client_stats(c, &st);
    assert_int_equal(st.ok, N);
    assert_int_equal(st.queued, 0);
    free(r);
    close_client(&loop, c);
    uv_loop_close(&loop);
    rpc_server_free(s);
}

static void test_timeout_runs_handler_once(void **state)
{
    echo_srv_t e = {.delay_ms = 400};
    rpc_server_t *s = start_server("tcp://127.0.0.1:0", &e, 4, 2);
    uv_loop_t loop;
    uv_loop_init(&loop);
    rpc_client_t *c = new_client(&loop, rpc_server_url(s), 4, 16);
    rec_t r = {0};
    call(c, "slow", 150, &r);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(r.done, 1);
    assert_int_equal(r.st, RPC_TIMEOUT);
    assert_non_null(strstr(r.detail, "150 ms"));
    assert_true(r.elapsed_us >= 140000 && r.elapsed_us < 400000);
    /* Outlive the handler by a few resend periods' worth: with resend on,
     * nng would have sent it again (its default resend is 60 s, any
     * positive value re-arms a timer); it must have run exactly once. */
    sleep_ms(700);
    assert_int_equal(atomic_load(&e.calls), 1);
    rpc_server_stats_t ss;
    rpc_server_stats(s, &ss);
    assert_int_equal(ss.handled, 1);
    rpc_client_stats_t st;
    rpc_client_stats(c, &st);
    assert_int_equal(st.timeouts, 1);
    /* The context is reusable after a timeout. */
    e.delay_ms = 0;
    rec_t r2 = {0};
    call(c, "fast", 2000, &r2);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(r2.st, RPC_OK);
    assert_memory_equal(r2.reply, "fast", 4);
    close_client(&loop, c);
    uv_loop_close(&loop);
    rpc_server_free(s);
}

static void test_client_before_server(void **state)
{
    char *dir = testutil_tmpdir("rpc-early");
    char url[600];
    snprintf(url, sizeof url, "ipc://%s/w.sock", dir);
    uv_loop_t loop;
    uv_loop_init(&loop);
    rpc_client_t *c = new_client(&loop, url, 4, 16);
    rec_t early = {0};
    call(c, "early", 200, &early);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(early.done, 1);
    assert_int_equal(early.st, RPC_TIMEOUT);

    echo_srv_t e = {0};
    rpc_server_t *s = start_server(url, &e, 4, 2);
    /* The redial interval is 20-100 ms: a 2 s deadline covers it. */
    rec_t late = {0};
    call(c, "late", 2000, &late);
    uv_run(&loop, UV_RUN_DEFAULT);
    if (late.st != RPC_OK)
        fail_msg("after the server came up: %s", late.detail);
    assert_memory_equal(late.reply, "late", 4);
    assert_int_equal(atomic_load(&e.calls), 1); /* the timed-out call was never delivered */
    close_client(&loop, c);
    uv_loop_close(&loop);
    rpc_server_free(s);
    free(dir);
}

/* Child process: serve slowly until killed. */
static int serve_slow(const char *url)
{
    echo_srv_t e = {.delay_ms = 10000};
    rpc_server_opts_t o;
    rpc_server_opts_default(&o);
    o.url = url;
    rpc_server_t *s = NULL;
    err_t err;
    if (rpc_server_new(&o, echo_handler, &e, &s, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    for (;;)
        pause();
}

static void kill_timer_cb(uv_timer_t *t)
{
    pid_t *pid = t->data;
    kill(*pid, SIGKILL);
    uv_close((uv_handle_t *)t, NULL);
}

static void test_server_killed_mid_request(void **state)
{
    char *dir = testutil_tmpdir("rpc-kill");
    char url[600];
    snprintf(url, sizeof url, "ipc://%s/w.sock", dir);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execl("/proc/self/exe", "test_rpc", "--serve-slow", url, (char *)NULL);
        _exit(127);
    }
    uv_loop_t loop;
    uv_loop_init(&loop);
    rpc_client_t *c = new_client(&loop, url, 4, 16);
    /* Wait for the child to listen and the pipe to connect: a call that
     * fails fast with "closed" only makes sense once a request is out. */
    for (int i = 0; i < 1000 && rpc_client_connections(c) == 0; i++)
        sleep_ms(10);
    assert_true(rpc_client_connections(c) > 0);
    rec_t r = {0};
    call(c, "doomed", 8000, &r);
    uv_timer_t t;
    uv_timer_init(&loop, &t);
    t.data = &pid;
    uv_timer_start(&t, kill_timer_cb, 300, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    int status = 0;
    waitpid(pid, &status, 0);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(r.done, 1);
    if (r.st != RPC_CLOSED)
        fail_msg("want connection closed, got %s (%s)", rpc_status_str(r.st), r.detail);
    /* Prompt: well before the 8 s deadline. */
    assert_true(r.elapsed_us < 1500000);
    close_client(&loop, c);
    uv_loop_close(&loop);
    free(dir);
}

static void test_server_stopped_mid_request(void **state)
{
    /* A server that gives up on a slow request (drain 0) closes the
     * connection: the caller learns at once. */
    echo_srv_t e = {.delay_ms = 600};
    rpc_server_opts_t o;
    rpc_server_opts_default(&o);
    o.url = "tcp://127.0.0.1:0";
    o.drain_ms = 0;
    rpc_server_t *s = NULL;
    err_t err;
    assert_int_equal(rpc_server_new(&o, echo_handler, &e, &s, &err), 0);
    uv_loop_t loop;
    uv_loop_init(&loop);
    rpc_client_t *c = new_client(&loop, rpc_server_url(s), 4, 16);
    rec_t r = {0};
    call(c, "abandoned", 8000, &r);
    while (atomic_load(&e.running) == 0)
        uv_run(&loop, UV_RUN_NOWAIT), sleep_ms(5);
    uint64_t t0 = uv_hrtime();
    /* stop waits for the late handler thread, but closes the socket first. */
    assert_int_equal(rpc_server_stop(s), 1);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(r.done, 1);
    if (r.st != RPC_CLOSED)
        fail_msg("want connection closed, got %s (%s)", rpc_status_str(r.st), r.detail);
    assert_true(uv_hrtime() - t0 < 2000000000ull);
    close_client(&loop, c);
    uv_loop_close(&loop);
    rpc_server_free(s);
}

static void test_oversize(void **state)
{
    echo_srv_t e = {0};
    rpc_server_opts_t so;
    rpc_server_opts_default(&so);
    so.url = "tcp://127.0.0.1:0";
    so.max_msg_bytes = 4096;
    rpc_server_t *s = NULL;
    err_t err;
    assert_int_equal(rpc_server_new(&so, echo_handler, &e, &s, &err), 0);

    uv_loop_t loop;
    uv_loop_init(&loop);
    rpc_client_opts_t co;
    rpc_client_opts_default(&co);
    co.urls = rpc_server_url(s);
    co.max_msg_bytes = 4096;
    rpc_client_t *c = NULL;
    assert_int_equal(rpc_client_new(&co, &loop, &c, &err), 0);
    char *big = calloc(1, 10000);
    memset(big, 'b', 10000);
    /* Refused by the client at once, through the callback. */
    rec_t r = {0};
    assert_true(rpc_client_call(c, big, 4097, 5000, rec_cb, &r) > 0);
    assert_int_equal(r.done, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(r.done, 1);
    assert_int_equal(r.st, RPC_TOO_LARGE);
    assert_non_null(strstr(r.detail, "4097 bytes exceeds the limit of 4096"));
    assert_true(r.elapsed_us < 100000);
    /* Exactly at the limit is fine (nng's header fits in the slack). */
    rec_t r2 = {0};
    assert_true(rpc_client_call(c, big, 4096, 5000, rec_cb, &r2) > 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    if (r2.st != RPC_OK)
        fail_msg("request at the limit: %s", r2.detail);
    assert_int_equal(r2.len, 4096);
    assert_int_equal(atomic_load(&e.calls), 1);

    /* A sender without the check: the server drops it unseen. */
    nng_socket raw;
    assert_int_equal(nng_req0_open(&raw), 0);
    assert_int_equal(nng_socket_set_ms(raw, NNG_OPT_REQ_RESENDTIME, 0), 0);
    assert_int_equal(nng_dial(raw, rpc_server_url(s), NULL, 0), 0);
    assert_int_equal(nng_socket_set_ms(raw, NNG_OPT_RECVTIMEO, 300), 0);
    assert_int_equal(nng_send(raw, big, 10000, 0), 0);
    char *buf = NULL;
    size_t blen = 0;
    int rv = nng_recv(raw, &buf, &blen, NNG_FLAG_ALLOC);
    assert_true(rv == NNG_ETIMEDOUT || rv == NNG_ECONNRESET);
    nng_close(raw);
    assert_int_equal(atomic_load(&e.calls), 1);

    /* And the server still serves. */
    rec_t r3 = {0};
    call(c, "still here", 3000, &r3);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(r3.st, RPC_OK);
    assert_int_equal(atomic_load(&e.calls), 2);

    /* An over-size reply is dropped by the server, never sent. */
    e.reply_extra = 5000;
    rec_t r4 = {0};
    call(c, "grow", 300, &r4);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(r4.st, RPC_TIMEOUT);
    rpc_server_stats_t ss;
    rpc_server_stats(s, &ss);
    assert_int_equal(ss.oversize, 1);
    free(big);
    close_client(&loop, c);
    uv_loop_close(&loop);
    rpc_server_free(s);
}

static int small_error_reply(size_t reply_len, size_t max, void **reply, size_t *out_len, void *arg)
{
    char *m = malloc(64);
    if (m == NULL)
        return -1;
    *out_len = (size_t)snprintf(m, 64, "too big: %zu > %zu", reply_len, max);
    *reply = m;
    return 0;
}

static void test_oversize_reply_replaced(void **state)
{
    echo_srv_t e = {.reply_extra = 5000};
    rpc_server_opts_t so;
    rpc_server_opts_default(&so);
    so.url = "tcp://127.0.0.1:0";
    so.max_msg_bytes = 4096;
    so.oversize = small_error_reply;
    rpc_server_t *s = NULL;
    err_t err;
    assert_int_equal(rpc_server_new(&so, echo_handler, &e, &s, &err), 0);
    uv_loop_t loop;
    uv_loop_init(&loop);
    rpc_client_t *c = new_client(&loop, rpc_server_url(s), 2, 4);
    rec_t r = {0};
    call(c, "abc", 3000, &r);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(r.st, RPC_OK);
    assert_int_equal(r.len, strlen("too big: 5003 > 4096"));
    assert_memory_equal(r.reply, "too big: 5003 > 4096", r.len);
    close_client(&loop, c);
    uv_loop_close(&loop);
    rpc_server_free(s);
}

static void test_two_replicas(void **state)
{
    echo_srv_t e1 = {.delay_ms = 2}, e2 = {.delay_ms = 2};
    rpc_server_t *s1 = start_server("tcp://127.0.0.1:0", &e1, 8, 2);
    rpc_server_t *s2 = start_server("tcp://127.0.0.1:0", &e2, 8, 2);
    char urls[1200];
    snprintf(urls, sizeof urls, "%s, %s", rpc_server_url(s1), rpc_server_url(s2));
    uv_loop_t loop;
    uv_loop_init(&loop);
    rpc_client_t *c = new_client(&loop, urls, 16, 256);
    /* Both dials connect (a loaded machine may take longer than a fixed
     * sleep; the spread is only fair once both pipes exist). */
    for (int i = 0; i < 500 && rpc_client_connections(c) < 2; i++)
        sleep_ms(10);
    assert_int_equal(rpc_client_connections(c), 2);
    enum { N = 100 };
    rec_t r[N];
    memset(r, 0, sizeof r);
    for (int i = 0; i < N; i++)
        call(c, "spread", 5000, &r[i]);
    uv_run(&loop, UV_RUN_DEFAULT);
    for (int i = 0; i < N; i++)
        assert_int_equal(r[i].st, RPC_OK);
    int n1 = atomic_load(&e1.calls), n2 = atomic_load(&e2.calls);
    print_message("replicas: %d / %d of %d calls\n", n1, n2, N);
    assert_int_equal(n1 + n2, N);
    /* nng sends to whichever pipe is ready: on a loaded machine one
     * replica may take most calls (16 / 84 seen), but both take some. */
    assert_true(n1 >= N / 10 && n2 >= N / 10);
    close_client(&loop, c);
    uv_loop_close(&loop);
    rpc_server_free(s1);
    rpc_server_free(s2);
}

typedef struct stopper {
    rpc_server_t *s;
    int abandoned;
    atomic_int done;
} stopper_t;

static void *stop_thread(void *arg)
{
    stopper_t *st = arg;
    st->abandoned = rpc_server_stop(st->s);
    atomic_store(&st->done, 1);
    return NULL;
}

static void test_stop_drains(void **state)
{
    echo_srv_t e = {.delay_ms = 300};
    rpc_server_t *s = start_server("tcp://127.0.0.1:0", &e, 8, 4);
    uv_loop_t loop;
    uv_loop_init(&loop);
    /* Four handlers at once: four messages, so no batches here. */
    rpc_client_t *c = new_client_unbatched(&loop, rpc_server_url(s), 8, 16);
    rec_t r[4];
    memset(r, 0, sizeof r);
    for (int i = 0; i < 4; i++)
        call(c, "drain me", 5000, &r[i]);
    while (atomic_load(&e.running) < 4)
        uv_run(&loop, UV_RUN_NOWAIT), sleep_ms(5);
    rpc_server_stats_t ss;
    rpc_server_stats(s, &ss);
    assert_int_equal(ss.in_flight, 4);
    /* Stop blocks while it drains: run it beside the loop. */
    stopper_t st = {s, -1, 0};
    pthread_t th;
    pthread_create(&th, NULL, stop_thread, &st);
    uv_run(&loop, UV_RUN_DEFAULT);
    pthread_join(th, NULL);
    assert_int_equal(st.abandoned, 0);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(r[i].done, 1);
        if (r[i].st != RPC_OK)
            fail_msg("in-flight call %d: %s", i, r[i].detail);
        assert_memory_equal(r[i].reply, "drain me", 8);
    }
    rpc_server_stats(s, &ss);
    assert_int_equal(ss.handled, 4);
    assert_int_equal(ss.replied, 4);
    assert_int_equal(ss.in_flight, 0);
    /* Stopped: new calls find no server. */
    rec_t late = {0};
    call(c, "late", 200, &late);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_true(late.st == RPC_TIMEOUT || late.st == RPC_CLOSED);
    assert_int_equal(atomic_load(&e.calls), 4);
    assert_int_equal(rpc_server_stop(s), 0); /* twice is fine */
    close_client(&loop, c);
    uv_loop_close(&loop);
    rpc_server_free(s);
}

typedef struct closer {
    rpc_client_t *c;
    int closed;
} closer_t;

static void close_timer_cb(uv_timer_t *t)
{
    closer_t *k = t->data;
    rpc_client_close(k->c, closed_cb, &k->closed);
    rpc_client_close(k->c, closed_cb, &k->closed); /* twice is harmless */
    uv_close((uv_handle_t *)t, NULL);
}

static void test_close_completes_pending(void **state)
{
    echo_srv_t e = {.delay_ms = 500};
    rpc_server_t *s = start_server("tcp://127.0.0.1:0", &e, 8, 4);
    uv_loop_t loop;
    uv_loop_init(&loop);
    rpc_client_t *c = new_client(&loop, rpc_server_url(s), 4, 16);
    enum { N = 10 };
    rec_t r[N];
    memset(r, 0, sizeof r);
    for (int i = 0; i < N; i++)
        call(c, "pending", 5000, &r[i]);
    closer_t k = {c, 0};
    uv_timer_t t;
    uv_timer_init(&loop, &t);
    t.data = &k;
    uv_timer_start(&t, close_timer_cb, 100, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(k.closed, 1);
    for (int i = 0; i < N; i++) {
        assert_int_equal(r[i].done, 1);
        if (r[i].st != RPC_SHUTDOWN)
            fail_msg("call %d: %s (%s)", i, rpc_status_str(r[i].st), r[i].detail);
        /* At close (100 ms), well before the handlers' 500 ms. */
        assert_true(r[i].elapsed_us < 400000);
    }
    assert_int_equal(uv_loop_close(&loop), 0);
    rpc_server_free(s);
}

/* A callback that closes the client and then tries another call. */
typedef struct reentrant {
    rpc_client_t *c;
    int closed;
    int first_done;
    rec_t second;
    uint64_t second_id;
} reentrant_t;

static void close_from_cb(const rpc_result_t *r, void *arg)
{
    reentrant_t *x = arg;
    x->first_done++;
    rpc_client_close(x->c, closed_cb, &x->closed);
    x->second_id = rpc_client_call(x->c, "again", 5, 1000, rec_cb, &x->second);
}

static void test_close_from_callback(void **state)
{
    echo_srv_t e = {0};
    rpc_server_t *s = start_server("tcp://127.0.0.1:0", &e, 4, 2);
    uv_loop_t loop;
    uv_loop_init(&loop);
    reentrant_t x = {0};
    x.c = new_client(&loop, rpc_server_url(s), 4, 16);
    /* A second call is still pending when the first one's callback closes
     * the client: it completes as shutting down, once. */
    e.delay_ms = 0;
    rec_t other = {0};
    assert_true(rpc_client_call(x.c, "one", 3, 3000, close_from_cb, &x) > 0);
    assert_true(rpc_client_call(x.c, "two", 3, 3000, rec_cb, &other) > 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(x.first_done, 1);
    assert_int_equal(x.closed, 1);
    assert_int_equal(other.done, 1);
    assert_true(other.st == RPC_SHUTDOWN || other.st == RPC_OK);
    /* Called from inside the drain, a new call still gets its callback. */
    assert_true(x.second_id > 0);
    assert_int_equal(x.second.done, 1);
    assert_int_equal(x.second.st, RPC_SHUTDOWN);
    assert_int_equal(uv_loop_close(&loop), 0);
    rpc_server_free(s);
}

static void test_cancel(void **state)
{
    echo_srv_t e = {.delay_ms = 200};
    rpc_server_t *s = start_server("tcp://127.0.0.1:0", &e, 4, 4);
    uv_loop_t loop;
    uv_loop_init(&loop);
    rpc_client_t *c = new_client_unbatched(&loop, rpc_server_url(s), 1, 4);
    rec_t a = {0}, b = {0}, d = {0};
    uint64_t ida = rpc_client_call(c, "a", 1, 5000, rec_cb, &a);
    uint64_t idb = rpc_client_call(c, "b", 1, 5000, rec_cb, &b); /* queued */
    uint64_t idd = rpc_client_call(c, "d", 1, 5000, rec_cb, &d); /* queued */
    assert_true(ida > 0 && idb > ida && idd > idb);
    sleep_ms(50);
    assert_int_equal(rpc_client_cancel(c, idb), 0); /* from the queue */
    assert_int_equal(rpc_client_cancel(c, ida), 0); /* in flight */
    assert_int_equal(rpc_client_cancel(c, ida), -1);
    assert_int_equal(rpc_client_cancel(c, 999999), -1);
    rpc_client_stats_t st;
    rpc_client_stats(c, &st);
    assert_int_equal(st.queued, 1); /* b left the queue at once */
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(a.done, 0);
    assert_int_equal(b.done, 0);
    assert_int_equal(d.done, 1);
    assert_int_equal(d.st, RPC_OK);
    assert_memory_equal(d.reply, "d", 1);
    /* a still ran on the server (it was sent); b never did. */
    assert_int_equal(atomic_load(&e.calls), 2);
    rpc_client_stats(c, &st);
    assert_int_equal(st.cancelled, 2);
    assert_int_equal(st.ok, 1);
    close_client(&loop, c);
    uv_loop_close(&loop);
    rpc_server_free(s);
}

static void test_overloaded_and_queue_deadline(void **state)
{
    echo_srv_t e = {.delay_ms = 300};
    rpc_server_t *s = start_server("tcp://127.0.0.1:0", &e, 4, 4);
    uv_loop_t loop;
    uv_loop_init(&loop);
    rpc_client_t *c = new_client_unbatched(&loop, rpc_server_url(s), 2, 2);
    rec_t r[6];
    memset(r, 0, sizeof r);
    call(c, "0", 2000, &r[0]);
    call(c, "1", 2000, &r[1]);
    call(c, "2", 100, &r[2]); /* queued; expires before a context frees */
    call(c, "3", 2000, &r[3]); /* queued */
    call(c, "4", 2000, &r[4]); /* queue full */
    call(c, "5", 2000, &r[5]); /* queue full */
    uv_run(&loop, UV_RUN_DEFAULT);
    for (int i = 0; i < 6; i++)
        assert_int_equal(r[i].done, 1);
    assert_int_equal(r[0].st, RPC_OK);
    assert_int_equal(r[1].st, RPC_OK);
    assert_int_equal(r[2].st, RPC_TIMEOUT);
    assert_non_null(strstr(r[2].detail, "no free context"));
    assert_true(r[2].elapsed_us < 250000);
    assert_int_equal(r[3].st, RPC_OK);
    assert_int_equal(r[4].st, RPC_OVERLOADED);
    assert_int_equal(r[5].st, RPC_OVERLOADED);
    assert_non_null(strstr(r[4].detail, "rpc-queue-max"));
    assert_int_equal(atomic_load(&e.calls), 3);
    close_client(&loop, c);
    uv_loop_close(&loop);
    rpc_server_free(s);
}

static void test_sync_call(void **state)
{
    echo_srv_t e = {0};
    rpc_server_t *s = start_server("tcp://127.0.0.1:0", &e, 2, 1);
    void *reply = NULL;
    size_t len = 0;
    err_t err;
    assert_int_equal(rpc_call_sync(rpc_server_url(s), "sync!", 5, 2000, &reply, &len, &err), 0);
    assert_int_equal(len, 5);
    assert_memory_equal(reply, "sync!", 5);
    free(reply);
    rpc_server_free(s);

    /* Nobody there: a timeout, in about the time asked for. */
    char *dir = testutil_tmpdir("rpc-sync");
    char url[600];
    snprintf(url, sizeof url, "ipc://%s/none.sock", dir);
    uint64_t t0 = uv_hrtime();
    assert_int_equal(rpc_call_sync(url, "x", 1, 200, &reply, &len, &err), -1);
    assert_non_null(strstr(err.msg, "timeout"));
    assert_true(uv_hrtime() - t0 < 1000000000ull);
    assert_null(reply);
    /* Too large: refused before dialling. */
    assert_int_equal(rpc_call_sync(url, "x", RPC_DEFAULT_MAX_MSG_BYTES + 1, 200, &reply, &len, &err), -1);
    assert_non_null(strstr(err.msg, "message too large"));
    /* Bad URL. */
    assert_int_equal(rpc_call_sync("nope://x", "x", 1, 200, &reply, &len, &err), -1);
    assert_non_null(strstr(err.msg, "nope://x"));
    free(dir);
}

static void test_bad_options(void **state)
{
    err_t err;
    uv_loop_t loop;
    uv_loop_init(&loop);
    rpc_client_opts_t co;
    rpc_client_opts_default(&co);
    rpc_client_t *c = NULL;
    assert_int_equal(rpc_client_new(&co, &loop, &c, &err), -1);
    assert_non_null(strstr(err.msg, "no URL"));
    co.urls = "tcp://127.0.0.1:1, ,bogus://nowhere";
    assert_int_equal(rpc_client_new(&co, &loop, &c, &err), -1);
    assert_non_null(strstr(err.msg, "bogus://nowhere"));
    assert_null(c);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);

    rpc_server_opts_t so;
    rpc_server_opts_default(&so);
    so.url = "tcp://127.0.0.1:0";
    echo_srv_t e = {0};
    rpc_server_t *s1 = start_server("tcp://127.0.0.1:0", &e, 1, 1), *s2 = NULL;
    so.url = rpc_server_url(s1);
    assert_int_equal(rpc_server_new(&so, echo_handler, &e, &s2, &err), -1);
    assert_non_null(strstr(err.msg, "listen on tcp://127.0.0.1:"));
    rpc_server_free(s1);

    /* The option tables fill the structs. */
    cfg_t *cfg = cfg_new("t", NULL, NULL);
    assert_int_equal(cfg_add(cfg, "rpc", rpc_client_options, &err), 0);
    assert_int_equal(cfg_add(cfg, "rpc-server", rpc_server_options, &err), 0);
    char *argv[] = {"t", "--rpc-contexts=7", "--rpc-server-threads=3", "--rpc-reconnect-max-ms=50", NULL};
    assert_int_equal(cfg_parse(cfg, 4, argv, &err), 0);
    assert_int_equal(rpc_client_opts_from_cfg(cfg, &co, &err), -1); /* max 50 < min 100 */
    assert_non_null(strstr(err.msg, "rpc-reconnect-max-ms"));
    assert_int_equal(cfg_set(cfg, "rpc-reconnect-max-ms", "500", &err), 0);
    assert_int_equal(rpc_client_opts_from_cfg(cfg, &co, &err), 0);
    assert_int_equal(co.contexts, 7);
    assert_int_equal(co.max_msg_bytes, RPC_DEFAULT_MAX_MSG_BYTES);
    assert_int_equal(rpc_server_opts_from_cfg(cfg, &so, &err), 0);
    assert_int_equal(so.threads, 3);
    assert_int_equal(so.contexts, 16);
    cfg_free(cfg);
}

/* Calls started in one loop turn share messages; each keeps its own reply,
 * and a call the handler refuses fails at once (not at its deadline) while
 * its neighbours succeed. */
static void test_batches(void **state)
{
    (void)state;
    echo_srv_t e = {0};
    rpc_server_t *s = start_server("tcp://127.0.0.1:0", &e, 8, 2);
    uv_loop_t loop;
    uv_loop_init(&loop);
    int batch = client_batch;
    client_batch = 16;
    rpc_client_t *c = new_client(&loop, rpc_server_url(s), 8, 64);
    client_batch = batch;
    /* Connected first, so the calls below go out together. */
    rec_t warm = {0};
    call(c, "warm", 2000, &warm);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(warm.st, RPC_OK);
    enum { N = 40 };
    rec_t r[N];
    char msg[N][16];
    memset(r, 0, sizeof r);
    for (int i = 0; i < N; i++) {
        snprintf(msg[i], sizeof msg[i], i == 7 ? "fail%d" : "m%d", i);
        call(c, msg[i], 5000, &r[i]);
    }
    /* Cancelled before the turn ends: never sent. */
    rec_t gone = {0};
    uint64_t gid = rpc_client_call(c, "gone", 4, 5000, rec_cb, &gone);
    assert_int_equal(rpc_client_cancel(c, gid), 0);
    uint64_t t0 = uv_hrtime();
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_true((uv_hrtime() - t0) / 1000000 < 2000); /* the refused call did not wait for its deadline */
    for (int i = 0; i < N; i++) {
        assert_int_equal(r[i].done, 1);
        if (i == 7) {
            assert_int_equal(r[i].st, RPC_ERROR);
            assert_non_null(strstr(r[i].detail, "no reply"));
            continue;
        }
        if (r[i].st != RPC_OK)
            fail_msg("call %d: %s", i, r[i].detail);
        assert_int_equal(r[i].len, strlen(msg[i]));
        assert_memory_equal(r[i].reply, msg[i], r[i].len);
    }
    rpc_server_stats_t ss;
    rpc_server_stats(s, &ss);
    assert_int_equal(ss.handled, N + 1);
    assert_int_equal(ss.handler_errors, 1);
    assert_true(ss.replied <= 1 + (N + 15) / 16); /* 40 calls in 3 messages */
    assert_int_equal(gone.done, 0);
    rpc_client_stats_t st;
    rpc_client_stats(c, &st);
    assert_int_equal(st.cancelled, 1);
    assert_int_equal(st.ok, N);
    /* Four calls in a turn go as two messages of two (two threads can
     * serve them at once). */
    rec_t four[4];
    memset(four, 0, sizeof four);
    /* The earlier batches' replies may still be being counted (see below):
     * take the baseline once the count has settled. */
    rpc_server_stats(s, &ss);
    for (int i = 0; i < 50; i++) {
        uint64_t before = ss.replied;
        sleep_ms(20);
        rpc_server_stats(s, &ss);
        if (ss.replied == before)
            break;
    }
    uint64_t replied = ss.replied;
    for (int i = 0; i < 4; i++)
        call(c, "four", 5000, &four[i]);
    uv_run(&loop, UV_RUN_DEFAULT);
    for (int i = 0; i < 4; i++)
        assert_int_equal(four[i].st, RPC_OK);
    /* The server counts a reply when nng has sent it, which may be just
     * after the client got it. */
    rpc_server_stats(s, &ss);
    for (int i = 0; i < 100 && ss.replied - replied < 2; i++) {
        sleep_ms(10);
        rpc_server_stats(s, &ss);
    }
    assert_int_equal(ss.replied - replied, 2);
    close_client(&loop, c);
    uv_loop_close(&loop);
    rpc_server_free(s);
}

/* Each reply of a batch fits the limit but not all of them together: none
 * is sent, every call of that batch fails at once (not at its deadline),
 * and the server serves the next call. */
static void test_batch_reply_over_limit(void **state)
{
    (void)state;
    echo_srv_t e = {.reply_extra = 2500};
    rpc_server_opts_t so;
    rpc_server_opts_default(&so);
    so.url = "tcp://127.0.0.1:0";
    so.max_msg_bytes = 4096;
    rpc_server_t *s = NULL;
    err_t err;
    assert_int_equal(rpc_server_new(&so, echo_handler, &e, &s, &err), 0);
    uv_loop_t loop;
    uv_loop_init(&loop);
    rpc_client_opts_t co;
    rpc_client_opts_default(&co);
    co.urls = rpc_server_url(s);
    co.max_msg_bytes = 4096;
    co.batch_max = 16;
    rpc_client_t *c = NULL;
    assert_int_equal(rpc_client_new(&co, &loop, &c, &err), 0);
    rec_t warm = {0};
    call(c, "warm", 2000, &warm);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(warm.st, RPC_OK);
    assert_int_equal(warm.len, 4 + 2500);
    /* Four calls: two messages of two, each answer pair over 4096 bytes. */
    rec_t r[4];
    memset(r, 0, sizeof r);
    for (int i = 0; i < 4; i++)
        call(c, "pair", 5000, &r[i]);
    uv_run(&loop, UV_RUN_DEFAULT);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(r[i].done, 1);
        assert_int_equal(r[i].st, RPC_ERROR);
        assert_non_null(strstr(r[i].detail, "no reply"));
        assert_true(r[i].elapsed_us < 2000000);
    }
    rec_t after = {0};
    call(c, "after", 2000, &after);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(after.st, RPC_OK);
    close_client(&loop, c);
    uv_loop_close(&loop);
    rpc_server_free(s);
}

/* A turn's calls beyond the free contexts wait in the queue, and beyond
 * the queue are refused as overloaded, as without batches. */
static void test_batch_queue_limits(void **state)
{
    (void)state;
    echo_srv_t e = {.delay_ms = 100};
    rpc_server_t *s = start_server("tcp://127.0.0.1:0", &e, 4, 2);
    uv_loop_t loop;
    uv_loop_init(&loop);
    int batch = client_batch;
    client_batch = 2;
    rpc_client_t *c = new_client(&loop, rpc_server_url(s), 1, 1); /* one context, one queued */
    client_batch = batch;
    rec_t r[6];
    memset(r, 0, sizeof r);
    for (int i = 0; i < 6; i++)
        call(c, "q", 5000, &r[i]);
    uv_run(&loop, UV_RUN_DEFAULT);
    /* Calls 0 and 1 share the context, call 2 waits, 3-5 are refused. */
    for (int i = 0; i < 3; i++)
        if (r[i].st != RPC_OK)
            fail_msg("call %d: %s", i, r[i].detail);
    for (int i = 3; i < 6; i++) {
        assert_int_equal(r[i].st, RPC_OVERLOADED);
        assert_non_null(strstr(r[i].detail, "rpc-queue-max"));
    }
    assert_int_equal(atomic_load(&e.calls), 3);
    close_client(&loop, c);
    uv_loop_close(&loop);
    rpc_server_free(s);
}

/* The frame codec: round trip, no-reply parts, and every broken frame
 * refused (not a batch without the magic). */
static void test_batch_frames(void **state)
{
    (void)state;
    rpc_batch_part_t in[3] = {{"abc", 3}, {NULL, 0}, {"", 0}}, out[RPC_BATCH_MAX];
    size_t n = 0, size = rpc_batch_size(in, 3);
    assert_int_equal(size, 8 + 12 + 3);
    uint8_t buf[64];
    rpc_batch_write(buf, in, 3);
    assert_int_equal(rpc_batch_parse(buf, size, out, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(out[0].len, 3);
    assert_memory_equal(out[0].data, "abc", 3);
    assert_null(out[1].data);
    assert_non_null(out[2].data);
    assert_int_equal(out[2].len, 0);
    assert_int_equal(rpc_batch_parse("\x08\x01", 2, out, &n), 1);   /* a protobuf payload */
    assert_int_equal(rpc_batch_parse(buf, 3, out, &n), 1);            /* too short for the magic */
    for (size_t cut = 4; cut < size; cut++)
        assert_int_equal(rpc_batch_parse(buf, cut, out, &n), -1);     /* truncated */
    uint8_t big[64];
    memcpy(big, buf, size);
    big[size] = 'x';
    assert_int_equal(rpc_batch_parse(big, size + 1, out, &n), -1);    /* trailing bytes */
    big[4] = 0;
    assert_int_equal(rpc_batch_parse(big, size, out, &n), -1);        /* count 0 */
    big[4] = RPC_BATCH_MAX + 1;
    assert_int_equal(rpc_batch_parse(big, size, out, &n), -1);        /* count over the limit */
    memcpy(big, buf, size);
    big[8] = 200;
    assert_int_equal(rpc_batch_parse(big, size, out, &n), -1);        /* a length past the end */
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--serve-slow") == 0)
        return serve_slow(argv[2]);
    if (argc == 2)
        cmocka_set_test_filter(argv[1]); /* e.g. test_rpc 'test_close*' */
    signal(SIGPIPE, SIG_IGN);
    log_setup("test_rpc", LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_echo_round_trip),
        cmocka_unit_test(test_200_concurrent),
        cmocka_unit_test(test_timeout_runs_handler_once),
        cmocka_unit_test(test_client_before_server),
        cmocka_unit_test(test_server_killed_mid_request),
        cmocka_unit_test(test_server_stopped_mid_request),
        cmocka_unit_test(test_oversize),
        cmocka_unit_test(test_oversize_reply_replaced),
        cmocka_unit_test(test_two_replicas),
        cmocka_unit_test(test_stop_drains),
        cmocka_unit_test(test_close_completes_pending),
        cmocka_unit_test(test_close_from_callback),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_overloaded_and_queue_deadline),
        cmocka_unit_test(test_sync_call),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_batches),
        cmocka_unit_test(test_batch_frames),
        cmocka_unit_test(test_batch_reply_over_limit),
        cmocka_unit_test(test_batch_queue_limits),
    };
    int failed = cmocka_run_group_tests_name("worker threads, one call per message", tests, NULL, NULL);
    inline_handlers = 1;
    client_batch = 16;
    return failed + cmocka_run_group_tests_name("inline handlers, batches", tests, NULL, NULL);
}
