/*
 * cf_io.c: CF models to and from the common model-file format.
 *
 * Kind "cf-<kind>" ("cf-als", "cf-ease", "cf-mf", "cf-pop", "cf-itemknn",
 * "cf-userknn"; the knn kinds add the sections knn.row_ptr / knn.col /
 * knn.val, a CSR matrix, and userknn knn.norm); every array is
 * its own section (f32 matrices row-major, used in place from the mapping);
 * sizes and every hyper-parameter are metadata, so a loaded model folds in
 * and filters exactly like the trained one. Loading checks each section's
 * type and element count against the sizes in the metadata and the history
 * matrix's structure (sparse_csr_check), on top of modelfile's checksums: a
 * damaged or mismatched file is refused with a message naming the file.
 */
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/base/rng.h"
#include "services/cf/cf_internal.h"

static int meta_num(modelfile_writer_t *w, const char *key, double v, err_t *err)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%.9g", v);
    return modelfile_writer_meta(w, key, buf, err);
}

static int add_ids(modelfile_writer_t *w, const char *name, const idmap_t *ids, uint32_t n, err_t *err)
{
    if (modelfile_writer_begin(w, name, MODELFILE_BYTES, err) < 0)
        return -1;
    for (uint32_t i = 0; i < n; i++) {
        size_t len;
        const char *k = idmap_key(ids, i, &len);
        if (modelfile_writer_append(w, k, len + 1, err) < 0)
            return -1;
    }
    return modelfile_writer_end(w, err);
}

