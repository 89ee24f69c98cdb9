/*
 * gw_server.h: the gateway: the public HTTP API of recsys.v1.Recommender
 * (Twirp-style and REST routes) in front of the two model workers.
 *
 * Routes (errors everywhere are Twirp JSON, gw_twirp.h):
 *   POST /twirp/recsys.v1.Recommender/{Recommend,SimilarItems,Score,
 *        AddFeedback,GetItem,SearchItems}   application/json or /protobuf
 *   GET  /, /assets/{name}                   the web page (gw_static.h; web-page option)
 *   GET  /v1/users/{id}/recommendations?k=&genre=&exclude=&explain=&year_min=&year_max=&include_seen=
 *   GET  /v1/items/{id}/similar?k=&mode=&genre=&exclude=&explain=
 *   GET  /v1/items/{id}
 *   GET  /v1/items?q=&k=
 *   POST /v1/feedback                        JSON AddFeedbackRequest
 * Anything else: 404 bad_route (a known path with another method too, with
 * an Allow header). /healthz, /readyz and /metrics are on the admin port.
 *
 * Recommend, SimilarItems and Score fan out to both workers at once and
 * fuse their lists with common/math/blend.h (gw_rank.c); GetItem and
 * SearchItems are answered from the gateway's own catalog (gw_catalog.h).
 */
#ifndef RECSYS_GATEWAY_GW_SERVER_H
#define RECSYS_GATEWAY_GW_SERVER_H

#include <uv.h>

#include "common/base/config.h"
#include "common/base/err.h"
#include "common/net/httpsrv.h"
#include "common/net/metrics.h"
#include "services/gateway/gw_catalog.h"

typedef struct gw gw_t;

/* Builds the gateway on loop from a parsed cfg: takes ownership of cat,
 * starts the worker clients and polling, registers metrics in reg. */
gw_t *gw_new(uv_loop_t *loop, const cfg_t *cfg, gw_catalog_t *cat, metrics_registry_t *reg, err_t *err);
/* Listens on host:port (0: any free port). */
int gw_listen(gw_t *gw, const char *host, int port, err_t *err);
int gw_port(const gw_t *gw);
/* The readiness callback for admin_start (ud = gw). */
bool gw_ready(void *ud, char *reason, size_t size);
/* Graceful stop: stop accepting, finish the requests in flight, then
 * close the worker clients (and Redis); done(ud) runs when all is closed. */
void gw_stop(gw_t *gw, void (*done)(void *ud), void *ud);
/* After done ran (or on a gateway that never listened). */
void gw_free(gw_t *gw);

#endif
