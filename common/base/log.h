/*
 * log.h: structured logging as JSON lines on stderr.
 *
 * Every line is one JSON object written with a single write(2), so lines from
 * several threads never interleave:
 *   {"ts":"2026-11-24T07:00:00.123Z","level":"info","service":"gateway","msg":"listening","port":8080}
 * Extra fields come as alternating key / value strings; values that look like
 * numbers, true, false or null are written bare, the rest as JSON strings.
 */
#ifndef RECSYS_COMMON_LOG_H
#define RECSYS_COMMON_LOG_H

#include "common/base/config.h"
#include "common/base/err.h"

typedef enum { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR, LOG_OFF } log_level_t;

/* Options of this module (log-level), for a binary's option list. */
extern const cfg_option_t log_options[];

void log_setup(const char *service, log_level_t level);
/* Reads log-level from a parsed configuration; returns -1 on a bad value. */
int log_setup_cfg(const char *service, const cfg_t *cfg, err_t *err);
int log_level_parse(const char *s, log_level_t *out);
log_level_t log_level(void);

/* msg is printf-style; fields (key, value, key, value, ..., NULL) follow the
 * format's own arguments are NOT supported: use log_kv for fields. */
void log_msg(log_level_t level, const char *fmt, ...) ERR_PRINTF(2, 3);
/* A message plus fields: log_kv(LOG_INFO, "listening", "port", "8080", NULL). */
void log_kv(log_level_t level, const char *msg, ...);

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
