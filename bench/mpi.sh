#!/bin/sh
# lm-pretrain data-parallel under mpirun on this machine, and the gradient
# exchange over TCP between two hosts made as network namespaces:
#   (1) tokens/s of 1 rank x 2 threads against 2 ranks x 1 thread, the same
#       model and global batch (dim 288, 6 layers, vocab 32000, seq 256,
#       2 micro-batches of 8 rows a step: one a rank)
#   (2) reduce-scatter + all-gather of a 64 MB block (bench/mpi_reduce.c,
#       lib/train/dist.c's calls) between two namespaces joined by a veth pair,
#       Open MPI over TCP (as root with ip; skipped otherwise)
# Medians of the timed steps. Never fails on speed.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/${LMKIT_BIN:-bin}
W=$(mktemp -d "${TMPDIR:-/tmp}/lmkit-bench.XXXXXX")
ns=lmkb$$
trap 'ip netns del ${ns}a 2>/dev/null; ip netns del ${ns}b 2>/dev/null; rm -rf "$W"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
command -v mpirun >/dev/null && ldd "$BIN/lm-pretrain" | grep -q libmpi || {
	echo "mpi: no mpirun or lmkit built without MPI; skipped"; exit 0; }

perl -e 'srand(1); print pack("a8 V6 Q< Q< a16", "LMKSHARD", 1, 64, 32000, 2, 0, 0, 1000000, 1, "");
	print pack("v*", map { int(rand(32000)) } 1 .. 1000000); print pack("Q<", 0)' >"$W/train.bin"
RUN="--set dim=288 --set n_layers=6 --set n_heads=6 --set n_kv_heads=6 --set vocab_size=32000
	--set max_seq_len=256 -b 8 --batch-tokens 4096 --steps 12 --warmup 2"
median() {
	perl -ne 'push @t, $2 if /"step":(\d+),.*"tokens_per_s":([\d.]+)/ && $1 > 2;
		END { @t = sort { $a <=> $b } @t; print $t[$#t / 2] }' "$1"; }
"$BIN/lm-pretrain" $RUN --threads 2 --metrics "$W/t2.jsonl" -o "$W/a.st" "$W/train.bin"
mpirun -np 2 --bind-to core "$BIN/lm-pretrain" $RUN --threads 1 --metrics "$W/r2.jsonl" -o "$W/b.st" "$W/train.bin"
a=$(median "$W/t2.jsonl") b=$(median "$W/r2.jsonl")
printf '1 rank x 2 threads: %8.1f tokens/s\n2 ranks x 1 thread: %8.1f tokens/s  (%.2fx)\n' "$a" "$b" "$(perl -e "print $b / $a")"

[ "$(id -u)" = 0 ] && command -v ip >/dev/null && ip netns add ${ns}a 2>/dev/null || {
	echo "tcp: needs root and ip (network namespaces); skipped"; exit 0; }
ip netns add ${ns}b
ip link add ${ns}x netns ${ns}a type veth peer name ${ns}y netns ${ns}b
ip -n ${ns}a addr add 10.251.7.1/24 dev ${ns}x
ip -n ${ns}b addr add 10.251.7.2/24 dev ${ns}y
for n in a b; do ip -n $ns$n link set lo up; done
ip -n ${ns}a link set ${ns}x up
ip -n ${ns}b link set ${ns}y up
cat >"$W/agent" <<EOT
#!/bin/sh
host=\$1; shift
case \$host in 10.251.7.1) n=${ns}a ;; *) n=${ns}b ;; esac
exec ip netns exec \$n sh -c "\$*"
EOT
chmod +x "$W/agent"
make -s -C "$ROOT" build/bench/mpi_reduce
printf 'tcp between namespaces: '
ip netns exec ${ns}a mpirun --host 10.251.7.1,10.251.7.2 -np 2 --mca plm_rsh_agent "$W/agent" \
	--mca btl tcp,self --mca btl_tcp_if_include 10.251.7.0/24 --mca oob_tcp_if_include 10.251.7.0/24 \
	"$ROOT/build/bench/mpi_reduce" 16777216 5
printf 'shared memory, one host: '
mpirun -np 2 "$ROOT/build/bench/mpi_reduce" 16777216 5
