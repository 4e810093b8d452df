/* spm: protobuf wire format for SentencePiece's ModelProto, table driven.
 * Wire types: 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32. */
#include "spm.h"
#include "util.h"
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

enum { K_INT32, K_UINT64, K_FLOAT, K_STR, K_RSTR };

typedef struct fdesc {
	int number, kind;
	size_t off, count_off;   /* count_off: the size_t count of a repeated string */
} fdesc;

#define TS(n, k, f) { n, k, offsetof(spm_trainer_spec, f), 0 }
#define TR(n, f) { n, K_RSTR, offsetof(spm_trainer_spec, f), offsetof(spm_trainer_spec, n_##f) }
/* In field-number order: that is the order they are written in. */
static const fdesc trainer_fields[] = {
	TR(1, input), TS(2, K_STR, model_prefix), TS(3, K_INT32, model_type),
	TS(4, K_INT32, vocab_size), TR(5, accept_language), TS(6, K_INT32, self_test_sample_size),
	TS(7, K_STR, input_format), TS(10, K_FLOAT, character_coverage),
	TS(11, K_UINT64, input_sentence_size), TS(14, K_INT32, seed_sentencepiece_size),
	TS(15, K_FLOAT, shrinking_factor), TS(16, K_INT32, num_threads),
	TS(17, K_INT32, num_sub_iterations), TS(18, K_INT32, max_sentence_length),
	TS(19, K_INT32, shuffle_input_sentence), TS(20, K_INT32, max_sentencepiece_length),
	TS(21, K_INT32, split_by_unicode_script), TS(22, K_INT32, split_by_whitespace),
	TS(23, K_INT32, split_by_number), TS(24, K_INT32, treat_whitespace_as_suffix),
	TS(25, K_INT32, split_digits), TS(26, K_INT32, allow_whitespace_only_pieces),
	TR(30, control_symbols), TR(31, user_defined_symbols),
	TS(32, K_INT32, vocabulary_output_piece_score), TS(33, K_INT32, hard_vocab_limit),
	TS(34, K_INT32, use_all_vocab), TS(35, K_INT32, byte_fallback),
	TS(36, K_STR, required_chars), TS(40, K_INT32, unk_id), TS(41, K_INT32, bos_id),
	TS(42, K_INT32, eos_id), TS(43, K_INT32, pad_id), TS(44, K_STR, unk_surface),
	TS(45, K_STR, unk_piece), TS(46, K_STR, bos_piece), TS(47, K_STR, eos_piece),
	TS(48, K_STR, pad_piece), TS(49, K_INT32, train_extremely_large_corpus),
};
#define NS(n, k, f) { n, k, offsetof(spm_normalizer_spec, f), 0 }
static const fdesc normalizer_fields[] = {
	NS(1, K_STR, name), NS(2, K_STR, precompiled_charsmap), NS(3, K_INT32, add_dummy_prefix),
	NS(4, K_INT32, remove_extra_whitespaces), NS(5, K_INT32, escape_whitespaces),
	NS(6, K_STR, normalization_rule_tsv),
};
#define PS(n, k, f) { n, k, offsetof(spm_piece, f), 0 }
static const fdesc piece_fields[] = { PS(1, K_STR, piece), PS(2, K_FLOAT, score), PS(3, K_INT32, type) };
#define NF(a) (sizeof(a) / sizeof(a[0]))

static int wire_type(int kind) {
	return kind == K_FLOAT ? 5 : kind == K_STR || kind == K_RSTR ? 2 : 0;
}

/* ---- reading ---- */

typedef struct rd {
	const uint8_t *p, *end;
	const char *err;
} rd;

static uint64_t get_varint(rd *r) {
	uint64_t v = 0;
	for (int shift = 0; shift < 64; shift += 7) {
		if (r->p >= r->end) { r->err = "truncated"; return 0; }
		uint8_t b = *r->p++;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) return v;
	}
	r->err = "bad varint";
	return 0;
}

/* Skip one value of wire type wt; returns 0 on error. */
static int skip_value(rd *r, int wt) {
	uint64_t n;
	switch (wt) {
	case 0: get_varint(r); break;
	case 1: n = 8; goto skip;
	case 5: n = 4; goto skip;
	case 2:
		n = get_varint(r);
		if (r->err) return 0;
	skip:
		if (n > (uint64_t)(r->end - r->p)) { r->err = "truncated"; return 0; }
		r->p += n;
		break;
	default: r->err = "bad wire type"; return 0;
	}
	return !r->err;
}

