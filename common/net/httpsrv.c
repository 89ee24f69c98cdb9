/*
 * httpsrv.c: connections, the response queue, timeouts and shutdown (httpsrv.h).
 *
 * Lifetimes. A connection is freed when its reference count reaches zero:
 * one reference per open libuv handle (the socket and its timer, released in
 * their close callbacks) and one per request object alive. So a handler that
 * answers after the client left still finds the connection's memory, sees it
 * closed and drops the answer. The server is freed the same way: after the
 * user asked for it and the last connection is gone.
 *
 * Ordering. Requests join the connection's queue in arrival order; a response
 * fills its request and the queue is flushed from the head while the head is
 * answered, so answers leave in order. The response head is written at flush
 * time: only then is it known whether this is the last answer on the
 * connection (Connection: close).
 *
 * Input. Every read is appended to the connection's buffer and parsed from
 * there; parsing stops when max_pipeline requests are in flight (queued or
 * being written) and reading stops until that drops, so a client cannot make
 * us buffer more than one read beyond the limit.
 *
 * One timer per connection serves every deadline; it is re-armed after each
 * event from the connection's state (writing, mid-headers, mid-body, idle).
 * Re-entrancy: a handler may answer (and even stop the server) from inside
 * the parse loop; the loop holds a reference and re-checks the state.
 */
#include "common/net/httpsrv.h"

#include "common/base/log.h"
#include "common/net/h2srv.h"
#include "common/net/trace.h"

#include <http_parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define READ_BUF_SIZE 65536
#define LINGER_MS 1000
#define CODE_CACHE 8
#define H2_OUT_KEEP 16384 /* largest HTTP/2 output buffer a connection keeps */

typedef struct route {
    char *method;
    char *pattern;
    httpsrv_handler_fn fn;
    void *ud;
    bool streaming; /* HTTP/2: handed over at its headers (httpsrv_route_stream) */
    metrics_histogram_t *latency;
    struct {
        int code;
        metrics_counter_t *c;
    } codes[CODE_CACHE];
    size_t ncodes;
} route_t;

typedef struct conn conn_t;

struct httpsrv_req {
    conn_t *conn;
    httpsrv_req_t *next;
    httpreq_t *http; /* NULL for a response the server makes itself (errors) */
    route_t *route;  /* for metrics; the matched route or a pseudo-route */
    bool matched;    /* route is a real route (httpsrv_req_route) */
    httpreq_path_params_t params;
    char *allow;
    uint64_t start_ns;
    bool responded, abandoned, head_only, force_close;
    int status;
    char *ctype;
    char *headers; /* extra header lines "Name: value\r\n" */
    size_t headers_len;
    char *body;
    size_t body_len;
    int32_t stream_id; /* HTTP/2: the stream; 0 on HTTP/1.1 */
    char *trailers;    /* HTTP/2 only: trailer lines "Name: value\r\n" */
    size_t trailers_len;
    uint64_t deadline_ns;
    httpsrv_abandon_fn on_abandon;
    void *abandon_ud;
    char trace_id[TRACE_ID_LEN + 1]; /* "" for answers the server makes itself */
    struct {
        const char *key; /* static string */
        char value[24];
    } notes[HTTPSRV_MAX_NOTES];
    size_t nnotes;
    bool streaming, stream_started;
    httpsrv_body_fn on_body;
    void *body_ud;
};

typedef enum { TIMER_NONE, TIMER_WRITE, TIMER_HEADERS, TIMER_BODY, TIMER_IDLE, TIMER_LINGER } timer_kind_t;

struct conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_shutdown_t shutdown;
    httpsrv_t *srv;
    conn_t *prev, *next; /* in srv->conns while open */
    int refs;
    httpreq_parser_t *parser;
    char *in;
    size_t in_len, in_off, in_cap;
    httpsrv_req_t *head, *tail;
    size_t nqueue, writes_pending;
    uint64_t req_start_ms, last_read_ms, last_write_ms, last_active_ms;
    timer_kind_t timer_kind;
    bool closing, stop_parsing, lingering, rejected, processing, close_written, reading;
    bool sniffed;  /* the first bytes were looked at: HTTP/2 preface or not */
    h2srv_t *h2;   /* HTTP/2 (h2c prior knowledge) session, else NULL */
    char *h2_out;  /* HTTP/2: an output buffer back from its write, for the next */
    size_t h2_out_cap;
};

typedef struct wreq {
    uv_write_t w;
    conn_t *conn;
    char *head;
    size_t head_cap; /* HTTP/2: head is an output buffer of this size */
    char *body;
    bool close;
} wreq_t;

struct httpsrv {
    uv_loop_t *loop;
    httpsrv_config_t cfg;
    uv_tcp_t listener;
    uv_timer_t stop_timer;
    bool listening, listener_open, stop_timer_open;
    bool stopping, done_called, freed;
    httpsrv_done_fn done;
    void *done_ud;
    route_t **routes;
    size_t nroutes;
    route_t unmatched, invalid; /* pseudo-routes for metrics */
    httpsrv_handler_fn fallback;
    void *fallback_ud;
    conn_t *conns;
    size_t nserved, nrejecting, nalloc;
    int port;
    metrics_family_t *m_requests, *m_latency;
    metrics_gauge_t *m_open;
    metrics_counter_t *m_rejected;
    uint64_t trace_rng; /* trace and span ids (trace.h) */
    char readbuf[READ_BUF_SIZE];
};

static void conn_process(conn_t *c);
static void conn_flush(conn_t *c);
static void conn_close(conn_t *c);
static void conn_arm_timer(conn_t *c);
static void srv_check_stopped(httpsrv_t *srv);
static void srv_maybe_free(httpsrv_t *srv);
static void default_fallback(httpsrv_req_t *r, void *ud);
static void h2_respond(conn_t *c, httpsrv_req_t *r);
static void h2_flush(conn_t *c);
static bool h2_is_streaming(void *ud, const char *path);
static void conn_linger(conn_t *c);

/* ---- metrics */

