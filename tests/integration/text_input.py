#!/usr/bin/python3
"""Text that is not valid UTF-8, and strings with an embedded NUL, in ECR
requests and OCI manifests: refused with the protocol's error, never stored
(so that no client later fails to decode what berthd answers), and never
cut short at the NUL.  What is valid (multi-byte characters) goes through
unchanged.
"""

import json
import os
import sys

sys.dont_write_bytecode = True    # nothing left in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "pylib"))
from berth_it import MT_OCI_MANIFEST, ok, run, sha256  # noqa: E402

ARN = "arn:aws:ecr:us-east-1:000000000000:repository/text/app"
# Byte sequences RFC 3629 forbids: a stray byte, a truncated sequence, an
# overlong NUL, a surrogate, a code point past U+10FFFF.
BAD_UTF8 = [b"k\xff", b"k\xc3", b"\xc0\x80", b"\xed\xa0\x80",
            b"\xf4\x90\x80\x80"]


def exc(r):
    try:
        return r.json().get("__type")
    except ValueError:
        return "<not JSON: %r>" % r.body[:80]


def decodes(r):
    try:
        r.body.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def tags_now(b):
    r = b.ecr("ListTagsForResource", {"resourceArn": ARN})
    return r.status, decodes(r), r.json().get("tags") if decodes(r) else None


def test_tags(b):
    ok("a repository", b.ecr("CreateRepository",
       {"repositoryName": "text/app"}).status == 200)
    for bad in BAD_UTF8:
        body = (b'{"resourceArn":"' + ARN.encode() + b'","tags":[{"Key":"' +
                bad + b'","Value":"v"}]}')
        r = b.ecr("TagResource", body)
        ok("tag key %r: SerializationException" % bad, r.status == 400 and
           exc(r) == "SerializationException", (r.status, r.body))
        body = (b'{"resourceArn":"' + ARN.encode() + b'","tags":[{"Key":"k",'
                b'"Value":"' + bad + b'"}]}')
        r = b.ecr("TagResource", body)
        ok("tag value %r: SerializationException" % bad, r.status == 400 and
           exc(r) == "SerializationException", (r.status, r.body))
    r = b.ecr("TagResource", b'{"resourceArn":"' + ARN.encode() +
              b'","tags":[{"Key":"k\\u0000z","Value":"v"}]}')
    ok("tag key with a NUL: InvalidTagParameterException", r.status == 400 and
       exc(r) == "InvalidTagParameterException", r.body)
    r = b.ecr("TagResource", b'{"resourceArn":"' + ARN.encode() +
              b'","tags":[{"Key":"k","Value":"a\\u0000b"}]}')
    ok("tag value with a NUL: InvalidTagParameterException",
       r.status == 400 and exc(r) == "InvalidTagParameterException", r.body)
    st, good, tags = tags_now(b)
    ok("nothing of those was stored, and the answer decodes",
       st == 200 and good and tags == [], (st, tags))
    # Multi-byte characters are letters for AWS's tag rules.
    r = b.ecr("TagResource", {"resourceArn": ARN, "tags": [
        {"Key": "équipe", "Value": "café ☕"}]})
    ok("a key and a value in UTF-8 are stored", r.status == 200, r.body)
    st, good, tags = tags_now(b)
    ok("and come back unchanged", tags == [{"Key": "équipe",
       "Value": "café ☕"}], tags)
    c = b.client()
    ok("boto3 lists them", c.list_tags_for_resource(resourceArn=ARN)[
       "tags"] == [{"Key": "équipe", "Value": "café ☕"}])
    r = b.ecr("UntagResource", b'{"resourceArn":"' + ARN.encode() +
              b'","tagKeys":["\\u00e9quipe\\u0000x"]}')
    ok("untag a key with a NUL: InvalidTagParameterException",
       exc(r) == "InvalidTagParameterException", r.body)
    ok("and the tag without it is still there", tags_now(b)[2] ==
       [{"Key": "équipe", "Value": "café ☕"}])


def test_nul_is_not_a_terminator(b):
    r = b.ecr("CreateRepository", b'{"repositoryName":"text/cut\\u0000x"}')
    ok("a repository name with a NUL: InvalidParameterException",
       r.status == 400 and exc(r) == "InvalidParameterException", r.body)
    r = b.ecr("DescribeRepositories", {"repositoryNames": ["text/cut"]})
    ok("and the name before the NUL was not created",
       exc(r) == "RepositoryNotFoundException", r.body)
    r = b.ecr("CreateRepository", b'{"repositoryName\\u0000x":"text/key"}')
    ok("a member name with a NUL: SerializationException",
       exc(r) == "SerializationException", r.body)
    r = b.ecr("DescribeRepositories", {"repositoryNames": ["text/key"]})
    ok("and it was not read as repositoryName",
       exc(r) == "RepositoryNotFoundException", r.body)
    m, put = b.push_image("text/app", "base", b"layer " * 100)
    ok("an image pushed through /v2/", put.status == 201, put.status)
    text = m.decode()
    for name, body in [
            ("imageTag", {"repositoryName": "text/app", "imageManifest": text,
                          "imageTag": "v1\u0000x"}),
            ("imageManifestMediaType", {
                "repositoryName": "text/app", "imageManifest": text,
                "imageManifestMediaType": MT_OCI_MANIFEST + "\u0000x"}),
            ("imageDigest", {"repositoryName": "text/app",
                             "imageManifest": text,
                             "imageDigest": sha256(m) + "\u0000x"})]:
        r = b.ecr("PutImage", body)
        ok("PutImage %s with a NUL: InvalidParameterException" % name,
           r.status == 400 and exc(r) == "InvalidParameterException", r.body)
    r = b.ecr("DescribeImages", {"repositoryName": "text/app", "imageIds": [
        {"imageTag": "v1"}]})
    ok("no tag v1 came of it", exc(r) == "ImageNotFoundException", r.body)
    r = b.ecr("PutImage", {"repositoryName": "text/app",
                           "imageManifest": text + "\u0000 trailing",
                           "imageTag": "cut"})
    ok("a manifest with a NUL after its JSON is not stored cut short",
       r.status == 400 and exc(r) == "InvalidParameterException", r.body)
    r = b.ecr("BatchGetImage", {"repositoryName": "text/app", "imageIds": [
        {"imageTag": "cut"}]})
    ok("no image was tagged 'cut'", r.status == 200 and
       r.json()["failures"][0]["failureCode"] == "ImageNotFound", r.body)
    r = b.ecr("BatchCheckLayerAvailability", {
        "repositoryName": "text/app",
        "layerDigests": [sha256(b"layer " * 100) + "\u0000x"]})
    ok("a layer digest with a NUL is not the layer: InvalidParameterException",
       r.status == 400 and exc(r) == "InvalidParameterException", r.body)


