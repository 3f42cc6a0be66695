#!/usr/bin/env bash
# The admin API: metrics, GC with dry runs and concurrent requests, forced
# compaction surviving kill -9 (also amid pushes), reset of one registry or
# all, introspection, SIGHUP log reopening, and access control (loopback
# only; --admin-token from anywhere, checked from a test host in a network
# namespace).
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.." || exit 1
. "$here/common.bash"

D=$T_TMP/data
LOG=$T_TMP/berthd.log
start_berthd "$D" -v --create-on-push --log-file "$LOG" ||
    { fail "berthd starts"; t_summary; exit 1; }

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

check "push into the default registry" push_image adm/one v1
check "push into account 111111111111 in eu-west-1 (host name)" \
    push_image adm/one w1 "111111111111.dkr.ecr.eu-west-1.localhost:$PORT"

# --- metrics ----------------------------------------------------------------------
m=$(curl -s -D "$T_TMP/mh" "$URL/_berth/metrics")
check "metrics are Prometheus text" \
    grep -qi '^Content-Type: text/plain; version=0.0.4' "$T_TMP/mh"
for name in berth_http_requests_total berth_http_request_duration_seconds_bucket \
    berth_http_received_bytes_total berth_http_sent_bytes_total berth_blobs_stored \
    berth_blobs_stored_bytes berth_uploads_in_progress berth_blobd_restarts_total \
    berth_gc_runs_total berth_gc_reclaimed_bytes_total berth_repositories \
    berth_uploads_held_bytes berth_upload_holds_refused_total \
    berth_upload_commit_sizes_refused_total berth_upload_size_lookups_total; do
	check "metric $name" sh -c "printf '%s' \"\$1\" | grep -q '^$name'" _ "$m"
done
check "manifest PUTs are counted by class and status" \
    sh -c "printf '%s' \"\$1\" | grep -q '^berth_http_requests_total{class=\"oci.manifest\",code=\"201\"} 2$'" _ "$m"
check "two repositories in two registries" \
    sh -c "printf '%s' \"\$1\" | grep -q '^berth_repositories 2$'" _ "$m"
check "four blobs stored" \
    sh -c "printf '%s' \"\$1\" | grep -q '^berth_blobs_stored 4$'" _ "$m"

# --- introspection ------------------------------------------------------------------
r=$(curl -s "$URL/_berth/repositories")
check "/_berth/repositories lists both registries' repositories" \
    test "$(printf '%s' "$r" | json 'sorted(x["account"]+"/"+x["region"]+"/"+x["name"] for x in d["repositories"])')" = \
    "['000000000000/us-east-1/adm/one', '111111111111/eu-west-1/adm/one']"
r=$(curl -s "$URL/_berth/images?repository=adm/one")
check "/_berth/images shows the image, its tag and its digest" \
    test "$(printf '%s' "$r" | json '(d["images"][0]["tags"], d["images"][0]["digest"])')" = \
    "(['v1'], 'sha256:$(sha256_of "$T_TMP/m-v1")')"
check "/_berth/images of a missing repository is 404" \
    test "$(http_status "$URL/_berth/images?repository=nope")" = 404
r=$(curl -s "$URL/_berth/blobs")
check "/_berth/blobs lists 4 blobs, each referenced" \
    test "$(printf '%s' "$r" | json '(len(d["blobs"]), all(b["references"] == 1 for b in d["blobs"]))')" = "(4, True)"

