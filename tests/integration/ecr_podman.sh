#!/usr/bin/env bash
# "One store": the ECR API and the /v2/ registry are one.  Images pushed
# with podman and skopeo are listed, described and fetched byte for byte by
# the ECR API; an image put with the layer API and PutImage pulls with
# skopeo; BatchDeleteImage and `skopeo delete` are seen by both sides;
# pulls update lastRecordedPullTime.  Also the login flow
# (aws ecr get-login-password | podman login) with a URI copied from
# DescribeRepositories, and --require-auth.  Images are built offline
# with umoci; every tool keeps its state in a temporary directory.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
BERTHD=${BERTHD:-$top/build/daemon/berthd}
BLOBD=${BLOBD:-$top/build/blobd/berth-blobd}
AWS=${AWS:-/usr/bin/aws}

# Lower case: podman names an image pulled from an OCI layout after its
# path, and image names are lower case.
tmp=/tmp/berth-podman.$$.$RANDOM
mkdir -m 700 "$tmp" || exit 1
passed=0
failed=0
pids=()

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

start_berthd() {	# dir port args...
	local dir=$1 port=$2
	shift 2
	"$BERTHD" --blobd "$BLOBD" --listen "127.0.0.1:$port" \
	    --data-dir "$dir" "$@" >"$dir.log" 2>&1 &
	pids+=($!)
	for _ in $(seq 600); do
		curl -s -o /dev/null "http://127.0.0.1:$port/v2/" && return 0
		sleep 0.05
	done
	return 1
}

cleanup() {
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	if [ "$failed" = 0 ]; then rm -rf "$tmp"; else
		echo "logs and data kept in $tmp"; fi
}
trap cleanup EXIT

check() {
	local name=$1
	shift
	if "$@" >>"$tmp/commands.log" 2>&1; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "FAIL: $name"
	fi
}

port=$(free_port)
reg=127.0.0.1:$port
start_berthd "$tmp/data" "$port" || { echo "berthd did not start"; exit 1; }

# --- isolated tool configuration -----------------------------------------
export AWS_CONFIG_FILE=$tmp/aws-config AWS_SHARED_CREDENTIALS_FILE=$tmp/aws-creds
export AWS_PAGER="" AWS_MAX_ATTEMPTS=1 AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1
export AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=secret
printf '[default]\nregion = us-east-1\n' >"$AWS_CONFIG_FILE"
: >"$AWS_SHARED_CREDENTIALS_FILE"
mkdir -p "$tmp/storage/root" "$tmp/storage/run" "$tmp/ctmp"
cat >"$tmp/storage.conf" <<EOF
[storage]
driver = "vfs"
graphroot = "$tmp/storage/root"
runroot = "$tmp/storage/run"
EOF
registries() {	# the insecure registries, one per argument
	{
		echo 'unqualified-search-registries = []'
		for r in "$@"; do
			printf '[[registry]]\nlocation = "%s"\ninsecure = true\n' "$r"
		done
	} >"$tmp/registries.conf"
}
registries "$reg"
cat >"$tmp/containers.conf" <<EOF
[engine]
tmp_dir = "$tmp/ctmp"
events_logger = "file"
EOF
export CONTAINERS_STORAGE_CONF=$tmp/storage.conf
export CONTAINERS_REGISTRIES_CONF=$tmp/registries.conf
export CONTAINERS_CONF=$tmp/containers.conf
export REGISTRY_AUTH_FILE=$tmp/auth.json
echo '{}' >"$REGISTRY_AUTH_FILE"
podman() { command podman --root "$tmp/storage/root" \
    --runroot "$tmp/storage/run" "$@"; }

ecr() {
	"$AWS" --endpoint-url "http://$reg" --output json ecr "$@"
}

# --- an image built offline -------------------------------------------------
layout=$tmp/layout
umoci init --layout "$layout" >/dev/null
umoci new --image "$layout:base" >/dev/null
umoci config --image "$layout:base" --architecture amd64 --os linux \
    --config.cmd /hello >/dev/null
head -c 200000 /dev/urandom >"$tmp/hello"
umoci insert --image "$layout:base" "$tmp/hello" /hello >/dev/null
umoci tag --image "$layout:base" second >/dev/null
echo "second layer" >"$tmp/second"
umoci insert --image "$layout:second" "$tmp/second" /second >/dev/null

# --- the login flow with a URI copied from DescribeRepositories -----------
ecr create-repository --repository-name team/app >/dev/null
ecr create-repository --repository-name team/api >/dev/null
uri=$(ecr describe-repositories --repository-names team/app |
    jq -r '.repositories[0].repositoryUri')
