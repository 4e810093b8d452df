/* lm-bpe: train a SentencePiece BPE tokenizer (.model) on text, with Llama 2's
 * options as defaults. The counting and training are lib/text/bpetrain.c; the model
 * file is lib/text/spm.c. */
#include "bpetrain.h"
#include "docs.h"
#include "spm.h"
#include "util.h"
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char USAGE[] =
	"[-pv] [-n vocab-size] -o model [--vocab file] [--character-coverage f]\n"
	"              [--max-piece-length n] [--max-line-length n] [--max-words n]\n"
	"              [--user-symbols list] [--control-symbols list] [--no-split-digits]\n"
	"              [--no-byte-fallback] [--no-dummy-prefix] [file ...]";

/* "a,b,c" -> {"a","b","c"}; the list's strings point into s. */
static const char **split_list(char *s, size_t *n) {
	const char **v = NULL;
	*n = 0;
	for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
		v = xrealloc(v, (*n + 1) * sizeof *v);
		v[(*n)++] = tok;
	}
	return v;
}

static void set_strs(spm_str **f, size_t *nf, const char **v, size_t n) {
	*f = xcalloc(n ? n : 1, sizeof **f);
	for (size_t i = 0; i < n; i++) spm_set_str(&(*f)[i], v[i]);
	*nf = n;
}

