/*
 * httpreq.c: the http-parser wrapper, percent-decoding and route patterns.
 *
 * http-parser calls back with pieces (a header name may arrive in several
 * calls when it straddles two reads), so names, values and the URL are
 * accumulated and a header is committed when the next name starts or the
 * headers end. Limits are checked as the bytes arrive, never after the fact,
 * so a hostile client cannot make us buffer more than the limits allow.
 * on_message_complete pauses the parser: http_parser_execute then returns
 * the bytes of exactly one request, which is how pipelined requests are
 * handed out one by one. Our own errors are recorded in the parser before
 * the callback returns nonzero, so they win over http-parser's generic code.
 */
#include "common/net/httpreq.h"

#include <http_parser.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct strbuf {
    char *s;
    size_t len, cap;
} strbuf_t;

enum { CB_NONE, CB_FIELD, CB_VALUE };

struct httpreq_parser {
    http_parser hp;
    httpreq_limits_t lim;
    httpreq_t *cur;  /* being read */
    httpreq_t *done; /* complete, not yet taken */
    strbuf_t url, field, value, body;
    size_t headers_cap;
    size_t header_bytes;
    int last_cb;
    bool in_message, headers_done, failed, want_continue;
    int err_status;
    char err_msg[160];
};

static int sb_append(strbuf_t *b, const char *d, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *s = realloc(b->s, cap);
        if (s == NULL)
            return -1;
        b->s = s;
        b->cap = cap;
    }
    memcpy(b->s + b->len, d, n);
    b->len += n;
    b->s[b->len] = '\0';
    return 0;
}

static void sb_reset(strbuf_t *b)
{
    b->len = 0;
    if (b->s != NULL)
        b->s[0] = '\0';
}

/* Hands the buffer's string over (an empty string when nothing was added). */
static char *sb_take(strbuf_t *b)
{
    char *s = b->s;
    if (s == NULL)
        s = calloc(1, 1);
    b->s = NULL;
    b->len = b->cap = 0;
    return s;
}

static char *memdup0(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d != NULL) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

void httpreq_free(httpreq_t *r)
{
    if (r == NULL)
        return;
    free(r->target);
    free(r->path);
    free(r->query);
    for (size_t i = 0; i < r->nparams; i++) {
        free(r->params[i].name);
        free(r->params[i].value);
    }
    free(r->params);
    for (size_t i = 0; i < r->nheaders; i++) {
        free(r->headers[i].name);
        free(r->headers[i].value);
    }
    free(r->headers);
    free(r->body);
    free(r);
}

const char *httpreq_header(const httpreq_t *r, const char *name)
{
    for (size_t i = 0; r != NULL && i < r->nheaders; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

const char *httpreq_param(const httpreq_t *r, const char *name)
{
    for (size_t i = 0; r != NULL && i < r->nparams; i++)
        if (strcmp(r->params[i].name, name) == 0)
            return r->params[i].value;
    return NULL;
}

/* ---- percent-decoding */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

char *httpreq_decode(const char *src, size_t len, bool plus_space, size_t *out_len)
{
    char *out = malloc(len + 1);
    if (out == NULL)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = src[i];
        if (c == '%') {
            if (len - i < 3 || hexval(src[i + 1]) < 0 || hexval(src[i + 2]) < 0) {
                free(out);
                return NULL;
            }
            c = (char)(hexval(src[i + 1]) * 16 + hexval(src[i + 2]));
            i += 2;
            if (c == '\0') {
                free(out);
                return NULL;
            }
        } else if (c == '+' && plus_space) {
            c = ' ';
        } else if (c == '\0') {
            free(out);
            return NULL;
        }
        out[o++] = c;
    }
    out[o] = '\0';
    if (out_len != NULL)
        *out_len = o;
    return out;
}

/* ---- parser callbacks */

static int fail(httpreq_parser_t *p, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(httpreq_parser_t *p, int status, const char *fmt, ...)
{
    p->err_status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err_msg, sizeof p->err_msg, fmt, ap);
    va_end(ap);
    return -1;
}

static int fail_oom(httpreq_parser_t *p)
{
    /* Out of memory while reading a request: refuse it like an oversized one. */
    return fail(p, 413, "out of memory while reading the request");
}

/* RFC 9110 token characters. http-parser (non-strict build) lets spaces into
 * header names; "Content-Length : 5" must not slip past as another header. */
static bool is_token(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= ' ' || c >= 127 || strchr("()<>@,;:\\\"/[]?={}", c) != NULL)
            return false;
    }
    return true;
}

