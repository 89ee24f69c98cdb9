/*
 * procmetrics.c: process metrics from getrusage, getrlimit and /proc (see
 * procmetrics.h). Linux only, like the rest of the project's deployment.
 */
#include "common/net/procmetrics.h"

#include <dirent.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <unistd.h>

#ifndef RECSYS_VERSION
#define RECSYS_VERSION "unknown"
#endif
#ifndef RECSYS_COMMIT
#define RECSYS_COMMIT "unknown"
#endif

const char *procmetrics_version(void)
{
    return RECSYS_VERSION;
}

const char *procmetrics_commit(void)
{
    return RECSYS_COMMIT;
}

static double cpu_seconds(void *ud)
{
    (void)ud;
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec / 1e6;
}

/* Field i (0: size, 1: resident) of /proc/self/statm, in bytes. */
static double statm(int i)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL)
        return 0;
    unsigned long v[2] = {0, 0};
    int n = fscanf(f, "%lu %lu", &v[0], &v[1]);
    fclose(f);
    if (n != 2)
        return 0;
    return (double)v[i] * (double)sysconf(_SC_PAGESIZE);
}

static double resident_bytes(void *ud)
{
    (void)ud;
    return statm(1);
}

static double virtual_bytes(void *ud)
{
    (void)ud;
    return statm(0);
}

static double open_fds(void *ud)
{
    (void)ud;
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return 0;
    double n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* the directory's own descriptor */
}

static double max_fds(void *ud)
{
    (void)ud;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
        return 0;
    return (double)rl.rlim_cur;
}

static double one(void *ud)
{
    (void)ud;
    return 1;
}

int procmetrics_register(metrics_registry_t *reg, err_t *err)
{
    static const struct {
        const char *name, *help;
        bool counter;
        double (*fn)(void *);
    } table[] = {
        {"process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", true, cpu_seconds},
        {"process_resident_memory_bytes", "Resident memory size in bytes.", false, resident_bytes},
        {"process_virtual_memory_bytes", "Virtual memory size in bytes.", false, virtual_bytes},
        {"process_open_fds", "Number of open file descriptors.", false, open_fds},
        {"process_max_fds", "Maximum number of open file descriptors.", false, max_fds},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        metrics_family_t *f = table[i].counter ? metrics_counter_family(reg, table[i].name, table[i].help, NULL, err)
                                               : metrics_gauge_family(reg, table[i].name, table[i].help, NULL, err);
        if (f == NULL)
            return -1;
        metrics_func(f, NULL, table[i].fn, NULL, err); /* -1: registered before */
    }
    const char *labels[] = {"version", "commit", NULL};
    metrics_family_t *bi = metrics_gauge_family(reg, "recsys_build_info",
                                                "1, labelled with the build's version and git commit.", labels, err);
    if (bi == NULL)
        return -1;
    const char *values[] = {RECSYS_VERSION, RECSYS_COMMIT};
    metrics_func(bi, values, one, NULL, err);
    return 0;
}
