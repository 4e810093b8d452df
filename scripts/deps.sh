#!/bin/sh
# Install the Debian packages lmkit builds and tests with. Used by `make deps`
# (and so by `make check`, `make demo`) and by .ci/run. As root it runs apt-get;
# otherwise it prints the one line to run. Nothing is done when all are present.
#   build:  gcc make libopenblas-dev zlib1g-dev libpcre2-dev libcjson-dev libxxhash-dev
#   tests:  perl (prove), tmux (pseudo-terminal tests), mandoc (man page lint), valgrind
#   mpi:    libopenmpi-dev openmpi-bin (the trainers under mpirun), installed as root; lmkit
#           builds and its tests pass without them, so their absence alone fails nothing
#   --ref:  PyTorch and SentencePiece oracles, venv (transformers, gguf from PyPI),
#           cmake and g++ (llama-cpp-python builds llama.cpp)
#   --fuzz: clang and its libFuzzer, ASan and UBSan runtimes (make fuzz)
#   --bench: --ref's, and what `make bench` measures its peers with: time, tcmalloc,
#           Python's headers (torch.compile builds C++ against them)
set -eu
pkgs="gcc make pkg-config libopenblas-dev zlib1g-dev libpcre2-dev libcjson-dev libxxhash-dev perl tmux mandoc valgrind"
optional="libopenmpi-dev openmpi-bin"
[ "${1:-}" = "--fuzz" ] && pkgs="$pkgs clang libclang-rt-14-dev"
case "${1:-}" in --ref | --bench) pkgs="$pkgs python3-torch python3-sentencepiece sentencepiece python3-numpy python3-venv cmake g++" ;; esac
[ "${1:-}" = "--bench" ] && pkgs="$pkgs time libgoogle-perftools4 python3-dev"
missing= lacking=
for p in $pkgs $optional; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' && continue
	missing="$missing $p"
	case " $optional " in *" $p "*) ;; *) lacking="$lacking $p" ;; esac
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ] && [ -z "$lacking" ]; then
	echo "deps: without$missing lmkit builds without MPI" >&2
	exit 0
fi
if [ "$(id -u)" = 0 ]; then
	echo "deps: installing$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	apt-get install -y -qq --no-install-recommends $missing >&2
else
	echo "deps: missing Debian packages; run as root:" >&2
	echo "  apt-get install -y$missing" >&2
	exit 1
fi
