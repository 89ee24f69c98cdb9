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
#include "common/math/topk.h"

#include <math.h>
#include <string.h>

/* Items screened at once by the vectorised pre-test of topk_dense. */
#define TOPK_BLOCK 32

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

/*
 * The one-shot selections keep a heap of bare 64-bit keys (not items) in the
 * caller's output array, which has exactly 8 bytes per slot: a sift then
 * costs one integer compare per level instead of two key computations, which
 * matters for k in the hundreds. Keys are accessed with memcpy because out
 * is only 4-byte aligned. At the end the sorted keys are turned back into
 * items in place.
 */
static inline uint64_t kget(const unsigned char *h, size_t i)
{
    uint64_t v;
    memcpy(&v, h + 8 * i, 8);
    return v;
}

static inline void kset(unsigned char *h, size_t i, uint64_t v)
{
    memcpy(h + 8 * i, &v, 8);
}

static void ksift_down(unsigned char *h, size_t len, size_t i, uint64_t kx)
{
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= len)
            break;
        uint64_t kc = kget(h, c);
        if (c + 1 < len) {
            uint64_t kr = kget(h, c + 1);
            if (kr < kc) {
                c++;
                kc = kr;
            }
        }
        if (kc >= kx)
            break;
        kset(h, i, kc);
        i = c;
    }
    kset(h, i, kx);
}

static void ksift_up(unsigned char *h, size_t i, uint64_t kx)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        uint64_t kp = kget(h, p);
        if (kp <= kx)
            break;
        kset(h, i, kp);
        i = p;
    }
    kset(h, i, kx);
}

/* Heap sort to best-first order; returns len. */
static size_t ksort(unsigned char *h, size_t len)
{
    for (size_t end = len; end > 1; end--) {
        uint64_t top = kget(h, 0);
        ksift_down(h, end - 1, 0, kget(h, end - 1));
        kset(h, end - 1, top);
    }
    return len;
}

/* The float whose score_key is kk (exact except -0 and NaN payloads). */
static float key_score(uint32_t kk)
{
    if (kk == 0)
        return NAN;
    uint32_t b = (kk & 0x80000000u) ? (kk & 0x7fffffffu) : ~kk;
    float f;
    memcpy(&f, &b, 4);
    return f;
}

size_t topk_dense(const float *scores, size_t n, size_t k, const topk_filter_t *filter, topk_item_t *out)
{
    unsigned char *h = (unsigned char *)out;
    size_t len = 0, i = 0;
    if (k == 0)
        return 0;
    /* Fill phase: the first k eligible items. */
    for (; i < n && len < k; i++)
        if (eligible(filter, (uint32_t)i)) {
            ksift_up(h, len, item_key((uint32_t)i, scores[i]));
            len++;
        }
    /* Scan phase. Indices only grow, so an item whose score key equals the
     * worst kept one loses the tie: compare the 32-bit score keys only.
     * Most items lose, so blocks are first screened with a plain float test
     * that vectorises: s > worst when the worst is a number (an equal score
     * loses the tie, -0.0 included), s >= -inf (any number) when it is a
     * NaN; NaN never passes. Only blocks with a possible winner take the
     * exact per-item path. (A worst of -inf then rejects -inf blocks at
     * once: screened score arrays are mostly -inf.) */
    if (len == k) {
        uint32_t thr = (uint32_t)(kget(h, 0) >> 32);
        float thr_f = thr == 0 ? -INFINITY : key_score(thr);
        while (i < n) {
            size_t end = n - i >= TOPK_BLOCK ? i + TOPK_BLOCK : n;
            int any = 0;
            if (thr == 0)
                for (size_t j = i; j < end; j++)
                    any |= scores[j] >= thr_f;
            else
                for (size_t j = i; j < end; j++)
                    any |= scores[j] > thr_f;
            if (!any) {
                i = end;
                continue;
            }
            for (; i < end; i++) {
                if (!(scores[i] >= thr_f))
                    continue;
                uint32_t sk = score_key(scores[i]);
                if (sk <= thr || !eligible(filter, (uint32_t)i))
                    continue;
                ksift_down(h, len, 0, ((uint64_t)sk << 32) | (uint32_t)~(uint32_t)i);
                thr = (uint32_t)(kget(h, 0) >> 32);
                thr_f = thr == 0 ? -INFINITY : key_score(thr);
            }
        }
    }
    ksort(h, len);
    for (size_t j = 0; j < len; j++) {
        uint32_t idx = ~(uint32_t)kget(h, j);
        out[j] = (topk_item_t){idx, scores[idx]};
    }
    return len;
}

size_t topk_pairs(const topk_item_t *cands, size_t n, size_t k, const topk_filter_t *filter, topk_item_t *out)
{
    unsigned char *h = (unsigned char *)out;
    size_t len = 0;
    if (k == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t key = key_of(&cands[i]);
        if (len == k && key <= kget(h, 0))
            continue;
        if (!eligible(filter, cands[i].index))
            continue;
        if (len < k)
            ksift_up(h, len++, key);
        else
            ksift_down(h, len, 0, key);
    }
    ksort(h, len);
    for (size_t j = 0; j < len; j++) {
        uint64_t key = kget(h, j);
        out[j] = (topk_item_t){~(uint32_t)key, key_score((uint32_t)(key >> 32))};
    }
    return len;
}
