#!/usr/bin/env python3
"""The five pull through cache rule operations driven by boto3 against a
real berthd: CreatePullThroughCacheRule with ECR's checks (supported
upstreams, which need a credentialArn, its secret in the
--pull-through-secrets file, customRoleArn and upstreamRepositoryPrefix
only for an upstream ECR, the '/' ECR assumes, 50 rules),
DescribePullThroughCacheRules by prefix and in pages,
UpdatePullThroughCacheRule, DeletePullThroughCacheRule and
ValidatePullThroughCacheRule (an upstream that cannot be reached, a secret
gone after SIGHUP), and the rules kept across a restart.

Uses lifecycle_boto3's harness.  BERTHD and BLOBD name the binaries.
Prints "N passed, N failed", exits non-zero on any failure.
"""

import os
import signal
import time

import lifecycle_boto3 as lb
from lifecycle_boto3 import ok, err

ACCOUNT = "000000000000"
SECRET = ("arn:aws:secretsmanager:us-east-1:%s:secret:"
          "ecr-pullthroughcache/hub-AbC123" % ACCOUNT)
BROKEN = ("arn:aws:secretsmanager:us-east-1:%s:secret:"
          "ecr-pullthroughcache/broken-AbC123" % ACCOUNT)
ELSEWHERE = ("arn:aws:secretsmanager:us-east-1:111111111111:secret:"
             "ecr-pullthroughcache/hub-AbC123")
MISSING = ("arn:aws:secretsmanager:us-east-1:%s:secret:"
           "ecr-pullthroughcache/missing-AbC123" % ACCOUNT)
ROLE = "arn:aws:iam::%s:role/ecr-upstream" % ACCOUNT
UPSTREAM_ECR = "222222222222.dkr.ecr.us-west-2.amazonaws.com"


def secrets_write(path, lines):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("".join(l + "\n" for l in lines))


def log_count(b, text):
    with open(os.path.join(b.dir, "berthd.log"), errors="replace") as f:
        return f.read().count(text)


def create_errors(b, c):
    cases = [
        ("an upstream ECR does not support",
         dict(ecrRepositoryPrefix="nope", upstreamRegistryUrl="example.com"),
         "UnsupportedUpstreamRegistryException"),
        ("upstreamRegistry not the URL's",
         dict(ecrRepositoryPrefix="nope", upstreamRegistryUrl="quay.io",
              upstreamRegistry="docker-hub"),
         "UnsupportedUpstreamRegistryException"),
        ("Docker Hub without a credentialArn",
         dict(ecrRepositoryPrefix="hub",
              upstreamRegistryUrl="registry-1.docker.io"),
         "UnsupportedUpstreamRegistryException"),
        ("a secret missing from the secrets file",
         dict(ecrRepositoryPrefix="hub",
              upstreamRegistryUrl="registry-1.docker.io",
              credentialArn=MISSING), "SecretNotFoundException"),
        ("a secret whose line is not USERNAME ACCESS_TOKEN",
         dict(ecrRepositoryPrefix="hub",
              upstreamRegistryUrl="registry-1.docker.io",
              credentialArn=BROKEN), "UnableToDecryptSecretValueException"),
        ("a secret of another account",
         dict(ecrRepositoryPrefix="hub",
              upstreamRegistryUrl="registry-1.docker.io",
              credentialArn=ELSEWHERE), "InvalidParameterException"),
        ("customRoleArn for a registry other than ECR",
         dict(ecrRepositoryPrefix="q2", upstreamRegistryUrl="quay.io",
              customRoleArn=ROLE), "InvalidParameterException"),
        ("upstreamRepositoryPrefix for a registry other than ECR",
         dict(ecrRepositoryPrefix="q2", upstreamRegistryUrl="quay.io",
              upstreamRepositoryPrefix="library"),
         "InvalidParameterException"),
        ("a credentialArn for an upstream ECR",
         dict(ecrRepositoryPrefix="up", upstreamRegistryUrl=UPSTREAM_ECR,
              credentialArn=SECRET), "InvalidParameterException"),
        ("an upstream ECR of another account without customRoleArn",
         dict(ecrRepositoryPrefix="up", upstreamRegistryUrl=UPSTREAM_ECR),
         "InvalidParameterException"),
        ("a customRoleArn of another account",
         dict(ecrRepositoryPrefix="up", upstreamRegistryUrl=UPSTREAM_ECR,
              customRoleArn="arn:aws:iam::333333333333:role/x"),
         "InvalidParameterException"),
        ("an ecrRepositoryPrefix the model's pattern refuses",
         dict(ecrRepositoryPrefix="Bad_Prefix", upstreamRegistryUrl="quay.io"),
         "ValidationException"),
    ]
    for name, args, want in cases:
        code = err(c.create_pull_through_cache_rule, **args)
        ok("CreatePullThroughCacheRule refuses %s: %s" % (name, want),
           code == want, code)
    ok("... and stored none of them",
       c.describe_pull_through_cache_rules()["pullThroughCacheRules"] == [])


