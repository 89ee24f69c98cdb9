/*
 * gw_service.h: the gateway as a daemon (common/net/daemon.h): its start
 * (the catalog, the gateway on the daemon's loop, the public port), its
 * graceful stop and its readiness. recsys-gateway's main.c runs it.
 */
#ifndef RECSYS_GATEWAY_GW_SERVICE_H
#define RECSYS_GATEWAY_GW_SERVICE_H

#include "common/base/config.h"

/* Runs the gateway on a parsed configuration (gw_add_options) until
 * SIGTERM/SIGINT. Returns the exit status: 0 after a drain, 1 when the
 * catalog or a port could not be had, 2 on a bad log level. */
int gw_service_serve(const cfg_t *cfg);

#endif
