/*
 * dataset.h: loading a ratings dataset and its catalog, whatever its layout.
 *
 * dataset_load() looks at the files in a directory (or at a single CSV
 * file), picks the layout and loads the catalog, the ratings and whatever
 * else the layout has (tags, links, credits). Every file is read with the
 * csv reader, so a malformed row is an error naming the file and its line,
 * e.g. "ratings.csv:1042: expected 4 fields, found 3".
 *
 * Layouts (first match wins, in this order):
 *
 *  ml-100k    u.item (+ u.data, u.genre): MovieLens 100K. u.data is
 *             "user<TAB>item<TAB>rating<TAB>timestamp", no header; u.item is
 *             '|'-separated with 24 fields (id, title, release date, video
 *             date, IMDb URL, 19 genre flags whose names are the lines of
 *             u.genre in order). Titles are Latin-1 and come out as UTF-8.
 *             Duplicated titles stay distinct items. The split files (ua.base,
 *             u1.test, ...) have u.data's format: dataset_load_ratings_file().
 *  ml-dat     movies.dat (+ ratings.dat, tags.dat): MovieLens 1M / 10M,
 *             "::"-separated, no header, no quoting.
 *  ml-csv     movies.csv (+ ratings.csv, tags.csv, links.csv): MovieLens
 *             latest / latest-small / 20M / 25M, RFC 4180 CSV with header.
 *  tmdb-5000  tmdb_5000_movies.csv (+ tmdb_5000_credits.csv): Kaggle TMDB
 *             5000; catalog only (no ratings). Genres and keywords are JSON
 *             arrays of {"id","name"}; credits give cast (sorted by "order")
 *             and directors (crew with job "Director", in file order).
 *  plain      ratings.csv without movies.csv, or a path to one CSV file: the
 *             project's own format (below).
 *
 * Rules common to all layouts:
 *  - Text files are decoded per file: a file that is valid UTF-8 is kept,
 *    any other is read as Latin-1 and converted (ml-100k u.item, ml-1m
 *    movies.dat).
 *  - A title's year is the "(1995)" at its end (also "(2006-2007)" ->
 *    2006); ml-100k falls back to the release date, TMDB uses release_date,
 *    plain uses its year column. 0 means unknown.
 *  - MovieLens "(no genres listed)" is not a genre: such an item has no
 *    genres (so ml-latest-small has 19 genres, 34 items without one).
 *    ml-100k's "unknown" is a genre because u.genre declares it.
 *  - Each rated item must be in the item file: "u.data:7: unknown item id
 *    '1700'". A (user, item) pair rated twice is an error naming both lines.
 *    Users are the ones that rated (tags.csv users are not added).
 *  - A missing ratings file is an error, unless opts.allow_missing_ratings:
 *    then the catalog loads alone, ds->ratings is NULL and ds->ratings_note
 *    says why (the shared ml-1m copy has no ratings.dat).
 *
 * Joining TMDB 5000 (opts.tmdb, the --tmdb option): a MovieLens ml-csv
 * dataset with links.csv gets, for each item whose tmdbId is the id of a
 * record of the TMDB directory's tmdb_5000_movies.csv, that record's
 * overview (replacing none: MovieLens has no overview), keywords, vote
 * average / count / popularity, and its year when the MovieLens title has
 * none; with tmdb_5000_credits.csv also its cast (billing order, max_cast)
 * and directors. Without the credits file the items get no cast or
 * director (there is nothing else to take them from). The MovieLens id,
 * title and genres stay: TMDB genres are not added (the two genre
 * vocabularies differ, and MovieLens genres are what filters and the
 * evaluation use).
 *  - An item without a tmdbId, or whose tmdbId is not in the TMDB file,
 *    keeps its MovieLens data unchanged.
 *  - A TMDB id that several items link to (ml-latest-small: 4912, movieIds
 *    6003 and 144606, the same film listed twice) is joined to each.
 *  - TMDB records no item links to are not added: the catalog is the
 *    MovieLens one.
 *  - Malformed TMDB input is an error naming the directory, the file and
 *    the line ("tmdb /d: tmdb_5000_movies.csv:12: keywords: not a JSON
 *    array"), as is a missing tmdb_5000_movies.csv.
 *  - Any other layout (ml-100k, ml-dat, tmdb-5000, plain), or ml-csv
 *    without links.csv, is an error: it has no tmdbId to join on, and a
 *    join asked for but silently skipped would leave a model believed to
 *    have the metadata without it.
 * ds->tmdb holds the join statistics (matched items, share of ratings
 * covered); dataset_load logs them in one line ("tmdb join").
 *
 * The plain format (CSV, RFC 4180, UTF-8, LF or CRLF, one header row):
 *
 *  ratings.csv  header names the columns, in any order:
 *                 user_id (or user)   any non-empty string
 *                 item_id (or item)   any non-empty string
 *                 rating              a decimal number (e.g. 4, 3.5, 0.25)
 *                 timestamp           optional; integer seconds (may be < 0)
 *               Any other column name is an error.
 *  items.csv    optional, in the same directory; header names the columns,
 *               in any order, from:
 *                 item_id   required, unique, non-empty
 *                 title     required
 *                 year      integer or empty (empty: the "(1995)" at the
 *                           end of the title, else 0)
 *                 overview  free text
 *                 genres, directors, cast, keywords, tags
 *                           multi-valued: values separated by '|', kept in
 *                           order; empty values are dropped
 *               Any other column name is an error. Every rated item must
 *               appear. Without items.csv each rated item becomes an item
 *               whose title is its id, in order of first appearance.
 *  Example:
 *    items.csv:   item_id,title,year,genres,directors,cast,keywords,overview
 *                 m1,Heat,1995,Action|Crime,Michael Mann,Al Pacino|Robert De Niro,heist,"A thief, a cop."
 *    ratings.csv: user_id,item_id,rating,timestamp
 *                 u1,m1,4.5,1700000000
 */
