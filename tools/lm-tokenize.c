/* lm-tokenize: text or JSONL documents to token ids (a token shard or id
 * lines), and back with -d. Documents are encoded in parallel batches and
 * written in input order, so the output does not depend on -j. */
#include "chat.h"
#include "docs.h"
#include "shard.h"
#include "tokenizer.h"
#include "util.h"
#include <getopt.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *USAGE =
	"-m model [-j threads] [--jsonl] [--eos] [--no-bos] [-o shard] [file ...]\n"
	"       lm-tokenize -d -m model [--jsonl] [-o output] [file ...]\n"
	"       lm-tokenize --chat [--last-only] [--skip-bad] -m model [-o shard] [file]";

#define BATCH_BYTES (8u << 20)
#define BATCH_DOCS 65536

typedef struct batch {
	char *text; size_t text_n, text_cap;
	size_t *off, *len;
	int32_t **ids; size_t *n, *cap;
	char **fmt; size_t *fmt_n, *fmt_cap;   /* id lines, formatted in parallel too */
	size_t ndocs;
} batch;

static int jsonl, add_eos, no_bos;
static lm_tokenizer *tok;

static void progress(double bytes, double t0) {
	if (!isatty(2)) return;
	double dt = now_sec() - t0;
	fprintf(stderr, "\r%s: %.1f MB, %.1f MB/s ", lm_progname, bytes / 1e6, dt > 0 ? bytes / 1e6 / dt : 0);
}

/* Decimal ids joined by spaces and a newline, into *buf (grown as needed). */
static size_t format_ids(char **buf, size_t *cap, const int32_t *ids, size_t n) {
	if (*cap < 12 * n + 2) *buf = xrealloc(*buf, *cap = 12 * n + 64);
	char *p = *buf;
	for (size_t i = 0; i < n; i++) {
		char tmp[12];
		int t = 0;
		uint32_t v = (uint32_t)ids[i];
		do tmp[t++] = '0' + v % 10; while (v /= 10);
		if (i) *p++ = ' ';
		while (t) *p++ = tmp[--t];
	}
	*p++ = '\n';
	return p - *buf;
}

static void flush_batch(batch *b, lm_shard_writer *sw, lm_out *o) {
	#pragma omp parallel for schedule(dynamic, 16)
	for (size_t d = 0; d < b->ndocs; d++) {
		b->n[d] = tok_encode(tok, b->text + b->off[d], b->len[d], !no_bos, add_eos, &b->ids[d], &b->cap[d]);
		if (!sw) b->fmt_n[d] = format_ids(&b->fmt[d], &b->fmt_cap[d], b->ids[d], b->n[d]);
	}
	for (size_t d = 0; d < b->ndocs; d++) {
		if (sw) {
			/* an empty document has no tokens to train on and no place in a shard */
			if (b->n[d]) shard_add_doc(sw, b->ids[d], NULL, b->n[d]);
		} else {
			out_write(o, b->fmt[d], b->fmt_n[d]);
		}
		/* do not let one huge document pin its buffers for the rest of the run */
		if (b->cap[d] > (1u << 20)) { free(b->ids[d]); b->ids[d] = NULL; b->cap[d] = 0; }
		if (b->fmt_cap[d] > (1u << 22)) { free(b->fmt[d]); b->fmt[d] = NULL; b->fmt_cap[d] = 0; }
	}
	b->ndocs = 0;
	b->text_n = 0;
}

static void encode(int nfiles, char **files, const char *outpath) {
	batch b = { 0 };
	b.off = xcalloc(BATCH_DOCS, sizeof *b.off);
	b.len = xcalloc(BATCH_DOCS, sizeof *b.len);
	b.ids = xcalloc(BATCH_DOCS, sizeof *b.ids);
	b.n = xcalloc(BATCH_DOCS, sizeof *b.n);
	b.cap = xcalloc(BATCH_DOCS, sizeof *b.cap);
	b.fmt = xcalloc(BATCH_DOCS, sizeof *b.fmt);
	b.fmt_n = xcalloc(BATCH_DOCS, sizeof *b.fmt_n);
	b.fmt_cap = xcalloc(BATCH_DOCS, sizeof *b.fmt_cap);
	lm_shard_writer *sw = outpath ? shard_create(outpath, (uint32_t)tok_vocab_size(tok), 0) : NULL;
	lm_out *o = outpath ? NULL : out_open("-", 0);
	double bytes = 0, t0 = now_sec();
	for (int f = 0; f < nfiles; f++) {
		lm_docs *in = docs_open(files[f], !jsonl, 0);
		const lm_doc *doc;
		while ((doc = docs_next(in))) {
			if (!b.text || b.text_n + doc->text_len > b.text_cap) {
				b.text_cap = (b.text_n + doc->text_len) * 2 + 4096;
				b.text = xrealloc(b.text, b.text_cap);
			}
			memcpy(b.text + b.text_n, doc->text, doc->text_len);
			b.off[b.ndocs] = b.text_n;
			b.len[b.ndocs++] = doc->text_len;
			b.text_n += doc->text_len;
			bytes += doc->text_len;
			if (b.ndocs == BATCH_DOCS || b.text_n >= BATCH_BYTES) {
				flush_batch(&b, sw, o);
				progress(bytes, t0);
			}
		}
		docs_close(in);
	}
	flush_batch(&b, sw, o);
	if (sw) shard_finish(sw);
	else out_close(o);
	if (isatty(2)) fputc('\n', stderr);
	for (size_t d = 0; d < BATCH_DOCS; d++) { free(b.ids[d]); free(b.fmt[d]); }
	free(b.fmt); free(b.fmt_n); free(b.fmt_cap);
	free(b.ids); free(b.n); free(b.cap); free(b.off); free(b.len); free(b.text);
}

