#include "layers.h"
#include "simd.h"
#include "util.h"
#include <cblas.h>
#include <immintrin.h>
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

/* Attention is fused, as FlashAttention does it, and vectorized over keys
 * instead of going through sgemm: with head sizes of 8 to 64 an sgemm call
 * per block of rows spends its time packing its operands, and the T×T
 * probabilities of every layer (335 MB for stories260K's shape at 8 rows of
 * 512) cost more to write and read back than to recompute. A task, one (row,
 * KV head), copies its K and V transposed, (hd, T), into its thread's scratch;
 * queries go ATT_R at a time (a tile), so each vector of 16 keys loaded from
 * there serves ATT_R rows' multiply-adds. The forward keeps only each query's
 * log-sum-exp; the backward recomputes the probabilities from it. A tile's
 * keys run from its first row's segment start to its last row; lanes outside
 * a row's own keys are masked (to -inf before the max, to 0 after exp), and
 * the transposed copies are zero-padded by VL keys past T, which lanes past
 * the tile's last key read. Multiply-adds are explicit fmaf (GCC's ISO C mode
 * does not contract a*b + c): one rounding, half the instructions. */
#define ATT_R 8
#define ATT_PAD(T) (((long)(T) + 2 * VL - 1) / VL * VL)

/* a thread's scratch: K, V, dK, dV transposed, a tile's P and dS rows, its scaled queries */
static long att_slot(int T, int hd) { return (4L * hd + 2 * ATT_R) * ATT_PAD(T) + ((long)ATT_R * hd + VL - 1) / VL * VL; }

long attention_scratch_floats(int T, int hd, int n_heads) { return n_heads * att_slot(T, hd); }

/* x in every lane: one broadcast (vsplat's (vf){0} + x adds first, which
 * GCC keeps without -ffast-math, a scalar add for each of the kernel's
 * broadcasts) */
/* GCC's __builtin_shuffle and clang's __builtin_shufflevector (make fuzz
 * builds with clang) take the same constant lanes */
#ifdef __clang__
#define SHUF(v, ...) __builtin_shufflevector(v, v, __VA_ARGS__)
#else
#define SHUF(v, ...) __builtin_shuffle(v, (vi){__VA_ARGS__})
#endif
static inline vf vbcast(float x) { return SHUF((vf){x}, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0); }

/* a·b + c lane by lane, rounded once as fmaf: the instruction itself where
 * the target has it, since GCC's SLP vectorizer turns the lane loop into 16
 * scalar FMAs and their shuffles where its tuning prefers 256-bit vectors
 * (-march=native on an Intel Xeon that GCC takes for a Rocket Lake: attention
 * was then 91% of a training step at stories260K's shape) */
static inline vf vfma(vf a, vf b, vf c) {
#if defined(__AVX512F__)
	return (vf)_mm512_fmadd_ps((__m512)a, (__m512)b, (__m512)c);
#elif defined(__FMA__)
	union { vf v; __m256 h[2]; } x = {a}, y = {b}, z = {c}, r;
	r.h[0] = _mm256_fmadd_ps(x.h[0], y.h[0], z.h[0]);
	r.h[1] = _mm256_fmadd_ps(x.h[1], y.h[1], z.h[1]);
	return r.v;
#else
	vf r;
	for (int i = 0; i < VL; i++) r[i] = __builtin_fmaf(a[i], b[i], c[i]);
	return r;
#endif
}

/* Σ of a vector's lanes by halves: a tile's dot products end in R·hd of these,
 * as many as its multiply-adds for short rows, where vsum's chain of 16
 * dependent adds would cost more than all of those. */
static inline float hsum(vf v) {
	v += SHUF(v, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7);
	v += SHUF(v, 4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11);
	v += SHUF(v, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13);
	return v[0] + v[1];
}

/* dst (hd, Tp) = src (T rows of stride ld, hd)^T, zero past T */
static void transpose_in(float *dst, const float *src, int T, long Tp, int ld, int hd) {
	for (int d = 0; d < hd; d++) {
		float *o = dst + d * Tp;
		for (int t = 0; t < T; t++) o[t] = src[(long)t * ld + d];
		for (long t = T; t < Tp; t++) o[t] = 0;
	}
}

