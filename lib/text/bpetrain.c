#include "bpetrain.h"
#include "heap.h"
#include "utf8.h"
#include "spm.h"
#include "unicode_script.h"
#include "util.h"
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define WS "\xe2\x96\x81"      /* U+2581, SentencePiece's space */
#define WS_CP 0x2581
#define NO_SCRIPT (-1)         /* "▁" and inherited marks: fit any script */

/* ---- UTF-8 ---------------------------------------------------------------- */

/* One well-formed UTF-8 character's length, 0 when s does not start with one. */
static int utf8_char(const unsigned char *s, size_t n, uint32_t *cp) {
	int valid;
	size_t len = utf8_decode(s, n, cp, &valid);
	return valid ? (int)len : 0;
}

/* ---- the trainer ---------------------------------------------------------- */

typedef struct word_entry {    /* a distinct word of the counting pass */
	uint64_t hash;
	size_t off;                /* into words_arena */
	uint32_t len;              /* bytes; 0 marks an empty slot */
	int64_t count;
} word_entry;

struct bpe_trainer {
	bpe_options o;
	/* meta pieces in id order: <unk>, <s>, </s>, control, user-defined, bytes */
	char **meta;
	int *meta_type;
	size_t n_meta;
	unsigned char meta_first[256];   /* first bytes of meta pieces other than bytes */
	/* distinct words */
	word_entry *tab;
	size_t tab_cap, n_words;
	char *arena;
	size_t arena_len, arena_cap;
	char *nbuf;                      /* one normalized line */
	size_t ncap;
	bpe_stats st;
};

void bpe_default_options(bpe_options *o) {
	memset(o, 0, sizeof *o);
	o->vocab_size = 32000;
	o->character_coverage = 0.99995;
	o->max_piece_len = 16;
	o->split_digits = 1;
	o->byte_fallback = 1;
	o->add_dummy_prefix = 1;
	o->allow_whitespace_only_pieces = 1;
	o->split_by_unicode_script = 1;
	o->max_line_len = 4192;
}

static void add_meta(bpe_trainer *t, const char *piece, int type) {
	if (!*piece) die("empty symbol");
	for (size_t i = 0; i < t->n_meta; i++)
		if (!strcmp(t->meta[i], piece)) die("symbol %s is already defined", piece);
	t->meta = xrealloc(t->meta, (t->n_meta + 1) * sizeof *t->meta);
	t->meta_type = xrealloc(t->meta_type, (t->n_meta + 1) * sizeof *t->meta_type);
	t->meta[t->n_meta] = xstrdup(piece);
	t->meta_type[t->n_meta++] = type;
	if (type != SPM_BYTE) t->meta_first[(unsigned char)piece[0]] = 1;
}

bpe_trainer *bpe_new(const bpe_options *o) {
	if (o->vocab_size < 1) die("vocabulary size must be positive (got %d)", o->vocab_size);
	/* spm_train's accepted range */
	if (!(o->character_coverage >= 0.98 && o->character_coverage <= 1.0))
		die("character coverage must be between 0.98 and 1 (got %g)", o->character_coverage);
	if (o->max_piece_len < 1 || o->max_piece_len > 512)
		die("maximum piece length must be between 1 and 512 (got %d)", o->max_piece_len);
	if (o->max_words < 0) die("maximum word count must not be negative");
	if (o->max_line_len < 0) die("maximum line length must not be negative");
	bpe_trainer *t = xcalloc(1, sizeof *t);
	t->o = *o;
	t->o.control_symbols = NULL;
	t->o.user_symbols = NULL;
	add_meta(t, "<unk>", SPM_UNKNOWN);
	add_meta(t, "<s>", SPM_CONTROL);
	add_meta(t, "</s>", SPM_CONTROL);
	for (size_t i = 0; i < o->n_control; i++) add_meta(t, o->control_symbols[i], SPM_CONTROL);
	for (size_t i = 0; i < o->n_user; i++) add_meta(t, o->user_symbols[i], SPM_USER_DEFINED);
	if (o->byte_fallback)
		for (int b = 0; b < 256; b++) {
			char p[8];
			snprintf(p, sizeof p, "<0x%02X>", b);
			add_meta(t, p, SPM_BYTE);
		}
	if ((long long)t->n_meta > o->vocab_size)
		die("vocabulary size %d is smaller than the %zu meta pieces (<unk>, <s>, </s>, "
		    "symbols%s)", o->vocab_size, t->n_meta, o->byte_fallback ? ", 256 bytes" : "");
	t->tab_cap = 1 << 16;
	t->tab = xcalloc(t->tab_cap, sizeof *t->tab);
	return t;
}

void bpe_free(bpe_trainer *t) {
	if (!t) return;
	for (size_t i = 0; i < t->n_meta; i++) free(t->meta[i]);
	free(t->meta);
	free(t->meta_type);
	free(t->tab);
	free(t->arena);
	free(t->nbuf);
	free(t);
}

void bpe_get_stats(const bpe_trainer *t, bpe_stats *s) {
	*s = t->st;
	s->words = t->n_words;
}

/* ---- counting words ------------------------------------------------------- */