static metrics_counter_t *route_code_counter(httpsrv_t *srv, route_t *rt, int code)
{
    if (srv->m_requests == NULL)
        return NULL;
    for (size_t i = 0; i < rt->ncodes; i++)
        if (rt->codes[i].code == code)
            return rt->codes[i].c;
    char cs[16];
    snprintf(cs, sizeof cs, "%d", code);
    metrics_counter_t *c = metrics_counter_get(srv->m_requests, (const char *[]){rt->pattern, cs});
    if (rt->ncodes < CODE_CACHE) {
        rt->codes[rt->ncodes].code = code;
        rt->codes[rt->ncodes++].c = c;
    }
    return c;
}

/* One JSON line per answered request (http-access-log). */
static void access_log(const httpsrv_req_t *r, int code)
{
    char status[16], ms[32];
    snprintf(status, sizeof status, "%d", code);
    snprintf(ms, sizeof ms, "%.3f", (double)(uv_hrtime() - r->start_ns) / 1e6);
    const char *kv[2 * HTTPSRV_MAX_NOTES + 1];
    size_t n = 0;
    for (size_t i = 0; i < r->nnotes; i++) {
        kv[n++] = r->notes[i].key;
        kv[n++] = r->notes[i].value;
    }
    while (n < 2 * HTTPSRV_MAX_NOTES)
        kv[n++] = NULL;
    kv[n] = NULL;
    log_kv(LOG_INFO, "access", "method", r->http->method, "route", r->route->pattern, "path", r->http->path,
           "protocol", r->stream_id != 0 ? "h2" : "http/1.1", "status", status, "duration_ms", ms, "trace_id",
           r->trace_id, kv[0], kv[1], kv[2], kv[3], kv[4], kv[5], kv[6], kv[7], NULL);
}

static void record(httpsrv_t *srv, httpsrv_req_t *r, int code)
{
    if (srv->cfg.access_log && r->http != NULL)
        access_log(r, code);
    metrics_counter_inc(route_code_counter(srv, r->route, code));
    if (r->route->latency != NULL && r->http != NULL)
        metrics_histogram_observe(r->route->latency, (double)(uv_hrtime() - r->start_ns) / 1e9);
}

static int route_metrics(httpsrv_t *srv, route_t *rt)
{
    if (srv->m_latency != NULL)
        rt->latency = metrics_histogram_get(srv->m_latency, (const char *[]){rt->pattern});
    return 0;
}

/* ---- requests */

static void req_free(httpsrv_req_t *r)
{
    httpreq_free(r->http);
    httpreq_path_params_free(&r->params);
    free(r->allow);
    free(r->ctype);
    free(r->headers);
    free(r->body);
    free(r->trailers);
    free(r);
}

static void conn_unref(conn_t *c)
{
    if (--c->refs > 0)
        return;
    httpsrv_t *srv = c->srv;
    httpreq_parser_free(c->parser);
    free(c->in);
    free(c->h2_out);
    free(c);
    srv->nalloc--;
    srv_maybe_free(srv);
}

/* Frees a request and drops its reference on the connection. */
static void req_release(httpsrv_req_t *r)
{
    conn_t *c = r->conn;
    req_free(r);
    conn_unref(c);
}

static httpsrv_req_t *req_new(conn_t *c, httpreq_t *http)
{
    httpsrv_req_t *r = calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    r->conn = c;
    r->http = http;
    r->start_ns = uv_hrtime();
    c->refs++;
    if (c->tail != NULL)
        c->tail->next = r;
    else
        c->head = r;
    c->tail = r;
    c->nqueue++;
    return r;
}

const httpreq_t *httpsrv_req_http(const httpsrv_req_t *r)
{
    return r->http;
}

const char *httpsrv_req_param(const httpsrv_req_t *r, const char *name)
{
    return httpreq_path_param(&r->params, name);
}

const char *httpsrv_req_route(const httpsrv_req_t *r)
{
    return r->matched ? r->route->pattern : NULL;
}

const char *httpsrv_req_allow(const httpsrv_req_t *r)
{
    return r->allow;
}

bool httpsrv_req_abandoned(const httpsrv_req_t *r)
{
    return r->abandoned;
}

const char *httpsrv_req_trace_id(const httpsrv_req_t *r)
{
    return r->trace_id;
}

void httpsrv_req_note(httpsrv_req_t *r, const char *key, const char *value)
{
    size_t i = 0;
    while (i < r->nnotes && strcmp(r->notes[i].key, key) != 0)
        i++;
    if (i == HTTPSRV_MAX_NOTES)
        return;
    if (i == r->nnotes)
        r->nnotes++;
    r->notes[i].key = key;
    snprintf(r->notes[i].value, sizeof r->notes[i].value, "%s", value);
}

/* The request's trace (the caller's traceparent, or a new one) and the
 * traceparent of the answer: same trace, a new span of ours. */
static void req_trace(httpsrv_t *srv, httpsrv_req_t *r)
{
    uint8_t flags = 1;
    if (!trace_parse(httpreq_header(r->http, "traceparent"), r->trace_id, &flags)) {
        trace_random_hex(&srv->trace_rng, r->trace_id, TRACE_ID_LEN);
        flags = 1;
    }
    char span[TRACE_SPAN_LEN + 1], tp[80];
    trace_random_hex(&srv->trace_rng, span, TRACE_SPAN_LEN);
    snprintf(tp, sizeof tp, "00-%s-%s-%02x", r->trace_id, span, flags & 1);
    httpsrv_req_add_header(r, "traceparent", tp);
}

bool httpsrv_req_http2(const httpsrv_req_t *r)
{
    return r->stream_id != 0;
}

void httpsrv_req_set_deadline(httpsrv_req_t *r, uint64_t deadline_ns)
{
    r->deadline_ns = deadline_ns;
}

uint64_t httpsrv_req_deadline(const httpsrv_req_t *r)
{
    return r->deadline_ns;
}

void httpsrv_req_on_abandon(httpsrv_req_t *r, httpsrv_abandon_fn fn, void *ud)
{
    r->on_abandon = fn;
    r->abandon_ud = ud;
}

/* The client went away: the handler's work is wasted; tell it once. */
static void req_abandon(httpsrv_req_t *r)
{
    r->abandoned = true;
    httpsrv_abandon_fn fn = r->on_abandon;
    r->on_abandon = NULL;
    if (fn != NULL)
        fn(r->abandon_ud);
}

static bool is_token(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s; s++)
        if (*s <= ' ' || *s >= 127 || strchr("()<>@,;:\\\"/[]?={}", *s) != NULL)
            return false;
    return true;
}

