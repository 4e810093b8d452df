/* dies.h: run a call that may die() in a child process, for tests of error
 * paths: dies(f, arg) is f(arg)'s stderr (its last newline cut) when the
 * child exited 1, as die() does, else NULL. The text lasts until the next call. */
#ifndef LM_TEST_DIES_H
#define LM_TEST_DIES_H
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

__attribute__((unused)) static char *dies(void (*f)(void *), void *arg) {
	static char msg[1024];
	int fd[2];
	if (pipe(fd)) return NULL;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fd[1], 2);
		f(arg);
		_exit(0);
	}
	close(fd[1]);
	ssize_t n = read(fd[0], msg, sizeof msg - 1), r;
	while (n >= 0 && (r = read(fd[0], msg + n, sizeof msg - 1 - n)) > 0) n += r;
	close(fd[0]);
	msg[n > 0 ? n : 0] = 0;
	if (n > 0 && msg[n - 1] == '\n') msg[n - 1] = 0;
	int st;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) && WEXITSTATUS(st) == 1 ? msg : NULL;
}

#endif
