/*
 * csv.h: a streaming reader of delimited text (RFC 4180 CSV, TSV, pipe and
 * the "::" files of MovieLens 1M/10M), over a file or a memory buffer.
 *
 * A file is mapped read-only (mmap), so a 700 MB ratings file costs no heap;
 * rows are produced one at a time and each field comes back as a
 * (pointer, length) slice into the mapping. Only a quoted field holding a
 * doubled quote ("") needs rewriting; it is unescaped into a scratch buffer
 * owned by the reader, reused from row to row. Slices stay valid until the
 * next csv_next() call.
 *
 * Syntax accepted:
 *  - the separator is one byte (',', '\t', '|', ...) or a string of bytes
 *    ("::"); quoting can be switched off (MovieLens .dat and ml-100k files
 *    have none, and their titles may hold a bare '"');
 *  - rows end with LF or CRLF; a CR not followed by LF outside quotes is
 *    kept as data; inside quotes CR and LF are both data;
 *  - a quoted field starts with '"' right after a separator or at the start
 *    of a row, ends with '"' followed by a separator, a line end or the end
 *    of input, and writes a quote as "";
 *  - blank lines (empty, or a lone CR) are skipped wherever they are, so the
 *    empty trailing line of u.genre and a missing final newline both read
 *    as expected; they still count for line numbers.
 * Errors name the input and the physical line (1-based):
 *   "movies.csv:12: unterminated quoted field (opened here)"
 *   "movies.csv:12: stray quote in unquoted field"
 *   "movies.csv:12: unexpected 'x' after closing quote"
 *   "ratings.csv:1042: expected 4 fields, found 3" (csv_expect).
 */
#ifndef RECSYS_COMMON_CSV_H
#define RECSYS_COMMON_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/base/err.h"

typedef struct csv_field {
    const char *ptr;
    size_t len;
} csv_field_t;

typedef struct csv_opts {
    const char *sep; /* separator, 1..7 bytes; NULL means "," */
    bool no_quotes;  /* '"' is ordinary data (ml-100k, .dat files) */
} csv_opts_t;

typedef struct csv_reader csv_reader_t;

/* Maps the file at path. name (NULL: path) is what error messages call it.
 * An empty file is fine (no rows). NULL on error. */
csv_reader_t *csv_open_file(const char *path, const char *name, const csv_opts_t *opts,
                            err_t *err);
/* Reads buf[0..len) in place; buf must outlive the reader. */
csv_reader_t *csv_open_buffer(const char *name, const char *buf, size_t len,
                              const csv_opts_t *opts, err_t *err);
void csv_close(csv_reader_t *r);

/* Next row: 1 when a row was read, 0 at end of input, -1 on a syntax error. */
int csv_next(csv_reader_t *r, err_t *err);

size_t csv_nfields(const csv_reader_t *r);
/* Field i of the current row (i < csv_nfields). */
csv_field_t csv_field(const csv_reader_t *r, size_t i);
const csv_field_t *csv_fields(const csv_reader_t *r);
/* Physical line (1-based) where the current row starts. */
uint64_t csv_line(const csv_reader_t *r);
/* Bytes consumed so far (offset just past the current row). */
size_t csv_offset(const csv_reader_t *r);
/* Number of rows returned so far. */
uint64_t csv_rows(const csv_reader_t *r);
const char *csv_name(const csv_reader_t *r);
/* The whole input (for a whole-file check such as "is it valid UTF-8"). */
const char *csv_data(const csv_reader_t *r, size_t *len);

/* -1 with "name:line: expected N fields, found M" unless the row has n fields. */
int csv_expect(const csv_reader_t *r, size_t n, err_t *err);
/* Sets "name:line: <message>" for the current row; returns -1. */
int csv_error(const csv_reader_t *r, err_t *err, const char *fmt, ...) ERR_PRINTF(3, 4);

/* 1 when the field equals the NUL-terminated string s. */
bool csv_field_is(csv_field_t f, const char *s);

#endif