# --- GC: dry runs, concurrent requests serialized ---------------------------------------
blob_list() { curl -s "$URL/_berth/blobs" | json '" ".join(sorted(b["digest"] for b in d["blobs"]))'; }
# duration_ms: an integer, and no longer than the request took as a whole.
duration_ok() {	# GC-JSON CURL-SECONDS
	printf '%s' "$1" | python3 -c '
import json, sys
d = json.load(sys.stdin)
ms = d["duration_ms"]
sys.exit(0 if type(ms) is int and 0 <= ms <= float(sys.argv[1]) * 1000 + 1 else 1)' "$2"
}
v1_bytes=$(( $(stat -c %s "$T_TMP/c-v1") + 5000 ))
v1_gone=$(for f in c-v1 l-v1; do printf 'sha256:%s\n' "$(sha256_of "$T_TMP/$f")"; done | sort)
before=$(blob_list)
curl -sf -o /dev/null -X DELETE "$URL/v2/adm/one/manifests/sha256:$(sha256_of "$T_TMP/m-v1")"
curl -s -o "$T_TMP/dry" -w '%{time_total}' -X POST "$URL/_berth/gc?dry_run=1" >"$T_TMP/dry.t"
r=$(cat "$T_TMP/dry")
check "GC dry run reports 2 blobs" test "$(printf '%s' "$r" | json '(d["blobs_reclaimed"], d["dry_run"])')" = "(2, True)"
check "GC dry run reports their bytes ($v1_bytes: v1's config and layer)" \
    test "$(printf '%s' "$r" | json 'd["bytes_reclaimed"]')" = "$v1_bytes"
check "GC dry run: duration_ms is an integer within the request's time" \
    duration_ok "$r" "$(cat "$T_TMP/dry.t")"
check "and deletes nothing" \
    test "$(curl -s "$URL/_berth/blobs" | json 'len(d["blobs"])')" = 4
for i in 1 2 3; do
	curl -s -X POST "$URL/_berth/gc" >"$T_TMP/gc$i" &
	gpids+=($!)
done
for p in "${gpids[@]}"; do wait "$p"; done
total=0
for i in 1 2 3; do
	n=$(json 'd["blobs_reclaimed"]' <"$T_TMP/gc$i")
	total=$((total + n))
done
check "three concurrent GCs: serialized, 2 blobs reclaimed in all" test "$total" = 2
bytes=0
for i in 1 2 3; do
	bytes=$((bytes + $(json 'd["bytes_reclaimed"]' <"$T_TMP/gc$i")))
done
check "the real runs free the bytes the dry run reported ($bytes)" \
    test "$bytes" = "$v1_bytes"
check "and exactly v1's config and layer, the blobs the dry run counted" \
    test "$(blob_list)" = "$(python3 -c 'import sys; print(" ".join(sorted(set(sys.argv[1].split()) - set(sys.argv[2].split()))))' "$before" "$v1_gone")"
check "every GC answer has an integer duration_ms" \
    sh -c 'for f in "$@"; do python3 -c "import json,sys; sys.exit(0 if type(json.load(open(sys.argv[1]))[\"duration_ms\"]) is int else 1)" "$f" || exit 1; done' _ "$T_TMP/gc1" "$T_TMP/gc2" "$T_TMP/gc3"
curl -s -o "$T_TMP/gc4" -w '%{time_total}' -X POST "$URL/_berth/gc" >"$T_TMP/gc4.t"
check "a real GC's duration_ms is within the request's time" \
    duration_ok "$(cat "$T_TMP/gc4")" "$(cat "$T_TMP/gc4.t")"
check "GC is POST only" test "$(http_status "$URL/_berth/gc")" = 405
# A query is read strictly: a typo must not make a dry run a real one.
before=$(blob_list)
for q in "dryrun=1" "dry_run=maybe" "dry_run=1&dry_run=0" "dry_run=%00" \
    "dry_run=1&account=000000000000"; do
	check "POST /_berth/gc?$q is refused (400)" \
	    test "$(http_status -X POST "$URL/_berth/gc?$q")" = 400
done
check "... with a message saying what the endpoint takes" \
    sh -c "curl -s -X POST '$URL/_berth/gc?dryrun=1' | grep -q \"unknown parameter 'dryrun': this endpoint takes dry_run\""
