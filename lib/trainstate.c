#include "trainstate.h"
#include "util.h"
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

uint64_t params_hash(const lm_model *m) { return XXH64(m->block, m->n_params * sizeof(float), 0); }

char *trainstate_path(const char *ckpt) {
	size_t n = strlen(ckpt) + 7;
	char *p = xmalloc(n);
	snprintf(p, n, "%s.state", ckpt);
	return p;
}

static void put32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = v >> 8 * i; }
static uint32_t get32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }

/* Layout: magic[8], u32 version 1, u32 JSON length J, J bytes of JSON, the
 * first moments (n floats), the second moments (n floats), u64 XXH64 of all
 * bytes before it. */
void trainstate_save(const char *path, const lm_trainstate *s, const lm_adamw *opt) {
	char json[1024];
	int j = snprintf(json, sizeof json,
			 "{\"step\":%lld,\"tokens\":%lld,\"adam_t\":%lld,\"n_params\":%zu,"
			 "\"data_rng\":[\"%016llx\",\"%016llx\",\"%016llx\",\"%016llx\"],\"params_xxh64\":\"%016llx\"}",
			 s->step, s->tokens, opt->t, opt->n, (unsigned long long)s->data_rng.s[0],
			 (unsigned long long)s->data_rng.s[1], (unsigned long long)s->data_rng.s[2],
			 (unsigned long long)s->data_rng.s[3], (unsigned long long)s->params_hash);
	uint8_t head[16];
	memcpy(head, TRAINSTATE_MAGIC, 8);
	put32(head + 8, 1);
	put32(head + 12, (uint32_t)j);
	XXH64_state_t *h = XXH64_createState();
	XXH64_reset(h, 0);
	lm_out *o = out_open(path, 0);
	out_write(o, head, sizeof head);
	XXH64_update(h, head, sizeof head);
	out_write(o, json, j);
	XXH64_update(h, json, j);
	/* m and v are one allocation (adamw.c): both moments in one write */
	out_write(o, opt->m, 2 * opt->n * sizeof(float));
	XXH64_update(h, opt->m, 2 * opt->n * sizeof(float));
	uint64_t sum = XXH64_digest(h);
	XXH64_freeState(h);
	uint8_t tail[8];
	for (int i = 0; i < 8; i++) tail[i] = sum >> 8 * i;
	out_write(o, tail, 8);
	out_close(o);
}

/* A JSON number that is a whole number from 0 to 2^53 (exact in a double). */
static int count(const cJSON *j, long long *v) {
	if (!cJSON_IsNumber(j)) return 0;
	double d = j->valuedouble;
	if (!(d >= 0 && d <= 9007199254740992.0) || d != floor(d)) return 0;
	*v = (long long)d;
	return 1;
}

/* Exactly 16 hex digits: strtoull alone would also take a sign, spaces and 0x. */
static int hex64(const cJSON *e, uint64_t *v) {
	if (!cJSON_IsString(e) || strlen(e->valuestring) != 16 ||
	    strspn(e->valuestring, "0123456789abcdefABCDEF") != 16)
		return 0;
	*v = strtoull(e->valuestring, NULL, 16);
	return 1;
}

static _Noreturn void bad_field(const char *path, const char *key, const cJSON *v, const char *why) {
	char *text = v ? cJSON_PrintUnformatted(v) : NULL;
	die("%s: training state: %s %s: %s", path, key, text ? text : "missing", why);
}

void trainstate_load(const char *path, lm_trainstate *s, lm_adamw *opt) {
	size_t len;
	uint8_t *b = (uint8_t *)read_file(path, &len);
	if (len < 24 || memcmp(b, TRAINSTATE_MAGIC, 8)) die("%s: not an lmkit training state", path);
	if (get32(b + 8) != 1) die("%s: unsupported training state version %u", path, get32(b + 8));
	uint64_t j = get32(b + 12), moments = 2 * (uint64_t)opt->n * sizeof(float);
	if (len != 16 + j + moments + 8)
		die("%s: truncated or made for another model (%zu bytes, expected %llu for %zu parameters)", path, len,
		    (unsigned long long)(16 + j + moments + 8), opt->n);
	uint64_t sum = 0;
	for (int i = 0; i < 8; i++) sum |= (uint64_t)b[len - 8 + i] << 8 * i;
	if (XXH64(b, len - 8, 0) != sum) die("%s: corrupt training state (checksum mismatch)", path);
	char *json = xmalloc(j + 1);
	memcpy(json, b + 16, j);
	json[j] = 0;
	cJSON *root = cJSON_Parse(json);
	if (!cJSON_IsObject(root)) die("%s: corrupt training state header", path);
	/* a good checksum says the file is whole, not that its values make sense: each is checked */
	static const char *const counts[] = {"step", "tokens", "adam_t", "n_params"};
	long long c[4];
	for (int i = 0; i < 4; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, counts[i]);
		if (!count(v, &c[i])) bad_field(path, counts[i], v, "not a whole number from 0 to 2^53");
	}
	if ((unsigned long long)c[3] != opt->n) die("%s: made for %lld parameters, the model has %zu", path, c[3], opt->n);
	const cJSON *rng = cJSON_GetObjectItemCaseSensitive(root, "data_rng"),
		    *ph = cJSON_GetObjectItemCaseSensitive(root, "params_xxh64");
	uint64_t r[4], hash;
	int good = cJSON_IsArray(rng) && cJSON_GetArraySize(rng) == 4;
	for (int i = 0; good && i < 4; i++) good = hex64(cJSON_GetArrayItem(rng, i), &r[i]);
	if (!good) bad_field(path, "data_rng", rng, "not four strings of 16 hex digits");
	if (!hex64(ph, &hash)) bad_field(path, "params_xxh64", ph, "not a string of 16 hex digits");
	/* copied first: at 16 + J the floats need not be aligned */
	memcpy(opt->m, b + 16 + j, moments);
	const float *m = opt->m, *v = opt->v;
	for (size_t i = 0; i < opt->n; i++) {
		if (!isfinite(m[i]))
			die("%s: training state: AdamW first moment of parameter %zu is %g, not a finite number", path, i,
			    m[i]);
		/* a mean of squares */
		if (!(v[i] >= 0 && v[i] < INFINITY))
			die("%s: training state: AdamW second moment of parameter %zu is %g, not a finite number >= 0",
			    path, i, v[i]);
	}
	s->step = c[0];
	s->tokens = c[1];
	opt->t = c[2];
	for (int i = 0; i < 4; i++) s->data_rng.s[i] = r[i];
	s->params_hash = hash;
	cJSON_Delete(root);
	free(json);
	free(b);
}
