#!/usr/bin/env bash
# The two processes and their promises: the data directory lock, the
# worker's refusal to run by hand, supervision (kill -9 of the worker, of
# berthd mid-upload), a torn metadata log, SIGTERM, flat memory while a
# large body streams through berthd, the access log.
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.." || exit 1
. "$here/common.bash"

D=$T_TMP/data
start_berthd "$D" --create-on-push || { fail "berthd starts"; t_summary; exit 1; }
ok "berthd starts and /_berth/health answers"

check "health is 200 with blobd up" \
    test "$(http_status "$URL/_berth/health")" = 200
check "health JSON says blobd is up" \
    sh -c "curl -s '$URL/_berth/health' | grep -q '\"blobd\":\"up\"'"

# --- the lock -------------------------------------------------------------
out=$("$BERTHD" --blobd "$BLOBD" --listen "127.0.0.1:$(free_port)" \
    --data-dir "$D" 2>&1)
rc=$?
check "a second berthd on the same data directory refuses to start" \
    test "$rc" != 0
check "and says why" \
    sh -c "printf '%s' \"\$1\" | grep -q 'in use by another berth'" _ "$out"

out=$("$BLOBD" --data-dir "$T_TMP/other" 2>&1)
rc=$?
check "berth-blobd run by hand without its socket refuses (exit 2)" \
    test "$rc" = 2
check "and points at --debug-socket" \
    sh -c "printf '%s' \"\$1\" | grep -q -- '--debug-socket'" _ "$out"

# --- log levels: both processes at the same level ------------------------------
check "berth-blobd logs at the default level too (its ready line)" \
    grep -q "berth-blobd\[[0-9]*\]: ready: data directory" "$D.log"
check "no debugging output without -v" \
    sh -c "! grep -q 'debug:' '$D.log'"
VD=$T_TMP/verbose
saved=("$PORT" "$URL" "$BERTHD_PID")
start_berthd "$VD" -v --create-on-push
vpid=$BERTHD_PID vurl=$URL
PORT=${saved[0]} URL=${saved[1]} BERTHD_PID=${saved[2]}
curl -s -o /dev/null -X POST "$vurl/v2/it/v/blobs/uploads/"
check "with -v, berth-blobd logs debugging output" \
    wait_for 30 grep -q "berth-blobd\[[0-9]*\]: debug: upload .* created for" "$VD.log"
check "with -v, berthd logs debugging output" \
    grep -q "berthd\[[0-9]*\]: debug: berth-blobd [0-9]* ready" "$VD.log"

# --- one berthd per data directory, even while its worker is down -----------
# The worker is killed with the spawner stopped (SIGSTOP), so that it stays
# down, its lock free, until the spawner goes on (berthd starts a new one
# only once the spawner has reported the old one's exit); a second berthd
# tried meanwhile finds berthd's own lock held.
sp=$(spawner_pid "$vpid")
p=$(blobd_pid "$vpid")
kill -STOP "$sp"
kill -9 "$p"
check "with the spawner stopped, the killed worker stays down" wait_for 30 \
    sh -c "test \"\$(curl -s -o /dev/null -w '%{http_code}' '$vurl/_berth/health')\" = 503"
out=$(timeout 20 "$BERTHD" --blobd "$BLOBD" --listen "127.0.0.1:$(free_port)" \
    --data-dir "$VD" 2>&1)
rc=$?
check "a second berthd is refused while the first one's worker is down" \
    test "$rc" = 1
check "and names the berthd holding it" sh -c "printf '%s' \"\$1\" | \
    grep -q 'in use by another berthd (pid $vpid)'" _ "$out"
kill -CONT "$sp"
v_worker_restarted() { URL=$vurl worker_restarted "$1"; }
check "the first berthd's worker comes back" wait_for 30 v_worker_restarted "$p"
kill -TERM "$vpid"
wait "$vpid"

# --- a worker that breaks the protocol is fatal for berthd ---------------------
# Fake workers (--blobd) that speak on the socket berthd gives them.
fake() {	# name python-body: writes a fake worker
	printf '#!/usr/bin/env python3\nimport os, struct, time\n%s\ntime.sleep(5)\n' \
	    "$2" >"$T_TMP/$1"
	chmod +x "$T_TMP/$1"
}
hello='os.write(3, struct.pack("<4I", 1, 8, 0, 0) + struct.pack("<2I", %s, os.getpid()))'
proto=$(sed -n 's/^#define PROTOCOL_VERSION[[:space:]]*//p' common/proto.h)
fake badversion "$(printf "$hello" 99)"
fake garbage "$(printf "$hello" "$proto")
os.write(3, struct.pack('<4I', 9999, 0, 0, 0))"
fake oversized "$(printf "$hello" "$proto")
os.write(3, struct.pack('<4I', 2, 0x7fffffff, 1, 0))"
fake before_hello "os.write(3, struct.pack('<4I', 2, 0, 1, 0))"
fake shorthello "os.write(3, struct.pack('<4I', 1, 4, 0, 0) + b'abcd')"
for f in badversion garbage oversized before_hello shorthello; do
	out=$(timeout 20 "$BERTHD" --blobd "$T_TMP/$f" --listen \
	    "127.0.0.1:$(free_port)" --data-dir "$T_TMP/fake-$f" 2>&1)
	rc=$?
	check "berthd exits 1 when its worker sends $f ($rc)" test "$rc" = 1
