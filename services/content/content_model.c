/*
 * content_model.c: a catalog's items as TF-IDF vectors, and the model file
 * that holds them (see content_model.h for the weighting).
 *
 * Every term of every item becomes a (item, term, count) triplet under a
 * provisional term id (first-seen order, interned with an idmap over the
 * prefixed string "o:love"); the CSR built from the triplets sums repeated
 * terms into counts. Terms are then filtered by document frequency and
 * renumbered in code-point (UTF-8 byte) order, so the model does not depend
 * on the order the catalog lists its items' fields in, and the weighted,
 * normalised vectors, their transpose (the inverted index) and the
 * neighbour lists are written into an in-memory model file that is opened
 * like a file from disk.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/base/crc32c.h"
#include "common/base/clock.h"
#include "common/data/idmap.h"
#include "common/text/porter.h"
#include "common/text/stopwords.h"
#include "common/text/text.h"
#include "services/content/content_internal.h"

/* ------------------------------------------------------------ tokens */

typedef struct tok_ctx {
    idmap_t *terms;
    uint8_t *field_of; /* per provisional term */
    size_t field_cap;
    uint32_t *rows, *cols;
    float *vals;
    size_t n, cap;
    char *key;         /* "p:" + token */
    size_t key_cap;
    char *low;         /* lower-casing / stemming scratch */
    size_t low_cap;
    uint32_t item;
    content_field_t field;
    int failed;
} tok_ctx_t;

static int ensure(char **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 256;
    while (c < need)
        c *= 2;
    char *q = realloc(*buf, c);
    if (!q)
        return -1;
    *buf = q;
    *cap = c;
    return 0;
}

/* One occurrence (tf counts) of term s[0..len) in the current field. */
static int tok_add(tok_ctx_t *t, const char *s, size_t len, float count)
{
    if (ensure(&t->key, &t->key_cap, len + 3))
        return t->failed = -1;
    t->key[0] = content_field_prefix(t->field)[0];
    t->key[1] = ':';
    memcpy(t->key + 2, s, len);
    uint32_t id;
    int added = idmap_intern(t->terms, t->key, len + 2, &id);
    if (added < 0)
        return t->failed = -1;
    if (added) {
        if (id >= t->field_cap) {
            size_t c = t->field_cap ? t->field_cap * 2 : 1024;
            uint8_t *q = realloc(t->field_of, c);
            if (!q)
                return t->failed = -1;
            t->field_of = q;
            t->field_cap = c;
        }
        t->field_of[id] = (uint8_t)t->field;
    }
    if (t->n == t->cap) {
        size_t c = t->cap ? t->cap * 2 : 4096;
        uint32_t *r = realloc(t->rows, c * sizeof *r);
        if (r)
            t->rows = r;
        uint32_t *k = r ? realloc(t->cols, c * sizeof *k) : NULL;
        if (k)
            t->cols = k;
        float *v = k ? realloc(t->vals, c * sizeof *v) : NULL;
        if (!v)
            return t->failed = -1;
        t->vals = v;
        t->cap = c;
    }
    t->rows[t->n] = t->item;
    t->cols[t->n] = id;
    t->vals[t->n] = count;
    t->n++;
    return 0;
}

/* A whole name (genre, keyword, person, tag): lower-cased, one term. */
static int tok_whole(tok_ctx_t *t, const char *s, float count)
{
    size_t len = strlen(s);
    if (len == 0)
        return 0;
    if (ensure(&t->low, &t->low_cap, TEXT_LOWER_MAX(len) + 1))
        return t->failed = -1;
    size_t n = text_lower(s, len, t->low, t->low_cap);
    return tok_add(t, t->low, n, count);
}

static int tok_word(const char *tok, size_t len, void *ud)
{
    tok_ctx_t *t = ud;
    if (stopwords_is_english(tok, len))
        return 0;
    char stem[PORTER_OUT_MAX(64)];
    size_t n = porter_stem(tok, len, stem, sizeof stem);
    if (n == PORTER_ENOMEM)
        return t->failed = -1;
    if (n < sizeof stem)
        return tok_add(t, stem, n, 1.0f);
    char *big = malloc(n + 1);
    if (!big)
        return t->failed = -1;
    porter_stem(tok, len, big, n + 1);
    int rc = tok_add(t, big, n, 1.0f);
    free(big);
    return rc;
}

