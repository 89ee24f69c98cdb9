/*
 * cf_features.c: the feature-to-CF map for cold items (see cf_features.h).
 *
 * Fitting is one small SPD system with many right-hand sides: A = F_w^T F_w
 * + mu I is nfeatures x nfeatures (a bias, <= 64 genres, a few dozen year
 * buckets), the right-hand sides are F_w^T T (for EASE one per item, i.e.
 * B F_w, whose cost is items^2 x active features, never a dense F). A is
 * solved in double through LAPACK; W is kept in float. The popularity map
 * (target log(1 + count)) is always fitted too: it answers empty histories.
 */
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "services/cf/cf_features.h"
#include "services/cf/cf_internal.h"

const cfg_option_t cf_featmap_options[] = {
    {"cf-feat-mu", CFG_DOUBLE, "60",
     "Cold items: ridge penalty of the map from item features to the CF model.", 1e-6, 1e9},
    {"cf-feat-year-items", CFG_INT, "160",
     "Cold items: a release-year bucket closes (latest year first) once it holds this many "
     "items (0: no year features).",
     0, 1000000},
    {"cf-feat-pop", CFG_DOUBLE, "0",
     "Cold items: weight of the feature-predicted popularity next to the user's feature score "
     "(both in units of their spread over the catalog).",
     0, 1e6},
    {"cf-feat-min-ratings", CFG_INT, "1",
     "Cold items: training ratings that make an item warm (fitted on, scored by the model).", 1,
     1000000},
    CFG_END,
};

void cf_featmap_params_default(cf_featmap_params_t *p)
{
    p->mu = 60.0f;
    p->year_items = 160;
    p->min_ratings = 1;
    p->pop = 0.0f;
}

int cf_featmap_params_from_cfg(const cfg_t *cfg, cf_featmap_params_t *p, err_t *err)
{
    cf_featmap_params_default(p);
    p->mu = (float)cfg_double(cfg, "cf-feat-mu");
    p->year_items = (uint32_t)cfg_int(cfg, "cf-feat-year-items");
    p->min_ratings = (uint32_t)cfg_int(cfg, "cf-feat-min-ratings");
    p->pop = (float)cfg_double(cfg, "cf-feat-pop");
    if (!(p->mu > 0) || p->min_ratings < 1 || !(p->pop >= 0))
        return err_set(err, "cf-feat-mu must be > 0 and cf-feat-min-ratings >= 1");
    return 0;
}

struct cf_featmap {
    cf_kind_t kind;
    uint32_t n_items, ngenres, nbuckets, nf, cols; /* cols: width of the model map */
    uint64_t *genre;     /* [n_items] */
    int16_t *bucket;     /* [n_items] year bucket or -1 */
    int32_t *bucket_lo;  /* [nbuckets] first year of each bucket, ascending */
    uint8_t *warm;       /* [n_items] */
    uint64_t *warm_bits; /* the same as a bitmap (topk.h) */
    uint32_t *cold;      /* the items that are not warm, ascending */
    uint32_t ncold;
    float *w;            /* ease: n_items x nf; als/mf: nf x cols; NULL for pop */
    float *w_pop;        /* [nf] popularity map */
    float pop;           /* weight of the popularity map in a personal profile */
    double pop_sd;       /* spread of the popularity map's scores over the items */
};

void cf_featmap_free(cf_featmap_t *f)
{
    if (!f)
        return;
    free(f->genre);
    free(f->bucket);
    free(f->bucket_lo);
    free(f->warm);
    free(f->warm_bits);
    free(f->cold);
    free(f->w);
    free(f->w_pop);
    free(f);
}

uint32_t cf_featmap_nfeatures(const cf_featmap_t *f)
{
    return f->nf;
}

uint32_t cf_featmap_nitems(const cf_featmap_t *f)
{
    return f->n_items;
}

int cf_featmap_is_warm(const cf_featmap_t *f, uint32_t item)
{
    return item < f->n_items && f->warm[item];
}

int cf_featmap_year_bucket(const cf_featmap_t *f, int year)
{
    if (year <= 0 || f->nbuckets == 0)
        return -1;
    /* The last bucket whose first year is <= year (the oldest one also
     * takes anything earlier). */
    int b = 0;
    for (uint32_t k = 1; k < f->nbuckets; k++)
        if (f->bucket_lo[k] <= year)
            b = (int)k;
    return b;
}

