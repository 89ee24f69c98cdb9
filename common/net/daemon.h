/*
 * daemon.h: the skeleton every recsys binary is built on (Pelikan's "one
 * main, many servers"): the command line and the life of a server process.
 *
 * The command line. A binary is a daemon_program_t: a name, the log service
 * name and a table of commands. A binary with one nameless command
 * (recsys-gateway) parses its options directly; one with named commands
 * (recsys-cf serve|train, recsys-content seed|build|serve) lists them in
 * `--help` under "Commands:" and runs `PROG CMD ...`. Every command is parsed
 * the same way:
 *   - its option tables (sections, then add_options), and the log options
 *     when neither added them; every option is a flag and a RECSYS_* variable
 *     (common/base/config.h), `--help` / `--help-markdown` list them: exit 0;
 *   - a bad option, an unexpected argument, a bad log level or a failed
 *     check: "PROG CMD: reason" on stderr, exit 2;
 *   - then run(cfg), whose return value is the exit status.
 *
 * The server. daemon_serve() runs a daemon_service_t on a fresh libuv loop:
 *   - logging (log-level), SIGPIPE ignored;
 *   - the admin port (common/net/admin.h) on admin-host:admin-port with
 *     /healthz, /readyz and /metrics; the metrics registry is the daemon's,
 *     for the service to register its own metrics in;
 *   - start(): the service starts on the loop (listens, logs "listening");
 *     a failure is logged as "start-up failed" and exits 1;
 *   - /readyz: the service's ready(), and 503 "draining: shutting down" once
 *     the drain started;
 *   - SIGHUP: the service's reload() (when NULL, SIGHUP is left alone);
 *   - SIGTERM/SIGINT: "shutting down: draining requests" is logged, the
 *     service's stop() finishes what is in flight and calls stopped(), then
 *     the admin server closes, the loop ends, "stopped" is logged, exit 0
 *     (or the code given to daemon_shutdown).
 */
#ifndef RECSYS_COMMON_DAEMON_H
#define RECSYS_COMMON_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "common/base/config.h"
#include "common/base/err.h"
#include "common/net/metrics.h"

/* ------------------------------------------------------------ command line */

/* One option table under its --help heading. Lists end with DAEMON_SECTIONS_END. */
typedef struct daemon_section {
    const char *name;
    const cfg_option_t *options;
} daemon_section_t;

#define DAEMON_SECTIONS_END {NULL, NULL}

typedef struct daemon_command {
    const char *name;    /* "serve"; NULL: the binary's only command, no name on the command line */
    const char *what;    /* one line for the binary's command list */
    const char *usage;   /* after "Usage: PROG CMD " */
    const char *summary; /* the paragraph under the usage line */
    /* Option tables, in --help order: sections first, then those add_options
     * adds (either may be NULL); then the log options unless already added. */
    const daemon_section_t *sections;
    int (*add_options)(cfg_t *cfg, err_t *err);
    bool extra_args; /* true: positional arguments are ignored; false: refused */
    /* Checks between options (required ones, exclusive ones); -1 with err:
     * "PROG CMD: err" and exit 2. May be NULL. */
    int (*check)(const cfg_t *cfg, err_t *err);
    /* Runs the command on the parsed options; returns the exit status. */
    int (*run)(const cfg_t *cfg);
} daemon_command_t;

typedef struct daemon_program {
    const char *name;    /* "recsys-cf" */
    const char *service; /* "cf": the log lines' service name */
    const daemon_command_t *commands;
    size_t ncommands;
} daemon_program_t;

/* Parses argv for the command it names (or the only, nameless one) and runs
 * it. Returns the process exit status. */
int daemon_main(const daemon_program_t *prog, int argc, char **argv);

/* Builds and parses the configuration of one command as daemon_main does
 * (for tests and tools). Returns the cfg, or NULL with *code the exit status
 * (0 after --help, 2 on an error, reported on stderr). */
cfg_t *daemon_parse(const daemon_program_t *prog, const daemon_command_t *cmd, int argc, char **argv,
                    int *code);

/* ------------------------------------------------------------ server */

typedef struct daemon daemon_t;

/* The service calls it once everything it started is closed. */
typedef void (*daemon_stopped_fn)(daemon_t *d);

typedef struct daemon_service {
    const char *name; /* "gateway", "cf": log service name; start-up errors say "recsys-<name>: " */
    /* Starts the service on daemon_loop(d), before the loop runs; the admin
     * port is already bound (daemon_admin_port). -1 with err on failure:
     * stop() and cleanup() still run (as they do whenever start() was
     * called), so they must cope with a partial start. */
    int (*start)(daemon_t *d, void *ud, err_t *err);
    /* Stops accepting, finishes the work in flight, closes what start()
     * opened, then calls stopped(d) (at once or later, on the loop). NULL:
     * nothing to stop. */
    void (*stop)(daemon_t *d, void *ud, daemon_stopped_fn stopped);
    /* /readyz: true when ready, else a one-line reason. NULL: ready. */
    bool (*ready)(daemon_t *d, void *ud, char *reason, size_t size);
    /* SIGHUP. NULL: SIGHUP keeps its default action. */
    void (*reload)(daemon_t *d, void *ud);
    /* After the loop ended, before it closes: frees what start() made. */
    void (*cleanup)(daemon_t *d, void *ud);
} daemon_service_t;

/* Runs svc (with ud, its context) until SIGTERM/SIGINT, daemon_shutdown or a
 * failed start. cfg must hold admin-host, admin-port and log-level. Returns
 * the exit status: 0 after a drain, 1 when start-up failed, 2 on a bad
 * log level, or what daemon_shutdown was given. */
int daemon_serve(const daemon_service_t *svc, const cfg_t *cfg, void *ud);

uv_loop_t *daemon_loop(daemon_t *d);
const cfg_t *daemon_cfg(const daemon_t *d);
metrics_registry_t *daemon_metrics(daemon_t *d);
int daemon_admin_port(const daemon_t *d);
/* True once the drain started. */
bool daemon_stopping(const daemon_t *d);
/* Starts the drain from the loop thread, as SIGTERM does, ending with
 * exit_code (e.g. 1 when a worker's first model load failed). The first
 * call wins; later ones do nothing. */
void daemon_shutdown(daemon_t *d, int exit_code);

#endif
