/*
 * arena.h: a bump allocator for one request's short-lived objects.
 *
 * A worker builds each protobuf reply (item id strings, repeated arrays,
 * sub-messages) in an arena, packs it, and frees everything at once: no
 * per-field free, no leak when a handler fails half-way. Not thread-safe:
 * one arena per request.
 */
#ifndef RECSYS_COMMON_ARENA_H
#define RECSYS_COMMON_ARENA_H

#include <stddef.h>

typedef struct arena_chunk arena_chunk_t;

typedef struct arena {
    arena_chunk_t *head;
    size_t used;   /* bytes handed out, for accounting */
} arena_t;

void arena_init(arena_t *a);
/* 16-byte aligned, zeroed memory; NULL when memory ran out. */
void *arena_alloc(arena_t *a, size_t size);
/* Copy of s[0..len) with a NUL; NULL when memory ran out. */
char *arena_strndup(arena_t *a, const char *s, size_t len);
char *arena_strdup(arena_t *a, const char *s);
/* printf into the arena. */
char *arena_printf(arena_t *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void arena_free(arena_t *a);

#endif
