/*
 * gw_grpc.h: gRPC's wire conventions on top of the gateway's HTTP server:
 * the 5-byte message framing, grpc-timeout, grpc-encoding, and statuses in
 * trailers (see gw_grpc.c).
 *
 * A gRPC call is an HTTP/2 POST to /recsys.v1.Recommender/<Method> with
 * Content-Type application/grpc[+proto]; its body is one length-prefixed
 * message, the same protobuf a Twirp client sends, and its answer is one
 * length-prefixed message followed by grpc-status 0 in the trailers. So the
 * gateway runs the very same method code for Twirp protobuf and gRPC; only
 * the unwrapping of the request (gw_grpc_unwrap) and the wrapping of the
 * answer (gw_twirp.c's respond functions ask gw_grpc_is) differ.
 *
 * Errors carry the Twirp code's gRPC twin (gw_grpc_code) in grpc-status and
 * the message, percent-encoded, in grpc-message, as a trailers-only answer.
 */
#ifndef RECSYS_GATEWAY_GW_GRPC_H
#define RECSYS_GATEWAY_GW_GRPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/net/httpsrv.h"
#include "services/gateway/gw_twirp.h"

/* gRPC status codes (grpc/doc/statuscodes.md). */
enum {
    GW_GRPC_OK = 0,
    GW_GRPC_CANCELLED = 1,
    GW_GRPC_UNKNOWN = 2,
    GW_GRPC_INVALID_ARGUMENT = 3,
    GW_GRPC_DEADLINE_EXCEEDED = 4,
    GW_GRPC_NOT_FOUND = 5,
    GW_GRPC_RESOURCE_EXHAUSTED = 8,
    GW_GRPC_UNIMPLEMENTED = 12,
    GW_GRPC_INTERNAL = 13,
    GW_GRPC_UNAVAILABLE = 14,
    GW_GRPC_UNAUTHENTICATED = 16,
};

/* The request came over HTTP/2 with a gRPC Content-Type: answer it in gRPC. */
bool gw_grpc_is(const httpsrv_req_t *r);
/* The gRPC status of a Twirp code (malformed: INVALID_ARGUMENT; bad_route:
 * UNIMPLEMENTED; dataloss: DATA_LOSS; the others by name). */
int gw_grpc_code(gw_code_t c);

/* Parses a grpc-timeout value ("100m", "5S", "1H": 1-8 digits and a unit of
 * H M S m u n) into nanoseconds; -1 when invalid. */
int64_t gw_grpc_timeout_ns(const char *v);

/* Checks a unary gRPC request and finds its one message: 0 with msg/len
 * pointing into the request body; -1 after answering r with the error
 * (not HTTP/2 or not gRPC, a compressed message, a bad frame). Sets r's
 * deadline from grpc-timeout. */
int gw_grpc_unwrap(httpsrv_req_t *r, const char **msg, size_t *len);
/* Same for a client-streaming method: msg/len is the whole body, every
 * message of which is checked; walk it with gw_grpc_next. */
int gw_grpc_unwrap_stream(httpsrv_req_t *r, const char **body, size_t *len);
/* The next message of a checked body from *off: 1 with msg/len, 0 at the end. */
int gw_grpc_next(const char *body, size_t len, size_t *off, const char **msg, size_t *msg_len);
/* The 5-byte prefix of a message of len bytes (uncompressed), at p. */
#define GW_GRPC_PREFIX 5
void gw_grpc_prefix(char *p, size_t len);
/* Appends m, framed, to buf (realloc'd): 0, or -1 out of memory. */
int gw_grpc_append(char **buf, size_t *len, const ProtobufCMessage *m);
/* Answers r with already framed messages (taken over) and grpc-status 0;
 * DEADLINE_EXCEEDED instead when r's deadline has passed. */
void gw_grpc_respond_framed(httpsrv_req_t *r, char *framed, size_t len);
/* Splits body[0..len) into its one length-prefixed message: 0, or -1 with
 * the gRPC status in *code and a reason in why[size] (exposed for the fuzzer). */
int gw_grpc_unframe(const char *body, size_t len, bool compressed_ok, const char **msg, size_t *msg_len, int *code,
                    char *why, size_t size);

/* Answers r with a serialized message (taken over): the framed message and
 * grpc-status 0 in the trailers; DEADLINE_EXCEEDED instead when r's deadline
 * has passed. */
void gw_grpc_respond_owned(httpsrv_req_t *r, char *msg, size_t len);
/* Answers r with a status and message, trailers-only. */
void gw_grpc_respond_status(httpsrv_req_t *r, int code, const char *msg);

#endif