check "... and none of them collected anything" test "$(blob_list)" = "$before"
check "a reset of a malformed account is refused (400)" \
    test "$(http_status -X POST "$URL/_berth/reset?account=12&region=us-east-1")" = 400
check "an endpoint that takes no parameter refuses one (400)" \
    test "$(http_status "$URL/_berth/health?verbose=1")" = 400
check "images of a name that is not a repository name (400)" \
    test "$(http_status "$URL/_berth/images?repository=Not%20One")" = 400

# --- small uploads held in blobd's memory, and their counters ---------------------
metric() { curl -s "$URL/_berth/metrics" | sed -n "s/^$1 \([0-9]*\)\$/\1/p"; }
upload_start() {	# repository -> the session's URL
	curl -s -D - -o /dev/null -X POST "$URL/v2/$1/blobs/uploads/" |
	    tr -d '\r' | awk -F': ' -v u="$URL" 'tolower($1) == "location" {
		print ($2 ~ /^\// ? u : "") $2 }'
}
patch_mib() {	# URL
	curl -s -o /dev/null -w '%{http_code}' -X PATCH \
	    -H 'Content-Type: application/octet-stream' \
	    --data-binary "@$T_TMP/mib" "$1"
}
head -c 1048576 /dev/urandom >"$T_TMP/mib"
check "nothing held after the pushes" test "$(metric berth_uploads_held_bytes)" = 0
lookups=$(metric berth_upload_size_lookups_total)
loc=$(upload_start adm/one)
check "a 1 MiB PATCH is accepted" test "$(patch_mib "$loc")" = 202
check "it is held in memory" test "$(metric berth_uploads_held_bytes)" = 1048576
check "the empty PUT after it commits" test "$(curl -s -o /dev/null -w '%{http_code}' \
    -X PUT "$loc$(case $loc in *\?*) echo '&' ;; *) echo '?' ;; esac)digest=sha256:$(sha256_of "$T_TMP/mib")")" = 201
check "with the size the PATCH's answer gave (no size asked, none refused)" \
    test "$(metric berth_upload_size_lookups_total)/$(metric berth_upload_commit_sizes_refused_total)" = "$lookups/0"
check "and holds nothing after" test "$(metric berth_uploads_held_bytes)" = 0
refused=$(metric berth_upload_holds_refused_total)
locs=
for i in $(seq 17); do
	loc=$(upload_start adm/one)
	locs="$locs $loc"
	[ "$(patch_mib "$loc")" = 202 ] || fail "PATCH $i of 17"
done
check "blobd holds at most 16 MiB" test "$(metric berth_uploads_held_bytes)" = 16777216
check "the 17th MiB went to a file, counted as a hold refused" \
    test "$(metric berth_upload_holds_refused_total)" = $((refused + 1))
for loc in $locs; do
	curl -s -o /dev/null -X DELETE "$loc"
done
check "cancelled sessions hold nothing" test "$(metric berth_uploads_held_bytes)" = 0

# --- compaction, then kill -9: the state comes back from the snapshot -------------------
for i in $(seq 1 20); do push_image adm/many "t$i" >/dev/null || break; done
r=$(curl -s -X POST "$URL/_berth/compact")
check "POST /_berth/compact writes a snapshot" \
    test "$(printf '%s' "$r" | json 'd["snapshot_entries"] > 0')" = True
# The file may be a spare of zeros (berth-blobd(8)): its entries' end counts.
logsize=$(metric berth_metadata_log_bytes)
check "the log starts over after compaction ($logsize bytes)" test "$logsize" -lt 100
push_image adm/many after >/dev/null
kill -9 "$BERTHD_PID"
wait_for 30 sh -c "! pgrep -f 'berth-blobd.*--data-dir $D\$' >/dev/null"
start_berthd "$D" -v --create-on-push --log-file "$LOG"
check "after kill -9: the 21 tags from snapshot and log are all there" \
    test "$(curl -s "$URL/v2/adm/many/tags/list" | json 'len(d["tags"])')" = 21

