/*
 * bow: the shallow baseline for preference pairs. A pairwise logistic model
 * (Bradley-Terry) on the bag of words of each reply and its length:
 *
 *   P(chosen beats rejected) = sigmoid(w . (f(chosen) - f(rejected)))
 *
 * f(reply) holds the count of each lowercased word ([a-z0-9] runs) and the
 * number of words / 10. The dialogue is the same on both sides of a pair, so
 * its words would cancel in the difference; the model sees the replies only.
 *
 *   bow [-p PERCENT] [-s SEED] [FILE]
 *
 * Trains on the pairs whose "split" is "train" (a pair without one counts as
 * train) and tests on those whose split is "eval"; with -p, trains on a random
 * PERCENT of the train pairs (drawn with SEED) and tests on the rest. Prints one
 * JSON line: pairs trained on and tested, the L2 weight chosen, and accuracy on
 * the test pairs overall, by rating, by kind and by variant (a pair whose two
 * sides score the same counts one half). The L2 weight is the one of a small
 * grid that scores best on a fifth of the training pairs held back, then the
 * model is trained again on all of them. Deterministic: its own RNG, a fixed
 * order of floating-point operations. C11, libc and libm only, so that the
 * sample pipeline can build it with cc as it builds gen.c.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *prog = "bow", *path = "-";

static void die(const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "%s: %s: ", prog, path);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static void *xrealloc(void *p, size_t n) {
	p = realloc(p, n ? n : 1);
	if (!p) die("out of memory");
	return p;
}

static char *xstrdup(const char *s) {
	size_t n = strlen(s) + 1;
	return memcpy(xrealloc(NULL, n), s, n);
}

/* ---------------------------------------------------------------- JSON
 * Enough of JSON for a pair's line: the members wanted are strings at the top
 * level; anything else is parsed and skipped. */

typedef struct { const char *p; long line; } In;

static void ws(In *in) { while (*in->p == ' ' || *in->p == '\t' || *in->p == '\r' || *in->p == '\n') in->p++; }

static void bad(In *in, const char *what) { die("line %ld: %s", in->line, what); }

static void put_utf8(char **o, unsigned c) {
	unsigned char *u = (unsigned char *)*o;
	if (c < 0x80) *u++ = c;
	else if (c < 0x800) *u++ = 0xc0 | c >> 6, *u++ = 0x80 | (c & 0x3f);
	else if (c < 0x10000) *u++ = 0xe0 | c >> 12, *u++ = 0x80 | (c >> 6 & 0x3f), *u++ = 0x80 | (c & 0x3f);
	else *u++ = 0xf0 | c >> 18, *u++ = 0x80 | (c >> 12 & 0x3f), *u++ = 0x80 | (c >> 6 & 0x3f), *u++ = 0x80 | (c & 0x3f);
	*o = (char *)u;
}

static unsigned hex4(In *in) {
	unsigned v = 0;
	for (int i = 0; i < 4; i++, in->p++) {
		int c = *in->p;
		if (!isxdigit(c)) bad(in, "bad \\u escape");
		v = v * 16 + (unsigned)(isdigit(c) ? c - '0' : tolower(c) - 'a' + 10);
	}
	return v;
}

/* A string at in->p (the opening quote), decoded into a new buffer. */
static char *str(In *in) {
	if (*in->p != '"') bad(in, "expected a string");
	const char *s = ++in->p;
	char *out = xrealloc(NULL, strlen(s) + 1), *o = out;
	for (;;) {
		unsigned char c = (unsigned char)*in->p++;
		if (c == '"') break;
		if (c < 0x20) bad(in, c ? "control character in a string" : "unterminated string");
		if (c != '\\') { *o++ = (char)c; continue; }
		c = (unsigned char)*in->p++;
		switch (c) {
		case '"': case '\\': case '/': *o++ = (char)c; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case 'u': {
			unsigned u = hex4(in);
			if (u >= 0xd800 && u < 0xdc00 && in->p[0] == '\\' && in->p[1] == 'u') {
				in->p += 2;
				unsigned lo = hex4(in);
				if (lo < 0xdc00 || lo >= 0xe000) bad(in, "bad surrogate pair");
				u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
			}
			put_utf8(&o, u);
			break;
		}
		default: bad(in, "bad escape");
		}
	}
	*o = 0;
	return out;
}