static void write_text(lm_out *o, const char *s, size_t n) {
	if (jsonl) {
		out_write(o, "{\"text\":", 8);
		json_put_string(o, s, n);
		out_write(o, "}\n", 2);
	} else {
		out_write(o, s, n);
		out_write(o, "\n", 1);
	}
}

static void decode_shard(lm_shard *s, lm_out *o) {
	if ((int)s->vocab_size > tok_vocab_size(tok))
		die("%s: shard vocabulary %u is larger than the model's %d", s->path, s->vocab_size, tok_vocab_size(tok));
	int32_t *ids = NULL;
	size_t cap = 0;
	for (uint64_t d = 0; d < s->n_docs; d++) {
		uint64_t a = s->doc_start[d], e = shard_doc_end(s, d);
		if (e - a > cap) ids = xrealloc(ids, (cap = (e - a) * 2) * sizeof *ids);
		for (uint64_t i = a; i < e; i++) ids[i - a] = (int32_t)shard_token(s, i);
		size_t len;
		char *text = tok_decode(tok, ids, e - a, &len);
		write_text(o, text, len);
		free(text);
	}
	free(ids);
}

/* One line of ids (NUL-terminated) decoded to a line of text. */
static void decode_line(const char *path, long long lineno, const char *p, lm_out *o,
			int32_t **ids, size_t *cap) {
	size_t n = 0;
	int vocab = tok_vocab_size(tok);
	char *end;
	for (;;) {
		while (*p == ' ' || *p == '\t') p++;
		if (!*p) break;
		long v = strtol(p, &end, 10);
		if (end == p || (*end && *end != ' ' && *end != '\t'))
			die("%s:%lld: not a token id: '%.20s'", path, lineno, p);
		if (v < 0 || v >= vocab)
			die("%s:%lld: token id %ld out of range (vocabulary of %d)", path, lineno, v, vocab);
		if (n == *cap) *ids = xrealloc(*ids, (*cap = *cap * 2 + 64) * sizeof **ids);
		(*ids)[n++] = (int32_t)v;
		p = end;
	}
	size_t len;
	char *text = tok_decode(tok, *ids, n, &len);
	write_text(o, text, len);
	free(text);
}

static void decode_ids(const char *path, lm_out *o) {
	lm_in *in = in_open(path);
	int32_t *ids = NULL;
	size_t cap = 0;
	while (in_line(in)) decode_line(path, in->lineno, in->buf, o, &ids, &cap);
	in_close(in);
	free(ids);
}

/* Id lines already read into memory (standard input); buf is modified. */
static void decode_ids_mem(char *buf, size_t len, lm_out *o) {
	int32_t *ids = NULL;
	size_t cap = 0;
	long long lineno = 0;
	for (size_t a = 0; a < len;) {
		char *nl = memchr(buf + a, '\n', len - a);
		size_t e = nl ? (size_t)(nl - buf) : len;
		buf[e] = 0;   /* read_file leaves room for the NUL past the end */
		if (e > a && buf[e - 1] == '\r') buf[e - 1] = 0;
		decode_line("-", ++lineno, buf + a, o, &ids, &cap);
		a = e + 1;
	}
	free(ids);
}

/* A shard is told from id lines by its magic. Standard input cannot be
 * peeked at, so a shard arriving on a pipe is spooled to a temporary file. */