# --- SIGHUP reopens the log file ---------------------------------------------------------
mv "$LOG" "$LOG.1"
kill -HUP "$BERTHD_PID"
check "after SIGHUP berthd writes to a new log file" \
    wait_for 30 grep -q 'logs reopened' "$LOG"
curl -sf -o /dev/null "$URL/v2/"
check "access lines go to the new file" wait_for 30 grep -q '"GET /v2/"' "$LOG"
# The worker was not restarted: it got the new file over its socket.
curl -sf -o /dev/null -X POST "$URL/_berth/gc"
check "and berth-blobd's lines too, without a restart" \
    wait_for 30 grep -q 'berth-blobd\[[0-9]*\]: gc:' "$LOG"

# --- blobd down: health and every endpoint that needs the model answer 503 -------------
# Killed again as soon as it is back, the worker is restarted each time.
# Then, to keep it down for as long as the checks take however loaded the
# machine is, the spawner is stopped (SIGSTOP) before the last kill: berthd
# restarts a worker only once the spawner has reported the old one's exit.
health_code() { http_status "$URL/_berth/health"; }
health_up() { test "$(health_code)" = 200; }
health_down() { test "$(health_code)" = 503; }
repos_before=$(curl -s "$URL/_berth/repositories" | json 'len(d["repositories"])')
pids_ok=1
for i in 1 2 3; do
	wait_for 30 health_up
	bp=$(blobd_pid "$BERTHD_PID")
	hp=$(curl -s "$URL/_berth/health" | json 'd.get("blobd_pid", "")')
	[ -n "$bp" ] && [ "$hp" = "$bp" ] || pids_ok=0
	kill -9 "$bp"
	wait_for 30 worker_restarted "$bp" || pids_ok=0
done
bp=$(blobd_pid "$BERTHD_PID")
sp=$(spawner_pid "$BERTHD_PID")
kill -STOP "$sp"
kill -9 "$bp"
wait_for 30 health_down
curl -s -D "$T_TMP/hh" -o "$T_TMP/hb" "$URL/_berth/health"
eps=("GET repositories" "GET images?repository=adm/one" "GET blobs" \
    "POST gc" "POST gc?dry_run=1" "POST compact" \
    "POST reset?account=000000000000&region=us-east-1" "POST reset")
for i in "${!eps[@]}"; do
	ep=${eps[$i]}
	curl -s -D "$T_TMP/eh$i" -o "$T_TMP/eb$i" -X "${ep%% *}" "$URL/_berth/${ep#* }"
done
# The registry API under /v2/ follows the same rule, in its own error shape.
v2eps=("/v2/" "/v2/adm/one/tags/list" "/v2/adm/one/manifests/v1")
for i in "${!v2eps[@]}"; do
	curl -s -D "$T_TMP/vh$i" -o "$T_TMP/vb$i" "$URL${v2eps[$i]}"
done
curl -s -I -o "$T_TMP/vhh" "$URL/v2/adm/one/manifests/v1"
curl -s -o "$T_TMP/mb" "$URL/_berth/metrics"
check "berth-blobd, the grandchild of berthd, is the blobd_pid health reports, and a new one after each kill" \
    test "$pids_ok" = 1
check "right after a kill: health is 503" grep -q '^HTTP/1.1 503' "$T_TMP/hh"
check "with Retry-After" grep -qi '^Retry-After: [0-9]' "$T_TMP/hh"
check "and a body saying blobd and the metadata are down" \
    test "$(json '(d["status"], d["blobd"], d["metadata"], "blobd" in d["unavailable"], "metadata" in d["unavailable"], len(d["message"]) > 0)' <"$T_TMP/hb")" = \
    "('unavailable', 'down', 'not loaded', True, True, True)"
