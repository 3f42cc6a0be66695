#!/usr/bin/python3
"""--lenient-images, driven by boto3 the way suites written against
in-process fakes (moto and the like) drive ECR: manifests whose config and
layers were made-up digests never uploaded, a bare '{"schemaVersion": 2}'
without a media type.  A berthd with --lenient-images accepts them, with
the digests, tags, immutability and errors of AWS for everything else;
what they reference is not pullable until it is pushed.  A berthd without
the flag refuses them as ECR does, and loads those a lenient one kept.
Registry pushes (/v2/) stay strict in both.

BERTHD and BLOBD name the binaries, as for ecr_boto3.py, whose helpers this
uses.  Prints "N passed, N failed" and exits non-zero on any failure.
"""

import hashlib
import json
import os
import shutil
import sys
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ecr_boto3 as t  # noqa: E402

DOCKER_V2 = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
ok, err, sha = t.ok, t.err, t.sha


# --- the style of a suite written against a fake --------------------------

def fake_digest(contents):
    """A digest of something that is never uploaded, as fakes' suites
    make them."""
    return "sha256:" + hashlib.sha256(contents.encode()).hexdigest()


def fake_manifest(name="image"):
    return {
        "schemaVersion": 2,
        "mediaType": DOCKER_V2,
        "config": {"mediaType": "application/vnd.docker.container.image."
                   "v1+json", "size": 7023,
                   "digest": fake_digest(name + " config")},
        "layers": [
            {"mediaType": "application/vnd.docker.image.rootfs.diff.tar."
             "gzip", "size": 32654, "digest": fake_digest(name + " layer1")},
            {"mediaType": "application/vnd.docker.image.rootfs.diff.tar."
             "gzip", "size": 16724, "digest": fake_digest(name + " layer2")},
        ],
    }


def http(b, path, method="GET", body=None, headers=None):
    req = urllib.request.Request(b.endpoint + path, data=body, method=method,
                                 headers=headers or {})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def put_checked(c, what, repo, text, tag):
    """put_image, checked: the digest of the exact bytes, the tag, and
    Docker's image manifest type (the manifest's, or the one assumed)."""
    r = c.put_image(repositoryName=repo, imageManifest=text,
                    imageTag=tag)["image"]
    ok(what, r["imageId"] == {"imageDigest": sha(text.encode()),
                              "imageTag": tag}, r)
    ok(what + ": as a Docker image manifest",
       r["imageManifestMediaType"] == DOCKER_V2, r)
    return r


def test_fake_suite(b, c):
    """What a moto-style suite does, end to end."""
    c.create_repository(repositoryName="test_repository")
    text = json.dumps(fake_manifest())
    r = put_checked(c, "put_image with layers never uploaded",
                    "test_repository", text, "latest")
    images = c.list_images(repositoryName="test_repository")["imageIds"]
    ok("list_images", images == [r["imageId"]], images)
    d = c.describe_images(repositoryName="test_repository")["imageDetails"]
    ok("describe_images: tags, digest, size from the manifest",
       len(d) == 1 and d[0]["imageTags"] == ["latest"] and
       d[0]["imageDigest"] == sha(text.encode()) and
       d[0]["imageSizeInBytes"] > 0, d)
    g = c.batch_get_image(repositoryName="test_repository",
                          imageIds=[{"imageTag": "latest"}])
    ok("batch_get_image returns the exact bytes",
       [i["imageManifest"] for i in g["images"]] == [text], g)

    # Everything else is AWS's.
    ok("the same image and tag again", err(
        c.put_image, repositoryName="test_repository", imageManifest=text,
        imageTag="latest") == "ImageAlreadyExistsException")
    r2 = c.put_image(repositoryName="test_repository", imageManifest=text,
                     imageTag="v1")["image"]
    ok("a second tag on the same image",
       r2["imageId"]["imageDigest"] == r["imageId"]["imageDigest"])
    ok("a digest that is not the manifest's", err(
        c.put_image, repositoryName="test_repository", imageManifest=text,
        imageTag="v2", imageDigest=fake_digest("other")) ==
       "ImageDigestDoesNotMatchException")
    ok("a missing repository", err(
        c.put_image, repositoryName="nope", imageManifest=text) ==
       "RepositoryNotFoundException")
    ok("JSON that is not JSON", err(
        c.put_image, repositoryName="test_repository",
        imageManifest="{nope") == "InvalidParameterException")
    bad = fake_manifest()
    bad["layers"][0]["digest"] = "sha256:1234"
    ok("a malformed digest", err(
        c.put_image, repositoryName="test_repository",
        imageManifest=json.dumps(bad)) == "InvalidParameterException")
    c.create_repository(repositoryName="immutable",
                        imageTagMutability="IMMUTABLE")
    c.put_image(repositoryName="immutable", imageManifest=text,
                imageTag="v1")
    ok("an immutable tag", err(
        c.put_image, repositoryName="immutable",
        imageManifest=json.dumps(fake_manifest("other")), imageTag="v1") ==
       "ImageTagAlreadyExistsException")
    out = c.batch_delete_image(repositoryName="test_repository",
                               imageIds=[{"imageTag": "latest"},
                                         {"imageTag": "v1"}])
    ok("batch_delete_image", out["failures"] == [] and
       c.list_images(repositoryName="test_repository")["imageIds"] == [],
       out)


