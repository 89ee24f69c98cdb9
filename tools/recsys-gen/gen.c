/*
 * gen.c: the taste model and the streaming writers of `recsys-gen` (see gen.h
 * for the model's formulas).
 *
 * How it stays fast and small at MovieLens-25M scale: items are indexed once
 * per genre with cumulative popularity, so drawing an item for a user is "pick
 * a genre by the user's weights, then binary-search the genre's popularity"
 * (O(log items)), which gives the genre-and-popularity part of the choice
 * probability of gen.h; accepting a draw with probability
 * exp(clip(x_u . y_i) - PSI_MAX) adds the latent part exactly (about one
 * draw in four is kept). Repeats are rejected with a bitmap of the user's
 * items. Heavy users (more than a
 * quarter of the catalog, or too many rejections) switch to one pass over
 * all items with Efraimidis-Spirakis keys, which samples the same
 * distribution without replacement. Each user has an independent random
 * stream (seed, user), so the output never depends on buffer sizes or order
 * of evaluation, only on the options.
 */
#include "tools/recsys-gen/gen.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/base/rng.h"

#if defined(__clang__)
/* clang fuses a * b + c into FMA by default, gcc in ISO C mode does not:
 * keep both to plain IEEE operations so their builds write the same bytes. */
#pragma STDC FP_CONTRACT OFF
#endif

/* Model constants (documented in gen.h and tools/demo-data/README.md). */
#define K 8          /* latent factors */
#define LAMBDA 2.0   /* how strongly genre taste drives choice */
#define PSI_MAX 2.5  /* the latent affinity x_u . y_i is clipped to +-PSI_MAX in choice */
#define X_SD 1.2     /* user factors: sd per dimension (affinity sd ~1) */
#define RATE_GENRE 1.5 /* weight of the genre preference in the rating */
#define RATE_PSI 0.45  /* weight of x_u . y_i in the rating */
#define MU 3.60      /* rating level of an average item for an average user */
#define IMAX_G 11

enum { S_ITEM = 1, S_USER, S_COUNTS, S_TEXT, S_DEMOGRAPHICS, S_GENRE_VEC, S_DIRECTOR_VEC, S_DECADE_VEC };
#define STREAM(kind, i) (((uint64_t)(kind) << 40) + (uint64_t)(i))

/* ---- model -------------------------------------------------------------- */

typedef struct model {
    size_t m;
    uint32_t *mask, *director;
    int16_t *year;
    float *quality, *fac; /* fac: m x K */
    double *pop;
    /* per-genre index: entries of genre g are [cl_start[g], cl_start[g+1]) */
    uint32_t *ent_item;
    double *ent_cum;
    size_t cl_start[GEN_NGENRES + 1];
    double cl_mass[GEN_NGENRES];
    double qbar; /* popularity-weighted mean quality: ratings are centred on it */
    int64_t t_start, t_end;
    gen_layout_t layout;
    uint64_t seed;
    uint64_t world; /* seeds the item side: the options' seed for synth, fixed for demo */
} model_t;

typedef struct user {
    float pref[GEN_NGENRES], x[K];
    double cw_cum[GEN_NGENRES], expw[GEN_NGENRES];
    double bias, strict, fav_year;
    uint32_t fav_dir[3];
    int nfav_dir, halves;
} user_t;

static void model_free(model_t *m)
{
    free(m->mask);
    free(m->director);
    free(m->year);
    free(m->quality);
    free(m->fac);
    free(m->pop);
    free(m->ent_item);
    free(m->ent_cum);
}

static int model_alloc(model_t *m, size_t n, err_t *err)
{
    m->m = n;
    m->mask = calloc(n, sizeof *m->mask);
    m->director = calloc(n, sizeof *m->director);
    m->year = calloc(n, sizeof *m->year);
    m->quality = calloc(n, sizeof *m->quality);
    m->fac = calloc(n * K, sizeof *m->fac);
    m->pop = calloc(n, sizeof *m->pop);
    if (!m->mask || !m->director || !m->year || !m->quality || !m->fac || !m->pop)
        return err_set(err, "out of memory for %zu items", n);
    return 0;
}

/* A unit-length (in expectation) direction of the factor space for one
 * genre, director or decade. */
static void base_vec(uint64_t world, int kind, uint64_t key, double *v)
{
    rng_t r;
    rng_seed2(&r, world, STREAM(kind, 0) ^ rng_mix64(key));
    for (int k = 0; k < K; k++)
        v[k] = rng_normal(&r) * 0.35355339059327373; /* 1/sqrt(K) */
}

/* Quality, factors and a popularity key from one item stream. The factors
 * are a mix of the directions of the item's genres, its director and its
 * decade plus its own noise: films that share a director or genres lie close
 * together, so the users whose factors point their way pick and like them
 * together, and content models learn the same taste that CF does. */
static double item_latent(model_t *m, size_t i, uint64_t dir_key, rng_t *r)
{
    double g[K] = {0}, d[K], e[K], t[K];
    int ng = 0;
    for (int gi = 0; gi < GEN_NGENRES; gi++)
        if (m->mask[i] >> gi & 1) {
            base_vec(m->world, S_GENRE_VEC, (uint64_t)gi, t);
            for (int k = 0; k < K; k++)
                g[k] += t[k];
            ng++;
        }
    base_vec(m->world, S_DIRECTOR_VEC, dir_key, d);
    base_vec(m->world, S_DECADE_VEC, (uint64_t)(m->year[i] / 10), e);
    double gs = ng > 0 ? 0.7 / sqrt((double)ng) : 0;
    m->quality[i] = (float)(0.5 * rng_normal(r));
    for (int k = 0; k < K; k++)
        m->fac[i * K + k] = (float)(gs * g[k] + 0.6 * d[k] + 0.4 * e[k] + 0.6 * 0.35355339059327373 * rng_normal(r));
    return m->quality[i] + rng_normal(r); /* good items lean popular */
}

