/*
 * redisuv.c: hiredis 0.14 on libuv, with deadlines and reconnection.
 *
 * The adapter: hiredis asks for read/write interest through the ev hooks;
 * each connection gets a redisuv_conn_t holding a uv_poll_t on the socket.
 * When libuv reports a poll error (it does so for a refused connect), the
 * callback still hands the event to hiredis, which then reads the socket
 * error itself (getsockopt / read) and tears the context down, running every
 * pending callback with reply == NULL and ac->err set. Debian's adapter
 * returns early on a poll error, so those callbacks never ran.
 *
 * Connection life: [re-resolve host, off the loop thread] -> connect_start()
 * -> handshake (AUTH, SELECT, PING) ->
 * READY. Whatever ends a context (hiredis on an I/O error, or us on a
 * timeout or close) ends in the cleanup hook, which forgets the context and
 * schedules the next attempt. One uv_timer serves the connect deadline and
 * the back-off (they never overlap).
 *
 * Deadlines: all commands share one timeout, so their deadlines grow in
 * submission order; the in-flight list is kept in that order and one timer
 * is armed for its head. A timed-out command leaves the list and gets its
 * error, but its record stays with hiredis (which still holds the pointer)
 * and is freed when hiredis finally calls back with the late reply or with
 * NULL when the context is freed.
 *
 * Fail-fast errors are queued on a list drained by a uv_idle_t, so they run
 * on the next loop iteration and never inside redisuv_command().
 */
#include "common/net/redisuv.h"

#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <hiredis/async.h>

#include "common/base/log.h"

typedef struct rcmd rcmd_t;
struct rcmd {
    rcmd_t *prev, *next; /* in r->inflight or r->deferred while linked */
    redisuv_t *r;
    redisuv_cb cb;
    void *arg;
    uint64_t deadline;
    int defer_kind; /* for deferred commands: DEFER_* */
    bool linked;
    bool done;      /* the caller's callback ran */
};

enum { DEFER_UNAVAILABLE = 1, DEFER_OVERLOADED };

typedef struct rlist {
    rcmd_t *head, *tail;
    size_t n;
} rlist_t;

typedef struct redisuv_conn {
    uv_poll_t poll;
    redisAsyncContext *ac; /* NULL once hiredis has cleaned up */
    redisuv_t *r;
    int events;
} redisuv_conn_t;

struct redisuv {
    uv_loop_t *loop;
    redisuv_opts_t o;
    char *host, *unix_path, *password;
    char addr[NI_MAXHOST]; /* resolved numeric address */
    uv_getaddrinfo_t gai;  /* re-resolution of host before a reconnect */
    bool resolving;

    redisuv_state_t state;
    redisAsyncContext *ac;
    bool ac_dying; /* hiredis or we are tearing ac down: never free it again */
    int hs_left;   /* handshake replies still expected */
    bool ever_ready;
    bool failure_logged;
    int backoff_ms;
    char last_error[200]; /* why the last attempt or connection failed */
    char drop_reason[200]; /* why we freed ac ourselves */

    uv_timer_t conn_timer; /* connect deadline, or back-off */
    uv_timer_t cmd_timer;  /* head of inflight's deadline */
    uv_idle_t defer_idle;  /* drains deferred */
    int open_handles;
    void (*close_done)(void *);
    void *close_arg;

    rlist_t inflight, deferred;
    size_t in_hiredis; /* records hiredis still holds (timed-out ones too) */
    int consecutive_timeouts;
    redisuv_stats_t st;
};

