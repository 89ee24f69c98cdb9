/*
 * gw_grpc_svc.c: gRPC health checking and server reflection (gw_grpc_svc.h).
 *
 * Reflection finds files in the embedded descriptor sets: each is a
 * FileDescriptorSet (field 1: one FileDescriptorProto), from which the file's
 * bytes and its package (FileDescriptorProto field 2) are read with a few
 * lines of wire-format walking, so no descriptor.proto code is needed. A
 * symbol belongs to the first file whose package is its prefix
 * (recommender.proto is listed first for recsys.v1). The v1 and v1alpha
 * messages are the same on the wire, so one handler answers both paths.
 */
#include "services/gateway/gw_grpc_svc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grpc/health/v1/health.pb-c.h"
#include "grpc/reflection/v1alpha/reflection.pb-c.h"
#include "services/gateway/gw_grpc.h"

#define SVC_RECOMMENDER "recsys.v1.Recommender"

static const char *const services[] = {SVC_RECOMMENDER, "grpc.health.v1.Health",
                                       "grpc.reflection.v1alpha.ServerReflection",
                                       "grpc.reflection.v1.ServerReflection"};
#define NSERVICES (sizeof services / sizeof services[0])

/* ---- health */

static void on_health_check(httpsrv_req_t *r, void *ud)
{
    const gw_grpc_svc_t *s = ud;
    const char *body;
    size_t len;
    if (gw_grpc_unwrap(r, &body, &len) != 0)
        return;
    Grpc__Health__V1__HealthCheckRequest *q =
        grpc__health__v1__health_check_request__unpack(NULL, len, (const uint8_t *)body);
    if (q == NULL) {
        gw_grpc_respond_status(r, GW_GRPC_INVALID_ARGUMENT, "invalid HealthCheckRequest");
        return;
    }
    bool known = q->service[0] == '\0' || strcmp(q->service, SVC_RECOMMENDER) == 0;
    char msg[200];
    snprintf(msg, sizeof msg, "unknown service '%.100s'", q->service);
    grpc__health__v1__health_check_request__free_unpacked(q, NULL);
    if (!known) {
        gw_grpc_respond_status(r, GW_GRPC_NOT_FOUND, msg);
        return;
    }
    char reason[160] = "";
    Grpc__Health__V1__HealthCheckResponse resp = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
    resp.status = s->ready(s->ud, reason, sizeof reason)
                      ? GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
                      : GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING;
    char *out = NULL;
    size_t n = 0;
    if (gw_grpc_append(&out, &n, &resp.base) != 0) {
        gw_grpc_respond_status(r, GW_GRPC_RESOURCE_EXHAUSTED, "out of memory");
        return;
    }
    gw_grpc_respond_framed(r, out, n);
}

/* ---- reflection */

/* A varint at *p (< end): its value, advancing *p; false when malformed. */
static bool varint(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; *p < end && shift < 64; shift += 7) {
        unsigned char b = *(*p)++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return true;
    }
    return false;
}

/* The first length-delimited field `field` of the message [p, end). */
static bool ld_field(const unsigned char *p, const unsigned char *end, unsigned field, const unsigned char **out,
                     size_t *len)
{
    while (p < end) {
        uint64_t key, v;
        if (!varint(&p, end, &key))
            return false;
        switch (key & 7) {
        case 0:
            if (!varint(&p, end, &v))
                return false;
            break;
        case 1: p += 8; break;
        case 5: p += 4; break;
        case 2:
            if (!varint(&p, end, &v) || v > (uint64_t)(end - p))
                return false;
            if ((key >> 3) == field) {
                *out = p;
                *len = (size_t)v;
                return true;
            }
            p += v;
            break;
        default: return false;
        }
    }
    return false;
}

/* The FileDescriptorProto of descriptor d, and its package. */
static bool file_of(const gw_grpc_descriptor_t *d, ProtobufCBinaryData *fdp, char *pkg, size_t size)
{
    const unsigned char *f, *pk;
    size_t n, pn;
    if (!ld_field(d->set, d->set + d->len, 1, &f, &n))
        return false;
    fdp->data = (uint8_t *)f;
    fdp->len = n;
    pkg[0] = '\0';
    if (ld_field(f, f + n, 2, &pk, &pn) && pn < size) {
        memcpy(pkg, pk, pn);
        pkg[pn] = '\0';
    }
    return true;
}

