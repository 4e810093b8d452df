/* tok_encode: Llama 2's tokenizer.model and tokenizer.bin against the ids in
 * llama2_tokenizer_expected_encodings.json; tok512.model against tok512.bin;
 * decoding; pathological inputs in linear time. */
#include "tokenizer.h"
#include "util.h"
#include "tap.h"
#include <cjson/cJSON.h>
#include <string.h>

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

	/* linear time on pathological input: a long word, a long run of spaces */
	size_t big = 1 << 20;
	char *w = xmalloc(big);
	for (size_t i = 0; i < big; i++) w[i] = "abcdefghij"[i * 7 % 10];
	double t0 = now_sec();
	n = tok_encode(m, w, big, 0, 0, &ids, &cap);
	double t1 = now_sec();
	memset(w, ' ', big);
	size_t n2 = tok_encode(m, w, big, 0, 0, &ids, &cap);
	double t2 = now_sec();
	ok(n > 1000 && t1 - t0 < 5, "a 1 MB word encodes in %.2f s", t1 - t0);
	ok(n2 > 1000 && t2 - t1 < 5, "1 MB of spaces encodes in %.2f s", t2 - t1);
	free(w);
	tok_free(m); tok_free(b); tok_free(m5); tok_free(b5);
	free(ids);
	return done_testing();
}
