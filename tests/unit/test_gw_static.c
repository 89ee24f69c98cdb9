/* test_gw_static.c: the embedded web page (services/gateway/gw_static.h):
 * every file of web/ is in the table with the bytes on disk, a content
 * type by extension and a distinct quoted ETag; look-up by name; and the
 * If-None-Match matcher (strong and weak tags, lists, "*", malformed
 * headers match nothing). The wire behaviour (304, HEAD, headers) is
 * tests/integration/web_static.sh. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "services/gateway/gw_static.h"

static void test_table(void **state)
{
    (void)state;
    const char *src = getenv("RECSYS_SOURCE_DIR");
    assert_true(gw_web_nassets >= 4);
    for (size_t i = 0; i < gw_web_nassets; i++) {
        const gw_asset_t *a = &gw_web_assets[i];
        if (i > 0)
            assert_true(strcmp(gw_web_assets[i - 1].name, a->name) < 0); /* sorted, unique */
        assert_ptr_equal(gw_static_find(a->name), a);
        assert_int_equal(strlen(a->etag), 18);
        assert_int_equal(a->etag[0], '"');
        assert_int_equal(a->etag[17], '"');
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(gw_web_assets[j].etag, a->etag);
        const char *ext = strrchr(a->name, '.');
        assert_non_null(ext);
        if (!strcmp(ext, ".js"))
            assert_string_equal(a->content_type, "text/javascript; charset=utf-8");
        else if (!strcmp(ext, ".html"))
            assert_string_equal(a->content_type, "text/html; charset=utf-8");
        else if (!strcmp(ext, ".css"))
            assert_string_equal(a->content_type, "text/css; charset=utf-8");
        else if (!strcmp(ext, ".svg"))
            assert_string_equal(a->content_type, "image/svg+xml");
        if (src != NULL) {
            char path[4096];
            snprintf(path, sizeof path, "%s/web/%s", src, a->name);
            size_t n = 0;
            char *disk = testutil_read_file(path, &n);
            assert_non_null(disk);
            assert_int_equal(n, a->len);
            assert_memory_equal(disk, a->data, n);
            free(disk);
        }
    }
    assert_non_null(gw_static_find("index.html"));
    assert_non_null(gw_static_find("app.js"));
    assert_null(gw_static_find("nope.js"));
    assert_null(gw_static_find("../index.html"));
    assert_null(gw_static_find(""));
    assert_null(gw_static_find(NULL));
}

static void test_etag_match(void **state)
{
    (void)state;
    const char *e = "\"0123456789abcdef\"";
    assert_true(gw_static_etag_match("\"0123456789abcdef\"", e));
    assert_true(gw_static_etag_match("W/\"0123456789abcdef\"", e));
    assert_true(gw_static_etag_match("\"x\", \"0123456789abcdef\"", e));
    assert_true(gw_static_etag_match(" \"x\" ,W/\"0123456789abcdef\" ", e));
    assert_true(gw_static_etag_match("*", e));
    assert_false(gw_static_etag_match(NULL, e));
    assert_false(gw_static_etag_match("", e));
    assert_false(gw_static_etag_match("\"0123456789abcde\"", e));  /* a prefix */
    assert_false(gw_static_etag_match("\"0123456789abcdef0\"", e)); /* longer */
    assert_false(gw_static_etag_match("0123456789abcdef", e));     /* unquoted */
    assert_false(gw_static_etag_match("\"0123456789abcdef", e));   /* unterminated */
    assert_false(gw_static_etag_match("\"x\", junk, \"0123456789abcdef\"", e)); /* malformed list */
    assert_false(gw_static_etag_match("\"0123456789ABCDEF\"", e)); /* tags are case-sensitive */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_etag_match),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
