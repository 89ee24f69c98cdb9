/*
 * rpc_client.c: the gateway's RPC client: nng req0 contexts completing on a
 * libuv loop (see rpc.h for the contract).
 *
 * Each call is a record that lives on the loop thread's "live" list from
 * rpc_client_call until its callback runs. It either waits in the FIFO queue
 * for a context, sits on a slot (one nng context + one aio) while nng works,
 * or waits on the done list for the loop to deliver it. nng runs the aio
 * callback on its own threads: send done -> start the receive with what is
 * left of the deadline -> receive done -> publish the record on the done list
 * (under the mutex) and uv_async_send. uv_async_send coalesces, so the async
 * callback drains the whole list, one record at a time (a user callback may
 * close the client, and the rest must still be found).
 *
 * A slot's "posted" flag and phase are shared with nng's threads and guarded
 * by the mutex; everything else belongs to the loop thread, or to nng's
 * thread while nng holds the slot's operation.
 *
 * nng 1.5.2 can hang for good in nng_close when an operation is aborted
 * (nng_aio_cancel/stop, or a socket close) while a pipe is busy with it, and
 * when a context is left with a request out and no receive (both seen in
 * tight loops here; see rpc_internal.h). So this file never aborts an
 * operation: a sent request is always followed by its receive, which ends by
 * the reply, the deadline or the pipe closing; cancel only drops the
 * callback; close completes every pending call at once (RPC_SHUTDOWN through
 * a stand-in record) but releases nng only when no operation is left, i.e.
 * after the last in-flight deadline at worst. nng's own deadline expiry is
 * an abort too and cannot be avoided; it has not hung in the tests.
 */
#include "common/net/rpc_internal.h"
#include "common/base/clock.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/util/platform.h>

typedef struct rpc_slot rpc_slot_t;
typedef struct rpc_pending rpc_pending_t;

enum { WHERE_QUEUE = 1, WHERE_OUTBOX, WHERE_SLOT, WHERE_DONE };
enum { SLOT_SEND = 1, SLOT_RECV };
enum { CLIENT_OPEN = 1, CLIENT_CLOSING, CLIENT_HANDLES_CLOSING };

struct rpc_pending {
    uint64_t id;
    rpc_done_cb cb; /* NULL once cancelled */
    void *arg;
    nng_msg *req;   /* owned here until handed to nng */
    nng_time deadline;
    int timeout_ms;
    uint64_t start_us;
    int where;
    rpc_slot_t *slot;
    int member;     /* index on the slot */
    size_t len;     /* request bytes */
    /* The outcome, written by whoever completes the call before it is
     * published on the done list. */
    rpc_status_t status;
    int nng_rv;
    nng_msg *reply;
    char detail[200];
    rpc_pending_t *live_prev, *live_next; /* loop thread only */
    rpc_pending_t *qnext;                 /* queue (loop) or done list (mutex) */
};

struct rpc_slot {
    rpc_client_t *c;
    nng_ctx ctx;
    nng_aio *aio;
    bool ctx_open;
    /* The calls on this context: one, or a batch. An entry goes NULL when
     * its call is delivered; the context is free again after the last. */
    rpc_pending_t *calls[RPC_BATCH_MAX];
    int ncalls, nleft;
    nng_time deadline; /* the earliest of the calls' */
    int phase;
    bool posted; /* under c->mtx */
    rpc_slot_t *next_free;
};

struct rpc_client {
    uv_loop_t *loop;
    uv_async_t async;
    uv_timer_t timer; /* earliest deadline among queued calls */
    int handles_open;
    nng_socket sock;
    bool sock_open;
    rpc_slot_t *slots;
    int nslots;
    rpc_slot_t *free_slots;
    int nfree;
    int nbusy; /* slots whose call is not yet delivered */
    size_t max_msg;
    int queue_max;
    rpc_pending_t *q_head, *q_tail;
    int q_len;
    /* Calls started in this loop turn, sent together by the check handle. */
    uv_check_t flush;
    uv_idle_t nowait; /* active with calls in the outbox: the loop's poll must
                         not block before the check handle sends them */
    rpc_pending_t *out_head, *out_tail;
    int batch_max;
    uint64_t timer_due; /* ms (uv_now) the timer is set for; 0: stopped */
    nng_mtx *mtx;
    rpc_pending_t *done_head, *done_tail; /* under mtx */
    rpc_pending_t *live;
    uint32_t npending;
    uint64_t next_id;
    int state;
    bool draining;
    rpc_client_closed_cb closed_cb;
    void *closed_arg;
    rpc_client_stats_t stats;
    atomic_int pipes; /* connected pipes (nng's threads update it) */
};