static void tab_insert(word_entry *tab, size_t cap, const word_entry *e) {
	size_t i = e->hash & (cap - 1);
	while (tab[i].len) i = (i + 1) & (cap - 1);
	tab[i] = *e;
}

/* Drop the rarest words until at most half of max_words remain. A frequent
 * word is only dropped while it is new, so its count loses at most what it
 * had gathered before a pruning. */
static void prune_words(bpe_trainer *t) {
	size_t keep = t->o.max_words / 2;
	int64_t thresh = 1;
	for (;;) {
		size_t n = 0;
		for (size_t i = 0; i < t->tab_cap; i++)
			if (t->tab[i].len && t->tab[i].count > thresh) n++;
		if (n <= keep) break;
		thresh *= 2;
	}
	word_entry *tab = xcalloc(t->tab_cap, sizeof *tab);
	char *arena = xmalloc(t->arena_cap);
	size_t alen = 0, n = 0;
	for (size_t i = 0; i < t->tab_cap; i++) {
		word_entry e = t->tab[i];
		if (!e.len) continue;
		if (e.count <= thresh) { t->st.words_pruned++; continue; }
		memcpy(arena + alen, t->arena + e.off, e.len);
		e.off = alen;
		alen += e.len;
		tab_insert(tab, t->tab_cap, &e);
		n++;
	}
	free(t->tab);
	free(t->arena);
	t->tab = tab;
	t->arena = arena;
	t->arena_len = alen;
	t->n_words = n;
}

static void add_word(bpe_trainer *t, const char *w, size_t len) {
	uint64_t h = XXH3_64bits(w, len);
	size_t i = h & (t->tab_cap - 1);
	for (; t->tab[i].len; i = (i + 1) & (t->tab_cap - 1)) {
		word_entry *e = &t->tab[i];
		if (e->hash == h && e->len == len && !memcmp(t->arena + e->off, w, len)) {
			e->count++;
			return;
		}
	}
	if (len > UINT32_MAX) die("a word of %zu bytes is too long", len);
	if (t->arena_len + len > t->arena_cap) {
		t->arena_cap = (t->arena_len + len) * 2 + 4096;
		t->arena = xrealloc(t->arena, t->arena_cap);
	}
	memcpy(t->arena + t->arena_len, w, len);
	t->tab[i] = (word_entry){ h, t->arena_len, (uint32_t)len, 1 };
	t->arena_len += len;
	t->n_words++;
	if (t->n_words * 10 > t->tab_cap * 7) {
		size_t cap = t->tab_cap * 2;
		word_entry *tab = xcalloc(cap, sizeof *tab);
		for (size_t j = 0; j < t->tab_cap; j++)
			if (t->tab[j].len) tab_insert(tab, cap, &t->tab[j]);
		free(t->tab);
		t->tab = tab;
		t->tab_cap = cap;
	}
	if (t->o.max_words && (long long)t->n_words > t->o.max_words) prune_words(t);
}

/* Length of the meta piece starting at s (the longest, as SentencePiece's
 * PrefixMatcher finds), or 0. */
static size_t meta_match(const bpe_trainer *t, const char *s, size_t n) {
	if (t->o.byte_fallback && n >= 6 && s[0] == '<' && s[1] == '0' && s[2] == 'x' && s[5] == '>' &&
	    strchr("0123456789ABCDEF", s[3]) && strchr("0123456789ABCDEF", s[4]) && s[3] && s[4])
		return 6;
	if (!t->meta_first[(unsigned char)s[0]]) return 0;
	size_t best = 0;
	for (size_t i = 0; i < t->n_meta; i++) {
		if (t->meta_type[i] == SPM_BYTE) continue;
		size_t l = strlen(t->meta[i]);
		if (l > best && l <= n && !memcmp(s, t->meta[i], l)) best = l;
	}
	return best;
}

/* One sentence: normalize as the identity normalizer does, then split into
 * words as SentencePiece's SplitIntoWords does and count them. */
static void add_line(bpe_trainer *t, const char *s, size_t n) {
	if (!n) return;
	if (t->ncap < 3 * n + 8) {
		t->ncap = 3 * n + 8;
		t->nbuf = xrealloc(t->nbuf, t->ncap);
	}
	char *o = t->nbuf;
	size_t k = 0;
	long long nchars = 0;
	if (t->o.add_dummy_prefix) { memcpy(o, WS, 3); k = 3; nchars++; }
	for (size_t i = 0; i < n;) {
		const unsigned char *u = (const unsigned char *)s + i;
		size_t m;
		uint32_t cp;
		int l;
		if (*u == ' ') {
			memcpy(o + k, WS, 3); k += 3; i++;
		} else if ((m = meta_match(t, s + i, n - i))) {
			/* A meta piece in the text is a boundary no piece may cross,
			 * as SentencePiece's trainer replaces it with a tab. */
			o[k++] = '\t'; i += m;
		} else if ((l = utf8_char(u, n - i, &cp))) {
			memcpy(o + k, u, l); k += l; i += l;
		} else {
			memcpy(o + k, "\xef\xbf\xbd", 3); k += 3; i++;   /* U+FFFD */
		}
		nchars++;
	}
	t->st.lines++;
	t->st.chars += nchars;

	size_t start = 0;
	int in_ws = 0;
	for (size_t i = 0; i < k;) {
		int l = utf8_char((unsigned char *)o + i, k - i, &(uint32_t){0});
		int is_ws = l == 3 && !memcmp(o + i, WS, 3);
		if (i == 0 || (is_ws && (!in_ws || !t->o.allow_whitespace_only_pieces))) {
			if (i > start) add_word(t, o + start, i - start);
			start = i;
			in_ws = 1;
		}
		if (in_ws && !is_ws) in_ws = 0;
		i += l;
	}
	if (k > start) add_word(t, o + start, k - start);
}

