/* Gzip (or plain) line input, as every tool reading text or JSONL gets it:
 * in_open over the input as a file, in_line to the end, in_close. */
#include "fuzz.h"

static void one(const uint8_t *data, size_t size) {
	lm_in *in = in_open(fuzz_file(data, size));
	while (in_line(in))
		if (in->len >= in->cap || in->buf[in->len] || (in->len && in->buf[in->len - 1] == '\n')) abort();
	in_close(in);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
	fuzz_init("fuzz-gzip");
	return 0;
}
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_run(one, data, size); }
