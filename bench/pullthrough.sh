#!/usr/bin/env bash
# The pull-through cache's speed (issue 12): large blobs (512 MiB by
# default, one for each run and one for the warm-up, all stored twice: on
# the upstream and in berth) on a local upstream (Debian's docker-registry
# over HTTPS with a test CA) pulled with curl directly from the upstream,
# through berth the first time (streamed to the client while fetched and
# stored, its last byte once verified), through berth once cached, and,
# for comparison, the same size pushed to berth and pulled the normal
# way.  Each pull is
# timed by curl (time_total); the median of -r runs (default 3) is
# reported, with MB/s (10^6 bytes), and the first pull's time to its
# first byte and the CPU time each process spent on it (berthd,
# berth-fetchd, berth-blobd and the upstream from /proc, the client curl
# from bash's time: figures that depend less on the machine's load than
# the times), as for the direct pull (the upstream and curl).  A first pull
# cannot be repeated on one repository, nor of a blob berth stores
# already (that is linked after a HEAD upstream instead: timed too, as
# "linked", through rules l1, l2, ...), so each run pulls a blob of its
# own through its own rule (q1, q2, ...) of the same upstream.
#
# The direct and the first pulls alternate (direct then first, then first
# then direct, ...), after one untimed pull of each (rule q0), so that
# each pair runs under the same load; the ratio is given per pair, with
# the pairs' median and lowest, besides the ratio of the medians, and so
# is the ratio of the two pulls' CPU seconds (all processes and client),
# which the throughputs' ratio follows when both pulls are bound by the
# CPU (two cores here).
#
# The direct pull is curl's default, which offers HTTP/2 and gets it from
# the upstream; berth-fetchd asks for HTTP/1.1 for a blob, which costs the
# upstream less CPU.  So that the comparison is not only against the
# dearer protocol, each pair also has a direct pull over HTTP/1.1 (curl
# --http1.1, the protocol and TLS of berth-fetchd's pull; it runs on the
# other side of the first pull from the default one), timed and counted
# the same way, with the ratios against it.
#
#   bench/pullthrough.sh [-s MiB] [-r runs]
#
# Uses tests/integration's helpers for the CA and the upstream; BERTHD,
# BLOBD and REGISTRY override the binaries; BENCH_TMPDIR (default
# /var/tmp) holds the data.
top=$(cd "$(dirname "$0")/.." && pwd)
size_mib=512
runs=3
while getopts s:r: o; do
	case $o in
	s) size_mib=$OPTARG ;;
	r) runs=$OPTARG ;;
	*) echo "usage: $0 [-s MiB] [-r runs]" >&2; exit 2 ;;
	esac
done
export TMPDIR=${BENCH_TMPDIR:-/var/tmp}
: "${BERTHD:=$top/build/daemon/berthd}" "${BLOBD:=$top/build/blobd/berth-blobd}"
here=$top/tests/integration
. "$here/common.bash"
. "$here/ptc/upstream.bash"
bench_upstream

# push_blob BASE_URL REPO FILE [curl options]: a monolithic push.
push_blob() {
	local base=$1 repo=$2 file=$3 loc d
	shift 3
	d=sha256:$(sha256_of "$file")
	loc=$(curl -s "$@" -D - -o /dev/null -X POST \
	    "$base/v2/$repo/blobs/uploads/" | tr -d '\r' |
	    sed -n 's/^[Ll]ocation: //p')
	case $loc in http*) ;; *) loc=$base$loc ;; esac
	case $loc in *\?*) loc="$loc&digest=$d" ;; *) loc="$loc?digest=$d" ;; esac
	curl -sf "$@" -X PUT -H 'Content-Type: application/octet-stream' \
	    --data-binary @"$file" -o /dev/null "$loc" && echo "$d"
}

# A blob of its own for each pair and the warm-up: a first pull of a blob
# that the store has already (under another rule's repository) is not a
# first pull of a new blob (its commit finds the blob there and drops the
# upload's copy, which frees the file's blocks instead of syncing them).
digests=()
for i in $(seq 0 "$runs"); do
	head -c $((size_mib * 1024 * 1024)) /dev/urandom >"$T_TMP/blob"
	d=$(push_blob "$up" bench/big "$T_TMP/blob" --cacert "$pki/ca.pem") ||
	    { echo "push to the upstream failed" >&2; exit 1; }
	digests+=("$d")
done
rm -f "$T_TMP/blob"
head -c $((size_mib * 1024 * 1024)) /dev/urandom >"$T_TMP/blob2"
bytes=$((size_mib * 1024 * 1024))