static void raw_add(spm_raw *raw, uint32_t number, const uint8_t *b, size_t len) {
	raw->f = xrealloc(raw->f, (raw->n + 1) * sizeof *raw->f);
	spm_raw_field *f = &raw->f[raw->n++];
	f->number = number;
	f->len = len;
	f->bytes = xmalloc(len);
	memcpy(f->bytes, b, len);
}

static void str_set(spm_str *s, const uint8_t *b, size_t len) {
	free(s->s);
	s->s = xmalloc(len + 1);
	memcpy(s->s, b, len);
	s->s[len] = 0;
	s->len = len;
}

/* Decode the fields of one message from r into the struct at base. Pieces keep
 * their string as a plain char * (fields[] says K_STR with off of a char *): the
 * piece table is special-cased through is_piece. */
static void read_message(rd *r, const fdesc *fields, size_t nf, void *base, uint64_t *has,
			 spm_raw *raw, int is_piece) {
	while (r->p < r->end && !r->err) {
		const uint8_t *start = r->p;
		uint64_t tag = get_varint(r);
		if (r->err) return;
		uint32_t number = (uint32_t)(tag >> 3);
		int wt = tag & 7;
		if (number == 0) { r->err = "bad field number"; return; }
		size_t i = 0;
		while (i < nf && (fields[i].number != (int)number || wire_type(fields[i].kind) != wt)) i++;
		if (i == nf) {
			if (!skip_value(r, wt)) return;
			raw_add(raw, number, start, r->p - start);
			continue;
		}
		char *dst = (char *)base + fields[i].off;
		uint64_t v;
		switch (fields[i].kind) {
		case K_INT32:
			v = get_varint(r);
			*(int32_t *)dst = (int32_t)(uint32_t)v;
			break;
		case K_UINT64:
			*(uint64_t *)dst = get_varint(r);
			break;
		case K_FLOAT:
			if (r->end - r->p < 4) { r->err = "truncated"; return; }
			memcpy(dst, r->p, 4);   /* little-endian host */
			r->p += 4;
			break;
		case K_STR:
		case K_RSTR:
			v = get_varint(r);
			if (r->err) return;
			if (v > (uint64_t)(r->end - r->p)) { r->err = "truncated"; return; }
			if (is_piece) {
				char **s = (char **)dst;
				free(*s);
				*s = xmalloc(v + 1);
				memcpy(*s, r->p, v);
				(*s)[v] = 0;
			} else if (fields[i].kind == K_STR) {
				str_set((spm_str *)dst, r->p, v);
			} else {
				spm_str **arr = (spm_str **)dst;
				size_t *cnt = (size_t *)((char *)base + fields[i].count_off);
				*arr = xrealloc(*arr, (*cnt + 1) * sizeof **arr);
				memset(&(*arr)[*cnt], 0, sizeof **arr);
				str_set(&(*arr)[(*cnt)++], r->p, v);
			}
			r->p += v;
			break;
		}
		if (r->err) return;
		*has |= 1ull << i;
	}
}

static void set_trainer_defaults(spm_trainer_spec *t) {
	memset(t, 0, sizeof *t);
	t->model_type = SPM_UNIGRAM;
	t->vocab_size = 8000;
	t->character_coverage = 0.9995f;
	t->seed_sentencepiece_size = 1000000;
	t->shrinking_factor = 0.75f;
	t->num_threads = 16;
	t->num_sub_iterations = 2;
	t->max_sentence_length = 4192;
	t->shuffle_input_sentence = 1;
	t->max_sentencepiece_length = 16;
	t->split_by_unicode_script = 1;
	t->split_by_whitespace = 1;
	t->split_by_number = 1;
	t->vocabulary_output_piece_score = 1;
	t->hard_vocab_limit = 1;
	t->unk_id = 0, t->bos_id = 1, t->eos_id = 2, t->pad_id = -1;
	spm_set_str(&t->unk_surface, " \xE2\x81\x87 ");
	spm_set_str(&t->unk_piece, "<unk>");
	spm_set_str(&t->bos_piece, "<s>");
	spm_set_str(&t->eos_piece, "</s>");
	spm_set_str(&t->pad_piece, "<pad>");
}
static void set_normalizer_defaults(spm_normalizer_spec *n) {
	memset(n, 0, sizeof *n);
	n->add_dummy_prefix = 1;
	n->remove_extra_whitespaces = 1;
	n->escape_whitespaces = 1;
}

