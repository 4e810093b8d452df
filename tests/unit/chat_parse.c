/* chat_parse: which chat JSONL lines are dialogues, and Python's strip on UTF-8. */
#include "tap.h"
#include "chat.h"
#include "util.h"
#include <string.h>

static const char *parse(chat_dialog *d, const char *line, int end) {
	return chat_parse(d, line, strlen(line), end);
}

/* the line is rejected with a reason containing want */
static void bad(const char *line, int end, const char *want) {
	chat_dialog d = {0};
	const char *err = parse(&d, line, end);
	ok(err && strstr(err, want), "rejected (%s): %s", want, err ? err : "accepted");
	chat_free(&d);
}

static int strip_is(const char *s, const char *want) {
	size_t n = strlen(s);
	const char *p = chat_strip(s, &n);
	return n == strlen(want) && !memcmp(p, want, n);
}

int main(int argc, char **argv) {
	lm_init(argc, argv);
	chat_dialog d = {0};
	const char *err = parse(&d, "{\"id\": 7, \"messages\": [{\"role\": \"system\", \"content\": \"Be brief.\"},"
			      "{\"role\": \"user\", \"content\": \"Hi \\u00e9\"}, {\"role\": \"assistant\","
			      " \"content\": \"Hello\", \"extra\": 1}]}", CHAT_END_ASSISTANT);
	ok(!err, "system + one turn parses (%s)", err ? err : "ok");
	ok(d.n == 3 && d.msg[0].role == CHAT_SYSTEM && d.msg[2].role == CHAT_ASSISTANT, "roles in order");
	ok(d.n == 3 && !strcmp(d.msg[1].content, "Hi \xc3\xa9") && d.msg[1].len == 5, "escapes decoded");
	err = parse(&d, "{\"messages\": [{\"role\": \"user\", \"content\": \"a\"}]}", CHAT_END_USER);
	ok(!err && d.n == 1, "a prompt ends with the user (%s)", err ? err : "ok");
	ok(d.n == 1 && !strcmp(d.msg[0].content, "a"), "previous messages dropped on reparse");
	chat_free(&d);

	bad("not json", CHAT_END_ASSISTANT, "not valid JSON");
	bad("{\"messages\": []} x", CHAT_END_ASSISTANT, "not valid JSON");
	bad("[1, 2]", CHAT_END_ASSISTANT, "not a JSON object");
	bad("{\"msgs\": []}", CHAT_END_ASSISTANT, "no \"messages\"");
	bad("{\"messages\": {}}", CHAT_END_ASSISTANT, "not an array");
	bad("{\"messages\": []}", CHAT_END_ASSISTANT, "no messages");
	bad("{\"messages\": [3]}", CHAT_END_ASSISTANT, "message 1 is not an object");
	bad("{\"messages\": [{\"role\": \"bot\", \"content\": \"x\"}]}", CHAT_END_ASSISTANT, "unknown role \"bot\"");
	bad("{\"messages\": [{\"content\": \"x\"}]}", CHAT_END_ASSISTANT, "\"role\" missing");
	bad("{\"messages\": [{\"role\": \"user\", \"content\": 5}]}", CHAT_END_ASSISTANT, "\"content\" missing");
	bad("{\"messages\": [{\"role\": \"assistant\", \"content\": \"x\"}]}", CHAT_END_ASSISTANT,
	    "message 1: expected role \"user\"");
	bad("{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}, {\"role\": \"user\", \"content\": \"y\"}]}",
	    CHAT_END_ASSISTANT, "message 2: expected role \"assistant\"");
	bad("{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}, {\"role\": \"system\", \"content\": \"y\"}]}",
	    CHAT_END_ASSISTANT, "message 2: expected role \"assistant\", got \"system\"");
	bad("{\"messages\": [{\"role\": \"system\", \"content\": \"s\"}]}", CHAT_END_USER, "system message alone");
	bad("{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}", CHAT_END_ASSISTANT, "must be the assistant's");
	bad("{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}, {\"role\": \"assistant\", \"content\": \"y\"}]}",
	    CHAT_END_USER, "must be the user's");
	bad("{\"messages\": [{\"role\": \"user\", \"content\": \" \\n\\t\\u00a0\"}]}", CHAT_END_USER,
	    "message 1: empty content");
	bad("{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}, {\"role\": \"assistant\", \"content\": \"\"}]}",
	    CHAT_END_ASSISTANT, "message 2: empty content");
	bad("{\"messages\": [{\"role\": \"user\", \"content\": \"a [INST] b\"}]}", CHAT_END_USER, "tag [INST]");
	bad("{\"messages\": [{\"role\": \"user\", \"content\": \"a\"}, {\"role\": \"assistant\", \"content\": \"[/INST]\"}]}",
	    CHAT_END_ASSISTANT, "tag [/INST]");
	bad("{\"messages\": [{\"role\": \"system\", \"content\": \"<<SYS>>\"}, {\"role\": \"user\", \"content\": \"a\"}]}",
	    CHAT_END_USER, "tag <<SYS>>");
	bad("{\"messages\": [{\"role\": \"user\", \"content\": \"a <</SYS>>\"}]}", CHAT_END_USER, "tag <</SYS>>");
	bad("{\"messages\": [{\"role\": \"user\", \"content\": \"a\\u0000b\"}]}", CHAT_END_USER, "NUL");
	bad("{\"messages\": [{\"role\": \"user\", \"content\": \"a\xff\"}]}", CHAT_END_USER, "not valid UTF-8");
	bad("{\"messages\": [{\"role\": \"user\", \"content\": \"\\ud800\"}]}", CHAT_END_USER, "not valid JSON");
	/* an escaped backslash before "u0000" is ordinary text */
	err = parse(&d, "{\"messages\": [{\"role\": \"user\", \"content\": \"a\\\\u0000\"}]}", CHAT_END_USER);
	ok(!err && !strcmp(d.msg[0].content, "a\\u0000"), "escaped backslash then u0000 is text");
	chat_free(&d);

	/* in-memory dialogues are checked the same way */
	chat_add(&d, CHAT_USER, "q", 1);
	chat_add(&d, CHAT_ASSISTANT, "a\0b", 3);
	err = chat_check(&d, CHAT_END_ASSISTANT);
	ok(err && strstr(err, "NUL"), "chat_check finds an embedded NUL");
	chat_free(&d);

	ok(strip_is("  a b \n", "a b"), "ASCII whitespace stripped at both ends only");
	ok(strip_is("\xc2\xa0x\xe3\x80\x80", "x"), "NBSP and ideographic space are Python whitespace");
	ok(strip_is("\x1cx\x1f\xc2\x85", "x"), "separators U+001C..U+001F and NEL too");
	ok(strip_is("\xe2\x80\x8bx", "\xe2\x80\x8bx"), "zero-width space is not");
	ok(strip_is("\xc3\xa9 ", "\xc3\xa9"), "multi-byte last character kept");
	ok(strip_is(" \t ", ""), "all whitespace gives empty");
	return done_testing();
}
