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
"""Image scanning through the ECR API, with boto3 and the AWS CLI: images
built here (real dpkg, apk and rpm databases: scan_engine.py's fixtures)
pushed with ECR's layer operations and scanned against --vuln-db.
Checked: StartImageScan, the ImageScanComplete waiter, the exact findings
and their pagination, DescribeImages' scan fields, the errors, the 24-hour
limit (on the test clock), the registry scanning configuration and its
filters, scan on push, ENHANCED scans and rescans on SIGHUP, restarts of
berthd and berth-scand, and hostile layers that fail their scan only.
"""
import datetime
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request

import boto3
import botocore
from botocore.config import Config

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scan_engine as se  # noqa: E402  (layers and advisories)
from ecr_boto3 import free_port, sha, upload_layer  # noqa: E402

TOP = se.TOP
BERTHD = os.environ.get("BERTHD", os.path.join(TOP, "build/daemon/berthd"))
BLOBD = os.environ.get("BLOBD", os.path.join(TOP, "build/blobd/berth-blobd"))
SCAND = os.environ.get("SCAND", os.path.join(TOP, "build/daemon/berth-scand"))
OCI_LAYER_GZ = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_ZST = "application/vnd.oci.image.layer.v1.tar+zstd"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
MODIFIED = datetime.datetime(2026, 1, 15, 8, 0, tzinfo=datetime.timezone.utc)

failures = []


def check(name, cond, detail=""):
    if not cond:
        failures.append(name)
        print("FAIL: %s %s" % (name, detail), flush=True)


class Berthd:
    def __init__(self, tmp, db, data=None, scand=SCAND):
        self.tmp, self.db = tmp, db
        self.data = data or os.path.join(tmp, "data")
        self.port = free_port()
        self.endpoint = "http://127.0.0.1:%d" % self.port
        self.logpath = os.path.join(tmp, "berthd-%d.log" % self.port)
        self.log = open(self.logpath, "w")
        self.proc = subprocess.Popen(
            # -v: each scan's process logs (its sandbox), through scand,
            # into this file.
            [BERTHD, "-v", "--blobd", BLOBD, "--scand", scand, "--listen",
             "127.0.0.1:%d" % self.port, "--data-dir", self.data,
             "--vuln-db", db], stdout=self.log, stderr=subprocess.STDOUT)
        if scand == SCAND:
            self.wait(lambda: self.health().get("scanner") == "up",
                      "berthd and berth-scand did not start")
        else:
            self.wait(lambda: self.health().get("status") == "ok",
                      "berthd did not start")

    def health(self):
        try:
            with urllib.request.urlopen(self.endpoint + "/_berth/health",
                                        timeout=5) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as e:
            return json.loads(e.read() or b"{}")
        except OSError:
            return {}

    def wait(self, cond, what, seconds=60):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("berthd exited: " + what)
            if cond():
                return
            time.sleep(0.05)
        raise RuntimeError(what)

    def logged(self, text):
        with open(self.logpath, errors="replace") as f:
            return text in f.read()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)
        self.log.close()

    def client(self):
        return boto3.client(
            "ecr", endpoint_url=self.endpoint, region_name="us-east-1",
            aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret",
            config=Config(retries={"max_attempts": 1}))


def err(fn, **kw):
    try:
        fn(**kw)
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"], e.response["Error"]["Message"]
    return None, None


def upload(c, repo, data):
    have = c.batch_check_layer_availability(
        repositoryName=repo, layerDigests=[sha(data)])["layers"]
    if have and have[0].get("layerAvailability") == "AVAILABLE":
        return sha(data)
    return upload_layer(c, repo, data)


def push(c, repo, tag, layers):
    """layers: (media type, bytes); returns the image's digest."""
    cfg = json.dumps({"architecture": "amd64", "os": "linux",
                      "rootfs": {"type": "layers", "diff_ids": []},
                      "config": {"Labels": {"tag": tag}}}).encode()
    m = {"schemaVersion": 2,
         "mediaType": "application/vnd.oci.image.manifest.v1+json",
         "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                    "digest": upload(c, repo, cfg), "size": len(cfg)},
         "layers": [{"mediaType": mt, "digest": upload(c, repo, b),
                     "size": len(b)} for mt, b in layers]}
    body = json.dumps(m)
    c.put_image(repositoryName=repo, imageManifest=body, imageTag=tag)
    return sha(body.encode())


