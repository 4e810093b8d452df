/* shard: the binary token-shard format between tokenizing and training.
 *
 *   header, 64 bytes, little-endian:
 *     0  char[8]  magic "LMKSHARD"
 *     8  u32      version (1)
 *    12  u32      header size (64)
 *    16  u32      vocab size
 *    20  u32      token width in bytes: 2 when vocab <= 65536, else 4
 *    24  u32      flags: bit 0 = a loss mask follows the tokens
 *    28  u32      reserved (0)
 *    32  u64      token count N
 *    40  u64      document count D
 *    48  u8[16]   reserved (0)
 *   tokens      N × width
 *   mask        N × u8 (0 or 1), only with flag bit 0: 1 = the token is a training target
 *   doc starts  D × u64: index of each document's first token, ascending, first 0
 *
 * Documents are contiguous and start with BOS for pretraining text (a chat
 * document has one BOS per turn, so boundaries are read from doc starts, never
 * guessed from BOS). Readers mmap the file; a pipe is read into memory. */
#ifndef LM_SHARD_H
#define LM_SHARD_H
#include <stddef.h>
#include <stdint.h>

#define SHARD_MAGIC "LMKSHARD"
#define SHARD_HEADER 64
#define SHARD_MASK 1u

typedef struct lm_shard {
	char *path;
	uint32_t vocab_size, width, flags;
	uint64_t n_tokens, n_docs;
	const uint8_t *tokens;      /* n_tokens × width bytes */
	const uint8_t *mask;        /* NULL without a mask */
	const uint64_t *doc_start;  /* n_docs entries */
	void *map; size_t map_len;  /* mmap'd file, or */
	char *heap;                 /* input read from a pipe */
} lm_shard;

/* Open and validate (magic, version, sizes against the file length, doc starts
 * in order); dies with "path: reason". "-" reads standard input. */
lm_shard *shard_open(const char *path);
void shard_close(lm_shard *s);

static inline uint32_t shard_token(const lm_shard *s, uint64_t i) {
	if (s->width == 2) return (uint32_t)s->tokens[2 * i] | (uint32_t)s->tokens[2 * i + 1] << 8;
	const uint8_t *p = s->tokens + 4 * i;
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
/* tokens of document d: [doc_start[d], shard_doc_end(s, d)) */
static inline uint64_t shard_doc_end(const lm_shard *s, uint64_t d) {
	return d + 1 < s->n_docs ? s->doc_start[d + 1] : s->n_tokens;
}

/* Writer: appears at path only when shard_finish succeeds ("-" = stdout). */
typedef struct lm_shard_writer lm_shard_writer;
lm_shard_writer *shard_create(const char *path, uint32_t vocab_size, int with_mask);
/* Append one document; ids must be < vocab_size (dies otherwise); mask may be
 * NULL (all ones) when the shard has one. */
void shard_add_doc(lm_shard_writer *w, const int32_t *ids, const uint8_t *mask, size_t n);
void shard_finish(lm_shard_writer *w);

#endif
