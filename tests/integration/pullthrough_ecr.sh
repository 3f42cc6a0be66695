#!/usr/bin/env bash
# Pull through cache from an upstream ECR: a second berth (account
# 222222222222 in us-west-2, --require-auth) stands for
# 222222222222.dkr.ecr.us-west-2.amazonaws.com and its API endpoint, mapped
# with --upstream-map.  A rule with a customRoleArn pulls through it: berth
# asks the upstream for GetAuthorizationToken, signed with the keys the
# secrets file gives for the role, and fetches with that login; skopeo's
# pull is the upstream's image byte for byte, ValidatePullThroughCacheRule
# logs in the same way, and wrong keys are refused; a login the upstream
# no longer takes (the upstream started anew) is made again, once, for a
# manifest and for a blob.
# BERTHD and BLOBD name the binaries.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.bash"

if ! command -v skopeo >/dev/null || ! command -v umoci >/dev/null; then
	echo "skip: skopeo and umoci are needed"
	exit 0
fi
export XDG_RUNTIME_DIR=$T_TMP/run HOME=$T_TMP/home
mkdir -p "$XDG_RUNTIME_DIR" "$HOME"
export AWS_CONFIG_FILE=$T_TMP/config AWS_SHARED_CREDENTIALS_FILE=$T_TMP/creds
export AWS_PAGER="" AWS_MAX_ATTEMPTS=1
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN
: >"$AWS_CONFIG_FILE"
: >"$AWS_SHARED_CREDENTIALS_FILE"

# --- the upstream: a berth of account 222222222222 ---------------------------
UP=222222222222
printf 'AKIDUPSTREAM upsecret %s\n' "$UP" >"$T_TMP/up-credentials"
mkdir -p "$T_TMP/up"
start_berthd "$T_TMP/up" --require-auth --create-on-push \
    --credentials "$T_TMP/up-credentials"
UPURL=$URL UPPORT=$PORT UPPID=$BERTHD_PID
up_ecr() {
	AWS_ACCESS_KEY_ID=AKIDUPSTREAM AWS_SECRET_ACCESS_KEY=upsecret \
	    aws --endpoint-url "$UPURL" --region us-west-2 ecr "$@"
}
dir=$T_TMP/layout
umoci init --layout "$dir" >/dev/null
umoci new --image "$dir:x" >/dev/null
echo "from the upstream ECR" >"$T_TMP/seed.txt"
umoci insert --image "$dir:x" "$T_TMP/seed.txt" /seed >/dev/null
pw=$(up_ecr get-login-password)
check "the upstream ECR takes a push" skopeo copy -q --dest-tls-verify=false \
    --dest-creds "AWS:$pw" "oci:$dir:x" \
    "docker://127.0.0.1:$UPPORT/team/app:v1"
skopeo inspect --raw --tls-verify=false --creds "AWS:$pw" \
    "docker://127.0.0.1:$UPPORT/team/app:v1" >"$T_TMP/manifest"

# --- berth, pulling through it -------------------------------------------------
role=arn:aws:iam::000000000000:role/ecr-upstream
badrole=arn:aws:iam::000000000000:role/wrong-keys
(umask 077 && printf '%s AKIDUPSTREAM upsecret\n%s AKIDUPSTREAM nope\n' \
    "$role" "$badrole" >"$T_TMP/secrets")
mkdir -p "$T_TMP/data"
start_berthd "$T_TMP/data" -v --pull-through-secrets "$T_TMP/secrets" \
    --upstream-map "$UP.dkr.ecr.us-west-2.amazonaws.com=http://127.0.0.1:$UPPORT" \
    --upstream-map "api.ecr.us-west-2.amazonaws.com=http://127.0.0.1:$UPPORT"
ecr() {
	AWS_ACCESS_KEY_ID=000000000000 AWS_SECRET_ACCESS_KEY=x \
	    aws --endpoint-url "$URL" --region us-east-1 ecr "$@"
}
check "a rule for the upstream ECR with a customRoleArn" \
    ecr --output text --query ecrRepositoryPrefix create-pull-through-cache-rule --ecr-repository-prefix up \
    --upstream-registry-url "$UP.dkr.ecr.us-west-2.amazonaws.com" \
    --custom-role-arn "$role"