typedef struct keyed {
    double key;
    uint32_t idx;
} keyed_t;

static int cmp_key_desc(const void *a, const void *b)
{
    const keyed_t *x = a, *y = b;
    if (x->key != y->key)
        return x->key > y->key ? -1 : 1;
    return x->idx < y->idx ? -1 : (x->idx > y->idx);
}

/* Zipf popularity over the rank of keys, then the per-genre index. */
static int model_index(model_t *m, keyed_t *keys, const gen_params_t *p, err_t *err)
{
    qsort(keys, m->m, sizeof *keys, cmp_key_desc);
    double head = 1.0 + p->zipf_head * (double)m->m;
    for (size_t r = 0; r < m->m; r++)
        m->pop[keys[r].idx] = pow((double)r + head, -p->zipf);
    /* Popular items lean good, and how much of the data they take depends on
     * zipf and the catalog size: centring quality on what people actually
     * watch keeps the mean rating near MU's intent for every option. */
    double qs = 0, ps = 0;
    for (size_t i = 0; i < m->m; i++) {
        qs += m->pop[i] * m->quality[i];
        ps += m->pop[i];
    }
    m->qbar = ps > 0 ? qs / ps : 0;
    size_t count[GEN_NGENRES] = {0}, total = 0;
    for (size_t i = 0; i < m->m; i++)
        for (int g = 0; g < GEN_NGENRES; g++)
            if (m->mask[i] >> g & 1) {
                count[g]++;
                total++;
            }
    m->ent_item = malloc((total + 1) * sizeof *m->ent_item);
    m->ent_cum = malloc((total + 1) * sizeof *m->ent_cum);
    if (!m->ent_item || !m->ent_cum)
        return err_set(err, "out of memory for the genre index");
    m->cl_start[0] = 0;
    for (int g = 0; g < GEN_NGENRES; g++)
        m->cl_start[g + 1] = m->cl_start[g] + count[g];
    for (int g = 0; g < GEN_NGENRES; g++) {
        size_t e = m->cl_start[g];
        double cum = 0;
        for (size_t i = 0; i < m->m; i++)
            if (m->mask[i] >> g & 1) {
                cum += m->pop[i] / __builtin_popcount(m->mask[i]);
                m->ent_item[e] = (uint32_t)i;
                m->ent_cum[e++] = cum;
            }
        m->cl_mass[g] = cum;
    }
    return 0;
}

static uint32_t draw_item(const model_t *m, const user_t *u, rng_t *r)
{
    double v = rng_uniform(r) * u->cw_cum[GEN_NGENRES - 1];
    int g = 0;
    while (g < GEN_NGENRES - 1 && (u->cw_cum[g] <= v || m->cl_mass[g] == 0))
        g++;
    while (g > 0 && m->cl_mass[g] == 0) /* v rounded onto the very end */
        g--;
    size_t lo = m->cl_start[g], hi = m->cl_start[g + 1] - 1;
    double w = rng_uniform(r) * m->cl_mass[g];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->ent_cum[mid] > w)
            hi = mid;
        else
            lo = mid + 1;
    }
    return m->ent_item[lo];
}

/* x_u . y_i: the latent part of the user's affinity for item i. */
static double affinity(const model_t *m, const user_t *u, size_t i)
{
    const float *y = m->fac + i * K;
    double dot = 0;
    for (int k = 0; k < K; k++)
        dot += (double)u->x[k] * y[k];
    return dot;
}

static double clip_psi(double psi) { return psi > PSI_MAX ? PSI_MAX : (psi < -PSI_MAX ? -PSI_MAX : psi); }

/* The full choice weight p_i * mean_g exp(LAMBDA pref_g) * exp(clip(x_u . y_i)). */
static double choice_weight(const model_t *m, const user_t *u, size_t i)
{
    double s = 0;
    uint32_t mk = m->mask[i];
    for (int g = 0; mk; g++, mk >>= 1)
        if (mk & 1)
            s += u->expw[g];
    return m->pop[i] * s / __builtin_popcount(m->mask[i]) * exp(clip_psi(affinity(m, u, i)));
}

static void user_make(const model_t *m, uint32_t uid, user_t *u, rng_t *r)
{
    rng_seed2(r, m->seed, STREAM(S_USER, uid));
    for (int g = 0; g < GEN_NGENRES; g++)
        u->pref[g] = (float)(0.2 * rng_normal(r));
    /* Favourites lean to big genres, but only as the square root of their
     * mass: taste in Film-Noir or Westerns is common enough to matter. */
    double gw[GEN_NGENRES], total = 0;
    for (int g = 0; g < GEN_NGENRES; g++)
        total += gw[g] = sqrt(m->cl_mass[g]);
    int nfav = 1 + (rng_uniform(r) < 0.55) + (rng_uniform(r) < 0.2);
    int fav[3] = {-1, -1, -1};
    for (int f = 0; f < nfav; f++) {
        double v = rng_uniform(r) * total;
        int g = 0;
        while (g < GEN_NGENRES - 1 && (v >= gw[g] || gw[g] == 0))
            v -= gw[g++];
        while (g > 0 && gw[g] == 0)
            g--;
        fav[f] = g;
        u->pref[g] = (float)(0.6 + 0.4 * rng_uniform(r));
    }
    if (rng_uniform(r) < 0.6) {
        int g = (int)rng_below(r, GEN_NGENRES);
        if (g != fav[0] && g != fav[1] && g != fav[2])
            u->pref[g] = (float)-(0.4 + 0.5 * rng_uniform(r));
    }
    double cum = 0;
    for (int g = 0; g < GEN_NGENRES; g++) {
        u->pref[g] = u->pref[g] > 1 ? 1 : (u->pref[g] < -1 ? -1 : u->pref[g]);
        u->expw[g] = exp(LAMBDA * u->pref[g]);
        cum += m->cl_mass[g] * u->expw[g];
        u->cw_cum[g] = cum;
    }
    u->bias = 0.35 * rng_normal(r);
    u->strict = 0.7 + 0.6 * rng_uniform(r);
    for (int k = 0; k < K; k++)
        u->x[k] = (float)(X_SD * rng_normal(r));
    u->halves = rng_uniform(r) < 0.55;
    u->nfav_dir = (int)rng_below(r, 4);
    for (int d = 0; d < u->nfav_dir; d++)
        u->fav_dir[d] = m->director[draw_item(m, u, r)];
    u->fav_year = m->year[draw_item(m, u, r)] + 8 * rng_normal(r);
}