static int commit_header(httpreq_parser_t *p)
{
    if (p->last_cb != CB_VALUE && p->last_cb != CB_FIELD)
        return 0;
    httpreq_t *r = p->cur;
    if (r->nheaders >= p->lim.max_headers)
        return fail(p, 431, "more than %zu header fields", p->lim.max_headers);
    if (r->nheaders == p->headers_cap) {
        size_t cap = p->headers_cap ? 2 * p->headers_cap : 16;
        httpreq_kv_t *h = realloc(r->headers, cap * sizeof *h);
        if (h == NULL)
            return fail_oom(p);
        r->headers = h;
        p->headers_cap = cap;
    }
    /* Trailing blanks of a value are not part of it (RFC 9110 5.5). */
    while (p->value.len > 0 && (p->value.s[p->value.len - 1] == ' ' || p->value.s[p->value.len - 1] == '\t'))
        p->value.s[--p->value.len] = '\0';
    if (!is_token(p->field.s, p->field.len))
        return fail(p, 400, "bad header name");
    if (p->value.s != NULL && memchr(p->value.s, '\0', p->value.len) != NULL)
        return fail(p, 400, "NUL byte in a header");
    char *name = sb_take(&p->field), *value = sb_take(&p->value);
    if (name == NULL || value == NULL) {
        free(name);
        free(value);
        return fail_oom(p);
    }
    r->headers[r->nheaders++] = (httpreq_kv_t){name, value};
    p->last_cb = CB_NONE;
    return 0;
}

static int add_header_bytes(httpreq_parser_t *p, size_t n)
{
    p->header_bytes += n;
    if (p->header_bytes > p->lim.max_header_bytes)
        return fail(p, 431, "request header fields too large");
    return 0;
}

static int on_message_begin(http_parser *hp)
{
    httpreq_parser_t *p = hp->data;
    httpreq_free(p->cur);
    p->cur = calloc(1, sizeof *p->cur);
    if (p->cur == NULL)
        return fail_oom(p);
    sb_reset(&p->url);
    sb_reset(&p->field);
    sb_reset(&p->value);
    sb_reset(&p->body);
    p->headers_cap = 0;
    p->header_bytes = 0;
    p->last_cb = CB_NONE;
    p->in_message = true;
    p->headers_done = false;
    return 0;
}

static int on_url(http_parser *hp, const char *at, size_t len)
{
    httpreq_parser_t *p = hp->data;
    if (p->url.len + len > p->lim.max_url_bytes)
        return fail(p, 414, "request target too long");
    return sb_append(&p->url, at, len) == 0 ? 0 : fail_oom(p);
}

static int on_header_field(http_parser *hp, const char *at, size_t len)
{
    httpreq_parser_t *p = hp->data;
    if (p->last_cb == CB_VALUE && commit_header(p) != 0)
        return -1;
    if (p->last_cb != CB_FIELD && add_header_bytes(p, 4) != 0)
        return -1;
    p->last_cb = CB_FIELD;
    if (add_header_bytes(p, len) != 0)
        return -1;
    return sb_append(&p->field, at, len) == 0 ? 0 : fail_oom(p);
}

static int on_header_value(http_parser *hp, const char *at, size_t len)
{
    httpreq_parser_t *p = hp->data;
    if (p->last_cb == CB_NONE && add_header_bytes(p, 4) != 0)
        return -1; /* a value without a name cannot happen, but keep the count honest */
    p->last_cb = CB_VALUE;
    if (add_header_bytes(p, len) != 0)
        return -1;
    return sb_append(&p->value, at, len) == 0 ? 0 : fail_oom(p);
}

/* Splits r->query into decoded parameters: 0, -1 out of memory, -2 an
 * invalid escape. */
