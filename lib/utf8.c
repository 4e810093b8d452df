#include "utf8.h"

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
