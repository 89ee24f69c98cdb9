/*
 * content_parallel.c: the content model's small helpers for work and memory:
 * a parallel-for over items on pthreads, and per-call scratch.
 *
 * Items are handed out in chunks from one atomic counter rather than split
 * into equal ranges up front, because the cost of an item (the sum of its
 * terms' posting lengths) varies by orders of magnitude: a genre-only item in
 * a big catalog touches half the catalog, a rare-tag item a handful.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "services/content/content_internal.h"

#define CM_CHUNK 16u

typedef struct pf_shared {
    uint32_t n;
    atomic_uint next;
    atomic_int failed;
    cm_item_fn fn;
    void *ctx;
} pf_shared_t;

typedef struct pf_thread {
    pf_shared_t *sh;
    unsigned id;
    int rc;
} pf_thread_t;

static void *pf_run(void *arg)
{
    pf_thread_t *t = arg;
    pf_shared_t *sh = t->sh;
    while (!atomic_load(&sh->failed)) {
        uint32_t a = atomic_fetch_add(&sh->next, CM_CHUNK);
        if (a >= sh->n)
            break;
        uint32_t b = sh->n - a < CM_CHUNK ? sh->n : a + CM_CHUNK;
        for (uint32_t i = a; i < b; i++) {
            if (sh->fn(i, t->id, sh->ctx) != 0) {
                t->rc = -1;
                atomic_store(&sh->failed, 1);
                return NULL;
            }
        }
    }
    return NULL;
}

int cm_parallel_for(uint32_t n, unsigned threads, cm_item_fn fn, void *ctx, err_t *err)
{
    if (threads < 1)
        threads = 1;
    if (threads > 256)
        threads = 256;
    pf_shared_t sh = {.n = n, .fn = fn, .ctx = ctx};
    atomic_init(&sh.next, 0);
    atomic_init(&sh.failed, 0);
    pf_thread_t *ts = calloc(threads, sizeof *ts);
    pthread_t *tid = calloc(threads, sizeof *tid);
    if (!ts || !tid) {
        free(ts);
        free(tid);
        return err_set(err, "parallel: out of memory");
    }
    unsigned started = 0;
    for (unsigned i = 0; i < threads; i++) {
        ts[i].sh = &sh;
        ts[i].id = i;
        if (i == 0)
            continue; /* the caller's thread is worker 0 */
        if (pthread_create(&tid[i], NULL, pf_run, &ts[i]) != 0)
            break;
        started = i;
    }
    pf_run(&ts[0]);
    for (unsigned i = 1; i <= started; i++)
        pthread_join(tid[i], NULL);
    int rc = 0;
    for (unsigned i = 0; i < threads; i++)
        if (ts[i].rc)
            rc = -1;
    free(ts);
    free(tid);
    if (rc && err && !err->msg[0])
        err_set(err, "parallel: a worker failed");
    return rc;
}

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
