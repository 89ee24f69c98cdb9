/*
 * recsys-content: the content-based worker's binary.
 *
 *   recsys-content seed  --data DIR | --tags FILE  [--k 5] --out FILE.tsv
 *   recsys-content build --data DIR --out MODEL    (train and save a model)
 *   recsys-content serve [--model FILE|DIR | --data DIR]  (the nng worker)
 *
 * main() only picks the subcommand: each is one function with its own
 * option tables (every option also a RECSYS_* variable, `--help` lists
 * them), so a new subcommand (`serve`) is one function and one table row.
 * All the work is in recsys_content_lib.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/base/cmdline.h"
#include "common/base/config.h"
#include "common/data/dataset.h"
#include "common/base/log.h"
#include "services/content/content_model.h"
#include "services/content/content_seed.h"
#include "services/content/content_service.h"

#define PROG "recsys-content"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Makes a configuration from NULL-terminated (section, table) pairs, parses
 * argv and sets up logging. Returns the cfg, or NULL with *code set (0 after
 * --help, 2 on a bad option). */
static cfg_t *setup(const char *cmd, const char *usage, const char *summary, int argc, char **argv, int *code,
                    ...)
{
    err_t err;
    char prog[64];
    snprintf(prog, sizeof prog, PROG " %s", cmd);
    cfg_t *cfg = cfg_new(prog, usage, summary);
    if (!cfg) {
        fprintf(stderr, PROG ": out of memory\n");
        *code = 2;
        return NULL;
    }
    va_list ap;
    va_start(ap, code);
    const char *section;
    int bad = 0;
    while (!bad && (section = va_arg(ap, const char *)) != NULL) {
        const cfg_option_t *table = va_arg(ap, const cfg_option_t *);
        bad = cfg_add(cfg, section, table, &err) != 0;
    }
    va_end(ap);
    if (!bad && cfg_add(cfg, "log", log_options, &err) != 0)
        bad = 1;
    int rc = bad ? -1 : cfg_parse(cfg, argc, argv, &err);
    if (rc == 0 && log_setup_cfg("content", cfg, &err) != 0)
        rc = -1;
    if (rc != 0) {
        if (rc < 0)
            fprintf(stderr, PROG " %s: %s\n", cmd, err.msg);
        cfg_free(cfg);
        *code = rc < 0 ? 2 : 0;
        return NULL;
    }
    return cfg;
}

/* ------------------------------------------------------------ seed */

static const cfg_option_t seed_options[] = {
    {"tags", CFG_STRING, NULL,
     "The classic notebook's table (movie_id,title,tags), e.g. processed_movies.csv: run steps 4-7 on it "
     "instead of a --data catalog.",
     0, 0},
    {"k", CFG_INT, "5", "Similar movies per movie.", 1, 1000},
    {"max-features", CFG_INT, "5000", "Terms kept (the most frequent; ties to the code-point smaller term).", 1,
     1e9},
    {"threads", CFG_INT, "2", "Threads for the neighbour lists.", 1, 256},
    {"out", CFG_STRING, "-", "Output TSV file ('-': standard output).", 0, 0},
    CFG_END,
};

