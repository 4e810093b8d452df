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

const char *config_finish(lm_config *c) {
	if (c->dim <= 0 || c->n_layers <= 0 || c->n_heads <= 0 || c->vocab_size <= 0)
		return "dim, n_layers, n_heads and vocab_size must be positive";
	if (c->n_kv_heads == 0) c->n_kv_heads = c->n_heads;
	if (c->n_kv_heads < 0 || c->n_heads % c->n_kv_heads) return "n_kv_heads must divide n_heads";
	if (c->dim % c->n_heads) return "n_heads must divide dim";
	if ((c->dim / c->n_heads) % 2) return "head size (dim / n_heads) must be even for RoPE";
	if (c->max_seq_len <= 0) return "max_seq_len must be positive";
	if (c->hidden_dim == 0) {
		/* Meta's rule: int(2·4·dim/3), times ffn_dim_multiplier, rounded up to multiple_of */
		if (c->multiple_of <= 0) return "multiple_of must be positive";
		int h = (int)(2 * (4 * c->dim) / 3);
		if (c->ffn_dim_multiplier > 0) h = (int)(c->ffn_dim_multiplier * h);
		c->hidden_dim = c->multiple_of * ((h + c->multiple_of - 1) / c->multiple_of);
	}
	if (c->hidden_dim <= 0) return "hidden_dim must be positive";
	if (!(c->norm_eps > 0) || !(c->rope_theta > 0)) return "norm_eps and rope_theta must be positive";
	if (c->head == LM_HEAD_SCORE) c->tied = 0;   /* no vocabulary head to tie */
	return NULL;
}

int config_set(lm_config *c, const char *key, const char *v) {
	if (!strcmp(key, "head")) {
		if (!strcmp(v, "lm")) c->head = LM_HEAD_LM;
		else if (!strcmp(v, "score")) c->head = LM_HEAD_SCORE;
		else die("head: \"%s\": must be \"lm\" or \"score\"", v);
		return 1;
	}
	struct { const char *key; int *i; float *f; } keys[] = {
		{"dim", &c->dim, 0}, {"n_layers", &c->n_layers, 0}, {"n_heads", &c->n_heads, 0},
		{"n_kv_heads", &c->n_kv_heads, 0}, {"vocab_size", &c->vocab_size, 0},
		{"max_seq_len", &c->max_seq_len, 0}, {"hidden_dim", &c->hidden_dim, 0},
		{"multiple_of", &c->multiple_of, 0}, {"tied", &c->tied, 0},
		{"ffn_dim_multiplier", 0, &c->ffn_dim_multiplier}, {"norm_eps", 0, &c->norm_eps},
		{"rope_theta", 0, &c->rope_theta},
	};
	for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
		if (strcmp(key, keys[k].key)) continue;
		if (keys[k].i) {
			if (!strcmp(v, "true")) *keys[k].i = 1;
			else if (!strcmp(v, "false") || !strcmp(v, "null")) *keys[k].i = 0;
			else *keys[k].i = (int)parse_int(key, v);
		} else {
			*keys[k].f = !strcmp(v, "null") ? 0 : (float)parse_float(key, v);
		}
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
		else if (cJSON_IsString(it) && !strcmp(it->string, "head")) snprintf(num, sizeof num, "%s", it->valuestring);
		else continue;
		/* integers written as 1e-05 etc. are fine for floats; ints must be integral */
		if (cJSON_IsNumber(it) && it->valuedouble == floor(it->valuedouble) && fabs(it->valuedouble) < 1e15)
			snprintf(num, sizeof num, "%lld", (long long)it->valuedouble);
		config_set(c, it->string, num); /* keys lmkit does not use are ignored */
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
