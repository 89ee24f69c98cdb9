/*
 * rng.h: small deterministic pseudo-random numbers (xoshiro256** seeded by
 * splitmix64), for generators and tests that must give the same bytes for
 * the same seed on every machine.
 *
 * No global state: every stream is an rng_t the caller owns. Independent
 * streams come from rng_seed2(seed, stream), which hashes both into the
 * state, so user 17's draws do not depend on how many draws user 16 made.
 * Derived values (normal, gamma, ...) use only libm functions whose results
 * are correctly rounded or deterministic on glibc for one build.
 */
#ifndef RECSYS_COMMON_RNG_H
#define RECSYS_COMMON_RNG_H

#include <stdint.h>

typedef struct rng {
    uint64_t s[4];
} rng_t;

/* One step of splitmix64 on *state (the classic seeding generator). */
uint64_t rng_splitmix64(uint64_t *state);
/* A strong 64-bit mix of x (splitmix64's finaliser): a hash for integers. */
uint64_t rng_mix64(uint64_t x);
/* FNV-1a of a string, then mixed: a stable hash for ids such as "alien-1979". */
uint64_t rng_hash_str(const char *s);

void rng_seed(rng_t *r, uint64_t seed);
/* A stream for (seed, stream): distinct streams are independent in practice. */
void rng_seed2(rng_t *r, uint64_t seed, uint64_t stream);

uint64_t rng_next(rng_t *r);
/* Uniform in [0, 1) with 53 random bits. */
double rng_uniform(rng_t *r);
/* Uniform in (0, 1]: safe to take the log of. */
double rng_uniform_pos(rng_t *r);
/* Uniform integer in [0, n), unbiased (Lemire's method); 0 when n == 0. */
uint64_t rng_below(rng_t *r, uint64_t n);
/* Standard normal (Box-Muller, one value per call: no cached state). */
double rng_normal(rng_t *r);
/* Exponential with mean 1. */
double rng_exponential(rng_t *r);
/* Gamma(shape, 1) (Marsaglia-Tsang; shape < 1 by boosting). shape > 0. */
double rng_gamma(rng_t *r, double shape);

#endif
