#!/usr/bin/python3
"""An HTTP/1.1 proxy between a registry client and a registry that injects faults on request.

It listens on 127.0.0.1 and forwards every request to --upstream (http://127.0.0.1:PORT),
streaming bodies both ways. Tests script it over a control API on the same port:

  PUT /__proxy/rules   body: JSON list of rules (replaces the current ones)
  GET /__proxy/log     JSON list of {method, path, status, action, auth} for proxied requests
  DELETE /__proxy/log  clears the log

A rule: {"method": "GET"|..., "path": regex, "action": ACTION, "count": N, "every": K,
         "retry_after": "1", "status": 500, "delay": 0.5}
It applies to matching requests; with "count" only to the first N matches, with "every" to every
K-th match (1-based: every=3 hits matches 3, 6, 9...). First applicable rule wins. Actions:
  status        answer `status` (default 500) with a registry error document, upstream untouched
  429           answer 429 TOOMANYREQUESTS with Retry-After: `retry_after`
  drop_request  read half the request body, then close the connection with no response
  drop_response forward, send the headers and half the response body, then close
  close         close the connection at once without reading anything
  slow          wait `delay` seconds before forwarding
  corrupt       forward, flipping one byte in the middle of the response body
  redirect      answer 307 to http://localhost:<port>/__redirect/<id><path>; the redirected
                request is forwarded with the original request's Authorization (as a presigned
                URL would be honoured) and logged with `auth` = whether it carried its own.
"""
import argparse
import http.client
import json
import os
import re
import socket
import sys
import threading
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CHUNK = 256 * 1024
HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer",
       "upgrade"}


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, upstream):
        super().__init__(addr, Handler)
        u = urllib.parse.urlsplit(upstream)
        self.up_host, self.up_port = u.hostname, u.port
        self.lock = threading.Lock()
        self.rules = []
        self.matches = {}
        self.log = []
        self.redirects = {}

    def pick(self, method, path):
        with self.lock:
            for i, r in enumerate(self.rules):
                if r.get("method") and r["method"] != method:
                    continue
                if r.get("path") and not re.search(r["path"], path):
                    continue
                n = self.matches.get(i, 0) + 1
                self.matches[i] = n
                if "count" in r and n > r["count"]:
                    continue
                if "every" in r and n % r["every"] != 0:
                    continue
                return r
        return None

    def record(self, **kw):
        with self.lock:
            self.log.append(kw)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):
        pass

    def send_json(self, status, doc, extra=None):
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def body_length(self):
        return int(self.headers.get("Content-Length", "0") or "0")

    def drain(self, n):
        while n > 0:
            b = self.rfile.read(min(CHUNK, n))
            if not b:
                break
            n -= len(b)

    def control(self):
        n = self.body_length()
        if self.path == "/__proxy/rules" and self.command == "PUT":
            rules = json.loads(self.rfile.read(n) or b"[]")
            with self.server.lock:
                self.server.rules, self.server.matches = rules, {}
            self.send_json(200, {"rules": len(rules)})
        elif self.path == "/__proxy/log" and self.command == "GET":
            self.drain(n)
            with self.server.lock:
                log = list(self.server.log)
            self.send_json(200, log)
        elif self.path == "/__proxy/log" and self.command == "DELETE":
            self.drain(n)
            with self.server.lock:
                self.server.log = []
            self.send_json(200, {})
        else:
            self.drain(n)
            self.send_json(404, {"error": "unknown control endpoint"})

    def kill_connection(self):
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def handle_any(self):
        if self.path.startswith("/__proxy/"):
            return self.control()
        path, auth = self.path, self.headers.get("Authorization")
        own_auth = auth is not None
        redirected = False
        m = re.match(r"^/__redirect/([0-9a-f]+)(/.*)$", path)
        if m:
            redirected = True
            path = m.group(2)
            with self.server.lock:
                auth = self.server.redirects.get(m.group(1))
        rule = None if redirected else self.server.pick(self.command, path)
        action = rule["action"] if rule else ""
        n = self.body_length()
        logkw = dict(method=self.command, path=path, action=action, auth=own_auth,
                     redirected=redirected)

        if action == "close":
            self.server.record(status=0, **logkw)
            return self.kill_connection()
        if action == "drop_request":
            self.drain(n // 2)
            self.server.record(status=0, **logkw)
            return self.kill_connection()
        if action in ("status", "429"):
            self.drain(n)
            status = 429 if action == "429" else int(rule.get("status", 500))
            extra = {"Retry-After": str(rule.get("retry_after", "1"))} if action == "429" else {}
            code = "TOOMANYREQUESTS" if action == "429" else "UNKNOWN"
            self.server.record(status=status, **logkw)
            return self.send_json(status, {"errors": [{"code": code,
                                                       "message": "injected by fault proxy"}]},
                                  extra)
        if action == "redirect":
            self.drain(n)
            rid = uuid.uuid4().hex
            with self.server.lock:
                self.server.redirects[rid] = auth
            port = self.server.server_address[1]
            loc = "http://localhost:%d/__redirect/%s%s" % (port, rid, path)
            self.server.record(status=307, **logkw)
            self.send_response(307)
            self.send_header("Location", loc)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if action == "slow":
            threading.Event().wait(float(rule.get("delay", 0.5)))

        up = http.client.HTTPConnection(self.server.up_host, self.server.up_port, timeout=120)
        try:
            up.putrequest(self.command, path, skip_host=True, skip_accept_encoding=True)
            for k, v in self.headers.items():
                # Host is kept: the registry then writes Locations that point at the proxy.
                if k.lower() in HOP or k.lower() == "authorization":
                    continue
                up.putheader(k, v)
            if auth:
                up.putheader("Authorization", auth)
            up.endheaders()
            left = n
            while left > 0:
                b = self.rfile.read(min(CHUNK, left))
                if not b:
                    break
                up.send(b)
                left -= len(b)
            resp = up.getresponse()
            self.send_response(resp.status, resp.reason)
            length = None
            for k, v in resp.getheaders():
                if k.lower() in HOP:
                    continue
                if k.lower() == "content-length":
                    length = int(v)
                self.send_header(k, v)
            if length is None and self.command != "HEAD" and resp.status not in (204, 304):
                body = resp.read()
                length = len(body)
                self.send_header("Content-Length", str(length))
                self.end_headers()
                self.wfile.write(body)
                self.server.record(status=resp.status, **logkw)
                return
            self.end_headers()
            if self.command == "HEAD" or not length:
                self.server.record(status=resp.status, **logkw)
                return
            sent, cut = 0, length // 2
            flipped = False
            while sent < length:
                b = resp.read(min(CHUNK, length - sent))
                if not b:
                    break
                if action == "drop_response" and sent + len(b) > cut:
                    self.wfile.write(b[: cut - sent])
                    self.wfile.flush()
                    self.server.record(status=0, **logkw)
                    return self.kill_connection()
                if action == "corrupt" and not flipped and sent + len(b) > length // 2:
                    i = length // 2 - sent
                    b = b[:i] + bytes([b[i] ^ 0xFF]) + b[i + 1:]
                    flipped = True
                self.wfile.write(b)
                sent += len(b)
            self.server.record(status=resp.status, **logkw)
        except (OSError, http.client.HTTPException) as e:
            self.server.record(status=0, error=str(e), **logkw)
            self.kill_connection()
        finally:
            up.close()

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--port-file", required=True)
    args = ap.parse_args()
    srv = Server(("127.0.0.1", 0), args.upstream)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, args.port_file)
    srv.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
