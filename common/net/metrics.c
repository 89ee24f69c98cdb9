/*
 * metrics.c: the registry, atomic series and the text exposition (metrics.h).
 *
 * One mutex guards the structure (families, their series arrays) and is
 * taken only to register, to look a series up and to scrape. Values are
 * C11 atomics updated with relaxed ordering: a counter is a uint64, a gauge
 * and a histogram's sum are doubles kept as their bit patterns and updated
 * with a compare-and-swap loop. Histogram buckets are counted per bucket
 * (not cumulatively) so an observation is one increment; the scrape adds
 * them up and reports _count as the sum of the buckets it read, so the +Inf
 * bucket always equals _count in one exposition even under concurrent
 * updates (_sum may lag by the observations in flight).
 */
#include "common/net/metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const double metrics_latency_buckets[METRICS_LATENCY_NBUCKETS] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

/* Common head of every series: its label values and an optional callback. */
typedef struct series {
    char **values;
    double (*fn)(void *ud);
    void *ud;
} series_t;

struct metrics_counter {
    series_t s;
    atomic_uint_least64_t v;
};

struct metrics_gauge {
    series_t s;
    atomic_uint_least64_t bits; /* a double's bit pattern */
};

struct metrics_histogram {
    series_t s;
    size_t nbuckets;
    const double *bounds; /* the family's */
    atomic_uint_least64_t sum_bits;
    atomic_uint_least64_t counts[]; /* nbuckets + 1 (the last is +Inf) */
};

struct metrics_family {
    metrics_registry_t *reg;
    metrics_type_t type;
    char *name;
    char *help;
    size_t nlabels;
    char *labels[METRICS_MAX_LABELS];
    double *bounds;
    size_t nbuckets;
    series_t **series;
    size_t nseries, capseries;
};

struct metrics_registry {
    pthread_mutex_t mu;
    metrics_family_t **fams;
    size_t nfams, capfams;
};

static uint64_t dbits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static double bitsd(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static void atomic_add_double(atomic_uint_least64_t *a, double delta)
{
    uint64_t old = atomic_load_explicit(a, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(a, &old, dbits(bitsd(old) + delta), memory_order_relaxed,
                                                  memory_order_relaxed)) {
    }
}

bool metrics_name_valid(const char *name)
{
    if (name == NULL || name[0] == '\0' || (name[0] >= '0' && name[0] <= '9'))
        return false;
    for (const char *p = name; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == ':'))
            return false;
    }
    return true;
}

bool metrics_label_name_valid(const char *name)
{
    if (!metrics_name_valid(name) || strchr(name, ':') != NULL)
        return false;
    return strncmp(name, "__", 2) != 0;
}

metrics_registry_t *metrics_registry_new(void)
{
    metrics_registry_t *r = calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    pthread_mutex_init(&r->mu, NULL);
    return r;
}

static void series_free(series_t *s, size_t nlabels)
{
    for (size_t i = 0; i < nlabels; i++)
        free(s->values[i]);
    free(s->values);
    free(s);
}

static void family_free(metrics_family_t *f)
{
    for (size_t i = 0; i < f->nseries; i++)
        series_free(f->series[i], f->nlabels);
    free(f->series);
    for (size_t i = 0; i < f->nlabels; i++)
        free(f->labels[i]);
    free(f->bounds);
    free(f->name);
    free(f->help);
    free(f);
}

void metrics_registry_free(metrics_registry_t *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->nfams; i++)
        family_free(r->fams[i]);
    free(r->fams);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

static const char *type_name(metrics_type_t t)
{
    return t == METRICS_COUNTER ? "counter" : t == METRICS_GAUGE ? "gauge" : "histogram";
}

/* True when a histogram called hist would expose a sample named name. */
static bool histogram_shadows(const char *hist, const char *name)
{
    size_t n = strlen(hist);
    if (strncmp(hist, name, n) != 0)
        return false;
    const char *suffix = name + n;
    return strcmp(suffix, "_bucket") == 0 || strcmp(suffix, "_sum") == 0 || strcmp(suffix, "_count") == 0;
}