def test_bare_manifest(b, c):
    """The fakes' own examples: '{"schemaVersion": 2}' and no media type."""
    c.create_repository(repositoryName="my-app")
    bare = '{"schemaVersion":2}'
    put_checked(c, "a bare manifest, typed as fakes assume", "my-app", bare,
                "v1")
    d = c.describe_images(repositoryName="my-app",
                          imageIds=[{"imageTag": "v1"}])["imageDetails"][0]
    ok("described with that type", d["imageManifestMediaType"] == DOCKER_V2,
       d)
    lst = '{"schemaVersion":2,"manifests":[]}'
    r = c.put_image(repositoryName="my-app", imageManifest=lst,
                    imageTag="list")["image"]
    ok("with a manifests array, as a Docker manifest list",
       r["imageManifestMediaType"] == DOCKER_LIST, r)
    oci = '{"schemaVersion":2,"layers":[]}'
    r = c.put_image(repositoryName="my-app", imageManifest=oci,
                    imageTag="oci", imageManifestMediaType=OCI_MANIFEST)
    ok("imageManifestMediaType still decides when given",
       r["image"]["imageManifestMediaType"] == OCI_MANIFEST, r)
    status, headers, body = http(b, "/v2/my-app/manifests/v1", headers={
        "Accept": DOCKER_V2})
    ok("the registry serves it, byte for byte, with its type",
       status == 200 and body == bare.encode() and
       headers.get("Content-Type") == DOCKER_V2, (status, headers, body))


def test_pull_after_push(b, c):
    """What a manifest references pulls once it is pushed, not before."""
    c.create_repository(repositoryName="later")
    layer = b"the layer, pushed later\n" * 100
    m = fake_manifest("later")
    m["layers"][0]["digest"] = sha(layer)
    m["layers"][0]["size"] = len(layer)
    c.put_image(repositoryName="later", imageManifest=json.dumps(m),
                imageTag="v1")
    status, _, body = http(b, "/v2/later/blobs/" + sha(layer))
    ok("a layer never pushed is not pullable (404 BLOB_UNKNOWN)",
       status == 404 and b"BLOB_UNKNOWN" in body, (status, body))
    avail = c.batch_check_layer_availability(
        repositoryName="later", layerDigests=[sha(layer)])
    ok("nor available", [x["layerAvailability"] for x in avail["layers"]]
       == ["UNAVAILABLE"], avail)
    t.upload_layer(c, "later", layer)
    status, _, body = http(b, "/v2/later/blobs/" + sha(layer))
    ok("pushed, it pulls byte for byte", status == 200 and body == layer,
       status)


def test_registry_stays_strict(b, c):
    """Container tools push blobs first: /v2/ keeps MANIFEST_BLOB_UNKNOWN,
    on which they upload again."""
    c.create_repository(repositoryName="oci")
    status, _, body = http(b, "/v2/oci/manifests/v1", method="PUT",
                           body=json.dumps(fake_manifest("oci")).encode(),
                           headers={"Content-Type": DOCKER_V2})
    ok("a manifest PUT with missing blobs is still 400 MANIFEST_BLOB_UNKNOWN",
       status == 400 and b"MANIFEST_BLOB_UNKNOWN" in body, (status, body))


def test_default_refuses(b, c):
    """Without the flag, as ECR: both refused."""
    c.create_repository(repositoryName="strict")
    ok("layers never uploaded: LayersNotFoundException", err(
        c.put_image, repositoryName="strict",
        imageManifest=json.dumps(fake_manifest()), imageTag="latest") ==
       "LayersNotFoundException")
    ok("a bare manifest: InvalidParameterException", err(
        c.put_image, repositoryName="strict",
        imageManifest='{"schemaVersion":2}', imageTag="v1") ==
       "InvalidParameterException")
    ok("and nothing was stored",
       c.list_images(repositoryName="strict")["imageIds"] == [])


def test_kept_without_flag(b, c):
    """Restarted without the flag on the same data, the images are there
    (the records are the usual ones); new ones are refused again."""
    d = c.describe_images(repositoryName="my-app",
                          imageIds=[{"imageTag": "v1"}])["imageDetails"]
    ok("an image put leniently loads into a strict berthd",
       d[0]["imageDigest"] == sha(b'{"schemaVersion":2}') and
       d[0]["imageManifestMediaType"] == DOCKER_V2, d)
    ok("and the strict berthd refuses the next one", err(
        c.put_image, repositoryName="my-app",
        imageManifest='{"schemaVersion":2,"layers":[]}') ==
       "InvalidParameterException")


def main():
    lenient = t.Berthd("--lenient-images")
    t.run_tests(lenient, (test_fake_suite, test_bare_manifest,
                          test_pull_after_push, test_registry_stays_strict),
                keep=True)
    t.run_tests(t.Berthd("--data-dir", os.path.join(lenient.dir, "data")),
                (test_kept_without_flag,))
    if t.berth_it.failed == 0:
        shutil.rmtree(lenient.dir, ignore_errors=True)
    t.run_tests(t.Berthd(), (test_default_refuses,))
    t.berth_it.summary()


if __name__ == "__main__":
    main()
