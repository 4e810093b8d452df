/* gopher: the Gopher quality and repetition rules (Rae et al. 2021, appendix A.1.1
 * and Table A1) with the definitions of datatrove's GopherQualityFilter and
 * GopherRepetitionFilter; docs/CLEAN.md states them. */
#include "clean.h"
#include <math.h>
#include <string.h>
#include <xxhash.h>

/* fails when the measured value is beyond the threshold; NaN thresholds never fail */
static int over(double v, double thr) { return !isnan(thr) && v > thr; }
static int under(double v, double thr) { return !isnan(thr) && v < thr; }

static int drop(clean_result *r, int rule, const char *check, double v) {
	r->rule = rule, r->check = check, r->value = v;
	return 0;
}

/* the first '\n' at or after i, or n */
static inline size_t next_newline(const char *s, size_t i, size_t n) {
	for (; i < n; i = (i & ~(size_t)63) + 64) {
		uint64_t m = blk_eq(blk_at(s, i, n), '\n');
		if (m) return i + __builtin_ctzll(m);
	}
	return n;
}

/* Duplicate elements and their characters among the segments of s cut by runs of
 * at least min_run '\n' (re.split("\n{min_run,}")), the first occurrence of each
 * counted as original. */
static void dup_segments(cleaner *c, const char *s, size_t n, int min_run,
                         size_t *count, size_t *dups, size_t *dup_chars) {
	set_clear(&c->set, n / 64);   /* a guess: the set grows as needed */
	*count = *dups = *dup_chars = 0;
	size_t a = 0;
	for (;;) {
		/* find the next separator run of at least min_run newlines */
		size_t i = a, b = n, next = n;
		while (i < n) {
			size_t j = next_newline(s, i, n);
			if (j == n) break;
			size_t k = j;
			while (k < n && s[k] == '\n') k++;
			if (k - j >= (size_t)min_run) { b = j, next = k; break; }
			i = k;
		}
		int fresh;
		set_put(&c->set, XXH3_64bits(s + a, b - a), &fresh);
		(*count)++;
		if (!fresh) (*dups)++, *dup_chars += utf8_cps(s + a, b - a);
		if (b == n) break;
		a = next;
	}
}

#define BIGRAM_SLOTS_KEPT (1u << 20)

static inline uint64_t mix(uint64_t h, uint64_t x) {
	h = (h << 7 | h >> 57) ^ x;
	h *= 0x9E3779B97F4A7C15ull;
	return h ^ h >> 31;
}

/* the top-k check: (code points of the k words at best + k - 1 spaces) * count / total */
static int top_share(const cleaner *c, const clean_word *w, size_t k, size_t best, uint32_t cnt, double total,
                     clean_result *r) {
	static const char *const top_name[] = {"top2", "top3", "top4"};
	double thr = c->p[P_TOP2 + k - 2];
	if (isnan(thr)) return 1;
	size_t l = 0;
	for (size_t i = best; i < best + k; i++) l += w[i].cps;
	double frac = (double)(l + k - 1) * cnt / total;
	return over(frac, thr) ? drop(r, R_GOPHER_REP, top_name[k - 2], frac) : 1;
}

