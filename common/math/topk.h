/*
 * topk.h: partial top-k selection with the evaluation protocol's order.
 *
 * Order: score descending, ties to the LOWER index; NaN ranks below every
 * number (-inf included), NaNs among themselves by index; -0.0 ties with
 * +0.0. The order is total and deterministic, so any two runs (or a dense
 * scan and a merge of shard results) give the same list.
 *
 * Selection keeps a bounded min-heap of the best k seen so far and rejects an
 * item with one integer compare against the heap's worst, so selecting 10 of
 * 60k costs about one pass over the scores; exclusions and filters are only
 * consulted for items good enough to enter the heap, and topk_dense first
 * screens blocks of scores with a vectorised compare. No allocation: the
 * caller's output array (k slots) is the heap.
 */
#ifndef RECSYS_COMMON_TOPK_H
#define RECSYS_COMMON_TOPK_H

#include <stddef.h>
#include <stdint.h>

typedef struct topk_item {
    uint32_t index;
    float score;
} topk_item_t;

/* Which items may be selected. Bitmaps are arrays of 64-bit words, bit i of
 * word i/64 standing for item i, covering items [0, nbits). Items at or past
 * nbits are not excluded and (when allow is set) not allowed. */
typedef struct topk_filter {
    const uint64_t *exclude; /* set bit: skip the item (seen items); NULL: none */
    const uint64_t *allow;   /* clear bit: skip the item (genre mask); NULL: all */
    size_t nbits;
    /* Called for candidates that passed the bitmaps; nonzero keeps the item. */
    int (*keep)(uint32_t index, void *ctx);
    void *ctx;
} topk_filter_t;

/* Words needed for a bitmap of n items. */
static inline size_t topk_bitmap_words(size_t n)
{
    return (n + 63) / 64;
}
static inline void topk_bitmap_set(uint64_t *bm, size_t i)
{
    bm[i / 64] |= (uint64_t)1 << (i % 64);
}
static inline int topk_bitmap_test(const uint64_t *bm, size_t i)
{
    return (int)((bm[i / 64] >> (i % 64)) & 1u);
}

/* 1 when a ranks before b in the order above. */
int topk_before(topk_item_t a, topk_item_t b);

/* The best min(k, eligible) of scores[0..n) (n < 2^32) into out (room for k),
 * sorted best first; returns how many. filter may be NULL. */
size_t topk_dense(const float *scores, size_t n, size_t k, const topk_filter_t *filter, topk_item_t *out);

/* The same over a candidate list of (index, score) pairs in any order. The
 * scores returned are the candidates' own, except that -0.0 comes back as
 * +0.0 and every NaN as the default NaN (the keys keep no more). */
size_t topk_pairs(const topk_item_t *cands, size_t n, size_t k, const topk_filter_t *filter, topk_item_t *out);

/* Streaming form (merging shard answers, scores produced piecemeal): keeps
 * the best k pushed so far in caller-provided storage of k items. */
typedef struct topk_heap {
    topk_item_t *items;
    size_t k, len;
} topk_heap_t;

void topk_heap_init(topk_heap_t *h, topk_item_t *storage, size_t k);
/* Offers one item; returns 1 if it is (for now) among the best k. */
int topk_heap_push(topk_heap_t *h, uint32_t index, float score);
/* 1 when an item (index, score) would enter the heap (a cheap pre-check). */
int topk_heap_would_enter(const topk_heap_t *h, uint32_t index, float score);
/* Sorts the kept items best first in place (in h->items) and returns how
 * many; the heap is then empty. */
size_t topk_heap_finish(topk_heap_t *h);

#endif
