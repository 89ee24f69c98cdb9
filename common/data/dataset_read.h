/*
 * dataset_read.h: what the per-layout loaders (dataset_*.c) share
 * (dataset_read.c).
 *
 * A loader never opens a path itself: it asks a ds_src_t for a file by its
 * name in the dataset directory, and the source answers from the
 * filesystem or from in-memory files. That is what lets the fuzzer and the
 * tests run every loader over a buffer.
 */
#ifndef RECSYS_DATA_DATASET_READ_H
#define RECSYS_DATA_DATASET_READ_H

#include "common/data/csv.h"
#include "common/data/dataset.h"

typedef struct ds_src {
    const char *dir;             /* directory, or NULL for in-memory files */
    const dataset_file_t *files; /* in-memory files */
    size_t nfiles;
} ds_src_t;

bool ds_src_exists(const ds_src_t *src, const char *name);
/* Opens name (a '/' in it makes it a path of its own); error names the file. */
csv_reader_t *ds_src_open(const ds_src_t *src, const char *name, const csv_opts_t *opts,
                          err_t *err);

/* Field -> UTF-8 conversion for a file found to be Latin-1. */
typedef struct ds_text {
    bool latin1;
    char *buf;
    size_t cap;
} ds_text_t;
/* Decides latin1 for the reader's whole input (valid UTF-8 or not). */
void ds_text_init(ds_text_t *t, const csv_reader_t *r);
/* The field as UTF-8; valid until the next call. NULL when out of memory. */
const char *ds_text(ds_text_t *t, csv_field_t f, size_t *len);
void ds_text_free(ds_text_t *t);

/* Field parsers: 0 on success, -1 (caller reports) on bad syntax. */
int ds_parse_i64(csv_field_t f, int64_t *v);
int ds_parse_float(csv_field_t f, float *v);

/* Ratings rows: how to read them (ts < 0: no timestamp column). */
typedef struct ds_rcols {
    csv_opts_t copts;
    int user, item, rating, ts;
    size_t nfields;         /* exact field count of a row */
    bool header;            /* the first row is a header */
    bool create_items;      /* unknown items join the catalog (plain without items.csv) */
    const char *items_file; /* named in "unknown item" errors */
} ds_rcols_t;

/* Opens a ratings file in the layout's format; when it has a header, reads
 * and checks it (the reader is then past it) and sets the columns. */
csv_reader_t *ds_open_ratings(dataset_layout_t layout, const ds_src_t *src, const char *name,
                              ds_rcols_t *cols, err_t *err);
int ds_mlcsv_ratings_header(csv_reader_t *r, ds_rcols_t *cols, err_t *err);
int ds_plain_ratings_header(csv_reader_t *r, ds_rcols_t *cols, err_t *err);
/* Reads the remaining rows of r into a new ratings store over users, then
 * checks for duplicate pairs (reported with both lines by re-reading). */
int ds_read_ratings(const ds_src_t *src, const char *name, csv_reader_t *r,
                    const ds_rcols_t *cols, catalog_t *cat, idmap_t *users, ratings_t **out,
                    err_t *err);
/* Reads tags rows (item and tag at the given fields; the reader is past any
 * header) onto the catalog's items. */
int ds_read_tags(csv_reader_t *r, int item_col, int tag_col, size_t nfields, catalog_t *cat,
                 const char *items_file, uint64_t *rows, err_t *err);
/* Reads the header row and checks it is exactly names[0..n) (a UTF-8 BOM
 * before the first name is ignored). */
int ds_expect_header(csv_reader_t *r, const char *const names[], size_t n, err_t *err);
/* The field without a leading UTF-8 BOM. */
csv_field_t ds_strip_bom(csv_field_t f);
/* Splits f on '|' and calls the catalog adder for each non-empty part. */
typedef int (*ds_part_fn)(catalog_t *c, uint32_t item, const char *s, size_t len, void *ud);
int ds_split_pipe(const char *s, size_t len, ds_part_fn fn, catalog_t *c, uint32_t item,
                  void *ud);
/* MovieLens genres string ("A|B", "(no genres listed)") onto an item. */
int ds_ml_genres(catalog_t *c, uint32_t item, const char *s, size_t len);
/* Reads a MovieLens movies file (id, "Title (year)", "A|B" genres) onto the
 * catalog: movies.csv (header given) and movies.dat (header NULL, "::"). */
int ds_read_ml_movies(dataset_t *ds, const ds_src_t *src, const char *name, const csv_opts_t *o,
                      const char *const *header, err_t *err);

/* Resolves the ratings file to read: opts->ratings_file or def. */
const char *ds_ratings_name(const dataset_opts_t *opts, const char *def);
/* Handles an absent ratings file per opts: 0 (go on without) or -1. */
int ds_missing_ratings(dataset_t *ds, const char *name, const dataset_opts_t *opts, err_t *err);
/* The layout's ratings step: honours skip_ratings, ratings_file and a
 * missing file, then fills ds->ratings from def (or the override). */
int ds_load_layout_ratings(dataset_t *ds, const ds_src_t *src, const dataset_opts_t *opts,
                           const char *def, bool create_items, err_t *err);

#endif
