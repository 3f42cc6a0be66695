#!/usr/bin/env python3
"""Image lifecycle driven by boto3 against a real berthd started from the
build tree: PutLifecyclePolicy / GetLifecyclePolicy / DeleteLifecyclePolicy
and their errors, real expiry and archiving by POST /_berth/lifecycle/run
and on a schedule (--lifecycle-interval), with images pushed by PutImage at times set with the test clock (POST
/_berth/clock), the clock surviving a restart, and kill -9 of berthd and
of berth-blobd during a run losing nothing and doing nothing twice, and
leaving each image, tagged ones pushed through /v2/ included, expired or
archived whole or not at all.

It needs a botocore with the lifecycle and archive operations (the
machine's default python3; Debian's 1.26 lacks them).  BERTHD and BLOBD
name the binaries.  Prints "N passed, N failed", exits non-zero on any
failure.
"""

import hashlib
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
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
from berth_it import err, free_port, ok  # noqa: E402

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
BERTHD = os.environ.get("BERTHD", os.path.join(TOP, "build/daemon/berthd"))
BLOBD = os.environ.get("BLOBD", os.path.join(TOP, "build/blobd/berth-blobd"))
DAY = 86400





class Berthd:
    """berthd on a private port; start() again reuses the data."""

    def __init__(self, args=()):
        self.dir = tempfile.mkdtemp(prefix="berth-lifecycle.")
        self.proc = None
        self.args = list(args)

    def start(self):
        self.port = free_port()
        self.endpoint = "http://127.0.0.1:%d" % self.port
        self.log = open(os.path.join(self.dir, "berthd.log"), "a")
        self.proc = subprocess.Popen(
            [BERTHD, "--blobd", BLOBD, "--listen",
             "127.0.0.1:%d" % self.port, "--data-dir",
             os.path.join(self.dir, "data")] + self.args,
            stdout=self.log, stderr=subprocess.STDOUT)
        self.wait_healthy()

    def wait_healthy(self, old_blobd=None):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                h = self.admin("GET", "health")
                if h.get("status") == "ok" and h.get("blobd_pid") != \
                        old_blobd:
                    return h
            except Exception:
                pass
            time.sleep(0.05)
        raise RuntimeError("berthd did not become healthy")

    def stop(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)
        self.proc.wait(timeout=20)
        self.log.close()

    def client(self, key="AKIDEXAMPLE", secret="secret"):
        return boto3.client(
            "ecr", endpoint_url=self.endpoint, region_name="us-east-1",
            aws_access_key_id=key, aws_secret_access_key=secret,
            config=Config(retries={"max_attempts": 1}))

    def admin(self, method, path, body=None, timeout=120):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            self.endpoint + "/_berth/" + path, data=data, method=method)
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return json.loads(resp.read())

    def advance(self, seconds):
        return self.admin("POST", "clock", {"advance_seconds": seconds})

    def run(self, **scope):
        q = "&".join("%s=%s" % kv for kv in scope.items())
        return self.admin("POST", "lifecycle/run" + ("?" + q if q else ""))


def err_message(fn, *a, **kw):
    try:
        fn(*a, **kw)
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Message"]
    return None


def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def upload(c, repo, data):
    up = c.initiate_layer_upload(repositoryName=repo)
    c.upload_layer_part(repositoryName=repo, uploadId=up["uploadId"],
                        partFirstByte=0, partLastByte=len(data) - 1,
                        layerPartBlob=data)
    c.complete_layer_upload(repositoryName=repo, uploadId=up["uploadId"],
                            layerDigests=[sha(data)])
    return sha(data)


class Pusher:
    """Images of one repository told apart by an annotation: one config
    and one layer, uploaded once."""

    def __init__(self, c, repo):
        self.c = c
        self.repo = repo
        cfg = b'{"architecture":"amd64","os":"linux","rootfs":' \
            b'{"type":"layers","diff_ids":[]}}'
        layer = b"a layer\n" * 64
        self.config = {"mediaType": "application/vnd.oci.image.config.v1"
                       "+json", "digest": upload(c, repo, cfg),
                       "size": len(cfg)}
        self.layers = [{"mediaType":
                        "application/vnd.oci.image.layer.v1.tar+gzip",
                        "digest": upload(c, repo, layer),
                        "size": len(layer)}]

    def push(self, name, tag=None):
        m = json.dumps({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": self.config, "layers": self.layers,
            "annotations": {"name": name}})
        kw = {"imageTag": tag} if tag is not None else {}
        r = self.c.put_image(repositoryName=self.repo, imageManifest=m, **kw)
        return r["image"]["imageId"]["imageDigest"]


