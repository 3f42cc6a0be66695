#!/usr/bin/env python3
# Copyright (c) 2026 The berth authors
#
# Permission to use, copy, modify, and distribute this software for any
# purpose with or without fee is hereby granted, provided that the above
# copyright notice and this permission notice appear in all copies.
#
# THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHORS DISCLAIM ALL WARRANTIES
# WITH REGARD TO THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF
# MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHORS BE LIABLE FOR
# ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES
# WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN
# ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF
# OR IN CONNECTION WITH THE USE OR PERFORMANCE OF THIS SOFTWARE.
"""Lifecycle policies on images pushed the way users push them: by skopeo
and podman, with tags that move and leave untagged images behind.  Each
selection rule (tagPrefixList, tagPatternList, untagged, sinceImagePushed,
imageCountMoreThan, sinceImageTransitioned) and both actions (expire, and
transition to the archive) are run by POST /_berth/lifecycle/run at times
set with the test clock, and an index with its children and a signature
(a referrer) go together; the preview (boto3's waiter) shows what the run
then does; an archived image refuses a pull by skopeo and podman.

BERTHD and BLOBD name the binaries.  Prints "N passed, N failed", exits
non-zero on any failure.
"""

import base64
import hashlib
import json
import os
import shutil
import subprocess

import lifecycle_boto3 as lc
from lifecycle_boto3 import DAY, ok, policy, rule

# registry.py's image layouts, skopeo and OCI pushes (its harness,
# pylib/registry_it.py); it makes a directory of its own on import, which
# this script replaces with its own, and its checks count here.
import registry_it as registry
shutil.rmtree(registry.TMP, ignore_errors=True)
TMP = registry.TMP = registry.private_tmp()
registry.ok = ok
ACCOUNT = "000000000000"


class Berthd(lc.Berthd):
    def password(self, account=ACCOUNT, region="us-east-1"):
        tok = self.client().get_authorization_token()[
            "authorizationData"][0]["authorizationToken"]
        return base64.b64decode(tok).decode().split(":", 1)[1]


def skopeo(b, repo, tag, seed):
    """Pushes a new image (its layers from seed) as repo:tag; its
    digest."""
    layout, _ = registry.oci_layout(seed)
    good, why = registry.skopeo_push(b, layout, repo, tag, ACCOUNT)
    ok("skopeo push %s:%s" % (repo, tag), good, why)
    return digest_of(b, repo, tag)


def digest_of(b, repo, tag):
    return b.client().describe_images(
        repositoryName=repo, imageIds=[{"imageTag": tag}])[
        "imageDetails"][0]["imageDigest"]


class Podman:
    """podman with its own storage under TMP, logged in to berthd."""

    def __init__(self, b):
        home = os.path.join(TMP, "podman")
        os.makedirs(home, exist_ok=True)
        conf = os.path.join(home, "storage.conf")
        with open(conf, "w") as f:
            f.write('[storage]\ndriver = "vfs"\nrunroot = "%s/run"\n'
                    'graphroot = "%s/root"\n' % (home, home))
        self.env = dict(os.environ, CONTAINERS_STORAGE_CONF=conf,
                        REGISTRY_AUTH_FILE=os.path.join(home, "auth.json"))
        with open(self.env["REGISTRY_AUTH_FILE"], "w") as f:
            f.write("{}")
        self.pod = ["podman", "--root", home + "/root", "--runroot",
                    home + "/run"]
        self.b = b
        self.host = "127.0.0.1:%d" % b.port
        self.run(["login", "--tls-verify=false", "-u", "AWS", "-p",
                  b.password(), self.host])

    def run(self, args):
        """(success, standard output, or the error output on failure);
        podman may warn on its error output when it succeeds."""
        r = subprocess.run(self.pod + args, env=self.env,
                           capture_output=True, text=True)
        return r.returncode == 0, r.stdout if r.returncode == 0 else \
            r.stdout + r.stderr

    def push(self, repo, tags, seed):
        """A new image (from seed) pushed under each of tags; its
        digest."""
        layout, _ = registry.oci_layout(seed)
        good, out = self.run(["pull", "-q", "oci:%s:x" % layout])
        ok("podman pull of %s" % seed, good and out.strip(), out)
        image = out.strip().splitlines()[-1] if good and out.strip() else ""
        for t in tags:
            dest = "%s/%s:%s" % (self.host, repo, t)
            g, why = self.run(["tag", image, dest])
            if g:
                g, why = self.run(["push", "-q", "--tls-verify=false",
                                   dest])
            ok("podman push %s:%s" % (repo, t), g, why)
        return digest_of(self.b, repo, tags[0])

    def pull(self, repo, tag):
        return self.run(["pull", "-q", "--tls-verify=false",
                         "%s/%s:%s" % (self.host, repo, tag)])[0]


def left(c, repo):
    """{digest: (status, sorted tags)} of every image."""
    return {d: (v["imageStatus"], sorted(v.get("imageTags", [])))
            for d, v in lc.images(c, repo).items()}


