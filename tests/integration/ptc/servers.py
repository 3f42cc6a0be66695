#!/usr/bin/env python3
"""Small servers that pullthrough_upstreams.sh puts around Debian's
docker-registry, written for the test:

  token  a Docker/OCI token server: Basic credentials in, a JWT (RS256,
         its certificate in x5c) granting the scope asked for out, as
         docker-registry's "auth: token" verifies them
  front  an HTTPS front of an anonymous docker-registry that wants Basic
         credentials, and that as a control file says redirects blob
         GETs to another host (localhost, a second port), cuts a blob
         half way ("die"), sends half of it and waits, then cuts it
         ("stall") or sends the rest ("hold"), sends it without a
         Content-Length, in chunks ("chunked"), or with its middle byte
         changed ("flip"); and answers a blob HEAD with a Content-Length
         one more than the blob's ("headlen") or another digest
         ("headdigest")
  proxy  an HTTP CONNECT proxy, for HTTPS_PROXY

Each logs one line per request it served to --log, flushed at once, so
that the test reads what reached it.
"""

import argparse
import base64
import http.server
import json
import os
import select
import socket
import socketserver
import ssl
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

LOCK = threading.Lock()


def log(path, line):
    with LOCK, open(path, "a") as f:
        f.write(line + "\n")


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def basic_user(handler, want):
    """The user of a Basic Authorization header matching want
    ("user:password"), else None."""
    h = handler.headers.get("Authorization", "")
    if not h.startswith("Basic "):
        return None
    try:
        got = base64.b64decode(h[6:]).decode()
    except Exception:
        return None
    return got.split(":", 1)[0] if got == want else None


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


def serve(args, handler, port, host="127.0.0.1"):
    srv = Server((host, port), handler)
    if args.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.cert, args.key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.args = args
    return srv


