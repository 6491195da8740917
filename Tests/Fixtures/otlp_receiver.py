#!/usr/bin/env python3
"""An OpenTelemetry collector stand-in for tests: OTLP/HTTP on 127.0.0.1, traces only.

POST /v1/traces takes an ExportTraceServiceRequest in OTLP's JSON encoding
(OTEL_EXPORTER_OTLP_PROTOCOL=http/json) and keeps its spans; a protobuf body is counted but not
read. Ids are kept as lowercase hex, whether the JSON carried them as hex (the OTLP spec) or as
base64 (protobuf's JSON mapping).
Control: GET /__spans -> [{"trace_id", "span_id", "parent_span_id", "name", "kind", "attributes"}],
"protobuf_bodies": N in the header X-Protobuf-Bodies.
Prints its port on its first line; exits when its stdin closes.
"""

import base64
import binascii
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()
spans = []
protobuf_bodies = 0


def hex_id(value, size):
    if not value:
        return ""
    if len(value) == size * 2:
        try:
            int(value, 16)
            return value.lower()
        except ValueError:
            pass
    return binascii.hexlify(base64.b64decode(value)).decode()


def attribute_value(value):
    for kind in ("stringValue", "boolValue", "doubleValue"):
        if kind in value:
            return value[kind]
    if "intValue" in value:
        return int(value["intValue"])
    return value


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _answer(self, status, body, headers=()):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        with lock:
            return self._answer(200, spans, [("X-Protobuf-Bodies", str(protobuf_bodies))])

    def do_POST(self):
        global protobuf_bodies
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path != "/v1/traces":
            return self._answer(404, {})
        if "json" not in (self.headers.get("Content-Type") or ""):
            with lock:
                protobuf_bodies += 1
            return self._answer(200, {})
        request = json.loads(raw or b"{}")
        received = []
        for resource in request.get("resourceSpans", []):
            for scope in resource.get("scopeSpans", []):
                for span in scope.get("spans", []):
                    received.append({
                        "trace_id": hex_id(span.get("traceId"), 16),
                        "span_id": hex_id(span.get("spanId"), 8),
                        "parent_span_id": hex_id(span.get("parentSpanId"), 8),
                        "name": span.get("name", ""),
                        "kind": span.get("kind"),
                        "attributes": {a["key"]: attribute_value(a.get("value", {})) for a in span.get("attributes", [])},
                    })
        with lock:
            spans.extend(received)
        return self._answer(200, {})


def exit_with_parent():
    sys.stdin.read()
    os._exit(0)


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
threading.Thread(target=exit_with_parent, daemon=True).start()
server.serve_forever()
