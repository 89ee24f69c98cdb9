/*
 * gw_grpc.c: gRPC framing, timeouts, statuses (see gw_grpc.h and gRPC's
 * PROTOCOL-HTTP2.md).
 *
 * Compression: the gateway implements only "identity". A request that
 * names another grpc-encoding but sends its message uncompressed (flag 0)
 * is served; a compressed message (flag 1) is UNIMPLEMENTED with
 * grpc-accept-encoding: identity, as the protocol asks; flag 1 without a
 * grpc-encoding is INTERNAL.
 */
#include "services/gateway/gw_grpc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <uv.h>

bool gw_grpc_is(const httpsrv_req_t *r)
{
    if (!httpsrv_req_http2(r))
        return false;
    const char *ct = httpreq_header(httpsrv_req_http(r), "Content-Type");
    return ct != NULL && strncasecmp(ct, "application/grpc", 16) == 0;
}

int gw_grpc_code(gw_code_t c)
{
    static const int map[GW_NCODES] = {
        [GW_OK] = 0,
        [GW_CANCELED] = 1,
        [GW_UNKNOWN] = 2,
        [GW_INVALID_ARGUMENT] = 3,
        [GW_MALFORMED] = 3,
        [GW_DEADLINE_EXCEEDED] = 4,
        [GW_NOT_FOUND] = 5,
        [GW_BAD_ROUTE] = 12,
        [GW_ALREADY_EXISTS] = 6,
        [GW_PERMISSION_DENIED] = 7,
        [GW_UNAUTHENTICATED] = 16,
        [GW_RESOURCE_EXHAUSTED] = 8,
        [GW_FAILED_PRECONDITION] = 9,
        [GW_ABORTED] = 10,
        [GW_OUT_OF_RANGE] = 11,
        [GW_UNIMPLEMENTED] = 12,
        [GW_INTERNAL] = 13,
        [GW_UNAVAILABLE] = 14,
        [GW_DATALOSS] = 15,
    };
    return (int)c >= 0 && c < GW_NCODES ? map[c] : 2;
}

int64_t gw_grpc_timeout_ns(const char *v)
{
    if (v == NULL)
        return -1;
    size_t n = strlen(v);
    if (n < 2 || n > 9)
        return -1;
    int64_t x = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        x = x * 10 + (v[i] - '0');
    }
    int64_t unit;
    switch (v[n - 1]) {
    case 'H': unit = 3600000000000LL; break;
    case 'M': unit = 60000000000LL; break;
    case 'S': unit = 1000000000LL; break;
    case 'm': unit = 1000000LL; break;
    case 'u': unit = 1000LL; break;
    case 'n': unit = 1; break;
    default: return -1;
    }
    /* 8 digits of hours overflow int64 nanoseconds: cap at ~100 days. */
    const int64_t cap = 100LL * 24 * 3600000000000LL;
    return x > cap / unit ? cap : x * unit;
}

int gw_grpc_unframe(const char *body, size_t len, bool compressed_ok, const char **msg, size_t *msg_len, int *code,
                    char *why, size_t size)
{
    const unsigned char *b = (const unsigned char *)body;
    if (len < 5) {
        *code = GW_GRPC_INTERNAL;
        snprintf(why, size, "request has %zu bytes: a gRPC message needs its 5-byte prefix", len);
        return -1;
    }
    if (b[0] > 1) {
        *code = GW_GRPC_INTERNAL;
        snprintf(why, size, "bad gRPC message flag %u", b[0]);
        return -1;
    }
    size_t n = ((size_t)b[1] << 24) | ((size_t)b[2] << 16) | ((size_t)b[3] << 8) | b[4];
    if (n != len - 5) {
        *code = n > len - 5 ? GW_GRPC_INTERNAL : GW_GRPC_UNIMPLEMENTED;
        snprintf(why, size, n > len - 5 ? "truncated gRPC message: %zu bytes announced, %zu sent"
                                        : "unary method: one request message expected (%zu bytes, then %zu more)",
                 n, len - 5 - (n > len - 5 ? 0 : n));
        return -1;
    }
    if (b[0] == 1) {
        *code = compressed_ok ? GW_GRPC_UNIMPLEMENTED : GW_GRPC_INTERNAL;
        snprintf(why, size, compressed_ok ? "compressed messages are not supported (grpc-accept-encoding: identity)"
                                          : "compressed message without grpc-encoding");
        return -1;
    }
    *msg = body + 5;
    *msg_len = n;
    return 0;
}

