/* gpu.cu: the CUDA path of gpu.h. Layout and arithmetic follow llama.c and
 * layers.c; activations are fp32 row-major with one row per token, as there.
 * A product C = A·B^T of row-major matrices is cuBLAS's column-major
 * C^T = B·A^T, so the calls below read transposed against layers.c's gemm. */
#include <cooperative_groups.h>
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mma.h"

extern "C" {
#include "bf16.h"
#include "flash.h"
#include "gpu.h"
void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void rope_table(float *cosv, float *sinv, int n_pos, int head_dim, float theta);
}

#define CK(x)                                                                                          \
	do {                                                                                           \
		cudaError_t e_ = (x);                                                                  \
		if (e_ != cudaSuccess) die("CUDA: %s (%s:%d)", cudaGetErrorString(e_), __FILE__, __LINE__); \
	} while (0)
#define CB(x)                                                                                          \
	do {                                                                                           \
		cublasStatus_t s_ = (x);                                                               \
		if (s_ != CUBLAS_STATUS_SUCCESS) die("cuBLAS: %s (%s:%d)", cb.status(s_), __FILE__, __LINE__); \
	} while (0)

namespace cg = cooperative_groups;

/* cuBLAS is opened when a GPU run starts, not linked: a tool then maps none
 * of its hundreds of megabytes unless --device cuda asks for it (which also
 * keeps tests/mpi_zero.t's address-space limit). */
typedef cublasStatus_t (*gemmex_fn)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int, const void *,
				    const void *, cudaDataType, int, const void *, cudaDataType, int, const void *, void *,
				    cudaDataType, int, cublasComputeType_t, cublasGemmAlgo_t);
static struct {
	decltype(&cublasCreate_v2) create;
	decltype(&cublasDestroy_v2) destroy;
	decltype(&cublasSetMathMode) math;
	decltype(&cublasSgemm_v2) sgemm;
	gemmex_fn gemmex;
	decltype(&cublasGetStatusString) status;
	decltype(&cublasSetStream_v2) stream;
	decltype(&cublasSetWorkspace_v2) workspace;
} cb;

#define STR_(x) #x
#define STR(x) STR_(x)
static void cublas_open(void) {
	if (cb.create) return;
	const char *name = "libcublas.so." STR(CUBLAS_VER_MAJOR);
	void *h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
#ifdef LM_CUDA_LIB
	if (!h) h = dlopen(LM_CUDA_LIB "/libcublas.so." STR(CUBLAS_VER_MAJOR), RTLD_NOW | RTLD_LOCAL);
#endif
	if (!h) die("--device cuda: %s: %s", name, dlerror());
	void *f[8] = {dlsym(h, "cublasCreate_v2"), dlsym(h, "cublasDestroy_v2"), dlsym(h, "cublasSetMathMode"),
		      dlsym(h, "cublasSgemm_v2"), dlsym(h, "cublasGemmEx"), dlsym(h, "cublasGetStatusString"),
		      dlsym(h, "cublasSetStream_v2"), dlsym(h, "cublasSetWorkspace_v2")};
	for (int i = 0; i < 8; i++)
		if (!f[i]) die("--device cuda: %s: %s", name, dlerror());
	memcpy(&cb.destroy, &f[1], sizeof f[1]);
	memcpy(&cb.math, &f[2], sizeof f[2]);
	memcpy(&cb.sgemm, &f[3], sizeof f[3]);
	memcpy(&cb.gemmex, &f[4], sizeof f[4]);
	memcpy(&cb.status, &f[5], sizeof f[5]);
	memcpy(&cb.stream, &f[6], sizeof f[6]);
	memcpy(&cb.workspace, &f[7], sizeof f[7]);
	memcpy(&cb.create, &f[0], sizeof f[0]);
}

/* logits are computed this many floats at a time at most (llama.c's HEAD_CHUNK_FLOATS) */
#define HEAD_CHUNK_FLOATS (1L << 27)
/* blocks of the fixed-order reductions */
#define RED_BLOCKS 1024
/* row chunks of the norms' weight gradients */
#define NORM_CHUNKS 64

struct gpu_train {
	lm_config c;
	int B, T, N, n_pos, prec, head_rows, hd, qd, kvd;
	int train;                                  /* gradients, moments, backward buffers, every layer's activations */
	size_t n_params, counted;
	cublasHandle_t h;
	char *mem;                                  /* the one allocation */
	float *params, *grads, *m, *v;
	lm_params P, G;
	__nv_bfloat16 *pb, *ab, *bb;                /* bf16: the parameters; two operands' scratch */
	/* bf16: the layers' product inputs, written so by the kernels that make them (and
	 * then no fp32 xn1, xn2, s, dgg, du: nothing else reads them) */
	__nv_bfloat16 *xn1h, *xn2h, *aoh, *sh;
	__nv_bfloat16 *qkvh;                        /* flash: each layer's q, k, v in bf16, as flash.h takes them */
	float *x, *xn1, *rstd1, *q, *k, *vv, *lse, *ao, *xa, *xn2, *rstd2, *gg, *u, *s, *hf, *rstdf, *dhf;
	float *logits, *losses, *dres, *dxn, *dq, *dk, *dv, *dao, *ds, *dgg, *du, *delta, *part;
	float *rope_cos, *rope_sin;
	double *red;
	int *tok, *tgt, *pos, *segstart, *segend, *emb_idx, *emb_uniq, *emb_start;
	float *wt;
	float *scores, *dscores;                    /* a score model's: N each at most, one per sequence */
	int *score_at;
	int n_uniq, has_wt, n_scores;
	int grouped;                                /* the last upload grouped the embedding's rows for a backward */
	int flash;                                  /* attention on the tensor cores (flash.h): bf16 products */
	/* host scratch */
	int *h_pos, *h_segstart, *h_segend, *h_count, *h_idx, *h_uniq, *h_start;
	double *h_red;
};

static int ceil_div(long a, long b) { return (int)((a + b - 1) / b); }

/* ---- kernels ---- */

__device__ static inline float warp_sum(float x) {
	for (int o = 16; o > 0; o >>= 1) x += __shfl_xor_sync(0xffffffffu, x, o);
	return x;
}

/* Σ over a block of blockDim.x threads (a multiple of 32, at most 1024), in a fixed order; every thread gets it */
__device__ static float block_sum(float x) {
	__shared__ float sh[32];
	int lane = threadIdx.x % 32, w = threadIdx.x / 32, nw = blockDim.x / 32;
	x = warp_sum(x);
	__syncthreads();
	if (lane == 0) sh[w] = x;
	__syncthreads();
	x = lane < nw ? sh[lane] : 0.0f;
	return warp_sum(x);
}

__device__ static float block_max(float x) {
	__shared__ float sh[32];
	int lane = threadIdx.x % 32, w = threadIdx.x / 32, nw = blockDim.x / 32;
	for (int o = 16; o > 0; o >>= 1) x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, o));
	__syncthreads();
	if (lane == 0) sh[w] = x;
	__syncthreads();
	x = lane < nw ? sh[lane] : -INFINITY;
	for (int o = 16; o > 0; o >>= 1) x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, o));
	return x;
}

__global__ static void k_embedding_fwd(float *out, const int *tok, const float *wte, int C) {
	long n = blockIdx.x;
	const float *src = wte + (long)tok[n] * C;
	for (int i = threadIdx.x; i < C; i += blockDim.x) out[n * C + i] = src[i];
}

/* one block per distinct token: its rows' gradients added in row order (layers.c's order) */
__global__ static void k_embedding_bwd(float *dwte, const float *dout, const int *idx, const int *uniq,
				       const int *start, int C) {
	int u = blockIdx.x;
	float *d = dwte + (long)uniq[u] * C;
	for (int i = threadIdx.x; i < C; i += blockDim.x) {
		float acc = d[i];
		for (int j = start[u]; j < start[u + 1]; j++) acc += dout[(long)idx[j] * C + i];
		d[i] = acc;
	}
}

__device__ static inline void put(float *p, float v) { *p = v; }
__device__ static inline void put(__nv_bfloat16 *p, float v) { *p = __float2bfloat16(v); }

/* rows which[n] (n itself when which is NULL) of inp, RMS-normed, into row n
 * of out (fp32, or bf16 for a product's input); 1/rms into rstd when given.
 * With res, the residual add before the norm comes first, in the same pass:
 * the row of inp += the same row of res. */
template <typename T>
__global__ static void k_rmsnorm_fwd(T *out, float *rstd, float *inp, const float *res, const int *which, const float *w,
				     int C, float eps) {
	long n = blockIdx.x, row = (which ? which[n] : n) * (long)C;
	float *x = inp + row, ss = 0;
	for (int i = threadIdx.x; i < C; i += blockDim.x) {
		float v = res ? x[i] + res[row + i] : x[i];
		if (res) x[i] = v;
		ss += v * v;
	}
	ss = block_sum(ss);
	float r = rsqrtf(ss / C + eps);
	if (rstd && threadIdx.x == 0) rstd[n] = r;
	for (int i = threadIdx.x; i < C; i += blockDim.x) put(out + n * C + i, x[i] * r * w[i]);
}

/* dinp += r·w·dy - x·r³/C·Σ dy·w·x, one block a row */
__global__ static void k_rmsnorm_bwd(float *dinp, const float *dout, const float *inp, const float *w,
				     const float *rstd, int C) {
	long n = blockIdx.x;
	const float *x = inp + n * C, *dy = dout + n * C;
	float r = rstd[n], dot = 0;
	for (int i = threadIdx.x; i < C; i += blockDim.x) dot += dy[i] * w[i] * x[i];
	dot = block_sum(dot);
	float c = dot * r * r * r / C;
	for (int i = threadIdx.x; i < C; i += blockDim.x) dinp[n * C + i] += r * w[i] * dy[i] - c * x[i];
}

/* Σ over rows of dy·x·r: chunk y of the rows into part[y·C + i] */
__global__ static void k_rmsnorm_dw_part(float *part, const float *dout, const float *inp, const float *rstd,
					 int N, int C) {
	int i = blockIdx.x * blockDim.x + threadIdx.x;
	if (i >= C) return;
	int per = (N + gridDim.y - 1) / gridDim.y, lo = blockIdx.y * per, hi = min(N, lo + per);
	float acc = 0;
	for (int n = lo; n < hi; n++) acc += dout[(long)n * C + i] * inp[(long)n * C + i] * rstd[n];
	part[(long)blockIdx.y * C + i] = acc;
}

__global__ static void k_sum_parts(float *dw, const float *part, int chunks, int C) {
	int i = blockIdx.x * blockDim.x + threadIdx.x;
	if (i >= C) return;
	float acc = 0;
	for (int y = 0; y < chunks; y++) acc += part[(long)y * C + i];
	dw[i] += acc;
}

/* rotate the interleaved pairs of every head by pos·freq (sign -1: the
 * inverse); with x16 a bf16 copy of the result there too */
__global__ static void k_rope(float *x, __nv_bfloat16 *x16, const int *pos, const float *cosv, const float *sinv,
			      long pairs, int heads, int half, float sign) {
	long j = (long)blockIdx.x * blockDim.x + threadIdx.x;
	if (j >= pairs) return;
	int i = (int)(j % half);
	long n = j / half / heads;
	float c = cosv[(long)pos[n] * half + i], s = sign * sinv[(long)pos[n] * half + i];
	float a = x[2 * j], b = x[2 * j + 1];
	x[2 * j] = a * c - b * s;
	x[2 * j + 1] = a * s + b * c;
	if (x16) *(__nv_bfloat162 *)(x16 + 2 * j) = __floats2bfloat162_rn(a * c - b * s, a * s + b * c);
}

__device__ static inline float swiglu(float g, float u) { return g / (1.0f + expf(-g)) * u; }

template <typename T> __global__ static void k_swiglu_fwd(T *out, const float *g, const float *u, long n) {
	long i = (long)blockIdx.x * blockDim.x + threadIdx.x;
	if (i < n) put(out + i, swiglu(g[i], u[i]));
}

template <typename T>
__global__ static void k_swiglu_bwd(T *dg, T *du, const float *dout, const float *g, const float *u, long n) {
	long i = (long)blockIdx.x * blockDim.x + threadIdx.x;
	if (i >= n) return;
	float sig = 1.0f / (1.0f + expf(-g[i])), d = dout[i];
	put(du + i, d * g[i] * sig);
	put(dg + i, d * u[i] * sig * (1.0f + g[i] * (1.0f - sig)));
}

/* Attention, a warp a query (forward, dq) or a key (dk, dv); the head's
 * elements spread over the lanes, ATT_E a lane at most (head size <= 32·ATT_E).
 * Query t of row b sees keys segstart[b·T+t] .. t. */
#define ATT_E 8

__device__ static inline float lane_dot(const float *a, const float *b, int hd, int lane) {
	float s = 0;
	for (int d = lane; d < hd; d += 32) s += a[d] * b[d];
	return warp_sum(s);
}

/* a·x and b·y over the head: a, b a lane's elements (registers), x, y the rows in memory */
__device__ static inline void two_dots(float *ax, float *by, const float *a, const float *x, const float *b,
				       const float *y, int hd, int lane) {
	float s = 0, t = 0;
	for (int e = 0; e < ATT_E; e++) {
		int d = lane + 32 * e;
		if (d < hd) s += a[e] * x[d], t += b[e] * y[d];
	}
	*ax = warp_sum(s);
	*by = warp_sum(t);
}

/* a row of the head (hd elements) into a lane's registers, zeros past hd */
__device__ static inline void lane_row(float *r, const float *x, int hd, int lane) {
	for (int e = 0; e < ATT_E; e++) {
		int d = lane + 32 * e;
		r[e] = d < hd ? x[d] : 0.0f;
	}
}

/* One key of a query's online softmax (FlashAttention's running max mx and
 * sum, the weighted values acc): q and acc a lane's elements (registers),
 * k and v the key's rows in memory. */
__device__ static inline void online_key(const float *qv, float *acc, float *mx, float *sum, const float *kr,
					 const float *vr, int hd, int lane, float scale) {
	float dot = 0;
	for (int e = 0; e < ATT_E; e++) {
		int d = lane + 32 * e;
		if (d < hd) dot += qv[e] * kr[d];
	}
	dot = warp_sum(dot) * scale;
	float nm = fmaxf(*mx, dot), c = expf(*mx - nm), p = expf(dot - nm);
	*sum = *sum * c + p;
	for (int e = 0; e < ATT_E; e++) {
		int d = lane + 32 * e;
		if (d < hd) acc[e] = acc[e] * c + p * vr[d];
	}
	*mx = nm;
}

__global__ static void k_att_fwd(float *out, float *lse, const float *q, const float *k, const float *v,
				 const int *segstart, int B, int T, int NH, int NKV, int hd, float scale) {
	long wid = ((long)blockIdx.x * blockDim.x + threadIdx.x) / 32;
	int lane = threadIdx.x % 32;
	if (wid >= (long)B * NH * T) return;
	int t = (int)(wid % T), h = (int)(wid / T % NH), b = (int)(wid / T / NH), kh = h / (NH / NKV);
	int qd = NH * hd, kvd = NKV * hd;
	const float *qr = q + ((long)b * T + t) * qd + h * hd;
	float qv[ATT_E], acc[ATT_E] = {0};
	lane_row(qv, qr, hd, lane);
	float mx = -INFINITY, sum = 0;
	for (int s = segstart[(long)b * T + t]; s <= t; s++) {
		const float *kr = k + ((long)b * T + s) * kvd + kh * hd, *vr = v + ((long)b * T + s) * kvd + kh * hd;
		online_key(qv, acc, &mx, &sum, kr, vr, hd, lane, scale);
	}
	float *o = out + ((long)b * T + t) * qd + h * hd;
	for (int e = 0; e < ATT_E; e++) {
		int d = lane + 32 * e;
		if (d < hd) o[d] = acc[e] / sum;
	}
	if (lane == 0) lse[((long)b * NH + h) * T + t] = mx + logf(sum);
}

