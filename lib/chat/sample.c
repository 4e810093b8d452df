/* sample: the KV-cache decoder and the token samplers. The kernels of the
 * model's rows are lib/model/layers.c's: the products are matmul_decode,
 * over a copy of the fp32 weights packed once here (bf16 weights are read in
 * place), each output summed in one order whatever the batch, the threads or
 * the CPU's vector width; what is here is what decoding needs beyond training:
 * attention of new rows over the cache, the cache itself, the team of threads
 * that runs a step, and the samplers. */
#include "sample.h"
#include "bf16.h"
#include "gpu.h"
#include "layers.h"
#include "simd.h"
#include "util.h"
#include "wait.h"
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>

typedef struct { float p; int id; } cand;

typedef struct seq {
	int busy, done;
	int len;              /* positions in the KV cache */
	int32_t *pending;     /* tokens to feed next step (the prompt, then one) */
	int n_pending;
	int32_t *out;         /* sampled tokens */
	double *lp;           /* and their log-probabilities */
	int n_out;
	double logprob;
	lm_sampling how;
	lm_rng rng;
} seq;

/* Rows of one forward pass and their activations (or a run of them: a view). */
typedef struct rows {
	int n, w;                       /* rows; rows whose next token is wanted */
	int *tok, *slot, *pos;
	int *want, *slots;              /* each logits row: its row, its sequence */
	float *x, *xb, *q, *k, *v, *att, *h1, *h3, *rstd, *logits;
} rows;

struct lm_sampler {
	const lm_model *m;
	int max_batch, max_len, rows;   /* rows: capacity of one forward chunk */
	int hd, kv_dim, n_stop;
	int32_t *stop;
	int ld;                         /* max_len rounded up to a multiple of KB */
	char *name;                     /* the model's, for messages */
	float *kcache;                  /* (L, max_batch, n_kv_heads, ld / KB, hd, KB) */
	float *vcache;                  /* (L, max_batch, n_kv_heads, ld, hd) */
	float *cosv, *sinv;
	seq *seqs;
	rows r;                         /* one forward chunk: s->rows of them at most */
	cand *cands;                    /* sampler scratch, (max_batch, vocab) */
	float *probs;
	float *packed;                  /* fp32 weights: the matrices as matmul_decode reads them (decode_pack) */
	const float **pk;               /* ... each one's: layer l's wq wk wv wo w1 w3 w2 at 7l.., the classifier at 7L */
	float *xs;                      /* bf16 weights: a product's input as their kernels read it */
	float *xs_own;                  /* ... a thread's own (own_floats each, n_own threads), for steps of few rows */
	size_t own_floats;
	int n_own;
	float *xn_own, *rstd_own;       /* a thread's own normed rows (OWN_ROWS·dim each) and their 1/rms, likewise */
	atomic_int arrived, sense;      /* the team's barrier (see barrier()) */
	double sec_per_mac[2];          /* lately, a step's seconds per multiply-add alone and on a team */
	int trial_every, until_trial;   /* steps between trials of the slower, and until the next */
	atomic_int next[2];             /* the next item of a phase, two phases in turn */
	atomic_int bad;                 /* a row's logits were not finite */
	struct team {                   /* a step's other threads (team_run) */
		int n, nt, quit;        /* started; this step's team; sampler_free's */
		const struct rows *r;   /* this step's rows */
		_Atomic uint64_t step;  /* raised to start a step */
		atomic_int running;
		lm_waitq q;
		struct worker { lm_sampler *s; int t; uint64_t seen; pthread_t th; } **w;   /* w[t - 1]: thread t */
	} team;
	gpu_decode *gpu;                /* sampler_gpu: the model's rows run there */
};

/* The cache of one head of one sequence in one layer: ld·hd floats. Keys lie
 * in blocks of KB positions, each block a row of KB floats per dimension, so
 * that the scores of KB positions are one vector summed over the dimensions
 * (no horizontal sum per position) and a query's keys are one contiguous
 * stream. Values lie a row per position, as their weighted sum wants them. */
#define KB 16

/* Steps of at most this many rows: every thread of the team norms the rows
 * and rearranges a bf16 product's input itself, into its own buffers, rather
 * than taking its share and waiting at a barrier for the others'. */
#define OWN_ROWS 4
static size_t cache_at(const lm_sampler *s, int l, int slot, int kvh) {
	return (((size_t)l * s->max_batch + slot) * s->m->cfg.n_kv_heads + kvh) * s->ld * s->hd;
}

/* Zeroed memory in huge pages where the kernel gives them. For the KV cache:
 * attention reads a short run of it for each (sequence, head), 88 MB a step
 * at batch 64 (mean context 100); with 4 KiB pages what is not a product took
 * ~1.2x as long and batch 64 ran ~4% fewer tokens per CPU-second (alternate
 * runs). For the packed weights: their first touch faults in 2 MiB at a time. */
static float *huge_alloc(size_t bytes) {
	size_t huge = 2 << 20;
	void *p = NULL;
	if (bytes < huge) return xalloc_aligned(bytes);
	bytes = (bytes + huge - 1) / huge * huge;
	if (posix_memalign(&p, huge, bytes)) die("out of memory (%zu bytes)", bytes);
#ifdef MADV_HUGEPAGE
	madvise(p, bytes, MADV_HUGEPAGE);   /* a hint: without it, 4 KiB pages */
#endif
	memset(p, 0, bytes);
	return p;
}

/* The fp32 matrices packed for matmul_decode, in s->packed, s->pk[i] each:
 * a copy as large as the matrices, made at the first step on the CPU */
static void pack_weights(lm_sampler *s) {
	const lm_config *c = &s->m->cfg;
	const lm_params *p = &s->m->p;
	size_t D = c->dim, KV = s->kv_dim, F = c->hidden_dim, L = c->n_layers;
	const float *w[7 * L + 1];
	int in[7 * L + 1], out[7 * L + 1];
	for (size_t l = 0; l < L; l++) {
		const float *lw[7] = {p->wq + l * D * D, p->wk + l * KV * D, p->wv + l * KV * D, p->wo + l * D * D,
				      p->w1 + l * F * D, p->w3 + l * F * D, p->w2 + l * D * F};
		int li[7] = {D, D, D, D, D, D, F}, lo[7] = {D, KV, KV, D, F, F, D};
		for (int i = 0; i < 7; i++) w[7 * l + i] = lw[i], in[7 * l + i] = li[i], out[7 * l + i] = lo[i];
	}
	w[7 * L] = p->output, in[7 * L] = D, out[7 * L] = c->vocab_size;
	size_t total = 0, at[7 * L + 1];
	for (size_t i = 0; i <= 7 * L; i++) at[i] = total, total += decode_packed_floats(in[i], out[i]);   /* a multiple of 16: aligned */
	s->packed = huge_alloc(total * sizeof(float));
	s->pk = xmalloc((7 * L + 1) * sizeof *s->pk);
	for (size_t i = 0; i <= 7 * L; i++) {
		decode_pack(s->packed + at[i], w[i], in[i], out[i]);
		s->pk[i] = s->packed + at[i];
	}
}

