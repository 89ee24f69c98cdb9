/*
 * recsys-rpc: send one recsys.v1.WorkerRequest to a worker and print the
 * WorkerReply, for operators, integration tests and latency measurements.
 *
 *   recsys-rpc --url tcp://127.0.0.1:7101 '{"similar":{"item_id":"1","k":5}}'
 *   recsys-rpc @request.json            (a file)   recsys-rpc - (stdin)
 *   recsys-rpc --raw-hex 0a0b0c          (bytes sent as they are)
 *   recsys-rpc --repeat 2000 --concurrency 8 '{"similar":...}'
 *
 * The request is the proto3 JSON mapping of WorkerRequest (common/wire/pbjson.h);
 * the reply is printed the same way. One call goes through rpc_call_sync.
 * With --repeat or --concurrency above 1 the call is repeated through the
 * gateway's own client (common/net/rpc.h: one req socket, C contexts, C calls in
 * flight, each completion starting the next) and a JSON summary is printed
 * instead: counts, failures, throughput and latency percentiles (p50, p90,
 * p99, max, in microseconds, as the rpc client measured them).
 *
 * Exit status: 0 every reply came back without an error; 1 a reply carried a
 * worker error (or, repeating, any call failed); 2 bad usage or request;
 * 3 the call itself failed (timeout, connection closed).
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "common/base/config.h"
#include "common/base/log.h"
#include "common/wire/pbjson.h"
#include "common/net/rpc.h"
#include "recsys/v1/worker.pb-c.h"

static const cfg_option_t rpc_tool_options[] = {
    {"url", CFG_STRING, "tcp://127.0.0.1:7101", "Worker URL (several, comma-separated, for replicas).", 0, 0},
    {"timeout-ms", CFG_INT, "5000", "Deadline of each call, in ms.", 1, 3600000},
    {"raw-hex", CFG_STRING, NULL, "Send these bytes (hex) as the request instead of a JSON WorkerRequest.", 0, 0},
    {"repeat", CFG_INT, "1", "Calls to make in total; above 1, print a latency summary instead of the reply.", 1,
     100000000},
    {"concurrency", CFG_INT, "1", "Calls in flight at once when repeating.", 1, 4096},
    {"pretty", CFG_BOOL, "false", "Indent the JSON reply.", 0, 0},
    CFG_END,
};

/* ------------------------------------------------------------ input */

static char *read_stream(FILE *f, size_t *len)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
        if (n + 1 == cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                return NULL;
            }
            buf = nb;
            cap *= 2;
        }
    }
    if (buf) {
        buf[n] = '\0';
        *len = n;
    }
    return buf;
}

