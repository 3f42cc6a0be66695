#!/usr/bin/python3
"""The ECR API driven by boto3 (Debian's python3-boto3) against a real
berthd started from the build tree: success shapes, every error case of
issue 4 by exception name, paginators and the default page size, account
and region isolation.  Signature verification, clock skew and the URI
shapes are ecr_auth.py's, which starts its berthd with this script's
helpers.

BERTHD and BLOBD name the binaries (default: build/daemon/berthd and
build/blobd/berth-blobd under the top of the tree).  Prints
"N passed, N failed" and exits non-zero on any failure.
"""

import base64
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request

import boto3
import botocore
import botocore.auth
from botocore.config import Config

sys.dont_write_bytecode = True    # nothing left in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "pylib"))
import berth_it  # noqa: E402
from berth_it import (  # noqa: E402
    BERTHD, BLOBD, TARGET, err, free_port, ok)


class Berthd:
    def __init__(self, *args):
        self.dir = tempfile.mkdtemp(prefix="berth-boto3.")
        self.port = free_port()
        self.endpoint = "http://127.0.0.1:%d" % self.port
        self.log = open(os.path.join(self.dir, "berthd.log"), "w")
        self.proc = subprocess.Popen(
            [BERTHD, "--blobd", BLOBD, "--listen",
             "127.0.0.1:%d" % self.port, "--data-dir",
             os.path.join(self.dir, "data")] + list(args),
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.endpoint + "/v2/", timeout=5)
                return
            except urllib.error.HTTPError:
                return
            except Exception:
                time.sleep(0.05)
        raise RuntimeError("berthd did not start")

    def wait_logged(self, text, seconds=30):
        """Waits until berthd's log has a line containing text."""
        path = os.path.join(self.dir, "berthd.log")
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with open(path, errors="replace") as f:
                if any(text in line for line in f):
                    return True
            time.sleep(0.05)
        return False

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=20)
        self.log.close()

    def client(self, key="AKIDEXAMPLE", secret="secret", region="us-east-1",
               **kw):
        return boto3.client(
            "ecr", endpoint_url=self.endpoint, region_name=region,
            aws_access_key_id=key, aws_secret_access_key=secret,
            config=Config(retries={"max_attempts": 1}, **kw))

    def raw(self, op, body, headers=None):
        """An unsigned request: for members Debian's botocore predates."""
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        h = {"X-Amz-Target": TARGET + op,
             "Content-Type": "application/x-amz-json-1.1"}
        h.update(headers or {})
        req = urllib.request.Request(self.endpoint + "/", data=data,
                                     headers=h, method="POST")
        try:
            with urllib.request.urlopen(req) as resp:
                return resp.status, dict(resp.headers), json.loads(
                    resp.read())
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), json.loads(e.read() or b"{}")


def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


# ECR takes parts of at most 10 MiB, each but the last at least 5 MiB.
MIN_PART = 5 * 1024 * 1024


