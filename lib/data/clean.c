/* clean: parameters, the rule driver and UTF-8 repair. The rules' shared
 * primitives lie below them: words.c, hset.c, charclass.c, utf8.c. */
#include "clean.h"
#include "util.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

const char *const clean_rule_name[R_N] = {
	"utf8", "gopher-repetition", "gopher-quality", "c4", "fineweb", "pii",
};

/* Published thresholds: Gopher (Rae et al. 2021, Table A1 and section A.1.1),
 * C4 (Raffel et al. 2020), FineWeb (Penedo et al. 2024), as datatrove's defaults.
 * A flag (lorem, javascript, ...) is on when nonzero. */
const clean_param clean_params[] = {
	{R_GOPHER_QUAL, "min_words", 50, "fewer non-symbol words drop the document"},
	{R_GOPHER_QUAL, "max_words", 100000, "more non-symbol words drop the document"},
	{R_GOPHER_QUAL, "min_mean_word", 3, "mean non-symbol word length (code points) below drops"},
	{R_GOPHER_QUAL, "max_mean_word", 10, "mean non-symbol word length above drops"},
	{R_GOPHER_QUAL, "max_hash", 0.1, "'#' per word above drops"},
	{R_GOPHER_QUAL, "max_ellipsis", 0.1, "'...' and U+2026 per word above drops"},
	{R_GOPHER_QUAL, "max_bullet_lines", 0.9, "fraction of lines starting with U+2022 or '-' above drops"},
	{R_GOPHER_QUAL, "max_ellipsis_lines", 0.3, "fraction of lines ending with an ellipsis above drops"},
	{R_GOPHER_QUAL, "min_alpha_words", 0.8, "fraction of words with a letter below drops"},
	{R_GOPHER_QUAL, "min_stop_words", 2, "fewer distinct stop words (the be to of and that have with) drop"},
	{R_GOPHER_REP, "dup_para", 0.30, "fraction of duplicate paragraphs above drops"},
	{R_GOPHER_REP, "dup_para_chars", 0.20, "characters in duplicate paragraphs / all, above drops"},
	{R_GOPHER_REP, "dup_line", 0.30, "fraction of duplicate lines above drops"},
	{R_GOPHER_REP, "dup_line_chars", 0.20, "characters in duplicate lines / all, above drops"},
	{R_GOPHER_REP, "top2", 0.20, "characters of the most frequent 2-gram / all, above drops"},
	{R_GOPHER_REP, "top3", 0.18, "same for 3-grams"},
	{R_GOPHER_REP, "top4", 0.16, "same for 4-grams"},
	{R_GOPHER_REP, "dup5", 0.15, "characters in repeated 5-grams / all, above drops"},
	{R_GOPHER_REP, "dup6", 0.14, "same for 6-grams"},
	{R_GOPHER_REP, "dup7", 0.13, "same for 7-grams"},
	{R_GOPHER_REP, "dup8", 0.12, "same for 8-grams"},
	{R_GOPHER_REP, "dup9", 0.11, "same for 9-grams"},
	{R_GOPHER_REP, "dup10", 0.10, "same for 10-grams"},
	{R_C4, "max_word_len", 1000, "lines with a longer word (code points) are removed"},
	{R_C4, "terminal_punct", 1, "lines not ending in . ? ! \" ' (or ending in ...) are removed"},
	{R_C4, "min_line_words", 3, "lines with fewer words are removed"},
	{R_C4, "lorem_ipsum", 1, "a kept line containing \"lorem ipsum\" drops the document"},
	{R_C4, "javascript", 1, "lines containing \"javascript\" are removed"},
	{R_C4, "curly_bracket", 1, "a kept line containing '{' drops the document"},
	{R_C4, "policy", 1, "lines with terms-of-use / cookie phrases are removed"},
	{R_C4, "citations", 1, "[1], [edit], [citation needed] are removed from lines"},
	{R_C4, "min_sentences", 5, "fewer sentences in the kept lines drop the document"},
	{R_FINEWEB, "line_punct", 0.12, "fraction of lines ending in terminal punctuation below drops"},
	{R_FINEWEB, "short_lines", 0.67, "fraction of short lines above drops"},
	{R_FINEWEB, "short_line_len", 30, "a line this long (code points) or shorter is short"},
	{R_FINEWEB, "char_dup", 0.01, "characters in duplicate lines / all but newlines, above drops"},
	{R_FINEWEB, "list_ratio", 0.3, "newlines per word above drops"},
	{R_PII, "email", 1, "replace e-mail addresses by <EMAIL>"},
	{R_PII, "ip", 1, "replace IPv4 and IPv6 addresses by <IP>"},
	{R_PII, "phone", 1, "replace phone numbers by <PHONE>"},
};
const int clean_nparams = sizeof clean_params / sizeof *clean_params;
_Static_assert(sizeof clean_params / sizeof *clean_params == P_N, "one clean_params entry per P_");

cleaner *clean_new(void) {
	cleaner *c = xcalloc(1, sizeof *c);
	for (int i = 0; i < P_N; i++) c->p[i] = clean_params[i].def;
	for (int i = 0; i < R_N; i++) c->on[i] = 1;
	c->why = 1;
	words_init(c);
	return c;
}

