/* clean rules: each check with documents just inside and just outside its
 * published threshold (the other checks of the rule switched off, so that the
 * one under test decides), UTF-8 repair, and the rule switches. */
#include "tap.h"
#include "clean.h"
#include "util.h"
#include <math.h>
#include <string.h>

static char t[1 << 21];
static size_t n;
static void reset(void) { n = 0; t[0] = 0; }
static void add(const char *s) { size_t m = strlen(s); memcpy(t + n, s, m + 1); n += m; }
static void addn(const char *s, int times) { for (int i = 0; i < times; i++) add(s); }
static void addc(char ch, int times) { memset(t + n, ch, times); n += times; t[n] = 0; }
/* pad with " zzz..." to exactly len bytes (one word nobody else uses) */
static void pad(size_t len) { if (n < len) { add(" "); addc('z', len - n); } }

/* a cleaner with only rule on and, of its checks, only param (NULL: all) */
static cleaner *only(int rule, const char *param) {
	cleaner *c = clean_new();
	for (int r = 0; r < R_N; r++) clean_enable(c, clean_rule_name[r], r == rule);
	if (param)
		for (int i = 0; i < clean_nparams; i++)
			if (clean_params[i].rule == rule && strcmp(clean_params[i].name, param) &&
			    strcmp(clean_params[i].name, "short_line_len"))   /* a length, not a check */
				c->p[i] = NAN;
	return c;
}

static clean_result res;
static int kept(cleaner *c) { clean_doc(c, t, n, &res); return res.kept; }
static int dropped_by(cleaner *c, const char *check) {
	clean_doc(c, t, n, &res);
	return !res.kept && !strcmp(res.check, check);
}
#define CHECK(c, name_, inside_setup, outside_setup) do { \
	reset(); inside_setup; ok(kept(c), "%s: just inside kept (%s %g)", name_, res.check ? res.check : "", res.value); \
	reset(); outside_setup; ok(dropped_by(c, name_), "%s: just outside dropped (%s %g)", name_, res.check ? res.check : "kept", res.value); \
} while (0)

static void words(int k) { for (int i = 0; i < k; i++) add(i % 2 ? " garden" : " house"); }

static void gopher_quality_tests(void) {
	cleaner *c = only(R_GOPHER_QUAL, "min_words");
	CHECK(c, "min_words", (add("the and"), words(48), add(".")), (add("the and"), words(47), add(".")));
	clean_free(c);
	c = only(R_GOPHER_QUAL, "max_words");
	CHECK(c, "max_words", words(100000), words(100001));
	clean_free(c);
	c = only(R_GOPHER_QUAL, "min_mean_word");
	CHECK(c, "min_mean_word", addn("the and ", 50), (addn("the and ", 49), add("the to")));
	clean_free(c);
	c = only(R_GOPHER_QUAL, "max_mean_word");   /* 50 x 10 + 6 + m x 17 over 52 + m: m = 2 gives 10 */
	CHECK(c, "max_mean_word", (addn("understand ", 50), add("the and"), addn(" internationalized", 2)),
	      (addn("understand ", 50), add("the and"), addn(" internationalized", 3)));
	clean_free(c);
	c = only(R_GOPHER_QUAL, "max_hash");        /* '#' per word, the '#' words counted: 11/111, 12/112 */
	CHECK(c, "max_hash", (words(100), addn(" #", 11)), (words(100), addn(" #", 12)));
	clean_free(c);
	c = only(R_GOPHER_QUAL, "max_ellipsis");
	CHECK(c, "max_ellipsis", (words(100), addn(" ...", 6), addn(" \xE2\x80\xA6", 5)),
	      (words(100), addn(" ...", 6), addn(" \xE2\x80\xA6", 6)));
	clean_free(c);
	c = only(R_GOPHER_QUAL, "max_bullet_lines");
	CHECK(c, "max_bullet_lines", (addn("- the house\n", 8), add("\xE2\x80\xA2 the house\nthe house\n")),
	      (addn("- the house\n", 9), add("  \xE2\x80\xA2 the house")));
	clean_free(c);
	c = only(R_GOPHER_QUAL, "max_ellipsis_lines");
	CHECK(c, "max_ellipsis_lines", (addn("the house...\n", 2), add("the house\xE2\x80\xA6  \n"), addn("the house\n", 7)),
	      (addn("the house...\n", 3), add("the house\xE2\x80\xA6\n"), addn("the house\n", 6)));
	clean_free(c);
	c = only(R_GOPHER_QUAL, "min_alpha_words"); /* 100 / 125 = 0.8 */
	CHECK(c, "min_alpha_words", (words(100), addn(" 123", 25)), (words(100), addn(" 123", 26)));
	clean_free(c);
	c = only(R_GOPHER_QUAL, "min_stop_words");
	CHECK(c, "min_stop_words", (words(10), add(" the and The")), (words(10), add(" the The THE")));
	clean_free(c);
	c = only(R_GOPHER_QUAL, NULL);
	reset(); add("the and"); words(48); add(".");
	ok(kept(c), "a plain document passes every quality check");
	clean_free(c);
}