static bool same_family(const metrics_family_t *f, metrics_type_t type, size_t nlabels,
                        const char *const *labels, const double *bounds, size_t nbuckets)
{
    if (f->type != type || f->nlabels != nlabels || f->nbuckets != nbuckets)
        return false;
    for (size_t i = 0; i < nlabels; i++)
        if (strcmp(f->labels[i], labels[i]) != 0)
            return false;
    for (size_t i = 0; i < nbuckets; i++)
        if (f->bounds[i] != bounds[i])
            return false;
    return true;
}

static char *dupstr(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d != NULL)
        memcpy(d, s, n);
    return d;
}

static metrics_family_t *family_add(metrics_registry_t *r, metrics_type_t type, const char *name,
                                    const char *help, const char *const *label_names, const double *buckets,
                                    size_t nbuckets, err_t *err)
{
    if (r == NULL) {
        err_set(err, "metrics: no registry");
        return NULL;
    }
    if (!metrics_name_valid(name)) {
        err_set(err, "metrics: invalid metric name '%s'", name ? name : "(null)");
        return NULL;
    }
    size_t nlabels = 0;
    if (label_names != NULL) {
        while (label_names[nlabels] != NULL) {
            const char *l = label_names[nlabels];
            if (nlabels == METRICS_MAX_LABELS) {
                err_set(err, "metrics: %s: more than %d labels", name, METRICS_MAX_LABELS);
                return NULL;
            }
            if (!metrics_label_name_valid(l) || (type == METRICS_HISTOGRAM && strcmp(l, "le") == 0)) {
                err_set(err, "metrics: %s: invalid label name '%s'", name, l);
                return NULL;
            }
            for (size_t j = 0; j < nlabels; j++)
                if (strcmp(label_names[j], l) == 0) {
                    err_set(err, "metrics: %s: label '%s' given twice", name, l);
                    return NULL;
                }
            nlabels++;
        }
    }
    if (type == METRICS_HISTOGRAM) {
        if (buckets == NULL) {
            buckets = metrics_latency_buckets;
            nbuckets = METRICS_LATENCY_NBUCKETS;
        }
        if (nbuckets > 0 && isinf(buckets[nbuckets - 1]) && buckets[nbuckets - 1] > 0)
            nbuckets--; /* +Inf is implied */
        if (nbuckets > METRICS_MAX_BUCKETS) {
            err_set(err, "metrics: %s: more than %d buckets", name, METRICS_MAX_BUCKETS);
            return NULL;
        }
        for (size_t i = 0; i < nbuckets; i++) {
            if (!isfinite(buckets[i]) || (i > 0 && !(buckets[i] > buckets[i - 1]))) {
                err_set(err, "metrics: %s: buckets must be finite and strictly increasing (bucket %zu)", name,
                        i);
                return NULL;
            }
        }
    } else {
        nbuckets = 0;
    }

    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < r->nfams; i++) {
        metrics_family_t *f = r->fams[i];
        if (strcmp(f->name, name) == 0) {
            bool same = same_family(f, type, nlabels, label_names, buckets, nbuckets);
            pthread_mutex_unlock(&r->mu);
            if (same)
                return f;
            err_set(err, "metrics: %s already registered as a %s with other labels or buckets", name,
                    type_name(f->type));
            return NULL;
        }
        if ((f->type == METRICS_HISTOGRAM && histogram_shadows(f->name, name)) ||
            (type == METRICS_HISTOGRAM && histogram_shadows(name, f->name))) {
            pthread_mutex_unlock(&r->mu);
            err_set(err, "metrics: %s clashes with the samples of %s", name, f->name);
            return NULL;
        }
    }
    metrics_family_t *f = calloc(1, sizeof *f);
    bool ok = f != NULL;
    if (ok) {
        f->reg = r;
        f->type = type;
        f->name = dupstr(name);
        f->help = dupstr(help ? help : "");
        ok = f->name != NULL && f->help != NULL;
        for (size_t i = 0; ok && i < nlabels; i++) {
            f->labels[i] = dupstr(label_names[i]);
            ok = f->labels[i] != NULL;
            f->nlabels = i + 1;
        }
        if (ok && nbuckets > 0) {
            f->bounds = malloc(nbuckets * sizeof *f->bounds);
            ok = f->bounds != NULL;
            if (ok)
                memcpy(f->bounds, buckets, nbuckets * sizeof *f->bounds);
        }
        f->nbuckets = nbuckets;
    }
    if (ok && r->nfams == r->capfams) {
        size_t cap = r->capfams ? 2 * r->capfams : 16;
        metrics_family_t **nf = realloc(r->fams, cap * sizeof *nf);
        ok = nf != NULL;
        if (ok) {
            r->fams = nf;
            r->capfams = cap;
        }
    }
    if (!ok) {
        pthread_mutex_unlock(&r->mu);
        if (f != NULL)
            family_free(f);
        err_set(err, "metrics: %s: out of memory", name);
        return NULL;
    }
    r->fams[r->nfams++] = f;
    pthread_mutex_unlock(&r->mu);
    return f;
}

