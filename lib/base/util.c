#include "util.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *lm_progname = "lmkit";
const char *(*lm_version_note)(void);
void (*lm_die_hook)(void);

/* Temporaries of unfinished outputs, removed on die() and fatal signals. */
#define MAX_TMP 64
static char *tmp_paths[MAX_TMP];

static void tmp_add(char *p) {
	for (int i = 0; i < MAX_TMP; i++)
		if (!tmp_paths[i]) { tmp_paths[i] = p; return; }
}
static void tmp_del(char *p) {
	for (int i = 0; i < MAX_TMP; i++)
		if (tmp_paths[i] == p) tmp_paths[i] = NULL;
}
static void tmp_cleanup(void) {
	for (int i = 0; i < MAX_TMP; i++)
		if (tmp_paths[i]) unlink(tmp_paths[i]);
}
static void on_fatal_signal(int sig) {
	tmp_cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

void lm_init(int argc, char **argv) {
	const char *p = strrchr(argv[0], '/');
	lm_progname = p ? p + 1 : argv[0];
	signal(SIGHUP, on_fatal_signal);
	signal(SIGPIPE, on_fatal_signal);
	/* Tools that checkpoint on SIGINT/SIGTERM install their own handlers after this. */
	signal(SIGINT, on_fatal_signal);
	signal(SIGTERM, on_fatal_signal);
}

static void vmsg(const char *fmt, va_list ap, int err) {
	fflush(stdout);
	fprintf(stderr, "%s: ", lm_progname);
	vfprintf(stderr, fmt, ap);
	if (err) fprintf(stderr, ": %s", strerror(err));
	fputc('\n', stderr);
}
void warnx_(const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt); vmsg(fmt, ap, 0); va_end(ap);
}
void die(const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt); vmsg(fmt, ap, 0); va_end(ap);
	tmp_cleanup();
	if (lm_die_hook) lm_die_hook();
	exit(1);
}
void die_errno(const char *fmt, ...) {
	int e = errno;
	va_list ap;
	va_start(ap, fmt); vmsg(fmt, ap, e); va_end(ap);
	tmp_cleanup();
	if (lm_die_hook) lm_die_hook();
	exit(1);
}

void *xmalloc(size_t n) {
	void *p = malloc(n ? n : 1);
	if (!p) die("out of memory (%zu bytes)", n);
	return p;
}
void *xcalloc(size_t n, size_t size) {
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p) die("out of memory (%zu x %zu bytes)", n, size);
	return p;
}
void *xrealloc(void *q, size_t n) {
	void *p = realloc(q, n ? n : 1);
	if (!p) die("out of memory (%zu bytes)", n);
	return p;
}
char *xstrdup(const char *s) {
	size_t n = strlen(s) + 1;
	return memcpy(xmalloc(n), s, n);
}
void *xalloc_aligned(size_t n) {
	void *p = NULL;
	n = (n + 63) / 64 * 64;
	if (posix_memalign(&p, 64, n ? n : 64)) die("out of memory (%zu bytes)", n);
	memset(p, 0, n);
	return p;
}

char *read_file(const char *path, size_t *len) {
	int fd = open_in(path);
	size_t cap = 1 << 16, n = 0;
	char *buf = xmalloc(cap);
	for (;;) {
		if (n + 1 >= cap) buf = xrealloc(buf, cap *= 2);
		ssize_t r = read(fd, buf + n, cap - n - 1);
		if (r < 0) { if (errno == EINTR) continue; die_errno("%s", path); }
		if (r == 0) break;
		n += r;
	}
	close(fd);
	/* no spare capacity after the NUL: a parser reading past the file's end is then caught by ASan */
	buf = xrealloc(buf, n + 1);
	buf[n] = 0;
	if (len) *len = n;
	return buf;
}

static int ends_with(const char *s, const char *suf) {
	size_t a = strlen(s), b = strlen(suf);
	return a >= b && !strcmp(s + a - b, suf);
}

/* What this process reads and writes, so that an output never replaces one of
 * its inputs nor another output. Inputs are known by device and inode (the file
 * read, whatever its names) and by their path; outputs by their path with
 * symlinks resolved, which need not exist yet, and by device and inode when it
 * does. */
