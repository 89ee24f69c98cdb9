/*
 * modelfile.c: writing, mapping and validating model files (see modelfile.h).
 *
 * Reading trusts nothing: every field is read with memcpy (no unaligned or
 * type-punned loads from the file), every offset+length is checked without
 * overflow (a <= size && b <= size - a), and checksums are verified before a
 * single pointer is handed out. The format version and magic sit at fixed
 * places forever, so even a future file is recognised and refused by name.
 *
 * Writing appends sections one after another (padding to 64 bytes) through a
 * buffered sink that is either "path.tmp" or a growing memory buffer, then
 * appends the table and rewrites the header at offset 0. Streaming means a
 * large factor matrix is never copied just to be saved.
 */
#include "common/wire/modelfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/base/crc32c.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "modelfile: model files are little-endian and are mapped in place; big-endian hosts are not supported"
#endif

static const char modelfile_magic[8] = {'R', 'E', 'C', 'S', 'Y', 'S', 'M', 'F'};

/* Header field offsets. */
enum {
    H_MAGIC = 0,
    H_FORMAT = 8,
    H_FLAGS = 12,
    H_HSIZE = 16,
    H_NSEC = 20,
    H_FSIZE = 24,
    H_TOFF = 32,
    H_TSIZE = 40,
    H_CREATED = 48,
    H_TCRC = 56,
    H_KIND = 64,
    H_VERSION = 96,
    H_HCRC = 252,
};
/* Table entry field offsets. */
enum { E_NAME = 0, E_TYPE = 32, E_CRC = 36, E_COUNT = 40, E_OFFSET = 48, E_LENGTH = 56 };

const char *modelfile_type_name(modelfile_type_t type)
{
    switch (type) {
    case MODELFILE_U8: return "u8";
    case MODELFILE_I32: return "i32";
    case MODELFILE_U32: return "u32";
    case MODELFILE_I64: return "i64";
    case MODELFILE_U64: return "u64";
    case MODELFILE_F32: return "f32";
    case MODELFILE_F64: return "f64";
    case MODELFILE_BYTES: return "bytes";
    }
    return "?";
}

size_t modelfile_type_size(modelfile_type_t type)
{
    switch (type) {
    case MODELFILE_U8: return 1;
    case MODELFILE_I32: return 4;
    case MODELFILE_U32: return 4;
    case MODELFILE_I64: return 8;
    case MODELFILE_U64: return 8;
    case MODELFILE_F32: return 4;
    case MODELFILE_F64: return 8;
    case MODELFILE_BYTES: return 1;
    }
    return 0;
}