lm_sampler *sampler_new(const lm_model *m, int max_batch, int max_len) {
	const lm_config *c = &m->cfg;
	if (max_batch < 1) die("sampler: batch size must be positive");
	if (max_len < 2 || max_len > c->max_seq_len)
		die("sampler: length %d outside [2, max_seq_len %d]", max_len, c->max_seq_len);
	lm_sampler *s = xcalloc(1, sizeof *s);
	s->m = m;
	s->name = xstrdup("sampler");
	s->max_batch = max_batch;
	s->max_len = max_len;
	s->trial_every = s->until_trial = 16;
	/* prompts are fed in chunks of this many rows; at least a few for prefill speed */
	s->rows = max_batch < 64 ? 64 : max_batch;
	s->hd = c->dim / c->n_heads;
	s->kv_dim = c->n_kv_heads * s->hd;
	s->ld = (max_len + KB - 1) / KB * KB;
	/* max_batch comes from the command line: refuse before the cache's size wraps */
	double floats = (double)c->n_layers * max_batch * s->ld * s->kv_dim;
	if (floats > 0x1p60)
		die("sampler: %d sequences of %d positions: a KV cache of %.3g floats, more than memory can address",
		    max_batch, max_len, floats);
	size_t cache = (size_t)c->n_layers * max_batch * s->ld * s->kv_dim;
	/* the positions of a block past a sequence's end are computed with and ignored: zeros make them numbers */
	s->kcache = huge_alloc(cache * sizeof(float));
	s->vcache = huge_alloc(cache * sizeof(float));
	s->cosv = xalloc_aligned((size_t)max_len * s->hd / 2 * sizeof(float));
	s->sinv = xalloc_aligned((size_t)max_len * s->hd / 2 * sizeof(float));
	rope_table(s->cosv, s->sinv, max_len, s->hd, c->rope_theta);
	s->seqs = xcalloc(max_batch, sizeof *s->seqs);
	for (int i = 0; i < max_batch; i++) {
		s->seqs[i].out = xmalloc(max_len * sizeof(int32_t));
		s->seqs[i].lp = xmalloc(max_len * sizeof(double));
	}
	int R = s->rows;
	rows *r = &s->r;
	r->tok = xmalloc(R * sizeof(int));
	r->slot = xmalloc(R * sizeof(int));
	r->pos = xmalloc(R * sizeof(int));
	r->want = xmalloc(R * sizeof(int));
	r->slots = xmalloc(R * sizeof(int));
	r->x = xalloc_aligned((size_t)R * c->dim * sizeof(float));
	r->xb = xalloc_aligned((size_t)R * c->dim * sizeof(float));
	r->q = xalloc_aligned((size_t)R * c->dim * sizeof(float));
	r->k = xalloc_aligned((size_t)R * s->kv_dim * sizeof(float));
	r->v = xalloc_aligned((size_t)R * s->kv_dim * sizeof(float));
	r->att = xalloc_aligned((size_t)R * c->n_heads * s->ld * sizeof(float));
	r->h1 = xalloc_aligned((size_t)R * c->hidden_dim * sizeof(float));
	r->h3 = xalloc_aligned((size_t)R * c->hidden_dim * sizeof(float));
	r->rstd = xalloc_aligned(R * sizeof(float));
	r->logits = xalloc_aligned((size_t)R * c->vocab_size * sizeof(float));
	s->n_own = omp_get_max_threads();
	s->xn_own = xalloc_aligned((size_t)s->n_own * OWN_ROWS * c->dim * sizeof(float));
	s->rstd_own = xalloc_aligned((size_t)s->n_own * OWN_ROWS * sizeof(float));
	if (m->bf16) {
		int wide = c->hidden_dim > c->dim ? c->hidden_dim : c->dim;
		s->xs = xalloc_aligned(bf16_split_floats(R, wide) * sizeof(float));
		s->own_floats = bf16_split_floats(OWN_ROWS, wide);
		s->xs_own = xalloc_aligned(s->n_own * s->own_floats * sizeof(float));
	}
	s->cands = xmalloc((size_t)max_batch * c->vocab_size * sizeof(cand));
	s->probs = xmalloc((size_t)max_batch * c->vocab_size * sizeof(float));
	return s;
}

static void team_stop(lm_sampler *s);

void sampler_free(lm_sampler *s) {
	if (!s) return;
	team_stop(s);
	gpu_decode_close(s->gpu);
	for (int i = 0; i < s->max_batch; i++) {
		free(s->seqs[i].out);
		free(s->seqs[i].lp);
		free(s->seqs[i].pending);
	}
	free(s->seqs); free(s->stop); free(s->name);
	free(s->kcache); free(s->vcache); free(s->cosv); free(s->sinv);
	rows *r = &s->r;
	free(r->tok); free(r->slot); free(r->pos); free(r->want); free(r->slots);
	free(r->x); free(r->xb); free(r->q); free(r->k); free(r->v); free(r->att);
	free(r->h1); free(r->h3); free(r->rstd); free(r->logits); free(s->cands); free(s->probs);
	free(s->packed);
	free(s->pk);
	free(s->xs);
	free(s->xs_own);
	free(s->xn_own);
	free(s->rstd_own);
	free(s);
}

void sampler_gpu(lm_sampler *s) {
	for (int i = 0; i < s->max_batch; i++)
		if (s->seqs[i].busy) die("sampler_gpu: called after sampler_start");
	s->gpu = gpu_decode_open(s->m, s->max_batch, s->max_len, s->rows, s->m->bf16 != NULL);
	free(s->kcache);
	free(s->vcache);
	s->kcache = s->vcache = NULL;
}

void sampler_name(lm_sampler *s, const char *name) {
	free(s->name);
	s->name = xstrdup(name);
}

void sampler_stop_ids(lm_sampler *s, const int32_t *ids, int n) {
	s->stop = xrealloc(s->stop, (n ? n : 1) * sizeof *ids);
	memcpy(s->stop, ids, n * sizeof *ids);
	s->n_stop = n;
}

int sampler_start(lm_sampler *s, const int32_t *prompt, int n, const lm_sampling *how, uint64_t seed) {
	if (n < 1) die("sampler: empty prompt (start it with BOS)");
	if (n >= s->max_len) die("sampler: prompt of %d tokens leaves no room in %d positions", n, s->max_len);
	for (int i = 0; i < n; i++)
		if (prompt[i] < 0 || prompt[i] >= s->m->cfg.vocab_size)
			die("sampler: prompt token %d outside the vocabulary (%d)", prompt[i], s->m->cfg.vocab_size);
	for (int i = 0; i < s->max_batch; i++) {
		seq *q = &s->seqs[i];
		if (q->busy) continue;
		q->busy = 1;
		q->done = 0;
		q->len = 0;
		q->pending = xrealloc(q->pending, n * sizeof *prompt);
		memcpy(q->pending, prompt, n * sizeof *prompt);
		q->n_pending = n;
		q->n_out = 0;
		q->logprob = 0;
		q->how = *how;
		rng_seed(&q->rng, seed);
		return i;
	}
	return -1;
}

