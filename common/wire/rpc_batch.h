/*
 * rpc_batch.h: the batch frame that lets several RPC calls to one worker share
 * one nng message (common/net/rpc_client.c packs, rpc_server.c unpacks). Pure
 * bytes in, bytes out: no sockets, so the fuzzer and the unit tests reach it
 * alone.
 */
#ifndef RECSYS_WIRE_RPC_BATCH_H
#define RECSYS_WIRE_RPC_BATCH_H

#include <stddef.h>

/* Most calls in one batch message (rpc-batch-max's upper bound). */
#define RPC_BATCH_MAX 64

/* Batch frames (see common/net/rpc.h for how calls share them): magic "\xFFRB1", u32 count (1..RPC_BATCH_MAX),
 * count u32 lengths (RPC_BATCH_NO_REPLY: a call the server did not answer),
 * then the payloads back to back; integers little-endian. */
#define RPC_BATCH_NO_REPLY 0xFFFFFFFFu
typedef struct rpc_batch_part {
    const void *data; /* NULL: no reply */
    size_t len;
} rpc_batch_part_t;
/* Splits a frame into parts (room for RPC_BATCH_MAX): 0, or 1 when buf is
 * not a batch (no magic), or -1 when it is a broken one. */
int rpc_batch_parse(const void *buf, size_t len, rpc_batch_part_t *parts, size_t *n);
/* Bytes of the frame of parts, and the frame itself into dst. */
size_t rpc_batch_size(const rpc_batch_part_t *parts, size_t n);
void rpc_batch_write(void *dst, const rpc_batch_part_t *parts, size_t n);


#endif
