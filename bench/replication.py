#!/usr/bin/env python3
"""Replication speed (issue 11): the time from a push's 201 until every one
of 5 destinations (4 regions of the account and another account) lists a
10-layer image, and whether concurrent pushes elsewhere notice: the p99 of
bench/loadgen's blob pushes into another repository while 50 images a
second are pushed into a replicated one, against the same run without a
replication configuration.

    bench/replication.py [-n RUNS] [-p PUSHES] [-r REPEATS]

berthd, berth-blobd and loadgen come from build/ (BERTHD, BLOBD, LOADGEN
override them); data goes under BENCH_TMPDIR (default /var/tmp).  Prints
the machine's load (uptime) with the figures: the machine is shared.
"""

import argparse
import base64
import hashlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BERTHD = os.environ.get("BERTHD", os.path.join(TOP, "build/daemon/berthd"))
BLOBD = os.environ.get("BLOBD", os.path.join(TOP, "build/blobd/berth-blobd"))
LOADGEN = os.environ.get("LOADGEN", os.path.join(TOP, "build/bench/loadgen"))
TMPDIR = os.environ.get("BENCH_TMPDIR", "/var/tmp")
TARGET = "AmazonEC2ContainerRegistry_V20150921."
ACCT = "000000000000"
OTHER = "999999999999"
DESTS = [(ACCT, "eu-west-1"), (ACCT, "eu-west-2"), (ACCT, "ap-south-1"),
         (ACCT, "sa-east-1"), (OTHER, "us-east-1")]
OCI = "application/vnd.oci.image.manifest.v1+json"
RATE = 50		# image pushes a second into the replicated repository


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Server:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="berth-bench-repl.", dir=TMPDIR)
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.log = open(os.path.join(self.dir, "berthd.log"), "w")
        self.proc = subprocess.Popen(
            [BERTHD, "--blobd", BLOBD, "--listen", "127.0.0.1:%d" % self.port,
             "--data-dir", os.path.join(self.dir, "data")],
            stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(200):
            try:
                urllib.request.urlopen(self.url + "/_berth/health")
                break
            except Exception:
                time.sleep(0.05)
        self.tokens = {}

    def stop(self):
        self.proc.terminate()
        self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def ecr(self, op, body, account=ACCT, region="us-east-1"):
        # berth takes the account from a 12-digit access key, the region
        # from the credential scope; signatures are not checked here.
        h = {"X-Amz-Target": TARGET + op,
             "Content-Type": "application/x-amz-json-1.1",
             "Authorization": "AWS4-HMAC-SHA256 Credential=%s/20260101/%s/"
             "ecr/aws4_request, SignedHeaders=host, Signature=0" %
             (account, region)}
        req = urllib.request.Request(self.url + "/", json.dumps(body).encode(),
                                     h, method="POST")
        with urllib.request.urlopen(req) as r:
            return json.loads(r.read())

    def auth(self, account, region):
        k = (account, region)
        if k not in self.tokens:
            t = self.ecr("GetAuthorizationToken", {}, account, region)[
                "authorizationData"][0]["authorizationToken"]
            self.tokens[k] = "Basic " + t
        return self.tokens[k]

    def http(self, method, path, data=None, ctype=None, account=ACCT,
             region="us-east-1"):
        h = {"Authorization": self.auth(account, region)}
        if ctype:
            h["Content-Type"] = ctype
        req = urllib.request.Request(self.url + path, data, h, method=method)
        with urllib.request.urlopen(req) as r:
            r.read()
            return r.status


def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def image(s, repo, seed, nlayers=10):
    """Uploads the blobs of a 10-layer image; returns its manifest."""
    layers = []
    for i in range(nlayers):
        b = ("%s layer %d " % (seed, i)).encode() * 64
        s.http("POST", "/v2/%s/blobs/uploads/?digest=%s" % (repo, sha(b)), b,
               "application/octet-stream")
        layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar",
                       "digest": sha(b), "size": len(b)})
    cfg = json.dumps({"architecture": "amd64", "os": "linux",
                      "seed": seed}).encode()
    s.http("POST", "/v2/%s/blobs/uploads/?digest=%s" % (repo, sha(cfg)), cfg,
           "application/octet-stream")
    return json.dumps({"schemaVersion": 2, "mediaType": OCI,
                       "config": {"mediaType":
                                  "application/vnd.oci.image.config.v1+json",
                                  "digest": sha(cfg), "size": len(cfg)},
                       "layers": layers}).encode()


def listed(s, repo, tag):
    for account, region in DESTS:
        try:
            s.http("HEAD", "/v2/%s/manifests/%s" % (repo, tag),
                   account=account, region=region)
        except Exception:
            return False
    return True


