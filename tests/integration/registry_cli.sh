#!/usr/bin/env bash
# The registry-wide ECR operations driven by the AWS CLI against a real
# berthd, with images pushed by skopeo: account settings, the registry
# policy, replication across regions and accounts with its status, the
# repository creation templates and create on push, managed signing with
# its status, and the error cases of each by exception name.  It needs an
# AWS CLI whose model has the 2024-2025 operations (the aws first on PATH
# on the development machines; Debian 12's /usr/bin/aws predates them).
# BERTHD and BLOBD name the binaries.
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.." || exit 1
. "$here/common.bash"

AWS=${AWS:-aws}
if ! "$AWS" ecr put-signing-configuration help >/dev/null 2>&1; then
	fail "the AWS CLI ($AWS) knows put-signing-configuration"
	t_summary
	exit 1
fi

export AWS_CONFIG_FILE=$T_TMP/config AWS_SHARED_CREDENTIALS_FILE=$T_TMP/creds
export AWS_PAGER="" AWS_MAX_ATTEMPTS=1 AWS_REGION=us-east-1
export AWS_SECRET_ACCESS_KEY=secret
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN
printf '[default]\nregion = us-east-1\noutput = json\n' >"$AWS_CONFIG_FILE"
: >"$AWS_SHARED_CREDENTIALS_FILE"

A=111111111111
B=222222222222

start_berthd "$T_TMP/data" --require-auth

# ecr ACCOUNT REGION args...: the CLI as that account in that region.
ecr() {
	local account=$1 region=$2
	shift 2
	AWS_ACCESS_KEY_ID=$account "$AWS" --endpoint-url "$URL" \
	    --region "$region" --output json ecr "$@"
}

# expect_error NAME EXCEPTION ACCOUNT REGION args...
expect_error() {
	local name=$1 exc=$2 out
	shift 2
	if out=$(ecr "$@" 2>&1); then
		fail "$name: succeeded: $out"
	elif grep -q "($exc)" <<<"$out"; then
		ok "$name"
	else
		fail "$name: $out"
	fi
}

# jqok NAME FILTER JSON
jqok() {
	if jq -e "$2" <<<"$3" >/dev/null 2>&1; then ok "$1"; else
		fail "$1: $3"; fi
}

# push ACCOUNT REGION REPO TAG SEED: an image built here, pushed by skopeo;
# prints its digest as the registry has it.
push() {
	local account=$1 region=$2 repo=$3 tag=$4 seed=$5 dir pw
	dir=$T_TMP/layout-$seed
	umoci init --layout "$dir" >/dev/null &&
	umoci new --image "$dir:x" >/dev/null &&
	echo "$seed" >"$T_TMP/$seed.txt" &&
	umoci insert --image "$dir:x" "$T_TMP/$seed.txt" /seed >/dev/null ||
	    return 1
	pw=$(ecr "$account" "$region" get-login-password)
	skopeo copy -q --dest-tls-verify=false --dest-creds "AWS:$pw" \
	    "oci:$dir:x" "docker://127.0.0.1:$PORT/$repo:$tag" >/dev/null ||
	    return 1
	ecr "$account" "$region" describe-images --repository-name "$repo" \
	    --image-ids "imageTag=$tag" | jq -r '.imageDetails[0].imageDigest'
}

# settled ACCOUNT REGION REPO DIGEST replication|signing: the statuses
# once none is IN_PROGRESS.
settled() {
	local op=describe-image-replication-status key=replicationStatuses out
	if [ "$5" = signing ]; then
		op=describe-image-signing-status
		key=signingStatuses
	fi
	for _ in $(seq 200); do
		out=$(ecr "$1" "$2" "$op" --repository-name "$3" \
		    --image-id "imageDigest=$4")
		if jq -e ".$key | length > 0 and all(.status != \"IN_PROGRESS\")" \
		    <<<"$out" >/dev/null; then
			break
		fi
		sleep 0.05
	done
	printf '%s' "$out"
}

