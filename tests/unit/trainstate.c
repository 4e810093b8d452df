/* Training states with a good checksum but absurd values are refused, each
 * field naming the file (issue 9, item 6): a resumed run must not train from
 * a negative step (negative learning rates) or an RNG stuck at zero. */
#include "tap.h"
#include "dies.h"
#include "trainstate.h"
#include "util.h"
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xxhash.h>

static char path[] = "/tmp/lmkit-trainstate-XXXXXX";
static lm_adamw *opt;
static lm_trainstate st;

static void load(void *a) { trainstate_load(path, &st, opt); }


/* A state file as trainstate_save lays it out, with this JSON and these moments. */
static void write_state(const char *json, const float *mv, size_t n) {
	size_t j = strlen(json), len = 16 + j + 2 * n * sizeof(float);
	uint8_t *b = xmalloc(len + 8);
	memcpy(b, TRAINSTATE_MAGIC, 8);
	uint32_t version = 1, jl = (uint32_t)j;
	memcpy(b + 8, &version, 4);
	memcpy(b + 12, &jl, 4);
	memcpy(b + 16, json, j);
	memcpy(b + 16 + j, mv, 2 * n * sizeof(float));
	uint64_t sum = XXH64(b, len, 0);
	memcpy(b + len, &sum, 8);
	FILE *f = fopen(path, "wb");
	fwrite(b, 1, len + 8, f);
	fclose(f);
	free(b);
}

#define RNG "\"0123456789abcdef\",\"fedcba9876543210\",\"0000000000000001\",\"ffffffffffffffff\""
#define HASH "\"00000000deadbeef\""

