#!/usr/bin/env bash
# Pull through cache: a blob the store holds already (images share base
# layers) is linked into a cache repository once the upstream says it has
# it there, not downloaded again.  Two upstream repositories (Debian's
# docker-registry over HTTPS with a test CA) hold images sharing a layer;
# skopeo pulls the first through berth, then the second: the upstream's
# access log shows berth's HEAD of the shared layer in the second
# repository and no GET, and the pull's bytes are the upstream's.
# Concurrent GETs of a stored blob under a third repository make one
# HEAD, and GetDownloadUrlForLayer links as a GET does.  A blob berth holds from a normal push, asked under a cache
# repository whose upstream lacks it, is a 404 and is not linked; with
# the upstream down it fails as an uncached blob does (502) and is not
# linked either.  An upstream (ptc/servers.py's front) whose HEAD gives
# another Content-Length or Docker-Content-Digest than the stored blob's
# is not trusted with it: the blob is fetched (and verified), not linked.
# BERTHD and BLOBD name the binaries.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.bash"
. "$here/ptc/upstream.bash"

upstream_setup
UPORT=$(free_port)
start_registry upstream "$UPORT"
UPSTREAM_PID=$REGISTRY_PID

# Two images whose first layers are one: B takes A's first layer.
make_image "$T_TMP/a" v1 2
make_image "$T_TMP/b" v1 2
python3 - "$T_TMP/a" "$T_TMP/b" <<'PY'
import hashlib, json, shutil, sys
a, b = sys.argv[1], sys.argv[2]
def manifest(d):
    idx = json.load(open(d + "/index.json"))
    h = idx["manifests"][0]["digest"].split(":")[1]
    return idx, json.load(open(d + "/blobs/sha256/" + h))
def put(d, data):
    h = hashlib.sha256(data).hexdigest()
    open(d + "/blobs/sha256/" + h, "wb").write(data)
    return {"digest": "sha256:" + h, "size": len(data)}
_, ma = manifest(a)
idx, mb = manifest(b)
shared = ma["layers"][0]
shutil.copy(a + "/blobs/sha256/" + shared["digest"].split(":")[1],
    b + "/blobs/sha256/")
mb["layers"][0] = shared
cfg = json.loads(open(b + "/blobs/sha256/" +
    mb["config"]["digest"].split(":")[1]).read())
cfg["rootfs"]["diff_ids"] = [l["digest"] for l in mb["layers"]]
c = put(b, json.dumps(cfg).encode())
c["mediaType"] = mb["config"]["mediaType"]
mb["config"] = c
m = put(b, json.dumps(mb).encode())
idx["manifests"][0].update(m)
json.dump(idx, open(b + "/index.json", "w"))
PY
push_image "$T_TMP/a" v1 "127.0.0.1:$UPORT/library/one"
push_image "$T_TMP/b" v1 "127.0.0.1:$UPORT/library/two"
push_image "$T_TMP/b" v1 "127.0.0.1:$UPORT/library/three"
push_image "$T_TMP/b" v1 "127.0.0.1:$UPORT/library/five"
# The blobs as the upstream stores them (skopeo compressed the layers).
up_blobs() {	# REPO: its v1's config and layers
	skopeo inspect --raw --cert-dir "$pki/certs.d" \
	    "docker://127.0.0.1:$UPORT/$1:v1" | python3 -c 'import json, sys
m = json.load(sys.stdin)
print(" ".join([m["config"]["digest"]] + [l["digest"] for l in m["layers"]]))'
}
read -r _ shared only_a <<<"$(up_blobs library/one)"
read -r _ shared_b only_b <<<"$(up_blobs library/two)"
check "the two upstream images share their first layer" \
    test "$shared" = "$shared_b" -a "$only_a" != "$only_b"

start_front "$UPORT"
arn=arn:aws:secretsmanager:us-east-1:000000000000:secret:ecr-pullthroughcache
(umask 077 && echo "$arn/front-AbC123 fuser fpass" >"$T_TMP/secrets")
mkdir -p "$T_TMP/data"
start_berthd "$T_TMP/data" -v --pull-through-secrets "$T_TMP/secrets" \
    --upstream-map "quay.io=https://127.0.0.1:$UPORT,$pki/ca.pem" \
    --upstream-map "registry.gitlab.com=https://127.0.0.1:$FP,$pki/ca.pem"