static int unwrap(httpsrv_req_t *r, bool stream, const char **msg, size_t *len);

int gw_grpc_unwrap(httpsrv_req_t *r, const char **msg, size_t *len)
{
    return unwrap(r, false, msg, len);
}

int gw_grpc_unwrap_stream(httpsrv_req_t *r, const char **body, size_t *len)
{
    return unwrap(r, true, body, len);
}

int gw_grpc_next(const char *body, size_t len, size_t *off, const char **msg, size_t *msg_len)
{
    if (*off + 5 > len)
        return 0;
    const unsigned char *b = (const unsigned char *)body + *off;
    size_t n = ((size_t)b[1] << 24) | ((size_t)b[2] << 16) | ((size_t)b[3] << 8) | b[4];
    if (n > len - *off - 5)
        return 0;
    *msg = body + *off + 5;
    *msg_len = n;
    *off += 5 + n;
    return 1;
}

/* Checks every message of a streamed body like gw_grpc_unframe checks one. */
static int unframe_all(const char *body, size_t len, bool compressed_ok, int *code, char *why, size_t size)
{
    size_t off = 0;
    while (off < len) {
        if (len - off < 5) {
            *code = GW_GRPC_INTERNAL;
            snprintf(why, size, "%zu trailing bytes: a gRPC message needs its 5-byte prefix", len - off);
            return -1;
        }
        const unsigned char *b = (const unsigned char *)body + off;
        size_t n = ((size_t)b[1] << 24) | ((size_t)b[2] << 16) | ((size_t)b[3] << 8) | b[4];
        if (n > len - off - 5) {
            *code = GW_GRPC_INTERNAL;
            snprintf(why, size, "truncated gRPC message: %zu bytes announced, %zu sent", n, len - off - 5);
            return -1;
        }
        const char *m;
        size_t ml;
        if (gw_grpc_unframe(body + off, 5 + n, compressed_ok, &m, &ml, code, why, size) != 0)
            return -1;
        off += 5 + n;
    }
    return 0;
}

static int unwrap(httpsrv_req_t *r, bool stream, const char **msg, size_t *len)
{
    const httpreq_t *h = httpsrv_req_http(r);
    if (!httpsrv_req_http2(r)) {
        httpsrv_respond_text(r, 400, "gRPC needs HTTP/2 (h2c with prior knowledge on this port)\n");
        return -1;
    }
    const char *ct = httpreq_header(h, "Content-Type");
    if (ct == NULL || strncasecmp(ct, "application/grpc", 16) != 0) {
        /* Not a gRPC request at all: HTTP's answer, as the protocol asks. */
        httpsrv_respond_text(r, 415, "gRPC routes take Content-Type: application/grpc\n");
        return -1;
    }
    if (strcasecmp(ct, "application/grpc") != 0 && strcasecmp(ct, "application/grpc+proto") != 0) {
        char m[160];
        snprintf(m, sizeof m, "unsupported gRPC content type '%.60s' (use application/grpc or +proto)", ct);
        gw_grpc_respond_status(r, GW_GRPC_UNIMPLEMENTED, m);
        return -1;
    }
    const char *to = httpreq_header(h, "grpc-timeout");
    if (to != NULL) {
        int64_t ns = gw_grpc_timeout_ns(to);
        if (ns < 0) {
            char m[120];
            snprintf(m, sizeof m, "invalid grpc-timeout '%.20s'", to);
            gw_grpc_respond_status(r, GW_GRPC_INTERNAL, m);
            return -1;
        }
        httpsrv_req_set_deadline(r, uv_hrtime() + (uint64_t)ns);
    }
    const char *enc = httpreq_header(h, "grpc-encoding");
    bool named = enc != NULL && strcmp(enc, "identity") != 0;
    int code = 0;
    char why[160];
    int rc = stream ? unframe_all(h->body, h->body_len, enc != NULL, &code, why, sizeof why)
                    : gw_grpc_unframe(h->body, h->body_len, enc != NULL, msg, len, &code, why, sizeof why);
    if (stream) {
        *msg = h->body;
        *len = h->body_len;
    }
    if (rc != 0) {
        if (code == GW_GRPC_UNIMPLEMENTED && named)
            httpsrv_req_add_header(r, "grpc-accept-encoding", "identity");
        gw_grpc_respond_status(r, code, why);
        return -1;
    }
    return 0;
}

