/*
 * csv.c: the delimited-text reader (see csv.h).
 *
 * The input is one contiguous byte range (a read-only mapping or the
 * caller's buffer), so fields are slices into it. A row is scanned left to
 * right once; quoted fields are located with memchr on '"', and only those
 * holding "" are copied (unescaped) into the scratch buffer. Because the
 * scratch buffer can move while it grows, such fields are recorded as
 * offsets and turned into pointers when the row is complete.
 */
#include "common/data/csv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct csv_reader {
    const char *buf;
    size_t len;
    size_t pos;
    uint64_t line;     /* physical line at pos */
    uint64_t row_line; /* line where the current row started */
    uint64_t rows;
    void *map; /* mapping to unmap, or NULL */
    size_t map_len;
    size_t released; /* mapping before this offset was handed back */
    char sep[8];
    size_t sep_len;
    bool quotes;
    csv_field_t *fields;
    unsigned char *in_scratch; /* per field: ptr holds a scratch offset */
    size_t nfields, cap_fields;
    char *scratch;
    size_t scratch_len, scratch_cap;
    char name[256];
};

static int setup(csv_reader_t *r, const char *name, const csv_opts_t *opts, err_t *err)
{
    const char *sep = (opts && opts->sep) ? opts->sep : ",";
    size_t n = strlen(sep);
    if (n == 0 || n >= sizeof r->sep)
        return err_set(err, "%s: separator must be 1 to %zu bytes", name, sizeof r->sep - 1);
    if (memchr(sep, '\n', n) || memchr(sep, '\r', n) || (!(opts && opts->no_quotes) && memchr(sep, '"', n)))
        return err_set(err, "%s: separator may not hold a line end or a quote", name);
    memcpy(r->sep, sep, n + 1);
    r->sep_len = n;
    r->quotes = !(opts && opts->no_quotes);
    r->line = 1;
    snprintf(r->name, sizeof r->name, "%s", name);
    return 0;
}

csv_reader_t *csv_open_buffer(const char *name, const char *buf, size_t len,
                              const csv_opts_t *opts, err_t *err)
{
    csv_reader_t *r = calloc(1, sizeof *r);
    if (r == NULL) {
        err_set(err, "%s: out of memory", name);
        return NULL;
    }
    if (setup(r, name ? name : "(buffer)", opts, err) != 0) {
        free(r);
        return NULL;
    }
    r->buf = len ? buf : "";
    r->len = len;
    return r;
}

csv_reader_t *csv_open_file(const char *path, const char *name, const csv_opts_t *opts,
                            err_t *err)
{
    if (name == NULL)
        name = path;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        err_errno(err, "%s", name);
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        err_errno(err, "%s", name);
        close(fd);
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        err_set(err, "%s: not a regular file", name);
        close(fd);
        return NULL;
    }
    void *map = NULL;
    size_t len = (size_t)st.st_size;
    if (len > 0) {
        map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            err_errno(err, "%s: mmap", name);
            close(fd);
            return NULL;
        }
        (void)madvise(map, len, MADV_SEQUENTIAL);
    }
    close(fd);
    csv_reader_t *r = csv_open_buffer(name, map, len, opts, err);
    if (r == NULL) {
        if (map)
            munmap(map, len);
        return NULL;
    }
    r->map = map;
    r->map_len = len;
    return r;
}

void csv_close(csv_reader_t *r)
{
    if (r == NULL)
        return;
    if (r->map)
        munmap(r->map, r->map_len);
    free(r->fields);
    free(r->in_scratch);
    free(r->scratch);
    free(r);
}

