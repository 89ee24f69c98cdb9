/* test_gw_core.c: the gateway core (gw_server + gw_rank) against fake
 * content and CF workers running in this process.
 *
 * The fakes are real nng rep servers (common/net/rpc.h's server API on
 * inproc:// URLs) answering worker.proto messages: model info for the
 * gateway's health poll, and score requests with the scores each test
 * chooses; they count the calls, record what they were sent, and can be
 * slow or absent. The gateway is the real one (gw_new on a libuv loop run
 * by the test), driven through its HTTP port on loopback with Twirp
 * protobuf requests. Asserted: fan-out (each worker asked once per request,
 * both at once), blend (order and per-source scores equal
 * common/math/blend's blend_merge on the chosen scores), degradation
 * (either worker down or slower than its deadline, both down) and the
 * answer cache's single flight against a real redis-server
 * (tests/testredis.c; skipped when redis-server is missing). */
#include "testutil.h"
#include "testredis.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "common/base/config.h"
#include "common/base/log.h"
#include "common/math/blend.h"
#include "common/net/metrics.h"
#include "common/net/rpc.h"
#include "recsys/v1/recommender.pb-c.h"
#include "recsys/v1/worker.pb-c.h"
#include "services/gateway/gw_catalog.h"
#include "services/gateway/gw_options.h"
#include "services/gateway/gw_server.h"

/* ================================================================ fake workers */

#define FAKE_MAX_ITEMS 16

typedef struct fake_scored {
    const char *item;
    float score;
} fake_scored_t;

typedef struct fake_worker {
    const char *name;
    char url[96];
    char version[32];
    rpc_server_t *srv;
    fake_scored_t scores[FAKE_MAX_ITEMS];
    const char *because[FAKE_MAX_ITEMS]; /* explanation of each scored item (NULL: none) */
    size_t nscores;
    atomic_int delay_ms;     /* before answering a score request */
    atomic_int score_calls;  /* score/similar requests received */
    atomic_int info_calls;   /* health polls */
    atomic_bool await_other; /* wait (<= 2 s) for the other's request of the same round */
    atomic_bool saw_other;   /* it arrived while this one was unanswered */
    struct fake_worker *other;
    pthread_mutex_t mu;
    char last_user[64]; /* of the last score request */
    size_t last_nhistory;
} fake_worker_t;

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static int pack_reply(Recsys__V1__WorkerReply *r, void **out, size_t *len)
{
    *len = recsys__v1__worker_reply__get_packed_size(r);
    *out = malloc(*len ? *len : 1);
    if (*out == NULL)
        return -1;
    recsys__v1__worker_reply__pack(r, *out);
    return 0;
}

static int fake_handler(const void *req, size_t len, void **reply, size_t *reply_len, void *arg)
{
    fake_worker_t *f = arg;
    Recsys__V1__WorkerRequest *m = recsys__v1__worker_request__unpack(NULL, len, req);
    if (m == NULL)
        return -1;
    Recsys__V1__WorkerReply r = RECSYS__V1__WORKER_REPLY__INIT;
    r.request_id = m->request_id;
    r.model_version = f->version;
    r.model_name = "fake";
    int rc;
    if (m->body_case == RECSYS__V1__WORKER_REQUEST__BODY_INFO) {
        atomic_fetch_add(&f->info_calls, 1);
        Recsys__V1__WorkerModelInfo info = RECSYS__V1__WORKER_MODEL_INFO__INIT;
        info.model_name = "fake";
        info.model_version = f->version;
        r.body_case = RECSYS__V1__WORKER_REPLY__BODY_INFO;
        r.info = &info;
        rc = pack_reply(&r, reply, reply_len);
    } else {
        atomic_fetch_add(&f->score_calls, 1);
        if (m->body_case == RECSYS__V1__WORKER_REQUEST__BODY_SCORE) {
            pthread_mutex_lock(&f->mu);
            snprintf(f->last_user, sizeof f->last_user, "%s", m->score->user_id);
            f->last_nhistory = m->score->n_history;
            pthread_mutex_unlock(&f->mu);
        }
        if (atomic_load(&f->await_other) && f->other != NULL) {
            /* The other worker's request arrives while this one is still
             * unanswered: the two were sent without waiting for each other.
             * (Sent one after the other, the first waits here in vain.) */
            int mine = atomic_load(&f->score_calls);
            for (int i = 0; i < 400 && atomic_load(&f->other->score_calls) < mine; i++)
                sleep_ms(5);
            if (atomic_load(&f->other->score_calls) >= mine)
                atomic_store(&f->saw_other, true);
        }
        int d = atomic_load(&f->delay_ms);
        if (d > 0)
            sleep_ms(d);
        Recsys__V1__WorkerScored items[FAKE_MAX_ITEMS], *ptrs[FAKE_MAX_ITEMS];
        for (size_t i = 0; i < f->nscores; i++) {
            recsys__v1__worker_scored__init(&items[i]);
            items[i].item_id = (char *)f->scores[i].item;
            items[i].score = f->scores[i].score;
            if (f->because[i] != NULL)
                items[i].because_item_id = (char *)f->because[i];
            ptrs[i] = &items[i];
        }
        Recsys__V1__WorkerScoredList l = RECSYS__V1__WORKER_SCORED_LIST__INIT;
        l.n_items = f->nscores;
        l.items = ptrs;
        r.body_case = RECSYS__V1__WORKER_REPLY__BODY_SCORED;
        r.scored = &l;
        rc = pack_reply(&r, reply, reply_len);
    }
    recsys__v1__worker_request__free_unpacked(m, NULL);
    return rc;
}

