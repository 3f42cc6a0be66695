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
"""berth-scand driven over its own protocol (common/scanproto.h).

Layers are built here as real tar archives (plain, gzip, zstd) holding real
package databases: this machine's dpkg status file, an apk installed file,
and an rpmdb.sqlite made by rpm itself; the OSV database is a directory of
fixture advisories written here.  Each image's packages and findings are
checked exactly, then hostile layers (a path with "..", links over the
databases, truncated gzip, bytes that are no archive, an image that
unpacks past the limit, a layer that never ends, a scan over its memory
limit) must each fail that scan only, with a reason, and scand must go on.

  scan_engine.py [path/to/berth-scand]    (default: $SCAND, else build/)
"""
import gzip
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import blobd_rpc  # noqa: E402  (the frame codec and the client)

TOP = blobd_rpc.TOP
MSG = blobd_rpc.enum_values("scanproto.h", "scan_msg_type", "MSG_SCAN_")
MEDIA = blobd_rpc.enum_values("scanproto.h", "scan_media", "SCAN_MEDIA_")
STATUS = {v: k[12:] for k, v in blobd_rpc.enum_values(
    "scanproto.h", "scan_status", "SCAN_STATUS_").items()}
BERR = blobd_rpc.BERR
SEVERITIES = ["INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL",
              "UNDEFINED"]
RESULT = struct.Struct("=12IqQQQ256s")
DB_STATE = struct.Struct("=QQQqiI")


class Scand(blobd_rpc.Blobd):
    """berth-scand on a debug socket; the frame codec is blobd_rpc's."""

    def __init__(self, binary, tmp, *args):
        self.start([binary, *args], os.path.join(
            tmp, "scand-%d.sock" % time.time_ns()), timeout=20)
        t, rid, payload, _ = self.recv()
        assert t == MSG["MSG_SCAN_HELLO"] and rid == 0, (t, rid)
        assert struct.unpack("=II", payload) == (2, self.proc.pid)
        t, rid, payload, _ = self.recv()
        assert t == MSG["MSG_SCAN_DB_STATE"] and rid == 0, t
        self.db = db_state(payload)

    def scan(self, layers, packed=False):
        """layers: (media name, bytes or an fd); the result as a dict.
        packed: each layer's bytes sit inside a larger file, as blobd's
        pack of small blobs holds them."""
        rid = self.next_id
        self.next_id += 1
        for i, (media, data) in enumerate(layers):
            offset = size = 0
            if isinstance(data, int):
                fd = data
            else:
                fd = os.memfd_create("layer")
                if packed:
                    offset, size = 4096 + i, len(data)
                    os.write(fd, b"\xff" * offset + data + b"\xff" * 999)
                else:
                    os.write(fd, data)
                os.lseek(fd, 0, os.SEEK_SET)
            self.send(MSG["MSG_SCAN_LAYER"], struct.pack(
                "=IIQQ", i, MEDIA["SCAN_MEDIA_" + media], offset, size),
                fd=fd, rid=rid)
            os.close(fd)
        self.send(MSG["MSG_SCAN_RUN"], struct.pack("=II", len(layers), 0),
                  rid=rid)
        t, rrid, p, fd = self.recv()
        assert rrid == rid, (rrid, rid)
        if t == MSG["MSG_SCAN_ERROR"]:
            return {"error": struct.unpack("=iI", p)[0]}
        assert t == MSG["MSG_SCAN_RESULT"] and fd is not None, t
        f = RESULT.unpack(p)
        with os.fdopen(fd, "rb") as fp:
            records = decode_records(fp.read())
        res = {
            "status": STATUS[f[0]],
            "npackages": f[1], "nfindings": f[2],
            "counts": dict(zip(SEVERITIES, f[3:9])),
            "elapsed_ms": f[9], "cpu_ms": f[10],
            "db_updated_at": f[12], "db_generation": f[13],
            "layer_bytes": f[14], "unpacked_bytes": f[15],
            "description": f[16].rstrip(b"\0").decode(),
            "os": [r for k, r in records if k == 1],
            "packages": [r for k, r in records if k == 2],
            "findings": [dict(zip(FINDING_FIELDS, r))
                         for k, r in records if k == 3],
        }
        assert len(res["packages"]) == res["npackages"]
        assert len(res["findings"]) == res["nfindings"]
        return res

    def reload(self):
        t, p, _ = self.call(MSG["MSG_SCAN_DB_RELOAD"])
        assert t == MSG["MSG_SCAN_DB_STATE"], t
        return db_state(p)


