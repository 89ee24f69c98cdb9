/*
 * recsys-wireval: EVALUATION.md R5, R6 and R7 over the wire, against a
 * running gateway started on the training users of the same split.
 *
 *   recsys-eval --data DIR --protocol R5 --seed 1 --write-train TRAIN
 *   (start Redis, recsys-content, recsys-cf and recsys-gateway on TRAIN)
 *   recsys-wireval --data DIR --protocol R5 --seed 1 --gateway http://127.0.0.1:8080
 *
 * The split is tools/recsys-eval/evalusers.h's, computed from the full
 * dataset with the same seed and share, so the held-out users and their
 * histories are the ones recsys-eval evaluates offline. For each held-out
 * user (the first --max-users, ascending user index) and history length n:
 *  (a) Recommend (Twirp JSON) with the history as `history`;
 *  (b) AddFeedback of the same events for a fresh user id, then
 *      GET /v1/users/{id}/recommendations;
 * both lists are scored (NDCG@k, P@k, HR@k, Coverage@k over the catalog)
 * and compared item by item: the tool prints how many lists differ, and
 * --require-identical makes any difference an error.
 * R7 sends (a) with the history including the low ratings and without them
 * (then as filters.exclude_item_ids, so the candidates are the same).
 * R6 asks GET /v1/items/{id}/similar?mode=content|behaviour|blend.
 * --compare FILE reads recsys-eval's --json of the same run and reports the
 * difference of each metric; --tolerance makes a larger one an error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "common/base/clock.h"
#include "common/base/config.h"
#include "common/base/err.h"
#include "common/base/log.h"
#include "common/data/dataset.h"
#include "common/net/daemon.h"
#include "tools/recsys-eval/evalmetrics.h"
#include "tools/recsys-eval/evalusers.h"

static const cfg_option_t wire_options[] = {
    {"gateway", CFG_STRING, "http://127.0.0.1:8080", "The gateway's base URL (http://host:port).", 0,
     0},
    {"protocol", CFG_STRING, "R5", "R5, R6 or R7.", 0, 0},
    {"user-frac", CFG_DOUBLE, "0.25", "Share of the users held out (as recsys-eval).", 0.001, 0.999},
    {"seed", CFG_INT, "1", "Seed of the held-out users (as recsys-eval).", 0, 1e18},
    {"ns", CFG_STRING, "1,3,5,10,20", "R5/R7: history lengths.", 0, 0},
    {"max-users", CFG_INT, "0", "Only the first N held-out users (0: all).", 0, 1e9},
    {"k", CFG_INT, "10", "List length.", 1, 1000},
    {"low-max", CFG_DOUBLE, "2", "R7: ratings <= this are the low ones.", 0, 10},
    {"query-min", CFG_DOUBLE, "4.5", "R6: the query is the first item rated >= this.", 0, 10},
    {"api-key", CFG_STRING, NULL, "Bearer key for AddFeedback when the gateway has one.", 0, 0},
    {"json", CFG_STRING, NULL, "Write the table as JSON (recsys-eval's R5-R7 format).", 0, 0},
    {"compare", CFG_STRING, NULL, "recsys-eval --json of the same split to compare with.", 0, 0},
    {"tolerance", CFG_DOUBLE, "-1",
     "With --compare: the largest allowed |offline - wire| of any metric (< 0: report only).", -1,
     1},
    {"require-identical", CFG_BOOL, "false",
     "R5: an error when the history path and the AddFeedback path give different lists.", 0, 0},
    {"lists", CFG_STRING, NULL,
     "Write every answer to this file, one line each, in recsys-eval --lists' format.", 0, 0},
    {"user-prefix", CFG_STRING, "wireval",
     "R5: prefix of the fresh user ids of the AddFeedback path (pid and seed are added).", 0, 0},
    CFG_END,
};

/* ---- a minimal blocking HTTP/1.1 client (one connection per request) ---- */

typedef struct http {
    char host[256];
    char port[16];
    char key[256];
} http_t;