metrics_family_t *metrics_counter_family(metrics_registry_t *r, const char *name, const char *help,
                                         const char *const *label_names, err_t *err)
{
    return family_add(r, METRICS_COUNTER, name, help, label_names, NULL, 0, err);
}

metrics_family_t *metrics_gauge_family(metrics_registry_t *r, const char *name, const char *help,
                                       const char *const *label_names, err_t *err)
{
    return family_add(r, METRICS_GAUGE, name, help, label_names, NULL, 0, err);
}

metrics_family_t *metrics_histogram_family(metrics_registry_t *r, const char *name, const char *help,
                                           const char *const *label_names, const double *buckets,
                                           size_t nbuckets, err_t *err)
{
    return family_add(r, METRICS_HISTOGRAM, name, help, label_names, buckets, nbuckets, err);
}

/* Finds the series with these values; the registry lock is held. */
static series_t *series_find(metrics_family_t *f, const char *const *values)
{
    for (size_t i = 0; i < f->nseries; i++) {
        series_t *s = f->series[i];
        size_t j = 0;
        while (j < f->nlabels && strcmp(s->values[j], values[j]) == 0)
            j++;
        if (j == f->nlabels)
            return s;
    }
    return NULL;
}

static series_t *series_alloc(metrics_family_t *f)
{
    size_t size;
    switch (f->type) {
    case METRICS_COUNTER:
        size = sizeof(metrics_counter_t);
        break;
    case METRICS_GAUGE:
        size = sizeof(metrics_gauge_t);
        break;
    default:
        size = sizeof(metrics_histogram_t) + (f->nbuckets + 1) * sizeof(atomic_uint_least64_t);
        break;
    }
    series_t *s = calloc(1, size);
    if (s == NULL)
        return NULL;
    /* calloc'd zero bits are a valid 0 for the atomics and 0.0 for the doubles. */
    if (f->type == METRICS_HISTOGRAM) {
        metrics_histogram_t *h = (metrics_histogram_t *)s;
        h->nbuckets = f->nbuckets;
        h->bounds = f->bounds;
    }
    return s;
}

/* Creates the series (the lock is held); NULL on out of memory. */
static series_t *series_create(metrics_family_t *f, const char *const *values)
{
    if (f->nseries == f->capseries) {
        size_t cap = f->capseries ? 2 * f->capseries : 8;
        series_t **ns = realloc(f->series, cap * sizeof *ns);
        if (ns == NULL)
            return NULL;
        f->series = ns;
        f->capseries = cap;
    }
    series_t *s = series_alloc(f);
    if (s == NULL)
        return NULL;
    s->values = calloc(f->nlabels ? f->nlabels : 1, sizeof *s->values);
    bool ok = s->values != NULL;
    for (size_t i = 0; ok && i < f->nlabels; i++) {
        s->values[i] = dupstr(values[i] ? values[i] : "");
        ok = s->values[i] != NULL;
    }
    if (!ok) {
        series_free(s, s->values ? f->nlabels : 0);
        return NULL;
    }
    f->series[f->nseries++] = s;
    return s;
}

