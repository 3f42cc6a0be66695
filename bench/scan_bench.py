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
"""The scanner's speed target (issue 13): an image of about 300 MB of
layers holding 500 installed packages, against a database of 50,000
advisories, scanned in at most 2 s on this machine.

Layers are real content: this machine's /usr, packed into tar archives and
compressed with gzip (-6, as image builders do) or zstd (-3), three layers
of about 100 MB each, the first with os-release and a 500-package dpkg
status file.  The database is 50,000 OSV files for Debian:12, 2,000 of
them about the image's packages (fixed above the installed version, so
each is a finding).  berth-scand reads it at start-up; the figures are the
database load time, then for each compression the scan's time as scand
measures it (fork of the sandboxed child to the matched result), layer
MB/s (10^6 bytes of compressed layers per second) and the unpacked MB/s.

  bench/scan_bench.py [-r N] [path/to/berth-scand]

Files go under $BENCH_TMPDIR (default /var/tmp) and are removed at exit.
"""
import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
import scan_engine  # noqa: E402  (the scanner's protocol client)

LAYER_BYTES = 100 * 1000 * 1000     # compressed, per layer
LAYERS = 3
PACKAGES = 500
ADVISORIES = 50000
AFFECTING = 2000


def status_file():
    out = []
    for i in range(PACKAGES):
        out.append("Package: pkg%03d\nStatus: install ok installed\n"
                   "Architecture: amd64\nSource: src%03d\n"
                   "Version: 1.%d.0-1+deb12u%d\nDescription: package %d\n"
                   " with a long description line\n\n" % (i, i // 2, i, i % 7,
                                                           i))
    return "".join(out).encode()


