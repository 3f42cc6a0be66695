# Shared by the integration scripts: start and stop berthd on a free port
# and a private data directory, count checks, clean up.  Source it.
#
# BERTHD and BLOBD name the binaries (default: the build tree's, found from
# the current directory, or build/).

set -uo pipefail

if [ -z "${BERTHD:-}" ]; then
	for d in . build; do
		if [ -x "$d/daemon/berthd" ]; then
			BERTHD=$(cd "$d" && pwd)/daemon/berthd
			BLOBD=$(cd "$d" && pwd)/blobd/berth-blobd
			break
		fi
	done
fi
: "${BERTHD:?set BERTHD to the berthd binary}"
: "${BLOBD:?set BLOBD to the berth-blobd binary}"

T_PASSED=0
T_FAILED=0
T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/berth-it.XXXXXX")
T_PIDS=()

t_cleanup() {
	local p
	[ -n "${ROOT_NS_PID:-}" ] && root_stop
	for p in "${T_PIDS[@]}"; do
		kill -9 "$p" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$T_TMP"
}
trap t_cleanup EXIT

ok() {
	T_PASSED=$((T_PASSED + 1))
	printf 'ok %s\n' "$1"
}

fail() {
	T_FAILED=$((T_FAILED + 1))
	printf 'FAIL %s\n' "$1"
}

# check NAME COMMAND...: passes when the command succeeds.
check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else fail "$name"; fi
}

# fails_with NAME EXCEPTION command...: the command (an AWS CLI call)
# fails with that exception.
fails_with() {
	local name=$1 exc=$2 out
	shift 2
	if out=$("$@" 2>&1); then
		fail "$name: succeeded: $out"
	elif grep -q "($exc)" <<<"$out"; then
		ok "$name"
	else
		fail "$name: $out"
	fi
}

# jqcheck NAME FILTER JSON: passes when jq's FILTER holds for JSON.
jqcheck() {
	if jq -e "$2" <<<"$3" >/dev/null; then ok "$1"; else fail "$1: $3"; fi
}

t_summary() {
	printf '%d passed, %d failed\n' "$T_PASSED" "$T_FAILED"
	[ "$T_FAILED" = 0 ]
}

# need_root WHAT: unless this runs as root, says that WHAT is skipped and
# ends the script.
need_root() {
	[ "$(id -u)" = 0 ] && return 0
	printf 'skip %s: it needs root\n' "$1"
	t_summary
	exit
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_for SECONDS COMMAND...: polls until the command succeeds.
wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	while ! "$@" 2>/dev/null; do
		[ $SECONDS -ge "$deadline" ] && return 1
		sleep 0.05
	done
}

# start_berthd DATADIR [ARGS...]: sets PORT, URL, BERTHD_PID; logs to
# DATADIR.log.
start_berthd() {
	local dir=$1
	shift
	PORT=$(free_port)
	URL="http://127.0.0.1:$PORT"
	"$BERTHD" --blobd "$BLOBD" --listen "127.0.0.1:$PORT" --data-dir "$dir" \
	    "$@" >>"$dir.log" 2>&1 &
	BERTHD_PID=$!
	T_PIDS+=("$BERTHD_PID")
	wait_for 30 curl -sf -o /dev/null "$URL/_berth/health"
}

# berthd's spawner: its only child, which starts every berth-blobd.
spawner_pid() {
	pgrep -P "$1" | head -1
}

# The berth-blobd of a berthd: a child of its spawner.
blobd_pid() {
	local s
	s=$(spawner_pid "$1")
	[ -n "$s" ] && pgrep -P "$s" -f berth-blobd | head -1
}

# The berth-scand (berth-fetchd) of a berthd: a child of its spawner too.
scand_pid() {
	local s
	s=$(spawner_pid "$1")
	[ -n "$s" ] && pgrep -P "$s" -f berth-scand | head -1
}
fetchd_pid() {
	local s
	s=$(spawner_pid "$1")
	[ -n "$s" ] && pgrep -P "$s" -f berth-fetchd | head -1
}

# worker_restarted OLD_PID: true once /_berth/health answers 200 naming a
# worker other than OLD_PID.  Right after a kill -9 of the worker, health
# may still answer 200 for the old one (berthd has not read the socket's
# end yet), so "health is 200" alone does not mean the new one serves.
worker_restarted() {
	local h
	h=$(curl -s -w ' %{http_code}' "$URL/_berth/health") || return 1
	case $h in
	*"\"blobd_pid\":$1,"* | *"\"blobd_pid\":$1}"*) return 1 ;;
	*'"blobd_pid":'*' 200') return 0 ;;
	*) return 1 ;;
	esac
}

http_status() {
	curl -s -o /dev/null -w '%{http_code}' "$@"
}

sha256_of() {
	sha256sum "$1" | cut -d' ' -f1
}

