/*
 * gw_cache_codec.h: what the gateway stores in its answer cache (gw_cache.h
 * moves opaque bytes): the key of a ranked request and the stored form of
 * an answer.
 *
 * Key: the model versions last seen by the health poll, the user, and the
 * packed request (every parameter) as the params hashed into the key.
 *
 * Value: the answer ready to send in both encodings, so a hit costs no
 * unpacking nor JSON encoding (profiled: re-encoding the floats was most of
 * a hit's user time). Only two fields are per request, cached and
 * request_id; the stored forms have them at their defaults and they are
 * spliced in on the way out:
 *   "GWA1" | u32 proto_len | u32 json_len | u32 json_splice | proto | json
 * - protobuf: the packed answer without fields 5 and 6 (defaults are not
 *   packed); the request's own values are appended (a later field wins, in
 *   both Recommend and SimilarItems responses: cached = 5, request_id = 6);
 * - JSON: the encoding holds `"cached":false,"request_id":""` exactly once
 *   at json_splice (inside a string value a quote is always escaped, so
 *   those bytes cannot come from an id or title); it is replaced.
 * Little-endian lengths; a value that does not parse is refused (the
 * gateway answers an internal error), never trusted beyond its lengths.
 */
#ifndef RECSYS_GATEWAY_GW_CACHE_CODEC_H
#define RECSYS_GATEWAY_GW_CACHE_CODEC_H

#include <stdbool.h>
#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

#include "common/base/arena.h"
#include "common/base/err.h"
#include "services/gateway/gw_cache.h"
#include "services/gateway/gw_twirp.h"

/* The key of a ranked request req (Recommend, SimilarItems) for user (""
 * for answers that do not depend on one): its packed bytes, allocated from
 * a, as the params. -1 when memory ran out. */
int gw_cache_request_key(gw_cache_key_t *key, const ProtobufCMessage *req, const char *user,
                         const char *content_version, const char *cf_version, arena_t *a);

/* The stored form of resp (malloc'd, length in *len), or NULL with err.
 * *cached and *request_id (resp's own fields) are reset to their defaults
 * first, as the format requires. */
void *gw_cache_answer_encode(ProtobufCMessage *resp, protobuf_c_boolean *cached, char **request_id,
                             size_t *len, err_t *err);

/* The body answering one request from a stored value v[0..len), in enc,
 * with this request's cached flag and id (a token: no JSON escaping
 * needed, < 128 bytes): malloc'd into *body after headroom bytes left for
 * the caller (gRPC's message prefix), *n bytes of body after them. -1 when
 * v is not a stored answer (or memory ran out). */
int gw_cache_answer_body(const void *v, size_t len, gw_encoding_t enc, bool cached, const char *request_id,
                         size_t headroom, char **body, size_t *n);

#endif
