/*
 * httpsrv.h: a small HTTP/1.1 server on a libuv loop.
 *
 * Routes are (method, pattern) -> handler, patterns as in httpreq.h
 * ("/v1/users/{id}/recommendations"). A handler gets an httpsrv_req_t and
 * answers with httpsrv_respond*() either before it returns or later (after
 * an RPC completes): the request belongs to the handler until it responds,
 * and every request must be answered exactly once. Everything here runs on
 * the loop thread only; other threads hand their results over with a
 * uv_async_t first.
 *
 * Connections are keep-alive with pipelining: responses leave in request
 * order whatever order the handlers finish in, and at most max_pipeline
 * requests per connection are in flight (reading pauses beyond that). If the
 * client goes away while a handler works, the request is marked abandoned
 * and its late response is dropped (the connection's memory lives until
 * then: requests hold a reference on it).
 *
 * Limits answer with a status and close: 413/414/431/400 from the parser,
 * 408 when the headers (or, afterwards, body bytes) do not arrive in time,
 * 503 beyond max_connections. A keep-alive connection idle for too long is
 * closed; so is one whose client stops reading for write_timeout_ms. After a
 * "Connection: close" response the server half-closes and drains input
 * briefly before closing, so the client reads the answer instead of a reset.
 *
 * Unknown paths go to a fallback handler (default: 404 text); a path known
 * for other methods also goes there with httpsrv_req_allow() set (default:
 * 405 with an Allow header). HEAD is served by GET routes without the body.
 *
 * HTTP/2 (h2c with prior knowledge, as gRPC clients speak it) is served on
 * the same port: a connection whose first bytes are the HTTP/2 client
 * preface goes to an h2srv session (h2srv.h), anything else to the HTTP/1.1
 * parser. One port means one address for every client, one set of limits
 * and one drain. Over HTTP/2 each stream is a request routed like any
 * other; answers leave as soon as they are ready (no ordering), may carry
 * trailers, and at most max_streams are in flight per connection
 * (SETTINGS_MAX_CONCURRENT_STREAMS). A stream the client resets abandons
 * its request. Stopping sends GOAWAY and lets the streams in flight finish.
 *
 * Metrics (when a registry is given): recsys_http_requests_total{route,code},
 * recsys_http_request_duration_seconds{route} (dispatch to respond),
 * recsys_http_open_connections, recsys_http_connections_rejected_total.
 * route is the pattern, "unmatched" for the fallback, "invalid" for requests
 * refused before routing; code 499 counts responses to abandoned requests.
 */
#ifndef RECSYS_COMMON_HTTPSRV_H
#define RECSYS_COMMON_HTTPSRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "common/base/config.h"
#include "common/base/err.h"
#include "common/net/httpreq.h"
#include "common/net/metrics.h"

typedef struct httpsrv httpsrv_t;
typedef struct httpsrv_req httpsrv_req_t;

typedef void (*httpsrv_handler_fn)(httpsrv_req_t *req, void *ud);
typedef void (*httpsrv_done_fn)(httpsrv_t *srv, void *ud);

typedef struct httpsrv_config {
    httpreq_limits_t limits;
    size_t max_connections;
    size_t max_pipeline;
    size_t max_streams; /* HTTP/2: streams in flight per connection */
    uint64_t idle_timeout_ms;
    uint64_t header_timeout_ms;
    uint64_t write_timeout_ms;
    uint64_t shutdown_timeout_ms;
    metrics_registry_t *metrics; /* NULL: no metrics */
    bool trace;      /* traceparent in and out (trace.h); the public servers set it */
    bool access_log; /* one JSON log line per answered request */
} httpsrv_config_t;

#define HTTPSRV_MAX_NOTES 4

/* http-max-body-bytes, http-max-header-bytes, http-max-headers,
 * http-max-url-bytes, http-max-connections, http-max-pipeline,
 * http-idle-timeout-ms, http-header-timeout-ms, http-write-timeout-ms,
 * http-shutdown-timeout-ms. Host and port are each service's own options. */
extern const cfg_option_t httpsrv_options[];

/* The defaults of httpsrv_options. */
void httpsrv_config_default(httpsrv_config_t *c);
/* Reads httpsrv_options from a parsed configuration (metrics is left NULL). */
int httpsrv_config_from_cfg(httpsrv_config_t *c, const cfg_t *cfg, err_t *err);

httpsrv_t *httpsrv_new(uv_loop_t *loop, const httpsrv_config_t *cfg, err_t *err);
/* method: "GET", "POST", ...; -1 on a bad pattern or a duplicate route. */
int httpsrv_route(httpsrv_t *srv, const char *method, const char *pattern, httpsrv_handler_fn fn, void *ud,
                  err_t *err);
/* A route whose HTTP/2 requests stream (gRPC client and bidirectional
 * streaming): the handler runs as soon as the headers are in, with an empty
 * body; it reads the body with httpsrv_req_on_body and may answer piece by
 * piece (httpsrv_req_write, then httpsrv_req_finish). Over HTTP/1.1 the route
 * is an ordinary one (the whole body, httpsrv_req_streaming false). */
int httpsrv_route_stream(httpsrv_t *srv, const char *method, const char *pattern, httpsrv_handler_fn fn, void *ud,
                         err_t *err);
