#include "rng.h"
#include <math.h>

static uint64_t splitmix(uint64_t *x) {
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void rng_seed(lm_rng *r, uint64_t seed) {
	for (int i = 0; i < 4; i++) r->s[i] = splitmix(&seed);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t rng_u64(lm_rng *r) {
	uint64_t *s = r->s, out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
	s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
	s[2] ^= t; s[3] = rotl(s[3], 45);
	return out;
}

float rng_float(lm_rng *r) { return (rng_u64(r) >> 40) * (1.0f / 16777216.0f); }

uint64_t rng_below(lm_rng *r, uint64_t n) {
	/* rejection keeps it unbiased */
	uint64_t lim = UINT64_MAX - UINT64_MAX % n, x;
	do x = rng_u64(r); while (x >= lim);
	return x % n;
}

double rng_normal(lm_rng *r) {
	double u1 = ((rng_u64(r) >> 11) + 1) * (1.0 / 9007199254740993.0);
	double u2 = (rng_u64(r) >> 11) * (1.0 / 9007199254740992.0);
	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}
