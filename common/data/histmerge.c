/*
 * histmerge.c: the events of a history that count (the rule is in
 * histmerge.h). Events are sorted by (item, position) so each item's
 * events are a run in the order they happened, then folded.
 */
#include "common/data/histmerge.h"

#include <stdlib.h>
#include <string.h>

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

size_t histmerge_pick(const uint32_t *items, const bool *explicit_, size_t n, histmerge_stored_fn stored,
                      const void *ctx, uint64_t *scratch, uint8_t *keep)
{
    if (n == 0)
        return 0;
    memset(keep, 0, n);
    for (size_t i = 0; i < n; i++)
        scratch[i] = (uint64_t)items[i] << 32 | (uint64_t)i;
    qsort(scratch, n, sizeof *scratch, cmp_u64);
    size_t kept = 0;
    for (size_t a = 0; a < n;) {
        uint32_t item = (uint32_t)(scratch[a] >> 32);
        /* the winner so far: the stored rating (explicit), or none */
        bool have = stored != NULL && stored(ctx, item);
        bool win_explicit = have;
        size_t win = SIZE_MAX;
        for (; a < n && (uint32_t)(scratch[a] >> 32) == item; a++) {
            size_t pos = (uint32_t)scratch[a];
            if (!have || histmerge_replaces(win_explicit, explicit_[pos])) {
                have = true;
                win = pos;
                win_explicit = explicit_[pos];
            }
        }
        if (win != SIZE_MAX) {
            keep[win] = 1;
            kept++;
        }
    }
    return kept;
}