def wait_scan(c, repo, tag):
    """The SDK's ImageScanComplete waiter; its delay shortened."""
    c.get_waiter("image_scan_complete").wait(
        repositoryName=repo, imageId={"imageTag": tag},
        WaiterConfig={"Delay": 1, "MaxAttempts": 120})


def findings(c, repo, tag, **kw):
    return c.describe_image_scan_findings(repositoryName=repo,
                                          imageId={"imageTag": tag}, **kw)


def wait_status(c, repo, tag, want, enhanced=False):
    empty = {"findings": [], "enhancedFindings": []} if enhanced else \
        {"findings": []}
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        r = findings(c, repo, tag)
        # Whichever answers are seen while the scan runs, and those of a
        # scan that ended without reading the image, have AWS's empty
        # findings (the CLI's paginated output assigns into them).
        if r["imageScanStatus"]["status"] not in ("COMPLETE", "ACTIVE") \
                and r.get("imageScanFindings") != empty:
            check("%s: %s answers empty findings" % (
                tag, r["imageScanStatus"]["status"]), False, r)
        if r["imageScanStatus"]["status"] != "IN_PROGRESS":
            check("status of %s" % tag,
                  r["imageScanStatus"]["status"] == want, r)
            return r
        time.sleep(0.1)
    raise RuntimeError("the scan of %s did not end" % tag)


def attrs(f):
    return {a["key"]: a["value"] for a in f["attributes"]}


# --- the database and the images ---------------------------------------------

def debian_layers():
    status, os_release, *_ = se.local_dpkg()
    l1 = se.gz(se.tar_layer([("etc/os-release", os_release),
                             ("usr/share/doc/gone", b"x")]))
    l2 = se.zst(se.tar_layer([("var/lib/dpkg/status", status),
                              ("usr/share/doc/.wh.gone", b"")]))
    return [(OCI_LAYER_GZ, l1), (OCI_LAYER_ZST, l2)]


def alpine_layers():
    rel = b'ID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME="Alpine Linux"\n'
    return [(OCI_LAYER_GZ, se.gz(se.tar_layer([
        ("etc/os-release", rel),
        ("lib/apk/db/installed", se.APK_INSTALLED)])))]


def rpm_layers(tmp):
    rel = b'ID="rocky"\nVERSION_ID="9.3"\nPRETTY_NAME="Rocky Linux 9.3"\n'
    return [(OCI_LAYER_GZ, se.gz(se.tar_layer([
        ("etc/os-release", rel),
        ("var/lib/rpm/rpmdb.sqlite", se.rpmdb(tmp))])))]


# --- the checks --------------------------------------------------------------

