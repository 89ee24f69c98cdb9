/*
 * admin.c: /healthz, /readyz and /metrics over an httpsrv (admin.h).
 *
 * The admin server gets its own small configuration rather than the
 * service's http-* options: its clients are probes and scrapers, a handful
 * of connections with tiny requests, and short timeouts keep it cheap.
 */
#include "common/net/admin.h"
#include "common/net/procmetrics.h"
#include "common/base/clock.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

struct admin {
    httpsrv_t *srv;
    metrics_registry_t *reg;
    admin_ready_fn ready;
    void *ud;
};

static void healthz(httpsrv_req_t *r, void *ud)
{
    (void)ud;
    httpsrv_respond_text(r, 200, "ok\n");
}

static void readyz(httpsrv_req_t *r, void *ud)
{
    admin_t *a = ud;
    char reason[256] = "";
    if (a->ready == NULL || a->ready(a->ud, reason, sizeof reason)) {
        httpsrv_respond_text(r, 200, "ready\n");
        return;
    }
    reason[sizeof reason - 1] = '\0';
    char body[300];
    snprintf(body, sizeof body, "not ready: %s\n", reason[0] ? reason : "(no reason given)");
    httpsrv_respond_text(r, 503, body);
}

static void metrics(httpsrv_req_t *r, void *ud)
{
    admin_t *a = ud;
    size_t len = 0;
    char *text = metrics_expose(a->reg, &len);
    if (text == NULL) {
        httpsrv_respond_text(r, 500, "out of memory\n");
        return;
    }
    httpsrv_respond_owned(r, 200, METRICS_CONTENT_TYPE, text, len);
}

admin_t *admin_start(uv_loop_t *loop, const char *host, int port, metrics_registry_t *reg, admin_ready_fn ready,
                     void *ud, err_t *err)
{
    admin_t *a = calloc(1, sizeof *a);
    if (a == NULL) {
        err_set(err, "admin: out of memory");
        return NULL;
    }
    a->reg = reg;
    a->ready = ready;
    a->ud = ud;
    if (reg != NULL) {
        metrics_gauge_t *start = metrics_gauge_new(reg, "process_start_time_seconds",
                                                   "Start time of the process since the Unix epoch, in seconds.", err);
        if (start == NULL) {
            free(a);
            return NULL;
        }
        if (procmetrics_register(reg, err) != 0) {
            free(a);
            return NULL;
        }
        if (metrics_gauge_value(start) == 0) {
            metrics_gauge_set(start, (double)(clock_wall_ms() / 1000));
        }
    }
    httpsrv_config_t cfg;
    httpsrv_config_default(&cfg);
    cfg.limits.max_body_bytes = 4096;
    cfg.max_connections = 64;
    cfg.max_pipeline = 4;
    cfg.header_timeout_ms = 5000;
    cfg.idle_timeout_ms = 30000;
    cfg.write_timeout_ms = 5000;
    cfg.shutdown_timeout_ms = 1000;
    cfg.metrics = reg;
    a->srv = httpsrv_new(loop, &cfg, err);
    if (a->srv == NULL) {
        free(a);
        return NULL;
    }
    if (httpsrv_route(a->srv, "GET", "/healthz", healthz, a, err) != 0 ||
        httpsrv_route(a->srv, "GET", "/readyz", readyz, a, err) != 0 ||
        httpsrv_route(a->srv, "GET", "/metrics", metrics, a, err) != 0 ||
        httpsrv_listen(a->srv, host, port, err) != 0) {
        err_prefix(err, "admin");
        admin_free(a);
        return NULL;
    }
    return a;
}

int admin_port(const admin_t *a)
{
    return httpsrv_port(a->srv);
}

httpsrv_t *admin_server(admin_t *a)
{
    return a->srv;
}

void admin_stop(admin_t *a, httpsrv_done_fn done, void *ud)
{
    httpsrv_stop(a->srv, done, ud);
}

void admin_free(admin_t *a)
{
    if (a == NULL)
        return;
    httpsrv_free(a->srv);
    free(a);
}
