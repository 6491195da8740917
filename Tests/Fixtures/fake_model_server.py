#!/usr/bin/env python3
"""A scriptable stand-in for the model APIs Easel calls, for tests. Listens on 127.0.0.1 only.

Prints its port on the first line of stdout. Control endpoints:
  POST /__script   {"path": "/sdapi/v1/txt2img", "responses": [{"status": 500, "body": "busy"},
                    {"status": 200, "json": {...}, "delay": 0.2, "headers": {...}}]}  queues answers for a path
                   (a queued answer is used once; the last one repeats)
  GET  /__requests the requests seen so far: [{"method", "path", "headers", "json"}]
Unscripted paths answer 200 with {}.
"""

import base64
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()
scripts = {}
requests = []


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _answer(self, status, body, content_type="application/json", headers=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _handle(self):
        raw = self._body()
        if self.path == "/__script":
            script = json.loads(raw)
            with lock:
                scripts[script["path"]] = list(script["responses"])
            return self._answer(200, b"{}")
        if self.path == "/__requests":
            with lock:
                return self._answer(200, json.dumps(requests).encode())
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        with lock:
            requests.append(
                {
                    "method": self.command,
                    "path": self.path,
                    "headers": dict(self.headers.items()),
                    "json": parsed,
                    "text": raw[:4096].decode("latin-1"),
                }
            )
            queue = scripts.get(self.path)
            response = (queue.pop(0) if len(queue) > 1 else queue[0]) if queue else {"status": 200, "json": {}}
        time.sleep(response.get("delay", 0))
        if "json" in response:
            body = json.dumps(response["json"]).encode()
        elif "body_base64" in response:
            body = base64.b64decode(response["body_base64"])
        else:
            body = response.get("body", "").encode()
        try:
            self._answer(
                response.get("status", 200), body, response.get("content_type", "application/json"), response.get("headers")
            )
        except (BrokenPipeError, ConnectionResetError):
            pass

    do_GET = do_POST = do_DELETE = _handle


def exit_with_parent():
    """The test process holds our stdin open; when it goes away, so do we."""
    sys.stdin.read()
    os._exit(0)


threading.Thread(target=exit_with_parent, daemon=True).start()
server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print(server.server_address[1], flush=True)
server.serve_forever()
