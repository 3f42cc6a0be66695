#!/usr/bin/env bash
# Pull through cache against a real upstream on this machine: Debian's
# docker-registry serving HTTPS with a CA this script makes (openssl),
# mapped over quay.io with berthd --upstream-map.  skopeo and podman pull
# through berth; the first pull fetches (the upstream's access log shows
# it), the second is local, digests match byte for byte; with the upstream
# stopped the cached image is still served and an uncached one fails with
# the OCI error; concurrent pulls of one new image fetch each blob once;
# blobs never mount from or into a cached repository; a PULL_THROUGH_CACHE
# creation template configures the repository the first pull creates.
# BatchGetImage and GetDownloadUrlForLayer pull through the cache too
# (boto3: ptc/ecr_pull.py; the AWS CLI), with AWS's failure codes;
# another account imports only as the registry policy allows.
# Scan on push leaves cached images alone (their layers come when pulled);
# a scan before the layers are there fails saying so, one after reads them.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.bash"
. "$here/ptc/upstream.bash"

upstream_setup
UPORT=$(free_port)
start_upstream() {
	start_registry upstream "$UPORT"
	UPSTREAM_PID=$REGISTRY_PID
}

push_upstream() {	# layout tag repo
	push_image "$1" "$2" "127.0.0.1:$UPORT/$3"
}

# GETs of a blob the upstream served: its access log lines.
upstream_blob_gets() {
	grep -c "\"GET /v2/$1/blobs/$2 " "$T_TMP/upstream.log"
}

start_upstream
make_image "$T_TMP/img1" v1 3
make_image "$T_TMP/img2" v2 2
push_upstream "$T_TMP/img1" v1 library/app
push_upstream "$T_TMP/img2" v2 library/app
make_image "$T_TMP/img3" v1 2
make_image "$T_TMP/img4" v2 2
push_upstream "$T_TMP/img3" v1 library/tools
push_upstream "$T_TMP/img4" v2 library/tools
push_upstream "$T_TMP/img3" v1 library/cli
check "the upstream serves HTTPS with the test CA" test -n "$UPSTREAM_PID"

mkdir -p "$T_TMP/data"
secrets=$T_TMP/secrets
(umask 077 && printf '%s user token\n' "arn:aws:secretsmanager:us-east-1:\
000000000000:secret:ecr-pullthroughcache/quay-XyZ123" >"$secrets")
start_berthd "$T_TMP/data" -v --pull-through-refresh 3600 \
    --pull-through-secrets "$secrets" \
    --upstream-map "quay.io=https://127.0.0.1:$UPORT,$pki/ca.pem"
export AWS_ACCESS_KEY_ID=000000000000 AWS_SECRET_ACCESS_KEY=x \
    AWS_DEFAULT_REGION=us-east-1
aws_ecr() { aws --endpoint-url "$URL" ecr "$@"; }
check "CreatePullThroughCacheRule for quay.io" \
    aws_ecr create-pull-through-cache-rule --ecr-repository-prefix quay \
    --upstream-registry-url quay.io --output text --query ecrRepositoryPrefix
# A PULL_THROUGH_CACHE creation template configures the repositories the
# cache creates (and a CREATE_ON_PUSH one does not).
check "a PULL_THROUGH_CACHE creation template for quay" \
    aws_ecr create-repository-creation-template --prefix quay \
    --applied-for PULL_THROUGH_CACHE --image-tag-mutability IMMUTABLE \
    --resource-tags Key=from,Value=template --output text \
    --query repositoryCreationTemplate.prefix
check "ValidatePullThroughCacheRule reaches the mapped upstream" \
    test "$(aws_ecr validate-pull-through-cache-rule \
    --ecr-repository-prefix quay --query isValid --output text)" = True
aws_ecr put-registry-scanning-configuration --scan-type BASIC --rules \
    '[{"scanFrequency":"SCAN_ON_PUSH","repositoryFilters":[{"filter":"*","filterType":"WILDCARD"}]}]' \
    >/dev/null
