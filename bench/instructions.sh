#!/usr/bin/env bash
# Instructions per operation, counted by valgrind's callgrind: unlike
# seconds, the same for the same binaries and inputs whatever else the
# machine is doing, so two builds can be compared on a busy machine.
#
#   bench/instructions.sh [-b BUILD] manifest-get
#   bench/instructions.sh [-b BUILD] push SIZE
#
# Starts berthd (and, for pushes, its spawner and berth-blobd: every
# process is counted) under callgrind twice, with N and 5N operations of
# bench/loadgen, and prints the difference divided by 4N: the cost of one
# operation without start-up and shutdown.  BUILD is a build tree (default
# build/); N is 500 for manifest GETs, 100 for 4 KiB pushes and 10 for
# larger ones (BENCH_N overrides it).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=$top/build
if [ "${1:-}" = "-b" ]; then build=$(cd "$2" && pwd); shift 2; fi
mode=${1:?usage: instructions.sh [-b BUILD] manifest-get | push SIZE}
size=${2:-4096}
command -v valgrind >/dev/null || { echo "needs valgrind" >&2; exit 1; }

# run N: prints the instructions of every process of one berthd run.
run() {
	local n=$1 dir port pid total=0 f x
	dir=$(mktemp -d "${TMPDIR:-/var/tmp}/berth-instr.XXXXXX")
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	valgrind --tool=callgrind --trace-children=yes \
	    --callgrind-out-file="$dir/cg.%p" "$build/daemon/berthd" \
	    --blobd "$build/blobd/berth-blobd" --listen "127.0.0.1:$port" \
	    --data-dir "$dir/data" --create-on-push --no-seccomp \
	    >"$dir/log" 2>&1 &
	pid=$!
	for _ in $(seq 300); do
		curl -sf -o /dev/null "http://127.0.0.1:$port/v2/" && break
		sleep 0.2
	done
	if [ "$mode" = manifest-get ]; then
		setup_manifest "http://127.0.0.1:$port/v2/bench/repo"
		"$build/bench/loadgen" -q -c 1 -n "$n" -t "127.0.0.1:$port" \
		    -H "Accept: application/vnd.oci.image.manifest.v1+json" \
		    get /v2/bench/repo/manifests/t1 >"$dir/load" 2>&1
	else
		"$build/bench/loadgen" -q -c 1 -n "$n" -s "$size" \
		    -r bench/repo -t "127.0.0.1:$port" push >"$dir/load" 2>&1
	fi
	grep -q "errors=0" "$dir/load" || { cat "$dir/load" >&2; exit 1; }
	kill -TERM "$pid"
	wait "$pid" || true
	for f in "$dir"/cg.*; do
		x=$(callgrind_annotate "$f" 2>/dev/null |
		    awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }')
		total=$((total + ${x:-0}))
	done
	rm -rf "$dir"
	echo "$total"
}

# An OCI manifest whose config is "{}", tagged t1.
setup_manifest() {
	local url=$1 cfg='{}' d
	d=$(printf %s "$cfg" | sha256sum | cut -d' ' -f1)
	curl -sf -o /dev/null -X POST --data-binary "$cfg" \
	    "$url/blobs/uploads/?digest=sha256:$d"
	curl -sf -o /dev/null -X PUT \
	    -H "Content-Type: application/vnd.oci.image.manifest.v1+json" \
	    --data-binary '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:'"$d"'","size":2},"layers":[]}' \
	    "$url/manifests/t1"
}

case $mode in
manifest-get) n=${BENCH_N:-500} ;;
push) if [ "$size" -le 65536 ]; then n=${BENCH_N:-100}; else n=${BENCH_N:-10}; fi ;;
*) echo "unknown mode $mode" >&2; exit 2 ;;
esac
a=$(run "$n")
b=$(run $((5 * n)))
echo "$mode${2:+ $size}: $(( (b - a) / (4 * n) )) instructions per operation ($build)"
