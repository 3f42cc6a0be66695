#!/usr/bin/python3
"""berthd's HTTP layer from the wire, with raw sockets where a client
library would not send the bytes: limit errors in the shape of the API
the path belongs to (an OCI JSON error under /v2/, an ECR __type error
with x-amzn-RequestId on POST /, the admin API's own), plain text only
before the target is known, and boto3 reading the ECR shape; the Host
rules of RFC 9112 3.2; strict framing against request smuggling (chunk
data not followed by CRLF, Content-Length with Transfer-Encoding, two
Content-Lengths, obs-fold, bare LF), each refused with 400 and a close;
a full connection table (--max-connections) that closes the connection
idle the longest for a new client, and answers 503 only when all are
busy.

BERTHD and BLOBD name the binaries (default: build/daemon/berthd and
build/blobd/berth-blobd under the top of the tree).  Prints
"N passed, N failed" and exits non-zero on any failure.
"""

import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

import boto3
import botocore.exceptions
from botocore.config import Config

sys.dont_write_bytecode = True    # nothing left in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "pylib"))
import berth_it  # noqa: E402
from berth_it import BERTHD, BLOBD, free_port, ok  # noqa: E402

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-"
                  r"[0-9a-f]{12}$")


class Berthd:
    def __init__(self, *args):
        self.dir = tempfile.mkdtemp(prefix="berth-http.")
        self.port = free_port()
        self.endpoint = "http://127.0.0.1:%d" % self.port
        self.log = open(os.path.join(self.dir, "berthd.log"), "w")
        self.proc = subprocess.Popen(
            [BERTHD, "--blobd", BLOBD, "--listen",
             "127.0.0.1:%d" % self.port, "--data-dir",
             os.path.join(self.dir, "data")] + list(args),
            stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(400):
            try:
                urllib.request.urlopen(self.endpoint + "/_berth/health",
                                       timeout=1)
                return
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.05)
        raise RuntimeError("berthd did not start")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        ok("berthd stops cleanly", self.proc.wait(timeout=30) == 0)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def connect(self, timeout=60):
        return socket.create_connection(("127.0.0.1", self.port),
                                        timeout=timeout)


class Resp:
    """One response read off a socket, and whether the server closed."""

    def __init__(self, status, reason, headers, body, closed):
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
        self.closed = closed

    def header(self, name):
        return self.headers.get(name.lower())

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None


def read_response(s, head=False):
    """Reads one response; None when the connection ends before one."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        try:
            d = s.recv(65536)
        except (ConnectionResetError, socket.timeout):
            d = b""
        if not d:
            return None
        buf += d
    top, _, rest = buf.partition(b"\r\n\r\n")
    lines = top.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    n = 0 if head else int(headers.get("content-length", "0"))
    while len(rest) < n:
        d = s.recv(65536)
        if not d:
            break
        rest += d
    return Resp(int(parts[1]), parts[2] if len(parts) > 2 else "", headers,
                rest[:n], closed_after(s))


def closed_after(s):
    """Whether the server closes the connection (EOF, or a reset)."""
    s.settimeout(10)
    try:
        while True:
            d = s.recv(65536)
            if not d:
                return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def exchange(srv, data, head=False):
    s = srv.connect()
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        return read_response(s, head)
    finally:
        s.close()


def headers_block(n):
    return "".join("X-Filler-%d: v\r\n" % i for i in range(n))


# --- each API answers the layer's refusals in its own shape ---------------

def check_error(name, r, status, api, content_type, shape_ok):
    """A refusal: its status, a body of its API's shape, then a close."""
    ok(name + ": status %d" % status, r is not None and r.status == status,
       r and r.status)
    if r is None:
        return False
    body = r.json()
    ok(name + ": an %s error body" % api,
       r.header("content-type") == content_type and
       isinstance(body, dict) and shape_ok(body), r.body[:200])
    ok(name + ": the connection closes", r.closed)
    return True


