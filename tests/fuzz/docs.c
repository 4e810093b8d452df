/* JSONL documents (docs/FORMATS.md, "Documents"), as lm-clean, lm-dedup,
 * lm-bpe and lm-tokenize --jsonl read them: docs_open over the input as a
 * file (it reads a path: plain or gzip by magic), every line through
 * docs_next, bad lines skipped and counted (-k), then docs_close. */
#include "fuzz.h"
#include "docs.h"

static void one(const uint8_t *data, size_t size) {
	lm_docs *d = docs_open(fuzz_file(data, size), 0, 1);
	size_t sum = 0;
	for (const lm_doc *doc; (doc = docs_next(d));) {
		/* what the tools use of a document; every byte of it is read */
		for (size_t i = 0; i < doc->text_len; i++) sum += (unsigned char)doc->text[i];
		for (size_t i = 0; doc->id && i < doc->id_len; i++) sum += (unsigned char)doc->id[i];
		if (doc->text_at > doc->text_end || doc->text_end > doc->line_len) abort();
	}
	if (docs_bytes(d) < 0 || docs_bad(d) < 0) abort();
	docs_close(d);
	(void)sum;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
	fuzz_init("fuzz-docs");
	return 0;
}
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_run(one, data, size); }
