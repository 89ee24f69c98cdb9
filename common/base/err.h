/*
 * err.h: errors are values.
 *
 * A function that can fail returns 0 on success and -1 on failure, and fills
 * the caller's err_t with one human-readable line saying what was wrong and
 * where ("ratings.csv:1042: expected 4 fields, found 3"). Callers add context
 * with err_prefix() as the error travels up, so the message a user sees names
 * the file, the line and the cause.
 */
#ifndef RECSYS_COMMON_ERR_H
#define RECSYS_COMMON_ERR_H

#include <stddef.h>

#define ERR_MSG_MAX 512

typedef struct err {
    char msg[ERR_MSG_MAX];
} err_t;

#if defined(__GNUC__)
#define ERR_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define ERR_PRINTF(a, b)
#endif

/* Sets the message (printf-style); returns -1 so that `return err_set(...)` reads well. */
int err_set(err_t *e, const char *fmt, ...) ERR_PRINTF(2, 3);
/* Puts "prefix: " in front of the current message; returns -1. */
int err_prefix(err_t *e, const char *fmt, ...) ERR_PRINTF(2, 3);
/* Sets the message from errno: "<what>: <strerror(errno)>"; returns -1. */
int err_errno(err_t *e, const char *fmt, ...) ERR_PRINTF(2, 3);
void err_clear(err_t *e);

#endif
