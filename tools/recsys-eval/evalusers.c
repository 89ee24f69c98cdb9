/* evalusers.c: R5/R6/R7 user hold-out splits and the evaluator's anchors
 * (see evalusers.h). */
#include "tools/recsys-eval/evalusers.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/base/rng.h"

static void permute(uint32_t *p, uint32_t n, uint64_t seed)
{
    rng_t g;
    rng_seed(&g, seed);
    for (uint32_t i = 0; i < n; i++)
        p[i] = i;
    for (uint32_t i = n; i > 1; i--) {
        uint32_t j = (uint32_t)rng_below(&g, i);
        uint32_t t = p[i - 1];
        p[i - 1] = p[j];
        p[j] = t;
    }
}

static const ratings_t *sort_src;

static int cmp_row(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    int64_t tx = ratings_ts(sort_src, x), ty = ratings_ts(sort_src, y);
    if (tx != ty)
        return tx < ty ? -1 : 1;
    return x < y ? -1 : x > y;
}

int evalusers_split_make(const dataset_t *ds, double frac, uint64_t seed, int validation,
                         double val_frac, evalusers_split_t **out, err_t *err)
{
    *out = NULL;
    const ratings_t *r = ds->ratings;
    if (!r || r->n == 0)
        return err_set(err, "the dataset has no ratings");
    if (!(frac > 0 && frac < 1))
        return err_set(err, "user share %g: expected 0 < share < 1", frac);
    evalusers_split_t *s = calloc(1, sizeof *s);
    if (!s)
        return err_set(err, "out of memory");
    s->ds = ds;
    s->nusers = idmap_size(ds->users);
    s->ncat = catalog_size(ds->catalog);
    uint32_t nu = s->nusers;
    s->role = calloc(nu ? nu : 1, 1);
    s->users = malloc((nu ? nu : 1) * sizeof *s->users);
    s->off = calloc((size_t)nu + 1, sizeof *s->off);
    s->item = malloc(r->n * sizeof *s->item);
    s->value = malloc(r->n * sizeof *s->value);
    s->row = malloc(r->n * sizeof *s->row);
    uint32_t *perm = malloc((nu ? nu : 1) * sizeof *perm);
    if (!s->role || !s->users || !s->off || !s->item || !s->value || !s->row || !perm) {
        free(perm);
        evalusers_split_free(s);
        return err_set(err, "out of memory");
    }
    permute(perm, nu, seed);
    uint32_t ntest = (uint32_t)llround(frac * nu);
    if (ntest < 1)
        ntest = 1;
    for (uint32_t i = 0; i < ntest && i < nu; i++)
        s->role[perm[i]] = EVALUSERS_TEST;
    if (validation) {
        /* The train users, in index order, permuted by the second stream. */
        uint32_t ntr = 0;
        for (uint32_t u = 0; u < nu; u++)
            if (s->role[u] == EVALUSERS_TRAIN)
                s->users[ntr++] = u;
        permute(perm, ntr, seed ^ EVALUSERS_VAL_SALT);
        uint32_t nval = (uint32_t)llround(val_frac * ntr);
        if (nval < 1)
            nval = 1;
        for (uint32_t u = 0; u < nu; u++)
            if (s->role[u] == EVALUSERS_TEST)
                s->role[u] = EVALUSERS_OUT;
        for (uint32_t i = 0; i < nval && i < ntr; i++)
            s->role[s->users[perm[i]]] = EVALUSERS_TEST;
    }
    free(perm);
    for (uint32_t u = 0; u < nu; u++) {
        if (s->role[u] == EVALUSERS_TEST)
            s->users[s->nevaluated++] = u;
        else if (s->role[u] == EVALUSERS_TRAIN)
            s->ntrain_users++;
    }
    /* Per user rows in time order, ties by file order. */
    for (size_t i = 0; i < r->n; i++)
        s->off[r->user[i] + 1]++;
    for (uint32_t u = 0; u < nu; u++)
        s->off[u + 1] += s->off[u];
    size_t *pos = malloc(((size_t)nu + 1) * sizeof *pos);
    if (!pos) {
        evalusers_split_free(s);
        return err_set(err, "out of memory");
    }
    memcpy(pos, s->off, ((size_t)nu + 1) * sizeof *pos);
    for (size_t i = 0; i < r->n; i++)
        s->row[pos[r->user[i]]++] = i;
    free(pos);
    sort_src = r;
    for (uint32_t u = 0; u < nu; u++)
        qsort(s->row + s->off[u], s->off[u + 1] - s->off[u], sizeof *s->row, cmp_row);
    for (size_t i = 0; i < r->n; i++) {
        s->item[i] = r->item[s->row[i]];
        s->value[i] = r->value[s->row[i]];
    }
    *out = s;
    return 0;
}

