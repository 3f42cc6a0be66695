#!/usr/bin/env bash
# Durability of berth's registry side:
#  (a) an image pushed and acknowledged survives kill -9 of berthd (its
#      berth-blobd exits by itself when the socket closes): after a
#      restart on the same data directory every byte is pulled back;
#  (b) kill -9 of berth-blobd in the middle of a large streamed upload:
#      berthd answers 503 with Retry-After, stays up (same pid), starts a
#      new blobd, /_berth/health comes back 200, and the upload is resumed
#      from the offset the status request reports and completed; the same
#      between the PATCHes of a chunked upload, where every acknowledged
#      byte must still be there; and amid eight clients pushing small
#      and large blobs at once (grouped commits, the pack), where every
#      push that got its 201 must be there, byte for byte;
#  (c) SIGTERM: berthd exits 0 and leaves no berth-blobd behind.
#
# Binaries: $BERTHD and $BLOBD, default daemon/berthd and
# blobd/berth-blobd under the current directory.  Prints "ok NAME" or
# "FAIL NAME: why" per case, then "N passed, N failed".
set -euo pipefail

# Without BERTHD: the build tree in the current directory, else build/.
if [ -z "${BERTHD:-}" ] && [ ! -x daemon/berthd ] && [ -x build/daemon/berthd ]
then
	BERTHD=build/daemon/berthd
	BLOBD=${BLOBD:-build/blobd/berth-blobd}
fi
BERTHD=$(realpath -m "${BERTHD:-daemon/berthd}")
BLOBD=$(realpath -m "${BLOBD:-blobd/berth-blobd}")
for tool in curl python3 sha256sum pgrep; do
	command -v "$tool" >/dev/null || { echo "SKIP: no $tool"; exit 77; }
