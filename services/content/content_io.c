/*
 * content_io.c: a content model as a model file: attach (validate every
 * section and set the views), load by mmap, save, reference counting and
 * the read-only accessors.
 *
 * modelfile_open() already checks checksums and section bounds; here the
 * model's own invariants are checked (string tables terminated, ids and
 * terms sorted for the binary searches, CSR structure, neighbour indices in
 * range), so a query can trust every index it reads and a file that passes
 * cannot make a query read out of bounds.
 */
#include <stdlib.h>
#include <string.h>

#include "services/content/content_internal.h"

static int sec(const modelfile_t *mf, const char *name, modelfile_type_t type, uint64_t want, const void **p,
               err_t *err)
{
    uint64_t count;
    if (modelfile_section(mf, name, type, p, &count, err))
        return -1;
    if (want != UINT64_MAX && count != want)
        return err_set(err, "section '%s' has %llu elements, expected %llu", name, (unsigned long long)count,
                       (unsigned long long)want);
    return 0;
}

static int strings(const modelfile_t *mf, const char *bytes_name, const char *off_name, uint32_t n,
                   cm_strings_t *out, err_t *err)
{
    const void *b, *o;
    uint64_t nbytes;
    if (modelfile_section(mf, bytes_name, MODELFILE_BYTES, &b, &nbytes, err) ||
        sec(mf, off_name, MODELFILE_U64, (uint64_t)n + 1, &o, err))
        return -1;
    const uint64_t *off = o;
    const char *bytes = b;
    if (off[0] != 0 || off[n] != nbytes)
        return err_set(err, "section '%s': offsets do not span the %llu bytes", off_name,
                       (unsigned long long)nbytes);
    for (uint32_t i = 0; i < n; i++)
        if (off[i + 1] <= off[i] || off[i + 1] > nbytes || bytes[off[i + 1] - 1] != '\0')
            return err_set(err, "section '%s': string %u is not NUL-terminated in place", off_name, i);
    out->bytes = bytes;
    out->off = off;
    out->n = n;
    return 0;
}

static int meta_u32(const modelfile_t *mf, const char *key, uint32_t *out, err_t *err)
{
    const char *v = modelfile_meta(mf, key);
    if (!v)
        return err_set(err, "metadata '%s' missing", key);
    char *end;
    double d = strtod(v, &end);
    if (end == v || *end || !(d >= 0 && d <= 4294967295.0) || d != (double)(uint32_t)d)
        return err_set(err, "metadata '%s' = '%s' is not a count", key, v);
    *out = (uint32_t)d;
    return 0;
}

static int meta_float(const modelfile_t *mf, const char *key, float *out, err_t *err)
{
    const char *v = modelfile_meta(mf, key);
    if (!v)
        return err_set(err, "metadata '%s' missing", key);
    char *end;
    double d = strtod(v, &end);
    if (end == v || *end || !(d >= 0 && d <= 1e6))
        return err_set(err, "metadata '%s' = '%s' is not a weight", key, v);
    *out = (float)d;
    return 0;
}

