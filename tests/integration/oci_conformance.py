#!/usr/bin/python3
"""
berth's own OCI distribution conformance test.

It covers every case of the four workflows of the official suite
(opencontainers/distribution-spec, conformance/: pull, push, content
discovery, content management, the referrers cases included), asserting
what the suite asserts and, where the suite is lenient, what the spec and
the clients demand; then the cases of the rewritten suite on the spec's
main branch (nested and empty indexes, non-distributable layers, a 0-byte
blob, bad digests on streamed and chunked uploads, three-part and
out-of-order chunks, range requests) and content negotiation by RFC 9110
(q=0, wildcards, many Accept lines); then the cases issue 3 adds (ranges,
streamed and containerd-style uploads, sha512, mounts, limits, content
negotiation, pagination, ECR repository rules).

It starts berthd itself: the binaries come from $BERTHD and $BLOBD
(default daemon/berthd and blobd/berth-blobd under the current directory),
on a free loopback port, with a temporary data directory and
--create-on-push.  A second berthd without --create-on-push serves the
case about pushes into missing repositories.

Set OCI_CONFORMANCE_URL=http://HOST:PORT to run the same cases against a
registry that is already running (to check the test itself against another
registry); cases that need a berthd of their own are then skipped.

Standard library only.  One line per case ("ok NAME" or "FAIL NAME: why"),
then "N passed, N failed"; the exit status is 1 if any case failed.
"""

import base64
import ctypes
import gzip
import hashlib
import http.client
import io
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import traceback
import urllib.parse

# --- media types ----------------------------------------------------------

MT_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MT_OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
MT_OCI_EMPTY = "application/vnd.oci.empty.v1+json"
MT_DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MT_DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MT_DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
MT_DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
MT_SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"
MT_SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+json"

# The error codes of the distribution spec.
SPEC_ERROR_CODES = {
    "BLOB_UNKNOWN", "BLOB_UPLOAD_INVALID", "BLOB_UPLOAD_UNKNOWN",
    "DIGEST_INVALID", "MANIFEST_BLOB_UNKNOWN", "MANIFEST_INVALID",
    "MANIFEST_UNKNOWN", "NAME_INVALID", "NAME_UNKNOWN", "SIZE_INVALID",
    "UNAUTHORIZED", "DENIED", "UNSUPPORTED", "TOOMANYREQUESTS",
    # legacy codes the spec still lists
    "MANIFEST_UNVERIFIED", "TAG_INVALID",
}

MANIFEST_LIMIT = 4 * 1024 * 1024


# --- small helpers ----------------------------------------------------------

class Failure(Exception):
    pass


class Skip(Exception):
    pass


def sha256(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def sha512(b):
    return "sha512:" + hashlib.sha512(b).hexdigest()


def check(cond, why):
    if not cond:
        raise Failure(why)


def eq(actual, expected, what):
    if actual != expected:
        raise Failure("%s: expected %r, got %r" % (what, expected, actual))


def short(b, n=300):
    if isinstance(b, bytes):
        b = b.decode("utf-8", "replace")
    return b if len(b) <= n else b[:n] + "..."


def jdump(obj):
    """Serializes like the suite does (Go's MarshalIndent with a tab)."""
    return json.dumps(obj, indent="\t").encode()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# --- the registry under test -------------------------------------------------

def die_with_parent():
    """In the child before exec: SIGTERM when this test process dies, so
    that no berthd outlives a test that was killed."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass


class Berthd:
    """A berthd with its own data directory on a free port."""

    def __init__(self, create_on_push=True, label="berthd"):
        self.create_on_push = create_on_push
        self.label = label
        self.proc = None
        self.tmp = None
        self.host = "127.0.0.1"
        self.port = None

    def start(self):
        top = "."
        if "BERTHD" not in os.environ and \
                not os.access("daemon/berthd", os.X_OK) and \
                os.access("build/daemon/berthd", os.X_OK):
            top = "build"       # run from a source tree built in build/
        berthd = os.path.abspath(os.environ.get(
            "BERTHD", os.path.join(top, "daemon/berthd")))
        blobd = os.path.abspath(os.environ.get(
            "BLOBD", os.path.join(top, "blobd/berth-blobd")))
        for path in (berthd, blobd):
            if not os.access(path, os.X_OK):
                raise RuntimeError("%s is not an executable (set BERTHD "
                                   "and BLOBD, or run from the top of a "
                                   "build tree)" % path)
        self.tmp = tempfile.mkdtemp(prefix="berth-conformance-")
        data = os.path.join(self.tmp, "data")
        os.mkdir(data)
        self.logpath = os.path.join(self.tmp, "berthd.log")
        last_error = None
        for _ in range(5):
            self.port = free_port()
            args = [berthd, "--blobd", blobd, "--listen",
                    "%s:%d" % (self.host, self.port), "--data-dir", data]
            if self.create_on_push:
                args.append("--create-on-push")
            log = open(self.logpath, "ab")
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=log,
                                         preexec_fn=die_with_parent)
            log.close()
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                try:
                    r = request(self, "GET", "/v2/", timeout=2)
                    if r.status == 200:
                        return
                except OSError:
                    pass
                time.sleep(0.05)
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
                last_error = "berthd did not answer GET /v2/ with 200 " \
                    "within 30 s"
                break
            last_error = "berthd exited with status %d" % self.proc.returncode
            self.proc = None
            # perhaps the port was taken meanwhile: try another one
        raise RuntimeError("%s: %s; log:\n%s" % (self.label, last_error,
                                                 self.log_tail()))

    def log_tail(self, n=40):
        try:
            with open(self.logpath, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
            return "\n".join(lines[-n:])
        except OSError:
            return "(no log)"

    def stop(self):
        """SIGTERM; returns what was wrong with the way berthd ended (not
        exiting within 20 s, a non-zero status, sanitizer reports)."""
        problems = []
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(20)
                except subprocess.TimeoutExpired:
                    problems.append("still running 20 s after SIGTERM")
                    self.proc.kill()
                    self.proc.wait()
            if self.proc.returncode != 0 and not problems:
                problems.append("exit status %d after SIGTERM" %
                                self.proc.returncode)
        self.proc = None
        if self.tmp is not None:
            try:
                with open(self.logpath, "rb") as f:
                    log = f.read().decode("utf-8", "replace")
            except OSError:
                log = ""
            for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                           "runtime error:", "WARNING: ThreadSanitizer"):
                if marker in log:
                    i = log.index(marker)
                    problems.append("sanitizer report: " +
                                    log[i:i + 1500].strip())
                    break
            # Nothing here makes blobd fail, so no metadata record may fail
            # to be stored, not even while stopping.
            for line in log.splitlines():
                if "metadata append failed" in line:
                    problems.append("logged: " + line.strip())
                    break
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None
        return problems


class External:
    """A registry that is already running (OCI_CONFORMANCE_URL)."""

    def __init__(self, url):
        u = urllib.parse.urlsplit(url)
        self.host = u.hostname
        self.port = u.port or 80
        self.label = url

    def start(self):
        pass

    def stop(self):
        return []

    def log_tail(self, n=40):
        return "(external registry)"


# --- HTTP --------------------------------------------------------------------

class Resp:
    def __init__(self, status, reason, headers, body, url):
        self.status = status
        self.reason = reason
        self.headers = headers          # list of (name, value)
        self.body = body
        self.url = url                  # the request path

    def h(self, name):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None

    def hall(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError as e:
            raise Failure("body is not JSON (%s): %s" % (e, short(self.body)))

    def __repr__(self):
        return "<%d %s>" % (self.status, short(self.body, 200))


def request(srv, method, path, headers=(), body=None, chunks=None,
            timeout=60, host_header=None, check_head_body=False):
    """
    One request on a fresh connection.  headers is a list of (name, value)
    pairs and may repeat a name.  body is bytes (sent with Content-Length
    unless the headers give one); chunks is a list of bytes sent with
    Transfer-Encoding: chunked.
    """
    conn = http.client.HTTPConnection(srv.host, srv.port, timeout=timeout)
    try:
        conn.putrequest(method, path, skip_host=host_header is not None,
                        skip_accept_encoding=True)
        if host_header is not None:
            conn.putheader("Host", host_header)
        names = {k.lower() for k, _ in headers}
        for k, v in headers:
            conn.putheader(k, str(v))
        if chunks is not None:
            conn.putheader("Transfer-Encoding", "chunked")
            conn.endheaders()
            for c in chunks:
                if c:
                    conn.send(b"%x\r\n%s\r\n" % (len(c), c))
            conn.send(b"0\r\n\r\n")
        elif body is not None:
            if "content-length" not in names:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
        else:
            if method in ("POST", "PUT", "PATCH") and \
                    "content-length" not in names:
                conn.putheader("Content-Length", "0")
            conn.endheaders()
        r = conn.getresponse()
        try:
            data = r.read()
        except http.client.IncompleteRead as e:
            raise Failure("%s %s: %d with a body shorter than its "
                          "Content-Length (%d bytes read, %d more expected)"
                          % (method, path, r.status, len(e.partial),
                             e.expected))
        resp = Resp(r.status, r.reason, r.getheaders(), data, path)
        if check_head_body and method == "HEAD":
            # http.client does not read a HEAD body: look for stray bytes.
            conn.sock.settimeout(0.3)
            try:
                extra = conn.sock.recv(65536)
            except socket.timeout:
                extra = b""
            except OSError:
                extra = b""
            resp.stray = extra
        return resp
    finally:
        conn.close()


def raw_request_expect(srv, method, path, headers, body, timeout=30):
    """
    Sends a request with Expect: 100-continue on a raw socket: the body
    goes only after a 100, and not at all after a final answer.  Returns
    (interim_statuses, Resp).  For refusals of large bodies.

    curl sends the body anyway after a second without an answer; this
    waits for the server's answer (up to timeout) instead, so that a
    loaded machine cannot turn a late 100 into a missing one.
    """
    s = socket.create_connection((srv.host, srv.port), timeout=timeout)
    try:
        lines = ["%s %s HTTP/1.1" % (method, path),
                 "Host: %s:%d" % (srv.host, srv.port),
                 "Content-Length: %d" % len(body),
                 "Expect: 100-continue"]
        lines += ["%s: %s" % (k, v) for k, v in headers]
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        buf = b""
        interim = []
        send_body = True
        try:
            while b"\r\n\r\n" not in buf:
                d = s.recv(65536)
                if not d:
                    break
                buf += d
        except socket.timeout:
            raise Failure("no answer to Expect: 100-continue in %d s" %
                          timeout)
        if buf.startswith(b"HTTP/1.1 100"):
            head, _, buf = buf.partition(b"\r\n\r\n")
            interim.append(100)
        elif buf:
            send_body = False       # a final answer came first
        if send_body:
            try:
                s.sendall(body)
            except OSError:
                pass                # the server may have answered already
        try:
            while b"\r\n\r\n" not in buf:
                d = s.recv(65536)
                if not d:
                    break
                buf += d
        except OSError as e:
            raise Failure("no response (%s)" % e)
        head, sep, rest = buf.partition(b"\r\n\r\n")
        if not sep:
            raise Failure("connection closed before a response: %r" %
                          short(buf))
        hl = head.decode("latin-1").split("\r\n")
        parts = hl[0].split(" ", 2)
        status = int(parts[1])
        hdrs = []
        for line in hl[1:]:
            k, _, v = line.partition(":")
            hdrs.append((k.strip(), v.strip()))
        r = Resp(status, parts[2] if len(parts) > 2 else "", hdrs, b"", path)
        n = int(r.h("Content-Length") or 0)
        try:
            while len(rest) < n:
                d = s.recv(65536)
                if not d:
                    break
                rest += d
        except OSError:
            pass
        r.body = rest[:n]
        return interim, r
    finally:
        s.close()


def loc_path(srv, r, what="Location"):
    """The path and query of a response's Location (relative or absolute),
    as a client resolves it against the request URL."""
    loc = r.h("Location")
    check(loc, "%s header missing (status %d)" % (what, r.status))
    base = "http://%s:%d%s" % (srv.host, srv.port, r.url)
    u = urllib.parse.urlsplit(urllib.parse.urljoin(base, loc))
    if u.netloc:
        check(u.netloc == "%s:%d" % (srv.host, srv.port),
              "Location %s names another host than the client used" % loc)
    return u.path + ("?" + u.query if u.query else "")


def with_query(path, **params):
    """Adds parameters to a URL that may already have a query."""
    u = urllib.parse.urlsplit(path)
    q = urllib.parse.parse_qsl(u.query, keep_blank_values=True)
    q += [(k.replace("_", "-"), v) for k, v in params.items()]
    return urllib.parse.urlunsplit(("", "", u.path, urllib.parse.urlencode(q),
                                    ""))


def assert_error(r, status, code=None, mention=None):
    """An error in the spec's shape: {"errors":[{"code","message","detail"}]}
    with the given status and (first) code."""
    if isinstance(status, int):
        eq(r.status, status, "status (body %s)" % short(r.body))
    else:
        check(r.status in status, "status: expected one of %r, got %d (%s)"
              % (status, r.status, short(r.body)))
    ct = r.h("Content-Type") or ""
    check(ct.split(";")[0].strip() == "application/json",
          "error Content-Type is %r, not application/json" % ct)
    doc = r.json()
    check(isinstance(doc, dict) and isinstance(doc.get("errors"), list) and
          doc["errors"], "error body has no errors array: %s" % short(r.body))
    for e in doc["errors"]:
        check(isinstance(e, dict), "error entry is not an object")
        check(isinstance(e.get("code"), str) and e["code"] in
              SPEC_ERROR_CODES, "error code %r is not one of the spec's" %
              e.get("code"))
        check(isinstance(e.get("message"), str), "error has no message: %s"
              % short(r.body))
        check("detail" in e, "error has no detail member: %s" %
              short(r.body))
    if code is not None:
        eq(doc["errors"][0]["code"], code, "error code")
    if mention is not None:
        text = json.dumps(doc)
        check(mention in text, "error does not name %r: %s" %
              (mention, short(r.body)))
    return doc


def assert_range(r, end):
    """Range: 0-<end> (no unit), as the spec demands on 202 and 204."""
    eq(r.h("Range"), "0-%d" % end, "Range header")


# --- the test data (built as the suite's setup.go builds it) -------------

class Data:
    pass


D = Data()
S = Data()          # state carried from one case to the next


def rand_bytes(n, seed):
    rng = random.Random(seed)
    return bytes(rng.getrandbits(8) for _ in range(n))


def make_layer_tgz():
    """A gzip'd tarball holding one text file."""
    content = b"you bothered to find out what was in here. Congratulations!\n"
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) \
            as tf:
        ti = tarfile.TarInfo("test.txt")
        ti.size = len(content)
        ti.mtime = 0
        ti.mode = 0o644
        tf.addfile(ti, io.BytesIO(content))
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as gz:
        gz.write(raw.getvalue())
    return out.getvalue()


def descriptor(mt, content, **extra):
    d = {"mediaType": mt, "digest": sha256(content), "size": len(content)}
    d.update(extra)
    return d


