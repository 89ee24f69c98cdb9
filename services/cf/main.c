/*
 * recsys-cf: the collaborative-filtering worker's binary.
 *
 *   recsys-cf serve [--model FILE | --data DIR] [options]   (the worker)
 *   recsys-cf train --data DIR --out MODEL [--mf-out FILE]   (write model files)
 *
 * main() only describes the binary to the daemon skeleton
 * (common/net/daemon.h): each command is its option tables, the checks
 * between options and a run function (every option is also a RECSYS_*
 * variable, `--help` lists them). serve is cf_service_ops behind
 * common/net/workersvc; train writes the files serve maps (the compose/k8s
 * training job).
 */
#define _POSIX_C_SOURCE 200809L
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
#include "services/cf/cf_service.h"

#define PROG "recsys-cf"

/* ------------------------------------------------------------ serve */

/* Options: cf_service_add_options (service, skeleton, rpc server, log,
 * dataset, cf model). */
static int serve_check(const cfg_t *cfg, err_t *err)
{
    const char *model = cfg_str(cfg, "model"), *data = cfg_str(cfg, "data");
    if (!(model && *model) && !(data && *data))
        return err_set(err, "give --model FILE (or a directory holding " CF_SERVICE_MODEL_FILE
                            ") or --data DIR to train from (see --help)");
    return 0;
}

static int serve_run(const cfg_t *cfg) { return workersvc_serve(&cf_service_ops, cfg); }

/* ------------------------------------------------------------ train */

static const cfg_option_t train_options[] = {
    {"out", CFG_STRING, NULL, "Model file to write (serve maps it with --model).", 0, 0},
    {"mf-out", CFG_STRING, "",
     "Also write an mf model for rating prediction here (serve's cf-predict-model) when cf-model is not mf.", 0,
     0},
    CFG_END,
};

static const daemon_section_t train_sections[] = {
    {"train", train_options},
    {"data", dataset_options},
    {"cf", cf_options},
    DAEMON_SECTIONS_END,
};

static int train_check(const cfg_t *cfg, err_t *err)
{
    const char *data = cfg_str(cfg, "data"), *outp = cfg_str(cfg, "out");
    if (!data || !*data || !outp || !*outp)
        return err_set(err, "--data DIR and --out MODEL are required (see --help)");
    return 0;
}

static int train_run(const cfg_t *cfg)
{
    err_t err;
    int rc = 1;
    dataset_t *ds = NULL;
    cf_model_t *m = NULL, *mf = NULL;
    const char *data = cfg_str(cfg, "data"), *outp = cfg_str(cfg, "out"), *mfout = cfg_str(cfg, "mf-out");
    cf_params_t p;
    if (cf_params_from_cfg(cfg, &p, &err) < 0) {
        fprintf(stderr, PROG " train: %s\n", err.msg);
        rc = 2;
        goto out;
    }
    dataset_opts_t opts;
    dataset_opts_from_cfg(cfg, &opts);
    double t0 = (1e3 * clock_mono_sec());
    if (dataset_load(data, &ds, &opts, &err) < 0) {
        fprintf(stderr, PROG " train: %s: %s\n", data, err.msg);
        goto out;
    }
    double t1 = (1e3 * clock_mono_sec());
    if (cf_service_train(ds, &p, mfout && *mfout, &m, &mf, &err) < 0) {
        fprintf(stderr, PROG " train: %s: %s\n", data, err.msg);
        goto out;
    }
    double t2 = (1e3 * clock_mono_sec());
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
    return rc;
}

/* ------------------------------------------------------------ the binary */

static const daemon_command_t commands[] = {
    {
        .name = "serve",
        .what = "run the CF worker (nng requests, admin port)",
        .usage = "[--model FILE | --data DIR] [options]",
        .summary = "Serves the CF model over nng (score, similar, predict, info) with an admin port "
                   "(/healthz, /readyz, /metrics). SIGHUP reloads (retrains from --data when --model is "
                   "empty), SIGTERM drains and exits 0.",
        .add_options = cf_service_add_options,
        .check = serve_check,
        .run = serve_run,
    },
    {
        .name = "train",
        .what = "train a CF model on a dataset and write the model file",
        .usage = "--data DIR --out MODEL [--mf-out FILE] [options]",
        .summary = "Trains the CF model (cf-model auto|als|ease|mf|pop) on every rating of a dataset and "
                   "writes it, with the dataset's user and item ids, genres and years, as a model file.",
        .sections = train_sections,
        .check = train_check,
        .run = train_run,
    },
};

static const daemon_program_t program = {
    .name = PROG,
    .service = "cf",
    .commands = commands,
    .ncommands = sizeof commands / sizeof commands[0],
};

int main(int argc, char **argv) { return daemon_main(&program, argc, argv); }
