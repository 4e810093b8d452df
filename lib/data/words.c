/* words: the word splitter and the line and strip primitives the cleaning
 * rules share, and their scratch buffers. */
#include "clean.h"
#include "util.h"
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

char *scratch(cleaner *c, int i, size_t n) {
	if (c->bcap[i] < n + 1) {
		c->bcap[i] = n + 1 > 2 * c->bcap[i] ? n + 1 : 2 * c->bcap[i];
		free(c->buf[i]);
		c->buf[i] = xmalloc(c->bcap[i]);
	}
	return c->buf[i];
}

/* utf8_get with ASCII answered inline */
static inline uint32_t cp_at(const char *s, size_t n, int *len) {
	if ((unsigned char)*s < 0x80) { *len = 1; return (unsigned char)*s; }
	return utf8_get(s, n, len);
}

static int is_quote(uint32_t cp) {
	return cp == '"' || cp == '\'' || cp == '`' || cp == 0x201C || cp == 0x201D || cp == 0x2018 ||
	       cp == 0x2019 || cp == 0xB4 || cp == 0x201A || cp == 0x201E || cp == 0xAB || cp == 0xBB;
}

/* spaCy's English prefixes and suffixes, condensed: punctuation that is split off
 * the ends of a chunk one at a time. '-', '/', '@', '.' and '+' are not (they are
 * handled as infixes or stay inside the word). */
static int is_affix(uint32_t cp, int prefix) {
	switch (cp) {
	case ',': case ':': case ';': case '!': case '?': case '(': case ')': case '[': case ']':
	case '{': case '}': case '<': case '>': case '_': case '#': case '*': case '&': case '"':
	case '\'': case '`': case 0x2026: case 0x2014: case 0x2013: case 0xBF: case 0xA1: case 0x3002:
	case 0xFF1F: case 0xFF01: case 0xFF0C: case 0x3001: case 0xB7:
	case 0xA9: case 0xAE: case 0x2122: case 0xA6:   /* symbols (spaCy's icons) */
		return 1;
	case '$': case 0xA3: case 0x20AC: case 0xA5: case 0xA7: case '%': case '=':
		return prefix;
	}
	return is_quote(cp) || (cp >= 0x2600 && cp < 0x27C0) || (cp >= 0x1F300 && cp < 0x1FB00);
}

static int is_lower(uint32_t cp) { return (cp >= 'a' && cp <= 'z') || (cp >= 0xDF && cp_is_alpha(cp)); }
static int is_upper(uint32_t cp) { return cp >= 'A' && cp <= 'Z'; }
static int is_letter(uint32_t cp) { return is_lower(cp) || is_upper(cp); }
static int is_digit(uint32_t cp) { return cp >= '0' && cp <= '9'; }

/* the code point ending just before s + n (n > 0) and its length */
static uint32_t last_cp(const char *s, size_t n, int *len) {
	size_t i = n - 1;
	while (i > 0 && n - i < 4 && ((unsigned char)s[i] & 0xC0) == 0x80) i--;
	int l;
	uint32_t cp = cp_at(s + i, n - i, &l);
	if (i + l != n) { *len = 1; return 0xFFFD; }
	*len = (int)(n - i);
	return cp;
}

/* The low k bytes of a word set (k = 8 or more: all of them). Both values are
 * computed and one chosen, so that the choice, on a word's length, is not a
 * branch to mispredict. */
static inline uint64_t low_bytes(size_t k) {
	uint64_t part = (1ull << 8 * (k & 7)) - 1, all = -(uint64_t)(k >= 8);
	return part | all;
}

/* A fast 64-bit hash of a word (multiply-xorshift). Up to 16 bytes it is one
 * function of the bytes zero-padded to 16, read without a branch on the length
 * when 16 bytes can be read (avail: the bytes readable from s, at least n). */