/* The request text: the argument itself, @FILE or - (stdin). */
static char *request_text(const char *arg, size_t *len, err_t *err)
{
    if (strcmp(arg, "-") == 0) {
        char *t = read_stream(stdin, len);
        if (!t)
            err_set(err, "stdin: out of memory");
        return t;
    }
    if (arg[0] == '@') {
        FILE *f = fopen(arg + 1, "rb");
        if (!f) {
            err_errno(err, "%s", arg + 1);
            return NULL;
        }
        char *t = read_stream(f, len);
        fclose(f);
        if (!t)
            err_set(err, "%s: out of memory", arg + 1);
        return t;
    }
    *len = strlen(arg);
    char *t = strdup(arg);
    if (!t)
        err_set(err, "out of memory");
    return t;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Hex digits (spaces ignored) -> bytes. */
static uint8_t *parse_hex(const char *s, size_t *len, err_t *err)
{
    uint8_t *out = malloc(strlen(s) / 2 + 1);
    if (!out) {
        err_set(err, "out of memory");
        return NULL;
    }
    size_t n = 0;
    int hi = -1;
    for (size_t i = 0; s[i]; i++) {
        if (isspace((unsigned char)s[i]))
            continue;
        int v = hexval((unsigned char)s[i]);
        if (v < 0) {
            free(out);
            err_set(err, "--raw-hex: '%c' at offset %zu is not a hex digit", s[i], i);
            return NULL;
        }
        if (hi < 0) {
            hi = v;
        } else {
            out[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    if (hi >= 0) {
        free(out);
        err_set(err, "--raw-hex: odd number of hex digits");
        return NULL;
    }
    *len = n;
    return out;
}

/* ------------------------------------------------------------ one call */

static int print_reply(const void *buf, size_t len, int pretty)
{
    Recsys__V1__WorkerReply *r = recsys__v1__worker_reply__unpack(NULL, len, buf);
    if (!r) {
        fprintf(stderr, "recsys-rpc: the reply (%zu bytes) is not a recsys.v1.WorkerReply\n", len);
        return 3;
    }
    pbjson_opts_t o = PBJSON_OPTS_TWIRP;
    o.indent = pretty ? 2 : 0;
    err_t err;
    char *json = pbjson_encode(&r->base, &o, NULL, &err);
    int rc = r->error && r->error->code ? 1 : 0;
    if (json) {
        printf("%s\n", json);
        free(json);
    } else {
        fprintf(stderr, "recsys-rpc: %s\n", err.msg);
        rc = 3;
    }
    recsys__v1__worker_reply__free_unpacked(r, NULL);
    return rc;
}

/* ------------------------------------------------------------ repeating */

typedef struct bench {
    rpc_client_t *client;
    const void *req;
    size_t len;
    int timeout_ms;
    long total, started, done, failed, error_replies, transport_failures;
    uint64_t *lat_us;
    char first_failure[512];
} bench_t;

static void bench_start_one(bench_t *b);

static void bench_done(const rpc_result_t *res, void *arg)
{
    bench_t *b = arg;
    b->lat_us[b->done++] = res->elapsed_us;
    const char *why = NULL;
    char buf[400];
    if (res->status != RPC_OK) {
        b->transport_failures++;
        why = res->detail;
    } else {
        Recsys__V1__WorkerReply *r = recsys__v1__worker_reply__unpack(NULL, res->len, res->reply);
        if (!r) {
            b->transport_failures++;
            why = "reply is not a WorkerReply";
        } else {
            if (r->error && r->error->code) {
                b->error_replies++;
                snprintf(buf, sizeof buf, "worker error %d: %s", (int)r->error->code, r->error->message);
                why = buf;
            }
            recsys__v1__worker_reply__free_unpacked(r, NULL);
        }
    }
    if (why) {
        if (b->failed++ == 0)
            snprintf(b->first_failure, sizeof b->first_failure, "%s", why);
    }
    if (b->started < b->total)
        bench_start_one(b);
    else if (b->done == b->total)
        rpc_client_close(b->client, NULL, NULL);
}

static void bench_start_one(bench_t *b)
{
    b->started++;
    rpc_client_call(b->client, b->req, b->len, b->timeout_ms, bench_done, b);
}

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t pct(const uint64_t *v, long n, double p)
{
    long i = (long)(p * (double)(n - 1) + 0.5);
    return v[i < 0 ? 0 : (i >= n ? n - 1 : i)];
}

static int repeat_calls(const char *url, const void *req, size_t len, int timeout_ms, long total, int conc)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    rpc_client_opts_t o;
    rpc_client_opts_default(&o);
    o.urls = url;
    o.contexts = conc;
    o.queue_max = 0;
    bench_t b = {.req = req, .len = len, .timeout_ms = timeout_ms, .total = total};
    b.lat_us = malloc((size_t)total * sizeof *b.lat_us);
    err_t err;
    if (!b.lat_us || rpc_client_new(&o, &loop, &b.client, &err) != 0) {
        fprintf(stderr, "recsys-rpc: %s\n", b.lat_us ? err.msg : "out of memory");
        free(b.lat_us);
        uv_loop_close(&loop);
        return 3;
    }
    uint64_t t0 = uv_hrtime();
    for (int i = 0; i < conc && b.started < total; i++)
        bench_start_one(&b);
    uv_run(&loop, UV_RUN_DEFAULT);
    double secs = (double)(uv_hrtime() - t0) / 1e9;
    uv_loop_close(&loop);
    qsort(b.lat_us, (size_t)b.done, sizeof *b.lat_us, u64_cmp);
    long n = b.done;
    printf("{\"requests\":%ld,\"ok\":%ld,\"failed\":%ld,\"error_replies\":%ld,\"transport_failures\":%ld,"
           "\"concurrency\":%d,\"seconds\":%.3f,\"rps\":%.1f,\"p50_us\":%llu,\"p90_us\":%llu,\"p99_us\":%llu,"
           "\"max_us\":%llu}\n",
           n, n - b.failed, b.failed, b.error_replies, b.transport_failures, conc, secs,
           secs > 0 ? (double)n / secs : 0.0, (unsigned long long)(n ? pct(b.lat_us, n, 0.50) : 0),
           (unsigned long long)(n ? pct(b.lat_us, n, 0.90) : 0),
           (unsigned long long)(n ? pct(b.lat_us, n, 0.99) : 0), (unsigned long long)(n ? b.lat_us[n - 1] : 0));
    if (b.failed)
        fprintf(stderr, "recsys-rpc: %ld of %ld calls failed; first: %s\n", b.failed, n, b.first_failure);
    free(b.lat_us);
    return b.failed || n != total ? 1 : 0;
}

/* ------------------------------------------------------------ main */

int main(int argc, char **argv)
{
    err_t err;
    cfg_t *cfg = cfg_new("recsys-rpc", "[options] (JSON | @FILE | - | --raw-hex HEX)",
                         "Sends one recsys.v1.WorkerRequest, given as proto3 JSON, to a model worker over nng and "
                         "prints the WorkerReply as JSON. Exit status: 0 success, 1 the worker answered with an "
                         "error, 2 bad usage or request, 3 the call failed. With --repeat/--concurrency, prints a "
                         "latency summary instead.");
    if (!cfg || cfg_add(cfg, "rpc", rpc_tool_options, &err) || cfg_add(cfg, "log", log_options, &err)) {
        fprintf(stderr, "recsys-rpc: %s\n", cfg ? err.msg : "out of memory");
        cfg_free(cfg);
        return 2;
    }
    int rc = cfg_parse(cfg, argc, argv, &err);
    if (rc == 0 && log_setup_cfg("recsys-rpc", cfg, &err) != 0)
        rc = -1;
    if (rc != 0) {
        if (rc < 0)
            fprintf(stderr, "recsys-rpc: %s\n", err.msg);
        cfg_free(cfg);
        return rc < 0 ? 2 : 0;
    }
    const char *hex = cfg_str(cfg, "raw-hex");
    int has_hex = hex && *hex;
    if (cfg_nargs(cfg) != (has_hex ? 0 : 1)) {
        fprintf(stderr, "recsys-rpc: give one request (JSON, @FILE or -) or --raw-hex HEX (see --help)\n");
        cfg_free(cfg);
        return 2;
    }
    uint8_t *req = NULL;
    size_t len = 0;
    rc = 2;
    if (has_hex) {
        if (!(req = parse_hex(hex, &len, &err))) {
            fprintf(stderr, "recsys-rpc: %s\n", err.msg);
            goto out;
        }
    } else {
        size_t tlen;
        char *text = request_text(cfg_arg(cfg, 0), &tlen, &err);
        if (!text) {
            fprintf(stderr, "recsys-rpc: %s\n", err.msg);
            goto out;
        }
        ProtobufCMessage *m = pbjson_decode(&recsys__v1__worker_request__descriptor, text, tlen, &err);
        free(text);
        if (!m) {
            fprintf(stderr, "recsys-rpc: request: %s\n", err.msg);
            goto out;
        }
        len = protobuf_c_message_get_packed_size(m);
        req = malloc(len ? len : 1);
        if (req)
            protobuf_c_message_pack(m, req);
        protobuf_c_message_free_unpacked(m, NULL);
        if (!req) {
            fprintf(stderr, "recsys-rpc: out of memory\n");
            goto out;
        }
    }
    const char *url = cfg_str(cfg, "url");
    int timeout_ms = (int)cfg_int(cfg, "timeout-ms");
    long repeat = (long)cfg_int(cfg, "repeat");
    int conc = (int)cfg_int(cfg, "concurrency");
    if (repeat > 1 || conc > 1) {
        rc = repeat_calls(url, req, len, timeout_ms, repeat, conc);
        goto out;
    }
    void *reply = NULL;
    size_t rlen = 0;
    if (rpc_call_sync(url, req, len, timeout_ms, &reply, &rlen, &err) != 0) {
        fprintf(stderr, "recsys-rpc: %s\n", err.msg);
        rc = 3;
        goto out;
    }
    rc = print_reply(reply, rlen, cfg_bool(cfg, "pretty"));
    free(reply);
out:
    free(req);
    cfg_free(cfg);
    return rc;
}