# scan_status TAG: the scan status of quay/library/app:TAG, or the error
# (the CLI's paginated text output: every status, with or without findings).
scan_status() {
	aws_ecr describe-image-scan-findings --repository-name quay/library/app \
	    --image-id "imageTag=$1" --query imageScanStatus.status \
	    --output text 2>&1 |
	    grep -o 'ScanNotFoundException\|[A-Z_]*$' | head -1
}
scan_is() { test "$(scan_status "$1")" = "$2"; }

reg=127.0.0.1:$PORT
check "skopeo pulls quay/library/app:v1 through berth" \
    skopeo copy -q --src-tls-verify=false "docker://$reg/quay/library/app:v1" \
    "oci:$T_TMP/out1:v1"
check "the pulled manifest is the upstream's, byte for byte" cmp \
    <(skopeo inspect --raw --cert-dir "$pki/certs.d" \
    "docker://127.0.0.1:$UPORT/library/app:v1") \
    <(skopeo inspect --raw --tls-verify=false "docker://$reg/quay/library/app:v1")
# The upstream's own manifest names the blobs as the upstream stores them.
skopeo inspect --raw --cert-dir "$pki/certs.d" \
    "docker://127.0.0.1:$UPORT/library/app:v1" >"$T_TMP/up1.json"
blobs=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1]))
print(" ".join([m["config"]["digest"]] + [l["digest"] for l in m["layers"]]))' \
    "$T_TMP/up1.json")
ok_blobs=1
for d in $blobs; do
	curl -sf -o "$T_TMP/b.berth" "$URL/v2/quay/library/app/blobs/$d" &&
	    curl -sf --cacert "$pki/ca.pem" -o "$T_TMP/b.up" \
	    "https://127.0.0.1:$UPORT/v2/library/app/blobs/$d" &&
	    cmp -s "$T_TMP/b.berth" "$T_TMP/b.up" &&
	    test "sha256:$(sha256_of "$T_TMP/b.berth")" = "$d" || ok_blobs=0
done
check "every blob pulled through is the upstream's, byte for byte" \
    test "$ok_blobs" = 1
check "the repository was created by the pull" \
    aws_ecr describe-repositories --repository-names quay/library/app
check "... with the PULL_THROUGH_CACHE template's settings" test "$(aws_ecr \
    describe-repositories --repository-names quay/library/app --output text \
    --query 'repositories[0].imageTagMutability')" = IMMUTABLE
check "... and its tags" test "$(aws_ecr list-tags-for-resource \
    --resource-arn "$(aws_ecr describe-repositories --repository-names \
    quay/library/app --output text --query 'repositories[0].repositoryArn')" \
    --output text --query 'tags[0].Value')" = template
check "a cached image is not scanned on push" scan_is v1 ScanNotFoundException
aws_ecr start-image-scan --repository-name quay/library/app \
    --image-id imageTag=v1 >/dev/null
check "StartImageScan of it reads the layers pulled (no OS: unsupported)" \
    wait_for 60 scan_is v1 UNSUPPORTED_IMAGE
first=$(echo "$blobs" | cut -d' ' -f2 | cut -d: -f2)
# berth's GETs, not the test's own (curl) nor skopeo's.
upstream_blob_gets() {
	grep "\"GET /v2/$1/blobs/$2 " "$T_TMP/upstream.log" | grep -c berth/
}
n1=$(upstream_blob_gets library/app "sha256:$first")
check "the first pull fetched each blob from the upstream once" test "$n1" = 1
check "a second pull is served locally" \
    skopeo copy -q --src-tls-verify=false "docker://$reg/quay/library/app:v1" \
    "oci:$T_TMP/out1b:v1"
check "the upstream saw no second fetch" \
    test "$(upstream_blob_gets library/app "sha256:$first")" = 1

# A cached manifest whose layers no one pulled yet: its scan says so.
curl -sf -o /dev/null -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "$URL/v2/quay/library/app/manifests/v2"
aws_ecr start-image-scan --repository-name quay/library/app \
    --image-id imageTag=v2 >/dev/null
