/*
 * gw_cache.c: cache of blended answers in Redis, with single flight (see
 * gw_cache.h for the key scheme and why generations).
 *
 * A flight is one key being looked up or computed. Flights live in a small
 * chained hash table keyed by "<user>|<versions and params hash>" (no
 * generation: the generation is only known once Redis answered). Callers of
 * the same key while the flight runs join its waiter list; the first caller
 * is the owner whose compute function runs on a miss. A flight leaves the
 * table when it delivers, or earlier when its user's cache is invalidated
 * (it is then "stale": it still answers its waiters, stores nothing, and new
 * requests start a fresh flight).
 *
 * The cache may be freed while flights or stores are still on their way:
 * it counts them and frees itself after the last one.
 */
#include "services/gateway/gw_cache.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NBUCKETS 256

/* One round trip: the user's generation, then the entry under it. */
static const char LOOKUP_LUA[] = "local g = redis.call('GET', KEYS[1]) "
                                 "if not g then g = '0' end "
                                 "return {g, redis.call('GET', ARGV[1] .. g .. ARGV[2])}";
static const char INVALIDATE_LUA[] = "local g = redis.call('INCR', KEYS[1]) "
                                     "redis.call('PEXPIRE', KEYS[1], ARGV[1]) "
                                     "return g";

typedef struct waiter waiter_t;
struct waiter {
    waiter_t *next;
    gw_cache_done_fn done;
    void *arg;
};

struct gw_cache_flight {
    gw_cache_flight_t *hnext;
    gw_cache_t *c;
    uint64_t h;
    char *fkey;    /* table key */
    char *uenc;    /* encoded user */
    char *genkey;  /* <prefix>:gen:<user> */
    char *head;    /* <prefix>:cache:<user>: */
    char *tail;    /* :<content>:<cf>:<hash> */
    char gen[32];
    bool gen_known;
    bool in_table;
    bool stale;
    bool nocache; /* ids too long: compute, never look up nor store */
    waiter_t *waiters, *last;
    gw_cache_compute_fn compute;
    void *compute_arg;
};

size_t gw_cache_flight_waiters(const gw_cache_flight_t *f)
{
    size_t n = 0;
    for (const waiter_t *w = f->waiters; w != NULL; w = w->next)
        n++;
    return n;
}

struct gw_cache {
    redisuv_t *redis;
    int64_t ttl_ms;
    size_t max_value;
    char prefix[128];
    gw_cache_flight_t *buckets[NBUCKETS];
    size_t outstanding; /* flights alive + Redis writes on their way */
    bool freeing;
    gw_cache_stats_t st;
    metrics_counter_t *m_hits, *m_misses, *m_coalesced, *m_errors, *m_stores, *m_invalidations;
};

const cfg_option_t gw_cache_options[] = {
    {"cache-ttl-ms", CFG_INT, "60000", "Lifetime of a cached answer in Redis, ms; 0 disables the cache.", 0,
     86400000},
    {"cache-max-value-bytes", CFG_INT, "1048576", "Largest answer stored in the cache, bytes.", 1, 536870912},
    {"cache-key-prefix", CFG_STRING, "recsys", "Prefix of the cache's Redis keys (<prefix>:cache:..., <prefix>:gen:...).",
     0, 0},
    CFG_END,
};

int gw_cache_opts_from_cfg(const cfg_t *cfg, gw_cache_opts_t *o, err_t *err)
{
    o->ttl_ms = cfg_int(cfg, "cache-ttl-ms");
    o->max_value_bytes = (size_t)cfg_int(cfg, "cache-max-value-bytes");
    o->prefix = cfg_str(cfg, "cache-key-prefix");
    if (o->prefix == NULL || o->prefix[0] == '\0' || strlen(o->prefix) > 64)
        return err_set(err, "cache-key-prefix must have 1 to 64 characters");
    return 0;
}