def check_debian(b, c):
    _, _, version, src, srcver, _ = se.local_dpkg()
    c.create_repository(repositoryName="deb")
    push(c, "deb", "v1", debian_layers())
    code, _ = err(c.describe_image_scan_findings, repositoryName="deb",
                  imageId={"imageTag": "v1"})
    check("no scan yet", code == "ScanNotFoundException", code)
    r = c.start_image_scan(repositoryName="deb", imageId={"imageTag": "v1"})
    check("start answers IN_PROGRESS",
          r["imageScanStatus"]["status"] == "IN_PROGRESS" and
          r["imageId"]["imageTag"] == "v1" and
          r["imageId"]["imageDigest"].startswith("sha256:"), r)
    code, msg = err(c.start_image_scan, repositoryName="deb",
                    imageId={"imageTag": "v1"})
    check("one scan a day", code == "LimitExceededException" and
          msg == "The scan quota per image has been exceeded. Wait and "
          "try again.", (code, msg))
    wait_scan(c, "deb", "v1")
    r = findings(c, "deb", "v1")
    check("complete", r["imageScanStatus"] == {
        "status": "COMPLETE",
        "description": "The scan was completed successfully."}, r)
    # The scan's process, which may write no file, logs through scand.
    check("the scan's process logged", b.logged("berth-scand[scan]["))
    sf = r["imageScanFindings"]
    check("database time", sf["vulnerabilitySourceUpdatedAt"] == MODIFIED,
          sf.get("vulnerabilitySourceUpdatedAt"))
    check("completed at", isinstance(sf["imageScanCompletedAt"],
                                     datetime.datetime), sf)
    fs = sf["findings"]
    glibc = {attrs(f)["package_name"] for f in fs}
    check("glibc's packages only", "libc6" in glibc and len(fs) ==
          len(glibc), fs)
    check("counts", sf["findingSeverityCounts"] == {"CRITICAL": len(fs)},
          sf["findingSeverityCounts"])
    libc = [f for f in fs if attrs(f)["package_name"] == "libc6"][0]
    check("the finding, exactly", libc == {
        "name": "CVE-2026-0001",
        "description": "Heap overflow in the loader.",
        "uri": "https://security-tracker.debian.org/tracker/CVE-2026-0001",
        "severity": "CRITICAL",
        "attributes": [{"key": "package_version", "value": version},
                       {"key": "package_name", "value": "libc6"},
                       {"key": "CVSS3_VECTOR", "value": se.CRIT},
                       {"key": "CVSS3_SCORE", "value": "9.8"}]}, libc)
    # Pagination: one at a time, through the SDK's paginator.
    pages = list(c.get_paginator("describe_image_scan_findings").paginate(
        repositoryName="deb", imageId={"imageTag": "v1"},
        PaginationConfig={"PageSize": 1}))
    paged = [f for p in pages for f in p["imageScanFindings"]["findings"]]
    check("paginated", paged == fs and len(pages) >= len(fs), len(pages))
    code, _ = err(c.describe_image_scan_findings, repositoryName="deb",
                  imageId={"imageTag": "v1"}, nextToken="bm90LW91cnM=")
    check("a forged token", code == "InvalidParameterException", code)
    d = c.describe_images(repositoryName="deb")["imageDetails"][0]
    check("DescribeImages", d["imageScanStatus"]["status"] == "COMPLETE" and
          d["imageScanFindingsSummary"]["findingSeverityCounts"] ==
          {"CRITICAL": len(fs)} and
          d["imageScanFindingsSummary"]["vulnerabilitySourceUpdatedAt"] ==
          MODIFIED, d)
    # A day later on berth's test clock the image may be scanned again.
    clock(b, {"advance_seconds": 86400})
    r = c.start_image_scan(repositoryName="deb", imageId={"imageTag": "v1"})
    check("a day later, scanned again",
          r["imageScanStatus"]["status"] == "IN_PROGRESS", r)
    wait_scan(c, "deb", "v1")
    later = findings(c, "deb", "v1")["imageScanFindings"]
    check("on the test clock", later["imageScanCompletedAt"] -
          sf["imageScanCompletedAt"] >= datetime.timedelta(days=1), later)
    clock(b, {"reset": True})
    return fs


def clock(b, body):
    urllib.request.urlopen(b.endpoint + "/_berth/clock",
                           json.dumps(body).encode(), 10).read()


def check_alpine_rpm(b, c, tmp):
    c.create_repository(repositoryName="alp")
    push(c, "alp", "3.19", alpine_layers())
    c.start_image_scan(repositoryName="alp", imageId={"imageTag": "3.19"})
    wait_scan(c, "alp", "3.19")
    fs = findings(c, "alp", "3.19")["imageScanFindings"]["findings"]
    check("apk findings", sorted((f["name"], f["severity"],
                                  attrs(f)["package_name"],
                                  attrs(f)["package_version"]) for f in fs)
          == [("CVE-2023-5678", "MEDIUM", "libcrypto3", "3.1.4-r0"),
              ("CVE-2023-5678", "MEDIUM", "libssl3", "3.1.4-r0")], fs)
    c.create_repository(repositoryName="rocky")
    push(c, "rocky", "9", rpm_layers(tmp))
    c.start_image_scan(repositoryName="rocky", imageId={"imageTag": "9"})
    wait_scan(c, "rocky", "9")
    fs = findings(c, "rocky", "9")["imageScanFindings"]["findings"]
    check("rpm findings", [(f["name"], f["severity"],
                            attrs(f)["package_name"],
                            attrs(f)["package_version"]) for f in fs] ==
          [("CVE-2024-0727", "HIGH", "openssl-libs", "1:3.0.7-24.el9")], fs)


