/* llama2.c model.bin files (docs/FORMATS.md), versions 0 and 1, as the model
 * tools and lm-convert read any model: model_load over the input as a file
 * (it tells the formats apart by content, then calls llama2c_load). */
#include "fuzz.h"
#include "checkpoint.h"

static void one(const uint8_t *data, size_t size) {
	lm_model *m = model_load(fuzz_file(data, size));
	model_free(m);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
	fuzz_init("fuzz-llama2c");
	return 0;
}
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_run(one, data, size); }
