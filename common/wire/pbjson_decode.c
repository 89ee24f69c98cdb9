/*
 * pbjson_decode.c: proto3 JSON text -> protobuf-c message (see pbjson.h).
 *
 * A recursive-descent JSON parser that fills the message while it reads, so
 * there is no intermediate tree: the field descriptor of each key says how to
 * read its value. Own parser rather than cJSON because the mapping needs what
 * a tree of doubles loses: the exact text of numbers (int64 values), the
 * position of a syntax error, NUL escapes and invalid UTF-8 detected rather
 * than silently truncated, and duplicate keys.
 *
 * Every allocation is hooked into the message as soon as it is made (array
 * counts only cover initialised slots), so on any error the partly built
 * message is released with protobuf_c_message_free_unpacked().
 */
#include "common/wire/pbjson.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/wire/pbjson_internal.h"
#include "common/text/utf8.h"

#define PATH_MAX_LEN 200

typedef struct {
    const char *s, *p, *end;
    int depth, max_depth;
    size_t elements, max_elements;
    err_t *err;
    char path[PATH_MAX_LEN + 1];
    size_t plen;
} jdec_t;

/* ---- errors ---- */

static const char *path_or_root(jdec_t *d) { return d->plen ? d->path : "(message)"; }

static int syntax_error(jdec_t *d, const char *what)
{
    return err_set(d->err, "invalid JSON at offset %zu: %s", (size_t)(d->p - d->s), what);
}

static int oom(jdec_t *d) { return err_set(d->err, "out of memory decoding JSON"); }

/* Appends ".name" (or "name" at the root) or "[i]" to the path; returns
 * the old length for path_pop(). Long paths are cut, never overflowed. */
static size_t path_append(jdec_t *d, const char *text)
{
    size_t old = d->plen;
    size_t n = strlen(text);
    if (d->plen + n > PATH_MAX_LEN)
        n = d->plen < PATH_MAX_LEN ? PATH_MAX_LEN - d->plen : 0;
    memcpy(d->path + d->plen, text, n);
    d->plen += n;
    d->path[d->plen] = '\0';
    return old;
}

static size_t path_push_name(jdec_t *d, const char *name)
{
    size_t old = d->plen;
    if (d->plen > 0)
        path_append(d, ".");
    path_append(d, name);
    return old;
}

static size_t path_push_index(jdec_t *d, size_t idx)
{
    char tmp[32];
    snprintf(tmp, sizeof tmp, "[%zu]", idx);
    return path_append(d, tmp);
}

static void path_pop(jdec_t *d, size_t old)
{
    d->plen = old;
    d->path[old] = '\0';
}

/* ---- lexing ---- */

static void skip_ws(jdec_t *d)
{
    while (d->p < d->end && (*d->p == ' ' || *d->p == '\t' || *d->p == '\n' || *d->p == '\r'))
        d->p++;
}

static int peek(jdec_t *d)
{
    skip_ws(d);
    return d->p < d->end ? (unsigned char)*d->p : -1;
}

static int expect(jdec_t *d, char c, const char *what)
{
    if (peek(d) != c)
        return syntax_error(d, what);
    d->p++;
    return 0;
}

static int literal(jdec_t *d, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(d->end - d->p) < n || memcmp(d->p, word, n) != 0)
        return syntax_error(d, "unexpected character");
    d->p += n;
    return 0;
}

static int hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

/* Reads a JSON string (d->p at the opening quote) into a new NUL-terminated
 * buffer. The decoded text is never longer than the source. */