static const gw_grpc_descriptor_t *find_file(const char *name, bool by_symbol, ProtobufCBinaryData *fdp)
{
    for (const gw_grpc_descriptor_t *d = gw_grpc_descriptors; d->name != NULL; d++) {
        char pkg[128];
        if (!file_of(d, fdp, pkg, sizeof pkg))
            continue;
        if (!by_symbol && strcmp(d->name, name) == 0)
            return d;
        size_t pl = strlen(pkg);
        if (by_symbol && pl > 0 && strncmp(name, pkg, pl) == 0 && name[pl] == '.' && name[pl + 1] != '\0')
            return d;
    }
    return NULL;
}

/* The answer to one reflection request, appended framed to out. */
static int reflect_one(const Grpc__Reflection__V1alpha__ServerReflectionRequest *q, char **out, size_t *n)
{
    Grpc__Reflection__V1alpha__ServerReflectionResponse resp = GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_RESPONSE__INIT;
    resp.valid_host = q->host;
    resp.original_request = (Grpc__Reflection__V1alpha__ServerReflectionRequest *)q;
    Grpc__Reflection__V1alpha__ListServiceResponse list = GRPC__REFLECTION__V1ALPHA__LIST_SERVICE_RESPONSE__INIT;
    Grpc__Reflection__V1alpha__ServiceResponse sv[NSERVICES];
    Grpc__Reflection__V1alpha__ServiceResponse *svp[NSERVICES];
    Grpc__Reflection__V1alpha__FileDescriptorResponse fr = GRPC__REFLECTION__V1ALPHA__FILE_DESCRIPTOR_RESPONSE__INIT;
    ProtobufCBinaryData fdp;
    Grpc__Reflection__V1alpha__ErrorResponse er = GRPC__REFLECTION__V1ALPHA__ERROR_RESPONSE__INIT;
    char msg[200];
    const char *name = NULL;
    bool by_symbol = false;
    switch (q->message_request_case) {
    case GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_LIST_SERVICES:
        for (size_t i = 0; i < NSERVICES; i++) {
            Grpc__Reflection__V1alpha__ServiceResponse init = GRPC__REFLECTION__V1ALPHA__SERVICE_RESPONSE__INIT;
            sv[i] = init;
            sv[i].name = (char *)services[i];
            svp[i] = &sv[i];
        }
        list.n_service = NSERVICES;
        list.service = svp;
        resp.message_response_case =
            GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_LIST_SERVICES_RESPONSE;
        resp.list_services_response = &list;
        return gw_grpc_append(out, n, &resp.base);
    case GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_BY_FILENAME:
        name = q->file_by_filename;
        break;
    case GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_SYMBOL:
        name = q->file_containing_symbol;
        by_symbol = true;
        break;
    default: break;
    }
    if (name != NULL && find_file(name, by_symbol, &fdp) != NULL) {
        fr.n_file_descriptor_proto = 1;
        fr.file_descriptor_proto = &fdp;
        resp.message_response_case =
            GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_FILE_DESCRIPTOR_RESPONSE;
        resp.file_descriptor_response = &fr;
        return gw_grpc_append(out, n, &resp.base);
    }
    if (name != NULL) {
        er.error_code = GW_GRPC_NOT_FOUND;
        snprintf(msg, sizeof msg, "%s '%.120s' not found", by_symbol ? "symbol" : "file", name);
    } else {
        er.error_code = GW_GRPC_UNIMPLEMENTED;
        snprintf(msg, sizeof msg, "only list_services, file_by_filename and file_containing_symbol are served");
    }
    er.error_message = msg;
    resp.message_response_case = GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ERROR_RESPONSE;
    resp.error_response = &er;
    return gw_grpc_append(out, n, &resp.base);
}

/* ---- reflection as a real bidirectional stream: each request message is
 * answered as soon as it is complete, so tools that ask, wait, and ask again
 * on one stream (grpcurl, grpcio-reflection) are served. */

#define REFLECT_MAX_MESSAGE 65536

typedef struct reflect_stream {
    httpsrv_req_t *r;
    char *buf;
    size_t len;
} reflect_stream_t;

static void reflect_end(reflect_stream_t *st, int code, const char *msg)
{
    httpsrv_req_t *r = st->r;
    httpsrv_req_on_abandon(r, NULL, NULL);
    httpsrv_req_on_body(r, NULL, NULL);
    char c[12];
    snprintf(c, sizeof c, "%d", code);
    httpsrv_req_add_trailer(r, "grpc-status", c);
    if (msg != NULL)
        httpsrv_req_add_trailer(r, "grpc-message", msg);
    httpsrv_req_finish(r, 200, "application/grpc");
    free(st->buf);
    free(st);
}

