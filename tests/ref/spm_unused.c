/* spm_unused IN OUT: a copy of a SentencePiece model with every 7th normal
 * piece longer than two bytes marked UNUSED, so that tests cover
 * SentencePiece's resegmentation of unused pieces. Built and run by
 * tests/ref/spm_ids.sh. */
#include "spm.h"
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
	if (argc != 3) { fprintf(stderr, "usage: spm_unused IN OUT\n"); return 2; }
	spm_model *m = spm_load(argv[1]);
	for (size_t i = 0; i < m->n_pieces; i++)
		if (m->pieces[i].type == SPM_NORMAL && strlen(m->pieces[i].piece) > 2 && i % 7 == 0) {
			m->pieces[i].type = SPM_UNUSED;
			m->pieces[i].has |= 4;   /* the type field is now written */
		}
	spm_save(m, argv[2]);
	spm_free(m);
	return 0;
}
