/*
 * rpc_group.c: replicas of one worker found by resolving its URLs' host
 * names again and again (see rpc_group.h).
 *
 * Sources are the URLs as given; replicas the concrete addresses dialled,
 * each with its own rpc_client_t. A group call is a small record on the
 * group's live list forwarding the replica's completion to the caller, so
 * a replica knows its calls in flight: a replica whose address went away is
 * "draining" (never chosen) and is closed when that count reaches 0. A
 * replica is freed in its client's closed callback.
 */
#include "common/net/rpc_group.h"
#include "common/net/rpc_internal.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/base/log.h"

#define GRP_URL_MAX 320

typedef struct grp_source grp_source_t;
typedef struct grp_replica grp_replica_t;
typedef struct grp_call grp_call_t;

struct grp_source {
    rpc_group_t *g;
    char url[GRP_URL_MAX];
    char scheme[16]; /* "tcp", "tcp4", "tcp6" when resolved */
    char host[256];
    char port[16];
    bool dynamic;    /* host is a name resolved by the group */
    bool resolving;  /* a look-up is under way */
    int last_status; /* of the last look-up (logged when it changes) */
    uv_getaddrinfo_t gai;
};

struct grp_replica {
    rpc_group_t *g;
    grp_source_t *src;
    char url[GRP_URL_MAX];
    rpc_client_t *c;
    int inflight; /* group calls on it not yet completed */
    bool draining; /* address gone: no new calls, closed when idle */
    bool closing;  /* rpc_client_close called */
    bool seen;     /* in the last look-up's answer */
    uint64_t hold_until; /* uv_now before which it is chosen only if no other is usable */
};

struct grp_call {
    uint64_t id;
    grp_replica_t *r;
    uint64_t sub; /* the replica client's call id */
    rpc_done_cb cb;
    void *arg;
    grp_call_t *prev, *next;
};

struct rpc_group {
    uv_loop_t *loop;
    rpc_client_opts_t copts; /* urls set per replica */
    char name[64];
    int resolve_ms;
    grp_source_t *src;
    int nsrc;
    grp_replica_t **reps;
    int nreps, capreps;
    uv_timer_t timer;
    bool timer_open;
    grp_call_t *live;
    uint64_t next_id;
    unsigned rr;
    grp_replica_t *cur; /* the replica whose call's callback runs now */
    bool closing;
    int parts; /* timer, look-ups and replicas still to release on close */
    rpc_client_closed_cb closed_cb;
    void *closed_arg;
};

/* ------------------------------------------------------------ replicas */

static void maybe_free_group(rpc_group_t *g)
{
    if (!g->closing || g->parts > 0)
        return;
    rpc_client_closed_cb cb = g->closed_cb;
    void *arg = g->closed_arg;
    free(g->reps);
    free(g->src);
    free(g);
    if (cb != NULL)
        cb(arg);
}

static void replica_closed(void *arg)
{
    grp_replica_t *r = arg;
    rpc_group_t *g = r->g;
    for (int i = 0; i < g->nreps; i++)
        if (g->reps[i] == r) {
            g->reps[i] = g->reps[--g->nreps];
            break;
        }
    free(r);
    if (g->closing) {
        g->parts--;
        maybe_free_group(g);
    }
}

static void replica_close(grp_replica_t *r)
{
    if (r->closing)
        return;
    r->closing = true;
    if (r->g->closing)
        r->g->parts++;
    rpc_client_close(r->c, replica_closed, r);
}

/* A replica dialling url (in the background); NULL with err set. */
static grp_replica_t *replica_new(rpc_group_t *g, grp_source_t *src, const char *url, err_t *err)
{
    if (g->nreps == g->capreps) {
        int cap = g->capreps ? g->capreps * 2 : 8;
        grp_replica_t **n = realloc(g->reps, (size_t)cap * sizeof *n);
        if (n == NULL) {
            err_set(err, "rpc: out of memory");
            return NULL;
        }
        g->reps = n;
        g->capreps = cap;
    }
    grp_replica_t *r = calloc(1, sizeof *r);
    if (r == NULL) {
        err_set(err, "rpc: out of memory");
        return NULL;
    }
    r->g = g;
    r->src = src;
    r->seen = true;
    snprintf(r->url, sizeof r->url, "%s", url);
    rpc_client_opts_t o = g->copts;
    o.urls = r->url;
    if (rpc_client_new(&o, g->loop, &r->c, err) != 0) {
        free(r);
        return NULL;
    }
    g->reps[g->nreps++] = r;
    return r;
}

