/* pack: how tokens fill the rows of a batch that is measured or learned
 * from in order: the one rule for SFT dialogues, evaluation, validation and
 * reward-model pairs.
 *
 * Windows (a shard read as one stream, lm-pretrain's validation and lm-eval
 * loss): row r holds tokens [rT, rT+T), each predicting the next token; past
 * the end of the shard a position holds token 0 and predicts nothing, so
 * every token but the first is a target exactly once.
 *
 * Units (a dialogue, or a pair of dialogues that must be scored together)
 * are laid end to end in rows of T positions, in order: a unit that does not
 * fit in what is left of the row starts the next row. A unit longer than T
 * is cut to T, alone in its row (callers that cannot cut refuse it first).
 * Inside a row each sequence keeps its own RoPE positions (0, 1, ...) and its
 * own segment, so attention never crosses it; padding takes token 0,
 * position 0 and a segment of its own. */
#ifndef LM_PACK_H
#define LM_PACK_H
#include "shard.h"
#include <stddef.h>
#include <stdint.h>

/* The windows of T that cover shard s. */
uint64_t pack_windows(const lm_shard *s, int T);
/* Fill window r: tokens, targets (-1: none) and, when weight is non-NULL,
 * each target's weight (the shard's loss mask, or 1; 0 where no target). */
void pack_window(const lm_shard *s, uint64_t r, int T, int *tokens, int *targets, float *weight);

/* Split units of lengths len[0..n) into rows: row r holds units
 * row[r] .. row[r+1]-1. Returns the row count; *row is malloc'd with
 * count + 1 entries. */
size_t pack_rows(const uint64_t *len, size_t n, int T, size_t **row);

/* Pairs of sequences that must be scored in one pass (a reward model's
 * chosen and rejected replies): sequence lengths len[2i], len[2i+1], each at
 * most T, in rows of T, MB rows a micro-batch, in order. A pair goes into what
 * is left of the row when both fit, else into a fresh row, else each sequence
 * into a fresh row of its own, the two rows in one micro-batch (MB >= 2).
 * at[j] gets sequence j's first position, row·T + offset. Returns the rows. */
size_t pack_pairs(const uint64_t *len, size_t n, int T, int MB, uint64_t *at);

/* Append sequence ids[0..len) to a row being filled from position *used
 * (positions past T are dropped), as segment seg. Returns the position of its
 * last token in the row, or -1 when none of it fit. */
int pack_put(int T, int *used, const int32_t *ids, uint64_t len, int seg, int *tok, int *pos, int *segs);
/* Pad the row from *used to T. */
void pack_pad(int T, int used, int *tok, int *pos, int *segs);

#endif
