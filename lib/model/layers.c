#include "layers.h"
#include "util.h"
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <string.h>

/* Below this many floats of work a loop stays on one thread: waking the team
 * costs more than it saves (sampling one token at a time lives here). */
#define PAR_MIN 32768

/* exp for the hot loops (softmax, cross-entropy, SiLU) on 16 floats at a
 * time, written with GCC's vector extensions: glibc's expf does not vectorize
 * without -ffast-math, and GCC 12 does not vectorize a scalar exp of our own
 * either (it gives up on the float-to-bits step). Cephes' polynomial, about
 * 2 ulp; inputs are clamped to [-87.3, 88.7]. */
typedef float vf __attribute__((vector_size(64)));
typedef int vi __attribute__((vector_size(64)));
typedef float vf_u __attribute__((vector_size(64), aligned(4), may_alias));
#define VL 16

static inline vf vsplat(float x) { return (vf){0} + x; }
static inline vf vload(const float *p) { return *(const vf_u *)p; }
static inline void vstore(float *p, vf v) { *(vf_u *)p = v; }
/* the first n < VL floats of p, the rest 0 (and the store of as many) */
static inline vf vload_n(const float *p, int n) {
	vf v = {0};
	for (int i = 0; i < n; i++) v[i] = p[i];
	return v;
}
static inline void vstore_n(float *p, vf v, int n) {
	for (int i = 0; i < n; i++) p[i] = v[i];
}

static inline vf vexp(vf x) {
	vf lo = vsplat(-87.33654f), hi = vsplat(88.72283f);
	vi m = x < lo;
	x = (vf)(((vi)x & ~m) | ((vi)lo & m));
	m = x > hi;
	x = (vf)(((vi)x & ~m) | ((vi)hi & m));
	vf t = x * 1.44269504088896341f + 0.5f;
	vi i = __builtin_convertvector(t, vi);
	i += (vi)(__builtin_convertvector(i, vf) > t); /* truncation rounded up (t < 0): floor */
	vf n = __builtin_convertvector(i, vf);
	vf r = x - n * 0.693359375f + n * 2.12194440e-4f;
	vf p = r * 1.9875691500e-4f + 1.3981999507e-3f;
	p = p * r + 8.3334519073e-3f;
	p = p * r + 4.1665795894e-2f;
	p = p * r + 1.6666665459e-1f;
	p = p * r + 5.0000001201e-1f;
	p = p * r * r + r + 1.0f;
	return p * (vf)((i + 127) << 23);
}

static inline float vsum(vf v) {
	float s = 0;
	for (int i = 0; i < VL; i++) s += v[i];
	return s;
}

static float max_of(const float *x, int n) {
	vf m = vsplat(-INFINITY);
	int i = 0;
	for (; i + VL <= n; i += VL) {
		vf v = vload(x + i);
		vi gt = v > m;
		m = (vf)(((vi)v & gt) | ((vi)m & ~gt));
	}
	float r = -INFINITY;
	for (int j = 0; j < VL; j++) r = m[j] > r ? m[j] : r;
	for (; i < n; i++) r = x[i] > r ? x[i] : r;
	return r;
}

/* y = exp(x - sub) over n floats (y may be x); returns their sum, added in a
 * fixed order. */
static float exp_sum(float *y, const float *x, float sub, int n) {
	vf acc = {0};
	int i = 0;
	for (; i + VL <= n; i += VL) {
		vf e = vexp(vload(x + i) - sub);
		vstore(y + i, e);
		acc += e;
	}
	if (i < n) {
		vi keep = {0};
		for (int j = 0; j < n - i; j++) keep[j] = -1;
		vf e = (vf)((vi)vexp(vload_n(x + i, n - i) - sub) & keep);
		vstore_n(y + i, e, n - i);
		acc += e;
	}
	return vsum(acc);
}

static void scale_by(float *x, float c, int n) {
	int i = 0;
	for (; i + VL <= n; i += VL) vstore(x + i, vload(x + i) * c);
	for (; i < n; i++) x[i] *= c;
}

/* Below this many multiply-adds a product runs as one plain OpenBLAS call. */
#define GEMM_PAR_MIN (1L << 18)

/* C = alpha·op(A)·op(B) + beta·C (row-major) split over the OpenMP team: each
 * thread hands its own slab of C's rows (or of its columns, when C has few
 * rows, as when sampling one token per sequence) to OpenBLAS running on one
 * thread. One thread pool then owns the cores: with OpenBLAS's pthreads and
 * OpenMP both active, each spins while the other works. */
