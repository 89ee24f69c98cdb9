/*
 * content_seed.c: the seed pipeline of content_seed.h.
 *
 * Tokens: each whitespace token of the tags is stemmed, the stem is cut
 * into CountVectorizer tokens (running the regex over one stem at a time is
 * the same as over the joined text, since the joining space is not a word
 * character), stop words go, and each term is interned (idmap) under a
 * provisional id with its corpus count. The cut sorts the terms by count
 * descending and bytes ascending (UTF-8 byte order is code-point order),
 * keeps max_features and renumbers them in byte order, as CountVectorizer's
 * vocabulary is. Counts are integers throughout: the dot products are exact,
 * which is what makes the tie rule exact (see content_seed.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/base/parallel.h"
#include "common/base/clock.h"
#include "common/data/idmap.h"
#include "common/text/porter.h"
#include "common/math/sparse.h"
#include "common/text/stopwords.h"
#include "common/text/text.h"
#include "services/content/content_internal.h"
#include "services/content/content_seed.h"

/* ------------------------------------------------------------ input */

typedef struct buf {
    char *p;
    size_t len, cap;
} buf_t;

static int buf_put(buf_t *b, const char *s, size_t len)
{
    if (b->len + len + 1 > b->cap) {
        size_t c = b->cap ? b->cap : 4096;
        while (c < b->len + len + 1)
            c *= 2;
        char *q = realloc(b->p, c);
        if (!q)
            return -1;
        b->p = q;
        b->cap = c;
    }
    memcpy(b->p + b->len, s, len);
    b->len += len;
    b->p[b->len] = '\0';
    return 0;
}

/* A name with every U+0020 removed, after a separating space. */
static int buf_name(buf_t *b, const char *s)
{
    if (b->len && buf_put(b, " ", 1))
        return -1;
    for (const char *q = s; *q; q++)
        if (*q != ' ' && buf_put(b, q, 1))
            return -1;
    return 0;
}

typedef struct word_ctx {
    buf_t *b;
    int failed;
} word_ctx_t;

static int put_word(const char *tok, size_t len, void *ud)
{
    word_ctx_t *w = ud;
    if ((w->b->len && buf_put(w->b, " ", 1)) || buf_put(w->b, tok, len))
        return w->failed = 1;
    return 0;
}

int content_seed_input_from_catalog(const catalog_t *cat, content_seed_input_t *in, err_t *err)
{
    memset(in, 0, sizeof *in);
    uint32_t n = catalog_size(cat);
    in->ids = malloc((n ? n : 1) * sizeof *in->ids);
    in->titles = malloc((n ? n : 1) * sizeof *in->titles);
    in->tags = malloc((n ? n : 1) * sizeof *in->tags);
    size_t *off = malloc((n ? n : 1) * sizeof *off);
    buf_t all = {0}, one = {0};
    char *low = NULL;
    size_t low_cap = 0;
    if (!in->ids || !in->titles || !in->tags || !off)
        goto oom;
    for (uint32_t i = 0; i < n; i++) {
        const char *ov = catalog_overview(cat, i);
        if (!*ov)
            continue; /* dropna: no overview, no row */
        one.len = 0;
        word_ctx_t wc = {&one, 0};
        text_split_ws(ov, strlen(ov), put_word, &wc);
        if (wc.failed || (!one.p && buf_put(&one, "", 0)))
            goto oom;
        for (uint32_t g = 0; g < catalog_item_ngenres(cat, i); g++)
            if (buf_name(&one, catalog_genre_name(cat, catalog_item_genre(cat, i, g))))
                goto oom;
        for (uint32_t k = 0; k < catalog_list_len(cat, i, CATALOG_KEYWORDS); k++)
            if (buf_name(&one, catalog_list_at(cat, i, CATALOG_KEYWORDS, k)))
                goto oom;
        uint32_t nc = catalog_list_len(cat, i, CATALOG_CAST);
        for (uint32_t k = 0; k < nc && k < 3; k++)
            if (buf_name(&one, catalog_list_at(cat, i, CATALOG_CAST, k)))
                goto oom;
        for (uint32_t k = 0; k < catalog_list_len(cat, i, CATALOG_DIRECTORS); k++)
            if (buf_name(&one, catalog_list_at(cat, i, CATALOG_DIRECTORS, k)))
                goto oom;
        size_t need = TEXT_LOWER_MAX(one.len) + 1;
        if (need > low_cap) {
            char *q = realloc(low, need);
            if (!q)
                goto oom;
            low = q;
            low_cap = need;
        }
        size_t ll = text_lower(one.p, one.len, low, low_cap);
        off[in->n] = all.len;
        if (buf_put(&all, low, ll + 1))
            goto oom;
        in->ids[in->n] = catalog_id(cat, i);
        in->titles[in->n] = catalog_title(cat, i);
        in->n++;
    }
    in->arena = all.p;
    for (size_t r = 0; r < in->n; r++)
        in->tags[r] = in->arena + off[r];
    free(off);
    free(one.p);
    free(low);
    return 0;
oom:
    free(off);
    free(one.p);
    free(low);
    free(all.p);
    content_seed_input_free(in);
    return err_set(err, "seed: out of memory building tags");
}

