/* tok_spm: the SentencePiece ModelProto codec: lossless round trips of real
 * models, clear errors on damaged ones, and models built from scratch. */
#include "spm.h"
#include "util.h"
#include "tap.h"
#include <string.h>

static const char *assets(void) {
	const char *a = getenv("LMKIT_ASSETS");
	return a ? a : "../shared/assets";
}

static void round_trip(const char *name, int npieces, int extra_ws) {
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", assets(), name);
	FILE *f = fopen(path, "rb");
	if (!f) { printf("# skip %s: no %s\n", name, path); return; }
	fclose(f);
	size_t len, len2;
	uint8_t *buf = (uint8_t *)read_file(path, &len);
	const char *err = NULL;
	spm_model *m = spm_parse(buf, len, &err);
	ok(m != NULL, "%s parses (%s)", name, err ? err : "ok");
	if (!m) return;
	ok((int)m->n_pieces == npieces, "%s has %d pieces (got %zu)", name, npieces, m->n_pieces);
	ok(m->trainer.model_type == SPM_BPE && m->trainer.byte_fallback, "%s: BPE with byte fallback", name);
	ok(m->pieces[0].type == SPM_UNKNOWN && !strcmp(m->pieces[0].piece, "<unk>") &&
	   m->pieces[1].type == SPM_CONTROL && m->pieces[3].type == SPM_BYTE &&
	   !strcmp(m->pieces[3].piece, "<0x00>"), "%s: <unk>, <s>, <0x00> where Llama has them", name);
	ok(!strcmp(m->normalizer.name.s, "identity") && m->normalizer.add_dummy_prefix &&
	   m->normalizer.remove_extra_whitespaces == extra_ws, "%s: identity normalizer, dummy prefix, remove_extra_whitespaces %d", name, extra_ws);
	uint8_t *out = spm_serialize(m, &len2);
	ok(len2 == len && !memcmp(out, buf, len), "%s: load then save gives the same bytes (%zu vs %zu)", name, len2, len);
	/* every prefix shorter than the whole is either an error or a smaller model, never a crash */
	int bad = 0;
	for (size_t cut = 1; cut < len; cut += len / 97 + 1) {
		spm_model *t = spm_parse(buf, cut, &err);
		if (t && t->n_pieces >= m->n_pieces) bad++;
		spm_free(t);
	}
	ok(!bad, "%s: truncated copies never parse as the whole model", name);
	free(out);
	spm_free(m);
	free(buf);
}

int main(void) {
	round_trip("tokenizer.model", 32000, 0);
	round_trip("tok512.model", 512, 1);

	const char *err = NULL;
	const uint8_t garbage[] = "this is not a protobuf at all, just text\n";
	spm_model *g = spm_parse(garbage, sizeof garbage - 1, &err);
	ok(!g && err, "text is rejected");
	printf("# %s\n", err ? err : "");
	const uint8_t cut[] = { 0x0a, 0x20, 0x0a, 0x05, '<', 'u' };  /* pieces field longer than the data */
	err = NULL;
	g = spm_parse(cut, sizeof cut, &err);
	ok(!g && err && strstr(err, "truncated"), "a cut field says truncated");
	err = NULL;
	ok(!spm_parse(garbage, 0, &err) && err, "an empty file is rejected");

	/* built from scratch, saved, read back */
	spm_model *m = spm_new();
	spm_add_piece(m, "<unk>", 0, SPM_UNKNOWN);
	spm_add_piece(m, "<s>", 0, SPM_CONTROL);
	spm_add_piece(m, "</s>", 0, SPM_CONTROL);
	spm_add_piece(m, "▁the", -1.5f, SPM_NORMAL);
	m->trainer.vocab_size = 4;
	m->trainer.pad_id = -1;
	m->trainer.byte_fallback = 1;
	spm_set_str(&m->trainer.model_prefix, "scratch");
	size_t n, n2;
	uint8_t *b = spm_serialize(m, &n);
	spm_model *r = spm_parse(b, n, &err);
	ok(r && r->n_pieces == 4 && !strcmp(r->pieces[3].piece, "▁the") && r->pieces[3].score == -1.5f &&
	   r->pieces[3].type == SPM_NORMAL && r->pieces[0].type == SPM_UNKNOWN, "a new model reads back its pieces");
	ok(r && r->trainer.pad_id == -1 && r->trainer.vocab_size == 4 && r->trainer.model_type == SPM_BPE &&
	   r->trainer.byte_fallback && spm_trainer_has(&r->trainer, 43) && !strcmp(r->trainer.model_prefix.s, "scratch"),
	   "a new model reads back its trainer spec (negative pad_id included)");
	uint8_t *b2 = r ? spm_serialize(r, &n2) : NULL;
	ok(b2 && n2 == n && !memcmp(b, b2, n), "a new model round-trips byte for byte");
	free(b); free(b2);

	/* spm_new writes the fields spm_train writes */
	spm_model *u = spm_load("tests/data/tok_unigram.model");
	int same = u->trainer.raw.n == m->trainer.raw.n && !u->has_denormalizer && !m->has_denormalizer;
	for (int f = 1; f < 64; f++) {
		int repeated = f == 1 || f == 5 || f == 30 || f == 31;   /* present by count */
		if (!repeated && spm_trainer_has(&u->trainer, f) != spm_trainer_has(&m->trainer, f)) same = 0;
		if (f <= 6 && spm_normalizer_has(&u->normalizer, f) != spm_normalizer_has(&m->normalizer, f)) same = 0;
	}
	for (size_t i = 0; same && i < u->trainer.raw.n; i++)
		same = u->trainer.raw.f[i].len == m->trainer.raw.f[i].len &&
		       !memcmp(u->trainer.raw.f[i].bytes, m->trainer.raw.f[i].bytes, u->trainer.raw.f[i].len);
	ok(same, "spm_new marks present the fields Debian's spm_train writes");
	ok(u->pieces[3].has == 3 && u->pieces[0].has == 7, "spm_train leaves the type of normal pieces unset, as spm_add_piece does");
	spm_free(u);
	spm_free(m); spm_free(r);
	return done_testing();
}
