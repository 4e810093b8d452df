/* lm-clean: drop low-quality documents and scrub PII from a JSONL stream. */
#include "clean.h"
#include "docs.h"
#include "util.h"
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char USAGE[] =
	"[-pvz] [--skip-bad] [-o out] [-r rejects] [--no-RULE]... [--only RULE[,RULE]...]\n"
	"       [-s RULE.NAME=VALUE]... [--list] [file]";

/* the rules and their parameters with the values in force (after any -s) */
static void list_params(const cleaner *c) {
	for (int r = 0; r < R_N; r++) {
		printf("%s%s\n", clean_rule_name[r], clean_enabled(c, r) ? "" : " (off)");
		for (int i = 0; i < clean_nparams; i++) {
			const clean_param *p = &clean_params[i];
			if (p->rule != r) continue;
			char name[64], val[32];
			snprintf(name, sizeof name, "%s.%s", clean_rule_name[r], p->name);
			double v = clean_get(c, clean_rule_name[r], p->name);
			if (isnan(v)) snprintf(val, sizeof val, "off");
			else snprintf(val, sizeof val, "%g", v);
			printf("  %-34s %-8s %s\n", name, val, p->what);
		}
	}
}

/* one JSON line per dropped document: where it was, which check, what it measured */
static void put_reject(lm_out *o, const lm_doc *d, const clean_result *r) {
	out_printf(o, "{\"id\":");
	if (d->id) json_put_string(o, d->id, d->id_len);
	else out_printf(o, "null");
	out_printf(o, ",\"line\":%lld,\"rule\":\"%s\",\"check\":\"%s\",\"value\":%.6g}\n",
	           d->lineno, clean_rule_name[r->rule], r->check, isfinite(r->value) ? r->value : 0);
}

int main(int argc, char **argv) {
	lm_init(argc, argv);
	std_options(argc, argv, USAGE);
	enum { O_SKIP = 256, O_ONLY, O_LIST, O_NO };
	static struct option opts[] = {
		{"output", required_argument, 0, 'o'},
		{"rejects", required_argument, 0, 'r'},
		{"set", required_argument, 0, 's'},
		{"plain", no_argument, 0, 'p'},
		{"verbose", no_argument, 0, 'v'},
		{"gzip", no_argument, 0, 'z'},
		{"skip-bad", no_argument, 0, O_SKIP},
		{"only", required_argument, 0, O_ONLY},
		{"list", no_argument, 0, O_LIST},
		{"no-utf8", no_argument, 0, O_NO + R_UTF8},
		{"no-gopher-repetition", no_argument, 0, O_NO + R_GOPHER_REP},
		{"no-gopher-quality", no_argument, 0, O_NO + R_GOPHER_QUAL},
		{"no-c4", no_argument, 0, O_NO + R_C4},
		{"no-fineweb", no_argument, 0, O_NO + R_FINEWEB},
		{"no-pii", no_argument, 0, O_NO + R_PII},
		{0, 0, 0, 0},
	};
	const char *out_path = "-", *rej_path = NULL;
	int plain = 0, verbose = 0, gz = -1, skip_bad = 0, list = 0, ch;
	cleaner *c = clean_new();
	while ((ch = getopt_long(argc, argv, "o:r:s:pvz", opts, NULL)) != -1) {
		switch (ch) {
		case 'o': out_path = optarg; break;
		case 'r': rej_path = optarg; break;
		case 's': {
			const char *err = clean_set(c, optarg);
			if (err) die("-s %s: %s", optarg, err);
			break;
		}
		case 'p': plain = 1; break;
		case 'v': verbose = 1; break;
		case 'z': gz = 1; break;
		case O_SKIP: skip_bad = 1; break;
		case O_LIST: list = 1; break;
		case O_ONLY: {
			for (int r = 0; r < R_N; r++) clean_enable(c, clean_rule_name[r], 0);
			char *s = xstrdup(optarg), *save = NULL;
			for (char *t = strtok_r(s, ",", &save); t; t = strtok_r(NULL, ",", &save))
				if (!clean_enable(c, t, 1)) die("--only: unknown rule '%s'", t);
			free(s);
			break;
		}
		default:
			if (ch >= O_NO && ch < O_NO + R_N) { clean_enable(c, clean_rule_name[ch - O_NO], 0); break; }
			usage_exit(USAGE);
		}
	}
	if (list) { list_params(c); clean_free(c); return 0; }
	if (argc - optind > 1) usage_exit(USAGE);
	const char *in_path = optind < argc ? argv[optind] : "-";

	clean_want_reasons(c, rej_path || verbose);
	lm_docs *in = docs_open(in_path, plain, skip_bad);
	lm_out *out = out_open(out_path, gz);
	lm_out *rej = rej_path ? out_open(rej_path, -1) : NULL;
	long long docs = 0, kept = 0, changed = 0, repaired = 0, bytes_out = 0, pii[3] = {0};
	long long dropped[R_N] = {0};
	double t0 = now_sec();
	clean_result r;
	const lm_doc *d;
	while ((d = docs_next(in))) {
		docs++;
		clean_doc(c, d->text, d->text_len, &r);
		repaired += r.utf8_repaired;
		for (int k = 0; k < 3; k++) pii[k] += r.pii[k];
		if (!r.kept) {
			dropped[r.rule]++;
			if (rej) put_reject(rej, d, &r);
			continue;
		}
		kept++;
		changed += r.changed;
		docs_write(out, d, r.changed ? r.text : NULL, r.len);
		bytes_out += r.len;
	}
	long long bytes_in = docs_bytes(in), bad = docs_bad(in);
	docs_close(in);
	if (rej) out_close(rej);
	out_close(out);
	if (verbose) {
		double dt = now_sec() - t0;
		fprintf(stderr, "%s: %lld documents, %lld kept, %lld changed, %lld bad lines skipped\n",
		        lm_progname, docs, kept, changed, bad);
		for (int k = 0; k < R_N; k++)
			if (clean_enabled(c, k) && k != R_UTF8 && k != R_PII)
				fprintf(stderr, "%s:   %-18s dropped %lld\n", lm_progname, clean_rule_name[k], dropped[k]);
		fprintf(stderr, "%s:   %-18s repaired %lld\n", lm_progname, "utf8", repaired);
		fprintf(stderr, "%s:   %-18s replaced %lld e-mail, %lld IP, %lld phone\n", lm_progname, "pii",
		        pii[0], pii[1], pii[2]);
		fprintf(stderr, "%s: %lld bytes in, %lld text bytes out, %.1f MB/s\n", lm_progname, bytes_in,
		        bytes_out, dt > 0 ? bytes_in / dt / 1e6 : 0);
	}
	clean_free(c);
	return 0;
}