int main(int argc, char **argv) {
	lm_init(argc, argv);
	close(mkstemp(path));
	lm_config c;
	config_default(&c);
	c.dim = 16; c.n_layers = 1; c.n_heads = 2; c.vocab_size = 8; c.hidden_dim = 8; c.max_seq_len = 8;
	config_finish(&c);
	lm_model *m = model_new(&c);
	opt = adamw_new(m, 0.9f, 0.95f, 1e-8f, 0.1f);
	size_t n = opt->n;
	float *mv = xmalloc(2 * n * sizeof *mv);
	for (size_t i = 0; i < n; i++) mv[i] = 0.001f * (float)i - 0.5f, mv[n + i] = 0.0001f * (float)i;

	/* what trainstate_save writes reads back */
	lm_trainstate s = {.step = 12, .tokens = 3072, .params_hash = 0xdeadbeef, .data_rng = {{1, 2, 3, 4}}};
	opt->t = 12;
	memcpy(opt->m, mv, 2 * n * sizeof *mv);
	trainstate_save(path, &s, opt);
	memset(opt->m, 0, 2 * n * sizeof *mv);
	opt->t = 0;
	ok(!dies(load, NULL), "a saved state loads");
	load(NULL);
	ok(st.step == 12 && st.tokens == 3072 && opt->t == 12 && st.data_rng.s[3] == 4 && st.params_hash == 0xdeadbeef &&
	   !memcmp(opt->m, mv, 2 * n * sizeof *mv), "  with its values");

	char json[2048];
	snprintf(json, sizeof json, "{\"step\":0,\"tokens\":0,\"adam_t\":0,\"n_params\":%zu,\"data_rng\":[" RNG
		 "],\"params_xxh64\":" HASH "}", n);
	write_state(json, mv, n);
	ok(!dies(load, NULL), "a state at step 0 loads (written by hand: the test's writer is sound)");
	snprintf(json, sizeof json, "{\"step\":3,\"tokens\":96,\"adam_t\":3,\"n_params\":%zu,\"data_rng\":[\"0000000000000000\","
		 "\"0000000000000000\",\"0000000000000000\",\"0000000000000000\"],\"params_xxh64\":" HASH "}", n);
	write_state(json, mv, n);
	ok(!dies(load, NULL), "an all-zero data_rng loads: lm-sft has none (lm-pretrain refuses to resume it)");

	/* one field at a time: its value, and the start of the message */
	static const struct { const char *key, *value, *says; } bad[] = {
		{"step", "-1", "step -1: not a whole number"},
		{"step", "-1e12", "step -1000000000000: not a whole number"},
		{"step", "1e300", "step 1e+300: not a whole number"},
		{"step", "2.5", "step 2.5: not a whole number"},
		{"step", "\"12\"", "step \"12\": not a whole number"},
		{"tokens", "-4096", "tokens -4096: not a whole number"},
		{"tokens", "1e300", "tokens 1e+300: not a whole number"},
		{"adam_t", "-1", "adam_t -1: not a whole number"},
		{"adam_t", "0.5", "adam_t 0.5: not a whole number"},
		{"n_params", "%zu.5", "n_params"},
		{"n_params", "-%zu", "n_params"},
		{"data_rng", "[\"-000000000000001\",\"0000000000000001\",\"0000000000000001\",\"0000000000000001\"]", "data_rng"},
		{"data_rng", "[\"+000000000000001\",\"0000000000000001\",\"0000000000000001\",\"0000000000000001\"]", "data_rng"},
		{"data_rng", "[\" 000000000000001\",\"0000000000000001\",\"0000000000000001\",\"0000000000000001\"]", "data_rng"},
		{"data_rng", "[\"0x00000000000001\",\"0000000000000001\",\"0000000000000001\",\"0000000000000001\"]", "data_rng"},
		{"data_rng", "[\"0000000000000001\",\"0000000000000001\",\"0000000000000001\"]", "data_rng"},
		{"params_xxh64", "\"-00000000deadbee\"", "params_xxh64"},
		{"params_xxh64", "\"00000000deadbeeg\"", "params_xxh64"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		char value[256], want[1024];
		snprintf(value, sizeof value, bad[i].value, n);
		const char *step = "12", *tokens = "3072", *adam_t = "12", *rng = "[" RNG "]", *hash = HASH;
		char np[32];
		snprintf(np, sizeof np, "%zu", n);
		const char *params = np;
		if (!strcmp(bad[i].key, "step")) step = value;
		if (!strcmp(bad[i].key, "tokens")) tokens = value;
		if (!strcmp(bad[i].key, "adam_t")) adam_t = value;
		if (!strcmp(bad[i].key, "n_params")) params = value;
		if (!strcmp(bad[i].key, "data_rng")) rng = value;
		if (!strcmp(bad[i].key, "params_xxh64")) hash = value;
		snprintf(json, sizeof json, "{\"step\":%s,\"tokens\":%s,\"adam_t\":%s,\"n_params\":%s,\"data_rng\":%s,"
			 "\"params_xxh64\":%s}", step, tokens, adam_t, params, rng, hash);
		write_state(json, mv, n);
		snprintf(want, sizeof want, "%s: training state: %s", path, bad[i].says);
		char *msg = dies(load, NULL);
		ok(msg && strstr(msg, want), "%s %s refused: %s", bad[i].key, value, msg ? msg : "(loaded)");
	}

	/* moments: first finite, second finite and not negative (a mean of squares) */
	snprintf(json, sizeof json, "{\"step\":12,\"tokens\":3072,\"adam_t\":12,\"n_params\":%zu,\"data_rng\":[" RNG
		 "],\"params_xxh64\":" HASH "}", n);
	static const struct { size_t at; float x; } moments[] = {{5, NAN}, {7, INFINITY}, {1, -1e-30f}, {3, NAN}, {2, INFINITY}};
	for (size_t i = 0; i < sizeof moments / sizeof *moments; i++) {
		size_t at = i < 2 ? moments[i].at : n + moments[i].at;
		float keep = mv[at];
		mv[at] = moments[i].x;
		write_state(json, mv, n);
		mv[at] = keep;
		char want[512];
		snprintf(want, sizeof want, "%s: training state: AdamW %s moment of parameter %zu", path,
			 i < 2 ? "first" : "second", moments[i].at);
		char *msg = dies(load, NULL);
		ok(msg && strstr(msg, want), "%s moment %g refused: %s", i < 2 ? "first" : "second", moments[i].x,
		   msg ? msg : "(loaded)");
	}
	unlink(path);
	adamw_free(opt);
	model_free(m);
	free(mv);
	return done_testing();
}