const char *gw_cache_outcome_name(gw_cache_outcome_t o)
{
    switch (o) {
    case GW_CACHE_HIT: return "hit";
    case GW_CACHE_COMPUTED: return "computed";
    case GW_CACHE_SHARED: return "shared";
    case GW_CACHE_FAILED: return "failed";
    }
    return "?";
}

/* ---- keys */

static bool safe_char(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
           ch == '_' || ch == '-' || ch == '@';
}

int gw_cache_encode_id(const char *id, char *out, size_t cap)
{
    static const char hex[] = "0123456789abcdef";
    if (id == NULL || id[0] == '\0') {
        if (cap < 2)
            return -1;
        memcpy(out, "-", 2);
        return 1;
    }
    size_t n = strlen(id);
    bool safe = true;
    for (size_t i = 0; i < n && safe; i++)
        safe = safe_char((unsigned char)id[i]);
    if (safe) {
        if (n + 1 > cap)
            return -1;
        memcpy(out, id, n + 1);
        return (int)n;
    }
    if (2 * n + 2 > cap)
        return -1;
    out[0] = '~';
    for (size_t i = 0; i < n; i++) {
        out[1 + 2 * i] = hex[(unsigned char)id[i] >> 4];
        out[2 + 2 * i] = hex[(unsigned char)id[i] & 15];
    }
    out[2 * n + 1] = '\0';
    return (int)(2 * n + 1);
}

static int encode_bounded(const char *id, char *out, size_t cap)
{
    if (id != NULL && strlen(id) > GW_CACHE_ID_MAX)
        return -1;
    return gw_cache_encode_id(id, out, cap);
}

/* 128 bits from two different 64-bit hashes (FNV-1a, and a multiply-xorshift
 * one), each finished with the splitmix64 mixer: not cryptographic, but a
 * collision needs ~2^64 distinct requests of one user and model version. */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void hash128(const void *p, size_t n, uint64_t out[2])
{
    const unsigned char *b = p;
    uint64_t h1 = 0xcbf29ce484222325ULL, h2 = 0x9e3779b97f4a7c15ULL ^ n;
    for (size_t i = 0; i < n; i++) {
        h1 = (h1 ^ b[i]) * 0x100000001b3ULL;
        h2 = (h2 + b[i] + 1) * 0xff51afd7ed558ccdULL;
        h2 ^= h2 >> 29;
    }
    out[0] = mix64(h1 ^ n);
    out[1] = mix64(h2);
}

static uint64_t hash_str(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return mix64(h);
}

int gw_cache_gen_key(const gw_cache_t *c, const char *user, char *buf, size_t cap)
{
    char u[2 * GW_CACHE_ID_MAX + 2];
    if (encode_bounded(user, u, sizeof u) < 0)
        return -1;
    int n = snprintf(buf, cap, "%s:gen:%s", c->prefix, u);
    return (n < 0 || (size_t)n >= cap) ? -1 : 0;
}

int64_t gw_cache_gen_ttl_ms(const gw_cache_t *c)
{
    int64_t ttl = c->ttl_ms > 0 ? c->ttl_ms : 60000;
    return 2 * ttl + 60000;
}

/* ---- life */