def images(c, repo, status="ANY"):
    """{digest: image detail} of every image (any status)."""
    out = {}
    for page in c.get_paginator("describe_images").paginate(
            repositoryName=repo, filter={"imageStatus": status}):
        for d in page["imageDetails"]:
            out[d["imageDigest"]] = d
    return out


def policy(*rules):
    return json.dumps({"rules": list(rules)})


def rule(priority, selection, action="expire"):
    a = {"type": action}
    if action == "transition":
        a["targetStorageClass"] = "archive"
    return {"rulePriority": priority, "selection": selection, "action": a}


def test_policy_operations(b, c):
    c.create_repository(repositoryName="ops")
    text = policy(rule(1, {"tagStatus": "untagged",
                           "countType": "sinceImagePushed",
                           "countUnit": "days", "countNumber": 14}))
    ok("get without policy", err(c.get_lifecycle_policy,
       repositoryName="ops") == "LifecyclePolicyNotFoundException")
    m = err_message(c.get_lifecycle_policy, repositoryName="ops")
    ok("not found message", m == "Lifecycle policy does not exist for the "
       "repository with name 'ops' in the registry with id '000000000000'",
       m)
    ok("delete without policy", err(c.delete_lifecycle_policy,
       repositoryName="ops") == "LifecyclePolicyNotFoundException")
    ok("put no repository", err(c.put_lifecycle_policy,
       repositoryName="nope", lifecyclePolicyText=text) ==
       "RepositoryNotFoundException")
    r = c.put_lifecycle_policy(repositoryName="ops", lifecyclePolicyText=text)
    ok("put answers", r["lifecyclePolicyText"] == text and
       r["repositoryName"] == "ops" and r["registryId"] == "000000000000",
       r)
    r = c.get_lifecycle_policy(repositoryName="ops")
    ok("get", r["lifecyclePolicyText"] == text and
       "lastEvaluatedAt" not in r, r)
    for bad, why in (
            ("{" + " " * 120, "syntax"),
            (policy(rule(1, {"tagStatus": "any",
                             "countType": "imageCountMoreThan",
                             "countNumber": 0})), "countNumber 0"),
            (policy(rule(1, {"tagStatus": "tagged",
                             "countType": "imageCountMoreThan",
                             "countNumber": 1})), "tagged without a list"),
            (policy(rule(1, {"tagStatus": "untagged",
                             "countType": "imageCountMoreThan",
                             "countNumber": 1}),
                    rule(1, {"tagStatus": "any",
                             "countType": "imageCountMoreThan",
                             "countNumber": 2})), "duplicate priority"),
            (policy(rule(1, {"tagStatus": "any",
                             "countType": "imageCountMoreThan",
                             "countUnit": "days",
                             "countNumber": 2})), "countUnit with count")):
        e = err(c.put_lifecycle_policy, repositoryName="ops",
                lifecyclePolicyText=bad)
        m = err_message(c.put_lifecycle_policy, repositoryName="ops",
                        lifecyclePolicyText=bad) or ""
        ok("invalid: " + why, e == "InvalidParameterException" and
           "Lifecycle policy validation failure" in m, (e, m))
    ok("invalid kept the old", c.get_lifecycle_policy(
       repositoryName="ops")["lifecyclePolicyText"] == text)
    b.run(repository="ops")
    r = c.get_lifecycle_policy(repositoryName="ops")
    ok("lastEvaluatedAt after a run", "lastEvaluatedAt" in r, r)
    r = c.delete_lifecycle_policy(repositoryName="ops")
    ok("delete answers the policy", r["lifecyclePolicyText"] == text and
       "lastEvaluatedAt" in r, r)
    ok("deleted", err(c.get_lifecycle_policy, repositoryName="ops") ==
       "LifecyclePolicyNotFoundException")


