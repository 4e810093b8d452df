/* mma.h: PTX's mma.sync.m16n8k16 (bf16 operands, fp32 accumulators), for the
 * CUDA sources that use the tensor cores directly (flash.cu, gpu.cu's
 * decoding products). Fragments (PTX ISA, "Matrix Fragments for
 * mma.m16n8k16"), lane = 4g + t: A (16x16) in four registers of two
 * elements, (g, 2t..2t+1), (g+8, 2t..), (g, 2t+8..), (g+8, 2t+8..); B (16x8,
 * k x n) in two, (k = 2t..2t+1, n = g) and (k = 2t+8.., n = g); C (16x8) in
 * four floats, (g, 2t), (g, 2t+1), (g+8, 2t), (g+8, 2t+1). */
#ifndef LM_MMA_H
#define LM_MMA_H

typedef unsigned u32;

/* d += a·b */
__device__ static inline void mma(float *d, const u32 *a, u32 b0, u32 b1) {
	asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
		     "{%0,%1,%2,%3};\n"
		     : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
		     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

#endif
