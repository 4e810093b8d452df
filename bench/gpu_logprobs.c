/* gpu_logprobs: how far bf16 products move a model's per-token log-probs on
 * the GPU. Every window of T tokens of a shard (as lm-eval loss takes them),
 * rows at a time, through --device cuda's forward in fp32 and in bf16;
 * prints the targets counted, both mean losses, and the mean and largest
 * |log p(bf16) - log p(fp32)| over the targets.
 * usage: gpu_logprobs CKPT SHARD T ROWS */
#include "checkpoint.h"
#include "gpu.h"
#include "pack.h"
#include "shard.h"
#include "util.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
	lm_init(argc, argv);
	if (argc != 5) die("usage: gpu_logprobs CKPT SHARD T ROWS");
	lm_model *m = ckpt_load(argv[1]);
	lm_shard *s = shard_open(argv[2]);
	int T = atoi(argv[3]), B = atoi(argv[4]), N = B * T;
	gpu_train *f = gpu_open(m, B, T, GPU_FP32, 0), *h = gpu_open(m, B, T, GPU_BF16, 0);
	int *tok = xmalloc(N * sizeof(int)), *tgt = xmalloc(N * sizeof(int));
	float *lf = xmalloc(N * sizeof(float)), *lh = xmalloc(N * sizeof(float));
	uint64_t nw = pack_windows(s, T);
	double n = 0, sf = 0, sh = 0, gap = 0, worst = 0, ws;
	for (uint64_t w0 = 0; w0 < nw; w0 += B) {
		for (int r = 0; r < B; r++)
			pack_window(s, w0 + r < nw ? w0 + r : nw, T, tok + r * T, tgt + r * T, NULL);
		gpu_next_token(f, tok, tgt, NULL, NULL, NULL, 0, 0, &ws);
		gpu_next_token(h, tok, tgt, NULL, NULL, NULL, 0, 0, &ws);
		gpu_losses(f, lf);
		gpu_losses(h, lh);
		for (int i = 0; i < N; i++) {
			if (tgt[i] < 0) continue;
			double d = fabs((double)lh[i] - lf[i]);
			n++, sf += lf[i], sh += lh[i], gap += d;
			if (d > worst) worst = d;
		}
	}
	printf("{\"targets\":%.0f,\"loss_fp32\":%.6f,\"loss_bf16\":%.6f,\"mean_gap\":%.6f,\"max_gap\":%.6f,\"gpu\":\"%s\"}\n", n,
	       sf / n, sh / n, gap / n, worst, gpu_describe());
	gpu_close(f);
	gpu_close(h);
	return 0;
}
