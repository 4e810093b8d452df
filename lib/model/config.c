#include "model.h"
#include "util.h"
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void config_default(lm_config *c) {
	memset(c, 0, sizeof *c);
	c->multiple_of = 256;
	c->norm_eps = 1e-5f;
	c->rope_theta = 10000.0f;
	c->max_seq_len = 2048;
}

/* Every key: its field in c and the values it may take. The ranges hold any
 * Llama (3.1 405B: dim 16384, hidden_dim 53248, 126 layers, 128 heads, a
 * 128256-token vocabulary, 131072 positions) with room to spare, and keep
 * what the values size far inside the integers that hold them: a parameter
 * block below 2^47 floats, sums of positions or widths inside an int. 0 for
 * n_kv_heads and hidden_dim, and -1 for vocab_size (Meta's params.json), mean
 * "derive it". */
typedef struct { const char *name; int *i; float *f; double lo, hi; } key;

static int keys(lm_config *c, key *k) {
	int n = 0;
	k[n++] = (key){"dim", &c->dim, 0, 1, 1 << 16};
	k[n++] = (key){"n_layers", &c->n_layers, 0, 1, 1 << 10};
	k[n++] = (key){"n_heads", &c->n_heads, 0, 1, 1 << 10};
	k[n++] = (key){"n_kv_heads", &c->n_kv_heads, 0, 0, 1 << 10};
	k[n++] = (key){"vocab_size", &c->vocab_size, 0, -1, 1 << 24};
	k[n++] = (key){"max_seq_len", &c->max_seq_len, 0, 1, 1 << 20};
	k[n++] = (key){"hidden_dim", &c->hidden_dim, 0, 0, 1 << 18};
	k[n++] = (key){"multiple_of", &c->multiple_of, 0, 1, 1 << 16};
	k[n++] = (key){"tied", &c->tied, 0, 0, 1};
	k[n++] = (key){"ffn_dim_multiplier", 0, &c->ffn_dim_multiplier, 0, 16};
	k[n++] = (key){"norm_eps", 0, &c->norm_eps, 0, 1};
	k[n++] = (key){"rope_theta", 0, &c->rope_theta, 0, 1e12};
	return n;
}

/* NULL, or why v is not a value of k: the key, the value and the range. */
static const char *outside(const key *k, double v) {
	static char why[160];
	if (v >= k->lo && v <= k->hi) return NULL;
	int p = k->i ? 17 : 6;
	snprintf(why, sizeof why, "%s: %.*g outside [%.*g, %.*g]", k->name, p, v, p, k->lo, p, k->hi);
	return why;
}

/* Fields set directly (llama2.c headers, code) get the ranges config_set checks. */
static const char *ranges(lm_config *c) {
	key k[32];
	int n = keys(c, k);
	for (int j = 0; j < n; j++) {
		const char *why = outside(&k[j], k[j].i ? (double)*k[j].i : (double)*k[j].f);
		if (why) return why;
	}
	return NULL;
}

const char *config_finish(lm_config *c) {
	if (c->dim <= 0 || c->n_layers <= 0 || c->n_heads <= 0 || c->vocab_size <= 0)
		return "dim, n_layers, n_heads and vocab_size must be positive";
	const char *why = ranges(c);
	if (why) return why;
	if (c->n_kv_heads == 0) c->n_kv_heads = c->n_heads;
	if (c->n_heads % c->n_kv_heads) return "n_kv_heads must divide n_heads";
	if (c->dim % c->n_heads) return "n_heads must divide dim";
	if ((c->dim / c->n_heads) % 2) return "head size (dim / n_heads) must be even for RoPE";
	if (c->hidden_dim == 0) {
		/* Meta's rule: int(2·4·dim/3), times ffn_dim_multiplier, rounded up to multiple_of */
		int h = (int)(2 * (4 * c->dim) / 3);
		if (c->ffn_dim_multiplier > 0) h = (int)(c->ffn_dim_multiplier * h);
		c->hidden_dim = c->multiple_of * ((h + c->multiple_of - 1) / c->multiple_of);
	}
	if (c->hidden_dim <= 0) return "hidden_dim must be positive";
	if (!(c->norm_eps > 0) || !(c->rope_theta > 0)) return "norm_eps and rope_theta must be positive";
	if (c->head == LM_HEAD_SCORE) c->tied = 0;   /* no vocabulary head to tie */
	/* a hidden_dim from the rule must fit its range too */
	return ranges(c);
}

