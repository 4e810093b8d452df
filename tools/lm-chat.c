/* lm-chat: talk to a chat model in Llama 2's template, on a terminal or over
 * chat JSONL. */
#include "bf16.h"
#include "blas.h"
#include "chat.h"
#include "docs.h"
#include "checkpoint.h"
#include "sample.h"
#include "tokenizer.h"
#include "util.h"
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *USAGE =
	"-m model -t tokenizer [--system text] [--temperature T] [--top-p P]\n"
	"       [--seed N] [--max-new N] [-b batch] [--weights f32|bf16] [--device cpu|cuda] [-v] [-i chat.jsonl] [-o replies.jsonl]\n"
	"       [--skip-bad]";

static const lm_model *model;
static const char *model_path;
static const lm_tokenizer *tok;
static lm_sampling how = {.temperature = 0.6f, .top_p = 0.9f};
static unsigned long long seed = 0;
static int reply_room;
static int cuda;         /* --device cuda */   /* positions kept free for the answer when turns are dropped */

static volatile sig_atomic_t interrupted;
static void on_sigint(int sig) { interrupted = 1; }

/* Render d, dropping the oldest turns (the system prompt stays) until the
 * prompt leaves reply_room positions; returns the turns dropped, or -1 when
 * even the last user message alone does not fit. */
static int render_fitting(const chat_dialog *d, chat_tokens *out) {
	int sys = d->msg[0].role == CHAT_SYSTEM, limit = model->cfg.max_seq_len - reply_room;
	chat_dialog view = *d;
	chat_msg *msgs = xmalloc(d->n * sizeof *msgs);
	for (int drop = 0; sys + 2 * drop < d->n; drop++) {
		view.n = 0;
		if (sys) msgs[view.n++] = d->msg[0];
		for (int i = sys + 2 * drop; i < d->n; i++) msgs[view.n++] = d->msg[i];
		view.msg = msgs;
		out->n = 0;
		chat_render(tok, &view, 0, out);
		if ((long)out->n <= limit) { free(msgs); return drop; }
	}
	free(msgs);
	return -1;
}

static const char *finish_reason(const int32_t *ids, int n) {
	return n && ids[n - 1] == tok_eos(tok) ? "eos" : "length";
}

/* The reply's text as SentencePiece decodes it, EOS left out, and ids the
 * tokenizer does not have (a model's padded vocabulary) too. */
static char *reply_text(const int32_t *ids, int n, size_t *len) {
	int32_t *keep = xmalloc((n ? n : 1) * sizeof *keep);
	int k = 0;
	for (int i = 0; i < n; i++)
		if (ids[i] != tok_eos(tok) && ids[i] < tok_vocab_size(tok)) keep[k++] = ids[i];
	char *text = tok_decode(tok, keep, k, len);
	free(keep);
	return text;
}

/* Non-interactive: every prompt of in (chat JSONL ending with a user message)
 * gets a reply; records go out in input order, batch prompts decoded together. */