static void replica_add(rpc_group_t *g, grp_source_t *src, const char *url)
{
    err_t err = {0};
    if (replica_new(g, src, url, &err) == NULL)
        log_kv(LOG_ERROR, "worker replica not dialled", "worker", g->name, "name", src->url, "address", url,
               "error", err.msg, NULL);
    else
        log_kv(LOG_INFO, "worker replica added", "worker", g->name, "name", src->url, "address", url, NULL);
}

/* ------------------------------------------------------------ look-ups */

/* Splits scheme://host:port; host without brackets. Returns 0 when the URL
 * is a tcp one whose host needs resolving, 1 when it is used as is, -1 when
 * it is malformed. */
static int parse_source(grp_source_t *s)
{
    const char *sep = strstr(s->url, "://");
    if (sep == NULL || sep == s->url)
        return -1;
    size_t sl = (size_t)(sep - s->url);
    if (sl >= sizeof s->scheme)
        return 1;
    memcpy(s->scheme, s->url, sl);
    s->scheme[sl] = '\0';
    if (strcmp(s->scheme, "tcp") != 0 && strcmp(s->scheme, "tcp4") != 0 && strcmp(s->scheme, "tcp6") != 0)
        return 1;
    const char *hp = sep + 3, *colon;
    size_t hl;
    if (hp[0] == '[') {
        const char *end = strchr(hp, ']');
        if (end == NULL || end[1] != ':')
            return -1;
        hp++;
        hl = (size_t)(end - hp);
        colon = end + 1;
    } else {
        colon = strrchr(hp, ':');
        if (colon == NULL)
            return -1;
        hl = (size_t)(colon - hp);
    }
    if (hl >= sizeof s->host || strlen(colon + 1) == 0 || strlen(colon + 1) >= sizeof s->port ||
        strspn(colon + 1, "0123456789") != strlen(colon + 1))
        return -1;
    memcpy(s->host, hp, hl);
    s->host[hl] = '\0';
    snprintf(s->port, sizeof s->port, "%s", colon + 1);
    unsigned char buf[sizeof(struct in6_addr)];
    if (hl == 0 || strcmp(s->host, "*") == 0 || inet_pton(AF_INET, s->host, buf) == 1 ||
        inet_pton(AF_INET6, s->host, buf) == 1)
        return 1;
    return 0;
}

static void lookup_start(grp_source_t *s);

static bool in_list(char (*urls)[GRP_URL_MAX], int n, const char *u)
{
    for (int i = 0; i < n; i++)
        if (strcmp(urls[i], u) == 0)
            return true;
    return false;
}

/* Brings the source's replicas in line with the addresses found. */
static void apply_addresses(rpc_group_t *g, grp_source_t *s, char (*urls)[GRP_URL_MAX], int n)
{
    for (int i = 0; i < g->nreps; i++)
        if (g->reps[i]->src == s)
            g->reps[i]->seen = false;
    for (int k = 0; k < n; k++) {
        grp_replica_t *found = NULL;
        for (int i = 0; i < g->nreps && found == NULL; i++)
            if (g->reps[i]->src == s && !g->reps[i]->closing && strcmp(g->reps[i]->url, urls[k]) == 0)
                found = g->reps[i];
        if (found == NULL) {
            replica_add(g, s, urls[k]);
            continue;
        }
        found->seen = true;
        if (found->draining) {
            found->draining = false;
            log_kv(LOG_INFO, "worker replica back", "worker", g->name, "name", s->url, "address", found->url, NULL);
        }
    }
    /* Backwards: replica_close may shrink the array only later (closed cb). */
    for (int i = g->nreps - 1; i >= 0; i--) {
        grp_replica_t *r = g->reps[i];
        if (r->src != s || r->seen || r->draining || r->closing)
            continue;
        r->draining = true;
        char inflight[16];
        snprintf(inflight, sizeof inflight, "%d", r->inflight);
        log_kv(LOG_INFO, "worker replica removed", "worker", g->name, "name", s->url, "address", r->url,
               "calls_in_flight", inflight, NULL);
        if (r->inflight == 0)
            replica_close(r);
    }
}

