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
"""Lifecycle runs through a real berthd (issue 10's speed figures): the
time per image of POST /_berth/lifecycle/run over one repository of
100,000 images and over 10,000 repositories of 10 images, and the latency
of manifest GETs (bench/loadgen, on the big repository itself) while a
run goes on, against the same GETs before it.

    bench/lifecycle_run.py [-qG] [-n IMAGES] [-r REPOS] [-e RUNS]

The images are pushed through /v2/ over two years of the test clock, as
a CI registry's: release tags, commit tags, untagged images; the policy
is bench/lifecycle_bench's five rules.  Each run is reported with its
wall time and the CPU time berthd and berth-blobd spent in it, per image
evaluated, and with the durable transactions it wrote.  The first run
over the big repository acts on most of it; the next -e runs find nothing
left to do, so they time the evaluation alone.  -q: 10,000 images and
1,000 repositories.  -G: no GETs during the runs, whose CPU time is then
theirs alone (berthd serves the GETs too).  berthd, berth-blobd and
loadgen come from build/ (BERTHD, BLOBD, LOADGEN override them); data
goes under BENCH_TMPDIR (default /var/tmp).  The machine is shared: the load (uptime) is printed
with the figures.
"""

import argparse
import hashlib
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BERTHD = os.environ.get("BERTHD", os.path.join(TOP, "build/daemon/berthd"))
BLOBD = os.environ.get("BLOBD", os.path.join(TOP, "build/blobd/berth-blobd"))
LOADGEN = os.environ.get("LOADGEN", os.path.join(TOP, "build/bench/loadgen"))
TMPDIR = os.environ.get("BENCH_TMPDIR", "/var/tmp")
TARGET = "AmazonEC2ContainerRegistry_V20150921."
OCI = "application/vnd.oci.image.manifest.v1+json"
DAYS = 730
BIG = "bench/big"
SMALL_REGION = "us-west-2"