/* delta[b,h,t] = Σ_d dout·out */
__global__ static void k_att_delta(float *delta, const float *dout, const float *out, int B, int T, int NH, int hd) {
	long wid = ((long)blockIdx.x * blockDim.x + threadIdx.x) / 32;
	int lane = threadIdx.x % 32;
	if (wid >= (long)B * NH * T) return;
	int t = (int)(wid % T), h = (int)(wid / T % NH), b = (int)(wid / T / NH);
	long at = ((long)b * T + t) * NH * hd + h * hd;
	float s = lane_dot(dout + at, out + at, hd, lane);
	if (lane == 0) delta[((long)b * NH + h) * T + t] = s;
}

/* dq of query t: Σ_s p·(dout·v_s - delta)·k_s·scale */
__global__ static void k_att_dq(float *dq, const float *dout, const float *lse, const float *delta, const float *q,
				const float *k, const float *v, const int *segstart, int B, int T, int NH, int NKV, int hd,
				float scale) {
	long wid = ((long)blockIdx.x * blockDim.x + threadIdx.x) / 32;
	int lane = threadIdx.x % 32;
	if (wid >= (long)B * NH * T) return;
	int t = (int)(wid % T), h = (int)(wid / T % NH), b = (int)(wid / T / NH), kh = h / (NH / NKV);
	int qd = NH * hd, kvd = NKV * hd;
	const float *qr = q + ((long)b * T + t) * qd + h * hd, *dor = dout + ((long)b * T + t) * qd + h * hd;
	float qv[ATT_E], dov[ATT_E], acc[ATT_E];
	for (int e = 0; e < ATT_E; e++) {
		int d = lane + 32 * e;
		qv[e] = d < hd ? qr[d] : 0.0f;
		dov[e] = d < hd ? dor[d] : 0.0f;
		acc[e] = 0;
	}
	float L = lse[((long)b * NH + h) * T + t], D = delta[((long)b * NH + h) * T + t];
	for (int s = segstart[(long)b * T + t]; s <= t; s++) {
		const float *kr = k + ((long)b * T + s) * kvd + kh * hd, *vr = v + ((long)b * T + s) * kvd + kh * hd;
		float qk, dv;
		two_dots(&qk, &dv, qv, kr, dov, vr, hd, lane);
		float p = expf(qk * scale - L), ds = p * (dv - D) * scale;
		for (int e = 0; e < ATT_E; e++) {
			int d = lane + 32 * e;
			if (d < hd) acc[e] += ds * kr[d];
		}
	}
	float *o = dq + ((long)b * T + t) * qd + h * hd;
	for (int e = 0; e < ATT_E; e++) {
		int d = lane + 32 * e;
		if (d < hd) o[d] = acc[e];
	}
}

/* dk, dv of key s of KV head kh: over the heads of its group and the queries t >= s of its segment */
__global__ static void k_att_dkv(float *dk, float *dvo, const float *dout, const float *lse, const float *delta,
				 const float *q, const float *k, const float *v, const int *segstart, int B, int T, int NH,
				 int NKV, int hd, float scale) {
	long wid = ((long)blockIdx.x * blockDim.x + threadIdx.x) / 32;
	int lane = threadIdx.x % 32;
	if (wid >= (long)B * NKV * T) return;
	int s = (int)(wid % T), kh = (int)(wid / T % NKV), b = (int)(wid / T / NKV), rep = NH / NKV;
	int qd = NH * hd, kvd = NKV * hd;
	const float *kr = k + ((long)b * T + s) * kvd + kh * hd, *vr = v + ((long)b * T + s) * kvd + kh * hd;
	float kv[ATT_E], vv[ATT_E], ak[ATT_E], av[ATT_E];
	for (int e = 0; e < ATT_E; e++) {
		int d = lane + 32 * e;
		kv[e] = d < hd ? kr[d] : 0.0f;
		vv[e] = d < hd ? vr[d] : 0.0f;
		ak[e] = av[e] = 0;
	}
	int seg = segstart[(long)b * T + s];
	for (int h = kh * rep; h < (kh + 1) * rep; h++)
		for (int t = s; t < T && segstart[(long)b * T + t] == seg; t++) {
			const float *qr = q + ((long)b * T + t) * qd + h * hd, *dor = dout + ((long)b * T + t) * qd + h * hd;
			float qk, dv;
			two_dots(&qk, &dv, kv, qr, vv, dor, hd, lane);
			long at = ((long)b * NH + h) * T + t;
			float p = expf(qk * scale - lse[at]), ds = p * (dv - delta[at]) * scale;
			for (int e = 0; e < ATT_E; e++) {
				int d = lane + 32 * e;
				if (d < hd) av[e] += p * dor[d], ak[e] += ds * qr[d];
			}
		}
	for (int e = 0; e < ATT_E; e++) {
		int d = lane + 32 * e;
		if (d < hd) {
			dk[((long)b * T + s) * kvd + kh * hd + d] = ak[e];
			dvo[((long)b * T + s) * kvd + kh * hd + d] = av[e];
		}
	}
}

/* Cross-entropy of a row of logits, one block a row; with grad_scale != 0
 * d(loss)/d(logits) (layers.c's crossentropy_forward_backward) replaces the
 * logits, or goes to d16 when given (bf16 products: the head's backward
 * reads no other copy). */
__global__ static void k_crossentropy(float *logits, __nv_bfloat16 *d16, float *losses, const int *tgt, const float *wt,
				      float grad_scale, int V) {
	long n = blockIdx.x;
	float *x = logits + n * V, w = wt ? wt[n] : 1.0f;
	int tg = tgt[n];
	if (w == 0 || tg < 0) {
		if (threadIdx.x == 0) losses[n] = 0;
		if (grad_scale != 0)
			for (int i = threadIdx.x; i < V; i += blockDim.x)
				if (d16) d16[n * V + i] = __float2bfloat16(0.0f);
				else x[i] = 0;
		return;
	}
	/* a thread's running max and sum of exp(x - max) in one pass (the logits are
	 * read once more, for the gradient), then the block's */
	float mx = -INFINITY, sum = 0;
	for (int i = threadIdx.x; i < V; i += blockDim.x) {
		float v = x[i];
		if (v > mx) sum = sum * expf(mx - v) + 1.0f, mx = v;
		else if (v > -INFINITY) sum += expf(v - mx);
	}
	float m = block_max(mx);
	sum = block_sum(mx == -INFINITY ? 0.0f : sum * expf(mx - m));
	mx = m;
	float xt = x[tg];
	__syncthreads();   /* every thread read x[tg] before it changes */
	if (threadIdx.x == 0) losses[n] = logf(sum) + mx - xt;
	if (grad_scale == 0) return;
	float c = w * grad_scale, cs = c / sum;
	for (int i = threadIdx.x; i < V; i += blockDim.x) {
		float d = expf(x[i] - mx) * cs - (i == tg ? c : 0.0f);
		if (d16) d16[n * V + i] = __float2bfloat16(d);
		else x[i] = d;
	}
}

/* Σ weight·loss and Σ weight over n rows, one block, fixed order */
__global__ static void k_loss_sums(double *out, const float *losses, const int *tgt, const float *wt, int n) {
	__shared__ double sl[1024], sw[1024];
	double l = 0, w = 0;
	for (int i = threadIdx.x; i < n; i += blockDim.x)
		if (tgt[i] >= 0) {
			double wi = wt ? wt[i] : 1.0;
			l += wi * losses[i];
			w += wi;
		}
	sl[threadIdx.x] = l;
	sw[threadIdx.x] = w;
	__syncthreads();
	if (threadIdx.x == 0) {
		double a = 0, b = 0;
		for (int i = 0; i < blockDim.x; i++) a += sl[i], b += sw[i];
		out[0] = a;
		out[1] = b;
	}
}

/* scores[i] = w·hf[at[i]], a block a score, summed in double as rm.c's
 * rm_scores sums (a score is a difference of terms of either sign: float
 * would lose digits a comparison with the CPU needs) */
__global__ static void k_scores(float *scores, const float *hf, const float *w, const int *at, int D) {
	__shared__ double sh[256];
	const float *h = hf + (long)at[blockIdx.x] * D;
	double s = 0;
	for (int d = threadIdx.x; d < D; d += blockDim.x) s += (double)w[d] * h[d];
	sh[threadIdx.x] = s;
	__syncthreads();
	for (int o = blockDim.x / 2; o > 0; o >>= 1) {
		if (threadIdx.x < o) sh[threadIdx.x] += sh[threadIdx.x + o];
		__syncthreads();
	}
	if (threadIdx.x == 0) scores[blockIdx.x] = (float)sh[0];
}

/* The score head's backward, a thread an element d: dhf[at[i]] += g[i]·w
 * and dw += Σ g[i]·hf[at[i]], the scores in order (rm_scores_backward's
 * sums, in its order, and a position scored twice adds up) */
__global__ static void k_scores_bwd(float *dhf, float *dw, const float *hf, const float *w, const int *at,
				    const float *g, int n, int D) {
	int d = blockIdx.x * blockDim.x + threadIdx.x;
	if (d >= D) return;
	float acc = dw[d];
	for (int i = 0; i < n; i++) {
		long r = (long)at[i] * D + d;
		dhf[r] += g[i] * w[d];
		acc += g[i] * hf[r];
	}
	dw[d] = acc;
}

/* Σ g² in RED_BLOCKS partial sums (double), each in a fixed order */
__global__ static void k_sumsq(double *part, const float *g, long n) {
	__shared__ double sh[256];
	double s = 0;
	for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x)
		s += (double)g[i] * g[i];
	sh[threadIdx.x] = s;
	__syncthreads();
	for (int o = blockDim.x / 2; o > 0; o >>= 1) {
		if (threadIdx.x < o) sh[threadIdx.x] += sh[threadIdx.x + o];
		__syncthreads();
	}
	if (threadIdx.x == 0) part[blockIdx.x] = sh[0];
}

/* adamw.c's update, the gradient times gf first (the clip) */
__global__ static void k_adamw(float *p, float *m, float *v, const float *g, long n, float b1, float b2, float eps,
			       float keep, float step, float sbc2, float gf) {
	long i = (long)blockIdx.x * blockDim.x + threadIdx.x;
	if (i >= n) return;
	float gi = g[i] * gf;
	m[i] = b1 * m[i] + (1.0f - b1) * gi;
	v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
	p[i] = p[i] * keep - step * m[i] / (sqrtf(v[i]) / sbc2 + eps);
}

__global__ static void k_to_bf16(__nv_bfloat16 *dst, const float *src, long n) {
	long i = (long)blockIdx.x * blockDim.x + threadIdx.x;
	if (i < n) dst[i] = __float2bfloat16(src[i]);
}

/* ---- products ---- */

static void to_bf16(__nv_bfloat16 *dst, const float *src, long n, cudaStream_t st = 0) {
	if (n) k_to_bf16<<<ceil_div(n, 256), 256, 0, st>>>(dst, src, n);
}

/* The weights' bf16 copy: the block's offset of w. */
static const __nv_bfloat16 *wbf(const gpu_train *g, const float *w) { return g->pb + (w - g->params); }

/* Row-major C(M, N) = op(A)·op(B) + beta·C where op(A) is (M, K) and op(B) is
 * (K, N); ta/tb: A is stored (K, M) / B is stored (N, K). Row-major C =
 * op(A)·op(B) is column-major C^T = op(B)^T·op(A)^T, hence the swap. In bf16
 * A and B are bf16 (a16, b16), else fp32 (a, b). */
