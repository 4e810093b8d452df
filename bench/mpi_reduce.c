/* The trainer's gradient exchange alone (lib/train/dist.c): a reduce-scatter of a
 * block of n floats and the all-gather of the updated shards, as each step
 * does, timed over a few rounds, and for comparison one MPI_Allreduce of the
 * whole block. Run under mpirun; rank 0 prints the block's bytes, seconds a
 * step and the bus bandwidth, 2(N-1)/N · bytes / seconds (what each rank
 * sends and receives, the measure of nccl-tests' busbw). */
#include "dist.h"
#include "util.h"
#include <stdio.h>
#include <stdlib.h>
#include <mpi.h>

int main(int argc, char **argv) {
	lm_init(argc, argv);
	dist_init();
	size_t n = argc > 1 ? (size_t)parse_int("floats", argv[1]) : (size_t)1 << 24;
	int rounds = argc > 2 ? (int)parse_int("rounds", argv[2]) : 5;
	float *block = xalloc_aligned(n * sizeof *block);
	for (size_t i = 0; i < n; i++) block[i] = (float)(i % 7);
	size_t *at = dist_split(n);
	dist_reduce_scatter(block, at);
	dist_allgather(block, at);
	double t0 = now_sec();
	for (int r = 0; r < rounds; r++) {
		dist_reduce_scatter(block, at);
		dist_allgather(block, at);
	}
	double s = (now_sec() - t0) / rounds, bytes = 4.0 * n, bus = 2.0 * (dist_size - 1) / dist_size * bytes;
	t0 = now_sec();
	for (int r = 0; r < rounds; r++) MPI_Allreduce(MPI_IN_PLACE, block, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
	double sa = (now_sec() - t0) / rounds;
	if (dist_rank == 0)
		printf("ranks %d  block %.0f MB  dist: %.3f s, bus %.2f GB/s (%.1f Gb/s)  MPI_Allreduce: %.3f s, bus %.2f GB/s\n",
		       dist_size, bytes / 1e6, s, bus / s / 1e9, bus / s * 8 / 1e9, sa, bus / sa / 1e9);
	dist_finish();
	free(at);
	free(block);
	return 0;
}
