/* test_config.c: option tables, flags, environment, errors, help. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "common/base/config.h"
#include "common/base/log.h"

static const cfg_option_t opts[] = {
    {"http-port", CFG_INT, "8080", "Port.", 1, 65535},
    {"name", CFG_STRING, "abc", "A name.", 0, 0},
    {"ratio", CFG_DOUBLE, "0.5", "A ratio.", 0, 1},
    {"verbose", CFG_BOOL, NULL, "Chatty.", 0, 0},
    CFG_END,
};

static cfg_t *make(void)
{
    err_t err;
    cfg_t *c = cfg_new("prog", "[options]", "Test program.");
    assert_non_null(c);
    assert_int_equal(cfg_add(c, "test", opts, &err), 0);
    assert_int_equal(cfg_add(c, "log", log_options, &err), 0);
    return c;
}

static void test_defaults(void **state)
{
    cfg_t *c = make();
    err_t err;
    char *argv[] = {"prog", NULL};
    unsetenv("RECSYS_HTTP_PORT");
    assert_int_equal(cfg_parse(c, 1, argv, &err), 0);
    assert_int_equal(cfg_int(c, "http-port"), 8080);
    assert_string_equal(cfg_str(c, "name"), "abc");
    assert_true(cfg_double(c, "ratio") == 0.5);
    assert_false(cfg_bool(c, "verbose"));
    assert_string_equal(cfg_source(c, "http-port"), "default");
    cfg_free(c);
}

static void test_env_and_flags(void **state)
{
    cfg_t *c = make();
    err_t err;
    setenv("RECSYS_HTTP_PORT", "9000", 1);
    setenv("RECSYS_NAME", "fromenv", 1);
    char *argv[] = {"prog", "serve", "--name=fromflag", "--verbose", "--ratio", "0.25", "extra", NULL};
    assert_int_equal(cfg_parse(c, 7, argv, &err), 0);
    assert_int_equal(cfg_int(c, "http-port"), 9000);
    assert_string_equal(cfg_source(c, "http-port"), "env");
    assert_string_equal(cfg_str(c, "name"), "fromflag");
    assert_true(cfg_bool(c, "verbose"));
    assert_true(cfg_double(c, "ratio") == 0.25);
    assert_int_equal(cfg_nargs(c), 2);
    assert_string_equal(cfg_arg(c, 0), "serve");
    assert_string_equal(cfg_arg(c, 1), "extra");
    unsetenv("RECSYS_HTTP_PORT");
    unsetenv("RECSYS_NAME");
    cfg_free(c);
}

static void test_errors(void **state)
{
    err_t err;
    struct { const char *arg; const char *want; } cases[] = {
        {"--http-port=abc", "--http-port=abc: not an integer"},
        {"--http-port=70000", "out of range"},
        {"--ratio=2", "out of range"},
        {"--ratio=x", "not a number"},
        {"--verbose=maybe", "not a boolean"},
        {"--nope=1", "unknown option --nope"},
        {"-x", "unknown option -x"},
        {"--name", "needs a value"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cfg_t *c = make();
        char *argv[] = {"prog", (char *)cases[i].arg, NULL};
        assert_int_equal(cfg_parse(c, 2, argv, &err), -1);
        if (strstr(err.msg, cases[i].want) == NULL)
            fail_msg("%s: got '%s', want '%s'", cases[i].arg, err.msg, cases[i].want);
        cfg_free(c);
    }
    cfg_t *c = make();
    setenv("RECSYS_HTTP_PORT", "0x10", 1);
    char *argv[] = {"prog", NULL};
    assert_int_equal(cfg_parse(c, 1, argv, &err), -1);
    assert_non_null(strstr(err.msg, "RECSYS_HTTP_PORT=0x10"));
    unsetenv("RECSYS_HTTP_PORT");
    cfg_free(c);
}

static void test_negation_and_duplicates(void **state)
{
    err_t err;
    cfg_t *c = make();
    char *argv[] = {"prog", "--verbose", "--no-verbose", NULL};
    assert_int_equal(cfg_parse(c, 3, argv, &err), 0);
    assert_false(cfg_bool(c, "verbose"));
    assert_int_equal(cfg_add(c, "again", opts, &err), -1);
    assert_non_null(strstr(err.msg, "declared twice"));
    cfg_free(c);
}

static void test_help_lists_everything(void **state)
{
    cfg_t *c = make();
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cfg_print_help(c, f);
    fclose(f);
    assert_non_null(strstr(buf, "--http-port=INT  (RECSYS_HTTP_PORT, default: 8080"));
    assert_non_null(strstr(buf, "--verbose=BOOL  (RECSYS_VERBOSE, default: false"));
    assert_non_null(strstr(buf, "--log-level=STRING  (RECSYS_LOG_LEVEL, default: info"));
    free(buf);
    f = open_memstream(&buf, &len);
    cfg_print_markdown(c, f);
    fclose(f);
    assert_non_null(strstr(buf, "| `--ratio` | `RECSYS_RATIO` | NUMBER | `0.5` |"));
    free(buf);
    cfg_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_env_and_flags),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_negation_and_duplicates),
        cmocka_unit_test(test_help_lists_everything),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