/* How much u's tastes favour item i, beyond its quality: genres, favourite
 * directors, era and the latent affinity. */
static double taste(const model_t *m, const user_t *u, size_t i)
{
    double aff = 0;
    int ng = 0;
    for (int g = 0; g < GEN_NGENRES; g++)
        if (m->mask[i] >> g & 1) {
            aff += u->pref[g];
            ng++;
        }
    aff /= ng;
    double dir = 0, dy = m->year[i] - u->fav_year;
    for (int d = 0; d < u->nfav_dir; d++)
        if (u->fav_dir[d] == m->director[i])
            dir = 0.5;
    double era = 0.35 * (exp(-dy * dy / 288.0) - 0.5);
    return RATE_GENRE * aff + dir + era + RATE_PSI * affinity(m, u, i);
}

/* The rating on a 0.5-step scale, as twice the stars (1..10). t is the
 * item's taste() minus its mean over the user's items: people choose what
 * suits them, so the level of taste says more about the catalog's size than
 * about the user; its spread is what says which of their items they like. */
static int rate(const model_t *m, const user_t *u, size_t i, double t, rng_t *r)
{
    double v = MU + u->bias + u->strict * (m->quality[i] - m->qbar + t) + 0.6 * rng_normal(r);
    int whole = !u->halves || m->layout == GEN_ML_100K || m->layout == GEN_ML_1M;
    long r2 = whole ? 2 * lround(v) : lround(2 * v);
    return r2 < (whole ? 2 : 1) ? (whole ? 2 : 1) : (r2 > 10 ? 10 : (int)r2);
}

/* ---- counts per user ---------------------------------------------------- */

/* Log-normal counts above mn, capped, summing exactly to total (water-filling). */
static uint32_t *plan_counts(uint64_t seed, uint32_t n, uint64_t total, uint32_t mn, uint32_t cap,
                             err_t *err)
{
    uint32_t *cnt = malloc(n * sizeof *cnt);
    double *x = malloc(n * sizeof *x);
    if (cnt == NULL || x == NULL) {
        free(cnt);
        free(x);
        err_set(err, "out of memory for %u users", n);
        return NULL;
    }
    rng_t r;
    rng_seed2(&r, seed, STREAM(S_COUNTS, 0));
    for (uint32_t u = 0; u < n; u++) {
        cnt[u] = mn;
        x[u] = exp(1.4 * rng_normal(&r));
    }
    double rem = (double)(total - (uint64_t)n * mn), extra = cap - mn;
    for (int changed = 1; changed && rem > 0;) {
        changed = 0;
        double s = 0, capped = 0;
        for (uint32_t u = 0; u < n; u++)
            s += x[u] > 0 ? x[u] : 0;
        for (uint32_t u = 0; u < n && s > 0; u++)
            if (x[u] > 0 && rem * x[u] / s >= extra) {
                cnt[u] = cap;
                x[u] = -1;
                capped += extra;
                changed = 1;
            }
        rem -= capped;
    }
    double s = 0;
    for (uint32_t u = 0; u < n; u++)
        s += x[u] > 0 ? x[u] : 0;
    uint64_t given = 0;
    for (uint32_t u = 0; u < n && s > 0; u++)
        if (x[u] > 0) {
            uint32_t e = (uint32_t)floor(rem * x[u] / s);
            e = e > extra ? (uint32_t)extra : e;
            cnt[u] += e;
            given += e;
        }
    /* Rounding left a few (or, through float error, -a few): spread them. */
    int64_t left = llround(rem) - (int64_t)given;
    for (uint32_t u = (uint32_t)rng_below(&r, n); left != 0; u = (u + 1) % n)
        if (left > 0 && cnt[u] < cap) {
            cnt[u]++;
            left--;
        } else if (left < 0 && cnt[u] > mn) {
            cnt[u]--;
            left++;
        }
    free(x);
    return cnt;
}

/* ---- one user's ratings ------------------------------------------------- */

typedef struct rated {
    int64_t ts;
    uint32_t item;
    int r2; /* stars x 2 */
    double taste;
} rated_t;

typedef struct scratch {
    uint64_t *seen; /* bitmap over items, all zero between users */
    rated_t *out;   /* max ratings per user */
    keyed_t *keys;  /* items, allocated when a heavy user first needs it */
} scratch_t;

static int cmp_rated(const void *a, const void *b)
{
    const rated_t *x = a, *y = b;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return x->item < y->item ? -1 : (x->item > y->item);
}

/* Moves the `want` largest keys to the front (quickselect, random pivots). */
static void select_top(keyed_t *a, size_t n, size_t want, rng_t *r)
{
    if (want == 0 || want >= n)
        return;
    size_t lo = 0, hi = n, k = want - 1;
    while (hi - lo > 1) {
        size_t p = lo + rng_below(r, hi - lo), st = lo;
        keyed_t t = a[p];
        a[p] = a[hi - 1];
        a[hi - 1] = t;
        for (size_t i = lo; i + 1 < hi; i++)
            if (cmp_key_desc(&a[i], &a[hi - 1]) < 0) {
                t = a[i];
                a[i] = a[st];
                a[st++] = t;
            }
        t = a[st];
        a[st] = a[hi - 1];
        a[hi - 1] = t;
        if (st == k)
            return;
        if (k < st)
            hi = st;
        else
            lo = st + 1;
    }
}

