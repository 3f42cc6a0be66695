#!/usr/bin/env bash
# Pull through cache against a real upstream on this machine: Debian's
# docker-registry serving HTTPS with a CA this script makes (openssl),
# mapped over quay.io with berthd --upstream-map.  skopeo and podman pull
# through berth; the first pull fetches (the upstream's access log shows
# it), the second is local, digests match byte for byte; with the upstream
# stopped the cached image is still served and an uncached one fails with
# the OCI error; concurrent pulls of one new image fetch each blob once.
# Scan on push leaves cached images alone (their layers come when pulled);
# a scan before the layers are there fails saying so, one after reads them.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.bash"

REGISTRY=${REGISTRY:-/usr/bin/docker-registry}
if [ ! -x "$REGISTRY" ] || ! command -v skopeo >/dev/null; then
	echo "skip: docker-registry and skopeo are needed"
	exit 0
fi
export XDG_RUNTIME_DIR=$T_TMP/run HOME=$T_TMP/home
mkdir -p "$XDG_RUNTIME_DIR" "$HOME"

# A CA and a certificate for 127.0.0.1 and localhost.
pki=$T_TMP/pki
mkdir -p "$pki"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=berth-test-ca \
    -keyout "$pki/ca.key" -out "$pki/ca.pem" >/dev/null 2>&1
openssl req -newkey rsa:2048 -nodes -subj /CN=localhost \
    -keyout "$pki/srv.key" -out "$pki/srv.csr" >/dev/null 2>&1
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$pki/ext"
openssl x509 -req -in "$pki/srv.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca.key" \
    -CAcreateserial -days 2 -extfile "$pki/ext" -out "$pki/srv.pem" \
    >/dev/null 2>&1
mkdir -p "$pki/certs.d" && cp "$pki/ca.pem" "$pki/certs.d/ca.crt"

UPORT=$(free_port)
start_upstream() {
	cat >"$T_TMP/registry.yml" <<YML
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $T_TMP/upstream
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$UPORT
  tls:
    certificate: $pki/srv.pem
    key: $pki/srv.key
YML
	"$REGISTRY" serve "$T_TMP/registry.yml" >>"$T_TMP/upstream.log" 2>&1 &
	UPSTREAM_PID=$!
	T_PIDS+=("$UPSTREAM_PID")
	wait_for 20 curl -sf --cacert "$pki/ca.pem" -o /dev/null \
	    "https://127.0.0.1:$UPORT/v2/"
}

# An OCI layout with one image of random layers: make_image DIR TAG N.
make_image() {
	python3 - "$1" "$2" "$3" <<'PY'
import hashlib, io, json, os, sys, tarfile
d, tag, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
def layer(i):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        data = os.urandom(300000 + i * 1000)
        ti = tarfile.TarInfo("file%d" % i)
        ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()
os.makedirs(d + "/blobs/sha256", exist_ok=True)
def put(b):
    h = hashlib.sha256(b).hexdigest()
    open(d + "/blobs/sha256/" + h, "wb").write(b)
    return {"digest": "sha256:" + h, "size": len(b)}
layers = []
for i in range(n):
    l = put(layer(i))
    l["mediaType"] = "application/vnd.oci.image.layer.v1.tar"
    layers.append(l)
cfg = put(json.dumps({"architecture": "amd64", "os": "linux",
    "rootfs": {"type": "layers", "diff_ids": [l["digest"] for l in layers]}}).encode())
cfg["mediaType"] = "application/vnd.oci.image.config.v1+json"
m = put(json.dumps({"schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": cfg, "layers": layers}).encode())
m["mediaType"] = "application/vnd.oci.image.manifest.v1+json"
m["annotations"] = {"org.opencontainers.image.ref.name": tag}
json.dump({"schemaVersion": 2, "manifests": [m]}, open(d + "/index.json", "w"))
open(d + "/oci-layout", "w").write('{"imageLayoutVersion": "1.0.0"}')
PY
}

push_upstream() {	# layout tag repo
	skopeo copy -q --dest-cert-dir "$pki/certs.d" "oci:$1:$2" \
	    "docker://127.0.0.1:$UPORT/$3:$2" >/dev/null
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
check "the upstream serves HTTPS with the test CA" test -n "$UPSTREAM_PID"

mkdir -p "$T_TMP/data"
start_berthd "$T_TMP/data" -v --pull-through-refresh 3600 \
    --upstream-map "quay.io=https://127.0.0.1:$UPORT,$pki/ca.pem"
export AWS_ACCESS_KEY_ID=000000000000 AWS_SECRET_ACCESS_KEY=x \
    AWS_DEFAULT_REGION=us-east-1
aws_ecr() { aws --endpoint-url "$URL" ecr "$@"; }
check "CreatePullThroughCacheRule for quay.io" \
    aws_ecr create-pull-through-cache-rule --ecr-repository-prefix quay \
    --upstream-registry-url quay.io --output text --query ecrRepositoryPrefix
check "ValidatePullThroughCacheRule reaches the mapped upstream" \
    test "$(aws_ecr validate-pull-through-cache-rule \
    --ecr-repository-prefix quay --query isValid --output text)" = True
aws_ecr put-registry-scanning-configuration --scan-type BASIC --rules \
    '[{"scanFrequency":"SCAN_ON_PUSH","repositoryFilters":[{"filter":"*","filterType":"WILDCARD"}]}]' \
    >/dev/null
# scan_status TAG: the scan status of quay/library/app:TAG, or the error.
# (--no-paginate: the CLI's paginator cannot apply --query to a page
# without imageScanFindings, which scans with no findings to show have.)
scan_status() {
	aws_ecr describe-image-scan-findings --repository-name quay/library/app \
	    --image-id "imageTag=$1" --query imageScanStatus.status \
	    --output text --no-paginate 2>&1 |
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
    --output text --no-paginate | grep -q 'a pull through cache has not fetched it yet'"

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

if command -v podman >/dev/null; then
	check "podman pulls through berth" podman --root "$T_TMP/pr" \
	    --runroot "$T_TMP/prr" --storage-driver vfs pull -q \
	    --tls-verify=false "$reg/quay/library/app:v1"
fi

# The upstream goes away: the cache serves what it has.
kill "$UPSTREAM_PID"
wait "$UPSTREAM_PID" 2>/dev/null
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
