/* lm-dedup: drop exact and near-duplicate documents (MinHash, LSH banding),
 * in one stream or in sharded stages that give the same result. */
#include "dedup.h"
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char *USAGE =
	"[--exact] [-n ngram] [-t threshold] [-p] [--skip-bad] [-v] [--tmpdir dir] [-o out] [--removed file] [input]\n"
	"       lm-dedup sig [--exact] [-n ngram] [-p] [--skip-bad] -o sigfile [input]\n"
	"       lm-dedup clusters [-t threshold] [--mem size] [--tmpdir dir] [-v] -o clusters sigfile ...\n"
	"       lm-dedup filter -c clusters -s shard [-p] [--skip-bad] [-o out] [--removed file] [input]";

static struct {
	int exact, ngram, plain, skip_bad, verbose, shard;
	double threshold;
	size_t mem;
	const char *out, *removed, *tmpdir, *clusters;
} opt = { .ngram = MH_NGRAM, .threshold = 0.75, .mem = (size_t)1 << 30, .shard = -1, .out = "-" };

static size_t parse_size(const char *o, const char *s) {
	char *end;
	double v = strtod(s, &end);
	double m = 1;
	switch (*end) {
	case 'k': case 'K': m = 1 << 10; end++; break;
	case 'm': case 'M': m = 1 << 20; end++; break;
	case 'g': case 'G': m = 1 << 30; end++; break;
	}
	if (end == s || *end || v <= 0) die("%s: not a size: '%s' (bytes, or with K, M or G)", o, s);
	return (size_t)(v * m);
}

enum { O_EXACT = 256, O_SKIP, O_REMOVED, O_MEM, O_TMPDIR };

static int parse(int argc, char **argv, const char *allowed) {
	static const struct option lo[] = {
		{"exact", no_argument, 0, O_EXACT}, {"plain", no_argument, 0, 'p'},
		{"skip-bad", no_argument, 0, O_SKIP}, {"removed", required_argument, 0, O_REMOVED},
		{"mem", required_argument, 0, O_MEM}, {"tmpdir", required_argument, 0, O_TMPDIR},
		{"output", required_argument, 0, 'o'}, {"threshold", required_argument, 0, 't'},
		{"ngram", required_argument, 0, 'n'}, {"verbose", no_argument, 0, 'v'},
		{"clusters", required_argument, 0, 'c'}, {"shard", required_argument, 0, 's'},
		{0, 0, 0, 0}};
	int c;
	while ((c = getopt_long(argc, argv, "o:t:n:vc:s:p", lo, NULL)) != -1) {
		const char *name = NULL;
		for (const struct option *p = lo; p->name; p++) if (p->val == c) name = p->name;
		if (c == '?' || (name && !strstr(allowed, name))) {
			if (c != '?') warnx_("--%s does not apply here", name);
			usage_exit(USAGE);
		}
		switch (c) {
		case O_EXACT: opt.exact = 1; break;
		case 'p': opt.plain = 1; break;
		case O_SKIP: opt.skip_bad = 1; break;
		case O_REMOVED: opt.removed = optarg; break;
		case O_MEM: opt.mem = parse_size("--mem", optarg); break;
		case O_TMPDIR: opt.tmpdir = optarg; break;
		case 'o': opt.out = optarg; break;
		case 'v': opt.verbose = 1; break;
		case 'c': opt.clusters = optarg; break;
		case 's': opt.shard = (int)parse_int("-s", optarg); break;
		case 'n':
			opt.ngram = (int)parse_int("-n", optarg);
			if (opt.ngram < 1 || opt.ngram > MH_MAXNGRAM) die("-n: n-gram length must be 1 to %d", MH_MAXNGRAM);
			break;
		case 't':
			opt.threshold = parse_float("-t", optarg);
			if (!(opt.threshold > 0 && opt.threshold <= 1)) die("-t: threshold must be in (0, 1]");
			break;
		}
	}
	return optind;
}

static void report(const dd_stats *st, double t0, long long bytes, long long bad) {
	if (!opt.verbose) return;
	double dt = now_sec() - t0;
	fprintf(stderr, "%s: %lld documents, %lld removed (%lld exact, %lld near) in %lld clusters",
	        lm_progname, st->docs, st->removed, st->exact, st->near, st->clusters);
	if (bytes >= 0) fprintf(stderr, "; %.1f MB in %.2f s (%.1f MB/s)", bytes / 1e6, dt, bytes / 1e6 / (dt > 0 ? dt : 1e-9));
	if (st->runs) fprintf(stderr, "; %lld sort runs on disk", st->runs);
	if (bad) fprintf(stderr, "; %lld bad lines skipped", bad);
	fputc('\n', stderr);
}

/* Copy the survivors to out and the removed records to rm, checking the input
 * is what the clusters were computed from. */
static void run_filter(dd_filter *f, lm_docs *d, const char *in, lm_out *out, lm_out *rm) {
	const lm_doc *doc;
	const char *line;
	size_t len;
	while ((doc = docs_next(d))) {
		if (dd_filter_next(f, doc->line, doc->line_len, &line, &len)) {
			if (rm) out_write(rm, line, len);
		} else {
			docs_write(out, doc, NULL, 0);
		}
	}
	const char *why = dd_filter_check(f);
	if (*why) die("%s: %s", in, why);
}