const cfg_option_t redisuv_options[] = {
    {"redis-host", CFG_STRING, "127.0.0.1", "Redis host name or address (resolved at start-up and again before each reconnect).", 0, 0},
    {"redis-port", CFG_INT, "6379", "Redis TCP port.", 1, 65535},
    {"redis-unix", CFG_STRING, NULL, "Redis unix socket path; when set, used instead of host and port.", 0, 0},
    {"redis-password", CFG_STRING, NULL, "Password sent with AUTH on every connection (empty: none).", 0, 0},
    {"redis-db", CFG_INT, "0", "Redis database number (SELECT on every connection).", 0, 1000000},
    {"redis-connect-timeout-ms", CFG_INT, "1000", "Deadline for a connection and its handshake, ms.", 1, 600000},
    {"redis-command-timeout-ms", CFG_INT, "100", "Deadline for every Redis command, ms.", 1, 600000},
    {"redis-reconnect-min-ms", CFG_INT, "100", "First delay before reconnecting, ms (doubles per failure).", 1,
     600000},
    {"redis-reconnect-max-ms", CFG_INT, "5000", "Longest delay between reconnection attempts, ms.", 1, 3600000},
    {"redis-max-pending", CFG_INT, "10000", "Commands in flight at once; beyond, commands fail at once.", 1,
     10000000},
    CFG_END,
};

int redisuv_opts_from_cfg(const cfg_t *cfg, redisuv_opts_t *o, err_t *err)
{
    memset(o, 0, sizeof *o);
    o->host = cfg_str(cfg, "redis-host");
    o->port = (int)cfg_int(cfg, "redis-port");
    o->unix_path = cfg_str(cfg, "redis-unix");
    o->password = cfg_str(cfg, "redis-password");
    o->db = (int)cfg_int(cfg, "redis-db");
    o->connect_timeout_ms = (int)cfg_int(cfg, "redis-connect-timeout-ms");
    o->command_timeout_ms = (int)cfg_int(cfg, "redis-command-timeout-ms");
    o->reconnect_min_ms = (int)cfg_int(cfg, "redis-reconnect-min-ms");
    o->reconnect_max_ms = (int)cfg_int(cfg, "redis-reconnect-max-ms");
    o->max_pending = (int)cfg_int(cfg, "redis-max-pending");
    if (o->reconnect_max_ms < o->reconnect_min_ms)
        return err_set(err, "redis-reconnect-max-ms (%d) is below redis-reconnect-min-ms (%d)",
                       o->reconnect_max_ms, o->reconnect_min_ms);
    if ((o->unix_path == NULL || o->unix_path[0] == '\0') && (o->host == NULL || o->host[0] == '\0'))
        return err_set(err, "redis-host is empty and redis-unix is not set");
    return 0;
}

const char *redisuv_state_name(redisuv_state_t s)
{
    switch (s) {
    case REDISUV_DOWN: return "down";
    case REDISUV_CONNECTING: return "connecting";
    case REDISUV_READY: return "ready";
    case REDISUV_CLOSING: return "closing";
    }
    return "?";
}

/* ---- lists */

static void rlist_push(rlist_t *l, rcmd_t *c)
{
    c->prev = l->tail;
    c->next = NULL;
    if (l->tail)
        l->tail->next = c;
    else
        l->head = c;
    l->tail = c;
    l->n++;
    c->linked = true;
}

static void rlist_remove(rlist_t *l, rcmd_t *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        l->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        l->tail = c->prev;
    c->prev = c->next = NULL;
    c->linked = false;
    l->n--;
}

/* ---- small helpers */

static void set_reason(char *dst, size_t cap, const char *s)
{
    snprintf(dst, cap, "%s", s && s[0] ? s : "unknown error");
    /* hiredis says "Connection refused": make it read as part of a sentence. */
    if (dst[0] && isupper((unsigned char)dst[0]) && !isupper((unsigned char)dst[1]))
        dst[0] = (char)tolower((unsigned char)dst[0]);
}

static const char *endpoint(const redisuv_t *r, char *buf, size_t cap)
{
    if (r->unix_path)
        snprintf(buf, cap, "unix:%s", r->unix_path);
    else
        snprintf(buf, cap, "%s:%d", r->addr, r->o.port);
    return buf;
}

