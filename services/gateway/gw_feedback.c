/*
 * gw_feedback.c: feedback batches written to Redis by one script, and the
 * recent-events list read back (see gw_feedback.h for the contract).
 *
 * The script's arguments: ARGV[1] stream key, [2] approximate max length,
 * [3] recent-list cap, [4] number of events, then 8 per event: user, recent
 * key, generation key ("" = no cache), item, rating, type, ts, list entry.
 * It validates every key's type first, then writes; it returns the stream
 * ids in event order.
 */
#include "services/gateway/gw_feedback.h"
#include "common/base/clock.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char ADD_LUA[] =
    "local n = tonumber(ARGV[4]) "
    "local function want(key, ok1, ok2) "
    "  local t = redis.call('TYPE', key).ok "
    "  if t ~= 'none' and t ~= ok1 and t ~= ok2 then "
    "    return 'WRONGTYPE key ' .. key .. ' holds a ' .. t end "
    "  return nil end "
    "local e = want(ARGV[1], 'stream', 'stream') "
    "if e then return redis.error_reply(e) end "
    "for i = 0, n - 1 do "
    "  local b = 5 + i * 8 "
    "  e = want(ARGV[b + 1], 'list', 'list') "
    "  if e then return redis.error_reply(e) end "
    "  if ARGV[b + 2] ~= '' then "
    "    e = want(ARGV[b + 2], 'string', 'string') "
    "    if e then return redis.error_reply(e) end "
    "  end "
    "end "
    "local ids = {} "
    "local users = {} "
    "for i = 0, n - 1 do "
    "  local b = 5 + i * 8 "
    "  ids[i + 1] = redis.call('XADD', ARGV[1], 'MAXLEN', '~', ARGV[2], '*', 'user', ARGV[b], "
    "    'item', ARGV[b + 3], 'rating', ARGV[b + 4], 'type', ARGV[b + 5], 'ts', ARGV[b + 6]) "
    "  redis.call('LPUSH', ARGV[b + 1], ARGV[b + 7]) "
    "  users[ARGV[b + 1]] = ARGV[b + 2] "
    "end "
    "for key, gen in pairs(users) do "
    "  redis.call('LTRIM', key, 0, tonumber(ARGV[3]) - 1) "
    "  if gen ~= '' then "
    "    redis.call('INCR', gen) "
    "    redis.call('PEXPIRE', gen, ARGV[5 + n * 8]) "
    "  end "
    "end "
    "return ids";

static const char *const type_names[] = {"unspecified", "rating", "view", "click", "like", "dislike"};

struct gw_feedback {
    redisuv_t *redis;
    gw_cache_t *cache;
    char stream[160];
    char recent_prefix[160];
    long long maxlen;
    int recent_max;
    size_t outstanding;
    bool freeing;
    gw_feedback_stats_t st;
    metrics_counter_t *m_events, *m_failed;
};

const cfg_option_t gw_feedback_options[] = {
    {"feedback-key-prefix", CFG_STRING, "recsys", "Prefix of the feedback keys (<prefix>:feedback stream, <prefix>:recent:<user>).", 0, 0},
    {"feedback-stream-maxlen", CFG_INT, "10000000", "Approximate number of events the feedback stream keeps.", 1,
     1e15},
    {"feedback-recent-max", CFG_INT, "200", "Recent events kept per user for fold-in.", 1, 100000},
    CFG_END,
};

int gw_feedback_opts_from_cfg(const cfg_t *cfg, gw_feedback_opts_t *o, err_t *err)
{
    o->prefix = cfg_str(cfg, "feedback-key-prefix");
    o->stream_maxlen = cfg_int(cfg, "feedback-stream-maxlen");
    o->recent_max = (int)cfg_int(cfg, "feedback-recent-max");
    if (o->prefix == NULL || o->prefix[0] == '\0' || strlen(o->prefix) > 64)
        return err_set(err, "feedback-key-prefix must have 1 to 64 characters");
    return 0;
}

const char *gw_feedback_type_name(int type)
{
    return type >= 0 && type < (int)(sizeof type_names / sizeof type_names[0]) ? type_names[type] : NULL;
}