FINDING_FIELDS = ["id", "name", "description", "uri", "severity",
                  "package_name", "package_version", "fixed_version",
                  "cvss_vector", "cvss_score", "ecosystem"]


def db_state(p):
    return dict(zip(["advisories", "skipped", "generation", "updated_at",
                     "loaded", "load_ms"], DB_STATE.unpack(p)))


def decode_records(b):
    out, off = [], 0
    while off < len(b):
        kind, n = struct.unpack_from("<II", b, off)
        off += 8
        fields = []
        for _ in range(n):
            (ln,) = struct.unpack_from("<I", b, off)
            fields.append(b[off + 4:off + 4 + ln].decode())
            off += 4 + ln
        out.append((kind, fields))
    return out


# --- layers ------------------------------------------------------------------

def tar_layer(entries):
    """entries: (path, bytes | ("link", target) | ("dir",))."""
    bio = io.BytesIO()
    with tarfile.open(fileobj=bio, mode="w", format=tarfile.PAX_FORMAT) as t:
        for path, data in entries:
            ti = tarfile.TarInfo(path)
            if isinstance(data, tuple) and data[0] == "link":
                ti.type, ti.linkname = tarfile.SYMTYPE, data[1]
                t.addfile(ti)
            elif isinstance(data, tuple):
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
                t.addfile(ti)
            else:
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
    return bio.getvalue()


def gz(b):
    return gzip.compress(b, 6)


def zst(b):
    return subprocess.run(["zstd", "-q", "-c"], input=b, check=True,
                          stdout=subprocess.PIPE).stdout


def advisory(path, doc):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(doc, f)


def osv(id_, eco, pkg, events=None, versions=None, **extra):
    aff = {"package": {"ecosystem": eco, "name": pkg}}
    if events is not None:
        aff["ranges"] = [{"type": "ECOSYSTEM", "events": events}]
    if versions is not None:
        aff["versions"] = versions
    doc = {"schema_version": "1.6.0", "id": id_,
           "modified": "2026-01-15T08:00:00Z", "affected": [aff]}
    doc.update(extra)
    return doc


CRIT = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"


def local_dpkg():
    with open("/var/lib/dpkg/status", "rb") as f:
        status = f.read()
    with open("/etc/os-release", "rb") as f:
        os_release = f.read()
    q = subprocess.run(["dpkg-query", "-W", "-f",
                        "${Version}\t${source:Package}\t${source:Version}",
                        "libc6"], capture_output=True, text=True, check=True)
    version, src, srcver = q.stdout.split("\t")
    n = subprocess.run(["dpkg-query", "-W", "-f", "${db:Status-Abbrev}\n"],
                       capture_output=True, text=True, check=True)
    installed = sum(1 for s in n.stdout.splitlines() if s.startswith("ii"))
    return status, os_release, version, src, srcver, installed


APK_INSTALLED = b"""C:Q1n1ZbvcFmqKZDc2A4kr2EeLiVQaw=
P:musl
V:1.2.4_git20230717-r4
A:x86_64
S:383152
I:622592
T:the musl c library (libc) implementation
o:musl
m:Natanael Copa <ncopa@alpinelinux.org>
F:lib
R:ld-musl-x86_64.so.1
a:0:0:755

C:Q1Xz9N7sJ5cN6p1aR7FJQqw1r1oYg=
P:libcrypto3
V:3.1.4-r0
A:x86_64
o:openssl
D:so:libc.musl-x86_64.so.1

C:Q1aA9N7sJ5cN6p1aR7FJQqw1r1oYg=
P:libssl3
V:3.1.4-r0
A:x86_64
o:openssl

"""