static uint32_t get32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static uint64_t get64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static void put32(unsigned char *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

static void put64(unsigned char *p, uint64_t v)
{
    memcpy(p, &v, 8);
}

/* 1 when [off, off+len) lies inside [0, size), without overflow. */
static int in_bounds(uint64_t off, uint64_t len, uint64_t size)
{
    return off <= size && len <= size - off;
}

/* Length of a NUL-terminated string inside a fixed field, or -1 if none. */
static int field_strlen(const unsigned char *p, size_t field)
{
    const unsigned char *z = memchr(p, 0, field);
    return z ? (int)(z - p) : -1;
}

/* ================================================================ reading */

typedef struct mf_section {
    const char *name;
    modelfile_type_t type;
    uint32_t crc;
    uint64_t count, offset, length;
} mf_section_t;

struct modelfile {
    char *name;
    const unsigned char *base;
    size_t size;
    void *map;      /* mmap'd region, or NULL */
    void *owned;    /* aligned copy for open_mem, or NULL */
    uint32_t format;
    int64_t created;
    const char *kind, *version;
    size_t nsec;
    mf_section_t *sec;
    const char *meta; /* ".meta" data, or NULL */
    size_t meta_len, meta_pairs;
};

typedef struct span {
    uint64_t off, len;
    size_t idx;
} span_t;

static int span_cmp(const void *a, const void *b)
{
    const span_t *x = a, *y = b;
    if (x->off != y->off)
        return x->off < y->off ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int name_cmp(const void *a, const void *b)
{
    const mf_section_t *const *x = a, *const *y = b;
    return strcmp((*x)->name, (*y)->name);
}

/* Counts the "key\0value\0" pairs of the metadata section; -1 if malformed. */
static long meta_count_pairs(const char *p, size_t len)
{
    if (len == 0)
        return 0;
    if (p[len - 1] != '\0')
        return -1;
    size_t strings = 0;
    for (size_t i = 0; i < len; i++)
        if (p[i] == '\0')
            strings++;
    if (strings % 2 != 0)
        return -1;
    /* Keys must be non-empty: a key starts at 0 and after every second NUL. */
    size_t s = 0;
    for (size_t i = 0; i < len;) {
        size_t l = strlen(p + i);
        if (s % 2 == 0 && l == 0)
            return -1;
        i += l + 1;
        s++;
    }
    return (long)(strings / 2);
}

static int check_sections(modelfile_t *mf, const char *nm, err_t *err)
{
    const unsigned char *b = mf->base;
    uint64_t size = mf->size;
    uint64_t toff = get64(b + H_TOFF), tsize = get64(b + H_TSIZE);
    size_t n = mf->nsec;

    for (size_t i = 0; i < n; i++) {
        const unsigned char *e = b + toff + i * MODELFILE_ENTRY_SIZE;
        mf_section_t *s = &mf->sec[i];
        int nl = field_strlen(e + E_NAME, 32);
        if (nl < 0)
            return err_set(err, "%s: section %zu: name is not NUL-terminated", nm, i);
        if (nl == 0)
            return err_set(err, "%s: section %zu: empty name", nm, i);
        s->name = (const char *)(e + E_NAME);
        uint32_t t = get32(e + E_TYPE);
        s->type = (modelfile_type_t)t;
        s->crc = get32(e + E_CRC);
        s->count = get64(e + E_COUNT);
        s->offset = get64(e + E_OFFSET);
        s->length = get64(e + E_LENGTH);
        size_t es = modelfile_type_size(s->type);
        if (es == 0)
            return err_set(err, "%s: section '%s': unknown element type %u", nm, s->name, t);
        if (s->offset % MODELFILE_ALIGN != 0)
            return err_set(err, "%s: section '%s': misaligned offset %llu (must be a multiple of %u)", nm,
                           s->name, (unsigned long long)s->offset, MODELFILE_ALIGN);
        if (s->count > UINT64_MAX / es || s->count * es != s->length)
            return err_set(err, "%s: section '%s': length %llu is not count %llu x %zu-byte %s", nm, s->name,
                           (unsigned long long)s->length, (unsigned long long)s->count, es,
                           modelfile_type_name(s->type));
        if (s->offset > UINT64_MAX - s->length)
            return err_set(err, "%s: section '%s': offset %llu + length %llu overflows", nm, s->name,
                           (unsigned long long)s->offset, (unsigned long long)s->length);
        if (!in_bounds(s->offset, s->length, size))
            return err_set(err, "%s: section '%s': bytes %llu..%llu lie outside the %llu-byte file", nm,
                           s->name, (unsigned long long)s->offset,
                           (unsigned long long)(s->offset + s->length), (unsigned long long)size);
        if (s->length > 0 && s->offset < MODELFILE_HEADER_SIZE)
            return err_set(err, "%s: section '%s': overlaps the header", nm, s->name);
        if (s->length > 0 && s->offset < toff + tsize && toff < s->offset + s->length)
            return err_set(err, "%s: section '%s': overlaps the section table", nm, s->name);
    }

    /* Names unique, sections disjoint: sort copies rather than O(n^2). */
    int rc = 0;
    const mf_section_t **byname = malloc((n ? n : 1) * sizeof *byname);
    span_t *spans = malloc((n + 2) * sizeof *spans);
    if (!byname || !spans) {
        rc = err_set(err, "%s: out of memory", nm);
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        byname[i] = &mf->sec[i];
    qsort(byname, n, sizeof *byname, name_cmp);
    for (size_t i = 1; i < n; i++)
        if (strcmp(byname[i - 1]->name, byname[i]->name) == 0) {
            rc = err_set(err, "%s: section '%s' appears twice", nm, byname[i]->name);
            goto out;
        }
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (mf->sec[i].length > 0)
            spans[m++] = (span_t){mf->sec[i].offset, mf->sec[i].length, i};
    qsort(spans, m, sizeof *spans, span_cmp);
    for (size_t i = 1; i < m; i++)
        if (spans[i - 1].off + spans[i - 1].len > spans[i].off) {
            rc = err_set(err, "%s: section '%s' overlaps section '%s'", nm, mf->sec[spans[i].idx].name,
                         mf->sec[spans[i - 1].idx].name);
            goto out;
        }
    /* Every byte outside the header, the table and the sections is padding
     * and must be zero, so that no byte of the file escapes a check. */
    spans[m++] = (span_t){0, MODELFILE_HEADER_SIZE, n};
    if (tsize > 0)
        spans[m++] = (span_t){toff, tsize, n};
    qsort(spans, m, sizeof *spans, span_cmp);
    uint64_t pos = 0;
    for (size_t i = 0; i <= m; i++) {
        uint64_t end = i < m ? spans[i].off : size;
        for (; pos < end; pos++)
            if (b[pos] != 0) {
                rc = err_set(err, "%s: non-zero padding byte at offset %llu (outside every section)", nm,
                             (unsigned long long)pos);
                goto out;
            }
        if (i < m && spans[i].off + spans[i].len > pos)
            pos = spans[i].off + spans[i].len;
    }
out:
    free(byname);
    free(spans);
    return rc;
}

static int validate(modelfile_t *mf, const char *nm, err_t *err)
{
    const unsigned char *b = mf->base;
    size_t size = mf->size;

    if (size >= 8 && memcmp(b + H_MAGIC, modelfile_magic, 8) != 0)
        return err_set(err, "%s: not a recsys model file (bad magic)", nm);
    if (size >= 12) {
        uint32_t v = get32(b + H_FORMAT);
        if (v > MODELFILE_FORMAT_VERSION)
            return err_set(err, "%s: format version %u is newer than this program supports (%u); upgrade recsys",
                           nm, v, MODELFILE_FORMAT_VERSION);
        if (v == 0)
            return err_set(err, "%s: invalid format version 0", nm);
    }
    if (size < MODELFILE_HEADER_SIZE)
        return err_set(err, "%s: truncated: file has %zu bytes, less than the %u-byte header", nm, size,
                       MODELFILE_HEADER_SIZE);
    mf->format = get32(b + H_FORMAT);
    if (crc32c(0, b, H_HCRC) != get32(b + H_HCRC))
        return err_set(err, "%s: header checksum mismatch", nm);
    uint64_t fsize = get64(b + H_FSIZE);
    if (fsize > size)
        return err_set(err, "%s: truncated: header says %llu bytes, file has %zu", nm, (unsigned long long)fsize,
                       size);
    if (fsize < size)
        return err_set(err, "%s: %zu bytes where the header says %llu (trailing data)", nm, size,
                       (unsigned long long)fsize);
    uint32_t flags = get32(b + H_FLAGS);
    if (flags != 0)
        return err_set(err, "%s: unsupported flags 0x%x", nm, flags);
    if (get32(b + H_HSIZE) != MODELFILE_HEADER_SIZE)
        return err_set(err, "%s: header size %u, expected %u", nm, get32(b + H_HSIZE), MODELFILE_HEADER_SIZE);
    if (field_strlen(b + H_KIND, 32) < 0)
        return err_set(err, "%s: model kind is not NUL-terminated", nm);
    if (field_strlen(b + H_VERSION, 64) < 0)
        return err_set(err, "%s: model version is not NUL-terminated", nm);
    mf->kind = (const char *)(b + H_KIND);
    mf->version = (const char *)(b + H_VERSION);
    uint64_t created;
    memcpy(&created, b + H_CREATED, 8);
    mf->created = (int64_t)created;

    uint32_t nsec = get32(b + H_NSEC);
    uint64_t toff = get64(b + H_TOFF), tsize = get64(b + H_TSIZE);
    if (nsec > MODELFILE_MAX_SECTIONS)
        return err_set(err, "%s: %u sections, more than the limit of %u", nm, nsec, MODELFILE_MAX_SECTIONS);
    if (tsize != (uint64_t)nsec * MODELFILE_ENTRY_SIZE)
        return err_set(err, "%s: section table of %llu bytes for %u sections (want %llu)", nm,
                       (unsigned long long)tsize, nsec, (unsigned long long)nsec * MODELFILE_ENTRY_SIZE);
    if (toff % 8 != 0)
        return err_set(err, "%s: misaligned section table offset %llu", nm, (unsigned long long)toff);
    if (toff < MODELFILE_HEADER_SIZE && tsize > 0)
        return err_set(err, "%s: section table overlaps the header", nm);
    if (!in_bounds(toff, tsize, size))
        return err_set(err, "%s: section table (offset %llu, %llu bytes) lies outside the %zu-byte file", nm,
                       (unsigned long long)toff, (unsigned long long)tsize, size);
    if (crc32c(0, b + toff, (size_t)tsize) != get32(b + H_TCRC))
        return err_set(err, "%s: section table checksum mismatch", nm);

    mf->nsec = nsec;
    mf->sec = calloc(nsec ? nsec : 1, sizeof *mf->sec);
    if (!mf->sec)
        return err_set(err, "%s: out of memory", nm);
    if (check_sections(mf, nm, err) < 0)
        return -1;
    for (size_t i = 0; i < mf->nsec; i++) {
        const mf_section_t *s = &mf->sec[i];
        if (crc32c(0, b + s->offset, (size_t)s->length) != s->crc)
            return err_set(err, "%s: section '%s' checksum mismatch", nm, s->name);
    }
    for (size_t i = 0; i < mf->nsec; i++) {
        const mf_section_t *s = &mf->sec[i];
        if (strcmp(s->name, MODELFILE_META_SECTION) != 0)
            continue;
        long pairs = meta_count_pairs((const char *)(b + s->offset), (size_t)s->length);
        if (s->type != MODELFILE_BYTES || pairs < 0)
            return err_set(err, "%s: malformed metadata section", nm);
        mf->meta = (const char *)(b + s->offset);
        mf->meta_len = (size_t)s->length;
        mf->meta_pairs = (size_t)pairs;
    }
    return 0;
}

static int finish_open(modelfile_t *mf, const char *name, modelfile_t **out, err_t *err)
{
    mf->name = strdup(name);
    if (!mf->name) {
        modelfile_close(mf);
        return err_set(err, "%s: out of memory", name);
    }
    if (validate(mf, name, err) < 0) {
        modelfile_close(mf);
        return -1;
    }
    *out = mf;
    return 0;
}

int modelfile_open_mem(const void *buf, size_t len, const char *name, modelfile_t **out, err_t *err)
{
    *out = NULL;
    if (!name)
        name = "<memory>";
    modelfile_t *mf = calloc(1, sizeof *mf);
    if (!mf)
        return err_set(err, "%s: out of memory", name);
    if (len > 0 && ((uintptr_t)buf % MODELFILE_ALIGN) != 0) {
        size_t cap = (len + MODELFILE_ALIGN - 1) / MODELFILE_ALIGN * MODELFILE_ALIGN;
        mf->owned = aligned_alloc(MODELFILE_ALIGN, cap);
        if (!mf->owned) {
            free(mf);
            return err_set(err, "%s: out of memory", name);
        }
        memcpy(mf->owned, buf, len);
        buf = mf->owned;
    }
    mf->base = buf;
    mf->size = len;
    return finish_open(mf, name, out, err);
}

int modelfile_open(const char *path, modelfile_t **out, err_t *err)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_errno(err, "%s", path);
    struct stat st;
    if (fstat(fd, &st) < 0) {
        err_errno(err, "%s: stat", path);
        close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return err_set(err, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > SIZE_MAX) {
        close(fd);
        return err_set(err, "%s: too large to map", path);
    }
    modelfile_t *mf = calloc(1, sizeof *mf);
    if (!mf) {
        close(fd);
        return err_set(err, "%s: out of memory", path);
    }
    mf->size = (size_t)st.st_size;
    if (mf->size > 0) {
        void *p = mmap(NULL, mf->size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            err_errno(err, "%s: mmap", path);
            close(fd);
            free(mf);
            return -1;
        }
        mf->map = p;
        mf->base = p;
    } else {
        mf->base = (const unsigned char *)"";
    }
    close(fd);
    return finish_open(mf, path, out, err);
}

void modelfile_close(modelfile_t *mf)
{
    if (!mf)
        return;
    if (mf->map)
        munmap(mf->map, mf->size);
    free(mf->owned);
    free(mf->sec);
    free(mf->name);
    free(mf);
}

static const mf_section_t *find(const modelfile_t *mf, const char *name)
{
    for (size_t i = 0; i < mf->nsec; i++)
        if (strcmp(mf->sec[i].name, name) == 0)
            return &mf->sec[i];
    return NULL;
}

int modelfile_section(const modelfile_t *mf, const char *name, modelfile_type_t type, const void **ptr,
                      uint64_t *count, err_t *err)
{
    const mf_section_t *s = find(mf, name);
    if (!s)
        return err_set(err, "%s: no section '%s'", mf->name, name);
    if (type != MODELFILE_BYTES && s->type != type)
        return err_set(err, "%s: section '%s' is %s, expected %s", mf->name, name, modelfile_type_name(s->type),
                       modelfile_type_name(type));
    *ptr = mf->base + s->offset;
    if (count)
        *count = type == MODELFILE_BYTES ? s->length : s->count;
    return 0;
}

int modelfile_has_section(const modelfile_t *mf, const char *name)
{
    return find(mf, name) != NULL;
}

size_t modelfile_nsections(const modelfile_t *mf)
{
    return mf->nsec;
}

int modelfile_section_at(const modelfile_t *mf, size_t i, modelfile_section_info_t *info)
{
    if (i >= mf->nsec)
        return -1;
    const mf_section_t *s = &mf->sec[i];
    *info = (modelfile_section_info_t){s->name, s->type, s->count, s->offset, s->length, s->crc,
                                       mf->base + s->offset};
    return 0;
}

const char *modelfile_kind(const modelfile_t *mf)
{
    return mf->kind;
}

const char *modelfile_model_version(const modelfile_t *mf)
{
    return mf->version;
}

int64_t modelfile_created(const modelfile_t *mf)
{
    return mf->created;
}

uint32_t modelfile_format_version(const modelfile_t *mf)
{
    return mf->format;
}

uint64_t modelfile_size(const modelfile_t *mf)
{
    return mf->size;
}

int modelfile_meta_at(const modelfile_t *mf, size_t i, const char **key, const char **value)
{
    if (i >= mf->meta_pairs)
        return -1;
    const char *p = mf->meta;
    for (size_t j = 0; j < i; j++) {
        p += strlen(p) + 1;
        p += strlen(p) + 1;
    }
    *key = p;
    *value = p + strlen(p) + 1;
    return 0;
}

const char *modelfile_meta(const modelfile_t *mf, const char *key)
{
    const char *p = mf->meta;
    for (size_t j = 0; j < mf->meta_pairs; j++) {
        const char *v = p + strlen(p) + 1;
        if (strcmp(p, key) == 0)
            return v;
        p = v + strlen(v) + 1;
    }
    return NULL;
}

size_t modelfile_meta_count(const modelfile_t *mf)
{
    return mf->meta_pairs;
}

/* ================================================================ writing */

#define WBUF_SIZE (1u << 20)

struct modelfile_writer {
    char *path, *tmp; /* NULL for memory */
    int fd;
    unsigned char *mem; /* memory mode: the file; file mode: write buffer */
    size_t mem_len, mem_cap;
    uint64_t pos; /* bytes written so far (file offset of the next byte) */
    char kind[32], version[64];
    int64_t created;
    unsigned char *table;
    size_t nsec, table_cap;
    int open_section; /* 1 between begin and end */
    uint32_t cur_crc;
    int finished, failed;
    char *meta;
    size_t meta_len, meta_cap;
};

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 16;
    while (c < need)
        c *= 2;
    void *q = realloc(*p, c * elem);
    if (!q)
        return -1;
    *p = q;
    *cap = c;
    return 0;
}

static int wflush(modelfile_writer_t *w, err_t *err)
{
    if (!w->path)
        return 0;
    size_t done = 0;
    while (done < w->mem_len) {
        ssize_t r = write(w->fd, w->mem + done, w->mem_len - done);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            w->failed = 1;
            return err_errno(err, "%s: write", w->tmp);
        }
        done += (size_t)r;
    }
    w->mem_len = 0;
    return 0;
}

static int wput(modelfile_writer_t *w, const void *data, size_t len, err_t *err)
{
    const unsigned char *p = data;
    if (!w->path) {
        if (grow((void **)&w->mem, &w->mem_cap, w->mem_len + len, 1) < 0) {
            w->failed = 1;
            return err_set(err, "model writer: out of memory");
        }
        if (len)
            memcpy(w->mem + w->mem_len, p, len);
        w->mem_len += len;
        w->pos += len;
        return 0;
    }
    while (len > 0) {
        size_t room = WBUF_SIZE - w->mem_len;
        size_t n = len < room ? len : room;
        memcpy(w->mem + w->mem_len, p, n);
        w->mem_len += n;
        w->pos += n;
        p += n;
        len -= n;
        if (w->mem_len == WBUF_SIZE && wflush(w, err) < 0)
            return -1;
    }
    return 0;
}

static int wpad(modelfile_writer_t *w, err_t *err)
{
    static const unsigned char zeros[MODELFILE_ALIGN];
    size_t pad = (size_t)((MODELFILE_ALIGN - w->pos % MODELFILE_ALIGN) % MODELFILE_ALIGN);
    return wput(w, zeros, pad, err);
}

int modelfile_writer_new(modelfile_writer_t **out, const char *path, const char *kind, const char *version,
                         err_t *err)
{
    *out = NULL;
    if (!kind || strlen(kind) > MODELFILE_KIND_MAX)
        return err_set(err, "model writer: kind '%s' longer than %d bytes", kind ? kind : "", MODELFILE_KIND_MAX);
    if (!version || strlen(version) > MODELFILE_VERSION_MAX)
        return err_set(err, "model writer: version '%s' longer than %d bytes", version ? version : "",
                       MODELFILE_VERSION_MAX);
    modelfile_writer_t *w = calloc(1, sizeof *w);
    if (!w)
        return err_set(err, "model writer: out of memory");
    w->fd = -1;
    strcpy(w->kind, kind);
    strcpy(w->version, version);
    w->created = (int64_t)time(NULL);
    if (path) {
        size_t pl = strlen(path);
        w->path = strdup(path);
        w->tmp = malloc(pl + 5);
        w->mem = malloc(WBUF_SIZE);
        w->mem_cap = WBUF_SIZE;
        if (!w->path || !w->tmp || !w->mem) {
            modelfile_writer_free(w);
            return err_set(err, "%s: out of memory", path);
        }
        memcpy(w->tmp, path, pl);
        memcpy(w->tmp + pl, ".tmp", 5);
        w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (w->fd < 0) {
            err_errno(err, "%s", w->tmp);
            free(w->tmp);
            w->tmp = NULL; /* nothing to remove */
            modelfile_writer_free(w);
            return -1;
        }
    }
    /* Placeholder header; the real one is written by finish(). */
    unsigned char zero[MODELFILE_HEADER_SIZE] = {0};
    if (wput(w, zero, sizeof zero, err) < 0) {
        modelfile_writer_free(w);
        return -1;
    }
    *out = w;
    return 0;
}

void modelfile_writer_set_created(modelfile_writer_t *w, int64_t unix_seconds)
{
    w->created = unix_seconds;
}

int modelfile_writer_meta(modelfile_writer_t *w, const char *key, const char *value, err_t *err)
{
    if (!key || !*key)
        return err_set(err, "model writer: empty metadata key");
    size_t kl = strlen(key), vl = strlen(value ? value : "");
    if (grow((void **)&w->meta, &w->meta_cap, w->meta_len + kl + vl + 2, 1) < 0)
        return err_set(err, "model writer: out of memory");
    memcpy(w->meta + w->meta_len, key, kl + 1);
    w->meta_len += kl + 1;
    memcpy(w->meta + w->meta_len, value ? value : "", vl + 1);
    w->meta_len += vl + 1;
    return 0;
}

static unsigned char *cur_entry(modelfile_writer_t *w)
{
    return w->table + (w->nsec - 1) * MODELFILE_ENTRY_SIZE;
}

static int begin(modelfile_writer_t *w, const char *name, modelfile_type_t type, int internal, err_t *err)
{
    if (w->finished || w->failed)
        return err_set(err, "model writer: already finished or failed");
    if (w->open_section)
        return err_set(err, "model writer: section '%s' begun before the previous one ended", name);
    size_t nl = name ? strlen(name) : 0;
    if (nl == 0 || nl > MODELFILE_NAME_MAX)
        return err_set(err, "model writer: section name '%s' must have 1..%d bytes", name ? name : "",
                       MODELFILE_NAME_MAX);
    if (!internal && strcmp(name, MODELFILE_META_SECTION) == 0)
        return err_set(err, "model writer: section name '%s' is reserved", name);
    if (modelfile_type_size(type) == 0)
        return err_set(err, "model writer: section '%s': unknown type %d", name, (int)type);
    for (size_t i = 0; i < w->nsec; i++)
        if (strcmp((const char *)(w->table + i * MODELFILE_ENTRY_SIZE), name) == 0)
            return err_set(err, "model writer: section '%s' added twice", name);
    if (w->nsec >= MODELFILE_MAX_SECTIONS)
        return err_set(err, "model writer: more than %u sections", MODELFILE_MAX_SECTIONS);
    size_t cap = w->table_cap;
    if (grow((void **)&w->table, &cap, (w->nsec + 1) * MODELFILE_ENTRY_SIZE, 1) < 0)
        return err_set(err, "model writer: out of memory");
    w->table_cap = cap;
    if (wpad(w, err) < 0)
        return -1;
    w->nsec++;
    unsigned char *e = cur_entry(w);
    memset(e, 0, MODELFILE_ENTRY_SIZE);
    memcpy(e + E_NAME, name, nl);
    put32(e + E_TYPE, (uint32_t)type);
    put64(e + E_OFFSET, w->pos);
    w->cur_crc = 0;
    w->open_section = 1;
    return 0;
}

int modelfile_writer_begin(modelfile_writer_t *w, const char *name, modelfile_type_t type, err_t *err)
{
    return begin(w, name, type, 0, err);
}

int modelfile_writer_append(modelfile_writer_t *w, const void *data, uint64_t count, err_t *err)
{
    if (!w->open_section)
        return err_set(err, "model writer: append outside a section");
    unsigned char *e = cur_entry(w);
    size_t es = modelfile_type_size((modelfile_type_t)get32(e + E_TYPE));
    if (count > SIZE_MAX / es)
        return err_set(err, "model writer: section '%s': %llu elements is too many", (const char *)e,
                       (unsigned long long)count);
    size_t len = (size_t)count * es;
    if (wput(w, data, len, err) < 0)
        return -1;
    w->cur_crc = crc32c(w->cur_crc, data, len);
    put64(e + E_COUNT, get64(e + E_COUNT) + count);
    put64(e + E_LENGTH, get64(e + E_LENGTH) + len);
    return 0;
}

int modelfile_writer_end(modelfile_writer_t *w, err_t *err)
{
    if (!w->open_section)
        return err_set(err, "model writer: end outside a section");
    put32(cur_entry(w) + E_CRC, w->cur_crc);
    w->open_section = 0;
    return 0;
}

int modelfile_writer_add(modelfile_writer_t *w, const char *name, modelfile_type_t type, const void *data,
                         uint64_t count, err_t *err)
{
    if (begin(w, name, type, 0, err) < 0 || modelfile_writer_append(w, data, count, err) < 0)
        return -1;
    return modelfile_writer_end(w, err);
}

static int sync_dir(const char *path, err_t *err)
{
    char *dir = strdup(path);
    if (!dir)
        return err_set(err, "%s: out of memory", path);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        strcpy(dir, ".");
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = 0;
    if (fd < 0 || fsync(fd) < 0)
        rc = err_errno(err, "%s: fsync directory", dir);
    if (fd >= 0)
        close(fd);
    free(dir);
    return rc;
}

int modelfile_writer_finish(modelfile_writer_t *w, err_t *err)
{
    if (w->finished || w->failed)
        return err_set(err, "model writer: already finished or failed");
    if (w->open_section)
        return err_set(err, "model writer: finish with a section still open");
    if (w->meta_len > 0) {
        if (begin(w, MODELFILE_META_SECTION, MODELFILE_BYTES, 1, err) < 0 ||
            modelfile_writer_append(w, w->meta, w->meta_len, err) < 0 || modelfile_writer_end(w, err) < 0)
            return -1;
    }
    if (wpad(w, err) < 0)
        return -1;
    uint64_t toff = w->pos, tsize = (uint64_t)w->nsec * MODELFILE_ENTRY_SIZE;
    if (wput(w, w->table, (size_t)tsize, err) < 0)
        return -1;
    unsigned char h[MODELFILE_HEADER_SIZE] = {0};
    memcpy(h + H_MAGIC, modelfile_magic, 8);
    put32(h + H_FORMAT, MODELFILE_FORMAT_VERSION);
    put32(h + H_FLAGS, 0);
    put32(h + H_HSIZE, MODELFILE_HEADER_SIZE);
    put32(h + H_NSEC, (uint32_t)w->nsec);
    put64(h + H_FSIZE, w->pos);
    put64(h + H_TOFF, toff);
    put64(h + H_TSIZE, tsize);
    put64(h + H_CREATED, (uint64_t)w->created);
    put32(h + H_TCRC, crc32c(0, w->table, (size_t)tsize));
    memcpy(h + H_KIND, w->kind, strlen(w->kind));
    memcpy(h + H_VERSION, w->version, strlen(w->version));
    put32(h + H_HCRC, crc32c(0, h, H_HCRC));

    if (!w->path) {
        memcpy(w->mem, h, sizeof h);
        w->finished = 1;
        return 0;
    }
    if (wflush(w, err) < 0)
        return -1;
    w->failed = 1; /* until the rename succeeds */
    if (pwrite(w->fd, h, sizeof h, 0) != (ssize_t)sizeof h)
        return err_errno(err, "%s: write header", w->tmp);
    if (fsync(w->fd) < 0)
        return err_errno(err, "%s: fsync", w->tmp);
    int rc = close(w->fd);
    w->fd = -1;
    if (rc < 0)
        return err_errno(err, "%s: close", w->tmp);
    if (rename(w->tmp, w->path) < 0)
        return err_errno(err, "rename %s to %s", w->tmp, w->path);
    w->failed = 0;
    w->finished = 1;
    return sync_dir(w->path, err);
}

const void *modelfile_writer_data(const modelfile_writer_t *w, size_t *len)
{
    if (w->path || !w->finished) {
        *len = 0;
        return NULL;
    }
    *len = w->mem_len;
    return w->mem;
}

void modelfile_writer_free(modelfile_writer_t *w)
{
    if (!w)
        return;
    if (w->fd >= 0)
        close(w->fd);
    if (w->tmp && !w->finished)
        unlink(w->tmp);
    free(w->path);
    free(w->tmp);
    free(w->mem);
    free(w->table);
    free(w->meta);
    free(w);
}

/* ================================================================ test hook */

void modelfile_fix_checksums(void *buf, size_t len)
{
    unsigned char *b = buf;
    if (len < MODELFILE_HEADER_SIZE)
        return;
    uint64_t toff = get64(b + H_TOFF), tsize = get64(b + H_TSIZE);
    if (in_bounds(toff, tsize, len)) {
        for (uint64_t e = toff; tsize - (e - toff) >= MODELFILE_ENTRY_SIZE; e += MODELFILE_ENTRY_SIZE) {
            uint64_t off = get64(b + e + E_OFFSET), l = get64(b + e + E_LENGTH);
            if (in_bounds(off, l, len))
                put32(b + e + E_CRC, crc32c(0, b + off, (size_t)l));
        }
        put32(b + H_TCRC, crc32c(0, b + toff, (size_t)tsize));
    }
    put32(b + H_HCRC, crc32c(0, b, H_HCRC));
}
