/*
 * gw_cache_codec.c: the key of a ranked request and the stored form of
 * its answer in the answer cache. See gw_cache_codec.h for the format.
 */
#include "services/gateway/gw_cache_codec.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/wire/pbjson.h"

#define STORED_MAGIC "GWA1"
#define STORED_HDR 16
static const char SPLICE_JSON[] = "\"cached\":false,\"request_id\":\"\"";

int gw_cache_request_key(gw_cache_key_t *key, const ProtobufCMessage *req, const char *user,
                         const char *content_version, const char *cf_version, arena_t *a)
{
    size_t n = protobuf_c_message_get_packed_size(req);
    uint8_t *params = arena_alloc(a, n ? n : 1);
    if (params == NULL)
        return -1;
    protobuf_c_message_pack(req, params);
    *key = (gw_cache_key_t){content_version, cf_version, user, params, n};
    return 0;
}

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* First occurrence of needle in hay[0..n) (memmem is a GNU extension). */
static const char *find_bytes(const char *hay, size_t n, const char *needle, size_t m)
{
    for (const char *p = hay; m <= n && p <= hay + (n - m); p++) {
        p = memchr(p, needle[0], (size_t)(hay + (n - m) - p) + 1);
        if (p == NULL)
            return NULL;
        if (memcmp(p, needle, m) == 0)
            return p;
    }
    return NULL;
}

void *gw_cache_answer_encode(ProtobufCMessage *resp, protobuf_c_boolean *cached, char **request_id,
                             size_t *len, err_t *err)
{
    if (cached != NULL)
        *cached = 0;
    if (request_id != NULL)
        *request_id = "";
    size_t pn = protobuf_c_message_get_packed_size(resp);
    size_t jn = 0;
    char *json = pbjson_encode(resp, NULL, &jn, err);
    if (json == NULL)
        return NULL;
    const char *at = find_bytes(json, jn, SPLICE_JSON, sizeof SPLICE_JSON - 1);
    if (at == NULL || pn > UINT32_MAX || jn > UINT32_MAX) {
        free(json);
        err_set(err, "answer cannot be stored: no splice point in its JSON");
        return NULL;
    }
    uint8_t *v = malloc(STORED_HDR + pn + jn);
    if (v == NULL) {
        free(json);
        err_set(err, "out of memory");
        return NULL;
    }
    memcpy(v, STORED_MAGIC, 4);
    put_u32(v + 4, (uint32_t)pn);
    put_u32(v + 8, (uint32_t)jn);
    put_u32(v + 12, (uint32_t)(at - json));
    protobuf_c_message_pack(resp, v + STORED_HDR);
    memcpy(v + STORED_HDR + pn, json, jn);
    free(json);
    *len = STORED_HDR + pn + jn;
    return v;
}

int gw_cache_answer_body(const void *value, size_t len, gw_encoding_t enc, bool cached,
                         const char *request_id, size_t headroom, char **out, size_t *out_len)
{
    const uint8_t *v = value;
    if (len < STORED_HDR || memcmp(v, STORED_MAGIC, 4) != 0)
        return -1;
    size_t pn = get_u32(v + 4), jn = get_u32(v + 8), at = get_u32(v + 12);
    size_t idn = strlen(request_id);
    if (pn + jn != len - STORED_HDR || at + sizeof SPLICE_JSON - 1 > jn || idn > 127)
        return -1;
    const uint8_t *proto = v + STORED_HDR, *json = proto + pn;
    char *buf, *body;
    size_t n;
    if (enc == GW_ENC_PROTO) {
        buf = malloc(headroom + pn + 4 + idn);
        if (buf == NULL)
            return -1;
        body = buf + headroom;
        memcpy(body, proto, pn);
        n = pn;
        if (cached) {
            body[n++] = 0x28; /* field 5, varint */
            body[n++] = 0x01;
        }
        if (idn > 0) {
            body[n++] = 0x32; /* field 6, length-delimited */
            body[n++] = (char)idn;
            memcpy(body + n, request_id, idn);
            n += idn;
        }
    } else {
        char mid[200];
        int mn = snprintf(mid, sizeof mid, "\"cached\":%s,\"request_id\":\"%s\"", cached ? "true" : "false",
                          request_id);
        if (mn < 0 || (size_t)mn >= sizeof mid)
            return -1;
        size_t rest = jn - at - (sizeof SPLICE_JSON - 1);
        n = at + (size_t)mn + rest;
        buf = malloc(headroom + n + 1);
        if (buf == NULL)
            return -1;
        body = buf + headroom;
        memcpy(body, json, at);
        memcpy(body + at, mid, (size_t)mn);
        memcpy(body + at + mn, json + at + (sizeof SPLICE_JSON - 1), rest);
        body[n] = '\0';
    }
    *out = buf;
    *out_len = n;
    return 0;
}
