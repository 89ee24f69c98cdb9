/*
 * recsys-load: an HTTP/1.1 load generator for the gateway (BENCHMARKS.md S4).
 *
 *   recsys-load --port 8080 --path '/v1/users/{n}/recommendations?k=10' --ids 600 \
 *               --connections 16 --duration 10 [--rate 5000]
 *
 * One thread per keep-alive connection, plain blocking sockets. Two modes:
 *  - closed loop (--rate 0, saturation): each connection sends its next
 *    request as soon as the previous answer is in;
 *  - open loop (--rate R): requests are scheduled at fixed intervals
 *    (R spread evenly over the connections) and each latency is measured
 *    from its *scheduled* time, so time spent queued behind a slow answer
 *    counts (no coordinated omission).
 * Requests: --path (GET; "{n}" becomes a random integer 1..--ids), or
 * --mix FILE with one request per line, "METHOD PATH [JSON BODY]", picked
 * at random. Answers: status line and Content-Length (the gateway never
 * chunks). Any non-2xx status, reset or timeout is an error. Latencies are
 * kept exactly (4 bytes each) and sorted at the end for the percentiles.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "common/config.h"
#include "common/err.h"
#include "common/log.h"
#include "common/rng.h"

static const cfg_option_t load_options[] = {
    {"host", CFG_STRING, "127.0.0.1", "Server address (IPv4).", 0, 0},
    {"port", CFG_INT, "8080", "Server port.", 1, 65535},
    {"path", CFG_STRING, "/v1/users/{n}/recommendations?k=10",
     "GET path; {n} is replaced by a random integer in 1..ids.", 0, 0},
    {"ids", CFG_INT, "600", "Range of {n} (e.g. the number of users).", 1, 2000000000},
    {"mix", CFG_STRING, NULL, "File of requests, one per line: METHOD PATH [JSON BODY]; overrides --path.", 0, 0},
    {"connections", CFG_INT, "16", "Keep-alive connections (one thread each).", 1, 1024},
    {"rate", CFG_DOUBLE, "0", "Offered requests/s over all connections (open loop); 0: saturation (closed loop).", 0,
     1e7},
    {"duration", CFG_DOUBLE, "10", "Measured seconds.", 0.1, 86400},
    {"warmup", CFG_DOUBLE, "1", "Seconds of load before measuring.", 0, 3600},
    {"timeout-ms", CFG_INT, "5000", "Socket timeout for one answer.", 1, 600000},
    {"seed", CFG_INT, "1", "Random seed.", 0, 2000000000},
    {"json", CFG_BOOL, NULL, "Print the summary as one JSON object.", 0, 0},
    CFG_END,
};

typedef struct req_tpl {
    char method[8];
    char *path;
    char *body;
} req_tpl_t;

typedef struct shared {
    struct sockaddr_in addr;
    req_tpl_t *reqs;
    size_t nreqs;
    long ids;
    double rate; /* per connection */
    double t_start, t_measure, t_end;
    int timeout_ms;
} shared_t;

typedef struct worker {
    pthread_t th;
    const shared_t *sh;
    rng_t rng;
    uint32_t *lat_us;
    size_t n, cap;
    uint64_t errors, non2xx, reconnects, sent;
    int status_seen[6];
} worker_t;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_until(double t)
{
    double d = t - now_s();
    if (d <= 0)
        return;
    struct timespec ts = {(time_t)d, (long)((d - (double)(time_t)d) * 1e9)};
    nanosleep(&ts, NULL);
}