static int cmd_seed(int argc, char **argv)
{
    int code;
    cfg_t *cfg = setup("seed", "(--data DIR | --tags FILE) [--k 5] --out FILE.tsv",
                       "The classic TMDB notebook's 'similar movies', exactly as EVALUATION.md R4: tags, Porter "
                       "stems, CountVectorizer counts of the 5000 most frequent terms, cosine, top k per movie.",
                       argc, argv, &code, "seed", seed_options, "data", dataset_options, (const char *)NULL);
    if (!cfg)
        return code;
    err_t err;
    int rc = 1;
    const char *data = cfg_str(cfg, "data"), *tags = cfg_str(cfg, "tags"), *outp = cfg_str(cfg, "out");
    dataset_t *ds = NULL;
    dataset_seed_tags_t *st = NULL;
    content_seed_input_t in = {0};
    content_seed_result_t *res = NULL;
    FILE *f = NULL;
    double t0 = now_ms();
    if ((data && *data) == (tags && *tags)) {
        fprintf(stderr, PROG " seed: give exactly one of --data DIR and --tags FILE (see --help)\n");
        rc = 2;
        goto out;
    }
    if (cfg_nargs(cfg) != 0) {
        fprintf(stderr, PROG " seed: unexpected argument '%s'\n", cfg_arg(cfg, 0));
        rc = 2;
        goto out;
    }
    if (data && *data) {
        dataset_opts_t opts;
        dataset_opts_from_cfg(cfg, &opts);
        opts.skip_ratings = true;
        if (dataset_load(data, &ds, &opts, &err) || content_seed_input_from_catalog(ds->catalog, &in, &err)) {
            fprintf(stderr, PROG " seed: %s: %s\n", data, err.msg);
            goto out;
        }
    } else if (dataset_seed_tags_read(tags, &st, &err) || content_seed_input_from_tags(st, &in, &err)) {
        fprintf(stderr, PROG " seed: %s\n", err.msg);
        goto out;
    }
    double t1 = now_ms();
    content_seed_params_t p = {.max_features = (uint32_t)cfg_int(cfg, "max-features"),
                               .k = (uint32_t)cfg_int(cfg, "k"),
                               .threads = (uint32_t)cfg_int(cfg, "threads")};
    if (content_seed_run(&in, &p, &res, &err)) {
        fprintf(stderr, PROG " seed: %s\n", err.msg);
        goto out;
    }
    f = strcmp(outp, "-") == 0 ? stdout : fopen(outp, "w");
    if (!f) {
        err_errno(&err, "%s", outp);
        fprintf(stderr, PROG " seed: %s\n", err.msg);
        goto out;
    }
    if (content_seed_write_tsv(&in, res, f, &err) || (f != stdout && fclose(f) != 0)) {
        f = NULL;
        fprintf(stderr, PROG " seed: %s: %s\n", outp, err.msg[0] ? err.msg : "write failed");
        goto out;
    }
    f = NULL;
    char b[12][32];
    snprintf(b[0], 32, "%zu", res->n);
    snprintf(b[1], 32, "%zu", res->vocab_before);
    snprintf(b[2], 32, "%zu", res->vocab_after);
    snprintf(b[3], 32, "%llu", (unsigned long long)res->nnz);
    snprintf(b[4], 32, "%u", res->min_row_terms);
    snprintf(b[5], 32, "%.1f", t1 - t0);
    snprintf(b[6], 32, "%.1f", res->ms_tokens);
    snprintf(b[7], 32, "%.1f", res->ms_vectors);
    snprintf(b[8], 32, "%.1f", res->ms_neighbours);
    snprintf(b[9], 32, "%.1f", now_ms() - t0);
    log_kv(LOG_INFO, "seed done", "rows", b[0], "vocab_before_cut", b[1], "vocab", b[2], "nnz", b[3],
           "min_row_terms", b[4], "load_ms", b[5], "tokens_ms", b[6], "vectors_ms", b[7], "neighbours_ms", b[8],
           "total_ms", b[9], "out", outp, NULL);
    rc = 0;
out:
    if (f && f != stdout)
        fclose(f);
    content_seed_result_free(res);
    content_seed_input_free(&in);
    dataset_seed_tags_free(st);
    dataset_free(ds);
    cfg_free(cfg);
    return rc;
}

/* ------------------------------------------------------------ build */

static const cfg_option_t build_options[] = {
    {"out", CFG_STRING, NULL, "Model file to write.", 0, 0},
    CFG_END,
};