def upload_layer(c, repo, data, parts=1):
    up = c.initiate_layer_upload(repositoryName=repo)
    step = max(MIN_PART, (len(data) + parts - 1) // parts)
    for off in range(0, len(data), step):
        chunk = data[off:off + step]
        c.upload_layer_part(repositoryName=repo, uploadId=up["uploadId"],
                            partFirstByte=off,
                            partLastByte=off + len(chunk) - 1,
                            layerPartBlob=chunk)
    c.complete_layer_upload(repositoryName=repo, uploadId=up["uploadId"],
                            layerDigests=[sha(data)])
    return sha(data)


def image_manifest(c, repo, name, media_type=True):
    cfg = json.dumps({"architecture": "amd64", "os": "linux",
                      "config": {"Labels": {"n": name}},
                      "rootfs": {"type": "layers", "diff_ids": []}}).encode()
    layer = ("layer of %s\n" % name).encode() * 50
    cd = upload_layer(c, repo, cfg)
    ld = upload_layer(c, repo, layer, parts=3)
    m = {"schemaVersion": 2}
    if media_type:
        m["mediaType"] = "application/vnd.oci.image.manifest.v1+json"
    m["config"] = {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": cd, "size": len(cfg)}
    m["layers"] = [{"mediaType":
                    "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": ld, "size": len(layer)}]
    return json.dumps(m, indent=1) + "\n", len(layer)


def test_repositories(b, c):
    r = c.create_repository(repositoryName="team/app",
                            imageScanningConfiguration={"scanOnPush": True},
                            tags=[{"Key": "env", "Value": "dev"}])["repository"]
    ok("create arn", r["repositoryArn"] ==
       "arn:aws:ecr:us-east-1:000000000000:repository/team/app", r)
    ok("create registryId", r["registryId"] == "000000000000")
    ok("create uri", r["repositoryUri"] == "127.0.0.1:%d/team/app" % b.port,
       r["repositoryUri"])
    ok("create createdAt", abs(r["createdAt"].timestamp() - time.time()) < 60)
    ok("create mutability", r["imageTagMutability"] == "MUTABLE")
    ok("create scanning", r["imageScanningConfiguration"] ==
       {"scanOnPush": True})
    ok("create encryption", r["encryptionConfiguration"] ==
       {"encryptionType": "AES256"})
    ok("create exists", err(c.create_repository, repositoryName="team/app")
       == "RepositoryAlreadyExistsException")
    for bad in ["Team", "a//b", "-ab", "ab/", "a" * 257]:
        ok("create invalid " + bad[:10], err(c.create_repository,
           repositoryName=bad) == "InvalidParameterException")
    r = c.create_repository(repositoryName="kms",
                            encryptionConfiguration={
                                "encryptionType": "KMS",
                                "kmsKey": "arn:aws:kms:us-east-1:000000000000:"
                                          "key/abc"})["repository"]
    ok("create kms", r["encryptionConfiguration"]["encryptionType"] == "KMS"
       and r["encryptionConfiguration"]["kmsKey"].endswith("key/abc"))
    ok("create kms with AES256", err(
        c.create_repository, repositoryName="kms2",
        encryptionConfiguration={"encryptionType": "AES256",
                                 "kmsKey": "k"}) ==
       "InvalidParameterException")
    # Exclusion filters are newer than Debian's botocore: raw requests.
    st, h, body = b.raw("CreateRepository", {
        "repositoryName": "excl",
        "imageTagMutability": "IMMUTABLE_WITH_EXCLUSION",
        "imageTagMutabilityExclusionFilters": [
            {"filterType": "WILDCARD", "filter": "latest"},
            {"filterType": "WILDCARD", "filter": "dev-*"}]})
    ok("create with exclusion", st == 200 and body["repository"][
        "imageTagMutabilityExclusionFilters"][1]["filter"] == "dev-*", body)
    ok("request id", len(h.get("x-amzn-RequestId", "")) == 36, h)
    st, h, body = b.raw("CreateRepository", {
        "repositoryName": "excl2", "imageTagMutability": "IMMUTABLE",
        "imageTagMutabilityExclusionFilters": [
            {"filterType": "WILDCARD", "filter": "x"}]})
    ok("filters need an exclusion mode", st == 400 and
       body["__type"] == "InvalidParameterException", body)
    st, h, body = b.raw("CreateRepository", {
        "repositoryName": "excl3",
        "imageTagMutability": "MUTABLE_WITH_EXCLUSION"})
    ok("exclusion mode needs filters", st == 400 and
       h.get("X-Amzn-ErrorType") == "InvalidParameterException", body)

    d = c.describe_repositories(repositoryNames=["team/app"])
    ok("describe by name", [x["repositoryName"] for x in
                            d["repositories"]] == ["team/app"])
    ok("describe missing", err(c.describe_repositories,
       repositoryNames=["team/app", "nope"]) == "RepositoryNotFoundException")
    for i in range(25):
        c.create_repository(repositoryName="page/r%02d" % i)
    d = c.describe_repositories(maxResults=10)
    ok("describe page", len(d["repositories"]) == 10 and "nextToken" in d)
    names = []
    for page in c.get_paginator("describe_repositories").paginate(
            PaginationConfig={"PageSize": 7}):
        names += [x["repositoryName"] for x in page["repositories"]]
    ok("describe paginator", len(names) == 28 and names == sorted(names),
       names)
    all_default = c.describe_repositories()
    ok("describe default page", len(all_default["repositories"]) == 28 and
       "nextToken" not in all_default)
    tok = d["nextToken"]
    ok("token opaque", "page" not in tok and "r09" not in tok)
    bad = base64.b64encode(b"page/r05" + b"\0" * 16).decode()
    ok("token forged", err(c.describe_repositories, nextToken=bad) ==
       "InvalidParameterException")
    ok("token tampered", err(c.describe_repositories, nextToken=tok[:-4] +
       "AAA=") == "InvalidParameterException")
    ok("token from another op", err(c.list_images, repositoryName="team/app",
       nextToken=tok) == "InvalidParameterException")
    ok("maxResults over 1000", err(c.describe_repositories,
       maxResults=1001) == "InvalidParameterException")
    try:
        c.describe_repositories(maxResults=1001)
    except botocore.exceptions.ClientError as e:
        ok("maxResults message", "Member must have value less than or "
           "equal to 1000" in e.response["Error"]["Message"],
           e.response["Error"]["Message"])

    m = c.put_image_tag_mutability(repositoryName="team/app",
                                   imageTagMutability="IMMUTABLE")
    ok("put mutability", m["imageTagMutability"] == "IMMUTABLE" and
       m["repositoryName"] == "team/app" and
       m["registryId"] == "000000000000", m)
    c.put_image_tag_mutability(repositoryName="team/app",
                               imageTagMutability="MUTABLE")
    ok("put mutability missing", err(c.put_image_tag_mutability,
       repositoryName="nope", imageTagMutability="MUTABLE") ==
       "RepositoryNotFoundException")
    s = c.put_image_scanning_configuration(
        repositoryName="team/app",
        imageScanningConfiguration={"scanOnPush": False})
    ok("put scanning", s["imageScanningConfiguration"] ==
       {"scanOnPush": False} and s["repositoryName"] == "team/app", s)
    ok("registry", c.describe_registry() in [] or
       c.describe_registry()["registryId"] == "000000000000")


def test_layers(b, c):
    c.create_repository(repositoryName="layers")
    up = c.initiate_layer_upload(repositoryName="layers")
    ok("initiate", up["partSize"] == 10485760 and len(up["uploadId"]) == 36,
       up)
    data = os.urandom(MIN_PART + 40000)
    p = c.upload_layer_part(repositoryName="layers", uploadId=up["uploadId"],
                            partFirstByte=0, partLastByte=MIN_PART - 1,
                            layerPartBlob=data[:MIN_PART])
    ok("part", p["lastByteReceived"] == MIN_PART - 1 and
       p["uploadId"] == up["uploadId"] and p["registryId"] ==
       "000000000000", p)
    try:
        c.upload_layer_part(repositoryName="layers", uploadId=up["uploadId"],
                            partFirstByte=50000, partLastByte=89999,
                            layerPartBlob=data[50000:90000])
        ok("part not contiguous", False)
    except botocore.exceptions.ClientError as e:
        ok("part not contiguous", e.response["Error"]["Code"] ==
           "InvalidLayerPartException", e.response)
    st, _, body = b.raw("UploadLayerPart", {
        "repositoryName": "layers", "uploadId": up["uploadId"],
        "partFirstByte": 10, "partLastByte": 10,
        "layerPartBlob": base64.b64encode(b"x").decode()})
    ok("part exception members", st == 400 and
       body.get("lastValidByteReceived") == MIN_PART - 1 and
       body.get("uploadId") == up["uploadId"] and
       body.get("repositoryName") == "layers" and
       body.get("registryId") == "000000000000", body)
    ok("part range mismatch", err(
        c.upload_layer_part, repositoryName="layers",
        uploadId=up["uploadId"], partFirstByte=MIN_PART,
        partLastByte=MIN_PART + 9,
        layerPartBlob=b"x") == "InvalidLayerPartException")
    c.upload_layer_part(repositoryName="layers", uploadId=up["uploadId"],
                        partFirstByte=MIN_PART, partLastByte=len(data) - 1,
                        layerPartBlob=data[MIN_PART:])
    ok("complete wrong digest", err(
        c.complete_layer_upload, repositoryName="layers",
        uploadId=up["uploadId"], layerDigests=[sha(b"other")]) ==
       "InvalidLayerException")
    done = c.complete_layer_upload(repositoryName="layers",
                                   uploadId=up["uploadId"],
                                   layerDigests=[sha(data)])
    ok("complete", done["layerDigest"] == sha(data) and
       done["uploadId"] == up["uploadId"], done)
    ok("complete again", err(
        c.complete_layer_upload, repositoryName="layers",
        uploadId=up["uploadId"], layerDigests=[sha(data)]) in
       ("UploadNotFoundException", "LayerAlreadyExistsException"))
    up2 = c.initiate_layer_upload(repositoryName="layers")
    c.upload_layer_part(repositoryName="layers", uploadId=up2["uploadId"],
                        partFirstByte=0, partLastByte=len(data) - 1,
                        layerPartBlob=data)
    ok("layer exists", err(
        c.complete_layer_upload, repositoryName="layers",
        uploadId=up2["uploadId"], layerDigests=[sha(data)]) ==
       "LayerAlreadyExistsException")
    up3 = c.initiate_layer_upload(repositoryName="layers")
    ok("empty upload", err(
        c.complete_layer_upload, repositoryName="layers",
        uploadId=up3["uploadId"], layerDigests=[sha(b"")]) ==
       "EmptyUploadException")
    ghost = "0f3e4d5c-1a2b-4c3d-8e9f-0a1b2c3d4e5f"
    ok("upload not found (part)", err(
        c.upload_layer_part, repositoryName="layers", uploadId=ghost,
        partFirstByte=0, partLastByte=0, layerPartBlob=b"x") ==
       "UploadNotFoundException")
    ok("upload not found (complete)", err(
        c.complete_layer_upload, repositoryName="layers", uploadId=ghost,
        layerDigests=[sha(b"x")]) == "UploadNotFoundException")
    ok("upload in another repo", err(
        c.upload_layer_part, repositoryName="team/app",
        uploadId=up3["uploadId"], partFirstByte=0, partLastByte=0,
        layerPartBlob=b"x") == "UploadNotFoundException")
    ok("initiate missing repo", err(c.initiate_layer_upload,
       repositoryName="nope") == "RepositoryNotFoundException")
    st, h, body = b.raw("UploadLayerPart", {
        "repositoryName": "layers", "uploadId": up3["uploadId"],
        "partFirstByte": 0, "partLastByte": 2, "layerPartBlob": "!!!!"})
    ok("bad base64", st == 400 and body["__type"] ==
       "InvalidParameterException", body)

    chk = c.batch_check_layer_availability(
        repositoryName="layers",
        layerDigests=[sha(data), sha(b"missing"), "sha256:zz"])
    ok("check available", chk["layers"][0]["layerAvailability"] ==
       "AVAILABLE" and chk["layers"][0]["layerSize"] == len(data), chk)
    ok("check unavailable", chk["layers"][1]["layerAvailability"] ==
       "UNAVAILABLE")
    ok("check invalid", chk["failures"][0]["failureCode"] ==
       "InvalidLayerDigest", chk)
    ok("download unreferenced", err(
        c.get_download_url_for_layer, repositoryName="layers",
        layerDigest=sha(data)) == "LayerInaccessibleException")
    ok("download unknown", err(
        c.get_download_url_for_layer, repositoryName="layers",
        layerDigest=sha(b"missing")) == "LayersNotFoundException")


def test_images(b, c):
    c.create_repository(repositoryName="img")
    text, lsize = image_manifest(c, "img", "one")
    digest = sha(text.encode())
    r = c.put_image(repositoryName="img", imageManifest=text,
                    imageTag="v1")["image"]
    ok("put digest", r["imageId"] == {"imageDigest": digest,
                                      "imageTag": "v1"}, r)
    ok("put manifest", r["imageManifest"] == text)
    ok("put media type", r["imageManifestMediaType"] ==
       "application/vnd.oci.image.manifest.v1+json")
    ok("put again", err(c.put_image, repositoryName="img",
       imageManifest=text, imageTag="v1") == "ImageAlreadyExistsException")
    c.put_image(repositoryName="img", imageManifest=text, imageTag="v1b")
    ok("put digest mismatch", err(
        c.put_image, repositoryName="img", imageManifest=text,
        imageTag="v9", imageDigest=sha(b"other")) ==
       "ImageDigestDoesNotMatchException")
    r = c.put_image(repositoryName="img", imageManifest=text,
                    imageTag="v1c", imageDigest=digest)
    ok("put matching digest", r["image"]["imageId"]["imageDigest"] == digest)
    bogus = json.loads(text)
    bogus["layers"][0]["digest"] = sha(b"not uploaded")
    ok("put missing layer", err(
        c.put_image, repositoryName="img", imageManifest=json.dumps(bogus))
       == "LayersNotFoundException")
    ok("put bad json", err(c.put_image, repositoryName="img",
       imageManifest="{nope") == "InvalidParameterException")
    ok("put missing repo", err(c.put_image, repositoryName="nope",
       imageManifest=text) == "RepositoryNotFoundException")
    bare, _ = image_manifest(c, "img", "bare", media_type=False)
    ok("put without media type", err(
        c.put_image, repositoryName="img", imageManifest=bare) ==
       "InvalidParameterException")
    r = c.put_image(repositoryName="img", imageManifest=bare,
                    imageManifestMediaType="application/vnd.oci.image."
                    "manifest.v1+json")["image"]
    bare_digest = r["imageId"]["imageDigest"]
    ok("put untagged", "imageTag" not in r["imageId"] and
       bare_digest == sha(bare.encode()), r)
    index = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType":
                       "application/vnd.oci.image.manifest.v1+json",
                       "digest": digest, "size": len(text),
                       "platform": {"architecture": "amd64",
                                    "os": "linux"}}]})
    r = c.put_image(repositoryName="img", imageManifest=index,
                    imageTag="multi")["image"]
    ok("put index", r["imageManifestMediaType"] ==
       "application/vnd.oci.image.index.v1+json")
    missing = json.loads(index)
    missing["manifests"][0]["digest"] = sha(b"no such image")
    ok("put index missing child", err(
        c.put_image, repositoryName="img",
        imageManifest=json.dumps(missing)) ==
       "ReferencedImagesNotFoundException")

    # A mutable tag moves; the old image stays, untagged if it was its
    # only tag.
    text2, _ = image_manifest(c, "img", "two")
    c.put_image(repositoryName="img", imageManifest=text2, imageTag="mv")
    text3, _ = image_manifest(c, "img", "three")
    c.put_image(repositoryName="img", imageManifest=text3, imageTag="mv")
    d = c.describe_images(repositoryName="img",
                          imageIds=[{"imageDigest": sha(text2.encode())}])
    ok("moved tag leaves untagged", "imageTags" not in
       d["imageDetails"][0], d)

    # Immutable tags, and exclusion filters as wildcards.
    c.put_image_tag_mutability(repositoryName="img",
                               imageTagMutability="IMMUTABLE")
    ok("immutable", err(c.put_image, repositoryName="img",
       imageManifest=text2, imageTag="mv") ==
       "ImageTagAlreadyExistsException")
    ok("immutable same image", err(c.put_image, repositoryName="img",
       imageManifest=text3, imageTag="mv") == "ImageAlreadyExistsException")
    st, _, body = b.raw("PutImageTagMutability", {
        "repositoryName": "img",
        "imageTagMutability": "IMMUTABLE_WITH_EXCLUSION",
        "imageTagMutabilityExclusionFilters": [
            {"filterType": "WILDCARD", "filter": "m*"}]})
    ok("mutability with exclusion", st == 200 and
       body["imageTagMutabilityExclusionFilters"][0]["filter"] == "m*",
       body)
    ok("excluded tag moves", err(c.put_image, repositoryName="img",
       imageManifest=text2, imageTag="mv") is None)
    ok("other tag immutable", err(c.put_image, repositoryName="img",
       imageManifest=text2, imageTag="v1") ==
       "ImageTagAlreadyExistsException")
    c.put_image_tag_mutability(repositoryName="img",
                               imageTagMutability="MUTABLE")

    # BatchGetImage.
    g = c.batch_get_image(repositoryName="img", imageIds=[
        {"imageTag": "v1"}, {"imageDigest": digest}, {"imageTag": "nope"},
        {}, {"imageDigest": "sha256:zz"},
        {"imageTag": "v1", "imageDigest": bare_digest}])
    ok("get by tag", g["images"][0]["imageId"] ==
       {"imageDigest": digest, "imageTag": "v1"} and
       g["images"][0]["imageManifest"] == text, g["images"][0])
    ok("get by digest", g["images"][1]["imageId"] == {"imageDigest": digest})
    codes = [f["failureCode"] for f in g["failures"]]
    ok("get failures", codes == ["ImageNotFound", "MissingDigestAndTag",
                                 "InvalidImageDigest",
                                 "ImageTagDoesNotMatchDigest"], g["failures"])
    g = c.batch_get_image(repositoryName="img", imageIds=[
        {"imageTag": "multi"}], acceptedMediaTypes=[
        "application/vnd.oci.image.manifest.v1+json"])
    ok("get not accepted", not g["images"] and g["failures"])
    g = c.batch_get_image(repositoryName="img", imageIds=[
        {"imageTag": "multi"}], acceptedMediaTypes=[
        "application/vnd.oci.image.index.v1+json"])
    ok("get accepted", len(g["images"]) == 1)
    ok("get missing repo", err(c.batch_get_image, repositoryName="nope",
       imageIds=[{"imageTag": "x"}]) == "RepositoryNotFoundException")

    # DescribeImages.
    d = c.describe_images(repositoryName="img",
                          imageIds=[{"imageTag": "v1"}])["imageDetails"][0]
    ok("describe digest", d["imageDigest"] == digest)
    ok("describe tags", d["imageTags"] == ["v1", "v1b", "v1c"], d)
    ok("describe size", d["imageSizeInBytes"] == lsize, d)
    ok("describe pushed", abs(d["imagePushedAt"].timestamp() - time.time())
       < 120)
    ok("describe media types", d["imageManifestMediaType"] ==
       "application/vnd.oci.image.manifest.v1+json" and
       d["artifactMediaType"] == "application/vnd.oci.image.config.v1+json",
       d)
    ok("describe pull time", "lastRecordedPullTime" in d)
    ok("describe missing", err(c.describe_images, repositoryName="img",
       imageIds=[{"imageTag": "nope"}]) == "ImageNotFoundException")
    un = c.describe_images(repositoryName="img",
                           filter={"tagStatus": "UNTAGGED"})["imageDetails"]
    ok("describe untagged", un and all("imageTags" not in x for x in un))
    tagged = c.describe_images(repositoryName="img",
                               filter={"tagStatus": "TAGGED"})["imageDetails"]
    ok("describe tagged", tagged and all(x.get("imageTags") for x in tagged))
    allimgs = []
    for page in c.get_paginator("describe_images").paginate(
            repositoryName="img", PaginationConfig={"PageSize": 2}):
        allimgs += page["imageDetails"]
    ok("describe paginator", len(allimgs) == len(un) + len(tagged) and
       len({x["imageDigest"] for x in allimgs}) == len(allimgs))

    # ListImages.
    rows = []
    for page in c.get_paginator("list_images").paginate(
            repositoryName="img", PaginationConfig={"PageSize": 1}):
        rows += page["imageIds"]
    tags = sorted(x["imageTag"] for x in rows if "imageTag" in x)
    ok("list rows per tag", tags == ["multi", "mv", "v1", "v1b", "v1c"],
       rows)
    ok("list untagged rows", len([x for x in rows if "imageTag" not in x])
       == len(un))
    ul = c.list_images(repositoryName="img",
                       filter={"tagStatus": "UNTAGGED"})["imageIds"]
    ok("list untagged", all("imageTag" not in x for x in ul) and
       len(ul) == len(un))
    p1 = c.list_images(repositoryName="img", maxResults=2)
    ok("list page", len(p1["imageIds"]) == 2 and "nextToken" in p1)

    # GetDownloadUrlForLayer: a URL that serves the blob.
    layer = json.loads(text)["layers"][0]["digest"]
    u = c.get_download_url_for_layer(repositoryName="img", layerDigest=layer)
    ok("download url", u["layerDigest"] == layer and
       urllib.parse.urlsplit(u["downloadUrl"]).path ==
       "/v2/img/blobs/" + layer, u)
    with urllib.request.urlopen(u["downloadUrl"]) as resp:
        ok("download serves", sha(resp.read()) == layer)

    # BatchDeleteImage.
    r = c.batch_delete_image(repositoryName="img", imageIds=[
        {"imageTag": "v1b"}, {"imageTag": "nope"}, {},
        {"imageDigest": "sha256:zz"}])
    ok("delete by tag", r["imageIds"] == [{"imageDigest": digest,
                                           "imageTag": "v1b"}], r)
    ok("delete failures", [f["failureCode"] for f in r["failures"]] ==
       ["ImageNotFound", "MissingDigestAndTag", "InvalidImageDigest"], r)
    r = c.batch_delete_image(repositoryName="img",
                             imageIds=[{"imageDigest": digest}])
    ok("delete referenced", r["failures"] and r["failures"][0][
        "failureCode"] == "ImageReferencedByManifestList", r)
    c.batch_delete_image(repositoryName="img",
                         imageIds=[{"imageTag": "multi"}])
    r = c.batch_delete_image(repositoryName="img",
                             imageIds=[{"imageDigest": digest}])
    ok("delete by digest", sorted(x.get("imageTag") for x in r["imageIds"])
       == ["v1", "v1c"], r)
    ok("deleted", err(c.describe_images, repositoryName="img",
       imageIds=[{"imageDigest": digest}]) == "ImageNotFoundException")

    ok("delete not empty", err(c.delete_repository, repositoryName="img")
       == "RepositoryNotEmptyException")
    r = c.delete_repository(repositoryName="img", force=True)
    ok("delete force", r["repository"]["repositoryName"] == "img")
    ok("delete missing", err(c.delete_repository, repositoryName="img") ==
       "RepositoryNotFoundException")
    c.create_repository(repositoryName="empty")
    ok("delete empty", c.delete_repository(repositoryName="empty")[
        "repository"]["repositoryName"] == "empty")