/* Free text: CountVectorizer tokens, stop words dropped, Porter stems. */
static int tok_text(tok_ctx_t *t, const char *s)
{
    size_t len = strlen(s);
    if (len == 0)
        return 0;
    char *scratch = malloc(TEXT_LOWER_MAX(len) + 1);
    if (!scratch)
        return t->failed = -1;
    text_cv_tokenize(s, len, scratch, TEXT_LOWER_MAX(len) + 1, tok_word, t);
    free(scratch);
    return t->failed;
}

static int tok_item(tok_ctx_t *t, const catalog_t *cat, uint32_t i, const content_params_t *p)
{
    t->item = i;
    const float *w = p->weight;
    if (w[CONTENT_F_GENRE] > 0) {
        t->field = CONTENT_F_GENRE;
        for (uint32_t k = 0; k < catalog_item_ngenres(cat, i); k++)
            tok_whole(t, catalog_genre_name(cat, catalog_item_genre(cat, i, k)), 1.0f);
    }
    static const struct { content_field_t f; catalog_list_t l; } lists[] = {
        {CONTENT_F_KEYWORD, CATALOG_KEYWORDS}, {CONTENT_F_CAST, CATALOG_CAST}, {CONTENT_F_DIRECTOR, CATALOG_DIRECTORS}};
    for (size_t L = 0; L < sizeof lists / sizeof lists[0]; L++) {
        if (w[lists[L].f] <= 0)
            continue;
        t->field = lists[L].f;
        uint32_t n = catalog_list_len(cat, i, lists[L].l);
        if (lists[L].f == CONTENT_F_CAST && n > p->max_cast)
            n = p->max_cast;
        for (uint32_t k = 0; k < n; k++)
            tok_whole(t, catalog_list_at(cat, i, lists[L].l, k), 1.0f);
    }
    if (w[CONTENT_F_TAG] > 0) {
        t->field = CONTENT_F_TAG;
        for (uint32_t k = 0; k < catalog_ntags(cat, i); k++) {
            uint32_t count = 1;
            const char *tag = catalog_tag(cat, i, k, &count);
            tok_whole(t, tag, (float)(count ? count : 1));
        }
    }
    if (w[CONTENT_F_OVERVIEW] > 0) {
        t->field = CONTENT_F_OVERVIEW;
        tok_text(t, catalog_overview(cat, i));
    }
    if (w[CONTENT_F_TITLE] > 0) {
        t->field = CONTENT_F_TITLE;
        tok_text(t, catalog_title(cat, i));
    }
    return t->failed;
}

static void tok_free(tok_ctx_t *t)
{
    idmap_free(t->terms);
    free(t->field_of);
    free(t->rows);
    free(t->cols);
    free(t->vals);
    free(t->key);
    free(t->low);
}

/* ------------------------------------------------------------ strings */

typedef struct strbuf {
    char *bytes;
    size_t len, cap;
    uint64_t *off;
    size_t n, ocap;
} strbuf_t;

static int sb_add(strbuf_t *b, const char *s)
{
    size_t len = strlen(s);
    if (ensure(&b->bytes, &b->cap, b->len + len + 1))
        return -1;
    if (b->n + 2 > b->ocap) {
        size_t c = b->ocap ? b->ocap * 2 : 256;
        uint64_t *q = realloc(b->off, c * sizeof *q);
        if (!q)
            return -1;
        b->off = q;
        b->ocap = c;
    }
    b->off[b->n++] = b->len;
    memcpy(b->bytes + b->len, s, len + 1);
    b->len += len + 1;
    b->off[b->n] = b->len;
    return 0;
}

static void sb_free(strbuf_t *b)
{
    free(b->bytes);
    free(b->off);
}

static int sb_write(modelfile_writer_t *w, const char *bytes_name, const char *off_name, strbuf_t *b, err_t *err)
{
    static const uint64_t zero = 0; /* an empty table still has its one offset */
    if (!b->off)
        return modelfile_writer_add(w, bytes_name, MODELFILE_BYTES, "", 0, err) ||
                       modelfile_writer_add(w, off_name, MODELFILE_U64, &zero, 1, err)
                   ? -1
                   : 0;
    if (modelfile_writer_add(w, bytes_name, MODELFILE_BYTES, b->bytes, b->len, err) ||
        modelfile_writer_add(w, off_name, MODELFILE_U64, b->off, b->n + 1, err))
        return -1;
    return 0;
}