/* keys and values of row b, KV head kh, transposed into Kt and Vt */
static void kv_in(float *Kt, float *Vt, const float *k, const float *v, int b, int kh, int T, long Tp, int kvd, int hd) {
	transpose_in(Kt, k + (long)b * T * kvd + kh * hd, T, Tp, kvd, hd);
	transpose_in(Vt, v + (long)b * T * kvd + kh * hd, T, Tp, kvd, hd);
}

/* A tile: rows t0..t0+nr-1 of one head, keys f0..f0+n-1 of which row r sees
 * lo[r]..hi[r] (tile-relative), Q[r] and dO[r] its query and output gradient. */
typedef struct {
	int nr, f0, n, lo[ATT_R], hi[ATT_R];
	const float *Q[ATT_R];
} att_tile;

static const vi iota = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

/* v's lanes j.. where row r sees the key, fill elsewhere; most vectors lie inside */
static inline vf keys_of(vf v, const att_tile *a, int r, int j, float fill) {
	if (j >= a->lo[r] && j + VL - 1 <= a->hi[r]) return v;
	vi x = iota + j, in = (x >= a->lo[r]) & (x <= a->hi[r]);
	return (vf)(((vi)v & in) | ((vi)vbcast(fill) & ~in));
}

/* S[r] (n, stride Tp) = scale·Q[r]·K^T over the tile's keys, -inf outside row r's */
static void tile_scores(float *S, long Tp, const att_tile *a, const float *Kt, int hd, float scale) {
	for (int j = 0; j < a->n; j += VL) {
		vf acc[ATT_R] = {{0}};
		const float *kt = Kt + a->f0 + j;
		for (int d = 0; d < hd; d++) {
			vf kv = vload(kt + d * Tp);
			_Pragma("GCC unroll 8") for (int r = 0; r < ATT_R; r++) acc[r] = vfma(vbcast(a->Q[r][d]), kv, acc[r]);
		}
		_Pragma("GCC unroll 8") for (int r = 0; r < ATT_R; r++) vstore(S + r * Tp + j, keys_of(acc[r] * scale, a, r, j, -INFINITY));
	}
}

/* a tile starting at row t0 whose first row's segment starts at *f (updated to the last row's) */
static void tile_at(att_tile *a, const int *sg, int *f, int t0, int T, const float *q, long qstride) {
	a->nr = T - t0 < ATT_R ? T - t0 : ATT_R;
	_Pragma("GCC unroll 8") for (int r = 0; r < ATT_R; r++) {
		/* rows past the last (in the last tile) repeat it: computed, never written out */
		int t = t0 + (r < a->nr ? r : a->nr - 1);
		/* segments are contiguous runs of equal ids */
		if (r < a->nr && sg && t > 0 && sg[t - 1] != sg[t]) *f = t;
		if (r == 0) a->f0 = *f;
		a->lo[r] = *f - a->f0;
		a->hi[r] = t - a->f0;
		a->Q[r] = q + t * qstride;
	}
	a->n = t0 + a->nr - a->f0;
}

