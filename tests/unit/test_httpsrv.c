/* test_httpsrv.c: the request parser (httpreq), the server (httpsrv) over real
 * loopback sockets, and the admin endpoints.
 *
 * Each server test runs a libuv loop in a thread and talks to it with plain
 * blocking sockets. The test thread never touches the server while the loop
 * runs: it observes through sockets, atomics and metrics (atomic too), and
 * asks the loop to stop through a uv_async_t. */
#define _GNU_SOURCE /* memmem, strcasestr */
#include "testutil.h"
#include "common/base/clock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "common/net/admin.h"
#include "common/net/httpreq.h"
#include "common/net/httpsrv.h"
#include "common/net/metrics.h"

/* ================================================================ httpreq */

static httpreq_t *parse_one(const char *text, const httpreq_limits_t *lim, int *err_status)
{
    httpreq_parser_t *p = httpreq_parser_new(lim);
    size_t used = 0;
    httpreq_status_t st = httpreq_parser_feed(p, text, strlen(text), &used);
    httpreq_t *r = NULL;
    *err_status = 0;
    if (st == HTTPREQ_DONE)
        r = httpreq_parser_take(p);
    else if (st == HTTPREQ_ERROR)
        *err_status = httpreq_parser_error(p, NULL);
    httpreq_parser_free(p);
    return r;
}

static void test_req_basic(void **state)
{
    int es;
    httpreq_t *r = parse_one("GET /v1/items?genre=Comedy&q=a+b%2Fc&flag&=x&k= HTTP/1.1\r\n"
                             "Host: example\r\nX-Thing:  padded value  \r\nx-thing: second\r\n\r\n",
                             NULL, &es);
    assert_non_null(r);
    assert_string_equal(r->method, "GET");
    assert_string_equal(r->path, "/v1/items");
    assert_string_equal(r->query, "genre=Comedy&q=a+b%2Fc&flag&=x&k=");
    assert_string_equal(httpreq_param(r, "genre"), "Comedy");
    assert_string_equal(httpreq_param(r, "q"), "a b/c");
    assert_string_equal(httpreq_param(r, "flag"), "");
    assert_string_equal(httpreq_param(r, ""), "x");
    assert_string_equal(httpreq_param(r, "k"), "");
    assert_null(httpreq_param(r, "missing"));
    assert_string_equal(httpreq_header(r, "HOST"), "example");
    assert_string_equal(httpreq_header(r, "x-thing"), "padded value");
    assert_int_equal(r->nheaders, 3);
    assert_int_equal(r->version_major, 1);
    assert_int_equal(r->version_minor, 1);
    assert_true(r->keep_alive);
    assert_int_equal(r->body_len, 0);
    assert_string_equal(r->body, "");
    httpreq_free(r);

    r = parse_one("GET / HTTP/1.0\r\n\r\n", NULL, &es);
    assert_false(r->keep_alive);
    httpreq_free(r);
    r = parse_one("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", NULL, &es);
    assert_true(r->keep_alive);
    httpreq_free(r);
    r = parse_one("GET / HTTP/1.1\r\nConnection: close\r\n\r\n", NULL, &es);
    assert_false(r->keep_alive);
    httpreq_free(r);
}

/* Two pipelined requests (one chunked) split at every possible point give the same result. */
static void test_req_pipelined_any_split(void **state)
{
    const char *text = "POST /a HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
                       "POST /b?x=1 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\nTrailer-Field: t\r\n\r\n"
                       "GET /c HTTP/1.1\r\n\r\n";
    size_t len = strlen(text);
    for (size_t split = 0; split <= len; split++) {
        httpreq_parser_t *p = httpreq_parser_new(NULL);
        httpreq_t *got[3] = {0};
        size_t ngot = 0;
        const char *pieces[2] = {text, text + split};
        size_t lens[2] = {split, len - split};
        for (int k = 0; k < 2; k++) {
            const char *d = pieces[k];
            size_t left = lens[k];
            while (left > 0) {
                size_t used;
                httpreq_status_t st = httpreq_parser_feed(p, d, left, &used);
                assert_int_not_equal(st, HTTPREQ_ERROR);
                d += used;
                left -= used;
                if (st == HTTPREQ_DONE) {
                    assert_true(ngot < 3);
                    got[ngot++] = httpreq_parser_take(p);
                }
            }
        }
        assert_int_equal(ngot, 3);
        assert_string_equal(got[0]->path, "/a");
        assert_int_equal(got[0]->body_len, 5);
        assert_string_equal(got[0]->body, "hello");
        assert_string_equal(got[1]->path, "/b");
        assert_string_equal(httpreq_param(got[1], "x"), "1");
        assert_string_equal(got[1]->body, "abcde");
        assert_string_equal(httpreq_header(got[1], "trailer-field"), "t");
        assert_string_equal(got[2]->path, "/c");
        for (size_t i = 0; i < 3; i++)
            httpreq_free(got[i]);
        assert_int_equal(httpreq_parser_state(p), HTTPREQ_IDLE);
        httpreq_parser_free(p);
    }
}