static void drain(rpc_client_t *c);
static void maybe_finish_close(rpc_client_t *c);

/* ------------------------------------------------------------ done list */

/* Publishes a finished call for the loop; any thread, mutex NOT held. */
static void publish(rpc_client_t *c, rpc_pending_t *p)
{
    nng_mtx_lock(c->mtx);
    p->qnext = NULL;
    if (c->done_tail != NULL)
        c->done_tail->qnext = p;
    else
        c->done_head = p;
    c->done_tail = p;
    nng_mtx_unlock(c->mtx);
    uv_async_send(&c->async);
}

/* Completes a call that never reached nng (loop thread). */
static void fail_local(rpc_client_t *c, rpc_pending_t *p, rpc_status_t st, const char *fmt, ...) ERR_PRINTF(4, 5);
static void fail_local(rpc_client_t *c, rpc_pending_t *p, rpc_status_t st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->detail, sizeof p->detail, fmt, ap);
    va_end(ap);
    p->status = st;
    p->where = WHERE_DONE;
    publish(c, p);
}

/* ------------------------------------------------------------ nng side */

/* Called from the aio callback: records the outcome of the slot's call and
 * publishes it. rv is nng's result; msg the reply (or NULL). */
static void slot_post(rpc_slot_t *sl, int rv, nng_msg *msg)
{
    rpc_client_t *c = sl->c;
    int n = sl->ncalls;
    rpc_pending_t *calls[RPC_BATCH_MAX];
    /* Copied first: a call published below may be delivered (and its entry
     * cleared) by the loop while the others are still being published. */
    memcpy(calls, sl->calls, (size_t)n * sizeof calls[0]);
    rpc_batch_part_t parts[RPC_BATCH_MAX];
    size_t np = 0;
    int framed = -1;
    if (n > 1 && rv == 0)
        framed = rpc_batch_parse(nng_msg_body(msg), nng_msg_len(msg), parts, &np);
    nng_mtx_lock(c->mtx);
    for (int i = 0; i < n; i++) {
        rpc_pending_t *p = calls[i];
        p->status = rpc_status_from_nng(rv);
        p->nng_rv = rv;
        if (n == 1) {
            p->reply = msg;
        } else if (rv != 0) {
            /* every call shares the context's fate */
        } else if (framed != 0 || np != (size_t)n) {
            p->status = RPC_ERROR;
            snprintf(p->detail, sizeof p->detail, "malformed batch reply (%zu bytes for %d calls)",
                     nng_msg_len(msg), n);
        } else if (parts[i].data == NULL) {
            p->status = RPC_ERROR;
            snprintf(p->detail, sizeof p->detail, "the server sent no reply for this call (see its log)");
        } else if (nng_msg_alloc(&p->reply, parts[i].len) != 0) {
            p->status = RPC_ERROR;
            snprintf(p->detail, sizeof p->detail, "out of memory for a reply of %zu bytes", parts[i].len);
        } else if (parts[i].len > 0) {
            memcpy(nng_msg_body(p->reply), parts[i].data, parts[i].len);
        }
    }
    sl->posted = true; /* p->where stays WHERE_SLOT: only the loop writes it */
    nng_mtx_unlock(c->mtx);
    if (n > 1 && msg != NULL)
        nng_msg_free(msg);
    for (int i = 0; i < n; i++)
        publish(c, calls[i]);
}

