#include "minhash.h"
#include "util.h"
#include <math.h>
#include <string.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

/* Row i of the signature is the minimum over n-grams h of the high 32 bits of
 * a[i]*h + b[i] (multiply-shift hashing of the n-gram's 64-bit XXH3 hash):
 * cheap, and the compiler turns the loop over rows into AVX-512 multiplies. */
static uint64_t perm_a[MH_PERM], perm_b[MH_PERM];
static unsigned char lower[256];   /* ASCII: the folded byte, 0 = separator */
static unsigned char fold[128], isword[128];   /* the same as a space-or-byte and a flag */

static uint64_t splitmix64(uint64_t *s) {
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void init_tables(void) {
	static int done;
	if (done) return;
	/* fixed seed: signatures are part of the sig file format */
	uint64_t s = 0x6c6d6b6974646564ULL;   /* "lmkitded" */
	for (int i = 0; i < MH_PERM; i++) {
		perm_a[i] = splitmix64(&s) | 1;
		perm_b[i] = splitmix64(&s);
	}
	for (int c = 0; c < 128; c++)   /* bytes >= 0x80 stay 0: decided by utf8_sep */
		lower[c] = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ? c : (c >= 'A' && c <= 'Z') ? c + 32 : 0;
	for (int c = 0; c < 128; c++) fold[c] = lower[c] ? lower[c] : ' ', isword[c] = lower[c] != 0;
	done = 1;
}

void mh_init(mh_ctx *c, int ngram) {
	init_tables();
	memset(c, 0, sizeof *c);
	c->ngram = ngram;
}

void mh_free(mh_ctx *c) {
	free(c->norm);
	free(c->word);
	memset(c, 0, sizeof *c);
}

/* Length of the separator sequence at s (UTF-8 punctuation and spaces named in
 * minhash.h), or 0 when s starts a word byte. */
static size_t utf8_sep(const unsigned char *s, size_t n) {
	unsigned char b = s[0], b1 = n > 1 ? s[1] : 0, b2 = n > 2 ? s[2] : 0;
	if (b == 0xC2 && (b1 & 0xC0) == 0x80) return 2;
	if ((b2 & 0xC0) != 0x80) return 0;
	if (b == 0xE2 && (b1 == 0x80 || (b1 == 0x81 && b2 <= 0xAF))) return 3;
	if (b == 0xE3 && b1 == 0x80 && b2 <= 0x83) return 3;
	if (b == 0xEF && b1 == 0xBB && b2 == 0xBF) return 3;
	return 0;
}

uint64_t mh_normalize(mh_ctx *c, const char *text, size_t len) {
	if (c->norm_cap < len + 1) {
		free(c->norm);
		c->norm_cap = len + 1 + len / 4;
		c->norm = xmalloc(c->norm_cap);
	}
	/* at most one word per two bytes */
	if (c->ngram && c->word_cap < len / 2 + 1) {
		free(c->word);
		c->word_cap = len / 2 + 1 + len / 8;
		c->word = xmalloc(c->word_cap * sizeof *c->word);
	}
	const unsigned char *s = (const unsigned char *)text;
	char *o = c->norm;
	size_t k = 0, i = 0;
	/* Branch-free over ASCII: each byte writes its folded self or a space, and
	 * the space is kept only after a word byte (pw), so runs of separators
	 * become one space; word boundaries are too unpredictable to branch on. */
	unsigned pw = 0;
	while (i < len) {
		for (; i < len && s[i] < 0x80; i++) {
			unsigned w = isword[s[i]];
			o[k] = (char)fold[s[i]];
			k += w | pw;
			pw = w;
		}
		if (i >= len) break;
		size_t sep = utf8_sep(s + i, len - i);
		if (sep) {
			o[k] = ' ';
			k += pw;
			pw = 0;
			i += sep;
		} else if (s[i] == 0xC3 && i + 1 < len && s[i + 1] >= 0x80 && s[i + 1] <= 0x9E && s[i + 1] != 0x97) {
			/* Latin-1 capital: C3 and the lowercase continuation byte */
			o[k++] = (char)0xC3;
			o[k++] = (char)(s[i + 1] + 0x20);
			i += 2, pw = 1;
		} else {
			o[k++] = (char)s[i++];
			pw = 1;
		}
	}
	if (k && o[k - 1] == ' ') k--;
	o[k] = 0;
	c->norm_len = k;
	size_t nw = 0;
	if (c->ngram) {
		for (const char *p = o, *e = o + k; p < e;) {
			const char *q = memchr(p, ' ', e - p);
			if (!q) q = e;
			c->word[nw++] = XXH3_64bits(p, q - p);
			p = q + 1;
		}
	}
	c->nword = nw;   /* 0 without word hashes */
	return XXH3_64bits(o, k);
}

int mh_signature(const mh_ctx *c, uint32_t sig[MH_PERM]) {
	if (!c->nword || !c->ngram) return 0;
	size_t n = c->nword >= (size_t)c->ngram ? (size_t)c->ngram : c->nword;
	size_t nsh = c->nword - n + 1;
	uint32_t m[MH_PERM];
	memset(m, 0xff, sizeof m);
	for (size_t j = 0; j < nsh; j++) {
		uint64_t h = XXH3_64bits(c->word + j, n * sizeof *c->word);
		for (int i = 0; i < MH_PERM; i++) {
			uint32_t v = (uint32_t)((perm_a[i] * h + perm_b[i]) >> 32);
			m[i] = v < m[i] ? v : m[i];
		}
	}
	memcpy(sig, m, sizeof m);
	return 1;
}

uint64_t mh_band_key(const uint32_t sig[MH_PERM], int b) {
	return XXH3_64bits_withSeed(sig + b * MH_ROWS, MH_ROWS * sizeof *sig, (uint64_t)b + 1);
}

void mh_fingerprint(const uint32_t sig[MH_PERM], uint8_t fp[MH_PERM]) {
	for (int i = 0; i < MH_PERM; i++) fp[i] = (uint8_t)sig[i];
}

int mh_fp_agree(const uint8_t a[MH_PERM], const uint8_t b[MH_PERM]) {
	int n = 0;
	for (int i = 0; i < MH_PERM; i++) n += a[i] == b[i];
	return n;
}

int mh_fp_needed(double t) {
	double p = t + (1 - t) / 256.0;
	return (int)ceil(MH_PERM * p - 1e-9);
}
