#!/usr/bin/python3
"""ECR's service quotas that a local registry can meet, on both APIs: tags
per image (1,000), images per repository and repositories per registry
(adjustable: --max-images-per-repository, --max-repositories; also for a
repository a creation template or replication makes), the layer
part sizes (at most 10 MiB; at least 5 MiB but for the last) and the layer
size (52,000 MiB).  The ECR API answers LimitExceededException,
InvalidLayerPartException or LayerPartTooSmallException as AWS does; /v2/
answers 403 DENIED with ECR's message, as ECR's registry does, and 413
for a layer that is too large.  A replica that would break the
destination's quotas FAILED with REPOSITORY_LIMIT_EXCEEDED,
IMAGE_LIMIT_EXCEEDED (an index counting the children it brings) or
TAG_LIMIT_EXCEEDED.
"""

import base64
import json
import os
import socket
import sys
import time

sys.dont_write_bytecode = True    # nothing left in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "pylib"))
from berth_it import (MT_OCI_MANIFEST, Berthd, ok, run,  # noqa: E402
                      sha256)

MIB = 1024 * 1024
MAX_IMAGES = 4
MAX_REPOS = 4


def exc(r):
    try:
        return r.json().get("__type")
    except ValueError:
        return None


def message(r):
    try:
        d = r.json()
    except ValueError:
        return ""
    if "errors" in d:
        return d["errors"][0].get("message", "") + " " + str(
            d["errors"][0].get("detail", ""))
    return d.get("message", "")


def oci_code(r):
    try:
        return r.json()["errors"][0]["code"]
    except (ValueError, KeyError, IndexError):
        return None


def put_image(b, repo, manifest, tag):
    return b.ecr("PutImage", {"repositoryName": repo,
                              "imageManifest": manifest.decode(),
                              "imageTag": tag})


def test_tags_per_image(b):
    m, r = b.push_image("q/tags", "t0", b"tagged layer")
    ok("an image with its first tag", r.status == 201, r.status)
    statuses = set()
    for i in range(1, 1000):
        statuses.add(put_image(b, "q/tags", m, "t%d" % i).status)
    ok("999 more tags through PutImage", statuses == {200}, statuses)
    r = b.ecr("DescribeImages", {"repositoryName": "q/tags"})
    ok("the image has 1000 tags", len(r.json()["imageDetails"][0][
       "imageTags"]) == 1000)
    r = put_image(b, "q/tags", m, "t1000")
    ok("ECR: the 1001st tag is LimitExceededException", r.status == 400 and
       exc(r) == "LimitExceededException", r.body)
    ok("ECR: ... naming the limit of 1000", "1000" in message(r), r.body)
    r = b.request("PUT", "/v2/q/tags/manifests/t1000", m,
                  {"Content-Type": MT_OCI_MANIFEST})
    ok("/v2/: the 1001st tag is 403 DENIED", r.status == 403 and
       oci_code(r) == "DENIED", (r.status, r.body))
    ok("/v2/: ... naming the limit of 1000", "1000" in message(r), r.body)
    other, r = b.push_image("q/tags", "elsewhere", b"another layer")
    r = put_image(b, "q/tags", m, "elsewhere")
    ok("moving another image's tag onto it is refused too",
       exc(r) == "LimitExceededException", r.body)
    r = b.request("PUT", "/v2/q/tags/manifests/t5", m,
                  {"Content-Type": MT_OCI_MANIFEST})
    ok("pushing it again under a tag it has is fine (201)",
       r.status == 201, r.status)
    r = b.ecr("BatchDeleteImage", {"repositoryName": "q/tags",
                                   "imageIds": [{"imageTag": "t999"}]})
    ok("a tag is removed", r.status == 200 and len(r.json()["imageIds"]) == 1)
    ok("then a new one fits", put_image(b, "q/tags", m, "t1000").status ==
       200)


