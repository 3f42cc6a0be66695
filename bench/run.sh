#!/bin/bash
# Benchmarks berthd side by side with Debian's docker-registry (CNCF
# distribution 2.8.2) and prints a table with the targets of the
# performance issue.  See bench/README.md.
#
# Usage: bench/run.sh [-qs] [-o berth|docker-registry] [-r reps]
#   -q   quick: shorter durations and counts (for trying the script out)
#   -s   the start-up rows and the idle RSS only, printed as measured
#   -o   measure only one of the two servers
#   -r   repetitions of the push and 1 MiB GET measurements (default 3)
# Environment: BENCH_TMPDIR (default /var/tmp), BENCH_PIN (1: servers on
# CPU 0, load generator on CPU 1; 0: no pinning), REGISTRY (docker-registry
# binary), BERTHD, BLOBD.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
# The build tree: build/ (as the README builds), else the source tree.
bt=$top/build
[ -x "$bt/daemon/berthd" ] || bt=$top
LOADGEN=$bt/bench/loadgen
PROBE=$bt/bench/sendfile_probe
BERTHD=${BERTHD:-$bt/daemon/berthd}
BLOBD=${BLOBD:-$bt/blobd/berth-blobd}
REGISTRY=${REGISTRY:-/usr/bin/docker-registry}
BENCH_TMPDIR=${BENCH_TMPDIR:-/var/tmp}
BENCH_PIN=${BENCH_PIN:-1}
RESULTS=$here/results

quick=0
startonly=0
only=
reps=
while getopts qso:r: ch; do
	case $ch in
	q) quick=1 ;;
	s) startonly=1 ;;
	o) only=$OPTARG ;;
	r) reps=$OPTARG ;;
	*) echo "usage: bench/run.sh [-qs] [-o berth|docker-registry]" \
	       "[-r reps]" >&2
	   exit 2 ;;
	esac
done

# Counts and durations (the issue's numbers; -q shrinks them).
N_PUSH64=5 N_PUSH512=2 N_PUSH1M=200 N_PUSH4K=2000 PULL_ROUNDS=5
PULL_PER_ROUND=3 D_MANIFEST=10 D_GET1M=3 WARMUP=1 BIG=2G REPS=3 N_START=7
if [ $quick = 1 ]; then
	N_PUSH64=3 N_PUSH512=1 N_PUSH1M=50 N_PUSH4K=300 PULL_ROUNDS=2
	PULL_PER_ROUND=2 D_MANIFEST=2 D_GET1M=2 WARMUP=0.5 BIG=256M REPS=1
	N_START=3
fi

[ -n "$reps" ] && REPS=$reps
case $REPS in
''|*[!0-9]*|0) echo "run.sh: -r takes a positive count" >&2; exit 2 ;;
esac
servers="berth docker-registry"
case $only in
'') ;;
berth|docker-registry) servers=$only ;;
*) echo "run.sh: -o takes berth or docker-registry" >&2; exit 2 ;;
esac

for f in "$LOADGEN" "$PROBE"; do
	[ -x "$f" ] || { echo "run.sh: $f missing: run make" >&2; exit 2; }
done
case " $servers " in *" berth "*)
	[ -x "$BERTHD" ] && [ -x "$BLOBD" ] || {
		echo "run.sh: $BERTHD or $BLOBD missing: run make" \
		    "(or -o docker-registry)" >&2
		exit 2
	} ;;
esac
case " $servers " in *" docker-registry "*)
	[ -x "$REGISTRY" ] || {
		echo "run.sh: $REGISTRY missing: apt-get install" \
		    "docker-registry (or -o berth)" >&2
		exit 2
	} ;;
esac

# --- processes and cleanup ---------------------------------------------

tmp=$(mktemp -d "$BENCH_TMPDIR/berth-bench.XXXXXX")
pids=
cleanup() {
	local p
	for p in $pids; do
		kill "$p" 2>/dev/null || true
	done
	for p in $pids; do
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$BENCH_PIN" = 1 ] && [ "$(nproc)" -ge 2 ]; then
	PIN_SERVER="taskset -c 0"
	PIN_CLIENT="taskset -c 1"
	pin_note="servers (all their processes and threads) pinned to CPU 0, load generator to CPU 1"
else
	PIN_SERVER=
	PIN_CLIENT=
	pin_note="no pinning: servers and load generator share all $(nproc) CPUs"
fi
fstype=$(findmnt -no FSTYPE -T "$tmp" 2>/dev/null || stat -f -c %T "$tmp")
case $fstype in tmpfs|ramfs)
	echo "run.sh: warning: $tmp is on $fstype, not a disk" >&2 ;;