static int push_field(csv_reader_t *r, const char *p, size_t len, bool scratch, err_t *err)
{
    if (r->nfields == r->cap_fields) {
        size_t cap = r->cap_fields ? r->cap_fields * 2 : 16;
        csv_field_t *f = realloc(r->fields, cap * sizeof *f);
        if (f == NULL)
            return err_set(err, "%s:%llu: out of memory", r->name, (unsigned long long)r->row_line);
        r->fields = f;
        unsigned char *s = realloc(r->in_scratch, cap);
        if (s == NULL)
            return err_set(err, "%s:%llu: out of memory", r->name, (unsigned long long)r->row_line);
        r->in_scratch = s;
        r->cap_fields = cap;
    }
    r->fields[r->nfields].ptr = p;
    r->fields[r->nfields].len = len;
    r->in_scratch[r->nfields] = scratch;
    r->nfields++;
    return 0;
}

/* Copies a quoted field's content with "" turned into ", into scratch;
 * returns the offset through *off. */
static int unescape(csv_reader_t *r, const char *p, size_t len, size_t *off, size_t *outlen,
                    err_t *err)
{
    if (r->scratch_cap - r->scratch_len < len) {
        size_t cap = r->scratch_cap ? r->scratch_cap : 256;
        while (cap - r->scratch_len < len)
            cap *= 2;
        char *s = realloc(r->scratch, cap);
        if (s == NULL)
            return err_set(err, "%s:%llu: out of memory", r->name, (unsigned long long)r->row_line);
        r->scratch = s;
        r->scratch_cap = cap;
    }
    char *o = r->scratch + r->scratch_len;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        o[n++] = p[i];
        if (p[i] == '"')
            i++; /* the second quote of a pair */
    }
    *off = r->scratch_len;
    *outlen = n;
    r->scratch_len += n;
    return 0;
}

static bool at_sep(const csv_reader_t *r, size_t pos)
{
    if (r->len - pos < r->sep_len)
        return false;
    return r->sep_len == 1 ? r->buf[pos] == r->sep[0]
                           : memcmp(r->buf + pos, r->sep, r->sep_len) == 0;
}

static void printable(char c, char *out, size_t size)
{
    unsigned char u = (unsigned char)c;
    if (u >= 0x20 && u < 0x7f)
        snprintf(out, size, "'%c'", c);
    else
        snprintf(out, size, "byte 0x%02x", u);
}

/* Hands the pages of rows already read back to the kernel, so a 700 MB file
 * does not stay resident while its rows are being stored elsewhere. A
 * private read-only file mapping refills on access, so csv_data() stays
 * valid. */
static void release_read(csv_reader_t *r)
{
    const size_t chunk = (size_t)32 << 20;
    if (r->map == NULL || r->pos - r->released < chunk)
        return;
    size_t end = r->pos & ~(size_t)0xFFFFF; /* 1 MiB aligned, so page aligned */
    if (end > r->released) {
        (void)madvise((char *)r->map + r->released, end - r->released, MADV_DONTNEED);
        r->released = end;
    }
}

