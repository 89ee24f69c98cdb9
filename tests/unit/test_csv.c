/* test_csv.c: the delimited-text reader: quoting, line ends, separators, errors. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/data/csv.h"

/* Reads all rows of data and renders them as "a|b|c\n" per row, with each
 * field in brackets, so a test compares one string. */
static char *render(const char *data, size_t len, const csv_opts_t *opts, err_t *err, int *rc)
{
    csv_reader_t *r = csv_open_buffer("t.csv", data, len, opts, err);
    assert_non_null(r);
    size_t cap = 4096, n = 0;
    char *out = calloc(1, cap);
    while ((*rc = csv_next(r, err)) == 1) {
        for (size_t i = 0; i < csv_nfields(r); i++) {
            csv_field_t f = csv_field(r, i);
            assert_true(n + f.len + 8 < cap);
            n += (size_t)snprintf(out + n, cap - n, "%s[%.*s]", i ? "," : "", (int)f.len, f.ptr);
        }
        n += (size_t)snprintf(out + n, cap - n, "@%llu\n", (unsigned long long)csv_line(r));
    }
    csv_close(r);
    return out;
}

static void check(const char *data, const csv_opts_t *opts, const char *want)
{
    err_t err;
    int rc;
    char *got = render(data, strlen(data), opts, &err, &rc);
    if (rc != 0)
        fail_msg("unexpected error: %s", err.msg);
    assert_string_equal(got, want);
    free(got);
}

static void check_err(const char *data, const csv_opts_t *opts, const char *want)
{
    err_t err;
    int rc;
    char *got = render(data, strlen(data), opts, &err, &rc);
    free(got);
    assert_int_equal(rc, -1);
    assert_string_equal(err.msg, want);
}

static void test_plain_rows(void **state)
{
    check("a,b,c\n1,2,3\n", NULL, "[a],[b],[c]@1\n[1],[2],[3]@2\n");
    /* last line without a newline */
    check("a,b\n1,2", NULL, "[a],[b]@1\n[1],[2]@2\n");
    /* empty fields, trailing separator */
    check(",x,,\n", NULL, "[],[x],[],[]@1\n");
    check("a,", NULL, "[a],[]@1\n");
    check("", NULL, "");
}

static void test_line_ends(void **state)
{
    check("a,b\r\n1,2\r\n", NULL, "[a],[b]@1\n[1],[2]@2\n");
    check("a,b\r\n1,2", NULL, "[a],[b]@1\n[1],[2]@2\n");
    check("a,b\r\n1,2\r", NULL, "[a],[b]@1\n[1],[2]@2\n");
    /* bare CR outside quotes (not before LF) is data */
    check("a\rb,c\n", NULL, "[a\rb],[c]@1\n");
    /* blank lines: trailing ones and middle ones are skipped, lines still count */
    check("a\n\n", NULL, "[a]@1\n");
    check("a\n\nb\n\r\n\nc\n\n\n", NULL, "[a]@1\n[b]@3\n[c]@6\n");
    check("\n\na", NULL, "[a]@3\n");
}

static void test_quotes(void **state)
{
    check("\"a,b\",c\n", NULL, "[a,b],[c]@1\n");
    check("\"say \"\"hi\"\"\",x\n", NULL, "[say \"hi\"],[x]@1\n");
    check("\"\",\"\"\"\"\n", NULL, "[],[\"]@1\n");
    check("\"x\"\r\n\"y\"", NULL, "[x]@1\n[y]@2\n");
    check("\"x\"\r", NULL, "[x]@1\n");
    /* bare CR inside quotes is data (TMDB overviews) */
    check("1,\"one\rtwo\",3\n4,5,6\n", NULL, "[1],[one\rtwo],[3]@1\n[4],[5],[6]@2\n");
    /* LF and CRLF inside quotes are data; the next row's line number follows */
    check("\"a\nb\",\"c\r\nd\"\nz\n", NULL, "[a\nb],[c\r\nd]@1\n[z]@4\n");
    /* several doubled quotes in one row, slices stay valid together */
    check("\"a\"\"\",\"b\"\"\"\"c\",\"\"\"\"\n", NULL, "[a\"],[b\"\"c],[\"]@1\n");
}

