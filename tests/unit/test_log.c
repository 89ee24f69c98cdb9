/* test_log.c: JSON lines with levels, escaping and fields, one write per line. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/base/log.h"

/* Runs fn with stderr redirected to a pipe; returns what was written. */
static char *capture(void (*fn)(void))
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    int saved = dup(STDERR_FILENO);
    dup2(fds[1], STDERR_FILENO);
    close(fds[1]);
    fn();
    dup2(saved, STDERR_FILENO);
    close(saved);
    static char buf[65536];
    ssize_t n, total = 0;
    while ((n = read(fds[0], buf + total, sizeof buf - 1 - (size_t)total)) > 0)
        total += n;
    close(fds[0]);
    buf[total] = '\0';
    return buf;
}

static void emit_levels(void)
{
    log_setup("svc", LOG_INFO);
    log_debug("hidden %d", 1);
    log_info("hello \"%s\"\n", "world");
    log_error("bad\tthing");
}

static void test_levels_and_escaping(void **state)
{
    char *out = capture(emit_levels);
    assert_null(strstr(out, "hidden"));
    assert_non_null(strstr(out, "\"level\":\"info\",\"service\":\"svc\",\"msg\":\"hello \\\"world\\\"\\n\"}\n"));
    assert_non_null(strstr(out, "\"level\":\"error\",\"service\":\"svc\",\"msg\":\"bad\\tthing\"}\n"));
    assert_int_equal(strncmp(out, "{\"ts\":\"", 7), 0);
}

static void emit_kv(void)
{
    log_setup("gw", LOG_DEBUG);
    log_kv(LOG_WARN, "listening", "port", "8080", "host", "127.0.0.1", "ok", "true", "ratio", "0.5",
           "zip", "007", "none", NULL, NULL);
}

static void test_fields(void **state)
{
    char *out = capture(emit_kv);
    assert_non_null(strstr(out, "\"msg\":\"listening\",\"port\":8080,\"host\":\"127.0.0.1\",\"ok\":true,"
                                "\"ratio\":0.5,\"zip\":\"007\",\"none\":null}\n"));
}

static void test_level_parse(void **state)
{
    log_level_t lv;
    assert_int_equal(log_level_parse("WARN", &lv), 0);
    assert_int_equal(lv, LOG_WARN);
    assert_int_equal(log_level_parse("warning", &lv), 0);
    assert_int_equal(log_level_parse("loud", &lv), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_levels_and_escaping),
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_level_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
