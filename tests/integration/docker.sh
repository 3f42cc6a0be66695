#!/usr/bin/env bash
# The Docker engine (Debian's docker.io, engine 20.10) against berth, as an
# ECR user drives it: `aws ecr get-login-password | docker login` (and a
# wrong password refused) under --require-auth, images built FROM scratch
# with the legacy builder and with BuildKit (the 20.10 CLI has BuildKit
# built in and builds FROM scratch offline), push, pull by tag and by
# digest after rmi, digests equal to DescribeImages' and BatchGetImage's,
# a second tag, a cross-repository mount ("Mounted from"), a two-platform
# index made with `docker manifest create/push` and pulled with
# --platform, parallel pushes, a 200 MiB layer, and an image deleted
# through the ECR API that no longer pulls.
#
# It starts a private dockerd (data root, exec root, pidfile and socket in
# the test's temporary directory, no bridge, no iptables, berth as an
# insecure registry) in a mount namespace of its own with a tmpfs on /run,
# so nothing it mounts or writes under /run is seen outside, and stops it
# by its pid.  Needs root (dockerd does); installs nothing.  DOCKER and
# DOCKERD name the client and the engine (default Debian's, not a newer
# CLI that may sit earlier in PATH).
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.." || exit 1
. "$here/common.bash"

DOCKER=${DOCKER:-/usr/bin/docker}
DOCKERD=${DOCKERD:-/usr/sbin/dockerd}
AWS=${AWS:-/usr/bin/aws}
TO=300		# seconds any one docker command may take

need_root "the Docker engine (dockerd)"
for tool in "$DOCKER" "$DOCKERD" "$AWS" unshare jq; do
	if ! command -v "$tool" >/dev/null; then
		fail "setup: $tool is not installed (tests/run.sh installs it)"
		t_summary
		exit
	fi
done

W=$T_TMP/docker
DOCKERD_PID=
dockerd_stop() {
	[ -n "$DOCKERD_PID" ] || return 0
	kill -TERM "$DOCKERD_PID" 2>/dev/null
	local i
	for i in $(seq 300); do
		kill -0 "$DOCKERD_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$DOCKERD_PID" 2>/dev/null
	wait "$DOCKERD_PID" 2>/dev/null
	DOCKERD_PID=
}
docker_cleanup() {
	dockerd_stop
	t_cleanup
}
trap docker_cleanup EXIT

# --- berthd, the AWS CLI, dockerd -------------------------------------------
start_berthd "$T_TMP/data" --require-auth || {
	fail "berthd --require-auth starts"; t_summary; exit; }
reg=127.0.0.1:$PORT

export AWS_CONFIG_FILE=$T_TMP/aws-config
export AWS_SHARED_CREDENTIALS_FILE=$T_TMP/aws-creds
export AWS_PAGER="" AWS_MAX_ATTEMPTS=1 AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1
export AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=secret
printf '[default]\nregion = us-east-1\n' >"$AWS_CONFIG_FILE"
: >"$AWS_SHARED_CREDENTIALS_FILE"
ecr() {
	"$AWS" --endpoint-url "$URL" --output json ecr "$@"
}

mkdir -p "$W/config" "$W/ctx"
# The key path keeps the engine's identity key out of /etc/docker.
printf '{"deprecated-key-path": "%s"}\n' "$W/key.json" >"$W/daemon.json"
export DOCKER_HOST=unix://$W/docker.sock DOCKER_CONFIG=$W/config
# The private /run keeps the machine's /run/docker (plugins) and this
# engine's apart.
unshare -m --propagation private sh -c \
    'mount -t tmpfs -o mode=0755 tmpfs /run && exec "$0" "$@"' \
    "$DOCKERD" --data-root "$W/data" --exec-root "$W/exec" \
    --pidfile "$W/dockerd.pid" -H "unix://$W/docker.sock" \
    --config-file "$W/daemon.json" \
    --storage-driver vfs --bridge none --iptables=false --ip6tables=false \
    --ip-forward=false --ip-masq=false --insecure-registry "$reg" \
    >"$W/dockerd.log" 2>&1 &
DOCKERD_PID=$!
if ! wait_for 60 "$DOCKER" version >/dev/null; then
	fail "dockerd starts"
	tail -20 "$W/dockerd.log" | sed 's/^/    /'
	t_summary
	exit
fi
check "dockerd's pidfile names the engine we started" \
    test "$(cat "$W/dockerd.pid")" = "$DOCKERD_PID"

