/* test_filter.c: common/wire/filter.h, the one request filter of the gateway
 * and both workers: compiling (names through the caller's look-ups, strict
 * and lenient genres, limits, errors naming the field, excluded items sorted
 * and unique with the extra ones) and the predicate (genres any-of, year
 * bounds with unknown years, exclusion, "nothing"), directly, as a top-k keep
 * callback and as a bitmap. */
#include "testutil.h"

#include <string.h>
#include <strings.h>

#include "common/math/topk.h"
#include "common/wire/filter.h"

static const char *const genre_names[] = {"Action", "Comedy", "Drama"};
static const char *const item_ids[] = {"a", "b", "c", "d", "e"};

static int genre_find(const void *ctx, const char *name)
{
    (void)ctx;
    for (int g = 0; g < 3; g++)
        if (strcasecmp(genre_names[g], name) == 0)
            return g;
    if (strcmp(name, "Far") == 0)
        return 64; /* a catalog with more than 64 genres */
    return -1;
}

static uint32_t item_find(const void *ctx, const char *id)
{
    (void)ctx;
    for (uint32_t i = 0; i < 5; i++)
        if (strcmp(item_ids[i], id) == 0)
            return i;
    return FILTER_NO_ITEM;
}

static filter_src_t src(bool strict)
{
    return (filter_src_t){.genre_find = genre_find, .item_find = item_find, .strict_genres = strict,
                          .max_genres = 4, .max_exclude = 6, .max_str = 8};
}

static int compile(Recsys__V1__Filters *pf, bool strict, const uint32_t *extra, size_t nextra, filter_t *f,
                   arena_t *a, err_t *err)
{
    filter_src_t s = src(strict);
    memset(err, 0, sizeof *err);
    return filter_compile(pf, &s, extra, nextra, f, a, err);
}

static void test_compile(void **state)
{
    (void)state;
    arena_t a;
    arena_init(&a);
    err_t err;
    filter_t f;

    /* No message: no condition, nothing excluded but the extras. */
    uint32_t extra[] = {3, 1, 3};
    assert_int_equal(compile(NULL, true, extra, 3, &f, &a, &err), 0);
    assert_false(filter_has_attrs(&f));
    assert_int_equal(f.nexcluded, 2);
    assert_int_equal(f.excluded[0], 1);
    assert_int_equal(f.excluded[1], 3);

    Recsys__V1__Filters pf = RECSYS__V1__FILTERS__INIT;
    char *g[] = {"comedy", "DRAMA"};
    char *ex[] = {"e", "zz", "", "b", "e"};
    pf.genres = g;
    pf.n_genres = 2;
    pf.exclude_item_ids = ex;
    pf.n_exclude_item_ids = 5;
    pf.year_min = 1990;
    pf.include_seen = true;
    assert_int_equal(compile(&pf, true, extra, 1, &f, &a, &err), 0);
    assert_int_equal(f.genre_mask, 6);
    assert_false(f.nothing);
    assert_int_equal(f.year_min, 1990);
    assert_int_equal(f.year_max, 0);
    assert_true(f.include_seen);
    /* Unknown and empty ids ignored, duplicates merged, extras kept. */
    assert_int_equal(f.nexcluded, 3);
    assert_int_equal(f.excluded[0], 1);
    assert_int_equal(f.excluded[1], 3);
    assert_int_equal(f.excluded[2], 4);

    /* Unknown genre: an error where strict, "nothing" otherwise. */
    char *unk[] = {"Western"};
    pf.genres = unk;
    pf.n_genres = 1;
    assert_int_equal(compile(&pf, true, NULL, 0, &f, &a, &err), -1);
    assert_string_equal(err.msg, "filters.genres[0]: unknown genre 'Western'");
    assert_int_equal(compile(&pf, false, NULL, 0, &f, &a, &err), 0);
    assert_true(f.nothing);
    assert_true(filter_has_attrs(&f));
    char *some[] = {"Western", "action"};
    pf.genres = some;
    pf.n_genres = 2;
    assert_int_equal(compile(&pf, false, NULL, 0, &f, &a, &err), 0);
    assert_false(f.nothing);
    assert_int_equal(f.genre_mask, 1);

    /* Errors name the field. */
    struct {
        int year_min, year_max;
        size_t ngenres, nex;
        char *genre;
        const char *msg;
    } bad[] = {
        {-1, 0, 0, 0, NULL, "filters: negative year (year_min=-1, year_max=0)"},
        {2000, 1990, 0, 0, NULL, "filters: year_min 2000 is after year_max 1990"},
        {0, 0, 5, 0, "Action", "filters.genres: 5 entries, at most 4 allowed"},
        {0, 0, 0, 7, NULL, "filters.exclude_item_ids: 7 entries, at most 6 allowed"},
        {0, 0, 1, 0, "", "filters.genres[0]: empty"},
        {0, 0, 1, 0, "Adventure", "filters.genres[0]: longer than 8 bytes"},
        {0, 0, 1, 0, "Far", "filters.genres[0]: genre 'Far' is past the first 64 genres, which filters can name"},
    };
    char *many[7];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        Recsys__V1__Filters b = RECSYS__V1__FILTERS__INIT;
        b.year_min = bad[i].year_min;
        b.year_max = bad[i].year_max;
        for (size_t j = 0; j < 7; j++)
            many[j] = bad[i].genre ? bad[i].genre : "a";
        b.genres = many;
        b.n_genres = bad[i].ngenres;
        b.exclude_item_ids = many;
        b.n_exclude_item_ids = bad[i].nex;
        assert_int_equal(compile(&b, false, NULL, 0, &f, &a, &err), -1);
        assert_string_equal(err.msg, bad[i].msg);
    }
    char *longid[] = {"123456789"};
    Recsys__V1__Filters b = RECSYS__V1__FILTERS__INIT;
    b.exclude_item_ids = longid;
    b.n_exclude_item_ids = 1;
    assert_int_equal(compile(&b, false, NULL, 0, &f, &a, &err), -1);
    assert_string_equal(err.msg, "filters.exclude_item_ids[0]: longer than 8 bytes");
    arena_free(&a);
}

