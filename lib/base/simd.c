#include "simd.h"
#include <string.h>

static const char *const NAMES[SIMD_PATHS] = {"avx512", "avx2", "portable"};

const char *simd_name(int path) { return NAMES[path]; }

int simd_path(const char *name) {
	for (int p = 0; p < SIMD_PATHS; p++)
		if (!strcmp(name, NAMES[p])) return p;
	return -1;
}

int simd_runs(int path) {
	__builtin_cpu_init();
	switch (path) {
	case SIMD_AVX512:
		return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
		       __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma");
	case SIMD_AVX2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
	default: return 1;
	}
}

int simd_best(void) {
	int p = 0;
	while (!simd_runs(p)) p++;
	return p;
}