def test_auth(b, c):
    a = c.get_authorization_token()["authorizationData"][0]
    raw = base64.b64decode(a["authorizationToken"]).decode()
    ok("token user", raw.startswith("AWS:"))
    ok("token expiry", abs(a["expiresAt"].timestamp() - time.time() -
                           12 * 3600) < 120, a)
    ok("proxy endpoint", a["proxyEndpoint"] == "http://127.0.0.1:%d" %
       b.port, a)
    req = urllib.request.Request(b.endpoint + "/v2/", headers={
        "Authorization": "Basic " + a["authorizationToken"]})
    with urllib.request.urlopen(req) as resp:
        ok("token accepted", resp.status == 200)
    bad = base64.b64encode(b"AWS:" + raw[4:-2].encode() + b"xx").decode()
    req = urllib.request.Request(b.endpoint + "/v2/", headers={
        "Authorization": "Basic " + bad})
    try:
        urllib.request.urlopen(req)
        ok("wrong token refused", False)
    except urllib.error.HTTPError as e:
        ok("wrong token refused", e.code == 401)
    many = c.get_authorization_token(registryIds=["111111111111",
                                                  "222222222222"])
    ok("token per registry", len(many["authorizationData"]) == 2)
    ok("token registryIds bad", err(c.get_authorization_token,
       registryIds=["12"]) == "InvalidParameterException")


