/* bpetrain: the pieces SentencePiece's BPE trainer would make, on small texts
 * where the answer can be worked out by hand. */
#include "tap.h"
#include "bpetrain.h"
#include "spm.h"
#include "util.h"
#include <string.h>

static bpe_vocab *train_text(const bpe_options *o, const char *text) {
	bpe_trainer *t = bpe_new(o);
	bpe_add_text(t, text, strlen(text));
	bpe_vocab *v = bpe_train(t);
	bpe_free(t);
	return v;
}

static int find(const bpe_vocab *v, const char *piece) {
	for (size_t i = 0; i < v->n; i++)
		if (!strcmp(v->piece[i], piece)) return (int)i;
	return -1;
}

/* n copies of line, each followed by a newline */
static void repeat(char *buf, size_t cap, int n, const char *line) {
	for (int i = 0; i < n; i++) {
		strncat(buf, line, cap - strlen(buf) - 1);
		strncat(buf, "\n", cap - strlen(buf) - 1);
	}
}

/* The most frequent pair of "aaaa" x na and "bc" x nb, with only room for one merge. */
static const char *first_merge(int na, int nb) {
	static char text[4096], first[16];
	bpe_options o;
	bpe_default_options(&o);
	o.byte_fallback = 0;
	o.vocab_size = 3 + 4 + 1;   /* meta, the characters ▁ a b c, one merge */
	text[0] = 0;
	repeat(text, sizeof text, na, "aaaa");
	repeat(text, sizeof text, nb, "bc");
	bpe_vocab *v = train_text(&o, text);
	snprintf(first, sizeof first, "%s", v->piece[3]);
	bpe_vocab_free(v);
	return first;
}