d() {
	timeout "$TO" "$DOCKER" "$@"
}
# run NAME COMMAND...: a check whose output is kept in $W/out (shown on
# failure).
run() {
	local name=$1
	shift
	if "$@" >"$W/out" 2>&1; then
		ok "$name"
	else
		fail "$name"
		tail -15 "$W/out" | sed 's/^/    /'
	fi
}
# The digest `docker push` reported, from $W/out (or $W_OUT).
pushed_digest() {
	sed -n 's/.*: digest: \(sha256:[0-9a-f]\{64\}\) size: .*/\1/p' \
	    "${W_OUT:-$W/out}"
}
# build NAME TAG DOCKERFILE-LINES...: a FROM scratch image from files in
# $W/ctx; NAME=legacy or buildkit picks the builder.
build() {
	local builder=$1 tag=$2 bk=0
	shift 2
	[ "$builder" = buildkit ] && bk=1
	printf '%s\n' "FROM scratch" "$@" >"$W/ctx/Dockerfile"
	DOCKER_BUILDKIT=$bk d build -q -t "$tag" "$W/ctx"
}
image_id() {
	"$DOCKER" image inspect -f '{{.Id}}' "$1" 2>/dev/null
}
describe() {	# REPO REF -> imageDetails[0]
	local id=imageTag=$2
	case $2 in sha256:*) id=imageDigest=$2 ;; esac
	ecr describe-images --repository-name "$1" --image-ids "$id" |
	    jq -c '.imageDetails[0]'
}
manifest_sha() {	# REPO REF: sha256 of BatchGetImage's manifest bytes
	local id=imageTag=$2
	case $2 in sha256:*) id=imageDigest=$2 ;; esac
	ecr batch-get-image --repository-name "$1" --image-ids "$id" \
	    --accepted-media-types \
	    application/vnd.docker.distribution.manifest.v2+json \
	    application/vnd.docker.distribution.manifest.list.v2+json \
	    application/vnd.oci.image.manifest.v1+json \
	    application/vnd.oci.image.index.v1+json |
	    jq -j '.images[0].imageManifest' | sha256sum | cut -d' ' -f1
}

for r in team/app team/other team/par team/big; do
	ecr create-repository --repository-name "$r" >/dev/null
done
uri=$(ecr describe-repositories --repository-names team/app |
    jq -r '.repositories[0].repositoryUri')
check "the repository URI is berth's" test "$uri" = "$reg/team/app"

# --- build FROM scratch, both builders --------------------------------------
head -c 1048576 /dev/urandom >"$W/ctx/base"
head -c 300000 /dev/urandom >"$W/ctx/app"
echo "built by BuildKit" >"$W/ctx/bk"
run "legacy builder: FROM scratch, two layers" build legacy "$uri:v1" \
    "COPY base /base" "COPY app /app" 'CMD ["/app"]'
app_id=$(image_id "$uri:v1")
run "BuildKit: FROM scratch" build buildkit "$uri:bk" "COPY bk /bk"
bk_id=$(image_id "$uri:bk")
check "both images exist" test -n "$app_id" -a -n "$bk_id"

# --- login ------------------------------------------------------------------
run "push without a login is refused" bash -c "! timeout $TO '$DOCKER' push '$uri:v1'"
check "... as unauthorized" grep -qi 'no basic auth credentials\|unauthorized\|authentication required' "$W/out"
run "a wrong password is refused" bash -c "! echo berth1.00.00 |
    timeout $TO '$DOCKER' login --username AWS --password-stdin '$reg'"
check "... with berth's 401" grep -qi 'unauthorized\|401' "$W/out"
check "... and not stored" bash -c "! grep -q '$reg' '$W/config/config.json' 2>/dev/null"
run "aws ecr get-login-password | docker login" bash -c \
    "'$AWS' --endpoint-url '$URL' ecr get-login-password |
    timeout $TO '$DOCKER' login --username AWS --password-stdin '$reg'"
check "... Login Succeeded" grep -q 'Login Succeeded' "$W/out"

# --- push; digests as the ECR API reports them -------------------------------
run "push (legacy builder's image)" d push "$uri:v1"
app_digest=$(pushed_digest)
check "push reports a digest" test -n "$app_digest"
run "push (BuildKit's image)" d push "$uri:bk"
bk_digest=$(pushed_digest)
det=$(describe team/app v1)
check "DescribeImages: the digest docker pushed" \
    test "$(jq -r .imageDigest <<<"$det")" = "$app_digest"
check "DescribeImages: Docker's manifest type" test "$(jq -r \
    .imageManifestMediaType <<<"$det")" = \
    application/vnd.docker.distribution.manifest.v2+json