static void trainer_free(spm_trainer_spec *t);
static void normalizer_free(spm_normalizer_spec *n);

/* Absent strings read as "" rather than NULL. */
static void fill_strings(const fdesc *fields, size_t nf, void *base) {
	for (size_t i = 0; i < nf; i++) {
		spm_str *s = (spm_str *)((char *)base + fields[i].off);
		if (fields[i].kind == K_STR && !s->s) spm_set_str(s, "");
	}
}

spm_model *spm_parse(const uint8_t *buf, size_t len, const char **err) {
	spm_model *m = xcalloc(1, sizeof *m);
	set_trainer_defaults(&m->trainer);
	set_normalizer_defaults(&m->normalizer);
	set_normalizer_defaults(&m->denormalizer);
	rd r = { buf, buf + len, NULL };
	while (r.p < r.end && !r.err) {
		const uint8_t *start = r.p;
		uint64_t tag = get_varint(&r);
		if (r.err) break;
		uint32_t number = (uint32_t)(tag >> 3);
		int wt = tag & 7;
		if (number == 0) { r.err = "bad field number"; break; }
		if (wt == 2 && (number == 1 || number == 2 || number == 3 || number == 5)) {
			uint64_t n = get_varint(&r);
			if (r.err) break;
			if (n > (uint64_t)(r.end - r.p)) { r.err = "truncated"; break; }
			rd sub = { r.p, r.p + n, NULL };
			if (number == 1) {
				if ((m->n_pieces & (m->n_pieces - 1)) == 0)
					m->pieces = xrealloc(m->pieces, (m->n_pieces ? 2 * m->n_pieces : 1) * sizeof *m->pieces);
				spm_piece *p = &m->pieces[m->n_pieces++];
				memset(p, 0, sizeof *p);
				p->type = SPM_NORMAL;
				uint64_t has = 0;
				read_message(&sub, piece_fields, NF(piece_fields), p, &has, &p->raw, 1);
				p->has = (uint32_t)has;
				if (!p->piece) p->piece = xstrdup("");
			} else if (number == 2) {
				read_message(&sub, trainer_fields, NF(trainer_fields), &m->trainer,
					     &m->trainer.has, &m->trainer.raw, 0);
				m->has_trainer = 1;
			} else {
				spm_normalizer_spec *ns = number == 3 ? &m->normalizer : &m->denormalizer;
				read_message(&sub, normalizer_fields, NF(normalizer_fields), ns, &ns->has, &ns->raw, 0);
				if (number == 3) m->has_normalizer = 1; else m->has_denormalizer = 1;
			}
			if (sub.err) { r.err = sub.err; break; }
			r.p += n;
			continue;
		}
		if (!skip_value(&r, wt)) break;
		raw_add(&m->raw, number, start, r.p - start);
	}
	/* the pieces come first: pieces without the specs after them is a cut file */
	if (!r.err && m->n_pieces && !m->has_trainer) r.err = "truncated (pieces but no trainer_spec)";
	if (!r.err && !m->n_pieces) r.err = "not a SentencePiece model (no pieces)";
	if (r.err) {
		*err = r.err;
		spm_free(m);
		return NULL;
	}
	fill_strings(trainer_fields, NF(trainer_fields), &m->trainer);
	fill_strings(normalizer_fields, NF(normalizer_fields), &m->normalizer);
	fill_strings(normalizer_fields, NF(normalizer_fields), &m->denormalizer);
	return m;
}

spm_model *spm_load(const char *path) {
	size_t len;
	char *buf = read_file(path, &len);
	const char *err;
	spm_model *m = spm_parse((const uint8_t *)buf, len, &err);
	free(buf);
	if (!m) die("%s: %s", path, err);
	return m;
}

/* ---- writing ---- */

static void put_varint(lm_bytes *w, uint64_t v) {
	uint8_t b[10];
	int n = 0;
	do {
		b[n] = v & 0x7f;
		v >>= 7;
		if (v) b[n] |= 0x80;
		n++;
	} while (v);
	bytes_put(w, b, n);
}
static void put_tag(lm_bytes *w, int number, int wt) { put_varint(w, (uint64_t)number << 3 | wt); }
static void put_bytes(lm_bytes *w, int number, const void *b, size_t n) {
	put_tag(w, number, 2);
	put_varint(w, n);
	bytes_put(w, b, n);
}

