/*
 * h2srv.c: one HTTP/2 server connection over nghttp2 (see h2srv.h).
 *
 * Requests. nghttp2 hands over header fields and DATA chunks; each stream
 * collects them under the HTTP/1.1 limits and, when the stream ends, hands
 * them to httpreq_make (httpreq.h), which checks and decodes them as the
 * HTTP/1.1 parser would (method, target, query, the Host and Content-Length
 * fields HTTP/1.1 would carry): identical limits, header lookup, query
 * decoding and errors on both protocols without printing and re-parsing the
 * request as text. Bytes beyond a limit are counted, not stored, so a client
 * cannot make a stream buffer more than the limit.
 *
 * Answers. nghttp2 copies header fields when a response is submitted, so
 * they are built on the stack of h2srv_respond; the body stays with the
 * stream and a data provider hands it out as flow control allows (large
 * answers wait for the client's WINDOW_UPDATEs without any code here); the
 * trailers are submitted from the provider once the last byte is out.
 *
 * Lifetimes. A stream lives from its first HEADERS to nghttp2's stream-close
 * callback; the streams are also listed so h2srv_free (nghttp2_session_del
 * reports nothing) can report and free the unanswered ones.
 */
#include "common/net/h2srv.h"

#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct stream stream_t;

struct stream {
    h2srv_t *h;
    stream_t *prev, *next;
    int32_t id;
    char *method, *path, *authority;
    httpreq_kv_t *hdrs; /* the fields kept for the request, names as received */
    size_t nhdrs, hdrs_cap, hdr_bytes, nheaders;
    char *body;
    size_t body_len, body_cap, body_seen;
    bool grpc, done, answered;
    bool finished; /* the answer is complete (h2srv_respond, h2srv_respond_end) */
    bool streaming; /* request handed over at its headers; body via hooks.data */
    bool route_streams; /* hooks.streaming said yes for the path */
    bool open_ended; /* streamed answer: more data may come until h2srv_respond_end */
    size_t resp_cap;
    void *ud;
    char *resp;
    size_t resp_len, resp_off;
    char *trailers;
    size_t trailers_len;
};

struct h2srv {
    nghttp2_session *session;
    h2srv_config_t cfg;
    h2srv_hooks_t hooks;
    void *ud;
    stream_t *streams;
    size_t nstreams, nincomplete;
};

int h2srv_sniff(const char *data, size_t len)
{
    size_t n = len < H2SRV_PREFACE_LEN ? len : H2SRV_PREFACE_LEN;
    if (memcmp(data, NGHTTP2_CLIENT_MAGIC, n) != 0)
        return -1;
    return n == H2SRV_PREFACE_LEN ? 1 : 0;
}

/* ---- buffers */

static int buf_append(char **buf, size_t *len, size_t *cap, const void *data, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t c = *cap ? *cap : 256;
        while (c < *len + n + 1)
            c *= 2;
        char *p = realloc(*buf, c);
        if (p == NULL)
            return -1;
        *buf = p;
        *cap = c;
    }
    memcpy(*buf + *len, data, n);
    *len += n;
    (*buf)[*len] = '\0';
    return 0;
}

/* ---- streams */

static void stream_free(stream_t *s)
{
    h2srv_t *h = s->h;
    if (s->prev != NULL)
        s->prev->next = s->next;
    else
        h->streams = s->next;
    if (s->next != NULL)
        s->next->prev = s->prev;
    h->nstreams--;
    if (!s->done)
        h->nincomplete--;
    free(s->method);
    free(s->path);
    free(s->authority);
    for (size_t i = 0; i < s->nhdrs; i++) {
        free(s->hdrs[i].name);
        free(s->hdrs[i].value);
    }
    free(s->hdrs);
    free(s->body);
    free(s->resp);
    free(s->trailers);
    free(s);
}

static stream_t *stream_get(h2srv_t *h, int32_t id)
{
    return nghttp2_session_get_stream_user_data(h->session, id);
}

