/* tokenizer: SentencePiece BPE encoding (bpe_model.cc, normalizer.cc) and
 * llama2.c run.c encode(), sharing one merge engine.
 *
 * Both merge the adjacent pair whose merged piece scores highest, the leftmost
 * on ties, until no adjacent pair forms a piece. A heap of candidate pairs
 * makes that O(n log n) instead of run.c's O(n^2); entries made stale by an
 * earlier merge are recognised and dropped when popped, as SentencePiece does.
 *
 * Text is cut into segments before each space symbol that follows a non-space
 * character. When no mergeable piece holds a non-space character followed by a
 * space symbol (checked at load; true of Llama 2's vocabulary, whose
 * whitespace-only pieces such as "▁▁" only ever precede other text), no pair
 * can straddle a cut, so segments encode independently and each distinct
 * segment is encoded once per thread (cached in a hash map). */
#include "tokenizer.h"
#include "heap.h"
#include "spm.h"
#include "utf8.h"
#include "util.h"
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define SPACE_SYMBOL "\xE2\x96\x81"   /* U+2581 */

/* piece string -> id, open addressing; keys point into the tokenizer */
typedef struct pmap {
	int32_t *slot;
	uint64_t mask;
} pmap;

struct lm_tokenizer {
	int bin;                  /* llama2.c tokenizer.bin, encoded as run.c does */
	int n;
	char **piece;
	uint32_t *plen;
	float *score;
	uint8_t *type;            /* enum spm_piece_type (bin: NORMAL, BYTE, CONTROL) */
	char **surface;           /* decoded text of each id */
	uint32_t *slen;
	pmap merge;               /* pieces a merge may form (SentencePiece's pieces_) */
	pmap reserved;            /* control, unknown and byte pieces */
	int unk, bos, eos;
	int byte_id[256];
	int add_dummy_prefix, remove_extra_ws, escape_ws, ws_suffix, byte_fallback;
	uint32_t max_piece;       /* longest mergeable piece in bytes */
	int presplit;
	char **user;              /* user-defined symbols, matched whole before merging */
	uint32_t *user_len;
	int n_user;
	uint64_t gen;             /* tells thread caches of different tokenizers apart */
};

static uint64_t hash(const char *s, size_t n) { return XXH3_64bits(s, n); }

static void pmap_init(pmap *m, int n) {
	uint64_t cap = 16;
	while (cap < (uint64_t)n * 2) cap *= 2;
	m->slot = xmalloc(cap * sizeof *m->slot);
	memset(m->slot, 0xff, cap * sizeof *m->slot);
	m->mask = cap - 1;
}
static int32_t pmap_get(const lm_tokenizer *t, const pmap *m, const char *s, size_t n) {
	for (uint64_t h = hash(s, n) & m->mask;; h = (h + 1) & m->mask) {
		int32_t id = m->slot[h];
		if (id < 0) return -1;
		if (t->plen[id] == n && !memcmp(t->piece[id], s, n)) return id;
	}
}
/* Returns -1, or the id already there with the same string. */
static int32_t pmap_put(const lm_tokenizer *t, pmap *m, int32_t id) {
	for (uint64_t h = hash(t->piece[id], t->plen[id]) & m->mask;; h = (h + 1) & m->mask) {
		int32_t o = m->slot[h];
		if (o < 0) { m->slot[h] = id; return -1; }
		if (t->plen[o] == t->plen[id] && !memcmp(t->piece[o], t->piece[id], t->plen[id])) return o;
	}
}

static int parse_byte_piece(const char *p, size_t n) {
	static const char hex[] = "0123456789ABCDEF";
	if (n != 6 || memcmp(p, "<0x", 3) || p[5] != '>') return -1;
	const char *a = memchr(hex, p[3], 16), *b = memchr(hex, p[4], 16);
	if (!a || !b || !p[3] || !p[4]) return -1;
	return (int)((a - hex) * 16 + (b - hex));
}

