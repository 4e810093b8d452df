#include "docs.h"
#include "blk64.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct lm_docs {
	const char *path;
	gzFile gz;
	int plain, skip_bad, eof;
	char *buf;                    /* input window: [beg, end) unread, [beg, scan) known to hold no '\n' */
	size_t cap, beg, end, scan;
	long long lineno, bad, bytes;
	lm_doc doc;
	char *text, *idb;             /* unescaped "text" and "id" */
	size_t tcap, idcap;
};

lm_docs *docs_open(const char *path, int plain_text, int skip_bad) {
	lm_docs *d = xcalloc(1, sizeof *d);
	d->path = path;
	d->plain = plain_text;
	d->skip_bad = skip_bad;
	int fd = open_in(path);
	struct stat st;
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) die("%s: is a directory", path);
	d->gz = gzdopen(fd, "rb");
	if (!d->gz) die("%s: cannot open", path);
	gzbuffer(d->gz, 1 << 18);
	d->cap = 1 << 20;
	d->buf = xmalloc(d->cap);
	return d;
}

/* Fill the window; 0 at the end of input. A truncated or corrupt gzip stream is fatal. */
static int fill(lm_docs *d) {
	if (d->beg) {
		memmove(d->buf, d->buf + d->beg, d->end - d->beg);
		d->end -= d->beg, d->scan -= d->beg, d->beg = 0;
	}
	if (d->end == d->cap) d->buf = xrealloc(d->buf, d->cap *= 2);
	size_t want = d->cap - d->end;
	if (want > INT_MAX / 2) want = INT_MAX / 2;
	int n = gzread(d->gz, d->buf + d->end, (unsigned)want);
	int err;
	gzerror(d->gz, &err);
	if (n < 0 || (err != Z_OK && err != Z_STREAM_END)) {
		if (err == Z_BUF_ERROR) die("%s: truncated gzip input", d->path);
		die("%s: %s", d->path, gz_reason(d->gz));
	}
	d->end += n;
	return n > 0;
}

/* The next line (without "\n" or "\r\n") or NULL at the end. */
static const char *next_line(lm_docs *d, size_t *len) {
	for (;;) {
		char *nl = d->eof ? NULL : memchr(d->buf + d->scan, '\n', d->end - d->scan);
		if (nl || d->eof) {
			if (!nl && d->beg == d->end) return NULL;
			const char *line = d->buf + d->beg;
			size_t n = nl ? (size_t)(nl - line) : d->end - d->beg;
			d->beg = d->scan = nl ? d->beg + n + 1 : d->end;
			d->bytes += n + (nl != NULL);
			d->lineno++;
			if (n && line[n - 1] == '\r') n--;
			*len = n;
			return line;
		}
		d->scan = d->end;
		if (!fill(d)) d->eof = 1;
	}
}

/* ---- JSON scanning ---- */

/* 1 for the bytes that end a run of plain string content: '"', '\\', control characters. */
static unsigned char str_stop[256];
static void init_tables(void) {
	static int done;
	if (done) return;
	for (int c = 0; c < 0x20; c++) str_stop[c] = 1;
	str_stop['"'] = str_stop['\\'] = 1;
	done = 1;
}

static const char *ws(const char *p, const char *e) {
	while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
	return p;
}

static int hex4(const char *p, const char *e, unsigned *v) {
	if (e - p < 4) return 0;
	unsigned x = 0;
	for (int i = 0; i < 4; i++) {
		int c = (unsigned char)p[i], h;
		if (c >= '0' && c <= '9') h = c - '0';
		else if (c >= 'a' && c <= 'f') h = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F') h = c - 'A' + 10;
		else return 0;
		x = x << 4 | h;
	}
	*v = x;
	return 1;
}

static char *put_utf8(char *o, unsigned cp) {
	if (cp < 0x80) *o++ = cp;
	else if (cp < 0x800) *o++ = 0xC0 | cp >> 6, *o++ = 0x80 | (cp & 0x3F);
	else if (cp < 0x10000) *o++ = 0xE0 | cp >> 12, *o++ = 0x80 | (cp >> 6 & 0x3F), *o++ = 0x80 | (cp & 0x3F);
	else *o++ = 0xF0 | cp >> 18, *o++ = 0x80 | (cp >> 12 & 0x3F), *o++ = 0x80 | (cp >> 6 & 0x3F),
	     *o++ = 0x80 | (cp & 0x3F);
	return o;
}

/* *pp at the opening quote. Validates the string and, when out is not NULL,
 * writes its unescaped bytes there (never more than the raw length). A lone
 * surrogate escape becomes U+FFFD. Returns NULL or the reason it is invalid. */
