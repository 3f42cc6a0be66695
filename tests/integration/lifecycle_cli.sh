#!/usr/bin/env bash
# The lifecycle operations added after the first ones, driven by the AWS
# CLI v2 (Debian's awscli) against a real berthd with --credentials naming
# each key's principal: pull time update exclusions and their effect on
# lastRecordedPullTime, and ListImageReferrers over artifacts pushed with
# curl through the registry API.  Debian's CLI (2.9) predates these operations, so
# it is given the API model of the machine's newer botocore through
# AWS_DATA_PATH, as a user with an older CLI would.
# BERTHD and BLOBD name the binaries.
. "$(dirname "$0")/common.bash"

AWS=${AWS:-/usr/bin/aws}
ACCOUNT=111122223333
SCANNER=arn:aws:iam::$ACCOUNT:role/scanner

model=$(python3 -c 'import botocore, os
print(os.path.join(os.path.dirname(botocore.__file__), "data/ecr/2015-09-21"))')
mkdir -p "$T_TMP/models/ecr/2015-09-21"
zcat "$model/service-2.json.gz" >"$T_TMP/models/ecr/2015-09-21/service-2.json"
cp "$model/paginators-1.json" "$model/waiters-2.json" \
    "$T_TMP/models/ecr/2015-09-21/"
export AWS_DATA_PATH=$T_TMP/models
export AWS_CONFIG_FILE=$T_TMP/config AWS_SHARED_CREDENTIALS_FILE=$T_TMP/creds
export AWS_PAGER="" AWS_MAX_ATTEMPTS=1 AWS_REGION=us-east-1
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN AWS_ACCESS_KEY_ID \
    AWS_SECRET_ACCESS_KEY
: >"$AWS_CONFIG_FILE"
: >"$AWS_SHARED_CREDENTIALS_FILE"

printf '%s\n' "AKIDSCANNER s1 $SCANNER" \
    "AKIDDEV s2 $ACCOUNT arn:aws:iam::$ACCOUNT:user/dev" >"$T_TMP/keys"
start_berthd "$T_TMP/data" --credentials "$T_TMP/keys" || exit 1

# as KEY SECRET ecr-args...
as() {
	local key=$1 secret=$2
	shift 2
	AWS_ACCESS_KEY_ID=$key AWS_SECRET_ACCESS_KEY=$secret "$AWS" \
	    --endpoint-url "$URL" --output json ecr "$@"
}
dev() { as AKIDDEV s2 "$@"; }
scanner() { as AKIDSCANNER s1 "$@"; }

# fails_with NAME EXCEPTION command...: the command fails with it.
fails_with() {
	local name=$1 exc=$2 out
	shift 2
	if out=$("$@" 2>&1); then
		fail "$name: succeeded: $out"
	elif grep -q "($exc)" <<<"$out"; then
		ok "$name"
	else
		fail "$name: $out"
	fi
}

# jqcheck NAME FILTER JSON
jqcheck() {
	if jq -e "$2" <<<"$3" >/dev/null; then ok "$1"; else fail "$1: $3"; fi
}

# --- pull time update exclusions ----------------------------------------------
fails_with "root refused" ValidationException dev \
    register-pull-time-update-exclusion --principal-arn \
    "arn:aws:iam::$ACCOUNT:root"
out=$(dev register-pull-time-update-exclusion --principal-arn "$SCANNER")
jqcheck "register" ".principalArn == \"$SCANNER\" and .createdAt > 0" "$out"
fails_with "register twice" ExclusionAlreadyExistsException dev \
    register-pull-time-update-exclusion --principal-arn "$SCANNER"
for i in 1 2 3; do
	dev register-pull-time-update-exclusion --principal-arn \
	    "arn:aws:iam::$ACCOUNT:user/u$i" >/dev/null
done
# The CLI has no paginator for it: pages followed by hand.
out=$(dev list-pull-time-update-exclusions --max-results 3)
jqcheck "first page" '(.pullTimeUpdateExclusions | length) == 3 and
    .nextToken != null' "$out"
out=$(dev list-pull-time-update-exclusions --max-results 3 \
    --next-token "$(jq -r .nextToken <<<"$out")")
# In ARN order: role/scanner, user/u1, user/u2, then user/u3.
jqcheck "last page" ".pullTimeUpdateExclusions == [
    \"arn:aws:iam::$ACCOUNT:user/u3\"] and .nextToken == null" "$out"
out=$(dev deregister-pull-time-update-exclusion --principal-arn \
    "arn:aws:iam::$ACCOUNT:user/u1")
jqcheck "deregister" '.principalArn | endswith(":user/u1")' "$out"
fails_with "deregister twice" ExclusionNotFoundException dev \
    deregister-pull-time-update-exclusion --principal-arn \
    "arn:aws:iam::$ACCOUNT:user/u1"

# Pulls: the scanner's leave lastRecordedPullTime alone.
dev create-repository --repository-name pulls >/dev/null
printf 'a layer\n' >"$T_TMP/layer"
digest=sha256:$(sha256_of "$T_TMP/layer")
up=$(dev initiate-layer-upload --repository-name pulls | jq -r .uploadId)
dev upload-layer-part --repository-name pulls --upload-id "$up" \
    --part-first-byte 0 --part-last-byte 7 \
    --layer-part-blob "fileb://$T_TMP/layer" >/dev/null
dev complete-layer-upload --repository-name pulls --upload-id "$up" \
    --layer-digests "$digest" >/dev/null
manifest=$(jq -cn --arg d "$digest" '{schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: {mediaType: "application/vnd.oci.image.config.v1+json",
    digest: $d, size: 8}, layers: [{mediaType:
    "application/vnd.oci.image.layer.v1.tar", digest: $d, size: 8}]}')
