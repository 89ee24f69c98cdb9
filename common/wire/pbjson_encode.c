/*
 * pbjson_encode.c: protobuf-c message -> proto3 JSON text (see pbjson.h).
 *
 * Walks the descriptor's fields in order and appends to one growing buffer.
 * Numbers are formatted here rather than by cJSON so that the output matches
 * Go's protojson byte for byte: 64-bit integers quoted, floats as the
 * shortest decimal that parses back to the same float (found by bisecting
 * on the precision), laid out 'f'-style unless |v| < 1e-6 or >= 1e21.
 */
#include "common/wire/pbjson.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/wire/pbjson_internal.h"
#include "common/text/utf8.h"

#define ENCODE_MAX_DEPTH 100

typedef struct {
    char *p;
    size_t len, cap;
    int oom;
    const pbjson_opts_t *o;
} jbuf_t;

static void jb_put(jbuf_t *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (np == NULL) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void jb_puts(jbuf_t *b, const char *s) { jb_put(b, s, strlen(s)); }

static void jb_putc(jbuf_t *b, char c) { jb_put(b, &c, 1); }

static void jb_newline(jbuf_t *b, int depth)
{
    if (b->o->indent <= 0)
        return;
    jb_putc(b, '\n');
    for (int i = 0; i < depth * b->o->indent; i++)
        jb_putc(b, ' ');
}

/* A JSON string as protojson writes it: ", \ and controls below 0x20
 * escaped (short forms where JSON has them, else \u00xx), the rest raw. */
static void put_string(jbuf_t *b, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    jb_putc(b, '"');
    size_t run = 0; /* start of the pending run of bytes copied as they are */
    for (size_t i = 0; i < n;) {
        unsigned char c = u[i];
        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
            i++;
            continue;
        }
        size_t ul = c >= 0x80 ? utf8_seq_len((const char *)u + i, n - i) : 0;
        if (ul > 0) {
            i += ul;
            continue;
        }
        jb_put(b, s + run, i - run);
        char esc[8];
        switch (c) {
        case '"': jb_puts(b, "\\\""); break;
        case '\\': jb_puts(b, "\\\\"); break;
        case '\b': jb_puts(b, "\\b"); break;
        case '\f': jb_puts(b, "\\f"); break;
        case '\n': jb_puts(b, "\\n"); break;
        case '\r': jb_puts(b, "\\r"); break;
        case '\t': jb_puts(b, "\\t"); break;
        default:
            if (c < 0x80) {
                snprintf(esc, sizeof esc, "\\u%04x", c);
                jb_puts(b, esc);
            } else {
                jb_puts(b, "\xEF\xBF\xBD"); /* invalid UTF-8 byte -> U+FFFD */
            }
        }
        i++;
        run = i;
    }
    jb_put(b, s + run, n - run);
    jb_putc(b, '"');
}

static void put_base64(jbuf_t *b, const uint8_t *d, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    jb_putc(b, '"');
    char q[4];
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8 | d[i + 2];
        q[0] = tab[v >> 18];
        q[1] = tab[(v >> 12) & 63];
        q[2] = tab[(v >> 6) & 63];
        q[3] = tab[v & 63];
        jb_put(b, q, 4);
    }
    if (i < n) {
        uint32_t v = (uint32_t)d[i] << 16 | (i + 1 < n ? (uint32_t)d[i + 1] << 8 : 0);
        q[0] = tab[v >> 18];
        q[1] = tab[(v >> 12) & 63];
        q[2] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        q[3] = '=';
        jb_put(b, q, 4);
    }
    jb_putc(b, '"');
}

/* Go protojson's float layout (see the file comment). */
static void put_float(jbuf_t *b, double v, int is_float)
{
    if (isnan(v)) {
        jb_puts(b, "\"NaN\"");
        return;
    }
    if (isinf(v)) {
        jb_puts(b, v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
        return;
    }
    /* Shortest precision that reads back: round-tripping is monotonic in the
     * number of digits (more digits are never farther away), so bisect. */
    char tmp[64];
    int lo = 1, hi = is_float ? 9 : 17;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        snprintf(tmp, sizeof tmp, "%.*e", mid - 1, v);
        if (is_float ? strtof(tmp, NULL) == (float)v : strtod(tmp, NULL) == v)
            hi = mid;
        else
            lo = mid + 1;
    }
    snprintf(tmp, sizeof tmp, "%.*e", hi - 1, v);
    /* tmp is [-]d[.ddd]e(+|-)xx: split into sign, digits and exponent. */
    char digits[32];
    int nd = 0, neg = 0;
    const char *s = tmp;
    if (*s == '-') {
        neg = 1;
        s++;
    }
    for (; *s != 'e' && *s != '\0'; s++)
        if (*s >= '0' && *s <= '9' && nd < (int)sizeof digits - 1)
            digits[nd++] = *s;
    digits[nd] = '\0';
    int exp10 = *s == 'e' ? atoi(s + 1) : 0;
    while (nd > 1 && digits[nd - 1] == '0') /* %.*e pads; Go's shortest form does not */
        digits[--nd] = '\0';

    double a = fabs(v);
    int efmt = is_float ? (a != 0 && ((float)a < 1e-6f || (float)a >= 1e21f))
                        : (a != 0 && (a < 1e-6 || a >= 1e21));
    char out[80];
    size_t o = 0;
    if (neg)
        out[o++] = '-';
    if (efmt) {
        out[o++] = digits[0];
        if (nd > 1) {
            out[o++] = '.';
            memcpy(out + o, digits + 1, (size_t)nd - 1);
            o += (size_t)nd - 1;
        }
        o += (size_t)snprintf(out + o, sizeof out - o, exp10 < 0 ? "e-%d" : "e+%02d",
                              exp10 < 0 ? -exp10 : exp10);
    } else if (exp10 >= 0) {
        for (int i = 0; i <= exp10 || i < nd; i++) {
            if (i == exp10 + 1)
                out[o++] = '.';
            out[o++] = i < nd ? digits[i] : '0';
        }
    } else {
        out[o++] = '0';
        out[o++] = '.';
        for (int i = 0; i < -exp10 - 1; i++)
            out[o++] = '0';
        memcpy(out + o, digits, (size_t)nd);
        o += (size_t)nd;
    }
    jb_put(b, out, o);
}

