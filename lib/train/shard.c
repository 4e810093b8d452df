#include "shard.h"
#include "util.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static uint32_t rd32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }
static void wr32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = v >> 8 * i; }
static void wr64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = v >> 8 * i; }

lm_shard *shard_open(const char *path) {
	lm_shard *s = xcalloc(1, sizeof *s);
	s->path = xstrdup(path);
	const uint8_t *b;
	size_t len;
	struct stat st;
	int fd = open_in(path);
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
		len = st.st_size;
		s->map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
		if (s->map == MAP_FAILED) die_errno("%s", path);
		s->map_len = len;
		b = s->map;
		close(fd);
	} else {
		close(fd);
		s->heap = read_file(path, &len);
		b = (const uint8_t *)s->heap;
	}
	if (len < SHARD_HEADER || memcmp(b, SHARD_MAGIC, 8)) die("%s: not an lmkit token shard (bad magic)", path);
	if (rd32(b + 8) != 1) die("%s: unsupported shard version %u", path, rd32(b + 8));
	if (rd32(b + 12) != SHARD_HEADER) die("%s: bad shard header size", path);
	s->vocab_size = rd32(b + 16);
	s->width = rd32(b + 20);
	s->flags = rd32(b + 24);
	s->n_tokens = rd64(b + 32);
	s->n_docs = rd64(b + 40);
	if (s->width != 2 && s->width != 4) die("%s: bad token width %u", path, s->width);
	if (s->width == 2 && s->vocab_size > 65536) die("%s: vocab %u does not fit 16-bit tokens", path, s->vocab_size);
	if (s->flags & ~SHARD_MASK) die("%s: unknown shard flags 0x%x", path, s->flags);
	/* vocab 0 would let any token id through to the model's embedding; ids are int32 */
	if (s->vocab_size == 0 || s->vocab_size > INT32_MAX) die("%s: vocabulary size %u", path, s->vocab_size);
	for (int i = 28; i < SHARD_HEADER; i++)
		if (b[i] && (i < 32 || i >= 48)) die("%s: reserved header byte %d is not 0", path, i);
	/* sizes checked in a way that cannot overflow */
	uint64_t avail = len - SHARD_HEADER, per_tok = s->width + (s->flags & SHARD_MASK ? 1 : 0);
	if (s->n_tokens > avail / per_tok || s->n_docs > (avail - s->n_tokens * per_tok) / 8 ||
	    SHARD_HEADER + s->n_tokens * per_tok + s->n_docs * 8 != len)
		die("%s: truncated or corrupt shard (header says %llu tokens, %llu documents; file has %zu bytes)",
		    path, (unsigned long long)s->n_tokens, (unsigned long long)s->n_docs, len);
	s->tokens = b + SHARD_HEADER;
	s->mask = s->flags & SHARD_MASK ? s->tokens + s->n_tokens * s->width : NULL;
	const uint8_t *ds = s->tokens + s->n_tokens * per_tok;
	if ((uintptr_t)ds % 8) {
		/* keep doc starts aligned for direct access */
		uint64_t *copy = xmalloc(s->n_docs * 8 + 8);
		for (uint64_t d = 0; d < s->n_docs; d++) copy[d] = rd64(ds + 8 * d);
		s->doc_start = copy;
	} else {
		s->doc_start = (const uint64_t *)ds;
	}
	if ((s->n_tokens && !s->n_docs) || (s->n_docs && s->doc_start[0] != 0)) die("%s: corrupt document index", path);
	for (uint64_t d = 1; d < s->n_docs; d++)
		if (s->doc_start[d] < s->doc_start[d - 1] || s->doc_start[d] > s->n_tokens)
			die("%s: corrupt document index", path);
	for (uint64_t i = 0; i < s->n_tokens; i++)
		if (shard_token(s, i) >= s->vocab_size)
			die("%s: token %llu is %u, outside the vocabulary of %u", path, (unsigned long long)i,
			    shard_token(s, i), s->vocab_size);
	for (uint64_t i = 0; s->mask && i < s->n_tokens; i++)
		if (s->mask[i] > 1) die("%s: loss mask of token %llu is %u, not 0 or 1", path, (unsigned long long)i, s->mask[i]);
	return s;
}

void shard_close(lm_shard *s) {
	if (!s) return;
	const uint8_t *ds = s->tokens + s->n_tokens * (s->width + (s->mask ? 1 : 0));
	if ((const uint8_t *)s->doc_start != ds) free((void *)s->doc_start);
	if (s->map) munmap(s->map, s->map_len);
	free(s->heap);
	free(s->path);
	free(s);
}