static int write_all(modelfile_writer_t *w, const cf_model_t *m, err_t *err)
{
    const cf_params_t *p = &m->params;
    size_t nu = m->n_users, ni = m->n_items, d = m->dim;
    int rc = 0;
    rc |= modelfile_writer_meta(w, "format", CF_MODEL_FORMAT, err);
    rc |= modelfile_writer_meta(w, "model", cf_kind_name(m->kind), err);
    rc |= meta_num(w, "n_users", nu, err);
    rc |= meta_num(w, "n_items", ni, err);
    rc |= meta_num(w, "dim", d, err);
    rc |= meta_num(w, "mu", m->mu, err);
    rc |= meta_num(w, "rmin", m->rmin, err);
    rc |= meta_num(w, "rmax", m->rmax, err);
    rc |= meta_num(w, "fit_seconds", m->fit_seconds, err);
    rc |= meta_num(w, "als.factors", p->als.factors, err);
    rc |= meta_num(w, "als.iterations", p->als.iterations, err);
    rc |= meta_num(w, "als.cg_steps", p->als.cg_steps, err);
    rc |= meta_num(w, "als.reg", p->als.reg, err);
    rc |= meta_num(w, "als.alpha", p->als.alpha, err);
    rc |= meta_num(w, "als.eps", p->als.eps, err);
    rc |= modelfile_writer_meta(w, "als.confidence", p->als.conf == CF_CONF_LOG ? "log" : "linear", err);
    rc |= meta_num(w, "als.binary", p->als.binary, err);
    rc |= meta_num(w, "als.threads", p->als.threads, err);
    rc |= meta_num(w, "als.seed", (double)p->als.seed, err);
    rc |= meta_num(w, "ease.lambda", p->ease.lambda, err);
    rc |= meta_num(w, "ease.binary", p->ease.binary, err);
    rc |= meta_num(w, "mf.factors", p->mf.factors, err);
    rc |= meta_num(w, "mf.iterations", p->mf.iterations, err);
    rc |= meta_num(w, "mf.reg", p->mf.reg, err);
    rc |= meta_num(w, "mf.bias_reg", p->mf.bias_reg, err);
    rc |= meta_num(w, "mf.reg_exp", p->mf.reg_exp, err);
    rc |= meta_num(w, "itemknn.k", p->itemknn.k, err);
    rc |= meta_num(w, "itemknn.shrink", p->itemknn.shrink, err);
    rc |= meta_num(w, "itemknn.binary", p->itemknn.binary, err);
    rc |= meta_num(w, "userknn.k", p->userknn.k, err);
    rc |= meta_num(w, "userknn.shrink", p->userknn.shrink, err);
    rc |= meta_num(w, "userknn.binary", p->userknn.binary, err);
    if (rc)
        return -1;
    if (modelfile_writer_add(w, "hist.row_ptr", MODELFILE_U64, m->hist.row_ptr, nu + 1, err) < 0 ||
        modelfile_writer_add(w, "hist.col", MODELFILE_U32, m->hist.col, m->hist.nnz, err) < 0 ||
        modelfile_writer_add(w, "hist.val", MODELFILE_F32, m->hist.val, m->hist.nnz, err) < 0 ||
        modelfile_writer_add(w, "pop", MODELFILE_F32, m->pop, ni, err) < 0)
        return -1;
    if (m->kind == CF_KIND_ALS || m->kind == CF_KIND_MF) {
        if (modelfile_writer_add(w, "user_f", MODELFILE_F32, m->user_f, nu * d, err) < 0 ||
            modelfile_writer_add(w, "item_f", MODELFILE_F32, m->item_f, ni * d, err) < 0 ||
            (d && modelfile_writer_add(w, "item_inv_norm", MODELFILE_F32, m->item_inv_norm, ni, err) < 0))
            return -1;
    }
    if (m->kind == CF_KIND_ALS && modelfile_writer_add(w, "gram", MODELFILE_F32, m->gram, d * d, err) < 0)
        return -1;
    if (m->kind == CF_KIND_MF && (modelfile_writer_add(w, "user_bias", MODELFILE_F32, m->user_bias, nu, err) < 0 ||
                                  modelfile_writer_add(w, "item_bias", MODELFILE_F32, m->item_bias, ni, err) < 0))
        return -1;
    if (m->kind == CF_KIND_EASE && modelfile_writer_add(w, "ease_b", MODELFILE_F32, m->ease_b, ni * ni, err) < 0)
        return -1;
    if ((m->kind == CF_KIND_ITEMKNN || m->kind == CF_KIND_USERKNN) &&
        (modelfile_writer_add(w, "knn.row_ptr", MODELFILE_U64, m->knn.row_ptr, (size_t)m->knn.n_rows + 1, err) < 0 ||
         modelfile_writer_add(w, "knn.col", MODELFILE_U32, m->knn.col, m->knn.nnz, err) < 0 ||
         modelfile_writer_add(w, "knn.val", MODELFILE_F32, m->knn.val, m->knn.nnz, err) < 0))
        return -1;
    if (m->kind == CF_KIND_USERKNN && modelfile_writer_add(w, "knn.norm", MODELFILE_F32, m->knn_norm, nu, err) < 0)
        return -1;
    if (m->user_ids && add_ids(w, "user_ids", m->user_ids, m->n_users, err) < 0)
        return -1;
    if (m->item_ids && add_ids(w, "item_ids", m->item_ids, m->n_items, err) < 0)
        return -1;
    if (m->genre_mask && (modelfile_writer_add(w, "genre_mask", MODELFILE_U64, m->genre_mask, ni, err) < 0 ||
                          modelfile_writer_add(w, "year", MODELFILE_I32, m->year, ni, err) < 0))
        return -1;
    return 0;
}

int cf_model_save(const cf_model_t *m, const char *path, err_t *err)
{
    char kind[MODELFILE_KIND_MAX + 1], version[MODELFILE_VERSION_MAX + 1];
    snprintf(kind, sizeof kind, "cf-%s", cf_kind_name(m->kind));
    if (m->version[0]) {
        snprintf(version, sizeof version, "%s", m->version);
    } else {
        /* Time of saving plus a hash of the sizes: distinct models differ. */
        uint64_t h = rng_mix64(((uint64_t)m->n_users << 32) ^ m->n_items ^ ((uint64_t)m->hist.nnz << 7) ^ m->dim);
        snprintf(version, sizeof version, "%s-%lld-%08" PRIx32, kind, (long long)time(NULL), (uint32_t)h);
    }
    modelfile_writer_t *w;
    if (modelfile_writer_new(&w, path, kind, version, err) < 0)
        return -1;
    if (write_all(w, m, err) < 0 || modelfile_writer_finish(w, err) < 0) {
        modelfile_writer_free(w);
        return err_prefix(err, "%s", path);
    }
    modelfile_writer_free(w);
    return 0;
}