/* Surface text of a piece: "▁" becomes a space, a byte piece its byte. */
static void make_surface(lm_tokenizer *t, int id) {
	const char *p = t->piece[id];
	size_t n = t->plen[id];
	char *s = xmalloc(n + 1);
	size_t k = 0;
	if (t->type[id] == SPM_CONTROL) {
		/* invisible */
	} else if (t->type[id] == SPM_BYTE) {
		s[k++] = (char)parse_byte_piece(p, n);
	} else {
		for (size_t i = 0; i < n;) {
			if (!t->bin && n - i >= 3 && !memcmp(p + i, SPACE_SYMBOL, 3)) { s[k++] = ' '; i += 3; }
			else s[k++] = p[i++];
		}
	}
	s[k] = 0;
	t->surface[id] = s;
	t->slen[id] = (uint32_t)k;
}

static void alloc_pieces(lm_tokenizer *t, int n) {
	t->n = n;
	t->piece = xcalloc(n, sizeof *t->piece);
	t->plen = xcalloc(n, sizeof *t->plen);
	t->score = xcalloc(n, sizeof *t->score);
	t->type = xcalloc(n, 1);
	t->surface = xcalloc(n, sizeof *t->surface);
	t->slen = xcalloc(n, sizeof *t->slen);
}

/* Whether a piece holds a non-space character followed by a space. */
static int space_inside(const lm_tokenizer *t, const char *p, size_t n) {
	const char *sp = t->bin ? " " : SPACE_SYMBOL;
	size_t sn = strlen(sp);
	int prev_space = 1;
	for (size_t i = 0; i < n;) {
		if (n - i >= sn && !memcmp(p + i, sp, sn)) {
			if (!prev_space && i > 0) return 1;
			prev_space = 1;
			i += sn;
		} else {
			prev_space = 0;
			i++;
		}
	}
	return 0;
}

/* What SentencePiece refuses at load (an empty piece, a string twice in one of
 * its two maps) and what would make encoding undefined (a NaN score, pieces
 * that no UTF-8 text holds). */
static void check_piece(const char *path, const lm_tokenizer *t, int i) {
	if (!t->plen[i]) die("%s: piece %d is empty", path, i);
	if (isnan(t->score[i])) die("%s: piece %d has a NaN score", path, i);
	for (size_t k = 0; k < t->plen[i];) {
		uint32_t cp;
		int valid;
		k += utf8_decode((const unsigned char *)t->piece[i] + k, t->plen[i] - k, &cp, &valid);
		if (!valid) die("%s: piece %d is not valid UTF-8", path, i);
	}
}

static void finish_load(lm_tokenizer *t, const char *path) {
	pmap_init(&t->merge, t->n);
	pmap_init(&t->reserved, t->n);
	t->presplit = !t->ws_suffix;
	for (int i = 0; i < t->n; i++) {
		int mergeable = t->bin || t->type[i] == SPM_NORMAL || t->type[i] == SPM_USER_DEFINED ||
				t->type[i] == SPM_UNUSED;
		check_piece(path, t, i);
		int32_t dup = pmap_put(t, mergeable ? &t->merge : &t->reserved, i);
		if (dup >= 0) die("%s: pieces %d and %d are the same string", path, dup, i);
		if (mergeable) {
			if (t->plen[i] > t->max_piece) t->max_piece = t->plen[i];
			if (space_inside(t, t->piece[i], t->plen[i])) t->presplit = 0;
		}
		make_surface(t, i);
	}
	static atomic_ulong next_gen = 1;
	t->gen = atomic_fetch_add(&next_gen, 1);
}