static void put_fmt_u64(jbuf_t *b, uint64_t v, int neg, int quote)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%s%s%" PRIu64 "%s", quote ? "\"" : "", neg ? "-" : "", v,
                     quote ? "\"" : "");
    jb_put(b, tmp, (size_t)n);
}

static void put_int(jbuf_t *b, int64_t v, int quote)
{
    uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    put_fmt_u64(b, mag, v < 0, quote);
}

static int put_message(jbuf_t *b, const ProtobufCMessage *m, int depth, err_t *err);

/* One value of a field (a singular field or one element of a repeated one).
 * quote_all: map keys, which JSON requires to be strings. */
static int put_value(jbuf_t *b, const ProtobufCFieldDescriptor *f, const void *v, int depth,
                     int quote_all, err_t *err)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        put_int(b, *(const int32_t *)v, quote_all);
        break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        put_fmt_u64(b, *(const uint32_t *)v, 0, quote_all);
        break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        put_int(b, *(const int64_t *)v, 1);
        break;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        put_fmt_u64(b, *(const uint64_t *)v, 0, 1);
        break;
    case PROTOBUF_C_TYPE_FLOAT:
        put_float(b, *(const float *)v, 1);
        break;
    case PROTOBUF_C_TYPE_DOUBLE:
        put_float(b, *(const double *)v, 0);
        break;
    case PROTOBUF_C_TYPE_BOOL:
        jb_puts(b, *(const protobuf_c_boolean *)v ? (quote_all ? "\"true\"" : "true")
                                                   : (quote_all ? "\"false\"" : "false"));
        break;
    case PROTOBUF_C_TYPE_ENUM: {
        int ev = *(const int *)v;
        const ProtobufCEnumValue *e =
            f->descriptor ? protobuf_c_enum_descriptor_get_value(f->descriptor, ev) : NULL;
        if (e != NULL) {
            jb_putc(b, '"');
            jb_puts(b, e->name);
            jb_putc(b, '"');
        } else {
            put_int(b, ev, 0);
        }
        break;
    }
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)v;
        if (s == NULL)
            s = "";
        put_string(b, s, strlen(s));
        break;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *bd = v;
        put_base64(b, bd->data, bd->data ? bd->len : 0);
        break;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *sub = *(ProtobufCMessage *const *)v;
        if (sub == NULL)
            jb_puts(b, "{}");
        else if (put_message(b, sub, depth, err) < 0)
            return -1;
        break;
    }
    }
    return 0;
}

static int is_zero_value(const ProtobufCFieldDescriptor *f, const void *v)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_FIXED64:
        return *(const uint64_t *)v == 0;
    case PROTOBUF_C_TYPE_DOUBLE: {
        double d;
        memcpy(&d, v, sizeof d);
        return d == 0 && !signbit(d);
    }
    case PROTOBUF_C_TYPE_FLOAT: {
        float x;
        memcpy(&x, v, sizeof x);
        return x == 0 && !signbit(x);
    }
    case PROTOBUF_C_TYPE_BOOL:
        return *(const protobuf_c_boolean *)v == 0;
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)v;
        return s == NULL || *s == '\0';
    }
    case PROTOBUF_C_TYPE_BYTES:
        return ((const ProtobufCBinaryData *)v)->len == 0;
    case PROTOBUF_C_TYPE_MESSAGE:
        return *(ProtobufCMessage *const *)v == NULL;
    default:
        return *(const uint32_t *)v == 0;
    }
}

