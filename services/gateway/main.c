/*
 * recsys-gateway: the public API of recsys (recsys.v1.Recommender over
 * HTTP/1.1, Twirp-style and REST) in front of the content and CF workers.
 *
 *   recsys-gateway --data DIR [--port 8080] [--content-url tcp://...] [--cf-url tcp://...]
 *
 * main() only wires things: options, the catalog load, the libuv loop, the
 * gateway (services/gateway/gw_server.h), the admin port and signals.
 * SIGTERM/SIGINT: stop accepting, finish the requests in flight, close the
 * worker clients, exit 0.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "common/net/admin.h"
#include "common/base/config.h"
#include "common/data/dataset.h"
#include "common/base/log.h"
#include "common/net/metrics.h"
#include "services/gateway/gw_catalog.h"
#include "services/gateway/gw_server.h"

typedef struct app {
    uv_loop_t loop;
    uv_signal_t sigterm, sigint;
    gw_t *gw;
    admin_t *admin;
    bool stopping;
} app_t;

static void on_admin_stopped(httpsrv_t *srv, void *ud)
{
    (void)srv;
    (void)ud;
}

static void on_gw_stopped(void *ud)
{
    app_t *a = ud;
    if (a->admin != NULL)
        admin_stop(a->admin, on_admin_stopped, a);
    log_kv(LOG_INFO, "stopped", NULL);
}

static void on_signal(uv_signal_t *h, int signum)
{
    app_t *a = h->data;
    if (a->stopping)
        return;
    a->stopping = true;
    log_kv(LOG_INFO, "shutting down: finishing requests in flight", "signal", signum == SIGTERM ? "SIGTERM" : "SIGINT",
           NULL);
    uv_close((uv_handle_t *)&a->sigterm, NULL);
    uv_close((uv_handle_t *)&a->sigint, NULL);
    gw_stop(a->gw, on_gw_stopped, a);
}

int main(int argc, char **argv)
{
    err_t err;
    signal(SIGPIPE, SIG_IGN);
    cfg_t *cfg = cfg_new("recsys-gateway", "[options]",
                         "The public API of recsys: recsys.v1.Recommender over HTTP/1.1 (Twirp-style\n"
                         "POST /twirp/recsys.v1.Recommender/<Method> with JSON or protobuf bodies, and REST\n"
                         "reads under /v1/), fanning out to the content and CF workers over nng and\n"
                         "blending their answers. Admin endpoints (/healthz, /readyz, /metrics) on admin-port.");
    if (cfg == NULL || gw_add_options(cfg, &err) != 0) {
        fprintf(stderr, "recsys-gateway: %s\n", cfg ? err.msg : "out of memory");
        return 2;
    }
    int rc = cfg_parse(cfg, argc, argv, &err);
    if (rc == 1) {
        cfg_free(cfg);
        return 0;
    }
    if (rc != 0 || log_setup_cfg("gateway", cfg, &err) != 0) {
        fprintf(stderr, "recsys-gateway: %s\n", err.msg);
        cfg_free(cfg);
        return 2;
    }
    const char *data = cfg_str(cfg, "data");
    if (data == NULL || data[0] == '\0') {
        fprintf(stderr, "recsys-gateway: --data DIR is required (the dataset the workers serve)\n");
        cfg_free(cfg);
        return 2;
    }
    dataset_opts_t dopts;
    dataset_opts_from_cfg(cfg, &dopts);
    uint64_t t0 = uv_hrtime();
    gw_catalog_t *cat = NULL;
    if (gw_catalog_load(data, &dopts, &cat, &err) != 0) {
        log_kv(LOG_ERROR, "cannot load the catalog", "data", data, "error", err.msg, NULL);
        cfg_free(cfg);
        return 1;
    }
    char items[32], secs[32];
    snprintf(items, sizeof items, "%u", gw_catalog_size(cat));
    snprintf(secs, sizeof secs, "%.3f", (double)(uv_hrtime() - t0) / 1e9);
    log_kv(LOG_INFO, "catalog loaded", "data", data, "items", items, "seconds", secs, "popularity", cat->pop_version,
           NULL);

    app_t app;
    memset(&app, 0, sizeof app);
    uv_loop_init(&app.loop);
    metrics_registry_t *reg = metrics_registry_new();
    int code = 0;
    app.gw = gw_new(&app.loop, cfg, cat, reg, &err);
    if (app.gw == NULL || gw_listen(app.gw, cfg_str(cfg, "host"), (int)cfg_int(cfg, "port"), &err) != 0) {
        log_kv(LOG_ERROR, "cannot start", "error", err.msg, NULL);
        code = 1;
    } else {
        app.admin = admin_start(&app.loop, cfg_str(cfg, "admin-host"), (int)cfg_int(cfg, "admin-port"), reg, gw_ready,
                                app.gw, &err);
        if (app.admin == NULL) {
            log_kv(LOG_ERROR, "cannot start the admin server", "error", err.msg, NULL);
            code = 1;
        }
    }
    if (code != 0) {
        if (app.gw != NULL) {
            gw_stop(app.gw, NULL, NULL);
            uv_run(&app.loop, UV_RUN_DEFAULT);
            gw_free(app.gw);
        }
        metrics_registry_free(reg);
        uv_loop_close(&app.loop);
        cfg_free(cfg);
        return code;
    }
    char port[16], aport[16];
    snprintf(port, sizeof port, "%d", gw_port(app.gw));
    snprintf(aport, sizeof aport, "%d", admin_port(app.admin));
    log_kv(LOG_INFO, "listening", "host", cfg_str(cfg, "host"), "port", port, "admin_port", aport, NULL);

    uv_signal_init(&app.loop, &app.sigterm);
    uv_signal_init(&app.loop, &app.sigint);
    app.sigterm.data = app.sigint.data = &app;
    uv_signal_start(&app.sigterm, on_signal, SIGTERM);
    uv_signal_start(&app.sigint, on_signal, SIGINT);
    uv_run(&app.loop, UV_RUN_DEFAULT);

    admin_free(app.admin);
    gw_free(app.gw);
    metrics_registry_free(reg);
    if (uv_loop_close(&app.loop) != 0)
        log_kv(LOG_WARN, "loop closed with handles open", NULL);
    cfg_free(cfg);
    return 0;
}
