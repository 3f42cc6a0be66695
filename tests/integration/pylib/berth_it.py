"""Shared by the Python integration scripts written after ecr_boto3.py:
start and stop a real berthd from the build tree on a free port and a
private directory, raw ECR and /v2/ requests, boto3 clients, and the
"ok ... / N passed, N failed" reporting of the shell scripts.

BERTHD and BLOBD name the binaries (default: build/daemon/berthd and
build/blobd/berth-blobd under the top of the tree).
"""

import hashlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
BERTHD = os.environ.get("BERTHD", os.path.join(TOP, "build/daemon/berthd"))
BLOBD = os.environ.get("BLOBD", os.path.join(TOP, "build/blobd/berth-blobd"))
TARGET = "AmazonEC2ContainerRegistry_V20150921."
MT_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"

passed = 0
failed = 0
_lock = threading.Lock()


def ok(name, cond, detail=""):
    """Counts one check (from any thread); prints it, and what went wrong
    when it failed."""
    global passed, failed
    with _lock:
        if cond:
            passed += 1
            print("ok %s" % name, flush=True)
        else:
            failed += 1
            print("FAIL %s %s" % (name, detail), flush=True)
    return cond


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None


class Berthd:
    """A berthd with its own data directory (kept across restart())."""

    def __init__(self, *args, data_dir=None, port=None):
        self.dir = tempfile.mkdtemp(prefix="berth-it.")
        self.data = data_dir or os.path.join(self.dir, "data")
        self.port = port or free_port()
        self.args = list(args)
        self.endpoint = "http://127.0.0.1:%d" % self.port
        self.proc = None
        self.log = None
        self.start()

    def start(self, timeout=30):
        self.log = open(os.path.join(self.dir, "berthd.log"), "a")
        self.proc = subprocess.Popen(
            [BERTHD, "--blobd", BLOBD, "--listen",
             "127.0.0.1:%d" % self.port, "--data-dir", self.data] +
            self.args, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                if self.request("GET", "/_berth/health").status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("berthd did not start; see %s" % self.dir)

    def stop(self, sig=signal.SIGTERM):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=30)
        if self.log is not None:
            self.log.close()
            self.log = None

    def restart(self):
        self.stop()
        self.start()

    def cleanup(self, keep=False):
        self.stop()
        if keep:
            print("berthd log and data kept in", self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    def request(self, method, path, body=None, headers=None, timeout=60):
        """One request on a fresh connection; body is bytes or None."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                          timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return Response(resp.status, resp.getheaders(), resp.read())
        finally:
            conn.close()

    def ecr(self, op, body, headers=None):
        """An unsigned ECR call; body is a dict or the raw bytes."""
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        h = {"X-Amz-Target": TARGET + op,
             "Content-Type": "application/x-amz-json-1.1"}
        h.update(headers or {})
        return self.request("POST", "/", data, h)

    def client(self, key="AKIDEXAMPLE", secret="secret", region="us-east-1"):
        import boto3
        from botocore.config import Config
        return boto3.client(
            "ecr", endpoint_url=self.endpoint, region_name=region,
            aws_access_key_id=key, aws_secret_access_key=secret,
            config=Config(retries={"max_attempts": 1}))

    def push_blob(self, repo, data):
        """A monolithic /v2/ blob push; returns the digest, or None."""
        d = sha256(data)
        r = self.request("POST", "/v2/%s/blobs/uploads/?digest=%s" %
                         (repo, d), data)
        return d if r.status == 201 else None

    def push_image(self, repo, tag, layer):
        """Config and layer blobs and an OCI manifest through /v2/;
        returns (manifest bytes, Response of the manifest PUT)."""
        cfg = json.dumps({"tag": tag, "layer": sha256(layer)}).encode()
        self.push_blob(repo, cfg)
        self.push_blob(repo, layer)
        m = json.dumps({
            "schemaVersion": 2, "mediaType": MT_OCI_MANIFEST,
            "config": {"mediaType": MT_OCI_CONFIG, "digest": sha256(cfg),
                       "size": len(cfg)},
            "layers": [{"mediaType": MT_OCI_LAYER, "digest": sha256(layer),
                        "size": len(layer)}]}).encode()
        r = self.request("PUT", "/v2/%s/manifests/%s" % (repo, tag), m,
                         {"Content-Type": MT_OCI_MANIFEST})
        return m, r


def run(tests, *args):
    """Runs each test(b) against one berthd started with args, then
    prints the summary and exits."""
    b = Berthd(*args)
    try:
        for t in tests:
            try:
                t(b)
            except Exception:
                ok(t.__name__, False, traceback.format_exc())
    finally:
        b.cleanup(keep=failed > 0)
    summary()


def summary():
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


def err(fn, *a, **kw):
    """The exception name a boto3 call raises (None when it succeeds)."""
    import botocore.exceptions
    try:
        fn(*a, **kw)
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"]
    except botocore.exceptions.ParamValidationError:
        return "ParamValidationError"
    return None
