#!/usr/bin/env bash
# Concurrent first pulls through the pull-through cache (issue 12): N
# clients (20 by default) GET the same new blob (256 MiB by default) from
# a local upstream (Debian's docker-registry over HTTPS with a test CA) at
# once.  One of them starts the fetch and is streamed the blob; the others
# join the fetch (served from blobd's upload file as it grows) or, with
# binaries from before joining, wait for the store.  Reported per run:
# the latest first byte of any client, the latest last byte, what berthd
# read from the disk rather than the page cache (the joined clients), how
# far the clients' last bytes lie apart (a joined client that the disk
# reads held back would end after the others), and
# the CPU time berthd, berth-fetchd and berth-blobd spent (from /proc, figures
# that depend less on the machine's load than the times); the median over
# -r runs (default 3), each of its own blob through its own rule (q1, q2,
# ...).
#
# With -i SECONDS, what the joined clients cost berthd while the upstream
# sends nothing (a slow or stalled upstream) instead: ptc/servers.py's
# front holds the blob half sent, the N clients GET it, and once every
# one has bytes berthd is watched for SECONDS: its CPU time (/proc), then,
# for as long again, its system calls (strace -c), neither of which
# depends on the load; then the front sends the rest and every client
# must get the whole blob.
#
#   bench/ptc_join.sh [-s MiB] [-n clients] [-r runs] [-i seconds]
#
# Uses tests/integration's helpers for the CA and the upstream; BERTHD,
# BLOBD and REGISTRY override the binaries (compare old and new ones
# interleaved); BENCH_TMPDIR (default /var/tmp) holds the data.  With
# BENCH_STRACE=1, strace -c counts berthd's system calls over all the runs
# (slower, but the counts do not depend on the load) and the busiest are
# printed.
top=$(cd "$(dirname "$0")/.." && pwd)
size_mib=256
clients=20
runs=3
hold=
while getopts s:n:r:i: o; do
	case $o in
	s) size_mib=$OPTARG ;;
	n) clients=$OPTARG ;;
	r) runs=$OPTARG ;;
	i) hold=$OPTARG ;;
	*) echo "usage: $0 [-s MiB] [-n clients] [-r runs] [-i seconds]" >&2
	   exit 2 ;;
	esac
done
export TMPDIR=${BENCH_TMPDIR:-/var/tmp}
: "${BERTHD:=$top/build/daemon/berthd}" "${BLOBD:=$top/build/blobd/berth-blobd}"
here=$top/tests/integration
. "$here/common.bash"
. "$here/ptc/upstream.bash"
bench_upstream
bytes=$((size_mib * 1024 * 1024))

# -i: what the joined clients cost berthd while the upstream (the front)
# holds the blob half sent.
idle_run() {
	bench_blob "$size_mib"
	start_front "$UP"
	arn=arn:aws:secretsmanager:us-east-1:000000000000:secret:ecr-pullthroughcache
	(umask 077 && echo "$arn/front-AbC123 fuser fpass" >"$T_TMP/secrets")
	mkdir -p "$T_TMP/data"
	start_berthd "$T_TMP/data" --pull-through-secrets "$T_TMP/secrets" \
	    --upstream-map "registry.gitlab.com=https://127.0.0.1:$FP,$pki/ca.pem"
	export AWS_ACCESS_KEY_ID=000000000000 AWS_SECRET_ACCESS_KEY=x \
	    AWS_DEFAULT_REGION=us-east-1
	aws --endpoint-url "$URL" ecr create-pull-through-cache-rule \
	    --ecr-repository-prefix gl \
	    --upstream-registry-url registry.gitlab.com --credential-arn "$arn/front-AbC123" >/dev/null

	echo "{\"hold\": [\"$d\"]}" >"$control"
	pids=()
	for c in $(seq "$clients"); do
		curl -sf -o "$T_TMP/c$c" "$URL/v2/gl/bench/big/blobs/$d" &
		pids+=($!)
	done
	all_have() {
		local c
		grep -q "^stalled $d" "$T_TMP/front.log" || return 1
		for c in $(seq "$clients"); do
			[ -s "$T_TMP/c$c" ] || return 1
		done
	}
	wait_for 120 all_have || { echo "the clients got no bytes" >&2; exit 1; }
	sleep 1		# the joined clients catch up with the file

	ticks() { awk '{ print $14 + $15 }' "/proc/$BERTHD_PID/stat"; }
	before=$(ticks)
	sleep "$hold"
	cpu=$(awk -v a="$(ticks)" -v b="$before" -v hz="$(getconf CLK_TCK)" \
	    'BEGIN { printf "%.2f", (a - b) / hz }')
	strace -c -f -p "$BERTHD_PID" -o "$T_TMP/strace" 2>/dev/null &
	strace_pid=$!
	sleep "$hold"
	kill -INT "$strace_pid"
	wait "$strace_pid"

	echo '{}' >"$control"
	ok=1
	for p in "${pids[@]}"; do wait "$p" || ok=0; done
	for c in $(seq "$clients"); do
		cmp -s "$T_TMP/c$c" "$T_TMP/blob" || ok=0
	done
	[ "$ok" = 1 ] || { echo "a client did not get the blob" >&2; exit 1; }
	printf '%s clients of a %s MiB blob held half sent, %s s each: ' \
	    "$clients" "$size_mib" "$hold"
	printf 'berthd CPU %s s; load average %s\n' "$cpu" \
	    "$(cut -d' ' -f1-3 /proc/loadavg)"
	printf 'berthd system calls (strace -c):'
	awk '$NF ~ /^[a-z_0-9]+$/ && $4 ~ /^[0-9]+$/ { printf " %s %s", $NF, $4; n++ }
	    END { if (!n) printf " none" }' "$T_TMP/strace"
	echo
}
[ -n "$hold" ] && { idle_run; exit; }