image=$(dev put-image --repository-name pulls --image-tag v1 \
    --image-manifest "$manifest" | jq -r .image.imageId.imageDigest)
pulled() {
	dev describe-images --repository-name pulls --image-ids \
	    "imageDigest=$image" |
	    jq -r '.imageDetails[0].lastRecordedPullTime // "never"'
}
scanner batch-get-image --repository-name pulls --image-ids imageTag=v1 \
    >/dev/null
check "scanner's pull not recorded" test "$(pulled)" = never
dev batch-get-image --repository-name pulls --image-ids imageTag=v1 >/dev/null
check "developer's pull recorded" test "$(pulled)" != never

# --- ListImageReferrers --------------------------------------------------------
# The developer's registry password: the repository is in its account.
basic="Authorization: Basic $(dev get-authorization-token |
    jq -r '.authorizationData[0].authorizationToken')"
# push_blob REPO FILE: a monolithic upload through /v2/; prints the digest.
push_blob() {
	local d loc
	d=sha256:$(sha256_of "$2")
	loc=$(curl -sf -D - -o /dev/null -H "$basic" -X POST \
	    "$URL/v2/$1/blobs/uploads/" |
	    tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
	case $loc in *\?*) loc="$loc&" ;; *) loc="$loc?" ;; esac
	curl -sf -X PUT -H "$basic" -H 'Content-Type: application/octet-stream' \
	    --data-binary "@$2" "${loc}digest=$d" -o /dev/null && echo "$d"
}
printf '{}' >"$T_TMP/empty"
empty=$(push_blob pulls "$T_TMP/empty")
for kind in sbom signature; do
	printf '%s of v1\n' "$kind" >"$T_TMP/$kind"
	blob=$(push_blob pulls "$T_TMP/$kind")
	jq -cn --arg e "$empty" --arg b "$blob" --arg s "$image" \
	    --arg t "application/vnd.example.$kind" --argjson n \
	    "$(stat -c %s "$T_TMP/$kind")" --argjson m "${#manifest}" '{
	    schemaVersion: 2,
	    mediaType: "application/vnd.oci.image.manifest.v1+json",
	    artifactType: $t, config: {mediaType:
	    "application/vnd.oci.empty.v1+json", digest: $e, size: 2},
	    layers: [{mediaType: "text/plain", digest: $b, size: $n}],
	    subject: {mediaType: "application/vnd.oci.image.manifest.v1+json",
	    digest: $s, size: $m}, annotations: {kind: $t}}' |
	    tr -d '\n' >"$T_TMP/$kind.json"
	check "push $kind" curl -sf -X PUT -o /dev/null -H "$basic" -H \
	    'Content-Type: application/vnd.oci.image.manifest.v1+json' \
	    --data-binary "@$T_TMP/$kind.json" \
	    "$URL/v2/pulls/manifests/$kind"
done
out=$(dev list-image-referrers --repository-name pulls \
    --subject-id "imageDigest=$image")
jqcheck "both referrers" '[.referrers[].artifactType] | sort ==
    ["application/vnd.example.sbom", "application/vnd.example.signature"]' \
    "$out"
jqcheck "descriptor" ".referrers[] | select(.artifactType |
    endswith(\"sbom\")) | .size == $(stat -c %s "$T_TMP/sbom.json") and
    .artifactStatus == \"ACTIVE\" and
    .annotations.kind == \"application/vnd.example.sbom\"" "$out"
out=$(dev list-image-referrers --repository-name pulls \
    --subject-id "imageDigest=$image" \
    --filter 'artifactTypes=application/vnd.example.signature')
jqcheck "type filter" '(.referrers | length) == 1' "$out"
out=$(dev list-image-referrers --repository-name pulls \
    --subject-id "imageDigest=$image" --max-results 1)
jqcheck "a page" '(.referrers | length) == 1 and .nextToken != null' "$out"
fails_with "referrers of a missing repository" RepositoryNotFoundException \
    dev list-image-referrers --repository-name nope \
    --subject-id "imageDigest=$image"

t_summary
