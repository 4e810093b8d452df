/* tok.h: what the two tokenizer harnesses (spm.c, tokbin.c) do with a file:
 * tok_load, as every tool that tokenizes reads a model, then, when it loads,
 * the uses the tools make of it: encoding a text that holds spaces, control
 * characters, multi-byte and invalid UTF-8, decoding those ids, and decoding
 * every id of the vocabulary, whole and piece by piece. Nothing dies after
 * the load (fuzz.h). */
#ifndef LM_FUZZ_TOK_H
#define LM_FUZZ_TOK_H
#include "fuzz.h"
#include "tokenizer.h"

static const char fuzz_text[] = "  Hello,\tworld!\n\n  caf\xc3\xa9 \xe2\x96\x81 \xf0\x9f\x99\x82 [INST] <s> \xff\xfe\x80 "
				"12345 aaaaaaaa  \r\n\x01\x7f the end ";

static void fuzz_tokenizer(const char *path) {
	lm_tokenizer *t = tok_load(path);
	int n = tok_vocab_size(t);
	if (n <= 0 || tok_bos(t) < -1 || tok_bos(t) >= n || tok_eos(t) < -1 || tok_eos(t) >= n) abort();
	int32_t *ids = NULL;
	size_t cap = 0, len;
	size_t k = tok_encode(t, fuzz_text, sizeof fuzz_text - 1, 1, 1, &ids, &cap);
	for (size_t i = 0; i < k; i++)
		if (ids[i] < 0 || ids[i] >= n) abort();
	free(tok_decode(t, ids, k, &len));
	ids = realloc(ids, n * sizeof *ids);
	char buf[16];
	for (int i = 0; i < n; i++) {
		ids[i] = i;
		if (!tok_piece(t, i)) abort();
		(void)tok_decode_piece(t, i ? i - 1 : -1, i, buf, &len);
	}
	free(tok_decode(t, ids, n, &len));
	free(ids);
	tok_free(t);
}
#endif
