/* flash.cu: flash.h's kernels. A block holds a tile of 64 rows (queries in
 * the forward and dq passes, keys in the dk/dv pass) and its four warps own
 * 16 rows each, so the warps meet only where a tile of the other side is
 * loaded into shared memory. Products run through WMMA's 16x16x16 bf16
 * fragments with fp32 accumulators; scores, probabilities and the softmax
 * statistics stay fp32 outside the products. */
#include <cuda_bf16.h>
#include <math.h>
#include <mma.h>

extern "C" {
#include "flash.h"
void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
}

using namespace nvcuda;
typedef __nv_bfloat16 bf16;
typedef wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major> frag_a;
typedef wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::row_major> frag_b;
/* B given transposed: element (k, n) at p[n·ld + k] */
typedef wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::col_major> frag_bt;
typedef wmma::fragment<wmma::accumulator, 16, 16, 16, float> frag_c;

#define TILE 64
#define THREADS 128
#define MAXF 8   /* accumulator fragments a warp keeps for a row of hd <= 128 */

#define CK(x)                                                                                          \
	do {                                                                                           \
		cudaError_t e_ = (x);                                                                  \
		if (e_ != cudaSuccess) die("CUDA: %s (%s:%d)", cudaGetErrorString(e_), __FILE__, __LINE__); \
	} while (0)

/* strides: bf16 tiles of hd columns, fp32 tiles of 64 and of hd columns, bf16 tiles of 64 */
struct strides {
	int h, s, o, p;
	__host__ __device__ strides(int hd) : h(hd + 8), s(TILE + 4), o(hd + 4), p(TILE + 8) {}
};

__device__ static inline float warp_sum(float x) {
	for (int o = 16; o > 0; o >>= 1) x += __shfl_xor_sync(0xffffffffu, x, o);
	return x;
}

/* rows r0..r0+n-1 of src (row stride ld; the head's columns 0..hd-1) times mul
 * into the 64-row bf16 tile dst, rows from n on zero */
__device__ static void load_tile(bf16 *dst, int ldd, const float *src, long ld, int r0, int n, int hd, float mul) {
	for (int i = threadIdx.x; i < TILE * hd; i += blockDim.x) {
		int r = i / hd, d = i % hd;
		dst[r * ldd + d] = __float2bfloat16(r < n ? src[(long)(r0 + r) * ld + d] * mul : 0.0f);
	}
}

/* the key tile k0..k0+nk-1 of K and V into Ks, Vs, once every warp is done with the last */
__device__ static void next_keys(bf16 *Ks, bf16 *Vs, int ldh, const float *kb, const float *vb, long ld, int k0, int nk,
				 int hd) {
	__syncthreads();
	load_tile(Ks, ldh, kb, ld, k0, nk, hd, 1.0f);
	load_tile(Vs, ldh, vb, ld, k0, nk, hd, 1.0f);
	__syncthreads();
}

/* lse and delta of queries q0..q0+nq-1 of head h of row b into Lq, Dq (0 past nq) */
__device__ static void load_stats(float *Lq, float *Dq, const float *lse, const float *delta, int b, int h, int NH,
				  int T, int q0, int nq) {
	for (int r = threadIdx.x; r < TILE; r += blockDim.x) {
		long at = ((long)b * NH + h) * T + q0 + r;
		Lq[r] = r < nq ? lse[at] : 0;
		Dq[r] = r < nq ? delta[at] : 0;
	}
}

/* C (the warp's 16 rows x 64 columns, fp32, into dst) = A·B^T over hd: A's
 * rows at a, B's 64 rows at b, both bf16 of stride ldh */
