/* spm: SentencePiece's ModelProto (the .model file) in memory, read and written
 * with a small hand-written protobuf wire-format codec (no protobuf library).
 *
 * Fields lmkit uses are decoded into the structs below; every other field is
 * kept as its raw wire bytes, so load followed by save reproduces the file byte
 * for byte (protobuf writers emit fields in field-number order, and so does
 * spm_save, interleaving the kept fields by number). The field numbers are
 * those of sentencepiece_model.proto. */
#ifndef LM_SPM_H
#define LM_SPM_H
#include <stddef.h>
#include <stdint.h>

enum spm_piece_type {
	SPM_NORMAL = 1, SPM_UNKNOWN = 2, SPM_CONTROL = 3,
	SPM_USER_DEFINED = 4, SPM_UNUSED = 5, SPM_BYTE = 6,
};
enum spm_model_type { SPM_UNIGRAM = 1, SPM_BPE = 2, SPM_WORD = 3, SPM_CHAR = 4 };

/* Fields of a message that spm does not decode, as raw wire bytes (tag included). */
typedef struct spm_raw_field {
	uint32_t number;
	size_t len;
	uint8_t *bytes;
} spm_raw_field;
typedef struct spm_raw {
	size_t n;
	spm_raw_field *f;
} spm_raw;

/* A string of len bytes (may hold NULs, e.g. precompiled_charsmap), NUL-terminated. */
typedef struct spm_str {
	char *s;
	size_t len;
} spm_str;

typedef struct spm_piece {
	char *piece;          /* UTF-8, "▁" (U+2581) for a space; NUL-terminated */
	float score;
	int type;             /* enum spm_piece_type */
	uint32_t has;         /* bit 0 piece, 1 score, 2 type: present in the file */
	spm_raw raw;
} spm_piece;

/* TrainerSpec (ModelProto field 2). Which fields the file holds is kept in
 * has (bits private to spm.c); test one with spm_trainer_has(). */
typedef struct spm_trainer_spec {
	spm_str *input; size_t n_input;                  /* 1, repeated */
	spm_str model_prefix;                            /* 2 */
	int32_t model_type;                              /* 3, enum spm_model_type */
	int32_t vocab_size;                              /* 4 */
	spm_str *accept_language; size_t n_accept_language; /* 5, repeated */
	int32_t self_test_sample_size;                   /* 6 */
	spm_str input_format;                            /* 7 */
	float character_coverage;                        /* 10 */
	uint64_t input_sentence_size;                    /* 11 */
	int32_t seed_sentencepiece_size;                 /* 14 */
	float shrinking_factor;                          /* 15 */
	int32_t num_threads;                             /* 16 */
	int32_t num_sub_iterations;                      /* 17 */
	int32_t max_sentence_length;                     /* 18 */
	int32_t shuffle_input_sentence;                  /* 19, bool */
	int32_t max_sentencepiece_length;                /* 20 */
	int32_t split_by_unicode_script;                 /* 21, bool */
	int32_t split_by_whitespace;                     /* 22, bool */
	int32_t split_by_number;                         /* 23, bool */
	int32_t treat_whitespace_as_suffix;              /* 24, bool */
	int32_t split_digits;                            /* 25, bool */
	int32_t allow_whitespace_only_pieces;            /* 26, bool */
	spm_str *control_symbols; size_t n_control_symbols;           /* 30, repeated */
	spm_str *user_defined_symbols; size_t n_user_defined_symbols; /* 31, repeated */
	int32_t vocabulary_output_piece_score;           /* 32, bool */
	int32_t hard_vocab_limit;                        /* 33, bool */
	int32_t use_all_vocab;                           /* 34, bool */
	int32_t byte_fallback;                           /* 35, bool */
	spm_str required_chars;                          /* 36 */
	int32_t unk_id, bos_id, eos_id, pad_id;          /* 40, 41, 42, 43 (-1: none) */
	spm_str unk_surface;                             /* 44 */
	spm_str unk_piece, bos_piece, eos_piece, pad_piece; /* 45, 46, 47, 48 */
	int32_t train_extremely_large_corpus;            /* 49, bool */
	uint64_t has;
	spm_raw raw;
} spm_trainer_spec;

/* NormalizerSpec (ModelProto fields 3 and 5). */
typedef struct spm_normalizer_spec {
	spm_str name;                       /* 1: "identity", "nmt_nfkc", ... */
	spm_str precompiled_charsmap;       /* 2: bytes; empty for identity */
	int32_t add_dummy_prefix;           /* 3, bool */
	int32_t remove_extra_whitespaces;   /* 4, bool */
	int32_t escape_whitespaces;         /* 5, bool */
	spm_str normalization_rule_tsv;     /* 6 */
	uint64_t has;
	spm_raw raw;
} spm_normalizer_spec;

typedef struct spm_model {
	spm_piece *pieces;                  /* 1, repeated */
	size_t n_pieces;
	spm_trainer_spec trainer;           /* 2 */
	spm_normalizer_spec normalizer;     /* 3 */
	spm_normalizer_spec denormalizer;   /* 5 */
	int has_trainer, has_normalizer, has_denormalizer;
	spm_raw raw;                        /* e.g. 4: self_test_data */
} spm_model;

/* A new BPE model with SentencePiece's defaults and the same fields present
 * that Debian's spm_train writes (tests/unit/tok_spm.c checks this against
 * tests/data/tok_unigram.model); set the fields, append pieces with
 * spm_add_piece, then spm_save. */
spm_model *spm_new(void);
void spm_add_piece(spm_model *m, const char *piece, float score, int type);
/* Set a string field (copies s). */
void spm_set_str(spm_str *f, const char *s);

/* Parse a ModelProto from memory or a file; returns NULL and sets *err to a
 * static reason ("truncated", "not a SentencePiece model", ...) when it is not
 * one. spm_load dies with "path: reason" instead. */
spm_model *spm_parse(const uint8_t *buf, size_t len, const char **err);
spm_model *spm_load(const char *path);
/* Serialize; *len gets the size; malloc'd. */
uint8_t *spm_serialize(const spm_model *m, size_t *len);
/* Write atomically (lib/base/util.h out_open); "-" is stdout. */
void spm_save(const spm_model *m, const char *path);
void spm_free(spm_model *m);

/* Whether field number fno of the trainer or normalizer spec is present. */
int spm_trainer_has(const spm_trainer_spec *t, int fno);
int spm_normalizer_has(const spm_normalizer_spec *n, int fno);

#endif
