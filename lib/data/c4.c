/* c4: the C4 line and page rules (Raffel et al. 2020) with the definitions of
 * datatrove's C4QualityFilter (split on lines, citations removed, policy lines
 * dropped); docs/CLEAN.md states them. Kept lines are rejoined with '\n'. */
#include "clean.h"
#include <math.h>
#include <string.h>

static int on(double v) { return !isnan(v) && v != 0; }

/* lower-case ASCII of c */
static inline char lc(char c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

/* does the lower-case needle start at s (n bytes left), ignoring ASCII case */
static int at_ci(const char *s, size_t n, const char *needle, size_t m) {
	if (n < m) return 0;
	for (size_t j = 0; j < m; j++)
		if (lc(s[j]) != needle[j]) return 0;
	return 1;
}

enum { F_LOREM = 1, F_JAVASCRIPT = 2, F_CURLY = 4, F_POLICY = 8 };

/* Which of the phrases C4 looks for are in the line, in one pass: only where two
 * bytes start one of them (lo ja te pr co us, any case) is a phrase compared. */
static unsigned phrases(const char *s, size_t n) {
	static const char *const policy[] = {"terms of use", "privacy policy", "cookie policy", "uses cookies",
	                                     "use of cookies", "use cookies"};
	unsigned f = 0;
	for (size_t i = 0; i < n; i += 64) {
		/* the lower-cased pairs ('|0x20' lower-cases exactly the letters when compared
		 * with a lower-case letter); past n are zeros, which match nothing */
		blk64 v = blk_at(s, i, n), lv = blk_or(v, 0x20), v1 = blk_or(blk_at(s, i + 1, n), 0x20);
		uint64_t m = (blk_eq(lv, 'l') & blk_eq(v1, 'o')) | (blk_eq(lv, 'j') & blk_eq(v1, 'a')) |
		             (blk_eq(lv, 't') & blk_eq(v1, 'e')) | (blk_eq(lv, 'p') & blk_eq(v1, 'r')) |
		             (blk_eq(lv, 'c') & blk_eq(v1, 'o')) | (blk_eq(lv, 'u') & blk_eq(v1, 's'));
		if (blk_eq(v, '{')) f |= F_CURLY;
		for (; m; m &= m - 1) {
			size_t j = i + __builtin_ctzll(m);
			switch (lc(s[j])) {
			case 'l': if (at_ci(s + j, n - j, "lorem ipsum", 11)) f |= F_LOREM; break;
			case 'j': if (at_ci(s + j, n - j, "javascript", 10)) f |= F_JAVASCRIPT; break;
			default:
				for (size_t k = 0; k < sizeof policy / sizeof *policy; k++)
					if (policy[k][0] == lc(s[j]) && at_ci(s + j, n - j, policy[k], strlen(policy[k]))) f |= F_POLICY;
			}
		}
	}
	return f;
}

/* Copy [s, s+n) to o without the citations \[\d*\], [edit] and [citation needed]. */
static size_t strip_citations(const char *s, size_t n, char *o) {
	size_t k = 0;
	for (size_t i = 0; i < n;) {
		if (s[i] == '[') {
			size_t j = i + 1;
			while (j < n && s[j] >= '0' && s[j] <= '9') j++;
			if (j < n && s[j] == ']') { i = j + 1; continue; }
			if (n - i >= 6 && !memcmp(s + i, "[edit]", 6)) { i += 6; continue; }
			if (n - i >= 17 && !memcmp(s + i, "[citation needed]", 17)) { i += 17; continue; }
		}
		o[k++] = s[i++];
	}
	return k;
}

/* words of str.split() and whether one is longer than max code points */
static size_t split_words(const char *s, size_t n, double max, int *too_long) {
	size_t k = 0, i = 0;
	*too_long = 0;
	if (isnan(max) || n <= max) {
		/* no word can be too long: count the starts of words, 64 bytes at a time, as
		 * long as the line is ASCII (else the white space of Unicode is looked up) */
		uint64_t prev = 0;   /* bit 0: the byte before the block is part of a word */
		for (i = 0; i < n; i += 64) {
			blk64 v = blk_at(s, i, n);
			if (blk_range(v, 0x80, 0x80)) break;
			uint64_t word = ~(blk_eq(v, ' ') | blk_range(v, 9, 5) | blk_range(v, 0x1C, 4));
			if (n - i < 64) word &= (1ull << (n - i)) - 1;
			k += __builtin_popcountll(word & ~(word << 1 | prev));
			prev = word >> 63;
		}
		if (i >= n) return k;
		k = 0, i = 0;
	}
	while (i < n) {
		i = lstrip_at(s, i, n);
		if (i >= n) break;
		size_t cps = 0;
		while (i < n) {
			unsigned char ch = s[i];
			if (ch < 0x80) {
				if (ch == ' ' || (ch >= 9 && ch <= 13) || (ch >= 0x1C && ch <= 0x1F)) break;
				i++, cps++;
				continue;
			}
			int l;
			uint32_t cp = utf8_get(s + i, n - i, &l);
			if (cp_is_space(cp)) break;
			i += l, cps++;
		}
		k++;
		if (!isnan(max) && cps > max) *too_long = 1;
	}
	return k;
}

/* Sentences as spaCy's sentencizer counts them in a line of words: a new one
 * starts at the first word that is not punctuation after a ".", "!" or "?". */
static size_t sentences(const clean_word *w, size_t nw) {
	size_t k = nw ? 1 : 0;
	int seen = 0;
	for (size_t i = 0; i < nw; i++) {
		if (seen && !w[i].symbol) k++, seen = 0;
		else if (w[i].sent_end) seen = 1;
	}
	return k;
}

int c4_quality(cleaner *c, const char *s, size_t n, const char **out, size_t *outlen, clean_result *r) {
	const double *p = c->p;
	char *o = scratch(c, 1, n);
	size_t k = 0, nsent = 0, pos = 0, a, b, out_words = 0;
	/* Words never cross lines, so the words of the whole text, split once, serve every
	 * line; a line that loses a citation is split again on its own (into c->w2). */
	int count = !isnan(p[P_C4_MIN_SENTENCES]) || c->on[R_FINEWEB];
	if (count) clean_words_cached(c, s, n);
	size_t wi = 0;   /* the first word of the next line that is not blank */
	while (py_line(s, n, &pos, &a, &b)) {
		a = lstrip_at(s, a, b), b = rstrip_at(s, a, b);
		/* its words: up to the next word that starts a line (a line that is not blank
		 * has at least one) */
		size_t w0 = wi;
		if (count && b > a) {
			wi++;
			while (wi < c->nw && !c->w[wi].line_start) wi++;
		}
		int too_long;
		size_t nwords = split_words(s + a, b - a, p[P_C4_MAX_WORD_LEN], &too_long);
		if (too_long) continue;
		const char *line = s + a;
		size_t len = b - a, len0 = len;
		if (on(p[P_C4_CITATIONS]) && memchr(line, '[', len)) {
			char *t = scratch(c, 3, len);
			len = strip_citations(line, len, t);
			line = t;
		}
		if (on(p[P_C4_TERMINAL])) {
			char last = len ? line[len - 1] : 0;
			if (!(last == '.' || last == '?' || last == '!' || last == '"' || last == '\'') ||
			    (len >= 3 && !memcmp(line + len - 3, "...", 3)))
				continue;
		}
		if (!isnan(p[P_C4_MIN_LINE_WORDS]) && nwords < p[P_C4_MIN_LINE_WORDS]) continue;
		unsigned found = phrases(line, len);
		if (on(p[P_C4_LOREM]) && (found & F_LOREM)) {
			r->rule = R_C4, r->check = "lorem_ipsum", r->value = 1;
			return 0;
		}
		if (on(p[P_C4_JAVASCRIPT]) && (found & F_JAVASCRIPT)) continue;
		if (on(p[P_C4_CURLY]) && (found & F_CURLY)) {
			r->rule = R_C4, r->check = "curly_bracket", r->value = 1;
			return 0;
		}
		if (on(p[P_C4_POLICY]) && (found & F_POLICY)) continue;
		if (count) {
			const clean_word *lw;
			size_t lnw;
			if (len == len0) {
				lw = c->w + w0, lnw = wi - w0;
			} else {
				clean_words_into(c, line, len, &c->w2, &c->nw2, &c->w2cap);
				lw = c->w2, lnw = c->nw2;
			}
			nsent += sentences(lw, lnw);
			out_words += lnw;
		}
		if (k) o[k++] = '\n';
		memcpy(o + k, line, len);
		k += len;
	}
	if (!isnan(p[P_C4_MIN_SENTENCES]) && nsent < p[P_C4_MIN_SENTENCES]) {
		r->rule = R_C4, r->check = "min_sentences", r->value = nsent;
		return 0;
	}
	size_t oa = lstrip_at(o, 0, k), ob = rstrip_at(o, oa, k);
	*out = o + oa, *outlen = ob - oa;
	if (count) c->cnt_text = *out, c->cnt_len = *outlen, c->cnt_nw = out_words;
	return 1;
}
