import os
import re
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Optional

import pytest

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "clients" / "python"))


def easeld_binary() -> str:
    """EASELD names the binary; otherwise the package's debug build."""
    path = os.environ.get("EASELD") or str(ROOT / ".build" / "debug" / "easeld")
    if not os.access(path, os.X_OK):
        pytest.fail(f"easeld is not built at {path}: run `swift build` (or set EASELD)")
    return path


class Server:
    def __init__(self, data: Path, environment: Optional[dict] = None):
        self.data = data
        self.process = subprocess.Popen(
            [easeld_binary(), "serve", "--data", str(data), "--tcp", "127.0.0.1:0", "--workers", "2"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env={**os.environ, **(environment or {})},
        )
        line = self.process.stdout.readline()
        match = re.search(r"serving on unix:(\S+) and tcp (\S+):(\d+)", line)
        if not match:
            self.process.kill()
            pytest.fail(f"easeld did not start: {line!r}")
        self.unix = f"unix:{match.group(1)}"
        self.tcp = f"{match.group(2)}:{match.group(3)}"
        # TCP callers need a key: an admin key for platform "web", made the way operators do.
        created = subprocess.run(
            [easeld_binary(), "keys", "create", "--data", str(data), "--platform", "web", "--scope", "admin"],
            capture_output=True, text=True, check=True,
        )
        self.token = created.stdout.strip().splitlines()[-1]

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)


@pytest.fixture()
def server():
    with tempfile.TemporaryDirectory(prefix="easel-py-") as data:
        running = Server(Path(data))
        yield running
        assert running.stop() == 0