int main(int argc, char **argv) {
	lm_init(argc, argv);
	std_options(argc, argv, USAGE);
	bpe_options o;
	bpe_default_options(&o);
	const char *out = NULL, *vocab_out = NULL;
	int plain = 0, verbose = 0;
	enum { O_VOCAB = 256, O_COVER, O_MAXLEN, O_MAXLINE, O_MAXWORDS, O_USER, O_CONTROL, O_NODIGITS,
	       O_NOBYTES, O_NOPREFIX };
	static const struct option lopts[] = {
		{ "vocab-size", required_argument, 0, 'n' },
		{ "output", required_argument, 0, 'o' },
		{ "plain", no_argument, 0, 'p' },
		{ "verbose", no_argument, 0, 'v' },
		{ "vocab", required_argument, 0, O_VOCAB },
		{ "character-coverage", required_argument, 0, O_COVER },
		{ "max-piece-length", required_argument, 0, O_MAXLEN },
		{ "max-line-length", required_argument, 0, O_MAXLINE },
		{ "max-words", required_argument, 0, O_MAXWORDS },
		{ "user-symbols", required_argument, 0, O_USER },
		{ "control-symbols", required_argument, 0, O_CONTROL },
		{ "no-split-digits", no_argument, 0, O_NODIGITS },
		{ "no-byte-fallback", no_argument, 0, O_NOBYTES },
		{ "no-dummy-prefix", no_argument, 0, O_NOPREFIX },
		{ 0, 0, 0, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "n:o:pv", lopts, NULL)) != -1) {
		switch (c) {
		case 'n': {
			long long n = parse_int("-n", optarg);
			if (n < 1 || n > 1 << 24) die("-n: vocabulary size must be between 1 and %d", 1 << 24);
			o.vocab_size = (int)n;
			break;
		}
		case 'o': out = optarg; break;
		case 'p': plain = 1; break;
		case 'v': verbose = 1; break;
		case O_VOCAB: vocab_out = optarg; break;
		case O_COVER: o.character_coverage = parse_float("--character-coverage", optarg); break;
		case O_MAXLEN: {
			long long n = parse_int("--max-piece-length", optarg);
			if (n < 1 || n > 512) die("--max-piece-length: must be between 1 and 512");
			o.max_piece_len = (int)n;
			break;
		}
		case O_MAXLINE: {
			long long n = parse_int("--max-line-length", optarg);
			if (n < 0 || n > 1 << 30) die("--max-line-length: must be between 0 and %d", 1 << 30);
			o.max_line_len = (int)n;
			break;
		}
		case O_MAXWORDS:
			o.max_words = parse_int("--max-words", optarg);
			if (o.max_words < 1) die("--max-words: must be positive");
			break;
		case O_USER: o.user_symbols = split_list(optarg, &o.n_user); break;
		case O_CONTROL: o.control_symbols = split_list(optarg, &o.n_control); break;
		case O_NODIGITS: o.split_digits = 0; break;
		case O_NOBYTES: o.byte_fallback = 0; break;
		case O_NOPREFIX: o.add_dummy_prefix = 0; break;
		default: usage_exit(USAGE);
		}
	}
	if (!out) { warnx_("an output model (-o) is required"); usage_exit(USAGE); }
	o.progress = isatty(2);
	/* opened before the inputs: a clash with one of them is refused before training */
	lm_out *mo = out_open(out, 0);
	lm_out *vo = vocab_out ? out_open(vocab_out, -1) : NULL;

	bpe_trainer *t = bpe_new(&o);
	char *stdin_name[] = { "-" };
	char **inputs = optind < argc ? argv + optind : stdin_name;
	int n_inputs = optind < argc ? argc - optind : 1;
	double t0 = now_sec();
	for (int i = 0; i < n_inputs; i++) {
		lm_docs *d = docs_open(inputs[i], plain, 0);
		const lm_doc *doc;
		long long n = 0;
		while ((doc = docs_next(d))) {
			bpe_add_text(t, doc->text, doc->text_len);
			if (o.progress && ++n % 100000 == 0)
				fprintf(stderr, "\r%s: %s: %lld MB read ", lm_progname, inputs[i],
					docs_bytes(d) >> 20);
		}
		docs_close(d);
	}
	bpe_stats st;
	bpe_get_stats(t, &st);
	if (!st.chars && st.lines_skipped)
		die("%s: no text to train on: all %lld lines are longer than --max-line-length %d",
		    n_inputs == 1 ? inputs[0] : "input", st.lines_skipped, o.max_line_len);
	if (!st.chars) die("%s: no text to train on", n_inputs == 1 ? inputs[0] : "input");
	double t1 = now_sec();
	bpe_vocab *v = bpe_train(t);
	double t2 = now_sec();
	bpe_get_stats(t, &st);
	if (verbose)
		fprintf(stderr, "%s: %lld lines (%lld longer skipped), %lld characters, "
			"%lld distinct words (%lld pruned), "
			"%d required characters cover %.5f, %d merges; counting %.2f s, training %.2f s\n",
			lm_progname, st.lines, st.lines_skipped, st.chars, st.words, st.words_pruned, st.required_chars,
			st.coverage, st.merges, t1 - t0, t2 - t1);

	/* The .model records the options, as spm_train's does. */
	spm_model *m = spm_new();
	spm_trainer_spec *ts = &m->trainer;
	set_strs(&ts->input, &ts->n_input, (const char **)inputs, n_inputs);
	char *prefix = xstrdup(out);
	size_t pl = strlen(prefix);
	if (pl > 6 && !strcmp(prefix + pl - 6, ".model")) prefix[pl - 6] = 0;
	spm_set_str(&ts->model_prefix, prefix);
	free(prefix);
	ts->model_type = SPM_BPE;
	ts->vocab_size = o.vocab_size;
	ts->self_test_sample_size = 0;
	spm_set_str(&ts->input_format, plain ? "text" : "jsonl");
	ts->character_coverage = (float)o.character_coverage;
	ts->input_sentence_size = 0;
	ts->num_threads = 1;
	ts->max_sentencepiece_length = o.max_piece_len;
	ts->max_sentence_length = o.max_line_len ? o.max_line_len : 1 << 30;
	ts->split_by_unicode_script = o.split_by_unicode_script;
	ts->split_by_whitespace = 1;
	ts->split_by_number = 1;
	ts->treat_whitespace_as_suffix = 0;
	ts->split_digits = o.split_digits;
	ts->allow_whitespace_only_pieces = o.allow_whitespace_only_pieces;
	set_strs(&ts->control_symbols, &ts->n_control_symbols, o.control_symbols, o.n_control);
	set_strs(&ts->user_defined_symbols, &ts->n_user_defined_symbols, o.user_symbols, o.n_user);
	ts->byte_fallback = o.byte_fallback;
	ts->unk_id = 0, ts->bos_id = 1, ts->eos_id = 2, ts->pad_id = -1;
	spm_normalizer_spec *ns = &m->normalizer;
	spm_set_str(&ns->name, "identity");
	ns->add_dummy_prefix = o.add_dummy_prefix;
	ns->remove_extra_whitespaces = 0;
	ns->escape_whitespaces = 1;
	for (size_t i = 0; i < v->n; i++) spm_add_piece(m, v->piece[i], v->score[i], v->type[i]);

	/* Both outputs appear together or not at all. */
	size_t len;
	uint8_t *bytes = spm_serialize(m, &len);
	out_write(mo, bytes, len);
	if (vo)
		for (size_t i = 0; i < v->n; i++) out_printf(vo, "%s\t%g\n", v->piece[i], v->score[i]);
	if (vo) out_close(vo);
	out_close(mo);
	free(bytes);
	spm_free(m);
	bpe_vocab_free(v);
	bpe_free(t);
	free(o.user_symbols);
	free(o.control_symbols);
	return 0;
}
