#include "extsort.h"
#include "util.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct run {
	off_t off;            /* next unread byte of the run in the file */
	size_t left;          /* records not yet read into buf */
	char *buf;
	size_t n, pos;        /* records in buf, next one */
} run;

struct xsort {
	size_t rs, mem, cap, n, bufcap;
	xs_cmp cmp;
	char *buf;            /* unsorted records */
	unsigned *idx;        /* their sorted order */
	char *tmpdir;
	int fd;               /* the runs, one after another */
	off_t fsize;
	run *runs;
	size_t nruns, nruns_cap;
	int reading;
	size_t next;          /* in-memory reading: position in idx */
	run **heap;           /* merge: runs by their current record */
	size_t nheap, bufrecs;
	int pending;          /* heap[0]'s record was handed out */
};

static xs_cmp cur_cmp;   /* qsort's comparator has no context argument in C11 */
static const char *cur_buf;
static size_t cur_rs;
static int idx_cmp(const void *a, const void *b) {
	unsigned i = *(const unsigned *)a, j = *(const unsigned *)b;
	int c = cur_cmp(cur_buf + (size_t)i * cur_rs, cur_buf + (size_t)j * cur_rs);
	return c ? c : (i > j) - (i < j);   /* stable, so equal records keep their order */
}

xsort *xs_new(size_t recsize, xs_cmp cmp, size_t mem, const char *tmpdir) {
	xsort *s = xcalloc(1, sizeof *s);
	s->rs = recsize;
	s->cmp = cmp;
	s->mem = mem;
	/* a record, its index, and qsort's scratch copy of the index */
	s->cap = mem / (recsize + 2 * sizeof(unsigned));
	if (s->cap < 256) die("--mem %zu bytes is too small to sort %zu-byte records", mem, recsize);
	if (s->cap > 1u << 31) s->cap = 1u << 31;
	s->fd = -1;
	const char *t = tmpdir ? tmpdir : getenv("TMPDIR");
	s->tmpdir = xstrdup(t && *t ? t : "/tmp");
	return s;
}

static void sort_buffer(xsort *s) {
	s->idx = xrealloc(s->idx, (s->n + 1) * sizeof *s->idx);
	for (size_t i = 0; i < s->n; i++) s->idx[i] = (unsigned)i;
	cur_cmp = s->cmp, cur_buf = s->buf, cur_rs = s->rs;
	qsort(s->idx, s->n, sizeof *s->idx, idx_cmp);
}

static void write_all(xsort *s, const void *p, size_t n) {
	while (n) {
		ssize_t w = write(s->fd, p, n);
		if (w < 0) { if (errno == EINTR) continue; die_errno("%s: temporary sort file", s->tmpdir); }
		p = (const char *)p + w, n -= w;
	}
}

static void spill(xsort *s) {
	if (s->fd < 0) {
		size_t n = strlen(s->tmpdir) + 32;
		char *path = xmalloc(n);
		snprintf(path, n, "%s/lmkit-sort.XXXXXX", s->tmpdir);
		s->fd = mkstemp(path);
		if (s->fd < 0) die_errno("%s", path);
		unlink(path);   /* nothing is left behind, whatever happens */
		free(path);
	}
	sort_buffer(s);
	char out[1 << 16];
	size_t per = sizeof out / s->rs, k = 0;
	if (!per) per = 1;
	char *o = per * s->rs <= sizeof out ? out : xmalloc(s->rs);
	for (size_t i = 0; i < s->n; i++) {
		memcpy(o + k * s->rs, s->buf + (size_t)s->idx[i] * s->rs, s->rs);
		if (++k == per) { write_all(s, o, k * s->rs); k = 0; }
	}
	if (k) write_all(s, o, k * s->rs);
	if (o != out) free(o);
	if (s->nruns == s->nruns_cap) s->runs = xrealloc(s->runs, (s->nruns_cap = s->nruns_cap * 2 + 8) * sizeof *s->runs);
	s->runs[s->nruns++] = (run){ .off = s->fsize, .left = s->n };
	s->fsize += (off_t)(s->n * s->rs);
	s->n = 0;
}