def test_tags_policies(b, c):
    c.create_repository(repositoryName="tagged",
                        tags=[{"Key": "a", "Value": "1"}])
    arn = "arn:aws:ecr:us-east-1:000000000000:repository/tagged"
    ok("tag", c.tag_resource(resourceArn=arn, tags=[
        {"Key": "b", "Value": "2"}, {"Key": "a", "Value": "3"}])[
        "ResponseMetadata"]["HTTPStatusCode"] == 200)
    t = c.list_tags_for_resource(resourceArn=arn)["tags"]
    ok("list tags", t == [{"Key": "a", "Value": "3"},
                          {"Key": "b", "Value": "2"}], t)
    c.untag_resource(resourceArn=arn, tagKeys=["a", "zz"])
    ok("untag", c.list_tags_for_resource(resourceArn=arn)["tags"] ==
       [{"Key": "b", "Value": "2"}])
    ok("too many tags", err(c.tag_resource, resourceArn=arn, tags=[
        {"Key": "k%d" % i, "Value": "v"} for i in range(50)]) ==
       "TooManyTagsException")
    ok("tag key reserved", err(c.tag_resource, resourceArn=arn, tags=[
        {"Key": "aws:x", "Value": "v"}]) == "InvalidTagParameterException")
    ok("tag key long", err(c.tag_resource, resourceArn=arn, tags=[
        {"Key": "k" * 129, "Value": "v"}]) == "InvalidTagParameterException")
    ok("tag value long", err(c.tag_resource, resourceArn=arn, tags=[
        {"Key": "k", "Value": "v" * 257}]) == "InvalidTagParameterException")
    ok("tag bad arn", err(c.tag_resource, resourceArn="arn:nope", tags=[
        {"Key": "k", "Value": "v"}]) == "InvalidParameterException")
    ok("tag missing repo", err(c.list_tags_for_resource,
       resourceArn=arn + "x") == "RepositoryNotFoundException")
    ok("create too many tags", err(c.create_repository, repositoryName="t51",
       tags=[{"Key": "k%d" % i, "Value": "v"} for i in range(51)]) ==
       "TooManyTagsException")

    policy = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "pull", "Effect": "Allow", "Principal": {"AWS": "*"},
        "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]}]})
    ok("policy missing", err(c.get_repository_policy,
       repositoryName="tagged") == "RepositoryPolicyNotFoundException")
    s = c.set_repository_policy(repositoryName="tagged", policyText=policy)
    ok("policy set", s["policyText"] == policy and
       s["repositoryName"] == "tagged" and s["registryId"] ==
       "000000000000", s)
    ok("policy get", c.get_repository_policy(repositoryName="tagged")[
        "policyText"] == policy)
    for bad in ["nope", "{}", json.dumps({"Statement": [{"Effect": "Maybe",
                "Principal": "*", "Action": "ecr:*"}]}),
                json.dumps({"Statement": [{"Effect": "Allow",
                            "Action": "ecr:*"}]}),
                json.dumps({"Statement": [], "Version": "2012-10-17"})]:
        ok("policy invalid " + bad[:20], err(
            c.set_repository_policy, repositoryName="tagged",
            policyText=bad) == "InvalidParameterException")
    ok("policy too long", err(c.set_repository_policy,
       repositoryName="tagged", policyText=" " * 10241) ==
       "InvalidParameterException")
    d = c.delete_repository_policy(repositoryName="tagged")
    ok("policy delete", d["policyText"] == policy)
    ok("policy deleted", err(c.delete_repository_policy,
       repositoryName="tagged") == "RepositoryPolicyNotFoundException")
    ok("policy missing repo", err(c.set_repository_policy,
       repositoryName="nope", policyText=policy) ==
       "RepositoryNotFoundException")


