/* Token shards (docs/FORMATS.md, "Token shards"), as lm-pretrain, lm-sft,
 * lm-eval and lm-info read them: shard_open, then what the trainers take from
 * an opened shard: every document's tokens, windows (pack_window, pretraining
 * validation and lm-eval loss) and packed dialogue rows (chat_pack_rows,
 * chat_fill_row, lm-sft). shard_open maps a file, where ASan would not see a
 * read past its end inside the last page; it reads a pipe into memory, so the
 * input comes through a pipe (its /dev/fd path). */
#include "fuzz.h"
#include "chat.h"
#include "pack.h"
#include "shard.h"

enum { T = 7, MAX_ROWS = 64 };

static void one(const uint8_t *data, size_t size) {
	int p[2];
	if (pipe(p)) abort();
	if (size > 65536 && fcntl(p[1], F_SETPIPE_SZ, (int)size) < (int)size) { close(p[0]); close(p[1]); return; }
	for (size_t at = 0; at < size;) {
		ssize_t w = write(p[1], data + at, size - at);
		if (w <= 0) abort();
		at += w;
	}
	close(p[1]);
	char path[32];
	snprintf(path, sizeof path, "/dev/fd/%d", p[0]);
	lm_shard *s = shard_open(path);
	close(p[0]);
	uint64_t sum = 0;
	for (uint64_t d = 0; d < s->n_docs; d++)
		for (uint64_t i = s->doc_start[d]; i < shard_doc_end(s, d); i++) sum += shard_token(s, i);
	int tok[T], tgt[T], pos[T], seg[T];
	float w[T];
	uint64_t nw = pack_windows(s, T);
	for (uint64_t r = 0; r < nw && r < MAX_ROWS; r++) pack_window(s, r, T, tok, tgt, w);
	uint64_t *docs = xmalloc((s->n_docs + 1) * sizeof *docs);
	for (uint64_t d = 0; d < s->n_docs; d++) docs[d] = d;
	size_t *row;
	size_t nr = chat_pack_rows(s, docs, s->n_docs, T, &row);
	for (size_t r = 0; r < nr && r < MAX_ROWS; r++)
		chat_fill_row(s, docs + row[r], row[r + 1] - row[r], T, tok, tgt, w, pos, seg);
	free(row);
	free(docs);
	shard_close(s);
	(void)sum;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
	fuzz_init("fuzz-shard");
	return 0;
}
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_run(one, data, size); }
