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
"""Push and pull latency while garbage collection removes many blobs.

usage: gc_p99.py [-n BLOBS] [-c CLIENTS]

Starts berthd (BERTHD, BLOBD: the build's by default) with --gc-grace 0 on
a fresh data directory (BENCH_TMPDIR, default /var/tmp), pushes BLOBS
(default 100,000) small blobs that no image references, then measures
pushes of new 4 KiB blobs and pulls of a 4 KiB blob, CLIENTS (default 4)
keep-alive connections of each, twice: for a few seconds with nothing
else running, and while POST /_berth/gc collects the BLOBS.  Prints
p50/p99/max of each and how long the GC took.  Every blob here is small,
so blobd keeps them in its metadata log (the pack): the sweep marks their
entries dead and punches holes where their bytes were.  GC_BENCH_KEEP=1
keeps the data directory and berthd's log.
"""

import argparse
import hashlib
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.join(HERE, "..", "build")
BERTHD = os.environ.get("BERTHD", os.path.join(BUILD, "daemon", "berthd"))
BLOBD = os.environ.get("BLOBD", os.path.join(BUILD, "blobd", "berth-blobd"))
REPO = "bench/gc"
MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_LAYER = "application/vnd.oci.image.layer.v1.tar"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def push(conn, data):
    conn.request("POST", "/v2/%s/blobs/uploads/?digest=%s" %
                 (REPO, digest(data)), data)
    r = conn.getresponse()
    r.read()
    if r.status != 201:
        raise RuntimeError("push: %d" % r.status)


def pull(conn, d):
    conn.request("GET", "/v2/%s/blobs/%s" % (REPO, d))
    r = conn.getresponse()
    r.read()
    if r.status != 200:
        raise RuntimeError("pull: %d" % r.status)


def populate(port, n, clients):
    def worker(k):
        conn = http.client.HTTPConnection("127.0.0.1", port)
        for i in range(k, n, clients):
            push(conn, b"gc bench blob %d" % i)
        conn.close()
    threads = [threading.Thread(target=worker, args=(k,))
               for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def measure(port, clients, keep_going, pulled):
    """Latencies (ms) of pushes and pulls while keep_going() holds."""
    lat = {"push": [], "pull": []}
    lock = threading.Lock()

    def worker(kind, k):
        conn = http.client.HTTPConnection("127.0.0.1", port)
        mine, i = [], 0
        while keep_going():
            t0 = time.perf_counter()
            if kind == "push":
                push(conn, os.urandom(4096))
            else:
                pull(conn, pulled)
            mine.append((time.perf_counter() - t0) * 1000)
            i += 1
        conn.close()
        with lock:
            lat[kind].extend(mine)
    threads = [threading.Thread(target=worker, args=(kind, k))
               for kind in ("push", "pull") for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return lat


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))] if xs else float("nan")


def row(name, xs):
    print("  %-5s %7d requests  p50 %7.2f ms  p99 %8.2f ms  max %8.2f ms" %
          (name, len(xs), pct(xs, 0.5), pct(xs, 0.99), max(xs or [0])))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=100000)
    ap.add_argument("-c", type=int, default=4)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="berth-gc-bench.",
                           dir=os.environ.get("BENCH_TMPDIR", "/var/tmp"))
    port = free_port()
    log = open(os.path.join(tmp, "berthd.log"), "wb")
    proc = subprocess.Popen([BERTHD, "--blobd", BLOBD, "--listen",
                             "127.0.0.1:%d" % port, "--data-dir",
                             os.path.join(tmp, "data"), "--create-on-push",
                             "--gc-grace", "0"], stdout=log, stderr=log)
    try:
        for _ in range(200):
            try:
                c = http.client.HTTPConnection("127.0.0.1", port)
                c.request("GET", "/v2/")
                if c.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.05)
        t0 = time.perf_counter()
        populate(port, a.n, 8)
        print("pushed %d blobs in %.1f s" % (a.n, time.perf_counter() - t0))
        # The blob pulled is an image's layer: GC keeps it.
        kept = os.urandom(4096)
        config = b'{"architecture":"amd64","os":"linux"}'
        c = http.client.HTTPConnection("127.0.0.1", port)
        push(c, kept)
        push(c, config)
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": MT_MANIFEST,
            "config": {"mediaType": MT_CONFIG, "digest": digest(config),
                       "size": len(config)},
            "layers": [{"mediaType": MT_LAYER, "digest": digest(kept),
                        "size": len(kept)}]}).encode()
        c.request("PUT", "/v2/%s/manifests/kept" % REPO, manifest,
                  {"Content-Type": MT_MANIFEST})
        r = c.getresponse()
        r.read()
        if r.status != 201:
            raise RuntimeError("manifest: %d" % r.status)
        end = time.monotonic() + 5
        idle = measure(port, a.c, lambda: time.monotonic() < end,
                       digest(kept))
        print("without GC (5 s):")
        row("push", idle["push"])
        row("pull", idle["pull"])
        done = threading.Event()
        result = {}

        def gc():
            g = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
            t = time.perf_counter()
            g.request("POST", "/_berth/gc")
            r = g.getresponse()
            result["body"] = r.read().decode()
            result["s"] = time.perf_counter() - t
            done.set()
        gt = threading.Thread(target=gc)
        gt.start()
        during = measure(port, a.c, lambda: not done.is_set(), digest(kept))
        gt.join()
        print("during a GC of %d blobs (%.2f s: %s):" %
              (a.n, result["s"], result["body"]))
        row("push", during["push"])
        row("pull", during["pull"])
    finally:
        proc.terminate()
        proc.wait()
        log.close()
        if os.environ.get("GC_BENCH_KEEP"):
            print("kept", tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
