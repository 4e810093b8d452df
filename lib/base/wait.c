#include "wait.h"
#include "util.h"

uint64_t wait_change(lm_waitq *q, _Atomic uint64_t *word, int shift, uint64_t seen, double spin_sec) {
	double until = now_sec() + spin_sec;
	uint64_t v;
	for (int i = 1; (v = atomic_load(word) >> shift) == seen; i++) {
		_mm_pause();
		if (i % 256 || now_sec() < until) continue;
		/* sleepers is raised before the word is read again, and the waker
		 * changes the word before it reads sleepers: one sees the other */
		pthread_mutex_lock(&q->mu);
		atomic_fetch_add(&q->sleepers, 1);
		while (atomic_load(word) >> shift == seen) pthread_cond_wait(&q->cv, &q->mu);
		atomic_fetch_sub(&q->sleepers, 1);
		pthread_mutex_unlock(&q->mu);
	}
	return v;
}

void wait_wake(lm_waitq *q) {
	if (!atomic_load(&q->sleepers)) return;
	pthread_mutex_lock(&q->mu);
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
}