static lm_tokenizer *from_spm(const char *path, spm_model *m) {
	const spm_trainer_spec *ts = &m->trainer;
	if (ts->model_type != SPM_BPE) {
		static const char *names[] = { "?", "unigram", "BPE", "word", "char" };
		die("%s: unsupported model type %s (lmkit encodes SentencePiece BPE models only)", path,
		    ts->model_type >= 1 && ts->model_type <= 4 ? names[ts->model_type] : "unknown");
	}
	if (m->normalizer.precompiled_charsmap.len || m->normalizer.normalization_rule_tsv.len)
		die("%s: unsupported normalizer '%s' (lmkit implements identity normalization only)", path,
		    m->normalizer.name.s);
	if (m->n_pieces > INT32_MAX) die("%s: %zu pieces, more than token ids can number", path, m->n_pieces);
	lm_tokenizer *t = xcalloc(1, sizeof *t);
	alloc_pieces(t, (int)m->n_pieces);
	t->unk = t->bos = t->eos = -1;
	for (int b = 0; b < 256; b++) t->byte_id[b] = -1;
	for (int i = 0; i < t->n; i++) {
		spm_piece *p = &m->pieces[i];
		t->piece[i] = p->piece;
		p->piece = NULL;
		t->plen[i] = (uint32_t)strlen(t->piece[i]);
		t->score[i] = p->score;
		t->type[i] = (uint8_t)p->type;
		if (p->type < SPM_NORMAL || p->type > SPM_BYTE) die("%s: piece %d has an unknown type %d", path, i, p->type);
		if (p->type == SPM_UNKNOWN) {
			if (t->unk >= 0) die("%s: pieces %d and %d are both the unknown piece", path, t->unk, i);
			t->unk = i;
		}
		if (p->type == SPM_BYTE) {
			int b = parse_byte_piece(t->piece[i], t->plen[i]);
			if (b < 0) die("%s: byte piece %d is not <0xXX>", path, i);
			t->byte_id[b] = i;
		}
		if (p->type == SPM_USER_DEFINED) {
			t->user = xrealloc(t->user, (t->n_user + 1) * sizeof *t->user);
			t->user_len = xrealloc(t->user_len, (t->n_user + 1) * sizeof *t->user_len);
			t->user[t->n_user] = t->piece[i];
			t->user_len[t->n_user++] = t->plen[i];
		}
	}
	if (t->unk < 0) die("%s: the model has no unknown piece", path);
	/* -1 is SentencePiece's "none"; any other id outside the vocabulary is a broken model */
	if (ts->bos_id < -1 || ts->bos_id >= t->n)
		die("%s: bos_id %d is outside the vocabulary of %d pieces", path, ts->bos_id, t->n);
	if (ts->eos_id < -1 || ts->eos_id >= t->n)
		die("%s: eos_id %d is outside the vocabulary of %d pieces", path, ts->eos_id, t->n);
	t->bos = ts->bos_id;
	t->eos = ts->eos_id;
	t->byte_fallback = ts->byte_fallback;
	if (t->byte_fallback)
		for (int b = 0; b < 256; b++)
			if (t->byte_id[b] < 0) die("%s: byte_fallback is set but <0x%02X> is missing", path, b);
	t->ws_suffix = ts->treat_whitespace_as_suffix;
	t->add_dummy_prefix = m->normalizer.add_dummy_prefix;
	t->remove_extra_ws = m->normalizer.remove_extra_whitespaces;
	t->escape_ws = m->normalizer.escape_whitespaces;
	spm_free(m);
	finish_load(t, path);
	/* the unknown piece shows as SentencePiece's unk_surface, " ⁇ " */
	free(t->surface[t->unk]);
	t->surface[t->unk] = xstrdup(" \xE2\x81\x87 ");
	t->slen[t->unk] = 5;
	return t;
}

static uint32_t rd32(const unsigned char *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }

/* tokenizer.bin: int32 max_token_length, then per token float score, int32
 * length, bytes; the count is whatever fills the file exactly. */
static lm_tokenizer *from_bin(const char *path, const unsigned char *b, size_t len, const char **err) {
	if (len < 4) { *err = "truncated"; return NULL; }
	uint32_t maxlen = rd32(b);
	size_t n = 0, off = 4;
	while (off < len) {
		if (len - off < 8) { *err = "truncated"; return NULL; }
		uint32_t l = rd32(b + off + 4);
		if (l == 0 || l > maxlen || l > len - off - 8) { *err = "truncated or not a tokenizer.bin"; return NULL; }
		off += 8 + l;
		n++;
	}
	if (n < 3 + 256) { *err = "too few tokens for a tokenizer.bin"; return NULL; }
	if (n > INT32_MAX) { *err = "more tokens than token ids can number"; return NULL; }
	lm_tokenizer *t = xcalloc(1, sizeof *t);
	t->bin = 1;
	alloc_pieces(t, (int)n);
	off = 4;
	for (size_t i = 0; i < n; i++) {
		memcpy(&t->score[i], b + off, 4);
		uint32_t l = rd32(b + off + 4);
		t->piece[i] = xmalloc(l + 1);
		memcpy(t->piece[i], b + off + 8, l);
		t->piece[i][l] = 0;
		t->plen[i] = l;
		off += 8 + l;
	}
	/* llama2.c's fixed layout: <unk>, BOS, EOS, then the 256 byte pieces */
	t->unk = 0, t->bos = 1, t->eos = 2;
	t->type[0] = SPM_UNKNOWN;
	t->type[1] = t->type[2] = SPM_CONTROL;
	for (int i = 3; i < (int)n; i++) {
		int v = parse_byte_piece(t->piece[i], t->plen[i]);
		t->type[i] = v >= 0 ? SPM_BYTE : SPM_NORMAL;
		if (v >= 0 && i == v + 3) t->byte_id[v] = i;
	}
	for (int v = 0; v < 256; v++)
		if (t->byte_id[v] != v + 3) { *err = "byte tokens are not at ids 3..258"; tok_free(t); return NULL; }
	t->add_dummy_prefix = 1;
	finish_load(t, path);
	/* BOS is kept out of merges; that is exact only while no piece extends it */
	for (int i = 0; i < t->n; i++)
		if (i != 1 && t->plen[i] > t->plen[1] && !memcmp(t->piece[i], t->piece[1], t->plen[1]))
			die("%s: piece %d extends the BOS piece; not supported", path, i);
	return t;
}