check "uri is the registry" test "$uri" = "$reg/team/app"
check "login" bash -c "'$AWS' --endpoint-url 'http://$reg' ecr \
    get-login-password | command podman --root '$tmp/storage/root' \
    --runroot '$tmp/storage/run' login --username AWS --password-stdin '$reg'"
check "podman pull layout" podman pull -q "oci:$layout:base"
base_id=$(podman images -q | head -1)
check "podman tag" podman tag "$base_id" "$uri:v1"
check "podman push" podman push -q --format oci "$uri:v1"
check "skopeo push" skopeo copy -q --dest-tls-verify=false \
    "oci:$layout:second" "docker://$uri:second"

# --- pushed with podman: listed, described, fetched byte for byte --------
raw=$(skopeo inspect --raw --tls-verify=false "docker://$uri:v1")
digest=sha256:$(printf '%s' "$raw" | sha256sum | cut -d' ' -f1)
out=$(ecr list-images --repository-name team/app)
check "list sees podman's push" jq -e ".imageIds | map(select(.imageTag ==
    \"v1\" and .imageDigest == \"$digest\")) | length == 1" <<<"$out"
check "list sees skopeo's push" jq -e '.imageIds | map(select(.imageTag ==
    "second")) | length == 1' <<<"$out"
out=$(ecr describe-images --repository-name team/app --image-ids imageTag=v1)
check "describe podman's push" jq -e ".imageDetails[0].imageDigest ==
    \"$digest\" and .imageDetails[0].imageSizeInBytes > 0" <<<"$out"
ecr batch-get-image --repository-name team/app --image-ids imageTag=v1 \
    >"$tmp/bgi.json"
jq -j '.images[0].imageManifest' "$tmp/bgi.json" >"$tmp/bgi.manifest"
printf '%s' "$raw" >"$tmp/raw.manifest"
check "batch-get-image byte-identical" cmp "$tmp/bgi.manifest" \
    "$tmp/raw.manifest"
out=$(ecr describe-images --repository-name team/app --image-ids imageTag=v1)
check "pull time recorded" jq -e '.imageDetails[0].lastRecordedPullTime' \
    <<<"$out"