static void gopher_repetition_tests(void) {
	char line[64];
	cleaner *c = only(R_GOPHER_REP, "dup_line");
#define LINES(dups, sep) do { for (int i = 0; i < 10; i++) { \
		snprintf(line, sizeof line, "%sline %d here", i ? sep : "", i < 10 - (dups) ? i : 0); add(line); } } while (0)
	CHECK(c, "dup_line", LINES(3, "\n"), LINES(4, "\n"));
	clean_free(c);
	c = only(R_GOPHER_REP, "dup_para");
	CHECK(c, "dup_para", LINES(3, "\n\n\n"), LINES(4, "\n\n"));
	clean_free(c);
	/* 20 duplicate characters in 100 is 0.2, in 99 over it */
	c = only(R_GOPHER_REP, "dup_line_chars");
	CHECK(c, "dup_line_chars", (addc('u', 58), add("\nabcdefghij klmnopqrs\nabcdefghij klmnopqrs")),
	      (addc('u', 57), add("\nabcdefghij klmnopqrs\nabcdefghij klmnopqrs")));
	clean_free(c);
	c = only(R_GOPHER_REP, "dup_para_chars");
	CHECK(c, "dup_para_chars", (addc('u', 56), add("\n\nabcdefghij klmnopqrs\n\nabcdefghij klmnopqrs")),
	      (addc('u', 55), add("\n\nabcdefghij klmnopqrs\n\nabcdefghij klmnopqrs")));
	clean_free(c);
	/* the top k-gram with its joining spaces, times its count: 20, 18 and 16 of 100 */
	c = only(R_GOPHER_REP, "top2");
	CHECK(c, "top2", (add("ab cd ab cd ab cd ab cd"), pad(100)), (add("ab cd ab cd ab cd ab cd"), pad(99)));
	clean_free(c);
	c = only(R_GOPHER_REP, "top3");
	CHECK(c, "top3", (add("ab cd efg ab cd efg"), pad(100)), (add("ab cd efg ab cd efg"), pad(99)));
	clean_free(c);
	c = only(R_GOPHER_REP, "top4");
	CHECK(c, "top4", (add("a b c de a b c de"), pad(100)), (add("a b c de a b c de"), pad(99)));
	clean_free(c);
	/* a repeated k-gram counts its characters without spaces: 15, 14, ... 10 of 100 */
	for (int k = 5; k <= 10; k++) {
		char name[16], gram[64];
		snprintf(name, sizeof name, "dup%d", k);
		c = only(R_GOPHER_REP, name);
		size_t m = 0;
		for (int i = 0; i < k - 1; i++) m += snprintf(gram + m, sizeof gram - m, "%c ", 'a' + i);
		for (int i = 0; i < 20 - k - (k - 1); i++) gram[m++] = 'q';   /* joined length 20 - k */
		gram[m] = 0;
		CHECK(c, name, (add(gram), add(" "), add(gram), pad(100)), (add(gram), add(" "), add(gram), pad(99)));
		clean_free(c);
	}
	c = only(R_GOPHER_REP, NULL);
	reset();
	ok(dropped_by(c, "empty"), "an empty document is dropped");
	clean_free(c);
}

static void c4_tests(void) {
	cleaner *c = only(R_C4, NULL);
	const char *five = "One is here. Two is here. Three is here. Four is here. Five is here.";
	reset(); add(five);
	ok(kept(c) && !res.changed, "five sentences kept unchanged");
	reset(); add("One is here. Two is here. Three is here. Four is here!");
	ok(dropped_by(c, "min_sentences") && res.value == 4, "four sentences dropped (%g)", res.value);
	reset(); add("Menu Home Contact\n"); add(five); add("\nno punctuation here\nTwo words.\nThree words here.");
	ok(kept(c) && res.len == strlen(five) + 18 && !memcmp(res.text + res.len - 18, "\nThree words here.", 18),
	   "lines without terminal punctuation or with fewer than 3 words removed: '%.*s'", (int)res.len, res.text);
	reset(); add(five); add("\nThis line ends with dots...");
	ok(kept(c) && res.len == strlen(five), "a line ending with an ellipsis removed");
	reset(); add(five); add("\nPlease enable JavaScript now.\nWe use cookies on this site.\nRead our Terms of Use here.");
	ok(kept(c) && res.len == strlen(five), "javascript and policy lines removed");
	reset(); add(five); add("\nLorem ipsum dolor sit.");
	ok(dropped_by(c, "lorem_ipsum"), "lorem ipsum drops the document");
	reset(); add(five); add("\nlorem ipsum dolor sit");
	ok(kept(c), "lorem ipsum in a removed line does not");
	reset(); add(five); add("\nvar x = {a: 1} is code.");
	ok(dropped_by(c, "curly_bracket"), "a curly bracket drops the document");
	reset(); add("One is here [1]. Two is here[citation needed]. Three [edit] is here. Four is here. Five is here.");
	ok(kept(c) && !memmem(res.text, res.len, "[", 1), "citations removed: '%.*s'", (int)res.len, res.text);
	reset(); add(five); add("\nA long "); addc('w', 1000); add(" word.");
	ok(kept(c) && res.len > 1000, "a word of 1000 characters is allowed");
	reset(); add(five); add("\nA long "); addc('w', 1001); add(" word.");
	ok(kept(c) && res.len == strlen(five), "a word of 1001 characters removes its line");
	clean_set(c, "c4.min_sentences=off");
	clean_set(c, "c4.terminal_punct=0");
	reset(); add("no punctuation at all");
	ok(kept(c) && res.len == n, "switched-off checks keep the line");
	clean_free(c);
}