def test_images_per_repository(b):
    ms = []
    for i in range(MAX_IMAGES):
        m, r = b.push_image("q/imgs", "v%d" % i, b"image %d" % i)
        ms.append(m)
        ok("image %d of %d" % (i + 1, MAX_IMAGES), r.status == 201, r.status)
    m, r = b.push_image("q/imgs", "over", b"one too many")
    ok("/v2/: one image more is 403 DENIED", r.status == 403 and
       oci_code(r) == "DENIED", (r.status, r.body))
    ok("/v2/: ... with ECR's message", "already has the maximum allowed "
       "number of images which is '%d'" % MAX_IMAGES in message(r), r.body)
    r = put_image(b, "q/imgs", m, "over")
    ok("ECR: one image more is LimitExceededException",
       exc(r) == "LimitExceededException" and "'%d'" % MAX_IMAGES in
       message(r), r.body)
    r = put_image(b, "q/imgs", ms[0], "again")
    ok("a new tag on an image already there is fine", r.status == 200,
       r.body)
    r = b.ecr("BatchDeleteImage", {"repositoryName": "q/imgs", "imageIds": [
        {"imageDigest": sha256(ms[1])}]})
    ok("an image is deleted", r.status == 200)
    ok("then the new one fits", put_image(b, "q/imgs", m, "over").status ==
       200)


def test_repositories(b):
    # q/tags and q/imgs exist already.
    for name in ("q/r3", "q/r4"):
        r = b.ecr("CreateRepository", {"repositoryName": name})
        ok("repository %s" % name, r.status == 200, r.body)
    r = b.ecr("CreateRepository", {"repositoryName": "q/r5"})
    ok("ECR: one repository more is LimitExceededException",
       exc(r) == "LimitExceededException" and str(MAX_REPOS) in message(r),
       r.body)
    m, r = b.push_image("q/r6", "v1", b"create on push")
    ok("/v2/: a push that would create one more is 403 DENIED",
       r.status == 403 and oci_code(r) == "DENIED", (r.status, r.body))
    r = b.ecr("CreateRepositoryCreationTemplate",
              {"prefix": "q", "appliedFor": ["CREATE_ON_PUSH"]})
    ok("a creation template for q/", r.status == 200, r.body)
    m, r = b.push_image("q/r7", "v1", b"create on push by a template")
    ok("/v2/: so is one a creation template would make",
       r.status == 403 and oci_code(r) == "DENIED", (r.status, r.body))
    r = eu(b, "CreateRepository", {"repositoryName": "q/r5"})
    ok("another region counts its own", r.status == 200, r.body)
    r = b.ecr("DeleteRepository", {"repositoryName": "q/r4"})
    ok("a repository is deleted", r.status == 200)
    r = b.ecr("CreateRepository", {"repositoryName": "q/r5"})
    ok("then one more fits", r.status == 200, r.body)


# The default region's registry is full (test_repositories): the layer
# API goes to eu-west-1, named by the credential scope (signatures are not
# checked without --credentials).
EU = {"Authorization": "AWS4-HMAC-SHA256 Credential=AKID/20260101/"
      "eu-west-1/ecr/aws4_request, SignedHeaders=host, Signature=00"}


def eu(b, op, body):
    return b.ecr(op, body, headers=EU)


def part(b, upload, first, data):
    return eu(b, "UploadLayerPart", {
        "repositoryName": "q/layers", "uploadId": upload,
        "partFirstByte": first, "partLastByte": first + len(data) - 1,
        "layerPartBlob": base64.b64encode(data).decode()})


def initiate(b):
    return eu(b, "InitiateLayerUpload", {"repositoryName": "q/layers"}
              ).json()["uploadId"]


def complete(b, upload, digest):
    return eu(b, "CompleteLayerUpload", {"repositoryName": "q/layers",
                                         "uploadId": upload,
                                         "layerDigests": [digest]})


def test_layer_parts(b):
    ok("a repository in eu-west-1", eu(b, "CreateRepository", {
       "repositoryName": "q/layers"}).status == 200)
    up = initiate(b)
    big = os.urandom(10 * MIB + 1)
    r = part(b, up, 0, big)
    ok("a part of 10 MiB + 1 byte is InvalidLayerPartException",
       exc(r) == "InvalidLayerPartException" and "10485760" in message(r),
       r.body)
    data = os.urandom(12 * MIB)
    ok("a part of 10 MiB is taken", part(b, up, 0, data[:10 * MIB])
       .status == 200)
    ok("then one of 1 MiB", part(b, up, 10 * MIB, data[10 * MIB:11 * MIB])
       .status == 200)
    ok("and another of 1 MiB", part(b, up, 11 * MIB, data[11 * MIB:])
       .status == 200)
    r = complete(b, up, sha256(data))
    ok("a 1 MiB part that was not the last: LayerPartTooSmallException",
       r.status == 400 and exc(r) == "LayerPartTooSmallException", r.body)
    up = initiate(b)
    data = os.urandom(5 * MIB + 10)
    part(b, up, 0, data[:5 * MIB])
    part(b, up, 5 * MIB, data[5 * MIB:])
    r = complete(b, up, sha256(data))
    ok("5 MiB, then a last part of 10 bytes: the layer is stored",
       r.status == 200 and r.json()["layerDigest"] == sha256(data), r.body)
    up = initiate(b)
    small = b"a small layer in one part"
    part(b, up, 0, small)
    ok("a small layer in one part is stored",
       complete(b, up, sha256(small)).status == 200)
    up = initiate(b)
    r = part(b, up, 52000 * MIB, b"x" * 16)
    ok("a part past 52,000 MiB is LimitExceededException",
       exc(r) == "LimitExceededException" and "52000" in message(r), r.body)