static int cmd_stream(int argc, char **argv) {
	int i = parse(argc, argv, "exact plain skip-bad removed output threshold ngram verbose tmpdir");
	if (argc - i > 1) usage_exit(USAGE);
	const char *in = i < argc ? argv[i] : "-";
	double t0 = now_sec();
	lm_out *out = out_open(opt.out, -1), *rm = opt.removed ? out_open(opt.removed, -1) : NULL;
	if (opt.exact) {
		/* the same result as the stages, in two passes over the input instead of all of it in memory */
		dd_stats st;
		long long bytes, bad;
		dd_exact(in, opt.plain, opt.skip_bad, opt.tmpdir, out, rm, &st, &bytes, &bad);
		if (rm) out_close(rm);
		out_close(out);
		report(&st, t0, bytes, bad);
		return 0;
	}
	lm_docs *d = docs_open(in, opt.plain, opt.skip_bad);
	dd_sink sig = {0}, clu = {0};
	dd_sigw *w = dd_sigw_open(&sig, opt.exact, opt.ngram);
	/* the whole input stays in memory: the survivors are known only at the end */
	dd_sink lines = {0};
	size_t nat = 0, capat = 1024, *at = xmalloc(capat * sizeof *at);
	const lm_doc *doc;
	while ((doc = docs_next(d))) {
		dd_sigw_add(w, doc);
		if (nat + 1 >= capat) at = xrealloc(at, (capat = capat * 2 + 1024) * sizeof *at);
		at[nat++] = lines.n;
		dd_sink_write(&lines, doc->line, doc->line_len);
	}
	at[nat] = lines.n;
	long long bytes = docs_bytes(d), bad = docs_bad(d);
	docs_close(d);
	dd_sigw_close(w);
	dd_sig *s = dd_sig_mem(sig.p, sig.n, in);
	dd_stats st;
	dd_clusters(&s, 1, opt.threshold, (size_t)-1 / 4, opt.tmpdir, &clu, &st);
	dd_sig_close(s);
	free(sig.p);
	dd_filter *f = dd_filter_open(NULL, clu.p, clu.n, 0);
	const char *line;
	size_t len;
	for (size_t k = 0; k < nat; k++) {
		const char *l = lines.p + at[k];
		size_t n = at[k + 1] - at[k];
		if (dd_filter_next(f, l, n, &line, &len)) {
			if (rm) out_write(rm, line, len);
		} else {
			out_write(out, l, n);
			out_write(out, "\n", 1);
		}
	}
	dd_filter_close(f);
	free(clu.p);
	free(lines.p);
	free(at);
	if (rm) out_close(rm);
	out_close(out);
	report(&st, t0, bytes, bad);
	return 0;
}

static int cmd_sig(int argc, char **argv) {
	opt.out = NULL;
	int i = parse(argc, argv, "exact plain skip-bad output ngram verbose");
	if (argc - i > 1 || !opt.out) usage_exit(USAGE);
	const char *in = i < argc ? argv[i] : "-";
	lm_out *out = out_open(opt.out, 0);
	dd_sink sink = { .out = out };
	lm_docs *d = docs_open(in, opt.plain, opt.skip_bad);
	dd_sigw *w = dd_sigw_open(&sink, opt.exact, opt.ngram);
	const lm_doc *doc;
	long long n = 0;
	double t0 = now_sec();
	while ((doc = docs_next(d))) dd_sigw_add(w, doc), n++;
	long long bytes = docs_bytes(d), bad = docs_bad(d);
	docs_close(d);
	dd_sigw_close(w);
	out_close(out);
	if (opt.verbose) {
		double dt = now_sec() - t0;
		fprintf(stderr, "%s: %lld documents, %.1f MB in %.2f s (%.1f MB/s)", lm_progname, n, bytes / 1e6, dt,
		        bytes / 1e6 / (dt > 0 ? dt : 1e-9));
		if (bad) fprintf(stderr, "; %lld bad lines skipped", bad);
		fputc('\n', stderr);
	}
	return 0;
}

static int cmd_clusters(int argc, char **argv) {
	opt.out = NULL;
	int i = parse(argc, argv, "output threshold mem tmpdir verbose");
	if (i >= argc || !opt.out) usage_exit(USAGE);
	double t0 = now_sec();
	int n = argc - i;
	dd_sig **s = xmalloc(n * sizeof *s);
	for (int k = 0; k < n; k++) s[k] = dd_sig_open(argv[i + k]);
	lm_out *out = out_open(opt.out, 0);
	dd_sink sink = { .out = out };
	dd_stats st;
	dd_clusters(s, n, opt.threshold, opt.mem, opt.tmpdir, &sink, &st);
	out_close(out);
	for (int k = 0; k < n; k++) dd_sig_close(s[k]);
	free(s);
	report(&st, t0, -1, 0);
	return 0;
}

static int cmd_filter(int argc, char **argv) {
	int i = parse(argc, argv, "plain skip-bad removed output clusters shard");
	if (argc - i > 1 || !opt.clusters || opt.shard < 0) usage_exit(USAGE);
	const char *in = i < argc ? argv[i] : "-";
	dd_filter *f = dd_filter_open(opt.clusters, NULL, 0, opt.shard);
	lm_out *out = out_open(opt.out, -1), *rm = opt.removed ? out_open(opt.removed, -1) : NULL;
	lm_docs *d = docs_open(in, opt.plain, opt.skip_bad);
	run_filter(f, d, in, out, rm);
	docs_close(d);
	dd_filter_close(f);
	if (rm) out_close(rm);
	out_close(out);
	return 0;
}

int main(int argc, char **argv) {
	lm_init(argc, argv);
	std_options(argc, argv, USAGE);
	if (argc > 1 && !strcmp(argv[1], "sig")) return cmd_sig(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "clusters")) return cmd_clusters(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "filter")) return cmd_filter(argc - 1, argv + 1);
	return cmd_stream(argc, argv);
}
