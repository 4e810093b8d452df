/* flash: causal grouped-query attention on the tensor cores (bf16 operands,
 * fp32 accumulation), FlashAttention-2's way: a block's 64 queries (or keys)
 * in registers against tiles of 64 keys (or queries) in shared memory, no
 * T×T matrix anywhere, the backward recomputing the probabilities from each
 * query's log-sum-exp. Layouts and masks are gpu.cu's: q (B·T, NH·hd), k
 * and v (B·T, NKV·hd) and dout in bf16, the outputs and gradients fp32;
 * query t of row b sees keys segstart[b·T+t] .. t; lse and delta (B, NH,
 * T). Deterministic: dq and dk/dv come from separate passes, each summing in
 * a fixed order. Head sizes that are multiples of 16 up to 128 (flash_fits). */
#ifndef LM_FLASH_H
#define LM_FLASH_H

int flash_fits(int hd);
/* out (fp32) and, when out16, its bf16 copy (for the next product); a CUDA
 * header: its includers have cuda_bf16.h */
void flash_forward(float *out, __nv_bfloat16 *out16, float *lse, const __nv_bfloat16 *q, const __nv_bfloat16 *k,
		   const __nv_bfloat16 *v, const int *segstart, int B, int T, int NH, int NKV, int hd);
/* dq, dk, dv overwritten; delta = Σ_d dout·out per query (as gpu.cu's k_att_delta) */
void flash_backward(float *dq, float *dk, float *dv, const __nv_bfloat16 *dout, const float *lse, const float *delta,
		    const __nv_bfloat16 *q, const __nv_bfloat16 *k, const __nv_bfloat16 *v, const int *segstart,
		    const int *segend, int B, int T, int NH, int NKV, int hd);

#endif