def build_data():
    seed = int(os.environ.get("OCI_CONFORMANCE_SEED", time.time_ns()))
    D.seed = seed
    rng = random.Random(seed)
    letters = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ" \
        "abcdefghijklmnopqrstuvwxyz-"
    # One config per workflow (and one more), unique by a random author.
    D.configs = []
    for _ in range(5):
        cfg = {"author": "".join(rng.choice(letters) for _ in range(16)),
               "architecture": "amd64", "os": "linux",
               "rootfs": {"type": "layers", "diff_ids": []}}
        D.configs.append(jdump(cfg))
    D.layer = make_layer_tgz()
    layers = [descriptor(MT_OCI_LAYER, D.layer)]
    D.manifests = []
    for i in range(5):
        m = {"schemaVersion": 2, "mediaType": MT_OCI_MANIFEST,
             "config": descriptor(
                 MT_OCI_CONFIG, D.configs[i],
                 data=base64.b64encode(D.configs[i]).decode(),
                 newUnspecifiedField=base64.b64encode(b"hello world")
                 .decode()),
             "layers": layers}
        D.manifests.append(jdump(m))
    # No layers and no mediaType field (the suite's empty-layer manifest).
    D.empty_layer_manifest = jdump({
        "schemaVersion": 2,
        "config": descriptor(MT_OCI_CONFIG, D.configs[1],
                             data=base64.b64encode(D.configs[1]).decode(),
                             newUnspecifiedField=base64.b64encode(
                                 b"hello world").decode()),
        "layers": []})
    D.nonexistent_manifest = ".INVALID_MANIFEST_NAME"
    D.invalid_manifest = b"blablabla"
    D.blob_a = rand_bytes(42, seed + 1)
    D.blob_b = rand_bytes(42, seed + 2)
    half = 42 // 2 + 1
    D.blob_b_chunk1 = D.blob_b[:half]
    D.blob_b_chunk2 = D.blob_b[half:]
    D.blob_b_chunk1_range = "0-%d" % (half - 1)
    D.blob_b_chunk2_range = "%d-%d" % (half, 41)
    D.dummy_digest = sha256(b"hello world")

    # Referrers: artifacts whose subject is manifests[4] (or [3]).
    D.empty_json = b"{}"
    D.empty_desc = descriptor(MT_OCI_EMPTY, D.empty_json)
    D.ref_blob_a = b"NHL Peanut Butter on my NHL bagel"
    D.ref_blob_b = b"NBA Strawberry Jam on my NBA croissant"
    D.type_a = "application/vnd.nhl.peanut.butter.bagel"
    D.type_b = "application/vnd.nba.strawberry.jam.croissant"
    D.type_index = "application/vnd.food.stand"
    D.ann_key = "org.opencontainers.conformance.test"
    D.ann = {}              # digest -> annotation value
    D.ref_type = {}         # digest -> the artifactType the referrers API shows
    subject4 = descriptor(MT_OCI_MANIFEST, D.manifests[4])
    subject3 = descriptor(MT_OCI_MANIFEST, D.manifests[3])

    def artifact(config, layers, subject, ann, art_type=None,
                 shown_type=None):
        m = {"schemaVersion": 2, "mediaType": MT_OCI_MANIFEST}
        if art_type is not None:
            m["artifactType"] = art_type
        m["config"] = config
        m["layers"] = layers
        m["subject"] = subject
        if ann is not None:
            m["annotations"] = {D.ann_key: ann}
        content = jdump(m)
        if ann is not None:
            D.ann[sha256(content)] = ann
        D.ref_type[sha256(content)] = shown_type
        return content

    D.refs_a_config = artifact(descriptor(D.type_a, D.ref_blob_a),
                               [D.empty_desc], subject4, "test config a",
                               shown_type=D.type_a)
    D.refs_b_config = artifact(descriptor(D.type_b, D.ref_blob_b),
                               [D.empty_desc], subject4, "test config b",
                               shown_type=D.type_b)
    D.refs_a_layer = artifact(D.empty_desc,
                              [descriptor(D.type_a, D.ref_blob_a)],
                              subject4, "test layer a", art_type=D.type_a,
                              shown_type=D.type_a)
    D.refs_b_layer = artifact(D.empty_desc,
                              [descriptor(D.type_b, D.ref_blob_b)],
                              subject4, "test layer b", art_type=D.type_b,
                              shown_type=D.type_b)
    D.refs_c_layer = artifact(D.empty_desc,
                              [descriptor(D.type_b, D.ref_blob_b)],
                              subject3, None, art_type=D.type_b,
                              shown_type=D.type_b)
    idx = {"schemaVersion": 2, "mediaType": MT_OCI_INDEX,
           "artifactType": D.type_index,
           "manifests": [descriptor(MT_OCI_MANIFEST, D.refs_a_config),
                         descriptor(MT_OCI_MANIFEST, D.refs_a_layer)],
           "subject": subject4,
           "annotations": {D.ann_key: "test index"}}
    D.refs_index = jdump(idx)
    D.ann[sha256(D.refs_index)] = "test index"
    D.ref_type[sha256(D.refs_index)] = D.type_index


# --- cases --------------------------------------------------------------------

CASES = []


def case(fn=None, needs_berthd=False):
    def reg(f):
        f.needs_berthd = needs_berthd
        CASES.append(f)
        return f
    return reg(fn) if fn is not None else reg


REG = None          # the registry under test
NAME = "conformance/main"
CROSS = "conformance/crossmount"


def R(method, path, **kw):
    return request(REG, method, path, **kw)


def v2(name, *rest):
    return "/v2/%s/%s" % (name, "/".join(rest))


def start_upload(name=NAME, query=""):
    r = R("POST", v2(name, "blobs/uploads/") + query)
    eq(r.status, 202, "POST upload status (%s)" % short(r.body))
    return r


def push_blob(content, name=NAME, digest=None):
    """POST, then PUT ?digest= with the whole body (what the suite's setup
    does); asserts the 201 as the spec wants it."""
    digest = digest or sha256(content)
    r = start_upload(name)
    loc = loc_path(REG, r)
    r = R("PUT", with_query(loc, digest=digest),
          headers=[("Content-Type", "application/octet-stream")],
          body=content)
    eq(r.status, 201, "PUT upload status (%s)" % short(r.body))
    eq(loc_path(REG, r), v2(name, "blobs", digest), "Location of the blob")
    eq(r.h("Docker-Content-Digest"), digest, "Docker-Content-Digest")
    return r


def put_manifest(ref, content, mt=MT_OCI_MANIFEST, name=NAME, status=201):
    r = R("PUT", v2(name, "manifests", ref),
          headers=[("Content-Type", mt)], body=content)
    if status is None:
        return r
    eq(r.status, status, "manifest PUT status (%s)" % short(r.body))
    if status == 201:
        eq(r.h("Docker-Content-Digest"), sha256(content),
           "Docker-Content-Digest of the PUT")
        eq(loc_path(REG, r), v2(name, "manifests", sha256(content)),
           "Location of the manifest")
    return r


def assert_manifest_response(r, content, mt, head=False):
    eq(r.status, 200, "status (%s)" % short(r.body))
    eq(r.h("Docker-Content-Digest"), sha256(content), "Docker-Content-Digest")
    eq(r.h("Content-Type"), mt, "Content-Type")
    eq(r.h("Content-Length"), str(len(content)), "Content-Length")
    if head:
        eq(r.body, b"", "HEAD body")
    else:
        check(r.body == content, "the manifest bytes differ from those "
              "pushed")


def assert_blob_response(r, content, digest=None, head=False):
    digest = digest or sha256(content)
    eq(r.status, 200, "status (%s)" % short(r.body))
    eq(r.h("Docker-Content-Digest"), digest, "Docker-Content-Digest")
    eq(r.h("Content-Length"), str(len(content)), "Content-Length")
    if head:
        eq(r.body, b"", "HEAD body")
    else:
        check(r.body == content, "the blob bytes differ from those pushed")


def delete_ok(path):
    r = R("DELETE", path)
    eq(r.status, 202, "DELETE %s (%s)" % (path, short(r.body)))


# === 01 pull ===================================================================

@case
def pull_setup_push_config0():
    push_blob(D.configs[0])


@case
def pull_setup_push_config1():
    push_blob(D.configs[1])


@case
def pull_setup_push_layer():
    push_blob(D.layer)


@case
def pull_setup_push_manifest0_by_tag():
    put_manifest("tagtest0", D.manifests[0])


@case
def pull_setup_push_manifest1_by_digest():
    put_manifest(sha256(D.manifests[1]), D.manifests[1])


@case
def pull_head_nonexistent_blob_404():
    r = R("HEAD", v2(NAME, "blobs", D.dummy_digest))
    eq(r.status, 404, "status")
    eq(r.body, b"", "HEAD body")


@case
def pull_head_existing_blob_200():
    r = R("HEAD", v2(NAME, "blobs", sha256(D.configs[0])))
    assert_blob_response(r, D.configs[0], head=True)


@case
def pull_get_nonexistent_blob_404():
    r = R("GET", v2(NAME, "blobs", D.dummy_digest))
    assert_error(r, 404, "BLOB_UNKNOWN")


@case
def pull_get_existing_blob_200():
    r = R("GET", v2(NAME, "blobs", sha256(D.configs[0])))
    assert_blob_response(r, D.configs[0])


@case
def pull_head_nonexistent_manifest_404():
    r = R("HEAD", v2(NAME, "manifests", D.nonexistent_manifest))
    eq(r.status, 404, "status")
    eq(r.body, b"", "HEAD body")


@case
def pull_head_manifest0_by_digest_200():
    r = R("HEAD", v2(NAME, "manifests", sha256(D.manifests[0])),
          headers=[("Accept", MT_OCI_MANIFEST)])
    assert_manifest_response(r, D.manifests[0], MT_OCI_MANIFEST, head=True)


@case
def pull_head_manifest1_by_digest_200():
    r = R("HEAD", v2(NAME, "manifests", sha256(D.manifests[1])),
          headers=[("Accept", MT_OCI_MANIFEST)])
    assert_manifest_response(r, D.manifests[1], MT_OCI_MANIFEST, head=True)


@case
def pull_head_manifest_by_tag_200():
    r = R("HEAD", v2(NAME, "manifests", "tagtest0"),
          headers=[("Accept", MT_OCI_MANIFEST)])
    assert_manifest_response(r, D.manifests[0], MT_OCI_MANIFEST, head=True)


@case
def pull_get_nonexistent_manifest_404():
    r = R("GET", v2(NAME, "manifests", D.nonexistent_manifest))
    assert_error(r, 404, "MANIFEST_UNKNOWN")


@case
def pull_get_manifest0_by_digest_200():
    r = R("GET", v2(NAME, "manifests", sha256(D.manifests[0])),
          headers=[("Accept", MT_OCI_MANIFEST)])
    assert_manifest_response(r, D.manifests[0], MT_OCI_MANIFEST)


@case
def pull_get_manifest1_by_digest_200():
    r = R("GET", v2(NAME, "manifests", sha256(D.manifests[1])),
          headers=[("Accept", MT_OCI_MANIFEST)])
    assert_manifest_response(r, D.manifests[1], MT_OCI_MANIFEST)


@case
def pull_get_manifest_by_tag_200():
    r = R("GET", v2(NAME, "manifests", "tagtest0"),
          headers=[("Accept", MT_OCI_MANIFEST)])
    assert_manifest_response(r, D.manifests[0], MT_OCI_MANIFEST)


@case
def pull_error_body_is_oci_json():
    # The suite sends this GET with a body and accepts 400 or 404; either
    # way the body must be an error in the spec's shape.
    r = R("GET", v2(NAME, "manifests", "sha256:totallywrong"),
          headers=[("Content-Type", MT_OCI_MANIFEST)],
          body=D.invalid_manifest)
    doc = assert_error(r, (400, 404))
    if r.status == 400:
        eq(doc["errors"][0]["code"], "DIGEST_INVALID", "error code")


@case
def pull_teardown_delete_manifest0():
    delete_ok(v2(NAME, "manifests", sha256(D.manifests[0])))


@case
def pull_teardown_delete_manifest1():
    delete_ok(v2(NAME, "manifests", sha256(D.manifests[1])))


@case
def pull_teardown_delete_config0_blob():
    delete_ok(v2(NAME, "blobs", sha256(D.configs[0])))


@case
def pull_teardown_delete_config1_blob():
    delete_ok(v2(NAME, "blobs", sha256(D.configs[1])))


@case
def pull_teardown_delete_layer_blob():
    delete_ok(v2(NAME, "blobs", sha256(D.layer)))


# === 02 push ===================================================================

@case
def push_streamed_patch_202():
    r = start_upload()
    loc = loc_path(REG, r)
    r = R("PATCH", loc, headers=[("Content-Type", "application/octet-stream")],
          body=D.blob_a)
    eq(r.status, 202, "PATCH status (%s)" % short(r.body))
    assert_range(r, len(D.blob_a) - 1)
    S.streamed = r


@case
def push_streamed_put_digest_201():
    loc = loc_path(REG, S.streamed)
    r = R("PUT", with_query(loc, digest=sha256(D.blob_a)),
          headers=[("Content-Type", "application/octet-stream")])
    eq(r.status, 201, "PUT status (%s)" % short(r.body))
    eq(loc_path(REG, r), v2(NAME, "blobs", sha256(D.blob_a)), "Location")
    eq(r.h("Docker-Content-Digest"), sha256(D.blob_a),
       "Docker-Content-Digest")
    assert_blob_response(R("GET", v2(NAME, "blobs", sha256(D.blob_a))),
                         D.blob_a)


@case
def push_monolithic_get_nonexistent_blob_404():
    r = R("GET", v2(NAME, "blobs", D.dummy_digest))
    assert_error(r, 404, "BLOB_UNKNOWN")


@case
def push_monolithic_post_with_digest_201():
    # The spec allows 202 (registry without monolithic POST); berth
    # implements it, so 201 with the blob's Location.
    r = R("POST", v2(NAME, "blobs/uploads/") + "?digest=" +
          sha256(D.configs[1]),
          headers=[("Content-Type", "application/octet-stream")],
          body=D.configs[1])
    eq(r.status, 201, "status (%s)" % short(r.body))
    eq(loc_path(REG, r), v2(NAME, "blobs", sha256(D.configs[1])), "Location")
    eq(r.h("Docker-Content-Digest"), sha256(D.configs[1]),
       "Docker-Content-Digest")
    S.monolithic = r


@case
def push_monolithic_get_blob_from_prior_request():
    r = R("GET", v2(NAME, "blobs", sha256(D.configs[1])))
    if S.monolithic.status == 202:
        eq(r.status, 404, "status")
    else:
        assert_blob_response(r, D.configs[1])


@case
def push_monolithic_post_yields_session():
    r = start_upload()
    loc = loc_path(REG, r)
    check(loc.startswith(v2(NAME, "blobs/uploads/")),
          "session Location %s is not under %s" % (loc,
                                                   v2(NAME, "blobs/uploads/")))
    S.session = r


@case
def push_monolithic_put_blob_201():
    r = R("PUT", with_query(loc_path(REG, S.session),
                            digest=sha256(D.configs[1])),
          headers=[("Content-Type", "application/octet-stream")],
          body=D.configs[1])
    eq(r.status, 201, "status (%s)" % short(r.body))
    eq(loc_path(REG, r), v2(NAME, "blobs", sha256(D.configs[1])), "Location")
    eq(r.h("Docker-Content-Digest"), sha256(D.configs[1]),
       "Docker-Content-Digest")


@case
def push_monolithic_get_existing_blob_200():
    assert_blob_response(R("GET", v2(NAME, "blobs", sha256(D.configs[1]))),
                         D.configs[1])


@case
def push_monolithic_put_layer_201():
    push_blob(D.layer)


@case
def push_monolithic_get_existing_layer_200():
    assert_blob_response(R("GET", v2(NAME, "blobs", sha256(D.layer))),
                         D.layer)


@case
def push_chunked_out_of_order_416():
    r = R("POST", v2(NAME, "blobs/uploads/"),
          headers=[("Content-Length", "0")])
    eq(r.status, 202, "POST status")
    check(r.h("OCI-Chunk-Min-Length") is None or
          int(r.h("OCI-Chunk-Min-Length")) <= len(D.blob_b_chunk1),
          "OCI-Chunk-Min-Length %s is above this test's chunk size" %
          r.h("OCI-Chunk-Min-Length"))
    r = R("PATCH", loc_path(REG, r),
          headers=[("Content-Type", "application/octet-stream"),
                   ("Content-Range", D.blob_b_chunk2_range)],
          body=D.blob_b_chunk2)
    eq(r.status, 416, "status (%s)" % short(r.body))
    # The 416 tells where the upload stands, so that the client can resume.
    assert_range(r, 0)
    loc_path(REG, r)