def test_expiry(b, c):
    """Rules of lifecycle_policy_examples.html over pushed images, the
    ages made with the clock."""
    c.create_repository(repositoryName="exp")
    p = Pusher(c, "exp")
    old_untagged = p.push("u1")
    b.advance(DAY)
    prod = [p.push("prod%d" % i, "prod-%d" % i) for i in range(4)]
    b.advance(DAY)
    beta = p.push("beta", "beta-1")
    b.advance(20 * DAY)
    new_untagged = p.push("u2")
    c.put_lifecycle_policy(repositoryName="exp", lifecyclePolicyText=policy(
        rule(1, {"tagStatus": "tagged", "tagPrefixList": ["prod"],
                 "countType": "imageCountMoreThan", "countNumber": 2}),
        rule(2, {"tagStatus": "untagged", "countType": "sinceImagePushed",
                 "countUnit": "days", "countNumber": 14}),
        rule(3, {"tagStatus": "tagged", "tagPatternList": ["beta*"],
                 "countType": "sinceImagePushed", "countUnit": "days",
                 "countNumber": 30})))
    before = c.get_lifecycle_policy(repositoryName="exp")
    r = b.run(repository="exp")
    rep = r["repositories"]
    ok("one repository run", len(rep) == 1 and rep[0]["images"] == 7, r)
    rules = {x["rulePriority"]: x for x in rep[0]["rules"]}
    ok("per rule counts", rules.get(1, {}).get("expired") == 2 and
       rules.get(2, {}).get("expired") == 1 and 3 not in rules, r)
    left = images(c, "exp")
    ok("survivors", set(left) == {prod[2], prod[3], beta, new_untagged},
       sorted(left))
    ok("expired image gone", old_untagged not in left and
       err(c.batch_get_image, repositoryName="exp",
           imageIds=[{"imageDigest": prod[0]}]) is None and
       c.batch_get_image(repositoryName="exp", imageIds=[
           {"imageDigest": prod[0]}])["failures"][0]["failureCode"] ==
       "ImageNotFound")
    ok("tags of expired gone", err(c.batch_get_image, repositoryName="exp",
       imageIds=[{"imageTag": "prod-0"}]) is None and
       not c.batch_get_image(repositoryName="exp",
                             imageIds=[{"imageTag": "prod-0"}])["images"])
    after = c.get_lifecycle_policy(repositoryName="exp")
    ok("lastEvaluatedAt is the clock's", "lastEvaluatedAt" in after and
       "lastEvaluatedAt" not in before and
       after["lastEvaluatedAt"].timestamp() >
       time.time() + 21 * DAY, after)
    r = b.run(repository="exp")
    ok("a second run does nothing", r["expired"] == 0, r)
    b.advance(10 * DAY)
    r = b.run()
    left = images(c, "exp")
    ok("beta after 30 days", beta not in left and r["expired"] == 1 and
       set(left) == {prod[2], prod[3], new_untagged}, (r, sorted(left)))


def test_schedule(b, c):
    """--lifecycle-interval: berthd runs the policies by itself (polled,
    with a bound, for the real second it waits)."""
    s = Berthd(["--lifecycle-interval", "1"])
    s.start()
    try:
        c = s.client()
        c.create_repository(repositoryName="sched")
        p = Pusher(c, "sched")
        old = p.push("old")
        s.advance(10 * DAY)
        new = p.push("new")
        c.put_lifecycle_policy(repositoryName="sched",
                               lifecyclePolicyText=policy(rule(1, {
                                   "tagStatus": "untagged",
                                   "countType": "sinceImagePushed",
                                   "countUnit": "days", "countNumber": 5})))
        deadline = time.monotonic() + 60
        while old in images(c, "sched") and time.monotonic() < deadline:
            time.sleep(0.2)
        ok("a scheduled run expires", set(images(c, "sched")) == {new})
        ok("and sets lastEvaluatedAt", "lastEvaluatedAt" in
           c.get_lifecycle_policy(repositoryName="sched"))
    finally:
        s.stop()
        shutil.rmtree(s.dir, ignore_errors=True)