# --- account settings -----------------------------------------------------
out=$(ecr $A us-east-1 get-account-setting --name REGISTRY_POLICY_SCOPE)
jqok "policy scope defaults to V2" '.value == "V2"' "$out"
out=$(ecr $A us-east-1 get-account-setting --name BASIC_SCAN_TYPE_VERSION)
jqok "basic scan type defaults to AWS_NATIVE" '.value == "AWS_NATIVE"' "$out"
out=$(ecr $A us-east-1 put-account-setting --name BLOB_MOUNTING \
    --value ENABLED)
jqok "put account setting" '.name == "BLOB_MOUNTING" and .value == "ENABLED"' \
    "$out"
expect_error "unknown account setting" InvalidParameterException $A us-east-1 \
    put-account-setting --name COLOUR --value BLUE
expect_error "bad setting value" InvalidParameterException $A us-east-1 \
    put-account-setting --name BLOB_MOUNTING --value MAYBE

# --- the registry policy ----------------------------------------------------
expect_error "no registry policy" RegistryPolicyNotFoundException $B us-east-1 \
    get-registry-policy
expect_error "delete without policy" RegistryPolicyNotFoundException $B \
    us-east-1 delete-registry-policy
expect_error "invalid registry policy" InvalidParameterException $B us-east-1 \
    put-registry-policy --policy-text '{"Statement":[{"Effect":"Allow"}]}'
policy='{"Version":"2012-10-17","Statement":[{"Sid":"r","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::'$A':root"},"Action":["ecr:ReplicateImage","ecr:CreateRepository"],"Resource":"arn:aws:ecr:us-east-1:'$B':repository/*"}]}'
out=$(ecr $B us-east-1 put-registry-policy --policy-text "$policy")
jqok "put registry policy" ".registryId == \"$B\"" "$out"
out=$(ecr $B us-east-1 get-registry-policy)
jqok "get registry policy" '.policyText | fromjson | .Statement[0].Sid == "r"' \
    "$out"

# --- replication --------------------------------------------------------------
expect_error "self as destination" InvalidParameterException $A us-east-1 \
    put-replication-configuration --replication-configuration \
    '{"rules":[{"destinations":[{"region":"us-east-1","registryId":"'$A'"}]}]}'
out=$(ecr $A us-east-1 put-replication-configuration \
    --replication-configuration '{"rules":[{"destinations":[{"region":"eu-west-1","registryId":"'$A'"},{"region":"us-east-1","registryId":"'$B'"}],"repositoryFilters":[{"filter":"cli","filterType":"PREFIX_MATCH"}]}]}')
jqok "put replication configuration" \
    '.replicationConfiguration.rules[0].destinations | length == 2' "$out"
out=$(ecr $A us-east-1 describe-registry)
jqok "describe-registry shows it" \
    '.replicationConfiguration.rules[0].repositoryFilters[0].filter == "cli"' \
    "$out"
ecr $A us-east-1 create-repository --repository-name cli/app >/dev/null
digest=$(push $A us-east-1 cli/app v1 first)
check "pushed" test -n "$digest"
out=$(settled $A us-east-1 cli/app "$digest" replication)
jqok "replicated to both destinations" '[.replicationStatuses[] |
    select(.status == "COMPLETE")] | length == 2' "$out"
out=$(ecr $A eu-west-1 list-images --repository-name cli/app)
jqok "replica in the other region" ".imageIds[0].imageDigest == \"$digest\" and
    .imageIds[0].imageTag == \"v1\"" "$out"
out=$(ecr $B us-east-1 list-images --repository-name cli/app)
jqok "replica in the other account" ".imageIds[0].imageDigest == \"$digest\"" \
    "$out"