export AWS_ACCESS_KEY_ID=000000000000 AWS_SECRET_ACCESS_KEY=x \
    AWS_DEFAULT_REGION=us-east-1
check "CreatePullThroughCacheRule for quay.io" \
    aws --endpoint-url "$URL" ecr create-pull-through-cache-rule \
    --ecr-repository-prefix quay --upstream-registry-url quay.io \
    --output text --query ecrRepositoryPrefix
reg=127.0.0.1:$PORT

# berth's requests (its user agent), not skopeo's nor the test's.
upstream_reqs() {	# METHOD REPO DIGEST
	grep "\"$1 /v2/$2/blobs/$3 " "$T_TMP/upstream.log" | grep -c berth/
}
upfile() {		# DIGEST: the upstream's stored blob
	local h=${1#sha256:}
	echo "$T_TMP/upstream/docker/registry/v2/blobs/sha256/${h:0:2}/$h/data"
}
# layout_has LAYOUT DIGEST: the layout holds the upstream's bytes of it.
layout_has() {
	cmp -s "$1/blobs/sha256/${2#sha256:}" "$(upfile "$2")"
}

check "skopeo pulls quay/library/one:v1 through berth" \
    skopeo copy -q --src-tls-verify=false "docker://$reg/quay/library/one:v1" \
    "oci:$T_TMP/out1:v1"
check "... which fetched the shared layer" \
    test "$(upstream_reqs GET library/one "$shared")" = 1
check "skopeo pulls quay/library/two:v1 through berth" \
    skopeo copy -q --src-tls-verify=false "docker://$reg/quay/library/two:v1" \
    "oci:$T_TMP/out2:v1"
check "... the shared layer was asked with a HEAD in library/two" \
    test "$(upstream_reqs HEAD library/two "$shared")" = 1
check "... and not fetched again" \
    test "$(upstream_reqs GET library/two "$shared")" = 0
check "... its own layer was fetched" \
    test "$(upstream_reqs GET library/two "$only_b")" = 1
check "... the pull holds the upstream's bytes of the shared layer" \
    layout_has "$T_TMP/out2" "$shared"
check "... and of its own" layout_has "$T_TMP/out2" "$only_b"
check "... berthd says it linked the stored blob" grep -q \
    "quay/library/two@$shared: the upstream has it: the stored blob is linked" \
    "$T_TMP/data.log"
check "a GET of the shared layer in quay/library/two is the upstream's" \
    sh -c "curl -sf '$URL/v2/quay/library/two/blobs/$shared' |
    cmp -s - '$(upfile "$shared")'"
check "... and made no other request upstream" \
    test "$(upstream_reqs HEAD library/two "$shared")" = 1

# Concurrent GETs of the stored blob under a new cache repository: every
# one gets it; the upstream is asked once.
pids=()
for i in $(seq 10); do
	curl -sf -o "$T_TMP/c$i" "$URL/v2/quay/library/three/blobs/$shared" &
	pids+=($!)
done
allok=1
for p in "${pids[@]}"; do wait "$p" || allok=0; done
for i in $(seq 10); do cmp -s "$T_TMP/c$i" "$(upfile "$shared")" || allok=0; done
check "10 concurrent GETs of a stored blob in a new repository get it" \
    test "$allok" = 1
check "... with one HEAD upstream" \
    test "$(upstream_reqs HEAD library/three "$shared")" = 1
check "... and no GET" test "$(upstream_reqs GET library/three "$shared")" = 0

# The ECR API: BatchGetImage, then GetDownloadUrlForLayer of the layer.
check "BatchGetImage of quay/library/five:v1" \
    aws --endpoint-url "$URL" ecr batch-get-image \
    --repository-name quay/library/five --image-ids imageTag=v1 \
    --output text --query 'images[0].imageId.imageDigest'
dl=$(aws --endpoint-url "$URL" ecr get-download-url-for-layer \
    --repository-name quay/library/five --layer-digest "$shared" \
    --output text --query downloadUrl)
check "GetDownloadUrlForLayer of the stored layer: a URL of the upstream's bytes" \
    sh -c "curl -sf '$dl' | cmp -s - '$(upfile "$shared")'"
check "... after one HEAD upstream and no GET" sh -c \
    "test $(upstream_reqs HEAD library/five "$shared") = 1 &&
    test $(upstream_reqs GET library/five "$shared") = 0"

# A blob pushed into a plain repository, which no upstream repository has.
aws --endpoint-url "$URL" ecr create-repository --repository-name plain/app \
    >/dev/null
head -c 5000 /dev/urandom >"$T_TMP/own"
own=sha256:$(sha256_of "$T_TMP/own")
check "a blob pushed into plain/app" \
    test "$(berth_push_blob plain/app "$T_TMP/own" "$own")" = 201
check "asked under quay/library/one, whose upstream lacks it: 404" \
    test "$(http_status "$URL/v2/quay/library/one/blobs/$own")" = 404
check "... BLOB_UNKNOWN" sh -c "curl -s \
    '$URL/v2/quay/library/one/blobs/$own' | grep -q BLOB_UNKNOWN"
check "... after a HEAD upstream, never a GET" sh -c \
    "test $(upstream_reqs HEAD library/one "$own") -ge 1 &&
    test $(upstream_reqs GET library/one "$own") = 0"
check "... and it was not linked: a HEAD in berth is a 404 too" test \
    "$(http_status -I "$URL/v2/quay/library/one/blobs/$own")" = 404
check "... as a blob berth does not hold (the fetch's 404)" test \
    "$(http_status "$URL/v2/quay/library/one/blobs/sha256:$(printf x |
    sha256sum | cut -d' ' -f1)")" = 404

# Through the front: an honest HEAD links; one that describes other
# content than the stored blob does not, and the blob is fetched.
check "CreatePullThroughCacheRule for the front" \
    aws --endpoint-url "$URL" ecr create-pull-through-cache-rule \
    --ecr-repository-prefix gl --upstream-registry-url registry.gitlab.com \
    --credential-arn "$arn/front-AbC123" --output text \
    --query ecrRepositoryPrefix
front_reqs() {	# METHOD REPO DIGEST
	grep -c "^$1 /v2/$2/blobs/$3 ua=" "$T_TMP/front.log"
}
# gl_get REPO: a GET of the shared layer in gl/REPO is the upstream's.
gl_get() {
	curl -sf "$URL/v2/gl/$1/blobs/$shared" | cmp -s - "$(upfile "$shared")"
}
# front_check REPO GETS WHAT: a GET of the shared layer in gl/REPO is the
# upstream's, after one HEAD upstream and GETS GETs.
front_check() {
	check "$3: the GET of the shared layer in gl/$1 is the upstream's" \
	    gl_get "$1"
	check "... after a HEAD upstream and $2 GET" sh -c \
	    "test $(front_reqs HEAD "$1" "$shared") = 1 &&
	    test $(front_reqs GET "$1" "$shared") = $2"
}
front_check library/one 0 "the front's HEAD honest, linked"
echo "{\"headlen\": [\"$shared\"]}" >"$control"
front_check library/two 1 "a HEAD saying one byte more, fetched, not linked"
check "... berthd says why" grep -q \
    "gl/library/two@$shared: the upstream says .* bytes, the stored blob" \
    "$T_TMP/data.log"
echo "{\"headdigest\": [\"$shared\"]}" >"$control"
front_check library/three 1 \
    "a HEAD naming another digest, fetched, not linked"
check "... berthd says why" grep -q \
    "gl/library/three@$shared: the upstream names it sha256:0000" \
    "$T_TMP/data.log"
echo '{}' >"$control"

kill "$UPSTREAM_PID"
wait "$UPSTREAM_PID" 2>/dev/null
check "with the upstream down, a stored blob not linked fails with 502" \
    test "$(http_status "$URL/v2/quay/library/one/blobs/$own")" = 502
check "... in the OCI error shape" sh -c \
    "curl -s '$URL/v2/quay/library/one/blobs/$own' | grep -q '\"errors\"'"
check "... the shared layer under a new repository too" \
    test "$(http_status "$URL/v2/quay/library/four/blobs/$shared")" = 502
check "... still not linked (a HEAD is a 502 again)" \
    test "$(http_status -I "$URL/v2/quay/library/four/blobs/$shared")" = 502
check "what was linked is still served" sh -c \
    "curl -sf '$URL/v2/quay/library/two/blobs/$shared' |
    cmp -s - '$(upfile "$shared")'"
t_summary
