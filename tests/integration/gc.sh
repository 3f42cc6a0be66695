#!/usr/bin/env bash
# Garbage collection frees exactly the blobs nothing references any more,
# after deletes through each API (OCI DELETE, ECR BatchDeleteImage, ECR
# DeleteRepository --force), while a push that shares a layer with deleted
# images, running at the same time, completes intact.
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.." || exit 1
. "$here/common.bash"

export AWS_ACCESS_KEY_ID=AKIDGCTEST AWS_SECRET_ACCESS_KEY=secret
export AWS_DEFAULT_REGION=us-east-1 AWS_PAGER="" AWS_MAX_ATTEMPTS=1
export AWS_CONFIG_FILE=$T_TMP/aws-config AWS_SHARED_CREDENTIALS_FILE=$T_TMP/aws-creds
: >"$AWS_CONFIG_FILE"
: >"$AWS_SHARED_CREDENTIALS_FILE"
AWS=${AWS:-/usr/bin/aws}

D=$T_TMP/data
# The default grace period: the test relies on the rule, not on grace 0.
start_berthd "$D" --create-on-push || { fail "berthd starts"; t_summary; exit 1; }
ecr() { "$AWS" --endpoint-url "$URL" ecr "$@" --output json; }

# blob NAME SIZE: random content in $T_TMP/NAME, its digest in $NAME.
blob() {
	head -c "$2" /dev/urandom >"$T_TMP/$1"
	printf 'sha256:%s' "$(sha256_of "$T_TMP/$1")"
}

push_blob() {	# REPO FILE DIGEST
	test "$(http_status -X POST --data-binary @"$T_TMP/$2" \
	    "$URL/v2/$1/blobs/uploads/?digest=$3")" = 201
}

# manifest REPO TAG CONFIGDIGEST LAYERDIGEST...: pushes an OCI manifest,
# prints its digest.
manifest() {
	local repo=$1 tag=$2 cfg=$3 layers="" d sep="" f
	shift 3
	for d in "$@"; do
		layers="$layers$sep{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"$d\",\"size\":$(stat -c %s "$T_TMP/$(digest_file "$d")")}"
		sep=,
	done
	f=$T_TMP/manifest-$tag-$RANDOM
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[%s]}' \
	    "$cfg" "$(stat -c %s "$T_TMP/$(digest_file "$cfg")")" "$layers" >"$f"
	test "$(http_status -X PUT -H "Content-Type: application/vnd.oci.image.manifest.v1+json" \
	    --data-binary @"$f" "$URL/v2/$repo/manifests/$tag")" = 201 || return 1
	printf 'sha256:%s' "$(sha256_of "$f")"
}

declare -A FILE_OF
digest_file() { printf '%s' "${FILE_OF[$1]}"; }
mk() {	# NAME SIZE -> sets NAME to the digest
	local d
	d=$(blob "$1" "$2")
	FILE_OF[$d]=$1
	printf -v "$1" '%s' "$d"
}

mk base 300000; mk l1 100000; mk l2 110000; mk l3 120000; mk l4 130000
mk c1 200; mk c2 210; mk c3 220; mk c4 230
ok "test blobs made"

push_blob gc/a base "$base" && push_blob gc/a l1 "$l1" &&
    push_blob gc/a c1 "$c1"
check "image A1's blobs pushed to gc/a" test $? = 0
A1=$(manifest gc/a v1 "$c1" "$base" "$l1")
check "image A1 = c1 + base + l1 in gc/a" test -n "$A1"
push_blob gc/b base "$base" && push_blob gc/b l2 "$l2" &&
    push_blob gc/b c2 "$c2"
B1=$(manifest gc/b v1 "$c2" "$base" "$l2")
check "image B1 = c2 + base + l2 in gc/b" test -n "$B1"
push_blob gc/c l3 "$l3" && push_blob gc/c c3 "$c3"
C1=$(manifest gc/c v1 "$c3" "$l3")
check "image C1 = c3 + l3 in gc/c" test -n "$C1"