@case
def push_chunked_first_chunk_202():
    r = R("POST", v2(NAME, "blobs/uploads/"),
          headers=[("Content-Length", "0")])
    eq(r.status, 202, "POST status")
    assert_range(r, 0)  # customary: an empty session is 0-0
    S.prev = r
    r = R("PATCH", loc_path(REG, r),
          headers=[("Content-Type", "application/octet-stream"),
                   ("Content-Range", D.blob_b_chunk1_range)],
          body=D.blob_b_chunk1)
    eq(r.status, 202, "status (%s)" % short(r.body))
    eq(r.h("Range"), D.blob_b_chunk1_range, "Range")
    loc_path(REG, r)
    S.last = r


@case
def push_chunked_retry_previous_chunk_416():
    r = R("PATCH", loc_path(REG, S.prev),
          headers=[("Content-Type", "application/octet-stream"),
                   ("Content-Range", D.blob_b_chunk1_range)],
          body=D.blob_b_chunk1)
    eq(r.status, 416, "status (%s)" % short(r.body))
    eq(r.h("Range"), D.blob_b_chunk1_range, "Range of the 416")
    loc_path(REG, r)


@case
def push_chunked_get_stale_upload_204():
    r = R("GET", loc_path(REG, S.prev))
    eq(r.status, 204, "status (%s)" % short(r.body))
    loc_path(REG, r)
    eq(r.h("Range"), D.blob_b_chunk1_range, "Range")
    eq(r.body, b"", "body")
    S.last = r


@case
def push_chunked_second_chunk_202():
    r = R("PATCH", loc_path(REG, S.last),
          headers=[("Content-Type", "application/octet-stream"),
                   ("Content-Range", D.blob_b_chunk2_range)],
          body=D.blob_b_chunk2)
    eq(r.status, 202, "status (%s)" % short(r.body))
    loc_path(REG, r)
    assert_range(r, len(D.blob_b) - 1)
    S.last = r


@case
def push_chunked_put_digest_201():
    r = R("PUT", with_query(loc_path(REG, S.last), digest=sha256(D.blob_b)),
          headers=[("Content-Length", "0"),
                   ("Content-Type", "application/octet-stream")])
    eq(r.status, 201, "status (%s)" % short(r.body))
    eq(loc_path(REG, r), v2(NAME, "blobs", sha256(D.blob_b)), "Location")
    eq(r.h("Docker-Content-Digest"), sha256(D.blob_b),
       "Docker-Content-Digest")
    assert_blob_response(R("GET", v2(NAME, "blobs", sha256(D.blob_b))),
                         D.blob_b)


@case
def push_crossmount_without_from_yields_session():
    r = R("POST", v2(CROSS, "blobs/uploads/") + "?mount=" + D.dummy_digest)
    eq(r.status, 202, "status (%s)" % short(r.body))
    check(loc_path(REG, r).startswith(v2(CROSS, "blobs/uploads/")),
          "Location is not a session of %s" % CROSS)


@case
def push_crossmount_from_other_repo_201():
    # 202 would be allowed by the suite; berth mounts, so 201.
    r = R("POST", v2(CROSS, "blobs/uploads/") + "?" + urllib.parse.urlencode(
        [("mount", sha256(D.blob_a)), ("from", NAME)]))
    eq(r.status, 201, "status (%s)" % short(r.body))
    eq(loc_path(REG, r), v2(CROSS, "blobs", sha256(D.blob_a)), "Location")
    eq(r.h("Docker-Content-Digest"), sha256(D.blob_a),
       "Docker-Content-Digest")
    S.mounted = r


@case
def push_crossmount_get_mounted_blob_200():
    r = R("GET", loc_path(REG, S.mounted))
    assert_blob_response(r, D.blob_a)


@case
def push_crossmount_nonexistent_blob_yields_session():
    # The suite checks this when the mount fell back to an upload; here
    # the fallback is forced: the source does not have the blob.
    r = R("POST", v2(CROSS, "blobs/uploads/") + "?" + urllib.parse.urlencode(
        [("mount", D.dummy_digest), ("from", NAME)]))
    eq(r.status, 202, "status (%s)" % short(r.body))
    check(loc_path(REG, r).startswith(v2(CROSS, "blobs/uploads/")),
          "Location %s is not a session of %s" % (r.h("Location"), CROSS))


@case
def push_crossmount_without_from_no_automatic_mount_202():
    # berth does not mount automatically without from= (the suite's
    # OCI_AUTOMATIC_CROSSMOUNT=false case).
    r = R("POST", v2(CROSS, "blobs/uploads/") + "?mount=" + sha256(D.blob_b))
    eq(r.status, 202, "status (%s)" % short(r.body))
    check(loc_path(REG, r).startswith(v2(CROSS, "blobs/uploads/")),
          "Location is not a session of %s" % CROSS)


@case
def push_manifest_get_nonexistent_404():
    assert_error(R("GET", v2(NAME, "manifests", D.nonexistent_manifest)),
                 404, "MANIFEST_UNKNOWN")


@case
def push_manifest_put_accepted():
    for i in range(4):
        put_manifest("test%d" % i, D.manifests[1])


@case
def push_manifest_with_no_layers_accepted():
    r = put_manifest("emptylayer", D.empty_layer_manifest)
    S.empty_layer_ref = loc_path(REG, r)
    # No mediaType in the body: the Content-Type of the PUT names it.
    r = R("GET", v2(NAME, "manifests", "emptylayer"))
    assert_manifest_response(r, D.empty_layer_manifest, MT_OCI_MANIFEST)


@case
def push_manifest_get_by_digest_200():
    r = R("GET", v2(NAME, "manifests", sha256(D.manifests[1])),
          headers=[("Accept", MT_OCI_MANIFEST)])
    assert_manifest_response(r, D.manifests[1], MT_OCI_MANIFEST)


@case
def push_teardown_delete_manifests():
    delete_ok(v2(NAME, "manifests", sha256(D.manifests[1])))
    delete_ok(v2(NAME, "manifests", sha256(D.empty_layer_manifest)))


@case
def push_teardown_delete_config_blob():
    delete_ok(v2(NAME, "blobs", sha256(D.configs[1])))


@case
def push_teardown_delete_layer_blob():
    delete_ok(v2(NAME, "blobs", sha256(D.layer)))


# === 03 content discovery ====================================================

@case
def discovery_setup_push_config2():
    push_blob(D.configs[2])


@case
def discovery_setup_push_layer():
    push_blob(D.layer)


@case
def discovery_setup_push_tags():
    for i in range(4):
        put_manifest("test%d" % i, D.manifests[2])


@case
def discovery_references_setup_empty_json_blob():
    eq(D.empty_desc["digest"], "sha256:44136fa355b3678a1146ad16f7e8649e94fb"
       "4fc21fe77e8310c060f61caaff8a", "the empty JSON descriptor's digest")
    push_blob(D.empty_json)


@case
def discovery_references_setup_ref_blob_a():
    push_blob(D.ref_blob_a)


def put_referrer(content, subject, mt=MT_OCI_MANIFEST):
    r = put_manifest(sha256(content), content, mt=mt)
    eq(r.h("OCI-Subject"), sha256(subject), "OCI-Subject")


@case
def discovery_references_setup_a_config_artifact():
    # Its subject (manifests[4]) is not pushed yet: still accepted.
    put_referrer(D.refs_a_config, D.manifests[4])


@case
def discovery_references_setup_a_layer_artifact():
    put_referrer(D.refs_a_layer, D.manifests[4])


@case
def discovery_references_setup_index_artifact():
    put_referrer(D.refs_index, D.manifests[4], mt=MT_OCI_INDEX)


@case
def discovery_references_setup_subject_config_and_layer():
    push_blob(D.configs[4])
    push_blob(D.layer)


@case
def discovery_references_setup_subject_manifest():
    put_manifest("tagtest0", D.manifests[4])


@case
def discovery_references_setup_ref_blob_b():
    push_blob(D.ref_blob_b)


@case
def discovery_references_setup_b_config_artifact():
    put_referrer(D.refs_b_config, D.manifests[4])


@case
def discovery_references_setup_b_layer_artifact():
    put_referrer(D.refs_b_layer, D.manifests[4])


@case
def discovery_references_setup_c_layer_artifact_missing_subject():
    put_referrer(D.refs_c_layer, D.manifests[3])


def tag_list(name=NAME, query=""):
    r = R("GET", v2(name, "tags/list") + query)
    eq(r.status, 200, "tags/list status (%s)" % short(r.body))
    ct = (r.h("Content-Type") or "").split(";")[0].strip()
    eq(ct, "application/json", "tags/list Content-Type")
    doc = r.json()
    eq(doc.get("name"), name, "tags/list name")
    check(isinstance(doc.get("tags"), list), "tags is not a list: %s" %
          short(r.body))
    return r, doc["tags"]


def link_next(srv, r):
    """The target of Link: <...>; rel="next", or None."""
    link = r.h("Link")
    if link is None:
        return None
    check(link.startswith("<") and ">" in link, "Link %r is not <url>; "
          "rel=\"next\"" % link)
    target, params = link[1:].split(">", 1)
    check(params.replace(" ", "") == ';rel="next"', "Link %r does not say "
          "rel=\"next\"" % link)
    base = "http://%s:%d%s" % (srv.host, srv.port, r.url)
    u = urllib.parse.urlsplit(urllib.parse.urljoin(base, target))
    return u.path + ("?" + u.query if u.query else "")


@case
def discovery_list_tags_200():
    r, tags = tag_list()
    eq(tags, ["tagtest0", "test0", "test1", "test2", "test3"], "tags")
    check(r.h("Link") is None, "Link on a complete list: %s" % r.h("Link"))
    S.tags = tags


@case
def discovery_list_tags_limited_by_n():
    n = len(S.tags) // 2
    r, tags = tag_list(query="?n=%d" % n)
    eq(tags, S.tags[:n], "tags")
    nxt = link_next(REG, r)
    check(nxt is not None, "no Link rel=\"next\" though tags remain")
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(nxt).query)
    eq(q.get("n"), [str(n)], "n in Link")
    eq(q.get("last"), [S.tags[n - 1]], "last in Link")


@case
def discovery_list_tags_start_set_by_last():
    n = len(S.tags) // 2
    r, tags = tag_list(query="?n=%d&last=%s" % (n, S.tags[n - 1]))
    eq(tags, S.tags[n:2 * n], "tags")


def referrers(digest, query=""):
    r = R("GET", v2(NAME, "referrers", digest) + query)
    eq(r.status, 200, "referrers status (%s)" % short(r.body))
    eq(r.h("Content-Type"), MT_OCI_INDEX, "referrers Content-Type")
    doc = r.json()
    eq(doc.get("schemaVersion"), 2, "schemaVersion")
    eq(doc.get("mediaType"), MT_OCI_INDEX, "mediaType")
    check(isinstance(doc.get("manifests"), list), "manifests is not a list")
    return r, doc["manifests"]


CONTENT_BY_DIGEST = {}


def check_referrer_descriptor(d):
    dg = d.get("digest")
    content = CONTENT_BY_DIGEST.get(dg)
    check(content is not None, "unexpected referrer %s" % dg)
    eq(d.get("size"), len(content), "size of referrer %s" % dg)
    expected_mt = MT_OCI_INDEX if content == D.refs_index else MT_OCI_MANIFEST
    eq(d.get("mediaType"), expected_mt, "mediaType of referrer %s" % dg)
    eq(d.get("artifactType"), D.ref_type[dg], "artifactType of %s" % dg)
    if dg in D.ann:
        eq(d.get("annotations"), {D.ann_key: D.ann[dg]},
           "annotations of %s" % dg)


@case
def referrers_nonexistent_subject_empty_200():
    r, manifests = referrers(D.dummy_digest)
    eq(manifests, [], "manifests")


@case
def referrers_existing_subject_200():
    for c in (D.refs_a_config, D.refs_a_layer, D.refs_index,
              D.refs_b_config, D.refs_b_layer, D.refs_c_layer):
        CONTENT_BY_DIGEST[sha256(c)] = c
    r, manifests = referrers(sha256(D.manifests[4]))
    got = sorted(d.get("digest") for d in manifests)
    want = sorted(sha256(c) for c in (D.refs_a_config, D.refs_a_layer,
                                      D.refs_index, D.refs_b_config,
                                      D.refs_b_layer))
    eq(got, want, "referrer digests")
    for d in manifests:
        check_referrer_descriptor(d)
    check(r.h("OCI-Filters-Applied") is None,
          "OCI-Filters-Applied without a filter")


@case
def referrers_filtered_by_artifact_type_200():
    r, manifests = referrers(sha256(D.manifests[4]),
                             "?artifactType=" + urllib.parse.quote(D.type_a))
    eq(r.h("OCI-Filters-Applied"), "artifactType", "OCI-Filters-Applied")
    got = sorted(d.get("digest") for d in manifests)
    eq(got, sorted([sha256(D.refs_a_config), sha256(D.refs_a_layer)]),
       "filtered referrers")
    for d in manifests:
        check_referrer_descriptor(d)
    # the other types, and one nothing has
    for t, want in ((D.type_b, [D.refs_b_config, D.refs_b_layer]),
                    (D.type_index, [D.refs_index]),
                    ("application/vnd.example.none", [])):
        r, manifests = referrers(sha256(D.manifests[4]),
                                 "?artifactType=" + urllib.parse.quote(t))
        eq(r.h("OCI-Filters-Applied"), "artifactType",
           "OCI-Filters-Applied for %s" % t)
        eq(sorted(d.get("digest") for d in manifests),
           sorted(sha256(c) for c in want), "referrers of type %s" % t)


@case
def referrers_missing_subject_200():
    r, manifests = referrers(sha256(D.manifests[3]))
    eq([d.get("digest") for d in manifests], [sha256(D.refs_c_layer)],
       "referrers of the missing subject")
    check_referrer_descriptor(manifests[0])


@case
def discovery_teardown_delete_manifests_and_tags():
    # By digest: each exists, so 202.  "tagtest0" pointed at manifests[4],
    # deleted just before: 202 if the tag outlived it, else 404.
    refs = [sha256(D.refs_index), sha256(D.manifests[2]),
            sha256(D.manifests[4]), sha256(D.refs_a_config),
            sha256(D.refs_a_layer), "tagtest0", sha256(D.refs_b_config),
            sha256(D.refs_b_layer), sha256(D.refs_c_layer)]
    for ref in refs:
        r = R("DELETE", v2(NAME, "manifests", ref))
        if ref == "tagtest0":
            check(r.status in (202, 404), "DELETE tagtest0: %d" % r.status)
            if r.status == 404:
                assert_error(r, 404, "MANIFEST_UNKNOWN")
        else:
            eq(r.status, 202, "DELETE %s (%s)" % (ref, short(r.body)))
    r, tags = tag_list()
    eq(tags, [], "tags left after deleting every manifest")


@case
def discovery_teardown_delete_config_blob():
    delete_ok(v2(NAME, "blobs", sha256(D.configs[2])))


@case
def discovery_teardown_delete_layer_blob():
    delete_ok(v2(NAME, "blobs", sha256(D.layer)))


@case
def discovery_references_teardown():
    for ref in (sha256(D.refs_index), sha256(D.refs_a_config),
                sha256(D.refs_a_layer), sha256(D.manifests[4]),
                sha256(D.refs_b_config), sha256(D.refs_b_layer)):
        assert_error(R("DELETE", v2(NAME, "manifests", ref)), 404,
                     "MANIFEST_UNKNOWN")
    for b in (D.configs[4], D.ref_blob_a, D.ref_blob_b, D.empty_json):
        delete_ok(v2(NAME, "blobs", sha256(b)))
    assert_error(R("GET", v2(NAME, "blobs", sha256(D.ref_blob_a))), 404,
                 "BLOB_UNKNOWN")
    # the deleted referrers are no longer listed
    for subject in (D.manifests[4], D.manifests[3]):
        r, manifests = referrers(sha256(subject))
        eq(manifests, [], "referrers after their deletion")


# === 04 content management ===================================================

