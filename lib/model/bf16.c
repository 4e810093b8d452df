/* bf16: the weights' conversion, the bf16 matmul kernels and the threads that
 * share a product (see bf16.h). */
#include "bf16.h"
#include "simd.h"
#include "layers.h"
#include "util.h"
#include "wait.h"
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

/* The lanes of one output added pairwise, the order every kernel keeps. */
static float lanes_sum(const float a[16]) {
	float s8[8], s4[4];
	for (int i = 0; i < 8; i++) s8[i] = a[i] + a[i + 8];
	for (int i = 0; i < 4; i++) s4[i] = s8[i] + s8[i + 4];
	return (s4[0] + s4[2]) + (s4[1] + s4[3]);
}

/* The kernels read w in blocks of 32 bf16, a 512-bit load: the 16 32-bit
 * words' low halves are the even elements and their high halves the odd ones,
 * each widened to floats by one shift or one mask. So lane i of a row's 16
 * chains takes elements 32b + 2i, then 32b + 2i + 1, of each block b; inp is
 * rearranged to match once a product (x_split): per block, its 16 even
 * elements, then its 16 odd ones, zeros past IN. */
#define KB 32

static int padded(int IN) { return (IN + KB - 1) / KB * KB; }

/* ---- the portable kernel: outputs j0..j1 of every row, one at a time ---- */

static void mm_portable(float *out, const float *xs, const uint16_t *w, int N, int IN, int OUT, int j0, int j1) {
	int P = padded(IN);
	for (int n = 0; n < N; n++) {
		const float *x = xs + (size_t)n * P;
		for (int j = j0; j < j1; j++) {
			const uint16_t *wr = w + (size_t)j * IN;
			float acc[16] = {0};
			/* past IN the vector kernels' lanes add 0·0: so do these (-0 + 0 is +0) */
			for (int k = 0; k < IN; k += KB)
				for (int i = 0; i < 16; i++) {
					float we = k + 2 * i < IN ? bf16_float(wr[k + 2 * i]) : 0;
					float wo = k + 2 * i + 1 < IN ? bf16_float(wr[k + 2 * i + 1]) : 0;
					acc[i] = fmaf(we, x[k + i], acc[i]);
					acc[i] = fmaf(wo, x[k + 16 + i], acc[i]);
				}
			out[(size_t)n * OUT + j] = lanes_sum(acc);
		}
	}
}

/* ---- AVX-512: blocks of up to 4 rows of w by 4 rows of inp ---- */


static AVX512 INLINE void blk512(const int RW, const int RX, float *out, const float *xs, const uint16_t *w, int IN,
				 int OUT, int n0, int j0) {
	__m512 acc[4][4], e[4], o[4];
	__m512i hi = _mm512_set1_epi32((int)0xffff0000u);
	int P = padded(IN);
	for (int r = 0; r < RW; r++)
		for (int c = 0; c < RX; c++) acc[r][c] = _mm512_setzero_ps();
	const uint16_t *wr = w + (size_t)j0 * IN;
	const float *xr = xs + (size_t)n0 * P;
	/* nq rows of w at a time, as layers.c's decoding kernels read them */
	const int nq = RX == 1 ? 1 : RW;
	for (int q = 0; q < RW; q += nq)
		for (int k = 0; k < IN; k += KB) {
			__mmask32 m = IN - k >= KB ? ~0u : (1u << (IN - k)) - 1;
			for (int r = q; r < q + nq; r++) {
				/* a masked load only for the tail: over whole blocks it halved the rate from memory */
				__m512i h = m == ~0u ? _mm512_loadu_si512(wr + (size_t)r * IN + k)
						     : _mm512_maskz_loadu_epi16(m, wr + (size_t)r * IN + k);
				e[r] = _mm512_castsi512_ps(_mm512_slli_epi32(h, 16));
				o[r] = _mm512_castsi512_ps(_mm512_and_si512(h, hi));
			}
			for (int c = 0; c < RX; c++) {
				__m512 xe = _mm512_loadu_ps(xr + (size_t)c * P + k), xo = _mm512_loadu_ps(xr + (size_t)c * P + k + 16);
				for (int r = q; r < q + nq; r++) acc[r][c] = _mm512_fmadd_ps(o[r], xo, _mm512_fmadd_ps(e[r], xe, acc[r][c]));
			}
		}
	for (int r = 0; r < RW; r++)
		for (int c = 0; c < RX; c++) out[(size_t)(n0 + c) * OUT + j0 + r] = hsum512(acc[r][c]);
}

/* Rows of w a tile: a tile is read from memory once and stays in cache while
 * every row of inp passes over it. */
#define JT 64

static AVX512 void mm_avx512(float *out, const float *xs, const uint16_t *w, int N, int IN, int OUT, int j0, int j1) {
#define BLK(RW, RX) blk512(RW, RX, out, xs, w, IN, OUT, n, j)
	SIMD_TILES(JT, 4, 4, 4, N, j0, j1, BLK)
#undef BLK
}

