/* lm-pretrain: next-token pretraining of a Llama 2 model on token shards, with
 * the paper's optimizer defaults, checkpoints that resume exactly, and
 * metrics as JSONL. The batches are random windows of the shards (loader.c);
 * the step loop is train.c's. */
#include "blas.h"
#include "checkpoint.h"
#include "loader.h"
#include "pack.h"
#include "train.h"
#include "util.h"
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *USAGE =
	"[--config FILE] [--set KEY=VALUE]... [--init CKPT] [--resume] [-b ROWS] [-t LEN]\n"
	"\t[--batch-tokens N] [--steps N] [--lr LR] [--min-lr LR] [--warmup N] [--beta1 B] [--beta2 B]\n"
	"\t[--eps E] [--weight-decay W] [--clip C] [--seed N] [--val SHARD]... [--val-every N]\n"
	"\t[--val-batches N] [--metrics FILE] [--checkpoint-every N] [--threads N]\n"
	"\t[--device cpu|cuda] [--precision bf16|tf32|fp32] -o CKPT SHARD...";

static lm_model *make_model(const train_opts *o, const char *config, char **sets, int n_sets, int shard_vocab) {
	const char *from = o->resume ? o->out : o->init;
	if (from) {
		lm_model *m = o->resume ? ckpt_load(from) : model_load(from);
		model_need_head(m, LM_HEAD_LM, from);
		return m;
	}
	lm_config c;
	config_default(&c);
	if (config) {
		char *json = read_file(config, NULL);
		config_from_json(&c, json, config);
		free(json);
	}
	for (int i = 0; i < n_sets; i++) {
		char *kv = xstrdup(sets[i]), *eq = strchr(kv, '=');
		if (!eq) die("--set: expected KEY=VALUE, got '%s'", sets[i]);
		*eq = 0;
		if (!config_set(&c, kv, eq + 1, "--set")) die("--set: no configuration key '%s'", kv);
		free(kv);
	}
	/* Meta's params.json says vocab_size -1: the tokenizer's, here the shards' */
	if (c.vocab_size <= 0) c.vocab_size = shard_vocab;
	const char *why = config_finish(&c);
	if (why) die("%s: %s", config ? config : "--set", why);
	lm_model *m = model_new(&c);
	model_need_head(m, LM_HEAD_LM, config ? config : "--set");
	model_init(m, o->seed);
	return m;
}

/* Validation: the first `batches` micro-batches of the windows of the
 * validation shards, in order (pack.h: what lm-eval loss measures over a
 * whole shard). */
typedef struct val_windows {
	lm_loader *l;
	int rows, batches;
} val_windows;

static int fill_val(void *ctx, long long i, train_batch *b) {
	val_windows *v = ctx;
	if (i >= v->batches) return 0;
	int T = v->l->T;
	for (int r = 0; r < v->rows; r++) {
		uint64_t k = (uint64_t)i * v->rows + r;
		int s = 0;
		while (s < v->l->n_shards && k >= pack_windows(v->l->shards[s], T)) k -= pack_windows(v->l->shards[s++], T);
		/* past the last window: an empty row (no target) */
		const lm_shard *sh = v->l->shards[s < v->l->n_shards ? s : v->l->n_shards - 1];
		if (s == v->l->n_shards) k = pack_windows(sh, T);
		pack_window(sh, k, T, b->tok + (size_t)r * T, b->tgt + (size_t)r * T, b->wt ? b->wt + (size_t)r * T : NULL);
	}
	return 1;
}