static void test_req_limits(void **state)
{
    httpreq_limits_t lim = {32, 128, 4, 10};
    int es;
    struct {
        const char *text;
        int want;
    } cases[] = {
        {"GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\n\r\n", 414},
        {"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\n\r\n", 431},
        {"GET / HTTP/1.1\r\nBig: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n\r\n",
         431},
        {"POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n", 413}, /* refused before the body arrives */
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n6\r\nghijkl\r\n", 413},
        {"GARBAGE\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nBad Header: x\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nContent-Length : 5\r\n\r\nhello", 400},
        {"GET /x?a=%zz HTTP/1.1\r\n\r\n", 400},
        {"GET /x?a=%4 HTTP/1.1\r\n\r\n", 400},
        {"GET * HTTP/1.1\r\n\r\n", 400},
        {"GET / HTTP/2.0\r\n\r\n", 505},
        {"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        httpreq_t *r = parse_one(cases[i].text, &lim, &es);
        if (r != NULL || es != cases[i].want)
            fail_msg("case %zu: got request %p status %d, want %d", i, (void *)r, es, cases[i].want);
    }
    /* Exactly at the limits is fine. */
    httpreq_t *r = parse_one("POST /aaaaaaaaaa HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nContent-Length: 10\r\n\r\n0123456789",
                             &lim, &es);
    assert_non_null(r);
    assert_int_equal(r->body_len, 10);
    httpreq_free(r);
    /* After an error the parser stays failed. */
    httpreq_parser_t *p = httpreq_parser_new(&lim);
    size_t used;
    assert_int_equal(httpreq_parser_feed(p, "BAD\r\n\r\n", 7, &used), HTTPREQ_ERROR);
    assert_int_equal(httpreq_parser_feed(p, "GET / HTTP/1.1\r\n\r\n", 18, &used), HTTPREQ_ERROR);
    const char *msg;
    assert_int_equal(httpreq_parser_error(p, &msg), 400);
    assert_non_null(strstr(msg, "bad request"));
    httpreq_parser_free(p);
}

static void test_req_state_and_continue(void **state)
{
    httpreq_parser_t *p = httpreq_parser_new(NULL);
    size_t used;
    assert_int_equal(httpreq_parser_state(p), HTTPREQ_IDLE);
    const char *h = "POST /x HTTP/1.1\r\nExpect: 100-continue\r\n";
    assert_int_equal(httpreq_parser_feed(p, h, strlen(h), &used), HTTPREQ_MORE);
    assert_int_equal(httpreq_parser_state(p), HTTPREQ_IN_HEADERS);
    assert_false(httpreq_parser_take_continue(p));
    h = "Content-Length: 3\r\n\r\n";
    assert_int_equal(httpreq_parser_feed(p, h, strlen(h), &used), HTTPREQ_MORE);
    assert_int_equal(httpreq_parser_state(p), HTTPREQ_IN_BODY);
    assert_true(httpreq_parser_take_continue(p));
    assert_false(httpreq_parser_take_continue(p));
    assert_int_equal(httpreq_parser_feed(p, "abc", 3, &used), HTTPREQ_DONE);
    httpreq_t *r = httpreq_parser_take(p);
    assert_string_equal(r->body, "abc");
    httpreq_free(r);
    httpreq_parser_free(p);
}

/* httpreq_make (HTTP/2's requests) against the parser on the same request. */
static httpreq_t *make_one(const char *method, const char *target, const char *body, const httpreq_limits_t *lim,
                           int *status, const char **msg)
{
    httpreq_kv_t *h = calloc(1, sizeof *h);
    h[0] = (httpreq_kv_t){strdup("content-type"), strdup("application/grpc")};
    return httpreq_make(method, strdup(target), h, 1, strdup(body), strlen(body), lim, status, msg);
}

static void test_req_make(void **state)
{
    int st, es;
    const char *msg;
    httpreq_t *r = make_one("POST", "/v1/items?q=a+b%2Fc&flag#frag", "xyz", NULL, &st, &msg);
    httpreq_t *p = parse_one("POST /v1/items?q=a+b%2Fc&flag#frag HTTP/1.1\r\nContent-Length: 3\r\n\r\nxyz", NULL, &es);
    assert_non_null(r);
    assert_non_null(p);
    assert_string_equal(r->method, p->method);
    assert_string_equal(r->target, p->target);
    assert_string_equal(r->path, p->path);
    assert_string_equal(r->query, p->query);
    assert_int_equal(r->nparams, p->nparams);
    assert_string_equal(httpreq_param(r, "q"), "a b/c");
    assert_string_equal(httpreq_param(r, "flag"), "");
    assert_string_equal(httpreq_header(r, "Content-Type"), "application/grpc");
    assert_string_equal(r->body, "xyz");
    assert_int_equal(r->body_len, 3);
    assert_true(r->keep_alive && r->version_major == 1 && r->version_minor == 1);
    httpreq_free(r);
    httpreq_free(p);

    httpreq_limits_t lim = HTTPREQ_LIMITS_DEFAULT;
    lim.max_url_bytes = 16;
    assert_null(make_one("FETCH", "/", "", NULL, &st, &msg));
    assert_int_equal(st, 400);
    assert_string_equal(msg, "bad request: invalid HTTP method");
    assert_null(parse_one("FETCH / HTTP/1.1\r\n\r\n", NULL, &es));
    assert_int_equal(es, 400);
    assert_null(make_one("GET", "/0123456789abcdef", "", &lim, &st, &msg));
    assert_int_equal(st, 414);
    assert_null(parse_one("GET /0123456789abcdef HTTP/1.1\r\n\r\n", &lim, &es));
    assert_int_equal(es, 414);
    assert_null(make_one("GET", "/a?x=%zz", "", NULL, &st, &msg));
    assert_int_equal(st, 400);
    assert_string_equal(msg, "bad query string: invalid percent-escape");
    assert_null(make_one("GET", "/a\x7f", "", NULL, &st, &msg));
    assert_int_equal(st, 400);
    assert_null(parse_one("GET /a\x7f HTTP/1.1\r\n\r\n", NULL, &es));
    assert_int_equal(es, 400);
}

static void test_decode_and_match(void **state)
{
    size_t n;
    char *s = httpreq_decode("a%20b+c%2f", 10, false, &n);
    assert_string_equal(s, "a b+c/");
    assert_int_equal(n, 6);
    free(s);
    s = httpreq_decode("a+b", 3, true, NULL);
    assert_string_equal(s, "a b");
    free(s);
    assert_null(httpreq_decode("%", 1, false, NULL));
    assert_null(httpreq_decode("%4", 2, false, NULL));
    assert_null(httpreq_decode("%g0", 3, false, NULL));
    assert_null(httpreq_decode("a%00b", 5, false, NULL));

    assert_true(httpreq_pattern_valid("/v1/users/{id}/recommendations"));
    assert_true(httpreq_pattern_valid("/"));
    assert_false(httpreq_pattern_valid("v1"));
    assert_false(httpreq_pattern_valid("/v1/{}"));
    assert_false(httpreq_pattern_valid("/v1/x{id}"));
    assert_false(httpreq_pattern_valid("/v1/{i-d}"));
    assert_false(httpreq_pattern_valid("/a?b"));

    httpreq_path_params_t pp;
    const char *pat = "/v1/users/{id}/recommendations";
    assert_int_equal(httpreq_path_match(pat, "/v1/users/u%2F42/recommendations", &pp), 3);
    assert_int_equal(pp.n, 1);
    assert_string_equal(httpreq_path_param(&pp, "id"), "u/42");
    assert_null(httpreq_path_param(&pp, "other"));
    httpreq_path_params_free(&pp);
    assert_int_equal(httpreq_path_match(pat, "/v1/users//recommendations", &pp), -1);
    assert_int_equal(httpreq_path_match(pat, "/v1/users/42/recommendations/", &pp), -1);
    assert_int_equal(httpreq_path_match(pat, "/v1/users/42", &pp), -1);
    assert_int_equal(httpreq_path_match(pat, "/v1/users/%zz/recommendations", &pp), -2);
    assert_int_equal(pp.n, 0);
    assert_int_equal(httpreq_path_match("/{a}/{b}", "/x/y", &pp), 0);
    assert_string_equal(httpreq_path_param(&pp, "a"), "x");
    assert_string_equal(httpreq_path_param(&pp, "b"), "y");
    httpreq_path_params_free(&pp);
    assert_int_equal(httpreq_path_match("/", "/", NULL), 1);
    assert_int_equal(httpreq_path_match("/healthz", "/healthz/", NULL), -1);
}

/* ================================================================ server fixture */

typedef struct fixture {
    uv_loop_t loop;
    uv_thread_t thread;
    uv_async_t cmd;
    httpsrv_t *srv;
    admin_t *admin;
    metrics_registry_t *reg;
    int port;
    atomic_int stop_requested;
    atomic_int done_calls;
    atomic_int late_responses;
    atomic_int abandoned_seen;
    atomic_int ready;
    atomic_llong done_at_ms;
} fixture_t;

typedef struct slow {
    uv_timer_t timer;
    httpsrv_req_t *req;
    fixture_t *f;
} slow_t;

static void h_hello(httpsrv_req_t *r, void *ud)
{
    httpsrv_req_add_header(r, "X-Test", "yes");
    httpsrv_respond(r, 200, "text/plain", "hello", 5);
}

static void h_echo(httpsrv_req_t *r, void *ud)
{
    const httpreq_t *h = httpsrv_req_http(r);
    const char *ct = httpreq_header(h, "Content-Type");
    httpsrv_respond(r, 200, ct ? ct : "application/octet-stream", h->body, h->body_len);
}

static void h_user(httpsrv_req_t *r, void *ud)
{
    char body[128];
    snprintf(body, sizeof body, "user %s", httpsrv_req_param(r, "id"));
    httpsrv_respond_text(r, 200, body);
}

static void h_big(httpsrv_req_t *r, void *ud)
{
    size_t n = 16u << 20;
    char *b = malloc(n);
    memset(b, 'x', n);
    httpsrv_respond_owned(r, 200, "application/octet-stream", b, n);
}

static void slow_closed(uv_handle_t *h)
{
    free(h->data);
}

static void slow_fire(uv_timer_t *t)
{
    slow_t *s = t->data;
    if (httpsrv_req_abandoned(s->req))
        atomic_fetch_add(&s->f->abandoned_seen, 1);
    char body[64];
    const char *tag = httpreq_param(httpsrv_req_http(s->req), "tag");
    snprintf(body, sizeof body, "slow %s", tag ? tag : "");
    httpsrv_respond_text(s->req, 200, body);
    atomic_fetch_add(&s->f->late_responses, 1);
    uv_close((uv_handle_t *)&s->timer, slow_closed);
}

/* Answers after ?ms= milliseconds, from a timer: an asynchronous handler. */
static void h_slow(httpsrv_req_t *r, void *ud)
{
    fixture_t *f = ud;
    const char *ms = httpreq_param(httpsrv_req_http(r), "ms");
    slow_t *s = calloc(1, sizeof *s);
    s->req = r;
    s->f = f;
    uv_timer_init(&f->loop, &s->timer);
    s->timer.data = s;
    uv_timer_start(&s->timer, slow_fire, ms ? (uint64_t)atoi(ms) : 100, 0);
}

static void twirp_fallback(httpsrv_req_t *r, void *ud)
{
    const char *body = "{\"code\":\"bad_route\",\"msg\":\"no such route\"}";
    httpsrv_respond(r, 404, "application/json", body, strlen(body));
}

static void on_done(httpsrv_t *srv, void *ud)
{
    fixture_t *f = ud;
    atomic_fetch_add(&f->done_calls, 1);
    atomic_store(&f->done_at_ms, clock_mono_ms());
    uv_close((uv_handle_t *)&f->cmd, NULL);
}

static void on_cmd(uv_async_t *a)
{
    fixture_t *f = a->data;
    if (atomic_exchange(&f->stop_requested, 2) == 1) {
        if (f->admin != NULL)
            admin_stop(f->admin, on_done, f);
        else
            httpsrv_stop(f->srv, on_done, f);
    }
}

static void loop_thread(void *arg)
{
    fixture_t *f = arg;
    uv_run(&f->loop, UV_RUN_DEFAULT);
}

static void fixture_routes(fixture_t *f)
{
    err_t err;
    assert_int_equal(httpsrv_route(f->srv, "GET", "/hello", h_hello, f, &err), 0);
    assert_int_equal(httpsrv_route(f->srv, "POST", "/echo", h_echo, f, &err), 0);
    assert_int_equal(httpsrv_route(f->srv, "GET", "/slow", h_slow, f, &err), 0);
    assert_int_equal(httpsrv_route(f->srv, "GET", "/big", h_big, f, &err), 0);
    assert_int_equal(httpsrv_route(f->srv, "GET", "/users/{id}", h_user, f, &err), 0);
    assert_int_equal(httpsrv_route(f->srv, "GET", "/users/me", h_hello, f, &err), 0);
    assert_int_equal(httpsrv_route(f->srv, "GET", "/hello", h_hello, f, &err), -1);
    assert_non_null(strstr(err.msg, "twice"));
    assert_int_equal(httpsrv_route(f->srv, "GET", "/bad{x}", h_hello, f, &err), -1);
}

static void fixture_run(fixture_t *f)
{
    uv_async_init(&f->loop, &f->cmd, on_cmd);
    f->cmd.data = f;
    assert_int_equal(uv_thread_create(&f->thread, loop_thread, f), 0);
}

/* A server with test-sized limits; tweak may adjust the configuration. */
static fixture_t *fixture_start(void (*tweak)(httpsrv_config_t *))
{
    fixture_t *f = calloc(1, sizeof *f);
    err_t err;
    assert_int_equal(uv_loop_init(&f->loop), 0);
    f->reg = metrics_registry_new();
    httpsrv_config_t cfg;
    httpsrv_config_default(&cfg);
    cfg.limits.max_body_bytes = 1024;
    cfg.limits.max_header_bytes = 4096;
    cfg.limits.max_url_bytes = 512;
    cfg.metrics = f->reg;
    if (tweak != NULL)
        tweak(&cfg);
    f->srv = httpsrv_new(&f->loop, &cfg, &err);
    assert_non_null(f->srv);
    fixture_routes(f);
    if (httpsrv_listen(f->srv, "127.0.0.1", 0, &err) != 0)
        fail_msg("%s", err.msg);
    f->port = httpsrv_port(f->srv);
    assert_true(f->port > 0);
    fixture_run(f);
    return f;
}

static void fixture_request_stop(fixture_t *f)
{
    int expected = 0;
    if (atomic_compare_exchange_strong(&f->stop_requested, &expected, 1))
        uv_async_send(&f->cmd);
}

static void fixture_finish(fixture_t *f)
{
    fixture_request_stop(f);
    uv_thread_join(&f->thread);
    assert_int_equal(atomic_load(&f->done_calls), 1);
    if (f->admin != NULL)
        admin_free(f->admin);
    else
        httpsrv_free(f->srv);
    /* Late closes (abandoned requests' timers) may still be pending. */
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    metrics_registry_free(f->reg);
    free(f);
}

/* ================================================================ blocking client */

typedef struct client {
    int fd;
    char buf[1 << 16];
    size_t len;
} client_t;

typedef struct response {
    int status;
    char headers[4096];
    char *body;
    size_t body_len;
} response_t;

static client_t *cli_connect(int port)
{
    client_t *c = calloc(1, sizeof *c);
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(c->fd >= 0);
    struct timeval tv = {5, 0};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(c->fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(c->fd);
        free(c);
        return NULL;
    }
    return c;
}

static void cli_close(client_t *c)
{
    if (c == NULL)
        return;
    close(c->fd);
    free(c);
}

static void cli_sendn(client_t *c, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = send(c->fd, s, n, MSG_NOSIGNAL);
        if (w <= 0)
            fail_msg("send: %s", strerror(errno));
        s += w;
        n -= (size_t)w;
    }
}