__device__ static void rows_by_rows(float *dst, int lds, const bf16 *a, const bf16 *b, int ldh, int hd) {
	frag_c acc[TILE / 16];
	for (int j = 0; j < TILE / 16; j++) wmma::fill_fragment(acc[j], 0.0f);
	for (int kk = 0; kk < hd; kk += 16) {
		frag_a fa;
		wmma::load_matrix_sync(fa, a + kk, ldh);
		for (int j = 0; j < TILE / 16; j++) {
			frag_bt fb;
			wmma::load_matrix_sync(fb, b + 16 * j * ldh + kk, ldh);
			wmma::mma_sync(acc[j], fa, fb, acc[j]);
		}
	}
	for (int j = 0; j < TILE / 16; j++) wmma::store_matrix_sync(dst + 16 * j, acc[j], lds, wmma::mem_row_major);
}

/* acc[j] += P·X[:, 16j..16j+15]: P the warp's 16 rows x 64 (bf16, stride ldp), X 64 rows (bf16, stride ldh) */
__device__ static void accumulate(frag_c *acc, const bf16 *p, int ldp, const bf16 *x, int ldh, int hd) {
	for (int kk = 0; kk < TILE; kk += 16) {
		frag_a fa;
		wmma::load_matrix_sync(fa, p + kk, ldp);
		for (int j = 0; j < hd / 16; j++) {
			frag_b fb;
			wmma::load_matrix_sync(fb, x + kk * ldh + 16 * j, ldh);
			wmma::mma_sync(acc[j], fa, fb, acc[j]);
		}
	}
}

static size_t fwd_smem(int hd) {
	strides L(hd);
	return (size_t)3 * TILE * L.h * 2 + TILE * L.s * 4 + TILE * L.p * 2 + TILE * L.o * 4 + 2 * TILE * 4;
}

/* a block: 64 queries of head h of row b */
__global__ static void __launch_bounds__(THREADS) k_fwd(float *out, float *lse, const float *q, const float *k,
							 const float *v, const int *segstart, int T, int NH, int NKV,
							 int hd, float scale) {
	extern __shared__ __align__(128) unsigned char sm[];
	strides L(hd);
	bf16 *Qs = (bf16 *)sm, *Ks = Qs + TILE * L.h, *Vs = Ks + TILE * L.h;
	float *Ss = (float *)(Vs + TILE * L.h);
	bf16 *Ps = (bf16 *)(Ss + TILE * L.s);
	float *Os = (float *)(Ps + TILE * L.p), *rm = Os + TILE * L.o, *rl = rm + TILE;
	int h = blockIdx.y, b = blockIdx.z, kh = h / (NH / NKV), q0 = blockIdx.x * TILE, nq = min(TILE, T - q0);
	int qd = NH * hd, kvd = NKV * hd, w = threadIdx.x / 32, lane = threadIdx.x % 32;
	const int *sgs = segstart + (long)b * T;
	const float *kb = k + (long)b * T * kvd + kh * hd, *vb = v + (long)b * T * kvd + kh * hd;
	load_tile(Qs, L.h, q + (long)b * T * qd + h * hd, qd, q0, nq, hd, scale);
	for (int i = threadIdx.x; i < TILE * L.o; i += THREADS) Os[i] = 0;
	for (int r = threadIdx.x; r < TILE; r += THREADS) rm[r] = -INFINITY, rl[r] = 0;
	int hi = q0 + nq - 1;
	for (int k0 = sgs[q0]; k0 <= hi; k0 += TILE) {
		next_keys(Ks, Vs, L.h, kb, vb, kvd, k0, min(TILE, hi - k0 + 1), hd);
		rows_by_rows(Ss + 16 * w * L.s, L.s, Qs + 16 * w * L.h, Ks, L.h, hd);
		__syncwarp();
		for (int rr = 0; rr < 16; rr++) {
			int r = 16 * w + rr, t = q0 + r;
			float s[2] = {-INFINITY, -INFINITY}, p[2] = {0, 0}, c = 1;
			for (int e = 0; e < 2; e++) {
				int key = k0 + lane + 32 * e;
				if (r < nq && key >= sgs[t] && key <= t) s[e] = Ss[r * L.s + lane + 32 * e];
			}
			float mx = fmaxf(s[0], s[1]);
			for (int o = 16; o > 0; o >>= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));
			float mo = rm[r], mn = fmaxf(mo, mx);
			if (mn != -INFINITY) {
				p[0] = expf(s[0] - mn), p[1] = expf(s[1] - mn);
				c = expf(mo - mn);
			}
			float ps = warp_sum(p[0] + p[1]);
			Ps[r * L.p + lane] = __float2bfloat16(p[0]);
			Ps[r * L.p + lane + 32] = __float2bfloat16(p[1]);
			if (lane == 0) rm[r] = mn, rl[r] = rl[r] * c + ps;
			for (int d = lane; d < hd; d += 32) Os[r * L.o + d] *= c;
		}
		__syncwarp();
		frag_c acc[MAXF];
		for (int j = 0; j < hd / 16; j++) wmma::load_matrix_sync(acc[j], Os + 16 * w * L.o + 16 * j, L.o, wmma::mem_row_major);
		accumulate(acc, Ps + 16 * w * L.p, L.p, Vs, L.h, hd);
		for (int j = 0; j < hd / 16; j++) wmma::store_matrix_sync(Os + 16 * w * L.o + 16 * j, acc[j], L.o, wmma::mem_row_major);
	}
	__syncwarp();
	for (int rr = 0; rr < 16; rr++) {
		int r = 16 * w + rr, t = q0 + r;
		if (r >= nq) break;
		float l = rl[r];
		for (int d = lane; d < hd; d += 32) out[((long)b * T + t) * qd + h * hd + d] = Os[r * L.o + d] / l;
		if (lane == 0) lse[((long)b * NH + h) * T + t] = rm[r] + logf(l);
	}
}

