/* The pieces under lm-dedup: normalization, signatures, fingerprint
 * agreement, and the external sort (spilling, merging, stability). */
#include "extsort.h"
#include "minhash.h"
#include "util.h"
#include "tap.h"
#include <stdint.h>
#include <string.h>

static mh_ctx mh;

static int norm_isn(const char *in, size_t n, const char *want) {
	mh_normalize(&mh, in, n);
	int r = mh.norm_len == strlen(want) && !memcmp(mh.norm, want, mh.norm_len);
	if (!r) printf("#   '%s' -> '%s', want '%s'\n", in, mh.norm, want);
	return r;
}
static int norm_is(const char *in, const char *want) { return norm_isn(in, strlen(in), want); }

typedef struct rec { uint64_t k; uint32_t seq, pad; } rec;
static int rec_cmp(const void *a, const void *b) {
	const rec *x = a, *y = b;
	return (x->k > y->k) - (x->k < y->k);
}

static void sort_check(size_t n, size_t mem, int want_spill) {
	xsort *s = xs_new(sizeof(rec), rec_cmp, mem, NULL);
	uint64_t st = 42;
	for (size_t i = 0; i < n; i++) {
		st = st * 6364136223846793005ULL + 1442695040888963407ULL;
		rec r = { (st >> 33) % (n / 4 + 1), (uint32_t)i, 0 };   /* many equal keys */
		xs_add(s, &r);
	}
	const rec *r;
	rec prev = {0};
	size_t got = 0, bad = 0;
	while ((r = xs_next(s))) {
		if (got && (r->k < prev.k || (r->k == prev.k && r->seq <= prev.seq))) bad++;
		prev = *r;
		got++;
	}
	ok(got == n && !bad, "extsort: %zu records in %zu bytes come back sorted and stable (%zu out of order)", n, mem, bad);
	ok(want_spill ? xs_runs(s) > 1 : xs_runs(s) == 0, "extsort: %zu runs on disk", xs_runs(s));
	xs_free(s);
}

int main(void) {
	mh_init(&mh, MH_NGRAM);
	ok(norm_is("Hello,   World!", "hello world"), "ASCII case, punctuation and spaces fold");
	ok(norm_is("  \t\n--x--  ", "x"), "no leading or trailing separator");
	ok(norm_is("", ""), "empty text");
	ok(norm_is("!!!", ""), "punctuation only is empty");
	ok(norm_is("a1 B2", "a1 b2"), "digits are word characters");
	ok(norm_is("\xC3\x89T\xC3\x89 \xC3\xA9t\xC3\xA9", "\xC3\xA9t\xC3\xA9 \xC3\xA9t\xC3\xA9"), "Latin-1 capitals fold (ÉTÉ)");
	ok(norm_is("\xE2\x80\x9Cquoted\xE2\x80\x9D\xE2\x80\x94" "dash", "quoted dash"), "General Punctuation separates");
	ok(norm_is("a\xC2\xA0" "b\xC2\xBB", "a b"), "NBSP and Latin-1 punctuation separate");
	ok(norm_is("\xEF\xBB\xBFtext", "text"), "a BOM separates");
	ok(norm_is("\xE6\x97\xA5\xE6\x9C\xAC\xE3\x80\x82\xE8\xAA\x9E", "\xE6\x97\xA5\xE6\x9C\xAC \xE8\xAA\x9E"), "CJK kept, ideographic full stop separates");
	ok(norm_is("x\xFFy \xC3", "x\xFFy \xC3"), "invalid UTF-8 bytes are word bytes");
	ok(norm_isn("a\0b", 3, "a b"), "NUL separates");

	uint64_t h1 = mh_normalize(&mh, "The cat sat.", 12), h2 = mh_normalize(&mh, "the  CAT sat", 12);
	ok(h1 == h2, "exact hash of equal normalized texts");
	ok(h1 != mh_normalize(&mh, "the cat sits", 12), "exact hash differs otherwise");

	const char *t = "one two three four five six seven eight nine ten eleven twelve";
	uint32_t s1[MH_PERM], s2[MH_PERM];
	mh_normalize(&mh, t, strlen(t));
	ok(mh.nword == 12, "12 words");
	ok(mh_signature(&mh, s1), "a signature");
	const char *u = "ONE two three four five six seven eight nine ten eleven twelve!";
	mh_normalize(&mh, u, strlen(u));
	mh_signature(&mh, s2);
	ok(!memcmp(s1, s2, sizeof s1), "equal after normalization, equal signatures");
	uint8_t f1[MH_PERM], f2[MH_PERM];
	mh_fingerprint(s1, f1);
	mh_fingerprint(s2, f2);
	ok(mh_fp_agree(f1, f2) == MH_PERM, "fingerprints agree on all rows");
	ok(mh_band_key(s1, 0) != mh_band_key(s1, 1), "band keys are seeded by band");
	mh_normalize(&mh, "!!", 2);
	ok(!mh_signature(&mh, s2), "no words, no signature");
	mh_normalize(&mh, "just three words", 16);
	ok(mh_signature(&mh, s2), "fewer words than the n-gram: one n-gram of them all");

	/* the Jaccard estimate on two texts with 8 of 16 5-grams shared: J = 8/24 */
	char a[400] = "", b[400] = "";
	for (int i = 0; i < 20; i++) {
		char w[16];
		snprintf(w, sizeof w, "w%d ", i); strcat(a, w);
		snprintf(w, sizeof w, "w%d ", i < 12 ? i : 100 + i); strcat(b, w);
	}
	mh_normalize(&mh, a, strlen(a)); mh_signature(&mh, s1);
	mh_normalize(&mh, b, strlen(b)); mh_signature(&mh, s2);
	int same = 0;
	for (int i = 0; i < MH_PERM; i++) same += s1[i] == s2[i];
	ok(same > MH_PERM * 0.15 && same < MH_PERM * 0.55, "signature agreement %d/%d near J = 1/3", same, MH_PERM);
	ok(mh_fp_needed(1.0) == MH_PERM, "J = 1 needs every row");
	ok(mh_fp_needed(0.75) == 85, "J = 0.75 needs 85 of 112 rows (0.75 + 0.25/256)");

	sort_check(1000, 1 << 20, 0);
	sort_check(100000, 64 << 10, 1);
	sort_check(0, 64 << 10, 0);
	mh_free(&mh);
	return done_testing();
}
