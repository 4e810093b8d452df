/* clean scanning internals that the rule tests would not catch going wrong: the
 * hash set growing past its first size, words at the edges of 64-byte blocks,
 * chunks split once and then taken from the memo, C4's lines found through the
 * words' line-start flags, and a repetition share over more distinct lines than
 * the set starts with. */
#include "tap.h"
#include "clean.h"
#include "util.h"
#include <math.h>
#include <string.h>

static char t[1 << 22];
static size_t n;
static void reset(void) { n = 0; t[0] = 0; }
static void add(const char *s) { size_t m = strlen(s); memcpy(t + n, s, m + 1); n += m; }

static cleaner *only(int rule) {
	cleaner *c = clean_new();
	for (int r = 0; r < R_N; r++) clean_enable(c, clean_rule_name[r], r == rule);
	return c;
}

int main(void) {
	/* the set: 300000 distinct keys, each put twice, from a 64K-slot start */
	hset s = {0};
	set_clear(&s, 300000);
	size_t fresh_n = 0, again = 0;
	for (int round = 0; round < 2; round++)
		for (uint64_t k = 1; k <= 300000; k++) {
			int fresh;
			set_put(&s, k * 0x9E3779B97F4A7C15ull, &fresh);
			fresh_n += fresh, again += !fresh;
		}
	ok(fresh_n == 300000 && again == 300000 && s.grew && s.used == 300000 && 2 * s.used <= s.n,
	   "set grows past its start: %zu new, %zu again, %zu slots", fresh_n, again, s.n);
	int found = 1;
	for (uint64_t k = 1; k <= 300000; k++)
		found &= s.slot[set_find(&s, k * 0x9E3779B97F4A7C15ull)].key == k * 0x9E3779B97F4A7C15ull;
	ok(found, "every key found after growing");
	hslot *e = set_count(&s, 12345, 7);
	ok(e->val == 1 && e->aux == 7, "set_count: a new key counts 1 and remembers where");
	e = set_count(&s, 12345, 9);
	ok(e->val == 2 && e->aux == 7, "set_count: a key again counts 2 and keeps the first place");
	free(s.slot);

	/* one word of every length 1..200 at the end of a text: runs across block edges */
	cleaner *c = clean_new();
	int lens_ok = 1;
	for (size_t len = 1; len <= 200; len++) {
		reset();
		add("x ");
		memset(t + n, 'a', len), n += len;
		clean_words(c, t, n);
		lens_ok &= c->nw == 2 && c->w[1].cps == len && c->w[1].alpha && !c->w[1].symbol;
		t[n++] = ',';
		clean_words(c, t, n);
		lens_ok &= c->nw == 3 && c->w[1].cps == len && c->w[2].cps == 1 && c->w[2].symbol;
	}
	ok(lens_ok, "a word of 1 to 200 letters at the end, with and without a comma");

	/* a chunk split once, then remembered: the same words every time */
	reset();
	for (int i = 0; i < 1000; i++) add("(it's) ");
	clean_words(c, t, n);
	int same = c->nw == 4000;
	for (size_t i = 4; same && i < c->nw; i++)
		same = c->w[i].hash == c->w[i % 4].hash && c->w[i].cps == c->w[i % 4].cps &&
		       c->w[i].symbol == c->w[i % 4].symbol;
	ok(same && c->w[0].cps == 1 && c->w[1].cps == 2 && c->w[2].cps == 2 && c->w[3].cps == 1,
	   "\"(it's)\" is ( it 's ) each of 1000 times (%zu words)", c->nw);
	reset();
	add("a\xC2\xA0" "b\xE2\x80\x83" "c\xE3\x80\x80" "d");
	clean_words(c, t, n);
	ok(c->nw == 4, "Unicode white space separates words (%zu)", c->nw);
	clean_free(c);

	/* C4 counts sentences per line through the line-start flags: lines separated by
	 * each of str.splitlines' separators, one sentence each; 5 are needed */
	static const char *const sep[] = {"\n", "\r\n", "\v", "\f", "\x1c", "\x1d", "\x1e", "\xC2\x85", "\xE2\x80\xA8",
	                                   "\xE2\x80\xA9", "\r"};
	c = only(R_C4);
	int c4_ok = 1;
	for (size_t k = 0; k < sizeof sep / sizeof *sep; k++) {
		clean_result r;
		reset();
		for (int i = 0; i < 5; i++) {
			if (i) add(sep[k]);
			add("The cat sat here. ");
		}
		clean_doc(c, t, n, &r);
		c4_ok &= r.kept;
		reset();
		for (int i = 0; i < 4; i++) {
			if (i) add(sep[k]);
			add("The cat sat here.  \t");
		}
		add(sep[k]), add("   "), add(sep[k]), add("x\x1f y z");   /* blank, and no terminal punctuation */
		clean_doc(c, t, n, &r);
		c4_ok &= !r.kept && !strcmp(r.check, "min_sentences") && r.value == 4;
	}
	ok(c4_ok, "C4: one sentence per line whatever separates the lines (5 kept, 4 dropped)");
	clean_result r;
	clean_set(c, "c4.min_sentences=6");
	reset();
	add("Mr. Smith went home. He slept! Did he? Yes.\n\n[1] no\nOne more line here.");
	clean_doc(c, t, n, &r);
	ok(r.kept == 0 && !strcmp(r.check, "min_sentences") && r.value == 5, "C4: sentences within lines (%g)", r.value);
	clean_free(c);

	/* 40000 distinct lines and 10000 repeats of them: dup_line is 0.2 exactly */
	c = only(R_GOPHER_REP);
	clean_set(c, "gopher-repetition.dup_para=off");
	clean_set(c, "gopher-repetition.dup_para_chars=off");
	clean_set(c, "gopher-repetition.dup_line=0.19");
	reset();
	for (int i = 0; i < 50000; i++) {
		char line[32];
		snprintf(line, sizeof line, "line %06d\n", i < 40000 ? i : i - 40000);
		add(line);
	}
	n--;   /* no final newline: 50000 lines */
	clean_doc(c, t, n, &r);
	ok(!r.kept && !strcmp(r.check, "dup_line") && fabs(r.value - 0.2) < 1e-12, "dup_line over 50000 lines: %g", r.value);
	clean_free(c);
	return done_testing();
}