int gw_cache_new(redisuv_t *redis, const gw_cache_opts_t *opts, metrics_registry_t *reg, gw_cache_t **out,
                 err_t *err)
{
    *out = NULL;
    gw_cache_opts_t def = {60000, 1048576, "recsys"};
    if (opts == NULL)
        opts = &def;
    if (opts->ttl_ms < 0)
        return err_set(err, "cache: negative TTL %" PRId64 " ms", opts->ttl_ms);
    const char *prefix = opts->prefix && opts->prefix[0] ? opts->prefix : "recsys";
    if (strlen(prefix) > 64)
        return err_set(err, "cache: key prefix longer than 64 characters");
    gw_cache_t *c = calloc(1, sizeof *c);
    if (c == NULL)
        return err_set(err, "cache: out of memory");
    c->redis = redis;
    c->ttl_ms = opts->ttl_ms;
    c->max_value = opts->max_value_bytes ? opts->max_value_bytes : 1048576;
    snprintf(c->prefix, sizeof c->prefix, "%s", prefix);
    if (reg != NULL) {
        c->m_hits = metrics_counter_new(reg, "recsys_cache_hits_total", "Answers served from the Redis cache.", err);
        c->m_misses = metrics_counter_new(reg, "recsys_cache_misses_total",
                                          "Answers computed (not in the cache, or Redis unavailable).", err);
        c->m_coalesced = metrics_counter_new(reg, "recsys_cache_coalesced_total",
                                             "Requests that waited for an identical request's computation.", err);
        c->m_errors = metrics_counter_new(reg, "recsys_cache_errors_total",
                                          "Cache lookups or stores that failed in Redis.", err);
        c->m_stores = metrics_counter_new(reg, "recsys_cache_stores_total", "Answers stored in the cache.", err);
        c->m_invalidations = metrics_counter_new(reg, "recsys_cache_invalidations_total",
                                                 "Users whose cached answers were invalidated.", err);
        if (!c->m_hits || !c->m_misses || !c->m_coalesced || !c->m_errors || !c->m_stores || !c->m_invalidations) {
            free(c);
            return err_prefix(err, "cache metrics");
        }
    }
    *out = c;
    return 0;
}

static void maybe_free(gw_cache_t *c)
{
    if (c->freeing && c->outstanding == 0)
        free(c);
}

void gw_cache_free(gw_cache_t *c)
{
    if (c == NULL)
        return;
    c->freeing = true;
    maybe_free(c);
}

void gw_cache_stats(const gw_cache_t *c, gw_cache_stats_t *out)
{
    *out = c->st;
}

static void count(gw_cache_t *c, uint64_t *field, metrics_counter_t *m)
{
    (*field)++;
    metrics_counter_inc(m);
}

/* ---- flights */

static void table_remove(gw_cache_t *c, gw_cache_flight_t *f)
{
    if (!f->in_table)
        return;
    gw_cache_flight_t **pp = &c->buckets[f->h % NBUCKETS];
    while (*pp && *pp != f)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = f->hnext;
    f->hnext = NULL;
    f->in_table = false;
}

static void flight_free(gw_cache_flight_t *f)
{
    gw_cache_t *c = f->c;
    while (f->waiters) {
        waiter_t *w = f->waiters;
        f->waiters = w->next;
        free(w);
    }
    free(f->fkey);
    free(f->uenc);
    free(f->genkey);
    free(f->head);
    free(f->tail);
    free(f);
    c->st.flights--;
    c->outstanding--;
    maybe_free(c);
}

/* Gives the result to every waiter (owner first) and ends the flight. A
 * done callback may start new flights, even of the same key: this one has
 * left the table first. */
static void deliver(gw_cache_flight_t *f, bool hit, const void *value, size_t len, const char *error)
{
    gw_cache_t *c = f->c;
    table_remove(c, f);
    bool owner = true;
    while (f->waiters) {
        waiter_t *w = f->waiters;
        f->waiters = w->next;
        gw_cache_outcome_t o;
        if (error)
            o = GW_CACHE_FAILED;
        else if (hit)
            o = GW_CACHE_HIT;
        else
            o = owner ? GW_CACHE_COMPUTED : GW_CACHE_SHARED;
        if (hit)
            count(c, &c->st.hits, c->m_hits);
        else if (owner)
            count(c, &c->st.misses, c->m_misses);
        else
            count(c, &c->st.coalesced, c->m_coalesced);
        owner = false;
        w->done(w->arg, o, error ? NULL : value, error ? 0 : len, error);
        free(w);
    }
    flight_free(f);
}

static void start_compute(gw_cache_flight_t *f)
{
    /* The compute function may finish (and free f) before it returns. */
    f->compute(f, f->compute_arg);
}

