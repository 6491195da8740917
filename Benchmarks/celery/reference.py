"""The pipeline's reference: Celery 5 with Redis, 2 prefork workers, acks_late, running no-op
tasks. Starts its own redis-server and worker on loopback, sends TASKS tasks, collects every
result, and prints the rate as JSON: {"tasks": N, "tasks_per_second": R}."""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main():
    tasks = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    port = free_port()
    folder = tempfile.mkdtemp(prefix="easel-celery-")
    redis = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", folder],
        stdout=subprocess.DEVNULL)
    environment = {**os.environ, "REDIS_URL": f"redis://127.0.0.1:{port}/0", "PYTHONPATH": str(HERE)}
    os.environ.update(environment)
    worker = None
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.05)
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "noop", "worker", "--pool", "prefork", "--concurrency", "2",
             "--loglevel", "WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat"],
            env=environment, cwd=HERE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        sys.path.insert(0, str(HERE))
        from celery.result import ResultSet
        from noop import noop

        noop.delay(-1).get(timeout=60)  # the worker is up
        started = time.perf_counter()
        results = ResultSet([noop.delay(index) for index in range(tasks)])
        # Collected over the backend's pub/sub, as Celery's own groups do: faster than a get() each.
        assert results.join_native(timeout=120) == list(range(tasks))
        elapsed = time.perf_counter() - started
        print(json.dumps({"tasks": tasks, "tasks_per_second": tasks / elapsed}))
    finally:
        for process in [worker, redis]:
            if process is None:
                continue
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:  # a warm shutdown can wait on the broker: the figure is taken
                os.killpg(process.pid, signal.SIGKILL) if process is worker else process.kill()
                process.wait()


if __name__ == "__main__":
    main()
