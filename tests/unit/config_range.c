/* Configuration values are range-checked (issue 9, item 5): every key at its
 * bound and one past it, values past int that used to wrap, fields set
 * directly, a hidden_dim derived past its range; real Llama sizes pass. */
#include "tap.h"
#include "dies.h"
#include "model.h"
#include "util.h"
#include <string.h>

typedef struct { const char *key, *value, *what, *json; } call;
static void set_call(void *a) {
	const call *c = a;
	lm_config cfg;
	config_default(&cfg);
	if (c->json) config_from_json(&cfg, c->json, c->what);
	else config_set(&cfg, c->key, c->value, c->what);
}
/* config_set or config_from_json in a child: its stderr when it died, else NULL */
static char *set_dies(const char *key, const char *value, const char *what) {
	return dies(set_call, &(call){key, value, what, NULL});
}
static char *json_dies(const char *json, const char *path) {
	return dies(set_call, &(call){NULL, NULL, path, json});
}



static int has(const char *msg, const char *want) { return msg && strstr(msg, want); }

static lm_config tiny(void) {
	lm_config c;
	config_default(&c);
	c.dim = 16; c.n_layers = 1; c.n_heads = 2; c.vocab_size = 8; c.max_seq_len = 8; c.hidden_dim = 8;
	return c;
}

int main(int argc, char **argv) {
	lm_init(argc, argv);
	lm_config c;

	/* the largest Llama there is passes, its FFN width by Meta's rule */
	config_default(&c);
	config_from_json(&c, "{\"dim\": 16384, \"n_layers\": 126, \"n_heads\": 128, \"n_kv_heads\": 8,"
			     " \"vocab_size\": 128256, \"multiple_of\": 1024, \"ffn_dim_multiplier\": 1.2,"
			     " \"norm_eps\": 1e-05, \"rope_theta\": 500000.0, \"max_seq_len\": 131072}", "405b.json");
	ok(config_finish(&c) == NULL && c.hidden_dim == 53248, "Llama 3.1 405B accepted (hidden_dim %d)", c.hidden_dim);
	ok(params_count(&c) > 400000000000ull, "  its %zu parameters counted", params_count(&c));

	/* each integer key: its bound is a value, one past it is not, and the message says so */
	static const struct { const char *key; long long lo, hi; } ints[] = {
		{"dim", 1, 65536}, {"n_layers", 1, 1024}, {"n_heads", 1, 1024}, {"n_kv_heads", 0, 1024},
		{"vocab_size", -1, 16777216}, {"max_seq_len", 1, 1048576}, {"hidden_dim", 0, 262144},
		{"multiple_of", 1, 65536}, {"tied", 0, 1},
	};
	for (size_t i = 0; i < sizeof ints / sizeof *ints; i++) {
		char v[32], want[128];
		snprintf(v, sizeof v, "%lld", ints[i].hi);
		ok(!set_dies(ints[i].key, v, "p.json"), "%s = %s accepted", ints[i].key, v);
		snprintf(v, sizeof v, "%lld", ints[i].hi + 1);
		snprintf(want, sizeof want, "p.json: %s: %s outside [%lld, %lld]", ints[i].key, v, ints[i].lo, ints[i].hi);
		ok(has(set_dies(ints[i].key, v, "p.json"), want), "%s = %s refused: %s", ints[i].key, v, want);
		snprintf(v, sizeof v, "%lld", ints[i].lo - 1);
		ok(set_dies(ints[i].key, v, "p.json"), "%s = %s refused", ints[i].key, v);
	}

	/* values past int were cast, and wrapped to small ones */
	ok(has(json_dies("{\"dim\": 4294967360}", "w.json"), "w.json: dim: 4294967360 outside [1, 65536]"),
	   "\"dim\": 4294967360 refused, naming the file (was read as 64)");
	ok(has(set_dies("dim", "4294967328", "--set"), "--set: dim: 4294967328 outside"),
	   "--set dim=4294967328 refused (was a dim-32 model)");
	ok(has(set_dies("n_layers", "-4294967295", "--set"), "--set: n_layers: -4294967295 outside"),
	   "--set n_layers=-4294967295 refused (was 1)");
	ok(has(json_dies("{\"max_seq_len\": 1e30}", "e.json"), "e+30 outside [1, 1048576]"),
	   "\"max_seq_len\": 1e30 is out of range, not \"not an integer\"");
	ok(has(json_dies("{\"n_heads\": 2.5}", "f.json"), "f.json: n_heads: not an integer"), "fractional integer refused");
	ok(has(set_dies("dim", "64x", "--set"), "--set: dim: not an integer: '64x'"), "trailing garbage refused");

	/* floats: finite and in range */
	ok(has(set_dies("norm_eps", "nan", "--set"), "--set: norm_eps: nan outside [0, 1]"), "norm_eps NaN refused");
	ok(has(set_dies("rope_theta", "inf", "--set"), "--set: rope_theta: inf outside [0, 1e+12]"), "rope_theta inf refused");
	ok(set_dies("ffn_dim_multiplier", "-1", "--set"), "negative ffn_dim_multiplier refused");
	ok(has(json_dies("{\"ffn_dim_multiplier\": 1e300}", "m.json"), "m.json: ffn_dim_multiplier: 1e+300 outside [0, 16]"),
	   "ffn_dim_multiplier 1e300 refused");
	ok(!set_dies("ffn_dim_multiplier", "null", "--set") && !set_dies("rope_theta", "1e6", "--set"),
	   "null multiplier and rope_theta 1e6 accepted");
	ok(!json_dies("{\"vocab_size\": -1, \"unknown\": 1e300}", "meta.json"),
	   "Meta's vocab_size -1 accepted, unknown keys ignored");

	/* fields set directly, as a llama2.c header does, are checked by config_finish */
	c = tiny();
	ok(config_finish(&c) == NULL, "tiny config accepted");
	c = tiny(); c.max_seq_len = 2147483647;
	const char *why = config_finish(&c);
	ok(why && !strcmp(why, "max_seq_len: 2147483647 outside [1, 1048576]"), "max_seq_len INT_MAX refused: %s", why);
	c = tiny(); c.n_kv_heads = -2;
	ok(config_finish(&c) != NULL, "negative n_kv_heads refused");
	c = tiny(); c.tied = 7;
	ok(config_finish(&c) != NULL, "tied 7 refused");
	c = tiny(); c.norm_eps = NAN;
	ok(config_finish(&c) != NULL, "NaN norm_eps refused");
	c = tiny(); c.multiple_of = 0;
	ok(config_finish(&c) != NULL, "multiple_of 0 refused");
	/* a hidden_dim from Meta's rule past its range: 2·4·65536/3 · 16 */
	c = tiny(); c.dim = 65536; c.n_heads = 8; c.hidden_dim = 0; c.ffn_dim_multiplier = 16;
	why = config_finish(&c);
	ok(why && strstr(why, "hidden_dim: 2796288 outside"), "derived hidden_dim past its range refused: %s", why);
	c = tiny(); c.hidden_dim = 0; c.ffn_dim_multiplier = 0.01f;
	ok(config_finish(&c) != NULL, "derived hidden_dim of 0 refused");
	return done_testing();
}
