/* config and parameter layout: Meta's FFN width rule, params.json keys, the tensor table. */
#include "tap.h"
#include "model.h"
#include "util.h"
#include <string.h>

int main(int argc, char **argv) {
	lm_init(argc, argv);
	lm_config c;

	config_default(&c);
	c.dim = 4096; c.n_layers = 32; c.n_heads = 32; c.vocab_size = 32000;
	ok(config_finish(&c) == NULL && c.hidden_dim == 11008, "7B hidden_dim 11008 (%d)", c.hidden_dim);
	ok(c.n_kv_heads == 32, "n_kv_heads defaults to n_heads");
	ok(params_count(&c) == 6738415616ull, "7B parameter count 6738415616 (%zu)", params_count(&c));

	config_default(&c);
	config_from_json(&c, "{\"dim\": 8192, \"multiple_of\": 4096, \"ffn_dim_multiplier\": 1.3, \"n_heads\": 64,"
			     " \"n_kv_heads\": 8, \"n_layers\": 80, \"norm_eps\": 1e-05, \"vocab_size\": -1}", "params.json");
	c.vocab_size = 32000;
	ok(config_finish(&c) == NULL && c.hidden_dim == 28672, "70B hidden_dim 28672 (%d)", c.hidden_dim);
	ok(c.n_kv_heads == 8 && c.norm_eps == 1e-5f, "params.json keys read");

	config_default(&c);
	c.dim = 64; c.n_layers = 2; c.n_heads = 4; c.n_kv_heads = 3; c.vocab_size = 10;
	ok(config_finish(&c) != NULL, "n_kv_heads not dividing n_heads refused");
	c.n_kv_heads = 2; c.dim = 66;
	ok(config_finish(&c) != NULL, "n_heads not dividing dim refused");

	config_default(&c);
	c.dim = 64; c.n_layers = 2; c.n_heads = 4; c.n_kv_heads = 2; c.vocab_size = 100; c.hidden_dim = 172;
	ok(config_finish(&c) == NULL, "explicit hidden_dim kept");
	char *js = config_to_json(&c);
	lm_config d;
	config_default(&d);
	config_from_json(&d, js, "x");
	config_finish(&d);
	ok(!memcmp(&c, &d, sizeof c), "config JSON round trip");
	free(js);

	int n = params_tensors(&c, NULL);
	lm_tensor *t = xmalloc(n * sizeof *t);
	params_tensors(&c, t);
	ok(n == 1 + 9 * 2 + 2, "untied tensor count %d", n);
	size_t end = 0;
	int contiguous = 1;
	for (int i = 0; i < n; i++) { contiguous &= t[i].offset == end; end += t[i].size; }
	ok(contiguous && end == params_count(&c), "tensors tile the block in order");
	ok(!strcmp(t[1].name, "model.layers.0.input_layernorm.weight") && !t[1].decay, "layer norm named, no decay");
	ok(!strcmp(t[2].name, "model.layers.1.input_layernorm.weight"), "per-layer tensors grouped as llama2.c");
	ok(!strcmp(t[n - 1].name, "lm_head.weight") && t[n - 1].decay, "output head last");

	lm_model *m = model_new(&c);
	model_init(m, 42);
	ok(m->p.norm[0] == 1.0f && m->p.attention_norm[0] == 1.0f, "norms start at 1");
	double s = 0, s2 = 0;
	size_t cnt = (size_t)c.vocab_size * c.dim;
	for (size_t i = 0; i < cnt; i++) { s += m->p.tok_embeddings[i]; s2 += (double)m->p.tok_embeddings[i] * m->p.tok_embeddings[i]; }
	double sd = sqrt(s2 / cnt - (s / cnt) * (s / cnt));
	ok(fabs(sd - 0.02) < 0.002, "embedding sd 0.02 (%.4f)", sd);
	lm_model *m2 = model_new(&c);
	model_init(m2, 42);
	ok(!memcmp(m->block, m2->block, m->n_params * 4), "init deterministic for a seed");
	c.tied = 1;
	ok(params_count(&c) + (size_t)c.vocab_size * c.dim == m->n_params, "tied model has no head tensor");
	model_free(m); model_free(m2); free(t);
	return done_testing();
}