static int parse_string(jdec_t *d, char **out, size_t *outlen)
{
    d->p++; /* opening quote */
    const char *start = d->p;
    const char *q = start;
    while (q < d->end && *q != '"')
        q += (*q == '\\' && q + 1 < d->end) ? 2 : 1;
    if (q >= d->end)
        return syntax_error(d, "unterminated string");
    char *buf = malloc((size_t)(q - start) + 1);
    if (buf == NULL)
        return oom(d);
    size_t n = 0;
    const char *p = start;
    while (p < q) {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20) {
            d->p = p;
            free(buf);
            return syntax_error(d, "control character in string");
        }
        if (c >= 0x80) {
            size_t l = utf8_seq_len(p, (size_t)(q - p));
            if (l == 0) {
                d->p = p;
                free(buf);
                return syntax_error(d, "invalid UTF-8 in string");
            }
            memcpy(buf + n, p, l);
            n += l;
            p += l;
            continue;
        }
        if (c != '\\') {
            buf[n++] = (char)c;
            p++;
            continue;
        }
        d->p = p;
        char e = p[1];
        p += 2;
        switch (e) {
        case '"': buf[n++] = '"'; break;
        case '\\': buf[n++] = '\\'; break;
        case '/': buf[n++] = '/'; break;
        case 'b': buf[n++] = '\b'; break;
        case 'f': buf[n++] = '\f'; break;
        case 'n': buf[n++] = '\n'; break;
        case 'r': buf[n++] = '\r'; break;
        case 't': buf[n++] = '\t'; break;
        case 'u': {
            unsigned cp, lo;
            if (q - p < 4 || hex4(p, &cp) < 0) {
                free(buf);
                return syntax_error(d, "bad \\u escape");
            }
            p += 4;
            if (cp >= 0xDC00 && cp <= 0xDFFF) {
                free(buf);
                return syntax_error(d, "unpaired UTF-16 surrogate in \\u escape");
            }
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (q - p < 6 || p[0] != '\\' || p[1] != 'u' || hex4(p + 2, &lo) < 0 ||
                    lo < 0xDC00 || lo > 0xDFFF) {
                    free(buf);
                    return syntax_error(d, "unpaired UTF-16 surrogate in \\u escape");
                }
                p += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            if (cp == 0) {
                free(buf);
                return syntax_error(d, "\\u0000 (NUL) is not allowed in strings");
            }
            /* 6 escaped source bytes always cover the <= 4 bytes written. */
            if (cp < 0x80)
                buf[n++] = (char)cp;
            else if (cp < 0x800) {
                buf[n++] = (char)(0xC0 | (cp >> 6));
                buf[n++] = (char)(0x80 | (cp & 0x3F));
            } else if (cp < 0x10000) {
                buf[n++] = (char)(0xE0 | (cp >> 12));
                buf[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                buf[n++] = (char)(0x80 | (cp & 0x3F));
            } else {
                buf[n++] = (char)(0xF0 | (cp >> 18));
                buf[n++] = (char)(0x80 | ((cp >> 12) & 0x3F));
                buf[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                buf[n++] = (char)(0x80 | (cp & 0x3F));
            }
            break;
        }
        default:
            free(buf);
            return syntax_error(d, "bad escape in string");
        }
    }
    buf[n] = '\0';
    d->p = q + 1;
    *out = buf;
    if (outlen != NULL)
        *outlen = n;
    return 0;
}

/* Checks the JSON number grammar at s[0..n) and returns its length (0 if it
 * is not a number). */
static size_t number_len(const char *s, size_t n)
{
    size_t i = 0;
    if (i < n && s[i] == '-')
        i++;
    if (i >= n)
        return 0;
    if (s[i] == '0')
        i++;
    else if (s[i] >= '1' && s[i] <= '9')
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
    else
        return 0;
    if (i < n && s[i] == '.') {
        i++;
        size_t st = i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == st)
            return 0;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t st = i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == st)
            return 0;
    }
    return i;
}

static int lex_number(jdec_t *d, const char **text, size_t *len)
{
    size_t n = number_len(d->p, (size_t)(d->end - d->p));
    if (n == 0)
        return syntax_error(d, "bad number");
    *text = d->p;
    *len = n;
    d->p += n;
    return 0;
}

/* ---- numbers ---- */

enum { NUM_OK = 0, NUM_FRACTION = -1, NUM_RANGE = -2 };

/* The exact integer value of a JSON number text (sign and magnitude), with
 * no detour through double: "1e2" and "5.0" are integers, "1.5" is not. */
static int number_to_int(const char *s, size_t n, int *neg, uint64_t *mag)
{
    size_t i = 0;
    *neg = 0;
    *mag = 0;
    if (s[0] == '-') {
        *neg = 1;
        i++;
    }
    size_t ib = i;
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++;
    size_t ie = i, fb = i, fe = i;
    if (i < n && s[i] == '.') {
        fb = ++i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        fe = i;
    }
    long exp = 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        int eneg = 0;
        if (s[i] == '+' || s[i] == '-')
            eneg = s[i++] == '-';
        for (; i < n; i++)
            if (exp < 100000)
                exp = exp * 10 + (s[i] - '0');
        if (eneg)
            exp = -exp;
    }
    /* Digits are s[ib..ie) then s[fb..fe); value = digits * 10^(exp - fraclen). */
    size_t ni = ie - ib, nf = fe - fb, total = ni + nf;