static cublasStatus_t gemm_on(cublasHandle_t h, int bf16, int ta, int tb, int M, int N, int K, const float *a,
			      const __nv_bfloat16 *a16, int lda, const float *b, const __nv_bfloat16 *b16, int ldb,
			      float beta, float *C, int ldc) {
	float alpha = 1.0f;
	cublasOperation_t oa = tb ? CUBLAS_OP_T : CUBLAS_OP_N, ob = ta ? CUBLAS_OP_T : CUBLAS_OP_N;
	if (!bf16) return cb.sgemm(h, oa, ob, N, M, K, &alpha, b, ldb, a, lda, &beta, C, ldc);
	return cb.gemmex(h, oa, ob, N, M, K, &alpha, b16, CUDA_R_16BF, ldb, a16, CUDA_R_16BF, lda, &beta, C, CUDA_R_32F,
			 ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
}

static void gemm(gpu_train *g, int ta, int tb, int M, int N, int K, const float *a, const __nv_bfloat16 *a16, int lda,
		 const float *b, const __nv_bfloat16 *b16, int ldb, float beta, float *C, int ldc) {
	CB(gemm_on(g->h, g->prec == GPU_BF16, ta, tb, M, N, K, a, a16, lda, b, b16, ldb, beta, C, ldc));
}

/* An activation's bf16 copy in scratch (bf16 products only; NULL otherwise). */
static const __nv_bfloat16 *act16(gpu_train *g, __nv_bfloat16 *scratch, const float *x, long n) {
	if (g->prec != GPU_BF16) return NULL;
	to_bf16(scratch, x, n);
	return scratch;
}

/* out(N, OUT) = inp(N, IN)·w(OUT, IN)^T; i16: inp's act16 copy. The callers
 * round an operand once however many products read it. */
static void mm_fwd(gpu_train *g, float *out, const float *inp, const __nv_bfloat16 *i16, const float *w, int N, int IN,
		   int OUT) {
	gemm(g, 0, 1, N, OUT, IN, inp, i16, IN, w, g->pb ? wbf(g, w) : NULL, IN, 0.0f, out, OUT);
}

/* dinp(N, IN) += dout·w (when dinp); dw(OUT, IN) += dout^T·inp; d16, i16: the act16 copies */
static void mm_bwd(gpu_train *g, float *dinp, float *dw, const float *dout, const __nv_bfloat16 *d16, const float *inp,
		   const __nv_bfloat16 *i16, const float *w, int N, int IN, int OUT) {
	if (dinp) gemm(g, 0, 0, N, IN, OUT, dout, d16, OUT, w, g->pb ? wbf(g, w) : NULL, IN, 1.0f, dinp, IN);
	gemm(g, 1, 0, OUT, IN, N, dout, d16, OUT, inp, i16, IN, 1.0f, dw, IN);
}

/* ---- the model ---- */

static void rmsnorm_bwd(gpu_train *g, float *dinp, float *dw, const float *dout, const float *inp, const float *w,
			const float *rstd) {
	int N = g->N, C = g->c.dim;
	k_rmsnorm_bwd<<<N, 256>>>(dinp, dout, inp, w, rstd, C);
	k_rmsnorm_dw_part<<<dim3(ceil_div(C, 256), NORM_CHUNKS), 256>>>(g->part, dout, inp, rstd, N, C);
	k_sum_parts<<<ceil_div(C, 256), 256>>>(dw, g->part, NORM_CHUNKS, C);
}

/* p + off, or NULL where p is (a buffer this precision does without) */
template <typename T> static T *at(T *p, long off) { return p ? p + off : NULL; }

/* RMSNorm of every row of inp, after inp += res when res (the residual
 * add before it): into out, or with bf16 products into out16 */
static void rmsnorm_fwd(gpu_train *g, float *out, __nv_bfloat16 *out16, float *rstd, float *inp, const float *res,
			const float *w) {
	int N = g->N, C = g->c.dim;
	float eps = g->c.norm_eps;
	if (out16) k_rmsnorm_fwd<<<N, 256>>>(out16, rstd, inp, res, (const int *)NULL, w, C, eps);
	else k_rmsnorm_fwd<<<N, 256>>>(out, rstd, inp, res, (const int *)NULL, w, C, eps);
}

static void model_forward(gpu_train *g) {
	const lm_config *c = &g->c;
	const lm_params *P = &g->P;
	int N = g->N, D = c->dim, H = c->hidden_dim, hd = g->hd, qd = g->qd, kvd = g->kvd;
	long nd = (long)N * D, nh = (long)N * H;
	float scale = 1.0f / sqrtf((float)hd);
	int att_blocks = ceil_div((long)g->B * c->n_heads * g->T * 32, 256);
	k_embedding_fwd<<<N, 256>>>(g->x, g->tok, P->tok_embeddings, D);
	for (int l = 0; l < c->n_layers; l++) {
		/* the layer's activations: its own when training, else the one reused slot (gpu_open) */
		long a = g->train ? l : 0, xi = g->train ? l : l % 2, xj = g->train ? l + 1 : (l + 1) % 2;
		float *x = g->x + xi * nd, *xn1 = at(g->xn1, a * nd), *rstd1 = g->rstd1 + a * N;
		float *q = g->q + a * N * qd, *k = g->k + a * N * kvd, *v = g->vv + a * N * kvd;
		float *lse = g->lse + a * N * c->n_heads, *ao = g->ao + a * N * qd;
		float *xa = g->xa + a * nd, *xn2 = at(g->xn2, a * nd), *rstd2 = g->rstd2 + a * N;
		float *gg = g->gg + a * nh, *u = g->u + a * nh, *s = at(g->s, a * nh), *xo = g->x + xj * nd;
		__nv_bfloat16 *xn1h = at(g->xn1h, a * nd), *xn2h = at(g->xn2h, a * nd), *aoh = at(g->aoh, a * N * qd);
		__nv_bfloat16 *sh = at(g->sh, a * nh);
		/* the first layer's norm; the others' came with the residual add before them */
		if (l == 0) rmsnorm_fwd(g, xn1, xn1h, rstd1, x, NULL, P->attention_norm);
		mm_fwd(g, q, xn1, xn1h, P->wq + (long)l * qd * D, N, D, qd);
		mm_fwd(g, k, xn1, xn1h, P->wk + (long)l * kvd * D, N, D, kvd);
		mm_fwd(g, v, xn1, xn1h, P->wv + (long)l * kvd * D, N, D, kvd);
		long pq = (long)N * qd / 2, pk = (long)N * kvd / 2;
		__nv_bfloat16 *q16 = at(g->qkvh, a * N * (qd + 2 * kvd)), *k16 = at(q16, (long)N * qd), *v16 = at(k16, (long)N * kvd);
		k_rope<<<ceil_div(pq, 256), 256>>>(q, q16, g->pos, g->rope_cos, g->rope_sin, pq, c->n_heads, hd / 2, 1.0f);
		k_rope<<<ceil_div(pk, 256), 256>>>(k, k16, g->pos, g->rope_cos, g->rope_sin, pk, c->n_kv_heads, hd / 2, 1.0f);
		if (v16) to_bf16(v16, v, (long)N * kvd);
		if (g->flash) flash_forward(ao, aoh, lse, q16, k16, v16, g->segstart, g->B, g->T, c->n_heads, c->n_kv_heads, hd);
		else {
			k_att_fwd<<<att_blocks, 256>>>(ao, lse, q, k, v, g->segstart, g->B, g->T, c->n_heads, c->n_kv_heads, hd, scale);
			if (aoh) to_bf16(aoh, ao, (long)N * qd);
		}
		mm_fwd(g, xa, ao, aoh, P->wo + (long)l * D * qd, N, qd, D);
		rmsnorm_fwd(g, xn2, xn2h, rstd2, xa, x, P->ffn_norm + (long)l * D);
		mm_fwd(g, gg, xn2, xn2h, P->w1 + (long)l * H * D, N, D, H);
		mm_fwd(g, u, xn2, xn2h, P->w3 + (long)l * H * D, N, D, H);
		if (sh) k_swiglu_fwd<<<ceil_div(nh, 256), 256>>>(sh, gg, u, nh);
		else k_swiglu_fwd<<<ceil_div(nh, 256), 256>>>(s, gg, u, nh);
		mm_fwd(g, xo, s, sh, P->w2 + (long)l * D * H, N, H, D);
		/* xo += xa, then the next layer's first norm or the final one */
		long an = g->train ? l + 1 : 0;
		if (l + 1 < c->n_layers)
			rmsnorm_fwd(g, at(g->xn1, an * nd), at(g->xn1h, an * nd), g->rstd1 + an * N, xo, xa,
				    P->attention_norm + (l + 1L) * D);
		else rmsnorm_fwd(g, g->hf, NULL, g->rstdf, xo, xa, P->norm);
	}
	CK(cudaGetLastError());
}

static void model_backward(gpu_train *g) {
	const lm_config *c = &g->c;
	const lm_params *P = &g->P, *G = &g->G;
	int N = g->N, D = c->dim, H = c->hidden_dim, hd = g->hd, qd = g->qd, kvd = g->kvd;
	long nd = (long)N * D, nh = (long)N * H;
	float scale = 1.0f / sqrtf((float)hd);
	int qblocks = ceil_div((long)g->B * c->n_heads * g->T * 32, 256);
	int kblocks = ceil_div((long)g->B * c->n_kv_heads * g->T * 32, 256);
	CK(cudaMemsetAsync(g->dres, 0, nd * sizeof(float)));
	rmsnorm_bwd(g, g->dres, G->norm, g->dhf, g->x + c->n_layers * nd, P->norm, g->rstdf);
	for (int l = c->n_layers - 1; l >= 0; l--) {
		float *x = g->x + l * nd, *xn1 = at(g->xn1, l * nd), *rstd1 = g->rstd1 + (long)l * N;
		float *q = g->q + (long)l * N * qd, *k = g->k + (long)l * N * kvd, *v = g->vv + (long)l * N * kvd;
		float *lse = g->lse + (long)l * N * c->n_heads, *ao = g->ao + (long)l * N * qd;
		float *xa = g->xa + l * nd, *xn2 = at(g->xn2, l * nd), *rstd2 = g->rstd2 + (long)l * N;
		float *gg = g->gg + l * nh, *u = g->u + l * nh, *s = at(g->s, l * nh);
		const __nv_bfloat16 *xn1h = at(g->xn1h, l * nd), *xn2h = at(g->xn2h, l * nd), *aoh = at(g->aoh, (long)l * N * qd);
		const __nv_bfloat16 *sh = at(g->sh, l * nh);

		CK(cudaMemsetAsync(g->ds, 0, nh * sizeof(float)));
		mm_bwd(g, g->ds, G->w2 + (long)l * D * H, g->dres, act16(g, g->ab, g->dres, nd), s, sh,
		       P->w2 + (long)l * D * H, N, H, D);
		/* SwiGLU's gradients: with bf16 products straight into the scratch the products read */
		__nv_bfloat16 *dgg16 = sh ? g->ab : NULL, *du16 = sh ? g->bb : NULL;
		if (sh) k_swiglu_bwd<<<ceil_div(nh, 256), 256>>>(dgg16, du16, g->ds, gg, u, nh);
		else k_swiglu_bwd<<<ceil_div(nh, 256), 256>>>(g->dgg, g->du, g->ds, gg, u, nh);
		CK(cudaMemsetAsync(g->dxn, 0, nd * sizeof(float)));
		mm_bwd(g, g->dxn, G->w1 + (long)l * H * D, g->dgg, dgg16, xn2, xn2h, P->w1 + (long)l * H * D, N, D, H);
		mm_bwd(g, g->dxn, G->w3 + (long)l * H * D, g->du, du16, xn2, xn2h, P->w3 + (long)l * H * D, N, D, H);
		rmsnorm_bwd(g, g->dres, G->ffn_norm + (long)l * D, g->dxn, xa, P->ffn_norm + (long)l * D, rstd2);

		CK(cudaMemsetAsync(g->dao, 0, (long)N * qd * sizeof(float)));
		mm_bwd(g, g->dao, G->wo + (long)l * D * qd, g->dres, act16(g, g->ab, g->dres, nd), ao, aoh,
		       P->wo + (long)l * D * qd, N, qd, D);
		k_att_delta<<<qblocks, 256>>>(g->delta, g->dao, ao, g->B, g->T, c->n_heads, hd);
		if (g->flash) {
			const __nv_bfloat16 *q16 = g->qkvh + (long)l * N * (qd + 2 * kvd), *k16 = q16 + (long)N * qd;
			to_bf16(g->bb, g->dao, (long)N * qd);
			flash_backward(g->dq, g->dk, g->dv, g->bb, lse, g->delta, q16, k16, k16 + (long)N * kvd, g->segstart,
				       g->segend, g->B, g->T, c->n_heads, c->n_kv_heads, hd);
		} else {
			k_att_dq<<<qblocks, 256>>>(g->dq, g->dao, lse, g->delta, q, k, v, g->segstart, g->B, g->T, c->n_heads,
						   c->n_kv_heads, hd, scale);
			k_att_dkv<<<kblocks, 256>>>(g->dk, g->dv, g->dao, lse, g->delta, q, k, v, g->segstart, g->B, g->T,
						    c->n_heads, c->n_kv_heads, hd, scale);
		}
		long pq = (long)N * qd / 2, pk = (long)N * kvd / 2;
		k_rope<<<ceil_div(pq, 256), 256>>>(g->dq, NULL, g->pos, g->rope_cos, g->rope_sin, pq, c->n_heads, hd / 2, -1.0f);
		k_rope<<<ceil_div(pk, 256), 256>>>(g->dk, NULL, g->pos, g->rope_cos, g->rope_sin, pk, c->n_kv_heads, hd / 2, -1.0f);
		CK(cudaMemsetAsync(g->dxn, 0, nd * sizeof(float)));
		mm_bwd(g, g->dxn, G->wq + (long)l * qd * D, g->dq, act16(g, g->ab, g->dq, (long)N * qd), xn1, xn1h,
		       P->wq + (long)l * qd * D, N, D, qd);
		mm_bwd(g, g->dxn, G->wk + (long)l * kvd * D, g->dk, act16(g, g->ab, g->dk, (long)N * kvd), xn1, xn1h,
		       P->wk + (long)l * kvd * D, N, D, kvd);
		mm_bwd(g, g->dxn, G->wv + (long)l * kvd * D, g->dv, act16(g, g->ab, g->dv, (long)N * kvd), xn1, xn1h,
		       P->wv + (long)l * kvd * D, N, D, kvd);
		rmsnorm_bwd(g, g->dres, G->attention_norm + (long)l * D, g->dxn, x, P->attention_norm + (long)l * D, rstd1);
	}
	if (g->n_uniq) k_embedding_bwd<<<g->n_uniq, 256>>>(G->tok_embeddings, g->dres, g->emb_idx, g->emb_uniq, g->emb_start, D);
	CK(cudaGetLastError());
}

/* the head over chunks of head_rows rows: logits, cross-entropy, and with a
 * gradient d(hf) and the head's weight gradient */
static void head(gpu_train *g, float grad_scale) {
	int N = g->N, D = g->c.dim, V = g->c.vocab_size, grad = grad_scale != 0;
	if (grad) CK(cudaMemsetAsync(g->dhf, 0, (long)N * D * sizeof(float)));
	for (int r0 = 0; r0 < N; r0 += g->head_rows) {
		int n = N - r0 < g->head_rows ? N - r0 : g->head_rows;
		const float *h = g->hf + (long)r0 * D;
		/* bb holds h's copy through the backward: the logits' gradient takes ab */
		const __nv_bfloat16 *h16 = act16(g, grad ? g->bb : g->ab, h, (long)n * D);
		__nv_bfloat16 *d16 = grad && g->prec == GPU_BF16 ? g->ab : NULL;
		mm_fwd(g, g->logits, h, h16, g->P.output, n, D, V);
		k_crossentropy<<<n, 512>>>(g->logits, d16, g->losses + r0, g->tgt + r0, g->has_wt ? g->wt + r0 : NULL,
					   grad_scale, V);
		if (grad) mm_bwd(g, g->dhf + (long)r0 * D, g->G.output, g->logits, d16, h, h16, g->P.output, n, D, V);
	}
	CK(cudaGetLastError());
}

/* ---- the interface ---- */

/* What only the training buffers serve, refused on a forward-only gpu_open. */
static void need_train(const gpu_train *g, const char *what) {
	if (!g->train) die("%s: the GPU state was opened for forward passes only", what);
}

static int gpu_count(char *why, size_t n) {
	int count = 0;
	cudaError_t e = cudaGetDeviceCount(&count);
	void *drv = e == cudaErrorInsufficientDriver ? dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL) : NULL;
	if (e == cudaErrorInsufficientDriver && !drv) snprintf(why, n, "no GPU: no NVIDIA driver (libcuda.so.1)");
	else if (e != cudaSuccess) snprintf(why, n, "no GPU: %s", cudaGetErrorString(e));
	else if (!count) snprintf(why, n, "no GPU: none found");
	return e == cudaSuccess ? count : 0;
}

const char *gpu_describe(void) {
	static char s[256];
	if (*s) return s;
	if (!gpu_count(s, sizeof s)) return s;
	cudaDeviceProp p;
	int rt = 0;
	CK(cudaGetDeviceProperties(&p, 0));
	cudaRuntimeGetVersion(&rt);
	snprintf(s, sizeof s, "%s, sm_%d%d, CUDA %d.%d", p.name, p.major, p.minor, rt / 1000, rt % 1000 / 10);
	return s;
}

/* What both kinds of device state need: a GPU, and a head size the attention kernels take. */
static void gpu_need(int hd) {
	char why[256];
	if (!gpu_count(why, sizeof why)) die("--device cuda: %s", why);
	if (hd > 32 * ATT_E || hd % 2) die("--device cuda: head size %d: the kernels take even sizes up to %d", hd, 32 * ATT_E);
}

/* One zeroed device allocation carved into parts, each 256-byte aligned (a
 * part of no bytes gets NULL); its size in *total. */
typedef struct { void **p; long bytes; } dev_part;
static char *dev_carve(const dev_part *parts, size_t n, size_t *total) {
	size_t t = 0;
	for (size_t i = 0; i < n; i++) t += (parts[i].bytes + 255) / 256 * 256;
	char *mem;
	cudaError_t e = cudaMalloc((void **)&mem, t);
	if (e != cudaSuccess) die("--device cuda: %.1f GiB of device memory: %s", t / 1073741824.0, cudaGetErrorString(e));
	char *p = mem;
	for (size_t i = 0; i < n; i++) {
		*parts[i].p = parts[i].bytes ? p : NULL;
		p += (parts[i].bytes + 255) / 256 * 256;
	}
	CK(cudaMemset(mem, 0, t));
	*total = t;
	return mem;
}

/* RoPE's tables (layers.c's rope_table) for n_pos positions into device memory */
static void rope_upload(float *cosv, float *sinv, int n_pos, int hd, float theta) {
	size_t half = (size_t)n_pos * hd / 2;
	float *cs = (float *)xmalloc(half * 2 * sizeof(float));
	rope_table(cs, cs + half, n_pos, hd, theta);
	CK(cudaMemcpy(cosv, cs, half * sizeof(float), cudaMemcpyHostToDevice));
	CK(cudaMemcpy(sinv, cs + half, half * sizeof(float), cudaMemcpyHostToDevice));
	free(cs);
}

