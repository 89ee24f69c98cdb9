/*
 * gw_twirp.c: Twirp error codes and bodies, request decoding and response
 * encoding in the request's encoding (see gw_twirp.h).
 *
 * The error body is built with cJSON so any message text (ids echoed back
 * from a request) is escaped correctly.
 */
#include "services/gateway/gw_twirp.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "common/text/utf8.h"
#include "services/gateway/gw_grpc.h"

static const struct {
    const char *name;
    int status;
} code_table[GW_NCODES] = {
    [GW_OK] = {"ok", 200},
    [GW_CANCELED] = {"canceled", 408},
    [GW_UNKNOWN] = {"unknown", 500},
    [GW_INVALID_ARGUMENT] = {"invalid_argument", 400},
    [GW_MALFORMED] = {"malformed", 400},
    [GW_DEADLINE_EXCEEDED] = {"deadline_exceeded", 408},
    [GW_NOT_FOUND] = {"not_found", 404},
    [GW_BAD_ROUTE] = {"bad_route", 404},
    [GW_ALREADY_EXISTS] = {"already_exists", 409},
    [GW_PERMISSION_DENIED] = {"permission_denied", 403},
    [GW_UNAUTHENTICATED] = {"unauthenticated", 401},
    [GW_RESOURCE_EXHAUSTED] = {"resource_exhausted", 429},
    [GW_FAILED_PRECONDITION] = {"failed_precondition", 412},
    [GW_ABORTED] = {"aborted", 409},
    [GW_OUT_OF_RANGE] = {"out_of_range", 400},
    [GW_UNIMPLEMENTED] = {"unimplemented", 501},
    [GW_INTERNAL] = {"internal", 500},
    [GW_UNAVAILABLE] = {"unavailable", 503},
    [GW_DATALOSS] = {"dataloss", 500},
};

const char *gw_code_name(gw_code_t c)
{
    return (int)c >= 0 && c < GW_NCODES ? code_table[c].name : "unknown";
}

int gw_code_status(gw_code_t c)
{
    return (int)c >= 0 && c < GW_NCODES ? code_table[c].status : 500;
}

int gw_code_parse(const char *name)
{
    for (int i = 0; i < GW_NCODES; i++)
        if (strcmp(code_table[i].name, name) == 0)
            return i;
    return -1;
}

gw_code_t gw_code_from_worker(Recsys__V1__WorkerErrorCode c)
{
    switch (c) {
    case RECSYS__V1__WORKER_ERROR_CODE__WORKER_ERROR_CODE_NONE: return GW_OK;
    case RECSYS__V1__WORKER_ERROR_CODE__WORKER_ERROR_CODE_INVALID_ARGUMENT: return GW_INVALID_ARGUMENT;
    case RECSYS__V1__WORKER_ERROR_CODE__WORKER_ERROR_CODE_NOT_FOUND: return GW_NOT_FOUND;
    case RECSYS__V1__WORKER_ERROR_CODE__WORKER_ERROR_CODE_UNAVAILABLE: return GW_UNAVAILABLE;
    case RECSYS__V1__WORKER_ERROR_CODE__WORKER_ERROR_CODE_RESOURCE_EXHAUSTED: return GW_RESOURCE_EXHAUSTED;
    default: return GW_INTERNAL;
    }
}

char *gw_error_json(gw_code_t code, const char *msg, const char *const *meta, size_t *len)
{
    cJSON *o = cJSON_CreateObject();
    if (o == NULL)
        return NULL;
    cJSON *m = cJSON_CreateObject();
    /* A message that is not UTF-8 (never expected: callers quote checked
     * input) would make invalid JSON: replace it rather than fail. */
    const char *text = msg != NULL && utf8_valid(msg, strlen(msg)) ? msg : "error";
    if (cJSON_AddStringToObject(o, "code", gw_code_name(code)) == NULL ||
        cJSON_AddStringToObject(o, "msg", text) == NULL || m == NULL) {
        cJSON_Delete(m);
        cJSON_Delete(o);
        return NULL;
    }
    for (size_t i = 0; meta != NULL && meta[i] != NULL && meta[i + 1] != NULL; i += 2)
        cJSON_AddStringToObject(m, meta[i], meta[i + 1]);
    cJSON_AddItemToObject(o, "meta", m);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (s != NULL && len != NULL)
        *len = strlen(s);
    return s;
}

void gw_respond_error(httpsrv_req_t *r, gw_code_t code, const char *msg, const char *const *meta)
{
    if (gw_grpc_is(r)) {
        gw_grpc_respond_status(r, gw_grpc_code(code), msg);
        return;
    }
    size_t n = 0;
    char *body = gw_error_json(code, msg, meta, &n);
    if (body == NULL) {
        static const char oom[] = "{\"code\":\"internal\",\"msg\":\"out of memory\",\"meta\":{}}";
        httpsrv_respond(r, 500, GW_CT_JSON, oom, sizeof oom - 1);
        return;
    }
    httpsrv_respond_owned(r, gw_code_status(code), GW_CT_JSON, body, n);
}