lm_tokenizer *tok_load(const char *path) {
	size_t len;
	unsigned char *buf = (unsigned char *)read_file(path, &len);
	if (len == 0) die("%s: empty file", path);
	const char *err = NULL, *bin_err = NULL;
	spm_model *m = spm_parse(buf, len, &err);
	lm_tokenizer *t = NULL;
	if (m) {
		free(buf);
		return from_spm(path, m);
	}
	t = from_bin(path, buf, len, &bin_err);
	/* a .model starts with field 1 (pieces) as a length-delimited record;
	 * read as tokenizer.bin that would be a max_token_length too large */
	int looks_spm = buf[0] == 0x0a && len > 4 && rd32(buf) > 4096;
	free(buf);
	if (t) return t;
	if (looks_spm) die("%s: bad SentencePiece model: %s", path, err);
	die("%s: neither a SentencePiece model (%s) nor a tokenizer.bin (%s)", path, err, bin_err);
}

void tok_free(lm_tokenizer *t) {
	if (!t) return;
	for (int i = 0; i < t->n; i++) { free(t->piece[i]); free(t->surface[i]); }
	free(t->piece); free(t->plen); free(t->score); free(t->type); free(t->surface); free(t->slen);
	free(t->merge.slot); free(t->reserved.slot);
	free(t->user); free(t->user_len);
	free(t);
}

int tok_vocab_size(const lm_tokenizer *t) { return t->n; }
int tok_bos(const lm_tokenizer *t) { return t->bos; }
int tok_eos(const lm_tokenizer *t) { return t->eos; }
const char *tok_piece(const lm_tokenizer *t, int id) {
	return id >= 0 && id < t->n ? t->piece[id] : NULL;
}

/* ---- per-thread workspace and segment cache ---- */

typedef struct sym { int32_t start, len, prev, next; int freeze; } sym;
typedef struct cand { float score; int32_t left, right, size; } cand;

typedef struct centry { uint64_t h; uint32_t klen, nids; size_t koff, ioff; } centry;

typedef struct work {
	uint64_t gen;
	char *norm; size_t norm_cap;     /* normalized text */
	char *seg; size_t seg_cap;       /* bin: a segment's token strings laid end to end */
	sym *sy; size_t sy_cap;
	cand *heap; size_t heap_n, heap_cap;
	int32_t *ids; size_t ids_n, ids_cap;   /* ids of the segment being encoded */
	/* unused pieces formed by a merge, split back when emitted (SentencePiece's rev_merge) */
	struct { int32_t id, left_len; } *rev; size_t rev_n, rev_cap;
	/* cache: segment bytes -> ids */
	centry *tab; uint64_t tab_mask; size_t tab_n;
	char *keys; size_t keys_n, keys_cap;
	int32_t *pool; size_t pool_n, pool_cap;
} work;

static _Thread_local work *tls_work;

#define CACHE_MAX_KEY 256
#define CACHE_MAX_ENTRIES (1u << 20)
#define CACHE_MAX_BYTES (32u << 20)   /* keys and ids; a full cache starts over */