ecr $B us-east-1 delete-registry-policy >/dev/null
digest2=$(push $A us-east-1 cli/app v2 second)
out=$(settled $A us-east-1 cli/app "$digest2" replication)
jqok "without the policy: FAILED" ".replicationStatuses[] |
    select(.registryId == \"$B\") | .status == \"FAILED\" and
    .failureCode == \"ACCESS_DENIED\"" "$out"
expect_error "status of a missing image" ImageNotFoundException $A us-east-1 \
    describe-image-replication-status --repository-name cli/app \
    --image-id imageTag=none

# --- creation templates and create on push ----------------------------------------
out=$(ecr $A us-east-1 create-repository-creation-template --prefix auto \
    --applied-for CREATE_ON_PUSH --image-tag-mutability IMMUTABLE \
    --description "made on push")
jqok "create template" '.repositoryCreationTemplate.prefix == "auto" and
    .repositoryCreationTemplate.imageTagMutability == "IMMUTABLE"' "$out"
expect_error "template exists" TemplateAlreadyExistsException $A us-east-1 \
    create-repository-creation-template --prefix auto \
    --applied-for REPLICATION
expect_error "template missing" TemplateNotFoundException $A us-east-1 \
    update-repository-creation-template --prefix none \
    --image-tag-mutability MUTABLE
expect_error "template invalid" InvalidParameterException $A us-east-1 \
    create-repository-creation-template --prefix bad \
    --applied-for REPLICATION --image-tag-mutability MUTABLE \
    --image-tag-mutability-exclusion-filters filterType=WILDCARD,filter=x
for p in p1 p2 p3; do
	ecr $A us-east-1 create-repository-creation-template --prefix $p \
	    --applied-for REPLICATION >/dev/null
done
out=$(ecr $A us-east-1 describe-repository-creation-templates --page-size 1)
jqok "CLI pagination gathers every template" \
    '[.repositoryCreationTemplates[].prefix] == ["auto","p1","p2","p3"]' "$out"
out=$(ecr $A us-east-1 update-repository-creation-template --prefix p1 \
    --applied-for CREATE_ON_PUSH REPLICATION)
jqok "update template" '.repositoryCreationTemplate.appliedFor | length == 2' \
    "$out"
out=$(ecr $A us-east-1 delete-repository-creation-template --prefix p3)
jqok "delete template" '.repositoryCreationTemplate.prefix == "p3"' "$out"
if push $A us-east-1 nowhere/app v1 refused >/dev/null 2>&1; then
	fail "a push without a template is refused"
else
	ok "a push without a template is refused"
fi
d=$(push $A us-east-1 auto/app v1 auto)
check "a push under the template creates the repository" test -n "$d"
out=$(ecr $A us-east-1 describe-repositories --repository-names auto/app)
jqok "created with the template's settings" \
    '.repositories[0].imageTagMutability == "IMMUTABLE"' "$out"

# --- managed signing ------------------------------------------------------------
expect_error "no signing configuration" SigningConfigurationNotFoundException \
    $A us-east-1 get-signing-configuration
profile=arn:aws:signer:us-east-1:$A:/signing-profiles/cli_profile
out=$(ecr $A us-east-1 put-signing-configuration --signing-configuration \
    '{"rules":[{"signingProfileArn":"'$profile'","repositoryFilters":[{"filter":"signed/*","filterType":"WILDCARD_MATCH"}]}]}')
jqok "put signing configuration" \
    ".signingConfiguration.rules[0].signingProfileArn == \"$profile\"" "$out"
ecr $A us-east-1 create-repository --repository-name signed/app >/dev/null
d=$(push $A us-east-1 signed/app v1 signed)
out=$(settled $A us-east-1 signed/app "$d" signing)
jqok "signed on push" ".signingStatuses == [{\"signingProfileArn\":
    \"$profile\", \"status\": \"COMPLETE\"}]" "$out"
pw=$(ecr $A us-east-1 get-login-password)
out=$(curl -sf -u "AWS:$pw" "$URL/v2/signed/app/referrers/$d")
jqok "the signature is a referrer" '.manifests[0].artifactType ==
    "application/vnd.cncf.notary.signature"' "$out"
check "the certificate is published" bash -c "curl -sf \
    '$URL/_berth/signing-certificate?account=$A&region=us-east-1' |
    openssl x509 -noout -ext keyUsage | grep -q 'Digital Signature'"
out=$(ecr $A us-east-1 delete-signing-configuration)
jqok "delete signing configuration" '.signingConfiguration.rules | length == 1' \
    "$out"
expect_error "signing configuration gone" \
    SigningConfigurationNotFoundException $A us-east-1 \
    get-signing-configuration

t_summary
