/*
 * content_scratch.c: per-call scratch memory of the content model, grown on
 * demand and reused across calls. (The builds' loops over items run on
 * common/base/parallel.h's parallel_for: items are handed out in chunks
 * because an item's cost, the sum of its terms' posting lengths, varies by
 * orders of magnitude.)
 */
#include <stdlib.h>
#include <string.h>

#include "services/content/content_internal.h"

content_scratch_t *content_scratch_new(void)
{
    return calloc(1, sizeof(content_scratch_t));
}

void content_scratch_free(content_scratch_t *s)
{
    if (!s)
        return;
    free(s->acc);
    free(s->profile);
    free(s->bits);
    free(s->cand);
    free(s->seen);
    free(s->tbits);
    free(s->pterms);
    free(s->w);
    free(s->top);
    free(s);
}

/* Grows *p to hold n elements of size sz (contents not kept; zeroed, since
 * the accumulators rely on starting at zero). */
static int grow(void **p, size_t *cap, size_t n, size_t sz)
{
    if (n <= *cap && *p)
        return 0;
    size_t c = n < 16 ? 16 : n;
    void *q = calloc(c, sz);
    if (!q)
        return -1;
    free(*p);
    *p = q;
    *cap = c;
    return 0;
}

int cm_scratch_reserve(content_scratch_t *s, size_t n_items, size_t n_terms, size_t k, err_t *err)
{
    size_t words = topk_bitmap_words(n_items);
    if (grow((void **)&s->acc, &s->acc_cap, n_items, sizeof(float)) ||
        grow((void **)&s->profile, &s->profile_cap, n_terms, sizeof(float)) ||
        grow((void **)&s->bits, &s->bits_cap, words, sizeof(uint64_t)) ||
        grow((void **)&s->cand, &s->cand_cap, n_items, sizeof(topk_item_t)) ||
        grow((void **)&s->seen, &s->seen_cap, words, sizeof(uint64_t)) ||
        grow((void **)&s->tbits, &s->tbits_cap, topk_bitmap_words(n_terms), sizeof(uint64_t)) ||
        grow((void **)&s->top, &s->top_cap, k ? k : 1, sizeof(topk_item_t)))
        return err_set(err, "content: out of memory for scratch (%zu items, %zu terms)", n_items, n_terms);
    return 0;
}
