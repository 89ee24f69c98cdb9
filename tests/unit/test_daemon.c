/*
 * test_daemon.c: the daemon skeleton (common/net/daemon.h) with a trivial
 * service: the admin port answers /healthz, /readyz follows the service and
 * turns 503 while draining, /metrics shows the service's metrics, SIGHUP
 * calls the reload hook, SIGTERM runs the service's stop (asynchronously)
 * before the loop ends with exit status 0; a failed start exits 1, and
 * daemon_shutdown's code is the exit status. The command line: --help,
 * RECSYS_* variables, bad options, stray arguments and checks.
 */
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <uv.h>

#include "common/base/log.h"
#include "common/net/daemon.h"

/* ---- a trivial service: ready when told, a slow stop, counts its hooks ---- */

typedef struct toy {
    atomic_int admin_port; /* set by start */
    atomic_bool ready;
    atomic_int reloads;
    atomic_int stop_called, stop_done, cleanups;
    int seq, stop_seq, cleanup_seq; /* the order hooks ran in (loop thread) */
    bool fail_start;
    int shutdown_code; /* > 0: start asks daemon_shutdown(code) from a timer */
    uv_timer_t timer;
    daemon_t *d;
    daemon_stopped_fn stopped;
    metrics_counter_t *reload_counter;
} toy_t;

static const cfg_option_t toy_options[] = {
    {"admin-host", CFG_STRING, "127.0.0.1", "admin host.", 0, 0},
    {"admin-port", CFG_INT, "0", "admin port.", 0, 65535},
    CFG_END,
};

static void on_shutdown_timer(uv_timer_t *t)
{
    toy_t *toy = t->data;
    uv_close((uv_handle_t *)&toy->timer, NULL);
    daemon_shutdown(toy->d, toy->shutdown_code);
}

static int toy_start(daemon_t *d, void *ud, err_t *err)
{
    toy_t *toy = ud;
    toy->d = d;
    if (toy->fail_start)
        return err_set(err, "toy refuses to start");
    toy->reload_counter =
        metrics_counter_new(daemon_metrics(d), "toy_reloads_total", "Reload hooks run.", err);
    if (toy->reload_counter == NULL)
        return -1;
    uv_timer_init(daemon_loop(d), &toy->timer);
    toy->timer.data = toy;
    if (toy->shutdown_code > 0)
        uv_timer_start(&toy->timer, on_shutdown_timer, 20, 0);
    atomic_store(&toy->admin_port, daemon_admin_port(d));
    return 0;
}

/* The stop completes 300 ms later, on the loop: the drain waits for it. */
static void on_stop_timer(uv_timer_t *t)
{
    toy_t *toy = t->data;
    toy->stop_seq = ++toy->seq;
    atomic_store(&toy->stop_done, 1);
    uv_close((uv_handle_t *)&toy->timer, NULL);
    toy->stopped(toy->d);
}

static void toy_stop(daemon_t *d, void *ud, daemon_stopped_fn stopped)
{
    toy_t *toy = ud;
    assert_true(daemon_stopping(d));
    atomic_fetch_add(&toy->stop_called, 1);
    if (toy->fail_start || toy->shutdown_code > 0) {
        toy->stop_seq = ++toy->seq;
        atomic_store(&toy->stop_done, 1);
        stopped(d);
        return;
    }
    toy->stopped = stopped;
    uv_timer_start(&toy->timer, on_stop_timer, 300, 0);
}

static bool toy_ready(daemon_t *d, void *ud, char *reason, size_t size)
{
    (void)d;
    toy_t *toy = ud;
    if (!atomic_load(&toy->ready)) {
        snprintf(reason, size, "toy not ready");
        return false;
    }
    return true;
}

static void toy_reload(daemon_t *d, void *ud)
{
    (void)d;
    toy_t *toy = ud;
    metrics_counter_inc(toy->reload_counter);
    atomic_fetch_add(&toy->reloads, 1);
}

static void toy_cleanup(daemon_t *d, void *ud)
{
    (void)d;
    toy_t *toy = ud;
    toy->cleanup_seq = ++toy->seq;
    atomic_fetch_add(&toy->cleanups, 1);
}

static const daemon_service_t toy_service = {
    .name = "toy",
    .start = toy_start,
    .stop = toy_stop,
    .ready = toy_ready,
    .reload = toy_reload,
    .cleanup = toy_cleanup,
};

/* ---- harness: the daemon on its own thread ---- */

typedef struct {
    cfg_t *cfg;
    toy_t toy;
    pthread_t th;
    int rc;
} server_t;

static cfg_t *toy_cfg(void)
{
    err_t err;
    cfg_t *cfg = cfg_new("toy", NULL, NULL);
    assert_int_equal(cfg_add(cfg, "toy", toy_options, &err), 0);
    assert_int_equal(cfg_add(cfg, "log", log_options, &err), 0);
    char *argv[] = {"toy", NULL};
    assert_int_equal(cfg_parse(cfg, 1, argv, &err), 0);
    assert_int_equal(cfg_set(cfg, "log-level", "warn", &err), 0);
    return cfg;
}