/* Appends "name: value\r\n" to a header block. */
static int append_field(char **block, size_t *len, const char *name, const char *value)
{
    size_t add = strlen(name) + strlen(value) + 4;
    char *h = realloc(*block, *len + add + 1);
    if (h == NULL)
        return -1;
    snprintf(h + *len, add + 1, "%s: %s\r\n", name, value);
    *block = h;
    *len += add;
    return 0;
}

int httpsrv_req_add_header(httpsrv_req_t *r, const char *name, const char *value)
{
    if (r->responded || !is_token(name) || strpbrk(value, "\r\n") != NULL || strcasecmp(name, "Content-Length") == 0 ||
        strcasecmp(name, "Connection") == 0 || strcasecmp(name, "Transfer-Encoding") == 0)
        return -1;
    return append_field(&r->headers, &r->headers_len, name, value);
}

int httpsrv_req_add_trailer(httpsrv_req_t *r, const char *name, const char *value)
{
    if (r->responded || r->stream_id == 0 || !is_token(name) || strpbrk(value, "\r\n") != NULL)
        return -1;
    return append_field(&r->trailers, &r->trailers_len, name, value);
}

void httpsrv_respond_owned(httpsrv_req_t *r, int status, const char *content_type, char *body, size_t len)
{
    if (r->responded) {
        free(body); /* a second answer is a bug in the caller; ignore it */
        return;
    }
    conn_t *c = r->conn;
    r->responded = true;
    if (status < 100 || status > 999)
        status = 500;
    r->status = status;
    r->body = body;
    r->body_len = body ? len : 0;
    if (content_type != NULL)
        r->ctype = strdup(content_type);
    if (r->abandoned) {
        record(c->srv, r, 499);
        req_release(r);
        return;
    }
    record(c->srv, r, status);
    if (r->stream_id != 0) {
        h2_respond(c, r);
        return;
    }
    conn_flush(c);
}

void httpsrv_respond(httpsrv_req_t *r, int status, const char *content_type, const void *body, size_t len)
{
    char *copy = NULL;
    if (len > 0) {
        copy = malloc(len);
        if (copy == NULL) {
            httpsrv_respond_owned(r, 500, NULL, NULL, 0);
            return;
        }
        memcpy(copy, body, len);
    }
    httpsrv_respond_owned(r, status, content_type, copy, len);
}

void httpsrv_respond_text(httpsrv_req_t *r, int status, const char *text)
{
    httpsrv_respond(r, status, "text/plain; charset=utf-8", text, strlen(text));
}

/* ---- writing */

static bool status_has_body(int status)
{
    return !(status < 200 || status == 204 || status == 304);
}

/* Serializes the head of r; close says whether this is the connection's last answer. */
static char *response_head(const httpsrv_req_t *r, bool close, size_t *len)
{
    const char *reason = http_status_str((enum http_status)r->status);
    if (reason == NULL || strcmp(reason, "<unknown>") == 0)
        reason = "Unknown";
    size_t cap = 256 + r->headers_len + (r->ctype ? strlen(r->ctype) : 0) + strlen(reason);
    char *h = malloc(cap);
    if (h == NULL)
        return NULL;
    int n = snprintf(h, cap, "HTTP/1.1 %d %s\r\n", r->status, reason);
    if (r->ctype != NULL)
        n += snprintf(h + n, cap - (size_t)n, "Content-Type: %s\r\n", r->ctype);
    if (status_has_body(r->status))
        n += snprintf(h + n, cap - (size_t)n, "Content-Length: %zu\r\n", r->body_len);
    n += snprintf(h + n, cap - (size_t)n, "Connection: %s\r\n", close ? "close" : "keep-alive");
    if (r->headers_len > 0) {
        memcpy(h + n, r->headers, r->headers_len);
        n += (int)r->headers_len;
    }
    memcpy(h + n, "\r\n", 3);
    *len = (size_t)n + 2;
    return h;
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    (void)req;
    (void)status; /* the linger timer or EOF closes the connection */
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    conn_t *c = h->data;
    /* Reads are consumed synchronously, so one buffer serves every connection. */
    *buf = uv_buf_init(c->srv->readbuf, READ_BUF_SIZE);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void conn_set_reading(conn_t *c, bool on)
{
    if (c->closing || c->reading == on)
        return;
    if (on) {
        if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
            conn_close(c);
            return;
        }
    } else {
        uv_read_stop((uv_stream_t *)&c->tcp);
    }
    c->reading = on;
}

/* After the last answer: half-close, then read and discard until the client
 * closes or LINGER_MS pass, so unread input does not turn our FIN into a RST
 * that would destroy the answer in the client's receive buffer. */
static void conn_linger(conn_t *c)
{
    if (c->closing || c->lingering)
        return;
    c->lingering = true;
    if (uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp, on_shutdown) != 0) {
        conn_close(c);
        return;
    }
    conn_set_reading(c, true);
    conn_arm_timer(c);
}

static void on_write(uv_write_t *w, int status)
{
    wreq_t *wr = (wreq_t *)w;
    conn_t *c = wr->conn;
    bool close = wr->close;
    /* HTTP/2 output is reused rather than freed and allocated again for the
     * next answer (a few KiB, which malloc serves slowly); large ones go. */
    if (wr->head_cap > 0 && wr->head_cap <= H2_OUT_KEEP && c->h2_out == NULL && !c->closing) {
        c->h2_out = wr->head;
        c->h2_out_cap = wr->head_cap;
    } else {
        free(wr->head);
    }
    free(wr->body);
    free(wr);
    c->writes_pending--;
    if (c->closing)
        return;
    c->last_write_ms = c->last_active_ms = uv_now(c->srv->loop);
    if (status < 0) {
        conn_close(c);
        return;
    }
    if (close)
        c->close_written = true;
    if (c->close_written) {
        if (c->writes_pending == 0)
            conn_linger(c);
        return;
    }
    conn_process(c); /* below the pipeline limit again: parse what is buffered */
}

