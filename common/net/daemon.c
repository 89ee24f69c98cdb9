/*
 * daemon.c: the command line and the life of a server process (see daemon.h).
 *
 * Threads: everything here runs on the thread that called daemon_serve, in
 * its loop; signals arrive through uv_signal_t (libuv turns them into loop
 * events), so the drain, the reload hook and the readiness callback never
 * race with each other. The drain is one path whatever starts it (a signal,
 * daemon_shutdown, a failed start): close the signal handles, let the
 * service stop, then close the admin server; the loop ends when the last
 * handle is closed, which is what makes "exit 0" mean "nothing was cut off".
 */
#include "common/net/daemon.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/base/cmdline.h"
#include "common/base/log.h"
#include "common/net/admin.h"

/* ------------------------------------------------------------ command line */

static void report(const daemon_program_t *prog, const daemon_command_t *cmd, const char *msg)
{
    if (cmd->name != NULL)
        fprintf(stderr, "%s %s: %s\n", prog->name, cmd->name, msg);
    else
        fprintf(stderr, "%s: %s\n", prog->name, msg);
}

static int add_tables(cfg_t *cfg, const daemon_command_t *cmd, err_t *err)
{
    for (const daemon_section_t *s = cmd->sections; s != NULL && s->name != NULL; s++)
        if (cfg_add(cfg, s->name, s->options, err) != 0)
            return -1;
    if (cmd->add_options != NULL && cmd->add_options(cfg, err) != 0)
        return -1;
    if (!cfg_has(cfg, "log-level") && cfg_add(cfg, "log", log_options, err) != 0)
        return -1;
    return 0;
}

cfg_t *daemon_parse(const daemon_program_t *prog, const daemon_command_t *cmd, int argc, char **argv, int *code)
{
    char title[128];
    if (cmd->name != NULL)
        snprintf(title, sizeof title, "%s %s", prog->name, cmd->name);
    else
        snprintf(title, sizeof title, "%s", prog->name);
    cfg_t *cfg = cfg_new(title, cmd->usage, cmd->summary);
    if (cfg == NULL) {
        fprintf(stderr, "%s: out of memory\n", prog->name);
        *code = 2;
        return NULL;
    }
    err_t err;
    err_clear(&err);
    int rc = add_tables(cfg, cmd, &err) != 0 ? -1 : cfg_parse(cfg, argc, argv, &err);
    if (rc == 0 && !cmd->extra_args && cfg_nargs(cfg) != 0) {
        err_set(&err, "unexpected argument '%s'", cfg_arg(cfg, 0));
        rc = -1;
    }
    if (rc == 0 && log_setup_cfg(prog->service, cfg, &err) != 0)
        rc = -1;
    if (rc == 0 && cmd->check != NULL && cmd->check(cfg, &err) != 0)
        rc = -1;
    if (rc != 0) {
        if (rc < 0)
            report(prog, cmd, err.msg);
        cfg_free(cfg);
        *code = rc < 0 ? 2 : 0;
        return NULL;
    }
    *code = 0;
    return cfg;
}

static int run_command(const daemon_program_t *prog, const daemon_command_t *cmd, int argc, char **argv)
{
    int code;
    cfg_t *cfg = daemon_parse(prog, cmd, argc, argv, &code);
    if (cfg == NULL)
        return code;
    code = cmd->run(cfg);
    cfg_free(cfg);
    return code;
}

/* The command list, --help and the errors are cmdline.c's; a command here
 * also carries its option tables, checks and run function. */
int daemon_main(const daemon_program_t *prog, int argc, char **argv)
{
    if (prog->ncommands == 1 && prog->commands[0].name == NULL)
        return run_command(prog, &prog->commands[0], argc, argv);
    size_t n = prog->ncommands;
    cmdline_command_t *list = calloc(n ? n : 1, sizeof *list);
    if (list == NULL) {
        fprintf(stderr, "%s: out of memory\n", prog->name);
        return 2;
    }
    for (size_t i = 0; i < n; i++)
        list[i] = (cmdline_command_t){prog->commands[i].name, prog->commands[i].what};
    int code;
    int i = cmdline_find(prog->name, list, n, argc, argv, &code);
    free(list);
    if (i < 0)
        return code;
    return run_command(prog, &prog->commands[i], argc - 1, argv + 1);
}

/* ------------------------------------------------------------ server */

struct daemon {
    const daemon_service_t *svc;
    void *ud;
    const cfg_t *cfg;
    uv_loop_t loop;
    uv_signal_t sighup, sigterm, sigint;
    bool signals_on, hup_on;
    admin_t *admin;
    metrics_registry_t *reg;
    bool started; /* start() was called: stop() and cleanup() are due */
    bool stopping;
    int exit_code;
};