static inline uint64_t word_hash(const char *s, size_t n, size_t avail) {
	uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0xC2B2AE3D27D4EB4Full), x0, x1;
	if (n > 16) {
		size_t m = n;
		while (m > 8) {
			memcpy(&x0, s, 8);
			h = (h ^ x0) * 0xFF51AFD7ED558CCDull;
			h ^= h >> 32;
			s += 8, m -= 8;
		}
		memcpy(&x0, s + m - 8, 8);   /* the tail, overlapping; the length is in the seed */
		x1 = 0;
	} else {
		if (avail >= 16) {
			memcpy(&x0, s, 8), memcpy(&x1, s + 8, 8);
		} else {
			unsigned char t[16] = {0};
			memcpy(t, s, n);
			memcpy(&x0, t, 8), memcpy(&x1, t + 8, 8);
		}
		x0 &= low_bytes(n);
		x1 &= low_bytes(n > 8 ? n - 8 : 0);
	}
	h = (h ^ x0) * 0xFF51AFD7ED558CCDull;
	h ^= h >> 32;
	h = (h ^ x1) * 0xC4CEB9FE1A85EC53ull;
	h ^= h >> 29;
	h *= 0xFF51AFD7ED558CCDull;
	return h ^ h >> 32;
}

/* Gopher's stop words as little-endian keys of their bytes, zero-padded to 4 */
#define KEY4(a, b, c, d) ((uint32_t)(a) | (uint32_t)(b) << 8 | (uint32_t)(c) << 16 | (uint32_t)(d) << 24)
static const uint32_t stop_key[8] = {
	KEY4('t', 'h', 'e', 0), KEY4('b', 'e', 0, 0), KEY4('t', 'o', 0, 0), KEY4('o', 'f', 0, 0),
	KEY4('a', 'n', 'd', 0), KEY4('t', 'h', 'a', 't'), KEY4('h', 'a', 'v', 'e'), KEY4('w', 'i', 't', 'h'),
};

/* The stop word bit of the len bytes at s (avail >= len bytes readable there), without
 * branches on the word: a word longer than 4 gets bit 31 set, which no key has. */
static inline unsigned stop_bits(uint32_t x, size_t len) {
	x = (x & (uint32_t)low_bytes(len)) | (uint32_t)(len > 4) << 31;
	unsigned b = 0;
	for (int j = 0; j < 8; j++) b |= (unsigned)(x == stop_key[j]) << j;
	return b;
}

/* the (up to) 8 bytes at s, avail of them readable, zero-padded */
static inline uint64_t first_bytes(const char *s, size_t avail) {
	uint64_t x = 0;
	if (avail >= 8) memcpy(&x, s, 8);
	else memcpy(&x, s, avail);
	return x;
}

/* the same for the len bytes at s, avail >= len of them readable */
static inline unsigned stop_bit(const char *s, size_t len, size_t avail) {
	return stop_bits((uint32_t)first_bytes(s, avail), len);
}

static void reserve_words(cleaner *c, size_t k) {
	if (c->nw + k <= c->wcap) return;
	while (c->nw + k > c->wcap) c->wcap = c->wcap ? 2 * c->wcap : 1024;
	c->w = xrealloc(c->w, c->wcap * sizeof *c->w);
}

static clean_word *new_word(cleaner *c) {
	if (c->nw == c->wcap) {
		c->wcap = c->wcap ? 2 * c->wcap : 1024;
		c->w = xrealloc(c->w, c->wcap * sizeof *c->w);
	}
	clean_word *w = &c->w[c->nw++];
	w->line_start = 0;
	return w;
}

