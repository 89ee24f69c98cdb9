/*
 * config.c: table-driven options (see config.h).
 *
 * Values are kept as text plus a parsed number, so getters are cheap and the
 * help output can show exactly what the user would type. Parsing checks every
 * value when it is read (environment first, then flags) so a bad value is
 * reported with its origin: "--http-port=abc: not an integer".
 */
#include "common/base/config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

typedef struct cfg_entry {
    const cfg_option_t *opt;
    const char *section;
    char *value;        /* current text value, owned */
    long long ival;
    double dval;
    bool bval;
    const char *source; /* "default", "env", "flag" */
} cfg_entry_t;

struct cfg {
    const char *program, *usage, *summary;
    cfg_entry_t *entries;
    size_t n, cap;
    char **args;
    int nargs;
};

static const char *type_name(cfg_type_t t)
{
    switch (t) {
    case CFG_STRING: return "STRING";
    case CFG_INT: return "INT";
    case CFG_DOUBLE: return "NUMBER";
    case CFG_BOOL: return "BOOL";
    }
    return "?";
}

void cfg_env_name(const char *name, char *buf, size_t size)
{
    size_t j = 0;
    const char *pre = "RECSYS_";
    for (; *pre && j + 1 < size; pre++)
        buf[j++] = *pre;
    for (; *name && j + 1 < size; name++)
        buf[j++] = *name == '-' ? '_' : (char)toupper((unsigned char)*name);
    buf[j] = '\0';
}

cfg_t *cfg_new(const char *program, const char *usage, const char *summary)
{
    cfg_t *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->program = program;
    c->usage = usage ? usage : "[options]";
    c->summary = summary ? summary : "";
    return c;
}

void cfg_free(cfg_t *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n; i++)
        free(c->entries[i].value);
    free(c->entries);
    free(c->args);
    free(c);
}

static cfg_entry_t *find(const cfg_t *c, const char *name, size_t len)
{
    for (size_t i = 0; i < c->n; i++) {
        const char *n = c->entries[i].opt->name;
        if (strlen(n) == len && memcmp(n, name, len) == 0)
            return &c->entries[i];
    }
    return NULL;
}

