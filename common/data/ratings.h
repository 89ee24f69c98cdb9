/*
 * ratings.h: a struct-of-arrays store of (user, item, rating, timestamp).
 *
 * Users are dense indices from a user idmap (the store borrows the map, so
 * a train and a test file can share one user index space); items are dense
 * indices of the catalog. Arrays are exposed read-only for tight loops.
 *
 * Memory: 4 + 4 + 4 bytes per rating plus the timestamp, kept as uint32 while
 * every timestamp fits 0..2^32-1 (all Unix times up to 2106, which is every
 * MovieLens release) and widened to int64 the first time one does not.
 * 25M ratings thus take 400 MB. Files without timestamps take 12 bytes.
 */
#ifndef RECSYS_COMMON_RATINGS_H
#define RECSYS_COMMON_RATINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/data/idmap.h"

typedef struct ratings {
    size_t n, cap;
    uint32_t *user;
    uint32_t *item;
    float *value;
    uint32_t *ts32; /* timestamps while all fit in uint32 ... */
    int64_t *ts64;  /* ... or all of them, once one did not */
    bool has_ts;
    float min, max; /* over value; 0, 0 when empty */
    idmap_t *users; /* user external ids (borrowed unless owns_users) */
    bool owns_users;
} ratings_t;

/* users NULL: the store makes and owns its own map. with_ts: keep timestamps. */
ratings_t *ratings_new(idmap_t *users, bool with_ts);
void ratings_free(ratings_t *r);
/* Appends one rating; -1 when out of memory (or past 2^32-1 ratings). */
int ratings_add(ratings_t *r, uint32_t user, uint32_t item, float value, int64_t ts);
/* Makes room for at least cap ratings in all (-1 when out of memory). */
int ratings_reserve(ratings_t *r, size_t cap);
/* Timestamp of rating i (0 when the store keeps none). */
int64_t ratings_ts(const ratings_t *r, size_t i);
/* Gives back unused capacity. */
void ratings_shrink(ratings_t *r);
/* Looks for a (user, item) pair rated twice in linear time. Returns 1 and
 * the two rating indices (first < second, second the smallest such) when
 * there is one, 0 when there is none, -1 when out of memory. */
int ratings_find_duplicate(const ratings_t *r, size_t *first, size_t *second);
/* Distinct users and items that occur (not the sizes of the id spaces). */
uint32_t ratings_count_users(const ratings_t *r);
uint32_t ratings_count_items(const ratings_t *r);
size_t ratings_memory(const ratings_t *r);

#endif