static void deliver_error(redisuv_t *r, rcmd_t *c, const char *msg)
{
    c->done = true;
    r->st.errors++;
    r->st.pending--;
    c->cb(r, NULL, msg, c->arg);
}

/* ---- the adapter: hiredis ev hooks over a uv_poll_t */

static void conn_poll_cb(uv_poll_t *h, int status, int events)
{
    redisuv_conn_t *cn = h->data;
    int ev = events;
    if (status < 0) {
        /* A poll error (e.g. a refused connect): let hiredis look at the
         * socket; it finds the error and tears the context down. */
        ev = cn->events ? cn->events : UV_READABLE;
    }
    if (cn->ac != NULL && (ev & UV_READABLE))
        redisAsyncHandleRead(cn->ac);
    if (cn->ac != NULL && (ev & UV_WRITABLE))
        redisAsyncHandleWrite(cn->ac);
}

static void conn_update(redisuv_conn_t *cn)
{
    if (cn->ac == NULL || uv_is_closing((uv_handle_t *)&cn->poll))
        return;
    if (cn->events)
        uv_poll_start(&cn->poll, cn->events, conn_poll_cb);
    else
        uv_poll_stop(&cn->poll);
}

static void ev_add_read(void *p)
{
    redisuv_conn_t *cn = p;
    cn->events |= UV_READABLE;
    conn_update(cn);
}

static void ev_del_read(void *p)
{
    redisuv_conn_t *cn = p;
    cn->events &= ~UV_READABLE;
    conn_update(cn);
}

static void ev_add_write(void *p)
{
    redisuv_conn_t *cn = p;
    cn->events |= UV_WRITABLE;
    conn_update(cn);
}

static void ev_del_write(void *p)
{
    redisuv_conn_t *cn = p;
    cn->events &= ~UV_WRITABLE;
    conn_update(cn);
}

static void maybe_finish_close(redisuv_t *r);
static void conn_gone(redisuv_t *r);

static void conn_closed_cb(uv_handle_t *h)
{
    redisuv_conn_t *cn = h->data;
    redisuv_t *r = cn->r;
    free(cn);
    r->open_handles--;
    maybe_finish_close(r);
}

/* hiredis is freeing the context (after running every pending callback):
 * the one place where every kind of teardown ends. */
static void ev_cleanup(void *p)
{
    redisuv_conn_t *cn = p;
    redisuv_t *r = cn->r;
    if (r->state == REDISUV_READY) /* no command was pending to tell us why */
        set_reason(r->last_error, sizeof r->last_error, cn->ac->err ? cn->ac->errstr : r->drop_reason);
    cn->ac = NULL;
    uv_close((uv_handle_t *)&cn->poll, conn_closed_cb);
    r->ac = NULL;
    r->ac_dying = false;
    if (r->state != REDISUV_CLOSING)
        conn_gone(r);
}

static int conn_attach(redisuv_t *r, redisAsyncContext *ac)
{
    redisuv_conn_t *cn = calloc(1, sizeof *cn);
    if (cn == NULL)
        return -1;
    if (uv_poll_init(r->loop, &cn->poll, ac->c.fd) != 0) {
        free(cn);
        return -1;
    }
    cn->poll.data = cn;
    cn->ac = ac;
    cn->r = r;
    r->open_handles++;
    ac->ev.data = cn;
    ac->ev.addRead = ev_add_read;
    ac->ev.delRead = ev_del_read;
    ac->ev.addWrite = ev_add_write;
    ac->ev.delWrite = ev_del_write;
    ac->ev.cleanup = ev_cleanup;
    return 0;
}

/* ---- connection life */

static void connect_start(redisuv_t *r);

static void note_failure(redisuv_t *r)
{
    if (!r->failure_logged) {
        char ep[NI_MAXHOST + 300];
        log_kv(LOG_WARN, "redis unavailable; retrying with back-off", "endpoint", endpoint(r, ep, sizeof ep),
               "error", r->last_error, NULL);
        r->failure_logged = true;
    }
}