@case
def management_setup_push_config3():
    push_blob(D.configs[3])


@case
def management_setup_push_layer():
    push_blob(D.layer)


@case
def management_setup_push_tag():
    put_manifest("tagtest0", D.manifests[3])


@case
def management_setup_count_tags():
    r, tags = tag_list()
    check("tagtest0" in tags, "tagtest0 is not listed: %r" % tags)
    S.num_tags = len(tags)


@case
def management_delete_manifest_by_tag_202():
    r = R("DELETE", v2(NAME, "manifests", "tagtest0"))
    eq(r.status, 202, "status (%s)" % short(r.body))
    assert_error(R("GET", v2(NAME, "manifests", "tagtest0")), 404,
                 "MANIFEST_UNKNOWN")


@case
def management_delete_manifest_by_digest_202():
    # Deleting the tag removed the tag only: the manifest is still there.
    r = R("DELETE", v2(NAME, "manifests", sha256(D.manifests[3])))
    eq(r.status, 202, "status (%s)" % short(r.body))


@case
def management_get_deleted_manifest_404():
    assert_error(R("GET", v2(NAME, "manifests", sha256(D.manifests[3]))),
                 404, "MANIFEST_UNKNOWN")


@case
def management_tags_list_reflects_deletion():
    r, tags = tag_list()
    check(len(tags) < S.num_tags, "%d tags, not fewer than %d" %
          (len(tags), S.num_tags))
    check("tagtest0" not in tags, "tagtest0 is still listed")


@case
def management_delete_blobs_202():
    delete_ok(v2(NAME, "blobs", sha256(D.configs[3])))
    delete_ok(v2(NAME, "blobs", sha256(D.layer)))


@case
def management_get_deleted_blob_404():
    assert_error(R("GET", v2(NAME, "blobs", sha256(D.configs[3]))), 404,
                 "BLOB_UNKNOWN")
    r = R("HEAD", v2(NAME, "blobs", sha256(D.layer)))
    eq(r.status, 404, "HEAD of the deleted layer")


# === the rewritten suite (distribution-spec main) ============================
#
# The suite on the spec's main branch generates its data and walks more
# shapes of content and upload: nested and empty indexes, non-distributable
# layers, a 0-byte blob, three-part and out-of-order chunked uploads, bad
# digests on every upload style, and range requests.  The cases below ask
# the same of berth, and what RFC 9110 adds where the suite is lenient.

M = "main/data"
MT_OCI_LAYER_ND = "application/vnd.oci.image.layer.nondistributable.v1.tar"
MT_OCI_LAYER_ND_GZ = \
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
MT_DOCKER_FOREIGN = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
ACCEPT_MANIFESTS = [("Accept", MT_OCI_INDEX), ("Accept", MT_OCI_MANIFEST)]


def platform_image(name, arch, seed):
    """An image for one platform pushed by digest; returns its
    descriptor (with the platform, as an index lists it) and bytes."""
    cfg = jdump({"architecture": arch, "os": "linux", "author": "%s-%d" %
                 (name, seed), "rootfs": {"type": "layers",
                                          "diff_ids": []}})
    layer = rand_bytes(120, D.seed + 3000 + seed)
    push_blob(cfg, name)
    push_blob(layer, name)
    m = jdump({"schemaVersion": 2, "mediaType": MT_OCI_MANIFEST,
               "config": descriptor(MT_OCI_CONFIG, cfg),
               "layers": [descriptor(MT_OCI_LAYER, layer)]})
    put_manifest(sha256(m), m, name=name)
    return descriptor(MT_OCI_MANIFEST, m, platform={
        "architecture": arch, "os": "linux"}), m, [cfg, layer]


def assert_manifest_gone(name, ref):
    r = R("HEAD", v2(name, "manifests", ref), headers=ACCEPT_MANIFESTS)
    eq(r.status, 404, "HEAD of deleted manifest %s" % ref)
    assert_error(R("GET", v2(name, "manifests", ref),
                   headers=ACCEPT_MANIFESTS), 404, "MANIFEST_UNKNOWN")


def chunk_size_for(r, total, parts=3):
    """A chunk size that makes parts chunks of total bytes, or the
    registry's OCI-Chunk-Min-Length if that is larger."""
    size = total // parts + 1
    if r.h("OCI-Chunk-Min-Length"):
        size = max(size, int(r.h("OCI-Chunk-Min-Length")))
    return min(size, total)


def send_chunk(loc, blob, start, last, method="PATCH", digest=None):
    path = loc if digest is None else with_query(loc, digest=digest)
    return R(method, path,
             headers=[("Content-Type", "application/octet-stream"),
                      ("Content-Range", "%d-%d" % (start, last))],
             body=blob[start:last + 1])


def assert_gone_from(repo, loc, *digests):
    """After a refused upload: the session is over and no blob appeared."""
    assert_error(R("GET", loc), 404, "BLOB_UPLOAD_UNKNOWN")
    for d in digests:
        eq(R("HEAD", v2(repo, "blobs", d)).status, 404,
           "HEAD of %s after the refused upload" % d)


def assert_upload_gone(loc, *digests):
    assert_gone_from(M, loc, *digests)


@case
def main_nested_index_push_pull_delete():
    name = "main/nested"
    children, blobs, images = [], [], []
    for i in range(2):
        descs = []
        for arch, seed in (("amd64", 2 * i), ("arm64", 2 * i + 1)):
            desc, m, bl = platform_image(name, arch, seed)
            descs.append(desc)
            images.append(m)
            blobs += bl
        child = jdump({"schemaVersion": 2, "mediaType": MT_OCI_INDEX,
                       "manifests": descs})
        children.append(child)
    top = jdump({"schemaVersion": 2, "mediaType": MT_OCI_INDEX,
                 "manifests": [descriptor(MT_OCI_INDEX, c)
                               for c in children]})
    # The top index needs its child indexes, as an index needs its images.
    r = put_manifest("index-of-index", top, mt=MT_OCI_INDEX, name=name,
                     status=None)
    assert_error(r, 400, "MANIFEST_BLOB_UNKNOWN")
    for c in children:
        put_manifest(sha256(c), c, mt=MT_OCI_INDEX, name=name)
    put_manifest("index-of-index", top, mt=MT_OCI_INDEX, name=name)
    for ref in ("index-of-index", sha256(top)):
        r = R("GET", v2(name, "manifests", ref), headers=ACCEPT_MANIFESTS)
        assert_manifest_response(r, top, MT_OCI_INDEX)
        r = R("HEAD", v2(name, "manifests", ref), headers=ACCEPT_MANIFESTS)
        assert_manifest_response(r, top, MT_OCI_INDEX, head=True)
    # A client walks down: top index, child index, image, blobs.
    for c in children:
        doc = json.loads(R("GET", v2(name, "manifests", sha256(c)),
                           headers=ACCEPT_MANIFESTS).body)
        for d in doc["manifests"]:
            r = R("GET", v2(name, "manifests", d["digest"]),
                  headers=ACCEPT_MANIFESTS)
            eq(r.status, 200, "GET of image %s" % d["digest"])
            eq(sha256(r.body), d["digest"], "digest of the image's bytes")
    check("index-of-index" in tag_list(name)[1], "the tag is not listed")
    # Deleted as the suite does: the tag, then manifests from the top down.
    r = R("DELETE", v2(name, "manifests", "index-of-index"))
    eq(r.status, 202, "DELETE of the tag (%s)" % short(r.body))
    assert_manifest_gone(name, "index-of-index")
    for m in [top] + children + images:
        delete_ok(v2(name, "manifests", sha256(m)))
        assert_manifest_gone(name, sha256(m))
    for b in blobs:
        delete_ok(v2(name, "blobs", sha256(b)))
        eq(R("HEAD", v2(name, "blobs", sha256(b))).status, 404,
           "HEAD of a deleted blob")


@case
def main_empty_index():
    name = "main/empty-index"
    idx = jdump({"schemaVersion": 2, "mediaType": MT_OCI_INDEX,
                 "manifests": []})
    put_manifest("index", idx, mt=MT_OCI_INDEX, name=name)
    for ref in ("index", sha256(idx)):
        r = R("GET", v2(name, "manifests", ref), headers=ACCEPT_MANIFESTS)
        assert_manifest_response(r, idx, MT_OCI_INDEX)
        eq(r.json().get("manifests"), [], "manifests of the pulled index")
        r = R("HEAD", v2(name, "manifests", ref), headers=ACCEPT_MANIFESTS)
        assert_manifest_response(r, idx, MT_OCI_INDEX, head=True)
    eq(tag_list(name)[1], ["index"], "tags")
    r = R("DELETE", v2(name, "manifests", "index"))
    eq(r.status, 202, "DELETE of the tag (%s)" % short(r.body))
    assert_manifest_gone(name, "index")
    delete_ok(v2(name, "manifests", sha256(idx)))
    assert_manifest_gone(name, sha256(idx))


@case
def main_non_distributable_layers():
    # The spec lets a registry accept a manifest whose non-distributable
    # layers it does not hold, when their descriptors say where they are
    # (urls); berth does, for OCI non-distributable and Docker foreign
    # layers, and asks every other blob to be there.
    name = "main/nondist"
    foreign = [rand_bytes(256, D.seed + 4000 + i) for i in range(2)]
    layers = [
        descriptor(MT_OCI_LAYER_ND_GZ, foreign[0], size=123456, urls=[
            "https://store.example.com/blobs/sha256/" +
            sha256(foreign[0])[7:]]),
        descriptor(MT_OCI_LAYER_ND, foreign[1], urls=[
            "https://store.example.com/blobs/sha256/" +
            sha256(foreign[1])[7:]])]
    normal = rand_bytes(300, D.seed + 4002)
    cfg = jdump({"architecture": "amd64", "os": "linux",
                 "rootfs": {"type": "layers", "diff_ids": [
                     sha256(foreign[0]), sha256(foreign[1]),
                     sha256(normal)]}})
    push_blob(cfg, name)
    push_blob(normal, name)
    layers.append(descriptor(MT_OCI_LAYER, normal))
    m = jdump({"schemaVersion": 2, "mediaType": MT_OCI_MANIFEST,
               "config": descriptor(MT_OCI_CONFIG, cfg), "layers": layers})
    put_manifest("non-distributable-image", m, name=name)
    for ref in ("non-distributable-image", sha256(m)):
        r = R("GET", v2(name, "manifests", ref), headers=ACCEPT_MANIFESTS)
        assert_manifest_response(r, m, MT_OCI_MANIFEST)
    # The registry never had those blobs, and does not claim to.
    for f in foreign:
        eq(R("HEAD", v2(name, "blobs", sha256(f))).status, 404,
           "HEAD of a non-distributable layer")
    # Docker's foreign layers likewise.
    dm = jdump({"schemaVersion": 2, "mediaType": MT_DOCKER_MANIFEST,
                "config": descriptor(MT_DOCKER_CONFIG, cfg),
                "layers": [descriptor(MT_DOCKER_FOREIGN, foreign[0], urls=[
                    "https://store.example.com/foreign"]),
                    descriptor(MT_DOCKER_LAYER, normal)]})
    put_manifest("foreign-image", dm, mt=MT_DOCKER_MANIFEST, name=name)
    # Without urls a non-distributable layer is an ordinary missing blob,
    # and urls do not excuse a missing layer of an ordinary type.
    for bad in (descriptor(MT_OCI_LAYER_ND_GZ, foreign[0]),
                descriptor(MT_OCI_LAYER, foreign[0], urls=[
                    "https://store.example.com/blobs/x"])):
        bm = jdump({"schemaVersion": 2, "mediaType": MT_OCI_MANIFEST,
                    "config": descriptor(MT_OCI_CONFIG, cfg),
                    "layers": [bad]})
        r = put_manifest("refused", bm, name=name, status=None)
        doc = assert_error(r, 400)
        check(doc["errors"][0]["code"] in ("MANIFEST_BLOB_UNKNOWN",
                                           "MANIFEST_INVALID"),
              "error code %s for a missing %s layer" %
              (doc["errors"][0]["code"], bad["mediaType"]))
    assert_manifest_gone(name, "refused")
    for t in ("non-distributable-image", "foreign-image"):
        eq(R("DELETE", v2(name, "manifests", t)).status, 202,
           "DELETE of tag %s" % t)
    for mm in (m, dm):
        delete_ok(v2(name, "manifests", sha256(mm)))
        assert_manifest_gone(name, sha256(mm))


@case
def main_zero_byte_blob():
    empty = sha256(b"")
    path = v2(M, "blobs", empty)
    # monolithic POST ?digest= with an empty body
    r = R("POST", with_query(v2(M, "blobs/uploads/"), digest=empty),
          headers=[("Content-Type", "application/octet-stream")], body=b"")
    eq(r.status, 201, "monolithic POST status (%s)" % short(r.body))
    eq(loc_path(REG, r), path, "Location")
    eq(r.h("Docker-Content-Digest"), empty, "Docker-Content-Digest")
    assert_blob_response(R("GET", path), b"")
    assert_blob_response(R("HEAD", path), b"", head=True)
    delete_ok(path)
    eq(R("HEAD", path).status, 404, "HEAD after DELETE")
    # POST, then PUT ?digest= with an empty body
    r = start_upload(M)
    r = R("PUT", with_query(loc_path(REG, r), digest=empty),
          headers=[("Content-Type", "application/octet-stream")], body=b"")
    eq(r.status, 201, "PUT status (%s)" % short(r.body))
    eq(loc_path(REG, r), path, "Location")
    eq(r.h("Docker-Content-Digest"), empty, "Docker-Content-Digest")
    assert_blob_response(R("GET", path), b"")
    # No byte range of nothing can be served (RFC 9110 14.1.1); a suffix
    # range is satisfiable but no 206 can say so, so the whole (empty)
    # blob comes back.
    r = R("GET", path, headers=[("Range", "bytes=0-")])
    eq(r.status, 416, "status for bytes=0- (%s)" % short(r.body))
    eq(r.h("Content-Range"), "bytes */0", "Content-Range of the 416")
    assert_blob_response(R("GET", path, headers=[("Range", "bytes=-1")]),
                         b"")
    delete_ok(path)


@case
def main_bad_digest_streamed_400():
    blob = rand_bytes(3 * 1024 - 5, D.seed + 4100)
    sent = blob + b"oh no"
    r = start_upload(M)
    r = R("PATCH", loc_path(REG, r),
          headers=[("Content-Type", "application/octet-stream")],
          chunks=[sent[i:i + 1000] for i in range(0, len(sent), 1000)])
    eq(r.status, 202, "PATCH status (%s)" % short(r.body))
    assert_range(r, len(sent) - 1)
    loc = loc_path(REG, r)
    r = R("PUT", with_query(loc, digest=sha256(blob)),
          headers=[("Content-Type", "application/octet-stream")])
    assert_error(r, 400, "DIGEST_INVALID")
    assert_upload_gone(loc, sha256(blob), sha256(sent))


@case
def main_bad_digest_content_range_chunks_400():
    blob = rand_bytes(3 * 1024 - 5, D.seed + 4101)
    sent = blob + b"oh no"
    for put_last in (False, True):
        r = start_upload(M)
        size = chunk_size_for(r, len(sent))
        loc = loc_path(REG, r)
        start = 0
        while start < len(sent):
            last = min(start + size, len(sent)) - 1
            if put_last and last == len(sent) - 1:
                r = send_chunk(loc, sent, start, last, "PUT", sha256(blob))
                break
            r = send_chunk(loc, sent, start, last)
            eq(r.status, 202, "PATCH %d-%d (%s)" % (start, last,
                                                     short(r.body)))
            assert_range(r, last)
            loc = loc_path(REG, r)
            start = last + 1
        if not put_last:
            r = R("PUT", with_query(loc, digest=sha256(blob)),
                  headers=[("Content-Type", "application/octet-stream")])
        assert_error(r, 400, "DIGEST_INVALID")
        assert_upload_gone(loc, sha256(blob), sha256(sent))