mkdir -p "$T_TMP/data"
start_berthd "$T_TMP/data" --create-on-push --upstream-map "quay.io=$up,$pki/ca.pem"
export AWS_ACCESS_KEY_ID=000000000000 AWS_SECRET_ACCESS_KEY=x \
    AWS_DEFAULT_REGION=us-east-1
for i in $(seq 0 "$runs"); do
	for p in q l; do
		[ "$p$i" = l0 ] && continue
		aws --endpoint-url "$URL" ecr create-pull-through-cache-rule \
		    --ecr-repository-prefix "$p$i" \
		    --upstream-registry-url quay.io >/dev/null
	done
done
plain=$(push_blob "$URL" plain/big "$T_TMP/blob2") ||
    { echo "push to berth failed" >&2; exit 1; }

# pull URL [curl options]: seconds, after checking the size; the seconds
# to the first byte of the body go to $T_TMP/ttfb.last, curl's CPU
# seconds (user and system) to $T_TMP/client.last.
pull() {
	local out
	out=$( { TIMEFORMAT='%U %S'; time curl -sf -o /dev/null -w \
	    '%{size_download} %{time_total} %{time_starttransfer}' "$@"; } \
	    2>"$T_TMP/client.time") || return 1
	set -- $out
	[ "$1" = "$bytes" ] || return 1
	echo "$3" >"$T_TMP/ttfb.last"
	awk '{ print $1 + $2 }' "$T_TMP/client.time" >"$T_TMP/client.last"
	echo "$2"
}

# row NAME TIMES...: the median and its MB/s.
row() {
	local name=$1 med
	shift
	med=$(printf '%s\n' "$@" | sort -g | sed -n "$(( ($# + 1) / 2 ))p")
	printf '%-34s %8.3f s %9.1f MB/s   (%s)\n' "$name" "$med" \
	    "$(echo "$bytes / $med / 1000000" | bc -l)" "$*"
	name=${name%% *}
	eval "med_${name//[^a-zA-Z0-9]/}=$med"
}

