/*
 * recsys-gen: the project's own data. Two subcommands:
 *
 *   recsys-gen demo --out DIR   ratings of synthetic users over the demo catalog
 *                               of real films (tools/demo-data/items.csv), in
 *                               the plain layout: DIR/items.csv + DIR/ratings.csv
 *   recsys-gen synth --out DIR --users N --items M --ratings R --layout L
 *                               synthetic MovieLens-format data of any size
 *
 * Both are deterministic: the same options give byte-identical files. The
 * taste model and the streaming design are described in tools/recsys-gen/gen.h and
 * tools/demo-data/README.md. Each command has its own option table, since
 * --items is a file for demo and a count for synth: `recsys-gen --help`
 * lists the commands, `recsys-gen demo --help` the options of one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/base/config.h"
#include "common/base/clock.h"
#include "common/base/err.h"
#include "tools/recsys-gen/gen.h"
#include "common/base/log.h"

static const cfg_option_t demo_options[] = {
    {"out", CFG_STRING, NULL, "Directory to write items.csv and ratings.csv into (created if missing).", 0, 0},
    {"users", CFG_INT, "600", "Number of synthetic users.", 1, 100000000},
    {"seed", CFG_INT, "42", "Random seed; the same seed and options give the same bytes.", 0, 0},
    {"items", CFG_STRING, NULL,
     "Catalog CSV. Empty: tools/demo-data/items.csv found from the binary (<bin>/../../tools/demo-data/, "
     "<bin>/../share/recsys/demo-data/) or from the current directory.", 0, 0},
    {"min-ratings", CFG_INT, "20", "Fewest ratings per user.", 1, 1000000},
    {"mean-ratings", CFG_INT, "60", "Average ratings per user (at most 60% of the catalog).", 1, 1000000},
    CFG_END,
};

static const cfg_option_t synth_options[] = {
    {"out", CFG_STRING, NULL, "Directory to write the data set into (created if missing).", 0, 0},
    {"users", CFG_INT, "610", "Number of users (ids 1..N; every one has ratings).", 1, 4000000000.0},
    {"items", CFG_INT, "9742", "Number of items (ids 1..M).", 1, 1073741824},
    {"ratings", CFG_INT, "100836", "Exact number of ratings (no duplicate user-item pairs).", 1, 1e12},
    {"layout", CFG_STRING, "ml-latest",
     "ml-latest (movies.csv, ratings.csv), ml-100k (u.data, u.item, u.genre, u.info, u.user), "
     "ml-1m (movies.dat, ratings.dat, users.dat) or plain (items.csv, ratings.csv).", 0, 0},
    {"seed", CFG_INT, "42", "Random seed; the same seed and options give the same bytes.", 0, 0},
    {"zipf", CFG_DOUBLE, "1.0", "Exponent of item popularity: weight of the r-th most popular item is r^-zipf.", 0.01, 5},
    {"zipf-head", CFG_DOUBLE, "0.002",
     "Flat head of the popularity curve, as a fraction of items: weight (r + 1 + zipf-head * items)^-zipf.", 0, 1},
    {"min-ratings", CFG_INT, "20", "Fewest ratings per user (lowered if ratings/users is smaller).", 1, 1000000},
    CFG_END,
};

static const char demo_summary[] =
    "Writes the demo data set: a copy of the catalog of real films and ratings from\n"
    "synthetic users with genre, director and era tastes (tools/demo-data/README.md).";
static const char synth_summary[] =
    "Writes synthetic MovieLens-format data of any size, streaming to disk with memory\n"
    "O(items + users + largest user): Zipf item popularity, log-normal ratings per user,\n"
    "the same taste model as the demo data.";

static cfg_t *make_cfg(int synth, err_t *err)
{
    cfg_t *c = cfg_new("recsys-gen", synth ? "synth [options]" : "demo [options]",
                       synth ? synth_summary : demo_summary);
    if (c == NULL) {
        err_set(err, "out of memory");
        return NULL;
    }
    if (cfg_add(c, synth ? "synth" : "demo", synth ? synth_options : demo_options, err) != 0 ||
        cfg_add(c, "log", log_options, err) != 0) {
        cfg_free(c);
        return NULL;
    }
    return c;
}

/* The catalog next to the binary (build tree or install) or under the cwd. */
static int find_catalog(char *buf, size_t size, err_t *err)
{
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    const char *rel[] = {"/../../tools/demo-data/items.csv", "/../tools/demo-data/items.csv",
                         "/../share/recsys/demo-data/items.csv"};
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash != NULL)
            *slash = '\0';
        for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
            snprintf(buf, size, "%s%s", exe, rel[i]);
            if (access(buf, R_OK) == 0)
                return 0;
        }
    }
    snprintf(buf, size, "tools/demo-data/items.csv");
    if (access(buf, R_OK) == 0)
        return 0;
    return err_set(err, "demo catalog not found (looked in %s/../../tools/demo-data/, %s/../share/recsys/demo-data/ "
                        "and ./tools/demo-data/): pass --items=FILE or set RECSYS_ITEMS",
                   n > 0 ? exe : "<bin>", n > 0 ? exe : "<bin>");
}