enum { USE_IN, USE_CLAIM, USE_OPEN };
typedef struct file_use {
	int kind, continued;       /* continued: a claim that may also be read (--resume) */
	char *name;                /* as the user gave it, for messages */
	char *canon;               /* outputs; inputs other than standard input */
	dev_t dev;                 /* inputs */
	ino_t ino;
	const lm_out *out;         /* USE_OPEN */
} file_use;
static file_use *uses;
static int n_uses, cap_uses;

static file_use *use_add(int kind, const char *name) {
	if (n_uses == cap_uses) uses = xrealloc(uses, (cap_uses = cap_uses * 2 + 16) * sizeof *uses);
	file_use *u = &uses[n_uses++];
	memset(u, 0, sizeof *u);
	u->kind = kind;
	u->name = xstrdup(name);
	return u;
}

/* The directory of path (allocated) and its last name. */
static char *dir_of(const char *path, const char **base) {
	const char *slash = strrchr(path, '/');
	char *dir = slash ? xstrdup(path) : xstrdup(".");
	if (slash) dir[slash == path ? 1 : slash - path] = 0;
	*base = slash ? slash + 1 : path;
	return dir;
}

/* path absolute with symlinks resolved; when it does not exist yet, its
 * directory resolved and its last name as given. */
static char *canon_path(const char *path) {
	char *r = realpath(path, NULL);
	if (r) return r;
	const char *base;
	char *dir = dir_of(path, &base);
	char *d = realpath(dir, NULL);
	free(dir);
	if (!d) return xstrdup(path);
	size_t n = strlen(d) + strlen(base) + 2;
	r = xmalloc(n);
	snprintf(r, n, "%s/%s", strcmp(d, "/") ? d : "", base);
	free(d);
	return r;
}

/* The output file st is input u's. Unless u's path still names that file, its
 * inode number may have been freed (u deleted or replaced) and reused. */
static int is_input(const struct stat *st, const file_use *u) {
	struct stat now;
	return st->st_dev == u->dev && st->st_ino == u->ino &&
	       (!u->canon || (stat(u->canon, &now) == 0 && now.st_dev == u->dev && now.st_ino == u->ino));
}
static int same_output(const char *a, const char *b) {
	struct stat sa, sb;
	if (!strcmp(a, b)) return 1;
	return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

void lm_forget_files(void) {
	for (int i = 0; i < n_uses; i++) {
		free(uses[i].name);
		free(uses[i].canon);
	}
	free(uses);
	uses = NULL;
	n_uses = cap_uses = 0;
}

static void note_input(const char *path, int fd) {
	struct stat st;
	/* a pipe or terminal is no file an output could replace */
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) return;
	const char *name = strcmp(path, "-") ? path : "standard input";
	for (int i = 0; i < n_uses; i++) {
		const file_use *u = &uses[i];
		if (u->kind == USE_IN || (u->kind == USE_CLAIM && u->continued)) continue;
		struct stat os;
		if (stat(u->canon, &os) == 0 && os.st_dev == st.st_dev && os.st_ino == st.st_ino)
			die("%s: is also an input (%s)", u->name, name);
	}
	file_use *u = use_add(USE_IN, name);
	u->canon = strcmp(path, "-") ? realpath(path, NULL) : NULL;
	u->dev = st.st_dev;
	u->ino = st.st_ino;
}

int open_in(const char *path) {
	int fd = strcmp(path, "-") ? open(path, O_RDONLY) : dup(0);
	if (fd < 0) die_errno("%s", path);
	note_input(path, fd);
	return fd;
}

/* Dies when an output to path (canon) would replace an input or write over
 * another output; opening: out_open's check, where a claim on the same file is
 * the one being opened. */