static void cache_reset(work *w) {
	if (!w->tab) {
		w->tab_mask = (1u << 16) - 1;
		w->tab = xmalloc((w->tab_mask + 1) * sizeof *w->tab);
	}
	for (uint64_t i = 0; i <= w->tab_mask; i++) w->tab[i].klen = 0;
	w->tab_n = w->keys_n = w->pool_n = 0;
}

static work *get_work(const lm_tokenizer *t) {
	work *w = tls_work;
	if (!w) w = tls_work = xcalloc(1, sizeof *w);
	if (w->gen != t->gen) { cache_reset(w); w->gen = t->gen; }
	return w;
}

#define GROW(p, cap, need) do { if ((need) > (cap)) { (cap) = (need) * 2 + 16; (p) = xrealloc((p), (cap) * sizeof *(p)); } } while (0)

static int cand_before(const void *ctx, const cand *a, const cand *b) {
	(void)ctx;
	return a->score > b->score || (a->score == b->score && a->left < b->left);
}
HEAP_FUNCS(cands, cand, const void *, cand_before)

static void maybe_add(const lm_tokenizer *t, work *w, const char *text, int left, int right) {
	if (left < 0 || right < 0 || w->sy[left].freeze || w->sy[right].freeze) return;
	int32_t size = w->sy[left].len + w->sy[right].len;
	if ((uint32_t)size > t->max_piece) return;
	int32_t id = pmap_get(t, &t->merge, text + w->sy[left].start, size);
	if (id < 0) return;
	/* run.c only takes a merge scoring above its initial best of -1e10 */
	if (t->bin && !(t->score[id] > -1e10f)) return;
	GROW(w->heap, w->heap_cap, w->heap_n + 1);
	cands_push(w->heap, &w->heap_n, (cand){ t->score[id], left, right, size }, NULL);
	if (t->type[id] == SPM_UNUSED) {
		GROW(w->rev, w->rev_cap, w->rev_n + 1);
		size_t k = 0;
		while (k < w->rev_n && w->rev[k].id != id) k++;
		if (k == w->rev_n) w->rev_n++;
		w->rev[k].id = id;
		w->rev[k].left_len = w->sy[left].len;
	}
}

static void merge_all(const lm_tokenizer *t, work *w, const char *text, int nsym) {
	w->heap_n = 0;
	w->rev_n = 0;
	for (int i = 1; i < nsym; i++) maybe_add(t, w, text, i - 1, i);
	while (w->heap_n) {
		cand c = cands_pop(w->heap, &w->heap_n, NULL);
		sym *l = &w->sy[c.left], *r = &w->sy[c.right];
		if (!l->len || !r->len || l->len + r->len != c.size) continue;
		l->len += r->len;
		l->next = r->next;
		if (r->next >= 0) w->sy[r->next].prev = c.left;
		r->len = 0;
		maybe_add(t, w, text, l->prev, c.left);
		maybe_add(t, w, text, c.left, l->next);
	}
}

static void push_id(work *w, int32_t id) {
	GROW(w->ids, w->ids_cap, w->ids_n + 1);
	w->ids[w->ids_n++] = id;
}

/* SentencePiece's resegment: an unused piece is emitted as the two it was merged from. */
static void emit_piece(const lm_tokenizer *t, work *w, const char *s, int32_t len, int depth) {
	int32_t id = pmap_get(t, &t->reserved, s, len);
	if (id < 0) id = pmap_get(t, &t->merge, s, len);
	if (id < 0) id = t->unk;
	if (t->type[id] == SPM_UNUSED && depth < 64) {
		for (size_t k = 0; k < w->rev_n; k++)
			if (w->rev[k].id == id) {
				int32_t a = w->rev[k].left_len;
				emit_piece(t, w, s, a, depth + 1);
				emit_piece(t, w, s + a, len - a, depth + 1);
				return;
			}
	}
	if (id == t->unk && t->byte_fallback) {
		for (int32_t i = 0; i < len; i++) push_id(w, t->byte_id[(unsigned char)s[i]]);
		return;
	}
	push_id(w, id);
}

