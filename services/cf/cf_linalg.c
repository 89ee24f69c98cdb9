/*
 * cf_linalg.c: small Cholesky solves, static partitions and a fork-join
 * helper for the CF trainers (see cf_linalg.h).
 */
#include "services/cf/cf_linalg.h"

#include <math.h>
#include <stdlib.h>
#include <time.h>

int cf_chol_solve(double *A, double *b, size_t n)
{
    /* A = L L^T, L stored in the lower triangle. */
    for (size_t j = 0; j < n; j++) {
        double *aj = A + j * n;
        double d = aj[j];
        for (size_t k = 0; k < j; k++)
            d -= aj[k] * aj[k];
        if (!(d > 0.0))
            return -1;
        d = sqrt(d);
        aj[j] = d;
        double inv = 1.0 / d;
        for (size_t i = j + 1; i < n; i++) {
            double *ai = A + i * n;
            double s = ai[j];
            for (size_t k = 0; k < j; k++)
                s -= ai[k] * aj[k];
            ai[j] = s * inv;
        }
    }
    /* L y = b, then L^T x = y. */
    for (size_t i = 0; i < n; i++) {
        const double *ai = A + i * n;
        double s = b[i];
        for (size_t k = 0; k < i; k++)
            s -= ai[k] * b[k];
        b[i] = s / ai[i];
    }
    for (size_t i = n; i-- > 0;) {
        double s = b[i];
        for (size_t k = i + 1; k < n; k++)
            s -= A[k * n + i] * b[k];
        b[i] = s / A[i * n + i];
    }
    return 0;
}

void cf_partition(const uint64_t *row_ptr, uint32_t n_rows, uint32_t parts, uint64_t base, uint32_t *bounds)
{
    if (parts == 0)
        return;
    uint64_t total = row_ptr[n_rows] - row_ptr[0] + base * n_rows;
    bounds[0] = 0;
    uint32_t r = 0;
    for (uint32_t t = 1; t < parts; t++) {
        /* First row whose prefix cost reaches t/parts of the total. */
        uint64_t want = (uint64_t)((double)total * t / parts);
        while (r < n_rows && row_ptr[r] - row_ptr[0] + base * r < want)
            r++;
        bounds[t] = r;
    }
    bounds[parts] = n_rows;
}
