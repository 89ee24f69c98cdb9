/*
 * rng.c: xoshiro256** (Blackman & Vigna 2018) seeded with splitmix64; see rng.h.
 *
 * xoshiro256** passes BigCrush, is four 64-bit words of state and a handful
 * of shifts per draw, which is what a generator writing 25M ratings wants.
 */
#include "common/base/rng.h"

#include <math.h>

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF /* same bytes from gcc and clang builds (see gen.c) */
#endif

uint64_t rng_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t rng_mix64(uint64_t x)
{
    uint64_t s = x;
    return rng_splitmix64(&s);
}

uint64_t rng_hash_str(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return rng_mix64(h);
}

void rng_seed(rng_t *r, uint64_t seed)
{
    uint64_t st = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = rng_splitmix64(&st);
    /* xoshiro's one forbidden state is all zeros; splitmix64 never yields four. */
}

void rng_seed2(rng_t *r, uint64_t seed, uint64_t stream)
{
    rng_seed(r, rng_mix64(seed) ^ rng_mix64(stream * 0xd1342543de82ef95ULL + 1));
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t rng_next(rng_t *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double rng_uniform(rng_t *r) { return (double)(rng_next(r) >> 11) * 0x1.0p-53; }

double rng_uniform_pos(rng_t *r) { return ((double)(rng_next(r) >> 11) + 1.0) * 0x1.0p-53; }

uint64_t rng_below(rng_t *r, uint64_t n)
{
    if (n == 0)
        return 0;
    /* Lemire: multiply-high, reject the small biased sliver. */
    unsigned __int128 m = (unsigned __int128)rng_next(r) * n;
    uint64_t lo = (uint64_t)m;
    if (lo < n) {
        uint64_t thresh = (0 - n) % n;
        while (lo < thresh) {
            m = (unsigned __int128)rng_next(r) * n;
            lo = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

double rng_normal(rng_t *r)
{
    double u1 = rng_uniform_pos(r), u2 = rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

double rng_exponential(rng_t *r) { return -log(rng_uniform_pos(r)); }

double rng_gamma(rng_t *r, double shape)
{
    if (shape < 1.0) {
        /* Gamma(a) = Gamma(a + 1) * U^(1/a). */
        double g = rng_gamma(r, shape + 1.0);
        return g * pow(rng_uniform_pos(r), 1.0 / shape);
    }
    double d = shape - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double x = rng_normal(r), v = 1.0 + c * x;
        if (v <= 0)
            continue;
        v = v * v * v;
        double u = rng_uniform_pos(r);
        if (u < 1.0 - 0.0331 * x * x * x * x || log(u) < 0.5 * x * x + d * (1.0 - v + log(v)))
            return d * v;
    }
}
