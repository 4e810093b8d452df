/* gen_neardup: a synthetic JSONL corpus with near-duplicates planted at known
 * Jaccard similarities of word 5-gram sets, for lm-dedup's tests and bench.
 *
 *   gen_neardup [-n docs] [-s seed] [-w words] [-m no-id-fraction] [-l]
 *
 * Base documents are random words (a Zipf-like pick from a fixed synthetic
 * vocabulary). About 40% of them get 1 to 3 variants, each made by replacing
 * random words until the share of changed 5-grams gives the target Jaccard
 * J = (S - m) / (S + m) for S 5-grams of which m changed; targets are drawn
 * from 0.5 ... 1.0. Every variant also gets formatting noise that lm-dedup's
 * normalization folds (capitals, punctuation, spaces, newlines), so J = 1.0
 * variants are exact duplicates after normalization. The output order is a
 * seeded shuffle. Deterministic: the same arguments give the same bytes (own
 * generator, no libc rand). Single-file C, built by the tests with $CC, or
 * #included with GEN_NO_MAIN by tests/unit/dedup_quality.c.
 * -l writes one extra line per document to stderr: "id<TAB>base<TAB>target J". */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GEN_VOCAB 20000
#define GEN_N 5

typedef struct gen_rng { uint64_t s; } gen_rng;
static uint64_t gen_u64(gen_rng *r) {   /* splitmix64 */
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}
static double gen_unif(gen_rng *r) { return (gen_u64(r) >> 11) * (1.0 / 9007199254740992.0); }
static uint32_t gen_below(gen_rng *r, uint32_t n) { return (uint32_t)(gen_unif(r) * n); }

typedef struct gen_doc { uint16_t *w; uint32_t n; int base; float target; } gen_doc;

static char gen_vocab[GEN_VOCAB][12];

static void gen_make_vocab(void) {
	gen_rng r = { 12345 };
	for (int i = 0; i < GEN_VOCAB; i++) {
		int len = 2 + gen_below(&r, 8);
		for (int k = 0; k < len; k++) gen_vocab[i][k] = 'a' + gen_below(&r, 26);
		gen_vocab[i][len] = 0;
	}
}

/* skewed towards low ranks like natural text, without making 5-grams repeat */
static uint16_t gen_word(gen_rng *r) {
	double u = gen_unif(r);
	return (uint16_t)(u * u * GEN_VOCAB);
}

/* Replace words of src until the changed 5-grams give Jaccard target. */
static void gen_variant(gen_rng *r, const gen_doc *src, gen_doc *v, double target) {
	v->n = src->n;
	v->w = malloc(v->n * sizeof *v->w);
	memcpy(v->w, src->w, v->n * sizeof *v->w);
	uint32_t S = src->n >= GEN_N ? src->n - GEN_N + 1 : 1;
	double want = S * (1 - target) / (1 + target);
	char *changed = calloc(S, 1);
	uint32_t m = 0;
	while (m + 0.5 < want) {
		uint32_t p = gen_below(r, v->n);
		uint16_t w;
		do w = gen_word(r); while (w == v->w[p]);
		v->w[p] = w;
		for (int64_t s = (int64_t)p - GEN_N + 1; s <= p; s++)
			if (s >= 0 && s < S && !changed[s]) changed[s] = 1, m++;
	}
	free(changed);
}

static void gen_print(FILE *f, gen_rng *r, const gen_doc *d, long id, int noisy) {
	if (id >= 0) fprintf(f, "{\"id\":\"doc-%ld\",\"text\":\"", id);
	else fprintf(f, "{\"text\":\"");
	for (uint32_t i = 0; i < d->n; i++) {
		const char *w = gen_vocab[d->w[i]];
		if (i) {
			if (noisy && gen_below(r, 20) == 0) fputs(gen_below(r, 2) ? "  " : "\\n", f);
			else fputc(' ', f);
		}
		if (noisy && gen_below(r, 10) == 0) {
			fputc(w[0] - 32, f);   /* capitalized */
			fputs(w + 1, f);
		} else {
			fputs(w, f);
		}
		if (noisy && gen_below(r, 12) == 0) fputs(gen_below(r, 2) ? "," : ".", f);
	}
	fprintf(f, "\",\"meta\":{\"base\":%d}}\n", d->base);
}

static const float gen_targets[] = { 0.5f, 0.6f, 0.7f, 0.75f, 0.8f, 0.85f, 0.9f, 0.95f, 1.0f };

/* ndocs documents of about words words each to f; no_id: share without "id". */
static void gen_corpus(FILE *f, long ndocs, uint64_t seed, int words, double no_id, FILE *log) {
	gen_make_vocab();
	gen_rng r = { seed };
	gen_doc *d = calloc(ndocs, sizeof *d);
	long n = 0, nbase = 0;
	while (n < ndocs) {
		gen_doc *b = &d[n++];
		b->n = words / 2 + gen_below(&r, words + 1);
		b->w = malloc(b->n * sizeof *b->w);
		for (uint32_t i = 0; i < b->n; i++) b->w[i] = gen_word(&r);
		b->base = (int)nbase++;
		b->target = 0;
		if (gen_unif(&r) < 0.4) {
			int k = 1 + gen_below(&r, 3);
			for (int j = 0; j < k && n < ndocs; j++) {
				float t = gen_targets[gen_below(&r, sizeof gen_targets / sizeof *gen_targets)];
				gen_variant(&r, b, &d[n], t);
				d[n].base = b->base;
				d[n].target = t;
				n++;
			}
		}
	}
	long *order = malloc(ndocs * sizeof *order);
	for (long i = 0; i < ndocs; i++) order[i] = i;
	for (long i = ndocs - 1; i > 0; i--) {
		long j = (long)gen_below(&r, (uint32_t)(i + 1));
		long t = order[i]; order[i] = order[j]; order[j] = t;
	}
	for (long i = 0; i < ndocs; i++) {
		gen_doc *x = &d[order[i]];
		long id = gen_unif(&r) < no_id ? -1 : order[i];
		gen_print(f, &r, x, id, x->target > 0);
		if (log) fprintf(log, "%ld\t%d\t%.2f\n", id, x->base, x->target);
	}
	for (long i = 0; i < ndocs; i++) free(d[i].w);
	free(d);
	free(order);
}

#ifndef GEN_NO_MAIN
int main(int argc, char **argv) {
	long ndocs = 1000;
	uint64_t seed = 1;
	int words = 200, log = 0;
	double no_id = 0.1;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-l")) { log = 1; continue; }
		if (i + 1 >= argc) goto usage;
		if (!strcmp(argv[i], "-n")) ndocs = atol(argv[++i]);
		else if (!strcmp(argv[i], "-s")) seed = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "-w")) words = atoi(argv[++i]);
		else if (!strcmp(argv[i], "-m")) no_id = atof(argv[++i]);
		else goto usage;
	}
	if (ndocs < 1 || words < 2) goto usage;
	static char buf[1 << 16];
	setvbuf(stdout, buf, _IOFBF, sizeof buf);
	gen_corpus(stdout, ndocs, seed, words, no_id, log ? stderr : NULL);
	return fflush(stdout) != 0;
usage:
	fprintf(stderr, "usage: gen_neardup [-n docs] [-s seed] [-w words] [-m no-id-fraction] [-l]\n");
	return 2;
}
#endif