#ifndef RECSYS_COMMON_DATASET_H
#define RECSYS_COMMON_DATASET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/data/catalog.h"
#include "common/base/config.h"
#include "common/base/err.h"
#include "common/data/idmap.h"
#include "common/data/ratings.h"

typedef enum {
    DATASET_NONE = 0,
    DATASET_ML100K,
    DATASET_MLDAT,
    DATASET_MLCSV,
    DATASET_TMDB,
    DATASET_PLAIN,
} dataset_layout_t;

/* An in-memory file, for dataset_load_files (tests, fuzzing). */
typedef struct dataset_file {
    const char *name; /* "movies.csv" */
    const char *data;
    size_t len;
} dataset_file_t;

typedef struct dataset_opts {
    /* Load the catalog alone when the ratings file is absent. */
    bool allow_missing_ratings;
    /* Never read ratings (catalog only). */
    bool skip_ratings;
    /* Read this ratings file instead of the layout's own (a name in the
     * dataset directory, e.g. "ua.base", or a path containing '/'); it must
     * have the format of the layout's ratings file. NULL or "": default. */
    const char *ratings_file;
    /* Keep at most this many cast names per item (0: all). */
    uint32_t max_cast;
    /* A CSV of extra ratings merged into the loaded ones (NULL or "": none),
     * e.g. the feedback exported by `recsys-data export-feedback`; see
     * dataset_merge_ratings_file(). Ignored with skip_ratings. */
    const char *extra_ratings;
    /* A TMDB 5000 directory (tmdb_5000_movies.csv, optional
     * tmdb_5000_credits.csv) joined onto the catalog through links.csv
     * tmdbId (NULL or "": none); see "Joining TMDB 5000" below. */
    const char *tmdb;
    /* The TMDB notebook's processed_movies.csv (movie_id,title,tags): when
     * the tmdb directory has no tmdb_5000_credits.csv, the join takes each
     * record's cast and director from the tags (dataset_tmdbtags.c). NULL
     * or "": none. Given without tmdb: an error. */
    const char *tmdb_tags;
    /* In-memory TMDB files used instead of the tmdb directory when
     * tmdb_nfiles > 0 (tests, fuzzing); a file named processed_movies.csv
     * among them stands for tmdb_tags. */
    const dataset_file_t *tmdb_files;
    size_t tmdb_nfiles;
} dataset_opts_t;

/* What the TMDB join did (dataset_t.tmdb), all zero without opts.tmdb. */
typedef struct dataset_tmdb_join {
    bool joined;              /* opts.tmdb was given and joined */
    bool credits;             /* tmdb_5000_credits.csv was read */
    uint32_t records;         /* movies in tmdb_5000_movies.csv */
    uint32_t linked;          /* catalog items with a tmdbId */
    uint32_t matched;         /* items whose tmdbId is a TMDB record: joined */
    uint32_t records_used;    /* distinct TMDB records joined to some item */
    uint32_t shared;          /* matched items whose record joined another item too */
    uint32_t with_overview;   /* matched items that got a non-empty overview */
    uint32_t with_keywords;   /* matched items that got keywords */
    uint32_t with_cast;       /* matched items that got cast (credits only) */
    uint32_t with_directors;  /* matched items that got directors (credits only) */
    bool tags;                /* cast and directors came from opts.tmdb_tags */
    uint32_t tags_used;       /* matched items whose record has a seed-tags row */
    uint32_t tags_mismatched; /* ... whose row did not fit the record (skipped) */
    uint32_t rated_items;     /* items with at least one rating */
    uint32_t rated_matched;   /* of those, matched */
    uint64_t ratings;         /* ratings loaded (after extra ratings) */
    uint64_t ratings_covered; /* ratings of matched items */
} dataset_tmdb_join_t;