/* ------------------------------------------------------------ build */

typedef struct term_rank {
    const char *s;
    uint32_t prov;
} term_rank_t;

static int term_rank_cmp(const void *a, const void *b)
{
    return strcmp(((const term_rank_t *)a)->s, ((const term_rank_t *)b)->s);
}

typedef struct id_rank {
    const char *s;
    uint32_t item;
} id_rank_t;

static int id_rank_cmp(const void *a, const void *b)
{
    int c = strcmp(((const id_rank_t *)a)->s, ((const id_rank_t *)b)->s);
    if (c)
        return c;
    uint32_t x = ((const id_rank_t *)a)->item, y = ((const id_rank_t *)b)->item;
    return x < y ? -1 : x > y;
}

static int meta_f(modelfile_writer_t *w, const char *key, double v, err_t *err)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%.9g", v);
    return modelfile_writer_meta(w, key, buf, err);
}

int content_model_build(const catalog_t *cat, const content_params_t *p, content_model_t **out, err_t *err)
{
    *out = NULL;
    err_clear(err);
    double t0 = (1e3 * clock_mono_sec());
    content_params_t params = *p;
    if (params.threads < 1)
        params.threads = 1;
    if (params.min_df < 1)
        params.min_df = 1;
    uint32_t n = catalog_size(cat);
    int rc = -1;
    tok_ctx_t t = {0};
    sparse_csr_t counts = {0}, vec = {0}, inv = {0};
    term_rank_t *rank = NULL;
    uint32_t *df = NULL, *remap = NULL, *rows = NULL, *cols = NULL, *nb_len = NULL, *nb_idx = NULL;
    uint32_t *id_order = NULL;
    float *vals = NULL, *idf = NULL, *nb_score = NULL;
    int32_t *years = NULL;
    uint64_t *masks = NULL;
    id_rank_t *ids = NULL;
    strbuf_t sb_ids = {0}, sb_titles = {0}, sb_genres = {0}, sb_terms = {0};
    modelfile_writer_t *w = NULL;

    t.terms = idmap_new();
    if (!t.terms)
        goto oom;
    for (uint32_t i = 0; i < n; i++)
        if (tok_item(&t, cat, i, &params))
            goto oom;
    uint32_t nprov = idmap_size(t.terms);
    if (sparse_csr_from_triplets(&counts, n, nprov, t.rows, t.cols, t.vals, t.n, err))
        goto fail;
    free(t.rows), t.rows = NULL;
    free(t.cols), t.cols = NULL;
    free(t.vals), t.vals = NULL;

    /* Document frequency; keep terms with df >= min_df, in byte order. */
    df = calloc(nprov ? nprov : 1, sizeof *df);
    remap = malloc((nprov ? nprov : 1) * sizeof *remap);
    rank = malloc((nprov ? nprov : 1) * sizeof *rank);
    if (!df || !remap || !rank)
        goto oom;
    for (uint64_t e = 0; e < counts.nnz; e++)
        df[counts.col[e]]++;
    uint32_t nt = 0;
    for (uint32_t c = 0; c < nprov; c++) {
        remap[c] = CONTENT_NONE;
        if (df[c] >= params.min_df) {
            rank[nt].s = idmap_key(t.terms, c, NULL);
            rank[nt].prov = c;
            nt++;
        }
    }
    qsort(rank, nt, sizeof *rank, term_rank_cmp);
    idf = malloc((nt ? nt : 1) * sizeof *idf);
    uint32_t *df_final = malloc((nt ? nt : 1) * sizeof *df_final);
    if (!idf || !df_final) {
        free(df_final);
        goto oom;
    }
    for (uint32_t r = 0; r < nt; r++) {
        remap[rank[r].prov] = r;
        df_final[r] = df[rank[r].prov];
        idf[r] = (float)(log((1.0 + n) / (1.0 + df_final[r])) + 1.0);
        if (sb_add(&sb_terms, rank[r].s)) {
            free(df_final);
            goto oom;
        }
    }
    free(df);
    df = df_final;

    /* Weighted vectors under the final ids. */
    rows = malloc((counts.nnz ? counts.nnz : 1) * sizeof *rows);
    cols = malloc((counts.nnz ? counts.nnz : 1) * sizeof *cols);
    vals = malloc((counts.nnz ? counts.nnz : 1) * sizeof *vals);
    if (!rows || !cols || !vals)
        goto oom;
    size_t m = 0;
    for (uint32_t i = 0; i < n; i++) {
        for (uint64_t e = counts.row_ptr[i]; e < counts.row_ptr[i + 1]; e++) {
            uint32_t c = remap[counts.col[e]];
            if (c == CONTENT_NONE)
                continue;
            float wf = params.weight[t.field_of[counts.col[e]]];
            rows[m] = i;
            cols[m] = c;
            vals[m] = (float)(wf * (1.0 + log(counts.val[e])) * idf[c]);
            m++;
        }
    }
    sparse_csr_free(&counts);
    if (sparse_csr_from_triplets(&vec, n, nt, rows, cols, vals, m, err))
        goto fail;
    free(rows), rows = NULL;
    free(cols), cols = NULL;
    free(vals), vals = NULL;
    sparse_csr_normalize_rows(&vec);
    if (sparse_csr_transpose(&vec, &inv, err))
        goto fail;
    double t_vec = (1e3 * clock_mono_sec());

    uint32_t K = params.neighbours;
    nb_len = calloc(n ? n : 1, sizeof *nb_len);
    nb_idx = malloc(((size_t)n * K > 0 ? (size_t)n * K : 1) * sizeof *nb_idx);
    nb_score = malloc(((size_t)n * K > 0 ? (size_t)n * K : 1) * sizeof *nb_score);
    if (!nb_len || !nb_idx || !nb_score)
        goto oom;
    if (K && cm_neighbours_build(&vec, &inv, K, params.threads, nb_len, nb_idx, nb_score, err))
        goto fail;
    double t_nb = (1e3 * clock_mono_sec());

    /* Catalog facts the answers need. */
    years = malloc((n ? n : 1) * sizeof *years);
    masks = malloc((n ? n : 1) * sizeof *masks);
    ids = malloc((n ? n : 1) * sizeof *ids);
    id_order = malloc((n ? n : 1) * sizeof *id_order);
    if (!years || !masks || !ids || !id_order)
        goto oom;
    for (uint32_t i = 0; i < n; i++) {
        years[i] = catalog_year(cat, i);
        masks[i] = catalog_genre_mask(cat, i);
        ids[i].s = catalog_id(cat, i);
        ids[i].item = i;
        if (sb_add(&sb_ids, catalog_id(cat, i)) || sb_add(&sb_titles, catalog_title(cat, i)))
            goto oom;
    }
    qsort(ids, n, sizeof *ids, id_rank_cmp);
    for (uint32_t i = 0; i < n; i++)
        id_order[i] = ids[i].item;
    for (uint32_t g = 0; g < catalog_ngenres(cat); g++)
        if (sb_add(&sb_genres, catalog_genre_name(cat, g)))
            goto oom;

    /* Version: a checksum of the parameters, the ids and the vectors. */
    char pbuf[256];
    int pl = snprintf(pbuf, sizeof pbuf, "%g %g %g %g %g %g %g %u %u %u", params.weight[0], params.weight[1],
                      params.weight[2], params.weight[3], params.weight[4], params.weight[5], params.weight[6],
                      params.max_cast, params.min_df, params.neighbours);
    uint32_t ca = crc32c(0, pbuf, (size_t)pl);
    ca = crc32c(ca, sb_ids.bytes ? sb_ids.bytes : "", sb_ids.len);
    ca = crc32c(ca, sb_terms.bytes ? sb_terms.bytes : "", sb_terms.len);
    uint32_t cb = crc32c(0, vec.col, vec.nnz * sizeof *vec.col);
    cb = crc32c(cb, vec.val, vec.nnz * sizeof *vec.val);
    char version[64];
    snprintf(version, sizeof version, "tfidf-%08x%08x", ca, cb);

    if (modelfile_writer_new(&w, NULL, CONTENT_MODEL_KIND, version, err))
        goto fail;
    static const char *const wkeys[CONTENT_NFIELDS] = {"w_genre", "w_keyword", "w_tag", "w_cast",
                                                       "w_director", "w_overview", "w_title"};
    for (int f = 0; f < CONTENT_NFIELDS; f++)
        if (meta_f(w, wkeys[f], params.weight[f], err))
            goto fail;
    if (meta_f(w, "max_cast", params.max_cast, err) || meta_f(w, "min_df", params.min_df, err) ||
        meta_f(w, "neighbours", K, err) || meta_f(w, "threads", params.threads, err) ||
        meta_f(w, "n_items", n, err) || meta_f(w, "n_terms", nt, err) ||
        meta_f(w, "n_terms_seen", nprov, err) || meta_f(w, "nnz", (double)vec.nnz, err) ||
        meta_f(w, "vector_ms", t_vec - t0, err) || meta_f(w, "neighbour_ms", t_nb - t_vec, err))
        goto fail;
    if (sb_write(w, CM_ITEM_IDS, CM_ITEM_ID_OFF, &sb_ids, err) ||
        modelfile_writer_add(w, CM_ITEM_ID_ORDER, MODELFILE_U32, id_order, n, err) ||
        sb_write(w, CM_TITLES, CM_TITLE_OFF, &sb_titles, err) ||
        modelfile_writer_add(w, CM_YEARS, MODELFILE_I32, years, n, err) ||
        modelfile_writer_add(w, CM_GENRE_MASKS, MODELFILE_U64, masks, n, err) ||
        sb_write(w, CM_GENRES, CM_GENRE_OFF, &sb_genres, err) ||
        sb_write(w, CM_TERMS, CM_TERM_OFF, &sb_terms, err) ||
        modelfile_writer_add(w, CM_TERM_DF, MODELFILE_U32, df, nt, err) ||
        modelfile_writer_add(w, CM_TERM_IDF, MODELFILE_F32, idf, nt, err) ||
        modelfile_writer_add(w, CM_VEC_PTR, MODELFILE_U64, vec.row_ptr, (uint64_t)n + 1, err) ||
        modelfile_writer_add(w, CM_VEC_COL, MODELFILE_U32, vec.col, vec.nnz, err) ||
        modelfile_writer_add(w, CM_VEC_VAL, MODELFILE_F32, vec.val, vec.nnz, err) ||
        modelfile_writer_add(w, CM_INV_PTR, MODELFILE_U64, inv.row_ptr, (uint64_t)nt + 1, err) ||
        modelfile_writer_add(w, CM_INV_COL, MODELFILE_U32, inv.col, inv.nnz, err) ||
        modelfile_writer_add(w, CM_INV_VAL, MODELFILE_F32, inv.val, inv.nnz, err) ||
        modelfile_writer_add(w, CM_NB_LEN, MODELFILE_U32, nb_len, n, err) ||
        modelfile_writer_add(w, CM_NB_IDX, MODELFILE_U32, nb_idx, (uint64_t)n * K, err) ||
        modelfile_writer_add(w, CM_NB_SCORE, MODELFILE_F32, nb_score, (uint64_t)n * K, err) ||
        modelfile_writer_finish(w, err))
        goto fail;
    size_t len;
    const void *data = modelfile_writer_data(w, &len);
    rc = cm_model_from_buffer(data, len, "content model", out, err);
    goto done;
oom:
    err_set(err, "content model: out of memory (%u items)", n);
fail:
    if (!err->msg[0])
        err_set(err, "content model: build failed");
    else if (strncmp(err->msg, "content model", 13) != 0)
        err_prefix(err, "content model");
done:
    modelfile_writer_free(w);
    tok_free(&t);
    sparse_csr_free(&counts);
    sparse_csr_free(&vec);
    sparse_csr_free(&inv);
    free(rank);
    free(df);
    free(remap);
    free(rows);
    free(cols);
    free(vals);
    free(idf);
    free(nb_len);
    free(nb_idx);
    free(nb_score);
    free(years);
    free(masks);
    free(ids);
    free(id_order);
    sb_free(&sb_ids);
    sb_free(&sb_titles);
    sb_free(&sb_genres);
    sb_free(&sb_terms);
    return rc;
}