done
for bin in "$BERTHD" "$BLOBD"; do
	if [ ! -x "$bin" ]; then
		echo "FAIL setup: $bin is not an executable (set BERTHD and BLOBD)"
		echo "0 passed, 1 failed"
		exit 1
	fi
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/berth-durability.XXXXXX")
DATA=$TMP/data
BERTHD_PID=
CURL_PID=
cleanup() {
	local rc=$?
	if [ -n "$CURL_PID" ]; then
		kill "$CURL_PID" 2>/dev/null || true
	fi
	[ -s "$TMP/current" ] && BERTHD_PID=$(cat "$TMP/current")
	if [ -n "$BERTHD_PID" ] && kill -0 "$BERTHD_PID" 2>/dev/null; then
		kill -TERM "$BERTHD_PID" 2>/dev/null || true
		for _ in $(seq 150); do
			kill -0 "$BERTHD_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$BERTHD_PID" 2>/dev/null || true
	fi
	# a blobd of ours that outlived its berthd (a failure reported above)
	local p
	for p in $(pgrep -f -- "$DATA" 2>/dev/null || true); do
		kill -KILL "$p" 2>/dev/null || true
	done
	rm -rf "$TMP"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$DATA" "$TMP/logs" "$TMP/work"
W=$TMP/work

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Starts berthd on the data directory (a fresh port each time).  A small
# keeper subshell waits for it and writes its exit status to
# $TMP/berthd.<pid>.status, so that the status can be checked whichever
# subshell started it.
start_berthd() {
	local up=0 tag=$TMP/start.$SECONDS.$RANDOM
	PORT=$(free_port)
	URL=http://127.0.0.1:$PORT
	(
		set +e
		"$BERTHD" --blobd "$BLOBD" --listen "127.0.0.1:$PORT" \
		    --data-dir "$DATA" --create-on-push \
		    >>"$TMP/logs/berthd.log" 2>&1 &
		pid=$!
		echo "$pid" >"$tag"
		wait "$pid"
		echo $? >"$TMP/berthd.$pid.status.tmp"
		mv "$TMP/berthd.$pid.status.tmp" "$TMP/berthd.$pid.status"
	) </dev/null &
	for _ in $(seq 100); do
		[ -s "$tag" ] && break
		sleep 0.05
	done
	BERTHD_PID=$(cat "$tag")
	echo "$BERTHD_PID" >"$TMP/current"
	for _ in $(seq 300); do
		kill -0 "$BERTHD_PID" 2>/dev/null || break
		if curl -sf -o /dev/null "$URL/v2/"; then
			up=1
			break
		fi
		sleep 0.1
	done
	if [ $up != 1 ]; then
		echo "berthd did not come up; log:"
		tail -20 "$TMP/logs/berthd.log"
		return 1
	fi
}

# The exit status of a berthd once it has exited (bounded wait).
berthd_status() {	# PID SECONDS
	local i
	for i in $(seq $(($2 * 20))); do
		if [ -s "$TMP/berthd.$1.status" ]; then
			cat "$TMP/berthd.$1.status"
			return 0
		fi
		sleep 0.05
	done
	echo "no exit status for berthd $1" >&2
	return 1
}

# The berth-blobd child of berthd (exactly one).
blobd_pid() {
	local s p
	# berthd's only child is its spawner, which starts the worker.
	s=$(pgrep -P "$BERTHD_PID" || true)
	[ "$(wc -w <<<"$s")" = 1 ] || { echo "berthd children: '$s'" >&2; return 1; }
	# The spawner's other child is berth-fetchd.
	p=$(pgrep -P "$s" -f berth-blobd || true)
	[ "$(wc -w <<<"$p")" = 1 ] || { echo "blobd children: '$p'" >&2; return 1; }
	echo "$p"
}

# Waits (bounded) until a process is gone.
wait_gone() {	# PID SECONDS
	local i
	for i in $(seq $(($2 * 20))); do
		kill -0 "$1" 2>/dev/null || return 0
		# a zombie child of ours counts as gone
		[ "$(ps -o stat= -p "$1" 2>/dev/null | cut -c1)" = Z ] && return 0
		sleep 0.05
	done
	return 1
}

# --- HTTP helpers: status in $CODE, headers in $W/h, body in $W/b ------------
req() {
	CODE=$(curl -sS -o "$W/b" -D "$W/h" -w '%{http_code}' -H 'Expect:' "$@")
}
hdr() {
	tr -d '\r' <"$W/h" | awk -v n="$(tr 'A-Z' 'a-z' <<<"$1")" -F': ' \
	    'tolower($1) == n { v = $2 } END { print v }'
}
expect() {	# STATUS WHAT
	if [ "$CODE" != "$1" ]; then
		echo "$2: status $CODE, expected $1; body: $(head -c 300 "$W/b")"
		return 1
	fi
}
absurl() {	# a Location, absolute
	case $1 in
	http://*|https://*) echo "$1" ;;
	*) echo "$URL$1" ;;
	esac
}
addq() {	# URL KEY=VALUE
	case $1 in
	*\?*) echo "$1&$2" ;;
	*) echo "$1?$2" ;;
	esac
}
sha() { echo "sha256:$(sha256sum <"$1" | cut -d' ' -f1)"; }

# Pushes a file as a blob: POST, PATCH streamed, PUT ?digest=.
push_blob() {	# REPO FILE
	local d loc
	d=$(sha "$2")
	req -X POST "$URL/v2/$1/blobs/uploads/"
	expect 202 "POST upload"
	loc=$(absurl "$(hdr Location)")
	req -X PATCH -H 'Content-Type: application/octet-stream' \
	    --data-binary @"$2" "$loc"
	expect 202 "PATCH"
	loc=$(absurl "$(hdr Location)")
	req -X PUT "$(addq "$loc" "digest=$d")"
	expect 201 "PUT ?digest="
	[ "$(hdr Docker-Content-Digest)" = "$d" ]
}

# GETs a blob and compares it with a file.
check_blob() {	# REPO FILE
	local d
	d=$(sha "$2")
	req "$URL/v2/$1/blobs/$d"
	expect 200 "GET blob $d"
	cmp "$W/b" "$2"
	[ "$(hdr Docker-Content-Digest)" = "$d" ]
}