size_t cf_featmap_item_features(const cf_featmap_t *f, uint32_t item, uint32_t *idx)
{
    if (item >= f->n_items)
        return 0;
    size_t n = 0;
    idx[n++] = 0;
    for (uint64_t g = f->genre[item]; g; g &= g - 1)
        idx[n++] = 1 + (uint32_t)__builtin_ctzll(g);
    if (f->bucket[item] >= 0)
        idx[n++] = 1 + f->ngenres + (uint32_t)f->bucket[item];
    return n;
}

float cf_featmap_score(const cf_featmap_t *f, const float *z, uint32_t item)
{
    if (item >= f->n_items)
        return 0.0f;
    float s = z[0];
    for (uint64_t g = f->genre[item]; g; g &= g - 1)
        s += z[1 + __builtin_ctzll(g)];
    if (f->bucket[item] >= 0)
        s += z[1 + f->ngenres + (uint32_t)f->bucket[item]];
    return s;
}

/* Standard deviation of the feature scores of z over every item. */
static double items_sd(const cf_featmap_t *f, const float *z)
{
    double s1 = 0, s2 = 0;
    for (uint32_t j = 0; j < f->n_items; j++) {
        double v = cf_featmap_score(f, z, j);
        s1 += v;
        s2 += v * v;
    }
    double n = f->n_items ? f->n_items : 1, var = s2 / n - (s1 / n) * (s1 / n);
    return var > 0 ? sqrt(var) : 0;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return x < y ? -1 : x > y;
}

/* Year buckets from the catalog's known years, latest first. */
static int make_buckets(cf_featmap_t *f, const int32_t *year, uint32_t year_items, err_t *err)
{
    uint32_t n = f->n_items, nk = 0;
    int *ys = malloc(((size_t)n + 1) * sizeof *ys);
    int32_t *lo = malloc(((size_t)n + 1) * sizeof *lo);
    if (!ys || !lo) {
        free(ys);
        free(lo);
        return err_set(err, "cf features: out of memory");
    }
    for (uint32_t i = 0; year && i < n; i++)
        if (year[i] > 0)
            ys[nk++] = year[i];
    qsort(ys, nk, sizeof *ys, cmp_int);
    uint32_t nb = 0, acc = 0;
    if (year_items > 0)
        for (uint32_t a = nk; a > 0;) {
            int y = ys[a - 1];
            while (a > 0 && ys[a - 1] == y) {
                acc++;
                a--;
            }
            if (acc >= year_items || a == 0) {
                if (acc < year_items && nb > 0)
                    nb--; /* the oldest years join the bucket after them */
                lo[nb++] = y;
                acc = 0;
            }
        }
    /* lo[] was filled newest first: reverse to ascending. */
    for (uint32_t a = 0; a < nb / 2; a++) {
        int32_t t = lo[a];
        lo[a] = lo[nb - 1 - a];
        lo[nb - 1 - a] = t;
    }
    free(ys);
    f->bucket_lo = lo;
    f->nbuckets = nb;
    for (uint32_t i = 0; i < n; i++) {
        int b = cf_featmap_year_bucket(f, year ? year[i] : 0);
        f->bucket[i] = (int16_t)b;
    }
    return 0;
}

/* Solves A X = RHS (A: nf x nf SPD, RHS: nf x nrhs row-major) in place. */
static int solve_spd(double *A, double *rhs, uint32_t nf, uint32_t nrhs, err_t *err)
{
    lapack_int info = LAPACKE_dposv(LAPACK_ROW_MAJOR, 'L', (lapack_int)nf, (lapack_int)nrhs, A,
                                    (lapack_int)nf, rhs, (lapack_int)nrhs);
    if (info != 0)
        return err_set(err, "cf features: ridge system not positive definite (dposv %d)",
                       (int)info);
    return 0;
}