/* The address a reconnect dials: host resolved again (off the loop thread),
 * so a Redis that moved (a Kubernetes Service or pod recreated with a new
 * address) is found; a failed look-up keeps the last address. */
static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    redisuv_t *r = req->data;
    r->resolving = false;
    r->open_handles--;
    if (r->state == REDISUV_CLOSING) {
        if (res != NULL)
            uv_freeaddrinfo(res);
        maybe_finish_close(r);
        return;
    }
    char addr[NI_MAXHOST];
    if (status == 0 && res != NULL &&
        getnameinfo(res->ai_addr, res->ai_addrlen, addr, sizeof addr, NULL, 0, NI_NUMERICHOST) == 0) {
        if (strcmp(addr, r->addr) != 0) {
            log_kv(LOG_INFO, "redis host resolved to a new address", "host", r->host, "old", r->addr, "new", addr,
                   NULL);
            memcpy(r->addr, addr, sizeof addr);
        }
    } else if (status != 0) {
        log_kv(LOG_WARN, "redis host not resolved; keeping the last address", "host", r->host, "address", r->addr,
               "error", uv_strerror(status), NULL);
    }
    if (res != NULL)
        uv_freeaddrinfo(res);
    if (r->state == REDISUV_DOWN)
        connect_start(r);
}

static void on_retry_timer(uv_timer_t *t)
{
    redisuv_t *r = t->data;
    if (r->state != REDISUV_DOWN)
        return;
    if (r->unix_path == NULL && !r->resolving) {
        struct addrinfo hints;
        memset(&hints, 0, sizeof hints);
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_family = strchr(r->addr, ':') != NULL ? AF_UNSPEC : AF_INET; /* IPv4 first, as at start-up */
        r->gai.data = r;
        if (uv_getaddrinfo(r->loop, &r->gai, on_resolved, r->host, NULL, &hints) == 0) {
            r->resolving = true;
            r->open_handles++;
            return;
        }
    }
    connect_start(r);
}

static void schedule_retry(redisuv_t *r, int delay_ms)
{
    r->state = REDISUV_DOWN;
    uv_timer_stop(&r->conn_timer);
    uv_timer_start(&r->conn_timer, on_retry_timer, (uint64_t)delay_ms, 0);
}

/* The context is gone (cleanup hook): wait, then try again. */
static void conn_gone(redisuv_t *r)
{
    if (r->state == REDISUV_READY) {
        /* A live connection ended: the first retry comes soon. */
        char ep[NI_MAXHOST + 300];
        log_kv(LOG_WARN, "redis connection lost", "endpoint", endpoint(r, ep, sizeof ep), "error", r->last_error,
               NULL);
        r->failure_logged = true;
        r->backoff_ms = r->o.reconnect_min_ms;
        schedule_retry(r, r->backoff_ms);
        return;
    }
    note_failure(r);
    int delay = r->backoff_ms;
    r->backoff_ms = r->backoff_ms * 2 > r->o.reconnect_max_ms ? r->o.reconnect_max_ms : r->backoff_ms * 2;
    schedule_retry(r, delay);
}

/* Frees the current context ourselves (timeouts, failed handshake). Its
 * pending callbacks run with reply NULL and ac->err 0: they read
 * r->drop_reason. */
static void drop_conn(redisuv_t *r, const char *reason)
{
    if (r->ac == NULL || r->ac_dying)
        return;
    snprintf(r->drop_reason, sizeof r->drop_reason, "%s", reason);
    r->ac_dying = true;
    redisAsyncFree(r->ac); /* deferred by hiredis when inside one of its callbacks */
}

static void became_ready(redisuv_t *r)
{
    char ep[NI_MAXHOST + 300];
    uv_timer_stop(&r->conn_timer);
    r->state = REDISUV_READY;
    r->consecutive_timeouts = 0;
    r->backoff_ms = r->o.reconnect_min_ms;
    r->last_error[0] = '\0';
    if (r->ever_ready)
        r->st.reconnects++;
    log_kv(LOG_INFO, r->ever_ready ? "redis reconnected" : "redis connected", "endpoint",
           endpoint(r, ep, sizeof ep), NULL);
    r->ever_ready = true;
    r->failure_logged = false;
}

