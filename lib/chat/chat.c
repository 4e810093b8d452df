#include "chat.h"
#include "charclass.h"
#include "pack.h"
#include "utf8.h"
#include "util.h"
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#define B_INST "[INST]"
#define E_INST "[/INST]"
#define B_SYS "<<SYS>>\n"
#define E_SYS "\n<</SYS>>\n\n"

/* Meta refuses prompts containing these (SPECIAL_TAGS in generation.py): a
 * message that carries them would forge turn boundaries in the rendering. */
static const char *const special_tags[] = {"[INST]", "[/INST]", "<<SYS>>", "<</SYS>>"};

const char *chat_role_name(chat_role r) {
	return r == CHAT_SYSTEM ? "system" : r == CHAT_USER ? "user" : "assistant";
}

void chat_add(chat_dialog *d, chat_role role, const char *content, size_t len) {
	if (d->n == d->cap) d->msg = xrealloc(d->msg, (d->cap = d->cap ? 2 * d->cap : 8) * sizeof *d->msg);
	chat_msg *m = &d->msg[d->n++];
	m->role = role;
	m->content = xmalloc(len + 1);
	memcpy(m->content, content, len);
	m->content[len] = 0;
	m->len = len;
}

void chat_clear(chat_dialog *d) {
	for (int i = 0; i < d->n; i++) free(d->msg[i].content);
	d->n = 0;
}

void chat_free(chat_dialog *d) {
	chat_clear(d);
	free(d->msg);
	d->msg = NULL;
	d->cap = 0;
}

/* The code point at s (valid UTF-8 checked earlier), its byte length in *n. */
static unsigned utf8_at(const unsigned char *s, size_t len, size_t *n) {
	uint32_t cp;
	int valid;
	*n = utf8_decode(s, len, &cp, &valid);
	return cp;
}

const char *chat_strip(const char *s, size_t *len) {
	const unsigned char *p = (const unsigned char *)s;
	size_t n = *len, k;
	while (n && cp_is_space(utf8_at(p, n, &k))) { p += k; n -= k; }
	/* from the right: step back over continuation bytes to the start of the last character */
	while (n) {
		size_t i = n - 1;
		while (i && (p[i] & 0xc0) == 0x80) i--;
		if (!cp_is_space(utf8_at(p + i, n - i, &k))) break;
		n = i;
	}
	*len = n;
	return (const char *)p;
}

const char *chat_check(const chat_dialog *d, int end) {
	static char why[200];
	if (d->n == 0) return "no messages";
	int first = d->msg[0].role == CHAT_SYSTEM;
	for (int i = 0; i < d->n; i++) {
		const chat_msg *m = &d->msg[i];
		chat_role want = (i - first) % 2 ? CHAT_ASSISTANT : CHAT_USER;
		if (i >= first && m->role != want) {
			snprintf(why, sizeof why, "message %d: expected role \"%s\", got \"%s\" (a system message may "
				 "come first, then user and assistant alternate)", i + 1, chat_role_name(want),
				 chat_role_name(m->role));
			return why;
		}
		if (strlen(m->content) != m->len) {
			snprintf(why, sizeof why, "message %d: content contains a NUL character", i + 1);
			return why;
		}
		if (!utf8_valid(m->content, m->len)) {
			snprintf(why, sizeof why, "message %d: content is not valid UTF-8", i + 1);
			return why;
		}
		size_t n = m->len;
		chat_strip(m->content, &n);
		if (n == 0) {
			snprintf(why, sizeof why, "message %d: empty content", i + 1);
			return why;
		}
		for (size_t t = 0; t < sizeof special_tags / sizeof *special_tags; t++)
			if (strstr(m->content, special_tags[t])) {
				snprintf(why, sizeof why, "message %d: content contains the template tag %s", i + 1,
					 special_tags[t]);
				return why;
			}
	}
	if (d->n == first) return "a system message alone, no user message";
	chat_role last = d->msg[d->n - 1].role;
	if (end == CHAT_END_ASSISTANT && last != CHAT_ASSISTANT)
		return "the last message must be the assistant's (a training dialogue ends with an answer)";
	if (end == CHAT_END_USER && last != CHAT_USER)
		return "the last message must be the user's (a prompt ends with a question)";
	return NULL;
}

/* cJSON would cut a string short at an escaped NUL, silently changing the text. */
static int escaped_nul(const char *s) {
	for (; *s; s++)
		if (*s == '\\') {
			if (!strncmp(s + 1, "u0000", 5)) return 1;
			if (s[1]) s++;
		}
	return 0;
}

