/*
 * cf_options.c: the CF library's options (flags / RECSYS_CF_* variables) and
 * their defaults. The defaults were picked on a validation split carved from
 * ml-100k ua.base (never ua.test); bench/README.md gives the grid and the
 * command (build/bin/cf_tune).
 */
#include <string.h>

#include "services/cf/cf_model.h"

const cfg_option_t cf_options[] = {
    {"cf-model", CFG_STRING, "auto", "CF model: auto (ease when it fits cf-ease-max-bytes and cf-ease-max-seconds, else als), als, ease, mf, itemknn, userknn or pop.", 0, 0},
    {"cf-ease-max-bytes", CFG_INT, "1073741824", "Auto picks EASE only if its peak training memory (4 n^2 bytes for n items, plus the history) is at most this.", 0, 1e15},
    {"cf-ease-max-seconds", CFG_DOUBLE, "60", "Auto picks EASE only if its estimated training time (n^3 / 1e11 s for n items: Cholesky and inverse as measured on 2 cores, bench/cf_knn.md) is at most this.", 0, 1e9},
    {"cf-factors", CFG_INT, "64", "ALS latent factors.", 1, 1024},
    {"cf-iterations", CFG_INT, "15", "ALS iterations.", 0, 1000},
    {"cf-cg-steps", CFG_INT, "3", "Conjugate-gradient steps per row and ALS iteration.", 1, 100},
    {"cf-reg", CFG_DOUBLE, "50", "ALS L2 regularisation.", 0, 1e6},
    {"cf-alpha", CFG_DOUBLE, "2", "ALS confidence slope: c = 1 + alpha * r (or 1 + alpha * log(1 + r / eps)).", 0, 1e6},
    {"cf-confidence", CFG_STRING, "linear", "ALS confidence scaling: linear or log.", 0, 0},
    {"cf-eps", CFG_DOUBLE, "1", "Scale of the log confidence.", 1e-9, 1e9},
    {"cf-binary", CFG_BOOL, "false", "ALS: treat every interaction as r = 1.", 0, 0},
    {"cf-threads", CFG_INT, "2", "Training threads (the result does not depend on it).", 1, 256},
    {"cf-seed", CFG_INT, "42", "Random seed of the initial factors.", 0, 0},
    {"cf-ease-lambda", CFG_DOUBLE, "4000", "EASE L2 regularisation lambda.", 1e-6, 1e9},
    {"cf-ease-binary", CFG_BOOL, "false", "EASE: X is 1 per interaction (false: the rating).", 0, 0},
    {"cf-mf-factors", CFG_INT, "8", "Rating-prediction MF latent factors.", 0, 1024},
    {"cf-mf-iterations", CFG_INT, "15", "Rating-prediction MF ALS iterations.", 0, 1000},
    {"cf-mf-reg", CFG_DOUBLE, "1.2", "MF factor regularisation (times the row's rating count).", 1e-9, 1e6},
    {"cf-mf-reg-exp", CFG_DOUBLE, "0.5", "MF penalties scale with n^reg-exp (n: the row's ratings; 1 = weighted lambda).", 0, 2},
    {"cf-mf-bias-reg", CFG_DOUBLE, "1", "MF bias regularisation (times the row's rating count).", 1e-9, 1e6},
    {"cf-itemknn-k", CFG_INT, "400", "itemknn: neighbours kept per item (storage: 8 bytes each).", 1, 100000},
    {"cf-itemknn-shrink", CFG_DOUBLE, "50", "itemknn: cosine shrinkage, sim = a.b / (|a| |b| + shrink).", 0, 1e9},
    {"cf-itemknn-binary", CFG_BOOL, "false", "itemknn: X is 1 per interaction (false: the rating).", 0, 0},
    {"cf-userknn-k", CFG_INT, "50", "userknn: neighbour users per request.", 1, 100000},
    {"cf-userknn-shrink", CFG_DOUBLE, "50", "userknn: cosine shrinkage, sim = a.b / (|a| |b| + shrink).", 0, 1e9},
    {"cf-userknn-binary", CFG_BOOL, "false", "userknn: X is 1 per interaction (false: the rating).", 0, 0},
    CFG_END,
};

