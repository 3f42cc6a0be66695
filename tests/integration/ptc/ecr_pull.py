#!/usr/bin/env python3
"""Pulls through the cache by the ECR API, driven by boto3: BatchGetImage
and GetDownloadUrlForLayer of images berth does not hold fetch them from
the upstream (a docker-registry over HTTPS that pullthrough.sh started),
with AWS's failure codes and exceptions when the upstream fails; another
account imports only as the registry policy allows
(ecr:BatchImportUpstreamImage).

Run by pullthrough.sh, not on its own (tests/run.sh runs only the
top-level scripts): "up" while the upstream serves, "down" after it was
stopped.  The environment names what the script set up:
  ENDPOINT     berthd's URL       UPSTREAM  the upstream's https URL
  CA           the upstream's CA  UPLOG     the upstream's log
  BERTHD_PID, BERTHD_LOG, SECRETS  berthd, its log, its secrets file
  STATE        a file the "up" phase leaves for the "down" phase
Prints "N passed, N failed" and exits non-zero on any failure.
"""

import hashlib
import json
import os
import signal
import ssl
import sys
import time
import urllib.request

import boto3
import botocore
from botocore.config import Config

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
import lifecycle_boto3 as lb  # noqa: E402  the harness's ok() and counts
from lifecycle_boto3 import ok  # noqa: E402

E = os.environ
MT_OCI = "application/vnd.oci.image.manifest.v1+json"


def err(fn, *a, **kw):
    """The exception name and message a call raises, or (None, None)."""
    try:
        fn(*a, **kw)
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"], e.response["Error"]["Message"]
    return None, None


def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def upstream_get(path):
    ctx = ssl.create_default_context(cafile=E["CA"])
    req = urllib.request.Request(E["UPSTREAM"] + "/v2/" + path)
    req.add_header("Accept", MT_OCI)
    with urllib.request.urlopen(req, context=ctx, timeout=30) as resp:
        return resp.read()


def berth_fetches(path):
    """GETs of path at the upstream made by berth (its User-Agent)."""
    with open(E["UPLOG"], errors="replace") as f:
        return sum(1 for l in f if '"GET /v2/%s ' % path in l and
                   "berth/" in l)


def blobs_of(manifest):
    m = json.loads(manifest)
    return [m["config"]["digest"]] + [l["digest"] for l in m["layers"]]


def wait_log(text, count):
    for _ in range(300):
        with open(E["BERTHD_LOG"], errors="replace") as f:
            if f.read().count(text) >= count:
                return True
        time.sleep(0.1)
    return False


