/* pii: e-mail addresses, IP addresses and phone numbers replaced by <EMAIL>, <IP>
 * and <PHONE>, with one PCRE2 pattern compiled once and JIT-compiled. What counts
 * as each, and what is deliberately left alone (versions, dates, ISBNs, decimals,
 * CSS colours), is in docs/CLEAN.md; the checks after a match that a regular
 * expression cannot express well are here. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "clean.h"
#include "util.h"
#include <math.h>
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#define OCT "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
#define H4 "[0-9A-Fa-f]{1,4}"
#define IPV4 OCT "\\." OCT "\\." OCT "\\." OCT
static const char pattern[] =
	/* 1: e-mail: a local part, '@', a dotted domain ending in a letter-only label */
	"(?<![A-Za-z0-9._%+-])([A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)+[A-Za-z]{2,24})(?![A-Za-z0-9-]|\\.[A-Za-z0-9])"
	/* 2: IPv6 (full, compressed, with an embedded IPv4) */
	"|(?<![0-9A-Za-z:.])("
	"(?:" H4 ":){7}" H4
	"|(?:" H4 ":){1,7}:(?!" H4 ")"
	"|(?:" H4 ":){1,6}:" H4
	"|(?:" H4 ":){1,5}(?::" H4 "){2}"
	"|(?:" H4 ":){1,4}(?::" H4 "){3}"
	"|(?:" H4 ":){1,3}(?::" H4 "){4}"
	"|(?:" H4 ":){1,2}(?::" H4 "){5}"
	"|" H4 ":(?::" H4 "){6}"
	"|::(?:ffff(?::0{1,4})?:)?" IPV4
	"|(?:" H4 ":){1,4}:" IPV4
	"|::(?:" H4 ":){0,6}" H4
	")(?![0-9A-Za-z:]|\\.[0-9])"
	/* 3: IPv4: four octets not part of a longer dotted number */
	"|(?<![0-9A-Za-z.])(" IPV4 ")(?![0-9A-Za-z]|\\.[0-9])"
	/* 4: phone, international: +CC and 2-6 groups */
	"|(?<![0-9A-Za-z+])(\\+[1-9][0-9]{0,2}(?:[ .-]?\\(?[0-9]{1,4}\\)?){2,6})(?![0-9A-Za-z]|[.-][0-9])"
	/* 5: phone, national: (area) or area, exchange, line, optional leading 1 */
	"|(?<![0-9A-Za-z.+-])((?:1[ .-])?(?:\\([0-9]{2,4}\\)[ .-]?|[0-9]{2,4}[ .-])[0-9]{3,4}[ .-][0-9]{4})(?![0-9A-Za-z]|[.-][0-9])";

typedef struct pii {
	pcre2_code *re;
	pcre2_match_data *md;
	pcre2_match_context *mc;
} pii;

/* Every accepted match holds a digit or an '@' no further than this from its start
 * (an e-mail's local part is at most 64 characters), so the pattern is only tried
 * in windows that end at such a "trigger": text without digits or '@' costs one
 * table lookup a byte instead of a pattern attempt a position. */
#define WINDOW 72

void pii_init(cleaner *c) {
	if (c->pii) return;
	int err;
	PCRE2_SIZE off;
	pii *x = xcalloc(1, sizeof *x);
	x->re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_USE_OFFSET_LIMIT, &err, &off, NULL);
	if (!x->re) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(err, msg, sizeof msg);
		die("pii pattern at %zu: %s", (size_t)off, (char *)msg);
	}
	pcre2_jit_compile(x->re, PCRE2_JIT_COMPLETE);   /* falls back to the interpreter when JIT is absent */
	x->md = pcre2_match_data_create_from_pattern(x->re, NULL);
	x->mc = pcre2_match_context_create(NULL);
	c->pii = x;
}

void pii_free(cleaner *c) {
	pii *x = c->pii;
	if (!x) return;
	pcre2_match_data_free(x->md);
	pcre2_match_context_free(x->mc);
	pcre2_code_free(x->re);
	free(x);
	c->pii = NULL;
}

static size_t digits(const char *s, size_t n) {
	size_t k = 0;
	for (size_t i = 0; i < n; i++) k += s[i] >= '0' && s[i] <= '9';
	return k;
}

/* A dotted quad right after "v", "version", "release", "ver." or "build" is a version. */
static int after_version_word(const char *s, size_t at) {
	static const char *const words[] = {"version ", "Version ", "release ", "Release ", "ver. ", "build ", "v", "V"};
	for (size_t i = 0; i < sizeof words / sizeof *words; i++) {
		size_t m = strlen(words[i]);
		if (at >= m && !memcmp(s + at - m, words[i], m) &&
		    (at == m || !(((s[at - m - 1] | 32) >= 'a' && (s[at - m - 1] | 32) <= 'z')) || m > 2))
			return 1;
	}
	return 0;
}

const char *pii_scrub(cleaner *c, const char *s, size_t n, size_t *outlen, clean_result *r) {
	const double *p = c->p;
	int want[3] = {!isnan(p[P_PII_EMAIL]) && p[P_PII_EMAIL] != 0, !isnan(p[P_PII_IP]) && p[P_PII_IP] != 0,
	               !isnan(p[P_PII_PHONE]) && p[P_PII_PHONE] != 0};
	*outlen = n;
	if (!want[0] && !want[1] && !want[2]) return s;
	pii_init(c);
	pii *x = c->pii;
	char *o = NULL;
	size_t k = 0, done = 0, start = 0, scan = 0;
	for (;;) {
		/* the next trigger at or after scan; the pattern may start from WINDOW before it */
		size_t t = scan;
		while (t < n && !((s[t] >= '0' && s[t] <= '9') || s[t] == '@')) t++;
		if (t >= n) break;
		if (t > start + WINDOW) start = t - WINDOW;
		pcre2_set_offset_limit(x->mc, t);
		int rc = pcre2_match(x->re, (PCRE2_SPTR)s, n, start, 0, x->md, x->mc);
		if (rc < 0) {   /* no match starts at or before t */
			start = scan = t + 1;
			continue;
		}
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(x->md);
		int g = 1;
		while (g < rc && ov[2 * g] == PCRE2_UNSET) g++;
		size_t a = ov[0], b = ov[1];
		int kind = g == 1 ? 0 : g <= 3 ? 1 : 2;
		int accept = want[kind];
		if (accept && g == 3 && after_version_word(s, a)) accept = 0;
		if (accept && g == 2 && !digits(s + a, b - a)) accept = 0;   /* "beef::cafe" is a word game, not an address */
		if (accept && g == 4 && (digits(s + a, b - a) < 8 || digits(s + a, b - a) > 15)) accept = 0;
		if (accept && g == 5 && (digits(s + a, b - a) < 9 || digits(s + a, b - a) > 11)) accept = 0;
		if (accept) {
			static const char *const token[] = {"<EMAIL>", "<IP>", "<PHONE>"};
			if (!o) o = scratch(c, 2, 2 * n + 16);   /* a token outgrows its match by at most 1 byte in 3 */
			memcpy(o + k, s + done, a - done);
			k += a - done;
			size_t tl = strlen(token[kind]);
			memcpy(o + k, token[kind], tl);
			k += tl;
			done = b;
			r->pii[kind]++;
		}
		start = scan = b > a ? b : a + 1;
	}
	if (!o) return s;
	memcpy(o + k, s + done, n - done);
	k += n - done;
	*outlen = k;
	return o;
}
