/*
 * idmap.c: string <-> dense index map (see idmap.h).
 *
 * Layout: keys live back to back in `keys` (each NUL-terminated), off[i] is
 * where key i starts (off[n] is the end), hash[i] caches key i's hash so
 * that growing the table never rehashes strings. The table holds index+1
 * (0 = empty) and stays at most half full. Integer keys below
 * IDMAP_DIRECT_MAX go to `direct` (value -> index+1) instead.
 */
#include "common/data/idmap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct idmap {
    char *keys;
    size_t keys_len, keys_cap;
    uint64_t *off; /* n + 1 entries */
    uint32_t *hash;
    uint32_t n, cap; /* keys, capacity of off/hash (minus one) */
    uint32_t *table;
    uint32_t table_mask; /* table size - 1, 0 when no table */
    uint32_t nhashed;    /* keys in the table */
    uint32_t *direct;
    uint32_t direct_len;
};

idmap_t *idmap_new(void)
{
    idmap_t *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    m->off = calloc(1, sizeof *m->off);
    if (m->off == NULL) {
        free(m);
        return NULL;
    }
    return m;
}

void idmap_free(idmap_t *m)
{
    if (m == NULL)
        return;
    free(m->keys);
    free(m->off);
    free(m->hash);
    free(m->table);
    free(m->direct);
    free(m);
}

static uint32_t hash_bytes(const char *s, size_t len)
{
    /* FNV-1a over bytes, then a final avalanche; keys are short. */
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 32;
    return (uint32_t)h;
}

int idmap_parse_canonical(const char *s, size_t len, uint64_t *v)
{
    if (len == 0 || len > 19 || (len > 1 && s[0] == '0'))
        return -1;
    uint64_t x = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned d = (unsigned)(unsigned char)s[i] - '0';
        if (d > 9)
            return -1;
        x = x * 10 + d;
    }
    *v = x;
    return 0;
}

uint32_t idmap_size(const idmap_t *m)
{
    return m->n;
}

const char *idmap_key(const idmap_t *m, uint32_t i, size_t *len)
{
    if (i >= m->n)
        return NULL;
    if (len)
        *len = (size_t)(m->off[i + 1] - m->off[i] - 1);
    return m->keys + m->off[i];
}

size_t idmap_memory(const idmap_t *m)
{
    return sizeof *m + m->keys_cap + (size_t)(m->cap + 1) * (sizeof *m->off + sizeof *m->hash) +
           (m->table ? ((size_t)m->table_mask + 1) * sizeof *m->table : 0) +
           (size_t)m->direct_len * sizeof *m->direct;
}

static int key_eq(const idmap_t *m, uint32_t i, const char *s, size_t len)
{
    size_t klen = (size_t)(m->off[i + 1] - m->off[i] - 1);
    return klen == len && memcmp(m->keys + m->off[i], s, len) == 0;
}

static uint32_t find_hashed(const idmap_t *m, const char *s, size_t len, uint32_t h)
{
    if (m->table == NULL)
        return IDMAP_NONE;
    for (uint32_t slot = h & m->table_mask;; slot = (slot + 1) & m->table_mask) {
        uint32_t e = m->table[slot];
        if (e == 0)
            return IDMAP_NONE;
        if (m->hash[e - 1] == h && key_eq(m, e - 1, s, len))
            return e - 1;
    }
}

uint32_t idmap_find(const idmap_t *m, const char *s, size_t len)
{
    uint64_t v;
    if (idmap_parse_canonical(s, len, &v) == 0 && v < IDMAP_DIRECT_MAX)
        return v < m->direct_len && m->direct[v] ? m->direct[v] - 1 : IDMAP_NONE;
    return find_hashed(m, s, len, hash_bytes(s, len));
}

uint32_t idmap_find_int(const idmap_t *m, uint64_t v)
{
    if (v < IDMAP_DIRECT_MAX)
        return v < m->direct_len && m->direct[v] ? m->direct[v] - 1 : IDMAP_NONE;
    char buf[24];
    int n = snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
    return find_hashed(m, buf, (size_t)n, hash_bytes(buf, (size_t)n));
}