int sampler_done(const lm_sampler *s, int slot) { return s->seqs[slot].done; }
int sampler_busy(const lm_sampler *s, int slot) { return s->seqs[slot].busy; }
const int32_t *sampler_tokens(const lm_sampler *s, int slot, int *n) {
	*n = s->seqs[slot].n_out;
	return s->seqs[slot].out;
}
double sampler_logprob(const lm_sampler *s, int slot) { return s->seqs[slot].logprob; }
const double *sampler_token_logprobs(const lm_sampler *s, int slot) { return s->seqs[slot].lp; }
void sampler_release(lm_sampler *s, int slot) { s->seqs[slot].busy = 0; }

/* glibc's vector expf (libmvec), so the exponentials of a 32000-token row take
 * a sixteenth of the calls; the scalar expf is used where nothing vectorizes. */
#pragma omp declare simd notinbranch
float expf(float);

/* x·0 is 0 for a finite x and NaN otherwise: one vector pass over the row. */
static int row_finite(const float *x, int n) {
	float z = 0;
#pragma omp simd reduction(+ : z)
	for (int i = 0; i < n; i++) z += x[i] * 0;
	return z == 0;
}

static float row_max(const float *x, int n) {
	float mx = -INFINITY;
#pragma omp simd reduction(max : mx)
	for (int i = 0; i < n; i++) mx = x[i] > mx ? x[i] : mx;
	return mx;
}

/* e[i] = exp((x[i] - mx) * scale); returns their sum. */
static float exp_row(float *e, const float *x, int n, float mx, float scale) {
	float sum = 0;
#pragma omp simd reduction(+ : sum)
	for (int i = 0; i < n; i++) sum += e[i] = expf((x[i] - mx) * scale);
	return sum;
}

/* ---- attention over the cache: AVX-512, AVX2 and portable paths, chosen at
 * run time with the products' (layers.h's decode_path); each sums in the same
 * order, so all give the same bits ---- */


/* a[t] = scale · Σ_i q[i]·k[t][i] (fma over i in order) for the positions of
 * nb key blocks at kb, all KB of each (positions past the sequence's end included). */
static void scores_portable(float *a, const float *q, const float *kb, int hd, int nb, float scale) {
	for (int t = 0; t < nb * KB; t++) {
		const float *k = kb + (size_t)(t / KB) * hd * KB + t % KB;
		float acc = 0;
		for (int i = 0; i < hd; i++) acc = fmaf(q[i], k[(size_t)i * KB], acc);
		a[t] = acc * scale;
	}
}

static AVX512 void scores_avx512(float *a, const float *q, const float *kb, int hd, int nb, float scale) {
	int b = 0;
	/* four blocks at a time: four independent chains of fma */
	for (; b + 4 <= nb; b += 4) {
		const float *k = kb + (size_t)b * hd * KB;
		__m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
		for (int i = 0; i < hd; i++) {
			__m512 qi = _mm512_set1_ps(q[i]);
			a0 = _mm512_fmadd_ps(qi, _mm512_load_ps(k + (size_t)i * KB), a0);
			a1 = _mm512_fmadd_ps(qi, _mm512_load_ps(k + (size_t)(hd + i) * KB), a1);
			a2 = _mm512_fmadd_ps(qi, _mm512_load_ps(k + (size_t)(2 * hd + i) * KB), a2);
			a3 = _mm512_fmadd_ps(qi, _mm512_load_ps(k + (size_t)(3 * hd + i) * KB), a3);
		}
		__m512 sc = _mm512_set1_ps(scale);
		_mm512_store_ps(a + b * KB, _mm512_mul_ps(a0, sc));
		_mm512_store_ps(a + (b + 1) * KB, _mm512_mul_ps(a1, sc));
		_mm512_store_ps(a + (b + 2) * KB, _mm512_mul_ps(a2, sc));
		_mm512_store_ps(a + (b + 3) * KB, _mm512_mul_ps(a3, sc));
	}
	for (; b < nb; b++) {
		const float *k = kb + (size_t)b * hd * KB;
		__m512 acc = _mm512_setzero_ps();
		for (int i = 0; i < hd; i++) acc = _mm512_fmadd_ps(_mm512_set1_ps(q[i]), _mm512_load_ps(k + (size_t)i * KB), acc);
		_mm512_store_ps(a + b * KB, _mm512_mul_ps(acc, _mm512_set1_ps(scale)));
	}
}

/* a block of KB = 16 positions is two registers; two blocks at a time */
static AVX2 void scores_avx2(float *a, const float *q, const float *kb, int hd, int nb, float scale) {
	int b = 0;
	__m256 sc = _mm256_set1_ps(scale);
	for (; b + 2 <= nb; b += 2) {
		const float *k = kb + (size_t)b * hd * KB;
		__m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
		for (int i = 0; i < hd; i++) {
			__m256 qi = _mm256_set1_ps(q[i]);
			a0 = _mm256_fmadd_ps(qi, _mm256_load_ps(k + (size_t)i * KB), a0);
			a1 = _mm256_fmadd_ps(qi, _mm256_load_ps(k + (size_t)i * KB + 8), a1);
			a2 = _mm256_fmadd_ps(qi, _mm256_load_ps(k + (size_t)(hd + i) * KB), a2);
			a3 = _mm256_fmadd_ps(qi, _mm256_load_ps(k + (size_t)(hd + i) * KB + 8), a3);
		}
		_mm256_store_ps(a + b * KB, _mm256_mul_ps(a0, sc));
		_mm256_store_ps(a + b * KB + 8, _mm256_mul_ps(a1, sc));
		_mm256_store_ps(a + (b + 1) * KB, _mm256_mul_ps(a2, sc));
		_mm256_store_ps(a + (b + 1) * KB + 8, _mm256_mul_ps(a3, sc));
	}
	for (; b < nb; b++) {
		const float *k = kb + (size_t)b * hd * KB;
		__m256 a0 = _mm256_setzero_ps(), a1 = a0;
		for (int i = 0; i < hd; i++) {
			__m256 qi = _mm256_set1_ps(q[i]);
			a0 = _mm256_fmadd_ps(qi, _mm256_load_ps(k + (size_t)i * KB), a0);
			a1 = _mm256_fmadd_ps(qi, _mm256_load_ps(k + (size_t)i * KB + 8), a1);
		}
		_mm256_store_ps(a + b * KB, _mm256_mul_ps(a0, sc));
		_mm256_store_ps(a + b * KB + 8, _mm256_mul_ps(a1, sc));
	}
}

/* o(hd) = Σ_t a[t]·v[t] (fma over t in order), v (T, hd) */
static void wsum_portable(float *o, const float *a, const float *v, int T, int hd) {
	memset(o, 0, hd * sizeof *o);
	for (int t = 0; t < T; t++)
		for (int i = 0; i < hd; i++) o[i] = fmaf(a[t], v[(size_t)t * hd + i], o[i]);
}

