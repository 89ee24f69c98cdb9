/*
 * metrics.h: counters, gauges and histograms with labels, exposed in the
 * Prometheus text format 0.0.4.
 *
 * A registry holds families (one metric name, its help, type and label
 * names); a family holds series (one set of label values). Callers obtain a
 * series handle once (metrics_counter_get and friends take the registry lock)
 * and then update it with relaxed atomics only, from any thread: that is the
 * hot path. Handles stay valid until the registry is freed. Update functions
 * accept a NULL handle and do nothing, so instrumentation can be optional.
 *
 *   metrics_family_t *f = metrics_counter_family(reg, "recsys_http_requests_total",
 *       "HTTP requests answered.", (const char *[]){"route", "code", NULL}, &err);
 *   metrics_counter_t *ok = metrics_counter_get(f, (const char *[]){"/v1/items", "200"});
 *   metrics_counter_inc(ok);
 *
 * Registering a family again with the same type, label names (and buckets)
 * returns the existing family, so two servers in one process can share it.
 * Names are validated: metrics [a-zA-Z_:][a-zA-Z0-9_:]*, labels
 * [a-zA-Z_][a-zA-Z0-9_]* not starting with "__" ("le" is reserved for
 * histograms). Exposition sorts families by name and series by label values,
 * so the output is deterministic.
 */
#ifndef RECSYS_COMMON_METRICS_H
#define RECSYS_COMMON_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/base/err.h"

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define METRICS_MAX_LABELS 8
#define METRICS_MAX_BUCKETS 64

typedef enum { METRICS_COUNTER = 1, METRICS_GAUGE, METRICS_HISTOGRAM } metrics_type_t;

typedef struct metrics_registry metrics_registry_t;
typedef struct metrics_family metrics_family_t;
typedef struct metrics_counter metrics_counter_t;
typedef struct metrics_gauge metrics_gauge_t;
typedef struct metrics_histogram metrics_histogram_t;

/* Default request-latency buckets in seconds: 0.5 ms .. 10 s (the services
 * answer in about a millisecond, so the low end is finer than Prometheus'). */
#define METRICS_LATENCY_NBUCKETS 14
extern const double metrics_latency_buckets[METRICS_LATENCY_NBUCKETS];

metrics_registry_t *metrics_registry_new(void);
/* Frees every family and series; no handle may be used afterwards. */
void metrics_registry_free(metrics_registry_t *r);

/* label_names is a NULL-terminated array, or NULL for no labels. */
metrics_family_t *metrics_counter_family(metrics_registry_t *r, const char *name, const char *help,
                                         const char *const *label_names, err_t *err);
metrics_family_t *metrics_gauge_family(metrics_registry_t *r, const char *name, const char *help,
                                       const char *const *label_names, err_t *err);
/* buckets: strictly increasing finite upper bounds (a trailing +Inf is
 * implied and may be omitted); NULL means metrics_latency_buckets. */
metrics_family_t *metrics_histogram_family(metrics_registry_t *r, const char *name, const char *help,
                                           const char *const *label_names, const double *buckets,
                                           size_t nbuckets, err_t *err);

/* The series for these label values (one per label name, in order; NULL when
 * the family has no labels), created on first use. NULL if f is NULL, of
 * another type, or memory ran out. Takes the registry lock: call once, keep
 * the handle. */
metrics_counter_t *metrics_counter_get(metrics_family_t *f, const char *const *label_values);
metrics_gauge_t *metrics_gauge_get(metrics_family_t *f, const char *const *label_values);
metrics_histogram_t *metrics_histogram_get(metrics_family_t *f, const char *const *label_values);

/* Shortcuts for metrics without labels: family and its one series. */
metrics_counter_t *metrics_counter_new(metrics_registry_t *r, const char *name, const char *help,
                                       err_t *err);
metrics_gauge_t *metrics_gauge_new(metrics_registry_t *r, const char *name, const char *help, err_t *err);
metrics_histogram_t *metrics_histogram_new(metrics_registry_t *r, const char *name, const char *help,
                                           const double *buckets, size_t nbuckets, err_t *err);

/* A counter or gauge series whose value is fn(ud), evaluated at each scrape
 * on the scraping thread, under the registry lock (fn must not call into the
 * registry). Returns -1 if the series already exists or f has the wrong type. */
int metrics_func(metrics_family_t *f, const char *const *label_values, double (*fn)(void *ud), void *ud,
                 err_t *err);

/* Hot path: lock-free, any thread, NULL handle is a no-op. */
void metrics_counter_add(metrics_counter_t *c, uint64_t n);
void metrics_counter_inc(metrics_counter_t *c);
void metrics_gauge_set(metrics_gauge_t *g, double v);
void metrics_gauge_add(metrics_gauge_t *g, double delta);
void metrics_histogram_observe(metrics_histogram_t *h, double v);

uint64_t metrics_counter_value(const metrics_counter_t *c);
double metrics_gauge_value(const metrics_gauge_t *g);
uint64_t metrics_histogram_count(const metrics_histogram_t *h);
double metrics_histogram_sum(const metrics_histogram_t *h);
/* Observations <= the i-th bound (cumulative); i == nbuckets gives the +Inf bucket. */
uint64_t metrics_histogram_bucket(const metrics_histogram_t *h, size_t i);

/* The whole registry in the text format (malloc'd, NUL-terminated; *len
 * without the NUL when len is not NULL). NULL when memory ran out. */
char *metrics_expose(metrics_registry_t *r, size_t *len);

bool metrics_name_valid(const char *name);
bool metrics_label_name_valid(const char *name);

#endif
