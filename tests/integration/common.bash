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

t_summary() {
	printf '%d passed, %d failed\n' "$T_PASSED" "$T_FAILED"
	[ "$T_FAILED" = 0 ]
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
