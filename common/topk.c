/*
 * topk.c: bounded min-heap selection over one 64-bit key per item.
 *
 * The whole order (score descending, NaN lowest, -0 == +0, ties to the lower
 * index) is folded into one unsigned key: the float's bits mapped so that
 * unsigned order equals numeric order (positive: set the sign bit; negative:
 * flip all bits; NaN: 0, the bottom; -0: as +0) in the high 32 bits, and the
 * complement of the index in the low 32 bits. A larger key is a better item.
 * Integer compares are exact and immune to the fast-math flags this file is
 * compiled with (-fassociative-math etc. say nothing about integers), so the
 * order is the same in every build.
 */
#include "common/topk.h"

#include <string.h>

static inline uint32_t score_key(float s)
{
    uint32_t b;
    memcpy(&b, &s, 4);
    if ((b & 0x7fffffffu) > 0x7f800000u)
        return 0; /* NaN: below -inf, whose key is 0x007fffff */
    if (b == 0x80000000u)
        b = 0; /* -0 ties with +0 */
    uint32_t mask = (uint32_t)(-(int32_t)(b >> 31)) | 0x80000000u;
    return b ^ mask;
}

static inline uint64_t item_key(uint32_t index, float score)
{
    return ((uint64_t)score_key(score) << 32) | (uint32_t)~index;
}

static inline uint64_t key_of(const topk_item_t *it)
{
    return item_key(it->index, it->score);
}

int topk_before(topk_item_t a, topk_item_t b)
{
    return key_of(&a) > key_of(&b);
}

/* Min-heap on key: items[0] is the worst kept item. */
static void sift_down(topk_item_t *h, size_t len, size_t i)
{
    topk_item_t x = h[i];
    uint64_t kx = key_of(&x);
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= len)
            break;
        uint64_t kc = key_of(&h[c]);
        if (c + 1 < len) {
            uint64_t kr = key_of(&h[c + 1]);
            if (kr < kc) {
                c++;
                kc = kr;
            }
        }
        if (kc >= kx)
            break;
        h[i] = h[c];
        i = c;
    }
    h[i] = x;
}

static void sift_up(topk_item_t *h, size_t i)
{
    topk_item_t x = h[i];
    uint64_t kx = key_of(&x);
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (key_of(&h[p]) <= kx)
            break;
        h[i] = h[p];
        i = p;
    }
    h[i] = x;
}

void topk_heap_init(topk_heap_t *h, topk_item_t *storage, size_t k)
{
    h->items = storage;
    h->k = k;
    h->len = 0;
}

int topk_heap_would_enter(const topk_heap_t *h, uint32_t index, float score)
{
    if (h->len < h->k)
        return 1;
    return h->k > 0 && item_key(index, score) > key_of(&h->items[0]);
}

int topk_heap_push(topk_heap_t *h, uint32_t index, float score)
{
    if (h->len < h->k) {
        h->items[h->len] = (topk_item_t){index, score};
        sift_up(h->items, h->len++);
        return 1;
    }
    if (h->k == 0 || item_key(index, score) <= key_of(&h->items[0]))
        return 0;
    h->items[0] = (topk_item_t){index, score};
    sift_down(h->items, h->len, 0);
    return 1;
}

size_t topk_heap_finish(topk_heap_t *h)
{
    /* Heap sort: moving the minimum to the end each time leaves the array
     * sorted best first. */
    size_t n = h->len;
    for (size_t end = n; end > 1; end--) {
        topk_item_t t = h->items[0];
        h->items[0] = h->items[end - 1];
        h->items[end - 1] = t;
        sift_down(h->items, end - 1, 0);
    }
    h->len = 0;
    return n;
}

static int eligible(const topk_filter_t *f, uint32_t i)
{
    if (!f)
        return 1;
    if (f->exclude && i < f->nbits && topk_bitmap_test(f->exclude, i))
        return 0;
    if (f->allow && (i >= f->nbits || !topk_bitmap_test(f->allow, i)))
        return 0;
    if (f->keep && !f->keep(i, f->ctx))
        return 0;
    return 1;
}

size_t topk_dense(const float *scores, size_t n, size_t k, const topk_filter_t *filter, topk_item_t *out)
{
    topk_heap_t h;
    topk_heap_init(&h, out, k);
    if (k == 0)
        return 0;
    size_t i = 0;
    /* Fill phase: the first k eligible items. */
    for (; i < n && h.len < k; i++)
        if (eligible(filter, (uint32_t)i))
            topk_heap_push(&h, (uint32_t)i, scores[i]);
    /* Scan phase. Indices only grow, so an item whose score key equals the
     * worst kept one loses the tie: compare the 32-bit score keys only. */
    if (h.len < k)
        return topk_heap_finish(&h);
    uint32_t thr = (uint32_t)(key_of(&h.items[0]) >> 32);
    for (; i < n; i++) {
        if (score_key(scores[i]) <= thr)
            continue;
        if (!eligible(filter, (uint32_t)i))
            continue;
        h.items[0] = (topk_item_t){(uint32_t)i, scores[i]};
        sift_down(h.items, h.len, 0);
        thr = (uint32_t)(key_of(&h.items[0]) >> 32);
    }
    return topk_heap_finish(&h);
}

size_t topk_pairs(const topk_item_t *cands, size_t n, size_t k, const topk_filter_t *filter, topk_item_t *out)
{
    topk_heap_t h;
    topk_heap_init(&h, out, k);
    if (k == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!topk_heap_would_enter(&h, cands[i].index, cands[i].score))
            continue;
        if (eligible(filter, cands[i].index))
            topk_heap_push(&h, cands[i].index, cands[i].score);
    }
    return topk_heap_finish(&h);
}