static size_t bwd_smem(int hd) {
	strides L(hd);
	return (size_t)4 * TILE * L.h * 2 + 2 * TILE * L.s * 4 + 2 * TILE * L.p * 2 + 2 * TILE * 4;
}

/* a block: dq of 64 queries of head h of row b, over the keys they see */
__global__ static void __launch_bounds__(THREADS) k_dq(float *dq, const float *dout, const float *lse,
							const float *delta, const float *q, const float *k, const float *v,
							const int *segstart, int T, int NH, int NKV, int hd, float scale) {
	extern __shared__ __align__(128) unsigned char sm[];
	strides L(hd);
	bf16 *Qs = (bf16 *)sm, *Os = Qs + TILE * L.h, *Ks = Os + TILE * L.h, *Vs = Ks + TILE * L.h;
	float *Ss = (float *)(Vs + TILE * L.h), *Sd = Ss + TILE * L.s;
	bf16 *Ps = (bf16 *)(Sd + TILE * L.s);
	float *Lq = (float *)(Ps + 2 * TILE * L.p), *Dq = Lq + TILE;
	int h = blockIdx.y, b = blockIdx.z, kh = h / (NH / NKV), q0 = blockIdx.x * TILE, nq = min(TILE, T - q0);
	int qd = NH * hd, kvd = NKV * hd, w = threadIdx.x / 32, lane = threadIdx.x % 32;
	const int *sgs = segstart + (long)b * T;
	const float *kb = k + (long)b * T * kvd + kh * hd, *vb = v + (long)b * T * kvd + kh * hd;
	load_tile(Qs, L.h, q + (long)b * T * qd + h * hd, qd, q0, nq, hd, scale);
	load_tile(Os, L.h, dout + (long)b * T * qd + h * hd, qd, q0, nq, hd, 1.0f);
	load_stats(Lq, Dq, lse, delta, b, h, NH, T, q0, nq);
	frag_c acc[MAXF];
	for (int j = 0; j < hd / 16; j++) wmma::fill_fragment(acc[j], 0.0f);
	int hi = q0 + nq - 1;
	for (int k0 = sgs[q0]; k0 <= hi; k0 += TILE) {
		next_keys(Ks, Vs, L.h, kb, vb, kvd, k0, min(TILE, hi - k0 + 1), hd);
		rows_by_rows(Ss + 16 * w * L.s, L.s, Qs + 16 * w * L.h, Ks, L.h, hd);
		rows_by_rows(Sd + 16 * w * L.s, L.s, Os + 16 * w * L.h, Vs, L.h, hd);
		__syncwarp();
		for (int rr = 0; rr < 16; rr++) {
			int r = 16 * w + rr, t = q0 + r;
			for (int e = 0; e < 2; e++) {
				int c = lane + 32 * e, key = k0 + c;
				float ds = 0;
				if (r < nq && key >= sgs[t] && key <= t)
					ds = expf(Ss[r * L.s + c] - Lq[r]) * (Sd[r * L.s + c] - Dq[r]);
				Ps[r * L.p + c] = __float2bfloat16(ds);
			}
		}
		__syncwarp();
		accumulate(acc, Ps + 16 * w * L.p, L.p, Ks, L.h, hd);
	}
	__syncthreads();
	/* through shared memory (Ss, Sd: 64 x (hd + 4) floats fit in their 2 x 64 x 68) to rows */
	float *St = Ss;
	for (int j = 0; j < hd / 16; j++) wmma::store_matrix_sync(St + 16 * w * L.o + 16 * j, acc[j], L.o, wmma::mem_row_major);
	__syncwarp();
	for (int rr = 0; rr < 16; rr++) {
		int r = 16 * w + rr;
		if (r >= nq) break;
		for (int d = lane; d < hd; d += 32) dq[((long)b * T + q0 + r) * qd + h * hd + d] = scale * St[r * L.o + d];
	}
}

