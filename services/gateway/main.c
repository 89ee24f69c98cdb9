/*
 * recsys-gateway: the public API of recsys (recsys.v1.Recommender over
 * HTTP/1.1, Twirp-style and REST) in front of the content and CF workers.
 *
 *   recsys-gateway --data DIR [--port 8080] [--content-url tcp://...] [--cf-url tcp://...]
 *
 * main() only describes the binary: its one command's options (gw_server.h's
 * tables, every option also a RECSYS_* variable, `--help` lists them), the
 * checks between them, and the service it runs (gw_service.c on the daemon
 * skeleton, common/net/daemon.h: admin port, signals, drain). SIGTERM/SIGINT:
 * stop accepting, finish the requests in flight, close the worker clients,
 * exit 0.
 */
#include "common/net/daemon.h"
#include "services/gateway/gw_options.h"
#include "services/gateway/gw_server.h"
#include "services/gateway/gw_service.h"

#define PROG "recsys-gateway"

/* ------------------------------------------------------------ serve */

static int serve_check(const cfg_t *cfg, err_t *err)
{
    const char *data = cfg_str(cfg, "data");
    if (data == NULL || data[0] == '\0')
        return err_set(err, "--data DIR is required (the dataset the workers serve)");
    return 0;
}

static int serve_run(const cfg_t *cfg) { return gw_service_serve(cfg); }

/* ------------------------------------------------------------ the binary */

static const daemon_command_t commands[] = {
    {
        .name = NULL, /* the only command: `recsys-gateway [options]` */
        .usage = "[options]",
        .summary = "The public API of recsys: recsys.v1.Recommender over HTTP/1.1 (Twirp-style\n"
                   "POST /twirp/recsys.v1.Recommender/<Method> with JSON or protobuf bodies, and REST\n"
                   "reads under /v1/), fanning out to the content and CF workers over nng and\n"
                   "blending their answers. Admin endpoints (/healthz, /readyz, /metrics) on admin-port.",
        .add_options = gw_add_options,
        .extra_args = true,
        .check = serve_check,
        .run = serve_run,
    },
};

static const daemon_program_t program = {
    .name = PROG,
    .service = "gateway",
    .commands = commands,
    .ncommands = sizeof commands / sizeof commands[0],
};

int main(int argc, char **argv) { return daemon_main(&program, argc, argv); }