static bool parse_bool(const char *s, bool *out)
{
    static const char *yes[] = {"1", "true", "yes", "on"};
    static const char *no[] = {"0", "false", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

/* Parses and stores value for entry e; origin names it in errors. */
static int assign(cfg_entry_t *e, const char *value, const char *source, const char *origin, err_t *err)
{
    const cfg_option_t *o = e->opt;
    long long iv = 0;
    double dv = 0;
    bool bv = false;
    const char *v = value ? value : "";
    char *end = NULL;
    switch (o->type) {
    case CFG_STRING:
        break;
    case CFG_INT:
        if (*v == '\0')
            break;
        errno = 0;
        iv = strtoll(v, &end, 10);
        if (errno != 0 || end == v || *end != '\0')
            return err_set(err, "%s=%s: not an integer", origin, v);
        if (o->min < o->max && ((double)iv < o->min || (double)iv > o->max))
            return err_set(err, "%s=%s: out of range [%.15g, %.15g]", origin, v, o->min, o->max);
        dv = (double)iv;
        break;
    case CFG_DOUBLE:
        if (*v == '\0')
            break;
        errno = 0;
        dv = strtod(v, &end);
        if (errno != 0 || end == v || *end != '\0' || !isfinite(dv))
            return err_set(err, "%s=%s: not a number", origin, v);
        if (o->min < o->max && (dv < o->min || dv > o->max))
            return err_set(err, "%s=%s: out of range [%.15g, %.15g]", origin, v, o->min, o->max);
        iv = (long long)dv;
        break;
    case CFG_BOOL:
        if (*v == '\0')
            break;
        if (!parse_bool(v, &bv))
            return err_set(err, "%s=%s: not a boolean (true/false, 1/0, yes/no, on/off)", origin, v);
        iv = bv;
        dv = bv;
        break;
    }
    char *copy = strdup(v);
    if (copy == NULL)
        return err_set(err, "out of memory");
    free(e->value);
    e->value = copy;
    e->ival = iv;
    e->dval = dv;
    e->bval = bv;
    e->source = source;
    return 0;
}

int cfg_add(cfg_t *c, const char *section, const cfg_option_t *table, err_t *err)
{
    for (const cfg_option_t *o = table; o->name != NULL; o++) {
        if (find(c, o->name, strlen(o->name)) != NULL)
            return err_set(err, "option --%s declared twice", o->name);
        if (c->n == c->cap) {
            size_t cap = c->cap ? c->cap * 2 : 32;
            cfg_entry_t *ne = realloc(c->entries, cap * sizeof *ne);
            if (ne == NULL)
                return err_set(err, "out of memory");
            c->entries = ne;
            c->cap = cap;
        }
        cfg_entry_t *e = &c->entries[c->n];
        memset(e, 0, sizeof *e);
        e->opt = o;
        e->section = section;
        char origin[160];
        snprintf(origin, sizeof origin, "default of --%s", o->name);
        if (assign(e, o->def, "default", origin, err) != 0)
            return -1;
        c->n++;
    }
    return 0;
}

int cfg_set(cfg_t *c, const char *name, const char *value, err_t *err)
{
    cfg_entry_t *e = find(c, name, strlen(name));
    if (e == NULL)
        return err_set(err, "unknown option --%s", name);
    char origin[200];
    snprintf(origin, sizeof origin, "--%s", name);
    return assign(e, value, "flag", origin, err);
}

static int push_arg(cfg_t *c, char *a, err_t *err)
{
    char **na = realloc(c->args, (size_t)(c->nargs + 1) * sizeof *na);
    if (na == NULL)
        return err_set(err, "out of memory");
    c->args = na;
    c->args[c->nargs++] = a;
    return 0;
}

int cfg_parse(cfg_t *c, int argc, char **argv, err_t *err)
{
    /* Environment first, so flags override it. */
    for (size_t i = 0; i < c->n; i++) {
        char env[128];
        cfg_env_name(c->entries[i].opt->name, env, sizeof env);
        const char *v = getenv(env);
        if (v != NULL && assign(&c->entries[i], v, "env", env, err) != 0)
            return -1;
    }
    bool only_args = false;
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        if (only_args || a[0] != '-' || a[1] == '\0') {
            if (push_arg(c, a, err) != 0)
                return -1;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_args = true;
            continue;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            cfg_print_help(c, stdout);
            return 1;
        }
        if (strcmp(a, "--help-markdown") == 0) {
            cfg_print_markdown(c, stdout);
            return 1;
        }
        if (a[1] != '-')
            return err_set(err, "unknown option %s (options are long: --name=value; see --help)", a);
        const char *name = a + 2;
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        cfg_entry_t *e = find(c, name, len);
        const char *value = eq ? eq + 1 : NULL;
        bool negated = false;
        if (e == NULL && len > 3 && strncmp(name, "no-", 3) == 0) {
            e = find(c, name + 3, len - 3);
            if (e != NULL && e->opt->type == CFG_BOOL && value == NULL)
                negated = true;
            else
                e = NULL;
        }
        if (e == NULL)
            return err_set(err, "unknown option --%.*s (see --help)", (int)len, name);
        char origin[200];
        snprintf(origin, sizeof origin, "--%s", e->opt->name);
        if (negated)
            value = "false";
        else if (value == NULL && e->opt->type == CFG_BOOL)
            value = "true";
        else if (value == NULL) {
            if (i + 1 >= argc)
                return err_set(err, "--%s needs a value (%s)", e->opt->name, type_name(e->opt->type));
            value = argv[++i];
        }
        if (assign(e, value, "flag", origin, err) != 0)
            return -1;
    }
    return 0;
}

static const cfg_entry_t *must(const cfg_t *c, const char *name)
{
    const cfg_entry_t *e = find(c, name, strlen(name));
    if (e == NULL) {
        fprintf(stderr, "recsys: internal error: option --%s was never declared\n", name);
        abort();
    }
    return e;
}

const char *cfg_str(const cfg_t *c, const char *name) { return must(c, name)->value; }
long long cfg_int(const cfg_t *c, const char *name) { return must(c, name)->ival; }
double cfg_double(const cfg_t *c, const char *name) { return must(c, name)->dval; }
bool cfg_bool(const cfg_t *c, const char *name) { return must(c, name)->bval; }
const char *cfg_source(const cfg_t *c, const char *name) { return must(c, name)->source; }
bool cfg_has(const cfg_t *c, const char *name) { return find(c, name, strlen(name)) != NULL; }
int cfg_nargs(const cfg_t *c) { return c->nargs; }
const char *cfg_arg(const cfg_t *c, int i) { return i >= 0 && i < c->nargs ? c->args[i] : NULL; }

static const char *shown_default(const cfg_option_t *o)
{
    if (o->def == NULL || o->def[0] == '\0')
        return o->type == CFG_BOOL ? "false" : (o->type == CFG_STRING ? "(empty)" : "0");
    return o->def;
}

void cfg_print_help(const cfg_t *c, FILE *out)
{
    fprintf(out, "Usage: %s %s\n", c->program, c->usage);
    if (c->summary[0])
        fprintf(out, "\n%s\n", c->summary);
    fprintf(out, "\nEvery option is a flag --name=VALUE and an environment variable RECSYS_NAME;\n"
                 "a flag wins over the variable, which wins over the default.\n");
    const char *section = NULL;
    for (size_t i = 0; i < c->n; i++) {
        const cfg_entry_t *e = &c->entries[i];
        if (section == NULL || strcmp(section, e->section) != 0) {
            section = e->section;
            fprintf(out, "\n%s options:\n", section);
        }
        char env[128];
        cfg_env_name(e->opt->name, env, sizeof env);
        fprintf(out, "  --%s=%s  (%s, default: %s", e->opt->name, type_name(e->opt->type), env,
                shown_default(e->opt));
        if (e->opt->min < e->opt->max)
            fprintf(out, ", range: %.15g..%.15g", e->opt->min, e->opt->max);
        fprintf(out, ")\n      %s\n", e->opt->help ? e->opt->help : "");
    }
    fprintf(out, "\n  -h, --help  print this help and exit\n"
                 "  --help-markdown  print the options as a Markdown table and exit\n");
}

void cfg_print_markdown(const cfg_t *c, FILE *out)
{
    fprintf(out, "| flag | environment | type | default | description |\n"
                 "| --- | --- | --- | --- | --- |\n");
    for (size_t i = 0; i < c->n; i++) {
        const cfg_option_t *o = c->entries[i].opt;
        char env[128];
        cfg_env_name(o->name, env, sizeof env);
        fprintf(out, "| `--%s` | `%s` | %s | `%s` | %s |\n", o->name, env, type_name(o->type),
                shown_default(o), o->help ? o->help : "");
    }
}
