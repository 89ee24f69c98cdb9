/*
 * recsys-data: inspect a dataset the way the services will load it.
 *
 *   recsys-data info  --data DIR            layout, counts, ranges, load time
 *   recsys-data items --data DIR [--limit N] items as TSV
 *
 * It goes through dataset_load() exactly as the workers do, so a file that
 * this tool rejects is one the services reject, with the same file:line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/config.h"
#include "common/dataset.h"
#include "common/log.h"

static const cfg_option_t tool_options[] = {
    {"limit", CFG_INT, "0", "items: print at most this many items (0: all).", 0, 1e12},
    {"search", CFG_STRING, NULL, "items: only items whose title contains this (case-insensitive).",
     0, 0},
    CFG_END,
};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Text for one TSV cell: tabs and line ends become spaces. */
static void put_cell(const char *s)
{
    for (; *s; s++)
        putchar(*s == '\t' || *s == '\n' || *s == '\r' ? ' ' : *s);
}

static void put_list(const catalog_t *c, uint32_t i, catalog_list_t l)
{
    for (uint32_t k = 0; k < catalog_list_len(c, i, l); k++) {
        if (k)
            putchar('|');
        put_cell(catalog_list_at(c, i, l, k));
    }
}

static void print_item(const catalog_t *c, uint32_t i)
{
    printf("%u\t", i);
    put_cell(catalog_id(c, i));
    putchar('\t');
    put_cell(catalog_title(c, i));
    printf("\t%d\t", catalog_year(c, i));
    for (uint32_t k = 0; k < catalog_item_ngenres(c, i); k++) {
        if (k)
            putchar('|');
        put_cell(catalog_genre_name(c, catalog_item_genre(c, i, k)));
    }
    printf("\t%u\t%.3f\t", catalog_rating_count(c, i), (double)catalog_rating_mean(c, i));
    put_list(c, i, CATALOG_DIRECTORS);
    putchar('\t');
    put_list(c, i, CATALOG_CAST);
    putchar('\t');
    put_list(c, i, CATALOG_KEYWORDS);
    putchar('\t');
    for (uint32_t k = 0; k < catalog_ntags(c, i); k++) {
        uint32_t n;
        const char *t = catalog_tag(c, i, k, &n);
        if (k)
            putchar('|');
        put_cell(t);
        if (n > 1)
            printf("(%u)", n);
    }
    putchar('\n');
}

static int cmd_items(const dataset_t *ds, long long limit, const char *search)
{
    const catalog_t *c = ds->catalog;
    printf("index\tid\ttitle\tyear\tgenres\tratings\tmean_rating\tdirectors\tcast\tkeywords\ttags\n");
    uint32_t n = catalog_size(c);
    uint32_t *hits = NULL;
    size_t nh = n;
    if (search && search[0]) {
        hits = malloc((n ? n : 1) * sizeof *hits);
        if (hits == NULL)
            return 1;
        nh = catalog_search(c, search, CATALOG_MATCH_SUBSTRING, hits, n);
    }
    for (size_t k = 0; k < nh && (limit <= 0 || (long long)k < limit); k++)
        print_item(c, hits ? hits[k] : (uint32_t)k);
    free(hits);
    return 0;
}

