/* clean: document quality rules and PII scrubbing (lm-clean).
 *
 * Rules run in this order on each document; the first check that fails drops
 * the document, and a rule may also rewrite the text for the rules after it:
 *
 *   utf8               invalid UTF-8 repaired (each maximal invalid sequence -> U+FFFD)
 *   gopher-repetition  Rae et al. 2021 Table A1, as datatrove's GopherRepetitionFilter
 *   gopher-quality     Rae et al. 2021, as datatrove's GopherQualityFilter
 *   c4                 Raffel et al. 2020 line and page rules, as datatrove's C4QualityFilter
 *                      (drops lines, so it rewrites the text)
 *   fineweb            Penedo et al. 2024, as datatrove's FineWebQualityFilter
 *   pii                e-mail, IPv4/IPv6 and phone numbers -> <EMAIL> <IP> <PHONE>
 *
 * Every numeric threshold is a parameter "rule.name" (docs/CLEAN.md lists them
 * with their definitions and where lmkit differs from datatrove). A parameter
 * set to NaN ("off") disables that one check. Lengths are in Unicode code
 * points, as in datatrove. A cleaner holds reusable scratch memory and is not
 * shared between threads. */
#ifndef LM_CLEAN_H
#define LM_CLEAN_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "blk64.h"

enum clean_rule { R_UTF8, R_GOPHER_REP, R_GOPHER_QUAL, R_C4, R_FINEWEB, R_PII, R_N };
extern const char *const clean_rule_name[R_N];

typedef struct clean_param {
	int rule;
	const char *name;
	double def;
	const char *what;   /* one line for --list */
} clean_param;
extern const clean_param clean_params[];
extern const int clean_nparams;

typedef struct cleaner cleaner;

cleaner *clean_new(void);
void clean_free(cleaner *c);
/* Switch a rule on or off by name; returns 0 for an unknown name. */
int clean_enable(cleaner *c, const char *rule, int on);
int clean_enabled(const cleaner *c, int rule);
/* "rule.name=value" (value a number or "off"); returns NULL or the reason it is wrong. */
const char *clean_set(cleaner *c, const char *assignment);
double clean_get(const cleaner *c, const char *rule, const char *name);
/* Whether a dropped document's rule and check are wanted (the default). Without
 * them a document is dropped by whichever rule finds it first, cheapest first;
 * the documents kept, and their text, are the same. */
void clean_want_reasons(cleaner *c, int on);

typedef struct clean_result {
	int kept;               /* 1: keep (with text/len), 0: dropped by rule/check */
	const char *text;       /* the text to write; may point into the input or into scratch */
	size_t len;
	int changed;            /* text differs from the input */
	int rule;               /* dropping rule */
	const char *check;      /* the parameter name of the failed check (or a fixed reason) */
	double value;           /* what was measured */
	int utf8_repaired;      /* invalid UTF-8 was replaced */
	int pii[3];             /* replacements made: e-mail, IP, phone */
} clean_result;

/* Apply the enabled rules. The result's text stays valid until the next call. */
void clean_doc(cleaner *c, const char *text, size_t len, clean_result *r);

/* ---- shared between the rule files (lib/clean.c, gopher.c, c4.c, fineweb.c, pii.c) ---- */

/* parameter indices, in the order of clean_params[] */
enum {
	P_MIN_WORDS, P_MAX_WORDS, P_MIN_MEAN_WORD, P_MAX_MEAN_WORD, P_MAX_HASH, P_MAX_ELLIPSIS,
	P_MAX_BULLET_LINES, P_MAX_ELLIPSIS_LINES, P_MIN_ALPHA_WORDS, P_MIN_STOP_WORDS,
	P_DUP_PARA, P_DUP_PARA_CHARS, P_DUP_LINE, P_DUP_LINE_CHARS, P_TOP2, P_TOP3, P_TOP4,
	P_DUP5, P_DUP6, P_DUP7, P_DUP8, P_DUP9, P_DUP10,
	P_C4_MAX_WORD_LEN, P_C4_TERMINAL, P_C4_MIN_LINE_WORDS, P_C4_LOREM, P_C4_JAVASCRIPT,
	P_C4_CURLY, P_C4_POLICY, P_C4_CITATIONS, P_C4_MIN_SENTENCES,
	P_FW_LINE_PUNCT, P_FW_SHORT_LINES, P_FW_SHORT_LINE_LEN, P_FW_CHAR_DUP, P_FW_LIST,
	P_PII_EMAIL, P_PII_IP, P_PII_PHONE,
	P_N
};

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

/* A hash set / counter over 64-bit keys, reused between documents; one slot per
 * cache-line quarter so that a probe touches one line. It starts small and doubles
 * when half full, so that it holds what is distinct, not what was put. */