static int split_query(httpreq_t *r)
{
    const char *q = r->query;
    size_t n = 0;
    for (const char *s = q; *s; s++)
        n += *s == '&';
    r->params = calloc(n + 1, sizeof *r->params);
    if (r->params == NULL)
        return -1;
    while (*q) {
        const char *end = strchr(q, '&');
        size_t len = end ? (size_t)(end - q) : strlen(q);
        if (len > 0) {
            const char *eq = memchr(q, '=', len);
            size_t klen = eq ? (size_t)(eq - q) : len;
            char *k = httpreq_decode(q, klen, true, NULL);
            char *v = eq ? httpreq_decode(eq + 1, len - klen - 1, true, NULL) : calloc(1, 1);
            if (k == NULL || v == NULL) {
                free(k);
                free(v);
                return -2;
            }
            r->params[r->nparams++] = (httpreq_kv_t){k, v};
        }
        q += len + (end != NULL);
    }
    return 0;
}

static int parse_query(httpreq_parser_t *p, httpreq_t *r)
{
    int rc = split_query(r);
    return rc == 0 ? 0 : rc == -1 ? fail_oom(p) : fail(p, 400, "bad query string: invalid percent-escape");
}

/* Request target into r->path and r->query as http-parser reads it: the
 * same characters accepted, the fragment dropped. -1 when it is refused. */
static int split_target(httpreq_t *r, bool connect)
{
    size_t len = strlen(r->target);
    struct http_parser_url u;
    http_parser_url_init(&u);
    if (http_parser_parse_url(r->target, len, connect, &u) != 0)
        return -1;
    const char *path = "/";
    size_t plen = 1;
    if (u.field_set & (1 << UF_PATH)) {
        path = r->target + u.field_data[UF_PATH].off;
        plen = u.field_data[UF_PATH].len;
    }
    const char *query = "";
    size_t qlen = 0;
    if (u.field_set & (1 << UF_QUERY)) {
        query = r->target + u.field_data[UF_QUERY].off;
        qlen = u.field_data[UF_QUERY].len;
    }
    if (plen == 0 || path[0] != '/')
        return -1;
    r->path = memdup0(path, plen);
    r->query = memdup0(query, qlen);
    return 0;
}

static int on_headers_complete(http_parser *hp)
{
    httpreq_parser_t *p = hp->data;
    httpreq_t *r = p->cur;
    if (commit_header(p) != 0)
        return -1;
    p->headers_done = true;
    if (hp->http_major != 1)
        return fail(p, 505, "HTTP version not supported");
    r->version_major = hp->http_major;
    r->version_minor = hp->http_minor;
    r->method = http_method_str((enum http_method)hp->method);
    r->keep_alive = http_should_keep_alive(hp) && !hp->upgrade;
    if (p->url.s == NULL || memchr(p->url.s, '\0', p->url.len) != NULL)
        return fail(p, 400, "bad request target");
    r->target = sb_take(&p->url);
    if (r->target == NULL)
        return fail_oom(p);
    if (split_target(r, hp->method == HTTP_CONNECT) != 0)
        return fail(p, 400, "bad request target");
    if (r->path == NULL || r->query == NULL)
        return fail_oom(p);
    if (parse_query(p, r) != 0)
        return -1;
    /* Refuse an oversized body before it is sent (the client may be waiting
     * for 100 Continue). ULLONG_MAX means no Content-Length. */
    if (hp->content_length != ULLONG_MAX && hp->content_length > p->lim.max_body_bytes)
        return fail(p, 413, "request body too large");
    if (r->version_minor >= 1 && (hp->flags & F_CHUNKED || (hp->content_length != ULLONG_MAX &&
                                                             hp->content_length > 0))) {
        const char *expect = httpreq_header(r, "Expect");
        if (expect != NULL && strcasecmp(expect, "100-continue") == 0)
            p->want_continue = true;
    }
    return 0;
}

static int on_body(http_parser *hp, const char *at, size_t len)
{
    httpreq_parser_t *p = hp->data;
    if (p->body.len + len > p->lim.max_body_bytes)
        return fail(p, 413, "request body too large");
    return sb_append(&p->body, at, len) == 0 ? 0 : fail_oom(p);
}