esac

free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 40000))
		if [ -z "$(ss -Htln "sport = :$p" 2>/dev/null)" ]; then
			echo "$p"
			return
		fi
	done
}

wait_ready() {	# url pid
	local i
	for i in $(seq 1 100); do
		if curl -sf -o /dev/null "$1"; then
			return 0
		fi
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

rss_kb() {	# pid...
	local p sum=0 v
	for p in "$@"; do
		v=$(awk '/^VmRSS:/{print $2}' "/proc/$p/status" 2>/dev/null)
		sum=$((sum + ${v:-0}))
	done
	echo "$sum"
}

pss_kb() {	# pid...: proportional set size, shared pages split
	local p sum=0 v
	for p in "$@"; do
		v=$(awk '/^Pss:/{print $2}' "/proc/$p/smaps_rollup" 2>/dev/null)
		sum=$((sum + ${v:-0}))
	done
	echo "$sum"
}

declare -A port pidlist res

# The registry configuration docker-registry gets: DIR PORT.
registry_config() {
	cat <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $1
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: 127.0.0.1:$2
EOF
}

# Start to the first 200 on /v2/, in ms, median of N_START starts, each
# on a fresh data directory: res[SERVER.startup]; the CPU time the
# server's processes had used by then, median: res[SERVER.startup_cpu].
# Then, on the same start, to the first answer that needed the store (a
# GET of /v2/_catalog sent right after that 200; berthd answers /v2/
# before berth-blobd is ready): res[SERVER.startup_store] and
# res[SERVER.startup_store_cpu].
measure_startup() {	# server
	local i p d out ms cpu rest ms2 cpu2 rest2 all= cpus= all2= cpus2= by=
	for i in $(seq 1 "$N_START"); do
		p=$(free_port)
		d=$tmp/start.$1.$i
		mkdir -p "$d"
		case $1 in
		berth)
			out=$($PIN_CLIENT python3 "$here/startup.py" \
			    --then /v2/_catalog "$p" \
			    $PIN_SERVER "$BERTHD" --blobd "$BLOBD" \
			    --listen "127.0.0.1:$p" --data-dir "$d/data" \
			    --create-on-push) ;;
		docker-registry)
			registry_config "$d/data" "$p" >"$d/config.yml"
			out=$($PIN_CLIENT python3 "$here/startup.py" \
			    --then /v2/_catalog "$p" \
			    $PIN_SERVER "$REGISTRY" serve "$d/config.yml") ;;
		esac
		rm -rf "$d"
		ms= cpu= rest= ms2= cpu2= rest2=
		{ read -r ms cpu rest; read -r ms2 cpu2 rest2; } <<<"$out" || true
		[ -n "$ms" ] && all="$all $ms"
		[ -n "$cpu" ] && cpus="$cpus ${cpu#cpu=}"
		[ -n "$ms2" ] && all2="$all2 $ms2"
		[ -n "$cpu2" ] && cpus2="$cpus2 ${cpu2#cpu=}"
		[ -n "$rest" ] && by="$by
/v2/: $rest"
		[ -n "$rest2" ] && by="$by
  _catalog: $rest2"
	done
	res[$1.startup]=$(median $all)
	res[$1.startup_cpu]=$(median $cpus)
	res[$1.startup_store]=$(median $all2)
	res[$1.startup_store_cpu]=$(median $cpus2)
	echo "  $1 start to first 200: ${res[$1.startup]:-failed} ms" \
	    "(of:$all); CPU by then ${res[$1.startup_cpu]:--} ms (of:$cpus)"
	echo "  $1 start to first store answer (_catalog):" \
	    "${res[$1.startup_store]:-failed} ms (of:$all2); CPU by then" \
	    "${res[$1.startup_store_cpu]:--} ms (of:$cpus2)"
	echo "$1 startup RESULT ms=${res[$1.startup]:--}" \
	    "cpu_ms=${res[$1.startup_cpu]:--}" \
	    "store_ms=${res[$1.startup_store]:--}" \
	    "store_cpu_ms=${res[$1.startup_store_cpu]:--}" >>"$raw"
	echo "$by" | sed '/^$/d; s/^/    /'
}

