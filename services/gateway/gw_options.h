/*
 * gw_options.h: the gateway's options (flags / RECSYS_* variables): its own
 * table, and every table the binary reads, in --help order. Each module
 * declares its own table beside its code (gw_request.c's limits,
 * gw_workers.c's workers, gw_cache.c, gw_feedback.c, and common/'s).
 */
#ifndef RECSYS_GATEWAY_GW_OPTIONS_H
#define RECSYS_GATEWAY_GW_OPTIONS_H

#include "common/base/config.h"
#include "common/base/err.h"

/* host, port, admin-host, admin-port, feedback-fold-in, content-history-max,
 * api-key (gateway section). */
extern const cfg_option_t gw_options[];

/* Adds every option table the gateway uses (its own, limits, workers, rpc
 * client, http, blend, dataset, json, redis, cache, feedback, web, log) to cfg. */
int gw_add_options(cfg_t *cfg, err_t *err);

#endif
