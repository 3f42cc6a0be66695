# Upstream registries for the pull-through cache tests, sourced by
# pullthrough.sh and pullthrough_upstreams.sh after common.bash: a test CA
# and a certificate for 127.0.0.1 and localhost (openssl), Debian's
# docker-registry serving HTTPS with it (anonymous, Basic auth or behind a
# token server), OCI layouts of random images and skopeo pushing them.

REGISTRY=${REGISTRY:-/usr/bin/docker-registry}
upstream_usable() {
	[ -x "$REGISTRY" ] && command -v skopeo >/dev/null
}

# upstream_setup: skips the test (exit 0) without docker-registry and
# skopeo; else gives skopeo and podman a home and runtime directory in
# $T_TMP, and makes the test CA in $pki (make_pki).
upstream_setup() {
	if ! upstream_usable; then
		echo "skip: docker-registry and skopeo are needed"
		exit 0
	fi
	export XDG_RUNTIME_DIR=$T_TMP/run HOME=$T_TMP/home
	mkdir -p "$XDG_RUNTIME_DIR" "$HOME"
	pki=$T_TMP/pki
	make_pki "$pki"
}

# bench_upstream: for the benches, which fail rather than skip without
# docker-registry and skopeo: makes the test CA in $pki and starts the
# upstream over HTTPS on $UP ($up its URL, $upstream_pid its pid).
bench_upstream() {
	upstream_usable ||
	    { echo "docker-registry and skopeo are needed" >&2; exit 1; }
	pki=$T_TMP/pki
	make_pki "$pki"
	UP=$(free_port)
	start_registry upstream "$UP"
	upstream_pid=$REGISTRY_PID
	up=https://127.0.0.1:$UP
}

# bench_blob MIB [REPO]: a blob of MIB random MiB pushed to the upstream
# $up in REPO (bench/big by default); $d is its digest, $T_TMP/blob its
# bytes.
bench_blob() {
	local loc
	head -c $(($1 * 1024 * 1024)) /dev/urandom >"$T_TMP/blob"
	d=sha256:$(sha256_of "$T_TMP/blob")
	loc=$(curl -s --cacert "$pki/ca.pem" -D - -o /dev/null -X POST \
	    "$up/v2/${2:-bench/big}/blobs/uploads/" | tr -d '\r' |
	    sed -n 's/^[Ll]ocation: //p')
	case $loc in http*) ;; *) loc=$up$loc ;; esac
	case $loc in *\?*) loc="$loc&digest=$d" ;; *) loc="$loc?digest=$d" ;; esac
	curl -sf --cacert "$pki/ca.pem" -X PUT --data-binary @"$T_TMP/blob" \
	    -H 'Content-Type: application/octet-stream' -o /dev/null "$loc" ||
	    { echo "push to the upstream failed" >&2; exit 1; }
}

# start_front BACKEND_PORT: ptc/servers.py's front (Basic fuser:fpass) of
# the registry on BACKEND_PORT, on $FP (and $FP2 for its redirects),
# driven by the control file $control, logging to $T_TMP/front.log.
start_front() {
	FP=$(free_port) FP2=$(free_port)
	control=$T_TMP/front.json
	echo '{}' >"$control"
	: >"$T_TMP/front.log"
	python3 "$(dirname "${BASH_SOURCE[0]}")/servers.py" front --port "$FP" \
	    --port2 "$FP2" --cert "$pki/srv.pem" --key "$pki/srv.key" \
	    --ca "$pki/ca.pem" --user fuser:fpass \
	    --backend "https://127.0.0.1:$1" --control "$control" \
	    --log "$T_TMP/front.log" >"$T_TMP/front.out" 2>&1 &
	T_PIDS+=("$!")
	wait_for 20 sh -c "curl -s --cacert '$pki/ca.pem' -o /dev/null \
	    -w '%{http_code}' 'https://127.0.0.1:$FP/v2/' | grep -q 401"
}

