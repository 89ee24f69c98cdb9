/*
 * cmdline.h: subcommand dispatch for binaries with several commands
 * (recsys-content seed|build|serve, recsys-cf serve|train, ...).
 *
 * `prog --help` lists the commands under a "Commands:" heading (the --help
 * check in tests/integration/help.sh reads it and then checks each
 * `prog CMD --help`); `prog CMD ...` runs the command with argv[0] = CMD, and
 * the command parses its own options with common/base/config.h.
 */
#ifndef RECSYS_COMMON_CMDLINE_H
#define RECSYS_COMMON_CMDLINE_H

#include <stddef.h>
#include <stdio.h>

typedef struct cmdline_command {
    const char *name;
    int (*run)(int argc, char **argv); /* argv[0] is the command name */
    const char *what;                  /* one line for the usage text */
} cmdline_command_t;

/* Prints the usage text listing the commands. */
void cmdline_usage(FILE *f, const char *prog, const cmdline_command_t *cmds, size_t n);
/* Runs the command named by argv[1]; returns its exit status, 0 after
 * --help, 2 for a missing or unknown command (usage on stderr). */
int cmdline_dispatch(const char *prog, const cmdline_command_t *cmds, size_t n, int argc, char **argv);

#endif