/* "100 Continue" for a client waiting before it sends its body. */
static void conn_write_continue(conn_t *c)
{
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    wreq_t *wr = calloc(1, sizeof *wr);
    char *head = malloc(sizeof cont);
    if (wr == NULL || head == NULL) {
        free(wr);
        free(head);
        return; /* the client sends its body after its own timeout */
    }
    memcpy(head, cont, sizeof cont);
    wr->conn = c;
    wr->head = head;
    uv_buf_t b = uv_buf_init(head, sizeof cont - 1);
    if (c->writes_pending == 0)
        c->last_write_ms = uv_now(c->srv->loop);
    c->writes_pending++;
    if (uv_write(&wr->w, (uv_stream_t *)&c->tcp, &b, 1, on_write) != 0) {
        c->writes_pending--;
        free(head);
        free(wr);
        conn_close(c);
    }
}

/* Writes answered requests from the head of the queue. */
static void conn_flush(conn_t *c)
{
    while (!c->closing && c->head != NULL && c->head->responded) {
        httpsrv_req_t *r = c->head;
        c->head = r->next;
        if (c->head == NULL)
            c->tail = NULL;
        c->nqueue--;
        bool last = c->head == NULL && c->stop_parsing;
        bool close = r->force_close || r->http == NULL || !r->http->keep_alive || last;
        wreq_t *wr = calloc(1, sizeof *wr);
        size_t hlen = 0;
        char *head = wr ? response_head(r, close, &hlen) : NULL;
        if (head == NULL) {
            free(wr);
            req_release(r);
            conn_close(c);
            return;
        }
        wr->conn = c;
        wr->head = head;
        wr->close = close;
        uv_buf_t bufs[2] = {uv_buf_init(head, (unsigned)hlen), uv_buf_init(r->body, (unsigned)r->body_len)};
        unsigned nbufs = 1;
        if (r->body_len > 0 && !r->head_only && status_has_body(r->status)) {
            wr->body = r->body;
            r->body = NULL;
            nbufs = 2;
        }
        if (c->writes_pending == 0)
            c->last_write_ms = uv_now(c->srv->loop);
        c->writes_pending++;
        req_release(r); /* the connection still has its handle references */
        if (uv_write(&wr->w, (uv_stream_t *)&c->tcp, bufs, nbufs, on_write) != 0) {
            c->writes_pending--;
            free(wr->head);
            free(wr->body);
            free(wr);
            conn_close(c);
            return;
        }
        if (close) {
            /* Nothing after this answer will be read or written. */
            c->stop_parsing = true;
            while (c->head != NULL) {
                httpsrv_req_t *rest = c->head;
                c->head = rest->next;
                c->nqueue--;
                if (rest->responded) {
                    req_release(rest);
                } else {
                    rest->next = NULL;
                    req_abandon(rest);
                }
            }
            c->tail = NULL;
            conn_set_reading(c, false);
            break;
        }
    }
    if (!c->closing)
        conn_arm_timer(c);
}

/* A response the server makes itself; the connection closes after it. */
static void conn_error(conn_t *c, int status, const char *msg)
{
    c->stop_parsing = true;
    httpsrv_req_t *r = req_new(c, NULL);
    if (r == NULL) {
        conn_close(c);
        return;
    }
    r->route = &c->srv->invalid;
    r->force_close = true;
    char body[256];
    int n = snprintf(body, sizeof body, "%s\n", msg);
    httpsrv_respond(r, status, "text/plain; charset=utf-8", body, (size_t)n < sizeof body ? (size_t)n : sizeof body - 1);
}

/* ---- routing */

static void append_method(char **allow, const char *m)
{
    if (*allow != NULL) {
        /* no duplicates: "GET" must not match inside "GET, HEAD" by prefix */
        char *p = *allow;
        size_t ml = strlen(m);
        while (p != NULL) {
            if (strncmp(p, m, ml) == 0 && (p[ml] == ',' || p[ml] == '\0'))
                return;
            p = strstr(p, ", ");
            if (p != NULL)
                p += 2;
        }
    }
    size_t old = *allow ? strlen(*allow) : 0;
    char *a = realloc(*allow, old + strlen(m) + 3);
    if (a == NULL)
        return;
    if (old == 0)
        strcpy(a, m);
    else
        sprintf(a + old, ", %s", m);
    *allow = a;
}

/* Finds r's route and runs its handler (or the fallback). */
static void route_request(httpsrv_t *srv, httpsrv_req_t *r)
{
    const httpreq_t *http = r->http;
    if (srv->cfg.trace)
        req_trace(srv, r);
    bool is_head = strcmp(http->method, "HEAD") == 0;
    r->head_only = is_head;
    route_t *best = NULL;
    int best_score = -1;
    char *allow = NULL;
    for (size_t i = 0; i < srv->nroutes; i++) {
        route_t *rt = srv->routes[i];
        int lit = httpreq_path_match(rt->pattern, http->path, NULL);
        if (lit == -1)
            continue;
        int score = -1;
        if (strcmp(rt->method, http->method) == 0)
            score = 2 * (lit < 0 ? 0 : lit) + 1;
        else if (is_head && strcmp(rt->method, "GET") == 0)
            score = 2 * (lit < 0 ? 0 : lit);
        if (score > best_score) {
            best = rt;
            best_score = score;
        }
        append_method(&allow, rt->method);
        if (strcmp(rt->method, "GET") == 0)
            append_method(&allow, "HEAD");
    }
    if (best != NULL) {
        free(allow);
        r->route = best;
        r->matched = true;
        if (httpreq_path_match(best->pattern, http->path, &r->params) < 0) {
            httpsrv_respond_text(r, 400, "bad path: invalid percent-escape\n");
            return;
        }
        best->fn(r, best->ud);
        return;
    }
    r->route = &srv->unmatched;
    r->allow = allow;
    srv->fallback(r, srv->fallback_ud);
}

static void dispatch(conn_t *c, httpreq_t *http)
{
    httpsrv_req_t *r = req_new(c, http);
    if (r == NULL) {
        httpreq_free(http);
        conn_close(c);
        return;
    }
    if (!http->keep_alive)
        c->stop_parsing = true;
    route_request(c->srv, r);
}

/* ---- HTTP/2
 *
 * A connection whose first bytes are the HTTP/2 client preface is served by
 * an h2srv session (h2srv.h) instead of the HTTP/1.1 parser. Its requests are
 * httpsrv_req_t like any other, routed the same way, but not queued: each
 * stream answers on its own, in any order. Output is collected from the
 * session after each read and each answer, never from inside the session's
 * own callbacks (c->processing), and written in one buffer. Reading goes on
 * while draining: in-flight answers need the client's WINDOW_UPDATEs. */

