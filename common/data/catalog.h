/*
 * catalog.h: the items of a dataset and everything known about each.
 *
 * Items have dense indices 0..n-1 (insertion order) and an external id
 * (string, through an idmap). Per item: title, year (0 = unknown), overview,
 * genres (interned genre ids in the order given, plus a 64-bit mask of the
 * first 64 genre ids for fast filtering), three ordered string lists
 * (directors, cast in billing order, keywords), user tags with their counts
 * (MovieLens tags.csv/tags.dat), external links (IMDb, TMDB), TMDB vote
 * statistics, and rating statistics once ratings are known.
 *
 * All strings are UTF-8 (loaders convert) and live in one arena; accessors
 * return pointers into it, valid while the catalog lives and no string is
 * added. An absent string reads as "".
 *
 * Building: catalog_add_item(), then setters and list appends in any order
 * (several files may each contribute to an item's lists), then
 * catalog_finish() once, which sorts the appended list entries into
 * per-item lists (keeping the order in which they were appended for each
 * item) and merges repeated tags into (tag, count). List accessors need a
 * finished catalog; list appends after catalog_finish() fail.
 */
#ifndef RECSYS_COMMON_CATALOG_H
#define RECSYS_COMMON_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/base/err.h"
#include "common/data/idmap.h"

typedef struct catalog catalog_t;

typedef enum {
    CATALOG_DIRECTORS = 0,
    CATALOG_CAST,
    CATALOG_KEYWORDS,
    CATALOG_NLISTS
} catalog_list_t;

typedef enum { CATALOG_MATCH_PREFIX = 0, CATALOG_MATCH_SUBSTRING } catalog_match_t;

catalog_t *catalog_new(void);
void catalog_free(catalog_t *c);

/* ---- building ---- */

/* Adds an item with external id id[0..len) (non-empty). -1 when the id is
 * already present ("duplicate item id 'X'") or out of memory. */
int catalog_add_item(catalog_t *c, const char *id, size_t len, uint32_t *out, err_t *err);
int catalog_set_title(catalog_t *c, uint32_t item, const char *s, size_t len);
int catalog_set_overview(catalog_t *c, uint32_t item, const char *s, size_t len);
void catalog_set_year(catalog_t *c, uint32_t item, int year);
/* Interns a genre name (no item), giving it the next genre id if new:
 * ml-100k declares its genres up front in u.genre order. */
int catalog_intern_genre(catalog_t *c, const char *name, size_t len, uint32_t *out);
/* Gives the item a genre (by name or id); a genre the item has is not repeated. */
int catalog_add_genre(catalog_t *c, uint32_t item, const char *name, size_t len);
int catalog_add_genre_id(catalog_t *c, uint32_t item, uint32_t genre);
/* Appends a string to one of the item's ordered lists. */
int catalog_list_append(catalog_t *c, uint32_t item, catalog_list_t list, const char *s,
                        size_t len);
/* One tag application (tags.csv row); repeats of a tag on an item are counted. */
int catalog_add_tag(catalog_t *c, uint32_t item, const char *s, size_t len);
/* 0 = unknown. */
void catalog_set_links(catalog_t *c, uint32_t item, int64_t imdb_id, int64_t tmdb_id);
void catalog_set_votes(catalog_t *c, uint32_t item, float average, uint32_t count,
                       float popularity);
/* Sorts appended list entries into per-item lists; call once, after the last append. */
int catalog_finish(catalog_t *c, err_t *err);
/* Per-item rating count and mean from parallel arrays of n (item, rating). */
int catalog_set_rating_stats(catalog_t *c, const uint32_t *items, const float *ratings,
                             size_t n);

/* ---- queries ---- */

uint32_t catalog_size(const catalog_t *c);
/* Dense index of an external id, or IDMAP_NONE. */
uint32_t catalog_find(const catalog_t *c, const char *id, size_t len);
const idmap_t *catalog_ids(const catalog_t *c);
const char *catalog_id(const catalog_t *c, uint32_t item);
const char *catalog_title(const catalog_t *c, uint32_t item);
const char *catalog_overview(const catalog_t *c, uint32_t item);
int catalog_year(const catalog_t *c, uint32_t item);

uint32_t catalog_ngenres(const catalog_t *c);
const char *catalog_genre_name(const catalog_t *c, uint32_t genre);
/* Genre id of a name (exact), or IDMAP_NONE. */
uint32_t catalog_genre_find(const catalog_t *c, const char *name, size_t len);
/* Bit g set when the item has genre g (only genres 0..63 appear here). */
uint64_t catalog_genre_mask(const catalog_t *c, uint32_t item);
uint32_t catalog_item_ngenres(const catalog_t *c, uint32_t item);
uint32_t catalog_item_genre(const catalog_t *c, uint32_t item, uint32_t k);

uint32_t catalog_list_len(const catalog_t *c, uint32_t item, catalog_list_t list);
const char *catalog_list_at(const catalog_t *c, uint32_t item, catalog_list_t list, uint32_t k);
const char *catalog_list_name(catalog_list_t list); /* "directors", "cast", "keywords" */

/* Distinct tags of the item, in order of first application; *count (optional)
 * gets how many times it was applied. */
uint32_t catalog_ntags(const catalog_t *c, uint32_t item);
const char *catalog_tag(const catalog_t *c, uint32_t item, uint32_t k, uint32_t *count);
/* Tag applications and distinct tag strings over the whole catalog. */
uint64_t catalog_tag_applications(const catalog_t *c);

int64_t catalog_imdb_id(const catalog_t *c, uint32_t item);
int64_t catalog_tmdb_id(const catalog_t *c, uint32_t item);
float catalog_vote_average(const catalog_t *c, uint32_t item);
uint32_t catalog_vote_count(const catalog_t *c, uint32_t item);
float catalog_popularity(const catalog_t *c, uint32_t item);
/* From catalog_set_rating_stats(); 0 when not set. */
uint32_t catalog_rating_count(const catalog_t *c, uint32_t item);
float catalog_rating_mean(const catalog_t *c, uint32_t item);
bool catalog_has_rating_stats(const catalog_t *c);

/* Items whose title starts with / contains the query, case-insensitively
 * (Unicode lower-casing, as Python's str.lower()), in index order. Writes at
 * most max indices and returns how many matched in all. */
size_t catalog_search(const catalog_t *c, const char *query, catalog_match_t mode,
                      uint32_t *out, size_t max);

/* Year at the end of a MovieLens title: "Heat (1995)" -> 1995; also
 * "(2006-2007)" / "(2006–2007)" / "(2006– )" -> 2006, trailing spaces allowed.
 * 0 when there is none. */
int catalog_title_year(const char *title, size_t len);

size_t catalog_memory(const catalog_t *c);

#endif
