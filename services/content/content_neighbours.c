/*
 * content_neighbours.c: item-to-item similarities through the inverted index.
 *
 * For one item i, the dot product with every other item is accumulated term
 * by term: for each term t of i (weight w) and each item j in t's posting
 * list (weight v), acc[j] += w * v. Only items sharing a term with i are
 * touched; they are remembered on first touch so that the top-k looks at
 * those alone and the accumulator is put back to zero afterwards without a
 * pass over the whole catalog. Terms are visited in increasing id order from
 * either side, so sim(i, j) and sim(j, i) are the same float.
 *
 * Building every item's list splits the items over threads (parallel_for in
 * common/base/parallel.h); each thread has its own accumulator, and each
 * writes only its items' rows of the output, so no locking is needed.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/base/parallel.h"
#include "services/content/content_internal.h"

/* acc[j] += w * v over the item's terms, without looking at acc first. */
static void accumulate(const sparse_csr_t *inv, sparse_view_t row, float *acc)
{
    for (size_t a = 0; a < row.nnz; a++) {
        float w = row.val[a];
        sparse_view_t post = sparse_csr_row(inv, row.idx[a]);
        for (size_t b = 0; b < post.nnz; b++)
            acc[post.idx[b]] += w * post.val[b];
    }
}

size_t cm_item_topk(const sparse_csr_t *vec, const sparse_csr_t *inv, uint32_t item, size_t k,
                    const topk_filter_t *filter, float *acc, topk_item_t *cand, topk_item_t *out,
                    size_t *touched)
{
    uint32_t n = vec->n_rows;
    sparse_view_t row = sparse_csr_row(vec, item);
    size_t work = 0;
    for (size_t a = 0; a < row.nnz; a++)
        work += sparse_csr_row(inv, row.idx[a]).nnz;
    if (k > 0 && !touched && work > (size_t)n / 8) {
        /* Many postings (a common genre): accumulate without tracking who
         * was touched (no data-dependent branch in the hot loop), take the
         * vectorised dense top-k over acc, then clear. The item itself is
         * pushed below every other score, and zeros (untouched items) that
         * fill a short list are dropped. */
        accumulate(inv, row, acc);
        acc[item] = -INFINITY;
        size_t got = topk_dense(acc, n, k, filter, out);
        if (work < n) {
            for (size_t a = 0; a < row.nnz; a++) {
                sparse_view_t post = sparse_csr_row(inv, row.idx[a]);
                for (size_t b = 0; b < post.nnz; b++)
                    acc[post.idx[b]] = 0.0f;
            }
        } else {
            memset(acc, 0, (size_t)n * sizeof *acc);
        }
        acc[item] = 0.0f;
        while (got > 0 && !(out[got - 1].score > 0.0f))
            got--;
        return got;
    }
    size_t nc = 0;
    for (size_t a = 0; a < row.nnz; a++) {
        float w = row.val[a];
        sparse_view_t post = sparse_csr_row(inv, row.idx[a]);
        for (size_t b = 0; b < post.nnz; b++) {
            uint32_t j = post.idx[b];
            if (acc[j] == 0.0f)
                cand[nc++].index = j;
            acc[j] += w * post.val[b];
        }
    }
    if (touched)
        *touched = nc;
    /* Read and reset in one pass; a repeated entry (a product that
     * underflowed to 0) reads 0 the second time and is dropped. */
    size_t m = 0;
    for (size_t c = 0; c < nc; c++) {
        uint32_t j = cand[c].index;
        float s = acc[j];
        acc[j] = 0.0f;
        if (s > 0.0f && j != item) {
            cand[m].index = j;
            cand[m].score = s;
            m++;
        }
    }
    if (k == 0 || m == 0)
        return 0;
    return topk_pairs(cand, m, k, filter, out);
}

typedef struct nb_job {
    const sparse_csr_t *vec, *inv;
    uint32_t k;
    float **acc;          /* per thread */
    topk_item_t **cand;   /* per thread */
    topk_item_t **top;    /* per thread */
    uint32_t *nb_len, *nb_idx;
    float *nb_score;
} nb_job_t;

static int nb_one(uint32_t i, unsigned thread, void *ctx)
{
    nb_job_t *job = ctx;
    topk_item_t *top = job->top[thread];
    size_t n = cm_item_topk(job->vec, job->inv, i, job->k, NULL, job->acc[thread], job->cand[thread], top, NULL);
    size_t base = (size_t)i * job->k;
    job->nb_len[i] = (uint32_t)n;
    for (size_t r = 0; r < job->k; r++) {
        job->nb_idx[base + r] = r < n ? top[r].index : CONTENT_NONE;
        job->nb_score[base + r] = r < n ? top[r].score : 0.0f;
    }
    return 0;
}

int cm_neighbours_build(const sparse_csr_t *vec, const sparse_csr_t *inv, uint32_t k, unsigned threads,
                        uint32_t *nb_len, uint32_t *nb_idx, float *nb_score, err_t *err)
{
    uint32_t n = vec->n_rows;
    if (threads < 1)
        threads = 1;
    if (threads > n / 64 + 1)
        threads = n / 64 + 1; /* tiny catalogs: no threads */
    nb_job_t job = {.vec = vec, .inv = inv, .k = k, .nb_len = nb_len, .nb_idx = nb_idx, .nb_score = nb_score};
    job.acc = calloc(threads, sizeof *job.acc);
    job.cand = calloc(threads, sizeof *job.cand);
    job.top = calloc(threads, sizeof *job.top);
    int rc = -1;
    if (!job.acc || !job.cand || !job.top)
        goto out;
    for (unsigned t = 0; t < threads; t++) {
        job.acc[t] = calloc(n ? n : 1, sizeof(float));
        job.cand[t] = malloc((n ? n : 1) * sizeof(topk_item_t));
        job.top[t] = malloc((k ? k : 1) * sizeof(topk_item_t));
        if (!job.acc[t] || !job.cand[t] || !job.top[t])
            goto out;
    }
    rc = parallel_for(n, threads, nb_one, &job, err);
out:
    if (rc && !err->msg[0])
        err_set(err, "neighbours: out of memory (%u items, %u threads)", n, threads);
    for (unsigned t = 0; job.acc && t < threads; t++) {
        free(job.acc[t]);
        free(job.cand ? job.cand[t] : NULL);
        free(job.top ? job.top[t] : NULL);
    }
    free(job.acc);
    free(job.cand);
    free(job.top);
    return rc;
}