static int http_parse_url(http_t *h, const char *url, err_t *err)
{
    const char *p = url;
    if (strncmp(p, "http://", 7) == 0)
        p += 7;
    const char *colon = strchr(p, ':'), *slash = strchr(p, '/');
    size_t hl = colon ? (size_t)(colon - p) : slash ? (size_t)(slash - p) : strlen(p);
    if (hl == 0 || hl >= sizeof h->host)
        return err_set(err, "--gateway %s: expected http://host:port", url);
    memcpy(h->host, p, hl);
    h->host[hl] = 0;
    if (colon) {
        size_t pl = slash ? (size_t)(slash - colon - 1) : strlen(colon + 1);
        if (pl == 0 || pl >= sizeof h->port)
            return err_set(err, "--gateway %s: bad port", url);
        memcpy(h->port, colon + 1, pl);
        h->port[pl] = 0;
    } else
        snprintf(h->port, sizeof h->port, "80");
    return 0;
}

/* Sends one request; *body (malloc'd, NUL-terminated) gets the response
 * body. Returns the HTTP status or -1 with err. */
static int http_do(const http_t *h, const char *method, const char *path, const char *json,
                   char **body, err_t *err)
{
    *body = NULL;
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int gai = getaddrinfo(h->host, h->port, &hints, &ai);
    if (gai != 0)
        return err_set(err, "%s:%s: %s", h->host, h->port, gai_strerror(gai));
    int fd = -1;
    for (struct addrinfo *a = ai; a; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
        if (fd < 0)
            continue;
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
            break;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    if (fd < 0)
        return err_errno(err, "connect %s:%s", h->host, h->port);
    size_t blen = json ? strlen(json) : 0;
    char head[1024];
    int hn = snprintf(head, sizeof head,
                      "%s %s HTTP/1.1\r\nHost: %s:%s\r\nConnection: close\r\n%s%s%s"
                      "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                      method, path, h->host, h->port, h->key[0] ? "Authorization: Bearer " : "",
                      h->key, h->key[0] ? "\r\n" : "", blen);
    const char *parts[2] = {head, json};
    size_t lens[2] = {(size_t)hn, blen};
    for (int i = 0; i < 2; i++)
        for (size_t off = 0; off < lens[i];) {
            ssize_t w = send(fd, parts[i] + off, lens[i] - off, MSG_NOSIGNAL);
            if (w < 0) {
                if (errno == EINTR)
                    continue;
                close(fd);
                return err_errno(err, "send");
            }
            off += (size_t)w;
        }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf) {
            close(fd);
            return err_set(err, "out of memory");
        }
        if (cap - n < 4096) {
            char *b = realloc(buf, cap * 2);
            if (!b) {
                free(buf);
                buf = NULL;
                continue;
            }
            buf = b;
            cap *= 2;
        }
        ssize_t r = recv(fd, buf + n, cap - n - 1, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            free(buf);
            close(fd);
            return err_errno(err, "recv");
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = 0;
    int status = 0;
    if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1) {
        free(buf);
        return err_set(err, "%s %s: not an HTTP response", method, path);
    }
    char *sep = strstr(buf, "\r\n\r\n");
    const char *b = sep ? sep + 4 : buf + n;
    *body = strdup(b);
    free(buf);
    if (!*body)
        return err_set(err, "out of memory");
    return status;
}

/* ---- answers ---- */

/* items[].item_id of a ranked answer -> catalog indices (unknown ids are
 * skipped, which would be a bug: the gateway serves the same catalog). */
static long parse_items(const catalog_t *cat, const char *body, uint32_t *out, size_t k, err_t *err)
{
    cJSON *j = cJSON_Parse(body);
    if (!j)
        return err_set(err, "answer is not JSON: %.200s", body);
    cJSON *items = cJSON_GetObjectItemCaseSensitive(j, "items");
    long n = 0;
    cJSON *it;
    cJSON_ArrayForEach(it, items)
    {
        cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "item_id");
        if (!cJSON_IsString(id) || (size_t)n >= k)
            continue;
        uint32_t c = catalog_find(cat, id->valuestring, strlen(id->valuestring));
        if (c != UINT32_MAX)
            out[n++] = c;
    }
    cJSON *deg = cJSON_GetObjectItemCaseSensitive(j, "degraded");
    if (cJSON_IsTrue(deg))
        fprintf(stderr, "recsys-wireval: warning: a degraded answer: %.300s\n", body);
    cJSON_Delete(j);
    return n;
}

