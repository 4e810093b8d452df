/* hset: a hash set and counter over 64-bit keys. */
#ifndef LM_HSET_H
#define LM_HSET_H
#include <stddef.h>
#include <stdint.h>

/* A hash set / counter over 64-bit keys, reused between documents; one slot per
 * cache-line quarter so that a probe touches one line. It starts small and doubles
 * when half full, so that it holds what is distinct, not what was put. */
typedef struct hslot {
	uint64_t key;           /* 0: empty */
	uint32_t val, aux;
} hslot;
typedef struct hset {
	hslot *slot;
	size_t cap;             /* slots allocated */
	size_t n, used;         /* slots in use (a power of 2), keys held */
	int grew;               /* doubled since set_clear: slot indices taken before are stale */
} hset;

/* Empty the set for about expect keys (a hint: it grows past it). */
void set_clear(hset *s, size_t expect);
void set_grow(hset *s);
static inline size_t set_slot(const hset *s, uint64_t key) {
	size_t mask = s->n - 1, i = (key ^ key >> 29) & mask;
	for (;;) {   /* one branch per probe: found and empty end it alike */
		uint64_t k = s->slot[i].key;
		if ((k == key) | (k == 0)) return i;
		i = (i + 1) & mask;
	}
}
/* Insert key; returns the slot, *fresh = 1 when it was not there. Inline: it is the
 * inner loop of the repetition rule. */
static inline size_t set_put(hset *s, uint64_t key, int *fresh) {
	if (!key) key = 1;   /* 0 marks an empty slot */
	size_t i = set_slot(s, key);
	*fresh = !s->slot[i].key;
	if (*fresh) {
		if (2 * (s->used + 1) > s->n) {
			set_grow(s);
			i = set_slot(s, key);
		}
		s->slot[i].key = key, s->slot[i].val = 0;
		s->used++;
	}
	return i;
}
/* Count key: its slot with val incremented, and aux = pos when it is new. Without a
 * branch on whether it is new, which is as likely as not in the repetition rule. */
static inline hslot *set_count(hset *s, uint64_t key, uint32_t pos) {
	key = key ? key : 1;
	size_t i = set_slot(s, key);
	int fresh = !s->slot[i].key;
	if (2 * (s->used + fresh) > s->n) {
		set_grow(s);
		i = set_slot(s, key);
	}
	hslot *e = &s->slot[i];
	e->key = key;
	e->val = fresh ? 1 : e->val + 1;
	e->aux = fresh ? pos : e->aux;
	s->used += fresh;
	return e;
}
/* the slot holding key (it must be there) */
static inline size_t set_find(const hset *s, uint64_t key) { return set_slot(s, key ? key : 1); }

#endif
