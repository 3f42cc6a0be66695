#!/usr/bin/env bash
# Pull through cache against upstreams as real registries run them, on this
# machine: Debian's docker-registry with Basic auth (htpasswd), one behind a
# Bearer token server written for the test (ptc/servers.py token), and one
# behind a front (ptc/servers.py front) that wants Basic credentials,
# redirects blob downloads to another host, cuts a blob half way or stalls
# in the middle of one; berthd reaches one upstream through an HTTPS_PROXY
# (ptc/servers.py proxy) and another directly as NO_PROXY says.  Checked:
# byte-for-byte pulls with the rules' credentials (wrong ones refused), a
# client leaving the first GET of a blob midway (the blob stored anyway), a
# cached Bearer token the upstream refuses (the token key rotated) replaced
# by a new one and the pull going on, credentials not sent to the
# redirect's host, a blob cut or a crash mid-fetch (kill -9 of berthd, of
# berth-fetchd) storing nothing, and a later pull fetching the whole blob
# again.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.bash"
. "$here/ptc/upstream.bash"

if ! upstream_usable || ! command -v htpasswd >/dev/null; then
	echo "skip: docker-registry, skopeo and htpasswd are needed"
	exit 0
fi
export XDG_RUNTIME_DIR=$T_TMP/run HOME=$T_TMP/home
mkdir -p "$XDG_RUNTIME_DIR" "$HOME"
servers=$here/ptc/servers.py

pki=$T_TMP/pki
make_pki "$pki"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=berth-test-token \
    -keyout "$pki/token.key" -out "$pki/token.pem" >/dev/null 2>&1

# start_server NAME ARGS...: one of ptc/servers.py, logging to NAME.log.
start_server() {
	local name=$1
	shift
	: >"$T_TMP/$name.log"
	python3 "$servers" "$@" --log "$T_TMP/$name.log" \
	    >>"$T_TMP/$name.out" 2>&1 &
	T_PIDS+=("$!")
}

UP=$(free_port) UB=$(free_port) UT=$(free_port) TP=$(free_port)
FP=$(free_port) FP2=$(free_port) PP=$(free_port)
start_registry plain "$UP"
htpasswd -Bbn buser bpass >"$T_TMP/htpasswd"
start_registry basic "$UB" "auth:
  htpasswd:
    realm: berth-test
    path: $T_TMP/htpasswd"
start_server token token --port "$TP" --cert "$pki/srv.pem" \
    --key "$pki/srv.key" --user tuser:tpass --sign-key "$pki/token.key" \
    --sign-cert "$pki/token.pem"
token_auth="auth:
  token:
    realm: https://127.0.0.1:$TP/token
    service: berth-test
    issuer: berth-test-issuer
    rootcertbundle: $pki/token.pem"
start_registry token-registry "$UT" "$token_auth"
token_registry_pid=$REGISTRY_PID
control=$T_TMP/front.json
echo '{}' >"$control"
start_server front front --port "$FP" --port2 "$FP2" --cert "$pki/srv.pem" \
    --key "$pki/srv.key" --ca "$pki/ca.pem" --user fuser:fpass \
    --backend "https://127.0.0.1:$UP" --control "$control"
start_server proxy proxy --port "$PP"
wait_for 20 sh -c "curl -s --cacert '$pki/ca.pem' -o /dev/null \
    -w '%{http_code}' 'https://127.0.0.1:$FP/v2/' | grep -q 401"
wait_for 20 sh -c "curl -s --cacert '$pki/ca.pem' -o /dev/null \
    -w '%{http_code}' 'https://127.0.0.1:$TP/token' | grep -q 401"

make_image "$T_TMP/img" v1 2
make_image "$T_TMP/big" v1 1 4000000
push_image "$T_TMP/img" v1 "127.0.0.1:$UB/library/app" --dest-creds buser:bpass
check "the token registry takes a push with the token server's tokens" \
    push_image "$T_TMP/img" v1 "127.0.0.1:$UT/library/app" \
    --dest-creds tuser:tpass
