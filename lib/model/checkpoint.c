/* checkpoint: safetensors files (see docs/FORMATS.md, "Checkpoints").
 *
 * The header is written by hand, not through cJSON, so its key order and
 * number formatting are fixed and identical models give identical bytes. It is
 * read with cJSON and checked against what the config says the file must hold
 * before a single weight is read. */
#include "checkpoint.h"
#include "llama2c.h"
#include "util.h"
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A header larger than this is not one lmkit wrote (safetensors caps it at 100 MB too). */
#define MAX_HEADER (100u << 20)

static int little_endian(void) {
	const uint16_t one = 1;
	return *(const uint8_t *)&one == 1;
}

void ckpt_save(const lm_model *m, const char *path) {
	if (!little_endian()) die("%s: safetensors writing needs a little-endian machine", path);
	const lm_config *c = &m->cfg;
	int n = params_tensors(c, NULL);
	lm_tensor *t = xmalloc(n * sizeof *t);
	params_tensors(c, t);

	cJSON *hdr = cJSON_CreateObject(), *meta = cJSON_AddObjectToObject(hdr, "__metadata__");
	char *cfg = config_to_json(c);
	cJSON_AddStringToObject(meta, "format", "pt");
	cJSON_AddStringToObject(meta, "lmkit_config", cfg);
	free(cfg);
	size_t off = 0;
	for (int i = 0; i < n; i++) {
		size_t bytes = t[i].size * sizeof(float);
		cJSON *e = cJSON_AddObjectToObject(hdr, t[i].name);
		cJSON_AddStringToObject(e, "dtype", "F32");
		cJSON_AddItemToObject(e, "shape", cJSON_CreateIntArray(t[i].shape, t[i].ndim));
		double at[2] = {(double)off, (double)(off + bytes)};   /* exact below 2^53 bytes */
		cJSON_AddItemToObject(e, "data_offsets", cJSON_CreateDoubleArray(at, 2));
		off += bytes;
	}
	char *json = cJSON_PrintUnformatted(hdr);
	if (!json) die("%s: out of memory", path);
	cJSON_Delete(hdr);
	size_t len = strlen(json);
	/* the data that follows starts 8-byte aligned, as the safetensors spec asks */
	size_t padded = len + (8 - (8 + len) % 8) % 8;
	char *h = xrealloc(json, padded);
	memset(h + len, ' ', padded - len);
	len = padded;

	lm_out *o = out_open(path, 0);
	uint64_t hl = len;
	out_write(o, &hl, 8);
	out_write(o, h, len);
	int hd = c->dim / c->n_heads;
	float *tmp = NULL;
	for (int i = 0; i < n; i++) {
		const float *w = m->block + t[i].offset;
		if (t[i].rope_rows) {
			tmp = xrealloc(tmp, t[i].size * sizeof *tmp);
			params_permute_rope(tmp, w, t[i].shape[0], t[i].shape[1], hd, 1);
			w = tmp;
		}
		out_write(o, w, t[i].size * sizeof(float));
	}
	out_close(o);
	free(tmp);
	free(h);
	free(t);
}

int json_uint(const cJSON *j, uint64_t *v) {
	if (!cJSON_IsNumber(j)) return 0;
	double d = j->valuedouble;
	if (!(d >= 0) || d > 9007199254740992.0 || d != (double)(uint64_t)d) return 0;
	*v = (uint64_t)d;
	return 1;
}

/* The weights' size in floating point, which cannot overflow for any config a
 * lying header holds, checked before params_count and params_tensors trust it. */
static double params_bytes_approx(const lm_config *c) {
	double d = c->dim, hd = c->dim / c->n_heads, kv = c->n_kv_heads * hd, h = c->hidden_dim;
	double layer = 2 * d + 2 * d * d + 2 * d * kv + 3 * d * h;
	double head = c->head == LM_HEAD_SCORE ? d : c->tied ? 0 : (double)c->vocab_size * d;
	return 4 * ((double)c->vocab_size * d + head + c->n_layers * layer + d);
}

typedef struct { uint64_t begin, end; const char *name; } span;
static int span_cmp(const void *a, const void *b) {
	const span *x = a, *y = b;
	return x->begin < y->begin ? -1 : x->begin > y->begin;
}

