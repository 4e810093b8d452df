/* docs: the JSONL document scanner (lib/data/docs.c): unescaping, validation, rewriting. */
#include "tap.h"
#include "docs.h"
#include <string.h>
#include <unistd.h>

static char *buf, *idbuf;
static size_t cap, idcap;

static const char *parse(const char *line, lm_doc *d) {
	return docs_parse(line, strlen(line), d, &buf, &cap, &idbuf, &idcap);
}

int main(int argc, char **argv) {
	lm_init(argc, argv);
	lm_doc d;
	ok(!parse("{\"id\":\"a1\",\"text\":\"hello\"}", &d) && d.text_len == 5 && !memcmp(d.text, "hello", 5),
	   "plain text member");
	ok(d.id && d.id_len == 2 && !memcmp(d.id, "a1", 2), "string id");
	ok(!parse("{\"text\":\"a\\nb\\t\\\"q\\\" \\\\ \\/\"}", &d) && d.text_len == 11 &&
	   !memcmp(d.text, "a\nb\t\"q\" \\ /", 11), "simple escapes");
	ok(!parse("{\"text\":\"\\u00e9\\u20ac\\ud83d\\ude00\"}", &d) && d.text_len == 9 &&
	   !memcmp(d.text, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9), "\\u escapes and a surrogate pair");
	ok(!parse("{\"text\":\"x\\ud800y\"}", &d) && d.text_len == 5 && !memcmp(d.text, "x\xef\xbf\xbdy", 5),
	   "lone surrogate becomes U+FFFD");
	ok(!parse("{\"text\":\"a\\u0000b\"}", &d) && d.text_len == 3 && d.text[1] == 0, "NUL kept");
	ok(!parse("{\"id\":42,\"text\":\"t\"}", &d) && d.id_len == 2 && !memcmp(d.id, "42", 2), "number id as written");
	ok(!parse("{\"id\":null,\"text\":\"t\"}", &d) && !d.id, "null id is no id");
	ok(!parse(" {\"meta\":{\"a\":[1,2.5e-3,true,false,null,{\"text\":1}]},\"te\\u0078t\":\"t\"} ", &d) &&
	   d.text_len == 1, "nested values skipped, nested text ignored, escaped key matched");
	ok(!parse("{\"text\":\"a\",\"text\":\"bb\"}", &d) && d.text_len == 2, "last duplicate text wins");

	static const char *bad[] = {
		"", "[1]", "\"text\"", "{\"text\":1}", "{\"id\":1}", "{\"text\":\"a\"", "{\"text\":\"a}",
		"{\"text\":\"a\"} x", "{\"text\":\"a\",}", "{\"text\":\"a\\x\"}", "{\"text\":\"\\u12\"}",
		"{\"text\":\"a\tb\"}", "{\"text\":\"a\",\"n\":01}", "{\"text\":\"a\",\"n\":tru}",
		"{text:\"a\"}", "{\"text\":\"a\",\"n\":[1,]}", "{\"text\":\"a\",\"n\":-}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		const char *why = parse(bad[i], &d);
		ok(why != NULL, "rejects '%s' (%s)", bad[i], why ? why : "accepted");
	}

	/* rewriting keeps every other byte of the line */
	char path[64] = "/tmp/lmkit-docs-XXXXXX";
	int fd = mkstemp(path);
	close(fd);
	const char *line = "{\"id\": 7, \"text\": \"old\\n\" , \"meta\": {\"k\": \"v\"}}";
	ok(!parse(line, &d), "parse for rewrite");
	lm_out *o = out_open(path, 0);
	docs_write(o, &d, "new\n\"\x01", 6);
	docs_write(o, &d, NULL, 0);
	out_close(o);
	size_t n;
	char *got = read_file(path, &n);
	const char *want = "{\"id\": 7, \"text\": \"new\\n\\\"\\u0001\" , \"meta\": {\"k\": \"v\"}}\n"
	                   "{\"id\": 7, \"text\": \"old\\n\" , \"meta\": {\"k\": \"v\"}}\n";
	ok(!strcmp(got, want), "text replaced in place, line kept otherwise:\n# %s", got);
	free(got);

	/* reading: blank lines skipped, CRLF, last line without newline, bad lines counted;
	 * in a file of its own, as a process does not write over what it read */
	unlink(path);
	strcat(path, ".2");
	o = out_open(path, -1);
	out_printf(o, "{\"text\":\"a\"}\r\n\n  \n{bad\n{\"text\":\"b\"}");
	out_close(o);
	lm_docs *ds = docs_open(path, 0, 1);
	const lm_doc *p1 = docs_next(ds);
	ok(p1 && p1->text_len == 1 && p1->text[0] == 'a' && p1->lineno == 1, "first document");
	const lm_doc *p2 = docs_next(ds);
	ok(p2 && p2->text[0] == 'b' && p2->lineno == 5, "blank and bad lines skipped (line %lld)", p2 ? p2->lineno : 0);
	ok(!docs_next(ds) && docs_bad(ds) == 1, "end, one bad line counted");
	docs_close(ds);
	unlink(path);
	free(buf);
	free(idbuf);
	return done_testing();
}