def test_newer_operations(b):
    """The operations of the pull-through cache, creation templates,
    lifecycle previews and pull time exclusions are validated alike."""
    r = b.ecr("CreateRepository", {"repositoryName": "text/newer"})
    ok("a repository for them", r.status == 200, r.body)
    for op, body in [
            ("CreatePullThroughCacheRule", {
                "ecrRepositoryPrefix": "hub",
                "upstreamRegistryUrl": "registry-1.docker.io\u0000x"}),
            ("CreateRepositoryCreationTemplate", {
                "prefix": "text", "appliedFor": ["CREATE_ON_PUSH"],
                "description": "cut\u0000x"}),
            ("StartLifecyclePolicyPreview", {
                "repositoryName": "text/newer",
                "lifecyclePolicyText": '{"rules":[]}\u0000x'}),
            ("RegisterPullTimeUpdateExclusion", {
                "principalArn": "arn:aws:iam::123456789012:role/a\u0000b"})]:
        r = b.ecr(op, body)
        ok("%s with a NUL in a string is refused (400)" % op,
           r.status == 400 and exc(r) in (
               "InvalidParameterException", "ValidationException"),
           (r.status, r.body))
    r = b.ecr("DescribeRepositoryCreationTemplates", {"prefixes": ["text"]})
    ok("and no template came of it", r.status == 200 and
       r.json()["repositoryCreationTemplates"] == [], r.body)


def test_messages_are_utf8(b):
    r = b.request("POST", "/", b"{}", {
        "X-Amz-Target": "AmazonEC2ContainerRegistry_V20150921."
                        "DescribeRepositories",
        "Content-Type": "application/\xff\xfe"})
    ok("an error that quotes a header with bytes >= 0x80 decodes as UTF-8",
       r.status == 400 and decodes(r), r.body)
    r = b.request("GET", "/v2/text/app/manifests/%C3%28")
    ok("an OCI error that quotes the path decodes as UTF-8", decodes(r) and
       r.status in (400, 404), (r.status, r.body))


def test_manifests(b):
    base, _ = b.push_image("text/oci", "ok", b"oci layer")
    doc = json.loads(base)

    def put(tag, body):
        return b.request("PUT", "/v2/text/oci/manifests/" + tag, body,
                         {"Content-Type": MT_OCI_MANIFEST})
    for bad in BAD_UTF8:
        body = base[:-1] + b',"annotations":{"a":"' + bad + b'"}}'
        r = put("bad", body)
        ok("manifest with %r: 400 MANIFEST_INVALID" % bad, r.status == 400
           and r.json()["errors"][0]["code"] == "MANIFEST_INVALID", r.body)
    d = dict(doc)
    d["mediaType"] = MT_OCI_MANIFEST + "\u0000x"
    r = put("nul", json.dumps(d).encode())
    ok("a mediaType with a NUL is not the type it starts with (400)",
       r.status == 400, (r.status, r.body))
    d = dict(doc)
    d["annotations"] = {"k\u0000": "v"}
    r = put("nulkey", json.dumps(d).encode())
    ok("an annotation key with a NUL: 400", r.status == 400, r.status)
    ok("no tag was made of them", b.request(
       "GET", "/v2/text/oci/manifests/nul").status == 404)
    d = dict(doc)
    d["annotations"] = {"org.opencontainers.image.title": "Größe 😀"}
    body = json.dumps(d, ensure_ascii=False).encode()
    r = put("utf8", body)
    ok("a manifest with UTF-8 annotations is stored (201)", r.status == 201,
       r.body)
    r = b.request("GET", "/v2/text/oci/manifests/utf8",
                  headers={"Accept": MT_OCI_MANIFEST})
    ok("and comes back byte for byte", r.body == body)
    r = b.ecr("BatchGetImage", {"repositoryName": "text/oci",
                                "imageIds": [{"imageTag": "utf8"}]})
    ok("and through BatchGetImage", decodes(r) and
       r.json()["images"][0]["imageManifest"].encode() == body)


if __name__ == "__main__":
    run([test_tags, test_nul_is_not_a_terminator, test_newer_operations,
         test_messages_are_utf8, test_manifests], "--create-on-push")