void attention_forward(float *out, float *lse, float *scratch, const float *q, const float *k, const float *v,
		       const int *seg, int B, int T, int n_heads, int n_kv_heads, int hd) {
	int qd = n_heads * hd, kvd = n_kv_heads * hd, group = n_heads / n_kv_heads, nt = omp_get_max_threads();
	long Tp = ATT_PAD(T);
	float scale = 1.0f / sqrtf((float)hd);
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt < n_heads ? nt : n_heads) \
	if ((long)B * n_heads * T * T >= PAR_MIN)
	for (int bk = 0; bk < B * n_kv_heads; bk++) {
		int b = bk / n_kv_heads, kh = bk % n_kv_heads;
		float *Kt = scratch + omp_get_thread_num() * att_slot(T, hd), *Vt = Kt + hd * Tp;
		float *S = Vt + hd * Tp;
		kv_in(Kt, Vt, k, v, b, kh, T, Tp, kvd, hd);
		const int *sg = seg ? seg + (long)b * T : NULL;
		for (int h = kh * group; h < (kh + 1) * group; h++)
			for (int t0 = 0, f = 0; t0 < T; t0 += ATT_R) {
				att_tile a;
				tile_at(&a, sg, &f, t0, T, q + (long)b * T * qd + h * hd, qd);
				tile_scores(S, Tp, &a, Kt, hd, scale);
				float z[ATT_R];
				for (int r = 0; r < a.nr; r++) {
					float *Sr = S + r * Tp;
					float mx = max_of(Sr, a.n);
					vf sum = {0};
					for (int j = 0; j < a.n; j += VL) {
						vf e = keys_of(vexp(vload(Sr + j) - mx), &a, r, j, 0);
						vstore(Sr + j, e);
						sum += e;
					}
					z[r] = hsum(sum);
					lse[((long)b * n_heads + h) * T + t0 + r] = mx + logf(z[r]);
				}
				/* out = P·V, each of its hd entries a dot product over the tile's keys */
				for (int d = 0; d < hd; d++) {
					vf acc[ATT_R] = {{0}};
					const float *vd = Vt + d * Tp + a.f0;
					for (int j = 0; j < a.n; j += VL) {
						vf vv = vload(vd + j);
						_Pragma("GCC unroll 8") for (int r = 0; r < ATT_R; r++) acc[r] = vfma(vload(S + r * Tp + j), vv, acc[r]);
					}
					for (int r = 0; r < a.nr; r++) out[((long)b * T + t0 + r) * qd + h * hd + d] = hsum(acc[r]) / z[r];
				}
			}
	}
}