int main(int argc, char **argv) {
	lm_init(argc, argv);
	bpe_options o;

	/* "aaaa" holds (a,a) twice, not three times: 12 lines give 24 < 25. */
	ok(!strcmp(first_merge(12, 25), "bc"), "(a,a) counted without overlap: bc first (%s)", first_merge(12, 25));
	ok(!strcmp(first_merge(13, 25), "aa"), "26 > 25: aa first (%s)", first_merge(13, 25));

	/* Layout: meta pieces, bytes, merges by score, characters by frequency. */
	bpe_default_options(&o);
	o.vocab_size = 259 + 3 + 4;
	bpe_vocab *v = train_text(&o, "ab ab ab ab abc\nab abc abc\n");
	ok(v->n == 266, "vocabulary of the requested size (%zu)", v->n);
	ok(!strcmp(v->piece[0], "<unk>") && v->type[0] == SPM_UNKNOWN, "<unk> at 0");
	ok(!strcmp(v->piece[1], "<s>") && v->type[1] == SPM_CONTROL, "<s> at 1");
	ok(!strcmp(v->piece[2], "</s>") && v->type[2] == SPM_CONTROL, "</s> at 2");
	ok(!strcmp(v->piece[3], "<0x00>") && v->type[3] == SPM_BYTE && !strcmp(v->piece[258], "<0xFF>"),
	   "bytes at 3..258");
	/* pairs: ▁a 8, ab 8, bc 3; ties go to the smaller string: "ab" < "▁a" */
	ok(!strcmp(v->piece[259], "ab") && v->score[259] == 0, "first merge ab, score 0 (%s)", v->piece[259]);
	ok(!strcmp(v->piece[260], "▁ab") && v->score[260] == -1, "then ▁ab, score -1 (%s)", v->piece[260]);
	ok(!strcmp(v->piece[261], "▁abc"), "then ▁abc (%s)", v->piece[261]);
	/* characters: ▁ 8, a 8, b 8, c 3 (ties by code point: a b before ▁) */
	ok(!strcmp(v->piece[262], "a") && !strcmp(v->piece[263], "b") && !strcmp(v->piece[264], "▁") &&
	   !strcmp(v->piece[265], "c"), "characters by frequency, then code point");
	ok(v->score[265] == -6 && v->type[265] == SPM_NORMAL, "scores continue after the merges");
	bpe_vocab_free(v);

	/* Split rules: digits stay single, scripts do not mix, "▁" only leads. */
	bpe_default_options(&o);
	o.byte_fallback = 0;
	o.vocab_size = 26;   /* every piece this text allows */
	char text[8192] = "";
	repeat(text, sizeof text, 20, "x12 x12 aбв  the  end.. end.");
	v = train_text(&o, text);
	int bad = 0;
	for (size_t i = 3; i < v->n; i++) {
		const char *p = v->piece[i];
		size_t l = strlen(p);
		if (l > 1 && strpbrk(p, "0123456789")) bad++;
		if (strstr(p, "a\xd0") || strstr(p, "\xd0\xb1" "a")) bad++;     /* Latin a next to Cyrillic */
		if (l > 3 && strstr(p + 1, "▁") && strspn(p, "\xe2\x96\x81") != l) bad++;
		if ((strstr(p, "d.") || strstr(p, ".e"))) bad++;               /* Latin with Common */
	}
	ok(!bad, "no piece mixes digits, scripts or inner spaces (%d bad)", bad);
	ok(find(v, "▁▁") >= 0, "whitespace-only piece ▁▁ made");
	ok(find(v, "бв") >= 0 && find(v, "..") >= 0, "same-script pieces made (бв, ..)");
	bpe_vocab_free(v);

	/* Without whitespace-only pieces, a run of spaces never merges. */
	o.allow_whitespace_only_pieces = 0;
	o.vocab_size = 24;
	v = train_text(&o, text);
	ok(find(v, "▁▁") < 0, "no ▁▁ when whitespace-only pieces are off");
	bpe_vocab_free(v);

	/* Maximum piece length, in characters. */
	bpe_default_options(&o);
	o.byte_fallback = 0;
	o.max_piece_len = 3;
	o.vocab_size = 3 + 8 + 5;   /* ab cd ef efg ▁ab: then only 4-character pairs are left */
	text[0] = 0;
	repeat(text, sizeof text, 30, "abcdefg");
	v = train_text(&o, text);
	int longest = 0;
	for (size_t i = 3; i < v->n; i++) {
		int nc = 0;
		for (const char *p = v->piece[i]; *p; p++) nc += (*p & 0xC0) != 0x80;
		if (nc > longest) longest = nc;
	}
	ok(longest == 3, "pieces of at most 3 characters (longest %d)", longest);
	bpe_vocab_free(v);

	/* Coverage: a character seen once in 100001 is not required. */
	bpe_default_options(&o);
	o.byte_fallback = 0;
	o.vocab_size = 3 + 2 + 1;
	static char big[100010];
	big[0] = 0;
	for (int i = 0; i < 20000; i++) memcpy(big + 5 * i, "aaaa\n", 6);
	strcat(big, "z\n");
	v = train_text(&o, big);
	ok(find(v, "z") < 0 && find(v, "a") >= 0 && find(v, "▁") >= 0, "rare character left out");
	bpe_vocab_free(v);
	o.character_coverage = 1.0;
	o.vocab_size = 3 + 3 + 1;
	v = train_text(&o, big);
	ok(find(v, "z") >= 0, "coverage 1.0 keeps it");
	bpe_vocab_free(v);

	/* "aa"+"a" and "a"+"aa" make one piece "aaa", never two. */
	bpe_default_options(&o);
	o.byte_fallback = 0;
	o.vocab_size = 12;
	text[0] = 0;
	repeat(text, sizeof text, 10, "aaa aaaaa baaa aaab aab baa");
	v = train_text(&o, text);
	int dup = 0;
	for (size_t i = 0; i < v->n; i++)
		for (size_t j = i + 1; j < v->n; j++) dup += !strcmp(v->piece[i], v->piece[j]);
	ok(!dup, "no piece twice");
	bpe_vocab_free(v);

	/* User-defined symbols: after </s>, before the bytes, and a boundary in text. */
	bpe_default_options(&o);
	const char *user[] = { "<sep>" };
	const char *control[] = { "<ctl>" };
	o.user_symbols = user, o.n_user = 1;
	o.control_symbols = control, o.n_control = 1;
	o.vocab_size = 3 + 2 + 256 + 5 + 3;   /* characters ▁abcd, merges ab cd ▁ab */
	text[0] = 0;
	repeat(text, sizeof text, 20, "ab<sep>cd ab<sep>cd");
	v = train_text(&o, text);
	ok(!strcmp(v->piece[3], "<ctl>") && v->type[3] == SPM_CONTROL, "control symbol at 3");
	ok(!strcmp(v->piece[4], "<sep>") && v->type[4] == SPM_USER_DEFINED, "user symbol at 4");
	ok(!strcmp(v->piece[5], "<0x00>"), "bytes after them");
	ok(find(v, "▁ab") >= 0 && find(v, "bc") < 0 && find(v, "b<") < 0 && find(v, "s") < 0,
	   "the symbol splits the text and is not learned from it");
	bpe_vocab_free(v);

	/* Pruning keeps the frequent words. */
	bpe_default_options(&o);
	o.byte_fallback = 0;
	o.max_words = 4;
	o.vocab_size = 3 + 4 + 2;
	text[0] = 0;
	repeat(text, sizeof text, 20, "ab ab ba");
	strcat(text, "q1 q2 q3 q4 q5 q6 q7 q8 q9\n");
	bpe_trainer *t = bpe_new(&o);
	bpe_add_text(t, text, strlen(text));
	bpe_stats st;
	bpe_get_stats(t, &st);
	ok(st.words <= 4 && st.words_pruned > 0, "at most max_words held (%lld, %lld pruned)", st.words, st.words_pruned);
	v = bpe_train(t);
	ok(!strcmp(v->piece[3], "ab") && !strcmp(v->piece[4], "▁ab"), "frequent words survive pruning (%s %s)", v->piece[3], v->piece[4]);
	bpe_vocab_free(v);
	bpe_free(t);

	/* Invalid UTF-8 counts as U+FFFD, never as raw bytes. */
	bpe_default_options(&o);
	o.byte_fallback = 0;
	o.vocab_size = 3 + 3;
	v = train_text(&o, "\xff\xfe\n");
	ok(find(v, "\xef\xbf\xbd") >= 0, "invalid bytes become U+FFFD");
	bpe_vocab_free(v);
	return done_testing();
}
