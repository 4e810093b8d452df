/* membw: how fast this machine's cores together read a buffer of the given size
 * (the weights a batch-1 decoding step reads once each), best of several
 * passes. At batch 1 every token reads every fp32 weight once, so this over
 * the checkpoint's size bounds any fp32 sampler's tokens per second.
 * Prints "gbps G".
 *
 * usage: membw BYTES */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
	if (argc != 2) { fprintf(stderr, "usage: membw BYTES\n"); return 2; }
	size_t n = (size_t)atof(argv[1]) / sizeof(float);
	float *a = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);
	if (!a) { fprintf(stderr, "membw: out of memory\n"); return 1; }
	for (size_t i = 0; i < n; i++) a[i] = 1;
	double best = 1e30, sink = 0;
	for (int r = 0; r < 30; r++) {
		double t = now();
		float s = 0;
#pragma omp parallel for simd reduction(+ : s) schedule(static)
		for (size_t i = 0; i < n; i++) s += a[i];
		t = now() - t;
		sink += s;
		if (t < best) best = t;
	}
	printf("gbps %.1f\n", n * sizeof(float) / best / 1e9);
	free(a);
	return sink == 0;   /* uses the sums, so the reads stay */
}
