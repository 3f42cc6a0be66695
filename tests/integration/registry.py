#!/usr/bin/env python3
"""The registry-wide ECR features against a real berthd, driven by boto3
with images pushed by skopeo and podman: account settings, the registry
policy, replication to another region and to other accounts (with and
without the destination's policy, filters, indexes, immutable tags, one
hop, no deletions), repository creation templates (validation, pagination,
create on push, replication), managed signing (the Notary Project signature
verified with Debian's python3-cryptography against the certificate the
admin API publishes, a key given by --signing-key), and replication and
signing that survive kill -9 of berthd and of berth-blobd right after an
acknowledged push.

It needs a boto3 whose model has the 2024-2025 operations (the one of the
python3 first on PATH on the development machines); the signature check runs
under /usr/bin/python3.  BERTHD and BLOBD name the binaries.  Prints
"N passed, N failed" and exits non-zero on any failure.  The harness is
pylib/registry_it.py; the templates, signing and durability tests are in
reg/.
"""

import hashlib
import json
import os
import shutil
import sys
import traceback
import urllib.request

import boto3

sys.dont_write_bytecode = True    # nothing left in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, "pylib"), os.path.join(HERE, "reg")]
import berth_it  # noqa: E402
from berth_it import err  # noqa: E402
from registry_it import (  # noqa: E402
    A, ANY_MANIFEST, B, Berthd, C, OCI_INDEX, OCI_MANIFEST, TMP, errmsg,
    images, oci_image, oci_put, ok, podman_push, policy, push,
    settled, statuses)
from templates import test_templates, test_create_on_push  # noqa: E402
from signing import test_signing, test_signing_key_flag  # noqa: E402
from durability import test_durability  # noqa: E402

# --- account settings and the registry policy -------------------------------

def test_settings(b):
    c = b.client()
    for name, value in [("BASIC_SCAN_TYPE_VERSION", "AWS_NATIVE"),
                        ("REGISTRY_POLICY_SCOPE", "V2"),
                        ("BLOB_MOUNTING", "DISABLED")]:
        got = c.get_account_setting(name=name)
        ok("default " + name, (got["name"], got["value"]) == (name, value),
           got)
    ok("put setting", c.put_account_setting(
        name="BLOB_MOUNTING", value="ENABLED")["value"] == "ENABLED")
    ok("setting read back", c.get_account_setting(
        name="BLOB_MOUNTING")["value"] == "ENABLED")
    ok("other registry keeps default", b.client(B).get_account_setting(
        name="BLOB_MOUNTING")["value"] == "DISABLED")
    ok("unknown setting", err(c.put_account_setting, name="NOPE",
                              value="x") == "InvalidParameterException")
    ok("unknown setting get", err(c.get_account_setting, name="NOPE") ==
       "InvalidParameterException")
    ok("bad value", err(c.put_account_setting, name="REGISTRY_POLICY_SCOPE",
                        value="V3") == "InvalidParameterException")
    ok("bad value says which", "V1, V2" in errmsg(
        c.put_account_setting, name="REGISTRY_POLICY_SCOPE", value="V3"))