int content_seed_input_from_tags(const dataset_seed_tags_t *t, content_seed_input_t *in, err_t *err)
{
    memset(in, 0, sizeof *in);
    size_t n = t->n;
    in->ids = malloc((n ? n : 1) * sizeof *in->ids);
    in->titles = malloc((n ? n : 1) * sizeof *in->titles);
    in->tags = malloc((n ? n : 1) * sizeof *in->tags);
    if (!in->ids || !in->titles || !in->tags) {
        content_seed_input_free(in);
        return err_set(err, "seed: out of memory");
    }
    for (size_t r = 0; r < n; r++) {
        in->ids[r] = t->rows[r].movie_id;
        in->titles[r] = t->rows[r].title;
        in->tags[r] = t->rows[r].tags;
    }
    in->n = n;
    return 0;
}

void content_seed_input_free(content_seed_input_t *in)
{
    free(in->ids);
    free(in->titles);
    free(in->tags);
    free(in->arena);
    memset(in, 0, sizeof *in);
}

/* ------------------------------------------------------------ tokens */

/* Tokenising state. Whitespace tokens repeat a lot ("the", "his", genre
 * names), so each distinct one is stemmed and cut into terms once: `raw`
 * interns it and cache[off[r] .. off[r] + len[r]) lists its term ids. */
typedef struct seed_tok {
    idmap_t *terms, *raw;
    uint32_t *cf; /* corpus count per provisional term */
    size_t cf_cap;
    uint32_t *rows, *cols;
    size_t n, cap;
    uint32_t *cache, *cache_off, *cache_len;
    size_t cache_n, cache_cap, raw_cap;
    uint32_t doc;
    char *stem;
    size_t stem_cap;
    char *scratch;
    size_t scratch_cap;
    int failed;
} seed_tok_t;

static int grow_u32(uint32_t **p, size_t *cap, size_t need, int zero)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 4096;
    while (c < need)
        c *= 2;
    uint32_t *q = realloc(*p, c * sizeof *q);
    if (!q)
        return -1;
    if (zero)
        memset(q + *cap, 0, (c - *cap) * sizeof *q);
    *p = q;
    *cap = c;
    return 0;
}

/* One occurrence of term id in the current document. */
static int seed_push(seed_tok_t *t, uint32_t id)
{
    t->cf[id]++;
    if (t->n == t->cap) {
        size_t c = t->cap ? t->cap * 2 : 65536;
        uint32_t *r = realloc(t->rows, c * sizeof *r);
        if (r)
            t->rows = r;
        uint32_t *k = r ? realloc(t->cols, c * sizeof *k) : NULL;
        if (!k)
            return t->failed = 1;
        t->cols = k;
        t->cap = c;
    }
    t->rows[t->n] = t->doc;
    t->cols[t->n] = id;
    t->n++;
    return 0;
}

