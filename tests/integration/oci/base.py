"""
The harness of oci_conformance.py: the registry under test (a berthd of
its own, or OCI_CONFORMANCE_URL), HTTP requests, the test data the
official suite's setup builds, the case registry, and the helpers the
case modules share.  main() in oci_conformance.py sets REG.
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
import urllib.parse

sys.dont_write_bytecode = True    # nothing left in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "pylib"))
from berth_it import free_port  # noqa: E402

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


# --- helpers the case modules share ---------------------------------------

def ecr_call(srv, target, payload):
    return request(srv, "POST", "/", headers=[
        ("X-Amz-Target", "AmazonEC2ContainerRegistry_V20150921." + target),
        ("Content-Type", "application/x-amz-json-1.1")],
        body=json.dumps(payload).encode())


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


X = "extra/main"


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


def assert_gone_from(repo, loc, *digests):
    """After a refused upload: the session is over and no blob appeared."""
    assert_error(R("GET", loc), 404, "BLOB_UPLOAD_UNKNOWN")
    for d in digests:
        eq(R("HEAD", v2(repo, "blobs", d)).status, 404,
           "HEAD of %s after the refused upload" % d)