static void add_word(cleaner *c, const char *text, size_t a, size_t b) {
	if (b <= a) return;
	clean_word *w = new_word(c);
	uint32_t cps = 0;
	int symbol = 1, alpha = 0;
	size_t n = b - a;
	if (n <= 64) {   /* an ASCII word, 64 bytes at once */
		blk64 v = blk_at(text + a, 0, n);
		uint64_t valid = n == 64 ? ~0ull : (1ull << n) - 1;
		if (!(blk_range(v, 0x80, 0x80) & valid)) {
			uint64_t al = blk_range(blk_or(v, 0x20), 'a', 26) & valid;
			uint64_t other = blk_range(v, '0', 10) | blk_range(v, 9, 2) | blk_eq(v, ' ');
			cps = n, alpha = al != 0, symbol = !((al | other) & valid);
			if (!symbol) c->ws.nonsym++, c->ws.nonsym_cps += n;
			c->ws.alpha += alpha;
			if (n <= 4) c->ws.stops |= stop_bits(blk_low32(v), n);
			w->cps = cps, w->symbol = symbol, w->alpha = alpha;
			w->sent_end = n == 1 && (text[a] == '.' || text[a] == '!' || text[a] == '?');
			w->hash = word_hash(text + a, n, c->tlen - a);
			return;
		}
	}
	for (size_t i = a; i < b;) {
		unsigned char ch = text[i];
		cps++;
		if (ch < 0x80) {   /* ASCII: letters and digits are the only non-punctuation */
			int al = (ch | 32) >= 'a' && (ch | 32) <= 'z';
			if (al) alpha = 1, symbol = 0;
			else if (ch >= '0' && ch <= '9') symbol = 0;
			else if (ch == 9 || ch == 10 || ch == 32) symbol = 0;
			i++;
			continue;
		}
		int l;
		uint32_t cp = utf8_get(text + i, b - i, &l);
		i += l;
		if (symbol && !cp_is_punct(cp)) symbol = 0;
		if (!alpha && cp_is_alpha(cp)) alpha = 1;
	}
	w->cps = cps;
	w->symbol = symbol, w->alpha = alpha;
	w->sent_end = b - a == 1 && (text[a] == '.' || text[a] == '!' || text[a] == '?');
	w->hash = word_hash(text + a, b - a, c->tlen - a);
	if (!symbol) c->ws.nonsym++, c->ws.nonsym_cps += w->cps;
	c->ws.alpha += alpha;
	if (b - a <= 4) c->ws.stops |= stop_bit(text + a, b - a, b - a);
}

static int ci_eq(const char *s, const char *lit, size_t n) {
	for (size_t i = 0; i < n; i++)
		if ((s[i] | (s[i] >= 'A' && s[i] <= 'Z' ? 32 : 0)) != lit[i]) return 0;
	return 1;
}

/* Abbreviations whose final '.' stays (a few of spaCy's tokenizer exceptions). */
static int abbreviation(const char *s, size_t n) {
	if (n < 3 || n > 5 || s[n - 1] != '.') return 0;
	/* by length: 3, 4 and 5 bytes, dot included */
	static const char ab3[][3] = {"Mr.", "Ms.", "Dr.", "St.", "Jr.", "Sr.", "vs.", "Co.", "Mt."};
	static const char ab4[][4] = {"Mrs.", "e.g.", "i.e.", "a.m.", "p.m.", "E.g.", "I.e.", "Inc.", "Ltd.", "Jan.",
	                              "Feb.", "Mar.", "Apr.", "Jun.", "Jul.", "Aug.", "Sep.", "Oct.", "Nov.", "Dec.",
	                              "Gov.", "Gen.", "Rev.", "Sen.", "Rep."};
	static const char ab5[][5] = {"Prof.", "Corp.", "Sept."};
	if (n == 3) { for (size_t i = 0; i < sizeof ab3 / 3; i++) if (!memcmp(ab3[i], s, 3)) return 1; }
	else if (n == 4) { for (size_t i = 0; i < sizeof ab4 / 4; i++) if (!memcmp(ab4[i], s, 4)) return 1; }
	else { for (size_t i = 0; i < sizeof ab5 / 5; i++) if (!memcmp(ab5[i], s, 5)) return 1; }
	return 0;
}

/* Infixes inside [a, b): hyphens, '/', ':', '<', '>', '=' between a letter or digit and
 * a letter; ',' between letters; '.' between a lower-case and an upper-case letter;
 * an ellipsis anywhere; + - * ^ between digits. */
/* bytes that may take part in an infix: . - ~ / : < > = , + * ^ and 0xE2 (U+2013 U+2014 U+2026) */
static const unsigned char infix_byte[256] = {
	['.'] = 1, ['-'] = 1, ['~'] = 1, ['/'] = 1, [':'] = 1, ['<'] = 1, ['>'] = 1, ['='] = 1, [','] = 1,
	['+'] = 1, ['*'] = 1, ['^'] = 1, [0xE2] = 1,
};