/* GET path and parse the answer's items into out (at most k); -1 with err
 * on a failed call or a status other than 200. */
static long get_items(const http_t *h, const catalog_t *cat, const char *path, uint32_t *out, size_t k,
                      err_t *err)
{
    char *body = NULL;
    int st = http_do(h, "GET", path, NULL, &body, err);
    long got = -1;
    if (st == 200)
        got = parse_items(cat, body, out, k, err);
    else if (st >= 0)
        err_set(err, "GET %s: HTTP %d: %.300s", path, st, body ? body : "");
    free(body);
    return got;
}

static cJSON *history_json(const catalog_t *cat, const uint32_t *hist, const float *hv, size_t n)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "item_id", catalog_id(cat, hist[i]));
        cJSON_AddNumberToObject(e, "rating", hv[i]);
        cJSON_AddItemToArray(arr, e);
    }
    return arr;
}

static long recommend_history(const http_t *h, const catalog_t *cat, const uint32_t *hist,
                              const float *hv, size_t n, const uint32_t *excl, size_t nexcl,
                              size_t k, uint32_t *out, err_t *err)
{
    cJSON *o = cJSON_CreateObject();
    if (n > 0)
        cJSON_AddItemToObject(o, "history", history_json(cat, hist, hv, n));
    else {
        /* Nothing left to send (R7 without the low ratings, all of them
         * low): the gateway wants a user or a history, so a user id it has
         * never seen, which it answers like an empty history. */
        char fresh[64];
        snprintf(fresh, sizeof fresh, "wireval-empty-%ld", (long)getpid());
        cJSON_AddStringToObject(o, "user_id", fresh);
    }
    cJSON_AddNumberToObject(o, "k", (double)k);
    if (nexcl) {
        cJSON *f = cJSON_CreateObject(), *ex = cJSON_CreateArray();
        for (size_t i = 0; i < nexcl; i++)
            cJSON_AddItemToArray(ex, cJSON_CreateString(catalog_id(cat, excl[i])));
        cJSON_AddItemToObject(f, "exclude_item_ids", ex);
        cJSON_AddItemToObject(o, "filters", f);
    }
    char *req = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    char *body = NULL;
    int st = req ? http_do(h, "POST", "/twirp/recsys.v1.Recommender/Recommend", req, &body, err) : -1;
    free(req);
    long got = -1;
    if (st == 200)
        got = parse_items(cat, body, out, k, err);
    else if (st >= 0)
        err_set(err, "Recommend: HTTP %d: %.300s", st, body ? body : "");
    free(body);
    return got;
}

static long recommend_feedback(const http_t *h, const catalog_t *cat, const char *user,
                               const uint32_t *hist, const float *hv, const int64_t *ts, size_t n,
                               size_t k, uint32_t *out, err_t *err)
{
    char *body = NULL;
    if (n > 0) {
        cJSON *o = cJSON_CreateObject(), *arr = cJSON_CreateArray();
        for (size_t i = 0; i < n; i++) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "user_id", user);
            cJSON_AddStringToObject(e, "item_id", catalog_id(cat, hist[i]));
            cJSON_AddNumberToObject(e, "rating", hv[i]);
            char tsb[32];
            snprintf(tsb, sizeof tsb, "%lld", (long long)ts[i] * 1000);
            cJSON_AddStringToObject(e, "timestamp_ms", tsb);
            cJSON_AddItemToArray(arr, e);
        }
        cJSON_AddItemToObject(o, "events", arr);
        char *req = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        int st = req ? http_do(h, "POST", "/v1/feedback", req, &body, err) : -1;
        free(req);
        if (st != 200) {
            if (st >= 0)
                err_set(err, "AddFeedback: HTTP %d: %.300s", st, body ? body : "");
            free(body);
            return -1;
        }
        free(body);
    }
    char path[512];
    snprintf(path, sizeof path, "/v1/users/%s/recommendations?k=%zu", user, k);
    return get_items(h, cat, path, out, k, err);
}