static void test_predicate(void **state)
{
    (void)state;
    uint32_t ex[] = {2, 7};
    filter_t none = {0};
    assert_true(filter_pass(&none, 2, 0, 0));

    filter_t f = {.genre_mask = 1u << 1 | 1u << 2, .year_min = 1990, .year_max = 1999, .excluded = ex, .nexcluded = 2};
    assert_true(filter_pass(&f, 0, 1u << 2, 1995));
    assert_true(filter_pass(&f, 0, 1u << 0 | 1u << 1, 1990));
    assert_true(filter_pass(&f, 0, 1u << 1, 1999));
    assert_false(filter_pass(&f, 0, 1u << 0, 1995));     /* none of the genres */
    assert_false(filter_pass(&f, 0, 0, 1995));           /* no genre at all */
    assert_false(filter_pass(&f, 0, 1u << 1, 1989));     /* before */
    assert_false(filter_pass(&f, 0, 1u << 1, 2000));     /* after */
    assert_false(filter_pass(&f, 0, 1u << 1, 0));        /* unknown year with a bound */
    assert_false(filter_pass(&f, 2, 1u << 1, 1995));     /* excluded */
    assert_false(filter_pass(&f, 7, 1u << 1, 1995));
    assert_true(filter_pass(&f, 3, 1u << 1, 1995));

    filter_t open_max = {.year_min = 2000};
    assert_true(filter_pass(&open_max, 0, 0, 2024));
    assert_false(filter_pass(&open_max, 0, 0, 0));
    filter_t nothing = {.nothing = true};
    assert_false(filter_pass(&nothing, 0, ~0ull, 2000));

    /* The same answers as a top-k keep callback over per-item arrays. */
    uint64_t masks[4] = {1u << 1, 1u << 0, 1u << 2, 1u << 1};
    int32_t years[4] = {1995, 1995, 1980, 0};
    filter_keep_t k = {&f, masks, years};
    int want[4] = {1, 0, 0, 0};
    for (uint32_t i = 0; i < 4; i++)
        assert_int_equal(filter_keep(i, &k), want[i]);
    filter_keep_t no_arrays = {&open_max, NULL, NULL};
    assert_int_equal(filter_keep(0, &no_arrays), 0);

    /* Exclusion as a bitmap, indices past n ignored. */
    uint64_t bits[1] = {0};
    filter_exclude_bits(&f, bits, 5);
    assert_true(topk_bitmap_test(bits, 2));
    assert_false(topk_bitmap_test(bits, 3));
    assert_int_equal(bits[0], 1u << 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compile),
        cmocka_unit_test(test_predicate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