int csv_next(csv_reader_t *r, err_t *err)
{
    const char *b = r->buf;
    size_t len = r->len;
    release_read(r);
    /* Skip blank lines. */
    while (r->pos < len) {
        if (b[r->pos] == '\n') {
            r->pos++;
            r->line++;
        } else if (b[r->pos] == '\r' && (r->pos + 1 == len || b[r->pos + 1] == '\n')) {
            r->pos++;
        } else {
            break;
        }
    }
    if (r->pos >= len)
        return 0;
    r->row_line = r->line;
    r->nfields = 0;
    r->scratch_len = 0;
    size_t pos = r->pos;
    for (;;) {
        /* One field starts at pos. */
        if (r->quotes && pos < len && b[pos] == '"') {
            uint64_t open_line = r->line;
            size_t start = pos + 1, q = start;
            bool doubled = false;
            for (;;) {
                const char *hit = q < len ? memchr(b + q, '"', len - q) : NULL;
                if (hit == NULL) {
                    r->pos = len;
                    return err_set(err, "%s:%llu: unterminated quoted field (opened here)",
                                   r->name, (unsigned long long)open_line);
                }
                q = (size_t)(hit - b);
                if (q + 1 < len && b[q + 1] == '"') {
                    doubled = true;
                    q += 2;
                    continue;
                }
                break;
            }
            for (size_t i = start; i < q; i++)
                if (b[i] == '\n')
                    r->line++;
            if (doubled) {
                size_t off = 0, n = 0;
                if (unescape(r, b + start, q - start, &off, &n, err) != 0)
                    return -1;
                if (push_field(r, (const char *)(uintptr_t)off, n, true, err) != 0)
                    return -1;
            } else if (push_field(r, b + start, q - start, false, err) != 0) {
                return -1;
            }
            pos = q + 1;
            if (pos >= len)
                break;
            if (b[pos] == '\n') {
                pos++;
                r->line++;
                break;
            }
            if (b[pos] == '\r' && pos + 1 == len) {
                pos++;
                break;
            }
            if (b[pos] == '\r' && b[pos + 1] == '\n') {
                pos += 2;
                r->line++;
                break;
            }
            if (at_sep(r, pos)) {
                pos += r->sep_len;
                continue;
            }
            char what[16];
            printable(b[pos], what, sizeof what);
            r->pos = len;
            return err_set(err, "%s:%llu: unexpected %s after closing quote", r->name,
                           (unsigned long long)r->line, what);
        }
        size_t start = pos;
        char s0 = r->sep[0];
        while (pos < len) {
            char c = b[pos];
            if (c == '\n')
                break;
            if (c == s0 && at_sep(r, pos))
                break;
            if (c == '"' && r->quotes) {
                r->pos = len;
                return err_set(err, "%s:%llu: stray quote in unquoted field", r->name,
                               (unsigned long long)r->line);
            }
            pos++;
        }
        size_t end = pos;
        if (pos < len && b[pos] == '\n') {
            if (end > start && b[end - 1] == '\r')
                end--;
            if (push_field(r, b + start, end - start, false, err) != 0)
                return -1;
            pos++;
            r->line++;
            break;
        }
        if (pos >= len) {
            if (end > start && b[end - 1] == '\r')
                end--; /* CR at the very end of input */
            if (push_field(r, b + start, end - start, false, err) != 0)
                return -1;
            break;
        }
        if (push_field(r, b + start, end - start, false, err) != 0)
            return -1;
        pos += r->sep_len;
        if (pos >= len) { /* separator at the very end: one more empty field */
            if (push_field(r, b + pos, 0, false, err) != 0)
                return -1;
            break;
        }
    }
    r->pos = pos;
    for (size_t i = 0; i < r->nfields; i++)
        if (r->in_scratch[i])
            r->fields[i].ptr = r->scratch + (uintptr_t)r->fields[i].ptr;
    r->rows++;
    return 1;
}

size_t csv_nfields(const csv_reader_t *r)
{
    return r->nfields;
}

csv_field_t csv_field(const csv_reader_t *r, size_t i)
{
    if (i >= r->nfields) {
        csv_field_t none = {"", 0};
        return none;
    }
    return r->fields[i];
}

const csv_field_t *csv_fields(const csv_reader_t *r)
{
    return r->fields;
}

uint64_t csv_line(const csv_reader_t *r)
{
    return r->row_line;
}

size_t csv_offset(const csv_reader_t *r)
{
    return r->pos;
}

uint64_t csv_rows(const csv_reader_t *r)
{
    return r->rows;
}

const char *csv_name(const csv_reader_t *r)
{
    return r->name;
}

const char *csv_data(const csv_reader_t *r, size_t *len)
{
    *len = r->len;
    return r->buf;
}

int csv_expect(const csv_reader_t *r, size_t n, err_t *err)
{
    if (r->nfields == n)
        return 0;
    return err_set(err, "%s:%llu: expected %zu fields, found %zu", r->name,
                   (unsigned long long)r->row_line, n, r->nfields);
}

int csv_error(const csv_reader_t *r, err_t *err, const char *fmt, ...)
{
    char msg[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return err_set(err, "%s:%llu: %s", r->name, (unsigned long long)r->row_line, msg);
}

bool csv_field_is(csv_field_t f, const char *s)
{
    size_t n = strlen(s);
    return f.len == n && memcmp(f.ptr, s, n) == 0;
}
