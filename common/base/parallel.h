/*
 * parallel.h: the project's one fork-join helper, on pthreads.
 *
 * parallel_run is the primitive: fn(ctx, t) for every thread t, the caller's
 * thread being t = 0; the caller splits the work by t (the CF trainers cut
 * rows into ranges of equal cost). parallel_for is built on it for loops
 * over items of uneven cost: items are handed out in small chunks from one
 * counter, so a thread that drew cheap items takes more.
 */
#ifndef RECSYS_BASE_PARALLEL_H
#define RECSYS_BASE_PARALLEL_H

#include <stdint.h>

#include "common/base/err.h"

/* Largest thread count either function uses (more is clamped). */
#define PARALLEL_MAX_THREADS 256

/* Runs fn(ctx, t) for t = 0..threads-1 (0 or 1: once, inline) and waits for
 * all. A thread that cannot be started has its part run on the calling
 * thread afterwards: the same results, only slower. */
void parallel_run(unsigned threads, void (*fn)(void *ctx, unsigned t), void *ctx);

/* Runs fn(i, t, ctx) for every i in [0, n) on `threads` threads; t (below
 * threads) tells which thread runs the call, so per-thread scratch can be
 * indexed by it. fn returns 0, or -1 to stop the loop: then parallel_for
 * returns -1, keeping the message fn left in err (or setting a generic
 * one). */
typedef int (*parallel_item_fn)(uint32_t i, unsigned t, void *ctx);
int parallel_for(uint32_t n, unsigned threads, parallel_item_fn fn, void *ctx, err_t *err);

#endif