def test_registry_policy(b):
    c = b.client(C)
    ok("get without policy", err(c.get_registry_policy) ==
       "RegistryPolicyNotFoundException")
    ok("delete without policy", err(c.delete_registry_policy) ==
       "RegistryPolicyNotFoundException")
    for bad in ["{", "[]", json.dumps({"Statement": []}),
                json.dumps({"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Action": "ecr:ReplicateImage"}]}),
                json.dumps({"Statement": [{"Effect": "Maybe",
                                           "Principal": "*",
                                           "Action": "ecr:*"}]}),
                policy(A, ["s3:GetObject"]),
                policy(A, ["ecr:NoSuchAction"])]:
        ok("invalid policy %s" % bad[:40], err(
            c.put_registry_policy, policyText=bad) ==
            "InvalidParameterException")
    ok("invalid policy message", "Invalid registry policy provided" in errmsg(
        c.put_registry_policy, policyText=policy(A, ["s3:GetObject"])))
    text = policy(A, ["ecr:ReplicateImage", "ecr:CreateRepository"])
    out = c.put_registry_policy(policyText=text)
    ok("put policy", out["registryId"] == C and out["policyText"] == text)
    ok("get policy", c.get_registry_policy()["policyText"] == text)
    ok("V2 allows every ECR action", "registryId" in c.put_registry_policy(
        policyText=policy(A, ["ecr:PutImage", "ecr:Describe*"])))
    c.put_account_setting(name="REGISTRY_POLICY_SCOPE", value="V1")
    ok("V1 refuses other actions", err(
        c.put_registry_policy, policyText=policy(A, ["ecr:PutImage"])) ==
        "InvalidParameterException")
    ok("V1 takes its three", "registryId" in c.put_registry_policy(
        policyText=policy(A, ["ecr:ReplicateImage", "ecr:CreateRepository",
                              "ecr:BatchImportUpstreamImage"])))
    ok("V1 takes ecr:*", "registryId" in c.put_registry_policy(
        policyText=policy(A, "ecr:*")))
    c.put_account_setting(name="REGISTRY_POLICY_SCOPE", value="V2")
    d = c.delete_registry_policy()
    ok("delete returns the policy", d["policyText"] == policy(A, "ecr:*"))
    ok("deleted", err(c.get_registry_policy) ==
       "RegistryPolicyNotFoundException")


# --- replication ------------------------------------------------------------

def test_replication_config(b):
    c = b.client(C)
    ok("describe_registry default", c.describe_registry()[
        "replicationConfiguration"] == {"rules": []})

    def put(rules):
        return err(c.put_replication_configuration,
                   replicationConfiguration={"rules": rules})
    ok("self as destination", put([{"destinations": [
        {"region": "us-east-1", "registryId": C}]}]) ==
        "InvalidParameterException")
    ok("26 destinations", put([{"destinations": [
        {"region": "r%d" % i, "registryId": A} for i in range(26)]}]) ==
        "InvalidParameterException")
    ok("25 destinations", put([{"destinations": [
        {"region": "r%d" % i, "registryId": A} for i in range(25)]}]) is None)
    ok("11 rules", put([{"destinations": [
        {"region": "eu-west-1", "registryId": A}]}] * 11) is not None)
    ok("bad registry id", put([{"destinations": [
        {"region": "eu-west-1", "registryId": "12"}]}]) is not None)
    ok("bad filter type", put([{"destinations": [
        {"region": "eu-west-1", "registryId": A}], "repositoryFilters": [
        {"filter": "app", "filterType": "SUFFIX_MATCH"}]}]) is not None)
    ok("bad filter", put([{"destinations": [
        {"region": "eu-west-1", "registryId": A}], "repositoryFilters": [
        {"filter": "UPPER", "filterType": "PREFIX_MATCH"}]}]) is not None)
    rules = [{"destinations": [{"region": "eu-west-1", "registryId": A}],
              "repositoryFilters": [{"filter": "app",
                                     "filterType": "PREFIX_MATCH"}]}]
    out = c.put_replication_configuration(
        replicationConfiguration={"rules": rules})
    ok("put returns it", out["replicationConfiguration"]["rules"] == rules)
    ok("describe_registry shows it", c.describe_registry()[
        "replicationConfiguration"]["rules"] == rules)
    c.put_replication_configuration(replicationConfiguration={"rules": []})
    ok("empty rules remove it", c.describe_registry()[
        "replicationConfiguration"] == {"rules": []})


