/* tokenizer: SentencePiece BPE models (.model protobuf files) and llama2.c's
 * tokenizer.bin, behind one interface. Encoding gives exactly the ids
 * SentencePiece (for .model) or llama2.c's run.c (for tokenizer.bin) gives. */
#ifndef LM_TOKENIZER_H
#define LM_TOKENIZER_H
#include <stddef.h>
#include <stdint.h>

typedef struct lm_tokenizer lm_tokenizer;

/* Load by content (protobuf ModelProto or tokenizer.bin); dies with "path: reason"
 * on a missing, truncated, garbage or unsupported (e.g. unigram) file. */
lm_tokenizer *tok_load(const char *path);
void tok_free(lm_tokenizer *t);

int tok_vocab_size(const lm_tokenizer *t);
int tok_bos(const lm_tokenizer *t);   /* -1 when the model has none */
int tok_eos(const lm_tokenizer *t);
const char *tok_piece(const lm_tokenizer *t, int id); /* the piece as stored, e.g. "▁the", "<0x0A>" */

/* Encode len bytes of text (any bytes: see "Encoding rules" in docs/FORMATS.md).
 * The ids are stored from (*ids)[0] on, *ids grown with realloc as needed
 * (its capacity in *cap, so one buffer serves many calls); returns their
 * number. bos/eos: add them. Safe to call from several threads at once. */
size_t tok_encode(const lm_tokenizer *t, const char *text, size_t len, int bos, int eos,
		  int32_t **ids, size_t *cap);

/* The bytes that id contributes to decoded text when it follows prev (prev < 0
 * or BOS at the start): "▁" becomes a space, byte pieces become that byte, and
 * the dummy-prefix space is dropped at the start, as run.c and SentencePiece do.
 * The result points into t or buf (at least 8 bytes); *len gets its length. */
const char *tok_decode_piece(const lm_tokenizer *t, int prev, int id, char *buf, size_t *len);
/* Decode a whole id sequence as SentencePiece's DecodeIds does; malloc'd,
 * NUL-terminated (the text itself may hold NULs: use *len). An id outside the
 * vocabulary is fatal (die). */
char *tok_decode(const lm_tokenizer *t, const int32_t *ids, size_t n, size_t *len);

#endif
