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

static inline void rmsnorm_row(float *y, float *rstd, const float *x, const float *weight, int C, float eps) {
	float ss = 0;
#pragma omp simd reduction(+ : ss)
	for (int i = 0; i < C; i++) ss += x[i] * x[i];
	float r = 1.0f / sqrtf(ss / C + eps);
	*rstd = r;
#pragma omp simd
	for (int i = 0; i < C; i++) y[i] = x[i] * r * weight[i];
}

/* Small work runs outside any parallel region: a region whose if clause is
 * false still goes through libgomp (a team set up and torn down, a futex
 * call), and a decoding step calls these ~60 times a token. */
void rmsnorm_forward(float *out, float *rstd, const float *inp, const float *weight, int N, int C,
		     float eps) {
	if ((long)N * C < PAR_MIN) {
		for (int n = 0; n < N; n++) rmsnorm_row(out + (long)n * C, rstd + n, inp + (long)n * C, weight, C, eps);
		return;
	}
#pragma omp parallel for schedule(static)
	for (int n = 0; n < N; n++) rmsnorm_row(out + (long)n * C, rstd + n, inp + (long)n * C, weight, C, eps);
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

/* the heads of row x at cos c, sin s */
static inline void rope_row(float *x, const float *c, const float *s, int n_heads, int hd, float sign) {
	for (int h = 0; h < n_heads; h++) {
		float *v = x + (long)h * hd;
#pragma omp simd
		for (int i = 0; i < hd / 2; i++) {
			float a = v[2 * i], b = v[2 * i + 1], si = sign * s[i];
			v[2 * i] = a * c[i] - b * si;
			v[2 * i + 1] = a * si + b * c[i];
		}
	}
}

static void rope_rotate(float *x, const int *pos, const float *cosv, const float *sinv, int N,
			int n_heads, int hd, float sign) {
	long half = hd / 2, row = (long)n_heads * hd;
	if (N * row < PAR_MIN) {   /* (as rmsnorm_forward) */
		for (int n = 0; n < N; n++) rope_row(x + n * row, cosv + pos[n] * half, sinv + pos[n] * half, n_heads, hd, sign);
		return;
	}
#pragma omp parallel for schedule(static)
	for (int n = 0; n < N; n++) rope_row(x + n * row, cosv + pos[n] * half, sinv + pos[n] * half, n_heads, hd, sign);
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

static inline void swiglu_vec(float *out, const float *gate, const float *up) {
	vf g = vload(gate);
	vstore(out, g / (1.0f + vexp(-g)) * vload(up));
}

void swiglu_forward(float *out, const float *gate, const float *up, long n) {
	long nv = n / VL;
	if (n < PAR_MIN)   /* (as rmsnorm_forward) */
		for (long j = 0; j < nv; j++) swiglu_vec(out + j * VL, gate + j * VL, up + j * VL);
	else {
#pragma omp parallel for schedule(static)
		for (long j = 0; j < nv; j++) swiglu_vec(out + j * VL, gate + j * VL, up + j * VL);
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
 * read each weight once a step. They read w packed once, at the sampler's
 * start (decode_pack), in panels of DECODE_GROUP columns laid out k-major: a
 * step of k is one load of each of the panel's vectors, broadcast against
 * each input row, and an output is one fma chain over k with no lane sums at
 * the end. (Rows of w taken as they lie need a vector of lanes an output and
 * a horizontal sum of 16 lanes for every output: at 64 rows they ran at
 * 66-85 GFLOP/s a core where these run at 100-108 on an AMD EPYC, Zen 4; and
 * a panel is one stream where several rows side by side are several, so at
 * one row it reads 26-28 GB/s against 21-23.) */

/* Group g's columns 64g.. in the packed matrix: its width (a multiple of 16,
 * past OUT zeros) and where it starts */
static int group_width(int g, int OUT) {
	int w = (OUT - DECODE_GROUP * g + 15) / 16 * 16;
	return w < DECODE_GROUP ? w : DECODE_GROUP;
}

size_t decode_packed_floats(int IN, int OUT) { return (size_t)IN * ((OUT + 15) / 16 * 16); }

void decode_pack(float *p, const float *w, int IN, int OUT) {
#pragma omp parallel for schedule(static) if ((size_t)IN * OUT >= PAR_MIN)
	for (int g = 0; g < (OUT + DECODE_GROUP - 1) / DECODE_GROUP; g++) {
		int W = group_width(g, OUT), j0 = g * DECODE_GROUP;
		float *pg = p + (size_t)j0 * IN;
		for (int k = 0; k < IN; k++)
			for (int c = 0; c < W; c++) pg[(size_t)k * W + c] = j0 + c < OUT ? w[(size_t)(j0 + c) * IN + k] : 0.0f;
	}
}

static void mmd_portable(float *out, const float *inp, const float *p, int N, int IN, int OUT, int j0, int j1) {
	for (int jb = j0; jb < j1; jb += DECODE_GROUP) {
		int W = group_width(jb / DECODE_GROUP, OUT), end = j1 < jb + W ? j1 : jb + W;
		const float *pg = p + (size_t)jb * IN;
		for (int n = 0; n < N; n++) {
			const float *x = inp + (size_t)n * IN;
			float acc[DECODE_GROUP] = {0};
			for (int k = 0; k < IN; k++)
				for (int c = 0; c < W; c++) acc[c] = fmaf(pg[(size_t)k * W + c], x[k], acc[c]);
			memcpy(out + (size_t)n * OUT + jb, acc, (end - jb) * sizeof *acc);
		}
	}
}

/* A group's panel pg (W columns from column jb, PV vectors of 16) against
 * input rows n0..n0+RX: RX·PV fma chains */
static AVX512 INLINE void pan512(const int RX, const int PV, float *out, const float *inp, const float *pg, int W,
				 int IN, int OUT, int n0, int jb) {
	__m512 acc[6][4];
	for (int r = 0; r < RX; r++)
		for (int c = 0; c < PV; c++) acc[r][c] = _mm512_setzero_ps();
	const float *x = inp + (size_t)n0 * IN, *wk = pg;
	for (int k = 0; k < IN; k++, wk += W) {
		__m512 wv[4];
		for (int c = 0; c < PV; c++) wv[c] = _mm512_loadu_ps(wk + 16 * c);
		for (int r = 0; r < RX; r++) {
			__m512 xv = _mm512_set1_ps(x[(size_t)r * IN + k]);
			for (int c = 0; c < PV; c++) acc[r][c] = _mm512_fmadd_ps(wv[c], xv, acc[r][c]);
		}
	}
	for (int c = 0; c < PV; c++) {
		int j = jb + 16 * c, left = OUT - j;
		__mmask16 m = left >= 16 ? 0xffff : (__mmask16)((1u << left) - 1);
		for (int r = 0; r < RX; r++) _mm512_mask_storeu_ps(out + (size_t)(n0 + r) * OUT + j, m, acc[r][c]);
	}
}

static AVX512 void mmd_avx512(float *out, const float *inp, const float *p, int N, int IN, int OUT, int j0, int j1) {
#define PAN(RX, PV) pan512(RX, PV, out, inp, pg, W, IN, OUT, n, jb)
#define PVS(RX)                                                                                                        \
	switch (W / 16) {                                                                                              \
	case 1: PAN(RX, 1); break;                                                                                     \
	case 2: PAN(RX, 2); break;                                                                                     \
	case 3: PAN(RX, 3); break;                                                                                     \
	default: PAN(RX, 4);                                                                                           \
	}
	for (int jb = j0; jb < j1; jb += DECODE_GROUP) {
		int g = jb / DECODE_GROUP, W = group_width(g, OUT), n = 0;
		const float *pg = p + (size_t)jb * IN;
		/* six rows a pass: 24 accumulators, 4 of w, 1 of x */
		for (; n + 6 <= N; n += 6) PVS(6);
		switch (N - n) {
		case 5: PVS(5); break;
		case 4: PVS(4); break;
		case 3: PVS(3); break;
		case 2: PVS(2); break;
		case 1: PVS(1); break;
		}
	}
#undef PVS
#undef PAN
}

/* AVX2: vectors of 8 columns; 16 registers hold two rows by four vectors
 * (and the four of w, the two of x), or one row by a whole group's eight:
 * PV vectors of the panel from vector v0 */
static AVX2 INLINE void pan256(const int RX, const int PV, float *out, const float *inp, const float *pg, int W,
			       int IN, int OUT, int n0, int jb, int v0) {
	__m256 acc[2][8];
	for (int r = 0; r < RX; r++)
		for (int c = 0; c < PV; c++) acc[r][c] = _mm256_setzero_ps();
	const float *x = inp + (size_t)n0 * IN, *wk = pg + 8 * v0;
	for (int k = 0; k < IN; k++, wk += W) {
		__m256 xv[2];
		for (int r = 0; r < RX; r++) xv[r] = _mm256_broadcast_ss(x + (size_t)r * IN + k);
		for (int c = 0; c < PV; c++) {
			__m256 wv = _mm256_loadu_ps(wk + 8 * c);
			for (int r = 0; r < RX; r++) acc[r][c] = _mm256_fmadd_ps(wv, xv[r], acc[r][c]);
		}
	}
	for (int c = 0; c < PV; c++) {
		int j = jb + 8 * (v0 + c), left = OUT - j;
		__m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32(left), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
		for (int r = 0; r < RX; r++) _mm256_maskstore_ps(out + (size_t)(n0 + r) * OUT + j, m, acc[r][c]);
	}
}

static AVX2 void mmd_avx2(float *out, const float *inp, const float *p, int N, int IN, int OUT, int j0, int j1) {
	for (int jb = j0; jb < j1; jb += DECODE_GROUP) {
		int g = jb / DECODE_GROUP, W = group_width(g, OUT), nv = W / 8, n = 0;
		const float *pg = p + (size_t)jb * IN;
		for (; n + 2 <= N; n += 2)
			for (int v = 0; v < nv; v += 4)
				if (nv - v >= 4) pan256(2, 4, out, inp, pg, W, IN, OUT, n, jb, v);
				else pan256(2, 2, out, inp, pg, W, IN, OUT, n, jb, v);
		if (n < N) switch (nv) {
			case 2: pan256(1, 2, out, inp, pg, W, IN, OUT, n, jb, 0); break;
			case 4: pan256(1, 4, out, inp, pg, W, IN, OUT, n, jb, 0); break;
			case 6: pan256(1, 6, out, inp, pg, W, IN, OUT, n, jb, 0); break;
			default: pan256(1, 8, out, inp, pg, W, IN, OUT, n, jb, 0);
			}
	}
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

void matmul_decode(float *out, const float *inp, const float *p, int N, int IN, int OUT, int j0, int j1) {
	if (j0 % DECODE_GROUP) die("matmul_decode: columns from %d, not a multiple of %d", j0, DECODE_GROUP);
	DECODE[decode_path()](out, inp, p, N, IN, OUT, j0, j1);
}