static bool past_deadline(const httpsrv_req_t *r)
{
    uint64_t d = httpsrv_req_deadline(r);
    return d != 0 && uv_hrtime() > d;
}

void gw_grpc_prefix(char *p, size_t len)
{
    p[0] = 0;
    p[1] = (char)(len >> 24);
    p[2] = (char)(len >> 16);
    p[3] = (char)(len >> 8);
    p[4] = (char)len;
}

int gw_grpc_append(char **buf, size_t *len, const ProtobufCMessage *m)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    char *b = realloc(*buf, *len + 5 + n);
    if (b == NULL)
        return -1;
    char *p = b + *len;
    gw_grpc_prefix(p, n);
    protobuf_c_message_pack(m, (uint8_t *)p + 5);
    *buf = b;
    *len += 5 + n;
    return 0;
}

void gw_grpc_respond_framed(httpsrv_req_t *r, char *framed, size_t len)
{
    if (past_deadline(r)) {
        free(framed);
        gw_grpc_respond_status(r, GW_GRPC_DEADLINE_EXCEEDED, "deadline exceeded before the answer was ready");
        return;
    }
    httpsrv_req_add_trailer(r, "grpc-status", "0");
    httpsrv_respond_owned(r, 200, "application/grpc", framed, len);
}

void gw_grpc_respond_owned(httpsrv_req_t *r, char *msg, size_t len)
{
    if (past_deadline(r)) {
        free(msg);
        gw_grpc_respond_status(r, GW_GRPC_DEADLINE_EXCEEDED, "deadline exceeded before the answer was ready");
        return;
    }
    char *body = malloc(len + 5);
    if (body == NULL) {
        free(msg);
        gw_grpc_respond_status(r, GW_GRPC_RESOURCE_EXHAUSTED, "out of memory");
        return;
    }
    gw_grpc_prefix(body, len);
    if (len > 0)
        memcpy(body + 5, msg, len);
    free(msg);
    httpsrv_req_add_trailer(r, "grpc-status", "0");
    httpsrv_respond_owned(r, 200, "application/grpc", body, len + 5);
}

void gw_grpc_respond_status(httpsrv_req_t *r, int code, const char *msg)
{
    char st[12];
    snprintf(st, sizeof st, "%d", code);
    /* grpc-message is percent-encoded UTF-8: printable ASCII but '%' as is. */
    char enc[600];
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)(msg ? msg : ""); *p && n + 4 < sizeof enc; p++) {
        if (*p < 0x20 || *p > 0x7e || *p == '%')
            n += (size_t)snprintf(enc + n, sizeof enc - n, "%%%02X", *p);
        else
            enc[n++] = (char)*p;
    }
    enc[n] = '\0';
    httpsrv_req_add_trailer(r, "grpc-status", st);
    httpsrv_req_note(r, "grpc_status", st);
    if (n > 0)
        httpsrv_req_add_trailer(r, "grpc-message", enc);
    httpsrv_respond(r, 200, "application/grpc", NULL, 0);
}