static int attach(content_model_t *m, err_t *err)
{
    const modelfile_t *mf = m->mf;
    const void *p;
    if (strcmp(modelfile_kind(mf), CONTENT_MODEL_KIND) != 0)
        return err_set(err, "not a content model (kind '%s', expected '%s')", modelfile_kind(mf),
                       CONTENT_MODEL_KIND);
    snprintf(m->version, sizeof m->version, "%s", modelfile_model_version(mf));
    static const char *const wkeys[CONTENT_NFIELDS] = {"w_genre", "w_keyword", "w_tag", "w_cast",
                                                       "w_director", "w_overview", "w_title"};
    content_params_default(&m->params);
    for (int f = 0; f < CONTENT_NFIELDS; f++)
        if (meta_float(mf, wkeys[f], &m->params.weight[f], err))
            return -1;
    uint32_t n, nt, K;
    if (meta_u32(mf, "n_items", &n, err) || meta_u32(mf, "n_terms", &nt, err) ||
        meta_u32(mf, "neighbours", &K, err) || meta_u32(mf, "max_cast", &m->params.max_cast, err) ||
        meta_u32(mf, "min_df", &m->params.min_df, err) || meta_u32(mf, "threads", &m->params.threads, err))
        return -1;
    if (n == UINT32_MAX || nt == UINT32_MAX)
        return err_set(err, "too many items or terms");
    m->params.neighbours = K;
    m->n_items = n;
    m->n_terms = nt;
    m->nb_k = K;

    if (strings(mf, CM_ITEM_IDS, CM_ITEM_ID_OFF, n, &m->ids, err) ||
        strings(mf, CM_TITLES, CM_TITLE_OFF, n, &m->titles, err) ||
        strings(mf, CM_TERMS, CM_TERM_OFF, nt, &m->terms, err))
        return -1;
    {
        const void *go;
        uint64_t ng;
        if (modelfile_section(mf, CM_GENRE_OFF, MODELFILE_U64, &go, &ng, err))
            return -1;
        if (ng < 1 || ng - 1 >= UINT32_MAX)
            return err_set(err, "section '%s' is empty", CM_GENRE_OFF);
        if (strings(mf, CM_GENRES, CM_GENRE_OFF, (uint32_t)(ng - 1), &m->genres, err))
            return -1;
    }
    if (sec(mf, CM_ITEM_ID_ORDER, MODELFILE_U32, n, &p, err))
        return -1;
    m->id_order = p;
    if (sec(mf, CM_YEARS, MODELFILE_I32, n, &p, err))
        return -1;
    m->years = p;
    if (sec(mf, CM_GENRE_MASKS, MODELFILE_U64, n, &p, err))
        return -1;
    m->genre_masks = p;
    if (sec(mf, CM_TERM_DF, MODELFILE_U32, nt, &p, err))
        return -1;
    m->df = p;
    if (sec(mf, CM_TERM_IDF, MODELFILE_F32, nt, &p, err))
        return -1;
    m->idf = p;

    /* Ids: a permutation, in byte order (content_model_find bisects it). */
    uint64_t *seen = calloc(topk_bitmap_words(n) + 1, sizeof *seen);
    if (!seen)
        return err_set(err, "out of memory");
    for (uint32_t r = 0; r < n; r++) {
        uint32_t i = m->id_order[r];
        if (i >= n || topk_bitmap_test(seen, i)) {
            free(seen);
            return err_set(err, "section '%s': not a permutation of the items", CM_ITEM_ID_ORDER);
        }
        topk_bitmap_set(seen, i);
        if (r > 0 && strcmp(cm_str(&m->ids, m->id_order[r - 1]), cm_str(&m->ids, i)) >= 0) {
            free(seen);
            return err_set(err, "section '%s': ids not in strictly increasing order at %u", CM_ITEM_ID_ORDER, r);
        }
    }
    free(seen);
    for (uint32_t t = 1; t < nt; t++)
        if (strcmp(cm_str(&m->terms, t - 1), cm_str(&m->terms, t)) >= 0)
            return err_set(err, "section '%s': terms not in strictly increasing order at %u", CM_TERMS, t);

    /* Vectors and inverted index. */
    const void *vp, *vc, *vv, *ip, *ic, *iv;
    uint64_t vnnz, innz;
    if (sec(mf, CM_VEC_PTR, MODELFILE_U64, (uint64_t)n + 1, &vp, err) ||
        modelfile_section(mf, CM_VEC_COL, MODELFILE_U32, &vc, &vnnz, err) ||
        sec(mf, CM_VEC_VAL, MODELFILE_F32, vnnz, &vv, err) ||
        sec(mf, CM_INV_PTR, MODELFILE_U64, (uint64_t)nt + 1, &ip, err) ||
        modelfile_section(mf, CM_INV_COL, MODELFILE_U32, &ic, &innz, err) ||
        sec(mf, CM_INV_VAL, MODELFILE_F32, innz, &iv, err))
        return -1;
    if (vnnz != innz)
        return err_set(err, "vectors have %llu non-zeros, the inverted index %llu", (unsigned long long)vnnz,
                       (unsigned long long)innz);
    sparse_csr_view(&m->vec, n, nt, vnnz, vp, vc, vv);
    sparse_csr_view(&m->inv, nt, n, innz, ip, ic, iv);
    if (sparse_csr_check(&m->vec, err))
        return err_prefix(err, "vectors");
    if (sparse_csr_check(&m->inv, err))
        return err_prefix(err, "inverted index");

    /* Neighbour lists. */
    if (sec(mf, CM_NB_LEN, MODELFILE_U32, n, &p, err))
        return -1;
    m->nb_len = p;
    if (sec(mf, CM_NB_IDX, MODELFILE_U32, (uint64_t)n * K, &p, err))
        return -1;
    m->nb_idx = p;
    if (sec(mf, CM_NB_SCORE, MODELFILE_F32, (uint64_t)n * K, &p, err))
        return -1;
    m->nb_score = p;
    for (uint32_t i = 0; i < n; i++) {
        if (m->nb_len[i] > K)
            return err_set(err, "item %u: %u neighbours, more than %u", i, m->nb_len[i], K);
        for (uint32_t r = 0; r < m->nb_len[i]; r++)
            if (m->nb_idx[(size_t)i * K + r] >= n)
                return err_set(err, "item %u: neighbour %u out of range", i, m->nb_idx[(size_t)i * K + r]);
    }
    return 0;
}

