/*
 * rpc_sync.c: one blocking RPC call for tools and tests (no libuv).
 *
 * A throw-away req0 socket per call, set up like the client's (resend off,
 * receive limit, non-blocking dial), and one aio waited on twice: the send
 * and the receive share a single deadline.
 */
#include "common/net/rpc_internal.h"

#include <stdlib.h>
#include <string.h>

#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/util/platform.h>

static int wait_op(nng_socket s, nng_aio *aio, bool send, nng_time deadline, int timeout_ms, const char *urls,
                   err_t *err)
{
    nng_time now = nng_clock();
    if (now >= deadline)
        return err_set(err, "rpc %s: timeout: no reply within %d ms", urls, timeout_ms);
    nng_aio_set_timeout(aio, (nng_duration)(deadline - now));
    if (send)
        nng_send_aio(s, aio);
    else
        nng_recv_aio(s, aio);
    nng_aio_wait(aio);
    int rv = nng_aio_result(aio);
    if (rv == 0)
        return 0;
    rpc_status_t st = rpc_status_from_nng(rv);
    if (st == RPC_TIMEOUT)
        return err_set(err, "rpc %s: timeout: no reply within %d ms", urls, timeout_ms);
    return err_set(err, "rpc %s: %s: %s", urls, rpc_status_str(st), nng_strerror(rv));
}

int rpc_call_sync(const char *urls, const void *req, size_t len, int timeout_ms, void **reply, size_t *reply_len,
                  err_t *err)
{
    *reply = NULL;
    *reply_len = 0;
    if (len > RPC_DEFAULT_MAX_MSG_BYTES)
        return err_set(err, "rpc %s: message too large: request of %zu bytes exceeds the limit of %u bytes", urls,
                       len, RPC_DEFAULT_MAX_MSG_BYTES);
    if (timeout_ms <= 0)
        return err_set(err, "rpc %s: timeout must be positive (got %d ms)", urls, timeout_ms);
    nng_time deadline = nng_clock() + (nng_time)timeout_ms;
    nng_socket s;
    nng_aio *aio = NULL;
    nng_msg *m = NULL;
    int rv, rc = -1;
    if ((rv = nng_req0_open(&s)) != 0)
        return err_set(err, "rpc: open req socket: %s", nng_strerror(rv));
    if (rpc_req_socket_setup(s, RPC_DEFAULT_MAX_MSG_BYTES, 50, 500, err) != 0 || rpc_dial_urls(s, urls, NULL, 0, NULL, err) != 0)
        goto out;
    if ((rv = nng_aio_alloc(&aio, NULL, NULL)) != 0 || (rv = nng_msg_alloc(&m, len)) != 0) {
        err_set(err, "rpc: %s", nng_strerror(rv));
        goto out;
    }
    if (len > 0)
        memcpy(nng_msg_body(m), req, len);
    nng_aio_set_msg(aio, m);
    if (wait_op(s, aio, true, deadline, timeout_ms, urls, err) != 0) {
        m = nng_aio_get_msg(aio); /* a failed send leaves the message with us */
        nng_aio_set_msg(aio, NULL);
        goto out;
    }
    nng_aio_set_msg(aio, NULL);
    m = NULL;
    if (wait_op(s, aio, false, deadline, timeout_ms, urls, err) != 0)
        goto out;
    m = nng_aio_get_msg(aio);
    nng_aio_set_msg(aio, NULL);
    size_t n = nng_msg_len(m);
    *reply = malloc(n > 0 ? n : 1);
    if (*reply == NULL) {
        err_set(err, "rpc: out of memory for a reply of %zu bytes", n);
        goto out;
    }
    memcpy(*reply, nng_msg_body(m), n);
    *reply_len = n;
    rc = 0;
out:
    if (m != NULL)
        nng_msg_free(m);
    if (aio != NULL)
        nng_aio_free(aio);
    nng_close(s);
    return rc;
}