static void fake_init(fake_worker_t *f, const char *name, const char *test)
{
    memset(f, 0, sizeof *f);
    f->name = name;
    snprintf(f->url, sizeof f->url, "inproc://gw-core-%s-%s-%d", test, name, (int)getpid());
    snprintf(f->version, sizeof f->version, "%s-v1", name);
    pthread_mutex_init(&f->mu, NULL);
}

static void fake_set_scores(fake_worker_t *f, const fake_scored_t *s, size_t n)
{
    assert_true(n <= FAKE_MAX_ITEMS);
    memcpy(f->scores, s, n * sizeof *s);
    f->nscores = n;
}

static void fake_start(fake_worker_t *f)
{
    rpc_server_opts_t o;
    rpc_server_opts_default(&o);
    o.url = f->url;
    o.contexts = 8;
    o.threads = 4; /* the handler sleeps: keep nng's own threads free */
    o.drain_ms = 2000;
    err_t err;
    if (rpc_server_new(&o, fake_handler, f, &f->srv, &err) != 0)
        fail_msg("fake %s worker: %s", f->name, err.msg);
}

static void fake_stop(fake_worker_t *f)
{
    if (f->srv != NULL)
        rpc_server_free(f->srv);
    f->srv = NULL;
    pthread_mutex_destroy(&f->mu);
}

/* ================================================================ HTTP client */

typedef struct http_call {
    int fd;
    char buf[1 << 16];
    size_t len;
    bool done;
    int status;
    const char *body;
    size_t body_len;
} http_call_t;

/* Connects to the gateway and sends one Twirp protobuf request. */
static void http_post(http_call_t *c, int port, const char *method, const ProtobufCMessage *m)
{
    memset(c, 0, sizeof *c);
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(c->fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(c->fd, (struct sockaddr *)&a, sizeof a), 0);
    size_t n = protobuf_c_message_get_packed_size(m);
    char *req = malloc(512 + n);
    assert_non_null(req);
    int h = snprintf(req, 512,
                     "POST /twirp/recsys.v1.Recommender/%s HTTP/1.1\r\nHost: test\r\n"
                     "Content-Type: application/protobuf\r\nContent-Length: %zu\r\n\r\n",
                     method, n);
    protobuf_c_message_pack(m, (uint8_t *)req + h);
    size_t total = (size_t)h + n, off = 0;
    while (off < total) {
        ssize_t w = send(c->fd, req + off, total - off, 0);
        assert_true(w > 0);
        off += (size_t)w;
    }
    free(req);
}

/* Reads what arrived (non-blocking); true once the whole response is in. */
static bool http_poll(http_call_t *c)
{
    if (c->done)
        return true;
    for (;;) {
        ssize_t r = recv(c->fd, c->buf + c->len, sizeof c->buf - 1 - c->len, MSG_DONTWAIT);
        if (r <= 0)
            break;
        c->len += (size_t)r;
    }
    c->buf[c->len] = '\0';
    const char *end = strstr(c->buf, "\r\n\r\n");
    if (end == NULL)
        return false;
    const char *cl = strstr(c->buf, "Content-Length:");
    size_t n = cl != NULL && cl < end ? (size_t)strtoul(cl + 15, NULL, 10) : 0;
    size_t hdr = (size_t)(end - c->buf) + 4;
    if (c->len < hdr + n)
        return false;
    c->status = atoi(c->buf + 9);
    c->body = c->buf + hdr;
    c->body_len = n;
    c->done = true;
    return true;
}