static int on_message_complete(http_parser *hp)
{
    httpreq_parser_t *p = hp->data;
    /* Trailers of a chunked body arrive as header callbacks: commit the last. */
    if (commit_header(p) != 0)
        return -1;
    httpreq_t *r = p->cur;
    r->body_len = p->body.len;
    r->body = sb_take(&p->body);
    if (r->body == NULL)
        return fail_oom(p);
    p->done = r;
    p->cur = NULL;
    p->in_message = false;
    p->headers_done = false;
    p->want_continue = false;
    http_parser_pause(hp, 1);
    return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

httpreq_parser_t *httpreq_parser_new(const httpreq_limits_t *limits)
{
    httpreq_parser_t *p = calloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    static const httpreq_limits_t defaults = HTTPREQ_LIMITS_DEFAULT;
    p->lim = limits ? *limits : defaults;
    http_parser_init(&p->hp, HTTP_REQUEST);
    p->hp.data = p;
    return p;
}

void httpreq_parser_free(httpreq_parser_t *p)
{
    if (p == NULL)
        return;
    httpreq_free(p->cur);
    httpreq_free(p->done);
    free(p->url.s);
    free(p->field.s);
    free(p->value.s);
    free(p->body.s);
    free(p);
}

httpreq_status_t httpreq_parser_feed(httpreq_parser_t *p, const char *data, size_t len, size_t *used)
{
    *used = 0;
    if (p->failed)
        return HTTPREQ_ERROR;
    if (p->done != NULL)
        return HTTPREQ_DONE; /* the caller must take the previous request first */
    if (len == 0)
        return HTTPREQ_MORE; /* http-parser reads len 0 as end of stream */
    size_t n = http_parser_execute(&p->hp, &settings, data, len);
    enum http_errno e = HTTP_PARSER_ERRNO(&p->hp);
    if (e == HPE_PAUSED) {
        http_parser_pause(&p->hp, 0);
        *used = n;
        return HTTPREQ_DONE;
    }
    if (e != HPE_OK) {
        p->failed = true;
        *used = n;
        if (p->err_status == 0) {
            if (e == HPE_HEADER_OVERFLOW)
                fail(p, 431, "request header fields too large");
            else
                fail(p, 400, "bad request: %s", http_errno_description(e));
        }
        httpreq_free(p->cur);
        p->cur = NULL;
        return HTTPREQ_ERROR;
    }
    *used = n;
    if (n != len) {
        /* Stopped early without an error: only after an upgrade request,
         * whose completion paused the parser above. Treat as malformed. */
        p->failed = true;
        fail(p, 400, "bad request: unexpected data");
        return HTTPREQ_ERROR;
    }
    return HTTPREQ_MORE;
}

httpreq_t *httpreq_parser_take(httpreq_parser_t *p)
{
    httpreq_t *r = p->done;
    p->done = NULL;
    return r;
}

int httpreq_parser_error(const httpreq_parser_t *p, const char **msg)
{
    if (msg != NULL)
        *msg = p->failed ? p->err_msg : "";
    return p->failed ? p->err_status : 0;
}

httpreq_state_t httpreq_parser_state(const httpreq_parser_t *p)
{
    if (!p->in_message)
        return HTTPREQ_IDLE;
    return p->headers_done ? HTTPREQ_IN_BODY : HTTPREQ_IN_HEADERS;
}

bool httpreq_parser_take_continue(httpreq_parser_t *p)
{
    bool w = p->want_continue;
    p->want_continue = false;
    return w;
}

/* ---- route patterns */

static bool is_param(const char *seg, size_t len)
{
    return len >= 2 && seg[0] == '{' && seg[len - 1] == '}';
}

bool httpreq_pattern_valid(const char *pattern)
{
    if (pattern == NULL || pattern[0] != '/' || strchr(pattern, '?') != NULL)
        return false;
    size_t nparams = 0;
    const char *s = pattern + 1;
    for (;;) {
        const char *end = strchr(s, '/');
        size_t len = end ? (size_t)(end - s) : strlen(s);
        if (is_param(s, len)) {
            if (len == 2 || ++nparams > HTTPREQ_MAX_PATH_PARAMS)
                return false;
            for (size_t i = 1; i + 1 < len; i++) {
                char c = s[i];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
                    return false;
            }
        } else if (memchr(s, '{', len) != NULL || memchr(s, '}', len) != NULL) {
            return false;
        }
        if (end == NULL)
            return true;
        s = end + 1;
    }
}

int httpreq_path_match(const char *pattern, const char *path, httpreq_path_params_t *out)
{
    if (out != NULL)
        memset(out, 0, sizeof *out);
    if (pattern[0] != '/' || path[0] != '/')
        return -1;
    int literal = 0;
    const char *ps = pattern + 1, *qs = path + 1;
    /* First pass: structure only, no allocation. */
    for (;;) {
        const char *pe = strchr(ps, '/'), *qe = strchr(qs, '/');
        size_t plen = pe ? (size_t)(pe - ps) : strlen(ps);
        size_t qlen = qe ? (size_t)(qe - qs) : strlen(qs);
        if (is_param(ps, plen)) {
            if (qlen == 0)
                return -1;
        } else {
            if (plen != qlen || memcmp(ps, qs, plen) != 0)
                return -1;
            literal++;
        }
        if ((pe == NULL) != (qe == NULL))
            return -1;
        if (pe == NULL)
            break;
        ps = pe + 1;
        qs = qe + 1;
    }
    /* Second pass: decode every parameter (even when out is NULL, so that a
     * bad escape is reported the same way either way). */
    ps = pattern + 1;
    qs = path + 1;
    for (;;) {
        const char *pe = strchr(ps, '/'), *qe = strchr(qs, '/');
        size_t plen = pe ? (size_t)(pe - ps) : strlen(ps);
        size_t qlen = qe ? (size_t)(qe - qs) : strlen(qs);
        if (is_param(ps, plen)) {
            char *v = httpreq_decode(qs, qlen, false, NULL);
            if (v == NULL) {
                if (out != NULL)
                    httpreq_path_params_free(out);
                return -2;
            }
            if (out != NULL && out->n < HTTPREQ_MAX_PATH_PARAMS) {
                char *name = memdup0(ps + 1, plen - 2);
                if (name == NULL) {
                    free(v);
                    httpreq_path_params_free(out);
                    return -2;
                }
                out->names[out->n] = name;
                out->values[out->n++] = v;
            } else {
                free(v);
            }
        }
        if (pe == NULL)
            break;
        ps = pe + 1;
        qs = qe + 1;
    }
    return literal;
}

const char *httpreq_path_param(const httpreq_path_params_t *p, const char *name)
{
    for (size_t i = 0; p != NULL && i < p->n; i++)
        if (strcmp(p->names[i], name) == 0)
            return p->values[i];
    return NULL;
}

void httpreq_path_params_free(httpreq_path_params_t *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->n; i++) {
        free(p->names[i]);
        free(p->values[i]);
    }
    memset(p, 0, sizeof *p);
}