static series_t *series_get(metrics_family_t *f, metrics_type_t type, const char *const *values)
{
    if (f == NULL || f->type != type || (f->nlabels > 0 && values == NULL))
        return NULL;
    pthread_mutex_lock(&f->reg->mu);
    series_t *s = series_find(f, values);
    if (s == NULL)
        s = series_create(f, values);
    pthread_mutex_unlock(&f->reg->mu);
    return s;
}

metrics_counter_t *metrics_counter_get(metrics_family_t *f, const char *const *label_values)
{
    return (metrics_counter_t *)series_get(f, METRICS_COUNTER, label_values);
}

metrics_gauge_t *metrics_gauge_get(metrics_family_t *f, const char *const *label_values)
{
    return (metrics_gauge_t *)series_get(f, METRICS_GAUGE, label_values);
}

metrics_histogram_t *metrics_histogram_get(metrics_family_t *f, const char *const *label_values)
{
    return (metrics_histogram_t *)series_get(f, METRICS_HISTOGRAM, label_values);
}

metrics_counter_t *metrics_counter_new(metrics_registry_t *r, const char *name, const char *help, err_t *err)
{
    metrics_family_t *f = metrics_counter_family(r, name, help, NULL, err);
    metrics_counter_t *c = metrics_counter_get(f, NULL);
    if (f != NULL && c == NULL)
        err_set(err, "metrics: %s: out of memory", name);
    return c;
}

metrics_gauge_t *metrics_gauge_new(metrics_registry_t *r, const char *name, const char *help, err_t *err)
{
    metrics_family_t *f = metrics_gauge_family(r, name, help, NULL, err);
    metrics_gauge_t *g = metrics_gauge_get(f, NULL);
    if (f != NULL && g == NULL)
        err_set(err, "metrics: %s: out of memory", name);
    return g;
}

metrics_histogram_t *metrics_histogram_new(metrics_registry_t *r, const char *name, const char *help,
                                           const double *buckets, size_t nbuckets, err_t *err)
{
    metrics_family_t *f = metrics_histogram_family(r, name, help, NULL, buckets, nbuckets, err);
    metrics_histogram_t *h = metrics_histogram_get(f, NULL);
    if (f != NULL && h == NULL)
        err_set(err, "metrics: %s: out of memory", name);
    return h;
}

int metrics_func(metrics_family_t *f, const char *const *label_values, double (*fn)(void *ud), void *ud,
                 err_t *err)
{
    if (f == NULL || fn == NULL || f->type == METRICS_HISTOGRAM || (f->nlabels > 0 && label_values == NULL))
        return err_set(err, "metrics: a function series needs a counter or gauge family and label values");
    pthread_mutex_lock(&f->reg->mu);
    int rc = 0;
    if (series_find(f, label_values) != NULL) {
        rc = err_set(err, "metrics: %s: series already exists", f->name);
    } else {
        series_t *s = series_create(f, label_values);
        if (s == NULL) {
            rc = err_set(err, "metrics: %s: out of memory", f->name);
        } else {
            s->fn = fn;
            s->ud = ud;
        }
    }
    pthread_mutex_unlock(&f->reg->mu);
    return rc;
}

void metrics_counter_add(metrics_counter_t *c, uint64_t n)
{
    if (c != NULL)
        atomic_fetch_add_explicit(&c->v, n, memory_order_relaxed);
}

void metrics_counter_inc(metrics_counter_t *c)
{
    metrics_counter_add(c, 1);
}

void metrics_gauge_set(metrics_gauge_t *g, double v)
{
    if (g != NULL)
        atomic_store_explicit(&g->bits, dbits(v), memory_order_relaxed);
}

void metrics_gauge_add(metrics_gauge_t *g, double delta)
{
    if (g != NULL)
        atomic_add_double(&g->bits, delta);
}