void bpe_add_text(bpe_trainer *t, const char *text, size_t len) {
	while (len) {
		const char *nl = memchr(text, '\n', len);
		size_t l = nl ? (size_t)(nl - text) : len;
		size_t n = l;
		if (n && text[n - 1] == '\r') n--;
		if (t->o.max_line_len && n > (size_t)t->o.max_line_len) t->st.lines_skipped++;
		else add_line(t, text, n);
		if (!nl) break;
		text += l + 1;
		len -= l + 1;
	}
}

/* ---- training ------------------------------------------------------------- */

enum { F_NOPAIR = 1, F_STARTWS = 2, F_ALLWS = 4, F_DIGIT = 8 };

typedef struct symbol {
	size_t off;            /* UTF-8 bytes in sym_arena */
	uint32_t blen;
	uint16_t nchars;
	int16_t script;        /* NO_SCRIPT or the one script of its characters */
	uint8_t flags;
} symbol;

typedef struct pair {
	int32_t a, b;
	int64_t count;
	int32_t *w;            /* words where it may occur (stale entries allowed) */
	uint32_t nw, cw;
	uint8_t dead, touched;
} pair;

typedef struct heap_entry {
	int64_t count;
	int32_t pair;
} heap_entry;

typedef struct train {
	const bpe_options *o;
	symbol *sym;
	size_t n_sym, cap_sym;
	char *sarena;
	size_t sa_len, sa_cap;
	/* words as symbol sequences */
	int32_t *ws;
	uint8_t *wdead;        /* per symbol: its pair with the next is a dropped place (mark_runs) */
	size_t *woff;
	uint32_t *wlen, *wstamp;
	int64_t *wfreq;
	size_t n_w;
	/* pairs and their (a,b) -> index table */
	pair *p;
	size_t n_p, cap_p;
	int32_t *ptab;
	size_t ptab_cap;
	int32_t *touched;      /* pairs made in the current merge */
	size_t n_touched, cap_touched;
	heap_entry *heap;
	size_t n_heap, cap_heap;
	uint64_t *pbuf;        /* a word's pairs before and after a merge */
	size_t pbuf_cap;
	uint32_t *mpos, *win;  /* where a merge happens in a word; the windows it changes */
	size_t mpos_cap, win_cap;
	/* merged pieces' strings, to skip a second path to the same piece */
	int32_t *stab;
	size_t stab_cap, stab_n;
} train;

static const char *sym_str(const train *T, int32_t s) { return T->sarena + T->sym[s].off; }

static int32_t new_symbol(train *T, const char *bytes, size_t blen, int nchars, int script,
			  int flags) {
	if (T->n_sym == T->cap_sym) {
		T->cap_sym = T->cap_sym ? 2 * T->cap_sym : 1024;
		T->sym = xrealloc(T->sym, T->cap_sym * sizeof *T->sym);
	}
	if (T->sa_len + blen + 1 > T->sa_cap) {
		T->sa_cap = (T->sa_len + blen + 1) * 2;
		T->sarena = xrealloc(T->sarena, T->sa_cap);
	}
	memcpy(T->sarena + T->sa_len, bytes, blen);
	T->sarena[T->sa_len + blen] = 0;
	T->sym[T->n_sym] = (symbol){ T->sa_len, (uint32_t)blen, (uint16_t)nchars, (int16_t)script,
				     (uint8_t)flags };
	T->sa_len += blen + 1;
	return (int32_t)T->n_sym++;
}

/* Whether the two symbols may merge: SentencePiece's IsValidSentencePiece on
 * their concatenation, decided from what each symbol already satisfies. */
static int pair_ok(const train *T, int32_t l, int32_t r) {
	const symbol *L = &T->sym[l], *R = &T->sym[r];
	if ((L->flags | R->flags) & F_NOPAIR) return 0;
	if (L->nchars + R->nchars > T->o->max_piece_len) return 0;
	if (T->o->split_digits && ((L->flags | R->flags) & F_DIGIT)) return 0;
	if (R->flags & F_STARTWS) {
		/* "▁" only at the start, unless the piece is all "▁" */
		if (!(T->o->allow_whitespace_only_pieces && (L->flags & F_ALLWS) && (R->flags & F_ALLWS)))
			return 0;
	} else if ((L->flags & F_ALLWS) && L->nchars > 1) {
		return 0;
	}
	if (T->o->split_by_unicode_script && L->script != NO_SCRIPT && R->script != NO_SCRIPT &&
	    L->script != R->script)
		return 0;
	return 1;
}