gpu_train *gpu_open(const lm_model *m, int B, int T, int prec, int train) {
	const lm_config *c = &m->cfg;
	gpu_need(c->dim / c->n_heads);
	gpu_train *g = (gpu_train *)xcalloc(1, sizeof *g);
	g->c = *c;
	g->B = B;
	g->T = T;
	g->N = B * T;
	g->prec = prec;
	g->train = train;
	g->n_pos = T > c->max_seq_len ? T : c->max_seq_len;
	g->hd = c->dim / c->n_heads;
	g->qd = c->n_heads * g->hd;
	g->kvd = c->n_kv_heads * g->hd;
	g->n_params = m->n_params;
	g->flash = prec == GPU_BF16 && flash_fits(g->hd);
	int lm = c->head == LM_HEAD_LM;
	long L = c->n_layers, N = g->N, D = c->dim, H = c->hidden_dim, V = c->vocab_size, qd = g->qd, kvd = g->kvd;
	long rows = HEAD_CHUNK_FLOATS / V;
	g->head_rows = !lm || rows < 1 ? 1 : rows > N ? (int)N : (int)rows;
	long wide = H > D ? H : D, P = (long)m->n_params;
	/* the widest operand a bf16 product rounds: the head's logits chunk, an activation, or (its weight gradient) */
	long big = lm && (long)g->head_rows * V > N * wide ? (long)g->head_rows * V : N * wide;
	if (big < N * qd) big = N * qd;
	/* sizes of what a language model's head (lh), a score head (sh) and training (tr) alone use; the
	 * layers' activations: each layer's when training (the backward reads them), else one layer's
	 * reused by every layer (LA), the residual stream's input and output in turn (LX) */
	long lh = lm, sh = !lm, tr = train, LA = train ? L : 1, LX = train ? L + 1 : 2;
	/* fp32 (f32) or bf16 (h16) copies of what the products alone read */
	long h16 = prec == GPU_BF16, f32 = !h16;
	dev_part parts[] = {
		{(void **)&g->params, P * 4}, {(void **)&g->grads, tr * P * 4}, {(void **)&g->m, tr * P * 4},
		{(void **)&g->v, tr * P * 4},
		{(void **)&g->pb, prec == GPU_BF16 ? P * 2 : 0}, {(void **)&g->ab, prec == GPU_BF16 ? big * 2 : 0},
		{(void **)&g->bb, prec == GPU_BF16 ? tr * big * 2 : 0},
		{(void **)&g->xn1h, h16 * LA * N * D * 2}, {(void **)&g->xn2h, h16 * LA * N * D * 2},
		{(void **)&g->aoh, h16 * LA * N * qd * 2}, {(void **)&g->sh, h16 * LA * N * H * 2},
		{(void **)&g->qkvh, g->flash * LA * N * (qd + 2 * kvd) * 2},
		{(void **)&g->x, LX * N * D * 4}, {(void **)&g->xn1, f32 * LA * N * D * 4}, {(void **)&g->rstd1, LA * N * 4},
		{(void **)&g->q, LA * N * qd * 4}, {(void **)&g->k, LA * N * kvd * 4}, {(void **)&g->vv, LA * N * kvd * 4},
		{(void **)&g->lse, LA * N * c->n_heads * 4}, {(void **)&g->ao, LA * N * qd * 4},
		{(void **)&g->xa, LA * N * D * 4}, {(void **)&g->xn2, f32 * LA * N * D * 4}, {(void **)&g->rstd2, LA * N * 4},
		{(void **)&g->gg, LA * N * H * 4}, {(void **)&g->u, LA * N * H * 4}, {(void **)&g->s, f32 * LA * N * H * 4},
		{(void **)&g->hf, N * D * 4},
		{(void **)&g->rstdf, N * 4}, {(void **)&g->dhf, tr * N * D * 4},
		{(void **)&g->logits, lh * g->head_rows * V * 4}, {(void **)&g->losses, lh * N * 4},
		{(void **)&g->dres, tr * N * D * 4}, {(void **)&g->dxn, tr * N * D * 4},
		{(void **)&g->dq, tr * N * qd * 4}, {(void **)&g->dk, tr * N * kvd * 4}, {(void **)&g->dv, tr * N * kvd * 4},
		{(void **)&g->dao, tr * N * qd * 4}, {(void **)&g->ds, tr * N * wide * 4}, {(void **)&g->dgg, f32 * tr * N * H * 4},
		{(void **)&g->du, f32 * tr * N * H * 4}, {(void **)&g->delta, tr * N * c->n_heads * 4},
		{(void **)&g->part, tr * NORM_CHUNKS * D * 4},
		{(void **)&g->rope_cos, g->n_pos * (long)g->hd / 2 * 4}, {(void **)&g->rope_sin, g->n_pos * (long)g->hd / 2 * 4},
		{(void **)&g->red, RED_BLOCKS * 8}, {(void **)&g->tok, N * 4}, {(void **)&g->tgt, lh * N * 4},
		{(void **)&g->pos, N * 4}, {(void **)&g->segstart, N * 4}, {(void **)&g->segend, N * 4},
		{(void **)&g->wt, lh * N * 4}, {(void **)&g->scores, sh * N * 4}, {(void **)&g->dscores, sh * tr * N * 4},
		{(void **)&g->score_at, sh * N * 4},
		{(void **)&g->emb_idx, tr * N * 4}, {(void **)&g->emb_uniq, tr * N * 4}, {(void **)&g->emb_start, tr * (N + 1) * 4},
	};
	g->mem = dev_carve(parts, sizeof parts / sizeof *parts, &g->counted);
	params_point(&g->P, c, g->params);
	if (train) params_point(&g->G, c, g->grads);
	rope_upload(g->rope_cos, g->rope_sin, g->n_pos, g->hd, c->rope_theta);
	cublas_open();
	CB(cb.create(&g->h));
	/* pedantic keeps fp32 products off the tensor cores; bf16 products are made for them */
	CB(cb.math(g->h, prec == GPU_TF32 ? CUBLAS_TF32_TENSOR_OP_MATH : prec == GPU_BF16 ? CUBLAS_DEFAULT_MATH : CUBLAS_PEDANTIC_MATH));
	g->h_pos = (int *)xmalloc(N * sizeof(int));
	g->h_segstart = (int *)xmalloc(N * sizeof(int));
	g->h_segend = (int *)xmalloc(N * sizeof(int));
	g->h_count = (int *)xmalloc((V + 1) * sizeof(int));
	g->h_idx = (int *)xmalloc(N * sizeof(int));
	g->h_uniq = (int *)xmalloc(N * sizeof(int));
	g->h_start = (int *)xmalloc((N + 1) * sizeof(int));
	g->h_red = (double *)xmalloc(RED_BLOCKS * sizeof(double));
	gpu_put_params(g, m->block);
	return g;
}

void gpu_close(gpu_train *g) {
	if (!g) return;
	cb.destroy(g->h);
	cudaFree(g->mem);
	free(g->h_pos); free(g->h_segstart); free(g->h_segend); free(g->h_count); free(g->h_idx); free(g->h_uniq); free(g->h_start);
	free(g->h_red);
	free(g);
}

void gpu_memory(const gpu_train *g, size_t *counted, size_t *used) {
	size_t fr = 0, tot = 0;
	CK(cudaMemGetInfo(&fr, &tot));
	*counted = g->counted;
	*used = tot - fr;
}

void gpu_put_params(gpu_train *g, const float *block) {
	CK(cudaMemcpy(g->params, block, g->n_params * sizeof(float), cudaMemcpyHostToDevice));
	if (g->prec == GPU_BF16) to_bf16(g->pb, g->params, (long)g->n_params);
}
void gpu_get_params(const gpu_train *g, float *block) {
	CK(cudaMemcpy(block, g->params, g->n_params * sizeof(float), cudaMemcpyDeviceToHost));
}
void gpu_get_grads(const gpu_train *g, float *block) {
	need_train(g, "gpu_get_grads");
	CK(cudaMemcpy(block, g->grads, g->n_params * sizeof(float), cudaMemcpyDeviceToHost));
}
void gpu_put_moments(gpu_train *g, const lm_adamw *o) {
	need_train(g, "gpu_put_moments");
	if (o->lo || o->hi != g->n_params) die("--device cuda: not under mpirun");
	CK(cudaMemcpy(g->m, o->m, g->n_params * sizeof(float), cudaMemcpyHostToDevice));
	CK(cudaMemcpy(g->v, o->v, g->n_params * sizeof(float), cudaMemcpyHostToDevice));
}
void gpu_get_moments(const gpu_train *g, lm_adamw *o) {
	need_train(g, "gpu_get_moments");
	CK(cudaMemcpy(o->m, g->m, g->n_params * sizeof(float), cudaMemcpyDeviceToHost));
	CK(cudaMemcpy(o->v, g->v, g->n_params * sizeof(float), cudaMemcpyDeviceToHost));
}

void gpu_zero_grads(gpu_train *g) {
	need_train(g, "gpu_zero_grads");
	CK(cudaMemsetAsync(g->grads, 0, g->n_params * sizeof(float)));
}

/* Segments are contiguous runs of equal ids of seg (NULL: one a row) within
 * rows of T: start[i] and end[i] the first and last position of token i's. */
static void segments(int *start, int *end, const int *seg, int N, int T) {
	for (int i = 0; i < N; i++) start[i] = i % T == 0 || (seg && seg[i] != seg[i - 1]) ? i % T : start[i - 1];
	for (int i = N - 1; i >= 0; i--) end[i] = i % T == T - 1 || start[i + 1] != start[i] ? i % T : end[i + 1];
}

/* A micro-batch's tokens, positions and segments onto the device (tok,
 * pos, seg as gpu_next_token's), and when backward the embedding's rows
 * grouped by token for its gradient. */
static void batch_upload(gpu_train *g, const int *tok, const int *pos, const int *seg, int backward) {
	int N = g->N, T = g->T, V = g->c.vocab_size;
	for (int i = 0; i < N; i++) {
		if (tok[i] < 0 || tok[i] >= V) die("token %d outside the model's vocabulary of %d", tok[i], V);
		int p = pos ? pos[i] : i % T;
		if (p < 0 || p >= g->n_pos) die("position %d outside 0..%d", p, g->n_pos - 1);
		g->h_pos[i] = p;
	}
	CK(cudaMemcpy(g->tok, tok, N * sizeof(int), cudaMemcpyHostToDevice));
	CK(cudaMemcpy(g->pos, g->h_pos, N * sizeof(int), cudaMemcpyHostToDevice));
	segments(g->h_segstart, g->h_segend, seg, N, T);
	CK(cudaMemcpy(g->segstart, g->h_segstart, N * sizeof(int), cudaMemcpyHostToDevice));
	CK(cudaMemcpy(g->segend, g->h_segend, N * sizeof(int), cudaMemcpyHostToDevice));
	g->grouped = backward;
	if (!backward) return;
	need_train(g, "a backward pass");
	/* the embedding's gradient, a block a distinct token: rows grouped by token, in row order */
	int *cnt = g->h_count;
	memset(cnt, 0, (V + 1) * sizeof(int));
	for (int i = 0; i < N; i++) cnt[tok[i] + 1]++;
	int u = 0;
	for (int t = 0; t < V; t++) {
		if (cnt[t + 1]) g->h_uniq[u] = t, g->h_start[u++] = cnt[t];
		cnt[t + 1] += cnt[t];
	}
	g->h_start[u] = N;
	for (int i = 0; i < N; i++) g->h_idx[cnt[tok[i]]++] = i;
	g->n_uniq = u;
	CK(cudaMemcpy(g->emb_idx, g->h_idx, N * sizeof(int), cudaMemcpyHostToDevice));
	CK(cudaMemcpy(g->emb_uniq, g->h_uniq, u * sizeof(int), cudaMemcpyHostToDevice));
	CK(cudaMemcpy(g->emb_start, g->h_start, (u + 1) * sizeof(int), cudaMemcpyHostToDevice));
}

double gpu_next_token(gpu_train *g, const int *tok, const int *tgt, const int *pos, const int *seg, const float *wt,
		      float grad_scale, int backward, double *weight) {
	int N = g->N, V = g->c.vocab_size;
	if (g->c.head != LM_HEAD_LM) die("gpu_next_token: a score model has no vocabulary head");
	for (int i = 0; i < N; i++)
		if (tgt[i] >= V) die("target token %d outside the model's vocabulary of %d", tgt[i], V);
	backward = backward && grad_scale != 0;
	batch_upload(g, tok, pos, seg, backward);
	CK(cudaMemcpy(g->tgt, tgt, N * sizeof(int), cudaMemcpyHostToDevice));
	g->has_wt = wt != NULL;
	if (wt) CK(cudaMemcpy(g->wt, wt, N * sizeof(float), cudaMemcpyHostToDevice));
	model_forward(g);
	head(g, backward ? grad_scale : 0.0f);
	if (backward) model_backward(g);
	k_loss_sums<<<1, 1024>>>(g->red, g->losses, g->tgt, g->has_wt ? g->wt : NULL, N);
	double r[2];
	CK(cudaMemcpy(r, g->red, sizeof r, cudaMemcpyDeviceToHost));
	if (weight) *weight = r[1];
	return r[0];
}

void gpu_scores(gpu_train *g, const int *tok, const int *pos, const int *seg, const int *at, int n, int backward,
		float *scores) {
	if (g->c.head != LM_HEAD_SCORE) die("gpu_scores: a language model has no score head");
	if (n < 0 || n > g->N) die("gpu_scores: %d scores of %d positions", n, g->N);
	for (int i = 0; i < n; i++)
		if (at[i] < 0 || at[i] >= g->N) die("gpu_scores: position %d outside 0..%d", at[i], g->N - 1);
	if (n) CK(cudaMemcpy(g->score_at, at, n * sizeof(int), cudaMemcpyHostToDevice));
	g->n_scores = n;
	batch_upload(g, tok, pos, seg, backward);
	model_forward(g);
	if (n) {
		k_scores<<<n, 256>>>(g->scores, g->hf, g->P.score, g->score_at, g->c.dim);
		CK(cudaMemcpy(scores, g->scores, n * sizeof(float), cudaMemcpyDeviceToHost));
	}
	CK(cudaGetLastError());
}

void gpu_scores_backward(gpu_train *g, const float *dscores) {
	if (!g->grouped) die("gpu_scores_backward: the last gpu_scores was forward only");
	int D = g->c.dim, n = g->n_scores;
	if (n) CK(cudaMemcpy(g->dscores, dscores, n * sizeof(float), cudaMemcpyHostToDevice));
	CK(cudaMemsetAsync(g->dhf, 0, (long)g->N * D * sizeof(float)));
	k_scores_bwd<<<ceil_div(D, 256), 256>>>(g->dhf, g->G.score, g->hf, g->P.score, g->score_at, g->dscores, n, D);
	model_backward(g);
}

void gpu_losses(const gpu_train *g, float *losses) {
	if (g->c.head != LM_HEAD_LM) die("gpu_losses: a score model has no vocabulary head");
	CK(cudaMemcpy(losses, g->losses, g->N * sizeof(float), cudaMemcpyDeviceToHost));
}

void gpu_logits(gpu_train *g, float *logits) {
	if (g->c.head != LM_HEAD_LM) die("gpu_logits: a score model has no vocabulary head");
	int N = g->N, D = g->c.dim, V = g->c.vocab_size;
	for (int r0 = 0; r0 < N; r0 += g->head_rows) {
		int n = N - r0 < g->head_rows ? N - r0 : g->head_rows;
		const float *h = g->hf + (long)r0 * D;
		mm_fwd(g, g->logits, h, act16(g, g->ab, h, (long)n * D), g->P.output, n, D, V);
		CK(cudaMemcpy(logits + (long)r0 * V, g->logits, (long)n * V * sizeof(float), cudaMemcpyDeviceToHost));
	}
}

double gpu_grad_sumsq(const gpu_train *g) {
	need_train(g, "gpu_grad_sumsq");
	k_sumsq<<<RED_BLOCKS, 256>>>(g->red, g->grads, (long)g->n_params);
	CK(cudaMemcpy(g->h_red, g->red, RED_BLOCKS * sizeof(double), cudaMemcpyDeviceToHost));
	double s = 0;
	for (int i = 0; i < RED_BLOCKS; i++) s += g->h_red[i];
	return s;
}

void gpu_adamw(gpu_train *g, lm_adamw *o, float lr, float gf) {
	need_train(g, "gpu_adamw");
	o->t++;
	float b1 = o->beta1, b2 = o->beta2;
	float bc1 = 1.0f - powf(b1, (float)o->t), bc2 = 1.0f - powf(b2, (float)o->t);
	float step = lr / bc1, sbc2 = sqrtf(bc2);
	/* runs of tensors alike in decay, one launch each */
	for (int t = 0; t < o->n_tensors;) {
		int z = t + 1;
		while (z < o->n_tensors && o->tensors[z].decay == o->tensors[t].decay &&
		       o->tensors[z].offset == o->tensors[z - 1].offset + o->tensors[z - 1].size)
			z++;
		size_t a = o->tensors[t].offset;
		long n = (long)(o->tensors[z - 1].offset + o->tensors[z - 1].size - a);
		float keep = o->tensors[t].decay ? 1.0f - lr * o->weight_decay : 1.0f;
		k_adamw<<<ceil_div(n, 256), 256>>>(g->params + a, g->m + a, g->v + a, g->grads + a, n, b1, b2, o->eps, keep,
						   step, sbc2, gf);
		t = z;
	}
	if (g->prec == GPU_BF16) to_bf16(g->pb, g->params, (long)g->n_params);
	CK(cudaGetLastError());
}

