/* hf: Hugging Face Llama checkpoints as transformers' save_pretrained writes
 * them: a directory with config.json and model.safetensors, or shards
 * model-0000N-of-0000M.safetensors named by model.safetensors.index.json;
 * tensors in F32, BF16 or F16, read into lmkit's F32 model (see
 * docs/FORMATS.md, "Hugging Face checkpoints (input)"). */
#ifndef LM_HF_H
#define LM_HF_H
#include "model.h"

/* Whether path names a Hugging Face checkpoint: a directory, a file named
 * config.json, or a shard index (*.index.json). */
int hf_is_checkpoint(const char *path);
/* Read one; dies "file: reason" naming the file at fault (config.json, the
 * index, a shard) on an unsupported architecture or rope_scaling, a missing,
 * extra or misshapen tensor, a dtype other than F32/BF16/F16, or a NaN. The
 * weights are converted a tensor at a time: memory stays near the F32 model's. */
lm_model *hf_load(const char *path);

#endif