static void decode(int nfiles, char **files, const char *outpath) {
	lm_out *o = out_open(outpath ? outpath : "-", -1);
	for (int f = 0; f < nfiles; f++) {
		const char *path = files[f];
		char magic[8] = { 0 };
		if (strcmp(path, "-")) {
			FILE *fp = fopen(path, "rb");
			if (!fp) die_errno("%s", path);
			size_t got = fread(magic, 1, 8, fp);
			fclose(fp);
			if (got == 8 && !memcmp(magic, SHARD_MAGIC, 8)) {
				lm_shard *s = shard_open(path);
				decode_shard(s, o);
				shard_close(s);
			} else {
				decode_ids(path, o);
			}
			continue;
		}
		size_t len;
		char *buf = read_file("-", &len);
		if (len < 8 || memcmp(buf, SHARD_MAGIC, 8)) {
			decode_ids_mem(buf, len, o);
			free(buf);
			continue;
		}
		/* shard_open maps files: give it an unlinked temporary, so that
		 * nothing is left behind whatever happens */
		const char *dir = getenv("TMPDIR");
		char tmp[4096], fdpath[64];
		snprintf(tmp, sizeof tmp, "%s/lm-tokenize.XXXXXX", dir && *dir ? dir : "/tmp");
		int fd = mkstemp(tmp);
		if (fd < 0) die_errno("%s", tmp);
		unlink(tmp);
		for (size_t w = 0; w < len;) {
			ssize_t r = write(fd, buf + w, len - w);
			if (r < 0) die_errno("%s", tmp);
			w += (size_t)r;
		}
		free(buf);
		snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", fd);
		lm_shard *sh = shard_open(fdpath);
		close(fd);
		free(sh->path);
		sh->path = xstrdup("-");
		decode_shard(sh, o);
		shard_close(sh);
	}
	out_close(o);
}

int main(int argc, char **argv) {
	lm_init(argc, argv);
	std_options(argc, argv, USAGE);
	enum { OPT_JSONL = 256, OPT_EOS, OPT_NO_BOS, OPT_CHAT, OPT_LAST_ONLY, OPT_SKIP_BAD };
	static const struct option longopts[] = {
		{ "model", required_argument, 0, 'm' },
		{ "output", required_argument, 0, 'o' },
		{ "threads", required_argument, 0, 'j' },
		{ "decode", no_argument, 0, 'd' },
		{ "jsonl", no_argument, 0, OPT_JSONL },
		{ "eos", no_argument, 0, OPT_EOS },
		{ "no-bos", no_argument, 0, OPT_NO_BOS },
		{ "chat", no_argument, 0, OPT_CHAT },
		{ "last-only", no_argument, 0, OPT_LAST_ONLY },
		{ "skip-bad", no_argument, 0, OPT_SKIP_BAD },
		{ 0, 0, 0, 0 },
	};
	const char *model = NULL, *outpath = NULL;
	int dec = 0, threads = 0, chat = 0, last_only = 0, skip_bad = 0, c;
	while ((c = getopt_long(argc, argv, "m:o:j:d", longopts, NULL)) != -1) {
		switch (c) {
		case 'm': model = optarg; break;
		case 'o': outpath = optarg; break;
		case 'j':
			threads = (int)parse_int("-j", optarg);
			if (threads < 1) die("-j: must be at least 1");
			break;
		case 'd': dec = 1; break;
		case OPT_JSONL: jsonl = 1; break;
		case OPT_EOS: add_eos = 1; break;
		case OPT_NO_BOS: no_bos = 1; break;
		case OPT_CHAT: chat = 1; break;
		case OPT_LAST_ONLY: last_only = 1; break;
		case OPT_SKIP_BAD: skip_bad = 1; break;
		default: usage_exit(USAGE);
		}
	}
	if (!model) usage_exit(USAGE);
	if (dec && (add_eos || no_bos)) usage_exit(USAGE);
	if ((last_only || skip_bad) && !chat) usage_exit(USAGE);
	if (chat && (dec || jsonl || add_eos || no_bos || argc - optind > 1)) usage_exit(USAGE);
	if (threads) omp_set_num_threads(threads);
	tok = tok_load(model);
	static char *stdin_only[] = { "-" };
	int nfiles = argc - optind;
	char **files = nfiles ? argv + optind : stdin_only;
	if (!nfiles) nfiles = 1;
	if (chat) {
		/* Llama 2's chat template and loss mask: lib/chat/chat.c, docs/FORMATS.md */
		long long bad;
		chat_to_shard(tok, files[0], outpath ? outpath : "-", last_only, skip_bad, &bad);
		if (bad) warnx_("%s: skipped %lld malformed dialogues", files[0], bad);
	} else if (dec) decode(nfiles, files, outpath);
	else encode(nfiles, files, outpath);
	tok_free(tok);
	return 0;
}