check "BatchGetImage: the manifest bytes hash to the pushed digest" \
    test "sha256:$(manifest_sha team/app v1)" = "$app_digest"
check "BatchGetImage: the BuildKit image too" \
    test "sha256:$(manifest_sha team/app bk)" = "$bk_digest"
check "RepoDigests: the pushed digest" test "$("$DOCKER" image inspect -f \
    '{{range .RepoDigests}}{{.}} {{end}}' "$uri:v1")" = "$uri@$app_digest "

# --- pull by tag and by digest after rmi --------------------------------------
run "rmi" d rmi "$uri:v1" "$uri:bk"
check "the images are gone" test -z "$(image_id "$app_id")$(image_id "$bk_id")"
run "pull by tag" d pull "$uri:v1"
check "... the image built (same config, hence same layers)" \
    test "$(image_id "$uri:v1")" = "$app_id"
run "pull the BuildKit image by tag" d pull "$uri:bk"
check "... the image built" test "$(image_id "$uri:bk")" = "$bk_id"
cid=$(d create --network none "$uri:v1" 2>/dev/null)
d cp "$cid:/app" - 2>/dev/null | tar -xOf - >"$W/app.back"
check "a file of the pulled image is the one built" cmp "$W/app.back" "$W/ctx/app"
d rm "$cid" >/dev/null 2>&1
run "rmi again" d rmi "$uri:v1"
run "pull by digest" d pull "$uri@$app_digest"
check "... the image built" test "$(image_id "$uri@$app_digest")" = "$app_id"

# --- a second tag, a mount from another repository -----------------------------
# pushed_again NAME REF SAYS: a push of the image built first, whose two
# layers the registry has; SAYS is what docker must report of each.
pushed_again() {
	run "$1" d push "$2"
	check "... \"$3\" for both layers" \
	    test "$(grep -c "$3" "$W/out")" = 2
	check "... the same digest" test "$(pushed_digest)" = "$app_digest"
}
d tag "$app_id" "$uri:v2"
pushed_again "push a second tag" "$uri:v2" 'Layer already exists'
check "DescribeImages: one image with both tags" test "$(describe team/app \
    "$app_digest" | jq -c '.imageTags | sort')" = '["v1","v2"]'
other=$reg/team/other
d tag "$app_id" "$other:v1"
pushed_again "push into another repository (a mount)" "$other:v1" \
    'Mounted from team/app'
check "DescribeImages in the other repository" test "$(describe team/other \
    v1 | jq -r .imageDigest)" = "$app_digest"

# --- a two-platform index: docker manifest create/push, pull --platform ------
echo "for amd64" >"$W/ctx/amd64"
echo "for arm64" >"$W/ctx/arm64"
run "an amd64 image (legacy builder)" build legacy "$uri:amd64" "COPY amd64 /which"
amd_id=$(image_id "$uri:amd64")
run "an arm64 image (BuildKit --platform)" \
    env DOCKER_BUILDKIT=1 timeout "$TO" "$DOCKER" build -q \
    --platform linux/arm64 -t "$uri:arm64" -f - "$W/ctx" \
    <<<$'FROM scratch\nCOPY arm64 /which'
arm_id=$(image_id "$uri:arm64")
check "... is arm64" test "$("$DOCKER" image inspect -f '{{.Architecture}}' \
    "$uri:arm64")" = arm64
run "push amd64" d push "$uri:amd64"
amd_digest=$(pushed_digest)
run "push arm64" d push "$uri:arm64"
arm_digest=$(pushed_digest)
run "docker manifest create" d manifest create --insecure "$uri:multi" \
    "$uri:amd64" "$uri:arm64"
run "docker manifest push" d manifest push --insecure "$uri:multi"
multi_digest=$(grep -o 'sha256:[0-9a-f]\{64\}' "$W/out" | tail -1)
det=$(describe team/app multi)
check "DescribeImages: the index docker pushed" \
    test "$(jq -r .imageDigest <<<"$det")" = "$multi_digest"
check "DescribeImages: a manifest list" test "$(jq -r \
    .imageManifestMediaType <<<"$det")" = \
    application/vnd.docker.distribution.manifest.list.v2+json
check "BatchGetImage: the index's bytes" \
    test "sha256:$(manifest_sha team/app multi)" = "$multi_digest"
ecr batch-get-image --repository-name team/app --image-ids imageTag=multi |
    jq -r '.images[0].imageManifest' >"$W/index.json"