static void on_lookup(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    grp_source_t *s = req->data;
    rpc_group_t *g = s->g;
    s->resolving = false;
    if (g->closing) {
        if (res != NULL)
            uv_freeaddrinfo(res);
        g->parts--;
        maybe_free_group(g);
        return;
    }
    if (status != 0) {
        if (status != s->last_status)
            log_kv(LOG_WARN, status == UV_EAI_NONAME ? "worker name has no address" : "worker name not resolved",
                   "worker", g->name, "name", s->url, "error", uv_strerror(status), NULL);
        s->last_status = status;
        /* NXDOMAIN is an answer (no pod ready): drop the replicas. Anything
         * else (DNS unreachable) says nothing about them: keep them. */
        if (status == UV_EAI_NONAME || status == UV_EAI_NODATA)
            apply_addresses(g, s, NULL, 0);
        if (res != NULL)
            uv_freeaddrinfo(res);
        return;
    }
    if (s->last_status != 0)
        log_kv(LOG_INFO, "worker name resolves again", "worker", g->name, "name", s->url, NULL);
    s->last_status = 0;
    int max = 0;
    for (struct addrinfo *a = res; a != NULL; a = a->ai_next)
        max++;
    char(*urls)[GRP_URL_MAX] = max > 0 ? calloc((size_t)max, GRP_URL_MAX) : NULL;
    int n = 0;
    for (struct addrinfo *a = res; a != NULL && urls != NULL; a = a->ai_next) {
        char host[NI_MAXHOST];
        if (getnameinfo(a->ai_addr, a->ai_addrlen, host, sizeof host, NULL, 0, NI_NUMERICHOST) != 0)
            continue;
        char u[GRP_URL_MAX];
        snprintf(u, sizeof u, a->ai_family == AF_INET6 ? "%s://[%s]:%s" : "%s://%s:%s", s->scheme, host, s->port);
        if (!in_list(urls, n, u))
            snprintf(urls[n++], GRP_URL_MAX, "%s", u);
    }
    uv_freeaddrinfo(res);
    if (urls != NULL || max == 0)
        apply_addresses(g, s, urls, n);
    free(urls);
}

static void lookup_start(grp_source_t *s)
{
    if (s->resolving || !s->dynamic)
        return;
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_family = strcmp(s->scheme, "tcp4") == 0 ? AF_INET : strcmp(s->scheme, "tcp6") == 0 ? AF_INET6 : AF_UNSPEC;
    s->gai.data = s;
    int rv = uv_getaddrinfo(s->g->loop, &s->gai, on_lookup, s->host, NULL, &hints);
    if (rv != 0) {
        log_kv(LOG_WARN, "worker name look-up not started", "worker", s->g->name, "name", s->url, "error",
               uv_strerror(rv), NULL);
        return;
    }
    s->resolving = true;
}

static void on_timer(uv_timer_t *t)
{
    rpc_group_t *g = t->data;
    for (int i = 0; i < g->nsrc; i++)
        lookup_start(&g->src[i]);
}

/* ------------------------------------------------------------ calls */

/* How much a replica is worth a call: connected, then not held. */
static int rank_of(const rpc_group_t *g, grp_replica_t *r)
{
    return 2 * (rpc_client_connections(r->c) > 0) + (r->hold_until <= uv_now(g->loop));
}