static void http_close(http_call_t *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

typedef struct calls {
    http_call_t *v;
    size_t n;
} calls_t;

static bool all_answered(void *arg)
{
    calls_t *cs = arg;
    bool all = true;
    for (size_t i = 0; i < cs->n; i++)
        all = http_poll(&cs->v[i]) && all;
    return all;
}

/* ================================================================ fixture */

static const char ITEMS[] = "item_id,title,year,genres\n"
                            "m1,One,1991,Drama\n"
                            "m2,Two,1992,Comedy\n"
                            "m3,Three,1993,Drama\n"
                            "m4,Four,1994,Comedy\n"
                            "m5,Five,1995,Horror\n"
                            "m6,Six,1996,Drama\n"
                            "m7,Seven,1997,Comedy\n"
                            "m8,Eight,1998,Horror\n";
/* u1 rated m1 and m2 (excluded from u1's answers); popularity by count:
 * m3 4, m4 3, m5 2, then m1 m2 m6 m7 1, m8 0. */
static const char RATINGS[] = "user_id,item_id,rating\n"
                              "u1,m1,5\nu1,m2,2\n"
                              "u2,m3,4\nu2,m4,4\nu2,m5,3\nu2,m6,5\n"
                              "u3,m3,5\nu3,m4,3\nu3,m5,4\n"
                              "u4,m3,4\nu4,m4,2\n"
                              "u5,m3,3\nu5,m7,4\n";

/* The chosen scores: the lists share m3 and m4, each has an item of its own. */
static const fake_scored_t CONTENT_SCORES[] = {{"m3", 0.9f}, {"m5", 0.6f}, {"m4", 0.2f}, {"m8", 0.1f}};
static const fake_scored_t CF_SCORES[] = {{"m4", 3.0f}, {"m6", 2.5f}, {"m3", 0.5f}, {"m7", 0.4f}};

typedef struct fx {
    uv_loop_t loop;
    uv_timer_t tick;
    char *dir;
    cfg_t *cfg;
    metrics_registry_t *reg;
    gw_catalog_t *cat; /* the test's own copy, for the expected answers */
    gw_t *gw;
    int port;
    fake_worker_t content, cf;
    testredis_t redis;
    bool stopped;
} fx_t;

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    testutil_uv_loop_init(&f->loop, &f->tick);
    f->reg = metrics_registry_new();
    f->dir = testutil_tmpdir("gw_core");
    char *items = testutil_join(f->dir, "items.csv"), *ratings = testutil_join(f->dir, "ratings.csv");
    testutil_write_file(items, ITEMS, strlen(ITEMS));
    testutil_write_file(ratings, RATINGS, strlen(RATINGS));
    free(items);
    free(ratings);
    err_t err;
    assert_int_equal(gw_catalog_load(f->dir, NULL, &f->cat, &err), 0);
    *state = f;
    return 0;
}

static void on_stopped(void *ud)
{
    ((fx_t *)ud)->stopped = true;
}

static bool is_stopped(void *arg)
{
    return ((fx_t *)arg)->stopped;
}

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static int teardown(void **state)
{
    fx_t *f = *state;
    if (f->gw != NULL) {
        gw_stop(f->gw, on_stopped, f);
        assert_true(testutil_uv_run_until(&f->loop, is_stopped, f, 10000));
        gw_free(f->gw);
    }
    fake_stop(&f->content);
    fake_stop(&f->cf);
    if (f->redis.pid != 0)
        testredis_stop(&f->redis);
    uv_walk(&f->loop, close_walk, NULL);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    if (f->cfg != NULL)
        cfg_free(f->cfg);
    gw_catalog_free(f->cat);
    metrics_registry_free(f->reg);
    free(f->dir);
    free(f);
    return 0;
}

static void set(fx_t *f, const char *name, const char *value)
{
    err_t err;
    if (cfg_set(f->cfg, name, value, &err) != 0)
        fail_msg("%s", err.msg);
}

/* The fakes (not started) and the configuration: deadlines of 300 ms, a
 * fast health poll, Redis on redis_port (a closed port: uncached). */
static void configure(fx_t *f, const char *test, int redis_port)
{
    fake_init(&f->content, "content", test);
    fake_init(&f->cf, "cf", test);
    f->content.other = &f->cf;
    f->cf.other = &f->content;
    fake_set_scores(&f->content, CONTENT_SCORES, sizeof CONTENT_SCORES / sizeof CONTENT_SCORES[0]);
    fake_set_scores(&f->cf, CF_SCORES, sizeof CF_SCORES / sizeof CF_SCORES[0]);
    err_t err;
    f->cfg = cfg_new("test_gw_core", "", "");
    assert_non_null(f->cfg);
    assert_int_equal(gw_add_options(f->cfg, &err), 0);
    char *argv[] = {"test_gw_core", NULL};
    assert_int_equal(cfg_parse(f->cfg, 1, argv, &err), 0);
    char port[16];
    snprintf(port, sizeof port, "%d", redis_port);
    set(f, "content-url", f->content.url);
    set(f, "cf-url", f->cf.url);
    set(f, "content-deadline-ms", "300");
    set(f, "cf-deadline-ms", "300");
    set(f, "worker-poll-ms", "50");
    set(f, "redis-host", "127.0.0.1");
    set(f, "redis-port", port);
    set(f, "redis-reconnect-min-ms", "20");
    set(f, "redis-reconnect-max-ms", "100");
    set(f, "redis-command-timeout-ms", "1000");
}

typedef struct ready_arg {
    fx_t *f;
    bool content, cf;
} ready_arg_t;