void cf_params_default(cf_params_t *p)
{
    memset(p, 0, sizeof *p);
    p->kind = CF_KIND_AUTO;
    p->ease_max_bytes = 1073741824ull;
    p->ease_max_seconds = 60.0;
    p->als = (cf_als_params_t){.factors = 64,
                               .iterations = 15,
                               .cg_steps = 3,
                               .threads = 2,
                               .reg = 50.0f,
                               .alpha = 2.0f,
                               .eps = 1.0f,
                               .conf = CF_CONF_LINEAR,
                               .binary = 0,
                               .seed = 42};
    p->ease = (cf_ease_params_t){.lambda = 4000.0f, .binary = 0};
    p->mf = (cf_mf_params_t){.factors = 8, .iterations = 15, .threads = 2, .reg = 1.2f, .bias_reg = 1.0f, .reg_exp = 0.5f, .seed = 42};
    /* kNN: bench/cf_knn.md (grid on the ml-100k ua.base validation split). */
    p->itemknn = (cf_knn_params_t){.k = 400, .shrink = 50.0f, .binary = 0, .threads = 2};
    p->userknn = (cf_knn_params_t){.k = 50, .shrink = 50.0f, .binary = 0, .threads = 2};
}

const char *cf_kind_name(cf_kind_t kind)
{
    switch (kind) {
    case CF_KIND_AUTO: return "auto";
    case CF_KIND_POP: return "pop";
    case CF_KIND_ALS: return "als";
    case CF_KIND_EASE: return "ease";
    case CF_KIND_MF: return "mf";
    case CF_KIND_ITEMKNN: return "itemknn";
    case CF_KIND_USERKNN: return "userknn";
    }
    return "?";
}

int cf_kind_parse(const char *s, cf_kind_t *out, err_t *err)
{
    static const cf_kind_t kinds[] = {CF_KIND_AUTO, CF_KIND_POP,     CF_KIND_ALS,
                                      CF_KIND_EASE, CF_KIND_MF,      CF_KIND_ITEMKNN,
                                      CF_KIND_USERKNN};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        if (strcmp(s, cf_kind_name(kinds[i])) == 0) {
            *out = kinds[i];
            return 0;
        }
    }
    if (strcmp(s, "popularity") == 0) {
        *out = CF_KIND_POP;
        return 0;
    }
    return err_set(err, "cf-model: '%s' is not one of auto, als, ease, mf, itemknn, userknn, pop", s);
}

int cf_params_from_cfg(const cfg_t *cfg, cf_params_t *p, err_t *err)
{
    cf_params_default(p);
    if (cf_kind_parse(cfg_str(cfg, "cf-model"), &p->kind, err) < 0)
        return -1;
    const char *conf = cfg_str(cfg, "cf-confidence");
    if (strcmp(conf, "linear") == 0)
        p->als.conf = CF_CONF_LINEAR;
    else if (strcmp(conf, "log") == 0)
        p->als.conf = CF_CONF_LOG;
    else
        return err_set(err, "cf-confidence: '%s' is not linear or log", conf);
    p->ease_max_bytes = (uint64_t)cfg_int(cfg, "cf-ease-max-bytes");
    p->ease_max_seconds = cfg_double(cfg, "cf-ease-max-seconds");
    p->als.factors = (uint32_t)cfg_int(cfg, "cf-factors");
    p->als.iterations = (uint32_t)cfg_int(cfg, "cf-iterations");
    p->als.cg_steps = (uint32_t)cfg_int(cfg, "cf-cg-steps");
    p->als.reg = (float)cfg_double(cfg, "cf-reg");
    p->als.alpha = (float)cfg_double(cfg, "cf-alpha");
    p->als.eps = (float)cfg_double(cfg, "cf-eps");
    p->als.binary = cfg_bool(cfg, "cf-binary");
    p->als.threads = (uint32_t)cfg_int(cfg, "cf-threads");
    p->als.seed = (uint64_t)cfg_int(cfg, "cf-seed");
    p->ease.lambda = (float)cfg_double(cfg, "cf-ease-lambda");
    p->ease.binary = cfg_bool(cfg, "cf-ease-binary");
    p->mf.factors = (uint32_t)cfg_int(cfg, "cf-mf-factors");
    p->mf.iterations = (uint32_t)cfg_int(cfg, "cf-mf-iterations");
    p->mf.reg = (float)cfg_double(cfg, "cf-mf-reg");
    p->mf.bias_reg = (float)cfg_double(cfg, "cf-mf-bias-reg");
    p->mf.reg_exp = (float)cfg_double(cfg, "cf-mf-reg-exp");
    p->mf.threads = p->als.threads;
    p->mf.seed = p->als.seed;
    p->itemknn = (cf_knn_params_t){.k = (uint32_t)cfg_int(cfg, "cf-itemknn-k"),
                                   .shrink = (float)cfg_double(cfg, "cf-itemknn-shrink"),
                                   .binary = cfg_bool(cfg, "cf-itemknn-binary"),
                                   .threads = p->als.threads};
    p->userknn = (cf_knn_params_t){.k = (uint32_t)cfg_int(cfg, "cf-userknn-k"),
                                   .shrink = (float)cfg_double(cfg, "cf-userknn-shrink"),
                                   .binary = cfg_bool(cfg, "cf-userknn-binary"),
                                   .threads = p->als.threads};
    return 0;
}