for i in "${!eps[@]}"; do
	check "while blobd is down: ${eps[$i]} is 503 with Retry-After and a JSON error" \
	    sh -c "grep -q '^HTTP/1.1 503' '$T_TMP/eh$i' && grep -qi '^Retry-After: ' '$T_TMP/eh$i' && python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))[\"error\"] else 1)' '$T_TMP/eb$i'"
done
for i in "${!v2eps[@]}"; do
	check "while blobd is down: GET ${v2eps[$i]} is 503 with Retry-After and an OCI error" \
	    sh -c "grep -q '^HTTP/1.1 503' '$T_TMP/vh$i' && grep -qi '^Retry-After: [0-9]' '$T_TMP/vh$i' && python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))[\"errors\"][0]; sys.exit(0 if e[\"code\"] == \"UNAVAILABLE\" and e[\"detail\"] else 1)' '$T_TMP/vb$i'"
done
check "and HEAD too" sh -c "grep -q '^HTTP/1.1 503' '$T_TMP/vhh' && grep -qi '^Retry-After: [0-9]' '$T_TMP/vhh'"
check "the metrics still answer, with berth_blobd_up 0" \
    grep -q '^berth_blobd_up 0$' "$T_TMP/mb"
kill -CONT "$sp"
check "health is 200 again once blobd is back" wait_for 30 worker_restarted "$bp"
check "with blobd up, the metadata loaded and storage writable" \
    test "$(curl -s "$URL/_berth/health" | json '(d["status"], d["blobd"], d["metadata"], d["storage_writable"], "unavailable" in d)')" = \
    "('ok', 'up', 'loaded', True, False)"
check "the reset asked for while blobd was down did nothing" \
    test "$(curl -s "$URL/_berth/repositories" | json 'len(d["repositories"])')" = "$repos_before"