def create_and_describe(b, c):
    r = c.create_pull_through_cache_rule(ecrRepositoryPrefix="quay/",
                                         upstreamRegistryUrl="quay.io")
    ok("CreatePullThroughCacheRule answers the rule, '/' dropped",
       r["ecrRepositoryPrefix"] == "quay" and
       r["upstreamRegistryUrl"] == "quay.io" and
       r["upstreamRegistry"] == "quay" and r["registryId"] == ACCOUNT and
       "createdAt" in r and "credentialArn" not in r, r)
    code = err(c.create_pull_through_cache_rule, ecrRepositoryPrefix="quay",
                  upstreamRegistryUrl="public.ecr.aws")
    ok("a second rule for the prefix: "
       "PullThroughCacheRuleAlreadyExistsException",
       code == "PullThroughCacheRuleAlreadyExistsException", code)
    r = c.create_pull_through_cache_rule(
        ecrRepositoryPrefix="hub", upstreamRegistryUrl="registry-1.docker.io",
        credentialArn=SECRET)
    ok("Docker Hub with a secret the file holds",
       r["credentialArn"] == SECRET and r["upstreamRegistry"] == "docker-hub",
       r)
    r = c.create_pull_through_cache_rule(
        ecrRepositoryPrefix="up", upstreamRegistryUrl=UPSTREAM_ECR,
        customRoleArn=ROLE, upstreamRepositoryPrefix="team/")
    ok("an upstream ECR with customRoleArn and upstreamRepositoryPrefix",
       r["customRoleArn"] == ROLE and r["upstreamRegistry"] == "ecr" and
       r["upstreamRepositoryPrefix"] == "team", r)

    d = c.describe_pull_through_cache_rules(ecrRepositoryPrefixes=["hub"])
    ok("DescribePullThroughCacheRules by prefix",
       [x["ecrRepositoryPrefix"] for x in d["pullThroughCacheRules"]] ==
       ["hub"] and d["pullThroughCacheRules"][0]["credentialArn"] == SECRET,
       d)
    code = err(c.describe_pull_through_cache_rules,
                  ecrRepositoryPrefixes=["hub", "absent"])
    ok("... a prefix without a rule: PullThroughCacheRuleNotFoundException",
       code == "PullThroughCacheRuleNotFoundException", code)
    seen, pages, token = [], 0, None
    while True:
        kw = {"maxResults": 2}
        if token:
            kw["nextToken"] = token
        d = c.describe_pull_through_cache_rules(**kw)
        pages += 1
        seen += [x["ecrRepositoryPrefix"] for x in d["pullThroughCacheRules"]]
        token = d.get("nextToken")
        if not token:
            break
    ok("... in pages of maxResults, in prefix order",
       seen == ["hub", "quay", "up"] and pages == 2, (seen, pages))
    pag = c.get_paginator("describe_pull_through_cache_rules")
    got = [x["ecrRepositoryPrefix"] for p in pag.paginate(
        PaginationConfig={"PageSize": 1}) for x in p["pullThroughCacheRules"]]
    ok("... through boto3's paginator", got == ["hub", "quay", "up"], got)
    code = err(c.describe_pull_through_cache_rules, nextToken="bogus")
    ok("... a nextToken not its own: InvalidParameterException",
       code == "InvalidParameterException", code)