median() {	# value...
	echo "$@" | tr ' ' '\n' | sed '/^$/d' | sort -n |
	    awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'
}

start_berth() {
	local p bpid spawner worker
	p=$(free_port)
	mkdir -p "$tmp/berth"
	$PIN_SERVER "$BERTHD" --blobd "$BLOBD" --listen "127.0.0.1:$p" \
	    --data-dir "$tmp/berth" --create-on-push \
	    >"$tmp/berthd.log" 2>&1 &
	bpid=$!
	pids="$pids $bpid"
	wait_ready "http://127.0.0.1:$p/v2/" "$bpid" || {
		echo "run.sh: berthd did not become ready:" >&2
		tail -20 "$tmp/berthd.log" >&2
		exit 1
	}
	# berthd -> its spawner -> berth-blobd: all three are berth.
	spawner=$(pgrep -P "$bpid" | head -1)
	worker=
	[ -n "$spawner" ] && worker=$(pgrep -P "$spawner" -f berth-blobd |
	    head -1)
	[ -n "$worker" ] || { echo "run.sh: no berth-blobd under berthd" >&2
		exit 1; }
	port[berth]=$p
	pidlist[berth]="$bpid $spawner $worker"
}

start_registry() {
	local p rpid
	p=$(free_port)
	mkdir -p "$tmp/registry"
	registry_config "$tmp/registry" "$p" >"$tmp/registry.yml"
	$PIN_SERVER "$REGISTRY" serve "$tmp/registry.yml" \
	    >"$tmp/registry.log" 2>&1 &
	rpid=$!
	pids="$pids $rpid"
	wait_ready "http://127.0.0.1:$p/v2/" "$rpid" || {
		echo "run.sh: docker-registry did not become ready:" >&2
		tail -20 "$tmp/registry.log" >&2
		exit 1
	}
	port[docker-registry]=$p
	pidlist[docker-registry]=$rpid
}

# --- setup: blobs and a manifest through the API (curl, not timed) -------

