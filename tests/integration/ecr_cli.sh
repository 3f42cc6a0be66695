#!/usr/bin/env bash
# The ECR API driven by the AWS CLI v2 (Debian's awscli, /usr/bin/aws)
# against a real berthd from the build tree: success shapes and the
# exception names of the error cases, server-side pagination, the login
# password.  BERTHD and BLOBD name the binaries.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
BERTHD=${BERTHD:-$top/build/daemon/berthd}
BLOBD=${BLOBD:-$top/build/blobd/berth-blobd}
AWS=${AWS:-/usr/bin/aws}

tmp=$(mktemp -d /tmp/berth-cli.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
endpoint=http://127.0.0.1:$port
passed=0
failed=0

"$BERTHD" --blobd "$BLOBD" --listen "127.0.0.1:$port" \
    --data-dir "$tmp/data" >"$tmp/berthd.log" 2>&1 &
pid=$!
cleanup() {
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	if [ "$failed" = 0 ]; then rm -rf "$tmp"; else
		echo "berthd log and data kept in $tmp"; fi
}
trap cleanup EXIT
for _ in $(seq 100); do
	curl -s -o /dev/null "$endpoint/v2/" && break
	sleep 0.05
done

# Isolated client configuration with fake keys.
export AWS_CONFIG_FILE=$tmp/config AWS_SHARED_CREDENTIALS_FILE=$tmp/credentials
export AWS_PAGER="" AWS_MAX_ATTEMPTS=1 AWS_REGION=us-east-1
export AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=secret
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN
printf '[default]\nregion = us-east-1\noutput = json\n' >"$AWS_CONFIG_FILE"
: >"$AWS_SHARED_CREDENTIALS_FILE"

ecr() {
	"$AWS" --endpoint-url "$endpoint" --output json ecr "$@"
}

check() {
	local name=$1
	shift
	if "$@"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "FAIL: $name"
	fi
}

# expect_error NAME EXCEPTION aws-args...: the call fails with that
# exception.
expect_error() {
	local name=$1 exc=$2 out
	shift 2
	if out=$(ecr "$@" 2>&1); then
		failed=$((failed + 1))
		echo "FAIL: $name: succeeded: $out"
	elif grep -q "($exc)" <<<"$out"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "FAIL: $name: $out"
	fi
}

jqcheck() {
	local name=$1 filter=$2 json=$3
	if [ -n "$json" ] && jq -e "$filter" >/dev/null 2>&1 <<<"$json"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "FAIL: $name: $filter on $json"
	fi
}

sha() {
	echo "sha256:$(sha256sum "$1" | cut -d' ' -f1)"
}

# Uploads a file as a layer through the layer API; prints its digest.
upload() {
	local repo=$1 file=$2 id size digest
	id=$(ecr initiate-layer-upload --repository-name "$repo" |
	    jq -r .uploadId)
	size=$(stat -c %s "$file")
	ecr upload-layer-part --repository-name "$repo" --upload-id "$id" \
	    --part-first-byte 0 --part-last-byte $((size - 1)) \
	    --layer-part-blob "fileb://$file" >/dev/null || return 1
	digest=$(sha "$file")
	ecr complete-layer-upload --repository-name "$repo" --upload-id "$id" \
	    --layer-digests "$digest" >/dev/null || return 1
	echo "$digest"
}

# --- repositories -----------------------------------------------------------
out=$(ecr create-repository --repository-name team/app \
    --image-tag-mutability IMMUTABLE --tags Key=env,Value=dev)
jqcheck "create" '.repository.repositoryArn ==
    "arn:aws:ecr:us-east-1:000000000000:repository/team/app" and
    .repository.imageTagMutability == "IMMUTABLE" and
    .repository.encryptionConfiguration.encryptionType == "AES256" and
    .repository.createdAt != null' "$out"
jqcheck "create uri" ".repository.repositoryUri == \"127.0.0.1:$port/team/app\"" "$out"
expect_error "create twice" RepositoryAlreadyExistsException \
    create-repository --repository-name team/app
expect_error "create invalid" InvalidParameterException \
    create-repository --repository-name Team/App
for i in $(seq -w 1 12); do
	ecr create-repository --repository-name "page/r$i" >/dev/null
done
out=$(ecr describe-repositories --max-results 5 --no-paginate)
jqcheck "describe page" '(.repositories | length) == 5 and .nextToken' "$out"
token=$(jq -r .nextToken <<<"$out")
out=$(ecr describe-repositories --max-results 5 --next-token "$token" \
    --no-paginate)
jqcheck "describe next page" '(.repositories | length) == 5 and
    .repositories[0].repositoryName == "page/r06"' "$out"
out=$(ecr describe-repositories)
jqcheck "describe all" '(.repositories | length) == 13' "$out"
expect_error "describe missing" RepositoryNotFoundException \
    describe-repositories --repository-names nope
expect_error "max results" InvalidParameterException \
    describe-repositories --max-results 1001 --no-paginate
out=$(ecr put-image-tag-mutability --repository-name page/r01 \
    --image-tag-mutability IMMUTABLE)
jqcheck "put mutability" '.imageTagMutability == "IMMUTABLE"' "$out"
out=$(ecr put-image-scanning-configuration --repository-name page/r01 \
    --image-scanning-configuration scanOnPush=true)
jqcheck "put scanning" '.imageScanningConfiguration.scanOnPush == true' "$out"

# --- layers and images -------------------------------------------------------
printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}' >"$tmp/config.json"
head -c 300000 /dev/urandom >"$tmp/layer.bin"
cdig=$(upload team/app "$tmp/config.json")
ldig=$(upload team/app "$tmp/layer.bin")
check "layers uploaded" test -n "$cdig" -a -n "$ldig"
out=$(ecr batch-check-layer-availability --repository-name team/app \
    --layer-digests "$ldig" "sha256:$(printf %064d 0)")