static void check_output(const char *path, const char *canon, int continued, int opening) {
	const file_use *claim = NULL;
	for (int i = 0; i < n_uses; i++)
		if (uses[i].kind == USE_CLAIM && same_output(uses[i].canon, canon)) claim = &uses[i];
	if (claim && !opening) die("%s: names the same file as another output (%s)", path, claim->name);
	if (claim && claim->continued) continued = 1;
	struct stat st;
	int exists = stat(canon, &st) == 0;
	for (int i = 0; i < n_uses; i++) {
		const file_use *u = &uses[i];
		if (u->kind == USE_IN && !continued && exists && is_input(&st, u))
			die("%s: is also an input (%s)", path, u->name);
		if (u->kind == USE_OPEN && same_output(u->canon, canon))
			die("%s: names the same file as another output (%s)", path, u->name);
	}
}

void out_claim(const char *path, int continued) {
	struct stat st;
	if (!strcmp(path, "-") || (stat(path, &st) == 0 && !S_ISREG(st.st_mode))) return;
	char *canon = canon_path(path);
	check_output(path, canon, continued, 0);
	file_use *u = use_add(USE_CLAIM, path);
	u->canon = canon;
	u->continued = continued;
}

static void use_open(const lm_out *o) {
	char *canon = canon_path(o->path);
	check_output(o->path, canon, 0, 1);
	file_use *u = use_add(USE_OPEN, o->path);
	u->canon = canon;
	u->out = o;
}
static void use_close(const lm_out *o) {
	for (int i = 0; i < n_uses; i++)
		if (uses[i].kind == USE_OPEN && uses[i].out == o) {
			free(uses[i].name);
			free(uses[i].canon);
			uses[i] = uses[--n_uses];
			return;
		}
}

/* Temporaries that killed processes left beside target: "BASE.tmp.PID.N" (or
 * the older "BASE.tmp.PID") of a PID that no longer runs, regular files of this
 * user. Any other name is someone else's. */
static void tmp_sweep(const char *target) {
	const char *base;
	char *dir = dir_of(target, &base);
	DIR *d = opendir(dir);
	free(dir);
	if (!d) return;
	size_t bl = strlen(base);
	struct dirent *e;
	while ((e = readdir(d))) {
		const char *p = e->d_name;
		if (strncmp(p, base, bl) || strncmp(p + bl, ".tmp.", 5)) continue;
		p += bl + 5;
		long long pid = 0;
		for (; *p >= '0' && *p <= '9' && pid <= INT_MAX; p++) pid = pid * 10 + (*p - '0');
		if (pid <= 0 || pid > INT_MAX) continue;
		if (*p == '.') {
			const char *n = ++p;
			while (*p >= '0' && *p <= '9') p++;
			if (p == n) continue;
		}
		if (*p || pid == getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
		struct stat st;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) || !S_ISREG(st.st_mode) ||
		    st.st_uid != geteuid())
			continue;
		unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
}

/* Each temporary its own name, whatever output it is for. */
static unsigned tmp_serial;

/* A new temporary for o beside the file it replaces, holding a copy of that
 * file when append; its descriptor. */
static int tmp_start(lm_out *o, int append) {
	const char *target = o->dest ? o->dest : o->path;
	size_t n = strlen(target) + 48;
	o->tmp = xmalloc(n);
	snprintf(o->tmp, n, "%s.tmp.%ld.%u", target, (long)getpid(), ++tmp_serial);
	int fd = open(o->tmp, O_WRONLY | O_CREAT | O_TRUNC, 0666);
	if (fd < 0) { int e = errno; free(o->tmp); o->tmp = NULL; errno = e; die_errno("%s", o->path); }
	tmp_add(o->tmp);
	int in = append ? open(target, O_RDONLY) : -1;
	if (append && in < 0 && errno != ENOENT) die_errno("%s", o->path);
	if (in < 0) return fd;
	char buf[1 << 16];
	for (;;) {
		ssize_t r = read(in, buf, sizeof buf);
		if (r < 0 && errno == EINTR) continue;
		if (r < 0) die_errno("%s", o->path);
		if (r == 0) break;
		for (ssize_t w = 0, k; w < r; w += k)
			if ((k = write(fd, buf + w, r - w)) < 0) {
				if (errno != EINTR) die_errno("%s", o->path);
				k = 0;
			}
	}
	close(in);
	return fd;
}

