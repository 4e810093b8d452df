/* flash.cu: flash.h's kernels, FlashAttention-2's way on PTX's mma.sync
 * (m16n8k16: bf16 operands, fp32 accumulators). A block holds a tile of 64
 * rows (queries in the forward and dq passes, keys in the dk/dv pass) and each
 * of its four warps owns 16 of them, keeping their operands, scores, softmax
 * statistics and accumulators in registers: in PTX's fragment layouts a
 * product's accumulator, rounded to bf16, is the left operand of the next, so
 * scores and probabilities never go through memory. Only the tile of the other
 * side (keys and values, or queries and output gradients), which the four
 * warps share, is staged in shared memory as bf16: in rows where a product
 * takes it as B = X^T, transposed where it takes it as B = X.
 *
 * Fragments are mma.h's (lane = 4g + t). Scores are kept in base 2 (scaled by
 * log2(e)/sqrt(hd)) so that the softmax is exp2; lse stays in base e. */
#include <cuda_bf16.h>
#include <limits.h>
#include <math.h>

#include "mma.h"

extern "C" {
#include "flash.h"
void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
}

typedef __nv_bfloat16 bf16;

#define TILE 64    /* rows of a block, and keys (or queries) of a step */
#define THREADS 128
#define PAD 8      /* bf16 a row of shared memory beyond its data: fragment loads hit 32 banks */
#define LOG2E 1.4426950408889634f
#define LN2 0.6931471805599453f

#define CK(x)                                                                                          \
	do {                                                                                           \
		cudaError_t e_ = (x);                                                                  \
		if (e_ != cudaSuccess) die("CUDA: %s (%s:%d)", cudaGetErrorString(e_), __FILE__, __LINE__); \
	} while (0)

__device__ static inline u32 pack(float lo, float hi) {
	__nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
	return *(u32 *)&v;
}

/* the B fragment at p: two elements at p and two at p + 8 (along k) */
__device__ static inline void mma_smem(float *d, const u32 *a, const bf16 *p) {
	mma(d, a, *(const u32 *)p, *(const u32 *)(p + 8));
}

/* 2^x by the SFU (ex2.approx: 2 ulp; 2^-inf = 0) */
__device__ static inline float ex2(float x) {
	float y;
	asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
	return y;
}

__device__ static inline float quad_max(float x) {
	x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 1));
	return fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 2));
}

__device__ static inline float quad_sum(float x) {
	x += __shfl_xor_sync(0xffffffffu, x, 1);
	return x + __shfl_xor_sync(0xffffffffu, x, 2);
}

/* A operands of a warp's 16 rows (at p, row stride ld, rows from n on zero)
 * over the head's HD columns, one per 16 columns */
template <int HD> __device__ static void load_a(u32 (*a)[4], const bf16 *p, long ld, int n, int g, int t) {
	for (int kk = 0; kk < HD / 16; kk++)
		for (int i = 0; i < 4; i++) {
			int r = g + 8 * (i & 1), c = 16 * kk + 2 * t + 8 * (i >> 1);
			a[kk][i] = r < n ? *(const u32 *)(p + r * ld + c) : 0u;
		}
}

/* The tile of 64 rows at src (row stride ld, HD columns; rows from n on zero)
 * into shared memory: rows[r·(HD+PAD) + c] and, when cols, cols[c·(TILE+PAD)
 * + r]. With cols, consecutive threads take consecutive rows, so that their
 * 2-byte stores land in consecutive addresses. */
template <int HD> __device__ static void stage(bf16 *rows, bf16 *cols, const bf16 *src, long ld, int n) {
	for (int i = threadIdx.x; i < TILE * HD / 8; i += THREADS) {
		int r = cols ? i % TILE : i / (HD / 8), c = 8 * (cols ? i / TILE : i % (HD / 8));
		uint4 x = r < n ? *(const uint4 *)(src + r * ld + c) : make_uint4(0, 0, 0, 0);
		if (rows) *(uint4 *)(rows + r * (HD + PAD) + c) = x;
		if (cols) {
			const bf16 *e = (const bf16 *)&x;
			for (int j = 0; j < 8; j++) cols[(c + j) * (TILE + PAD) + r] = e[j];
		}
	}
}

