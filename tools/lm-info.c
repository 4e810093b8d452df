/* lm-info: what a model, token shard or tokenizer file holds, told by content. */
#include "checkpoint.h"
#include "llama2c.h"
#include "shard.h"
#include "tokenizer.h"
#include "util.h"
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *USAGE = "FILE ...";

static void model_info(const char *path, const char *type, const lm_model *m) {
	const lm_config *c = &m->cfg;
	printf("file: %s\ntype: %s\n", path, type);
	printf("dim: %d\nn_layers: %d\nn_heads: %d\nn_kv_heads: %d\nvocab_size: %d\nhidden_dim: %d\n"
	       "max_seq_len: %d\nnorm_eps: %g\nrope_theta: %g\ntied: %s\n",
	       c->dim, c->n_layers, c->n_heads, c->n_kv_heads, c->vocab_size, c->hidden_dim, c->max_seq_len,
	       c->norm_eps, c->rope_theta, c->tied ? "true" : "false");
	printf("head: %s\n", c->head == LM_HEAD_SCORE ? "score" : "lm");
	printf("params: %zu\n", m->n_params);
	int n = params_tensors(c, NULL);
	lm_tensor *t = xmalloc(n * sizeof *t);
	size_t *bad = xmalloc(n * sizeof *bad);
	params_tensors(c, t);
	printf("non_finite: %zu\n", params_nonfinite(m, bad));
	for (int i = 0; i < n; i++) {
		printf("tensor: %s F32 [%d", t[i].name, t[i].shape[0]);
		if (t[i].ndim == 2) printf(", %d", t[i].shape[1]);
		printf("]");
		if (bad[i]) printf(" non_finite: %zu", bad[i]);
		printf("\n");
	}
	free(bad);
	free(t);
}

static void shard_info(const char *path) {
	lm_shard *s = shard_open(path);
	printf("file: %s\n", path);
	printf("type: token shard\nvocab_size: %u\ntoken_width: %u\ntokens: %llu\ndocs: %llu\nmask: %s\n",
	       s->vocab_size, s->width, (unsigned long long)s->n_tokens, (unsigned long long)s->n_docs,
	       s->mask ? "yes" : "no");
	if (s->mask) {
		uint64_t on = 0;
		for (uint64_t i = 0; i < s->n_tokens; i++) on += s->mask[i];
		printf("mask_targets: %llu\n", (unsigned long long)on);
	}
	shard_close(s);
}

static void tokenizer_info(const char *path, const char *type) {
	lm_tokenizer *t = tok_load(path);
	printf("file: %s\n", path);
	printf("type: %s\nvocab_size: %d\nbos: %d\neos: %d\n", type, tok_vocab_size(t), tok_bos(t), tok_eos(t));
	tok_free(t);
}

static void info(const char *path) {
	int fd = open(path, O_RDONLY);
	if (fd < 0) die_errno("%s", path);
	struct stat st;
	if (fstat(fd, &st)) die_errno("%s", path);
	if (!S_ISREG(st.st_mode)) die("%s: not a regular file", path);
	unsigned char h[LLAMA2C_V1_HEADER];
	ssize_t n = read(fd, h, sizeof h);
	if (n < 0) die_errno("%s", path);
	close(fd);
	int32_t first = n >= 4 ? (int32_t)(h[0] | h[1] << 8 | h[2] << 16 | (uint32_t)h[3] << 24) : 0;
	if (n >= 8 && !memcmp(h, SHARD_MAGIC, 8)) {
		shard_info(path);
		return;
	}
	int kind = ckpt_sniff(h, n, st.st_size);
	if (kind == CKPT_SAFETENSORS) {
		lm_model *m = ckpt_load(path);
		model_info(path, "checkpoint (safetensors)", m);
		model_free(m);
	} else if (kind == CKPT_LLAMA2C_V0 || kind == CKPT_LLAMA2C_V1 || llama2c_sniff(h, n, 0) >= 0 ||
		   (n >= 4 && (uint32_t)first == LLAMA2C_MAGIC)) {
		/* a damaged model.bin still gets llama2c_load's reason */
		lm_model *m = llama2c_load(path);
		model_info(path, kind == CKPT_LLAMA2C_V1 ? "llama2.c model.bin (version 1)" : "llama2.c model.bin (version 0)", m);
		model_free(m);
	} else if (n >= 1 && h[0] == 0x0a) {
		/* field 1 (pieces), length-delimited: a SentencePiece ModelProto */
		tokenizer_info(path, "tokenizer (SentencePiece model)");
	} else if (n >= 4 && first > 0 && first <= 1024) {
		/* tokenizer.bin starts with its longest piece's length */
		tokenizer_info(path, "tokenizer (llama2.c tokenizer.bin)");
	} else {
		die("%s: unrecognized file (not a checkpoint, model.bin, token shard or tokenizer)", path);
	}
}

int main(int argc, char **argv) {
	lm_init(argc, argv);
	std_options(argc, argv, USAGE);
	if (getopt(argc, argv, "") != -1) usage_exit(USAGE);
	if (optind >= argc) usage_exit(USAGE);
	for (int i = optind; i < argc; i++) {
		if (i > optind) printf("\n");
		info(argv[i]);
	}
	if (fflush(stdout) || ferror(stdout)) die_errno("stdout");
	return 0;
}
