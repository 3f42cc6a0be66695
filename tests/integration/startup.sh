#!/usr/bin/env bash
# Start-up order: berthd answers an anonymous ping of /v2/ before
# berth-blobd said hello, and holds every other request until the
# metadata is loaded, then answers it; clients that ping and push at once
# (curl, skopeo) succeed.  berth-blobd is held back by a wrapper that
# waits on a FIFO, so "before the hello" is certain, not a race.  If
# berth-blobd then cannot start, berthd exits non-zero and the requests
# it held get no answer, none a success.
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.." || exit 1
. "$here/common.bash"

for tool in curl skopeo python3; do
	command -v "$tool" >/dev/null || { fail "$tool is installed"; t_summary; exit 1; }
done

# held_blobd NAME THEN: a --blobd that waits until $T_TMP/NAME.go is
# written, then runs THEN (the real berth-blobd with its arguments, or
# "exit 1").
held_blobd() {
	mkfifo "$T_TMP/$1.go"
	printf '#!/bin/sh\nread go <"%s"\n%s\n' "$T_TMP/$1.go" "$2" \
	    >"$T_TMP/$1.sh"
	chmod +x "$T_TMP/$1.sh"
}

# start_held NAME: berthd with that --blobd, in the background; sets PORT,
# URL, BERTHD_PID, LOG.
start_held() {
	mkdir -p "$T_TMP/$1"
	PORT=$(free_port)
	URL="http://127.0.0.1:$PORT"
	LOG=$T_TMP/$1.log
	"$BERTHD" --blobd "$T_TMP/$1.sh" --listen "127.0.0.1:$PORT" \
	    --data-dir "$T_TMP/$1/data" --create-on-push >"$LOG" 2>&1 &
	BERTHD_PID=$!
	T_PIDS+=("$BERTHD_PID")
}

# --- a ping at once, then a push --------------------------------------------
held_blobd ok "exec \"$BLOBD\" \"\$@\""
start_held ok
check "the ping GET /v2/ answers 200 while berth-blobd has not started" \
    wait_for 30 curl -sf -o /dev/null "$URL/v2/"
check "with the distribution header" sh -c \
    "curl -sI '$URL/v2/' | grep -qi '^Docker-Distribution-API-Version: registry/2.0'"
check "berthd does not say it serves yet (no hello)" \
    sh -c "! grep -q 'serving on' '$LOG'"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Basic QVdTOng=' \
    --max-time 1 "$URL/v2/")
check "a ping with credentials waits for the model (no answer yet: $code)" \
    test "$code" = 000

# An image for skopeo: an OCI layout made by hand.
lay=$T_TMP/layout
mkdir -p "$lay/blobs/sha256"
printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}' \
    >"$T_TMP/cfg"
head -c 3000 /dev/urandom >"$T_TMP/layer"
cd_=$(sha256_of "$T_TMP/cfg")
ld=$(sha256_of "$T_TMP/layer")
cp "$T_TMP/cfg" "$lay/blobs/sha256/$cd_"
cp "$T_TMP/layer" "$lay/blobs/sha256/$ld"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":3000}]}' \
    "$cd_" "$(stat -c %s "$T_TMP/cfg")" "$ld" >"$T_TMP/man"
md=$(sha256_of "$T_TMP/man")
cp "$T_TMP/man" "$lay/blobs/sha256/$md"
printf '{"imageLayoutVersion":"1.0.0"}' >"$lay/oci-layout"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"v1"}}]}' \
    "$md" "$(stat -c %s "$T_TMP/man")" >"$lay/index.json"

(push_image early/curl v1; echo $? >"$T_TMP/curl.rc") &
(timeout 120 skopeo --insecure-policy copy --dest-tls-verify=false \
    "oci:$lay:v1" "docker://127.0.0.1:$PORT/early/skopeo:v1" \
    >"$T_TMP/skopeo.out" 2>&1; echo $? >"$T_TMP/skopeo.rc") &
(curl -s -o "$T_TMP/health" -w '%{http_code}' "$URL/_berth/health" \
    >"$T_TMP/health.code") &
# skopeo pinged (its GET /v2/ is logged) while berth-blobd waits.
check "skopeo's ping is answered before berth-blobd starts" wait_for 60 \
    sh -c "[ \$(grep -c '\"GET /v2/\" 200' '$LOG') -ge 2 ]"
check "and berthd still has not said it serves" \
    sh -c "! grep -q 'serving on' '$LOG'"
echo go >"$T_TMP/ok.go"
check "once the metadata is loaded, berthd serves" \
    wait_for 60 grep -q 'serving on' "$LOG"
check "the curl push sent at once succeeded" wait_for 120 \
    sh -c "[ \"\$(cat '$T_TMP/curl.rc' 2>/dev/null)\" = 0 ]"
check "the skopeo push sent at once succeeded" wait_for 120 \
    sh -c "[ \"\$(cat '$T_TMP/skopeo.rc' 2>/dev/null)\" = 0 ]"
check "the health asked early answered 200, not 503" wait_for 60 \
    sh -c "[ \"\$(cat '$T_TMP/health.code' 2>/dev/null)\" = 200 ]"
accept='Accept: application/vnd.oci.image.manifest.v1+json'
check "the manifests pushed are there" test \
    "$(http_status -H "$accept" "$URL/v2/early/curl/manifests/v1") $(http_status -H "$accept" "$URL/v2/early/skopeo/manifests/v1")" = "200 200"
kill "$BERTHD_PID"
wait "$BERTHD_PID"
check "berthd stops cleanly" test $? = 0

# --- berth-blobd cannot start -------------------------------------------------
held_blobd bad "exit 1"
start_held bad
check "bad: the ping answers while berth-blobd waits" \
    wait_for 30 curl -sf -o /dev/null "$URL/v2/"
(curl -s -o /dev/null -w '%{http_code}' "$URL/v2/_catalog" \
    >"$T_TMP/held.code"; echo $? >"$T_TMP/held.rc") &
held=$!
echo go >"$T_TMP/bad.go"
wait "$BERTHD_PID"
rc=$?
check "bad: berthd exits non-zero when berth-blobd cannot start ($rc)" \
    test "$rc" != 0
wait "$held"
check "bad: the request it held got no success ($(cat "$T_TMP/held.code"))" \
    sh -c "[ \"\$(cat '$T_TMP/held.code')\" != 200 ]"
check "bad: nor did berthd say it serves" \
    sh -c "! grep -q 'serving on' '$LOG'"

t_summary