static void write_field(lm_bytes *w, const fdesc *f, const void *base, int is_piece) {
	const char *src = (const char *)base + f->off;
	switch (f->kind) {
	case K_INT32:
		put_tag(w, f->number, 0);
		/* negative int32 is sign-extended to ten bytes, as protobuf does */
		put_varint(w, (uint64_t)(int64_t)*(const int32_t *)src);
		break;
	case K_UINT64:
		put_tag(w, f->number, 0);
		put_varint(w, *(const uint64_t *)src);
		break;
	case K_FLOAT:
		put_tag(w, f->number, 5);
		bytes_put(w, src, 4);
		break;
	case K_STR:
		if (is_piece) {
			const char *s = *(char *const *)src;
			put_bytes(w, f->number, s ? s : "", s ? strlen(s) : 0);
		} else {
			const spm_str *s = (const spm_str *)src;
			put_bytes(w, f->number, s->s ? s->s : "", s->len);
		}
		break;
	case K_RSTR: {
		const spm_str *arr = *(spm_str *const *)src;
		size_t cnt = *(const size_t *)((const char *)base + f->count_off);
		for (size_t i = 0; i < cnt; i++) put_bytes(w, f->number, arr[i].s, arr[i].len);
		break;
	}
	}
}

/* Known fields and kept raw ones, merged in field-number order. */
static void write_message(lm_bytes *w, const fdesc *fields, size_t nf, const void *base, uint64_t has,
			  const spm_raw *raw, int is_piece) {
	size_t i = 0, j = 0;
	while (i < nf || j < raw->n) {
		if (i < nf && (j == raw->n || fields[i].number <= (int)raw->f[j].number)) {
			if (has >> i & 1) write_field(w, &fields[i], base, is_piece);
			i++;
		} else {
			bytes_put(w, raw->f[j].bytes, raw->f[j].len);
			j++;
		}
	}
}

static void put_sub(lm_bytes *w, int number, const lm_bytes *sub) { put_bytes(w, number, sub->p, sub->n); }

uint8_t *spm_serialize(const spm_model *m, size_t *len) {
	lm_bytes w = { 0 }, sub = { 0 };
	size_t j = 0;
	/* ModelProto: 1 pieces, 2 trainer, 3 normalizer, 5 denormalizer; raw ones between by number */
	static const int order[] = { 1, 2, 3, 5 };
	for (int k = 0; k < 4; k++) {
		int number = order[k];
		while (j < m->raw.n && m->raw.f[j].number < (uint32_t)number) {
			bytes_put(&w, m->raw.f[j].bytes, m->raw.f[j].len);
			j++;
		}
		if (number == 1) {
			for (size_t i = 0; i < m->n_pieces; i++) {
				sub.n = 0;
				write_message(&sub, piece_fields, NF(piece_fields), &m->pieces[i], m->pieces[i].has,
					      &m->pieces[i].raw, 1);
				put_sub(&w, 1, &sub);
			}
		} else if (number == 2 && m->has_trainer) {
			sub.n = 0;
			write_message(&sub, trainer_fields, NF(trainer_fields), &m->trainer, m->trainer.has,
				      &m->trainer.raw, 0);
			put_sub(&w, 2, &sub);
		} else if ((number == 3 && m->has_normalizer) || (number == 5 && m->has_denormalizer)) {
			const spm_normalizer_spec *ns = number == 3 ? &m->normalizer : &m->denormalizer;
			sub.n = 0;
			write_message(&sub, normalizer_fields, NF(normalizer_fields), ns, ns->has, &ns->raw, 0);
			put_sub(&w, number, &sub);
		}
	}
	for (; j < m->raw.n; j++) bytes_put(&w, m->raw.f[j].bytes, m->raw.f[j].len);
	free(sub.p);
	*len = w.n;
	if (!w.p) w.p = xmalloc(1);
	return w.p;
}

void spm_save(const spm_model *m, const char *path) {
	size_t len;
	uint8_t *b = spm_serialize(m, &len);
	lm_out *o = out_open(path, 0);
	out_write(o, b, len);
	out_close(o);
	free(b);
}

/* ---- building and freeing ---- */

void spm_set_str(spm_str *f, const char *s) { str_set(f, (const uint8_t *)s, strlen(s)); }

