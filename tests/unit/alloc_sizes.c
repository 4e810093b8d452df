/* Buffers sized by a configuration (in range) times command-line counts:
 * sizes whose products would wrap 64 bits are refused with a reason, not
 * allocated wrapped (issue 9, item 5). */
#include "tap.h"
#include "dies.h"
#include "llama.h"
#include "sample.h"
#include "util.h"
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static lm_config cfg;
static lm_model *model;
static int rows, len;

static void workspace(void *a) { llama_ws_new(&cfg, rows, len); }
static void sampler(void *a) { sampler_new(model, rows, len); }


int main(int argc, char **argv) {
	lm_init(argc, argv);
	/* every value in range; the activations, about L·B·T·(12·dim + 6·hidden), pass 2^60 at B = 2^16 */
	config_default(&cfg);
	cfg.dim = 2048; cfg.n_heads = 1024; cfg.n_layers = 1024; cfg.hidden_dim = 8; cfg.vocab_size = 8;
	cfg.max_seq_len = 1 << 20;
	ok(config_finish(&cfg) == NULL, "config in range");
	rows = 1 << 16, len = 1 << 20;
	char *msg = dies(workspace, NULL);
	ok(msg && strstr(msg, "65536 rows of 1048576 tokens: a workspace of ") && strstr(msg, "more than memory can address"),
	   "training workspace whose size wraps refused: %s", msg ? msg : "(did not die)");

	/* a small model of many layers: its KV cache, L·batch·ld·kv_dim, reaches 2^64 at 2^30 sequences */
	config_default(&cfg);
	cfg.dim = 16; cfg.n_heads = 2; cfg.n_layers = 1024; cfg.hidden_dim = 8; cfg.vocab_size = 8;
	cfg.max_seq_len = 1 << 20;
	ok(config_finish(&cfg) == NULL, "config in range");
	model = model_new(&cfg);
	rows = 1 << 30, len = 1 << 20;
	msg = dies(sampler, NULL);
	ok(msg && strstr(msg, "sampler: 1073741824 sequences of 1048576 positions: a KV cache of ") &&
	   strstr(msg, "more than memory can address"),
	   "KV cache whose size wraps refused: %s", msg ? msg : "(did not die)");
	rows = 2, len = 64;
	ok(!dies(sampler, NULL), "a small one is made");
	model_free(model);
	return done_testing();
}