/* One segment of normalized text (SentencePiece) into w->ids. */
static void encode_spm_segment(const lm_tokenizer *t, work *w, const char *s, size_t n) {
	int nsym = 0;
	for (size_t i = 0; i < n;) {
		GROW(w->sy, w->sy_cap, (size_t)nsym + 1);
		size_t l = 0;
		int freeze = 0;
		for (int u = 0; u < t->n_user; u++)
			if (t->user_len[u] > l && t->user_len[u] <= n - i && !memcmp(s + i, t->user[u], t->user_len[u]))
				l = t->user_len[u], freeze = 1;
		if (!l) {
			l = utf8_lead_len((unsigned char)s[i]);
			if (l > n - i) l = n - i;
		}
		w->sy[nsym] = (sym){ (int32_t)i, (int32_t)l, nsym - 1, nsym + 1, freeze };
		nsym++;
		i += l;
	}
	if (!nsym) return;
	w->sy[nsym - 1].next = -1;
	merge_all(t, w, s, nsym);
	for (int i = 0; i >= 0; i = w->sy[i].next) emit_piece(t, w, s + w->sy[i].start, w->sy[i].len, 0);
}

/* One segment of raw text as run.c encode() sees it: UTF-8 groups of at most
 * four bytes looked up whole, else one byte token per byte; then merges over
 * the tokens' strings. */
static void encode_bin_segment(const lm_tokenizer *t, work *w, const char *s, size_t n) {
	int nsym = 0;
	size_t k = 0;
	GROW(w->seg, w->seg_cap, n * 6 + 1);
	for (size_t i = 0; i < n;) {
		size_t l = 1;
		while (i + l < n && ((unsigned char)s[i + l] & 0xC0) == 0x80 && l < 4) l++;
		int32_t id = pmap_get(t, &t->merge, s + i, l);
		for (size_t j = 0; j < (id >= 0 ? 1 : l); j++) {
			int32_t tid = id >= 0 ? id : (unsigned char)s[i + j] + 3;
			GROW(w->sy, w->sy_cap, (size_t)nsym + 1);
			memcpy(w->seg + k, t->piece[tid], t->plen[tid]);
			w->sy[nsym] = (sym){ (int32_t)k, (int32_t)t->plen[tid], nsym - 1, nsym + 1, 0 };
			k += t->plen[tid];
			nsym++;
		}
		i += l;
	}
	if (!nsym) return;
	w->sy[nsym - 1].next = -1;
	merge_all(t, w, w->seg, nsym);
	for (int i = 0; i >= 0; i = w->sy[i].next)
		push_id(w, pmap_get(t, &t->merge, w->seg + w->sy[i].start, w->sy[i].len));
}

static void encode_segment(const lm_tokenizer *t, work *w, const char *s, size_t n) {
	if (t->bin) encode_bin_segment(t, w, s, n);
	else encode_spm_segment(t, w, s, n);
}

/* Encode a segment through the cache; returns the ids and their count. */
static const int32_t *segment_ids(const lm_tokenizer *t, work *w, const char *s, size_t n, size_t *nids) {
	if (n > CACHE_MAX_KEY) {
		w->ids_n = 0;
		encode_segment(t, w, s, n);
		*nids = w->ids_n;
		return w->ids;
	}
	uint64_t h = hash(s, n), i;
	for (i = h & w->tab_mask; w->tab[i].klen; i = (i + 1) & w->tab_mask) {
		centry *e = &w->tab[i];
		if (e->h == h && e->klen == n && !memcmp(w->keys + e->koff, s, n)) {
			*nids = e->nids;
			return w->pool + e->ioff;
		}
	}
	w->ids_n = 0;
	encode_segment(t, w, s, n);
	if (w->tab_n >= CACHE_MAX_ENTRIES || w->keys_n + w->pool_n * sizeof *w->pool > CACHE_MAX_BYTES) {
		cache_reset(w);
	} else if ((w->tab_n + 1) * 2 > w->tab_mask + 1) {
		/* grow and rehash */
		uint64_t old = w->tab_mask;
		centry *ot = w->tab;
		w->tab_mask = old * 2 + 1;
		w->tab = xmalloc((w->tab_mask + 1) * sizeof *w->tab);
		for (uint64_t j = 0; j <= w->tab_mask; j++) w->tab[j].klen = 0;
		for (uint64_t j = 0; j <= old; j++) {
			if (!ot[j].klen) continue;
			uint64_t p = ot[j].h & w->tab_mask;
			while (w->tab[p].klen) p = (p + 1) & w->tab_mask;
			w->tab[p] = ot[j];
		}
		free(ot);
	}
	for (i = h & w->tab_mask; w->tab[i].klen; i = (i + 1) & w->tab_mask) {}
	GROW(w->keys, w->keys_cap, w->keys_n + n);
	GROW(w->pool, w->pool_cap, w->pool_n + w->ids_n);
	memcpy(w->keys + w->keys_n, s, n);
	memcpy(w->pool + w->pool_n, w->ids, w->ids_n * sizeof *w->ids);
	w->tab[i] = (centry){ h, (uint32_t)n, (uint32_t)w->ids_n, w->keys_n, w->pool_n };
	w->keys_n += n;
	w->pool_n += w->ids_n;
	w->tab_n++;
	*nids = w->ids_n;
	return w->pool + w->tab[i].ioff;
}

