#!/usr/bin/python3
"""Signature Version 4 on berthd's ECR API, driven by boto3 (Debian's
python3-boto3) and by hand-signed requests: --credentials keys (their
accounts, a tampered or unknown key, unsigned and incomplete requests, a
reload on SIGHUP), the clock skew AWS allows, signatures that keep the real
clock while the test clock moves, and the URI shapes of --uri-style host
and --advertise-host.

The berthd harness is ecr_boto3.py's.  BERTHD and BLOBD name the binaries.
Prints "N passed, N failed" and exits non-zero on any failure.
"""

import datetime
import hashlib
import hmac
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import time
import traceback
import types
import urllib.error
import urllib.parse
import urllib.request

import botocore

sys.dont_write_bytecode = True    # nothing left in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ecr_boto3 import Berthd, err, image_manifest  # noqa: E402
import berth_it  # noqa: E402
from berth_it import TARGET, ok  # noqa: E402


def hand_signed(b, key, secret, when, op="DescribeRepositories",
                body=b"{}", region="us-east-1"):
    """A request signed here, by the SigV4 recipe, at time WHEN: for
    dates the SDK will not produce."""
    amz_date = when.strftime("%Y%m%dT%H%M%SZ")
    date = amz_date[:8]
    headers = {"content-type": "application/x-amz-json-1.1",
               "host": "127.0.0.1:%d" % b.port, "x-amz-date": amz_date,
               "x-amz-target": TARGET + op}
    names = sorted(headers)
    signed = ";".join(names)
    canonical = "\n".join(["POST", "/", "", "".join(
        "%s:%s\n" % (k, headers[k]) for k in names), signed,
        hashlib.sha256(body).hexdigest()])
    scope = "%s/%s/ecr/aws4_request" % (date, region)
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    k = ("AWS4" + secret).encode()
    for part in (date, region, "ecr", "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (
        "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, "
        "Signature=%s" % (key, scope, signed, sig))
    return (amz_date,) + b.raw(op, body, headers)