static void run_jsonl(const char *in_path, const char *out_path, int batch, int skip_bad) {
	chat_reader *r = chat_open(in_path, CHAT_END_USER, skip_bad);
	lm_out *o = out_open(out_path, -1);
	lm_sampler *s = sampler_new(model, batch, model->cfg.max_seq_len);
	sampler_name(s, model_path);
	if (cuda) sampler_gpu(s);
	int32_t eos = tok_eos(tok);
	sampler_stop_ids(s, &eos, 1);
	chat_dialog *pending = xcalloc(batch, sizeof *pending);
	int *slot = xmalloc(batch * sizeof *slot), *dropped = xmalloc(batch * sizeof *dropped);
	char **rec_id = xcalloc(batch, sizeof *rec_id);
	chat_tokens tk = {0};
	long long index = 0;
	for (int eof = 0; !eof;) {
		int n = 0;
		const chat_dialog *d;
		while (n < batch && (d = chat_next(r))) {
			dropped[n] = render_fitting(d, &tk);
			if (dropped[n] < 0)
				die("%s:%lld: the last user message does not fit the model's %d positions with room for "
				    "a reply", in_path, chat_lineno(r), model->cfg.max_seq_len);
			if (dropped[n])
				warnx_("%s:%lld: context full: dropped the %d oldest turn%s", in_path, chat_lineno(r),
				       dropped[n], dropped[n] > 1 ? "s" : "");
			/* the prompt's "id", if any, goes out with its reply */
			cJSON *line = cJSON_Parse(chat_line(r));
			cJSON *id = cJSON_GetObjectItemCaseSensitive(line, "id");
			free(rec_id[n]);
			rec_id[n] = id ? cJSON_PrintUnformatted(id) : NULL;
			cJSON_Delete(line);
			chat_clear(&pending[n]);
			for (int i = 0; i < d->n; i++) chat_add(&pending[n], d->msg[i].role, d->msg[i].content, d->msg[i].len);
			/* each prompt's randomness depends on its place in the input only */
			slot[n] = sampler_start(s, tk.ids, (int)tk.n, &how, seed + index++);
			n++;
		}
		if (n < batch) eof = 1;
		while (n && sampler_step(s)) {}
		for (int k = 0; k < n; k++) {
			int nt;
			const int32_t *ids = sampler_tokens(s, slot[k], &nt);
			size_t len;
			char *text = reply_text(ids, nt, &len);
			out_printf(o, "{");
			if (rec_id[k]) out_printf(o, "\"id\": %s, ", rec_id[k]);
			out_printf(o, "\"messages\": [");
			for (int i = 0; i < pending[k].n; i++) {
				out_printf(o, "{\"role\": \"%s\", \"content\": ", chat_role_name(pending[k].msg[i].role));
				json_put_string(o, pending[k].msg[i].content, pending[k].msg[i].len);
				out_printf(o, "}, ");
			}
			out_printf(o, "{\"role\": \"assistant\", \"content\": ");
			json_put_string(o, text, strlen(text));
			out_printf(o, "}], \"finish\": \"%s\", \"tokens\": %d, \"dropped_turns\": %d}\n",
				   finish_reason(ids, nt), nt, dropped[k]);
			free(text);
			sampler_release(s, slot[k]);
		}
	}
	if (chat_bad(r)) warnx_("%s: skipped %lld malformed dialogues", in_path, chat_bad(r));
	chat_close(r);
	out_close(o);
	for (int k = 0; k < batch; k++) {
		chat_free(&pending[k]);
		free(rec_id[k]);
	}
	free(pending); free(slot); free(dropped); free(rec_id);
	chat_tokens_free(&tk);
	sampler_free(s);
}

/* One message from the terminal: lines ending in a backslash continue it.
 * Returns 0 at end of input; *cancelled when Ctrl-C threw the input away. */
static int read_message(char **buf, size_t *len, int *cancelled) {
	size_t cap = 0;
	char *line = NULL;
	*len = 0;
	*cancelled = 0;
	fputs("> ", stdout);
	fflush(stdout);
	for (;;) {
		errno = 0;
		ssize_t n = getline(&line, &cap, stdin);
		if (n < 0) {
			if (interrupted || (ferror(stdin) && errno == EINTR)) {
				interrupted = 0;
				clearerr(stdin);
				*cancelled = 1;
				fputc('\n', stdout);
				free(line);
				return 1;
			}
			free(line);
			return 0;
		}
		/* a Ctrl-C that came while no message was being read is forgotten */
		interrupted = 0;
		if (n && line[n - 1] == '\n') line[--n] = 0;
		int more = n && line[n - 1] == '\\';
		if (more) line[--n] = '\n';
		*buf = xrealloc(*buf, *len + n + 1);
		memcpy(*buf + *len, line, n);
		*len += n;
		(*buf)[*len] = 0;
		if (!more) break;
		fputs(". ", stdout);
		fflush(stdout);
	}
	free(line);
	return 1;
}