check "a scan before the layers are pulled fails" wait_for 60 scan_is v2 FAILED
check "... saying why" sh -c "aws --endpoint-url '$URL' ecr \
    describe-image-scan-findings --repository-name quay/library/app \
    --image-id imageTag=v2 --query imageScanStatus.description \
    --output text | grep -q 'a pull through cache has not fetched it yet'"

# Concurrent pulls of a new image: one fetch per blob.
pids=()
for i in $(seq 20); do
	skopeo copy -q --src-tls-verify=false \
	    "docker://$reg/quay/library/app:v2" "oci:$T_TMP/c$i:v2" \
	    >"$T_TMP/c$i.log" 2>&1 &
	pids+=($!)
done
allok=1
for p in "${pids[@]}"; do wait "$p" || allok=0; done
check "20 concurrent pulls of a new image succeed" test "$allok" = 1
once=1
skopeo inspect --raw --cert-dir "$pki/certs.d" \
    "docker://127.0.0.1:$UPORT/library/app:v2" >"$T_TMP/up2.json"
for d in $(python3 -c 'import json,sys; m=json.load(open(sys.argv[1]))
print(" ".join([m["config"]["digest"]] + [l["digest"] for l in m["layers"]]))' \
    "$T_TMP/up2.json"); do
	[ "$(upstream_blob_gets library/app "$d")" = 1 ] || once=0
done
check "the upstream served each blob of it once" test "$once" = 1
aws_ecr start-image-scan --repository-name quay/library/app \
    --image-id imageTag=v2 >/dev/null
check "once pulled, a FAILED scan started again reads it" \
    wait_for 60 scan_is v2 UNSUPPORTED_IMAGE

# Blob mounting (userguide/blob-mounting.html) is not for images a pull
# through cache created: even with BLOB_MOUNTING ENABLED a mount from a
# cached repository opens an upload, while one between two repositories
# no rule covers mounts.
check "put-account-setting BLOB_MOUNTING ENABLED" \
    aws_ecr put-account-setting --name BLOB_MOUNTING --value ENABLED
for r in plain/one plain/two; do
	aws_ecr create-repository --repository-name "$r" >/dev/null
done
post_mount() {	# REPO FROM DIGEST: the POST's status
	http_status -X POST "$URL/v2/$1/blobs/uploads/?mount=$3&from=$2"
}
check "no mount from a pull through cache repository (202)" \
    test "$(post_mount plain/one quay/library/app "sha256:$first")" = 202
head -c 3000 /dev/urandom >"$T_TMP/mblob"
md=sha256:$(sha256_of "$T_TMP/mblob")
check "a blob pushed into plain/one" \
    test "$(berth_push_blob plain/one "$T_TMP/mblob" "$md")" = 201
check "no mount into a pull through cache repository (202)" \
    test "$(post_mount quay/library/app plain/one "$md")" = 202
check "a mount between repositories no rule covers (201)" \
    test "$(post_mount plain/two plain/one "$md")" = 201

if command -v podman >/dev/null; then
	check "podman pulls through berth" podman --root "$T_TMP/pr" \
	    --runroot "$T_TMP/prr" --storage-driver vfs pull -q \
	    --tls-verify=false "$reg/quay/library/app:v1"
fi

# A more specific template than quay's wins.
aws_ecr create-repository-creation-template --prefix quay/library/cli \
    --applied-for PULL_THROUGH_CACHE --image-tag-mutability MUTABLE \
    >/dev/null
digest=$(aws_ecr batch-get-image --repository-name quay/library/cli \
    --image-ids imageTag=v1 --output text \
    --query 'images[0].imageId.imageDigest')
check "the AWS CLI's batch-get-image pulls an image through the cache" \
    test "$digest" = "sha256:$(skopeo inspect --raw --cert-dir \
    "$pki/certs.d" "docker://127.0.0.1:$UPORT/library/cli:v1" | sha256sum |
    cut -d' ' -f1)"
mut() {
	aws_ecr describe-repositories --repository-names "$1" --output text \
	    --query 'repositories[0].imageTagMutability'
}
check "the repository got the most specific PULL_THROUGH_CACHE template" \
    test "$(mut quay/library/cli)" = MUTABLE
