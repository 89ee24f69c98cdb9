/*
 * modelfile.h: the one file format of every trained model (versioned,
 * little-endian, checksummed, memory-mappable).
 *
 * A model file is a fixed 256-byte header, then named typed sections (each
 * starting at a multiple of 64 bytes, so a worker can use f32 matrices in
 * place), then a table describing the sections. Workers open a model with
 * modelfile_open(), which maps it read-only and validates everything (sizes,
 * bounds, alignment, overlaps, names, CRC-32C of header, table and every
 * section) before handing out pointers, so a restart costs one checksum pass
 * and a truncated or corrupt file is refused with a message, never a crash.
 *
 * Layout, all integers little-endian (big-endian hosts are refused at
 * compile time in modelfile.c):
 *   header   0..256  magic "RECSYSMF", u32 format version, u32 flags (0),
 *                    u32 header size (256), u32 section count, u64 file size,
 *                    u64 table offset, u64 table size, i64 creation time
 *                    (Unix seconds), u32 table CRC, u32 reserved,
 *                    char kind[32] ("content-tfidf", "cf-als"),
 *                    char version[64] (the model version), reserved zeros,
 *                    u32 header CRC (of bytes 0..252) at 252.
 *   sections         data, each at an offset that is a multiple of 64.
 *   table            one 64-byte entry per section: char name[32]
 *                    (NUL-terminated), u32 element type, u32 CRC-32C of the
 *                    data, u64 element count, u64 offset, u64 byte length.
 * Key/value metadata (hyper-parameters, dataset, training time) lives in the
 * reserved section ".meta" as "key\0value\0" pairs.
 *
 * Writers stream sections to "path.tmp", fsync, then rename over path, so a
 * worker reloading on SIGHUP sees the old file or the new one, never half.
 */
#ifndef RECSYS_COMMON_MODELFILE_H
#define RECSYS_COMMON_MODELFILE_H

#include <stddef.h>
#include <stdint.h>

#include "common/base/err.h"

#define MODELFILE_FORMAT_VERSION 1u
#define MODELFILE_HEADER_SIZE 256u
#define MODELFILE_ENTRY_SIZE 64u
#define MODELFILE_ALIGN 64u
#define MODELFILE_NAME_MAX 31     /* section name bytes, without the NUL */
#define MODELFILE_KIND_MAX 31     /* model kind bytes, without the NUL */
#define MODELFILE_VERSION_MAX 63  /* model version bytes, without the NUL */
#define MODELFILE_MAX_SECTIONS 4096u
#define MODELFILE_META_SECTION ".meta"

typedef enum {
    MODELFILE_U8 = 1,
    MODELFILE_I32,
    MODELFILE_U32,
    MODELFILE_I64,
    MODELFILE_U64,
    MODELFILE_F32,
    MODELFILE_F64,
    MODELFILE_BYTES,
} modelfile_type_t;

/* "u8", "i32", ... "bytes"; "?" for an unknown value. */
const char *modelfile_type_name(modelfile_type_t type);
/* Bytes per element (1 for bytes); 0 for an unknown type. */
size_t modelfile_type_size(modelfile_type_t type);

/* ---- reading */

typedef struct modelfile modelfile_t;

typedef struct modelfile_section_info {
    const char *name;
    modelfile_type_t type;
    uint64_t count;  /* elements */
    uint64_t offset; /* bytes from the start of the file */
    uint64_t length; /* bytes */
    uint32_t crc;
    const void *data;
} modelfile_section_info_t;

/* Maps path read-only and validates it; on error *out is NULL and err says
 * what is wrong, starting with the path ("model.bin: truncated: ..."). */
int modelfile_open(const char *path, modelfile_t **out, err_t *err);
/* Validates a buffer (tests, fuzzing). name prefixes messages. A buffer
 * aligned to 64 bytes is used in place and must outlive the model; any other
 * is copied so that section pointers are aligned. */
int modelfile_open_mem(const void *buf, size_t len, const char *name, modelfile_t **out, err_t *err);
void modelfile_close(modelfile_t *mf);

/* A typed read-only pointer into the mapping (aligned to 64) and the element
 * count. Fails with "model.bin: no section 'x'" or "model.bin: section 'x' is
 * f64, expected f32". type MODELFILE_BYTES accepts any section. */
int modelfile_section(const modelfile_t *mf, const char *name, modelfile_type_t type, const void **ptr,
                      uint64_t *count, err_t *err);
/* 1 when the section exists. */
int modelfile_has_section(const modelfile_t *mf, const char *name);
size_t modelfile_nsections(const modelfile_t *mf);
/* Section i (0 <= i < nsections) in table order; 0, or -1 when out of range. */
int modelfile_section_at(const modelfile_t *mf, size_t i, modelfile_section_info_t *info);

const char *modelfile_kind(const modelfile_t *mf);
const char *modelfile_model_version(const modelfile_t *mf);
int64_t modelfile_created(const modelfile_t *mf);
uint32_t modelfile_format_version(const modelfile_t *mf);
/* Size of the whole file in bytes. */
uint64_t modelfile_size(const modelfile_t *mf);
/* The metadata value of key, or NULL. */
const char *modelfile_meta(const modelfile_t *mf, const char *key);
size_t modelfile_meta_count(const modelfile_t *mf);
/* Pair i in file order; 0, or -1 when out of range. */
int modelfile_meta_at(const modelfile_t *mf, size_t i, const char **key, const char **value);

/* ---- writing */

typedef struct modelfile_writer modelfile_writer_t;

/* path NULL: build in memory (modelfile_writer_data). Otherwise sections are
 * streamed to "path.tmp" and finish() renames it over path. kind and version
 * must fit MODELFILE_KIND_MAX / MODELFILE_VERSION_MAX. */
int modelfile_writer_new(modelfile_writer_t **out, const char *path, const char *kind, const char *version,
                         err_t *err);
/* Creation time in Unix seconds (default: time of writer_new). */
void modelfile_writer_set_created(modelfile_writer_t *w, int64_t unix_seconds);
/* Adds a metadata pair (key non-empty; neither may contain NUL bytes). */
int modelfile_writer_meta(modelfile_writer_t *w, const char *key, const char *value, err_t *err);
/* Adds a whole section: count elements of type at data. */
int modelfile_writer_add(modelfile_writer_t *w, const char *name, modelfile_type_t type, const void *data,
                         uint64_t count, err_t *err);
/* The same in pieces (a big matrix row by row): begin, append..., end. */
int modelfile_writer_begin(modelfile_writer_t *w, const char *name, modelfile_type_t type, err_t *err);
int modelfile_writer_append(modelfile_writer_t *w, const void *data, uint64_t count, err_t *err);
int modelfile_writer_end(modelfile_writer_t *w, err_t *err);
/* Writes metadata, table and header; for a file: fsync, rename, fsync dir. */
int modelfile_writer_finish(modelfile_writer_t *w, err_t *err);
/* The finished file of an in-memory writer (owned by the writer). */
const void *modelfile_writer_data(const modelfile_writer_t *w, size_t *len);
/* Frees; an unfinished file writer removes its "path.tmp". */
void modelfile_writer_free(modelfile_writer_t *w);

/* ---- test hook (tests and fuzzing only): recomputes every CRC that can be
 * located inside buf (sections, table, header) so that crafted or fuzzed
 * files reach the structural checks. Never fails; ignores what is out of
 * bounds. */
void modelfile_fix_checksums(void *buf, size_t len);

#endif
