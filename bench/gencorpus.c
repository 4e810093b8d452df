/* gencorpus: a synthetic web-like JSONL corpus for benchmarks and reference
 * comparisons of the data tools (lm-clean, lm-dedup). Deterministic for a seed.
 *
 * usage: gencorpus MEGABYTES [SEED] > corpus.jsonl
 *
 * Documents mix prose (stop words, punctuation, contractions, hyphens, Unicode
 * quotes and dashes, abbreviations) with the things the quality rules look for,
 * each with a random strength so that measured values fall on both sides of the
 * thresholds: short documents, repeated lines, paragraphs and phrases, bullet
 * lists, '#' and ellipses, numbers, menu lines without punctuation, lorem ipsum,
 * javascript and cookie lines, curly brackets, citations, very long words, and
 * e-mail addresses, IPs, phone numbers, versions, dates and ISBNs. About 3% of
 * documents are exact or near duplicates of an earlier one (for lm-dedup). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rs = 88172645463325252ull;
static uint64_t rnd(void) { rs ^= rs << 13; rs ^= rs >> 7; rs ^= rs << 17; return rs; }
static int rn(int n) { return (int)(rnd() % (uint64_t)n); }
static double ru(void) { return (rnd() >> 11) * (1.0 / 9007199254740992.0); }

static const char *const common[] = {
	"the", "be", "to", "of", "and", "that", "have", "with", "a", "in", "it", "for", "not", "on", "as",
	"you", "do", "at", "this", "but", "his", "by", "from", "they", "we", "say", "her", "she", "or",
	"an", "will", "my", "one", "all", "would", "there", "their", "what", "so", "up", "out", "if",
	"about", "who", "get", "which", "go", "me", "when", "make", "can", "like", "time", "no", "just",
	"him", "know", "take", "people", "into", "year", "your", "good", "some", "could", "them", "see",
	"other", "than", "then", "now", "look", "only", "come", "its", "over", "think", "also", "back",
	"after", "use", "two", "how", "our", "work", "first", "well", "way", "even", "new", "want",
	"because", "any", "these", "give", "day", "most", "us", "is", "was", "are", "were", "been",
};
static const char *const content[] = {
	"garden", "river", "computer", "market", "history", "science", "language", "village", "engine",
	"mountain", "network", "library", "festival", "hospital", "software", "weather", "election",
	"recipe", "kitchen", "teacher", "student", "museum", "painting", "journey", "harvest", "coffee",
	"bicycle", "planet", "ocean", "forest", "council", "budget", "research", "analysis", "community",
	"development", "experience", "information", "government", "technology", "environment", "opportunity",
	"well-known", "long-term", "don't", "it's", "we're", "can't", "they'll", "café", "naïve", "résumé",
	"“quoted”", "—", "e.g.", "Mr.", "Dr.", "U.S.", "3.5", "42", "1999", "10%", "$20", "#1", "C++",
	"co-operate", "and/or", "Zürich", "São", "Paulo", "größer", "straße", "Москва", "東京",
	"internationalization", "antidisestablishmentarianism", "x", "ok", "id", "re", "vs.",
};
static const char *const tails[] = {".", ".", ".", ".", ".", "!", "?", "...", "…", ":", "", ".\"", ".'", ";"};

static char *buf;
static size_t len, cap;
static void put(const char *s) {
	size_t n = strlen(s);
	if (len + n + 1 > cap) { cap = (len + n + 1) * 2; buf = realloc(buf, cap); if (!buf) exit(1); }
	memcpy(buf + len, s, n + 1);
	len += n;
}
static void putf(const char *fmt, long a, long b, long c, long d) {
	char t[256];
	snprintf(t, sizeof t, fmt, a, b, c, d);
	put(t);
}

static double p_content;   /* per-document style knobs */

static void word(int first) {
	char t[128];
	const char *w = ru() < p_content ? content[rn(sizeof content / sizeof *content)]
	                                 : common[rn(sizeof common / sizeof *common)];
	if (first && w[0] >= 'a' && w[0] <= 'z') { snprintf(t, sizeof t, "%c%s", w[0] - 32, w + 1); put(t); }
	else put(w);
}