static void slot_cb(void *arg)
{
    rpc_slot_t *sl = arg;
    rpc_client_t *c = sl->c;
    int rv = nng_aio_result(sl->aio);
    if (sl->phase == SLOT_SEND) {
        if (rv != 0) {
            /* A failed send leaves the message with us. */
            nng_msg *m = nng_aio_get_msg(sl->aio);
            nng_aio_set_msg(sl->aio, NULL);
            if (m != NULL)
                nng_msg_free(m);
            slot_post(sl, rv, NULL);
            return;
        }
        nng_aio_set_msg(sl->aio, NULL);
        /* Always follow a sent request with its receive, even when the call
         * was cancelled, is shutting down or is out of time: a context left
         * with a request out and no receive wedged nng 1.5.2's teardown in
         * tests. The receive ends by the reply, the deadline (at least 1 ms
         * from now) or the pipe closing. */
        nng_time now = nng_clock();
        nng_duration left = now < sl->deadline ? (nng_duration)(sl->deadline - now) : 1;
        nng_mtx_lock(c->mtx);
        sl->phase = SLOT_RECV;
        nng_aio_set_timeout(sl->aio, left);
        nng_ctx_recv(sl->ctx, sl->aio);
        nng_mtx_unlock(c->mtx);
        return;
    }
    nng_msg *m = NULL;
    if (rv == 0) {
        m = nng_aio_get_msg(sl->aio);
        nng_aio_set_msg(sl->aio, NULL);
    }
    slot_post(sl, rv, m);
}

/* ------------------------------------------------------------ loop side */

static void live_remove(rpc_client_t *c, rpc_pending_t *p)
{
    if (p->live_prev != NULL)
        p->live_prev->live_next = p->live_next;
    else
        c->live = p->live_next;
    if (p->live_next != NULL)
        p->live_next->live_prev = p->live_prev;
    p->live_prev = p->live_next = NULL;
    if (--c->npending == 0 && c->state == CLIENT_OPEN)
        uv_unref((uv_handle_t *)&c->async);
}

static void pending_free(rpc_pending_t *p)
{
    if (p->req != NULL)
        nng_msg_free(p->req);
    if (p->reply != NULL)
        nng_msg_free(p->reply);
    free(p);
}

/* Puts n calls (one, or a batch linked by qnext) on a free context and
 * sends them as one message. */
static void start_calls(rpc_client_t *c, rpc_slot_t *sl, rpc_pending_t *first, int n)
{
    c->nbusy++;
    sl->ncalls = sl->nleft = n;
    sl->deadline = (nng_time)-1;
    rpc_pending_t *p = first;
    for (int i = 0; i < n; i++, p = p->qnext) {
        sl->calls[i] = p;
        p->slot = sl;
        p->member = i;
        p->where = WHERE_SLOT;
        if (p->deadline < sl->deadline)
            sl->deadline = p->deadline;
    }
    nng_time now = nng_clock();
    nng_mtx_lock(c->mtx);
    sl->posted = false;
    nng_mtx_unlock(c->mtx);
    nng_msg *msg = NULL;
    if (n == 1) {
        msg = first->req;
        first->req = NULL;
    } else if (now < sl->deadline) {
        rpc_batch_part_t parts[RPC_BATCH_MAX];
        for (int i = 0; i < n; i++) {
            parts[i].data = nng_msg_body(sl->calls[i]->req);
            parts[i].len = nng_msg_len(sl->calls[i]->req);
        }
        if (nng_msg_alloc(&msg, rpc_batch_size(parts, (size_t)n)) == 0)
            rpc_batch_write(nng_msg_body(msg), parts, (size_t)n);
        else
            msg = NULL;
        for (int i = 0; i < n; i++) {
            nng_msg_free(sl->calls[i]->req);
            sl->calls[i]->req = NULL;
        }
    }
    if (now >= sl->deadline || msg == NULL) {
        /* Used up its budget in the queue (or no memory for the frame). */
        nng_mtx_lock(c->mtx);
        sl->posted = true;
        nng_mtx_unlock(c->mtx);
        for (int i = 0; i < n; i++) {
            if (msg == NULL && now < sl->deadline)
                fail_local(c, sl->calls[i], RPC_ERROR, "out of memory for a batch of %d calls", n);
            else
                fail_local(c, sl->calls[i], RPC_TIMEOUT, "no free context within %d ms", sl->calls[i]->timeout_ms);
        }
        if (msg != NULL)
            nng_msg_free(msg);
        return;
    }
    nng_mtx_lock(c->mtx);
    sl->phase = SLOT_SEND;
    nng_mtx_unlock(c->mtx);
    nng_aio_set_msg(sl->aio, msg);
    nng_aio_set_timeout(sl->aio, (nng_duration)(sl->deadline - now));
    nng_ctx_send(sl->ctx, sl->aio);
}