#define DIGIT(k) ((k) < ni ? s[ib + (k)] : s[fb + (k) - ni])
    size_t lead = 0;
    while (lead < total && DIGIT(lead) == '0')
        lead++;
    if (lead == total)
        return NUM_OK; /* zero, whatever the exponent */
    long e = exp - (long)nf;
    size_t last = total; /* one past the last digit that counts */
    if (e < 0) {
        if ((size_t)-e > total - lead)
            return NUM_FRACTION;
        for (size_t k = total - (size_t)-e; k < total; k++)
            if (DIGIT(k) != '0')
                return NUM_FRACTION;
        last = total - (size_t)-e;
        e = 0;
    }
    if (last - lead + (size_t)e > 20)
        return NUM_RANGE;
    uint64_t v = 0;
    for (size_t k = lead; k < last + (size_t)e; k++) {
        unsigned dgt = k < last ? (unsigned)(DIGIT(k) - '0') : 0;
        if (v > (UINT64_MAX - dgt) / 10)
            return NUM_RANGE;
        v = v * 10 + dgt;
    }
#undef DIGIT
    *mag = v;
    return NUM_OK;
}

/* Quotes a token's text for an error message, shortened to 40 bytes. */
static void show(const char *s, size_t n, char *buf, size_t size)
{
    if (n > 40)
        snprintf(buf, size, "%.37s...", s);
    else
        snprintf(buf, size, "%.*s", (int)n, s);
    for (char *c = buf; *c; c++)
        if ((unsigned char)*c < 0x20)
            *c = '?';
}

/* Reads an integer field from a number or a numeric string. */
static int read_integer(jdec_t *d, ProtobufCType t, void *out)
{
    int c = peek(d);
    const char *text = NULL;
    size_t len = 0;
    char *str = NULL;
    char shown[48];
    if (c == '"') {
        if (parse_string(d, &str, &len) < 0)
            return -1;
        text = str;
        if (len == 0 || number_len(str, len) != len) {
            show(str, len, shown, sizeof shown);
            free(str);
            return err_set(d->err, "%s: expected integer, got string \"%s\"", path_or_root(d),
                           shown);
        }
    } else if (c == '-' || (c >= '0' && c <= '9')) {
        if (lex_number(d, &text, &len) < 0)
            return -1;
    } else {
        return -2; /* wrong JSON type: the caller reports it */
    }
    int neg;
    uint64_t mag;
    int rc = number_to_int(text, len, &neg, &mag);
    show(text, len, shown, sizeof shown);
    free(str);
    if (rc == NUM_FRACTION)
        return err_set(d->err, "%s: %s is not an integer", path_or_root(d), shown);
    const char *tname;
    int ok;
    switch (t) {
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        tname = "uint32";
        ok = rc == NUM_OK && (mag == 0 || !neg) && mag <= UINT32_MAX;
        if (ok)
            *(uint32_t *)out = (uint32_t)mag;
        break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        tname = "int64";
        ok = rc == NUM_OK && mag <= (neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX);
        if (ok)
            *(int64_t *)out = neg ? (int64_t)(0 - mag) : (int64_t)mag;
        break;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        tname = "uint64";
        ok = rc == NUM_OK && (mag == 0 || !neg);
        if (ok)
            *(uint64_t *)out = mag;
        break;
    default: /* int32, sint32, sfixed32, enum numbers */
        tname = t == PROTOBUF_C_TYPE_ENUM ? "enum" : "int32";
        ok = rc == NUM_OK && mag <= (neg ? (uint64_t)INT32_MAX + 1 : (uint64_t)INT32_MAX);
        if (ok)
            *(int32_t *)out = neg ? (int32_t)(0 - (int64_t)mag) : (int32_t)mag;
        break;
    }
    if (!ok)
        return err_set(d->err, "%s: %s is out of range for %s", path_or_root(d), shown, tname);
    return 0;
}