static void split_infixes(cleaner *c, const char *t, size_t a, size_t b) {
	size_t k = a;
	while (k < b && !infix_byte[(unsigned char)t[k]]) k++;
	if (k == b) { add_word(c, t, a, b); return; }
	size_t start = a;
	uint32_t prev = 0;
	for (size_t i = a; i < b;) {
		int l;
		uint32_t cp = cp_at(t + i, b - i, &l);
		size_t next = i + l;
		int cut = 0;
		size_t cut_end = next;
		if (cp == '.' && next < b && t[next] == '.') {
			cut = 1;
			while (cut_end < b && t[cut_end] == '.') cut_end++;
		} else if (cp == 0x2026) {
			cut = 1;
		} else if (next < b && i > start) {
			int l2;
			uint32_t nx = cp_at(t + next, b - next, &l2);
			if ((cp == '-' || cp == 0x2013 || cp == 0x2014 || cp == '~' || cp == '/' || cp == ':' ||
			     cp == '<' || cp == '>' || cp == '=') && (is_letter(prev) || is_digit(prev)) && is_letter(nx))
				cut = 1;
			else if (cp == ',' && is_letter(prev) && is_letter(nx)) cut = 1;
			else if (cp == '.' && is_lower(prev) && is_upper(nx)) cut = 1;
			else if ((cp == '+' || cp == '-' || cp == '*' || cp == '^') && is_digit(prev) && (is_digit(nx) || nx == '-'))
				cut = 1;
		}
		if (cut) {
			add_word(c, t, start, i);
			add_word(c, t, i, cut_end);
			start = cut_end;
			prev = cp;
			i = cut_end;
			continue;
		}
		prev = cp;
		i = next;
	}
	add_word(c, t, start, b);
}

/* spaCy's url_match, condensed: [scheme://][userinfo@]label(.label)*.tld[:port][/?#path]
 * with a lower-case TLD of two or more letters; what matches stays one word. */
static int url_core(const char *s, size_t n) {
	if (!memchr(s, '.', n)) return 0;   /* one label: never a URL */
	size_t i = 0;
	if (n && ((s[0] | 32) >= 'a' && (s[0] | 32) <= 'z')) {
		size_t j = 1;
		while (j < n && (((s[j] | 32) >= 'a' && (s[j] | 32) <= 'z') || (s[j] >= '0' && s[j] <= '9') ||
		                 s[j] == '+' || s[j] == '.' || s[j] == '-')) j++;
		if (n - j > 3 && !memcmp(s + j, "://", 3)) i = j + 3;
	}
	const char *at = memrchr(s + i, '@', n - i);
	if (at && at > s + i) i = at - s + 1;
	size_t labels = 0, tld_start = 0;
	for (;;) {
		size_t st = i;
		while (i < n && i - st < 63 && ((unsigned char)s[i] >= 0x80 || ((s[i] | 32) >= 'a' && (s[i] | 32) <= 'z') ||
		                 (s[i] >= '0' && s[i] <= '9') || ((s[i] == '-' || s[i] == '_') && i > st))) i++;
		if (i == st || s[i - 1] == '-' || s[i - 1] == '_') return 0;
		labels++;
		tld_start = st;
		if (i < n && s[i] == '.' && i + 1 < n) { i++; continue; }
		break;
	}
	if (labels < 2 || i - tld_start < 2) return 0;
	for (size_t j = tld_start; j < i; j++)
		if (!((unsigned char)s[j] >= 0x80 || (s[j] >= 'a' && s[j] <= 'z'))) return 0;
	if (i < n && s[i] == ':') {
		size_t j = i + 1;
		while (j < n && s[j] >= '0' && s[j] <= '9') j++;
		if (j == i + 1) return 0;
		i = j;
	}
	return i == n || s[i] == '/' || s[i] == '?' || s[i] == '#';
}

#define MAX_SUFFIXES 64

/* Whole chunks spaCy keeps (or splits) by exception rather than by its affix rules. */
static int chunk_exception(cleaner *c, const char *t, size_t a, size_t b) {
	size_t n = b - a;
	if (n == 7 && !memcmp(t + a, "and/or", 6) && t[a + 6] == '.') return 0;
	if (n == 6 && !memcmp(t + a, "and/or", 6)) { add_word(c, t, a, b); return 1; }
	if (n == 6 && (t[a] | 32) == 'c' && !memcmp(t + a + 1, "annot", 5)) {
		add_word(c, t, a, a + 3), add_word(c, t, a + 3, b);
		return 1;
	}
	if (n == 2 && (t[a] == 'i' || t[a] == 'I') && t[a + 1] == 'd') {
		add_word(c, t, a, a + 1), add_word(c, t, a + 1, b);
		return 1;
	}
	if (n == 3 && (t[a] == 'i' || t[a] == 'I') && t[a + 1] == 'd' && t[a + 2] == '.') {
		add_word(c, t, a, a + 1), add_word(c, t, a + 1, b);
		return 1;
	}
	return 0;
}