jqcheck "check layers" '.layers[0].layerAvailability == "AVAILABLE" and
    .layers[0].layerSize == 300000 and
    .layers[1].layerAvailability == "UNAVAILABLE"' "$out"
expect_error "layer exists" LayerAlreadyExistsException complete-layer-upload \
    --repository-name team/app --layer-digests "$ldig" --upload-id \
    "$(ecr initiate-layer-upload --repository-name team/app | jq -r .uploadId)"
cat >"$tmp/manifest.json" <<EOF
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"$cdig","size":$(stat -c %s "$tmp/config.json")},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"$ldig","size":300000}]}
EOF
mdig=$(sha "$tmp/manifest.json")
out=$(ecr put-image --repository-name team/app --image-tag v1 \
    --image-manifest "file://$tmp/manifest.json")
jqcheck "put image" ".image.imageId.imageDigest == \"$mdig\" and
    .image.imageId.imageTag == \"v1\"" "$out"
expect_error "put again" ImageAlreadyExistsException put-image \
    --repository-name team/app --image-tag v1 \
    --image-manifest "file://$tmp/manifest.json"
sed 's/"size":300000/"size":300001/' "$tmp/manifest.json" >"$tmp/m2.json"
expect_error "immutable tag" ImageTagAlreadyExistsException put-image \
    --repository-name team/app --image-tag v1 \
    --image-manifest "file://$tmp/m2.json"
expect_error "digest mismatch" ImageDigestDoesNotMatchException put-image \
    --repository-name team/app --image-tag v2 --image-digest "$cdig" \
    --image-manifest "file://$tmp/m2.json"
sed "s/$ldig/sha256:$(printf %064d 1)/" "$tmp/manifest.json" >"$tmp/m3.json"
expect_error "missing layer" LayersNotFoundException put-image \
    --repository-name team/app --image-manifest "file://$tmp/m3.json"
out=$(ecr batch-get-image --repository-name team/app \
    --image-ids imageTag=v1 imageTag=nope)
jqcheck "batch get" ".images[0].imageId.imageDigest == \"$mdig\" and
    .failures[0].failureCode == \"ImageNotFound\"" "$out"