void attention_backward(float *dq, float *dk, float *dv, float *scratch, const float *dout, const float *lse,
			const float *q, const float *k, const float *v, const int *seg, int B, int T, int n_heads,
			int n_kv_heads, int hd) {
	int qd = n_heads * hd, kvd = n_kv_heads * hd, group = n_heads / n_kv_heads, nt = omp_get_max_threads();
	long Tp = ATT_PAD(T);
	float scale = 1.0f / sqrtf((float)hd);
	/* one (row, KV head) per task: the heads sharing a KV head add into its dK
	 * and dV in order, on one thread */
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt < n_heads ? nt : n_heads) \
	if ((long)B * n_heads * T * T >= PAR_MIN)
	for (int bk = 0; bk < B * n_kv_heads; bk++) {
		int b = bk / n_kv_heads, kh = bk % n_kv_heads;
		float *Kt = scratch + omp_get_thread_num() * att_slot(T, hd), *Vt = Kt + hd * Tp;
		float *dKt = Vt + hd * Tp, *dVt = dKt + hd * Tp, *P = dVt + hd * Tp, *dS = P + ATT_R * Tp;
		float *qs = dS + ATT_R * Tp;   /* (ATT_R, hd): scale·Q, 0 for the repeated rows */
		kv_in(Kt, Vt, k, v, b, kh, T, Tp, kvd, hd);
		memset(dKt, 0, sizeof(float) * 2 * hd * Tp);
		const int *sg = seg ? seg + (long)b * T : NULL;
		for (int h = kh * group; h < (kh + 1) * group; h++)
			for (int t0 = 0, f = 0; t0 < T; t0 += ATT_R) {
				att_tile a;
				tile_at(&a, sg, &f, t0, T, q + (long)b * T * qd + h * hd, qd);
				const float *dO[ATT_R];
				float l[ATT_R];
				_Pragma("GCC unroll 8") for (int r = 0; r < ATT_R; r++) {
					int t = t0 + (r < a.nr ? r : a.nr - 1);
					dO[r] = dout + ((long)b * T + t) * qd + h * hd;
					l[r] = lse[((long)b * n_heads + h) * T + t];
				}
				/* P recomputed (0 outside each row's keys); dP = dO·V^T; the
				 * softmax's backward needs Σ P⊙dP of each row */
				tile_scores(P, Tp, &a, Kt, hd, scale);
				vf dot[ATT_R] = {{0}};
				for (int j = 0; j < a.n; j += VL) {
					vf dp[ATT_R] = {{0}};
					const float *vt = Vt + a.f0 + j;
					for (int d = 0; d < hd; d++) {
						vf vv = vload(vt + d * Tp);
						_Pragma("GCC unroll 8") for (int r = 0; r < ATT_R; r++) dp[r] = vfma(vbcast(dO[r][d]), vv, dp[r]);
					}
					_Pragma("GCC unroll 8") for (int r = 0; r < ATT_R; r++) {
						vf p = keys_of(vexp(vload(P + r * Tp + j) - l[r]), &a, r, j, 0);
						vstore(P + r * Tp + j, p);
						vstore(dS + r * Tp + j, dp[r]);
						dot[r] = vfma(p, dp[r], dot[r]);
					}
				}
				/* dS = P⊙(dP - Σ P⊙dP), 0 wherever P is */
				_Pragma("GCC unroll 8") for (int r = 0; r < ATT_R; r++) {
					float dd = hsum(dot[r]);
					for (int j = 0; j < a.n; j += VL)
						vstore(dS + r * Tp + j, vload(P + r * Tp + j) * (vload(dS + r * Tp + j) - dd));
				}
				/* dK += scale·dS^T·Q; dV += P^T·dO */
				for (int r = 0; r < ATT_R; r++)
					for (int d = 0; d < hd; d++) qs[r * hd + d] = r < a.nr ? scale * a.Q[r][d] : 0;
				/* a vector of keys' dS and P of every row in registers, their
				 * products with each dimension added into dK and dV; the repeated
				 * rows past nr add nothing */
				for (int j = 0; j < a.n; j += VL) {
					vf ds[ATT_R], p[ATT_R];
					_Pragma("GCC unroll 8") for (int r = 0; r < ATT_R; r++) {
						ds[r] = vload(dS + r * Tp + j);
						p[r] = r < a.nr ? vload(P + r * Tp + j) : vbcast(0);
					}
					float *dkt = dKt + a.f0 + j, *dvt = dVt + a.f0 + j;
					for (int d = 0; d < hd; d++) {
						vf gk = vload(dkt + d * Tp), gv = vload(dvt + d * Tp);
						_Pragma("GCC unroll 8") for (int r = 0; r < ATT_R; r++) {
							gk = vfma(vbcast(qs[r * hd + d]), ds[r], gk);
							gv = vfma(vbcast(dO[r][d]), p[r], gv);
						}
						vstore(dkt + d * Tp, gk);
						vstore(dvt + d * Tp, gv);
					}
				}
				/* dQ = scale·dS·K */
				for (int d = 0; d < hd; d++) {
					vf acc[ATT_R] = {{0}};
					const float *kd = Kt + d * Tp + a.f0;
					for (int j = 0; j < a.n; j += VL) {
						vf kv = vload(kd + j);
						_Pragma("GCC unroll 8") for (int r = 0; r < ATT_R; r++) acc[r] = vfma(vload(dS + r * Tp + j), kv, acc[r]);
					}
					for (int r = 0; r < a.nr; r++) dq[((long)b * T + t0 + r) * qd + h * hd + d] = scale * hsum(acc[r]);
				}
			}
		for (int t = 0; t < T; t++)
			for (int d = 0; d < hd; d++) {
				dk[((long)b * T + t) * kvd + kh * hd + d] = dKt[d * Tp + t];
				dv[((long)b * T + t) * kvd + kh * hd + d] = dVt[d * Tp + t];
			}
	}
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

/* ---- decoding's kernels (layers.h) ----
 *
 * The products of decoding have few rows (N: the sequences of a batch) and
 * read each weight once a step; OpenBLAS packs the whole weight matrix on
 * every call, a quarter of a batch-64 step. These read w in place: a block of
 * up to 4 rows of w by 4 rows of inp, 16 fma chains an output, the lanes
 * summed at the end (layers.h gives the order). */

/* rows of w a tile: read from memory once, kept in cache while every row of inp passes over it */
#define DEC_JT 16

static float lanes16(const float a[16]) {
	float s8[8], s4[4];
	for (int i = 0; i < 8; i++) s8[i] = a[i] + a[i + 8];
	for (int i = 0; i < 4; i++) s4[i] = s8[i] + s8[i + 4];
	return (s4[0] + s4[2]) + (s4[1] + s4[3]);
}

