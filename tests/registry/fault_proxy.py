#!/usr/bin/python3
"""An HTTP/1.1 proxy between a registry client and a registry that injects faults on request.

It listens on 127.0.0.1 and forwards every request to --upstream (http://127.0.0.1:PORT),
streaming bodies both ways. Tests script it over a control API on the same port:

  PUT /__proxy/rules   body: JSON list of rules (replaces the current ones)
  GET /__proxy/log     JSON list of {method, path, status, action, auth} for proxied requests
  DELETE /__proxy/log  clears the log

A rule: {"method": "GET"|..., "path": regex, "has_header": NAME, "lacks_header": NAME,
         "min_body": BYTES, "action": ACTION, "count": N, "every": K, "p": 0.1, "retry_after": "1", "status": 500,
         "delay": 0.5}
It applies to matching requests; with "count" only to the first N matches, with "every" to every
K-th match (1-based: every=3 hits matches 3, 6, 9...), with "p" to each match with that
probability (from the proxy's --seed). First applicable rule wins. Actions:
  status        answer `status` (default 500) with a registry error document, upstream
                untouched; with Retry-After: `retry_after` when given
  429           answer 429 TOOMANYREQUESTS with Retry-After: `retry_after`
  drop_request  read half the request body, then close the connection with no response; with
                "forward": true that half goes upstream first (whose connection then closes)
  drop_response forward, send the headers and half the response body, then close
  close         close the connection at once without reading anything
  slow          wait `delay` seconds before forwarding
  corrupt       forward, flipping one byte in the middle of the response body
  redirect      answer 307 to http://localhost:<port>/__redirect/<id><path>; the redirected
                request is forwarded with the original request's Authorization (as a presigned
                URL would be honoured) and logged with `auth` = whether it carried its own.
  flaky         forward, moving bodies (both ways) at most `rate` bytes/s (0: unthrottled), and
                cut the connection after an exponentially distributed number of body bytes
                with mean `cut_mean_bytes` (default: one second of `rate`), so a transfer is cut
                about once a second wherever it is: in the request body, the response body, or
                right after the response head. The cut closes the client's connection, with a
                FIN or (half the time) a reset. With "buffer_requests": true a request body is
                read in full before anything goes upstream, as nginx does by default, so a
                request cut on its way never reaches the registry; without it the bytes that
                came through are forwarded and the upstream connection is closed too.
Log entries of flaky requests carry `cut` ("request", "response" or "") and `cut_at` (bytes).
"""
import argparse
import http.client
import json
import os
import random
import re
import socket
import struct
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CHUNK = 256 * 1024
HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer",
       "upgrade"}


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, addr, upstream, seed):
        super().__init__(addr, Handler)
        self.rng = random.Random(seed)
        u = urllib.parse.urlsplit(upstream)
        self.up_host, self.up_port = u.hostname, u.port
        self.lock = threading.Lock()
        self.rules = []
        self.matches = {}
        self.log = []
        self.redirects = {}

    def pick(self, method, path, headers):
        with self.lock:
            for i, r in enumerate(self.rules):
                if r.get("method") and r["method"] != method:
                    continue
                if r.get("path") and not re.search(r["path"], path):
                    continue
                if r.get("has_header") and r["has_header"] not in headers:
                    continue
                if r.get("lacks_header") and r["lacks_header"] in headers:
                    continue
                if int(headers.get("Content-Length", "0") or "0") < r.get("min_body", 0):
                    continue
                n = self.matches.get(i, 0) + 1
                self.matches[i] = n
                if "count" in r and n > r["count"]:
                    continue
                if "every" in r and n % r["every"] != 0:
                    continue
                if "p" in r and self.rng.random() >= r["p"]:
                    continue
                return r
        return None

    def record(self, **kw):
        with self.lock:
            self.log.append(kw)

    def draw(self, fn):
        with self.lock:
            return fn(self.rng)


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
        rule = None if redirected else self.server.pick(self.command, path, self.headers)
        action = rule["action"] if rule else ""
        n = self.body_length()
        logkw = dict(method=self.command, path=path, action=action, auth=own_auth,
                     redirected=redirected, range=self.headers.get("Range", ""),
                     content_range=self.headers.get("Content-Range", ""))

        if action == "close":
            self.server.record(status=0, **logkw)
            return self.kill_connection()
        if action == "drop_request":
            if rule.get("forward"):
                self.forward_part(path, auth, n, n // 2)
            else:
                self.drain(n // 2)
            self.server.record(status=0, **logkw)
            return self.kill_connection()
        if action in ("status", "429"):
            self.drain(n)
            status = 429 if action == "429" else int(rule.get("status", 500))
            extra = {}
            if action == "429" or "retry_after" in rule:
                extra["Retry-After"] = str(rule.get("retry_after", "1"))
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
        if action == "flaky":
            return self.flaky(rule, path, auth, n, logkw)

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

    def forward_part(self, path, auth, n, part):
        """Sends the request upstream with only `part` of its `n` body bytes, then hangs up."""
        up = http.client.HTTPConnection(self.server.up_host, self.server.up_port, timeout=120)
        try:
            up.putrequest(self.command, path, skip_host=True, skip_accept_encoding=True)
            for k, v in self.headers.items():
                if k.lower() not in HOP and k.lower() != "authorization":
                    up.putheader(k, v)
            if auth:
                up.putheader("Authorization", auth)
            up.endheaders()
            left = part
            while left > 0:
                b = self.rfile.read(min(CHUNK, left))
                if not b:
                    break
                up.send(b)
                left -= len(b)
            # Let the registry take in what arrived before the connection goes.
            time.sleep(0.2)
        except (OSError, http.client.HTTPException):
            pass
        finally:
            up.close()

    def cut(self):
        """Breaks the client's connection: a FIN, or half the time a reset."""
        if self.server.draw(lambda r: r.random() < 0.5):
            try:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
            except OSError:
                pass
        self.kill_connection()
        try:
            self.connection.close()
        except OSError:
            pass

    def flaky(self, rule, path, auth, n, logkw):
        rate = float(rule.get("rate", 0))
        mean = float(rule.get("cut_mean_bytes", rate or 50e6))
        budget = [int(self.server.draw(lambda r: r.expovariate(1.0 / mean)))]
        moved = [0]
        started = time.monotonic()

        def take(k):
            """Bytes of the next k that may move before the cut, waiting out the rate."""
            allowed = min(k, budget[0])
            budget[0] -= allowed
            moved[0] += allowed
            if rate:
                ahead = moved[0] / rate - (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(ahead)
            return allowed

        def done(status, cut, **extra):
            self.server.record(status=status, cut=cut, cut_at=moved[0] if cut else None,
                               **extra, **logkw)

        buffered = rule.get("buffer_requests", False)
        body = tempfile.SpooledTemporaryFile(max_size=8 << 20) if buffered else None
        up = http.client.HTTPConnection(self.server.up_host, self.server.up_port, timeout=120)
        try:
            if buffered:
                left = n
                while left > 0:
                    b = self.rfile.read(min(64 << 10, left))
                    if not b:
                        return done(0, "request", error="client closed")
                    ok = take(len(b))
                    if ok < len(b):
                        done(0, "request")
                        return self.cut()
                    body.write(b)
                    left -= len(b)
                body.seek(0)
            up.putrequest(self.command, path, skip_host=True, skip_accept_encoding=True)
            for k, v in self.headers.items():
                if k.lower() in HOP or k.lower() == "authorization":
                    continue
                up.putheader(k, v)
            if auth:
                up.putheader("Authorization", auth)
            up.endheaders()
            left = n
            while left > 0:
                if buffered:
                    b = body.read(min(64 << 10, left))
                else:
                    b = self.rfile.read(min(64 << 10, left))
                    if not b:
                        return done(0, "request", error="client closed")
                    ok = take(len(b))
                    if ok < len(b):
                        up.send(b[:ok])
                        done(0, "request")
                        self.cut()
                        return
                up.send(b)
                left -= len(b)
            resp = up.getresponse()
            headers = [(k, v) for k, v in resp.getheaders() if k.lower() not in HOP]
            length = None
            for k, v in headers:
                if k.lower() == "content-length":
                    length = int(v)
            if length is None and self.command != "HEAD" and resp.status not in (204, 304):
                data = resp.read()
                length = len(data)
                headers.append(("Content-Length", str(length)))
            else:
                data = None
            # The head counts too: a cut here means the request did its work upstream and the
            # answer is lost.
            head = 32 + sum(len(k) + len(v) + 4 for k, v in headers)
            if take(head) < head:
                done(0, "response")
                return self.cut()
            self.send_response(resp.status, resp.reason)
            for k, v in headers:
                self.send_header(k, v)
            self.end_headers()
            sent = 0
            while self.command != "HEAD" and length and sent < length:
                b = data[sent:sent + (64 << 10)] if data is not None else \
                    resp.read(min(64 << 10, length - sent))
                if not b:
                    break
                ok = take(len(b))
                if ok < len(b):
                    self.wfile.write(b[:ok])
                    self.wfile.flush()
                    done(0, "response")
                    return self.cut()
                self.wfile.write(b)
                sent += len(b)
            done(resp.status, "")
        except (OSError, http.client.HTTPException) as e:
            done(0, "", error=str(e))
            self.kill_connection()
        finally:
            up.close()
            if body:
                body.close()

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    srv = Server(("127.0.0.1", 0), args.upstream, args.seed)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, args.port_file)
    srv.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
