/* llama2c: llama2.c's model.bin. A file is a header and a sequence of float
 * runs; both versions' runs are listed once (layout) and used for reading and
 * writing, so the two directions cannot disagree. */
#include "llama2c.h"
#include "util.h"
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct { float *p; size_t n; } run;

/* The float runs of a file in file order; NULL p marks the legacy freq_cis
 * block, which has no place in the model. Returns the count. */
static int layout(lm_model *m, int version, run *r) {
	const lm_config *c = &m->cfg;
	const lm_params *p = &m->p;
	size_t L = c->n_layers, d = c->dim, hd = d / c->n_heads, kv = c->n_kv_heads * hd, h = c->hidden_dim;
	size_t V = c->vocab_size;
	int n = 0;
	if (version == 0) {
		/* embedding through final norm is the block's own order */
		r[n++] = (run){p->tok_embeddings, p->norm + d - p->tok_embeddings};
		r[n++] = (run){NULL, (size_t)c->max_seq_len * hd};
	} else {
		r[n++] = (run){p->attention_norm, L * d};
		r[n++] = (run){p->ffn_norm, L * d};
		r[n++] = (run){p->norm, d};
		r[n++] = (run){p->tok_embeddings, V * d};
		r[n++] = (run){p->wq, L * d * d};
		r[n++] = (run){p->wk, L * kv * d};
		r[n++] = (run){p->wv, L * kv * d};
		r[n++] = (run){p->wo, L * d * d};
		r[n++] = (run){p->w1, L * h * d};
		r[n++] = (run){p->w2, L * d * h};
		r[n++] = (run){p->w3, L * h * d};
	}
	if (!c->tied) r[n++] = (run){p->output, V * d};
	return n;
}

