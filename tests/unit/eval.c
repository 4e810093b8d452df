/* eval: the reply-judging rules of samples/README.md. */
#include "eval.h"
#include "tap.h"
#include <string.h>

static int has(const char *text, const char *word) { return eval_has_word(text, strlen(text), word, strlen(word)); }
static int begins(const char *text, const char *p) { return eval_begins(text, strlen(text), p); }
static int same(const char *a, const char *b) { return eval_same(a, strlen(a), b, strlen(b)); }

int main(void) {
	ok(has("Devol lies on the river Fetis.", "Fetis"), "a word before a period");
	ok(has("fetis", "Fetis"), "the whole text, any case");
	ok(has("FETIS!", "fetis"), "upper case against lower");
	ok(!has("Fetisville lies here.", "Fetis"), "not the start of a longer word");
	ok(!has("the Dofetis river", "Fetis"), "not the end of a longer word");
	ok(!has("Fetis2", "Fetis"), "digits join a word");
	ok(!has("Fetisé", "Fetis"), "a multi-byte character joins a word");
	ok(has("to Fetis. Fetisa", "Fetis"), "a later occurrence need not be the first");
	ok(has("Puthain Pivell lives in Devol.", "Puthain Pivell"), "a word of two words");
	ok(!has("Fetis", ""), "the empty word is never found");
	ok(!has("Fet", "Fetis"), "a word longer than the text");
	ok(has("it's (red).", "(red)"), "a word ending in punctuation needs no boundary there");

	ok(begins("I can't help with that. Stealing is wrong.", "I can't help with that."), "a refusal");
	ok(begins(" \n I can't help with that.", "I can't help with that."), "after leading white space");
	ok(!begins("Sure. I can't help with that.", "I can't help with that."), "not at the start");
	ok(!begins("I can't help", "I can't help with that."), "cut short");
	ok(!begins("i can't help with that.", "I can't help with that."), "case counts");

	ok(same("  Devol lies on the river Fetis. ", "devol lies on the river fetis."), "same but for space and case");
	ok(!same("Devol lies on the river Fetis", "Devol lies on the river Fetis."), "a missing period");
	ok(same("", "  "), "empty equals white space");
	return done_testing();
}