/* The id index: ids interned in item order, so the map's index is the item. */
static int index_ids(content_model_t *m, err_t *err)
{
    if ((m->id_index = idmap_new()) == NULL)
        return err_set(err, "out of memory");
    for (uint32_t i = 0; i < m->n_items; i++) {
        const char *s = cm_str(&m->ids, i);
        uint32_t got;
        if (idmap_intern(m->id_index, s, strlen(s), &got) < 0 || got != i)
            return err_set(err, "item %u: id '%s' cannot be indexed (out of memory or a repeat)", i, s);
    }
    return 0;
}

static int finish(content_model_t *m, const char *name, content_model_t **out, err_t *err)
{
    if (attach(m, err) || index_ids(m, err)) {
        err_prefix(err, "%s", name);
        content_model_release(m);
        return -1;
    }
    *out = m;
    return 0;
}

static content_model_t *model_new(void)
{
    content_model_t *m = calloc(1, sizeof *m);
    if (m)
        atomic_init(&m->refs, 1);
    return m;
}

int cm_model_from_buffer(const void *buf, size_t len, const char *name, content_model_t **out, err_t *err)
{
    *out = NULL;
    content_model_t *m = model_new();
    size_t cap = (len + MODELFILE_ALIGN - 1) / MODELFILE_ALIGN * MODELFILE_ALIGN;
    if (m)
        m->buf = aligned_alloc(MODELFILE_ALIGN, cap ? cap : MODELFILE_ALIGN);
    if (!m || !m->buf) {
        free(m);
        return err_set(err, "%s: out of memory (%zu bytes)", name, len);
    }
    memcpy(m->buf, buf, len);
    if (modelfile_open_mem(m->buf, len, name, &m->mf, err)) {
        content_model_release(m);
        return -1;
    }
    return finish(m, name, out, err);
}

int content_model_load_mem(const void *buf, size_t len, const char *name, content_model_t **out, err_t *err)
{
    return cm_model_from_buffer(buf, len, name ? name : "<memory>", out, err);
}

int content_model_load(const char *path, content_model_t **out, err_t *err)
{
    *out = NULL;
    content_model_t *m = model_new();
    if (!m)
        return err_set(err, "%s: out of memory", path);
    if (modelfile_open(path, &m->mf, err)) {
        free(m);
        return -1;
    }
    return finish(m, path, out, err);
}

int content_model_save(const content_model_t *m, const char *path, err_t *err)
{
    modelfile_writer_t *w;
    if (modelfile_writer_new(&w, path, CONTENT_MODEL_KIND, m->version, err))
        return -1;
    modelfile_writer_set_created(w, modelfile_created(m->mf));
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < modelfile_meta_count(m->mf); i++) {
        const char *k, *v;
        modelfile_meta_at(m->mf, i, &k, &v);
        rc = modelfile_writer_meta(w, k, v, err);
    }
    for (size_t i = 0; rc == 0 && i < modelfile_nsections(m->mf); i++) {
        modelfile_section_info_t info;
        modelfile_section_at(m->mf, i, &info);
        if (strcmp(info.name, MODELFILE_META_SECTION) == 0)
            continue;
        rc = modelfile_writer_add(w, info.name, info.type, info.data, info.count, err);
    }
    if (rc == 0)
        rc = modelfile_writer_finish(w, err);
    modelfile_writer_free(w);
    return rc;
}