static void put_name(jbuf_t *b, const ProtobufCFieldDescriptor *f, int *first, int depth)
{
    if (!*first)
        jb_putc(b, ',');
    *first = 0;
    jb_newline(b, depth);
    jb_putc(b, '"');
    if (b->o->camel_case) {
        char cn[256];
        pbjson_camel_name(f->name, cn, sizeof cn);
        jb_puts(b, cn);
    } else {
        jb_puts(b, f->name);
    }
    jb_puts(b, b->o->indent > 0 ? "\": " : "\":");
}

static int put_map(jbuf_t *b, const ProtobufCFieldDescriptor *f, size_t n, void *const *arr,
                   int depth, err_t *err)
{
    const ProtobufCMessageDescriptor *e = f->descriptor;
    const ProtobufCFieldDescriptor *kf = &e->fields[0], *vf = &e->fields[1];
    jb_putc(b, '{');
    int first = 1;
    for (size_t i = 0; i < n; i++) {
        const ProtobufCMessage *ent = arr[i];
        if (ent == NULL)
            continue;
        if (!first)
            jb_putc(b, ',');
        first = 0;
        jb_newline(b, depth + 1);
        put_value(b, kf, PBJSON_MEMBER(ent, kf->offset), depth, 1, err);
        jb_puts(b, b->o->indent > 0 ? ": " : ":");
        if (put_value(b, vf, PBJSON_MEMBER(ent, vf->offset), depth + 1, 0, err) < 0)
            return -1;
    }
    if (!first)
        jb_newline(b, depth);
    jb_putc(b, '}');
    return 0;
}

static int put_message(jbuf_t *b, const ProtobufCMessage *m, int depth, err_t *err)
{
    if (depth > ENCODE_MAX_DEPTH)
        return err_set(err, "message nested deeper than %d levels", ENCODE_MAX_DEPTH);
    const ProtobufCMessageDescriptor *d = m->descriptor;
    int emit = b->o->emit_defaults, first = 1;
    jb_putc(b, '{');
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const void *v = PBJSON_MEMBER(m, f->offset);
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            /* A oneof member has presence: written when selected, even if zero. */
            if (*(const uint32_t *)PBJSON_MEMBER(m, f->quantifier_offset) != f->id)
                continue;
            put_name(b, f, &first, depth + 1);
            if (f->type == PROTOBUF_C_TYPE_MESSAGE && *(ProtobufCMessage *const *)v == NULL)
                jb_puts(b, "{}");
            else if (put_value(b, f, v, depth + 1, 0, err) < 0)
                return -1;
            continue;
        }
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)PBJSON_MEMBER(m, f->quantifier_offset);
            const char *arr = *(char *const *)v;
            if (arr == NULL)
                n = 0;
            if (n == 0 && !emit)
                continue;
            put_name(b, f, &first, depth + 1);
            if (pbjson_is_map_field(d, f)) {
                if (put_map(b, f, n, (void *const *)arr, depth + 1, err) < 0)
                    return -1;
                continue;
            }
            size_t sz = pbjson_elt_size(f->type);
            jb_putc(b, '[');
            for (size_t j = 0; j < n; j++) {
                if (j > 0)
                    jb_putc(b, ',');
                jb_newline(b, depth + 2);
                if (put_value(b, f, arr + j * sz, depth + 2, 0, err) < 0)
                    return -1;
            }
            if (n > 0)
                jb_newline(b, depth + 1);
            jb_putc(b, ']');
            continue;
        }
        int present;
        if (pbjson_has_flag(f))
            present = *(const protobuf_c_boolean *)PBJSON_MEMBER(m, f->quantifier_offset);
        else if (f->label == PROTOBUF_C_LABEL_REQUIRED)
            present = 1;
        else
            present = !is_zero_value(f, v);
        if (!present && !emit)
            continue;
        put_name(b, f, &first, depth + 1);
        if (f->type == PROTOBUF_C_TYPE_MESSAGE && *(ProtobufCMessage *const *)v == NULL)
            jb_puts(b, "null");
        else if (!present && pbjson_has_flag(f))
            jb_puts(b, "null"); /* explicit presence, unset: protojson writes null */
        else if (put_value(b, f, v, depth + 1, 0, err) < 0)
            return -1;
    }
    if (!first)
        jb_newline(b, depth);
    jb_putc(b, '}');
    return 0;
}

char *pbjson_encode(const ProtobufCMessage *m, const pbjson_opts_t *o, size_t *len, err_t *err)
{
    static const pbjson_opts_t twirp = PBJSON_OPTS_TWIRP;
    if (m == NULL || m->descriptor == NULL) {
        err_set(err, "pbjson_encode: no message");
        return NULL;
    }
    jbuf_t b = {NULL, 0, 0, 0, o != NULL ? o : &twirp};
    if (put_message(&b, m, 0, err) < 0) {
        free(b.p);
        return NULL;
    }
    if (b.oom) {
        free(b.p);
        err_set(err, "out of memory encoding %s as JSON", m->descriptor->name);
        return NULL;
    }
    if (len != NULL)
        *len = b.len;
    return b.p;
}