const char *chat_parse(chat_dialog *d, const char *line, size_t len, int end) {
	static char why[160];
	chat_clear(d);
	if (strlen(line) != len) return "line contains a NUL byte";
	if (escaped_nul(line)) return "content contains a NUL character";
	cJSON *root = cJSON_ParseWithOpts(line, NULL, 1);
	if (!root) return "not valid JSON";
	const char *err = NULL;
	cJSON *msgs = cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "messages") : NULL;
	if (!cJSON_IsObject(root)) err = "not a JSON object";
	else if (!msgs) err = "no \"messages\" key";
	else if (!cJSON_IsArray(msgs)) err = "\"messages\" is not an array";
	int i = 0;
	for (cJSON *m = msgs && !err ? msgs->child : NULL; m && !err; m = m->next, i++) {
		cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
		cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
		chat_role r = CHAT_USER;
		if (!cJSON_IsObject(m)) {
			snprintf(why, sizeof why, "message %d is not an object", i + 1);
			err = why;
		} else if (!cJSON_IsString(role)) {
			snprintf(why, sizeof why, "message %d: \"role\" missing or not a string", i + 1);
			err = why;
		} else if (!cJSON_IsString(content)) {
			snprintf(why, sizeof why, "message %d: \"content\" missing or not a string", i + 1);
			err = why;
		} else if (!strcmp(role->valuestring, "system")) r = CHAT_SYSTEM;
		else if (!strcmp(role->valuestring, "user")) r = CHAT_USER;
		else if (!strcmp(role->valuestring, "assistant")) r = CHAT_ASSISTANT;
		else {
			snprintf(why, sizeof why, "message %d: unknown role \"%.40s\"", i + 1, role->valuestring);
			err = why;
		}
		if (!err) chat_add(d, r, content->valuestring, strlen(content->valuestring));
	}
	cJSON_Delete(root);
	if (!err) err = chat_check(d, end);
	return err;
}

struct chat_reader {
	lm_in *in;
	int end, skip_bad;
	long long bad, lineno;
	chat_dialog d;
};

chat_reader *chat_open(const char *path, int end, int skip_bad) {
	chat_reader *r = xcalloc(1, sizeof *r);
	r->in = in_open(path);
	r->end = end;
	r->skip_bad = skip_bad;
	return r;
}

const chat_dialog *chat_next(chat_reader *r) {
	while (in_line(r->in)) {
		const char *err = chat_parse(&r->d, r->in->buf, r->in->len, r->end);
		r->lineno = r->in->lineno;
		if (!err) return &r->d;
		if (!r->skip_bad) die("%s:%lld: %s", r->in->path, r->lineno, err);
		r->bad++;
	}
	return NULL;
}

long long chat_lineno(const chat_reader *r) { return r->lineno; }
const char *chat_line(const chat_reader *r) { return r->in->buf; }
long long chat_bad(const chat_reader *r) { return r->bad; }

void chat_close(chat_reader *r) {
	in_close(r->in);
	chat_free(&r->d);
	free(r);
}

static void tokens_grow(chat_tokens *o, size_t need) {
	if (need <= o->cap) return;
	size_t c = o->cap ? o->cap : 256;
	while (c < need) c *= 2;
	o->ids = xrealloc(o->ids, c * sizeof *o->ids);
	o->mask = xrealloc(o->mask, c);
	o->cap = c;
}

void chat_tokens_free(chat_tokens *o) {
	free(o->ids);
	free(o->mask);
	memset(o, 0, sizeof *o);
}

/* A growing string for one turn's text. */
typedef struct sbuf { char *s; size_t n, cap; } sbuf;
static void sb_add(sbuf *b, const char *s, size_t n) {
	if (b->n + n + 1 > b->cap) b->s = xrealloc(b->s, b->cap = (b->n + n + 1) * 2);
	memcpy(b->s + b->n, s, n);
	b->n += n;
	b->s[b->n] = 0;
}
#define sb_lit(b, lit) sb_add(b, lit, sizeof lit - 1)

