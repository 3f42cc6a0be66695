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
"N passed, N failed" and exits non-zero on any failure.
"""

import base64
import hashlib
import io
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
import traceback
import urllib.error
import urllib.request

import boto3
import botocore
from botocore.config import Config

sys.dont_write_bytecode = True    # nothing left in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "pylib"))
import berth_it  # noqa: E402
from berth_it import free_port, ok  # noqa: E402

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
BERTHD = os.environ.get("BERTHD", os.path.join(TOP, "build/daemon/berthd"))
BLOBD = os.environ.get("BLOBD", os.path.join(TOP, "build/blobd/berth-blobd"))
A = "111111111111"
B = "222222222222"
C = "333333333333"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
ANY_MANIFEST = (OCI_MANIFEST +
                ", application/vnd.docker.distribution.manifest.v2+json")
NOTARY = "application/vnd.cncf.notary.signature"


def private_tmp():
    """A new private directory whose path podman takes as an image name:
    podman names an image pulled from oci:<path> after the path, and
    mkdtemp's random part may start or end with '_', which a reference
    may not (one run in a few failed "podman push creates" so)."""
    while True:
        d = os.path.join(tempfile.gettempdir(),
                         "berth-registry-" + secrets.token_hex(4))
        try:
            os.mkdir(d, 0o700)
            return d
        except FileExistsError:
            continue


TMP = private_tmp()


def wait_until(fn, seconds=20):
    """Polls fn until it returns a true value (or seconds pass)."""
    deadline = time.monotonic() + seconds
    while True:
        v = fn()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(0.02)


class Berthd:
    def __init__(self, *args, data=None):
        self.dir = data or tempfile.mkdtemp(prefix="d.", dir=TMP)
        # Clients send their login only when challenged.
        self.args = ["--require-auth"] + list(args)
        self.port = free_port()
        self.endpoint = "http://127.0.0.1:%d" % self.port
        self.start()

    def start(self):
        self.log = open(self.dir + ".log", "a")
        self.proc = subprocess.Popen(
            [BERTHD, "--blobd", BLOBD, "--listen",
             "127.0.0.1:%d" % self.port, "--data-dir", self.dir] +
            self.args, stdout=self.log, stderr=subprocess.STDOUT)

        def up():
            try:
                urllib.request.urlopen(self.endpoint + "/_berth/health",
                                       timeout=1)
                return True
            except urllib.error.HTTPError:
                return False
            except Exception:
                return False
        if not wait_until(up):
            raise RuntimeError("berthd did not start")

    def stop(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)
        self.proc.wait(timeout=20)
        self.log.close()

    def blobd_pid(self):
        with urllib.request.urlopen(self.endpoint + "/_berth/health") as r:
            body = json.loads(r.read())
        return body.get("blobd", {}).get("pid") or body.get("blobd_pid")

    def client(self, account=A, region="us-east-1"):
        return boto3.client(
            "ecr", endpoint_url=self.endpoint, region_name=region,
            aws_access_key_id=account, aws_secret_access_key="secret",
            config=Config(retries={"max_attempts": 1}))

    def get(self, path, account=A, region="us-east-1", accept=None):
        tok = self.client(account, region).get_authorization_token()[
            "authorizationData"][0]["authorizationToken"]
        h = {"Authorization": "Basic " + tok}
        if accept:
            h["Accept"] = accept
        req = urllib.request.Request(self.endpoint + path, headers=h)
        with urllib.request.urlopen(req) as r:
            return r.read()

    def password(self, account=A, region="us-east-1"):
        tok = self.client(account, region).get_authorization_token()[
            "authorizationData"][0]["authorizationToken"]
        return base64.b64decode(tok).decode().split(":", 1)[1]


def err(fn, *a, **kw):
    try:
        fn(*a, **kw)
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"]
    except botocore.exceptions.ParamValidationError:
        return "ParamValidationError"
    return None


def errmsg(fn, *a, **kw):
    try:
        fn(*a, **kw)
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Message"]
    return ""


# --- images -----------------------------------------------------------------

def tar_layer(name, data):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mtime = 0
        t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def oci_layout(name, nlayers=2, seed=None):
    """An OCI image layout directory with one image of nlayers layers."""
    seed = seed or name
    d = os.path.join(TMP, "layout-" + name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(os.path.join(d, "blobs", "sha256"))

    def put(b):
        h = hashlib.sha256(b).hexdigest()
        with open(os.path.join(d, "blobs", "sha256", h), "wb") as f:
            f.write(b)
        return "sha256:" + h

    layers, diffs = [], []
    for i in range(nlayers):
        t = tar_layer("f%d" % i, ("%s layer %d\n" % (seed, i)).encode())
        layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar",
                       "digest": put(t), "size": len(t)})
        diffs.append(layers[-1]["digest"])
    cfg = json.dumps({"architecture": "amd64", "os": "linux",
                      "rootfs": {"type": "layers", "diff_ids": diffs}},
                     sort_keys=True).encode()
    m = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                    "config": {"mediaType":
                               "application/vnd.oci.image.config.v1+json",
                               "digest": put(cfg), "size": len(cfg)},
                    "layers": layers}).encode()
    md = put(m)
    with open(os.path.join(d, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [
            {"mediaType": OCI_MANIFEST, "digest": md, "size": len(m),
             "annotations": {"org.opencontainers.image.ref.name": "x"}}]}, f)
    with open(os.path.join(d, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    return d, md


def skopeo_push(b, layout, repo, tag, account=A, region="us-east-1"):
    dest = "docker://127.0.0.1:%d/%s:%s" % (b.port, repo, tag)
    r = subprocess.run(
        ["skopeo", "copy", "-q", "--dest-tls-verify=false",
         "--dest-creds", "AWS:" + b.password(account, region),
         "oci:%s:x" % layout, dest], capture_output=True, text=True)
    return r.returncode == 0, r.stderr


def push(b, repo, tag, account=A, region="us-east-1", nlayers=2, seed=None):
    layout, digest = oci_layout("%s-%s-%s" % (repo.replace("/", "_"), tag,
                                              account), nlayers, seed)
    good, why = skopeo_push(b, layout, repo, tag, account, region)
    ok("skopeo push %s:%s" % (repo, tag), good, why)
    # skopeo compresses the layers on the way: the registry has the digest.
    return b.client(account, region).describe_images(
        repositoryName=repo, imageIds=[{"imageTag": tag}])[
        "imageDetails"][0]["imageDigest"]


def statuses(c, repo, digest, kind="replication"):
    if kind == "replication":
        return c.describe_image_replication_status(
            repositoryName=repo, imageId={"imageDigest": digest})[
            "replicationStatuses"]
    return c.describe_image_signing_status(
        repositoryName=repo, imageId={"imageDigest": digest})[
        "signingStatuses"]


def settled(c, repo, digest, kind="replication"):
    """The statuses once none is IN_PROGRESS (polled, bounded)."""
    last = []

    def done():
        nonlocal last
        try:
            last = statuses(c, repo, digest, kind)
        except botocore.exceptions.ClientError as e:
            # While a killed worker restarts berthd answers a retryable
            # ServerException.
            if e.response["Error"]["Code"] != "ServerException":
                raise
            return None
        return last if last and all(
            x["status"] != "IN_PROGRESS" for x in last) else None
    return wait_until(done) or last


def images(c, repo):
    try:
        return {(i.get("imageTag"), i["imageDigest"])
                for i in c.list_images(repositoryName=repo)["imageIds"]}
    except botocore.exceptions.ClientError:
        return None


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


def policy(account, actions, resource="*", effect="Allow", cond=None):
    st = {"Sid": "s", "Effect": effect,
          "Principal": {"AWS": "arn:aws:iam::%s:root" % account},
          "Action": actions, "Resource": resource}
    if cond:
        st["Condition"] = cond
    return json.dumps({"Version": "2012-10-17", "Statement": [st]})


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


# --- repository creation templates ------------------------------------------

def test_templates(b):
    c = b.client(C, "eu-central-1")
    t = c.create_repository_creation_template(
        prefix="team", description="team repos",
        appliedFor=["CREATE_ON_PUSH", "REPLICATION"],
        imageTagMutability="IMMUTABLE_WITH_EXCLUSION",
        imageTagMutabilityExclusionFilters=[
            {"filterType": "WILDCARD", "filter": "latest*"}],
        encryptionConfiguration={"encryptionType": "KMS"},
        resourceTags=[{"Key": "team", "Value": "a"}],
        customRoleArn="arn:aws:iam::%s:role/ecr-templates" % C)
    tpl = t["repositoryCreationTemplate"]
    ok("create returns it", t["registryId"] == C and tpl["prefix"] ==
       "team" and tpl["appliedFor"] == ["CREATE_ON_PUSH", "REPLICATION"] and
       tpl["imageTagMutability"] == "IMMUTABLE_WITH_EXCLUSION" and
       "createdAt" in tpl and "updatedAt" in tpl, tpl)
    ok("duplicate", err(c.create_repository_creation_template, prefix="team",
                        appliedFor=["REPLICATION"]) ==
       "TemplateAlreadyExistsException")
    bad = [dict(prefix="Bad", appliedFor=["REPLICATION"]),
           dict(prefix="x", appliedFor=["SOMETIMES"]),
           dict(prefix="x", appliedFor=[]),
           dict(prefix="x", appliedFor=["REPLICATION"],
                imageTagMutability="MUTABLE",
                imageTagMutabilityExclusionFilters=[
                    {"filterType": "WILDCARD", "filter": "a"}]),
           dict(prefix="x", appliedFor=["REPLICATION"],
                imageTagMutability="MUTABLE_WITH_EXCLUSION"),
           dict(prefix="x", appliedFor=["REPLICATION"],
                encryptionConfiguration={"encryptionType": "AES256",
                                         "kmsKey": "arn:aws:kms:eu-central-1:"
                                         "333333333333:key/abc"}),
           dict(prefix="x", appliedFor=["REPLICATION"],
                repositoryPolicy="{not json"),
           dict(prefix="x", appliedFor=["REPLICATION"],
                lifecyclePolicy="{}"),
           dict(prefix="x", appliedFor=["REPLICATION"],
                resourceTags=[{"Key": "aws:x", "Value": "y"}]),
           dict(prefix="x", appliedFor=["REPLICATION"],
                customRoleArn="arn:aws:iam::%s:role/other" % A),
           dict(prefix="x", appliedFor=["REPLICATION"],
                description="d" * 257)]
    for kw in bad:
        e = err(c.create_repository_creation_template, **kw)
        ok("invalid template %s" % list(kw.items())[-1][0],
           e in ("InvalidParameterException", "ValidationException",
                 "InvalidTagParameterException", "ParamValidationError"), e)
    ok("ROOT", c.create_repository_creation_template(
        prefix="ROOT", appliedFor=["CREATE_ON_PUSH"])[
        "repositoryCreationTemplate"]["prefix"] == "ROOT")
    for p in ["a1", "a2", "a3", "team/special"]:
        c.create_repository_creation_template(prefix=p,
                                              appliedFor=["REPLICATION"])
    pages = list(c.get_paginator(
        "describe_repository_creation_templates").paginate(
        PaginationConfig={"PageSize": 2}))
    got = [t["prefix"] for p in pages for t in p[
        "repositoryCreationTemplates"]]
    ok("paginated in prefix order", got == sorted(got) and len(got) == 6 and
       len(pages) == 3, got)
    ok("by prefix, unknown ones return nothing",
       [t["prefix"] for t in c.describe_repository_creation_templates(
           prefixes=["a2", "zz"])["repositoryCreationTemplates"]] == ["a2"])
    u = c.update_repository_creation_template(
        prefix="a1", imageTagMutability="IMMUTABLE")[
        "repositoryCreationTemplate"]
    ok("update changes what it names", u["imageTagMutability"] ==
       "IMMUTABLE" and u["appliedFor"] == ["REPLICATION"], u)
    ok("update missing", err(c.update_repository_creation_template,
                             prefix="zz", imageTagMutability="MUTABLE") ==
       "TemplateNotFoundException")
    ok("delete missing", err(c.delete_repository_creation_template,
                             prefix="zz") == "TemplateNotFoundException")
    ok("delete returns it", c.delete_repository_creation_template(
        prefix="a3")["repositoryCreationTemplate"]["prefix"] == "a3")
    ok("deleted", c.describe_repository_creation_templates(
        prefixes=["a3"])["repositoryCreationTemplates"] == [])
    ok("not applied to CreateRepository", c.create_repository(
        repositoryName="team/manual")["repository"][
        "imageTagMutability"] == "MUTABLE")
    # ECR assumes a '/' after every prefix: "slashed/" and "slashed" are one
    # template, stored and reported without the slash.
    t = c.create_repository_creation_template(
        prefix="slashed/", appliedFor=["CREATE_ON_PUSH"],
        imageTagMutability="IMMUTABLE")["repositoryCreationTemplate"]
    ok("a trailing slash is dropped", t["prefix"] == "slashed", t)
    ok("... so the prefix without it exists already", err(
        c.create_repository_creation_template, prefix="slashed",
        appliedFor=["REPLICATION"]) == "TemplateAlreadyExistsException")
    ok("... and the other way round", c.create_repository_creation_template(
        prefix="plain", appliedFor=["REPLICATION"]) and err(
        c.create_repository_creation_template, prefix="plain/",
        appliedFor=["REPLICATION"]) == "TemplateAlreadyExistsException")
    ok("described by either form", [
        [x["prefix"] for x in c.describe_repository_creation_templates(
            prefixes=[p])["repositoryCreationTemplates"]]
        for p in ("slashed", "slashed/")] == [["slashed"], ["slashed"]])
    ok("updated by either form", c.update_repository_creation_template(
        prefix="slashed", description="either")[
        "repositoryCreationTemplate"]["description"] == "either")
    c.initiate_layer_upload(repositoryName="slashed/app")
    ok("applied to the names under it", c.describe_repositories(
        repositoryNames=["slashed/app"])["repositories"][0][
        "imageTagMutability"] == "IMMUTABLE")
    ok("deleted by either form", c.delete_repository_creation_template(
        prefix="plain/")["repositoryCreationTemplate"]["prefix"] == "plain")


def test_create_on_push(b):
    c = b.client(A, "ap-south-1")
    good, why = skopeo_push(b, oci_layout("cop")[0], "nope/app", "v1", A,
                            "ap-south-1")
    ok("no template: push refused", not good and "NAME_UNKNOWN" in why or
       "not found" in why.lower() or "unknown" in why.lower(), why)
    c.create_repository_creation_template(
        prefix="team", appliedFor=["CREATE_ON_PUSH"],
        imageTagMutability="IMMUTABLE",
        resourceTags=[{"Key": "owner", "Value": "team"}])
    c.create_repository_creation_template(
        prefix="team/special", appliedFor=["CREATE_ON_PUSH"],
        imageTagMutability="MUTABLE_WITH_EXCLUSION",
        imageTagMutabilityExclusionFilters=[
            {"filterType": "WILDCARD", "filter": "release-*"}])
    c.create_repository_creation_template(prefix="repl",
                                          appliedFor=["REPLICATION"])
    push(b, "team/app", "v1", A, "ap-south-1")
    repo = c.describe_repositories(repositoryNames=["team/app"])[
        "repositories"][0]
    ok("created on push from the template",
       repo["imageTagMutability"] == "IMMUTABLE", repo)
    ok("with the template's tags", c.list_tags_for_resource(
        resourceArn=repo["repositoryArn"])["tags"] ==
        [{"Key": "owner", "Value": "team"}])
    push(b, "team/special/x", "v1", A, "ap-south-1")
    ok("the longest prefix wins", c.describe_repositories(
        repositoryNames=["team/special/x"])["repositories"][0][
        "imageTagMutability"] == "MUTABLE_WITH_EXCLUSION")
    good, why = skopeo_push(b, oci_layout("cop2")[0], "teams/app", "v1", A,
                            "ap-south-1")
    ok("a prefix stands for itself and a slash", not good, why)
    good, why = skopeo_push(b, oci_layout("cop3")[0], "repl/app", "v1", A,
                            "ap-south-1")
    ok("only for the uses appliedFor names", not good, why)
    # Through the ECR API (boto3): InitiateLayerUpload, the first write of
    # a push, creates the repository; PutImage then completes the push.
    def api_upload(repo, data):
        up = c.initiate_layer_upload(repositoryName=repo)
        c.upload_layer_part(repositoryName=repo, uploadId=up["uploadId"],
                            partFirstByte=0, partLastByte=len(data) - 1,
                            layerPartBlob=data)
        d = "sha256:" + hashlib.sha256(data).hexdigest()
        c.complete_layer_upload(repositoryName=repo, uploadId=up["uploadId"],
                                layerDigests=[d])
        return {"mediaType": "application/vnd.oci.image.layer.v1.tar",
                "digest": d, "size": len(data)}
    layer = api_upload("team/api", b"an API layer")
    config = api_upload("team/api", b"{}")
    config["mediaType"] = "application/vnd.oci.image.config.v1+json"
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": config, "layers": [layer]})
    put = c.put_image(repositoryName="team/api", imageTag="v1",
                      imageManifest=manifest)
    ok("ECR API push into a missing repository", put["image"]["imageId"][
        "imageTag"] == "v1", put)
    ok("InitiateLayerUpload created it from the template",
       c.describe_repositories(repositoryNames=["team/api"])[
           "repositories"][0]["imageTagMutability"] == "IMMUTABLE")
    index = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": []})
    c.put_image(repositoryName="team/index", imageTag="v1",
                imageManifest=index)
    ok("PutImage creates it too", c.describe_repositories(
        repositoryNames=["team/index"])["repositories"][0][
        "imageTagMutability"] == "IMMUTABLE")
    ok("PutImage refused before the repository is created", err(
        c.put_image, repositoryName="team/bad", imageTag="v1",
        imageManifest="{not json") == "InvalidParameterException" and err(
        c.describe_repositories, repositoryNames=["team/bad"]) ==
        "RepositoryNotFoundException")
    # BatchCheckLayerAvailability only reads: AWS documents no creation by
    # it, so a covered but missing repository stays missing.
    ok("BatchCheckLayerAvailability does not create", err(
        c.batch_check_layer_availability, repositoryName="team/check",
        layerDigests=["sha256:" + "0" * 64]) ==
        "RepositoryNotFoundException" and err(
        c.describe_repositories, repositoryNames=["team/check"]) ==
        "RepositoryNotFoundException")
    ok("InitiateLayerUpload without a template", err(
        c.initiate_layer_upload, repositoryName="nope/api") ==
        "RepositoryNotFoundException")
    ok("PutImage without a template", err(
        c.put_image, repositoryName="nope/index", imageTag="v1",
        imageManifest=index) == "RepositoryNotFoundException")
    ok("a REPLICATION template does not create on push", err(
        c.initiate_layer_upload, repositoryName="repl/api") ==
        "RepositoryNotFoundException")
    # podman too, into a name only ROOT covers.
    c.create_repository_creation_template(prefix="ROOT",
                                          appliedFor=["CREATE_ON_PUSH"])
    ok("podman push creates", *podman_push(b, "anything/else", A,
                                           "ap-south-1"))
    ok("ROOT created it", c.describe_repositories(
        repositoryNames=["anything/else"])["repositories"][0][
        "imageTagMutability"] == "MUTABLE")


def podman_push(b, repo, account, region, tag="v1", seed=None):
    """Push an image with podman: (success, what failed with its stderr).
    Every step runs to its exit; the push has been acknowledged (the
    manifest PUT answered) when podman exits 0."""
    home = os.path.join(TMP, "podman")
    os.makedirs(home, exist_ok=True)
    env = dict(os.environ)
    conf = os.path.join(home, "storage.conf")
    with open(conf, "w") as f:
        f.write('[storage]\ndriver = "vfs"\nrunroot = "%s/run"\n'
                'graphroot = "%s/root"\n' % (home, home))
    env["CONTAINERS_STORAGE_CONF"] = conf
    env["REGISTRY_AUTH_FILE"] = os.path.join(home, "auth.json")
    with open(env["REGISTRY_AUTH_FILE"], "w") as f:
        f.write("{}")
    layout, _ = oci_layout("podman-%s-%s" % (repo.replace("/", "_"), tag),
                           seed=seed)
    pod = ["podman", "--root", home + "/root", "--runroot", home + "/run"]
    dest = "127.0.0.1:%d/%s:%s" % (b.port, repo, tag)

    def run(cmd):
        r = subprocess.run(cmd, env=env, capture_output=True, text=True)
        return r, "%s exited %d: %s" % (" ".join(cmd[5:7]), r.returncode,
                                         r.stderr.strip())
    r, why = run(pod + ["pull", "-q", "oci:%s:x" % layout])
    if r.returncode != 0:
        return False, why
    image_id = r.stdout.strip().splitlines()[-1]
    for cmd in (pod + ["tag", image_id, dest],
                pod + ["push", "-q", "--tls-verify=false", "--creds",
                       "AWS:" + b.password(account, region), dest]):
        r, why = run(cmd)
        if r.returncode != 0:
            return False, why
    return True, ""


# --- managed signing ----------------------------------------------------------

VERIFY = r'''
import base64, hashlib, json, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from cryptography.x509.oid import ExtendedKeyUsageOID

def b64u(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))

env = json.load(open(sys.argv[1]))
manifest = json.load(open(sys.argv[2]))
trusted = x509.load_pem_x509_certificate(open(sys.argv[3], "rb").read())
target = sys.argv[4]
chain = [x509.load_der_x509_certificate(base64.b64decode(c))
         for c in env["header"]["x5c"]]
leaf, root = chain[0], chain[-1]
assert root == trusted, "the chain does not end in the published certificate"
prot = json.loads(b64u(env["protected"]))
payload = json.loads(b64u(env["payload"]))
assert prot["cty"] == "application/vnd.cncf.notary.payload.v1+json"
assert prot["io.cncf.notary.signingScheme"] == "notary.x509"
assert "io.cncf.notary.signingScheme" in prot["crit"]
assert payload["targetArtifact"]["digest"] == target
data = (env["protected"] + "." + env["payload"]).encode()
sig = b64u(env["signature"])
alg = prot["alg"]
pub = leaf.public_key()
hashes_of = {"256": hashes.SHA256(), "384": hashes.SHA384(),
             "512": hashes.SHA512()}
h = hashes_of[alg[2:]]
if alg.startswith("ES"):
    n = len(sig) // 2
    pub.verify(utils.encode_dss_signature(int.from_bytes(sig[:n], "big"),
               int.from_bytes(sig[n:], "big")), data, ec.ECDSA(h))
else:
    pub.verify(sig, data, padding.PSS(mgf=padding.MGF1(h),
               salt_length=h.digest_size), h)
ku = leaf.extensions.get_extension_for_class(x509.KeyUsage)
assert ku.critical and ku.value.digital_signature
eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
assert ExtendedKeyUsageOID.CODE_SIGNING in eku.value
thumbs = json.loads(manifest["annotations"][
    "io.cncf.notary.x509chain.thumbprint#S256"])
from cryptography.hazmat.primitives.serialization import Encoding
assert thumbs == [hashlib.sha256(c.public_bytes(Encoding.DER)).hexdigest()
                  .upper() for c in chain]
# The root signs itself (or the leaf is its own root).
root.public_key().verify(root.signature, root.tbs_certificate_bytes,
    ec.ECDSA(root.signature_hash_algorithm)
    if isinstance(root.public_key(), ec.EllipticCurvePublicKey)
    else padding.PKCS1v15(), *([] if isinstance(root.public_key(),
    ec.EllipticCurvePublicKey) else [root.signature_hash_algorithm]))
print("verified", alg)
'''


def verify_signature(b, account, region, repo, digest, cert_pem):
    """The signatures of digest in repo, each verified independently."""
    refs = json.loads(b.get("/v2/%s/referrers/%s" % (repo, digest), account,
                            region))["manifests"]
    sigs = [r for r in refs if r.get("artifactType") == NOTARY]
    results = []
    for s in sigs:
        m = json.loads(b.get("/v2/%s/manifests/%s" % (repo, s["digest"]),
                             account, region, OCI_MANIFEST))
        env = b.get("/v2/%s/blobs/%s" % (repo, m["layers"][0]["digest"]),
                    account, region)
        paths = []
        for name, data in (("env", env), ("manifest", json.dumps(m).encode()),
                           ("cert", cert_pem)):
            p = os.path.join(TMP, "%s-%s" % (name, s["digest"][7:19]))
            with open(p, "wb") as f:
                f.write(data)
            paths.append(p)
        r = subprocess.run(["/usr/bin/python3", "-c", VERIFY] + paths +
                           [digest], capture_output=True, text=True)
        results.append((r.returncode == 0 and m["subject"]["digest"] ==
                        digest and m["config"]["mediaType"] == NOTARY and
                        m["layers"][0]["mediaType"] ==
                        "application/jose+json", r.stdout + r.stderr, m))
    return results


def admin_cert(b, account, region):
    try:
        with urllib.request.urlopen(
                b.endpoint + "/_berth/signing-certificate?account=%s&"
                "region=%s" % (account, region)) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_signing(b):
    c = b.client(A, "eu-west-3")
    ok("get without configuration", err(c.get_signing_configuration) ==
       "SigningConfigurationNotFoundException")
    ok("delete without configuration", err(c.delete_signing_configuration) ==
       "SigningConfigurationNotFoundException")
    p1 = "arn:aws:signer:eu-west-3:%s:/signing-profiles/first" % A
    p2 = "arn:aws:signer:eu-west-3:%s:/signing-profiles/second" % A
    ok("profile in another region", err(
        c.put_signing_configuration, signingConfiguration={"rules": [
            {"signingProfileArn": p1.replace("eu-west-3", "us-east-1")}]}) ==
        "InvalidParameterException")
    ok("bad profile ARN", err(
        c.put_signing_configuration, signingConfiguration={"rules": [
            {"signingProfileArn": "arn:aws:s3:::bucket"}]}) is not None)
    ok("11 rules", err(c.put_signing_configuration, signingConfiguration={
        "rules": [{"signingProfileArn": p1}] * 11}) is not None)
    ok("bad filter type", err(
        c.put_signing_configuration, signingConfiguration={"rules": [
            {"signingProfileArn": p1, "repositoryFilters": [
                {"filter": "x", "filterType": "PREFIX_MATCH"}]}]}) is not None)
    conf = {"rules": [
        {"signingProfileArn": p1},
        {"signingProfileArn": p2, "repositoryFilters": [
            {"filter": "*prod*", "filterType": "WILDCARD_MATCH"}]}]}
    ok("put", c.put_signing_configuration(signingConfiguration=conf)[
        "signingConfiguration"] == conf)
    ok("get", c.get_signing_configuration()["signingConfiguration"] == conf)
    code, _ = admin_cert(b, A, "eu-west-3")
    ok("no certificate before the first signature", code == 404)

    c.create_repository(repositoryName="svc/prod-api")
    d = push(b, "svc/prod-api", "v1", A, "eu-west-3")
    st = settled(c, "svc/prod-api", d, "signing")
    ok("one status per matching profile", sorted(
        (s["signingProfileArn"], s["status"]) for s in st) ==
        [(p1, "COMPLETE"), (p2, "COMPLETE")], st)
    code, cert = admin_cert(b, A, "eu-west-3")
    ok("certificate published", code == 200 and cert.startswith(
        b"-----BEGIN CERTIFICATE-----"), cert[:60])
    res = verify_signature(b, A, "eu-west-3", "svc/prod-api", d, cert)
    ok("two signatures, verified independently", len(res) == 2 and
       all(r[0] for r in res), [r[1] for r in res])
    ok("profiles named on the signatures", sorted(
        r[2]["annotations"].get("dev.berth.signing-profile-arn", "")
        for r in res) == [p1, p2])
    refs = c.list_images(repositoryName="svc/prod-api")["imageIds"]
    sig_digests = [r["imageDigest"] for r in refs if r["imageDigest"] != d]
    ok("signatures are not signed", all(
        statuses(c, "svc/prod-api", s, "signing") == [] for s in
        sig_digests), sig_digests)

    c.create_repository(repositoryName="svc/dev")
    d2 = push(b, "svc/dev", "v1", A, "eu-west-3")
    st = settled(c, "svc/dev", d2, "signing")
    ok("filters choose the profiles", [s["signingProfileArn"] for s in st] ==
       [p1], st)
    out = c.delete_signing_configuration()
    ok("delete returns it", out["signingConfiguration"] == conf)
    ok("signatures stay", len(verify_signature(
        b, A, "eu-west-3", "svc/dev", d2, cert)) == 1)
    d3 = push(b, "svc/dev", "v2", A, "eu-west-3", seed="unsigned")
    ok("nothing signed without a configuration", statuses(
        c, "svc/dev", d3, "signing") == [])
    ok("status of a missing image", err(
        c.describe_image_signing_status, repositoryName="svc/dev",
        imageId={"imageTag": "none"}) == "ImageNotFoundException")
    ok("status in a missing repository", err(
        c.describe_image_signing_status, repositoryName="svc/none",
        imageId={"imageTag": "v1"}) == "RepositoryNotFoundException")


def make_signing_key(name, curve, cn):
    """A key and a code-signing certificate: (key path, cert path)."""
    key = os.path.join(TMP, name + ".pem")
    cert = os.path.join(TMP, name + ".crt")
    ext = os.path.join(TMP, "ext.cnf")
    with open(ext, "w") as f:
        f.write("[v3]\nbasicConstraints=critical,CA:FALSE\n"
                "keyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=codeSigning\n")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:" + curve, "-nodes",
                    "-keyout", key, "-out", cert, "-days", "30",
                    "-subj", "/O=test/CN=" + cn, "-config", "/dev/null",
                    "-extensions", "v3", "-addext",
                    "keyUsage=critical,digitalSignature"],
                   check=False, capture_output=True)
    if not os.path.exists(cert):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                        "-pkeyopt", "ec_paramgen_curve:" + curve, "-nodes",
                        "-keyout", key, "-out", cert, "-days", "30",
                        "-subj", "/O=test/CN=" + cn,
                        "-addext", "basicConstraints=critical,CA:FALSE",
                        "-addext", "keyUsage=critical,digitalSignature",
                        "-addext", "extendedKeyUsage=codeSigning"],
                       check=True, capture_output=True)
    return key, cert


def write_atomically(path, data):
    with open(path + ".new", "wb") as f:
        f.write(data)
    os.rename(path + ".new", path)


def test_signing_key_flag():
    key, cert = make_signing_key("signing", "P-384", "given key")
    both = os.path.join(TMP, "both.pem")
    write_atomically(both, open(key, "rb").read() + open(cert, "rb").read())
    bad = os.path.join(TMP, "bad.pem")
    with open(bad, "w") as f:
        f.write("not a key\n")
    r = subprocess.run([BERTHD, "--blobd", BLOBD, "--listen",
                        "127.0.0.1:%d" % free_port(), "--data-dir",
                        os.path.join(TMP, "badkey"), "--signing-key", bad],
                       capture_output=True, text=True, timeout=20)
    ok("a bad --signing-key stops berthd", r.returncode != 0 and
       "signing-key" in r.stderr, r.stderr[-200:])
    b = Berthd("--signing-key", both)
    try:
        c = b.client()
        c.put_signing_configuration(signingConfiguration={"rules": [
            {"signingProfileArn":
             "arn:aws:signer:us-east-1:%s:/signing-profiles/given" % A}]})
        c.create_repository(repositoryName="given/app")
        d = push(b, "given/app", "v1")
        st = settled(c, "given/app", d, "signing")
        ok("signed with the given key", st and st[0]["status"] ==
           "COMPLETE", st)
        pem = open(cert, "rb").read()
        code, published = admin_cert(b, A, "us-east-1")
        ok("the given chain is published", code == 200 and
           published.strip() == pem.strip())
        res = verify_signature(b, A, "us-east-1", "given/app", d, pem)
        ok("verified against the given certificate (ES384)", len(res) == 1
           and res[0][0] and "ES384" in res[0][1], res and res[0][1])

        # SIGHUP rereads the file (through the spawner: berthd itself has
        # no filesystem): a new key signs from then on.
        key2, cert2 = make_signing_key("signing2", "P-256", "second key")
        pem2 = open(cert2, "rb").read()
        write_atomically(both, open(key2, "rb").read() + pem2)
        b.proc.send_signal(signal.SIGHUP)
        ok("SIGHUP: the new chain is published", wait_until(
            lambda: admin_cert(b, A, "us-east-1")[1].strip() ==
            pem2.strip()))
        d2 = push(b, "given/app", "v2", seed="after-hup")
        st = settled(c, "given/app", d2, "signing")
        ok("signed after SIGHUP", st and st[0]["status"] == "COMPLETE", st)
        res = verify_signature(b, A, "us-east-1", "given/app", d2, pem2)
        ok("verified against the new certificate (ES256)", len(res) == 1
           and res[0][0] and "ES256" in res[0][1], res and res[0][1])
        # A file that no longer holds a key: the one loaded stays.
        write_atomically(both, b"not a key\n")
        b.proc.send_signal(signal.SIGHUP)

        def kept():
            with open(b.dir + ".log") as f:
                return "keeping the signing key loaded before" in f.read()
        ok("SIGHUP with a bad file: logged", wait_until(kept))
        ok("... and the key loaded before stays", admin_cert(
            b, A, "us-east-1")[1].strip() == pem2.strip())
        d3 = push(b, "given/app", "v3", seed="after-bad-hup")
        settled(c, "given/app", d3, "signing")
        res = verify_signature(b, A, "us-east-1", "given/app", d3, pem2)
        ok("... and still signs", len(res) == 1 and res[0][0],
           res and res[0][1])
    finally:
        b.stop()


# --- durability ---------------------------------------------------------------

def blobd_pid(b):
    out = subprocess.run(["pgrep", "-P", str(b.proc.pid)],
                         capture_output=True, text=True).stdout.split()
    # berthd's child is the spawner; the worker is the spawner's child.
    for spawner in out:
        # Its other child is berth-fetchd.
        kids = subprocess.run(["pgrep", "-P", spawner, "-f", "berth-blobd"],
                              capture_output=True, text=True).stdout.split()
        if kids:
            return int(kids[0])
    return None


def oci_put(b, path, data, ctype, account=A, region="us-east-1",
            method="PUT"):
    tok = b.client(account, region).get_authorization_token()[
        "authorizationData"][0]["authorizationToken"]
    r = urllib.request.Request(b.endpoint + path, data=data, method=method,
                               headers={"Authorization": "Basic " + tok,
                                        "Content-Type": ctype})
    with urllib.request.urlopen(r) as resp:
        return resp.status


def oci_image(b, repo, tag, seed):
    """An image pushed by the OCI API (by digest when tag is None);
    (digest, manifest bytes), so that nothing needs to be pulled (a pull's
    time is written later, an append of its own)."""
    layer = tar_layer("f", seed.encode())
    cfg = json.dumps({"architecture": "amd64", "os": "linux",
                      "seed": seed}).encode()
    for blob in (layer, cfg):
        oci_put(b, "/v2/%s/blobs/uploads/?digest=sha256:%s" % (
            repo, hashlib.sha256(blob).hexdigest()), blob,
            "application/octet-stream", method="POST")
    m = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                    "config": {"mediaType":
                               "application/vnd.oci.image.config.v1+json",
                               "digest": "sha256:" +
                               hashlib.sha256(cfg).hexdigest(),
                               "size": len(cfg)},
                    "layers": [{"mediaType":
                                "application/vnd.oci.image.layer.v1.tar",
                                "digest": "sha256:" +
                                hashlib.sha256(layer).hexdigest(),
                                "size": len(layer)}]}).encode()
    d = "sha256:" + hashlib.sha256(m).hexdigest()
    ok("OCI push %s:%s" % (repo, tag or d), oci_put(
        b, "/v2/%s/manifests/%s" % (repo, tag or d), m, OCI_MANIFEST) == 201)
    return d, m


def test_durability():
    """kill -9 right after an acknowledged push, made certain with gdb:
    berth-blobd stops at the append that follows the push's (the first
    replication or signing record) and is killed there, alone or with
    berthd.  What the push set in motion must complete after the restart."""
    b = Berthd()
    try:
        a = b.client()
        a.put_replication_configuration(replicationConfiguration={"rules": [
            {"destinations": [{"region": "sa-east-1", "registryId": A}]}]})
        a.put_signing_configuration(signingConfiguration={"rules": [
            {"signingProfileArn":
             "arn:aws:signer:us-east-1:%s:/signing-profiles/dur" % A}]})
        a.create_repository(repositoryName="dur/app")
        a2 = b.client(A, "sa-east-1")
        for victim in ("blobd", "berthd", "both"):
            d, manifest = oci_image(b, "dur/app", "base-" + victim, victim)
            settled(a, "dur/app", d, "signing")
            # Every image, the signatures too, replicated: nothing else
            # is left to append before the watched push.
            for _, digest in images(a, "dur/app"):
                settled(a, "dur/app", digest)
            pid = blobd_pid(b)
            ok("found berth-blobd", pid is not None)
            cmds = ["break metalog_append", "ignore 1 1", "echo READY\\n",
                    "continue"]
            if victim != "blobd":
                cmds.append("shell kill -9 %d" % b.proc.pid)
            if victim != "berthd":
                cmds.append("kill")
            else:
                # berthd alone dies; blobd follows when its socket closes.
                cmds.append("detach")
            g = subprocess.Popen(
                ["gdb", "-p", str(pid), "-batch", "-nx"] +
                [x for c in cmds for x in ("-ex", c)],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            out = ""
            for line in g.stdout:
                out += line
                if "READY" in line:
                    break
            ok("tag pushed while blobd is watched", oci_put(
                b, "/v2/dur/app/manifests/" + victim, manifest,
                OCI_MANIFEST) == 201)
            out += g.communicate(timeout=60)[0]
            ok("blobd stopped at the next append (%s)" % victim,
               "Breakpoint 1," in out, out[-400:])
            if victim != "blobd":
                b.proc.wait()
                b.log.close()
                b.start()
            st = settled(a, "dur/app", d)
            ok("replication completes after kill -9 of %s" % victim,
               st and all(x["status"] == "COMPLETE" for x in st), st)
            ok("the replica has the tag pushed before kill -9 of %s" %
               victim, (victim, d) in (images(a2, "dur/app") or set()))
            st = settled(a, "dur/app", d, "signing")
            ok("signing completes after kill -9 of %s" % victim,
               st and st[0]["status"] == "COMPLETE", st)
        with open(b.dir + ".log") as f:
            ok("the work was resumed from the disk",
               "jobs to finish" in f.read())
        # Everything set survives a restart.
        a.put_account_setting(name="BLOB_MOUNTING", value="ENABLED")
        a.create_repository_creation_template(prefix="keep",
                                              appliedFor=["REPLICATION"])
        a.put_registry_policy(policyText=policy(B, ["ecr:ReplicateImage"]))
        b.stop()
        b.start()
        ok("setting kept", a.get_account_setting(name="BLOB_MOUNTING")[
            "value"] == "ENABLED")
        ok("template kept", len(a.describe_repository_creation_templates(
            prefixes=["keep"])["repositoryCreationTemplates"]) == 1)
        ok("policy kept", "ecr:ReplicateImage" in a.get_registry_policy()[
            "policyText"])
        ok("replication kept", a.describe_registry()[
            "replicationConfiguration"]["rules"][0]["destinations"][0][
            "region"] == "sa-east-1")
        ok("signing kept", a.get_signing_configuration()[
            "signingConfiguration"]["rules"][0]["signingProfileArn"].endswith(
            "/dur"))
    finally:
        b.stop()


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
