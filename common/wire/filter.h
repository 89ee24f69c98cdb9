/*
 * filter.h: the request filter (proto recsys.v1.Filters: genres, year range,
 * excluded ids, include_seen), compiled once per request and applied by the
 * gateway and both workers through the same predicate.
 *
 * Compiling resolves names through the caller's own look-ups (the gateway's
 * catalog, a worker's model): genre names to a mask of the first 64 genres
 * (matched case-insensitively), item ids to indices. Every rule lives here:
 *   - an item passes when it has any of the genres (no genres: any item),
 *     its year lies in [year_min, year_max] (0: open bound; with a bound
 *     set, an item of unknown year, 0, fails), and it is not excluded;
 *   - unknown exclude ids are ignored (they cannot be returned anyway);
 *   - an unknown genre name is an error where the caller says so (the
 *     public API, strict_genres), and otherwise matches nothing (a worker
 *     whose model predates the catalog): when no given name is known, no
 *     item passes (f->nothing);
 *   - negative years, year_min after year_max, lists over their limits,
 *     empty genre names and strings over max_str are errors naming the
 *     field.
 */
#ifndef RECSYS_WIRE_FILTER_H
#define RECSYS_WIRE_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/base/arena.h"
#include "common/base/err.h"
#include "recsys/v1/recommender.pb-c.h"

/* Genres a filter can name (bits of an item's genre mask). */
#define FILTER_MAX_GENRE_IDS 64
#define FILTER_NO_ITEM UINT32_MAX

typedef struct filter {
    uint64_t genre_mask;    /* any of these genres; 0: no genre condition */
    bool nothing;           /* genre names given, none known: no item passes */
    int year_min, year_max; /* inclusive; 0: open */
    uint32_t *excluded;     /* sorted, unique item indices */
    size_t nexcluded;
    bool include_seen;      /* the request allows items of its history */
} filter_t;

/* Where names resolve, and the limits of the caller. */
typedef struct filter_src {
    /* Genre id of name (case-insensitive), or -1 when unknown. NULL: no
     * genre is known (every name is unknown). */
    int (*genre_find)(const void *ctx, const char *name);
    /* Item index of id, or FILTER_NO_ITEM. */
    uint32_t (*item_find)(const void *ctx, const char *id);
    const void *ctx;
    bool strict_genres; /* an unknown genre name is an error */
    size_t max_genres;  /* 0: FILTER_MAX_GENRE_IDS */
    size_t max_exclude; /* 0: no limit */
    size_t max_str;     /* longest genre name or id in bytes; 0: no limit */
} filter_src_t;

/* Compiles pf (NULL: no filter) into out, with extra item indices excluded
 * besides the request's own (the caller decides, e.g. the history unless
 * include_seen). Arrays come from a. 0, or -1 with err. */
int filter_compile(const Recsys__V1__Filters *pf, const filter_src_t *src, const uint32_t *extra, size_t nextra,
                   filter_t *out, arena_t *a, err_t *err);

/* Whether the filter has a genre or year condition (or matches nothing). */
static inline bool filter_has_attrs(const filter_t *f)
{
    return f->nothing || f->genre_mask != 0 || f->year_min != 0 || f->year_max != 0;
}

/* The attribute part of the predicate: an item of these genres and year. */
static inline bool filter_attrs_pass(const filter_t *f, uint64_t genre_mask, int year)
{
    if (f->nothing)
        return false;
    if (f->genre_mask != 0 && (genre_mask & f->genre_mask) == 0)
        return false;
    if (f->year_min != 0 || f->year_max != 0) {
        if (year == 0 || (f->year_min != 0 && year < f->year_min) || (f->year_max != 0 && year > f->year_max))
            return false;
    }
    return true;
}

/* Whether item is excluded (binary search). */
bool filter_excludes(const filter_t *f, uint32_t item);

/* The whole predicate. */
static inline bool filter_pass(const filter_t *f, uint32_t item, uint64_t genre_mask, int year)
{
    return filter_attrs_pass(f, genre_mask, year) && !filter_excludes(f, item);
}

/* Sets the excluded items below n in a bitmap (common/math/topk.h). */
void filter_exclude_bits(const filter_t *f, uint64_t *bits, size_t n);

/* The attribute predicate as a top-k keep callback over per-item arrays
 * (genre masks, years): ctx points to a filter_keep_t. */
typedef struct filter_keep {
    const filter_t *f;
    const uint64_t *genre_mask; /* NULL: every item has no genre */
    const int32_t *year;        /* NULL: every year unknown */
} filter_keep_t;
int filter_keep(uint32_t item, void *ctx);

#endif
