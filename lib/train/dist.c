#include "dist.h"
#include "util.h"
#include <stdlib.h>
#include <string.h>
#ifdef LM_MPI
#include <mpi.h>
#endif

int dist_rank = 0, dist_size = 1;

/* Set in every process that mpirun (Open MPI's, MPICH's hydra, a PMIx launcher) starts. */
static int under_mpirun(void) {
	return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_SIZE");
}

#ifndef LM_MPI

void dist_init(void) {
	if (under_mpirun())
		die("started by mpirun, but built without MPI: install Open MPI (libopenmpi-dev) and rebuild lmkit");
}
void dist_finish(void) {}
void dist_sum(double *x, int n) { (void)x, (void)n; }
void dist_reduce_scatter(float *block, const size_t *at) { (void)block, (void)at; }
void dist_allgather(float *block, const size_t *at) { (void)block, (void)at; }
void dist_gather0(const float *mine, const size_t *at, void (*put)(void *, const float *, size_t), void *ctx) {
	put(ctx, mine, at[1] - at[0]);
}

#else

static int joined;
/* The staging area: STAGE floats in all, a round of each rank's range at a time. */
#define STAGE (1 << 22)
#define MIN_PIECE 65536
static float *stage;
static int *counts, *displs;

void dist_init(void) {
	if (joined || !under_mpirun()) return;
	int provided;
	/* only the main thread calls MPI; OpenMP's threads compute between the calls */
	MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
	MPI_Comm_rank(MPI_COMM_WORLD, &dist_rank);
	MPI_Comm_size(MPI_COMM_WORLD, &dist_size);
	joined = 1;
}

void dist_finish(void) {
	if (!joined) return;
	MPI_Finalize();
	free(stage);
	free(counts);
	free(displs);
	stage = NULL;
	joined = 0;
}

void dist_sum(double *x, int n) {
	if (dist_size > 1) MPI_Allreduce(MPI_IN_PLACE, x, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
}

/* Items of each rank's range in a round: the staging area shared out, but
 * not so finely that each round is all latency. */
static size_t piece(void) {
	size_t p = STAGE / dist_size;
	return p < MIN_PIECE ? MIN_PIECE : p;
}

static void stage_alloc(void) {
	if (stage) return;
	stage = xalloc_aligned((size_t)dist_size * piece() * sizeof *stage);
	counts = xmalloc(dist_size * sizeof *counts);
	displs = xmalloc(dist_size * sizeof *displs);
}

/* Round k's piece of each rank's range: counts and displacements in the
 * staging area; returns 0 past the last round. */
static int round_of(const size_t *at, size_t k) {
	size_t p = piece();
	int any = 0, d = 0;
	for (int r = 0; r < dist_size; r++) {
		size_t n = at[r + 1] - at[r], lo = k * p;
		counts[r] = lo < n ? (int)(n - lo < p ? n - lo : p) : 0;
		displs[r] = d;
		d += counts[r];
		any |= counts[r] > 0;
	}
	return any;
}

void dist_reduce_scatter(float *block, const size_t *at) {
	if (dist_size == 1) return;
	stage_alloc();
	size_t p = piece();
	for (size_t k = 0; round_of(at, k); k++) {
		for (int r = 0; r < dist_size; r++)
			memcpy(stage + displs[r], block + at[r] + k * p, counts[r] * sizeof *stage);
		MPI_Reduce_scatter(stage, block + at[dist_rank] + k * p, counts, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
	}
}

void dist_allgather(float *block, const size_t *at) {
	if (dist_size == 1) return;
	stage_alloc();
	size_t p = piece();
	for (size_t k = 0; round_of(at, k); k++) {
		MPI_Allgatherv(block + at[dist_rank] + k * p, counts[dist_rank], MPI_FLOAT, stage, counts, displs,
			       MPI_FLOAT, MPI_COMM_WORLD);
		for (int r = 0; r < dist_size; r++)
			if (r != dist_rank) memcpy(block + at[r] + k * p, stage + displs[r], counts[r] * sizeof *stage);
	}
}

void dist_gather0(const float *mine, const size_t *at, void (*put)(void *, const float *, size_t), void *ctx) {
	if (dist_rank == 0) put(ctx, mine, at[1] - at[0]);
	if (dist_size == 1) return;
	stage_alloc();
	for (int r = 1; r < dist_size; r++)
		for (size_t lo = 0, n = at[r + 1] - at[r]; lo < n; lo += STAGE) {
			int c = (int)(n - lo < STAGE ? n - lo : STAGE);
			if (dist_rank == r) MPI_Send(mine + lo, c, MPI_FLOAT, 0, 0, MPI_COMM_WORLD);
			if (dist_rank == 0) {
				MPI_Recv(stage, c, MPI_FLOAT, r, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
				put(ctx, stage, c);
			}
		}
}

#endif

size_t *dist_split(size_t n) {
	size_t *at = xmalloc((dist_size + 1) * sizeof *at);
	for (int r = 0; r <= dist_size; r++) at[r] = r == dist_size ? n : n / dist_size * r / 16 * 16;
	return at;
}
