"""The harness of registry.py (and of lifecycle_clients.py, which pushes
the same way): a berthd of its own with a private temporary directory,
boto3 error helpers, OCI layouts pushed by skopeo or straight through
/v2/, and the status polls of replication and signing.  Counts go
through berth_it.
"""

import base64
import hashlib
import io
import json
import os
import secrets
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time
import urllib.error
import urllib.request

import boto3
import botocore
from botocore.config import Config

import berth_it
from berth_it import BERTHD, BLOBD, free_port, ok
A = "111111111111"
B = "222222222222"
C = "333333333333"
OCI_MANIFEST = berth_it.MT_OCI_MANIFEST
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
ANY_MANIFEST = (OCI_MANIFEST +
                ", application/vnd.docker.distribution.manifest.v2+json")
NOTARY = "application/vnd.cncf.notary.signature"


def private_tmp():
    """A new private directory whose path podman takes as an image name:
    podman names an image pulled from oci:<path> after the path, and
    mkdtemp's random part may start or end with '_', which a reference
    may not (one run in a few failed "podman push creates" so)."""
    while True:
        d = os.path.join(tempfile.gettempdir(),
                         "berth-registry-" + secrets.token_hex(4))
        try:
            os.mkdir(d, 0o700)
            return d
        except FileExistsError:
            continue


TMP = private_tmp()


def wait_until(fn, seconds=20):
    """Polls fn until it returns a true value (or seconds pass)."""
    deadline = time.monotonic() + seconds
    while True:
        v = fn()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(0.02)


class Berthd:
    def __init__(self, *args, data=None):
        self.dir = data or tempfile.mkdtemp(prefix="d.", dir=TMP)
        # Clients send their login only when challenged.
        self.args = ["--require-auth"] + list(args)
        self.port = free_port()
        self.endpoint = "http://127.0.0.1:%d" % self.port
        self.start()

    def start(self):
        self.log = open(self.dir + ".log", "a")
        self.proc = subprocess.Popen(
            [BERTHD, "--blobd", BLOBD, "--listen",
             "127.0.0.1:%d" % self.port, "--data-dir", self.dir] +
            self.args, stdout=self.log, stderr=subprocess.STDOUT)

        def up():
            try:
                urllib.request.urlopen(self.endpoint + "/_berth/health",
                                       timeout=1)
                return True
            except urllib.error.HTTPError:
                return False
            except Exception:
                return False
        if not wait_until(up):
            raise RuntimeError("berthd did not start")

    def stop(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)
        self.proc.wait(timeout=20)
        self.log.close()

    def blobd_pid(self):
        with urllib.request.urlopen(self.endpoint + "/_berth/health") as r:
            body = json.loads(r.read())
        return body.get("blobd", {}).get("pid") or body.get("blobd_pid")

    def client(self, account=A, region="us-east-1"):
        return boto3.client(
            "ecr", endpoint_url=self.endpoint, region_name=region,
            aws_access_key_id=account, aws_secret_access_key="secret",
            config=Config(retries={"max_attempts": 1}))

    def get(self, path, account=A, region="us-east-1", accept=None):
        tok = self.client(account, region).get_authorization_token()[
            "authorizationData"][0]["authorizationToken"]
        h = {"Authorization": "Basic " + tok}
        if accept:
            h["Accept"] = accept
        req = urllib.request.Request(self.endpoint + path, headers=h)
        with urllib.request.urlopen(req) as r:
            return r.read()

    def password(self, account=A, region="us-east-1"):
        tok = self.client(account, region).get_authorization_token()[
            "authorizationData"][0]["authorizationToken"]
        return base64.b64decode(tok).decode().split(":", 1)[1]


def errmsg(fn, *a, **kw):
    try:
        fn(*a, **kw)
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Message"]
    return ""


# --- images -----------------------------------------------------------------