/* ---- requests from parts (HTTP/2) */

static const char *known_method(const char *m)
{
    static const char *const methods[] = {
#define XX(num, name, string) #string,
        HTTP_METHOD_MAP(XX)
#undef XX
    };
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (strcmp(methods[i], m) == 0)
            return methods[i];
    return NULL;
}

httpreq_t *httpreq_make(const char *method, char *target, httpreq_kv_t *headers, size_t nheaders, char *body,
                        size_t body_len, const httpreq_limits_t *limits, int *status, const char **msg)
{
    httpreq_t *r = calloc(1, sizeof *r);
    if (r == NULL) {
        free(target);
        for (size_t i = 0; i < nheaders; i++) {
            free(headers[i].name);
            free(headers[i].value);
        }
        free(headers);
        free(body);
        *status = 413;
        *msg = "out of memory while reading the request";
        return NULL;
    }
    r->target = target;
    r->headers = headers;
    r->nheaders = nheaders;
    r->body = body != NULL ? body : calloc(1, 1);
    r->body_len = body_len;
    r->version_major = r->version_minor = 1;
    r->keep_alive = true;
    /* The checks in the order http-parser meets them in a request line. */
    const char *err = NULL;
    *status = 400;
    if ((r->method = known_method(method)) == NULL)
        err = "bad request: invalid HTTP method";
    else if (split_target(r, strcmp(method, "CONNECT") == 0) != 0)
        err = "bad request: invalid URL"; /* what the request line's scan says first */
    static const httpreq_limits_t defaults = HTTPREQ_LIMITS_DEFAULT;
    if (err == NULL && strlen(target) > (limits != NULL ? limits : &defaults)->max_url_bytes) {
        *status = 414;
        err = "request target too long";
    }
    if (err == NULL && (r->path == NULL || r->query == NULL || r->body == NULL)) {
        *status = 413;
        err = "out of memory while reading the request";
    }
    int q = err == NULL ? split_query(r) : 0;
    if (q != 0) {
        *status = q == -1 ? 413 : 400;
        err = q == -1 ? "out of memory while reading the request" : "bad query string: invalid percent-escape";
    }
    if (err != NULL) {
        *msg = err;
        httpreq_free(r);
        return NULL;
    }
    return r;
}