# make_pki DIR: DIR/ca.pem signs DIR/srv.pem (key srv.key); DIR/certs.d
# holds the CA as skopeo's --cert-dir wants it.
make_pki() {
	local pki=$1
	mkdir -p "$pki/certs.d"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 \
	    -subj /CN=berth-test-ca -keyout "$pki/ca.key" -out "$pki/ca.pem" \
	    >/dev/null 2>&1
	openssl req -newkey rsa:2048 -nodes -subj /CN=localhost \
	    -keyout "$pki/srv.key" -out "$pki/srv.csr" >/dev/null 2>&1
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$pki/ext"
	openssl x509 -req -in "$pki/srv.csr" -CA "$pki/ca.pem" \
	    -CAkey "$pki/ca.key" -CAcreateserial -days 2 -extfile "$pki/ext" \
	    -out "$pki/srv.pem" >/dev/null 2>&1
	cp "$pki/ca.pem" "$pki/certs.d/ca.crt"
}

# start_registry NAME PORT [AUTH_YAML]: docker-registry over HTTPS with
# $pki's certificate, storing under $T_TMP/NAME, logging to
# $T_TMP/NAME.log; AUTH_YAML is its "auth:" section.  Sets REGISTRY_PID.
start_registry() {
	local name=$1 port=$2 auth=${3:-}
	cat >"$T_TMP/$name.yml" <<YML
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $T_TMP/$name
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
  tls:
    certificate: $pki/srv.pem
    key: $pki/srv.key
$auth
YML
	"$REGISTRY" serve "$T_TMP/$name.yml" >>"$T_TMP/$name.log" 2>&1 &
	REGISTRY_PID=$!
	T_PIDS+=("$REGISTRY_PID")
	wait_for 20 sh -c "curl -s --cacert '$pki/ca.pem' -o /dev/null \
	    -w '%{http_code}' 'https://127.0.0.1:$port/v2/' | grep -q '^[24]'"
}

# An OCI layout with one image of random layers: make_image DIR TAG N
# [SIZE] (each layer's file about SIZE bytes, 300000 by default).
make_image() {
	python3 - "$1" "$2" "$3" "${4:-300000}" <<'PY'
import hashlib, io, json, os, sys, tarfile
d, tag, n, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
def layer(i):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        data = os.urandom(size + i * 1000)
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

# push_image LAYOUT TAG HOST:PORT/REPO [skopeo options]
push_image() {
	local layout=$1 tag=$2 dest=$3
	shift 3
	skopeo copy -q --dest-cert-dir "$pki/certs.d" "$@" "oci:$layout:$tag" \
	    "docker://$dest:$tag" >/dev/null
}

# layout_blobs LAYOUT: the config's and layers' digests of its image.
layout_blobs() {
	python3 - "$1" <<'PY'
import json, sys
d = sys.argv[1]
idx = json.load(open(d + "/index.json"))
h = idx["manifests"][0]["digest"].split(":")[1]
m = json.load(open(d + "/blobs/sha256/" + h))
print(" ".join([m["config"]["digest"]] + [l["digest"] for l in m["layers"]]))
PY
}

# layout_manifest LAYOUT: its image's manifest digest.
layout_manifest() {
	python3 -c 'import json,sys
print(json.load(open(sys.argv[1] + "/index.json"))["manifests"][0]["digest"])' \
	    "$1"
}

# berth_push_blob REPO FILE DIGEST: FILE pushed into berth's REPO in one
# POST; its status.
berth_push_blob() {
	http_status -X POST --data-binary @"$2" \
	    -H 'Content-Type: application/octet-stream' \
	    "$URL/v2/$1/blobs/uploads/?digest=$3"
}

# Whether berth's store lacks blob DIGEST, and its upload sessions.
blob_absent() {
	local b
	b=$(curl -sf "$URL/_berth/blobs") && ! grep -q "\"$1\"" <<<"$b"
}
uploads() {
	curl -s "$URL/_berth/metrics" |
	    sed -n 's/^berth_uploads_in_progress \([0-9]*\)$/\1/p'
}
