/* test_metrics.c: registry, exposition text (golden), escaping, histograms, threads. */
#include "testutil.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/net/metrics.h"

static double model_bytes(void *ud)
{
    return *(double *)ud;
}

static void test_golden_exposition(void **state)
{
    err_t err;
    metrics_registry_t *r = metrics_registry_new();
    metrics_family_t *req = metrics_counter_family(r, "recsys_http_requests_total", "HTTP requests answered.",
                                                   (const char *[]){"route", "code", NULL}, &err);
    assert_non_null(req);
    metrics_counter_add(metrics_counter_get(req, (const char *[]){"/v1/items", "200"}), 41);
    metrics_counter_inc(metrics_counter_get(req, (const char *[]){"/v1/items", "200"}));
    metrics_counter_inc(metrics_counter_get(req, (const char *[]){"/healthz", "200"}));
    metrics_counter_add(metrics_counter_get(req, (const char *[]){"/v1/items", "404"}), 3);

    metrics_gauge_t *conns = metrics_gauge_new(r, "recsys_http_open_connections", "Open connections.", &err);
    metrics_gauge_set(conns, 5);
    metrics_gauge_add(conns, -2);

    metrics_histogram_t *lat =
        metrics_histogram_new(r, "recsys_latency_seconds", "Latency.", (const double[]){0.1, 1}, 2, &err);
    assert_non_null(lat);
    metrics_histogram_observe(lat, 0.05);
    metrics_histogram_observe(lat, 0.1);
    metrics_histogram_observe(lat, 0.5);
    metrics_histogram_observe(lat, 3);

    double size = 1.5e6;
    metrics_family_t *mb = metrics_gauge_family(r, "recsys_model_bytes", "Model size.\nIn bytes \\ RAM.",
                                                (const char *[]){"model", NULL}, &err);
    assert_int_equal(metrics_func(mb, (const char *[]){"cf"}, model_bytes, &size, &err), 0);
    /* The same series twice is refused. */
    assert_int_equal(metrics_func(mb, (const char *[]){"cf"}, model_bytes, &size, &err), -1);

    size_t len = 0;
    char *text = metrics_expose(r, &len);
    assert_non_null(text);
    const char *want = "# HELP recsys_http_open_connections Open connections.\n"
                       "# TYPE recsys_http_open_connections gauge\n"
                       "recsys_http_open_connections 3\n"
                       "# HELP recsys_http_requests_total HTTP requests answered.\n"
                       "# TYPE recsys_http_requests_total counter\n"
                       "recsys_http_requests_total{route=\"/healthz\",code=\"200\"} 1\n"
                       "recsys_http_requests_total{route=\"/v1/items\",code=\"200\"} 42\n"
                       "recsys_http_requests_total{route=\"/v1/items\",code=\"404\"} 3\n"
                       "# HELP recsys_latency_seconds Latency.\n"
                       "# TYPE recsys_latency_seconds histogram\n"
                       "recsys_latency_seconds_bucket{le=\"0.1\"} 2\n"
                       "recsys_latency_seconds_bucket{le=\"1\"} 3\n"
                       "recsys_latency_seconds_bucket{le=\"+Inf\"} 4\n"
                       "recsys_latency_seconds_sum 3.65\n"
                       "recsys_latency_seconds_count 4\n"
                       "# HELP recsys_model_bytes Model size.\\nIn bytes \\\\ RAM.\n"
                       "# TYPE recsys_model_bytes gauge\n"
                       "recsys_model_bytes{model=\"cf\"} 1500000\n";
    assert_string_equal(text, want);
    assert_int_equal(len, strlen(want));
    free(text);

    /* The callback is evaluated at scrape time. */
    size = 0.25;
    text = metrics_expose(r, NULL);
    assert_non_null(strstr(text, "recsys_model_bytes{model=\"cf\"} 0.25\n"));
    free(text);
    metrics_registry_free(r);
}

static void test_label_escaping(void **state)
{
    err_t err;
    metrics_registry_t *r = metrics_registry_new();
    metrics_family_t *f = metrics_counter_family(r, "x_total", "X.", (const char *[]){"v", NULL}, &err);
    metrics_counter_inc(metrics_counter_get(f, (const char *[]){"a\\b\"c\nd"}));
    metrics_counter_inc(metrics_counter_get(f, (const char *[]){""}));
    char *text = metrics_expose(r, NULL);
    assert_string_equal(text, "# HELP x_total X.\n"
                              "# TYPE x_total counter\n"
                              "x_total{v=\"\"} 1\n"
                              "x_total{v=\"a\\\\b\\\"c\\nd\"} 1\n");
    free(text);
    metrics_registry_free(r);
}