def test_archive(b, c):
    c.create_repository(repositoryName="arc")
    p = Pusher(c, "arc")
    a = p.push("a", "v1")
    b.advance(DAY)
    keep = p.push("b", "v2")
    b.advance(10 * DAY)
    c.put_lifecycle_policy(repositoryName="arc", lifecyclePolicyText=policy(
        rule(1, {"tagStatus": "any", "countType": "imageCountMoreThan",
                 "countNumber": 1}, "transition")))
    r = b.run(repository="arc")
    ok("archived counted", r["transitioned"] == 1, r)
    d = images(c, "arc")
    ok("archived", set(d) == {a, keep} and
       d[a]["imageStatus"] == "ARCHIVED" and "lastArchivedAt" in d[a] and
       d[keep]["imageStatus"] == "ACTIVE", d)
    ok("active listing", list(images(c, "arc", "ACTIVE")) == [keep])
    ok("default listing", set(x["imageDigest"] for x in c.describe_images(
       repositoryName="arc")["imageDetails"]) == {keep})
    ok("list images archived", [x["imageDigest"] for x in c.list_images(
       repositoryName="arc", filter={"imageStatus": "ARCHIVED"})[
       "imageIds"]] == [a])
    g = c.batch_get_image(repositoryName="arc", imageIds=[{"imageTag": "v1"}])
    ok("archived not served", not g["images"] and
       g["failures"][0]["failureCode"] == "ImageNotFound", g)
    ok("archived pull is 404", http_error(lambda: urllib.request.urlopen(
       b.endpoint + "/v2/arc/manifests/v1")) == 404)
    ok("archive again refused", err(
       c.update_image_storage_class, repositoryName="arc",
       imageId={"imageDigest": a}, targetStorageClass="ARCHIVE") ==
       "ImageStorageClassUpdateNotSupportedException")
    ok("restore active refused", err(
       c.update_image_storage_class, repositoryName="arc",
       imageId={"imageTag": "v2"}, targetStorageClass="STANDARD") ==
       "ImageStorageClassUpdateNotSupportedException")
    ok("storage class of nothing", err(
       c.update_image_storage_class, repositoryName="arc",
       imageId={"imageTag": "nope"}, targetStorageClass="STANDARD") ==
       "ImageNotFoundException")
    r = c.update_image_storage_class(repositoryName="arc",
                                     imageId={"imageTag": "v1"},
                                     targetStorageClass="STANDARD")
    ok("restore starts", r["imageStatus"] == "ACTIVATING" and
       r["imageId"]["imageDigest"] == a, r)
    ok("restoring not served", not c.batch_get_image(
       repositoryName="arc", imageIds=[{"imageTag": "v1"}])["images"])
    b.advance(20 * 60)
    d = images(c, "arc")
    ok("restored after 20 minutes", d[a]["imageStatus"] == "ACTIVE" and
       "lastActivatedAt" in d[a], d[a])
    ok("restored served", len(c.batch_get_image(
       repositoryName="arc", imageIds=[{"imageTag": "v1"}])["images"]) == 1)
    r = c.update_image_storage_class(repositoryName="arc",
                                     imageId={"imageDigest": keep},
                                     targetStorageClass="ARCHIVE")
    ok("archive by hand", r["imageStatus"] == "ARCHIVED", r)
    p.push("b", "v2")
    ok("push again restores at once", images(c, "arc")[keep][
       "imageStatus"] == "ACTIVE")


