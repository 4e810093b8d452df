/* extsort: sorting fixed-size records in bounded memory. Records are added one
 * by one; when the buffer is full it is sorted and written out as a run to an
 * unlinked temporary file, and the runs are merged as they are read back. All
 * of it stays in memory when it fits. Memory is about mem bytes in either phase. */
#ifndef LM_EXTSORT_H
#define LM_EXTSORT_H
#include <stddef.h>

typedef int (*xs_cmp)(const void *a, const void *b);
typedef struct xsort xsort;

/* tmpdir NULL: $TMPDIR or /tmp. mem must hold at least a few hundred records. */
xsort *xs_new(size_t recsize, xs_cmp cmp, size_t mem, const char *tmpdir);
void xs_add(xsort *s, const void *rec);
/* Records in ascending order, each valid until the next call; NULL at the end. */
const void *xs_next(xsort *s);
size_t xs_runs(const xsort *s);   /* runs written to disk so far */
void xs_free(xsort *s);

#endif