static void h2_on_request(void *ud, int32_t stream_id, httpreq_t *http, bool streaming)
{
    conn_t *c = ud;
    httpsrv_req_t *r = calloc(1, sizeof *r);
    if (r == NULL) {
        httpreq_free(http);
        h2srv_respond(c->h2, stream_id, 503, NULL, NULL, 0, NULL, 0, NULL, 0);
        return;
    }
    r->conn = c;
    r->http = http;
    r->stream_id = stream_id;
    r->start_ns = uv_hrtime();
    r->head_only = strcmp(http->method, "HEAD") == 0;
    r->streaming = streaming;
    c->refs++;
    h2srv_stream_set_ud(c->h2, stream_id, r);
    route_request(c->srv, r);
}

static bool h2_is_streaming(void *ud, const char *path)
{
    conn_t *c = ud;
    httpsrv_t *srv = c->srv;
    size_t n = strcspn(path, "?");
    char p[512];
    if (n >= sizeof p)
        return false;
    memcpy(p, path, n);
    p[n] = '\0';
    for (size_t i = 0; i < srv->nroutes; i++)
        if (srv->routes[i]->streaming && httpreq_path_match(srv->routes[i]->pattern, p, NULL) >= 0)
            return true;
    return false;
}

static void h2_on_data(void *ud, void *stream_ud, const char *data, size_t len, bool end)
{
    (void)ud;
    httpsrv_req_t *r = stream_ud;
    if (r->on_body != NULL && !r->responded && !r->abandoned)
        r->on_body(r->body_ud, data, len, end);
}

static void h2_on_closed(void *ud, void *stream_ud)
{
    (void)ud;
    httpsrv_req_t *r = stream_ud;
    if (!r->responded && !r->abandoned)
        req_abandon(r);
}

static void h2_respond(conn_t *c, httpsrv_req_t *r)
{
    if (c->h2 != NULL) {
        char *body = r->head_only ? NULL : r->body;
        if (body != NULL)
            r->body = NULL;
        h2srv_respond(c->h2, r->stream_id, r->status, r->ctype, r->headers, r->headers_len, body, r->body_len,
                      r->trailers, r->trailers_len);
    }
    req_release(r);
    h2_flush(c);
}

static void h2_flush(conn_t *c)
{
    if (c->closing || c->h2 == NULL || c->processing)
        return;
    char *out = c->h2_out;
    size_t cap = c->h2_out_cap, len = 0;
    c->h2_out = NULL;
    c->h2_out_cap = 0;
    if (h2srv_send(c->h2, &out, &cap, &len) != 0) {
        free(out);
        conn_close(c);
        return;
    }
    if (len == 0) {
        c->h2_out = out;
        c->h2_out_cap = cap;
    } else {
        wreq_t *wr = calloc(1, sizeof *wr);
        if (wr == NULL) {
            free(out);
            conn_close(c);
            return;
        }
        wr->conn = c;
        wr->head = out;
        wr->head_cap = cap;
        uv_buf_t b = uv_buf_init(out, (unsigned)len);
        if (c->writes_pending == 0)
            c->last_write_ms = uv_now(c->srv->loop);
        c->writes_pending++;
        if (uv_write(&wr->w, (uv_stream_t *)&c->tcp, &b, 1, on_write) != 0) {
            c->writes_pending--;
            free(out);
            free(wr);
            conn_close(c);
            return;
        }
    }
    if (h2srv_finished(c->h2) && c->writes_pending == 0)
        conn_linger(c);
    else
        conn_arm_timer(c);
}

/* A request h2srv answered itself: counted under route "invalid" as the
 * HTTP/1.1 parser's refusals are. */
static void h2_on_refused(void *ud, int status)
{
    conn_t *c = ud;
    metrics_counter_inc(route_code_counter(c->srv, &c->srv->invalid, status));
}

/* Starts HTTP/2 on c; false when the session cannot be made. */
static bool h2_start(conn_t *c)
{
    httpsrv_t *srv = c->srv;
    h2srv_config_t hc = {srv->cfg.limits, (uint32_t)srv->cfg.max_streams};
    h2srv_hooks_t hooks = {h2_on_request, h2_on_closed, h2_is_streaming, h2_on_data, h2_on_refused};
    c->h2 = h2srv_new(&hc, &hooks, c);
    return c->h2 != NULL;
}

/* Feeds what is buffered to the session, then writes what it answers. */
static void h2_process(conn_t *c)
{
    c->refs++;
    c->processing = true;
    int rc = h2srv_recv(c->h2, c->in + c->in_off, c->in_len - c->in_off);
    c->in_off = c->in_len = 0;
    c->processing = false;
    if (!c->closing) {
        if (rc != 0) {
            h2_flush(c); /* the GOAWAY nghttp2 queued, if any */
            if (!c->closing && !c->lingering)
                conn_linger(c);
        } else {
            h2_flush(c);
        }
    }
    conn_unref(c);
}

static void default_fallback(httpsrv_req_t *r, void *ud)
{
    (void)ud;
    const char *allow = httpsrv_req_allow(r);
    if (allow != NULL) {
        httpsrv_req_add_header(r, "Allow", allow);
        httpsrv_respond_text(r, 405, "method not allowed\n");
    } else {
        httpsrv_respond_text(r, 404, "not found\n");
    }
}

/* ---- reading and parsing */

static size_t inflight(const conn_t *c)
{
    return c->nqueue + c->writes_pending;
}

