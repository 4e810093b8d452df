/* Configuration JSON (docs/FORMATS.md, "Model configuration"), as
 * lm-convert --init and lm-pretrain --config read it: config_from_json from
 * memory, then config_finish. A config that finishes must survive its own
 * writing: config_to_json read back finishes to the same config. */
#include "fuzz.h"
#include "model.h"

static void one(const uint8_t *data, size_t size) {
	char *json = fuzz_string(data, size);
	lm_config c;
	config_default(&c);
	config_from_json(&c, json, "fuzz");
	free(json);
	if (config_finish(&c)) return;
	(void)params_count(&c);
	char *again = config_to_json(&c);
	lm_config d;
	config_default(&d);
	config_from_json(&d, again, "config_to_json");
	free(again);
	const char *why = config_finish(&d);
	/* field by field: -0 and 0 are one value */
	if (why || c.dim != d.dim || c.n_layers != d.n_layers || c.n_heads != d.n_heads || c.n_kv_heads != d.n_kv_heads ||
	    c.vocab_size != d.vocab_size || c.max_seq_len != d.max_seq_len || c.hidden_dim != d.hidden_dim ||
	    c.multiple_of != d.multiple_of || c.ffn_dim_multiplier != d.ffn_dim_multiplier || c.norm_eps != d.norm_eps ||
	    c.rope_theta != d.rope_theta || c.tied != d.tied || c.head != d.head)
		abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
	fuzz_init("fuzz-config");
	return 0;
}
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_run(one, data, size); }
