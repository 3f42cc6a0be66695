#!/usr/bin/env bash
# The ECR API driven by the AWS CLI v2 (Debian's awscli, /usr/bin/aws)
# against a real berthd from the build tree: success shapes and the
# exception names of the error cases, server-side pagination and the
# CLI's own (--page-size, --max-items), lifecycle policies and the preview
# waiter, the login password and its
# survival across a restart, signature verification (--credentials).
# BERTHD and BLOBD name the binaries.
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
sigpid=
cleanup() {
	kill "$pid" $sigpid 2>/dev/null
	wait "$pid" $sigpid 2>/dev/null
	if [ "$failed" = 0 ]; then rm -rf "$tmp"; else
		echo "berthd log and data kept in $tmp"; fi
}
trap cleanup EXIT
for _ in $(seq 600); do
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

# expect_fail NAME EXCEPTION command...: the command fails with that
# exception; its output is left in $last.
expect_fail() {
	local name=$1 exc=$2
	shift 2
	if last=$("$@" 2>&1); then
		failed=$((failed + 1))
		echo "FAIL: $name: succeeded: $last"
	elif grep -q "($exc)" <<<"$last"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "FAIL: $name: $last"
	fi
}

# expect_error NAME EXCEPTION aws-args...: the call fails with that
# exception.
expect_error() {
	local name=$1 exc=$2
	shift 2
	expect_fail "$name" "$exc" ecr "$@"
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

# How many requests berthd has logged so far (one ACCESS line each).
requests() {
	grep -c ' ACCESS ' "$tmp/berthd.log"
}

# The same, once a marker request sent last is in the log: so the lines of
# the requests before it are all there however loaded the machine is.  The
# count includes the marker.
logged_requests() {
	local mark=/v2/mark$RANDOM$RANDOM/tags/list
	curl -s -o /dev/null "$endpoint$mark"
	for _ in $(seq 600); do
		grep -q "\"GET $mark\"" "$tmp/berthd.log" && break
		sleep 0.05
	done
	requests
}

# start_berthd: (re)starts berthd on $port and $tmp/data; sets pid.
start_berthd() {
	"$BERTHD" --blobd "$BLOBD" --listen "127.0.0.1:$port" \
	    --data-dir "$tmp/data" "$@" >>"$tmp/berthd.log" 2>&1 &
	pid=$!
	for _ in $(seq 600); do
		curl -s -o /dev/null "$endpoint/v2/" && return 0
		sleep 0.05
	done
	return 1
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
expect_error "delete not empty" RepositoryNotEmptyException \
    delete-repository --repository-name team/app
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%064d","size":500,"platform":{"architecture":"amd64","os":"linux"}}]}' 2 >"$tmp/index.json"
expect_error "index missing child" ReferencedImagesNotFoundException \
    put-image --repository-name team/app --image-tag idx \
    --image-manifest "file://$tmp/index.json"

# Layer upload errors: parts out of order or of the wrong size, a wrong
# digest, unknown and empty uploads, a layer no image uses.
head -c 30 /dev/urandom >"$tmp/part.bin"
head -c 10 "$tmp/part.bin" >"$tmp/part1"
tail -c +11 "$tmp/part.bin" | head -c 10 >"$tmp/part2"
tail -c +21 "$tmp/part.bin" >"$tmp/part3"
id=$(ecr initiate-layer-upload --repository-name team/app | jq -r .uploadId)
out=$(ecr upload-layer-part --repository-name team/app --upload-id "$id" \
    --part-first-byte 0 --part-last-byte 9 \
    --layer-part-blob "fileb://$tmp/part1")
jqcheck "part" ".lastByteReceived == 9 and .uploadId == \"$id\" and
    .repositoryName == \"team/app\" and .registryId == \"000000000000\"" "$out"
expect_error "part not contiguous" InvalidLayerPartException \
    upload-layer-part --repository-name team/app --upload-id "$id" \
    --part-first-byte 20 --part-last-byte 29 \
    --layer-part-blob "fileb://$tmp/part3"
expect_error "part range mismatch" InvalidLayerPartException \
    upload-layer-part --repository-name team/app --upload-id "$id" \
    --part-first-byte 10 --part-last-byte 14 \
    --layer-part-blob "fileb://$tmp/part2"
out=$(ecr upload-layer-part --repository-name team/app --upload-id "$id" \
    --part-first-byte 10 --part-last-byte 19 \
    --layer-part-blob "fileb://$tmp/part2")
jqcheck "part after refused ones" '.lastByteReceived == 19' "$out"
ecr upload-layer-part --repository-name team/app --upload-id "$id" \
    --part-first-byte 20 --part-last-byte 29 \
    --layer-part-blob "fileb://$tmp/part3" >/dev/null
expect_error "complete wrong digest" InvalidLayerException \
    complete-layer-upload --repository-name team/app --upload-id "$id" \
    --layer-digests "$(sha "$tmp/part1")"
out=$(ecr complete-layer-upload --repository-name team/app --upload-id "$id" \
    --layer-digests "$(sha "$tmp/part.bin")")
jqcheck "complete after wrong digest" ".layerDigest == \"$(sha "$tmp/part.bin")\"" "$out"
expect_error "layer not in an image" LayerInaccessibleException \
    get-download-url-for-layer --repository-name team/app \
    --layer-digest "$(sha "$tmp/part.bin")"
expect_error "layer unknown" LayersNotFoundException \
    get-download-url-for-layer --repository-name team/app \
    --layer-digest "sha256:$(printf %064d 3)"
ghost=0f3e4d5c-1a2b-4c3d-8e9f-0a1b2c3d4e5f
expect_error "upload not found (part)" UploadNotFoundException \
    upload-layer-part --repository-name team/app --upload-id "$ghost" \
    --part-first-byte 0 --part-last-byte 9 \
    --layer-part-blob "fileb://$tmp/part1"
expect_error "upload not found (complete)" UploadNotFoundException \
    complete-layer-upload --repository-name team/app --upload-id "$ghost" \
    --layer-digests "$(sha "$tmp/part1")"
id=$(ecr initiate-layer-upload --repository-name team/app | jq -r .uploadId)
expect_error "empty upload" EmptyUploadException complete-layer-upload \
    --repository-name team/app --upload-id "$id" \
    --layer-digests "$(sha /dev/null)"
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

# --- multi-page listings, batch failures --------------------------------------
# Five images in one repository; the CLI follows nextToken itself with
# --page-size, and hands out its own NextToken with --max-items.
ecr create-repository --repository-name cli/pages >/dev/null
pc=$(upload cli/pages "$tmp/config.json")
pl=$(upload cli/pages "$tmp/layer.bin")
check "pages layers" test "$pc" = "$cdig" -a "$pl" = "$ldig"
pdig=()
for i in 0 1 2 3 4; do
	sed "s/}\$/,\"annotations\":{\"n\":\"$i\"}}/" "$tmp/manifest.json" \
	    >"$tmp/pm$i.json"
	pdig[i]=$(ecr put-image --repository-name cli/pages --image-tag "p$i" \
	    --image-manifest "file://$tmp/pm$i.json" |
	    jq -r .image.imageId.imageDigest)
done
check "pages images" test "${pdig[4]}" = "$(sha "$tmp/pm4.json")" -a \
    "${pdig[0]}" != "${pdig[1]}"
n0=$(logged_requests)
out=$(ecr list-images --repository-name cli/pages --page-size 2)
jqcheck "list paginated" '([.imageIds[].imageTag] | sort) ==
    ["p0","p1","p2","p3","p4"] and .NextToken == null' "$out"
check "list paginated in 3 requests" \
    test $(($(logged_requests) - n0 - 1)) = 3
n0=$(logged_requests)
out=$(ecr describe-images --repository-name cli/pages --page-size 2)
jqcheck "describe paginated" '(.imageDetails | length) == 5 and
    ([.imageDetails[].imageDigest] | unique | length) == 5 and
    ([.imageDetails[].imageTags[]] | sort) == ["p0","p1","p2","p3","p4"]' "$out"
check "describe paginated in 3 requests" \
    test $(($(logged_requests) - n0 - 1)) = 3
out=$(ecr list-images --repository-name cli/pages --max-items 3 --page-size 2)
jqcheck "list max items" '(.imageIds | length) == 3 and
    (.NextToken | type) == "string"' "$out"
first=$(jq -c '[.imageIds[].imageTag]' <<<"$out")
out=$(ecr list-images --repository-name cli/pages --page-size 2 \
    --starting-token "$(jq -r .NextToken <<<"$out")")
jqcheck "list starting token" "(.imageIds | length) == 2 and
    .NextToken == null and
    ($first + [.imageIds[].imageTag] | sort) == [\"p0\",\"p1\",\"p2\",\"p3\",\"p4\"]" "$out"
out=$(ecr describe-images --repository-name cli/pages --max-items 2)
jqcheck "describe max items" '(.imageDetails | length) == 2 and
    (.NextToken | type) == "string"' "$out"
first=$(jq -c '[.imageDetails[].imageDigest]' <<<"$out")
out=$(ecr describe-images --repository-name cli/pages \
    --starting-token "$(jq -r .NextToken <<<"$out")")
jqcheck "describe starting token" "(.imageDetails | length) == 3 and
    ($first + [.imageDetails[].imageDigest] | unique | length) == 5" "$out"

# An index over p0: the image under it cannot be deleted alone.
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%d,"platform":{"architecture":"amd64","os":"linux"}}]}' \
    "${pdig[0]}" "$(stat -c %s "$tmp/pm0.json")" >"$tmp/pindex.json"