def rpmdb(tmp):
    """A real rpmdb.sqlite with openssl-libs (source openssl) and bash."""
    if shutil.which("rpmbuild") is None:
        raise RuntimeError("rpmbuild is missing: tests/run.sh installs rpm")
    top = os.path.join(tmp, "rpmbuild")
    spec = os.path.join(tmp, "openssl.spec")
    with open(spec, "w") as f:
        f.write("""Name: openssl
Epoch: 1
Version: 3.0.7
Release: 24.el9
Summary: fixture
License: MIT
BuildArch: x86_64
%description
fixture
%package libs
Summary: fixture libs
%description libs
fixture libs
%files libs
""")
    spec2 = os.path.join(tmp, "bash.spec")
    with open(spec2, "w") as f:
        f.write("Name: bash\nVersion: 5.1.8\nRelease: 6.el9_1\nSummary: x\n"
                "License: GPL\nBuildArch: x86_64\n%description\nx\n%files\n")
    for s in (spec, spec2):
        subprocess.run(["rpmbuild", "-bb", "--define", "_topdir " + top, s],
                       check=True, capture_output=True)
    root = os.path.join(tmp, "rpmroot")
    os.makedirs(root)
    base = ["rpm", "--root", root, "--dbpath", "/var/lib/rpm"]
    subprocess.run(base + ["--initdb"], check=True, capture_output=True)
    rpms = [os.path.join(d, f) for d, _, fs in os.walk(top) for f in fs
            if f.endswith(".rpm")]
    subprocess.run(base + ["-i", "--justdb", "--nodeps", "--ignorearch",
                           "--ignoreos"] + rpms, check=True,
                   capture_output=True)
    with open(os.path.join(root, "var/lib/rpm/rpmdb.sqlite"), "rb") as f:
        return f.read()


def glibc_advisories(db, src, srcver):
    """glibc (src) fixed one revision after this machine's (srcver), and
    fixed long ago, both for Debian 12."""
    advisory(os.path.join(db, "debian", "DSA-9001-1.json"), osv(
        "DSA-9001-1", "Debian:12", src,
        [{"introduced": "0"}, {"fixed": srcver + "1"}],
        upstream=["CVE-2026-0001"], details="Heap overflow in the loader.",
        severity=[{"type": "CVSS_V3", "score": CRIT}],
        references=[{"type": "ADVISORY",
                     "url": "https://security-tracker.debian.org/tracker/"
                            "CVE-2026-0001"}]))
    advisory(os.path.join(db, "debian", "DSA-9003-1.json"), osv(
        "DSA-9003-1", "Debian:12", src,
        [{"introduced": "0"}, {"fixed": "0.1-1"}]))


def write_image_db(db):
    """The advisories the images of ecr_scan.py match."""
    _, _, _, src, srcver, _ = local_dpkg()
    glibc_advisories(db, src, srcver)
    advisory(os.path.join(db, "alpine", "ALPINE-CVE-2023-5678.json"),
             osv("ALPINE-CVE-2023-5678", "Alpine:v3.19", "openssl",
                 [{"introduced": "0"}, {"fixed": "3.1.4-r1"}],
                 aliases=["CVE-2023-5678"],
                 database_specific={"severity": "medium"}))
    advisory(os.path.join(db, "rocky", "RLSA-2024:0001.json"), osv(
        "RLSA-2024:0001", "Rocky Linux:9", "openssl",
        [{"introduced": "0"}, {"fixed": "1:3.0.7-25.el9"}],
        upstream=["CVE-2024-0727"],
        database_specific={"severity": "Important"}))


