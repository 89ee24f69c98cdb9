/* fuzz_h2grpc.c: the HTTP/2 server session (h2srv) and gRPC message framing
 * (gw_grpc_unframe) over arbitrary bytes after the client preface.
 *
 * The first byte seeds the chunk sizes; the rest is fed as a client would
 * send it, and whatever the session wants to write is drained after each
 * chunk. Every complete request is unframed as gRPC and decoded as a
 * RecommendRequest; half of them are answered at once (a framed message and
 * trailers, or trailers-only), the rest when the session ends, so answers
 * to closed or reset streams are exercised too. Checked: no crash or leak,
 * requests within the limits, unframed messages inside the body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/net/h2srv.h"
#include "recsys/v1/recommender.pb-c.h"
#include "services/gateway/gw_grpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const httpreq_limits_t limits = {256, 1024, 16, 4096};

#define MAX_LATE 32

typedef struct {
    h2srv_t *h;
    int32_t late[MAX_LATE];
    size_t nlate;
    unsigned n;
    int32_t streams[MAX_LATE]; /* streaming requests: slot i is stream ud &streams[i] */
    size_t nstreams;
} fz_t;

/* Paths under /s stream: answered piece by piece, echoing each chunk. */
static bool fz_streaming(void *ud, const char *path)
{
    (void)ud;
    return path[0] == '/' && path[1] == 's';
}

static void fz_data(void *ud, void *stream_ud, const char *data, size_t len, bool end)
{
    fz_t *f = ud;
    int32_t id = *(int32_t *)stream_ud;
    if (len > 0)
        h2srv_respond_data(f->h, id, data, len);
    if (end) {
        static const char tr[] = "grpc-status: 0\r\n";
        h2srv_respond_end(f->h, id, tr, sizeof tr - 1);
    }
}

static void on_request(void *ud, int32_t id, httpreq_t *req, bool streaming)
{
    (void)streaming;
    fz_t *f = ud;
    if (strlen(req->target) > limits.max_url_bytes + 8 || req->body_len > limits.max_body_bytes)
        __builtin_trap();
    const char *msg;
    size_t len;
    int code = 0;
    char why[160];
    int rc = gw_grpc_unframe(req->body, req->body_len, httpreq_header(req, "grpc-encoding") != NULL, &msg, &len,
                             &code, why, sizeof why);
    if (rc == 0) {
        if (msg < req->body || msg + len > req->body + req->body_len)
            __builtin_trap();
        Recsys__V1__RecommendRequest *m = recsys__v1__recommend_request__unpack(NULL, len, (const uint8_t *)msg);
        if (m != NULL)
            recsys__v1__recommend_request__free_unpacked(m, NULL);
    } else if (code == 0) {
        __builtin_trap();
    }
    (void)gw_grpc_timeout_ns(httpreq_header(req, "grpc-timeout"));
    if (fz_streaming(f, req->path) && f->nstreams < MAX_LATE) {
        httpreq_free(req);
        f->streams[f->nstreams] = id;
        h2srv_stream_set_ud(f->h, id, &f->streams[f->nstreams++]);
        h2srv_respond_start(f->h, id, 200, "application/grpc", NULL, 0);
        return;
    }
    char *body = NULL;
    if (rc == 0 && (body = malloc(5 + len)) != NULL) {
        /* echo the message back, framed */
        body[0] = 0;
        body[1] = (char)(len >> 24);
        body[2] = (char)(len >> 16);
        body[3] = (char)(len >> 8);
        body[4] = (char)len;
        memcpy(body + 5, msg, len);
    }
    httpreq_free(req);
    if ((f->n++ & 1) && f->nlate < MAX_LATE) {
        free(body);
        f->late[f->nlate++] = id;
        h2srv_stream_set_ud(f->h, id, f);
        return;
    }
    if (rc == 0) {
        static const char tr[] = "grpc-status: 0\r\n";
        h2srv_respond(f->h, id, 200, "application/grpc", "X-Request-Id: a\r\n", 17, body, body ? 5 + len : 0, tr,
                      sizeof tr - 1);
    } else {
        static const char tr[] = "grpc-status: 13\r\ngrpc-message: bad%20frame\r\n";
        h2srv_respond(f->h, id, 200, "application/grpc", NULL, 0, NULL, 0, tr, sizeof tr - 1);
    }
}

static void on_closed(void *ud, void *stream_ud)
{
    (void)ud;
    (void)stream_ud;
}

static void drain(h2srv_t *h)
{
    char *out = NULL;
    size_t cap = 0, len;
    h2srv_send(h, &out, &cap, &len);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned seed = data[0];
    data++;
    size--;
    fz_t f = {0};
    h2srv_config_t cfg = {limits, 8};
    h2srv_hooks_t hooks = {on_request, on_closed, fz_streaming, fz_data};
    f.h = h2srv_new(&cfg, &hooks, &f);
    if (f.h == NULL)
        return 0;
    static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    if (h2srv_sniff(preface, 10) != 0 || h2srv_sniff(preface, 24) != 1 || h2srv_sniff("GET / HTTP/1.1", 14) != -1)
        __builtin_trap();
    int rc = h2srv_recv(f.h, preface, 24);
    drain(f.h);
    size_t off = 0;
    while (rc == 0 && off < size) {
        size_t chunk = 1 + (seed % 97);
        seed = seed * 1103515245u + 12345u;
        if (chunk > size - off)
            chunk = size - off;
        rc = h2srv_recv(f.h, (const char *)data + off, chunk);
        off += chunk;
        drain(f.h);
    }
    for (size_t i = 0; i < f.nlate; i++)
        h2srv_respond(f.h, f.late[i], 503, "text/plain", NULL, 0, NULL, 0, NULL, 0);
    drain(f.h);
    (void)h2srv_finished(f.h);
    (void)h2srv_streams(f.h);
    h2srv_free(f.h);
    return 0;
}