static void conn_process(conn_t *c)
{
    if (c->processing || c->closing)
        return;
    httpsrv_t *srv = c->srv;
    if (!c->sniffed && c->in_len > c->in_off && !c->stop_parsing) {
        int h2 = h2srv_sniff(c->in + c->in_off, c->in_len - c->in_off);
        if (h2 == 0) {
            conn_arm_timer(c); /* a prefix of the preface: wait for the rest */
            return;
        }
        c->sniffed = true;
        if (h2 == 1 && !h2_start(c)) {
            conn_close(c);
            return;
        }
    }
    if (c->h2 != NULL) {
        if (!c->lingering)
            h2_process(c);
        return;
    }
    c->processing = true;
    c->refs++;
    while (!c->closing && !c->stop_parsing && c->in_off < c->in_len && inflight(c) < srv->cfg.max_pipeline) {
        bool was_idle = httpreq_parser_state(c->parser) == HTTPREQ_IDLE;
        size_t used = 0;
        httpreq_status_t st = httpreq_parser_feed(c->parser, c->in + c->in_off, c->in_len - c->in_off, &used);
        c->in_off += used;
        if (was_idle && httpreq_parser_state(c->parser) != HTTPREQ_IDLE)
            c->req_start_ms = uv_now(srv->loop);
        if (st == HTTPREQ_DONE) {
            dispatch(c, httpreq_parser_take(c->parser));
        } else if (st == HTTPREQ_ERROR) {
            const char *msg = NULL;
            int status = httpreq_parser_error(c->parser, &msg);
            conn_error(c, status, msg);
            break;
        } else {
            /* A client waiting for "100 Continue" before sending its body gets
             * it when no earlier answer is still due (it must not overtake). */
            if (httpreq_parser_take_continue(c->parser) && c->nqueue == 0 && c->writes_pending == 0)
                conn_write_continue(c);
            break;
        }
    }
    if (!c->closing) {
        if (c->in_off == c->in_len) {
            c->in_off = c->in_len = 0;
        } else if (c->in_off > 0) {
            memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
            c->in_len -= c->in_off;
            c->in_off = 0;
        }
        /* Read only when what is buffered has been parsed, or while lingering. */
        bool want = c->lingering || (!c->stop_parsing && c->in_len == 0 && inflight(c) < srv->cfg.max_pipeline);
        conn_set_reading(c, want);
        if (c->stop_parsing && c->nqueue == 0 && c->writes_pending == 0 && !c->lingering)
            conn_close(c); /* stopping, or nothing more to answer */
        else
            conn_arm_timer(c);
    }
    c->processing = false;
    conn_unref(c);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    conn_t *c = s->data;
    if (nread == 0 || c->closing)
        return;
    if (nread < 0) {
        /* EOF or error: the client is gone (or done); unanswered requests are abandoned. */
        conn_close(c);
        return;
    }
    c->last_read_ms = uv_now(c->srv->loop);
    if (c->h2 != NULL)
        c->last_active_ms = c->last_read_ms;
    if (c->lingering || (c->stop_parsing && c->h2 == NULL))
        return; /* discard */
    size_t n = (size_t)nread;
    if (c->in_len + n > c->in_cap) {
        size_t cap = c->in_cap ? c->in_cap : 4096;
        while (cap < c->in_len + n)
            cap *= 2;
        char *in = realloc(c->in, cap);
        if (in == NULL) {
            conn_close(c);
            return;
        }
        c->in = in;
        c->in_cap = cap;
    }
    memcpy(c->in + c->in_len, buf->base, n);
    c->in_len += n;
    conn_process(c);
}

/* ---- timers */

static void on_conn_timer(uv_timer_t *t)
{
    conn_t *c = t->data;
    if (c->h2 != NULL && c->timer_kind != TIMER_LINGER) {
        /* Any HTTP/2 deadline ends the session: GOAWAY, then close. */
        h2srv_terminate(c->h2, 0);
        h2_flush(c);
        if (!c->closing && !c->lingering)
            conn_linger(c);
        return;
    }
    switch (c->timer_kind) {
    case TIMER_HEADERS:
    case TIMER_BODY:
        /* Drop what was read of the late request and answer 408 in its place. */
        c->in_off = c->in_len = 0;
        conn_set_reading(c, false);
        conn_error(c, 408, "request timeout");
        break;
    case TIMER_WRITE:
    case TIMER_IDLE:
    case TIMER_LINGER:
        conn_close(c);
        break;
    default:
        break;
    }
}

static void conn_arm_timer(conn_t *c)
{
    if (c->closing)
        return;
    httpsrv_t *srv = c->srv;
    uint64_t deadline = 0;
    timer_kind_t kind = TIMER_NONE;
    if (c->writes_pending > 0) {
        kind = TIMER_WRITE;
        deadline = c->last_write_ms + srv->cfg.write_timeout_ms;
    } else if (c->lingering) {
        if (c->timer_kind == TIMER_LINGER)
            return; /* keep the deadline set when lingering began */
        kind = TIMER_LINGER;
        deadline = uv_now(srv->loop) + LINGER_MS;
    } else if (c->h2 != NULL) {
        if (h2srv_incomplete(c->h2) > 0) {
            /* a request's headers or body are late (slowloris) */
            kind = TIMER_HEADERS;
            deadline = c->last_read_ms + srv->cfg.header_timeout_ms;
        } else {
            /* idle, or answers blocked on a client that stopped reading */
            kind = TIMER_IDLE;
            deadline = c->last_active_ms + (h2srv_streams(c->h2) == 0 ? srv->cfg.idle_timeout_ms
                                                                         : srv->cfg.write_timeout_ms +
                                                                               srv->cfg.idle_timeout_ms);
        }
    } else if (c->reading) {
        switch (httpreq_parser_state(c->parser)) {
        case HTTPREQ_IN_HEADERS:
            kind = TIMER_HEADERS;
            deadline = c->req_start_ms + srv->cfg.header_timeout_ms;
            break;
        case HTTPREQ_IN_BODY:
            kind = TIMER_BODY;
            deadline = c->last_read_ms + srv->cfg.idle_timeout_ms;
            break;
        default:
            if (c->nqueue == 0) {
                kind = TIMER_IDLE;
                deadline = c->last_active_ms + srv->cfg.idle_timeout_ms;
            }
            break;
        }
    }
    c->timer_kind = kind;
    if (kind == TIMER_NONE) {
        uv_timer_stop(&c->timer);
        return;
    }
    uint64_t now = uv_now(srv->loop);
    uv_timer_start(&c->timer, on_conn_timer, deadline > now ? deadline - now : 0, 0);
}

/* ---- connections */

static void on_handle_closed(uv_handle_t *h)
{
    conn_unref(h->data);
}

