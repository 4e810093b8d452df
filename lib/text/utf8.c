#include "utf8.h"
#include "blk64.h"

static int trail(unsigned char c) { return (c & 0xC0) == 0x80; }
static int scalar(uint32_t c) { return c < 0xD800 || (c >= 0xE000 && c <= 0x10FFFF); }

size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp, int *valid) {
	uint32_t c;
	*valid = 1;
	if (s[0] < 0x80) { *cp = s[0]; return 1; }
	if (n >= 2 && (s[0] & 0xE0) == 0xC0) {
		c = (uint32_t)(s[0] & 0x1F) << 6 | (s[1] & 0x3F);
		if (trail(s[1]) && c >= 0x80) { *cp = c; return 2; }
	} else if (n >= 3 && (s[0] & 0xF0) == 0xE0) {
		c = (uint32_t)(s[0] & 0x0F) << 12 | (uint32_t)(s[1] & 0x3F) << 6 | (s[2] & 0x3F);
		if (trail(s[1]) && trail(s[2]) && c >= 0x800 && scalar(c)) { *cp = c; return 3; }
	} else if (n >= 4 && (s[0] & 0xF8) == 0xF0) {
		c = (uint32_t)(s[0] & 0x07) << 18 | (uint32_t)(s[1] & 0x3F) << 12 |
		    (uint32_t)(s[2] & 0x3F) << 6 | (s[3] & 0x3F);
		if (trail(s[1]) && trail(s[2]) && trail(s[3]) && c >= 0x10000 && scalar(c)) { *cp = c; return 4; }
	}
	*valid = 0;
	*cp = UTF8_REPLACEMENT;
	return 1;
}

size_t utf8_encode(uint32_t cp, char *out) {
	unsigned char *o = (unsigned char *)out;
	if (cp < 0x80) { o[0] = cp; return 1; }
	if (cp < 0x800) { o[0] = 0xC0 | cp >> 6; o[1] = 0x80 | (cp & 0x3F); return 2; }
	if (cp < 0x10000) {
		o[0] = 0xE0 | cp >> 12; o[1] = 0x80 | (cp >> 6 & 0x3F); o[2] = 0x80 | (cp & 0x3F);
		return 3;
	}
	o[0] = 0xF0 | cp >> 18; o[1] = 0x80 | (cp >> 12 & 0x3F); o[2] = 0x80 | (cp >> 6 & 0x3F);
	o[3] = 0x80 | (cp & 0x3F);
	return 4;
}

/* ---- as Python decodes (errors="replace"), for the cleaning rules ---- */

/* Length of the valid sequence at s (1..4), or 0 when s starts an invalid one. */
int utf8_valid_len(const unsigned char *s, size_t n) {
	unsigned c = s[0];
	if (c < 0x80) return 1;
	if (c < 0xC2) return 0;
	if (c < 0xE0) return n >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;
	if (c < 0xF0) {
		if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80) return 0;
		if (c == 0xE0 && s[1] < 0xA0) return 0;          /* overlong */
		if (c == 0xED && s[1] >= 0xA0) return 0;         /* surrogate */
		return 3;
	}
	if (c < 0xF5) {
		if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80) return 0;
		if (c == 0xF0 && s[1] < 0x90) return 0;
		if (c == 0xF4 && s[1] >= 0x90) return 0;
		return 4;
	}
	return 0;
}

/* How many bytes a maximal invalid subpart at s spans (Unicode 3.9 "best practice",
 * which Python's errors="replace" follows): the lead byte and the continuation
 * bytes that could still have completed it. */
int utf8_bad_len(const unsigned char *s, size_t n) {
	unsigned c = s[0];
	int need = c >= 0xF0 && c < 0xF5 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 1;
	if (c >= 0xF5) need = 1;
	int i = 1;
	for (; i < need && i < (int)n; i++) {
		unsigned b = s[i];
		unsigned lo = 0x80, hi = 0xBF;
		if (i == 1) {
			if (c == 0xE0) lo = 0xA0;
			else if (c == 0xED) hi = 0x9F;
			else if (c == 0xF0) lo = 0x90;
			else if (c == 0xF4) hi = 0x8F;
		}
		if (b < lo || b > hi) break;
	}
	return i;
}

uint32_t utf8_get(const char *s, size_t n, int *len) {
	const unsigned char *u = (const unsigned char *)s;
	int l = utf8_valid_len(u, n);
	if (!l) { *len = utf8_bad_len(u, n); return 0xFFFD; }
	*len = l;
	switch (l) {
	case 1: return u[0];
	case 2: return (u[0] & 0x1F) << 6 | (u[1] & 0x3F);
	case 3: return (u[0] & 0x0F) << 12 | (u[1] & 0x3F) << 6 | (u[2] & 0x3F);
	default: return (u[0] & 0x07) << 18 | (u[1] & 0x3F) << 12 | (u[2] & 0x3F) << 6 | (u[3] & 0x3F);
	}
}

size_t utf8_cps(const char *s, size_t n) {
	size_t cont = 0;   /* continuation bytes 0x80-0xBF; the padding zeros are not */
	for (size_t i = 0; i < n; i += 64) cont += __builtin_popcountll(blk_range(blk_at(s, i, n), 0x80, 0x40));
	return n - cont;
}

int utf8_valid(const char *s, size_t n) {
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0; i < n;) {
		int l = utf8_valid_len(u + i, n - i);
		if (!l) return 0;
		i += l;
	}
	return 1;
}