push_file() {	# server repo file -> digest
	local base="http://127.0.0.1:${port[$1]}" loc d sep
	d=sha256:$(sha256sum "$3" | cut -d' ' -f1)
	loc=$(curl -sf -D - -o /dev/null -X POST \
	    "$base/v2/$2/blobs/uploads/" | tr -d '\r' |
	    awk -F': ' 'tolower($1)=="location"{print $2}')
	[ -n "$loc" ] || { echo "run.sh: $1: POST uploads failed" >&2; exit 1; }
	case $loc in /*) loc=$base$loc ;; esac
	case $loc in *\?*) sep='&' ;; *) sep='?' ;; esac
	curl -sf -o /dev/null -X PUT -H 'Content-Type: application/octet-stream' \
	    --data-binary "@$3" "$loc${sep}digest=$d" ||
	    { echo "run.sh: $1: blob PUT failed" >&2; exit 1; }
	echo "$d"
}

MANIFEST_TYPE=application/vnd.oci.image.manifest.v1+json
ACCEPT="Accept: $MANIFEST_TYPE, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json"

setup_manifest() {	# server
	local base="http://127.0.0.1:${port[$1]}" cd ld
	cd=$(push_file "$1" bench "$tmp/config.json")
	ld=$(push_file "$1" bench "$tmp/layer.tar.gz")
	printf '{"schemaVersion":2,"mediaType":"%s","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":%d}]}' \
	    "$MANIFEST_TYPE" "$cd" "$(stat -c %s "$tmp/config.json")" \
	    "$ld" "$(stat -c %s "$tmp/layer.tar.gz")" >"$tmp/manifest.json"
	curl -sf -o /dev/null -X PUT -H "Content-Type: $MANIFEST_TYPE" \
	    --data-binary "@$tmp/manifest.json" \
	    "$base/v2/bench/manifests/latest" ||
	    { echo "run.sh: $1: manifest PUT failed" >&2; exit 1; }
	curl -sf -o /dev/null -H "$ACCEPT" "$base/v2/bench/manifests/latest" ||
	    { echo "run.sh: $1: manifest GET failed" >&2; exit 1; }
}

# --- measuring ------------------------------------------------------------

mkdir -p "$RESULTS"
raw=$RESULTS/latest.raw
: >"$raw"

# lg name server loadgen-args...: runs loadgen, keeps its RESULT line.
# The server's processes are passed for CPU and memory accounting.
lg() {
	local name=$1 server=$2 out p
	shift 2
	p=$(echo ${pidlist[$server]:-} | tr ' ' ',')
	$PIN_CLIENT "$LOADGEN" -q -t "127.0.0.1:${port[$server]}" \
	    ${p:+-p "$p"} "$@" >"$tmp/lg.out" || true
	out=$(grep '^RESULT' "$tmp/lg.out" || true)
	echo "$server $name $out" >>"$raw"
	if [ -z "$out" ]; then
		echo "run.sh: $server $name: loadgen failed" >&2
		res[$server.$name]=
		return
	fi
	res[$server.$name]=$out
	printf '  %-16s %-16s %s\n' "$server" "$name" \
	    "$(echo "$out" | cut -d' ' -f3-12)"
}

field() {	# key server name
	local line=${res[$2.$3]:-}
	[ -n "$line" ] || { echo "-"; return; }
	echo "$line" | tr ' ' '\n' |
	    awk -F= -v k="$1" '$1 == k { print $2; f = 1 } END { if (!f) print "-" }'
}

# fmtn decimals value: a number rounded for the table, "-" left alone.
fmtn() {
	awk -v d="$1" -v v="$2" 'BEGIN {
		if (v == "-" || v == "") print "-"; else printf "%.*f\n", d, v }'
}

# Dirty pages one server left behind must not be written back while the
# other one is measured.
settle() {
	sync
}

echo "berth bench: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), $(nproc) CPUs," \
    "$pin_note"
echo "data on $tmp ($fstype)"

head -c 1024 /dev/urandom >"$tmp/layer.tar.gz"
printf '{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$(sha256sum "$tmp/layer.tar.gz" | cut -d' ' -f1)" >"$tmp/config.json"

echo "start-up ($N_START starts each, fresh data directories)"
for s in $servers; do
	measure_startup "$s"
done

for s in $servers; do
	case $s in
	berth) start_berth ;;
	docker-registry) start_registry ;;
	esac
done
sleep 1
for s in $servers; do
	res[$s.rss_idle]=$(rss_kb ${pidlist[$s]})
	res[$s.pss_idle]=$(pss_kb ${pidlist[$s]})
	echo "  $s: 127.0.0.1:${port[$s]}, pids ${pidlist[$s]}," \
	    "idle RSS ${res[$s.rss_idle]} KiB, PSS ${res[$s.pss_idle]} KiB"
	[ $startonly = 1 ] || setup_manifest "$s"
done
# -s: the start-up and the idle memory only (a few seconds).
[ $startonly = 1 ] && exit 0

# First, while the servers are as fresh as they can be: what a big
# streamed upload costs in memory.
echo "memory"
for s in $servers; do
	settle
	lg big "$s" push-chunked -n 1 -s "$BIG" -r bench
done
# Then a burst: 200 clients each pushing a 1 MiB blob at once.  The
# front process's own peak (berthd alone: issue 15 bounds it at 32 MiB),
# and what all the server's processes hold ten seconds after the burst.
echo "burst"
for s in $servers; do
	settle
	front=${pidlist[$s]%% *}
	pidlist_all=${pidlist[$s]}
	pidlist[$s]=$front
	lg burst "$s" push -c 200 -n 200 -s 1M -r burst
	pidlist[$s]=$pidlist_all
	sleep 10
	res[$s.rss_after_burst]=$(rss_kb ${pidlist[$s]})
done

# Medians over repetitions: res[S.NAME] gets, for every key of the RESULT
# lines res[S.NAME.1] .. res[S.NAME.N], the median of its values.
median_of() {	# server name reps
	local k lines=
	for k in $(seq 1 "$3"); do
		lines="$lines${res[$1.$2.$k]:-}
"
	done
	res[$1.$2]=$(printf '%s' "$lines" | awk 'NF {
		for (i = 2; i <= NF; i++) {
			split($i, a, "=")
			if (a[2] !~ /^-?[0-9.]+$/) continue
			if (!(a[1] in n)) keys[++nk] = a[1]
			v[a[1], ++n[a[1]]] = a[2] + 0
		} }
	    END {
		if (nk == 0) exit
		printf "RESULT reps=%d", NR
		for (j = 1; j <= nk; j++) {
			k = keys[j]; m = n[k]
			for (x = 1; x <= m; x++) s[x] = v[k, x]
			for (x = 2; x <= m; x++)	# insertion sort
				for (y = x; y > 1 && s[y - 1] > s[y]; y--) {
					t = s[y]; s[y] = s[y - 1]; s[y - 1] = t
				}
			med = (m % 2) ? s[(m + 1) / 2] : (s[m / 2] + s[m / 2 + 1]) / 2
			printf " %s=%s", k, med
		}
		printf "\n" }')
	[ -n "${res[$1.$2]}" ] || res[$1.$2]=
	echo "$1 $2 ${res[$1.$2]}" >>"$raw"
}

# Each repetition measures every push once on each server, the servers'
# order alternating, so that a burst of background load falls on one
# repetition of one server rather than on all of them.
echo "push ($REPS repetitions)"
order=$servers
for k in $(seq 1 "$REPS"); do
	for s in $order; do
		settle
		lg "push64.$k" "$s" push -n "$N_PUSH64" -s 64M -r bench
		settle
		lg "push64patch.$k" "$s" push-patch -n "$N_PUSH64" -s 64M \
		    -r bench
		settle
		lg "push512.$k" "$s" push -n "$N_PUSH512" -s 512M -r bench
		settle
		lg "push512patch.$k" "$s" push-patch -n "$N_PUSH512" \
		    -s 512M -r bench
		settle
		lg "push1m.$k" "$s" push -n "$N_PUSH1M" -s 1M -r bench
		settle
		lg "push1mpatch.$k" "$s" push-patch -n "$N_PUSH1M" -s 1M \
		    -r bench
		settle
		lg "push4k.$k" "$s" push -n "$N_PUSH4K" -s 4K -r bench
		settle
		lg "push4k16.$k" "$s" push -c 16 -n "$N_PUSH4K" -s 4K -r bench
	done
	order=$(echo $order | awk '{ for (i = NF; i > 0; i--) printf "%s ", $i }')
done
for s in $servers; do
	for n in push64 push64patch push512 push512patch push1m \
	    push1mpatch push4k push4k16; do
		median_of "$s" "$n" "$REPS"
	done
done

echo "pull"
# Rounds of a few GETs each of the sendfile probe and of each server, so
# that the machine's background load hits them alike.
$PIN_SERVER "$PROBE" -D "$tmp" -s 64M >"$tmp/probe.port" &
probe_pid=$!
pids="$pids $probe_pid"
for i in $(seq 1 50); do
	[ -s "$tmp/probe.port" ] && break
	sleep 0.1
done
port[sendfile]=$(awk '/^PORT/{print $2}' "$tmp/probe.port")
declare -A pullpath
pullpath[sendfile]=/probe
for s in $servers; do
	settle
	d=$($LOADGEN -q -P -t "127.0.0.1:${port[$s]}" push -n 1 -s 64M \
	    -r bench | awk '/^DIGEST/{print $2}')
	pullpath[$s]=/v2/bench/blobs/$d
	lg pull64warm "$s" pull -n 1 "${pullpath[$s]}" >/dev/null
done
for r in $(seq 1 "$PULL_ROUNDS"); do
	for s in sendfile $servers; do
		lg "pull64_$r" "$s" pull -v -n "$PULL_PER_ROUND" \
		    "${pullpath[$s]}" >/dev/null
		awk '/^OP /{print $3}' "$tmp/lg.out" >>"$tmp/pull.$s"
	done
done
kill "$probe_pid" 2>/dev/null || true
wait "$probe_pid" 2>/dev/null || true
for s in sendfile $servers; do
	# Median and best request over all rounds; MB/s of 64 MiB.
	res[$s.pull64]=$(sort -n "$tmp/pull.$s" | awk '{ v[NR] = $1 }
	    END { m = v[int((NR + 1) / 2)]; b = v[1]
		printf "RESULT ops=%d p50_ms=%.3f min_ms=%.3f", NR, m, b
		printf " median_mbps=%.1f best_mbps=%.1f\n",
		    67108864 / m / 1000, 67108864 / b / 1000 }')
	# The server's CPU per request: the mean over the rounds.
	res[$s.pull64]="${res[$s.pull64]} $(awk -v s="$s" '$1 == s &&
	    $2 ~ /^pull64_[0-9]/ { for (i = 3; i <= NF; i++)
		if ($i ~ /^server_us_op=/) { split($i, a, "="); t += a[2]; n++ } }
	    END { if (n) printf "server_us_op=%.1f", t / n }' "$raw")"
	echo "$s pull64 ${res[$s.pull64]}" >>"$raw"
	printf '  %-16s %-16s %s\n' "$s" pull64 "${res[$s.pull64]#RESULT }"
done
declare -A get1mpath
for s in $servers; do
	d=$($LOADGEN -q -P -t "127.0.0.1:${port[$s]}" push -n 1 -s 1M \
	    -r bench | awk '/^DIGEST/{print $2}')
	get1mpath[$s]=/v2/bench/blobs/$d
done
order=$servers
for k in $(seq 1 "$REPS"); do
	for s in $order; do
		lg "get1m.$k" "$s" get -c 16 -d "$D_GET1M" -w "$WARMUP" \
		    "${get1mpath[$s]}"
	done
	order=$(echo $order | awk '{ for (i = NF; i > 0; i--) printf "%s ", $i }')
done
for s in $servers; do
	median_of "$s" get1m "$REPS"
done

echo "manifests"
for m in get head; do
	for c in 16 64; do
		for s in $servers; do
			lg "manifest_${m}_$c" "$s" "$m" -c "$c" \
			    -d "$D_MANIFEST" -w "$WARMUP" -H "$ACCEPT" \
			    /v2/bench/manifests/latest
		done
	done
done

# --- the table --------------------------------------------------------------

table=$RESULTS/latest.txt
{
	echo "berth vs docker-registry $($REGISTRY --version 2>/dev/null |
	    awk '{print $NF}'), $(date -u '+%Y-%m-%d %H:%M UTC'), commit" \
	    "$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo '?')"
	echo "$(nproc) CPUs shared by both servers and the load generator;" \
	    "$pin_note."
	echo "Push and 1 MiB GET rows: the median of $REPS repetitions," \
	    "each server's turns alternating; pulls: $PULL_ROUNDS rounds."
	echo "Data directories on $fstype (same disk as /work), not tmpfs." \
	    "berth fsyncs every blob before acknowledging it; docker-registry" \
	    "does not."
	echo
} >"$table"

# row label berth registry ratio target status
fmt='%-36s %12s %16s %9s %-18s %s\n'
printf "$fmt" metric berth docker-registry ratio target status >>"$table"

ratio() {	# a b -> a/b or -
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a == "-" || b == "-" || a == "" || b == "" || b + 0 == 0)
			print "-"
		else
			printf "%.2f\n", a / b }'
}

judge() {	# value op limit -> met / MISSED / -
	awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN {
		if (v == "-" || v == "") { print "-"; exit }
		ok = (op == ">=") ? (v + 0 >= l + 0) : (v + 0 <= l + 0)
		print ok ? "met" : "MISSED" }'
}

row_ratio() {	# label key name target-ratio
	local b r q
	b=$(fmtn 1 "$(field "$2" berth "$3")")
	r=$(fmtn 1 "$(field "$2" docker-registry "$3")")
	q=$(ratio "$b" "$r")
	printf "$fmt" "$1" "$b" "$r" "${q}x" ">= ${4}x" \
	    "$(judge "$q" '>=' "$4")" >>"$table"
}

row_p99() {	# label name
	local b r
	b=$(fmtn 2 "$(field p99_ms berth "$2")")
	r=$(fmtn 2 "$(field p99_ms docker-registry "$2")")
	printf "$fmt" "$1" "$b" "$r" "" "<= 10 ms" \
	    "$(judge "$b" '<=' 10)" >>"$table"
}

row_ratio "push 64 MiB, MB/s (median of $N_PUSH64)" median_mbps push64 2.5
row_ratio "push 64 MiB PATCH, MB/s (median)" median_mbps push64patch 2.5
row_ratio "push 512 MiB, MB/s (median of $N_PUSH512)" median_mbps push512 3
row_ratio "push 512 MiB PATCH, MB/s (median)" median_mbps push512patch 3
row_ratio "push 1 MiB x$N_PUSH1M seq, MB/s" mbps push1m 5
row_ratio "push 1 MiB PATCH x$N_PUSH1M seq, MB/s" mbps push1mpatch 5
row_ratio "push 4 KiB x$N_PUSH4K seq, blobs/s" rps push4k 10
row_ratio "push 4 KiB x$N_PUSH4K 16 clients, blobs/s" rps push4k16 15
sf=$(field best_mbps sendfile pull64)
b=$(field median_mbps berth pull64)
r=$(field median_mbps docker-registry pull64)
q=$(ratio "$b" "$sf")
npull=$((PULL_ROUNDS * PULL_PER_ROUND))
printf "$fmt" "sendfile loopback baseline, MB/s" "$sf" "" "" \
    "(best of $npull)" "" >>"$table"
printf "$fmt" "pull 64 MiB, MB/s (median of $npull)" "$b" "$r" \
    "${q}sf" ">= 0.85 sendfile" "$(judge "$q" '>=' 0.85)" >>"$table"
b=$(field best_mbps berth pull64)
r=$(field best_mbps docker-registry pull64)
printf "$fmt" "  (best pull, MB/s)" "$b" "$r" "$(ratio "$b" "$sf")sf" "" "" \
    >>"$table"
sfm=$(fmtn 1 "$(field median_mbps sendfile pull64)")
b=$(fmtn 1 "$(field median_mbps berth pull64)")
r=$(fmtn 1 "$(field median_mbps docker-registry pull64)")
printf "$fmt" "  (median vs sendfile median $sfm)" "$b" "$r" \
    "$(ratio "$b" "$sfm")sf" "" "" >>"$table"
row_ratio "GET 1 MiB blob, 16 conns, MB/s" mbps get1m 4
for m in get head; do
	M=$(echo $m | tr a-z A-Z)
	for c in 16 64; do
		row_ratio "manifest $M, $c conns, req/s" rps \
		    "manifest_${m}_$c" 15
		row_p99 "manifest $M, $c conns, p99 ms" "manifest_${m}_$c"
	done
done
b=${res[berth.startup]:--}
r=${res[docker-registry.startup]:--}
printf "$fmt" "start to first 200 on /v2/, ms" "$b" "$r" "" "<= 10 ms" \
    "$(judge "$b" '<=' 10)" >>"$table"
printf "$fmt" "  (CPU used by then, all processes, ms)" \
    "${res[berth.startup_cpu]:--}" "${res[docker-registry.startup_cpu]:--}" \
    "" "" "" >>"$table"
printf "$fmt" "start to first store answer (_catalog), ms" \
    "${res[berth.startup_store]:--}" "${res[docker-registry.startup_store]:--}" \
    "" "" "" >>"$table"
printf "$fmt" "  (CPU used by then, all processes, ms)" \
    "${res[berth.startup_store_cpu]:--}" \
    "${res[docker-registry.startup_store_cpu]:--}" "" "" "" >>"$table"
mib() { awk -v k="$1" 'BEGIN { if (k == "" || k == "-") print "-";
	else printf "%.1f\n", k / 1024 }'; }
b=$(mib "${res[berth.rss_idle]:-}")
r=$(mib "${res[docker-registry.rss_idle]:-}")
printf "$fmt" "RSS idle, MiB (all processes)" "$b" "$r" "" "<= 8 MiB" \
    "$(judge "$b" '<=' 8)" >>"$table"
printf "$fmt" "  (PSS idle: shared pages split, MiB)" \
    "$(mib "${res[berth.pss_idle]:-}")" \
    "$(mib "${res[docker-registry.pss_idle]:-}")" "" "" "" >>"$table"
b=$(mib "$(field rss_delta_kb berth big)")
r=$(mib "$(field rss_delta_kb docker-registry big)")
printf "$fmt" "RSS increase, $BIG chunked push, MiB" "$b" "$r" "" \
    "<= +16 MiB" "$(judge "$b" '<=' 16)" >>"$table"
b=$(field median_mbps berth big)
r=$(field median_mbps docker-registry big)
printf "$fmt" "  (that push, MB/s)" "$b" "$r" "$(ratio "$b" "$r")x" "" "" \
    >>"$table"
b=$(mib "$(field rss_peak_kb berth burst)")
r=$(mib "$(field rss_peak_kb docker-registry burst)")
printf "$fmt" "RSS peak, 200x1 MiB at once, MiB (front)" "$b" "$r" "" \
    "<= 32 MiB" "$(judge "$b" '<=' 32)" >>"$table"
b=$(mib "${res[berth.rss_after_burst]:-}")
r=$(mib "${res[docker-registry.rss_after_burst]:-}")
printf "$fmt" "RSS 10 s after the burst, MiB (all)" "$b" "$r" "" "" "" \
    >>"$table"
{
	echo
	echo "Server CPU time per operation (all the server's processes;" \
	    "an op is a request, or a whole push), the server's CPU use," \
	    "and what else kept the machine busy meanwhile (other processes," \
	    "softirq; steal = taken by the hypervisor), in CPUs."
	cfmt='%-18s %11s %11s %8s %8s %13s %11s\n'
	printf "$cfmt" measurement "berth us/op" "d-r us/op" "berth" "d-r" \
	    "other b / d-r" "steal b/d-r"
	for n in push64 push64patch push512 push512patch push1m \
	    push1mpatch push4k push4k16 pull64 get1m \
	    manifest_get_16 manifest_get_64 manifest_head_16 \
	    manifest_head_64 big; do
		printf "$cfmt" "$n" \
		    "$(fmtn 1 "$(field server_us_op berth $n)")" \
		    "$(fmtn 1 "$(field server_us_op docker-registry $n)")" \
		    "$(fmtn 2 "$(field cpu_server berth $n)")" \
		    "$(fmtn 2 "$(field cpu_server docker-registry $n)")" \
		    "$(fmtn 2 "$(field cpu_other berth $n)")/$(fmtn 2 \
			"$(field cpu_other docker-registry $n)")" \
		    "$(fmtn 2 "$(field cpu_steal berth $n)")/$(fmtn 2 \
			"$(field cpu_steal docker-registry $n)")"
	done
} >>"$table"
{
	echo
	echo "Push steps, p50 ms: POST opens a session; PATCH sends the body;" \
	    "PUT closes it (with the body in the push rows, empty after a PATCH)."
	pfmt='%-12s %9s %9s %9s   %9s %9s %9s\n'
	printf "$pfmt" "" "berth" "" "" "d-r" "" ""
	printf "$pfmt" measurement POST PATCH PUT POST PATCH PUT
	for n in push64 push64patch push512 push512patch push1m \
	    push1mpatch push4k push4k16 big; do
		printf "$pfmt" "$n" $(for sv in berth docker-registry; do
			put=$(field put_p50_ms $sv $n)
			[ "$put" = - ] && put=$(field put0_p50_ms $sv $n)
			for v in "$(field post_p50_ms $sv $n)" \
			    "$(field patch_p50_ms $sv $n)" "$put"; do
				fmtn 2 "$v"
			done
		done)
	done
} >>"$table"
busy=$(awk '{ for (i = 3; i <= NF; i++) if ($i ~ /^cpu_other=/) {
	split($i, a, "="); t += a[2]; n++ } }
    END { if (n) printf "%.2f", t / n; else print 0 }' "$raw")
{
	echo
	echo "Other load on the machine during the measurements: $busy CPUs" \
	    "on average (of $(nproc))."
	if awk -v b="$busy" 'BEGIN { exit !(b > 0.5) }'; then
		echo "WARNING: the machine was busy with other work; these" \
		    "numbers are noisy. Re-run when it is idle."
	fi
} >>"$table"
errs=$(awk '{for (i = 3; i <= NF; i++) if ($i ~ /^errors=/ &&
    $i != "errors=0") n++} END {print n + 0}' "$raw")
if [ "$errs" != 0 ]; then
	echo >>"$table"
	echo "$errs measurement(s) had errors: see $raw" >>"$table"
fi
echo
cat "$table"