static void split_chunk(cleaner *c, const char *t, size_t a, size_t b) {
	size_t suf[MAX_SUFFIXES][2];
	int ns = 0;
	while (a < b) {
		int l;
		uint32_t cp = cp_at(t + a, b - a, &l);
		if (cp == '.' && a + 1 < b && t[a + 1] == '.') {
			size_t e = a;
			while (e < b && t[e] == '.') e++;
			add_word(c, t, a, e);
			a = e;
		} else if (cp == '\'' && a + 1 < b && t[a + 1] == '\'') {
			add_word(c, t, a, a + 2);
			a += 2;
		} else if (is_affix(cp, 1)) {
			add_word(c, t, a, a + l);
			a += l;
		} else {
			break;
		}
	}
	while (b > a && ns < MAX_SUFFIXES) {
		size_t n = b - a;
		int l;
		uint32_t cp = last_cp(t + a, n, &l);
		size_t cut = 0;
		if (abbreviation(t + a, n)) break;
		if (n == 2 && cp == '.' && ((t[a] | 32) >= 'a' && (t[a] | 32) <= 'z')) break;   /* "a.", "J." */
		if (chunk_exception(c, t, a, b)) { a = b; break; }
		if (n > 3 && ci_eq(t + b - 3, "n't", 3)) cut = 3;
		else if (n > 5 && !memcmp(t + b - 5, "n\xE2\x80\x99t", 5)) cut = 5;
		else if (n > 2 && t[b - 2] == '\'' && strchr("sSmMdD", t[b - 1])) cut = 2;
		else if (n > 4 && !memcmp(t + b - 4, "\xE2\x80\x99", 3) && strchr("sSmMdD", t[b - 1])) cut = 4;
		else if (n > 3 && t[b - 3] == '\'' && (ci_eq(t + b - 2, "ll", 2) || ci_eq(t + b - 2, "re", 2) || ci_eq(t + b - 2, "ve", 2)))
			cut = 3;
		else if (n >= 2 && cp == '.' && t[b - 2] == '.') {
			size_t e = b;
			while (e > a && t[e - 1] == '.') e--;
			cut = b - e;
		} else if (cp == '.' && n >= 2) {
			int l1;
			uint32_t p1 = last_cp(t + a, n - 1, &l1);
			if (is_lower(p1) || is_digit(p1) || p1 == '%' || p1 == 0xB2 || p1 == '-' || p1 == '+' ||
			    is_quote(p1) || (p1 != '/' && p1 != '.' && is_affix(p1, 0)) ||
			    (is_upper(p1) && n - 1 > (size_t)l1 && is_upper(t[b - 1 - l1 - 1])))
				cut = 1;
		} else if ((cp == '%' || cp == '+') && n >= 2 && is_digit((unsigned char)t[b - 2])) {
			cut = 1;
		} else if (cp == '\'' && n >= 3 && t[b - 2] == '\'') {
			cut = 2;   /* '' is one quote to spaCy */
		} else if (is_affix(cp, 0)) {
			cut = l;
		}
		if (!cut || cut >= n) break;
		suf[ns][0] = b - cut, suf[ns][1] = b;
		ns++;
		b -= cut;
	}
	if (b > a) {
		if (url_core(t + a, b - a)) add_word(c, t, a, b);
		else split_infixes(c, t, a, b);
	}
	while (ns > 0) { ns--; add_word(c, t, suf[ns][0], suf[ns][1]); }
}

/* How a chunk (text between white space) splits into words depends on its bytes
 * alone, and the same few chunks that need splitting ("it's", "(the", "U.S.")
 * come back again and again: their words are remembered, keyed by the chunk's bytes,
 * as spaCy's tokenizer does with its cache. */