static void out_stream(lm_out *o, int fd, int gz) {
	if (gz) {
		o->gz = gzdopen(fd, "wb6");
		if (!o->gz) die("%s: cannot start gzip stream", o->path);
	} else {
		o->f = fd == 1 ? stdout : fdopen(fd, "wb");
		if (!o->f) die_errno("%s", o->path);
	}
}

lm_out *out_open(const char *path, int gz) {
	lm_out *o = xcalloc(1, sizeof *o);
	o->path = xstrdup(path);
	if (gz < 0) gz = ends_with(path, ".gz");
	int fd;
	struct stat st;
	if (!strcmp(path, "-") || !strcmp(path, "/dev/stdout")) {
		fd = 1;
	} else if ((stat(path, &st) == 0 && !S_ISREG(st.st_mode)) || !strncmp(path, "/dev/", 5) ||
		   !strncmp(path, "/proc/", 6)) {
		/* /dev/null, /dev/stdout, a FIFO, a terminal: nothing to rename over, write in place */
		fd = open(path, O_WRONLY);
		if (fd < 0) die_errno("%s", path);
	} else {
		use_open(o);
		/* through a symlink the rename must replace the file it points to, not the link */
		o->dest = realpath(path, NULL);
		tmp_sweep(o->dest ? o->dest : path);
		fd = tmp_start(o, 0);
	}
	out_stream(o, fd, gz);
	return o;
}

void out_commit(lm_out *o) {
	if (!o->tmp) {
		/* standard output or a device, written in place */
		if (o->gz ? gzflush(o->gz, Z_SYNC_FLUSH) != Z_OK : fflush(o->f) != 0) die_errno("%s", o->path);
		return;
	}
	/* out_close renames what is written, a new temporary goes on from a copy of it */
	lm_out *done = xmalloc(sizeof *done);
	*done = *o;
	o->path = xstrdup(o->path);
	o->dest = o->dest ? xstrdup(o->dest) : NULL;
	o->tmp = NULL;
	int gz = o->gz != NULL;
	o->gz = NULL, o->f = NULL;
	out_close(done);
	out_stream(o, tmp_start(o, 1), gz);
}

void out_write(lm_out *o, const void *buf, size_t n) {
	if (!n) return;
	if (o->gz) {
		while (n) {
			unsigned chunk = n > (1u << 30) ? 1u << 30 : (unsigned)n;
			if (gzwrite(o->gz, buf, chunk) != (int)chunk) die("%s: %s", o->path, gz_reason(o->gz));
			buf = (const char *)buf + chunk;
			n -= chunk;
		}
	} else if (fwrite(buf, 1, n, o->f) != n) {
		die_errno("%s", o->path);
	}
}

void out_printf(lm_out *o, const char *fmt, ...) {
	char small[512], *p = small;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof small) {
		p = xmalloc(n + 1);
		va_start(ap, fmt);
		vsnprintf(p, n + 1, fmt, ap);
		va_end(ap);
	}
	out_write(o, p, n);
	if (p != small) free(p);
}

static void out_free(lm_out *o) {
	use_close(o);
	if (o->tmp) tmp_del(o->tmp);
	free(o->tmp);
	free(o->path);
	free(o->dest);
	free(o);
}

void out_close(lm_out *o) {
	if (o->gz) {
		/* the stream is gone after gzclose: for Z_ERRNO zlib leaves the reason in errno */
		int r = gzclose(o->gz);
		if (r == Z_ERRNO) die_errno("%s", o->path);
		if (r != Z_OK) die("%s: write failed (zlib error %d)", o->path, r);
	} else if (o->f == stdout) {
		if (fflush(stdout) || ferror(stdout)) die_errno("%s", "stdout");
	} else if (fclose(o->f)) {
		die_errno("%s", o->path);
	}
	if (o->tmp && rename(o->tmp, o->dest ? o->dest : o->path)) die_errno("%s", o->path);
	out_free(o);
}

void out_abort(lm_out *o) {
	if (o->gz) gzclose(o->gz);
	else if (o->f != stdout) fclose(o->f);
	if (o->tmp) unlink(o->tmp);
	out_free(o);
}