/* x, y (two accumulators of 8 columns each) = a·X^T and b·Y^T over rows
 * 16c..16c+15 of the staged tiles X and Y (rows of HD + PAD): the backward's
 * scores and their gradients, 16 columns at a time */
template <int HD>
__device__ static inline void two_products(float (*x)[4], float (*y)[4], const u32 (*a)[4], const u32 (*b)[4],
					   const bf16 *X, const bf16 *Y, int c, int g, int t) {
	for (int jj = 0; jj < 2; jj++)
		for (int e = 0; e < 4; e++) x[jj][e] = y[jj][e] = 0;
	for (int kk = 0; kk < HD / 16; kk++)
		for (int jj = 0; jj < 2; jj++) {
			int off = (16 * c + 8 * jj + g) * (HD + PAD) + 16 * kk + 2 * t;
			mma_smem(x[jj], a[kk], X + off);
			mma_smem(y[jj], b[kk], Y + off);
		}
}

#define ROWS(hd) (TILE * ((hd) + PAD))
#define COLS(hd) ((hd) * (TILE + PAD))

/* a block: 64 queries of head h of row b; blockIdx.z counts tiles from the
 * last, so that the longest (causal) run first */
template <int HD>
__global__ static void __launch_bounds__(THREADS) k_fwd(float *out, bf16 *out16, float *lse, const bf16 *q, const bf16 *k,
							 const bf16 *v, const int *segstart, int T, int NH, int NKV,
							 float sl2) {
	extern __shared__ __align__(16) unsigned char sm[];
	bf16 *Ks = (bf16 *)sm, *Vt = Ks + ROWS(HD);
	int h = blockIdx.x, b = blockIdx.y, q0 = (gridDim.z - 1 - blockIdx.z) * TILE, nq = min(TILE, T - q0);
	int kh = h / (NH / NKV), qd = NH * HD, kvd = NKV * HD;
	int r0 = 16 * (threadIdx.x / 32), g = threadIdx.x % 32 / 4, t = threadIdx.x % 4;
	const int *sgs = segstart + (long)b * T;
	const bf16 *kb = k + (long)b * T * kvd + kh * HD, *vb = v + (long)b * T * kvd + kh * HD;
	u32 qa[HD / 16][4];
	load_a<HD>(qa, q + ((long)b * T + q0 + r0) * qd + h * HD, qd, nq - r0, g, t);
	/* the lane's two rows see keys lo..at; rows past the tile's end none */
	int at[2], lo[2];
	for (int i = 0; i < 2; i++) {
		int r = r0 + g + 8 * i;
		at[i] = q0 + r;
		lo[i] = r < nq ? sgs[q0 + r] : INT_MAX;
	}
	/* a tile of keys that every row of the warp sees whole needs no mask */
	int lo_warp = __reduce_max_sync(0xffffffffu, max(lo[0], lo[1]));
	float o[HD / 8][4] = {}, m[2] = {-INFINITY, -INFINITY}, l[2] = {0, 0};
	int hi = q0 + nq - 1;
	for (int k0 = sgs[q0]; k0 <= hi; k0 += TILE) {
		bool whole = k0 >= lo_warp && k0 + TILE - 1 <= q0 + r0;
		__syncthreads();
		stage<HD>(Ks, NULL, kb + (long)k0 * kvd, kvd, hi - k0 + 1);
		stage<HD>(NULL, Vt, vb + (long)k0 * kvd, kvd, hi - k0 + 1);
		__syncthreads();
		float s[TILE / 8][4] = {};
		for (int kk = 0; kk < HD / 16; kk++)
			for (int j = 0; j < TILE / 8; j++) mma_smem(s[j], qa[kk], Ks + (8 * j + g) * (HD + PAD) + 16 * kk + 2 * t);
		/* the row maxima of the raw scores (sl2 > 0 keeps their order), masked ones -inf */
		float mx[2] = {-INFINITY, -INFINITY};
		for (int j = 0; j < TILE / 8; j++)
			for (int e = 0; e < 4; e++) {
				int i = e >> 1, key = k0 + 8 * j + 2 * t + (e & 1);
				if (!whole && (key < lo[i] || key > at[i])) s[j][e] = -INFINITY;
				mx[i] = fmaxf(mx[i], s[j][e]);
			}
		float c[2], nm[2];
		for (int i = 0; i < 2; i++) {
			float mn = fmaxf(m[i], quad_max(mx[i]) * sl2);
			c[i] = mn == -INFINITY ? 1.0f : ex2(m[i] - mn);
			m[i] = mn;
			nm[i] = mn == -INFINITY ? 0.0f : -mn; /* a row that has seen nothing: 2^(-inf + 0) = 0 */
			l[i] *= c[i];
		}
		/* the probabilities, rounded, as the A operands of P·V: key columns 16kc.. */
		u32 pa[TILE / 16][4];
		for (int j = 0; j < TILE / 8; j++) {
			float p[4];
			for (int e = 0; e < 4; e++) {
				int i = e >> 1;
				p[e] = ex2(fmaf(s[j][e], sl2, nm[i]));
				l[i] += p[e];
			}
			pa[j / 2][2 * (j & 1)] = pack(p[0], p[1]);
			pa[j / 2][2 * (j & 1) + 1] = pack(p[2], p[3]);
		}
		for (int n = 0; n < HD / 8; n++) o[n][0] *= c[0], o[n][1] *= c[0], o[n][2] *= c[1], o[n][3] *= c[1];
		for (int kc = 0; kc < TILE / 16; kc++)
			for (int n = 0; n < HD / 8; n++) mma_smem(o[n], pa[kc], Vt + (8 * n + g) * (TILE + PAD) + 16 * kc + 2 * t);
	}
	for (int i = 0; i < 2; i++) {
		float sum = quad_sum(l[i]);
		int r = r0 + g + 8 * i;
		if (r >= nq) continue;
		long at0 = ((long)b * T + q0 + r) * qd + h * HD + 2 * t;
		for (int n = 0; n < HD / 8; n++) {
			float2 y = make_float2(o[n][2 * i] / sum, o[n][2 * i + 1] / sum);
			*(float2 *)(out + at0 + 8 * n) = y;
			if (out16) *(u32 *)(out16 + at0 + 8 * n) = pack(y.x, y.y);
		}
		if (t == 0) lse[((long)b * NH + h) * T + q0 + r] = (m[i] + log2f(sum)) * LN2;
	}
}