/* Parses the validated number text s[0..n) as a float or double. */
static int parse_float_text(jdec_t *d, const char *s, size_t n, int is_float, void *out)
{
    char local[64], *buf = local;
    if (n >= sizeof local && (buf = malloc(n + 1)) == NULL)
        return oom(d);
    memcpy(buf, s, n);
    buf[n] = '\0';
    int inf;
    if (is_float) {
        float v = strtof(buf, NULL);
        inf = isinf(v);
        *(float *)out = v;
    } else {
        double v = strtod(buf, NULL);
        inf = isinf(v);
        *(double *)out = v;
    }
    char shown[48];
    show(s, n, shown, sizeof shown);
    if (buf != local)
        free(buf);
    if (inf)
        return err_set(d->err, "%s: %s is out of range for %s", path_or_root(d), shown,
                       is_float ? "float" : "double");
    return 0;
}

static int read_float(jdec_t *d, int is_float, void *out)
{
    int c = peek(d);
    if (c == '-' || (c >= '0' && c <= '9')) {
        const char *text = NULL;
        size_t len = 0;
        if (lex_number(d, &text, &len) < 0)
            return -1;
        return parse_float_text(d, text, len, is_float, out);
    }
    if (c != '"')
        return -2;
    char *str;
    size_t len = 0;
    if (parse_string(d, &str, &len) < 0)
        return -1;
    double special = 0;
    int is_special = 1;
    if (strcmp(str, "NaN") == 0)
        special = NAN;
    else if (strcmp(str, "Infinity") == 0)
        special = INFINITY;
    else if (strcmp(str, "-Infinity") == 0)
        special = -INFINITY;
    else
        is_special = 0;
    int rc = 0;
    if (is_special) {
        if (is_float)
            *(float *)out = (float)special;
        else
            *(double *)out = special;
    } else if (len > 0 && number_len(str, len) == len) {
        rc = parse_float_text(d, str, len, is_float, out);
    } else {
        char shown[48];
        show(str, len, shown, sizeof shown);
        rc = err_set(d->err, "%s: expected number, got string \"%s\"", path_or_root(d), shown);
    }
    free(str);
    return rc;
}

/* ---- base64 ---- */

static int b64val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