#define SEEN(sc, i) ((sc)->seen[(i) >> 6] >> ((i) & 63) & 1)
#define MARK(sc, i) ((sc)->seen[(i) >> 6] |= 1ULL << ((i) & 63))

/* Efraimidis-Spirakis: key log(U)/w, the largest keys are a weighted sample
 * without replacement. */
static int draw_heavy(const model_t *m, const user_t *u, rng_t *r, scratch_t *sc, uint32_t have,
                      uint32_t n, err_t *err)
{
    if (sc->keys == NULL && (sc->keys = malloc(m->m * sizeof *sc->keys)) == NULL)
        return err_set(err, "out of memory for %zu sampling keys", m->m);
    size_t k = 0;
    for (size_t i = 0; i < m->m; i++)
        if (!SEEN(sc, i)) {
            sc->keys[k].key = log(rng_uniform_pos(r)) / choice_weight(m, u, i);
            sc->keys[k++].idx = (uint32_t)i;
        }
    select_top(sc->keys, k, n - have, r);
    for (uint32_t j = 0; have < n; j++) {
        MARK(sc, sc->keys[j].idx);
        sc->out[have++].item = sc->keys[j].idx;
    }
    return 0;
}

static int user_generate(const model_t *m, uint32_t uid, uint32_t n, scratch_t *sc, err_t *err)
{
    user_t u;
    rng_t r;
    user_make(m, uid, &u, &r);
    uint32_t have = 0;
    if ((uint64_t)n * 4 <= m->m) {
        for (uint64_t budget = 8ULL * n + 64; have < n && budget > 0;) {
            uint32_t i = draw_item(m, &u, &r);
            if (SEEN(sc, i)) {
                budget--;
                continue;
            }
            /* Rejection turns the genre-weighted proposal into the full
             * choice weight; acceptance is at least exp(-2 PSI_MAX). */
            if (rng_uniform(&r) >= exp(clip_psi(affinity(m, &u, i)) - PSI_MAX))
                continue;
            MARK(sc, i);
            sc->out[have++].item = i;
        }
    }
    if (have < n && draw_heavy(m, &u, &r, sc, have, n, err) != 0)
        return -1;
    /* An active period (minutes to years) inside the layout's time range. */
    double range = (double)(m->t_end - m->t_start);
    double d = exp(log(86400.0 * 20) + 2.2 * rng_normal(&r));
    d = d < 30.0 * n ? 30.0 * n : d;
    d = d > range ? range : d;
    double start = (double)m->t_start + rng_uniform(&r) * (range - d);
    double tbar = 0;
    for (uint32_t j = 0; j < n; j++)
        tbar += sc->out[j].taste = taste(m, &u, sc->out[j].item);
    tbar /= n;
    for (uint32_t j = 0; j < n; j++) {
        rated_t *x = &sc->out[j];
        double ts = start + rng_uniform(&r) * d;
        double rel = (m->year[x->item] - 1970) * 31556952.0 + rng_uniform(&r) * 180 * 86400.0;
        x->ts = (int64_t)(ts > rel ? ts : rel);
        x->r2 = rate(m, &u, x->item, x->taste - tbar, &r);
    }
    qsort(sc->out, n, sizeof *sc->out, cmp_rated);
    for (uint32_t j = 0; j < n; j++) {
        if (j > 0 && sc->out[j].ts <= sc->out[j - 1].ts)
            sc->out[j].ts = sc->out[j - 1].ts + 1;
        sc->seen[sc->out[j].item >> 6] = 0;
    }
    return 0;
}

/* ---- buffered output ---------------------------------------------------- */

#define WB_CAP (1 << 18)

typedef struct wbuf {
    FILE *f;
    char *path;
    size_t n;
    char buf[WB_CAP];
} wbuf_t;

static wbuf_t *wb_open(const char *dir, const char *name, err_t *err)
{
    wbuf_t *w = malloc(sizeof *w);
    size_t len = strlen(dir) + strlen(name) + 2;
    char *path = malloc(len);
    if (w == NULL || path == NULL) {
        free(w);
        free(path);
        err_set(err, "out of memory");
        return NULL;
    }
    snprintf(path, len, "%s/%s", dir, name);
    w->f = fopen(path, "wb");
    if (w->f == NULL) {
        err_errno(err, "%s", path);
        free(path);
        free(w);
        return NULL;
    }
    w->path = path;
    w->n = 0;
    return w;
}

static void wb_flush(wbuf_t *w)
{
    if (w->n > 0)
        fwrite(w->buf, 1, w->n, w->f); /* errors are sticky: checked in wb_close */
    w->n = 0;
}

static void wb_put(wbuf_t *w, const char *s, size_t len)
{
    if (w->n + len > WB_CAP) {
        wb_flush(w);
        if (len > WB_CAP) {
            fwrite(s, 1, len, w->f);
            return;
        }
    }
    memcpy(w->buf + w->n, s, len);
    w->n += len;
}

static void wb_str(wbuf_t *w, const char *s) { wb_put(w, s, strlen(s)); }

static void wb_u64(wbuf_t *w, uint64_t v)
{
    char tmp[24];
    int i = 24;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    wb_put(w, tmp + i, (size_t)(24 - i));
}

/* A CSV field, quoted only when it must be (RFC 4180). */
static void wb_csv(wbuf_t *w, const char *s)
{
    if (strpbrk(s, ",\"\r\n") == NULL) {
        wb_str(w, s);
        return;
    }
    wb_put(w, "\"", 1);
    for (; *s; s++) {
        if (*s == '"')
            wb_put(w, "\"", 1);
        wb_put(w, s, 1);
    }
    wb_put(w, "\"", 1);
}

/* Closes w (NULL is fine); returns -1 with a message if anything failed. */
static int wb_close(wbuf_t *w, int ok, err_t *err)
{
    if (w == NULL)
        return ok ? 0 : -1;
    wb_flush(w);
    int bad = ferror(w->f);
    if (fclose(w->f) != 0)
        bad = 1;
    if (bad && ok)
        ok = err_errno(err, "%s: write failed", w->path) + 1;
    free(w->path);
    free(w);
    return ok ? 0 : -1;
}