uv_loop_t *daemon_loop(daemon_t *d) { return &d->loop; }
const cfg_t *daemon_cfg(const daemon_t *d) { return d->cfg; }
metrics_registry_t *daemon_metrics(daemon_t *d) { return d->reg; }
int daemon_admin_port(const daemon_t *d) { return d->admin != NULL ? admin_port(d->admin) : -1; }
bool daemon_stopping(const daemon_t *d) { return d->stopping; }

static bool is_ready(void *ud, char *reason, size_t size)
{
    daemon_t *d = ud;
    if (d->svc->ready != NULL && !d->svc->ready(d, d->ud, reason, size))
        return false;
    if (d->stopping) {
        snprintf(reason, size, "draining: shutting down");
        return false;
    }
    return true;
}

static void on_stopped(daemon_t *d)
{
    if (d->admin != NULL)
        admin_stop(d->admin, NULL, NULL);
}

void daemon_shutdown(daemon_t *d, int exit_code)
{
    if (d->stopping)
        return;
    d->stopping = true;
    d->exit_code = exit_code;
    if (d->signals_on) {
        if (d->hup_on)
            uv_close((uv_handle_t *)&d->sighup, NULL);
        uv_close((uv_handle_t *)&d->sigterm, NULL);
        uv_close((uv_handle_t *)&d->sigint, NULL);
    }
    if (d->started && d->svc->stop != NULL)
        d->svc->stop(d, d->ud, on_stopped);
    else
        on_stopped(d);
}

static void on_signal(uv_signal_t *h, int signum)
{
    daemon_t *d = h->data;
    if (signum == SIGHUP) {
        d->svc->reload(d, d->ud);
        return;
    }
    log_kv(LOG_INFO, "shutting down: draining requests", "signal", signum == SIGTERM ? "SIGTERM" : "SIGINT",
           NULL);
    daemon_shutdown(d, 0);
}

static void signals_start(daemon_t *d)
{
    d->hup_on = d->svc->reload != NULL;
    uv_signal_init(&d->loop, &d->sigterm);
    uv_signal_init(&d->loop, &d->sigint);
    d->sigterm.data = d->sigint.data = d;
    uv_signal_start(&d->sigterm, on_signal, SIGTERM);
    uv_signal_start(&d->sigint, on_signal, SIGINT);
    if (d->hup_on) {
        uv_signal_init(&d->loop, &d->sighup);
        d->sighup.data = d;
        uv_signal_start(&d->sighup, on_signal, SIGHUP);
    }
    d->signals_on = true;
}

int daemon_serve(const daemon_service_t *svc, const cfg_t *cfg, void *ud)
{
    err_t err;
    err_clear(&err);
    if (log_setup_cfg(svc->name, cfg, &err) != 0) {
        fprintf(stderr, "recsys-%s: %s\n", svc->name, err.msg);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    daemon_t *d = calloc(1, sizeof *d);
    metrics_registry_t *reg = metrics_registry_new();
    if (d == NULL || reg == NULL) {
        fprintf(stderr, "recsys-%s: out of memory\n", svc->name);
        free(d);
        metrics_registry_free(reg);
        return 1;
    }
    d->svc = svc;
    d->ud = ud;
    d->cfg = cfg;
    d->reg = reg;
    uv_loop_init(&d->loop);

    const char *host = cfg_str(cfg, "admin-host");
    long long port = cfg_int(cfg, "admin-port");
    d->admin = admin_start(&d->loop, host, (int)port, d->reg, is_ready, d, &err);
    if (d->admin == NULL) {
        err_prefix(&err, "admin server on %s:%lld", host, port);
    } else {
        d->started = true;
        if (svc->start(d, ud, &err) == 0) {
            signals_start(d);
            uv_run(&d->loop, UV_RUN_DEFAULT);
            goto out;
        }
    }
    log_kv(LOG_ERROR, "start-up failed", "error", err.msg[0] ? err.msg : "unknown error", NULL);
    daemon_shutdown(d, 1);
    uv_run(&d->loop, UV_RUN_DEFAULT);
out:;
    int rc = d->exit_code;
    if (d->started && svc->cleanup != NULL)
        svc->cleanup(d, ud);
    if (d->admin != NULL)
        admin_free(d->admin);
    if (uv_loop_close(&d->loop) != 0)
        log_kv(LOG_WARN, "loop closed with handles open", NULL);
    metrics_registry_free(d->reg);
    free(d);
    if (rc == 0)
        log_kv(LOG_INFO, "stopped", NULL);
    return rc;
}
