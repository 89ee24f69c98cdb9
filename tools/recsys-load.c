/*
 * recsys-load: an HTTP/1.1 load generator for the gateway (BENCHMARKS.md S4).
 *
 *   recsys-load --port 8080 --path '/v1/users/{n}/recommendations?k=10' --ids 600 \
 *               --connections 16 --duration 10 [--rate 5000]
 *
 * One thread drives every keep-alive connection (non-blocking sockets,
 * epoll, a timerfd for the schedule), like wrk -t1: on a 2-core machine a
 * thread per connection competes with the server it measures. Two modes:
 *  - closed loop (--rate 0, saturation): each connection sends its next
 *    request as soon as the previous answer is in;
 *  - open loop (--rate R): requests are scheduled at fixed intervals of
 *    1/R and each goes out on a free connection (or waits for one); its
 *    latency is measured from its *scheduled* time, so time spent queued
 *    behind slow answers counts (no coordinated omission).
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
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "common/base/config.h"
#include "common/base/clock.h"
#include "common/base/err.h"
#include "common/base/log.h"
#include "common/base/rng.h"

static const cfg_option_t load_options[] = {
    {"host", CFG_STRING, "127.0.0.1", "Server address (IPv4).", 0, 0},
    {"port", CFG_INT, "8080", "Server port.", 1, 65535},
    {"path", CFG_STRING, "/v1/users/{n}/recommendations?k=10",
     "GET path; {n} is replaced by a random integer in 1..ids.", 0, 0},
    {"ids", CFG_INT, "600", "Range of {n} (e.g. the number of users).", 1, 2000000000},
    {"mix", CFG_STRING, NULL, "File of requests, one per line: METHOD PATH [JSON BODY]; overrides --path.", 0, 0},
    {"connections", CFG_INT, "16", "Keep-alive connections (all driven by one thread).", 1, 1024},
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
    double rate; /* all connections together */
    double t_start, t_measure, t_end;
    int timeout_ms;
} shared_t;

/* One connection: idle, or one request out (no pipelining). */
typedef struct conn {
    int fd;
    bool busy;
    double t0;     /* scheduled (open loop) or send time of the request out */
    double t_sent; /* for the timeout */
    char req[8192];
    size_t req_len, req_off;
    char *buf; /* response bytes so far */
    size_t have;
    size_t head_len; /* bytes up to and including the blank line; 0: not yet */
    size_t body_len;
    int status;
    bool retried;
} conn_t;

typedef struct stats {
    rng_t rng;
    uint32_t *lat_us;
    size_t n, cap;
    uint64_t errors, non2xx, reconnects;
} stats_t;

#define RESP_CAP 65536

static int connect_to(const shared_t *sh)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (const struct sockaddr *)&sh->addr, sizeof sh->addr) != 0) {
        close(fd);
        return -1;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

static size_t build(const shared_t *sh, rng_t *rng, char *buf, size_t cap)
{
    const req_tpl_t *t = &sh->reqs[sh->nreqs > 1 ? rng_next(rng) % sh->nreqs : 0];
    char path[2048];
    const char *p = strstr(t->path, "{n}");
    if (p != NULL)
        snprintf(path, sizeof path, "%.*s%ld%s", (int)(p - t->path), t->path,
                 1 + (long)(rng_next(rng) % (uint64_t)sh->ids), p + 3);
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

static void record(stats_t *st, double lat)
{
    if (st->n == st->cap) {
        size_t nc = st->cap ? 2 * st->cap : 65536;
        uint32_t *p = realloc(st->lat_us, nc * sizeof *p);
        if (p == NULL)
            return;
        st->lat_us = p;
        st->cap = nc;
    }
    double us = lat * 1e6;
    st->lat_us[st->n++] = us > 4e9 ? 4000000000u : (uint32_t)us;
}

/* Parses the head once it is complete: 1 done, 0 need more, -1 bad. */
static int parse_head(conn_t *c)
{
    c->buf[c->have] = '\0';
    char *end = strstr(c->buf, "\r\n\r\n");
    if (end == NULL)
        return c->have >= RESP_CAP - 1 ? -1 : 0;
    if (sscanf(c->buf, "HTTP/1.%*d %d", &c->status) != 1)
        return -1;
    size_t clen = 0;
    for (char *h = strstr(c->buf, "\r\n"); h != NULL && h < end; h = strstr(h + 2, "\r\n"))
        if (strncasecmp(h + 2, "Content-Length:", 15) == 0)
            clen = strtoul(h + 17, NULL, 10);
    c->head_len = (size_t)(end + 4 - c->buf);
    c->body_len = clen;
    return 1;
}

static int send_some(conn_t *c)
{
    while (c->req_off < c->req_len) {
        ssize_t w = write(c->fd, c->req + c->req_off, c->req_len - c->req_off);
        if (w < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
        c->req_off += (size_t)w;
    }
    return 0;
}

static void watch(int ep, conn_t *c, bool out)
{
    struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0u), .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) != 0)
        epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
}

