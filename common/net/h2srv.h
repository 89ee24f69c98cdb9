/*
 * h2srv.h: the server side of one HTTP/2 connection (h2c, prior knowledge),
 * bytes in, bytes out, no sockets: nghttp2's session driven by the caller's
 * I/O (httpsrv.c feeds it from the libuv loop).
 *
 * A stream's request is collected (headers and body, within the same limits
 * as HTTP/1.1) and handed over complete as an httpreq_t, so a route handler
 * cannot tell HTTP/2 from HTTP/1.1 except through the transport. The caller
 * answers a stream with h2srv_respond (headers, an optional body, optional
 * trailers; with no body the trailers join the headers, which is gRPC's
 * "trailers-only" answer). Flow control, PING, SETTINGS acknowledgements and
 * stream bookkeeping are nghttp2's; the caller only moves bytes.
 *
 * Limits: SETTINGS_MAX_CONCURRENT_STREAMS is max_streams (nghttp2 refuses
 * more streams with REFUSED_STREAM); SETTINGS_MAX_HEADER_LIST_SIZE is the
 * header byte limit. A request over a limit (header bytes or count, target
 * length, body size) or malformed is answered by h2srv itself: a gRPC
 * request (Content-Type application/grpc...) with grpc-status
 * RESOURCE_EXHAUSTED (size limits) or INTERNAL (malformed), anything else
 * with the HTTP/1.1 status (413, 431, 414, 400).
 *
 * A stream that closes before its answer (RST_STREAM from the client, or
 * the connection going away) is reported through hooks.closed with the
 * user data the caller attached, so the caller can abandon the work.
 */
#ifndef RECSYS_COMMON_H2SRV_H
#define RECSYS_COMMON_H2SRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/net/httpreq.h"

/* The 24-byte client connection preface "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n". */
#define H2SRV_PREFACE_LEN 24
/* 1: data[0..len) is the whole preface; 0: a proper prefix of it (read more);
 * -1: not HTTP/2. */
int h2srv_sniff(const char *data, size_t len);

typedef struct h2srv h2srv_t;

typedef struct h2srv_hooks {
    /* A complete request on stream_id; the callee owns req and answers with
     * h2srv_respond (now or later). streaming: what hooks.streaming said for
     * its path (asked once per stream; false without that hook). */
    void (*request)(void *ud, int32_t stream_id, httpreq_t *req, bool streaming);
    /* A stream with a request handed over and not yet answered closed
     * (client reset, connection closing): stream_ud as set with
     * h2srv_stream_set_ud. */
    void (*closed)(void *ud, void *stream_ud);
    /* Optional: true when requests to this path stream (gRPC client or
     * bidirectional streaming): the request is handed over as soon as its
     * headers are in, with an empty body, and the body follows through
     * hooks.data. */
    bool (*streaming)(void *ud, const char *path);
    /* A streaming request's body bytes (len 0 and end true: the client has
     * sent everything), for a stream whose ud is set and not yet answered. */
    void (*data)(void *ud, void *stream_ud, const char *data, size_t len, bool end);
    /* Optional: the session answered a request itself (over a limit or
     * malformed: status 400, 413, 414, 431, 500), for metrics. */
    void (*refused)(void *ud, int status);
} h2srv_hooks_t;

typedef struct h2srv_config {
    httpreq_limits_t limits;
    uint32_t max_streams;
} h2srv_config_t;

/* NULL on out of memory. The server's SETTINGS are queued at once. */
h2srv_t *h2srv_new(const h2srv_config_t *cfg, const h2srv_hooks_t *hooks, void *ud);
/* Closes the session; hooks.closed runs for every unanswered stream. */
void h2srv_free(h2srv_t *h);

/* Feeds received bytes (hooks may run inside). -1 on a connection error:
 * a GOAWAY may be queued; send it and close. */
int h2srv_recv(h2srv_t *h, const char *data, size_t len);
/* Everything nghttp2 wants to write now, into *buf from its start: *len
 * bytes (0 when nothing). *buf (*cap bytes; NULL and 0 for none yet) is the
 * caller's and grown with realloc, so a connection can reuse one buffer
 * from write to write. -1 on a fatal error (*buf stays the caller's). */
int h2srv_send(h2srv_t *h, char **buf, size_t *cap, size_t *len);

/* Attaches the caller's pointer to a stream (reported by hooks.closed). */
void h2srv_stream_set_ud(h2srv_t *h, int32_t stream_id, void *stream_ud);

/* Answers a stream. headers and trailers: "Name: value\r\n" lines (names
 * are sent lower-case; NULL or empty for none). body is taken over (freed
 * here, even on error). -1 when the stream is gone (the answer is dropped). */
int h2srv_respond(h2srv_t *h, int32_t stream_id, int status, const char *content_type, const char *headers,
                  size_t headers_len, char *body, size_t body_len, const char *trailers, size_t trailers_len);

/* A streamed answer: the headers now (h2srv_respond's arguments without
 * body and trailers), then any number of h2srv_respond_data, then
 * h2srv_respond_end with the trailers. -1 when the stream is gone. */
int h2srv_respond_start(h2srv_t *h, int32_t stream_id, int status, const char *content_type, const char *headers,
                        size_t headers_len);
int h2srv_respond_data(h2srv_t *h, int32_t stream_id, const char *data, size_t len);
int h2srv_respond_end(h2srv_t *h, int32_t stream_id, const char *trailers, size_t trailers_len);

/* Graceful stop: GOAWAY with the last stream taken; streams in flight are
 * still answered, new ones refused. */
void h2srv_shutdown(h2srv_t *h);
/* Immediate stop: GOAWAY with an error code (0 NO_ERROR), nothing more is read. */
void h2srv_terminate(h2srv_t *h, uint32_t error_code);
/* Nothing more to read or write: the connection can close. */
bool h2srv_finished(const h2srv_t *h);
/* Streams open (requests being received, handled or answered). */
size_t h2srv_streams(const h2srv_t *h);
/* Streams whose request has not fully arrived. */
size_t h2srv_incomplete(const h2srv_t *h);

#endif
