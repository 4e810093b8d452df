#include "hset.h"
#include "util.h"
#include <stdlib.h>
#include <string.h>

/* Tables start at most this big however many keys are expected: a long document
 * with few distinct lines or k-grams keeps a small table. */
#define SET_START (1u << 16)

void set_clear(hset *s, size_t expect) {
	size_t n = 64;
	while (n < 2 * expect + 2 && n < SET_START) n *= 2;
	if (n > s->cap) {
		free(s->slot);
		s->slot = xmalloc(n * sizeof *s->slot);
		s->cap = n;
	}
	/* a small document only clears the part of the table it will use */
	s->n = n, s->used = 0, s->grew = 0;
	memset(s->slot, 0, n * sizeof *s->slot);
}

void set_grow(hset *s) {
	size_t n = 2 * s->n;
	hslot *old = s->slot, *t = xcalloc(n, sizeof *t);
	for (size_t i = 0; i < s->n; i++) {
		if (!old[i].key) continue;
		size_t j = (old[i].key ^ old[i].key >> 29) & (n - 1);
		while (t[j].key) j = (j + 1) & (n - 1);
		t[j] = old[i];
	}
	free(old);
	s->slot = t, s->cap = n, s->n = n, s->grew = 1;
}