def check_refusals(b, c):
    c.create_repository(repositoryName="odd")
    code, msg = err(c.start_image_scan, repositoryName="odd",
                    imageId={"imageTag": "none"})
    check("missing image", code == "ImageNotFoundException", (code, msg))
    code, _ = err(c.start_image_scan, repositoryName="nothere",
                  imageId={"imageTag": "x"})
    check("missing repository", code == "RepositoryNotFoundException", code)
    # An index is not an image the scanner reads.
    d = push(c, "odd", "child", [(OCI_LAYER, se.tar_layer([("a", b"a")]))])
    idx = json.dumps({"schemaVersion": 2, "mediaType":
                      "application/vnd.oci.image.index.v1+json",
                      "manifests": [{"mediaType": "application/vnd.oci."
                                     "image.manifest.v1+json", "digest": d,
                                     "size": len(c.batch_get_image(
                                         repositoryName="odd",
                                         imageIds=[{"imageTag": "child"}])
                                         ["images"][0]["imageManifest"])}]})
    c.put_image(repositoryName="odd", imageManifest=idx, imageTag="idx")
    code, _ = err(c.start_image_scan, repositoryName="odd",
                  imageId={"imageTag": "idx"})
    check("an index", code == "UnsupportedImageTypeException", code)
    # An archived image is not scanned (ImageArchivedException).
    push(c, "odd", "old", [(OCI_LAYER, se.tar_layer([("b", b"b")]))])
    c.update_image_storage_class(repositoryName="odd",
                                 imageId={"imageTag": "old"},
                                 targetStorageClass="ARCHIVE")
    code, msg = err(c.start_image_scan, repositoryName="odd",
                    imageId={"imageTag": "old"})
    check("an archived image", code == "ImageArchivedException" and
          "is archived and cannot be scanned" in msg, (code, msg))
    # An image with no operating system: AWS native basic scanning's
    # UNSUPPORTED_IMAGE, with UnsupportedImageError's words.
    c.start_image_scan(repositoryName="odd", imageId={"imageTag": "child"})
    r = wait_status(c, "odd", "child", "UNSUPPORTED_IMAGE")
    check("scratch", r["imageScanStatus"]["description"].startswith(
        "UnsupportedImageError: The operating system and/or package "
        "manager are not supported."), r)