static void start_on_slot(rpc_client_t *c, rpc_slot_t *sl, rpc_pending_t *p)
{
    p->qnext = NULL;
    start_calls(c, sl, p, 1);
}

static rpc_slot_t *take_slot(rpc_client_t *c)
{
    rpc_slot_t *sl = c->free_slots;
    if (sl != NULL) {
        c->free_slots = sl->next_free;
        c->nfree--;
    }
    return sl;
}

static void queue_remove(rpc_client_t *c, rpc_pending_t *p)
{
    rpc_pending_t **pp = &c->q_head, *prev = NULL;
    while (*pp != NULL && *pp != p) {
        prev = *pp;
        pp = &(*pp)->qnext;
    }
    if (*pp == NULL)
        return;
    *pp = p->qnext;
    if (c->q_tail == p)
        c->q_tail = prev;
    p->qnext = NULL;
    c->q_len--;
}

static void timer_cb(uv_timer_t *t);

/* Sets the timer to the earliest deadline among queued calls. */
static void arm_timer(rpc_client_t *c)
{
    if (c->q_head == NULL || c->state != CLIENT_OPEN) {
        uv_timer_stop(&c->timer);
        c->timer_due = 0;
        return;
    }
    nng_time now = nng_clock(), first = (nng_time)-1;
    for (rpc_pending_t *p = c->q_head; p != NULL; p = p->qnext)
        if (p->deadline < first)
            first = p->deadline;
    uint64_t delay = first > now ? first - now : 0;
    c->timer_due = first;
    uv_timer_start(&c->timer, timer_cb, delay, 0);
}

static void timer_cb(uv_timer_t *t)
{
    rpc_client_t *c = t->data;
    nng_time now = nng_clock();
    rpc_pending_t *p = c->q_head;
    c->timer_due = 0;
    while (p != NULL) {
        rpc_pending_t *next = p->qnext;
        if (p->deadline <= now) {
            queue_remove(c, p);
            fail_local(c, p, RPC_TIMEOUT, "no free context within %d ms (all %d busy)", p->timeout_ms, c->nslots);
        }
        p = next;
    }
    arm_timer(c);
}

/* Gives free contexts to queued calls, oldest first. */
static void pump_queue(rpc_client_t *c)
{
    bool took = false;
    while (c->q_head != NULL && c->free_slots != NULL && c->state == CLIENT_OPEN) {
        rpc_pending_t *p = c->q_head;
        queue_remove(c, p);
        start_on_slot(c, take_slot(c), p);
        took = true;
    }
    if (took)
        arm_timer(c);
}

static void count(rpc_client_t *c, rpc_status_t st)
{
    switch (st) {
    case RPC_OK: c->stats.ok++; break;
    case RPC_TIMEOUT: c->stats.timeouts++; break;
    case RPC_CLOSED: c->stats.closed++; break;
    case RPC_TOO_LARGE: c->stats.too_large++; break;
    case RPC_OVERLOADED: c->stats.overloaded++; break;
    case RPC_SHUTDOWN: c->stats.shutdown++; break;
    case RPC_ERROR: c->stats.errors++; break;
    }
}