void evalusers_split_free(evalusers_split_t *s)
{
    if (!s)
        return;
    free(s->role);
    free(s->users);
    free(s->off);
    free(s->item);
    free(s->value);
    free(s->row);
    free(s);
}

static ratings_t *rows_of(const evalusers_split_t *s, int role, int with_ts)
{
    const ratings_t *r = s->ds->ratings;
    ratings_t *t = ratings_new(s->ds->users, with_ts && r->has_ts);
    if (!t)
        return NULL;
    for (size_t i = 0; i < r->n; i++)
        if (s->role[r->user[i]] == role &&
            ratings_add(t, r->user[i], r->item[i], r->value[i], ratings_ts(r, i)) != 0) {
            ratings_free(t);
            return NULL;
        }
    return t;
}

ratings_t *evalusers_train(const evalusers_split_t *s, int with_ts)
{
    return rows_of(s, EVALUSERS_TRAIN, with_ts);
}

ratings_t *evalusers_test(const evalusers_split_t *s) { return rows_of(s, EVALUSERS_TEST, 1); }

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int in_sorted(const uint32_t *v, size_t n, uint32_t x)
{
    return bsearch(&x, v, n, sizeof *v, cmp_u32) != NULL;
}

size_t evalusers_r5_case(const evalusers_split_t *s, uint32_t user, size_t n, int drop_low,
                         float low_max, float rel_min, uint32_t *hist, float *hist_value,
                         size_t *nhist, uint32_t *excl, size_t *nexcl, uint32_t *rel)
{
    size_t a = s->off[user], b = s->off[user + 1];
    size_t h = b - a < n ? b - a : n;
    size_t nh = 0;
    for (size_t i = 0; i < h; i++) {
        excl[i] = s->item[a + i];
        if (drop_low && s->value[a + i] <= low_max)
            continue;
        hist[nh] = s->item[a + i];
        hist_value[nh] = s->value[a + i];
        nh++;
    }
    *nhist = nh;
    *nexcl = h;
    qsort(excl, h, sizeof *excl, cmp_u32);
    size_t nr = 0;
    for (size_t i = a + h; i < b; i++)
        if (s->value[i] >= rel_min && !in_sorted(excl, h, s->item[i]))
            rel[nr++] = s->item[i];
    qsort(rel, nr, sizeof *rel, cmp_u32);
    size_t w = 0; /* repeats (an item rated twice) count once */
    for (size_t i = 0; i < nr; i++)
        if (w == 0 || rel[w - 1] != rel[i])
            rel[w++] = rel[i];
    return w;
}

size_t evalusers_r6_case(const evalusers_split_t *s, uint32_t user, float query_min, float rel_min,
                         uint32_t *query, uint32_t *rel)
{
    size_t a = s->off[user], b = s->off[user + 1];
    *query = EVALUSERS_NONE;
    for (size_t i = a; i < b; i++)
        if (s->value[i] >= query_min) {
            *query = s->item[i];
            break;
        }
    if (*query == EVALUSERS_NONE)
        return 0;
    size_t nr = 0;
    for (size_t i = a; i < b; i++)
        if (s->value[i] >= rel_min && s->item[i] != *query)
            rel[nr++] = s->item[i];
    qsort(rel, nr, sizeof *rel, cmp_u32);
    size_t w = 0;
    for (size_t i = 0; i < nr; i++)
        if (w == 0 || rel[w - 1] != rel[i])
            rel[w++] = rel[i];
    return w;
}

size_t evalusers_max_ratings(const evalusers_split_t *s)
{
    size_t m = 1;
    for (uint32_t u = 0; u < s->nusers; u++)
        if (s->off[u + 1] - s->off[u] > m)
            m = s->off[u + 1] - s->off[u];
    return m;
}

/* ---- item-kNN ---- */

void evalknn_free(evalknn_t *k)
{
    if (!k)
        return;
    free(k->iu_off);
    free(k->iu);
    free(k->ui_off);
    free(k->ui);
    free(k->count);
    free(k->co);
    free(k);
}

