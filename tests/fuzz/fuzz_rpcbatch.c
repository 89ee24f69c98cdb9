/* fuzz_rpcbatch.c: the RPC batch frame codec (common/net/rpc_internal.h) on any
 * bytes: parsing never reads outside the input; an accepted frame's parts lie
 * inside it, back to back, and writing them again gives the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/net/rpc_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 20))
        return 0;
    uint8_t *buf = malloc(size ? size : 1); /* exact size: ASan sees overreads */
    memcpy(buf, data, size);
    rpc_batch_part_t parts[RPC_BATCH_MAX];
    size_t n = 0;
    int rc = rpc_batch_parse(buf, size, parts, &n);
    if (rc == 0) {
        if (n < 1 || n > RPC_BATCH_MAX)
            abort();
        for (size_t i = 0; i < n; i++)
            if (parts[i].data != NULL &&
                ((const uint8_t *)parts[i].data < buf || (const uint8_t *)parts[i].data + parts[i].len > buf + size))
                abort();
        size_t again = rpc_batch_size(parts, n);
        if (again != size)
            abort();
        uint8_t *out = malloc(again);
        rpc_batch_write(out, parts, n);
        if (memcmp(out, buf, size) != 0)
            abort();
        free(out);
    } else if (rc != 1 && rc != -1) {
        abort();
    }
    free(buf);
    return 0;
}