static int32_t le32(const unsigned char *b) {
	return (int32_t)((uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24);
}

/* The 7 header ints as a config; NULL or why they are unusable. */
static const char *header_config(lm_config *c, const unsigned char *h, int shared) {
	config_default(c);
	c->dim = le32(h);
	c->hidden_dim = le32(h + 4);
	c->n_layers = le32(h + 8);
	c->n_heads = le32(h + 12);
	c->n_kv_heads = le32(h + 16);
	c->vocab_size = le32(h + 20);
	c->max_seq_len = le32(h + 24);
	c->tied = shared;
	if (c->hidden_dim <= 0 || c->n_kv_heads <= 0) return "hidden_dim and n_kv_heads must be positive";
	return config_finish(c);
}

/* File size the config predicts, in double so that no header overflows it. */
static double expected_size(const lm_config *c, int version) {
	double d = c->dim, hd = d / c->n_heads, kv = c->n_kv_heads * hd, h = c->hidden_dim;
	double w = (c->tied ? 1 : 2) * (double)c->vocab_size * d + d +
		   c->n_layers * (2 * d + 2 * d * d + 2 * d * kv + 3 * d * h);
	if (version == 0) return 28 + 4 * (w + (double)c->max_seq_len * hd);
	return LLAMA2C_V1_HEADER + 4 * w;
}

/* Parse a header; version -1 tries both. Returns the version or -1 with *why set. */
static int parse_header(const unsigned char *b, size_t n, uint64_t size, lm_config *c, const char **why) {
	if (n >= 8 && (uint32_t)le32(b) == LLAMA2C_MAGIC) {
		if (n < 37 || (size && size < LLAMA2C_V1_HEADER)) { *why = "truncated header"; return -1; }
		if (le32(b + 4) != 1) { *why = "unsupported version (lmkit reads llama2.c versions 0 and 1)"; return -1; }
		if (b[36] > 1) { *why = "shared-classifier byte is neither 0 nor 1"; return -1; }
		if ((*why = header_config(c, b + 8, b[36]))) return -1;
		if (c->vocab_size <= 0) { *why = "vocab_size must be positive"; return -1; }
		if (size && expected_size(c, 1) != (double)size) { *why = "file size does not match its header"; return -1; }
		return 1;
	}
	if (n < 28) { *why = "too short for a llama2.c header"; return -1; }
	int32_t v = le32(b + 20);
	unsigned char h[28];
	memcpy(h, b, 28);
	/* negative vocab_size: the classifier is not shared */
	int32_t av = v < 0 && v != INT32_MIN ? -v : v;
	h[20] = av; h[21] = av >> 8; h[22] = av >> 16; h[23] = av >> 24;
	if ((*why = header_config(c, h, v > 0))) return -1;
	if (size && expected_size(c, 0) != (double)size) { *why = "file size does not match its header"; return -1; }
	return 0;
}

int llama2c_sniff(const unsigned char *head, size_t n, uint64_t file_size) {
	lm_config c;
	const char *why;
	return parse_header(head, n, file_size, &c, &why);
}

static void read_all(int fd, void *buf, size_t n, const char *path) {
	char *p = buf;
	while (n) {
		ssize_t r = read(fd, p, n > (1u << 30) ? 1u << 30 : n);
		if (r < 0) { if (errno == EINTR) continue; die_errno("%s", path); }
		if (r == 0) die("%s: truncated", path);
		p += r; n -= r;
	}
}

lm_model *llama2c_load(const char *path) {
	int fd = open_in(path);
	struct stat st;
	if (fstat(fd, &st)) die_errno("%s", path);
	if (!S_ISREG(st.st_mode)) die("%s: not a regular file", path);
	unsigned char head[LLAMA2C_V1_HEADER];
	size_t n = (uint64_t)st.st_size < sizeof head ? (size_t)st.st_size : sizeof head;
	read_all(fd, head, n, path);
	lm_config c;
	const char *why;
	int version = parse_header(head, n, st.st_size, &c, &why);
	if (version < 0 && parse_header(head, n, 0, &c, &why) >= 0) {
		double want = expected_size(&c, (uint32_t)le32(head) == LLAMA2C_MAGIC);
		die("%s: %s: %llu bytes, its header needs %.0f", path,
		    want > (double)st.st_size ? "truncated" : "trailing bytes after the weights",
		    (unsigned long long)st.st_size, want);
	}
	if (version < 0) die("%s: not a llama2.c model.bin: %s", path, why);
	if (lseek(fd, version ? LLAMA2C_V1_HEADER : 28, SEEK_SET) < 0) die_errno("%s", path);
	lm_model *m = model_new(&c);
	run r[16];
	int nr = layout(m, version, r);
	float *skip = NULL;
	for (int i = 0; i < nr; i++) {
		if (!r[i].p) {
			skip = xrealloc(skip, r[i].n * sizeof(float));
			read_all(fd, skip, r[i].n * sizeof(float), path);
		} else {
			read_all(fd, r[i].p, r[i].n * sizeof(float), path);
		}
	}
	free(skip);
	close(fd);
	return m;
}

void llama2c_save_v0(const lm_model *m, const char *path) {
	const lm_config *c = &m->cfg;
	int32_t h[7] = {c->dim, c->hidden_dim, c->n_layers, c->n_heads, c->n_kv_heads,
			c->tied ? c->vocab_size : -c->vocab_size, c->max_seq_len};
	lm_out *o = out_open(path, 0);
	out_write(o, h, sizeof h);
	run r[16];
	int nr = layout((lm_model *)m, 0, r);
	int hd = c->dim / c->n_heads;
	for (int i = 0; i < nr; i++) {
		if (r[i].p) { out_write(o, r[i].p, r[i].n * sizeof(float)); continue; }
		/* freq_cis as model.py's precompute_freqs_cis: cos rows, then sin rows, of
		 * float angles, rounded correctly (torch's own cos may differ in the last bit) */
		float *f = xmalloc((size_t)c->max_seq_len * hd * sizeof *f);
		for (int part = 0; part < 2; part++) {
			for (int t = 0; t < c->max_seq_len; t++)
				for (int k = 0; k < hd / 2; k++) {
					float freq = 1.0f / powf(c->rope_theta, (float)(2 * k) / hd);
					float a = (float)t * freq;
					f[(size_t)t * (hd / 2) + k] = (float)(part ? sin((double)a) : cos((double)a));
				}
			out_write(o, f, (size_t)c->max_seq_len * (hd / 2) * sizeof *f);
		}
		free(f);
	}
	out_close(o);
}