static void reflect_abandoned(void *ud)
{
    reflect_end(ud, GW_GRPC_CANCELLED, NULL);
}

static void reflect_body(void *ud, const char *data, size_t len, bool end)
{
    reflect_stream_t *st = ud;
    if (len > 0) {
        char *b = realloc(st->buf, st->len + len);
        if (b == NULL) {
            reflect_end(st, GW_GRPC_RESOURCE_EXHAUSTED, "out of memory");
            return;
        }
        memcpy(b + st->len, data, len);
        st->buf = b;
        st->len += len;
    }
    size_t off = 0;
    while (st->len - off >= 5) {
        const unsigned char *p = (const unsigned char *)st->buf + off;
        size_t n = ((size_t)p[1] << 24) | ((size_t)p[2] << 16) | ((size_t)p[3] << 8) | p[4];
        if (p[0] != 0 || n > REFLECT_MAX_MESSAGE) {
            reflect_end(st, p[0] != 0 ? GW_GRPC_UNIMPLEMENTED : GW_GRPC_RESOURCE_EXHAUSTED,
                        p[0] != 0 ? "compressed messages are not supported" : "reflection request too large");
            return;
        }
        if (st->len - off - 5 < n)
            break;
        Grpc__Reflection__V1alpha__ServerReflectionRequest *q =
            grpc__reflection__v1alpha__server_reflection_request__unpack(NULL, n, p + 5);
        if (q == NULL) {
            reflect_end(st, GW_GRPC_INVALID_ARGUMENT, "invalid ServerReflectionRequest");
            return;
        }
        char *out = NULL;
        size_t on = 0;
        int rc = reflect_one(q, &out, &on);
        grpc__reflection__v1alpha__server_reflection_request__free_unpacked(q, NULL);
        if (rc != 0 || httpsrv_req_write(st->r, 200, "application/grpc", out, on) != 0) {
            free(out);
            reflect_end(st, GW_GRPC_INTERNAL, "could not answer");
            return;
        }
        free(out);
        off += 5 + n;
    }
    if (off > 0) {
        memmove(st->buf, st->buf + off, st->len - off);
        st->len -= off;
    }
    if (end)
        reflect_end(st, st->len == 0 ? GW_GRPC_OK : GW_GRPC_INTERNAL, st->len == 0 ? NULL : "truncated message");
}

static void on_reflection(httpsrv_req_t *r, void *ud)
{
    (void)ud;
    const char *body, *m;
    size_t len, ml, off = 0;
    if (gw_grpc_unwrap_stream(r, &body, &len) != 0)
        return;
    if (httpsrv_req_streaming(r)) {
        reflect_stream_t *st = calloc(1, sizeof *st);
        if (st == NULL) {
            gw_grpc_respond_status(r, GW_GRPC_RESOURCE_EXHAUSTED, "out of memory");
            return;
        }
        st->r = r;
        httpsrv_req_on_body(r, reflect_body, st);
        httpsrv_req_on_abandon(r, reflect_abandoned, st);
        return;
    }
    char *out = NULL;
    size_t n = 0;
    while (gw_grpc_next(body, len, &off, &m, &ml)) {
        Grpc__Reflection__V1alpha__ServerReflectionRequest *q =
            grpc__reflection__v1alpha__server_reflection_request__unpack(NULL, ml, (const uint8_t *)m);
        if (q == NULL) {
            free(out);
            gw_grpc_respond_status(r, GW_GRPC_INVALID_ARGUMENT, "invalid ServerReflectionRequest");
            return;
        }
        int rc = reflect_one(q, &out, &n);
        grpc__reflection__v1alpha__server_reflection_request__free_unpacked(q, NULL);
        if (rc != 0) {
            free(out);
            gw_grpc_respond_status(r, GW_GRPC_RESOURCE_EXHAUSTED, "out of memory");
            return;
        }
    }
    gw_grpc_respond_framed(r, out, n);
}

int gw_grpc_svc_register(httpsrv_t *srv, gw_grpc_svc_t *svc, err_t *err)
{
    if (httpsrv_route(srv, "POST", "/grpc.health.v1.Health/Check", on_health_check, svc, err) != 0 ||
        httpsrv_route_stream(srv, "POST", "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                             on_reflection, NULL, err) != 0 ||
        httpsrv_route_stream(srv, "POST", "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", on_reflection,
                             NULL, err) != 0)
        return -1;
    return 0;
}