done
out=$(timeout 20 "$BERTHD" --blobd "$T_TMP/badversion" --listen \
    "127.0.0.1:$(free_port)" --data-dir "$T_TMP/fake-v" 2>&1)
check "and a protocol mismatch says so" sh -c "printf '%s' \"\$1\" | \
    grep -q 'speaks protocol 99, berthd $proto'" _ "$out"

# --- a committed blob and a manifest to find again later ---------------------
head -c 1048576 /dev/urandom >"$T_TMP/blob1"
d1=sha256:$(sha256_of "$T_TMP/blob1")
check "monolithic blob push is 201" test "$(http_status -X POST \
    --data-binary @"$T_TMP/blob1" "$URL/v2/it/app/blobs/uploads/?digest=$d1")" = 201
printf '{}' >"$T_TMP/config"
dc=sha256:$(sha256_of "$T_TMP/config")
http_status -X POST --data-binary @"$T_TMP/config" \
    "$URL/v2/it/app/blobs/uploads/?digest=$dc" >/dev/null
cat >"$T_TMP/manifest" <<EOF
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"$dc","size":2},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"$d1","size":1048576}]}
EOF
check "manifest push is 201" test "$(http_status -X PUT \
    -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
    --data-binary @"$T_TMP/manifest" "$URL/v2/it/app/manifests/v1")" = 201

# --- kill -9 the worker: berthd restarts it and goes on ----------------------
spid=$(spawner_pid "$BERTHD_PID")
bpid=$(blobd_pid "$BERTHD_PID")
check "berthd has a spawner child, and it a berth-blobd child" test -n "$bpid"
check "health names the worker's pid" \
    sh -c "curl -s '$URL/_berth/health' | grep -q '\"blobd_pid\":$bpid[,}]'"
kill -9 "$bpid"
check "health comes back 200, with a new worker, after kill -9 of berth-blobd" \
    wait_for 30 worker_restarted "$bpid"
nbpid=$(blobd_pid "$BERTHD_PID")
check "same berthd and spawner, new worker" sh -c "kill -0 $BERTHD_PID && \
    test '$(spawner_pid "$BERTHD_PID")' = '$spid' && \
    test -n '$nbpid' && test '$nbpid' != '$bpid'"
check "the restart is counted" \
    sh -c "curl -s '$URL/_berth/health' | grep -q '\"blobd_restarts\":1'"
check "the blob is still served after the restart" \
    sh -c "curl -sf '$URL/v2/it/app/blobs/$d1' | cmp -s - '$T_TMP/blob1'"
check "the manifest is still there" \
    sh -c "curl -sf '$URL/v2/it/app/manifests/v1' | cmp -s - '$T_TMP/manifest'"

# --- kill -9 berthd in the middle of an upload ---------------------------------
loc=$(curl -s -D - -o /dev/null -X POST "$URL/v2/it/app/blobs/uploads/" |
    tr -d '\r' | sed -n 's/^Location: //p')
check "an upload session starts" test -n "$loc"
mkfifo "$T_TMP/slow"
# A body that trickles in: 4 MiB, then nothing until berthd dies.
( head -c 4194304 /dev/zero; sleep 30 ) >"$T_TMP/slow" &
T_PIDS+=($!)
curl -s -o /dev/null -X PATCH -H 'Transfer-Encoding: chunked' \
    -T - "$loc" <"$T_TMP/slow" &
T_PIDS+=($!)
old_blobd=$(blobd_pid "$BERTHD_PID")
old_spawner=$(spawner_pid "$BERTHD_PID")
# Wait until the first 4 MiB are in, so that berthd dies mid-body.
wait_for 60 sh -c "test \$(stat -c %s '$D'/uploads/*/data 2>/dev/null | sort -n | tail -1) -ge 4194304"
kill -9 "$BERTHD_PID"
check "berth-blobd exits when berthd is killed" \
    wait_for 30 sh -c "! kill -0 $old_blobd 2>/dev/null"
check "and so does the spawner" \
    wait_for 30 sh -c "! kill -0 $old_spawner 2>/dev/null"