/* the accumulators in registers: hd = 16·NV */
static AVX512 INLINE void wsum512(const int NV, float *o, const float *a, const float *v, int T) {
	__m512 acc[8];
	for (int j = 0; j < NV; j++) acc[j] = _mm512_setzero_ps();
	for (int t = 0; t < T; t++) {
		__m512 w = _mm512_set1_ps(a[t]);
		for (int j = 0; j < NV; j++) acc[j] = _mm512_fmadd_ps(w, _mm512_loadu_ps(v + ((size_t)t * NV + j) * 16), acc[j]);
	}
	for (int j = 0; j < NV; j++) _mm512_storeu_ps(o + j * 16, acc[j]);
}

static AVX512 void wsum_avx512(float *o, const float *a, const float *v, int T, int hd) {
	switch (hd % 16 ? 0 : hd / 16) {
	case 1: wsum512(1, o, a, v, T); return;
	case 2: wsum512(2, o, a, v, T); return;
	case 3: wsum512(3, o, a, v, T); return;
	case 4: wsum512(4, o, a, v, T); return;
	case 5: wsum512(5, o, a, v, T); return;
	case 6: wsum512(6, o, a, v, T); return;
	case 7: wsum512(7, o, a, v, T); return;
	case 8: wsum512(8, o, a, v, T); return;
	}
	wsum_portable(o, a, v, T, hd);
}

/* hd = 8·NV */
static AVX2 INLINE void wsum256(const int NV, float *o, const float *a, const float *v, int T) {
	__m256 acc[12];
	for (int j = 0; j < NV; j++) acc[j] = _mm256_setzero_ps();
	for (int t = 0; t < T; t++) {
		__m256 w = _mm256_set1_ps(a[t]);
		for (int j = 0; j < NV; j++) acc[j] = _mm256_fmadd_ps(w, _mm256_loadu_ps(v + ((size_t)t * NV + j) * 8), acc[j]);
	}
	for (int j = 0; j < NV; j++) _mm256_storeu_ps(o + j * 8, acc[j]);
}

static AVX2 void wsum_avx2(float *o, const float *a, const float *v, int T, int hd) {
	switch (hd % 8 ? 0 : hd / 8) {
	case 1: wsum256(1, o, a, v, T); return;
	case 2: wsum256(2, o, a, v, T); return;
	case 3: wsum256(3, o, a, v, T); return;
	case 4: wsum256(4, o, a, v, T); return;
	case 5: wsum256(5, o, a, v, T); return;
	case 6: wsum256(6, o, a, v, T); return;
	case 7: wsum256(7, o, a, v, T); return;
	case 8: wsum256(8, o, a, v, T); return;
	case 12: wsum256(12, o, a, v, T); return;
	}
	wsum_portable(o, a, v, T, hd);
}

static void scores(float *a, const float *q, const float *kb, int hd, int nb, float scale) {
	switch (decode_path()) {
	case SIMD_AVX512: scores_avx512(a, q, kb, hd, nb, scale); return;
	case SIMD_AVX2: scores_avx2(a, q, kb, hd, nb, scale); return;
	default: scores_portable(a, q, kb, hd, nb, scale);
	}
}

static void wsum(float *o, const float *a, const float *v, int T, int hd) {
	switch (decode_path()) {
	case SIMD_AVX512: wsum_avx512(o, a, v, T, hd); return;
	case SIMD_AVX2: wsum_avx2(o, a, v, T, hd); return;
	default: wsum_portable(o, a, v, T, hd);
	}
}

/* ---- the team of threads that runs a step ----
 *
 * A step runs on the caller and the sampler's own threads (team_run): its
 * ~10 phases a layer (norm, the products, RoPE, attention, ...) are separated
 * by a spinning barrier, and the work of a phase (chunks of a product's rows
 * of w, (row, head) pairs of attention) is claimed in turn from a counter, so
 * a thread the system has not scheduled (2 cores shared with other jobs)
 * delays nothing but its own claim. Waking a sleeping OpenMP team for each of
 * a token's ~40 products cost ~80 us each on a 2-core VM, more than a
 * product; and even one wake a step cost batch 1 ~10% (team_run). */

typedef struct thr { int t, nt, sense, phase; } thr;

static void barrier(lm_sampler *s, thr *me) {
	if (me->nt > 1) {
		int sense = me->sense = !me->sense;
		if (atomic_fetch_add(&s->arrived, 1) == me->nt - 1) {
			atomic_store(&s->arrived, 0);
			atomic_store(&s->sense, sense);
		} else
			/* (sleeping instead, on a condition variable, decoded at half
			 * this rate here) */
			for (int i = 1; atomic_load(&s->sense) != sense; i++) spin_turn(i);
	}
	/* the counter of the phase after next is idle from now until the next barrier */
	if (++me->phase, me->t == 0) atomic_store(&s->next[(me->phase + 1) % 2], 0);
}

/* The next item of this phase (items past the phase's count are not claimed
 * by anyone, so every thread stops at the first of them). */
static int claim(lm_sampler *s, thr *me) { return atomic_fetch_add(&s->next[me->phase % 2], 1); }

/* Whether a phase of n rows runs on every thread's own buffers (OWN_ROWS);
 * the same answer on every thread of the team. */
static int own_rows(const lm_sampler *s, const thr *me, int n) { return n <= OWN_ROWS && me->nt <= s->n_own; }

/* This thread's share of n rows, for the phases whose rows cost alike. */
static void share(const thr *me, int n, int *lo, int *hi) {
	*lo = (int)((long)n * me->t / me->nt);
	*hi = (int)((long)n * (me->t + 1) / me->nt);
}

/* Chunks of rows of w: a few a thread, each whole units of the kernels (unit:
 * a panel of DECODE_GROUP for fp32, a vector of 16 rows for bf16). Units of 16
 * for fp32, panels split between threads, ran batch 1 at 0.84x (bench/README.md). */
static int chunk_rows(int OUT, int nt, int unit) {
	return nt == 1 ? OUT : ((OUT + 4 * nt - 1) / (4 * nt) + unit - 1) / unit * unit;
}

/* Products of rows r: chunks of rows of w claimed in turn. Separately, each
 * product's chunks one after another (q, k and v, whose sizes may differ); or
 * together, a chunk of every product at once (w1 and w3, whose outputs SwiGLU
 * combines column by column), then(s, r, j0, j1) on each chunk's columns once
 * its products are done. */
typedef struct prod { float *out; const float *w, *pk; int OUT; } prod;   /* w: the model's; pk: packed */

static void products(lm_sampler *s, thr *me, const rows *r, const float *inp, int IN, const prod *p, int np,
		     int together, void (*then)(lm_sampler *, const rows *, int, int)) {
	int N = r->n;
	const uint16_t *w16 = s->m->bf16;
	float *xs = s->xs;
	if (w16) {
		/* the input as bf16's kernels read it: each thread's own copy
		 * (own_rows), or once for the team */
		if (own_rows(s, me, N)) {
			xs = s->xs_own + (size_t)me->t * s->own_floats;
			bf16_split(xs, inp, N, IN);
		} else {
			if (me->t == 0) bf16_split(xs, inp, N, IN);
			barrier(s, me);
		}
	}
	int chunk[3], first[4] = {0};
	for (int i = 0; i < np; i++) {
		chunk[i] = chunk_rows(p[i].OUT, me->nt, w16 ? 16 : DECODE_GROUP);
		first[i + 1] = first[i] + (together && i ? 0 : (p[i].OUT + chunk[i] - 1) / chunk[i]);
	}
	for (int c; (c = claim(s, me)) < first[np];) {
		int i = 0;
		while (c >= first[i + 1]) i++;
		int j0 = (c - first[i]) * chunk[i], j1 = j0 + chunk[i] < p[i].OUT ? j0 + chunk[i] : p[i].OUT;
		for (int k = together ? 0 : i; k < (together ? np : i + 1); k++)
			if (w16) matmul_bf16_rows(p[k].out, xs, w16 + (p[k].w - s->m->block), N, IN, p[k].OUT, j0, j1);
			else matmul_decode(p[k].out, inp, p[k].pk, N, IN, p[k].OUT, j0, j1);
		if (then) then(s, r, j0, j1);
	}
}