/* a block: dq of 64 queries of head h of row b, over the keys they see (the
 * tiles counted from the last, as k_fwd's) */
template <int HD>
__global__ static void __launch_bounds__(THREADS, HD <= 64 ? 4 : 1) k_dq(float *dq, const bf16 *dout, const float *lse,
							const float *delta, const bf16 *q, const bf16 *k, const bf16 *v,
							const int *segstart, int T, int NH, int NKV, float sl2, float scale) {
	extern __shared__ __align__(16) unsigned char sm[];
	bf16 *Ks = (bf16 *)sm, *Vs = Ks + ROWS(HD), *Kt = Vs + ROWS(HD);
	int h = blockIdx.x, b = blockIdx.y, q0 = (gridDim.z - 1 - blockIdx.z) * TILE, nq = min(TILE, T - q0);
	int kh = h / (NH / NKV), qd = NH * HD, kvd = NKV * HD;
	int r0 = 16 * (threadIdx.x / 32), g = threadIdx.x % 32 / 4, t = threadIdx.x % 4;
	const int *sgs = segstart + (long)b * T;
	const bf16 *kb = k + (long)b * T * kvd + kh * HD, *vb = v + (long)b * T * kvd + kh * HD;
	u32 qa[HD / 16][4], da[HD / 16][4];
	long row0 = ((long)b * T + q0 + r0) * qd + h * HD;
	load_a<HD>(qa, q + row0, qd, nq - r0, g, t);
	load_a<HD>(da, dout + row0, qd, nq - r0, g, t);
	int at[2], lo[2];
	float L[2], D[2];
	for (int i = 0; i < 2; i++) {
		int r = r0 + g + 8 * i;
		long st = ((long)b * NH + h) * T + q0 + r;
		at[i] = q0 + r;
		lo[i] = r < nq ? sgs[q0 + r] : INT_MAX;
		L[i] = r < nq ? lse[st] * LOG2E : 0;
		D[i] = r < nq ? delta[st] : 0;
	}
	int lo_warp = __reduce_max_sync(0xffffffffu, max(lo[0], lo[1]));
	float acc[HD / 8][4] = {};
	int hi = q0 + nq - 1;
	for (int k0 = sgs[q0]; k0 <= hi; k0 += TILE) {
		bool whole = k0 >= lo_warp && k0 + TILE - 1 <= q0 + r0;
		__syncthreads();
		stage<HD>(Ks, Kt, kb + (long)k0 * kvd, kvd, hi - k0 + 1);
		stage<HD>(Vs, NULL, vb + (long)k0 * kvd, kvd, hi - k0 + 1);
		__syncthreads();
		/* S and dP of 16 keys at a time (fewer registers live: more blocks an SM),
		 * then dS = P∘(dP - delta), rounded, as the A operands of dS·K */
		u32 dsa[TILE / 16][4];
		for (int kc = 0; kc < TILE / 16; kc++) {
			float s[2][4], dp[2][4];
			two_products<HD>(s, dp, qa, da, Ks, Vs, kc, g, t);
			for (int jj = 0; jj < 2; jj++) {
				float ds[4];
				for (int e = 0; e < 4; e++) {
					int i = e >> 1, key = k0 + 16 * kc + 8 * jj + 2 * t + (e & 1);
					ds[e] = whole || (key >= lo[i] && key <= at[i]) ? ex2(fmaf(s[jj][e], sl2, -L[i])) * (dp[jj][e] - D[i]) : 0.0f;
				}
				dsa[kc][2 * jj] = pack(ds[0], ds[1]);
				dsa[kc][2 * jj + 1] = pack(ds[2], ds[3]);
			}
		}
		for (int kc = 0; kc < TILE / 16; kc++)
			for (int n = 0; n < HD / 8; n++) mma_smem(acc[n], dsa[kc], Kt + (8 * n + g) * (TILE + PAD) + 16 * kc + 2 * t);
	}
	for (int i = 0; i < 2; i++) {
		int r = r0 + g + 8 * i;
		if (r >= nq) continue;
		float *dst = dq + ((long)b * T + q0 + r) * qd + h * HD + 2 * t;
		for (int n = 0; n < HD / 8; n++) *(float2 *)(dst + 8 * n) = make_float2(scale * acc[n][2 * i], scale * acc[n][2 * i + 1]);
	}
}

