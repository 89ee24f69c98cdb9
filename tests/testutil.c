/* testutil.c: see testutil.h. */
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "common/base/log.h"

char *testutil_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    assert_non_null(p);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

char *testutil_shared_path(const char *rel)
{
    const char *base = getenv("RECSYS_SHARED");
    if (base == NULL || base[0] == '\0')
        base = "../shared";
    char *p = testutil_join(base, rel);
    struct stat st;
    if (stat(p, &st) != 0) {
        free(p);
        return NULL;
    }
    return p;
}

char *testutil_shared_or_skip(const char *rel)
{
    char *p = testutil_shared_path(rel);
    if (p == NULL) {
        const char *base = getenv("RECSYS_SHARED");
        fprintf(stderr, "SKIP: needs shared/%s (RECSYS_SHARED=%s), which is absent\n", rel,
                base ? base : "(unset, ../shared)");
        skip();
    }
    return p;
}

static void rm_rf(const char *path)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    int rc = system(cmd);
    (void)rc;
}

char *testutil_tmpdir(const char *name)
{
    const char *base = getenv("RECSYS_TEST_TMP");
    if (base == NULL || base[0] == '\0')
        base = "/tmp/recsys-test";
    mkdir(base, 0755);
    char leaf[512];
    snprintf(leaf, sizeof leaf, "%s-%ld", name, (long)getpid());
    char *p = testutil_join(base, leaf);
    rm_rf(p);
    if (mkdir(p, 0755) != 0)
        fail_msg("mkdir %s: %s", p, strerror(errno));
    return p;
}

void testutil_write_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        fail_msg("open %s: %s", path, strerror(errno));
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

char *testutil_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    size_t got = fread(buf, 1, (size_t)n, f);
    fclose(f);
    buf[got] = '\0';
    if (len)
        *len = got;
    return buf;
}

bool testutil_uv_run_until(uv_loop_t *loop, testutil_pred_fn pred, void *arg, int timeout_ms)
{
    uv_update_time(loop);
    uint64_t end = uv_now(loop) + (uint64_t)timeout_ms;
    while (!pred(arg)) {
        if (uv_now(loop) >= end)
            return false;
        uv_run(loop, UV_RUN_ONCE);
    }
    return true;
}

void testutil_uv_run_for(uv_loop_t *loop, int ms)
{
    uv_update_time(loop);
    uint64_t end = uv_now(loop) + (uint64_t)ms;
    while (uv_now(loop) < end)
        uv_run(loop, UV_RUN_ONCE);
}

static void tick_cb(uv_timer_t *t)
{
    (void)t;
}

void testutil_uv_loop_init(uv_loop_t *loop, uv_timer_t *tick)
{
    assert_int_equal(uv_loop_init(loop), 0);
    uv_timer_init(loop, tick);
    uv_timer_start(tick, tick_cb, 2, 2);
    log_setup("test", LOG_ERROR);
}