static int grow_table(idmap_t *m)
{
    uint32_t size = m->table ? (m->table_mask + 1) * 2 : 64;
    if (size == 0)
        return -1;
    uint32_t *t = calloc(size, sizeof *t);
    if (t == NULL)
        return -1;
    uint32_t mask = size - 1;
    if (m->table) {
        for (uint32_t s = 0; s <= m->table_mask; s++) {
            uint32_t e = m->table[s];
            if (e == 0)
                continue;
            uint32_t slot = m->hash[e - 1] & mask;
            while (t[slot])
                slot = (slot + 1) & mask;
            t[slot] = e;
        }
    }
    free(m->table);
    m->table = t;
    m->table_mask = mask;
    return 0;
}

/* Appends the key bytes and its offset; the caller links it into an index. */
static int append_key(idmap_t *m, const char *s, size_t len, uint32_t h)
{
    if (m->n >= UINT32_MAX - 1)
        return -1;
    if (m->n == m->cap) {
        uint32_t cap = m->cap ? (m->cap > UINT32_MAX / 4 ? UINT32_MAX - 2 : m->cap * 2) : 16;
        uint64_t *off = realloc(m->off, ((size_t)cap + 1) * sizeof *off);
        if (off == NULL)
            return -1;
        m->off = off;
        uint32_t *hh = realloc(m->hash, ((size_t)cap + 1) * sizeof *hh);
        if (hh == NULL)
            return -1;
        m->hash = hh;
        m->cap = cap;
    }
    if (m->keys_cap - m->keys_len < len + 1) {
        size_t cap = m->keys_cap ? m->keys_cap : 256;
        while (cap - m->keys_len < len + 1)
            cap *= 2;
        char *k = realloc(m->keys, cap);
        if (k == NULL)
            return -1;
        m->keys = k;
        m->keys_cap = cap;
    }
    if (len)
        memcpy(m->keys + m->keys_len, s, len);
    m->keys[m->keys_len + len] = '\0';
    m->keys_len += len + 1;
    m->hash[m->n] = h;
    m->n++;
    m->off[m->n] = m->keys_len;
    return 0;
}

static int intern_direct(idmap_t *m, uint64_t v, const char *s, size_t len, uint32_t *out)
{
    if (v >= m->direct_len) {
        uint64_t nl = m->direct_len ? m->direct_len : 1024;
        while (nl <= v)
            nl *= 2;
        if (nl > IDMAP_DIRECT_MAX)
            nl = IDMAP_DIRECT_MAX;
        uint32_t *d = realloc(m->direct, (size_t)nl * sizeof *d);
        if (d == NULL)
            return -1;
        memset(d + m->direct_len, 0, (size_t)(nl - m->direct_len) * sizeof *d);
        m->direct = d;
        m->direct_len = (uint32_t)nl;
    }
    if (m->direct[v]) {
        *out = m->direct[v] - 1;
        return 0;
    }
    char buf[24];
    if (s == NULL) {
        len = (size_t)snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
        s = buf;
    }
    if (append_key(m, s, len, 0) != 0)
        return -1;
    m->direct[v] = m->n;
    *out = m->n - 1;
    return 1;
}

static int intern_hashed(idmap_t *m, const char *s, size_t len, uint32_t *out)
{
    uint32_t h = hash_bytes(s, len);
    uint32_t i = find_hashed(m, s, len, h);
    if (i != IDMAP_NONE) {
        *out = i;
        return 0;
    }
    /* Only hashed keys count against the load factor: keep it <= 1/2. */
    if (m->table == NULL || (uint64_t)(m->nhashed + 1) * 2 > (uint64_t)m->table_mask + 1) {
        if (grow_table(m) != 0)
            return -1;
    }
    if (append_key(m, s, len, h) != 0)
        return -1;
    uint32_t slot = h & m->table_mask;
    while (m->table[slot])
        slot = (slot + 1) & m->table_mask;
    m->table[slot] = m->n;
    m->nhashed++;
    *out = m->n - 1;
    return 1;
}

int idmap_intern(idmap_t *m, const char *s, size_t len, uint32_t *out)
{
    uint64_t v;
    if (idmap_parse_canonical(s, len, &v) == 0 && v < IDMAP_DIRECT_MAX)
        return intern_direct(m, v, s, len, out);
    return intern_hashed(m, s, len, out);
}

int idmap_intern_int(idmap_t *m, uint64_t v, uint32_t *out)
{
    if (v < IDMAP_DIRECT_MAX)
        return intern_direct(m, v, NULL, 0, out);
    char buf[24];
    int n = snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
    return intern_hashed(m, buf, (size_t)n, out);
}