static void on_handshake_reply(redisAsyncContext *ac, void *reply_, void *privdata)
{
    redisuv_t *r = ac->data;
    redisReply *reply = reply_;
    (void)privdata;
    if (r->state != REDISUV_CONNECTING)
        return;
    if (reply == NULL) {
        if (ac->err)
            set_reason(r->last_error, sizeof r->last_error, ac->errstr);
        else
            set_reason(r->last_error, sizeof r->last_error, r->drop_reason);
        r->state = REDISUV_DOWN; /* the cleanup hook schedules the retry */
        r->hs_left = 0;
        return;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        char msg[200];
        snprintf(msg, sizeof msg, "handshake refused: %.*s", (int)(reply->len > 150 ? 150 : reply->len),
                 reply->str);
        set_reason(r->last_error, sizeof r->last_error, msg);
        r->state = REDISUV_DOWN;
        r->hs_left = 0;
        drop_conn(r, r->last_error);
        return;
    }
    if (--r->hs_left == 0)
        became_ready(r);
}

static void on_connect_timer(uv_timer_t *t)
{
    redisuv_t *r = t->data;
    if (r->state != REDISUV_CONNECTING)
        return;
    snprintf(r->last_error, sizeof r->last_error, "no connection within %d ms", r->o.connect_timeout_ms);
    drop_conn(r, r->last_error);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    redisuv_t *r = ac->data;
    if (status != REDIS_OK && ac->err)
        set_reason(r->last_error, sizeof r->last_error, ac->errstr);
}

static void connect_start(redisuv_t *r)
{
    r->state = REDISUV_CONNECTING;
    r->ac_dying = false;
    redisAsyncContext *ac = r->unix_path ? redisAsyncConnectUnix(r->unix_path) : redisAsyncConnect(r->addr, r->o.port);
    if (ac == NULL || ac->err) {
        set_reason(r->last_error, sizeof r->last_error, ac ? ac->errstr : "out of memory");
        if (ac)
            redisAsyncFree(ac); /* not attached yet: no hooks, no callbacks */
        r->state = REDISUV_DOWN;
        conn_gone(r);
        return;
    }
    ac->data = r;
    if (conn_attach(r, ac) != 0) {
        set_reason(r->last_error, sizeof r->last_error, "cannot watch the socket");
        redisAsyncFree(ac);
        r->state = REDISUV_DOWN;
        conn_gone(r);
        return;
    }
    r->ac = ac;
    redisAsyncSetConnectCallback(ac, on_connect);
    r->hs_left = 0;
    /* The handshake also wakes hiredis's connect check (it needs a write). */
    if (r->password && redisAsyncCommand(ac, on_handshake_reply, NULL, "AUTH %s", r->password) == REDIS_OK)
        r->hs_left++;
    if (r->o.db != 0 && redisAsyncCommand(ac, on_handshake_reply, NULL, "SELECT %d", r->o.db) == REDIS_OK)
        r->hs_left++;
    if (redisAsyncCommand(ac, on_handshake_reply, NULL, "PING") == REDIS_OK)
        r->hs_left++;
    uv_timer_stop(&r->conn_timer);
    uv_timer_start(&r->conn_timer, on_connect_timer, (uint64_t)r->o.connect_timeout_ms, 0);
}

/* ---- commands */

static void on_cmd_timer(uv_timer_t *t);

static void arm_cmd_timer(redisuv_t *r)
{
    if (r->inflight.head == NULL) {
        uv_timer_stop(&r->cmd_timer);
        return;
    }
    uint64_t now = uv_now(r->loop);
    uint64_t d = r->inflight.head->deadline;
    uv_timer_start(&r->cmd_timer, on_cmd_timer, d > now ? d - now : 0, 0);
}