def test_replication(b):
    a, a2, bb, cc = (b.client(A), b.client(A, "us-west-2"), b.client(B),
                     b.client(C))
    a.create_repository(repositoryName="rep/before")
    before = push(b, "rep/before", "v0")
    a.put_replication_configuration(replicationConfiguration={"rules": [
        {"destinations": [{"region": "us-west-2", "registryId": A},
                          {"region": "us-east-1", "registryId": B}],
         "repositoryFilters": [{"filter": "rep",
                                "filterType": "PREFIX_MATCH"}]},
        {"destinations": [{"region": "us-east-1", "registryId": C}],
         "repositoryFilters": [{"filter": "rep/c",
                                "filterType": "PREFIX_MATCH"}]}]})
    # The second region replicates on to eu-west-1: replicas must not.
    a2.put_replication_configuration(replicationConfiguration={"rules": [
        {"destinations": [{"region": "eu-west-1", "registryId": A}]}]})
    ok("image pushed before the configuration has no status",
       statuses(a, "rep/before", before) == [])

    a.create_repository(repositoryName="rep/app")
    d1 = push(b, "rep/app", "v1", nlayers=3)
    st = {(s["registryId"], s["region"]): s for s in settled(
        a, "rep/app", d1)}
    ok("two destinations", len(st) == 2, st)
    ok("same account, other region COMPLETE",
       st.get((A, "us-west-2"), {}).get("status") == "COMPLETE", st)
    ok("other account without policy FAILED",
       st.get((B, "us-east-1"), {}).get("status") == "FAILED" and
       st[(B, "us-east-1")].get("failureCode") == "ACCESS_DENIED", st)
    ok("replica has the digest and tag", images(a2, "rep/app") ==
       {("v1", d1)}, images(a2, "rep/app"))
    ok("replica pulls the same bytes", b.get(
        "/v2/rep/app/manifests/v1", A, "us-west-2", OCI_MANIFEST) ==
       b.get("/v2/rep/app/manifests/v1", A, "us-east-1", OCI_MANIFEST))
    ok("replica repository created with defaults", a2.describe_repositories(
        repositoryNames=["rep/app"])["repositories"][0][
        "imageTagMutability"] == "MUTABLE")
    ok("no repository in the refusing account", err(
        bb.describe_repositories, repositoryNames=["rep/app"]) ==
        "RepositoryNotFoundException")
    ok("one hop only", err(b.client(A, "eu-west-1").describe_repositories,
                           repositoryNames=["rep/app"]) ==
       "RepositoryNotFoundException")
    ok("image pushed before stays unreplicated", err(
        a2.describe_repositories, repositoryNames=["rep/before"]) ==
        "RepositoryNotFoundException")

    # B allows ReplicateImage only: a missing repository is not created.
    bb.put_registry_policy(policyText=policy(A, ["ecr:ReplicateImage"],
                           "arn:aws:ecr:us-east-1:%s:repository/*" % B))
    d2 = push(b, "rep/app", "v2", seed="second")
    st = {(s["registryId"], s["region"]): s for s in settled(
        a, "rep/app", d2)}
    ok("without CreateRepository: REPOSITORY_NOT_FOUND",
       st.get((B, "us-east-1"), {}).get("failureCode") ==
       "REPOSITORY_NOT_FOUND", st)
    bb.create_repository(repositoryName="rep/app")
    d3 = push(b, "rep/app", "v3", seed="third")
    st = {(s["registryId"], s["region"]): s for s in settled(
        a, "rep/app", d3)}
    ok("existing repository: COMPLETE", st.get((B, "us-east-1"), {}).get(
        "status") == "COMPLETE", st)
    ok("replicated across accounts", ("v3", d3) in images(bb, "rep/app"))
    # A push through the ECR API's PutImage replicates too.
    put = a.put_image(repositoryName="rep/app", imageTag="api",
                      imageManifest=json.dumps({
                          "schemaVersion": 2, "mediaType":
                          "application/vnd.oci.image.index.v1+json",
                          "manifests": []}))
    dp = put["image"]["imageId"]["imageDigest"]
    st = settled(a, "rep/app", dp)
    ok("PutImage: replicated everywhere", len(st) == 2 and all(
        s["status"] == "COMPLETE" for s in st), st)
    ok("PutImage: the replicas have its tag", ("api", dp) in images(
        a2, "rep/app") and ("api", dp) in images(bb, "rep/app"))
    # And one podman pushes (its own uploads, chunked or not, its own
    # manifest PUT).
    ok("podman push to rep/app", *podman_push(b, "rep/app", A, "us-east-1",
                                              tag="pod", seed="podman"))
    dq = a.describe_images(repositoryName="rep/app", imageIds=[
        {"imageTag": "pod"}])["imageDetails"][0]["imageDigest"]
    st = settled(a, "rep/app", dq)
    ok("podman push: replicated everywhere", len(st) == 2 and all(
        s["status"] == "COMPLETE" for s in st), st)
    ok("podman push: the replicas have its digest and tag", ("pod", dq) in
       images(a2, "rep/app") and ("pod", dq) in images(bb, "rep/app"))
    ok("podman push: the replica pulls the same manifest", b.get(
        "/v2/rep/app/manifests/pod", A, "us-west-2", ANY_MANIFEST) ==
       b.get("/v2/rep/app/manifests/pod", A, "us-east-1", ANY_MANIFEST))

    # A Deny wins.
    bb.put_registry_policy(policyText=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": A},
             "Action": "ecr:*", "Resource": "*"},
            {"Effect": "Deny", "Principal": {"AWS": A},
             "Action": "ecr:ReplicateImage",
             "Resource": "arn:aws:ecr:us-east-1:%s:repository/rep/app" % B}]}))
    d4 = push(b, "rep/app", "v4", seed="fourth")
    st = {(s["registryId"], s["region"]): s for s in settled(
        a, "rep/app", d4)}
    ok("explicit deny", st.get((B, "us-east-1"), {}).get("failureCode") ==
       "ACCESS_DENIED", st)

    # Conditions are evaluated against the replication's context: the
    # source account and repository; an operator berth cannot evaluate
    # grants nothing.
    def cond_push(cond, seed):
        bb.put_registry_policy(policyText=policy(
            A, ["ecr:ReplicateImage"], cond=cond))
        d = push(b, "rep/app", seed, seed=seed)
        return {(s["registryId"], s["region"]): s for s in settled(
            a, "rep/app", d)}.get((B, "us-east-1"), {})
    st = cond_push({"StringEquals": {"aws:SourceAccount": A},
                    "ArnLike": {"aws:SourceArn": "arn:aws:ecr:us-east-1:%s:"
                                "repository/rep/*" % A}}, "cond1")
    ok("Allow under conditions that hold: COMPLETE",
       st.get("status") == "COMPLETE", st)
    st = cond_push({"StringEquals": {"aws:SourceAccount": C}}, "cond2")
    ok("Allow under a condition that fails: ACCESS_DENIED",
       st.get("failureCode") == "ACCESS_DENIED", st)
    st = cond_push({"StringNotEquals": {"aws:SourceAccount": C},
                    "Null": {"aws:SourceArn": "false"}}, "cond3")
    ok("StringNotEquals and Null hold: COMPLETE",
       st.get("status") == "COMPLETE", st)
    st = cond_push({"DateGreaterThan": {"aws:CurrentTime":
                                        "2020-01-01T00:00:00Z"},
                    "NumericGreaterThan": {"aws:EpochTime": "1577836800"},
                    "NotIpAddress": {"aws:SourceIp": "0.0.0.0/0"}}, "cond5")
    ok("Date, Numeric on the clock and NotIpAddress (no client) hold: "
       "COMPLETE", st.get("status") == "COMPLETE", st)
    st = cond_push({"IpAddress": {"aws:SourceIp": ["0.0.0.0/0", "::/0"]}},
                   "cond6")
    ok("IpAddress without a client address: ACCESS_DENIED",
       st.get("failureCode") == "ACCESS_DENIED", st)
    st = cond_push({"BinaryEquals": {"aws:SourceAccount": "MQ=="}}, "cond4")
    ok("an operator berth cannot evaluate grants nothing",
       st.get("failureCode") == "ACCESS_DENIED", st)

    # Full policy, and a REPLICATION template in B: the new repository
    # takes its settings; an immutable tag in the destination stays.
    bb.put_registry_policy(policyText=policy(
        A, ["ecr:ReplicateImage", "ecr:CreateRepository"]))
    bb.create_repository_creation_template(
        prefix="rep", appliedFor=["REPLICATION"],
        imageTagMutability="IMMUTABLE",
        resourceTags=[{"Key": "from", "Value": "template"}])
    a.create_repository(repositoryName="rep/tpl")
    d5 = push(b, "rep/tpl", "stable", seed="fifth")
    settled(a, "rep/tpl", d5)
    repo = bb.describe_repositories(repositoryNames=["rep/tpl"])[
        "repositories"][0]
    ok("template applied to the replica's repository",
       repo["imageTagMutability"] == "IMMUTABLE", repo)
    ok("template tags applied", bb.list_tags_for_resource(
        resourceArn=repo["repositoryArn"])["tags"] ==
        [{"Key": "from", "Value": "template"}])
    ok("replica in the templated repository", images(bb, "rep/tpl") ==
       {("stable", d5)})
    d6 = push(b, "rep/tpl", "stable", seed="sixth")
    st = settled(a, "rep/tpl", d6)
    ok("immutable destination: still COMPLETE", all(
        s["status"] == "COMPLETE" for s in st), st)
    ok("the image arrives without the immutable tag",
       images(bb, "rep/tpl") == {("stable", d5), (None, d6)},
       images(bb, "rep/tpl"))
    ok("the source moved its tag", ("stable", d6) in images(a, "rep/tpl"))

    # Filters: rep/c also goes to C (no policy there: FAILED); other/x to
    # nobody.
    a.create_repository(repositoryName="rep/c1")
    before = blob_count(b)
    d7 = push(b, "rep/c1", "v1", seed="seventh")
    ok("two rules, three destinations", len(settled(a, "rep/c1", d7)) == 3)
    ok("replicas share the blobs: one config and two layers stored",
       blob_count(b) - before == 3, (before, blob_count(b)))
    a.create_repository(repositoryName="other/x")
    d8 = push(b, "other/x", "v1", seed="eighth")
    ok("unmatched repository: no status", statuses(a, "other/x", d8) == [])

    # Deletions are not replicated.
    a.batch_delete_image(repositoryName="rep/app", imageIds=[
        {"imageDigest": d1}])
    ok("deletion stays in the source", ("v1", d1) in images(a2, "rep/app"))

    # An index and its children.
    index_push(b, a, a2)
    ok("status for a missing image", err(
        a.describe_image_replication_status, repositoryName="rep/app",
        imageId={"imageTag": "nope"}) == "ImageNotFoundException")
    ok("status for a missing repository", err(
        a.describe_image_replication_status, repositoryName="rep/nope",
        imageId={"imageTag": "v1"}) == "RepositoryNotFoundException")