static void mmd_portable(float *out, const float *inp, const float *w, int N, int IN, int OUT, int j0, int j1) {
	for (int n = 0; n < N; n++)
		for (int j = j0; j < j1; j++) {
			const float *x = inp + (long)n * IN, *wr = w + (long)j * IN;
			float acc[16] = {0};
			/* past IN the vector paths' lanes add 0·0: so do these */
			for (int k = 0; k < IN; k += 16)
				for (int i = 0; i < 16; i++)
					acc[i] = fmaf(k + i < IN ? wr[k + i] : 0, k + i < IN ? x[k + i] : 0, acc[i]);
			out[(long)n * OUT + j] = lanes16(acc);
		}
}

/* The lane sums of 16 accumulators at once, each added in hsum512's order:
 * lane 4c + r of the result is a[c + 4r]'s sum. */
static AVX512 INLINE __m512 hsum512x16(const __m512 a[16]) {
	__m512 c[8], e[4], g[2];
	/* i + i+8: halves of two accumulators side by side */
	for (int p = 0; p < 8; p++)
		c[p] = _mm512_add_ps(_mm512_shuffle_f32x4(a[2 * p], a[2 * p + 1], 0x44),
				     _mm512_shuffle_f32x4(a[2 * p], a[2 * p + 1], 0xee));
	/* i + i+4: a 128-bit lane an accumulator */
	for (int q = 0; q < 4; q++)
		e[q] = _mm512_add_ps(_mm512_shuffle_f32x4(c[2 * q], c[2 * q + 1], 0x88),
				     _mm512_shuffle_f32x4(c[2 * q], c[2 * q + 1], 0xdd));
	/* 0+2 and 1+3 */
	for (int r = 0; r < 2; r++)
		g[r] = _mm512_add_ps(_mm512_shuffle_ps(e[2 * r], e[2 * r + 1], _MM_SHUFFLE(1, 0, 1, 0)),
				     _mm512_shuffle_ps(e[2 * r], e[2 * r + 1], _MM_SHUFFLE(3, 2, 3, 2)));
	return _mm512_add_ps(_mm512_shuffle_ps(g[0], g[1], _MM_SHUFFLE(2, 0, 2, 0)),
			     _mm512_shuffle_ps(g[0], g[1], _MM_SHUFFLE(3, 1, 3, 1)));
}

static AVX512 INLINE void blk512(const int RW, const int RX, float *out, const float *inp, const float *w,
					 int IN, int OUT, int n0, int j0) {
	__m512 acc[4][4];
	for (int r = 0; r < RW; r++)
		for (int c = 0; c < RX; c++) acc[r][c] = _mm512_setzero_ps();
	const float *wr = w + (long)j0 * IN, *xr = inp + (long)n0 * IN;
	/* nq rows of w at a time. One row of inp: one (nq 1), so that w's rows
	 * are read one after another, as they lie in memory: one stream is what
	 * the hardware's prefetch follows best (on an AMD EPYC, Zen 4, a core read
	 * 22-24 GB/s so and 10 with RW rows side by side, 64 bytes of each at a
	 * time, the next block's rows prefetched or not). Several rows of inp:
	 * all RW side by side, a load of w for RX multiply-adds, where one each
	 * would make the loads the bound (Zen 4 loads one 512-bit vector a
	 * cycle). Each accumulator adds in the same order either way. */
	const int nq = RX == 1 ? 1 : RW;
	int k0 = IN / 16 * 16;
	__mmask16 m = (__mmask16)((1u << (IN - k0)) - 1);
	for (int q = 0; q < RW; q += nq) {
		__m512 wv[4];
		for (int k = 0; k < k0; k += 16) {
			for (int r = q; r < q + nq; r++) wv[r] = _mm512_loadu_ps(wr + (long)r * IN + k);
			for (int c = 0; c < RX; c++) {
				__m512 xv = _mm512_loadu_ps(xr + (long)c * IN + k);
				for (int r = q; r < q + nq; r++) acc[r][c] = _mm512_fmadd_ps(wv[r], xv, acc[r][c]);
			}
		}
		if (k0 < IN) {
			for (int r = q; r < q + nq; r++) wv[r] = _mm512_maskz_loadu_ps(m, wr + (long)r * IN + k0);
			for (int c = 0; c < RX; c++) {
				__m512 xv = _mm512_maskz_loadu_ps(m, xr + (long)c * IN + k0);
				for (int r = q; r < q + nq; r++) acc[r][c] = _mm512_fmadd_ps(wv[r], xv, acc[r][c]);
			}
		}
	}
	if (RW == 4 && RX == 4) {
		__m512 a[16];
		for (int r = 0; r < 4; r++)
			for (int c = 0; c < 4; c++) a[c + 4 * r] = acc[r][c];
		float s[16];
		_mm512_storeu_ps(s, hsum512x16(a));
		for (int c = 0; c < 4; c++) memcpy(out + (long)(n0 + c) * OUT + j0, s + 4 * c, 4 * sizeof *s);
		return;
	}
	for (int r = 0; r < RW; r++)
		for (int c = 0; c < RX; c++) out[(long)(n0 + c) * OUT + j0 + r] = hsum512(acc[r][c]);
}