POLICY = {"rules": [
    {"rulePriority": 1, "description": "keep 50 releases",
     "selection": {"tagStatus": "tagged", "tagPatternList": ["v*.*"],
                   "countType": "imageCountMoreThan", "countNumber": 50},
     "action": {"type": "expire"}},
    {"rulePriority": 2, "description": "archive commit builds",
     "selection": {"tagStatus": "tagged", "tagPatternList": ["*-sha-*"],
                   "countType": "sinceImagePushed", "countUnit": "days",
                   "countNumber": 30},
     "action": {"type": "transition", "targetStorageClass": "archive"}},
    {"rulePriority": 3, "description": "untagged leftovers",
     "selection": {"tagStatus": "untagged",
                   "countType": "imageCountMoreThan", "countNumber": 200},
     "action": {"type": "expire"}},
    {"rulePriority": 4, "description": "idle images",
     "selection": {"tagStatus": "any", "countType": "sinceImagePulled",
                   "countUnit": "days", "countNumber": 180},
     "action": {"type": "transition", "targetStorageClass": "archive"}},
    {"rulePriority": 5, "description": "old archives",
     "selection": {"tagStatus": "any", "storageClass": "archive",
                   "countType": "sinceImageTransitioned",
                   "countUnit": "days", "countNumber": 365},
     "action": {"type": "expire"}}]}


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def tag_of(i):
    """A CI registry's mix: 10% releases, 65% commit builds, 25%
    untagged (None)."""
    k = i % 20
    if k < 2:
        return "v%d.%d" % (i // 1000, i % 1000)
    if k < 12:
        return "main-sha-%07x" % i
    if k < 15:
        return "pr-%d-sha-%07x" % (i % 500, i)
    return None


class Server:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="berth-bench-lifecycle.",
                                    dir=TMPDIR)
        self.port = free_port()
        self.log = open(os.path.join(self.dir, "berthd.log"), "w")
        self.proc = subprocess.Popen(
            [BERTHD, "--blobd", BLOBD, "--listen", "127.0.0.1:%d" % self.port,
             "--data-dir", os.path.join(self.dir, "data"),
             "--lifecycle-interval", "0"],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.local = threading.local()
        for _ in range(200):
            try:
                self.blobd = self.admin("GET", "health")["blobd_pid"]
                break
            except Exception:
                time.sleep(0.05)
        self.tokens = {}

    def stop(self):
        self.proc.terminate()
        self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def request(self, method, path, body=None, headers=None):
        """One request on this thread's keep-alive connection."""
        c = getattr(self.local, "conn", None)
        if c is None:
            c = self.local.conn = http.client.HTTPConnection(
                "127.0.0.1", self.port, timeout=600)
        try:
            c.request(method, path, body, headers or {})
            r = c.getresponse()
            data = r.read()
        except Exception:
            c.close()
            self.local.conn = None
            raise
        if r.status >= 300:
            raise RuntimeError("%s %s: %d %s" % (method, path, r.status,
                                                 data[:200]))
        return data

    def admin(self, method, path):
        return json.loads(self.request(method, "/_berth/" + path))

    def ecr(self, op, body, region="us-east-1"):
        # Without --credentials berth does not check signatures.
        h = {"X-Amz-Target": TARGET + op,
             "Content-Type": "application/x-amz-json-1.1",
             "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"
             "20260101/%s/ecr/aws4_request, SignedHeaders=host, "
             "Signature=0" % region}
        return json.loads(self.request("POST", "/", json.dumps(body), h))

    def v2(self, method, path, body=None, ctype=None, region="us-east-1"):
        if region not in self.tokens:
            t = self.ecr("GetAuthorizationToken", {}, region)[
                "authorizationData"][0]["authorizationToken"]
            self.tokens[region] = "Basic " + t
        h = {"Authorization": self.tokens[region]}
        if ctype:
            h["Content-Type"] = ctype
        return self.request(method, "/v2/" + path, body, h)

    def cpu(self):
        """CPU seconds of berthd (all threads) and berth-blobd so far."""
        t = 0
        for pid in (self.proc.pid, self.blobd):
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            t += int(fields[11]) + int(fields[12])
        return t / os.sysconf("SC_CLK_TCK")


def create(s, repo, region):
    s.ecr("CreateRepository", {"repositoryName": repo}, region)
    s.ecr("PutLifecyclePolicy", {"repositoryName": repo,
                                 "lifecyclePolicyText": json.dumps(POLICY)},
          region)
    blobs = []
    for b in (b'{"architecture":"amd64","os":"linux","rootfs":'
              b'{"type":"layers","diff_ids":[]}}', b"a layer\n" * 64):
        s.v2("POST", "%s/blobs/uploads/?digest=%s" % (repo, sha(b)), b,
             "application/octet-stream", region)
        blobs.append({"digest": sha(b), "size": len(b)})
    blobs[0]["mediaType"] = "application/vnd.oci.image.config.v1+json"
    blobs[1]["mediaType"] = "application/vnd.oci.image.layer.v1.tar+gzip"
    return blobs


def push(s, repo, blobs, i, region="us-east-1"):
    m = json.dumps({"schemaVersion": 2, "mediaType": OCI,
                    "config": blobs[0], "layers": [blobs[1]],
                    "annotations": {"n": str(i)}}).encode()
    t = tag_of(i)
    s.v2("PUT", "%s/manifests/%s" % (repo, t or sha(m)), m, OCI, region)


def populate(s, pool, nbig, nrepos, per_repo):
    """nbig images into BIG and nrepos repositories of per_repo images in
    SMALL_REGION, pushed over DAYS days of the test clock."""
    big = create(s, BIG, "us-east-1")
    small = list(pool.map(lambda r: (r, create(
        s, "bench/small-%05d" % r, SMALL_REGION)), range(nrepos)))
    for d in range(DAYS):
        jobs = [lambda i=i: push(s, BIG, big, i)
                for i in range(nbig * d // DAYS, nbig * (d + 1) // DAYS)]
        for r, blobs in small[nrepos * d // DAYS:nrepos * (d + 1) // DAYS]:
            jobs += [lambda r=r, b=blobs, k=k: push(
                s, "bench/small-%05d" % r, b, r * per_repo + k,
                SMALL_REGION) for k in range(per_repo)]
        list(pool.map(lambda f: f(), jobs))
        s.request("POST", "/_berth/clock",
                  json.dumps({"advance_seconds": 86400}))


class Gets:
    """bench/loadgen GETting one manifest of BIG over 4 connections, until
    stopped; the latencies of the requests started in a window."""

    def __init__(self, s, tag):
        self.proc = subprocess.Popen(
            [LOADGEN, "-v", "-c", "4", "-d", "3600", "-t",
             "127.0.0.1:%d" % s.port, "-H", "Accept: " + OCI,
             "get", "/v2/%s/manifests/%s" % (BIG, tag)],
            stdout=subprocess.PIPE, text=True)
        self.ops = []
        self.reader = threading.Thread(target=self.read)
        self.reader.start()

    def read(self):
        for line in self.proc.stdout:
            f = line.split()
            if f and f[0] == "OP":
                self.ops.append((int(f[3]) / 1e6, float(f[2])))

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait()
        self.reader.join()

    def window(self, windows):
        return sorted(ms for start, ms in self.ops
                      if any(a <= start <= b for a, b in windows))


def pct(v, p):
    return v[min(len(v) - 1, int(len(v) * p))] if v else float("nan")


def timed_run(s, query):
    c0 = s.cpu()
    t0 = time.monotonic()
    r = s.admin("POST", "lifecycle/run?" + query)
    t1 = time.monotonic()
    images = sum(x["images"] for x in r["repositories"])
    return r, images, (t0, t1), s.cpu() - c0


def report_run(name, r, images, window, cpu):
    wall = window[1] - window[0]
    print("%-44s %8d images %6.3f s  %6.2f us/image wall  %6.2f us/image "
          "CPU  (%d expired, %d archived, %d repositories, %d commits, "
          "%d slices, longest %.2f ms, %.2f ms CPU)" %
          (name, images, wall, wall * 1e6 / images, cpu * 1e6 / images,
           r["expired"], r["transitioned"], len(r["repositories"]),
           r["commits"], r["slices"], r["longest_slice_us"] / 1e3,
           r.get("longest_slice_cpu_us", 0) / 1e3))


def report_gets(name, lat):
    print("%-44s %8d GETs  p50 %5.2f ms  p99 %5.2f ms  p99.9 %5.2f ms  "
          "max %6.2f ms  over 20 ms: %d" %
          (name, len(lat), pct(lat, 0.5), pct(lat, 0.99), pct(lat, 0.999),
           lat[-1] if lat else float("nan"), sum(x > 20 for x in lat)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-q", action="store_true", help="small counts")
    ap.add_argument("-n", type=int, default=100000, help="big repository")
    ap.add_argument("-r", type=int, default=10000, help="small repositories")
    ap.add_argument("-k", type=int, default=10, help="images in each")
    ap.add_argument("-e", type=int, default=20,
                    help="evaluation-only runs of the big repository")
    ap.add_argument("-G", action="store_true",
                    help="no manifest GETs during the runs: the CPU "
                    "figures are then the runs' alone")
    a = ap.parse_args()
    if a.q:
        a.n, a.r = 10000, 1000
    print("uptime:", subprocess.run(["uptime"], capture_output=True,
                                    text=True).stdout.strip())
    s = Server()
    try:
        with ThreadPoolExecutor(4) as pool:
            t0 = time.monotonic()
            populate(s, pool, a.n, a.r, a.k)
            print("pushed %d + %d x %d images in %.0f s" %
                  (a.n, a.r, a.k, time.monotonic() - t0))
        if a.n > 0:
            big_repository(s, a)
        if a.r > 0:
            r, n, w, cpu = timed_run(s, "region=" + SMALL_REGION)
            report_run("%d repositories, first run (acts)" % a.r, r, n, w,
                       cpu)
            r, n, w, cpu = timed_run(s, "region=" + SMALL_REGION)
            report_run("%d repositories, evaluation only" % a.r, r, n, w,
                       cpu)
    finally:
        s.stop()
    print("uptime:", subprocess.run(["uptime"], capture_output=True,
                                    text=True).stdout.strip())


def big_repository(s, a):
    """Runs over BIG while loadgen GETs one of its manifests: the first,
    then -e that find nothing more to do."""
    # The newest release stays (rule 1 keeps 50).
    newest = max(i for i in range(a.n) if tag_of(i) and
                 tag_of(i).startswith("v"))
    gets = Gets(s, tag_of(newest)) if not a.G else None
    time.sleep(3)
    before = (time.monotonic() - 2, time.monotonic())
    r, n, w, cpu = timed_run(s, "repository=" + BIG)
    report_run("1 repository, first run (acts)", r, n, w, cpu)
    windows = [w]
    longest = [r["longest_slice_us"]]
    longest_cpu = [r.get("longest_slice_cpu_us", 0)]
    evals = []
    for _ in range(a.e):
        r, n, w, cpu = timed_run(s, "repository=" + BIG)
        evals.append((w[1] - w[0], cpu, r, n))
        windows.append(w)
        longest.append(r["longest_slice_us"])
        longest_cpu.append(r.get("longest_slice_cpu_us", 0))
    time.sleep(0.5)
    if gets is not None:
        gets.stop()
    wall, cpu, r, n = sorted(evals, key=lambda e: e[0])[len(evals) // 2]
    report_run("1 repository, evaluation only (median of %d)" % a.e,
               r, n, (0, wall), cpu)
    if gets is not None:
        report_gets("manifest GETs before the runs",
                    gets.window([before]))
        report_gets("manifest GETs during the runs", gets.window(windows))
    print("%-44s %6.2f ms wall, %.2f ms CPU (the most of %d runs); the "
          "runs' medians %.2f ms wall, %.2f ms CPU" %
          ("longest slice (berthd's own measure)", max(longest) / 1e3,
           max(longest_cpu) / 1e3, len(longest),
           sorted(longest)[len(longest) // 2] / 1e3,
           sorted(longest_cpu)[len(longest_cpu) // 2] / 1e3))


if __name__ == "__main__":
    main()
