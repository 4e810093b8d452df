/* lm-sample: text from a model, many sequences decoded together (lib/chat/sample.c). */
#include "bf16.h"
#include "blas.h"
#include "checkpoint.h"
#include "sample.h"
#include "tokenizer.h"
#include "util.h"
#include <cjson/cJSON.h>
#include <ctype.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *USAGE =
	"[-jv] [-t temp] [-k top_k] [-P top_p] [-n tokens] [-c count] [-s seed] [-b batch]\n"
	"\t[--weights f32|bf16] [--device cpu|cuda] [--tokenizer FILE] [-p TEXT | -i PROMPTS.jsonl] [--ids] [-o OUT] MODEL";

/* CPU seconds of all the process's threads, steadier than wall time on a shared machine. */
static double cpu_sec(void) {
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct job {
	cJSON *line;        /* the input object (JSONL prompts), or NULL */
	char *prompt;       /* prompt text, or NULL when there is none */
	int32_t *ids;
	int n;
	/* the result */
	int32_t *out;
	int n_out, finished, stopped;
	double logprob;
} job;

/* Bytes as valid UTF-8: each byte that does not start a well-formed sequence
 * becomes U+FFFD, so a completion cut inside a character still makes valid JSON. */
static char *utf8_clean(const char *s, size_t n) {
	char *o = xmalloc(3 * n + 1), *p = o;
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
		int good = len > 0 && i + len <= n;
		for (int k = 1; good && k < len; k++) good = ((unsigned char)s[i + k] >> 6) == 2;
		if (good && len > 1) {
			unsigned cp = c & (0x7f >> len);
			for (int k = 1; k < len; k++) cp = cp << 6 | (s[i + k] & 0x3f);
			good = cp >= (len == 2 ? 0x80u : len == 3 ? 0x800u : 0x10000u) && cp <= 0x10ffff &&
			       (cp < 0xd800 || cp > 0xdfff);
		}
		if (good) { memcpy(p, s + i, len); p += len; i += len; }
		else { memcpy(p, "\xef\xbf\xbd", 3); p += 3; i++; }
	}
	*p = 0;
	return o;
}

/* The text of ids following prev, as tok_decode_piece gives it piece by piece. */
static char *decode(const lm_tokenizer *tk, int prev, const int32_t *ids, int n, int run_c, size_t *len) {
	size_t cap = 256, used = 0;
	char *s = xmalloc(cap), buf[16];
	for (int i = 0; i < n; i++) {
		size_t pl;
		const char *piece = tok_decode_piece(tk, prev, ids[i], buf, &pl);
		prev = ids[i];
		/* run.c's safe_printf: a lone byte that is neither printable nor space is dropped */
		if (run_c && pl == 1 && !(isprint((unsigned char)piece[0]) || isspace((unsigned char)piece[0])))
			continue;
		if (used + pl + 1 > cap) s = xrealloc(s, cap = 2 * (used + pl + 1));
		memcpy(s + used, piece, pl);
		used += pl;
	}
	s[used] = 0;
	*len = used;
	return s;
}

static void emit(lm_out *o, job *j, const lm_tokenizer *tk, int json, int ids_only, int first) {
	if (ids_only) {
		if (!first) out_write(o, "\n", 1);
		for (int i = 0; i < j->n_out; i++) out_printf(o, "%d\n", j->out[i]);
		return;
	}
	if (!json) {
		/* as run.c prints: the prompt after BOS, then the completion, then a newline */
		size_t a, b;
		char *p = decode(tk, -1, j->ids, j->n, 1, &a);
		char *c = decode(tk, j->ids[j->n - 1], j->out, j->n_out, 1, &b);
		out_write(o, p, a);
		out_write(o, c, b);
		out_write(o, "\n", 1);
		free(p); free(c);
		return;
	}
	cJSON *obj = j->line ? cJSON_Duplicate(j->line, 1) : cJSON_CreateObject();
	if (!j->line && j->prompt) cJSON_AddStringToObject(obj, "prompt", j->prompt);
	if (tk) {
		size_t n;
		char *raw = decode(tk, j->ids[j->n - 1], j->out, j->n_out, 0, &n), *text = utf8_clean(raw, n);
		cJSON_DeleteItemFromObjectCaseSensitive(obj, "completion");
		cJSON_AddStringToObject(obj, "completion", text);
		free(raw); free(text);
	}
	cJSON *arr = cJSON_CreateArray();
	for (int i = 0; i < j->n_out; i++) cJSON_AddItemToArray(arr, cJSON_CreateNumber(j->out[i]));
	cJSON_DeleteItemFromObjectCaseSensitive(obj, "ids");
	cJSON_AddItemToObject(obj, "ids", arr);
	cJSON_DeleteItemFromObjectCaseSensitive(obj, "logprob");
	cJSON_AddNumberToObject(obj, "logprob", j->logprob);
	cJSON_DeleteItemFromObjectCaseSensitive(obj, "finish");
	cJSON_AddStringToObject(obj, "finish", j->stopped ? "stop" : "length");
	char *s = cJSON_PrintUnformatted(obj);
	out_printf(o, "%s\n", s);
	free(s);
	cJSON_Delete(obj);
}