static int seed_term(const char *tok, size_t len, void *ud)
{
    seed_tok_t *t = ud;
    if (stopwords_is_english(tok, len))
        return 0;
    uint32_t id;
    int added = idmap_intern(t->terms, tok, len, &id);
    size_t cf_cap = t->cf_cap;
    if (added < 0 || grow_u32(&t->cf, &cf_cap, (size_t)id + 1, 1))
        return t->failed = 1;
    t->cf_cap = cf_cap;
    size_t cc = t->cache_cap;
    if (grow_u32(&t->cache, &cc, t->cache_n + 1, 0))
        return t->failed = 1;
    t->cache_cap = cc;
    t->cache[t->cache_n++] = id;
    return seed_push(t, id);
}

static int seed_word(const char *tok, size_t len, void *ud)
{
    seed_tok_t *t = ud;
    uint32_t rid;
    int added = idmap_intern(t->raw, tok, len, &rid);
    if (added < 0)
        return t->failed = 1;
    if (!added) {
        const uint32_t *c = t->cache + t->cache_off[rid];
        for (uint32_t q = 0; q < t->cache_len[rid]; q++)
            if (seed_push(t, c[q]))
                return 1;
        return 0;
    }
    size_t rc1 = t->raw_cap, rc2 = t->raw_cap;
    if (grow_u32(&t->cache_off, &rc1, (size_t)rid + 1, 0) || grow_u32(&t->cache_len, &rc2, (size_t)rid + 1, 0))
        return t->failed = 1;
    t->raw_cap = rc1;
    t->cache_off[rid] = (uint32_t)t->cache_n;
    size_t need = PORTER_OUT_MAX(len);
    if (need > t->stem_cap) {
        char *q = realloc(t->stem, need);
        if (!q)
            return t->failed = 1;
        t->stem = q;
        t->stem_cap = need;
    }
    size_t sl = porter_stem(tok, len, t->stem, t->stem_cap);
    if (sl == PORTER_ENOMEM)
        return t->failed = 1;
    need = TEXT_LOWER_MAX(sl) + 1;
    if (need > t->scratch_cap) {
        char *q = realloc(t->scratch, need);
        if (!q)
            return t->failed = 1;
        t->scratch = q;
        t->scratch_cap = need;
    }
    if (text_cv_tokenize(t->stem, sl, t->scratch, t->scratch_cap, seed_term, t) < 0)
        return t->failed = 1;
    t->cache_len[rid] = (uint32_t)(t->cache_n - t->cache_off[rid]);
    return t->failed;
}

/* ------------------------------------------------------------ the cut */

typedef struct rank {
    const char *s;
    uint32_t cf, prov;
} rank_t;

static int rank_by_count(const void *a, const void *b)
{
    const rank_t *x = a, *y = b;
    if (x->cf != y->cf)
        return x->cf > y->cf ? -1 : 1;
    return strcmp(x->s, y->s);
}

static int rank_by_bytes(const void *a, const void *b)
{
    return strcmp(((const rank_t *)a)->s, ((const rank_t *)b)->s);
}

/* ------------------------------------------------------------ neighbours */

typedef struct seed_nb {
    const sparse_csr_t *vec, *inv; /* values are whole counts */
    const uint64_t *norm2;
    const double *inv_norm; /* 1 / |v_j| (0 for an empty row) */
    const float *inv_norm_f;
    uint32_t k;
    uint32_t **acc;
    content_seed_result_t *r;
} seed_nb_t;

/* 1 when candidate (dj, j) ranks before (dl, l): higher cosine, then the
 * earlier row. The cosines share the factor 1/|v_i|. */
static int seed_before(uint64_t dj, uint32_t j, uint64_t dl, uint32_t l, const uint64_t *norm2)
{
    unsigned __int128 a = (unsigned __int128)(dj * dj) * norm2[l];
    unsigned __int128 b = (unsigned __int128)(dl * dl) * norm2[j];
    if (a != b)
        return a > b;
    return j < l;
}

