"""Stripe-compatible servers and signed Stripe events, shared by the billing and
settlement tests.

localstripe (GPL-3.0) is never vendored: it is installed from PyPI into its own
virtualenv under /tmp (or ``JIFEN_LOCALSTRIPE_PYTHON`` names a Python that has it) and
run on a free loopback port (``tests/billing/run_localstripe.py``) for the test session.
Tests that need it are skipped, with the reason, only when it cannot be installed.
A conftest makes the fixture available with ``from stripe_servers import localstripe``.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

LOCALSTRIPE = "localstripe==1.15.10"
VENV = Path("/tmp/jifen-localstripe-venv")
RUNNER = Path(__file__).parent / "billing" / "run_localstripe.py"
API_KEY = "sk_test_jifen"
WEBHOOK_SECRET = "whsec_jifen_test"


def _localstripe_python() -> Path:
    """A Python that can import localstripe, installing it on first use."""
    named = os.environ.get("JIFEN_LOCALSTRIPE_PYTHON")
    if named:
        return Path(named)
    python = VENV / "bin" / "python"
    with open("/tmp/jifen-localstripe.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        check = [str(python), "-c", "import localstripe, aiohttp"]
        if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
            return python
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", LOCALSTRIPE],
            check=True,
            capture_output=True,
            timeout=300,
        )
    return python


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


_running: dict[str, subprocess.Popen] = {}  # base URL -> the one process of this run


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _start_localstripe() -> str:
    python = _localstripe_python()
    port = _free_port()
    process = subprocess.Popen(
        [str(python), str(RUNNER), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            pytest.fail(f"localstripe exited: {process.stderr.read().decode()[-2000:]}")
        with contextlib.suppress(requests.ConnectionError):
            requests.get(f"{base}/v1/customers", auth=(API_KEY, ""), timeout=2)
            break
        if time.monotonic() > deadline:
            _stop(process)
            pytest.fail("localstripe did not start within 30 s")
        time.sleep(0.1)
    _running[base] = process
    atexit.register(_stop, process)
    return base


@pytest.fixture(scope="session")
def localstripe():
    """The base URL of the localstripe server of this test run: one process, shared by
    every directory that imports the fixture (billing and settlement accounts live in
    one database, so their Stripe objects must live in one store), stopped at exit."""
    if _running:
        return next(iter(_running))
    try:
        return _start_localstripe()
    except (subprocess.SubprocessError, OSError) as error:
        pytest.skip(f"localstripe could not be installed from PyPI: {error}")


def stripe_signature(payload: bytes, secret: str = WEBHOOK_SECRET, at: int | None = None) -> str:
    """``Stripe-Signature`` as Stripe computes it: HMAC-SHA256 of ``"<t>.<body>"``."""
    from jifen.platform import clock

    timestamp = int(clock.now().timestamp()) if at is None else at
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def stripe_event(
    type_: str, obj: dict, *, event_id: str | None = None, account: str | None = None
) -> bytes:
    from jifen.platform import clock

    event = {
        "id": event_id or f"evt_{secrets.token_hex(8)}",
        "object": "event",
        "type": type_,
        "created": int(clock.now().timestamp()),
        "data": {"object": obj},
    }
    if account:
        event["account"] = account
    return json.dumps(event).encode()