stored() {
	curl -s "$URL/_berth/blobs" | python3 -c '
import json, sys
print(" ".join(sorted(b["digest"] for b in json.load(sys.stdin)["blobs"])))'
}
sorted() { printf '%s\n' "$@" | sort | tr '\n' ' ' | sed 's/ $//'; }
gc() { curl -s -X POST "$URL/_berth/gc${1:-}"; }
field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

check "all 8 blobs stored" test "$(stored)" = \
    "$(sorted "$base" "$l1" "$l2" "$l3" "$c1" "$c2" "$c3")"
check "a GC with everything referenced reclaims nothing" \
    test "$(gc | field blobs_reclaimed)" = 0

# --- OCI DELETE ---------------------------------------------------------------
check "OCI DELETE of A1 is 202" \
    test "$(http_status -X DELETE "$URL/v2/gc/a/manifests/$A1")" = 202
r=$(gc '?dry_run=1')
check "dry run: c1 and l1 would go (base is B1's too)" \
    test "$(printf '%s' "$r" | field blobs_reclaimed)" = 2
check "dry run: deletes nothing" test "$(stored)" = \
    "$(sorted "$base" "$l1" "$l2" "$l3" "$c1" "$c2" "$c3")"
r=$(gc)
check "GC after OCI DELETE reclaims exactly c1 and l1" test "$(stored)" = \
    "$(sorted "$base" "$l2" "$l3" "$c2" "$c3")"
check "and reports their bytes" test "$(printf '%s' "$r" | field bytes_reclaimed)" = \
    $((100000 + 200))
check "l1 is gone from gc/a too (HEAD 404)" \
    test "$(http_status -I "$URL/v2/gc/a/blobs/$l1")" = 404
check "B1 still pulls whole" \
    sh -c "curl -sf '$URL/v2/gc/b/blobs/$base' | cmp -s - '$T_TMP/base'"

# --- ECR BatchDeleteImage, with a concurrent push sharing base ------------------
ecr batch-delete-image --repository-name gc/b --image-ids imageDigest="$B1" \
    >"$T_TMP/bdi.json"
check "BatchDeleteImage of B1" \
    python3 -c "import json, sys; d = json.load(open('$T_TMP/bdi.json')); sys.exit(0 if len(d['imageIds']) == 1 and not d['failures'] else 1)"

# The push of A2 = c4 + base + l4 into gc/a checks that base is there (as
# every client does before uploading), the GC runs, then the push ends.
check "the push finds base already in gc/a (HEAD 200)" \
    test "$(http_status -I "$URL/v2/gc/a/blobs/$base")" = 200
r=$(gc)
check "GC after BatchDeleteImage reclaims exactly c2 and l2: base is in a push's hands" \
    test "$(stored)" = "$(sorted "$base" "$l3" "$c3")"
push_blob gc/a l4 "$l4" && push_blob gc/a c4 "$c4"
check "the concurrent push uploads its own blobs" test $? = 0
A2=$(manifest gc/a v2 "$c4" "$base" "$l4")
check "the concurrent push's manifest (reusing base) is accepted" test -n "$A2"
for b in base l4 c4; do
	d=${!b}
	check "A2's $b pulls byte for byte" \
	    sh -c "curl -sf '$URL/v2/gc/a/blobs/$d' | cmp -s - '$T_TMP/$b'"
done

# Truly concurrent: pushes of images sharing base race a loop of GCs.
pushes_ok=0
pids=()
gcs=()
for i in $(seq 1 6); do
	(
		d=$(blob "r$i" 40000)
		cfgd=$(blob "rc$i" 50)
		http_status -I "$URL/v2/gc/a/blobs/$base" >/dev/null
		curl -s -o /dev/null -X POST --data-binary @"$T_TMP/r$i" \
		    "$URL/v2/gc/a/blobs/uploads/?digest=$d"
		curl -s -o /dev/null -X POST --data-binary @"$T_TMP/rc$i" \
		    "$URL/v2/gc/a/blobs/uploads/?digest=$cfgd"
		printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":50},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"%s","size":300000},{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"%s","size":40000}]}' \
		    "$cfgd" "$base" "$d" >"$T_TMP/race-m$i"
		test "$(http_status -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
		    --data-binary @"$T_TMP/race-m$i" "$URL/v2/gc/a/manifests/race$i")" = 201 &&
		    curl -sf "$URL/v2/gc/a/blobs/$d" | cmp -s - "$T_TMP/r$i" &&
		    curl -sf "$URL/v2/gc/a/blobs/$base" | cmp -s - "$T_TMP/base"
	) &
	pids+=($!)
	gc >/dev/null &
	gcs+=($!)