static void gemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
		 int ldb, float beta, float *C, int ldc) {
	enum CBLAS_TRANSPOSE TA = ta ? CblasTrans : CblasNoTrans, TB = tb ? CblasTrans : CblasNoTrans;
	int nt = omp_get_max_threads();
	if (nt == 1 || omp_in_parallel() || (long)M * N * K < GEMM_PAR_MIN) {
		cblas_sgemm(CblasRowMajor, TA, TB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
		return;
	}
	int saved = openblas_get_num_threads(), by_rows = M >= 32 * nt || M >= N;
	openblas_set_num_threads(1);
#pragma omp parallel
	{
		int t = omp_get_thread_num(), n = omp_get_num_threads(), D = by_rows ? M : N;
		int chunk = ((D + n - 1) / n + 15) / 16 * 16, lo = t * chunk, hi = lo + chunk < D ? lo + chunk : D;
		if (lo < hi && by_rows)
			cblas_sgemm(CblasRowMajor, TA, TB, hi - lo, N, K, alpha, ta ? A + lo : A + (long)lo * lda, lda, B,
				    ldb, beta, C + (long)lo * ldc, ldc);
		else if (lo < hi)
			cblas_sgemm(CblasRowMajor, TA, TB, M, hi - lo, K, alpha, A, lda, tb ? B + (long)lo * ldb : B + lo,
				    ldb, beta, C + lo, ldc);
	}
	openblas_set_num_threads(saved);
}

/* Decoding runs the model over one row, or a few (one a sequence), 43 products
 * a token for a 6-layer model. Each is one OpenBLAS call on OpenBLAS's own
 * threads: they split W's rows between them, so W is read (or copied, packed)
 * once, not once a thread, and they spin a while between calls, so handing a
 * product to them is cheap, where waking an OpenMP team for each (passive
 * waits) cost ~80 us a product on this 2-core VM. Measured with
 * `lm-sample -v --ids -t 1 -n 200` on bench/sample.sh's model: batch 1 ~195
 * tok/s with a team a product, 640-730 this way. Batch 64 runs as fast as when
 * each of our threads ran its share of the sequences through the whole model
 * (2206-2295 tok/s against 1943-2327, alternating, 6 runs each), with less
 * code. For one row sgemv, since sgemm would first copy all of W. */
#define FEW_ROWS 256

void matmul_forward(float *out, const float *inp, const float *w, int N, int IN, int OUT) {
	if (N == 1) cblas_sgemv(CblasRowMajor, CblasNoTrans, OUT, IN, 1.0f, w, IN, inp, 1, 0.0f, out, 1);
	else if (N < FEW_ROWS) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, OUT, IN, 1.0f, inp, IN, w, IN, 0.0f, out, OUT);
	else gemm(0, 1, N, OUT, IN, 1.0f, inp, IN, w, IN, 0.0f, out, OUT);
}

void matmul_backward(float *dinp, float *dw, const float *dout, const float *inp, const float *w,
		     int N, int IN, int OUT) {
	if (dinp) gemm(0, 0, N, IN, OUT, 1.0f, dout, OUT, w, IN, 1.0f, dinp, IN);
	gemm(1, 0, OUT, IN, N, 1.0f, dout, OUT, inp, IN, 1.0f, dw, IN);
}

void rmsnorm_forward(float *out, float *rstd, const float *inp, const float *weight, int N, int C,
		     float eps) {
#pragma omp parallel for if ((long)N * C >= PAR_MIN) schedule(static)
	for (int n = 0; n < N; n++) {
		const float *x = inp + (long)n * C;
		float *y = out + (long)n * C, ss = 0;
#pragma omp simd reduction(+ : ss)
		for (int i = 0; i < C; i++) ss += x[i] * x[i];
		float r = 1.0f / sqrtf(ss / C + eps);
		rstd[n] = r;
#pragma omp simd
		for (int i = 0; i < C; i++) y[i] = x[i] * r * weight[i];
	}
}

