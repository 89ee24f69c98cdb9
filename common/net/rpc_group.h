/*
 * rpc_group.h: one logical worker reached at every address behind its URLs.
 *
 * A group takes the comma-separated URL list of a worker (content-url,
 * cf-url). A tcp:// (tcp4://, tcp6://) URL whose host is a name, not an
 * address, is resolved with uv_getaddrinfo (libuv's thread pool, never the
 * loop thread) at start and again every resolve_ms; each address found is
 * dialled as its own replica: one rpc_client_t per address, so behind a
 * Kubernetes headless Service (one A record per ready pod) a gateway talks
 * to every worker pod, not to the one pod a single connection would reach.
 * Other URLs (a numeric address, ipc://, inproc://) are one replica each, as
 * given.
 *
 * Changes: an address that appears is dialled at once; one that disappears
 * stops getting new calls and is closed when its calls in flight have
 * completed (none is cut off: a pod removed from the endpoints is still
 * serving while it drains). A name that does not exist (NXDOMAIN: e.g. no
 * pod ready) removes its replicas the same way; a look-up that fails for
 * another reason (DNS unreachable) keeps them. Each change is logged.
 *
 * Calls: each goes to the replica with an open connection and the fewest
 * calls in flight (ties in turn), so replicas share the load and a replica
 * whose pod is gone (no connection) gets none while another is connected.
 * The caller may put the replica that answered a call on hold (e.g. a
 * worker still loading its model): it then gets calls only when no other
 * connected replica is free of hold.
 * Within a replica the rpc client's contract holds (deadlines, batches,
 * queue): see rpc.h.
 *
 * resolve_ms 0 turns discovery off: the URLs are dialled as given, one
 * replica each, and nng resolves a name itself at each dial (one address).
 * Everything runs on the loop thread.
 */
#ifndef RECSYS_COMMON_RPC_GROUP_H
#define RECSYS_COMMON_RPC_GROUP_H

#include "common/net/rpc.h"

typedef struct rpc_group rpc_group_t;

typedef struct rpc_group_opts {
    rpc_client_opts_t client; /* client.urls: the comma-separated list */
    int resolve_ms;           /* re-resolution interval; 0: no discovery */
    const char *name;         /* for logs, e.g. "content" */
} rpc_group_opts_t;

/* Parses the URLs (a malformed one is an error naming it), dials the static
 * ones and starts resolving the names; the resolved addresses are dialled
 * when the look-ups complete. */
int rpc_group_new(const rpc_group_opts_t *o, uv_loop_t *loop, rpc_group_t **out, err_t *err);

/* As rpc_client_call on the chosen replica; returns 0 (cb never runs) when
 * no replica is known yet (names not resolved, or no address) or the group
 * is closing. */
uint64_t rpc_group_call(rpc_group_t *g, const void *req, size_t len, int timeout_ms, rpc_done_cb cb, void *arg);

/* As rpc_client_cancel. */
int rpc_group_cancel(rpc_group_t *g, uint64_t id);

/* Replicas with a connection open now. 0: a call would only wait for its
 * deadline. */
int rpc_group_connections(rpc_group_t *g);

/* Called from a call's callback: the replica that answered it gets no call
 * for ms while another connected replica is not on hold. */
void rpc_group_hold_current(rpc_group_t *g, int ms);

/* Replicas connected and not on hold now. */
int rpc_group_ready(rpc_group_t *g);

/* Replicas dialled now (draining ones not counted). */
int rpc_group_replicas(const rpc_group_t *g);

/* Closes every replica (pending calls complete with RPC_SHUTDOWN, see
 * rpc_client_close) and stops resolving; done (may be NULL) runs on the loop
 * once everything is released. */
void rpc_group_close(rpc_group_t *g, rpc_client_closed_cb done, void *arg);

#endif
