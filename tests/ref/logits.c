/* logits: a model's next-token logits, for oracles that compare them with
 * another implementation's (tests/ref/hf_in.sh). Reads sequences of token ids,
 * one a line, from standard input; writes for each position of each sequence
 * one line of vocab_size logits. Built by the Makefile, linked as the tools are:
 *   make build/ref/logits && build/ref/logits MODEL <ids.txt >logits.txt */
#include "blas.h"
#include "checkpoint.h"
#include "llama.h"
#include "util.h"
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
	lm_init(argc, argv);
	blas_init();
	if (argc != 2) usage_exit("MODEL <IDS");
	lm_model *m = model_load(argv[1]);
	model_need_head(m, LM_HEAD_LM, argv[1]);
	int V = m->cfg.vocab_size;
	lm_in *in = in_open("-");
	while (in_line(in)) {
		int *ids = NULL, T = 0;
		char *p = in->buf, *end;
		for (long v; (v = strtol(p, &end, 10)), end != p; p = end) {
			ids = xrealloc(ids, (T + 1) * sizeof *ids);
			ids[T++] = (int)v;
		}
		if (!T) continue;
		llama_ws *w = llama_ws_new(&m->cfg, 1, T);
		llama_forward(w, m, ids, NULL, NULL);
		float *logits = xmalloc((size_t)T * V * sizeof *logits);
		llama_logits(logits, w, m);
		for (int t = 0; t < T; t++)
			for (int v = 0; v < V; v++) printf("%.9g%c", logits[(size_t)t * V + v], v == V - 1 ? '\n' : ' ');
		free(logits);
		llama_ws_free(w);
		free(ids);
	}
	in_close(in);
	model_free(m);
	return 0;
}
