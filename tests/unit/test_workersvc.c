/*
 * test_workersvc.c: the worker skeleton over real nng sockets with a tiny
 * model: UNAVAILABLE before the first load, malformed and empty requests,
 * model info, SIGHUP reloads under concurrent load with no failed request,
 * a failed reload keeping the old model, SIGTERM draining to exit 0.
 */
#include "testutil.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/net/rpc.h"
#include "common/net/workersvc.h"

/* ---- a tiny model: k items "item-i" with score 1/(i+1); version "vN" ---- */

typedef struct toy {
    char version[32];
    int items;
} toy_t;

static atomic_int g_loads;

static const cfg_option_t toy_options[] = {
    {"listen", CFG_STRING, "", "rpc URL.", 0, 0},
    {"admin-port", CFG_INT, "0", "admin port.", 0, 65535},
    {"toy-items", CFG_INT, "20", "items.", 0, 0},
    {"toy-load-ms", CFG_INT, "0", "load delay.", 0, 0},
    {"toy-fail-file", CFG_STRING, "", "loads fail while this file exists.", 0, 0},
    CFG_END,
};

static void *toy_load(const cfg_t *cfg, err_t *err)
{
    usleep((useconds_t)cfg_int(cfg, "toy-load-ms") * 1000);
    const char *fail = cfg_str(cfg, "toy-fail-file");
    if (fail[0] && access(fail, F_OK) == 0) {
        err_set(err, "%s: exists, refusing to load", fail);
        return NULL;
    }
    toy_t *t = calloc(1, sizeof *t);
    t->items = (int)cfg_int(cfg, "toy-items");
    snprintf(t->version, sizeof t->version, "v%d", atomic_fetch_add(&g_loads, 1) + 1);
    return t;
}

static void toy_free(void *m) { free(m); }
static const char *toy_name(const void *m) { (void)m; return "toy"; }
static const char *toy_version(const void *m) { return ((const toy_t *)m)->version; }
static uint64_t toy_memory(const void *m) { (void)m; return sizeof(toy_t); }

static Recsys__V1__WorkerErrorCode toy_handle(const void *model, const Recsys__V1__WorkerRequest *req,
                                              Recsys__V1__WorkerReply *reply, arena_t *arena, err_t *err)
{
    const toy_t *t = model;
    if (req->body_case != RECSYS__V1__WORKER_REQUEST__BODY_SCORE) {
        err_set(err, "toy answers score requests only");
        return RECSYS__V1__WORKER_ERROR_CODE__WORKER_ERROR_CODE_NOT_FOUND;
    }
    int k = req->score->k;
    if (k <= 0 || k > t->items) {
        err_set(err, "k=%d out of range [1, %d]", k, t->items);
        return RECSYS__V1__WORKER_ERROR_CODE__WORKER_ERROR_CODE_INVALID_ARGUMENT;
    }
    usleep(200); /* long enough for requests to overlap a reload */
    Recsys__V1__WorkerScoredList *l = arena_alloc(arena, sizeof *l);
    recsys__v1__worker_scored_list__init(l);
    l->n_items = (size_t)k;
    l->items = arena_alloc(arena, sizeof *l->items * (size_t)k);
    for (int i = 0; i < k; i++) {
        Recsys__V1__WorkerScored *s = arena_alloc(arena, sizeof *s);
        recsys__v1__worker_scored__init(s);
        s->item_id = arena_printf(arena, "item-%d", i);
        s->score = 1.0f / (float)(i + 1);
        l->items[i] = s;
    }
    reply->body_case = RECSYS__V1__WORKER_REPLY__BODY_SCORED;
    reply->scored = l;
    return RECSYS__V1__WORKER_ERROR_CODE__WORKER_ERROR_CODE_NONE;
}

static void toy_info(const void *m, Recsys__V1__WorkerModelInfo *info, arena_t *arena)
{
    (void)arena;
    info->n_items = ((const toy_t *)m)->items;
}

static const workersvc_ops_t toy_ops = {
    .service = "toy", .options = toy_options, .load = toy_load, .free = toy_free, .name = toy_name,
    .version = toy_version, .handle = toy_handle, .info = toy_info, .memory = toy_memory,
};

/* ---- harness ---- */

typedef struct {
    cfg_t *cfg;
    pthread_t th;
    int rc;
    char url[512];
    char failfile[512];
} server_t;

static void *serve_thread(void *arg)
{
    server_t *s = arg;
    s->rc = workersvc_serve(&toy_ops, s->cfg);
    return NULL;
}

