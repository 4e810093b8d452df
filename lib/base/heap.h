/* heap: a binary heap over an array, the element that comes out first at the
 * top. HEAP_FUNCS(name, type, ctx_type, before) defines, for one element type,
 *   static void name_push(type *h, size_t *n, type e, ctx_type ctx)
 *   static type name_pop(type *h, size_t *n, ctx_type ctx)
 * where before(ctx, const type *a, const type *b) is 1 when a comes out before
 * b. The caller keeps room for one more element before a push. A macro rather
 * than void pointers and a comparison callback: the pushes and pops are the
 * inner loop of BPE encoding and training. */
#ifndef LM_HEAP_H
#define LM_HEAP_H
#include <stddef.h>

#define HEAP_FUNCS(name, type, ctx_type, before)                                  \
	static inline void name##_push(type *h, size_t *n, type e, ctx_type ctx) {    \
		size_t i = (*n)++;                                                        \
		while (i > 0) {                                                           \
			size_t p = (i - 1) / 2;                                               \
			if (!before(ctx, &e, &h[p])) break;                                   \
			h[i] = h[p];                                                          \
			i = p;                                                                \
		}                                                                         \
		h[i] = e;                                                                 \
	}                                                                             \
	static inline type name##_pop(type *h, size_t *n, ctx_type ctx) {             \
		type top = h[0], e = h[--*n];                                             \
		size_t i = 0, m = *n;                                                     \
		for (;;) {                                                                \
			size_t c = 2 * i + 1;                                                 \
			if (c >= m) break;                                                    \
			if (c + 1 < m && before(ctx, &h[c + 1], &h[c])) c++;                  \
			if (!before(ctx, &h[c], &e)) break;                                   \
			h[i] = h[c];                                                          \
			i = c;                                                                \
		}                                                                         \
		if (m) h[i] = e;                                                          \
		return top;                                                               \
	}

#endif