static const char *const modes[3] = {"content", "behaviour", "blend"};

static long similar(const http_t *h, const catalog_t *cat, uint32_t q, int mode, size_t k,
                    uint32_t *out, err_t *err)
{
    char path[512];
    snprintf(path, sizeof path, "/v1/items/%s/similar?k=%zu&mode=%s", catalog_id(cat, q), k,
             modes[mode]);
    return get_items(h, cat, path, out, k, err);
}

/* ---- rows ---- */

typedef struct wrow {
    char proto[24], model[32];
    int n;
    evalmetrics_ranking_t r;
    double pct;
    double secs;
} wrow_t;

static void print_rows(const wrow_t *v, size_t n, size_t k)
{
    const char *last = "";
    for (size_t i = 0; i < n; i++) {
        int r6 = v[i].n == 0;
        char cov[32];
        snprintf(cov, sizeof cov, "Cov@%zu", k);
        if (strcmp(last, v[i].proto)) {
            last = v[i].proto;
            printf("\n| protocol | model | n | NDCG@%zu | P@%zu | HR@%zu | %s | users | s |\n"
                   "| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n",
                   k, k, k, r6 ? "pop. pct" : cov);
        }
        if (r6)
            printf("| %s | %s | - | %.4f | %.4f | %.4f | %.1f | %zu | %.1f |\n", v[i].proto,
                   v[i].model, v[i].r.ndcg, v[i].r.precision, v[i].r.hit_rate, v[i].pct,
                   v[i].r.users, v[i].secs);
        else
            printf("| %s | %s | %d | %.4f | %.4f | %.4f | %.4f | %zu | %.1f |\n", v[i].proto,
                   v[i].model, v[i].n, v[i].r.ndcg, v[i].r.precision, v[i].r.hit_rate,
                   v[i].r.coverage, v[i].r.users, v[i].secs);
    }
}

static double metric_of(const wrow_t *w, int j)
{
    switch (j) {
    case 0: return w->r.ndcg;
    case 1: return w->r.precision;
    case 2: return w->r.hit_rate;
    case 3: return w->r.coverage;
    default: return w->pct;
    }
}

static const char *const metric_names[5] = {"NDCG", "P", "HR", "Coverage", "popularity_percentile"};

static int write_json(const char *path, const wrow_t *v, size_t n, size_t k, uint64_t seed, err_t *err)
{
    cJSON *arr = cJSON_CreateArray();
    char key[48];
    for (size_t i = 0; i < n; i++) {
        cJSON *o = cJSON_CreateObject(), *met = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "protocol", v[i].proto);
        cJSON_AddStringToObject(o, "model", v[i].model);
        cJSON_AddNumberToObject(o, "n", v[i].n);
        cJSON_AddNumberToObject(o, "seed", (double)seed);
        cJSON_AddNumberToObject(o, "users", (double)v[i].r.users);
        for (int j = 0; j < 5; j++) {
            if (j == 4 && v[i].n)
                continue;
            if (j < 4)
                snprintf(key, sizeof key, "%s@%zu", metric_names[j], k);
            else
                snprintf(key, sizeof key, "%s", metric_names[j]);
            cJSON_AddNumberToObject(met, key, metric_of(&v[i], j));
        }
        cJSON_AddItemToObject(o, "metrics", met);
        cJSON_AddItemToArray(arr, o);
    }
    char *text = cJSON_Print(arr);
    cJSON_Delete(arr);
    FILE *f = text ? fopen(path, "w") : NULL;
    if (!f) {
        free(text);
        return err_errno(err, "%s", path);
    }
    int bad = fputs(text, f) < 0;
    bad |= fclose(f) != 0;
    free(text);
    return bad ? err_errno(err, "%s", path) : 0;
}

/* Offline row name of a wire row: "hybrid (history)" -> hybrid; R6 modes as is. */
static void offline_model(const wrow_t *w, char *out, size_t len)
{
    if (strncmp(w->model, "hybrid", 6) == 0)
        snprintf(out, len, "hybrid");
    else
        snprintf(out, len, "%s", w->model);
}