static int seed_one(uint32_t i, unsigned thread, void *ctx)
{
    seed_nb_t *job = ctx;
    uint32_t *acc = job->acc[thread];
    uint32_t k = job->k, n = job->vec->n_rows;
    const double *inv_norm = job->inv_norm;
    /* Integer dot products with every row sharing a term; no branch in the
     * scatter loop, the whole row of acc is scanned afterwards (a common
     * genre alone touches half the rows). */
    sparse_view_t row = sparse_csr_row(job->vec, i);
    for (size_t a = 0; a < row.nnz; a++) {
        uint32_t w = (uint32_t)row.val[a];
        sparse_view_t post = sparse_csr_row(job->inv, row.idx[a]);
        for (size_t b = 0; b < post.nnz; b++)
            acc[post.idx[b]] += w * (uint32_t)post.val[b];
    }
    acc[i] = 0;
    uint32_t *top = job->r->nb + (size_t)i * k;
    uint64_t topd[64];
    uint64_t *td = k <= 64 ? topd : malloc(k * sizeof *td);
    if (!td)
        return -1;
    uint32_t len = 0;
    double floor_key = 0; /* cosine * |v_i| of the k-th kept, once full */
    float gate = 0; /* blocks whose keys are all <= gate hold no candidate */
    for (uint32_t j = 0; j < n; j++) {
        if ((j & 15) == 0 && j + 16 <= n) {
            /* Screen 16 rows at once (vectorised): most rows share no term
             * or score well below the k-th kept. */
            int any = 0;
            for (uint32_t u = 0; u < 16; u++)
                any |= (float)acc[j + u] * job->inv_norm_f[j + u] > gate;
            if (!any) {
                j += 15;
                continue;
            }
        }
        uint64_t d = acc[j];
        if (d == 0)
            continue;
        /* A cheap screen in double; only near-ties reach the exact test. */
        if (len == k && (double)d * inv_norm[j] < floor_key * (1 - 1e-9))
            continue;
        if (len == k && !seed_before(d, j, td[len - 1], top[len - 1], job->norm2))
            continue;
        uint32_t p = len < k ? len++ : k - 1;
        while (p > 0 && seed_before(d, j, td[p - 1], top[p - 1], job->norm2)) {
            td[p] = td[p - 1];
            top[p] = top[p - 1];
            p--;
        }
        td[p] = d;
        top[p] = j;
        if (len == k) {
            floor_key = (double)td[k - 1] * inv_norm[top[k - 1]];
            gate = (float)floor_key * (1 - 1e-5f); /* float error is ~1e-7 */
        }
    }
    /* Fewer than k sharing a term: the earliest other rows, similarity 0. */
    for (uint32_t j = 0; len < k && j < n; j++)
        if (j != i && acc[j] == 0) {
            td[len] = 0;
            top[len++] = j;
        }
    memset(acc, 0, (size_t)n * sizeof *acc);
    job->r->nb_len[i] = len;
    double *sc = job->r->score + (size_t)i * k;
    for (uint32_t r = 0; r < k; r++) {
        if (r >= len) {
            top[r] = CONTENT_NONE;
            sc[r] = 0;
            continue;
        }
        double den = sqrt((double)job->norm2[i]) * sqrt((double)job->norm2[top[r]]);
        sc[r] = den > 0 ? (double)td[r] / den : 0.0;
    }
    if (td != topd)
        free(td);
    return 0;
}

/* ------------------------------------------------------------ run */

void content_seed_result_free(content_seed_result_t *r)
{
    if (!r)
        return;
    free(r->nb);
    free(r->score);
    free(r->nb_len);
    for (size_t t = 0; r->terms && t < r->vocab_after; t++)
        free(r->terms[t]);
    free(r->terms);
    free(r);
}