int gw_feedback_new(redisuv_t *redis, gw_cache_t *cache, const gw_feedback_opts_t *opts, metrics_registry_t *reg,
                    gw_feedback_t **out, err_t *err)
{
    *out = NULL;
    gw_feedback_opts_t def = {"recsys", 10000000, 200};
    if (opts == NULL)
        opts = &def;
    if (redis == NULL)
        return err_set(err, "feedback: no Redis client");
    const char *prefix = opts->prefix && opts->prefix[0] ? opts->prefix : "recsys";
    if (strlen(prefix) > 64)
        return err_set(err, "feedback: key prefix longer than 64 characters");
    if (opts->stream_maxlen < 1 || opts->recent_max < 1)
        return err_set(err, "feedback: stream max length and recent max must be at least 1");
    gw_feedback_t *fb = calloc(1, sizeof *fb);
    if (fb == NULL)
        return err_set(err, "feedback: out of memory");
    fb->redis = redis;
    fb->cache = cache;
    snprintf(fb->stream, sizeof fb->stream, "%s:feedback", prefix);
    snprintf(fb->recent_prefix, sizeof fb->recent_prefix, "%s:recent:", prefix);
    fb->maxlen = opts->stream_maxlen;
    fb->recent_max = opts->recent_max;
    if (reg != NULL) {
        fb->m_events = metrics_counter_new(reg, "recsys_feedback_events_total",
                                           "Feedback events acknowledged by Redis.", err);
        fb->m_failed = metrics_counter_new(reg, "recsys_feedback_failed_batches_total",
                                           "Feedback batches refused because Redis did not accept them.", err);
        if (fb->m_events == NULL || fb->m_failed == NULL) {
            free(fb);
            return err_prefix(err, "feedback metrics");
        }
    }
    *out = fb;
    return 0;
}

static void maybe_free(gw_feedback_t *fb)
{
    if (fb->freeing && fb->outstanding == 0)
        free(fb);
}

void gw_feedback_free(gw_feedback_t *fb)
{
    if (fb == NULL)
        return;
    fb->freeing = true;
    maybe_free(fb);
}

void gw_feedback_stats(const gw_feedback_t *fb, gw_feedback_stats_t *out)
{
    *out = fb->st;
}

/* ---- add */

typedef struct add_req {
    gw_feedback_t *fb;
    gw_feedback_add_cb cb;
    void *arg;
    size_t n;
    char **users; /* distinct users, for the local cache flights */
    size_t nusers;
} add_req_t;

static void add_req_free(add_req_t *a)
{
    for (size_t i = 0; i < a->nusers; i++)
        free(a->users[i]);
    free(a->users);
    free(a);
}

static void on_added(redisuv_t *r, redisReply *reply, const char *error, void *arg)
{
    add_req_t *a = arg;
    gw_feedback_t *fb = a->fb;
    char msg[300];
    (void)r;
    if (reply != NULL && reply->type == REDIS_REPLY_ARRAY && reply->elements == a->n) {
        const char **ids = malloc(a->n * sizeof *ids);
        bool ok = ids != NULL;
        for (size_t i = 0; ok && i < a->n; i++) {
            ok = reply->element[i]->type == REDIS_REPLY_STRING;
            if (ok)
                ids[i] = reply->element[i]->str;
        }
        if (ok) {
            fb->st.batches++;
            fb->st.events += a->n;
            metrics_counter_add(fb->m_events, a->n);
            /* Redis has moved the users' generations; flights started
             * before must not be joined by the users' next requests. */
            if (fb->cache)
                for (size_t i = 0; i < a->nusers; i++)
                    gw_cache_forget_user(fb->cache, a->users[i]);
            a->cb(a->arg, ids, a->n, NULL);
            free(ids);
            goto done;
        }
        free(ids);
        snprintf(msg, sizeof msg, "feedback store: unexpected reply from Redis");
    } else if (reply != NULL && reply->type == REDIS_REPLY_ERROR) {
        snprintf(msg, sizeof msg, "feedback store: redis error: %.200s", reply->str);
    } else if (reply != NULL) {
        snprintf(msg, sizeof msg, "feedback store: unexpected reply from Redis");
    } else {
        snprintf(msg, sizeof msg, "feedback store: %s", error);
    }
    fb->st.failed_batches++;
    metrics_counter_inc(fb->m_failed);
    a->cb(a->arg, NULL, 0, msg);
done:
    add_req_free(a);
    fb->outstanding--;
    maybe_free(fb);
}

static int check_event(const gw_feedback_event_t *e, size_t i, err_t *err)
{
    if (e->user == NULL || e->user[0] == '\0')
        return err_set(err, "event %zu: user_id is empty", i);
    if (e->item == NULL || e->item[0] == '\0')
        return err_set(err, "event %zu: item_id is empty", i);
    if (strlen(e->user) > GW_FEEDBACK_ID_MAX)
        return err_set(err, "event %zu: user_id longer than %d bytes", i, GW_FEEDBACK_ID_MAX);
    if (strlen(e->item) > GW_FEEDBACK_ID_MAX)
        return err_set(err, "event %zu: item_id longer than %d bytes", i, GW_FEEDBACK_ID_MAX);
    if (gw_feedback_type_name(e->type) == NULL)
        return err_set(err, "event %zu: unknown event type %d", i, e->type);
    if (!(e->rating == e->rating) || e->rating < -1e6f || e->rating > 1e6f)
        return err_set(err, "event %zu: rating is not a finite number", i);
    if (e->ts_ms < 0)
        return err_set(err, "event %zu: negative timestamp", i);
    return 0;
}

