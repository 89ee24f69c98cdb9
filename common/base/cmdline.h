/*
 * cmdline.h: subcommand lookup for binaries with several commands
 * (recsys-content seed|build|serve, recsys-cf serve|train, ...).
 *
 * `prog --help` lists the commands under a "Commands:" heading (the --help
 * check in tests/integration/help.sh reads it and then checks each
 * `prog CMD --help`); `prog CMD ...` runs the command with argv[0] = CMD, and
 * the command parses its own options with common/base/config.h. The caller
 * (common/net/daemon.c's daemon_main) runs what cmdline_find picked.
 */
#ifndef RECSYS_COMMON_CMDLINE_H
#define RECSYS_COMMON_CMDLINE_H

#include <stddef.h>
#include <stdio.h>

typedef struct cmdline_command {
    const char *name;
    const char *what; /* one line for the usage text */
} cmdline_command_t;

/* Prints the usage text listing the commands. */
void cmdline_usage(FILE *f, const char *prog, const cmdline_command_t *cmds, size_t n);
/* The index of the command named by argv[1], or -1 with *code the exit
 * status: 0 after --help (usage on stdout), 2 for a missing or unknown
 * command (message and usage on stderr). */
int cmdline_find(const char *prog, const cmdline_command_t *cmds, size_t n, int argc, char **argv, int *code);

#endif
