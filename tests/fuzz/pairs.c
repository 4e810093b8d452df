/* Preference pairs (docs/FORMATS.md, "Preference pairs"), as lm-rm reads
 * them: each line of the input, from memory, through rm_pair_parse, which
 * renders both replies with a real tokenizer (tests/data/tok_bpe_lmbpe.model).
 * lm-rm's own line reader is the gzip harness's in_line. */
#include "fuzz.h"
#include "rm.h"

static lm_tokenizer *tok;

static void check(const chat_tokens *t) {
	for (size_t i = 0; i < t->n; i++)
		if (t->ids[i] < 0 || t->ids[i] >= tok_vocab_size(tok) || t->mask[i] > 1) abort();
}

static void one(const uint8_t *data, size_t size) {
	rm_pair p = {0};
	const char *s = (const char *)data, *end = s + size;
	while (s < end) {
		const char *nl = memchr(s, '\n', end - s);
		size_t len = nl ? (size_t)(nl - s) : (size_t)(end - s);
		/* a line as in_line gives it: its own copy, NUL-terminated */
		char *line = fuzz_string((const uint8_t *)s, len);
		if (!rm_pair_parse(&p, tok, line, len)) {
			if (p.rating < 0 || p.rating >= RM_RATINGS) abort();
			check(&p.chosen);
			check(&p.rejected);
		}
		free(line);
		s += len + 1;
	}
	rm_pair_free(&p);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
	fuzz_init("fuzz-pairs");
	tok = tok_load("tests/data/tok_bpe_lmbpe.model");
	return 0;
}
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_run(one, data, size); }
