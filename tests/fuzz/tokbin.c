/* llama2.c tokenizer.bin files: the input as a file through tok_load (which
 * tells them from .model files by content) and the tokenizer's uses (tok.h). */
#include "tok.h"

static void one(const uint8_t *data, size_t size) {
	fuzz_tokenizer(fuzz_file(data, size));
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
	fuzz_init("fuzz-tokbin");
	return 0;
}
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_run(one, data, size); }