static void test_name_validation(void **state)
{
    err_t err;
    metrics_registry_t *r = metrics_registry_new();
    assert_true(metrics_name_valid("recsys:http_requests_total"));
    assert_false(metrics_name_valid("1abc"));
    assert_false(metrics_name_valid("a-b"));
    assert_false(metrics_name_valid(""));
    assert_true(metrics_label_name_valid("route"));
    assert_false(metrics_label_name_valid("__name"));
    assert_false(metrics_label_name_valid("a:b"));

    assert_null(metrics_counter_family(r, "bad name", "h", NULL, &err));
    assert_non_null(strstr(err.msg, "invalid metric name 'bad name'"));
    assert_null(metrics_counter_family(r, "ok_total", "h", (const char *[]){"9x", NULL}, &err));
    assert_non_null(strstr(err.msg, "invalid label name '9x'"));
    assert_null(metrics_counter_family(r, "ok_total", "h", (const char *[]){"a", "a", NULL}, &err));
    assert_null(metrics_histogram_family(r, "h_seconds", "h", (const char *[]){"le", NULL}, NULL, 0, &err));
    assert_null(metrics_histogram_new(r, "h_seconds", "h", (const double[]){1, 1}, 2, &err));
    assert_non_null(strstr(err.msg, "strictly increasing"));
    assert_null(metrics_histogram_new(r, "h_seconds", "h", (const double[]){NAN}, 1, &err));

    /* Same name, same shape: the same family. Other shape: refused. */
    metrics_family_t *a = metrics_counter_family(r, "c_total", "h", (const char *[]){"x", NULL}, &err);
    metrics_family_t *b = metrics_counter_family(r, "c_total", "other help", (const char *[]){"x", NULL}, &err);
    assert_non_null(a);
    assert_ptr_equal(a, b);
    assert_null(metrics_gauge_family(r, "c_total", "h", (const char *[]){"x", NULL}, &err));
    assert_non_null(strstr(err.msg, "already registered"));
    assert_null(metrics_counter_family(r, "c_total", "h", NULL, &err));
    /* A histogram's samples cannot be shadowed. */
    assert_non_null(metrics_histogram_new(r, "lat", "h", NULL, 0, &err));
    assert_null(metrics_counter_new(r, "lat_count", "h", &err));
    assert_non_null(strstr(err.msg, "clashes"));
    /* Wrong-type handles are NULL and NULL handles are no-ops. */
    assert_null(metrics_gauge_get(a, (const char *[]){"v"}));
    metrics_gauge_set(NULL, 1);
    metrics_counter_inc(NULL);
    metrics_histogram_observe(NULL, 1);
    metrics_registry_free(r);
}

static void test_histogram_counts(void **state)
{
    err_t err;
    metrics_registry_t *r = metrics_registry_new();
    metrics_family_t *f = metrics_histogram_family(r, "lat_seconds", "Latency.", (const char *[]){"route", NULL},
                                                   NULL, 0, &err);
    metrics_histogram_t *h = metrics_histogram_get(f, (const char *[]){"/a"});
    assert_non_null(h);
    /* Boundaries are inclusive (le). */
    double obs[] = {0.0001, 0.0005, 0.0006, 0.001, 0.02, 0.7, 10, 11, 1000};
    double sum = 0;
    for (size_t i = 0; i < sizeof obs / sizeof obs[0]; i++) {
        metrics_histogram_observe(h, obs[i]);
        sum += obs[i];
    }
    assert_int_equal(metrics_histogram_count(h), 9);
    assert_true(fabs(metrics_histogram_sum(h) - sum) < 1e-9);
    assert_int_equal(metrics_histogram_bucket(h, 0), 2);  /* <= 0.0005 */
    assert_int_equal(metrics_histogram_bucket(h, 1), 4);  /* <= 0.001 */
    assert_int_equal(metrics_histogram_bucket(h, 5), 5);  /* <= 0.025 */
    assert_int_equal(metrics_histogram_bucket(h, 10), 6); /* <= 1 */
    assert_int_equal(metrics_histogram_bucket(h, 13), 7); /* <= 10 */
    assert_int_equal(metrics_histogram_bucket(h, METRICS_LATENCY_NBUCKETS), 9);
    char *text = metrics_expose(r, NULL);
    assert_non_null(strstr(text, "lat_seconds_bucket{route=\"/a\",le=\"0.0005\"} 2\n"));
    assert_non_null(strstr(text, "lat_seconds_bucket{route=\"/a\",le=\"0.001\"} 4\n"));
    assert_non_null(strstr(text, "lat_seconds_bucket{route=\"/a\",le=\"2.5\"} 6\n"));
    assert_non_null(strstr(text, "lat_seconds_bucket{route=\"/a\",le=\"10\"} 7\n"));
    assert_non_null(strstr(text, "lat_seconds_bucket{route=\"/a\",le=\"+Inf\"} 9\n"));
    assert_non_null(strstr(text, "lat_seconds_count{route=\"/a\"} 9\n"));
    assert_non_null(strstr(text, "lat_seconds_sum{route=\"/a\"} 1021.7222\n"));
    free(text);
    metrics_registry_free(r);
}