/* x += out over columns j0..j1 of every row: the residual after wo and w2 */
static void add_residual(lm_sampler *s, const rows *r, int j0, int j1) {
	int D = s->m->cfg.dim;
	for (int n = 0; n < r->n; n++) {
		float *x = r->x + (size_t)n * D;
		const float *o = r->q + (size_t)n * D;
#pragma omp simd
		for (int j = j0; j < j1; j++) x[j] += o[j];
	}
}

/* h1 = silu(h1)·h3 over columns j0..j1 of every row */
static void swiglu_cols(lm_sampler *s, const rows *r, int j0, int j1) {
	int F = s->m->cfg.hidden_dim;
	for (int n = 0; n < r->n; n++)
		swiglu_forward(r->h1 + (size_t)n * F + j0, r->h1 + (size_t)n * F + j0, r->h3 + (size_t)n * F + j0, j1 - j0);
}

/* Attention of new row n, head h over its sequence's cache (which already
 * holds the row's own key): the row at position pos[n] sees 0..pos[n]. */
static void attend_one(lm_sampler *s, int l, const rows *r, int nh) {
	const lm_config *c = &s->m->cfg;
	int H = c->n_heads, hd = s->hd, group = c->n_heads / c->n_kv_heads;
	int n = nh / H, h = nh % H, T = r->pos[n] + 1;
	const float *q = r->q + (size_t)n * c->dim + h * hd;
	const float *kh = s->kcache + cache_at(s, l, r->slot[n], h / group);
	const float *vh = s->vcache + cache_at(s, l, r->slot[n], h / group);
	float *a = r->att + (size_t)nh * s->ld, *o = r->xb + (size_t)n * c->dim + h * hd;
	scores(a, q, kh, hd, (T + KB - 1) / KB, 1.0f / sqrtf((float)hd));
	float mx = row_max(a, T), sum = exp_row(a, a, T, mx, 1);
#pragma omp simd
	for (int t = 0; t < T; t++) a[t] /= sum;
	wsum(o, a, vh, T, hd);
}

static void attend(lm_sampler *s, int l, const rows *r, thr *me) {
	int NH = r->n * s->m->cfg.n_heads;
	if (me->nt > 1) {
		for (int i; (i = claim(s, me)) < NH;) attend_one(s, l, r, i);
		return;
	}
	/* alone: OpenMP's threads, when there is enough work to pay for them
	 * (and no region else: one with a false if clause still costs a futex call) */
	long work = 0;
	for (int n = 0; n < r->n; n++) work += (long)(r->pos[n] + 1) * s->m->cfg.dim;
	if (work < 1L << 16) {
		for (int i = 0; i < NH; i++) attend_one(s, l, r, i);
		return;
	}
#pragma omp parallel for schedule(dynamic, 1)
	for (int i = 0; i < NH; i++) attend_one(s, l, r, i);
}

/* RoPE on rows lo..hi of q and k, and their keys and values into the cache */
static void rope_cache(lm_sampler *s, int l, const rows *r, int lo, int hi) {
	const lm_config *c = &s->m->cfg;
	int KV = s->kv_dim, hd = s->hd;
	for (int n = lo; n < hi; n++) {   /* a row at a time: see norm_each */
		rope_forward(r->q + (size_t)n * c->dim, r->pos + n, s->cosv, s->sinv, 1, c->n_heads, hd);
		rope_forward(r->k + (size_t)n * KV, r->pos + n, s->cosv, s->sinv, 1, c->n_kv_heads, hd);
	}
	for (int n = lo; n < hi; n++)
		for (int h = 0; h < c->n_kv_heads; h++) {
			size_t at = cache_at(s, l, r->slot[n], h);
			const float *k = r->k + (size_t)n * KV + h * hd;
			float *kb = s->kcache + at + (size_t)(r->pos[n] / KB) * hd * KB + r->pos[n] % KB;
			for (int i = 0; i < hd; i++) kb[(size_t)i * KB] = k[i];
			memcpy(s->vcache + at + (size_t)r->pos[n] * hd, r->v + (size_t)n * KV + h * hd, hd * sizeof(float));
		}
}

static void sample_rows(lm_sampler *s, const rows *r, thr *me);

/* RMSNorm of n rows of x, a row at a time: a row is below layers.c's size
 * for a parallel region, and a thread of the team (team_run) must start
 * none, whose threads would crowd the team's */
static void norm_each(float *out, float *rstd, const float *x, const float *w, int n, int D, float eps) {
	for (int i = 0; i < n; i++) rmsnorm_forward(out + (size_t)i * D, rstd + i, x + (size_t)i * D, w, 1, D, eps);
}

/* The rows of x RMS-normed with w for a product: all of them into this
 * thread's own rows (own_rows), or the team's share lo..hi into r->xb, then a
 * barrier. The same bits either way. */
static const float *norm_rows(lm_sampler *s, const rows *r, thr *me, const float *w, float *own, float *own_rstd,
			      int lo, int hi) {
	const lm_config *c = &s->m->cfg;
	int D = c->dim;
	if (own_rows(s, me, r->n)) {
		norm_each(own, own_rstd, r->x, w, r->n, D, c->norm_eps);
		return own;
	}
	norm_each(r->xb + (size_t)lo * D, r->rstd + lo, r->x + (size_t)lo * D, w, hi - lo, D, c->norm_eps);
	barrier(s, me);
	return r->xb;
}

/* A thread's part of one step over rows r (tokens at positions of sequences):
 * the model, writing their keys and values into the cache, then the logits of
 * the rows listed in r->want and their next tokens. */