check "batch get bytes" test "$(jq -r '.images[0].imageManifest' <<<"$out")" = \
    "$(cat "$tmp/manifest.json")"
out=$(ecr describe-images --repository-name team/app)
jqcheck "describe images" ".imageDetails[0].imageDigest == \"$mdig\" and
    .imageDetails[0].imageSizeInBytes == 300000 and
    .imageDetails[0].imageTags == [\"v1\"] and
    .imageDetails[0].lastRecordedPullTime != null" "$out"
expect_error "describe missing image" ImageNotFoundException describe-images \
    --repository-name team/app --image-ids imageTag=nope
out=$(ecr list-images --repository-name team/app)
jqcheck "list images" ".imageIds == [{\"imageDigest\":\"$mdig\",\"imageTag\":\"v1\"}]" "$out"
out=$(ecr get-download-url-for-layer --repository-name team/app \
    --layer-digest "$ldig")
url=$(jq -r .downloadUrl <<<"$out")
check "download url serves" cmp -s <(curl -sf "$url") "$tmp/layer.bin"
out=$(ecr batch-delete-image --repository-name team/app \
    --image-ids imageTag=v1 imageTag=nope)
jqcheck "batch delete" ".imageIds[0].imageDigest == \"$mdig\" and
    .failures[0].failureCode == \"ImageNotFound\"" "$out"
out=$(ecr list-images --repository-name team/app)
jqcheck "deleted" '.imageIds == []' "$out"

# --- tags, policies, registry -------------------------------------------------
arn=arn:aws:ecr:us-east-1:000000000000:repository/team/app
ecr tag-resource --resource-arn "$arn" --tags Key=team,Value=core >/dev/null
out=$(ecr list-tags-for-resource --resource-arn "$arn")
jqcheck "tags" '.tags == [{"Key":"env","Value":"dev"},{"Key":"team","Value":"core"}]' "$out"
ecr untag-resource --resource-arn "$arn" --tag-keys env >/dev/null
out=$(ecr list-tags-for-resource --resource-arn "$arn")
jqcheck "untag" '.tags == [{"Key":"team","Value":"core"}]' "$out"
expect_error "tag invalid" InvalidTagParameterException tag-resource \
    --resource-arn "$arn" --tags Key=aws:x,Value=y
policy='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"ecr:BatchGetImage"}]}'
out=$(ecr set-repository-policy --repository-name team/app \
    --policy-text "$policy")
jqcheck "set policy" '.policyText | fromjson | .Statement[0].Effect == "Allow"' "$out"
out=$(ecr get-repository-policy --repository-name team/app)
jqcheck "get policy" '.repositoryName == "team/app"' "$out"
ecr delete-repository-policy --repository-name team/app >/dev/null
expect_error "policy gone" RepositoryPolicyNotFoundException \
    get-repository-policy --repository-name team/app
expect_error "policy invalid" InvalidParameterException set-repository-policy \
    --repository-name team/app --policy-text '{"Statement":"x"}'
out=$(ecr describe-registry)
jqcheck "describe registry" '.registryId == "000000000000" and
    .replicationConfiguration.rules == []' "$out"
expect_error "unimplemented" UnknownOperationException get-lifecycle-policy \
    --repository-name team/app

# --- login password -----------------------------------------------------------
pw=$(ecr get-login-password)
check "login password" curl -sf -o /dev/null -u "AWS:$pw" "$endpoint/v2/"
check "wrong password" test "$(curl -s -o /dev/null -w '%{http_code}' \
    -u "AWS:${pw}x" "$endpoint/v2/")" = 401
out=$(ecr get-authorization-token)
jqcheck "proxy endpoint" ".authorizationData[0].proxyEndpoint == \"http://127.0.0.1:$port\"" "$out"

# --- delete -----------------------------------------------------------------
expect_error "delete missing" RepositoryNotFoundException delete-repository \
    --repository-name nope
out=$(ecr delete-repository --repository-name team/app --force)
jqcheck "delete" '.repository.repositoryName == "team/app"' "$out"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