spm_model *spm_new(void) {
	spm_model *m = xcalloc(1, sizeof *m);
	set_trainer_defaults(&m->trainer);
	set_normalizer_defaults(&m->normalizer);
	set_normalizer_defaults(&m->denormalizer);
	fill_strings(trainer_fields, NF(trainer_fields), &m->trainer);
	fill_strings(normalizer_fields, NF(normalizer_fields), &m->normalizer);
	fill_strings(normalizer_fields, NF(normalizer_fields), &m->denormalizer);
	m->trainer.model_type = SPM_BPE;
	spm_set_str(&m->normalizer.name, "identity");
	/* the fields Debian 12's spm_train (0.1.97) writes: every scalar and string
	 * trainer field (repeated ones by count), its three differential-privacy
	 * fields (50-52, zero) kept raw, and normalizer fields 1-4 and 6 */
	for (size_t i = 0; i < NF(trainer_fields); i++)
		if (trainer_fields[i].kind != K_RSTR) m->trainer.has |= 1ull << i;
	static const uint8_t dp[][6] = { { 0x90, 0x03, 0 }, { 0x9d, 0x03, 0, 0, 0, 0 }, { 0xa0, 0x03, 0 } };
	raw_add(&m->trainer.raw, 50, dp[0], 3);
	raw_add(&m->trainer.raw, 51, dp[1], 6);
	raw_add(&m->trainer.raw, 52, dp[2], 3);
	for (size_t i = 0; i < NF(normalizer_fields); i++)
		if (normalizer_fields[i].number != 5) m->normalizer.has |= 1ull << i;
	m->has_trainer = m->has_normalizer = 1;
	return m;
}

void spm_add_piece(spm_model *m, const char *piece, float score, int type) {
	if ((m->n_pieces & (m->n_pieces - 1)) == 0)
		m->pieces = xrealloc(m->pieces, (m->n_pieces ? 2 * m->n_pieces : 1) * sizeof *m->pieces);
	spm_piece *p = &m->pieces[m->n_pieces++];
	memset(p, 0, sizeof *p);
	p->piece = xstrdup(piece);
	p->score = score;
	p->type = type;
	/* SentencePiece's trainer leaves the type of normal pieces unset (the default) */
	p->has = 1 | 2 | (type != SPM_NORMAL ? 4 : 0);
}

static void raw_free(spm_raw *r) {
	for (size_t i = 0; i < r->n; i++) free(r->f[i].bytes);
	free(r->f);
}
static void strings_free(const fdesc *fields, size_t nf, void *base) {
	for (size_t i = 0; i < nf; i++) {
		char *p = (char *)base + fields[i].off;
		if (fields[i].kind == K_STR) {
			free(((spm_str *)p)->s);
		} else if (fields[i].kind == K_RSTR) {
			spm_str *arr = *(spm_str **)p;
			size_t cnt = *(size_t *)((char *)base + fields[i].count_off);
			for (size_t k = 0; k < cnt; k++) free(arr[k].s);
			free(arr);
		}
	}
}
static void trainer_free(spm_trainer_spec *t) {
	strings_free(trainer_fields, NF(trainer_fields), t);
	raw_free(&t->raw);
}
static void normalizer_free(spm_normalizer_spec *n) {
	strings_free(normalizer_fields, NF(normalizer_fields), n);
	raw_free(&n->raw);
}

void spm_free(spm_model *m) {
	if (!m) return;
	for (size_t i = 0; i < m->n_pieces; i++) {
		free(m->pieces[i].piece);
		raw_free(&m->pieces[i].raw);
	}
	free(m->pieces);
	trainer_free(&m->trainer);
	normalizer_free(&m->normalizer);
	normalizer_free(&m->denormalizer);
	raw_free(&m->raw);
	free(m);
}

static int has_field(const fdesc *fields, size_t nf, uint64_t has, int fno) {
	for (size_t i = 0; i < nf; i++)
		if (fields[i].number == fno) return (int)(has >> i & 1);
	return 0;
}
int spm_trainer_has(const spm_trainer_spec *t, int fno) {
	return has_field(trainer_fields, NF(trainer_fields), t->has, fno);
}
int spm_normalizer_has(const spm_normalizer_spec *n, int fno) {
	return has_field(normalizer_fields, NF(normalizer_fields), n->has, fno);
}
