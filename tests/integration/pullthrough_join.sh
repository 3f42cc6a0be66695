#!/usr/bin/env bash
# GETs that join a blob's fetch through the cache, against Debian's
# docker-registry behind ptc/servers.py's front, which holds a blob half
# sent until the test lets it go on (or cut it).  Checked, by the order of
# events rather than by time: 20 concurrent GETs of a new 64 MiB blob all
# get its bytes, from one upstream fetch, and every one of them has bytes
# while the upstream still holds the second half back (the fetch has not
# ended); a HEAD during the fetch is answered at once with the upstream's
# length, a Range GET joins it (its last byte held too); an
# upstream cut mid-blob, and a kill -9 of berth-blobd or of berth-fetchd,
# with joined clients: every client gets a short body, nothing is stored,
# no upload session is left, and a later pull gets the whole blob.  An
# upstream that sends a blob without a Content-Length (chunked, by the
# front) is streamed to the first GET chunked, and to the GETs that join
# it, the last chunk held until the digest is verified (a changed byte:
# every GET fails, nothing stored).
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.bash"
. "$here/ptc/upstream.bash"

upstream_setup
UP=$(free_port)
start_registry plain "$UP"
start_front "$UP"

# new_layer NAME SIZE: an image of one layer of about SIZE bytes pushed as
# library/NAME:v1; prints the layer's digest as the upstream stores it,
# its bytes in $T_TMP/DIGEST.
new_layer() {
	local d
	make_image "$T_TMP/img-$1" v1 1 "$2"
	push_image "$T_TMP/img-$1" v1 "127.0.0.1:$UP/library/$1"
	d=$(skopeo inspect --raw --cert-dir "$pki/certs.d" \
	    "docker://127.0.0.1:$UP/library/$1:v1" | python3 -c 'import json,sys
print(json.load(sys.stdin)["layers"][0]["digest"])')
	curl -sf --cacert "$pki/ca.pem" -o "$T_TMP/$d" \
	    "https://127.0.0.1:$UP/v2/library/$1/blobs/$d" && echo "$d"
}

acct=000000000000
arn=arn:aws:secretsmanager:us-east-1:$acct:secret:ecr-pullthroughcache
(umask 077 && echo "$arn/front-AbC123 fuser fpass" >"$T_TMP/secrets")
mkdir -p "$T_TMP/data"
start_berthd "$T_TMP/data" -v --pull-through-secrets "$T_TMP/secrets" \
    --upstream-map "registry.gitlab.com=https://127.0.0.1:$FP,$pki/ca.pem"
export AWS_ACCESS_KEY_ID=$acct AWS_SECRET_ACCESS_KEY=x \
    AWS_DEFAULT_REGION=us-east-1 AWS_MAX_ATTEMPTS=1
aws --endpoint-url "$URL" ecr create-pull-through-cache-rule \
    --ecr-repository-prefix gl --upstream-registry-url registry.gitlab.com \
    --credential-arn "$arn/front-AbC123" >/dev/null

blob_in_store() {
	local b
	b=$(curl -sf "$URL/_berth/blobs") && grep -q "\"$1\"" <<<"$b"
}
not_stored() { ! blob_in_store "$1"; }
# front GETs of blob DIGEST (berth's fetches).
front_gets() {
	grep -c "^GET /v2/library/[a-z0-9]*/blobs/$1 " "$T_TMP/front.log"
}
joins() { grep -c 'a GET joins the fetch' "$T_TMP/data.log"; }
# start_gets N URL TAG: N curl GETs of URL in the background, each into
# $T_TMP/TAG.I (its exit status then in $T_TMP/TAG.I.rc).
start_gets() {
	local i
	for i in $(seq "$1"); do
		(curl -sf -o "$T_TMP/$3.$i" "$2"; echo $? >"$T_TMP/$3.$i.rc") &
	done
}
# all_have N TAG: every one of the N bodies has bytes.
all_have() {
	local i
	for i in $(seq "$1"); do
		[ -s "$T_TMP/$2.$i" ] || return 1
	done
}
all_done() {
	local i
	for i in $(seq "$1"); do
		[ -s "$T_TMP/$2.$i.rc" ] || return 1
	done
}
# stall_at DIGEST KIND: the front sends half of DIGEST and waits (KIND
# hold: then sends the rest; stall: then cuts it).
stall_at() {
	echo "{\"$2\": [\"$1\"]}" >"$control"
}
stalled() { grep -q "^stalled $1" "$T_TMP/front.log"; }

# --- 20 concurrent GETs of a new 64 MiB blob --------------------------------
big=$(new_layer big 67108864)
check "the big image's manifest is pulled" \
    curl -sf -o /dev/null "$URL/v2/gl/library/big/manifests/v1"
bigurl=$URL/v2/gl/library/big/blobs/$big
stall_at "$big" hold
start_gets 20 "$bigurl" c
check "the upstream holds the blob's second half back" \
    wait_for 60 stalled "$big"
check "every one of 20 GETs gets bytes while the upstream holds back" \
    wait_for 60 all_have 20 c
check "... the fetch has not ended: the blob is not stored yet" \
    sh -c "! grep -q '^released $big' '$T_TMP/front.log'"
check "... nor in the store" not_stored "$big"
check "... and no GET has its whole body" sh -c "for i in \$(seq 20); do
    [ \$(wc -c <'$T_TMP/c.'\$i) -lt \$(wc -c <'$T_TMP/$big') ] || exit 1; done"
check "... the 19 joined GETs caught up with the file and wait for it" \
    wait_for 60 sh -c "[ \$(grep -c 'a joined GET has what the file holds' \
    '$T_TMP/data.log') -ge 19 ]"
# A HEAD of the blob being fetched is answered at once, with the length
# the upstream gave; a Range GET joins the fetch, its last byte held.
(curl -sfI -o "$T_TMP/head" "$bigurl"; echo $? >"$T_TMP/head.rc") &
check "a HEAD during the fetch is answered while the upstream holds back" \
    wait_for 60 sh -c "[ -s '$T_TMP/head.rc' ] &&
    ! grep -q '^released $big' '$T_TMP/front.log'"
check "... 200, the blob's length and digest" sh -c "[ \$(cat \
    '$T_TMP/head.rc') = 0 ] && grep -qi \"^content-length: \$(wc -c \
    <'$T_TMP/$big')\" '$T_TMP/head' &&
    grep -qi '^docker-content-digest: $big' '$T_TMP/head'"
(curl -sfN -r 1000-1999 -D "$T_TMP/range.h" -o "$T_TMP/range" "$bigurl"
echo $? >"$T_TMP/range.rc") &
check "a Range GET during the fetch joins it" wait_for 30 sh -c \
    "[ \$(grep -c 'a GET joins the fetch' '$T_TMP/data.log') = 20 ]"
check "... has all but its last byte while the upstream holds back" \
    wait_for 30 sh -c "[ \$(wc -c <'$T_TMP/range') = 999 ] &&
    ! grep -q '^released $big' '$T_TMP/front.log'"
echo '{}' >"$control"
check "once the upstream sends the rest, every GET ends" wait_for 120 \
    all_done 20 c
ok=1
for i in $(seq 20); do
	[ "$(cat "$T_TMP/c.$i.rc")" = 0 ] && cmp -s "$T_TMP/c.$i" "$T_TMP/$big" ||
	    ok=0
done
check "... each with the blob, byte for byte" test "$ok" = 1
check "... from one upstream fetch" test "$(front_gets "$big")" = 1
check "... the 19 GETs after the first joined it (and the Range)" \
    test "$(joins)" = 20
check "... each woken by the file's notifications (inotify), not a timer" \
    test "$(grep -c 'a joined GET ends: woken [1-9][0-9]* times by the file, 0 by the timer' \
    "$T_TMP/data.log")" = 19
check "... and it is stored" blob_in_store "$big"
wait_for 60 sh -c "[ -s '$T_TMP/range.rc' ]"
check "the Range GET got its bytes, its last once the fetch ended" bash -c \
    "[ \$(cat '$T_TMP/range.rc') = 0 ] &&
    cmp -s '$T_TMP/range' <(dd if='$T_TMP/$big' bs=1000 skip=1 count=1 \
    2>/dev/null)"
check "... in a 206 with its Content-Range" sh -c "grep -q '^HTTP/1.1 206' \
    '$T_TMP/range.h' && grep -qi '^content-range: bytes 1000-1999/' \
    '$T_TMP/range.h'"
# A HEAD that starts a fetch is answered once the upstream's 200 came; the
# fetch goes on into the store.
hf=$(new_layer headfirst 2000000)
curl -sf -o /dev/null "$URL/v2/gl/library/headfirst/manifests/v1"
stall_at "$hf" hold
head_first() {
	curl -sfI -o "$T_TMP/hf.h" "$URL/v2/gl/library/headfirst/blobs/$hf" &&
	    grep -qi "^content-length: $(wc -c <"$T_TMP/$hf")" "$T_TMP/hf.h" &&
	    ! grep -q "^released $hf" "$T_TMP/front.log"
}
check "a HEAD of a blob not cached is answered while the upstream holds back" \
    head_first
check "... the fetch it started goes on: the upstream sent half" \
    wait_for 60 stalled "$hf"
echo '{}' >"$control"
check "... and the fetch goes on into the store" wait_for 60 blob_in_store "$hf"

# joined_fetch NAME TAG N: a new blob, N GETs of it (into TAG.I) joined
# while the front stalls mid-blob; sets blob and blob_url.
joined_fetch() {
	blob=$(new_layer "$1" 16000000)
	curl -sf -o /dev/null "$URL/v2/gl/library/$1/manifests/v1"
	blob_url=$URL/v2/gl/library/$1/blobs/$blob
	local n
	n=$(joins)
	stall_at "$blob" stall
	start_gets "$3" "$blob_url" "$2"
	wait_for 60 stalled "$blob" && wait_for 60 all_have "$3" "$2" &&
	    wait_for 30 sh -c "[ \$(grep -c 'a GET joins the fetch' \
	    '$T_TMP/data.log') -ge $((n + $3 - 1)) ]"
}
# all_short N TAG DIGEST: every GET failed, with a body short of DIGEST.
all_short() {
	local i
	for i in $(seq "$1"); do
		[ "$(cat "$T_TMP/$2.$i.rc")" != 0 ] &&
		    [ "$(wc -c <"$T_TMP/$2.$i")" -lt \
		    "$(wc -c <"$T_TMP/$3")" ] || return 1
	done
}
# nothing_left DIGEST N: the blob is not stored, N upload sessions are.
nothing_left() {
	! blob_in_store "$1" && [ "$(uploads)" = "$2" ]
}

# --- the upstream cuts the blob with joined clients --------------------------
nup=$(uploads)
check "5 GETs join a fetch the upstream stalls" joined_fetch cut d 5
echo '{}' >"$control"
check "the upstream cuts it: every GET ends" wait_for 60 all_done 5 d
check "... short of the blob, failed" all_short 5 d "$blob"
check "... nothing is stored and no upload session is left" \
    wait_for 30 nothing_left "$blob" "$nup"
check "a later GET fetches the whole blob" sh -c \
    "curl -sf '$blob_url' | cmp -s - '$T_TMP/$blob'"

# --- kill -9 of berth-blobd during a joined fetch ----------------------------
spawner=$(spawner_pid "$BERTHD_PID")
blobd=$(pgrep -P "$spawner" -f berth-blobd)
check "5 GETs join another stalled fetch" joined_fetch kblobd e 5
kill -KILL "$blobd"
echo '{}' >"$control"
check "after kill -9 of berth-blobd every GET ends" wait_for 60 all_done 5 e
check "... short of the blob, failed" all_short 5 e "$blob"
wait_for 30 sh -c "p=\$(pgrep -P $spawner -f berth-blobd) &&
    [ -n \"\$p\" ] && [ \"\$p\" != $blobd ]"
check "... berth-blobd is restarted" \
    sh -c "pgrep -P $spawner -f berth-blobd | grep -vqx $blobd"
check "... nothing of the blob is stored" wait_for 30 sh -c "! curl -sf \
    '$URL/_berth/blobs' | grep -q '\"$blob\"'"
wait_for 60 sh -c "curl -sf '$blob_url' | cmp -s - '$T_TMP/$blob'"
check "a later GET fetches the whole blob" sh -c \
    "curl -sf '$blob_url' | cmp -s - '$T_TMP/$blob'"

# --- kill -9 of berth-fetchd during a joined fetch ---------------------------
fetchd=$(pgrep -P "$spawner" -f berth-fetchd)
nup=$(uploads)
check "5 GETs join a third stalled fetch" joined_fetch kfetchd f 5
kill -KILL "$fetchd"
echo '{}' >"$control"
check "after kill -9 of berth-fetchd every GET ends" wait_for 60 all_done 5 f
check "... short of the blob, failed" all_short 5 f "$blob"
check "... nothing is stored and no upload session is left" \
    wait_for 30 nothing_left "$blob" "$nup"
wait_for 60 sh -c "curl -sf '$blob_url' | cmp -s - '$T_TMP/$blob'"
check "a later GET fetches the whole blob" sh -c \
    "curl -sf '$blob_url' | cmp -s - '$T_TMP/$blob'"
# --- an upstream that sends a blob without a Content-Length ------------------
# The first GET gets it as it comes, chunked, its last chunk only once the
# digest is verified.
ch=$(new_layer chunked 8000000)
curl -sf -o /dev/null "$URL/v2/gl/library/chunked/manifests/v1"
churl=$URL/v2/gl/library/chunked/blobs/$ch
echo "{\"chunked\": [\"$ch\"], \"hold\": [\"$ch\"]}" >"$control"
# getkeep URL TAG: a GET of URL into $T_TMP/TAG and then one of /v2/ that
# curl may send on the same connection; TAG.conns has how many
# connections each made, TAG.rc the exit status.
getkeep() {
	(curl -sf -D "$T_TMP/$2.h" -o "$T_TMP/$2" -o /dev/null \
	    -w '%{num_connects}\n' "$1" "$URL/v2/" >"$T_TMP/$2.conns"
	echo $? >"$T_TMP/$2.rc") &
}
kept() { test "$(sed -n 2p "$T_TMP/$1.conns")" = 0; }
getkeep "$churl" ch.1
check "an upstream sends a blob in chunks, holding its second half back" \
    wait_for 60 stalled "$ch"
check "... the GET has bytes of it meanwhile" wait_for 60 all_have 1 ch
check "... in a chunked response" grep -qi '^transfer-encoding: chunked' \
    "$T_TMP/ch.1.h"
n=$(joins)
start_gets 3 "$churl" cj
getkeep "$churl" cj.4
check "4 more GETs join that fetch" wait_for 60 sh -c \
    "[ \$(grep -c 'a GET joins the fetch' '$T_TMP/data.log') = $((n + 4)) ]"
check "... and have bytes while the upstream holds back" \
    wait_for 60 all_have 4 cj
check "... the fetch has not ended" \
    sh -c "! grep -q '^released $ch' '$T_TMP/front.log'"
echo '{}' >"$control"
check "... which ends once the upstream sent the rest" wait_for 60 \
    all_done 1 ch
check "... with the blob, byte for byte" sh -c "[ \$(cat '$T_TMP/ch.1.rc') = 0 ] &&
    cmp -s '$T_TMP/ch.1' '$T_TMP/$ch'"
check "... and so do the joined GETs" wait_for 60 all_done 4 cj
ok=1
for i in 1 2 3 4; do
	[ "$(cat "$T_TMP/cj.$i.rc")" = 0 ] && cmp -s "$T_TMP/cj.$i" "$T_TMP/$ch" ||
	    ok=0
done
check "... each with the blob, byte for byte" test "$ok" = 1
check "... the first GET's connection is kept for the next request" kept ch.1
check "... and a joined one's" kept cj.4
check "... from one upstream fetch" test "$(front_gets "$ch")" = 1
check "... streamed while stored" \
    grep -q "blob $ch from .*, streamed" "$T_TMP/data.log"
check "... and stored" blob_in_store "$ch"
# A chunked upstream that changes a byte: no client gets the last chunk,
# so every GET fails, the first and the joined ones; nothing is stored.
fl=$(new_layer flip 3000000)
curl -sf -o /dev/null "$URL/v2/gl/library/flip/manifests/v1"
echo "{\"chunked\": [\"$fl\"], \"flip\": [\"$fl\"], \"hold\": [\"$fl\"]}" \
    >"$control"
nup=$(uploads)
n=$(joins)
start_gets 3 "$URL/v2/gl/library/flip/blobs/$fl" fl
wait_for 60 stalled "$fl"
check "3 GETs of a chunked blob whose bytes are not its digest's" \
    wait_for 60 sh -c "[ \$(grep -c 'a GET joins the fetch' \
    '$T_TMP/data.log') = $((n + 2)) ]"
echo "{\"chunked\": [\"$fl\"], \"flip\": [\"$fl\"]}" >"$control"
check "... end" wait_for 60 all_done 3 fl
check "... failed, every one" sh -c "for i in 1 2 3; do
    [ \$(cat '$T_TMP/fl.'\$i.rc) != 0 ] || exit 1; done"
check "... after it was streamed" \
    grep -q "blob $fl from .*, streamed" "$T_TMP/data.log"
check "... nothing is stored and no upload session is left" \
    wait_for 30 nothing_left "$fl" "$nup"
echo '{}' >"$control"
t_summary