start_berthd "$D" --create-on-push
check "berthd restarts on the same data directory" test $? = 0
check "committed blob intact after kill -9 of berthd" \
    sh -c "curl -sf '$URL/v2/it/app/blobs/$d1' | sha256sum | grep -q ${d1#sha256:}"
check "manifest intact after kill -9 of berthd" \
    sh -c "curl -sf '$URL/v2/it/app/manifests/v1' | cmp -s - '$T_TMP/manifest'"
newloc=${loc/127.0.0.1:*\/v2/127.0.0.1:$PORT\/v2}
st=$(curl -s -D - -o /dev/null "$newloc" | tr -d '\r')
code=$(printf '%s' "$st" | sed -n 's/^HTTP\/1.1 \([0-9]*\).*/\1/p')
check "the interrupted upload is resumable (204, Range 0-4194303)" \
    sh -c "test '$code' = 204 && printf '%s' \"\$1\" | grep -q '^Range: 0-4194303'" _ "$st"
# Finish it: append the rest of a known body, commit with its digest.
got=$(printf '%s' "$st" | sed -n 's/^Range: 0-//p')
have=$((got + 1))
[ "$code" = 204 ] && [ "$got" = 0 ] && have=0
head -c 6291456 /dev/zero >"$T_TMP/full"
tail -c +$((have + 1)) "$T_TMP/full" >"$T_TMP/rest"
dz=sha256:$(sha256_of "$T_TMP/full")
check "the rest of the upload is accepted" test "$(http_status -X PATCH \
    --data-binary @"$T_TMP/rest" "$newloc")" = 202
check "and commits with the whole body's digest" \
    test "$(http_status -X PUT "$newloc?digest=$dz")" = 201

# --- a torn metadata log is dropped, not half-applied --------------------------
kill -TERM "$BERTHD_PID"
wait "$BERTHD_PID"
printf '\x40\x00\x00\x00garbage' >>"$D/meta/log"
start_berthd "$D" --create-on-push
check "berthd starts over a torn metadata tail" test $? = 0
check "everything acknowledged before is there" \
    sh -c "curl -sf '$URL/v2/it/app/manifests/v1' | cmp -s - '$T_TMP/manifest'"
check "the torn bytes are kept aside" \
    sh -c "ls '$D'/meta/log.torn-* >/dev/null 2>&1"

# --- memory stays flat while a large body streams through berthd ------------
rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
loc=$(curl -s -D - -o /dev/null -X POST "$URL/v2/it/app/blobs/uploads/" |
    tr -d '\r' | sed -n 's/^Location: //p')
before=$(rss "$BERTHD_PID")
head -c $((2048 * 1024 * 1024)) /dev/zero | curl -s -o /dev/null \
    -X PATCH -H 'Transfer-Encoding: chunked' -T - "$loc" &
up=$!
peak=$before
while kill -0 "$up" 2>/dev/null; do
	r=$(rss "$BERTHD_PID")
	[ "$r" -gt "$peak" ] && peak=$r
	sleep 0.05
done
wait "$up"
st=$(curl -s -D - -o /dev/null "$loc" | tr -d '\r' | sed -n 's/^Range: //p')
check "a 2 GiB chunked PATCH arrives whole" test "$st" = "0-2147483647"
check "berthd's RSS grew by less than 4 MiB streaming it ($((peak - before)) KiB)" \
    test $((peak - before)) -lt 4096
curl -s -o /dev/null -X DELETE "$loc"

# --- access log ----------------------------------------------------------------
check "one access line per request" \
    grep -q "ACCESS 127.0.0.1:[0-9]* \"GET /_berth/health\" 200" "$D.log"

# --- SIGTERM: clean exit, no worker left ----------------------------------------
# A pull just before the stop: its time is written before the worker goes.
curl -sf -o /dev/null "$URL/v2/it/app/manifests/v1"
bpid=$(blobd_pid "$BERTHD_PID")
spid=$(spawner_pid "$BERTHD_PID")
kill -TERM "$BERTHD_PID"
wait "$BERTHD_PID"
rc=$?
check "SIGTERM: berthd exits 0" test "$rc" = 0
check "SIGTERM: no berth-blobd remains" \
    sh -c "! kill -0 $bpid 2>/dev/null"
check "SIGTERM: no spawner remains" \
    sh -c "! kill -0 $spid 2>/dev/null"
check "SIGTERM: the stop said nothing failed" \
    sh -c "! grep -q 'append failed' '$D.log'"
start_berthd "$D"
check "the last pull time survived the stop" \
    sh -c "curl -s '$URL/_berth/images?repository=it/app' | grep -q lastPulledAt"
kill -TERM "$BERTHD_PID"
wait "$BERTHD_PID"

t_summary
