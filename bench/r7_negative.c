/* r7_negative.c: negative feedback measured R7-style (EVALUATION.md R7 on
 * R5's user hold-out), for the libraries directly (no gateway, no blend):
 * a seeded 25% of the users is held out, the model trains on the others;
 * for each held-out user, ratings in time order (file order on ties), the
 * history is the first n (n = 5, 10, 20) with or without its low ratings
 * (common/data/feedback.h), relevant = the later ratings >= 4 minus the
 * history, candidates = every item minus the whole history. Only users
 * whose history holds a low rating are counted (for the others both runs
 * are the same). Prints NDCG@10 and HR@10 of both runs per n.
 *
 *   build/bin/r7_negative DATA_DIR ease|als|content SEED
 *
 * The numbers behind FEEDBACK_NEGATIVE_SCALE are in bench/README.md. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base/rng.h"
#include "common/data/dataset.h"
#include "common/data/feedback.h"
#include "services/cf/cf_data.h"
#include "services/cf/cf_model.h"
#include "services/content/content_model.h"

typedef struct ev {
    uint32_t item;
    float r;
    int64_t ts;
    size_t ord;
} ev_t;

static int cmp_ev(const void *a, const void *b)
{
    const ev_t *x = a, *y = b;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return x->ord < y->ord ? -1 : x->ord > y->ord;
}

enum { K = 10, WANT = K + 20 };

/* The top WANT items for one history (cf model m or content model cm). */
static size_t rank(const cf_model_t *m, const content_model_t *cm, cf_scratch_t *sc, content_scratch_t *cs,
                   const ev_t *h, size_t n, bool drop_low, uint32_t *got)
{
    cf_event_t cev[32];
    content_event_t hev[32];
    size_t ne = 0;
    for (size_t i = 0; i < n; i++) {
        if (drop_low && feedback_rating_negative(h[i].r))
            continue;
        cev[ne] = (cf_event_t){h[i].item, h[i].r};
        hev[ne] = (content_event_t){h[i].item, h[i].r};
        ne++;
    }
    err_t err;
    long g = 0;
    if (m != NULL) {
        topk_item_t top[WANT];
        cf_who_t who = {CF_NO_USER, cev, ne};
        filter_t f;
        memset(&f, 0, sizeof f);
        f.include_seen = true; /* the caller drops the whole history */
        g = cf_recommend(m, sc, &who, &f, WANT, top, NULL, &err);
        for (long i = 0; i < g; i++)
            got[i] = top[i].index;
    } else if (ne > 0) {
        content_hit_t hits[WANT];
        content_query_t q;
        memset(&q, 0, sizeof q);
        q.k = WANT;
        q.include_history = true;
        q.no_explain = true;
        g = content_score_history(cm, hev, ne, &q, cs, hits, &err);
        for (long i = 0; i < g; i++)
            got[i] = hits[i].item;
    }
    if (g < 0) {
        fprintf(stderr, "r7_negative: %s\n", err.msg);
        exit(1);
    }
    return (size_t)g;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: r7_negative DATA_DIR ease|als|content [SEED]\n");
        return 2;
    }
    const char *model = argv[2];
    uint64_t seed = argc > 3 ? strtoull(argv[3], NULL, 10) : 1;
    err_t err;
    dataset_t *ds;
    dataset_opts_t o;
    memset(&o, 0, sizeof o);
    if (dataset_load(argv[1], &ds, &o, &err) != 0 || ds->ratings == NULL) {
        fprintf(stderr, "r7_negative: %s\n", ds == NULL ? err.msg : "no ratings");
        return 1;
    }
    const ratings_t *R = ds->ratings;
    uint32_t nu = idmap_size(ds->users), ni = catalog_size(ds->catalog);
    rng_t g;
    rng_seed(&g, seed);
    uint8_t *held = calloc(nu, 1);
    uint32_t *umap = malloc(nu * sizeof *umap), ntu = 0;
    uint32_t *tu = malloc(R->n * sizeof *tu), *ti = malloc(R->n * sizeof *ti);
    float *tv = malloc(R->n * sizeof *tv);
    for (uint32_t u = 0; u < nu; u++) {
        held[u] = rng_below(&g, 4) == 0;
        umap[u] = held[u] ? UINT32_MAX : ntu++;
    }
    size_t nt = 0;
    for (size_t i = 0; i < R->n; i++)
        if (!held[R->user[i]]) {
            tu[nt] = umap[R->user[i]];
            ti[nt] = R->item[i];
            tv[nt++] = R->value[i];
        }
    cf_data_t d;
    cf_params_t p;
    cf_params_default(&p);
    cf_model_t *m = NULL;
    content_model_t *cm = NULL;
    int rc = cf_data_from_triplets(&d, ntu, ni, tu, ti, tv, nt, &err);
    if (rc == 0 && strcmp(model, "ease") == 0) {
        p.ease.lambda = 4000; /* recsys-eval's default */
        rc = cf_train_ease(&d, &p.ease, &m, &err);
    } else if (rc == 0 && strcmp(model, "als") == 0) {
        p.als.factors = 64;
        p.als.iterations = 15;
        p.als.reg = 50;
        p.als.alpha = 2;
        p.als.threads = 2;
        rc = cf_train_als(&d, &p.als, &m, &err);
    } else if (rc == 0) {
        content_params_t cp;
        content_params_default(&cp);
        cp.threads = 2;
        rc = content_model_build(ds->catalog, &cp, &cm, &err);
    }
    if (rc != 0) {
        fprintf(stderr, "r7_negative: %s\n", err.msg);
        return 1;
    }
    ev_t **ue = calloc(nu, sizeof *ue);
    size_t *un = calloc(nu, sizeof *un), *ucap = calloc(nu, sizeof *ucap);
    for (size_t i = 0; i < R->n; i++) {
        uint32_t u = R->user[i];
        if (!held[u])
            continue;
        if (un[u] == ucap[u]) {
            ucap[u] = ucap[u] ? ucap[u] * 2 : 16;
            ue[u] = realloc(ue[u], ucap[u] * sizeof **ue);
        }
        ue[u][un[u]++] = (ev_t){R->item[i], R->value[i], ratings_ts(R, i), i};
    }
    for (uint32_t u = 0; u < nu; u++)
        if (un[u] > 1)
            qsort(ue[u], un[u], sizeof **ue, cmp_ev);
    cf_scratch_t *sc = cf_scratch_new();
    content_scratch_t *cs = content_scratch_new();
    uint8_t *inhist = calloc(ni, 1), *rel = calloc(ni, 1);
    static const int ns[] = {5, 10, 20};
    for (size_t a = 0; a < sizeof ns / sizeof ns[0]; a++) {
        size_t n = (size_t)ns[a], users = 0;
        double ndcg[2] = {0, 0}, hr[2] = {0, 0};
        for (uint32_t u = 0; u < nu; u++) {
            if (!held[u] || un[u] <= n)
                continue;
            size_t nrel = 0, low = 0;
            for (size_t h = 0; h < n; h++) {
                inhist[ue[u][h].item] = 1;
                low += feedback_rating_negative(ue[u][h].r);
            }
            for (size_t h = n; h < un[u]; h++)
                if (ue[u][h].r >= 4 && !inhist[ue[u][h].item] && !rel[ue[u][h].item]) {
                    rel[ue[u][h].item] = 1;
                    nrel++;
                }
            if (nrel > 0 && low > 0) {
                users++;
                for (int v = 0; v < 2; v++) {
                    uint32_t got[WANT];
                    size_t ng = rank(m, cm, sc, cs, ue[u], n, v == 1, got), r = 0;
                    double dcg = 0, idcg = 0;
                    int hit = 0;
                    for (size_t i = 0; i < ng && r < K; i++) {
                        if (inhist[got[i]])
                            continue;
                        if (rel[got[i]]) {
                            dcg += 1 / log2((double)r + 2);
                            hit = 1;
                        }
                        r++;
                    }
                    for (size_t i = 0; i < (nrel < K ? nrel : K); i++)
                        idcg += 1 / log2((double)i + 2);
                    ndcg[v] += dcg / idcg;
                    hr[v] += hit;
                }
            }
            for (size_t h = 0; h < un[u]; h++)
                inhist[ue[u][h].item] = rel[ue[u][h].item] = 0;
        }
        if (users == 0)
            continue;
        printf("%s seed %llu n=%zu users %zu NDCG@10 incl %.4f excl %.4f HR@10 incl %.4f excl %.4f\n", model,
               (unsigned long long)seed, n, users, ndcg[0] / (double)users, ndcg[1] / (double)users,
               hr[0] / (double)users, hr[1] / (double)users);
    }
    return 0;
}
