/* docs: documents as the data tools (lm-clean, lm-dedup) read and write them.
 *
 * Input is JSONL: one JSON object per line with a string "text" (required) and
 * any other members ("id", "source", "meta", ...) that are carried through
 * untouched. Every line is validated as a whole JSON object by a hand-written
 * scanner that extracts only the top-level "text" and "id" members; nothing is
 * built per member, so reading costs about one pass over the bytes. Blank lines
 * are skipped. A line that is not a JSON object or has no string "text" is a
 * fatal error "path:LINE: reason", or with skip_bad is counted and skipped.
 * In plain-text mode each line is one document and is written back as a line.
 *
 * Input may be gzip (by magic) or "-"; a truncated gzip stream is fatal. Memory
 * is constant apart from the longest line. See docs/FORMATS.md "Documents". */
#ifndef LM_DOCS_H
#define LM_DOCS_H
#include "util.h"
#include <stddef.h>

typedef struct lm_doc {
	const char *text; size_t text_len;  /* unescaped UTF-8 as found (may contain NUL) */
	const char *id; size_t id_len;      /* "id": a string unescaped, a number or other value as
	                                       written; NULL when absent or null */
	const char *line; size_t line_len;  /* the raw input line without its newline */
	long long lineno;                   /* 1-based line number in the input */
	/* where the raw "text" value (quotes included) lies in line; plain-text mode: the whole line */
	size_t text_at, text_end;
	int plain;                          /* read in plain-text mode: written back as plain text */
} lm_doc;

typedef struct lm_docs lm_docs;

lm_docs *docs_open(const char *path, int plain_text, int skip_bad);
/* The next document, valid until the next call; NULL at the end of input. */
const lm_doc *docs_next(lm_docs *d);
/* Or the next raw line (blank and bad ones too, without a trailing '\r') and
 * its number, unparsed: a second pass that knows which lines it wants. */
const char *docs_line(lm_docs *d, size_t *len, long long *lineno);
long long docs_bad(const lm_docs *d);      /* lines skipped as bad (skip_bad) */
long long docs_bytes(const lm_docs *d);    /* uncompressed input bytes consumed so far */
void docs_close(lm_docs *d);               /* checks the gzip stream ended cleanly */

/* Parse one JSONL line into doc (text unescaped into *buf, grown as needed; the id
 * likewise into *idbuf). Returns NULL on success or a static reason on failure. */
const char *docs_parse(const char *line, size_t len, lm_doc *doc,
                       char **buf, size_t *cap, char **idbuf, size_t *idcap);

/* Write doc as one line: the original line when new_text is NULL, else the same
 * object with the "text" value replaced by new_text (everything else byte for
 * byte as read). Plain-text documents are written as the text and '\n'. */
void docs_write(lm_out *o, const lm_doc *doc, const char *new_text, size_t new_len);

/* s as a JSON string literal, quotes included: '"', '\\' and control characters
 * escaped, everything else (UTF-8 included) written as is; to o, or through put. */
void json_put_string(lm_out *o, const char *s, size_t len);
void json_string(void (*put)(void *ctx, const void *p, size_t n), void *ctx, const char *s, size_t len);

#endif