def test_isolation(b, c):
    other = b.client(key="111111111111")
    west = b.client(region="eu-west-1")
    other.create_repository(repositoryName="mine")
    r = other.describe_repositories()["repositories"]
    ok("account sees its own", [x["repositoryName"] for x in r] == ["mine"])
    ok("account arn", r[0]["repositoryArn"] ==
       "arn:aws:ecr:us-east-1:111111111111:repository/mine")
    ok("region isolated", west.describe_repositories()["repositories"] == [])
    ok("default account apart", err(c.describe_repositories,
       repositoryNames=["mine"]) == "RepositoryNotFoundException")
    r = c.describe_repositories(registryId="111111111111",
                                repositoryNames=["mine"])["repositories"]
    ok("registryId addresses", r[0]["registryId"] == "111111111111")
    ok("registryId pattern", err(c.describe_repositories,
       registryId="1234") == "InvalidParameterException")


def test_protocol(b, c):
    # A target the model lacks (one berth lacks is only so until it is
    # written): AWS's UnknownOperationException.
    st, h, body = b.raw("NoSuchOperation", {})
    ok("unknown op", st == 400 and body["__type"] ==
       "UnknownOperationException" and body["message"] ==
       "Unknown operation", body)
    st, h, body = b.raw("listImages", {})
    ok("operation names are case-sensitive", st == 400 and
       body["__type"] == "UnknownOperationException", body)
    st, h, body = b.raw("ListImages", b"{nope")
    ok("bad json", st == 400 and body["__type"] == "SerializationException")
    st, h, body = b.raw("ListImages", {"repositoryName": 7})
    ok("wrong type", st == 400 and body["__type"] == "SerializationException")
    st, h, body = b.raw("DescribeRegistry", b"")
    ok("empty body", st == 200 and "registryId" in body and
       h.get("Content-Type") == "application/x-amz-json-1.1", (st, h, body))
    st, h, body = b.raw("ListImages", {}, {"Content-Type": "text/plain"})
    ok("content type", st == 400)
    st, h, body = b.raw("CreateRepository", b"{" + b" " * (1 << 20) + b"}")
    ok("body too large", st == 413 and body.get("__type"), (st, body))
    st, h, body = b.raw("PutImageScanningConfiguration", {
        "repositoryName": "A"})
    ok("validation exception", st == 400 and body["__type"] ==
       "ValidationException" and body["message"].startswith(
           "3 validation errors detected"), body)
    ok("error header", h.get("X-Amzn-ErrorType") == "ValidationException")


