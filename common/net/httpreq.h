/*
 * httpreq.h: bytes in, complete HTTP/1.x requests out (no sockets).
 *
 * A wrapper over http-parser 2.9.4. Feed it whatever a read returned; it
 * stops after each complete request (so pipelined requests come out one at a
 * time and the caller can stop taking more), keeps the state of a request
 * split across reads, and refuses input that breaks a limit, with the status
 * code the server should answer: 414 (URL too long), 431 (too many header
 * bytes or fields), 413 (body too large, known from Content-Length before the
 * body arrives, or while a chunked body grows), 505 (not HTTP/1.x), 400
 * (anything malformed, including invalid %-escapes in the query).
 *
 * A request owns all its strings; header lookup is case-insensitive; query
 * parameters are percent-decoded ('+' is a space); the path stays raw (route
 * matching splits it into segments first, then decodes the parameters).
 */
#ifndef RECSYS_COMMON_HTTPREQ_H
#define RECSYS_COMMON_HTTPREQ_H

#include <stdbool.h>
#include <stddef.h>

typedef struct httpreq_limits {
    size_t max_url_bytes;    /* request target; over it: 414 */
    size_t max_header_bytes; /* sum of header names and values (+4 per field); over it: 431 */
    size_t max_headers;      /* header fields; over it: 431 */
    size_t max_body_bytes;   /* decoded body; over it: 413 */
} httpreq_limits_t;

#define HTTPREQ_LIMITS_DEFAULT {8192, 16384, 100, 1048576}

typedef struct httpreq_kv {
    char *name;
    char *value;
} httpreq_kv_t;

typedef struct httpreq {
    const char *method; /* "GET", "POST", ... (static string) */
    char *target;       /* the request target as sent */
    char *path;         /* raw path, starts with '/' */
    char *query;        /* raw query without '?', "" when none */
    httpreq_kv_t *params; /* decoded query parameters, in order */
    size_t nparams;
    httpreq_kv_t *headers; /* as received (names keep their case) */
    size_t nheaders;
    char *body; /* body_len bytes, NUL-terminated; never NULL */
    size_t body_len;
    int version_major, version_minor;
    bool keep_alive; /* HTTP/1.1 unless "Connection: close"; 1.0 only with keep-alive; never after Upgrade */
} httpreq_t;

/* First header with this name (case-insensitive), or NULL. */
const char *httpreq_header(const httpreq_t *r, const char *name);
/* First query parameter with this (decoded) name, or NULL. */
const char *httpreq_param(const httpreq_t *r, const char *name);
void httpreq_free(httpreq_t *r);

typedef enum { HTTPREQ_ERROR = -1, HTTPREQ_MORE = 0, HTTPREQ_DONE = 1 } httpreq_status_t;
typedef enum { HTTPREQ_IDLE = 0, HTTPREQ_IN_HEADERS, HTTPREQ_IN_BODY } httpreq_state_t;

typedef struct httpreq_parser httpreq_parser_t;

/* limits NULL means HTTPREQ_LIMITS_DEFAULT. NULL on out of memory. */
httpreq_parser_t *httpreq_parser_new(const httpreq_limits_t *limits);
void httpreq_parser_free(httpreq_parser_t *p);

/* Parses data[0..len) and stops at the end of the first complete request:
 * HTTPREQ_DONE (take it with httpreq_parser_take; feed the rest, data +
 * *used, again), HTTPREQ_MORE (all consumed, the request is not complete),
 * or HTTPREQ_ERROR (see httpreq_parser_error; the parser stays failed). A
 * request must be taken before feeding more. len 0 is a no-op. */
httpreq_status_t httpreq_parser_feed(httpreq_parser_t *p, const char *data, size_t len, size_t *used);
/* The completed request (the caller frees it), or NULL. */
httpreq_t *httpreq_parser_take(httpreq_parser_t *p);
/* After an error: the status to answer (400, 413, 414, 431, 505) and a one-line reason. */
int httpreq_parser_error(const httpreq_parser_t *p, const char **msg);
/* Where the current request is: nothing of it read yet, in headers, in body. */
httpreq_state_t httpreq_parser_state(const httpreq_parser_t *p);
/* True once for a request that sent "Expect: 100-continue" with a body and
 * passed the header and size checks: the server may answer "100 Continue". */
bool httpreq_parser_take_continue(httpreq_parser_t *p);

/* A request from parts another protocol has already split (HTTP/2's
 * pseudo-header fields and header list), checked and decoded as if the
 * parser had read it as HTTP/1.1: a method http-parser knows, a target it
 * accepts within max_url_bytes (414), query escapes (400). target, headers
 * (the array and its strings) and body (body_len bytes, NUL-terminated) are
 * malloc'd and taken over, also on failure. The request is HTTP/1.1
 * keep-alive; limits NULL means HTTPREQ_LIMITS_DEFAULT. NULL on a refusal, with the status and a one-line reason as
 * httpreq_parser_error gives them. */
httpreq_t *httpreq_make(const char *method, char *target, httpreq_kv_t *headers, size_t nheaders, char *body,
                        size_t body_len, const httpreq_limits_t *limits, int *status, const char **msg);

/* Percent-decodes src[0..len) into a new NUL-terminated string (*out_len
 * bytes when out_len is not NULL). plus_space: '+' means ' ' (query strings).
 * NULL for an invalid escape ("%4", "%zz"), a decoded NUL, or out of memory. */
char *httpreq_decode(const char *src, size_t len, bool plus_space, size_t *out_len);

/* ---- route patterns: "/v1/users/{id}/recommendations"
 * A segment is either literal (compared with the raw path segment) or
 * "{name}", which matches one non-empty segment whose decoded value is
 * captured. Segment counts must be equal; a trailing '/' is significant. */
#define HTTPREQ_MAX_PATH_PARAMS 8

typedef struct httpreq_path_params {
    size_t n;
    char *names[HTTPREQ_MAX_PATH_PARAMS];
    char *values[HTTPREQ_MAX_PATH_PARAMS];
} httpreq_path_params_t;

/* Starts with '/', braces only around a whole segment with a non-empty name
 * of [A-Za-z0-9_], at most HTTPREQ_MAX_PATH_PARAMS of them, no '?'. */
bool httpreq_pattern_valid(const char *pattern);
/* -1 no match; -2 matched but a parameter has an invalid %-escape (answer
 * 400); otherwise the number of literal segments (more is more specific).
 * out may be NULL to test only; when it is filled free it with
 * httpreq_path_params_free. The path must not contain '?'. */
int httpreq_path_match(const char *pattern, const char *path, httpreq_path_params_t *out);
const char *httpreq_path_param(const httpreq_path_params_t *p, const char *name);
void httpreq_path_params_free(httpreq_path_params_t *p);

#endif