static void conn_close(conn_t *c)
{
    if (c->closing)
        return;
    httpsrv_t *srv = c->srv;
    c->closing = true;
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    if (c->rejected) {
        srv->nrejecting--;
    } else {
        srv->nserved--;
        metrics_gauge_add(srv->m_open, -1);
    }
    /* Answered but unwritten requests go now; the others stay with their
     * handlers, marked abandoned, each holding a reference. */
    while (c->head != NULL) {
        httpsrv_req_t *r = c->head;
        c->head = r->next;
        r->next = NULL;
        if (r->responded)
            req_release(r);
        else
            req_abandon(r);
    }
    c->tail = NULL;
    c->nqueue = 0;
    /* Reports each HTTP/2 request still with its handler (h2_stream_closed). */
    h2srv_t *h2 = c->h2;
    c->h2 = NULL;
    h2srv_free(h2);
    uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
    srv_check_stopped(srv);
}

static void on_connection(uv_stream_t *ls, int status)
{
    httpsrv_t *srv = ls->data;
    if (status < 0)
        return;
    conn_t *c = calloc(1, sizeof *c);
    if (c == NULL)
        return; /* the pending connection stays in the backlog */
    c->srv = srv;
    c->parser = httpreq_parser_new(&srv->cfg.limits);
    uv_tcp_init(srv->loop, &c->tcp);
    uv_timer_init(srv->loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    c->refs = 2;
    srv->nalloc++;
    c->last_active_ms = c->last_read_ms = uv_now(srv->loop);
    /* Listed (and counted) first so that conn_close can always unlist it. */
    c->next = srv->conns;
    if (srv->conns != NULL)
        srv->conns->prev = c;
    srv->conns = c;
    bool over = srv->nserved >= srv->cfg.max_connections;
    if (over) {
        c->rejected = true;
        srv->nrejecting++;
        metrics_counter_inc(srv->m_rejected);
    } else {
        srv->nserved++;
        metrics_gauge_add(srv->m_open, 1);
    }
    if (uv_accept(ls, (uv_stream_t *)&c->tcp) != 0 || c->parser == NULL || srv->stopping) {
        conn_close(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    if (over) {
        /* Answer 503 while refusals stay few; beyond that, just close. */
        if (srv->nrejecting > 16 + srv->cfg.max_connections / 4) {
            conn_close(c);
            return;
        }
        conn_set_reading(c, false);
        conn_error(c, 503, "too many connections");
        return;
    }
    conn_set_reading(c, true);
    conn_arm_timer(c);
}

/* ---- server */

httpsrv_t *httpsrv_new(uv_loop_t *loop, const httpsrv_config_t *cfg, err_t *err)
{
    httpsrv_t *srv = calloc(1, sizeof *srv);
    if (srv == NULL) {
        err_set(err, "httpsrv: out of memory");
        return NULL;
    }
    srv->loop = loop;
    if (cfg != NULL)
        srv->cfg = *cfg;
    else
        httpsrv_config_default(&srv->cfg);
    if (srv->cfg.max_pipeline == 0)
        srv->cfg.max_pipeline = 1;
    srv->fallback = default_fallback;
    srv->unmatched.pattern = "unmatched";
    srv->invalid.pattern = "invalid";
    srv->port = -1;
    metrics_registry_t *reg = srv->cfg.metrics;
    if (reg != NULL) {
        srv->m_requests = metrics_counter_family(reg, "recsys_http_requests_total", "HTTP requests answered.",
                                                 (const char *[]){"route", "code", NULL}, err);
        srv->m_latency = metrics_histogram_family(reg, "recsys_http_request_duration_seconds",
                                                  "Time from a complete request to its answer.",
                                                  (const char *[]){"route", NULL}, NULL, 0, err);
        srv->m_open = metrics_gauge_new(reg, "recsys_http_open_connections", "HTTP connections open.", err);
        srv->m_rejected = metrics_counter_new(reg, "recsys_http_connections_rejected_total",
                                              "HTTP connections refused over the connection limit.", err);
        if (srv->m_requests == NULL || srv->m_latency == NULL || srv->m_open == NULL || srv->m_rejected == NULL) {
            free(srv);
            return NULL;
        }
        route_metrics(srv, &srv->unmatched);
        route_metrics(srv, &srv->invalid);
    }
    return srv;
}

int httpsrv_route(httpsrv_t *srv, const char *method, const char *pattern, httpsrv_handler_fn fn, void *ud,
                  err_t *err)
{
    if (method == NULL || !is_token(method) || fn == NULL)
        return err_set(err, "httpsrv: bad route method or handler");
    if (!httpreq_pattern_valid(pattern))
        return err_set(err, "httpsrv: bad route pattern '%s'", pattern ? pattern : "(null)");
    for (size_t i = 0; i < srv->nroutes; i++)
        if (strcmp(srv->routes[i]->method, method) == 0 && strcmp(srv->routes[i]->pattern, pattern) == 0)
            return err_set(err, "httpsrv: route %s %s registered twice", method, pattern);
    route_t **rs = realloc(srv->routes, (srv->nroutes + 1) * sizeof *rs);
    if (rs == NULL)
        return err_set(err, "httpsrv: out of memory");
    srv->routes = rs;
    route_t *rt = calloc(1, sizeof *rt);
    if (rt == NULL || (rt->method = strdup(method)) == NULL || (rt->pattern = strdup(pattern)) == NULL) {
        if (rt != NULL)
            free(rt->method);
        free(rt);
        return err_set(err, "httpsrv: out of memory");
    }
    rt->fn = fn;
    rt->ud = ud;
    route_metrics(srv, rt);
    srv->routes[srv->nroutes++] = rt;
    return 0;
}

int httpsrv_route_stream(httpsrv_t *srv, const char *method, const char *pattern, httpsrv_handler_fn fn, void *ud,
                         err_t *err)
{
    if (httpsrv_route(srv, method, pattern, fn, ud, err) != 0)
        return -1;
    srv->routes[srv->nroutes - 1]->streaming = true;
    return 0;
}

bool httpsrv_req_streaming(const httpsrv_req_t *r)
{
    return r->streaming;
}

void httpsrv_req_on_body(httpsrv_req_t *r, httpsrv_body_fn fn, void *ud)
{
    r->on_body = fn;
    r->body_ud = ud;
}

int httpsrv_req_write(httpsrv_req_t *r, int status, const char *content_type, const char *data, size_t len)
{
    conn_t *c = r->conn;
    if (!r->streaming || r->responded || r->abandoned || c->h2 == NULL)
        return -1;
    if (!r->stream_started) {
        if (h2srv_respond_start(c->h2, r->stream_id, status, content_type, r->headers, r->headers_len) != 0)
            return -1;
        r->stream_started = true;
        r->status = status;
    }
    int rc = len > 0 ? h2srv_respond_data(c->h2, r->stream_id, data, len) : 0;
    h2_flush(c);
    return rc;
}

void httpsrv_req_finish(httpsrv_req_t *r, int status, const char *content_type)
{
    if (r->responded)
        return;
    conn_t *c = r->conn;
    if (!r->stream_started && !r->abandoned) {
        httpsrv_respond(r, status, content_type, NULL, 0); /* trailers-only */
        return;
    }
    r->responded = true;
    r->on_body = NULL;
    record(c->srv, r, r->abandoned ? 499 : r->status);
    if (!r->abandoned && c->h2 != NULL)
        h2srv_respond_end(c->h2, r->stream_id, r->trailers, r->trailers_len);
    req_release(r);
    h2_flush(c);
}

void httpsrv_set_fallback(httpsrv_t *srv, httpsrv_handler_fn fn, void *ud)
{
    srv->fallback = fn != NULL ? fn : default_fallback;
    srv->fallback_ud = fn != NULL ? ud : NULL;
}

int httpsrv_listen(httpsrv_t *srv, const char *host, int port, err_t *err)
{
    if (srv->listening || srv->stopping)
        return err_set(err, "httpsrv: already listening or stopped");
    struct sockaddr_storage addr;
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)&addr) != 0 &&
        uv_ip6_addr(host, port, (struct sockaddr_in6 *)&addr) != 0)
        return err_set(err, "httpsrv: bad listen address '%s' (an IPv4 or IPv6 literal)", host);
    int rc = uv_tcp_init(srv->loop, &srv->listener);
    if (rc != 0)
        return err_set(err, "httpsrv: %s", uv_strerror(rc));
    srv->listener.data = srv;
    srv->listener_open = true;
    srv->listening = true;
    rc = uv_tcp_bind(&srv->listener, (const struct sockaddr *)&addr, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&srv->listener, 511, on_connection);
    if (rc != 0) {
        err_set(err, "httpsrv: listen on %s:%d: %s", host, port, uv_strerror(rc));
        httpsrv_stop(srv, NULL, NULL);
        return -1;
    }
    struct sockaddr_storage bound;
    int blen = sizeof bound;
    if (uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&bound, &blen) == 0)
        srv->port = bound.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&bound)->sin6_port)
                                                 : ntohs(((struct sockaddr_in *)&bound)->sin_port);
    return 0;
}

