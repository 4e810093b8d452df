/* utf8: decoding by SentencePiece's rules, so that lmkit sees the same
 * characters (and the same invalid bytes) that SentencePiece does. */
#ifndef LM_UTF8_H
#define LM_UTF8_H
#include <stddef.h>
#include <stdint.h>

#define UTF8_REPLACEMENT 0xFFFDu

/* Decode the character at s (n > 0 bytes available). Returns its length;
 * an invalid byte (bad lead or trail, overlong form, surrogate, above
 * U+10FFFF, cut short) is one byte long and decodes to U+FFFD with *valid 0. */
size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp, int *valid);
/* Length of the character a lead byte starts, as SentencePiece guesses it
 * without validating (1 for ASCII and stray trail bytes). */
static inline size_t utf8_lead_len(unsigned char c) {
	return "\1\1\1\1\1\1\1\1\1\1\1\1\2\2\3\4"[c >> 4];
}
/* Encode cp into out (4 bytes room); returns the length. */
size_t utf8_encode(uint32_t cp, char *out);

/* By Python's rules (str.decode with errors="replace"), as the cleaning
 * rules count characters: the length of the valid sequence at s (1..4), or 0
 * when s starts an invalid one; the bytes a maximal invalid subpart spans;
 * the code point at s (n > 0), U+FFFD for invalid bytes, its length in *len. */
int utf8_valid_len(const unsigned char *s, size_t n);
int utf8_bad_len(const unsigned char *s, size_t n);
uint32_t utf8_get(const char *s, size_t n, int *len);
/* code points in s (continuation bytes not counted) */
size_t utf8_cps(const char *s, size_t n);
/* 1 when all of s is valid UTF-8 */
int utf8_valid(const char *s, size_t n);

#endif