/* ---- loading */

static int meta_double(const modelfile_t *mf, const char *path, const char *key, double *out, err_t *err)
{
    const char *v = modelfile_meta(mf, key);
    if (!v)
        return err_set(err, "%s: metadata '%s' missing", path, key);
    char *end;
    errno = 0;
    *out = strtod(v, &end);
    if (errno || end == v || *end)
        return err_set(err, "%s: metadata '%s' = '%s' is not a number", path, key, v);
    return 0;
}

static int meta_u32(const modelfile_t *mf, const char *path, const char *key, uint32_t *out, err_t *err)
{
    double v;
    if (meta_double(mf, path, key, &v, err) < 0)
        return -1;
    if (!(v >= 0 && v <= 4294967295.0) || v != (double)(uint32_t)v)
        return err_set(err, "%s: metadata '%s' out of range", path, key);
    *out = (uint32_t)v;
    return 0;
}

static int meta_float(const modelfile_t *mf, const char *path, const char *key, float *out, err_t *err)
{
    double v;
    if (meta_double(mf, path, key, &v, err) < 0)
        return -1;
    if (!(v >= -FLT_MAX && v <= FLT_MAX))
        return err_set(err, "%s: metadata '%s' = %g is not a finite float", path, key, v);
    *out = (float)v;
    return 0;
}

static int section(const modelfile_t *mf, const char *path, const char *name, modelfile_type_t type, uint64_t want,
                   const void **ptr, err_t *err)
{
    uint64_t count;
    if (modelfile_section(mf, name, type, ptr, &count, err) < 0)
        return -1;
    if (count != want)
        return err_set(err, "%s: section '%s' has %llu elements, expected %llu", path, name,
                       (unsigned long long)count, (unsigned long long)want);
    return 0;
}

static int load_ids(const modelfile_t *mf, const char *path, const char *name, uint32_t n, idmap_t **out,
                    err_t *err)
{
    const void *p;
    uint64_t len;
    if (modelfile_section(mf, name, MODELFILE_BYTES, &p, &len, err) < 0)
        return -1;
    const char *s = p, *end = s + len;
    idmap_t *m = idmap_new();
    if (!m)
        return err_set(err, "%s: out of memory", path);
    for (uint32_t i = 0; i < n; i++) {
        const char *z = s < end ? memchr(s, '\0', (size_t)(end - s)) : NULL;
        uint32_t idx;
        if (!z || z == s || idmap_intern(m, s, (size_t)(z - s), &idx) != 1) {
            idmap_free(m);
            return err_set(err, "%s: section '%s': id %u missing, empty or repeated", path, name, i);
        }
        s = z + 1;
    }
    if (s != end) {
        idmap_free(m);
        return err_set(err, "%s: section '%s': more than %u ids", path, name, n);
    }
    *out = m;
    return 0;
}

/* The neighbour parameters prefix.k / .shrink / .binary: required for the
 * model's own kind, optional (defaults kept) for files of other kinds. */
static int read_knn_params(const modelfile_t *mf, const char *path, const char *prefix, int required,
                           cf_knn_params_t *p, err_t *err)
{
    char kk[32], ks[32], kb[32];
    snprintf(kk, sizeof kk, "%s.k", prefix);
    snprintf(ks, sizeof ks, "%s.shrink", prefix);
    snprintf(kb, sizeof kb, "%s.binary", prefix);
    if (!required && !modelfile_meta(mf, kk))
        return 0;
    uint32_t b;
    if (meta_u32(mf, path, kk, &p->k, err) < 0 || meta_float(mf, path, ks, &p->shrink, err) < 0 ||
        meta_u32(mf, path, kb, &b, err) < 0)
        return -1;
    p->binary = b != 0;
    if (required && (p->k == 0 || p->k > 100000000u))
        return err_set(err, "%s: metadata '%s' = %u out of range (1..1e8)", path, kk, p->k);
    if (required && !(p->shrink >= 0.0f))
        return err_set(err, "%s: metadata '%s' must be >= 0", path, ks);
    return 0;
}

