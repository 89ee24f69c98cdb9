/*
 * rpc_internal.h: helpers shared by the rpc_*.c files (not for other modules).
 */
#ifndef RECSYS_COMMON_RPC_INTERNAL_H
#define RECSYS_COMMON_RPC_INTERNAL_H

#include <nng/nng.h>

#include "common/rpc.h"

/* Maps an nng error to a call status. */
rpc_status_t rpc_status_from_nng(int rv);

/* Dials each comma-separated URL of urls on s without blocking (so the
 * socket works before the servers exist). Empty items are an error. */
int rpc_dial_urls(nng_socket s, const char *urls, err_t *err);

/* Turns resend off and sets receive limit and reconnect intervals on a req0
 * socket; must run before any context is opened (contexts copy the resend
 * time when they are created). */
int rpc_req_socket_setup(nng_socket s, size_t max_msg_bytes, int reconnect_min_ms, int reconnect_max_ms,
                         err_t *err);

/* Monotonic microseconds. */
uint64_t rpc_now_us(void);

#endif