def test_preview(b, c):
    """The preview, its waiter and paginator, then the real run doing
    exactly what it showed.  Rule 3 counts every image, those of rules 1
    and 2 too ("still see them"), so it marks all but the 10 newest (dev)
    images; rule 1 governs the release images (2 archived) and rule 2 the
    untagged (3 expired): 113 expired, 2 archived."""
    c.create_repository(repositoryName="pre")
    ok("preview without policy", err(c.start_lifecycle_policy_preview,
       repositoryName="pre") == "LifecyclePolicyNotFoundException")
    ok("no preview yet", err(c.get_lifecycle_policy_preview,
       repositoryName="pre") == "LifecyclePolicyPreviewNotFoundException")
    ok("preview of an invalid policy", err(
       c.start_lifecycle_policy_preview, repositoryName="pre",
       lifecyclePolicyText='{"rules": []}' + " " * 100) ==
       "InvalidParameterException")
    p = Pusher(c, "pre")
    untagged = [p.push("u%d" % i) for i in range(3)]
    b.advance(DAY)
    rel = [p.push("r%d" % i, "release-%d" % i) for i in range(5)]
    b.advance(DAY)
    dev = [p.push("d%d" % i, "dev-%d" % i) for i in range(120)]
    b.advance(30 * DAY)
    text = policy(
        rule(1, {"tagStatus": "tagged", "tagPatternList": ["release-*"],
                 "countType": "imageCountMoreThan", "countNumber": 3},
             "transition"),
        rule(2, {"tagStatus": "untagged", "countType": "sinceImagePushed",
                 "countUnit": "days", "countNumber": 7}),
        rule(3, {"tagStatus": "any", "countType": "imageCountMoreThan",
                 "countNumber": 10}))
    r = c.start_lifecycle_policy_preview(repositoryName="pre",
                                         lifecyclePolicyText=text)
    ok("preview started", r["status"] in ("IN_PROGRESS", "COMPLETE") and
       r["lifecyclePolicyText"] == text, r)
    c.get_waiter("lifecycle_policy_preview_complete").wait(
        repositoryName="pre", WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    results = []
    pages = 0
    for page in c.get_paginator("get_lifecycle_policy_preview").paginate(
            repositoryName="pre", PaginationConfig={"PageSize": 50}):
        pages += 1
        results += page["previewResults"]
        summary = page["summary"]
    ok("preview paginated", pages == 3 and len(results) == 115,
       (pages, len(results)))
    by = {x["imageDigest"]: x for x in results}
    ok("preview actions", all(
        by[d]["action"] == {"type": "TRANSITION",
                            "targetStorageClass": "ARCHIVE"} and
        by[d]["appliedRulePriority"] == 1 for d in rel[:2]) and all(
        by[d]["action"]["type"] == "EXPIRE" and
        by[d]["appliedRulePriority"] == 2 for d in untagged) and
        sum(1 for d in dev if d in by) == 110, results[:3])
    ok("preview summary", summary["expiringImageTotalCount"] == 113 and
       summary["transitioningImageTotalCounts"] == [
           {"targetStorageClass": "ARCHIVE", "imageTotalCount": 2}],
       summary)
    f = c.get_lifecycle_policy_preview(repositoryName="pre",
                                       filter={"tagStatus": "UNTAGGED"})
    ok("preview filter", sorted(x["imageDigest"] for x in
       f["previewResults"]) == sorted(untagged), f["previewResults"])
    f = c.get_lifecycle_policy_preview(repositoryName="pre",
                                       imageIds=[{"imageTag": "release-0"}])
    ok("preview imageIds", [x["imageDigest"] for x in
       f["previewResults"]] == [rel[0]], f["previewResults"])
    # A preview in progress.  With berth-blobd stopped, a new start is in
    # the model but not durable, and its evaluation waits for that:
    # whatever the machine's speed, it is IN_PROGRESS until blobd goes on.
    blobd = b.admin("GET", "health")["blobd_pid"]
    started = []
    os.kill(blobd, signal.SIGSTOP)
    try:
        th = threading.Thread(target=lambda: started.append(
            c.start_lifecycle_policy_preview(repositoryName="pre",
                                             lifecyclePolicyText=text)))
        th.start()
        deadline = time.monotonic() + 30
        while c.get_lifecycle_policy_preview(repositoryName="pre")[
                "status"] != "IN_PROGRESS" and time.monotonic() < deadline:
            time.sleep(0.05)
        ok("preview in progress", c.get_lifecycle_policy_preview(
           repositoryName="pre")["status"] == "IN_PROGRESS")
        ok("preview while one is in progress", err(
           c.start_lifecycle_policy_preview, repositoryName="pre",
           lifecyclePolicyText=text) ==
           "LifecyclePolicyPreviewInProgressException")
    finally:
        os.kill(blobd, signal.SIGCONT)
    th.join()
    c.get_waiter("lifecycle_policy_preview_complete").wait(
        repositoryName="pre", WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    ok("preview again", started and started[0]["status"] == "IN_PROGRESS"
       and preview_all(c, "pre") == results)
    # After a restart the results are evaluated again (IN_PROGRESS
    # meanwhile) and are the same.
    b.stop()
    b.start()
    c = b.client()
    ok("preview evaluated again after a restart",
       c.get_lifecycle_policy_preview(repositoryName="pre")["status"] ==
       "IN_PROGRESS")
    c.get_waiter("lifecycle_policy_preview_complete").wait(
        repositoryName="pre", WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    ok("preview the same after a restart", preview_all(c, "pre") == results)
    ok("preview installs nothing", err(c.get_lifecycle_policy,
       repositoryName="pre") == "LifecyclePolicyNotFoundException" and
       len(images(c, "pre")) == 128)
    c.put_lifecycle_policy(repositoryName="pre", lifecyclePolicyText=text)
    run = b.run(repository="pre")
    left = images(c, "pre")
    gone = {d for d in by if by[d]["action"]["type"] == "EXPIRE"}
    archived = {d for d in left if left[d]["imageStatus"] == "ARCHIVED"}
    ok("the run does what the preview showed",
       set(left) == set(untagged + rel + dev) - gone and
       archived == {d for d in by if by[d]["action"]["type"] ==
                    "TRANSITION"} and
       run["expired"] == 113 and run["transitioned"] == 2,
       (len(left), len(archived), run))
    ok("the run reports its slices", run["slices"] >= 1 and
       0 <= run["longest_slice_us"] and run["commits"] <= run["slices"],
       run)

    # The preview goes with its repository: after a compaction the
    # snapshot (what a start replays, the log's older segments being
    # skipped; a segment that holds live small blobs stays on disk) has
    # nothing of it, and after a restart a new repository of that name
    # has no preview.
    c.delete_repository(repositoryName="pre", force=True)
    b.admin("POST", "compact")
    with open(os.path.join(b.dir, "data", "meta", "snapshot"), "rb") as f:
        ok("preview deleted with its repository",
           b"lifecycle-preview/pre" not in f.read())
    b.stop()
    b.start()
    c = b.client()
    c.create_repository(repositoryName="pre")
    ok("no preview for a new repository", err(
       c.get_lifecycle_policy_preview, repositoryName="pre") ==
       "LifecyclePolicyPreviewNotFoundException")


def preview_all(c, name):
    results = []
    for page in c.get_paginator("get_lifecycle_policy_preview").paginate(
            repositoryName=name, PaginationConfig={"PageSize": 50}):
        results += page["previewResults"]
    return results


def test_evaluated_restart(b, c):
    """lastEvaluatedAt is a record of its own: replayed from the log, and
    kept by a compaction (the snapshot has it with the repository)."""
    before = c.get_lifecycle_policy(repositoryName="exp")["lastEvaluatedAt"]
    b.advance(60)
    b.run(repository="exp")
    at = c.get_lifecycle_policy(repositoryName="exp")["lastEvaluatedAt"]
    ok("lastEvaluatedAt moves with a run", at > before, (before, at))
    b.stop()
    b.start()
    c = b.client()
    ok("lastEvaluatedAt replayed from the log", c.get_lifecycle_policy(
       repositoryName="exp")["lastEvaluatedAt"] == at)
    b.admin("POST", "compact")
    b.stop()
    b.start()
    c = b.client()
    ok("lastEvaluatedAt kept by a compaction", c.get_lifecycle_policy(
       repositoryName="exp")["lastEvaluatedAt"] == at)


def test_clock_restart(b, c):
    off = b.admin("GET", "clock")["offset_seconds"]
    b.stop()
    b.start()
    ok("clock survives a restart", b.admin("GET", "clock")[
       "offset_seconds"] == off and off > 0, off)
    ok("clock refuses going back", http_error(lambda: b.admin(
       "POST", "clock", {"advance_seconds": -5})) == 400)
    ok("clock refuses nonsense", http_error(lambda: b.admin(
       "POST", "clock", {"advance": 5})) == 400)


def http_error(fn):
    try:
        fn()
    except urllib.error.HTTPError as e:
        return e.code
    return 200


def crash_case(b, c, repo, kill):
    """Many old images and a few new; a run cut by kill, then another:
    exactly the old ones go, the new stay."""
    c.create_repository(repositoryName=repo)
    p = Pusher(c, repo)
    old = {p.push("%s-old-%d" % (repo, i)) for i in range(400)}
    b.advance(30 * DAY)
    new = {p.push("%s-new-%d" % (repo, i), "keep-%d" % i) for i in range(5)}
    c.put_lifecycle_policy(repositoryName=repo, lifecyclePolicyText=policy(
        rule(1, {"tagStatus": "untagged", "countType": "sinceImagePushed",
                 "countUnit": "days", "countNumber": 7})))
    result = {}

    def run():
        try:
            result["r"] = b.run(repository=repo)
        except Exception as e:
            result["e"] = e
    t = threading.Thread(target=run)
    t.start()
    kill()
    t.join(120)
    c = b.client()
    left = set(images(c, repo))
    ok(repo + ": the new are never touched", new <= left, len(left))
    ok(repo + ": what went is old", left <= old | new)
    r = b.run(repository=repo)
    ok(repo + ": the next run finishes the work, nothing twice",
       set(images(c, repo)) == new and
       r["expired"] == len(left) - len(new), (len(left), r))


def kill_berthd(b, delay):
    """kill -9 of berthd after delay seconds, and a restart."""
    def kill():
        time.sleep(delay)
        b.stop(signal.SIGKILL)
        b.start()
    return kill


def kill_blobd(b, delay):
    """kill -9 of berth-blobd after delay seconds; berthd restarts it."""
    def kill():
        time.sleep(delay)
        pid = b.admin("GET", "health")["blobd_pid"]
        os.kill(pid, signal.SIGKILL)
        b.wait_healthy(old_blobd=pid)
    return kill


def test_kill_berthd(b, c):
    crash_case(b, b.client(), "crash-berthd", kill_berthd(b, 0.05))


def test_kill_blobd(b, c):
    crash_case(b, c, "crash-blobd", kill_blobd(b, 0.05))


def put_manifests(b, repo, pusher, tags_of):
    """Pushes one image per entry of tags_of (a list of tag lists) the way
    a registry client does, PUT /v2/<repo>/manifests/<tag> on one
    keep-alive connection; returns their digests."""
    conn = http.client.HTTPConnection("127.0.0.1", b.port, timeout=60)
    out = []
    for i, tags in enumerate(tags_of):
        m = json.dumps({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": pusher.config, "layers": pusher.layers,
            "annotations": {"name": "%s-%s" % (repo, tags[0])}}).encode()
        for t in tags:
            conn.request("PUT", "/v2/%s/manifests/%s" % (repo, t), m, {
                "Content-Type":
                "application/vnd.oci.image.manifest.v1+json"})
            r = conn.getresponse()
            r.read()
            if r.status != 201:
                raise RuntimeError("PUT %s: %d" % (t, r.status))
        out.append(sha(m))
    conn.close()
    return out


def whole_or_gone(c, repo, expected, statuses):
    """Every image of expected ({digest: tags}) is there with all its tags
    and a status in statuses, or gone with every tag; no tag names an
    image that is gone.  Returns the digests left."""
    d = images(c, repo)
    listed = set()
    for page in c.get_paginator("list_images").paginate(
            repositoryName=repo, filter={"tagStatus": "TAGGED"}):
        for i in page["imageIds"]:
            listed.add((i["imageDigest"], i["imageTag"]))
    half = []
    for digest, tags in expected.items():
        pairs = {(digest, t) for t in tags}
        if digest in d:
            if set(d[digest].get("imageTags", [])) != set(tags) or \
                    d[digest]["imageStatus"] not in statuses:
                half.append((digest, d[digest]))
        elif pairs & listed:
            half.append((digest, "gone, tags left"))
    ok(repo + ": every image whole or gone", half == [], half[:3])
    return set(expected) & set(d)


def crash_mixed(b, c, repo, kill):
    """Expiry and archiving of tagged images pushed through /v2/, cut by
    kill: each image was expired (with all its tags) or archived, or not
    at all, never half; the next run does the rest and nothing twice."""
    c.create_repository(repositoryName=repo)
    p = Pusher(c, repo)
    n = 400
    exp = put_manifests(b, repo, p, [["exp-%d" % i, "x-%d" % i]
                                     for i in range(n)])
    arc = put_manifests(b, repo, p, [["arc-%d" % i] for i in range(n)])
    b.advance(30 * DAY)
    new = put_manifests(b, repo, p, [["exp-new-%d" % i] for i in range(3)])
    expected = dict(zip(exp, [["exp-%d" % i, "x-%d" % i] for i in range(n)]))
    expected.update(zip(arc, [["arc-%d" % i] for i in range(n)]))
    expected.update(zip(new, [["exp-new-%d" % i] for i in range(3)]))
    c.put_lifecycle_policy(repositoryName=repo, lifecyclePolicyText=policy(
        rule(1, {"tagStatus": "tagged", "tagPrefixList": ["exp-"],
                 "countType": "sinceImagePushed", "countUnit": "days",
                 "countNumber": 7}),
        rule(2, {"tagStatus": "tagged", "tagPatternList": ["arc-*"],
                 "countType": "sinceImagePushed", "countUnit": "days",
                 "countNumber": 7}, "transition")))
    def run():
        # Killed under it, the run answers nothing: what it did is
        # checked below.
        try:
            b.run(repository=repo)
        except (urllib.error.URLError, http.client.HTTPException, OSError):
            pass
    t = threading.Thread(target=run)
    t.start()
    kill()
    t.join(120)
    c = b.client()
    left = whole_or_gone(c, repo, expected, ("ACTIVE", "ARCHIVED"))
    d = images(c, repo)
    ok(repo + ": the new are never touched", set(new) <= left and all(
       d[x]["imageStatus"] == "ACTIVE" for x in new))
    ok(repo + ": archived, never expired", set(arc) <= left)
    active = {x for x in arc if d[x]["imageStatus"] == "ACTIVE"}
    r = b.run(repository=repo)
    d = images(c, repo)
    ok(repo + ": the next run does the rest, nothing twice",
       set(d) == set(arc) | set(new) and
       all(d[x]["imageStatus"] == "ARCHIVED" for x in arc) and
       r["expired"] == len(left & set(exp)) and
       r["transitioned"] == len(active), (len(left), len(active), r))
    whole_or_gone(c, repo, expected, ("ACTIVE", "ARCHIVED"))


def test_kill_berthd_mixed(b, c):
    crash_mixed(b, b.client(), "mixed-berthd", kill_berthd(b, 0.02))


def test_kill_blobd_mixed(b, c):
    crash_mixed(b, c, "mixed-blobd", kill_blobd(b, 0.02))


def run_suite(b, tests, clients):
    """Runs each test(b, *clients()) on the started berthd b, stops it,
    prints the counts and exits with the outcome."""
    try:
        for t in tests:
            try:
                t(b, *clients())
            except Exception:
                ok(t.__name__, False, traceback.format_exc())
    finally:
        b.stop()
        if berth_it.failed == 0:
            shutil.rmtree(b.dir, ignore_errors=True)
        else:
            print("berthd log and data kept in", b.dir)
    print("%d passed, %d failed" % (berth_it.passed, berth_it.failed))
    sys.exit(1 if berth_it.failed else 0)


def main():
    b = Berthd()
    b.start()
    run_suite(b, (test_policy_operations, test_expiry, test_schedule,
                  test_archive,
                  test_preview, test_evaluated_restart, test_clock_restart,
                  test_kill_berthd,
                  test_kill_blobd, test_kill_berthd_mixed,
                  test_kill_blobd_mixed), lambda: (b.client(),))


if __name__ == "__main__":
    main()
