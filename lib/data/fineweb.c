/* fineweb: FineWeb's line-level document rules (Penedo et al. 2024) with the
 * definitions of datatrove's FineWebQualityFilter; docs/CLEAN.md states them. */
#include "clean.h"
#include <math.h>
#include <string.h>
#include <xxhash.h>

static int drop(clean_result *r, const char *check, double v) {
	r->rule = R_FINEWEB, r->check = check, r->value = v;
	return 0;
}

int fineweb_quality(cleaner *c, const char *s, size_t n, clean_result *r) {
	const double *p = c->p;
	size_t newlines = 0;
	for (size_t i = 0; i < n; i += 64) newlines += __builtin_popcountll(blk_eq(blk_at(s, i, n), '\n'));
	set_clear(&c->set, newlines + 1);
	size_t lines = 0, punct = 0, shorts = 0, dup_chars = 0;
	for (size_t a = 0; a <= n;) {
		const char *nl = memchr(s + a, '\n', n - a);
		size_t b = nl ? (size_t)(nl - s) : n;
		if (lstrip_at(s, a, b) < b) {   /* lines that are not blank */
			lines++;
			int l;
			size_t i = b - 1;
			while (i > a && b - i < 4 && ((unsigned char)s[i] & 0xC0) == 0x80) i--;
			if (cp_is_terminal(utf8_get(s + i, b - i, &l)) && i + l == b) punct++;
			size_t cps = utf8_cps(s + a, b - a);
			if (!isnan(p[P_FW_SHORT_LINE_LEN]) && cps <= p[P_FW_SHORT_LINE_LEN]) shorts++;
			int fresh;
			set_put(&c->set, XXH3_64bits(s + a, b - a), &fresh);
			if (!fresh) dup_chars += cps;
		}
		a = b + 1;
	}
	if (!lines) return drop(r, "empty", 0);
	double v = (double)punct / lines;
	if (!isnan(p[P_FW_LINE_PUNCT]) && v < p[P_FW_LINE_PUNCT]) return drop(r, "line_punct", v);
	v = (double)shorts / lines;
	if (!isnan(p[P_FW_SHORT_LINES]) && v > p[P_FW_SHORT_LINES]) return drop(r, "short_lines", v);
	double chars = utf8_cps(s, n) - newlines;
	v = chars > 0 ? dup_chars / chars : 0;
	if (!isnan(p[P_FW_CHAR_DUP]) && v > p[P_FW_CHAR_DUP]) return drop(r, "char_dup", v);
	if (!isnan(p[P_FW_LIST])) {
		size_t nw;
		if (c->cnt_text == s && c->cnt_len == n) {
			nw = c->cnt_nw;
		} else {
			clean_words_cached(c, s, n);
			nw = c->nw;
		}
		v = nw ? (double)newlines / nw : 0;
		if (v > p[P_FW_LIST]) return drop(r, "list_ratio", v);
	}
	return 1;
}