#define MEMO_SLOTS 4096
#define MEMO_BYTES 32       /* longer chunks are split every time */
#define MEMO_WORDS 6
typedef struct chunk_memo {
	uint8_t len, nw;        /* the chunk's bytes (0: an empty slot), its words */
	uint8_t nonsym, nonsym_cps, alpha, stops;   /* its share of clean_wstat */
	char bytes[MEMO_BYTES];
	clean_word w[MEMO_WORDS];   /* as split (line_start 0) */
} chunk_memo;

/* the words of chunk [a, b) of s from the memo, or split and remembered */
static void memo_chunk(cleaner *c, const char *s, size_t a, size_t b) {
	size_t len = b - a;
	if (len > MEMO_BYTES) { split_chunk(c, s, a, b); return; }
	if (!c->memo) c->memo = xcalloc(MEMO_SLOTS, sizeof *c->memo);
	chunk_memo *m = &c->memo[word_hash(s + a, len, c->tlen - a) & (MEMO_SLOTS - 1)];
	if (m->len == len && !memcmp(m->bytes, s + a, len)) {
		/* all MEMO_WORDS slots, whatever m->nw: a copy of fixed length */
		reserve_words(c, MEMO_WORDS);
		memcpy(c->w + c->nw, m->w, sizeof m->w);
		c->nw += m->nw;
		c->ws.nonsym += m->nonsym, c->ws.nonsym_cps += m->nonsym_cps, c->ws.alpha += m->alpha;
		c->ws.stops |= m->stops;
		return;
	}
	size_t w0 = c->nw;
	clean_wstat before = c->ws;
	c->ws.stops = 0;
	split_chunk(c, s, a, b);
	unsigned stops = c->ws.stops;
	c->ws.stops |= before.stops;
	if (c->nw - w0 > MEMO_WORDS) return;
	m->len = len, m->nw = c->nw - w0;
	memcpy(m->bytes, s + a, len);
	m->nonsym = c->ws.nonsym - before.nonsym, m->nonsym_cps = c->ws.nonsym_cps - before.nonsym_cps;
	m->alpha = c->ws.alpha - before.alpha, m->stops = stops;
	memcpy(m->w, c->w + w0, m->nw * sizeof *m->w);
}

/* The masks of the 64-byte block of the text holding a position (blocks start at
 * multiples of 64 from the text's start): computed once per block, so that finding
 * the end of a word is a shift and a count of trailing zeros. */
typedef struct wcursor {
	size_t base;            /* the block's first byte; SIZE_MAX: none yet */
	uint64_t alnum, alpha;  /* ASCII letters and digits, letters */
	uint64_t space, high;   /* ASCII white space, bytes >= 0x80 (zeros past the end are neither) */
	uint64_t sep;           /* ASCII line separators of str.splitlines */
} wcursor;

/* Bytes around a simple word, by bits: 1 , ; : ! ? (may follow it); 2 . (may
 * follow it unless it is an abbreviation); 4 . ! ? (end a sentence); 8 a-z 0-9
 * (may precede that '.'). */
static const unsigned char after_word[256] = {
	[','] = 1, [';'] = 1, [':'] = 1, ['!'] = 1 | 4, ['?'] = 1 | 4, ['.'] = 2 | 4,
	['a'] = 8, ['b'] = 8, ['c'] = 8, ['d'] = 8, ['e'] = 8, ['f'] = 8, ['g'] = 8, ['h'] = 8, ['i'] = 8,
	['j'] = 8, ['k'] = 8, ['l'] = 8, ['m'] = 8, ['n'] = 8, ['o'] = 8, ['p'] = 8, ['q'] = 8, ['r'] = 8,
	['s'] = 8, ['t'] = 8, ['u'] = 8, ['v'] = 8, ['w'] = 8, ['x'] = 8, ['y'] = 8, ['z'] = 8,
	['0'] = 8, ['1'] = 8, ['2'] = 8, ['3'] = 8, ['4'] = 8, ['5'] = 8, ['6'] = 8, ['7'] = 8, ['8'] = 8, ['9'] = 8,
};

static inline void cursor_at(wcursor *k, const char *s, size_t n, size_t i) {
	size_t base = i & ~(size_t)63;
	if (base == k->base) return;
	blk64 v = blk_at(s, base, n);
	k->base = base;
	k->alpha = blk_range(blk_or(v, 0x20), 'a', 26);
	k->alnum = k->alpha | blk_range(v, '0', 10);
	k->space = blk_eq(v, ' ') | blk_range(v, 9, 5) | blk_range(v, 0x1C, 4);
	k->high = blk_range(v, 0x80, 0x80);
	k->sep = blk_range(v, '\n', 4) | blk_range(v, 0x1C, 3);
}

