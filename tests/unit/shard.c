/* token shards: write, read back, masks, document starts, 32-bit tokens, and corrupt files. */
#include "tap.h"
#include "shard.h"
#include "util.h"
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

/* shard_open dies on bad input: run it in a child and report whether it failed cleanly */
static int open_fails(const char *path) {
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		freopen("/dev/null", "w", stderr);
		shard_open(path);
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) && WEXITSTATUS(st) == 1;
}

int main(int argc, char **argv) {
	lm_init(argc, argv);
	char path0[] = "/tmp/lmkit-shard-XXXXXX", path[64];
	close(mkstemp(path0));
	/* the second shard a file of its own: a process does not write over what it read */
	snprintf(path, sizeof path, "%s.2", path0);

	int32_t a[] = {1, 5, 6, 7}, b[] = {1, 9}, big[] = {1, 70000};
	uint8_t ma[] = {0, 0, 1, 1};
	lm_shard_writer *w = shard_create(path0, 100, 1);
	shard_add_doc(w, a, ma, 4);
	shard_add_doc(w, b, NULL, 2);
	shard_finish(w);
	lm_shard *s = shard_open(path0);
	ok(s->n_tokens == 6 && s->n_docs == 2 && s->width == 2 && s->vocab_size == 100, "header counts");
	ok(shard_token(s, 2) == 6 && shard_token(s, 5) == 9, "tokens read back");
	ok(s->mask && s->mask[1] == 0 && s->mask[2] == 1 && s->mask[4] == 1, "mask read back");
	ok(s->doc_start[1] == 4 && shard_doc_end(s, 1) == 6, "document starts");
	shard_close(s);

	w = shard_create(path, 80000, 0);
	shard_add_doc(w, big, NULL, 2);
	shard_finish(w);
	s = shard_open(path);
	ok(s->width == 4 && shard_token(s, 1) == 70000 && !s->mask, "vocab above 65536 uses 32-bit tokens");
	shard_close(s);

	/* corrupt: truncated, bad magic, token out of vocabulary */
	size_t len;
	char *buf = read_file(path, &len);
	FILE *f = fopen(path, "wb"); fwrite(buf, 1, len - 3, f); fclose(f);
	ok(open_fails(path), "truncated shard refused");
	buf[0] = 'X';
	f = fopen(path, "wb"); fwrite(buf, 1, len, f); fclose(f);
	ok(open_fails(path), "bad magic refused");
	buf[0] = 'L';
	buf[16] = 5; buf[17] = 0; buf[18] = 0; buf[19] = 0; /* vocab 5 < token 70000 */
	f = fopen(path, "wb"); fwrite(buf, 1, len, f); fclose(f);
	ok(open_fails(path), "token outside the vocabulary refused");
	ok(open_fails("/nonexistent/shard"), "missing file refused");
	free(buf);
	unlink(path0);
	unlink(path);
	return done_testing();
}