int gw_feedback_add(gw_feedback_t *fb, const gw_feedback_event_t *ev, size_t n, gw_feedback_add_cb cb, void *arg,
                    err_t *err)
{
    if (n == 0)
        return err_set(err, "no feedback events");
    if (n > GW_FEEDBACK_BATCH_MAX)
        return err_set(err, "%zu feedback events in one batch, at most %d", n, GW_FEEDBACK_BATCH_MAX);
    for (size_t i = 0; i < n; i++)
        if (check_event(&ev[i], i, err) != 0)
            return -1;

    /* EVAL, script, numkeys, 4 leading ARGV, 8 per event, the generation TTL. */
    size_t argc = 3 + 4 + 8 * n + 1;
    const char **argv = calloc(argc, sizeof *argv);
    size_t *lens = calloc(argc, sizeof *lens);
    char *store = NULL;
    add_req_t *a = calloc(1, sizeof *a);
    /* Bytes formatted here per event: two keys (<= ~590 each: a 64-byte
     * prefix and a hex-encoded id), rating, ts and the list entry (<= ~300). */
    size_t cap = 2048 * n + 128;
    store = malloc(cap);
    if (a != NULL)
        a->users = calloc(n, sizeof *a->users);
    if (argv == NULL || lens == NULL || store == NULL || a == NULL || a->users == NULL) {
        free(argv);
        free(lens);
        free(store);
        if (a)
            add_req_free(a);
        return err_set(err, "feedback: out of memory");
    }
    a->fb = fb;
    a->cb = cb;
    a->arg = arg;
    a->n = n;

    char *p = store;
    size_t k = 0;
    bool overflow = false;
#define PUT_FMT(...)                                                                                             \
    do {                                                                                                         \
        size_t room_ = cap - (size_t)(p - store);                                                                \
        int len_ = snprintf(p, room_, __VA_ARGS__);                                                              \
        if (len_ < 0 || (size_t)len_ >= room_) { /* cannot happen: ids are bounded */                           \
            overflow = true;                                                                                     \
            len_ = 0;                                                                                            \
            p[0] = '\0';                                                                                         \
        }                                                                                                        \
        argv[k] = p;                                                                                             \
        lens[k++] = (size_t)len_;                                                                                \
        p += len_ + 1;                                                                                           \
    } while (0)
#define PUT_STR(s)                                                                                               \
    do {                                                                                                         \
        argv[k] = (s);                                                                                           \
        lens[k] = strlen(argv[k]);                                                                               \
        k++;                                                                                                     \
    } while (0)
    PUT_STR("EVAL");
    PUT_STR(ADD_LUA);
    PUT_STR("0");
    PUT_STR(fb->stream);
    PUT_FMT("%lld", fb->maxlen);
    PUT_FMT("%d", fb->recent_max);
    PUT_FMT("%zu", n);
    int64_t now = clock_wall_ms();
    bool oom = false;
    for (size_t i = 0; i < n; i++) {
        const gw_feedback_event_t *e = &ev[i];
        char uenc[2 * GW_FEEDBACK_ID_MAX + 2];
        gw_cache_encode_id(e->user, uenc, sizeof uenc);
        int64_t ts = e->ts_ms > 0 ? e->ts_ms : now;
        PUT_STR(e->user);
        PUT_FMT("%s%s", fb->recent_prefix, uenc);
        if (fb->cache) {
            char gk[256 + 2 * GW_FEEDBACK_ID_MAX];
            if (gw_cache_gen_key(fb->cache, e->user, gk, sizeof gk) != 0)
                gk[0] = '\0';
            PUT_FMT("%s", gk);
        } else {
            PUT_STR("");
        }
        PUT_STR(e->item);
        PUT_FMT("%.9g", (double)e->rating);
        PUT_STR(gw_feedback_type_name(e->type));
        PUT_FMT("%" PRId64, ts);
        PUT_FMT("%" PRId64 " %d %.9g %s", ts, e->type, (double)e->rating, e->item);
        /* distinct users (a batch usually has one) */
        bool seen = false;
        for (size_t u = 0; u < i && !seen; u++)
            seen = strcmp(ev[u].user, e->user) == 0;
        if (!seen) {
            a->users[a->nusers] = strdup(e->user);
            if (a->users[a->nusers] == NULL)
                oom = true;
            else
                a->nusers++;
        }
    }
    PUT_FMT("%" PRId64, fb->cache ? gw_cache_gen_ttl_ms(fb->cache) : (int64_t)180000);
#undef PUT_FMT
#undef PUT_STR
    int rc = -1;
    if (overflow)
        oom = true;
    if (!oom) {
        fb->outstanding++;
        rc = redisuv_commandargv(fb->redis, on_added, a, (int)k, argv, lens);
        if (rc != 0)
            fb->outstanding--;
    }
    free(argv);
    free(lens);
    free(store);
    if (rc != 0) {
        add_req_free(a);
        return err_set(err, oom ? "feedback: out of memory" : "feedback store: Redis client is shutting down");
    }
    return 0;
}

