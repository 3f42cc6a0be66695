#!/usr/bin/env bash
# berthd's memory under many parallel pushes: 200 clients each pushing a
# 1 MiB blob at once keep its resident set (the kernel's high-water mark,
# VmHWM) within 32 MiB, and once they are gone it falls back to within
# twice what it was idle (berth-blobd's to within 20 MiB of its idle
# size); a second round does not raise the mark; and ECR
# layer parts, read whole, take turns.  Sizes only: how fast does not
# matter here (bench/ measures that).
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.." || exit 1
. "$here/common.bash"

LOADGEN=${LOADGEN:-$(dirname "$(dirname "$BERTHD")")/bench/loadgen}
if [ ! -x "$LOADGEN" ]; then
	fail "bench/loadgen is built beside berthd ($LOADGEN)"
	t_summary
	exit 1
fi
LIMIT_KB=$((32 * 1024))

start_berthd "$T_TMP/data" --create-on-push || { fail "berthd starts"; t_summary; exit 1; }
kb() { awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status"; }
sleep 1		# whatever start-up left behind is freed by now
idle=$(kb "$BERTHD_PID" VmRSS)
ok "idle: $idle KiB"
W=$(blobd_pid "$BERTHD_PID")
widle=$(kb "$W" VmRSS)
ok "berth-blobd idle: $widle KiB"

round() {	# N: 200 parallel pushes of distinct 1 MiB blobs
	"$LOADGEN" -q -c 200 -n 200 -s 1M -r "mem/round$1" -t "127.0.0.1:$PORT" \
	    push >"$T_TMP/round$1" 2>&1
	grep -q ' errors=0 ' "$T_TMP/round$1"
}

check "200 parallel 1 MiB pushes all succeed" round 1
hwm=$(kb "$BERTHD_PID" VmHWM)
check "berthd's resident set stayed within 32 MiB under them (peak $hwm KiB)" \
    test "$hwm" -le "$LIMIT_KB"
# Memory goes back when the connections have closed: poll, then judge.
back() { test "$(kb "$BERTHD_PID" VmRSS)" -le $((2 * idle)); }
wait_for 30 back
check "afterwards it is back within twice the idle size ($(kb "$BERTHD_PID" VmRSS) KiB)" back
# berth-blobd keeps up to 16 MiB of free heap for the next pushes
# (heap_trim); what the burst took beyond that goes back.
wback() { test "$(kb "$W" VmRSS)" -le $((widle + 20 * 1024)); }
wait_for 30 wback
check "berth-blobd gives back what the burst took ($(kb "$W" VmRSS) KiB)" wback
check "a second round succeeds too" round 2
check "and does not raise the peak past 32 MiB ($(kb "$BERTHD_PID" VmHWM) KiB)" \
    test "$(kb "$BERTHD_PID" VmHWM)" -le "$LIMIT_KB"
wait_for 30 back
check "and memory comes back again ($(kb "$BERTHD_PID" VmRSS) KiB)" back
check "every blob is there" \
    test "$(curl -s "$URL/_berth/blobs" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["blobs"]))')" = 400

# The ECR API reads bodies whole: 24 UploadLayerParts of 10 MiB at once (13
# MiB of base64 each) take turns for 32 MiB of bodies instead of all being
# held together (once over 500 MiB).
ecr_parts() {
	python3 - "$PORT" 24 <<'EOF'
import base64, http.client, json, os, sys, threading
port, n = int(sys.argv[1]), int(sys.argv[2])
def call(op, body):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    c.request("POST", "/", json.dumps(body).encode(), {
        "X-Amz-Target": "AmazonEC2ContainerRegistry_V20150921." + op,
        "Content-Type": "application/x-amz-json-1.1"})
    r = c.getresponse()
    return r.status, json.loads(r.read())
call("CreateRepository", {"repositoryName": "mem/ecr"})
ids = [call("InitiateLayerUpload", {"repositoryName": "mem/ecr"})[1][
    "uploadId"] for _ in range(n)]
blob = base64.b64encode(os.urandom(10 * 1024 * 1024)).decode()
done = []
def part(u):
    done.append(call("UploadLayerPart", {
        "repositoryName": "mem/ecr", "uploadId": u, "partFirstByte": 0,
        "partLastByte": 10 * 1024 * 1024 - 1, "layerPartBlob": blob})[0])
ts = [threading.Thread(target=part, args=(u,)) for u in ids]
for t in ts:
    t.start()
for t in ts:
    t.join()
sys.exit(0 if done == [200] * n else 1)
EOF
}
check "24 parallel 10 MiB UploadLayerParts all succeed" ecr_parts
check "and berthd stayed within 160 MiB ($(kb "$BERTHD_PID" VmHWM) KiB)" \
    test "$(kb "$BERTHD_PID" VmHWM)" -le $((160 * 1024))
kill -TERM "$BERTHD_PID"
wait "$BERTHD_PID"
t_summary