void xs_add(xsort *s, const void *rec) {
	if (s->reading) die("xs_add after reading started");
	if (s->n == s->cap) spill(s);
	if (s->n == s->bufcap) {   /* grown as needed: mem is a bound, not an allocation */
		s->bufcap = s->bufcap ? s->bufcap * 2 : 4096;
		if (s->bufcap > s->cap) s->bufcap = s->cap;
		s->buf = xrealloc(s->buf, s->bufcap * s->rs);
	}
	memcpy(s->buf + s->n * s->rs, rec, s->rs);
	s->n++;
}

static int refill(xsort *s, run *r) {
	if (r->pos < r->n) return 1;
	if (!r->left) return 0;
	size_t k = r->left < s->bufrecs ? r->left : s->bufrecs;
	size_t want = k * s->rs, got = 0;
	while (got < want) {
		ssize_t g = pread(s->fd, r->buf + got, want - got, r->off + (off_t)got);
		if (g < 0) { if (errno == EINTR) continue; die_errno("%s: temporary sort file", s->tmpdir); }
		if (g == 0) die("%s: temporary sort file is short", s->tmpdir);
		got += g;
	}
	r->off += (off_t)want, r->left -= k, r->n = k, r->pos = 0;
	return 1;
}

static int run_less(xsort *s, run *a, run *b) {
	int c = s->cmp(a->buf + a->pos * s->rs, b->buf + b->pos * s->rs);
	return c < 0 || (c == 0 && a < b);   /* earlier runs first: the merge is stable */
}

static void sift_down(xsort *s, size_t i) {
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		if (l < s->nheap && run_less(s, s->heap[l], s->heap[m])) m = l;
		if (l + 1 < s->nheap && run_less(s, s->heap[l + 1], s->heap[m])) m = l + 1;
		if (m == i) return;
		run *t = s->heap[i]; s->heap[i] = s->heap[m]; s->heap[m] = t;
		i = m;
	}
}

static void start_reading(xsort *s) {
	s->reading = 1;
	if (!s->nruns) {
		if (s->n) sort_buffer(s);
		return;
	}
	if (s->n) spill(s);
	free(s->buf); s->buf = NULL; s->bufcap = 0;
	free(s->idx); s->idx = NULL;
	s->bufrecs = s->mem / s->nruns / s->rs;
	if (s->bufrecs < 16) s->bufrecs = 16;   /* very many runs: a little over mem rather than crawl */
	s->heap = xmalloc(s->nruns * sizeof *s->heap);
	for (size_t i = 0; i < s->nruns; i++) {
		s->runs[i].buf = xmalloc(s->bufrecs * s->rs);
		if (refill(s, &s->runs[i])) s->heap[s->nheap++] = &s->runs[i];
	}
	for (size_t i = s->nheap; i-- > 0;) sift_down(s, i);
}

const void *xs_next(xsort *s) {
	if (!s->reading) start_reading(s);
	if (!s->nruns) return s->next < s->n ? s->buf + (size_t)s->idx[s->next++] * s->rs : NULL;
	/* the record handed out last is consumed only now, so it stayed valid until this call */
	if (s->pending) {
		run *r = s->heap[0];
		s->pending = 0;
		if (++r->pos >= r->n && !refill(s, r)) s->heap[0] = s->heap[--s->nheap];
		if (s->nheap) sift_down(s, 0);
	}
	if (!s->nheap) return NULL;
	s->pending = 1;
	return s->heap[0]->buf + s->heap[0]->pos * s->rs;
}

size_t xs_runs(const xsort *s) { return s->nruns; }

void xs_free(xsort *s) {
	if (!s) return;
	if (s->fd >= 0) close(s->fd);
	for (size_t i = 0; i < s->nruns; i++) free(s->runs[i].buf);
	free(s->runs);
	free(s->heap);
	free(s->buf);
	free(s->idx);
	free(s->tmpdir);
	free(s);
}