/* The gateway sees up exactly the workers expected up. */
static bool workers_seen(void *arg)
{
    ready_arg_t *a = arg;
    char reason[512] = "";
    gw_ready(a->f->gw, reason, sizeof reason);
    bool content_up = strstr(reason, "content worker not ready") == NULL;
    bool cf_up = strstr(reason, "cf worker not ready") == NULL;
    return content_up == a->content && cf_up == a->cf;
}

/* Starts the gateway (and the fakes asked for) and waits until its health
 * poll saw them. */
static void start_gateway(fx_t *f, bool content, bool cf)
{
    if (content)
        fake_start(&f->content);
    if (cf)
        fake_start(&f->cf);
    err_t err;
    gw_catalog_t *cat;
    assert_int_equal(gw_catalog_load(f->dir, NULL, &cat, &err), 0);
    f->gw = gw_new(&f->loop, f->cfg, cat, f->reg, &err);
    if (f->gw == NULL)
        fail_msg("gw_new: %s", err.msg);
    if (gw_listen(f->gw, "127.0.0.1", 0, &err) != 0)
        fail_msg("gw_listen: %s", err.msg);
    f->port = gw_port(f->gw);
    ready_arg_t a = {f, content, cf};
    assert_true(testutil_uv_run_until(&f->loop, workers_seen, &a, 5000));
    /* A few more polls, so a worker expected down has been tried. */
    testutil_uv_run_for(&f->loop, 150);
    assert_true(workers_seen(&a));
}

/* One Recommend request m, answered 200. */
static Recsys__V1__RecommendResponse *recommend_msg(fx_t *f, const Recsys__V1__RecommendRequest *m)
{
    http_call_t *c = malloc(sizeof *c);
    assert_non_null(c);
    http_post(c, f->port, "Recommend", &m->base);
    calls_t cs = {c, 1};
    assert_true(testutil_uv_run_until(&f->loop, all_answered, &cs, 5000));
    if (c->status != 200)
        fail_msg("status %d: %.*s", c->status, (int)c->body_len, c->body);
    Recsys__V1__RecommendResponse *r =
        recsys__v1__recommend_response__unpack(NULL, c->body_len, (const uint8_t *)c->body);
    assert_non_null(r);
    http_close(c);
    free(c);
    return r;
}

/* One Recommend for user u1 (k 5; weights NULL: the blend's policy). */
static Recsys__V1__RecommendResponse *recommend(fx_t *f, const Recsys__V1__BlendWeights *w)
{
    Recsys__V1__RecommendRequest m = RECSYS__V1__RECOMMEND_REQUEST__INIT;
    m.user_id = "u1";
    m.k = 5;
    m.weights = (Recsys__V1__BlendWeights *)w;
    return recommend_msg(f, &m);
}


/* The value of one exposed series (a full line prefix, e.g.
 * `name{method="Recommend",reason="cold_start"}`), 0 when absent. */