/* ---- decoding: sample.c's forward chunks on the GPU ---- */

/* A step is a few dozen launches, so at small batches it costs what they
 * cost, not what they compute: the decoder keeps its own weights, laid out
 * so that a layer is few launches. wq, wk and wv of a layer are one matrix
 * (a row's q, k and v come out of one product side by side), so are w1 and
 * w3. Steps of at most mv rows (k_mv) and, with bf16 weights, of at most
 * MM_ROWS (k_mm) are five kernels a layer, the products doing the norms
 * and what follows them (below); others take cuBLAS's products and nine:
 * there the kernels before a product write its input in the product's type
 * (act: bf16 or fp32), and the products after attention and the FFN add
 * into the residual stream (beta 1) instead of a kernel adding their
 * outputs. */
struct gpu_decode {
	lm_config c;
	int max_batch, max_len, R, hd, qd, kvd, E, bf16;  /* E: a row of qkv, qd + 2·kvd */
	int mv, sms;                    /* steps of at most mv rows take the matrix-vector path; multiprocessors */
	cublasHandle_t h;
	char *mem;                      /* the one allocation */
	float *emb, *attn_norm, *ffn_norm, *norm;
	void *wqkv, *wo, *w13, *w2, *wout;   /* the products' weights, act */
	float *kc, *vc;                 /* the cache: (L, max_batch, n_kv_heads, max_len, hd) each */
	float *x, *qkv, *gu, *logits, *rope_cos, *rope_sin;
	void *xn, *ao, *s;              /* the products' inputs, act (fp32 on the matrix-vector path) */
	int *rows;                      /* tok, slot, pos, want: R each; then u, inv_temp: R floats each */
	int *h_rows;
	int *next;                      /* gpu_decode_sample's tokens (R) and log-probabilities (R doubles) */
	double *lp;
	cudaStream_t st;                /* everything of a step runs on it */
	void *ws;                       /* cuBLAS's workspace, so that a product can be captured */
	cudaGraphExec_t *graph;         /* graph[2n + sampled]: a step of n rows each wanted (2·max_batch + 2) */
	int graphs, capturing, failed;  /* graphs still tried; capturing now; a product failed in the capture */
	float *pinned;                  /* the caller's logits, page-locked for the copies */
};

/* cuBLAS's workspace for decoding: set explicitly, as stream capture wants */
#define DEC_WS (32L << 20)

/* Where a step's keys and values go: the cache at layer l, at each row's
 * sequence (slot) and position, with RoPE's tables. */
struct dec_cache {
	float *kc, *vc;
	const int *slot, *pos;
	const float *cosv, *sinv;
	int NH, NKV, hd, max_batch, max_len, l;
};

/* Pair p of row r of qkv (rows of q, k, v side by side), its values a and b:
 * RoPE on q's and k's pairs, q's pair into q2 (two floats), k's and v's into
 * the cache. */
__device__ static inline void dec_pair(const dec_cache &dc, int r, int p, float a, float b, float *q2) {
	int half = dc.hd / 2, qp = dc.NH * half, kp = dc.NKV * half, pos = dc.pos[r];
	if (p < qp + kp) {
		/* k's heads follow q's, so pair p is the (p mod half)th of its head either way */
		float c = dc.cosv[(long)pos * half + p % half], s = dc.sinv[(long)pos * half + p % half];
		float x0 = a * c - b * s, x1 = a * s + b * c;
		a = x0, b = x1;
	}
	if (p < qp) {
		q2[0] = a;
		q2[1] = b;
		return;
	}
	int kv = p < qp + kp ? p - qp : p - qp - kp;   /* the pair within k, or within v */
	size_t at = ((((size_t)dc.l * dc.max_batch + dc.slot[r]) * dc.NKV + 2 * kv / dc.hd) * dc.max_len + pos) * dc.hd +
		    2 * kv % dc.hd;
	float *dst = p < qp + kp ? dc.kc : dc.vc;
	dst[at] = a;
	dst[at + 1] = b;
}

/* dec_pair on every pair of the n rows of qkv, in place; a thread a pair */
__global__ static void k_dec_rope_cache(float *qkv, dec_cache dc, int n) {
	int per = (dc.NH + 2 * dc.NKV) * dc.hd / 2;
	long j = (long)blockIdx.x * blockDim.x + threadIdx.x;
	if (j >= (long)n * per) return;
	int r = (int)(j / per), e = (int)(j % per);
	float *x = qkv + (long)r * 2 * per + 2 * e;
	dec_pair(dc, r, e, x[0], x[1], x);
}

/* Attention of new row r, heads h0..h0+QH-1 (of one KV head) over its
 * sequence's cache (positions 0..pos[r], its own key included), a block of
 * NW warps (16 or 8, as att_decode chooses) a (row, QH heads). A warp's
 * lanes are four groups of eight, and a group takes a position at a time,
 * lane i holding elements i, i + 8, ... of the head (J of them: hd <= 8·J),
 * so that a key's dot product is three shuffles and the block has 4·NW
 * positions in flight (P each at once where the registers allow). Each
 * group keeps a running max, sum and weighted values per head, combined in
 * the warp and then in the block, as FlashDecoding does. A block of one warp
 * a position (the kernel before) waited on one load after another: 200
 * positions were 25 round trips to memory a layer. The heads that share a
 * KV head share a block where the batch is large (QH > 1): each key and
 * value is then read once for all of them, not once for each. q: rows of E. */
template <typename T, int J, int NW, int QH>
__global__ static void __launch_bounds__(32 * NW)
k_att_decode(T *out, const float *q, int E, const float *kc, const float *vc, const int *slot, const int *pos, int NH,
	     int NKV, int hd, int max_batch, int max_len, int l, float scale) {
	const int P = J <= 8 ? 2 : 1, G = 4 * NW;   /* positions a group at once; groups in the block */
	__shared__ float smx[NW][QH], ssum[NW][QH], sacc[NW][QH][8 * J];
	int nb = NH / QH, r = blockIdx.x / nb, h0 = blockIdx.x % nb * QH, kh = h0 / (NH / NKV);
	int lane = threadIdx.x % 32, w = threadIdx.x / 32, sub = lane % 8, last = pos[r];
	size_t base = (((size_t)l * max_batch + slot[r]) * NKV + kh) * max_len * hd;
	float qv[QH][J], acc[QH][J], mx[QH], sum[QH];
	for (int a = 0; a < QH; a++) {
		const float *qr = q + (long)r * E + (h0 + a) * hd;
		for (int j = 0; j < J; j++) {
			int d = sub + 8 * j;
			qv[a][j] = d < hd ? qr[d] : 0.0f;
			acc[a][j] = 0;
		}
		mx[a] = -INFINITY, sum[a] = 0;
	}
	/* s0: the warp's first position of a round (the same for its four groups, so that all its lanes shuffle) */
	for (int s0 = 4 * w; s0 <= last; s0 += G * P) {
		float kr[P][J], vr[P][J];
		for (int p = 0; p < P; p++) {
			int s = s0 + lane / 8 + p * G;
			for (int j = 0; j < J; j++) {
				int d = sub + 8 * j;
				int ok = s <= last && d < hd;
				kr[p][j] = ok ? kc[base + (size_t)s * hd + d] : 0.0f;
				vr[p][j] = ok ? vc[base + (size_t)s * hd + d] : 0.0f;
			}
		}
		for (int p = 0; p < P; p++)
			for (int a = 0; a < QH; a++) {
				float t = 0;
				for (int j = 0; j < J; j++) t += qv[a][j] * kr[p][j];
				t += __shfl_xor_sync(0xffffffffu, t, 1);
				t += __shfl_xor_sync(0xffffffffu, t, 2);
				t += __shfl_xor_sync(0xffffffffu, t, 4);
				if (s0 + lane / 8 + p * G > last) continue;
				t *= scale;
				float nm = fmaxf(mx[a], t), c = expf(mx[a] - nm), e = expf(t - nm);
				sum[a] = sum[a] * c + e;
				for (int j = 0; j < J; j++) acc[a][j] = acc[a][j] * c + e * vr[p][j];
				mx[a] = nm;
			}
	}
	/* the warp's four groups into one (a group of no positions has sum 0 and adds nothing) */
	for (int a = 0; a < QH; a++) {
		for (int o = 8; o < 32; o <<= 1) {
			float m2 = __shfl_xor_sync(0xffffffffu, mx[a], o), s2 = __shfl_xor_sync(0xffffffffu, sum[a], o);
			float nm = fmaxf(mx[a], m2);
			float c1 = sum[a] != 0 ? expf(mx[a] - nm) : 0.0f, c2 = s2 != 0 ? expf(m2 - nm) : 0.0f;
			for (int j = 0; j < J; j++) acc[a][j] = acc[a][j] * c1 + __shfl_xor_sync(0xffffffffu, acc[a][j], o) * c2;
			sum[a] = sum[a] * c1 + s2 * c2;
			mx[a] = nm;
		}
		if (lane < 8) {
			if (lane == 0) smx[w][a] = mx[a], ssum[w][a] = sum[a];
			for (int j = 0; j < J; j++) sacc[w][a][sub + 8 * j] = acc[a][j];
		}
	}
	__syncthreads();
	if (w >= QH) return;
	/* warp a: head h0 + a */
	int a = w;
	float M = -INFINITY, S = 0;
	for (int i = 0; i < NW; i++) M = fmaxf(M, smx[i][a]);
	for (int i = 0; i < NW; i++) S += ssum[i][a] != 0 ? ssum[i][a] * expf(smx[i][a] - M) : 0.0f;
	T *o = out + ((long)r * NH + h0 + a) * hd;
	for (int d = lane; d < hd; d += 32) {
		float v = 0;
		for (int i = 0; i < NW; i++)
			if (ssum[i][a] != 0) v += sacc[i][a][d] * expf(smx[i][a] - M);
		put(o + d, v / S);
	}
}

/* out(n, H) = silu(g)·u, gu's rows being g then u (H each) */
template <typename T>
__global__ static void k_dec_swiglu(T *out, const float *gu, long n, int H) {
	long i = (long)blockIdx.x * blockDim.x + threadIdx.x;
	if (i >= n * H) return;
	const float *row = gu + i / H * 2 * H;
	put(out + i, swiglu(row[i % H], row[H + i % H]));
}

#define SAMPLE_THREADS 256
/* sample.c's draw without top-k or top-p, a block a row of logits (V):
 * greedy where it[r] is 0 (the lowest id of the largest logit), else the
 * first token whose running sum of e = exp((logit - max)·it[r]) passes u[r]
 * times their total (the last token of nonzero e if rounding leaves it
 * past). The running sum is a thread's contiguous run of the row added to
 * the sum of the runs before it, so the run it passes in is found first and
 * only that one walked. lp[r]: the token's log-probability under the logits
 * themselves; next[r] -1 where a logit is not finite. */
__global__ static void k_dec_sample(int *next, double *lp, const float *logits, int V, const float *u, const float *it) {
	__shared__ float before[SAMPLE_THREADS + 1];
	__shared__ int hit, last;
	int r = blockIdx.x, t = threadIdx.x, nt = blockDim.x;
	const float *x = logits + (long)r * V;
	float bad = 0, mx = -INFINITY;
	for (int i = t; i < V; i += nt) bad += x[i] * 0, mx = fmaxf(mx, x[i]);
	bad = block_sum(bad);
	if (bad != 0) {   /* x·0 is NaN for an x not finite */
		if (t == 0) next[r] = -1, lp[r] = 0;
		return;
	}
	mx = block_max(mx);
	float z = 0;
	for (int i = t; i < V; i += nt) z += expf(x[i] - mx);
	z = block_sum(z);
	if (t == 0) hit = V, last = -1;
	__syncthreads();
	float sc = it[r];
	if (sc == 0) {
		for (int i = t; i < V; i += nt)
			if (x[i] == mx) { atomicMin(&hit, i); break; }
	} else {
		int per = (V + nt - 1) / nt, a = min(V, t * per), b = min(V, a + per);
		float run = 0;
		for (int i = a; i < b; i++) run += expf((x[i] - mx) * sc);
		before[t + 1] = run;
		__syncthreads();
		if (t == 0) {   /* the running sum in a register: one add after another, not a round trip to shared memory */
			float sum = 0;
			before[0] = 0;
			for (int j = 1; j <= nt; j++) before[j] = sum = before[j] + sum;
		}
		__syncthreads();
		/* the walk adds as run did, so it ends on before[t + 1] to the bit: the run it starts in holds the hit */
		float target = u[r] * before[nt], from = before[t];
		if (from <= target && target < before[t + 1]) {
			float c = 0;
			for (int i = a; i < b; i++)
				if (target < from + (c += expf((x[i] - mx) * sc))) { hit = i; break; }
		}
		for (int i = V - 1 - t; i >= 0; i -= nt)
			if (expf((x[i] - mx) * sc) > 0) { atomicMax(&last, i); break; }
		__syncthreads();
		if (t == 0 && hit == V) hit = last;
	}
	__syncthreads();
	if (t == 0) next[r] = hit, lp[r] = (double)x[hit] - mx - log((double)z);
}

/* The matrix-vector path: a step of at most d->mv rows (batch 1, a chat's
 * turn) reads every weight once and computes little, so cuBLAS's products
 * and the kernels between them cost their launches, not their work. There a
 * layer is five kernels: each product reads its input rows into shared
 * memory (normed there when it follows a norm), a warp takes two weight
 * rows at a time, and what the next kernel would do to its outputs it does
 * itself: RoPE and the cache (qkv), the residual add (wo, w2), SwiGLU (w1
 * and w3, whose rows j and H + j it pairs). Inputs stay fp32; weights are
 * act, read 16 bytes a lane where a row's length allows. */
#define MV_WARPS 8
#define DEC_MV_ROWS 4   /* the most rows a step of the path */
#define MV_SMEM (48 << 10)   /* shared memory for a block's rows, fp32 */
enum { MV_STORE, MV_ADD, MV_SWIGLU, MV_ROPE };

/* 16 bytes of a weight row as floats: 4 of fp32, 8 of bf16 */
__device__ static inline void mv_unpack(float *f, uint4 a, const float *) {
	const float *v = (const float *)&a;
	for (int i = 0; i < 4; i++) f[i] = v[i];
}
__device__ static inline void mv_unpack(float *f, uint4 a, const __nv_bfloat16 *) {
	const __nv_bfloat162 *h = (const __nv_bfloat162 *)&a;
	for (int i = 0; i < 4; i++) {
		float2 v = __bfloat1622float2(h[i]);
		f[2 * i] = v.x, f[2 * i + 1] = v.y;
	}
}
__device__ static inline float mv_get(const float *w) { return *w; }
__device__ static inline float mv_get(const __nv_bfloat16 *w) { return __bfloat162float(*w); }

/* A lane's loads of a pass over two weight rows: MV_U of 16 bytes from each,
 * at elements i0 + (lane + 32u)·V, all issued before any is used (zeros past
 * IN), so that a warp waits for memory once a pass, not once a load. */
#define MV_U 8
template <typename W>
__device__ static inline void mv_fetch(uint4 *ra, uint4 *rb, const W *wa, const W *wb, int i0, int IN, int lane) {
	const int V = 16 / sizeof(W);
	for (int u = 0; u < MV_U; u++) {
		int i = i0 + (lane + 32 * u) * V;
		ra[u] = i < IN ? *(const uint4 *)(wa + i) : make_uint4(0, 0, 0, 0);
		rb[u] = i < IN ? *(const uint4 *)(wb + i) : make_uint4(0, 0, 0, 0);
	}
}

/* rows r < n of out(n, OUT) from inp's rows which[r] (r when which is NULL,
 * IN each), RMS-normed with nw first when nw is given: for MV_STORE out =
 * inp·wᵀ, MV_ADD out += inp·wᵀ, MV_SWIGLU out(n, OUT/2) = silu(g)·u with g
 * and u the products of rows j and OUT/2 + j, MV_ROPE out the rows of qkv
 * (E = OUT) through dec_pair (RoPE, and k and v into the cache dc). A warp
 * takes two rows of w at a time, its lanes 16 bytes of each in turn (element
 * i to lane i / V mod 32), and reads the first pass of its first pair before
 * the block reads its input, the first of its next pair before it finishes
 * this one: a product of a few MB was nine microseconds of round trips to
 * memory, one after another, with a pass a load. */
