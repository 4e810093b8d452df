/* Training state (docs/FORMATS.md, "Training state"), as lm-pretrain --resume
 * reads CKPT.state: trainstate_load over the input as a file, for a model of
 * 4 dimensions, 2 heads, 1 layer and a tied vocabulary of 8. The file ends
 * with an XXH64 of the rest, which a mutation nearly always breaks; the
 * harness writes the right one over the input's last 8 bytes, so that the
 * fuzzer gets past it to the header and the moments. */
#include "fuzz.h"
#include "adamw.h"
#include "trainstate.h"
#include <xxhash.h>

static lm_model *model;
static lm_adamw *opt;

static void one(const uint8_t *data, size_t size) {
	uint8_t *b = xmalloc(size + 1);
	memcpy(b, data, size);
	if (size >= 8) {
		uint64_t h = XXH64(b, size - 8, 0);
		for (int i = 0; i < 8; i++) b[size - 8 + i] = (uint8_t)(h >> 8 * i);
	}
	const char *path = fuzz_file(b, size);
	free(b);
	lm_trainstate s;
	trainstate_load(path, &s, opt);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
	fuzz_init("fuzz-trainstate");
	lm_config c;
	config_default(&c);
	c.dim = 4, c.n_heads = 2, c.n_layers = 1, c.vocab_size = 8, c.hidden_dim = 4, c.max_seq_len = 8, c.tied = 1;
	if (config_finish(&c)) abort();
	model = model_new(&c);
	opt = adamw_new(model, 0.9f, 0.95f, 1e-8f, 0.1f);
	return 0;
}
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_run(one, data, size); }