int gopher_repetition(cleaner *c, const char *s, size_t n, clean_result *r) {
	const double *p = c->p;
	if (!n) return drop(r, R_GOPHER_REP, "empty", 0);
	double total = utf8_cps(s, n);
	size_t cnt, dups, dchars;

	if (!isnan(p[P_DUP_PARA]) || !isnan(p[P_DUP_PARA_CHARS])) {
		size_t a = lstrip_at(s, 0, n), b = rstrip_at(s, a, n);
		dup_segments(c, s + a, b - a, 2, &cnt, &dups, &dchars);
		if (over((double)dups / cnt, p[P_DUP_PARA])) return drop(r, R_GOPHER_REP, "dup_para", (double)dups / cnt);
		if (over(dchars / total, p[P_DUP_PARA_CHARS])) return drop(r, R_GOPHER_REP, "dup_para_chars", dchars / total);
	}
	if (!isnan(p[P_DUP_LINE]) || !isnan(p[P_DUP_LINE_CHARS])) {
		dup_segments(c, s, n, 1, &cnt, &dups, &dchars);
		if (over((double)dups / cnt, p[P_DUP_LINE])) return drop(r, R_GOPHER_REP, "dup_line", (double)dups / cnt);
		if (over(dchars / total, p[P_DUP_LINE_CHARS])) return drop(r, R_GOPHER_REP, "dup_line_chars", dchars / total);
	}

	clean_words_cached(c, s, n);
	const clean_word *w = c->w;
	size_t nw = c->nw;
	if (nw < 2) return 1;
	/* The bigrams are counted at every position. A k-gram can repeat only where the
	 * (k-1)-grams at i and at i + 1 both repeat, so after the bigrams only those
	 * positions (cand) are looked at: g and len hold the hash and code points of the
	 * k words from there. */
	hset *set = &c->set;
	size_t m = nw - 1;   /* bigrams */
	/* Each position's slot is remembered for the next step, except in a document of
	 * more than a million words: there it is looked up again (slower), so that one
	 * dropped by top2 needs no memory per position. */
	uint32_t *cand = m <= BIGRAM_SLOTS_KEPT ? (uint32_t *)scratch(c, 3, m * sizeof *cand) : NULL;
	set_clear(set, m);
	uint32_t best_cnt = 1, best = 0;   /* all unique: the first k-gram, once */
	for (size_t i = 0; i < m; i++) {
		hslot *e = set_count(set, mix(w[i].hash, w[i + 1].hash), i);
		uint32_t v = e->val;
		/* Counter.most_common: the highest count, the first seen among equals */
		if (v > best_cnt || (v == best_cnt && v > 1 && e->aux < best)) best_cnt = v, best = e->aux;
		if (cand) cand[i] = e - set->slot;
	}
	if (!top_share(c, w, 2, best, best_cnt, total, r)) return 0;
	/* positions where the bigram and the next one repeat (in place: cand[i] is read before
	 * anything is written over it) */
	int again = !cand || set->grew;
	if (!cand) cand = (uint32_t *)scratch(c, 3, m * sizeof *cand);
	size_t nc = 0;
#define BIGRAM_REPEATS(i) (set->slot[again ? set_find(set, mix(w[i].hash, w[(i) + 1].hash)) : cand[i]].val > 1)
	int rep = BIGRAM_REPEATS(0);
	for (size_t i = 0; i + 1 < m; i++) {
		int next = BIGRAM_REPEATS(i + 1);
		cand[nc] = i;   /* kept, without a branch, when both repeat */
		nc += rep & next;
		rep = next;
	}
#undef BIGRAM_REPEATS
	uint64_t *g = (uint64_t *)scratch(c, 2, nc * (sizeof(uint64_t) + 2 * sizeof(uint32_t)));
	uint32_t *len = (uint32_t *)(g + nc), *slots = len + nc;
	for (size_t j = 0; j < nc; j++) {
		size_t i = cand[j];
		g[j] = mix(w[i].hash, w[i + 1].hash), len[j] = w[i].cps + w[i + 1].cps;
	}
	static const char *const dup_name[] = {"dup5", "dup6", "dup7", "dup8", "dup9", "dup10"};
	for (size_t k = 3; k <= 10 && k <= nw; k++) {
		for (size_t j = 0; j < nc; j++) {
			size_t i = cand[j];
			g[j] = mix(g[j], w[i + k - 1].hash), len[j] += w[i + k - 1].cps;
		}
		set_clear(set, nc);
		best_cnt = 1, best = 0;
		for (size_t j = 0; j < nc; j++) {
			hslot *e = set_count(set, g[j], cand[j]);
			uint32_t v = e->val;
			if (v > best_cnt || (v == best_cnt && v > 1 && e->aux < best)) best_cnt = v, best = e->aux;
			slots[j] = e - set->slot;
		}
		if (k <= 4 && !top_share(c, w, k, best, best_cnt, total, r)) return 0;
		/* keep the repeated k-grams */
		size_t nr = 0;
		for (size_t j = 0; j < nc; j++) {
			cand[nr] = cand[j], g[nr] = g[j], len[nr] = len[j];
			nr += set->slot[set->grew ? set_find(set, g[j]) : slots[j]].val > 1;
		}
		/* once no k-gram repeats, every later share is 0 (a switched-off check does not
		 * end the walk: a negative threshold after it still sees its 0) */
		int last = !nr && k >= 4;
		if (k >= 5) {
			/* characters of repeated k-grams, joined without spaces; a repeat skips its
			 * words. Other positions hold a k-gram seen nowhere else: new, and never met
			 * again, so they need no set. */
			double thr = p[P_DUP5 + k - 5];
			if (isnan(thr)) last = 0;
			else {
				set_clear(set, nr);
				size_t chars = 0, next = 0;
				for (size_t j = 0; j < nr; j++) {
					size_t i = cand[j];
					if (i < next) continue;
					int fresh;
					set_put(set, g[j], &fresh);
					if (!fresh) chars += len[j], next = i + k;
				}
				if (over(chars / total, thr)) return drop(r, R_GOPHER_REP, dup_name[k - 5], chars / total);
			}
		}
		nc = 0;
		for (size_t j = 0; j + 1 < nr; j++) {
			cand[nc] = cand[j], g[nc] = g[j], len[nc] = len[j];
			nc += cand[j + 1] == cand[j] + 1;
		}
		if (last) break;
	}
	return 1;
}

