/* tok_encode: Llama 2's tokenizer.model and tokenizer.bin against the ids in
 * llama2_tokenizer_expected_encodings.json; tok512.model against tok512.bin;
 * decoding; pathological inputs in linear time. */
#include "tokenizer.h"
#include "util.h"
#include "tap.h"
#include <cjson/cJSON.h>
#include <string.h>
#include <time.h>

static char path[4096];
static const char *asset(const char *name) {
	const char *a = getenv("LMKIT_ASSETS");
	snprintf(path, sizeof path, "%s/%s", a ? a : "../shared/assets", name);
	FILE *f = fopen(path, "rb");
	if (!f) return NULL;
	fclose(f);
	return path;
}

static int32_t *ids;
static size_t cap;

static double cpu_sec(void) {
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void expected(const char *json_path, lm_tokenizer *t, const char *name) {
	char *js = read_file(json_path, NULL);
	cJSON *root = cJSON_Parse(js);
	cJSON *c;
	int i = 0;
	cJSON_ArrayForEach(c, cJSON_GetObjectItem(root, "cases")) {
		const char *prompt = cJSON_GetObjectItem(c, "prompt")->valuestring;
		cJSON *want = cJSON_GetObjectItem(c, "expected_ids");
		size_t n = tok_encode(t, prompt, strlen(prompt), cJSON_IsTrue(cJSON_GetObjectItem(c, "bos")),
				      cJSON_IsTrue(cJSON_GetObjectItem(c, "eos")), &ids, &cap);
		int same = (int)n == cJSON_GetArraySize(want);
		for (size_t j = 0; same && j < n; j++) same = ids[j] == cJSON_GetArrayItem(want, (int)j)->valueint;
		ok(same, "%s: expected encoding %d (%.30s)", name, i, prompt);
		if (!same) {
			printf("#   got:");
			for (size_t j = 0; j < n; j++) printf(" %d", ids[j]);
			printf("\n");
		}
		i++;
	}
	cJSON_Delete(root);
	free(js);
}

static const char *texts[] = {
	"Once upon a time", "Hello world", "The quick brown fox jumps over the lazy dog.",
	"Lily and Ben were friends. They liked to play in the park!", "1234567890 3.14159",
	"naïve café – “quotes” 日本語 😀", "tab\there", "new\nline", "", "x",
	"<s> and </s> are text here",
};

/* An independent, plain encoder with run.c encode()'s semantics, to check the
 * heap, the segment split and the cache of tok_encode against: the vocabulary
 * sorted by strcmp and searched with bsearch as run.c does, and the best merge
 * (highest score above -1e10, leftmost on ties) found by a scan each time. */
typedef struct runc { int n; char **s; float *sc; int *sorted; } runc;
static runc *rc_sort_ctx;
static int rc_cmp(const void *a, const void *b) {
	return strcmp(rc_sort_ctx->s[*(const int *)a], rc_sort_ctx->s[*(const int *)b]);
}
static const char *rc_key;
static int rc_find(const void *k, const void *e) { (void)k; return strcmp(rc_key, rc_sort_ctx->s[*(const int *)e]); }
static int rc_lookup(runc *r, const char *str) {
	rc_sort_ctx = r;
	rc_key = str;
	const int *p = bsearch(str, r->sorted, r->n, sizeof *r->sorted, rc_find);
	return p ? *p : -1;
}
static runc *rc_load(const char *path) {
	size_t len;
	unsigned char *b = (unsigned char *)read_file(path, &len);
	runc *r = xcalloc(1, sizeof *r);
	size_t off = 4;
	while (off < len) {
		int l;
		r->s = xrealloc(r->s, (r->n + 1) * sizeof *r->s);
		r->sc = xrealloc(r->sc, (r->n + 1) * sizeof *r->sc);
		memcpy(&r->sc[r->n], b + off, 4);
		memcpy(&l, b + off + 4, 4);
		r->s[r->n] = xmalloc(l + 1);
		memcpy(r->s[r->n], b + off + 8, l);
		r->s[r->n][l] = 0;
		off += 8 + l;
		r->n++;
	}
	free(b);
	r->sorted = xmalloc(r->n * sizeof *r->sorted);
	for (int i = 0; i < r->n; i++) r->sorted[i] = i;
	rc_sort_ctx = r;
	qsort(r->sorted, r->n, sizeof *r->sorted, rc_cmp);
	return r;
}
static int rc_pair(runc *r, const int *tok, int i, char *buf) {
	sprintf(buf, "%s%s", r->s[tok[i]], r->s[tok[i + 1]]);
	return rc_lookup(r, buf);
}
static size_t rc_encode(runc *r, const char *text, int *tok) {
	size_t n = 0, sl = 0;
	char grp[8], buf[512];
	tok[n++] = 1;
	if (text[0]) tok[n++] = rc_lookup(r, " ");
	for (const char *c = text; *c; c++) {
		if ((*c & 0xC0) != 0x80) sl = 0;
		grp[sl++] = *c;
		grp[sl] = 0;
		if ((c[1] & 0xC0) == 0x80 && sl < 4) continue;
		int id = rc_lookup(r, grp);
		if (id >= 0) tok[n++] = id;
		else for (size_t i = 0; i < sl; i++) tok[n++] = (unsigned char)grp[i] + 3;
		sl = 0;
	}
	int *pid = xmalloc((n + 1) * sizeof *pid);
	for (size_t i = 0; i + 1 < n; i++) pid[i] = rc_pair(r, tok, (int)i, buf);
	for (;;) {
		float best = -1e10f;
		long bi = -1;
		for (size_t i = 0; i + 1 < n; i++)
			if (pid[i] >= 0 && r->sc[pid[i]] > best) best = r->sc[pid[i]], bi = (long)i;
		if (bi < 0) break;
		tok[bi] = pid[bi];
		memmove(tok + bi + 1, tok + bi + 2, (n - bi - 2) * sizeof *tok);
		memmove(pid + bi + 1, pid + bi + 2, (n - bi - 2) * sizeof *pid);
		n--;
		if (bi > 0) pid[bi - 1] = rc_pair(r, tok, (int)bi - 1, buf);
		if ((size_t)bi + 1 < n) pid[bi] = rc_pair(r, tok, (int)bi, buf);
	}
	free(pid);
	return n;
}

/* Every corpus line up to 2000 bytes: tok_encode on a tokenizer.bin equals the plain encoder. */
static void against_runc(const char *bin, const char *name) {
	runc *r = rc_load(bin);
	lm_tokenizer *t = tok_load(bin);
	lm_in *in = in_open("tests/data/tok_corpus.txt.gz");
	int *want = xmalloc((2000 + 16) * sizeof *want);   /* at most one token per byte, BOS, prefix */
	long lines = 0, bad = 0;
	while (in_line(in)) {
		size_t len = strlen(in->buf);   /* run.c reads C strings */
		if (len > 2000) continue;
		size_t k = rc_encode(r, in->buf, want);
		size_t n = tok_encode(t, in->buf, len, 1, 0, &ids, &cap);
		int same = n == k;
		for (size_t j = 0; same && j < n; j++) same = ids[j] == want[j];
		if (!same && bad++ < 3) printf("#   differs on line %lld\n", in->lineno);
		lines++;
	}
	in_close(in);
	ok(!bad && lines > 10000, "%s: tok_encode equals a plain run.c encode() on %ld corpus lines (%ld differ)", name, lines, bad);
	free(want);
	tok_free(t);
	for (int i = 0; i < r->n; i++) free(r->s[i]);
	free(r->s); free(r->sc); free(r->sorted); free(r);
}

int main(void) {
	const char *json = asset("llama2_tokenizer_expected_encodings.json");
	char jsonp[4096];
	if (json) snprintf(jsonp, sizeof jsonp, "%s", json);
	if (!json || !asset("tokenizer.model")) skip_all("no ../shared/assets");
	lm_tokenizer *m = tok_load(asset("tokenizer.model"));
	lm_tokenizer *b = tok_load(asset("tokenizer.bin"));
	ok(tok_vocab_size(m) == 32000 && tok_vocab_size(b) == 32000, "both Llama 2 tokenizers have 32000 pieces");
	ok(tok_bos(m) == 1 && tok_eos(m) == 2 && tok_bos(b) == 1 && tok_eos(b) == 2, "BOS 1, EOS 2");
	ok(!strcmp(tok_piece(m, 29871), "▁") && !strcmp(tok_piece(b, 29871), " "), "piece 29871 is the space");
	expected(jsonp, m, "tokenizer.model");
	expected(jsonp, b, "tokenizer.bin");

	/* decoding gives the text back */
	const char *s = "Hello world, it's 2023-07-18!\n  Two spaces.";
	size_t n = tok_encode(m, s, strlen(s), 1, 1, &ids, &cap), len;
	char *d = tok_decode(m, ids, n, &len);
	ok(len == strlen(s) && !strcmp(d, s), "tok_decode inverts tok_encode (%s)", d);
	free(d);
	char buf[16], acc[256] = "";
	for (size_t i = 1; i < n; i++) {
		size_t l;
		const char *p = tok_decode_piece(m, ids[i - 1], ids[i], buf, &l);
		strncat(acc, p, l);
	}
	ok(!strcmp(acc, s), "tok_decode_piece streams the same text (%s)", acc);
	int32_t bytes[] = { 1, 3 + 0xe6, 3 + 0x97, 3 + 0xa5, 3 + 0xff };
	d = tok_decode(m, bytes, 5, &len);
	ok(!strcmp(d, "日\xEF\xBF\xBD"), "byte pieces join into UTF-8; an invalid byte decodes to U+FFFD");
	free(d);

	lm_tokenizer *m5 = tok_load(asset("tok512.model")), *b5 = tok_load(asset("tok512.bin"));
	int same = 1;
	for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
		int32_t *x = NULL;
		size_t xc = 0;
		size_t k = tok_encode(m5, texts[i], strlen(texts[i]), 1, 0, &x, &xc);
		size_t k2 = tok_encode(b5, texts[i], strlen(texts[i]), 1, 0, &ids, &cap);
		int eq = k == k2 && !memcmp(x, ids, k * sizeof *x);
		if (!eq) printf("#   differ on '%s'\n", texts[i]);
		same &= eq;
		free(x);
	}
	ok(same, "tok512.model and tok512.bin give the same ids on every test text");
	n = tok_encode(b5, "Once upon a time", 16, 1, 0, &ids, &cap);
	ok(n == 5 && ids[1] == 403 && ids[2] == 407 && ids[3] == 261 && ids[4] == 378, "tok512.bin: Once upon a time");

	/* linear time on pathological input: a long word, a long run of spaces.
	 * Quadratic work on 1 MB would take hours; CPU time (not wall time, the
	 * machine may be loaded) under a generous bound tells the two apart even
	 * under AddressSanitizer. */
	size_t big = 1 << 20;
	char *w = xmalloc(big);
	for (size_t i = 0; i < big; i++) w[i] = "abcdefghij"[i * 7 % 10];
	double t0 = cpu_sec();
	n = tok_encode(m, w, big, 0, 0, &ids, &cap);
	double t1 = cpu_sec();
	memset(w, ' ', big);
	size_t n2 = tok_encode(m, w, big, 0, 0, &ids, &cap);
	double t2 = cpu_sec();
	ok(n > 1000 && t1 - t0 < 20, "a 1 MB word encodes in %.2f s of CPU", t1 - t0);
	ok(n2 > 1000 && t2 - t1 < 20, "1 MB of spaces encodes in %.2f s of CPU", t2 - t1);
	free(w);
	against_runc(asset("tokenizer.bin"), "tokenizer.bin");
	against_runc(asset("tok512.bin"), "tok512.bin");
	tok_free(m); tok_free(b); tok_free(m5); tok_free(b5);
	free(ids);
	return done_testing();
}