static void deliver(rpc_client_t *c, rpc_pending_t *p)
{
    rpc_slot_t *sl = p->slot;
    if (sl != NULL) {
        sl->calls[p->member] = NULL;
        p->slot = NULL;
    }
    if (sl != NULL && --sl->nleft == 0) {
        c->nbusy--;
        sl->ncalls = 0;
        if (c->state == CLIENT_OPEN) {
            sl->next_free = c->free_slots;
            c->free_slots = sl;
            c->nfree++;
            /* Queued calls get the context before the callback can issue
             * new ones, so the queue stays first come, first served. */
            pump_queue(c);
        }
    }
    live_remove(c, p);
    if (p->cb != NULL) {
        if (p->detail[0] == '\0') {
            switch (p->status) {
            case RPC_OK: snprintf(p->detail, sizeof p->detail, "ok"); break;
            case RPC_TIMEOUT:
                snprintf(p->detail, sizeof p->detail, "no reply within %d ms", p->timeout_ms);
                break;
            default:
                snprintf(p->detail, sizeof p->detail, "%s: %s", rpc_status_str(p->status), nng_strerror(p->nng_rv));
                break;
            }
        }
        count(c, p->status);
        rpc_result_t res = {
            .status = p->status,
            .reply = p->reply != NULL ? nng_msg_body(p->reply) : NULL,
            .len = p->reply != NULL ? nng_msg_len(p->reply) : 0,
            .detail = p->detail,
            .elapsed_us = clock_mono_us() - p->start_us,
        };
        if (p->status != RPC_OK) {
            res.reply = NULL;
            res.len = 0;
        }
        p->cb(&res, p->arg);
    }
    pending_free(p);
}

static void drain(rpc_client_t *c)
{
    if (c->draining)
        return; /* the outer drain further up the stack finishes the job */
    c->draining = true;
    for (;;) {
        nng_mtx_lock(c->mtx);
        rpc_pending_t *p = c->done_head;
        if (p != NULL) {
            c->done_head = p->qnext;
            if (c->done_head == NULL)
                c->done_tail = NULL;
        }
        nng_mtx_unlock(c->mtx);
        if (p == NULL)
            break;
        deliver(c, p);
    }
    c->draining = false;
    maybe_finish_close(c);
}

static void async_cb(uv_async_t *a)
{
    drain(a->data);
}

static void nowait_cb(uv_idle_t *h)
{
    (void)h;
}

static void outbox_remove(rpc_client_t *c, rpc_pending_t *p)
{
    rpc_pending_t **pp = &c->out_head, *prev = NULL;
    while (*pp != NULL && *pp != p) {
        prev = *pp;
        pp = &(*pp)->qnext;
    }
    if (*pp == NULL)
        return;
    *pp = p->qnext;
    if (c->out_tail == p)
        c->out_tail = prev;
    p->qnext = NULL;
}

/* End of a loop turn: the calls started during it go out, up to batch_max
 * per message (and within the size limit); calls that find no free context
 * wait in the queue like any other. */
static void flush_cb(uv_check_t *h)
{
    rpc_client_t *c = h->data;
    uv_check_stop(h);
    uv_idle_stop(&c->nowait);
    bool queued = false;
    /* At least two messages when there are two calls or more, so that a
     * worker can serve them on two threads at once. */
    int total = 0;
    for (rpc_pending_t *p = c->out_head; p != NULL; p = p->qnext)
        total++;
    int per = total >= 2 ? (total + 1) / 2 : 1;
    if (per > c->batch_max)
        per = c->batch_max;
    while (c->out_head != NULL && c->state == CLIENT_OPEN) {
        rpc_slot_t *sl = take_slot(c);
        if (sl == NULL) {
            /* Into the queue, in order. */
            while (c->out_head != NULL) {
                rpc_pending_t *p = c->out_head;
                outbox_remove(c, p);
                if (c->q_len >= c->queue_max) {
                    fail_local(c, p, RPC_OVERLOADED,
                               "all %d contexts busy and %d calls queued (rpc-contexts, rpc-queue-max)", c->nslots,
                               c->q_len);
                    continue;
                }
                p->where = WHERE_QUEUE;
                if (c->q_tail != NULL)
                    c->q_tail->qnext = p;
                else
                    c->q_head = p;
                c->q_tail = p;
                c->q_len++;
                queued = true;
            }
            break;
        }
        /* Take a run of calls: at most batch_max, the frame within max_msg. */
        rpc_pending_t *first = c->out_head, *last = first;
        int n = 1;
        size_t bytes = 8 + 4 + first->len;
        while (n < per && last->qnext != NULL && bytes + 4 + last->qnext->len <= c->max_msg) {
            last = last->qnext;
            bytes += 4 + last->len;
            n++;
        }
        c->out_head = last->qnext;
        if (c->out_head == NULL)
            c->out_tail = NULL;
        last->qnext = NULL;
        start_calls(c, sl, first, n);
    }
    if (queued)
        arm_timer(c);
}