static int cmd_build(int argc, char **argv)
{
    int code;
    cfg_t *cfg = setup("build", "--data DIR --out MODEL [options]",
                       "Builds the content model (TF-IDF item vectors and item neighbours) from a dataset's "
                       "catalog and writes it as a model file.",
                       argc, argv, &code, "build", build_options, "content", content_options, "data",
                       dataset_options, (const char *)NULL);
    if (!cfg)
        return code;
    err_t err;
    int rc = 1;
    const char *data = cfg_str(cfg, "data"), *outp = cfg_str(cfg, "out");
    dataset_t *ds = NULL;
    content_model_t *m = NULL;
    if (!data || !*data || !outp || !*outp) {
        fprintf(stderr, PROG " build: --data DIR and --out MODEL are required (see --help)\n");
        rc = 2;
        goto out;
    }
    dataset_opts_t opts;
    dataset_opts_from_cfg(cfg, &opts);
    opts.skip_ratings = true;
    content_params_t p;
    content_params_from_cfg(cfg, &p);
    double t0 = now_ms();
    if (dataset_load(data, &ds, &opts, &err)) {
        fprintf(stderr, PROG " build: %s: %s\n", data, err.msg);
        goto out;
    }
    double t1 = now_ms();
    if (content_model_build(ds->catalog, &p, &m, &err) || content_model_save(m, outp, &err)) {
        fprintf(stderr, PROG " build: %s\n", err.msg);
        goto out;
    }
    char b[6][32];
    snprintf(b[0], 32, "%u", content_model_size(m));
    snprintf(b[1], 32, "%u", content_model_nterms(m));
    snprintf(b[2], 32, "%llu", (unsigned long long)content_model_bytes(m));
    snprintf(b[3], 32, "%.1f", t1 - t0);
    snprintf(b[4], 32, "%.1f", now_ms() - t1);
    log_kv(LOG_INFO, "model written", "path", outp, "version", content_model_version(m), "items", b[0], "terms",
           b[1], "bytes", b[2], "load_ms", b[3], "build_ms", b[4], NULL);
    rc = 0;
out:
    content_model_release(m);
    dataset_free(ds);
    cfg_free(cfg);
    return rc;
}

/* ------------------------------------------------------------ serve */

/* Its options come from content_service_add_options (service, skeleton,
 * rpc server, log, dataset, content model), so setup() is not used. */
static int cmd_serve(int argc, char **argv)
{
    err_t err;
    cfg_t *cfg = cfg_new(PROG " serve", "[--model FILE|DIR | --data DIR] [options]",
                         "The content worker: answers similar-items, history-scoring and catalog requests over "
                         "nng; /healthz, /readyz and /metrics on the admin port; SIGHUP reloads the model "
                         "(re-reads --model, or rebuilds from --data), SIGTERM drains and exits.");
    if (!cfg) {
        fprintf(stderr, PROG ": out of memory\n");
        return 2;
    }
    int rc = content_service_add_options(cfg, &err) ? -1 : cfg_parse(cfg, argc, argv, &err);
    if (rc == 0 && cfg_nargs(cfg) != 0) {
        err_set(&err, "unexpected argument '%s'", cfg_arg(cfg, 0));
        rc = -1;
    }
    const char *model = rc == 0 ? cfg_str(cfg, "model") : NULL, *data = rc == 0 ? cfg_str(cfg, "data") : NULL;
    if (rc == 0 && !(model && *model) && !(data && *data)) {
        err_set(&err, "give --model FILE|DIR or --data DIR (see --help)");
        rc = -1;
    }
    if (rc != 0) {
        if (rc < 0)
            fprintf(stderr, PROG " serve: %s\n", err.msg);
        cfg_free(cfg);
        return rc < 0 ? 2 : 0;
    }
    rc = workersvc_serve(&content_service_ops, cfg);
    cfg_free(cfg);
    return rc;
}

/* ------------------------------------------------------------ dispatch */

static const cmdline_command_t commands[] = {
    {"seed", cmd_seed, "the classic notebook's similar movies for a whole dataset, as TSV"},
    {"build", cmd_build, "build a content model file from a dataset"},
    {"serve", cmd_serve, "the content worker (nng requests, admin port, SIGHUP reload)"},
};

int main(int argc, char **argv)
{
    return cmdline_dispatch(PROG, commands, sizeof commands / sizeof commands[0], argc, argv);
}