def test_clock_skew(b):
    """AWS refuses a signature more than 15 minutes off the clock with
    InvalidSignatureException and "Signature expired: <date> is now
    earlier than <now - 15 min> (<now> - 15 min.)"."""
    now = datetime.datetime.now(datetime.timezone.utc)
    stamp = r"(\d{8}T\d{6}Z)"
    parse = lambda t: datetime.datetime.strptime(  # noqa: E731
        t, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
    _, st, h, body = hand_signed(b, "AKIDGOOD", "goodsecret", now)
    ok("hand-signed now", st == 200 and "repositories" in body, (st, body))
    _, st, h, body = hand_signed(b, "AKIDGOOD", "goodsecret",
                                 now - datetime.timedelta(minutes=10))
    ok("hand-signed 10 min ago", st == 200, (st, body))
    _, st, h, body = hand_signed(b, "AKIDGOOD", "badsecret", now)
    ok("hand-signed wrong secret", st == 400 and body.get("__type") ==
       "InvalidSignatureException", (st, body))
    when = now - datetime.timedelta(minutes=20)
    amz, st, h, body = hand_signed(b, "AKIDGOOD", "goodsecret", when)
    ok("expired refused", st == 400 and body.get("__type") ==
       "InvalidSignatureException" and h.get("X-Amzn-ErrorType") ==
       "InvalidSignatureException", (st, h, body))
    m = re.fullmatch(r"Signature expired: %s is now earlier than %s "
                     r"\(%s - 15 min\.\)" % (stamp, stamp, stamp),
                     body.get("message", body.get("Message", "")))
    ok("expired message", m is not None and m.group(1) == amz and
       parse(m.group(3)) - parse(m.group(2)) ==
       datetime.timedelta(minutes=15) and
       abs((parse(m.group(3)) - now).total_seconds()) < 60, body)
    # Through boto3, with its signer's clock 20 minutes behind.
    c = b.client(key="AKIDGOOD", secret="goodsecret")
    real = datetime.datetime

    class Late(real):
        @classmethod
        def utcnow(cls):
            return real.utcnow() - datetime.timedelta(minutes=20)

    shim = types.ModuleType("datetime")
    shim.__dict__.update(datetime.__dict__)
    shim.datetime = Late
    # botocore's signer, or awscrt's when python3-awscrt is installed.
    signers = [m for m in (sys.modules.get("botocore.auth"),
                           sys.modules.get("botocore.crt.auth"))
               if m is not None and getattr(m, "datetime", None) is datetime]
    for m in signers:
        m.datetime = shim
    try:
        try:
            c.describe_repositories()
            ok("boto3 expired refused", False, "accepted")
        except botocore.exceptions.ClientError as e:
            ok("boto3 expired refused", e.response["Error"]["Code"] ==
               "InvalidSignatureException" and e.response["Error"][
                   "Message"].startswith("Signature expired: "),
               e.response["Error"])
    finally:
        for m in signers:
            m.datetime = datetime
    ok("boto3 clock back", err(c.describe_repositories) is None)
    when = now + datetime.timedelta(minutes=20)
    amz, st, h, body = hand_signed(b, "AKIDGOOD", "goodsecret", when)
    m = re.fullmatch(r"Signature not yet current: %s is still later than "
                     r"%s \(%s \+ 15 min\.\)" % (stamp, stamp, stamp),
                     body.get("message", ""))
    ok("future refused", st == 400 and body.get("__type") ==
       "InvalidSignatureException" and m is not None and
       m.group(1) == amz, (st, body))
    test_clock_real(b, c)


def clock(b, body):
    req = urllib.request.Request(
        b.endpoint + "/_berth/clock", data=json.dumps(body).encode(),
        method="POST")
    with urllib.request.urlopen(req) as resp:
        return json.loads(resp.read())


def test_clock_real(b, c):
    """With the test clock two days ahead (/_berth/clock), SigV4's skew
    check and login tokens keep the real clock: clients signing with the
    real time and a token taken before stay accepted, a signature 20
    minutes off the real clock is still refused, and a new token expires
    12 hours after the real now."""
    a = c.get_authorization_token()["authorizationData"][0]
    ok("clock advanced", clock(b, {"advance_seconds": 2 * 86400})[
       "offset_seconds"] == 2 * 86400)
    try:
        now = datetime.datetime.now(datetime.timezone.utc)
        ok("advanced clock: boto3 signs with the real time",
           err(c.describe_repositories) is None)
        _, st, h, body = hand_signed(b, "AKIDGOOD", "goodsecret",
                                     now - datetime.timedelta(minutes=20))
        ok("advanced clock: 20 minutes off the real clock refused",
           st == 400 and body.get("message", "").startswith(
               "Signature expired: "), (st, body))
        _, st, h, body = hand_signed(b, "AKIDGOOD", "goodsecret",
                                     now + datetime.timedelta(days=2))
        ok("advanced clock: signed at the test clock's time refused",
           st == 400 and body.get("message", "").startswith(
               "Signature not yet current: "), (st, body))
        req = urllib.request.Request(b.endpoint + "/v2/", headers={
            "Authorization": "Basic " + a["authorizationToken"]})
        with urllib.request.urlopen(req) as resp:
            ok("advanced clock: a token from before still accepted",
               resp.status == 200)
        n = c.get_authorization_token()["authorizationData"][0]
        ok("advanced clock: a new token expires by the real clock",
           abs(n["expiresAt"].timestamp() - time.time() - 12 * 3600) <
           120, n)
    finally:
        ok("clock reset", clock(b, {"reset": True})["offset_seconds"] ==
           0)


def test_uri_styles():
    """--uri-style host: ECR's account.dkr.ecr.region host names;
    --advertise-host: another host in every URI berthd hands out."""
    b = Berthd("--uri-style", "host")
    try:
        c = b.client()
        r = c.create_repository(repositoryName="team/app")["repository"]
        want = "000000000000.dkr.ecr.us-east-1.localhost:%d/team/app" % b.port
        ok("host style create uri", r["repositoryUri"] == want, r)
        ok("host style describe uri", c.describe_repositories()[
            "repositories"][0]["repositoryUri"] == want)
        west = b.client(key="111111111111", region="eu-west-1")
        r = west.create_repository(repositoryName="xx")["repository"]
        ok("host style account and region", r["repositoryUri"] ==
           "111111111111.dkr.ecr.eu-west-1.localhost:%d/xx" % b.port, r)
        a = c.get_authorization_token()["authorizationData"]
        ok("host style proxy endpoint", [x["proxyEndpoint"] for x in a] ==
           ["http://000000000000.dkr.ecr.us-east-1.localhost:%d" % b.port],
           a)
        a = west.get_authorization_token()["authorizationData"]
        ok("host style proxy endpoint west", a[0]["proxyEndpoint"] ==
           "http://111111111111.dkr.ecr.eu-west-1.localhost:%d" % b.port, a)
        a = c.get_authorization_token(registryIds=["222222222222"])[
            "authorizationData"]
        ok("host style proxy endpoint by registryId", a[0][
            "proxyEndpoint"] == "http://222222222222.dkr.ecr.us-east-1."
           "localhost:%d" % b.port, a)
        # The host name of the URI addresses that registry.
        def tags(host):
            req = urllib.request.Request(b.endpoint + "/v2/xx/tags/list",
                                         headers={"Host": host})
            try:
                with urllib.request.urlopen(req) as resp:
                    return resp.status, json.loads(resp.read())
            except urllib.error.HTTPError as e:
                return e.code, None
        st, body = tags("111111111111.dkr.ecr.eu-west-1.localhost:%d" %
                        b.port)
        ok("host style uri reaches its registry", st == 200 and
           body["name"] == "xx", (st, body))
        st, _ = tags("000000000000.dkr.ecr.us-east-1.localhost:%d" % b.port)
        ok("host style other registry", st == 404, st)
    finally:
        b.stop()
        shutil.rmtree(b.dir, ignore_errors=True)

    host = "registry.example.test"
    b = Berthd("--advertise-host", host)
    try:
        c = b.client()
        r = c.create_repository(repositoryName="team/app")["repository"]
        want = "%s:%d/team/app" % (host, b.port)
        ok("advertised create uri", r["repositoryUri"] == want, r)
        ok("advertised describe uri", c.describe_repositories()[
            "repositories"][0]["repositoryUri"] == want)
        a = c.get_authorization_token()["authorizationData"][0]
        ok("advertised proxy endpoint", a["proxyEndpoint"] ==
           "http://%s:%d" % (host, b.port), a)
        text, _ = image_manifest(c, "team/app", "adv")
        c.put_image(repositoryName="team/app", imageManifest=text,
                    imageTag="v1")
        layer = json.loads(text)["layers"][0]["digest"]
        u = c.get_download_url_for_layer(repositoryName="team/app",
                                         layerDigest=layer)["downloadUrl"]
        ok("advertised download url", urllib.parse.urlsplit(u).netloc ==
           "%s:%d" % (host, b.port), u)
    finally:
        b.stop()
        shutil.rmtree(b.dir, ignore_errors=True)


def test_signatures():
    d = tempfile.mkdtemp(prefix="berth-creds.")
    path = os.path.join(d, "credentials")
    with open(path, "w") as f:
        f.write("# test keys\nAKIDGOOD goodsecret\n"
                "AKIDACCT acctsecret 333333333333\n")
    b = Berthd("--credentials", path)
    try:
        good = b.client(key="AKIDGOOD", secret="goodsecret")
        ok("signed", err(good.describe_repositories) is None)
        acct = b.client(key="AKIDACCT", secret="acctsecret")
        acct.create_repository(repositoryName="acct")
        ok("key's account", acct.describe_repositories()["repositories"][0][
            "registryId"] == "333333333333")
        ok("tampered", err(b.client(key="AKIDGOOD", secret="bad")
                           .describe_repositories) ==
           "InvalidSignatureException")
        ok("unknown key", err(b.client(key="AKIDNOBODY")
                              .describe_repositories) ==
           "UnrecognizedClientException")
        unsigned = b.client(signature_version=botocore.UNSIGNED)
        ok("unsigned", err(unsigned.describe_repositories) ==
           "MissingAuthenticationTokenException")
        st, h, body = b.raw("DescribeRepositories", {}, {
            "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDGOOD"})
        ok("incomplete", body.get("__type") ==
           "IncompleteSignatureException", body)
        with open(path, "a") as f:
            f.write("AKIDNEW newsecret\n")
        b.proc.send_signal(signal.SIGHUP)
        # The reload goes through the spawner: wait for its log line.
        ok("reload logged", b.wait_logged("3 access keys loaded from"))
        ok("reloaded", err(b.client(key="AKIDNEW", secret="newsecret")
                           .describe_repositories) is None)
        test_clock_skew(b)
    finally:
        b.stop()
        shutil.rmtree(b.dir, ignore_errors=True)
        shutil.rmtree(d, ignore_errors=True)


def main():
    for t in (test_signatures, test_uri_styles):
        try:
            t()
        except Exception:
            ok(t.__name__, False, traceback.format_exc())
    berth_it.summary()


if __name__ == "__main__":
    main()
