#!/bin/sh
# Regression inputs: every file in tests/regress/ once crashed a tool, was
# misread, or got an unclear message. Each must be refused by every command
# that reads its kind: exit status 1..127, one line on standard error
# "lm-x: FILE: reason" (or "FILE:LINE: reason") without zlib's "<fd:N>", and
# no output or temporary file left. The kind is the start of the file's name:
# to add a case (a fuzzer's find), drop it in as KIND-what-it-shows.EXT.
# Then: a full disk gives the system's reason for gzip outputs too.
. "$(dirname "$0")/lib.sh"

# KIND      COMMAND: IN is the input, OUT an output that must not appear
table='
dedup-sig   lm-dedup clusters -o OUT IN
dedup-clu   lm-dedup filter -c IN -s 0 -o OUT docs.jsonl
shard       lm-info IN
shard       lm-tokenize -d -m tok.model -o OUT IN
spm         lm-info IN
spm         lm-tokenize -m IN -o OUT docs.jsonl
tokbin      lm-info IN
tokbin      lm-tokenize -m IN -o OUT docs.jsonl
gz          lm-clean -p -o OUT IN
gz          lm-tokenize -d -m tok.model -o OUT IN
jsonl       lm-clean -o OUT IN
jsonl       lm-dedup -o OUT IN
jsonl       lm-tokenize --jsonl -m tok.model -o OUT IN
ckpt        lm-info IN
ckpt        lm-convert IN OUT
llama2c     lm-info IN
llama2c     lm-convert IN OUT
config      lm-convert --init IN OUT
'
# what the commands read besides the input (gen.sh's sig files hold these documents)
printf '{"id":"a","text":"one text twice"}\n{"id":"b","text":"one text twice"}\n' > docs.jsonl
cp "$ROOT/tests/data/tok_bpe_lmbpe.model" tok.model

# refused DESC NAME CMD...: CMD fails cleanly on input NAME (see the top)
refused() {
	d=$1 name=$2; shift 2
	fails_cleanly "$@"
	case $(head -n 1 "$T/.err") in
	*"<fd:"*) why="$why; zlib's <fd:N> in the message" ;;
	lm-*": $name: "* | lm-*": $name:"[0-9]*": "*) ;;
	*) why="$why; the message does not begin 'lm-x: $name: '" ;;
	esac
	left=$(ls | grep -vxF -e docs.jsonl -e tok.model -e "$name" | tr '\n' ' ')
	[ -z "$left" ] || { why="$why; left $left"; rm -f $left; }
	verdict "$d"
}

for f in "$ROOT"/tests/regress/*; do
	name=${f##*/}
	case $name in
	README.md | gen.sh) continue ;;
	*[!A-Za-z0-9._-]*) is "$name: a name of letters, digits, '.', '_' and '-'" bad good; continue ;;
	esac
	cp "$f" "$name"
	found=0
	while read -r kind cmd; do
		case $name in "$kind"-*) ;; *) continue ;; esac
		found=1 args=
		for w in $cmd; do
			case $w in IN) w=$name ;; OUT) w=out ;; esac
			args="$args $w"
		done
		refused "$name:$args" "$name" $args
	done <<EOF
$table
EOF
	[ $found = 1 ] || is "$name: a kind the table knows" "${name%%-*}" "one of the table"
	rm -f "$name"
done

# the hand-made inputs are what tests/regress/gen.sh makes
mkdir gen
ok "gen.sh runs" sh "$ROOT/tests/regress/gen.sh" gen
for g in gen/*; do
	same=no
	cmp -s "$g" "$ROOT/tests/regress/${g#gen/}" && same=yes
	is "tests/regress/${g#gen/} is gen.sh's" $same yes
done
rm -rf gen

# ---- full disks: the reason from zlib or the system, not "write failed"
# (random text: gzip cannot shrink it into its buffers, so writes fail mid-way)
head -c 150000 /dev/urandom | base64 -w 0 | sed 's/.*/{"text":"&"}/' > big.jsonl
ln -s /dev/full full.gz
fails "gzip output on /dev/full, at close" lm-dedup -o full.gz docs.jsonl
stderr_has "  says why" '^lm-dedup: full.gz: No space left on device$'
fails "gzip output on /dev/full, while writing" lm-dedup -o full.gz big.jsonl
stderr_has "  says why" '^lm-dedup: full.gz: No space left on device$'

mkdir disk
if [ "$(id -u)" != 0 ]; then
	skip_disk="not root: no tmpfs to fill"
elif ! mount -t tmpfs -o size=64k lmkit-test "$T/disk" 2>/dev/null; then
	skip_disk="mount -t tmpfs failed"
else
	skip_disk=
	trap 'umount "$T/disk" 2>/dev/null; rm -rf "$T"' EXIT
	for out in out.jsonl.gz out.jsonl; do
		fails "$out on a full tmpfs" lm-dedup -o disk/$out big.jsonl
		stderr_has "  says why" "^lm-dedup: disk/$out: No space left on device\$"
		is "  leaves nothing on the disk" "$(ls -A disk)" ""
	done
	umount "$T/disk"
fi
if [ -n "$skip_disk" ]; then
	for i in 1 2 3 4 5 6; do _n=$((_n + 1)); echo "ok $_n # skip $skip_disk"; done
fi

done_testing