/* a block: dk and dv of 64 keys of KV head kh of row b, over the heads of its
 * group and the queries that see them */
__global__ static void __launch_bounds__(THREADS) k_dkv(float *dk, float *dv, const float *dout, const float *lse,
							 const float *delta, const float *q, const float *k,
							 const float *v, const int *segstart, const int *segend, int T,
							 int NH, int NKV, int hd, float scale) {
	extern __shared__ __align__(128) unsigned char sm[];
	strides L(hd);
	bf16 *Ks = (bf16 *)sm, *Vs = Ks + TILE * L.h, *Qs = Vs + TILE * L.h, *Os = Qs + TILE * L.h;
	float *Ss = (float *)(Os + TILE * L.h), *Sd = Ss + TILE * L.s;
	bf16 *Pt = (bf16 *)(Sd + TILE * L.s), *Dt = Pt + TILE * L.p;
	float *Lq = (float *)(Dt + TILE * L.p), *Dq = Lq + TILE;
	int kh = blockIdx.y, b = blockIdx.z, s0 = blockIdx.x * TILE, ns = min(TILE, T - s0), rep = NH / NKV;
	int qd = NH * hd, kvd = NKV * hd, w = threadIdx.x / 32, lane = threadIdx.x % 32;
	const int *sgs = segstart + (long)b * T;
	load_tile(Ks, L.h, k + (long)b * T * kvd + kh * hd, kvd, s0, ns, hd, 1.0f);
	load_tile(Vs, L.h, v + (long)b * T * kvd + kh * hd, kvd, s0, ns, hd, 1.0f);
	frag_c ak[MAXF], av[MAXF];
	for (int j = 0; j < hd / 16; j++) wmma::fill_fragment(ak[j], 0.0f), wmma::fill_fragment(av[j], 0.0f);
	int qhi = segend[(long)b * T + s0 + ns - 1];
	for (int h = kh * rep; h < (kh + 1) * rep; h++)
		for (int q0 = s0; q0 <= qhi; q0 += TILE) {
			int nq = min(TILE, qhi - q0 + 1);
			__syncthreads();
			load_tile(Qs, L.h, q + (long)b * T * qd + h * hd, qd, q0, nq, hd, scale);
			load_tile(Os, L.h, dout + (long)b * T * qd + h * hd, qd, q0, nq, hd, 1.0f);
			load_stats(Lq, Dq, lse, delta, b, h, NH, T, q0, nq);
			__syncthreads();
			rows_by_rows(Ss + 16 * w * L.s, L.s, Ks + 16 * w * L.h, Qs, L.h, hd);
			rows_by_rows(Sd + 16 * w * L.s, L.s, Vs + 16 * w * L.h, Os, L.h, hd);
			__syncwarp();
			for (int rr = 0; rr < 16; rr++) {
				int r = 16 * w + rr, key = s0 + r;
				for (int e = 0; e < 2; e++) {
					int c = lane + 32 * e, t = q0 + c;
					float p = 0, ds = 0;
					if (r < ns && c < nq && t >= key && sgs[t] <= key) {
						p = expf(Ss[r * L.s + c] - Lq[c]);
						ds = p * (Sd[r * L.s + c] - Dq[c]);
					}
					Pt[r * L.p + c] = __float2bfloat16(p);
					Dt[r * L.p + c] = __float2bfloat16(ds);
				}
			}
			__syncwarp();
			accumulate(av, Pt + 16 * w * L.p, L.p, Os, L.h, hd);
			accumulate(ak, Dt + 16 * w * L.p, L.p, Qs, L.h, hd);
		}
	__syncthreads();
	float *St = Ss;
	for (int pass = 0; pass < 2; pass++) {
		frag_c *acc = pass ? av : ak;
		float *dst = pass ? dv : dk;
		for (int j = 0; j < hd / 16; j++) wmma::store_matrix_sync(St + 16 * w * L.o + 16 * j, acc[j], L.o, wmma::mem_row_major);
		__syncwarp();
		for (int rr = 0; rr < 16; rr++) {
			int r = 16 * w + rr;
			if (r >= ns) break;
			for (int d = lane; d < hd; d += 32) dst[((long)b * T + s0 + r) * kvd + kh * hd + d] = St[r * L.o + d];
		}
		__syncwarp();
	}
}