/* The best rank, then the fewest calls in flight; ties in turn. */
static grp_replica_t *pick(rpc_group_t *g)
{
    grp_replica_t *best = NULL;
    int best_rank = 0, n = g->nreps;
    if (n == 0)
        return NULL;
    unsigned start = g->rr++;
    for (int k = 0; k < n; k++) {
        grp_replica_t *r = g->reps[(start + (unsigned)k) % (unsigned)n];
        if (r->draining || r->closing)
            continue;
        int rank = rank_of(g, r);
        if (best == NULL || rank > best_rank || (rank == best_rank && r->inflight < best->inflight)) {
            best = r;
            best_rank = rank;
        }
    }
    return best;
}

static void live_unlink(rpc_group_t *g, grp_call_t *gc)
{
    if (gc->prev != NULL)
        gc->prev->next = gc->next;
    else
        g->live = gc->next;
    if (gc->next != NULL)
        gc->next->prev = gc->prev;
    gc->prev = gc->next = NULL;
}

static void call_finished(grp_call_t *gc)
{
    grp_replica_t *r = gc->r;
    live_unlink(r->g, gc);
    free(gc);
    if (--r->inflight == 0 && r->draining)
        replica_close(r);
}

static void on_sub_done(const rpc_result_t *res, void *arg)
{
    grp_call_t *gc = arg;
    rpc_done_cb cb = gc->cb;
    void *cb_arg = gc->arg;
    grp_replica_t *r = gc->r; /* freed only in its client's closed callback, later */
    rpc_group_t *g = r->g;    /* freed only after every replica */
    call_finished(gc);
    g->cur = r;
    cb(res, cb_arg);
    g->cur = NULL;
}

uint64_t rpc_group_call(rpc_group_t *g, const void *req, size_t len, int timeout_ms, rpc_done_cb cb, void *arg)
{
    if (g == NULL || g->closing || cb == NULL)
        return 0;
    grp_replica_t *r = pick(g);
    if (r == NULL)
        return 0;
    grp_call_t *gc = calloc(1, sizeof *gc);
    if (gc == NULL)
        return 0;
    gc->id = ++g->next_id;
    gc->r = r;
    gc->cb = cb;
    gc->arg = arg;
    gc->sub = rpc_client_call(r->c, req, len, timeout_ms, on_sub_done, gc);
    if (gc->sub == 0) {
        free(gc);
        return 0;
    }
    r->inflight++;
    gc->next = g->live;
    if (g->live != NULL)
        g->live->prev = gc;
    g->live = gc;
    return gc->id;
}

int rpc_group_cancel(rpc_group_t *g, uint64_t id)
{
    grp_call_t *gc = g->live;
    while (gc != NULL && gc->id != id)
        gc = gc->next;
    if (gc == NULL || rpc_client_cancel(gc->r->c, gc->sub) != 0)
        return -1;
    call_finished(gc);
    return 0;
}

int rpc_group_connections(rpc_group_t *g)
{
    int n = 0;
    for (int i = 0; i < g->nreps; i++)
        if (!g->reps[i]->draining && !g->reps[i]->closing && rpc_client_connections(g->reps[i]->c) > 0)
            n++;
    return n;
}

void rpc_group_hold_current(rpc_group_t *g, int ms)
{
    if (g->cur != NULL && ms > 0)
        g->cur->hold_until = uv_now(g->loop) + (uint64_t)ms;
}

int rpc_group_ready(rpc_group_t *g)
{
    int n = 0;
    for (int i = 0; i < g->nreps; i++)
        n += !g->reps[i]->draining && !g->reps[i]->closing && rank_of(g, g->reps[i]) == 3;
    return n;
}

int rpc_group_replicas(const rpc_group_t *g)
{
    int n = 0;
    for (int i = 0; i < g->nreps; i++)
        n += !g->reps[i]->draining && !g->reps[i]->closing;
    return n;
}

/* ------------------------------------------------------------ life */

static void timer_closed(uv_handle_t *h)
{
    rpc_group_t *g = h->data;
    g->parts--;
    maybe_free_group(g);
}

