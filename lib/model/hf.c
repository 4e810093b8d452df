/* hf: Hugging Face Llama checkpoints in (see docs/FORMATS.md).
 *
 * Everything is checked before the model is allocated: config.json gives the
 * lmkit config, which gives the tensor table (params_tensors); every header
 * entry of every file must be one of its tensors (or a rotary inv_freq buffer,
 * which older transformers saved and lmkit recomputes), with its shape, a
 * readable dtype and data inside the file. Then each tensor is read in pieces
 * of about 1 MiB (a head at a time for wq/wk, which are permuted back to
 * lmkit's RoPE layout) and converted into the block. */
#include "hf.h"
#include "checkpoint.h"
#include "util.h"
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* safetensors caps its header at 100 MB */
#define MAX_HEADER (100u << 20)
#define PIECE (1u << 20)

static int ends_with(const char *s, const char *suf) {
	size_t a = strlen(s), b = strlen(suf);
	return a >= b && !strcmp(s + a - b, suf);
}

static const char *base_name(const char *path) {
	const char *b = strrchr(path, '/');
	return b ? b + 1 : path;
}

int hf_is_checkpoint(const char *path) {
	struct stat st;
	if (!stat(path, &st) && S_ISDIR(st.st_mode)) return 1;
	return !strcmp(base_name(path), "config.json") || ends_with(path, ".index.json");
}

static char *join(const char *dir, const char *name) {
	size_t n = strlen(dir) + strlen(name) + 2;
	char *s = xmalloc(n);
	snprintf(s, n, "%s%s%s", dir, ends_with(dir, "/") ? "" : "/", name);
	return s;
}

static int exists(const char *path) {
	struct stat st;
	return !stat(path, &st);
}

static cJSON *parse_json(const char *path) {
	char *text = read_file(path, NULL);
	cJSON *root = cJSON_Parse(text);
	if (!root || !cJSON_IsObject(root)) die("%s: not a JSON object", path);
	free(text);
	return root;
}

/* config.json's keys as lmkit's config keys; `need`: no default in transformers
 * that lmkit could assume. */
static const struct { const char *hf, *lm; int need; } KEYS[] = {
	{"hidden_size", "dim", 1},
	{"intermediate_size", "hidden_dim", 1},
	{"num_hidden_layers", "n_layers", 1},
	{"num_attention_heads", "n_heads", 1},
	{"num_key_value_heads", "n_kv_heads", 0},
	{"vocab_size", "vocab_size", 1},
	{"max_position_embeddings", "max_seq_len", 0},
	{"rms_norm_eps", "norm_eps", 0},
	{"rope_theta", "rope_theta", 0},
	{"tie_word_embeddings", "tied", 0},
};

