/* checkpoint: models as safetensors files that Hugging Face transformers loads
 * (with config_to_hf_json's config.json beside them): Llama tensor names, the
 * lmkit config in __metadata__ under "lmkit_config", wq/wk rows permuted to
 * Hugging Face's RoPE layout on write and back on read (see model.h). */
#ifndef LM_CHECKPOINT_H
#define LM_CHECKPOINT_H
#include "model.h"
#include <stdint.h>

/* Write m to path atomically (temporary file, then rename). Writes byte-identical
 * files for identical models. */
void ckpt_save(const lm_model *m, const char *path);
/* Read a checkpoint; dies with "path: reason" on anything short of a valid file
 * (truncation, a header that lies about offsets, shapes or dtypes, missing or
 * extra tensors, an unusable config). */
lm_model *ckpt_load(const char *path);

/* What a file's first n bytes (>= 8 of a file of file_size bytes) are:
 * CKPT_SAFETENSORS, CKPT_LLAMA2C_V0, CKPT_LLAMA2C_V1, or CKPT_UNKNOWN. */
enum { CKPT_UNKNOWN, CKPT_SAFETENSORS, CKPT_LLAMA2C_V0, CKPT_LLAMA2C_V1 };
int ckpt_sniff(const unsigned char *head, size_t n, unsigned long long file_size);
/* A safetensors checkpoint or a llama2.c model.bin, told apart by content;
 * dies naming path when it is neither. */
lm_model *model_load(const char *path);
/* A safetensors header's number that is a non-negative integer below 2^53
 * (exact in a double): 1 and *v set, else 0. */
struct cJSON;
int json_uint(const struct cJSON *j, uint64_t *v);

/* Dies "path: ..." unless m has the head a tool needs (LM_HEAD_LM or LM_HEAD_SCORE). */
void model_need_head(const lm_model *m, int head, const char *path);

#endif
