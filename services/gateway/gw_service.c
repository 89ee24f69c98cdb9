/*
 * gw_service.c: the gateway's daemon_service_t (see gw_service.h).
 *
 * start loads the catalog, builds the gateway on the daemon's loop with the
 * daemon's metrics registry and listens on host:port; stop is gw_stop, whose
 * completion (requests in flight answered, worker clients and Redis closed)
 * tells the daemon to close the admin port; readiness is gw_ready (workers
 * reachable). SIGHUP is not handled (reload is NULL): it keeps its default.
 */
#include "services/gateway/gw_service.h"

#include <stdio.h>
#include <uv.h>

#include "common/base/log.h"
#include "common/data/dataset.h"
#include "common/net/daemon.h"
#include "services/gateway/gw_catalog.h"
#include "services/gateway/gw_server.h"

typedef struct gw_service {
    const cfg_t *cfg;
    gw_t *gw;
    daemon_t *d;
    daemon_stopped_fn stopped;
} gw_service_t;

static int gateway_start(daemon_t *d, void *ud, err_t *err)
{
    gw_service_t *s = ud;
    const cfg_t *cfg = s->cfg;
    const char *data = cfg_str(cfg, "data");
    dataset_opts_t dopts;
    dataset_opts_from_cfg(cfg, &dopts);
    uint64_t t0 = uv_hrtime();
    gw_catalog_t *cat = NULL;
    if (gw_catalog_load(data, &dopts, &cat, err) != 0) {
        err_prefix(err, "cannot load the catalog from %s", data);
        return -1;
    }
    char items[32], secs[32];
    snprintf(items, sizeof items, "%u", gw_catalog_size(cat));
    snprintf(secs, sizeof secs, "%.3f", (double)(uv_hrtime() - t0) / 1e9);
    log_kv(LOG_INFO, "catalog loaded", "data", data, "items", items, "seconds", secs, "popularity",
           cat->pop_version, NULL);
    s->gw = gw_new(daemon_loop(d), cfg, cat, daemon_metrics(d), err);
    if (s->gw == NULL || gw_listen(s->gw, cfg_str(cfg, "host"), (int)cfg_int(cfg, "port"), err) != 0)
        return -1;
    char port[16], aport[16];
    snprintf(port, sizeof port, "%d", gw_port(s->gw));
    snprintf(aport, sizeof aport, "%d", daemon_admin_port(d));
    log_kv(LOG_INFO, "listening", "host", cfg_str(cfg, "host"), "port", port, "admin_port", aport, NULL);
    return 0;
}

static void gateway_stopped(void *ud)
{
    gw_service_t *s = ud;
    s->stopped(s->d);
}

static void gateway_stop(daemon_t *d, void *ud, daemon_stopped_fn stopped)
{
    gw_service_t *s = ud;
    if (s->gw == NULL) {
        stopped(d);
        return;
    }
    s->d = d;
    s->stopped = stopped;
    gw_stop(s->gw, gateway_stopped, s);
}

static bool gateway_ready(daemon_t *d, void *ud, char *reason, size_t size)
{
    (void)d;
    gw_service_t *s = ud;
    if (s->gw == NULL) {
        snprintf(reason, size, "starting");
        return false;
    }
    return gw_ready(s->gw, reason, size);
}

static void gateway_cleanup(daemon_t *d, void *ud)
{
    (void)d;
    gw_service_t *s = ud;
    if (s->gw != NULL)
        gw_free(s->gw);
    s->gw = NULL;
}

static const daemon_service_t gateway_service = {
    .name = "gateway",
    .start = gateway_start,
    .stop = gateway_stop,
    .ready = gateway_ready,
    .cleanup = gateway_cleanup,
};

int gw_service_serve(const cfg_t *cfg)
{
    gw_service_t s = {.cfg = cfg};
    return daemon_serve(&gateway_service, cfg, &s);
}
