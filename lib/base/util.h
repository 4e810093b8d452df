/* util: what every tool needs: errors that name the program and file, checked
 * allocation, output files that appear whole or not at all, and input that may
 * be gzip-compressed or standard input. */
#ifndef LM_UTIL_H
#define LM_UTIL_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdarg.h>
#include <zlib.h>

#define LM_VERSION "0.1.0"

extern const char *lm_progname;

/* Call first in main: sets lm_progname, installs signal cleanup. Tools that run
 * the model call blas_init (blas.h) next. */
void lm_init(int argc, char **argv);
/* What --version adds after the version, when set (blas_init sets the BLAS kernel). */
extern const char *(*lm_version_note)(void);

/* "prog: msg\n" on stderr; die also exits 1 after removing unfinished outputs. */
void warnx_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "prog: msg: strerror(errno)" */
_Noreturn void die_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Called by die() and die_errno() after the message and cleanup, in place of
 * exit(1), when set; it must not return. A fuzzing harness (tests/fuzz/),
 * which runs input after input in one process, jumps back with it. */
extern void (*lm_die_hook)(void);

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
/* aligned to 64 bytes, zeroed; free with free() */
void *xalloc_aligned(size_t n);

/* A tool never replaces a file it reads, nor writes two outputs to one file.
 * Every reader opens its files with open_in, which remembers them (by device
 * and inode, so whatever link names them); out_open refuses an output that is
 * one of them ("OUT: is also an input (IN)") or another open output's file,
 * and so does open_in an input that is an open or claimed output, before
 * anything is written. */
int open_in(const char *path);   /* read-only; "-" is standard input; dies naming path */
/* Outputs opened later, and maybe many times (a checkpoint saved every N
 * steps), claimed up front so that a clash is an error before any work; a
 * claimed file is written with out_open. continued: the tool reads the file's
 * earlier contents to continue them (--resume), which is no clash. */
void out_claim(const char *path, int continued);
/* Forget every file read, claimed or opened so far, as a new process would
 * know none (a fuzzing harness between inputs). */
void lm_forget_files(void);

/* n bytes of fd at offset at, or die naming path ("truncated" at the end of file). */
void read_at(int fd, void *buf, size_t n, uint64_t at, const char *path);

/* Bytes gathered in memory, growing as they come (file headers, protobuf). */
typedef struct lm_bytes {
	uint8_t *p;
	size_t n, cap;
} lm_bytes;
void bytes_put(lm_bytes *b, const void *src, size_t n);

/* Whole file into memory (NUL-terminated; *len excludes the NUL). "-" is stdin. */
char *read_file(const char *path, size_t *len);

/* Output written to a temporary "path.tmp.PID.N" and renamed over path by
 * out_close; removed on die() or a fatal signal, and by a later out_open of
 * path when its process was killed. "-" is stdout, and devices and FIFOs are
 * written in place. A path ending in ".gz" is gzip-compressed unless gz == 0;
 * gz == 1 forces compression. */
typedef struct lm_out {
	char *path, *tmp;
	char *dest;          /* path with symlinks resolved, where the rename goes */
	FILE *f;
	gzFile gz;
} lm_out;
lm_out *out_open(const char *path, int gz);   /* gz: -1 by name, 0 never, 1 always */
void out_write(lm_out *o, const void *buf, size_t n);
void out_printf(lm_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void out_close(lm_out *o);                   /* flush, fsync-free rename, free */
void out_abort(lm_out *o);                   /* remove the temporary, free */
/* Make path hold what is written so far, and go on writing (metrics renamed at
 * each checkpoint). */
void out_commit(lm_out *o);

/* Line reader over a plain or gzip file (detected by magic) or "-". Lines may
 * be of any length; the trailing '\n' (and a '\r' before it) is removed. A
 * truncated or corrupt gzip stream is an error naming the file. */
typedef struct lm_in {
	const char *path;
	gzFile gz;
	char *buf;          /* current line, NUL-terminated */
	size_t len, cap;
	long long lineno;
} lm_in;
lm_in *in_open(const char *path);
/* zlib's reason for the last error on a stream opened by gzdopen, without the
 * "<fd:N>: " zlib puts before it (for Z_ERRNO, the system's reason). */
const char *gz_reason(gzFile gz);
int in_line(lm_in *in);   /* 1 = a line in in->buf/in->len, 0 = end of input */
void in_close(lm_in *in);

/* Monotonic seconds. */
double now_sec(void);

/* Parse numbers from option strings or die naming the option. */
long long parse_int(const char *opt, const char *s);
double parse_float(const char *opt, const char *s);
/* --device: 1 for cuda, 0 for cpu, or die naming the choices. */
int parse_device(const char *s);

/* Standard --help / --version handling for a tool: prints usage or version and
 * exits 0 when argv[1] is one of them. usage is the one-line synopsis text. */
void std_options(int argc, char **argv, const char *usage);
_Noreturn void usage_exit(const char *usage);

#endif
