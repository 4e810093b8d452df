/* dedup: lm-dedup's three stages, shared by its one-stream mode (all in
 * memory) and its sharded mode (files between the stages), so that both give
 * the same bytes. See docs/DEDUP.md for the method, docs/FORMATS.md for files.
 *
 *   sig      each document of a shard -> one fixed record (keys, exact hash,
 *            LSH band keys, b-bit fingerprint) + its id: a "sig file"
 *   clusters all sig files -> per band, records sorted by band key in bounded
 *            memory (extsort.h); candidates sharing a bucket confirmed by
 *            fingerprint agreement, joined by union-find; the survivor of each
 *            cluster is its least (key, tie, position) member -> "clusters
 *            file": per shard, the documents to drop with their removed record
 *   filter   a shard and its part of the clusters file -> the survivors */
#ifndef LM_DEDUP_H
#define LM_DEDUP_H
#include "docs.h"
#include "minhash.h"
#include <stdint.h>

/* A growable byte buffer or an output file: where a stage writes. */
typedef struct dd_sink {
	lm_out *out;                 /* NULL: memory */
	char *p; size_t n, cap;
} dd_sink;
void dd_sink_write(dd_sink *s, const void *p, size_t n);

enum { DD_HAS_ID = 1, DD_HAS_SIG = 2 };
typedef struct dd_rec {
	uint64_t key;       /* XXH3 of the id, or of the text for a document without one */
	uint64_t tie;       /* XXH3 of the raw line: orders documents with equal keys */
	uint64_t exact;     /* XXH3 of the normalized text */
	uint64_t id_off;    /* the id's bytes in the id section */
	uint32_t id_len, flags;
	uint64_t band[MH_BANDS];
	uint8_t fp[MH_PERM];
} dd_rec;

/* sig stage */
typedef struct dd_sigw dd_sigw;
dd_sigw *dd_sigw_open(dd_sink *sink, int exact_only, int ngram);
void dd_sigw_add(dd_sigw *w, const lm_doc *doc);
void dd_sigw_close(dd_sigw *w);            /* writes the id section and trailer, frees */

/* a sig file (or a sig image in memory) being read */
typedef struct dd_sig {
	const char *path;
	int fd;
	const char *mem; size_t memlen;
	uint32_t flags, ngram;
	uint64_t ndocs, digest, id_start, id_bytes;   /* the id section: [id_start, id_start + id_bytes) */
} dd_sig;
dd_sig *dd_sig_open(const char *path);
dd_sig *dd_sig_mem(const char *p, size_t n, const char *name);
void dd_sig_close(dd_sig *s);

/* clusters stage. threshold: the estimated Jaccard similarity that confirms a
 * candidate pair. mem bounds the memory used (bytes), tmpdir the spills. */
typedef struct dd_stats { long long docs, removed, exact, near, clusters, runs; } dd_stats;
void dd_clusters(dd_sig **sig, int nsig, double threshold, size_t mem, const char *tmpdir,
                 dd_sink *out, dd_stats *st);

/* filter stage: shard k of a clusters file (or image) */
typedef struct dd_drop { uint64_t doc; const char *line; uint32_t len; } dd_drop;
typedef struct dd_filter {
	char *data;              /* the shard's section */
	dd_drop *drop; uint64_t ndrop, next;
	uint64_t ndocs, digest;  /* what the shard must hold */
	uint64_t seen;           /* documents passed so far */
	void *state;             /* digest of the documents seen */
} dd_filter;
dd_filter *dd_filter_open(const char *path, const char *mem, size_t memlen, int shard);
/* 1 when the next document is to be dropped; *rm, *rmlen: its removed record */
int dd_filter_next(dd_filter *f, const char *line, size_t len, const char **rm, size_t *rmlen);
/* "" when the documents seen are those the clusters file was made from, else why not */
const char *dd_filter_check(const dd_filter *f);
void dd_filter_close(dd_filter *f);

/* The digest of a shard: XXH3 over the hashes of its raw lines in order. */
uint64_t dd_line_hash(const char *line, size_t len);

/* Exact duplicates of one input (plain or gzip file, or "-"), in two passes
 * and memory for about 40 bytes a document (and the ids, with rm): the
 * survivors' lines to out, a removed record each to rm (NULL: none), both
 * exactly as the sig, clusters and filter stages with --exact would write
 * them. An input that cannot be read twice (standard input, a pipe, gzip) has
 * its documents' lines copied to an unlinked file in tmpdir (NULL: $TMPDIR or
 * /tmp) for the second pass. */
void dd_exact(const char *in, int plain, int skip_bad, const char *tmpdir, lm_out *out, lm_out *rm,
              dd_stats *st, long long *bytes, long long *bad);

#endif
