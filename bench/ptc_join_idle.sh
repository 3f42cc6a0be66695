#!/usr/bin/env bash
# What GETs that joined a blob's fetch through the pull-through cache cost
# berthd while the upstream sends nothing (issue 12): a slow or stalled
# upstream.  ptc/servers.py's front holds a new blob (32 MiB by default)
# half sent; N clients (20 by default) GET it, one starting the fetch and
# the others joining it, and once every one has bytes berthd is watched
# for -t seconds (5 by default): its CPU time (from /proc), then, for as
# long again, its system calls (strace -c), neither of which depends on
# the machine's load.  Then the front sends the rest and every client must
# get the whole blob.
#
#   bench/ptc_join_idle.sh [-s MiB] [-n clients] [-t seconds]
#
# Uses tests/integration's helpers; BERTHD, BLOBD and REGISTRY override
# the binaries (compare old and new ones); BENCH_TMPDIR (default /var/tmp)
# holds the data.
top=$(cd "$(dirname "$0")/.." && pwd)
size_mib=32
clients=20
hold=5
while getopts s:n:t: o; do
	case $o in
	s) size_mib=$OPTARG ;;
	n) clients=$OPTARG ;;
	t) hold=$OPTARG ;;
	*) echo "usage: $0 [-s MiB] [-n clients] [-t seconds]" >&2; exit 2 ;;
	esac
done
export TMPDIR=${BENCH_TMPDIR:-/var/tmp}
: "${BERTHD:=$top/build/daemon/berthd}" "${BLOBD:=$top/build/blobd/berth-blobd}"
here=$top/tests/integration
. "$here/common.bash"
. "$here/ptc/upstream.bash"
bench_upstream
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
    --ecr-repository-prefix gl --upstream-registry-url registry.gitlab.com \
    --credential-arn "$arn/front-AbC123" >/dev/null

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
for c in $(seq "$clients"); do cmp -s "$T_TMP/c$c" "$T_TMP/blob" || ok=0; done
[ "$ok" = 1 ] || { echo "a client did not get the blob" >&2; exit 1; }
printf '%s clients of a %s MiB blob held half sent, %s s each: ' \
    "$clients" "$size_mib" "$hold"
printf 'berthd CPU %s s; load average %s\n' "$cpu" \
    "$(cut -d' ' -f1-3 /proc/loadavg)"
printf 'berthd system calls (strace -c):'
awk '$NF ~ /^[a-z_0-9]+$/ && $4 ~ /^[0-9]+$/ { printf " %s %s", $NF, $4 }' \
    "$T_TMP/strace"
echo
