#!/usr/bin/env python3
"""ListImageReferrers driven by boto3 against a real berthd: artifacts
whose manifests name a subject, pushed through the registry API (/v2/)
as OCI clients push them, listed with their descriptors (media type,
artifactType, size, annotations, status) as the OCI referrers API lists
them, with the status and artifactTypes filters, pagination and the
errors of the API reference.

Uses lifecycle_boto3's harness.  BERTHD and BLOBD name the binaries.
Prints "N passed, N failed", exits non-zero on any failure.
"""

import json
import urllib.request

import lifecycle_boto3 as lb
from lifecycle_boto3 import ok, err, sha

MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_EMPTY = "application/vnd.oci.empty.v1+json"
SBOM = "application/vnd.example.sbom.v1"
SIG = "application/vnd.example.signature.v1"


def v2(b, method, path, data=None, ctype=None):
    req = urllib.request.Request(b.endpoint + "/v2/" + path, data=data,
                                 method=method)
    if ctype:
        req.add_header("Content-Type", ctype)
    with urllib.request.urlopen(req, timeout=30) as resp:
        return resp.status, resp.headers, resp.read()


def push_blob(b, repo, data):
    st, h, _ = v2(b, "POST", "%s/blobs/uploads/" % repo)
    loc = h["Location"]
    sep = "&" if "?" in loc else "?"
    req = urllib.request.Request(loc + sep + "digest=" + sha(data),
                                 data=data, method="PUT")
    req.add_header("Content-Type", "application/octet-stream")
    urllib.request.urlopen(req, timeout=30).read()
    return {"mediaType": "application/octet-stream", "digest": sha(data),
            "size": len(data)}


def push_manifest(b, repo, ref, manifest):
    body = json.dumps(manifest).encode()
    v2(b, "PUT", "%s/manifests/%s" % (repo, ref), body, MT_MANIFEST)
    return sha(body), len(body)


def artifact(b, repo, subject, atype, note):
    """An artifact manifest (empty config, one blob) naming subject."""
    empty = push_blob(b, repo, b"{}")
    empty["mediaType"] = MT_EMPTY
    blob = push_blob(b, repo, ("%s of %s" % (note, subject)).encode())
    m = {"schemaVersion": 2, "mediaType": MT_MANIFEST, "artifactType": atype,
         "config": empty, "layers": [blob],
         "subject": {"mediaType": MT_MANIFEST, "digest": subject[0],
                     "size": subject[1]},
         "annotations": {"org.example.note": note}}
    d, size = push_manifest(b, repo, sha(json.dumps(m).encode()), m)
    return d, size


