#!/usr/bin/env python3
"""Pull time update exclusions driven by boto3 against a real berthd with
--credentials whose keys name their principals: Register-, Deregister-
and ListPullTimeUpdateExclusions with their validation, errors, limit and
pagination, the list surviving a restart, and pulls (BatchGetImage, and
manifest GETs with the password GetAuthorizationToken gave) that move
lastRecordedPullTime or, by an excluded principal, leave it alone.

Uses lifecycle_boto3's harness.  BERTHD and BLOBD name the binaries.
Prints "N passed, N failed", exits non-zero on any failure.
"""

import os
import urllib.request

import lifecycle_boto3 as lb
from lifecycle_boto3 import ok, err, DAY

ACCOUNT = "111122223333"
SCANNER = "arn:aws:iam::%s:role/scanner" % ACCOUNT
DEV = "arn:aws:iam::%s:user/team/dev" % ACCOUNT
# The key with no principal acts as the account's root.
CREDENTIALS = """# test keys
AKIDSCANNER scannersecret %s %s
AKIDDEV devsecret %s
AKIDPLAIN plainsecret %s
AKIDOTHER othersecret 210987654321
""" % (ACCOUNT, SCANNER, DEV, ACCOUNT)


def pulled(c, repo, digest):
    d = c.describe_images(repositoryName=repo,
                          imageIds=[{"imageDigest": digest}])
    return d["imageDetails"][0].get("lastRecordedPullTime")


def registry_get(b, c, repo, digest):
    """GET of the manifest through /v2/ with c's registry password."""
    tok = c.get_authorization_token()["authorizationData"][0]
    req = urllib.request.Request(
        "%s/v2/%s/manifests/%s" % (b.endpoint, repo, digest),
        headers={"Authorization": "Basic " + tok["authorizationToken"],
                 "Accept": "application/vnd.oci.image.manifest.v1+json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return resp.status


def test_operations(b, scanner, dev, plain):
    ok("empty list", dev.list_pull_time_update_exclusions()
       ["pullTimeUpdateExclusions"] == [])
    for bad in ("scanner", "arn:aws:iam::%s:root" % ACCOUNT,
                "arn:aws:iam::1111:role/x", "arn:aws:s3:::bucket",
                "arn:aws:iam::%s:role/%s" % (ACCOUNT, "x" * 200)):
        ok("refused " + bad[:40], err(
            dev.register_pull_time_update_exclusion,
            principalArn=bad) == "ValidationException")
    r = dev.register_pull_time_update_exclusion(principalArn=SCANNER)
    ok("register", r["principalArn"] == SCANNER and "createdAt" in r, r)
    ok("register twice", err(dev.register_pull_time_update_exclusion,
                             principalArn=SCANNER) ==
       "ExclusionAlreadyExistsException")
    ok("deregister unknown", err(dev.deregister_pull_time_update_exclusion,
                                 principalArn=DEV) ==
       "ExclusionNotFoundException")
    ok("listed", plain.list_pull_time_update_exclusions()
       ["pullTimeUpdateExclusions"] == [SCANNER])
    # Another account's registry has its own list.
    other = b.client("AKIDOTHER", "othersecret")
    ok("per registry", other.list_pull_time_update_exclusions()
       ["pullTimeUpdateExclusions"] == [])

    # Up to 100, listed in pages in ARN order.
    arns = [SCANNER] + ["arn:aws:iam::%s:role/bulk-%03d" % (ACCOUNT, i)
                        for i in range(99)]
    for a in arns[1:]:
        dev.register_pull_time_update_exclusion(principalArn=a)
    ok("limit", err(dev.register_pull_time_update_exclusion,
                    principalArn=DEV) == "LimitExceededException")
    first = dev.list_pull_time_update_exclusions(maxResults=7)
    ok("page size", len(first["pullTimeUpdateExclusions"]) == 7 and
       "nextToken" in first, first)
    ok("max results range", err(dev.list_pull_time_update_exclusions,
                                maxResults=1001) == "ValidationException")
    ok("bad token", err(dev.list_pull_time_update_exclusions,
                        nextToken="bm90IG91cnM=") ==
       "InvalidParameterException")
    got = []
    pages = 0
    token = None
    while True:
        kw = {"nextToken": token} if token else {}
        page = dev.list_pull_time_update_exclusions(maxResults=30, **kw)
        got += page["pullTimeUpdateExclusions"]
        pages += 1
        token = page.get("nextToken")
        if not token:
            break
    ok("paginated", got == sorted(arns) and pages == 4, (pages, got[:3]))
    for a in arns[1:]:
        dev.deregister_pull_time_update_exclusion(principalArn=a)
    ok("deregistered", dev.list_pull_time_update_exclusions()
       ["pullTimeUpdateExclusions"] == [SCANNER])


def test_pulls(b, scanner, dev, plain):
    dev.create_repository(repositoryName="pulls")
    digest = lb.Pusher(dev, "pulls").push("one", "v1")
    ident = {"imageDigest": digest}
    ok("never pulled", pulled(dev, "pulls", digest) is None)

    # The excluded scanner pulls: no pull time, by either API.
    scanner.batch_get_image(repositoryName="pulls", imageIds=[ident])
    ok("scanner BatchGetImage", pulled(dev, "pulls", digest) is None)
    ok("scanner GET", registry_get(b, scanner, "pulls", digest) == 200)
    ok("scanner GET leaves it", pulled(dev, "pulls", digest) is None)

    # The developer pulls: it moves.
    dev.batch_get_image(repositoryName="pulls", imageIds=[ident])
    t1 = pulled(dev, "pulls", digest)
    ok("dev BatchGetImage", t1 is not None)
    b.advance(DAY)
    registry_get(b, scanner, "pulls", digest)
    scanner.batch_get_image(repositoryName="pulls", imageIds=[ident])
    ok("scanner a day later", pulled(dev, "pulls", digest) == t1)
    registry_get(b, plain, "pulls", digest)
    t2 = pulled(dev, "pulls", digest)
    ok("root's GET moves it", t2 is not None and
       (t2 - t1).total_seconds() >= DAY, (t1, t2))

    # Kept across a restart; deregistered, the scanner's pulls count.
    b.stop()
    b.start()
    scanner, dev = b.client("AKIDSCANNER", "scannersecret"), \
        b.client("AKIDDEV", "devsecret")
    ok("kept", dev.list_pull_time_update_exclusions()
       ["pullTimeUpdateExclusions"] == [SCANNER])
    b.advance(DAY)
    scanner.batch_get_image(repositoryName="pulls", imageIds=[ident])
    ok("still excluded", pulled(dev, "pulls", digest) == t2)
    r = dev.deregister_pull_time_update_exclusion(principalArn=SCANNER)
    ok("deregister", r["principalArn"] == SCANNER, r)
    scanner.batch_get_image(repositoryName="pulls", imageIds=[ident])
    t3 = pulled(dev, "pulls", digest)
    ok("scanner counts again", t3 is not None and
       (t3 - t2).total_seconds() >= DAY, (t2, t3))


def main():
    b = lb.Berthd()
    creds = os.path.join(b.dir, "credentials")
    with open(creds, "w") as f:
        f.write(CREDENTIALS)
    b.args = ["--credentials", creds]
    b.start()
    lb.run_suite(b, (test_operations, test_pulls), lambda: (
        b.client("AKIDSCANNER", "scannersecret"),
        b.client("AKIDDEV", "devsecret"),
        b.client("AKIDPLAIN", "plainsecret")))

if __name__ == "__main__":
    main()
