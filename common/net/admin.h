/*
 * admin.h: the admin endpoints every service serves on its own port.
 *
 *   GET /healthz  200 "ok" while the process runs (liveness)
 *   GET /readyz   200 "ready" when the readiness callback says so, else 503
 *                 with the callback's reason (models loading, worker down...)
 *   GET /metrics  the metrics registry, Prometheus text format 0.0.4
 *
 * It is an httpsrv of its own (small limits, its own port), so a busy public
 * port never delays a health check; admin_server() gives it to services that
 * want more admin routes. It also registers process_start_time_seconds.
 */
#ifndef RECSYS_COMMON_ADMIN_H
#define RECSYS_COMMON_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "common/base/err.h"
#include "common/net/httpsrv.h"
#include "common/net/metrics.h"

typedef struct admin admin_t;

/* True when ready; otherwise writes a one-line reason into reason[size].
 * Runs on the loop thread at each /readyz request. NULL means always ready. */
typedef bool (*admin_ready_fn)(void *ud, char *reason, size_t size);

/* Listens on host:port (port 0: any free port, see admin_port). reg may be
 * NULL (then /metrics is empty). NULL on failure, with the reason in err. */
admin_t *admin_start(uv_loop_t *loop, const char *host, int port, metrics_registry_t *reg, admin_ready_fn ready,
                     void *ud, err_t *err);
int admin_port(const admin_t *a);
httpsrv_t *admin_server(admin_t *a);
/* Stops the server; done (may be NULL) runs once it is closed. */
void admin_stop(admin_t *a, httpsrv_done_fn done, void *ud);
/* After done ran (or if the loop is run to completion afterwards). */
void admin_free(admin_t *a);

#endif