def blob_count(b):
    with urllib.request.urlopen(b.endpoint + "/_berth/blobs") as r:
        return len(json.loads(r.read())["blobs"])


def index_push(b, a, a2):
    """An index of two images, pushed by the OCI API."""
    a.create_repository(repositoryName="rep/multi")
    children = []
    for arch in ("amd64", "arm64"):
        d, m = oci_image(b, "rep/multi", None, arch)
        children.append({"mediaType": OCI_MANIFEST, "digest": d,
                         "size": len(m),
                         "platform": {"architecture": arch, "os": "linux"}})
    idx = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX,
                      "manifests": children}).encode()
    d = "sha256:" + hashlib.sha256(idx).hexdigest()
    ok("index pushed", oci_put(b, "/v2/rep/multi/manifests/latest", idx,
                               OCI_INDEX) == 201)
    st = settled(a, "rep/multi", d)
    ok("index replicated", any(s["registryId"] == A and s["status"] ==
                               "COMPLETE" for s in st), st)
    got = images(a2, "rep/multi")
    ok("index and children in the replica", got is not None and
       ("latest", d) in got and all((None, ch["digest"]) in got
                                    for ch in children), got)


def main():
    c = boto3.client("ecr", region_name="us-east-1")
    if not hasattr(c, "put_signing_configuration"):
        print("FAIL: boto3 %s predates the ECR operations under test "
              "(run with a python3 whose botocore has them)" %
              boto3.__version__)
        print("0 passed, 1 failed")
        return 1
    b = Berthd()
    try:
        for t in (test_settings, test_registry_policy,
                  test_replication_config, test_replication,
                  test_templates, test_create_on_push, test_signing):
            try:
                t(b)
            except Exception:
                ok(t.__name__, False, traceback.format_exc())
    finally:
        b.stop()
    for t in (test_signing_key_flag, test_durability):
        try:
            t()
        except Exception:
            ok(t.__name__, False, traceback.format_exc())
    shutil.rmtree(TMP, ignore_errors=True)
    print("%d passed, %d failed" % (berth_it.passed, berth_it.failed))
    return 1 if berth_it.failed else 0


if __name__ == "__main__":
    sys.exit(main())