/* Media type without parameters and surrounding space equals want. */
static int media_is(const char *ct, const char *want)
{
    while (*ct == ' ' || *ct == '\t')
        ct++;
    size_t n = strlen(want);
    if (strncasecmp(ct, want, n) != 0)
        return 0;
    ct += n;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    return *ct == '\0' || *ct == ';';
}

int gw_content_type(const char *ct, gw_encoding_t *out)
{
    if (ct == NULL)
        return -1;
    if (media_is(ct, GW_CT_JSON)) {
        *out = GW_ENC_JSON;
        return 0;
    }
    if (media_is(ct, GW_CT_PROTO)) {
        *out = GW_ENC_PROTO;
        return 0;
    }
    return -1;
}

static int check_str(const char *s, const char *path, char *out, size_t size)
{
    if (s != NULL && !utf8_valid(s, strlen(s))) {
        snprintf(out, size, "%s", path);
        return 0;
    }
    return 1;
}

int gw_strings_valid(const ProtobufCMessage *m, char *path, size_t size)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    char sub[256];
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const char *base = (const char *)m + f->offset;
        if (f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            uint32_t qc = *(const uint32_t *)((const char *)m + f->quantifier_offset);
            if (qc != f->id)
                continue;
        }
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)((const char *)m + f->quantifier_offset);
            void *const *arr = *(void *const *const *)base;
            for (size_t j = 0; j < n; j++) {
                snprintf(sub, sizeof sub, "%s[%zu]", f->name, j);
                if (f->type == PROTOBUF_C_TYPE_STRING) {
                    if (!check_str(arr[j], sub, path, size))
                        return 0;
                } else if (arr[j] != NULL && !gw_strings_valid(arr[j], path, size)) {
                    char inner[256];
                    snprintf(inner, sizeof inner, "%s", path);
                    snprintf(path, size, "%s.%s", sub, inner);
                    return 0;
                }
            }
        } else if (f->type == PROTOBUF_C_TYPE_STRING) {
            if (!check_str(*(char *const *)base, f->name, path, size))
                return 0;
        } else {
            const ProtobufCMessage *child = *(const ProtobufCMessage *const *)base;
            if (child != NULL && !gw_strings_valid(child, path, size)) {
                char inner[256];
                snprintf(inner, sizeof inner, "%s", path);
                snprintf(path, size, "%s.%s", f->name, inner);
                return 0;
            }
        }
    }
    return 1;
}

ProtobufCMessage *gw_decode(const ProtobufCMessageDescriptor *d, gw_encoding_t enc, const char *body,
                            size_t len, const pbjson_limits_t *lim, err_t *err)
{
    if (enc == GW_ENC_JSON) {
        ProtobufCMessage *m = pbjson_decode_ex(d, body, len, lim, err);
        if (m == NULL)
            err_prefix(err, "invalid JSON %s", d->name);
        return m;
    }
    ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, len, (const uint8_t *)body);
    if (m == NULL) {
        err_set(err, "invalid protobuf: %zu bytes are not a %s", len, d->name);
        return NULL;
    }
    char path[256];
    if (!gw_strings_valid(m, path, sizeof path)) {
        err_set(err, "invalid protobuf %s: %s: string is not valid UTF-8", d->name, path);
        protobuf_c_message_free_unpacked(m, NULL);
        return NULL;
    }
    return m;
}

int gw_encode(const ProtobufCMessage *m, gw_encoding_t enc, char **out, size_t *len, err_t *err)
{
    if (enc == GW_ENC_JSON) {
        *out = pbjson_encode(m, NULL, len, err);
        return *out == NULL ? -1 : 0;
    }
    size_t n = protobuf_c_message_get_packed_size(m);
    char *p = malloc(n ? n : 1);
    if (p == NULL)
        return err_set(err, "out of memory encoding %zu bytes", n);
    protobuf_c_message_pack(m, (uint8_t *)p);
    *out = p;
    *len = n;
    return 0;
}

void gw_respond_message(httpsrv_req_t *r, const ProtobufCMessage *m, gw_encoding_t enc)
{
    err_t err;
    char *body = NULL;
    size_t len = 0;
    if (gw_encode(m, enc, &body, &len, &err) != 0) {
        gw_respond_error(r, GW_INTERNAL, err.msg, NULL);
        return;
    }
    gw_respond_body(r, enc, body, len);
}

void gw_respond_body(httpsrv_req_t *r, gw_encoding_t enc, char *body, size_t len)
{
    if (gw_grpc_is(r))
        gw_grpc_respond_owned(r, body, len);
    else
        httpsrv_respond_owned(r, 200, enc == GW_ENC_JSON ? GW_CT_JSON : GW_CT_PROTO, body, len);
}