int content_seed_run(const content_seed_input_t *in, const content_seed_params_t *p, content_seed_result_t **out,
                     err_t *err)
{
    *out = NULL;
    err_clear(err);
    double t0 = (1e3 * clock_mono_sec());
    size_t n = in->n;
    if (n >= UINT32_MAX)
        return err_set(err, "seed: too many rows");
    uint32_t k = p->k;
    unsigned threads = p->threads ? p->threads : 1;
    int rc = -1;
    seed_tok_t t = {0};
    rank_t *rank = NULL;
    uint32_t *remap = NULL, *rows = NULL, *cols = NULL;
    uint64_t *norm2 = NULL;
    double *inv_norm = NULL;
    float *inv_norm_f = NULL;
    sparse_csr_t vec = {0}, inv = {0};
    seed_nb_t job = {0};
    content_seed_result_t *r = calloc(1, sizeof *r);
    if (!r)
        goto oom;
    r->n = n;
    r->k = k;
    t.terms = idmap_new();
    t.raw = idmap_new();
    if (!t.terms || !t.raw)
        goto oom;
    for (size_t d = 0; d < n; d++) {
        t.doc = (uint32_t)d;
        text_split_ws(in->tags[d], strlen(in->tags[d]), seed_word, &t);
        if (t.failed)
            goto oom;
    }
    double t1 = (1e3 * clock_mono_sec());

    uint32_t nprov = idmap_size(t.terms);
    rank = malloc((nprov ? nprov : 1) * sizeof *rank);
    remap = malloc((nprov ? nprov : 1) * sizeof *remap);
    if (!rank || !remap)
        goto oom;
    for (uint32_t c = 0; c < nprov; c++) {
        rank[c].s = idmap_key(t.terms, c, NULL);
        rank[c].cf = t.cf[c];
        rank[c].prov = c;
        remap[c] = CONTENT_NONE;
    }
    qsort(rank, nprov, sizeof *rank, rank_by_count);
    uint32_t keep = nprov < p->max_features ? nprov : p->max_features;
    r->cut_count = keep ? rank[keep - 1].cf : 0;
    qsort(rank, keep, sizeof *rank, rank_by_bytes);
    r->vocab_before = nprov;
    r->vocab_after = keep;
    r->terms = calloc(keep ? keep : 1, sizeof *r->terms);
    if (!r->terms)
        goto oom;
    for (uint32_t c = 0; c < keep; c++) {
        remap[rank[c].prov] = c;
        r->terms[c] = strdup(rank[c].s);
        if (!r->terms[c])
            goto oom;
    }

    /* Count vectors over the kept terms (duplicates summed into counts). */
    size_t m = 0;
    for (size_t e = 0; e < t.n; e++) {
        uint32_t c = remap[t.cols[e]];
        if (c != CONTENT_NONE) {
            t.rows[m] = t.rows[e];
            t.cols[m] = c;
            m++;
        }
    }
    if (sparse_csr_from_triplets(&vec, (uint32_t)n, keep, t.rows, t.cols, NULL, m, err) ||
        sparse_csr_transpose(&vec, &inv, err))
        goto fail;
    r->nnz = vec.nnz;
    norm2 = calloc(n ? n : 1, sizeof *norm2);
    if (!norm2)
        goto oom;
    r->min_row_terms = n ? UINT32_MAX : 0;
    for (size_t d = 0; d < n; d++) {
        sparse_view_t v = sparse_csr_row(&vec, (uint32_t)d);
        for (size_t a = 0; a < v.nnz; a++)
            norm2[d] += (uint64_t)v.val[a] * (uint64_t)v.val[a];
        if (v.nnz < r->min_row_terms)
            r->min_row_terms = (uint32_t)v.nnz;
        if (v.nnz > r->max_row_terms)
            r->max_row_terms = (uint32_t)v.nnz;
    }
    double t2 = (1e3 * clock_mono_sec());

    r->nb = malloc(((size_t)n * k > 0 ? (size_t)n * k : 1) * sizeof *r->nb);
    r->score = malloc(((size_t)n * k > 0 ? (size_t)n * k : 1) * sizeof *r->score);
    r->nb_len = calloc(n ? n : 1, sizeof *r->nb_len);
    if (!r->nb || !r->score || !r->nb_len)
        goto oom;
    if (threads > n / 64 + 1)
        threads = (unsigned)(n / 64 + 1);
    inv_norm = malloc((n ? n : 1) * sizeof *inv_norm);
    inv_norm_f = malloc((n ? n : 1) * sizeof *inv_norm_f);
    if (!inv_norm || !inv_norm_f)
        goto oom;
    for (size_t d = 0; d < n; d++) {
        inv_norm[d] = norm2[d] ? 1.0 / sqrt((double)norm2[d]) : 0.0;
        inv_norm_f[d] = (float)inv_norm[d];
    }
    job = (seed_nb_t){.vec = &vec, .inv = &inv, .norm2 = norm2, .inv_norm = inv_norm, .inv_norm_f = inv_norm_f,
                      .k = k, .r = r};
    job.acc = calloc(threads, sizeof *job.acc);
    if (!job.acc)
        goto oom;
    for (unsigned th = 0; th < threads; th++) {
        job.acc[th] = calloc(n ? n : 1, sizeof(uint32_t));
        if (!job.acc[th])
            goto oom;
    }
    if (k && parallel_for((uint32_t)n, threads, seed_one, &job, err))
        goto oom;
    double t3 = (1e3 * clock_mono_sec());
    r->ms_tokens = t1 - t0;
    r->ms_vectors = t2 - t1;
    r->ms_neighbours = t3 - t2;
    *out = r;
    r = NULL;
    rc = 0;
    goto done;
oom:
    err_set(err, "seed: out of memory (%zu rows)", n);
fail:
    if (strncmp(err->msg, "seed:", 5) != 0)
        err_prefix(err, "seed");
done:
    for (unsigned th = 0; job.acc && th < threads; th++)
        free(job.acc[th]);
    free(job.acc);
    free(inv_norm);
    free(inv_norm_f);
    content_seed_result_free(r);
    idmap_free(t.terms);
    idmap_free(t.raw);
    free(t.cache);
    free(t.cache_off);
    free(t.cache_len);
    free(t.cf);
    free(t.rows);
    free(t.cols);
    free(t.stem);
    free(t.scratch);
    free(rank);
    free(remap);
    free(rows);
    free(cols);
    free(norm2);
    sparse_csr_free(&vec);
    sparse_csr_free(&inv);
    return rc;
}

