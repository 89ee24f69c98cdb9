/*
 * workersvc.h: the shared body of the model workers (recsys-content, recsys-cf).
 *
 * A worker is a model plus this skeleton, itself a daemon_service_t of
 * common/net/daemon.h (which owns the loop, log, admin port, signals and
 * drain). The service supplies a table of
 * operations (load/build a model from its options, answer one request on a
 * read-only model, describe it); the skeleton does the rest, identically for
 * every worker:
 *   - options: the service's table plus log, rpc-server and admin options,
 *     all in --help;
 *   - an nng rep server (common/net/rpc.h): decodes each WorkerRequest, answers
 *     malformed or empty requests with INVALID_ARGUMENT, requests that arrive
 *     before a model is loaded with UNAVAILABLE, and the model-info request
 *     itself; every reply carries request_id, model name and model version;
 *   - an admin port: /healthz, /readyz (ready once a model is loaded and
 *     until draining starts), /metrics (requests by method and code, latency
 *     histograms by method, reloads, model size and version);
 *   - the model loads on a background thread at start-up, so /healthz
 *     answers while a model trains; a failed first load exits 1 with the
 *     reason;
 *   - SIGHUP loads a fresh model in the background and swaps it in; requests
 *     in flight keep the model they started with (reference counted), so no
 *     request fails; a failed reload keeps the old model and is logged;
 *   - SIGTERM/SIGINT: /readyz turns 503, the rpc server drains (in-flight
 *     requests are answered), the admin server stops, exit status 0.
 */
#ifndef RECSYS_COMMON_WORKERSVC_H
#define RECSYS_COMMON_WORKERSVC_H

#include <stdint.h>

#include "common/base/arena.h"
#include "common/base/config.h"
#include "common/base/err.h"
#include "recsys/v1/worker.pb-c.h"

typedef struct workersvc_ops {
    const char *service;  /* "content", "cf": log service name, metric label */
    /* The service's own options. Must contain "listen" (rpc URL) and
     * "admin-port" (INT), whose defaults differ per service. */
    const cfg_option_t *options;
    /* Builds or loads a model from the options; runs on a background thread
     * (start-up and every SIGHUP). NULL with err set on failure. */
    void *(*load)(const cfg_t *cfg, err_t *err);
    void (*free)(void *model);
    /* Short model name ("tfidf", "als", "ease"...) and version; the strings
     * live as long as the model. */
    const char *(*name)(const void *model);
    const char *(*version)(const void *model);
    /* Answers one score/similar/predict/items request: sets reply->body_case
     * and the body, allocated from arena. Returns
     * RECSYS__V1__WORKER_ERROR_CODE__WORKER_ERROR_CODE_NONE or an error code with the message
     * in err. Called concurrently from several threads: the model is
     * read-only. */
    Recsys__V1__WorkerErrorCode (*handle)(const void *model, const Recsys__V1__WorkerRequest *req,
                                          Recsys__V1__WorkerReply *reply, arena_t *arena, err_t *err);
    /* Fills the model-info fields the model knows (name, version, sizes,
     * data source); loaded_at_ms is filled by the skeleton. */
    void (*info)(const void *model, Recsys__V1__WorkerModelInfo *info, arena_t *arena);
    /* Approximate bytes the model holds (for the model-size gauge). */
    uint64_t (*memory)(const void *model);
} workersvc_ops_t;

/* Options of the skeleton itself (admin-host). */
extern const cfg_option_t workersvc_options[];

/* Adds the service's options, the skeleton's, rpc server and log options. */
int workersvc_add_options(cfg_t *cfg, const workersvc_ops_t *ops, err_t *err);

/* Runs the worker until SIGTERM/SIGINT (or a fatal start-up error) on an
 * already-parsed configuration. Returns the process exit status. */
int workersvc_serve(const workersvc_ops_t *ops, const cfg_t *cfg);


#endif