def tar_layer(name, data):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mtime = 0
        t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def oci_layout(name, nlayers=2, seed=None):
    """An OCI image layout directory with one image of nlayers layers."""
    seed = seed or name
    d = os.path.join(TMP, "layout-" + name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(os.path.join(d, "blobs", "sha256"))

    def put(b):
        h = hashlib.sha256(b).hexdigest()
        with open(os.path.join(d, "blobs", "sha256", h), "wb") as f:
            f.write(b)
        return "sha256:" + h

    layers, diffs = [], []
    for i in range(nlayers):
        t = tar_layer("f%d" % i, ("%s layer %d\n" % (seed, i)).encode())
        layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar",
                       "digest": put(t), "size": len(t)})
        diffs.append(layers[-1]["digest"])
    cfg = json.dumps({"architecture": "amd64", "os": "linux",
                      "rootfs": {"type": "layers", "diff_ids": diffs}},
                     sort_keys=True).encode()
    m = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                    "config": {"mediaType":
                               "application/vnd.oci.image.config.v1+json",
                               "digest": put(cfg), "size": len(cfg)},
                    "layers": layers}).encode()
    md = put(m)
    with open(os.path.join(d, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [
            {"mediaType": OCI_MANIFEST, "digest": md, "size": len(m),
             "annotations": {"org.opencontainers.image.ref.name": "x"}}]}, f)
    with open(os.path.join(d, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    return d, md


def skopeo_push(b, layout, repo, tag, account=A, region="us-east-1"):
    dest = "docker://127.0.0.1:%d/%s:%s" % (b.port, repo, tag)
    r = subprocess.run(
        ["skopeo", "copy", "-q", "--dest-tls-verify=false",
         "--dest-creds", "AWS:" + b.password(account, region),
         "oci:%s:x" % layout, dest], capture_output=True, text=True)
    return r.returncode == 0, r.stderr


def push(b, repo, tag, account=A, region="us-east-1", nlayers=2, seed=None):
    layout, digest = oci_layout("%s-%s-%s" % (repo.replace("/", "_"), tag,
                                              account), nlayers, seed)
    good, why = skopeo_push(b, layout, repo, tag, account, region)
    ok("skopeo push %s:%s" % (repo, tag), good, why)
    # skopeo compresses the layers on the way: the registry has the digest.
    return b.client(account, region).describe_images(
        repositoryName=repo, imageIds=[{"imageTag": tag}])[
        "imageDetails"][0]["imageDigest"]


def statuses(c, repo, digest, kind="replication"):
    if kind == "replication":
        return c.describe_image_replication_status(
            repositoryName=repo, imageId={"imageDigest": digest})[
            "replicationStatuses"]
    return c.describe_image_signing_status(
        repositoryName=repo, imageId={"imageDigest": digest})[
        "signingStatuses"]


def settled(c, repo, digest, kind="replication"):
    """The statuses once none is IN_PROGRESS (polled, bounded)."""
    last = []

    def done():
        nonlocal last
        try:
            last = statuses(c, repo, digest, kind)
        except botocore.exceptions.ClientError as e:
            # While a killed worker restarts berthd answers a retryable
            # ServerException.
            if e.response["Error"]["Code"] != "ServerException":
                raise
            return None
        return last if last and all(
            x["status"] != "IN_PROGRESS" for x in last) else None
    return wait_until(done) or last


def images(c, repo):
    try:
        return {(i.get("imageTag"), i["imageDigest"])
                for i in c.list_images(repositoryName=repo)["imageIds"]}
    except botocore.exceptions.ClientError:
        return None



def blobd_pid(b):
    out = subprocess.run(["pgrep", "-P", str(b.proc.pid)],
                         capture_output=True, text=True).stdout.split()
    # berthd's child is the spawner; the worker is the spawner's child.
    for spawner in out:
        # Its other child is berth-fetchd.
        kids = subprocess.run(["pgrep", "-P", spawner, "-f", "berth-blobd"],
                              capture_output=True, text=True).stdout.split()
        if kids:
            return int(kids[0])
    return None


def oci_put(b, path, data, ctype, account=A, region="us-east-1",
            method="PUT"):
    tok = b.client(account, region).get_authorization_token()[
        "authorizationData"][0]["authorizationToken"]
    r = urllib.request.Request(b.endpoint + path, data=data, method=method,
                               headers={"Authorization": "Basic " + tok,
                                        "Content-Type": ctype})
    with urllib.request.urlopen(r) as resp:
        return resp.status


def oci_image(b, repo, tag, seed):
    """An image pushed by the OCI API (by digest when tag is None);
    (digest, manifest bytes), so that nothing needs to be pulled (a pull's
    time is written later, an append of its own)."""
    layer = tar_layer("f", seed.encode())
    cfg = json.dumps({"architecture": "amd64", "os": "linux",
                      "seed": seed}).encode()
    for blob in (layer, cfg):
        oci_put(b, "/v2/%s/blobs/uploads/?digest=sha256:%s" % (
            repo, hashlib.sha256(blob).hexdigest()), blob,
            "application/octet-stream", method="POST")
    m = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                    "config": {"mediaType":
                               "application/vnd.oci.image.config.v1+json",
                               "digest": "sha256:" +
                               hashlib.sha256(cfg).hexdigest(),
                               "size": len(cfg)},
                    "layers": [{"mediaType":
                                "application/vnd.oci.image.layer.v1.tar",
                                "digest": "sha256:" +
                                hashlib.sha256(layer).hexdigest(),
                                "size": len(layer)}]}).encode()
    d = "sha256:" + hashlib.sha256(m).hexdigest()
    ok("OCI push %s:%s" % (repo, tag or d), oci_put(
        b, "/v2/%s/manifests/%s" % (repo, tag or d), m, OCI_MANIFEST) == 201)
    return d, m