static void cmd_info(const dataset_t *ds, double ms)
{
    const catalog_t *c = ds->catalog;
    uint32_t n = catalog_size(c), with_year = 0, no_genre = 0, with_overview = 0;
    uint64_t lists[CATALOG_NLISTS] = {0};
    for (uint32_t i = 0; i < n; i++) {
        with_year += catalog_year(c, i) != 0;
        no_genre += catalog_item_ngenres(c, i) == 0;
        with_overview += catalog_overview(c, i)[0] != '\0';
        for (int l = 0; l < CATALOG_NLISTS; l++)
            lists[l] += catalog_list_len(c, i, (catalog_list_t)l);
    }
    printf("path\t%s\n", ds->path);
    printf("layout\t%s\n", dataset_layout_name(ds->layout));
    printf("items\t%u\t(from %s%s)\n", n, ds->items_name,
           ds->converted_latin1 ? ", converted from Latin-1" : "");
    printf("items_with_year\t%u\n", with_year);
    printf("items_with_overview\t%u\n", with_overview);
    printf("items_without_genres\t%u\n", no_genre);
    printf("genres\t%u\t", catalog_ngenres(c));
    for (uint32_t g = 0; g < catalog_ngenres(c); g++)
        printf("%s%s", g ? "|" : "", catalog_genre_name(c, g));
    printf("\n");
    for (int l = 0; l < CATALOG_NLISTS; l++)
        printf("%s_entries\t%llu\n", catalog_list_name((catalog_list_t)l),
               (unsigned long long)lists[l]);
    printf("credits\t%s\n", ds->has_credits ? "yes" : "no");
    printf("tag_rows\t%llu\n", (unsigned long long)ds->tag_rows);
    printf("links\t%llu\t(%llu without tmdbId)\n", (unsigned long long)ds->link_rows,
           (unsigned long long)ds->links_without_tmdb);
    if (ds->ratings) {
        const ratings_t *r = ds->ratings;
        printf("ratings\t%zu\t(from %s)\n", r->n, ds->ratings_name);
        printf("users\t%u\n", ratings_count_users(r));
        printf("rated_items\t%u\n", ratings_count_items(r));
        printf("rating_range\t%g\t%g\n", (double)r->min, (double)r->max);
        if (r->has_ts && r->n) {
            int64_t lo = ratings_ts(r, 0), hi = lo;
            for (size_t i = 1; i < r->n; i++) {
                int64_t t = ratings_ts(r, i);
                lo = t < lo ? t : lo;
                hi = t > hi ? t : hi;
            }
            printf("timestamp_range\t%lld\t%lld\n", (long long)lo, (long long)hi);
        }
        printf("ratings_bytes\t%zu\n", ratings_memory(r));
    } else {
        printf("ratings\t0\t(%s)\n", ds->ratings_note);
    }
    printf("catalog_bytes\t%zu\n", catalog_memory(c));
    printf("load_ms\t%.1f\n", ms);
}

int main(int argc, char **argv)
{
    err_t err;
    cfg_t *cfg = cfg_new("recsys-data", "info|items --data DIR [options]",
                         "Loads a dataset as the services do and prints what it holds: `info` "
                         "gives the layout and counts, `items` prints the catalog as TSV.");
    if (cfg == NULL || cfg_add(cfg, "data", dataset_options, &err) != 0 ||
        cfg_add(cfg, "recsys-data", tool_options, &err) != 0 ||
        cfg_add(cfg, "log", log_options, &err) != 0) {
        fprintf(stderr, "recsys-data: %s\n", cfg ? err.msg : "out of memory");
        cfg_free(cfg);
        return 2;
    }
    int rc = cfg_parse(cfg, argc, argv, &err);
    if (rc != 0) {
        if (rc < 0)
            fprintf(stderr, "recsys-data: %s\n", err.msg);
        cfg_free(cfg);
        return rc < 0 ? 2 : 0;
    }
    if (log_setup_cfg("recsys-data", cfg, &err) != 0) {
        fprintf(stderr, "recsys-data: %s\n", err.msg);
        cfg_free(cfg);
        return 2;
    }
    const char *cmd = cfg_nargs(cfg) > 0 ? cfg_arg(cfg, 0) : "";
    const char *path = cfg_str(cfg, "data");
    if ((strcmp(cmd, "info") != 0 && strcmp(cmd, "items") != 0) || cfg_nargs(cfg) != 1) {
        fprintf(stderr, "recsys-data: expected one command, info or items (see --help)\n");
        cfg_free(cfg);
        return 2;
    }
    if (path == NULL || path[0] == '\0') {
        fprintf(stderr, "recsys-data: --data DIR (or RECSYS_DATA) is required\n");
        cfg_free(cfg);
        return 2;
    }
    dataset_opts_t opts;
    dataset_opts_from_cfg(cfg, &opts);
    if (strcmp(cmd, "info") == 0 && strcmp(cfg_source(cfg, "allow-missing-ratings"), "default") == 0)
        opts.allow_missing_ratings = true; /* info reports a missing file instead of failing */
    double t0 = now_ms();
    dataset_t *ds;
    if (dataset_load(path, &ds, &opts, &err) != 0) {
        fprintf(stderr, "recsys-data: %s: %s\n", path, err.msg);
        cfg_free(cfg);
        return 1;
    }
    double ms = now_ms() - t0;
    if (strcmp(cmd, "info") == 0)
        cmd_info(ds, ms);
    else
        rc = cmd_items(ds, cfg_int(cfg, "limit"), cfg_str(cfg, "search"));
    dataset_free(ds);
    cfg_free(cfg);
    return rc;
}