/* The knn sections: itemknn's neighbour matrix (n_items x n_items, at most
 * itemknn.k per row, finite similarities), userknn's X^T (n_items x
 * n_users, as many entries as the history) and user norms. */
static int read_knn(cf_model_t *m, const modelfile_t *mf, const char *path, err_t *err)
{
    int item = m->kind == CF_KIND_ITEMKNN;
    uint32_t nu = m->n_users, ni = m->n_items;
    const void *rp, *col, *val, *q;
    uint64_t nnz;
    if (m->dim != 0)
        return err_set(err, "%s: dim %u, but a %s model has no factors", path, m->dim, cf_kind_name(m->kind));
    if (section(mf, path, "knn.row_ptr", MODELFILE_U64, (uint64_t)ni + 1, &rp, err) < 0 ||
        modelfile_section(mf, "knn.col", MODELFILE_U32, &col, &nnz, err) < 0 ||
        section(mf, path, "knn.val", MODELFILE_F32, nnz, &val, err) < 0)
        return -1;
    sparse_csr_view(&m->knn, ni, item ? ni : nu, nnz, rp, col, val);
    if (sparse_csr_check(&m->knn, err) < 0)
        return err_prefix(err, "%s: section 'knn'", path);
    const float *v = val;
    for (uint64_t e = 0; e < nnz; e++)
        if (!isfinite(v[e]))
            return err_set(err, "%s: section 'knn.val': entry %llu is not finite", path, (unsigned long long)e);
    if (item) {
        for (uint32_t i = 0; i < ni; i++)
            if (m->knn.row_ptr[i + 1] - m->knn.row_ptr[i] > m->params.itemknn.k)
                return err_set(err, "%s: section 'knn': item %u has more than itemknn.k = %u neighbours", path, i,
                               m->params.itemknn.k);
        return 0;
    }
    if (nnz != m->hist.nnz)
        return err_set(err, "%s: section 'knn' has %llu entries, the history %llu", path, (unsigned long long)nnz,
                       (unsigned long long)m->hist.nnz);
    if (section(mf, path, "knn.norm", MODELFILE_F32, nu, &q, err) < 0)
        return -1;
    const float *nr = q;
    for (uint32_t u = 0; u < nu; u++)
        if (!(nr[u] >= 0.0f) || !isfinite(nr[u]))
            return err_set(err, "%s: section 'knn.norm': user %u's norm is not a finite number >= 0", path, u);
    m->knn_norm = nr;
    return 0;
}

