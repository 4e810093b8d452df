/* bpetrain: training a SentencePiece BPE vocabulary, as spm_train --model_type=bpe
 * does, from word counts gathered in one streaming pass over the text.
 *
 * Text is normalized as SentencePiece's identity normalizer does (a "▁" dummy
 * prefix, every space becomes "▁", invalid UTF-8 becomes U+FFFD) and split into
 * words before each "▁" (a run of "▁" stays with the word that follows it when
 * whitespace-only pieces are allowed). Only the distinct words and their counts
 * are kept, so memory grows with the vocabulary of the text, not its size.
 *
 * Training follows bpe_model_trainer.cc: the required characters are the most
 * frequent ones covering character_coverage of all characters (rarer ones become
 * an unknown symbol that never merges); then the most frequent adjacent pair
 * (ties: fewer characters, then the smaller UTF-8 string) is merged, again and
 * again, skipping pairs whose result would not be a valid piece (more than
 * max_piece_len characters, mixing Unicode scripts, holding a digit, "▁" after
 * the start) or would repeat a piece already made. A pair of identical symbols
 * is counted as spm_train counts it: at the places where it was first counted,
 * every second place of a run dropped for good ("aaaa" holds "aa" twice; "xaaa"
 * holds it once, and none once "xa" is merged). Pair counts are updated
 * incrementally, only in the windows of the words a merge changes, and kept in
 * a lazy priority queue, so a merge costs time in proportion to the places it
 * changes.
 *
 * spm_train chooses each merge among its "active" pairs only: the most
 * frequent, 5% of its symbols but at least 1000, chosen again every 100 merges.
 * Late in training, when many pairs share the lowest counts, which of them are
 * active follows the order of its hash table; lm-bpe applies the tie rule to
 * all pairs, so from there on (e.g. after 5300 merges on The Devil's Dictionary,
 * 9700 on the King James Bible) the order of equal-count pieces can differ.
 *
 * The vocabulary is laid out as SentencePiece's trainer lays it out: <unk>,
 * <s>, </s> at 0, 1, 2, then control symbols, user-defined symbols and the 256
 * byte pieces <0x00>..<0xFF> at the lowest free ids, then the merged pieces in
 * the order found (score -i for the i-th), then the required characters by
 * decreasing frequency (scores continuing the sequence). */
#ifndef LM_BPETRAIN_H
#define LM_BPETRAIN_H
#include <stddef.h>
#include <stdint.h>

typedef struct bpe_options {
	int vocab_size;                /* 32000 */
	double character_coverage;     /* 0.99995 */
	int max_piece_len;             /* 16, in characters */
	int split_digits;              /* 1: every digit is a piece of its own */
	int byte_fallback;             /* 1: the 256 byte pieces are in the vocabulary */
	int add_dummy_prefix;          /* 1: "▁" before each line */
	int allow_whitespace_only_pieces; /* 1: runs of "▁" may merge ("▁▁", "▁▁▁▁") */
	int split_by_unicode_script;   /* 1 (digits count as Common, so they never join letters) */
	const char **control_symbols;  /* pieces of type CONTROL after </s> */
	size_t n_control;
	const char **user_symbols;     /* pieces of type USER_DEFINED, never split in text */
	size_t n_user;
	long long max_words;           /* 0: keep every distinct word; else prune rare words
	                                  whenever more than this many are held */
	int max_line_len;              /* 4192: longer lines (in bytes) are skipped, as spm_train
	                                  skips sentences over max_sentence_length; 0: no limit */
	int progress;                  /* 1: a progress line on stderr while merging */
} bpe_options;

/* Llama 2's tokenizer options. */
void bpe_default_options(bpe_options *o);

typedef struct bpe_trainer bpe_trainer;

/* Checks the options (dies naming the offending one) and starts an empty count. */
bpe_trainer *bpe_new(const bpe_options *o);
void bpe_free(bpe_trainer *t);

/* Count the words of len bytes of text; each '\n'-separated line is one sentence
 * (SentencePiece's unit), so a line's dummy prefix is added once per line. */
void bpe_add_text(bpe_trainer *t, const char *text, size_t len);

typedef struct bpe_stats {
	long long lines;          /* non-empty lines counted */
	long long lines_skipped;  /* longer than max_line_len */
	long long chars;          /* characters counted (after normalization) */
	long long words;          /* distinct words held */
	long long words_pruned;   /* distinct words dropped by max_words pruning */
	int required_chars;       /* characters kept by coverage */
	double coverage;          /* share of characters they cover */
	int merges;               /* pieces made by merging */
} bpe_stats;
void bpe_get_stats(const bpe_trainer *t, bpe_stats *s);

typedef struct bpe_vocab {
	size_t n;
	char **piece;     /* UTF-8, "▁" for space */
	float *score;
	int *type;        /* enum spm_piece_type (lib/text/spm.h) */
} bpe_vocab;

/* Train on everything added. Dies with a clear message when the text has no
 * characters, when vocab_size cannot hold the meta pieces and the required
 * characters, or when the text cannot yield vocab_size distinct pieces. */
bpe_vocab *bpe_train(bpe_trainer *t);
void bpe_vocab_free(bpe_vocab *v);

#endif