int config_set(lm_config *c, const char *name, const char *s, const char *what) {
	if (!strcmp(name, "head")) {   /* the one key whose values are names */
		if (!strcmp(s, "lm")) c->head = LM_HEAD_LM;
		else if (!strcmp(s, "score")) c->head = LM_HEAD_SCORE;
		else die("%s: head: \"%s\": must be \"lm\" or \"score\"", what, s);
		return 1;
	}
	key k[32];
	int n = keys(c, k);
	for (int j = 0; j < n; j++) {
		if (strcmp(name, k[j].name)) continue;
		double v;
		if (!strcmp(s, "true") || !strcmp(s, "false") || !strcmp(s, "null")) {
			v = !strcmp(s, "true");
		} else {
			/* read as a double, so that a value past int is refused, not wrapped */
			char *end;
			v = strtod(s, &end);
			if (end == s || *end || (k[j].i && v != floor(v)))
				die("%s: %s: not %s: '%s'", what, name, k[j].i ? "an integer" : "a number", s);
		}
		const char *why = outside(&k[j], v);
		if (why) die("%s: %s", what, why);
		if (k[j].i) *k[j].i = (int)v;
		else *k[j].f = (float)v;
		return 1;
	}
	return 0;
}

void config_from_json(lm_config *c, const char *json, const char *path) {
	cJSON *root = cJSON_Parse(json);
	if (!root || !cJSON_IsObject(root)) die("%s: not a JSON object", path);
	for (cJSON *it = root->child; it; it = it->next) {
		char num[64];
		if (cJSON_IsNumber(it)) snprintf(num, sizeof num, "%.17g", it->valuedouble);
		else if (cJSON_IsBool(it)) snprintf(num, sizeof num, "%s", cJSON_IsTrue(it) ? "true" : "false");
		else if (cJSON_IsNull(it)) snprintf(num, sizeof num, "null");
		else if (cJSON_IsString(it) && !strcmp(it->string, "head")) snprintf(num, sizeof num, "%.20s", it->valuestring);
		else continue;
		/* integers written as 1e-05 etc. are fine for floats; ints must be integral */
		if (cJSON_IsNumber(it) && it->valuedouble == floor(it->valuedouble) && fabs(it->valuedouble) < 1e15)
			snprintf(num, sizeof num, "%lld", (long long)it->valuedouble);
		config_set(c, it->string, num, path); /* keys lmkit does not use are ignored */
	}
	cJSON_Delete(root);
}

char *config_to_json(const lm_config *c) {
	char *s = xmalloc(512);
	/* "head" only for score models: a language model's config reads as before */
	snprintf(s, 512,
		 "{\"dim\":%d,\"n_layers\":%d,\"n_heads\":%d,\"n_kv_heads\":%d,\"vocab_size\":%d,"
		 "\"hidden_dim\":%d,\"multiple_of\":%d,\"ffn_dim_multiplier\":%.9g,\"norm_eps\":%.9g,"
		 "\"rope_theta\":%.9g,\"max_seq_len\":%d,\"tied\":%s%s}",
		 c->dim, c->n_layers, c->n_heads, c->n_kv_heads, c->vocab_size, c->hidden_dim,
		 c->multiple_of, c->ffn_dim_multiplier, c->norm_eps, c->rope_theta, c->max_seq_len,
		 c->tied ? "true" : "false", c->head == LM_HEAD_SCORE ? ",\"head\":\"score\"" : "");
	return s;
}

char *config_to_hf_json(const lm_config *c) {
	int score = c->head == LM_HEAD_SCORE;
	char *s = xmalloc(1024);
	/* a score model: one label, and a pad token so that transformers scores
	 * each sequence at its last non-pad token, where lmkit scores it */
	snprintf(s, 1024,
		 "{\n  \"architectures\": [\"%s\"],\n  \"model_type\": \"llama\",\n%s"
		 "  \"hidden_size\": %d,\n  \"intermediate_size\": %d,\n  \"num_hidden_layers\": %d,\n"
		 "  \"num_attention_heads\": %d,\n  \"num_key_value_heads\": %d,\n  \"vocab_size\": %d,\n"
		 "  \"max_position_embeddings\": %d,\n  \"rms_norm_eps\": %.9g,\n  \"rope_theta\": %.9g,\n"
		 "  \"tie_word_embeddings\": %s,\n  \"hidden_act\": \"silu\",\n  \"attention_bias\": false,\n"
		 "  \"bos_token_id\": 1,\n  \"eos_token_id\": 2,\n  \"torch_dtype\": \"float32\"\n}\n",
		 score ? "LlamaForSequenceClassification" : "LlamaForCausalLM",
		 score ? "  \"num_labels\": 1,\n  \"id2label\": {\"0\": \"LABEL_0\"},\n"
			 "  \"label2id\": {\"LABEL_0\": 0},\n  \"pad_token_id\": 0,\n" : "",
		 c->dim, c->hidden_dim, c->n_layers, c->n_heads, c->n_kv_heads, c->vocab_size,
		 c->max_seq_len, c->norm_eps, c->rope_theta, c->tied ? "true" : "false");
	return s;
}