static void server_start(server_t *s, const char *name, const char *load_ms)
{
    char *dir = testutil_tmpdir(name);
    snprintf(s->url, sizeof s->url, "ipc://%s/w.sock", dir);
    snprintf(s->failfile, sizeof s->failfile, "%s/fail", dir);
    free(dir);
    err_t err;
    s->cfg = cfg_new("toy", NULL, NULL);
    assert_int_equal(workersvc_add_options(s->cfg, &toy_ops, &err), 0);
    char *argv[] = {"toy", NULL};
    assert_int_equal(cfg_parse(s->cfg, 1, argv, &err), 0);
    assert_int_equal(cfg_set(s->cfg, "listen", s->url, &err), 0);
    assert_int_equal(cfg_set(s->cfg, "toy-load-ms", load_ms, &err), 0);
    assert_int_equal(cfg_set(s->cfg, "toy-fail-file", s->failfile, &err), 0);
    assert_int_equal(cfg_set(s->cfg, "log-level", "warn", &err), 0);
    assert_int_equal(pthread_create(&s->th, NULL, serve_thread, s), 0);
}

static void server_stop(server_t *s)
{
    kill(getpid(), SIGTERM);
    pthread_join(s->th, NULL);
    assert_int_equal(s->rc, 0);
    cfg_free(s->cfg);
}

/* Sends raw bytes, returns the decoded reply (NULL on transport failure). */
static Recsys__V1__WorkerReply *call_raw(const char *url, const void *buf, size_t len)
{
    void *rep = NULL;
    size_t rlen = 0;
    err_t err;
    if (rpc_call_sync(url, buf, len, 2000, &rep, &rlen, &err) != 0)
        return NULL;
    Recsys__V1__WorkerReply *r = recsys__v1__worker_reply__unpack(NULL, rlen, rep);
    free(rep);
    return r;
}

static Recsys__V1__WorkerReply *call_score(const char *url, uint64_t id, int k)
{
    Recsys__V1__WorkerRequest req = RECSYS__V1__WORKER_REQUEST__INIT;
    Recsys__V1__WorkerScoreRequest sc = RECSYS__V1__WORKER_SCORE_REQUEST__INIT;
    req.request_id = id;
    req.body_case = RECSYS__V1__WORKER_REQUEST__BODY_SCORE;
    req.score = &sc;
    sc.k = k;
    uint8_t buf[256];
    size_t n = recsys__v1__worker_request__pack(&req, buf);
    return call_raw(url, buf, n);
}

static int code_of(const Recsys__V1__WorkerReply *r)
{
    return r->error ? (int)r->error->code : 0;
}

static void test_unavailable_then_ready(void **state)
{
    server_t s;
    server_start(&s, "wsvc-ready", "400");
    usleep(100 * 1000);
    Recsys__V1__WorkerReply *r = call_score(s.url, 7, 5);
    assert_non_null(r);
    assert_int_equal(code_of(r), RECSYS__V1__WORKER_ERROR_CODE__WORKER_ERROR_CODE_UNAVAILABLE);
    assert_non_null(strstr(r->error->message, "not loaded"));
    assert_int_equal(r->request_id, 7);
    recsys__v1__worker_reply__free_unpacked(r, NULL);
    usleep(600 * 1000);
    r = call_score(s.url, 8, 5);
    assert_non_null(r);
    assert_int_equal(code_of(r), 0);
    assert_int_equal(r->request_id, 8);
    assert_int_equal(r->body_case, RECSYS__V1__WORKER_REPLY__BODY_SCORED);
    assert_int_equal(r->scored->n_items, 5);
    assert_string_equal(r->scored->items[4]->item_id, "item-4");
    assert_string_equal(r->model_name, "toy");
    assert_true(r->model_version[0] == 'v');
    recsys__v1__worker_reply__free_unpacked(r, NULL);
    server_stop(&s);
}

static void test_bad_requests_and_info(void **state)
{
    server_t s;
    server_start(&s, "wsvc-bad", "0");
    usleep(200 * 1000);
    /* Not protobuf at all. */
    Recsys__V1__WorkerReply *r = call_raw(s.url, "\xff\xff\xff\xff garbage", 12);
    assert_non_null(r);
    assert_int_equal(code_of(r), RECSYS__V1__WORKER_ERROR_CODE__WORKER_ERROR_CODE_INVALID_ARGUMENT);
    assert_non_null(strstr(r->error->message, "malformed request"));
    recsys__v1__worker_reply__free_unpacked(r, NULL);
    /* A valid envelope with no body. */
    r = call_raw(s.url, "\x08\x05", 2);
    assert_non_null(r);
    assert_int_equal(r->request_id, 5);
    assert_int_equal(code_of(r), RECSYS__V1__WORKER_ERROR_CODE__WORKER_ERROR_CODE_INVALID_ARGUMENT);
    assert_non_null(strstr(r->error->message, "no body"));
    recsys__v1__worker_reply__free_unpacked(r, NULL);
    /* The model's own validation. */
    r = call_score(s.url, 9, 1000);
    assert_non_null(r);
    assert_int_equal(code_of(r), RECSYS__V1__WORKER_ERROR_CODE__WORKER_ERROR_CODE_INVALID_ARGUMENT);
    assert_non_null(strstr(r->error->message, "k=1000"));
    recsys__v1__worker_reply__free_unpacked(r, NULL);
    /* Model info, answered by the skeleton. */
    Recsys__V1__WorkerRequest req = RECSYS__V1__WORKER_REQUEST__INIT;
    Recsys__V1__WorkerInfoRequest ir = RECSYS__V1__WORKER_INFO_REQUEST__INIT;
    req.body_case = RECSYS__V1__WORKER_REQUEST__BODY_INFO;
    req.info = &ir;
    uint8_t buf[64];
    size_t n = recsys__v1__worker_request__pack(&req, buf);
    r = call_raw(s.url, buf, n);
    assert_non_null(r);
    assert_int_equal(code_of(r), 0);
    assert_int_equal(r->body_case, RECSYS__V1__WORKER_REPLY__BODY_INFO);
    assert_string_equal(r->info->model_name, "toy");
    assert_int_equal(r->info->n_items, 20);
    assert_true(r->info->loaded_at_ms > 1700000000000LL);
    recsys__v1__worker_reply__free_unpacked(r, NULL);
    server_stop(&s);
}

