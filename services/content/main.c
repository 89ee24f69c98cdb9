/*
 * recsys-content: the content-based worker's binary.
 *
 *   recsys-content seed  --data DIR | --tags FILE  [--k 5] --out FILE.tsv
 *   recsys-content build --data DIR --out MODEL    (train and save a model)
 *   recsys-content serve [--model FILE|DIR | --data DIR]  (the nng worker)
 *
 * main() only describes the binary to the daemon skeleton
 * (common/net/daemon.h): each command is its option tables, the checks
 * between options and a run function (every option is also a RECSYS_*
 * variable, `--help` lists them). serve is content_service_ops behind
 * common/net/workersvc; all the work is in recsys_content_lib.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/base/clock.h"
#include "common/base/config.h"
#include "common/base/log.h"
#include "common/data/dataset.h"
#include "common/net/daemon.h"
#include "common/net/workersvc.h"
#include "services/content/content_model.h"
#include "services/content/content_seed.h"
#include "services/content/content_service.h"

#define PROG "recsys-content"

/* ------------------------------------------------------------ serve */

/* Options: content_service_add_options (service, skeleton, rpc server, log,
 * dataset, content model). */
static int serve_check(const cfg_t *cfg, err_t *err)
{
    const char *model = cfg_str(cfg, "model"), *data = cfg_str(cfg, "data");
    if (!(model && *model) && !(data && *data))
        return err_set(err, "give --model FILE|DIR or --data DIR (see --help)");
    return 0;
}

static int serve_run(const cfg_t *cfg) { return workersvc_serve(&content_service_ops, cfg); }

/* ------------------------------------------------------------ build */

static const cfg_option_t build_options[] = {
    {"out", CFG_STRING, NULL, "Model file to write.", 0, 0},
    CFG_END,
};

static const daemon_section_t build_sections[] = {
    {"build", build_options},
    {"content", content_options},
    {"data", dataset_options},
    DAEMON_SECTIONS_END,
};

static int build_check(const cfg_t *cfg, err_t *err)
{
    const char *data = cfg_str(cfg, "data"), *outp = cfg_str(cfg, "out");
    if (!data || !*data || !outp || !*outp)
        return err_set(err, "--data DIR and --out MODEL are required (see --help)");
    return 0;
}

static int build_run(const cfg_t *cfg)
{
    err_t err;
    int rc = 1;
    const char *data = cfg_str(cfg, "data"), *outp = cfg_str(cfg, "out");
    dataset_t *ds = NULL;
    content_model_t *m = NULL;
    dataset_opts_t opts;
    dataset_opts_from_cfg(cfg, &opts);
    opts.skip_ratings = true;
    content_params_t p;
    content_params_from_cfg(cfg, &p);
    double t0 = (1e3 * clock_mono_sec());
    if (dataset_load(data, &ds, &opts, &err)) {
        fprintf(stderr, PROG " build: %s: %s\n", data, err.msg);
        goto out;
    }
    double t1 = (1e3 * clock_mono_sec());
    if (content_model_build(ds->catalog, &p, &m, &err) || content_model_save(m, outp, &err)) {
        fprintf(stderr, PROG " build: %s\n", err.msg);
        goto out;
    }
    char b[6][32];
    snprintf(b[0], 32, "%u", content_model_size(m));
    snprintf(b[1], 32, "%u", content_model_nterms(m));
    snprintf(b[2], 32, "%llu", (unsigned long long)content_model_bytes(m));
    snprintf(b[3], 32, "%.1f", t1 - t0);
    snprintf(b[4], 32, "%.1f", (1e3 * clock_mono_sec()) - t1);
    log_kv(LOG_INFO, "model written", "path", outp, "version", content_model_version(m), "items", b[0], "terms",
           b[1], "bytes", b[2], "load_ms", b[3], "build_ms", b[4], NULL);
    rc = 0;
out:
    content_model_release(m);
    dataset_free(ds);
    return rc;
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

static const daemon_section_t seed_sections[] = {
    {"seed", seed_options},
    {"data", dataset_options},
    DAEMON_SECTIONS_END,
};

static int seed_check(const cfg_t *cfg, err_t *err)
{
    const char *data = cfg_str(cfg, "data"), *tags = cfg_str(cfg, "tags");
    if ((data && *data) == (tags && *tags))
        return err_set(err, "give exactly one of --data DIR and --tags FILE (see --help)");
    return 0;
}

static int seed_run(const cfg_t *cfg)
{
    err_t err;
    int rc = 1;
    const char *data = cfg_str(cfg, "data"), *tags = cfg_str(cfg, "tags"), *outp = cfg_str(cfg, "out");
    dataset_t *ds = NULL;
    dataset_seed_tags_t *st = NULL;
    content_seed_input_t in = {0};
    content_seed_result_t *res = NULL;
    FILE *f = NULL;
    double t0 = (1e3 * clock_mono_sec());
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
    double t1 = (1e3 * clock_mono_sec());
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
    snprintf(b[9], 32, "%.1f", (1e3 * clock_mono_sec()) - t0);
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
    return rc;
}

/* ------------------------------------------------------------ the binary */

static const daemon_command_t commands[] = {
    {
        .name = "seed",
        .what = "the classic notebook's similar movies for a whole dataset, as TSV",
        .usage = "(--data DIR | --tags FILE) [--k 5] --out FILE.tsv",
        .summary = "The classic TMDB notebook's 'similar movies', exactly as EVALUATION.md R4: tags, Porter "
                   "stems, CountVectorizer counts of the 5000 most frequent terms, cosine, top k per movie.",
        .sections = seed_sections,
        .check = seed_check,
        .run = seed_run,
    },
    {
        .name = "build",
        .what = "build a content model file from a dataset",
        .usage = "--data DIR --out MODEL [options]",
        .summary = "Builds the content model (TF-IDF item vectors and item neighbours) from a dataset's "
                   "catalog and writes it as a model file.",
        .sections = build_sections,
        .extra_args = true,
        .check = build_check,
        .run = build_run,
    },
    {
        .name = "serve",
        .what = "the content worker (nng requests, admin port, SIGHUP reload)",
        .usage = "[--model FILE|DIR | --data DIR] [options]",
        .summary = "The content worker: answers similar-items, history-scoring and catalog requests over "
                   "nng; /healthz, /readyz and /metrics on the admin port; SIGHUP reloads the model "
                   "(re-reads --model, or rebuilds from --data), SIGTERM drains and exits.",
        .add_options = content_service_add_options,
        .check = serve_check,
        .run = serve_run,
    },
};

static const daemon_program_t program = {
    .name = PROG,
    .service = "content",
    .commands = commands,
    .ncommands = sizeof commands / sizeof commands[0],
};

int main(int argc, char **argv) { return daemon_main(&program, argc, argv); }
