/* minhash: what lm-dedup computes from one document's text: the normalized
 * text's hash (exact duplicates) and a MinHash signature over word n-grams
 * with its LSH band keys (near duplicates). See docs/DEDUP.md.
 *
 * Normalization: ASCII letters are lowercased; every ASCII byte that is not a
 * letter or digit, the C1/Latin-1 punctuation block (U+0080-U+00BF), General
 * Punctuation (U+2000-U+206F), U+3000-U+3003 and the BOM separate words; the
 * Latin-1 capitals U+00C0-U+00DE are lowercased; every other byte (other
 * scripts, invalid UTF-8) is part of a word as is. Words are joined by one
 * space: the normalized text. Nothing is allocated per word or per byte. */
#ifndef LM_MINHASH_H
#define LM_MINHASH_H
#include <stddef.h>
#include <stdint.h>

/* The LSH layout is fixed (datatrove's defaults): MH_BANDS bands of MH_ROWS rows. */
#define MH_BANDS 14
#define MH_ROWS 8
#define MH_PERM (MH_BANDS * MH_ROWS)
#define MH_NGRAM 5          /* default word n-gram length */
#define MH_MAXNGRAM 32

/* Scratch buffers reused from document to document. */
typedef struct mh_ctx {
	int ngram;
	char *norm; size_t norm_cap, norm_len;   /* normalized text */
	uint64_t *word; size_t word_cap, nword;   /* hash of each word */
} mh_ctx;

/* ngram 0: exact hashes only (no word hashes, no signatures), which is faster. */
void mh_init(mh_ctx *c, int ngram);
void mh_free(mh_ctx *c);

/* Normalize text into c->norm and hash its words into c->word; returns the
 * hash (XXH3-64) of the normalized text. */
uint64_t mh_normalize(mh_ctx *c, const char *text, size_t len);

/* MinHash signature of the word n-grams of the last normalized text (a text
 * of fewer than ngram words is one n-gram of all its words). Returns 0 and
 * leaves sig alone when the text has no words. */
int mh_signature(const mh_ctx *c, uint32_t sig[MH_PERM]);

/* The key of band b: a hash of its MH_ROWS rows, seeded by b. */
uint64_t mh_band_key(const uint32_t sig[MH_PERM], int b);

/* One byte of each row, enough to estimate the Jaccard similarity of two
 * documents that share a band without keeping whole signatures (b-bit MinHash). */
void mh_fingerprint(const uint32_t sig[MH_PERM], uint8_t fp[MH_PERM]);
int mh_fp_agree(const uint8_t a[MH_PERM], const uint8_t b[MH_PERM]);
/* The number of agreeing rows that confirms an estimated Jaccard >= t: rows
 * of dissimilar documents agree by chance with probability 1/256. */
int mh_fp_needed(double t);

#endif