static void norm_put(work *w, size_t *k, const char *s, size_t n) {
	GROW(w->norm, w->norm_cap, *k + n + 1);
	memcpy(w->norm + *k, s, n);
	*k += n;
}

/* SentencePiece's Normalizer::Normalize with identity rules: an invalid byte
 * becomes U+FFFD, spaces become "▁", plus the dummy prefix and, when the
 * model asks, removal of leading, trailing and repeated spaces. tokenizer.bin
 * text is only given run.c's dummy-prefix space. */
static size_t normalize(const lm_tokenizer *t, work *w, const char *text, size_t len) {
	size_t k = 0, i = 0;
	if (t->bin) {
		if (len) norm_put(w, &k, " ", 1);
		norm_put(w, &k, text, len);
		return k;
	}
	const char *ws = t->escape_ws ? SPACE_SYMBOL : " ";
	size_t wn = strlen(ws);
	if (t->remove_extra_ws)
		while (i < len && text[i] == ' ') i++;
	if (i == len) return 0;
	if (!t->ws_suffix && t->add_dummy_prefix) norm_put(w, &k, ws, wn);
	int prev_space = t->remove_extra_ws;
	GROW(w->norm, w->norm_cap, k + 3 * (len - i) + 8);
	while (i < len) {
		unsigned char c = (unsigned char)text[i];
		if (c == ' ') {
			if (!prev_space) { memcpy(w->norm + k, ws, wn); k += wn; }
			prev_space = t->remove_extra_ws;
			i++;
		} else if (c < 0x80) {
			w->norm[k++] = (char)c;
			prev_space = 0;
			i++;
		} else {
			uint32_t cp;
			int valid;
			size_t l = utf8_decode((const unsigned char *)text + i, len - i, &cp, &valid);
			if (valid) memcpy(w->norm + k, text + i, l), k += l;
			else memcpy(w->norm + k, "\xEF\xBF\xBD", 3), k += 3;
			prev_space = 0;
			i += l;
		}
	}
	if (t->remove_extra_ws)
		while (k >= wn && !memcmp(w->norm + k - wn, ws, wn)) k -= wn;
	if (t->ws_suffix && t->add_dummy_prefix) norm_put(w, &k, ws, wn);
	return k;
}

/* Whether the space symbol (" " or "▁", spn bytes) starts at s[b]. */
static inline int is_space(const char *s, size_t b, size_t m, size_t spn) {
	if (spn == 1) return s[b] == ' ';
	return s[b] == '\xE2' && b + 3 <= m && s[b + 1] == '\x96' && s[b + 2] == '\x81';
}

static void append(int32_t **ids, size_t *cap, size_t *n, int32_t id) {
	if (*n >= *cap) {
		*cap = *cap ? *cap * 2 : 64;
		*ids = xrealloc(*ids, *cap * sizeof **ids);
	}
	(*ids)[(*n)++] = id;
}

