#!/usr/bin/env python3
"""ECR API throughput: berthd against moto's server, side by side.

Measures requests per second of DescribeRepositories, PutImage,
BatchGetImage and ListImages on one keep-alive connection per client
thread, and the DescribeRepositories latency over 10,000 repositories
(first page, full paginated listing).  moto_server is used when it is on
PATH (pip's moto[server]); without it only berth's absolute figures are
printed.  A benchmark, not a test: it prints, it does not judge.

usage: bench/ecr_vs_moto.py [--seconds N] [--threads N] [--repos N]
                            [--json FILE]
--repos sets how many repositories the listing is timed over (default
10,000); --json also writes every figure to FILE, for bench/push_targets.sh.
BERTHD and BLOBD name the binaries (default: build/ under the tree).
"""

import argparse
import base64
import hashlib
import http.client
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BERTHD = os.environ.get("BERTHD", os.path.join(TOP, "build/daemon/berthd"))
BLOBD = os.environ.get("BLOBD", os.path.join(TOP, "build/blobd/berth-blobd"))
TARGET = "AmazonEC2ContainerRegistry_V20150921."
AUTH = ("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250101/us-east-1/ecr/"
        "aws4_request, SignedHeaders=host;x-amz-date, Signature=" + "0" * 64)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Conn:
    def __init__(self, port):
        self.c = http.client.HTTPConnection("127.0.0.1", port)

    def call(self, op, body):
        self.c.request("POST", "/", json.dumps(body), {
            "X-Amz-Target": TARGET + op,
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Date": "20250101T000000Z", "Authorization": AUTH})
        r = self.c.getresponse()
        data = r.read()
        if r.status != 200:
            raise RuntimeError("%s: %d %s" % (op, r.status, data[:200]))
        return json.loads(data)


def wait_up(port):
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server on %d did not start" % port)


def setup(port):
    """One repository with an image: layers through the layer API."""
    c = Conn(port)
    c.call("CreateRepository", {"repositoryName": "bench/app"})
    digests = []
    for blob in (b'{"architecture":"amd64","os":"linux"}', b"x" * 4096):
        d = "sha256:" + hashlib.sha256(blob).hexdigest()
        digests.append((d, len(blob)))
        try:
            up = c.call("InitiateLayerUpload",
                        {"repositoryName": "bench/app"})
        except RuntimeError:
            continue  # moto has no layer API and checks no layers
        c.call("UploadLayerPart", {
            "repositoryName": "bench/app", "uploadId": up["uploadId"],
            "partFirstByte": 0, "partLastByte": len(blob) - 1,
            "layerPartBlob": base64.b64encode(blob).decode()})
        c.call("CompleteLayerUpload", {
            "repositoryName": "bench/app", "uploadId": up["uploadId"],
            "layerDigests": [d]})
    return digests


def manifest(digests, n):
    return json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": digests[0][0], "size": digests[0][1]},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": digests[1][0], "size": digests[1][1]}],
        "annotations": {"n": str(n)}})


def rate(port, seconds, threads, make_body, op):
    count = [0] * threads
    stop = time.time() + seconds

    def worker(k):
        c = Conn(port)
        i = 0
        while time.time() < stop:
            c.call(op, make_body(k, i))
            i += 1
        count[k] = i
    ts = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return sum(count) / seconds


