"""A TCP forwarder for outage tests: listens on 127.0.0.1 (argv[2], or any free port) and pipes
each connection to 127.0.0.1:argv[1]. It prints its port, and when its stdin closes (the test
drops it) it exits, cutting every connection: to the process behind it, the server has gone.

Run by Tests/EaselServerTests/MultiNodeTests.swift."""
import asyncio
import sys

TARGET_PORT = int(sys.argv[1])
LISTEN_PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 0


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
    try:
        server_reader, server_writer = await asyncio.open_connection("127.0.0.1", TARGET_PORT)
    except OSError:
        client_writer.close()
        return
    await asyncio.gather(pipe(client_reader, server_writer), pipe(server_reader, client_writer))


async def main():
    server = await asyncio.start_server(forward, "127.0.0.1", LISTEN_PORT, reuse_address=True)
    print(server.sockets[0].getsockname()[1], flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)  # until the test's lifeline closes


asyncio.run(main())