static void on_cmd_timer(uv_timer_t *t)
{
    redisuv_t *r = t->data;
    uint64_t now = uv_now(r->loop);
    char msg[96];
    snprintf(msg, sizeof msg, "redis command timed out after %d ms", r->o.command_timeout_ms);
    while (r->state != REDISUV_CLOSING && r->inflight.head && r->inflight.head->deadline <= now) {
        rcmd_t *c = r->inflight.head;
        rlist_remove(&r->inflight, c);
        r->st.timeouts++;
        r->consecutive_timeouts++;
        deliver_error(r, c, msg); /* the record stays with hiredis until it calls back */
    }
    if (r->state == REDISUV_CLOSING)
        return;
    if (r->state == REDISUV_READY && r->consecutive_timeouts >= REDISUV_SUSPECT_TIMEOUTS) {
        char why[200];
        snprintf(why, sizeof why, "no reply within %d ms to %d commands in a row", r->o.command_timeout_ms,
                 r->consecutive_timeouts);
        set_reason(r->last_error, sizeof r->last_error, why);
        drop_conn(r, why);
        if (r->state == REDISUV_CLOSING)
            return;
    }
    arm_cmd_timer(r);
}

static void on_cmd_reply(redisAsyncContext *ac, void *reply_, void *privdata)
{
    rcmd_t *c = privdata;
    redisuv_t *r = c->r;
    redisReply *reply = reply_;
    r->in_hiredis--;
    if (reply == NULL && r->state == REDISUV_READY) {
        /* The context is being torn down: new commands must fail fast. */
        if (ac->err)
            set_reason(r->last_error, sizeof r->last_error, ac->errstr);
        else
            set_reason(r->last_error, sizeof r->last_error, r->drop_reason);
        char ep[NI_MAXHOST + 300];
        log_kv(LOG_WARN, "redis connection lost", "endpoint", endpoint(r, ep, sizeof ep), "error", r->last_error,
               NULL);
        r->failure_logged = true;
        r->backoff_ms = r->o.reconnect_min_ms;
        r->state = REDISUV_DOWN; /* the cleanup hook schedules the retry */
        r->ac_dying = true;
    }
    if (reply != NULL)
        r->consecutive_timeouts = 0;
    if (!c->done) {
        rlist_remove(&r->inflight, c);
        if (reply != NULL) {
            c->done = true;
            r->st.replies++;
            r->st.pending--;
            c->cb(r, reply, NULL, c->arg);
        } else if (r->state == REDISUV_CLOSING) {
            deliver_error(r, c, "shutting down");
        } else {
            char msg[300];
            snprintf(msg, sizeof msg, "redis connection lost: %s", r->last_error);
            deliver_error(r, c, msg);
        }
    }
    free(c);
}

static void on_defer_idle(uv_idle_t *h)
{
    redisuv_t *r = h->data;
    /* Only what is queued now: callbacks may queue more for the next turn. */
    size_t n = r->deferred.n;
    while (n-- > 0 && r->deferred.head && r->state != REDISUV_CLOSING) {
        rcmd_t *c = r->deferred.head;
        rlist_remove(&r->deferred, c);
        char msg[300];
        if (c->defer_kind == DEFER_OVERLOADED)
            snprintf(msg, sizeof msg, "redis overloaded: %d commands in flight", r->o.max_pending);
        else
            snprintf(msg, sizeof msg, "redis unavailable: %s",
                     r->last_error[0] ? r->last_error : (r->ever_ready ? "reconnecting" : "connecting"));
        deliver_error(r, c, msg);
        free(c);
    }
    if (r->deferred.head == NULL && r->state != REDISUV_CLOSING)
        uv_idle_stop(&r->defer_idle);
}

static void defer(redisuv_t *r, rcmd_t *c, int kind)
{
    c->defer_kind = kind;
    rlist_push(&r->deferred, c);
    uv_idle_start(&r->defer_idle, on_defer_idle);
}