static int read_model(cf_model_t *m, const modelfile_t *mf, const char *path, err_t *err)
{
    cf_params_t *p = &m->params;
    uint32_t nu = m->n_users, ni = m->n_items, d = m->dim;
    char conf[16];
    const char *cs = modelfile_meta(mf, "als.confidence");
    snprintf(conf, sizeof conf, "%s", cs ? cs : "");
    uint32_t b1, b2;
    if (meta_float(mf, path, "mu", &m->mu, err) < 0 || meta_float(mf, path, "rmin", &m->rmin, err) < 0 ||
        meta_float(mf, path, "rmax", &m->rmax, err) < 0 ||
        meta_u32(mf, path, "als.factors", &p->als.factors, err) < 0 ||
        meta_u32(mf, path, "als.iterations", &p->als.iterations, err) < 0 ||
        meta_u32(mf, path, "als.cg_steps", &p->als.cg_steps, err) < 0 ||
        meta_float(mf, path, "als.reg", &p->als.reg, err) < 0 ||
        meta_float(mf, path, "als.alpha", &p->als.alpha, err) < 0 ||
        meta_float(mf, path, "als.eps", &p->als.eps, err) < 0 || meta_u32(mf, path, "als.binary", &b1, err) < 0 ||
        meta_u32(mf, path, "als.threads", &p->als.threads, err) < 0 ||
        meta_float(mf, path, "ease.lambda", &p->ease.lambda, err) < 0 ||
        meta_u32(mf, path, "ease.binary", &b2, err) < 0 ||
        meta_u32(mf, path, "mf.factors", &p->mf.factors, err) < 0 ||
        meta_u32(mf, path, "mf.iterations", &p->mf.iterations, err) < 0 ||
        meta_float(mf, path, "mf.reg", &p->mf.reg, err) < 0 ||
        meta_float(mf, path, "mf.bias_reg", &p->mf.bias_reg, err) < 0 ||
        meta_float(mf, path, "mf.reg_exp", &p->mf.reg_exp, err) < 0)
        return -1;
    if (read_knn_params(mf, path, "itemknn", m->kind == CF_KIND_ITEMKNN, &p->itemknn, err) < 0 ||
        read_knn_params(mf, path, "userknn", m->kind == CF_KIND_USERKNN, &p->userknn, err) < 0)
        return -1;
    p->itemknn.threads = p->userknn.threads = 1;
    double seed, fit;
    if (meta_double(mf, path, "als.seed", &seed, err) < 0 || meta_double(mf, path, "fit_seconds", &fit, err) < 0)
        return -1;
    if (strcmp(conf, "linear") != 0 && strcmp(conf, "log") != 0)
        return err_set(err, "%s: metadata 'als.confidence' = '%s' is not linear or log", path, conf);
    if (!(seed >= 0.0 && seed < 18446744073709551616.0))
        return err_set(err, "%s: metadata 'als.seed' = %g is not a seed (0 to 2^64 - 1)", path, seed);
    p->als.conf = strcmp(conf, "log") == 0 ? CF_CONF_LOG : CF_CONF_LINEAR;
    p->als.binary = b1 != 0;
    p->ease.binary = b2 != 0;
    p->als.seed = (uint64_t)seed;
    p->mf.seed = p->als.seed;
    p->als.threads = p->mf.threads = p->als.threads ? p->als.threads : 1;
    p->kind = m->kind;
    m->fit_seconds = fit;
    if ((m->kind == CF_KIND_ALS && d != p->als.factors) || (m->kind == CF_KIND_MF && d != p->mf.factors))
        return err_set(err, "%s: dim %u does not match the factors of the parameters", path, d);
    if (m->kind == CF_KIND_ALS && (p->als.conf == CF_CONF_LOG && !(p->als.eps > 0.0f)))
        return err_set(err, "%s: als.eps must be > 0", path);
    if (m->kind == CF_KIND_MF && (!(p->mf.reg > 0.0f) || !(p->mf.bias_reg > 0.0f) || !(p->mf.reg_exp >= 0.0f)))
        return err_set(err, "%s: mf.reg and mf.bias_reg must be > 0", path);

    const void *rp, *col, *val, *pop;
    uint64_t nnz;
    if (section(mf, path, "hist.row_ptr", MODELFILE_U64, (uint64_t)nu + 1, &rp, err) < 0 ||
        modelfile_section(mf, "hist.col", MODELFILE_U32, &col, &nnz, err) < 0 ||
        section(mf, path, "hist.val", MODELFILE_F32, nnz, &val, err) < 0 ||
        section(mf, path, "pop", MODELFILE_F32, ni, &pop, err) < 0)
        return -1;
    sparse_csr_view(&m->hist, nu, ni, nnz, rp, col, val);
    if (sparse_csr_check(&m->hist, err) < 0)
        return err_prefix(err, "%s: section 'hist'", path);
    m->pop = pop;
    const void *q;
    if (m->kind == CF_KIND_ALS || m->kind == CF_KIND_MF) {
        if (section(mf, path, "user_f", MODELFILE_F32, (uint64_t)nu * d, &q, err) < 0)
            return -1;
        m->user_f = q;
        if (section(mf, path, "item_f", MODELFILE_F32, (uint64_t)ni * d, &q, err) < 0)
            return -1;
        m->item_f = q;
        if (d) {
            if (section(mf, path, "item_inv_norm", MODELFILE_F32, ni, &q, err) < 0)
                return -1;
            m->item_inv_norm = q;
        }
    }
    if (m->kind == CF_KIND_ALS) {
        if (section(mf, path, "gram", MODELFILE_F32, (uint64_t)d * d, &q, err) < 0)
            return -1;
        m->gram = q;
    }
    if (m->kind == CF_KIND_MF) {
        if (section(mf, path, "user_bias", MODELFILE_F32, nu, &q, err) < 0)
            return -1;
        m->user_bias = q;
        if (section(mf, path, "item_bias", MODELFILE_F32, ni, &q, err) < 0)
            return -1;
        m->item_bias = q;
    }
    if (m->kind == CF_KIND_EASE) {
        if (section(mf, path, "ease_b", MODELFILE_F32, (uint64_t)ni * ni, &q, err) < 0)
            return -1;
        m->ease_b = q;
    }
    if ((m->kind == CF_KIND_ITEMKNN || m->kind == CF_KIND_USERKNN) && read_knn(m, mf, path, err) < 0)
        return -1;
    if (modelfile_has_section(mf, "user_ids") && load_ids(mf, path, "user_ids", nu, &m->user_ids, err) < 0)
        return -1;
    if (modelfile_has_section(mf, "item_ids") && load_ids(mf, path, "item_ids", ni, &m->item_ids, err) < 0)
        return -1;
    if (modelfile_has_section(mf, "genre_mask")) {
        if (section(mf, path, "genre_mask", MODELFILE_U64, ni, &q, err) < 0)
            return -1;
        m->genre_mask = q;
        if (section(mf, path, "year", MODELFILE_I32, ni, &q, err) < 0)
            return -1;
        m->year = q;
    }
    return 0;
}