static int compare(const char *path, const wrow_t *v, size_t n, size_t k, double tol, err_t *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return err_errno(err, "%s", path);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)len + 1);
    if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) {
        fclose(f);
        free(buf);
        return err_set(err, "%s: read failed", path);
    }
    fclose(f);
    buf[len] = 0;
    cJSON *arr = cJSON_Parse(buf);
    free(buf);
    if (!arr)
        return err_set(err, "%s: not JSON", path);
    double worst = 0;
    size_t matched = 0;
    char key[48], om[32];
    printf("\n| protocol | model | n | metric | offline | wire | diff |\n| --- | --- | --- | --- | --- | --- | --- |\n");
    for (size_t i = 0; i < n; i++) {
        offline_model(&v[i], om, sizeof om);
        cJSON *o, *hit = NULL;
        cJSON_ArrayForEach(o, arr)
        {
            cJSON *p = cJSON_GetObjectItem(o, "protocol"), *m = cJSON_GetObjectItem(o, "model"),
                  *nn = cJSON_GetObjectItem(o, "n");
            if (cJSON_IsString(p) && cJSON_IsString(m) && cJSON_IsNumber(nn) &&
                strcmp(p->valuestring, v[i].proto) == 0 && strcmp(m->valuestring, om) == 0 &&
                (int)nn->valuedouble == v[i].n) {
                hit = o;
                break;
            }
        }
        if (!hit)
            continue;
        matched++;
        cJSON *met = cJSON_GetObjectItem(hit, "metrics");
        for (int j = 0; j < 5; j++) {
            if (j < 4)
                snprintf(key, sizeof key, "%s@%zu", metric_names[j], k);
            else
                snprintf(key, sizeof key, "%s", metric_names[j]);
            cJSON *x = cJSON_GetObjectItem(met, key);
            if (!cJSON_IsNumber(x))
                continue;
            double d = metric_of(&v[i], j) - x->valuedouble;
            if (j == 4)
                d /= 100; /* a percentile: compared as a share */
            if (fabs(d) > worst)
                worst = fabs(d);
            printf("| %s | %s | %d | %s | %.4f | %.4f | %+.4f |\n", v[i].proto, v[i].model, v[i].n,
                   key, x->valuedouble, metric_of(&v[i], j), d);
        }
    }
    cJSON_Delete(arr);
    printf("\ncompared %zu rows with %s: largest |offline - wire| = %.6f\n", matched, path, worst);
    if (matched == 0)
        return err_set(err, "%s: no row matches (same protocol, seed and --max-users?)", path);
    if (tol >= 0 && worst > tol)
        return err_set(err, "offline and wire differ by %.6f > tolerance %g", worst, tol);
    return 0;
}

/* ---- main ---- */

static int parse_ns(const char *s, size_t *out, int max, err_t *err)
{
    int n = 0;
    for (const char *p = s; *p;) {
        char *end;
        unsigned long v = strtoul(p, &end, 10);
        if (end == p || n == max)
            return err_set(err, "--ns: '%s' is not a list of history lengths", s);
        out[n++] = v;
        p = *end == ',' ? end + 1 : end;
    }
    return n ? n : err_set(err, "--ns: empty");
}

static int add_row(wrow_t **v, size_t *n, size_t *cap, const char *proto, const char *model, int nn,
                   evalmetrics_acc_t *acc, double pct, double secs)
{
    if (*n == *cap) {
        size_t c = *cap ? 2 * *cap : 16;
        wrow_t *x = realloc(*v, c * sizeof *x);
        if (!x)
            return -1;
        *v = x;
        *cap = c;
    }
    wrow_t *w = &(*v)[(*n)++];
    memset(w, 0, sizeof *w);
    snprintf(w->proto, sizeof w->proto, "%s", proto);
    snprintf(w->model, sizeof w->model, "%s", model);
    w->n = nn;
    evalmetrics_acc_result(acc, &w->r);
    w->pct = pct;
    w->secs = secs;
    return 0;
}