int main(int argc, char **argv) {
	lm_init(argc, argv);
	blas_init();
	std_options(argc, argv, USAGE);
	static const struct option opts[] = {
		{"temperature", required_argument, 0, 't'},
		{"top-k", required_argument, 0, 'k'},
		{"top-p", required_argument, 0, 'P'},
		{"tokens", required_argument, 0, 'n'},
		{"count", required_argument, 0, 'c'},
		{"seed", required_argument, 0, 's'},
		{"batch", required_argument, 0, 'b'},
		{"prompt", required_argument, 0, 'p'},
		{"input", required_argument, 0, 'i'},
		{"output", required_argument, 0, 'o'},
		{"json", no_argument, 0, 'j'},
		{"verbose", no_argument, 0, 'v'},
		{"tokenizer", required_argument, 0, 'T'},
		{"ids", no_argument, 0, 'I'},
		{"weights", required_argument, 0, 'W'},
		{"device", required_argument, 0, 'D'},
		{0, 0, 0, 0},
	};
	lm_sampling how = {.temperature = 1, .top_p = 1};
	long long n_new = 256, count = 1, seed = 42, batch = 64;
	const char *prompt = NULL, *input = NULL, *output = "-", *tok_path = NULL, *weights = "f32";
	int json = 0, verbose = 0, ids_only = 0, cuda = 0, c;
	while ((c = getopt_long(argc, argv, "t:k:P:n:c:s:b:p:i:o:jv", opts, NULL)) != -1) {
		switch (c) {
		case 't': how.temperature = parse_float("-t", optarg); break;
		case 'k': how.top_k = parse_int("-k", optarg); break;
		case 'P': how.top_p = parse_float("-P", optarg); break;
		case 'n': n_new = parse_int("-n", optarg); break;
		case 'c': count = parse_int("-c", optarg); break;
		case 's': seed = parse_int("-s", optarg); break;
		case 'b': batch = parse_int("-b", optarg); break;
		case 'p': prompt = optarg; break;
		case 'i': input = optarg; break;
		case 'o': output = optarg; break;
		case 'j': json = 1; break;
		case 'v': verbose = 1; break;
		case 'T': tok_path = optarg; break;
		case 'I': ids_only = 1; break;
		case 'W': weights = optarg; break;
		case 'D': cuda = parse_device(optarg); break;
		default: usage_exit(USAGE);
		}
	}
	if (argc - optind != 1) usage_exit(USAGE);
	if (!(how.temperature >= 0)) die("-t: temperature must be >= 0");
	if (how.top_k < 0) die("-k: top-k must be >= 0");
	if (!(how.top_p > 0 && how.top_p <= 1)) die("-P: top-p must be in (0, 1]");
	if (n_new < 1) die("-n: must be positive");
	if (count < 1) die("-c: must be positive");
	if (batch < 1 || batch > 4096) die("-b: batch size must be in [1, 4096]");
	if (prompt && input) die("-p and -i: give one");
	if (ids_only && json) die("--ids and -j: give one");
	if ((prompt || input) && !tok_path) die("prompts need --tokenizer");
	if (!tok_path && !ids_only && !json) die("text output needs --tokenizer (or use --ids or -j)");

	lm_model *m = model_load(argv[optind]);
	model_need_head(m, LM_HEAD_LM, argv[optind]);
	model_weights(m, weights, "--weights");
	lm_tokenizer *tk = tok_path ? tok_load(tok_path) : NULL;
	if (tk && tok_vocab_size(tk) != m->cfg.vocab_size)
		die("%s: %d tokens, but the model's vocabulary has %d", tok_path, tok_vocab_size(tk),
		    m->cfg.vocab_size);
	/* Llama's ids when there is no tokenizer to say */
	int32_t bos = tk ? tok_bos(tk) : 1, eos = tk ? tok_eos(tk) : 2;
	if (bos < 0) die("%s: the tokenizer has no BOS to start a sequence with", tok_path);

	/* all prompts first: the longest sizes the KV cache */
	job *jobs = NULL;
	size_t n_jobs = 0, cap = 0;
	lm_in *in = input ? in_open(input) : NULL;
	for (;;) {
		cJSON *line = NULL;
		const char *text = NULL;
		if (in) {
			if (!in_line(in)) break;
			if (!in->len) continue;
			line = cJSON_ParseWithLength(in->buf, in->len);
			cJSON *p = line ? cJSON_GetObjectItemCaseSensitive(line, "prompt") : NULL;
			if (!cJSON_IsObject(line)) die("%s:%lld: not a JSON object", input, in->lineno);
			if (!cJSON_IsString(p)) die("%s:%lld: no \"prompt\" string", input, in->lineno);
			text = p->valuestring;
		} else {
			if (n_jobs) break;
			text = prompt;
		}
		job j = {.line = line, .prompt = text ? xstrdup(text) : NULL};
		size_t idcap = 0;
		if (text) j.n = tok_encode(tk, text, strlen(text), 1, 0, &j.ids, &idcap);
		else { j.ids = xmalloc(sizeof *j.ids); j.ids[0] = bos; j.n = 1; }
		if (j.n >= m->cfg.max_seq_len)
			die("%s: prompt of %d tokens leaves no room in the model's %d positions",
			    in ? input : "-p", j.n, m->cfg.max_seq_len);
		for (long long k = 0; k < count; k++) {
			if (n_jobs == cap) jobs = xrealloc(jobs, (cap = cap ? 2 * cap : 16) * sizeof *jobs);
			job copy = j;
			if (k) {
				copy.ids = memcpy(xmalloc(j.n * sizeof *j.ids), j.ids, j.n * sizeof *j.ids);
				copy.prompt = j.prompt ? xstrdup(j.prompt) : NULL;
				copy.line = j.line ? cJSON_Duplicate(j.line, 1) : NULL;
			}
			jobs[n_jobs++] = copy;
		}
	}
	if (in) in_close(in);
	int longest = 0;
	for (size_t i = 0; i < n_jobs; i++) if (jobs[i].n > longest) longest = jobs[i].n;
	long long max_len = longest + n_new;
	if (max_len > m->cfg.max_seq_len) max_len = m->cfg.max_seq_len;
	if (batch > (long long)n_jobs) batch = n_jobs ? (long long)n_jobs : 1;
	how.max_new = n_new;

	lm_out *o = out_open(output, -1);
	lm_sampler *s = sampler_new(m, batch, max_len);
	sampler_name(s, argv[optind]);
	if (cuda) sampler_gpu(s);
	/* EOS ends a sequence, and so does BOS: a new document begins (run.c's rule) */
	int32_t stop[2];
	int n_stop = 0;
	if (eos >= 0) stop[n_stop++] = eos;
	stop[n_stop++] = bos;
	sampler_stop_ids(s, stop, n_stop);
	size_t next = 0, emitted = 0;
	int *slot_job = xmalloc(batch * sizeof *slot_job);
	long long tokens = 0;
	double t0 = now_sec(), c0 = cpu_sec();
	int tty = isatty(2);
	while (emitted < n_jobs) {
		for (int i = 0; i < batch && next < n_jobs; i++) {
			if (sampler_busy(s, i)) continue;
			/* each sequence's seed depends on its index only, not on the batch */
			int slot = sampler_start(s, jobs[next].ids, jobs[next].n, &how, (uint64_t)seed + next);
			slot_job[slot] = next++;
		}
		sampler_step(s);
		for (int i = 0; i < batch; i++) {
			if (!sampler_busy(s, i) || !sampler_done(s, i)) continue;
			job *j = &jobs[slot_job[i]];
			const int32_t *t = sampler_tokens(s, i, &j->n_out);
			j->out = memcpy(xmalloc((j->n_out ? j->n_out : 1) * sizeof *t), t, j->n_out * sizeof *t);
			j->stopped = j->n_out && (t[j->n_out - 1] == eos || t[j->n_out - 1] == bos);
			j->logprob = sampler_logprob(s, i);
			j->finished = 1;
			tokens += j->n_out;
			sampler_release(s, i);
		}
		/* in input order, whatever order sequences finish in */
		while (emitted < n_jobs && jobs[emitted].finished) {
			job *j = &jobs[emitted];
			emit(o, j, tk, json, ids_only, emitted == 0);
			free(j->out); free(j->ids); free(j->prompt);
			if (j->line) cJSON_Delete(j->line);
			emitted++;
		}
		if (tty) fprintf(stderr, "\r%s: %zu/%zu samples, %.0f tok/s ", lm_progname, emitted, n_jobs,
				 tokens / (now_sec() - t0));
	}
	if (tty) fputc('\n', stderr);
	double dt = now_sec() - t0, cpu = cpu_sec() - c0;
	out_close(o);
	if (verbose)
		fprintf(stderr, "%s: %zu samples, %lld tokens in %.3f s, %.3f s CPU: %.1f tok/s, %.1f tok/CPU-s (batch %lld)\n",
			lm_progname, n_jobs, tokens, dt, cpu, tokens / dt, tokens / cpu, batch);
	sampler_free(s);
	free(slot_job);
	free(jobs);
	if (tk) tok_free(tk);
	model_free(m);
	return 0;
}
