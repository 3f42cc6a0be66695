#!/usr/bin/env bash
# A disk filled to the last byte can be emptied through berth: pushes fail
# with "no space" in each protocol's shape, while deletes (OCI DELETE, ECR
# BatchDeleteImage), garbage collection and a reset still work; then pushes
# work again.  Also after berthd is killed and restarted on the full disk.
# The disk is a small tmpfs mounted by the test in a private mount
# namespace (as root, or in a user namespace where that is allowed).
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.." || exit 1

if [ -z "${BERTH_DISK_NS:-}" ]; then
	export BERTH_DISK_NS=1
	if [ "$(id -u)" = 0 ] && unshare -m --propagation private true 2>/dev/null; then
		exec unshare -m --propagation private bash "$0" "$@"
	elif unshare -r -m true 2>/dev/null; then
		exec unshare -r -m bash "$0" "$@"
	fi
	echo "skip: cannot make a private mount namespace for the small disk"
	echo "0 passed, 0 failed"
	exit 0
fi
. "$here/common.bash"

DISK=$T_TMP/disk
mkdir -p "$DISK"
mount -t tmpfs -o size=40m,mode=0755 tmpfs "$DISK" ||
    { fail "mount a 40 MiB tmpfs"; t_summary; exit 1; }
D=$DISK/data
LOG=${DISK_FULL_LOG:-$T_TMP/berthd.log}		# not on the small disk

start() {
	PORT=$(free_port)
	URL="http://127.0.0.1:$PORT"
	"$BERTHD" --blobd "$BLOBD" --listen "127.0.0.1:$PORT" --data-dir "$D" \
	    --create-on-push --gc-grace 0 >>"$LOG" 2>&1 &
	BERTHD_PID=$!
	T_PIDS+=("$BERTHD_PID")
	# Not /_berth/health: it says 503 while the storage is not writable.
	wait_for 20 curl -sf -o /dev/null "$URL/v2/"
}
free_blocks() { stat -f -c %a "$DISK"; }
ecr() {	# OP JSON|@FILE: the status; the body in $T_TMP/body
	curl -s -o "$T_TMP/body" -w '%{http_code}' -X POST \
	    -H "X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.$1" \
	    -H 'Content-Type: application/x-amz-json-1.1' --data-binary "$2" "$URL/"
}
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($1)" "$T_TMP/body"; }
status() { curl -s -o "$T_TMP/body" -w '%{http_code}' "$@"; }

# image TAG: a config, a 1 MiB layer of its own and a manifest in disk/app;
# prints the status of the first request that fails, or 201.
image() {
	local tag=$1 c l s
	printf '{"tag":"%s"}' "$tag" >"$T_TMP/c-$tag"
	head -c 1048576 /dev/urandom >"$T_TMP/l-$tag"
	c=sha256:$(sha256_of "$T_TMP/c-$tag")
	l=sha256:$(sha256_of "$T_TMP/l-$tag")
	for f in c l; do
		local d=$c
		[ $f = l ] && d=$l
		s=$(status -X POST --data-binary @"$T_TMP/$f-$tag" \
		    "$URL/v2/disk/app/blobs/uploads/?digest=$d")
		[ "$s" = 201 ] || { echo "$s"; return; }
	done
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"%s","size":1048576}]}' \
	    "$c" "$(stat -c %s "$T_TMP/c-$tag")" "$l" >"$T_TMP/m-$tag"
	status -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
	    --data-binary @"$T_TMP/m-$tag" "$URL/v2/disk/app/manifests/$tag"
}

# fill PREFIX: pushes images until one fails; sets PUSHED to the tags that
# made it and REFUSED to the failing status.
fill() {
	local i s
	PUSHED=()
	for i in $(seq 1 100); do
		s=$(image "$1$i")
		[ "$s" = 201 ] || { REFUSED=$s; return; }
		PUSHED+=("$1$i")
	done
	REFUSED=none
}

# to_zero NAME: fills what is left of the disk from outside berth.
to_zero() {
	dd if=/dev/zero of="$DISK/$1" bs=4096 2>/dev/null
	test "$(free_blocks)" = 0
}

start || { fail "berthd starts on the small disk"; t_summary; exit 1; }
fill a
check "images fill the disk (${#PUSHED[@]} pushed)" test "${#PUSHED[@]}" -gt 5
check "then a /v2/ push is refused with 507" test "$REFUSED" = 507
check "... as an OCI error saying there is no space" \
    sh -c "grep -q '\"errors\"' '$T_TMP/body' && grep -qi 'no space' '$T_TMP/body'"