int httpsrv_port(const httpsrv_t *srv)
{
    return srv->port;
}

size_t httpsrv_connections(const httpsrv_t *srv)
{
    return srv->nserved + srv->nrejecting;
}

static void on_stop_timer_closed(uv_handle_t *h)
{
    httpsrv_t *srv = h->data;
    srv->stop_timer_open = false;
    srv_check_stopped(srv);
}

static void on_listener_closed(uv_handle_t *h)
{
    httpsrv_t *srv = h->data;
    srv->listener_open = false;
    srv_check_stopped(srv);
}

static void on_stop_deadline(uv_timer_t *t)
{
    httpsrv_t *srv = t->data;
    while (srv->conns != NULL)
        conn_close(srv->conns);
}

static void srv_check_stopped(httpsrv_t *srv)
{
    if (!srv->stopping || srv->done_called || srv->conns != NULL || srv->listener_open)
        return;
    if (srv->stop_timer_open) {
        if (!uv_is_closing((uv_handle_t *)&srv->stop_timer))
            uv_close((uv_handle_t *)&srv->stop_timer, on_stop_timer_closed);
        return;
    }
    srv->done_called = true;
    if (srv->done != NULL)
        srv->done(srv, srv->done_ud);
    srv_maybe_free(srv);
}

void httpsrv_stop(httpsrv_t *srv, httpsrv_done_fn done, void *ud)
{
    if (srv->stopping) {
        /* Stopped already without a completion (a failed listen stops the
         * server itself): this caller's completion still runs, at once when
         * the stop has finished. */
        if (srv->done == NULL && done != NULL) {
            srv->done = done;
            srv->done_ud = ud;
            if (srv->done_called)
                done(srv, ud);
        }
        return;
    }
    srv->stopping = true;
    srv->done = done;
    srv->done_ud = ud;
    if (srv->listener_open)
        uv_close((uv_handle_t *)&srv->listener, on_listener_closed);
    if (srv->conns != NULL) {
        uv_timer_init(srv->loop, &srv->stop_timer);
        srv->stop_timer.data = srv;
        srv->stop_timer_open = true;
        uv_timer_start(&srv->stop_timer, on_stop_deadline, srv->cfg.shutdown_timeout_ms, 0);
    }
    /* Stop taking requests everywhere; idle connections close at once, the
     * others after their last answer (closing c unlists it: take next first). */
    for (conn_t *c = srv->conns, *next; c != NULL; c = next) {
        next = c->next;
        c->stop_parsing = true;
        if (c->h2 != NULL) {
            if (!c->lingering) {
                h2srv_shutdown(c->h2); /* GOAWAY: in-flight streams finish */
                h2_flush(c);
            }
            continue;
        }
        if (!c->lingering && !c->close_written) {
            if (c->nqueue == 0 && c->writes_pending == 0)
                conn_close(c);
            else
                conn_set_reading(c, false);
        }
    }
    srv_check_stopped(srv);
}

static void srv_maybe_free(httpsrv_t *srv)
{
    if (!srv->freed || srv->nalloc > 0 || (srv->listening && !srv->done_called))
        return;
    for (size_t i = 0; i < srv->nroutes; i++) {
        free(srv->routes[i]->method);
        free(srv->routes[i]->pattern);
        free(srv->routes[i]);
    }
    free(srv->routes);
    free(srv);
}

void httpsrv_free(httpsrv_t *srv)
{
    if (srv == NULL || srv->freed)
        return;
    srv->freed = true;
    if (srv->listening && !srv->stopping)
        httpsrv_stop(srv, NULL, NULL);
    srv_maybe_free(srv);
}