void rmsnorm_backward(float *dinp, float *dweight, const float *dout, const float *inp,
		      const float *weight, const float *rstd, int N, int C) {
	/* y = x·r·w, r = (mean(x²) + eps)^(-1/2):
	 * dx = r·w·dy - x·r³/C · Σ dy·w·x;  dw = Σ_rows dy·x·r */
#pragma omp parallel for if ((long)N * C >= PAR_MIN) schedule(static)
	for (int n = 0; n < N; n++) {
		const float *x = inp + (long)n * C, *dy = dout + (long)n * C;
		float *dx = dinp + (long)n * C, r = rstd[n], dot = 0;
#pragma omp simd reduction(+ : dot)
		for (int i = 0; i < C; i++) dot += dy[i] * weight[i] * x[i];
		float c = dot * r * r * r / C;
#pragma omp simd
		for (int i = 0; i < C; i++) dx[i] += r * weight[i] * dy[i] - c * x[i];
	}
	/* rows in order on one thread: the sum does not depend on the team */
	for (int n = 0; n < N; n++) {
		const float *x = inp + (long)n * C, *dy = dout + (long)n * C;
		float r = rstd[n];
#pragma omp simd
		for (int i = 0; i < C; i++) dweight[i] += dy[i] * x[i] * r;
	}
}

void rope_table(float *cosv, float *sinv, int n_pos, int head_dim, float theta) {
	int half = head_dim / 2;
	for (int i = 0; i < half; i++) {
		/* float frequencies, as Meta's reference computes them */
		float freq = 1.0f / powf(theta, (float)(2 * i) / head_dim);
		for (int p = 0; p < n_pos; p++) {
			float a = (float)p * freq;
			cosv[(long)p * half + i] = cosf(a);
			sinv[(long)p * half + i] = sinf(a);
		}
	}
}

static void rope_rotate(float *x, const int *pos, const float *cosv, const float *sinv, int N,
			int n_heads, int hd, float sign) {
	int half = hd / 2;
#pragma omp parallel for if ((long)N * n_heads * hd >= PAR_MIN) schedule(static)
	for (int n = 0; n < N; n++) {
		const float *c = cosv + (long)pos[n] * half, *s = sinv + (long)pos[n] * half;
		for (int h = 0; h < n_heads; h++) {
			float *v = x + ((long)n * n_heads + h) * hd;
#pragma omp simd
			for (int i = 0; i < half; i++) {
				float a = v[2 * i], b = v[2 * i + 1], si = sign * s[i];
				v[2 * i] = a * c[i] - b * si;
				v[2 * i + 1] = a * si + b * c[i];
			}
		}
	}
}

void rope_forward(float *x, const int *pos, const float *cosv, const float *sinv, int N, int n_heads,
		  int head_dim) {
	rope_rotate(x, pos, cosv, sinv, N, n_heads, head_dim, 1.0f);
}

void rope_backward(float *dx, const int *pos, const float *cosv, const float *sinv, int N, int n_heads,
		   int head_dim) {
	/* the rotation is orthogonal: its transpose is the rotation by -angle */
	rope_rotate(dx, pos, cosv, sinv, N, n_heads, head_dim, -1.0f);
}

long attention_scratch_floats(int T, int n_heads) { return (long)n_heads * T * T; }

/* Causal attention only needs keys up to the last query of a block of rows:
 * computing score blocks of this many rows skips most of the upper triangle. */
#define ATT_ROWS 128

/* First key query t of a row may see: the start of its segment (segments are
 * contiguous runs of equal ids). */
static int seg_first(const int *seg, int t) {
	int s = t;
	while (s > 0 && seg[s - 1] == seg[t]) s--;
	return s;
}

