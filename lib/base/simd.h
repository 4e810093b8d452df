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

#endif
