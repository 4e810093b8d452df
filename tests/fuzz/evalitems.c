/* Evaluation items (docs/FORMATS.md, "Evaluation items"), which lm-eval reads
 * in the tool itself: this harness includes tools/lm-eval.c and calls its
 * `prompts` and `score` commands on the input as a file. The same file serves
 * as the items and as the replies (a line with "prompt", "kind" and
 * "completion" or "messages" is both), so the fuzzer reaches the scoring.
 * Their output (prompts, per-item details) goes to standard output, pointed at
 * /dev/null meanwhile: a file the tool opened itself would be a stdio stream
 * that a dying input leaves behind. */
#include "fuzz.h"
#define main lm_eval_main
#include "../../tools/lm-eval.c"
#undef main

static int null_fd, stdout_fd;

static void one(const uint8_t *data, size_t size) {
	const char *path = fuzz_file(data, size);
	char *prompts[] = {"prompts", "-s", "Be brief.", (char *)path, NULL};
	optind = 0;
	cmd_prompts(4, prompts);
	char *score[] = {"score", "-q", "-d", "-", (char *)path, (char *)path, NULL};
	optind = 0;
	cmd_score(6, score);
}

static void run(const uint8_t *data, size_t size) {
	fflush(stdout);
	dup2(null_fd, 1);
	fuzz_run(one, data, size);
	fflush(stdout);
	dup2(stdout_fd, 1);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
	fuzz_init("fuzz-evalitems");
	null_fd = open("/dev/null", O_WRONLY);
	stdout_fd = dup(1);
	return 0;
}
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	run(data, size);
	return 0;
}