out=$(ecr put-image --repository-name cli/pages --image-tag multi \
    --image-manifest "file://$tmp/pindex.json")
jqcheck "put index" '.image.imageManifestMediaType ==
    "application/vnd.oci.image.index.v1+json"' "$out"
out=$(ecr batch-get-image --repository-name cli/pages --image-ids \
    "imageTag=p1,imageDigest=${pdig[2]}" imageDigest=sha256:zz \
    "imageTag=p3,imageDigest=${pdig[3]}")
jqcheck "batch get failures" "([.failures[].failureCode] | sort) ==
    [\"ImageTagDoesNotMatchDigest\", \"InvalidImageDigest\"] and
    (.failures[] | select(.failureCode == \"ImageTagDoesNotMatchDigest\") |
     .imageId) == {\"imageTag\":\"p1\",\"imageDigest\":\"${pdig[2]}\"} and
    (.images | length) == 1 and .images[0].imageId.imageTag == \"p3\"" "$out"
out=$(ecr batch-get-image --repository-name cli/pages --image-ids '[{}]')
jqcheck "batch get missing both" '.failures[0].failureCode ==
    "MissingDigestAndTag" and .images == []' "$out"
out=$(ecr batch-delete-image --repository-name cli/pages --image-ids \
    "imageTag=p1,imageDigest=${pdig[2]}" imageDigest=sha256:zz \
    "imageDigest=${pdig[0]}")
jqcheck "batch delete failures" '.imageIds == [] and
    ([.failures[].failureCode] | sort) == ["ImageReferencedByManifestList",
    "ImageTagDoesNotMatchDigest", "InvalidImageDigest"]' "$out"
out=$(ecr list-images --repository-name cli/pages)
jqcheck "batch delete failures delete nothing" '(.imageIds | length) == 6' "$out"
out=$(ecr batch-delete-image --repository-name cli/pages --image-ids \
    "imageTag=p4,imageDigest=${pdig[4]}")
jqcheck "batch delete tag and digest" ".imageIds == [{\"imageDigest\":
    \"${pdig[4]}\",\"imageTag\":\"p4\"}] and .failures == []" "$out"

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
# 50 tags a resource, as ECR allows.
many=()
for i in $(seq 49); do many+=("Key=k$i,Value=v"); done
ecr tag-resource --resource-arn "$arn" --tags "${many[@]}" >/dev/null
out=$(ecr list-tags-for-resource --resource-arn "$arn")
jqcheck "50 tags" '(.tags | length) == 50' "$out"
expect_error "too many tags" TooManyTagsException tag-resource \
    --resource-arn "$arn" --tags Key=one,Value=more
out=$(ecr list-tags-for-resource --resource-arn "$arn")
jqcheck "too many tags changes nothing" '(.tags | length) == 50 and
    ([.tags[].Key] | index("one")) == null' "$out"
many+=("Key=k50,Value=v" "Key=k51,Value=v")
expect_error "create too many tags" TooManyTagsException create-repository \
    --repository-name cli/tags --tags "${many[@]}"
expect_error "too many tags created nothing" RepositoryNotFoundException \
    describe-repositories --repository-names cli/tags
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
# An operation the API model lacks: the CLI is given its own model plus one
# (AWS_DATA_PATH), and berth answers AWS's UnknownOperationException.
mkdir -p "$tmp/models/ecr/2015-09-21"
python3 - "$tmp/models/ecr/2015-09-21/service-2.json" <<'PY'
import json, sys
d = "/usr/lib/python3/dist-packages/awscli/botocore/data/ecr/2015-09-21/"
m = json.load(open(d + "service-2.json"))
m["operations"]["DescribeBerthNothing"] = dict(
    m["operations"]["DescribeRegistry"], name="DescribeBerthNothing")
json.dump(m, open(sys.argv[1], "w"))
PY
AWS_DATA_PATH=$tmp/models expect_error "an operation not in the model" \
    UnknownOperationException describe-berth-nothing

# --- lifecycle policies and their preview -------------------------------------
life='{"rules":[{"rulePriority":1,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1000},"action":{"type":"expire"}}]}'
expect_error "no lifecycle policy" LifecyclePolicyNotFoundException \
    get-lifecycle-policy --repository-name team/app
expect_error "lifecycle policy invalid" InvalidParameterException \
    put-lifecycle-policy --repository-name team/app --lifecycle-policy-text \
    "${life/\"countNumber\":1000/\"countNumber\":0}"
grep -q "Lifecycle policy validation failure" <<<"$last"
check "lifecycle policy invalid: AWS's message" test $? = 0
out=$(ecr put-lifecycle-policy --repository-name team/app \
    --lifecycle-policy-text "$life")
jqcheck "put lifecycle policy" '.repositoryName == "team/app" and
    (.lifecyclePolicyText | fromjson | .rules[0].rulePriority) == 1' "$out"
out=$(ecr start-lifecycle-policy-preview --repository-name team/app)
jqcheck "start preview" '.status == "IN_PROGRESS"' "$out"
check "preview waiter" ecr wait lifecycle-policy-preview-complete \
    --repository-name team/app
out=$(ecr get-lifecycle-policy-preview --repository-name team/app)
jqcheck "preview" '.status == "COMPLETE" and
    (.previewResults | length) == .summary.expiringImageTotalCount' "$out"
out=$(curl -s -X POST "$endpoint/_berth/lifecycle/run?repository=team/app")
jqcheck "lifecycle run" '.repositories[0].repository == "team/app"' "$out"
out=$(ecr get-lifecycle-policy --repository-name team/app)
jqcheck "lastEvaluatedAt" '.lastEvaluatedAt != null' "$out"
out=$(ecr delete-lifecycle-policy --repository-name team/app)
jqcheck "delete lifecycle policy" '.lifecyclePolicyText != null' "$out"

# --- login password -----------------------------------------------------------
pw=$(ecr get-login-password)
check "login password" curl -sf -o /dev/null -u "AWS:$pw" "$endpoint/v2/"
check "wrong password" test "$(curl -s -o /dev/null -w '%{http_code}' \
    -u "AWS:${pw}x" "$endpoint/v2/")" = 401
out=$(ecr get-authorization-token)
jqcheck "proxy endpoint" ".authorizationData[0].proxyEndpoint == \"http://127.0.0.1:$port\"" "$out"
# The token outlives a restart on the same data (its key is in the
# metadata); one whose HMAC or payload is altered is refused.
check "token format" grep -Eq '^berth1\.[0-9a-f]+\.[0-9a-f]{64}$' <<<"$pw"
kill -TERM "$pid"
wait "$pid"
check "berthd stops on SIGTERM" test $? = 0
check "berthd restarts" start_berthd --require-auth
check "no token after restart" test "$(curl -s -o /dev/null -w '%{http_code}' \
    "$endpoint/v2/")" = 401
check "token after restart" test "$(curl -s -o /dev/null -w '%{http_code}' \
    -u "AWS:$pw" "$endpoint/v2/")" = 200
last_hex=${pw: -1}
bad_hmac=${pw%?}$([ "$last_hex" = 0 ] && echo 1 || echo 0)
check "token with altered HMAC" test "$(curl -s -o /dev/null \
    -w '%{http_code}' -u "AWS:$bad_hmac" "$endpoint/v2/")" = 401
payload=${pw#berth1.}
payload=${payload%%.*}
first_hex=${payload:0:1}
bad_payload=berth1.$([ "$first_hex" = 0 ] && echo 1 || echo 0)${payload:1}.${pw##*.}
check "token with altered payload" test "$(curl -s -o /dev/null \
    -w '%{http_code}' -u "AWS:$bad_payload" "$endpoint/v2/")" = 401
out=$(ecr describe-repositories --repository-names team/app)
jqcheck "data after restart" '.repositories[0].repositoryName == "team/app"' "$out"

# --- signatures ---------------------------------------------------------------
# A second berthd that verifies SigV4 against a credentials file.
printf '# test keys\nAKIDGOOD goodsecret\nAKIDACCT acctsecret 333333333333\n' \
    >"$tmp/creds"
sigport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BERTHD" --blobd "$BLOBD" --listen "127.0.0.1:$sigport" \
    --data-dir "$tmp/sigdata" --credentials "$tmp/creds" \
    >"$tmp/sig.log" 2>&1 &
sigpid=$!
for _ in $(seq 600); do
	curl -s -o /dev/null "http://127.0.0.1:$sigport/v2/" && break
	sleep 0.05
done
# signed KEY SECRET aws-args...
signed() {
	local key=$1 secret=$2
	shift 2
	AWS_ACCESS_KEY_ID=$key AWS_SECRET_ACCESS_KEY=$secret "$AWS" \
	    --endpoint-url "http://127.0.0.1:$sigport" --output json ecr "$@"
}
out=$(signed AKIDGOOD goodsecret describe-repositories)
jqcheck "signed accepted" '.repositories == []' "$out"
out=$(signed AKIDACCT acctsecret create-repository --repository-name signed)
jqcheck "signed write, key's account" '.repository.registryId ==
    "333333333333"' "$out"
expect_fail "wrong secret" InvalidSignatureException \
    signed AKIDGOOD badsecret describe-repositories
check "wrong secret message" grep -q "The request signature we calculated \
does not match the signature you provided" <<<"$last"
expect_fail "wrong secret on a write" InvalidSignatureException \
    signed AKIDGOOD badsecret create-repository --repository-name nope
expect_fail "unknown key" UnrecognizedClientException \
    signed AKIDNOBODY goodsecret describe-repositories
check "unknown key message" grep -q "The security token included in the \
request is invalid" <<<"$last"
expect_fail "unsigned" MissingAuthenticationTokenException \
    signed AKIDGOOD goodsecret describe-repositories --no-sign-request
out=$(signed AKIDGOOD goodsecret describe-repositories)
jqcheck "refused write wrote nothing" '.repositories == []' "$out"

# --- delete -----------------------------------------------------------------
expect_error "delete missing" RepositoryNotFoundException delete-repository \
    --repository-name nope
out=$(ecr delete-repository --repository-name team/app --force)
jqcheck "delete" '.repository.repositoryName == "team/app"' "$out"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