def test_prefix_and_count(b, c, pod):
    """tagPrefixList with imageCountMoreThan: the oldest releases beyond
    the count go, whatever pushed them; other tags stay; the preview
    shows exactly that first."""
    c.create_repository(repositoryName="cl-prefix")
    rel = []
    for i in range(4):
        rel.append(skopeo(b, "cl-prefix", "release-%d" % i, "rel%d" % i)
                   if i % 2 else pod.push("cl-prefix", ["release-%d" % i],
                                          "rel%d" % i))
        b.advance(60)
    dev = skopeo(b, "cl-prefix", "dev-1", "dev1")
    c.put_lifecycle_policy(repositoryName="cl-prefix",
                           lifecyclePolicyText=policy(rule(1, {
                               "tagStatus": "tagged",
                               "tagPrefixList": ["release-"],
                               "countType": "imageCountMoreThan",
                               "countNumber": 2})))
    c.start_lifecycle_policy_preview(repositoryName="cl-prefix")
    c.get_waiter("lifecycle_policy_preview_complete").wait(
        repositoryName="cl-prefix", WaiterConfig={"Delay": 1})
    p = c.get_lifecycle_policy_preview(repositoryName="cl-prefix")
    shown = {x["imageDigest"] for x in p["previewResults"]}
    ok("prefix: the preview shows the two oldest releases",
       shown == set(rel[:2]), p["previewResults"])
    r = b.run(repository="cl-prefix")
    ok("prefix: the run expires them", r["expired"] == 2, r)
    ok("prefix: what stays", set(left(c, "cl-prefix")) ==
       set(rel[2:]) | {dev})


def test_pattern_and_age(b, c, pod):
    """tagPatternList with sinceImagePushed: only images old enough whose
    tags match every pattern; an image also tagged otherwise is still
    selected by its matching tag."""
    c.create_repository(repositoryName="cl-pattern")
    old_prod = skopeo(b, "cl-pattern", "app-1-prod", "pat1")
    old_dev = skopeo(b, "cl-pattern", "app-2-dev", "pat2")
    both = pod.push("cl-pattern", ["web-3-prod", "stable"], "pat3")
    b.advance(10 * DAY)
    new_prod = skopeo(b, "cl-pattern", "app-4-prod", "pat4")
    c.put_lifecycle_policy(repositoryName="cl-pattern",
                           lifecyclePolicyText=policy(rule(1, {
                               "tagStatus": "tagged",
                               "tagPatternList": ["*-prod"],
                               "countType": "sinceImagePushed",
                               "countUnit": "days", "countNumber": 5})))
    r = b.run(repository="cl-pattern")
    ok("pattern: the old prod images expire", r["expired"] == 2, r)
    ok("pattern: what stays", set(left(c, "cl-pattern")) ==
       {old_dev, new_prod}, (old_prod, both))


def test_untagged(b, c, pod):
    """A tag pushed again leaves the image it named untagged: an
    untagged imageCountMoreThan rule keeps the newest of those."""
    c.create_repository(repositoryName="cl-untagged")
    first = skopeo(b, "cl-untagged", "latest", "unt1")
    b.advance(60)
    second = pod.push("cl-untagged", ["latest"], "unt2")
    b.advance(60)
    third = skopeo(b, "cl-untagged", "latest", "unt3")
    ok("untagged: the moved tag left two untagged images",
       left(c, "cl-untagged") == {first: ("ACTIVE", []),
                                  second: ("ACTIVE", []),
                                  third: ("ACTIVE", ["latest"])})
    c.put_lifecycle_policy(repositoryName="cl-untagged",
                           lifecyclePolicyText=policy(rule(1, {
                               "tagStatus": "untagged",
                               "countType": "imageCountMoreThan",
                               "countNumber": 1})))
    r = b.run(repository="cl-untagged")
    ok("untagged: the oldest goes", r["expired"] == 1 and
       set(left(c, "cl-untagged")) == {second, third}, r)


def archive_after(c, repo, prefixes):
    """Archives what the prefixes select 30 days after its push, expires
    what has been in the archive 90 days."""
    c.put_lifecycle_policy(
        repositoryName=repo, lifecyclePolicyText=policy(
            rule(1, {"tagStatus": "tagged", "tagPrefixList": prefixes,
                     "countType": "sinceImagePushed", "countUnit": "days",
                     "countNumber": 30}, "transition"),
            rule(2, {"tagStatus": "any", "storageClass": "archive",
                     "countType": "sinceImageTransitioned",
                     "countUnit": "days", "countNumber": 90})))