/* Print a reply piece to the terminal, without the control characters a
 * sampled byte piece could carry (as run.c's safe_printf). */
static void show_piece(int prev, int id) {
	char buf[16];
	size_t n;
	const char *p = tok_decode_piece(tok, prev, id, buf, &n);
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = p[i];
		if (ch < 0x20 && ch != '\n' && ch != '\t') continue;
		if (ch == 0x7f) continue;
		putchar(ch);
	}
}

static void run_terminal(const char *system, int verbose) {
	chat_dialog d = {0};
	chat_tokens tk = {0};
	lm_sampler *s = sampler_new(model, 1, model->cfg.max_seq_len);
	sampler_name(s, model_path);
	if (cuda) sampler_gpu(s);
	int32_t eos = tok_eos(tok);
	sampler_stop_ids(s, &eos, 1);
	char *msg = NULL;
	size_t len;
	int cancelled;
	if (system) chat_add(&d, CHAT_SYSTEM, system, strlen(system));
	for (long long turn = 0; read_message(&msg, &len, &cancelled); ) {
		if (cancelled) continue;
		chat_add(&d, CHAT_USER, msg, len);
		const char *why = chat_check(&d, CHAT_END_USER);
		if (why) {
			/* the user message is the last one: say what is wrong with it and forget it */
			warnx_("%s", why);
			free(d.msg[--d.n].content);
			continue;
		}
		int dropped = render_fitting(&d, &tk);
		if (dropped < 0) {
			warnx_("message too long: it does not fit the model's %d positions with room for a reply",
			       model->cfg.max_seq_len);
			free(d.msg[--d.n].content);
			continue;
		}
		if (dropped) {
			/* forget them for good, so the history does not grow without bound */
			int sys = d.msg[0].role == CHAT_SYSTEM;
			for (int i = sys; i < sys + 2 * dropped; i++) free(d.msg[i].content);
			memmove(d.msg + sys, d.msg + sys + 2 * dropped, (d.n - sys - 2 * dropped) * sizeof *d.msg);
			d.n -= 2 * dropped;
			warnx_("context full: dropped the %d oldest turn%s", dropped, dropped > 1 ? "s" : "");
		}
		int slot = sampler_start(s, tk.ids, (int)tk.n, &how, seed + turn++);
		int shown = 0, nt = 0, prev = -1;
		const int32_t *ids;
		interrupted = 0;
		for (int live = 1; live;) {
			live = !interrupted && sampler_step(s);
			ids = sampler_tokens(s, slot, &nt);
			for (; shown < nt; shown++) {
				if (ids[shown] == eos) continue;
				show_piece(prev, ids[shown]);
				prev = ids[shown];
			}
			fflush(stdout);
		}
		if (interrupted) fputs(" [interrupted]", stdout);
		fputc('\n', stdout);
		fflush(stdout);
		if (verbose)
			fprintf(stderr, "(context: %zu of %d tokens)\n", tk.n + nt, model->cfg.max_seq_len);
		interrupted = 0;
		size_t tl;
		char *text = reply_text(ids, nt, &tl);
		size_t sl = tl;
		chat_strip(text, &sl);
		/* an answer cut to nothing leaves the question without one: drop it too */
		if (sl) chat_add(&d, CHAT_ASSISTANT, text, tl);
		else free(d.msg[--d.n].content);
		free(text);
		sampler_release(s, slot);
	}
	fputc('\n', stdout);
	free(msg);
	chat_free(&d);
	chat_tokens_free(&tk);
	sampler_free(s);
}

