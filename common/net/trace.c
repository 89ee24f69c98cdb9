/*
 * trace.c: traceparent parsing and random ids (trace.h). Random bytes come
 * from libuv's uv_random (getrandom(2) underneath), synchronously.
 */
#include "common/net/trace.h"

#include <string.h>
#include <uv.h>

static bool hex_run(const char *s, int n, bool *nonzero)
{
    for (int i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
        if (c != '0')
            *nonzero = true;
    }
    return true;
}

bool trace_parse(const char *v, char trace_id[TRACE_ID_LEN + 1], uint8_t *flags)
{
    /* 00-<32>-<16>-<2>: 55 characters; later versions may append fields. */
    if (v == NULL || strlen(v) < 55)
        return false;
    bool nz = false, tnz = false, pnz = false;
    if (!hex_run(v, 2, &nz) || strncmp(v, "ff", 2) == 0 || v[2] != '-' || !hex_run(v + 3, 32, &tnz) ||
        v[35] != '-' || !hex_run(v + 36, 16, &pnz) || v[52] != '-' || !hex_run(v + 53, 2, &nz) || !tnz || !pnz)
        return false;
    if (strncmp(v, "00", 2) == 0 && v[55] != '\0')
        return false;
    if (v[55] != '\0' && v[55] != '-')
        return false;
    memcpy(trace_id, v + 3, TRACE_ID_LEN);
    trace_id[TRACE_ID_LEN] = '\0';
    unsigned f = 0;
    sscanf(v + 53, "%2x", &f);
    *flags = (uint8_t)f;
    return true;
}

/* Ids need to be unique, not secret: a seeded splitmix64 per server costs no
 * system call per request (getrandom for each id did, measurably). */
static uint64_t next64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void trace_random_hex(uint64_t *state, char *out, int n)
{
    if (*state == 0 && uv_random(NULL, NULL, state, sizeof *state, 0, NULL) != 0)
        *state = uv_hrtime() ^ (uint64_t)(uintptr_t)state;
    unsigned char b[32];
    int nb = n / 2 > (int)sizeof b ? (int)sizeof b : n / 2;
    for (int i = 0; i < nb; i += 8) {
        uint64_t v = next64(state);
        for (int k = 0; k < 8 && i + k < nb; k++)
            b[i + k] = (unsigned char)(v >> (8 * k));
    }
    b[0] |= 1; /* never all zero */
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < nb; i++) { /* a table: snprintf per byte was a visible share of a cached answer */
        out[2 * i] = hex[b[i] >> 4];
        out[2 * i + 1] = hex[b[i] & 15];
    }
    out[2 * nb] = '\0';
}

bool trace_id_valid(const char *id)
{
    bool nz = false;
    return id != NULL && strlen(id) == TRACE_ID_LEN && hex_run(id, TRACE_ID_LEN, &nz) && nz;
}
