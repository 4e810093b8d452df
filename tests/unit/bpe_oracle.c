/* bpetrain against a plain, slow BPE trainer written from SentencePiece's rules:
 * every pair recounted from scratch after each merge. The fast trainer updates
 * counts only where a merge changes a word; on random texts full of runs
 * ("aaaa", "....", "▁▁▁") both must make the same pieces in the same order.
 * (That these rules are spm_train's, runs included, tests/ref/spm_bpe.sh checks.) */
#include "tap.h"
#include "bpetrain.h"
#include "rng.h"
#include "util.h"
#include <string.h>

#define WS "\xe2\x96\x81"
#define MAXSYM 512

static char *sym[MAXSYM];   /* UTF-8 of each symbol */
static int nsym;
static int dead[MAXSYM][MAXSYM];

static int nchars(const char *s) {
	int n = 0;
	for (; *s; s++) n += (*s & 0xC0) != 0x80;
	return n;
}

/* IsValidSentencePiece for this alphabet: letters (Latin), '.' (Common),
 * digits, "▁"; split digits, whitespace-only pieces allowed. */
static int valid(const char *s, int maxlen) {
	int n = nchars(s), allws = 1, cls = -1;
	if (n > maxlen) return 0;
	for (const char *p = s; *p; p += (*p == '\xe2' ? 3 : 1))
		if (*p != '\xe2') allws = 0;
	int pos = 0;
	for (const char *p = s; *p; pos++) {
		if (*p == '\xe2') {
			if (pos > 0 && !allws) return 0;
			p += 3;
			continue;
		}
		if (*p >= '0' && *p <= '9' && n > 1) return 0;
		int c = (*p >= 'a' && *p <= 'z') ? 1 : 0;
		if (cls >= 0 && c != cls) return 0;
		cls = c;
		p++;
	}
	return 1;
}

static int intern(const char *s) {
	for (int i = 0; i < nsym; i++)
		if (!strcmp(sym[i], s)) return i;
	sym[nsym] = xstrdup(s);
	return nsym++;
}

/* dead[i]: the pair of symbols i and i+1 is a place spm_train dropped: in a run
 * of identical symbols, every second place from the run's start, as the run
 * stood when the symbol was made (a character: from the start) */
typedef struct { int *s, n; long long f; char *dead; } word;

static void mark(word *w, int only) {
	for (int i = 0; i + 1 < w->n; i++)
		if (w->s[i] == w->s[i + 1] && (only < 0 || w->s[i] == only))
			w->dead[i] = i > 0 && w->s[i - 1] == w->s[i] && !w->dead[i - 1];
}

/* The pieces the slow trainer makes, at most max; returns how many. */
static int slow_train(word *w, int nw, int maxlen, char **out, int max) {
	static long long cnt[MAXSYM][MAXSYM];
	int made = 0;
	while (made < max) {
		memset(cnt, 0, sizeof cnt);
		for (int k = 0; k < nw; k++)
			for (int i = 0; i + 1 < w[k].n; i++) {
				int a = w[k].s[i], b = w[k].s[i + 1];
				if (a != b || !w[k].dead[i]) cnt[a][b] += w[k].f;
			}
		int ba = -1, bb = -1;
		char best[256] = "", cand[256];
		for (int a = 0; a < nsym; a++)
			for (int b = 0; b < nsym; b++) {
				if (!cnt[a][b] || dead[a][b]) continue;
				snprintf(cand, sizeof cand, "%s%s", sym[a], sym[b]);
				if (!valid(cand, maxlen)) continue;
				long long c = cnt[a][b], bc = ba < 0 ? 0 : cnt[ba][bb];
				int l = nchars(cand), bl = nchars(best);
				if (ba < 0 || c > bc || (c == bc && (l < bl || (l == bl && strcmp(cand, best) < 0)))) {
					ba = a, bb = b;
					strcpy(best, cand);
				}
			}
		if (ba < 0) break;
		dead[ba][bb] = 1;
		int dup = 0;
		for (int i = 0; i < made; i++) dup |= !strcmp(out[i], best);
		if (dup) continue;
		int x = intern(best);
		out[made++] = sym[x];
		for (int k = 0; k < nw; k++) {
			int o = 0;
			for (int i = 0; i < w[k].n;) {
				if (i + 1 < w[k].n && w[k].s[i] == ba && w[k].s[i + 1] == bb && (ba != bb || !w[k].dead[i])) {
					if (o) w[k].dead[o - 1] = 0;   /* a new place */
					w[k].dead[o] = 0;
					w[k].s[o++] = x; i += 2;
				} else {
					w[k].dead[o] = w[k].dead[i];
					w[k].s[o++] = w[k].s[i++];
				}
			}
			w[k].n = o;
			mark(&w[k], x);
		}
	}
	return made;
}