static void skip_value(In *in, int depth) {
	ws(in);
	if (depth > 64) bad(in, "nested too deep");
	if (*in->p == '"') { free(str(in)); return; }
	if (*in->p == '{' || *in->p == '[') {
		char close = *in->p == '{' ? '}' : ']';
		in->p++;
		ws(in);
		if (*in->p == close) { in->p++; return; }
		for (;;) {
			if (close == '}') {
				ws(in);
				free(str(in));
				ws(in);
				if (*in->p++ != ':') bad(in, "expected ':'");
			}
			skip_value(in, depth + 1);
			ws(in);
			if (*in->p == ',') { in->p++; continue; }
			if (*in->p++ != close) bad(in, "expected ',' or the end of an object or array");
			return;
		}
	}
	const char *s = in->p;
	if (!strncmp(s, "true", 4)) in->p += 4;
	else if (!strncmp(s, "false", 5)) in->p += 5;
	else if (!strncmp(s, "null", 4)) in->p += 4;
	else {
		char *e;
		strtod(s, &e);
		if (e == s) bad(in, "not JSON");
		in->p = e;
	}
}

/* ---------------------------------------------------------------- pairs */

enum { SPLIT, KIND, RATING, VARIANT, CHOSEN, REJECTED, NMEMBERS };
static const char *member[NMEMBERS] = {"split", "kind", "rating", "variant", "chosen", "rejected"};

typedef struct { int *w; double *x; int n; } Sparse; /* feature index and value, sorted by index */
typedef struct { char *m[NMEMBERS]; Sparse d; int train; } Pair;

static void parse_pair(In *in, Pair *pr) {
	memset(pr, 0, sizeof *pr);
	ws(in);
	if (*in->p++ != '{') bad(in, "not an object");
	ws(in);
	if (*in->p == '}') in->p++;
	else
		for (;;) {
			ws(in);
			char *k = str(in);
			ws(in);
			if (*in->p++ != ':') bad(in, "expected ':'");
			ws(in);
			int which = -1;
			for (int i = 0; i < NMEMBERS; i++)
				if (!strcmp(k, member[i])) which = i;
			free(k);
			if (which < 0) {
				skip_value(in, 0);
			} else {
				if (*in->p != '"') die("line %ld: \"%s\" is not a string", in->line, member[which]);
				free(pr->m[which]);
				pr->m[which] = str(in);
			}
			ws(in);
			if (*in->p == ',') { in->p++; continue; }
			if (*in->p++ != '}') bad(in, "expected ',' or '}'");
			break;
		}
	ws(in);
	if (*in->p) bad(in, "text after the object");
	for (int i = KIND; i < NMEMBERS; i++)
		if (!pr->m[i] && i != VARIANT) die("line %ld: no \"%s\"", in->line, member[i]);
	if (!pr->m[VARIANT]) pr->m[VARIANT] = xstrdup("");
}

/* ---------------------------------------------------------------- features */

typedef struct { char **word; int n, cap; int *slot; int nslot; } Vocab;