static void test_number_format(void **state)
{
    err_t err;
    metrics_registry_t *r = metrics_registry_new();
    struct { double v; const char *want; } cases[] = {
        {0, "0"}, {-2, "-2"}, {0.1, "0.1"}, {1e-7, "1e-07"}, {123456789012, "123456789012"},
        {1e22, "1e+22"}, {INFINITY, "+Inf"}, {-INFINITY, "-Inf"}, {NAN, "NaN"}, {1.0 / 3, "0.3333333333333333"},
    };
    metrics_family_t *f = metrics_gauge_family(r, "g", "G.", (const char *[]){"i", NULL}, &err);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char idx[8];
        snprintf(idx, sizeof idx, "%zu", i);
        metrics_gauge_set(metrics_gauge_get(f, (const char *[]){idx}), cases[i].v);
    }
    char *text = metrics_expose(r, NULL);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char line[128];
        snprintf(line, sizeof line, "g{i=\"%zu\"} %s\n", i, cases[i].want);
        if (strstr(text, line) == NULL)
            fail_msg("missing '%s' in:\n%s", line, text);
    }
    free(text);
    metrics_registry_free(r);
}

typedef struct {
    metrics_family_t *fam;
    metrics_histogram_t *hist;
    metrics_gauge_t *gauge;
    int id;
} worker_arg_t;

#define THREADS 4
#define ITERS 100000

static void *worker(void *p)
{
    worker_arg_t *a = p;
    /* Each thread looks its series up itself (concurrent creation of the same series). */
    metrics_counter_t *shared = metrics_counter_get(a->fam, (const char *[]){"shared"});
    char own_name[16];
    snprintf(own_name, sizeof own_name, "t%d", a->id);
    metrics_counter_t *own = metrics_counter_get(a->fam, (const char *[]){own_name});
    for (int i = 0; i < ITERS; i++) {
        metrics_counter_inc(shared);
        metrics_counter_add(own, 2);
        metrics_histogram_observe(a->hist, 0.5);
        metrics_gauge_add(a->gauge, 1);
    }
    return NULL;
}

static void test_concurrent_updates(void **state)
{
    err_t err;
    metrics_registry_t *r = metrics_registry_new();
    metrics_family_t *f = metrics_counter_family(r, "n_total", "N.", (const char *[]){"who", NULL}, &err);
    metrics_histogram_t *h = metrics_histogram_new(r, "h", "H.", (const double[]){1}, 1, &err);
    metrics_gauge_t *g = metrics_gauge_new(r, "g", "G.", &err);
    pthread_t th[THREADS];
    worker_arg_t args[THREADS];
    for (int i = 0; i < THREADS; i++) {
        args[i] = (worker_arg_t){f, h, g, i};
        assert_int_equal(pthread_create(&th[i], NULL, worker, &args[i]), 0);
    }
    /* Scrape while they run: must not crash or deadlock. */
    for (int i = 0; i < 20; i++)
        free(metrics_expose(r, NULL));
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(metrics_counter_value(metrics_counter_get(f, (const char *[]){"shared"})),
                     (uint64_t)THREADS * ITERS);
    for (int i = 0; i < THREADS; i++) {
        char name[16];
        snprintf(name, sizeof name, "t%d", i);
        assert_int_equal(metrics_counter_value(metrics_counter_get(f, (const char *[]){name})), 2 * ITERS);
    }
    assert_int_equal(metrics_histogram_count(h), (uint64_t)THREADS * ITERS);
    assert_true(metrics_histogram_sum(h) == 0.5 * THREADS * ITERS);
    assert_true(metrics_gauge_value(g) == (double)THREADS * ITERS);
    metrics_registry_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_exposition), cmocka_unit_test(test_label_escaping),
        cmocka_unit_test(test_name_validation),   cmocka_unit_test(test_histogram_counts),
        cmocka_unit_test(test_number_format),     cmocka_unit_test(test_concurrent_updates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
