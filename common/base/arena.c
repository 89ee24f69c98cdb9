/* arena.c: chunked bump allocator (see arena.h). Chunks are 64 KiB, or as
 * large as one big allocation needs; freeing walks the chunk list once. */
#include "common/base/arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_CHUNK (64u * 1024u)

struct arena_chunk {
    arena_chunk_t *next;
    size_t cap, off;
    _Alignas(16) unsigned char data[];
};

void arena_init(arena_t *a)
{
    a->head = NULL;
    a->used = 0;
}

void *arena_alloc(arena_t *a, size_t size)
{
    size_t need = (size + 15u) & ~(size_t)15u;
    if (need < size)
        return NULL;
    arena_chunk_t *c = a->head;
    if (c == NULL || c->cap - c->off < need) {
        size_t cap = need > ARENA_CHUNK ? need : ARENA_CHUNK;
        if (cap > SIZE_MAX - sizeof *c)
            return NULL;
        c = malloc(sizeof *c + cap);
        if (c == NULL)
            return NULL;
        c->cap = cap;
        c->off = 0;
        /* A big private chunk goes behind the current one so the current
         * chunk's free space stays usable. */
        if (need > ARENA_CHUNK && a->head != NULL) {
            c->next = a->head->next;
            a->head->next = c;
        } else {
            c->next = a->head;
            a->head = c;
        }
    }
    void *p = c->data + c->off;
    c->off += need;
    a->used += need;
    memset(p, 0, size);
    return p;
}

char *arena_strndup(arena_t *a, const char *s, size_t len)
{
    char *p = arena_alloc(a, len + 1);
    if (p == NULL)
        return NULL;
    if (len)
        memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *arena_strdup(arena_t *a, const char *s)
{
    return arena_strndup(a, s, strlen(s));
}

char *arena_printf(arena_t *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *p = arena_alloc(a, (size_t)n + 1);
    if (p == NULL)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

void arena_free(arena_t *a)
{
    arena_chunk_t *c = a->head;
    while (c != NULL) {
        arena_chunk_t *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
    a->used = 0;
}