/* a block: dk and dv of 64 keys of KV head kh of row b, over the heads of its
 * group and the queries that see them (the first tiles, the longest, first) */
template <int HD>
__global__ static void __launch_bounds__(THREADS) k_dkv(float *dk, float *dv, const bf16 *dout, const float *lse,
							 const float *delta, const bf16 *q, const bf16 *k,
							 const bf16 *v, const int *segstart, const int *segend, int T,
							 int NH, int NKV, float sl2, float scale) {
	extern __shared__ __align__(16) unsigned char sm[];
	bf16 *Qs = (bf16 *)sm, *Qt = Qs + ROWS(HD), *Os = Qt + COLS(HD), *Ot = Os + ROWS(HD);
	float *Lq = (float *)(Ot + COLS(HD)), *Dq = Lq + TILE;
	int *Sq = (int *)(Dq + TILE);
	int kh = blockIdx.x, b = blockIdx.y, s0 = blockIdx.z * TILE, ns = min(TILE, T - s0), rep = NH / NKV;
	int qd = NH * HD, kvd = NKV * HD;
	int r0 = 16 * (threadIdx.x / 32), g = threadIdx.x % 32 / 4, t = threadIdx.x % 4;
	const int *sgs = segstart + (long)b * T;
	u32 ka[HD / 16][4], va[HD / 16][4];
	long row0 = ((long)b * T + s0 + r0) * kvd + kh * HD;
	load_a<HD>(ka, k + row0, kvd, ns - r0, g, t);
	load_a<HD>(va, v + row0, kvd, ns - r0, g, t);
	int key[2];
	for (int i = 0; i < 2; i++) key[i] = r0 + g + 8 * i < ns ? s0 + r0 + g + 8 * i : INT_MAX;
	float ak[HD / 8][4] = {}, av[HD / 8][4] = {};
	int qhi = segend[(long)b * T + s0 + ns - 1];
	for (int h = kh * rep; h < (kh + 1) * rep; h++)
		for (int q0 = s0; q0 <= qhi; q0 += TILE) {
			int nq = min(TILE, qhi - q0 + 1);
			long qrow = ((long)b * T + q0) * qd + h * HD;
			__syncthreads();
			stage<HD>(Qs, Qt, q + qrow, qd, nq);
			stage<HD>(Os, Ot, dout + qrow, qd, nq);
			for (int r = threadIdx.x; r < TILE; r += THREADS) {
				long st = ((long)b * NH + h) * T + q0 + r;
				Lq[r] = r < nq ? lse[st] * LOG2E : 0;
				Dq[r] = r < nq ? delta[st] : 0;
				Sq[r] = r < nq ? sgs[q0 + r] : INT_MAX;
			}
			__syncthreads();
			/* every key of the warp seen by every query of the step: no mask */
			bool whole = nq == TILE && r0 + 15 < ns && q0 >= s0 + r0 + 15 && Sq[TILE - 1] <= s0 + r0;
			/* S^T and dP^T, the block's keys against 16 of the step's queries at a time */
			u32 pa[TILE / 16][4], dsa[TILE / 16][4];
			for (int qc = 0; qc < TILE / 16; qc++) {
				float s[2][4], dp[2][4];
				two_products<HD>(s, dp, ka, va, Qs, Os, qc, g, t);
				for (int jj = 0; jj < 2; jj++) {
					int c0 = 16 * qc + 8 * jj + 2 * t;
					float2 Lc = *(const float2 *)(Lq + c0), Dc = *(const float2 *)(Dq + c0);
					float p[4], ds[4];
					for (int e = 0; e < 4; e++) {
						int i = e >> 1, c = c0 + (e & 1);
						p[e] = ds[e] = 0;
						if (whole || (q0 + c >= key[i] && Sq[c] <= key[i])) {
							p[e] = ex2(fmaf(s[jj][e], sl2, -(e & 1 ? Lc.y : Lc.x)));
							ds[e] = p[e] * (dp[jj][e] - (e & 1 ? Dc.y : Dc.x));
						}
					}
					pa[qc][2 * jj] = pack(p[0], p[1]);
					pa[qc][2 * jj + 1] = pack(p[2], p[3]);
					dsa[qc][2 * jj] = pack(ds[0], ds[1]);
					dsa[qc][2 * jj + 1] = pack(ds[2], ds[3]);
				}
			}
			for (int kc = 0; kc < TILE / 16; kc++)
				for (int n = 0; n < HD / 8; n++) {
					int off = (8 * n + g) * (TILE + PAD) + 16 * kc + 2 * t;
					mma_smem(av[n], pa[kc], Ot + off);
					mma_smem(ak[n], dsa[kc], Qt + off);
				}
		}
	for (int i = 0; i < 2; i++) {
		int r = r0 + g + 8 * i;
		if (r >= ns) continue;
		long at = ((long)b * T + s0 + r) * kvd + kh * HD + 2 * t;
		for (int n = 0; n < HD / 8; n++) {
			*(float2 *)(dk + at + 8 * n) = make_float2(scale * ak[n][2 * i], scale * ak[n][2 * i + 1]);
			*(float2 *)(dv + at + 8 * n) = make_float2(av[n][2 * i], av[n][2 * i + 1]);
		}
	}
}

