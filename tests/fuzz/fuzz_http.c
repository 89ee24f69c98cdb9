/* fuzz_http.c: the request parser (httpreq) over arbitrary bytes.
 *
 * The first byte seeds the chunk sizes; the rest is fed in chunks, the way a
 * socket would deliver it, and once more in one piece. Checked: no crash,
 * every completed request respects the limits and is well formed, route
 * matching and decoding never misbehave on what came out, and the outcome
 * (requests, and whether it ends in an error) does not depend on how the
 * bytes were split. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/net/httpreq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const httpreq_limits_t limits = {64, 256, 8, 128};

#define MAX_REQS 64

typedef struct {
    size_t nreqs;
    uint32_t digest[MAX_REQS]; /* a hash of each request's content */
    int error;                 /* final error status, 0 if none */
} outcome_t;

static uint32_t hash(uint32_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 16777619u;
    return (h ^ 0xff) * 16777619u;
}

static uint32_t check_request(const httpreq_t *r)
{
    if (strlen(r->target) > limits.max_url_bytes || r->nheaders > limits.max_headers ||
        r->body_len > limits.max_body_bytes || r->body[r->body_len] != '\0' || r->path[0] != '/')
        __builtin_trap();
    size_t hb = 0;
    uint32_t h = hash(2166136261u, r->method, strlen(r->method));
    h = hash(h, r->target, strlen(r->target));
    for (size_t i = 0; i < r->nheaders; i++) {
        hb += strlen(r->headers[i].name) + strlen(r->headers[i].value) + 4;
        h = hash(h, r->headers[i].name, strlen(r->headers[i].name));
        h = hash(h, r->headers[i].value, strlen(r->headers[i].value));
        if (httpreq_header(r, r->headers[i].name) == NULL)
            __builtin_trap();
    }
    if (hb > limits.max_header_bytes)
        __builtin_trap();
    h = hash(h, r->body, r->body_len);
    h = hash(h, r->keep_alive ? "k" : "c", 1);
    for (size_t i = 0; i < r->nparams; i++)
        if (httpreq_param(r, r->params[i].name) == NULL)
            __builtin_trap();
    static const char *patterns[] = {"/", "/{a}", "/v1/users/{id}/recommendations", "/{a}/{b}", "/x/"};
    for (size_t i = 0; i < sizeof patterns / sizeof patterns[0]; i++) {
        httpreq_path_params_t pp;
        int lit = httpreq_path_match(patterns[i], r->path, &pp);
        if (lit >= 0 && pp.n > 0 && httpreq_path_param(&pp, pp.names[0]) == NULL)
            __builtin_trap();
        if (lit != httpreq_path_match(patterns[i], r->path, NULL))
            __builtin_trap();
        httpreq_path_params_free(&pp);
    }
    return h;
}

/* Feeds data in chunks (chunk == 0: all at once) and records the outcome. */
static void run(const uint8_t *data, size_t size, uint8_t seed, size_t chunk_max, outcome_t *out)
{
    memset(out, 0, sizeof *out);
    httpreq_parser_t *p = httpreq_parser_new(&limits);
    if (p == NULL)
        return;
    uint32_t rng = seed * 2654435761u + 1;
    size_t off = 0;
    while (off < size) {
        size_t n = size - off;
        if (chunk_max > 0) {
            rng = rng * 1103515245u + 12345u;
            size_t c = 1 + (rng >> 16) % chunk_max;
            if (c < n)
                n = c;
        }
        const char *d = (const char *)data + off;
        size_t left = n;
        while (left > 0) {
            size_t used = 0;
            httpreq_status_t st = httpreq_parser_feed(p, d, left, &used);
            if (used > left)
                __builtin_trap();
            d += used;
            left -= used;
            (void)httpreq_parser_state(p);
            (void)httpreq_parser_take_continue(p);
            if (st == HTTPREQ_DONE) {
                httpreq_t *r = httpreq_parser_take(p);
                if (r == NULL)
                    __builtin_trap();
                if (out->nreqs < MAX_REQS)
                    out->digest[out->nreqs] = check_request(r);
                out->nreqs++;
                httpreq_free(r);
            } else if (st == HTTPREQ_ERROR) {
                const char *msg = NULL;
                out->error = httpreq_parser_error(p, &msg);
                if (msg == NULL || out->error < 400)
                    __builtin_trap();
                httpreq_parser_free(p);
                return;
            } else if (left != 0) {
                __builtin_trap(); /* MORE must consume everything */
            }
        }
        off += n;
    }
    httpreq_parser_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 8192)
        return 0;
    uint8_t seed = data[0];
    outcome_t split, whole;
    run(data + 1, size - 1, seed, 1 + seed % 32, &split);
    run(data + 1, size - 1, seed, 0, &whole);
    /* Which error is seen first may depend on the split (http-parser reports
     * the URL in one callback per read, so a too-long URL can be noticed
     * before or after an invalid character in it); that one fails does not. */
    if (split.nreqs != whole.nreqs || (split.error != 0) != (whole.error != 0))
        __builtin_trap();
    for (size_t i = 0; i < split.nreqs && i < MAX_REQS; i++)
        if (split.digest[i] != whole.digest[i])
            __builtin_trap();

    /* The decoder on the raw bytes: output never longer than input. */
    size_t dlen = 0;
    char *dec = httpreq_decode((const char *)data + 1, size - 1, seed & 1, &dlen);
    if (dec != NULL) {
        if (dlen > size - 1 || strlen(dec) != dlen)
            __builtin_trap();
        free(dec);
    }
    return 0;
}
