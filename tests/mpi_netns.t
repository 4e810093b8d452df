#!/bin/sh
# Training across hosts: two hosts made as network namespaces joined by a
# veth pair, Open MPI over TCP between them (its launcher runs the remote
# daemon through `ip netns exec` instead of ssh), a tiny model trained on
# one rank in each, equal to one process up to summation order.
. "$(dirname "$0")/lib.sh"
export OMP_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
ldd "$BIN/lm-pretrain" 2>/dev/null | grep -q libmpi || skip_all "built without MPI"
command -v mpirun >/dev/null || skip_all "no mpirun (apt-get install openmpi-bin)"
[ "$(id -u)" = 0 ] || skip_all "not root (network namespaces)"
command -v ip >/dev/null || skip_all "no ip (iproute2)"
# this test's own namespaces and addresses
a=lmk$$a b=lmk$$b net=10.$((200 + $$ % 50)).$(($$ / 50 % 250))
ip netns add $a 2>/dev/null || skip_all "cannot make network namespaces here"
trap 'ip netns del $a 2>/dev/null; ip netns del $b 2>/dev/null; rm -rf "$T"' EXIT
ip netns add $b
ip link add v$$a netns $a type veth peer name v$$b netns $b
ip -n $a addr add $net.1/24 dev v$$a
ip -n $b addr add $net.2/24 dev v$$b
for n in $a $b; do ip -n $n link set lo up; done
ip -n $a link set v$$a up
ip -n $b link set v$$b up

# Open MPI starts its daemon on a host as `AGENT HOST COMMAND...`: here, in that host's namespace
cat >agent <<EOT
#!/bin/sh
host=\$1; shift
case \$host in $net.1) ns=$a ;; $net.2) ns=$b ;; *) echo "agent: unknown host \$host" >&2; exit 1 ;; esac
exec ip netns exec \$ns sh -c "\$*"
EOT
chmod +x agent
perl -e 'srand(7); my ($x, @t) = (1);
	for (1 .. 8000) { $x = ($x * 7 + 3 + int(rand(3))) % 64; push @t, $x }
	print pack("a8 V6 Q< Q< a16", "LMKSHARD", 1, 64, 64, 2, 0, 0, 8000, 1, ""), pack("v*", @t), pack("Q<", 0)' >train.bin
PRE="--set dim=32 --set n_layers=2 --set n_heads=4 --set n_kv_heads=2 --set vocab_size=64 --set max_seq_len=32
	--set hidden_dim=64 -b 2 -t 32 --batch-tokens 256 --steps 10 --warmup 3 --lr 3e-3"
ok "alone" lm-pretrain $PRE --metrics m1.jsonl -o p1.st train.bin
MPI="--host $net.1,$net.2 -np 2 --mca plm_rsh_agent $T/agent --mca btl tcp,self
	--mca btl_tcp_if_include $net.0/24 --mca oob_tcp_if_include $net.0/24"
ok "across the two hosts" ip netns exec $a mpirun $MPI --tag-output sh -c \
	'echo "rank $OMPI_COMM_WORLD_RANK in $(ip netns identify)" >&2; exec lm-pretrain "$@"' sh \
	$PRE --metrics m2.jsonl -o p2.st train.bin
is "a rank in each host" "$(grep -o 'rank [01] in lmk[0-9]*[ab]' .err | sort | tr '\n' ' ')" "rank 0 in $a rank 1 in $b "
is "every step's loss within 1e-5" \
	"$(paste -d' ' m1.jsonl m2.jsonl | sed -n 's/^.*"step":\([0-9]*\).*"loss":\([-0-9.e]*\).* .*"step":\([0-9]*\).*"loss":\([-0-9.e]*\).*/\1 \2 \3 \4/p' |
	awk 'BEGIN { n = 0 } { d = $2 - $4; if (d < 0) d = -d; if ($1 != $3 || d > 1e-5 * $2) n++ } END { print n " of " NR }')" "0 of 10"
is "parameters within 1e-5" "$(perl "$ROOT/tests/mpi_params.pl" p1.st p2.st | awk '{ print ($1 <= 1e-5) ? "yes" : "no " $1 }')" yes
done_testing
