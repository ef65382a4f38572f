"""Shared by the browser tests: Debian's Chromium, headless, driven by Playwright against
the test app served on a free loopback port. No browser is ever downloaded.

A browser test module calls ``require_chromium()`` at import, which skips the module
when ``/usr/bin/chromium`` or Playwright is missing, and uses the module-scoped fixtures
``live_server`` and ``browser`` that tests/conftest.py builds from ``serve`` and
``launch``.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_chromium() -> Any:
    """Playwright's sync API; skips the calling module without Debian's Chromium."""
    if not CHROMIUM.exists():
        pytest.skip(
            "needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)",
            allow_module_level=True,
        )
    return pytest.importorskip("playwright.sync_api", reason="needs playwright (the dev extra)")


@contextlib.contextmanager
def serve(app) -> Iterator[str]:
    """``app`` on a free loopback port, in a thread; yields its origin."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@contextlib.contextmanager
def launch(sync_api) -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=FLAGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


def screenshot(page, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)


def console_sign_in(page, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/console/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