int cf_featmap_build(const cf_model_t *m, const cf_featmap_params_t *p, cf_featmap_t **out,
                     err_t *err)
{
    *out = NULL;
    if (!m->genre_mask)
        return err_set(err, "cf features: the model holds no genres (cf_model_set_catalog)");
    if (!(p->mu > 0) || p->min_ratings < 1)
        return err_set(err, "cf features: mu must be > 0 and min_ratings >= 1");
    cf_featmap_t *f = calloc(1, sizeof *f);
    if (!f)
        return err_set(err, "cf features: out of memory");
    uint32_t n = m->n_items;
    f->kind = m->kind;
    f->n_items = n;
    f->genre = malloc(((size_t)n + 1) * sizeof *f->genre);
    f->bucket = malloc(((size_t)n + 1) * sizeof *f->bucket);
    f->warm = calloc((size_t)n + 1, 1);
    double *A = NULL, *rhs = NULL, *rp = NULL;
    uint32_t *idx = NULL;
    if (!f->genre || !f->bucket || !f->warm)
        goto oom;
    uint64_t all = 0;
    for (uint32_t i = 0; i < n; i++) {
        f->genre[i] = m->genre_mask[i];
        all |= f->genre[i];
    }
    f->ngenres = all ? 64u - (uint32_t)__builtin_clzll(all) : 0;
    if (make_buckets(f, m->year, p->year_items, err) != 0)
        goto fail;
    f->nf = 1 + f->ngenres + f->nbuckets;
    uint32_t nf = f->nf, nwarm = 0;
    f->warm_bits = calloc(topk_bitmap_words(n) + 1, sizeof *f->warm_bits);
    if (!f->warm_bits) {
        err_set(err, "cf features: out of memory");
        goto fail;
    }
    for (uint32_t i = 0; i < n; i++)
        if (m->pop[i] >= (float)p->min_ratings) {
            f->warm[i] = 1;
            topk_bitmap_set(f->warm_bits, i);
            nwarm++;
        }
    if (nwarm == 0) {
        err_set(err, "cf features: no item has %u training ratings", p->min_ratings);
        goto fail;
    }
    f->cold = malloc(((size_t)(n - nwarm) + 1) * sizeof *f->cold);
    if (!f->cold) {
        err_set(err, "cf features: out of memory");
        goto fail;
    }
    for (uint32_t i = 0; i < n; i++)
        if (!f->warm[i])
            f->cold[f->ncold++] = i;
    idx = malloc(((size_t)nf + 1) * sizeof *idx);
    A = calloc((size_t)nf * nf, sizeof *A);
    rp = calloc(nf, sizeof *rp);
    if (!idx || !A || !rp)
        goto oom;
    /* A = F_w^T F_w + mu I; rp = F_w^T log(1 + count). */
    for (uint32_t j = 0; j < n; j++) {
        if (!f->warm[j])
            continue;
        size_t na = cf_featmap_item_features(f, j, idx);
        for (size_t a = 0; a < na; a++) {
            rp[idx[a]] += log1p((double)m->pop[j]);
            for (size_t b = 0; b < na; b++)
                A[(size_t)idx[a] * nf + idx[b]] += 1.0;
        }
    }
    for (uint32_t a = 0; a < nf; a++)
        A[(size_t)a * nf + a] += p->mu;

    /* The model's targets: right-hand sides F_w^T T (nf x cols). */
    uint32_t cols = 0;
    if (m->kind == CF_KIND_EASE)
        cols = n;
    else if (m->kind == CF_KIND_ALS)
        cols = m->dim;
    else if (m->kind == CF_KIND_MF)
        cols = m->dim + 1;
    f->cols = cols;
    if (cols) {
        rhs = calloc((size_t)nf * cols, sizeof *rhs);
        if (!rhs)
            goto oom;
        for (uint32_t j = 0; j < n; j++) {
            if (!f->warm[j])
                continue;
            size_t na = cf_featmap_item_features(f, j, idx);
            for (size_t a = 0; a < na; a++) {
                double *r = rhs + (size_t)idx[a] * cols;
                if (m->kind == CF_KIND_EASE) {
                    /* Column j of B: what each item h adds to j's score. */
                    for (uint32_t h = 0; h < n; h++)
                        r[h] += m->ease_b[(size_t)h * n + j];
                } else if (m->kind == CF_KIND_ALS) {
                    for (uint32_t d = 0; d < cols; d++)
                        r[d] += m->item_f[(size_t)j * m->dim + d];
                } else {
                    r[0] += m->item_bias[j];
                    for (uint32_t d = 1; d < cols; d++)
                        r[d] += m->item_f[(size_t)j * m->dim + d - 1];
                }
            }
        }
    }
    double *A2 = malloc((size_t)nf * nf * sizeof *A2);
    if (!A2)
        goto oom;
    memcpy(A2, A, (size_t)nf * nf * sizeof *A2);
    int rc = solve_spd(A2, rp, nf, 1, err);
    free(A2);
    if (rc != 0 || (cols && solve_spd(A, rhs, nf, cols, err) != 0))
        goto fail;
    f->w_pop = malloc((size_t)nf * sizeof *f->w_pop);
    if (!f->w_pop)
        goto oom;
    for (uint32_t a = 0; a < nf; a++)
        f->w_pop[a] = (float)rp[a];
    f->pop = p->pop;
    f->pop_sd = items_sd(f, f->w_pop);
    if (cols) {
        f->w = malloc((size_t)nf * cols * sizeof *f->w);
        if (!f->w)
            goto oom;
        if (m->kind == CF_KIND_EASE) {
            /* Stored transposed, n x nf: a history item's row is contiguous. */
            for (uint32_t a = 0; a < nf; a++)
                for (uint32_t h = 0; h < n; h++)
                    f->w[(size_t)h * nf + a] = (float)rhs[(size_t)a * cols + h];
        } else {
            for (size_t x = 0; x < (size_t)nf * cols; x++)
                f->w[x] = (float)rhs[x];
        }
    }
    free(A);
    free(rhs);
    free(rp);
    free(idx);
    *out = f;
    return 0;
oom:
    err_set(err, "cf features: out of memory");
fail:
    free(A);
    free(rhs);
    free(rp);
    free(idx);
    cf_featmap_free(f);
    return -1;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* EASE: z = sum over the merged history (stored row, events overriding
 * their item, the last event of an item winning) of w_h W[h, :], w_h
 * cf_ease_weight (negative for a disliked item). */
static int ease_profile(const cf_featmap_t *f, const cf_model_t *m, const cf_who_t *who, float *z,
                        size_t *used, err_t *err)
{
    uint32_t nf = f->nf;
    size_t ne = who->n_events, nused = 0;
    uint64_t *keys = NULL;
    if (ne) {
        keys = malloc(ne * sizeof *keys);
        if (!keys)
            return err_set(err, "cf features: out of memory");
        for (size_t e = 0; e < ne; e++)
            keys[e] = (uint64_t)who->events[e].item << 32 | (uint64_t)e;
        qsort(keys, ne, sizeof *keys, cmp_u64);
    }
    memset(z, 0, nf * sizeof *z);
    for (size_t e = 0; e < ne; e++) {
        uint32_t it = (uint32_t)(keys[e] >> 32);
        if (e + 1 < ne && (uint32_t)(keys[e + 1] >> 32) == it)
            continue; /* a later event of the same item follows */
        float w = cf_ease_weight(m, who->events[(uint32_t)keys[e]].value);
        const float *row = f->w + (size_t)it * nf;
        for (uint32_t a = 0; a < nf; a++)
            z[a] += w * row[a];
        nused++;
    }
    if (who->user != CF_NO_USER) {
        sparse_view_t row = sparse_csr_row(&m->hist, who->user);
        size_t e = 0;
        for (size_t a = 0; a < row.nnz; a++) {
            uint32_t it = row.idx[a];
            while (e < ne && (uint32_t)(keys[e] >> 32) < it)
                e++;
            if (e < ne && (uint32_t)(keys[e] >> 32) == it)
                continue; /* overridden by an event */
            float w = cf_ease_weight(m, row.val[a]);
            const float *wr = f->w + (size_t)it * nf;
            for (uint32_t b = 0; b < nf; b++)
                z[b] += w * wr[b];
            nused++;
        }
    }
    free(keys);
    *used = nused;
    return 0;
}

static int model_profile(const cf_featmap_t *f, const cf_model_t *m, cf_scratch_t *s,
                         const cf_who_t *who, float *z, err_t *err);

/* The profile; *pop_only = 1 when it is the popularity map (no history). */
static int profile(const cf_featmap_t *f, const cf_model_t *m, cf_scratch_t *s, const cf_who_t *who,
                   float *z, int *pop_only, err_t *err)
{
    *pop_only = 0;
    uint32_t nf = f->nf;
    if (m->n_items != f->n_items || m->kind != f->kind)
        return err_set(err, "cf features: the map was built from another model");
    if (who->user != CF_NO_USER && who->user >= m->n_users)
        return err_set(err, "cf: user index %u out of range (%u users)", who->user, m->n_users);
    for (size_t e = 0; e < who->n_events; e++) {
        if (who->events[e].item >= m->n_items)
            return err_set(err, "cf: event %zu: item index %u out of range (%u items)", e,
                           who->events[e].item, m->n_items);
        if (!isfinite(who->events[e].value))
            return err_set(err, "cf: event %zu: rating is not a finite number", e);
    }
    int has_hist = who->n_events > 0 ||
                   (who->user != CF_NO_USER && sparse_csr_row(&m->hist, who->user).nnz > 0);
    if (!f->w || !has_hist) {
        memcpy(z, f->w_pop, nf * sizeof *z);
        *pop_only = 1;
        return 0;
    }
    int rc;
    if (f->kind == CF_KIND_EASE) {
        size_t used;
        rc = ease_profile(f, m, who, z, &used, err);
    } else
        rc = model_profile(f, m, s, who, z, err);
    if (rc == 0 && f->pop > 0 && f->pop_sd > 0) {
        /* Popularity on the personal profile's scale: the same ranking as
         * z-scored personal + pop * z-scored popularity. */
        double a = f->pop * items_sd(f, z) / f->pop_sd;
        for (uint32_t b = 0; b < nf; b++)
            z[b] += (float)(a * f->w_pop[b]);
    }
    return rc;
}

/* ALS / MF: z = W u, u the model's user vector of who. */
static int model_profile(const cf_featmap_t *f, const cf_model_t *m, cf_scratch_t *s,
                         const cf_who_t *who, float *z, err_t *err)
{
    uint32_t nf = f->nf, cols = f->cols;
    float *u = malloc(((size_t)cols + 1) * sizeof *u);
    if (!u)
        return err_set(err, "cf features: out of memory");
    int rc = cf_user_vector(m, s, who, u, err);
    if (rc == 0) {
        if (f->kind == CF_KIND_MF)
            u[0] = 1.0f; /* the item bias counts once; the user bias is the same for all */
        for (uint32_t a = 0; a < nf; a++) {
            const float *wr = f->w + (size_t)a * cols;
            double acc = 0;
            for (uint32_t d = 0; d < cols; d++)
                acc += (double)wr[d] * u[d];
            z[a] = (float)acc;
        }
    }
    free(u);
    return rc;
}

int cf_featmap_profile(const cf_featmap_t *f, const cf_model_t *m, cf_scratch_t *s,
                       const cf_who_t *who, float *z, err_t *err)
{
    int pop_only;
    return profile(f, m, s, who, z, &pop_only, err);
}

int cf_featmap_score_items(const cf_featmap_t *f, const cf_model_t *m, cf_scratch_t *s,
                           const cf_who_t *who, const uint32_t *items, size_t n, float *scores,
                           err_t *err)
{
    for (size_t j = 0; j < n; j++)
        if (items[j] >= f->n_items)
            return err_set(err, "cf features: item index %u out of range (%u items)", items[j],
                           f->n_items);
    float *z = malloc(((size_t)f->nf + 1) * sizeof *z);
    if (!z)
        return err_set(err, "cf features: out of memory");
    int rc = cf_featmap_profile(f, m, s, who, z, err);
    for (size_t j = 0; rc == 0 && j < n; j++)
        scores[j] = cf_featmap_score(f, z, items[j]);
    free(z);
    return rc;
}

int cf_featmap_score_all(const cf_featmap_t *f, const cf_model_t *m, cf_scratch_t *s,
                         const cf_who_t *who, float *out, err_t *err)
{
    return cf_featmap_score_top(f, m, s, who, NULL, 0, out, err);
}

int cf_featmap_score_top(const cf_featmap_t *f, const cf_model_t *m, cf_scratch_t *s, const cf_who_t *who,
                         const filter_t *filter, size_t k, float *out, err_t *err)
{
    if (m->kind == CF_KIND_ITEMKNN || m->kind == CF_KIND_USERKNN) {
        /* No item columns or factors for the map to stand in for: every
         * item keeps the neighbourhood score (a cold item's is 0 unless a
         * neighbour reaches it), so the map's popularity scale never mixes
         * with similarity sums. */
        const float *all = cf_score_all(m, s, who, NULL, err);
        if (!all)
            return -1;
        memcpy(out, all, (size_t)f->n_items * sizeof *out);
        return 0;
    }
    float *z = malloc(((size_t)f->nf + 1) * sizeof *z);
    if (!z)
        return err_set(err, "cf features: out of memory");
    int pop_only;
    int rc = profile(f, m, s, who, z, &pop_only, err);
    const float *all = rc != 0 ? NULL
                       : k       ? cf_score_all_top(m, s, who, filter, f->warm_bits, k, NULL, err)
                                 : cf_score_all(m, s, who, NULL, err);
    /* Without a history the model answers with counts; the map predicts
     * log(1 + count), so warm items are put on that scale too. */
    if (all && pop_only)
        for (uint32_t j = 0; j < f->n_items; j++)
            out[j] = f->warm[j] ? (float)log1p((double)m->pop[j]) : cf_featmap_score(f, z, j);
    else if (all) {
        /* Warm items keep the model's score: one copy, then the cold ones. */
        memcpy(out, all, (size_t)f->n_items * sizeof *out);
        for (uint32_t c = 0; c < f->ncold; c++)
            out[f->cold[c]] = cf_featmap_score(f, z, f->cold[c]);
    }
    free(z);
    return all ? 0 : -1;
}
