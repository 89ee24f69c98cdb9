/*
 * config.h: options declared as tables, read from flags and RECSYS_* variables.
 *
 * Each module declares its options next to the code that uses them, as one
 * table of rows (name, type, default, help[, min, max]) ended by CFG_END.
 * A binary adds the tables it uses and parses once; every option is then
 * settable as a flag `--http-port=8080` (or `--http-port 8080`) and as an
 * environment variable RECSYS_HTTP_PORT (name upper-cased, '-' -> '_').
 * A flag wins over the environment, which wins over the default.
 * `--help` prints every option with its variable and default;
 * `--help-markdown` prints the same as a Markdown table (for the README).
 *
 * Bool options: `--flag`, `--flag=true|false|1|0|yes|no|on|off`, `--no-flag`.
 * Numbers are checked for syntax and, when min < max, for range; a bad value
 * is an error naming the flag or variable and the value.
 */
#ifndef RECSYS_COMMON_CONFIG_H
#define RECSYS_COMMON_CONFIG_H

#include <stdbool.h>
#include <stdio.h>

#include "common/base/err.h"

typedef enum { CFG_STRING = 1, CFG_INT, CFG_DOUBLE, CFG_BOOL } cfg_type_t;

typedef struct cfg_option {
    const char *name;  /* lower-case with dashes: "http-port" */
    cfg_type_t type;
    const char *def;   /* default, as text; NULL = empty string / 0 / false */
    const char *help;  /* one sentence */
    double min, max;   /* range check for numbers when min < max */
} cfg_option_t;

#define CFG_END {NULL, (cfg_type_t)0, NULL, NULL, 0, 0}

typedef struct cfg cfg_t;

/* program: name shown in usage; usage: text after "Usage: program " (e.g.
 * "serve [options]"); summary: a paragraph describing the binary. */
cfg_t *cfg_new(const char *program, const char *usage, const char *summary);
void cfg_free(cfg_t *cfg);

/* Adds a table under a section heading (e.g. "http", "log"). Returns -1 if an
 * option name is already present (a programming error, reported in err). */
int cfg_add(cfg_t *cfg, const char *section, const cfg_option_t *table, err_t *err);

/* Reads the environment and then argv (argv[0] is skipped). Returns 0 on
 * success, 1 when --help or --help-markdown was printed to stdout (the caller
 * exits 0), -1 on a bad option (message in err). Non-option arguments are kept
 * in order: cfg_nargs()/cfg_arg(). */
int cfg_parse(cfg_t *cfg, int argc, char **argv, err_t *err);

/* Sets one option as if given by a flag (tests, programmatic overrides). */
int cfg_set(cfg_t *cfg, const char *name, const char *value, err_t *err);

/* Getters abort with a message if the name was never added (a programming error). */
const char *cfg_str(const cfg_t *cfg, const char *name);
long long cfg_int(const cfg_t *cfg, const char *name);
double cfg_double(const cfg_t *cfg, const char *name);
bool cfg_bool(const cfg_t *cfg, const char *name);
/* "default", "env" or "flag". */
const char *cfg_source(const cfg_t *cfg, const char *name);
bool cfg_has(const cfg_t *cfg, const char *name);

int cfg_nargs(const cfg_t *cfg);
const char *cfg_arg(const cfg_t *cfg, int i);

void cfg_print_help(const cfg_t *cfg, FILE *out);
void cfg_print_markdown(const cfg_t *cfg, FILE *out);
/* "RECSYS_HTTP_PORT" for "http-port" into buf. */
void cfg_env_name(const char *name, char *buf, size_t size);

#endif
