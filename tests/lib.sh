# tests/lib.sh: TAP helpers for shell tests, in the spirit of git's t/test-lib.sh.
# Source it from a test; each test runs in a fresh scratch directory $T with the
# tools of bin/ (or $LMKIT_BIN) first on PATH and ASSETS pointing at ../shared/assets.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$(cd "$ROOT/${LMKIT_BIN:-bin}" && pwd)
PATH="$BIN:$PATH"
ASSETS=${LMKIT_ASSETS:-$ROOT/../shared/assets}
T=$(mktemp -d "${TMPDIR:-/tmp}/lmkit-test.XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T"
_n=0 _fail=0

# ok DESC CMD...: run CMD; pass when it exits 0
ok() { d=$1; shift; _n=$((_n + 1)); if "$@" >"$T/.out" 2>"$T/.err"; then echo "ok $_n - $d"; else _fail=$((_fail + 1)); echo "not ok $_n - $d"; sed 's/^/#   /' "$T/.err" | head -20; fi; }
# fails DESC CMD...: run CMD; pass when it exits non-zero (and did not crash)
fails() { d=$1; shift; _n=$((_n + 1)); "$@" >"$T/.out" 2>"$T/.err"; rc=$?; if [ $rc -ne 0 ] && [ $rc -lt 128 ]; then echo "ok $_n - $d"; else _fail=$((_fail + 1)); echo "not ok $_n - $d (exit $rc)"; sed 's/^/#   /' "$T/.err" | head -20; fi; }
# is DESC GOT WANT
is() { _n=$((_n + 1)); if [ "$2" = "$3" ]; then echo "ok $_n - $1"; else _fail=$((_fail + 1)); echo "not ok $_n - $1"; echo "#   got:  '$2'"; echo "#   want: '$3'"; fi; }
# stderr_has DESC PATTERN: the last ok/fails command's stderr matches PATTERN (grep -E)
stderr_has() { _n=$((_n + 1)); if grep -qE "$2" "$T/.err"; then echo "ok $_n - $1"; else _fail=$((_fail + 1)); echo "not ok $_n - $1"; sed 's/^/#   stderr: /' "$T/.err" | head -5; fi; }
# fails_cleanly CMD...: run CMD and set why to what is wrong with how it
# failed (an exit status outside 1..127, not one line on standard error);
# verdict DESC: ok when why is empty, else not ok with why and CMD's stderr
fails_cleanly() { "$@" >"$T/.out" 2>"$T/.err"; _rc=$? why=; [ $_rc -ge 1 ] && [ $_rc -le 127 ] || why="exit status $_rc"; [ "$(wc -l < "$T/.err")" -eq 1 ] || why="$why; not one line on stderr"; }
verdict() { _n=$((_n + 1)); if [ -z "$why" ]; then echo "ok $_n - $1"; else _fail=$((_fail + 1)); echo "not ok $_n - $1 ($why)"; sed 's/^/#   /' "$T/.err" | head -20; fi; }
# recurrence_shard N VOCAB SEED: an lmkit token shard (docs/FORMATS.md) of N
# 16-bit tokens from a noisy linear recurrence (learnable, so a loss falls), one document
recurrence_shard() {
	perl -e 'my ($n, $v, $seed) = @ARGV; srand($seed); my ($x, @t) = (1);
		for (1 .. $n) { $x = ($x * 7 + 3 + int(rand(3))) % $v; push @t, $x }
		print pack("a8 V6 Q< Q< a16", "LMKSHARD", 1, 64, $v, 2, 0, 0, $n, 1, ""), pack("v*", @t), pack("Q<", 0)' "$@"
}
skip_all() { echo "1..0 # SKIP $1"; exit 0; }
need_assets() { [ -r "$ASSETS/$1" ] || skip_all "no $ASSETS/$1"; }
done_testing() { echo "1..$_n"; [ $_fail -eq 0 ]; }