/* ------------------------------------------------------------ output */

static void put_cell(FILE *f, const char *s)
{
    for (; *s; s++)
        fputc(*s == '\t' || *s == '\n' || *s == '\r' ? ' ' : *s, f);
}

int content_seed_write_tsv(const content_seed_input_t *in, const content_seed_result_t *r, FILE *f, err_t *err)
{
    fputs("movie_id\ttitle", f);
    for (uint32_t c = 1; c <= r->k; c++)
        fprintf(f, "\tnb%u", c);
    for (uint32_t c = 1; c <= r->k; c++)
        fprintf(f, "\tscore%u", c);
    fputc('\n', f);
    for (size_t i = 0; i < r->n; i++) {
        put_cell(f, in->ids[i]);
        fputc('\t', f);
        put_cell(f, in->titles[i]);
        const uint32_t *nb = r->nb + i * r->k;
        for (uint32_t c = 0; c < r->k; c++) {
            fputc('\t', f);
            if (c < r->nb_len[i])
                put_cell(f, in->ids[nb[c]]);
        }
        for (uint32_t c = 0; c < r->k; c++) {
            if (c < r->nb_len[i])
                fprintf(f, "\t%.6f", r->score[i * r->k + c]);
            else
                fputc('\t', f);
        }
        fputc('\n', f);
    }
    if (ferror(f))
        return err_errno(err, "seed: writing the table");
    return 0;
}