/* ------------------------------------------------------------ public */

uint64_t rpc_client_call(rpc_client_t *c, const void *req, size_t len, int timeout_ms, rpc_done_cb cb, void *arg)
{
    if (c == NULL || cb == NULL || c->state == CLIENT_HANDLES_CLOSING)
        return 0;
    rpc_pending_t *p = calloc(1, sizeof *p);
    if (p == NULL)
        return 0;
    p->id = ++c->next_id;
    p->cb = cb;
    p->arg = arg;
    p->timeout_ms = timeout_ms;
    p->start_us = clock_mono_us();
    p->deadline = nng_clock() + (nng_time)(timeout_ms > 0 ? timeout_ms : 0);
    p->live_next = c->live;
    if (c->live != NULL)
        c->live->live_prev = p;
    c->live = p;
    if (c->npending++ == 0)
        uv_ref((uv_handle_t *)&c->async);
    c->stats.calls++;

    if (c->state != CLIENT_OPEN) {
        fail_local(c, p, RPC_SHUTDOWN, "client is closing");
    } else if (len > c->max_msg) {
        fail_local(c, p, RPC_TOO_LARGE, "request of %zu bytes exceeds the limit of %zu bytes (rpc-max-msg-bytes)",
                   len, c->max_msg);
    } else if (timeout_ms <= 0) {
        fail_local(c, p, RPC_TIMEOUT, "no time left (timeout %d ms)", timeout_ms);
    } else if (nng_msg_alloc(&p->req, len) != 0) {
        fail_local(c, p, RPC_ERROR, "out of memory for a request of %zu bytes", len);
    } else {
        if (len > 0)
            memcpy(nng_msg_body(p->req), req, len);
        p->len = len;
        rpc_slot_t *sl = NULL;
        if (c->batch_max > 1 && c->free_slots != NULL) {
            /* Sent at the end of this loop turn, with the calls started
             * after it (flush_cb). */
            p->where = WHERE_OUTBOX;
            p->qnext = NULL;
            if (c->out_tail != NULL)
                c->out_tail->qnext = p;
            else
                c->out_head = p;
            c->out_tail = p;
            uv_check_start(&c->flush, flush_cb);
            uv_idle_start(&c->nowait, nowait_cb);
        } else if ((sl = take_slot(c)) != NULL) {
            start_on_slot(c, sl, p);
        } else if (c->q_len < c->queue_max) {
            p->where = WHERE_QUEUE;
            if (c->q_tail != NULL)
                c->q_tail->qnext = p;
            else
                c->q_head = p;
            c->q_tail = p;
            c->q_len++;
            if (c->timer_due == 0 || p->deadline < c->timer_due)
                arm_timer(c);
        } else {
            fail_local(c, p, RPC_OVERLOADED, "all %d contexts busy and %d calls queued (rpc-contexts, rpc-queue-max)",
                       c->nslots, c->q_len);
        }
    }
    return p->id;
}

int rpc_client_cancel(rpc_client_t *c, uint64_t id)
{
    rpc_pending_t *p = c->live;
    while (p != NULL && p->id != id)
        p = p->live_next;
    if (p == NULL || p->cb == NULL)
        return -1;
    p->cb = NULL;
    c->stats.cancelled++;
    if (p->where == WHERE_QUEUE) {
        queue_remove(c, p);
        live_remove(c, p);
        pending_free(p);
        arm_timer(c);
    } else if (p->where == WHERE_OUTBOX) {
        outbox_remove(c, p);
        live_remove(c, p);
        pending_free(p);
    }
    /* WHERE_SLOT: the call keeps its context until the reply or the deadline
     * (aborting it could wedge nng 1.5.2, see the top of this file). */
    /* WHERE_DONE: already published; deliver() skips the callback. */
    return 0;
}

void rpc_client_stats(const rpc_client_t *c, rpc_client_stats_t *out)
{
    *out = c->stats;
    out->in_flight = (uint32_t)(c->nslots - c->nfree);
    out->queued = (uint32_t)c->q_len;
}