typedef struct dataset {
    dataset_layout_t layout;
    char *path;         /* what was given to dataset_load */
    catalog_t *catalog; /* finished */
    idmap_t *users;     /* user ids (owned here; ratings borrow it) */
    ratings_t *ratings; /* NULL when there are none */
    char ratings_name[128]; /* file the ratings came from */
    char items_name[64];    /* the item file ("u.item", "movies.csv", ...) */
    char ratings_note[256]; /* why there are no ratings, when so */
    bool converted_latin1;  /* the item file was Latin-1 */
    bool has_credits;       /* TMDB credits were loaded */
    uint64_t tag_rows;      /* rows of tags.csv / tags.dat */
    uint64_t link_rows;     /* rows of links.csv */
    uint64_t links_without_tmdb;
    dataset_tmdb_join_t tmdb; /* the --tmdb join, when asked */
} dataset_t;

/* Options of this module for binaries: data, ratings-file,
 * allow-missing-ratings, max-cast, extra-ratings, tmdb. */
extern const cfg_option_t dataset_options[];
/* Fills opts from a parsed configuration holding dataset_options; the
 * strings point into cfg. */
void dataset_opts_from_cfg(const cfg_t *cfg, dataset_opts_t *opts);

/* Loads the dataset at path (directory or CSV file). opts may be NULL. */
int dataset_load(const char *path, dataset_t **out, const dataset_opts_t *opts, err_t *err);
/* The same over in-memory files named as in a dataset directory. */
int dataset_load_files(const dataset_file_t *files, size_t n, dataset_t **out,
                       const dataset_opts_t *opts, err_t *err);
void dataset_free(dataset_t *ds);

/* Loads another ratings file of the layout's ratings format (e.g. ml-100k
 * ua.base / ua.test) against ds's catalog and user map: unknown items are
 * an error, unknown users are added to ds->users so indices stay
 * comparable across files. name: in ds's directory unless it contains '/'. */
int dataset_load_ratings_file(dataset_t *ds, const char *name, ratings_t **out, err_t *err);

/* ---- extra ratings (dataset_extra.c) ----
 *
 * A CSV (RFC 4180, one header row naming the columns in any order:
 * user_id (or user), item_id (or item), rating, and optionally timestamp in
 * integer seconds and implicit, 0 or 1: 1 marks an event without a rating
 * that the exporter gave one, as recsys-data export-feedback writes)
 * merged into ds's ratings:
 *  - a row for a (user, item) pair the dataset already has replaces that
 *    rating (value and timestamp); among the extra rows themselves the last
 *    one of a pair wins, so an exported event log can be merged as is;
 *  - except implicit rows (common/data/histmerge.h): they never replace a
 *    rating, neither the dataset's nor an explicit row of the file (before
 *    or after them); they count only for a pair without any, the last
 *    implicit row of the pair winning;
 *  - a user the dataset does not know is added to ds->users;
 *  - an item not in the catalog is an error naming the row
 *    ("feedback.csv:7: unknown item id 'x' (not in the catalog)"): the
 *    catalog is fixed by the dataset, a rating cannot invent an item;
 *  - without a timestamp column (or when the dataset keeps none) merged
 *    ratings get timestamp 0 / none.
 * Replaced ratings move to the end of ds->ratings (as newer events); the
 * others keep their order. The catalog's rating statistics are recomputed.
 * On error ds->ratings is unchanged, though new users may stay in
 * ds->users (unused indices). dataset_load() calls this when
 * opts.extra_ratings is set, for every layout. */
typedef struct dataset_merge_stats {
    uint64_t rows;      /* data rows read */
    uint64_t replaced;  /* existing ratings overwritten */
    uint64_t added;     /* new (user, item) pairs */
    uint64_t collapsed; /* rows superseded by another row of the same pair */
    uint64_t implicit_ignored; /* implicit rows of pairs the dataset rates */
    uint32_t new_users; /* users added to ds->users */
} dataset_merge_stats_t;

/* stats may be NULL. */
int dataset_merge_ratings_file(dataset_t *ds, const char *path, dataset_merge_stats_t *stats,
                               err_t *err);
/* The same over data[0..len), called name in messages. */
int dataset_merge_ratings_buffer(dataset_t *ds, const char *name, const char *data, size_t len,
                                 dataset_merge_stats_t *stats, err_t *err);

/* Layout of the files at path (without loading), or -1 with a message. */
int dataset_detect(const char *path, dataset_layout_t *out, err_t *err);
const char *dataset_layout_name(dataset_layout_t layout);

/* ---- the TMDB notebook's intermediate table (movie_id,title,tags) ---- */

typedef struct dataset_seed_row {
    const char *movie_id;
    const char *title;
    const char *tags;
} dataset_seed_row_t;

typedef struct dataset_seed_tags {
    size_t n;
    dataset_seed_row_t *rows; /* file order; repeated movie_ids kept */
    char *arena;
} dataset_seed_tags_t;

/* Reads processed_movies.csv (header movie_id,title,tags; 3 fields a row). */
int dataset_seed_tags_read(const char *path, dataset_seed_tags_t **out, err_t *err);
int dataset_seed_tags_parse(const char *name, const char *data, size_t len,
                            dataset_seed_tags_t **out, err_t *err);
void dataset_seed_tags_free(dataset_seed_tags_t *t);

#endif