static AVX512 void mmd_avx512(float *out, const float *inp, const float *w, int N, int IN, int OUT, int j0, int j1) {
#define BLK(RW, RX) blk512(RW, RX, out, inp, w, IN, OUT, n, j)
	SIMD_TILES(DEC_JT, 4, 4, 4, N, j0, j1, BLK)
#undef BLK
}

/* AVX2: an output's 16 chains are two registers, lanes 0-7 and 8-15 */
/* the first n (< 8 or more) floats of p, zeros after */
static AVX2 INLINE __m256 load8(const float *p, int n) {
	if (n >= 8) return _mm256_loadu_ps(p);
	if (n <= 0) return _mm256_setzero_ps();
	__m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
	return _mm256_maskload_ps(p, m);
}

static AVX2 INLINE void blk256(const int RW, const int RX, float *out, const float *inp, const float *w,
				       int IN, int OUT, int n0, int j0) {
	__m256 acc[2][2][2];
	for (int r = 0; r < RW; r++)
		for (int c = 0; c < RX; c++) acc[r][c][0] = acc[r][c][1] = _mm256_setzero_ps();
	const float *wr = w + (long)j0 * IN, *xr = inp + (long)n0 * IN;
	/* nq rows of w at a time, as blk512 reads them */
	const int nq = RX == 1 ? 1 : RW;
	for (int q = 0; q < RW; q += nq)
		for (int k = 0; k < IN; k += 16) {
			int left = IN - k;
			__m256 wv[2][2];
			for (int r = q; r < q + nq; r++)
				for (int h = 0; h < 2; h++) wv[r][h] = load8(wr + (long)r * IN + k + 8 * h, left - 8 * h);
			for (int c = 0; c < RX; c++)
				for (int h = 0; h < 2; h++) {
					__m256 xv = load8(xr + (long)c * IN + k + 8 * h, left - 8 * h);
					for (int r = q; r < q + nq; r++) acc[r][c][h] = _mm256_fmadd_ps(wv[r][h], xv, acc[r][c][h]);
				}
		}
	for (int r = 0; r < RW; r++)
		for (int c = 0; c < RX; c++) out[(long)(n0 + c) * OUT + j0 + r] = hsum256x2(acc[r][c][0], acc[r][c][1]);
}

static AVX2 void mmd_avx2(float *out, const float *inp, const float *w, int N, int IN, int OUT, int j0, int j1) {
#define BLK(RW, RX) blk256(RW, RX, out, inp, w, IN, OUT, n, j)
	SIMD_TILES(DEC_JT, 2, 2, 2, N, j0, j1, BLK)
#undef BLK
}

typedef void mmd_fn(float *, const float *, const float *, int, int, int, int, int);
static mmd_fn *const DECODE[SIMD_PATHS] = {[SIMD_AVX512] = mmd_avx512, [SIMD_AVX2] = mmd_avx2, [SIMD_PORTABLE] = mmd_portable};
static int decode_now = -1;

int decode_path(void) {
	if (decode_now < 0) decode_now = simd_best();
	return decode_now;
}

const char *decode_kernel(void) { return simd_name(decode_path()); }

int decode_use(const char *name) {
	int p = simd_path(name);
	if (p < 0 || !simd_runs(p)) return 0;
	decode_now = p;
	return 1;
}

void matmul_decode(float *out, const float *inp, const float *w, int N, int IN, int OUT, int j0, int j1) {
	DECODE[decode_path()](out, inp, w, N, IN, OUT, j0, j1);
}
