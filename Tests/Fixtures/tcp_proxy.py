"""A TCP forwarder for outage tests: listens on 127.0.0.1 (any free port, printed) and pipes each
connection to 127.0.0.1:argv[1]. It reads commands on stdin: `cut` closes every connection and
closes new ones at once (to the process behind it, the server has gone), `restore` forwards
again. It exits when its stdin closes (the test's lifeline).

Run by Tests/EaselServerTests/MultiNodeTests.swift."""
import asyncio
import sys

TARGET_PORT = int(sys.argv[1])
cut = False
open_writers = set()


async def pipe(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def forward(client_reader, client_writer):
    if cut:
        client_writer.close()
        return
    try:
        server_reader, server_writer = await asyncio.open_connection("127.0.0.1", TARGET_PORT)
    except OSError:
        client_writer.close()
        return
    writers = {client_writer, server_writer}
    open_writers.update(writers)
    try:
        await asyncio.gather(pipe(client_reader, server_writer), pipe(server_reader, client_writer))
    finally:
        open_writers.difference_update(writers)


async def main():
    global cut
    server = await asyncio.start_server(forward, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    loop = asyncio.get_running_loop()
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        command = line.strip()
        if command == "cut":
            cut = True
            for writer in list(open_writers):
                writer.transport.abort()
        elif command == "restore":
            cut = False
        print(command, flush=True)


asyncio.run(main())