def update(b, c):
    r = c.update_pull_through_cache_rule(ecrRepositoryPrefix="hub",
                                         credentialArn=SECRET)
    ok("UpdatePullThroughCacheRule answers the rule with updatedAt",
       r["ecrRepositoryPrefix"] == "hub" and r["credentialArn"] == SECRET and
       "updatedAt" in r, r)
    code = err(c.update_pull_through_cache_rule, ecrRepositoryPrefix="hub",
                  credentialArn=MISSING)
    ok("... to a secret the file lacks: SecretNotFoundException",
       code == "SecretNotFoundException", code)
    code = err(c.update_pull_through_cache_rule, ecrRepositoryPrefix="hub",
                  customRoleArn=ROLE)
    ok("... customRoleArn of a Docker Hub rule: InvalidParameterException",
       code == "InvalidParameterException", code)
    code = err(c.update_pull_through_cache_rule, ecrRepositoryPrefix="up",
                  credentialArn=SECRET)
    ok("... credentialArn of an ECR rule: InvalidParameterException",
       code == "InvalidParameterException", code)
    code = err(c.update_pull_through_cache_rule,
                  ecrRepositoryPrefix="absent", credentialArn=SECRET)
    ok("... of no rule: PullThroughCacheRuleNotFoundException",
       code == "PullThroughCacheRuleNotFoundException", code)
    role2 = "arn:aws:iam::%s:role/other" % ACCOUNT
    c.update_pull_through_cache_rule(ecrRepositoryPrefix="up",
                                     customRoleArn=role2)
    d = c.describe_pull_through_cache_rules(ecrRepositoryPrefixes=["up"])
    ok("... a new customRoleArn is what Describe shows",
       d["pullThroughCacheRules"][0]["customRoleArn"] == role2, d)


def validate(b, c):
    r = c.validate_pull_through_cache_rule(ecrRepositoryPrefix="quay")
    ok("ValidatePullThroughCacheRule of an upstream that cannot be reached",
       r["isValid"] is False and r.get("failure") and
       r["ecrRepositoryPrefix"] == "quay", r)
    code = err(c.validate_pull_through_cache_rule,
                  ecrRepositoryPrefix="absent")
    ok("... of no rule: PullThroughCacheRuleNotFoundException",
       code == "PullThroughCacheRuleNotFoundException", code)
    secrets_write(b.secrets, [])
    n = log_count(b, "pull through cache secrets loaded")
    os.kill(b.proc.pid, signal.SIGHUP)
    for _ in range(300):
        if log_count(b, "pull through cache secrets loaded") > n:
            break
        time.sleep(0.1)
    r = c.validate_pull_through_cache_rule(ecrRepositoryPrefix="hub")
    ok("... of a rule whose secret left the file (SIGHUP)",
       r["isValid"] is False and r["failure"] == "SecretNotFoundException",
       r)


def delete_and_limit(b, c):
    r = c.delete_pull_through_cache_rule(ecrRepositoryPrefix="up")
    ok("DeletePullThroughCacheRule answers the rule deleted",
       r["ecrRepositoryPrefix"] == "up" and r["upstreamRegistryUrl"] ==
       UPSTREAM_ECR, r)
    code = err(c.delete_pull_through_cache_rule, ecrRepositoryPrefix="up")
    ok("... again: PullThroughCacheRuleNotFoundException",
       code == "PullThroughCacheRuleNotFoundException", code)
    have = len(c.describe_pull_through_cache_rules()["pullThroughCacheRules"])
    for i in range(50 - have):
        c.create_pull_through_cache_rule(ecrRepositoryPrefix="k%02d" % i,
                                         upstreamRegistryUrl="registry.k8s.io")
    code = err(c.create_pull_through_cache_rule, ecrRepositoryPrefix="k99",
                  upstreamRegistryUrl="registry.k8s.io")
    ok("the 51st rule: LimitExceededException",
       code == "LimitExceededException", code)


def restart(b, c):
    before = c.describe_pull_through_cache_rules(maxResults=100)
    b.stop()
    b.start()
    after = b.client().describe_pull_through_cache_rules(maxResults=100)
    ok("the rules are the same after a restart",
       before["pullThroughCacheRules"] == after["pullThroughCacheRules"] and
       len(after["pullThroughCacheRules"]) == 50,
       len(after["pullThroughCacheRules"]))


def main():
    b = lb.Berthd()
    b.secrets = os.path.join(b.dir, "secrets")
    secrets_write(b.secrets, ["# the test's secrets",
                              "%s user token" % SECRET, "%s lonely" % BROKEN])
    # quay.io is mapped to a port nothing listens on: never the network.
    b.args = ["--pull-through-secrets", b.secrets,
              "--upstream-map", "quay.io=https://127.0.0.1:9"]
    b.start()
    lb.run_suite(b, (create_errors, create_and_describe, update, validate,
                     delete_and_limit, restart), lambda: (b.client(),))


if __name__ == "__main__":
    main()
