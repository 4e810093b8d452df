/* Chat dialogues (docs/FORMATS.md, "Chat"), as lm-tokenize --chat reads them
 * (chat_to_shard): chat_open over the input as a file, each dialogue through
 * chat_next with bad lines skipped, rendered in Llama 2's template by
 * chat_render with a real tokenizer (tests/data/tok_bpe_lmbpe.model). A gzip
 * input is left to the gzip harness: the reader could die on it after
 * rendering grew the tokenizer's workspace (see fuzz.h). */
#include "fuzz.h"
#include "chat.h"
#include "tokenizer.h"

static lm_tokenizer *tok;

static void one(const uint8_t *data, size_t size) {
	if (size >= 2 && data[0] == 0x1f && data[1] == 0x8b) return;
	chat_reader *r = chat_open(fuzz_file(data, size), CHAT_END_ASSISTANT, 1);
	chat_tokens tk = {0};
	for (const chat_dialog *d; (d = chat_next(r));) {
		tk.n = 0;
		chat_render(tok, d, 0, &tk);
		for (size_t i = 0; i < tk.n; i++)
			if (tk.ids[i] < 0 || tk.ids[i] >= tok_vocab_size(tok) || tk.mask[i] > 1) abort();
	}
	chat_close(r);
	chat_tokens_free(&tk);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
	fuzz_init("fuzz-chat");
	tok = tok_load("tests/data/tok_bpe_lmbpe.model");
	return 0;
}
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_run(one, data, size); }
