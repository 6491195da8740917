"""A real easeld with its console on, and headless Chromium (Debian's chromium and chromium-driver)
driven by Selenium: nothing is downloaded."""

import os
import re
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "clients" / "python"))


def easeld() -> str:
    return os.environ.get("EASELD") or str(ROOT / ".build" / "debug" / "easeld")


class Console:
    """easeld serving the console on a free port, with an operator key and admin keys of two platforms."""

    def __init__(self, data: Path):
        self.data = data
        environment = {**os.environ, "EASEL_PROCEDURAL_DELAY_MS": "2500", "EASEL_MAX_ACTIVE_TASKS": "100"}
        # A template whose generations outlive their deadline: failed tasks for the pages to show.
        templates = data / "templates"
        templates.mkdir()
        (templates / "hasty.yaml").write_text(
            'code: hasty\nname: Hasty\nversion: "1"\ncategory: tests\nkind: image\nbackend: default-image\n'
            "timeout_seconds: 1\nparameters:\n  prompt: {type: string, required: true}\n"
        )
        self.process = subprocess.Popen(
            [easeld(), "serve", "--data", str(data), "--tcp", "none", "--workers", "2", "--console", "127.0.0.1:0",
             "--templates", str(templates)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=environment,
        )
        line = self.process.stdout.readline()
        match = re.search(r"serving on unix:(\S+) .*console on (http://\S+)/", line)
        if not match:
            self.process.kill()
            pytest.fail(f"easeld did not start: {line!r}")
        self.unix = f"unix:{match.group(1)}"
        self.url = match.group(2)
        self.operator = self.key("ops", "operator")
        self.web_admin = self.key("web", "admin")

    def key(self, platform: str, scope: str) -> str:
        created = subprocess.run(
            [easeld(), "keys", "create", "--data", str(self.data), "--platform", platform, "--scope", scope, "--name", f"{platform}-{scope}"],
            capture_output=True, text=True, check=True,
        )
        return created.stdout.strip().splitlines()[-1]

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)


@pytest.fixture(scope="module")
def console():
    with tempfile.TemporaryDirectory(prefix="easel-console-") as data:
        running = Console(Path(data))
        yield running
        assert running.stop() == 0


@pytest.fixture()
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1440,900", "--disable-gpu"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")), options=options)
    driver.set_window_size(1440, 900)
    driver.implicitly_wait(0)
    yield driver
    driver.quit()