static void cli_send(client_t *c, const char *s)
{
    cli_sendn(c, s, strlen(s));
}

/* Reads more into the buffer; returns bytes read, 0 on EOF, -1 on error/timeout. */
static ssize_t cli_fill(client_t *c)
{
    if (c->len == sizeof c->buf)
        fail_msg("client buffer full");
    ssize_t n = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
    if (n > 0)
        c->len += (size_t)n;
    return n;
}

/* Reads one response; returns 0, or -1 if the connection ended first. */
static int cli_response(client_t *c, response_t *r)
{
    memset(r, 0, sizeof *r);
    char *end;
    while ((end = memmem(c->buf, c->len, "\r\n\r\n", 4)) == NULL)
        if (cli_fill(c) <= 0)
            return -1;
    size_t hlen = (size_t)(end - c->buf) + 4;
    assert_true(hlen < sizeof r->headers);
    memcpy(r->headers, c->buf, hlen);
    r->headers[hlen] = '\0';
    assert_int_equal(sscanf(r->headers, "HTTP/1.1 %d", &r->status), 1);
    size_t clen = 0;
    const char *cl = strcasestr(r->headers, "\r\nContent-Length: ");
    if (cl != NULL)
        clen = strtoul(cl + 18, NULL, 10);
    memmove(c->buf, c->buf + hlen, c->len - hlen);
    c->len -= hlen;
    if (strncmp(r->headers, "HTTP/1.1 1", 10) == 0)
        clen = 0;
    r->body = malloc(clen + 1);
    size_t got = 0;
    while (got < clen) {
        if (c->len == 0 && cli_fill(c) <= 0) {
            free(r->body);
            r->body = NULL;
            return -1;
        }
        size_t take = c->len < clen - got ? c->len : clen - got;
        memcpy(r->body + got, c->buf, take);
        memmove(c->buf, c->buf + take, c->len - take);
        c->len -= take;
        got += take;
    }
    r->body[clen] = '\0';
    r->body_len = clen;
    return 0;
}