check "the disk has no free block left" to_zero filler1

# --- at 0 bytes free: what adds is refused as each API says ----------------------------
M1=sha256:$(sha256_of "$T_TMP/m-a1")
# A manifest of 512 KiB: its log entry cannot fit in the log's last page.
python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); m["annotations"]={"pad":"x"*524288}; print(json.dumps({"repositoryName":"disk/app","imageManifest":json.dumps(m),"imageTag":"big"}))' "$T_TMP/m-a1" >"$T_TMP/big"
check "ECR PutImage of a 512 KiB manifest is refused (500)" \
    test "$(ecr PutImage @"$T_TMP/big")" = 500
check "... as ServerException saying there is no space" \
    test "$(json 'd["__type"], "no space" in d["message"]')" = "ServerException True"
# A session takes no space until its first byte: its first part is refused.
check "ECR InitiateLayerUpload answers (200)" \
    test "$(ecr InitiateLayerUpload '{"repositoryName":"disk/app"}')" = 200
uid=$(json 'd["uploadId"]')
head -c 65536 /dev/urandom | base64 -w0 >"$T_TMP/part"
printf '{"repositoryName":"disk/app","uploadId":"%s","partFirstByte":0,"partLastByte":65535,"layerPartBlob":"%s"}' \
    "$uid" "$(cat "$T_TMP/part")" >"$T_TMP/partreq"
check "ECR UploadLayerPart is refused (500)" \
    test "$(ecr UploadLayerPart @"$T_TMP/partreq")" = 500
check "... as ServerException saying there is no space" \
    test "$(json 'd["__type"], "no space" in d["message"]')" = "ServerException True"

# --- ... and what frees works ------------------------------------------------------------
n=${#PUSHED[@]}
half=$((n / 2))
ids=$(for ((i = 1; i <= half; i++)); do printf '{"imageTag":"a%d"},' "$i"; done)
check "ECR BatchDeleteImage of $half images works at 0 bytes free (200)" \
    test "$(ecr BatchDeleteImage "{\"repositoryName\":\"disk/app\",\"imageIds\":[${ids%,}]}")" = 200
check "... and deleted every one of them" \
    test "$(json 'len(d["imageIds"]), len(d["failures"])')" = "$half 0"
last=a$n
ML=sha256:$(sha256_of "$T_TMP/m-$last")
check "OCI DELETE of a manifest works at 0 bytes free (202)" \
    test "$(status -X DELETE "$URL/v2/disk/app/manifests/$ML")" = 202
check "GC works at 0 bytes free (200)" test "$(status -X POST "$URL/_berth/gc")" = 200
reclaimed=$(json 'd["bytes_reclaimed"]')
check "... and reclaims the deleted images' layers ($reclaimed bytes)" \
    test "$reclaimed" -ge $(((half + 1) * 1048576))
check "pushes work again" test "$(image b1)" = 201
kept=l-a$((half + 1))
check "the images left are intact" \
    test "$(curl -s "$URL/v2/disk/app/blobs/sha256:$(sha256_of "$T_TMP/$kept")" | sha256sum | cut -d' ' -f1)" = \
    "$(sha256_of "$T_TMP/$kept")"

# --- full again, then a restart on the full disk -----------------------------------------
fill c
check "the disk fills up again" test "$REFUSED" = 507
check "to the last block" to_zero filler2
kill -9 "$BERTHD_PID"
wait "$BERTHD_PID" 2>/dev/null
wait_for 10 sh -c "! pgrep -f 'berth-blobd.*--data-dir $D\$' >/dev/null"
check "berthd starts again on the full disk" start
check "a delete works after the restart (202)" \
    test "$(status -X DELETE "$URL/v2/disk/app/manifests/sha256:$(sha256_of "$T_TMP/m-c1")")" = 202
check "and GC (200)" test "$(status -X POST "$URL/_berth/gc")" = 200
check "the disk is full again" to_zero filler3
check "a reset of everything works at 0 bytes free (200)" \
    test "$(status -X POST "$URL/_berth/reset")" = 200
check "... which leaves no repository" \
    test "$(curl -s "$URL/_berth/repositories")" = '{"repositories":[]}'
rm -f "$DISK/filler1" "$DISK/filler2" "$DISK/filler3"
check "pushes work after the reset" test "$(image d1)" = 201
kill -TERM "$BERTHD_PID"
wait "$BERTHD_PID"
umount "$DISK"
t_summary
