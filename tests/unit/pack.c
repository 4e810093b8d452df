/* pack: the rows rule (pack.h) for units and for pairs that must share a
 * micro-batch. */
#include "pack.h"
#include "tap.h"
#include "util.h"

int main(int argc, char **argv) {
	lm_init(argc, argv);
	/* units: in order, a new row when the next does not fit, longer than T cut to T */
	uint64_t len[] = {3, 4, 2, 9, 12, 1};
	size_t *row, n = pack_rows(len, 6, 10, &row);
	ok(n == 4 && row[0] == 0 && row[1] == 3 && row[2] == 4 && row[3] == 5 && row[4] == 6,
	   "units 3 4 2 | 9 | 12 (cut to 10) | 1 in rows of 10");
	free(row);

	/* pairs in rows of 10, micro-batches of 2 rows */
	uint64_t pl[] = {3, 4,   2, 2,   6, 7,   5, 5,   9, 8,   1, 1}, at[12];
	size_t rows = pack_pairs(pl, 6, 10, 2, at);
	ok(at[0] == 0 && at[1] == 3, "a pair that fits starts the first row");
	ok(at[2] == 10 && at[3] == 12, "a pair that does not fit what is left starts the next row");
	ok(at[4] == 20 && at[5] == 30, "a pair longer than a row: a row for each side");
	ok(at[6] == 40 && at[7] == 45, "a pair that fills a row exactly");
	ok(at[8] == 60 && at[9] == 70, "split across a micro-batch's end: row 5 is skipped, rows 6 and 7 share one");
	ok(at[10] == 78 && at[11] == 79, "a short pair fills what is left");
	ok(rows == 8, "8 rows (%zu)", rows);
	int same = 1;
	for (int i = 0; i < 6; i++) same &= at[2 * i] / 10 / 2 == at[2 * i + 1] / 10 / 2;
	ok(same, "both sides of every pair in one micro-batch");
	return done_testing();
}