passed=0
failed=0
run_case() {
	local name=$1 rc t0=$SECONDS
	shift
	set +e
	(set -euo pipefail; "$@") >"$TMP/logs/$name.log" 2>&1
	rc=$?
	set -e
	if [ $rc = 0 ]; then
		passed=$((passed + 1))
		echo "ok $name ($((SECONDS - t0))s)"
		[ -z "${VERBOSE:-}" ] || sed 's/^/    /' "$TMP/logs/$name.log"
	else
		failed=$((failed + 1))
		echo "FAIL $name: exit $rc; last output:"
		tail -15 "$TMP/logs/$name.log" | sed 's/^/    /'
		echo "    --- berthd log:"
		tail -8 "$TMP/logs/berthd.log" | sed 's/^/    /'
	fi
}

# The cases run in subshells; the pid of the running berthd and its URL
# are handed on through files.
save_state() { echo "$BERTHD_PID $PORT" >"$TMP/state"; }
load_state() {
	read -r BERTHD_PID PORT <"$TMP/state"
	URL=http://127.0.0.1:$PORT
}

# === (a) kill -9 berthd after an acknowledged push =================================

t_kill9_berthd_then_pull() {
	load_state
	head -c 1000 /dev/urandom >"$W/l1"
	head -c $((5 * 1024 * 1024 + 7)) /dev/urandom >"$W/l2"
	head -c $((40 * 1024 * 1024)) /dev/urandom >"$W/l3"
	printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"n":%d}' \
	    $RANDOM >"$W/cfg"
	local f
	for f in cfg l1 l2 l3; do
		push_blob dur/img "$W/$f"
	done
	python3 - "$W" >"$W/manifest" <<'EOF'
import hashlib, json, os, sys
w = sys.argv[1]
def desc(mt, name):
    b = open(os.path.join(w, name), "rb").read()
    return {"mediaType": mt, "digest": "sha256:" + hashlib.sha256(b).hexdigest(),
            "size": len(b)}
m = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
     "config": desc("application/vnd.oci.image.config.v1+json", "cfg"),
     "layers": [desc("application/vnd.oci.image.layer.v1.tar+gzip", n)
                for n in ("l1", "l2", "l3")]}
sys.stdout.write(json.dumps(m, indent=3) + "\n")
EOF
	# a second manifest, deleted before the crash: the deletion must hold
	python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); m["layers"]=m["layers"][:1]; print(json.dumps(m))' \
	    "$W/manifest" >"$W/manifest2"
	req -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
	    --data-binary @"$W/manifest2" "$URL/v2/dur/img/manifests/doomed"
	expect 201 "PUT manifest doomed"
	req -X DELETE "$URL/v2/dur/img/manifests/$(sha "$W/manifest2")"
	expect 202 "DELETE manifest doomed"
	req -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
	    --data-binary @"$W/manifest" "$URL/v2/dur/img/manifests/v1"
	expect 201 "PUT manifest v1"
	# the very moment the push was acknowledged
	local old_blobd
	old_blobd=$(blobd_pid)
	kill -KILL "$BERTHD_PID"
	[ "$(berthd_status "$BERTHD_PID" 10)" = 137 ] ||
	    { echo "berthd survived kill -9"; return 1; }
	wait_gone "$old_blobd" 10 ||
	    { echo "berth-blobd $old_blobd outlived its berthd"; return 1; }

	start_berthd
	save_state
	req "$URL/v2/dur/img/manifests/v1"
	expect 200 "GET manifest after restart"
	cmp "$W/b" "$W/manifest"
	[ "$(hdr Docker-Content-Digest)" = "$(sha "$W/manifest")" ]
	[ "$(hdr Content-Type)" = application/vnd.oci.image.manifest.v1+json ]
	for f in cfg l1 l2 l3; do
		check_blob dur/img "$W/$f"
	done
	req "$URL/v2/dur/img/tags/list"
	expect 200 "tags/list"
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(d != {"name": "dur/img", "tags": ["v1"]})' "$W/b" ||
	    { echo "tags: $(cat "$W/b")"; return 1; }
	req "$URL/v2/dur/img/manifests/$(sha "$W/manifest2")"
	expect 404 "GET the manifest deleted before the crash"
}

