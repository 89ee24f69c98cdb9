/*
 * httpsrv_config.c: the HTTP server's options table and its defaults.
 *
 * The defaults suit a JSON/protobuf API behind a load balancer: small
 * bodies, short header deadline (slowloris), keep-alive longer than a
 * typical balancer's idle timeout is not needed, so one minute.
 */
#include "common/net/httpsrv.h"

const cfg_option_t httpsrv_options[] = {
    {"http-max-body-bytes", CFG_INT, "1048576", "Largest request body accepted, in bytes (larger: 413).", 0,
     1073741824},
    {"http-max-header-bytes", CFG_INT, "16384", "Largest total of request header fields, in bytes (larger: 431).",
     256, 1048576},
    {"http-max-headers", CFG_INT, "100", "Most request header fields accepted (more: 431).", 1, 10000},
    {"http-max-url-bytes", CFG_INT, "8192", "Longest request target, in bytes (longer: 414).", 16, 1048576},
    {"http-max-connections", CFG_INT, "1024", "Connections served at once; more are answered 503 and closed.", 1,
     1000000},
    {"http-max-pipeline", CFG_INT, "16", "Requests in flight per connection; reading pauses beyond it.", 1, 1024},
    {"http2-max-streams", CFG_INT, "100",
     "HTTP/2 (gRPC) streams in flight per connection (SETTINGS_MAX_CONCURRENT_STREAMS).", 1, 100000},
    {"http-access-log", CFG_BOOL, "false",
     "Log one JSON line per answered request (route, status, duration, trace id, cache, degraded).", 0, 0},
    {"http-idle-timeout-ms", CFG_INT, "60000", "Idle keep-alive connections are closed after this long.", 1,
     86400000},
    {"http-header-timeout-ms", CFG_INT, "10000", "A request's headers must arrive within this long (else 408).",
     1, 86400000},
    {"http-write-timeout-ms", CFG_INT, "10000", "A client that reads nothing for this long is disconnected.", 1,
     86400000},
    {"http-shutdown-timeout-ms", CFG_INT, "10000", "On shutdown, requests in flight get this long to finish.", 0,
     86400000},
    CFG_END,
};

void httpsrv_config_default(httpsrv_config_t *c)
{
    *c = (httpsrv_config_t){
        .limits = HTTPREQ_LIMITS_DEFAULT,
        .max_connections = 1024,
        .max_pipeline = 16,
        .max_streams = 100,
        .idle_timeout_ms = 60000,
        .header_timeout_ms = 10000,
        .write_timeout_ms = 10000,
        .shutdown_timeout_ms = 10000,
        .metrics = NULL,
    };
}

int httpsrv_config_from_cfg(httpsrv_config_t *c, const cfg_t *cfg, err_t *err)
{
    httpsrv_config_default(c);
    if (!cfg_has(cfg, "http-max-body-bytes"))
        return err_set(err, "httpsrv: the http-* options were not added to the configuration");
    c->limits.max_body_bytes = (size_t)cfg_int(cfg, "http-max-body-bytes");
    c->limits.max_header_bytes = (size_t)cfg_int(cfg, "http-max-header-bytes");
    c->limits.max_headers = (size_t)cfg_int(cfg, "http-max-headers");
    c->limits.max_url_bytes = (size_t)cfg_int(cfg, "http-max-url-bytes");
    c->max_connections = (size_t)cfg_int(cfg, "http-max-connections");
    c->max_pipeline = (size_t)cfg_int(cfg, "http-max-pipeline");
    c->max_streams = (size_t)cfg_int(cfg, "http2-max-streams");
    c->access_log = cfg_bool(cfg, "http-access-log");
    c->trace = true;
    c->idle_timeout_ms = (uint64_t)cfg_int(cfg, "http-idle-timeout-ms");
    c->header_timeout_ms = (uint64_t)cfg_int(cfg, "http-header-timeout-ms");
    c->write_timeout_ms = (uint64_t)cfg_int(cfg, "http-write-timeout-ms");
    c->shutdown_timeout_ms = (uint64_t)cfg_int(cfg, "http-shutdown-timeout-ms");
    return 0;
}