typedef struct {
    const char *url;
    atomic_bool *stop;
    int ok, failed;
    char last_version[32];
} client_t;

static void *client_thread(void *arg)
{
    client_t *c = arg;
    uint64_t id = 1;
    while (!atomic_load(c->stop)) {
        Recsys__V1__WorkerReply *r = call_score(c->url, id++, 10);
        if (r != NULL && code_of(r) == 0 && r->scored != NULL && r->scored->n_items == 10) {
            c->ok++;
            snprintf(c->last_version, sizeof c->last_version, "%s", r->model_version);
        } else {
            c->failed++;
        }
        if (r != NULL)
            recsys__v1__worker_reply__free_unpacked(r, NULL);
    }
    return NULL;
}

static void test_sighup_under_load_loses_nothing(void **state)
{
    server_t s;
    server_start(&s, "wsvc-hup", "50");
    usleep(300 * 1000);
    int before = atomic_load(&g_loads);
    atomic_bool stop;
    atomic_init(&stop, false);
    client_t cs[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        memset(&cs[i], 0, sizeof cs[i]);
        cs[i].url = s.url;
        cs[i].stop = &stop;
        pthread_create(&th[i], NULL, client_thread, &cs[i]);
    }
    for (int i = 0; i < 3; i++) {
        usleep(150 * 1000);
        kill(getpid(), SIGHUP);
    }
    usleep(300 * 1000);
    /* A reload that fails keeps the current model serving. */
    testutil_write_file(s.failfile, "x", 1);
    kill(getpid(), SIGHUP);
    usleep(300 * 1000);
    atomic_store(&stop, true);
    int ok = 0, failed = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        ok += cs[i].ok;
        failed += cs[i].failed;
    }
    unlink(s.failfile);
    int loads = atomic_load(&g_loads) - before;
    fprintf(stderr, "requests ok=%d failed=%d, successful reloads=%d, last version=%s\n", ok, failed, loads,
            cs[0].last_version);
    assert_int_equal(failed, 0);
    assert_true(ok > 50);
    assert_true(loads >= 1 && loads <= 3); /* SIGHUPs during a load coalesce */
    char want[32];
    snprintf(want, sizeof want, "v%d", atomic_load(&g_loads));
    assert_string_equal(cs[0].last_version, want);
    server_stop(&s);
}

static void test_first_load_failure_exits_1(void **state)
{
    server_t s;
    char *dir = testutil_tmpdir("wsvc-fail");
    snprintf(s.url, sizeof s.url, "ipc://%s/w.sock", dir);
    snprintf(s.failfile, sizeof s.failfile, "%s/fail", dir);
    free(dir);
    testutil_write_file(s.failfile, "x", 1);
    err_t err;
    s.cfg = cfg_new("toy", NULL, NULL);
    assert_int_equal(workersvc_add_options(s.cfg, &toy_ops, &err), 0);
    char *argv[] = {"toy", NULL};
    assert_int_equal(cfg_parse(s.cfg, 1, argv, &err), 0);
    cfg_set(s.cfg, "listen", s.url, &err);
    cfg_set(s.cfg, "toy-fail-file", s.failfile, &err);
    cfg_set(s.cfg, "log-level", "off", &err);
    assert_int_equal(workersvc_serve(&toy_ops, s.cfg), 1);
    cfg_free(s.cfg);
    unlink(s.failfile);
}

int main(void)
{
    atomic_init(&g_loads, 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unavailable_then_ready),
        cmocka_unit_test(test_bad_requests_and_info),
        cmocka_unit_test(test_sighup_under_load_loses_nothing),
        cmocka_unit_test(test_first_load_failure_exits_1),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