def policy(account, actions, resource="*", effect="Allow", cond=None):
    st = {"Sid": "s", "Effect": effect,
          "Principal": {"AWS": "arn:aws:iam::%s:root" % account},
          "Action": actions, "Resource": resource}
    if cond:
        st["Condition"] = cond
    return json.dumps({"Version": "2012-10-17", "Statement": [st]})


def podman_push(b, repo, account, region, tag="v1", seed=None):
    """Push an image with podman: (success, what failed with its stderr).
    Every step runs to its exit; the push has been acknowledged (the
    manifest PUT answered) when podman exits 0."""
    home = os.path.join(TMP, "podman")
    os.makedirs(home, exist_ok=True)
    env = dict(os.environ)
    conf = os.path.join(home, "storage.conf")
    with open(conf, "w") as f:
        f.write('[storage]\ndriver = "vfs"\nrunroot = "%s/run"\n'
                'graphroot = "%s/root"\n' % (home, home))
    env["CONTAINERS_STORAGE_CONF"] = conf
    env["REGISTRY_AUTH_FILE"] = os.path.join(home, "auth.json")
    with open(env["REGISTRY_AUTH_FILE"], "w") as f:
        f.write("{}")
    layout, _ = oci_layout("podman-%s-%s" % (repo.replace("/", "_"), tag),
                           seed=seed)
    pod = ["podman", "--root", home + "/root", "--runroot", home + "/run"]
    dest = "127.0.0.1:%d/%s:%s" % (b.port, repo, tag)

    def run(cmd):
        r = subprocess.run(cmd, env=env, capture_output=True, text=True)
        return r, "%s exited %d: %s" % (" ".join(cmd[5:7]), r.returncode,
                                         r.stderr.strip())
    r, why = run(pod + ["pull", "-q", "oci:%s:x" % layout])
    if r.returncode != 0:
        return False, why
    image_id = r.stdout.strip().splitlines()[-1]
    for cmd in (pod + ["tag", image_id, dest],
                pod + ["push", "-q", "--tls-verify=false", "--creds",
                       "AWS:" + b.password(account, region), dest]):
        r, why = run(cmd)
        if r.returncode != 0:
            return False, why
    return True, ""