/* ---- recent */

int gw_feedback_parse_recent(const char *s, size_t len, gw_feedback_recent_event_t *out, const char **item,
                             size_t *item_len)
{
    char buf[96];
    /* the numeric head is short; the item is the rest of the entry */
    size_t head = len < sizeof buf - 1 ? len : sizeof buf - 1;
    memcpy(buf, s, head);
    buf[head] = '\0';
    char *end;
    errno = 0;
    if (buf[0] == ' ' || buf[0] == '\0')
        return -1;
    long long ts = strtoll(buf, &end, 10);
    if (end == buf || *end != ' ' || errno || ts < 0)
        return -1;
    char *q = end + 1;
    if (*q == ' ')
        return -1;
    long type = strtol(q, &end, 10);
    if (end == q || *end != ' ' || type < 0 || type > 5 || gw_feedback_type_name((int)type) == NULL)
        return -1;
    q = end + 1;
    if (*q == ' ')
        return -1;
    float rating = strtof(q, &end);
    if (end == q || *end != ' ' || !(rating == rating))
        return -1;
    size_t off = (size_t)(end + 1 - buf);
    if (off >= len)
        return -1; /* empty item */
    out->ts_ms = ts;
    out->type = (int)type;
    out->rating = rating;
    out->item = NULL;
    *item = s + off;
    *item_len = len - off;
    return 0;
}

typedef struct recent_req {
    gw_feedback_t *fb;
    gw_feedback_recent_cb cb;
    void *arg;
} recent_req_t;

static void on_recent(redisuv_t *r, redisReply *reply, const char *error, void *arg)
{
    recent_req_t *q = arg;
    gw_feedback_t *fb = q->fb;
    (void)r;
    if (reply != NULL && reply->type == REDIS_REPLY_ARRAY) {
        size_t n = reply->elements, total = 0;
        for (size_t i = 0; i < n; i++)
            total += reply->element[i]->len + 1;
        gw_feedback_recent_event_t *ev = calloc(n ? n : 1, sizeof *ev);
        char *items = malloc(total ? total : 1);
        if (ev != NULL && items != NULL) {
            size_t m = 0;
            char *p = items;
            /* The list is newest first (LPUSH); the callback gets the
             * events in the order they happened, so "the later one wins"
             * holds for whoever folds them into a history. */
            for (size_t i = n; i-- > 0;) {
                redisReply *e = reply->element[i];
                const char *it;
                size_t il;
                if (e->type != REDIS_REPLY_STRING || gw_feedback_parse_recent(e->str, e->len, &ev[m], &it, &il) != 0)
                    continue; /* not ours: skip */
                memcpy(p, it, il);
                p[il] = '\0';
                ev[m++].item = p;
                p += il + 1;
            }
            fb->st.recent_reads++;
            q->cb(q->arg, ev, m, NULL);
        } else {
            fb->st.recent_errors++;
            q->cb(q->arg, NULL, 0, "feedback store: out of memory");
        }
        free(ev);
        free(items);
    } else {
        char msg[300];
        if (reply != NULL)
            snprintf(msg, sizeof msg, "feedback store: redis error: %.200s",
                     reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply");
        else
            snprintf(msg, sizeof msg, "feedback store: %s", error);
        fb->st.recent_errors++;
        q->cb(q->arg, NULL, 0, msg);
    }
    free(q);
    fb->outstanding--;
    maybe_free(fb);
}

int gw_feedback_recent(gw_feedback_t *fb, const char *user, int max, gw_feedback_recent_cb cb, void *arg)
{
    if (user == NULL || user[0] == '\0' || strlen(user) > GW_FEEDBACK_ID_MAX)
        return -1;
    char uenc[2 * GW_FEEDBACK_ID_MAX + 2];
    gw_cache_encode_id(user, uenc, sizeof uenc);
    recent_req_t *q = malloc(sizeof *q);
    if (q == NULL)
        return -1;
    *q = (recent_req_t){fb, cb, arg};
    fb->outstanding++;
    int stop = max > 0 ? max - 1 : -1;
    if (redisuv_command(fb->redis, on_recent, q, "LRANGE %s%s 0 %d", fb->recent_prefix, uenc, stop) != 0) {
        fb->outstanding--;
        free(q);
        return -1;
    }
    return 0;
}
