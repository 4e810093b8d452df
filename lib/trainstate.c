#include "trainstate.h"
#include "util.h"
#include <cjson/cJSON.h>
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

static int hex64(const cJSON *a, int i, uint64_t *v) {
	const cJSON *e = cJSON_GetArrayItem(a, i);
	char *end;
	if (!cJSON_IsString(e) || strlen(e->valuestring) != 16) return 0;
	*v = strtoull(e->valuestring, &end, 16);
	return *end == 0;
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
	const cJSON *step = cJSON_GetObjectItem(root, "step"), *tok = cJSON_GetObjectItem(root, "tokens"),
		    *at = cJSON_GetObjectItem(root, "adam_t"), *np = cJSON_GetObjectItem(root, "n_params"),
		    *rng = cJSON_GetObjectItem(root, "data_rng"), *ph = cJSON_GetObjectItem(root, "params_xxh64");
	uint64_t r[4], hash;
	if (!root || !cJSON_IsNumber(step) || !cJSON_IsNumber(tok) || !cJSON_IsNumber(at) || !cJSON_IsNumber(np) ||
	    !cJSON_IsArray(rng) || cJSON_GetArraySize(rng) != 4 || !hex64(rng, 0, &r[0]) || !hex64(rng, 1, &r[1]) ||
	    !hex64(rng, 2, &r[2]) || !hex64(rng, 3, &r[3]) || !cJSON_IsString(ph) ||
	    strlen(ph->valuestring) != 16)
		die("%s: corrupt training state header", path);
	if ((size_t)np->valuedouble != opt->n)
		die("%s: made for %.0f parameters, the model has %zu", path, np->valuedouble, opt->n);
	hash = strtoull(ph->valuestring, NULL, 16);
	s->step = (long long)step->valuedouble;
	s->tokens = (long long)tok->valuedouble;
	for (int i = 0; i < 4; i++) s->data_rng.s[i] = r[i];
	s->params_hash = hash;
	opt->t = (long long)at->valuedouble;
	memcpy(opt->m, b + 16 + j, moments);
	cJSON_Delete(root);
	free(json);
	free(b);
}