/* ---- AVX2: a row's 16 chains are two registers (lanes 0-7, 8-15) ---- */


/* One block of 32 elements of RW rows of w (stride ldw) into acc. */
static AVX2 INLINE void step256(const int RW, const int RX, __m256 acc[4][2][2], const uint16_t *wr, size_t ldw,
				const float *xr, size_t P) {
	__m256i hi = _mm256_set1_epi32((int)0xffff0000u);
	for (int h = 0; h < 2; h++) {
		__m256 e[4], o[4];
		for (int r = 0; r < RW; r++) {
			__m256i v = _mm256_loadu_si256((const __m256i *)(wr + r * ldw + 16 * h));
			e[r] = _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
			o[r] = _mm256_castsi256_ps(_mm256_and_si256(v, hi));
		}
		for (int c = 0; c < RX; c++) {
			__m256 xe = _mm256_loadu_ps(xr + c * P + 8 * h), xo = _mm256_loadu_ps(xr + c * P + 16 + 8 * h);
			for (int r = 0; r < RW; r++)
				acc[r][c][h] = _mm256_fmadd_ps(o[r], xo, _mm256_fmadd_ps(e[r], xe, acc[r][c][h]));
		}
	}
}

static AVX2 INLINE void blk256(const int RW, const int RX, float *out, const float *xs, const uint16_t *w, int IN,
			       int OUT, int n0, int j0) {
	__m256 acc[4][2][2];
	int P = padded(IN), k = 0;
	for (int r = 0; r < RW; r++)
		for (int c = 0; c < RX; c++) acc[r][c][0] = acc[r][c][1] = _mm256_setzero_ps();
	const uint16_t *wr = w + (size_t)j0 * IN;
	const float *xr = xs + (size_t)n0 * P;
	/* nq rows of w at a time, as layers.c's decoding kernels read them */
	const int nq = RX == 1 ? 1 : RW;
	for (int q = 0; q < RW; q += nq) {
		const uint16_t *wq = wr + (size_t)q * IN;
		for (k = 0; k + KB <= IN; k += KB) step256(nq, RX, acc + q, wq + k, IN, xr + k, P);
		if (k < IN) {
			/* the tail through a zero-padded copy: the lanes past IN add 0·0 */
			uint16_t wt[4][KB] = {{0}};
			for (int i = 0; i < nq; i++) memcpy(wt[i], wq + (size_t)i * IN + k, (IN - k) * sizeof **wt);
			step256(nq, RX, acc + q, wt[0], KB, xr + k, P);
		}
	}
	for (int r = 0; r < RW; r++)
		for (int c = 0; c < RX; c++) out[(size_t)(n0 + c) * OUT + j0 + r] = hsum256x2(acc[r][c][0], acc[r][c][1]);
}

static AVX2 void mm_avx2(float *out, const float *xs, const uint16_t *w, int N, int IN, int OUT, int j0, int j1) {
#define BLK(RW, RX) blk256(RW, RX, out, xs, w, IN, OUT, n, j)
	SIMD_TILES(JT, 2, 2, 4, N, j0, j1, BLK)
#undef BLK
}

/* ---- the kernel in use ---- */

typedef void mm_fn(float *, const float *, const uint16_t *, int, int, int, int, int);
static mm_fn *const KERNELS[SIMD_PATHS] = {[SIMD_AVX512] = mm_avx512, [SIMD_AVX2] = mm_avx2, [SIMD_PORTABLE] = mm_portable};
static int kernel = -1;

static int kernel_now(void) {
	if (kernel < 0) kernel = simd_best();
	return kernel;
}

const char *bf16_kernel(void) { return simd_name(kernel_now()); }

int bf16_use(const char *name) {
	int p = simd_path(name);
	if (p < 0 || !simd_runs(p)) return 0;
	kernel = p;
	return 1;
}

/* ---- the threads that share a product ----
 *
 * A product is cut into chunks of rows of w that the caller and the workers
 * claim in turn from one counter, so a worker the system has not scheduled
 * (2 cores shared with other jobs) delays nothing: the caller takes its
 * chunks. Between products a worker spins for SPIN_SEC, then sleeps on a
 * condition variable: a token's products follow each other within
 * microseconds, and an OpenMP team (whose workers sleep at once under the
 * passive waits blas.h sets) took ~80 us to wake for each product. */
#define SPIN_SEC 1e-3

typedef struct job {
	float *out;
	const float *xs;
	const uint16_t *w;
	int N, IN, OUT, chunk, chunks;
	mm_fn *fn;
} job;

static struct {
	int n;                    /* workers started */
	_Atomic uint64_t ticket;  /* the product's number << 32 | the next chunk to claim */
	atomic_int done;
	job j;                    /* the product, written before its ticket */
	lm_waitq q;
} pool = {.q = LM_WAITQ_INIT};