void attention_forward(float *out, float *att, const float *q, const float *k, const float *v,
		       const int *seg, int B, int T, int n_heads, int n_kv_heads, int hd) {
	int qd = n_heads * hd, kvd = n_kv_heads * hd, group = n_heads / n_kv_heads;
	float scale = 1.0f / sqrtf((float)hd);
	int saved = openblas_get_num_threads();
	openblas_set_num_threads(1);
	/* one (row, head) per task: its scores, softmax and output on one thread */
#pragma omp parallel for schedule(dynamic, 1) if ((long)B * n_heads * T * T >= PAR_MIN)
	for (int bh = 0; bh < B * n_heads; bh++) {
		int b = bh / n_heads, h = bh % n_heads;
		const float *Q = q + (long)b * T * qd + h * hd, *K = k + (long)b * T * kvd + (h / group) * hd,
			    *V = v + (long)b * T * kvd + (h / group) * hd;
		const int *sg = seg ? seg + (long)b * T : NULL;
		float *P = att + (long)bh * T * T, *O = out + (long)b * T * qd + h * hd;
		for (int r0 = 0; r0 < T; r0 += ATT_ROWS) {
			int r1 = r0 + ATT_ROWS < T ? r0 + ATT_ROWS : T, k0 = sg ? seg_first(sg, r0) : 0;
			/* keys before k0 belong to earlier segments than any row of the block sees */
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, r1 - r0, r1 - k0, hd, scale, Q + (long)r0 * qd,
				    qd, K + (long)k0 * kvd, kvd, 0.0f, P + (long)r0 * T + k0, T);
			for (int t = r0; t < r1; t++) {
				float *S = P + (long)t * T;
				int first = sg ? seg_first(sg, t) : 0;
				float mx = max_of(S + first, t + 1 - first);
				scale_by(S + first, 1.0f / exp_sum(S + first, S + first, mx, t + 1 - first), t + 1 - first);
				/* zeros where the products over this block read: nothing past r1 */
				memset(S, 0, sizeof(float) * first);
				memset(S + t + 1, 0, sizeof(float) * (r1 - t - 1));
			}
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, r1 - r0, hd, r1 - k0, 1.0f, P + (long)r0 * T + k0,
				    T, V + (long)k0 * kvd, kvd, 0.0f, O + (long)r0 * qd, qd);
		}
	}
	openblas_set_num_threads(saved);
}

void attention_backward(float *dq, float *dk, float *dv, float *scratch, const float *dout,
			const float *att, const float *q, const float *k, const float *v, const int *seg, int B,
			int T, int n_heads, int n_kv_heads, int hd) {
	int qd = n_heads * hd, kvd = n_kv_heads * hd, group = n_heads / n_kv_heads;
	float scale = 1.0f / sqrtf((float)hd);
	int saved = openblas_get_num_threads(), nt = omp_get_max_threads();
	openblas_set_num_threads(1);
	/* one (row, KV head) per task: the heads sharing a KV head add into its dK
	 * and dV in order, on one thread; each thread has a T×T scratch */
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt < n_heads ? nt : n_heads) \
	if ((long)B * n_heads * T * T >= PAR_MIN)
	for (int bk = 0; bk < B * n_kv_heads; bk++) {
		int b = bk / n_kv_heads, kh = bk % n_kv_heads;
		float *dS = scratch + (long)omp_get_thread_num() * T * T;
		const float *K = k + (long)b * T * kvd + kh * hd, *V = v + (long)b * T * kvd + kh * hd;
		float *dK = dk + (long)b * T * kvd + kh * hd, *dV = dv + (long)b * T * kvd + kh * hd;
		const int *sg = seg ? seg + (long)b * T : NULL;
		for (int t = 0; t < T; t++) {
			memset(dK + (long)t * kvd, 0, sizeof(float) * hd);
			memset(dV + (long)t * kvd, 0, sizeof(float) * hd);
		}
		for (int h = kh * group; h < (kh + 1) * group; h++) {
			const float *dO = dout + (long)b * T * qd + h * hd, *Q = q + (long)b * T * qd + h * hd,
				    *P = att + ((long)b * n_heads + h) * T * T;
			float *dQ = dq + (long)b * T * qd + h * hd;
			for (int r0 = 0; r0 < T; r0 += ATT_ROWS) {
				int r1 = r0 + ATT_ROWS < T ? r0 + ATT_ROWS : T, n = r1 - r0, k0 = sg ? seg_first(sg, r0) : 0;
				int m = r1 - k0;   /* the keys the block's rows see (attention_forward) */
				const float *Pb = P + (long)r0 * T + k0, *dOb = dO + (long)r0 * qd;
				float *dSb = dS + (long)r0 * T + k0;
				/* dP = dO·V^T; dV += P^T·dO */
				cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, m, hd, 1.0f, dOb, qd, V + (long)k0 * kvd,
					    kvd, 0.0f, dSb, T);
				cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, m, hd, n, 1.0f, Pb, T, dOb, qd, 1.0f,
					    dV + (long)k0 * kvd, kvd);
				/* softmax backward: dS = P ⊙ (dP - Σ P⊙dP), zero where P is (masked) */
				for (int t = r0; t < r1; t++) {
					const float *p = P + (long)t * T;
					float *d = dS + (long)t * T, dot = 0;
#pragma omp simd reduction(+ : dot)
					for (int s = k0; s <= t; s++) dot += p[s] * d[s];
#pragma omp simd
					for (int s = k0; s <= t; s++) d[s] = p[s] * (d[s] - dot);
					for (int s = t + 1; s < r1; s++) d[s] = 0;
				}
				/* dQ = scale·dS·K; dK += scale·dS^T·Q */
				cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, hd, m, scale, dSb, T, K + (long)k0 * kvd,
					    kvd, 0.0f, dQ + (long)r0 * qd, qd);
				cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, m, hd, n, scale, dSb, T, Q + (long)r0 * qd,
					    qd, 1.0f, dK + (long)k0 * kvd, kvd);
			}
		}
	}
	openblas_set_num_threads(saved);
}

