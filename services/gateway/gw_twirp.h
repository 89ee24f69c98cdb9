/*
 * gw_twirp.h: the gateway's wire conventions: Twirp error codes and their
 * HTTP statuses, the Twirp error body, and request/response encodings.
 *
 * Every error the gateway answers, on every route, is Twirp's JSON error
 * {"code": "...", "msg": "...", "meta": {...}} with the HTTP status Twirp
 * gives that code (twitchtv/twirp docs/errors.md): invalid_argument,
 * malformed and out_of_range 400, unauthenticated 401, permission_denied
 * 403, not_found and bad_route 404, canceled and deadline_exceeded 408,
 * already_exists and aborted 409, failed_precondition 412,
 * resource_exhausted 429, unimplemented 501, unavailable 503, internal,
 * unknown and dataloss 500.
 *
 * Twirp bodies are application/json (the proto3 JSON mapping, common/wire/pbjson)
 * or application/protobuf; the answer uses the request's encoding. Any other
 * Content-Type on a Twirp route is bad_route, as Twirp's own servers answer.
 */
#ifndef RECSYS_GATEWAY_GW_TWIRP_H
#define RECSYS_GATEWAY_GW_TWIRP_H

#include <stddef.h>
#include <protobuf-c/protobuf-c.h>

#include "common/base/err.h"
#include "common/net/httpsrv.h"
#include "common/wire/pbjson.h"
#include "recsys/v1/worker.pb-c.h"

typedef enum {
    GW_OK = 0,
    GW_CANCELED,
    GW_UNKNOWN,
    GW_INVALID_ARGUMENT,
    GW_MALFORMED,
    GW_DEADLINE_EXCEEDED,
    GW_NOT_FOUND,
    GW_BAD_ROUTE,
    GW_ALREADY_EXISTS,
    GW_PERMISSION_DENIED,
    GW_UNAUTHENTICATED,
    GW_RESOURCE_EXHAUSTED,
    GW_FAILED_PRECONDITION,
    GW_ABORTED,
    GW_OUT_OF_RANGE,
    GW_UNIMPLEMENTED,
    GW_INTERNAL,
    GW_UNAVAILABLE,
    GW_DATALOSS,
    GW_NCODES
} gw_code_t;

typedef enum { GW_ENC_JSON = 0, GW_ENC_PROTO = 1 } gw_encoding_t;

#define GW_CT_JSON "application/json"
#define GW_CT_PROTO "application/protobuf"

/* "invalid_argument"...; "ok" for GW_OK, "unknown" out of range. */
const char *gw_code_name(gw_code_t c);
/* The HTTP status Twirp gives the code (200 for GW_OK, 500 out of range). */
int gw_code_status(gw_code_t c);
/* The code of a name ("not_found"), or -1. */
int gw_code_parse(const char *name);
/* The Twirp code for a worker's error code. */
gw_code_t gw_code_from_worker(Recsys__V1__WorkerErrorCode c);

/* The Twirp error body (malloc'd, NUL-terminated, length in *len when not
 * NULL). meta: NULL, or NULL-terminated alternating keys and values. NULL
 * only when memory ran out. */
char *gw_error_json(gw_code_t code, const char *msg, const char *const *meta, size_t *len);
/* Answers r with that body and the code's status. */
void gw_respond_error(httpsrv_req_t *r, gw_code_t code, const char *msg, const char *const *meta);

/* The encoding of a Twirp request's Content-Type ("application/json",
 * "application/json; charset=utf-8", "application/protobuf"); -1 when
 * absent or anything else. */
int gw_content_type(const char *content_type, gw_encoding_t *out);

/* Decodes body[0..len) as a message of type d. Protobuf input must also
 * hold valid UTF-8 in every string field (proto3 requires it; JSON input is
 * checked by pbjson). NULL with err set (the caller answers malformed);
 * free with protobuf_c_message_free_unpacked(m, NULL). */
ProtobufCMessage *gw_decode(const ProtobufCMessageDescriptor *d, gw_encoding_t enc, const char *body,
                            size_t len, const pbjson_limits_t *lim, err_t *err);
/* Encodes m; *out is malloc'd. -1 with err set when memory ran out. */
int gw_encode(const ProtobufCMessage *m, gw_encoding_t enc, char **out, size_t *len, err_t *err);
/* Answers r with m (200) in enc, or internal when it cannot be encoded. */
void gw_respond_message(httpsrv_req_t *r, const ProtobufCMessage *m, gw_encoding_t enc);
/* Answers r with an encoded answer (body taken over). A gRPC request
 * (gw_grpc.h) gets the protobuf framed, with its status in trailers; errors
 * through gw_respond_error likewise become gRPC statuses. */
void gw_respond_body(httpsrv_req_t *r, gw_encoding_t enc, char *body, size_t len);

/* True when every string field of m (recursively) is valid UTF-8. Writes
 * the path of the first bad field into path[size] otherwise. */
int gw_strings_valid(const ProtobufCMessage *m, char *path, size_t size);

#endif