def configure(s):
    s.ecr("PutRegistryPolicy", {"policyText": json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": ACCT},
            "Action": ["ecr:ReplicateImage", "ecr:CreateRepository"],
            "Resource": "*"}]})}, OTHER)
    s.ecr("PutReplicationConfiguration", {"replicationConfiguration": {
        "rules": [{"destinations": [{"region": r, "registryId": a}
                                    for a, r in DESTS]}]}})


def replication_latency(runs):
    s = Server()
    try:
        configure(s)
        for a, r in DESTS:		# log in everywhere before timing
            s.auth(a, r)
        out = []
        for i in range(runs):
            repo = "bench/app%d" % i
            s.ecr("CreateRepository", {"repositoryName": repo})
            m = image(s, repo, "run%d" % i)
            s.http("PUT", "/v2/%s/manifests/v1" % repo, m, OCI)
            t0 = time.perf_counter()
            while not listed(s, repo, "v1"):
                pass
            out.append((time.perf_counter() - t0) * 1000)
        return out
    finally:
        s.stop()


def concurrent_p99(count, replicate):
    """loadgen's blob push p99 into one repository while images go into
    another, replicated or not."""
    s = Server()
    stop = threading.Event()
    pushed = [0]
    try:
        if replicate:
            configure(s)
        s.ecr("CreateRepository", {"repositoryName": "load/blobs"})
        s.ecr("CreateRepository", {"repositoryName": "bench/busy"})
        manifests = [image(s, "bench/busy", "busy%d" % i) for i in range(4)]

        def busy():
            # A steady stream of pushes (RATE a second), as a busy CI
            # host makes, not a flood.
            i = 0
            t0 = time.monotonic()
            while not stop.is_set():
                s.http("PUT", "/v2/bench/busy/manifests/t%d" % i,
                       manifests[i % len(manifests)], OCI)
                i += 1
                delay = t0 + i / RATE - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            pushed[0] = i
        t = threading.Thread(target=busy)
        t.start()
        r = subprocess.run([LOADGEN, "-q", "-t", "127.0.0.1:%d" % s.port,
                            "-r", "load/blobs", "-c", "4", "-s", "65536",
                            "-n", str(count), "push"],
                           capture_output=True, text=True)
        stop.set()
        t.join()
        line = [x for x in r.stdout.splitlines() if x.startswith("RESULT")]
        fields = dict(kv.split("=", 1) for kv in line[0].split()[1:]
                      if "=" in kv) if line else {}
        return fields, pushed[0]
    finally:
        s.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=30, help="replication runs")
    ap.add_argument("-p", type=int, default=3000,
                    help="blob pushes per loadgen run")
    ap.add_argument("-r", type=int, default=3,
                    help="loadgen runs with and without replication")
    a = ap.parse_args()
    print("uptime:", subprocess.run(["uptime"], capture_output=True,
                                    text=True).stdout.strip())
    lat = sorted(replication_latency(a.n))
    print("10-layer image, 5 destinations, %d runs: 201 -> listed "
          "everywhere: median %.2f ms, p90 %.2f ms, max %.2f ms "
          "(target <= 10 ms: %s)" % (
              len(lat), statistics.median(lat),
              lat[int(len(lat) * 0.9) - 1], lat[-1],
              "met" if statistics.median(lat) <= 10 else "MISSED"))
    # Alternated and repeated: the machine is shared, its load moves.
    runs = {False: [], True: []}
    for _ in range(a.r):
        for replicate in (False, True):
            runs[replicate].append(concurrent_p99(a.p, replicate))
    print("uptime:", subprocess.run(["uptime"], capture_output=True,
                                    text=True).stdout.strip())
    p99 = {}
    for replicate, name in ((False, "without replication"),
                            (True, "with replication")):
        vals = [float(f["p99_ms"]) for f, n in runs[replicate]
                if "p99_ms" in f]
        if not vals:
            print("blob pushes %s: loadgen gave no figures" % name)
            return 1
        p99[replicate] = statistics.median(vals)
        print("blob pushes %s: p99 %s ms over %d runs, median %.3f ms "
              "(rps %s; image pushes alongside: %s)" % (
                  name, " ".join(f["p99_ms"] for f, n in runs[replicate]),
                  len(vals), p99[replicate],
                  " ".join(f.get("rps", "-") for f, n in runs[replicate]),
                  " ".join(str(n) for f, n in runs[replicate])))
    ratio = p99[True] / p99[False]
    print("median p99 ratio %.3f (target <= 1.10: %s)" % (
        ratio, "met" if ratio <= 1.10 else "MISSED"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
