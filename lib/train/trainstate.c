#include "trainstate.h"
#include "dist.h"
#include "util.h"
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
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

/* The moments from every rank, in order, into the file and its checksum. */
typedef struct sink {
	lm_out *o;
	XXH64_state_t *h;
} sink;

static void put(void *ctx, const float *x, size_t n) {
	sink *k = ctx;
	if (k->o) out_write(k->o, x, n * sizeof *x);
	if (k->h) XXH64_update(k->h, x, n * sizeof *x);
}

/* Layout: magic[8], u32 version 1, u32 JSON length J, J bytes of JSON, the
 * first moments (n floats), the second moments (n floats), u64 XXH64 of all
 * bytes before it. Each rank holds its range of the moments; rank 0 writes. */
void trainstate_save(const char *path, const lm_trainstate *s, const lm_adamw *opt) {
	size_t *at = dist_split(opt->n);
	if (at[dist_rank] != opt->lo || at[dist_rank + 1] != opt->hi)
		die("trainstate_save: the optimizer's shard is not this rank's");
	sink k = {0};
	if (dist_rank == 0) {
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
		k.h = XXH64_createState();
		XXH64_reset(k.h, 0);
		k.o = out_open(path, 0);
		out_write(k.o, head, sizeof head);
		XXH64_update(k.h, head, sizeof head);
		out_write(k.o, json, j);
		XXH64_update(k.h, json, j);
	}
	dist_gather0(opt->m, at, put, &k);
	dist_gather0(opt->v, at, put, &k);
	free(at);
	if (dist_rank) return;
	uint64_t sum = XXH64_digest(k.h);
	XXH64_freeState(k.h);
	uint8_t tail[8];
	for (int i = 0; i < 8; i++) tail[i] = sum >> 8 * i;
	out_write(k.o, tail, 8);
	out_close(k.o);
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

/* Bytes [a, b) of the file that fall in [lo, hi) go to dst + (x - lo). */
static void part(uint8_t *dst, uint64_t lo, uint64_t hi, const uint8_t *src, uint64_t a, uint64_t b) {
	uint64_t x = a > lo ? a : lo, y = b < hi ? b : hi;
	if (x < y) memcpy(dst + (x - lo), src + (x - a), y - x);
}

void trainstate_load(const char *path, lm_trainstate *s, lm_adamw *opt) {
	int fd = open_in(path);
	struct stat st;
	if (fstat(fd, &st)) die_errno("%s", path);
	uint64_t len = st.st_size;
	uint8_t head[16];
	if (len < 24) die("%s: not an lmkit training state", path);
	read_at(fd, head, 16, 0, path);
	if (memcmp(head, TRAINSTATE_MAGIC, 8)) die("%s: not an lmkit training state", path);
	if (get32(head + 8) != 1) die("%s: unsupported training state version %u", path, get32(head + 8));
	uint64_t j = get32(head + 12), moments = 2 * (uint64_t)opt->n * sizeof(float);
	if (len != 16 + j + moments + 8)
		die("%s: truncated or made for another model (%llu bytes, expected %llu for %zu parameters)", path,
		    (unsigned long long)len, (unsigned long long)(16 + j + moments + 8), opt->n);
	char *json = xmalloc(j + 1);
	read_at(fd, json, j, 16, path);
	json[j] = 0;
	/* read through once for the checksum, keeping this optimizer's range of
	 * each moment: never the whole file in memory */
	uint64_t m0 = 16 + j + opt->lo * sizeof(float), v0 = m0 + opt->n * sizeof(float),
		 mine = (opt->hi - opt->lo) * sizeof(float), sum = 0;
	size_t chunk = 1 << 22;
	uint8_t *buf = xmalloc(chunk), tail[8];
	XXH64_state_t *h = XXH64_createState();
	XXH64_reset(h, 0);
	for (uint64_t a = 0; a < len - 8; a += chunk) {
		uint64_t b = a + chunk < len - 8 ? a + chunk : len - 8;
		read_at(fd, buf, b - a, a, path);
		XXH64_update(h, buf, b - a);
		part((uint8_t *)opt->m, m0, m0 + mine, buf, a, b);
		part((uint8_t *)opt->v, v0, v0 + mine, buf, a, b);
	}
	read_at(fd, tail, 8, len - 8, path);
	close(fd);
	for (int i = 0; i < 8; i++) sum |= (uint64_t)tail[i] << 8 * i;
	if (XXH64_digest(h) != sum) die("%s: corrupt training state (checksum mismatch)", path);
	XXH64_freeState(h);
	free(buf);
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
	const float *m = opt->m, *v = opt->v;
	for (size_t i = 0; i < opt->hi - opt->lo; i++) {
		if (!isfinite(m[i]))
			die("%s: training state: AdamW first moment of parameter %zu is %g, not a finite number", path,
			    opt->lo + i, m[i]);
		/* a mean of squares */
		if (!(v[i] >= 0 && v[i] < INFINITY))
			die("%s: training state: AdamW second moment of parameter %zu is %g, not a finite number >= 0",
			    path, opt->lo + i, v[i]);
	}
	s->step = c[0];
	s->tokens = c[1];
	opt->t = c[2];
	for (int i = 0; i < 4; i++) s->data_rng.s[i] = r[i];
	s->params_hash = hash;
	cJSON_Delete(root);
	free(json);
}