int evalknn_build(const ratings_t *r, uint32_t nusers, uint32_t nitems, evalknn_t **out, err_t *err)
{
    *out = NULL;
    evalknn_t *k = calloc(1, sizeof *k);
    if (!k)
        return err_set(err, "out of memory");
    k->nitems = nitems;
    k->nusers = nusers;
    size_t n = r->n;
    k->ui_off = calloc((size_t)nusers + 1, sizeof *k->ui_off);
    k->iu_off = calloc((size_t)nitems + 1, sizeof *k->iu_off);
    k->ui = malloc((n ? n : 1) * sizeof *k->ui);
    k->iu = malloc((n ? n : 1) * sizeof *k->iu);
    k->count = calloc(nitems ? nitems : 1, sizeof *k->count);
    k->co = calloc(nitems ? nitems : 1, sizeof *k->co);
    size_t *pos = malloc(((size_t)nusers + 1) * sizeof *pos);
    if (!k->ui_off || !k->iu_off || !k->ui || !k->iu || !k->count || !k->co || !pos) {
        free(pos);
        evalknn_free(k);
        return err_set(err, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        if (r->user[i] >= nusers || r->item[i] >= nitems) {
            free(pos);
            evalknn_free(k);
            return err_set(err, "rating %zu out of range", i);
        }
        k->ui_off[r->user[i] + 1]++;
    }
    for (uint32_t u = 0; u < nusers; u++)
        k->ui_off[u + 1] += k->ui_off[u];
    memcpy(pos, k->ui_off, ((size_t)nusers + 1) * sizeof *pos);
    for (size_t i = 0; i < n; i++)
        k->ui[pos[r->user[i]]++] = r->item[i];
    free(pos);
    /* Sort and deduplicate each user's items. */
    size_t w = 0;
    for (uint32_t u = 0; u < nusers; u++) {
        size_t a = k->ui_off[u], b = k->ui_off[u + 1];
        qsort(k->ui + a, b - a, sizeof *k->ui, cmp_u32);
        k->ui_off[u] = w;
        for (size_t i = a; i < b; i++)
            if (i == a || k->ui[i] != k->ui[i - 1])
                k->ui[w++] = k->ui[i];
    }
    k->ui_off[nusers] = w;
    for (size_t i = 0; i < w; i++)
        k->iu_off[k->ui[i] + 1]++;
    for (uint32_t j = 0; j < nitems; j++) {
        k->count[j] = (float)k->iu_off[j + 1];
        k->iu_off[j + 1] += k->iu_off[j];
    }
    size_t *ipos = malloc(((size_t)nitems + 1) * sizeof *ipos);
    if (!ipos) {
        evalknn_free(k);
        return err_set(err, "out of memory");
    }
    memcpy(ipos, k->iu_off, ((size_t)nitems + 1) * sizeof *ipos);
    for (uint32_t u = 0; u < nusers; u++)
        for (size_t i = k->ui_off[u]; i < k->ui_off[u + 1]; i++)
            k->iu[ipos[k->ui[i]]++] = u;
    free(ipos);
    *out = k;
    return 0;
}

void evalknn_cooc(evalknn_t *k, uint32_t item, float *co)
{
    memset(co, 0, (size_t)k->nitems * sizeof *co);
    if (item >= k->nitems)
        return;
    for (size_t a = k->iu_off[item]; a < k->iu_off[item + 1]; a++) {
        uint32_t u = k->iu[a];
        for (size_t b = k->ui_off[u]; b < k->ui_off[u + 1]; b++)
            co[k->ui[b]] += 1.0f;
    }
}

void evalknn_cosine(evalknn_t *k, uint32_t item, float *sim)
{
    evalknn_cooc(k, item, sim);
    if (item >= k->nitems)
        return;
    double ci = k->count[item];
    for (uint32_t j = 0; j < k->nitems; j++)
        sim[j] = sim[j] > 0 ? (float)(sim[j] / sqrt(ci * (double)k->count[j])) : 0.0f;
    sim[item] = 0;
}

void evalknn_score(evalknn_t *k, const uint32_t *hist, size_t n, float *scores)
{
    memset(scores, 0, (size_t)k->nitems * sizeof *scores);
    for (size_t h = 0; h < n; h++) {
        if (hist[h] >= k->nitems || k->count[hist[h]] == 0)
            continue;
        evalknn_cosine(k, hist[h], k->co);
        for (uint32_t j = 0; j < k->nitems; j++)
            scores[j] += k->co[j];
    }
}

/* ---- genre cosine ---- */

void evalgenre_score(const catalog_t *c, const uint32_t *hist, size_t n, float *profile,
                     float *scores)
{
    uint32_t ng = catalog_ngenres(c), ni = catalog_size(c);
    memset(profile, 0, (size_t)(ng ? ng : 1) * sizeof *profile);
    for (size_t h = 0; h < n; h++)
        for (uint32_t g = 0; g < catalog_item_ngenres(c, hist[h]); g++)
            profile[catalog_item_genre(c, hist[h], g)] += 1.0f;
    double norm = 0;
    for (uint32_t g = 0; g < ng; g++)
        norm += (double)profile[g] * profile[g];
    norm = sqrt(norm);
    for (uint32_t i = 0; i < ni; i++) {
        uint32_t m = catalog_item_ngenres(c, i);
        double dot = 0;
        for (uint32_t g = 0; g < m; g++)
            dot += profile[catalog_item_genre(c, i, g)];
        scores[i] = m && norm > 0 ? (float)(dot / (norm * sqrt((double)m))) : 0.0f;
    }
}