static void *serve_thread(void *arg)
{
    server_t *s = arg;
    s->rc = daemon_serve(&toy_service, s->cfg, &s->toy);
    return NULL;
}

static void server_start(server_t *s)
{
    memset(s, 0, sizeof *s);
    s->cfg = toy_cfg();
    s->rc = -1;
    assert_int_equal(pthread_create(&s->th, NULL, serve_thread, s), 0);
    for (int i = 0; i < 500 && atomic_load(&s->toy.admin_port) <= 0; i++)
        usleep(10 * 1000);
    assert_true(atomic_load(&s->toy.admin_port) > 0);
}

/* GET path on 127.0.0.1:port; returns the status (-1: no answer) and the
 * body in body[size]. */
static int http_get(int port, const char *path, char *body, size_t size)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    char req[256];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", path);
    assert_int_equal(write(fd, req, (size_t)n), n);
    static char buf[65536];
    size_t len = 0;
    ssize_t r;
    while (len < sizeof buf - 1 && (r = read(fd, buf + len, sizeof buf - 1 - len)) > 0)
        len += (size_t)r;
    close(fd);
    buf[len] = '\0';
    int status = -1;
    if (sscanf(buf, "HTTP/1.1 %d", &status) != 1)
        return -1;
    const char *b = strstr(buf, "\r\n\r\n");
    snprintf(body, size, "%s", b ? b + 4 : "");
    return status;
}

static bool wait_for(atomic_int *v, int want)
{
    for (int i = 0; i < 500; i++) {
        if (atomic_load(v) >= want)
            return true;
        usleep(10 * 1000);
    }
    return false;
}

/* ---- tests ---- */

static void test_admin_ready_reload_and_drain(void **state)
{
    (void)state;
    server_t s;
    server_start(&s);
    int port = atomic_load(&s.toy.admin_port);
    static char body[65536];

    assert_int_equal(http_get(port, "/healthz", body, sizeof body), 200);
    /* Readiness follows the service. */
    assert_int_equal(http_get(port, "/readyz", body, sizeof body), 503);
    assert_non_null(strstr(body, "toy not ready"));
    atomic_store(&s.toy.ready, true);
    assert_int_equal(http_get(port, "/readyz", body, sizeof body), 200);

    /* SIGHUP: the reload hook, visible in the service's own metric. */
    kill(getpid(), SIGHUP);
    assert_true(wait_for(&s.toy.reloads, 1));
    kill(getpid(), SIGHUP);
    assert_true(wait_for(&s.toy.reloads, 2));
    assert_int_equal(http_get(port, "/metrics", body, sizeof body), 200);
    assert_non_null(strstr(body, "toy_reloads_total 2"));
    assert_non_null(strstr(body, "process_start_time_seconds"));

    /* SIGTERM: the service's stop runs; while it drains the admin port still
     * answers, /readyz says draining; then the loop ends with 0. */
    kill(getpid(), SIGTERM);
    assert_true(wait_for(&s.toy.stop_called, 1));
    assert_int_equal(atomic_load(&s.toy.stop_done), 0);
    assert_int_equal(http_get(port, "/healthz", body, sizeof body), 200);
    assert_int_equal(http_get(port, "/readyz", body, sizeof body), 503);
    assert_non_null(strstr(body, "draining"));
    pthread_join(s.th, NULL);
    assert_int_equal(s.rc, 0);
    assert_int_equal(atomic_load(&s.toy.stop_called), 1);
    assert_int_equal(atomic_load(&s.toy.stop_done), 1);
    assert_int_equal(atomic_load(&s.toy.cleanups), 1);
    assert_true(s.toy.stop_seq < s.toy.cleanup_seq);
    /* The admin port is closed. */
    assert_int_equal(http_get(port, "/healthz", body, sizeof body), -1);
    cfg_free(s.cfg);
}

static void test_sigint_drains_too(void **state)
{
    (void)state;
    server_t s;
    server_start(&s);
    kill(getpid(), SIGINT);
    pthread_join(s.th, NULL);
    assert_int_equal(s.rc, 0);
    assert_int_equal(atomic_load(&s.toy.stop_done), 1);
    assert_int_equal(atomic_load(&s.toy.reloads), 0);
    cfg_free(s.cfg);
}

static void test_failed_start_exits_1(void **state)
{
    (void)state;
    server_t s;
    memset(&s, 0, sizeof s);
    s.cfg = toy_cfg();
    err_t err;
    cfg_set(s.cfg, "log-level", "off", &err);
    s.toy.fail_start = true;
    assert_int_equal(daemon_serve(&toy_service, s.cfg, &s.toy), 1);
    /* stop and cleanup still run after a failed start. */
    assert_int_equal(atomic_load(&s.toy.stop_called), 1);
    assert_int_equal(atomic_load(&s.toy.cleanups), 1);
    cfg_free(s.cfg);
}