lm_model *ckpt_load(const char *path) {
	if (!little_endian()) die("%s: safetensors reading needs a little-endian machine", path);
	int fd = open_in(path);
	struct stat st;
	if (fstat(fd, &st)) die_errno("%s", path);
	if (S_ISDIR(st.st_mode)) die("%s: is a directory", path);
	if (!S_ISREG(st.st_mode)) die("%s: not a regular file", path);
	uint64_t size = st.st_size, hl;
	if (size < 8) die("%s: not a safetensors file (%llu bytes)", path, (unsigned long long)size);
	read_at(fd, &hl, 8, 0, path);
	if (hl < 2 || hl > MAX_HEADER)
		die("%s: not a safetensors file (header length %llu)", path, (unsigned long long)hl);
	if (hl > size - 8)
		die("%s: truncated: header length %llu but the file has %llu bytes", path,
		    (unsigned long long)hl, (unsigned long long)size);
	char *text = xmalloc(hl + 1);
	read_at(fd, text, hl, 8, path);
	text[hl] = 0;
	if (text[0] != '{') die("%s: not a safetensors file (header is not a JSON object)", path);
	cJSON *root = cJSON_ParseWithLength(text, hl);
	if (!root || !cJSON_IsObject(root)) die("%s: safetensors header is not valid JSON", path);
	uint64_t data_len = size - 8 - hl, data_at = 8 + hl;

	cJSON *meta = cJSON_GetObjectItemCaseSensitive(root, "__metadata__");
	cJSON *cj = meta ? cJSON_GetObjectItemCaseSensitive(meta, "lmkit_config") : NULL;
	if (!cJSON_IsString(cj)) die("%s: no lmkit_config in the header's __metadata__", path);
	lm_config c;
	config_default(&c);
	char what[4096];
	snprintf(what, sizeof what, "%s: lmkit_config", path);
	config_from_json(&c, cj->valuestring, what);
	const char *why = config_finish(&c);
	if (why) die("%s: lmkit_config: %s", path, why);
	/* bound the config before allocating what it asks for: the data must hold it */
	if (params_bytes_approx(&c) != (double)data_len || params_count(&c) * 4 != data_len)
		die("%s: the config needs %zu bytes of weights, the file holds %llu", path,
		    params_count(&c) * 4, (unsigned long long)data_len);

	int n = params_tensors(&c, NULL);
	lm_tensor *t = xmalloc(n * sizeof *t);
	params_tensors(&c, t);
	span *sp = xmalloc(n * sizeof *sp);
	int entries = 0;
	for (cJSON *it = root->child; it; it = it->next)
		if (strcmp(it->string, "__metadata__")) entries++;
	for (int i = 0; i < n; i++) {
		cJSON *e = cJSON_GetObjectItemCaseSensitive(root, t[i].name);
		if (!e) die("%s: tensor %s missing", path, t[i].name);
		cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
		cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
		cJSON *of = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
		if (!cJSON_IsString(dt) || !cJSON_IsArray(sh) || !cJSON_IsArray(of) || cJSON_GetArraySize(of) != 2)
			die("%s: tensor %s: needs dtype, shape and data_offsets", path, t[i].name);
		if (strcmp(dt->valuestring, "F32"))
			die("%s: tensor %s: dtype %s, lmkit reads F32", path, t[i].name, dt->valuestring);
		int nd = cJSON_GetArraySize(sh), good = nd == t[i].ndim;
		for (int d = 0; good && d < nd; d++) {
			uint64_t v;
			good = json_uint(cJSON_GetArrayItem(sh, d), &v) && v == (uint64_t)t[i].shape[d];
		}
		if (!good) {
			if (t[i].ndim == 2)
				die("%s: tensor %s: shape is not [%d, %d]", path, t[i].name, t[i].shape[0], t[i].shape[1]);
			die("%s: tensor %s: shape is not [%d]", path, t[i].name, t[i].shape[0]);
		}
		uint64_t b, en;
		if (!json_uint(cJSON_GetArrayItem(of, 0), &b) || !json_uint(cJSON_GetArrayItem(of, 1), &en) || b > en)
			die("%s: tensor %s: bad data_offsets", path, t[i].name);
		if (en > data_len)
			die("%s: tensor %s: data_offsets [%llu, %llu] beyond the %llu data bytes", path, t[i].name,
			    (unsigned long long)b, (unsigned long long)en, (unsigned long long)data_len);
		if (en - b != t[i].size * sizeof(float))
			die("%s: tensor %s: data_offsets span %llu bytes, its shape needs %zu", path, t[i].name,
			    (unsigned long long)(en - b), t[i].size * sizeof(float));
		sp[i] = (span){b, en, t[i].name};
	}
	if (entries != n) {
		for (cJSON *it = root->child; it; it = it->next) {
			int known = !strcmp(it->string, "__metadata__");
			for (int i = 0; !known && i < n; i++) known = !strcmp(it->string, t[i].name);
			if (!known) die("%s: unexpected tensor %s for this config", path, it->string);
		}
		die("%s: duplicate tensor names in the header", path);
	}
	/* The data buffer must be covered exactly: no gaps, no overlaps. */
	qsort(sp, n, sizeof *sp, span_cmp);
	uint64_t at = 0;
	for (int i = 0; i < n; i++) {
		if (sp[i].begin != at)
			die("%s: tensor %s: data %s", path, sp[i].name, sp[i].begin < at ? "overlaps another tensor" : "leaves a gap");
		at = sp[i].end;
	}
	if (at != data_len) die("%s: %llu bytes after the last tensor", path, (unsigned long long)(data_len - at));

	lm_model *m = model_new(&c);
	int hd = c.dim / c.n_heads;
	float *tmp = NULL;
	for (int i = 0; i < n; i++) {
		cJSON *e = cJSON_GetObjectItemCaseSensitive(root, t[i].name);
		uint64_t b = (uint64_t)cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(e, "data_offsets"), 0)->valuedouble;
		float *w = m->block + t[i].offset;
		if (t[i].rope_rows) {
			tmp = xrealloc(tmp, t[i].size * sizeof *tmp);
			read_at(fd, tmp, t[i].size * sizeof(float), data_at + b, path);
			params_permute_rope(w, tmp, t[i].shape[0], t[i].shape[1], hd, 0);
		} else {
			read_at(fd, w, t[i].size * sizeof(float), data_at + b, path);
		}
	}
	free(tmp);
	free(sp);
	free(t);
	cJSON_Delete(root);
	free(text);
	close(fd);
	return m;
}