/* In one pass: the '#' and the ellipses, "..." counted without overlap (a run of
 * dots holds a third of its length of them, as str.count finds) and U+2026. */
static void count_marks(const char *s, size_t n, size_t *hashes, size_t *ellipses) {
	size_t h = 0, e = 0, run = 0, last = (size_t)-2;
	for (size_t i = 0; i < n; i += 64) {
		blk64 v = blk_at(s, i, n);
		h += __builtin_popcountll(blk_eq(v, '#'));
		for (uint64_t m = blk_eq(v, '.'); m; m &= m - 1) {
			size_t j = i + __builtin_ctzll(m);
			if (j != last + 1) e += run / 3, run = 0;
			run++, last = j;
		}
		for (uint64_t m = blk_eq(v, 0xE2); m; m &= m - 1) {
			size_t j = i + __builtin_ctzll(m);
			e += n - j >= 3 && s[j + 1] == '\x80' && s[j + 2] == '\xA6';
		}
	}
	*hashes = h, *ellipses = e + run / 3;
}

/* the share of words with a letter, and the stop words present */
static int word_shares(cleaner *c, size_t nw, clean_result *r) {
	const double *p = c->p;
	double af = (double)c->ws.alpha / nw;
	if (under(af, p[P_MIN_ALPHA_WORDS])) return drop(r, R_GOPHER_QUAL, "min_alpha_words", af);
	double ns = __builtin_popcount(c->ws.stops);
	if (under(ns, p[P_MIN_STOP_WORDS])) return drop(r, R_GOPHER_QUAL, "min_stop_words", ns);
	return 1;
}

int gopher_quality(cleaner *c, const char *s, size_t n, clean_result *r) {
	const double *p = c->p;
	clean_words_cached(c, s, n);
	size_t nw = c->nw, nonsym = c->ws.nonsym, nonsym_cps = c->ws.nonsym_cps;

	if (under(nonsym, p[P_MIN_WORDS])) return drop(r, R_GOPHER_QUAL, "min_words", nonsym);
	if (over(nonsym, p[P_MAX_WORDS])) return drop(r, R_GOPHER_QUAL, "max_words", nonsym);
	if (nonsym) {
		double mean = (double)nonsym_cps / nonsym;
		if (under(mean, p[P_MIN_MEAN_WORD])) return drop(r, R_GOPHER_QUAL, "min_mean_word", mean);
		if (over(mean, p[P_MAX_MEAN_WORD])) return drop(r, R_GOPHER_QUAL, "max_mean_word", mean);
	}
	if (!nw) return 1;
	/* without reasons wanted (clean_want_reasons) the checks on the word counts
	 * alone go before the passes over the text: most documents fail them */
	if (!c->why && !word_shares(c, nw, r)) return 0;
	size_t hashes, ellipses;
	count_marks(s, n, &hashes, &ellipses);
	double hash = (double)hashes / nw;
	if (over(hash, p[P_MAX_HASH])) return drop(r, R_GOPHER_QUAL, "max_hash", hash);
	double ell = (double)ellipses / nw;
	if (over(ell, p[P_MAX_ELLIPSIS])) return drop(r, R_GOPHER_QUAL, "max_ellipsis", ell);

	if (!isnan(p[P_MAX_BULLET_LINES]) || !isnan(p[P_MAX_ELLIPSIS_LINES])) {
		size_t pos = 0, a, b, lines = 0, bullets = 0, ellipses = 0;
		while (py_line(s, n, &pos, &a, &b)) {
			lines++;
			size_t la = lstrip_at(s, a, b), rb = rstrip_at(s, a, b);
			if (la < b && (s[la] == '-' || (b - la >= 3 && !memcmp(s + la, "\xE2\x80\xA2", 3)))) bullets++;
			if ((rb - a >= 3 && !memcmp(s + rb - 3, "...", 3)) ||
			    (rb - a >= 3 && !memcmp(s + rb - 3, "\xE2\x80\xA6", 3))) ellipses++;
		}
		if (lines) {
			double bl = (double)bullets / lines, el = (double)ellipses / lines;
			if (over(bl, p[P_MAX_BULLET_LINES])) return drop(r, R_GOPHER_QUAL, "max_bullet_lines", bl);
			if (over(el, p[P_MAX_ELLIPSIS_LINES])) return drop(r, R_GOPHER_QUAL, "max_ellipsis_lines", el);
		}
	}
	return !c->why || word_shares(c, nw, r);   /* (checked above when no reasons are wanted) */
}