def oci_error_of(r):
    """The first error of an OCI error body, or {}."""
    body = r.json() if r is not None else None
    errors = body.get("errors") if isinstance(body, dict) else None
    return errors[0] if isinstance(errors, list) and errors and \
        isinstance(errors[0], dict) else {}


def check_oci_error(name, r, status, code="UNSUPPORTED", v2=True):
    e = oci_error_of(r)
    if check_error(name, r, status, "OCI", "application/json",
                   lambda b: e.get("code") == code and e.get("message") and
                   e.get("detail")) and v2:
        ok(name + ": Docker-Distribution-API-Version",
           r.header("docker-distribution-api-version") == "registry/2.0")


def check_ecr_error(name, r, status, exception):
    if check_error(name, r, status, "ECR", "application/x-amz-json-1.1",
                   lambda b: b.get("__type") == exception and
                   b.get("message")):
        ok(name + ": x-amzn-RequestId and X-Amzn-ErrorType",
           UUID.match(r.header("x-amzn-requestid") or "") is not None and
           r.header("x-amzn-errortype") == exception)


def slow_head(srv, request, results, key):
    """Sends a request line and headers that never end: the 408."""
    s = srv.connect(timeout=90)
    try:
        s.sendall(request)
        results[key] = read_response(s)
    finally:
        s.close()