def wrk_rate(port, seconds, op, body):
    """Requests per second with wrk (a Python client tops out first)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write('wrk.method = "POST"\n')
        f.write("wrk.body = %s\n" % json.dumps(json.dumps(body)))
        f.write('wrk.headers["X-Amz-Target"] = "%s%s"\n' % (TARGET, op))
        f.write('wrk.headers["Content-Type"] = '
                '"application/x-amz-json-1.1"\n')
        f.write('wrk.headers["X-Amz-Date"] = "20250101T000000Z"\n')
        f.write('wrk.headers["Authorization"] = "%s"\n' % AUTH)
        script = f.name
    try:
        out = subprocess.run(
            ["wrk", "-t2", "-c16", "-d%ds" % max(1, int(seconds)), "-s",
             script, "http://127.0.0.1:%d/" % port],
            capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(script)
    for line in out.splitlines():
        if line.startswith("Requests/sec:"):
            return float(line.split()[1])
    raise RuntimeError("wrk: " + out)


def wrk_put_rate(port, seconds, digests):
    """PutImage with wrk: every request a new manifest under a new tag.

    Each wrk thread numbers its requests; the number goes into the
    manifest's annotations (so each manifest is a new image) and into the
    tag."""
    template = json.dumps({
        "repositoryName": "bench/app", "imageTag": "w__N__",
        "imageManifest": manifest(digests, "__N__")})
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write("local template = %s\n" % json.dumps(template))
        f.write("local counter = 0\n")
        f.write("local threads = 0\n")
        f.write("setup = function(t) threads = threads + 1; "
                "t:set('tid', threads) end\n")
        f.write("init = function(args) base = tonumber(wrk.thread:get("
                "'tid') or 0) * 100000000 end\n")
        f.write("request = function()\n"
                "  counter = counter + 1\n"
                "  local body = string.gsub(template, '__N__', "
                "tostring(base + counter))\n"
                "  return wrk.format('POST', '/', {\n")
        f.write("    ['X-Amz-Target'] = '%sPutImage',\n" % TARGET)
        f.write("    ['Content-Type'] = 'application/x-amz-json-1.1',\n")
        f.write("    ['X-Amz-Date'] = '20250101T000000Z',\n")
        f.write("    ['Authorization'] = '%s'}, body)\nend\n" % AUTH)
        script = f.name
    try:
        out = subprocess.run(
            ["wrk", "-t2", "-c16", "-d%ds" % max(1, int(seconds)), "-s",
             script, "http://127.0.0.1:%d/" % port],
            capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(script)
    errors = 0
    for line in out.splitlines():
        if "Non-2xx" in line:
            errors = int(line.split()[-1])
        if line.startswith("Requests/sec:"):
            rps = float(line.split()[1])
    if errors:
        raise RuntimeError("wrk PutImage: %d errors\n%s" % (errors, out))
    return rps


def run(port, seconds, threads, repos):
    digests = setup(port)
    out = {}
    out["DescribeRepositories"] = rate(
        port, seconds, threads, lambda k, i: {}, "DescribeRepositories")
    out["PutImage"] = rate(
        port, seconds, threads, lambda k, i: {
            "repositoryName": "bench/app",
            "imageManifest": manifest(digests, "%d-%d" % (k, i)),
            "imageTag": "t%d-%d" % (k, i)}, "PutImage")
    out["BatchGetImage"] = rate(
        port, seconds, threads, lambda k, i: {
            "repositoryName": "bench/app",
            "imageIds": [{"imageTag": "t0-%d" % (i % 50)}]},
        "BatchGetImage")
    out["ListImages"] = rate(
        port, seconds, threads, lambda k, i: {
            "repositoryName": "bench/app", "maxResults": 100}, "ListImages")
    if shutil.which("wrk"):
        out["DescribeRepositories (wrk)"] = wrk_rate(
            port, seconds, "DescribeRepositories", {})
        out["BatchGetImage (wrk)"] = wrk_rate(
            port, seconds, "BatchGetImage", {
                "repositoryName": "bench/app",
                "imageIds": [{"imageTag": "t0-1"}]})
        out["ListImages (wrk)"] = wrk_rate(
            port, seconds, "ListImages", {"repositoryName": "bench/app",
                                          "maxResults": 100})
        out["PutImage (wrk)"] = wrk_put_rate(port, seconds, digests)
    # Many repositories (10,000 by default).
    c = Conn(port)
    for i in range(repos):
        c.call("CreateRepository", {"repositoryName": "many/r%05d" % i})
    t0 = time.perf_counter()
    for _ in range(20):
        c.call("DescribeRepositories", {})
    out["first page ms"] = (time.perf_counter() - t0) / 20 * 1000
    t0 = time.perf_counter()
    tok = None
    while True:
        b = {"maxResults": 1000}
        if tok:
            b["nextToken"] = tok
        tok = c.call("DescribeRepositories", b).get("nextToken")
        if not tok:
            break
    out["full listing ms"] = (time.perf_counter() - t0) * 1000
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repos", type=int, default=10000)
    ap.add_argument("--json")
    args = ap.parse_args()
    results = {}
    d = tempfile.mkdtemp(prefix="berth-bench.")
    port = free_port()
    p = subprocess.Popen([BERTHD, "--blobd", BLOBD, "--listen",
                          "127.0.0.1:%d" % port, "--data-dir",
                          os.path.join(d, "data")],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_up(port)
        results["berth"] = run(port, args.seconds, args.threads, args.repos)
    finally:
        p.terminate()
        p.wait()
        shutil.rmtree(d, ignore_errors=True)
    moto = shutil.which("moto_server")
    if moto:
        port = free_port()
        p = subprocess.Popen([moto, "-p", str(port)],
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        try:
            wait_up(port)
            time.sleep(1)
            results["moto"] = run(port, args.seconds, args.threads, args.repos)
        finally:
            p.terminate()
            p.wait()
    else:
        print("moto_server is not installed: berth's figures only")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    keys = list(results["berth"])
    print("%-28s %14s %14s %8s" % ("", "berth", "moto", "ratio"))
    for k in keys:
        b = results["berth"][k]
        m = results.get("moto", {}).get(k)
        if k.endswith("ms"):
            print("%-28s %14.2f %14s %8s" % (k, b, "%.2f" % m if m else "-",
                  "%.1fx" % (m / b) if m else "-"))
        else:
            print("%-28s %12.0f/s %12s %8s" % (k, b, "%.0f/s" % m if m else
                  "-", "%.1fx" % (b / m) if m else "-"))


if __name__ == "__main__":
    main()