static int run(const cfg_t *cfg, err_t *err)
{
    http_t h;
    memset(&h, 0, sizeof h);
    if (http_parse_url(&h, cfg_str(cfg, "gateway"), err) != 0)
        return -1;
    snprintf(h.key, sizeof h.key, "%s", cfg_str(cfg, "api-key"));
    const char *proto = cfg_str(cfg, "protocol");
    int protocol = strcmp(proto, "R5") == 0 ? 5 : strcmp(proto, "R6") == 0 ? 6
                                                : strcmp(proto, "R7") == 0 ? 7 : 0;
    if (!protocol)
        return err_set(err, "--protocol %s: expected R5, R6 or R7", proto);
    const char *data = cfg_str(cfg, "data");
    if (!data[0])
        return err_set(err, "--data DIR (the full dataset the split is drawn from) is required");
    size_t ns[16];
    int nns = parse_ns(cfg_str(cfg, "ns"), ns, 16, err);
    if (nns < 0)
        return -1;
    size_t k = (size_t)cfg_int(cfg, "k");
    uint64_t seed = (uint64_t)cfg_int(cfg, "seed");
    dataset_opts_t dopts;
    dataset_opts_from_cfg(cfg, &dopts);
    dataset_t *ds = NULL;
    if (dataset_load(data, &ds, &dopts, err) != 0)
        return -1;
    evalusers_split_t *us = NULL;
    wrow_t *rows = NULL;
    size_t nrows = 0, caprows = 0;
    int rc = -1;
    FILE *lists = NULL;
    if (evalusers_split_make(ds, cfg_double(cfg, "user-frac"), seed, 0, 0.25, &us, err) != 0)
        goto out;
    const catalog_t *cat = ds->catalog;
    uint32_t ncat = us->ncat;
    size_t maxr = evalusers_max_ratings(us);
    size_t nu = (size_t)cfg_int(cfg, "max-users");
    if (!nu || nu > us->nevaluated)
        nu = us->nevaluated;
    uint32_t *hist = malloc(maxr * sizeof *hist), *excl = malloc(maxr * sizeof *excl),
             *rel = malloc(maxr * sizeof *rel), *la = malloc(k * sizeof *la),
             *lb = malloc(k * sizeof *lb), *dropped = malloc(maxr * sizeof *dropped);
    float *hv = malloc(maxr * sizeof *hv);
    int64_t *ts = malloc(maxr * sizeof *ts);
    float *pct = calloc(ncat + 1, sizeof *pct);
    if (!hist || !excl || !rel || !la || !lb || !dropped || !hv || !ts || !pct) {
        err_set(err, "out of memory");
        goto free_bufs;
    }
    fprintf(stderr, "recsys-wireval: seed %llu: %zu train users, %zu held-out users, %zu asked\n",
            (unsigned long long)seed, us->ntrain_users, us->nevaluated, nu);
    const float low_max = (float)cfg_double(cfg, "low-max");
    if (cfg_str(cfg, "lists")[0] && !(lists = fopen(cfg_str(cfg, "lists"), "w"))) {
        err_errno(err, "%s", cfg_str(cfg, "lists"));
        goto free_bufs;
    }
    if (protocol == 6) {
        /* Popularity percentile from the train users' ratings, as offline. */
        float *cnt = calloc(ncat + 1, sizeof *cnt);
        if (!cnt) {
            err_set(err, "out of memory");
            goto free_bufs;
        }
        const ratings_t *r = ds->ratings;
        for (size_t i = 0; i < r->n; i++)
            if (us->role[r->user[i]] == EVALUSERS_TRAIN)
                cnt[r->item[i]] += 1;
        for (uint32_t i = 0; i < ncat; i++) {
            size_t below = 0;
            for (uint32_t j = 0; j < ncat; j++)
                below += cnt[j] < cnt[i];
            pct[i] = (float)(100.0 * (double)below / ncat);
        }
        free(cnt);
        for (int mode = 0; mode < 3; mode++) {
            evalmetrics_acc_t acc;
            if (evalmetrics_acc_init(&acc, k, ncat, err) != 0)
                goto free_bufs;
            double t0 = clock_mono_sec(), ps = 0;
            size_t pn = 0;
            for (size_t ui = 0; ui < nu; ui++) {
                uint32_t q;
                size_t nrel = evalusers_r6_case(us, us->users[ui], (float)cfg_double(cfg, "query-min"),
                                                4.0f, &q, rel);
                if (nrel == 0)
                    continue;
                long got = similar(&h, cat, q, mode, k, la, err);
                if (lists && got >= 0) {
                    fprintf(lists, "R6 %s %s", modes[mode], catalog_id(cat, q));
                    for (long i = 0; i < got; i++)
                        fprintf(lists, " %s", catalog_id(cat, la[i]));
                    fputc('\n', lists);
                }
                if (got < 0 || evalmetrics_acc_add(&acc, la, (size_t)got, rel, nrel, err) != 0) {
                    evalmetrics_acc_free(&acc);
                    goto free_bufs;
                }
                for (long i = 0; i < got; i++)
                    ps += pct[la[i]], pn++;
            }
            int bad = add_row(&rows, &nrows, &caprows, "R6", modes[mode], 0, &acc, pn ? ps / pn : 0,
                              clock_mono_sec() - t0);
            evalmetrics_acc_free(&acc);
            if (bad) {
                err_set(err, "out of memory");
                goto free_bufs;
            }
        }
    } else {
        size_t differ = 0, nlists = 0;
        for (int v = 0; v < (protocol == 7 ? 2 : 1); v++)
            for (int ni = 0; ni < nns; ni++) {
                size_t n = ns[ni];
                evalmetrics_acc_t acc_a, acc_b;
                if (evalmetrics_acc_init(&acc_a, k, ncat, err) != 0)
                    goto free_bufs;
                if (evalmetrics_acc_init(&acc_b, k, ncat, err) != 0) {
                    evalmetrics_acc_free(&acc_a);
                    goto free_bufs;
                }
                double t0 = clock_mono_sec(), ta = 0;
                int failed = 0;
                for (size_t ui = 0; ui < nu && !failed; ui++) {
                    uint32_t u = us->users[ui];
                    size_t nh, nx;
                    size_t nrel = evalusers_r5_case(us, u, n, v, low_max, 4.0f, hist, hv, &nh, excl,
                                                    &nx, rel);
                    if (nrel == 0)
                        continue;
                    /* The items left out of the history (R7's second run) are
                     * excluded by filter, so the candidates stay the first n's
                     * complement as offline. */
                    size_t nd = 0;
                    for (size_t i = 0; i < nx; i++) {
                        int in = 0;
                        for (size_t j = 0; j < nh; j++)
                            in |= hist[j] == excl[i];
                        if (!in)
                            dropped[nd++] = excl[i];
                    }
                    double t1 = clock_mono_sec();
                    long ga = recommend_history(&h, cat, hist, hv, nh, dropped, nd, k, la, err);
                    ta += clock_mono_sec() - t1;
                    if (lists && ga >= 0) {
                        size_t ulen;
                        const char *uid = idmap_key(ds->users, u, &ulen);
                        fprintf(lists, "R5%s hybrid %zu %.*s", v ? "-without-low" : "", n, (int)ulen, uid);
                        for (long i = 0; i < ga; i++)
                            fprintf(lists, " %s", catalog_id(cat, la[i]));
                        fputc('\n', lists);
                    }
                    if (ga < 0 || evalmetrics_acc_add(&acc_a, la, (size_t)ga, rel, nrel, err) != 0) {
                        failed = 1;
                        break;
                    }
                    if (protocol == 5) {
                        for (size_t i = 0; i < nh; i++)
                            ts[i] = ratings_ts(ds->ratings, us->row[us->off[u] + i]);
                        size_t ulen;
                        const char *uid = idmap_key(ds->users, u, &ulen);
                        char fresh[200];
                        snprintf(fresh, sizeof fresh, "%s-%ld-%llu-%zu-%.*s", cfg_str(cfg, "user-prefix"),
                                 (long)getpid(), (unsigned long long)seed, n, (int)ulen, uid);
                        long gb = recommend_feedback(&h, cat, fresh, hist, hv, ts, nh, k, lb, err);
                        if (gb < 0 || evalmetrics_acc_add(&acc_b, lb, (size_t)gb, rel, nrel, err) != 0) {
                            failed = 1;
                            break;
                        }
                        nlists++;
                        if (ga != gb || memcmp(la, lb, (size_t)ga * sizeof *la) != 0) {
                            differ++;
                            if (differ <= 5) {
                                fprintf(stderr, "recsys-wireval: n=%zu user %.*s: history path and "
                                                "AddFeedback path differ:\n  a:", n, (int)ulen, uid);
                                for (long i = 0; i < ga; i++)
                                    fprintf(stderr, " %s", catalog_id(cat, la[i]));
                                fprintf(stderr, "\n  b:");
                                for (long i = 0; i < gb; i++)
                                    fprintf(stderr, " %s", catalog_id(cat, lb[i]));
                                fprintf(stderr, "\n");
                            }
                        }
                    }
                }
                int bad = failed;
                if (!failed) {
                    char pl[24];
                    snprintf(pl, sizeof pl, "%s", protocol == 7 ? (v ? "R7-without-low" : "R7-with-low") : "R5");
                    bad = add_row(&rows, &nrows, &caprows, pl, "hybrid (history)", (int)n, &acc_a, 0, ta);
                    if (!bad && protocol == 5)
                        bad = add_row(&rows, &nrows, &caprows, pl, "hybrid (feedback)", (int)n, &acc_b, 0,
                                      clock_mono_sec() - t0 - ta);
                    if (bad)
                        err_set(err, "out of memory");
                }
                evalmetrics_acc_free(&acc_a);
                evalmetrics_acc_free(&acc_b);
                if (bad)
                    goto free_bufs;
            }
        if (protocol == 5) {
            printf("history path vs AddFeedback path: %zu of %zu lists differ%s\n", differ, nlists,
                   differ ? "" : " (identical)");
            if (differ && cfg_bool(cfg, "require-identical")) {
                print_rows(rows, nrows, k);
                err_set(err, "%zu of %zu lists differ between the history and the AddFeedback path",
                        differ, nlists);
                goto free_bufs;
            }
        }
    }
    print_rows(rows, nrows, k);
    const char *json = cfg_str(cfg, "json");
    if (json[0] && write_json(json, rows, nrows, k, seed, err) != 0)
        goto free_bufs;
    const char *cmp = cfg_str(cfg, "compare");
    if (cmp[0] && compare(cmp, rows, nrows, k, cfg_double(cfg, "tolerance"), err) != 0)
        goto free_bufs;
    rc = 0;
free_bufs:
    if (lists)
        fclose(lists);
    free(hist), free(excl), free(rel), free(la), free(lb), free(dropped), free(hv), free(ts), free(pct);
out:
    free(rows);
    evalusers_split_free(us);
    dataset_free(ds);
    return rc;
}

static int wireval_run(const cfg_t *cfg)
{
    err_t err = {0};
    int rc = run(cfg, &err);
    if (rc != 0)
        fprintf(stderr, "recsys-wireval: %s\n", err.msg);
    return rc ? 1 : 0;
}

static const daemon_section_t wireval_sections[] = {
    {"wireval", wire_options},
    {"dataset", dataset_options},
    DAEMON_SECTIONS_END,
};

static const daemon_command_t commands[] = {
    {
        .name = NULL, /* the only command */
        .usage = "--data DIR --protocol R5|R6|R7 --gateway URL [options]",
        .summary = "Runs EVALUATION.md R5/R6/R7 against a running gateway started on the "
                   "training users of the split (recsys-eval --write-train), and compares "
                   "with recsys-eval's offline numbers.",
        .sections = wireval_sections,
        .run = wireval_run,
    },
};

static const daemon_program_t program = {
    .name = "recsys-wireval",
    .service = "recsys-wireval",
    .commands = commands,
    .ncommands = sizeof commands / sizeof commands[0],
};

int main(int argc, char **argv) { return daemon_main(&program, argc, argv); }