def raw_headers_only(b, head):
    """Sends a request's headers, no body; the status line's code."""
    s = socket.create_connection(("127.0.0.1", b.port), timeout=30)
    try:
        s.sendall(head.encode())
        line = s.recv(4096).split(b"\r\n", 1)[0]
        return int(line.split()[1])
    finally:
        s.close()


def test_layer_size_oci(b):
    r = b.request("POST", "/v2/q/tags/blobs/uploads/")
    loc = r.header("Location")
    path = loc[loc.index("/v2/"):]
    too_big = 52000 * MIB + 1
    st = raw_headers_only(b, "PATCH %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          "Content-Length: %d\r\nExpect: 100-continue\r\n"
                          "\r\n" % (path, too_big))
    ok("/v2/: a chunk that makes the layer exceed 52,000 MiB is 413", st ==
       413, st)
    st = raw_headers_only(b, "POST /v2/q/tags/blobs/uploads/?digest=%s "
                          "HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d"
                          "\r\nExpect: 100-continue\r\n\r\n" %
                          (sha256(b"x"), too_big))
    ok("/v2/: so is a monolithic upload of more", st == 413, st)


def test_replication(b):
    """A replica is refused a repository beyond the destination's quota:
    its status says so, and berthd goes on."""
    reg = b.ecr("DescribeRegistry", {}).json()["registryId"]
    west = {"Authorization": EU["Authorization"].replace("eu-west-1",
                                                         "us-west-2")}
    for i in range(MAX_REPOS):
        r = b.ecr("CreateRepository", {"repositoryName": "w/%d" % i},
                  headers=west)
        ok("us-west-2 repository %d" % i, r.status == 200, r.body)
    r = b.ecr("PutReplicationConfiguration", {"replicationConfiguration": {
        "rules": [{"destinations": [{"region": "us-west-2",
                                     "registryId": reg}]}]}})
    ok("replication to the full us-west-2", r.status == 200, r.body)
    m, r = b.push_image("q/r5", "replicated", b"replicated layer")
    ok("an image pushed", r.status == 201, (r.status, r.body))
    st = []
    for _ in range(200):
        r = b.ecr("DescribeImageReplicationStatus", {
            "repositoryName": "q/r5", "imageId": {"imageDigest": sha256(m)}})
        st = r.json().get("replicationStatuses", []) if r.status == 200 \
            else []
        if st and st[0]["status"] != "IN_PROGRESS":
            break
        time.sleep(0.05)
    ok("its replication FAILED with REPOSITORY_LIMIT_EXCEEDED",
       [(s["status"], s.get("failureCode")) for s in st] ==
       [("FAILED", "REPOSITORY_LIMIT_EXCEEDED")], st)
    r = b.ecr("DescribeRepositories", {"repositoryNames": ["q/r5"]},
              headers=west)
    ok("and made no repository there",
       exc(r) == "RepositoryNotFoundException", r.body)


MT_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
WEST = {"Authorization": EU["Authorization"].replace("eu-west-1",
                                                     "us-west-2")}


def replication_status(b, repo, manifest):
    """The statuses of the image's replication, once none is
    IN_PROGRESS."""
    st = []
    for _ in range(400):
        r = b.ecr("DescribeImageReplicationStatus", {
            "repositoryName": repo,
            "imageId": {"imageDigest": sha256(manifest)}})
        st = r.json().get("replicationStatuses", []) if r.status == 200 \
            else []
        if st and all(s["status"] != "IN_PROGRESS" for s in st):
            break
        time.sleep(0.05)
    return [(s["status"], s.get("failureCode")) for s in st]


