/* model: a Llama 2 model's configuration and the layout of its parameters.
 *
 * All parameters live in one contiguous float block in llama2.c's order
 * (token embedding, all attention norms, all wq, wk, wv, wo, all ffn norms,
 * all w1, w2, w3, final norm, then the head: the vocabulary head when untied, or
 * a reward model's score head), so optimizers and
 * gradient buffers are single loops over one block, and llama2.c files map
 * straight onto it. Matrices are row-major (out, in), as torch.nn.Linear.
 *
 * RoPE layout: internally q/k rotate interleaved pairs (x[2i], x[2i+1]) as
 * Meta's and llama2.c's code does; Hugging Face checkpoints rotate halves
 * (x[i], x[i+d/2]), so checkpoint.c and hf.c permute the rows of wq and wk
 * (params_permute_rope) when they write or read safetensors. See docs/FORMATS.md. */
#ifndef LM_MODEL_H
#define LM_MODEL_H
#include <stddef.h>
#include <stdint.h>

typedef struct lm_config {
	int dim, n_layers, n_heads, n_kv_heads, vocab_size, max_seq_len;
	int hidden_dim;            /* FFN width; 0 = Llama's rule from the two below */
	int multiple_of;           /* 256 */
	float ffn_dim_multiplier;  /* 0 = none */
	float norm_eps;            /* 1e-5 */
	float rope_theta;          /* 10000 */
	int tied;                  /* output head shares the token embedding */
	int head;                  /* LM_HEAD_LM: next-token logits; LM_HEAD_SCORE: one scalar */
} lm_config;

/* What sits on the trunk's final normed hidden states. A score model (a
 * reward or value model, Hugging Face's LlamaForSequenceClassification with
 * one label) has score.weight and no vocabulary head. */
enum { LM_HEAD_LM, LM_HEAD_SCORE };

/* Pointers into the parameter block; shapes per layer l, hd = dim / n_heads. */
typedef struct lm_params {
	float *tok_embeddings;   /* (vocab, dim) */
	float *attention_norm;   /* (L, dim) */
	float *wq;               /* (L, n_heads*hd, dim) */
	float *wk;               /* (L, n_kv_heads*hd, dim) */
	float *wv;               /* (L, n_kv_heads*hd, dim) */
	float *wo;               /* (L, dim, n_heads*hd) */
	float *ffn_norm;         /* (L, dim) */
	float *w1;               /* (L, hidden, dim)  gate */
	float *w2;               /* (L, dim, hidden)  down */
	float *w3;               /* (L, hidden, dim)  up */
	float *norm;             /* (dim) */
	float *output;           /* (vocab, dim); == tok_embeddings when tied; NULL in a score model */
	float *score;            /* (1, dim) in a score model, else NULL */
} lm_params;

/* One named tensor of the block (one per layer for layer tensors). */
typedef struct lm_tensor {
	char name[64];      /* Hugging Face Llama name, e.g. model.layers.3.self_attn.q_proj.weight */
	size_t offset;      /* in floats from the start of the block */
	size_t size;        /* in floats */
	int ndim, shape[2];
	int decay;          /* weight decay applies (matrices and embeddings, not norms) */
	int rope_rows;      /* wq/wk: rows hold RoPE pairs, permuted at the Hugging Face edge */
} lm_tensor;

/* A model in memory: several may live in one process (policy, reference, reward). */
typedef struct lm_model {
	lm_config cfg;
	size_t n_params;
	float *block;       /* n_params floats, 64-byte aligned */
	lm_params p;
	uint16_t *bf16;     /* NULL, or the block in bf16 for the matmuls of generation (bf16.h) */
} lm_model;

void config_default(lm_config *c);
/* Fill derived fields (hidden_dim by Llama's rule, n_kv_heads = n_heads when 0).
 * Returns NULL or the reason the configuration is unusable. */
const char *config_finish(lm_config *c);
/* Set one field by its params.json key (also "hidden_dim", "tied", "head"); 0 if no
 * such key. Dies naming what (a file, "--set") on a value outside the key's range. */
int config_set(lm_config *c, const char *key, const char *value, const char *what);
/* Read Meta's params.json keys from a JSON object text; dies naming path. */
void config_from_json(lm_config *c, const char *json, const char *path);
/* The configuration as a one-line JSON object with params.json keys; malloc'd. */
char *config_to_json(const lm_config *c);
/* Hugging Face config.json text for transformers' LlamaForCausalLM, or
 * LlamaForSequenceClassification (one label) for a score model; malloc'd. */
char *config_to_hf_json(const lm_config *c);

size_t params_count(const lm_config *c);
void params_point(lm_params *p, const lm_config *c, float *block);
/* The tensor table in block order; returns the count, fills out when non-NULL. */
int params_tensors(const lm_config *c, lm_tensor *out);
/* Rows of wq/wk (rows a multiple of hd, the head size): lmkit, like Meta's and
 * llama2.c's code, keeps RoPE pairs interleaved within a head, row 2i+j;
 * Hugging Face keeps halves, row j·hd/2+i. to_hf moves rows from the first
 * layout to the second, !to_hf the reverse; dst and src do not overlap. */
void params_permute_rope(float *dst, const float *src, int rows, int cols, int hd, int to_hf);
/* Parameters used in matmuls (output head included, embedding lookup excluded),
 * the N of the 6N + 12·L·d·T FLOPs per token count. */
size_t params_matmul(const lm_config *c);

/* Allocate a zeroed model for a finished config. */
lm_model *model_new(const lm_config *c);
/* llama2.c model.py initialisation: normal(0, 0.02) for matrices and embedding,
 * wo and w2 scaled to 0.02/sqrt(2·n_layers), norms 1. Deterministic for seed. */
void model_init(lm_model *m, unsigned long long seed);
/* Draw only the head tensors of a score model (normal, sd 1/sqrt(dim+1)), the
 * trunk left as it is: a chat model's weights become a reward model's start. */
void model_init_head(lm_model *m, unsigned long long seed);
void model_free(lm_model *m);

/* NaN and infinite weights of m: the count in each tensor (params_tensors'
 * order) into counts when non-NULL; returns their total. */
size_t params_nonfinite(const lm_model *m, size_t *counts);

#endif