# === (b) kill -9 berth-blobd during a large upload ====================================

BIG=$((300 * 1024 * 1024))

# Resumes an upload at LOC from the offset its status reports (or starts
# it again when the registry forgot it) and completes it; prints what it
# did.  FILE is the whole content.
resume_upload() {	# LOC FILE REPO
	local loc=$1 file=$2 repo=$3 size off range d
	size=$(stat -c %s "$file")
	d=$(sha "$file")
	req "$loc"
	if [ "$CODE" = 404 ]; then
		grep -q BLOB_UPLOAD_UNKNOWN "$W/b"
		echo "the upload was forgotten; starting again" >&2
		req -X POST "$URL/v2/$repo/blobs/uploads/"
		expect 202 "POST upload (restart)"
		loc=$(absurl "$(hdr Location)")
		off=0
	else
		expect 204 "GET upload status"
		range=$(hdr Range)
		[[ $range =~ ^0-([0-9]+)$ ]] || { echo "Range '$range'"; return 1; }
		off=$((BASH_REMATCH[1] + 1))
		[ "$range" = 0-0 ] && off=0	# empty (0-0 is ambiguous)
		loc=$(absurl "$(hdr Location)")
		echo "resuming at byte $off" >&2
	fi
	RESUMED_AT=$off
	if [ "$off" -lt "$size" ]; then
		tail -c +$((off + 1)) "$file" >"$W/rest"
		req -X PATCH -H 'Content-Type: application/octet-stream' \
		    -H "Content-Range: $off-$((size - 1))" \
		    --data-binary @"$W/rest" "$loc"
		rm -f "$W/rest"
		expect 202 "PATCH from byte $off"
		[ "$(hdr Range)" = "0-$((size - 1))" ] ||
		    { echo "Range after resuming: $(hdr Range)"; return 1; }
		loc=$(absurl "$(hdr Location)")
	fi
	req -X PUT "$(addq "$loc" "digest=$d")"
	expect 201 "PUT ?digest= after resuming"
	[ "$(hdr Docker-Content-Digest)" = "$d" ]
}

# After blobd died: berthd keeps its pid, a new blobd comes, health is 200
# and names it.  (Right after the kill, health may still be 200 for the old
# one: berthd has not read the end of its socket yet.)
check_recovered() {	# OLD_BLOBD_PID
	local i new
	for i in $(seq 600); do
		req "$URL/_berth/health" || true
		[ "$CODE" = 200 ] && ! grep -q "\"blobd_pid\":$1[,}]" "$W/b" &&
		    break
		sleep 0.05
	done
	expect 200 "/_berth/health after the blobd restart"
	! grep -q "\"blobd_pid\":$1[,}]" "$W/b" ||
	    { echo "health still names blobd $1"; return 1; }
	grep -q '"blobd":"up"' "$W/b" || { cat "$W/b"; return 1; }
	kill -0 "$BERTHD_PID" || { echo "berthd died"; return 1; }
	new=$(blobd_pid)
	[ "$new" != "$1" ] || { echo "blobd pid unchanged"; return 1; }
	echo "berthd $BERTHD_PID kept; blobd $1 -> $new" >&2
}

