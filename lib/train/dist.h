/* dist: the processes of one training run under mpirun (Open MPI or any MPI),
 * and the collective operations the trainer needs between them. A process
 * started without mpirun is the only rank and every operation here does
 * nothing, so a run outside mpirun computes exactly what it computed before
 * there were ranks. A build without MPI (no LM_MPI) is always that one rank,
 * and refuses to be started by mpirun.
 *
 * The block operations work through a staging area of a few MiB, a round at a
 * time, so that no process (nor the MPI library under it) ever holds a second
 * copy of a whole parameter block: that is what lets the optimizer's state,
 * sharded, fit where one process's would not. */
#ifndef LM_DIST_H
#define LM_DIST_H
#include <stddef.h>

extern int dist_rank, dist_size;

/* Join the run when mpirun started this process; dies saying so when mpirun
 * started a build without MPI. Call before any output. Idempotent. */
void dist_init(void);
/* Leave the run at its successful end (every rank calls it). */
void dist_finish(void);

/* Sum x[0..n) over the ranks, in place, on every rank. */
void dist_sum(double *x, int n);

/* Split n items into dist_size ranges: rank r's is [at[r], at[r+1]); at has
 * dist_size + 1 entries (malloc'd), the inner ones multiples of 16 items. */
size_t *dist_split(size_t n);
/* block[0..at[dist_size]) on every rank; afterwards block[at[r]..at[r+1]) on
 * rank r holds the sum of every rank's block there (a reduce-scatter; the
 * rest of block is left as it was). */
void dist_reduce_scatter(float *block, const size_t *at);
/* Rank r's block[at[r]..at[r+1]) to every rank (an all-gather in place). */
void dist_allgather(float *block, const size_t *at);
/* Rank 0 gets every rank's range of a block, in rank order, as calls
 * put(ctx, floats, n) (its own from mine): rank r (r > 0) sends its range
 * mine[0..at[r+1]-at[r]). */
void dist_gather0(const float *mine, const size_t *at, void (*put)(void *ctx, const float *x, size_t n), void *ctx);

#endif
