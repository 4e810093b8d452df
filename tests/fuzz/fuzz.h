/* fuzz.h: what the harnesses of tests/fuzz/ share. A harness is one file that
 * defines LLVMFuzzerInitialize (calling fuzz_init first) and
 * LLVMFuzzerTestOneInput (returning fuzz_run(one, data, size) for its own
 * one()); `make fuzz` links it with libFuzzer, `make check` with replay.c.
 *
 * The library dies on a bad input (die() in lib/base/util.c), as the tools must.
 * A harness runs input after input in one process, so fuzz_run catches die
 * (lm_die_hook jumps back), forgets the files the input opened
 * (lm_forget_files), and, when it died, gives back what the input left
 * behind: its open descriptors and, under AddressSanitizer, its heap blocks
 * (tracked through the sanitizer's malloc hooks), so that a dying input
 * neither leaks nor counts as a leak. A harness must therefore not let the
 * library die after it grew a buffer that outlives the input (the
 * tokenizer's per-thread workspace): such a block would be freed under it. */
#ifndef LM_FUZZ_H
#define LM_FUZZ_H
#include "util.h"
#include <fcntl.h>
#include <omp.h>
#include <poll.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FUZZ_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(FUZZ_ASAN)
#define FUZZ_ASAN 1
#endif

static jmp_buf fuzz_jmp;
static void fuzz_jump(void) { longjmp(fuzz_jmp, 1); }

#ifdef FUZZ_ASAN
/* Heap blocks allocated during the current input: a hash set of live blocks,
 * valid where a slot's generation is the input's, and a log of every block
 * put in, which the sweep walks. Both are mapped, not allocated: the hooks run
 * inside malloc. An input past their size is left untracked (and may leak). */
int __sanitizer_install_malloc_and_free_hooks(void (*m)(const volatile void *, size_t),
					      void (*f)(const volatile void *));
#define FUZZ_SLOTS (1u << 18)
#define FUZZ_LOG (1u << 17)
#define FUZZ_GONE ((uintptr_t)1)
typedef struct { uintptr_t p; uint32_t gen; } fuzz_slot;
static fuzz_slot *fuzz_set;
static uintptr_t *fuzz_log;
static uint32_t fuzz_gen, fuzz_nlog;
static int fuzz_tracking, fuzz_overflow;