# --- a throwaway root -------------------------------------------------------
# root_start: this machine's / under an overlay whose changes go to a tmpfs,
# at $ROOT in a private mount namespace (held by a sleeping process), with
# /dev, /proc and /sys and an empty /run.  in_root COMMAND... runs a
# command chrooted there: what it installs or writes (dpkg, apt-get, a
# build) never reaches the machine and is gone with the namespace, when
# the sleeper is killed on exit.  Needs root.
root_start() {
	ROOT=$T_TMP/root
	mkdir -p "$ROOT" "$T_TMP/layers" || return 1
	# Not a job of this shell: killing it at the end is no news.
	ROOT_NS_PID=$( (unshare -m --propagation private sleep infinity \
	    </dev/null >/dev/null 2>&1 & echo $!) )
	T_PIDS+=("$ROOT_NS_PID")
	wait_for 30 root_ns_made || return 1
	nsenter -t "$ROOT_NS_PID" -m sh -ec '
		mount -t tmpfs -o size=8g tmpfs "$1"
		mkdir "$1/upper" "$1/work"
		mount -t overlay overlay \
		    -o "lowerdir=/,upperdir=$1/upper,workdir=$1/work" "$2"
		mount --rbind /dev "$2/dev"
		mount -t proc proc "$2/proc"
		mount --rbind /sys "$2/sys"
		mount -t tmpfs -o mode=0755 tmpfs "$2/run"' \
	    sh "$T_TMP/layers" "$ROOT"
}

# Whether unshare has made the sleeper's namespace yet.
root_ns_made() {
	test "$(readlink "/proc/$ROOT_NS_PID/ns/mnt")" != \
	    "$(readlink "/proc/$$/ns/mnt")"
}

# root_stop: ends every process of the throwaway root's namespace (this
# script started them all), which takes the namespace and its mounts away.
root_stop() {
	local ns p
	ns=$(readlink "/proc/$ROOT_NS_PID/ns/mnt" 2>/dev/null)
	if [ -n "$ns" ] && root_ns_made; then
		for p in /proc/[0-9]*; do
			[ "$(readlink "$p/ns/mnt" 2>/dev/null)" = "$ns" ] &&
			    kill -9 "${p#/proc/}" 2>/dev/null
		done
	fi
	ROOT_NS_PID=
}

# descendant PID NAME: the first process called NAME below PID.
descendant() {
	local c
	for c in $(pgrep -P "$1"); do
		if [ "$(cat "/proc/$c/comm" 2>/dev/null)" = "$2" ]; then
			echo "$c"
			return 0
		fi
		descendant "$c" "$2" && return 0
	done
	return 1
}

in_root() {
	nsenter -t "$ROOT_NS_PID" -m -- chroot "$ROOT" "$@"
}

# in_root_shell COMMAND-LINE: runs it with bash in the throwaway root, in
# an environment as bare as a fresh root login's, stdin closed.
in_root_shell() {
	in_root env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
	    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	    bash -c "$1" </dev/null
}

# root_copy_tree DIR: the checkout (the files git tracks or would track;
# without git, all but build trees) into DIR in the throwaway root.
root_copy_tree() {
	in_root mkdir -p "$1" || return 1
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git ls-files -z -co --exclude-standard |
		    while IFS= read -r -d '' f; do
			[ -e "$f" ] && printf '%s\0' "$f"
		    done | tar --null -T - -cf -
	else
		tar --exclude='./build*' \
		    --exclude=./tests/integration/ecr_js/node_modules -cf - .
	fi | in_root tar -xf - -C "$1"
}

# readme_command TEXT: the one-line command of README.md's quick start
# that contains TEXT.
readme_command() {
	awk '/^## / { q = ($0 ~ /^## Quick start/) }
	    q && /^```sh$/ { b = 1; next } b && /^```$/ { b = 0; next }
	    q && b' README.md | grep -F -- "$1"
}

# push_image REPO TAG [HOST]: pushes one config, one 5000-byte layer and an
# OCI manifest naming them through /v2/; the files are $T_TMP/c-TAG,
# $T_TMP/l-TAG and $T_TMP/m-TAG.
push_image() {
	local repo=$1 tag=$2 host=${3:-} h=() c l m
	[ -n "$host" ] && h=(-H "Host: $host")
	printf '{"tag":"%s"}' "$tag" >"$T_TMP/c-$tag"
	head -c 5000 /dev/urandom >"$T_TMP/l-$tag"
	c=sha256:$(sha256_of "$T_TMP/c-$tag")
	l=sha256:$(sha256_of "$T_TMP/l-$tag")
	curl -sf -o /dev/null "${h[@]}" -X POST --data-binary @"$T_TMP/c-$tag" \
	    "$URL/v2/$repo/blobs/uploads/?digest=$c" &&
	curl -sf -o /dev/null "${h[@]}" -X POST --data-binary @"$T_TMP/l-$tag" \
	    "$URL/v2/$repo/blobs/uploads/?digest=$l" || return 1
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"%s","size":5000}]}' \
	    "$c" "$(stat -c %s "$T_TMP/c-$tag")" "$l" >"$T_TMP/m-$tag"
	curl -sf -o /dev/null "${h[@]}" -X PUT \
	    -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
	    --data-binary @"$T_TMP/m-$tag" "$URL/v2/$repo/manifests/$tag"
}