/* Standard or URL-safe alphabet, padding optional (but if present, right). */
static int base64_decode(const char *s, size_t n, uint8_t *out, size_t *outlen)
{
    size_t pad = 0;
    if (n % 4 == 0 && n >= 4) {
        if (s[n - 1] == '=')
            pad++;
        if (s[n - 2] == '=')
            pad++;
    }
    n -= pad;
    if (n % 4 == 1)
        return -1;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64val((unsigned char)s[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    *outlen = o;
    return 0;
}

/* ---- values ---- */

static const char *token_kind(int c)
{
    switch (c) {
    case '{': return "object";
    case '[': return "array";
    case '"': return "string";
    case 't':
    case 'f': return "boolean";
    case 'n': return "null";
    case -1: return "end of input";
    default: return (c == '-' || (c >= '0' && c <= '9')) ? "number" : "invalid JSON";
    }
}

static int wrong_type(jdec_t *d, const char *want)
{
    int c = peek(d);
    if (c == '"') {
        char *str;
        size_t len = 0;
        char shown[48];
        if (parse_string(d, &str, &len) < 0)
            return -1;
        show(str, len, shown, sizeof shown);
        free(str);
        return err_set(d->err, "%s: expected %s, got string \"%s\"", path_or_root(d), want, shown);
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        size_t n = number_len(d->p, (size_t)(d->end - d->p));
        if (n == 0)
            return syntax_error(d, "bad number");
        char shown[48];
        show(d->p, n, shown, sizeof shown);
        return err_set(d->err, "%s: expected %s, got number %s", path_or_root(d), want, shown);
    }
    /* A misspelt literal is a syntax error, not a type error. */
    if ((c == 't' && literal(d, "true") < 0) || (c == 'f' && literal(d, "false") < 0) ||
        (c == 'n' && literal(d, "null") < 0))
        return -1;
    if (c == 't' || c == 'f' || c == 'n' || c == '{' || c == '[')
        return err_set(d->err, "%s: expected %s, got %s", path_or_root(d), want, token_kind(c));
    return syntax_error(d, "unexpected character");
}

static int skip_value(jdec_t *d);

static int decode_object(jdec_t *d, const ProtobufCMessageDescriptor *desc, ProtobufCMessage *m);

static ProtobufCMessage *new_message(const ProtobufCMessageDescriptor *desc)
{
    ProtobufCMessage *m = malloc(desc->sizeof_message);
    if (m != NULL)
        desc->message_init(m);
    return m;
}

/* Stores an empty string the way protobuf-c's init does when the field's
 * default is "", so free_unpacked leaves it alone; otherwise the string must
 * be heap memory. */
static char *store_string(const ProtobufCFieldDescriptor *f, char *str, int singular)
{
    if (singular && str[0] == '\0' && f->default_value != NULL &&
        *(const char *)f->default_value == '\0') {
        free(str);
        return (char *)f->default_value;
    }
    return str;
}

/* Reads one value of field f into v (a singular member or an array slot,
 * zeroed or holding the init default). Returns -2, consuming nothing, when
 * the JSON value has the wrong type for f. */
static int read_value(jdec_t *d, const ProtobufCFieldDescriptor *f, void *v, int singular)
{
    int c = peek(d);
    switch (f->type) {
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_DOUBLE:
        return read_float(d, f->type == PROTOBUF_C_TYPE_FLOAT, v);
    case PROTOBUF_C_TYPE_BOOL:
        if (c == 't' || c == 'f') {
            if (literal(d, c == 't' ? "true" : "false") < 0)
                return -1;
            *(protobuf_c_boolean *)v = c == 't';
            return 0;
        }
        return -2;
    case PROTOBUF_C_TYPE_ENUM: {
        if (c != '"')
            return read_integer(d, PROTOBUF_C_TYPE_ENUM, v);
        char *str;
        size_t len = 0;
        if (parse_string(d, &str, &len) < 0)
            return -1;
        const ProtobufCEnumValue *ev =
            f->descriptor ? protobuf_c_enum_descriptor_get_value_by_name(f->descriptor, str) : NULL;
        if (ev == NULL) {
            char shown[48];
            show(str, len, shown, sizeof shown);
            free(str);
            return err_set(d->err, "%s: unknown value \"%s\" for enum %s", path_or_root(d), shown,
                           f->descriptor ? ((const ProtobufCEnumDescriptor *)f->descriptor)->name
                                         : "?");
        }
        free(str);
        *(int *)v = ev->value;
        return 0;
    }
    case PROTOBUF_C_TYPE_STRING: {
        if (c != '"')
            return -2;
        char *str;
        if (parse_string(d, &str, NULL) < 0)
            return -1;
        *(char **)v = store_string(f, str, singular);
        return 0;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        if (c != '"')
            return -2;
        char *str;
        size_t len = 0;
        if (parse_string(d, &str, &len) < 0)
            return -1;
        ProtobufCBinaryData *bd = v;
        uint8_t *data = malloc(len / 4 * 3 + 3);
        size_t n;
        if (data == NULL) {
            free(str);
            return oom(d);
        }
        if (base64_decode(str, len, data, &n) < 0) {
            char shown[48];
            show(str, len, shown, sizeof shown);
            free(str);
            free(data);
            return err_set(d->err, "%s: invalid base64 \"%s\"", path_or_root(d), shown);
        }
        free(str);
        if (n == 0) {
            free(data);
            data = NULL;
        }
        bd->data = data;
        bd->len = n;
        return 0;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        if (c != '{')
            return -2;
        const ProtobufCMessageDescriptor *sd = f->descriptor;
        ProtobufCMessage *sub = new_message(sd);
        if (sub == NULL)
            return oom(d);
        *(ProtobufCMessage **)v = sub;
        return decode_object(d, sd, sub);
    }
    default:
        return read_integer(d, f->type, v);
    }
}

static const char *type_word(const ProtobufCFieldDescriptor *f)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_DOUBLE: return "number";
    case PROTOBUF_C_TYPE_BOOL: return "boolean";
    case PROTOBUF_C_TYPE_ENUM: return "enum name or number";
    case PROTOBUF_C_TYPE_STRING: return "string";
    case PROTOBUF_C_TYPE_BYTES: return "base64 string";
    case PROTOBUF_C_TYPE_MESSAGE: return "object";
    default: return "integer";
    }
}

static int read_value_typed(jdec_t *d, const ProtobufCFieldDescriptor *f, void *v, int singular)
{
    int rc = read_value(d, f, v, singular);
    if (rc == -2)
        return wrong_type(d, type_word(f));
    return rc;
}

static int count_element(jdec_t *d)
{
    if (++d->elements > d->max_elements)
        return err_set(d->err, "%s: more than %zu repeated elements in the request", path_or_root(d),
                       d->max_elements);
    return 0;
}

/* Makes room for one more element and returns the zeroed new slot; the count
 * includes it, so free_unpacked sees it even if filling it fails. */
