#!/usr/bin/env python3
"""A Stable Diffusion WebUI (AUTOMATIC1111) stand-in with the real server's constraints, for tests.

Shaped after the WebUI's own source (modules/api/api.py, modules/call_queue.py):
  - txt2img and img2img run one at a time behind one queue lock; other requests wait inside it;
  - /sdapi/v1/progress describes whichever job is running (global state), with its current image;
  - /sdapi/v1/interrupt stops whichever job is running, and that request then answers 200 with
    the partial picture it had;
  - override_settings.sd_model_checkpoint must name a checkpoint the server has (404 otherwise);
  - /internal/ping answers while the server is up;
  - a job makes batch_size × n_iter images (seeds counting up, no grid), and its info JSON says
    so; a prompt containing "[unsafe]" has every image flagged in info.nsfw_content_detected, as a
    WebUI with a safety checker reports it.
Listens on 127.0.0.1 (on --port, or a free port), prints the port on its first line.
Arguments: --port P, --step-seconds S (0.05), --checkpoints a,b.
Control: GET /__stats -> {"max_in_flight", "started": [prompts], "finished": [{"prompt", "interrupted"}], "interrupts"};
a job whose prompt contains "[hold]" stays after its first step (a slow model, for as long as a test
needs) until POST /__release {"prompt": ...} or an interrupt.
"""

import argparse
import base64
import json
import os
import struct
import sys
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

arguments = argparse.ArgumentParser()
arguments.add_argument("--port", type=int, default=0)
arguments.add_argument("--step-seconds", type=float, default=0.05)
arguments.add_argument("--checkpoints", default="")
options = arguments.parse_args()
checkpoints = {name for name in options.checkpoints.split(",") if name}

queue_lock = threading.Lock()  # the WebUI's call_queue.queue_lock
state_lock = threading.Lock()
state = {"job_count": 0, "sampling_step": 0, "sampling_steps": 0, "interrupted": False, "prompt": ""}
stats = {"in_flight": 0, "max_in_flight": 0, "started": [], "finished": [], "interrupts": 0}
released = set()  # prompts of "[hold]" jobs a test let go on


def png(width, height, rgb):
    """A real PNG of one colour."""
    row = b"\x00" + bytes(rgb) * width
    raw = row * height
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def generate(request):
    """Runs one job behind the queue lock, step by step, as the WebUI's sampler loop does."""
    prompt = request.get("prompt", "")
    with state_lock:
        stats["in_flight"] += 1
        stats["max_in_flight"] = max(stats["max_in_flight"], stats["in_flight"])
    try:
        with queue_lock:
            with state_lock:
                stats["started"].append(prompt)
                state.update(job_count=1, sampling_step=0, sampling_steps=int(request.get("steps") or 20),
                             interrupted=False, prompt=prompt)
            for step in range(state["sampling_steps"]):
                with state_lock:
                    if state["interrupted"]:
                        break
                    state["sampling_step"] = step + 1
                time.sleep(options.step_seconds)
                while "[hold]" in prompt and not state["interrupted"]:
                    with state_lock:
                        if prompt in released:
                            break
                    time.sleep(0.01)
            with state_lock:
                interrupted = state["interrupted"]
                state.update(job_count=0, sampling_step=0, sampling_steps=0, interrupted=False, prompt="")
                stats["finished"].append({"prompt": prompt, "interrupted": interrupted})
        width, height = int(request.get("width") or 64), int(request.get("height") or 64)
        # One job makes batch_size images (n_iter batches of them), seeds counting up from the first,
        # and no grid: the API's requests don't save one.
        count = int(request.get("batch_size") or 1) * int(request.get("n_iter") or 1)
        seed = int(request.get("seed") if request.get("seed") not in (None, -1) else 1234)
        images = []
        for index in range(count):
            colour = (200, 40, 40 + index * 20) if interrupted else (40, 160, 60 + index * 20)  # a half-denoised picture is still a picture
            images.append(base64.b64encode(png(width, height, colour)).decode())
        info = {"prompt": prompt, "all_prompts": [prompt] * count, "seed": seed,
                "all_seeds": [seed + index for index in range(count)]}
        if "[unsafe]" in prompt:
            # What a WebUI with a safety checker reports: diffusers' verdict per image.
            info["nsfw_content_detected"] = [True] * count
        return {"images": images, "parameters": request, "info": json.dumps(info)}
    finally:
        with state_lock:
            stats["in_flight"] -= 1


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _json(self, status, value):
        body = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_GET(self):
        path = self.path.split("?")[0]
        if path == "/internal/ping":
            return self._json(200, {})
        if path == "/__stats":
            with state_lock:
                return self._json(200, {key: stats[key] for key in ("max_in_flight", "started", "finished", "interrupts")})
        if path == "/sdapi/v1/progress":
            with state_lock:
                if state["job_count"] == 0:
                    return self._json(200, {"progress": 0, "eta_relative": 0, "state": {}, "current_image": None, "textinfo": None})
                progress = 0.01 + state["sampling_step"] / max(state["sampling_steps"], 1)
                current = base64.b64encode(png(8, 8, (state["sampling_step"] * 10 % 256, 0, 0))).decode()
                return self._json(200, {"progress": min(progress, 1), "eta_relative": 1.0,
                                        "state": {"job": state["prompt"]}, "current_image": current, "textinfo": None})
        return self._json(404, {"detail": "Not Found"})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        path = self.path.split("?")[0]
        if path == "/__release":
            with state_lock:
                released.add(json.loads(raw)["prompt"])
            return self._json(200, {})
        if path == "/sdapi/v1/interrupt":
            with state_lock:
                stats["interrupts"] += 1
                if state["job_count"] > 0:
                    state["interrupted"] = True  # whichever job is running
            return self._json(200, {})
        if path in ("/sdapi/v1/txt2img", "/sdapi/v1/img2img"):
            request = json.loads(raw or b"{}")
            checkpoint = (request.get("override_settings") or {}).get("sd_model_checkpoint")
            if checkpoint and checkpoint not in checkpoints:
                return self._json(404, {"detail": "Model not found"})
            if path.endswith("img2img") and not request.get("init_images"):
                return self._json(404, {"detail": "Init image not found"})
            return self._json(200, generate(request))
        return self._json(404, {"detail": "Not Found"})


def exit_with_parent():
    """The test process holds our stdin open; when it goes away, so do we."""
    sys.stdin.read()
    os._exit(0)


threading.Thread(target=exit_with_parent, daemon=True).start()
server = ThreadingHTTPServer(("127.0.0.1", options.port), Handler)
server.daemon_threads = True
print(server.server_address[1], flush=True)
server.serve_forever()