void clean_want_reasons(cleaner *c, int on) { c->why = on; }

void clean_free(cleaner *c) {
	if (!c) return;
	pii_free(c);
	free(c->w);
	free(c->w2);
	free(c->set.slot);
	free(c->memo);
	for (int i = 0; i < 4; i++) free(c->buf[i]);
	free(c);
}

static int rule_index(const char *name, size_t n) {
	for (int i = 0; i < R_N; i++)
		if (strlen(clean_rule_name[i]) == n && !memcmp(clean_rule_name[i], name, n)) return i;
	return -1;
}

int clean_enable(cleaner *c, const char *rule, int on) {
	int r = rule_index(rule, strlen(rule));
	if (r < 0) return 0;
	c->on[r] = on;
	return 1;
}

int clean_enabled(const cleaner *c, int rule) { return c->on[rule]; }

static int param_index(const char *rule, size_t rn, const char *name, size_t nn) {
	int r = rule_index(rule, rn);
	for (int i = 0; r >= 0 && i < P_N; i++)
		if (clean_params[i].rule == r && strlen(clean_params[i].name) == nn &&
		    !memcmp(clean_params[i].name, name, nn)) return i;
	return -1;
}

const char *clean_set(cleaner *c, const char *a) {
	const char *dot = strchr(a, '.'), *eq = strchr(a, '=');
	if (!dot || !eq || eq < dot) return "expected RULE.NAME=VALUE";
	int i = param_index(a, dot - a, dot + 1, eq - dot - 1);
	if (i < 0) return "unknown parameter (lm-clean --list shows them)";
	const char *v = eq + 1;
	if (!strcmp(v, "off")) { c->p[i] = NAN; return NULL; }
	char *end;
	double x = strtod(v, &end);
	if (end == v || *end || isnan(x)) return "value is not a number or \"off\"";
	c->p[i] = x;
	return NULL;
}

double clean_get(const cleaner *c, const char *rule, const char *name) {
	int i = param_index(rule, strlen(rule), name, strlen(name));
	return i < 0 ? NAN : c->p[i];
}

/* NULL when s is valid UTF-8, else the repaired copy (scratch 0) in *out. */
static int utf8_repair(cleaner *c, const char *s, size_t n, const char **out, size_t *outlen) {
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;
	for (;;) {
		while (i < n) {   /* ASCII, 64 bytes at a time */
			uint64_t hi = blk_range(blk_at(s, i, n), 0x80, 0x80);
			if (hi) { i += __builtin_ctzll(hi); break; }
			i += 64;
		}
		if (i >= n) return 0;
		int l;
		while (i < n && u[i] >= 0x80 && (l = utf8_valid_len(u + i, n - i))) i += l;   /* a run of them */
		if (i < n && u[i] >= 0x80) break;
	}
	char *o = scratch(c, 0, 3 * n), *p = o;
	memcpy(p, s, i);
	p += i;
	while (i < n) {
		int l = utf8_valid_len(u + i, n - i);
		if (l) { memcpy(p, u + i, l); p += l; i += l; continue; }
		i += utf8_bad_len(u + i, n - i);
		memcpy(p, "\xEF\xBF\xBD", 3);
		p += 3;
	}
	*out = o, *outlen = p - o;
	return 1;
}

/* ---- driver ---- */

void clean_doc(cleaner *c, const char *s, size_t n, clean_result *r) {
	memset(r, 0, sizeof *r);
	r->kept = 1;
	c->wtext = NULL;
	c->cnt_text = NULL;
	r->text = s, r->len = n;
	if (c->on[R_UTF8]) {
		const char *o;
		size_t on;
		if (utf8_repair(c, s, n, &o, &on)) {
			r->utf8_repaired = 1;
			r->changed = 1;
			s = o, n = on;
		}
	}
	/* gopher-quality is a few ratios over the words that gopher-repetition needs
	 * too, its n-gram counts cost several times more, and on web text it drops the
	 * most: when no one asks which rule dropped a document, it goes first */
	int qual_first = !c->why && c->on[R_GOPHER_QUAL];
	if (qual_first && !gopher_quality(c, s, n, r)) goto drop;
	if (c->on[R_GOPHER_REP] && !gopher_repetition(c, s, n, r)) goto drop;
	if (!qual_first && c->on[R_GOPHER_QUAL] && !gopher_quality(c, s, n, r)) goto drop;
	if (c->on[R_C4]) {
		const char *o;
		size_t on;
		if (!c4_quality(c, s, n, &o, &on, r)) goto drop;
		if (on != n || (o != s && memcmp(o, s, n))) r->changed = 1;
		s = o, n = on;
	}
	if (c->on[R_FINEWEB] && !fineweb_quality(c, s, n, r)) goto drop;
	if (c->on[R_PII]) {
		size_t on;
		const char *o = pii_scrub(c, s, n, &on, r);
		if (o != s) r->changed = 1;
		s = o, n = on;
	}
	r->text = s, r->len = n;
	return;
drop:
	r->kept = 0;
	r->text = NULL, r->len = 0;
}