/* Common part of both submit paths. Returns the record to hand to hiredis,
 * or NULL when the command was deferred (*rc set) or refused. */
static rcmd_t *submit_begin(redisuv_t *r, redisuv_cb cb, void *arg, int *rc)
{
    *rc = -1;
    if (r == NULL || cb == NULL || r->state == REDISUV_CLOSING)
        return NULL;
    rcmd_t *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->r = r;
    c->cb = cb;
    c->arg = arg;
    *rc = 0;
    r->st.commands++;
    r->st.pending++;
    if (r->state != REDISUV_READY || r->ac == NULL || r->ac_dying) {
        defer(r, c, DEFER_UNAVAILABLE);
        return NULL;
    }
    if (r->in_hiredis >= (size_t)r->o.max_pending) {
        defer(r, c, DEFER_OVERLOADED);
        return NULL;
    }
    return c;
}

static int submit_end(redisuv_t *r, rcmd_t *c, int hiredis_rc)
{
    if (hiredis_rc != REDIS_OK) {
        /* A bad format string (a programming error): refuse outright. */
        r->st.commands--;
        r->st.pending--;
        free(c);
        return -1;
    }
    r->in_hiredis++;
    c->deadline = uv_now(r->loop) + (uint64_t)r->o.command_timeout_ms;
    rlist_push(&r->inflight, c);
    if (!uv_is_active((uv_handle_t *)&r->cmd_timer))
        arm_cmd_timer(r);
    return 0;
}

int redisuv_command(redisuv_t *r, redisuv_cb cb, void *arg, const char *fmt, ...)
{
    int rc;
    rcmd_t *c = submit_begin(r, cb, arg, &rc);
    if (c == NULL)
        return rc;
    va_list ap;
    va_start(ap, fmt);
    int hrc = redisvAsyncCommand(r->ac, on_cmd_reply, c, fmt, ap);
    va_end(ap);
    return submit_end(r, c, hrc);
}

int redisuv_commandargv(redisuv_t *r, redisuv_cb cb, void *arg, int argc, const char **argv,
                        const size_t *argvlen)
{
    if (argc <= 0 || argv == NULL)
        return -1;
    int rc;
    rcmd_t *c = submit_begin(r, cb, arg, &rc);
    if (c == NULL)
        return rc;
    int hrc = redisAsyncCommandArgv(r->ac, on_cmd_reply, c, argc, argv, argvlen);
    return submit_end(r, c, hrc);
}

/* ---- life of the client */

static char *dup_opt(const char *s)
{
    return (s && s[0]) ? strdup(s) : NULL;
}

static int resolve(redisuv_t *r, err_t *err)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_family = AF_INET; /* prefer IPv4, as hiredis 0.14 does */
    int rc = getaddrinfo(r->host, NULL, &hints, &res);
    if (rc != 0) {
        hints.ai_family = AF_UNSPEC;
        rc = getaddrinfo(r->host, NULL, &hints, &res);
    }
    if (rc != 0)
        return err_set(err, "redis-host '%s': %s", r->host, gai_strerror(rc));
    rc = getnameinfo(res->ai_addr, res->ai_addrlen, r->addr, sizeof r->addr, NULL, 0, NI_NUMERICHOST);
    freeaddrinfo(res);
    if (rc != 0)
        return err_set(err, "redis-host '%s': %s", r->host, gai_strerror(rc));
    return 0;
}

static void free_struct(redisuv_t *r)
{
    free(r->host);
    free(r->unix_path);
    free(r->password);
    free(r);
}