push_image "$T_TMP/img" v1 "127.0.0.1:$UP/library/app"
push_image "$T_TMP/big" v1 "127.0.0.1:$UP/library/big"
# upstream_layer REPO TAG: the first layer's digest as the upstream
# stores it (skopeo's push compresses), its bytes in $T_TMP/DIGEST.
upstream_layer() {
	local d
	d=$(skopeo inspect --raw --cert-dir "$pki/certs.d" \
	    "docker://127.0.0.1:$UP/$1:$2" | python3 -c 'import json,sys
print(json.load(sys.stdin)["layers"][0]["digest"])')
	curl -sf --cacert "$pki/ca.pem" -o "$T_TMP/$d" \
	    "https://127.0.0.1:$UP/v2/$1/blobs/$d" && echo "$d"
}
big=$(upstream_layer library/big v1)

acct=000000000000
arn=arn:aws:secretsmanager:us-east-1:$acct:secret:ecr-pullthroughcache
(umask 077 && cat >"$T_TMP/secrets" <<EOF
$arn/basic-AbC123 buser bpass
$arn/bad-AbC123 buser wrong
$arn/token-AbC123 tuser tpass
$arn/front-AbC123 fuser fpass
EOF
)
mkdir -p "$T_TMP/data"
ca=$pki/ca.pem
berthd_args=(-v --pull-through-secrets "$T_TMP/secrets"
    --upstream-map "registry-1.docker.io=https://127.0.0.1:$UB,$ca"
    --upstream-map "quay.io=https://127.0.0.1:$UB,$ca"
    --upstream-map "ghcr.io=https://127.0.0.1:$UT,$ca"
    --upstream-map "registry.gitlab.com=https://127.0.0.1:$FP,$ca"
    --upstream-map "public.ecr.aws=https://127.0.0.1:$UP,$ca"
    --upstream-map "registry.k8s.io=https://localhost:$UP,$ca")
run_berthd() {
	HTTPS_PROXY=http://127.0.0.1:$PP NO_PROXY=localhost \
	    start_berthd "$T_TMP/data" "${berthd_args[@]}"
}
run_berthd
export AWS_ACCESS_KEY_ID=$acct AWS_SECRET_ACCESS_KEY=x \
    AWS_DEFAULT_REGION=us-east-1 AWS_MAX_ATTEMPTS=1
aws_ecr() { aws --endpoint-url "$URL" ecr "$@" >/dev/null; }
aws_ecr create-pull-through-cache-rule --ecr-repository-prefix hub \
    --upstream-registry-url registry-1.docker.io \
    --credential-arn "$arn/basic-AbC123"
aws_ecr create-pull-through-cache-rule --ecr-repository-prefix badq \
    --upstream-registry-url quay.io --credential-arn "$arn/bad-AbC123"
aws_ecr create-pull-through-cache-rule --ecr-repository-prefix gh \
    --upstream-registry-url ghcr.io --credential-arn "$arn/token-AbC123"
aws_ecr create-pull-through-cache-rule --ecr-repository-prefix gl \
    --upstream-registry-url registry.gitlab.com \
    --credential-arn "$arn/front-AbC123"
aws_ecr create-pull-through-cache-rule --ecr-repository-prefix pub \
    --upstream-registry-url public.ecr.aws
aws_ecr create-pull-through-cache-rule --ecr-repository-prefix k8s \
    --upstream-registry-url registry.k8s.io

# The image as the upstreams serve it (skopeo's push made it).
skopeo inspect --raw --cert-dir "$pki/certs.d" \
    "docker://127.0.0.1:$UP/library/app:v1" >"$T_TMP/manifest"
blobs=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1]))
print(" ".join([m["config"]["digest"]] + [l["digest"] for l in m["layers"]]))' \
    "$T_TMP/manifest")