/* Starts c's request (already in c->req); -1 when the connection failed. */
static int start_send(int ep, conn_t *c)
{
    c->req_off = 0;
    c->have = 0;
    c->head_len = 0;
    c->t_sent = clock_mono_sec();
    c->busy = true;
    if (send_some(c) != 0)
        return -1;
    watch(ep, c, c->req_off < c->req_len);
    return 0;
}

static void reconnect(const shared_t *sh, int ep, conn_t *c, stats_t *st)
{
    if (c->fd >= 0) {
        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    c->fd = connect_to(sh);
    if (c->fd >= 0) {
        st->reconnects++;
        watch(ep, c, false);
    }
}

/* The request on c failed: retry once on a fresh connection (a keep-alive
 * connection the server closed), else count an error. */
static void failed(const shared_t *sh, int ep, conn_t *c, stats_t *st)
{
    reconnect(sh, ep, c, st);
    if (!c->retried && c->fd >= 0) {
        c->retried = true;
        if (start_send(ep, c) == 0)
            return;
        reconnect(sh, ep, c, st);
    }
    c->busy = false;
    if (c->t0 >= sh->t_measure && c->t0 < sh->t_end)
        st->errors++;
}

static void answered(const shared_t *sh, conn_t *c, stats_t *st)
{
    c->busy = false;
    if (c->t0 < sh->t_measure || c->t0 >= sh->t_end)
        return;
    if (c->status < 200 || c->status > 299)
        st->non2xx++;
    else
        record(st, clock_mono_sec() - c->t0);
}

/* Reads what is there; the request ends on a complete answer or failure. */
static void on_readable(const shared_t *sh, int ep, conn_t *c, stats_t *st)
{
    for (;;) {
        size_t room = RESP_CAP - 1 - c->have;
        if (c->head_len > 0) {
            /* Body bytes are only counted: keep the head, reuse the rest. */
            c->have = c->head_len;
            room = RESP_CAP - 1 - c->have;
        }
        ssize_t r = read(c->fd, c->buf + c->have, room);
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (r <= 0 || !c->busy) {
            if (c->busy)
                failed(sh, ep, c, st);
            else
                reconnect(sh, ep, c, st);
            return;
        }
        if (c->head_len == 0) {
            c->have += (size_t)r;
            int h = parse_head(c);
            if (h < 0) {
                failed(sh, ep, c, st);
                return;
            }
            if (h == 0)
                continue;
            size_t got = c->have - c->head_len;
            c->body_len = c->body_len > got ? c->body_len - got : 0;
        } else {
            c->body_len = c->body_len > (size_t)r ? c->body_len - (size_t)r : 0;
        }
        if (c->body_len == 0) {
            answered(sh, c, st);
            return;
        }
    }
}

/* The whole run on one thread. */
static int run(const shared_t *sh, int nconn, stats_t *st)
{
    int ep = epoll_create1(0);
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    conn_t *cs = calloc((size_t)nconn, sizeof *cs);
    if (ep < 0 || tfd < 0 || cs == NULL)
        return -1;
    struct epoll_event tev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &tev);
    for (int i = 0; i < nconn; i++) {
        cs[i].buf = malloc(RESP_CAP);
        cs[i].fd = connect_to(sh);
        if (cs[i].buf == NULL)
            return -1;
        if (cs[i].fd >= 0)
            watch(ep, &cs[i], false);
    }
    double interval = sh->rate > 0 ? 1.0 / sh->rate : 0;
    double next = sh->t_start;
    /* Open loop: scheduled times waiting for a free connection. */
    size_t qcap = 1u << 20, qhead = 0, qlen = 0;
    double *queue = interval > 0 ? malloc(qcap * sizeof *queue) : NULL;
    if (interval > 0 && queue == NULL)
        return -1;
    struct epoll_event evs[256];
    for (;;) {
        double now = clock_mono_sec();
        if (interval > 0) {
            for (; next <= now && next < sh->t_end; next += interval)
                if (qlen < qcap)
                    queue[(qhead + qlen++) % qcap] = next;
                else if (next >= sh->t_measure)
                    st->errors++; /* the generator itself cannot keep up */
        }
        int busy = 0;
        for (int i = 0; i < nconn; i++) {
            conn_t *c = &cs[i];
            if (c->busy && (now - c->t_sent) * 1000.0 > sh->timeout_ms)
                failed(sh, ep, c, st);
            if (!c->busy) {
                double t0;
                if (interval > 0) {
                    if (qlen == 0)
                        continue;
                    t0 = queue[qhead];
                } else {
                    if (now >= sh->t_end || now < sh->t_start)
                        continue;
                    t0 = now;
                }
                if (c->fd < 0)
                    reconnect(sh, ep, c, st);
                if (c->fd < 0) {
                    if (interval > 0) {
                        qhead = (qhead + 1) % qcap;
                        qlen--;
                    }
                    if (t0 >= sh->t_measure)
                        st->errors++;
                    continue;
                }
                if (interval > 0) {
                    qhead = (qhead + 1) % qcap;
                    qlen--;
                }
                c->t0 = t0;
                c->retried = false;
                c->req_len = build(sh, &st->rng, c->req, sizeof c->req);
                if (start_send(ep, c) != 0)
                    failed(sh, ep, c, st);
            }
            busy += c->busy;
        }
        bool more = interval > 0 ? next < sh->t_end || qlen > 0 : now < sh->t_end;
        if (!more && busy == 0)
            break;
        /* Wake for the next scheduled request (ns precision, timerfd) or
         * the start; a 100 ms tick bounds the timeout checks. */
        double wake = now + 0.1;
        if (interval > 0 && next < sh->t_end && next < wake)
            wake = next;
        if (now < sh->t_start && sh->t_start < wake)
            wake = sh->t_start;
        struct itimerspec its = {{0, 0}, {(time_t)wake, (long)((wake - (double)(time_t)wake) * 1e9)}};
        if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
            its.it_value.tv_nsec = 1;
        timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
        int n = epoll_wait(ep, evs, (int)(sizeof evs / sizeof evs[0]), -1);
        for (int i = 0; i < n; i++) {
            conn_t *c = evs[i].data.ptr;
            if (c == NULL) {
                uint64_t x;
                (void)!read(tfd, &x, sizeof x);
                continue;
            }
            if (c->fd < 0)
                continue;
            if ((evs[i].events & EPOLLOUT) && c->busy) {
                if (send_some(c) != 0) {
                    failed(sh, ep, c, st);
                    continue;
                }
                if (c->req_off == c->req_len)
                    watch(ep, c, false);
            }
            if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
                on_readable(sh, ep, c, st);
        }
    }
    for (int i = 0; i < nconn; i++) {
        if (cs[i].fd >= 0)
            close(cs[i].fd);
        free(cs[i].buf);
    }
    free(cs);
    free(queue);
    close(tfd);
    close(ep);
    return 0;
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
        cfg_free(cfg);
        return 2;
    }
    int rc = cfg_parse(cfg, argc, argv, &err);
    if (rc == 1) {
        cfg_free(cfg);
        return 0;
    }
    if (rc != 0 || log_setup_cfg("load", cfg, &err) != 0) {
        fprintf(stderr, "recsys-load: %s\n", err.msg);
        cfg_free(cfg);
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
    sh.rate = rate;
    sh.timeout_ms = (int)cfg_int(cfg, "timeout-ms");
    double warm = cfg_double(cfg, "warmup"), dur = cfg_double(cfg, "duration");
    sh.t_start = clock_mono_sec() + 0.05;
    sh.t_measure = sh.t_start + warm;
    sh.t_end = sh.t_measure + dur;
    stats_t st;
    memset(&st, 0, sizeof st);
    rng_seed(&st.rng, (uint64_t)cfg_int(cfg, "seed") * 1000003u);
    if (run(&sh, nconn, &st) != 0) {
        fprintf(stderr, "recsys-load: out of memory or no epoll/timerfd\n");
        return 2;
    }
    size_t total = st.n;
    uint64_t errors = st.errors, non2xx = st.non2xx, reconnects = st.reconnects;
    uint32_t *all = st.lat_us != NULL ? st.lat_us : malloc(sizeof *all);
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
    free(all);
    for (size_t i = 0; i < sh.nreqs; i++) {
        free(sh.reqs[i].path);
        free(sh.reqs[i].body);
    }
    free(sh.reqs);
    cfg_free(cfg);
    return errors + non2xx > 0 ? 1 : 0;
}