int redisuv_new(uv_loop_t *loop, const redisuv_opts_t *opts, redisuv_t **out, err_t *err)
{
    *out = NULL;
    redisuv_t *r = calloc(1, sizeof *r);
    if (r == NULL)
        return err_set(err, "redis: out of memory");
    r->loop = loop;
    r->o = *opts;
    if (r->o.connect_timeout_ms <= 0)
        r->o.connect_timeout_ms = 1000;
    if (r->o.command_timeout_ms <= 0)
        r->o.command_timeout_ms = 100;
    if (r->o.reconnect_min_ms <= 0)
        r->o.reconnect_min_ms = 100;
    if (r->o.reconnect_max_ms <= 0)
        r->o.reconnect_max_ms = 5000;
    if (r->o.reconnect_max_ms < r->o.reconnect_min_ms)
        r->o.reconnect_max_ms = r->o.reconnect_min_ms;
    if (r->o.max_pending <= 0)
        r->o.max_pending = 10000;
    r->host = dup_opt(opts->host);
    r->unix_path = dup_opt(opts->unix_path);
    r->password = dup_opt(opts->password);
    r->o.host = r->host;
    r->o.unix_path = r->unix_path;
    r->o.password = r->password;
    if (r->unix_path == NULL) {
        if (r->host == NULL) {
            free_struct(r);
            return err_set(err, "redis: no host and no unix socket given");
        }
        if (r->o.port <= 0 || r->o.port > 65535) {
            free_struct(r);
            return err_set(err, "redis: port %d out of range", opts->port);
        }
        if (resolve(r, err) != 0) {
            free_struct(r);
            return -1;
        }
    }
    r->backoff_ms = r->o.reconnect_min_ms;
    uv_timer_init(loop, &r->conn_timer);
    uv_timer_init(loop, &r->cmd_timer);
    uv_idle_init(loop, &r->defer_idle);
    r->conn_timer.data = r->cmd_timer.data = r;
    r->defer_idle.data = r;
    r->open_handles = 3;
    connect_start(r);
    *out = r;
    return 0;
}

bool redisuv_connected(const redisuv_t *r)
{
    return r != NULL && r->state == REDISUV_READY;
}

void redisuv_stats(const redisuv_t *r, redisuv_stats_t *out)
{
    *out = r->st;
    out->state = r->state;
}

const char *redisuv_last_error(const redisuv_t *r)
{
    return r->last_error;
}

static void maybe_finish_close(redisuv_t *r)
{
    if (r->state != REDISUV_CLOSING || r->open_handles > 0 || r->ac != NULL)
        return;
    void (*done)(void *) = r->close_done;
    void *arg = r->close_arg;
    free_struct(r);
    if (done)
        done(arg);
}

static void handle_closed_cb(uv_handle_t *h)
{
    redisuv_t *r = h->data;
    r->open_handles--;
    maybe_finish_close(r);
}

void redisuv_close(redisuv_t *r, void (*done)(void *arg), void *arg)
{
    if (r == NULL || r->state == REDISUV_CLOSING)
        return;
    r->state = REDISUV_CLOSING;
    r->close_done = done;
    r->close_arg = arg;
    if (r->resolving)
        uv_cancel((uv_req_t *)&r->gai); /* on_resolved runs with UV_ECANCELED (or its result) */
    /* In flight: hiredis runs their callbacks with NULL when the context is
     * freed, and on_cmd_reply turns that into "shutting down". */
    if (r->ac != NULL && !r->ac_dying) {
        r->ac_dying = true;
        redisAsyncFree(r->ac);
    }
    /* Whatever hiredis does not hold (or holds but will answer later). */
    while (r->inflight.head) {
        rcmd_t *c = r->inflight.head;
        rlist_remove(&r->inflight, c);
        deliver_error(r, c, "shutting down"); /* record freed by hiredis's callback */
    }
    while (r->deferred.head) {
        rcmd_t *c = r->deferred.head;
        rlist_remove(&r->deferred, c);
        deliver_error(r, c, "shutting down");
        free(c);
    }
    uv_close((uv_handle_t *)&r->conn_timer, handle_closed_cb);
    uv_close((uv_handle_t *)&r->cmd_timer, handle_closed_cb);
    uv_close((uv_handle_t *)&r->defer_idle, handle_closed_cb);
}
