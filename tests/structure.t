#!/bin/sh
# lib/ has no cycle: no object uses, through others, a symbol of an object
# that uses it (scripts/structure.sh draws the layers).
. "$(dirname "$0")/lib.sh"
command -v nm >/dev/null || skip_all "no nm"
# the objects of the tree the tools under test were built in (make check and check-asan say which)
ok "no object of lib/ uses itself through others" sh "$ROOT/scripts/structure.sh" "$ROOT/${LMKIT_BUILD:-build}"
sed 's/^/# /' "$T/.out"
done_testing