int rpc_client_connections(rpc_client_t *c)
{
    return atomic_load(&c->pipes);
}

static void release_nng(rpc_client_t *c)
{
    /* The notes' order: stop every aio, then close contexts and free aios,
     * then close the socket. */
    for (int i = 0; i < c->nslots; i++)
        if (c->slots[i].aio != NULL)
            nng_aio_stop(c->slots[i].aio);
    for (int i = 0; i < c->nslots; i++) {
        rpc_slot_t *sl = &c->slots[i];
        if (sl->ctx_open)
            nng_ctx_close(sl->ctx);
        sl->ctx_open = false;
        if (sl->aio != NULL) {
            nng_msg *m = nng_aio_get_msg(sl->aio);
            if (m != NULL)
                nng_msg_free(m);
            nng_aio_free(sl->aio);
            sl->aio = NULL;
        }
    }
    if (c->sock_open)
        nng_close(c->sock);
    c->sock_open = false;
}

static void free_client(rpc_client_t *c)
{
    free(c->slots);
    if (c->mtx != NULL)
        nng_mtx_free(c->mtx);
    free(c);
}

static void handle_closed(uv_handle_t *h)
{
    rpc_client_t *c = h->data;
    if (--c->handles_open > 0)
        return;
    rpc_client_closed_cb cb = c->closed_cb;
    void *arg = c->closed_arg;
    free_client(c);
    if (cb != NULL)
        cb(arg);
}

static void maybe_finish_close(rpc_client_t *c)
{
    if (c->state != CLIENT_CLOSING || c->draining || c->nbusy > 0)
        return;
    nng_mtx_lock(c->mtx);
    bool empty = c->done_head == NULL;
    nng_mtx_unlock(c->mtx);
    if (!empty)
        return;
    /* No nng operation is pending: the teardown cannot race a reply. */
    release_nng(c);
    c->state = CLIENT_HANDLES_CLOSING;
    uv_close((uv_handle_t *)&c->async, handle_closed);
    uv_close((uv_handle_t *)&c->timer, handle_closed);
    uv_close((uv_handle_t *)&c->flush, handle_closed);
    uv_close((uv_handle_t *)&c->nowait, handle_closed);
}

void rpc_client_close(rpc_client_t *c, rpc_client_closed_cb done, void *arg)
{
    if (c == NULL || c->state != CLIENT_OPEN)
        return;
    c->state = CLIENT_CLOSING;
    c->closed_cb = done;
    c->closed_arg = arg;
    uv_ref((uv_handle_t *)&c->async);
    uv_timer_stop(&c->timer);
    while (c->q_head != NULL) {
        rpc_pending_t *p = c->q_head;
        queue_remove(c, p);
        fail_local(c, p, RPC_SHUTDOWN, "client closed before the call got a context");
    }
    while (c->out_head != NULL) {
        rpc_pending_t *p = c->out_head;
        outbox_remove(c, p);
        fail_local(c, p, RPC_SHUTDOWN, "client closed before the call was sent");
    }
    uv_check_stop(&c->flush);
    uv_idle_stop(&c->nowait);
    /* In-flight calls complete now, through a stand-in record; the nng
     * operation itself is left to end by itself (reply or deadline) with no
     * callback, and the socket is closed once none is left (see the top of
     * this file). Calls already completed keep their real result. */
    for (int i = 0; i < c->nslots * RPC_BATCH_MAX; i++) {
        rpc_slot_t *sl = &c->slots[i / RPC_BATCH_MAX];
        int m = i % RPC_BATCH_MAX;
        rpc_pending_t *p = m < sl->ncalls ? sl->calls[m] : NULL;
        if (p == NULL || p->cb == NULL)
            continue;
        nng_mtx_lock(c->mtx);
        bool posted = sl->posted;
        nng_mtx_unlock(c->mtx);
        rpc_pending_t *r = posted ? NULL : calloc(1, sizeof *r);
        if (r == NULL)
            continue; /* completed already, or no memory: delivered as is */
        r->id = p->id;
        r->cb = p->cb;
        r->arg = p->arg;
        r->timeout_ms = p->timeout_ms;
        r->start_us = p->start_us;
        r->live_next = c->live;
        if (c->live != NULL)
            c->live->live_prev = r;
        c->live = r;
        c->npending++;
        p->cb = NULL;
        fail_local(c, r, RPC_SHUTDOWN, "client closed with the call in flight");
    }
    drain(c);
}