void clean_words(cleaner *c, const char *s, size_t n) {
	c->nw = 0;
	c->tlen = n;
	memset(&c->ws, 0, sizeof c->ws);
	wcursor k = {.base = SIZE_MAX};
	size_t i = 0;
	int line = 1;   /* a line starts at the next word */
	while (i < n) {
		while (i < n) {   /* white space */
			cursor_at(&k, s, n, i);
			unsigned off = i & 63;
			uint64_t m = ~k.space >> off;
			if (!m) { line |= (k.sep >> off) != 0; i = k.base + 64; continue; }
			unsigned r = __builtin_ctzll(m);
			line |= ((k.sep >> off) & ((1ull << r) - 1)) != 0;
			i += r;
			if (i >= n || (unsigned char)s[i] < 0x80) break;
			int l;
			uint32_t cp = utf8_get(s + i, n - i, &l);
			if (!cp_is_space(cp)) break;
			line |= cp == 0x85 || cp == 0x2028 || cp == 0x2029;
			i += l;
		}
		if (i >= n) break;
		size_t a = i, w0 = c->nw;
		/* most chunks are plain ASCII letters and digits: one word, nothing to split */
		int letters = 0;
		for (;;) {   /* the run of ASCII letters and digits */
			cursor_at(&k, s, n, i);
			unsigned off = i & 63;
			uint64_t m = ~k.alnum >> off;
			if (!m) {   /* on to the next block */
				letters |= (k.alpha >> off) != 0;
				i = k.base + 64;
				if (i >= n) { i = n; break; }
				continue;
			}
			unsigned r = __builtin_ctzll(m);
			letters |= ((k.alpha >> off) & ((1ull << r) - 1)) != 0;
			i += r;
			break;
		}
		letters = letters ? 3 : 1;   /* as in the word flags below: bit 1, a letter */
		/* (the tests below on the word's bytes and length are arithmetic, not
		 * branches: which way they go changes from word to word) */
		size_t r = i - a;
		uint64_t head = first_bytes(s + a, n - a), x = head | 0x20;   /* x: the first byte in lower case */
		int special = ((r == 2) & ((x & 0xFFFF) == KEY4('i', 'd', 0, 0))) |
		              ((r == 6) & ((x & 0xFFFFFFFFFFFFull) == ((uint64_t)KEY4('n', 'o', 't', 0) << 24 | KEY4('c', 'a', 'n', 0))));
		if (r && !special) {
			/* or such a word and one of , ; : ! ? or a '.' that spaCy splits off */
			int after = after_word[i < n ? (unsigned char)s[i] : 0];
			size_t e = i + (after & 1);
			int dot = (after >> 1 & 1) & (after_word[(unsigned char)s[i - 1]] >> 3) & (r > 1);
			if (dot && !abbreviation(s + a, r + 1)) e++;
			unsigned char ce = e < n ? (unsigned char)s[e] : ' ';
			if ((ce == ' ') | (ce == '\n')) {
				reserve_words(c, 2);
				clean_word *w = &c->w[c->nw];
				w->line_start = line, line = 0;
				w->cps = r, w->symbol = 0, w->alpha = letters >> 1, w->sent_end = 0;
				w->hash = word_hash(s + a, r, n - a);
				c->ws.nonsym++, c->ws.nonsym_cps += r, c->ws.alpha += letters >> 1;
				c->ws.stops |= stop_bits((uint32_t)head, r);
				/* the punctuation after it, kept only when there is one */
				w[1].line_start = 0, w[1].cps = 1, w[1].symbol = 1, w[1].alpha = 0;
				size_t pi = i - 1 + (e > i);
				w[1].sent_end = after_word[(unsigned char)s[pi]] >> 2 & 1;
				w[1].hash = c->hash1[(unsigned char)s[pi]];
				c->nw += 1 + (e > i);
				i = e;
				continue;
			}
		}
		while (i < n) {   /* the rest of the chunk, to white space */
			cursor_at(&k, s, n, i);
			uint64_t m = (k.space | k.high) >> (i & 63);
			if (!m) { i = k.base + 64; continue; }
			i += __builtin_ctzll(m);
			if (i >= n || (unsigned char)s[i] < 0x80) break;
			int l;
			uint32_t cp = utf8_get(s + i, n - i, &l);
			if (cp_is_space(cp)) break;
			i += l;
		}
		if (i > n) i = n;
		if (i > a) memo_chunk(c, s, a, i);
		if (c->nw > w0) c->w[w0].line_start = line, line = 0;
	}
	c->wtext = NULL;
	c->cnt_text = s, c->cnt_len = n, c->cnt_nw = c->nw;
}