static void decode_thread(lm_sampler *s, const rows *r, thr *me) {
	int N = r->n, W = r->w, lo, hi;
	const lm_config *c = &s->m->cfg;
	const lm_params *p = &s->m->p;
	int D = c->dim, KV = s->kv_dim, F = c->hidden_dim;
	float *own = s->xn_own + (size_t)me->t * OWN_ROWS * D, *own_rstd = s->rstd_own + (size_t)me->t * OWN_ROWS;
	share(me, N, &lo, &hi);
	embedding_forward(r->x + (size_t)lo * D, r->tok + lo, p->tok_embeddings, hi - lo, D);
	if (own_rows(s, me, N)) barrier(s, me);   /* every row's embedding, for every thread's norm */
	for (int l = 0; l < c->n_layers; l++) {
		const float *xn = norm_rows(s, r, me, p->attention_norm + (size_t)l * D, own, own_rstd, lo, hi);
		const float *const *pk = s->pk ? s->pk + 7 * l : (const float *[7]){0};
		prod qkv[3] = {{r->q, p->wq + (size_t)l * D * D, pk[0], D}, {r->k, p->wk + (size_t)l * KV * D, pk[1], KV},
			       {r->v, p->wv + (size_t)l * KV * D, pk[2], KV}};
		products(s, me, r, xn, D, qkv, 3, 0, NULL);
		barrier(s, me);
		rope_cache(s, l, r, lo, hi);
		barrier(s, me);
		attend(s, l, r, me);
		barrier(s, me);
		prod wo = {r->q, p->wo + (size_t)l * D * D, pk[3], D};
		products(s, me, r, r->xb, D, &wo, 1, 0, add_residual);
		barrier(s, me);
		xn = norm_rows(s, r, me, p->ffn_norm + (size_t)l * D, own, own_rstd, lo, hi);
		prod up[2] = {{r->h1, p->w1 + (size_t)l * F * D, pk[4], F}, {r->h3, p->w3 + (size_t)l * F * D, pk[5], F}};
		products(s, me, r, xn, D, up, 2, 1, swiglu_cols);
		barrier(s, me);
		prod down = {r->q, p->w2 + (size_t)l * D * F, pk[6], D};
		products(s, me, r, r->h1, F, &down, 1, 0, add_residual);
		barrier(s, me);
	}
	/* only the rows whose next token is wanted go through the classifier */
	if (!W) return;
	rows rw = *r;
	rw.n = W;
	const float *xn;
	if (own_rows(s, me, W)) {
		for (int w = 0; w < W; w++)
			rmsnorm_forward(own + (size_t)w * D, own_rstd + w, r->x + (size_t)r->want[w] * D, p->norm, 1, D, c->norm_eps);
		xn = own;
	} else {
		share(me, W, &lo, &hi);
		for (int w = lo; w < hi; w++) memcpy(r->q + (size_t)w * D, r->x + (size_t)r->want[w] * D, D * sizeof(float));
		norm_each(r->xb + (size_t)lo * D, r->rstd + lo, r->q + (size_t)lo * D, p->norm, hi - lo, D, c->norm_eps);
		barrier(s, me);
		xn = r->xb;
	}
	prod head = {r->logits, p->output, s->pk ? s->pk[7 * c->n_layers] : NULL, c->vocab_size};
	products(s, me, &rw, xn, D, &head, 1, 0, NULL);
	barrier(s, me);
	sample_rows(s, r, me);
}

static int cand_desc(const void *a, const void *b) {
	const cand *x = a, *y = b;
	if (x->p != y->p) return x->p > y->p ? -1 : 1;
	return x->id - y->id;
}

/* Hoare's partition of c[lo..hi] around its middle element: afterwards
 * c[lo..*j] come no later than it by cand_desc, c[*i..hi] no earlier, and
 * those between equal it (*j < *i). */
static void partition(cand *c, int lo, int hi, int *i_, int *j_) {
	cand pivot = c[lo + (hi - lo) / 2];
	int i = lo, j = hi;
	while (i <= j) {
		while (cand_desc(&c[i], &pivot) < 0) i++;
		while (cand_desc(&c[j], &pivot) > 0) j--;
		if (i <= j) { cand t = c[i]; c[i] = c[j]; c[j] = t; i++; j--; }
	}
	*i_ = i; *j_ = j;
}

/* Move the k largest of c[0..n) (by cand_desc) to the front, in any order. */
static void select_top(cand *c, int n, int k) {
	int lo = 0, hi = n - 1, i, j;
	while (lo < hi) {
		partition(c, lo, hi, &i, &j);
		if (k - 1 <= j) hi = j;
		else if (k - 1 >= i) lo = i;
		else break;
	}
}

/* The nucleus of few candidates: sorted, then the fewest that reach target. */
static int nucleus_sorted(cand *c, int n, float target) {
	qsort(c, n, sizeof *c, cand_desc);
	float kept = 0;
	for (int i = 0; i < n; i++)
		if ((kept += c[i].p) >= target) return i + 1;
	return n;
}

static uint32_t float_bits(float x) { uint32_t u; memcpy(&u, &x, 4); return u; }

/* The nucleus of the whole vocabulary: into cs, the fewest largest weights
 * e[i] >= cut whose sum reaches target, in any order; returns their count.
 * A radix select instead of a sort: the bits of a positive float order like
 * its value, so the weight in each range of the top 11 bits, then of the next
 * 11 within the range where the sum crosses target, places the boundary
 * within 2^-13 of a weight in two passes; only the weights left in that last
 * range are sorted. Four histograms, a token to each in turn, so that a run
 * of tokens in one range is not one chain of dependent adds through memory. */
static int nucleus_of(const float *e, int V, float cut, float target, cand *cs) {
	enum { BITS = 11, NB = 1 << BITS };
	float h[4][NB], above = 0;
	int hi = -1, lo = -1;
	memset(h, 0, sizeof h);
	for (int i = 0; i < V; i++)
		if (e[i] >= cut) h[i & 3][float_bits(e[i]) >> (32 - BITS)] += e[i];
	for (int b = NB - 1; b >= 0 && hi < 0; b--) {
		float w = h[0][b] + h[1][b] + h[2][b] + h[3][b];
		if (above + w >= target) hi = b;
		else above += w;
	}
	if (hi >= 0) {
		memset(h, 0, sizeof h);
		for (int i = 0; i < V; i++)
			if (e[i] >= cut && (int)(float_bits(e[i]) >> (32 - BITS)) == hi)
				h[i & 3][float_bits(e[i]) >> (32 - 2 * BITS) & (NB - 1)] += e[i];
		for (int b = NB - 1; b >= 0 && lo < 0; b--) {
			float w = h[0][b] + h[1][b] + h[2][b] + h[3][b];
			if (above + w >= target) lo = b;
			else above += w;
		}
	}
	/* rounding can leave the sum short of target in either pass: then all of the range is in */
	uint32_t edge = hi < 0 ? 0 : lo < 0 ? (uint32_t)hi << BITS : (uint32_t)hi << BITS | lo;
	int m = 0, ties = 0;
	for (int i = 0; i < V; i++) {
		if (e[i] < cut) continue;
		uint32_t key = float_bits(e[i]) >> (32 - 2 * BITS);
		if (key > edge || (key == edge && (hi < 0 || lo < 0))) cs[m++] = (cand){e[i], i};
		else if (key == edge) cs[V - 1 - ties++] = (cand){e[i], i};
	}
	if (!ties) return m;
	cand *tie = cs + V - ties;
	qsort(tie, ties, sizeof *tie, cand_desc);
	for (int t = 0; t < ties; t++) {
		cs[m++] = tie[t];
		if ((above += tie[t].p) >= target) break;
	}
	return m;
}

/* The first i where e[0] + ... + e[i] exceeds u (the last nonzero one if
 * rounding leaves u beyond the sum). The running sum goes a block of 16 at a
 * time, then within the block it lands in: a sequential pass over the
 * vocabulary is one dependent add per token. */