static void resp_free(response_t *r)
{
    free(r->body);
    r->body = NULL;
}

static bool has_header(const response_t *r, const char *line)
{
    char want[256];
    snprintf(want, sizeof want, "\r\n%s\r\n", line);
    return strcasestr(r->headers, want) != NULL;
}

/* True when the server closed the connection (EOF or reset) within 5 s. */
static bool cli_sees_close(client_t *c)
{
    for (;;) {
        c->len = 0;
        ssize_t n = cli_fill(c);
        if (n == 0)
            return true;
        if (n < 0)
            return errno == ECONNRESET;
    }
}

/* One request on a connection; asserts the status; returns the body (free it). */
static char *roundtrip(client_t *c, const char *req, int want_status)
{
    cli_send(c, req);
    response_t r;
    assert_int_equal(cli_response(c, &r), 0);
    if (r.status != want_status)
        fail_msg("want %d, got:\n%s%s", want_status, r.headers, r.body);
    return r.body;
}

static uint64_t requests_total(fixture_t *f, const char *route, const char *code)
{
    err_t err;
    metrics_family_t *fam = metrics_counter_family(f->reg, "recsys_http_requests_total", "HTTP requests answered.",
                                                   (const char *[]){"route", "code", NULL}, &err);
    return metrics_counter_value(metrics_counter_get(fam, (const char *[]){route, code}));
}

static double open_connections(fixture_t *f)
{
    err_t err;
    return metrics_gauge_value(metrics_gauge_new(f->reg, "recsys_http_open_connections", "HTTP connections open.", &err));
}

static void wait_until_open_connections(fixture_t *f, double want)
{
    for (int i = 0; i < 500 && open_connections(f) != want; i++)
        usleep(10000);
    assert_true(open_connections(f) == want);
}

/* ================================================================ server tests */