int main(int argc, char **argv) {
	lm_init(argc, argv);
	lm_rng r;
	for (int trial = 0; trial < 20; trial++) {
		rng_seed(&r, 1000 + trial);
		/* lines of words made of runs of a few characters */
		static char text[20000];
		size_t len = 0;
		const char *alpha = trial % 2 ? "ab.1" : "aab..c";
		for (int line = 0; line < 60; line++) {
			int nwords = 1 + rng_below(&r, 6);
			for (int k = 0; k < nwords; k++) {
				int spaces = rng_below(&r, 4) == 0 ? 2 + rng_below(&r, 3) : (k > 0);
				for (int i = 0; i < spaces; i++) text[len++] = ' ';
				int runs = 1 + rng_below(&r, 4);
				for (int i = 0; i < runs; i++) {
					char c = alpha[rng_below(&r, strlen(alpha))];
					int rl = 1 + rng_below(&r, 5);
					for (int j = 0; j < rl; j++) text[len++] = c;
				}
			}
			text[len++] = '\n';
		}
		text[len] = 0;

		/* words as the trainer splits them: "▁" before each line, each
		 * space a "▁" starting a word unless it follows another "▁" */
		nsym = 0;
		memset(dead, 0, sizeof dead);
		static word w[2000];
		int nw = 0;
		static int buf[40000];
		static char deadbuf[40000];
		int used = 0;
		for (const char *line = text; *line;) {
			const char *nl = strchr(line, '\n');
			int inws = 0;
			w[nw] = (word){ buf + used, 0, 1, deadbuf + used };
			for (long i = -1; i < nl - line; i++) {
				const char *p = line + (i < 0 ? 0 : i);
				int is_ws = i < 0 || *p == ' ';
				if (i < 0 || (is_ws && !inws)) {
					if (w[nw].n) { nw++; w[nw] = (word){ buf + used, 0, 1, deadbuf + used }; }
					inws = 1;
				}
				if (!is_ws) inws = 0;
				char c[4] = { *p, 0 };
				buf[used++] = intern(is_ws ? WS : c);
				w[nw].n++;
			}
			nw++;
			line = nl + 1;
		}
		memset(deadbuf, 0, sizeof deadbuf);
		for (int k = 0; k < nw; k++) mark(&w[k], -1);
		int nchar = nsym;
		char *slow[400];
		int made = slow_train(w, nw, 6, slow, 300);

		bpe_options o;
		bpe_default_options(&o);
		o.byte_fallback = 0;
		o.character_coverage = 1.0;
		o.max_piece_len = 6;
		o.vocab_size = 3 + nchar + made;
		bpe_trainer *t = bpe_new(&o);
		bpe_add_text(t, text, len);
		bpe_vocab *v = bpe_train(t);
		int same = 1, at = -1;
		for (int i = 0; i < made && same; i++)
			if (strcmp(v->piece[3 + i], slow[i])) same = 0, at = i;
		ok(same, "trial %d: %d merges as the slow trainer makes them%s%s%s", trial, made,
		   same ? "" : " (first difference: ", same ? "" : v->piece[3 + at],
		   same ? "" : ")");
		bpe_vocab_free(v);
		bpe_free(t);
		for (int i = 0; i < nsym; i++) free(sym[i]);
	}
	return done_testing();
}