def replicate_west(b, prefix):
    """Replication of the repositories named prefix... to us-west-2."""
    reg = b.ecr("DescribeRegistry", {}).json()["registryId"]
    r = b.ecr("PutReplicationConfiguration", {"replicationConfiguration": {
        "rules": [{"destinations": [{"region": "us-west-2",
                                     "registryId": reg}],
                   "repositoryFilters": [{"filter": prefix,
                                          "filterType": "PREFIX_MATCH"}]}]}})
    ok("replication of %s... to us-west-2" % prefix, r.status == 200, r.body)


def west_images(b, repo):
    r = b.ecr("DescribeImages", {"repositoryName": repo}, headers=WEST)
    return r.json().get("imageDetails", []) if r.status == 200 else []


def test_replica_images_and_tags(b):
    """A replica counts against the destination's quotas as a push would:
    an index with the children it brings, and the tags of the image."""
    b = Berthd("--create-on-push", "--max-images-per-repository", "3")
    try:
        replica_images(b)
        replica_tags(b)
    finally:
        b.cleanup()


def replica_images(b):
    replicate_west(b, "rr")
    for i in range(2):      # two replicas the source then deletes
        m, r = b.push_image("rr", "old%d" % i, b"old %d" % i)
        ok("image %d replicated" % i, replication_status(b, "rr", m) ==
           [("COMPLETE", None)])
        r = b.ecr("BatchDeleteImage", {"repositoryName": "rr", "imageIds": [
            {"imageDigest": sha256(m)}]})
        ok("and deleted in the source", r.status == 200 and
           len(r.json()["imageIds"]) == 1, r.body)
    ok("us-west-2's rr has 2 images", len(west_images(b, "rr")) == 2)
    replicate_west(b, "none")       # the index comes without replication
    children = [b.push_image("rr", "c%d" % i, b"child %d" % i)[0]
                for i in range(2)]
    index = json.dumps({"schemaVersion": 2, "mediaType": MT_OCI_INDEX,
                        "manifests": [{"mediaType": MT_OCI_MANIFEST,
                                       "digest": sha256(c), "size": len(c)}
                                      for c in children]}).encode()
    r = b.request("PUT", "/v2/rr/manifests/x", index,
                  {"Content-Type": MT_OCI_INDEX})
    ok("an index of 2 children pushed (3 images in the source)",
       r.status == 201, (r.status, r.body))
    replicate_west(b, "rr")
    r = put_image(b, "rr", index, "x2")
    ok("the index pushed again under another tag", r.status == 200, r.body)
    ok("its replica (3 images onto 2 of 3) FAILED with "
       "IMAGE_LIMIT_EXCEEDED", replication_status(b, "rr", index) ==
       [("FAILED", "IMAGE_LIMIT_EXCEEDED")])
    ok("and us-west-2's rr still has 2 images",
       len(west_images(b, "rr")) == 2)


def replica_tags(b):
    replicate_west(b, "tt")
    m, r = b.push_image("tt", "t0", b"tagged replica")
    ok("an image replicated", replication_status(b, "tt", m) ==
       [("COMPLETE", None)])
    statuses = set()
    for i in range(1, 1000):
        statuses.add(b.ecr("PutImage", {
            "repositoryName": "tt", "imageManifest": m.decode(),
            "imageTag": "w%d" % i}, headers=WEST).status)
    ok("999 more tags on the replica in us-west-2", statuses == {200},
       statuses)
    r = put_image(b, "tt", m, "t1")
    ok("a new tag in the source", r.status == 200, r.body)
    ok("its replica (1001 tags) FAILED with TAG_LIMIT_EXCEEDED",
       replication_status(b, "tt", m) == [("FAILED", "TAG_LIMIT_EXCEEDED")])
    d = west_images(b, "tt")
    ok("and the replica keeps its 1000 tags", len(d) == 1 and
       len(d[0].get("imageTags", [])) == 1000, len(d))


if __name__ == "__main__":
    run([test_tags_per_image, test_images_per_repository, test_repositories,
         test_layer_parts, test_layer_size_oci, test_replication,
         test_replica_images_and_tags],
        "--create-on-push",
        "--max-images-per-repository", str(MAX_IMAGES), "--max-repositories",
        str(MAX_REPOS))