const char *gz_reason(gzFile gz) {
	int err;
	const char *msg = gzerror(gz, &err), *p;
	if (!strncmp(msg, "<fd:", 4) && (p = strstr(msg, ">: "))) msg = p + 3;
	return *msg ? msg : "gzip stream error";
}

lm_in *in_open(const char *path) {
	lm_in *in = xcalloc(1, sizeof *in);
	in->path = path;
	int fd = open_in(path);
	struct stat st;
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) die("%s: is a directory", path);
	in->gz = gzdopen(fd, "rb");
	if (!in->gz) die("%s: cannot open", path);
	gzbuffer(in->gz, 1 << 17);
	in->cap = 1 << 16;
	in->buf = xmalloc(in->cap);
	return in;
}

int in_line(lm_in *in) {
	in->len = 0;
	for (;;) {
		if (in->cap - in->len < 2) in->buf = xrealloc(in->buf, in->cap *= 2);
		if (!gzgets(in->gz, in->buf + in->len, (int)(in->cap - in->len > INT32_MAX ? INT32_MAX : in->cap - in->len))) {
			int err;
			gzerror(in->gz, &err);
			if (err == Z_BUF_ERROR) die("%s: truncated gzip input", in->path);
			if (err != Z_OK && err != Z_STREAM_END) die("%s: %s", in->path, gz_reason(in->gz));
			if (in->len == 0) {
				/* gzgets returns NULL at a clean end; a stream cut short is reported by gzclose_r */
				return 0;
			}
			break;
		}
		in->len += strlen(in->buf + in->len);
		if (in->len && in->buf[in->len - 1] == '\n') break;
		if (gzeof(in->gz)) break;
	}
	in->lineno++;
	if (in->len && in->buf[in->len - 1] == '\n') in->buf[--in->len] = 0;
	if (in->len && in->buf[in->len - 1] == '\r') in->buf[--in->len] = 0;
	return 1;
}

void in_close(lm_in *in) {
	int r = gzclose_r(in->gz);
	if (r == Z_BUF_ERROR) die("%s: truncated gzip input", in->path);
	if (r == Z_ERRNO) die_errno("%s", in->path);
	if (r != Z_OK) die("%s: read error", in->path);
	free(in->buf);
	free(in);
}

double now_sec(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

long long parse_int(const char *opt, const char *s) {
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end) die("%s: not an integer: '%s'", opt, s);
	return v;
}
double parse_float(const char *opt, const char *s) {
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end) die("%s: not a number: '%s'", opt, s);
	return v;
}

int parse_device(const char *s) {
	if (strcmp(s, "cpu") && strcmp(s, "cuda")) die("--device %s: cpu or cuda", s);
	return !strcmp(s, "cuda");
}

_Noreturn void usage_exit(const char *usage) {
	fprintf(stderr, "usage: %s %s\n", lm_progname, usage);
	exit(2);
}

void std_options(int argc, char **argv, const char *usage) {
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--")) break;
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("usage: %s %s\nSee %s(1).\n", lm_progname, usage, lm_progname);
			exit(0);
		}
		if (!strcmp(argv[i], "--version")) {
			printf("%s (lmkit) %s", lm_progname, LM_VERSION);
			if (lm_version_note) printf("; %s", lm_version_note());
			putchar('\n');
			exit(0);
		}
	}
}

void read_at(int fd, void *buf, size_t n, uint64_t at, const char *path) {
	char *p = buf;
	while (n) {
		ssize_t r = pread(fd, p, n > (1u << 30) ? 1u << 30 : n, (off_t)at);
		if (r < 0) { if (errno == EINTR) continue; die_errno("%s", path); }
		if (r == 0) die("%s: truncated", path);
		p += r; at += r; n -= r;
	}
}

void bytes_put(lm_bytes *b, const void *src, size_t n) {
	/* nothing to put may come as NULL (an empty message), which memcpy must not get */
	if (!n) return;
	if (b->n + n > b->cap) {
		while (b->n + n > b->cap) b->cap = b->cap ? 2 * b->cap : 4096;
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->n, src, n);
	b->n += n;
}