def chunked_upload(blob, out_of_order=False, put_last=False):
    """The suite's chunked push: three Content-Range chunks.  With
    out_of_order, each is preceded by one that skips ahead (or back to
    the start), which must get 416 and leave the session as it was, as
    GET on it shows; with put_last, the final chunk goes in the PUT.
    Returns the response that completed the upload."""
    r = start_upload(M)
    size = chunk_size_for(r, len(blob))
    loc = loc_path(REG, r)
    last = -1
    while last < len(blob) - 1:
        if out_of_order:
            bad = last + 1 + size
            if bad >= len(blob):
                bad = 0
            bad_last = min(bad + size, len(blob)) - 1
            final = put_last and bad_last == len(blob) - 1
            r = send_chunk(loc, blob, bad, bad_last,
                           "PUT" if final else "PATCH",
                           sha256(blob) if final else None)
            eq(r.status, 416, "out-of-order %s %d-%d at %d (%s)" % (
                "PUT" if final else "PATCH", bad, bad_last, last + 1,
                short(r.body)))
            r = R("GET", loc)
            eq(r.status, 204, "GET of the session after the 416")
            assert_range(r, max(last, 0))
            loc = loc_path(REG, r)
        start = last + 1
        last = min(start + size, len(blob)) - 1
        if put_last and last == len(blob) - 1:
            return send_chunk(loc, blob, start, last, "PUT", sha256(blob))
        r = send_chunk(loc, blob, start, last)
        eq(r.status, 202, "PATCH %d-%d (%s)" % (start, last, short(r.body)))
        assert_range(r, last)
        loc = loc_path(REG, r)
    return R("PUT", with_query(loc, digest=sha256(blob)),
             headers=[("Content-Type", "application/octet-stream")])


def assert_chunked_result(r, blob):
    eq(r.status, 201, "status of the final PUT (%s)" % short(r.body))
    eq(r.h("Docker-Content-Digest"), sha256(blob), "Docker-Content-Digest")
    eq(loc_path(REG, r), v2(M, "blobs", sha256(blob)), "Location")
    assert_blob_response(R("GET", v2(M, "blobs", sha256(blob))), blob)
    assert_blob_response(R("HEAD", v2(M, "blobs", sha256(blob))), blob,
                         head=True)
    delete_ok(v2(M, "blobs", sha256(blob)))


@case
def main_chunked_three_parts():
    blob = rand_bytes(3 * 1024 - 5, D.seed + 4200)
    assert_chunked_result(chunked_upload(blob), blob)


@case
def main_chunked_three_parts_final_chunk_in_put():
    blob = rand_bytes(3 * 1024 - 5, D.seed + 4201)
    assert_chunked_result(chunked_upload(blob, put_last=True), blob)


@case
def main_chunked_out_of_order_then_retry():
    blob = rand_bytes(3 * 1024 - 5, D.seed + 4202)
    assert_chunked_result(chunked_upload(blob, out_of_order=True), blob)


@case
def main_chunked_out_of_order_final_chunk_in_put():
    blob = rand_bytes(3 * 1024 - 5, D.seed + 4203)
    assert_chunked_result(chunked_upload(blob, out_of_order=True,
                                         put_last=True), blob)


@case
def main_blob_range_requests():
    blob = rand_bytes(2048, D.seed + 4300)
    push_blob(blob, M)
    path = v2(M, "blobs", sha256(blob))
    n = len(blob)
    for spec, lo, hi in (
            ("bytes=500-1499", 500, 1499), ("bytes=500-", 500, n - 1),
            ("bytes=-500", n - 500, n - 1), ("bytes=2000-5000", 2000, n - 1),
            ("bytes=-5000", 0, n - 1), ("Bytes=0-9", 0, 9),
            ("bytes= 10-19 ", 10, 19), ("bytes=00010-0019", 10, 19),
            ("bytes=2047-99999999999999999999999", 2047, 2047)):
        r = R("GET", path, headers=[("Range", spec)])
        eq(r.status, 206, "status for %s" % spec)
        eq(r.h("Content-Range"), "bytes %d-%d/%d" % (lo, hi, n),
           "Content-Range for %s" % spec)
        eq(r.h("Content-Length"), str(hi - lo + 1),
           "Content-Length for %s" % spec)
        check(r.body == blob[lo:hi + 1], "wrong bytes for %s" % spec)
    # Unsatisfiable, and bytes ranges that are not valid syntax: RFC 9110
    # 14.2 lets the server answer 416 to both; the suite asks it for
    # bytes=500-0 (last before first).
    for spec in ("bytes=500-0", "bytes=5000-10000", "bytes=2048-",
                 "bytes=-0", "bytes=abc", "bytes=1 -2", "bytes=", "bytes=-",
                 "bytes=1-2-3", "bytes=+1-2", "bytes 0-1",
                 "bytes=99999999999999999999999-"):
        r = R("GET", path, headers=[("Range", spec)])
        assert_error(r, 416)
        eq(r.h("Content-Range"), "bytes */%d" % n,
           "Content-Range of the 416 for %r" % spec)
    # A unit other than bytes is ignored (RFC 9110 14.2), and so are
    # several ranges, which berth does not serve as multipart.
    for spec in ("items=0-1", "bytes=0-1,3-4", "bytes=0-1, 2000-"):
        r = R("GET", path, headers=[("Range", spec)])
        assert_blob_response(r, blob)
        check(r.h("Content-Range") is None, "Content-Range %s for %r" %
              (r.h("Content-Range"), spec))
    delete_ok(path)


@case
def main_accept_q_zero_not_acceptable():
    name = "main/accept"
    m, _, _ = setup_image(name, "q", seed=50)
    path = v2(name, "manifests", "q")
    oci = MT_OCI_MANIFEST
    # RFC 9110 12.5.1: "not acceptable" is q=0, and the most specific
    # range that matches decides.
    for accept in ([oci + ";q=0"], [oci + "; q=0.000"], [oci + ";Q=0"],
                   ["*/*", oci + ";q=0"], ["*/*, %s;q=0" % oci],
                   ["application/*;q=0"], ["application/*;q=0, */*"],
                   ['%s;foo="a, */*";q=0' % oci]):
        r = R("GET", path, headers=[("Accept", a) for a in accept])
        assert_error(r, 404, "MANIFEST_UNKNOWN")
        r = R("HEAD", path, headers=[("Accept", a) for a in accept])
        eq(r.status, 404, "HEAD with Accept %r" % accept)
    for accept in ([oci + ";q=0.001"], [oci + ";q=1"], ["*/*;q=0", oci],
                   ["application/*;q=0", oci], [oci + ";q=0", oci],
                   ["*;q=0, application/*"]):
        r = R("GET", path, headers=[("Accept", a) for a in accept])
        assert_manifest_response(r, m, oci)
    # By digest the bytes are what was asked for, whatever Accept says.
    r = R("GET", v2(name, "manifests", sha256(m)),
          headers=[("Accept", oci + ";q=0")])
    assert_manifest_response(r, m, oci)


@case
def main_accept_application_wildcard():
    name = "main/accept"
    m, _, _ = setup_image(name, "wild", seed=51)
    path = v2(name, "manifests", "wild")
    for accept in ("application/*", "APPLICATION/*",
                   "text/plain, application/*;q=0.5"):
        r = R("GET", path, headers=[("Accept", accept)])
        assert_manifest_response(r, m, MT_OCI_MANIFEST)
        r = R("HEAD", path, headers=[("Accept", accept)])
        assert_manifest_response(r, m, MT_OCI_MANIFEST, head=True)
    for accept in ("text/*", "application/vnd.oci.image.*",
                   "application/json"):
        r = R("GET", path, headers=[("Accept", accept)])
        assert_error(r, 404, "MANIFEST_UNKNOWN")


@case
def main_accept_many_lines():
    name = "main/accept"
    m, _, _ = setup_image(name, "many", seed=52)
    path = v2(name, "manifests", "many")
    others = [("Accept", "application/vnd.example.t%d+json" % i)
              for i in range(89)]
    # Every line counts, the 90th as the first.
    r = R("GET", path, headers=others + [("Accept", MT_OCI_MANIFEST)])
    assert_manifest_response(r, m, MT_OCI_MANIFEST)
    r = R("GET", path, headers=others + [("Accept", MT_OCI_MANIFEST +
                                          ";q=0"), ("Accept", "*/*")])
    assert_error(r, 404, "MANIFEST_UNKNOWN")
    r = R("GET", path, headers=others)
    assert_error(r, 404, "MANIFEST_UNKNOWN")
    # The limit is the HTTP layer's, on header lines: 100 in all.
    r = R("GET", path, headers=others * 2)
    eq(r.status, 431, "status with %d header lines" % (len(others) * 2 + 1))


# === beyond the suite ==========================================================

X = "extra/main"


def setup_image(name, tag=None, nlayers=1, seed=0):
    """Pushes a config and layers into name and returns (manifest, config,
    layers); the manifest is pushed by tag when tag is given."""
    cfg = jdump({"architecture": "amd64", "os": "linux",
                 "rootfs": {"type": "layers", "diff_ids": []},
                 "author": "%s-%d" % (name, seed)})
    layers = [rand_bytes(100 + i, D.seed + 1000 + seed * 10 + i)
              for i in range(nlayers)]
    push_blob(cfg, name)
    for l in layers:
        push_blob(l, name)
    m = jdump({"schemaVersion": 2, "mediaType": MT_OCI_MANIFEST,
               "config": descriptor(MT_OCI_CONFIG, cfg),
               "layers": [descriptor(MT_OCI_LAYER, l) for l in layers]})
    if tag is not None:
        put_manifest(tag, m, name=name)
    return m, cfg, layers


@case
def extra_base_endpoint_200():
    r = R("GET", "/v2/")
    eq(r.status, 200, "status")
    eq(r.h("Docker-Distribution-API-Version"), "registry/2.0",
       "Docker-Distribution-API-Version")


@case
def extra_blob_range_get_206():
    blob = rand_bytes(1000, D.seed + 7)
    push_blob(blob, X)
    path = v2(X, "blobs", sha256(blob))
    for spec, lo, hi in (("bytes=0-0", 0, 0), ("bytes=100-199", 100, 199),
                         ("bytes=900-", 900, 999), ("bytes=-10", 990, 999),
                         ("bytes=990-5000", 990, 999)):
        r = R("GET", path, headers=[("Range", spec)])
        eq(r.status, 206, "status for %s" % spec)
        eq(r.h("Content-Range"), "bytes %d-%d/1000" % (lo, hi),
           "Content-Range for %s" % spec)
        eq(r.h("Content-Length"), str(hi - lo + 1),
           "Content-Length for %s" % spec)
        check(r.body == blob[lo:hi + 1], "wrong bytes for %s" % spec)
        eq(r.h("Docker-Content-Digest"), sha256(blob),
           "Docker-Content-Digest for %s" % spec)


@case
def extra_blob_range_unsatisfiable_416():
    blob = rand_bytes(1000, D.seed + 7)
    path = v2(X, "blobs", sha256(blob))
    for spec in ("bytes=1000-", "bytes=5000-6000"):
        r = R("GET", path, headers=[("Range", spec)])
        eq(r.status, 416, "status for %s (%s)" % (spec, short(r.body)))
        eq(r.h("Content-Range"), "bytes */1000", "Content-Range for %s" %
           spec)


@case
def extra_patch_chunked_transfer_encoding_no_content_range():
    # podman: one PATCH with Transfer-Encoding: chunked, no Content-Length
    # and no Content-Range, then PUT ?digest= with no body.
    blob = rand_bytes(300 * 1024 + 17, D.seed + 8)
    pieces = [blob[i:i + 32768] for i in range(0, len(blob), 32768)]
    r = start_upload(X)
    r = R("PATCH", loc_path(REG, r),
          headers=[("Content-Type", "application/octet-stream")],
          chunks=pieces)
    eq(r.status, 202, "PATCH status (%s)" % short(r.body))
    assert_range(r, len(blob) - 1)
    r = R("PUT", with_query(loc_path(REG, r), digest=sha256(blob)))
    eq(r.status, 201, "PUT status (%s)" % short(r.body))
    eq(r.h("Docker-Content-Digest"), sha256(blob), "Docker-Content-Digest")
    eq(loc_path(REG, r), v2(X, "blobs", sha256(blob)), "Location")
    assert_blob_response(R("GET", v2(X, "blobs", sha256(blob))), blob)


@case
def extra_patch_chunked_with_extensions_and_trailer():
    # Chunk extensions and a trailer section are legal HTTP/1.1.
    blob = rand_bytes(5000, D.seed + 9)
    r = start_upload(X)
    loc = loc_path(REG, r)
    s = socket.create_connection((REG.host, REG.port), timeout=30)
    try:
        wire = ("PATCH %s HTTP/1.1\r\nHost: %s:%d\r\n"
                "Content-Type: application/octet-stream\r\n"
                "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" %
                (loc, REG.host, REG.port)).encode()
        wire += b"%x;name=value\r\n%s\r\n" % (3000, blob[:3000])
        wire += b"%X\r\n%s\r\n" % (2000, blob[3000:])
        wire += b"0\r\nX-Trailer: yes\r\n\r\n"
        s.sendall(wire)
        buf = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            buf += d
    finally:
        s.close()
    status_line = buf.split(b"\r\n", 1)[0]
    check(status_line.startswith(b"HTTP/1.1 202"), "PATCH answered %r" %
          short(buf))
    check(b"\r\nRange: 0-4999\r\n" in buf or b"\r\nrange: 0-4999\r\n" in
          buf.lower(), "no Range: 0-4999 in %r" % short(buf))
    r = R("GET", loc)
    eq(r.status, 204, "status GET")
    assert_range(r, len(blob) - 1)
    r = R("PUT", with_query(loc_path(REG, r), digest=sha256(blob)))
    eq(r.status, 201, "PUT status (%s)" % short(r.body))
    assert_blob_response(R("GET", v2(X, "blobs", sha256(blob))), blob)


@case
def extra_put_whole_body_after_post_containerd():
    # containerd: POST, then one PUT with the whole body; it needs the
    # Docker-Content-Digest of the 201.
    blob = rand_bytes(2 * 1024 * 1024 + 3, D.seed + 10)
    r = start_upload(X)
    r = R("PUT", with_query(loc_path(REG, r), digest=sha256(blob)),
          headers=[("Content-Type", "application/octet-stream")], body=blob)
    eq(r.status, 201, "status (%s)" % short(r.body))
    eq(r.h("Docker-Content-Digest"), sha256(blob), "Docker-Content-Digest")
    eq(loc_path(REG, r), v2(X, "blobs", sha256(blob)), "Location")
    assert_blob_response(R("HEAD", v2(X, "blobs", sha256(blob))), blob,
                         head=True)
    assert_blob_response(R("GET", v2(X, "blobs", sha256(blob))), blob)


@case
def extra_monolithic_post_digest_small_and_large():
    for n in (0, 1000, 3 * 1024 * 1024 + 5):
        blob = rand_bytes(n, D.seed + 11 + n)
        r = R("POST", v2(X, "blobs/uploads/") + "?digest=" + sha256(blob),
              headers=[("Content-Type", "application/octet-stream")],
              body=blob)
        eq(r.status, 201, "status for %d bytes (%s)" % (n, short(r.body)))
        eq(loc_path(REG, r), v2(X, "blobs", sha256(blob)), "Location")
        eq(r.h("Docker-Content-Digest"), sha256(blob),
           "Docker-Content-Digest")
        assert_blob_response(R("GET", v2(X, "blobs", sha256(blob))), blob)


@case
def extra_monolithic_post_wrong_digest_400():
    blob = rand_bytes(100, D.seed + 12)
    r = R("POST", v2(X, "blobs/uploads/") + "?digest=" + D.dummy_digest,
          headers=[("Content-Type", "application/octet-stream")], body=blob)
    assert_error(r, 400, "DIGEST_INVALID")
    eq(R("HEAD", v2(X, "blobs", D.dummy_digest)).status, 404,
       "HEAD of the refused digest")
    eq(R("HEAD", v2(X, "blobs", sha256(blob))).status, 404,
       "HEAD of the content's real digest")