static void pii(void) {
	switch (rn(12)) {
	case 0: putf("john.doe%ld@example.com", rn(100), 0, 0, 0); break;
	case 1: putf("contact+news@mail%ld.example.org", rn(9), 0, 0, 0); break;
	case 2: putf("%ld.%ld.%ld.%ld", 1 + rn(223), rn(256), rn(256), 1 + rn(254)); break;
	case 3: putf("2001:db8::%lx:%lx", rn(65536), rn(65536), 0, 0); break;
	case 4: putf("(%ld) %ld-%04ld", 200 + rn(799), 200 + rn(799), rn(10000), 0); break;
	case 5: putf("+44 20 %ld %04ld", 1000 + rn(8999), rn(10000), 0, 0); break;
	case 6: putf("%ld-%ld-%04ld", 200 + rn(799), 200 + rn(799), rn(10000), 0); break;
	case 7: putf("version %ld.%ld.%ld.%ld", rn(10), rn(20), rn(100), rn(1000)); break;
	case 8: putf("%ld-%02ld-%02ld", 1990 + rn(35), 1 + rn(12), 1 + rn(28), 0); break;
	case 9: putf("ISBN 978-%ld-%ld-%05ld-1", rn(10), 10 + rn(89), rn(100000), 0); break;
	case 10: putf("%ld.%02ld", rn(1000), rn(100), 0, 0); break;
	default: putf("#%06lx", rnd() & 0xFFFFFF, 0, 0, 0); break;
	}
}

static void sentence(double p_pii) {
	int n = 3 + rn(18);
	for (int i = 0; i < n; i++) {
		if (i) put(ru() < 0.08 ? ", " : " ");
		if (ru() < p_pii) pii();
		else word(i == 0);
	}
	put(tails[rn(sizeof tails / sizeof *tails)]);
	if (ru() < 0.03) putf(" [%ld]", 1 + rn(30), 0, 0, 0);
}

static void line(double p_pii) {
	int n = 1 + rn(4);
	for (int i = 0; i < n; i++) { if (i) put(" "); sentence(p_pii); }
}

static void special_line(void) {
	static const char *const s[] = {
		"Home About Contact Login", "Lorem ipsum dolor sit amet, consectetur adipiscing elit.",
		"Please enable JavaScript to view this page.", "This site uses cookies to improve your experience.",
		"Read our privacy policy and terms of use.", "function f() { return 1; }", "Share this:",
		"Posted by admin", "- item one", "• item two", "Click here to read more...", "#hashtag #news #today",
		"### Section", "Copyright 2024", "2024-05-01 12:30:00", "| a | b | c |", "...",
	};
	put(s[rn(sizeof s / sizeof *s)]);
}

static void json_text(const char *s, size_t n) {
	putchar('"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];
		if (c == '"' || c == '\\') { putchar('\\'); putchar(c); }
		else if (c == '\n') fputs("\\n", stdout);
		else if (c == '\t') fputs("\\t", stdout);
		else if (c < 0x20) printf("\\u%04x", c);
		else putchar(c);
	}
	putchar('"');
}

#define KEEP 64
static char *kept[KEEP];

int main(int argc, char **argv) {
	if (argc < 2) { fprintf(stderr, "usage: gencorpus MEGABYTES [SEED]\n"); return 2; }
	double mb = atof(argv[1]);
	if (argc > 2) rs ^= strtoull(argv[2], NULL, 10) * 0x9E3779B97F4A7C15ull;
	size_t total = 0, target = (size_t)(mb * 1e6);
	for (long id = 0; total < target; id++) {
		len = 0;
		put("");
		if (id > KEEP && ru() < 0.03) {
			/* a duplicate of a recent document, exact or with one line added */
			put(kept[rn(KEEP)]);
			if (ru() < 0.5) put("\nThis line was added later.");
		} else {
			int lines = ru() < 0.2 ? 1 + rn(4) : 4 + rn(40);
			double p_dup = ru() < 0.3 ? ru() * 0.6 : 0, p_special = ru() < 0.3 ? ru() * 0.5 : 0.02;
			double p_para = ru() * 0.4, p_pii = ru() < 0.3 ? 0.02 : 0.002;
			p_content = 0.2 + ru() * 0.6;
			size_t *starts = malloc(sizeof *starts * (lines + 1));
			for (int i = 0; i < lines; i++) {
				if (i) put(ru() < p_para ? "\n\n" : "\n");
				starts[i] = len;
				if (i > 1 && ru() < p_dup) {
					int j = rn(i);
					size_t a = starts[j], b = j + 1 < i ? starts[j + 1] : len;
					while (b > a && buf[b - 1] == '\n') b--;
					char *t = strndup(buf + a, b - a);
					put(t);
					free(t);
				} else if (ru() < p_special) {
					special_line();
				} else {
					line(p_pii);
				}
			}
			free(starts);
			if (ru() < 0.01) { for (int i = 0; i < 1100; i++) put("a"); put(" end."); }
			if (ru() < 0.02) put("\n\\ndeliberately\tescaped \"text\" \u00e9.");
		}
		free(kept[id % KEEP]);
		kept[id % KEEP] = strdup(buf);
		printf("{\"id\":\"doc%ld\",\"text\":", id);
		json_text(buf, len);
		printf(",\"source\":\"gencorpus\"}\n");
		total += len + 40;
	}
	return 0;
}
