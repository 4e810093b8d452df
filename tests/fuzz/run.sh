#!/bin/sh
# run.sh SECONDS NAME...: run each harness build-fuzz/fuzz/NAME (make fuzz
# builds them) for SECONDS, or until FUZZ_RUNS executions when that is set
# and comes first, one after another, each a single process. New
# inputs go to build-fuzz/corpus/NAME, crashes to build-fuzz/crash/NAME-*,
# the log to build-fuzz/NAME.log. Prints one line per harness: executions
# and coverage from libFuzzer's final lines; exits 1 when any found something.
secs=${1:?usage: run.sh SECONDS NAME...}
shift
failed=
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
for h in "$@"; do
	mkdir -p build-fuzz/corpus/$h build-fuzz/crash
	build-fuzz/fuzz/$h -max_total_time="$secs" -runs="${FUZZ_RUNS:--1}" -print_final_stats=1 -rss_limit_mb=2048 \
		-artifact_prefix=build-fuzz/crash/$h- build-fuzz/corpus/$h tests/fuzz/$h \
		> build-fuzz/$h.log 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' build-fuzz/$h.log | tail -n 1)
	cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' build-fuzz/$h.log | tail -n 1)
	if [ $rc -eq 0 ]; then
		echo "$h: ${runs:-?} executions in $(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' build-fuzz/$h.log | tail -n 1) s, $cov"
	else
		failed="$failed $h"
		echo "$h: FOUND something after ${runs:-?} executions (exit $rc), $cov; see build-fuzz/$h.log:"
		grep -m 3 -E 'ERROR|runtime error|SUMMARY|Test unit written' build-fuzz/$h.log | sed 's/^/  /'
	fi
done
[ -z "$failed" ] || { echo "findings:$failed"; exit 1; }