# --- PutImage after the layer API, pulled with skopeo -----------------------
upload() {	# repo file: uploads it as a layer
	local id size
	id=$(ecr initiate-layer-upload --repository-name "$1" | jq -r .uploadId)
	size=$(stat -c %s "$2")
	ecr upload-layer-part --repository-name "$1" --upload-id "$id" \
	    --part-first-byte 0 --part-last-byte $((size - 1)) \
	    --layer-part-blob "fileb://$2" >/dev/null &&
	ecr complete-layer-upload --repository-name "$1" --upload-id "$id" \
	    --layer-digests "sha256:$(sha256sum "$2" | cut -d' ' -f1)" \
	    >/dev/null
}
mdesc=$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == "second") | .digest' "$layout/index.json")
mfile=$layout/blobs/sha256/${mdesc#sha256:}
ok_upload=1
for d in $(jq -r '.config.digest, .layers[].digest' "$mfile"); do
	upload team/api "$layout/blobs/sha256/${d#sha256:}" || ok_upload=0
done
check "layers via the layer API" test "$ok_upload" = 1
check "put-image" ecr put-image --repository-name team/api --image-tag v2 \
    --image-manifest "file://$mfile" \
    --image-manifest-media-type application/vnd.oci.image.manifest.v1+json
check "skopeo pulls put-image's image" skopeo copy -q --src-tls-verify=false \
    "docker://$reg/team/api:v2" "oci:$tmp/pulled:v2"
check "pulled manifest is the one put" test -f \
    "$tmp/pulled/blobs/sha256/${mdesc#sha256:}"
for d in $(jq -r '.layers[].digest' "$mfile"); do
	check "pulled layer ${d:7:12}" cmp "$tmp/pulled/blobs/sha256/${d#sha256:}" \
	    "$layout/blobs/sha256/${d#sha256:}"
done
out=$(ecr describe-images --repository-name team/api --image-ids imageTag=v2)
check "skopeo's pull recorded" jq -e \
    '.imageDetails[0].lastRecordedPullTime' <<<"$out"
check "podman pulls put-image's image" podman pull -q "$reg/team/api:v2"

# --- deletions are seen by both sides ---------------------------------------
check "batch-delete-image" ecr batch-delete-image --repository-name team/api \
    --image-ids imageTag=v2
check "deleted image does not pull" bash -c "! skopeo inspect --raw \
    --tls-verify=false docker://$reg/team/api:v2"
sdig=sha256:$(skopeo inspect --raw --tls-verify=false \
    "docker://$uri:second" | sha256sum | cut -d' ' -f1)
check "skopeo delete" skopeo delete --tls-verify=false "docker://$uri@$sdig"
out=$(ecr list-images --repository-name team/app)
check "skopeo delete seen by list-images" jq -e ".imageIds | map(select(
    .imageDigest == \"$sdig\")) | length == 0" <<<"$out"

# --- --require-auth -----------------------------------------------------------
aport=$(free_port)
areg=127.0.0.1:$aport
start_berthd "$tmp/data-auth" "$aport" --require-auth || {
	echo "berthd --require-auth did not start"; exit 1; }
registries "$reg" "$areg"
hdrs=$(curl -s -D - -o /dev/null "http://$areg/v2/")
check "anonymous is 401" grep -q '^HTTP/1.1 401' <<<"$hdrs"
check "challenge" grep -qi '^WWW-Authenticate: Basic realm=".*",service="ecr.amazonaws.com"' <<<"$hdrs"
check "anonymous pull refused" bash -c "! skopeo inspect --raw \
    --tls-verify=false --no-creds docker://$areg/team/app:v1"
check "create repository (auth)" "$AWS" --endpoint-url "http://$areg" ecr \
    create-repository --repository-name team/app
check "login (auth)" bash -c "'$AWS' --endpoint-url 'http://$areg' ecr \
    get-login-password | command podman --root '$tmp/storage/root' \
    --runroot '$tmp/storage/run' login --username AWS --password-stdin '$areg'"
check "push with login" skopeo copy -q --dest-tls-verify=false \
    "oci:$layout:base" "docker://$areg/team/app:v1"
check "pull with login" skopeo inspect --raw --tls-verify=false \
    "docker://$areg/team/app:v1"
check "wrong password refused" test "$(curl -s -o /dev/null -w '%{http_code}' \
    -u AWS:berth1.00.00 "http://$areg/v2/")" = 401

# --- GetDownloadUrlForLayer: the URL is its own credential ----------------
# As ECR's pre-signed URLs: no login, any account, and only for that blob.
aecr() {	# account region args...: the ECR API of the --require-auth berthd
	local acct=$1 region=$2
	shift 2
	AWS_ACCESS_KEY_ID=$acct AWS_REGION=$region AWS_DEFAULT_REGION=$region \
	    "$AWS" --endpoint-url "http://$areg" --output json ecr "$@"
}
aecr 123456789012 eu-west-3 create-repository --repository-name dl/app \
    >/dev/null
login=$(aecr 123456789012 eu-west-3 get-login-password)
blob_of() { jq -r ".layers[$1].digest" "$2"; }
bmf=$layout/blobs/sha256/$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == "second") | .digest' "$layout/index.json" | cut -d: -f2)
check "push into another account (auth)" skopeo copy -q \
    --dest-tls-verify=false --dest-creds "AWS:$login" "oci:$layout:second" \
    "docker://$areg/dl/app:v1"
l0=$(blob_of 0 "$bmf")
l1=$(blob_of 1 "$bmf")
dl0=$(aecr 123456789012 eu-west-3 get-download-url-for-layer \
    --repository-name dl/app --layer-digest "$l0" | jq -r .downloadUrl)
check "download URL names the registry" grep -q "^http://$areg/v2/dl/app/blobs/$l0?" <<<"$dl0"
curl -s -o "$tmp/dl0" "$dl0"
check "download URL serves the layer without a login" cmp "$tmp/dl0" \
    "$layout/blobs/sha256/${l0#sha256:}"
check "download URL honours Range" test "$(curl -s -r 0-9 "$dl0" | wc -c)" = 10
check "without its parameter the blob needs a login" test "$(curl -s \
    -o /dev/null -w '%{http_code}' "${dl0%%\?*}")" = 401
other=${dl0/blobs\/$l0/blobs\/$l1}
check "a download URL is for one blob only" test "$(curl -s -o /dev/null \
    -w '%{http_code}' "$other")" = 403
forged=${dl0%?}0
[ "$forged" = "$dl0" ] && forged=${dl0%?}1
check "a forged download URL is refused" test "$(curl -s -o /dev/null \
    -w '%{http_code}' "$forged")" = 403
check "a download URL does not upload" test "$(curl -s -o /dev/null \
    -w '%{http_code}' -X POST "http://$areg/v2/dl/app/blobs/uploads/?${dl0#*\?}")" = 403
grant=${dl0#*=}
check "a download URL is not a password" test "$(curl -s -o /dev/null \
    -w '%{http_code}' -u "AWS:$grant" "http://$areg/v2/")" = 401

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