/* "Name: value\r\n" lines into nv (names lower-cased in place in text).
 * Returns the count, at most max. */
static size_t lines_to_nv(char *text, nghttp2_nv *nv, size_t max)
{
    size_t n = 0;
    char *p = text;
    while (p != NULL && *p != '\0' && n < max) {
        char *eol = strstr(p, "\r\n");
        char *colon = strchr(p, ':');
        if (eol == NULL || colon == NULL || colon > eol)
            break;
        for (char *q = p; q < colon; q++)
            if (*q >= 'A' && *q <= 'Z')
                *q = (char)(*q - 'A' + 'a');
        char *v = colon + 1;
        while (*v == ' ')
            v++;
        nv[n++] = (nghttp2_nv){(uint8_t *)p, (uint8_t *)v, (size_t)(colon - p), (size_t)(eol - v),
                               NGHTTP2_NV_FLAG_NONE};
        p = eol + 2;
    }
    return n;
}

#define MAX_NV 64

static ssize_t on_data_read(nghttp2_session *session, int32_t stream_id, uint8_t *buf, size_t length,
                            uint32_t *flags, nghttp2_data_source *source, void *user_data)
{
    (void)user_data;
    stream_t *s = source->ptr;
    size_t n = s->resp_len - s->resp_off;
    if (n > length)
        n = length;
    if (n > 0)
        memcpy(buf, s->resp + s->resp_off, n);
    s->resp_off += n;
    if (n == 0 && s->open_ended)
        return NGHTTP2_ERR_DEFERRED; /* resumed by h2srv_respond_data/_end */
    if (s->resp_off == s->resp_len && !s->open_ended) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
        if (s->trailers_len > 0) {
            nghttp2_nv nv[MAX_NV];
            size_t nn = lines_to_nv(s->trailers, nv, MAX_NV);
            if (nghttp2_submit_trailer(session, stream_id, nv, nn) == 0)
                *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
        }
    }
    return (ssize_t)n;
}

static int submit(h2srv_t *h, stream_t *s, int status, const char *ctype, const char *headers, size_t headers_len)
{
    char st[8];
    snprintf(st, sizeof st, "%d", status);
    nghttp2_nv nv[MAX_NV + 2];
    size_t n = 0;
    nv[n++] = (nghttp2_nv){(uint8_t *)":status", (uint8_t *)st, 7, strlen(st), NGHTTP2_NV_FLAG_NONE};
    if (ctype != NULL)
        nv[n++] = (nghttp2_nv){(uint8_t *)"content-type", (uint8_t *)ctype, 12, strlen(ctype), NGHTTP2_NV_FLAG_NONE};
    /* A copy to lower-case in: the caller's header text stays as it was. */
    char *hcopy = NULL;
    if (headers_len > 0) {
        hcopy = malloc(headers_len + 1);
        if (hcopy == NULL)
            return -1;
        memcpy(hcopy, headers, headers_len);
        hcopy[headers_len] = '\0';
        n += lines_to_nv(hcopy, nv + n, MAX_NV / 2);
    }
    int rc;
    if (s->resp_len > 0 || s->open_ended) {
        nghttp2_data_provider dp = {.source.ptr = s, .read_callback = on_data_read};
        rc = nghttp2_submit_response(h->session, s->id, nv, n, &dp);
    } else {
        /* No body: the trailers join the headers (gRPC's trailers-only). */
        if (s->trailers_len > 0)
            n += lines_to_nv(s->trailers, nv + n, MAX_NV / 2);
        rc = nghttp2_submit_response(h->session, s->id, nv, n, NULL);
    }
    free(hcopy);
    return rc == 0 ? 0 : -1;
}

