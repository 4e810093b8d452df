/* Hugging Face checkpoints (docs/FORMATS.md, "Hugging Face checkpoints
 * (input)"), as lm-convert reads a directory from a hub: hf_load on a
 * directory holding config.json and model.safetensors. The input is both:
 * config.json up to its first NUL byte, model.safetensors after it. */
#include "fuzz.h"
#include "hf.h"
#include <errno.h>
#include <sys/stat.h>

static char dir[96], cfg[128], st[128];

static void one(const uint8_t *data, size_t size) {
	const uint8_t *nul = memchr(data, 0, size);
	size_t n = nul ? (size_t)(nul - data) : size;
	fuzz_write(cfg, data, n);
	fuzz_write(st, data + n + (nul != NULL), size - n - (nul != NULL));
	lm_model *m = hf_load(dir);
	model_free(m);
}

static void cleanup(void) {
	unlink(cfg);
	unlink(st);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
	fuzz_init("fuzz-hf");
	snprintf(dir, sizeof dir, "%s.hf", fuzz_path);
	snprintf(cfg, sizeof cfg, "%s/config.json", dir);
	snprintf(st, sizeof st, "%s/model.safetensors", dir);
	if (mkdir(dir, 0700) && errno != EEXIST) abort();
	atexit(cleanup);
	return 0;
}
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_run(one, data, size); }
