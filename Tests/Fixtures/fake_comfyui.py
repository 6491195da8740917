#!/usr/bin/env python3
"""A ComfyUI stand-in with the real server's constraints, for tests.

Shaped after ComfyUI's own source (server.py, execution.py, main.py's prompt worker):
  - POST /prompt validates the workflow against the node classes it knows (400 with `error` and
    `node_errors` otherwise) and queues it; ONE prompt executes at a time, the rest wait in the queue;
  - a prompt's messages go only to the websocket of the client_id that submitted it: executing,
    progress (value/max), binary preview frames (4-byte event 1, 4-byte format, then the picture),
    executed, execution_success / execution_error / execution_interrupted, then executing(node None);
  - /interrupt stops whatever prompt is executing (global, as ComfyUI before it read a prompt_id;
    newer servers stop only the named prompt, which is kinder); POST /queue {"delete": [...]} removes
    queued ones; GET /queue lists [number, prompt_id, prompt, extra, outputs] entries;
  - /history/{id} has the outputs and status once the prompt ended; /view serves output files;
    /upload/image takes a multipart upload into the input folder; /system_stats answers while up.
Arguments: --step-seconds S (0.05), --checkpoints a,b (sd_xl_base_1.0.safetensors).
Control: GET /__stats -> {"max_running", "started", "interrupts", "deleted", "uploads", "prompts"};
POST /__drop_sockets closes every websocket (a flaky proxy).
Prints its port on its first line; exits when stdin closes.
"""

import argparse
import asyncio
import json
import os
import struct
import sys
import threading
import time
import uuid
import zlib

from aiohttp import WSMsgType, web

arguments = argparse.ArgumentParser()
arguments.add_argument("--step-seconds", type=float, default=0.05)
arguments.add_argument("--checkpoints", default="sd_xl_base_1.0.safetensors")
options = arguments.parse_args()


def png(width, height, rgb):
    """A real PNG of one colour."""
    row = b"\x00" + bytes(rgb) * width
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(row * height)) + chunk(b"IEND", b"")


class Interrupted(Exception):
    pass


# The node classes this server knows: required inputs, and whether the node is an output node.
NODES = {
    "CheckpointLoaderSimple": (["ckpt_name"], False),
    "CLIPTextEncode": (["text", "clip"], False),
    "EmptyLatentImage": (["width", "height", "batch_size"], False),
    "LoadImage": (["image"], False),
    "VAEEncode": (["pixels", "vae"], False),
    "KSampler": (["model", "seed", "steps", "cfg", "sampler_name", "scheduler", "positive", "negative", "latent_image", "denoise"], False),
    "VAEDecode": (["samples", "vae"], False),
    "SaveImage": (["images", "filename_prefix"], True),
}

state = {"queue": [], "running": None, "interrupt": False, "number": 0}
history, files, inputs, sockets = {}, {}, {}, {}
stats = {"max_running": 0, "started": [], "interrupts": 0, "deleted": [], "uploads": [], "prompts": []}
wake = None  # asyncio.Event: a prompt was queued


def validate(prompt):
    """(error, node_errors) as execution.validate_prompt reports them, or (None, {})."""
    for node_id, node in (prompt.items() if isinstance(prompt, dict) else []):
        if node.get("class_type") not in NODES:
            # An unknown class is a prompt error, with no node_errors.
            return {"type": "invalid_prompt", "message": f"Cannot execute because node {node.get('class_type')} does not exist.",
                    "details": f"Node ID '#{node_id}'", "extra_info": {}}, {}
    if not isinstance(prompt, dict) or not any(NODES[n["class_type"]][1] for n in prompt.values()):
        return {"type": "prompt_no_outputs", "message": "Prompt has no outputs", "details": "", "extra_info": {}}, {}
    node_errors = {}
    for node_id, node in prompt.items():
        required, _ = NODES[node["class_type"]]
        inputs_given = node.get("inputs", {})
        errors = [{"type": "required_input_missing", "message": "Required input is missing", "details": name}
                  for name in required if name not in inputs_given]
        checkpoint = inputs_given.get("ckpt_name")
        if node["class_type"] == "CheckpointLoaderSimple" and checkpoint is not None and checkpoint not in options.checkpoints.split(","):
            errors.append({"type": "value_not_in_list", "message": "Value not in list",
                           "details": f"ckpt_name: '{checkpoint}' not in {options.checkpoints.split(',')}"})
        image = inputs_given.get("image")
        if node["class_type"] == "LoadImage" and image is not None and image not in inputs:
            errors.append({"type": "custom_validation_failed", "message": "Custom validation failed for node",
                           "details": f"image - Invalid image file: {image}"})
        if errors:
            node_errors[node_id] = {"errors": errors, "dependent_outputs": [], "class_type": node["class_type"]}
    if node_errors:
        details = "\n".join(f"{e['message']}: {e['details']}" for n in node_errors.values() for e in n["errors"])
        return {"type": "prompt_outputs_failed_validation", "message": "Prompt outputs failed validation", "details": details, "extra_info": {}}, node_errors
    return None, {}