done
for p in "${pids[@]}"; do
	wait "$p" && pushes_ok=$((pushes_ok + 1))
done
for p in "${gcs[@]}"; do
	wait "$p"
done
check "6 pushes sharing base, racing 6 GCs, all complete intact ($pushes_ok/6)" \
    test "$pushes_ok" = 6

# --- ECR DeleteRepository --force --------------------------------------------------
ecr delete-repository --repository-name gc/c --force >/dev/null
check "DeleteRepository --force of gc/c" test $? = 0
before=$(stored)
r=$(gc)
after=$(stored)
check "GC after DeleteRepository --force reclaims exactly c3 and l3" \
    test "$after" = "$(for d in $before; do [ "$d" = "$l3" ] || [ "$d" = "$c3" ] || printf '%s\n' "$d"; done | sort | tr '\n' ' ' | sed 's/ $//')"
check "and nothing an image references" \
    sh -c "printf '%s' '$after' | grep -q '${base#sha256:}' && printf '%s' '$after' | grep -q '${l4#sha256:}'"
r=$(gc)
check "a second GC finds nothing more" \
    test "$(printf '%s' "$r" | field blobs_reclaimed)" = 0

# --- the grace period: an upload with no manifest yet is kept ----------------
d=$(blob orphan 1000)
push_blob gc/a orphan "$d"
gc >/dev/null
check "a blob pushed moments ago with no manifest yet survives GC" \
    test "$(http_status -I "$URL/v2/gc/a/blobs/$d")" = 200
check "GC runs are counted in the metrics" \
    sh -c "curl -s '$URL/_berth/metrics' | grep -q '^berth_gc_runs_total [1-9]'"

# --- the race the issue names: GC frees a layer while a push reuses it ------------
# Image X references layer L and config CX, and nothing else references them.
# X is deleted; then a GC and a push of Y (config CY, layer L) run at once,
# the push as clients do it: HEAD L, upload it only if that is 404, PUT the
# manifest, and on MANIFEST_BLOB_UNKNOWN upload L again and PUT again.
oci_put() {	# REPO TAG FILE -> prints the status, the body in FILE.out
	curl -s -o "$3.out" -w '%{http_code}' -X PUT \
	    -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
	    --data-binary @"$3" "$URL/v2/$1/manifests/$2"
}
one_layer_manifest() {	# CONFIGNAME LAYERNAME OUT
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"%s","size":%s}]}' \
	    "${!1}" "$(stat -c %s "$T_TMP/$1")" "${!2}" "$(stat -c %s "$T_TMP/$2")" >"$3"
}
# make_x N: pushes X_N = cx_N + l_N into gc/race and deletes it again.
make_x() {
	local x
	mk "cx_$1" 100; mk "l_$1" 70000
	local cx=cx_$1 l=l_$1
	push_blob gc/race "$cx" "${!cx}" && push_blob gc/race "$l" "${!l}" || return 1
	one_layer_manifest "$cx" "$l" "$T_TMP/mx_$1"
	test "$(oci_put gc/race "x$1" "$T_TMP/mx_$1")" = 201 || return 1
	x=sha256:$(sha256_of "$T_TMP/mx_$1")
	test "$(http_status -X DELETE "$URL/v2/gc/race/manifests/$x")" = 202
}

# First with no push racing: the GC frees exactly CX and L.
make_x 0
check "X0 = cx_0 + l_0 pushed to gc/race and deleted" test $? = 0
before=$(stored)
r=$(gc)
check "with no push racing, GC reports exactly 2 blobs and their bytes" \
    test "$(printf '%s' "$r" | field blobs_reclaimed) $(printf '%s' "$r" | field bytes_reclaimed)" = \
    "2 $((100 + 70000))"
