/* cmdline.c: subcommand lookup (see cmdline.h). */
#include "common/base/cmdline.h"

#include <string.h>

void cmdline_usage(FILE *f, const char *prog, const cmdline_command_t *cmds, size_t n)
{
    fprintf(f, "Usage: %s COMMAND [options]\n\nCommands:\n", prog);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "  %-8s %s\n", cmds[i].name, cmds[i].what);
    fprintf(f, "\n%s COMMAND --help lists the command's options and their RECSYS_* variables.\n", prog);
}

int cmdline_find(const char *prog, const cmdline_command_t *cmds, size_t n, int argc, char **argv, int *code)
{
    *code = 2;
    if (argc < 2) {
        cmdline_usage(stderr, prog, cmds, n);
        return -1;
    }
    const char *a = argv[1];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0 || strcmp(a, "help") == 0) {
        cmdline_usage(stdout, prog, cmds, n);
        *code = 0;
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if (strcmp(a, cmds[i].name) == 0)
            return (int)i;
    if (a[0] == '-')
        fprintf(stderr, "%s: unknown option %s before the command (see --help)\n", prog, a);
    else
        fprintf(stderr, "%s: unknown command '%s'\n", prog, a);
    cmdline_usage(stderr, prog, cmds, n);
    return -1;
}