int flash_fits(int hd) { return hd >= 16 && hd <= 16 * MAXF && hd % 16 == 0; }

void flash_forward(float *out, float *lse, const float *q, const float *k, const float *v, const int *segstart,
		   int B, int T, int NH, int NKV, int hd) {
	size_t sm = fwd_smem(hd);
	CK(cudaFuncSetAttribute(k_fwd, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)sm));
	k_fwd<<<dim3((T + TILE - 1) / TILE, NH, B), THREADS, sm>>>(out, lse, q, k, v, segstart, T, NH, NKV, hd,
								     1.0f / sqrtf((float)hd));
	CK(cudaGetLastError());
}

void flash_backward(float *dq, float *dk, float *dv, const float *dout, const float *lse, const float *delta,
		    const float *q, const float *k, const float *v, const int *segstart, const int *segend, int B,
		    int T, int NH, int NKV, int hd) {
	size_t sm = bwd_smem(hd);
	CK(cudaFuncSetAttribute(k_dq, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)sm));
	CK(cudaFuncSetAttribute(k_dkv, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)sm));
	k_dq<<<dim3((T + TILE - 1) / TILE, NH, B), THREADS, sm>>>(dq, dout, lse, delta, q, k, v, segstart, T, NH, NKV,
								    hd, 1.0f / sqrtf((float)hd));
	k_dkv<<<dim3((T + TILE - 1) / TILE, NKV, B), THREADS, sm>>>(dk, dv, dout, lse, delta, q, k, v, segstart, segend,
								      T, NH, NKV, hd, 1.0f / sqrtf((float)hd));
	CK(cudaGetLastError());
}