/* An answer made here for a request over a limit or malformed. */
static void refuse(h2srv_t *h, stream_t *s, int status, const char *msg)
{
    s->answered = s->finished = true;
    if (h->hooks.refused != NULL)
        h->hooks.refused(h->ud, status);
    if (s->grpc) {
        /* Size limits are RESOURCE_EXHAUSTED (8) in gRPC, anything else INTERNAL (13). */
        int code = status == 413 || status == 431 || status == 414 ? 8 : 13;
        char t[300];
        int n = snprintf(t, sizeof t, "grpc-status: %d\r\ngrpc-message: ", code);
        for (const char *p = msg; *p && n < (int)sizeof t - 8; p++) {
            unsigned char c = (unsigned char)*p;
            if (c < 0x20 || c > 0x7e || c == '%')
                n += snprintf(t + n, sizeof t - (size_t)n, "%%%02X", c);
            else
                t[n++] = (char)c;
        }
        n += snprintf(t + n, sizeof t - (size_t)n, "\r\n");
        s->trailers = strdup(t);
        s->trailers_len = s->trailers ? strlen(s->trailers) : 0;
        submit(h, s, 200, "application/grpc", NULL, 0);
        return;
    }
    char body[300];
    int n = snprintf(body, sizeof body, "%s\n", msg);
    s->resp = malloc((size_t)n);
    if (s->resp != NULL) {
        memcpy(s->resp, body, (size_t)n);
        s->resp_len = (size_t)n;
    }
    submit(h, s, status, "text/plain; charset=utf-8", NULL, 0);
}

/* Appends a copy of one field to the stream's list. */
static int hdr_add(stream_t *s, const void *name, size_t namelen, const void *value, size_t valuelen)
{
    if (s->nhdrs == s->hdrs_cap) {
        size_t cap = s->hdrs_cap ? 2 * s->hdrs_cap : 8;
        httpreq_kv_t *p = realloc(s->hdrs, cap * sizeof *p);
        if (p == NULL)
            return -1;
        s->hdrs = p;
        s->hdrs_cap = cap;
    }
    char *n = malloc(namelen + 1), *v = malloc(valuelen + 1);
    if (n == NULL || v == NULL) {
        free(n);
        free(v);
        return -1;
    }
    memcpy(n, name, namelen);
    n[namelen] = '\0';
    memcpy(v, value, valuelen);
    v[valuelen] = '\0';
    s->hdrs[s->nhdrs++] = (httpreq_kv_t){n, v};
    return 0;
}

/* The stream's request is complete: hand it over as an httpreq_t, checked
 * as the HTTP/1.1 parser checks a request. */
static void stream_complete(h2srv_t *h, stream_t *s)
{
    s->done = true;
    h->nincomplete--;
    const httpreq_limits_t *lim = &h->cfg.limits;
    if (s->hdr_bytes > lim->max_header_bytes || s->nheaders > lim->max_headers) {
        refuse(h, s, 431, "request header fields too large");
        return;
    }
    if (s->body_seen > lim->max_body_bytes) {
        char msg[120];
        snprintf(msg, sizeof msg, "request body of %zu bytes exceeds the limit of %zu bytes", s->body_seen,
                 lim->max_body_bytes);
        refuse(h, s, 413, msg);
        return;
    }
    if (s->method == NULL || s->path == NULL || s->path[0] != '/') {
        refuse(h, s, 400, "bad request: :method and :path are required");
        return;
    }
    /* The fields HTTP/1.1 would carry for framing, after the client's. */
    char cl[24];
    int cln = snprintf(cl, sizeof cl, "%zu", s->body_len);
    if ((s->authority != NULL && hdr_add(s, "host", 4, s->authority, strlen(s->authority)) != 0) ||
        hdr_add(s, "content-length", 14, cl, (size_t)cln) != 0) {
        refuse(h, s, 500, "out of memory");
        return;
    }
    int status;
    const char *msg;
    httpreq_t *req = httpreq_make(s->method, s->path, s->hdrs, s->nhdrs, s->body, s->body_len, lim, &status, &msg);
    s->path = s->body = NULL;
    s->hdrs = NULL;
    s->nhdrs = s->hdrs_cap = 0;
    if (req == NULL) {
        refuse(h, s, status, msg);
        return;
    }
    h->hooks.request(h->ud, s->id, req, s->route_streams);
}