@case
def extra_upload_put_wrong_or_missing_digest_400():
    blob = rand_bytes(100, D.seed + 13)
    r = start_upload(X)
    r = R("PATCH", loc_path(REG, r), body=blob)
    eq(r.status, 202, "PATCH status")
    loc = loc_path(REG, r)
    assert_error(R("PUT", loc), 400, "DIGEST_INVALID")
    assert_error(R("PUT", with_query(loc, digest=D.dummy_digest)), 400,
                 "DIGEST_INVALID")
    assert_error(R("PUT", with_query(loc, digest="sha256:nothex")), 400,
                 "DIGEST_INVALID")
    eq(R("HEAD", v2(X, "blobs", D.dummy_digest)).status, 404,
       "HEAD of the refused digest")


@case
def extra_crossmount_201_and_202_fallback():
    src, dst = "extra/mount-src", "extra/mount-dst"
    blob = rand_bytes(4096, D.seed + 14)
    push_blob(blob, src)
    q = urllib.parse.urlencode([("from", src), ("mount", sha256(blob))])
    r = R("POST", v2(dst, "blobs/uploads/") + "?" + q)
    eq(r.status, 201, "mount status (%s)" % short(r.body))
    eq(loc_path(REG, r), v2(dst, "blobs", sha256(blob)), "Location")
    eq(r.h("Docker-Content-Digest"), sha256(blob), "Docker-Content-Digest")
    assert_blob_response(R("GET", v2(dst, "blobs", sha256(blob))), blob)
    # The mounted blob is the destination's own: deleting it from the
    # source leaves it there.
    delete_ok(v2(src, "blobs", sha256(blob)))
    assert_blob_response(R("GET", v2(dst, "blobs", sha256(blob))), blob)
    eq(R("HEAD", v2(src, "blobs", sha256(blob))).status, 404,
       "HEAD in the source after its deletion")
    # The source does not have this one: 202, a session that works.
    other = rand_bytes(4096, D.seed + 15)
    q = urllib.parse.urlencode([("from", src), ("mount", sha256(other))])
    r = R("POST", v2(dst, "blobs/uploads/") + "?" + q)
    eq(r.status, 202, "fallback status (%s)" % short(r.body))
    loc = loc_path(REG, r)
    check(loc.startswith(v2(dst, "blobs/uploads/")), "fallback Location %s"
          % loc)
    r = R("PUT", with_query(loc, digest=sha256(other)), body=other)
    eq(r.status, 201, "PUT into the fallback session (%s)" % short(r.body))
    assert_blob_response(R("GET", v2(dst, "blobs", sha256(other))), other)
    # Nor does a repository that does not exist.
    q = urllib.parse.urlencode([("from", "extra/no-such-repo"),
                                ("mount", sha256(blob))])
    r = R("POST", v2("extra/mount-dst2", "blobs/uploads/") + "?" + q)
    eq(r.status, 202, "mount from a missing repository")


@case
def extra_sha512_upload():
    blob = rand_bytes(70000, D.seed + 16)
    d512 = sha512(blob)
    r = R("POST", v2(X, "blobs/uploads/") + "?digest-algorithm=sha512")
    eq(r.status, 202, "POST status (%s)" % short(r.body))
    r = R("PATCH", loc_path(REG, r), body=blob)
    eq(r.status, 202, "PATCH status (%s)" % short(r.body))
    assert_range(r, len(blob) - 1)
    r = R("PUT", with_query(loc_path(REG, r), digest=d512))
    eq(r.status, 201, "PUT status (%s)" % short(r.body))
    eq(r.h("Docker-Content-Digest"), d512, "Docker-Content-Digest")
    eq(loc_path(REG, r), v2(X, "blobs", d512), "Location")
    assert_blob_response(R("GET", v2(X, "blobs", d512)), blob, digest=d512)
    assert_blob_response(R("HEAD", v2(X, "blobs", d512)), blob, digest=d512,
                         head=True)


@case
def extra_sha512_monolithic_and_mismatch():
    blob = rand_bytes(3000, D.seed + 17)
    d512 = sha512(blob)
    r = R("POST", v2(X, "blobs/uploads/") + "?digest=" + d512, body=blob)
    eq(r.status, 201, "status (%s)" % short(r.body))
    eq(r.h("Docker-Content-Digest"), d512, "Docker-Content-Digest")
    assert_blob_response(R("GET", v2(X, "blobs", d512)), blob, digest=d512)
    r = R("POST", v2(X, "blobs/uploads/") + "?digest-algorithm=sha512")
    eq(r.status, 202, "POST status")
    r = R("PUT", with_query(loc_path(REG, r), digest=sha512(b"other")),
          body=blob)
    assert_error(r, 400, "DIGEST_INVALID")