static uint64_t pair_hash(int32_t a, int32_t b) {
	uint64_t k = (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
	k ^= k >> 33; k *= 0xff51afd7ed558ccdULL; k ^= k >> 33; k *= 0xc4ceb9fe1a85ec53ULL;
	return k ^ (k >> 33);
}

static int32_t pair_find(const train *T, int32_t a, int32_t b) {
	if (!T->ptab_cap) return -1;
	for (size_t i = pair_hash(a, b) & (T->ptab_cap - 1);; i = (i + 1) & (T->ptab_cap - 1)) {
		int32_t q = T->ptab[i];
		if (q < 0) return -1;
		if (T->p[q].a == a && T->p[q].b == b) return q;
	}
}

static int32_t pair_add(train *T, int32_t a, int32_t b) {
	if (2 * (T->n_p + 1) > T->ptab_cap) {
		size_t cap = T->ptab_cap ? 2 * T->ptab_cap : 1 << 16;
		free(T->ptab);
		T->ptab = xmalloc(cap * sizeof *T->ptab);
		memset(T->ptab, 0xff, cap * sizeof *T->ptab);
		T->ptab_cap = cap;
		for (size_t q = 0; q < T->n_p; q++) {
			size_t i = pair_hash(T->p[q].a, T->p[q].b) & (cap - 1);
			while (T->ptab[i] >= 0) i = (i + 1) & (cap - 1);
			T->ptab[i] = (int32_t)q;
		}
	}
	if (T->n_p == T->cap_p) {
		T->cap_p = T->cap_p ? 2 * T->cap_p : 1 << 14;
		T->p = xrealloc(T->p, T->cap_p * sizeof *T->p);
	}
	if (T->n_p >= INT32_MAX) die("too many symbol pairs");
	size_t i = pair_hash(a, b) & (T->ptab_cap - 1);
	while (T->ptab[i] >= 0) i = (i + 1) & (T->ptab_cap - 1);
	T->ptab[i] = (int32_t)T->n_p;
	T->p[T->n_p] = (pair){ .a = a, .b = b };
	return (int32_t)T->n_p++;
}

/* Count f more occurrences of (a,b) in word w. */
static void pair_inc(train *T, int32_t a, int32_t b, int32_t w, int64_t f) {
	if (!pair_ok(T, a, b)) return;
	int32_t q = pair_find(T, a, b);
	if (q < 0) q = pair_add(T, a, b);
	pair *P = &T->p[q];
	P->count += f;
	if (!P->nw || P->w[P->nw - 1] != w) {
		if (P->nw == P->cw) {
			P->cw = P->cw ? 2 * P->cw : 2;
			P->w = xrealloc(P->w, P->cw * sizeof *P->w);
		}
		P->w[P->nw++] = w;
	}
	if (!P->touched) {
		P->touched = 1;
		if (T->n_touched == T->cap_touched) {
			T->cap_touched = T->cap_touched ? 2 * T->cap_touched : 1024;
			T->touched = xrealloc(T->touched, T->cap_touched * sizeof *T->touched);
		}
		T->touched[T->n_touched++] = q;
	}
}

static void pair_dec(train *T, int32_t a, int32_t b, int64_t f, int32_t merging) {
	int32_t q = pair_find(T, a, b);
	if (q >= 0 && q != merging) T->p[q].count -= f;
}

/* Byte-wise comparison of the concatenations x1x2 and y1y2 (std::string's
 * operator< on UTF-8, as SentencePiece breaks ties). */
static int cmp_concat(const train *T, int32_t x1, int32_t x2, int32_t y1, int32_t y2) {
	const unsigned char *a1 = (const unsigned char *)sym_str(T, x1), *a2 = (const unsigned char *)sym_str(T, x2);
	const unsigned char *b1 = (const unsigned char *)sym_str(T, y1), *b2 = (const unsigned char *)sym_str(T, y2);
	size_t n1 = T->sym[x1].blen, m1 = T->sym[y1].blen;
	size_t na = n1 + T->sym[x2].blen, nb = m1 + T->sym[y2].blen;
	size_t n = na < nb ? na : nb;
	for (size_t i = 0; i < n; i++) {
		unsigned x = i < n1 ? a1[i] : a2[i - n1];
		unsigned y = i < m1 ? b1[i] : b2[i - m1];
		if (x != y) return x < y ? -1 : 1;
	}
	return na < nb ? -1 : na > nb;
}

/* Whether entry x comes out of the queue before y: more frequent first, then
 * fewer characters, then the smaller string (bpe_model_trainer.cc's order). */
static int heap_before(const train *T, const heap_entry *x, const heap_entry *y) {
	if (x->count != y->count) return x->count > y->count;
	const pair *P = &T->p[x->pair], *Q = &T->p[y->pair];
	int lp = T->sym[P->a].nchars + T->sym[P->b].nchars;
	int lq = T->sym[Q->a].nchars + T->sym[Q->b].nchars;
	if (lp != lq) return lp < lq;
	return cmp_concat(T, P->a, P->b, Q->a, Q->b) < 0;
}
HEAP_FUNCS(queue, heap_entry, const train *, heap_before)

static void heap_push(train *T, int64_t count, int32_t q) {
	if (T->n_heap == T->cap_heap) {
		T->cap_heap = T->cap_heap ? 2 * T->cap_heap : 1 << 14;
		T->heap = xrealloc(T->heap, T->cap_heap * sizeof *T->heap);
	}
	queue_push(T->heap, &T->n_heap, (heap_entry){count, q}, T);
}

/* The merged-piece set: 1 when the string was already there. */
static int piece_seen(train *T, const char *s, size_t len, int32_t sym) {
	if (2 * (T->stab_n + 1) > T->stab_cap) {
		size_t cap = T->stab_cap ? 2 * T->stab_cap : 1 << 12;
		int32_t *tab = xmalloc(cap * sizeof *tab);
		memset(tab, 0xff, cap * sizeof *tab);
		for (size_t i = 0; i < T->stab_cap; i++) {
			int32_t v = T->stab[i];
			if (v < 0) continue;
			size_t j = XXH3_64bits(sym_str(T, v), T->sym[v].blen) & (cap - 1);
			while (tab[j] >= 0) j = (j + 1) & (cap - 1);
			tab[j] = v;
		}
		free(T->stab);
		T->stab = tab;
		T->stab_cap = cap;
	}
	size_t j = XXH3_64bits(s, len) & (T->stab_cap - 1);
	for (; T->stab[j] >= 0; j = (j + 1) & (T->stab_cap - 1)) {
		int32_t v = T->stab[j];
		if (T->sym[v].blen == len && !memcmp(sym_str(T, v), s, len)) return 1;
	}
	if (sym >= 0) { T->stab[j] = sym; T->stab_n++; }
	return 0;
}

/* The script a character contributes to a piece, as IsValidSentencePiece sees it. */
static int char_script(uint32_t c) {
	if (c == WS_CP) return NO_SCRIPT;
	if (c == 0x30FC) return SCRIPT_HAN;
	int s = unicode_script(c);
	if (s == SCRIPT_HIRAGANA || s == SCRIPT_KATAKANA) return SCRIPT_HAN;
	if (s == SCRIPT_INHERITED) return NO_SCRIPT;   /* takes the script before it */
	return s;
}

static int is_digit(uint32_t c) { return (c >= '0' && c <= '9') || (c >= 0xFF10 && c <= 0xFF19); }

typedef struct char_count { uint32_t cp; int64_t count; int32_t sym; } char_count;

static int by_count(const void *x, const void *y) {
	const char_count *a = x, *b = y;
	if (a->count != b->count) return a->count > b->count ? -1 : 1;
	return a->cp < b->cp ? -1 : a->cp > b->cp;
}

/* Codepoint -> index into the char_count array, open addressing. */
typedef struct cmap { uint32_t *key; int32_t *val; size_t cap, n; } cmap;
static int32_t *cmap_slot(cmap *m, uint32_t cp, int *fresh) {
	if (2 * (m->n + 1) > m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 1024;
		uint32_t *key = xmalloc(cap * sizeof *key);
		int32_t *val = xmalloc(cap * sizeof *val);
		memset(val, 0xff, cap * sizeof *val);
		for (size_t i = 0; i < m->cap; i++) {
			if (m->val[i] < 0) continue;
			size_t j = (m->key[i] * 2654435761u) & (cap - 1);
			while (val[j] >= 0) j = (j + 1) & (cap - 1);
			key[j] = m->key[i];
			val[j] = m->val[i];
		}
		free(m->key); free(m->val);
		m->key = key; m->val = val; m->cap = cap;
	}
	size_t j = (cp * 2654435761u) & (m->cap - 1);
	while (m->val[j] >= 0 && m->key[j] != cp) j = (j + 1) & (m->cap - 1);
	*fresh = m->val[j] < 0;
	if (*fresh) { m->key[j] = cp; m->n++; }
	return &m->val[j];
}

/* How SentencePiece's trainer counts a pair of identical symbols: it keeps each
 * pair's places in the text, and the first time it counts a pair it drops every
 * second place of a run ("a a a a" holds (a,a) at its 1st and 3rd places, which
 * do not overlap), for good: when a merge later takes a symbol from the run, the
 * dropped places stay dropped ("x a a a" after merging "xa": "xa a a" holds no
 * (a,a)), and merging (a,a) merges only the places kept. Identical symbols are
 * next to each other only from the start (characters) or from the merge that
 * made the symbol, and the trainer first counts the pair right after that, so
 * dead[i] (the pair of symbols i and i+1 is a dropped place) is set then:
 * alternately along each run of the symbol (only, or any when only < 0), the
 * run's first pair kept. */
static void mark_runs(const int32_t *s, uint8_t *dead, uint32_t n, int32_t only) {
	for (uint32_t i = 0; i + 1 < n; i++)
		if (s[i] == s[i + 1] && (only < 0 || s[i] == only))
			dead[i] = i > 0 && s[i - 1] == s[i] && !dead[i - 1];
}

/* The pairs a word contributes: every pair of neighbours but the dropped places. */
static size_t word_pairs(const int32_t *s, const uint8_t *dead, uint32_t n, uint64_t *out) {
	size_t k = 0;
	for (uint32_t i = 0; i + 1 < n; i++)
		if (s[i] != s[i + 1] || !dead[i]) out[k++] = (uint64_t)(uint32_t)s[i] << 32 | (uint32_t)s[i + 1];
	return k;
}

static int cmp_u64(const void *x, const void *y) {
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
	return a < b ? -1 : a > b;
}

/* Words are mostly a few symbols long: insertion sort, qsort for long ones. */
static void sort_u64(uint64_t *v, size_t n) {
	if (n > 32) { qsort(v, n, sizeof *v, cmp_u64); return; }
	for (size_t i = 1; i < n; i++) {
		uint64_t x = v[i];
		size_t j = i;
		for (; j > 0 && v[j - 1] > x; j--) v[j] = v[j - 1];
		v[j] = x;
	}
}

static void *grow(void *p, size_t *cap, size_t need, size_t size) {
	if (need <= *cap) return p;
	*cap = 2 * need + 64;
	return xrealloc(p, *cap * size);
}

/* Merge every counted place of (a,b) in word w into X, left to right, and update
 * the pair counts by the difference between the word's pairs before and after.
 * Only windows around the merges change, from the symbol before a merge to the
 * one after it; counts outside them are the same before and after, so a long
 * word costs little more than a short one. */
static void merge_in_word(train *T, int32_t w, int32_t q, int32_t a, int32_t b, int32_t X) {
	int32_t *s = T->ws + T->woff[w];
	uint8_t *d = T->wdead + T->woff[w];
	uint32_t n = T->wlen[w];
	size_t nm = 0;
	for (uint32_t i = 0; i + 1 < n;) {
		if (s[i] == a && s[i + 1] == b && (a != b || !d[i])) {
			T->mpos = grow(T->mpos, &T->mpos_cap, nm + 1, sizeof *T->mpos);
			T->mpos[nm++] = i;
			i += 2;
		} else {
			i++;
		}
	}
	if (!nm) return;   /* a stale entry: the pair is no longer there */
	const uint32_t *m = T->mpos;

	/* windows [L,R) over the word as it is, disjoint, in order */
	size_t nwin = 0, span = 0;
	for (size_t k = 0; k < nm;) {
		uint32_t L = m[k] ? m[k] - 1 : 0, R = m[k] + 3 < n ? m[k] + 3 : n;
		for (k++; k < nm; k++) {
			uint32_t L2 = m[k] - 1, R2 = m[k] + 3 < n ? m[k] + 3 : n;
			if (L2 >= R) break;
			R = R2;
		}
		T->win = grow(T->win, &T->win_cap, 2 * nwin + 2, sizeof *T->win);
		T->win[2 * nwin] = L;
		T->win[2 * nwin + 1] = R;
		nwin++;
		span += R - L;
	}
	T->pbuf = grow(T->pbuf, &T->pbuf_cap, 2 * span, sizeof *T->pbuf);
	uint64_t *before = T->pbuf, *after = T->pbuf + span;
	size_t nb = 0, na = 0;
	for (size_t k = 0; k < nwin; k++)
		nb += word_pairs(s + T->win[2 * k], d + T->win[2 * k], T->win[2 * k + 1] - T->win[2 * k], before + nb);

	/* the places next to an X are new, and kept; runs of X are marked below */
	uint32_t out = m[0];
	for (uint32_t i = m[0], k = 0; i < n;) {
		if (k < nm && i == m[k]) {
			if (out) d[out - 1] = 0;
			d[out] = 0;
			s[out++] = X; i += 2; k++;
		} else {
			d[out] = d[i];
			s[out++] = s[i++];
		}
	}
	T->wlen[w] = out;
	/* each window shrinks by the merges inside it and moves by those before it */
	size_t k2 = 0, merged_before = 0;
	for (size_t k = 0; k < nwin; k++) {
		uint32_t L = T->win[2 * k], R = T->win[2 * k + 1];
		size_t inside = 0;
		for (; k2 < nm && m[k2] < R; k2++) inside++;
		mark_runs(s + L - merged_before, d + L - merged_before, R - L - inside, X);
		na += word_pairs(s + L - merged_before, d + L - merged_before, R - L - inside, after + na);
		merged_before += inside;
	}

	sort_u64(before, nb);
	sort_u64(after, na);
	int64_t f = T->wfreq[w];
	size_t i = 0, j = 0;
	while (i < nb || j < na) {
		if (j == na || (i < nb && before[i] < after[j])) {
			pair_dec(T, (int32_t)(before[i] >> 32), (int32_t)before[i], f, q);
			i++;
		} else if (i == nb || after[j] < before[i]) {
			pair_inc(T, (int32_t)(after[j] >> 32), (int32_t)after[j], w, f);
			j++;
		} else {
			i++, j++;
		}
	}
}

bpe_vocab *bpe_train(bpe_trainer *t) {
	const bpe_options *o = &t->o;
	train T_ = { .o = o }, *T = &T_;

	/* Character counts, over the distinct words weighted by their counts. */
	cmap cm = { 0 };
	char_count *cc = NULL;
	size_t ncc = 0, capcc = 0;
	int64_t all = 0;
	for (size_t i = 0; i < t->tab_cap; i++) {
		const word_entry *e = &t->tab[i];
		if (!e->len) continue;
		const unsigned char *s = (const unsigned char *)t->arena + e->off;
		for (uint32_t k = 0; k < e->len;) {
			uint32_t cp = 0;
			int l = utf8_char(s + k, e->len - k, &cp);
			k += l;
			if (cp == 0) continue;            /* NUL: never a piece, not counted */
			int fresh;
			int32_t *slot = cmap_slot(&cm, cp, &fresh);
			if (fresh) {
				if (ncc == capcc) {
					capcc = capcc ? 2 * capcc : 1024;
					cc = xrealloc(cc, capcc * sizeof *cc);
				}
				cc[ncc] = (char_count){ cp, 0, -1 };
				*slot = (int32_t)ncc++;
			}
			cc[*slot].count += e->count;
			all += e->count;
		}
	}
	if (!all) die("no text to train on");

	/* Required characters: the most frequent, until they cover character_coverage
	 * (compared in float, as the trainer_spec field is). A tab stands for a
	 * boundary and is never a piece. */
	char_count *sorted = xmalloc((ncc ? ncc : 1) * sizeof *sorted);
	memcpy(sorted, cc, ncc * sizeof *cc);
	qsort(sorted, ncc, sizeof *sorted, by_count);
	int64_t acc = 0;
	size_t nreq = 0;
	for (size_t i = 0; i < ncc; i++) {
		float coverage = (float)(1.0 * acc / all);
		if (coverage >= (float)o->character_coverage) break;
		acc += sorted[i].count;
		if (sorted[i].cp == '\t') continue;
		sorted[nreq++] = sorted[i];
	}
	t->st.required_chars = (int)nreq;
	t->st.coverage = (double)acc / all;
	if (t->n_meta + nreq > (size_t)o->vocab_size)
		die("vocabulary size %d cannot hold the %zu meta pieces and %zu required characters; "
		    "raise the vocabulary size or lower the character coverage",
		    o->vocab_size, t->n_meta, nreq);

	/* Symbols 0..nreq-1: the required characters in vocabulary order; then the
	 * unknown symbol standing for every other character. */
	for (size_t i = 0; i < nreq; i++) {
		char buf[4];
		uint32_t c = sorted[i].cp;
		int l = (int)utf8_encode(c, buf);
		int fl = c == WS_CP ? F_STARTWS | F_ALLWS : is_digit(c) ? F_DIGIT : 0;
		int fresh;
		cc[*cmap_slot(&cm, c, &fresh)].sym = new_symbol(T, buf, l, 1, char_script(c), fl);
	}
	int32_t unk = new_symbol(T, "\xe2\x96\x85", 3, 1, NO_SCRIPT, F_NOPAIR);

	/* Words as symbol sequences; one-symbol words have no pairs and are dropped. */
	size_t total = 0;
	for (size_t i = 0; i < t->tab_cap; i++) total += t->tab[i].len;
	T->ws = xmalloc((total ? total : 1) * sizeof *T->ws);
	T->wdead = xcalloc(total ? total : 1, 1);
	T->woff = xmalloc((t->n_words + 1) * sizeof *T->woff);
	T->wlen = xmalloc((t->n_words + 1) * sizeof *T->wlen);
	T->wfreq = xmalloc((t->n_words + 1) * sizeof *T->wfreq);
	size_t pos = 0;
	for (size_t i = 0; i < t->tab_cap; i++) {
		const word_entry *e = &t->tab[i];
		if (!e->len) continue;
		const unsigned char *s = (const unsigned char *)t->arena + e->off;
		size_t start = pos;
		for (uint32_t k = 0; k < e->len;) {
			uint32_t cp = 0;
			k += utf8_char(s + k, e->len - k, &cp);
			int32_t sym = unk;
			if (cp) {
				int fresh;
				int32_t ix = *cmap_slot(&cm, cp, &fresh);
				if (cc[ix].sym >= 0) sym = cc[ix].sym;
			}
			T->ws[pos++] = sym;
		}
		if (pos - start < 2) { pos = start; continue; }
		mark_runs(T->ws + start, T->wdead + start, (uint32_t)(pos - start), -1);
		T->woff[T->n_w] = start;
		T->wlen[T->n_w] = (uint32_t)(pos - start);
		T->wfreq[T->n_w] = e->count;
		T->n_w++;
	}
	if (T->n_w >= INT32_MAX) die("too many distinct words (%zu)", T->n_w);
	T->wstamp = xcalloc(T->n_w + 1, sizeof *T->wstamp);
	free(cm.key); free(cm.val);

	/* All pairs, counted once. */
	for (size_t w = 0; w < T->n_w; w++) {
		if (T->pbuf_cap < T->wlen[w]) {
			T->pbuf_cap = 2 * (size_t)T->wlen[w];
			T->pbuf = xrealloc(T->pbuf, T->pbuf_cap * sizeof *T->pbuf);
		}
		size_t k = word_pairs(T->ws + T->woff[w], T->wdead + T->woff[w], T->wlen[w], T->pbuf);
		for (size_t i = 0; i < k; i++)
			pair_inc(T, (int32_t)(T->pbuf[i] >> 32), (int32_t)T->pbuf[i], (int32_t)w, T->wfreq[w]);
	}
	for (size_t k = 0; k < T->n_touched; k++) {
		int32_t q = T->touched[k];
		T->p[q].touched = 0;
		if (T->p[q].count > 0) heap_push(T, T->p[q].count, q);
	}
	T->n_touched = 0;

	/* Merge. */
	size_t want = o->vocab_size - t->n_meta - nreq;
	char **merged = xmalloc((want ? want : 1) * sizeof *merged);
	size_t nmerged = 0;
	uint32_t stamp = 0;
	char *buf = NULL;
	size_t bufcap = 0;
	for (size_t i = 0; i < t->n_meta; i++) {
		int32_t v = new_symbol(T, t->meta[i], strlen(t->meta[i]), 1, NO_SCRIPT, F_NOPAIR);
		piece_seen(T, t->meta[i], strlen(t->meta[i]), v);
	}
	double t0 = now_sec();
	while (nmerged < want && T->n_heap) {
		heap_entry e = queue_pop(T->heap, &T->n_heap, T);
		pair *P = &T->p[e.pair];
		if (P->dead) continue;
		if (e.count != P->count) {   /* counts only fall: the queue holds upper bounds */
			if (P->count > 0) heap_push(T, P->count, e.pair);
			continue;
		}
		int32_t a = P->a, b = P->b, q = e.pair;
		size_t la = T->sym[a].blen, lb = T->sym[b].blen;
		if (la + lb + 1 > bufcap) { bufcap = 2 * (la + lb + 1); buf = xrealloc(buf, bufcap); }
		memcpy(buf, sym_str(T, a), la);
		memcpy(buf + la, sym_str(T, b), lb);
		buf[la + lb] = 0;
		P->dead = 1;
		if (piece_seen(T, buf, la + lb, -1)) continue;   /* "a"+"aa" after "aa"+"a" */
		const symbol *A = &T->sym[a], *B = &T->sym[b];
		int32_t X = new_symbol(T, buf, la + lb, A->nchars + B->nchars,
				       A->script != NO_SCRIPT ? A->script : B->script,
				       (A->flags & F_STARTWS) | (A->flags & B->flags & F_ALLWS) |
				       ((A->flags | B->flags) & F_DIGIT));
		piece_seen(T, buf, la + lb, X);
		merged[nmerged++] = xstrdup(buf);
		stamp++;
		/* P->w stays put: pair_inc appends only to pairs holding X */
		int32_t *wl = T->p[q].w;
		uint32_t nwl = T->p[q].nw;
		for (uint32_t k = 0; k < nwl; k++) {
			int32_t w = wl[k];
			if (T->wstamp[w] == stamp) continue;
			T->wstamp[w] = stamp;
			merge_in_word(T, w, q, a, b, X);
		}
		free(T->p[q].w);
		T->p[q].w = NULL;
		T->p[q].nw = T->p[q].cw = 0;
		for (size_t k = 0; k < T->n_touched; k++) {
			int32_t r = T->touched[k];
			T->p[r].touched = 0;
			if (T->p[r].count > 0) heap_push(T, T->p[r].count, r);
		}
		T->n_touched = 0;
		if (o->progress && nmerged % 1000 == 0)
			fprintf(stderr, "\r%s: %zu/%zu merges, %.0f/s ", lm_progname, nmerged, want,
				nmerged / (now_sec() - t0 + 1e-9));
	}
	if (o->progress) fprintf(stderr, "\r%s: %zu/%zu merges\n", lm_progname, nmerged, want);
	t->st.merges = (int)nmerged;
	free(buf);
	if (nmerged < want)
		die("the text yields only %zu pieces; vocabulary size %d needs %zu: use a smaller "
		    "vocabulary size or more text", t->n_meta + nreq + nmerged, o->vocab_size,
		    t->n_meta + nreq + want);

	bpe_vocab *v = xcalloc(1, sizeof *v);
	v->n = o->vocab_size;
	v->piece = xmalloc(v->n * sizeof *v->piece);
	v->score = xmalloc(v->n * sizeof *v->score);
	v->type = xmalloc(v->n * sizeof *v->type);
	size_t id = 0;
	for (size_t i = 0; i < t->n_meta; i++, id++) {
		v->piece[id] = xstrdup(t->meta[i]);
		v->score[id] = 0;
		v->type[id] = t->meta_type[i];
	}
	for (size_t i = 0; i < nmerged; i++, id++) {
		v->piece[id] = merged[i];
		v->score[id] = -(float)i;
		v->type[id] = SPM_NORMAL;
	}
	for (size_t i = 0; i < nreq; i++, id++) {
		v->piece[id] = xstrdup(sym_str(T, (int32_t)i));
		v->score[id] = -(float)(nmerged + i);
		v->type[id] = SPM_NORMAL;
	}

	free(merged);
	free(sorted);
	free(cc);
	for (size_t q = 0; q < T->n_p; q++) free(T->p[q].w);
	free(T->p); free(T->ptab); free(T->touched); free(T->heap); free(T->stab); free(T->pbuf); free(T->mpos); free(T->win);
	free(T->sym); free(T->sarena);
	free(T->ws); free(T->wdead); free(T->woff); free(T->wlen); free(T->wfreq); free(T->wstamp);
	return v;
}

void bpe_vocab_free(bpe_vocab *v) {
	if (!v) return;
	for (size_t i = 0; i < v->n; i++) free(v->piece[i]);
	free(v->piece);
	free(v->score);
	free(v->type);
	free(v);
}