def zstd_bomb():
    """A zstd tar of 1.1 GiB of zeros, some 40 KB: past the scanner's
    ratio limit (1000 past 1 GiB).  Streamed, never held in memory."""
    hdr = bytearray(512)
    size = 1100 << 20
    for off, val in ((0, b"zeros"), (100, b"0000644"), (108, b"0000000"),
                     (116, b"0000000"), (124, b"%011o" % size),
                     (136, b"00000000000"), (156, b"0"), (257, b"ustar"),
                     (263, b"00")):
        hdr[off:off + len(val)] = val
    hdr[148:156] = b" " * 8
    hdr[148:156] = b"%06o\0 " % sum(hdr)
    z = subprocess.Popen(["zstd", "-q", "-1", "-c"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE)
    out = []
    t = threading.Thread(target=lambda: out.append(z.stdout.read()))
    t.start()
    z.stdin.write(bytes(hdr))
    chunk = bytes(1 << 20)
    for _ in range(1100):
        z.stdin.write(chunk)
    z.stdin.write(bytes(1024))
    z.stdin.close()
    t.join()
    z.wait()
    return out[0]


# --- checks ------------------------------------------------------------------

def check_debian(s, db):
    status, os_release, version, src, srcver, installed = local_dpkg()
    # The database says glibc is fixed one revision after this machine's,
    # in an advisory for another release that must not apply, and long ago.
    glibc_advisories(db, src, srcver)
    advisory(os.path.join(db, "debian", "DSA-9002-1.json"), osv(
        "DSA-9002-1", "Debian:11", src,
        [{"introduced": "0"}, {"fixed": srcver + "1"}]))
    st = s.reload()
    assert st["loaded"] == 1 and st["advisories"] >= 3, st

    # Two layers: the first with an old status file and a file the second
    # whites out; the second (zstd) with this machine's status file.
    l1 = gz(tar_layer([
        ("etc/os-release", os_release),
        ("var/lib/dpkg/status", b"Package: old\nStatus: install ok "
         b"installed\nVersion: 1\n"),
        ("usr/share/doc/gone", b"x")]))
    l2 = zst(tar_layer([("var/lib/dpkg/status", status),
                        ("usr/share/doc/.wh.gone", b"")]))
    r = s.scan([("TAR_GZIP", l1), ("TAR_ZSTD", l2)])
    assert r["status"] == "COMPLETE", r["description"]
    # The same layers inside larger files (blobd's pack) read the same.
    p = s.scan([("TAR_GZIP", l1), ("TAR_ZSTD", l2)], packed=True)
    assert [p[k] for k in ("status", "os", "packages", "findings")] == \
        [r[k] for k in ("status", "os", "packages", "findings")], p
    assert r["description"] == "The scan was completed successfully.", r
    assert r["os"][0][:2] == ["debian", "12"], r["os"]
    assert r["npackages"] == installed, (r["npackages"], installed)
    names = {p[1] for p in r["packages"]}
    assert "libc6" in names and "old" not in names
    libc = [p for p in r["packages"] if p[1] == "libc6"][0]
    assert libc[0] == "dpkg" and libc[2] == version, libc
    f = [x for x in r["findings"] if x["package_name"] == "libc6"]
    assert len(f) == 1, f
    f = f[0]
    assert f == {"id": "DSA-9001-1", "name": "CVE-2026-0001",
                 "description": "Heap overflow in the loader.",
                 "uri": "https://security-tracker.debian.org/tracker/"
                        "CVE-2026-0001",
                 "severity": "CRITICAL", "package_name": "libc6",
                 "package_version": version, "fixed_version": srcver + "1",
                 "cvss_vector": CRIT, "cvss_score": "9.8",
                 "ecosystem": "Debian:12"}, f
    # Every binary package of glibc that is installed, and nothing else.
    glibc = {p[1] for p in r["packages"] if p[3] == src or
             (p[3] == "" and p[1] == src)}
    assert {x["package_name"] for x in r["findings"]} == glibc, r["findings"]
    assert r["counts"]["CRITICAL"] == len(glibc) == r["nfindings"]
    assert r["db_updated_at"] == 1768464000, r["db_updated_at"]
    assert r["layer_bytes"] == len(l1) + len(l2), r["layer_bytes"]


def check_alpine(s, db):
    advisory(os.path.join(db, "alpine", "ALPINE-CVE-2023-5678.json"), osv(
        "ALPINE-CVE-2023-5678", "Alpine:v3.19", "openssl",
        [{"introduced": "0"}, {"fixed": "3.1.4-r1"}],
        database_specific={"severity": "medium"}))
    advisory(os.path.join(db, "alpine", "ALPINE-CVE-2023-0001.json"), osv(
        "ALPINE-CVE-2023-0001", "Alpine:v3.19", "musl",
        versions=["1.2.4_git20230717-r3"]))
    s.reload()
    layer = tar_layer([
        ("etc/", ("dir",)),
        ("etc/os-release", b'NAME="Alpine Linux"\nID=alpine\n'
         b'VERSION_ID=3.19.1\nPRETTY_NAME="Alpine Linux v3.19"\n'),
        ("lib/apk/db/installed", APK_INSTALLED)])
    r = s.scan([("TAR", layer)])
    assert r["status"] == "COMPLETE", r["description"]
    assert sorted(p[1] for p in r["packages"]) == ["libcrypto3", "libssl3",
                                                   "musl"]
    assert all(p[0] == "apk" for p in r["packages"])
    got = sorted((x["name"], x["package_name"], x["severity"],
                  x["fixed_version"]) for x in r["findings"])
    assert got == [("CVE-2023-5678", "libcrypto3", "MEDIUM", "3.1.4-r1"),
                   ("CVE-2023-5678", "libssl3", "MEDIUM", "3.1.4-r1")], got


def check_rpm(s, db, tmp):
    advisory(os.path.join(db, "rocky", "RLSA-2024-0310.json"), osv(
        "RLSA-2024:0310", "Rocky Linux:9", "openssl",
        [{"introduced": "0"}, {"fixed": "1:3.0.7-25.el9_3"}],
        aliases=["CVE-2023-5678"],
        database_specific={"severity": "Important"}))
    advisory(os.path.join(db, "rocky", "RLSA-2023-0001.json"), osv(
        "RLSA-2023:0001", "Rocky Linux:9", "bash",
        [{"introduced": "0"}, {"fixed": "5.1.8-6.el9_1"}]))
    s.reload()
    layer = gz(tar_layer([
        ("etc/os-release", b'ID="rocky"\nVERSION_ID="9.3"\n'),
        ("var/lib/rpm/rpmdb.sqlite", rpmdb(tmp))]))
    r = s.scan([("TAR_GZIP", layer)])
    assert r["status"] == "COMPLETE", r["description"]
    pk = sorted((p[0], p[1], p[2], p[3], p[4]) for p in r["packages"])
    assert pk == [("rpm", "bash", "5.1.8-6.el9_1", "bash", "5.1.8-6.el9_1"),
                  ("rpm", "openssl-libs", "1:3.0.7-24.el9", "openssl",
                   "1:3.0.7-24.el9")], pk
    got = [(x["name"], x["package_name"], x["severity"], x["fixed_version"])
           for x in r["findings"]]
    assert got == [("CVE-2023-5678", "openssl-libs", "HIGH",
                    "1:3.0.7-25.el9_3")], got


def check_hostile(binary, tmp, s):
    os_release = b"ID=debian\nVERSION_ID=12\n"
    status = b"Package: a\nStatus: install ok installed\nVersion: 1\n"

    def fails(layers, words, scand=s, want="FAILED"):
        r = scand.scan(layers)
        assert r["status"] == want and words in r["description"], r
        if want == "UNSUPPORTED":
            assert r["description"].startswith(
                "UnsupportedImageError: The operating system and/or "
                "package manager are not supported. "), r["description"]
        assert r["npackages"] == 0 and r["nfindings"] == 0, r

    fails([("TAR", tar_layer([("etc/os-release", os_release),
                              ("../../etc/passwd", b"x")]))],
          "leaves the root")
    # Links never lead out of the image: the databases behind them are
    # simply not there.
    fails([("TAR", tar_layer([("etc/os-release", ("link", "/etc/passwd")),
                              ("var/lib/dpkg", ("link", "/var/lib/dpkg"))]))],
          "No operating system", want="UNSUPPORTED")
    good = gz(tar_layer([("etc/os-release", os_release),
                         ("var/lib/dpkg/status", status),
                         ("filler", os.urandom(200000))]))
    fails([("TAR_GZIP", good[:len(good) // 2])], "Layer 1")
    fails([("TAR_GZIP", good), ("TAR_GZIP", b"\x1f\x8b" + os.urandom(5000))],
          "Layer 2")
    fails([("TAR_ZSTD", os.urandom(4096))], "Layer 1")
    fails([], "no layers", want="UNSUPPORTED")

    # Limits, on a scanner started with small ones.
    small = Scand(binary, tmp, "--max-unpacked", "96", "--scan-memory",
                  "64", "--scan-timeout", "2")
    try:
        zeros = gz(tar_layer([("etc/os-release", os_release),
                              ("big", bytes(128 << 20))]))
        fails([("TAR_GZIP", zeros)], "unpack to more than", small)
        # A package database that needs more memory than the scan has.
        huge = gz(tar_layer([("var/lib/dpkg/status",
                              status + b"Description: " +
                              b"x" * (80 << 20) + b"\n")]))
        fails([("TAR_GZIP", huge)], "scanner's process", small)
        # A layer that never ends: killed at the time limit.
        r, w = os.pipe()
        fails([("TAR", r)], "took longer than 2 seconds", small)
        os.close(w)
        # The scanner is still there for the next image.
        ok = small.scan([("TAR_GZIP", good)])
        assert ok["status"] == "COMPLETE" and ok["npackages"] == 1, ok
        assert "no vulnerability database" in ok["description"], ok
    finally:
        small.close()


def check_protocol(s):
    # A run whose layer count disagrees with what was sent.
    rid = s.send(MSG["MSG_SCAN_RUN"], struct.pack("=II", 2, 0))
    t, rrid, p, _ = s.recv()
    assert t == MSG["MSG_SCAN_ERROR"] and rrid == rid
    assert struct.unpack("=iI", p)[0] == BERR["BERR_BAD_REQUEST"]
    # A layer out of order.
    fd = os.memfd_create("x")
    rid = s.send(MSG["MSG_SCAN_LAYER"], struct.pack("=IIQQ", 1, 1, 0, 0), fd=fd)
    os.close(fd)
    t, rrid, p, _ = s.recv()
    assert t == MSG["MSG_SCAN_ERROR"] and rrid == rid
    # A malformed frame ends the process.
    s.sock.sendall(blobd_rpc.HDR.pack(MSG["MSG_SCAN_LAYER"], 16, 9, 0) +
                   bytes(16))
    assert s.proc.wait(timeout=10) == 1


def main():
    binary = (sys.argv[1] if len(sys.argv) > 1 else os.environ.get("SCAND")
              or (os.path.join(os.path.dirname(os.path.dirname(
                  os.environ["BLOBD"])), "daemon", "berth-scand")
                  if os.environ.get("BLOBD") else None)
              or os.path.join(TOP, "build/daemon/berth-scand"))
    tmp = tempfile.mkdtemp(prefix="scan-engine.")
    db = os.path.join(tmp, "osv")
    os.makedirs(db)
    with open(os.path.join(db, "not-osv.json"), "w") as f:
        f.write("[1, 2")
    s = None
    try:
        s = Scand(binary, tmp, "--vuln-db", db)
        assert s.db["loaded"] == 1 and s.db["advisories"] == 0 and \
            s.db["skipped"] == 1 and s.db["generation"] == 1, s.db
        check_debian(s, db)
        print("ok debian: this machine's dpkg database, findings exact")
        check_alpine(s, db)
        print("ok alpine: apk database, source packages, severity words")
        check_rpm(s, db, tmp)
        print("ok rocky: an rpmdb.sqlite made by rpm, epochs")
        st = s.reload()
        assert st["generation"] == 5 and st["advisories"] == 7, st
        print("ok reloads (%d advisories, %d ms)" % (st["advisories"],
                                                     st["load_ms"]))
        check_hostile(binary, tmp, s)
        print("ok hostile layers fail their scan only")
        check_protocol(s)
        print("ok protocol errors")
        s.sock.close()
        s = None
    except Exception:
        if s is not None:
            sys.stderr.write("berth-scand said:\n" + "".join(s.stderr))
        raise
    finally:
        if s is not None and s.proc.poll() is None:
            s.proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    print("all ok")


if __name__ == "__main__":
    main()