static int mkdir_p(const char *dir, err_t *err)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path)
        return err_set(err, "%s: path too long", dir);
    for (char *p = path + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(path, 0755) != 0 && errno != EEXIST)
                return err_errno(err, "mkdir %s", path);
            *p = c;
            if (c == '\0')
                break;
        }
    }
    return 0;
}

/* ---- synthetic catalog text --------------------------------------------- */

static const char *const adjectives[] = {
    "silent", "last", "broken", "golden", "hidden", "crimson", "distant", "endless", "wild",
    "quiet", "burning", "frozen", "secret", "lonely", "bright", "dark", "lost", "hollow",
    "savage", "gentle", "restless", "forgotten", "electric", "paper", "iron", "velvet",
    "midnight", "northern", "little", "bitter", "eerie", "ancient",
};
static const char *const nouns[] = {
    "harbor", "garden", "river", "kingdom", "mirror", "station", "winter", "summer",
    "frontier", "city", "road", "island", "letter", "engine", "shadow", "orchard", "signal",
    "crown", "desert", "forest", "tide", "circus", "lighthouse", "valley", "empire",
    "horizon", "storm", "castle", "ocean", "bridge", "machine", "promise",
};
static const char *const first_names[] = {
    "Anna", "Marco", "Yuki", "David", "Elena", "Samuel", "Priya", "Lucas", "Mei", "Oscar",
    "Ingrid", "Tomas", "Amara", "Felix", "Nadia", "Hugo", "Sofia", "Jonas", "Leila", "Victor",
    "Clara", "Mateo", "Hana", "Ruben", "Iris", "Kenji", "Greta", "Pablo", "Zara", "Emil",
    "Rosa", "Idris",
};
static const char *const last_names[] = {
    "Lindqvist", "Moreau", "Tanaka", "Okafor", "Rossi", "Novak", "Haddad", "Kowalski",
    "Fischer", "Alvarez", "Brennan", "Castillo", "Duval", "Eriksen", "Fontaine", "Garrido",
    "Horvath", "Ivanova", "Jansen", "Kimura", "Laurent", "Mendes", "Nakamura", "Ortega",
    "Petrov", "Quinn", "Reyes", "Sato", "Torres", "Varga", "Weber", "Young",
};
static const char *const genre_nouns[GEN_NGENRES] = {
    "action film", "adventure", "animated film", "family film", "comedy", "crime story",
    "documentary", "drama", "fantasy", "film noir", "horror film", "large-format film",
    "musical", "mystery", "romance", "science-fiction film", "thriller", "war film", "western",
};
static const char *const genre_keywords[GEN_NGENRES][4] = {
    {"chase", "explosion", "revenge", "heist"}, {"journey", "treasure", "jungle", "quest"},
    {"talking animals", "friendship", "magic", "toys"}, {"family", "school", "pets", "growing up"},
    {"wedding", "road trip", "misunderstanding", "roommates"}, {"gangster", "detective", "robbery", "police"},
    {"interview", "nature", "history", "music"}, {"family", "grief", "ambition", "small town"},
    {"dragon", "wizard", "curse", "kingdom"}, {"femme fatale", "private eye", "murder", "city"},
    {"haunted house", "monster", "ghost", "slasher"}, {"spectacle", "space", "ocean", "mountains"},
    {"singing", "dance", "broadway", "band"}, {"whodunit", "disappearance", "secret", "investigation"},
    {"love", "marriage", "first love", "affair"}, {"space", "robot", "time travel", "future"},
    {"conspiracy", "hostage", "serial killer", "stalker"}, {"soldier", "battle", "resistance", "prisoner"},
    {"cowboy", "outlaw", "ranch", "gunfight"},
};
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* "Marco K. Tanaka": 32 x 26 x 32 = 26624 distinct names; multiplying by a
 * number prime to 26624 scatters consecutive ids over all three parts. */
static void person_name(uint64_t id, char *buf, size_t size)
{
    id = id * 7919 % 26624;
    snprintf(buf, size, "%s %c. %s", first_names[id % 32], (char)('A' + id / 32 % 26),
             last_names[id / (32 * 26) % 32]);
}

static void cap_first(char *s)
{
    if (*s >= 'a' && *s <= 'z')
        *s = (char)(*s - 'a' + 'A');
}

/* A title from the item's text stream. MovieLens moves a leading article to
 * the end ("Silent Harbor, The (1987)"); plain keeps it in front. */
static void synth_title(rng_t *r, int ml, int year, char *buf, size_t size)
{
    char a[32], n[32], n2[32];
    snprintf(a, sizeof a, "%s", adjectives[rng_below(r, NELEM(adjectives))]);
    snprintf(n, sizeof n, "%s", nouns[rng_below(r, NELEM(nouns))]);
    snprintf(n2, sizeof n2, "%s", nouns[rng_below(r, NELEM(nouns))]);
    cap_first(a);
    cap_first(n);
    cap_first(n2);
    const char *art = NULL;
    char core[128];
    switch (rng_below(r, 5)) {
    case 0: art = "The"; snprintf(core, sizeof core, "%s %s", a, n); break;
    case 1: snprintf(core, sizeof core, "%s of the %s", n, n2); break;
    case 2: snprintf(core, sizeof core, "%s %s", a, n); break;
    case 3: art = "A"; snprintf(core, sizeof core, "%s for %s", n, n2); break;
    default: snprintf(core, sizeof core, "%s%s", n, rng_below(r, 4) == 0 ? " II" : ""); break;
    }
    if (!ml)
        snprintf(buf, size, "%s%s%s", art ? art : "", art ? " " : "", core);
    else
        snprintf(buf, size, "%s%s%s (%d)", core, art ? ", " : "", art ? art : "", year);
}