def check_hostile(b, c):
    """Hostile layers fail their scan, through ECR, and nothing else."""
    rel = b"ID=debian\nVERSION_ID=12\n"
    status = b"Package: a\nStatus: install ok installed\nVersion: 1\n"
    good = se.gz(se.tar_layer([("etc/os-release", rel),
                               ("var/lib/dpkg/status", status),
                               ("filler", os.urandom(200000))]))
    cases = [
        ("dotdot", [(OCI_LAYER, se.tar_layer([("etc/os-release", rel),
                                              ("../../etc/passwd", b"x")]))],
         "FAILED", "leaves the root"),
        ("truncated", [(OCI_LAYER_GZ, good[:len(good) // 2])], "FAILED",
         "Layer 1"),
        ("noise", [(OCI_LAYER_GZ, good), (OCI_LAYER_ZST, os.urandom(4096))],
         "FAILED", "Layer 2"),
        ("links", [(OCI_LAYER, se.tar_layer([
            ("etc/os-release", ("link", "/etc/os-release")),
            ("var/lib/dpkg", ("link", "/var/lib/dpkg"))]))],
         "UNSUPPORTED_IMAGE", "No operating system"),
        ("bomb", [(OCI_LAYER_ZST, se.zstd_bomb())], "FAILED", "decompression bomb"),
    ]
    c.create_repository(repositoryName="hostile")
    for tag, layers, want, words in cases:
        push(c, "hostile", tag, layers)
        c.start_image_scan(repositoryName="hostile",
                           imageId={"imageTag": tag})
        r = wait_status(c, "hostile", tag, want)
        check("hostile %s" % tag, words in r["imageScanStatus"].get(
            "description", ""), r)
        if want == "FAILED":
            try:
                wait_scan(c, "hostile", tag)
                check("waiter fails on FAILED", False)
            except botocore.exceptions.WaiterError as e:
                check("waiter fails on FAILED", "FAILED" in str(e), str(e))
    # The scanner is still up: a good image scans after the others.
    push(c, "hostile", "good", [(OCI_LAYER_GZ, good)])
    c.start_image_scan(repositoryName="hostile", imageId={"imageTag": "good"})
    wait_scan(c, "hostile", "good")
    # COMPLETE with nothing found: AWS's empty findings and counts.
    sf = findings(c, "hostile", "good")["imageScanFindings"]
    check("complete, no finding", sf["findings"] == [] and
          sf["findingSeverityCounts"] == {} and
          isinstance(sf["imageScanCompletedAt"], datetime.datetime) and
          "vulnerabilitySourceUpdatedAt" in sf, sf)


def check_configuration(b, c):
    r = c.get_registry_scanning_configuration()
    check("default configuration", r["scanningConfiguration"] ==
          {"scanType": "BASIC", "rules": []} and
          r["registryId"] == "000000000000", r)
    for name in ("prod-app", "app-prod", "manual"):
        c.create_repository(repositoryName=name)
    c.create_repository(repositoryName="flagged",
                        imageScanningConfiguration={"scanOnPush": True})
    # Never configured: the repository's own scanOnPush decides.
    r = c.batch_get_repository_scanning_configuration(
        repositoryNames=["flagged", "manual", "nosuch"])
    got = {x["repositoryName"]: (x["scanOnPush"], x["scanFrequency"],
                                 x["appliedScanFilters"])
           for x in r["scanningConfigurations"]}
    check("repository settings apply", got == {
        "flagged": (True, "SCAN_ON_PUSH", []),
        "manual": (False, "MANUAL", [])}, got)
    check("a missing repository is a failure", r["failures"] == [{
        "repositoryName": "nosuch", "failureCode": "REPOSITORY_NOT_FOUND",
        "failureReason": "REPOSITORY_NOT_FOUND"}], r["failures"])
    code, _ = err(c.put_registry_scanning_configuration, scanType="BASIC",
                  rules=[{"scanFrequency": "CONTINUOUS_SCAN",
                          "repositoryFilters": [{"filter": "*",
                                                 "filterType": "WILDCARD"}]}])
    check("BASIC has no continuous scans", code == "InvalidParameterException",
          code)
    rule = {"scanFrequency": "SCAN_ON_PUSH", "repositoryFilters": [
        {"filter": "prod*", "filterType": "WILDCARD"}]}
    code, _ = err(c.put_registry_scanning_configuration, scanType="ENHANCED",
                  rules=[rule, rule])
    check("one rule per frequency", code == "InvalidParameterException", code)
    code, _ = err(c.put_registry_scanning_configuration, scanType="BASIC",
                  rules=[rule, rule, rule])
    check("at most two rules", code in ("InvalidParameterException",
                                        "ValidationException"), code)
    r = c.put_registry_scanning_configuration(scanType="BASIC", rules=[rule])
    check("put answers the configuration",
          r["registryScanningConfiguration"] == {"scanType": "BASIC",
                                                 "rules": [rule]}, r)
    check("get answers it too", c.get_registry_scanning_configuration()
          ["scanningConfiguration"] == {"scanType": "BASIC",
                                        "rules": [rule]})
    r = c.batch_get_repository_scanning_configuration(
        repositoryNames=["prod-app", "app-prod", "flagged"])
    got = {x["repositoryName"]: (x["scanOnPush"], x["scanFrequency"],
                                 x["appliedScanFilters"])
           for x in r["scanningConfigurations"]}
    check("filters: prod* is anchored", got == {
        "prod-app": (True, "SCAN_ON_PUSH", rule["repositoryFilters"]),
        "app-prod": (False, "MANUAL", []),
        "flagged": (True, "SCAN_ON_PUSH", [])}, got)
    check("an ARN", r["scanningConfigurations"][0]["repositoryArn"] ==
          "arn:aws:ecr:us-east-1:000000000000:repository/prod-app", r)
    # Scan on push: the filter's repository is scanned, the other is not.
    layers = alpine_layers()
    push(c, "prod-app", "v1", layers)
    push(c, "app-prod", "v1", layers)
    wait_scan(c, "prod-app", "v1")
    check("scanned on push", len(findings(c, "prod-app", "v1")
                                 ["imageScanFindings"]["findings"]) == 2)
    code, _ = err(c.describe_image_scan_findings, repositoryName="app-prod",
                  imageId={"imageTag": "v1"})
    check("not scanned on push", code == "ScanNotFoundException", code)
    code, _ = err(c.start_image_scan, repositoryName="prod-app",
                  imageId={"imageTag": "v1"})
    check("the push's scan counts for the day",
          code == "LimitExceededException", code)
    # PutImageScanningConfiguration still counts under BASIC.
    c.put_image_scanning_configuration(
        repositoryName="app-prod",
        imageScanningConfiguration={"scanOnPush": True})
    x = c.batch_get_repository_scanning_configuration(
        repositoryNames=["app-prod"])["scanningConfigurations"][0]
    check("PutImageScanningConfiguration applies under BASIC",
          (x["scanOnPush"], x["scanFrequency"]) == (True, "SCAN_ON_PUSH"), x)


def check_enhanced(b, c, db):
    """ENHANCED: continuous scanning, the enhanced shape, rescans when
    SIGHUP loads a database that changed."""
    c.put_registry_scanning_configuration(scanType="ENHANCED", rules=[
        {"scanFrequency": "CONTINUOUS_SCAN", "repositoryFilters": [
            {"filter": "cont", "filterType": "WILDCARD"}]}])
    x = c.batch_get_repository_scanning_configuration(
        repositoryNames=["flagged"])["scanningConfigurations"][0]
    check("ENHANCED ignores repository settings",
          (x["scanOnPush"], x["scanFrequency"]) == (False, "MANUAL"), x)
    c.create_repository(repositoryName="team/cont")
    d = push(c, "team/cont", "v1", alpine_layers())
    r = wait_status(c, "team/cont", "v1", "ACTIVE", enhanced=True)
    check("continuous description", r["imageScanStatus"]["description"] ==
          "Continuous scan is selected for image.", r)
    ef = r["imageScanFindings"]["enhancedFindings"]
    check("no basic findings", "findings" not in r["imageScanFindings"], r)
    e = [f for f in ef if f["packageVulnerabilityDetails"]
         ["vulnerablePackages"][0]["name"] == "libssl3"][0]
    pvd = e["packageVulnerabilityDetails"]
    check("enhanced shape", e["awsAccountId"] == "000000000000" and
          e["findingArn"].startswith(
              "arn:aws:inspector2:us-east-1:000000000000:finding/") and
          e["severity"] == "MEDIUM" and e["status"] == "ACTIVE" and
          e["type"] == "PACKAGE_VULNERABILITY" and
          e["title"] == "CVE-2023-5678 - libssl3" and
          e["fixAvailable"] == "YES" and
          pvd["vulnerabilityId"] == "CVE-2023-5678" and
          pvd["source"] == "Alpine:v3.19" and
          pvd["vulnerablePackages"] == [{
              "name": "libssl3", "version": "3.1.4-r0",
              "fixedInVersion": "3.1.4-r1", "packageManager": "OS"}] and
          e["remediation"]["recommendation"]["text"] ==
          "Upgrade libssl3 to 3.1.4-r1 or later." and
          e["resources"][0]["type"] == "AWS_ECR_CONTAINER_IMAGE" and
          e["resources"][0]["details"]["awsEcrContainerImage"] ==
          {"imageHash": d, "registry": "000000000000",
           "repositoryName": "team/cont", "imageTags": ["v1"],
           "pushedAt": e["resources"][0]["details"]
           ["awsEcrContainerImage"]["pushedAt"]}, e)
    # A new advisory, then SIGHUP: the continuously scanned image is
    # scanned again and the new finding appears; others are not rescanned.
    before = findings(c, "alp", "3.19")["imageScanFindings"]
    se.advisory(os.path.join(db, "alpine", "ALPINE-CVE-2026-1111.json"),
                se.osv("ALPINE-CVE-2026-1111", "Alpine:v3.19", "musl",
                       [{"introduced": "0"}, {"fixed": "1.2.5-r0"}],
                       aliases=["CVE-2026-1111"],
                       modified="2026-02-01T00:00:00Z",
                       database_specific={"severity": "high"}))
    gen = b.health()["vuln_db"]["generation"]
    b.proc.send_signal(signal.SIGHUP)
    b.wait(lambda: b.health()["vuln_db"]["generation"] > gen,
           "the database was not reloaded")

    def rescanned():
        r = findings(c, "team/cont", "v1")["imageScanFindings"]
        return r["findingSeverityCounts"].get("HIGH") == 1
    b.wait(rescanned, "the continuous repository was not rescanned")
    r = findings(c, "team/cont", "v1")["imageScanFindings"]
    check("rescan: new database time", r["vulnerabilitySourceUpdatedAt"] ==
          datetime.datetime(2026, 2, 1, tzinfo=datetime.timezone.utc), r)
    check("rescan: the new finding", sorted(
        f["packageVulnerabilityDetails"]["vulnerabilityId"]
        for f in r["enhancedFindings"]) ==
        ["CVE-2023-5678", "CVE-2023-5678", "CVE-2026-1111"], r)
    check("other repositories keep their scan",
          findings(c, "alp", "3.19")["imageScanFindings"] == before)
    c.put_registry_scanning_configuration(scanType="BASIC", rules=[])


def check_restarts(b, c, tmp, db):
    """The scans survive berthd's restart; a killed scanner comes back."""
    before = findings(c, "deb", "v1")
    pid = b.health()["scanner_pid"]
    os.kill(pid, signal.SIGKILL)
    b.wait(lambda: b.health().get("scanner_pid", pid) != pid and
           b.health()["scanner"] == "up", "the scanner did not restart")
    check("scanner restarts counted", b.health()["scanner_restarts"] >= 1)
    push(c, "hostile", "after-kill", alpine_layers())
    c.start_image_scan(repositoryName="hostile",
                       imageId={"imageTag": "after-kill"})
    wait_scan(c, "hostile", "after-kill")
    b.stop()
    b2 = Berthd(tmp, db, data=b.data)
    c2 = b2.client()
    after = findings(c2, "deb", "v1")
    for r in (before, after):
        r.pop("ResponseMetadata")
    check("findings kept across a restart", before == after)
    return b2


def check_cli(b):
    """The AWS CLI: start, wait, describe."""
    env = dict(os.environ, AWS_ACCESS_KEY_ID="AKIDEXAMPLE",
               AWS_SECRET_ACCESS_KEY="x", AWS_DEFAULT_REGION="us-east-1",
               AWS_MAX_ATTEMPTS="1")

    def aws(*args):
        p = subprocess.run(["aws", "--endpoint-url", b.endpoint, "ecr",
                            *args], env=env, capture_output=True, text=True)
        return p.returncode, p.stdout, p.stderr

    c = b.client()
    c.create_repository(repositoryName="cli")
    push(c, "cli", "v1", alpine_layers())
    rc, out, e = aws("start-image-scan", "--repository-name", "cli",
                     "--image-id", "imageTag=v1")
    check("cli start", rc == 0 and json.loads(out)["imageScanStatus"]
          ["status"] == "IN_PROGRESS", (rc, out, e))
    rc, out, e = aws("wait", "image-scan-complete", "--repository-name",
                     "cli", "--image-id", "imageTag=v1")
    check("cli wait", rc == 0, (rc, out, e))
    rc, out, e = aws("describe-image-scan-findings", "--repository-name",
                     "cli", "--image-id", "imageTag=v1", "--query",
                     "imageScanFindings.findings[].[name,severity]",
                     "--output", "text")
    check("cli findings", rc == 0 and out.split("\n")[:2] ==
          ["CVE-2023-5678\tMEDIUM", "CVE-2023-5678\tMEDIUM"], (rc, out, e))
    rc, out, e = aws("get-registry-scanning-configuration")
    check("cli configuration", rc == 0 and json.loads(out)
          ["scanningConfiguration"]["scanType"] == "BASIC", (rc, out, e))
    # Paginated (the CLI's default) in each output, for scans with no
    # finding to show: check_hostile's FAILED, UNSUPPORTED_IMAGE and
    # COMPLETE with none.
    for tag, want in [("dotdot", "FAILED"), ("links", "UNSUPPORTED_IMAGE"),
                      ("good", "COMPLETE")]:
        for output in ["json", "text", "table"]:
            rc, out, e = aws("describe-image-scan-findings",
                             "--repository-name", "hostile", "--image-id",
                             "imageTag=" + tag, "--output", output)
            check("cli %s, %s output" % (want, output), rc == 0 and
                  want in out, (rc, out, e))
            if output == "json" and rc == 0:
                j = json.loads(out)
                check("cli %s: empty findings" % want,
                      j["imageScanFindings"]["findings"] == [] and
                      j["imageScanStatus"]["status"] == want, j)
    rc, out, e = aws("describe-image-scan-findings", "--repository-name",
                     "cli", "--image-id", "imageTag=nope")
    check("cli image not found", rc != 0 and "ImageNotFoundException" in e,
          (rc, e))


def check_no_scanner(tmp, db):
    """A scanner that cannot start fails the scans waiting for it."""
    os.makedirs(os.path.join(tmp, "noscan"))
    b = Berthd(os.path.join(tmp, "noscan"), db, scand="/bin/false")
    try:
        c = b.client()
        c.create_repository(repositoryName="ns")
        push(c, "ns", "v1", alpine_layers())
        c.start_image_scan(repositoryName="ns", imageId={"imageTag": "v1"})
        r = wait_status(c, "ns", "v1", "FAILED")
        check("no scanner: the scan fails and says why", "berth-scand, the "
              "scanner, exited with status 1" in r["imageScanStatus"]
              ["description"], r)
        check("no scanner: the registry serves", b.health()["status"] ==
              "ok" and b.health()["scanner"] == "down")
    finally:
        b.stop()


def main():
    tmp = tempfile.mkdtemp(prefix="berth-scan.")
    db = os.path.join(tmp, "osv")
    se.write_image_db(db)
    b = None
    try:
        b = Berthd(tmp, db)
        c = b.client()
        steps = [("debian", lambda: check_debian(b, c)),
                 ("alpine and rpm", lambda: check_alpine_rpm(b, c, tmp)),
                 ("refusals", lambda: check_refusals(b, c)),
                 ("hostile layers", lambda: check_hostile(b, c)),
                 ("configuration", lambda: check_configuration(b, c)),
                 ("enhanced", lambda: check_enhanced(b, c, db)),
                 ("cli", lambda: check_cli(b))]
        for name, fn in steps:
            try:
                fn()
            except Exception:
                traceback.print_exc()
                check(name, False, "raised")
        try:
            check_no_scanner(tmp, db)
        except Exception:
            traceback.print_exc()
            check("no scanner", False, "raised")
        try:
            b = check_restarts(b, c, tmp, db)
        except Exception:
            traceback.print_exc()
            check("restarts", False, "raised")
    finally:
        if b is not None:
            b.stop()
    if failures:
        print("%d failure(s); logs in %s" % (len(failures), tmp))
        sys.exit(1)
    shutil.rmtree(tmp, ignore_errors=True)
    print("all ok")


if __name__ == "__main__":
    main()