check "... and one it does not cover quay's" \
    test "$(mut quay/library/app)" = IMMUTABLE
ecr_pull() {
	ENDPOINT=$URL UPSTREAM=https://127.0.0.1:$UPORT CA=$pki/ca.pem \
	    UPLOG=$T_TMP/upstream.log BERTHD_PID=$BERTHD_PID \
	    BERTHD_LOG=$T_TMP/data.log SECRETS=$secrets STATE=$T_TMP/state \
	    python3 "$here/ptc/ecr_pull.py" "$1"
}
check "BatchGetImage and GetDownloadUrlForLayer through the cache (boto3)" \
    ecr_pull up

# The first GET of a blob is shown it as it comes (berthd's log says so),
# its last byte held until blobd has verified the digest.
make_image "$T_TMP/img5" v1 2 3000000
push_upstream "$T_TMP/img5" v1 library/stream
skopeo inspect --raw --cert-dir "$pki/certs.d" \
    "docker://127.0.0.1:$UPORT/library/stream:v1" >"$T_TMP/up5.json"
read -r sgood sliar < <(python3 -c 'import json,sys
print(" ".join(l["digest"] for l in json.load(open(sys.argv[1]))["layers"]))' \
    "$T_TMP/up5.json")
curl -sf -o /dev/null "$URL/v2/quay/library/stream/manifests/v1"
upfile() {	# DIGEST: the upstream's stored blob
	local h=${1#sha256:}
	echo "$T_TMP/upstream/docker/registry/v2/blobs/sha256/${h:0:2}/$h/data"
}
blob_held() { ! blob_absent "$1"; }
check "a first GET of a 3 MB blob is the upstream's, byte for byte" sh -c \
    "curl -sf '$URL/v2/quay/library/stream/blobs/$sgood' |
    cmp -s - '$(upfile "$sgood")'"
check "... it was streamed while stored" \
    grep -q "blob $sgood from .*, streamed" "$T_TMP/data.log"
check "... and is stored" blob_held "$sgood"
# A lying upstream: one byte of a blob changed in its storage, which
# docker-registry serves as it is.
python3 - "$(upfile "$sliar")" <<'PY'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(1500000)
    b = f.read(1)
    f.seek(1500000)
    f.write(bytes([b[0] ^ 0xff]))
PY
rc=0 nup=$(uploads)	# the mounts' above
curl -sf -o "$T_TMP/liar" "$URL/v2/quay/library/stream/blobs/$sliar" || rc=$?
check "a GET of a blob whose bytes are not its digest's fails" \
    test "$rc" != 0
check "... with a body short of the blob" test "$(wc -c <"$T_TMP/liar")" -lt \
    "$(wc -c <"$(upfile "$sliar")")"
check "... which was streamed" \
    grep -q "blob $sliar from .*, streamed" "$T_TMP/data.log"
check "... nothing of it is stored" blob_absent "$sliar"
check "... and no upload session is left" test "$(uploads)" = "$nup"
check "skopeo's pull of the image fails" sh -c "! skopeo copy -q \
    --src-tls-verify=false 'docker://$reg/quay/library/stream:v1' \
    'oci:$T_TMP/out5:v1' 2>/dev/null"

# The upstream goes away: the cache serves what it has.
kill "$UPSTREAM_PID"
wait "$UPSTREAM_PID" 2>/dev/null
check "the ECR API with the upstream down: what is held, AWS's failures" \
    ecr_pull down
check "with the upstream down the cached image is still served" \
    skopeo copy -q --src-tls-verify=false "docker://$reg/quay/library/app:v1" \
    "oci:$T_TMP/out2:v1"
code=$(http_status "$URL/v2/quay/library/app/manifests/v3")
check "an image never cached fails with 502 while the upstream is down" \
    test "$code" = 502
check "... in the OCI error shape" sh -c "curl -s '$URL/v2/quay/library/app/manifests/v3' | grep -q '\"errors\"'"
code=$(http_status "$URL/v2/other/app/manifests/v1")
check "a repository no rule covers is unknown as before" test "$code" = 404
t_summary