check "the index names both images for their platforms" test "$(jq -c \
    '[.manifests[] | [.platform.architecture, .digest]] | sort' \
    "$W/index.json")" = "[[\"amd64\",\"$amd_digest\"],[\"arm64\",\"$arm_digest\"]]"
run "rmi both platforms" d rmi "$uri:amd64" "$uri:arm64"
run "pull --platform linux/arm64" d pull --platform linux/arm64 "$uri:multi"
check "... the arm64 image" test "$(image_id "$uri:multi")" = "$arm_id"
run "pull --platform linux/amd64" d pull --platform linux/amd64 "$uri:multi"
check "... the amd64 image" test "$(image_id "$uri:multi")" = "$amd_id"

# --- parallel pushes: four images sharing a layer, two repositories ----------
par=$reg/team/par
for i in 1 2 3 4; do
	head -c 200000 /dev/urandom >"$W/ctx/own$i"
	build legacy "$par:p$i" "COPY base /base" "COPY own$i /own" \
	    >/dev/null 2>&1
done
d tag "$par:p4" "$other:p4"
pids=()
targets=("$par:p1" "$par:p2" "$par:p3" "$par:p4" "$other:p4")
for n in 0 1 2 3 4; do
	d push "${targets[$n]}" >"$W/push.$n" 2>&1 &
	pids+=($!)
done
all=0
for p in "${pids[@]}"; do
	wait "$p" || all=1
done
check "five pushes at once succeed" test "$all" = 0
[ "$all" = 0 ] || tail -5 "$W"/push.* | sed 's/^/    /'
for i in 1 2 3 4; do
	dg=$(W_OUT=$W/push.$((i - 1)) pushed_digest)
	check "parallel push p$i: DescribeImages has its digest" \
	    test -n "$dg" -a "$(describe team/par "p$i" | jq -r .imageDigest)" = "$dg"
done
check "the same image in the other repository" test "$(describe team/other \
    p4 | jq -r .imageDigest)" = "$(describe team/par p4 | jq -r .imageDigest)"
run "rmi the parallel images" d rmi "$par:p1" "$par:p2" "$par:p3" \
    "$par:p4" "$other:p4"
run "they pull back" bash -c "for i in 1 2 3 4; do timeout $TO '$DOCKER' \
    pull -q '$par:p'\$i || exit 1; done"

# --- a 200 MiB layer -----------------------------------------------------------
big=$reg/team/big
rm -f "$W"/ctx/own* "$W/ctx/base" "$W/ctx/app"
head -c $((200 * 1048576)) /dev/urandom >"$W/ctx/big"
run "build an image with a 200 MiB layer" build legacy "$big:v1" "COPY big /big"
big_id=$(image_id "$big:v1")
rm -f "$W/ctx/big"
run "push the 200 MiB layer" d push "$big:v1"
big_digest=$(pushed_digest)
det=$(describe team/big v1)
check "DescribeImages: its digest" test "$(jq -r .imageDigest <<<"$det")" = \
    "$big_digest"
check "DescribeImages: at least 200 MiB" \
    test "$(jq -r .imageSizeInBytes <<<"$det")" -ge $((200 * 1048576))
run "rmi the big image" d rmi "$big:v1"
run "pull the 200 MiB layer back" d pull "$big:v1"
check "... the image built" test "$(image_id "$big:v1")" = "$big_id"

# --- deleted through the ECR API, no longer pulls --------------------------------
out=$(ecr batch-delete-image --repository-name team/big \
    --image-ids imageDigest="$big_digest")
check "BatchDeleteImage deletes it" test "$(jq -c \
    '[.imageIds[].imageDigest, (.failures | length)]' <<<"$out")" = \
    "[\"$big_digest\",0]"
run "rmi the deleted image" d rmi "$big:v1"
run "pull of a deleted tag fails" bash -c "! timeout $TO '$DOCKER' pull '$big:v1'"
check "... as not found" grep -qi 'not found\|manifest unknown' "$W/out"
# dockerd may answer a pull by digest from what it keeps itself, so the
# registry is asked directly.
token=$(ecr get-login-password)
check "the deleted digest is 404 on /v2/" test "$(http_status -u \
    "AWS:$token" "$URL/v2/team/big/manifests/$big_digest")" = 404
check "the other repositories keep theirs" test "$(describe team/other v1 |
    jq -r .imageDigest)" = "$app_digest"

# --- dockerd stops by its pid and leaves nothing mounted -----------------------
pid=$DOCKERD_PID
dockerd_stop
check "dockerd has stopped" bash -c "! kill -0 $pid 2>/dev/null"
check "nothing of it is mounted" bash -c "! grep -q ' $W' /proc/mounts"
t_summary
