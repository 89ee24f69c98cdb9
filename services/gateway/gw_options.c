/*
 * gw_options.c: the gateway's option table and the list of every table
 * recsys-gateway reads (see gw_options.h).
 */
#include "services/gateway/gw_options.h"

#include "common/base/log.h"
#include "common/data/dataset.h"
#include "common/math/blend.h"
#include "common/net/httpsrv.h"
#include "common/net/redisuv.h"
#include "common/net/rpc.h"
#include "common/wire/pbjson.h"
#include "services/gateway/gw_cache.h"
#include "services/gateway/gw_feedback.h"
#include "services/gateway/gw_request.h"
#include "services/gateway/gw_static.h"
#include "services/gateway/gw_workers.h"

const cfg_option_t gw_options[] = {
    {"host", CFG_STRING, "127.0.0.1", "Address the public HTTP API listens on; 0.0.0.0 in containers.", 0, 0},
    {"port", CFG_INT, "8080", "Port of the public HTTP API (0: any free port).", 0, 65535},
    {"admin-host", CFG_STRING, "127.0.0.1", "Address of the admin server (/healthz, /readyz, /metrics).", 0, 0},
    {"admin-port", CFG_INT, "9090", "Port of the admin server (0: any free port).", 0, 65535},
    {"feedback-fold-in", CFG_INT, "100",
     "Recent feedback events (from Redis) added to a known user's history for the workers' fold-in; 0: none.", 0,
     100000},
    {"content-history-max", CFG_INT, "200",
     "Known ratings of a user sent to the content worker per request: beyond it, those furthest from the user's "
     "mean rating (the profile's heaviest weights).",
     1, 1000000},
    {"api-key", CFG_STRING, "",
     "When set, writes (AddFeedback, POST /v1/feedback) need the header 'Authorization: Bearer <key>'.", 0, 0},
    CFG_END,
};

int gw_add_options(cfg_t *cfg, err_t *err)
{
    if (cfg_add(cfg, "gateway", gw_options, err) != 0 || cfg_add(cfg, "limits", gw_limits_options, err) != 0 ||
        cfg_add(cfg, "workers", gw_workers_options, err) != 0 ||
        cfg_add(cfg, "rpc client", rpc_client_options, err) != 0 ||
        cfg_add(cfg, "http", httpsrv_options, err) != 0 || cfg_add(cfg, "blend", blend_options, err) != 0 ||
        cfg_add(cfg, "data", dataset_options, err) != 0 || cfg_add(cfg, "json", pbjson_options, err) != 0 ||
        cfg_add(cfg, "redis", redisuv_options, err) != 0 ||
        cfg_add(cfg, "cache", gw_cache_options, err) != 0 ||
        cfg_add(cfg, "feedback", gw_feedback_options, err) != 0 || cfg_add(cfg, "web", gw_static_options, err) != 0 ||
        cfg_add(cfg, "log", log_options, err) != 0)
        return -1;
    return 0;
}