t_kill9_blobd_mid_streamed_upload() {
	load_state
	head -c $BIG /dev/urandom >"$W/big"
	local d loc old_blobd code i saw503=0
	d=$(sha "$W/big")
	req -X POST "$URL/v2/dur/big/blobs/uploads/"
	expect 202 "POST upload"
	loc=$(absurl "$(hdr Location)")

	# curl streams the body from a FIFO (chunked, no Content-Range, as
	# podman does); a writer feeds it 200 of the 300 MiB, and blobd is
	# killed once curl has read 64 MiB of them: bytes are in flight.
	mkfifo "$W/fifo"
	curl -sS --max-time 120 -X PATCH \
	    -H 'Content-Type: application/octet-stream' \
	    -H 'Expect:' -T - -o "$W/patch.body" -D "$W/patch.h" \
	    -w '%{http_code}' "$loc" <"$W/fifo" >"$W/patch.code" \
	    2>"$W/patch.err" &
	CURL_PID=$!
	exec 3>"$W/fifo"
	# The writer keeps the FIFO open after its 200 MiB (exec sleep), so
	# that the request cannot end before blobd is killed, however fast.
	(timeout 120 head -c $((200 * 1024 * 1024)) "$W/big"; exec sleep 120) \
	    >&3 &
	WRITER=$!
	local sent=0
	exec 3>&-
	# this case runs in a subshell: whatever happens, no writer outlives it
	trap 'kill "${WRITER:-}" 2>/dev/null || true' EXIT
	for i in $(seq 1200); do
		sent=$(awk '$1 == "rchar:" { print $2 }' "/proc/$CURL_PID/io" \
		    2>/dev/null || echo 0)
		[ "${sent:-0}" -ge $((64 * 1024 * 1024)) ] && break
		kill -0 "$CURL_PID" 2>/dev/null ||
		    { echo "curl ended early: $(cat "$W/patch.code")"; return 1; }
		sleep 0.05
	done
	[ "${sent:-0}" -ge $((64 * 1024 * 1024)) ] ||
	    { echo "curl read only $sent bytes in 60 s"; return 1; }
	old_blobd=$(blobd_pid)
	kill -KILL "$old_blobd"
	echo "blobd killed after curl had read $sent bytes" >&2
	# During the outage requests that need blobd are refused, not hung.
	for i in $(seq 100); do
		code=$(curl -sS -o /dev/null -D "$W/out.h" -w '%{http_code}' \
		    "$URL/_berth/health")
		if [ "$code" = 503 ]; then
			grep -qi '^Retry-After: ' "$W/out.h" ||
			    { echo "503 without Retry-After"; return 1; }
			saw503=1
			break
		fi
		[ "$code" = 200 ] && break
		sleep 0.01
	done
	echo "health answered 503 during the outage: $saw503" >&2
	wait "$CURL_PID" || true
	CURL_PID=
	kill "$WRITER" 2>/dev/null || true
	wait "$WRITER" 2>/dev/null || true
	# The upload in flight is refused with 503 and Retry-After.
	[ "$(cat "$W/patch.code")" = 503 ] ||
	    { echo "PATCH in flight: $(cat "$W/patch.code") $(cat "$W/patch.err") $(head -c 300 "$W/patch.body")"; return 1; }
	grep -qi '^Retry-After: [0-9]' "$W/patch.h" ||
	    { echo "no Retry-After on the 503:"; cat "$W/patch.h"; return 1; }
	grep -q '"UNAVAILABLE"\|"errors"' "$W/patch.body"

	check_recovered "$old_blobd"
	resume_upload "$loc" "$W/big" dur/big
	[ "$RESUMED_AT" -le $((200 * 1024 * 1024)) ] ||
	    { echo "resumed at $RESUMED_AT, beyond the 200 MiB sent"; return 1; }

	# the blob verifies and is pullable, on its own and in an image
	req -I "$URL/v2/dur/big/blobs/$d"
	expect 200 "HEAD blob"
	[ "$(hdr Content-Length)" = "$BIG" ]
	[ "$(curl -sS "$URL/v2/dur/big/blobs/$d" | sha256sum | cut -d' ' -f1)" = \
	    "${d#sha256:}" ]
	printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}' \
	    >"$W/bigcfg"
	push_blob dur/big "$W/bigcfg"
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"%s","size":%d}]}' \
	    "$(sha "$W/bigcfg")" "$(stat -c %s "$W/bigcfg")" "$d" "$BIG" \
	    >"$W/bigmanifest"
	req -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
	    --data-binary @"$W/bigmanifest" "$URL/v2/dur/big/manifests/v1"
	expect 201 "PUT manifest of the big layer"
}