def phase_up(c, state):
    repo = "quay/library/tools"
    v1 = upstream_get("library/tools/manifests/v1")
    v2 = upstream_get("library/tools/manifests/v2")
    r = c.batch_get_image(repositoryName=repo, imageIds=[
        {"imageTag": "v1"}, {"imageTag": "absent"}])
    ok("BatchGetImage of an image not held fetches it from the upstream",
       len(r["images"]) == 1 and
       r["images"][0]["imageManifest"].encode() == v1, r)
    ok("... its digest is the upstream manifest's",
       r["images"][0]["imageId"]["imageDigest"] == sha(v1))
    ok("a tag the upstream lacks too is ImageNotFound",
       [f["failureCode"] for f in r["failures"]] == ["ImageNotFound"],
       r["failures"])
    ok("the pull created the repository",
       c.describe_repositories(repositoryNames=[repo])
       ["repositories"][0]["repositoryName"] == repo)
    n = berth_fetches("library/tools/manifests/v1")
    r = c.batch_get_image(repositoryName=repo, imageIds=[{"imageTag": "v1"}])
    ok("a second BatchGetImage is served locally",
       len(r["images"]) == 1 and
       berth_fetches("library/tools/manifests/v1") == n == 1, n)

    good = True
    for d in blobs_of(v1):
        url = c.get_download_url_for_layer(repositoryName=repo,
                                           layerDigest=d)["downloadUrl"]
        with urllib.request.urlopen(url, timeout=60) as resp:
            body = resp.read()
        good = good and sha(body) == d and \
            body == upstream_get("library/tools/blobs/" + d)
    ok("GetDownloadUrlForLayer fetches each layer; its URL serves the "
       "upstream's bytes", good)
    once = [berth_fetches("library/tools/blobs/" + d) for d in blobs_of(v1)]
    for d in blobs_of(v1):
        c.get_download_url_for_layer(repositoryName=repo, layerDigest=d)
    again = [berth_fetches("library/tools/blobs/" + d) for d in blobs_of(v1)]
    ok("each layer was fetched once, and not again", once == again and
       set(once) == {1}, (once, again))
    stray = "sha256:" + "5" * 64
    code, _ = err(c.get_download_url_for_layer, repositoryName=repo,
                  layerDigest=stray)
    ok("a digest no image names is LayersNotFoundException, not fetched",
       code == "LayersNotFoundException" and
       berth_fetches("library/tools/blobs/" + stray) == 0, code)

    r = c.batch_get_image(repositoryName=repo, imageIds=[
        {"imageDigest": sha(v2)},
        {"imageTag": "v1", "imageDigest": sha(v2)}])
    ok("BatchGetImage by digest fetches it",
       [i["imageManifest"].encode() for i in r["images"]] == [v2], r)
    ok("a tag and another image's digest: ImageTagDoesNotMatchDigest",
       [f["failureCode"] for f in r["failures"]] ==
       ["ImageTagDoesNotMatchDigest"], r["failures"])

    # Another account imports into this registry as its policy allows.
    other = client("111111111111")
    r = other.batch_get_image(registryId="000000000000", repositoryName=repo,
                              imageIds=[{"imageTag": "v2"}])
    ok("another account without the registry policy imports nothing",
       [f["failureCode"] for f in r["failures"]] ==
       ["UpstreamAccessDenied"] and "registry policy" in
       r["failures"][0]["failureReason"] and
       berth_fetches("library/tools/manifests/v2") == 0, r)
    c.put_registry_policy(policyText=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::111111111111:root"},
            "Action": ["ecr:BatchImportUpstreamImage"],
            "Resource": "arn:aws:ecr:us-east-1:000000000000:"
                        "repository/quay/*"}]}))
    r = other.batch_get_image(registryId="000000000000", repositoryName=repo,
                              imageIds=[{"imageTag": "v2"}])
    ok("... and imports once the registry policy allows it",
       [i["imageManifest"].encode() for i in r["images"]] == [v2] and
       berth_fetches("library/tools/manifests/v2") == 1, r)

    # A rule whose secret goes away: the exceptions AWS names for it.
    arn = ("arn:aws:secretsmanager:us-east-1:000000000000:secret:"
           "ecr-pullthroughcache/quay-XyZ123")
    c.create_pull_through_cache_rule(
        ecrRepositoryPrefix="quaysec", upstreamRegistryUrl="quay.io",
        credentialArn=arn)
    with open(E["SECRETS"], "w") as f:
        f.write("# emptied by the test\n")
    os.kill(int(E["BERTHD_PID"]), signal.SIGHUP)
    ok("berthd read the secrets again",
       wait_log("pull through cache secrets loaded", 2))
    code, msg = err(c.batch_get_image, repositoryName="quaysec/library/tools",
                    imageIds=[{"imageTag": "v1"}])
    ok("a secret that cannot be read: UnableToGetUpstreamImageException",
       code == "UnableToGetUpstreamImageException" and arn in msg,
       (code, msg))

    json.dump({"v2": v2.decode()}, open(E["STATE"], "w"))


def phase_down(c, state):
    repo = "quay/library/tools"
    v2 = state["v2"].encode()
    r = c.batch_get_image(repositoryName=repo, imageIds=[
        {"imageTag": "v1"}, {"imageDigest": sha(v2)}])
    ok("with the upstream down the held images are served",
       len(r["images"]) == 2 and not r["failures"], r)
    r = c.batch_get_image(repositoryName=repo, imageIds=[
        {"imageTag": "v3"}, {"imageTag": "v1"}])
    ok("an image not held: UpstreamUnavailable, beside one held",
       [f["failureCode"] for f in r["failures"]] ==
       ["UpstreamUnavailable"] and len(r["images"]) == 1 and
       "upstream" in r["failures"][0]["failureReason"], r)
    r = c.batch_get_image(repositoryName="quay/library/ghost",
                          imageIds=[{"imageTag": "v1"}])
    ok("a repository never pulled: UpstreamUnavailable, not "
       "RepositoryNotFoundException",
       [f["failureCode"] for f in r["failures"]] == ["UpstreamUnavailable"],
       r)
    layer = blobs_of(v2)[1]
    code, msg = err(c.get_download_url_for_layer, repositoryName=repo,
                    layerDigest=layer)
    ok("a layer not held: UnableToGetUpstreamLayerException",
       code == "UnableToGetUpstreamLayerException" and layer in msg,
       (code, msg))


def client(account="000000000000"):
    return boto3.client("ecr", endpoint_url=E["ENDPOINT"],
                        region_name="us-east-1", aws_access_key_id=account,
                        aws_secret_access_key="x",
                        config=Config(retries={"max_attempts": 1}))


def main():
    c = client()
    if sys.argv[1] == "up":
        phase_up(c, None)
    else:
        phase_down(c, json.load(open(E["STATE"])))
    print("%d passed, %d failed" % (lb.berth_it.passed, lb.berth_it.failed))
    sys.exit(1 if lb.berth_it.failed else 0)


if __name__ == "__main__":
    main()
