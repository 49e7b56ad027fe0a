/*-------------------------------------------------------------------------
 *
 * demo.h
 *	  Deterministic pseudo-random numbers for the demo store generator.
 *
 * The demo store must be the same, byte for byte, on every machine for a
 * given seed, so the generator draws from its own generator (xoshiro256**
 * seeded through splitmix64) and uses integer arithmetic only: no libm, no
 * floating point, no platform random().  Other modules that need
 * reproducible randomness (sampling in tests, benchmarks) may use it too.
 *
 * src/io/demo.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ECPOWER_DEMO_H
#define ECPOWER_DEMO_H

#include "postgres.h"

/* xoshiro256** state */
typedef struct EcpRng
{
	uint64		s[4];
} EcpRng;

/* splitmix64: advances *x and returns a well-mixed 64-bit value */
static inline uint64
ecp_splitmix64(uint64 *x)
{
	uint64		z = (*x += UINT64CONST(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64CONST(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64CONST(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

/* seed an independent stream from (seed, stream number) */
static inline void
ecp_rng_seed(EcpRng *rng, uint64 seed, uint64 stream)
{
	uint64		x = seed * UINT64CONST(0xD1342543DE82EF95) + stream;

	x = ecp_splitmix64(&x) ^ (stream * UINT64CONST(0x9E3779B97F4A7C15));
	for (int i = 0; i < 4; i++)
		rng->s[i] = ecp_splitmix64(&x);
}

static inline uint64
ecp_rotl64(uint64 x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* next 64 random bits (xoshiro256**) */
static inline uint64
ecp_rng_next(EcpRng *rng)
{
	uint64	   *s = rng->s;
	uint64		result = ecp_rotl64(s[1] * 5, 7) * 9;
	uint64		t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = ecp_rotl64(s[3], 45);
	return result;
}

/* uniform integer in [0, n) for n >= 1 (multiply-shift; bias < 2^-32) */
static inline uint32
ecp_rng_below(EcpRng *rng, uint32 n)
{
	return (uint32) (((ecp_rng_next(rng) >> 32) * (uint64) n) >> 32);
}

/* uniform integer in [lo, hi] */
static inline int
ecp_rng_range(EcpRng *rng, int lo, int hi)
{
	return lo + (int) ecp_rng_below(rng, (uint32) (hi - lo + 1));
}

/* true with probability per10k / 10000 */
static inline bool
ecp_rng_chance(EcpRng *rng, int per10k)
{
	return (int) ecp_rng_below(rng, 10000) < per10k;
}

#endif							/* ECPOWER_DEMO_H */
