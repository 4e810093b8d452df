/* util: output files appear whole or not at all; input lines of any length, gzip or not. */
#include "tap.h"
#include "util.h"
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <fcntl.h>

int main(int argc, char **argv) {
	lm_init(argc, argv);
	char path[] = "/tmp/lmkit-util-XXXXXX";
	int fd = mkstemp(path);
	close(fd);
	unlink(path);

	lm_out *o = out_open(path, -1);
	out_printf(o, "a\r\nbb\n");
	ok(access(path, F_OK) != 0, "output invisible before close");
	for (int i = 0; i < 100000; i++) out_write(o, "x", 1);
	out_close(o);
	ok(access(path, F_OK) == 0, "output renamed into place");

	/* before path is read: a tool does not write over its input */
	o = out_open(path, -1);
	out_printf(o, "partial");
	out_abort(o);
	ok(access(path, F_OK) == 0, "aborted output leaves the old file alone");

	lm_in *in = in_open(path);
	ok(in_line(in) && !strcmp(in->buf, "a"), "CRLF stripped");
	ok(in_line(in) && !strcmp(in->buf, "bb"), "second line");
	ok(in_line(in) && in->len == 100000, "long line read whole (%zu)", in->len);
	ok(!in_line(in), "end of input");
	in_close(in);

	char gzpath[64];
	snprintf(gzpath, sizeof gzpath, "%s.gz", path);
	o = out_open(gzpath, -1);
	out_printf(o, "hello\nworld");
	out_close(o);
	in = in_open(gzpath);
	ok(in_line(in) && !strcmp(in->buf, "hello"), "gzip line 1");
	ok(in_line(in) && !strcmp(in->buf, "world"), "gzip last line without newline");
	ok(!in_line(in), "gzip end");
	in_close(in);
	unlink(path);
	unlink(gzpath);

	/* a device is written in place, never renamed over */
	o = out_open("/dev/null", -1);
	out_printf(o, "discarded");
	out_close(o);
	struct stat st;
	ok(stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode), "/dev/null is still a device");

	/* through a symlink: the file it points to is replaced, the link stays */
	char link[80], target[80];
	snprintf(link, sizeof link, "%s.link", path);
	snprintf(target, sizeof target, "%s.target", path);
	close(open(target, O_WRONLY | O_CREAT, 0666));
	symlink(target, link);
	o = out_open(link, -1);
	out_printf(o, "via link\n");
	out_close(o);
	struct stat ls;
	ok(lstat(link, &ls) == 0 && S_ISLNK(ls.st_mode), "a symlinked output stays a symlink");
	in = in_open(target);
	ok(in_line(in) && !strcmp(in->buf, "via link"), "its target got the output");
	in_close(in);
	unlink(link);
	unlink(target);
	return done_testing();
}
