/* layers: the Llama 2 kernels, forward and backward, in llm.c's shape.
 *
 * Free functions in pairs; arguments go outputs first, then statistics cached
 * by the forward pass, then inputs and weights, then shape integers. Backward
 * functions ACCUMULATE (+=) into parameter gradients and into input gradients
 * marked so below; the others overwrite. Activations are row-major with one row
 * per token, N rows: B·T for a training batch, or N independent tokens (e.g.
 * one new token of each of N sequences when sampling). Matrices are (out, in)
 * as in model.h. Every matmul goes through cblas_sgemm: a large product is
 * split in slabs over the OpenMP team, each thread calling OpenBLAS with
 * OpenBLAS's own thread count set to 1 for the duration (then restored), so
 * the two thread pools never compete for cores. Row loops are spread over
 * OpenMP threads; every reduction runs in a fixed order, so results do not
 * depend on thread scheduling. Call from one thread at a time per process
 * (the OpenBLAS thread count is process-wide). */
#ifndef LM_LAYERS_H
#define LM_LAYERS_H

#include <stddef.h>

/* out(N, OUT) = inp(N, IN) · w(OUT, IN)^T */
void matmul_forward(float *out, const float *inp, const float *w, int N, int IN, int OUT);
/* dinp(N, IN) += dout · w (skipped when dinp is NULL); dw(OUT, IN) += dout^T · inp */
void matmul_backward(float *dinp, float *dw, const float *dout, const float *inp, const float *w,
		     int N, int IN, int OUT);

/* out = inp / rms(inp) * weight per row of C; rstd(N) keeps 1/rms for backward. */
void rmsnorm_forward(float *out, float *rstd, const float *inp, const float *weight, int N, int C,
		     float eps);
/* dinp += (accumulates, so a residual stream's gradient can be passed), dweight += */
void rmsnorm_backward(float *dinp, float *dweight, const float *dout, const float *inp,
		      const float *weight, const float *rstd, int N, int C);

/* RoPE tables: cos/sin of pos·theta^(-2i/head_dim), (n_pos, head_dim/2) each. */
void rope_table(float *cosv, float *sinv, int n_pos, int head_dim, float theta);
/* Rotate the interleaved pairs (x[2i], x[2i+1]) of each head of each row in
 * place; row n is at position pos[n] (< the table's n_pos). x is (N, n_heads·head_dim). */
void rope_forward(float *x, const int *pos, const float *cosv, const float *sinv, int N, int n_heads,
		  int head_dim);
/* The inverse rotation, in place on the gradient. */
void rope_backward(float *dx, const int *pos, const float *cosv, const float *sinv, int N, int n_heads,
		   int head_dim);

/* Causal grouped-query attention over B sequences of T tokens.
 * q (B·T, n_heads·hd), k and v (B·T, n_kv_heads·hd) (q and k already rotated);
 * out (B·T, n_heads·hd). Query t sees key s when s <= t and seg[b·T+s] ==
 * seg[b·T+t]: several documents packed in one row do not attend across their
 * boundary (seg NULL: one segment per row); a query sees only the keys from
 * its segment's start on, so packed rows cost what their segments do. lse (B,
 * n_heads, T) keeps each query's log-sum-exp of scores for the backward, which
 * recomputes the probabilities from it instead of keeping B·n_heads·T² of
 * them. scratch holds attention_scratch_floats(T, hd, n_heads) floats. */
void attention_forward(float *out, float *lse, float *scratch, const float *q, const float *k, const float *v,
		       const int *seg, int B, int T, int n_heads, int n_kv_heads, int hd);
/* dq, dk and dv (all overwritten) from dout, for the lse and seg of the forward */
void attention_backward(float *dq, float *dk, float *dv, float *scratch, const float *dout, const float *lse,
			const float *q, const float *k, const float *v, const int *seg, int B, int T, int n_heads,
			int n_kv_heads, int hd);
long attention_scratch_floats(int T, int hd, int n_heads);

/* SwiGLU: out = silu(gate) · up, elementwise over n floats. */
void swiglu_forward(float *out, const float *gate, const float *up, long n);
/* dgate, dup overwritten. */
void swiglu_backward(float *dgate, float *dup, const float *dout, const float *gate, const float *up,
		     long n);

/* out(N, C) = rows tokens[n] of wte(vocab, C) */
void embedding_forward(float *out, const int *tokens, const float *wte, int N, int C);
/* dwte rows += dout rows */
void embedding_backward(float *dwte, const float *dout, const int *tokens, int N, int C);

/* a += b over n floats (the residual stream). */
void residual_forward(float *a, const float *b, long n);

/* probs(N, V) = softmax of each row of logits; probs may equal logits. */
void softmax_forward(float *probs, const float *logits, int N, int V);

/* Cross-entropy of N rows of logits (N, V) against targets, in one pass that
 * also replaces the logits by d(loss)/d(logits) when grad_scale != 0:
 * dlogits = (softmax - onehot) · weight[n] · grad_scale (with grad_scale 0 the
 * logits are left as scratch). Rows with weight 0
 * (or a negative target) contribute nothing and get zero gradient. losses(N)
 * receives each row's unweighted loss (0 for skipped rows). weight NULL: 1. */
void crossentropy_forward_backward(float *logits, float *losses, const int *targets,
				   const float *weight, float grad_scale, int N, int V);

#endif

/* Decoding's kernels: the products and attention of a few rows (one new
 * token per sequence). Each has an AVX-512, an AVX2 and a portable path,
 * chosen at run time from what the CPU supports; all paths give the same bits.
 *
 * The products read w(OUT, IN) packed once by decode_pack into
 * decode_packed_floats(IN, OUT) floats: panels of DECODE_GROUP columns (the
 * last one narrower, a multiple of 16, zeros past OUT), each laid out k-major.
 * matmul_decode computes outputs j0..j1 of every row of
 * out(N, OUT) = inp(N, IN)·w(OUT, IN)^T on the calling thread (callers split
 * OUT between their threads, at multiples of DECODE_GROUP). Each output is one
 * fma chain over k = 0..IN-1, from 0: the same bits whatever N, the path or
 * the split, so a row's result does not depend on the other rows. */
#define DECODE_GROUP 64
size_t decode_packed_floats(int IN, int OUT);
void decode_pack(float *p, const float *w, int IN, int OUT);
void matmul_decode(float *out, const float *inp, const float *p, int N, int IN, int OUT, int j0, int j1);

/* The path in use (simd.h's SIMD_AVX512, SIMD_AVX2 or SIMD_PORTABLE) and its name. */
int decode_path(void);
const char *decode_kernel(void);
/* Use the named path ("avx512", "avx2", "portable") from now on (tests
 * compare them); 0 when the CPU lacks it or the name is unknown. */
int decode_use(const char *name);
