/*
 * parallel.c: fork-join on pthreads (see parallel.h).
 */
#include "common/base/parallel.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

typedef struct run_arg {
    void (*fn)(void *, unsigned);
    void *ctx;
    unsigned t;
} run_arg_t;

static void *run_main(void *p)
{
    run_arg_t *a = p;
    a->fn(a->ctx, a->t);
    return NULL;
}

void parallel_run(unsigned threads, void (*fn)(void *ctx, unsigned t), void *ctx)
{
    if (threads > PARALLEL_MAX_THREADS)
        threads = PARALLEL_MAX_THREADS;
    if (threads <= 1) {
        fn(ctx, 0);
        return;
    }
    pthread_t tid[PARALLEL_MAX_THREADS];
    run_arg_t args[PARALLEL_MAX_THREADS];
    bool started[PARALLEL_MAX_THREADS];
    for (unsigned t = 1; t < threads; t++) {
        args[t] = (run_arg_t){fn, ctx, t};
        started[t] = pthread_create(&tid[t], NULL, run_main, &args[t]) == 0;
    }
    fn(ctx, 0);
    for (unsigned t = 1; t < threads; t++) {
        if (started[t])
            pthread_join(tid[t], NULL);
        else
            fn(ctx, t);
    }
}

/* Items per draw from the shared counter: small enough to balance items
 * whose costs differ by orders of magnitude, large enough that the atomic
 * is not the bottleneck. */
#define PARALLEL_CHUNK 16u

typedef struct for_job {
    uint32_t n;
    atomic_uint next;
    atomic_int failed;
    parallel_item_fn fn;
    void *ctx;
} for_job_t;

static void for_part(void *p, unsigned t)
{
    for_job_t *j = p;
    while (!atomic_load(&j->failed)) {
        uint32_t a = atomic_fetch_add(&j->next, PARALLEL_CHUNK);
        if (a >= j->n)
            return;
        uint32_t b = j->n - a < PARALLEL_CHUNK ? j->n : a + PARALLEL_CHUNK;
        for (uint32_t i = a; i < b; i++) {
            if (j->fn(i, t, j->ctx) != 0) {
                atomic_store(&j->failed, 1);
                return;
            }
        }
    }
}

int parallel_for(uint32_t n, unsigned threads, parallel_item_fn fn, void *ctx, err_t *err)
{
    for_job_t j = {.n = n, .fn = fn, .ctx = ctx};
    atomic_init(&j.next, 0);
    atomic_init(&j.failed, 0);
    parallel_run(threads < 1 ? 1 : threads, for_part, &j);
    if (!atomic_load(&j.failed))
        return 0;
    if (err && !err->msg[0])
        err_set(err, "parallel: a worker failed");
    return -1;
}