static void *array_append(jdec_t *d, ProtobufCMessage *m, const ProtobufCFieldDescriptor *f,
                          size_t *cap)
{
    size_t sz = pbjson_elt_size(f->type);
    size_t *n = PBJSON_MEMBER(m, f->quantifier_offset);
    char **arr = PBJSON_MEMBER(m, f->offset);
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 4;
        char *na = realloc(*arr, nc * sz);
        if (na == NULL) {
            oom(d);
            return NULL;
        }
        *arr = na;
        *cap = nc;
    }
    void *slot = *arr + *n * sz;
    memset(slot, 0, sz);
    (*n)++;
    return slot;
}

static int decode_array(jdec_t *d, ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
    if (peek(d) != '[')
        return wrong_type(d, "array");
    if (++d->depth > d->max_depth)
        return err_set(d->err, "%s: JSON nested deeper than %d levels", path_or_root(d),
                       d->max_depth);
    d->p++;
    size_t cap = 0, idx = 0;
    if (peek(d) == ']') {
        d->p++;
        d->depth--;
        return 0;
    }
    for (;;) {
        size_t old = path_push_index(d, idx);
        if (peek(d) == 'n')
            return err_set(d->err, "%s: null is not allowed in a repeated field", path_or_root(d));
        void *slot;
        if (count_element(d) < 0 || (slot = array_append(d, m, f, &cap)) == NULL)
            return -1;
        if (read_value_typed(d, f, slot, 0) < 0)
            return -1;
        path_pop(d, old);
        idx++;
        int c = peek(d);
        if (c == ',') {
            d->p++;
            continue;
        }
        if (c == ']') {
            d->p++;
            break;
        }
        return syntax_error(d, "expected ',' or ']'");
    }
    d->depth--;
    return 0;
}

/* A map key (always a JSON string) converted to the key field's type. */
static int read_map_key(jdec_t *d, const ProtobufCFieldDescriptor *kf, void *v, char *key,
                        size_t len)
{
    if (kf->type == PROTOBUF_C_TYPE_STRING) {
        *(char **)v = key;
        return 0;
    }
    char shown[48];
    show(key, len, shown, sizeof shown);
    int ok = 0;
    if (kf->type == PROTOBUF_C_TYPE_BOOL) {
        ok = strcmp(key, "true") == 0 || strcmp(key, "false") == 0;
        if (ok)
            *(protobuf_c_boolean *)v = key[0] == 't';
    } else if (len > 0 && number_len(key, len) == len) {
        /* Reuse the integer reader on a tiny parser over the key text. */
        jdec_t sub = *d;
        sub.s = sub.p = key;
        sub.end = key + len;
        int rc = read_integer(&sub, kf->type, v);
        free(key);
        return rc == -2 ? -1 : rc;
    }
    free(key);
    if (!ok)
        return err_set(d->err, "%s: bad map key \"%s\"", path_or_root(d), shown);
    return 0;
}

static int decode_map(jdec_t *d, ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
    if (peek(d) != '{')
        return wrong_type(d, "object");
    if (++d->depth > d->max_depth)
        return err_set(d->err, "%s: JSON nested deeper than %d levels", path_or_root(d),
                       d->max_depth);
    d->p++;
    const ProtobufCMessageDescriptor *ed = f->descriptor;
    const ProtobufCFieldDescriptor *kf = &ed->fields[0], *vf = &ed->fields[1];
    size_t cap = 0;
    if (peek(d) == '}') {
        d->p++;
        d->depth--;
        return 0;
    }
    for (;;) {
        if (peek(d) != '"')
            return syntax_error(d, "expected a string key");
        char *key;
        size_t klen;
        if (parse_string(d, &key, &klen) < 0)
            return -1;
        char shown[48];
        show(key, klen, shown, sizeof shown);
        char label[64];
        snprintf(label, sizeof label, "[\"%s\"]", shown);
        size_t old = path_append(d, label);
        ProtobufCMessage **slot;
        ProtobufCMessage *ent;
        if (count_element(d) < 0 || (slot = array_append(d, m, f, &cap)) == NULL ||
            (ent = new_message(ed)) == NULL) {
            free(key);
            return d->err->msg[0] ? -1 : oom(d);
        }
        *slot = ent;
        if (read_map_key(d, kf, PBJSON_MEMBER(ent, kf->offset), key, klen) < 0)
            return -1;
        if (expect(d, ':', "expected ':'") < 0)
            return -1;
        if (peek(d) == 'n')
            return err_set(d->err, "%s: null is not allowed as a map value", path_or_root(d));
        if (read_value_typed(d, vf, PBJSON_MEMBER(ent, vf->offset), 1) < 0)
            return -1;
        if (pbjson_has_flag(vf))
            *(protobuf_c_boolean *)PBJSON_MEMBER(ent, vf->quantifier_offset) = 1;
        if (pbjson_has_flag(kf))
            *(protobuf_c_boolean *)PBJSON_MEMBER(ent, kf->quantifier_offset) = 1;
        path_pop(d, old);
        int c = peek(d);
        if (c == ',') {
            d->p++;
            continue;
        }
        if (c == '}') {
            d->p++;
            break;
        }
        return syntax_error(d, "expected ',' or '}'");
    }
    d->depth--;
    return 0;
}

