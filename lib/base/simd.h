/* simd: which vector path a family of kernels runs (bf16.c's products,
 * layers.c's decoding). Each family keeps its own choice, so a test can force
 * one family's paths in turn; this says what the CPU can run and what it runs
 * best. */
#ifndef LM_SIMD_H
#define LM_SIMD_H

enum { SIMD_AVX512, SIMD_AVX2, SIMD_PORTABLE, SIMD_PATHS };

/* "avx512", "avx2", "portable" */
const char *simd_name(int path);
/* The path of that name, or -1. */
int simd_path(const char *name);
/* Whether this CPU runs it: AVX-512 F, BW and VL with FMA; AVX2 with FMA; always. */
int simd_runs(int path);
/* The first path of the three this CPU runs. */
int simd_best(void);

/* For the paths' own functions: the rest of a file builds for the baseline
 * x86-64, these for the instructions simd_runs checks. */
#include <immintrin.h>
#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,fma")))
#define AVX2 __attribute__((target("avx2,fma")))
#define INLINE inline __attribute__((always_inline))

/* Σ of the 16 lanes: halves, then quarters, ..., in that order (part of the
 * fixed summation order bf16.h promises) */
static AVX512 INLINE float hsum512(__m512 a) {
	__m256 s8 = _mm256_add_ps(_mm512_castps512_ps256(a), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a), 1)));
	__m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
	__m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
	return _mm_cvtss_f32(_mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 1)));
}

/* The same sum of 16 lanes held as two registers, lanes 0-7 and 8-15 */
static AVX2 INLINE float hsum256x2(__m256 lo, __m256 hi) {
	__m256 s8 = _mm256_add_ps(lo, hi);
	__m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
	__m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
	return _mm_cvtss_f32(_mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 1)));
}

/* The tiling of a product's output rows j0..j1 that bf16.c's kernels use
 * on each path: tiles of JT rows of w, each read from memory once while every input
 * row passes over it, RX input rows against RW rows of w a block (RW1 rows of
 * w against a lone input row), single rows at the edges. BLK(rw, rx) computes
 * the block at input row n, w row j. */
#define SIMD_TILES(JT, RX, RW, RW1, N, j0, j1, BLK)                                                    \
	for (int t_ = (j0); t_ < (j1); t_ += (JT)) {                                                   \
		int te_ = t_ + (JT) < (j1) ? t_ + (JT) : (j1), n = 0, j;                               \
		for (; n + (RX) <= (N); n += (RX)) {                                                   \
			for (j = t_; j + (RW) <= te_; j += (RW)) BLK(RW, RX);                          \
			for (; j < te_; j++) BLK(1, RX);                                               \
		}                                                                                      \
		for (; n < (N); n++) {                                                                 \
			for (j = t_; j + (RW1) <= te_; j += (RW1)) BLK(RW1, 1);                        \
			for (; j < te_; j++) BLK(1, 1);                                                \
		}                                                                                      \
	}

#endif