/* The writer streams tokens to a regular file and patches the header at the
 * end; for a pipe it keeps everything in memory until shard_finish. Masks and
 * document starts are kept in memory (1 byte a token, 8 a document). */
struct lm_shard_writer {
	lm_out *out;
	int seekable, with_mask;
	off_t start;              /* where the header goes */
	uint32_t vocab, width;
	uint64_t n_tokens, n_docs;
	uint8_t *tok; size_t tok_len, tok_cap;   /* pipe only */
	uint8_t *mask; size_t mask_cap;
	uint64_t *docs; size_t docs_cap;
	uint8_t buf[1 << 16]; size_t buf_len;     /* file: tokens waiting to be written */
};

lm_shard_writer *shard_create(const char *path, uint32_t vocab_size, int with_mask) {
	lm_shard_writer *w = xcalloc(1, sizeof *w);
	w->out = out_open(path, 0);
	w->vocab = vocab_size;
	w->width = vocab_size <= 65536 ? 2 : 4;
	w->with_mask = with_mask;
	w->start = ftello(w->out->f);
	w->seekable = w->start >= 0 && fseeko(w->out->f, 0, SEEK_CUR) == 0;
	if (w->seekable) {
		uint8_t zero[SHARD_HEADER] = {0};
		out_write(w->out, zero, sizeof zero);
	}
	return w;
}

static void *grow(void *p, size_t *cap, size_t need, size_t elem) {
	if (need <= *cap) return p;
	size_t c = *cap ? *cap : 4096;
	while (c < need) c *= 2;
	*cap = c;
	return xrealloc(p, c * elem);
}

void shard_add_doc(lm_shard_writer *w, const int32_t *ids, const uint8_t *mask, size_t n) {
	w->docs = grow(w->docs, &w->docs_cap, w->n_docs + 1, 8);
	w->docs[w->n_docs++] = w->n_tokens;
	if (w->with_mask) {
		w->mask = grow(w->mask, &w->mask_cap, w->n_tokens + n, 1);
		for (size_t i = 0; i < n; i++) w->mask[w->n_tokens + i] = mask ? mask[i] != 0 : 1;
	}
	for (size_t i = 0; i < n; i++) {
		if (ids[i] < 0 || (uint32_t)ids[i] >= w->vocab)
			die("%s: token id %d does not fit the vocabulary of %u", w->out->path, ids[i], w->vocab);
		uint8_t *p;
		if (w->seekable) {
			if (w->buf_len + 4 > sizeof w->buf) { out_write(w->out, w->buf, w->buf_len); w->buf_len = 0; }
			p = w->buf + w->buf_len;
			w->buf_len += w->width;
		} else {
			w->tok = grow(w->tok, &w->tok_cap, w->tok_len + 4, 1);
			p = w->tok + w->tok_len;
			w->tok_len += w->width;
		}
		uint32_t v = ids[i];
		p[0] = v; p[1] = v >> 8;
		if (w->width == 4) { p[2] = v >> 16; p[3] = v >> 24; }
	}
	w->n_tokens += n;
}

void shard_finish(lm_shard_writer *w) {
	uint8_t h[SHARD_HEADER] = {0};
	memcpy(h, SHARD_MAGIC, 8);
	wr32(h + 8, 1);
	wr32(h + 12, SHARD_HEADER);
	wr32(h + 16, w->vocab);
	wr32(h + 20, w->width);
	wr32(h + 24, w->with_mask ? SHARD_MASK : 0);
	wr64(h + 32, w->n_tokens);
	wr64(h + 40, w->n_docs);
	if (w->seekable) {
		out_write(w->out, w->buf, w->buf_len);
	} else {
		out_write(w->out, h, sizeof h);
		out_write(w->out, w->tok, w->tok_len);
	}
	if (w->with_mask) out_write(w->out, w->mask, w->n_tokens);
	for (uint64_t d = 0; d < w->n_docs; d++) {
		uint8_t b[8];
		wr64(b, w->docs[d]);
		out_write(w->out, b, 8);
	}
	if (w->seekable) {
		if (fflush(w->out->f) || pwrite(fileno(w->out->f), h, sizeof h, w->start) != sizeof h)
			die_errno("%s", w->out->path);
	}
	out_close(w->out);
	free(w->tok); free(w->mask); free(w->docs);
	free(w);
}
