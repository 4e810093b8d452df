/* ref.h: the reference files the PyTorch oracles of tests/ref/ write (torch_llama.py,
 * torch_rm.py), for the C tests that check lmkit against them. Header-only: each test
 * is one file. */
#ifndef LM_TEST_REF_H
#define LM_TEST_REF_H
#include "util.h"
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A reference file: records of name NUL, u32 count, count floats (unaligned
 * in the file, so each array is copied out). */
typedef struct { int n; char *name[16]; size_t count[16]; float *data[16]; } ref;

static void ref_load(ref *r, const char *path) {
	size_t len, at = 0;
	char *buf = read_file(path, &len);
	r->n = 0;
	while (at < len && r->n < 16) {
		uint32_t n;
		r->name[r->n] = xstrdup(buf + at);
		at += strlen(buf + at) + 1;
		memcpy(&n, buf + at, 4);
		at += 4;
		if (at + 4 * (size_t)n > len) die("%s: truncated reference", path);
		r->count[r->n] = n;
		r->data[r->n] = xmalloc(4 * (size_t)n);
		memcpy(r->data[r->n], buf + at, 4 * (size_t)n);
		at += 4 * (size_t)n;
		r->n++;
	}
	free(buf);
}

static void ref_free(ref *r) {
	for (int i = 0; i < r->n; i++) free(r->name[i]), free(r->data[i]);
}

static const float *ref_get(const ref *r, const char *name, size_t *count) {
	for (int i = 0; i < r->n; i++)
		if (!strcmp(r->name[i], name)) {
			if (count) *count = r->count[i];
			return r->data[i];
		}
	die("reference has no array %s", name);
}

static double rel1(double a, double b) { return fabs(a - b) / (fabs(b) > 1e-30 ? fabs(b) : 1e-30); }

#endif