typedef struct hslot {
	uint64_t key;           /* 0: empty */
	uint32_t val, aux;
} hslot;
typedef struct hset {
	hslot *slot;
	size_t cap;             /* slots allocated */
	size_t n, used;         /* slots in use (a power of 2), keys held */
	int grew;               /* doubled since set_clear: slot indices taken before are stale */
} hset;

struct cleaner {
	double p[P_N];
	int on[R_N];
	int why;                /* reasons wanted: the rules run in datatrove's order */
	clean_word *w;          /* words of the current text */
	size_t nw, wcap;
	clean_wstat ws;         /* and their counts */
	size_t tlen;            /* the length of the text being split */
	hset set;
	char *buf[4];           /* text scratch: utf8 repair, c4 output, pii output, one line */
	size_t bcap[4];
	const char *wtext;      /* the text c->w was split from (NULL: none) */
	size_t wlen;
	clean_word *w2;         /* words of one line (c4) */
	size_t nw2, w2cap;
	const char *cnt_text;   /* a text whose number of words is known: cnt_nw */
	size_t cnt_len, cnt_nw;
	void *pii;              /* compiled patterns (pii.c) */
	struct chunk_memo *memo;   /* the words of recent chunks that needed splitting (clean.c) */
	uint64_t hash1[256];    /* the hash of each one-byte word */
};

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
size_t utf8_cps(const char *s, size_t n);
/* the code point at s (n > 0 bytes left), its byte length in *len; invalid bytes are U+FFFD */
uint32_t utf8_get(const char *s, size_t n, int *len);
int cp_is_punct(uint32_t cp);       /* datatrove PUNCTUATION_SET */
int cp_is_terminal(uint32_t cp);    /* datatrove TERMINAL_PUNCTUATION */
int cp_is_alpha(uint32_t cp);       /* Python str.isalpha, approximately */
int cp_is_space(uint32_t cp);       /* Python str.isspace */
/* Empty the set for about expect keys (a hint: it grows past it). */
void set_clear(hset *s, size_t expect);
void set_grow(hset *s);
static inline size_t set_slot(const hset *s, uint64_t key) {
	size_t mask = s->n - 1, i = (key ^ key >> 29) & mask;
	for (;;) {   /* one branch per probe: found and empty end it alike */
		uint64_t k = s->slot[i].key;
		if ((k == key) | (k == 0)) return i;
		i = (i + 1) & mask;
	}
}
/* Insert key; returns the slot, *fresh = 1 when it was not there. Inline: it is the
 * inner loop of the repetition rule. */
static inline size_t set_put(hset *s, uint64_t key, int *fresh) {
	if (!key) key = 1;   /* 0 marks an empty slot */
	size_t i = set_slot(s, key);
	*fresh = !s->slot[i].key;
	if (*fresh) {
		if (2 * (s->used + 1) > s->n) {
			set_grow(s);
			i = set_slot(s, key);
		}
		s->slot[i].key = key, s->slot[i].val = 0;
		s->used++;
	}
	return i;
}
/* Count key: its slot with val incremented, and aux = pos when it is new. Without a
 * branch on whether it is new, which is as likely as not in the repetition rule. */
static inline hslot *set_count(hset *s, uint64_t key, uint32_t pos) {
	key = key ? key : 1;
	size_t i = set_slot(s, key);
	int fresh = !s->slot[i].key;
	if (2 * (s->used + fresh) > s->n) {
		set_grow(s);
		i = set_slot(s, key);
	}
	hslot *e = &s->slot[i];
	e->key = key;
	e->val = fresh ? 1 : e->val + 1;
	e->aux = fresh ? pos : e->aux;
	s->used += fresh;
	return e;
}
/* the slot holding key (it must be there) */
static inline size_t set_find(const hset *s, uint64_t key) { return set_slot(s, key ? key : 1); }
char *scratch(cleaner *c, int i, size_t n);

int gopher_repetition(cleaner *c, const char *s, size_t n, clean_result *r);
int gopher_quality(cleaner *c, const char *s, size_t n, clean_result *r);
/* c4 may rewrite the text: when kept, out and outlen hold the new one */
int c4_quality(cleaner *c, const char *s, size_t n, const char **out, size_t *outlen, clean_result *r);
int fineweb_quality(cleaner *c, const char *s, size_t n, clean_result *r);
void pii_init(cleaner *c);
void pii_free(cleaner *c);
/* returns the new text (scratch) or s itself when nothing was replaced */
const char *pii_scrub(cleaner *c, const char *s, size_t n, size_t *outlen, clean_result *r);

#endif
