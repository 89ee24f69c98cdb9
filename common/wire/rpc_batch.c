/*
 * rpc_batch.c: the batch frame codec (see rpc_batch.h).
 */
#include "common/wire/rpc_batch.h"

#include <stdint.h>
#include <string.h>

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static const uint8_t batch_magic[4] = {0xFF, 'R', 'B', '1'};

int rpc_batch_parse(const void *buf, size_t len, rpc_batch_part_t *parts, size_t *n)
{
    const uint8_t *b = buf;
    if (len < 4 || memcmp(b, batch_magic, 4) != 0)
        return 1;
    if (len < 8)
        return -1;
    uint32_t cnt = get_u32(b + 4);
    if (cnt < 1 || cnt > RPC_BATCH_MAX || len < 8 + 4 * (size_t)cnt)
        return -1;
    size_t off = 8 + 4 * (size_t)cnt;
    for (uint32_t i = 0; i < cnt; i++) {
        uint32_t l = get_u32(b + 8 + 4 * (size_t)i);
        parts[i].len = l;
        if (l == RPC_BATCH_NO_REPLY) {
            parts[i].data = NULL;
            continue;
        }
        if (l > len - off)
            return -1;
        parts[i].data = b + off;
        off += l;
    }
    if (off != len)
        return -1;
    *n = cnt;
    return 0;
}

size_t rpc_batch_size(const rpc_batch_part_t *parts, size_t n)
{
    size_t total = 8 + 4 * n;
    for (size_t i = 0; i < n; i++)
        if (parts[i].data != NULL)
            total += parts[i].len;
    return total;
}

void rpc_batch_write(void *dst, const rpc_batch_part_t *parts, size_t n)
{
    uint8_t *b = dst;
    memcpy(b, batch_magic, 4);
    put_u32(b + 4, (uint32_t)n);
    size_t off = 8 + 4 * n;
    for (size_t i = 0; i < n; i++) {
        put_u32(b + 8 + 4 * i, parts[i].data != NULL ? (uint32_t)parts[i].len : RPC_BATCH_NO_REPLY);
        if (parts[i].data != NULL && parts[i].len > 0) {
            memcpy(b + off, parts[i].data, parts[i].len);
            off += parts[i].len;
        }
    }
}