/* Handler for requests no route takes (see httpsrv_req_allow). */
void httpsrv_set_fallback(httpsrv_t *srv, httpsrv_handler_fn fn, void *ud);
/* host "127.0.0.1", "0.0.0.0", "::"; port 0 picks a free one (httpsrv_port). */
int httpsrv_listen(httpsrv_t *srv, const char *host, int port, err_t *err);
int httpsrv_port(const httpsrv_t *srv);
/* Connections open now (served or being refused). */
size_t httpsrv_connections(const httpsrv_t *srv);
/* Graceful stop: stop accepting, stop reading new requests, let the requests
 * in flight finish and their responses go out (the last one on each
 * connection says Connection: close), close idle connections; whatever is
 * still open after shutdown_timeout_ms is closed. done (may be NULL) runs on
 * the loop once every handle is closed. Calling it again does nothing. */
void httpsrv_stop(httpsrv_t *srv, httpsrv_done_fn done, void *ud);
/* Releases the server. Call after done ran, or on a server that never
 * listened; otherwise it stops the server and the memory goes when the loop
 * has closed everything. Requests still held by handlers stay valid. */
void httpsrv_free(httpsrv_t *srv);

/* ---- the request, as seen by a handler */
const httpreq_t *httpsrv_req_http(const httpsrv_req_t *r);
/* Decoded path parameter ("id" of "/v1/users/{id}"), or NULL. */
const char *httpsrv_req_param(const httpsrv_req_t *r, const char *name);
/* The matched pattern, or NULL in the fallback. */
const char *httpsrv_req_route(const httpsrv_req_t *r);
/* In the fallback: the methods the path accepts ("GET, HEAD") when it exists
 * for other methods (405), NULL when it does not exist at all (404). */
const char *httpsrv_req_allow(const httpsrv_req_t *r);
/* True once the client has gone: the response will be dropped. */
bool httpsrv_req_abandoned(const httpsrv_req_t *r);

/* The request's W3C trace id (32 hex digits; "" when tracing is off). With
 * tracing on, the caller's traceparent is taken when valid, otherwise a new
 * trace starts; the answer carries "traceparent" with the same trace id. */
const char *httpsrv_req_trace_id(const httpsrv_req_t *r);
/* A key (a static string) and short value added to the request's access log
 * line ("cache", "hit"); at most HTTPSRV_MAX_NOTES keys, a key set twice
 * keeps the last value. */
void httpsrv_req_note(httpsrv_req_t *r, const char *key, const char *value);
/* True for a request that came over HTTP/2. */
bool httpsrv_req_http2(const httpsrv_req_t *r);
/* The request's deadline on uv_hrtime()'s clock (0: none). The server only
 * stores it; handlers read it to bound their work. */
void httpsrv_req_set_deadline(httpsrv_req_t *r, uint64_t deadline_ns);
uint64_t httpsrv_req_deadline(const httpsrv_req_t *r);
/* fn(ud) runs once, on the loop, if the client goes away (connection closed,
 * HTTP/2 stream reset) before the answer: the handler may cancel its work.
 * It must still answer (the answer is then dropped). */
typedef void (*httpsrv_abandon_fn)(void *ud);
void httpsrv_req_on_abandon(httpsrv_req_t *r, httpsrv_abandon_fn fn, void *ud);

/* ---- streaming (routes of httpsrv_route_stream, over HTTP/2) */
bool httpsrv_req_streaming(const httpsrv_req_t *r);
/* fn(ud, data, len, end) for each piece of the body; end (len 0) when the
 * client has sent all. Not called once the request is answered or abandoned. */
typedef void (*httpsrv_body_fn)(void *ud, const char *data, size_t len, bool end);
void httpsrv_req_on_body(httpsrv_req_t *r, httpsrv_body_fn fn, void *ud);
/* Sends the headers (first call: status, content type and the headers added
 * so far) and data[0..len). -1 when the request is not streaming or gone. */
int httpsrv_req_write(httpsrv_req_t *r, int status, const char *content_type, const char *data, size_t len);
/* Ends a streamed answer with the trailers added so far and gives the
 * request back; when nothing was written yet it is an answer without body
 * (status, content type; trailers-only). Also the way to give back an
 * abandoned streaming request. */
void httpsrv_req_finish(httpsrv_req_t *r, int status, const char *content_type);

/* Adds a response trailer (HTTP/2 only: -1 on HTTP/1.1, like a bad name or
 * value). An answer without a body sends its trailers in the header block
 * (gRPC's trailers-only form). */
int httpsrv_req_add_trailer(httpsrv_req_t *r, const char *name, const char *value);
/* Adds a response header; -1 for an invalid name or value (CR, LF, NUL) or a
 * header the server manages (Content-Length, Connection, Transfer-Encoding). */
int httpsrv_req_add_header(httpsrv_req_t *r, const char *name, const char *value);
/* Answers and gives the request back (r is invalid afterwards). The body is
 * copied; content_type may be NULL when there is no body. */
void httpsrv_respond(httpsrv_req_t *r, int status, const char *content_type, const void *body, size_t len);
/* Same, taking ownership of a malloc'd body (freed by the server). */
void httpsrv_respond_owned(httpsrv_req_t *r, int status, const char *content_type, char *body, size_t len);
/* text/plain; charset=utf-8. */
void httpsrv_respond_text(httpsrv_req_t *r, int status, const char *text);

#endif