void rpc_group_close(rpc_group_t *g, rpc_client_closed_cb done, void *arg)
{
    if (g == NULL || g->closing)
        return;
    g->closing = true;
    g->closed_cb = done;
    g->closed_arg = arg;
    g->parts = 1; /* held until the end of this function */
    if (g->timer_open) {
        g->parts++;
        uv_timer_stop(&g->timer);
        uv_close((uv_handle_t *)&g->timer, timer_closed);
    }
    for (int i = 0; i < g->nsrc; i++)
        if (g->src[i].resolving) {
            g->parts++;
            uv_cancel((uv_req_t *)&g->src[i].gai); /* on_lookup runs either way */
        }
    /* Replicas already closing (drained) count too: replica_closed frees them. */
    for (int i = 0; i < g->nreps; i++)
        if (g->reps[i]->closing)
            g->parts++;
    /* replica_close may complete calls at once; the array is only shrunk in
     * replica_closed, which runs on a later loop turn. */
    int n = g->nreps;
    for (int i = 0; i < n && i < g->nreps; i++)
        replica_close(g->reps[i]);
    g->parts--;
    maybe_free_group(g);
}

int rpc_group_new(const rpc_group_opts_t *o, uv_loop_t *loop, rpc_group_t **out, err_t *err)
{
    *out = NULL;
    const char *urls = o->client.urls;
    if (urls == NULL || urls[0] == '\0')
        return err_set(err, "rpc: no URL given");
    rpc_group_t *g = calloc(1, sizeof *g);
    char *copy = strdup(urls);
    int max = 1;
    for (const char *p = urls; *p != '\0'; p++)
        max += *p == ',';
    if (g != NULL)
        g->src = calloc((size_t)max, sizeof *g->src);
    if (g == NULL || copy == NULL || g->src == NULL) {
        free(copy);
        if (g != NULL)
            free(g->src);
        free(g);
        return err_set(err, "rpc: out of memory");
    }
    g->loop = loop;
    g->copts = o->client;
    g->resolve_ms = o->resolve_ms;
    snprintf(g->name, sizeof g->name, "%s", o->name != NULL ? o->name : "rpc");
    char *save = NULL;
    int rc = 0;
    for (char *tok = rpc_url_next(copy, &save); tok != NULL; tok = rpc_url_next(NULL, &save)) {
        size_t l = strlen(tok);
        grp_source_t *s = &g->src[g->nsrc];
        s->g = g;
        if (l >= sizeof s->url) {
            rc = err_set(err, "rpc: URL '%.40s...' longer than %d bytes", tok, GRP_URL_MAX - 1);
            break;
        }
        memcpy(s->url, tok, l + 1);
        int kind = parse_source(s);
        if (kind < 0) {
            rc = err_set(err, "rpc: URL '%s' is not scheme://host:port", tok);
            break;
        }
        s->dynamic = kind == 0 && g->resolve_ms > 0;
        g->nsrc++;
    }
    free(copy);
    if (rc == 0 && g->nsrc == 0)
        rc = err_set(err, "rpc: no URL in '%s'", urls);
    /* Static URLs are dialled now, so their errors (an unknown scheme) stop
     * the start-up like before. */
    for (int i = 0; rc == 0 && i < g->nsrc; i++) {
        if (g->src[i].dynamic)
            continue;
        if (replica_new(g, &g->src[i], g->src[i].url, err) == NULL)
            rc = -1;
    }
    if (rc != 0) {
        if (g->nreps == 0) {
            free(g->reps);
            free(g->src);
            free(g);
        } else {
            rpc_group_close(g, NULL, NULL); /* frees g once the clients are closed */
        }
        return -1;
    }
    bool any_dynamic = false;
    for (int i = 0; i < g->nsrc; i++)
        if (g->src[i].dynamic) {
            any_dynamic = true;
            lookup_start(&g->src[i]);
        }
    if (any_dynamic) {
        uv_timer_init(loop, &g->timer);
        g->timer.data = g;
        g->timer_open = true;
        uv_timer_start(&g->timer, on_timer, (uint64_t)g->resolve_ms, (uint64_t)g->resolve_ms);
        uv_unref((uv_handle_t *)&g->timer);
    }
    *out = g;
    return 0;
}