static int draw(const float *e, int n, float u) {
	enum { B = 16 };
	float cdf = 0;
	int i = 0;
	for (; i + B <= n; i += B) {
		float b = 0;
#pragma omp simd reduction(+ : b)
		for (int j = 0; j < B; j++) b += e[i + j];
		if (u < cdf + b) break;
		cdf += b;
	}
	int last = -1;
	for (; i < n; i++) {
		if (e[i] > 0) last = i;
		if (u < (cdf += e[i])) return i;
	}
	/* past the end: the last nonzero weight, which may lie before the tail */
	for (i = n - 1; last < 0 && i >= 0; i--)
		if (e[i] > 0) last = i;
	return last;
}

/* A temperature whose inverse overflows is greedy: (x - mx) / T would be 0·inf for the top token. */
static int greedy(const lm_sampling *how) { return !(how->temperature > 0) || isinf(1 / how->temperature); }

/* One token from logits as how says, weights e (V) and cs (V) being scratch;
 * *lp gets log p(token) under softmax(logits) itself. -1 when a logit is not
 * finite: no distribution to draw from. */
static int sample_with(const float *logits, int V, const lm_sampling *how, lm_rng *r, float *e, cand *cs,
		       double *lp) {
	if (!row_finite(logits, V)) return -1;
	float mx = row_max(logits, V);
	int t;
	if (greedy(how)) {
		t = 0;
		while (t < V - 1 && logits[t] != mx) t++;  /* the lowest id among equal maxima */
		*lp = logits[t] - mx - log(exp_row(e, logits, V, mx, 1));
		return t;
	}
	/* e holds unnormalised probabilities at the temperature, summing to total */
	float total = exp_row(e, logits, V, mx, 1 / how->temperature);
	/* log p is under the model itself: the normaliser at temperature 1 (cs as scratch) */
	double log_z = how->temperature == 1 ? log(total) : log(exp_row((float *)cs, logits, V, mx, 1));
	int k = how->top_k > 0 && how->top_k < V ? how->top_k : V;
	int nucleus = how->top_p > 0 && how->top_p < 1;
	if (k == V && !nucleus) {
		*lp = logits[t = draw(e, V, rng_float(r) * total)] - mx - log_z;
		return t;
	}
	int n = 0, keep;
	/* a token below (1 - p) / (V - 1) of the mass can never be inside the nucleus (llama2.c's cut),
	 * as long as some token is above it: the top token's weight, 1, bounds it (p < 1/V otherwise
	 * leaves nothing when the weights are near uniform) */
	float cut = nucleus ? fminf((1 - how->top_p) / (V - 1) * total, 1) : -1;
	if (k == V) keep = nucleus_of(e, V, cut, how->top_p * total, cs);
	else {
		for (int i = 0; i < V; i++)
			if (e[i] >= cut) cs[n++] = (cand){e[i], i};
		if (k < n) { select_top(cs, n, k); n = k; }
		keep = nucleus ? nucleus_sorted(cs, n, how->top_p * total) : n;
	}
	float kept = 0;
	for (int i = 0; i < keep; i++) kept += cs[i].p;
	/* drawn in the order selection left them in: any fixed order samples the same distribution */
	float u = rng_float(r) * kept, cdf = 0;
	t = cs[keep - 1].id;
	for (int i = 0; i < keep; i++)
		if (u < (cdf += cs[i].p)) { t = cs[i].id; break; }
	*lp = logits[t] - mx - log_z;
	return t;
}

int sample_token(const float *logits, int V, const lm_sampling *how, lm_rng *r) {
	float *e = xmalloc(V * sizeof *e);
	cand *cs = xmalloc(V * sizeof *cs);
	double lp;
	int t = sample_with(logits, V, how, r, e, cs, &lp);
	free(e);
	free(cs);
	return t;
}

/* Token t (log-probability lp) is sequence i's next. */
static void take(lm_sampler *s, int i, int t, double lp) {
	seq *q = &s->seqs[i];
	q->logprob += lp;
	q->lp[q->n_out] = lp;
	q->out[q->n_out++] = t;
	int stop = 0;
	for (int j = 0; j < s->n_stop; j++) stop |= t == s->stop[j];
	if (stop || (q->how.max_new > 0 && q->n_out >= q->how.max_new) || q->len + 1 >= s->max_len) {
		q->done = 1;
		q->n_pending = 0;
	} else {
		q->pending[0] = t;
		q->n_pending = 1;
	}
}

/* Sample the next token of the sequence r->slots[w] from logits row w; 0
 * when the logits are not finite. */
static int sample_one(lm_sampler *s, const rows *r, int w) {
	int V = s->m->cfg.vocab_size, i = r->slots[w];
	seq *q = &s->seqs[i];
	double lp;
	int t = sample_with(r->logits + (size_t)w * V, V, &q->how, &q->rng, s->probs + (size_t)i * V,
			    s->cands + (size_t)i * V, &lp);
	if (t < 0) return 0;
	take(s, i, t, lp);
	return 1;
}

/* On the GPU, when every wanted row draws without top-k or top-p, the draws
 * happen there (gpu_decode_sample) and a step copies out a token a row
 * instead of its logits: the uniform each draw takes comes from the
 * sequence's generator here, as sample_with takes it. 0 when some row needs
 * the CPU's sampler. */
static int gpu_draws(lm_sampler *s, const rows *r) {
	int V = s->m->cfg.vocab_size;
	for (int w = 0; w < r->w; w++) {
		const lm_sampling *h = &s->seqs[r->slots[w]].how;
		if (!greedy(h) && ((h->top_k > 0 && h->top_k < V) || (h->top_p > 0 && h->top_p < 1))) return 0;
	}
	float *u = s->probs, *it = u + r->w;
	int *next = (int *)(it + r->w);
	double *lp = (double *)s->cands;
	for (int w = 0; w < r->w; w++) {
		seq *q = &s->seqs[r->slots[w]];
		it[w] = greedy(&q->how) ? 0 : 1 / q->how.temperature;
		u[w] = greedy(&q->how) ? 0 : rng_float(&q->rng);
	}
	gpu_decode_sample(s->gpu, r->n, r->tok, r->slot, r->pos, r->w, r->want, u, it, next, lp);
	for (int w = 0; w < r->w; w++)
		if (next[w] < 0) atomic_store(&s->bad, 1);
		else take(s, r->slots[w], next[w], lp[w]);
	return 1;
}

static void sample_rows(lm_sampler *s, const rows *r, thr *me) {
	int W = r->w, bad = 0;
	if (me->nt > 1)
		for (int w; (w = claim(s, me)) < W;) bad |= !sample_one(s, r, w);
	else if ((long)W * s->m->cfg.vocab_size < 1L << 16)   /* (as attend) */
		for (int w = 0; w < W; w++) bad |= !sample_one(s, r, w);
	else {
#pragma omp parallel for schedule(dynamic, 1) reduction(| : bad)
		for (int w = 0; w < W; w++) bad |= !sample_one(s, r, w);
	}
	if (bad) atomic_store(&s->bad, 1);
}

