/* SentencePiece .model files (protobuf ModelProto): spm_parse from memory,
 * whose result must serialize to a fixed point (parse, serialize, parse,
 * serialize: the same bytes twice), then the input as a file through
 * tok_load and the tokenizer's uses (tok.h). */
#include "tok.h"
#include "spm.h"

static void one(const uint8_t *data, size_t size) {
	const char *err;
	spm_model *m = spm_parse(data, size, &err);
	if (m) {
		size_t n1, n2;
		uint8_t *b1 = spm_serialize(m, &n1);
		spm_model *m2 = spm_parse(b1, n1, &err);
		if (!m2) abort();
		uint8_t *b2 = spm_serialize(m2, &n2);
		if (n1 != n2 || memcmp(b1, b2, n1)) abort();
		free(b1);
		free(b2);
		spm_free(m2);
		spm_free(m);
	}
	fuzz_tokenizer(fuzz_file(data, size));
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
	fuzz_init("fuzz-spm");
	return 0;
}
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_run(one, data, size); }