static const char *scan_string(const char **pp, const char *e, char *out, size_t *outlen, int *escaped) {
	const char *p = *pp + 1;
	char *o = out;
	int esc = 0;
	for (;;) {
		const char *run = p;
		for (;;) {   /* to the next '"', '\\' or control character, 64 bytes at a time */
			blk64 v = blk_at(p, 0, e - p);
			uint64_t stop = blk_eq(v, '"') | blk_eq(v, '\\') | blk_range(v, 0, 0x20);
			if (stop) { p += __builtin_ctzll(stop); break; }   /* the zeros past e stop it there */
			p += 64;
		}
		if (o) { memcpy(o, run, p - run); o += p - run; }
		if (p >= e) return "unterminated string";
		unsigned char c = *p;
		if (c == '"') break;
		if (c < 0x20) return "control character in string";
		esc = 1;
		if (++p >= e) return "unterminated string";
		char r;
		switch (*p) {
		case '"': r = '"'; break;
		case '\\': r = '\\'; break;
		case '/': r = '/'; break;
		case 'b': r = '\b'; break;
		case 'f': r = '\f'; break;
		case 'n': r = '\n'; break;
		case 'r': r = '\r'; break;
		case 't': r = '\t'; break;
		case 'u': {
			unsigned cp, lo;
			if (!hex4(p + 1, e, &cp)) return "bad \\u escape";
			p += 5;
			if (cp >= 0xD800 && cp < 0xDC00 && e - p >= 6 && p[0] == '\\' && p[1] == 'u' &&
			    hex4(p + 2, e, &lo) && lo >= 0xDC00 && lo < 0xE000) {
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
				p += 6;
			} else if (cp >= 0xD800 && cp < 0xE000) {
				cp = 0xFFFD;
			}
			if (o) o = put_utf8(o, cp);
			continue;
		}
		default: return "bad escape in string";
		}
		if (o) *o++ = r;
		p++;
	}
	*pp = p + 1;
	if (outlen) *outlen = o - out;
	if (escaped) *escaped = esc;
	return NULL;
}

static const char *scan_number(const char **pp, const char *e) {
	const char *p = *pp;
	if (p < e && *p == '-') p++;
	if (p >= e || *p < '0' || *p > '9') return "bad number";
	if (*p == '0') p++;
	else while (p < e && *p >= '0' && *p <= '9') p++;
	if (p < e && *p == '.') {
		if (++p >= e || *p < '0' || *p > '9') return "bad number";
		while (p < e && *p >= '0' && *p <= '9') p++;
	}
	if (p < e && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < e && (*p == '+' || *p == '-')) p++;
		if (p >= e || *p < '0' || *p > '9') return "bad number";
		while (p < e && *p >= '0' && *p <= '9') p++;
	}
	*pp = p;
	return NULL;
}

#define MAX_DEPTH 512

static const char *scan_value(const char **pp, const char *e, int depth) {
	const char *p = ws(*pp, e), *err;
	if (p >= e) return "unexpected end of line";
	if (depth > MAX_DEPTH) return "nested too deeply";
	switch (*p) {
	case '"':
		if ((err = scan_string(&p, e, NULL, NULL, NULL))) return err;
		break;
	case '{':
		p = ws(p + 1, e);
		if (p < e && *p == '}') { p++; break; }
		for (;;) {
			if (p >= e || *p != '"') return "expected a member name";
			if ((err = scan_string(&p, e, NULL, NULL, NULL))) return err;
			p = ws(p, e);
			if (p >= e || *p != ':') return "expected ':'";
			p++;
			if ((err = scan_value(&p, e, depth + 1))) return err;
			p = ws(p, e);
			if (p < e && *p == ',') { p = ws(p + 1, e); continue; }
			if (p < e && *p == '}') { p++; break; }
			return "expected ',' or '}'";
		}
		break;
	case '[':
		p = ws(p + 1, e);
		if (p < e && *p == ']') { p++; break; }
		for (;;) {
			if ((err = scan_value(&p, e, depth + 1))) return err;
			p = ws(p, e);
			if (p < e && *p == ',') { p++; continue; }
			if (p < e && *p == ']') { p++; break; }
			return "expected ',' or ']'";
		}
		break;
	case 't': if (e - p < 4 || memcmp(p, "true", 4)) return "bad literal"; p += 4; break;
	case 'f': if (e - p < 5 || memcmp(p, "false", 5)) return "bad literal"; p += 5; break;
	case 'n': if (e - p < 4 || memcmp(p, "null", 4)) return "bad literal"; p += 4; break;
	default:
		if ((err = scan_number(&p, e))) return err;
	}
	*pp = p;
	return NULL;
}

static void reserve(char **buf, size_t *cap, size_t n) {
	if (*cap < n + 1) {
		*cap = n + 1 > 2 * *cap ? n + 1 : 2 * *cap;
		free(*buf);
		*buf = xmalloc(*cap);
	}
}

/* Which top-level key this is: 1 "text", 2 "id", 0 other. Keys are compared unescaped. */
static int key_kind(const char *raw, size_t n, int escaped) {
	char tmp[16];
	if (escaped) {
		if (n > sizeof tmp) return 0;
		const char *p = raw - 1;
		size_t m;
		if (scan_string(&p, raw + n + 1, tmp, &m, NULL)) return 0;
		raw = tmp, n = m;
	}
	if (n == 4 && !memcmp(raw, "text", 4)) return 1;
	if (n == 2 && !memcmp(raw, "id", 2)) return 2;
	return 0;
}