template <int EPI, typename W>
__global__ static void __launch_bounds__(32 * MV_WARPS)
k_mv(float *out, const float *inp, const int *which, const float *nw, float eps, int n, const W *w, int IN, int OUT,
     dec_cache dc) {
	extern __shared__ float xs[];   /* n rows of IN */
	const int V = 16 / sizeof(W), SPAN = 32 * MV_U * V;   /* a lane's elements a load; a pass's */
	int lane = threadIdx.x % 32, warp = threadIdx.x / 32, stride = gridDim.x * MV_WARPS;
	int pairs = EPI == MV_SWIGLU ? OUT / 2 : (OUT + 1) / 2, vec = IN % V == 0;
	/* pair p's rows ja and jb (jb = OUT where OUT is odd and p the last: none) */
	auto ja_of = [&](int p) { return EPI == MV_SWIGLU ? p : 2 * p; };
	auto jb_of = [&](int p) { return EPI == MV_SWIGLU ? OUT / 2 + p : 2 * p + 1; };
	auto row = [&](int j) { return w + (long)(j < OUT ? j : OUT - 1) * IN; };
	uint4 ra[MV_U], rb[MV_U];
	int p = blockIdx.x * MV_WARPS + warp;
	if (vec && p < pairs) mv_fetch(ra, rb, row(ja_of(p)), row(jb_of(p)), 0, IN, lane);
	for (int r = 0; r < n; r++) {
		const float *x = inp + (long)(which ? which[r] : r) * IN;
		float ss = 0;
		for (int i = threadIdx.x; i < IN; i += blockDim.x) ss += x[i] * x[i];
		float k = nw ? rsqrtf(block_sum(ss) / IN + eps) : 1.0f;
		for (int i = threadIdx.x; i < IN; i += blockDim.x) xs[r * IN + i] = nw ? x[i] * k * nw[i] : x[i];
	}
	__syncthreads();
	for (; p < pairs; p += stride) {
		int ja = ja_of(p), jb = jb_of(p), has_b = jb < OUT;
		const W *wa = row(ja), *wb = row(jb);
		float a[DEC_MV_ROWS], b[DEC_MV_ROWS];
		for (int r = 0; r < DEC_MV_ROWS; r++) a[r] = b[r] = 0;
		if (vec) {
			for (int i0 = 0; i0 < IN; i0 += SPAN) {
				if (i0) mv_fetch(ra, rb, wa, wb, i0, IN, lane);
				for (int u = 0; u < MV_U; u++) {
					int i = i0 + (lane + 32 * u) * V;
					if (i >= IN) break;
					float fa[V], fb[V];
					mv_unpack(fa, ra[u], w);
					mv_unpack(fb, rb[u], w);
					for (int r = 0; r < DEC_MV_ROWS; r++) {
						if (r >= n) break;
						const float *x = xs + r * IN + i;
						for (int e = 0; e < V; e++) a[r] += fa[e] * x[e], b[r] += fb[e] * x[e];
					}
				}
			}
			if (p + stride < pairs) mv_fetch(ra, rb, row(ja_of(p + stride)), row(jb_of(p + stride)), 0, IN, lane);
		} else {
			for (int i = lane; i < IN; i += 32) {
				float fa = mv_get(wa + i), fb = mv_get(wb + i);
				for (int r = 0; r < n; r++) a[r] += fa * xs[r * IN + i], b[r] += fb * xs[r * IN + i];
			}
		}
		for (int r = 0; r < DEC_MV_ROWS; r++) {
			if (r >= n) break;
			float va = warp_sum(a[r]), vb = warp_sum(b[r]);
			if (lane != r) continue;   /* lane r finishes row r */
			if (EPI == MV_STORE) {
				out[(long)r * OUT + ja] = va;
				if (has_b) out[(long)r * OUT + jb] = vb;
			} else if (EPI == MV_ADD) {
				out[(long)r * OUT + ja] += va;
				if (has_b) out[(long)r * OUT + jb] += vb;
			} else if (EPI == MV_SWIGLU) {
				out[(long)r * (OUT / 2) + p] = swiglu(va, vb);
			} else {
				dec_pair(dc, r, p, va, vb, out + (long)r * OUT + ja);
			}
		}
	}
}

/* The tensor-core path: a step of more rows than the matrix-vector path
 * takes, up to MM_ROWS, with bf16 weights (a batch of 64 sequences, a
 * prompt's chunk), in k_mv's shape: five kernels a layer, each product with
 * the norm before it and the kernel after it folded in. cuBLAS's products at
 * 64 rows ran at a fraction of the bytes they read (1-6 MB each, 7-9 us),
 * and a layer was nine kernels. A block takes 64 weight rows (for MV_SWIGLU
 * 32 of g and the same 32 of u) against all the step's rows over a range of
 * k, in chunks of MM_KC through shared memory as bf16: the weight's by
 * cp.async, MM_STAGES - 1 chunks ahead, the input's (fp32 rows, from L2) a
 * chunk ahead through registers, rounded after the norm's weight is applied.
 * Eight warps (16 rows by 32 weight rows each) multiply them on mma.sync.
 * The norm's 1/rms scales the sums afterwards, from the rows' sums of
 * squares, which the block gathers as it loads them.
 *
 * A block of 64 weight rows reads the input once per 64 of them, but the
 * products of 768 outputs would then be 12 blocks: so the range of k is
 * split across up to MM_SPLITS blocks, a cluster, which add their partial
 * tiles through distributed shared memory, in split order (the sums do not
 * depend on the blocks' timing), each block the epilogue of every S-th row.
 * (Partials through global memory and a last block adding them took 30 us
 * a product: its loads, one round trip after another.) */
#define MM_ROWS 64
#define MM_KC 64
#define MM_LD (MM_KC + 32)   /* a row's stride in shared memory (192 bytes): a fragment's 8 rows hit distinct banks */
#define MM_STAGES 4          /* the weight's chunks in shared memory: in use, and in flight */
#define MM_SPLITS 8          /* a cluster's blocks at most (the portable limit) */
#define MM_CT 65             /* the partial tile's stride, fp32 */
#define MM_SMEM ((1 + MM_STAGES) * 64 * MM_LD * 2)

/* k_mm's weight row for column c (0..63) of tile t, -1 past the weight */
__device__ static inline int mm_row(int EPI, int t, int c, int OUT) {
	if (EPI == MV_SWIGLU) {
		int H = OUT / 2, j = 32 * t + c % 32;
		return j < H ? (c < 32 ? j : H + j) : -1;
	}
	int j = 64 * t + c;
	return j < OUT ? j : -1;
}

/* 8 floats of row p from k: zeros past IN, or where p is NULL; vec: 16-byte loads */
__device__ static inline void mm_load(float *f, const float *p, int k, int IN, int vec) {
	if (p && vec && k < IN) {
		*(float4 *)f = *(const float4 *)(p + k);
		*(float4 *)(f + 4) = *(const float4 *)(p + k + 4);
		return;
	}
	for (int e = 0; e < 8; e++) f[e] = p && k + e < IN ? p[k + e] : 0.0f;
}

/* 8 bf16 of row p from k into shared memory at q: zeros past IN, or where
 * p is NULL; by cp.async where vec, else element by element */
__device__ static inline void mm_copy(__nv_bfloat16 *q, const __nv_bfloat16 *p, int k, int IN, int vec) {
	if (vec && p && k < IN) {
		unsigned to = (unsigned)__cvta_generic_to_shared(q);
		asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(to), "l"(p + k));
	} else if (vec)
		*(uint4 *)q = make_uint4(0, 0, 0, 0);
	else
		for (int e = 0; e < 8; e++) q[e] = p && k + e < IN ? p[k + e] : __float2bfloat16(0.0f);
}
__device__ static inline void mm_commit(void) { asm volatile("cp.async.commit_group;\n" ::); }
template <int N> __device__ static inline void mm_wait(void) { asm volatile("cp.async.wait_group %0;\n" ::"n"(N)); }

/* k_mv's product (the same arguments, but w: bf16 rows) for up to 64 rows,
 * on a grid of (tiles, splits) in clusters of (1, splits).
 *
 * A lane loads 16 bytes of a row at k0 + 8q (q = lane % 4) and uses them as
 * two steps of mma's k: the products sum over k in any order as long as both
 * sides agree, so mma.h's (g, 2t..2t+1) and (g, 2t+8..) of step 0 are
 * elements 8q..8q+1 and 8q+2..8q+3, of step 1 8q+4.. and 8q+6.. */
template <int EPI>
__global__ static void __launch_bounds__(256, 3)
k_mm(float *out, const float *inp, const int *which, const float *nw, float eps, int n, const __nv_bfloat16 *w,
     int IN, int OUT, dec_cache dc) {
	extern __shared__ __align__(16) __nv_bfloat16 sm[];   /* the input's chunk, then the weight's stages; then the partial tile */
	__shared__ float rss[64];
	__nv_bfloat16 *sa = sm, *sw = sm + 64 * MM_LD;
	float *ct = (float *)sw;
	cg::cluster_group cluster = cg::this_cluster();
	int t = threadIdx.x, lane = t % 32, warp = t / 32, g = lane / 4, q = lane % 4, c8 = t % 8 * 8;
	int tile = blockIdx.x, S = gridDim.y, b = blockIdx.y, vec = IN % 8 == 0;
	int m0 = 16 * (warp % 4), n0 = 32 * (warp / 4);   /* the warp's rows and weight rows of the tile */
	float acc[4][4] = {}, ss[2] = {0, 0};
	const float *arow[2];            /* the thread's rows to load: t / 8 and t / 8 + 32 */
	const __nv_bfloat16 *wrow[2];
	for (int h = 0; h < 2; h++) {
		int r = t / 8 + 32 * h, j = mm_row(EPI, tile, r, OUT);
		arow[h] = r < n ? inp + (long)(which ? which[r] : r) * IN : NULL;
		wrow[h] = j >= 0 ? w + (long)j * IN : NULL;
	}
	/* this split's chunks c0..c1-1 */
	int chunks = (IN + MM_KC - 1) / MM_KC, c0 = b * chunks / S, c1 = (b + 1) * chunks / S;
	for (int st = 0; st < MM_STAGES - 1; st++) {
		if (c0 + st < c1)
			for (int h = 0; h < 2; h++)
				mm_copy(sw + (st * 64 + t / 8 + 32 * h) * MM_LD + c8, wrow[h], (c0 + st) * MM_KC + c8, IN, vec);
		mm_commit();
	}
	float la[2][8], lg[8];
	for (int h = 0; h < 2; h++) mm_load(la[h], arow[h], c0 * MM_KC + c8, IN, vec);
	for (int c = c0; c < c1; c++) {
		int k0 = c * MM_KC, ahead = c + MM_STAGES - 1;
		if (ahead < c1)
			for (int h = 0; h < 2; h++)
				mm_copy(sw + ((ahead - c0) % MM_STAGES * 64 + t / 8 + 32 * h) * MM_LD + c8, wrow[h], ahead * MM_KC + c8,
					IN, vec);
		mm_commit();
		if (nw) mm_load(lg, nw, k0 + c8, IN, vec);   /* (from L1: every block reads it) */
		for (int h = 0; h < 2; h++) {
			union { uint4 v; __nv_bfloat162 e[4]; } u;
			for (int e = 0; e < 4; e++) {
				float x0 = la[h][2 * e], x1 = la[h][2 * e + 1];
				ss[h] += x0 * x0 + x1 * x1;
				u.e[e] = nw ? __floats2bfloat162_rn(x0 * lg[2 * e], x1 * lg[2 * e + 1]) : __floats2bfloat162_rn(x0, x1);
			}
			*(uint4 *)(sa + (t / 8 + 32 * h) * MM_LD + c8) = u.v;
		}
		mm_wait<MM_STAGES - 1>();   /* this thread's copies of chunk c have landed */
		__syncthreads();            /* and everyone's */
		if (c + 1 < c1)
			for (int h = 0; h < 2; h++) mm_load(la[h], arow[h], k0 + MM_KC + c8, IN, vec);
		const __nv_bfloat16 *ws = sw + (c - c0) % MM_STAGES * 64 * MM_LD;
		if (m0 < n)
			for (int kk = 0; kk < MM_KC; kk += 32) {
				uint4 lo = *(const uint4 *)(sa + (m0 + g) * MM_LD + kk + 8 * q);
				uint4 hi = *(const uint4 *)(sa + (m0 + 8 + g) * MM_LD + kk + 8 * q);
				u32 a0[4] = {lo.x, hi.x, lo.y, hi.y}, a1[4] = {lo.z, hi.z, lo.w, hi.w};
				for (int nt = 0; nt < 4; nt++) {
					uint4 v = *(const uint4 *)(ws + (n0 + 8 * nt + g) * MM_LD + kk + 8 * q);
					mma(acc[nt], a0, v.x, v.y);
					mma(acc[nt], a1, v.z, v.w);
				}
			}
		__syncthreads();   /* before the input's buffer and this stage are written again */
	}
	mm_wait<0>();
	__syncthreads();
	/* the partial tile and the rows' sums of squares over the range (a row's eight loading lanes, 8i..8i+7) */
	for (int nt = 0; nt < 4; nt++)
		for (int e = 0; e < 4; e++) ct[(m0 + g + 8 * (e / 2)) * MM_CT + n0 + 8 * nt + 2 * q + e % 2] = acc[nt][e];
	for (int h = 0; h < 2; h++) {
		for (int o = 1; o < 8; o <<= 1) ss[h] += __shfl_xor_sync(0xffffffffu, ss[h], o);
		if (t % 8 == 0) rss[t / 8 + 32 * h] = ss[h];
	}
	cluster.sync();
	/* rows b, b + S, ...: the sum of the cluster's partials, split by split; first each row's 1/rms */
	__shared__ float rk[64];
	const float *pc[MM_SPLITS];
	for (int s = 0; s < MM_SPLITS; s++)
		if (s < S) pc[s] = cluster.map_shared_rank(ct, s);
	int rows = n > b ? (n - b + S - 1) / S : 0, two = EPI == MV_SWIGLU || EPI == MV_ROPE;
	for (int i = t; i < rows; i += 256) {
		float sq = 0;
		for (int s = 0; s < MM_SPLITS; s++)
			if (s < S) sq += cluster.map_shared_rank(rss, s)[b + S * i];
		rk[i] = nw ? rsqrtf(sq / IN + eps) : 1.0f;
	}
	__syncthreads();
	for (int i = t; i < rows * (two ? 32 : 64); i += 256) {
		int ri = two ? i / 32 : i / 64, r = b + S * ri, c = two ? i % 32 : i % 64;
		/* elements x and y of row r: c and c + 32 (SwiGLU's g and u), 2c and 2c + 1 (RoPE's pair), c alone */
		int cx = EPI == MV_ROPE ? 2 * c : c, cy = EPI == MV_ROPE ? 2 * c + 1 : c + 32;
		float x = 0, y = 0;
		for (int s = 0; s < MM_SPLITS; s++)
			if (s < S) {
				x += pc[s][r * MM_CT + cx];
				if (two) y += pc[s][r * MM_CT + cy];
			}
		float k = rk[ri];
		if (EPI == MV_SWIGLU) {
			int H = OUT / 2, j = 32 * tile + c;
			if (j < H) out[(long)r * H + j] = swiglu(x * k, y * k);
		} else if (EPI == MV_ROPE) {
			int j = 64 * tile + cx;
			if (j < OUT) dec_pair(dc, r, j / 2, x * k, y * k, out + (long)r * OUT + j);
		} else {
			int j = 64 * tile + c;
			if (j < OUT) out[(long)r * OUT + j] = EPI == MV_ADD ? out[(long)r * OUT + j] + x * k : x * k;
		}
	}
	cluster.sync();   /* the partials stay until every block has read them */
}

/* k_mm's shared memory, above the 48 KB a launch gets unasked: set once,
 * outside a graph's capture (gpu_decode_open) */