/* Steps run on one thread or on a team of all: whichever has been faster
 * per multiply-add lately, the other tried now and then, after 16 steps, then
 * after twice as many each time it loses, up to 512. On a machine shared with
 * other jobs (the kernel's autogroups then give this process its share of the
 * cores, whatever its threads), a team's threads wait for each other at each
 * of its ~50 barriers a token. Here, beside two other jobs, in alternate runs:
 * batch 1 at 408-434 tok/s alone and 250-260 on a team of two; batch 64 at
 * 2190-2750 alone and 2060-2570 on the team, either ahead from minute to
 * minute. The bits do not depend on the choice. */
static int team_size(lm_sampler *s, int most) {
	int team;
	if (!s->sec_per_mac[0]) team = 0;
	else if (!s->sec_per_mac[1]) team = 1;
	else {
		team = s->sec_per_mac[1] < s->sec_per_mac[0];
		if (--s->until_trial <= 0) team = !team;
	}
	return team ? most : 1;
}

/* a step's seconds per multiply-add on a team (or alone): a trial of the
 * slower one that loses again is tried half as often */
static void team_timed(lm_sampler *s, int team, double x) {
	double *rate = &s->sec_per_mac[team];
	int trial = s->until_trial <= 0;
	if (trial) {
		int lost = x >= s->sec_per_mac[!team];
		s->trial_every = lost ? (s->trial_every < 512 ? 2 * s->trial_every : 512) : 16;
		s->until_trial = s->trial_every;
	}
	*rate = *rate ? 0.75 * *rate + 0.25 * x : x;
}

/* The team: threads 1..nt-1 of a step are the sampler's own, started at its
 * first team step and kept. Between steps each spins for TEAM_SPIN_SEC, then
 * sleeps on a condition variable. An OpenMP team (a parallel region a step)
 * under the passive waits bench/sample.sh sets for every peer put its worker
 * to sleep after every step, and waking it cost ~10% of batch 1 (eight
 * alternating runs: 508 tok/s passive, 574 active). A step's threads run no
 * OpenMP region (decode_thread's calls are a row or a chunk each), so none
 * starts a team of its own. */
#define TEAM_SPIN_SEC 1e-3

static void *team_worker(void *arg) {
	lm_sampler *s = ((struct worker *)arg)->s;
	struct team *tm = &s->team;
	int t = ((struct worker *)arg)->t;
	for (uint64_t seen = ((struct worker *)arg)->seen;;) {
		seen = wait_change(&tm->q, &tm->step, 0, seen, TEAM_SPIN_SEC);
		if (tm->quit) return NULL;
		if (t < tm->nt) {
			/* the barrier's sense as the last step left it */
			thr me = {t, tm->nt, atomic_load(&s->sense), 0};
			decode_thread(s, tm->r, &me);
			atomic_fetch_sub(&tm->running, 1);
		}
	}
}

/* Wake the workers for a new step (or to quit). */
static void team_wake(struct team *tm) {
	atomic_fetch_add(&tm->step, 1);
	wait_wake(&tm->q);
}

/* A step of rows r on nt threads: the caller and nt - 1 workers. */
static void team_run(lm_sampler *s, const rows *r, int nt) {
	struct team *tm = &s->team;
	if (!tm->n) {
		pthread_mutex_init(&tm->q.mu, NULL);
		pthread_cond_init(&tm->q.cv, NULL);
	}
	if (tm->n < nt - 1) tm->w = xrealloc(tm->w, (nt - 1) * sizeof *tm->w);
	for (; tm->n < nt - 1; tm->n++) {
		struct worker *w = tm->w[tm->n] = xmalloc(sizeof *w);
		/* it takes step as it is now for seen, and waits for the next */
		*w = (struct worker){s, tm->n + 1, atomic_load(&tm->step), 0};
		if ((errno = pthread_create(&w->th, NULL, team_worker, w))) die_errno("pthread_create");
	}
	tm->nt = nt;
	tm->r = r;
	atomic_store(&tm->running, nt - 1);
	team_wake(tm);
	decode_thread(s, r, &(thr){0, nt, atomic_load(&s->sense), 0});
	for (int i = 1; atomic_load(&tm->running); i++) spin_turn(i);
}

static void team_stop(lm_sampler *s) {
	struct team *tm = &s->team;
	if (!tm->n) return;
	tm->quit = 1;
	team_wake(tm);
	for (int i = 0; i < tm->n; i++) {
		pthread_join(tm->w[i]->th, NULL);
		free(tm->w[i]);
	}
	free(tm->w);
	pthread_mutex_destroy(&tm->q.mu);
	pthread_cond_destroy(&tm->q.cv);
}

/* Decode the chunk in s->r: forward, then sample its wanted rows. */
static void decode(lm_sampler *s) {
	rows *r = &s->r;
	const lm_config *c = &s->m->cfg;
	s->bad = 0;
	if (s->gpu) {
		if (!gpu_draws(s, r)) {
			gpu_decode_rows(s->gpu, r->n, r->tok, r->slot, r->pos, r->w, r->want, r->logits);
			sample_rows(s, r, &(thr){0, 1, 0, 0});
		}
	} else {
		if (!s->m->bf16 && !s->packed) pack_weights(s);
		long macs = (long)r->n * c->n_layers * (2L * c->dim * c->dim + 2L * c->dim * s->kv_dim + 3L * c->dim * c->hidden_dim) +
			    (long)r->w * c->dim * c->vocab_size;
		/* a team only with work enough to share */
		int most = omp_get_max_threads(), choose = macs >= 1L << 18 && most > 1;
		int nt = choose ? team_size(s, most) : 1;
		s->next[0] = s->next[1] = 0;
		double t = now_sec();
		if (nt == 1) decode_thread(s, r, &(thr){0, 1, 0, 0});
		else team_run(s, r, nt);
		if (choose) team_timed(s, nt > 1, (now_sec() - t) / macs);
	}
	/* after the region: die runs exit, which must not race workers still sampling */
	if (s->bad) die("%s: logits are not finite (lm-info counts the model's non-finite weights)", s->name);
}

int sampler_step(lm_sampler *s) {
	rows *r = &s->r;
	int R = s->rows, N = 0, W = 0;
	/* rows in slot order, each sequence's pending tokens in position order; a
	 * sequence may span chunks, its last row then lands in a later chunk */
	for (int i = 0; i < s->max_batch; i++) {
		seq *q = &s->seqs[i];
		if (!q->busy || q->done) continue;
		/* sampling at a chunk's end rewrites pending: read its count first */
		int n = q->n_pending;
		for (int j = 0; j < n; j++) {
			r->tok[N] = q->pending[j];
			r->slot[N] = i;
			r->pos[N] = q->len++;
			if (j == n - 1) { r->want[W] = N; r->slots[W++] = i; }
			if (++N == R) {
				r->n = N; r->w = W;
				decode(s);
				N = W = 0;
			}
		}
	}
	if (N) {
		r->n = N; r->w = W;
		decode(s);
	}
	int live = 0;
	for (int i = 0; i < s->max_batch; i++) live += s->seqs[i].busy && !s->seqs[i].done;
	return live;
}