static void read_config(lm_config *c, const char *path) {
	cJSON *root = parse_json(path);
	config_default(c);
	c->norm_eps = 1e-6f;   /* transformers' LlamaConfig defaults */
	c->max_seq_len = 2048;
	cJSON *a = cJSON_GetObjectItemCaseSensitive(root, "architectures");
	if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != 1 || !cJSON_IsString(a->child))
		die("%s: architectures: needs one name (LlamaForCausalLM or LlamaForSequenceClassification)", path);
	const char *arch = a->child->valuestring;
	if (!strcmp(arch, "LlamaForSequenceClassification")) {
		/* transformers writes id2label; num_labels is what lmkit's export adds */
		cJSON *nl = cJSON_GetObjectItemCaseSensitive(root, "num_labels");
		cJSON *il = cJSON_GetObjectItemCaseSensitive(root, "id2label");
		/* compared as a double: a count past int (1e300) would not convert */
		double labels = cJSON_IsNumber(nl) ? nl->valuedouble : cJSON_IsObject(il) ? cJSON_GetArraySize(il) : 2;
		if (labels != 1)
			die("%s: LlamaForSequenceClassification with %g labels: lmkit reads one (a score model)", path, labels);
		c->head = LM_HEAD_SCORE;
	} else if (strcmp(arch, "LlamaForCausalLM")) {
		die("%s: architecture %s: lmkit reads LlamaForCausalLM and LlamaForSequenceClassification", path, arch);
	}
	cJSON *mt = cJSON_GetObjectItemCaseSensitive(root, "model_type");
	if (mt && !(cJSON_IsString(mt) && !strcmp(mt->valuestring, "llama")))
		die("%s: model_type %s: lmkit reads llama", path, cJSON_IsString(mt) ? mt->valuestring : "(not a string)");
	cJSON *rs = cJSON_GetObjectItemCaseSensitive(root, "rope_scaling");
	if (rs && !cJSON_IsNull(rs)) {
		cJSON *ty = cJSON_GetObjectItemCaseSensitive(rs, "rope_type");
		if (!ty) ty = cJSON_GetObjectItemCaseSensitive(rs, "type");
		die("%s: rope_scaling %s: unsupported (lmkit has plain RoPE)", path,
		    cJSON_IsString(ty) ? ty->valuestring : "(no type)");
	}
	cJSON *act = cJSON_GetObjectItemCaseSensitive(root, "hidden_act");
	if (act && !(cJSON_IsString(act) && !strcmp(act->valuestring, "silu")))
		die("%s: hidden_act %s: lmkit has silu", path, cJSON_IsString(act) ? act->valuestring : "(not a string)");
	static const char *const BIAS[] = {"attention_bias", "mlp_bias"};
	for (int i = 0; i < 2; i++)
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, BIAS[i])))
			die("%s: %s: lmkit's Llama has no biases", path, BIAS[i]);
	for (size_t i = 0; i < sizeof KEYS / sizeof *KEYS; i++) {
		cJSON *v = cJSON_GetObjectItemCaseSensitive(root, KEYS[i].hf);
		char what[4200], num[64];
		snprintf(what, sizeof what, "%s: %s", path, KEYS[i].hf);
		if (!v || cJSON_IsNull(v)) {
			if (KEYS[i].need) die("%s missing", what);
			continue;
		}
		if (cJSON_IsBool(v)) snprintf(num, sizeof num, "%s", cJSON_IsTrue(v) ? "true" : "false");
		else if (!cJSON_IsNumber(v)) die("%s: not a number", what);
		else if (v->valuedouble == floor(v->valuedouble) && fabs(v->valuedouble) < 1e15)
			snprintf(num, sizeof num, "%lld", (long long)v->valuedouble);
		else snprintf(num, sizeof num, "%.17g", v->valuedouble);
		config_set(c, KEYS[i].lm, num, what);
	}
	cJSON *hd = cJSON_GetObjectItemCaseSensitive(root, "head_dim");
	if (cJSON_IsNumber(hd) && c->n_heads > 0 && hd->valuedouble * c->n_heads != c->dim)
		die("%s: head_dim %g: lmkit's is hidden_size / num_attention_heads", path, hd->valuedouble);
	const char *why = config_finish(c);
	if (why) die("%s: %s", path, why);
	cJSON_Delete(root);
}

/* One safetensors file: its header parsed, its data where it starts. */
typedef struct {
	char *path;
	int fd;
	uint64_t data_at, data_len;
	cJSON *root;
} stfile;

static void st_open(stfile *f, char *path) {
	f->path = path;
	f->fd = open_in(path);
	struct stat st;
	if (fstat(f->fd, &st)) die_errno("%s", path);
	if (!S_ISREG(st.st_mode)) die("%s: not a regular file", path);
	uint64_t size = st.st_size, hl;
	if (size < 8) die("%s: not a safetensors file (%llu bytes)", path, (unsigned long long)size);
	read_at(f->fd, &hl, 8, 0, path);
	if (hl < 2 || hl > MAX_HEADER || hl > size - 8)
		die("%s: not a safetensors file (header length %llu, file %llu bytes)", path,
		    (unsigned long long)hl, (unsigned long long)size);
	char *text = xmalloc(hl);
	read_at(f->fd, text, hl, 8, path);
	f->root = cJSON_ParseWithLength(text, hl);
	if (!f->root || !cJSON_IsObject(f->root)) die("%s: safetensors header is not a JSON object", path);
	free(text);
	f->data_at = 8 + hl;
	f->data_len = size - 8 - hl;
}

enum { F32, BF16, F16 };
static const char *const DTYPE[] = {"F32", "BF16", "F16"};
static const int DSIZE[] = {4, 2, 2};

/* Where a tensor of the table lies. */
typedef struct { int file, dtype; uint64_t begin; } where;

static int is_inv_freq(const char *name) { return ends_with(name, "rotary_emb.inv_freq"); }

static float bits_f32(uint32_t b) {
	float f;
	memcpy(&f, &b, 4);
	return f;
}

static float f16_f32(uint16_t h) {
	uint32_t s = (uint32_t)(h & 0x8000) << 16, e = h >> 10 & 0x1f, m = h & 0x3ff;
	if (e == 0x1f) return bits_f32(s | 0x7f800000 | m << 13);
	if (e) return bits_f32(s | (e + 112) << 23 | m << 13);
	if (!m) return bits_f32(s);
	/* subnormal: m·2^-24, normalised into an F32 exponent */
	for (e = 113; !(m & 0x400); e--) m <<= 1;
	return bits_f32(s | e << 23 | (m & 0x3ff) << 13);
}