static void mm_setup(void) {
	CK(cudaFuncSetAttribute(k_mm<MV_STORE>, cudaFuncAttributeMaxDynamicSharedMemorySize, MM_SMEM));
	CK(cudaFuncSetAttribute(k_mm<MV_ADD>, cudaFuncAttributeMaxDynamicSharedMemorySize, MM_SMEM));
	CK(cudaFuncSetAttribute(k_mm<MV_SWIGLU>, cudaFuncAttributeMaxDynamicSharedMemorySize, MM_SMEM));
	CK(cudaFuncSetAttribute(k_mm<MV_ROPE>, cudaFuncAttributeMaxDynamicSharedMemorySize, MM_SMEM));
}

/* k_mm on stream st: at least two blocks an SM where the tiles are fewer,
 * through splits of k (a chunk each at least) */
template <int EPI>
static void mm_on(cudaStream_t st, int sms, float *out, const float *inp, const int *which, const float *nw, float eps,
		  int n, const __nv_bfloat16 *w, int IN, int OUT, dec_cache dc) {
	int tiles = EPI == MV_SWIGLU ? ceil_div(OUT / 2, 32) : ceil_div(OUT, 64), chunks = ceil_div(IN, MM_KC);
	int S = ceil_div(2 * sms, tiles);
	S = S < MM_SPLITS ? S : MM_SPLITS;
	S = S < chunks ? S : chunks;
	cudaLaunchConfig_t cfg = {};
	cudaLaunchAttribute at[1];
	at[0].id = cudaLaunchAttributeClusterDimension;
	at[0].val.clusterDim.x = 1;
	at[0].val.clusterDim.y = S;
	at[0].val.clusterDim.z = 1;
	cfg.gridDim = dim3(tiles, S);
	cfg.blockDim = dim3(256);
	cfg.dynamicSmemBytes = MM_SMEM;
	cfg.stream = st;
	cfg.attrs = at;
	cfg.numAttrs = 1;
	CK(cudaLaunchKernelEx(&cfg, k_mm<EPI>, out, inp, which, nw, eps, n, w, IN, OUT, dc));
}

/* k_mv's product on d's stream: k_mv's own for at most d->mv rows, k_mm's
 * (bf16 weights, at most MM_ROWS rows: decode_forward) for more */
template <int EPI>
static void mv(gpu_decode *d, float *out, const float *inp, const int *which, const float *nw, int n, const void *w,
	       int IN, int OUT, dec_cache dc = dec_cache{}) {
	if (n > d->mv) {   /* bf16, at most MM_ROWS (decode_forward) */
		mm_on<EPI>(d->st, d->sms, out, inp, which, nw, d->c.norm_eps, n, (const __nv_bfloat16 *)w, IN, OUT, dc);
		return;
	}
	int pairs = EPI == MV_SWIGLU ? OUT / 2 : (OUT + 1) / 2;
	int grid = ceil_div(pairs, MV_WARPS), most = 4 * d->sms;
	grid = grid < most ? grid : most;
	size_t sm = (size_t)n * IN * sizeof(float);
	float eps = d->c.norm_eps;
	if (d->bf16)
		k_mv<EPI, __nv_bfloat16><<<grid, 32 * MV_WARPS, sm, d->st>>>(out, inp, which, nw, eps, n,
									   (const __nv_bfloat16 *)w, IN, OUT, dc);
	else
		k_mv<EPI, float><<<grid, 32 * MV_WARPS, sm, d->st>>>(out, inp, which, nw, eps, n, (const float *)w, IN,
								   OUT, dc);
}

/* out(n, OUT) = inp(n, IN)·w(OUT, IN)^T + beta·out, both act */
static void dmm(gpu_decode *d, float *out, const void *inp, const void *w, int n, int IN, int OUT, float beta) {
	const float *a = d->bf16 ? NULL : (const float *)inp, *b = d->bf16 ? NULL : (const float *)w;
	const __nv_bfloat16 *a16 = d->bf16 ? (const __nv_bfloat16 *)inp : NULL, *b16 = d->bf16 ? (const __nv_bfloat16 *)w : NULL;
	cublasStatus_t e = gemm_on(d->h, d->bf16, 0, 1, n, OUT, IN, a, a16, IN, b, b16, IN, beta, out, OUT);
	if (e != CUBLAS_STATUS_SUCCESS && d->capturing) d->failed = 1;
	else CB(e);
}

/* element at of a weight of act */
static void *act_at(const gpu_decode *d, void *base, long at) {
	return (char *)base + at * (d->bf16 ? 2 : 4);
}

/* n floats from the host into dst at element at (act), through the fp32 stage */
#define STAGE (16L << 20)
static void put_weight(gpu_decode *d, float *stage, void *dst, long at, const float *src, long n) {
	for (long i = 0; i < n; i += STAGE) {
		long k = n - i < STAGE ? n - i : STAGE;
		CK(cudaMemcpy(stage, src + i, k * sizeof(float), cudaMemcpyHostToDevice));
		if (d->bf16) to_bf16((__nv_bfloat16 *)dst + at + i, stage, k);
		else CK(cudaMemcpy((float *)dst + at + i, stage, k * sizeof(float), cudaMemcpyDeviceToDevice));
	}
}

gpu_decode *gpu_decode_open(const lm_model *m, int max_batch, int max_len, int R, int bf16) {
	const lm_config *c = &m->cfg;
	const lm_params *p = &m->p;
	gpu_need(c->dim / c->n_heads);
	if (c->head != LM_HEAD_LM) die("--device cuda: decoding needs a language model's head");
	gpu_decode *d = (gpu_decode *)xcalloc(1, sizeof *d);
	d->c = *c;
	d->max_batch = max_batch;
	d->max_len = max_len;
	d->R = R;
	d->bf16 = bf16;
	d->hd = c->dim / c->n_heads;
	d->qd = c->n_heads * d->hd;
	d->kvd = c->n_kv_heads * d->hd;
	d->E = d->qd + 2 * d->kvd;
	int big = c->hidden_dim > c->dim ? c->hidden_dim : c->dim;
	d->mv = MV_SMEM / (4 * big);
	if (d->mv > DEC_MV_ROWS) d->mv = DEC_MV_ROWS;
	CK(cudaDeviceGetAttribute(&d->sms, cudaDevAttrMultiProcessorCount, 0));
	long L = c->n_layers, D = c->dim, H = c->hidden_dim, V = c->vocab_size, E = d->E, qd = d->qd, kvd = d->kvd;
	long a = bf16 ? 2 : 4, wide = H > D ? H : D, cache = L * max_batch * (long)max_len * kvd;
	dev_part parts[] = {
		{(void **)&d->emb, V * D * 4}, {(void **)&d->attn_norm, L * D * 4}, {(void **)&d->ffn_norm, L * D * 4},
		{(void **)&d->norm, D * 4}, {(void **)&d->wqkv, L * E * D * a}, {(void **)&d->wo, L * D * qd * a},
		{(void **)&d->w13, L * 2 * H * D * a}, {(void **)&d->w2, L * D * H * a}, {(void **)&d->wout, V * D * a},
		{(void **)&d->kc, cache * 4}, {(void **)&d->vc, cache * 4},
		{(void **)&d->x, R * D * 4}, {(void **)&d->qkv, R * E * 4}, {(void **)&d->gu, R * 2 * H * 4},
		{(void **)&d->logits, R * V * 4}, {(void **)&d->xn, R * D * a}, {(void **)&d->ao, R * qd * 4},
		{(void **)&d->s, R * wide * 4},
		{(void **)&d->rope_cos, max_len * (long)d->hd / 2 * 4}, {(void **)&d->rope_sin, max_len * (long)d->hd / 2 * 4},
		{(void **)&d->rows, 6L * R * 4}, {(void **)&d->next, R * 4}, {(void **)&d->lp, R * 8},
	};
	size_t total;
	d->mem = dev_carve(parts, sizeof parts / sizeof *parts, &total);
	CK(cudaMemcpy(d->emb, p->tok_embeddings, V * D * 4, cudaMemcpyHostToDevice));
	CK(cudaMemcpy(d->attn_norm, p->attention_norm, L * D * 4, cudaMemcpyHostToDevice));
	CK(cudaMemcpy(d->ffn_norm, p->ffn_norm, L * D * 4, cudaMemcpyHostToDevice));
	CK(cudaMemcpy(d->norm, p->norm, D * 4, cudaMemcpyHostToDevice));
	float *stage;
	CK(cudaMalloc((void **)&stage, STAGE * sizeof(float)));
	for (long l = 0; l < L; l++) {
		put_weight(d, stage, d->wqkv, l * E * D, p->wq + l * qd * D, qd * D);
		put_weight(d, stage, d->wqkv, l * E * D + qd * D, p->wk + l * kvd * D, kvd * D);
		put_weight(d, stage, d->wqkv, l * E * D + (qd + kvd) * D, p->wv + l * kvd * D, kvd * D);
		put_weight(d, stage, d->w13, l * 2 * H * D, p->w1 + l * H * D, H * D);
		put_weight(d, stage, d->w13, l * 2 * H * D + H * D, p->w3 + l * H * D, H * D);
	}
	put_weight(d, stage, d->wo, 0, p->wo, L * D * qd);
	put_weight(d, stage, d->w2, 0, p->w2, L * D * H);
	put_weight(d, stage, d->wout, 0, p->output, V * D);
	CK(cudaDeviceSynchronize());
	cudaFree(stage);
	rope_upload(d->rope_cos, d->rope_sin, max_len, d->hd, c->rope_theta);
	if (bf16) mm_setup();
	cublas_open();
	CB(cb.create(&d->h));
	CB(cb.math(d->h, bf16 ? CUBLAS_DEFAULT_MATH : CUBLAS_PEDANTIC_MATH));
	CK(cudaStreamCreateWithFlags(&d->st, cudaStreamNonBlocking));
	CK(cudaMalloc(&d->ws, DEC_WS));
	CB(cb.stream(d->h, d->st));
	CB(cb.workspace(d->h, d->ws, DEC_WS));
	d->graph = (cudaGraphExec_t *)xcalloc(2 * max_batch + 2, sizeof *d->graph);
	d->graphs = 1;
	/* page-locked: the step's copies in and out are then plain DMA; the rows, the draws, then next and lp */
	CK(cudaMallocHost((void **)&d->h_rows, (7L * R + 1) * sizeof(int) + R * sizeof(double)));
	CK(cudaDeviceSynchronize());   /* the weights' copies were made on the default stream, which st does not wait for */
	return d;
}

void gpu_decode_close(gpu_decode *d) {
	if (!d) return;
	for (int n = 0; n <= 2 * d->max_batch + 1; n++)
		if (d->graph[n]) cudaGraphExecDestroy(d->graph[n]);
	if (d->pinned) cudaHostUnregister(d->pinned);
	cb.destroy(d->h);
	cudaStreamDestroy(d->st);
	cudaFree(d->ws);
	cudaFree(d->mem);
	free(d->graph);
	cudaFreeHost(d->h_rows);
	free(d);
}

/* a kernel of act (its first argument, the output, of act) on d's stream */
#define ACT(d, kernel, grid, block, ...)                                                              \
	do {                                                                                           \
		if ((d)->bf16) kernel<__nv_bfloat16><<<grid, block, 0, (d)->st>>>((__nv_bfloat16 *)__VA_ARGS__); \
		else kernel<float><<<grid, block, 0, (d)->st>>>((float *)__VA_ARGS__);                    \
	} while (0)

/* k_att_decode on d's stream for n rows at layer l, out of act T, with J
 * elements of the head a lane and QH heads a block: 16 warps a block where
 * the blocks are at most one an SM (batch 1: 200 positions in two rounds),
 * else 8, so that batch 64's blocks are resident at once; 8 for QH > 1 (the
 * batched steps: fewer kernels to build) */
template <typename T, int J, int QH>
static void att_run(gpu_decode *d, T *out, int n, int l, const int *slot, const int *pos) {
	const lm_config *c = &d->c;
	int hd = d->hd, grid = n * c->n_heads / QH;
	float scale = 1.0f / sqrtf((float)hd);
	if constexpr (QH == 1)
		if (grid <= d->sms) {
			k_att_decode<T, J, 16, 1><<<grid, 32 * 16, 0, d->st>>>(out, d->qkv, d->E, d->kc, d->vc, slot, pos,
									      c->n_heads, c->n_kv_heads, hd, d->max_batch,
									      d->max_len, l, scale);
			return;
		}
	k_att_decode<T, J, 8, QH><<<grid, 32 * 8, 0, d->st>>>(out, d->qkv, d->E, d->kc, d->vc, slot, pos, c->n_heads,
							     c->n_kv_heads, hd, d->max_batch, d->max_len, l, scale);
}

/* att_run, the heads of a KV head (up to 4) sharing a block in steps of
 * more rows than the matrix-vector path's where the head's registers allow
 * (J <= 8) and the output is fp32 (all but cuBLAS's bf16 path, above
 * MM_ROWS rows: fewer kernels to build) */
template <typename T, int J>
static void att_launch(gpu_decode *d, T *out, int n, int l, const int *slot, const int *pos) {
	int grp = d->c.n_heads / d->c.n_kv_heads;
	if constexpr (J <= 8 && sizeof(T) == 4) {
		if (n > d->mv && grp % 4 == 0) return att_run<T, J, 4>(d, out, n, l, slot, pos);
		if (n > d->mv && grp % 3 == 0) return att_run<T, J, 3>(d, out, n, l, slot, pos);
		if (n > d->mv && grp % 2 == 0) return att_run<T, J, 2>(d, out, n, l, slot, pos);
	}
	att_run<T, J, 1>(d, out, n, l, slot, pos);
}

/* att_launch with the fewest elements a lane (a power of two) that hold the head */
template <typename T>
static void att_decode(gpu_decode *d, T *out, int n, int l, const int *slot, const int *pos) {
	int j = (d->hd + 7) / 8;
	if (j <= 1) att_launch<T, 1>(d, out, n, l, slot, pos);
	else if (j <= 2) att_launch<T, 2>(d, out, n, l, slot, pos);
	else if (j <= 4) att_launch<T, 4>(d, out, n, l, slot, pos);
	else if (j <= 8) att_launch<T, 8>(d, out, n, l, slot, pos);
	else if (j <= 16) att_launch<T, 16>(d, out, n, l, slot, pos);
	else att_launch<T, 32>(d, out, n, l, slot, pos);
}

/* The forward pass of a step of n rows, the logits of w of them, on d->st
 * (the rows already on the device). */