int main(int argc, char **argv) {
	lm_init(argc, argv);
	blas_init();
	train_version();
	std_options(argc, argv, USAGE);
	enum { O_CONFIG = TRAIN_O_END, O_SET, O_BT, O_STEPS, O_VAL, O_VALBATCHES };
	static const struct option longopts[] = {
		TRAIN_LONGOPTS,
		{"config", required_argument, 0, O_CONFIG}, {"set", required_argument, 0, O_SET},
		{"batch-tokens", required_argument, 0, O_BT}, {"steps", required_argument, 0, O_STEPS},
		{"val", required_argument, 0, O_VAL}, {"val-batches", required_argument, 0, O_VALBATCHES},
		{0, 0, 0, 0},
	};
	train_opts o = {.B = 8, .steps = 1000, .lr = 3e-4, .min_lr = -1, .warmup = 2000, .beta1 = 0.9, .beta2 = 0.95,
			.eps = 1e-5, .weight_decay = 0.1, .clip = 1.0, .seed = 1, .val_every = 100};
	const char *config = NULL;
	char **sets = xcalloc(argc, sizeof *sets), **val_paths = xcalloc(argc, sizeof *val_paths);
	int n_sets = 0, n_val = 0, val_batches = 4, c;
	long long batch_tokens = 0;
	while ((c = getopt_long(argc, argv, "b:t:o:", longopts, NULL)) != -1) {
		if (train_option(&o, c, optarg)) continue;
		switch (c) {
		case O_CONFIG: config = optarg; break;
		case O_SET: sets[n_sets++] = optarg; break;
		case O_BT: batch_tokens = parse_int("--batch-tokens", optarg); break;
		case O_STEPS: o.steps = parse_int("--steps", optarg); break;
		case O_VAL: val_paths[n_val++] = optarg; break;
		case O_VALBATCHES: val_batches = (int)parse_int("--val-batches", optarg); break;
		default: usage_exit(USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (!o.out || argc < 1) usage_exit(USAGE);
	if ((o.resume || o.init) && (config || n_sets))
		die("--config and --set make a new model; not with --init or --resume");
	train_opts_finish(&o, config || n_sets, "--config, --set, --init or --resume");
	if (o.steps <= 0 || val_batches <= 0 || batch_tokens < 0)
		die("--steps and --val-batches must be positive, --batch-tokens not negative");

	/* shards first: a bad one fails before any work, and "-" is read once */
	lm_shard **train_shards = xcalloc(argc, sizeof *train_shards);
	lm_shard **val_shards = xcalloc(n_val + 1, sizeof *val_shards);
	for (int i = 0; i < argc; i++) train_shards[i] = shard_open(argv[i]);
	for (int i = 0; i < n_val; i++) val_shards[i] = shard_open(val_paths[i]);
	lm_model *m = make_model(&o, config, sets, n_sets, (int)train_shards[0]->vocab_size);
	const lm_config *cfg = &m->cfg;
	int B = o.B, T = o.T ? o.T : cfg->max_seq_len;
	if (T > cfg->max_seq_len) die("-t %d: longer than the model's max_seq_len %d", T, cfg->max_seq_len);
	long long micro = (long long)B * T;
	if (!batch_tokens) batch_tokens = micro;
	if (batch_tokens % micro)
		die("--batch-tokens %lld: not a multiple of the %d x %d tokens of a micro-batch", batch_tokens, B, T);
	int accum = (int)(batch_tokens / micro);
	lm_loader *train = loader_new(train_shards, argc, T, cfg->vocab_size, o.seed);
	val_windows val = {n_val ? loader_new(val_shards, n_val, T, cfg->vocab_size, o.seed) : NULL, B, val_batches};

	char start[64];
	snprintf(start, sizeof start, "\"batch_tokens\":%lld", batch_tokens);
	trainer *t = trainer_open(m, &o, B, T, start);
	if (o.resume) {
		/* all zero is lm-sft's (its order follows from the step), a state xoshiro256** never leaves */
		const uint64_t *r = t->st.data_rng.s;
		if (!(r[0] | r[1] | r[2] | r[3]))
			die("%s: its training state has no data RNG (all zero, as lm-sft saves it): not an lm-pretrain run",
			    o.out);
		train->rng = t->st.data_rng;
	}
	if (val.l) t->val = fill_val, t->val_ctx = &val;
	train_batch *b = train_batch_new(accum * B, T, 0, train->has_mask || (val.l && val.l->has_mask));
	b->micro = accum;
	do {
		for (int a = 0; a < accum; a++)
			loader_random(train, B, b->tok + a * micro, b->tgt + a * micro, b->wt ? b->wt + a * micro : NULL);
		t->st.data_rng = train->rng;
	} while (trainer_step(t, b, 0, NULL));
	trainer_finish(t);
	train_batch_free(b);
	model_free(m);
	loader_close(train);
	loader_close(val.l);
	free(train_shards);
	free(val_shards);
	free(sets);
	free(val_paths);
	return 0;
}