/* n values of dtype from raw into dst; the index of the first NaN, or -1. */
static long long convert(float *dst, const void *raw, size_t n, int dtype) {
	const uint16_t *h = raw;
	switch (dtype) {
	case F32: memcpy(dst, raw, n * 4); break;
	case BF16: for (size_t i = 0; i < n; i++) dst[i] = bits_f32((uint32_t)h[i] << 16); break;
	case F16: for (size_t i = 0; i < n; i++) dst[i] = f16_f32(h[i]); break;
	}
	for (size_t i = 0; i < n; i++)
		if (isnan(dst[i])) return (long long)i;
	return -1;
}

static int little_endian(void) {
	const uint16_t one = 1;
	return *(const uint8_t *)&one == 1;
}

lm_model *hf_load(const char *path) {
	if (!little_endian()) die("%s: safetensors reading needs a little-endian machine", path);
	struct stat st;
	int isdir = !stat(path, &st) && S_ISDIR(st.st_mode);
	char *dir;
	if (isdir) {
		dir = xstrdup(path);
	} else {
		const char *b = base_name(path);
		dir = b == path ? xstrdup(".") : xstrdup(path);
		if (b != path) dir[b - path] = 0;
	}
	char *cfg_path = join(dir, "config.json");
	/* as transformers looks: the one file first, then the index */
	char *index = NULL, *single = join(dir, "model.safetensors");
	if (!isdir && ends_with(path, ".index.json")) {
		index = xstrdup(path);
	} else if (!exists(single)) {
		index = join(dir, "model.safetensors.index.json");
		if (!exists(index)) die("%s: neither model.safetensors nor model.safetensors.index.json", dir);
	}
	if (index) {
		free(single);
		single = NULL;
	}

	lm_config c;
	read_config(&c, cfg_path);
	int n = params_tensors(&c, NULL);
	lm_tensor *t = xmalloc(n * sizeof *t);
	params_tensors(&c, t);

	/* the files: one, or the index's weight_map's distinct files in order */
	stfile *files = NULL;
	int nf = 0;
	cJSON *idx = NULL, *wm = NULL;
	if (index) {
		idx = parse_json(index);
		wm = cJSON_GetObjectItemCaseSensitive(idx, "weight_map");
		if (!cJSON_IsObject(wm)) die("%s: no weight_map object", index);
		files = xmalloc((cJSON_GetArraySize(wm) + 1) * sizeof *files);
		for (cJSON *e = wm->child; e; e = e->next) {
			if (!cJSON_IsString(e)) die("%s: weight_map: %s: not a file name", index, e->string);
			int seen = 0;
			for (int k = 0; k < nf && !seen; k++) seen = !strcmp(base_name(files[k].path), e->valuestring);
			if (seen) continue;
			if (strchr(e->valuestring, '/')) die("%s: weight_map: %s: not a file in the index's directory", index, e->valuestring);
			char *p = join(dir, e->valuestring);
			if (!exists(p)) die("%s: weight_map names %s, which is missing: %s", index, e->valuestring, strerror(errno));
			st_open(&files[nf++], p);
		}
	} else {
		files = xmalloc(sizeof *files);
		st_open(&files[nf++], single);
	}

	/* every header entry a tensor of the table, each found once */
	where *w = xmalloc(n * sizeof *w);
	for (int i = 0; i < n; i++) w[i].file = -1;
	for (int k = 0; k < nf; k++) {
		for (cJSON *e = files[k].root->child; e; e = e->next) {
			if (!strcmp(e->string, "__metadata__") || is_inv_freq(e->string)) continue;
			int i = 0;
			while (i < n && strcmp(t[i].name, e->string)) i++;
			if (i == n) die("%s: unexpected tensor %s (not in a Llama of this config.json)", files[k].path, e->string);
			if (w[i].file >= 0) die("%s: tensor %s again (also in %s)", files[k].path, e->string, files[w[i].file].path);
			w[i].file = k;
		}
	}
	if (wm) {
		for (cJSON *e = wm->child; e; e = e->next) {
			if (is_inv_freq(e->string)) continue;
			int i = 0;
			while (i < n && strcmp(t[i].name, e->string)) i++;
			if (i == n) die("%s: weight_map: unexpected tensor %s (not in a Llama of this config.json)", index, e->string);
			if (w[i].file >= 0 && strcmp(base_name(files[w[i].file].path), e->valuestring))
				die("%s: weight_map puts %s in %s, it is in %s", index, e->string, e->valuestring, files[w[i].file].path);
		}
	}
	for (int i = 0; i < n; i++) {
		if (wm && !cJSON_GetObjectItemCaseSensitive(wm, t[i].name))
			die("%s: weight_map: tensor %s missing", index, t[i].name);
		if (w[i].file < 0) {
			cJSON *e = wm ? cJSON_GetObjectItemCaseSensitive(wm, t[i].name) : NULL;
			char *p = e ? join(dir, e->valuestring) : xstrdup(files[0].path);
			die("%s: tensor %s missing", p, t[i].name);
		}
		stfile *f = &files[w[i].file];
		cJSON *e = cJSON_GetObjectItemCaseSensitive(f->root, t[i].name);
		cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
		cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
		cJSON *of = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
		if (!cJSON_IsString(dt) || !cJSON_IsArray(sh) || !cJSON_IsArray(of) || cJSON_GetArraySize(of) != 2)
			die("%s: tensor %s: needs dtype, shape and data_offsets", f->path, t[i].name);
		int d = 0;
		while (d < 3 && strcmp(dt->valuestring, DTYPE[d])) d++;
		if (d == 3) die("%s: tensor %s: dtype %s, lmkit reads F32, BF16 or F16", f->path, t[i].name, dt->valuestring);
		w[i].dtype = d;
		int nd = cJSON_GetArraySize(sh), good = nd == t[i].ndim;
		for (int k = 0; good && k < nd; k++) {
			uint64_t v;
			good = json_uint(cJSON_GetArrayItem(sh, k), &v) && v == (uint64_t)t[i].shape[k];
		}
		if (!good) {
			char *s = cJSON_PrintUnformatted(sh);
			if (t[i].ndim == 2)
				die("%s: tensor %s: shape %s, config.json says [%d, %d]", f->path, t[i].name, s ? s : "?",
				    t[i].shape[0], t[i].shape[1]);
			die("%s: tensor %s: shape %s, config.json says [%d]", f->path, t[i].name, s ? s : "?", t[i].shape[0]);
		}
		uint64_t b, en;
		if (!json_uint(cJSON_GetArrayItem(of, 0), &b) || !json_uint(cJSON_GetArrayItem(of, 1), &en) || b > en)
			die("%s: tensor %s: bad data_offsets", f->path, t[i].name);
		if (en > f->data_len)
			die("%s: tensor %s: data_offsets [%llu, %llu] beyond the %llu data bytes", f->path, t[i].name,
			    (unsigned long long)b, (unsigned long long)en, (unsigned long long)f->data_len);
		if (en - b != t[i].size * DSIZE[d])
			die("%s: tensor %s: data_offsets span %llu bytes, its shape in %s needs %zu", f->path, t[i].name,
			    (unsigned long long)(en - b), DTYPE[d], t[i].size * DSIZE[d]);
		w[i].begin = f->data_at + b;
	}

	lm_model *m = model_new(&c);
	int hd = c.dim / c.n_heads;
	void *raw = NULL;
	float *tmp = NULL;
	for (int i = 0; i < n; i++) {
		stfile *f = &files[w[i].file];
		int es = DSIZE[w[i].dtype];
		size_t rows = t[i].ndim == 2 ? (size_t)t[i].shape[0] : 1, cols = t[i].size / rows;
		/* wq/wk a head at a time, the RoPE permutation staying within a head */
		size_t unit = t[i].rope_rows ? (size_t)hd : PIECE / (cols * es);
		if (unit < 1) unit = 1;
		if (unit > rows) unit = rows;
		raw = xrealloc(raw, unit * cols * es);
		if (t[i].rope_rows) tmp = xrealloc(tmp, unit * cols * sizeof *tmp);
		for (size_t r = 0; r < rows; r += unit) {
			size_t nr = rows - r < unit ? rows - r : unit;
			read_at(f->fd, raw, nr * cols * es, w[i].begin + r * cols * es, f->path);
			float *dst = m->block + t[i].offset + r * cols;
			long long bad = convert(t[i].rope_rows ? tmp : dst, raw, nr * cols, w[i].dtype);
			if (bad >= 0)
				die("%s: tensor %s: NaN in its %s data (element %llu)", f->path, t[i].name, DTYPE[w[i].dtype],
				    (unsigned long long)(r * cols + bad));
			if (t[i].rope_rows) params_permute_rope(dst, tmp, (int)nr, (int)cols, hd, 0);
		}
	}
	free(raw);
	free(tmp);
	for (int k = 0; k < nf; k++) {
		close(files[k].fd);
		cJSON_Delete(files[k].root);
		free(files[k].path);
	}
	free(files);
	cJSON_Delete(idx);
	free(w);
	free(t);
	free(index);
	free(cfg_path);
	free(dir);
	return m;
}
