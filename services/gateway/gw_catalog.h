/*
 * gw_catalog.h: what the gateway knows of the dataset by itself.
 *
 * The gateway loads the same --data directory as the workers (catalog and
 * ratings, through common/data/dataset.h) rather than asking the content worker:
 * GetItem, SearchItems, titles/years/genres of every answer, the check that
 * ids exist, the popularity fallback (common/data/popularity.h, count of
 * ratings) and each known user's rated items (to exclude them from the
 * popularity fallback and to know a history's length) then cost no RPC, and
 * they keep working with both workers down.
 *
 * Filters (proto Filters) are compiled once per request into a filter_t
 * (common/wire/filter.h, the same predicate the workers apply): genre
 * names resolve in the catalog (an unknown genre is an error), and the
 * excluded items are the explicit excludes plus, unless include_seen, the
 * user's rated items and the request's history.
 */
#ifndef RECSYS_GATEWAY_GW_CATALOG_H
#define RECSYS_GATEWAY_GW_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/base/arena.h"
#include "common/wire/filter.h"
#include "common/data/catalog.h"
#include "common/data/dataset.h"
#include "common/base/err.h"
#include "common/data/popularity.h"
#include "recsys/v1/recommender.pb-c.h"

typedef struct gw_catalog {
    dataset_t *ds;
    const catalog_t *cat;
    popularity_t *pop;    /* NULL without ratings */
    uint32_t *pop_order;  /* items by popularity, best first */
    float *pop_score;     /* [n] popularity score (rating count) */
    uint32_t nusers;
    size_t *user_off;     /* [nusers + 1] CSR over user_items */
    uint32_t *user_items; /* each user's rated items, sorted */
    float *user_values;   /* the ratings, parallel to user_items */
    char pop_version[48]; /* "count-<nratings>-<crc>" */
    bool scale_negatives; /* the stored ratings' scale has negative ratings
                           * (common/data/feedback.h, feedback_scale_has_negatives
                           * of their maximum): false for implicit data (all 1),
                           * whose stored values are never evidence against */
} gw_catalog_t;

/* Loads path with opts (common/data/dataset.h); without ratings the popularity is
 * all zero (items in catalog order). */
int gw_catalog_load(const char *path, const dataset_opts_t *opts, gw_catalog_t **out, err_t *err);
void gw_catalog_free(gw_catalog_t *c);

uint32_t gw_catalog_size(const gw_catalog_t *c);
/* Dense index of an item id, or UINT32_MAX. */
uint32_t gw_catalog_find(const gw_catalog_t *c, const char *id);
/* A known user's rated items (sorted); 0 items for an unknown user. */
size_t gw_catalog_user_items(const gw_catalog_t *c, const char *user_id, const uint32_t **items);
/* The same with the ratings (parallel to *items). */
size_t gw_catalog_user_ratings(const gw_catalog_t *c, const char *user_id, const uint32_t **items,
                               const float **values);

/* Fills a proto Item for item i (strings point into the catalog; arrays
 * from the arena). */
int gw_catalog_item(const gw_catalog_t *c, uint32_t i, Recsys__V1__Item *out, arena_t *a);

/* Compiles f (may be NULL) plus extra excluded items (e.g. the history)
 * into out (common/wire/filter.h), resolving names in the catalog,
 * allocated from a. -1 with err (unknown genre, year_min > year_max, ...).
 * Unknown exclude ids are ignored (they cannot be returned). */
int gw_filter_compile(const gw_catalog_t *c, const Recsys__V1__Filters *f, const uint32_t *extra,
                      size_t nextra, filter_t *out, arena_t *a, err_t *err);
/* Whether item passes f, with its catalog genres and year. */
bool gw_filter_pass(const gw_catalog_t *c, const filter_t *f, uint32_t item);

/* Writes up to max items passing f by popularity, best first; returns the
 * count. */
size_t gw_catalog_popular(const gw_catalog_t *c, const filter_t *f, uint32_t *out, size_t max);

#endif
