#include "dedup.h"
#include "extsort.h"
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

_Static_assert(sizeof(dd_rec) == 264, "dd_rec is a file record: no padding");

#define SIG_MAGIC "LMKDDSIG"
#define SIG_END "LMKDDEND"
#define CLU_MAGIC "LMKDDCLU"
#define HDR 32        /* sig file header and trailer; clusters file trailer */
#define WINDOW 32     /* how many earlier members of a bucket a document is compared with */

void dd_sink_write(dd_sink *s, const void *p, size_t n) {
	if (!n) return;
	if (s->out) {
		out_write(s->out, p, n);
	} else {
		if (s->n + n > s->cap) {
			s->cap = (s->n + n) * 2 + 4096;
			s->p = xrealloc(s->p, s->cap);
		}
		memcpy(s->p + s->n, p, n);
	}
	s->n += n;
}

uint64_t dd_line_hash(const char *line, size_t len) { return XXH3_64bits(line, len); }

static void put32(char *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(char *p, uint64_t v) { memcpy(p, &v, 8); }
static uint32_t get32(const char *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const char *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* ---- sig stage ---- */

struct dd_sigw {
	dd_sink *sink;
	int exact_only;
	mh_ctx mh;
	char *ids; size_t nid, idcap;
	uint64_t ndocs;
	XXH3_state_t *dig;    /* needs 64-byte alignment: XXH3_createState */
};

dd_sigw *dd_sigw_open(dd_sink *sink, int exact_only, int ngram) {
	dd_sigw *w = xcalloc(1, sizeof *w);
	w->sink = sink;
	w->exact_only = exact_only;
	mh_init(&w->mh, exact_only ? 0 : ngram);
	w->dig = XXH3_createState();
	if (!w->dig) die("out of memory");
	XXH3_64bits_reset(w->dig);
	char h[HDR] = SIG_MAGIC;
	put32(h + 8, 1);
	put32(h + 12, exact_only ? 1 : 0);
	put32(h + 16, ngram);
	put32(h + 20, MH_BANDS);
	put32(h + 24, MH_ROWS);
	put32(h + 28, 0);
	dd_sink_write(sink, h, HDR);
	return w;
}

void dd_sigw_add(dd_sigw *w, const lm_doc *doc) {
	dd_rec r;
	memset(&r, 0, sizeof r);
	r.tie = dd_line_hash(doc->line, doc->line_len);
	r.exact = mh_normalize(&w->mh, doc->text, doc->text_len);
	if (doc->id) {
		if (doc->id_len > UINT32_MAX) die("an id of %zu bytes is too long", doc->id_len);
		r.key = XXH3_64bits_withSeed(doc->id, doc->id_len, 1);
		r.flags |= DD_HAS_ID;
		r.id_off = w->nid;
		r.id_len = (uint32_t)doc->id_len;
		if (w->nid + doc->id_len > w->idcap) w->ids = xrealloc(w->ids, w->idcap = (w->nid + doc->id_len) * 2 + 4096);
		memcpy(w->ids + w->nid, doc->id, doc->id_len);
		w->nid += doc->id_len;
	} else {
		r.key = XXH3_64bits_withSeed(doc->text, doc->text_len, 2);
	}
	uint32_t sig[MH_PERM];
	if (!w->exact_only && mh_signature(&w->mh, sig)) {
		r.flags |= DD_HAS_SIG;
		for (int b = 0; b < MH_BANDS; b++) r.band[b] = mh_band_key(sig, b);
		mh_fingerprint(sig, r.fp);
	}
	dd_sink_write(w->sink, &r, sizeof r);
	XXH3_64bits_update(w->dig, &r.tie, sizeof r.tie);
	w->ndocs++;
}

void dd_sigw_close(dd_sigw *w) {
	dd_sink_write(w->sink, w->ids, w->nid);
	char t[HDR];
	put64(t, w->ndocs);
	put64(t + 8, XXH3_64bits_digest(w->dig));
	put64(t + 16, HDR + w->ndocs * sizeof(dd_rec));
	memcpy(t + 24, SIG_END, 8);
	dd_sink_write(w->sink, t, HDR);
	mh_free(&w->mh);
	XXH3_freeState(w->dig);
	free(w->ids);
	free(w);
}

/* ---- reading sig files and images ---- */

static void src_read(const char *name, int fd, const char *mem, size_t memlen, uint64_t off, void *buf, size_t n) {
	if (!fd) {
		if (off > memlen || n > memlen - off) die("%s: truncated", name);
		memcpy(buf, mem + off, n);
		return;
	}
	read_at(fd, buf, n, off, name);
}

static void sig_read(const dd_sig *s, uint64_t off, void *buf, size_t n) {
	src_read(s->path, s->fd, s->mem, s->memlen, off, buf, n);
}

static dd_sig *sig_check(dd_sig *s, uint64_t size) {
	char h[HDR], t[HDR];
	if (size < 2 * HDR) die("%s: not an lm-dedup sig file (too short)", s->path);
	sig_read(s, 0, h, HDR);
	sig_read(s, size - HDR, t, HDR);
	if (memcmp(h, SIG_MAGIC, 8)) die("%s: not an lm-dedup sig file", s->path);
	if (get32(h + 8) != 1) die("%s: sig file version %u, expected 1", s->path, get32(h + 8));
	if (memcmp(t + 24, SIG_END, 8)) die("%s: truncated sig file", s->path);
	if (get32(h + 20) != MH_BANDS || get32(h + 24) != MH_ROWS) die("%s: unsupported band layout", s->path);
	s->flags = get32(h + 12);
	s->ngram = get32(h + 16);
	if (s->flags > 1 || get32(h + 28)) die("%s: corrupt sig file (unknown flags)", s->path);
	s->ndocs = get64(t);
	s->digest = get64(t + 8);
	s->id_start = get64(t + 16);
	if (s->ndocs > (size - 2 * HDR) / sizeof(dd_rec) || s->id_start != HDR + s->ndocs * sizeof(dd_rec) ||
	    s->id_start > size - HDR)
		die("%s: corrupt sig file", s->path);
	s->id_bytes = size - HDR - s->id_start;
	return s;
}

/* A record's id must lie in the id section: its length sizes a buffer. */
static void rec_check(const dd_sig *s, const dd_rec *r, uint64_t i) {
	int bad = r->flags & ~(uint32_t)(DD_HAS_ID | DD_HAS_SIG);
	if (r->flags & DD_HAS_ID) bad |= r->id_off > s->id_bytes || r->id_len > s->id_bytes - r->id_off;
	else bad |= r->id_off || r->id_len;
	if (bad) die("%s: corrupt sig file (record %llu: bad flags or id outside the id section)", s->path,
		     (unsigned long long)i);
}

dd_sig *dd_sig_open(const char *path) {
	dd_sig *s = xcalloc(1, sizeof *s);
	s->path = path;
	s->fd = open_in(path);
	if (s->fd == 0) {   /* 0 means "in memory" below */
		int fd = dup(0);
		if (fd < 0) die_errno("%s", path);
		s->fd = fd;
	}
	struct stat st;
	if (fstat(s->fd, &st)) die_errno("%s", path);
	if (!S_ISREG(st.st_mode)) die("%s: a sig file must be a regular file", path);
	return sig_check(s, (uint64_t)st.st_size);
}

dd_sig *dd_sig_mem(const char *p, size_t n, const char *name) {
	dd_sig *s = xcalloc(1, sizeof *s);
	s->path = name;
	s->mem = p, s->memlen = n;
	return sig_check(s, n);
}

void dd_sig_close(dd_sig *s) {
	if (s->fd > 0) close(s->fd);
	free(s);
}

/* ---- clusters stage ---- */

typedef struct brec { uint64_t bucket, key, tie, gidx; uint8_t fp[MH_PERM]; } brec;

static int brec_cmp(const void *pa, const void *pb) {
	const brec *a = pa, *b = pb;
	if (a->bucket != b->bucket) return a->bucket < b->bucket ? -1 : 1;
	if (a->key != b->key) return a->key < b->key ? -1 : 1;
	if (a->tie != b->tie) return a->tie < b->tie ? -1 : 1;
	return (a->gidx > b->gidx) - (a->gidx < b->gidx);
}

/* Union-find over all documents in corpus order. Each set's root is its least
 * member by (key, tie, position), so the root is the survivor. */
typedef struct uf { uint32_t *parent; uint64_t *key, *tie; } uf;

static uint32_t uf_find(uf *u, uint32_t x) {
	while (u->parent[x] != x) {
		u->parent[x] = u->parent[u->parent[x]];
		x = u->parent[x];
	}
	return x;
}
static int uf_less(const uf *u, uint32_t a, uint32_t b) {
	if (u->key[a] != u->key[b]) return u->key[a] < u->key[b];
	if (u->tie[a] != u->tie[b]) return u->tie[a] < u->tie[b];
	return a < b;
}
static void uf_union(uf *u, uint32_t a, uint32_t b) {
	a = uf_find(u, a), b = uf_find(u, b);
	if (a == b) return;
	if (uf_less(u, a, b)) u->parent[b] = a;
	else u->parent[a] = b;
}

/* Documents are read in chunks of records, never all at once. */
#define CHUNK 1024
typedef struct rec_iter { dd_sig *s; uint64_t i, n; dd_rec *buf; } rec_iter;
static const dd_rec *rec_next(rec_iter *it) {
	if (it->i >= it->s->ndocs) return NULL;
	if (it->i % CHUNK == 0) {
		it->n = it->s->ndocs - it->i < CHUNK ? it->s->ndocs - it->i : CHUNK;
		sig_read(it->s, HDR + it->i * sizeof(dd_rec), it->buf, it->n * sizeof(dd_rec));
	}
	rec_check(it->s, &it->buf[it->i % CHUNK], it->i);
	return &it->buf[it->i++ % CHUNK];
}

/* Append s to b as a JSON string literal. */
static void sink_put(void *b, const void *p, size_t n) { dd_sink_write(b, p, n); }
static void json_str(dd_sink *b, const char *s, size_t n) { json_string(sink_put, b, s, n); }

static void put_id(dd_sink *b, const dd_sig *s, const dd_rec *r, char **idbuf, size_t *idcap) {
	if (!(r->flags & DD_HAS_ID)) {
		char t[32];
		int n = snprintf(t, sizeof t, "\"xxh3:%016llx\"", (unsigned long long)r->key);
		dd_sink_write(b, t, n);
		return;
	}
	if (r->id_len > *idcap) *idbuf = xrealloc(*idbuf, *idcap = (size_t)r->id_len * 2);
	sig_read(s, s->id_start + r->id_off, *idbuf, r->id_len);
	json_str(b, *idbuf, r->id_len);
}

void dd_clusters(dd_sig **sig, int nsig, double threshold, size_t mem, const char *tmpdir,
                 dd_sink *out, dd_stats *st) {
	memset(st, 0, sizeof *st);
	uint64_t n = 0, *base = xmalloc((nsig + 1) * sizeof *base);
	for (int k = 0; k < nsig; k++) {
		if (sig[k]->flags != sig[0]->flags || sig[k]->ngram != sig[0]->ngram)
			die("%s: made with other options than %s (--exact, -n)", sig[k]->path, sig[0]->path);
		base[k] = n;
		n += sig[k]->ndocs;
	}
	base[nsig] = n;
	if (n >= UINT32_MAX) die("%llu documents: at most %u in one run", (unsigned long long)n, UINT32_MAX - 1);
	/* the union-find, keys and a bit per document; 8 MB for the program itself
	 * (about 5 MB resident with its libraries) and its buffers; and room to
	 * sort in: enough that the merge can give each sorted run 16 records, so
	 * one merge pass stays within mem (runs = n * 152 / sortmem) */
	size_t fixed = n * (sizeof(uint32_t) + 2 * sizeof(uint64_t)) + n / 8 + (8u << 20);
	size_t minsort = (size_t)sqrt((double)n * (sizeof(brec) + 8) * 16 * sizeof(brec)) + 1;
	if (minsort < (64u << 10)) minsort = 64u << 10;
	if (mem < fixed + minsort)
		die("--mem %zu bytes is too small for %llu documents (at least %zu)", mem,
		    (unsigned long long)n, fixed + minsort);
	size_t sortmem = mem - fixed;
	uf u = { xmalloc(n * sizeof *u.parent + 1), xmalloc(n * sizeof *u.key + 1), xmalloc(n * sizeof *u.tie + 1) };
	rec_iter it = { .buf = xmalloc(CHUNK * sizeof(dd_rec)) };
	const dd_rec *r;
	for (int k = 0; k < nsig; k++) {
		it.s = sig[k], it.i = 0;
		for (uint64_t g = base[k]; (r = rec_next(&it)); g++) u.parent[g] = (uint32_t)g, u.key[g] = r->key, u.tie[g] = r->tie;
	}
	st->docs = (long long)n;

	int exact_only = sig[0]->flags & 1, need = mh_fp_needed(threshold);
	int nbands = exact_only ? 0 : MH_BANDS;
	brec b, *win = xmalloc(WINDOW * sizeof *win);
	/* bands 0..nbands-1 are the LSH bands; the last is the exact hash */
	for (int band = 0; band <= nbands; band++) {
		int exact = band == nbands;
		xsort *xs = xs_new(sizeof(brec), brec_cmp, sortmem, tmpdir);
		memset(&b, 0, sizeof b);
		for (int k = 0; k < nsig; k++) {
			it.s = sig[k], it.i = 0;
			for (uint64_t g = base[k]; (r = rec_next(&it)); g++) {
				if (!exact && !(r->flags & DD_HAS_SIG)) continue;
				b.bucket = exact ? r->exact : r->band[band];
				b.key = r->key, b.tie = r->tie, b.gidx = g;
				if (!exact) memcpy(b.fp, r->fp, MH_PERM);
				xs_add(xs, &b);
			}
		}
		const brec *x;
		uint64_t cur = 0;
		size_t nw = 0, seen = 0;
		while ((x = xs_next(xs))) {
			if (!seen || x->bucket != cur) { cur = x->bucket; nw = 0; seen = 0; }
			seen++;
			uint32_t g = (uint32_t)x->gidx;
			if (exact) {
				if (nw) uf_union(&u, (uint32_t)win[0].gidx, g);
				win[0] = *x, nw = 1;
				continue;
			}
			for (size_t j = 0; j < nw; j++) {
				uint32_t h = (uint32_t)win[j].gidx;
				if (uf_find(&u, h) == uf_find(&u, g)) continue;
				if (mh_fp_agree(win[j].fp, x->fp) >= need) uf_union(&u, h, g);
			}
			/* the window holds the WINDOW members before this one, in a ring */
			win[(seen - 1) % WINDOW] = *x;
			if (nw < WINDOW) nw++;
		}
		st->runs += (long long)xs_runs(xs);
		xs_free(xs);
	}
	free(win);

	/* the removed documents, shard by shard, with their records ready to copy */
	uint64_t *tab = xcalloc(nsig * 5 + 1, sizeof *tab);
	dd_sink line = {0};
	char *idbuf = NULL;
	size_t idcap = 0;
	uint8_t *is_root = xcalloc(n / 8 + 1, 1);
	for (int k = 0; k < nsig; k++) {
		uint64_t *t = tab + 5 * k;
		t[0] = sig[k]->ndocs, t[1] = sig[k]->digest, t[3] = out->n;
		it.s = sig[k], it.i = 0;
		for (uint64_t g = base[k]; (r = rec_next(&it)); g++) {
			uint32_t root = uf_find(&u, (uint32_t)g);
			if (root == g) continue;
			if (!(is_root[root / 8] & (1 << root % 8))) { is_root[root / 8] |= 1 << root % 8; st->clusters++; }
			int rk = 0;
			while (base[rk + 1] <= root) rk++;
			dd_rec rr;
			sig_read(sig[rk], HDR + (root - base[rk]) * sizeof rr, &rr, sizeof rr);
			rec_check(sig[rk], &rr, root - base[rk]);
			int same = rr.exact == r->exact;
			line.n = 0;
			dd_sink_write(&line, "{\"id\":", 6);
			put_id(&line, sig[k], r, &idbuf, &idcap);
			char c[64];
			XXH64_hash_t cid = XXH3_64bits(&rr.key, 16);   /* key and tie: one cluster, one id */
			int m = snprintf(c, sizeof c, ",\"cluster\":\"%016llx\",\"survivor\":", (unsigned long long)cid);
			dd_sink_write(&line, c, m);
			put_id(&line, sig[rk], &rr, &idbuf, &idcap);
			m = snprintf(c, sizeof c, ",\"reason\":\"%s\"}\n", same ? "exact" : "near");
			dd_sink_write(&line, c, m);
			char h[12];
			put64(h, g - base[k]);
			put32(h + 8, (uint32_t)line.n);
			dd_sink_write(out, h, 12);
			dd_sink_write(out, line.p, line.n);
			t[2]++;
			st->removed++;
			if (same) st->exact++; else st->near++;
		}
		t[4] = out->n - t[3];
	}
	uint64_t tab_off = out->n;
	dd_sink_write(out, tab, nsig * 5 * sizeof *tab);
	char tr[HDR];
	put64(tr, tab_off);
	put64(tr + 8, (uint64_t)nsig);
	put64(tr + 16, 1);
	memcpy(tr + 24, CLU_MAGIC, 8);
	dd_sink_write(out, tr, HDR);
	free(line.p);
	free(idbuf);
	free(is_root);
	free(tab);
	free(it.buf);
	free(u.parent), free(u.key), free(u.tie);
	free(base);
}

/* ---- filter stage ---- */

dd_filter *dd_filter_open(const char *path, const char *mem, size_t memlen, int shard) {
	int fd = 0;
	uint64_t size = memlen;
	if (path && !mem) {
		fd = open_in(path);
		struct stat st;
		if (fstat(fd, &st)) die_errno("%s", path);
		if (!S_ISREG(st.st_mode)) die("%s: a clusters file must be a regular file", path);
		size = (uint64_t)st.st_size;
	}
	const char *name = path ? path : "clusters";
	char tr[HDR];
	if (size < HDR) die("%s: not an lm-dedup clusters file", name);
	src_read(name, fd, mem, memlen, size - HDR, tr, HDR);
	if (memcmp(tr + 24, CLU_MAGIC, 8)) die("%s: not an lm-dedup clusters file", name);
	uint64_t tab_off = get64(tr), nshards = get64(tr + 8);
	if (get64(tr + 16) != 1) die("%s: clusters file version %llu, expected 1", name, (unsigned long long)get64(tr + 16));
	if (nshards > (size - HDR) / 40 || tab_off != size - HDR - nshards * 40) die("%s: corrupt clusters file", name);
	if (shard < 0 || (uint64_t)shard >= nshards)
		die("%s: no shard %d (it holds %llu, numbered from 0)", name, shard, (unsigned long long)nshards);
	char t[40];
	src_read(name, fd, mem, memlen, tab_off + 40 * (uint64_t)shard, t, 40);
	dd_filter *f = xcalloc(1, sizeof *f);
	f->ndocs = get64(t), f->digest = get64(t + 8), f->ndrop = get64(t + 16);
	uint64_t off = get64(t + 24), len = get64(t + 32);
	if (off > tab_off || len > tab_off - off || f->ndrop > len / 12) die("%s: corrupt clusters file", name);
	f->data = xmalloc(len + 1);
	src_read(name, fd, mem, memlen, off, f->data, len);
	if (fd) close(fd);
	f->drop = xmalloc((f->ndrop + 1) * sizeof *f->drop);
	const char *p = f->data, *e = f->data + len;
	for (uint64_t i = 0; i < f->ndrop; i++) {
		if (e - p < 12) die("%s: corrupt clusters file", name);
		f->drop[i].doc = get64(p), f->drop[i].len = get32(p + 8);
		if ((uint64_t)(e - p - 12) < f->drop[i].len || f->drop[i].doc >= f->ndocs ||
		    (i && f->drop[i].doc <= f->drop[i - 1].doc))
			die("%s: corrupt clusters file", name);
		f->drop[i].line = p + 12;
		p += 12 + f->drop[i].len;
	}
	XXH3_state_t *s = XXH3_createState();
	if (!s) die("out of memory");
	XXH3_64bits_reset(s);
	f->state = s;
	return f;
}

int dd_filter_next(dd_filter *f, const char *line, size_t len, const char **rm, size_t *rmlen) {
	uint64_t h = dd_line_hash(line, len);
	XXH3_64bits_update(f->state, &h, sizeof h);
	uint64_t i = f->seen++;
	if (f->next < f->ndrop && f->drop[f->next].doc == i) {
		*rm = f->drop[f->next].line;
		*rmlen = f->drop[f->next].len;
		f->next++;
		return 1;
	}
	return 0;
}

const char *dd_filter_check(const dd_filter *f) {
	if (f->seen != f->ndocs) return "it holds another number of documents than the shard the clusters were made from";
	if (XXH3_64bits_digest(f->state) != f->digest) return "it is not the shard the clusters were made from";
	return "";
}

void dd_filter_close(dd_filter *f) {
	XXH3_freeState(f->state);
	free(f->data);
	free(f->drop);
	free(f);
}

/* ---- exact duplicates in one stream ---- */

/* What the exact pass keeps of a document: the keys the survivor is chosen by,
 * where its line is, where its id is. */
typedef struct ex_doc {
	uint64_t exact, key, tie;
	long long lineno;
	uint64_t id_off;
	uint32_t id_len, has_id;
} ex_doc;

/* by exact hash, then as the clusters stage orders a cluster: key, tie, position */
static int ex_cmp(const void *pa, const void *pb, void *docs) {
	const ex_doc *a = (const ex_doc *)docs + *(const uint32_t *)pa, *b = (const ex_doc *)docs + *(const uint32_t *)pb;
	if (a->exact != b->exact) return a->exact < b->exact ? -1 : 1;
	if (a->key != b->key) return a->key < b->key ? -1 : 1;
	if (a->tie != b->tie) return a->tie < b->tie ? -1 : 1;
	return *(const uint32_t *)pa < *(const uint32_t *)pb ? -1 : 1;
}

static void ex_id(dd_sink *b, const ex_doc *e, const char *ids) {
	if (e->has_id) {
		json_str(b, ids + e->id_off, e->id_len);
	} else {
		char t[32];
		int n = snprintf(t, sizeof t, "\"xxh3:%016llx\"", (unsigned long long)e->key);
		dd_sink_write(b, t, n);
	}
}

/* A stream that can be read twice: a regular file as it is, anything else
 * (standard input, a pipe, gzip) as its documents' lines copied to an
 * unlinked file in tmpdir. */
static int rereadable(const char *path) {
	struct stat st;
	unsigned char m[2] = {0};
	if (!strcmp(path, "-") || stat(path, &st) || !S_ISREG(st.st_mode)) return 0;
	int fd = open(path, O_RDONLY);
	if (fd < 0) return 0;
	ssize_t n = read(fd, m, 2);
	close(fd);
	return !(n == 2 && m[0] == 0x1f && m[1] == 0x8b);
}

void dd_exact(const char *in, int plain, int skip_bad, const char *tmpdir, lm_out *out, lm_out *rm,
              dd_stats *st, long long *bytes, long long *bad) {
	memset(st, 0, sizeof *st);
	int twice = rereadable(in);
	char spool_path[64] = "", tmpl[4096] = "";
	FILE *copy = NULL;
	if (!twice) {
		const char *dir = tmpdir ? tmpdir : getenv("TMPDIR");
		snprintf(tmpl, sizeof tmpl, "%s/lm-dedup.XXXXXX", dir && *dir ? dir : "/tmp");
		int fd = mkstemp(tmpl);
		if (fd < 0 || !(copy = fdopen(fd, "w"))) die_errno("%s", tmpl);
		unlink(tmpl);
		snprintf(spool_path, sizeof spool_path, "/dev/fd/%d", fd);
	}
	lm_docs *d = docs_open(in, plain, skip_bad);
	mh_ctx mh;
	mh_init(&mh, 0);
	ex_doc *e = NULL;
	size_t n = 0, cap = 0;
	dd_sink ids = {0};
	const lm_doc *doc;
	while ((doc = docs_next(d))) {
		if (n == cap) e = xrealloc(e, (cap = cap * 2 + 4096) * sizeof *e);
		if (n >= UINT32_MAX - 1) die("%s: at most %u documents in one run", in, UINT32_MAX - 2);
		ex_doc *x = &e[n];
		x->exact = mh_normalize(&mh, doc->text, doc->text_len);
		x->tie = dd_line_hash(doc->line, doc->line_len);
		x->lineno = twice ? doc->lineno : (long long)n + 1;
		x->has_id = doc->id != NULL;
		x->key = doc->id ? XXH3_64bits_withSeed(doc->id, doc->id_len, 1)
		                 : XXH3_64bits_withSeed(doc->text, doc->text_len, 2);
		x->id_off = ids.n, x->id_len = 0;
		if (rm && doc->id) {
			if (doc->id_len > UINT32_MAX) die("an id of %zu bytes is too long", doc->id_len);
			x->id_len = (uint32_t)doc->id_len;
			dd_sink_write(&ids, doc->id, doc->id_len);
		}
		if (copy && (fwrite(doc->line, 1, doc->line_len, copy) != doc->line_len || putc('\n', copy) == EOF))
			die_errno("%s", tmpl);
		n++;
	}
	*bytes = docs_bytes(d), *bad = docs_bad(d);
	docs_close(d);
	mh_free(&mh);
	if (copy && fflush(copy)) die_errno("%s", tmpl);

	/* each group of equal exact hashes keeps its least member */
	uint32_t *ord = xmalloc((n + 1) * sizeof *ord), *survivor = xmalloc((n + 1) * sizeof *survivor);
	for (size_t i = 0; i < n; i++) ord[i] = (uint32_t)i, survivor[i] = UINT32_MAX;
	qsort_r(ord, n, sizeof *ord, ex_cmp, e);
	for (size_t i = 0, j; i < n; i = j) {
		for (j = i + 1; j < n && e[ord[j]].exact == e[ord[i]].exact; j++) survivor[ord[j]] = ord[i];
		if (j - i > 1) st->clusters++, st->removed += j - i - 1;
	}
	st->docs = (long long)n, st->exact = st->removed;
	free(ord);

	/* the second pass copies the survivors' lines, in input order */
	d = docs_open(twice ? in : spool_path, twice ? plain : 1, 0);
	dd_sink rec = {0};
	if (rm) rec.out = rm;
	const char *line;
	size_t len, k = 0;
	long long lineno;
	while (k < n && (line = docs_line(d, &len, &lineno))) {
		if (lineno != e[k].lineno) continue;
		uint32_t s = survivor[k];
		if (s == UINT32_MAX) {
			out_write(out, line, len);
			out_write(out, "\n", 1);
		} else if (rm) {
			dd_sink_write(&rec, "{\"id\":", 6);
			ex_id(&rec, &e[k], ids.p);
			uint64_t kt[2] = {e[s].key, e[s].tie};   /* as the clusters stage names a cluster */
			char c[64];
			int m = snprintf(c, sizeof c, ",\"cluster\":\"%016llx\",\"survivor\":", (unsigned long long)XXH3_64bits(kt, 16));
			dd_sink_write(&rec, c, m);
			ex_id(&rec, &e[s], ids.p);
			dd_sink_write(&rec, ",\"reason\":\"exact\"}\n", 19);
		}
		k++;
	}
	docs_close(d);
	if (k != n) die("%s: changed while it was read", in);
	if (copy) fclose(copy);
	free(e), free(survivor), free(ids.p);
}