# --- reset -----------------------------------------------------------------------------
# A push in progress in the default registry: its layer uploaded (POST, then
# PUT with the digest), no manifest yet.  A reset of another registry must
# not take it, nor take more than that registry's own blobs.
head -c 7000 /dev/urandom >"$T_TMP/pending"
pending=sha256:$(sha256_of "$T_TMP/pending")
loc=$(curl -s -D - -o /dev/null -X POST "$URL/v2/adm/one/blobs/uploads/" | tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
case $loc in /*) loc=$URL$loc ;; esac
case $loc in *\?*) sep='&' ;; *) sep='?' ;; esac
check "account 000000000000 uploads a layer (POST, PUT), no manifest yet" \
    test "$(http_status -X PUT -H 'Content-Type: application/octet-stream' \
    --data-binary @"$T_TMP/pending" "$loc${sep}digest=$pending")" = 201
w1_blobs=$(for f in c-w1 l-w1; do printf 'sha256:%s\n' "$(sha256_of "$T_TMP/$f")"; done)
before=$(blob_list)
r=$(curl -s -X POST "$URL/_berth/reset?account=111111111111&region=eu-west-1")
check "reset of one registry deletes its repository" \
    test "$(printf '%s' "$r" | json 'd["repositories_deleted"]')" = 1
check "its GC reclaims exactly that registry's 2 blobs" \
    test "$(printf '%s' "$r" | json '(d["gc"]["blobs_reclaimed"], d["gc"]["bytes_reclaimed"])')" = \
    "(2, $(( $(stat -c %s "$T_TMP/c-w1") + 5000 )))"
check "they are gone from disk, and nothing else is" \
    test "$(blob_list)" = "$(python3 -c 'import sys; print(" ".join(sorted(set(sys.argv[1].split()) - set(sys.argv[2].split()))))' "$before" "$w1_blobs")"
check "the other account's pending layer is still there (HEAD 200)" \
    test "$(http_status -I "$URL/v2/adm/one/blobs/$pending")" = 200
printf '{"tag":"pending"}' >"$T_TMP/c-pending"
pc=sha256:$(sha256_of "$T_TMP/c-pending")
curl -sf -o /dev/null -X POST --data-binary @"$T_TMP/c-pending" \
    "$URL/v2/adm/one/blobs/uploads/?digest=$pc"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"%s","size":7000}]}' \
    "$pc" "$(stat -c %s "$T_TMP/c-pending")" "$pending" >"$T_TMP/m-pending"
check "and its push completes: the manifest using it is accepted" \
    test "$(http_status -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
    --data-binary @"$T_TMP/m-pending" "$URL/v2/adm/one/manifests/pending")" = 201
check "and the layer pulls byte for byte" \
    sh -c "curl -sf '$URL/v2/adm/one/blobs/$pending' | cmp -s - '$T_TMP/pending'"
check "the other registries keep theirs" \
    test "$(curl -s "$URL/_berth/repositories" | json 'len(d["repositories"])')" = 2
check "reset needs both account and region or neither" \
    test "$(http_status -X POST "$URL/_berth/reset?account=111111111111")" = 400
r=$(curl -s -X POST "$URL/_berth/reset")
check "reset of everything" \
    test "$(curl -s "$URL/_berth/repositories" | json 'len(d["repositories"])')" = 0
check "and its blobs are reclaimed" \
    test "$(curl -s "$URL/_berth/blobs" | json 'len(d["blobs"])')" = 0

# --- compaction amid pushes ---------------------------------------------------------------
# A pushed blob's link record rides with its commit and enters the model
# only once both are durable: a compaction must wait for those in flight,
# or its snapshot would drop them (and only a later one would put them
# back).  Six clients push while compactions are asked for without pause
# until half of the pushes are done; then kill -9, and every blob that got
# its 201 must be in its repository.  Three rounds.
cat >"$T_TMP/pushers.py" <<'EOF'
import hashlib, http.client, os, sys, threading, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
rnd, pushed, compacted = int(sys.argv[3]), [], [0]

def conn():
    return http.client.HTTPConnection(u.hostname, u.port, timeout=60)

def pusher(n):
    c = conn()
    for i in range(20):
        blob = os.urandom(100 + (i * 7919 + n * 104729 + rnd) % 300000)
        d = "sha256:" + hashlib.sha256(blob).hexdigest()
        c.request("POST", "/v2/adm/ride%d/blobs/uploads/" % n)
        r = c.getresponse(); r.read()
        loc = r.getheader("Location")
        if i % 2:     # the last bytes with the PUT, or all of them
            c.request("PATCH", loc, body=blob[:50])
            r = c.getresponse(); r.read()
            loc, blob = r.getheader("Location"), blob[50:]
        sep = "&" if "?" in loc else "?"
        c.request("PUT", loc + sep + "digest=" + d, body=blob)
        r = c.getresponse(); r.read()
        if r.status == 201:
            pushed.append("adm/ride%d %s" % (n, d))

def compactor():
    c = conn()
    while len(pushed) < 60:
        c.request("POST", "/_berth/compact")
        r = c.getresponse(); r.read()
        compacted[0] += r.status == 200

threads = [threading.Thread(target=pusher, args=(n,)) for n in range(6)]
threads.append(threading.Thread(target=compactor))
for t in threads: t.start()
for t in threads: t.join()
open(sys.argv[2], "a").write("\n".join(pushed) + "\n")
print(len(pushed), compacted[0])
EOF
for round in 1 2 3; do
	set -- $(python3 "$T_TMP/pushers.py" "$URL" "$T_TMP/pushed" "$round")
	check "round $round: 120 pushes amid ${2:-no} compactions got their 201 (${1:-0})" \
	    test "${1:-0}" = 120 -a "${2:-0}" -gt 0
	kill -9 "$BERTHD_PID"
	wait_for 30 sh -c "! pgrep -f 'berth-blobd.*--data-dir $D\$' >/dev/null"
	start_berthd "$D" -v --create-on-push --log-file "$LOG"
	missing=0
	while read -r repo d; do
		[ "$(http_status -I "$URL/v2/$repo/blobs/$d")" = 200 ] ||
		    missing=$((missing + 1))
	done <"$T_TMP/pushed"
	check "after kill -9 every one of them is in its repository ($missing missing)" \
	    test "$missing" = 0
done
kill -TERM "$BERTHD_PID"
wait "$BERTHD_PID"

# --- access control from another host -----------------------------------------------
ns=berth-t$$
vh=bth$$
vn=btn$$
if ip netns add "$ns" 2>/dev/null; then
	cleanup_ns() { ip netns del "$ns" 2>/dev/null; ip link del "$vh" 2>/dev/null; }
	ip link add "$vh" type veth peer name "$vn" &&
	    ip link set "$vn" netns "$ns" &&
	    ip addr add 10.231.77.1/24 dev "$vh" && ip link set "$vh" up &&
	    ip netns exec "$ns" ip addr add 10.231.77.2/24 dev "$vn" &&
	    ip netns exec "$ns" ip link set "$vn" up &&
	    ip netns exec "$ns" ip link set lo up
	check "a test host in a network namespace" test $? = 0
	port=$(free_port)
	remote() { ip netns exec "$ns" curl -s -o /dev/null -w '%{http_code}' "$@"; }
	"$BERTHD" --blobd "$BLOBD" --listen "10.231.77.1:$port" \
	    --data-dir "$T_TMP/d2" >>"$T_TMP/d2.log" 2>&1 &
	p=$!
	T_PIDS+=("$p")
	wait_for 20 sh -c "test \"\$(ip netns exec $ns curl -s -o /dev/null -w '%{http_code}' http://10.231.77.1:$port/v2/)\" = 200"
	check "the registry answers the other host" \
	    test "$(remote "http://10.231.77.1:$port/v2/")" = 200
	check "the admin API refuses it (403) without --admin-token" \
	    test "$(remote "http://10.231.77.1:$port/_berth/health")" = 403
	kill -TERM "$p"
	wait "$p"
	tok=0123456789abcdef-test
	"$BERTHD" --blobd "$BLOBD" --listen "10.231.77.1:$port" \
	    --data-dir "$T_TMP/d2" --admin-token "$tok" >>"$T_TMP/d2.log" 2>&1 &
	p=$!
	T_PIDS+=("$p")
	wait_for 20 sh -c "test \"\$(ip netns exec $ns curl -s -o /dev/null -w '%{http_code}' http://10.231.77.1:$port/v2/)\" = 200"
	check "with --admin-token: the other host with the token gets 200" \
	    test "$(remote -H "Authorization: Bearer $tok" "http://10.231.77.1:$port/_berth/health")" = 200
	check "with --admin-token: a wrong token gets 403" \
	    test "$(remote -H "Authorization: Bearer nope$tok" "http://10.231.77.1:$port/_berth/health")" = 403
	check "with --admin-token: no token gets 403 with a JSON error" \
	    sh -c "ip netns exec $ns curl -s http://10.231.77.1:$port/_berth/gc -X POST | grep -q '\"error\"'"
	kill -TERM "$p"
	wait "$p"
	cleanup_ns
else
	printf 'skip access from another host: cannot create a network namespace\n'
fi
port=$(free_port)
"$BERTHD" --blobd "$BLOBD" --listen "127.0.0.1:$port" --data-dir "$T_TMP/d3" \
    --admin-token 0123456789abcdef-test >>"$T_TMP/d3.log" 2>&1 &
p=$!
T_PIDS+=("$p")
wait_for 20 curl -sf -o /dev/null "http://127.0.0.1:$port/v2/"
check "with --admin-token, loopback needs the token too" \
    test "$(http_status "http://127.0.0.1:$port/_berth/health")" = 403
check "--admin-token shorter than 16 characters is refused" \
    sh -c "! '$BERTHD' --admin-token short --help >/dev/null 2>&1"
kill -TERM "$p"
wait "$p"
t_summary