size_t tok_encode(const lm_tokenizer *t, const char *text, size_t len, int bos, int eos,
		  int32_t **ids, size_t *cap) {
	work *w = get_work(t);
	size_t n = 0;
	if (bos && t->bos >= 0) append(ids, cap, &n, t->bos);
	size_t m = normalize(t, w, text, len);
	const char *s = w->norm;
	size_t spn = t->bin || !t->escape_ws ? 1 : 3;
	int prev_unk = 0;
	for (size_t a = 0, b; a < m; a = b) {
		b = m;
		if (t->presplit) {
			/* a segment: a run of spaces, then everything up to the next space */
			b = a;
			while (b < m && is_space(s, b, m, spn)) b += spn;
			while (b < m && !is_space(s, b, m, spn)) b++;
		}
		size_t k;
		const int32_t *seg = segment_ids(t, w, s + a, b - a, &k);
		if (n + k + 1 > *cap) {
			*cap = (n + k + 1) * 2;
			*ids = xrealloc(*ids, *cap * sizeof **ids);
		}
		for (size_t j = 0; j < k; j++) {
			/* without byte fallback a run of unknown characters is one <unk> */
			if (seg[j] == t->unk && !t->byte_fallback && prev_unk) continue;
			prev_unk = seg[j] == t->unk;
			(*ids)[n++] = seg[j];
		}
	}
	if (eos && t->eos >= 0) append(ids, cap, &n, t->eos);
	return n;
}

const char *tok_decode_piece(const lm_tokenizer *t, int prev, int id, char *buf, size_t *len) {
	if (id < 0 || id >= t->n) { *len = 0; return ""; }
	const char *s = t->surface[id];
	size_t n = t->slen[id];
	/* the dummy-prefix space of the first word is not part of the text */
	if ((prev < 0 || prev == t->bos) && t->add_dummy_prefix && !t->ws_suffix && n && s[0] == ' ' &&
	    t->type[id] != SPM_UNKNOWN)
		s++, n--;
	(void)buf;   /* every surface is stored whole in t */
	*len = n;
	return s;
}

/* Append the bytes of a run of byte pieces, as SentencePiece does: valid UTF-8
 * kept, each invalid byte replaced by U+FFFD. */
static void flush_bytes(char **out, size_t *n, size_t *cap, const unsigned char *b, size_t nb) {
	for (size_t i = 0; i < nb;) {
		uint32_t cp;
		int valid;
		size_t l = utf8_decode(b + i, nb - i, &cp, &valid);
		if (*n + 4 > *cap) *out = xrealloc(*out, *cap = (*n + 4) * 2);
		if (valid) memcpy(*out + *n, b + i, l), *n += l;
		else memcpy(*out + *n, "\xEF\xBF\xBD", 3), *n += 3;
		i += l;
	}
}

char *tok_decode(const lm_tokenizer *t, const int32_t *ids, size_t n, size_t *len) {
	size_t cap = 64, k = 0, nb = 0;
	char *out = xmalloc(cap);
	unsigned char *bytes = xmalloc(n + 1);
	/* SentencePiece strips the dummy prefix from the first piece that starts
	 * with a space, unless text or another such piece came before it */
	int bos_ws = 1, bos_ws_seen = 0;
	for (size_t i = 0; i < n; i++) {
		int id = ids[i];
		if (id < 0 || id >= t->n) die("token id %d out of range (vocabulary of %d)", id, t->n);
		if (t->type[id] == SPM_BYTE) { bytes[nb++] = (unsigned char)t->surface[id][0]; continue; }
		flush_bytes(&out, &k, &cap, bytes, nb);
		nb = 0;
		if (bos_ws_seen || k) bos_ws = 0;
		const char *s = t->surface[id];
		size_t sn = t->slen[id];
		bos_ws_seen = 0;
		/* strncmp: a piece may be shorter than "▁" (a literal space, one byte) */
		if (t->type[id] != SPM_CONTROL && t->type[id] != SPM_UNKNOWN && bos_ws &&
		    (t->add_dummy_prefix || t->remove_extra_ws) && sn && s[0] == ' ' &&
		    (t->bin || !strncmp(t->piece[id], SPACE_SYMBOL, 3))) {
			s++, sn--;
			/* a model that removes extra whitespace strips every leading space */
			bos_ws_seen = !t->remove_extra_ws;
		}
		if (k + sn + 1 > cap) out = xrealloc(out, cap = (k + sn + 1) * 2);
		memcpy(out + k, s, sn);
		k += sn;
	}
	flush_bytes(&out, &k, &cap, bytes, nb);
	free(bytes);
	if (k + 1 > cap) out = xrealloc(out, k + 1);
	out[k] = 0;
	if (len) *len = k;
	return out;
}