static void test_admin_port_taken_exits_1(void **state)
{
    (void)state;
    /* Hold a port, then ask the daemon to use it: start() never runs. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 1), 0);
    socklen_t al = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &al);
    char port[16];
    snprintf(port, sizeof port, "%d", ntohs(a.sin_port));
    server_t s;
    memset(&s, 0, sizeof s);
    s.cfg = toy_cfg();
    err_t err;
    cfg_set(s.cfg, "log-level", "off", &err);
    assert_int_equal(cfg_set(s.cfg, "admin-port", port, &err), 0);
    assert_int_equal(daemon_serve(&toy_service, s.cfg, &s.toy), 1);
    assert_null(s.toy.d);
    assert_int_equal(atomic_load(&s.toy.stop_called), 0);
    assert_int_equal(atomic_load(&s.toy.cleanups), 0);
    close(fd);
    cfg_free(s.cfg);
}

static void test_shutdown_code_is_exit_status(void **state)
{
    (void)state;
    server_t s;
    memset(&s, 0, sizeof s);
    s.cfg = toy_cfg();
    s.toy.shutdown_code = 3;
    assert_int_equal(daemon_serve(&toy_service, s.cfg, &s.toy), 3);
    assert_int_equal(atomic_load(&s.toy.stop_called), 1);
    assert_int_equal(atomic_load(&s.toy.cleanups), 1);
    cfg_free(s.cfg);
}

/* ---- the command line ---- */

static int g_run_n = -1;

static const cfg_option_t cmd_options[] = {
    {"n", CFG_INT, "1", "a number.", 0, 100},
    {"need", CFG_STRING, "", "required by check.", 0, 0},
    CFG_END,
};

static const daemon_section_t cmd_sections[] = {{"cmd", cmd_options}, DAEMON_SECTIONS_END};

static int cmd_check(const cfg_t *cfg, err_t *err)
{
    if (cfg_str(cfg, "need")[0] == '\0')
        return err_set(err, "--need is required");
    return 0;
}

static int cmd_run(const cfg_t *cfg)
{
    assert_true(cfg_has(cfg, "log-level")); /* added by the skeleton */
    g_run_n = (int)cfg_int(cfg, "n");
    return 7;
}

static const daemon_command_t cmds[] = {
    {.name = "go", .what = "runs", .usage = "[options]", .summary = "Test command.", .sections = cmd_sections,
     .check = cmd_check, .run = cmd_run},
};
static const daemon_program_t prog = {.name = "recsys-test", .service = "test", .commands = cmds, .ncommands = 1};

static int run_main(int argc, char **argv)
{
    g_run_n = -1;
    return daemon_main(&prog, argc, argv);
}

static void test_command_line(void **state)
{
    (void)state;
    {
        char *argv[] = {"recsys-test", "go", "--need=x", "--n=5", "--log-level=off", NULL};
        assert_int_equal(run_main(5, argv), 7);
        assert_int_equal(g_run_n, 5);
    }
    {
        setenv("RECSYS_N", "9", 1);
        char *argv[] = {"recsys-test", "go", "--need=x", "--log-level=off", NULL};
        assert_int_equal(run_main(4, argv), 7);
        assert_int_equal(g_run_n, 9);
        unsetenv("RECSYS_N");
    }
    {
        char *argv[] = {"recsys-test", "go", "--help", NULL};
        assert_int_equal(run_main(3, argv), 0);
        assert_int_equal(g_run_n, -1);
    }
    {
        char *argv[] = {"recsys-test", "--help", NULL};
        assert_int_equal(run_main(2, argv), 0);
    }
    {
        char *argv[] = {"recsys-test", "go", "--need=x", "--n=500", NULL}; /* out of range */
        assert_int_equal(run_main(4, argv), 2);
        assert_int_equal(g_run_n, -1);
    }
    {
        char *argv[] = {"recsys-test", "go", "--need=x", "stray", NULL};
        assert_int_equal(run_main(4, argv), 2);
    }
    {
        char *argv[] = {"recsys-test", "go", "--n=2", NULL}; /* check fails */
        assert_int_equal(run_main(3, argv), 2);
        assert_int_equal(g_run_n, -1);
    }
    {
        char *argv[] = {"recsys-test", "go", "--need=x", "--log-level=loud", NULL};
        assert_int_equal(run_main(4, argv), 2);
    }
    {
        char *argv[] = {"recsys-test", "nope", NULL};
        assert_int_equal(run_main(2, argv), 2);
        char *argv2[] = {"recsys-test", NULL};
        assert_int_equal(run_main(1, argv2), 2);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_admin_ready_reload_and_drain),
        cmocka_unit_test(test_sigint_drains_too),
        cmocka_unit_test(test_failed_start_exits_1),
        cmocka_unit_test(test_admin_port_taken_exits_1),
        cmocka_unit_test(test_shutdown_code_is_exit_status),
        cmocka_unit_test(test_command_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