void chat_render(const lm_tokenizer *t, const chat_dialog *d, int last_only, chat_tokens *out) {
	int first = d->n && d->msg[0].role == CHAT_SYSTEM;
	int last_answer = d->n - 1;
	while (last_answer >= 0 && d->msg[last_answer].role != CHAT_ASSISTANT) last_answer--;
	sbuf user = {0}, text = {0};
	int32_t *pre = NULL, *ids = NULL;
	size_t pre_cap = 0, ids_cap = 0;
	for (int i = first; i < d->n; i += 2) {
		/* The system prompt is merged into the first user message before stripping, as Meta does. */
		user.n = 0;
		if (first && i == first) {
			sb_lit(&user, B_SYS);
			sb_add(&user, d->msg[0].content, d->msg[0].len);
			sb_lit(&user, E_SYS);
		}
		sb_add(&user, d->msg[i].content, d->msg[i].len);
		size_t ulen = user.n;
		const char *u = chat_strip(user.s, &ulen);
		text.n = 0;
		sb_lit(&text, B_INST " ");
		sb_add(&text, u, ulen);
		sb_lit(&text, " " E_INST);
		size_t k = tok_encode(t, text.s, text.n, 1, 0, &pre, &pre_cap);
		if (i + 1 == d->n) {
			tokens_grow(out, out->n + k);
			memcpy(out->ids + out->n, pre, k * sizeof *pre);
			memset(out->mask + out->n, 0, k);
			out->n += k;
			break;
		}
		/* The turn is encoded whole, as Meta does. Its prompt part encoded alone (above) marks
		 * where the answer's tokens begin: SentencePiece splits words before the space that
		 * starts the answer, so the prompt's tokens are a prefix of the turn's. */
		size_t alen = d->msg[i + 1].len;
		const char *a = chat_strip(d->msg[i + 1].content, &alen);
		sb_lit(&text, " ");
		sb_add(&text, a, alen);
		sb_lit(&text, " ");
		size_t n = tok_encode(t, text.s, text.n, 1, 1, &ids, &ids_cap);
		size_t b = 0;
		while (b < k && b < n && ids[b] == pre[b]) b++;
		int target = !last_only || i + 1 == last_answer;
		tokens_grow(out, out->n + n);
		memcpy(out->ids + out->n, ids, n * sizeof *ids);
		for (size_t j = 0; j < n; j++) out->mask[out->n + j] = target && j >= b;
		out->n += n;
	}
	free(user.s);
	free(text.s);
	free(pre);
	free(ids);
}

long long chat_to_shard(const lm_tokenizer *t, const char *in_path, const char *out_path, int last_only,
			int skip_bad, long long *bad) {
	chat_reader *r = chat_open(in_path, CHAT_END_ASSISTANT, skip_bad);
	lm_shard_writer *w = shard_create(out_path, tok_vocab_size(t), 1);
	chat_tokens tk = {0};
	long long n = 0;
	for (const chat_dialog *d; (d = chat_next(r)); n++) {
		tk.n = 0;
		chat_render(t, d, last_only, &tk);
		shard_add_doc(w, tk.ids, tk.mask, tk.n);
	}
	if (bad) *bad = chat_bad(r);
	chat_close(r);
	shard_finish(w);
	chat_tokens_free(&tk);
	return n;
}

static uint64_t doc_len(const lm_shard *s, uint64_t d) {
	return shard_doc_end(s, d) - s->doc_start[d];
}

size_t chat_pack_rows(const lm_shard *s, const uint64_t *docs, size_t n, int T, size_t **row) {
	uint64_t *len = xmalloc((n ? n : 1) * sizeof *len);
	for (size_t i = 0; i < n; i++) len[i] = doc_len(s, docs[i]);
	size_t nr = pack_rows(len, n, T, row);
	free(len);
	return nr;
}

long chat_fill_row(const lm_shard *s, const uint64_t *docs, size_t n, int T, int *tokens, int *targets,
		   float *weights, int *pos, int *seg) {
	int j = 0;
	long live = 0;
	for (size_t i = 0; i < n && j < T; i++) {
		uint64_t start = s->doc_start[docs[i]], len = doc_len(s, docs[i]);
		for (uint64_t k = 0; k < len && j < T; k++, j++) {
			tokens[j] = shard_token(s, start + k);
			pos[j] = k;
			seg[j] = i;
			int has = k + 1 < len;
			targets[j] = has ? (int)shard_token(s, start + k + 1) : -1;
			weights[j] = has && s->mask ? s->mask[start + k + 1] : has;
			live += weights[j] != 0;
		}
	}
	for (; j < T; j++) {
		tokens[j] = 0;
		targets[j] = -1;
		weights[j] = 0;
		pos[j] = 0;
		seg[j] = n + j; /* padding attends only to itself */
	}
	return live;
}