const char *docs_parse(const char *line, size_t len, lm_doc *doc,
                       char **buf, size_t *cap, char **idbuf, size_t *idcap) {
	init_tables();
	const char *p = line, *e = line + len, *err;
	int have_text = 0;
	doc->id = NULL, doc->id_len = 0;
	p = ws(p, e);
	if (p >= e || *p != '{') return "not a JSON object";
	p = ws(p + 1, e);
	if (p < e && *p == '}') { p++; goto end; }
	for (;;) {
		if (p >= e || *p != '"') return "expected a member name";
		const char *k = p;
		int kesc;
		if ((err = scan_string(&p, e, NULL, NULL, &kesc))) return err;
		int kind = key_kind(k + 1, p - k - 2, kesc);
		p = ws(p, e);
		if (p >= e || *p != ':') return "expected ':'";
		p = ws(p + 1, e);
		const char *v = p;
		if (kind == 1) {
			if (p >= e || *p != '"') return "\"text\" is not a string";
			reserve(buf, cap, len);
			if ((err = scan_string(&p, e, *buf, &doc->text_len, NULL))) return err;
			doc->text = *buf;
			doc->text_at = v - line, doc->text_end = p - line;
			have_text = 1;
		} else if (kind == 2 && p < e && *p == '"') {
			reserve(idbuf, idcap, p - v + len);
			if ((err = scan_string(&p, e, *idbuf, &doc->id_len, NULL))) return err;
			doc->id = *idbuf;
		} else {
			if ((err = scan_value(&p, e, 1))) return err;
			if (kind == 2) {
				doc->id = v, doc->id_len = p - v;
				if (doc->id_len == 4 && !memcmp(v, "null", 4)) doc->id = NULL, doc->id_len = 0;
			}
		}
		p = ws(p, e);
		if (p < e && *p == ',') { p = ws(p + 1, e); continue; }
		if (p < e && *p == '}') { p++; break; }
		return "expected ',' or '}'";
	}
end:
	if (ws(p, e) != e) return "trailing characters after the object";
	if (!have_text) return "no \"text\" member";
	doc->line = line, doc->line_len = len;
	doc->plain = 0;
	return NULL;
}

const lm_doc *docs_next(lm_docs *d) {
	const char *line;
	size_t len;
	while ((line = next_line(d, &len))) {
		lm_doc *doc = &d->doc;
		doc->lineno = d->lineno;
		if (d->plain) {
			doc->text = doc->line = line;
			doc->text_len = doc->line_len = len;
			doc->id = NULL, doc->id_len = 0;
			doc->text_at = 0, doc->text_end = len;
			doc->plain = 1;
			return doc;
		}
		if (ws(line, line + len) == line + len) continue;   /* blank line */
		const char *err = docs_parse(line, len, doc, &d->text, &d->tcap, &d->idb, &d->idcap);
		if (!err) return doc;
		if (!d->skip_bad) die("%s:%lld: %s", d->path, d->lineno, err);
		d->bad++;
	}
	return NULL;
}

const char *docs_line(lm_docs *d, size_t *len, long long *lineno) {
	const char *line = next_line(d, len);
	*lineno = d->lineno;
	return line;
}

long long docs_bad(const lm_docs *d) { return d->bad; }
long long docs_bytes(const lm_docs *d) { return d->bytes; }

void docs_close(lm_docs *d) {
	int r = gzclose_r(d->gz);
	if (r == Z_BUF_ERROR) die("%s: truncated gzip input", d->path);
	if (r == Z_ERRNO) die_errno("%s", d->path);
	if (r != Z_OK) die("%s: read error", d->path);
	free(d->buf);
	free(d->text);
	free(d->idb);
	free(d);
}

void json_string(void (*put)(void *ctx, const void *p, size_t n), void *ctx, const char *s, size_t len) {
	static const char hex[] = "0123456789abcdef";
	init_tables();
	put(ctx, "\"", 1);
	const char *p = s, *e = s + len;
	while (p < e) {
		const char *run = p;
		while (p < e && !str_stop[(unsigned char)*p]) p++;
		put(ctx, run, p - run);
		if (p >= e) break;
		unsigned char c = *p++;
		char esc[6] = {'\\', 0};
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\n': esc[1] = 'n'; break;
		case '\t': esc[1] = 't'; break;
		case '\r': esc[1] = 'r'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4], esc[5] = hex[c & 15];
			put(ctx, esc, 6);
			continue;
		}
		put(ctx, esc, 2);
	}
	put(ctx, "\"", 1);
}

static void put_out(void *o, const void *p, size_t n) { out_write(o, p, n); }

void json_put_string(lm_out *o, const char *s, size_t len) { json_string(put_out, o, s, len); }

void docs_write(lm_out *o, const lm_doc *doc, const char *new_text, size_t new_len) {
	if (!new_text) {
		out_write(o, doc->line, doc->line_len);
	} else if (doc->plain) {
		out_write(o, new_text, new_len);
	} else {
		out_write(o, doc->line, doc->text_at);
		json_put_string(o, new_text, new_len);
		out_write(o, doc->line + doc->text_end, doc->line_len - doc->text_end);
	}
	out_write(o, "\n", 1);
}