void metrics_histogram_observe(metrics_histogram_t *h, double v)
{
    if (h == NULL)
        return;
    /* First bound >= v (binary search); NaN falls through to +Inf. */
    size_t lo = 0, hi = h->nbuckets;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v <= h->bounds[mid])
            hi = mid;
        else
            lo = mid + 1;
    }
    if (isnan(v))
        lo = h->nbuckets;
    atomic_fetch_add_explicit(&h->counts[lo], 1, memory_order_relaxed);
    atomic_add_double(&h->sum_bits, v);
}

uint64_t metrics_counter_value(const metrics_counter_t *c)
{
    if (c == NULL)
        return 0;
    if (c->s.fn != NULL)
        return (uint64_t)c->s.fn(c->s.ud);
    return atomic_load_explicit(&((metrics_counter_t *)c)->v, memory_order_relaxed);
}

double metrics_gauge_value(const metrics_gauge_t *g)
{
    if (g == NULL)
        return 0;
    if (g->s.fn != NULL)
        return g->s.fn(g->s.ud);
    return bitsd(atomic_load_explicit(&((metrics_gauge_t *)g)->bits, memory_order_relaxed));
}

uint64_t metrics_histogram_bucket(const metrics_histogram_t *h, size_t i)
{
    if (h == NULL)
        return 0;
    if (i > h->nbuckets)
        i = h->nbuckets;
    uint64_t n = 0;
    for (size_t j = 0; j <= i; j++)
        n += atomic_load_explicit(&((metrics_histogram_t *)h)->counts[j], memory_order_relaxed);
    return n;
}

uint64_t metrics_histogram_count(const metrics_histogram_t *h)
{
    return h == NULL ? 0 : metrics_histogram_bucket(h, h->nbuckets);
}

double metrics_histogram_sum(const metrics_histogram_t *h)
{
    if (h == NULL)
        return 0;
    return bitsd(atomic_load_explicit(&((metrics_histogram_t *)h)->sum_bits, memory_order_relaxed));
}

/* ---- exposition */

/* Shortest text that reads back as v: NaN, +Inf, -Inf, plain decimals for
 * exponents in [-4, 21) and C's %e otherwise, all parseable by Prometheus. */