int ckpt_sniff(const unsigned char *head, size_t n, unsigned long long file_size) {
	int v = llama2c_sniff(head, n, file_size);
	if (v >= 0) return v ? CKPT_LLAMA2C_V1 : CKPT_LLAMA2C_V0;
	/* a safetensors header is a JSON object right after its 8-byte length */
	if (n >= 9 && head[8] == '{') {
		uint64_t hl;
		memcpy(&hl, head, 8);
		if (hl >= 2 && hl <= MAX_HEADER) return CKPT_SAFETENSORS;
	}
	return CKPT_UNKNOWN;
}

lm_model *model_load(const char *path) {
	int fd = open_in(path);
	struct stat st;
	if (fstat(fd, &st)) die_errno("%s", path);
	if (S_ISDIR(st.st_mode)) die("%s: is a directory", path);
	unsigned char head[LLAMA2C_V1_HEADER];
	ssize_t n = read(fd, head, sizeof head);
	if (n < 0) die_errno("%s", path);
	close(fd);
	switch (ckpt_sniff(head, n, st.st_size)) {
	case CKPT_SAFETENSORS: return ckpt_load(path);
	case CKPT_LLAMA2C_V0: case CKPT_LLAMA2C_V1: return llama2c_load(path);
	}
	/* name the likeliest reason: a damaged llama2.c file or not a model at all */
	if (llama2c_sniff(head, n, 0) >= 0 || (n >= 4 && !memcmp(head, "24ka", 4))) return llama2c_load(path);
	die("%s: not a model (neither a safetensors checkpoint nor a llama2.c model.bin)", path);
}

void model_need_head(const lm_model *m, int head, const char *path) {
	if (m->cfg.head == head) return;
	if (head == LM_HEAD_LM) die("%s: a score (reward) model has no vocabulary head; this needs a language model", path);
	die("%s: a language model, not a score model (make one with lm-rm init)", path);
}