content_model_t *content_model_retain(content_model_t *m)
{
    if (m)
        atomic_fetch_add(&m->refs, 1);
    return m;
}

void content_model_release(content_model_t *m)
{
    if (!m || atomic_fetch_sub(&m->refs, 1) != 1)
        return;
    idmap_free(m->id_index);
    modelfile_close(m->mf);
    free(m->buf);
    free(m);
}

/* ------------------------------------------------------------ accessors */

uint32_t content_model_size(const content_model_t *m)
{
    return m->n_items;
}
uint32_t content_model_nterms(const content_model_t *m)
{
    return m->n_terms;
}
const char *content_model_version(const content_model_t *m)
{
    return m->version;
}
const content_params_t *content_model_params(const content_model_t *m)
{
    return &m->params;
}
uint64_t content_model_bytes(const content_model_t *m)
{
    return modelfile_size(m->mf);
}

uint32_t content_model_find(const content_model_t *m, const char *id, size_t len)
{
    if (m->id_index != NULL) {
        uint32_t i = idmap_find(m->id_index, id, len);
        return i == IDMAP_NONE ? CONTENT_NONE : i;
    }
    size_t lo = 0, hi = m->n_items;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *s = cm_str(&m->ids, m->id_order[mid]);
        int c = strncmp(s, id, len);
        if (c == 0 && s[len] != '\0')
            c = 1; /* s is longer: it sorts after id */
        if (c == 0)
            return m->id_order[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return CONTENT_NONE;
}

const char *content_model_id(const content_model_t *m, uint32_t item)
{
    return item < m->n_items ? cm_str(&m->ids, item) : NULL;
}
const char *content_model_title(const content_model_t *m, uint32_t item)
{
    return item < m->n_items ? cm_str(&m->titles, item) : NULL;
}
int content_model_year(const content_model_t *m, uint32_t item)
{
    return item < m->n_items ? m->years[item] : 0;
}
uint64_t content_model_genre_mask(const content_model_t *m, uint32_t item)
{
    return item < m->n_items ? m->genre_masks[item] : 0;
}
uint32_t content_model_ngenres(const content_model_t *m)
{
    return m->genres.n;
}
const char *content_model_genre_name(const content_model_t *m, uint32_t genre)
{
    return genre < m->genres.n ? cm_str(&m->genres, genre) : NULL;
}
uint32_t content_model_genre_find(const content_model_t *m, const char *name)
{
    for (uint32_t g = 0; g < m->genres.n; g++)
        if (strcmp(cm_str(&m->genres, g), name) == 0)
            return g;
    return CONTENT_NONE;
}
const char *content_model_term(const content_model_t *m, uint32_t t)
{
    return t < m->n_terms ? cm_str(&m->terms, t) : NULL;
}
uint32_t content_model_term_df(const content_model_t *m, uint32_t t)
{
    return t < m->n_terms ? m->df[t] : 0;
}
float content_model_term_idf(const content_model_t *m, uint32_t t)
{
    return t < m->n_terms ? m->idf[t] : 0.0f;
}
uint32_t content_model_term_find(const content_model_t *m, const char *term)
{
    size_t lo = 0, hi = m->n_terms;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(cm_str(&m->terms, (uint32_t)mid), term);
        if (c == 0)
            return (uint32_t)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return CONTENT_NONE;
}
sparse_view_t content_model_vector(const content_model_t *m, uint32_t item)
{
    if (item >= m->n_items)
        return (sparse_view_t){0};
    return sparse_csr_row(&m->vec, item);
}
void content_model_neighbours(const content_model_t *m, uint32_t item, const uint32_t **idx, const float **score,
                              uint32_t *n)
{
    if (item >= m->n_items || m->nb_k == 0) {
        *idx = NULL;
        *score = NULL;
        *n = 0;
        return;
    }
    *idx = m->nb_idx + (size_t)item * m->nb_k;
    *score = m->nb_score + (size_t)item * m->nb_k;
    *n = m->nb_len[item];
}
