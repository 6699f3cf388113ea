#!/usr/bin/python3
"""A registry token server for tests, answering like GHCR's and Docker Hub's /token endpoint.

GET  /token?service=S&scope=repository:NAME:ACTIONS[&scope=...]  (optional Basic credentials)
POST /token  grant_type=refresh_token&refresh_token=..&service=..&scope=..  (identity tokens)

Tokens are RS256 JWTs with the signing certificate in the `x5c` header, which is what
docker-registry's `auth.token.rootcertbundle` verification needs. Signing uses the openssl CLI so
the server needs nothing beyond the Python standard library.

Anonymous callers get `pull` on repositories listed with --public; users from --user NAME:PASS
and holders of --refresh-token get every action they ask for. Every request is appended to
--log as one JSON line (the Authorization header is recorded as a scheme only, never its value).
"""
import argparse
import base64
import json
import os
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, addr, args):
        super().__init__(addr, Handler)
        self.args = args
        self.users = dict(u.split(":", 1) for u in args.user)
        with open(args.cert) as f:
            self.x5c = base64.b64encode(ssl.PEM_cert_to_DER_cert(f.read())).decode()
        self.log_lock = threading.Lock()

    def sign(self, signing_input: bytes) -> bytes:
        p = subprocess.run(["openssl", "dgst", "-sha256", "-sign", self.args.key],
                           input=signing_input, capture_output=True, check=True)
        return p.stdout

    def issue(self, subject, service, scopes, grant_all):
        access = []
        for scope in scopes:
            parts = scope.split(":")
            if len(parts) < 3 or parts[0] != "repository":
                continue
            name, actions = ":".join(parts[1:-1]), parts[-1].split(",")
            if not grant_all:
                actions = [a for a in actions if a == "pull" and name in self.args.public]
            if actions:
                access.append({"type": "repository", "name": name, "actions": actions})
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": [self.x5c]}
        claims = {"iss": self.args.issuer, "sub": subject, "aud": service, "exp": now + self.args.ttl,
                  "nbf": now - 5, "iat": now, "jti": uuid.uuid4().hex, "access": access}
        signing_input = (b64url(json.dumps(header).encode()) + "." +
                         b64url(json.dumps(claims).encode())).encode()
        token = signing_input.decode() + "." + b64url(self.sign(signing_input))
        return token, access

    def record(self, entry):
        if not self.args.log:
            return
        with self.log_lock, open(self.args.log, "a") as f:
            f.write(json.dumps(entry) + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):
        pass

    def reply(self, status, doc, extra=None):
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def basic_user(self):
        h = self.headers.get("Authorization", "")
        if not h.lower().startswith("basic "):
            return None, False
        try:
            user, pw = base64.b64decode(h[6:]).decode().split(":", 1)
        except Exception:
            return None, True
        return (user if self.server.users.get(user) == pw else None), True

    def finish_token(self, method, service, scopes, subject, grant_all, denied):
        auth = self.headers.get("Authorization", "")
        entry = {"method": method, "path": self.path.split("?")[0], "service": service,
                 "scopes": scopes, "auth_scheme": auth.split(" ")[0].lower() if auth else "",
                 "subject": subject or "", "status": 401 if denied else 200}
        self.server.record(entry)
        if denied:
            self.reply(401, {"errors": [{"code": "UNAUTHORIZED",
                                         "message": "authentication required"}]},
                       {"WWW-Authenticate": 'Basic realm="token"'})
            return
        if self.server.args.fail_next > 0:
            self.server.args.fail_next -= 1
            self.reply(503, {"errors": [{"code": "UNAVAILABLE", "message": "try later"}]})
            return
        token, _ = self.server.issue(subject or "", service, scopes, grant_all)
        doc = {"token": token, "access_token": token, "expires_in": self.server.args.ttl,
               "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        self.reply(200, doc)

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        if u.path != "/token":
            self.reply(404, {"errors": [{"code": "NOT_FOUND", "message": "no such endpoint"}]})
            return
        q = urllib.parse.parse_qs(u.query)
        user, sent = self.basic_user()
        denied = sent and user is None
        self.finish_token("GET", q.get("service", [""])[0], q.get("scope", []), user,
                          user is not None, denied)

    def do_POST(self):
        u = urllib.parse.urlsplit(self.path)
        n = int(self.headers.get("Content-Length", "0"))
        form = urllib.parse.parse_qs(self.rfile.read(n).decode())
        if u.path != "/token" or form.get("grant_type", [""])[0] != "refresh_token":
            self.reply(400, {"error": "unsupported_grant_type"})
            return
        ok = form.get("refresh_token", [""])[0] in self.server.args.refresh_token
        scopes = " ".join(form.get("scope", [])).split()
        self.finish_token("POST", form.get("service", [""])[0], scopes,
                          "identity" if ok else None, ok, not ok)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True, help="written with the port once listening")
    ap.add_argument("--key", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--issuer", default="ocibuild-test-issuer")
    ap.add_argument("--user", action="append", default=[], help="NAME:PASSWORD")
    ap.add_argument("--refresh-token", action="append", default=[])
    ap.add_argument("--public", action="append", default=[], help="anonymously pullable repo")
    ap.add_argument("--ttl", type=int, default=300)
    ap.add_argument("--fail-next", type=int, default=0, help="answer 503 to the first N tokens")
    ap.add_argument("--log", default="")
    args = ap.parse_args()
    srv = Server(("127.0.0.1", args.port), args)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, args.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