static void on_lookup(redisuv_t *r, redisReply *reply, const char *error, void *arg)
{
    gw_cache_flight_t *f = arg;
    gw_cache_t *c = f->c;
    (void)r;
    (void)error;
    if (reply != NULL && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
        reply->element[0]->type == REDIS_REPLY_STRING && reply->element[0]->len < sizeof f->gen) {
        memcpy(f->gen, reply->element[0]->str, reply->element[0]->len);
        f->gen[reply->element[0]->len] = '\0';
        redisReply *v = reply->element[1];
        if (v->type == REDIS_REPLY_STRING) {
            deliver(f, true, v->str, v->len, NULL);
            return;
        }
        if (v->type == REDIS_REPLY_NIL) {
            f->gen_known = true;
            start_compute(f);
            return;
        }
    }
    /* Unavailable, timed out, or an odd reply: compute, store nothing. */
    count(c, &c->st.errors, c->m_errors);
    start_compute(f);
}

static bool lookup_possible(const gw_cache_t *c)
{
    return c->redis != NULL && c->ttl_ms > 0 && redisuv_connected(c->redis);
}

static char *xstrdup(const char *s, bool *oom)
{
    char *p = strdup(s);
    if (p == NULL)
        *oom = true;
    return p;
}

int gw_cache_get_or_compute(gw_cache_t *c, const gw_cache_key_t *key, gw_cache_compute_fn compute,
                            void *compute_arg, gw_cache_done_fn done, void *done_arg)
{
    char uenc[2 * GW_CACHE_ID_MAX + 2], cv[2 * GW_CACHE_ID_MAX + 2], fv[2 * GW_CACHE_ID_MAX + 2];
    bool nocache = encode_bounded(key->user, uenc, sizeof uenc) < 0 ||
                   encode_bounded(key->content_version, cv, sizeof cv) < 0 ||
                   encode_bounded(key->cf_version, fv, sizeof fv) < 0;
    char tail[2 * sizeof cv + 48];
    if (nocache)
        snprintf(uenc, sizeof uenc, "-");
    uint64_t ph[2];
    hash128(key->params, key->params_len, ph);
    if (!nocache)
        snprintf(tail, sizeof tail, ":%s:%s:%016" PRIx64 "%016" PRIx64, cv, fv, ph[0], ph[1]);
    else
        tail[0] = '\0';
    size_t fklen = strlen(uenc) + strlen(tail) + 2;
    char *fkey = malloc(fklen);
    if (fkey == NULL)
        return -1;
    snprintf(fkey, fklen, "%s|%s", uenc, tail);
    uint64_t h = hash_str(fkey);

    waiter_t *w = calloc(1, sizeof *w);
    if (w == NULL) {
        free(fkey);
        return -1;
    }
    w->done = done;
    w->arg = done_arg;

    if (!nocache) {
        for (gw_cache_flight_t *f = c->buckets[h % NBUCKETS]; f; f = f->hnext) {
            if (f->h == h && strcmp(f->fkey, fkey) == 0) {
                f->last->next = w;
                f->last = w;
                free(fkey);
                return 0;
            }
        }
    }

    gw_cache_flight_t *f = calloc(1, sizeof *f);
    if (f == NULL) {
        free(fkey);
        free(w);
        return -1;
    }
    bool oom = false;
    char buf[256 + 2 * GW_CACHE_ID_MAX];
    f->c = c;
    f->h = h;
    f->fkey = fkey;
    f->uenc = xstrdup(uenc, &oom);
    snprintf(buf, sizeof buf, "%s:gen:%s", c->prefix, uenc);
    f->genkey = xstrdup(buf, &oom);
    snprintf(buf, sizeof buf, "%s:cache:%s:", c->prefix, uenc);
    f->head = xstrdup(buf, &oom);
    f->tail = xstrdup(tail, &oom);
    f->nocache = nocache;
    f->waiters = f->last = w;
    f->compute = compute;
    f->compute_arg = compute_arg;
    c->outstanding++;
    c->st.flights++;
    if (oom) {
        f->waiters = f->last = NULL;
        free(w);
        flight_free(f);
        return -1;
    }
    if (!nocache) {
        f->hnext = c->buckets[h % NBUCKETS];
        c->buckets[h % NBUCKETS] = f;
        f->in_table = true;
    }
    if (!nocache && lookup_possible(c)) {
        if (redisuv_command(c->redis, on_lookup, f, "EVAL %s 1 %s %s %s", LOOKUP_LUA, f->genkey, f->head,
                            f->tail) == 0)
            return 0;
        count(c, &c->st.errors, c->m_errors);
    }
    start_compute(f);
    return 0;
}

