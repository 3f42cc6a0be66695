#!/usr/bin/env bash
# Real container tools against berth's /v2/: images built offline with
# umoci and buildah, pushed and pulled with skopeo, podman and buildah,
# every byte checked on the way back (blob hashes, manifest bytes, files
# unpacked and compared).
#
# Self-contained: it starts berthd (--create-on-push) on a free loopback
# port with a temporary data directory, and gives the tools private
# storage, registries.conf, containers.conf and auth.json in a temporary
# directory.  When it may, it runs in a private mount namespace with a
# tmpfs on /var/lib, because as root the tools keep a blob-info cache in
# /var/lib/containers/cache whatever their configuration says.
#
# Binaries: $BERTHD and $BLOBD, default daemon/berthd and
# blobd/berth-blobd under the current directory (the top of a build tree).
# Prints "ok NAME" or "FAIL NAME: why" per case, then "N passed, N failed";
# exits 1 if a case failed, 77 if a tool is missing.
set -euo pipefail

# Without BERTHD: the build tree in the current directory, else build/.
if [ -z "${BERTHD:-}" ] && [ ! -x daemon/berthd ] && [ -x build/daemon/berthd ]
then
	BERTHD=build/daemon/berthd
	BLOBD=${BLOBD:-build/blobd/berth-blobd}
fi
BERTHD=$(realpath -m "${BERTHD:-daemon/berthd}")
BLOBD=$(realpath -m "${BLOBD:-blobd/berth-blobd}")
export BERTHD BLOBD

for tool in skopeo podman buildah umoci curl python3 sha256sum; do
	if ! command -v "$tool" >/dev/null; then
		echo "SKIP: $tool is not installed"
		exit 77
	fi
done
for bin in "$BERTHD" "$BLOBD"; do
	if [ -z "${OCI_CLIENTS_REGISTRY:-}" ] && [ ! -x "$bin" ]; then
		echo "FAIL setup: $bin is not an executable (set BERTHD and BLOBD)"
		echo "0 passed, 1 failed"
		exit 1
	fi
done

# A private mount namespace with /var/lib on a tmpfs, when permitted.
if [ -z "${BERTH_CLIENTS_NS:-}" ] && [ "$(id -u)" = 0 ] &&
    unshare -m --propagation private true 2>/dev/null; then
	export BERTH_CLIENTS_NS=1
	exec unshare -m --propagation private bash -c \
	    'mount -t tmpfs -o mode=0755 tmpfs /var/lib && exec bash "$0" "$@"' \
	    "$0" "$@"
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/berth-clients.XXXXXX")
BERTHD_PID=
cleanup() {
	local rc=$?
	if [ -n "$BERTHD_PID" ] && kill -0 "$BERTHD_PID" 2>/dev/null; then
		kill -TERM "$BERTHD_PID" 2>/dev/null || true
		for _ in $(seq 100); do
			kill -0 "$BERTHD_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$BERTHD_PID" 2>/dev/null || true
		wait "$BERTHD_PID" 2>/dev/null || true
	fi
	# vfs leaves read-only directories behind
	chmod -R u+w "$TMP" 2>/dev/null || true
	rm -rf "$TMP"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -n "${OCI_CLIENTS_REGISTRY:-}" ]; then
	# Checking the test itself against a registry that is already running.
	REG=$OCI_CLIENTS_REGISTRY
else
	PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	REG=127.0.0.1:$PORT
fi
URL=http://$REG

# --- the tools' private configuration ---------------------------------------
mkdir -p "$TMP"/{store,store2,store3,tmp,xdg,logs,work}
for s in store store2 store3; do
	mkdir -p "$TMP/$s/graph" "$TMP/$s/run"
	cat >"$TMP/$s.conf" <<EOF
[storage]
driver = "vfs"
graphroot = "$TMP/$s/graph"
runroot = "$TMP/$s/run"
EOF
done
cat >"$TMP/registries.conf" <<EOF
unqualified-search-registries = []
[[registry]]
location = "$REG"
insecure = true
EOF
cat >"$TMP/containers.conf" <<EOF
[engine]
tmp_dir = "$TMP/tmp"
events_logger = "file"
events_logfile_path = "$TMP/tmp/events.log"
EOF
echo '{}' >"$TMP/auth.json"
export CONTAINERS_STORAGE_CONF=$TMP/store.conf
export CONTAINERS_REGISTRIES_CONF=$TMP/registries.conf
export CONTAINERS_CONF=$TMP/containers.conf
export REGISTRY_AUTH_FILE=$TMP/auth.json
export TMPDIR=$TMP/tmp
export XDG_DATA_HOME=$TMP/xdg XDG_CONFIG_HOME=$TMP/xdg/config
export XDG_RUNTIME_DIR=$TMP/tmp

