/*
 * idmap.h: external ids (strings) <-> dense indices 0..n-1.
 *
 * Datasets name users and items with arbitrary strings ("1", "tt0114709",
 * "u_42"); models want dense uint32_t indices. An idmap assigns indices in
 * insertion order and maps both ways. Keys are copied into one growing
 * buffer (NUL-terminated, so idmap_key() gives a C string); the hash table is
 * open addressing with linear probing over index slots.
 *
 * Fast path: a key that is a canonical non-negative decimal integer below
 * IDMAP_DIRECT_MAX ("0", "42", but not "042" or "+1") is found through a
 * direct array indexed by its value instead of the hash table. MovieLens and
 * TMDB ids are all like that, so loading 25M ratings never hashes. Either
 * way the observable behaviour is the same: keys are compared as strings,
 * so "042" and "42" are different ids.
 */
#ifndef RECSYS_COMMON_IDMAP_H
#define RECSYS_COMMON_IDMAP_H

#include <stddef.h>
#include <stdint.h>

#define IDMAP_NONE UINT32_MAX
#define IDMAP_DIRECT_MAX (1u << 22)

typedef struct idmap idmap_t;

idmap_t *idmap_new(void);
void idmap_free(idmap_t *m);

/* Index of key s[0..len), adding it when absent. Returns 1 when it was
 * added, 0 when it was there, -1 when out of memory (or over 2^32-2 keys). */
int idmap_intern(idmap_t *m, const char *s, size_t len, uint32_t *out);
/* Index of the key, or IDMAP_NONE. */
uint32_t idmap_find(const idmap_t *m, const char *s, size_t len);
/* The same for a decimal integer key (its canonical spelling). */
uint32_t idmap_find_int(const idmap_t *m, uint64_t v);
int idmap_intern_int(idmap_t *m, uint64_t v, uint32_t *out);

uint32_t idmap_size(const idmap_t *m);
/* Key of index i (NUL-terminated); *len (optional) gets its length. The
 * pointer stays valid until the next key is added. NULL when i is out of range. */
const char *idmap_key(const idmap_t *m, uint32_t i, size_t *len);
/* Bytes held (keys, offsets, tables), for memory reports. */
size_t idmap_memory(const idmap_t *m);

/* Parses a canonical decimal integer (no sign, no leading zero except "0",
 * at most 19 digits); returns 0 and *v, or -1. Shared by loaders. */
int idmap_parse_canonical(const char *s, size_t len, uint64_t *v);

#endif