static void on_store(redisuv_t *r, redisReply *reply, const char *error, void *arg)
{
    gw_cache_t *c = arg;
    (void)r;
    (void)error;
    if (reply != NULL && reply->type != REDIS_REPLY_ERROR)
        count(c, &c->st.stores, c->m_stores);
    else
        count(c, &c->st.errors, c->m_errors);
    c->outstanding--;
    maybe_free(c);
}

void gw_cache_computed(gw_cache_flight_t *f, const void *value, size_t len, bool cacheable, const char *error)
{
    gw_cache_t *c = f->c;
    if (error == NULL && cacheable && f->gen_known && !f->stale && !f->nocache && lookup_possible(c)) {
        if (len > c->max_value) {
            c->st.too_large++;
        } else {
            size_t klen = strlen(f->head) + strlen(f->gen) + strlen(f->tail) + 1;
            char *k = malloc(klen);
            if (k != NULL) {
                snprintf(k, klen, "%s%s%s", f->head, f->gen, f->tail);
                c->outstanding++;
                if (redisuv_command(c->redis, on_store, c, "SET %s %b PX %lld", k, value ? value : "", len,
                                    (long long)c->ttl_ms) != 0) {
                    c->outstanding--;
                    count(c, &c->st.errors, c->m_errors);
                }
                free(k);
            }
        }
    }
    deliver(f, false, value, len, error ? error : NULL);
}

void gw_cache_forget_user(gw_cache_t *c, const char *user)
{
    char uenc[2 * GW_CACHE_ID_MAX + 2];
    if (encode_bounded(user, uenc, sizeof uenc) < 0)
        return;
    for (size_t b = 0; b < NBUCKETS; b++) {
        gw_cache_flight_t **pp = &c->buckets[b];
        while (*pp) {
            gw_cache_flight_t *f = *pp;
            if (strcmp(f->uenc, uenc) == 0) {
                *pp = f->hnext;
                f->hnext = NULL;
                f->in_table = false;
                f->stale = true;
            } else {
                pp = &f->hnext;
            }
        }
    }
}

typedef struct inval {
    gw_cache_t *c;
    redisuv_cb cb;
    void *arg;
} inval_t;

static void on_invalidate(redisuv_t *r, redisReply *reply, const char *error, void *arg)
{
    inval_t *iv = arg;
    gw_cache_t *c = iv->c;
    if (reply != NULL && reply->type == REDIS_REPLY_INTEGER)
        count(c, &c->st.invalidations, c->m_invalidations);
    else
        count(c, &c->st.errors, c->m_errors);
    if (iv->cb)
        iv->cb(r, reply, error, iv->arg);
    free(iv);
    c->outstanding--;
    maybe_free(c);
}

int gw_cache_invalidate_user(gw_cache_t *c, const char *user, redisuv_cb cb, void *arg)
{
    char key[256 + 2 * GW_CACHE_ID_MAX];
    if (gw_cache_gen_key(c, user, key, sizeof key) != 0 || c->redis == NULL)
        return -1;
    gw_cache_forget_user(c, user);
    inval_t *iv = malloc(sizeof *iv);
    if (iv == NULL)
        return -1;
    *iv = (inval_t){c, cb, arg};
    c->outstanding++;
    if (redisuv_command(c->redis, on_invalidate, iv, "EVAL %s 1 %s %lld", INVALIDATE_LUA, key,
                        (long long)gw_cache_gen_ttl_ms(c)) != 0) {
        c->outstanding--;
        free(iv);
        return -1;
    }
    return 0;
}