check "... and one whose role's keys are wrong" \
    ecr --output text --query ecrRepositoryPrefix create-pull-through-cache-rule --ecr-repository-prefix bad \
    --upstream-registry-url "$UP.dkr.ecr.us-west-2.amazonaws.com" \
    --custom-role-arn "$badrole"

check "skopeo pulls up/team/app:v1 through berth" \
    skopeo copy -q --src-tls-verify=false \
    "docker://127.0.0.1:$PORT/up/team/app:v1" "oci:$T_TMP/out:v1"
check "... the upstream's manifest, byte for byte" sh -c \
    "skopeo inspect --raw --tls-verify=false \
    'docker://127.0.0.1:$PORT/up/team/app:v1' | cmp -s - '$T_TMP/manifest'"
# The test's own get-login-password made one; berth's is the other.
check "berth logged in with GetAuthorizationToken, signed for the role" \
    test "$(grep -c 'ACCESS .*"POST /" 200' "$T_TMP/up.log")" = 2
check "ValidatePullThroughCacheRule logs in to the upstream ECR" test \
    "$(ecr validate-pull-through-cache-rule --ecr-repository-prefix up \
    --output text --query isValid)" = True
check "... and says when the role's keys do not" test \
    "$(ecr validate-pull-through-cache-rule --ecr-repository-prefix bad \
    --output text --query isValid)" = False
code=$(http_status "$URL/v2/bad/team/app/manifests/v1")
check "wrong keys for the role: 403" test "$code" = 403

# --- a login the upstream no longer takes ----------------------------------------
# reset_upstream N: the upstream ECR anew on its port, from an empty data
# directory (a new token key: the login berth holds, good for 11 more
# hours, is refused), with a new image pushed as team/app:vN.
reset_upstream() {
	kill "$UPPID"
	wait "$UPPID" 2>/dev/null
	mkdir -p "$T_TMP/up$1"
	"$BERTHD" --blobd "$BLOBD" --listen "127.0.0.1:$UPPORT" \
	    --data-dir "$T_TMP/up$1" --require-auth --create-on-push \
	    --credentials "$T_TMP/up-credentials" >>"$T_TMP/up.log" 2>&1 &
	UPPID=$!
	T_PIDS+=("$UPPID")
	wait_for 30 curl -sf -o /dev/null "$UPURL/_berth/health"
	echo "version $1" >"$T_TMP/seed.txt"
	umoci insert --image "$dir:x" "$T_TMP/seed.txt" /seed >/dev/null
	pw=$(up_ecr get-login-password)
	skopeo copy -q --dest-tls-verify=false --dest-creds "AWS:$pw" \
	    "oci:$dir:x" "docker://127.0.0.1:$UPPORT/team/app:v$1"
}
logins() {
	grep -c 'logging in again' "$T_TMP/data.log"
}
reset_upstream 2
check "a pull after the upstream refused berth's login" \
    skopeo copy -q --src-tls-verify=false \
    "docker://127.0.0.1:$PORT/up/team/app:v2" "oci:$T_TMP/out:v2"
check "... which logged in again" test "$(logins)" = 1
skopeo inspect --raw --tls-verify=false --creds "AWS:$pw" \
    "docker://127.0.0.1:$UPPORT/team/app:v2" >"$T_TMP/manifest2"
check "... the upstream's manifest, byte for byte" sh -c \
    "skopeo inspect --raw --tls-verify=false \
    'docker://127.0.0.1:$PORT/up/team/app:v2' | cmp -s - '$T_TMP/manifest2'"
reset_upstream 3
config=$(skopeo inspect --raw --tls-verify=false --creds "AWS:$pw" \
    "docker://127.0.0.1:$UPPORT/team/app:v3" | python3 -c \
    'import json,sys; print(json.load(sys.stdin)["config"]["digest"])')
curl -sf -u "AWS:$pw" -o "$T_TMP/config.up" \
    "$UPURL/v2/team/app/blobs/$config"
check "a blob's first GET after the upstream refused berth's login" \
    curl -sf -o "$T_TMP/config.got" "$URL/v2/up/team/app/blobs/$config"
check "... which logged in again" test "$(logins)" = 2
check "... the upstream's blob, byte for byte" \
    cmp -s "$T_TMP/config.up" "$T_TMP/config.got"
t_summary