int cf_model_load(const char *path, cf_model_t **out, err_t *err)
{
    *out = NULL;
    modelfile_t *mf;
    if (modelfile_open(path, &mf, err) < 0)
        return -1;
    const char *kind = modelfile_kind(mf);
    cf_kind_t k;
    err_t ignore;
    if (strncmp(kind, "cf-", 3) != 0 || cf_kind_parse(kind + 3, &k, &ignore) < 0 || k == CF_KIND_AUTO) {
        err_set(err, "%s: model kind '%s' is not a CF model", path, kind);
        modelfile_close(mf);
        return -1;
    }
    const char *fmt = modelfile_meta(mf, "format");
    if (!fmt || strcmp(fmt, CF_MODEL_FORMAT) != 0) {
        err_set(err, "%s: CF model format '%s', this build reads '%s'", path, fmt ? fmt : "", CF_MODEL_FORMAT);
        modelfile_close(mf);
        return -1;
    }
    uint32_t nu, ni, d;
    if (meta_u32(mf, path, "n_users", &nu, err) < 0 || meta_u32(mf, path, "n_items", &ni, err) < 0 ||
        meta_u32(mf, path, "dim", &d, err) < 0) {
        modelfile_close(mf);
        return -1;
    }
    if (d > 1024) {
        modelfile_close(mf);
        return err_set(err, "%s: dim %u out of range", path, d);
    }
    cf_model_t *m = cf_model_alloc(k, nu, ni, d);
    if (!m) {
        modelfile_close(mf);
        return err_set(err, "%s: out of memory", path);
    }
    m->file = mf;
    snprintf(m->version, sizeof m->version, "%s", modelfile_model_version(mf));
    if (read_model(m, mf, path, err) < 0) {
        cf_model_release(m);
        return -1;
    }
    cf_model_screen_init(m);
    *out = m;
    return 0;
}