class Quiet(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send_json(self, code, obj, headers=()):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


# --- token ------------------------------------------------------------------

class Token(Quiet):
    def do_GET(self):
        a = self.server.args
        q = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
        scopes = q.get("scope", [])
        user = basic_user(self, a.user)
        if user is None:
            log(a.log, "token refused scope=%s" % ",".join(scopes))
            self.send_json(401, {"errors": [{"code": "UNAUTHORIZED"}]})
            return
        access = []
        for s in scopes:
            kind, name, actions = s.split(":")
            access.append({"type": kind, "name": name,
                           "actions": actions.split(",")})
        self.server.load()
        now = int(time.time())
        claims = {"iss": a.issuer, "sub": user,
                  "aud": q.get("service", [""])[0], "exp": now + 300,
                  "nbf": now - 60, "iat": now, "jti": uuid.uuid4().hex,
                  "access": access}
        header = {"typ": "JWT", "alg": "RS256", "x5c": [self.server.x5c]}
        signing = (b64url(json.dumps(header).encode()) + "." +
                   b64url(json.dumps(claims).encode())).encode()
        sig = self.server.sign(signing)
        jwt = signing.decode() + "." + b64url(sig)
        log(a.log, "token user=%s scope=%s" % (user, ",".join(scopes)))
        self.send_json(200, {"token": jwt, "access_token": jwt,
                             "expires_in": 300})


def run_token(args):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    srv = serve(args, Token, args.port)

    # The key is read for each token, so that a test can rotate it.
    def load():
        key = serialization.load_pem_private_key(
            open(args.sign_key, "rb").read(), password=None)
        cert = x509.load_pem_x509_certificate(
            open(args.sign_cert, "rb").read())
        srv.x5c = base64.b64encode(
            cert.public_bytes(serialization.Encoding.DER)).decode()
        srv.sign = lambda data: key.sign(data, padding.PKCS1v15(),
                                         hashes.SHA256())
    srv.load = load
    load()
    srv.serve_forever()


# --- front ------------------------------------------------------------------

def control(args):
    try:
        return json.load(open(args.control))
    except (OSError, ValueError):
        return {}


def backend(args, method, path, accept=None):
    ctx = ssl.create_default_context(cafile=args.ca)
    req = urllib.request.Request(args.backend + path, method=method)
    if accept:
        req.add_header("Accept", accept)
    try:
        return urllib.request.urlopen(req, context=ctx, timeout=60)
    except urllib.error.HTTPError as e:
        return e


def relay(handler, resp, body=True, cut=None, stall=None, hold=None,
          chunked=False, flip=False, lie=None):
    """Sends resp on; cut: close after half the body; stall: send half,
    then wait until the control file no longer stalls that digest, and
    close; hold: the same, then send the rest; chunked: with
    Transfer-Encoding: chunked; flip: the middle byte changed; lie
    (a HEAD): "headlen" or "headdigest", the length or digest sent
    wrong."""
    data = resp.read()
    length = int(resp.headers.get("Content-Length") or len(data)) \
        if not body else len(data)
    if lie == "headlen":
        length += 1
    if lie == "headdigest":
        del resp.headers["Docker-Content-Digest"]
        resp.headers["Docker-Content-Digest"] = "sha256:" + "0" * 64
    if flip:
        data = data[:len(data) // 2] + bytes([data[len(data) // 2] ^ 0xff]) \
            + data[len(data) // 2 + 1:]
    handler.send_response(resp.status)
    for k in ("Content-Type", "Docker-Content-Digest",
              "Docker-Distribution-Api-Version", "WWW-Authenticate"):
        if resp.headers.get(k):
            handler.send_header(k, resp.headers[k])
    if chunked:
        handler.send_header("Transfer-Encoding", "chunked")
    else:
        handler.send_header("Content-Length", str(length))
    handler.end_headers()
    if not body:
        return

    def send(b):
        for i in range(0, len(b), 65536):
            piece = b[i:i + 65536]
            if chunked:
                handler.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            else:
                handler.wfile.write(piece)

    if cut is None and stall is None and hold is None:
        send(data)
        if chunked:
            handler.wfile.write(b"0\r\n\r\n")
        return
    send(data[:len(data) // 2])
    handler.wfile.flush()
    a = handler.server.args
    if stall is not None or hold is not None:
        log(a.log, "stalled %s" % (stall or hold))
        while (stall or hold) in control(a).get("stall" if stall else
                                                "hold", []):
            time.sleep(0.05)
    if hold is not None:
        send(data[len(data) // 2:])
        if chunked:
            handler.wfile.write(b"0\r\n\r\n")
        log(a.log, "released %s" % hold)
        return
    log(a.log, "cut %s" % (cut or stall))
    handler.close_connection = True
    handler.connection.shutdown(socket.SHUT_RDWR)


class Front(Quiet):
    def handle_any(self, body):
        a = self.server.args
        if basic_user(self, a.user) is None:
            log(a.log, "%s %s 401" % (self.command, self.path))
            self.send_json(401, {"errors": [{"code": "UNAUTHORIZED"}]},
                           [("WWW-Authenticate", 'Basic realm="front"')])
            return
        log(a.log, "%s %s ua=%s" % (self.command, self.path,
                                    self.headers.get("User-Agent", "")))
        parts = self.path.split("/blobs/")
        c = control(a)
        if self.command == "GET" and len(parts) == 2 and \
                parts[1].startswith("sha256:"):
            digest = parts[1]
            name = parts[0][len("/v2/"):]
            if c.get("redirect"):
                self.send_response(307)
                self.send_header("Location", "https://localhost:%d/blob/%s"
                                 "?name=%s" % (a.port2, digest, name))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            resp = backend(a, "GET", self.path)
            def say(k):
                return digest if digest in c.get(k, []) else None
            relay(self, resp, cut=say("die"), stall=say("stall"),
                  hold=say("hold"), chunked=bool(say("chunked")),
                  flip=bool(say("flip")))
            return
        lie = None
        if self.command == "HEAD" and len(parts) == 2:
            lie = next((k for k in ("headlen", "headdigest")
                        if parts[1] in c.get(k, [])), None)
        relay(self, backend(a, self.command, self.path,
                            self.headers.get("Accept")), body, lie=lie)

    def do_GET(self):
        self.handle_any(True)

    def do_HEAD(self):
        self.handle_any(False)


class OtherHost(Quiet):
    """Where the front redirects blob GETs: another host by name."""

    def do_GET(self):
        a = self.server.args
        u = urllib.parse.urlparse(self.path)
        digest = u.path.split("/")[-1]
        name = urllib.parse.parse_qs(u.query)["name"][0]
        log(a.log, "other-host GET %s auth=%s host=%s" % (
            digest, "yes" if "Authorization" in self.headers else "no",
            self.headers.get("Host", "")))
        relay(self, backend(a, "GET", "/v2/%s/blobs/%s" % (name, digest)))


def run_front(args):
    other = serve(args, OtherHost, args.port2)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    serve(args, Front, args.port).serve_forever()


# --- proxy ------------------------------------------------------------------

class Proxy(socketserver.StreamRequestHandler):
    rbufsize = 0    # unbuffered: nothing past the header is read early

    def handle(self):
        line = self.rfile.readline().decode("latin-1").split()
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
            pass
        if len(line) < 2 or line[0] != "CONNECT":
            self.wfile.write(b"HTTP/1.1 405 Method Not Allowed\r\n"
                             b"Content-Length: 0\r\n\r\n")
            return
        log(self.server.args.log, "CONNECT %s" % line[1])
        host, port = line[1].rsplit(":", 1)
        try:
            up = socket.create_connection((host, int(port)), timeout=60)
        except OSError:
            self.wfile.write(b"HTTP/1.1 502 Bad Gateway\r\n"
                             b"Content-Length: 0\r\n\r\n")
            return
        self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        self.wfile.flush()
        socks = [self.connection, up]
        while True:
            r, _, _ = select.select(socks, [], [], 60)
            if not r:
                break
            for s in r:
                data = s.recv(65536)
                if not data:
                    up.close()
                    return
                (up if s is self.connection else self.connection).sendall(
                    data)


class ProxyServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def run_proxy(args):
    srv = ProxyServer(("127.0.0.1", args.port), Proxy)
    srv.args = args
    srv.serve_forever()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("kind", choices=("token", "front", "proxy"))
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--port2", type=int)
    p.add_argument("--log", required=True)
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--ca")
    p.add_argument("--user")
    p.add_argument("--backend")
    p.add_argument("--control")
    p.add_argument("--sign-key")
    p.add_argument("--sign-cert")
    p.add_argument("--issuer", default="berth-test-issuer")
    args = p.parse_args()
    {"token": run_token, "front": run_front, "proxy": run_proxy}[args.kind](
        args)


if __name__ == "__main__":
    main()