t_kill9_blobd_between_chunks() {
	load_state
	local size=$((48 * 1024 * 1024)) chunk=$((16 * 1024 * 1024))
	head -c $size /dev/urandom >"$W/chunked"
	local loc off=0 old_blobd
	req -X POST "$URL/v2/dur/chunked/blobs/uploads/"
	expect 202 "POST upload"
	loc=$(absurl "$(hdr Location)")
	for off in 0 $chunk; do
		dd if="$W/chunked" of="$W/piece" bs=1M iflag=skip_bytes,count_bytes \
		    skip=$off count=$chunk status=none
		req -X PATCH -H 'Content-Type: application/octet-stream' \
		    -H "Content-Range: $off-$((off + chunk - 1))" \
		    --data-binary @"$W/piece" "$loc"
		expect 202 "PATCH at $off"
		[ "$(hdr Range)" = "0-$((off + chunk - 1))" ]
		loc=$(absurl "$(hdr Location)")
	done
	old_blobd=$(blobd_pid)
	kill -KILL "$old_blobd"
	check_recovered "$old_blobd"
	# Every byte acknowledged by a 202 is still there.
	req "$loc"
	expect 204 "GET upload status after the blobd restart"
	[ "$(hdr Range)" = "0-$((2 * chunk - 1))" ] ||
	    { echo "Range $(hdr Range) after 2 acknowledged chunks"; return 1; }
	resume_upload "$loc" "$W/chunked" dur/chunked
	[ "$RESUMED_AT" = $((2 * chunk)) ]
	check_blob dur/chunked "$W/chunked"
}

# === (b2) kill -9 berth-blobd amid concurrent pushes ==================================

# One client: pushes blobs of mixed sizes (POST, then PUT with the body,
# as containerd does), each acknowledged one's digest and file in
# $W/acked.K, until a push fails.
push_loop() {	# K
	local k=$1 i f d loc code
	for i in $(seq 400); do
		f=$W/c$k.$i
		# mostly small (the pack), some large (files of their own)
		if [ $((i % 8)) = 0 ]; then
			head -c $((1024 * 1024 + RANDOM * 7)) /dev/urandom >"$f"
		else
			head -c $((200 + RANDOM % 12000)) /dev/urandom >"$f"
		fi
		d=$(sha "$f")
		loc=$(curl -sS -o /dev/null -D - -X POST \
		    "$URL/v2/dur/conc/blobs/uploads/" 2>/dev/null |
		    tr -d '\r' | awk -F': ' 'tolower($1) == "location" { print $2 }')
		[ -n "$loc" ] || break
		code=$(curl -sS -o /dev/null -w '%{http_code}' -H 'Expect:' \
		    -X PUT --data-binary @"$f" \
		    "$(addq "$(absurl "$loc")" "digest=$d")" 2>/dev/null) || break
		[ "$code" = 201 ] || break
		echo "$d $f" >>"$W/acked.$k"
	done
}