/* ---- nghttp2 callbacks */

static int on_begin_headers(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
    h2srv_t *h = user_data;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    stream_t *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* resets this stream only */
    s->h = h;
    s->id = frame->hd.stream_id;
    s->next = h->streams;
    if (h->streams != NULL)
        h->streams->prev = s;
    h->streams = s;
    h->nstreams++;
    h->nincomplete++;
    nghttp2_session_set_stream_user_data(session, s->id, s);
    return 0;
}

static bool name_is(const uint8_t *name, size_t len, const char *want)
{
    return len == strlen(want) && memcmp(name, want, len) == 0;
}

static char *dup_n(const uint8_t *v, size_t n)
{
    char *p = malloc(n + 1);
    if (p != NULL) {
        memcpy(p, v, n);
        p[n] = '\0';
    }
    return p;
}

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name, size_t namelen,
                     const uint8_t *value, size_t valuelen, uint8_t flags, void *user_data)
{
    (void)flags;
    h2srv_t *h = user_data;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0; /* trailers from a client are not used */
    stream_t *s = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (s == NULL)
        return 0;
    s->hdr_bytes += namelen + valuelen + 4;
    if (namelen > 0 && name[0] == ':') {
        char **slot = name_is(name, namelen, ":method") ? &s->method
                      : name_is(name, namelen, ":path") ? &s->path
                      : name_is(name, namelen, ":authority") ? &s->authority
                                                              : NULL;
        if (slot != NULL && *slot == NULL && s->hdr_bytes <= h->cfg.limits.max_header_bytes)
            *slot = dup_n(value, valuelen);
        return 0;
    }
    s->nheaders++;
    if (name_is(name, namelen, "content-type") && valuelen >= 16 && memcmp(value, "application/grpc", 16) == 0)
        s->grpc = true;
    /* The request gets its own framing fields (stream_complete). */
    if (name_is(name, namelen, "content-length") || name_is(name, namelen, "host") ||
        name_is(name, namelen, "transfer-encoding") || name_is(name, namelen, "connection"))
        return 0;
    if (s->hdr_bytes > h->cfg.limits.max_header_bytes || s->nheaders > h->cfg.limits.max_headers)
        return 0; /* counted, refused when the stream ends */
    if (hdr_add(s, name, namelen, value, valuelen) != 0)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    return 0;
}

static int on_data_chunk(nghttp2_session *session, uint8_t flags, int32_t stream_id, const uint8_t *data,
                         size_t len, void *user_data)
{
    (void)flags;
    h2srv_t *h = user_data;
    stream_t *s = nghttp2_session_get_stream_user_data(session, stream_id);
    if (s != NULL && s->streaming) {
        if (s->ud != NULL && !s->finished && h->hooks.data != NULL)
            h->hooks.data(h->ud, s->ud, (const char *)data, len, false);
        return 0;
    }
    if (s == NULL || s->done)
        return 0;
    s->body_seen += len;
    if (s->body_seen > h->cfg.limits.max_body_bytes)
        return 0; /* counted, refused when the stream ends */
    if (buf_append(&s->body, &s->body_len, &s->body_cap, data, len) != 0)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    return 0;
}

static int on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
    h2srv_t *h = user_data;
    if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA)
        return 0;
    stream_t *s = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (s == NULL)
        return 0;
    bool end = frame->hd.flags & NGHTTP2_FLAG_END_STREAM;
    if (s->streaming) {
        /* the body went out chunk by chunk (on_data_chunk); say it ended */
        if (end && s->ud != NULL && !s->finished && h->hooks.data != NULL)
            h->hooks.data(h->ud, s->ud, NULL, 0, true);
        return 0;
    }
    if (!s->done && frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
        /* Asked once per stream; hooks.request gets the answer too. */
        s->route_streams = s->path != NULL && h->hooks.streaming != NULL && h->hooks.streaming(h->ud, s->path);
        if (!end && s->route_streams) {
            s->streaming = true;
            stream_complete(h, s);
            return 0;
        }
    }
    if (end && !s->done)
        stream_complete(h, s);
    return 0;
}

