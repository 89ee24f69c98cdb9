/*
 * recsys-cf: the collaborative-filtering worker's binary.
 *
 *   recsys-cf serve [--model FILE | --data DIR] [options]   (the worker)
 *   recsys-cf train --data DIR --out MODEL [--mf-out FILE]   (write model files)
 *
 * main() only picks the subcommand; each is one function with its own
 * option tables (every option is also a RECSYS_* variable, `--help` lists
 * them). serve is cf_service_ops behind common/net/workersvc; train writes the
 * files serve maps (the compose/k8s training job).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/base/cmdline.h"
#include "common/base/config.h"
#include "common/data/dataset.h"
#include "common/base/log.h"
#include "common/net/workersvc.h"
#include "services/cf/cf_service.h"

#define PROG "recsys-cf"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Parses argv into cfg; NULL-free on success. Returns 0, or the exit code
 * (0 after --help, 2 on a bad option) with *done set. */
static int parse(cfg_t *cfg, const char *cmd, int argc, char **argv, int *done)
{
    err_t err;
    int rc = cfg_parse(cfg, argc, argv, &err);
    *done = rc != 0;
    if (rc < 0) {
        fprintf(stderr, PROG " %s: %s\n", cmd, err.msg);
        return 2;
    }
    if (rc == 0 && cfg_nargs(cfg) != 0) {
        fprintf(stderr, PROG " %s: unexpected argument '%s'\n", cmd, cfg_arg(cfg, 0));
        *done = 1;
        return 2;
    }
    return 0;
}

/* ------------------------------------------------------------ serve */

static int cmd_serve(int argc, char **argv)
{
    err_t err;
    cfg_t *cfg = cfg_new(PROG " serve", "[--model FILE | --data DIR] [options]",
                         "Serves the CF model over nng (score, similar, predict, info) with an admin port "
                         "(/healthz, /readyz, /metrics). SIGHUP reloads (retrains from --data when --model is "
                         "empty), SIGTERM drains and exits 0.");
    if (!cfg) {
        fprintf(stderr, PROG ": out of memory\n");
        return 2;
    }
    int done = 0, rc;
    if (cf_service_add_options(cfg, &err) < 0) {
        fprintf(stderr, PROG " serve: %s\n", err.msg);
        rc = 2;
    } else {
        rc = parse(cfg, "serve", argc, argv, &done);
        const char *model = done ? NULL : cfg_str(cfg, "model"), *data = done ? NULL : cfg_str(cfg, "data");
        if (!done && !(model && *model) && !(data && *data)) {
            fprintf(stderr, PROG " serve: give --model FILE (or a directory holding " CF_SERVICE_MODEL_FILE
                                 ") or --data DIR to train from (see --help)\n");
            rc = 2;
        } else if (!done) {
            rc = workersvc_serve(&cf_service_ops, cfg);
        }
    }
    cfg_free(cfg);
    return rc;
}

/* ------------------------------------------------------------ train */

static const cfg_option_t train_options[] = {
    {"out", CFG_STRING, NULL, "Model file to write (serve maps it with --model).", 0, 0},
    {"mf-out", CFG_STRING, "",
     "Also write an mf model for rating prediction here (serve's cf-predict-model) when cf-model is not mf.", 0,
     0},
    CFG_END,
};

static int cmd_train(int argc, char **argv)
{
    err_t err;
    cfg_t *cfg = cfg_new(PROG " train", "--data DIR --out MODEL [--mf-out FILE] [options]",
                         "Trains the CF model (cf-model auto|als|ease|mf|pop) on every rating of a dataset and "
                         "writes it, with the dataset's user and item ids, genres and years, as a model file.");
    if (!cfg) {
        fprintf(stderr, PROG ": out of memory\n");
        return 2;
    }
    int done = 0, rc = 2;
    dataset_t *ds = NULL;
    cf_model_t *m = NULL, *mf = NULL;
    if (cfg_add(cfg, "train", train_options, &err) < 0 || cfg_add(cfg, "data", dataset_options, &err) < 0 ||
        cfg_add(cfg, "cf", cf_options, &err) < 0 || cfg_add(cfg, "log", log_options, &err) < 0) {
        fprintf(stderr, PROG " train: %s\n", err.msg);
        goto out;
    }
    rc = parse(cfg, "train", argc, argv, &done);
    if (done)
        goto out;
    rc = 2;
    if (log_setup_cfg("cf", cfg, &err) < 0) {
        fprintf(stderr, PROG " train: %s\n", err.msg);
        goto out;
    }
    const char *data = cfg_str(cfg, "data"), *outp = cfg_str(cfg, "out"), *mfout = cfg_str(cfg, "mf-out");
    if (!data || !*data || !outp || !*outp) {
        fprintf(stderr, PROG " train: --data DIR and --out MODEL are required (see --help)\n");
        goto out;
    }
    rc = 1;
    cf_params_t p;
    if (cf_params_from_cfg(cfg, &p, &err) < 0) {
        fprintf(stderr, PROG " train: %s\n", err.msg);
        rc = 2;
        goto out;
    }
    dataset_opts_t opts;
    dataset_opts_from_cfg(cfg, &opts);
    double t0 = now_ms();
    if (dataset_load(data, &ds, &opts, &err) < 0) {
        fprintf(stderr, PROG " train: %s: %s\n", data, err.msg);
        goto out;
    }
    double t1 = now_ms();
    if (cf_service_train(ds, &p, mfout && *mfout, &m, &mf, &err) < 0) {
        fprintf(stderr, PROG " train: %s: %s\n", data, err.msg);
        goto out;
    }
    double t2 = now_ms();
    if (cf_model_save(m, outp, &err) < 0 || (mf && cf_model_save(mf, mfout, &err) < 0)) {
        fprintf(stderr, PROG " train: %s\n", err.msg);
        goto out;
    }
    if (mfout && *mfout && !mf && m->kind == CF_KIND_MF && cf_model_save(m, mfout, &err) < 0) {
        fprintf(stderr, PROG " train: %s\n", err.msg);
        goto out;
    }
    char b[5][32];
    snprintf(b[0], 32, "%u", m->n_users);
    snprintf(b[1], 32, "%u", m->n_items);
    snprintf(b[2], 32, "%.1f", t1 - t0);
    snprintf(b[3], 32, "%.1f", t2 - t1);
    snprintf(b[4], 32, "%u", m->dim);
    log_kv(LOG_INFO, "model written", "path", outp, "model", cf_kind_name(m->kind), "users", b[0], "items", b[1],
           "dim", b[4], "load_ms", b[2], "train_ms", b[3], "mf_out", mfout && *mfout ? mfout : "-", NULL);
    rc = 0;
out:
    cf_model_release(m);
    cf_model_release(mf);
    dataset_free(ds);
    cfg_free(cfg);
    return rc;
}

/* ------------------------------------------------------------ dispatch */

static const cmdline_command_t commands[] = {
    {"serve", cmd_serve, "run the CF worker (nng requests, admin port)"},
    {"train", cmd_train, "train a CF model on a dataset and write the model file"},
};

int main(int argc, char **argv)
{
    return cmdline_dispatch(PROG, commands, sizeof commands / sizeof commands[0], argc, argv);
}