check "and frees exactly cx_0 and l_0" test "$(stored)" = \
    "$(for d in $before; do [ "$d" = "$cx_0" ] || [ "$d" = "$l_0" ] || printf '%s\n' "$d"; done | sort | tr '\n' ' ' | sed 's/ $//')"

race_bad=()
race_kept=0
race_head_ok=0
race_reuploaded=0
for i in $(seq 1 20); do
	make_x "$i" || { race_bad+=("$i: X not pushed"); continue; }
	mk "cy_$i" 120
	cy=cy_$i l=l_$i
	push_blob gc/race "$cy" "${!cy}" || { race_bad+=("$i: CY not pushed"); continue; }
	one_layer_manifest "$cy" "$l" "$T_TMP/my_$i"
	# Both orders: the existence check first, or the GC first.
	if [ $((i % 2)) = 0 ]; then
		head=$(http_status -I "$URL/v2/gc/race/blobs/${!l}")
		gc >"$T_TMP/race-gc$i" &
		gp=$!
	else
		# The GC first, the check up to 40 ms behind it: some rounds
		# find L gone (404) and upload it again.
		gc >"$T_TMP/race-gc$i" &
		gp=$!
		sleep "0.0$(( (i / 2) % 5 * 10 ))"
		head=$(http_status -I "$URL/v2/gc/race/blobs/${!l}")
	fi
	if [ "$head" = 200 ]; then
		race_head_ok=$((race_head_ok + 1))
	else
		push_blob gc/race "$l" "${!l}" ||
		    race_bad+=("$i: upload after HEAD $head failed")
	fi
	st=$(oci_put gc/race "y$i" "$T_TMP/my_$i")
	if [ "$st" = 201 ]; then
		race_kept=$((race_kept + 1))
	elif [ "$st" = 400 ] && grep -q MANIFEST_BLOB_UNKNOWN "$T_TMP/my_$i.out"; then
		race_reuploaded=$((race_reuploaded + 1))
		push_blob gc/race "$l" "${!l}" &&
		    st=$(oci_put gc/race "y$i" "$T_TMP/my_$i")
		[ "$st" = 201 ] || race_bad+=("$i: PUT after the re-upload: $st")
	else
		race_bad+=("$i: manifest PUT answered $st: $(cat "$T_TMP/my_$i.out")")
	fi
	wait "$gp"
	grep -q '"blobs_reclaimed"' "$T_TMP/race-gc$i" ||
	    race_bad+=("$i: GC answered $(cat "$T_TMP/race-gc$i")")
	# Whatever happened, the stored Y pulls whole, layer byte for byte.
	[ "$(http_status "$URL/v2/gc/race/manifests/y$i")" = 200 ] ||
	    race_bad+=("$i: Y is not stored")
	[ "$(curl -sf "$URL/v2/gc/race/blobs/${!l}" | sha256sum | cut -d' ' -f1)" = "${!l#sha256:}" ] ||
	    race_bad+=("$i: Y's layer does not pull byte for byte")
	[ "$(curl -sf "$URL/v2/gc/race/blobs/${!cy}" | sha256sum | cut -d' ' -f1)" = "${!cy#sha256:}" ] ||
	    race_bad+=("$i: Y's config does not pull byte for byte")
done
printf '# race rounds: HEAD 200 in %d, manifest PUT at once in %d, after a re-upload in %d\n' \
    "$race_head_ok" "$race_kept" "$race_reuploaded"
check "20 rounds of GC against a push reusing a freed layer: every Y stored intact${race_bad:+ (${race_bad[*]})}" \
    test "${#race_bad[@]}" = 0
# A later GC (the grace rule ignored nothing) must find every Y whole.
gc >/dev/null
missing=0
for i in $(seq 1 20); do
	l=l_$i cy=cy_$i
	for d in "${!l}" "${!cy}"; do
		[ "$(http_status -I "$URL/v2/gc/race/blobs/$d")" = 200 ] || missing=$((missing + 1))
	done
done
check "after one more GC, no stored manifest points at a missing blob ($missing missing)" \
    test "$missing" = 0
t_summary