static double metric_value(fx_t *f, const char *series)
{
    size_t n;
    char *text = metrics_expose(f->reg, &n);
    assert_non_null(text);
    double v = 0;
    size_t len = strlen(series);
    for (const char *line = text; line != NULL && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
        if (strncmp(line, series, len) == 0 && line[len] == ' ')
            v = strtod(line + len + 1, NULL);
    free(text);
    return v;
}

/* ================================================================ expected answers */

typedef struct expected {
    blend_item_t out[16];
    long n;
} expected_t;

static blend_list_t to_list(const gw_catalog_t *cat, const fake_scored_t *s, size_t n, uint32_t *keys,
                            float *scores)
{
    for (size_t i = 0; i < n; i++) {
        keys[i] = gw_catalog_find(cat, s[i].item);
        assert_true(keys[i] != UINT32_MAX);
        scores[i] = s[i].score;
    }
    return (blend_list_t){keys, scores, n};
}

/* What common/math/blend makes of the chosen lists for u1's Recommend: the
 * workers' lists (NULL: the worker is down), popularity over the items u1
 * has not rated, the history length 2 (u1's ratings; u1 is a known user),
 * k 5. */
static void expect_blend(fx_t *f, const fake_scored_t *content, size_t nc, const fake_scored_t *cf,
                         size_t ncf, const blend_weights_t *override, expected_t *e)
{
    err_t err;
    blend_params_t p;
    assert_int_equal(blend_params_from_cfg(f->cfg, &p, &err), 0);
    const size_t k = 5, hist = 2;
    size_t depth = p.depth > k ? p.depth : k;
    uint32_t ck[FAKE_MAX_ITEMS], fk[FAKE_MAX_ITEMS], pk[16];
    float cs[FAKE_MAX_ITEMS], fs[FAKE_MAX_ITEMS], ps[16];
    blend_list_t lists[BLEND_NSOURCES];
    memset(lists, 0, sizeof lists);
    if (content != NULL)
        lists[BLEND_CONTENT] = to_list(f->cat, content, nc, ck, cs);
    if (cf != NULL)
        lists[BLEND_CF] = to_list(f->cat, cf, ncf, fk, fs);
    /* Popularity by rating count, u1's rated items (m1, m2) left out. */
    static const char *const by_count[] = {"m3", "m4", "m5", "m6", "m7", "m8"};
    static const float counts[] = {4, 3, 2, 1, 1, 0};
    size_t np = 0;
    for (size_t i = 0; i < 6 && np < depth; i++, np++) {
        pk[np] = gw_catalog_find(f->cat, by_count[i]);
        ps[np] = counts[i];
    }
    lists[BLEND_POPULARITY] = (blend_list_t){pk, ps, np};
    size_t wsb = blend_workspace_bytes(lists[0].n + lists[1].n + np, k);
    void *ws = malloc(wsb ? wsb : 1);
    blend_weights_t used;
    e->n = blend_merge(&p, override, hist, true, lists, k, ws, wsb, e->out, &used, &err);
    free(ws);
    assert_true(e->n > 0);
}

static void assert_answer(fx_t *f, const Recsys__V1__RecommendResponse *r, const expected_t *e)
{
    assert_int_equal(r->n_items, (size_t)e->n);
    for (size_t i = 0; i < r->n_items; i++) {
        const Recsys__V1__ScoredItem *it = r->items[i];
        const blend_item_t *x = &e->out[i];
        assert_string_equal(it->item_id, catalog_id(f->cat->cat, x->key));
        assert_int_equal(it->rank, (int)i + 1);
        assert_float_equal(it->score, x->score, 1e-6);
        assert_float_equal(it->content_score, x->source[BLEND_CONTENT], 1e-6);
        assert_float_equal(it->cf_score, x->source[BLEND_CF], 1e-6);
        assert_float_equal(it->popularity_score, x->source[BLEND_POPULARITY], 1e-6);
    }
}

/* True when some degraded reason contains every one of the words. */
static bool has_reason(const Recsys__V1__RecommendResponse *r, const char *w1, const char *w2)
{
    for (size_t i = 0; i < r->n_degraded_reasons; i++)
        if (strstr(r->degraded_reasons[i], w1) != NULL && (w2 == NULL || strstr(r->degraded_reasons[i], w2)))
            return true;
    return false;
}

#define NC (sizeof CONTENT_SCORES / sizeof CONTENT_SCORES[0])
#define NCF (sizeof CF_SCORES / sizeof CF_SCORES[0])

/* ================================================================ tests */

/* Both workers up: each is asked once, both at once (each fake waits for
 * the other to have a request in flight); the answer is blend_merge of the
 * two lists and popularity, with the policy weights and with a request's
 * own weights (content-heavy, so swapped weights would show); content gets
 * u1's stored ratings as its history (it knows no users), CF the user id
 * and only the fresh events (none here). */
static void test_fanout_and_blend(void **state)
{
    fx_t *f = *state;
    configure(f, "blend", testredis_free_port());
    start_gateway(f, true, true);
    atomic_store(&f->content.await_other, true);
    atomic_store(&f->cf.await_other, true);

    Recsys__V1__RecommendResponse *r = recommend(f, NULL);
    assert_int_equal(atomic_load(&f->content.score_calls), 1);
    assert_int_equal(atomic_load(&f->cf.score_calls), 1);
    assert_true(atomic_load(&f->content.saw_other));
    assert_true(atomic_load(&f->cf.saw_other));
    assert_false(r->degraded);
    assert_int_equal(r->n_degraded_reasons, 0);
    assert_string_equal(r->model_versions->content, "content-v1");
    assert_string_equal(r->model_versions->cf, "cf-v1");
    expected_t e;
    expect_blend(f, CONTENT_SCORES, NC, CF_SCORES, NCF, NULL, &e);
    assert_answer(f, r, &e);
    /* An oracle apart from blend_merge: with 2 rated items the policy
     * (blend-n0 0.1) weighs CF most, so CF's best leads. */
    assert_string_equal(r->items[0]->item_id, "m4");
    /* Both models contributed to the answer's head. */
    bool any_content = false, any_cf = false;
    for (size_t i = 0; i < r->n_items; i++) {
        any_content |= r->items[i]->content_score != 0;
        any_cf |= r->items[i]->cf_score != 0;
    }
    assert_true(any_content && any_cf);
    recsys__v1__recommend_response__free_unpacked(r, NULL);

    pthread_mutex_lock(&f->content.mu);
    assert_string_equal(f->content.last_user, "");
    assert_int_equal(f->content.last_nhistory, 2);
    pthread_mutex_unlock(&f->content.mu);
    pthread_mutex_lock(&f->cf.mu);
    assert_string_equal(f->cf.last_user, "u1");
    assert_int_equal(f->cf.last_nhistory, 0);
    pthread_mutex_unlock(&f->cf.mu);

    atomic_store(&f->content.await_other, false);
    atomic_store(&f->cf.await_other, false);
    Recsys__V1__BlendWeights w = RECSYS__V1__BLEND_WEIGHTS__INIT;
    w.content = 0.8f;
    w.cf = 0.15f;
    w.popularity = 0.05f;
    r = recommend(f, &w);
    assert_int_equal(atomic_load(&f->content.score_calls), 2);
    assert_int_equal(atomic_load(&f->cf.score_calls), 2);
    blend_weights_t bw = {0.8f, 0.15f, 0.05f};
    expect_blend(f, CONTENT_SCORES, NC, CF_SCORES, NCF, &bw, &e);
    assert_answer(f, r, &e);
    assert_string_equal(r->items[0]->item_id, "m3"); /* content's best, with these weights */
    recsys__v1__recommend_response__free_unpacked(r, NULL);
}

/* Content down: the answer is CF's list blended with popularity, flagged
 * degraded with a reason naming content; CF is still asked once. */
static void test_degrade_content_down(void **state)
{
    fx_t *f = *state;
    configure(f, "nocontent", testredis_free_port());
    start_gateway(f, false, true);
    Recsys__V1__RecommendResponse *r = recommend(f, NULL);
    assert_int_equal(atomic_load(&f->cf.score_calls), 1);
    assert_true(r->degraded);
    assert_true(has_reason(r, "content", NULL));
    assert_false(has_reason(r, "cf", NULL));
    assert_string_equal(r->fallback, ""); /* CF answered */
    assert_string_equal(r->model_versions->content, "");
    assert_string_equal(r->model_versions->cf, "cf-v1");
    expected_t e;
    expect_blend(f, NULL, 0, CF_SCORES, NCF, NULL, &e);
    assert_answer(f, r, &e);
    for (size_t i = 0; i < r->n_items; i++)
        assert_float_equal(r->items[i]->content_score, 0, 0);
    recsys__v1__recommend_response__free_unpacked(r, NULL);
}

/* CF down: the same for CF. */
static void test_degrade_cf_down(void **state)
{
    fx_t *f = *state;
    configure(f, "nocf", testredis_free_port());
    start_gateway(f, true, false);
    Recsys__V1__RecommendResponse *r = recommend(f, NULL);
    assert_int_equal(atomic_load(&f->content.score_calls), 1);
    assert_true(r->degraded);
    assert_true(has_reason(r, "cf", NULL));
    assert_false(has_reason(r, "content", NULL));
    assert_string_equal(r->model_versions->content, "content-v1");
    assert_string_equal(r->model_versions->cf, "");
    expected_t e;
    expect_blend(f, CONTENT_SCORES, NC, NULL, 0, NULL, &e);
    assert_answer(f, r, &e);
    for (size_t i = 0; i < r->n_items; i++)
        assert_float_equal(r->items[i]->cf_score, 0, 0);
    recsys__v1__recommend_response__free_unpacked(r, NULL);
}

/* Both down: popularity alone (the most rated items u1 has not rated, in
 * order), degraded, with a reason for each worker and the fallback's. */
static void test_degrade_both_down(void **state)
{
    fx_t *f = *state;
    configure(f, "none", testredis_free_port());
    start_gateway(f, false, false);
    Recsys__V1__RecommendResponse *r = recommend(f, NULL);
    assert_true(r->degraded);
    assert_true(has_reason(r, "content", NULL));
    assert_true(has_reason(r, "cf", NULL));
    assert_true(has_reason(r, "popularity", NULL));
    assert_string_equal(r->fallback, "popularity");
    assert_true(metric_value(f, "recsys_gateway_popularity_fallback_total{method=\"Recommend\",reason=\"no_model\"}") == 1);
    assert_true(metric_value(f, "recsys_gateway_degraded_total{method=\"Recommend\"}") == 1);
    static const char *const want[] = {"m3", "m4", "m5", "m6", "m7"};
    assert_int_equal(r->n_items, 5);
    for (size_t i = 0; i < 5; i++) {
        assert_string_equal(r->items[i]->item_id, want[i]);
        assert_float_equal(r->items[i]->content_score, 0, 0);
        assert_float_equal(r->items[i]->cf_score, 0, 0);
    }
    expected_t e;
    expect_blend(f, NULL, 0, NULL, 0, NULL, &e);
    assert_answer(f, r, &e);
    recsys__v1__recommend_response__free_unpacked(r, NULL);
}

/* A worker slower than its deadline (content answers after 700 ms, its
 * deadline is 300 ms) counts as down for that request: the answer comes
 * from CF, degraded, with a timeout reason naming content, well before
 * the slow reply. */
static void test_degrade_slow_worker(void **state)
{
    fx_t *f = *state;
    configure(f, "slow", testredis_free_port());
    start_gateway(f, true, true);
    atomic_store(&f->content.delay_ms, 700);
    uint64_t t0 = uv_hrtime();
    Recsys__V1__RecommendResponse *r = recommend(f, NULL);
    uint64_t ms = (uv_hrtime() - t0) / 1000000;
    assert_true(ms < 650);
    assert_int_equal(atomic_load(&f->content.score_calls), 1);
    assert_int_equal(atomic_load(&f->cf.score_calls), 1);
    assert_true(r->degraded);
    assert_true(has_reason(r, "content", "timeout"));
    assert_string_equal(r->model_versions->content, "");
    expected_t e;
    expect_blend(f, NULL, 0, CF_SCORES, NCF, NULL, &e);
    assert_answer(f, r, &e);
    recsys__v1__recommend_response__free_unpacked(r, NULL);
    /* Let the late reply arrive (and be dropped) before teardown. */
    testutil_uv_run_for(&f->loop, 800);
}

/* The gateway's Redis connection is up (its recsys_gateway_redis_up gauge). */
static bool redis_up(void *arg)
{
    fx_t *f = arg;
    size_t n;
    char *text = metrics_expose(f->reg, &n);
    bool up = text != NULL && strstr(text, "\nrecsys_gateway_redis_up 1") != NULL;
    free(text);
    return up;
}

/* The answer cache (real Redis): three identical Recommends at once are
 * computed once (each worker asked once, single flight), all three get the
 * same answer; a fourth identical request is served from the cache
 * (cached = true) without asking any worker. */
static void test_cache_single_flight(void **state)
{
    fx_t *f = *state;
    testredis_start(&f->redis, "gw_core_redis", NULL);
    configure(f, "cache", f->redis.port);
    start_gateway(f, true, true);
    assert_true(testutil_uv_run_until(&f->loop, redis_up, f, 5000));
    atomic_store(&f->content.delay_ms, 100);
    atomic_store(&f->cf.delay_ms, 100);

    Recsys__V1__RecommendRequest m = RECSYS__V1__RECOMMEND_REQUEST__INIT;
    m.user_id = "u1";
    m.k = 5;
    enum { N = 3 };
    http_call_t *c = calloc(N + 1, sizeof *c);
    assert_non_null(c);
    for (int i = 0; i < N; i++)
        http_post(&c[i], f->port, "Recommend", &m.base);
    calls_t cs = {c, N};
    assert_true(testutil_uv_run_until(&f->loop, all_answered, &cs, 5000));
    assert_int_equal(atomic_load(&f->content.score_calls), 1);
    assert_int_equal(atomic_load(&f->cf.score_calls), 1);
    Recsys__V1__RecommendResponse *first = NULL;
    for (int i = 0; i < N; i++) {
        assert_int_equal(c[i].status, 200);
        Recsys__V1__RecommendResponse *r =
            recsys__v1__recommend_response__unpack(NULL, c[i].body_len, (const uint8_t *)c[i].body);
        assert_non_null(r);
        assert_false(r->degraded);
        assert_false(r->cached);
        if (first == NULL) {
            first = r;
        } else {
            assert_int_equal(r->n_items, first->n_items);
            for (size_t x = 0; x < r->n_items; x++)
                assert_string_equal(r->items[x]->item_id, first->items[x]->item_id);
            recsys__v1__recommend_response__free_unpacked(r, NULL);
        }
        http_close(&c[i]);
    }
    expected_t e;
    expect_blend(f, CONTENT_SCORES, NC, CF_SCORES, NCF, NULL, &e);
    assert_answer(f, first, &e);

    Recsys__V1__RecommendResponse *again = recommend(f, NULL);
    assert_true(again->cached);
    assert_int_equal(atomic_load(&f->content.score_calls), 1);
    assert_int_equal(atomic_load(&f->cf.score_calls), 1);
    assert_int_equal(again->n_items, first->n_items);
    assert_answer(f, again, &e);
    recsys__v1__recommend_response__free_unpacked(again, NULL);
    recsys__v1__recommend_response__free_unpacked(first, NULL);
    free(c);
}

/* A cold start (an unknown user, no history): answered from popularity,
 * not degraded, fallback "popularity", no worker asked (neither can
 * answer: content knows no users, CF does not know this one), counted as
 * a cold_start fallback and not as degraded. */
static void test_cold_start(void **state)
{
    fx_t *f = *state;
    configure(f, "cold", testredis_free_port());
    start_gateway(f, true, true);
    Recsys__V1__RecommendRequest m = RECSYS__V1__RECOMMEND_REQUEST__INIT;
    m.user_id = "stranger";
    m.k = 5;
    m.explain = 1;
    Recsys__V1__RecommendResponse *r = recommend_msg(f, &m);
    assert_false(r->degraded);
    assert_int_equal(r->n_degraded_reasons, 0);
    assert_string_equal(r->fallback, "popularity");
    assert_int_equal(atomic_load(&f->content.score_calls), 0);
    assert_int_equal(atomic_load(&f->cf.score_calls), 0);
    static const char *const want[] = {"m3", "m4", "m5", "m1", "m2"};
    assert_int_equal(r->n_items, 5);
    for (size_t i = 0; i < 5; i++) {
        assert_string_equal(r->items[i]->item_id, want[i]);
        assert_string_equal(r->items[i]->explanation->model, "popularity");
    }
    recsys__v1__recommend_response__free_unpacked(r, NULL);
    assert_true(metric_value(f, "recsys_gateway_popularity_fallback_total{method=\"Recommend\",reason=\"cold_start\"}") == 1);
    assert_true(metric_value(f, "recsys_gateway_degraded_total{method=\"Recommend\"}") == 0);
    /* A known user is still personalised: both asked, no fallback. */
    r = recommend(f, NULL);
    assert_false(r->degraded);
    assert_string_equal(r->fallback, "");
    assert_int_equal(atomic_load(&f->content.score_calls), 1);
    assert_int_equal(atomic_load(&f->cf.score_calls), 1);
    recsys__v1__recommend_response__free_unpacked(r, NULL);
    /* An unknown user with a history: content is asked (CF too: the events
     * fold in). */
    Recsys__V1__HistoryEvent ev = RECSYS__V1__HISTORY_EVENT__INIT, *evp = &ev;
    ev.item_id = "m6";
    ev.rating = 4;
    m.user_id = "stranger";
    m.history = &evp;
    m.n_history = 1;
    r = recommend_msg(f, &m);
    assert_false(r->degraded);
    assert_string_equal(r->fallback, "");
    assert_int_equal(atomic_load(&f->content.score_calls), 2);
    assert_int_equal(atomic_load(&f->cf.score_calls), 2);
    recsys__v1__recommend_response__free_unpacked(r, NULL);
}

/* Negative feedback (common/data/feedback.h) is never an explanation: u1
 * rated m2 2 (negative) and m1 5. The fake content worker explains every
 * item by m2, CF by m1 except m7 by m2; the answer cites m1 or nothing,
 * never m2. A DISLIKE event in the request (m8, unrated) is negative the
 * same way. */
static void test_explanation_never_negative(void **state)
{
    fx_t *f = *state;
    configure(f, "explainneg", testredis_free_port());
    for (size_t i = 0; i < NC; i++)
        f->content.because[i] = "m2";
    for (size_t i = 0; i < NCF; i++)
        f->cf.because[i] = strcmp(CF_SCORES[i].item, "m7") == 0 ? "m2" : "m1";
    start_gateway(f, true, true);
    Recsys__V1__RecommendRequest m = RECSYS__V1__RECOMMEND_REQUEST__INIT;
    m.user_id = "u1";
    m.k = 8;
    m.explain = 1;
    Recsys__V1__RecommendResponse *r = recommend_msg(f, &m);
    assert_false(r->degraded);
    assert_true(r->n_items > 0);
    bool cited_m1 = false;
    for (size_t i = 0; i < r->n_items; i++) {
        const Recsys__V1__Explanation *e = r->items[i]->explanation;
        assert_non_null(e);
        assert_string_not_equal(e->because_item_id, "m2");
        assert_null(strstr(e->text, "Two"));
        cited_m1 = cited_m1 || strcmp(e->because_item_id, "m1") == 0;
    }
    assert_true(cited_m1); /* the positive explanation is kept */
    recsys__v1__recommend_response__free_unpacked(r, NULL);

    /* The same with m8 disliked in the request and CF explaining by m8. */
    for (size_t i = 0; i < NCF; i++)
        f->cf.because[i] = "m8";
    Recsys__V1__HistoryEvent ev = RECSYS__V1__HISTORY_EVENT__INIT, *evp = &ev;
    ev.item_id = "m8";
    ev.type = RECSYS__V1__EVENT_TYPE__EVENT_TYPE_DISLIKE;
    m.history = &evp;
    m.n_history = 1;
    r = recommend_msg(f, &m);
    for (size_t i = 0; i < r->n_items; i++) {
        const Recsys__V1__Explanation *e = r->items[i]->explanation;
        assert_string_not_equal(e->because_item_id, "m8");
        assert_string_not_equal(e->because_item_id, "m2");
        assert_string_not_equal(r->items[i]->item_id, "m8"); /* seen: excluded */
    }
    recsys__v1__recommend_response__free_unpacked(r, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fanout_and_blend, setup, teardown),
        cmocka_unit_test_setup_teardown(test_degrade_content_down, setup, teardown),
        cmocka_unit_test_setup_teardown(test_degrade_cf_down, setup, teardown),
        cmocka_unit_test_setup_teardown(test_degrade_both_down, setup, teardown),
        cmocka_unit_test_setup_teardown(test_degrade_slow_worker, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache_single_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cold_start, setup, teardown),
        cmocka_unit_test_setup_teardown(test_explanation_never_negative, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
