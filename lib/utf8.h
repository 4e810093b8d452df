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

#endif
