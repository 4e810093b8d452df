/* tap.h: minimal TAP producer for C unit tests (run by prove). */
#ifndef LM_TAP_H
#define LM_TAP_H
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int tap_n, tap_failed;

#define plan(n) printf("1..%d\n", (n))
#define ok(cond, ...) tap_ok_(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
static void tap_ok_(int c, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
#include <stdarg.h>
static void tap_ok_(int c, const char *file, int line, const char *fmt, ...) {
	va_list ap;
	printf("%sok %d - ", c ? "" : "not ", ++tap_n);
	va_start(ap, fmt); vprintf(fmt, ap); va_end(ap);
	printf("\n");
	if (!c) { tap_failed++; printf("#   failed at %s:%d\n", file, line); }
	fflush(stdout);
}
#define skip_all(why) do { printf("1..0 # SKIP %s\n", (why)); exit(0); } while (0)
/* Call at the end of main: prints the plan when none was given and returns the exit code. */
static int done_testing(void) {
	if (tap_n) printf("1..%d\n", tap_n);
	return tap_failed != 0;
}
/* relative difference of two vectors by norm: |a-b| / max(|b|, tiny) */
__attribute__((unused)) static double rel_err(const float *a, const float *b, size_t n) {
	double d = 0, m = 0;
	for (size_t i = 0; i < n; i++) { d += (double)(a[i] - b[i]) * (a[i] - b[i]); m += (double)b[i] * b[i]; }
	return sqrt(d) / (sqrt(m) > 1e-30 ? sqrt(m) : 1e-30);
}
#endif
