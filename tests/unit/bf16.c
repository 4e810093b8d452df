/* bf16: rounding to bf16, and the bf16 matmul kernels: every kernel the CPU
 * runs gives the portable kernel's bits, a row's result does not depend on the
 * other rows or on the threads, and all are within fp32 rounding of a double
 * product of the same bf16 weights. */
#include "tap.h"
#include "bf16.h"
#include "rng.h"
#include "util.h"
#include <omp.h>
#include <string.h>

static uint16_t bits_round(uint32_t u) {
	float x;
	memcpy(&x, &u, 4);
	return bf16_round(x);
}

static const char *KERNELS[] = {"avx512", "avx2"};

int main(int argc, char **argv) {
	lm_init(argc, argv);
	ok(bits_round(0x3f800000) == 0x3f80, "1.0 is exact");
	ok(bits_round(0x3f808000) == 0x3f80 && bits_round(0x3f818000) == 0x3f82, "ties go to even");
	ok(bits_round(0x3f808001) == 0x3f81 && bits_round(0x3f807fff) == 0x3f80, "above and below the tie");
	ok(bits_round(0xbf808001) == 0xbf81, "negative values round by magnitude");
	ok(bits_round(0x7f7fffff) == 0x7f80, "past the largest bf16: infinity");
	uint16_t nan = bits_round(0x7f800001);
	ok((nan & 0x7f80) == 0x7f80 && (nan & 0x7f), "a NaN whose payload is in the low bits stays NaN");
	ok(bits_round(0xff800000) == 0xff80, "-inf stays -inf");

	static const int IN[] = {1, 5, 16, 31, 32, 33, 64, 172, 288};
	static const int OUTS[] = {1, 3, 4, 7, 70};
	static const int NS[] = {1, 2, 3, 4, 5, 9};
	lm_rng r;
	rng_seed(&r, 7);
	int max_in = 288, max_out = 70, max_n = 9;
	uint16_t *w = xmalloc((size_t)max_out * max_in * sizeof *w);
	float *x = xmalloc((size_t)max_n * max_in * sizeof *x);
	float *ref = xmalloc((size_t)max_n * max_out * sizeof *ref), *got = xmalloc((size_t)max_n * max_out * sizeof *got);
	float *row = xmalloc((size_t)max_out * sizeof *row);
	int ran[2] = {0, 0}, all_same[2] = {1, 1}, rows_alone = 1, close = 1;
	for (size_t a = 0; a < sizeof IN / sizeof *IN; a++)
		for (size_t b = 0; b < sizeof OUTS / sizeof *OUTS; b++)
			for (size_t c = 0; c < sizeof NS / sizeof *NS; c++) {
				int in = IN[a], out = OUTS[b], n = NS[c];
				for (int i = 0; i < out * in; i++) w[i] = bf16_round(rng_normal(&r));
				for (int i = 0; i < n * in; i++) x[i] = rng_normal(&r);
				if (!bf16_use("portable")) return 1;
				matmul_forward_bf16(ref, x, w, n, in, out);
				for (int i = 0; i < n && close; i++)
					for (int j = 0; j < out; j++) {
						double s = 0, mag = 0;
						for (int k = 0; k < in; k++) {
							double p = (double)bf16_float(w[(size_t)j * in + k]) * x[(size_t)i * in + k];
							s += p;
							mag += fabs(p);
						}
						if (fabs(ref[(size_t)i * out + j] - s) > 1e-6 * mag + 1e-30) close = 0;
					}
				for (int k = 0; k < 2; k++) {
					if (!bf16_use(KERNELS[k])) continue;
					ran[k] = 1;
					matmul_forward_bf16(got, x, w, n, in, out);
					if (memcmp(got, ref, (size_t)n * out * sizeof *got)) {
						if (all_same[k]) printf("# %s differs at IN %d OUT %d N %d\n", KERNELS[k], in, out, n);
						all_same[k] = 0;
					}
					for (int i = 0; i < n; i++) {
						matmul_forward_bf16(row, x + (size_t)i * in, w, 1, in, out);
						rows_alone &= !memcmp(row, got + (size_t)i * out, out * sizeof *row);
					}
				}
			}
	ok(close, "portable kernel within fp32 rounding of the double product");
	for (int k = 0; k < 2; k++) {
		if (!ran[k]) printf("ok %d # SKIP the CPU has no %s\n", ++tap_n, KERNELS[k]);
		else ok(all_same[k], "%s gives the portable kernel's bits", KERNELS[k]);
	}
	ok(rows_alone, "a row's result is the same alone and among others");

	/* large enough to be split over threads: the same bits on 2 threads as on 1 */
	if (!bf16_use("avx512")) bf16_use("avx2");
	int bi = 288, bo = 4000, bn = 3;
	uint16_t *bw = xmalloc((size_t)bo * bi * sizeof *bw);
	float *bx = xmalloc((size_t)bn * bi * sizeof *bx), *o1 = xmalloc((size_t)bn * bo * sizeof *o1);
	float *o2 = xmalloc((size_t)bn * bo * sizeof *o2);
	for (int i = 0; i < bo * bi; i++) bw[i] = bf16_round(rng_normal(&r));
	for (int i = 0; i < bn * bi; i++) bx[i] = rng_normal(&r);
	omp_set_num_threads(1);
	matmul_forward_bf16(o1, bx, bw, bn, bi, bo);
	omp_set_num_threads(2);
	int same = 1;
	for (int rep = 0; rep < 20; rep++) {
		memset(o2, 0, (size_t)bn * bo * sizeof *o2);
		matmul_forward_bf16(o2, bx, bw, bn, bi, bo);
		same &= !memcmp(o1, o2, (size_t)bn * bo * sizeof *o1);
		matmul_forward_bf16(o2, bx, bw, 1, bi, bo);
		same &= !memcmp(o1, o2, (size_t)bo * sizeof *o1);
	}
	ok(same, "2 threads give 1 thread's bits (%s)", bf16_kernel());
	free(w); free(x); free(ref); free(got); free(row); free(bw); free(bx); free(o1); free(o2);
	return done_testing();
}