mkdir -p "$T_TMP/data"
start_berthd "$T_TMP/data" --upstream-map "quay.io=$up,$pki/ca.pem"
export AWS_ACCESS_KEY_ID=000000000000 AWS_SECRET_ACCESS_KEY=x \
    AWS_DEFAULT_REGION=us-east-1
# A new blob for each run: one the store holds would be linked, not
# fetched (ptc_link.c).
digests=()
for i in $(seq "$runs"); do
	aws --endpoint-url "$URL" ecr create-pull-through-cache-rule \
	    --ecr-repository-prefix "q$i" --upstream-registry-url quay.io \
	    >/dev/null
	bench_blob "$size_mib" "bench/big$i"
	digests+=("$d")
done
rm -f "$T_TMP/blob"
sync

ticks() {
	local p
	for p in "$@"; do
		awk '{ printf "%d ", $14 + $15 }' "/proc/$p/stat"
	done
}
# What berthd read from the disk, not the page cache (the joined clients'
# sendfile(2) from blobd's upload file, which blobd writes with O_DIRECT).
disk_read() { sed -n 's/^read_bytes: //p' "/proc/$1/io"; }
fetchd=$(fetchd_pid "$BERTHD_PID") blobd=$(blobd_pid "$BERTHD_PID")
if [ "${BENCH_STRACE:-}" = 1 ]; then
	strace -c -f -p "$BERTHD_PID" -o "$T_TMP/strace" 2>/dev/null &
	strace_pid=$!
	sleep 1		# attached
fi
hz=$(getconf CLK_TCK)
: >"$T_TMP/rows"
for i in $(seq "$runs"); do
	before=$(ticks "$BERTHD_PID" "$fetchd" "$blobd")
	read0=$(disk_read "$BERTHD_PID")
	pids=()
	for c in $(seq "$clients"); do
		curl -sf -o /dev/null -w '%{size_download} %{time_starttransfer} %{time_total}\n' \
		    "$URL/v2/q$i/bench/big$i/blobs/${digests[i - 1]}" \
		    >"$T_TMP/c$c" &
		pids+=($!)
	done
	wait "${pids[@]}"
	sleep 1		# the store's commit ends after the last byte
	after=$(ticks "$BERTHD_PID" "$fetchd" "$blobd")
	echo $(($(disk_read "$BERTHD_PID") - read0)) >>"$T_TMP/reads"
	cat "$T_TMP"/c* | awk -v want="$bytes" -v b="$before" -v a="$after" \
	    -v hz="$hz" -v spread="$T_TMP/spread" '
		$1 != want { bad = 1 }
		$2 > f { f = $2 }
		$3 > l { l = $3 }
		e == "" || $3 < e { e = $3 }
		END {
			if (bad) { print "a client got the wrong size" > "/dev/stderr"; exit 1 }
			printf "%.3f ", l - e >>spread
			split(b, x, " "); split(a, y, " ")
			printf "%.3f %.3f %.2f %.2f %.2f\n", f, l,
			    (y[1] - x[1]) / hz, (y[2] - x[2]) / hz,
			    (y[3] - x[3]) / hz
		}' >>"$T_TMP/rows" || exit 1
done
printf '%s MiB blob, %s clients at once, median of %s; load average %s\n' \
    "$size_mib" "$clients" "$runs" "$(cut -d' ' -f1-3 /proc/loadavg)"
med() {	# column
	sort -g -k"$1" "$T_TMP/rows" | sed -n "$(( (runs + 1) / 2 ))p" |
	    cut -d' ' -f"$1"
}
printf 'latest first byte %s s, latest last byte %s s (runs: %s)\n' \
    "$(med 1)" "$(med 2)" "$(cut -d' ' -f1,2 "$T_TMP/rows" | tr '\n' ';')"
printf 'berthd read from the disk per run (MiB): %s\n' "$(awk \
    '{ printf "%.1f ", $1 / 1048576 }' "$T_TMP/reads")"
printf 'earliest to latest last byte per run (s): %s\n' "$(cat "$T_TMP/spread")"
printf 'CPU s: berthd %s, berth-fetchd %s, berth-blobd %s\n' \
    "$(med 3)" "$(med 4)" "$(med 5)"
if [ -n "${strace_pid:-}" ]; then
	kill -INT "$strace_pid"
	wait "$strace_pid"
	printf 'berthd system calls over the %s runs (strace -c):' "$runs"
	awk '$NF ~ /^[a-z_0-9]+$/ && $4 ~ /^[0-9]+$/ { printf " %s %s", $NF, $4 }' \
	    "$T_TMP/strace" | head -c 400
	echo
fi
