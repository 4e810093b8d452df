/* bf16: bfloat16 weights for generation.
 *
 * Decoding one token reads every weight once, so batch-1 generation runs at
 * the speed memory delivers the weights; bf16 (the top 16 bits of a float)
 * halves their bytes. model_weights converts a loaded model once into a bf16
 * copy of its block, each parameter rounded to the nearest bf16 (ties to
 * even), which the matmuls read instead of the floats. The float block stays
 * as it was for what is read a row or a vector at a time (embedding rows,
 * norms, a score head): rounding those too saves no time and, on stories260K,
 * made the log-prob gap to fp32 a third larger. Products and sums stay in
 * fp32: a weight widens to a float exactly, and the activations, the KV cache
 * and every accumulator are floats.
 *
 * matmul_forward_bf16 sums each output in one fixed order whatever the CPU's
 * vector width or the number of rows: in each block of 32 elements of a row,
 * elements 2i and 2i+1 go in turn to lane i of 16 fma chains, then the lanes
 * are added pairwise (i + i+8, i + i+4, then (0+2) + (1+3)). So the AVX-512, AVX2 and portable kernels give the same bits, and
 * a row's result does not depend on the other rows of the product. The kernel
 * is chosen when first used from what the CPU supports. Products large enough
 * to pay for it are split by rows of w over lmkit's worker threads
 * (omp_get_max_threads in all), which spin briefly between products: waking
 * sleeping threads for each of the ~40 products of a token would cost more
 * than the product. */
#ifndef LM_BF16_H
#define LM_BF16_H
#include "model.h"
#include <stdint.h>
#include <string.h>

/* x rounded to the nearest bf16, ties to even; NaN stays NaN. */
static inline uint16_t bf16_round(float x) {
	uint32_t u;
	memcpy(&u, &x, 4);
	if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)(u >> 16 | 0x40);
	return (uint16_t)((u + 0x7fffu + (u >> 16 & 1)) >> 16);
}
static inline float bf16_float(uint16_t h) {
	uint32_t u = (uint32_t)h << 16;
	float x;
	memcpy(&x, &u, 4);
	return x;
}

/* out(N, OUT) = inp(N, IN) · w(OUT, IN)^T with w in bf16. */
void matmul_forward_bf16(float *out, const float *inp, const uint16_t *w, int N, int IN, int OUT);

/* A team's share of a product (lm-sample's decoding): the input rearranged
 * once as the kernels read it, bf16_split_floats(N, IN) floats at xs, then
 * outputs j0..j1 of every row of out(N, OUT) = inp·w^T on the calling thread,
 * in matmul_forward_bf16's order (the same bits however the rows are split). */
size_t bf16_split_floats(int N, int IN);
void bf16_split(float *xs, const float *inp, int N, int IN);
void matmul_bf16_rows(float *out, const float *xs, const uint16_t *w, int N, int IN, int OUT, int j0, int j1);

/* The kernel in use: "avx512", "avx2" or "portable". */
const char *bf16_kernel(void);
/* Use the named kernel from now on (tests compare them); 0 when the CPU
 * lacks it or the name is unknown. */
int bf16_use(const char *name);

/* "f32" leaves m as it is; "bf16" converts it as above (once: a second call
 * changes nothing). Dies naming the option on another value. */
void model_weights(lm_model *m, const char *type, const char *option);

/* out(N, OUT) = inp(N, IN) · w^T for a matrix w inside m's block (OUT rows
 * of IN): from the bf16 copy when m has one, else matmul_forward's fp32. */
void model_matmul(float *out, const float *inp, const lm_model *m, const float *w, int N, int IN, int OUT);

#endif