static int run(int synth, const cfg_t *c, err_t *err)
{
    const char *out = cfg_str(c, "out");
    if (out[0] == '\0')
        return err_set(err, "--out is required (the directory to write)");
    gen_params_t p = {0};
    p.seed = (uint64_t)cfg_int(c, "seed");
    p.users = (uint32_t)cfg_int(c, "users");
    p.min_ratings = (uint32_t)cfg_int(c, "min-ratings");
    gen_stats_t st;
    double t0 = clock_mono_sec();
    if (synth) {
        p.items = (uint32_t)cfg_int(c, "items");
        p.ratings = (uint64_t)cfg_int(c, "ratings");
        p.zipf = cfg_double(c, "zipf");
        p.zipf_head = cfg_double(c, "zipf-head");
        if (gen_layout_parse(cfg_str(c, "layout"), &p.layout, err) != 0)
            return err_prefix(err, "--layout");
        if (gen_synth(out, &p, &st, err) != 0)
            return -1;
    } else {
        char path[4200];
        const char *items = cfg_str(c, "items");
        if (items[0] == '\0') {
            if (find_catalog(path, sizeof path, err) != 0)
                return -1;
            items = path;
        }
        gen_catalog_t cat;
        if (gen_catalog_load(&cat, items, err) != 0)
            return -1;
        p.zipf = 0.8;
        p.ratings = (uint64_t)p.users * (uint64_t)cfg_int(c, "mean-ratings");
        p.max_ratings = (uint32_t)(cat.n * 6 / 10);
        int rc = gen_demo(out, &cat, &p, &st, err);
        gen_catalog_free(&cat);
        if (rc != 0)
            return -1;
    }
    double t1 = clock_mono_sec();
    char users[24], items[24], ratings[24], lo[24], hi[24], mean[24], secs[24];
    snprintf(users, sizeof users, "%u", st.users);
    snprintf(items, sizeof items, "%u", st.items);
    snprintf(ratings, sizeof ratings, "%llu", (unsigned long long)st.ratings);
    snprintf(lo, sizeof lo, "%u", st.min_per_user);
    snprintf(hi, sizeof hi, "%u", st.max_per_user);
    snprintf(mean, sizeof mean, "%.3f", st.mean_rating);
    snprintf(secs, sizeof secs, "%.2f", t1 - t0);
    log_kv(LOG_INFO, "wrote data set", "dir", out, "users", users, "items", items, "ratings", ratings,
           "min_per_user", lo, "max_per_user", hi, "mean_rating", mean, "seconds", secs, NULL);
    return 0;
}

static void usage(FILE *f)
{
    fputs("Usage: recsys-gen COMMAND [options]\n\nCommands:\n"
          "  demo     ratings of synthetic users over the demo catalog of real films (plain layout)\n"
          "  synth    synthetic MovieLens-format data of any size (ml-latest, ml-100k, ml-1m, plain)\n"
          "\nrecsys-gen COMMAND --help lists the command's options and their RECSYS_* variables.\n",
          f);
}

int main(int argc, char **argv)
{
    err_t err;
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(sub, "--help-markdown") == 0) { /* both commands' tables, for the docs */
        for (int s = 0; s < 2; s++) {
            cfg_t *c = make_cfg(s, &err);
            if (c == NULL) {
                fprintf(stderr, "recsys-gen: %s\n", err.msg);
                return 1;
            }
            printf("%s### recsys-gen %s\n\n", s ? "\n" : "", s ? "synth" : "demo");
            cfg_print_markdown(c, stdout);
            cfg_free(c);
        }
        return 0;
    }
    int synth = strcmp(sub, "synth") == 0;
    if (!synth && strcmp(sub, "demo") != 0) {
        fprintf(stderr, "recsys-gen: unknown %s '%s'\n", sub[0] == '-' ? "option" : "command", sub);
        usage(stderr);
        return 2;
    }
    cfg_t *c = make_cfg(synth, &err);
    if (c == NULL) {
        fprintf(stderr, "recsys-gen: %s\n", err.msg);
        return 1;
    }
    int rc = cfg_parse(c, argc - 1, argv + 1, &err);
    if (rc == 1) {
        cfg_free(c);
        return 0;
    }
    if (rc == 0 && cfg_nargs(c) > 0)
        rc = err_set(&err, "unexpected argument '%s' (see recsys-gen %s --help)", cfg_arg(c, 0), sub);
    if (rc == 0)
        rc = log_setup_cfg("recsys-gen", c, &err);
    if (rc == 0)
        rc = run(synth, c, &err);
    cfg_free(c);
    if (rc != 0) {
        fprintf(stderr, "recsys-gen: %s\n", err.msg);
        return 2;
    }
    return 0;
}
