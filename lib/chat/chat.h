/* chat: dialogues in chat JSONL and Llama 2's chat template.
 *
 * A dialogue is {"messages": [{"role": "system"|"user"|"assistant", "content":
 * "..."}, ...]}: an optional system message, then user and assistant turns
 * alternating, starting with the user. Training data ends with an assistant
 * turn; a prompt for generation ends with a user turn.
 *
 * Rendering is Meta's chat_completion (llama/generation.py): the system prompt
 * becomes "<<SYS>>\n" + system + "\n<</SYS>>\n\n" in front of the first user
 * message; each completed turn is one encode call with BOS and EOS of
 *     "[INST] " + strip(user) + " [/INST] " + strip(answer) + " "
 * and a final user turn is "[INST] " + strip(user) + " [/INST]" with BOS only.
 * strip is Python's str.strip() (Unicode whitespace). The loss mask is 1 on a
 * turn's answer tokens and its EOS, 0 on everything else. */
#ifndef LM_CHAT_H
#define LM_CHAT_H
#include <stddef.h>
#include <stdint.h>
#include "tokenizer.h"

typedef enum { CHAT_SYSTEM, CHAT_USER, CHAT_ASSISTANT } chat_role;

typedef struct chat_msg {
	chat_role role;
	char *content;      /* UTF-8, NUL-terminated, as given (not stripped) */
	size_t len;
} chat_msg;

typedef struct chat_dialog {
	chat_msg *msg;
	int n, cap;
} chat_dialog;

/* Which role a valid dialogue ends with. */
enum { CHAT_END_ASSISTANT, CHAT_END_USER };

/* Parse one JSONL line into d (its previous messages are freed). Returns NULL,
 * or the reason the line is not a valid dialogue ending as end asks. */
const char *chat_parse(chat_dialog *d, const char *line, size_t len, int end);
/* Check a dialogue built in memory the same way chat_parse checks a line. */
const char *chat_check(const chat_dialog *d, int end);
void chat_add(chat_dialog *d, chat_role role, const char *content, size_t len);
void chat_clear(chat_dialog *d);     /* drop every message, keep the allocation */
void chat_free(chat_dialog *d);      /* free the messages; d itself is the caller's */
const char *chat_role_name(chat_role r);

/* Reading chat JSONL: a malformed line dies with "path:LINE: reason" unless
 * skip_bad, when it is skipped and counted. */
typedef struct chat_reader chat_reader;
chat_reader *chat_open(const char *path, int end, int skip_bad);
const chat_dialog *chat_next(chat_reader *r);   /* NULL at the end of input */
long long chat_lineno(const chat_reader *r);    /* line of the last dialogue */
const char *chat_line(const chat_reader *r);    /* its text, valid until chat_next */
long long chat_bad(const chat_reader *r);
void chat_close(chat_reader *r);

/* Rendered tokens; mask[i] = 1 when ids[i] is a training target. */
typedef struct chat_tokens {
	int32_t *ids;
	uint8_t *mask;
	size_t n, cap;
} chat_tokens;

/* Append the rendering of d to out (out zeroed or reused after out->n = 0).
 * last_only: mask every answer but the last one (Ghost Attention's samples). */
void chat_render(const lm_tokenizer *t, const chat_dialog *d, int last_only, chat_tokens *out);
void chat_tokens_free(chat_tokens *out);

/* Render every dialogue of chat JSONL at in_path into a token shard with a loss
 * mask at out_path, one document per dialogue. Returns the dialogues written;
 * *bad (when non-NULL) gets the lines skipped under skip_bad. */
long long chat_to_shard(const lm_tokenizer *t, const char *in_path, const char *out_path, int last_only,
			int skip_bad, long long *bad);

/* Packing for supervised fine-tuning: documents (dialogues) of a shard laid
 * end to end in rows of T positions. Inside a row each document keeps its own
 * RoPE positions (0, 1, ...) and segment, so attention never crosses it; a
 * position's target is the next token of the same document, weighted by that
 * token's mask; a document's last position and the padding have no target. A
 * document longer than T is cut to its first T tokens, alone in its row. */
#include "shard.h"
/* Split docs[0..n) (shard document indices, in training order) into rows:
 * row r holds docs[row[r] .. row[r+1]). Returns the row count; *row is
 * malloc'd with count + 1 entries. */
size_t chat_pack_rows(const lm_shard *s, const uint64_t *docs, size_t n, int T, size_t **row);
/* Fill one row of T positions from docs[0..n). targets are -1 and weights 0
 * where nothing is predicted; padding takes token 0 and its own segment.
 * Returns the number of positions with a non-zero weight. */
long chat_fill_row(const lm_shard *s, const uint64_t *docs, size_t n, int T, int *tokens, int *targets,
		   float *weights, int *pos, int *seg);

/* Python's str.strip() on UTF-8: *len shrinks, the start moves; returns it. */
const char *chat_strip(const char *s, size_t *len);

#endif
