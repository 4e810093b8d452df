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
#include "charclass.h"
#include "hset.h"
#include "utf8.h"
#include "words.h"

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

/* ---- shared between the rule files (lib/data/clean.c, gopher.c, c4.c, fineweb.c, pii.c) ---- */

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
	struct chunk_memo *memo;   /* the words of recent chunks that needed splitting (words.c) */
	uint64_t hash1[256];    /* the hash of each one-byte word */
};

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