void clean_words_into(cleaner *c, const char *s, size_t n, clean_word **w, size_t *nw, size_t *cap) {
	clean_word *sw = c->w;
	size_t snw = c->nw, scap = c->wcap;
	const char *swt = c->wtext;
	size_t swl = c->wlen;
	clean_wstat sws = c->ws;
	c->w = *w, c->nw = 0, c->wcap = *cap;
	clean_words(c, s, n);
	*w = c->w, *nw = c->nw, *cap = c->wcap;
	c->w = sw, c->nw = snw, c->wcap = scap, c->wtext = swt, c->wlen = swl, c->ws = sws;
}

void clean_words_cached(cleaner *c, const char *s, size_t n) {
	if (c->wtext == s && c->wlen == n) return;
	clean_words(c, s, n);
	c->wtext = s, c->wlen = n;
}

/* a line separator at s[i]: its length, else 0 */
static int line_sep(const char *s, size_t n, size_t i) {
	unsigned char ch = s[i];
	if (ch == '\n' || ch == '\v' || ch == '\f' || (ch >= 0x1C && ch <= 0x1E)) return 1;
	if (ch == '\r') return i + 1 < n && s[i + 1] == '\n' ? 2 : 1;
	if (ch == 0xC2 && i + 1 < n && (unsigned char)s[i + 1] == 0x85) return 2;
	if (ch == 0xE2 && i + 2 < n && (unsigned char)s[i + 1] == 0x80 &&
	    ((unsigned char)s[i + 2] == 0xA8 || (unsigned char)s[i + 2] == 0xA9)) return 3;
	return 0;
}

int py_line(const char *s, size_t n, size_t *pos, size_t *a, size_t *b) {
	size_t i = *pos;
	if (i >= n) return 0;
	*a = i;
	for (; i < n; i += 64) {
		blk64 v = blk_at(s, i, n);
		/* the bytes that may start a separator: \n \v \f \r, 0x1C-0x1E, 0xC2, 0xE2 */
		uint64_t m = blk_range(v, '\n', 4) | blk_range(v, 0x1C, 3) | blk_eq(v, 0xC2) | blk_eq(v, 0xE2);
		for (; m; m &= m - 1) {
			size_t j = i + __builtin_ctzll(m);
			int l = line_sep(s, n, j);
			if (l) { *b = j; *pos = j + l; return 1; }
		}
	}
	*b = n, *pos = n;
	return 1;
}

/* Python's white space among ASCII bytes */
static inline int ascii_space(unsigned char ch) { return ch == ' ' || (ch >= 9 && ch <= 13) || (ch >= 0x1C && ch <= 0x1F); }

size_t lstrip_at(const char *s, size_t a, size_t b) {
	while (a < b) {
		unsigned char ch = s[a];
		if (ch < 0x80) {
			if (!ascii_space(ch)) break;
			a++;
			continue;
		}
		int l;
		uint32_t cp = utf8_get(s + a, b - a, &l);
		if (!cp_is_space(cp)) break;
		a += l;
	}
	return a;
}

size_t rstrip_at(const char *s, size_t a, size_t b) {
	while (b > a) {
		unsigned char ch = s[b - 1];
		if (ch < 0x80) {
			if (!ascii_space(ch)) break;
			b--;
			continue;
		}
		int l;
		uint32_t cp = last_cp(s + a, b - a, &l);
		if (!cp_is_space(cp)) break;
		b -= l;
	}
	return b;
}

void words_init(cleaner *c) {
	for (int i = 0; i < 256; i++) {
		char b = (char)i;
		c->hash1[i] = word_hash(&b, 1, 1);
	}
}
