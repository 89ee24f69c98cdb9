/* test_histmerge.c: the events of a history that count (common/data/histmerge.h):
 * the latest explicit event of an item wins over implicit events before and
 * after it, a stored rating beats implicit events, an unrated item takes its
 * latest implicit event; compared with a brute-force reading of the rule on
 * random histories. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "common/data/histmerge.h"

static bool stored_even(const void *ctx, uint32_t item)
{
    (void)ctx;
    return item % 2 == 0;
}

static void pick(const uint32_t *items, const bool *ex, size_t n, histmerge_stored_fn stored, uint8_t *keep,
                 size_t want_kept)
{
    uint64_t scratch[64];
    assert_true(n <= 64);
    assert_int_equal(histmerge_pick(items, ex, n, stored, NULL, scratch, keep), want_kept);
}

static void test_rule(void **state)
{
    (void)state;
    uint8_t keep[16];
    /* item 7: implicit, explicit, implicit, explicit, implicit: the second
     * explicit (position 3) wins; item 9: implicit twice: the later. */
    const uint32_t items[] = {7, 7, 9, 7, 7, 9, 7};
    const bool ex[] = {false, true, false, false, true, false, false};
    pick(items, ex, 7, NULL, keep, 2);
    const uint8_t want[] = {0, 0, 0, 0, 1, 1, 0};
    assert_memory_equal(keep, want, 7);

    /* stored ratings (even items): implicit events of 4 count for nothing,
     * an explicit one replaces the stored rating; 5 is not stored. */
    const uint32_t it2[] = {4, 5, 4, 6, 6};
    const bool ex2[] = {false, false, false, false, true};
    pick(it2, ex2, 5, stored_even, keep, 2);
    const uint8_t want2[] = {0, 1, 0, 0, 1};
    assert_memory_equal(keep, want2, 5);

    /* nothing, and one event */
    assert_int_equal(histmerge_pick(NULL, NULL, 0, NULL, NULL, NULL, NULL), 0);
    const uint32_t one = 3;
    const bool f = false;
    pick(&one, &f, 1, NULL, keep, 1);
    assert_int_equal(keep[0], 1);
    pick(&one, &f, 1, stored_even, keep, 1); /* 3 odd: not stored */
    const uint32_t two = 2;
    pick(&two, &f, 1, stored_even, keep, 0);
    assert_int_equal(keep[0], 0);

    assert_true(histmerge_is_explicit(0.5f));
    assert_false(histmerge_is_explicit(0.0f));
    assert_true(histmerge_replaces(false, false));
    assert_true(histmerge_replaces(true, true));
    assert_false(histmerge_replaces(true, false));
}

/* The rule read literally: for each item, the last explicit event; else
 * nothing when stored; else the last implicit event. */
static void brute(const uint32_t *items, const bool *ex, size_t n, bool (*stored)(const void *, uint32_t),
                  uint8_t *keep)
{
    memset(keep, 0, n);
    for (size_t i = 0; i < n; i++) {
        bool first = true; /* i is the first event of its item */
        for (size_t j = 0; j < i; j++)
            first = first && items[j] != items[i];
        if (!first)
            continue;
        long last_ex = -1, last_im = -1;
        for (size_t j = 0; j < n; j++)
            if (items[j] == items[i]) {
                if (ex[j])
                    last_ex = (long)j;
                else
                    last_im = (long)j;
            }
        if (last_ex >= 0)
            keep[last_ex] = 1;
        else if (!(stored && stored(NULL, items[i])) && last_im >= 0)
            keep[last_im] = 1;
    }
}

static void test_random_against_brute_force(void **state)
{
    (void)state;
    srand(12345);
    for (int round = 0; round < 2000; round++) {
        size_t n = (size_t)(rand() % 40);
        uint32_t items[64];
        bool ex[64];
        for (size_t i = 0; i < n; i++) {
            items[i] = (uint32_t)(rand() % 8) * 1000003u; /* large keys too */
            ex[i] = rand() % 3 == 0;
        }
        histmerge_stored_fn stored = round % 2 ? stored_even : NULL;
        uint8_t got[64], want[64];
        uint64_t scratch[64];
        size_t kept = histmerge_pick(items, ex, n, stored, NULL, scratch, got);
        brute(items, ex, n, stored, want);
        size_t nwant = 0;
        for (size_t i = 0; i < n; i++)
            nwant += want[i];
        assert_int_equal(kept, nwant);
        if (n)
            assert_memory_equal(got, want, n);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rule),
        cmocka_unit_test(test_random_against_brute_force),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
