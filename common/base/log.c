/*
 * log.c: JSON-lines logger (see log.h).
 *
 * The level and service name are set once at start-up (log_setup) before any
 * thread starts, and only read afterwards. Each line is formatted into a
 * stack buffer and written with one write(2) call, which POSIX keeps whole for
 * pipes up to PIPE_BUF and which in practice keeps lines whole on stderr.
 */
#include "common/base/log.h"
#include "common/base/clock.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const cfg_option_t log_options[] = {
    {"log-level", CFG_STRING, "info", "Minimum level logged on stderr: debug, info, warn, error or off.", 0, 0},
    CFG_END,
};

static log_level_t g_level = LOG_INFO;
static char g_service[64] = "recsys";

static const char *level_names[] = {"debug", "info", "warn", "error", "off"};

void log_setup(const char *service, log_level_t level)
{
    snprintf(g_service, sizeof g_service, "%s", service ? service : "recsys");
    g_level = level;
}

int log_level_parse(const char *s, log_level_t *out)
{
    for (int i = 0; i <= LOG_OFF; i++) {
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = (log_level_t)i;
            return 0;
        }
    }
    if (strcasecmp(s, "warning") == 0) {
        *out = LOG_WARN;
        return 0;
    }
    return -1;
}

int log_setup_cfg(const char *service, const cfg_t *cfg, err_t *err)
{
    log_level_t lv;
    const char *s = cfg_str(cfg, "log-level");
    if (log_level_parse(s, &lv) != 0)
        return err_set(err, "--log-level=%s: expected debug, info, warn, error or off", s);
    log_setup(service, lv);
    return 0;
}

log_level_t log_level(void) { return g_level; }

typedef struct {
    char buf[4096];
    size_t len;
} line_t;

static void put(line_t *l, const char *s, size_t n)
{
    if (l->len + n > sizeof l->buf - 3)
        n = sizeof l->buf - 3 - l->len;
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

static void put_str(line_t *l, const char *s) { put(l, s, strlen(s)); }

static void put_json_string(line_t *l, const char *s)
{
    put(l, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        switch (*p) {
        case '"': put(l, "\\\"", 2); break;
        case '\\': put(l, "\\\\", 2); break;
        case '\n': put(l, "\\n", 2); break;
        case '\r': put(l, "\\r", 2); break;
        case '\t': put(l, "\\t", 2); break;
        default:
            if (*p < 0x20) {
                snprintf(esc, sizeof esc, "\\u%04x", *p);
                put_str(l, esc);
            } else {
                put(l, (const char *)p, 1);
            }
        }
    }
    put(l, "\"", 1);
}

static int looks_bare(const char *v)
{
    if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0 || strcmp(v, "null") == 0)
        return 1;
    if (*v == '\0')
        return 0;
    char *end;
    strtod(v, &end);
    /* JSON numbers: no leading '+', no hex, no inf/nan, no leading zeros. */
    return *end == '\0' && (v[0] == '-' || (v[0] >= '0' && v[0] <= '9')) &&
           strpbrk(v, "xXiInN") == NULL && !(v[0] == '0' && v[1] >= '0' && v[1] <= '9');
}

static void begin(line_t *l, log_level_t level)
{
    int64_t ms = clock_wall_ms();
    time_t sec = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&sec, &tm);
    char head[128];
    int n = snprintf(head, sizeof head, "{\"ts\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\",\"level\":\"%s\",\"service\":",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     (long)(ms % 1000), level_names[level]);
    l->len = 0;
    put(l, head, (size_t)n);
    put_json_string(l, g_service);
    put_str(l, ",\"msg\":");
}

static void finish(line_t *l)
{
    l->buf[l->len++] = '}';
    l->buf[l->len++] = '\n';
    ssize_t w = write(STDERR_FILENO, l->buf, l->len);
    (void)w;
}

void log_msg(log_level_t level, const char *fmt, ...)
{
    if (level < g_level || level >= LOG_OFF)
        return;
    char msg[3072];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    line_t l;
    begin(&l, level);
    put_json_string(&l, msg);
    finish(&l);
}

void log_kv(log_level_t level, const char *msg, ...)
{
    if (level < g_level || level >= LOG_OFF)
        return;
    line_t l;
    begin(&l, level);
    put_json_string(&l, msg);
    va_list ap;
    va_start(ap, msg);
    for (;;) {
        const char *k = va_arg(ap, const char *);
        if (k == NULL)
            break;
        const char *v = va_arg(ap, const char *);
        if (v == NULL)
            v = "null";
        put(&l, ",", 1);
        put_json_string(&l, k);
        put(&l, ":", 1);
        if (looks_bare(v))
            put_str(&l, v);
        else
            put_json_string(&l, v);
    }
    va_end(ap);
    finish(&l);
}
