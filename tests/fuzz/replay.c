/* replay: a harness of tests/fuzz/ without libFuzzer, for `make check`. Feeds
 * each file (a directory: each file in it, in name order) to the harness's
 * LLVMFuzzerTestOneInput and says "ok" in TAP when it returns. Without
 * arguments, build/tests/fuzz-NAME replays tests/fuzz/NAME/, its seeds and
 * every input a fuzzer found (run from the repository root, as prove is). A
 * finding shows as a crash, or under `make check-asan` as a sanitizer's report. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int n;

static void replay(const char *path) {
	FILE *f = fopen(path, "rb");
	if (!f) { printf("not ok %d - %s: cannot open\n", ++n, path); return; }
	size_t cap = 4096, len = 0;
	uint8_t *buf = malloc(cap);
	for (size_t r; (r = fread(buf + len, 1, cap - len, f)) > 0;)
		if ((len += r) == cap) buf = realloc(buf, cap *= 2);
	fclose(f);
	/* exactly the file's bytes, as libFuzzer gives them: a read past the end is caught */
	uint8_t *data = malloc(len ? len : 1);
	memcpy(data, buf, len);
	free(buf);
	fflush(stdout);
	LLVMFuzzerTestOneInput(data, len);
	free(data);
	printf("ok %d - %s\n", ++n, path);
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void replay_dir(const char *dir) {
	DIR *d = opendir(dir);
	if (!d) { printf("not ok %d - %s: cannot open\n", ++n, dir); return; }
	char **names = NULL;
	size_t k = 0;
	for (struct dirent *e; (e = readdir(d));) {
		if (e->d_name[0] == '.') continue;
		names = realloc(names, (k + 1) * sizeof *names);
		names[k] = malloc(strlen(dir) + strlen(e->d_name) + 2);
		sprintf(names[k++], "%s/%s", dir, e->d_name);
	}
	closedir(d);
	qsort(names, k, sizeof *names, by_name);
	for (size_t i = 0; i < k; i++) {
		replay(names[i]);
		free(names[i]);
	}
	free(names);
	if (!k) printf("not ok %d - %s: no inputs\n", ++n, dir);
}

static void replay_path(const char *path) {
	struct stat st;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) replay_dir(path);
	else replay(path);
}

int main(int argc, char **argv) {
	LLVMFuzzerInitialize(&argc, &argv);
	if (argc > 1) {
		for (int i = 1; i < argc; i++) replay_path(argv[i]);
	} else {
		/* build/tests/fuzz-NAME: tests/fuzz/NAME */
		const char *base = strrchr(argv[0], '/');
		base = base ? base + 1 : argv[0];
		if (strncmp(base, "fuzz-", 5)) { fprintf(stderr, "%s: not named fuzz-NAME: give inputs\n", argv[0]); return 2; }
		char dir[512];
		snprintf(dir, sizeof dir, "tests/fuzz/%s", base + 5);
		replay_dir(dir);
	}
	printf("1..%d\n", n);
	return 0;
}
