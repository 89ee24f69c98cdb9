/* test_parallel.c: common/base/parallel.h (every item exactly once, thread
 * indexes below the thread count, parts run once each, a failing item stops
 * the loop with its message) and common/base/clock.h (monotonic clocks
 * agree and move forward; the wall clock is the epoch's; timed-wait
 * deadlines lie ahead). */
#include "testutil.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/base/clock.h"
#include "common/base/parallel.h"

typedef struct count_job {
    atomic_uint *hits;
    unsigned threads;
    atomic_uint bad_thread;
    uint32_t fail_at; /* UINT32_MAX: never */
} count_job_t;

static int count_one(uint32_t i, unsigned t, void *ctx)
{
    count_job_t *j = ctx;
    if (t >= j->threads)
        atomic_fetch_add(&j->bad_thread, 1);
    atomic_fetch_add(&j->hits[i], 1);
    return i == j->fail_at ? -1 : 0;
}

static void test_for_every_item_once(void **state)
{
    (void)state;
    const uint32_t sizes[] = {0, 1, 15, 16, 17, 1000, 100003};
    const unsigned threads[] = {0, 1, 2, 7, 300};
    for (size_t a = 0; a < sizeof sizes / sizeof *sizes; a++) {
        for (size_t b = 0; b < sizeof threads / sizeof *threads; b++) {
            uint32_t n = sizes[a];
            atomic_uint *hits = calloc(n ? n : 1, sizeof *hits);
            assert_non_null(hits);
            unsigned eff = threads[b] < 1 ? 1 : threads[b] > PARALLEL_MAX_THREADS ? PARALLEL_MAX_THREADS : threads[b];
            count_job_t j = {.hits = hits, .threads = eff, .fail_at = UINT32_MAX};
            err_t err = {0};
            assert_int_equal(parallel_for(n, threads[b], count_one, &j, &err), 0);
            for (uint32_t i = 0; i < n; i++)
                assert_int_equal(atomic_load(&hits[i]), 1);
            assert_int_equal(atomic_load(&j.bad_thread), 0);
            free(hits);
        }
    }
}

static int fail_with_message(uint32_t i, unsigned t, void *ctx)
{
    (void)t;
    err_t *err = ctx;
    if (i == 40)
        return err_set(err, "item %u is broken", i);
    return 0;
}

static void test_for_failure_stops(void **state)
{
    (void)state;
    /* One thread: the loop stops at the failing item. */
    atomic_uint hits[1000] = {0};
    count_job_t j = {.hits = hits, .threads = 1, .fail_at = 100};
    err_t err = {0};
    assert_int_equal(parallel_for(1000, 1, count_one, &j, &err), -1);
    assert_string_equal(err.msg, "parallel: a worker failed");
    assert_int_equal(atomic_load(&hits[100]), 1);
    assert_int_equal(atomic_load(&hits[999]), 0);
    /* fn's own message is kept. */
    err_t e2 = {0};
    assert_int_equal(parallel_for(100000, 4, fail_with_message, &e2, &e2), -1);
    assert_string_equal(e2.msg, "item 40 is broken");
}

typedef struct run_job {
    atomic_uint calls[8];
    atomic_uint total;
} run_job_t;

static void run_part(void *ctx, unsigned t)
{
    run_job_t *j = ctx;
    atomic_fetch_add(&j->calls[t], 1);
    atomic_fetch_add(&j->total, 1);
}

static void test_run_each_part_once(void **state)
{
    (void)state;
    for (unsigned threads = 0; threads <= 8; threads++) {
        run_job_t j;
        memset(&j, 0, sizeof j);
        parallel_run(threads, run_part, &j);
        unsigned parts = threads < 1 ? 1 : threads;
        assert_int_equal(atomic_load(&j.total), parts);
        for (unsigned t = 0; t < parts; t++)
            assert_int_equal(atomic_load(&j.calls[t]), 1);
    }
}

static void test_clock(void **state)
{
    (void)state;
    uint64_t us0 = clock_mono_us();
    int64_t ms0 = clock_mono_ms();
    double s0 = clock_mono_sec();
    usleep(20000);
    uint64_t us1 = clock_mono_us();
    int64_t ms1 = clock_mono_ms();
    double s1 = clock_mono_sec();
    assert_true(us1 - us0 >= 19000);
    assert_true(ms1 - ms0 >= 19);
    assert_true(s1 - s0 >= 0.019);
    /* The three monotonic readings are the same clock in different units. */
    assert_true(llabs((long long)(us1 / 1000) - (long long)ms1) <= 5);
    assert_true(llabs((long long)(s1 * 1e3) - (long long)ms1) <= 5);
    /* Wall clock: after 2026-01-01 and close to time(). */
    int64_t wall = clock_wall_ms();
    assert_true(wall > 1767225600000LL);
    assert_true(llabs(wall / 1000 - (long long)time(NULL)) <= 2);
    struct timespec d = clock_wall_after(1500);
    int64_t dms = (int64_t)d.tv_sec * 1000 + d.tv_nsec / 1000000;
    assert_true(d.tv_nsec >= 0 && d.tv_nsec < 1000000000L);
    assert_true(dms - wall >= 1490 && dms - wall <= 2500);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_for_every_item_once),
        cmocka_unit_test(test_for_failure_stops),
        cmocka_unit_test(test_run_each_part_once),
        cmocka_unit_test(test_clock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