int main(int argc, char **argv) {
	lm_init(argc, argv);
	blas_init();
	std_options(argc, argv, USAGE);
	static const struct option opts[] = {
		{"model", required_argument, 0, 'm'}, {"tokenizer", required_argument, 0, 't'},
		{"system", required_argument, 0, 'S'}, {"temperature", required_argument, 0, 'T'},
		{"top-p", required_argument, 0, 'P'}, {"seed", required_argument, 0, 's'},
		{"max-new", required_argument, 0, 'n'}, {"batch", required_argument, 0, 'b'},
		{"input", required_argument, 0, 'i'}, {"output", required_argument, 0, 'o'},
		{"skip-bad", no_argument, 0, 'K'}, {"verbose", no_argument, 0, 'v'},
		{"weights", required_argument, 0, 'W'}, {"device", required_argument, 0, 'D'}, {0, 0, 0, 0}};
	const char *tok_path = NULL, *system = NULL, *in = NULL, *out = "-", *weights = "f32";
	int batch = 8, skip_bad = 0, verbose = 0, c;
	while ((c = getopt_long(argc, argv, "m:t:i:o:b:n:s:v", opts, NULL)) != -1) {
		switch (c) {
		case 'm': model_path = optarg; break;
		case 't': tok_path = optarg; break;
		case 'S': system = optarg; break;
		case 'T': how.temperature = parse_float("--temperature", optarg); break;
		case 'P': how.top_p = parse_float("--top-p", optarg); break;
		case 's': seed = parse_int("--seed", optarg); break;
		case 'n': how.max_new = parse_int("--max-new", optarg); break;
		case 'b': batch = parse_int("--batch", optarg); break;
		case 'i': in = optarg; break;
		case 'o': out = optarg; break;
		case 'K': skip_bad = 1; break;
		case 'v': verbose = 1; break;
		case 'W': weights = optarg; break;
		case 'D': cuda = parse_device(optarg); break;
		default: usage_exit(USAGE);
		}
	}
	if (optind != argc || !model_path || !tok_path) usage_exit(USAGE);
	if (!(how.temperature >= 0)) die("--temperature: must be >= 0");
	if (!(how.top_p > 0 && how.top_p <= 1)) die("--top-p: must be in (0, 1]");
	if (how.max_new < 0) die("--max-new: must be >= 0");
	if (batch < 1) die("--batch: must be >= 1");
	int interactive = !in && isatty(0);
	if (system && !interactive) die("--system: only for the terminal (put a system message in the JSONL)");
	if (system) {
		chat_dialog d = {0};
		chat_add(&d, CHAT_SYSTEM, system, strlen(system));
		chat_add(&d, CHAT_USER, "x", 1);
		const char *why = chat_check(&d, CHAT_END_USER);
		if (why) die("--system: %s", strstr(why, ": ") ? strstr(why, ": ") + 2 : why);
		chat_free(&d);
	}
	lm_model *m = model_load(model_path);
	model_need_head(m, LM_HEAD_LM, model_path);
	model_weights(m, weights, "--weights");
	lm_tokenizer *t = tok_load(tok_path);
	if (tok_vocab_size(t) > m->cfg.vocab_size)
		die("%s: tokenizer has %d tokens, more than the model's %d", tok_path, tok_vocab_size(t),
		    m->cfg.vocab_size);
	if (tok_bos(t) < 0 || tok_eos(t) < 0) die("%s: the chat template needs BOS and EOS tokens", tok_path);
	model = m;
	tok = t;
	/* Answers get at least a quarter of the context, or what --max-new asks when that is less. */
	reply_room = m->cfg.max_seq_len / 4;
	if (how.max_new && how.max_new < reply_room) reply_room = how.max_new;
	if (reply_room < 1) reply_room = 1;
	if (interactive) {
		struct sigaction sa = {0};
		sa.sa_handler = on_sigint;   /* no SA_RESTART: Ctrl-C interrupts the read of a message */
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		run_terminal(system, verbose);
	} else {
		run_jsonl(in ? in : "-", out, batch, skip_bad);
	}
	tok_free(t);
	model_free(m);
	return 0;
}
