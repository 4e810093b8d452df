/* gguf: GGUF version 3 as ggml's docs/gguf.md specifies it, little-endian.
 *
 * The file is: "GGUF", version, tensor count, key count; the metadata keys;
 * one info record a tensor (name, dimensions innermost first, ggml type,
 * offset into the data); zero padding to general.alignment; the tensors, each
 * starting at a multiple of the alignment. Everything before the data is built
 * in memory, then the weights are streamed one tensor at a time.
 *
 * wq and wk are written as they are in memory: llama.cpp's llama architecture
 * rotates interleaved RoPE pairs, Meta's layout and lmkit's, so the Hugging
 * Face permutation of checkpoint.c does not apply here. */
#include "gguf.h"
#include "spm.h"
#include "util.h"
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ALIGNMENT 32

/* gguf.md's value types and ggml's tensor types, the ones written here */
enum { T_UINT32 = 4, T_INT32 = 5, T_FLOAT32 = 6, T_BOOL = 7, T_STRING = 8, T_ARRAY = 9 };
enum { GGML_F32 = 0, GGML_F16 = 1 };
/* general.file_type: all F32, or F16 but for 1-D tensors */
enum { FTYPE_ALL_F32 = 0, FTYPE_MOSTLY_F16 = 1 };

static void put_u32(lm_bytes *b, uint32_t v) { bytes_put(b, &v, 4); }
static void put_u64(lm_bytes *b, uint64_t v) { bytes_put(b, &v, 8); }
static void put_str(lm_bytes *b, const char *s) {
	put_u64(b, strlen(s));
	bytes_put(b, s, strlen(s));
}

/* One key; the caller writes its value. */
static void key(lm_bytes *b, uint64_t *count, const char *k, uint32_t type) {
	put_str(b, k);
	put_u32(b, type);
	++*count;
}
static void kv_u32(lm_bytes *b, uint64_t *n, const char *k, uint32_t v) { key(b, n, k, T_UINT32); put_u32(b, v); }
static void kv_f32(lm_bytes *b, uint64_t *n, const char *k, float v) { key(b, n, k, T_FLOAT32); bytes_put(b, &v, 4); }
static void kv_bool(lm_bytes *b, uint64_t *n, const char *k, int v) { key(b, n, k, T_BOOL); bytes_put(b, &(uint8_t){!!v}, 1); }
static void kv_str(lm_bytes *b, uint64_t *n, const char *k, const char *v) { key(b, n, k, T_STRING); put_str(b, v); }
static void kv_array(lm_bytes *b, uint64_t *n, const char *k, uint32_t type, uint64_t len) {
	key(b, n, k, T_ARRAY);
	put_u32(b, type);
	put_u64(b, len);
}

/* lmkit's (Hugging Face's) tensor names and llama.cpp's; per-layer ones after
 * "model.layers.N." and "blk.N." */
static const char *const NAMES[][2] = {
	{"model.embed_tokens.weight", "token_embd.weight"},
	{"input_layernorm.weight", "attn_norm.weight"},
	{"self_attn.q_proj.weight", "attn_q.weight"},
	{"self_attn.k_proj.weight", "attn_k.weight"},
	{"self_attn.v_proj.weight", "attn_v.weight"},
	{"self_attn.o_proj.weight", "attn_output.weight"},
	{"post_attention_layernorm.weight", "ffn_norm.weight"},
	{"mlp.gate_proj.weight", "ffn_gate.weight"},
	{"mlp.down_proj.weight", "ffn_down.weight"},
	{"mlp.up_proj.weight", "ffn_up.weight"},
	{"model.norm.weight", "output_norm.weight"},
	{"lm_head.weight", "output.weight"},
};

static void gguf_name(char *out, size_t cap, const char *name) {
	int layer = -1, skip = 0;
	if (sscanf(name, "model.layers.%d.%n", &layer, &skip) == 1 && skip) name += skip;
	for (size_t i = 0; i < sizeof NAMES / sizeof *NAMES; i++) {
		if (strcmp(name, NAMES[i][0])) continue;
		if (layer >= 0) snprintf(out, cap, "blk.%d.%s", layer, NAMES[i][1]);
		else snprintf(out, cap, "%s", NAMES[i][1]);
		return;
	}
	die("gguf: no llama.cpp name for tensor %s", name);
}

static int little_endian(void) {
	const uint16_t one = 1;
	return *(const uint8_t *)&one == 1;
}

/* Round to nearest even; a weight beyond F16's range is an error, not infinity. */
static void to_f16(uint16_t *dst, const float *src, size_t n, const char *name, const char *model_path) {
	for (size_t i = 0; i < n; i++) {
		_Float16 h = (_Float16)src[i];
		if (!isfinite((float)h))
			die("%s: tensor %s: %g is not representable as F16", model_path, name, src[i]);
		memcpy(&dst[i], &h, 2);
	}
}

