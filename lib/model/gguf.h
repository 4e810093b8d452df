/* gguf: a language model as a GGUF file (version 3) that llama.cpp runs: the
 * llama architecture's metadata keys and tensor names, and the vocabulary of
 * the SentencePiece .model the model was trained with. See docs/FORMATS.md,
 * "GGUF". */
#ifndef LM_GGUF_H
#define LM_GGUF_H
#include "model.h"

/* Write m with the pieces, scores and types of the SentencePiece .model at
 * tok_path to path atomically. f16: the matrices (embedding and heads
 * included) as F16, the norms still F32. Dies "model_path: reason" for a
 * score model, "tok_path: reason" for a file that is not a .model or whose
 * vocabulary is not the model's, before anything is written. */
void gguf_save(const lm_model *m, const char *model_path, const char *tok_path, int f16, const char *path);

#endif
