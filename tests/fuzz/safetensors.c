/* Checkpoints (docs/FORMATS.md, "Checkpoints"): a safetensors header and its
 * tensors, as lm-info and every --resume read them: ckpt_load over the input
 * as a file (it reads a path). */
#include "fuzz.h"
#include "checkpoint.h"

static void one(const uint8_t *data, size_t size) {
	lm_model *m = ckpt_load(fuzz_file(data, size));
	model_free(m);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
	fuzz_init("fuzz-safetensors");
	return 0;
}
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_run(one, data, size); }
