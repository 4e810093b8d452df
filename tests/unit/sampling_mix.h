/* sampling_mix.h: the samplers the sampler tests spread over a batch (greedy,
 * temperature, top-k, top-p, in turn), sequence i ending after base + i % 7
 * tokens. Header-only: each test is one file. */
#ifndef LM_TEST_SAMPLING_MIX_H
#define LM_TEST_SAMPLING_MIX_H
#include "sample.h"

static lm_sampling sampling_mix(int i, int base) {
	lm_sampling h = {0};
	switch (i % 4) {
	case 0: h.temperature = 0; break;
	case 1: h.temperature = 1.0f; break;
	case 2: h.temperature = 0.8f; h.top_k = 5; break;
	case 3: h.temperature = 1.2f; h.top_p = 0.9f; break;
	}
	h.max_new = base + i % 7;
	return h;
}

#endif