def write_db(path):
    rnd = random.Random(13)
    os.makedirs(path)
    for i in range(ADVISORIES):
        if i < AFFECTING:
            pkg = "src%03d" % (i % (PACKAGES // 2))
            fixed = "1.%d.0-1+deb12u9" % (2 * (i % (PACKAGES // 2)) + 1)
        else:
            pkg = "other%05d" % rnd.randrange(20000)
            fixed = "%d.%d-%d" % (rnd.randrange(9), rnd.randrange(99),
                                  rnd.randrange(9))
        doc = {"schema_version": "1.6.0", "id": "DEBIAN-CVE-2026-%05d" % i,
               "modified": "2026-02-01T00:00:00Z",
               "details": "A synthetic advisory for the scanner bench, "
                          "with a description of ordinary length. " * 3,
               "severity": [{"type": "CVSS_V3", "score":
                             "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:L/A:N"}],
               "references": [{"type": "ADVISORY", "url":
                               "https://security-tracker.debian.org/tracker/"
                               "CVE-2026-%05d" % i}],
               "affected": [{"package": {"ecosystem": "Debian:12",
                                         "name": pkg},
                             "ranges": [{"type": "ECOSYSTEM", "events": [
                                 {"introduced": "0"}, {"fixed": fixed}]}]}]}
        sub = os.path.join(path, "%02d" % (i % 100))
        os.makedirs(sub, exist_ok=True)
        with open(os.path.join(sub, "%d.json" % i), "w") as f:
            json.dump(doc, f)


def usr_files():
    for root in ("/usr/lib", "/usr/share", "/usr/bin", "/usr/libexec"):
        for d, _, files in os.walk(root):
            for name in sorted(files):
                p = os.path.join(d, name)
                # Small files, so that a layer stops near its size.
                if os.path.isfile(p) and not os.path.islink(p) and \
                        os.path.getsize(p) < (2 << 20):
                    yield p


def make_layer(path, files, compressor, first):
    """Streams files into a tar through the compressor until the output
    reaches LAYER_BYTES."""
    with open(path, "wb") as out:
        proc = subprocess.Popen(compressor, stdin=subprocess.PIPE,
                                stdout=out)
        with tarfile.open(fileobj=proc.stdin, mode="w|",
                          format=tarfile.PAX_FORMAT) as t:
            if first:
                for name, data in (("etc/os-release",
                                    b"ID=debian\nVERSION_ID=\"12\"\n"),
                                   ("var/lib/dpkg/status", status_file())):
                    ti = tarfile.TarInfo(name)
                    ti.size = len(data)
                    t.addfile(ti, __import__("io").BytesIO(data))
            for p in files:
                try:
                    t.add(p, arcname=p.lstrip("/"), recursive=False)
                except OSError:
                    continue
                if os.path.getsize(path) >= LAYER_BYTES - (1 << 20):
                    break
        proc.stdin.close()
        proc.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-r", type=int, default=3, help="scans per image")
    ap.add_argument("binary", nargs="?",
                    default=os.environ.get("SCAND") or
                    os.path.join(TOP, "build/daemon/berth-scand"))
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="scan-bench.",
                           dir=os.environ.get("BENCH_TMPDIR", "/var/tmp"))
    s = None
    try:
        t0 = time.time()
        db = os.path.join(tmp, "osv")
        write_db(db)
        images = {}
        for name, comp, media in (("gzip", ["gzip", "-6", "-c"], "TAR_GZIP"),
                                  ("zstd", ["zstd", "-3", "-q", "-c"],
                                   "TAR_ZSTD")):
            files = usr_files()
            paths = []
            for i in range(LAYERS):
                p = os.path.join(tmp, "%s-%d" % (name, i))
                make_layer(p, files, comp, i == 0)
                paths.append(p)
            images[name] = (media, paths)
        print("setup: %.0f s (database files and layers written)" %
              (time.time() - t0))

        s = scan_engine.Scand(a.binary, tmp, "--vuln-db", db)
        loads = [s.db["load_ms"]] + [s.reload()["load_ms"]
                                      for _ in range(a.r - 1)]
        print("database: %d advisories (%d files), load median %d ms of %d "
              "(start-up and reloads: %s ms)" % (
                  s.db["advisories"], ADVISORIES, statistics.median(loads),
                  len(loads), ", ".join(str(x) for x in loads)))
        for name, (media, paths) in images.items():
            runs = []
            for _ in range(a.r):
                fds = [os.open(p, os.O_RDONLY) for p in paths]
                t = time.time()
                r = s.scan([(media, fd) for fd in fds])
                wall = time.time() - t
                assert r["status"] == "COMPLETE", r["description"]
                assert r["npackages"] == PACKAGES, r["npackages"]
                assert r["nfindings"] == AFFECTING * 2, r["nfindings"]
                runs.append((wall, r))
            wall, r = sorted(runs, key=lambda x: x[0])[len(runs) // 2]
            cpu = statistics.median(x[1]["cpu_ms"] for x in runs) / 1000
            mb = r["layer_bytes"] / 1e6
            print("%s: %.0f MB of layers (%.0f MB unpacked), %d packages, "
                  "%d findings: median scan %.2f s (of %d), %.0f MB/s of "
                  "layers, %.0f MB/s unpacked; %.2f s of CPU (%.0f MB/s of "
                  "layers per CPU second); target <= 2 s: %s" % (
                      name, mb, r["unpacked_bytes"] / 1e6, r["npackages"],
                      r["nfindings"], wall, len(runs), mb / wall,
                      r["unpacked_bytes"] / 1e6 / wall, cpu, mb / cpu,
                      "met" if wall <= 2 else "NOT met"))
        for tool, args in (("gzip", ["gzip", "-dc"]),
                           ("zstd", ["zstd", "-dcq"])):
            paths = images[tool][1]
            t = time.time()
            c0 = os.times()
            for p in paths:
                with open(p, "rb") as f:
                    subprocess.run(args, stdin=f, stdout=subprocess.DEVNULL,
                                   check=True)
            c1 = os.times()
            print("baseline: %s -d alone on the same layers, one after the "
                  "other: %.2f s, %.2f s of CPU" % (
                      tool, time.time() - t,
                      (c1.children_user + c1.children_system) -
                      (c0.children_user + c0.children_system)))
        print("load average at the end: %.2f (this machine has %d CPUs)" %
              (os.getloadavg()[0], os.cpu_count()))
    finally:
        if s is not None:
            s.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