def test_limit_shapes(srv):
    # The header timeout is 30 s: both 408s wait in the background.
    slow = {}
    threads = [threading.Thread(target=slow_head, args=(
        srv, b"GET /v2/ HTTP/1.1\r\nHost: localhost\r\nX-Slow: 1\r\n", slow,
        "oci")), threading.Thread(target=slow_head, args=(
            srv, b"POST / HTTP/1.1\r\nHost: localhost\r\n", slow, "ecr"))]
    for t in threads:
        t.start()

    long_target = "a" * 9000
    r = exchange(srv, ("GET /v2/%s/manifests/x HTTP/1.1\r\nHost: localhost\r\n\r\n"
                       % long_target).encode())
    check_oci_error("414 on /v2/", r, 414)
    ok("414 on /v2/: the detail names the limit",
       "8192" in (oci_error_of(r).get("detail") or ""))
    r = exchange(srv, ("POST /?%s HTTP/1.1\r\nHost: localhost\r\n\r\n" %
                       long_target).encode())
    check_ecr_error("414 on POST /", r, 414, "ValidationException")

    r = exchange(srv, ("GET /v2/ HTTP/1.1\r\nHost: localhost\r\n%s\r\n" %
                       headers_block(101)).encode())
    check_oci_error("431 (header lines) on /v2/", r, 431)
    big = "X-Big: %s\r\n" % ("b" * 70000)
    r = exchange(srv, ("POST / HTTP/1.1\r\nHost: localhost\r\nX-Amz-Target: "
                       "AmazonEC2ContainerRegistry_V20150921."
                       "DescribeRepositories\r\n%s\r\n" % big).encode())
    check_ecr_error("431 (header bytes) on POST /", r, 431,
                    "ValidationException")
    r = exchange(srv, ("HEAD /v2/ HTTP/1.1\r\nHost: localhost\r\n%s\r\n" %
                       headers_block(101)).encode(), head=True)
    ok("431 on HEAD /v2/: the status and no body", r is not None and
       r.status == 431 and r.header("content-type") == "application/json")

    r = exchange(srv, ("GET /_berth/health HTTP/1.1\r\nHost: localhost\r\n%s\r\n" %
                       headers_block(101)).encode())
    ok("431 on /_berth/: the admin API's shape", r is not None and
       r.status == 431 and r.json() is not None and
       r.json().get("error"), r and r.body[:200])
    r = exchange(srv, ("GET /elsewhere HTTP/1.1\r\nHost: localhost\r\n%s\r\n" %
                       headers_block(101)).encode())
    check_oci_error("431 off every API: the fallback route's shape", r, 431,
                    v2=False)

    r = exchange(srv, b"GET /v2/ HTTP/1.1\r\nHost: localhost\r\nBad Header: 1\r\n\r\n")
    check_oci_error("400 for a malformed header on /v2/", r, 400)
    r = exchange(srv, b"GET /v2/ HTTP/2.0\r\nHost: localhost\r\n\r\n")
    check_oci_error("505 on /v2/", r, 505)

    # Before the target is known, there is no API to answer for.
    r = exchange(srv, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n")
    ok("garbage (a TLS hello): 400 in plain text", r is not None and
       r.status == 400 and r.header("content-type") == "text/plain" and
       r.closed)

    for t in threads:
        t.join(90)
    check_oci_error("408 on /v2/ after 30 s", slow.get("oci"), 408)
    check_ecr_error("408 on POST / after 30 s", slow.get("ecr"), 408,
                    "RequestTimeoutException")


def test_host(srv):
    """RFC 9112 3.2: 400 without Host on HTTP/1.1, for two, for a bad one."""
    r = exchange(srv, b"GET /v2/ HTTP/1.1\r\n\r\n")
    check_oci_error("HTTP/1.1 without Host", r, 400)
    r = exchange(srv, b"POST / HTTP/1.1\r\nX-Amz-Target: "
                 b"AmazonEC2ContainerRegistry_V20150921.DescribeRepositories"
                 b"\r\nContent-Type: application/x-amz-json-1.1\r\n"
                 b"Content-Length: 2\r\n\r\n{}")
    check_ecr_error("ECR without Host", r, 400, "InvalidParameterException")
    # The first Host used to decide the account: now neither does.
    r = exchange(srv, ("GET /v2/_catalog HTTP/1.1\r\n"
                       "Host: 111111111111.dkr.ecr.eu-west-1.localhost:%d\r\n"
                       "Host: 127.0.0.1:%d\r\n\r\n" %
                       (srv.port, srv.port)).encode())
    check_oci_error("two Host lines", r, 400)
    ok("two Host lines: the message says so", r is not None and
       "more than one Host" in r.body.decode())
    for bad in ("evil.example.com/x", "a b", "[::1", "x:65536", "x:1:2"):
        r = exchange(srv, ("GET /v2/ HTTP/1.1\r\nHost: %s\r\n\r\n" %
                           bad).encode())
        check_oci_error("Host %r" % bad, r, 400)
    for good in ("localhost:%d" % srv.port, "[::1]:%d" % srv.port,
                 "127.0.0.1", "111111111111.dkr.ecr.eu-west-1.localhost"):
        r = exchange(srv, ("GET /v2/ HTTP/1.1\r\nHost: %s\r\n"
                           "Connection: close\r\n\r\n" % good).encode())
        ok("Host %r is served" % good, r is not None and r.status == 200,
           r and r.status)
    r = exchange(srv, b"GET /v2/ HTTP/1.0\r\n\r\n")
    ok("HTTP/1.0 without Host is served", r is not None and r.status == 200,
       r and r.status)


def start_upload(srv, repo):
    s = srv.connect()
    try:
        s.sendall(("POST /v2/%s/blobs/uploads/ HTTP/1.1\r\nHost: localhost\r\n"
                   "Content-Length: 0\r\n\r\n" % repo).encode())
        r = read_response(s)
    finally:
        s.close()
    return r.header("location") if r is not None and r.status == 202 \
        else None


def test_chunk_framing(srv):
    """Issue 15's reproduction: 'XX' in place of the CRLF after chunk
    data used to pass, and 'abcdefg' was stored."""
    loc = start_upload(srv, "smuggle/one")
    ok("an upload starts", loc is not None)
    if loc is None:
        return
    path = loc.split("://", 1)[-1]
    path = path[path.index("/"):]
    r = exchange(srv, ("PATCH %s HTTP/1.1\r\nHost: localhost\r\n"
                       "Content-Type: application/octet-stream\r\n"
                       "Transfer-Encoding: chunked\r\n\r\n" % path).encode() +
                 b"3\r\nabcXX4\r\ndefg\r\n0\r\n\r\n")
    check_oci_error("chunk data followed by XX", r, 400,
                    code="BLOB_UPLOAD_INVALID")
    ok("chunk data followed by XX: the upload holds 3 bytes, it says",
       r is not None and "holds 3 bytes" in r.body.decode(), r and r.body)
    # What arrived before the bad bytes stays in the upload, as after a
    # client that broke off; "defg" never arrives.
    s = srv.connect()
    try:
        s.sendall(("GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n" % path).encode())
        st = read_response(s)
    finally:
        s.close()
    ok("the upload holds 'abc' only (Range 0-2)", st is not None and
       st.status == 204 and st.header("range") == "0-2",
       st and (st.status, st.header("range")))


def upload_path(loc):
    path = loc.split("://", 1)[-1]
    return path[path.index("/"):]


def patch_wire(path, length, extra=""):
    return ("PATCH %s HTTP/1.1\r\nHost: localhost\r\n"
            "Content-Type: application/octet-stream\r\n%s"
            "Content-Length: %d\r\n\r\n" % (path, extra, length)).encode()


def recv_head(s):
    """What came on s up to a response's blank line and maybe past it;
    None when it closes first."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        if not d:
            return None
        buf += d
    return buf


def head_of(s):
    """The status and headers of the response that comes on s, without
    read_response's wait for a close; None when it closes first."""
    buf = recv_head(s)
    if buf is None:
        return None
    lines = buf.partition(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
    return int(lines[0].split(" ", 2)[1]), dict(
        (k.strip().lower(), v.strip())
        for k, _, v in (x.partition(":") for x in lines[1:]))


def quick(srv, data):
    """Sends data on a new connection: the response's status and headers."""
    s = srv.connect()
    try:
        s.sendall(data)
        return head_of(s)
    finally:
        s.close()


def test_spliced_patch(srv):
    """A PATCH of up to 1 MiB is spliced into blobd's pipe, which blobd
    gets once the body is all there, or as soon as the pipe is full: sent
    in 100-byte segments, the MiB fills the pipe's slots long before it
    ends.  Cut short, what arrived stays in the upload, to resume from."""
    data = os.urandom(1024 * 1024)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    loc = start_upload(srv, "splice/one")
    ok("an upload starts", loc is not None)
    if loc is None:
        return
    path = upload_path(loc)
    s = srv.connect()
    try:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.sendall(patch_wire(path, len(data)))
        for i in range(0, len(data), 100):
            s.sendall(data[i:i + 100])
        r = head_of(s)
    finally:
        s.close()
    ok("a MiB sent in 100-byte segments: 202, Range 0-1048575",
       r is not None and r[0] == 202 and r[1].get("range") == "0-1048575",
       r)
    r = quick(srv, ("PUT %s?digest=%s HTTP/1.1\r\nHost: localhost\r\n"
                       "Content-Length: 0\r\n\r\n" % (path, digest)).encode())
    ok("and its commit: 201", r is not None and r[0] == 201, r)

    loc = start_upload(srv, "splice/one")
    path = upload_path(loc)
    s = srv.connect()
    try:
        s.sendall(patch_wire(path, len(data)) + data[:300000])
        # The status below must see what the server made of the cut.
        s.shutdown(socket.SHUT_WR)
        cut = head_of(s)
    finally:
        s.close()
    ok("a PATCH cut short after 300000 of its 1048576 bytes is not 202",
       cut is None or cut[0] != 202, cut)
    # blobd may still be reading them when the connection has closed.
    for _ in range(300):
        st = quick(srv, ("GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n" %
                         path).encode())
        if st is not None and st[1].get("range") == "0-299999":
            break
        time.sleep(0.1)
    ok("the upload holds the 300000 bytes that came (Range 0-299999)",
       st is not None and st[0] == 204 and st[1].get("range") == "0-299999",
       st)
    r = quick(srv, patch_wire(path, len(data) - 300000,
                                 "Content-Range: 300000-1048575\r\n") +
                 data[300000:])
    ok("the rest, from there: 202", r is not None and r[0] == 202, r)
    r = quick(srv, ("PUT %s?digest=%s HTTP/1.1\r\nHost: localhost\r\n"
                       "Content-Length: 0\r\n\r\n" % (path, digest)).encode())
    ok("and the commit of the whole: 201", r is not None and r[0] == 201, r)

    # Twenty such bodies half sent at once: past 16 MiB in pipes it does
    # not read yet, berthd hands blobd the pipe at once; all are taken.
    # (The sessions first: start_upload waits 10 s to see a close.)
    paths = []
    for _ in range(20):
        rq = urllib.request.Request(srv.endpoint +
                                    "/v2/splice/many/blobs/uploads/",
                                    data=b"", method="POST")
        with urllib.request.urlopen(rq, timeout=60) as resp:
            paths.append(upload_path(resp.headers["Location"]))
    conns = []
    try:
        for path in paths:
            s = srv.connect()
            conns.append(s)
            s.sendall(patch_wire(path, len(data)) + data[:500000])
        for s in conns:
            s.sendall(data[500000:])
        codes = [(lambda r: r and r[0])(head_of(s)) for s in conns]
    finally:
        for s in conns:
            s.close()
    ok("twenty 1 MiB PATCHes half sent at once: all 202",
       codes == [202] * 20, codes)


def test_smuggling(srv):
    cases = [
        ("Content-Length with Transfer-Encoding",
         b"POST /v2/smuggle/two/blobs/uploads/ HTTP/1.1\r\nHost: localhost\r\n"
         b"Content-Length: 40\r\nTransfer-Encoding: chunked\r\n\r\n"
         b"0\r\n\r\nGET /v2/_catalog HTTP/1.1\r\nHost: localhost\r\n\r\n"),
        ("two Content-Lengths",
         b"POST /v2/smuggle/two/blobs/uploads/ HTTP/1.1\r\nHost: localhost\r\n"
         b"Content-Length: 0\r\nContent-Length: 0\r\n\r\n"),
        ("conflicting Content-Lengths",
         b"POST /v2/smuggle/two/blobs/uploads/ HTTP/1.1\r\nHost: localhost\r\n"
         b"Content-Length: 0\r\nContent-Length: 44\r\n\r\n"
         b"GET /v2/_catalog HTTP/1.1\r\nHost: localhost\r\n\r\n"),
        ("a Transfer-Encoding other than chunked",
         b"POST /v2/smuggle/two/blobs/uploads/ HTTP/1.1\r\nHost: localhost\r\n"
         b"Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"),
        ("Transfer-Encoding in HTTP/1.0",
         b"POST /v2/smuggle/two/blobs/uploads/ HTTP/1.0\r\n"
         b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        ("obs-fold",
         b"GET /v2/ HTTP/1.1\r\nHost: localhost\r\nX-A: 1\r\n X-B: 2\r\n\r\n"),
        ("a bare LF",
         b"GET /v2/ HTTP/1.1\nHost: x\n\n"),
        ("a CR that ends the head on its own",
         b"GET /v2/ HTTP/1.1\r\nHost: localhost\r\n\rGET /v2/_catalog HTTP/1.1"
         b"\r\nHost: localhost\r\n\r\n"),
    ]
    for name, wire in cases:
        s = srv.connect()
        try:
            s.sendall(wire)
            r = read_response(s)
            if r is not None and r.closed:
                more = None
            else:
                more = read_response(s)
        finally:
            s.close()
        check_oci_error(name, r, 400)
        ok(name + ": nothing else is answered", more is None)


def request_on(s, path="/v2/"):
    s.sendall(("GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n" % path).encode())
    buf = recv_head(s)
    if buf is None:
        return None
    head, _, rest = buf.partition(b"\r\n\r\n")
    n = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
    while len(rest) < n:
        rest += s.recv(65536)
    return int(head.split(b" ")[1])


def closed_by_server(s):
    s.settimeout(10)
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def test_connection_table():
    """Issue 15: 3,000 idle keep-alive connections held the table and a
    new client got 503 for a minute."""
    srv = Berthd("--max-connections", "8")
    conns = []
    try:
        for _ in range(8):
            s = srv.connect()
            conns.append(s)
            ok("a keep-alive connection is served",
               request_on(s) == 200)
        # The first is used again: the second is now idle the longest.
        ok("the first is used again", request_on(conns[0]) == 200)
        r = exchange(srv, b"GET /v2/ HTTP/1.1\r\nHost: localhost\r\n"
                     b"Connection: close\r\n\r\n")
        ok("at the limit, a new client is served", r is not None and
           r.status == 200, r and r.status)
        ok("the connection idle the longest was closed for it",
           closed_by_server(conns[1]))
        ok("the others are still served",
           request_on(conns[0]) == 200 and request_on(conns[7]) == 200)
    finally:
        for s in conns:
            s.close()
        srv.stop()

    # All busy (their heads unfinished): 503 with Retry-After, and close.
    srv = Berthd("--max-connections", "4")
    conns = []
    try:
        for _ in range(4):
            s = srv.connect()
            s.sendall(b"GET /v2/ HTTP/1.1\r\nHost: localhost\r\n")
            conns.append(s)
        r = exchange(srv, b"GET /v2/ HTTP/1.1\r\nHost: localhost\r\n\r\n")
        ok("all busy: 503 with Retry-After, then close", r is not None and
           r.status == 503 and r.header("retry-after") == "1" and
           r.closed, r and (r.status, r.headers))
        conns[0].sendall(b"\r\n")
        ok("a busy one goes on", read_response(conns[0]) is not None)
    finally:
        for s in conns:
            s.close()
        srv.stop()


def test_boto3_reads_the_shape(srv):
    """botocore sees the 431 as a modeled error, not a parse failure."""
    client = boto3.client(
        "ecr", endpoint_url=srv.endpoint, region_name="us-east-1",
        aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret",
        config=Config(retries={"max_attempts": 1}))

    def add_headers(request, **kw):
        for i in range(120):
            request.headers["X-Filler-%d" % i] = "v"
    client.meta.events.register("before-sign.ecr.DescribeRepositories",
                                add_headers)
    try:
        client.describe_repositories()
        ok("boto3: 431 raises ClientError", False, "no error")
    except botocore.exceptions.ClientError as e:
        err = e.response["Error"]
        meta = e.response["ResponseMetadata"]
        ok("boto3: 431 raises ClientError ValidationException",
           err.get("Code") == "ValidationException" and
           meta.get("HTTPStatusCode") == 431 and
           "100 header fields" in err.get("Message", ""), e.response)
        ok("boto3: the request id is read", UUID.match(
            meta.get("RequestId", "")) is not None, meta)


def main():
    srv = Berthd("--create-on-push")
    try:
        for test in (test_limit_shapes, test_boto3_reads_the_shape,
                     test_host, test_chunk_framing, test_spliced_patch,
                     test_smuggling):
            try:
                test(srv)
            except Exception as e:
                ok(test.__name__, False, repr(e))
    finally:
        srv.stop()
    try:
        test_connection_table()
    except Exception as e:
        ok("test_connection_table", False, repr(e))
    print("%d passed, %d failed" % (berth_it.passed, berth_it.failed))
    return 0 if berth_it.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
