#include "adamw.h"
#include "util.h"
#include <math.h>
#include <stdlib.h>

lm_adamw *adamw_new(const lm_model *m, float beta1, float beta2, float eps, float weight_decay) {
	return adamw_new_part(m, 0, m->n_params, beta1, beta2, eps, weight_decay);
}

lm_adamw *adamw_new_part(const lm_model *m, size_t lo, size_t hi, float beta1, float beta2, float eps,
			 float weight_decay) {
	lm_adamw *o = xcalloc(1, sizeof *o);
	o->beta1 = beta1;
	o->beta2 = beta2;
	o->eps = eps;
	o->weight_decay = weight_decay;
	o->n = m->n_params;
	o->lo = lo;
	o->hi = hi;
	o->m = xalloc_aligned(2 * (hi - lo) * sizeof(float));
	o->v = o->m + (hi - lo);
	o->n_tensors = params_tensors(&m->cfg, NULL);
	o->tensors = xmalloc(o->n_tensors * sizeof *o->tensors);
	params_tensors(&m->cfg, o->tensors);
	return o;
}

void adamw_free(lm_adamw *o) {
	if (!o) return;
	free(o->m);
	free(o->tensors);
	free(o);
}

void adamw_step(lm_adamw *o, lm_model *mod, const lm_model *grad, float lr) {
	o->t++;
	float b1 = o->beta1, b2 = o->beta2, eps = o->eps;
	/* torch.optim.AdamW: p *= 1 - lr·wd; p -= lr/bc1 · m / (sqrt(v)/sqrt(bc2) + eps) */
	float bc1 = 1.0f - powf(b1, (float)o->t), bc2 = 1.0f - powf(b2, (float)o->t);
	float step = lr / bc1, sbc2 = sqrtf(bc2);
	for (int t = 0; t < o->n_tensors; t++) {
		const lm_tensor *T = &o->tensors[t];
		/* the tensor's part in [lo, hi) */
		size_t a = T->offset > o->lo ? T->offset : o->lo, z = T->offset + T->size < o->hi ? T->offset + T->size : o->hi;
		if (a >= z) continue;
		float keep = T->decay ? 1.0f - lr * o->weight_decay : 1.0f;
		float *p = mod->block + a, *m = o->m + (a - o->lo), *v = o->v + (a - o->lo);
		const float *g = grad->block + a;
		long n = (long)(z - a);
#pragma omp parallel for simd if (n >= 32768) schedule(static)
		for (long i = 0; i < n; i++) {
			float gi = g[i];
			m[i] = b1 * m[i] + (1.0f - b1) * gi;
			v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
			p[i] = p[i] * keep - step * m[i] / (sqrtf(v[i]) / sbc2 + eps);
		}
	}
}

/* Blocks summed in parallel, the block sums added in order: the total is the
 * same whatever the number of threads. At most MAX_BLOCKS blocks, so the
 * partial sums live on the stack (nothing allocated per step). */
#define MIN_BLOCK 65536
#define MAX_BLOCKS 1024

double grad_sumsq(const float *g, size_t size) {
	long n = (long)size, bs = (n + MAX_BLOCKS - 1) / MAX_BLOCKS;
	if (bs < MIN_BLOCK) bs = MIN_BLOCK;
	long nb = (n + bs - 1) / bs;
	double part[MAX_BLOCKS], sum = 0;
#pragma omp parallel for if (nb > 1) schedule(static)
	for (long b = 0; b < nb; b++) {
		long lo = b * bs, hi = lo + bs < n ? lo + bs : n;
		double s = 0;
#pragma omp simd reduction(+ : s)
		for (long i = lo; i < hi; i++) s += (double)g[i] * g[i];
		part[b] = s;
	}
	for (long b = 0; b < nb; b++) sum += part[b];
	return sum;
}

double grad_norm(const lm_model *grad) { return sqrt(grad_sumsq(grad->block, grad->n_params)); }

void grad_scale_to(float *g, size_t size, double norm, double max_norm) {
	double coef = max_norm / (norm + 1e-6);
	if (coef < 1.0) {
		float c = (float)coef;
		long n = (long)size;
#pragma omp parallel for simd if (n >= 32768) schedule(static)
		for (long i = 0; i < n; i++) g[i] *= c;
	}
}

double grad_clip(lm_model *grad, double max_norm) {
	double norm = grad_norm(grad);
	grad_scale_to(grad->block, grad->n_params, norm, max_norm);
	return norm;
}

double lr_at(long long step, long long warmup, long long total_steps, double peak, double min_lr) {
	if (step < warmup) return peak * (double)(step + 1) / (double)warmup;
	if (step >= total_steps) return min_lr;
	double ratio = (double)(step - warmup) / (double)(total_steps - warmup);
	return min_lr + 0.5 * (1.0 + cos(M_PI * ratio)) * (peak - min_lr);
}
