/*
 * rpc_internal.h: helpers shared by the rpc_*.c files (not for other modules).
 */
#ifndef RECSYS_COMMON_RPC_INTERNAL_H
#define RECSYS_COMMON_RPC_INTERNAL_H

#include <stdatomic.h>

#include <nng/nng.h>

#include "common/net/rpc.h"
#include "common/wire/rpc_batch.h"

/* Maps an nng error to a call status. */
rpc_status_t rpc_status_from_nng(int rv);

#define RPC_MAX_URLS 32

/* The next URL of a comma-separated list being cut up in place (strtok_r
 * style: s is the list on the first call, NULL after), without the blanks
 * around it; empty entries are skipped. NULL at the end. */
char *rpc_url_next(char *s, char **save);

/* Dials each comma-separated URL of urls on s without blocking (so the
 * socket works before the servers exist), keeping up to max dialers in
 * dialers (*n of them); dialers may be NULL. No URL at all is an error. */
int rpc_dial_urls(nng_socket s, const char *urls, nng_dialer *dialers, int max, int *n, err_t *err);

/* Keeps *count equal to the number of connected pipes of s (nng_pipe_notify),
 * so shutdown can wait until none is left; call before dialling/listening. */
int rpc_count_pipes(nng_socket s, atomic_int *count, err_t *err);

/* Waits until *count is 0, at most max_ms; returns 0, or -1 on time-out.
 *
 * Why: in nng 1.5.2, stopping or cancelling a context's pending receive (or
 * closing its socket) while its reply is arriving can wedge nng's reaper, and
 * nng_close then never returns (measured: within a few hundred tries of a
 * tight loop; nanomsg/nng#1543 and #1813 describe the same hang). Closing the
 * dialers/listener first and waiting until no pipe is left means no message
 * can arrive during the teardown. */
int rpc_wait_no_pipes(atomic_int *count, int max_ms);

/* nng_close(s) on a thread of its own, waited for at most max_ms: 0 when it
 * returned, -1 when it had not (it goes on in the background; the process
 * exit takes the socket). Why: even with no pipe left, nng 1.5.2's close has
 * been seen to never return on a server whose contexts were flooded while
 * the process was stopped (SIGSTOP, then SIGCONT and SIGTERM: the reaper
 * hang above), and a worker must still exit on SIGTERM. Call it only when
 * no aio of ours is left on the socket (nothing can call back into freed
 * memory). */
int rpc_close_bounded(nng_socket s, int max_ms);

/* Turns resend off and sets receive limit and reconnect intervals on a req0
 * socket; must run before any context is opened (contexts copy the resend
 * time when they are created). */
int rpc_req_socket_setup(nng_socket s, size_t max_msg_bytes, int reconnect_min_ms, int reconnect_max_ms,
                         err_t *err);

#endif