static int on_stream_close(nghttp2_session *session, int32_t stream_id, uint32_t error_code, void *user_data)
{
    (void)error_code;
    h2srv_t *h = user_data;
    stream_t *s = nghttp2_session_get_stream_user_data(session, stream_id);
    if (s == NULL)
        return 0;
    nghttp2_session_set_stream_user_data(session, stream_id, NULL);
    void *ud = s->finished ? NULL : s->ud;
    stream_free(s);
    if (ud != NULL && h->hooks.closed != NULL)
        h->hooks.closed(h->ud, ud);
    return 0;
}

/* ---- the session */

h2srv_t *h2srv_new(const h2srv_config_t *cfg, const h2srv_hooks_t *hooks, void *ud)
{
    h2srv_t *h = calloc(1, sizeof *h);
    nghttp2_session_callbacks *cb = NULL;
    if (h == NULL || nghttp2_session_callbacks_new(&cb) != 0) {
        free(h);
        return NULL;
    }
    h->cfg = *cfg;
    h->hooks = *hooks;
    h->ud = ud;
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
    /* No RFC 7540 priority tree and no closed-stream bookkeeping: every
     * stream is answered as soon as it can be, so priorities would only
     * cost time and memory per stream. */
    nghttp2_option *opt = NULL;
    int rc = nghttp2_option_new(&opt);
    if (rc == 0) {
        nghttp2_option_set_no_closed_streams(opt, 1);
        rc = nghttp2_session_server_new2(&h->session, cb, h, opt);
        nghttp2_option_del(opt);
    }
    nghttp2_session_callbacks_del(cb);
    if (rc != 0) {
        free(h);
        return NULL;
    }
    uint32_t hl = (uint32_t)(cfg->limits.max_header_bytes + cfg->limits.max_url_bytes + 64);
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, cfg->max_streams ? cfg->max_streams : 100},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, hl},
        {NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES, 1},
    };
    if (nghttp2_submit_settings(h->session, NGHTTP2_FLAG_NONE, iv, sizeof iv / sizeof iv[0]) != 0) {
        nghttp2_session_del(h->session);
        free(h);
        return NULL;
    }
    return h;
}

void h2srv_free(h2srv_t *h)
{
    if (h == NULL)
        return;
    nghttp2_session_del(h->session);
    while (h->streams != NULL) {
        stream_t *s = h->streams;
        void *ud = s->finished ? NULL : s->ud;
        stream_free(s);
        if (ud != NULL && h->hooks.closed != NULL)
            h->hooks.closed(h->ud, ud);
    }
    free(h);
}

int h2srv_recv(h2srv_t *h, const char *data, size_t len)
{
    ssize_t n = nghttp2_session_mem_recv(h->session, (const uint8_t *)data, len);
    return n < 0 ? -1 : 0;
}

int h2srv_send(h2srv_t *h, char **buf, size_t *cap, size_t *len)
{
    *len = 0;
    for (;;) {
        const uint8_t *p;
        ssize_t k = nghttp2_session_mem_send(h->session, &p);
        if (k <= 0)
            return k < 0 ? -1 : 0;
        if (*len + (size_t)k > *cap) {
            size_t c = *cap ? *cap : (size_t)k + 4096; /* one allocation for a typical answer */
            while (c < *len + (size_t)k)
                c *= 2;
            char *b = realloc(*buf, c);
            if (b == NULL)
                return -1;
            *buf = b;
            *cap = c;
        }
        memcpy(*buf + *len, p, (size_t)k);
        *len += (size_t)k;
    }
}