def test_default_page(b, c):
    """DescribeRepositories without maxResults: the model's default page
    of 100 and a nextToken, in a raw call (no paginator)."""
    many = b.client(key="555555555555")
    names = ["many/r%03d" % i for i in range(105)]
    for n in names:
        many.create_repository(repositoryName=n)
    d = many.describe_repositories()
    got = [x["repositoryName"] for x in d["repositories"]]
    ok("default page size", len(got) == 100 and got == names[:100],
       (len(got), got[:3], got[-3:]))
    ok("default page token", "nextToken" in d, d.keys())
    d = many.describe_repositories(nextToken=d.get("nextToken", ""))
    ok("default page rest", [x["repositoryName"] for x in
                             d["repositories"]] == names[100:] and
       "nextToken" not in d, d)


def run_tests(b, tests, keep=False):
    """Runs each test(b, client) against berthd b, then stops it; its
    directory goes, unless a test failed or keep is set."""
    try:
        c = b.client()
        for t in tests:
            try:
                t(b, c)
            except Exception:
                ok(t.__name__, False, traceback.format_exc())
    finally:
        b.stop()
        if berth_it.failed != 0:
            print("berthd log and data kept in", b.dir)
        elif not keep:
            shutil.rmtree(b.dir, ignore_errors=True)


def main():
    run_tests(Berthd(), (test_repositories, test_layers, test_images,
                         test_auth, test_tags_policies, test_isolation,
                         test_protocol, test_default_page))
    berth_it.summary()


if __name__ == "__main__":
    main()