static int decode_field(jdec_t *d, const ProtobufCMessageDescriptor *desc, ProtobufCMessage *m,
                        const ProtobufCFieldDescriptor *f)
{
    if (peek(d) == 'n') /* null: the field keeps its default */
        return literal(d, "null");
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
        uint32_t *cs = PBJSON_MEMBER(m, f->quantifier_offset);
        if (*cs != 0 && *cs != f->id) {
            const ProtobufCFieldDescriptor *other = protobuf_c_message_descriptor_get_field(desc, *cs);
            return err_set(d->err, "%s: oneof members '%s' and '%s' are both set", path_or_root(d),
                           other ? other->name : "?", f->name);
        }
        /* Set first: the member is zero, so a failure below still frees cleanly. */
        *cs = f->id;
    }
    if (f->label == PROTOBUF_C_LABEL_REPEATED)
        return pbjson_is_map_field(desc, f) ? decode_map(d, m, f) : decode_array(d, m, f);
    /* A oneof string keeps even "" in its own allocation: protobuf-c does not
     * pack a oneof string that points at the default. */
    int singular = !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF);
    if (read_value_typed(d, f, PBJSON_MEMBER(m, f->offset), singular) < 0)
        return -1;
    if (pbjson_has_flag(f))
        *(protobuf_c_boolean *)PBJSON_MEMBER(m, f->quantifier_offset) = 1;
    return 0;
}

/* A field by proto name or by JSON (lowerCamelCase) name. */
static int find_field(const ProtobufCMessageDescriptor *desc, const char *key)
{
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const char *name = desc->fields[i].name;
        if (strcmp(name, key) == 0)
            return (int)i;
        /* Compare key with ToJsonName(name) without building it. */
        const char *k = key;
        int up = 0;
        for (const char *s = name; *s != '\0'; s++) {
            if (*s == '_') {
                up = 1;
                continue;
            }
            char c = (up && *s >= 'a' && *s <= 'z') ? (char)(*s - 'a' + 'A') : *s;
            up = 0;
            if (*k != c)
                goto next;
            k++;
        }
        if (*k == '\0')
            return (int)i;
    next:;
    }
    return -1;
}

static int decode_object(jdec_t *d, const ProtobufCMessageDescriptor *desc, ProtobufCMessage *m)
{
    if (expect(d, '{', "expected '{'") < 0)
        return -1;
    if (++d->depth > d->max_depth)
        return err_set(d->err, "%s: JSON nested deeper than %d levels", path_or_root(d),
                       d->max_depth);
    unsigned char seen_small[64];
    unsigned char *seen = seen_small;
    if (desc->n_fields > sizeof seen_small && (seen = calloc(desc->n_fields, 1)) == NULL)
        return oom(d);
    if (seen == seen_small)
        memset(seen_small, 0, sizeof seen_small);
    int rc = 0;
    if (peek(d) == '}') {
        d->p++;
        goto done;
    }
    for (;;) {
        if (peek(d) != '"') {
            rc = syntax_error(d, "expected a string key");
            goto done;
        }
        char *key;
        if (parse_string(d, &key, NULL) < 0) {
            rc = -1;
            goto done;
        }
        int idx = find_field(desc, key);
        if (expect(d, ':', "expected ':'") < 0) {
            free(key);
            rc = -1;
            goto done;
        }
        if (idx < 0) {
            size_t old = path_push_name(d, key); /* for a depth error inside it */
            free(key);
            rc = skip_value(d);
            if (rc == 0)
                path_pop(d, old);
        } else {
            const ProtobufCFieldDescriptor *f = &desc->fields[idx];
            size_t old = path_push_name(d, f->name);
            if (seen[idx]) {
                rc = err_set(d->err, "%s: field given twice (as \"%s\")", path_or_root(d), key);
            } else {
                seen[idx] = 1;
                rc = decode_field(d, desc, m, f);
            }
            free(key);
            if (rc == 0)
                path_pop(d, old);
        }
        if (rc < 0)
            goto done;
        int c = peek(d);
        if (c == ',') {
            d->p++;
            continue;
        }
        if (c == '}') {
            d->p++;
            break;
        }
        rc = syntax_error(d, "expected ',' or '}'");
        goto done;
    }
done:
    if (seen != seen_small)
        free(seen);
    if (rc == 0)
        d->depth--;
    return rc;
}