static uint32_t fuzz_hash(uintptr_t p) { return (uint32_t)((p >> 4) * 0x9E3779B97F4A7C15ull >> 40) & (FUZZ_SLOTS - 1); }
static void fuzz_on_malloc(const volatile void *v, size_t n) {
	uintptr_t p = (uintptr_t)v;
	if (!fuzz_tracking || !p) return;
	if (fuzz_nlog == FUZZ_LOG) { fuzz_overflow = 1; return; }
	for (uint32_t i = fuzz_hash(p), k = 0; k < FUZZ_SLOTS / 2; i = (i + 1) & (FUZZ_SLOTS - 1), k++)
		if (fuzz_set[i].gen != fuzz_gen) {
			fuzz_set[i] = (fuzz_slot){p, fuzz_gen};
			fuzz_log[fuzz_nlog++] = p;
			return;
		}
	fuzz_overflow = 1;
}
/* the live slot of p, or NULL */
static fuzz_slot *fuzz_find(uintptr_t p) {
	for (uint32_t i = fuzz_hash(p);; i = (i + 1) & (FUZZ_SLOTS - 1)) {
		if (fuzz_set[i].gen != fuzz_gen) return NULL;
		if (fuzz_set[i].p == p) return &fuzz_set[i];
	}
}
static void fuzz_on_free(const volatile void *v) {
	if (!fuzz_tracking || !v) return;
	fuzz_slot *s = fuzz_find((uintptr_t)v);
	if (s) s->p = FUZZ_GONE;
}
static void fuzz_track_init(void) {
	fuzz_set = mmap(NULL, FUZZ_SLOTS * sizeof *fuzz_set, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	fuzz_log = mmap(NULL, FUZZ_LOG * sizeof *fuzz_log, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (fuzz_set == MAP_FAILED || fuzz_log == MAP_FAILED) abort();
	__sanitizer_install_malloc_and_free_hooks(fuzz_on_malloc, fuzz_on_free);
}
static void fuzz_track_start(void) {
	if (++fuzz_gen == 0) {   /* generations wrapped: stale slots could look current */
		memset(fuzz_set, 0, FUZZ_SLOTS * sizeof *fuzz_set);
		fuzz_gen = 1;
	}
	fuzz_nlog = 0;
	fuzz_overflow = 0;
	fuzz_tracking = 1;
}
static void fuzz_track_stop(int died) {
	fuzz_tracking = 0;
	if (!died) return;
	for (uint32_t i = 0; i < fuzz_nlog; i++) {
		fuzz_slot *s = fuzz_find(fuzz_log[i]);
		if (!s) continue;
		s->p = FUZZ_GONE;
		free((void *)fuzz_log[i]);
	}
}
#else
static void fuzz_track_init(void) {}
static void fuzz_track_start(void) {}
static void fuzz_track_stop(int died) { (void)died; }
#endif

/* Descriptors the input opened and left open when it died: those open after
 * it and not before, among the first FUZZ_FDS (one poll() call tells which
 * are open). Others, such as a sanitizer's symbolizer pipe, are left alone. */
#define FUZZ_FDS 256
static struct pollfd fuzz_pfd[FUZZ_FDS];
static unsigned char fuzz_fd_before[FUZZ_FDS];
static void fuzz_fds_poll(void) {
	for (int fd = 0; fd < FUZZ_FDS; fd++) fuzz_pfd[fd] = (struct pollfd){.fd = fd};
	poll(fuzz_pfd, FUZZ_FDS, 0);
}
static void fuzz_fds_note(void) {
	fuzz_fds_poll();
	for (int fd = 0; fd < FUZZ_FDS; fd++) fuzz_fd_before[fd] = !(fuzz_pfd[fd].revents & POLLNVAL);
}
static void fuzz_fds_close(void) {
	fuzz_fds_poll();
	for (int fd = 3; fd < FUZZ_FDS; fd++)
		if (!fuzz_fd_before[fd] && !(fuzz_pfd[fd].revents & POLLNVAL)) close(fd);
}

static char fuzz_path[64];
static void fuzz_unlink(void) { if (*fuzz_path) unlink(fuzz_path); }

/* Call first in LLVMFuzzerInitialize. Die's messages go to /dev/null unless
 * FUZZ_VERBOSE is set (the sanitizers report on descriptor 2, not stderr).
 * What the C library and OpenMP allocate once, on first use, is allocated
 * here, before any input: allocated by an input that dies, the sweep would
 * free it under them (a stdio buffer freed so is written on, unseen by ASan,
 * once the block is reused: libFuzzer saw its input overwritten). */
static char fuzz_stdout_buf[BUFSIZ];
static void fuzz_init(const char *name) {
	lm_progname = name;
	lm_die_hook = fuzz_jump;
	setvbuf(stdout, fuzz_stdout_buf, _IOLBF, sizeof fuzz_stdout_buf);
	if (!getenv("FUZZ_VERBOSE")) {
		FILE *null = fopen("/dev/null", "w");
		if (null) setvbuf(null, NULL, _IONBF, 0), stderr = null;
	}
	omp_set_num_threads(1);   /* the malloc hooks keep no locks */
	int team = 0;
#pragma omp parallel
	team = omp_get_num_threads();
	(void)team;
	const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	snprintf(fuzz_path, sizeof fuzz_path, "%.40s/lmkit-fuzz.%d", dir, (int)getpid());
	atexit(fuzz_unlink);
	fuzz_track_init();
}

/* data written to path (whole, or abort). */
static void fuzz_write(const char *path, const uint8_t *data, size_t size) {
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0) { perror(path); abort(); }
	for (size_t at = 0; at < size;) {
		ssize_t w = write(fd, data + at, size - at);
		if (w <= 0) { perror(path); abort(); }
		at += w;
	}
	close(fd);
}

/* The input as a file, for entry points that read a path: the same file
 * (in /dev/shm when there is one), rewritten for each input. */
__attribute__((unused)) static const char *fuzz_file(const uint8_t *data, size_t size) {
	fuzz_write(fuzz_path, data, size);
	return fuzz_path;
}

/* Run one(data, size), which may die. */
static int fuzz_run(void (*one)(const uint8_t *, size_t), const uint8_t *data, size_t size) {
	volatile int died = 0;
	fuzz_fds_note();
	fuzz_track_start();
	if (setjmp(fuzz_jmp) == 0) one(data, size);
	else died = 1;
	lm_forget_files();
	fuzz_track_stop(died);
	if (died) fuzz_fds_close();
	return 0;
}

/* The same bytes NUL-terminated, for entry points that take a C string. */
__attribute__((unused)) static char *fuzz_string(const uint8_t *data, size_t size) {
	char *s = xmalloc(size + 1);
	memcpy(s, data, size);
	s[size] = 0;
	return s;
}

#endif