TO=300		# seconds any one tool invocation may take
skopeo_() { timeout $TO skopeo --insecure-policy "$@"; }
podman_() { timeout $TO podman "$@"; }
buildah_() { timeout $TO buildah "$@"; }
# A second and third storage for pulls, so nothing comes from the cache.
podman2() { CONTAINERS_STORAGE_CONF=$TMP/store2.conf podman_ "$@"; }
buildah3() { CONTAINERS_STORAGE_CONF=$TMP/store3.conf buildah_ "$@"; }

# --- a helper for layouts, manifests and dir: copies ---------------------------
OCITOOL=$TMP/ocitool.py
cat >"$OCITOOL" <<'EOF'
import hashlib, json, os, sys

def blob(layout, digest):
    algo, hexd = digest.split(":", 1)
    return os.path.join(layout, "blobs", algo, hexd)

def tag_digest(layout, tag):
    with open(os.path.join(layout, "index.json")) as f:
        idx = json.load(f)
    found = [m["digest"] for m in idx["manifests"]
             if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag]
    if len(found) != 1:
        sys.exit("tag %s: %d manifests in %s" % (tag, len(found), layout))
    return found[0]

def filehash(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return "sha256:" + h.hexdigest()

def children(manifest_bytes):
    m = json.loads(manifest_bytes)
    if "manifests" in m:
        return [d["digest"] for d in m["manifests"]], True
    return [m["config"]["digest"]] + [l["digest"] for l in m["layers"]], False

def same_file(a, b):
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            x, y = fa.read(1 << 20), fb.read(1 << 20)
            if x != y:
                return False
            if not x:
                return True

def compare(src, stag, dst, dtag):
    """Every blob reachable from the tag is in dst, byte for byte."""
    d1, d2 = tag_digest(src, stag), tag_digest(dst, dtag)
    if d1 != d2:
        sys.exit("manifest digest %s came back as %s" % (d1, d2))
    todo, n = [(d1, True)], 0
    while todo:
        d, is_manifest = todo.pop()
        a, b = blob(src, d), blob(dst, d)
        if not os.path.exists(b):
            sys.exit("blob %s did not come back" % d)
        if filehash(b) != d:
            sys.exit("blob %s came back with other bytes" % d)
        if not same_file(a, b):
            sys.exit("blob %s differs" % d)
        n += 1
        if is_manifest:
            with open(a, "rb") as f:
                kids, is_index = children(f.read())
            todo += [(k, is_index) for k in kids]
    print("%d blobs identical" % n)

def verify_dir(d):
    """A skopeo dir: copy: each blob file hashes to its name, and the
    manifest (or, for a list copied with --all, each instance's manifest)
    references exactly what is there."""
    names = [n for n in os.listdir(d) if len(n) == 64]
    for n in names:
        if filehash(os.path.join(d, n)) != "sha256:" + n:
            sys.exit("dir blob %s has other bytes" % n)
    with open(os.path.join(d, "manifest.json"), "rb") as f:
        kids, is_index = children(f.read())
    manifests = []
    if is_index:
        for k in kids:
            path = os.path.join(d, k.split(":")[1] + ".manifest.json")
            if not os.path.exists(path) or filehash(path) != k:
                sys.exit("instance manifest %s missing or altered" % k)
            with open(path, "rb") as f:
                manifests.append(children(f.read())[0])
    else:
        manifests.append(kids)
    for blobs in manifests:
        for k in blobs:
            if k.split(":")[1] not in names:
                sys.exit("dir lacks %s" % k)
    print("%d blobs verified" % len(names))

def gunzip_hash(path):
    import gzip
    h = hashlib.sha256()
    with gzip.open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return "sha256:" + h.hexdigest()

def diff_ids(layout, manifest_digest):
    with open(blob(layout, manifest_digest), "rb") as f:
        m = json.load(f)
    with open(blob(layout, m["config"]["digest"]), "rb") as f:
        return m, json.load(f)["rootfs"]["diff_ids"]

def same_layers(src, stag, dst, dtag, digest):
    """An image a tool pushed from its own storage, pulled back: the
    manifest is the one the tool reported, every blob hashes to its
    digest, and the layers, compressed anew, hold the layout's tar
    streams: the config has the layout's diff_ids, and each layer,
    gunzipped, hashes to its diff_id."""
    d = tag_digest(dst, dtag)
    if d != digest:
        sys.exit("pulled manifest %s, pushed %s" % (d, digest))
    m, theirs = diff_ids(dst, d)
    for b in [d, m["config"]["digest"]]:
        if filehash(blob(dst, b)) != b:
            sys.exit("blob %s came back with other bytes" % b)
    _, ours = diff_ids(src, tag_digest(src, stag))
    if theirs != ours:
        sys.exit("diff_ids %s, the layout's %s" % (theirs, ours))
    if len(m["layers"]) != len(ours):
        sys.exit("%d layers for %d diff_ids" % (len(m["layers"]), len(ours)))
    for l, diff in zip(m["layers"], ours):
        path = blob(dst, l["digest"])
        if filehash(path) != l["digest"] or \
                os.path.getsize(path) != l["size"]:
            sys.exit("layer %s came back with other bytes" % l["digest"])
        if not l["mediaType"].endswith("gzip"):
            sys.exit("cannot check a %s layer" % l["mediaType"])
        unpacked = gunzip_hash(path)
        if unpacked != diff:
            sys.exit("layer %s unpacks to %s, not %s" % (l["digest"],
                                                         unpacked, diff))
    print("%d layers hold the layout's tar streams" % len(ours))

cmd = sys.argv[1]
if cmd == "tag-digest":
    print(tag_digest(sys.argv[2], sys.argv[3]))
elif cmd == "compare":
    compare(*sys.argv[2:6])
elif cmd == "verify-dir":
    verify_dir(sys.argv[2])
elif cmd == "same-layers":
    same_layers(*sys.argv[2:7])
elif cmd == "sha256":
    print(filehash(sys.argv[2]))
elif cmd == "layers":          # layer digests of a manifest file, in order
    with open(sys.argv[2], "rb") as f:
        m = json.load(f)
    for l in m["layers"]:
        print(l["digest"].split(":")[1])
elif cmd == "index-check":     # FILE MEDIATYPE CHILDTYPE ARCH...
    with open(sys.argv[2], "rb") as f:
        m = json.load(f)
    if m.get("mediaType") != sys.argv[3]:
        sys.exit("mediaType %s" % m.get("mediaType"))
    archs = sorted(d["platform"]["architecture"] for d in m["manifests"])
    if archs != sorted(sys.argv[5:]):
        sys.exit("architectures %s" % archs)
    for d in m["manifests"]:
        if d["mediaType"] != sys.argv[4]:
            sys.exit("child mediaType %s" % d["mediaType"])
    print(" ".join(d["digest"] for d in m["manifests"]))
elif cmd == "tags":            # skopeo list-tags output -> sorted tags
    print(" ".join(sorted(json.load(sys.stdin)["Tags"])))
else:
    sys.exit("unknown command " + cmd)
EOF
ocitool() { python3 "$OCITOOL" "$@"; }

# Content-Type and Docker-Content-Digest of a manifest as berth serves it.
ACCEPT_ALL=(-H "Accept: application/vnd.oci.image.manifest.v1+json"
	-H "Accept: application/vnd.oci.image.index.v1+json"
	-H "Accept: application/vnd.docker.distribution.manifest.v2+json"
	-H "Accept: application/vnd.docker.distribution.manifest.list.v2+json")
manifest_get() {	# REPO REF OUTFILE -> prints "content-type digest"
	local hdr=$TMP/work/hdr.$$
	curl -sS -f -o "$3" -D "$hdr" "${ACCEPT_ALL[@]}" \
	    "$URL/v2/$1/manifests/$2"
	local ct dg
	ct=$(tr -d '\r' <"$hdr" | awk -F': ' 'tolower($1)=="content-type"{print $2}')
	dg=$(tr -d '\r' <"$hdr" | awk -F': ' 'tolower($1)=="docker-content-digest"{print $2}')
	[ "$dg" = "$(ocitool sha256 "$3")" ] ||
	    { echo "Docker-Content-Digest $dg is not the body's digest"; return 1; }
	echo "$ct $dg"
}

# Same files, same bytes, same types, modes and link targets.
tree_list() {
	(cd "$1" && find . -mindepth 1 -printf '%P %y %m %s %l\n' |
	    awk '$2 != "f" { $4 = "-" } 1' | sort)
}
same_tree() {	# EXPECTED ACTUAL
	diff -r --no-dereference "$1" "$2"
	if [ "$(tree_list "$1")" != "$(tree_list "$2")" ]; then
		echo "types or modes differ between $1 and $2:"
		diff <(tree_list "$1") <(tree_list "$2") || true
		return 1
	fi
}

# Extracts every layer of a dir: copy (in order) into a directory.
extract_dir_layers() {	# DIR DEST
	mkdir -p "$2"
	local l
	for l in $(ocitool layers "$1/manifest.json"); do
		tar -xzf "$1/$l" -C "$2" --no-same-owner
	done
}

# --- berthd ------------------------------------------------------------------
start_berthd() {
	local up=0
	mkdir -p "$TMP/data"
	"$BERTHD" --blobd "$BLOBD" --listen "$REG" --data-dir "$TMP/data" \
	    --create-on-push >"$TMP/logs/berthd.log" 2>&1 &
	BERTHD_PID=$!
	for _ in $(seq 300); do
		kill -0 "$BERTHD_PID" 2>/dev/null || break
		if curl -sf -o /dev/null "$URL/v2/"; then
			up=1
			break
		fi
		sleep 0.1
	done
	if [ $up != 1 ]; then
		echo "FAIL setup: berthd did not come up on $REG"
		tail -20 "$TMP/logs/berthd.log"
		echo "0 passed, 1 failed"
		exit 1
	fi
}
berthd_alive() {
	[ -n "${OCI_CLIENTS_REGISTRY:-}" ] || kill -0 "$BERTHD_PID" 2>/dev/null
}
[ -n "${OCI_CLIENTS_REGISTRY:-}" ] || start_berthd

# --- the runner ------------------------------------------------------------------
passed=0
failed=0
run_case() {
	local name=$1 rc t0=$SECONDS
	shift
	set +e
	(set -euo pipefail; "$@") >"$TMP/logs/$name.log" 2>&1
	rc=$?
	set -e
	if [ $rc = 0 ]; then
		passed=$((passed + 1))
		echo "ok $name ($((SECONDS - t0))s)"
	else
		failed=$((failed + 1))
		echo "FAIL $name: exit $rc; last output:"
		tail -15 "$TMP/logs/$name.log" | sed 's/^/    /'
	fi
	if ! berthd_alive; then
		echo "FAIL berthd-alive: berthd died during $name"
		tail -20 "$TMP/logs/berthd.log" | sed 's/^/    /'
		failed=$((failed + 1))
		echo "$passed passed, $failed failed"
		exit 1
	fi
}

L=$TMP/work/layout	# the umoci images
SRC=$TMP/work/src	# the files in them

# === building images offline ==========================================================

t_umoci_build() {
	mkdir -p "$SRC"/{base1/sub/deeper,base2,base3,big,app1,app2}
	head -c 1048576 /dev/urandom >"$SRC/base1/one-mib"
	head -c 12345 /dev/urandom >"$SRC/base1/sub/odd-size"
	head -c 0 /dev/urandom >"$SRC/base1/sub/empty"
	printf 'text\n' >"$SRC/base1/sub/deeper/file.txt"
	ln -s ../one-mib "$SRC/base1/sub/link"
	chmod 0750 "$SRC/base1/sub/deeper"
	head -c 3000000 /dev/urandom >"$SRC/base2/three-mb"
	for i in $(seq 50); do
		head -c $((i * 97)) /dev/urandom >"$SRC/base3/f$i"
	done
	head -c 200M /dev/urandom >"$SRC/big/random.bin"
	head -c 777777 /dev/urandom >"$SRC/app1/app1.bin"
	head -c 888888 /dev/urandom >"$SRC/app2/app2.bin"

	umoci init --layout "$L"
	umoci new --image "$L:base"
	umoci config --image "$L:base" --architecture amd64 --os linux \
	    --config.cmd /bin/true
	umoci insert --image "$L:base" "$SRC/base1" /base1
	umoci insert --image "$L:base" "$SRC/base2" /base2
	umoci insert --image "$L:base" "$SRC/base3" /base3
	# branches sharing the three base layers
	local t
	for t in big app1 app2; do
		umoci tag --image "$L:base" "$t"
		umoci insert --image "$L:$t" "$SRC/$t" "/$t"
	done
	# for podman and for buildah, three layers each that no registry has
	# seen (or a push would only mount them), to push from their storage
	for t in podman buildah; do
		mkdir -p "$SRC/$t-1/private" "$SRC/$t-2" "$SRC/$t-3"
		head -c 654321 /dev/urandom >"$SRC/$t-1/blob.bin"
		head -c 0 /dev/urandom >"$SRC/$t-1/private/empty"
		ln -s blob.bin "$SRC/$t-1/link"
		chmod 0700 "$SRC/$t-1/private"
		for i in $(seq 80); do
			head -c $((i * 211)) /dev/urandom >"$SRC/$t-2/f$i"
		done
		head -c 1500000 /dev/urandom >"$SRC/$t-3/big.bin"
		umoci new --image "$L:$t"
		umoci config --image "$L:$t" --architecture amd64 --os linux \
		    --config.cmd /bin/true
		for i in 1 2 3; do
			umoci insert --image "$L:$t" "$SRC/$t-$i" "/$t-$i"
		done
	done
	# three layers plus config in base, four layers in each branch
	umoci stat --image "$L:big" >/dev/null
	[ "$(umoci ls --layout "$L" | sort | tr '\n' ' ')" = \
	    "app1 app2 base big buildah podman " ]
}

t_buildah_build() {
	mkdir -p "$SRC"/{bh/etc,amd64,arm64}
	head -c 500000 /dev/urandom >"$SRC/bh/data.bin"
	printf 'hello from buildah\n' >"$SRC/bh/etc/motd"
	echo amd64 >"$SRC/amd64/arch"
	echo arm64 >"$SRC/arm64/arch"
	head -c 65536 /dev/urandom >"$SRC/amd64/payload"
	head -c 65536 /dev/urandom >"$SRC/arm64/payload"
	local c a
	c=$(buildah_ from scratch)
	buildah_ copy "$c" "$SRC/bh" /bh
	buildah_ config --arch amd64 --os linux --label berth.test=yes "$c"
	buildah_ commit -q --format oci "$c" bh-oci
	buildah_ commit -q --format docker "$c" bh-docker
	buildah_ rm "$c"
	for a in amd64 arm64; do
		c=$(buildah_ from scratch)
		buildah_ copy "$c" "$SRC/$a" /arch
		buildah_ config --arch "$a" --os linux "$c"
		buildah_ commit -q --format oci "$c" "ma-$a"
		buildah_ rm "$c"
	done
	buildah_ manifest create multi
	buildah_ manifest add multi ma-amd64
	buildah_ manifest add multi ma-arm64
}

# === umoci images with skopeo ===========================================================

# Pushes oci:$L:TAG to REPO:RTAG, copies it back into a new layout and
# checks every blob and the files.
roundtrip_umoci() {	# TAG REPO RTAG DIRS...
	local tag=$1 repo=$2 rtag=$3
	shift 3
	local back=$TMP/work/back-$tag-${repo//\//-}-$rtag
	skopeo_ copy --dest-tls-verify=false "oci:$L:$tag" \
	    "docker://$REG/$repo:$rtag"
	# what berth serves is the exact manifest of the layout
	local d ct
	d=$(ocitool tag-digest "$L" "$tag")
	ct=$(manifest_get "$repo" "$rtag" "$back.manifest")
	ct=${ct%% *}
	cmp "$back.manifest" "$L/blobs/sha256/${d#sha256:}"
	[ "$ct" = application/vnd.oci.image.manifest.v1+json ]
	skopeo_ copy --src-tls-verify=false "docker://$REG/$repo:$rtag" \
	    "oci:$back:$rtag"
	ocitool compare "$L" "$tag" "$back" "$rtag"
	umoci unpack --image "$back:$rtag" "$back.bundle" >/dev/null
	local dir
	for dir in "$@"; do
		same_tree "$SRC/$dir" "$back.bundle/rootfs/$dir"
	done
	rm -rf "$back" "$back.bundle"
}

t_skopeo_multilayer() {
	roundtrip_umoci base umoci/base v1 base1 base2 base3
}

t_skopeo_200mib_layer() {
	roundtrip_umoci big umoci/big v1 base1 base2 base3 big
}

t_concurrent_shared_base() {
	# Two images sharing three base layers, pushed at the same time: into
	# one repository and into two.
	local p1 p2 p3 p4 rc=0
	skopeo_ copy --dest-tls-verify=false "oci:$L:app1" \
	    "docker://$REG/shared/app:app1" >"$TMP/logs/c1.log" 2>&1 & p1=$!
	skopeo_ copy --dest-tls-verify=false "oci:$L:app2" \
	    "docker://$REG/shared/app:app2" >"$TMP/logs/c2.log" 2>&1 & p2=$!
	skopeo_ copy --dest-tls-verify=false "oci:$L:app1" \
	    "docker://$REG/shared/one:v1" >"$TMP/logs/c3.log" 2>&1 & p3=$!
	skopeo_ copy --dest-tls-verify=false "oci:$L:app2" \
	    "docker://$REG/shared/two:v1" >"$TMP/logs/c4.log" 2>&1 & p4=$!
	wait $p1 || rc=1
	wait $p2 || rc=1
	wait $p3 || rc=1
	wait $p4 || rc=1
	if [ $rc != 0 ]; then
		tail -5 "$TMP"/logs/c[1-4].log
		return 1
	fi
	local back=$TMP/work/back-shared
	for spec in "app1 shared/app app1" "app2 shared/app app2" \
	    "app1 shared/one v1" "app2 shared/two v1"; do
		set -- $spec
		skopeo_ copy --src-tls-verify=false "docker://$REG/$2:$3" \
		    "oci:$back-$1-${2//\//-}:$3"
		ocitool compare "$L" "$1" "$back-$1-${2//\//-}" "$3"
	done
	umoci unpack --image "$back-app2-shared-app:app2" "$back.bundle" >/dev/null
	same_tree "$SRC/app2" "$back.bundle/rootfs/app2"
	same_tree "$SRC/base1" "$back.bundle/rootfs/base1"
	[ ! -e "$back.bundle/rootfs/app1" ]
}

t_skopeo_pull_by_digest() {
	local d back=$TMP/work/back-bydigest
	d=$(ocitool tag-digest "$L" base)
	skopeo_ copy --src-tls-verify=false "docker://$REG/umoci/base@$d" \
	    "oci:$back:bydigest"
	ocitool compare "$L" base "$back" bydigest
	# the raw manifest by digest is the layout's
	skopeo_ inspect --tls-verify=false --raw "docker://$REG/umoci/base@$d" \
	    >"$back.raw"
	cmp "$back.raw" "$L/blobs/sha256/${d#sha256:}"
}

# === buildah and podman ==================================================================

# Pulls REPO:TAG with skopeo into dir:, verifies every blob, extracts the
# layers and compares the files with $SRC/bh.
check_bh_image() {	# REPO TAG EXPECTED_MEDIA_TYPE DIGESTFILE
	local out=$TMP/work/dir-${1//\//-}-$2 ct dg r
	r=$(manifest_get "$1" "$2" "$out.manifest")
	read -r ct dg <<<"$r"
	[ "$ct" = "$3" ] || { echo "Content-Type $ct, not $3"; return 1; }
	[ "$dg" = "$(cat "$4")" ] ||
	    { echo "registry digest $dg, pushed $(cat "$4")"; return 1; }
	skopeo_ copy --src-tls-verify=false "docker://$REG/$1:$2" "dir:$out"
	cmp "$out/manifest.json" "$out.manifest"
	ocitool verify-dir "$out"
	extract_dir_layers "$out" "$out.root"
	same_tree "$SRC/bh" "$out.root/bh"
}

t_buildah_push_oci() {
	buildah_ push --tls-verify=false --digestfile "$TMP/work/bh-oci.digest" \
	    bh-oci "docker://$REG/buildah/oci:v1"
	check_bh_image buildah/oci v1 application/vnd.oci.image.manifest.v1+json \
	    "$TMP/work/bh-oci.digest"
}

t_buildah_push_docker() {
	buildah_ push --tls-verify=false --format v2s2 \
	    --digestfile "$TMP/work/bh-docker.digest" \
	    bh-docker "docker://$REG/buildah/docker:v1"
	check_bh_image buildah/docker v1 \
	    application/vnd.docker.distribution.manifest.v2+json \
	    "$TMP/work/bh-docker.digest"
}

t_buildah_pull() {
	# buildah pulls into a storage of its own, then the files are compared
	# through a working container's mount.
	buildah3 pull --tls-verify=false "$REG/buildah/docker:v1"
	local c mnt
	c=$(buildah3 from "$REG/buildah/docker:v1")
	mnt=$(buildah3 mount "$c")
	same_tree "$SRC/bh" "$mnt/bh"
	buildah3 umount "$c"
	buildah3 rm "$c"
	# and an umoci image
	buildah3 pull --tls-verify=false "$REG/umoci/base:v1"
	c=$(buildah3 from "$REG/umoci/base:v1")
	mnt=$(buildah3 mount "$c")
	local dir
	for dir in base1 base2 base3; do
		same_tree "$SRC/$dir" "$mnt/$dir"
	done
	buildah3 umount "$c"
	buildah3 rm "$c"
}

t_podman_push_pull() {
	# podman recompresses the layer on the fly: one PATCH with
	# Transfer-Encoding: chunked and no Content-Range.
	podman_ push --tls-verify=false --digestfile "$TMP/work/pd.digest" \
	    bh-oci "docker://$REG/podman/img:v1"
	check_bh_image podman/img v1 application/vnd.oci.image.manifest.v1+json \
	    "$TMP/work/pd.digest"
	podman2 pull --tls-verify=false "$REG/podman/img:v1"
	local mnt dg
	dg=$(podman2 image inspect --format '{{.Digest}}' "$REG/podman/img:v1")
	[ "$dg" = "$(cat "$TMP/work/pd.digest")" ]
	mnt=$(podman2 image mount "$REG/podman/img:v1")
	same_tree "$SRC/bh" "$mnt/bh"
	podman2 image unmount "$REG/podman/img:v1"
}

t_podman_pull_by_digest() {
	local d mnt
	d=$(cat "$TMP/work/pd.digest")
	podman2 rmi -f "$REG/podman/img:v1" >/dev/null
	podman2 pull --tls-verify=false "$REG/podman/img@$d"
	mnt=$(podman2 image mount "$REG/podman/img@$d")
	same_tree "$SRC/bh" "$mnt/bh"
	podman2 image unmount "$REG/podman/img@$d"
	# and an umoci image, by digest
	d=$(ocitool tag-digest "$L" app1)
	skopeo_ copy --dest-tls-verify=false "oci:$L:app1" \
	    "docker://$REG/podman/app:v1"
	podman2 pull --tls-verify=false "$REG/podman/app@$d"
	mnt=$(podman2 image mount "$REG/podman/app@$d")
	same_tree "$SRC/app1" "$mnt/app1"
	same_tree "$SRC/base2" "$mnt/base2"
	podman2 image unmount "$REG/podman/app@$d"
}

# podman and buildah push from their storage: an umoci image is put there
# first (by skopeo, locally), and its layers are compressed anew on the way
# out.  Pulled back with another tool, it must hold the layout's tar
# streams and files.
umoci_to_storage() {	# TAG
	skopeo_ copy "oci:$L:$1" "containers-storage:localhost/umoci/$1:v1"
}

pulled_back_from_storage() {	# TAG REPO DIGESTFILE
	local back=$TMP/work/back-${2//\//-} r i
	r=$(manifest_get "$2" v1 "$back.manifest")
	[ "${r#* }" = "$(cat "$3")" ] ||
	    { echo "registry digest ${r#* }, pushed $(cat "$3")"; return 1; }
	skopeo_ copy --src-tls-verify=false "docker://$REG/$2:v1" \
	    "oci:$back:v1"
	ocitool same-layers "$L" "$1" "$back" v1 "$(cat "$3")"
	umoci unpack --image "$back:v1" "$back.bundle" >/dev/null
	for i in 1 2 3; do
		same_tree "$SRC/$1-$i" "$back.bundle/rootfs/$1-$i"
	done
	rm -rf "$back" "$back.bundle"
}

t_podman_push_umoci_multilayer() {
	umoci_to_storage podman
	podman_ push --tls-verify=false --digestfile "$TMP/work/um-pd.digest" \
	    localhost/umoci/podman:v1 "docker://$REG/podman/umoci:v1"
	pulled_back_from_storage podman podman/umoci "$TMP/work/um-pd.digest"
}

t_buildah_push_umoci_multilayer() {
	umoci_to_storage buildah
	buildah_ push --tls-verify=false --digestfile "$TMP/work/um-bh.digest" \
	    localhost/umoci/buildah:v1 "docker://$REG/buildah/umoci:v1"
	pulled_back_from_storage buildah buildah/umoci "$TMP/work/um-bh.digest"
	# and podman, from a storage of its own
	local mnt i dg ref=$REG/buildah/umoci:v1
	podman2 pull --tls-verify=false "$ref"
	dg=$(podman2 image inspect --format '{{.Digest}}' "$ref")
	[ "$dg" = "$(cat "$TMP/work/um-bh.digest")" ]
	mnt=$(podman2 image mount "$ref")
	for i in 1 2 3; do
		same_tree "$SRC/buildah-$i" "$mnt/buildah-$i"
	done
	podman2 image unmount "$ref"
}

# === multi-arch ===========================================================================

check_multi() {	# REPO LISTTYPE CHILDTYPE
	local out=$TMP/work/multi-${1//\//-} ct dg kids a r
	r=$(manifest_get "$1" v1 "$out.index")
	read -r ct dg <<<"$r"
	[ "$ct" = "$2" ] || { echo "Content-Type $ct, not $2"; return 1; }
	kids=$(ocitool index-check "$out.index" "$2" "$3" amd64 arm64)
	# each child by digest, with its own type
	for k in $kids; do
		r=$(manifest_get "$1" "$k" "$out.child")
		ct=${r%% *}
		[ "$ct" = "$3" ] || { echo "child $k is $ct"; return 1; }
	done
	# all of it, into a directory: the list's bytes and every instance
	skopeo_ copy --all --src-tls-verify=false "docker://$REG/$1:v1" \
	    "dir:$out.all"
	cmp "$out.index" "$out.all/manifest.json"
	ocitool verify-dir "$out.all"
	# each architecture, by platform, with its files
	for a in amd64 arm64; do
		skopeo_ --override-arch "$a" --override-os linux copy \
		    --src-tls-verify=false "docker://$REG/$1:v1" "dir:$out.$a"
		ocitool verify-dir "$out.$a"
		extract_dir_layers "$out.$a" "$out.$a.root"
		same_tree "$SRC/$a" "$out.$a.root/arch"
	done
	# podman picks the platform out of the list
	local mnt
	for a in amd64 arm64; do
		podman2 pull --tls-verify=false --arch "$a" "$REG/$1:v1"
		mnt=$(podman2 image mount "$REG/$1:v1")
		same_tree "$SRC/$a" "$mnt/arch"
		podman2 image unmount "$REG/$1:v1"
		podman2 rmi -f "$REG/$1:v1" >/dev/null
	done
}

t_multiarch_oci_index() {
	buildah_ manifest push --all --tls-verify=false multi \
	    "docker://$REG/multi/oci:v1"
	check_multi multi/oci application/vnd.oci.image.index.v1+json \
	    application/vnd.oci.image.manifest.v1+json
}

t_multiarch_docker_list() {
	buildah_ manifest push --all --format v2s2 --tls-verify=false multi \
	    "docker://$REG/multi/docker:v1"
	check_multi multi/docker \
	    application/vnd.docker.distribution.manifest.list.v2+json \
	    application/vnd.docker.distribution.manifest.v2+json
}

# === tags and deletion =======================================================================

t_skopeo_list_tags() {
	local t
	for t in v1 v2 latest 1.0 beta; do
		skopeo_ copy --src-tls-verify=false --dest-tls-verify=false \
		    "docker://$REG/umoci/base:v1" "docker://$REG/tags/img:$t"
	done
	[ "$(skopeo_ list-tags --tls-verify=false "docker://$REG/tags/img" |
	    ocitool tags)" = "1.0 beta latest v1 v2" ]
}

t_skopeo_delete() {
	skopeo_ copy --dest-tls-verify=false "oci:$L:app1" \
	    "docker://$REG/del/img:gone"
	skopeo_ copy --dest-tls-verify=false "oci:$L:app2" \
	    "docker://$REG/del/img:kept"
	skopeo_ inspect --tls-verify=false "docker://$REG/del/img:gone" >/dev/null
	skopeo_ delete --tls-verify=false "docker://$REG/del/img:gone"
	if skopeo_ inspect --tls-verify=false "docker://$REG/del/img:gone" \
	    >/dev/null 2>&1; then
		echo "the deleted tag is still there"
		return 1
	fi
	local code
	code=$(curl -s -o /dev/null -w '%{http_code}' \
	    "$URL/v2/del/img/manifests/$(ocitool tag-digest "$L" app1)")
	[ "$code" = 404 ] || { echo "deleted manifest answers $code"; return 1; }
	skopeo_ inspect --tls-verify=false "docker://$REG/del/img:kept" >/dev/null
	[ "$(skopeo_ list-tags --tls-verify=false "docker://$REG/del/img" |
	    ocitool tags)" = "kept" ]
}

run_case umoci_build_images t_umoci_build
run_case buildah_build_images t_buildah_build
run_case skopeo_push_pull_multilayer t_skopeo_multilayer
run_case skopeo_push_pull_200mib_layer t_skopeo_200mib_layer
run_case concurrent_push_shared_base t_concurrent_shared_base
run_case skopeo_pull_by_digest t_skopeo_pull_by_digest
run_case buildah_push_oci t_buildah_push_oci
run_case buildah_push_docker_v2s2 t_buildah_push_docker
run_case buildah_pull t_buildah_pull
run_case podman_push_pull t_podman_push_pull
run_case podman_pull_by_digest t_podman_pull_by_digest
run_case podman_push_umoci_multilayer t_podman_push_umoci_multilayer
run_case buildah_push_umoci_multilayer t_buildah_push_umoci_multilayer
run_case multiarch_oci_index t_multiarch_oci_index
run_case multiarch_docker_manifest_list t_multiarch_docker_list
run_case skopeo_list_tags t_skopeo_list_tags
run_case skopeo_delete t_skopeo_delete

# berthd ends cleanly on SIGTERM: status 0, no failed metadata record, no
# sanitizer report (with an --enable-asan build).  The pulls of the last
# cases have pull times not yet written; berthd writes them on the way out
# and lets blobd go only once they are acknowledged
# (berthd_pulls_flushed_cb), so "metadata append failed" in the log means
# that record was lost.
if [ -z "${OCI_CLIENTS_REGISTRY:-}" ]; then
	kill -TERM "$BERTHD_PID"
	set +e
	wait "$BERTHD_PID"
	rc=$?
	set -e
	BERTHD_PID=
	bad=$(grep -E 'metadata append failed|Sanitizer|runtime error:' \
	    "$TMP/logs/berthd.log" | head -3 || true)
	if [ $rc = 0 ] && [ -z "$bad" ]; then
		passed=$((passed + 1))
		echo "ok berthd_exits_cleanly"
	else
		failed=$((failed + 1))
		echo "FAIL berthd_exits_cleanly: exit status $rc; $bad"
	fi
fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
