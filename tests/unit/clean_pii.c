/* clean pii: what is replaced by <EMAIL>, <IP>, <PHONE>, and what must be left alone. */
#include "tap.h"
#include "clean.h"
#include "util.h"
#include <string.h>

static cleaner *c;

static void is_scrubbed(const char *in, const char *want) {
	clean_result r;
	clean_doc(c, in, strlen(in), &r);
	ok(r.kept && r.len == strlen(want) && !memcmp(r.text, want, r.len), "'%s' -> '%.*s'", in, (int)r.len, r.text);
}

int main(int argc, char **argv) {
	lm_init(argc, argv);
	c = clean_new();
	for (int r = 0; r < R_N; r++) clean_enable(c, clean_rule_name[r], r == R_PII);
	static const char *const emails[] = {
		"john.doe@example.com", "a+b_c-d%e@sub.mail.example.co.uk", "x@y.io", "JANE@EXAMPLE.ORG",
		"first.last+tag@my-host.example", "u123@x-y.travel",
	};
	for (size_t i = 0; i < sizeof emails / sizeof *emails; i++) {
		char in[128];
		snprintf(in, sizeof in, "write to %s.", emails[i]);
		is_scrubbed(in, "write to <EMAIL>.");
	}
	is_scrubbed("<jane@example.org>", "<<EMAIL>>");
	static const char *const ips[] = {
		"192.168.0.1", "10.0.0.255", "8.8.8.8", "255.255.255.255", "0.0.0.0",
		"fe80::1ff:fe23:4567:890a", "2001:0db8:85a3:0000:0000:8a2e:0370:7334", "2001:db8::8a2e:370:7334",
		"::1", "::ffff:192.0.2.128", "2001:db8::", "64:ff9b::192.0.2.33",
	};
	for (size_t i = 0; i < sizeof ips / sizeof *ips; i++) {
		char in[128];
		snprintf(in, sizeof in, "host %s, up", ips[i]);
		is_scrubbed(in, "host <IP>, up");
	}
	is_scrubbed("at 8.8.4.4:53 now", "at <IP>:53 now");
	static const char *const phones[] = {
		"(555) 123-4567", "555-123-4567", "555.123.4567", "555 123 4567", "1-800-555-1234",
		"+1 555 123 4567", "+44 20 7946 0958", "+33 1 23 45 67 89", "+49 (30) 1234-5678", "+1-202-555-0143",
		"020 7946 0958",
	};
	for (size_t i = 0; i < sizeof phones / sizeof *phones; i++) {
		char in[128];
		snprintf(in, sizeof in, "call %s today", phones[i]);
		is_scrubbed(in, "call <PHONE> today");
	}
	/* left alone: versions, dates, times, ISBNs, decimals, numbers, CSS colours, code */
	static const char *const keep[] = {
		"version 1.2.3.4 is out", "upgrade to v10.0.0.1 now", "release 2.3.4.5 fixed it", "see 1.2.3 and 1.2.3.4.5",
		"on 2024-01-15 or 15/01/2024 or 01.02.2024", "at 12:30:45 on 2024-01-15T12:30:45Z",
		"ISBN 978-3-16-148410-0", "ISBN 0-306-40615-2", "ISBN 978 0 306 40615 7", "ISBN 0306406152",
		"pi is 3.14159 and e is 2.71828", "1,234,567.89 or 1.234.567 or 0.5", "cost 1234567890 and 12345678901234",
		"color: #fff; background: #a0b1c2", "rgb(1,2,3)", "std::vector<int> and a::b", "ratio 3:2 and 16:9",
		"999.1.1.1 and 256.0.0.1", "user@localhost", "@handle and email@", "1999-2024", "page 12-14",
		"call 555-1234", "dead:beef", "C++ 1.0",
	};
	for (size_t i = 0; i < sizeof keep / sizeof *keep; i++) is_scrubbed(keep[i], keep[i]);
	clean_result r;
	const char *many = "a@b.cc 1.2.3.4 555-123-4567 x@y.dd";
	clean_doc(c, many, strlen(many), &r);
	ok(r.pii[0] == 2 && r.pii[1] == 1 && r.pii[2] == 1, "replacements counted");
	clean_set(c, "pii.email=off");
	is_scrubbed("x@y.io at 1.1.1.1", "x@y.io at <IP>");
	clean_free(c);
	return done_testing();
}