@case
def extra_upload_cancel_then_unknown_404():
    r = start_upload(X)
    r = R("PATCH", loc_path(REG, r), body=b"some bytes")
    eq(r.status, 202, "PATCH status")
    loc = loc_path(REG, r)
    r = R("DELETE", loc)
    eq(r.status, 204, "DELETE status (%s)" % short(r.body))
    assert_error(R("GET", loc), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(R("PATCH", loc, body=b"more"), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(R("PUT", with_query(loc, digest=sha256(b"some bytes"))),
                 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(R("DELETE", loc), 404, "BLOB_UPLOAD_UNKNOWN")


@case
def extra_upload_session_belongs_to_its_repository():
    r = start_upload("extra/owner-a")
    loc = loc_path(REG, r)
    uuid = loc.split("?")[0].rstrip("/").rsplit("/", 1)[1]
    start_upload("extra/owner-b")       # make sure the repository exists
    other = v2("extra/owner-b", "blobs/uploads", uuid)
    assert_error(R("PATCH", other, body=b"x"), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(R("GET", other), 404, "BLOB_UPLOAD_UNKNOWN")
    r = R("GET", loc)
    eq(r.status, 204, "the session in its own repository")
    assert_range(r, 0)


@case
def extra_final_chunk_out_of_order_416():
    blob = rand_bytes(30, D.seed + 18)
    r = start_upload(X)
    r = R("PATCH", loc_path(REG, r), headers=[("Content-Range", "0-9")],
          body=blob[:10])
    eq(r.status, 202, "PATCH status")
    r = R("PUT", with_query(loc_path(REG, r), digest=sha256(blob)),
          headers=[("Content-Range", "20-29")], body=blob[20:])
    eq(r.status, 416, "status (%s)" % short(r.body))


@case
def extra_put_final_chunk_with_content_range_201():
    blob = rand_bytes(30, D.seed + 19)
    r = start_upload(X)
    r = R("PATCH", loc_path(REG, r), headers=[("Content-Range", "0-9")],
          body=blob[:10])
    eq(r.status, 202, "PATCH status")
    assert_range(r, 9)
    r = R("PUT", with_query(loc_path(REG, r), digest=sha256(blob)),
          headers=[("Content-Range", "10-29")], body=blob[10:])
    eq(r.status, 201, "status (%s)" % short(r.body))
    eq(r.h("Docker-Content-Digest"), sha256(blob), "Docker-Content-Digest")
    assert_blob_response(R("GET", v2(X, "blobs", sha256(blob))), blob)


@case
def extra_put_final_chunk_without_content_range():
    # The PUT's body, with no Content-Range, goes after what the session
    # holds (berthd sends it with the commit, guessing the session empty,
    # and must fall back when it is not); a wrong digest ends the session.
    blob = rand_bytes(3000, D.seed + 20)
    for digest in (sha256(blob + b"x"), sha256(blob)):
        r = start_upload(X)
        r = R("PATCH", loc_path(REG, r), body=blob[:1000],
              headers=[("Content-Type", "application/octet-stream")])
        eq(r.status, 202, "PATCH status")
        loc = loc_path(REG, r)
        r = R("PUT", with_query(loc, digest=digest), body=blob[1000:],
              headers=[("Content-Type", "application/octet-stream")])
        if digest != sha256(blob):
            assert_error(r, 400, "DIGEST_INVALID")
            assert_gone_from(X, loc, digest, sha256(blob))
            continue
        eq(r.status, 201, "status (%s)" % short(r.body))
        assert_blob_response(R("GET", v2(X, "blobs", sha256(blob))), blob)
    # The whole blob in the PUT, with a wrong digest: refused, the
    # session gone, nothing stored.
    r = start_upload(X)
    loc = loc_path(REG, r)
    other = rand_bytes(500, D.seed + 21)
    r = R("PUT", with_query(loc, digest=sha256(other + b"x")), body=other,
          headers=[("Content-Type", "application/octet-stream")])
    assert_error(r, 400, "DIGEST_INVALID")
    assert_gone_from(X, loc, sha256(other + b"x"), sha256(other))


def manifest_of_size(cfg, size):
    """An OCI manifest of exactly size bytes (padded by an annotation)."""
    base = {"schemaVersion": 2, "mediaType": MT_OCI_MANIFEST,
            "config": descriptor(MT_OCI_CONFIG, cfg), "layers": [],
            "annotations": {"pad": ""}}
    empty = len(jdump(base))
    check(size >= empty, "size too small")
    base["annotations"]["pad"] = "x" * (size - empty)
    m = jdump(base)
    eq(len(m), size, "padded manifest size")
    return m


@case
def extra_manifest_of_4_mib_accepted():
    cfg = jdump({"architecture": "amd64", "os": "linux", "big": True,
                 "rootfs": {"type": "layers", "diff_ids": []}})
    push_blob(cfg, X)
    S.big_cfg = cfg
    m = manifest_of_size(cfg, MANIFEST_LIMIT)
    put_manifest("four-mib", m, name=X)
    r = R("GET", v2(X, "manifests", "four-mib"))
    assert_manifest_response(r, m, MT_OCI_MANIFEST)


@case
def extra_manifest_over_4_mib_413():
    m = manifest_of_size(S.big_cfg, MANIFEST_LIMIT + 1)
    interim, r = raw_request_expect(REG, "PUT", v2(X, "manifests", "too-big"),
                                    [("Content-Type", MT_OCI_MANIFEST)], m)
    eq(r.status, 413, "status (%s)" % short(r.body))
    if r.body:
        assert_error(r, 413)
    assert_error(R("GET", v2(X, "manifests", "too-big")), 404,
                 "MANIFEST_UNKNOWN")


@case
def extra_manifest_blob_unknown():
    cfg = jdump({"architecture": "amd64", "os": "linux", "missing": 1,
                 "rootfs": {"type": "layers", "diff_ids": []}})
    layer = rand_bytes(64, D.seed + 20)
    # config missing
    m = jdump({"schemaVersion": 2, "mediaType": MT_OCI_MANIFEST,
               "config": descriptor(MT_OCI_CONFIG, cfg),
               "layers": [descriptor(MT_OCI_LAYER, layer)]})
    push_blob(layer, X)
    assert_error(put_manifest("missing-config", m, name=X, status=None), 400,
                 "MANIFEST_BLOB_UNKNOWN")
    # layer missing
    push_blob(cfg, X)
    layer2 = rand_bytes(64, D.seed + 21)
    m = jdump({"schemaVersion": 2, "mediaType": MT_OCI_MANIFEST,
               "config": descriptor(MT_OCI_CONFIG, cfg),
               "layers": [descriptor(MT_OCI_LAYER, layer),
                          descriptor(MT_OCI_LAYER, layer2)]})
    assert_error(put_manifest("missing-layer", m, name=X, status=None), 400,
                 "MANIFEST_BLOB_UNKNOWN")
    # a blob of another repository is not in this one
    other = rand_bytes(64, D.seed + 22)
    push_blob(other, "extra/elsewhere")
    m = jdump({"schemaVersion": 2, "mediaType": MT_OCI_MANIFEST,
               "config": descriptor(MT_OCI_CONFIG, cfg),
               "layers": [descriptor(MT_OCI_LAYER, other)]})
    assert_error(put_manifest("other-repo-layer", m, name=X, status=None),
                 400, "MANIFEST_BLOB_UNKNOWN")
    # an index whose child is missing
    idx = jdump({"schemaVersion": 2, "mediaType": MT_OCI_INDEX,
                 "manifests": [descriptor(MT_OCI_MANIFEST, m)]})
    assert_error(put_manifest("missing-child", idx, mt=MT_OCI_INDEX, name=X,
                              status=None), 400, "MANIFEST_BLOB_UNKNOWN")
    for t in ("missing-config", "missing-layer", "other-repo-layer",
              "missing-child"):
        assert_error(R("GET", v2(X, "manifests", t)), 404,
                     "MANIFEST_UNKNOWN")


@case
def extra_manifest_digest_mismatch_400():
    m, _, _ = setup_image(X, seed=1)
    other = D.dummy_digest
    assert_error(put_manifest(other, m, name=X, status=None), 400,
                 "DIGEST_INVALID")
    assert_error(R("GET", v2(X, "manifests", other)), 404,
                 "MANIFEST_UNKNOWN")
    assert_error(R("GET", v2(X, "manifests", sha256(m))), 404,
                 "MANIFEST_UNKNOWN")


@case
def extra_manifest_invalid_400():
    for body in (D.invalid_manifest, b"{}", b'{"schemaVersion": 2}',
                 b"[1, 2]", D.manifests[0][:-1]):
        assert_error(put_manifest("invalid", body, name=X, status=None), 400,
                     "MANIFEST_INVALID")
    # not a schema berth knows: Docker schema 1, an unknown media type
    s1 = jdump({"schemaVersion": 1, "name": X, "tag": "invalid",
                "architecture": "amd64", "fsLayers": [], "history": []})
    assert_error(put_manifest("invalid", s1, mt=MT_SCHEMA1, name=X,
                              status=None), 400, "MANIFEST_INVALID")
    odd = jdump({"schemaVersion": 2,
                 "mediaType": "application/vnd.example.unknown+json",
                 "config": descriptor(MT_OCI_CONFIG, D.configs[0]),
                 "layers": []})
    assert_error(put_manifest("invalid", odd,
                              mt="application/vnd.example.unknown+json",
                              name=X, status=None), 400, "MANIFEST_INVALID")
    # a descriptor without its size
    nosize = jdump({"schemaVersion": 2, "mediaType": MT_OCI_MANIFEST,
                    "config": {"mediaType": MT_OCI_CONFIG,
                               "digest": sha256(D.configs[0])},
                    "layers": []})
    assert_error(put_manifest("invalid", nosize, name=X, status=None), 400,
                 "MANIFEST_INVALID")
    assert_error(R("GET", v2(X, "manifests", "invalid")), 404,
                 "MANIFEST_UNKNOWN")


@case
def extra_accept_negotiation():
    m, _, _ = setup_image(X, "negotiate", seed=2)
    path = v2(X, "manifests", "negotiate")
    # skopeo/podman: six Accept lines, the OCI type last.
    lines = [MT_DOCKER_MANIFEST, MT_SCHEMA1_SIGNED, MT_SCHEMA1,
             MT_DOCKER_LIST, MT_OCI_INDEX, MT_OCI_MANIFEST]
    r = R("GET", path, headers=[("Accept", a) for a in lines])
    assert_manifest_response(r, m, MT_OCI_MANIFEST)
    # containerd: one comma-separated line ending in "*"; only "*" admits
    # the OCI manifest here.
    r = R("GET", path, headers=[("Accept", "%s, %s, *" % (
        MT_DOCKER_MANIFEST, MT_DOCKER_LIST))])
    assert_manifest_response(r, m, MT_OCI_MANIFEST)
    # q-values and */*
    r = R("GET", path, headers=[("Accept", MT_DOCKER_MANIFEST + ";q=0.9, " +
                                 MT_OCI_MANIFEST + ";q=0.5")])
    assert_manifest_response(r, m, MT_OCI_MANIFEST)
    r = R("GET", path, headers=[("Accept", "*/*")])
    assert_manifest_response(r, m, MT_OCI_MANIFEST)
    # An Accept that excludes the type: 404 by tag ...
    for accept in ([MT_DOCKER_MANIFEST], [MT_DOCKER_MANIFEST, MT_DOCKER_LIST],
                   ["application/json"]):
        r = R("GET", path, headers=[("Accept", a) for a in accept])
        assert_error(r, 404, "MANIFEST_UNKNOWN")
        r = R("HEAD", path, headers=[("Accept", a) for a in accept])
        eq(r.status, 404, "HEAD with Accept %r" % accept)
    # ... but served by digest, unchanged.
    r = R("GET", v2(X, "manifests", sha256(m)),
          headers=[("Accept", MT_DOCKER_MANIFEST)])
    assert_manifest_response(r, m, MT_OCI_MANIFEST)


@case
def extra_head_manifest_equals_get_without_body():
    m, _, _ = setup_image(X, "headcheck", seed=3)
    for ref in ("headcheck", sha256(m)):
        g = R("GET", v2(X, "manifests", ref))
        h = R("HEAD", v2(X, "manifests", ref), check_head_body=True)
        assert_manifest_response(g, m, MT_OCI_MANIFEST)
        assert_manifest_response(h, m, MT_OCI_MANIFEST, head=True)
        eq(h.stray, b"", "bytes after a HEAD response")
        for k in ("Content-Type", "Content-Length", "Docker-Content-Digest"):
            eq(h.h(k), g.h(k), "%s of HEAD vs GET" % k)


@case
def extra_docker_schema2_and_manifest_list():
    name = "extra/docker"
    cfg = jdump({"architecture": "amd64", "os": "linux",
                 "rootfs": {"type": "layers", "diff_ids": []}})
    layer = rand_bytes(200, D.seed + 23)
    push_blob(cfg, name)
    push_blob(layer, name)
    m = jdump({"schemaVersion": 2, "mediaType": MT_DOCKER_MANIFEST,
               "config": descriptor(MT_DOCKER_CONFIG, cfg),
               "layers": [descriptor(MT_DOCKER_LAYER, layer)]})
    put_manifest(sha256(m), m, mt=MT_DOCKER_MANIFEST, name=name)
    lst = jdump({"schemaVersion": 2, "mediaType": MT_DOCKER_LIST,
                 "manifests": [descriptor(MT_DOCKER_MANIFEST, m, platform={
                     "architecture": "amd64", "os": "linux"})]})
    put_manifest("list", lst, mt=MT_DOCKER_LIST, name=name)
    r = R("GET", v2(name, "manifests", "list"),
          headers=[("Accept", MT_DOCKER_LIST), ("Accept", MT_DOCKER_MANIFEST)])
    assert_manifest_response(r, lst, MT_DOCKER_LIST)
    r = R("GET", v2(name, "manifests", sha256(m)),
          headers=[("Accept", MT_DOCKER_MANIFEST)])
    assert_manifest_response(r, m, MT_DOCKER_MANIFEST)
    # OCI index over the same child, pushed by tag
    idx = jdump({"schemaVersion": 2, "mediaType": MT_OCI_INDEX,
                 "manifests": [descriptor(MT_DOCKER_MANIFEST, m)]})
    put_manifest("index", idx, mt=MT_OCI_INDEX, name=name)
    r = R("HEAD", v2(name, "manifests", "index"),
          headers=[("Accept", MT_OCI_INDEX)])
    assert_manifest_response(r, idx, MT_OCI_INDEX, head=True)


def oci_tags(r):
    """The tags of OCI-Tag headers (one per header or comma-separated)."""
    return [t.strip() for v in r.hall("OCI-Tag") for t in v.split(",")
            if t.strip()]


@case
def extra_put_by_digest_with_tag_params():
    name = "extra/tagparams"
    m, _, _ = setup_image(name, seed=4)
    r = R("PUT", v2(name, "manifests", sha256(m)) + "?tag=a&tag=b",
          headers=[("Content-Type", MT_OCI_MANIFEST)], body=m)
    eq(r.status, 201, "status (%s)" % short(r.body))
    eq(r.h("Docker-Content-Digest"), sha256(m), "Docker-Content-Digest")
    eq(loc_path(REG, r), v2(name, "manifests", sha256(m)), "Location")
    eq(sorted(oci_tags(r)), ["a", "b"], "OCI-Tag headers")
    for t in ("a", "b"):
        r = R("HEAD", v2(name, "manifests", t))
        assert_manifest_response(r, m, MT_OCI_MANIFEST, head=True)
    r, tags = tag_list(name)
    eq(tags, ["a", "b"], "tags")


@case
def extra_tags_sorted_and_paginated():
    name = "extra/tags"
    m, _, _ = setup_image(name, seed=5)
    tags = ["latest", "v1.0", "v1.0-rc1", "A", "Z9", "_x", "b", "a", "v2",
            "1.0", "a.b", "a-b"]
    for t in tags:
        put_manifest(t, m, name=name)
    r, got = tag_list(name)
    eq(got, sorted(tags), "sorted tags")
    check(r.h("Link") is None, "Link on a complete list")
    # follow Link from n=5 to the end
    path = v2(name, "tags/list") + "?n=5"
    pages = []
    for _ in range(10):
        r = R("GET", path)
        eq(r.status, 200, "page status")
        page = r.json()["tags"]
        check(len(page) <= 5, "a page of %d with n=5" % len(page))
        pages.append(page)
        path = link_next(REG, r)
        if path is None:
            break
    eq(sum(pages, []), sorted(tags), "tags over the pages")
    eq([len(p) for p in pages], [5, 5, 2], "page sizes")
    # n=0: an empty list and no Link
    r, got = tag_list(name, "?n=0")
    eq(got, [], "tags with n=0")
    check(r.h("Link") is None, "Link with n=0")
    # last past the end
    r, got = tag_list(name, "?last=zzz")
    eq(got, [], "tags after the last one")


@case
def extra_catalog_paginated():
    r = R("GET", "/v2/_catalog")
    eq(r.status, 200, "status")
    full = r.json().get("repositories")
    check(isinstance(full, list), "repositories is not a list")
    eq(full, sorted(full), "the catalog is sorted")
    for n in (NAME, CROSS, X, "extra/tags", "extra/docker"):
        check(n in full, "%s is not in the catalog" % n)
    check(r.h("Link") is None, "Link on the complete catalog")
    path = "/v2/_catalog?n=2"
    seen = []
    for _ in range(len(full) + 2):
        r = R("GET", path)
        eq(r.status, 200, "page status")
        page = r.json()["repositories"]
        check(len(page) <= 2, "a page of %d with n=2" % len(page))
        seen += page
        path = link_next(REG, r)
        if path is None:
            break
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
        eq(q.get("n"), ["2"], "n in Link")
        eq(q.get("last"), [page[-1]], "last in Link")
    eq(seen, full, "repositories over the pages")
    r = R("GET", "/v2/_catalog?n=3&last=" + urllib.parse.quote(full[0], ""))
    eq(r.json()["repositories"], full[1:4], "page after last=")


@case
def extra_host_names_an_account_and_region():
    # <account>.dkr.ecr.<region>.localhost addresses another registry: the
    # same repository name there is another repository.
    host = "123456789012.dkr.ecr.eu-west-3.localhost:%d" % REG.port
    r = request(REG, "GET", "/v2/_catalog", host_header=host)
    eq(r.status, 200, "catalog status")
    eq(r.json().get("repositories"), [], "catalog of the other account")
    r = request(REG, "GET", v2(NAME, "tags/list"), host_header=host)
    assert_error(r, 404, "NAME_UNKNOWN")
    blob = rand_bytes(99, D.seed + 24)
    r = request(REG, "POST", v2("iso/repo", "blobs/uploads/") + "?digest=" +
                sha256(blob), body=blob, host_header=host)
    eq(r.status, 201, "push under the other account (%s)" % short(r.body))
    r = request(REG, "GET", "/v2/_catalog", host_header=host)
    eq(r.json().get("repositories"), ["iso/repo"], "catalog of the other "
       "account")
    r = R("GET", "/v2/_catalog")
    check("iso/repo" not in r.json().get("repositories"), "iso/repo leaks "
          "into the default account's catalog")
    assert_error(R("GET", v2("iso/repo", "blobs", sha256(blob))), 404,
                 "NAME_UNKNOWN")


@case
def extra_error_codes():
    assert_error(R("GET", v2("no/such/repo", "tags/list")), 404,
                 "NAME_UNKNOWN")
    assert_error(R("GET", v2("no/such/repo", "manifests", "latest")), 404,
                 "NAME_UNKNOWN")
    assert_error(R("GET", v2("no/such/repo", "blobs", D.dummy_digest)), 404,
                 "NAME_UNKNOWN")
    assert_error(R("GET", v2("Upper/Case", "tags/list")), 400, "NAME_INVALID")
    assert_error(R("GET", v2("a" * 257, "tags/list")), 400, "NAME_INVALID")
    for bad_tag in ("-bad", "a" * 129):
        doc = assert_error(put_manifest(bad_tag, D.manifests[0], name=X,
                                        status=None), 400)
        check(doc["errors"][0]["code"] in ("TAG_INVALID", "MANIFEST_INVALID"),
              "code for the invalid tag %r: %s" % (bad_tag,
                                                   doc["errors"][0]["code"]))
    assert_error(R("GET", v2(X, "blobs", "sha256:xyz")), 400,
                 "DIGEST_INVALID")
    assert_error(R("GET", v2(X, "referrers", "notadigest")), 400)
    assert_error(R("DELETE", v2(X, "manifests", D.dummy_digest)), 404,
                 "MANIFEST_UNKNOWN")
    assert_error(R("DELETE", v2(X, "manifests", "no-such-tag")), 404,
                 "MANIFEST_UNKNOWN")
    assert_error(R("DELETE", v2(X, "blobs", D.dummy_digest)), 404,
                 "BLOB_UNKNOWN")
    assert_error(R("GET", v2(X, "blobs/uploads",
                             "00000000-0000-0000-0000-000000000000")), 404,
                 "BLOB_UPLOAD_UNKNOWN")
    assert_error(R("PATCH", v2(X, "blobs/uploads", "not-a-session"),
                   body=b"x"), 404, "BLOB_UPLOAD_UNKNOWN")


@case
def extra_put_by_digest_tag_limit():
    # spec (main): a registry that supports ?tag= SHOULD accept at least
    # 10 tags per request, MAY answer 414 when there are too many, and
    # MUST list each accepted tag in OCI-Tag.
    name = "extra/tagparams"
    m, _, _ = setup_image(name, seed=6)
    ten = ["t%02d" % i for i in range(10)]
    r = R("PUT", v2(name, "manifests", sha256(m)) + "?" +
          urllib.parse.urlencode([("tag", t) for t in ten]),
          headers=[("Content-Type", MT_OCI_MANIFEST)], body=m)
    eq(r.status, 201, "10 tags: status (%s)" % short(r.body))
    eq(sorted(oci_tags(r)), ten, "OCI-Tag for 10 tags")
    many = ["m%02d" % i for i in range(40)]
    r = R("PUT", v2(name, "manifests", sha256(m)) + "?" +
          urllib.parse.urlencode([("tag", t) for t in many]),
          headers=[("Content-Type", MT_OCI_MANIFEST)], body=m)
    # Either all accepted, or 414 Request-URI Too Long (the spec's status
    # for too many tags; 413 would say the body is too large, which it
    # is not).
    if r.status == 201:
        eq(sorted(oci_tags(r)), many, "OCI-Tag for 40 tags")
    else:
        eq(r.status, 414, "status for 40 tags (%s)" % short(r.body))
        r, tags = tag_list(name)
        check(not any(t in tags for t in many), "tags of a refused PUT "
              "were created")


@case
def extra_manifest_by_sha512_digest_with_tag():
    # The ?tag= use case the spec names: a manifest pushed by a sha512
    # digest, tagged in the same request; pulled back by tag and digest.
    name = "extra/sha512"
    m, _, _ = setup_image(name, seed=7)
    d = sha512(m)
    r = R("PUT", v2(name, "manifests", d) + "?tag=v512",
          headers=[("Content-Type", MT_OCI_MANIFEST)], body=m)
    eq(r.status, 201, "status (%s)" % short(r.body))
    eq(r.h("Docker-Content-Digest"), d, "Docker-Content-Digest")
    eq(loc_path(REG, r), v2(name, "manifests", d), "Location")
    eq(oci_tags(r), ["v512"], "OCI-Tag")
    for ref in ("v512", d):
        r = R("GET", v2(name, "manifests", ref))
        eq(r.status, 200, "GET %s (%s)" % (ref, short(r.body)))
        check(r.body == m, "manifest bytes by %s" % ref)
        eq(r.h("Docker-Content-Digest"), d, "Docker-Content-Digest by %s"
           % ref)
    # a sha512 digest of other bytes is refused
    assert_error(put_manifest(sha512(m + b" "), m, name=name, status=None),
                 400, "DIGEST_INVALID")


@case
def extra_upload_session_gone_after_completion():
    blob = rand_bytes(500, D.seed + 26)
    r1 = start_upload(X)
    r2 = start_upload(X)
    check(loc_path(REG, r1) != loc_path(REG, r2), "two sessions share a "
          "Location")
    loc = loc_path(REG, r1)
    r = R("PUT", with_query(loc, digest=sha256(blob)), body=blob)
    eq(r.status, 201, "PUT status (%s)" % short(r.body))
    assert_error(R("GET", loc), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(R("PATCH", loc, body=b"more"), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(R("PUT", with_query(loc, digest=sha256(blob)), body=blob),
                 404, "BLOB_UPLOAD_UNKNOWN")
    r = R("DELETE", loc_path(REG, r2))
    eq(r.status, 204, "cancelling the other session")


@case
def extra_tag_moves_to_another_manifest():
    name = "extra/tagmove"
    m1, _, _ = setup_image(name, "moving", seed=8)
    m2, _, _ = setup_image(name, seed=9)
    put_manifest("moving", m2, name=name)
    r = R("GET", v2(name, "manifests", "moving"))
    assert_manifest_response(r, m2, MT_OCI_MANIFEST)
    r = R("GET", v2(name, "manifests", sha256(m1)))
    assert_manifest_response(r, m1, MT_OCI_MANIFEST)
    r, tags = tag_list(name)
    eq(tags, ["moving"], "tags")


@case
def extra_base_endpoint_head():
    r = R("HEAD", "/v2/", check_head_body=True)
    eq(r.status, 200, "status")
    eq(r.body + r.stray, b"", "HEAD body")
    eq(r.h("Docker-Distribution-API-Version"), "registry/2.0",
       "Docker-Distribution-API-Version")


@case
def extra_expect_100_continue():
    # curl sends Expect: 100-continue with large bodies: the body goes
    # after the 100.  A PATCH to an unknown session is refused; berthd
    # learns that from blobd while the body streams, so a 100 may come
    # first (HTTP allows either).
    blob = rand_bytes(2 * 1024 * 1024, D.seed + 28)
    r = start_upload(X)
    interim, r = raw_request_expect(REG, "PATCH", loc_path(REG, r),
                                    [("Content-Type",
                                      "application/octet-stream")], blob)
    eq(interim, [100], "interim responses")
    eq(r.status, 202, "PATCH status (%s)" % short(r.body))
    assert_range(r, len(blob) - 1)
    r = R("PUT", with_query(loc_path(REG, r), digest=sha256(blob)))
    eq(r.status, 201, "PUT status (%s)" % short(r.body))
    assert_blob_response(R("GET", v2(X, "blobs", sha256(blob))), blob)
    interim, r = raw_request_expect(
        REG, "PATCH", v2(X, "blobs/uploads",
                         "00000000-0000-0000-0000-000000000002"), [], blob)
    check(interim in ([], [100]), "interim responses %r" % interim)
    assert_error(r, 404, "BLOB_UPLOAD_UNKNOWN")


def read_responses(sock, methods, timeout=60):
    """Reads one response per request method from a raw socket, in order;
    stops early when the server closes.  Returns a list of Resp."""
    sock.settimeout(timeout)
    buf = b""
    out = []

    def fill(n):
        nonlocal buf
        while len(buf) < n:
            d = sock.recv(65536)
            if not d:
                raise EOFError
            buf += d

    for method in methods:
        try:
            while b"\r\n\r\n" not in buf:
                d = sock.recv(65536)
                if not d:
                    raise EOFError
                buf += d
            head, _, buf = buf.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split(" ")[1])
            hdrs = []
            for line in lines[1:]:
                k, _, v = line.partition(":")
                hdrs.append((k.strip(), v.strip()))
            r = Resp(status, "", hdrs, b"", method)
            n = 0
            if method != "HEAD" and status not in (204, 304) and \
                    status >= 200:
                n = int(r.h("Content-Length") or 0)
            fill(n)
            r.body, buf = buf[:n], buf[n:]
            out.append(r)
            if (r.h("Connection") or "").lower() == "close":
                break
        except (EOFError, socket.timeout):
            break
    return out


@case
def extra_keepalive_pipelined_requests():
    # Several requests on one connection, sent at once, including refusals
    # whose request bodies the server must consume, and a HEAD.
    blob = rand_bytes(300, D.seed + 27)
    h = "%s:%d" % (REG.host, REG.port)
    bad = b"blablabla"
    reqs = [
        ("GET", "GET /v2/ HTTP/1.1\r\nHost: %s\r\n\r\n" % h, b""),
        ("PUT", "PUT %s HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\n"
         "Content-Length: %d\r\n\r\n" % (v2(X, "manifests", "bad"), h,
                                         MT_OCI_MANIFEST, len(bad)), bad),
        ("HEAD", "HEAD %s HTTP/1.1\r\nHost: %s\r\n\r\n" %
         (v2(X, "blobs", D.dummy_digest), h), b""),
        ("PATCH", "PATCH %s HTTP/1.1\r\nHost: %s\r\nContent-Length: 4"
         "\r\n\r\n" % (v2(X, "blobs/uploads",
                           "00000000-0000-0000-0000-000000000001"), h),
         b"abcd"),
        ("POST", "POST %s?digest=%s HTTP/1.1\r\nHost: %s\r\n"
         "Content-Length: %d\r\n\r\n" % (v2(X, "blobs/uploads/"),
                                         sha256(blob), h, len(blob)), blob),
        ("GET", "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" %
         (v2(X, "blobs", sha256(blob)), h), b""),
    ]
    s = socket.create_connection((REG.host, REG.port), timeout=10)
    try:
        s.sendall(b"".join(head.encode() + body for _, head, body in reqs))
        rs = read_responses(s, [m for m, _, _ in reqs])
    finally:
        s.close()
    eq([r.status for r in rs], [200, 400, 404, 404, 201, 200],
       "statuses of the pipelined requests")
    assert_error(rs[1], 400, "MANIFEST_INVALID")
    eq(rs[2].body, b"", "HEAD body")
    assert_error(rs[3], 404, "BLOB_UPLOAD_UNKNOWN")
    eq(rs[4].h("Docker-Content-Digest"), sha256(blob), "Docker-Content-Digest")
    check(rs[5].body == blob, "blob bytes on the kept-alive connection")


@case(needs_berthd=True)
def extra_push_into_missing_repository_name_unknown():
    # ECR: repositories must exist; without --create-on-push a push into a
    # missing one fails with NAME_UNKNOWN naming it.
    strict = Berthd(create_on_push=False, label="berthd (no --create-on-push)")
    strict.start()
    try:
        name = "team/missing-repo"
        blob = rand_bytes(100, D.seed + 25)
        r = request(strict, "POST", v2(name, "blobs/uploads/"))
        assert_error(r, 404, "NAME_UNKNOWN", mention=name)
        r = request(strict, "POST", v2(name, "blobs/uploads/") + "?digest=" +
                    sha256(blob), body=blob)
        assert_error(r, 404, "NAME_UNKNOWN", mention=name)
        q = urllib.parse.urlencode([("from", "team/other"),
                                    ("mount", sha256(blob))])
        r = request(strict, "POST", v2(name, "blobs/uploads/") + "?" + q)
        assert_error(r, 404, "NAME_UNKNOWN", mention=name)
        m = jdump({"schemaVersion": 2, "mediaType": MT_OCI_MANIFEST,
                   "config": descriptor(MT_OCI_CONFIG, blob), "layers": []})
        r = request(strict, "PUT", v2(name, "manifests", "latest"),
                    headers=[("Content-Type", MT_OCI_MANIFEST)], body=m)
        assert_error(r, 404, "NAME_UNKNOWN", mention=name)
        r = request(strict, "PUT", v2(name, "manifests", sha256(m)),
                    headers=[("Content-Type", MT_OCI_MANIFEST)], body=m)
        assert_error(r, 404, "NAME_UNKNOWN", mention=name)
        r = request(strict, "GET", "/v2/_catalog")
        eq(r.status, 200, "catalog status")
        eq(r.json().get("repositories"), [], "catalog after refused pushes")
        S.strict = strict
        strict = None
    finally:
        if strict is not None:
            strict.stop()


def ecr_call(srv, target, payload):
    return request(srv, "POST", "/", headers=[
        ("X-Amz-Target", "AmazonEC2ContainerRegistry_V20150921." + target),
        ("Content-Type", "application/x-amz-json-1.1")],
        body=json.dumps(payload).encode())


def aws_cli():
    for path in ("/usr/bin/aws", shutil.which("aws")):
        if path and os.access(path, os.X_OK):
            return path
    return None


def need_ecr_api(srv):
    """Skips unless this berthd has the ECR API and the AWS CLI is here."""
    aws = aws_cli()
    if aws is None:
        raise Skip("no aws CLI")
    probe = ecr_call(srv, "DescribeRepositories", {})
    if probe.status == 404:
        raise Skip("no ECR API in this berthd yet (DescribeRepositories "
                   "answered 404)")
    return aws


def aws_ecr(srv, *args):
    """Runs aws ecr ARGS against srv with throwaway credentials; returns
    the parsed JSON output (None when there is none)."""
    env = dict(os.environ, AWS_ACCESS_KEY_ID="AKIDBERTHTEST",
               AWS_SECRET_ACCESS_KEY="berth-test-secret",
               AWS_REGION="us-east-1", AWS_DEFAULT_REGION="us-east-1",
               AWS_PAGER="", AWS_MAX_ATTEMPTS="1",
               AWS_CONFIG_FILE=os.devnull,
               AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    p = subprocess.run([aws_cli(), "ecr"] + list(args) + [
        "--endpoint-url", "http://%s:%d" % (srv.host, srv.port),
        "--output", "json"], env=env, stdin=subprocess.DEVNULL,
        capture_output=True, timeout=120)
    eq(p.returncode, 0, "aws ecr %s (%s)" % (args[0],
                                             short(p.stderr + p.stdout)))
    out = p.stdout.decode().strip()
    return json.loads(out) if out else None


@case(needs_berthd=True)
def extra_push_after_create_repository():
    # The same berthd: once the repository exists (ECR CreateRepository
    # through the AWS CLI), the pushes refused above succeed.
    strict = getattr(S, "strict", None)
    check(strict is not None, "the berthd of the previous case is gone")
    try:
        need_ecr_api(strict)
        name = "team/missing-repo"
        blob = rand_bytes(100, D.seed + 25)
        aws_ecr(strict, "create-repository", "--repository-name", name)
        r = request(strict, "POST", v2(name, "blobs/uploads/") + "?digest=" +
                    sha256(blob), body=blob)
        eq(r.status, 201, "blob push after create-repository (%s)" %
           short(r.body))
        m = jdump({"schemaVersion": 2, "mediaType": MT_OCI_MANIFEST,
                   "config": descriptor(MT_OCI_CONFIG, blob), "layers": []})
        r = request(strict, "PUT", v2(name, "manifests", "latest"),
                    headers=[("Content-Type", MT_OCI_MANIFEST)], body=m)
        eq(r.status, 201, "manifest push after create-repository (%s)" %
           short(r.body))
        r = request(strict, "GET", "/v2/_catalog")
        eq(r.json().get("repositories"), [name], "catalog")
    finally:
        problems = strict.stop() if strict is not None else []
        S.strict = None
    check(not problems, "the berthd without --create-on-push: %s" %
          "; ".join(problems))


@case(needs_berthd=True)
def extra_one_store_for_oci_and_ecr():
    # What /v2/ pushes the ECR API reads (with push and pull times), and
    # what the ECR API writes /v2/ serves, byte for byte.
    need_ecr_api(REG)
    name = "extra/ecr-shared"
    m, cfg, layers = setup_image(name, "v1", nlayers=2, seed=10)
    r = R("GET", v2(name, "manifests", "v1"))
    assert_manifest_response(r, m, MT_OCI_MANIFEST)
    out = aws_ecr(REG, "describe-images", "--repository-name", name)
    details = out.get("imageDetails", [])
    eq(len(details), 1, "images described")
    d = details[0]
    eq(d.get("imageDigest"), sha256(m), "imageDigest")
    eq(d.get("imageTags"), ["v1"], "imageTags")
    eq(d.get("imageManifestMediaType"), MT_OCI_MANIFEST,
       "imageManifestMediaType")
    eq(d.get("imageSizeInBytes"), sum(len(l) for l in layers),
       "imageSizeInBytes (the layers)")
    check(d.get("imagePushedAt") is not None, "no imagePushedAt")
    check(d.get("lastRecordedPullTime") is not None,
          "no lastRecordedPullTime after a pull: %s" % d)
    out = aws_ecr(REG, "batch-get-image", "--repository-name", name,
                  "--image-ids", "imageTag=v1")
    eq(len(out.get("images", [])), 1, "images got")
    check(out["images"][0].get("imageManifest", "").encode() == m,
          "BatchGetImage's manifest differs from the bytes pushed")
    # ECR PutImage, then /v2/
    m2 = jdump({"schemaVersion": 2, "mediaType": MT_OCI_MANIFEST,
                "config": descriptor(MT_OCI_CONFIG, cfg),
                "layers": [descriptor(MT_OCI_LAYER, layers[0])],
                "annotations": {"via": "ecr"}})
    aws_ecr(REG, "put-image", "--repository-name", name, "--image-tag",
            "v2", "--image-manifest", m2.decode(),
            "--image-manifest-media-type", MT_OCI_MANIFEST)
    r = R("GET", v2(name, "manifests", "v2"))
    assert_manifest_response(r, m2, MT_OCI_MANIFEST)
    r, tags = tag_list(name)
    eq(tags, ["v1", "v2"], "tags")
    # ECR BatchDeleteImage, then /v2/
    aws_ecr(REG, "batch-delete-image", "--repository-name", name,
            "--image-ids", "imageTag=v2")
    assert_error(R("GET", v2(name, "manifests", "v2")), 404,
                 "MANIFEST_UNKNOWN")


@case(needs_berthd=True)
def extra_login_token_names_an_account_and_region():
    # A login token (ECR GetAuthorizationToken) addresses its own account
    # and region; one for another registry than the host names is denied,
    # a bad one is challenged the way ECR does.
    need_ecr_api(REG)
    env_region = "eu-west-1"
    aws = aws_cli()
    env = dict(os.environ, AWS_ACCESS_KEY_ID="AKIDBERTHTEST",
               AWS_SECRET_ACCESS_KEY="berth-test-secret",
               AWS_REGION=env_region, AWS_DEFAULT_REGION=env_region,
               AWS_PAGER="", AWS_MAX_ATTEMPTS="1",
               AWS_CONFIG_FILE=os.devnull,
               AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    p = subprocess.run([aws, "ecr", "get-login-password", "--endpoint-url",
                        "http://%s:%d" % (REG.host, REG.port)], env=env,
                       stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=120)
    eq(p.returncode, 0, "aws ecr get-login-password (%s)" % short(p.stderr))
    token = p.stdout.decode().strip()
    basic = "Basic " + base64.b64encode(("AWS:" + token).encode()).decode()
    blob = rand_bytes(64, D.seed + 29)
    r = R("POST", v2("tok/repo", "blobs/uploads/") + "?digest=" +
          sha256(blob), headers=[("Authorization", basic)], body=blob)
    eq(r.status, 201, "push with the token (%s)" % short(r.body))
    r = R("GET", "/v2/_catalog", headers=[("Authorization", basic)])
    eq(r.json().get("repositories"), ["tok/repo"], "catalog with the token")
    r = R("GET", "/v2/_catalog")
    check("tok/repo" not in r.json().get("repositories"),
          "the token's repository shows in the default registry")
    acct = "000000000000"
    r = request(REG, "GET", v2("tok/repo", "blobs", sha256(blob)),
                host_header="%s.dkr.ecr.%s.localhost:%d" % (acct, env_region,
                                                            REG.port))
    eq(r.status, 200, "the same registry by host name (%s)" % short(r.body))
    r = request(REG, "GET", "/v2/_catalog", headers=[("Authorization",
                                                       basic)],
                host_header="111111111111.dkr.ecr.%s.localhost:%d" %
                (env_region, REG.port))
    assert_error(r, 403, "DENIED")
    bad = "Basic " + base64.b64encode(b"AWS:not-a-token").decode()
    r = R("GET", "/v2/_catalog", headers=[("Authorization", bad)])
    assert_error(r, 401, "UNAUTHORIZED")
    chal = r.h("WWW-Authenticate") or ""
    check(chal.startswith("Basic realm=") and
          'service="ecr.amazonaws.com"' in chal,
          "challenge %r is not ECR's" % chal)


# --- the runner ---------------------------------------------------------------

def main():
    global REG
    url = os.environ.get("OCI_CONFORMANCE_URL")
    REG = External(url) if url else Berthd(create_on_push=True)
    build_data()
    print("# registry under test: %s; data seed %d (OCI_CONFORMANCE_SEED)" %
          ("berthd" if not url else url, D.seed))
    passed = failed = skipped = 0
    try:
        REG.start()
    except Exception as e:
        print("FAIL start: %s" % e)
        print("0 passed, 1 failed")
        return 1
    try:
        for fn in CASES:
            name = fn.__name__
            if fn.needs_berthd and url:
                print("skip %s: needs a berthd of its own" % name)
                skipped += 1
                continue
            try:
                fn()
                print("ok %s" % name)
                passed += 1
            except Skip as e:
                print("skip %s: %s" % (name, e))
                skipped += 1
            except Failure as e:
                print("FAIL %s: %s" % (name, e))
                failed += 1
            except Exception as e:
                tb = traceback.extract_tb(e.__traceback__)
                where = "%s:%d" % (os.path.basename(tb[-1].filename),
                                   tb[-1].lineno) if tb else "?"
                print("FAIL %s: %s: %s (at %s)" % (name, type(e).__name__, e,
                                                   where))
                failed += 1
            sys.stdout.flush()
            if isinstance(REG, Berthd) and REG.proc.poll() is not None:
                print("FAIL berthd-alive: berthd exited with status %d "
                      "after %s; log:\n%s" % (REG.proc.returncode, name,
                                              REG.log_tail()))
                failed += 1
                break
    finally:
        if failed and isinstance(REG, Berthd):
            print("# berthd log, last lines:")
            for line in REG.log_tail(15).splitlines():
                print("#   " + line)
        if getattr(S, "strict", None) is not None:
            S.strict.stop()
        problems = REG.stop()
    if isinstance(REG, Berthd):
        # berthd ends cleanly on SIGTERM: status 0, no sanitizer report
        # (run the test against an --enable-asan build to make it count),
        # with the pull times of the last seconds written first.
        if problems:
            print("FAIL berthd_exits_cleanly: %s" % "; ".join(problems))
            failed += 1
        else:
            print("ok berthd_exits_cleanly")
            passed += 1
    if skipped:
        print("(%d skipped)" % skipped)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    # SIGTERM (a CI timeout) unwinds like Ctrl-C: berthd is stopped and the
    # temporary directories are removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.exit(main())
