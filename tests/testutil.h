/*
 * testutil.h: helpers shared by the cmocka unit tests.
 *
 * cmocka needs <stdarg.h>, <stddef.h>, <stdint.h> and <setjmp.h> before
 * <cmocka.h>; including this header gives all of them.
 */
#ifndef RECSYS_TESTUTIL_H
#define RECSYS_TESTUTIL_H

#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* ../shared (RECSYS_SHARED) joined with rel, or NULL when that path does not
 * exist; the caller frees. Tests that need shared data call
 * testutil_shared_or_skip(), which prints why and skips the test. */
char *testutil_shared_path(const char *rel);
char *testutil_shared_or_skip(const char *rel);

/* A fresh empty directory for this test under RECSYS_TEST_TMP (or /tmp);
 * the caller frees the returned path. */
char *testutil_tmpdir(const char *name);

/* Writes a whole file (creating it); fails the test on error. */
void testutil_write_file(const char *path, const char *data, size_t len);
/* Reads a whole file into a NUL-terminated buffer; NULL if missing. */
char *testutil_read_file(const char *path, size_t *len);
/* Joins a directory and a name into a new string. */
char *testutil_join(const char *dir, const char *name);

/* Runs loop one iteration at a time until pred(arg) holds (true) or
 * timeout_ms passes (false). */
struct uv_loop_s;
typedef bool (*testutil_pred_fn)(void *arg);
bool testutil_uv_run_until(struct uv_loop_s *loop, testutil_pred_fn pred, void *arg, int timeout_ms);
/* Runs loop for ms milliseconds. */
void testutil_uv_run_for(struct uv_loop_s *loop, int ms);
/* Initialises loop with tick, a 2 ms repeating timer that keeps it turning
 * so run_until sees its predicate change, and test logging at error level:
 * the fixture of every test driving a libuv loop. Close tick at teardown. */
struct uv_timer_s;
void testutil_uv_loop_init(struct uv_loop_s *loop, struct uv_timer_s *tick);

#endif