/* Claim and run chunks of product g until none is left. A claim succeeds only
 * while g is unfinished, and the job is rewritten only after it finishes: so
 * the copy behind a successful claim is g's. */
static void work(uint32_t g) {
	for (;;) {
		job j = pool.j;
		uint64_t t = atomic_load(&pool.ticket);
		if (t >> 32 != g || (uint32_t)t >= (uint32_t)j.chunks) return;
		if (!atomic_compare_exchange_weak(&pool.ticket, &t, t + 1)) continue;
		int lo = (int)(uint32_t)t * j.chunk, hi = lo + j.chunk < j.OUT ? lo + j.chunk : j.OUT;
		j.fn(j.out, j.xs, j.w, j.N, j.IN, j.OUT, lo, hi);
		atomic_fetch_add_explicit(&pool.done, 1, memory_order_release);
	}
}

static void *worker(void *arg) {
	for (uint32_t seen = 0;;) {
		seen = (uint32_t)wait_change(&pool.q, &pool.ticket, 32, seen, SPIN_SEC);
		work(seen);
	}
	return NULL;
}

static void pool_grow(int n) {
	for (; pool.n < n; pool.n++) {
		pthread_t th;
		pthread_attr_t at;
		pthread_attr_init(&at);
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		if ((errno = pthread_create(&th, &at, worker, NULL))) die_errno("pthread_create");
		pthread_attr_destroy(&at);
	}
}

size_t bf16_split_floats(int N, int IN) { return (size_t)N * padded(IN); }

void bf16_split(float *xs, const float *inp, int N, int IN) {
	int P = padded(IN);
	for (int n = 0; n < N; n++) {
		const float *x = inp + (size_t)n * IN;
		float *y = xs + (size_t)n * P;
		for (int k = 0; k < P; k += KB)
			for (int i = 0; i < 16; i++) {
				y[k + i] = k + 2 * i < IN ? x[k + 2 * i] : 0;
				y[k + 16 + i] = k + 2 * i + 1 < IN ? x[k + 2 * i + 1] : 0;
			}
	}
}

void matmul_bf16_rows(float *out, const float *xs, const uint16_t *w, int N, int IN, int OUT, int j0, int j1) {
	KERNELS[kernel_now()](out, xs, w, N, IN, OUT, j0, j1);
}

/* inp rearranged as the kernels read it, in a buffer kept for the next product */
static const float *x_split(const float *inp, int N, int IN) {
	static float *xs;
	static size_t cap;
	size_t need = bf16_split_floats(N, IN);
	if (need > cap) {
		free(xs);
		xs = xalloc_aligned((cap = need) * sizeof *xs);
	}
	bf16_split(xs, inp, N, IN);
	return xs;
}

/* Below this many multiply-adds a product stays on the calling thread. */
#define PAR_MIN_MACS (1L << 16)

void matmul_forward_bf16(float *out, const float *inp, const uint16_t *w, int N, int IN, int OUT) {
	static uint32_t products;
	job j = {out, x_split(inp, N, IN), w, N, IN, OUT, OUT, 1, KERNELS[kernel_now()]};
	int threads = omp_get_max_threads();
	if (threads < 2 || omp_in_parallel() || (long)N * IN * OUT < PAR_MIN_MACS) {
		j.fn(out, j.xs, w, N, IN, OUT, 0, OUT);
		return;
	}
	pool_grow(threads - 1);
	/* a few chunks a thread, whole cache lines of outputs each */
	j.chunk = ((OUT + 4 * threads - 1) / (4 * threads) + 15) / 16 * 16;
	j.chunks = (OUT + j.chunk - 1) / j.chunk;
	pool.j = j;
	atomic_store(&pool.done, 0);
	atomic_store(&pool.ticket, (uint64_t)++products << 32);
	wait_wake(&pool.q);
	work(products);
	/* only chunks a worker is still running are left */
	for (int i = 1; atomic_load_explicit(&pool.done, memory_order_acquire) < j.chunks; i++) spin_turn(i);
}

/* ---- models ---- */

void model_weights(lm_model *m, const char *type, const char *option) {
	if (!strcmp(type, "f32")) return;
	if (strcmp(type, "bf16")) die("%s: weights are f32 or bf16, not %s", option, type);
	if (m->bf16) return;
	m->bf16 = xalloc_aligned(m->n_params * sizeof *m->bf16);
	for (size_t i = 0; i < m->n_params; i++) m->bf16[i] = bf16_round(m->block[i]);
}

void model_matmul(float *out, const float *inp, const lm_model *m, const float *w, int N, int IN, int OUT) {
	if (m->bf16) matmul_forward_bf16(out, inp, m->bf16 + (w - m->block), N, IN, OUT);
	else matmul_forward(out, inp, w, N, IN, OUT);
}