async def send(client_id, event, data):
    socket = sockets.get(client_id)
    if socket is None or socket.closed:
        return
    try:
        if isinstance(data, (bytes, bytearray)):
            await socket.send_bytes(struct.pack(">I", event) + data)
        else:
            await socket.send_str(json.dumps({"type": event, "data": data}))
    except (ConnectionResetError, RuntimeError):
        pass


def order(prompt):
    """Nodes after the nodes they take inputs from."""
    done, result = set(), []
    def visit(node_id):
        if node_id in done:
            return
        done.add(node_id)
        for value in prompt[node_id]["inputs"].values():
            if isinstance(value, list) and len(value) == 2 and str(value[0]) in prompt:
                visit(str(value[0]))
        result.append(node_id)
    for node_id in sorted(prompt):
        visit(node_id)
    return result


async def execute(prompt_id, prompt, client_id, messages):
    """Runs the nodes; returns the outputs. Raises Interrupted, or RuntimeError(node_id, type, message)."""
    outputs, executed, size, batch = {}, [], (64, 64), 1
    for node_id in order(prompt):
        node = prompt[node_id]
        kind, node_inputs = node["class_type"], node["inputs"]
        await send(client_id, "executing", {"node": node_id, "display_node": node_id, "prompt_id": prompt_id})
        if kind == "EmptyLatentImage":
            size = (int(node_inputs["width"]), int(node_inputs["height"]))
            batch = int(node_inputs.get("batch_size", 1))
        if kind == "KSampler":
            if size[0] * size[1] > 2048 * 2048:
                raise RuntimeError(node_id, kind, "Allocation on device would exceed allowed memory. (out of memory)")
            steps = int(node_inputs["steps"])
            for step in range(steps):
                if state["interrupt"]:
                    raise Interrupted(node_id, kind, executed)
                await asyncio.sleep(options.step_seconds)
                await send(client_id, "progress", {"value": step + 1, "max": steps, "prompt_id": prompt_id, "node": node_id})
                await send(client_id, 1, struct.pack(">I", 2) + png(8, 8, (step * 10 % 256, 80, 0)))
        if kind == "SaveImage":
            # One file per image of the batch, as SaveImage writes them.
            images = []
            for index in range(batch):
                name = f"{node_inputs['filename_prefix']}_{len(files) + 1:05}_.png"
                files[("", "output", name)] = png(size[0] // 8 or 1, size[1] // 8 or 1, (40, 160, 60 + index * 20))
                images.append({"filename": name, "subfolder": "", "type": "output"})
            ui = {"images": images}
            outputs[node_id] = ui
            await send(client_id, "executed", {"node": node_id, "display_node": node_id, "output": ui, "prompt_id": prompt_id})
        executed.append(node_id)
    return outputs


async def worker():
    """main.py's prompt_worker: one prompt at a time, oldest number first."""
    while True:
        await wake.wait()
        wake.clear()
        while state["queue"]:
            state["queue"].sort(key=lambda item: item[0])
            number, prompt_id, prompt, extra, outs = state["queue"].pop(0)
            state["running"] = [number, prompt_id, prompt, extra, outs]
            stats["max_running"] = max(stats["max_running"], 1)
            stats["started"].append(prompt_id)
            state["interrupt"] = False
            client_id = extra.get("client_id")
            messages = [["execution_start", {"prompt_id": prompt_id, "timestamp": time.time()}]]
            await send(client_id, "execution_start", {"prompt_id": prompt_id})
            status, outputs = "success", {}
            try:
                outputs = await execute(prompt_id, prompt, client_id, messages)
                data = {"prompt_id": prompt_id, "timestamp": time.time()}
                messages.append(["execution_success", data])
                await send(client_id, "execution_success", data)
            except Interrupted as stop:
                node_id, kind, executed = stop.args
                data = {"prompt_id": prompt_id, "node_id": node_id, "node_type": kind, "executed": executed}
                messages.append(["execution_interrupted", data])
                await send(client_id, "execution_interrupted", data)
                status = "error"
            except RuntimeError as failure:
                node_id, kind, message = failure.args
                data = {"prompt_id": prompt_id, "node_id": node_id, "node_type": kind, "executed": [],
                        "exception_message": message, "exception_type": "torch.OutOfMemoryError", "traceback": [],
                        "current_inputs": {}, "current_outputs": {}}
                messages.append(["execution_error", data])
                await send(client_id, "execution_error", data)
                status = "error"
            history[prompt_id] = {"prompt": state["running"], "outputs": outputs,
                                  "status": {"status_str": status, "completed": status == "success", "messages": messages}}
            state["running"] = None
            await send(client_id, "executing", {"node": None, "prompt_id": prompt_id})


async def post_prompt(request):
    body = await request.json()
    prompt = body.get("prompt")
    if prompt is None:
        return web.json_response({"error": "no prompt", "node_errors": []}, status=400)
    error, node_errors = validate(prompt)
    if error:
        return web.json_response({"error": error, "node_errors": node_errors}, status=400)
    prompt_id = str(uuid.uuid4())
    number = state["number"]
    state["number"] += 1
    extra = {"client_id": body["client_id"]} if "client_id" in body else {}
    state["queue"].append((number, prompt_id, prompt, extra, [k for k, n in prompt.items() if NODES[n["class_type"]][1]]))
    stats["prompts"].append(prompt)
    wake.set()
    return web.json_response({"prompt_id": prompt_id, "number": number, "node_errors": {}})


async def get_queue(request):
    running = [state["running"]] if state["running"] else []
    return web.json_response({"queue_running": running, "queue_pending": [list(item) for item in state["queue"]]})


async def post_queue(request):
    body = await request.json()
    for prompt_id in body.get("delete", []):
        before = len(state["queue"])
        state["queue"] = [item for item in state["queue"] if item[1] != prompt_id]
        if len(state["queue"]) < before:
            stats["deleted"].append(prompt_id)
    return web.Response(status=200)


async def post_interrupt(request):
    stats["interrupts"] += 1
    state["interrupt"] = True  # whatever is executing, as nodes.interrupt_processing() does
    return web.Response(status=200)


async def get_history(request):
    prompt_id = request.match_info["prompt_id"]
    return web.json_response({prompt_id: history[prompt_id]} if prompt_id in history else {})


async def view(request):
    key = (request.query.get("subfolder", ""), request.query.get("type", "output"), request.query.get("filename", ""))
    if key not in files:
        return web.Response(status=404)
    return web.Response(body=files[key], content_type="image/png")


async def upload_image(request):
    post = await request.post()
    image = post.get("image")
    if image is None or not getattr(image, "filename", None):
        return web.Response(status=400)
    data = image.file.read()
    inputs[image.filename] = data
    stats["uploads"].append({"name": image.filename, "bytes": len(data)})
    return web.json_response({"name": image.filename, "subfolder": "", "type": "input"})


async def system_stats(request):
    return web.json_response({"system": {"os": "posix", "comfyui_version": "fake"}, "devices": []})


async def websocket(request):
    socket = web.WebSocketResponse()
    await socket.prepare(request)
    sid = request.query.get("clientId") or uuid.uuid4().hex
    sockets[sid] = socket
    try:
        remaining = len(state["queue"]) + (1 if state["running"] else 0)
        await socket.send_str(json.dumps({"type": "status", "data": {"status": {"exec_info": {"queue_remaining": remaining}}, "sid": sid}}))
        async for message in socket:
            if message.type == WSMsgType.ERROR:
                break
    finally:
        if sockets.get(sid) is socket:
            sockets.pop(sid, None)
    return socket


async def get_stats(request):
    return web.json_response(stats)


async def drop_sockets(request):
    for socket in list(sockets.values()):
        await socket.close()
    sockets.clear()
    return web.Response(status=200)


async def main():
    global wake
    wake = asyncio.Event()
    app = web.Application(client_max_size=64 << 20)
    app.add_routes([
        web.post("/prompt", post_prompt), web.get("/queue", get_queue), web.post("/queue", post_queue),
        web.post("/interrupt", post_interrupt), web.get("/history/{prompt_id}", get_history), web.get("/view", view),
        web.post("/upload/image", upload_image), web.get("/system_stats", system_stats), web.get("/ws", websocket),
        web.get("/__stats", get_stats), web.post("/__drop_sockets", drop_sockets),
    ])
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(site._server.sockets[0].getsockname()[1], flush=True)
    asyncio.create_task(worker())
    await asyncio.Event().wait()


def exit_with_parent():
    """The test process holds our stdin open; when it goes away, so do we."""
    sys.stdin.read()
    os._exit(0)


threading.Thread(target=exit_with_parent, daemon=True).start()
asyncio.run(main())