# The set-up's writes (the blobs made and pushed) go to the disk now,
# not while the pulls are timed (a first pull writes the blob to disk).
sync
direct=() first=() cached=() normal=() linked=() ratios=()
# cpu PID...: the CPU seconds (user and system) of each so far.
cpu() {
	local p
	for p in "$@"; do
		awk -v hz="$hz" '{ printf "%.2f ", ($14 + $15) / hz }' \
		    "/proc/$p/stat"
	done
}
# spent BEFORE AFTER: what each process spent between the two, and the
# client's CPU of the last pull.
spent() {
	echo "$1 $2 $(cat "$T_TMP/client.last")" | awk '{
		n = (NF - 1) / 2
		for (j = 1; j <= n; j++) printf "%.2f ", $(j + n) - $j
		printf "%s\n", $NF }'
}
fetchd=$(fetchd_pid "$BERTHD_PID") blobd=$(blobd_pid "$BERTHD_PID")
hz=$(getconf CLK_TCK)
# pull_direct I, pull_first I: one timed pull of blob I (the first pull
# through rule qI), then a second's rest, counted in its CPU time (what
# the processes do just after it, such as the store's cleanup after the
# commit that the last byte waits for): to $T_TMP/cpu.direct and
# cpu.first; a first pull's time to its first byte to $T_TMP/ttfb.
# pull_direct I [SUFFIX curl options]: to cpu.direct (cpu.directSUFFIX).
pull_direct() {
	local i=$1 suffix=${2:-} before t
	shift $(( $# < 2 ? $# : 2 ))
	before=$(cpu "$upstream_pid")
	t=$(pull --cacert "$pki/ca.pem" "$@" \
	    "$up/v2/bench/big/blobs/${digests[$i]}") || return 1
	sleep 1
	spent "$before" "$(cpu "$upstream_pid")" >>"$T_TMP/cpu.direct$suffix"
	echo "$t"
}
pull_first() {
	local before t
	before=$(cpu "$BERTHD_PID" "$fetchd" "$blobd" "$upstream_pid")
	t=$(pull "$URL/v2/q$1/bench/big/blobs/${digests[$1]}") || return 1
	sleep 1
	spent "$before" "$(cpu "$BERTHD_PID" "$fetchd" "$blobd" \
	    "$upstream_pid")" >>"$T_TMP/cpu.first"
	cat "$T_TMP/ttfb.last" >>"$T_TMP/ttfb"
	echo "$t"
}
# The warm-up: the upstream's first answers, berth-fetchd's first
# connection, neither timed.
pull_direct 0 >/dev/null && pull_direct 0 11 --http1.1 >/dev/null &&
    pull_first 0 >/dev/null ||
    { echo "the warm-up pulls failed" >&2; exit 1; }
rm -f "$T_TMP/ttfb" "$T_TMP/cpu.direct" "$T_TMP/cpu.direct11" \
    "$T_TMP/cpu.first"
direct11=() ratios11=()
for i in $(seq "$runs"); do
	if [ $((i % 2)) = 1 ]; then
		d=$(pull_direct "$i") && f=$(pull_first "$i") &&
		    h=$(pull_direct "$i" 11 --http1.1)
	else
		h=$(pull_direct "$i" 11 --http1.1) && f=$(pull_first "$i") &&
		    d=$(pull_direct "$i")
	fi || { echo "pull $i failed" >&2; exit 1; }
	direct+=("$d") direct11+=("$h") first+=("$f")
	ratios+=("$(echo "100 * $d / $f" | bc -l)")
	ratios11+=("$(echo "100 * $h / $f" | bc -l)")
done
ttfb=$(sort -g "$T_TMP/ttfb" | sed -n "$(( (runs + 1) / 2 ))p")
for i in $(seq "$runs"); do
	cached+=("$(pull "$URL/v2/q1/bench/big/blobs/${digests[1]}")")
	normal+=("$(pull "$URL/v2/plain/big/blobs/$plain")")
	linked+=("$(pull "$URL/v2/l$i/bench/big/blobs/${digests[1]}")")
done
printf '%s MiB blob, median of %s; load average %s\n' "$size_mib" "$runs" \
    "$(cut -d' ' -f1-3 /proc/loadavg)"
row "direct from the upstream" "${direct[@]}"
row "HTTP/1.1 direct from the upstream" "${direct11[@]}"
row "first through berth" "${first[@]}"
row "cached through berth" "${cached[@]}"
row "normal berth pull" "${normal[@]}"
row "linked (stored, HEAD upstream)" "${linked[@]}"
printf 'first through berth, first byte after %.3f s (median)\n' "$ttfb"
# cpu_row NAME FILE PROCESS...: the median of each process's CPU seconds
# (FILE's columns) and of their sum.
cpu_row() {
	local name=$1 file=$2
	shift 2
	awk -v name="$name" -v procs="$* all" '
		{ s = 0; for (j = 1; j <= NF; j++) { t[j, NR] = $j; s += $j }
		  t[NF + 1, NR] = s }
		END {
			m = split(procs, p, " ")
			printf "%s, CPU s (median):", name
			for (j = 1; j <= m; j++) {
				for (a = 1; a <= NR; a++) v[a] = t[j, a]
				for (a = 1; a <= NR; a++)
					for (b = a + 1; b <= NR; b++)
						if (v[b] < v[a]) {
							x = v[a]; v[a] = v[b]; v[b] = x
						}
				printf " %s %.2f", p[j], v[int((NR + 1) / 2)]
			}
			printf "\n"
		}' "$file"
}
cpu_row "direct from the upstream" "$T_TMP/cpu.direct" upstream client
cpu_row "HTTP/1.1 direct" "$T_TMP/cpu.direct11" upstream client
cpu_row "first through berth" "$T_TMP/cpu.first" berthd berth-fetchd \
    berth-blobd upstream client
printf '%s %.0f%% %s\n' 'first / direct throughput:' \
    "$(echo "100 * $med_direct / $med_first" | bc -l)" \
    '(issue 12: at least 80%; direct as curl pulls by default, HTTP/2)'
# per_pair WHAT: the median and lowest of per-pair percentages (stdin).
per_pair() {
	sort -g | awk -v what="$1" '
		{ r[NR] = $1; all = all sprintf(" %.0f", $1) }
		END { printf "%s per pair: median %.0f%%, lowest %.0f%% (%s )\n",
		    what, r[int((NR + 1) / 2)], r[1], all }'
}
printf '%s\n' "${ratios[@]}" | per_pair "first / direct throughput"
printf 'first / direct over HTTP/1.1 throughput: %.0f%%\n' \
    "$(echo "100 * $med_HTTP11 / $med_first" | bc -l)"
printf '%s\n' "${ratios11[@]}" |
    per_pair "first / direct over HTTP/1.1 throughput"
# The CPU a direct pull takes (upstream and client) over what a first
# pull takes (its processes and client): on two cores both are bound by
# it, so the throughputs' ratio follows.
cpu_ratio() {
	paste "$1" "$T_TMP/cpu.first" | awk '{
		d = $1 + $2; f = 0; for (j = 3; j <= NF; j++) f += $j
		if (f > 0) print 100 * d / f }' | per_pair "$2"
}
cpu_ratio "$T_TMP/cpu.direct" "direct / first CPU"
cpu_ratio "$T_TMP/cpu.direct11" "direct over HTTP/1.1 / first CPU"
printf 'cached / normal throughput: %.0f%% (issue 12: as fast)\n' \
    "$(echo "100 * $med_normal / $med_cached" | bc -l)"