static int connect_to(const shared_t *sh)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct timeval tv = {sh->timeout_ms / 1000, (sh->timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (const struct sockaddr *)&sh->addr, sizeof sh->addr) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static size_t build(worker_t *w, char *buf, size_t cap)
{
    const shared_t *sh = w->sh;
    const req_tpl_t *t = &sh->reqs[sh->nreqs > 1 ? rng_next(&w->rng) % sh->nreqs : 0];
    char path[2048];
    const char *p = strstr(t->path, "{n}");
    if (p != NULL)
        snprintf(path, sizeof path, "%.*s%ld%s", (int)(p - t->path), t->path,
                 1 + (long)(rng_next(&w->rng) % (uint64_t)sh->ids), p + 3);
    else
        snprintf(path, sizeof path, "%s", t->path);
    int n;
    if (t->body != NULL)
        n = snprintf(buf, cap,
                     "%s %s HTTP/1.1\r\nHost: load\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                     t->method, path, strlen(t->body), t->body);
    else
        n = snprintf(buf, cap, "%s %s HTTP/1.1\r\nHost: load\r\n\r\n", t->method, path);
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

/* Reads one response; returns its status, or -1 (connection unusable). */
static int read_response(int fd, char *buf, size_t cap)
{
    size_t have = 0;
    char *end = NULL;
    while (end == NULL) {
        if (have == cap - 1)
            return -1;
        ssize_t r = read(fd, buf + have, cap - 1 - have);
        if (r <= 0)
            return -1;
        have += (size_t)r;
        buf[have] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    int status = 0;
    if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
        return -1;
    size_t clen = 0;
    for (char *h = strstr(buf, "\r\n"); h != NULL && h < end; h = strstr(h + 2, "\r\n"))
        if (strncasecmp(h + 2, "Content-Length:", 15) == 0)
            clen = strtoul(h + 17, NULL, 10);
    size_t body_have = have - (size_t)(end + 4 - buf);
    while (body_have < clen) {
        char sink[65536];
        size_t want = clen - body_have < sizeof sink ? clen - body_have : sizeof sink;
        ssize_t r = read(fd, sink, want);
        if (r <= 0)
            return -1;
        body_have += (size_t)r;
    }
    return status;
}

static void record(worker_t *w, double lat)
{
    if (w->n == w->cap) {
        size_t nc = w->cap ? 2 * w->cap : 4096;
        uint32_t *p = realloc(w->lat_us, nc * sizeof *p);
        if (p == NULL)
            return;
        w->lat_us = p;
        w->cap = nc;
    }
    double us = lat * 1e6;
    w->lat_us[w->n++] = us > 4e9 ? 4000000000u : (uint32_t)us;
}

static void *run(void *arg)
{
    worker_t *w = arg;
    const shared_t *sh = w->sh;
    char req[8192], resp[65536];
    int fd = connect_to(sh);
    double interval = sh->rate > 0 ? 1.0 / sh->rate : 0;
    /* Spread the connections' schedules over one interval. */
    double next = sh->t_start + interval * (double)(rng_next(&w->rng) % 1000) / 1000.0;
    for (;;) {
        double t0;
        if (interval > 0) {
            sleep_until(next);
            t0 = next;
            next += interval;
        } else {
            t0 = now_s();
        }
        if (t0 >= sh->t_end)
            break;
        bool measured = t0 >= sh->t_measure;
        size_t n = build(w, req, sizeof req);
        int status = -1;
        for (int attempt = 0; attempt < 2 && status < 0; attempt++) {
            if (fd < 0) {
                fd = connect_to(sh);
                if (fd < 0)
                    break;
                w->reconnects++;
            }
            if (write(fd, req, n) == (ssize_t)n)
                status = read_response(fd, resp, sizeof resp);
            if (status < 0) {
                close(fd);
                fd = -1;
            }
        }
        double t1 = now_s();
        if (!measured)
            continue;
        w->sent++;
        if (status < 0) {
            w->errors++;
            continue;
        }
        w->status_seen[status / 100 <= 5 ? status / 100 : 0]++;
        if (status < 200 || status > 299)
            w->non2xx++;
        record(w, t1 - t0);
    }
    if (fd >= 0)
        close(fd);
    return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int load_mix(const char *file, shared_t *sh, err_t *err)
{
    FILE *f = fopen(file, "r");
    if (f == NULL)
        return err_errno(err, "%s", file);
    char line[8192];
    size_t cap = 0;
    int lineno = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '\0' || line[0] == '#')
            continue;
        char method[8], path[4096];
        int used = 0;
        if (sscanf(line, "%7s %4095s %n", method, path, &used) < 2) {
            fclose(f);
            return err_set(err, "%s:%d: expected METHOD PATH [BODY]", file, lineno);
        }
        if (sh->nreqs == cap) {
            cap = cap ? 2 * cap : 16;
            sh->reqs = realloc(sh->reqs, cap * sizeof *sh->reqs);
        }
        req_tpl_t *t = &sh->reqs[sh->nreqs++];
        snprintf(t->method, sizeof t->method, "%s", method);
        t->path = strdup(path);
        t->body = used > 0 && line[used] != '\0' ? strdup(line + used) : NULL;
    }
    fclose(f);
    if (sh->nreqs == 0)
        return err_set(err, "%s: no requests", file);
    return 0;
}

int main(int argc, char **argv)
{
    err_t err;
    cfg_t *cfg = cfg_new("recsys-load", "[options]",
                         "HTTP/1.1 load generator: fixed offered rate (open loop, latency from the scheduled\n"
                         "time) or saturation (closed loop); prints requests/s, p50/p90/p99/p99.9 and errors.");
    if (cfg == NULL || cfg_add(cfg, "load", load_options, &err) != 0 || cfg_add(cfg, "log", log_options, &err) != 0) {
        fprintf(stderr, "recsys-load: %s\n", cfg ? err.msg : "out of memory");
        return 2;
    }
    int rc = cfg_parse(cfg, argc, argv, &err);
    if (rc == 1)
        return 0;
    if (rc != 0 || log_setup_cfg("load", cfg, &err) != 0) {
        fprintf(stderr, "recsys-load: %s\n", err.msg);
        return 2;
    }
    shared_t sh;
    memset(&sh, 0, sizeof sh);
    sh.addr.sin_family = AF_INET;
    sh.addr.sin_port = htons((uint16_t)cfg_int(cfg, "port"));
    if (inet_pton(AF_INET, cfg_str(cfg, "host"), &sh.addr.sin_addr) != 1) {
        fprintf(stderr, "recsys-load: --host: not an IPv4 address: %s\n", cfg_str(cfg, "host"));
        return 2;
    }
    const char *mix = cfg_str(cfg, "mix");
    if (mix != NULL && mix[0] != '\0') {
        if (load_mix(mix, &sh, &err) != 0) {
            fprintf(stderr, "recsys-load: %s\n", err.msg);
            return 2;
        }
    } else {
        sh.reqs = calloc(1, sizeof *sh.reqs);
        snprintf(sh.reqs[0].method, sizeof sh.reqs[0].method, "GET");
        sh.reqs[0].path = strdup(cfg_str(cfg, "path"));
        sh.nreqs = 1;
    }
    int nconn = (int)cfg_int(cfg, "connections");
    double rate = cfg_double(cfg, "rate");
    sh.ids = (long)cfg_int(cfg, "ids");
    sh.rate = rate / nconn;
    sh.timeout_ms = (int)cfg_int(cfg, "timeout-ms");
    double warm = cfg_double(cfg, "warmup"), dur = cfg_double(cfg, "duration");
    sh.t_start = now_s() + 0.05;
    sh.t_measure = sh.t_start + warm;
    sh.t_end = sh.t_measure + dur;
    worker_t *ws = calloc((size_t)nconn, sizeof *ws);
    for (int i = 0; i < nconn; i++) {
        ws[i].sh = &sh;
        rng_seed(&ws[i].rng, (uint64_t)cfg_int(cfg, "seed") * 1000003u + (uint64_t)i);
        pthread_create(&ws[i].th, NULL, run, &ws[i]);
    }
    size_t total = 0;
    uint64_t errors = 0, non2xx = 0, reconnects = 0, sent = 0;
    for (int i = 0; i < nconn; i++) {
        pthread_join(ws[i].th, NULL);
        total += ws[i].n;
        errors += ws[i].errors;
        non2xx += ws[i].non2xx;
        reconnects += ws[i].reconnects;
        sent += ws[i].sent;
    }
    uint32_t *all = malloc((total ? total : 1) * sizeof *all);
    size_t k = 0;
    for (int i = 0; i < nconn; i++) {
        memcpy(all + k, ws[i].lat_us, ws[i].n * sizeof *all);
        k += ws[i].n;
        free(ws[i].lat_us);
    }
    qsort(all, total, sizeof *all, cmp_u32);
    double q[5] = {0.5, 0.9, 0.99, 0.999, 1.0};
    double v[5] = {0};
    for (int i = 0; i < 5 && total > 0; i++) {
        size_t idx = (size_t)(q[i] * (double)total);
        v[i] = all[idx >= total ? total - 1 : idx] / 1000.0;
    }
    double rps = (double)total / dur;
    if (cfg_bool(cfg, "json"))
        printf("{\"mode\":\"%s\",\"offered_rps\":%.0f,\"connections\":%d,\"seconds\":%.1f,\"requests\":%zu,"
               "\"rps\":%.0f,\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"max_ms\":%.3f,"
               "\"errors\":%llu,\"non2xx\":%llu,\"reconnects\":%llu}\n",
               rate > 0 ? "open" : "closed", rate, nconn, dur, total, rps, v[0], v[1], v[2], v[3], v[4],
               (unsigned long long)errors, (unsigned long long)non2xx, (unsigned long long)reconnects);
    else
        printf("%s loop, %d connections, %.1f s%s: %zu answers, %.0f req/s; latency ms p50 %.3f p90 %.3f p99 %.3f "
               "p99.9 %.3f max %.3f; errors %llu (non-2xx %llu, failed %llu), reconnects %llu\n",
               rate > 0 ? "open" : "closed", nconn, dur, rate > 0 ? " at a fixed rate" : "", total, rps, v[0], v[1],
               v[2], v[3], v[4], (unsigned long long)(errors + non2xx), (unsigned long long)non2xx,
               (unsigned long long)errors, (unsigned long long)reconnects);
    (void)sent;
    free(all);
    free(ws);
    for (size_t i = 0; i < sh.nreqs; i++) {
        free(sh.reqs[i].path);
        free(sh.reqs[i].body);
    }
    free(sh.reqs);
    cfg_free(cfg);
    return errors + non2xx > 0 ? 1 : 0;
}