static void format_double(double v, char *buf, size_t size)
{
    if (isnan(v)) {
        snprintf(buf, size, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(buf, size, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    if (v == 0) {
        snprintf(buf, size, "0");
        return;
    }
    char e[40];
    int p = 1;
    for (; p <= 17; p++) {
        snprintf(e, sizeof e, "%.*e", p - 1, v);
        if (strtod(e, NULL) == v)
            break;
    }
    if (p > 17)
        p = 17;
    const char *ep = strchr(e, 'e');
    int exp10 = ep ? atoi(ep + 1) : 0;
    if (exp10 >= -4 && exp10 < 21) {
        int decimals = p - 1 - exp10;
        snprintf(buf, size, "%.*f", decimals > 0 ? decimals : 0, v);
    } else {
        snprintf(buf, size, "%s", e);
    }
}

static void put_escaped(FILE *out, const char *s, bool quote)
{
    for (; *s; s++) {
        if (*s == '\\')
            fputs("\\\\", out);
        else if (*s == '\n')
            fputs("\\n", out);
        else if (quote && *s == '"')
            fputs("\\\"", out);
        else
            fputc(*s, out);
    }
}

/* name{l1="v1",...,extra} value */
static void put_sample(FILE *out, const metrics_family_t *f, const char *suffix, const series_t *s,
                       const char *le, const char *value)
{
    fputs(f->name, out);
    fputs(suffix, out);
    if (f->nlabels > 0 || le != NULL) {
        fputc('{', out);
        for (size_t i = 0; i < f->nlabels; i++) {
            if (i > 0)
                fputc(',', out);
            fprintf(out, "%s=\"", f->labels[i]);
            put_escaped(out, s->values[i], true);
            fputc('"', out);
        }
        if (le != NULL)
            fprintf(out, "%sle=\"%s\"", f->nlabels > 0 ? "," : "", le);
        fputc('}', out);
    }
    fputc(' ', out);
    fputs(value, out);
    fputc('\n', out);
}

static void put_series(FILE *out, const metrics_family_t *f, const series_t *s)
{
    char num[64];
    if (f->type == METRICS_COUNTER) {
        if (s->fn != NULL)
            format_double(s->fn(s->ud), num, sizeof num);
        else
            snprintf(num, sizeof num, "%llu", (unsigned long long)metrics_counter_value((const void *)s));
        put_sample(out, f, "", s, NULL, num);
    } else if (f->type == METRICS_GAUGE) {
        format_double(metrics_gauge_value((const void *)s), num, sizeof num);
        put_sample(out, f, "", s, NULL, num);
    } else {
        metrics_histogram_t *h = (metrics_histogram_t *)s;
        uint64_t cum = 0;
        char le[64];
        for (size_t i = 0; i <= h->nbuckets; i++) {
            cum += atomic_load_explicit(&h->counts[i], memory_order_relaxed);
            if (i < h->nbuckets)
                format_double(h->bounds[i], le, sizeof le);
            else
                snprintf(le, sizeof le, "+Inf");
            snprintf(num, sizeof num, "%llu", (unsigned long long)cum);
            put_sample(out, f, "_bucket", s, le, num);
        }
        format_double(metrics_histogram_sum(h), num, sizeof num);
        put_sample(out, f, "_sum", s, NULL, num);
        snprintf(num, sizeof num, "%llu", (unsigned long long)cum);
        put_sample(out, f, "_count", s, NULL, num);
    }
}

static int cmp_family(const void *a, const void *b)
{
    const metrics_family_t *fa = *(metrics_family_t *const *)a, *fb = *(metrics_family_t *const *)b;
    return strcmp(fa->name, fb->name);
}

/* qsort has no context argument; the label count rides in the series order
 * comparison through the values arrays, which all have nlabels entries. */
typedef struct {
    const series_t *s;
    size_t nlabels;
} series_ref_t;

static int cmp_series(const void *a, const void *b)
{
    const series_ref_t *ra = a, *rb = b;
    for (size_t i = 0; i < ra->nlabels; i++) {
        int c = strcmp(ra->s->values[i], rb->s->values[i]);
        if (c != 0)
            return c;
    }
    return 0;
}

char *metrics_expose(metrics_registry_t *r, size_t *len)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&buf, &size);
    if (out == NULL)
        return NULL;
    bool ok = true;
    if (r != NULL) {
        pthread_mutex_lock(&r->mu);
        metrics_family_t **fams = malloc((r->nfams ? r->nfams : 1) * sizeof *fams);
        ok = fams != NULL;
        if (ok) {
            memcpy(fams, r->fams, r->nfams * sizeof *fams);
            qsort(fams, r->nfams, sizeof *fams, cmp_family);
        }
        for (size_t i = 0; ok && i < r->nfams; i++) {
            metrics_family_t *f = fams[i];
            fprintf(out, "# HELP %s ", f->name);
            put_escaped(out, f->help, false);
            fprintf(out, "\n# TYPE %s %s\n", f->name, type_name(f->type));
            series_ref_t *refs = malloc((f->nseries ? f->nseries : 1) * sizeof *refs);
            ok = refs != NULL;
            for (size_t j = 0; ok && j < f->nseries; j++)
                refs[j] = (series_ref_t){f->series[j], f->nlabels};
            if (ok) {
                qsort(refs, f->nseries, sizeof *refs, cmp_series);
                for (size_t j = 0; j < f->nseries; j++)
                    put_series(out, f, refs[j].s);
            }
            free(refs);
        }
        free(fams);
        pthread_mutex_unlock(&r->mu);
    }
    if (ferror(out))
        ok = false;
    if (fclose(out) != 0)
        ok = false;
    if (!ok) {
        free(buf);
        return NULL;
    }
    if (len != NULL)
        *len = size;
    return buf;
}