static int build_synth(model_t *m, const gen_params_t *p, err_t *err)
{
    static const double gw[GEN_NGENRES] = {8, 4, 2, 2, 20, 5, 4, 25, 2, 0.5, 6, 0, 1.5, 2, 5, 3.5, 7, 1.5, 1};
    static const int ymax[] = {2017, 2017, 1997, 2000};
    static const int64_t t0[] = {822873600, 822873600, 874724710, 956703932};
    static const int64_t t1[] = {1537747200, 1537747200, 893286638, 1046454590};
    if (model_alloc(m, p->items, err) != 0)
        return -1;
    m->t_start = t0[p->layout];
    m->t_end = t1[p->layout];
    keyed_t *keys = malloc(m->m * sizeof *keys);
    if (keys == NULL)
        return err_set(err, "out of memory for %zu items", m->m);
    double gsum = 0;
    for (int g = 0; g < GEN_NGENRES; g++)
        gsum += gw[g];
    uint32_t per_genre = p->items / 5 / GEN_NGENRES + 1; /* ~5 films per director */
    for (size_t i = 0; i < m->m; i++) {
        rng_t r;
        rng_seed2(&r, m->seed, STREAM(S_ITEM, i));
        int extra = rng_uniform(&r) < 0.45 ? 0 : (rng_uniform(&r) < 0.64 ? 1 : 2);
        for (int e = 0; e <= extra; e++) {
            double v = rng_uniform(&r) * gsum;
            int g = 0;
            while (g < GEN_NGENRES - 1 && v >= gw[g])
                v -= gw[g++];
            if (e == 0) /* directors work mostly in one genre */
                m->director[i] = (uint32_t)g + GEN_NGENRES * (uint32_t)rng_below(&r, per_genre);
            m->mask[i] |= 1u << g;
        }
        int y = ymax[p->layout] - (int)(rng_exponential(&r) * 15);
        m->year[i] = (int16_t)(y < 1915 ? 1915 + (int)rng_below(&r, 20) : y);
        keys[i].key = item_latent(m, i, m->director[i], &r);
        keys[i].idx = (uint32_t)i;
    }
    int rc = model_index(m, keys, p, err);
    free(keys);
    return rc;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int build_demo(model_t *m, const gen_catalog_t *cat, const gen_params_t *p, err_t *err)
{
    if (model_alloc(m, cat->n, err) != 0)
        return -1;
    m->t_start = 1199145600; /* 2008-01-01 .. 2024-12-31 */
    m->t_end = 1735603200;
    keyed_t *keys = malloc(m->m * sizeof *keys);
    char **dirs = malloc(m->m * sizeof *dirs);
    if (keys == NULL || dirs == NULL) {
        free(keys);
        free(dirs);
        return err_set(err, "out of memory for %zu items", m->m);
    }
    for (size_t i = 0; i < m->m; i++) { /* director id: rank of the first director's name */
        const char *d = cat->films[i].directors;
        dirs[i] = strndup(d, strcspn(d, "|"));
    }
    char **sorted = malloc(m->m * sizeof *sorted);
    int rc = 0;
    for (size_t i = 0; i < m->m; i++)
        if (dirs[i] == NULL)
            rc = -1;
    for (size_t i = 0; rc == 0 && i < m->m; i++) {
        const gen_film_t *f = &cat->films[i];
        rng_t r; /* from the id alone: a film's quality does not change with --seed */
        rng_seed(&r, rng_hash_str(f->id));
        m->mask[i] = f->genre_mask;
        m->year[i] = (int16_t)f->year;
        keys[i].key = item_latent(m, i, rng_hash_str(dirs[i]), &r);
        keys[i].idx = (uint32_t)i;
    }
    if (sorted == NULL || rc != 0) {
        rc = err_set(err, "out of memory for directors");
    } else {
        memcpy(sorted, dirs, m->m * sizeof *sorted);
        qsort(sorted, m->m, sizeof *sorted, cmp_str);
        for (size_t i = 0; i < m->m; i++) {
            char **hit = bsearch(&dirs[i], sorted, m->m, sizeof *sorted, cmp_str);
            while (hit > sorted && strcmp(hit[-1], *hit) == 0) /* same name, same id */
                hit--;
            m->director[i] = (uint32_t)(hit - sorted);
        }
        rc = model_index(m, keys, p, err);
    }
    for (size_t i = 0; i < m->m; i++)
        free(dirs[i]);
    free(dirs);
    free(sorted);
    free(keys);
    return rc;
}

/* ---- item files ---------------------------------------------------------- */

/* Genres in MovieLens order; ml-1m spells Children "Children's". */
static void genre_list(uint32_t mask, int old_names, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int g = 0; g < GEN_NGENRES && n < size; g++)
        if (mask >> g & 1)
            n += (size_t)snprintf(buf + n, size - n, "%s%s%s", n ? "|" : "", gen_genre_names[g],
                                  old_names && g == 3 ? "'s" : "");
}

/* The plain layout's extra columns: directors .. overview. */
static void write_plain_extras(wbuf_t *w, const model_t *m, size_t i, rng_t *r)
{
    char name[96], kw[5][24];
    int nkw = 0, want = 3 + (int)rng_below(r, 3);
    person_name(m->director[i], name, sizeof name);
    wb_put(w, ",", 1);
    wb_str(w, name);
    wb_put(w, ",", 1);
    uint64_t actors = m->m / 2 + 50;
    for (int c = 0, nc = 2 + (int)rng_below(r, 3); c < nc; c++) {
        person_name(100000 + rng_below(r, actors), name, sizeof name);
        wb_str(w, c ? "|" : "");
        wb_str(w, name);
    }
    int gs[GEN_NGENRES], ng = 0;
    for (int g = 0; g < GEN_NGENRES; g++)
        if (m->mask[i] >> g & 1)
            gs[ng++] = g;
    for (int t = 0; t < 12 && nkw < want; t++) {
        const char *k = genre_keywords[gs[rng_below(r, (uint64_t)ng)]][rng_below(r, 4)];
        int dup = 0;
        for (int j = 0; j < nkw; j++)
            dup |= strcmp(kw[j], k) == 0;
        if (!dup)
            snprintf(kw[nkw++], sizeof kw[0], "%s", k);
    }
    wb_put(w, ",", 1);
    for (int j = 0; j < nkw; j++) {
        wb_str(w, j ? "|" : "");
        wb_str(w, kw[j]);
    }
    const char *adj = adjectives[rng_below(r, NELEM(adjectives))];
    char ov[256];
    snprintf(ov, sizeof ov, "%s %s %s about %s%s%s.", strchr("aeiou", adj[0]) ? "An" : "A", adj,
             genre_nouns[gs[0]], kw[0], nkw > 1 ? " and " : "", nkw > 1 ? kw[1] : "");
    wb_put(w, ",", 1);
    wb_csv(w, ov);
}