def test_referrers(b, c):
    c.create_repository(repositoryName="refs")
    cfg = push_blob(b, "refs", b'{"architecture":"amd64","os":"linux"}')
    cfg["mediaType"] = "application/vnd.oci.image.config.v1+json"
    layer = push_blob(b, "refs", b"the app\n")
    app = push_manifest(b, "refs", "v1", {
        "schemaVersion": 2, "mediaType": MT_MANIFEST, "config": cfg,
        "layers": [layer]})
    other = push_manifest(b, "refs", "v2", {
        "schemaVersion": 2, "mediaType": MT_MANIFEST, "config": cfg,
        "layers": [layer], "annotations": {"v": "2"}})
    sboms = [artifact(b, "refs", app, SBOM, "sbom %d" % i) for i in range(3)]
    sig = artifact(b, "refs", app, SIG, "signature")
    artifact(b, "refs", other, SBOM, "sbom of v2")

    subject = {"imageDigest": app[0]}
    got = c.list_image_referrers(repositoryName="refs", subjectId=subject)
    refs = got["referrers"]
    want = sorted([d for d, _ in sboms] + [sig[0]])
    ok("all four", [r["digest"] for r in refs] == want, refs)
    ok("no token", "nextToken" not in got)
    one = [r for r in refs if r["digest"] == sig[0]][0]
    ok("descriptor", one["mediaType"] == MT_MANIFEST and
       one["artifactType"] == SIG and one["size"] == sig[1] and
       one["annotations"] == {"org.example.note": "signature"} and
       one["artifactStatus"] == "ACTIVE", one)

    # The same as the OCI referrers API.
    _, _, body = v2(b, "GET", "refs/referrers/" + app[0])
    oci = json.loads(body)["manifests"]
    ok("as /v2/ lists them", [(m["digest"], m["size"], m["artifactType"])
                              for m in oci] ==
       [(r["digest"], r["size"], r["artifactType"]) for r in refs])

    ok("artifactTypes", [r["digest"] for r in c.list_image_referrers(
        repositoryName="refs", subjectId=subject,
        filter={"artifactTypes": [SIG]})["referrers"]] == [sig[0]])
    ok("two types", len(c.list_image_referrers(
        repositoryName="refs", subjectId=subject, filter={
            "artifactTypes": [SIG, SBOM]})["referrers"]) == 4)
    ok("no such type", c.list_image_referrers(
        repositoryName="refs", subjectId=subject,
        filter={"artifactTypes": ["application/x-none"]})["referrers"] ==
       [])

    # Archived: not listed by default, listed by ARCHIVED and ANY.
    c.update_image_storage_class(repositoryName="refs",
                                 imageId={"imageDigest": sboms[0][0]},
                                 targetStorageClass="ARCHIVE")
    listed = lambda **f: [r["digest"] for r in c.list_image_referrers(
        repositoryName="refs", subjectId=subject,
        **({"filter": f} if f else {}))["referrers"]]
    ok("archived hidden", sboms[0][0] not in listed() and
       len(listed()) == 3)
    ok("archived filter", listed(artifactStatus="ARCHIVED") ==
       [sboms[0][0]])
    ok("any", len(listed(artifactStatus="ANY")) == 4)
    ok("status shown", c.list_image_referrers(
        repositoryName="refs", subjectId=subject,
        filter={"artifactStatus": "ARCHIVED"})["referrers"][0]
       ["artifactStatus"] == "ARCHIVED")

    # Pages of one, by hand and by the paginator-less loop the SDK needs.
    seen, token, pages = [], None, 0
    while True:
        kw = {"nextToken": token} if token else {}
        page = c.list_image_referrers(
            repositoryName="refs", subjectId=subject, maxResults=1,
            filter={"artifactStatus": "ANY"}, **kw)
        seen += [r["digest"] for r in page["referrers"]]
        pages += 1
        token = page.get("nextToken")
        if not token:
            break
    ok("paged", seen == want and pages == 4, (pages, seen))

    ok("unknown subject", c.list_image_referrers(
        repositoryName="refs", subjectId={"imageDigest": sha(b"none")})
       ["referrers"] == [])
    ok("no repository", err(c.list_image_referrers, repositoryName="nope",
                            subjectId=subject) ==
       "RepositoryNotFoundException")
    ok("bad digest", err(c.list_image_referrers, repositoryName="refs",
                         subjectId={"imageDigest": "sha256:12"}) ==
       "InvalidParameterException")
    ok("maxResults", err(c.list_image_referrers, repositoryName="refs",
                         subjectId=subject, maxResults=51) ==
       "ValidationException")
    ok("too many types", err(c.list_image_referrers, repositoryName="refs",
                             subjectId=subject, filter={
                                 "artifactTypes": ["a"] * 6}) ==
       "ValidationException")
    ok("bad status", err(c.list_image_referrers, repositoryName="refs",
                         subjectId=subject, filter={
                             "artifactStatus": "GONE"}) ==
       "ValidationException")
    ok("bad token", err(c.list_image_referrers, repositoryName="refs",
                        subjectId=subject, nextToken="bm90IG91cnM=") ==
       "InvalidParameterException")


def main():
    b = lb.Berthd()
    b.start()
    lb.run_suite(b, (test_referrers,), lambda: (b.client(),))

if __name__ == "__main__":
    main()
