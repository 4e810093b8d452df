/* ckpt: safetensors checkpoints round-trip exactly, are byte-identical for
 * identical models, and hold wq/wk in Hugging Face's half-split RoPE layout. */
#include "tap.h"
#include "checkpoint.h"
#include "util.h"
#include <stdint.h>
#include <string.h>
#include <unistd.h>

static char *slurp(const char *path, size_t *n) { return read_file(path, n); }

int main(int argc, char **argv) {
	lm_init(argc, argv);
	lm_config c;
	config_default(&c);
	c.dim = 16; c.n_layers = 2; c.n_heads = 4; c.n_kv_heads = 2; c.vocab_size = 37;
	c.hidden_dim = 24; c.max_seq_len = 32;
	ok(config_finish(&c) == NULL, "config");
	lm_model *m = model_new(&c);
	model_init(m, 7);
	/* norms of 1 would hide a mix-up between norm tensors */
	for (size_t i = 0; i < (size_t)c.dim; i++) m->p.norm[i] = 1 + 0.01f * i;

	char a[] = "/tmp/lmkit-ckpt-XXXXXX", b[64], tb[64];
	close(mkstemp(a));
	snprintf(b, sizeof b, "%s.2", a);
	snprintf(tb, sizeof tb, "%s.tied", a);   /* not b again: a process does not write over what it read */
	ckpt_save(m, a);
	ckpt_save(m, b);
	size_t na, nb;
	char *fa = slurp(a, &na), *fb = slurp(b, &nb);
	ok(na == nb && !memcmp(fa, fb, na), "identical models give identical files");
	uint64_t hl;
	memcpy(&hl, fa, 8);
	ok((8 + hl) % 8 == 0, "data starts 8-byte aligned");
	ok(na == 8 + hl + m->n_params * 4, "file is header plus F32 weights (%zu bytes)", na);
	ok(strstr(fa + 8, "\"lmkit_config\"") != NULL, "config in __metadata__");

	/* q_proj of layer 0 is the first rope tensor: Hugging Face's permute() of ours,
	 * w.view(heads, hd/2, 2, dim).transpose(1, 2): HF row h·hd + j·hd/2 + i = our row h·hd + 2i + j */
	int n = params_tensors(&c, NULL);
	lm_tensor *t = xmalloc(n * sizeof *t);
	params_tensors(&c, t);
	int q = -1;
	for (int i = 0; i < n; i++) if (!strcmp(t[i].name, "model.layers.1.self_attn.k_proj.weight")) q = i;
	const float *file = (const float *)(fa + 8 + hl) + t[q].offset, *ours = m->block + t[q].offset;
	int hd = c.dim / c.n_heads, perm_ok = 1;
	for (int h = 0; h < c.n_kv_heads; h++)
		for (int i = 0; i < hd / 2; i++)
			for (int j = 0; j < 2; j++)
				perm_ok &= !memcmp(file + (size_t)(h * hd + j * hd / 2 + i) * c.dim,
						   ours + (size_t)(h * hd + 2 * i + j) * c.dim, c.dim * sizeof(float));
	ok(perm_ok, "k_proj rows written in Hugging Face's half-split layout");
	ok(memcmp(file, ours, t[q].size * 4) != 0, "and that layout differs from ours");

	lm_model *r = ckpt_load(a);
	ok(r->n_params == m->n_params && !memcmp(&r->cfg, &m->cfg, sizeof c), "config read back");
	ok(!memcmp(r->block, m->block, m->n_params * 4), "weights read back exactly");
	model_free(r);

	c.tied = 1;
	lm_model *tm = model_new(&c);
	model_init(tm, 9);
	ckpt_save(tm, tb);
	r = ckpt_load(tb);
	ok(r->cfg.tied && r->p.output == r->p.tok_embeddings, "tied model: no lm_head, output shares embedding");
	ok(!memcmp(r->block, tm->block, tm->n_params * 4), "tied weights read back exactly");
	model_free(r);
	model_free(tm);

	unlink(a);
	unlink(b);
	unlink(tb);
	free(fa); free(fb); free(t);
	model_free(m);
	return done_testing();
}