static int write_items(const model_t *m, const char *dir, err_t *err)
{
    static const char *const files[] = {"items.csv", "movies.csv", "u.item", "movies.dat"};
    wbuf_t *w = wb_open(dir, files[m->layout], err);
    if (w == NULL)
        return -1;
    if (m->layout == GEN_PLAIN)
        wb_str(w, GEN_CATALOG_HEADER "\n");
    else if (m->layout == GEN_ML_LATEST)
        wb_str(w, "movieId,title,genres\n");
    char title[160], genres[256];
    for (size_t i = 0; i < m->m; i++) {
        rng_t r;
        rng_seed2(&r, m->seed, STREAM(S_TEXT, i));
        synth_title(&r, m->layout != GEN_PLAIN, m->year[i], title, sizeof title);
        genre_list(m->mask[i], m->layout == GEN_ML_1M, genres, sizeof genres);
        wb_u64(w, i + 1);
        switch (m->layout) {
        case GEN_PLAIN:
            wb_put(w, ",", 1);
            wb_csv(w, title);
            wb_put(w, ",", 1);
            wb_u64(w, (uint64_t)m->year[i]);
            wb_put(w, ",", 1);
            wb_str(w, genres);
            write_plain_extras(w, m, i, &r);
            break;
        case GEN_ML_LATEST:
            wb_put(w, ",", 1);
            wb_csv(w, title);
            wb_put(w, ",", 1);
            wb_str(w, genres);
            break;
        case GEN_ML_100K: /* id|title|date|video date|url|19 flags (unknown first, no IMAX) */
            snprintf(genres, sizeof genres, "|%s|01-Jan-%d||http://example.invalid/movie/%zu|0", title,
                     m->year[i], i + 1);
            wb_str(w, genres);
            for (int g = 0; g < GEN_NGENRES; g++)
                if (g != IMAX_G)
                    wb_str(w, m->mask[i] >> g & 1 ? "|1" : "|0");
            break;
        case GEN_ML_1M:
            wb_str(w, "::");
            wb_str(w, title);
            wb_str(w, "::");
            wb_str(w, genres);
            break;
        }
        wb_put(w, "\n", 1);
    }
    return wb_close(w, 1, err);
}

/* ml-100k's u.genre, u.info, u.user and ml-1m's users.dat. */
static int write_extras(const model_t *m, const gen_params_t *p, const char *dir, err_t *err)
{
    static const char *const occupations[] = {
        "administrator", "artist", "doctor", "educator", "engineer", "entertainment", "executive",
        "healthcare", "homemaker", "lawyer", "librarian", "marketing", "none", "other",
        "programmer", "retired", "salesman", "scientist", "student", "technician", "writer"};
    static const int ages[] = {1, 18, 25, 35, 45, 50, 56};
    char line[160];
    if (m->layout == GEN_ML_100K) {
        wbuf_t *w = wb_open(dir, "u.genre", err);
        if (w == NULL)
            return -1;
        wb_str(w, "unknown|0\n");
        for (int g = 0, k = 1; g < GEN_NGENRES; g++)
            if (g != IMAX_G) {
                snprintf(line, sizeof line, "%s%s|%d\n", gen_genre_names[g], g == 3 ? "'s" : "", k++);
                wb_str(w, line);
            }
        if (wb_close(w, 1, err) != 0 || (w = wb_open(dir, "u.info", err)) == NULL)
            return -1;
        snprintf(line, sizeof line, "%u users\n%u items\n%llu ratings\n", p->users, p->items,
                 (unsigned long long)p->ratings);
        wb_str(w, line);
        if (wb_close(w, 1, err) != 0)
            return -1;
    } else if (m->layout != GEN_ML_1M) {
        return 0;
    }
    wbuf_t *w = wb_open(dir, m->layout == GEN_ML_100K ? "u.user" : "users.dat", err);
    if (w == NULL)
        return -1;
    for (uint32_t u = 0; u < p->users; u++) {
        rng_t r;
        rng_seed2(&r, m->seed, STREAM(S_DEMOGRAPHICS, u));
        char sex = rng_uniform(&r) < 0.71 ? 'M' : 'F';
        unsigned zip = (unsigned)rng_below(&r, 99000) + 1000;
        size_t occ = rng_below(&r, NELEM(occupations));
        if (m->layout == GEN_ML_100K)
            snprintf(line, sizeof line, "%u|%d|%c|%s|%05u\n", u + 1, 13 + (int)rng_below(&r, 60), sex,
                     occupations[occ], zip);
        else
            snprintf(line, sizeof line, "%u::%c::%d::%zu::%05u\n", u + 1, sex,
                     ages[rng_below(&r, NELEM(ages))], occ, zip);
        wb_str(w, line);
    }
    return wb_close(w, 1, err);
}

/* ---- ratings -------------------------------------------------------------- */

