/* lm-dedup's near-duplicate quality against brute force: a corpus from the
 * planting generator (tests/gen_neardup.c) goes through the same stages as
 * `lm-dedup` (sig, clusters, filter, in memory), and every pair of documents
 * sharing a 5-gram gets its exact Jaccard similarity computed from the 5-gram
 * sets (defined as in minhash.h, normalization included).
 *
 *   recall:    of the pairs with Jaccard >= 0.8, the share that end in one
 *              cluster (so at most one of the two survives)
 *   precision: of the removed documents, the share that have Jaccard >= 0.7
 *              with some member of their cluster: removals that rest on a
 *              real near-duplicate link. lm-dedup confirms a candidate pair
 *              at an estimated Jaccard >= 0.75 (-t); 0.7 leaves room for the
 *              estimate's sampling error (112 rows: about +-0.04)
 * See docs/DEDUP.md "Quality". */
#define GEN_NO_MAIN
#include "../gen_neardup.c"
#include "dedup.h"
#include "tap.h"
#include <unistd.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

typedef struct sh { uint64_t h; uint32_t doc; } sh;
typedef struct pair { uint32_t a, b; float j; } pair;

static int sh_cmp(const void *x, const void *y) {
	const sh *a = x, *b = y;
	if (a->h != b->h) return a->h < b->h ? -1 : 1;
	return (a->doc > b->doc) - (a->doc < b->doc);
}
static int pair_cmp(const void *x, const void *y) {
	const pair *a = x, *b = y;
	if (a->a != b->a) return a->a < b->a ? -1 : 1;
	return (a->b > b->b) - (a->b < b->b);
}