int rpc_client_new(const rpc_client_opts_t *o, uv_loop_t *loop, rpc_client_t **out, err_t *err)
{
    *out = NULL;
    if (o->urls == NULL || o->urls[0] == '\0')
        return err_set(err, "rpc client: no URL given");
    if (o->contexts < 1 || o->queue_max < 0 || o->max_msg_bytes == 0)
        return err_set(err, "rpc client: bad options (contexts %d, queue %d, max message %zu bytes)", o->contexts,
                       o->queue_max, o->max_msg_bytes);
    rpc_client_t *c = calloc(1, sizeof *c);
    if (c == NULL)
        return err_set(err, "rpc client: out of memory");
    c->loop = loop;
    c->max_msg = o->max_msg_bytes;
    c->queue_max = o->queue_max;
    c->batch_max = o->batch_max < 1 ? 1 : o->batch_max > RPC_BATCH_MAX ? RPC_BATCH_MAX : o->batch_max;
    c->state = CLIENT_OPEN;
    c->nslots = o->contexts;
    int rv;
    if ((rv = nng_mtx_alloc(&c->mtx)) != 0) {
        err_set(err, "rpc client: %s", nng_strerror(rv));
        goto fail;
    }
    c->slots = calloc((size_t)c->nslots, sizeof *c->slots);
    if (c->slots == NULL) {
        err_set(err, "rpc client: out of memory");
        goto fail;
    }
    if ((rv = nng_req0_open(&c->sock)) != 0) {
        err_set(err, "rpc client: open req socket: %s", nng_strerror(rv));
        goto fail;
    }
    c->sock_open = true;
    int rmin = o->reconnect_min_ms > 0 ? o->reconnect_min_ms : 100;
    int rmax = o->reconnect_max_ms >= rmin ? o->reconnect_max_ms : rmin;
    if (rpc_req_socket_setup(c->sock, c->max_msg, rmin, rmax, err) != 0)
        goto fail;
    /* Contexts after the socket options: each copies the resend time. */
    for (int i = 0; i < c->nslots; i++) {
        rpc_slot_t *sl = &c->slots[i];
        sl->c = c;
        if ((rv = nng_aio_alloc(&sl->aio, slot_cb, sl)) != 0 || (rv = nng_ctx_open(&sl->ctx, c->sock)) != 0) {
            err_set(err, "rpc client: context %d: %s", i, nng_strerror(rv));
            goto fail;
        }
        sl->ctx_open = true;
        sl->next_free = c->free_slots;
        c->free_slots = sl;
        c->nfree++;
    }
    if (rpc_count_pipes(c->sock, &c->pipes, err) != 0 || rpc_dial_urls(c->sock, o->urls, NULL, 0, NULL, err) != 0)
        goto fail;
    uv_timer_init(loop, &c->timer);
    c->timer.data = c;
    uv_unref((uv_handle_t *)&c->timer);
    uv_check_init(loop, &c->flush);
    c->flush.data = c;
    uv_unref((uv_handle_t *)&c->flush);
    uv_idle_init(loop, &c->nowait);
    c->nowait.data = c;
    uv_unref((uv_handle_t *)&c->nowait);
    c->handles_open = 3;
    if ((rv = uv_async_init(loop, &c->async, async_cb)) != 0) {
        err_set(err, "rpc client: uv_async_init: %s", uv_strerror(rv));
        release_nng(c);
        /* The timer handle is already the loop's: free the client once it
         * is closed. */
        c->state = CLIENT_HANDLES_CLOSING;
        uv_close((uv_handle_t *)&c->timer, handle_closed);
        uv_close((uv_handle_t *)&c->flush, handle_closed);
        uv_close((uv_handle_t *)&c->nowait, handle_closed);
        return -1;
    }
    c->async.data = c;
    c->handles_open = 4;
    uv_unref((uv_handle_t *)&c->async);
    *out = c;
    return 0;
fail:
    release_nng(c);
    free_client(c);
    return -1;
}
