/* chat_template: Llama 2 chat renderings equal SentencePiece's own rendering of
 * Meta's template (tests/ref/chat_template.py, ids and masks committed in
 * tests/data/chat_template_expected.jsonl), with the Llama 2 tokenizer. */
#include "tap.h"
#include "chat.h"
#include "util.h"
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* the JSON int array equals v (ids) or m (mask) over n entries */
static int same(const cJSON *a, const int32_t *v, const uint8_t *m, size_t n) {
	if (cJSON_GetArraySize(a) != (int)n) return 0;
	size_t i = 0;
	for (const cJSON *x = a->child; x; x = x->next, i++)
		if (x->valueint != (v ? v[i] : m[i])) return 0;
	return 1;
}

int main(int argc, char **argv) {
	lm_init(argc, argv);
	const char *assets = getenv("LMKIT_ASSETS") ? getenv("LMKIT_ASSETS") : "../shared/assets";
	char path[4096];
	snprintf(path, sizeof path, "%s/tokenizer.model", assets);
	if (access(path, R_OK)) skip_all("no tokenizer.model in the assets");
	lm_tokenizer *t = tok_load(path);

	lm_in *dialogues = in_open("tests/data/chat_dialogues.jsonl");
	lm_in *expected = in_open("tests/data/chat_template_expected.jsonl");
	chat_dialog d = {0};
	chat_tokens full = {0}, last = {0};
	int n_sys = 0, max_turns = 0, n_prompts = 0;
	while (in_line(dialogues)) {
		ok(in_line(expected), "line %lld has an expected rendering", dialogues->lineno);
		const char *err = chat_parse(&d, dialogues->buf, dialogues->len, CHAT_END_ASSISTANT);
		if (err) {
			err = chat_parse(&d, dialogues->buf, dialogues->len, CHAT_END_USER);
			n_prompts++;
		}
		ok(!err, "line %lld parses (%s)", dialogues->lineno, err ? err : "ok");
		if (err) continue;
		n_sys += d.msg[0].role == CHAT_SYSTEM;
		int turns = (d.n - (d.msg[0].role == CHAT_SYSTEM) + 1) / 2;
		if (turns > max_turns) max_turns = turns;
		full.n = last.n = 0;
		chat_render(t, &d, 0, &full);
		chat_render(t, &d, 1, &last);
		cJSON *e = cJSON_Parse(expected->buf);
		ok(e && same(cJSON_GetObjectItem(e, "ids"), full.ids, NULL, full.n),
		   "line %lld: %d turns, ids equal SentencePiece's rendering", dialogues->lineno, turns);
		ok(e && same(cJSON_GetObjectItem(e, "mask"), NULL, full.mask, full.n),
		   "line %lld: mask on answers and their EOS", dialogues->lineno);
		ok(e && last.n == full.n && same(cJSON_GetObjectItem(e, "mask_last"), NULL, last.mask, last.n),
		   "line %lld: mask of the last answer only", dialogues->lineno);
		cJSON_Delete(e);
	}
	ok(!in_line(expected), "no expected rendering left over");
	ok(n_sys >= 3 && max_turns >= 4 && n_prompts >= 3,
	   "covers system prompts (%d), up to %d turns, prompts for generation (%d)", n_sys, max_turns, n_prompts);
	in_close(dialogues);
	in_close(expected);
	chat_free(&d);
	chat_tokens_free(&full);
	chat_tokens_free(&last);
	tok_free(t);
	return done_testing();
}