void gguf_save(const lm_model *m, const char *model_path, const char *tok_path, int f16, const char *path) {
	if (!little_endian()) die("%s: GGUF writing needs a little-endian machine", path);
	const lm_config *c = &m->cfg;
	if (c->head != LM_HEAD_LM)
		die("%s: a score (reward) model: llama.cpp's llama architecture has no score head", model_path);
	size_t len;
	char *text = read_file(tok_path, &len);
	const char *err;
	spm_model *tok = spm_parse((const uint8_t *)text, len, &err);
	free(text);
	if (!tok) die("%s: %s: GGUF needs a SentencePiece .model (a llama2.c tokenizer.bin has no piece types)", tok_path, err);
	if (tok->n_pieces != (size_t)c->vocab_size)
		die("%s: %zu pieces, but the model's vocab_size is %d", tok_path, tok->n_pieces, c->vocab_size);
	const spm_trainer_spec *ts = &tok->trainer;
	int ids[4] = {ts->bos_id, ts->eos_id, ts->unk_id, ts->pad_id};
	for (int i = 0; i < 4; i++)
		if (ids[i] < -1 || ids[i] >= c->vocab_size)
			die("%s: special token id %d is outside the vocabulary", tok_path, ids[i]);

	lm_bytes b = {0};
	uint64_t nkv = 0;
	kv_str(&b, &nkv, "general.architecture", "llama");
	kv_u32(&b, &nkv, "general.alignment", ALIGNMENT);
	kv_u32(&b, &nkv, "general.file_type", f16 ? FTYPE_MOSTLY_F16 : FTYPE_ALL_F32);
	kv_u32(&b, &nkv, "llama.vocab_size", c->vocab_size);
	kv_u32(&b, &nkv, "llama.context_length", c->max_seq_len);
	kv_u32(&b, &nkv, "llama.embedding_length", c->dim);
	kv_u32(&b, &nkv, "llama.block_count", c->n_layers);
	kv_u32(&b, &nkv, "llama.feed_forward_length", c->hidden_dim);
	kv_u32(&b, &nkv, "llama.attention.head_count", c->n_heads);
	kv_u32(&b, &nkv, "llama.attention.head_count_kv", c->n_kv_heads);
	kv_u32(&b, &nkv, "llama.rope.dimension_count", c->dim / c->n_heads);
	kv_f32(&b, &nkv, "llama.rope.freq_base", c->rope_theta);
	kv_f32(&b, &nkv, "llama.attention.layer_norm_rms_epsilon", c->norm_eps);
	/* "llama" is llama.cpp's name for SentencePiece's vocabulary; its token
	 * types are SentencePiece's piece types, numbered alike (1 normal ... 6 byte) */
	kv_str(&b, &nkv, "tokenizer.ggml.model", "llama");
	kv_array(&b, &nkv, "tokenizer.ggml.tokens", T_STRING, tok->n_pieces);
	for (size_t i = 0; i < tok->n_pieces; i++) put_str(&b, tok->pieces[i].piece);
	kv_array(&b, &nkv, "tokenizer.ggml.scores", T_FLOAT32, tok->n_pieces);
	for (size_t i = 0; i < tok->n_pieces; i++) bytes_put(&b, &tok->pieces[i].score, 4);
	kv_array(&b, &nkv, "tokenizer.ggml.token_type", T_INT32, tok->n_pieces);
	for (size_t i = 0; i < tok->n_pieces; i++) put_u32(&b, (uint32_t)tok->pieces[i].type);
	static const char *const SPECIAL[4] = {
		"tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id",
		"tokenizer.ggml.unknown_token_id", "tokenizer.ggml.padding_token_id",
	};
	for (int i = 0; i < 4; i++)
		if (ids[i] >= 0) kv_u32(&b, &nkv, SPECIAL[i], ids[i]);
	/* lmkit's tools encode prompts with BOS in front and nothing after */
	kv_bool(&b, &nkv, "tokenizer.ggml.add_bos_token", ts->bos_id >= 0);
	kv_bool(&b, &nkv, "tokenizer.ggml.add_eos_token", 0);

	/* A tied model has no output.weight: llama.cpp then uses token_embd. */
	int n = params_tensors(c, NULL);
	lm_tensor *t = xmalloc(n * sizeof *t);
	params_tensors(c, t);
	lm_bytes info = {0};
	uint64_t off = 0;
	for (int i = 0; i < n; i++) {
		char name[80];
		gguf_name(name, sizeof name, t[i].name);
		int half = f16 && t[i].ndim == 2;
		put_str(&info, name);
		put_u32(&info, t[i].ndim);
		/* innermost first: a (rows, cols) matrix is ne = [cols, rows] */
		for (int d = t[i].ndim - 1; d >= 0; d--) put_u64(&info, t[i].shape[d]);
		put_u32(&info, half ? GGML_F16 : GGML_F32);
		put_u64(&info, off);
		off += t[i].size * (half ? 2 : 4);
		off = (off + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
	}

	lm_out *o = out_open(path, 0);
	out_write(o, "GGUF", 4);
	uint32_t version = 3;
	uint64_t nt = n;
	out_write(o, &version, 4);
	out_write(o, &nt, 8);
	out_write(o, &nkv, 8);
	out_write(o, b.p, b.n);
	out_write(o, info.p, info.n);
	static const uint8_t zeros[ALIGNMENT];
	size_t head = 24 + b.n + info.n;
	out_write(o, zeros, (ALIGNMENT - head % ALIGNMENT) % ALIGNMENT);
	uint16_t *h = NULL;
	off = 0;
	for (int i = 0; i < n; i++) {
		const float *w = m->block + t[i].offset;
		size_t bytes;
		if (f16 && t[i].ndim == 2) {
			h = xrealloc(h, t[i].size * sizeof *h);
			to_f16(h, w, t[i].size, t[i].name, model_path);
			out_write(o, h, bytes = t[i].size * 2);
		} else {
			out_write(o, w, bytes = t[i].size * 4);
		}
		off += bytes;
		/* the last one too: ggml's reader takes the data section as the
		 * sum of padded sizes */
		size_t pad = (ALIGNMENT - off % ALIGNMENT) % ALIGNMENT;
		out_write(o, zeros, pad);
		off += pad;
	}
	out_close(o);
	free(h);
	free(t);
	free(info.p);
	free(b.p);
	spm_free(tok);
}
