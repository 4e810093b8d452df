/* llama2c_file.h: a llama2.c model.bin read whole, for bench/'s standalone
 * decoders (matvec_decoder.c, weights_read.c), which keep off the library on
 * purpose. Header-only: each is one file. */
#ifndef LM_BENCH_LLAMA2C_FILE_H
#define LM_BENCH_LLAMA2C_FILE_H
#include <stdio.h>
#include <stdlib.h>

typedef struct { int dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len; } Config;

/* The header into p, the weights after it (64-byte aligned) as returned;
 * *shared: the classifier is the embedding. Exits 1 saying why on a bad file. */
static float *llama2c_read(const char *path, Config *p, int *shared) {
	FILE *f = fopen(path, "rb");
	if (!f) { perror(path); exit(1); }
	if (fread(p, sizeof *p, 1, f) != 1) { fprintf(stderr, "%s: short header\n", path); exit(1); }
	*shared = p->vocab_size > 0;
	p->vocab_size = abs(p->vocab_size);
	fseek(f, 0, SEEK_END);
	long bytes = ftell(f) - (long)sizeof *p;
	fseek(f, sizeof *p, SEEK_SET);
	float *data = aligned_alloc(64, (bytes + 63) / 64 * 64);
	if (!data || fread(data, 1, bytes, f) != (size_t)bytes) { fprintf(stderr, "%s: cannot read\n", path); exit(1); }
	fclose(f);
	return data;
}

#endif
