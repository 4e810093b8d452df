/* wait: threads that wait for a word to change, spinning a while first.
 *
 * lmkit's own worker threads (bf16.c's pool between products, the sampler's
 * team between steps) take up work after gaps of microseconds, which a
 * spinning thread catches at once and a sleeping one ~80 us late on a 2-core
 * VM; and they may wait for seconds, which a spinning thread would take from
 * everything else. So a waiter spins for a bounded time, then sleeps on a
 * condition variable; whoever changes the word then calls wait_wake. */
#ifndef LM_WAIT_H
#define LM_WAIT_H
#include <immintrin.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>

typedef struct lm_waitq {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	atomic_int sleepers;
} lm_waitq;
#define LM_WAITQ_INIT {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0}

/* *word >> shift once it differs from seen: spinning for up to spin_sec, then
 * asleep on q. */
uint64_t wait_change(lm_waitq *q, _Atomic uint64_t *word, int shift, uint64_t seen, double spin_sec);
/* After changing a word that threads may be waiting on in q: wake them. */
void wait_wake(lm_waitq *q);

/* The i-th turn (from 1) of a loop spinning on other threads' progress: a
 * pause, and now and then the core to whoever else wants it (the thread
 * waited for may need this one). */
static inline void spin_turn(int i) {
	_mm_pause();
	if (i % 1024 == 0) sched_yield();
}

#endif