static void fineweb_tests(void) {
	cleaner *c = only(R_FINEWEB, "line_punct");
	CHECK(c, "line_punct", (addn("a line with a stop.\n", 3), addn("a line without one\n", 22)),
	      (addn("a line with a stop.\n", 2), addn("a line without one\n", 23)));
	clean_free(c);
	c = only(R_FINEWEB, "short_lines");   /* 67 of 100 is not over 0.67, 68 is */
	CHECK(c, "short_lines", (addn("short line\n", 67), addn("a line that is longer than thirty characters\n", 33)),
	      (addn("short line\n", 68), addn("a line that is longer than thirty characters\n", 32)));
	clean_free(c);
	c = only(R_FINEWEB, "short_lines");
	clean_set(c, "fineweb.short_lines=0");
	CHECK(c, "short_lines", (addc('x', 31), add("\n")), (addc('x', 30), add("\n")));
	clean_free(c);
	c = only(R_FINEWEB, "char_dup");      /* 10 duplicate characters in 1000 (newlines not counted) */
	CHECK(c, "char_dup", (add("0123456789\n0123456789\n"), addc('x', 980)), (add("0123456789\n0123456789\n"), addc('x', 979)));
	clean_free(c);
	c = only(R_FINEWEB, "list_ratio");    /* newlines per word: 3/10, 4/10 */
	CHECK(c, "list_ratio", add("a b c\nd e f\ng h\ni j"), add("a b c\nd e\nf g\nh i\nj"));
	clean_free(c);
	c = only(R_FINEWEB, NULL);
	reset(); add(" \n\t\n");
	ok(dropped_by(c, "empty"), "a blank document is dropped");
	clean_free(c);
}

static void utf8_tests(void) {
	cleaner *c = only(R_UTF8, NULL);
	static const struct { const char *in, *out; } cases[] = {
		{"ok \xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80", "ok \xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"},
		{"a\xFF" "b", "a\xEF\xBF\xBD" "b"},
		{"a\xC3", "a\xEF\xBF\xBD"},                        /* truncated at the end */
		{"\xE2\x82z", "\xEF\xBF\xBDz"},                    /* one replacement for a maximal subpart */
		{"\xC0\xAF", "\xEF\xBF\xBD\xEF\xBF\xBD"},          /* overlong: each byte */
		{"\xED\xA0\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},  /* surrogate */
		{"\xF4\x90\x80\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},  /* above U+10FFFF */
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		reset(); add(cases[i].in);
		clean_doc(c, t, n, &res);
		ok(res.kept && res.len == strlen(cases[i].out) && !memcmp(res.text, cases[i].out, res.len) &&
		   res.utf8_repaired == (i > 0), "utf8 case %zu", i);
	}
	clean_free(c);
}

static void option_tests(void) {
	cleaner *c = clean_new();
	ok(!clean_set(c, "gopher-quality.min_words=10") && clean_get(c, "gopher-quality", "min_words") == 10, "set a parameter");
	ok(!clean_set(c, "c4.min_sentences=off") && isnan(clean_get(c, "c4", "min_sentences")), "switch a check off");
	ok(clean_set(c, "c4.nope=1") && clean_set(c, "nope.min_words=1") && clean_set(c, "c4.min_sentences=x") &&
	   clean_set(c, "c4.min_sentences") && clean_set(c, "min_words=3"), "bad assignments refused");
	ok(clean_enable(c, "pii", 0) && !clean_enabled(c, R_PII) && !clean_enable(c, "nope", 0), "rule switches");
	clean_free(c);
}

int main(int argc, char **argv) {
	lm_init(argc, argv);
	gopher_quality_tests();
	gopher_repetition_tests();
	c4_tests();
	fineweb_tests();
	utf8_tests();
	option_tests();
	return done_testing();
}
