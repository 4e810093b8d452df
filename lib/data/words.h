/* words: the word splitter and the line and strip primitives the cleaning
 * rules share (lib/data/words.c). */
#ifndef LM_WORDS_H
#define LM_WORDS_H
#include <stddef.h>
#include <stdint.h>

typedef struct cleaner cleaner;

/* A word as datatrove's English word splitter (spaCy) would produce it, approximately:
 * see clean_words(). */
typedef struct clean_word {
	uint64_t hash;
	uint32_t cps;           /* code points */
	uint8_t symbol;         /* every code point is punctuation (datatrove PUNCTUATION_SET) */
	uint8_t alpha;          /* some code point is a letter */
	uint8_t sent_end;       /* ".", "!" or "?" alone: ends a sentence (spaCy sentencizer) */
	uint8_t line_start;     /* the first word of a line (of str.splitlines: words never cross
	                           one); where words lie is not kept, to keep them small */
} clean_word;

/* What the Gopher quality rule counts over the words of a text, gathered while
 * splitting it so that the words need no second pass. */
typedef struct clean_wstat {
	size_t nonsym, nonsym_cps;  /* words that are not symbol words, their code points */
	size_t alpha;               /* words with a letter */
	unsigned stops;             /* bit k: the k-th of the stop words the be to of and that have with */
} clean_wstat;

/* Split text into words (c->w, c->nw). */
void clean_words(cleaner *c, const char *s, size_t n);
/* the same into another array */
void clean_words_into(cleaner *c, const char *s, size_t n, clean_word **w, size_t *nw, size_t *cap);
/* the same, skipped when c->w already holds the words of exactly this text */
void clean_words_cached(cleaner *c, const char *s, size_t n);
/* Python's str.splitlines: the next line [*a, *b) from *pos; 0 at the end. Separators
 * are \n \r \r\n \v \f \x1c \x1d \x1e U+0085 U+2028 U+2029; no empty last line. */
int py_line(const char *s, size_t n, size_t *pos, size_t *a, size_t *b);
/* str.lstrip() / str.rstrip() on [a, b): the new a or b */
size_t lstrip_at(const char *s, size_t a, size_t b);
size_t rstrip_at(const char *s, size_t a, size_t b);
/* Scratch buffer i (0..3) of at least n + 1 bytes, kept between calls. */
char *scratch(cleaner *c, int i, size_t n);
/* The hashes of one-byte words, for the splitter (clean_new). */
void words_init(cleaner *c);

#endif