int main(void) {
	const long N = 6000;
	char path[] = "/tmp/lmkit-dedupq.XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0) { perror("mkstemp"); return 1; }
	FILE *f = fdopen(fd, "w");
	gen_corpus(f, N, 7, 120, 0.0, NULL);
	fclose(f);

	/* sig stage, and each document's set of 5-gram hashes */
	lm_docs *d = docs_open(path, 0, 0);
	dd_sink sig = {0}, clu = {0};
	dd_sigw *w = dd_sigw_open(&sig, 0, MH_NGRAM);
	mh_ctx mh;
	mh_init(&mh, MH_NGRAM);
	sh *sets = NULL;
	size_t nsets = 0, capsets = 0;
	uint32_t *setlen = calloc(N, sizeof *setlen);
	long *genid = calloc(N, sizeof *genid), *pos = calloc(N, sizeof *pos);
	const lm_doc *doc;
	uint32_t n = 0;
	while ((doc = docs_next(d))) {
		dd_sigw_add(w, doc);
		char idt[32];   /* "doc-K"; ids are not NUL-terminated */
		snprintf(idt, sizeof idt, "%.*s", (int)doc->id_len, doc->id);
		genid[n] = strtol(idt + 4, NULL, 10);
		pos[genid[n]] = n;
		mh_normalize(&mh, doc->text, doc->text_len);
		size_t k = mh.nword >= MH_NGRAM ? MH_NGRAM : mh.nword, m = mh.nword - k + 1;
		if (nsets + m > capsets) sets = realloc(sets, (capsets = (nsets + m) * 2) * sizeof *sets);
		size_t start = nsets;
		for (size_t i = 0; i < m; i++) sets[nsets++] = (sh){ XXH3_64bits(mh.word + i, k * 8), n };
		qsort(sets + start, m, sizeof *sets, sh_cmp);
		size_t u = start;   /* distinct 5-grams only */
		for (size_t i = start; i < nsets; i++) if (i == start || sets[i].h != sets[u - 1].h) sets[u++] = sets[i];
		nsets = u;
		setlen[n] = (uint32_t)(u - start);
		n++;
	}
	docs_close(d);
	dd_sigw_close(w);
	ok(n == N, "%u documents read", n);

	dd_sig *s = dd_sig_mem(sig.p, sig.n, "sig");
	dd_stats st;
	dd_clusters(&s, 1, 0.75, (size_t)1 << 34, NULL, &clu, &st);
	dd_filter *fl = dd_filter_open(NULL, clu.p, clu.n, 0);
	d = docs_open(path, 0, 0);
	uint32_t *cluster = calloc(N, sizeof *cluster);
	char *removed = calloc(N, 1);
	long nremoved = 0;
	for (uint32_t i = 0; (doc = docs_next(d)); i++) {
		const char *rm;
		size_t rmlen;
		cluster[i] = i;
		if (dd_filter_next(fl, doc->line, doc->line_len, &rm, &rmlen)) {
			const char *p = strstr(rm, "\"survivor\":\"doc-");
			if (!p) { ok(0, "removed record names its survivor: %.*s", (int)rmlen, rm); unlink(path); return done_testing(); }
			cluster[i] = (uint32_t)pos[strtol(p + 16, NULL, 10)];
			removed[i] = 1;
			nremoved++;
		}
	}
	docs_close(d);
	ok(!*dd_filter_check(fl), "filter accepts the corpus it was made from");
	dd_filter_close(fl);
	int surv_ok = 1;
	for (uint32_t i = 0; i < n; i++) if (removed[i] && removed[cluster[i]]) surv_ok = 0;
	ok(surv_ok, "every survivor named in a removed record is kept");

	/* brute force: pairs sharing a 5-gram, their intersections, their Jaccard */
	qsort(sets, nsets, sizeof *sets, sh_cmp);
	pair *pairs = NULL;
	size_t np = 0, cap = 0;
	for (size_t i = 0, j; i < nsets; i = j) {
		for (j = i + 1; j < nsets && sets[j].h == sets[i].h; j++) {}
		for (size_t a = i; a < j; a++)
			for (size_t b = a + 1; b < j; b++) {
				if (np == cap) pairs = realloc(pairs, (cap = cap * 2 + 4096) * sizeof *pairs);
				pairs[np++] = (pair){ sets[a].doc, sets[b].doc, 0 };
			}
	}
	qsort(pairs, np, sizeof *pairs, pair_cmp);
	size_t nu = 0;
	for (size_t i = 0, j; i < np; i = j) {
		for (j = i + 1; j < np && pairs[j].a == pairs[i].a && pairs[j].b == pairs[i].b; j++) {}
		double inter = (double)(j - i);
		pairs[nu] = pairs[i];
		pairs[nu++].j = (float)(inter / (setlen[pairs[i].a] + setlen[pairs[i].b] - inter));
	}
	long want = 0, found = 0, bins[11] = {0}, binfound[11] = {0};
	char *just7 = calloc(N, 1), *just75 = calloc(N, 1), *just8 = calloc(N, 1);
	for (size_t i = 0; i < nu; i++) {
		pair *p = &pairs[i];
		int same = cluster[p->a] == cluster[p->b];
		if (p->j >= 0.8f) want++, found += same;
		if (p->j >= 0.5f) {   /* the S-curve, in steps of 0.05, for docs/DEDUP.md */
			int bin = p->j >= 1.0f ? 10 : (int)((p->j - 0.5f) / 0.05f);
			bins[bin]++, binfound[bin] += same;
		}
		if (same && p->j >= 0.7f) just7[p->a] = just7[p->b] = 1;
		if (same && p->j >= 0.75f) just75[p->a] = just75[p->b] = 1;
		if (same && p->j >= 0.8f) just8[p->a] = just8[p->b] = 1;
	}
	long good7 = 0, good75 = 0, good8 = 0;
	for (uint32_t i = 0; i < n; i++) if (removed[i]) good7 += just7[i], good75 += just75[i], good8 += just8[i];
	double recall = want ? (double)found / want : 0, prec = nremoved ? (double)good7 / nremoved : 0;
	printf("# %ld removed (%lld exact, %lld near); %zu pairs share a 5-gram, %ld have J >= 0.8\n",
	       nremoved, st.exact, st.near, nu, want);
	for (int b = 0; b < 11; b++)
		if (b < 10) printf("# pairs in one cluster, J in [%.2f,%.2f): %ld/%ld\n", 0.5 + 0.05 * b, 0.55 + 0.05 * b, binfound[b], bins[b]);
		else printf("# pairs in one cluster, J = 1: %ld/%ld\n", binfound[b], bins[b]);
	printf("# stricter precisions, for information: a cluster-mate at J >= 0.75: %.4f, at J >= 0.8: %.4f\n",
	       nremoved ? (double)good75 / nremoved : 0, nremoved ? (double)good8 / nremoved : 0);
	ok(want > 500, "the generator planted enough pairs at J >= 0.8 (%ld)", want);
	ok(recall >= 0.95, "recall at J >= 0.8: %.4f (%ld/%ld)", recall, found, want);
	ok(prec >= 0.98, "precision (a cluster-mate at J >= 0.7): %.4f (%ld/%ld)", prec, good7, nremoved);

	unlink(path);
	dd_sig_close(s);
	free(sig.p), free(clu.p), free(sets), free(setlen), free(genid), free(pos), free(cluster), free(removed);
	free(pairs), free(just7), free(just75), free(just8);
	mh_free(&mh);
	return done_testing();
}