void swiglu_forward(float *out, const float *gate, const float *up, long n) {
	long nv = n / VL;
#pragma omp parallel for if (n >= PAR_MIN) schedule(static)
	for (long j = 0; j < nv; j++) {
		vf g = vload(gate + j * VL);
		vstore(out + j * VL, g / (1.0f + vexp(-g)) * vload(up + j * VL));
	}
	for (long i = nv * VL; i < n; i++) {
		vf g = vsplat(gate[i]), e = vexp(-g);
		out[i] = gate[i] / (1.0f + e[0]) * up[i];
	}
}

void swiglu_backward(float *dgate, float *dup, const float *dout, const float *gate, const float *up,
		     long n) {
	/* silu(g) = g·σ(g); silu'(g) = σ(g)·(1 + g·(1 - σ(g))) */
	long nv = (n + VL - 1) / VL;
#pragma omp parallel for if (n >= PAR_MIN) schedule(static)
	for (long j = 0; j < nv; j++) {
		long i = j * VL;
		int k = n - i < VL ? (int)(n - i) : VL;
		vf g = k == VL ? vload(gate + i) : vload_n(gate + i, k), u = k == VL ? vload(up + i) : vload_n(up + i, k),
		   d = k == VL ? vload(dout + i) : vload_n(dout + i, k);
		vf sig = 1.0f / (1.0f + vexp(-g)), du = d * g * sig, dg = d * u * sig * (1.0f + g * (1.0f - sig));
		if (k == VL) {
			vstore(dup + i, du);
			vstore(dgate + i, dg);
		} else {
			vstore_n(dup + i, du, k);
			vstore_n(dgate + i, dg, k);
		}
	}
}

void embedding_forward(float *out, const int *tokens, const float *wte, int N, int C) {
	for (int n = 0; n < N; n++) memcpy(out + (long)n * C, wte + (long)tokens[n] * C, sizeof(float) * C);
}

void embedding_backward(float *dwte, const float *dout, const int *tokens, int N, int C) {
	/* in row order: a token repeated in the batch sums the same way every run */
	for (int n = 0; n < N; n++) {
		float *d = dwte + (long)tokens[n] * C;
		const float *g = dout + (long)n * C;
#pragma omp simd
		for (int i = 0; i < C; i++) d[i] += g[i];
	}
}

void residual_forward(float *a, const float *b, long n) {
#pragma omp parallel for simd if (n >= PAR_MIN) schedule(static)
	for (long i = 0; i < n; i++) a[i] += b[i];
}

void softmax_forward(float *probs, const float *logits, int N, int V) {
#pragma omp parallel for if ((long)N * V >= PAR_MIN) schedule(static)
	for (int n = 0; n < N; n++) {
		const float *x = logits + (long)n * V;
		float *p = probs + (long)n * V;
		scale_by(p, 1.0f / exp_sum(p, x, max_of(x, V), V), V);
	}
}

void crossentropy_forward_backward(float *logits, float *losses, const int *targets,
				   const float *weight, float grad_scale, int N, int V) {
#pragma omp parallel for if ((long)N * V >= PAR_MIN) schedule(static)
	for (int n = 0; n < N; n++) {
		float *x = logits + (long)n * V, w = weight ? weight[n] : 1.0f;
		int tg = targets[n];
		if (w == 0 || tg < 0) {
			losses[n] = 0;
			if (grad_scale != 0) memset(x, 0, sizeof(float) * V);
			continue;
		}
		float xt = x[tg], mx = max_of(x, V);
		if (grad_scale == 0) {
			/* exp into the logits is fine: they are not needed after */
			losses[n] = logf(exp_sum(x, x, mx, V)) + mx - xt;
			continue;
		}
		/* the exponentials, normalised, are the gradient */
		float sum = exp_sum(x, x, mx, V), c = w * grad_scale;
		losses[n] = logf(sum) + mx - xt;
		scale_by(x, c / sum, V);
		x[tg] -= c;
	}
}
