/*
 * cf_linalg.h: the small dense algebra and threading the CF trainers share.
 *
 * Per-user and per-item solves are tiny (factors + 1 unknowns), so they use
 * a hand-written Cholesky in double precision instead of a LAPACK call per
 * row; the big items x items inverse of EASE goes through LAPACK (cf_ease.c).
 * Work is split over threads statically: each thread gets one contiguous
 * range of rows, chosen by cost, and every row's result depends only on its
 * own inputs, so the factors are the same bit for bit for any thread count.
 */
#ifndef RECSYS_CF_LINALG_H
#define RECSYS_CF_LINALG_H

#include <stddef.h>
#include <stdint.h>

/* Solves A x = b for symmetric positive definite A (n x n, row-major, only
 * the lower triangle is read). A is overwritten by its Cholesky factor and b
 * by x. Returns 0, or -1 when A is not positive definite. */
int cf_chol_solve(double *A, double *b, size_t n);

/* Splits rows 0..n_rows into parts contiguous ranges of roughly equal cost
 * (row cost: its non-zeros in row_ptr plus base): range t is
 * [bounds[t], bounds[t + 1]). bounds has parts + 1 entries. */
void cf_partition(const uint64_t *row_ptr, uint32_t n_rows, uint32_t parts, uint64_t base, uint32_t *bounds);

#endif