static uint64_t hash(const char *s) {
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* The index of a word, added when new; index 0 is the length feature. */
static int word_id(Vocab *v, const char *w) {
	if (2 * (v->n + 1) >= v->nslot) {
		int ns = v->nslot ? 2 * v->nslot : 1024;
		int *s = xrealloc(NULL, ns * sizeof *s);
		for (int i = 0; i < ns; i++) s[i] = -1;
		for (int i = 0; i < v->n; i++) {
			uint64_t h = hash(v->word[i]) & (uint64_t)(ns - 1);
			while (s[h] >= 0) h = (h + 1) & (uint64_t)(ns - 1);
			s[h] = i;
		}
		free(v->slot);
		v->slot = s;
		v->nslot = ns;
	}
	uint64_t h = hash(w) & (uint64_t)(v->nslot - 1);
	for (; v->slot[h] >= 0; h = (h + 1) & (uint64_t)(v->nslot - 1))
		if (!strcmp(v->word[v->slot[h]], w)) return v->slot[h] + 1;
	if (v->n == v->cap) v->word = xrealloc(v->word, (v->cap = v->cap ? 2 * v->cap : 1024) * sizeof *v->word);
	v->word[v->n] = xstrdup(w);
	v->slot[h] = v->n;
	return ++v->n;
}

typedef struct { int w; double x; } Feat;

static int cmp_feat(const void *a, const void *b) {
	const Feat *x = a, *y = b;
	return (x->w > y->w) - (x->w < y->w);
}

/* f(chosen) - f(rejected), summed by index, zeros dropped. */
static Sparse pair_diff(Vocab *v, const char *chosen, const char *rejected) {
	Feat *f = NULL;
	int n = 0, cap = 0;
	const char *side[2] = {chosen, rejected};
	char w[256];
	for (int s = 0; s < 2; s++) {
		double sign = s ? -1 : 1;
		int words = 0;
		for (const unsigned char *p = (const unsigned char *)side[s]; *p;) {
			if (!isalnum(*p) || *p >= 0x80) { p++; continue; }
			size_t k = 0;
			for (; *p < 0x80 && isalnum(*p); p++)
				if (k + 1 < sizeof w) w[k++] = (char)tolower(*p);
			w[k] = 0;
			if (n + 1 >= cap) f = xrealloc(f, (cap = cap ? 2 * cap : 64) * sizeof *f);
			f[n++] = (Feat){word_id(v, w), sign};
			words++;
		}
		if (n + 1 >= cap) f = xrealloc(f, (cap = cap ? 2 * cap : 64) * sizeof *f);
		f[n++] = (Feat){0, sign * words / 10.0};
	}
	qsort(f, n, sizeof *f, cmp_feat);
	Sparse d = {xrealloc(NULL, n * sizeof(int)), xrealloc(NULL, n * sizeof(double)), 0};
	for (int i = 0; i < n;) {
		double x = 0;
		int j = i;
		for (; j < n && f[j].w == f[i].w; j++) x += f[j].x;
		if (x != 0) d.w[d.n] = f[i].w, d.x[d.n] = x, d.n++;
		i = j;
	}
	free(f);
	return d;
}

static double dot(const double *w, Sparse d) {
	double s = 0;
	for (int i = 0; i < d.n; i++) s += w[d.w[i]] * d.x[i];
	return s;
}

/* ---------------------------------------------------------------- RNG, model */

static uint64_t rnext(uint64_t *s) {
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void shuffle(uint64_t *s, int *a, int n) {
	for (int i = n - 1; i > 0; i--) {
		int j = (int)(rnext(s) % (uint64_t)(i + 1)), t = a[i];
		a[i] = a[j];
		a[j] = t;
	}
}

/* Minimises the mean of -log sigmoid(w . d) + l2/2 |w|^2 over the pairs by
 * full-batch gradient descent with Nesterov momentum: the loss is smooth and
 * convex, and a fixed order of sums keeps the result the same on every run. */
static void fit(double *w, int dim, Pair **ps, int n, double l2) {
	double *g = xrealloc(NULL, dim * sizeof *g), *v = xrealloc(NULL, dim * sizeof *v), *y = xrealloc(NULL, dim * sizeof *y);
	memset(w, 0, dim * sizeof *w);
	memset(v, 0, dim * sizeof *v);
	/* the step: 1/L, L bounding the curvature (max |d|^2 / 4 + l2) */
	double maxsq = 0;
	for (int i = 0; i < n; i++) {
		double sq = 0;
		for (int k = 0; k < ps[i]->d.n; k++) sq += ps[i]->d.x[k] * ps[i]->d.x[k];
		if (sq > maxsq) maxsq = sq;
	}
	double lr = 1 / (maxsq / 4 + l2);
	for (int it = 0; it < 2000; it++) {
		for (int j = 0; j < dim; j++) y[j] = w[j] + 0.9 * v[j];
		for (int j = 0; j < dim; j++) g[j] = l2 * y[j];
		for (int i = 0; i < n; i++) {
			double z = dot(y, ps[i]->d), s = -1 / (1 + exp(z)) / n; /* d/dz of -log sigmoid(z), over n */
			for (int k = 0; k < ps[i]->d.n; k++) g[ps[i]->d.w[k]] += s * ps[i]->d.x[k];
		}
		for (int j = 0; j < dim; j++) {
			v[j] = 0.9 * v[j] - lr * g[j];
			w[j] += v[j];
		}
	}
	free(g), free(v), free(y);
}

/* 1 when the model ranks the chosen reply higher, 0.5 on a tie */
static double right(const double *w, Pair *p) {
	double z = dot(w, p->d);
	return z > 0 ? 1 : z < 0 ? 0 : 0.5;
}

/* ---------------------------------------------------------------- report */

typedef struct { char *name; double right; int n; } Tally;
typedef struct { Tally *t; int n; } Tallies;

static void tally(Tallies *ts, const char *name, double r) {
	int i = 0;
	while (i < ts->n && strcmp(ts->t[i].name, name)) i++;
	if (i == ts->n) {
		ts->t = xrealloc(ts->t, (ts->n + 1) * sizeof *ts->t);
		ts->t[ts->n++] = (Tally){xstrdup(name), 0, 0};
	}
	ts->t[i].right += r;
	ts->t[i].n++;
}

static int cmp_tally(const void *a, const void *b) { return strcmp(((const Tally *)a)->name, ((const Tally *)b)->name); }

static void json_str(const char *s) {
	putchar('"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p == '"' || *p == '\\') printf("\\%c", *p);
		else if (*p < 0x20) printf("\\u%04x", *p);
		else putchar(*p);
	putchar('"');
}

static void print_tallies(const char *key, Tallies *ts, const char *const *order, int norder) {
	printf(", \"%s\": {", key);
	if (!order) qsort(ts->t, ts->n, sizeof *ts->t, cmp_tally);
	int k = 0;
	for (int o = 0; o < (order ? norder : ts->n); o++) {
		Tally *t = NULL;
		for (int i = 0; i < ts->n; i++)
			if (order ? !strcmp(ts->t[i].name, order[o]) : i == o) t = &ts->t[i];
		if (!t) continue;
		printf("%s", k++ ? ", " : "");
		json_str(t->name);
		printf(": {\"n\": %d, \"accuracy\": %.4f}", t->n, t->right / t->n);
	}
	printf("}");
}

static const char *const RATINGS[] = {"significantly better", "better", "slightly better", "negligibly better"};

int main(int argc, char **argv) {
	int pct = 0, c;
	uint64_t seed = 1;
	while ((c = getopt(argc, argv, "p:s:")) != -1) {
		char *e;
		if (c == 'p') {
			pct = (int)strtol(optarg, &e, 10);
			if (*e || pct < 1 || pct > 99) { fprintf(stderr, "%s: -p wants a percentage from 1 to 99\n", prog); return 2; }
		} else if (c == 's') {
			seed = strtoull(optarg, &e, 10);
			if (*e || !*optarg) { fprintf(stderr, "%s: -s wants a number\n", prog); return 2; }
		} else {
			fprintf(stderr, "usage: %s [-p PERCENT] [-s SEED] [FILE]\n", prog);
			return 2;
		}
	}
	if (argc - optind > 1) { fprintf(stderr, "usage: %s [-p PERCENT] [-s SEED] [FILE]\n", prog); return 2; }
	if (optind < argc) path = argv[optind];
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	if (!f) die("%s", strerror(errno));

	Vocab v = {0};
	Pair *pairs = NULL;
	int n = 0, cap = 0;
	char *line = NULL;
	size_t lcap = 0;
	long lineno = 0;
	while (getline(&line, &lcap, f) > 0) {
		In in = {line, ++lineno};
		ws(&in);
		if (!*in.p) continue;
		if (n == cap) pairs = xrealloc(pairs, (cap = cap ? 2 * cap : 1024) * sizeof *pairs);
		Pair *p = &pairs[n++];
		parse_pair(&in, p);
		const char *sp = p->m[SPLIT] ? p->m[SPLIT] : "train";
		if (strcmp(sp, "train") && strcmp(sp, "eval")) die("line %ld: split \"%s\"", lineno, sp);
		p->train = !strcmp(sp, "train");
		int known = 0;
		for (int r = 0; r < 4; r++) known |= !strcmp(p->m[RATING], RATINGS[r]);
		if (!known) die("line %ld: rating \"%s\"", lineno, p->m[RATING]);
		p->d = pair_diff(&v, p->m[CHOSEN], p->m[REJECTED]);
	}
	if (ferror(f)) die("%s", strerror(errno));
	if (f != stdin) fclose(f);
	free(line);

	/* train and test sets */
	Pair **tr = xrealloc(NULL, (n + 1) * sizeof *tr), **te = xrealloc(NULL, (n + 1) * sizeof *te);
	int ntr = 0, nte = 0;
	if (pct) {
		int *idx = xrealloc(NULL, (n + 1) * sizeof *idx), m = 0;
		for (int i = 0; i < n; i++)
			if (pairs[i].train) idx[m++] = i;
		uint64_t s = seed;
		shuffle(&s, idx, m);
		int cut = (int)((int64_t)m * pct / 100);
		for (int i = 0; i < m; i++) *(i < cut ? &tr[ntr++] : &te[nte++]) = &pairs[idx[i]];
		free(idx);
	} else {
		for (int i = 0; i < n; i++) *(pairs[i].train ? &tr[ntr++] : &te[nte++]) = &pairs[i];
	}
	if (ntr < 5 || nte < 1) die("%d pairs to train on and %d to test: too few", ntr, nte);

	/* the L2 weight: the best of the grid on a fifth of the training pairs */
	int dim = v.n + 1;
	double *w = xrealloc(NULL, dim * sizeof *w);
	static const double GRID[] = {1e-4, 1e-3, 1e-2, 1e-1};
	Pair **sub = xrealloc(NULL, ntr * sizeof *sub), **val = xrealloc(NULL, ntr * sizeof *val);
	{
		int *idx = xrealloc(NULL, ntr * sizeof *idx), ns = 0, nv = 0;
		for (int i = 0; i < ntr; i++) idx[i] = i;
		uint64_t s = seed ^ 0x5bd1e995;
		shuffle(&s, idx, ntr);
		for (int i = 0; i < ntr; i++) *(i < ntr / 5 ? &val[nv++] : &sub[ns++]) = tr[idx[i]];
		double best = -1, l2 = GRID[0];
		for (int g = 0; g < (int)(sizeof GRID / sizeof *GRID); g++) {
			fit(w, dim, sub, ns, GRID[g]);
			double r = 0;
			for (int i = 0; i < nv; i++) r += right(w, val[i]);
			if (r > best) best = r, l2 = GRID[g];
		}
		free(idx);
		fit(w, dim, tr, ntr, l2);
		printf("{\"train\": %d, \"test\": %d, \"l2\": %g", ntr, nte, l2);
	}

	double all = 0;
	Tallies rt = {0}, kt = {0}, vt = {0};
	for (int i = 0; i < nte; i++) {
		double r = right(w, te[i]);
		all += r;
		tally(&rt, te[i]->m[RATING], r);
		tally(&kt, te[i]->m[KIND], r);
		if (*te[i]->m[VARIANT]) tally(&vt, te[i]->m[VARIANT], r);
	}
	printf(", \"accuracy\": %.4f", all / nte);
	print_tallies("ratings", &rt, RATINGS, 4);
	print_tallies("kinds", &kt, NULL, 0);
	if (vt.n) print_tallies("variants", &vt, NULL, 0);
	printf("}\n");
	if (fflush(stdout) || ferror(stdout)) die("write error");
	return 0;
}
