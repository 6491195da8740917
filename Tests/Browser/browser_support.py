"""Helpers of the console's browser tests."""

import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("EASEL_SCREENSHOTS", ROOT / ".build" / "console-screenshots"))


def login(browser, console, key):
    browser.get(console.url + "/login")
    browser.find_element("name", "key").send_keys(key)
    browser.find_element("css selector", "button[type=submit]").click()
    wait_for(lambda: browser.current_url.rstrip("/") == console.url)


def wait_for(condition, timeout=20.0, message="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except Exception:  # an element replaced while read; try again
            pass
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {message}")


def screenshot(browser, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENSHOTS / f"{name}.png"))