static void test_get_post_keepalive(void **state)
{
    fixture_t *f = fixture_start(NULL);
    client_t *c = cli_connect(f->port);
    response_t r;
    cli_send(c, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_int_equal(cli_response(c, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "hello");
    assert_true(has_header(&r, "Content-Length: 5"));
    assert_true(has_header(&r, "Connection: keep-alive"));
    assert_true(has_header(&r, "Content-Type: text/plain"));
    assert_true(has_header(&r, "X-Test: yes"));
    resp_free(&r);
    /* Same connection: a POST with a body, then a path parameter. */
    cli_send(c, "POST /echo HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"user\": 42}\n");
    assert_int_equal(cli_response(c, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"user\": 42}\n");
    assert_true(has_header(&r, "Content-Type: application/json"));
    resp_free(&r);
    free(roundtrip(c, "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 200));
    char *b = roundtrip(c, "GET /users/a%20b HTTP/1.1\r\n\r\n", 200);
    assert_string_equal(b, "user a b");
    free(b);
    b = roundtrip(c, "GET /users/me HTTP/1.1\r\n\r\n", 200); /* the literal route wins */
    assert_string_equal(b, "hello");
    free(b);
    b = roundtrip(c, "GET /users/%zz HTTP/1.1\r\n\r\n", 400);
    free(b);
    /* HEAD on a GET route: headers with the length, no body. */
    cli_send(c, "HEAD /hello HTTP/1.1\r\n\r\n");
    char *end;
    while ((end = memmem(c->buf, c->len, "\r\n\r\n", 4)) == NULL)
        assert_true(cli_fill(c) > 0);
    assert_non_null(memmem(c->buf, c->len, "Content-Length: 5\r\n", 19));
    c->len -= (size_t)(end + 4 - c->buf);
    assert_int_equal(c->len, 0);
    b = roundtrip(c, "GET /hello HTTP/1.1\r\n\r\n", 200); /* nothing stray came after the HEAD answer */
    assert_string_equal(b, "hello");
    free(b);
    assert_true(open_connections(f) == 1); /* all on one connection */
    cli_close(c);
    assert_int_equal(requests_total(f, "/hello", "200"), 3);
    assert_int_equal(requests_total(f, "/echo", "200"), 2);
    fixture_finish(f);
}

static void test_pipelining_in_order(void **state)
{
    fixture_t *f = fixture_start(NULL);
    client_t *c = cli_connect(f->port);
    /* The slow ones answer late; the quick ones at once; order must hold. */
    cli_send(c, "GET /slow?ms=150&tag=1 HTTP/1.1\r\n\r\n"
                "GET /hello HTTP/1.1\r\n\r\n"
                "GET /slow?ms=30&tag=3 HTTP/1.1\r\n\r\n"
                "POST /echo HTTP/1.1\r\nContent-Length: 1\r\n\r\n4"
                "GET /nothing HTTP/1.1\r\n\r\n");
    const char *want[] = {"slow 1", "hello", "slow 3", "4", "not found\n"};
    int codes[] = {200, 200, 200, 200, 404};
    for (int i = 0; i < 5; i++) {
        response_t r;
        assert_int_equal(cli_response(c, &r), 0);
        assert_int_equal(r.status, codes[i]);
        assert_string_equal(r.body, want[i]);
        resp_free(&r);
    }
    cli_close(c);
    fixture_finish(f);
}

static void tweak_pipeline2(httpsrv_config_t *c)
{
    c->max_pipeline = 2;
}

static void test_pipeline_limit(void **state)
{
    fixture_t *f = fixture_start(tweak_pipeline2);
    client_t *c = cli_connect(f->port);
    char req[2048] = "";
    for (int i = 0; i < 8; i++) {
        char one[128];
        snprintf(one, sizeof one, "GET /slow?ms=10&tag=%d HTTP/1.1\r\n\r\n", i);
        strcat(req, one);
    }
    cli_send(c, req);
    for (int i = 0; i < 8; i++) {
        response_t r;
        assert_int_equal(cli_response(c, &r), 0);
        char want[32];
        snprintf(want, sizeof want, "slow %d", i);
        assert_string_equal(r.body, want);
        resp_free(&r);
    }
    cli_close(c);
    fixture_finish(f);
}

static void test_http10(void **state)
{
    fixture_t *f = fixture_start(NULL);
    client_t *c = cli_connect(f->port);
    response_t r;
    cli_send(c, "GET /hello HTTP/1.0\r\n\r\n");
    assert_int_equal(cli_response(c, &r), 0);
    assert_int_equal(r.status, 200);
    assert_true(has_header(&r, "Connection: close"));
    assert_true(has_header(&r, "Content-Length: 5"));
    resp_free(&r);
    assert_true(cli_sees_close(c));
    cli_close(c);
    /* HTTP/1.0 keep-alive is honoured. */
    c = cli_connect(f->port);
    cli_send(c, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert_int_equal(cli_response(c, &r), 0);
    assert_true(has_header(&r, "Connection: keep-alive"));
    resp_free(&r);
    free(roundtrip(c, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 200));
    /* HTTP/1.1 with Connection: close. */
    cli_send(c, "GET /hello HTTP/1.1\r\nConnection: close\r\n\r\n");
    assert_int_equal(cli_response(c, &r), 0);
    assert_true(has_header(&r, "Connection: close"));
    resp_free(&r);
    assert_true(cli_sees_close(c));
    cli_close(c);
    fixture_finish(f);
}

/* Sends req, expects status with Connection: close, then the close. */
static void expect_error_close(fixture_t *f, const char *req, size_t len, int status)
{
    client_t *c = cli_connect(f->port);
    cli_sendn(c, req, len);
    response_t r;
    assert_int_equal(cli_response(c, &r), 0);
    if (r.status != status)
        fail_msg("want %d, got:\n%s", status, r.headers);
    assert_true(has_header(&r, "Connection: close"));
    resp_free(&r);
    assert_true(cli_sees_close(c));
    cli_close(c);
}

static void test_limits(void **state)
{
    fixture_t *f = fixture_start(NULL);
    /* 413 from Content-Length, body sent anyway (the linger keeps the answer readable). */
    char *big = malloc(70000);
    int n = snprintf(big, 70000, "POST /echo HTTP/1.1\r\nContent-Length: 60000\r\n\r\n");
    memset(big + n, 'b', 60000);
    expect_error_close(f, big, (size_t)n + 60000, 413);
    /* 413 from a chunked body growing past the limit. */
    n = snprintf(big, 70000, "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n");
    memset(big + n, 'c', 0x800);
    expect_error_close(f, big, (size_t)n + 0x800, 413);
    /* 431: one huge header. */
    n = snprintf(big, 70000, "GET /hello HTTP/1.1\r\nX-Big: ");
    memset(big + n, 'h', 5000);
    memcpy(big + n + 5000, "\r\n\r\n", 4);
    expect_error_close(f, big, (size_t)n + 5004, 431);
    /* 414 */
    n = snprintf(big, 70000, "GET /");
    memset(big + n, 'u', 600);
    n += 600;
    n += snprintf(big + n, 100, " HTTP/1.1\r\n\r\n");
    expect_error_close(f, big, (size_t)n, 414);
    free(big);
    /* 400 */
    expect_error_close(f, "FOO BAR\r\n\r\n", 11, 400);
    expect_error_close(f, "GET /hello?x=%zz HTTP/1.1\r\n\r\n", 29, 400);
    /* 400 after a good request on the same connection: the good one is answered first. */
    client_t *c = cli_connect(f->port);
    cli_send(c, "GET /hello HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\nBad Header\r\n\r\n");
    response_t r;
    assert_int_equal(cli_response(c, &r), 0);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    assert_int_equal(cli_response(c, &r), 0);
    assert_int_equal(r.status, 400);
    resp_free(&r);
    assert_true(cli_sees_close(c));
    cli_close(c);
    assert_int_equal(requests_total(f, "invalid", "413"), 2);
    assert_int_equal(requests_total(f, "invalid", "431"), 1);
    assert_int_equal(requests_total(f, "invalid", "414"), 1);
    fixture_finish(f);
}

static void test_expect_continue(void **state)
{
    fixture_t *f = fixture_start(NULL);
    client_t *c = cli_connect(f->port);
    cli_send(c, "POST /echo HTTP/1.1\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
    response_t r;
    assert_int_equal(cli_response(c, &r), 0);
    assert_int_equal(r.status, 100);
    resp_free(&r);
    cli_send(c, "xyz");
    assert_int_equal(cli_response(c, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "xyz");
    resp_free(&r);
    cli_close(c);
    fixture_finish(f);
}

static void tweak_short_timeouts(httpsrv_config_t *c)
{
    c->header_timeout_ms = 200;
    c->idle_timeout_ms = 300;
    c->write_timeout_ms = 300;
}

static void test_header_timeout(void **state)
{
    fixture_t *f = fixture_start(tweak_short_timeouts);
    client_t *c = cli_connect(f->port);
    long long t0 = clock_mono_ms();
    /* Slowloris: a header line now and then, never the end of the headers. */
    cli_send(c, "GET /hello HTTP/1.1\r\n");
    usleep(100000);
    cli_send(c, "X-A: 1\r\n");
    response_t r;
    assert_int_equal(cli_response(c, &r), 0);
    long long waited = clock_mono_ms() - t0;
    assert_int_equal(r.status, 408);
    assert_true(has_header(&r, "Connection: close"));
    resp_free(&r);
    assert_true(cli_sees_close(c));
    if (waited < 180 || waited > 2000)
        fail_msg("408 after %lld ms, want about 200", waited);
    cli_close(c);
    assert_int_equal(requests_total(f, "invalid", "408"), 1);
    fixture_finish(f);
}

static void test_idle_timeout(void **state)
{
    fixture_t *f = fixture_start(tweak_short_timeouts);
    client_t *c = cli_connect(f->port);
    free(roundtrip(c, "GET /hello HTTP/1.1\r\n\r\n", 200));
    long long t0 = clock_mono_ms();
    assert_true(cli_sees_close(c));
    long long waited = clock_mono_ms() - t0;
    if (waited < 250 || waited > 2000)
        fail_msg("idle close after %lld ms, want about 300", waited);
    cli_close(c);
    /* A connection that never sends anything is closed the same way. */
    c = cli_connect(f->port);
    assert_true(cli_sees_close(c));
    cli_close(c);
    wait_until_open_connections(f, 0);
    fixture_finish(f);
}

static void test_write_timeout(void **state)
{
    fixture_t *f = fixture_start(tweak_short_timeouts);
    client_t *c = cli_connect(f->port);
    /* Ask for 16 MiB and read nothing: the socket buffers fill, the write stalls. */
    cli_send(c, "GET /big HTTP/1.1\r\n\r\n");
    wait_until_open_connections(f, 1);
    long long t0 = clock_mono_ms();
    wait_until_open_connections(f, 0);
    long long waited = clock_mono_ms() - t0;
    if (waited > 3000)
        fail_msg("stalled writer closed after %lld ms", waited);
    cli_close(c);
    fixture_finish(f);
}

static void test_client_gone_while_pending(void **state)
{
    fixture_t *f = fixture_start(NULL);
    client_t *c = cli_connect(f->port);
    cli_send(c, "GET /slow?ms=200 HTTP/1.1\r\n\r\n");
    /* Make sure the request is in the handler before leaving. */
    wait_until_open_connections(f, 1);
    usleep(50000);
    cli_close(c);
    wait_until_open_connections(f, 0);
    for (int i = 0; i < 300 && atomic_load(&f->late_responses) < 1; i++)
        usleep(10000);
    assert_int_equal(atomic_load(&f->late_responses), 1);
    assert_int_equal(atomic_load(&f->abandoned_seen), 1);
    assert_int_equal(requests_total(f, "/slow", "499"), 1);
    /* Several pipelined slow requests, client gone before any answer. */
    c = cli_connect(f->port);
    cli_send(c, "GET /slow?ms=100 HTTP/1.1\r\n\r\nGET /slow?ms=50 HTTP/1.1\r\n\r\nGET /hello HTTP/1.1\r\n\r\n");
    usleep(20000);
    cli_close(c);
    for (int i = 0; i < 300 && atomic_load(&f->late_responses) < 3; i++)
        usleep(10000);
    assert_int_equal(atomic_load(&f->late_responses), 3);
    /* The server is still fine. */
    c = cli_connect(f->port);
    free(roundtrip(c, "GET /hello HTTP/1.1\r\n\r\n", 200));
    cli_close(c);
    fixture_finish(f);
}

static void tweak_two_conns(httpsrv_config_t *c)
{
    c->max_connections = 2;
}

static void test_connection_limit(void **state)
{
    fixture_t *f = fixture_start(tweak_two_conns);
    client_t *a = cli_connect(f->port), *b = cli_connect(f->port);
    free(roundtrip(a, "GET /hello HTTP/1.1\r\n\r\n", 200));
    free(roundtrip(b, "GET /hello HTTP/1.1\r\n\r\n", 200));
    client_t *c = cli_connect(f->port);
    response_t r;
    assert_int_equal(cli_response(c, &r), 0);
    assert_int_equal(r.status, 503);
    resp_free(&r);
    assert_true(cli_sees_close(c));
    cli_close(c);
    /* The two served connections still work; after one leaves, a new one is served. */
    free(roundtrip(a, "GET /hello HTTP/1.1\r\n\r\n", 200));
    cli_close(b);
    wait_until_open_connections(f, 1);
    c = cli_connect(f->port);
    free(roundtrip(c, "GET /hello HTTP/1.1\r\n\r\n", 200));
    cli_close(c);
    cli_close(a);
    err_t err;
    metrics_counter_t *rej = metrics_counter_new(f->reg, "recsys_http_connections_rejected_total",
                                                 "HTTP connections refused over the connection limit.", &err);
    assert_int_equal(metrics_counter_value(rej), 1);
    fixture_finish(f);
}

static void test_graceful_stop(void **state)
{
    fixture_t *f = fixture_start(NULL);
    client_t *busy = cli_connect(f->port), *idle = cli_connect(f->port);
    free(roundtrip(idle, "GET /hello HTTP/1.1\r\n\r\n", 200));
    cli_send(busy, "GET /slow?ms=300&tag=last HTTP/1.1\r\n\r\n");
    wait_until_open_connections(f, 2);
    usleep(50000);
    long long t0 = clock_mono_ms();
    fixture_request_stop(f);
    /* The idle connection closes at once; the busy one gets its answer, marked close. */
    assert_true(cli_sees_close(idle));
    assert_true(clock_mono_ms() - t0 < 250);
    response_t r;
    assert_int_equal(cli_response(busy, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "slow last");
    assert_true(has_header(&r, "Connection: close"));
    resp_free(&r);
    assert_true(clock_mono_ms() - t0 >= 200);
    assert_true(cli_sees_close(busy));
    cli_close(busy);
    cli_close(idle);
    uv_thread_join(&f->thread); /* the loop ends once the server is done */
    assert_int_equal(atomic_load(&f->done_calls), 1);
    assert_true(atomic_load(&f->done_at_ms) >= t0 + 200);
    /* No longer listening. */
    assert_null(cli_connect(f->port));
    httpsrv_free(f->srv);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    metrics_registry_free(f->reg);
    free(f);
}

static void tweak_short_shutdown(httpsrv_config_t *c)
{
    c->shutdown_timeout_ms = 100;
}

/* A handler slower than the shutdown deadline: the connection is cut, the
 * server finishes, and the late answer is dropped safely. */
static void test_stop_deadline(void **state)
{
    fixture_t *f = fixture_start(tweak_short_shutdown);
    client_t *c = cli_connect(f->port);
    cli_send(c, "GET /slow?ms=400 HTTP/1.1\r\n\r\n");
    wait_until_open_connections(f, 1);
    usleep(50000);
    long long t0 = clock_mono_ms();
    fixture_request_stop(f);
    assert_true(cli_sees_close(c));
    long long cut = clock_mono_ms() - t0;
    if (cut < 80 || cut > 350)
        fail_msg("cut after %lld ms, want about 100", cut);
    cli_close(c);
    /* The loop keeps running until the slow timer fires and its handle closes. */
    uv_thread_join(&f->thread);
    assert_int_equal(atomic_load(&f->done_calls), 1);
    assert_int_equal(atomic_load(&f->late_responses), 1);
    httpsrv_free(f->srv);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    metrics_registry_free(f->reg);
    free(f);
}

static void test_404_405_fallback(void **state)
{
    fixture_t *f = fixture_start(NULL);
    client_t *c = cli_connect(f->port);
    char *b = roundtrip(c, "GET /nope HTTP/1.1\r\n\r\n", 404);
    assert_string_equal(b, "not found\n");
    free(b);
    cli_send(c, "DELETE /hello HTTP/1.1\r\n\r\n");
    response_t r;
    assert_int_equal(cli_response(c, &r), 0);
    assert_int_equal(r.status, 405);
    assert_true(has_header(&r, "Allow: GET, HEAD"));
    resp_free(&r);
    cli_send(c, "GET /echo HTTP/1.1\r\n\r\n");
    assert_int_equal(cli_response(c, &r), 0);
    assert_int_equal(r.status, 405);
    assert_true(has_header(&r, "Allow: POST"));
    resp_free(&r);
    cli_close(c);
    assert_int_equal(requests_total(f, "unmatched", "404"), 1);
    assert_int_equal(requests_total(f, "unmatched", "405"), 2);
    fixture_finish(f);

    /* A custom fallback (the gateway's Twirp bad_route). */
    f = calloc(1, sizeof *f);
    err_t err;
    assert_int_equal(uv_loop_init(&f->loop), 0);
    f->srv = httpsrv_new(&f->loop, NULL, &err);
    fixture_routes(f);
    httpsrv_set_fallback(f->srv, twirp_fallback, NULL);
    assert_int_equal(httpsrv_listen(f->srv, "127.0.0.1", 0, &err), 0);
    f->port = httpsrv_port(f->srv);
    fixture_run(f);
    c = cli_connect(f->port);
    cli_send(c, "POST /twirp/recsys.v1.Recommender/Nope HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}");
    assert_int_equal(cli_response(c, &r), 0);
    assert_int_equal(r.status, 404);
    assert_true(has_header(&r, "Content-Type: application/json"));
    assert_non_null(strstr(r.body, "bad_route"));
    resp_free(&r);
    cli_close(c);
    fixture_finish(f);
}

static void test_config_from_cfg(void **state)
{
    err_t err;
    cfg_t *cfg = cfg_new("t", NULL, NULL);
    assert_int_equal(cfg_add(cfg, "http", httpsrv_options, &err), 0);
    char *argv[] = {"t", "--http-max-body-bytes=2048", "--http-idle-timeout-ms=1500", NULL};
    assert_int_equal(cfg_parse(cfg, 3, argv, &err), 0);
    httpsrv_config_t c, d;
    assert_int_equal(httpsrv_config_from_cfg(&c, cfg, &err), 0);
    httpsrv_config_default(&d);
    assert_int_equal(c.limits.max_body_bytes, 2048);
    assert_int_equal(c.idle_timeout_ms, 1500);
    assert_int_equal(c.limits.max_header_bytes, d.limits.max_header_bytes);
    assert_int_equal(c.max_connections, d.max_connections);
    assert_int_equal(c.header_timeout_ms, d.header_timeout_ms);
    cfg_free(cfg);
    /* Options missing from the configuration are an error, not a crash. */
    cfg = cfg_new("t", NULL, NULL);
    assert_int_equal(httpsrv_config_from_cfg(&c, cfg, &err), -1);
    cfg_free(cfg);
    /* A bad listen address is reported. */
    uv_loop_t loop;
    uv_loop_init(&loop);
    httpsrv_t *srv = httpsrv_new(&loop, NULL, &err);
    assert_int_equal(httpsrv_listen(srv, "not-an-ip", 0, &err), -1);
    assert_non_null(strstr(err.msg, "not-an-ip"));
    httpsrv_free(srv);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void count_done(httpsrv_t *srv, void *ud)
{
    (void)srv;
    (*(int *)ud)++;
}

/* A port already taken: listen fails (and stops the server itself); a
 * later httpsrv_stop still gets its completion, once (a daemon whose
 * public port is taken must be able to drain and exit, not hang). */
static void test_listen_taken_then_stop(void **state)
{
    (void)state;
    err_t err;
    uv_loop_t loop;
    uv_loop_init(&loop);
    httpsrv_t *a = httpsrv_new(&loop, NULL, &err), *b = httpsrv_new(&loop, NULL, &err);
    assert_int_equal(httpsrv_listen(a, "127.0.0.1", 0, &err), 0);
    assert_int_equal(httpsrv_listen(b, "127.0.0.1", httpsrv_port(a), &err), -1);
    assert_non_null(strstr(err.msg, "address already in use"));
    int done_a = 0, done_b = 0;
    uv_run(&loop, UV_RUN_NOWAIT); /* b's listener closes: its stop has finished */
    httpsrv_stop(b, count_done, &done_b);
    httpsrv_stop(a, count_done, &done_a);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(done_a, 1);
    assert_int_equal(done_b, 1);
    httpsrv_stop(b, count_done, &done_b); /* a second completion is not taken */
    assert_int_equal(done_b, 1);
    httpsrv_free(a);
    httpsrv_free(b);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* ================================================================ admin */

static bool ready_cb(void *ud, char *reason, size_t size)
{
    fixture_t *f = ud;
    if (atomic_load(&f->ready))
        return true;
    snprintf(reason, size, "model not loaded");
    return false;
}

static void test_admin(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    err_t err;
    assert_int_equal(uv_loop_init(&f->loop), 0);
    f->reg = metrics_registry_new();
    metrics_counter_t *things = metrics_counter_new(f->reg, "recsys_things_total", "Things.", &err);
    metrics_counter_add(things, 7);
    f->admin = admin_start(&f->loop, "127.0.0.1", 0, f->reg, ready_cb, f, &err);
    assert_non_null(f->admin);
    f->srv = admin_server(f->admin);
    f->port = admin_port(f->admin);
    fixture_run(f);

    client_t *c = cli_connect(f->port);
    char *b = roundtrip(c, "GET /healthz HTTP/1.1\r\n\r\n", 200);
    assert_string_equal(b, "ok\n");
    free(b);
    b = roundtrip(c, "GET /readyz HTTP/1.1\r\n\r\n", 503);
    assert_string_equal(b, "not ready: model not loaded\n");
    free(b);
    atomic_store(&f->ready, 1);
    b = roundtrip(c, "GET /readyz HTTP/1.1\r\n\r\n", 200);
    free(b);
    cli_send(c, "GET /metrics HTTP/1.1\r\n\r\n");
    response_t r;
    assert_int_equal(cli_response(c, &r), 0);
    assert_int_equal(r.status, 200);
    assert_true(has_header(&r, "Content-Type: text/plain; version=0.0.4; charset=utf-8"));
    assert_non_null(strstr(r.body, "# TYPE recsys_things_total counter\nrecsys_things_total 7\n"));
    assert_non_null(strstr(r.body, "recsys_http_requests_total{route=\"/healthz\",code=\"200\"} 1\n"));
    assert_non_null(strstr(r.body, "recsys_http_requests_total{route=\"/readyz\",code=\"503\"} 1\n"));
    assert_non_null(strstr(r.body, "recsys_http_request_duration_seconds_count{route=\"/readyz\"} 2\n"));
    assert_non_null(strstr(r.body, "recsys_http_open_connections 1\n"));
    assert_non_null(strstr(r.body, "# TYPE process_start_time_seconds gauge\n"));
    resp_free(&r);
    b = roundtrip(c, "POST /healthz HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 405);
    free(b);
    cli_close(c);
    fixture_finish(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_req_basic),
        cmocka_unit_test(test_req_pipelined_any_split),
        cmocka_unit_test(test_req_limits),
        cmocka_unit_test(test_req_state_and_continue),
        cmocka_unit_test(test_req_make),
        cmocka_unit_test(test_decode_and_match),
        cmocka_unit_test(test_get_post_keepalive),
        cmocka_unit_test(test_pipelining_in_order),
        cmocka_unit_test(test_pipeline_limit),
        cmocka_unit_test(test_http10),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_expect_continue),
        cmocka_unit_test(test_header_timeout),
        cmocka_unit_test(test_idle_timeout),
        cmocka_unit_test(test_write_timeout),
        cmocka_unit_test(test_client_gone_while_pending),
        cmocka_unit_test(test_connection_limit),
        cmocka_unit_test(test_graceful_stop),
        cmocka_unit_test(test_stop_deadline),
        cmocka_unit_test(test_404_405_fallback),
        cmocka_unit_test(test_config_from_cfg),
        cmocka_unit_test(test_listen_taken_then_stop),
        cmocka_unit_test(test_admin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
