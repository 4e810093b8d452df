/* blk64: text scanned 64 bytes at a time. A block of 64 bytes is compared with a
 * byte or a range of bytes at once, giving a mask where bit j stands for byte j;
 * counting (popcount) and finding (count trailing zeros) then work on the masks.
 * AVX-512BW where the compiler targets it, else SSE2 (every x86-64), else a loop.
 * Used by the scanners of lm-clean (lib/data/clean.c and its rules, lib/data/docs.c). */
#ifndef LM_BLK64_H
#define LM_BLK64_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__AVX512BW__)
#include <immintrin.h>
typedef __m512i blk64;
static inline blk64 blk_load(const unsigned char *p) { return _mm512_loadu_si512(p); }
/* bytes in [lo, lo + k), unsigned */
static inline uint64_t blk_range(blk64 v, unsigned char lo, unsigned char k) {
	return _mm512_cmplt_epu8_mask(_mm512_sub_epi8(v, _mm512_set1_epi8((char)lo)), _mm512_set1_epi8((char)k));
}
static inline uint64_t blk_eq(blk64 v, unsigned char c) {
	return _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8((char)c));
}
static inline blk64 blk_or(blk64 v, unsigned char c) { return _mm512_or_si512(v, _mm512_set1_epi8((char)c)); }
/* the n < 64 bytes at p, zeros after them: a masked load reads nothing past them */
static inline blk64 blk_load_n(const unsigned char *p, size_t n) {
	return _mm512_maskz_loadu_epi8((1ull << n) - 1, p);
}
static inline uint32_t blk_low32(blk64 v) { return (uint32_t)_mm_cvtsi128_si32(_mm512_castsi512_si128(v)); }
#elif defined(__SSE2__)
#include <emmintrin.h>
typedef struct { __m128i q[4]; } blk64;
static inline blk64 blk_load(const unsigned char *p) {
	blk64 v;
	for (int i = 0; i < 4; i++) v.q[i] = _mm_loadu_si128((const __m128i *)(p + 16 * i));
	return v;
}
static inline uint64_t blk_range(blk64 v, unsigned char lo, unsigned char k) {
	uint64_t m = 0;   /* x - lo < k unsigned, as a signed compare shifted by 0x80 */
	for (int i = 0; i < 4; i++)
		m |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmplt_epi8(
			_mm_add_epi8(v.q[i], _mm_set1_epi8((char)(0x80 - lo))), _mm_set1_epi8((char)(k - 0x80)))) << 16 * i;
	return m;
}
static inline uint64_t blk_eq(blk64 v, unsigned char c) {
	uint64_t m = 0;
	for (int i = 0; i < 4; i++)
		m |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v.q[i], _mm_set1_epi8((char)c))) << 16 * i;
	return m;
}
static inline blk64 blk_or(blk64 v, unsigned char c) {
	for (int i = 0; i < 4; i++) v.q[i] = _mm_or_si128(v.q[i], _mm_set1_epi8((char)c));
	return v;
}
static inline blk64 blk_load_n(const unsigned char *p, size_t n) {
	unsigned char t[64] = {0};
	memcpy(t, p, n);
	return blk_load(t);
}
static inline uint32_t blk_low32(blk64 v) { return (uint32_t)_mm_cvtsi128_si32(v.q[0]); }
#else
typedef struct { unsigned char b[64]; } blk64;
static inline blk64 blk_load(const unsigned char *p) { blk64 v; memcpy(v.b, p, 64); return v; }
static inline uint64_t blk_range(blk64 v, unsigned char lo, unsigned char k) {
	uint64_t m = 0;
	for (int i = 0; i < 64; i++) m |= (uint64_t)((unsigned char)(v.b[i] - lo) < k) << i;
	return m;
}
static inline uint64_t blk_eq(blk64 v, unsigned char c) {
	uint64_t m = 0;
	for (int i = 0; i < 64; i++) m |= (uint64_t)(v.b[i] == c) << i;
	return m;
}
static inline blk64 blk_or(blk64 v, unsigned char c) { for (int i = 0; i < 64; i++) v.b[i] |= c; return v; }
static inline blk64 blk_load_n(const unsigned char *p, size_t n) {
	blk64 v = {{0}};
	memcpy(v.b, p, n);
	return v;
}
static inline uint32_t blk_low32(blk64 v) {
	return (uint32_t)v.b[0] | (uint32_t)v.b[1] << 8 | (uint32_t)v.b[2] << 16 | (uint32_t)v.b[3] << 24;
}
#endif
/* the 64 bytes from s + i, zeros past n */
static inline blk64 blk_at(const char *s, size_t i, size_t n) {
	if (n - i >= 64) return blk_load((const unsigned char *)s + i);
	return blk_load_n((const unsigned char *)s + i, n - i);
}

#endif