static void decode_forward(gpu_decode *d, int n, int w, int sampled) {
	const lm_config *c = &d->c;
	int R = d->R, D = c->dim, H = c->hidden_dim, V = c->vocab_size, hd = d->hd, qd = d->qd, E = d->E;
	cudaStream_t st = d->st;
	const int *dtok = d->rows, *dslot = d->rows + R, *dpos = d->rows + 2 * R, *dwant = d->rows + 3 * R;
	long pairs = (long)n * (qd + 2 * d->kvd) / 2;
	dec_cache dc = {d->kc, d->vc, dslot, dpos, d->rope_cos, d->rope_sin, c->n_heads, c->n_kv_heads, hd, d->max_batch,
			d->max_len, 0};
	k_embedding_fwd<<<n, 256, 0, st>>>(d->x, dtok, d->emb, D);
	if (n <= d->mv || (d->bf16 && n <= MM_ROWS)) {
		float *s = (float *)d->s, *ao = (float *)d->ao;
		for (int l = 0; l < c->n_layers; l++) {
			dc.l = l;
			mv<MV_ROPE>(d, d->qkv, d->x, NULL, d->attn_norm + (long)l * D, n, act_at(d, d->wqkv, (long)l * E * D), D,
				    E, dc);
			att_decode(d, ao, n, l, dslot, dpos);
			mv<MV_ADD>(d, d->x, ao, NULL, NULL, n, act_at(d, d->wo, (long)l * D * qd), qd, D);
			mv<MV_SWIGLU>(d, s, d->x, NULL, d->ffn_norm + (long)l * D, n, act_at(d, d->w13, (long)l * 2 * H * D), D,
				      2 * H);
			mv<MV_ADD>(d, d->x, s, NULL, NULL, n, act_at(d, d->w2, (long)l * D * H), H, D);
		}
		if (w) mv<MV_STORE>(d, d->logits, d->x, dwant, d->norm, w, d->wout, D, V);
	} else {
		for (int l = 0; l < c->n_layers; l++) {
			ACT(d, k_rmsnorm_fwd, n, 256, d->xn, (float *)NULL, d->x, (const float *)NULL, (const int *)NULL,
			    d->attn_norm + (long)l * D, D, c->norm_eps);
			dmm(d, d->qkv, d->xn, act_at(d, d->wqkv, (long)l * E * D), n, D, E, 0.0f);
			dc.l = l;
			k_dec_rope_cache<<<ceil_div(pairs, 256), 256, 0, st>>>(d->qkv, dc, n);
			if (d->bf16) att_decode(d, (__nv_bfloat16 *)d->ao, n, l, dslot, dpos);
			else att_decode(d, (float *)d->ao, n, l, dslot, dpos);
			dmm(d, d->x, d->ao, act_at(d, d->wo, (long)l * D * qd), n, qd, D, 1.0f);
			ACT(d, k_rmsnorm_fwd, n, 256, d->xn, (float *)NULL, d->x, (const float *)NULL, (const int *)NULL,
			    d->ffn_norm + (long)l * D, D, c->norm_eps);
			dmm(d, d->gu, d->xn, act_at(d, d->w13, (long)l * 2 * H * D), n, D, 2 * H, 0.0f);
			ACT(d, k_dec_swiglu, ceil_div((long)n * H, 256), 256, d->s, d->gu, (long)n, H);
			dmm(d, d->x, d->s, act_at(d, d->w2, (long)l * D * H), n, H, D, 1.0f);
		}
		if (w) {
			ACT(d, k_rmsnorm_fwd, w, 256, d->xn, (float *)NULL, d->x, (const float *)NULL, dwant, d->norm, D,
			    c->norm_eps);
			dmm(d, d->logits, d->xn, d->wout, w, D, V, 0.0f);
		}
	}
	if (w) {
		const float *u = (const float *)(d->rows + 4 * R);
		if (sampled) k_dec_sample<<<w, SAMPLE_THREADS, 0, st>>>(d->next, d->lp, d->logits, V, u, u + R);
	}
}

/* A step of n rows, all wanted, as a CUDA graph: launching its kernels and
 * products one by one from the host costs more than they take
 * at small batches. Graphs are given up (the steps then launch as above)
 * the first time one cannot be captured. */
static cudaGraphExec_t step_graph(gpu_decode *d, int n, int sampled) {
	cudaGraphExec_t *ge = &d->graph[2 * n + sampled];
	if (*ge || !d->graphs) return *ge;
	cudaGraph_t g = NULL;
	cudaError_t e = cudaStreamBeginCapture(d->st, cudaStreamCaptureModeThreadLocal);
	if (e == cudaSuccess) {
		d->capturing = 1;
		d->failed = 0;
		decode_forward(d, n, n, sampled);
		d->capturing = 0;
		e = cudaStreamEndCapture(d->st, &g);
	}
	if (e == cudaSuccess && !d->failed) e = cudaGraphInstantiate(ge, g, 0);
	if (g) cudaGraphDestroy(g);
	if (e != cudaSuccess || d->failed) {
		cudaGetLastError();
		*ge = NULL;
		d->graphs = 0;
	}
	return *ge;
}

/* a step's rows (and draws, when sampled) onto the device, its forward pass */
static void decode_step(gpu_decode *d, int n, const int *tok, const int *slot, const int *pos, int w, const int *want,
			const float *u, const float *inv_temp) {
	int R = d->R;
	if (n > R || w > n) die("gpu_decode_rows: %d rows (%d wanted) in chunks of %d", n, w, R);
	int *hr = d->h_rows;
	memcpy(hr, tok, n * sizeof(int));
	memcpy(hr + R, slot, n * sizeof(int));
	memcpy(hr + 2 * R, pos, n * sizeof(int));
	memcpy(hr + 3 * R, want, w * sizeof(int));
	if (u) {
		memcpy(hr + 4 * R, u, w * sizeof(float));
		memcpy(hr + 5 * R, inv_temp, w * sizeof(float));
	}
	CK(cudaMemcpyAsync(d->rows, hr, (u ? 6L : 4L) * R * sizeof(int), cudaMemcpyHostToDevice, d->st));
	cudaGraphExec_t g = n == w && n <= d->max_batch ? step_graph(d, n, u != NULL) : NULL;
	if (g) CK(cudaGraphLaunch(g, d->st));
	else decode_forward(d, n, w, u != NULL);
}

void gpu_decode_rows(gpu_decode *d, int n, const int *tok, const int *slot, const int *pos, int w, const int *want,
		     float *logits) {
	int R = d->R, V = d->c.vocab_size;
	decode_step(d, n, tok, slot, pos, w, want, NULL, NULL);
	if (w && logits != d->pinned) {
		/* a copy into pageable memory goes through a staging buffer at a fraction of the speed (8 MB a
		 * step at batch 64): page-lock the caller's R rows once (a failure only costs that speed) */
		if (d->pinned) cudaHostUnregister(d->pinned);
		d->pinned = cudaHostRegister(logits, (size_t)R * V * sizeof(float), cudaHostRegisterDefault) == cudaSuccess ? logits : NULL;
		cudaGetLastError();
	}
	if (w) CK(cudaMemcpyAsync(logits, d->logits, (long)w * V * sizeof(float), cudaMemcpyDeviceToHost, d->st));
	CK(cudaStreamSynchronize(d->st));
	CK(cudaGetLastError());
}

void gpu_decode_sample(gpu_decode *d, int n, const int *tok, const int *slot, const int *pos, int w, const int *want,
		       const float *u, const float *inv_temp, int *next, double *lp) {
	decode_step(d, n, tok, slot, pos, w, want, u, inv_temp);
	int *hn = d->h_rows + 6 * d->R;
	double *hl = (double *)(hn + d->R + (d->R & 1));
	if (w) {
		CK(cudaMemcpyAsync(hn, d->next, w * sizeof(int), cudaMemcpyDeviceToHost, d->st));
		CK(cudaMemcpyAsync(hl, d->lp, w * sizeof(double), cudaMemcpyDeviceToHost, d->st));
	}
	CK(cudaStreamSynchronize(d->st));
	CK(cudaGetLastError());
	memcpy(next, hn, w * sizeof(int));
	memcpy(lp, hl, w * sizeof(double));
}

int gpu_decode_graphs(const gpu_decode *d) {
	if (!d->graphs) return -1;
	int k = 0;
	for (int n = 0; n <= 2 * d->max_batch + 1; n++) k += d->graph[n] != NULL;
	return k;
}

/* ---- the tensor-core attention against the fp32 kernels ---- */

static double rel_diff(const float *a, const float *b, long n) {
	double d = 0, s = 0;
	for (long i = 0; i < n; i++) d += ((double)a[i] - b[i]) * ((double)a[i] - b[i]), s += (double)b[i] * b[i];
	return s > 0 ? sqrt(d / s) : sqrt(d);
}

int gpu_flash_check(int B, int T, int NH, int NKV, int hd, const int *seg, double err[5]) {
	if (!flash_fits(hd)) return 0;
	long N = (long)B * T, nq = N * NH * hd, nk = N * NKV * hd, ns = N * NH;
	/* inputs: q, k, v, dout; per path: out, lse, delta, dq, dk, dv */
	long len[10] = {nq, nk, nk, nq, nq, ns, ns, nq, nk, nk};
	float *in[4], *res[2][6], *host[2][6];
	for (int i = 0; i < 4; i++) CK(cudaMalloc(&in[i], len[i] * sizeof(float)));
	for (int p = 0; p < 2; p++)
		for (int i = 0; i < 6; i++) {
			CK(cudaMalloc(&res[p][i], len[4 + i] * sizeof(float)));
			host[p][i] = (float *)xmalloc(len[4 + i] * sizeof(float));
		}
	unsigned x = 12345;
	for (int i = 0; i < 4; i++) {
		float *h = (float *)xmalloc(len[i] * sizeof(float));
		for (long j = 0; j < len[i]; j++) {
			x = x * 1664525u + 1013904223u;
			h[j] = (float)(x >> 8) / (1 << 24) * 4 - 2;
		}
		CK(cudaMemcpy(in[i], h, len[i] * sizeof(float), cudaMemcpyHostToDevice));
		free(h);
	}
	int *hs = (int *)xmalloc(N * sizeof(int)), *he = (int *)xmalloc(N * sizeof(int)), *ss, *se;
	segments(hs, he, seg, (int)N, T);
	CK(cudaMalloc(&ss, N * sizeof(int)));
	CK(cudaMalloc(&se, N * sizeof(int)));
	CK(cudaMemcpy(ss, hs, N * sizeof(int), cudaMemcpyHostToDevice));
	CK(cudaMemcpy(se, he, N * sizeof(int), cudaMemcpyHostToDevice));
	float scale = 1.0f / sqrtf((float)hd), *q = in[0], *k = in[1], *v = in[2], *dout = in[3];
	__nv_bfloat16 *in16[4]; /* flash's inputs */
	for (int i = 0; i < 4; i++) {
		CK(cudaMalloc(&in16[i], len[i] * 2));
		to_bf16(in16[i], in[i], len[i]);
	}
	int qblocks = ceil_div(N * NH * 32, 256), kblocks = ceil_div(N * NKV * 32, 256);
	for (int p = 0; p < 2; p++) {
		float *out = res[p][0], *lse = res[p][1], *delta = res[p][2], *dq = res[p][3], *dk = res[p][4], *dv = res[p][5];
		if (p) flash_forward(out, NULL, lse, in16[0], in16[1], in16[2], ss, B, T, NH, NKV, hd);
		else k_att_fwd<<<qblocks, 256>>>(out, lse, q, k, v, ss, B, T, NH, NKV, hd, scale);
		k_att_delta<<<qblocks, 256>>>(delta, dout, out, B, T, NH, hd);
		if (p) flash_backward(dq, dk, dv, in16[3], lse, delta, in16[0], in16[1], in16[2], ss, se, B, T, NH, NKV, hd);
		else {
			k_att_dq<<<qblocks, 256>>>(dq, dout, lse, delta, q, k, v, ss, B, T, NH, NKV, hd, scale);
			k_att_dkv<<<kblocks, 256>>>(dk, dv, dout, lse, delta, q, k, v, ss, B, T, NH, NKV, hd, scale);
		}
		CK(cudaGetLastError());
		for (int i = 0; i < 6; i++)
			CK(cudaMemcpy(host[p][i], res[p][i], len[4 + i] * sizeof(float), cudaMemcpyDeviceToHost));
	}
	int which[5] = {0, 1, 3, 4, 5};
	for (int i = 0; i < 5; i++) err[i] = rel_diff(host[1][which[i]], host[0][which[i]], len[4 + which[i]]);
	for (int i = 0; i < 4; i++) {
		CK(cudaFree(in[i]));
		CK(cudaFree(in16[i]));
	}
	for (int p = 0; p < 2; p++)
		for (int i = 0; i < 6; i++) {
			CK(cudaFree(res[p][i]));
			free(host[p][i]);
		}
	CK(cudaFree(ss));
	CK(cudaFree(se));
	free(hs);
	free(he);
	return 1;
}

/* ---- the decoding products (k_mm) against sums in double ---- */

int gpu_mm_check(int n, int IN, int OUT, int epi, double *err, int *same) {
	if (n < 1 || n > MM_ROWS || (epi != MV_STORE && epi != MV_ADD && epi != MV_SWIGLU)) return 0;
	int sms, H = OUT / 2, wide = epi == MV_SWIGLU ? H : OUT, norm = epi != MV_ADD;
	CK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
	mm_setup();
	/* host: the input's rows, w, what MV_ADD adds to, the norm's weight; which: the rows in reverse */
	long na = (long)n * IN, nw = (long)OUT * IN, no = (long)n * wide, all = na + nw + no + IN;
	float *h = (float *)xmalloc(all * sizeof(float)), *res[2], *want = (float *)xmalloc(no * sizeof(float));
	float *hx = h, *hw = h + na, *ho = hw + nw, *hg = ho + no;
	int *hwhich = (int *)xmalloc(n * sizeof(int));
	unsigned x = 4242;
	for (long j = 0; j < all; j++) {
		x = x * 1664525u + 1013904223u;
		h[j] = (float)(x >> 8) / (1 << 24) * 2 - 1;
		/* without the norm the kernel's rounding of the input is exact: round it here */
		if (j < na + nw && (j >= na || !norm)) h[j] = bf16_float(bf16_round(h[j]));
		if (j >= na + nw + no) h[j] += 1.5f;
	}
	for (int r = 0; r < n; r++) hwhich[r] = n - 1 - r;
	float *dx, *dw32, *o, *dg;
	__nv_bfloat16 *dw;
	int *dwhich;
	CK(cudaMalloc(&dx, na * sizeof(float)));
	CK(cudaMalloc(&dw32, nw * sizeof(float)));
	CK(cudaMalloc(&dw, nw * 2));
	CK(cudaMalloc(&o, no * sizeof(float)));
	CK(cudaMalloc(&dg, IN * sizeof(float)));
	CK(cudaMalloc(&dwhich, n * sizeof(int)));
	CK(cudaMemcpy(dx, hx, na * sizeof(float), cudaMemcpyHostToDevice));
	CK(cudaMemcpy(dw32, hw, nw * sizeof(float), cudaMemcpyHostToDevice));
	CK(cudaMemcpy(dg, hg, IN * sizeof(float), cudaMemcpyHostToDevice));
	CK(cudaMemcpy(dwhich, hwhich, n * sizeof(int), cudaMemcpyHostToDevice));
	to_bf16(dw, dw32, nw);
	const int *wh = epi == MV_STORE ? dwhich : NULL;
	const float *g = norm ? dg : NULL;
	float eps = 1e-5f;
	for (int p = 0; p < 2; p++) {
		res[p] = (float *)xmalloc(no * sizeof(float));
		CK(cudaMemcpy(o, ho, no * sizeof(float), cudaMemcpyHostToDevice));
		if (epi == MV_STORE) mm_on<MV_STORE>(0, sms, o, dx, wh, g, eps, n, dw, IN, OUT, dec_cache{});
		else if (epi == MV_ADD) mm_on<MV_ADD>(0, sms, o, dx, wh, g, eps, n, dw, IN, OUT, dec_cache{});
		else mm_on<MV_SWIGLU>(0, sms, o, dx, wh, g, eps, n, dw, IN, OUT, dec_cache{});
		CK(cudaGetLastError());
		CK(cudaMemcpy(res[p], o, no * sizeof(float), cudaMemcpyDeviceToHost));
	}
	*same = !memcmp(res[0], res[1], no * sizeof(float));
	for (int r = 0; r < n; r++) {
		const float *xr = hx + (long)(wh ? hwhich[r] : r) * IN;
		double ss = 0;
		for (int i = 0; i < IN; i++) ss += (double)xr[i] * xr[i];
		double k = norm ? 1 / sqrt(ss / IN + eps) : 1;
		for (int j = 0; j < wide; j++) {
			double s = 0, u = 0;
			const float *wr = hw + (long)j * IN, *ur = wr + (long)H * IN;
			for (int i = 0; i < IN; i++) s += xr[i] * k * (norm ? hg[i] : 1) * wr[i];
			if (epi == MV_SWIGLU) {
				for (int i = 0; i < IN; i++) u += xr[i] * k * hg[i] * ur[i];
				s = s / (1 + exp(-s)) * u;
			}
			want[(long)r * wide + j] = (float)(epi == MV_ADD ? ho[(long)r * wide + j] + s : s);
		}
	}
	*err = rel_diff(res[0], want, no);
	CK(cudaFree(dx));
	CK(cudaFree(dw32));
	CK(cudaFree(dw));
	CK(cudaFree(o));
	CK(cudaFree(dg));
	CK(cudaFree(dwhich));
	free(h);
	free(hwhich);
	free(res[0]);
	free(res[1]);
	free(want);
	return 1;
}
