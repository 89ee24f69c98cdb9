/*
 * procmetrics.h: the standard Prometheus process metrics and the build info
 * gauge, registered by every service's admin port (admin.c):
 *
 *   process_cpu_seconds_total      user + system CPU time (getrusage)
 *   process_resident_memory_bytes  resident set size (/proc/self/statm)
 *   process_virtual_memory_bytes   virtual memory size (/proc/self/statm)
 *   process_open_fds               open file descriptors (/proc/self/fd)
 *   process_max_fds                the soft RLIMIT_NOFILE
 *   recsys_build_info{version,commit}  1; version from CMake's project(),
 *                                  commit from git when the build was configured
 *
 * All are read at scrape time (metrics_func), so nothing runs between scrapes.
 */
#ifndef RECSYS_COMMON_PROCMETRICS_H
#define RECSYS_COMMON_PROCMETRICS_H

#include "common/base/err.h"
#include "common/net/metrics.h"

/* Registers them in reg; registering twice is a no-op. */
int procmetrics_register(metrics_registry_t *reg, err_t *err);

/* The build's version and commit ("unknown" when git was not available). */
const char *procmetrics_version(void);
const char *procmetrics_commit(void);

#endif
