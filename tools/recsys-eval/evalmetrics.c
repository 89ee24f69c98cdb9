/*
 * evalmetrics.c: ranking and rating metrics (definitions in evalmetrics.h).
 *
 * Membership of a ranked item in the relevant set is a binary search of the
 * sorted set: lists are short (k = 10) and sets small (a user's test items),
 * so no per-user bitmap is needed.
 */
#include "tools/recsys-eval/evalmetrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int in_sorted(const uint32_t *a, size_t n, uint32_t x)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a[mid] < x)
            lo = mid + 1;
        else if (a[mid] > x)
            hi = mid;
        else
            return 1;
    }
    return 0;
}

double evalmetrics_idcg(size_t nrel, size_t k)
{
    size_t m = nrel < k ? nrel : k;
    double s = 0.0;
    for (size_t r = 1; r <= m; r++)
        s += 1.0 / log2((double)r + 1.0);
    return s;
}

void evalmetrics_user(const uint32_t *ranked, size_t nranked, size_t k, const uint32_t *rel,
                      size_t nrel, evalmetrics_ranking_t *out)
{
    memset(out, 0, sizeof *out);
    out->users = 1;
    if (k == 0 || nrel == 0)
        return;
    size_t n = nranked < k ? nranked : k;
    size_t hits = 0;
    double dcg = 0.0, ap = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (!in_sorted(rel, nrel, ranked[i]))
            continue;
        hits++;
        dcg += 1.0 / log2((double)(i + 1) + 1.0);
        ap += (double)hits / (double)(i + 1);
    }
    size_t m = nrel < k ? nrel : k;
    out->precision = (double)hits / (double)k;
    out->recall = (double)hits / (double)nrel;
    out->ndcg = dcg / evalmetrics_idcg(nrel, k);
    out->map = ap / (double)m;
    out->hit_rate = hits > 0 ? 1.0 : 0.0;
}

int evalmetrics_acc_init(evalmetrics_acc_t *acc, size_t k, uint32_t nitems, err_t *err)
{
    memset(acc, 0, sizeof *acc);
    acc->k = k;
    acc->nitems = nitems;
    acc->seen = calloc(((size_t)nitems + 63) / 64 + 1, sizeof(uint64_t));
    if (!acc->seen)
        return err_set(err, "evalmetrics: out of memory for %u items", nitems);
    return 0;
}

void evalmetrics_acc_free(evalmetrics_acc_t *acc)
{
    free(acc->seen);
    acc->seen = NULL;
}

int evalmetrics_acc_add(evalmetrics_acc_t *acc, const uint32_t *ranked, size_t nranked,
                        const uint32_t *rel, size_t nrel, err_t *err)
{
    size_t n = nranked < acc->k ? nranked : acc->k;
    for (size_t i = 0; i < n; i++)
        if (ranked[i] >= acc->nitems)
            return err_set(err, "evalmetrics: item %u outside the universe of %u", ranked[i],
                           acc->nitems);
    evalmetrics_ranking_t u;
    evalmetrics_user(ranked, nranked, acc->k, rel, nrel, &u);
    acc->sum.precision += u.precision;
    acc->sum.recall += u.recall;
    acc->sum.ndcg += u.ndcg;
    acc->sum.map += u.map;
    acc->sum.hit_rate += u.hit_rate;
    acc->sum.users++;
    for (size_t i = 0; i < n; i++) {
        uint64_t bit = (uint64_t)1 << (ranked[i] % 64);
        if (!(acc->seen[ranked[i] / 64] & bit)) {
            acc->seen[ranked[i] / 64] |= bit;
            acc->distinct++;
        }
    }
    return 0;
}

void evalmetrics_acc_result(const evalmetrics_acc_t *acc, evalmetrics_ranking_t *out)
{
    memset(out, 0, sizeof *out);
    out->users = acc->sum.users;
    if (acc->nitems)
        out->coverage = (double)acc->distinct / (double)acc->nitems;
    if (!acc->sum.users)
        return;
    double n = (double)acc->sum.users;
    out->precision = acc->sum.precision / n;
    out->recall = acc->sum.recall / n;
    out->ndcg = acc->sum.ndcg / n;
    out->map = acc->sum.map / n;
    out->hit_rate = acc->sum.hit_rate / n;
}

void evalmetrics_rating_init(evalmetrics_rating_acc_t *acc, double lo, double hi)
{
    memset(acc, 0, sizeof *acc);
    acc->lo = lo;
    acc->hi = hi;
}

void evalmetrics_rating_add(evalmetrics_rating_acc_t *acc, double predicted, double truth)
{
    if (isnan(predicted))
        predicted = (acc->lo + acc->hi) / 2;
    if (predicted < acc->lo)
        predicted = acc->lo;
    if (predicted > acc->hi)
        predicted = acc->hi;
    double d = predicted - truth;
    acc->sum_sq += d * d;
    acc->sum_abs += fabs(d);
    acc->n++;
}

void evalmetrics_rating_result(const evalmetrics_rating_acc_t *acc, evalmetrics_rating_t *out)
{
    memset(out, 0, sizeof *out);
    out->pairs = acc->n;
    if (!acc->n)
        return;
    out->rmse = sqrt(acc->sum_sq / (double)acc->n);
    out->mae = acc->sum_abs / (double)acc->n;
}