def test_archive(b, c, pod):
    """transition to the archive after sinceImagePushed, then expiry
    after sinceImageTransitioned; an archived image refuses a pull by
    skopeo and podman until it is restored."""
    c.create_repository(repositoryName="cl-archive")
    old1 = pod.push("cl-archive", ["old-1"], "arc1")
    old2 = skopeo(b, "cl-archive", "old-2", "arc2")
    b.advance(40 * DAY)
    new = skopeo(b, "cl-archive", "new-1", "arc3")
    archive_after(c, "cl-archive", ["old-", "new-"])
    # tagPrefixList ["old-", "new-"] needs both prefixes on one image:
    # none has them, so nothing is selected.
    r = b.run(repository="cl-archive")
    ok("archive: both prefixes are needed", r["transitioned"] == 0, r)
    archive_after(c, "cl-archive", ["old-"])
    r = b.run(repository="cl-archive")
    ok("archive: the old are archived", r["transitioned"] == 2 and left(
       c, "cl-archive") == {old1: ("ARCHIVED", ["old-1"]),
                            old2: ("ARCHIVED", ["old-2"]),
                            new: ("ACTIVE", ["new-1"])}, r)
    r = subprocess.run(["skopeo", "inspect", "--tls-verify=false",
                        "--creds", "AWS:" + b.password(),
                        "docker://127.0.0.1:%d/cl-archive:old-2" % b.port],
                       capture_output=True, text=True)
    ok("archive: skopeo cannot pull an archived image", r.returncode != 0,
       r.stdout)
    ok("archive: neither can podman", not pod.pull("cl-archive", "old-1"))
    ok("archive: the active one pulls", pod.pull("cl-archive", "new-1"))
    b.advance(91 * DAY)
    r = b.run(repository="cl-archive")
    ok("archive: expired after 90 days in the archive", r["expired"] == 2 and
       set(left(c, "cl-archive")) == {new}, r)


def test_index_and_referrer(b, c, pod):
    """An index's children go only with the index, and a referrer (a
    signature, untagged) follows its subject: an untagged rule alone
    touches none of them; once a rule expires the index, all four go.
    Pushed through /v2/ (registry.py's helpers, in its account A)."""
    ca = b.client(registry.A)
    repo = "cl-index"
    ca.create_repository(repositoryName=repo)
    children = []
    for arch in ("amd64", "arm64"):
        d, m = registry.oci_image(b, repo, None, "index-" + arch)
        children.append({"mediaType": registry.OCI_MANIFEST, "digest": d,
                         "size": len(m),
                         "platform": {"architecture": arch, "os": "linux"}})
    idx = json.dumps({"schemaVersion": 2, "mediaType": registry.OCI_INDEX,
                      "manifests": children}).encode()
    empty = b"{}"
    e = {"mediaType": "application/vnd.oci.empty.v1+json",
         "digest": "sha256:" + hashlib.sha256(empty).hexdigest(), "size": 2}
    sig = json.dumps({"schemaVersion": 2,
                      "mediaType": registry.OCI_MANIFEST,
                      "artifactType": "application/vnd.example.signature",
                      "config": e, "layers": [e],
                      "subject": {"mediaType": registry.OCI_INDEX,
                                  "digest": "sha256:" + hashlib.sha256(
                                      idx).hexdigest(),
                                  "size": len(idx)}}).encode()
    ok("index and signature pushed", registry.oci_put(
       b, "/v2/%s/manifests/multi" % repo, idx, registry.OCI_INDEX) ==
       201 and registry.oci_put(
       b, "/v2/%s/blobs/uploads/?digest=%s" % (repo, e["digest"]), empty,
       "application/octet-stream", method="POST") == 201 and
       registry.oci_put(b, "/v2/%s/manifests/sha256:%s" % (
           repo, hashlib.sha256(sig).hexdigest()), sig,
           registry.OCI_MANIFEST) == 201)
    ok("four images", len(left(ca, repo)) == 4)
    b.advance(10 * DAY)
    untagged = rule(1, {"tagStatus": "untagged",
                        "countType": "sinceImagePushed",
                        "countUnit": "days", "countNumber": 5})
    ca.put_lifecycle_policy(repositoryName=repo,
                            lifecyclePolicyText=policy(untagged))
    r = b.run(repository=repo)
    ok("index: children and signature stay with their index",
       r["expired"] == 0 and len(left(ca, repo)) == 4, r)
    untagged["rulePriority"] = 2
    ca.put_lifecycle_policy(repositoryName=repo, lifecyclePolicyText=policy(
        rule(1, {"tagStatus": "tagged", "tagPrefixList": ["multi"],
                 "countType": "sinceImagePushed", "countUnit": "days",
                 "countNumber": 5}), untagged))
    r = b.run(repository=repo)
    ok("index: expired with its children and signature",
       r["expired"] == 4 and left(ca, repo) == {}, r)


def main():
    b = Berthd()
    b.start()
    pod = Podman(b)
    try:
        lc.run_suite(b, (test_prefix_and_count, test_pattern_and_age,
                         test_untagged, test_archive,
                         test_index_and_referrer),
                     lambda: (b.client(), pod))
    finally:
        shutil.rmtree(TMP, ignore_errors=True)


if __name__ == "__main__":
    main()
