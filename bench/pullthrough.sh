#!/usr/bin/env bash
# The pull-through cache's speed (issue 12): a large blob (512 MiB by
# default) on a local upstream (Debian's docker-registry over HTTPS with a
# test CA) pulled with curl directly from the upstream, through berth the
# first time (streamed to the client while fetched and stored, its last
# byte once verified), through berth once cached, and, for comparison,
# the same size pushed to berth and pulled the normal way.  Each pull is
# timed by curl (time_total); the median of -r runs (default 3) is
# reported, with MB/s (10^6 bytes), and the first pull's time to its
# first byte and the CPU time each process spent on it (berthd,
# berth-fetchd, berth-blobd and the upstream, from /proc: figures that
# depend less on the machine's load than the times).  A first pull
# cannot be repeated on one repository, nor of a blob berth stores
# already (it is linked after a HEAD upstream instead: timed too, as
# "linked"), so each run pulls a blob of its own through its own rule
# (q1, q2, ...) of the same upstream.
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
upstream_usable || { echo "docker-registry and skopeo are needed" >&2; exit 1; }

pki=$T_TMP/pki
make_pki "$pki"
UP=$(free_port)
start_registry upstream "$UP"
upstream_pid=$REGISTRY_PID
up=https://127.0.0.1:$UP

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

digests=()
for i in $(seq "$runs"); do
	head -c $((size_mib * 1024 * 1024)) /dev/urandom >"$T_TMP/blob"
	digests+=("$(push_blob "$up" bench/big "$T_TMP/blob" \
	    --cacert "$pki/ca.pem")") ||
	    { echo "push to the upstream failed" >&2; exit 1; }
done
digest=${digests[0]}
rm "$T_TMP/blob"
head -c $((size_mib * 1024 * 1024)) /dev/urandom >"$T_TMP/blob2"
bytes=$((size_mib * 1024 * 1024))

mkdir -p "$T_TMP/data"
start_berthd "$T_TMP/data" --create-on-push --upstream-map "quay.io=$up,$pki/ca.pem"
export AWS_ACCESS_KEY_ID=000000000000 AWS_SECRET_ACCESS_KEY=x \
    AWS_DEFAULT_REGION=us-east-1
for i in $(seq "$runs"); do
	for p in q l; do
		aws --endpoint-url "$URL" ecr create-pull-through-cache-rule \
		    --ecr-repository-prefix "$p$i" \
		    --upstream-registry-url quay.io >/dev/null
	done
done
plain=$(push_blob "$URL" plain/big "$T_TMP/blob2") ||
    { echo "push to berth failed" >&2; exit 1; }

# pull URL [curl options]: seconds, after checking the size; the seconds
# to the first byte of the body go to $T_TMP/ttfb.
pull() {
	local out
	out=$(curl -sf -o /dev/null -w \
	    '%{size_download} %{time_total} %{time_starttransfer}' "$@") ||
	    return 1
	set -- $out
	[ "$1" = "$bytes" ] || return 1
	echo "$3" >>"$T_TMP/ttfb"
	echo "$2"
}

# row NAME TIMES...: the median and its MB/s.
row() {
	local name=$1 med
	shift
	med=$(printf '%s\n' "$@" | sort -g | sed -n "$(( ($# + 1) / 2 ))p")
	printf '%-34s %8.3f s %9.1f MB/s   (%s)\n' "$name" "$med" \
	    "$(echo "$bytes / $med / 1000000" | bc -l)" "$*"
	eval "med_${name%% *}=$med"
}

# The set-up's writes (two blobs made, pushed twice) go to the disk now,
# not while the pulls are timed (a first pull writes the blob to disk).
sync
direct=() first=() cached=() normal=() linked=()
for i in $(seq "$runs"); do
	direct+=("$(pull --cacert "$pki/ca.pem" "$up/v2/bench/big/blobs/$digest")")
done
# ticks PID...: the CPU time (user and system, in clock ticks) of each.
ticks() {
	local p
	for p in "$@"; do
		awk '{ printf "%d ", $14 + $15 }' "/proc/$p/stat"
	done
}
fetchd=$(fetchd_pid "$BERTHD_PID") blobd=$(blobd_pid "$BERTHD_PID")
hz=$(getconf CLK_TCK)
rm -f "$T_TMP/ttfb" "$T_TMP/cpu"
for i in $(seq "$runs"); do
	before=$(ticks "$BERTHD_PID" "$fetchd" "$blobd" "$upstream_pid")
	first+=("$(pull "$URL/v2/q$i/bench/big/blobs/${digests[i - 1]}")")
	# The store's commit ends after the client's last byte.
	sleep 1
	echo "$before $(ticks "$BERTHD_PID" "$fetchd" "$blobd" \
	    "$upstream_pid")" >>"$T_TMP/cpu"
done
ttfb=$(sort -g "$T_TMP/ttfb" | sed -n "$(( (runs + 1) / 2 ))p")
for i in $(seq "$runs"); do
	cached+=("$(pull "$URL/v2/q1/bench/big/blobs/$digest")")
	normal+=("$(pull "$URL/v2/plain/big/blobs/$plain")")
	linked+=("$(pull "$URL/v2/l$i/bench/big/blobs/$digest")")
done
printf '%s MiB blob, median of %s; load average %s\n' "$size_mib" "$runs" \
    "$(cut -d' ' -f1-3 /proc/loadavg)"
row "direct from the upstream" "${direct[@]}"
row "first through berth" "${first[@]}"
row "cached through berth" "${cached[@]}"
row "normal berth pull" "${normal[@]}"
row "linked (stored, HEAD upstream)" "${linked[@]}"
printf 'first through berth, first byte after %.3f s (median)\n' "$ttfb"
# The median of each process's CPU seconds over the first pulls.
awk -v hz="$hz" -v n="$runs" '
	{ for (j = 1; j <= 4; j++) t[j, NR] = ($(j + 4) - $j) / hz }
	END {
		split("berthd berth-fetchd berth-blobd upstream", name, " ")
		printf "first through berth, CPU s (median):"
		for (j = 1; j <= 4; j++) {
			for (a = 1; a <= n; a++) v[a] = t[j, a]
			for (a = 1; a <= n; a++)
				for (b = a + 1; b <= n; b++)
					if (v[b] < v[a]) { x = v[a]; v[a] = v[b]; v[b] = x }
			printf " %s %.2f", name[j], v[int((n + 1) / 2)]
		}
		printf "\n"
	}' "$T_TMP/cpu"
printf 'first / direct throughput: %.0f%% (issue 12: at least 80%%)\n' \
    "$(echo "100 * $med_direct / $med_first" | bc -l)"
printf 'cached / normal throughput: %.0f%% (issue 12: as fast)\n' \
    "$(echo "100 * $med_normal / $med_cached" | bc -l)"
