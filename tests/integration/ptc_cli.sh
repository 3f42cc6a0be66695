#!/usr/bin/env bash
# The five pull through cache rule operations driven by the AWS CLI against
# a real berthd: create (Docker Hub with a secret from the
# --pull-through-secrets file, quay.io without), describe by prefix and in
# pages (--max-items), update, validate (an upstream that cannot be
# reached: quay.io mapped to a closed port) and delete, and their errors
# by exception name.  Pulls through the rules are in pullthrough.sh.
# BERTHD and BLOBD name the binaries.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.bash"

export AWS_CONFIG_FILE=$T_TMP/config AWS_SHARED_CREDENTIALS_FILE=$T_TMP/creds
export AWS_PAGER="" AWS_MAX_ATTEMPTS=1 AWS_REGION=us-east-1
export AWS_ACCESS_KEY_ID=000000000000 AWS_SECRET_ACCESS_KEY=secret
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN
printf '[default]\nregion = us-east-1\noutput = json\n' >"$AWS_CONFIG_FILE"
: >"$AWS_SHARED_CREDENTIALS_FILE"

arn=arn:aws:secretsmanager:us-east-1:000000000000:secret:ecr-pullthroughcache/hub-Q1w2E3
(umask 077 && printf '%s user token\n' "$arn" >"$T_TMP/secrets")
mkdir -p "$T_TMP/data"
start_berthd "$T_TMP/data" --pull-through-secrets "$T_TMP/secrets" \
    --upstream-map quay.io=https://127.0.0.1:9

ecr() { aws --endpoint-url "$URL" --output json ecr "$@"; }

# expect_error NAME EXCEPTION args...: ecr args... fails with EXCEPTION.
expect_error() {
	local name=$1 exc=$2
	shift 2
	fails_with "$name" "$exc" ecr "$@"
}

out=$(ecr create-pull-through-cache-rule --ecr-repository-prefix hub \
    --upstream-registry-url registry-1.docker.io --credential-arn "$arn")
jqcheck "create-pull-through-cache-rule for Docker Hub with a secret" \
    ".ecrRepositoryPrefix == \"hub\" and .credentialArn == \"$arn\" and
    .upstreamRegistry == \"docker-hub\"" "$out"
out=$(ecr create-pull-through-cache-rule --ecr-repository-prefix quay \
    --upstream-registry-url quay.io --upstream-registry quay)
jqcheck "create-pull-through-cache-rule for quay.io without one" \
    '.ecrRepositoryPrefix == "quay" and (has("credentialArn") | not)' "$out"
expect_error "a second rule for a prefix" \
    PullThroughCacheRuleAlreadyExistsException \
    create-pull-through-cache-rule --ecr-repository-prefix quay/ \
    --upstream-registry-url public.ecr.aws
expect_error "GitHub without a secret" UnsupportedUpstreamRegistryException \
    create-pull-through-cache-rule --ecr-repository-prefix gh \
    --upstream-registry-url ghcr.io
expect_error "a secret the file lacks" SecretNotFoundException \
    create-pull-through-cache-rule --ecr-repository-prefix gh \
    --upstream-registry-url ghcr.io --credential-arn "${arn%hub-*}gh-Q1w2E3"

out=$(ecr describe-pull-through-cache-rules)
jqcheck "describe-pull-through-cache-rules lists both, in prefix order" \
    '[.pullThroughCacheRules[].ecrRepositoryPrefix] == ["hub", "quay"]' \
    "$out"
out=$(ecr describe-pull-through-cache-rules --max-items 1)
jqcheck "... --max-items 1: one, and a token for the rest" \
    '(.pullThroughCacheRules | length) == 1 and has("NextToken")' "$out"
tok=$(jq -r .NextToken <<<"$out")
out=$(ecr describe-pull-through-cache-rules --max-items 1 \
    --starting-token "$tok")
jqcheck "... the next page" \
    '[.pullThroughCacheRules[].ecrRepositoryPrefix] == ["quay"]' "$out"
expect_error "describe of a prefix without a rule" \
    PullThroughCacheRuleNotFoundException \
    describe-pull-through-cache-rules --ecr-repository-prefixes nope

out=$(ecr update-pull-through-cache-rule --ecr-repository-prefix hub \
    --credential-arn "$arn")
jqcheck "update-pull-through-cache-rule answers updatedAt" \
    'has("updatedAt") and .ecrRepositoryPrefix == "hub"' "$out"
expect_error "update of a prefix without a rule" \
    PullThroughCacheRuleNotFoundException update-pull-through-cache-rule \
    --ecr-repository-prefix nope --credential-arn "$arn"

out=$(ecr validate-pull-through-cache-rule --ecr-repository-prefix quay)
jqcheck "validate-pull-through-cache-rule of an upstream not reached" \
    '.isValid == false and (.failure | length) > 0' "$out"
expect_error "validate of a prefix without a rule" \
    PullThroughCacheRuleNotFoundException validate-pull-through-cache-rule \
    --ecr-repository-prefix nope

out=$(ecr delete-pull-through-cache-rule --ecr-repository-prefix hub)
jqcheck "delete-pull-through-cache-rule answers the rule" \
    '.ecrRepositoryPrefix == "hub" and .upstreamRegistryUrl ==
    "registry-1.docker.io"' "$out"
expect_error "delete again" PullThroughCacheRuleNotFoundException \
    delete-pull-through-cache-rule --ecr-repository-prefix hub
out=$(ecr describe-pull-through-cache-rules)
jqcheck "only quay's rule is left" \
    '[.pullThroughCacheRules[].ecrRepositoryPrefix] == ["quay"]' "$out"
t_summary
