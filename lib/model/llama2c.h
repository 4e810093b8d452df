/* llama2c: karpathy/llama2.c model.bin files, read (legacy v0 and version 1)
 * and written (v0, the format run.c reads). See docs/FORMATS.md. Their weights
 * use lmkit's RoPE layout (interleaved pairs), so no rows are permuted. */
#ifndef LM_LLAMA2C_H
#define LM_LLAMA2C_H
#include "model.h"
#include <stddef.h>
#include <stdint.h>

#define LLAMA2C_MAGIC 0x616b3432u  /* "ak42" as a little-endian u32 */
#define LLAMA2C_V1_HEADER 256

/* Which version the first bytes of a file of file_size bytes are: 0 (legacy),
 * 1, or -1 when they are neither (v0 has no magic, so its 7 ints must be sane
 * and predict file_size exactly; file_size 0 skips that check). n is how many
 * bytes head holds (>= 28 needed). */
int llama2c_sniff(const unsigned char *head, size_t n, uint64_t file_size);

/* Read a v0 or v1 model.bin; dies with "path: reason" on a missing, truncated
 * or malformed file. The config gets hidden_dim, max_seq_len (seq_len) and tied
 * (shared classifier) from the header; norm_eps and rope_theta are llama2.c's
 * (1e-5, 10000). */
lm_model *llama2c_load(const char *path);

/* Write m as a legacy v0 model.bin (negative vocab_size when the classifier is
 * not shared), with the freq_cis block run.c skips recomputed in float. */
void llama2c_save_v0(const lm_model *m, const char *path);

#endif