# pull PREFIX: skopeo pulls PREFIX/library/app:v1 through berth: the
# upstream's manifest byte for byte, every blob matching its digest.
pull() {
	local d
	skopeo copy -q --src-tls-verify=false \
	    "docker://127.0.0.1:$PORT/$1/library/app:v1" "oci:$T_TMP/out-$1:v1" ||
	    return 1
	skopeo inspect --raw --tls-verify=false \
	    "docker://127.0.0.1:$PORT/$1/library/app:v1" |
	    cmp -s - "$T_TMP/manifest" || return 1
	for d in $blobs; do
		test "$(sha256_of "$T_TMP/out-$1/blobs/sha256/${d#sha256:}")" = \
		    "${d#sha256:}" || return 1
	done
}

# --- a redirect of blob downloads to another host ---------------------------
# The first pull of the image, while the store holds none of its blobs
# (one it holds is linked after a HEAD instead, pullthrough_link.sh).
echo '{"redirect": true}' >"$control"
check "a pull whose blobs the upstream redirects to another host" pull gl
n=$(grep -c "other-host GET" "$T_TMP/front.log")
check "... which served every blob" test "$n" = "$(wc -w <<<"$blobs")"
check "... and never saw the upstream's credentials" \
    test "$(grep -c 'other-host GET .* auth=yes' "$T_TMP/front.log")" = 0

# --- Basic and Bearer -------------------------------------------------------
check "a pull from a registry wanting Basic credentials" pull hub
berth_basic() {
	grep -E 'useragent="?berth/' "$T_TMP/basic.log" |
	    grep 'authorized request' | grep -q 'library/app/manifests/v1'
}
check "... which took the rule's secret" berth_basic
code=$(http_status "$URL/v2/badq/library/app/manifests/v1")
check "wrong credentials: the upstream's refusal, 403" test "$code" = 403
check "... in the OCI error shape" sh -c \
    "curl -s '$URL/v2/badq/library/app/manifests/v1' | grep -q '\"DENIED\"'"
check "a pull from a registry behind a Bearer token server" pull gh
check "... whose token was asked with the rule's credentials" grep -q \
    '^token user=tuser scope=repository:library/app:pull$' "$T_TMP/token.log"

# --- a cached token the upstream no longer takes -----------------------------
# The token server's key is rotated and the registry restarted with the new
# certificate: the token berth-fetchd holds for library/app (for another
# 300 s) is refused with a 401, and it asks the realm once for a new one.
make_image "$T_TMP/img2" v2 1
push_image "$T_TMP/img2" v2 "127.0.0.1:$UT/library/app" --dest-creds tuser:tpass
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=berth-test-token2 \
    -keyout "$pki/token2.key" -out "$pki/token2.pem" >/dev/null 2>&1
mv "$pki/token2.key" "$pki/token.key"
mv "$pki/token2.pem" "$pki/token.pem"
kill "$token_registry_pid"
wait "$token_registry_pid" 2>/dev/null
start_registry token-registry "$UT" "$token_auth"
tokens=$(grep -c 'scope=repository:library/app:pull$' "$T_TMP/token.log")
check "a pull whose cached token the upstream refuses (its key rotated)" \
    skopeo copy -q --src-tls-verify=false \
    "docker://127.0.0.1:$PORT/gh/library/app:v2" "oci:$T_TMP/out-gh2:v2"
check "... after the token refused, with a new one from the realm" test \
    "$(grep -c 'scope=repository:library/app:pull$' "$T_TMP/token.log")" \
    -gt "$tokens"
# The registry's log: berth's request with the old token, refused.
refused_token() {
	grep 'error authorizing context: invalid token' \
	    "$T_TMP/token-registry.log" | grep 'useragent=berth/' |
	    grep -q 'uri=/v2/library/app/manifests/v2 '
}
check "... which the upstream refused first" refused_token

# --- HTTPS_PROXY and NO_PROXY ------------------------------------------------
check "a pull through the HTTPS_PROXY" pull pub
check "... which the proxy tunnelled" \
    grep -q "^CONNECT 127.0.0.1:$UP\$" "$T_TMP/proxy.log"
check "a pull from a NO_PROXY host" pull k8s
check "... which did not go through the proxy" \
    test "$(grep -c '^CONNECT localhost' "$T_TMP/proxy.log")" = 0

# blob_in_store DIGEST, blob_absent DIGEST: whether blobd holds it, asked
# of GET /_berth/blobs (which must answer).
blob_in_store() {
	local b
	b=$(curl -sf "$URL/_berth/blobs") && grep -q "\"$1\"" <<<"$b"
}

# --- a client that leaves the first GET of a blob midway --------------------
# The GET is shown the blob as it comes (spliced to its socket); a client
# that reads slowly and then goes leaves the fetch to go on into the store.
make_image "$T_TMP/huge" v1 1 16000000
push_image "$T_TMP/huge" v1 "127.0.0.1:$UP/library/huge"
huge=$(upstream_layer library/huge v1)
check "the huge image's manifest is pulled" \
    curl -sf -o /dev/null "$URL/v2/pub/library/huge/manifests/v1"
curl -s --limit-rate 20k --max-time 3 -o "$T_TMP/left" \
    "$URL/v2/pub/library/huge/blobs/$huge"
check "a client that leaves the first GET of a blob got part of it" \
    test -s "$T_TMP/left" -a "$(wc -c <"$T_TMP/left")" -lt \
    "$(wc -c <"$T_TMP/$huge")"
check "... the blob is stored all the same" wait_for 60 blob_in_store "$huge"
check "... no upload session is left" wait_for 10 sh -c \
    "curl -s '$URL/_berth/metrics' | grep -q '^berth_uploads_in_progress 0$'"
check "... and a GET now gets it whole" sh -c "curl -sf \
    '$URL/v2/pub/library/huge/blobs/$huge' | cmp -s - '$T_TMP/$huge'"

# --- an upstream that dies mid-blob -----------------------------------------
bigurl=$URL/v2/gl/library/big/blobs/$big
check "the big image's manifest is pulled" \
    curl -sf -o /dev/null "$URL/v2/gl/library/big/manifests/v1"
echo "{\"die\": [\"$big\"]}" >"$control"
# The first GET is shown the blob as it comes: the cut ends it short.
check "a GET of a blob the upstream cuts half way fails (a short body)" \
    sh -c "! curl -sf -o '$T_TMP/cut' '$bigurl'"
check "... short of the blob" test "$(wc -c <"$T_TMP/cut")" -lt \
    "$(wc -c <"$T_TMP/$big")"
check "... the front cut it" grep -q "^cut $big" "$T_TMP/front.log"
code=$(http_status -I "$bigurl")
check "a HEAD of it is answered from the upstream's 200, not the store: 200" \
    test "$code" = 200
check "... its fetch is cut too" wait_for 30 sh -c \
    "[ \$(grep -c '^cut $big' '$T_TMP/front.log') = 2 ]"
check "... no upload session is left" wait_for 30 sh -c \
    "curl -s '$URL/_berth/metrics' | grep -q '^berth_uploads_in_progress 0$'"
check "... and nothing of it is stored" blob_absent "$big"

# fetch_stalled: GETs the big blob in the background until the front
# stalls in the middle of it.
fetch_stalled() {
	local n
	n=$(grep -c "^stalled $big" "$T_TMP/front.log")
	echo "{\"stall\": [\"$big\"]}" >"$control"
	curl -s -o /dev/null "$bigurl" &
	wait_for 30 sh -c "[ \$(grep -c '^stalled $big' '$T_TMP/front.log') \
	    -gt $n ]"
}

# --- kill -9 of berth-fetchd during a fetch ----------------------------------
spawner=$(spawner_pid "$BERTHD_PID")
fetchd=$(pgrep -P "$spawner" -f berth-fetchd)
check "a fetch stalls mid-blob" fetch_stalled
kill -KILL "$fetchd"
echo '{}' >"$control"
wait_for 30 sh -c "p=\$(pgrep -P $spawner -f berth-fetchd) &&
    [ -n \"\$p\" ] && [ \"\$p\" != $fetchd ]"
check "berth-fetchd is restarted after kill -9" \
    sh -c "pgrep -P $spawner -f berth-fetchd | grep -vqx $fetchd"
check "... nothing of the blob it was fetching is stored" \
    blob_absent "$big"
wait_for 30 sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' \
    '$bigurl')\" = 200 ]"
check "a later pull fetches the whole blob" sh -c \
    "curl -sf '$bigurl' | cmp -s - '$T_TMP/$big'"

# --- kill -9 of berthd during a fetch ----------------------------------------
make_image "$T_TMP/big2" v2 1 4000000
push_image "$T_TMP/big2" v2 "127.0.0.1:$UP/library/big"
big=$(upstream_layer library/big v2)
bigurl=$URL/v2/gl/library/big/blobs/$big
curl -sf -o /dev/null "$URL/v2/gl/library/big/manifests/v2"
blobd=$(pgrep -P "$spawner" -f berth-blobd)
fetchd=$(pgrep -P "$spawner" -f berth-fetchd)
check "another fetch stalls mid-blob" fetch_stalled
kill -KILL "$BERTHD_PID"
echo '{}' >"$control"
gone() { ! kill -0 "$1" 2>/dev/null; }
wait_for 30 gone "$blobd"
wait_for 30 gone "$fetchd"
check "berth-blobd and berth-fetchd end with their berthd" \
    sh -c "! kill -0 $blobd 2>/dev/null && ! kill -0 $fetchd 2>/dev/null"
run_berthd
bigurl=$URL/v2/gl/library/big/blobs/$big
check "after the restart nothing of the blob is stored" \
    blob_absent "$big"
check "a pull fetches the whole blob" sh -c \
    "curl -sf '$bigurl' | cmp -s - '$T_TMP/$big'"
check "... now held" blob_in_store "$big"
t_summary