void h2srv_stream_set_ud(h2srv_t *h, int32_t stream_id, void *stream_ud)
{
    stream_t *s = stream_get(h, stream_id);
    if (s != NULL)
        s->ud = stream_ud;
}

int h2srv_respond(h2srv_t *h, int32_t stream_id, int status, const char *content_type, const char *headers,
                  size_t headers_len, char *body, size_t body_len, const char *trailers, size_t trailers_len)
{
    stream_t *s = stream_get(h, stream_id);
    if (s == NULL || s->answered) {
        free(body);
        return -1;
    }
    s->answered = s->finished = true;
    s->ud = NULL;
    s->resp = body;
    s->resp_len = body != NULL ? body_len : 0;
    if (trailers_len > 0) {
        s->trailers = malloc(trailers_len + 1);
        if (s->trailers != NULL) {
            memcpy(s->trailers, trailers, trailers_len);
            s->trailers[trailers_len] = '\0';
            s->trailers_len = trailers_len;
        }
    }
    if (submit(h, s, status, content_type, headers, headers_len) != 0) {
        nghttp2_submit_rst_stream(h->session, NGHTTP2_FLAG_NONE, stream_id, NGHTTP2_INTERNAL_ERROR);
        return -1;
    }
    return 0;
}

int h2srv_respond_start(h2srv_t *h, int32_t stream_id, int status, const char *content_type, const char *headers,
                        size_t headers_len)
{
    stream_t *s = stream_get(h, stream_id);
    if (s == NULL || s->answered)
        return -1;
    s->answered = true; /* headers out; ud stays until h2srv_respond_end */
    s->open_ended = true;
    if (submit(h, s, status, content_type, headers, headers_len) != 0) {
        nghttp2_submit_rst_stream(h->session, NGHTTP2_FLAG_NONE, stream_id, NGHTTP2_INTERNAL_ERROR);
        return -1;
    }
    return 0;
}

int h2srv_respond_data(h2srv_t *h, int32_t stream_id, const char *data, size_t len)
{
    stream_t *s = stream_get(h, stream_id);
    if (s == NULL || !s->open_ended)
        return -1;
    /* Drop what was sent already, then append. */
    if (s->resp_off > 0) {
        memmove(s->resp, s->resp + s->resp_off, s->resp_len - s->resp_off);
        s->resp_len -= s->resp_off;
        s->resp_off = 0;
    }
    if (buf_append(&s->resp, &s->resp_len, &s->resp_cap, data, len) != 0)
        return -1;
    nghttp2_session_resume_data(h->session, stream_id);
    return 0;
}

int h2srv_respond_end(h2srv_t *h, int32_t stream_id, const char *trailers, size_t trailers_len)
{
    stream_t *s = stream_get(h, stream_id);
    if (s == NULL || !s->open_ended)
        return -1;
    if (trailers_len > 0) {
        free(s->trailers);
        s->trailers = malloc(trailers_len + 1);
        if (s->trailers != NULL) {
            memcpy(s->trailers, trailers, trailers_len);
            s->trailers[trailers_len] = '\0';
            s->trailers_len = trailers_len;
        }
    }
    s->open_ended = false;
    s->finished = true;
    s->ud = NULL;
    nghttp2_session_resume_data(h->session, stream_id);
    return 0;
}

void h2srv_shutdown(h2srv_t *h)
{
    nghttp2_submit_goaway(h->session, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(h->session),
                          NGHTTP2_NO_ERROR, NULL, 0);
}

void h2srv_terminate(h2srv_t *h, uint32_t error_code)
{
    nghttp2_session_terminate_session(h->session, error_code);
}

bool h2srv_finished(const h2srv_t *h)
{
    return !nghttp2_session_want_read(h->session) && !nghttp2_session_want_write(h->session);
}

size_t h2srv_streams(const h2srv_t *h)
{
    return h->nstreams;
}

size_t h2srv_incomplete(const h2srv_t *h)
{
    return h->nincomplete;
}