static void test_separators(void **state)
{
    csv_opts_t dat = {"::", true};
    check("1::Toy Story (1995)::Animation|Children's\n2::\"Quoted\" Title::Drama\n", &dat,
          "[1],[Toy Story (1995)],[Animation|Children's]@1\n[2],[\"Quoted\" Title],[Drama]@2\n");
    /* a single ':' is data; an empty last field */
    check("a:b::c::\n", &dat, "[a:b],[c],[]@1\n");
    csv_opts_t tab = {"\t", true};
    check("196\t242\t3\t881250949\n", &tab, "[196],[242],[3],[881250949]@1\n");
    csv_opts_t pipe = {"|", true};
    check("unknown|0\nAction|1\n\n", &pipe, "[unknown],[0]@1\n[Action],[1]@2\n");
    csv_opts_t tabq = {"\t", false};
    check("\"a\tb\"\tc\n", &tabq, "[a\tb],[c]@1\n");
}

static void test_errors(void **state)
{
    check_err("a,b\n\"open,c\nd\n", NULL, "t.csv:2: unterminated quoted field (opened here)");
    check_err("a,b\nx\"y,z\n", NULL, "t.csv:2: stray quote in unquoted field");
    check_err("a\n\"q\"x,1\n", NULL, "t.csv:2: unexpected 'x' after closing quote");
    check_err("\"q\nr\"\x01\n", NULL, "t.csv:2: unexpected byte 0x01 after closing quote");
    check_err("\"a\"\"\n", NULL, "t.csv:1: unterminated quoted field (opened here)");

    err_t err;
    csv_reader_t *r = csv_open_buffer("ratings.csv", "u,i,r,t\n1,2,3\n", 14, NULL, &err);
    assert_int_equal(csv_next(r, &err), 1);
    assert_int_equal(csv_expect(r, 4, &err), 0);
    assert_int_equal(csv_next(r, &err), 1);
    assert_int_equal(csv_expect(r, 4, &err), -1);
    assert_string_equal(err.msg, "ratings.csv:2: expected 4 fields, found 3");
    assert_int_equal(csv_error(r, &err, "bad rating '%s'", "x"), -1);
    assert_string_equal(err.msg, "ratings.csv:2: bad rating 'x'");
    assert_int_equal(csv_next(r, &err), 0);
    assert_int_equal(csv_rows(r), 2);
    csv_close(r);

    csv_opts_t bad = {"", false};
    assert_null(csv_open_buffer("x", "", 0, &bad, &err));
    csv_opts_t badq = {"\"", false};
    assert_null(csv_open_buffer("x", "", 0, &badq, &err));
}

static void test_files(void **state)
{
    char *dir = testutil_tmpdir("csv");
    char *p = testutil_join(dir, "f.csv");
    const char data[] = "h1,h2\r\n\"x,1\",y\r\n";
    testutil_write_file(p, data, sizeof data - 1);
    err_t err;
    csv_reader_t *r = csv_open_file(p, "f.csv", NULL, &err);
    assert_non_null(r);
    assert_int_equal(csv_next(r, &err), 1);
    assert_true(csv_field_is(csv_field(r, 1), "h2"));
    assert_int_equal(csv_next(r, &err), 1);
    assert_true(csv_field_is(csv_field(r, 0), "x,1"));
    assert_int_equal(csv_line(r), 2);
    assert_int_equal(csv_next(r, &err), 0);
    csv_close(r);

    char *empty = testutil_join(dir, "empty.csv");
    testutil_write_file(empty, "", 0);
    r = csv_open_file(empty, NULL, NULL, &err);
    assert_non_null(r);
    assert_int_equal(csv_next(r, &err), 0);
    csv_close(r);

    char *missing = testutil_join(dir, "nope.csv");
    assert_null(csv_open_file(missing, "nope.csv", NULL, &err));
    assert_string_equal(err.msg, "nope.csv: No such file or directory");
    assert_null(csv_open_file(dir, "dir", NULL, &err));
    assert_string_equal(err.msg, "dir: not a regular file");
    free(missing);
    free(empty);
    free(p);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_rows), cmocka_unit_test(test_line_ends),
        cmocka_unit_test(test_quotes),     cmocka_unit_test(test_separators),
        cmocka_unit_test(test_errors),     cmocka_unit_test(test_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