static int write_ratings(const model_t *m, const gen_catalog_t *cat, const gen_params_t *p,
                         const char *dir, gen_stats_t *st, err_t *err)
{
    static const char *const files[] = {"ratings.csv", "ratings.csv", "u.data", "ratings.dat"};
    static const char *const seps[] = {",", ",", "\t", "::"};
    if (p->users == 0 || m->m == 0)
        return err_set(err, "need at least one user and one item");
    uint32_t cap = p->max_ratings && p->max_ratings < m->m ? p->max_ratings : (uint32_t)m->m;
    if (p->ratings < p->users)
        return err_set(err, "%llu ratings for %u users: every user needs at least one",
                       (unsigned long long)p->ratings, p->users);
    if (p->ratings > (uint64_t)p->users * cap)
        return err_set(err, "%llu ratings do not fit: %u users x at most %u items each",
                       (unsigned long long)p->ratings, p->users, cap);
    uint64_t per = p->ratings / p->users;
    uint32_t mn = p->min_ratings < per ? p->min_ratings : (uint32_t)per;
    mn = mn < 1 ? 1 : (mn > cap ? cap : mn);
    uint32_t *cnt = plan_counts(m->seed, p->users, p->ratings, mn, cap, err);
    if (cnt == NULL)
        return -1;
    uint32_t maxc = 0;
    for (uint32_t u = 0; u < p->users; u++)
        maxc = cnt[u] > maxc ? cnt[u] : maxc;
    scratch_t sc = {calloc((m->m + 63) / 64, sizeof(uint64_t)), malloc(maxc * sizeof(rated_t)), NULL};
    wbuf_t *w = NULL;
    int ok = sc.seen && sc.out ? 1 : err_set(err, "out of memory for %u ratings of one user", maxc) + 1;
    if (ok)
        ok = (w = wb_open(dir, files[m->layout], err)) != NULL;
    if (ok && m->layout == GEN_PLAIN)
        wb_str(w, "user_id,item_id,rating,timestamp\n");
    else if (ok && m->layout == GEN_ML_LATEST)
        wb_str(w, "userId,movieId,rating,timestamp\n");
    const char *sep = seps[m->layout];
    size_t seplen = strlen(sep);
    int halves = m->layout == GEN_PLAIN || m->layout == GEN_ML_LATEST;
    double sum = 0;
    memset(st, 0, sizeof *st);
    st->min_per_user = UINT32_MAX;
    for (uint32_t u = 0; ok && u < p->users; u++) {
        if (user_generate(m, u, cnt[u], &sc, err) != 0) {
            ok = 0;
            break;
        }
        for (uint32_t j = 0; j < cnt[u]; j++) {
            const rated_t *x = &sc.out[j];
            wb_u64(w, u + 1);
            wb_put(w, sep, seplen);
            if (cat != NULL)
                wb_str(w, cat->films[x->item].id);
            else
                wb_u64(w, x->item + 1);
            wb_put(w, sep, seplen);
            wb_u64(w, (uint64_t)x->r2 / 2);
            if (halves)
                wb_put(w, x->r2 & 1 ? ".5" : ".0", 2);
            wb_put(w, sep, seplen);
            wb_u64(w, (uint64_t)x->ts);
            wb_put(w, "\n", 1);
            sum += x->r2 / 2.0;
        }
        st->ratings += cnt[u];
        st->max_per_user = cnt[u] > st->max_per_user ? cnt[u] : st->max_per_user;
        st->min_per_user = cnt[u] < st->min_per_user ? cnt[u] : st->min_per_user;
    }
    st->users = p->users;
    st->items = (uint32_t)m->m;
    st->mean_rating = st->ratings ? sum / (double)st->ratings : 0;
    free(cnt);
    free(sc.seen);
    free(sc.out);
    free(sc.keys);
    return wb_close(w, ok, err);
}

static int demo_model(model_t *m, const gen_catalog_t *cat, const gen_params_t *p, err_t *err)
{
    memset(m, 0, sizeof *m);
    m->seed = p->seed;
    m->world = 0x64656d6fULL; /* "demo": the films' latent side is the same for every seed */
    m->layout = GEN_PLAIN;
    return build_demo(m, cat, p, err);
}

int gen_demo_prefs(const gen_catalog_t *cat, const gen_params_t *p, float *pref, err_t *err)
{
    model_t m;
    int rc = demo_model(&m, cat, p, err);
    for (uint32_t u = 0; rc == 0 && u < p->users; u++) {
        user_t us;
        rng_t r;
        user_make(&m, u, &us, &r);
        memcpy(pref + (size_t)u * GEN_NGENRES, us.pref, sizeof us.pref);
    }
    model_free(&m);
    return rc;
}

int gen_demo(const char *out_dir, const gen_catalog_t *cat, const gen_params_t *p, gen_stats_t *st,
             err_t *err)
{
    model_t m;
    int rc = demo_model(&m, cat, p, err);
    if (rc == 0)
        rc = mkdir_p(out_dir, err);
    if (rc == 0) {
        wbuf_t *w = wb_open(out_dir, "items.csv", err);
        if (w != NULL)
            wb_put(w, cat->text, cat->len);
        rc = w == NULL ? -1 : wb_close(w, 1, err);
    }
    if (rc == 0)
        rc = write_ratings(&m, cat, p, out_dir, st, err);
    model_free(&m);
    return rc;
}

int gen_synth(const char *out_dir, const gen_params_t *p, gen_stats_t *st, err_t *err)
{
    if (p->items == 0 || p->items > (1u << 30))
        return err_set(err, "--items=%u: must be 1..%u", p->items, 1u << 30);
    if (!(p->zipf > 0 && p->zipf <= 5))
        return err_set(err, "--zipf=%g: must be in (0, 5]", p->zipf);
    model_t m = {0};
    m.seed = p->seed;
    m.world = p->seed;
    m.layout = p->layout;
    int rc = build_synth(&m, p, err);
    if (rc == 0)
        rc = mkdir_p(out_dir, err);
    if (rc == 0)
        rc = write_items(&m, out_dir, err);
    if (rc == 0)
        rc = write_extras(&m, p, out_dir, err);
    if (rc == 0)
        rc = write_ratings(&m, NULL, p, out_dir, st, err);
    model_free(&m);
    return rc;
}