/* Validates and skips any JSON value (an unknown field's). */
static int skip_value(jdec_t *d)
{
    int c = peek(d);
    switch (c) {
    case '"': {
        char *s;
        if (parse_string(d, &s, NULL) < 0)
            return -1;
        free(s);
        return 0;
    }
    case 't': return literal(d, "true");
    case 'f': return literal(d, "false");
    case 'n': return literal(d, "null");
    case '{':
    case '[': {
        char close = c == '{' ? '}' : ']';
        if (++d->depth > d->max_depth)
            return err_set(d->err, "%s: JSON nested deeper than %d levels", path_or_root(d),
                           d->max_depth);
        d->p++;
        if (peek(d) == close) {
            d->p++;
            d->depth--;
            return 0;
        }
        for (;;) {
            if (c == '{') {
                if (peek(d) != '"')
                    return syntax_error(d, "expected a string key");
                if (skip_value(d) < 0 || expect(d, ':', "expected ':'") < 0)
                    return -1;
            }
            if (skip_value(d) < 0)
                return -1;
            int n = peek(d);
            if (n == ',') {
                d->p++;
                continue;
            }
            if (n == close) {
                d->p++;
                break;
            }
            return syntax_error(d, c == '{' ? "expected ',' or '}'" : "expected ',' or ']'");
        }
        d->depth--;
        return 0;
    }
    default: {
        const char *t;
        size_t n;
        if (c == '-' || (c >= '0' && c <= '9'))
            return lex_number(d, &t, &n);
        return syntax_error(d, c < 0 ? "unexpected end of input" : "unexpected character");
    }
    }
}

ProtobufCMessage *pbjson_decode_ex(const ProtobufCMessageDescriptor *desc, const char *json,
                                   size_t len, const pbjson_limits_t *lim, err_t *err)
{
    err_t local;
    if (err == NULL)
        err = &local;
    err_clear(err);
    jdec_t d = {0};
    d.s = d.p = json;
    d.end = json + len;
    d.err = err;
    d.max_depth = lim && lim->max_depth > 0 ? lim->max_depth : PBJSON_DEFAULT_MAX_DEPTH;
    d.max_elements =
        lim && lim->max_elements > 0 ? lim->max_elements : PBJSON_DEFAULT_MAX_ELEMENTS;
    size_t max_bytes = lim && lim->max_bytes > 0 ? lim->max_bytes : PBJSON_DEFAULT_MAX_BYTES;
    if (desc == NULL || (json == NULL && len > 0)) {
        err_set(err, "pbjson_decode: no descriptor or input");
        return NULL;
    }
    if (len > max_bytes) {
        err_set(err, "JSON input of %zu bytes exceeds the limit of %zu", len, max_bytes);
        return NULL;
    }
    int c = peek(&d);
    if (c != '{') {
        if (c < 0)
            err_set(err, "empty JSON input, expected an object for %s", desc->name);
        else
            err_set(err, "expected a JSON object for %s, got %s", desc->name, token_kind(c));
        return NULL;
    }
    ProtobufCMessage *m = new_message(desc);
    if (m == NULL) {
        oom(&d);
        return NULL;
    }
    if (decode_object(&d, desc, m) < 0) {
        protobuf_c_message_free_unpacked(m, NULL);
        return NULL;
    }
    if (peek(&d) >= 0) {
        syntax_error(&d, "unexpected data after the object");
        protobuf_c_message_free_unpacked(m, NULL);
        return NULL;
    }
    return m;
}

ProtobufCMessage *pbjson_decode(const ProtobufCMessageDescriptor *desc, const char *json,
                                size_t len, err_t *err)
{
    return pbjson_decode_ex(desc, json, len, NULL, err);
}