int flash_fits(int hd) { return hd >= 16 && hd <= 128 && hd % 16 == 0; }

template <typename K> static void smem_attr(K kernel, size_t bytes) {
	CK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)bytes));
}

template <int HD>
static void forward(float *out, bf16 *out16, float *lse, const bf16 *q, const bf16 *k, const bf16 *v,
		    const int *segstart, int B, int T, int NH, int NKV) {
	size_t sm = (ROWS(HD) + COLS(HD)) * sizeof(bf16);
	smem_attr(k_fwd<HD>, sm);
	k_fwd<HD><<<dim3(NH, B, (T + TILE - 1) / TILE), THREADS, sm>>>(out, out16, lse, q, k, v, segstart, T, NH,
									  NKV, LOG2E / sqrtf((float)HD));
	CK(cudaGetLastError());
}

template <int HD>
static void backward(float *dq, float *dk, float *dv, const bf16 *dout, const float *lse, const float *delta,
		     const bf16 *q, const bf16 *k, const bf16 *v, const int *segstart, const int *segend, int B, int T,
		     int NH, int NKV) {
	float scale = 1.0f / sqrtf((float)HD), sl2 = LOG2E * scale;
	int tiles = (T + TILE - 1) / TILE;
	size_t smq = (2 * ROWS(HD) + COLS(HD)) * sizeof(bf16), smk = 2 * (ROWS(HD) + COLS(HD)) * sizeof(bf16) + 3 * TILE * 4;
	smem_attr(k_dq<HD>, smq);
	smem_attr(k_dkv<HD>, smk);
	k_dq<HD><<<dim3(NH, B, tiles), THREADS, smq>>>(dq, dout, lse, delta, q, k, v, segstart, T, NH, NKV, sl2, scale);
	k_dkv<HD><<<dim3(NKV, B, tiles), THREADS, smk>>>(dk, dv, dout, lse, delta, q, k, v, segstart, segend, T, NH, NKV,
							sl2, scale);
	CK(cudaGetLastError());
}

#define HEAD_SIZES(X) X(16) X(32) X(48) X(64) X(80) X(96) X(112) X(128)

void flash_forward(float *out, bf16 *out16, float *lse, const bf16 *q, const bf16 *k, const bf16 *v,
		   const int *segstart, int B, int T, int NH, int NKV, int hd) {
	switch (hd) {
#define F(n) case n: forward<n>(out, out16, lse, q, k, v, segstart, B, T, NH, NKV); return;
		HEAD_SIZES(F)
#undef F
	}
	die("flash: head size %d", hd);
}

void flash_backward(float *dq, float *dk, float *dv, const bf16 *dout, const float *lse, const float *delta,
		    const bf16 *q, const bf16 *k, const bf16 *v, const int *segstart, const int *segend, int B,
		    int T, int NH, int NKV, int hd) {
	switch (hd) {
#define F(n) case n: backward<n>(dq, dk, dv, dout, lse, delta, q, k, v, segstart, segend, B, T, NH, NKV); return;
		HEAD_SIZES(F)
#undef F
	}
	die("flash: head size %d", hd);
}