t_kill9_blobd_amid_concurrent_pushes() {
	load_state
	local k pids="" old_blobd n i d f bad=0
	: >"$W/acked.0"
	for k in $(seq 1 8); do
		: >"$W/acked.$k"
		push_loop "$k" &
		pids="$pids $!"
	done
	# blobd dies once pushes have been acknowledged, with more going on
	for i in $(seq 600); do
		n=$(cat "$W"/acked.* | wc -l)
		[ "$n" -ge 40 ] && break
		sleep 0.05
	done
	old_blobd=$(blobd_pid)
	kill -KILL "$old_blobd"
	echo "blobd killed after $n acknowledged pushes" >&2
	for k in $pids; do
		wait "$k" || true
	done
	check_recovered "$old_blobd"
	n=$(cat "$W"/acked.* | wc -l)
	[ "$n" -ge 40 ] || { echo "only $n pushes acknowledged"; return 1; }
	# Every push that got its 201 is there, byte for byte.
	while read -r d f; do
		curl -sS -o "$W/got" "$URL/v2/dur/conc/blobs/$d"
		cmp -s "$W/got" "$f" || { echo "lost: $d"; bad=$((bad + 1)); }
	done < <(cat "$W"/acked.*)
	echo "$n acknowledged pushes checked, $bad lost" >&2
	[ "$bad" = 0 ]
}

# === (c) SIGTERM ==========================================================================

t_sigterm_clean_exit() {
	load_state
	local blobd rc=0 logsize
	blobd=$(blobd_pid)
	# a pull just before: its time is among what berthd stores on the way
	# out, and that must be acknowledged before blobd is let go.  berthd
	# stops blobd only in berthd_pulls_flushed_cb, once the record is
	# acknowledged; had it stopped it sooner, the record would fail with
	# "server is shutting down" and berthd would log "metadata append
	# failed", which this case looks for.
	req "$URL/v2/dur/img/manifests/v1"
	expect 200 "GET manifest before SIGTERM"
	logsize=$(stat -c %s "$TMP/logs/berthd.log")
	# an idle keep-alive connection must not hold the exit up
	python3 - "$PORT" "$W/idle.ready" <<'EOF' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n")
s.recv(4096)
open(sys.argv[2], "w").close()
time.sleep(30)
EOF
	local idle=$! i
	for i in $(seq 200); do
		[ -e "$W/idle.ready" ] && break
		sleep 0.05
	done
	[ -e "$W/idle.ready" ] ||
	    { echo "the idle connection never opened"; return 1; }
	kill -TERM "$BERTHD_PID"
	for i in $(seq 300); do
		kill -0 "$BERTHD_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill "$idle" 2>/dev/null || true
	wait "$idle" 2>/dev/null || true
	if kill -0 "$BERTHD_PID" 2>/dev/null; then
		echo "berthd still running 30 s after SIGTERM"
		return 1
	fi
	local status
	status=$(berthd_status "$BERTHD_PID" 10)
	[ "$status" = 0 ] || { echo "berthd exited with status $status"; return 1; }
	if tail -c +$((logsize + 1)) "$TMP/logs/berthd.log" |
	    grep -E 'metadata append failed|Sanitizer|runtime error:'; then
		echo "berthd's shutdown lost or failed a metadata record (above)"
		return 1
	fi
	wait_gone "$blobd" 10 ||
	    { echo "berth-blobd $blobd outlived berthd"; return 1; }
	if pgrep -f -- "$DATA" >/dev/null; then
		echo "processes still using the data directory:"
		pgrep -a -f -- "$DATA"
		return 1
	fi
}

run_setup() {
	start_berthd
	save_state
}
run_case start run_setup
run_case kill9_berthd_then_pull_byte_identical t_kill9_berthd_then_pull
run_case kill9_blobd_mid_streamed_upload_then_resume \
    t_kill9_blobd_mid_streamed_upload
run_case kill9_blobd_between_chunks_keeps_acknowledged_bytes \
    t_kill9_blobd_between_chunks
run_case kill9_blobd_amid_concurrent_pushes_keeps_every_201 \
    t_kill9_blobd_amid_concurrent_pushes
run_case sigterm_exits_0_without_blobd_left t_sigterm_clean_exit

# With an --enable-asan build: no memory error or undefined behaviour in
# any berthd or blobd of this run, crashes and restarts included.
t_no_sanitizer_reports() {
	if grep -E -A12 'ERROR: AddressSanitizer|runtime error:' \
	    "$TMP/logs/berthd.log"; then
		return 1
	fi
}
run_case no_sanitizer_reports t_no_sanitizer_reports
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
